//! systemd/dev.mbimd.Mbimd1.conf in a real dbus-daemon: root owns the name,
//! everyone reads, and changing calls from others are stopped by the bus
//! before mbimd sees them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod dbus_common;

use dbus_common::*;
use mbimd::executor::ExecutorCommand;
use serde_json::json;

const EXECUTOR: &str = "/dev/mbimd/Mbimd1/Modem0/Executor0";
const MANAGER: &str = "/dev/mbimd/Mbimd1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bus_policy_lets_everyone_read_and_only_root_change() {
    if !is_root() {
        eprintln!("skipped: running clients as another uid needs root");
        return;
    }
    // The system bus's own defaults (Debian's system.conf), then mbimd's file.
    let policy = format!(
        r#"<policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
  </policy>
  <include>{}</include>"#,
        systemd_dir().join("dev.mbimd.Mbimd1.conf").display()
    );
    // Root (this test) may own the name: serve succeeds.
    let mut fixture = Fixture::on(PrivateBus::start_with(&policy), None).await;
    let bus = &fixture.bus;

    assert_eq!(
        get_property(bus, Some(NOBODY), EXECUTOR, "dev.mbimd.Executor1", "State").await,
        json!("connected")
    );
    busctl(
        bus,
        Some(NOBODY),
        &["introspect", mbimd::dbus::BUS_NAME, EXECUTOR],
    )
    .await
    .out();
    let all = busctl(
        bus,
        Some(NOBODY),
        &[
            "call",
            mbimd::dbus::BUS_NAME,
            EXECUTOR,
            "org.freedesktop.DBus.Properties",
            "GetAll",
            "s",
            "dev.mbimd.Executor1",
        ],
    )
    .await;
    all.out();
    let objects = dbus_send(
        bus,
        Some(NOBODY),
        MANAGER,
        "org.freedesktop.DBus.ObjectManager.GetManagedObjects",
        &[],
    )
    .await;
    assert!(objects.out().contains("Executor0"));

    // Changing calls from others stop at the bus.
    for (path, member, args) in [
        (
            EXECUTOR,
            "dev.mbimd.Executor1.SetRadio",
            &["boolean:false"][..],
        ),
        (MANAGER, "dev.mbimd.Manager1.Reload", &[][..]),
        (
            EXECUTOR,
            "org.freedesktop.DBus.Properties.Set",
            &[
                "string:dev.mbimd.Executor1",
                "string:Netdev",
                "variant:string:x",
            ][..],
        ),
    ] {
        let run = dbus_send(bus, Some(NOBODY), path, member, args).await;
        assert!(!run.ok, "{member}: {run:?}");
        assert!(
            run.stderr
                .contains("org.freedesktop.DBus.Error.AccessDenied")
                && run.stderr.contains("Rejected send message"),
            "{member}: {run:?}"
        );
    }
    // Nor may they own the name.
    let run = run_as(
        Some(NOBODY),
        mbimd_test_support::tools::DBUS_SEND.path(),
        vec![
            format!("--bus={}", bus.address),
            "--print-reply".to_owned(),
            "--dest=org.freedesktop.DBus".to_owned(),
            "/org/freedesktop/DBus".to_owned(),
            "org.freedesktop.DBus.RequestName".to_owned(),
            "string:dev.mbimd.Mbimd1".to_owned(),
            "uint32:4".to_owned(),
        ],
    )
    .await;
    assert!(
        !run.ok && run.stderr.contains("not allowed to own the service"),
        "{run:?}"
    );

    // Root's calls pass, and the first request mbimd sees is root's.
    call(
        bus,
        None,
        EXECUTOR,
        "dev.mbimd.Executor1",
        "SetRadio",
        &["b", "true"],
    )
    .await
    .out();
    assert_eq!(
        fixture.modem.next().await,
        Seen::Executor(0, ExecutorCommand::SetRadio(true))
    );
}
