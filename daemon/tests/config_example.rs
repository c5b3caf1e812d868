//! The example configuration the packages install parses, and means what
//! its comments say.

// Helpers outside #[test] functions unwrap too: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod config_common;

use std::path::Path;

use config_common::{example_path, is_root, TempDir};
use mbimd::config::{
    Config, ConfigError, DeviceIdentity, DeviceMatch, DnsBackend, LogTarget, ModemSettings,
    OnRemoval, SlotPolicyConfig, DEFAULT_NAME_SCHEME, DEFAULT_ROUTE_METRIC,
};

#[test]
fn the_example_parses_to_the_defaults() {
    let config = Config::load(&example_path()).unwrap();
    let mut expected = Config::default();
    // The example's scenario line is commented out; nothing else differs.
    expected.simulate.scenario = None;
    assert_eq!(config, expected);
    assert_eq!(config.interfaces.scheme.as_str(), DEFAULT_NAME_SCHEME);
    assert_eq!(config.routes.metric.get(), DEFAULT_ROUTE_METRIC);
    assert!(config.routes.default_route);
    assert_eq!(config.dns.backend, DnsBackend::Auto);
    assert_eq!(config.logging.target, LogTarget::Auto);
    assert!(!config.logging.show_personal_info);
    assert_eq!(
        config.slot_policy.state_file,
        Path::new("/var/lib/mbimd/slots.toml")
    );
    assert!(config.dbus.enable);
    assert_eq!(config.dbus.admin_gid, None);
}

/// The example with every commented `key = value` and table header enabled.
fn uncommented() -> String {
    let text = std::fs::read_to_string(example_path()).unwrap();
    let mut out = String::new();
    for line in text.lines() {
        let enabled = line.strip_prefix("# ").filter(|rest| {
            rest.starts_with('[')
                || rest.split_once(" = ").is_some_and(|(key, _)| {
                    key.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
                })
        });
        out.push_str(enabled.unwrap_or(line));
        out.push('\n');
    }
    out
}

#[test]
fn every_commented_option_of_the_example_is_valid() {
    let text = uncommented();
    // Through parse, the PIN is refused — at its own line.
    let error = Config::parse(&text, Path::new("mbimd.toml")).unwrap_err();
    let pin_line = text.lines().position(|l| l.starts_with("pin = ")).unwrap() + 1;
    assert!(
        error
            .to_string()
            .starts_with(&format!("mbimd.toml:{pin_line}:")),
        "{error}"
    );

    let without_pin: String = text
        .lines()
        .filter(|line| !line.starts_with("pin = "))
        .map(|line| format!("{line}\n"))
        .collect();
    let config = Config::parse(&without_pin, Path::new("/etc/mbimd/mbimd.toml")).unwrap();
    assert_eq!(config.profiles.len(), 4);
    assert_eq!(config.profiles[1].name, "work");
    // The multi-session example: an IMS session and a second internet APN.
    let sessions: Vec<_> = config.profiles[3]
        .sessions
        .iter()
        .map(|s| {
            (
                s.name.as_str(),
                s.context_type.as_str(),
                s.default_route,
                s.dns,
                s.route_metric,
            )
        })
        .collect();
    assert_eq!(
        sessions,
        [
            ("ims", "ims", false, false, None),
            ("second-internet", "internet", true, true, Some(800)),
        ]
    );
    assert_eq!(config.sims.len(), 1);
    assert_eq!(
        config.devices.allow,
        [
            DeviceMatch::VidPid {
                vid: 0x2c7c,
                pid: Some(0x0125)
            },
            DeviceMatch::UsbPath("1-1.2".into())
        ]
    );
    assert_eq!(config.devices.deny, [DeviceMatch::Serial("ABC123".into())]);
    assert_eq!(config.interfaces.names[0].name.as_str(), "wwan-work");
    assert_eq!(
        config.simulate.scenario.as_deref(),
        Some(Path::new("/etc/mbimd/scenarios/dssa.toml"))
    );
    assert_eq!(
        config.modems,
        [ModemSettings {
            device: DeviceMatch::VidPid {
                vid: 0x2c7c,
                pid: Some(0x0125)
            },
            on_removal: Some(OnRemoval::Switch),
            auto_switch: Some(true),
        }]
    );
    assert_eq!(config.dbus.admin_group.as_deref(), Some("plugdev"));
    assert!(config.dbus.admin_gid.is_some());

    // From a root-owned 0600 file the PIN is accepted too.
    if is_root() {
        let dir = TempDir::new();
        let path = dir.write("mbimd.toml", &text, 0o600);
        // The scenario it names, beside it, as a file read by load must be.
        std::fs::create_dir(dir.path().join("scenarios")).unwrap();
        std::fs::write(
            dir.path().join("scenarios/dssa.toml"),
            include_str!("../../simulator/scenarios/dssa.toml"),
        )
        .unwrap();
        let config = Config::load(&path).unwrap();
        assert_eq!(
            config
                .pin_for("8988211000000000001")
                .map(|pin| pin.expose()),
            Some("1234")
        );
    }
}

#[test]
fn device_selection_and_names_follow_the_rules() {
    let config = Config::parse(
        r#"
[devices]
allow = ["2c7c:*", "usb:2-1"]
deny = ["2c7c:0306"]

[interfaces]
scheme = "wwan{modem}x{executor}"

[[interfaces.names]]
device = "serial:XYZ"
executor = 1
name = "lte-b"
"#,
        Path::new("t.toml"),
    )
    .unwrap();
    let device = |vid, pid, usb_path, serial| DeviceIdentity {
        vid,
        pid,
        usb_path,
        serial,
    };
    assert!(config.devices.takes(&device(0x2c7c, 0x0125, "1-1", None)));
    assert!(!config.devices.takes(&device(0x2c7c, 0x0306, "1-1", None)));
    assert!(config.devices.takes(&device(0x1199, 0x9071, "2-1", None)));
    assert!(!config.devices.takes(&device(0x1199, 0x9071, "2-1.1", None)));
    assert!(Config::default()
        .devices
        .takes(&device(0x1199, 0x9071, "3-4", None)));

    let modem = device(0x1199, 0x9071, "2-1", Some("XYZ"));
    assert_eq!(
        config
            .interfaces
            .fixed_name(&modem, 1)
            .map(|name| name.as_str()),
        Some("lte-b")
    );
    assert_eq!(config.interfaces.fixed_name(&modem, 0), None);
    assert_eq!(
        config.interfaces.scheme.expand(3, 1).unwrap().as_str(),
        "wwan3x1"
    );
    assert_eq!(config.interfaces.scheme.expand(1_000_000_000, 1), None);
    assert_eq!(
        Config::default()
            .interfaces
            .scheme
            .expand(65535, 65535)
            .unwrap()
            .as_str(),
        "mbim65535e65535"
    );
}

#[test]
fn a_missing_default_file_is_fine_but_a_missing_explicit_one_is_not() {
    let dir = TempDir::new();
    let missing = dir.path().join("absent.toml");
    match Config::load_or_default(Some(&missing)) {
        Err(ConfigError::Read { path, source }) => {
            assert_eq!(path, missing);
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("{other:?}"),
    }
    // The default path: on a machine without /etc/mbimd/mbimd.toml this is
    // the default configuration; where one is installed it must load.
    if !Path::new(mbimd::config::DEFAULT_PATH).exists() {
        assert_eq!(Config::load_or_default(None).unwrap(), Config::default());
    }
}

#[test]
fn a_directory_is_not_a_config_file() {
    let dir = TempDir::new();
    let error = Config::load(dir.path()).unwrap_err();
    assert!(error.to_string().contains("not a regular file"), "{error}");
}

#[test]
fn route_metric_falls_back_to_the_routes_section() {
    let config = Config::parse(
        "[routes]\nmetric = 50\n[[profiles]]\nname = \"a\"\napn = \"x\"\n[[profiles]]\nname = \"b\"\napn = \"y\"\nroute-metric = 20\n",
        Path::new("t.toml"),
    )
    .unwrap();
    assert_eq!(config.route_metric(None), 50);
    assert_eq!(config.route_metric(Some(&config.profiles[0])), 50);
    assert_eq!(config.route_metric(Some(&config.profiles[1])), 20);
}

#[test]
fn the_slot_policy_of_a_modem_is_the_default_with_its_overrides() {
    let config = Config::parse(
        r#"
[slot-policy]
on-removal = "stay"
state-file = "state/slots.toml"

[[modem]]
device = "serial:XYZ"
auto-switch = true

[[modem]]
device = "2c7c:*"
on-removal = "switch"
"#,
        Path::new("/etc/mbimd/mbimd.toml"),
    )
    .unwrap();
    assert_eq!(
        config.slot_policy.state_file,
        Path::new("/etc/mbimd/state/slots.toml")
    );
    let device = |vid, serial| DeviceIdentity {
        vid,
        pid: 0x0125,
        usb_path: "1-1",
        serial,
    };
    let cases = [
        // No entry: the defaults.
        (device(0x1199, None), OnRemoval::Stay, false),
        // Only auto-switch overridden; on-removal from the defaults.
        (device(0x1199, Some("XYZ")), OnRemoval::Stay, true),
        (device(0x2c7c, None), OnRemoval::Switch, false),
        // Both match: the first entry wins.
        (device(0x2c7c, Some("XYZ")), OnRemoval::Stay, true),
    ];
    for (identity, on_removal, auto_switch) in cases {
        assert_eq!(
            config.slot_policy_for(&identity),
            SlotPolicyConfig {
                on_removal,
                auto_switch
            },
            "{identity:?}"
        );
    }
    assert_eq!(
        Config::default().slot_policy_for(&device(1, None)),
        SlotPolicyConfig::default()
    );
}

#[test]
fn the_admin_group_is_resolved_to_its_gid() {
    let config = Config::parse(
        "[dbus]\nenable = false\nadmin-group = \"root\"\n",
        Path::new("t.toml"),
    )
    .unwrap();
    assert!(!config.dbus.enable);
    assert_eq!(config.dbus.admin_gid, Some(0));
}

/// The example's comment on `show-personal-info` shows the masking rule
/// with an example; that example is what mbimd logs.
#[test]
fn the_masking_comment_shows_what_is_masked() {
    let text = std::fs::read_to_string(example_path()).unwrap();
    let comment: String = text
        .lines()
        .skip_while(|line| !line.contains("in full. Masked otherwise"))
        .take_while(|line| line.starts_with('#'))
        .map(|line| line.trim_start_matches('#').trim())
        .collect::<Vec<_>>()
        .join(" ");
    let (before, after) = comment
        .split_once(" is logged as ")
        .unwrap_or_else(|| panic!("no example in {comment:?}"));
    let value = before.rsplit(' ').next().unwrap();
    let shown = after.split([' ', ';', ',']).next().unwrap();
    assert_eq!(mbimd::logging::personal(value, false).to_string(), shown);
    // The short-value rule it states, too.
    assert!(
        comment.contains(&format!("logged as {}", mbimd::logging::MASK)),
        "{comment}"
    );
    assert_eq!(
        mbimd::logging::personal("012345678", false).to_string(),
        mbimd::logging::MASK
    );
}

/// `mbimd --check-config`, as packages and admins run it: 0 for the example,
/// 2 with the file, line and column for a bad file, and nothing started.
#[test]
fn check_config_accepts_the_example_and_names_the_place_of_a_problem() {
    let mbimd = env!("CARGO_BIN_EXE_mbimd");
    let good = std::process::Command::new(mbimd)
        .arg("--check-config")
        .arg("--config")
        .arg(example_path())
        .output()
        .unwrap();
    assert!(good.status.success(), "{good:?}");
    assert!(
        String::from_utf8_lossy(&good.stdout).contains("configuration valid"),
        "{good:?}"
    );

    let dir = TempDir::new();
    let bad = dir.path().join("mbimd.toml");
    std::fs::write(&bad, "[routes]\nmetric = 0\n").unwrap();
    let refused = std::process::Command::new(mbimd)
        .arg("--check-config")
        .arg("--config")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains(&format!("{}:2:", bad.display())),
        "no file:line in {stderr}"
    );
    assert!(refused.stdout.is_empty(), "{refused:?}");
}

/// A scenario the configuration names must load: a missing file is refused
/// at the key that names it (relative to the file's directory), one that is
/// there is accepted, and `--simulate PATH` is checked too.
#[test]
fn check_config_refuses_a_scenario_that_does_not_load() {
    let mbimd = env!("CARGO_BIN_EXE_mbimd");
    let check = |config: &Path, extra: &[&str]| {
        std::process::Command::new(mbimd)
            .arg("--check-config")
            .arg("--config")
            .arg(config)
            .args(extra)
            .output()
            .unwrap()
    };
    let dir = TempDir::new();
    let config = dir.path().join("mbimd.toml");
    std::fs::write(
        &config,
        "[dns]\nbackend = \"none\"\n\n[simulate]\nscenario = \"nowhere.toml\"\n",
    )
    .unwrap();
    let refused = check(&config, &[]);
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains(&format!(
            "{}:5:12: the scenario does not load",
            config.display()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{}", dir.path().join("nowhere.toml").display()))
            && stderr.contains("No such file or directory"),
        "{stderr}"
    );

    std::fs::write(
        dir.path().join("nowhere.toml"),
        include_str!("../../simulator/scenarios/dssa.toml"),
    )
    .unwrap();
    let accepted = check(&config, &[]);
    assert!(accepted.status.success(), "{accepted:?}");

    std::fs::write(dir.path().join("broken.toml"), "name = 5\n").unwrap();
    let refused = check(
        &config,
        &[
            "--simulate",
            dir.path().join("broken.toml").to_str().unwrap(),
        ],
    );
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("broken.toml:1:"), "{stderr}");
}
