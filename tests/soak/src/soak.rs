//! The soak itself: the daemon, its modem and bus, and what recovery means.

use crate::daemon::{self, Mbimd, Resources};
use crate::env::Namespace;
use crate::state::{self, ExecutorView, CALL_TIMEOUT, EXECUTOR1, MODEM1};
use anyhow::{bail, ensure, Context as _};
use mbim_sim::control::{ControlCommand, TrafficSettings, TrafficSource};
use mbim_sim::scenario::{CardConfig, Scenario};
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How often the state is read while waiting for recovery.
const POLL: Duration = Duration::from_millis(100);

/// How a fault ended.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Recovery {
    /// From the end of the fault to everything checked.
    pub(crate) time: Duration,
    /// Whether mbimd had to be restarted (the watchdog's way).
    pub(crate) restarted: bool,
}

/// The running daemon and what the soak needs to drive and check it.
pub(crate) struct Soak {
    /// The namespace mbimd runs in.
    pub(crate) namespace: Namespace,
    /// The working directory (sockets, configuration, DNS file, log).
    pub(crate) dir: PathBuf,
    /// A connection to the private bus.
    pub(crate) bus: zbus::Connection,
    /// The daemon.
    pub(crate) mbimd: Mbimd,
    /// The simulated modem's scenario (its cards, to put them back).
    pub(crate) scenario: Scenario,
    /// How long a fault may take to recover.
    pub(crate) recover_timeout: Duration,
}

impl Soak {
    /// Sends a control command to the simulated modem inside mbimd.
    pub(crate) async fn ctl(&self, command: ControlCommand) -> anyhow::Result<()> {
        let reply = mbim_sim::ctl::request(&daemon::control_socket(&self.dir), &command)
            .await
            .with_context(|| format!("control command {command:?}"))?;
        ensure!(
            reply.get("ok").is_some(),
            "control command {command:?} refused: {reply}"
        );
        Ok(())
    }

    /// The executors as D-Bus shows them.
    pub(crate) async fn views(&self) -> anyhow::Result<Vec<ExecutorView>> {
        state::executors(&self.bus).await
    }

    /// Waits until `condition` holds of the executors.
    pub(crate) async fn wait_views(
        &self,
        what: &str,
        timeout: Duration,
        condition: impl Fn(&[ExecutorView]) -> bool,
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let views = self.views().await?;
            if condition(&views) {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("{what} did not show on D-Bus within {timeout:?}: {views:#?}");
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until executor 0 is no longer connected.
    pub(crate) async fn wait_down(&self, cause: &str) -> anyhow::Result<()> {
        self.wait_views(
            &format!("the disconnection after {cause}"),
            Duration::from_secs(20),
            |views| views.first().is_some_and(|view| view.state != "connected"),
        )
        .await
    }

    /// The slot of executor 0.
    pub(crate) async fn active_slot(&self) -> anyhow::Result<i32> {
        let views = self.views().await?;
        let view = views.first().context("no executor on D-Bus")?;
        ensure!(view.slot >= 0, "executor 0 has no slot: {view:?}");
        Ok(view.slot)
    }

    /// The card the scenario puts in `slot`.
    pub(crate) fn card(&self, slot: u32) -> anyhow::Result<CardConfig> {
        self.scenario
            .slots
            .get(usize::try_from(slot)?)
            .and_then(|config| config.card.clone())
            .with_context(|| format!("the scenario has no card in slot {slot}"))
    }

    async fn call(
        &self,
        path: &str,
        interface: &str,
        method: &str,
        body: &(impl serde::Serialize + zbus::zvariant::DynamicType),
    ) -> anyhow::Result<()> {
        let call = self
            .bus
            .call_method(Some(state::BUS_NAME), path, Some(interface), method, body);
        tokio::time::timeout(CALL_TIMEOUT * 6, call)
            .await
            .with_context(|| format!("{method}: no answer from mbimd"))?
            .context(method.to_owned())?;
        Ok(())
    }

    /// D-Bus SwitchToSlot on modem 0.
    pub(crate) async fn switch_to_slot(&self, slot: u32) -> anyhow::Result<()> {
        self.call("/dev/mbimd/Mbimd1/Modem0", MODEM1, "SwitchToSlot", &(slot,))
            .await
    }

    /// D-Bus Disconnect, then Connect, on executor 0.
    pub(crate) async fn disconnect_and_connect(&self) -> anyhow::Result<()> {
        let path = "/dev/mbimd/Mbimd1/Modem0/Executor0";
        // Either may be refused while the broken answer is being handled;
        // what counts is that the daemon answers and recovers.
        let _ = self.call(path, EXECUTOR1, "Disconnect", &()).await;
        let overrides = std::collections::HashMap::<String, zbus::zvariant::Value<'_>>::new();
        let _ = self.call(path, EXECUTOR1, "Connect", &(overrides,)).await;
        Ok(())
    }

    /// Starts the simulated network's traffic towards executor 0, so the
    /// data path is seen to carry packets.
    async fn start_traffic(&self, view: &ExecutorView) -> anyhow::Result<()> {
        let address = view
            .ipv4
            .first()
            .and_then(|cidr| cidr.split('/').next())
            .and_then(|address| address.parse::<IpAddr>().ok())
            .context("executor 0 has no IPv4 address")?;
        self.ctl(ControlCommand::Traffic {
            executor: 0,
            settings: TrafficSettings {
                session: 0,
                sink_port: None,
                source: Some(TrafficSource {
                    address,
                    port: 9,
                    source_port: 9,
                    rate: 50,
                    size: 64,
                }),
            },
        })
        .await
    }

    /// Waits for recovery from `injected`: every executor connected (on the
    /// slot it must be on), devices, routes and DNS matching, and packets
    /// arriving. Restarts mbimd when its watchdog would fire.
    pub(crate) async fn recover(
        &mut self,
        injected: &crate::faults::Injected,
    ) -> anyhow::Result<Recovery> {
        let deadline = injected.cleared + self.recover_timeout;
        let executors = self.scenario.executors.len();
        let mut restarted = false;
        let mut traffic_from: Option<(u64, Instant)> = None;
        let mut last_problem = String::new();
        loop {
            if let Some(status) = self.mbimd.exited() {
                bail!("mbimd ended on its own: {status}");
            }
            if self.mbimd.watchdog_expired() {
                ensure!(
                    injected.needs_restart,
                    "mbimd's watchdog stopped pinging after a fault that should not hang it"
                );
                self.mbimd.restart().context("restarting mbimd")?;
                restarted = true;
                traffic_from = None;
            }
            match self.check(executors, injected.slot).await {
                Ok(view) => match traffic_from {
                    None => {
                        self.start_traffic(&view).await?;
                        traffic_from = Some((view.rx_packets, Instant::now()));
                    }
                    Some((rx, _)) if view.rx_packets > rx => {
                        if injected.needs_restart && !restarted {
                            last_problem = "recovered without the restart it needs".to_owned();
                        } else {
                            return Ok(Recovery {
                                time: injected.cleared.elapsed(),
                                restarted,
                            });
                        }
                    }
                    Some((_, since)) => {
                        last_problem = format!("no packet received for {:?}", since.elapsed());
                    }
                },
                Err(problem) => {
                    last_problem = format!("{problem:#}");
                    traffic_from = None;
                }
            }
            if Instant::now() > deadline {
                bail!(
                    "not recovered within {:?}: {last_problem}",
                    self.recover_timeout
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// One look: executor 0's view when everything checks out.
    async fn check(&self, executors: usize, slot: Option<i32>) -> anyhow::Result<ExecutorView> {
        let views = self.views().await?;
        ensure!(
            views.len() == executors,
            "{} executor(s) on D-Bus, the modem has {executors}",
            views.len()
        );
        for view in &views {
            ensure!(view.is_up(), "{} is {}", view.path, view.state);
        }
        if let (Some(slot), Some(view)) = (slot, views.first()) {
            ensure!(
                view.slot == slot,
                "executor 0 on slot {}, not {slot}",
                view.slot
            );
        }
        state::check_consistent(&self.namespace, &daemon::dns_file(&self.dir), &views)?;
        views.into_iter().next().context("no executor")
    }

    /// mbimd's file descriptors, threads and memory now.
    pub(crate) fn resources(&self) -> anyhow::Result<Resources> {
        daemon::resources(self.mbimd.pid())
    }
}
