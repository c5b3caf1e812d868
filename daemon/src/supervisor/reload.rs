//! Following a changed configuration without dropping sessions: who
//! manages the sessions (mbimd or a client, [`crate::config::Sessions`]),
//! and a reloaded configuration handed to the executors, the slot policy
//! and each connected device, retuned in place where it can be and made
//! again where it cannot.

use super::link::{bring_link_up, configure, link_settings, take_link_down};
use super::{configured_pins, sessions, Executor, ModemSpec, Supervisor};
use crate::config::{Config, SessionManager};
use crate::executor::ExecutorCommand;
use crate::logging::chain;
use crate::policy::store::SlotStore;
use mbim_transport::FunctionTransport;
use std::sync::Arc;

impl<T: FunctionTransport + 'static> Supervisor<T> {
    /// Hands mbimd's own sessions over once the sessions are the clients'
    /// ([`crate::config::Sessions`]): each network device keeps its link
    /// and MTU but loses the addresses, routes and DNS mbimd gave it, and
    /// each executor is asked to disconnect (or not to connect by itself),
    /// so a client that connects finds a device it configures alone.
    pub(super) async fn follow_sessions(&mut self) {
        let now = self.config.sessions.get();
        if now == self.sessions {
            return;
        }
        self.sessions = now;
        if now != SessionManager::Client {
            return;
        }
        let numbers = self.numbers();
        for (index, executor) in self.executors.iter_mut().enumerate() {
            let number = numbers.get(index).copied().unwrap_or(index);
            if let Some(link) = executor.link.as_mut() {
                let name = link.netdev.name().as_str().to_owned();
                match link.netdev.leave_addressing_to_client().await {
                    Ok(()) => tracing::info!(
                        modem = self.modem.index,
                        executor = number,
                        "{name}: mbimd's addresses, routes and DNS removed, for the client"
                    ),
                    Err(error) => tracing::warn!(
                        modem = self.modem.index,
                        executor = number,
                        "{name}: removing mbimd's configuration for the client: {}",
                        chain(&error)
                    ),
                }
                executor.configuration.stop_retrying();
                sessions::stop_retrying(&mut link.extras);
            }
            if !executor.running {
                continue;
            }
            if let Err(error) = executor.commands.try_send(ExecutorCommand::Disconnect) {
                tracing::warn!(
                    modem = self.modem.index,
                    executor = number,
                    "mbimd's own session was not handed over: {error}"
                );
            }
        }
    }

    /// A reloaded configuration: to every executor (profiles, PINs, APN
    /// sources), to the slot policy, and to each connected device (routes,
    /// DNS, names, offloads) without dropping the sessions.
    pub(super) async fn reconfigure(&mut self, config: Arc<Config>) {
        let pins = configured_pins(&config);
        let numbers = self.numbers();
        for (index, executor) in self.executors.iter().enumerate() {
            let command = ExecutorCommand::Reconfigure {
                profiles: config.profiles.clone(),
                pins: pins.clone(),
                apn_sources: config.apn_sources(),
            };
            if let Err(error) = executor.commands.try_send(command) {
                tracing::warn!(
                    modem = self.modem.index,
                    executor = numbers.get(index).copied().unwrap_or(index),
                    "the new configuration did not reach the executor: {error}"
                );
            }
        }
        self.config = config;
        for (index, executor) in self.executors.iter_mut().enumerate() {
            let number = numbers.get(index).copied().unwrap_or(index);
            follow_reload(&self.modem, &self.config, number, executor).await;
        }
        self.slots.store = SlotStore::new(self.config.slot_policy.state_file.clone());
        let policy = self.config.slot_policy_for(&self.modem.identity());
        self.set_policy(policy, true);
        tracing::info!(modem = self.modem.index, "configuration reloaded");
    }
}

/// Brings a connected executor's device to a reloaded configuration
/// without dropping its session: in place (routes, DNS, IPv6 identifier)
/// where the device can take it, else with a new device (another name,
/// offloads, who configures it), as after a reconnection.
async fn follow_reload<T: FunctionTransport>(
    modem: &ModemSpec,
    config: &Config,
    index: usize,
    executor: &mut Executor<T>,
) {
    let Some(link) = executor.link.as_ref() else {
        return;
    };
    let mut connection = link.connection.clone();
    connection.ip = link.ip.clone();
    let Some((name, options)) = link_settings(config, modem, index, executor, &connection) else {
        return;
    };
    let current = link.netdev.name().clone();
    if name == current && link.netdev.options() == &options {
        return;
    }
    if name == current && link.netdev.can_retune_to(&options) {
        let Some(link) = executor.link.as_mut() else {
            return;
        };
        match link.netdev.retune(options).await {
            Ok(()) => {
                tracing::info!(
                    modem = modem.index,
                    executor = index,
                    "{}: taking the reloaded routes and DNS settings",
                    name.as_str()
                );
                executor.configuration.stop_retrying();
                configure(modem, index, executor).await;
            }
            Err(error) => tracing::warn!(
                modem = modem.index,
                executor = index,
                "{}: the reloaded settings are not applied, the previous ones stay: {}",
                name.as_str(),
                chain(&error)
            ),
        }
        return;
    }
    tracing::info!(
        modem = modem.index,
        executor = index,
        "{}: the reloaded configuration needs a new network device ({}); the session stays",
        current.as_str(),
        if name == current {
            "offloads or who configures it changed".to_owned()
        } else {
            format!("named {}", name.as_str())
        }
    );
    // The further sessions ride on session 0's pump: their devices are
    // made again on the new one.
    let further = executor
        .link
        .as_ref()
        .map(|link| sessions::connections(&link.extras))
        .unwrap_or_default();
    take_link_down(modem, index, executor).await;
    bring_link_up(modem, config, index, executor, connection).await;
    for session in further {
        sessions::bring_session_up(modem, config, index, executor, session).await;
    }
}
