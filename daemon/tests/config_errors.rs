//! Every kind of bad input stops start-up with `file:line:column` and what
//! was expected.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::Path;

use mbimd::config::{Config, ConfigError, Location};

/// Parses `text` as `bad.toml` and returns the error's location and message.
fn error_of(text: &str) -> (usize, usize, String) {
    match Config::parse(text, Path::new("bad.toml")) {
        Err(ConfigError::Invalid {
            at: Location { path, line, column },
            message,
        }) => {
            assert_eq!(path, Path::new("bad.toml"));
            (line, column, message)
        }
        other => panic!("expected an Invalid error for\n{text}\ngot {other:?}"),
    }
}

/// Asserts the error is at `line:column` and its message has `expected`.
fn assert_error(text: &str, line: usize, column: usize, expected: &str) {
    let (l, c, message) = error_of(text);
    assert_eq!((l, c), (line, column), "{message}");
    assert!(
        message.contains(expected),
        "message {message:?} lacks {expected:?}"
    );
    // The displayed form leads with the location.
    let shown = Config::parse(text, Path::new("bad.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        shown.starts_with(&format!("bad.toml:{line}:{column}: ")),
        "{shown}"
    );
}

#[test]
fn unknown_keys_everywhere() {
    assert_error("colour = 1\n", 1, 1, "unknown field `colour`");
    assert_error(
        "[devices]\nallow = []\nalow = []\n",
        3,
        1,
        "unknown field `alow`",
    );
    assert_error("[routing]\n", 1, 2, "unknown field `routing`");
    assert_error(
        "[[profiles]]\nname = \"a\"\napn = \"x\"\nip_type = \"ipv4\"\n",
        4,
        1,
        "unknown field `ip_type`",
    );
    assert_error(
        "[logging]\n  show-personal-data = true\n",
        2,
        3,
        "expected one of",
    );
    assert_error(
        "[[sims]]\niccid = \"8988211000000000001\"\npuk = \"12345678\"\n",
        3,
        1,
        "unknown field `puk`",
    );
    assert_error(
        "[[interfaces.names]]\ndevice = \"usb:1-1\"\nname = \"a\"\nslot = 1\n",
        4,
        1,
        "unknown field `slot`",
    );
}

#[test]
fn wrong_types() {
    assert_error(
        "[routes]\ndefault-route = \"yes\"\n",
        2,
        17,
        "expected a boolean",
    );
    assert_error("[routes]\nmetric = \"700\"\n", 2, 10, "invalid type");
    assert_error(
        "[devices]\nallow = \"2c7c:0125\"\n",
        2,
        9,
        "expected a sequence",
    );
    assert_error("profiles = 3\n", 1, 12, "expected a sequence");
    assert_error(
        "[logging]\ntarget = \"syslog\"\n",
        2,
        10,
        "unknown variant `syslog`",
    );
}

#[test]
fn syntax_errors() {
    let (line, _, message) = error_of("[dns]\nbackend = \"auto\n");
    assert_eq!(line, 2, "{message}");
    let (line, _, _) = error_of("[routes]\nmetric = 1\nmetric = 2\n");
    assert_eq!(line, 3);
}

#[test]
fn bad_device_matches() {
    for (bad, why) in [
        ("2c7c", "no ':'"),
        ("2c7c:125", "product id"),
        ("2c7:0125", "vendor id"),
        ("gggg:0125", "vendor id"),
        ("2c7c:0125:1", "product id"),
        ("usb:1", "USB port path"),
        ("usb:1-1..2", "USB port path"),
        ("serial:", "empty serial"),
    ] {
        let text = format!("[devices]\ndeny = [\n  \"1199:9071\",\n  \"{bad}\",\n]\n");
        assert_error(&text, 4, 3, why);
        assert_error(&text, 4, 3, "expected \"vid:pid\"");
    }
}

#[test]
fn bad_interface_names_and_schemes() {
    for (bad, why) in [
        ("", "it is empty"),
        ("a-very-long-name0", "longer than 15 bytes"),
        ("..", "reserved"),
        ("wwan 0", "whitespace"),
        ("wwan/0", "whitespace"),
        ("wwan:0", "whitespace"),
        ("wwan%d", "`%`"),
    ] {
        let text = format!(
            "[interfaces]\n\n[[interfaces.names]]\ndevice = \"usb:1-1\"\nname = \"{bad}\"\n"
        );
        assert_error(&text, 5, 8, why);
    }
    // Exactly 15 bytes is fine.
    Config::parse(
        "[[interfaces.names]]\ndevice = \"usb:1-1\"\nname = \"abcdefghijklmno\"\n",
        Path::new("ok.toml"),
    )
    .unwrap();

    for (bad, why) in [
        ("wwan", "missing"),
        ("wwan{modem}", "missing"),
        ("w{modem}{executor}{slot}", "placeholder other"),
        ("cellular-x-{modem}-{executor}", "longer than 15 bytes"),
    ] {
        assert_error(&format!("[interfaces]\nscheme = \"{bad}\"\n"), 2, 10, why);
    }
}

#[test]
fn duplicate_profiles_are_refused_at_the_second_name() {
    let text = "\
[[profiles]]
name = \"internet\"
apn = \"a\"

[[profiles]]
name = \"work\"
apn = \"b\"

[[profiles]]
apn = \"c\"
name = \"internet\"
";
    assert_error(
        text,
        11,
        8,
        "duplicate profile name \"internet\" (first on line 2)",
    );
}

#[test]
fn profile_texts_mbim_cannot_carry() {
    let profile = |fields: &str| format!("[[profiles]]\nname = \"p\"\n{fields}\n");
    // MBIM carries at most 100 characters of APN.
    assert_error(
        &profile(&format!("apn = \"{}\"", "a".repeat(101))),
        3,
        7,
        "the APN is 101 characters long; MBIM carries at most 100",
    );
    assert!(Config::parse(
        &profile(&format!("apn = \"{}\"", "a".repeat(100))),
        Path::new("t.toml")
    )
    .is_ok());
    // Control characters, escaped (TOML allows no raw ones but tab).
    assert_error(
        &profile("apn = \"inter\\u0007net\""),
        3,
        7,
        "the APN has a control character (U+0007) at character 6",
    );
    assert_error(
        &profile("apn = \"internet\"\nuser = \"me\tyou\""),
        4,
        8,
        "the user name has a control character (U+0009)",
    );
    let text = profile("apn = \"internet\"\npassword = \"se\\ncret\"");
    assert_error(&text, 4, 12, "the password has a control character;");
    let shown = Config::parse(&text, Path::new("t.toml"))
        .unwrap_err()
        .to_string();
    assert!(!shown.contains("cret"), "{shown}");
}

#[test]
fn profile_values_beyond_their_types() {
    let profile = |extra: &str| format!("[[profiles]]\nname = \"p\"\napn = \"a\"\n{extra}\n");
    assert_error(
        &profile("route-metric = 0"),
        4,
        16,
        "route metric must be 1 to",
    );
    assert_error(
        &profile("match-provider = \"0010\""),
        4,
        18,
        "5 or 6 digits",
    );
    assert_error(
        &profile("match-imsi-prefix = \"00x\""),
        4,
        21,
        "1 to 15 digits",
    );
    assert_error(&profile("match-iccid = \"1234\""), 4, 15, "18 to 22 digits");
    assert_error(
        &profile("name = \"\"").replace("name = \"p\"\n", ""),
        3,
        8,
        "empty profile name",
    );
    assert_error(
        &profile("auth = \"kerberos\""),
        4,
        8,
        "unknown variant `kerberos`",
    );
}

#[test]
fn metric_range() {
    assert_error(
        "[routes]\nmetric = 0\n",
        2,
        10,
        "route metric must be 1 to 4294967295",
    );
    assert_error("[routes]\nmetric = -5\n", 2, 10, "out of range");
    assert_error("[routes]\nmetric = 4294967296\n", 2, 10, "out of range");
    let config = Config::parse("[routes]\nmetric = 4294967295\n", Path::new("ok.toml")).unwrap();
    assert_eq!(config.routes.metric.get(), u32::MAX);
}

#[test]
fn dns_logging_and_sims() {
    assert_error(
        "[dns]\nbackend = \"dnsmasq\"\n",
        2,
        11,
        "expected auto, resolved",
    );
    assert_error(
        "[dns]\nbackend = \"file:resolv.conf\"\n",
        2,
        11,
        "file:<path>",
    );
    assert_error("[logging]\nlevel = \"loud\"\n", 2, 9, "bad log level");
    assert_error(
        "[logging]\nlevel = \"info,warning\"\n",
        2,
        9,
        "\"warning\" is not a level",
    );
    assert_error("[logging]\nlevel = \"info,x=[\"\n", 2, 9, "bad log level");
    for good in [
        "debug",
        "INFO",
        "info,mbimd::executor=debug",
        "warn,mbimd=trace",
    ] {
        Config::parse(
            &format!("[logging]\nlevel = \"{good}\"\n"),
            Path::new("ok.toml"),
        )
        .unwrap();
    }
    assert_error(
        "[[sims]]\niccid = \"8988211000000000001\"\n[[sims]]\niccid = \"8988211000000000001\"\n",
        4,
        9,
        "duplicate ICCID (first on line 2)",
    );
    assert_error("[[sims]]\niccid = \"89882\"\n", 2, 9, "18 to 22 digits");
    assert_error(
        "[simulate]\nscenario = \"\"\n",
        2,
        12,
        "empty scenario path",
    );
}

#[test]
fn interface_name_rules_across_entries() {
    let text = "\
[[interfaces.names]]
device = \"usb:1-1\"
name = \"lte0\"

[[interfaces.names]]
device = \"usb:1-2\"
name = \"lte0\"
";
    assert_error(
        text,
        7,
        8,
        "duplicate interface name \"lte0\" (first on line 3)",
    );
    let text = "\
[[interfaces.names]]
device = \"usb:1-1\"
name = \"lte0\"

[[interfaces.names]]
device = \"usb:1-1\"
executor = 0
name = \"lte1\"
";
    assert_error(
        text,
        6,
        10,
        "executor 0 of usb:1-1 is already named (first on line 2)",
    );
}

#[test]
fn the_earliest_problem_is_reported_first() {
    let text = "\
[[profiles]]
name = \"a\"
apn = \"x\"
route-metric = 0

[[profiles]]
name = \"a\"
apn = \"y\"
";
    let (line, _, _) = error_of(text);
    assert_eq!(line, 4);
}

#[test]
fn columns_count_characters_not_bytes() {
    // "é" is two bytes but one column.
    assert_error(
        "[[profiles]]\nname = \"é\"\napn = \"x\"\nauth = \"x\"\n",
        4,
        8,
        "unknown variant",
    );
    assert_error("#é\n[routes]\nmetric = 0 # é\n", 3, 10, "route metric");
    let location = Location::at(Path::new("f"), "aé\nbé", 3);
    assert_eq!((location.line, location.column), (1, 3));
    let location = Location::at(Path::new("f"), "aé\nbé", 4);
    assert_eq!((location.line, location.column), (2, 1));
    let location = Location::at(Path::new("f"), "aé\nbé", 7);
    assert_eq!((location.line, location.column), (2, 3));
    let location = Location::at(Path::new("f"), "aé\nbé", 6);
    assert_eq!((location.line, location.column), (2, 2));
    // Past the end or inside a character: the nearest place before.
    let location = Location::at(Path::new("f"), "aé", 2);
    assert_eq!((location.line, location.column), (1, 2));
    let location = Location::at(Path::new("f"), "a", 99);
    assert_eq!((location.line, location.column), (1, 2));
}

#[test]
fn slot_policy_modem_and_dbus_sections() {
    assert_error(
        "[slot-policy]\non-removal = \"ask\"\n",
        2,
        14,
        "unknown variant `ask`",
    );
    assert_error(
        "[slot-policy]\nauto_switch = true\n",
        2,
        1,
        "unknown field `auto_switch`",
    );
    assert_error(
        "[slot-policy]\nstate-file = \"\"\n",
        2,
        14,
        "empty state-file",
    );
    assert_error("[[modem]]\ndevice = \"2c7c\"\n", 2, 10, "bad device match");
    assert_error(
        "[[modem]]\non-removal = \"stay\"\n",
        1,
        1,
        "missing field `device`",
    );
    assert_error(
        "[[modem]]\ndevice = \"2c7c:0125\"\n\n[[modem]]\ndevice = \"2c7c:0125\"\nauto-switch = true\n",
        5,
        10,
        "2c7c:0125 already has a [[modem]] entry (first on line 2)",
    );
    assert_error("[dbus]\nenable = \"yes\"\n", 2, 10, "invalid type");
    assert_error(
        "[dbus]\nenable = true\nadmin-group = \"mbimd-no-such-group\"\n",
        3,
        15,
        "unknown group \"mbimd-no-such-group\"",
    );
    assert_error("[dbus]\nadmin-gid = 0\n", 2, 1, "unknown field `admin-gid`");
}

#[test]
fn profile_sessions_are_checked_where_they_are() {
    let text = "\
[[profiles]]
name = \"internet\"
apn = \"internet\"

[[profiles.sessions]]
name = \"ims\"
apn = \"ims\"
context-type = \"ims\"

[[profiles.sessions]]
name = \"ims\"
apn = \"other\"
";
    assert_error(
        text,
        11,
        8,
        "duplicate session name \"ims\" (first on line 6)",
    );
    let session = |fields: &str| {
        format!("[[profiles]]\nname = \"p\"\napn = \"a\"\n[[profiles.sessions]]\n{fields}\n")
    };
    assert_error(
        &session("name = \"p\"\napn = \"b\""),
        5,
        8,
        "session name \"p\" is the profile's own (session 0)",
    );
    assert_error(
        &session("name = \"s\"\napn = \"b\"\ncontext-type = \"voice\""),
        7,
        16,
        "unknown variant `voice`, expected one of `internet`, `ims`, `mms`, `vpn`, `local`",
    );
    assert_error(
        &session("name = \"s\"\napn = \"b\"\nroute-metric = 0"),
        7,
        16,
        "a route metric must be 1 to 4294967295",
    );
    assert_error(
        &session("name = \"s\"\napn = \"in\\u0007\""),
        6,
        7,
        "the APN has a control character (U+0007) at character 3",
    );
    assert_error(
        &session("name = \"s\"\napn = \"b\"\ndefault-route = \"yes\""),
        7,
        17,
        "invalid type: string \"yes\", expected a boolean",
    );
    assert_error(
        &session("name = \"s\"\napn = \"b\"\nmetric = 5"),
        7,
        1,
        "unknown field `metric`",
    );
    // Nine further sessions: the ninth is one too many.
    let mut nine = String::from("[[profiles]]\nname = \"p\"\napn = \"a\"\n");
    for index in 1..=9 {
        nine.push_str(&format!(
            "[[profiles.sessions]]\nname = \"s{index}\"\napn = \"a\"\n"
        ));
    }
    assert_error(
        &nine,
        4 + 3 * 8 + 1,
        8,
        "profile \"p\" names more than 8 further sessions",
    );
    // An existing configuration keeps working: no sessions, one profile.
    let plain = Config::parse(
        "[[profiles]]\nname = \"p\"\napn = \"a\"\n",
        Path::new("t.toml"),
    )
    .unwrap();
    assert!(plain.profiles[0].sessions.is_empty());
    let two = Config::parse(
        text.replace(
            "name = \"ims\"\napn = \"other\"",
            "name = \"mms\"\napn = \"mms\"\ncontext-type = \"mms\"\ndefault-route = true",
        )
        .as_str(),
        Path::new("t.toml"),
    )
    .unwrap();
    let sessions: Vec<_> = two.profiles[0]
        .sessions
        .iter()
        .map(|s| {
            (
                s.name.as_str(),
                s.context_type.as_str(),
                s.default_route,
                s.dns,
            )
        })
        .collect();
    assert_eq!(
        sessions,
        [("ims", "ims", false, false), ("mms", "mms", true, false)]
    );
}

#[test]
fn device_rules_name_a_known_transport() {
    assert_error(
        "[[devices.rules]]\ndevice = \"usb:1-1\"\ntransport = \"qmi\"\n",
        3,
        13,
        "unknown variant `qmi`, expected `usbfs` or `kernel`",
    );
    assert_error(
        "[[devices.rules]]\ndevice = \"usb:1-1\"\ntransprt = \"kernel\"\n",
        3,
        1,
        "unknown field `transprt`",
    );
    assert_error(
        "[[devices.rules]]\ndevice = \"nonsense\"\ntransport = \"kernel\"\n",
        2,
        10,
        "nonsense",
    );
    assert_error(
        "[[devices.rules]]\ntransport = \"kernel\"\n",
        1,
        1,
        "missing field `device`",
    );
}

#[test]
fn fcc_unlock_settings_are_checked_where_they_are() {
    let rule = "[[devices.rules]]\ndevice = \"2c7c:0801\"\n";
    assert_error(
        &format!("{rule}fcc-unlock = \"yes\"\n"),
        3,
        14,
        "unknown variant `yes`",
    );
    assert_error(
        &format!("{rule}fcc-unlock = \"hook\"\n"),
        3,
        14,
        "fcc-unlock = \"hook\" needs fcc-unlock-hook",
    );
    assert_error(
        &format!("{rule}fcc-unlock = \"hook\"\nfcc-unlock-hook = \"unlock.sh\"\n"),
        4,
        19,
        "fcc-unlock-hook must be an absolute path, not unlock.sh",
    );
    assert_error(
        &format!("{rule}fcc-unlock = \"native\"\nfcc-unlock-hook = \"/bin/true\"\n"),
        4,
        19,
        "only run with fcc-unlock = \"hook\"",
    );
    assert_error(
        &format!("{rule}fcc-unlock = \"intel-mutual-authentication\"\nfcc-unlock-key = \"3df8\"\n"),
        4,
        18,
        "fcc-unlock-key must be eight hex digits",
    );
    assert_error(
        &format!(
            "{rule}fcc-unlock = \"hook\"\nfcc-unlock-hook = \"/bin/true\"\nfcc-unlock-timeout = 0\n"
        ),
        5,
        22,
        "fcc-unlock-timeout must be at least 1 second",
    );
}

#[test]
fn the_first_matching_rule_gives_the_transport() {
    use mbimd::config::{DeviceIdentity, Transport};
    let config = Config::parse(
        "[[devices.rules]]\ndevice = \"usb:1-1\"\ntransport = \"kernel\"\n\n\
         [[devices.rules]]\ndevice = \"1d6b:0104\"\ntransport = \"usbfs\"\n",
        Path::new("good.toml"),
    )
    .unwrap();
    let device = |usb_path| DeviceIdentity {
        vid: 0x1d6b,
        pid: 0x0104,
        usb_path,
        serial: None,
    };
    assert_eq!(
        config.devices.transport_of(&device("1-1")),
        Transport::Kernel
    );
    assert_eq!(
        config.devices.transport_of(&device("2-1")),
        Transport::Usbfs
    );
    let other = DeviceIdentity {
        vid: 0x2c7c,
        pid: 1,
        usb_path: "3-1",
        serial: None,
    };
    // No rule: usbfs, as before rules existed.
    assert_eq!(config.devices.transport_of(&other), Transport::Usbfs);
}
