//! PINs: accepted only from a file owned by root or by the user mbimd runs
//! as, which no one else can access, and
//! never shown — not in `Debug`, not in errors.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod config_common;

use std::os::unix::fs::{chown, PermissionsExt};
use std::path::Path;

use config_common::{is_root, TempDir};
use mbimd::config::{Config, ConfigError};

const WITH_PIN: &str = "\
[logging]
level = \"info\"

[[sims]]
iccid = \"8988211000000000001\"

[[sims]]
iccid = \"8988211000000000002\"
pin = \"4711\"
";

/// The line and column of `pin = ` in WITH_PIN.
const PIN_AT: (usize, usize) = (9, 7);

#[test]
fn a_root_owned_0600_file_may_hold_a_pin() {
    if !is_root() {
        eprintln!("not root: cannot create a root-owned file; acceptance not tested");
        return;
    }
    let dir = TempDir::new();
    let path = dir.write("mbimd.toml", WITH_PIN, 0o600);
    let config = Config::load(&path).unwrap();
    assert_eq!(
        config
            .pin_for("8988211000000000002")
            .map(|pin| pin.expose()),
        Some("4711")
    );
    assert_eq!(
        config
            .pin_for("8988211000000000002")
            .map(|pin| pin.secret().expose()),
        Some("4711")
    );
    assert!(config.pin_for("8988211000000000001").is_none());
    assert!(config.pin_for("8988211000000000003").is_none());
    // Stricter modes are fine too.
    let path = dir.write("strict.toml", WITH_PIN, 0o400);
    Config::load(&path).unwrap();
}

fn refusal(path: &Path) -> (u32, u32, String) {
    match Config::load(path) {
        Err(error @ ConfigError::UnprotectedPin { .. }) => {
            let shown = error.to_string();
            let ConfigError::UnprotectedPin { at, uid, mode, .. } = error else {
                unreachable!()
            };
            assert_eq!(at.path, path);
            assert_eq!((at.line, at.column), PIN_AT);
            assert!(!shown.contains("4711"), "{shown}");
            (uid, mode, shown)
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_pin_in_a_file_group_or_others_can_access_is_refused() {
    let dir = TempDir::new();
    for mode in [0o640, 0o604, 0o620, 0o602, 0o610, 0o644, 0o666] {
        let path = dir.write("mbimd.toml", WITH_PIN, mode);
        let (uid, found_mode, shown) = refusal(&path);
        assert_eq!(found_mode, mode);
        assert!(
            shown.starts_with(&format!("{}:9:7: a PIN is only accepted", path.display())),
            "{shown}"
        );
        assert!(shown.contains(&format!("mode {mode:04o}")), "{shown}");
        assert!(shown.contains(&format!("owned by uid {uid}")), "{shown}");
        assert!(
            shown.contains(&format!(
                "chown {1} {0} && chmod 0600 {0}",
                path.display(),
                rustix::process::geteuid().as_raw()
            )),
            "{shown}"
        );
    }
}

#[test]
fn a_pin_in_a_file_owned_by_another_user_is_refused() {
    if !is_root() {
        eprintln!("not root: cannot give a file to another user; refusal not tested");
        return;
    }
    let dir = TempDir::new();
    let path = dir.write("mbimd.toml", WITH_PIN, 0o600);
    // nobody: neither root nor the user these tests run as.
    chown(&path, Some(65534), Some(65534)).unwrap();
    let (uid, mode, shown) = refusal(&path);
    assert_eq!(uid, 65534);
    assert_eq!(mode, 0o600);
    assert!(
        shown.contains("owned by uid 65534 with mode 0600"),
        "{shown}"
    );
    assert!(
        shown.contains("or by the user mbimd runs as (uid 0)"),
        "{shown}"
    );
}

/// The packaged unit runs mbimd as the system user `mbimd`, which cannot
/// read a root-owned 0600 file: a PIN file that user owns is accepted,
/// and a file it cannot read is refused with what to do about it.
#[test]
fn the_user_mbimd_runs_as_may_own_the_pin_file() {
    let dir = TempDir::new();
    let path = dir.write("mbimd.toml", WITH_PIN, 0o600);
    if !is_root() {
        // Owned by the user running the tests, who is the daemon here.
        let config = Config::load(&path).unwrap();
        assert!(config.pin_for("8988211000000000002").is_some());
        return;
    }
    // As root: the real binary as nobody (uid 65534), copied where nobody
    // may run it whatever the permissions of the build directory.
    let mbimd = dir.path().join("mbimd");
    std::fs::copy(env!("CARGO_BIN_EXE_mbimd"), &mbimd).unwrap();
    std::fs::set_permissions(&mbimd, std::fs::Permissions::from_mode(0o755)).unwrap();
    let check_as_nobody = |config: &Path| {
        mbimd_test_support::tools::SETPRIV
            .command()
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&mbimd)
            .arg("--check-config")
            .arg("--config")
            .arg(config)
            .output()
            .unwrap()
    };
    chown(&path, Some(65534), Some(65534)).unwrap();
    let output = check_as_nobody(&path);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let root_only = dir.write("root-only.toml", WITH_PIN, 0o600);
    let output = check_as_nobody(&root_only);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("mbimd runs as uid 65534, which may not read it"),
        "{stderr}"
    );
    assert!(!stderr.contains("4711"), "{stderr}");
}

#[test]
fn without_a_pin_any_owner_and_mode_will_do() {
    let dir = TempDir::new();
    let text = WITH_PIN.replace("pin = \"4711\"\n", "");
    let path = dir.write("mbimd.toml", &text, 0o644);
    if is_root() {
        chown(&path, Some(65534), Some(65534)).unwrap();
    }
    let config = Config::load(&path).unwrap();
    assert_eq!(config.sims.len(), 2);
}

#[test]
fn a_pin_given_as_text_is_refused() {
    let error = Config::parse(WITH_PIN, Path::new("inline.toml")).unwrap_err();
    let shown = error.to_string();
    assert!(
        shown.starts_with("inline.toml:9:7: a PIN is only accepted"),
        "{shown}"
    );
    assert!(!shown.contains("4711"));
}

#[test]
fn secrets_are_absent_from_debug_output() {
    let text = "\
[[profiles]]
name = \"work\"
apn = \"corp\"
auth = \"chap\"
user = \"alice\"
password = \"hunter2-password\"

[[sims]]
iccid = \"8988211000000000002\"
pin = \"4711\"
";
    let config = if is_root() {
        let dir = TempDir::new();
        Config::load(&dir.write("mbimd.toml", text, 0o600)).unwrap()
    } else {
        // Without root the PIN cannot be loaded; the password still can.
        Config::parse(&text.replace("pin = \"4711\"\n", ""), Path::new("t.toml")).unwrap()
    };
    for shown in [format!("{config:?}"), format!("{config:#?}")] {
        assert!(!shown.contains("4711"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
        // The ICCID is personal data: masked in Debug.
        assert!(!shown.contains("8988211000000000002"), "{shown}");
        assert!(shown.contains("Iccid(89882**************)"), "{shown}");
    }
    if let Some(pin) = config.pin_for("8988211000000000002") {
        assert_eq!(format!("{pin:?}"), "Pin(***)");
    }
}

#[test]
fn malformed_secrets_are_not_repeated_in_errors() {
    let cases = [
        (
            "[[sims]]\niccid = \"8988211000000000002\"\npin = 4711\n",
            "4711",
            3,
            7,
        ),
        (
            "[[sims]]\niccid = \"8988211000000000002\"\npin = \"47a1\"\n",
            "47a1",
            3,
            7,
        ),
        (
            "[[sims]]\niccid = \"8988211000000000002\"\npin = \"123456789\"\n",
            "123456789",
            3,
            7,
        ),
        (
            "[[sims]]\niccid = \"8988211000000000002\"\npin = [4711]\n",
            "4711",
            3,
            7,
        ),
        (
            "[[profiles]]\nname = \"p\"\napn = \"a\"\npassword = 98765\n",
            "98765",
            4,
            12,
        ),
        (
            "[[profiles]]\nname = \"p\"\napn = \"a\"\npassword = 9.876\n",
            "9.876",
            4,
            12,
        ),
        (
            "[[profiles]]\nname = \"p\"\napn = \"a\"\npassword = true\n",
            "true",
            4,
            12,
        ),
    ];
    let dir = TempDir::new();
    for (text, secret, line, column) in cases {
        // From a file that may hold secrets, so the refusal is about the value.
        let path = dir.write("mbimd.toml", text, 0o600);
        let error = Config::load(&path).unwrap_err();
        let shown = error.to_string();
        assert!(!shown.contains(secret), "{shown}");
        match error {
            ConfigError::Invalid { at, .. } => {
                assert_eq!((at.line, at.column), (line, column), "{shown}")
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn an_iccid_is_not_repeated_in_its_error() {
    let error = Config::parse("[[sims]]\niccid = \"8988211x\"\n", Path::new("t.toml")).unwrap_err();
    assert!(!error.to_string().contains("8988211x"), "{error}");
}

#[test]
fn a_pin_key_where_none_belongs_is_an_unknown_field() {
    let error = Config::parse(
        "[[profiles]]\nname = \"a\"\napn = \"b\"\npin = \"4711\"\n",
        Path::new("t.toml"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.starts_with("t.toml:4:1: unknown field `pin`"),
        "{error}"
    );
    assert!(!error.contains("4711"), "{error}");
}

#[test]
fn syntax_errors_in_a_pin_do_not_repeat_it() {
    for text in [
        "[[sims]]\npin = 12a4\n",
        "[[sims]]\npin = \"4711\n",
        "[[sims]]\npin = '4711\n",
        "[[sims]]\npin = 4711 5678\n",
        "[[sims]]\npin = 99999999999999999999999\n",
    ] {
        let error = Config::parse(text, Path::new("t.toml"))
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("t.toml:2:"), "{error}");
        for secret in ["12a4", "4711", "5678", "9999"] {
            assert!(!error.contains(secret), "{error}");
        }
    }
}
