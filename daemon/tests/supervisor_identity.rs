//! Which executor is which: the supervisor numbers executors by the
//! ExecutorIndex their functions report (DEVICE_CAPS_V2), not by the order
//! of the functions. The simulated two-executor modem here lists its
//! functions in the opposite order of its executors (function 0 reports
//! ExecutorIndex 1), and the snapshot, the requests, the slot mapping and
//! the netdev names (scheme and `[[interfaces.names]]`) must all follow
//! ExecutorIndex.
//!
//! Needs no root: without it the supervisor skips the TUN devices and the
//! names are not checked (the test says so). As root it runs in a network
//! namespace of its own, so the TUN devices never touch the machine's
//! interfaces.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod supervisor_support;

use supervisor_support::{is_root, run, stop_supervisor, wait_for_snapshot};

use mbim_sim::device::SimModem;
use mbim_sim::scenario::Scenario;
use mbimd::config::Config;
use mbimd::executor::{ExecutorCommand, ExecutorState};
use mbimd::modem::{modem_channel, ModemHandle, ModemSnapshot};
use mbimd::supervisor::{simulated_modem, supervise};
use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A hang guard, not a timing expectation.
const WAIT: Duration = Duration::from_secs(60);

/// The SIM in slot 0, which function 0 (ExecutorIndex 1) is mapped to.
const SLOT0_ICCID: &str = "8988200000000000011";
/// The SIM in slot 1, which function 1 (ExecutorIndex 0) is mapped to.
const SLOT1_ICCID: &str = "8988200000000000012";

/// The two-executor modem with its functions in the opposite order of its
/// executors: function 0 is executor 1 (slot 0), function 1 executor 0
/// (slot 1).
fn swapped_scenario() -> Scenario {
    let text = include_str!("../../simulator/scenarios/two-executors.toml");
    let first = "[[executors]]\nslot = 0\n";
    let second = "[[executors]]\nslot = 1\n";
    assert!(text.contains(first) && text.contains(second));
    let text = text
        .replacen(first, "[[executors]]\nexecutor_index = 1\nslot = 0\n", 1)
        .replacen(second, "[[executors]]\nexecutor_index = 0\nslot = 1\n", 1);
    Scenario::from_toml_str(&text, "two-executors-swapped.toml").unwrap()
}

fn config() -> Config {
    let text = "[[profiles]]\nname = \"default\"\napn = \"internet\"\n\n\
                [dns]\nbackend = \"none\"\n\n\
                [[interfaces.names]]\ndevice = \"serial:MBIMSIM-DUAL-0001\"\nexecutor = 1\n\
                name = \"wwan-exec1\"\n";
    Config::parse(text, Path::new("/test/mbimd.toml")).unwrap()
}

struct Modem {
    _sim: SimModem,
    handle: ModemHandle,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

fn start(scenario: Scenario, config: Config) -> Modem {
    let sim = SimModem::new(scenario).unwrap();
    let runner = sim.clone();
    tokio::spawn(async move { runner.run().await });
    let (spec, functions) = simulated_modem(&sim, 0);
    let (handle, endpoint) = modem_channel(ModemSnapshot::default());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(supervise(
        spec,
        functions,
        Arc::new(config),
        endpoint,
        async move {
            let _ = stopped.await;
        },
    ));
    Modem {
        _sim: sim,
        handle,
        stop: Some(stop),
        task,
    }
}

impl Modem {
    async fn wait_for(
        &self,
        what: &str,
        predicate: impl FnMut(&ModemSnapshot) -> bool,
    ) -> ModemSnapshot {
        wait_for_snapshot(&self.handle, WAIT, what, predicate).await
    }

    async fn stop(mut self) {
        stop_supervisor(self.stop.take(), &mut self.task, WAIT).await;
    }
}

fn ipv4(snapshot: &ModemSnapshot, executor: usize) -> Option<Ipv4Addr> {
    let ip = snapshot.executors[executor].status.ip.as_ref()?;
    ip.ipv4_addresses.first().map(|address| address.address)
}

#[test]
fn executors_are_known_by_their_executor_index_not_their_function_order() {
    run("mbimd-identity", || async {
        let modem = start(swapped_scenario(), config());
        let root = is_root();
        let snapshot = modem
            .wait_for(
                "both executors connected (with their links, as root)",
                |snapshot| {
                    snapshot.executors.len() == 2
                        && snapshot.executors.iter().all(|executor| {
                            executor.status.state == ExecutorState::Connected
                                && (!root || executor.netdev.is_some())
                        })
                        && snapshot.mapping.len() == 2
                },
            )
            .await;

        // Executor 0 is function 1: slot 1's SIM, the second network.
        let zero = &snapshot.executors[0].status;
        assert_eq!(zero.executor, 0);
        assert_eq!(zero.device_executor_index, Some(0));
        assert_eq!(zero.iccid, SLOT1_ICCID);
        assert_eq!(zero.provider_id, "00102");
        assert_eq!(zero.slot, Some(1));
        assert_eq!(ipv4(&snapshot, 0), Some(Ipv4Addr::new(10, 65, 0, 2)));
        // Executor 1 is function 0: slot 0's SIM, the first network.
        let one = &snapshot.executors[1].status;
        assert_eq!(one.executor, 1);
        assert_eq!(one.device_executor_index, Some(1));
        assert_eq!(one.iccid, SLOT0_ICCID);
        assert_eq!(one.provider_id, "00101");
        assert_eq!(one.slot, Some(0));
        assert_eq!(ipv4(&snapshot, 1), Some(Ipv4Addr::new(10, 64, 0, 2)));

        // DEVICE_SLOT_MAPPINGS lists slots by executor; the slots name
        // their executor by the same number.
        assert_eq!(snapshot.mapping, vec![1, 0]);
        assert_eq!(snapshot.slots[0].executor, Some(1));
        assert_eq!(snapshot.slots[0].iccid, SLOT0_ICCID);
        assert_eq!(snapshot.slots[1].executor, Some(0));
        assert_eq!(snapshot.slots[1].iccid, SLOT1_ICCID);

        if root {
            // The scheme's `e0` is ExecutorIndex 0; the fixed name of
            // executor 1 goes to ExecutorIndex 1 (function 0).
            assert_eq!(snapshot.executors[0].netdev.as_deref(), Some("mbim0e0"));
            assert_eq!(snapshot.executors[1].netdev.as_deref(), Some("wwan-exec1"));
        } else {
            println!("SKIP (names only): not root, so the supervisor makes no TUN devices");
        }

        // A request for executor 0 reaches function 1, and only it.
        modem
            .handle
            .executor_command(0, ExecutorCommand::Disconnect)
            .await
            .unwrap();
        let snapshot = modem
            .wait_for("executor 0 idle, its link gone", |snapshot| {
                snapshot.executors[0].status.state == ExecutorState::Idle
                    && snapshot.executors[0].netdev.is_none()
            })
            .await;
        assert_eq!(snapshot.executors[0].status.iccid, SLOT1_ICCID);
        assert_eq!(snapshot.executors[1].status.state, ExecutorState::Connected);
        assert_eq!(snapshot.executors[1].status.iccid, SLOT0_ICCID);
        modem.stop().await;
    });
}
