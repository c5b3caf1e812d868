//! Several PDN sessions at once, end to end: `mbimd --simulate` in a
//! network namespace of the test's own with a profile naming an IMS session
//! beside its internet one. Both sessions get their own TUN device
//! (`mbim0e0`, `mbim0e0s1`) with their own addresses, and both simulated
//! gateways answer ICMP echo (sent over a raw socket from inside the
//! namespace), against an MBIM 1.0 and an MBIMEx 3.0 simulated modem.
//! Needs root and /dev/net/tun; says SKIP otherwise.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod netns_support;

use mbimd_test_support::icmp::Echo;
use netns_support::{privileged, wait_until, Daemon, Namespace};
use std::path::PathBuf;
use std::process::Stdio;

struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Whether `device` in `namespace` carries `address`.
fn has_address(namespace: &Namespace, device: &str, address: &str) -> bool {
    namespace
        .ip(&["-j", "addr", "show", "dev", device])
        .contains(&format!("\"{address}\""))
}

fn two_sessions_at_once(mbimex: u8) {
    if !privileged() {
        eprintln!("SKIP: needs root and /dev/net/tun");
        return;
    }
    let name = format!("mbimd-sessions{mbimex}");
    let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let scratch = Scratch(dir.clone());
    let scenario = dir.join("scenario.toml");
    let text = mbimd_test_support::scenarios::dual_sim(mbimex, false);
    std::fs::write(&scenario, text).unwrap();
    let config = dir.join("mbimd.toml");
    let write_config = |interfaces: &str| {
        std::fs::write(
            &config,
            format!(
                "{interfaces}[dns]\nbackend = \"none\"\n[dbus]\nenable = false\n\
             [modemmanager]\napi = \"off\"\n\
             [logging]\nlevel = \"debug\"\ntarget = \"stderr\"\n\
             [slot-policy]\nstate-file = \"{dir}/slots.toml\"\n\
             [mbim-proxy]\nenable = false\n\
             [[profiles]]\nname = \"internet\"\napn = \"internet\"\n\
             [[profiles.sessions]]\nname = \"ims\"\napn = \"ims\"\ncontext-type = \"ims\"\n",
                dir = dir.display()
            ),
        )
        .unwrap();
    };
    write_config("");
    let log = dir.join("mbimd.log");
    let namespace = Namespace::create(&name);
    let args = [
        "--simulate",
        scenario.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ];
    let child = namespace
        .exec(env!("CARGO_BIN_EXE_mbimd"), &args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let daemon = Daemon(child);
    let read_log = || std::fs::read_to_string(&log).unwrap_or_default();
    let guard = LogOnPanic(read_log);

    // Session 0 keeps its name and addresses; session 1 the next subnet.
    wait_until("session 0 configured", || {
        has_address(&namespace, "mbim0e0", "10.64.0.2")
    });
    wait_until("session 1 configured", || {
        has_address(&namespace, "mbim0e0s1", "10.64.0.6")
    });
    // Each gateway answers through its own session's device.
    namespace.ping("10.64.0.1", &Echo::new(3));
    namespace.ping("10.64.0.5", &Echo::new(3));
    // At the version the modem offered.
    if mbimex > 1 {
        let agreed = format!("MBIM extensions {mbimex}.0 agreed");
        assert!(read_log().contains(&agreed), "not {agreed}");
    }
    // The IMS session takes no default route.
    let routes = namespace.ip(&["route", "show", "default"]);
    assert!(routes.contains("mbim0e0"), "{routes}");
    assert!(!routes.contains("mbim0e0s1"), "{routes}");

    if mbimex == 1 {
        // A reload that replaces session 0's device (a new name scheme)
        // makes the further session's device again on the new pump.
        write_config("[interfaces]\nscheme = \"wwx{modem}e{executor}\"\n");
        mbimd_test_support::process::hang_up(daemon.0.id()).unwrap();
        wait_until("session 1 on the renamed device", || {
            has_address(&namespace, "wwx0e0s1", "10.64.0.6")
        });
        namespace.ping("10.64.0.5", &Echo::new(2));
        namespace.ping("10.64.0.1", &Echo::new(2));
    }

    drop(daemon);
    drop(guard);
    drop(scratch);
}

/// Prints mbimd's log when the test fails.
struct LogOnPanic<F: Fn() -> String>(F);

impl<F: Fn() -> String> Drop for LogOnPanic<F> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- mbimd's log ---\n{}", (self.0)());
        }
    }
}

// CONNECT per session in each version's layout (4.0 reshapes it again).
mbimd_test_support::against_mbim_1_0_3_0_and_4_0!(two_sessions_at_once);
