//! FCC unlock against the real `mbimd --simulate` with an FCC-locked
//! simulated modem (its radio stays off until the lock is lifted): the
//! native procedures (Quectel's radio state, Intel's challenge and
//! response), a wrong response refused, the lock left alone by default,
//! and the administrator's hook, which lifts the lock with libmbim's own
//! `mbimcli` through mbimd's mbim-proxy. What happened is read on D-Bus
//! (FccLock, State, StateReason) and in the log.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod dbus_common;

use dbus_common::*;
use mbimd_test_support::tools::MBIMCLI;
use serde_json::{json, Value};
use std::path::PathBuf;

const EXECUTOR: &str = "/dev/mbimd/Mbimd1/Modem0/Executor0";

/// The built-in scenario with an FCC lock of `kind` and the USB identity
/// `vid`:`pid`, written into the bus's directory.
fn locked_scenario(bus: &PrivateBus, kind: &str, vid: u16, pid: u16) -> PathBuf {
    let builtin = include_str!("../../simulator/scenarios/dssa.toml");
    let text = builtin
        .replacen("fcc_lock = \"none\"", &format!("fcc_lock = \"{kind}\""), 1)
        .replacen(
            "vid = 0x1d6b\npid = 0x0104\n",
            &format!("vid = 0x{vid:04x}\npid = 0x{pid:04x}\n"),
            1,
        );
    assert_ne!(text, builtin);
    let path = bus.dir().join("locked.toml");
    std::fs::write(&path, text).unwrap();
    path
}

async fn property(bus: &PrivateBus, name: &str) -> Value {
    get_property(bus, None, EXECUTOR, "dev.mbimd.Executor1", name).await
}

/// Polls the executor's `name` until `done` holds.
async fn wait_for(
    bus: &PrivateBus,
    mbimd: &Mbimd,
    name: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    wait_for_property(bus, mbimd.log_path(), EXECUTOR, name, done).await
}

/// Waits for the unlock to fail and the executor to stay radio-off; what
/// FccLock then says.
async fn wait_for_failure(bus: &PrivateBus, mbimd: &Mbimd) -> Value {
    let lock = wait_for(bus, mbimd, "FccLock", |lock| {
        lock.as_str()
            .is_some_and(|lock| lock.starts_with("unlock failed"))
    })
    .await;
    wait_for(bus, mbimd, "State", |state| *state == json!("radio-off")).await;
    lock
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quectel_module_is_unlocked_natively_and_connects() {
    let bus = PrivateBus::start();
    let scenario = locked_scenario(&bus, "quectel", 0x2c7c, 0x0801);
    let mbimd = Mbimd::configured(
        &bus,
        Some(&scenario),
        "[[devices.rules]]\ndevice = \"2c7c:0801\"\nfcc-unlock = \"native\"\n",
    );
    wait_for(&bus, &mbimd, "State", |state| *state == json!("connected")).await;
    assert_eq!(
        property(&bus, "FccLock").await,
        json!("unlocked by quectel-radio-state")
    );
    let log = mbimd.log();
    assert!(log.contains("the modem may be FCC locked"), "{log}");
    assert!(log.contains("FCC unlocked by quectel-radio-state"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_intel_challenge_is_answered_and_a_wrong_key_is_refused() {
    let bus = PrivateBus::start();
    let scenario = locked_scenario(&bus, "intel", 0x8086, 0x7560);
    let rule =
        "[[devices.rules]]\ndevice = \"8086:7560\"\nfcc-unlock = \"intel-mutual-authentication\"\n";
    {
        let mbimd = Mbimd::configured(&bus, Some(&scenario), rule);
        wait_for(&bus, &mbimd, "State", |state| *state == json!("connected")).await;
        assert_eq!(
            property(&bus, "FccLock").await,
            json!("unlocked by intel-mutual-authentication")
        );
    }
    // Another vendor's key answers the challenge wrongly: the modem
    // refuses it and the radio stays off, saying why.
    let mbimd = Mbimd::configured(
        &bus,
        Some(&scenario),
        &format!("{rule}fcc-unlock-key = \"bb23be7f\"\n"),
    );
    assert_eq!(
        wait_for_failure(&bus, &mbimd).await,
        json!("unlock failed: the modem refused the response to its challenge: failure")
    );
    let reason = property(&bus, "StateReason").await;
    assert!(
        reason.as_str().unwrap().starts_with("FCC unlock failed"),
        "{reason}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_modem_is_left_locked_without_a_rule() {
    let bus = PrivateBus::start();
    let scenario = locked_scenario(&bus, "quectel", 0x2c7c, 0x0801);
    let mbimd = Mbimd::simulating(&bus, Some(&scenario));
    let reason = wait_for(&bus, &mbimd, "StateReason", |reason| {
        reason
            .as_str()
            .is_some_and(|reason| reason.contains("RADIO_STATE"))
    })
    .await;
    assert!(reason.as_str().unwrap().contains("fcc-unlock"), "{reason}");
    assert_ne!(property(&bus, "State").await, json!("connected"));
    assert_eq!(property(&bus, "FccLock").await, json!(""));
    assert!(!mbimd.log().contains("unlocking with"));
}

/// A hook that records what it was told, then lifts the lock the way
/// ModemManager's Quectel script does, through mbimd's mbim-proxy; or
/// fails, when `fail` is set.
fn hook(bus: &PrivateBus, fail: bool) -> (PathBuf, PathBuf) {
    let told = bus.dir().join("told");
    let script = bus.dir().join("unlock.sh");
    let action = if fail {
        "echo 'no unlock for this modem' >&2; exit 3".to_owned()
    } else {
        format!(
            "exec {} -p -d \"$MBIMD_FCC_MBIM_PROXY\" --quectel-set-radio-state=on",
            MBIMCLI.path().display()
        )
    };
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > {told}\nenv | grep '^MBIMD_FCC_' | sort >> {told}\n{action}\n",
            told = told.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    (script, told)
}

fn hook_config(bus: &PrivateBus, script: &std::path::Path) -> String {
    format!(
        "[mbim-proxy]\ndirectory = \"{}\"\n\
         [[devices.rules]]\ndevice = \"2c7c:0801\"\nfcc-unlock = \"hook\"\n\
         fcc-unlock-hook = \"{}\"\nfcc-unlock-timeout = 20\n",
        bus.dir().join("mbim-proxy").display(),
        script.display()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hook_is_told_the_device_and_unlocks_through_mbim_proxy() {
    MBIMCLI.ensure().unwrap();
    let bus = PrivateBus::start();
    let scenario = locked_scenario(&bus, "quectel", 0x2c7c, 0x0801);
    let (script, told) = hook(&bus, false);
    let mbimd = Mbimd::configured(&bus, Some(&scenario), &hook_config(&bus, &script));
    wait_for(&bus, &mbimd, "State", |state| *state == json!("connected")).await;
    assert_eq!(
        property(&bus, "FccLock").await,
        json!(format!("unlocked by hook {}", script.display()))
    );
    let told = std::fs::read_to_string(told).unwrap();
    let proxy = bus.dir().join("mbim-proxy").join("mbim0e0");
    for line in [
        EXECUTOR.to_owned(),
        "mbim0e0".to_owned(),
        "MBIMD_FCC_VID_PID=2c7c:0801".to_owned(),
        "MBIMD_FCC_TRANSPORT=simulated".to_owned(),
        "MBIMD_FCC_EXECUTOR=mbim0e0".to_owned(),
        format!("MBIMD_FCC_DBUS_PATH={EXECUTOR}"),
        format!("MBIMD_FCC_MBIM_PROXY={}", proxy.display()),
        "MBIMD_FCC_SYSFS_PATH=simulated".to_owned(),
        "MBIMD_FCC_CONTROL_PORT=".to_owned(),
    ] {
        assert!(
            told.lines().any(|told| told == line),
            "{line} not in\n{told}"
        );
    }
    assert!(mbimd.log().contains("FCC unlock: the hook succeeded"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_hook_leaves_the_radio_off_and_says_why() {
    let bus = PrivateBus::start();
    let scenario = locked_scenario(&bus, "quectel", 0x2c7c, 0x0801);
    let (script, _) = hook(&bus, true);
    let mbimd = Mbimd::configured(&bus, Some(&scenario), &hook_config(&bus, &script));
    assert_eq!(
        wait_for_failure(&bus, &mbimd).await,
        json!("unlock failed: the hook exited with status 3: no unlock for this modem")
    );
    let log = mbimd.log();
    assert!(
        log.contains("FCC unlock hook: no unlock for this modem"),
        "{log}"
    );
}
