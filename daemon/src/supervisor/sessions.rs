//! Further PDN sessions' network devices: each session the executor reports
//! up ([`ExecutorEvent::SessionUp`](crate::executor::ExecutorEvent)) gets a
//! link of its own beside session 0's, with its own addresses and routes,
//! carried by session 0's pump (its NDPs signed with the session id).
//!
//! Which link carries session N is decided in one place, [`carrier_for`]:
//! today a TUN device named after session 0's (`mbim0e0` → `mbim0e0s1`)
//! attached to the pump's [`SessionTable`]. A transport whose further
//! sessions are kernel links (VLANs of cdc_mbim, wwan links) adds its kind
//! there.

use super::configure::{Configuration, Subject};
use super::{chain, mtu_for, Executor, ModemSpec};
use crate::config::{Config, SessionManager};
use crate::datapath::{SessionReader, SessionTable};
use crate::executor::Connection;
use crate::netdev::{
    Addressing, DnsBackend, InterfaceName, Netdev, NetdevOptions, TunOptions, MAX_NAME_LEN,
};
use crate::types::IpSettings;
use mbim_transport::FunctionTransport;

/// The live part of one further session: its device and what feeds it.
pub(super) struct SessionLink {
    netdev: Netdev,
    /// Reads the device for the pump; stops when dropped.
    _reader: SessionReader,
    /// The session as the executor reported it, its IP settings current:
    /// to make its device again when session 0's is replaced (a reload).
    connection: Connection,
    mtu: u16,
    /// How its device's configuration went, and when to apply it again.
    configuration: Configuration,
}

impl SessionLink {
    /// The device's name.
    pub(super) fn name(&self) -> &str {
        self.netdev.name().as_str()
    }

    /// The parts of its device's configuration not applied, in words (""
    /// when all are).
    pub(super) fn not_applied(&self) -> String {
        self.configuration.not_applied_text()
    }

    async fn configure(&mut self, who: Subject) {
        self.configuration
            .apply(who, &mut self.netdev, &self.connection.ip, self.mtu)
            .await;
    }
}

/// What carries a further session between the modem and the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum SessionCarrier {
    /// A TUN device of its own, fed by session 0's pump through its
    /// [`SessionTable`] (the user-space data path over usbfs).
    Tun {
        /// Its name.
        name: InterfaceName,
    },
}

/// The one place that decides how session `session` (1 and up) of the
/// executor whose session 0 is `base` reaches the host: `<base>s<session>`
/// (`mbim0e0s1`), or why not (a name beyond the kernel's 15 bytes).
pub(super) fn carrier_for(base: &InterfaceName, session: u32) -> Result<SessionCarrier, String> {
    let name = format!("{}s{session}", base.as_str());
    if name.len() > MAX_NAME_LEN {
        return Err(format!(
            "no interface name for session {session}: {name} is longer than {MAX_NAME_LEN} \
             bytes (IFNAMSIZ); name session 0's device shorter ([[interfaces.names]])"
        ));
    }
    InterfaceName::new(name)
        .map(|name| SessionCarrier::Tun { name })
        .map_err(|error| format!("no interface name for session {session}: {error}"))
}

/// Brings a further session's link up: its device, attached to the pump,
/// configured with its addresses (its default routes and DNS only when its
/// profile asks).
pub(super) async fn bring_session_up<T: FunctionTransport>(
    modem: &ModemSpec,
    config: &Config,
    number: usize,
    executor: &mut Executor<T>,
    connection: Connection,
) {
    let session_id = connection.session_id;
    if executor.link.is_none() {
        tracing::warn!(
            modem = modem.index,
            executor = number,
            session = session_id,
            "session up while session 0 has no link: not carried"
        );
        return;
    }
    take_session_down(modem, number, executor, session_id).await;
    let Some(link) = executor.link.as_mut() else {
        return;
    };
    let Ok(session) = u8::try_from(session_id) else {
        return;
    };
    let name = match carrier_for(link.netdev.name(), session_id) {
        Ok(SessionCarrier::Tun { name }) => name,
        Err(why) => {
            tracing::warn!(modem = modem.index, executor = number, "{why}");
            return;
        }
    };
    let options = NetdevOptions {
        default_route_metric: (connection.default_route && config.routes.default_route).then(
            || {
                connection
                    .route_metric
                    .unwrap_or(config.routes.metric.get())
            },
        ),
        dns: if connection.dns {
            config.dns.backend.clone()
        } else {
            DnsBackend::None
        },
        interface_id: link_interface_id(&link.interface_id, session_id),
        addressing: match config.sessions.get() {
            SessionManager::Mbimd => Addressing::Full,
            SessionManager::Client => Addressing::LinkOnly,
        },
        // One packet per read and write: see datapath::sessions.
        tun: TunOptions {
            offload: false,
            ..TunOptions::default()
        },
        ..NetdevOptions::default()
    };
    let netdev = match Netdev::create(name.clone(), options).await {
        Ok(netdev) => netdev,
        Err(error) => {
            tracing::warn!(
                modem = modem.index,
                executor = number,
                session = session_id,
                "session {} is up, but its network device {} cannot be created: {}",
                connection.profile,
                name.as_str(),
                chain(&error)
            );
            return;
        }
    };
    let mtu = mtu_for(&connection.ip, executor.spec.max_segment_size);
    let Some(device) = netdev.device() else {
        return;
    };
    let reader = link.sessions.attach(session, device);
    let mut extra = SessionLink {
        netdev,
        _reader: reader,
        connection,
        mtu,
        configuration: Configuration::default(),
    };
    extra
        .configure(Subject {
            modem: modem.index,
            executor: number,
        })
        .await;
    tracing::info!(
        modem = modem.index,
        executor = number,
        session = session_id,
        "{} is up (MTU {mtu}, session {} of profile {}), {}",
        name.as_str(),
        session_id,
        extra.connection.profile,
        extra.configuration.summary()
    );
    link.extras.insert(session_id, extra);
}

/// A further session's IP configuration changed: applied to its device.
pub(super) async fn update_session<T: FunctionTransport>(
    modem: &ModemSpec,
    number: usize,
    executor: &mut Executor<T>,
    session_id: u32,
    ip: IpSettings,
) {
    let mtu = mtu_for(&ip, executor.spec.max_segment_size);
    let Some(extra) = executor
        .link
        .as_mut()
        .and_then(|link| link.extras.get_mut(&session_id))
    else {
        return;
    };
    extra.connection.ip = ip;
    extra.mtu = mtu;
    // New settings: a back-off for the old ones means nothing.
    extra.configuration.stop_retrying();
    extra
        .configure(Subject {
            modem: modem.index,
            executor: number,
        })
        .await;
}

/// Whether a further session's partly applied configuration waits for its
/// retry.
pub(super) fn retry_pending(extras: &std::collections::BTreeMap<u32, SessionLink>) -> bool {
    extras
        .values()
        .any(|extra| extra.configuration.retry_pending())
}

/// Applies again each further session's configuration whose retry is due
/// at `now`.
pub(super) async fn retry_due<T: FunctionTransport>(
    modem: &ModemSpec,
    number: usize,
    executor: &mut Executor<T>,
    now: tokio::time::Instant,
) {
    let Some(link) = executor.link.as_mut() else {
        return;
    };
    let who = Subject {
        modem: modem.index,
        executor: number,
    };
    for extra in link.extras.values_mut() {
        if extra.configuration.retry_due(now) {
            extra.configure(who).await;
        }
    }
}

/// No more attempts at the further sessions' configurations (their devices'
/// configuration was handed to a client).
pub(super) fn stop_retrying(extras: &mut std::collections::BTreeMap<u32, SessionLink>) {
    for extra in extras.values_mut() {
        extra.configuration.stop_retrying();
    }
}

/// Takes a further session's link down: detached from the pump, its
/// device removed.
pub(super) async fn take_session_down<T: FunctionTransport>(
    modem: &ModemSpec,
    number: usize,
    executor: &mut Executor<T>,
    session_id: u32,
) {
    let Some(link) = executor.link.as_mut() else {
        return;
    };
    let Some(extra) = link.extras.remove(&session_id) else {
        return;
    };
    if let Ok(session) = u8::try_from(session_id) {
        link.sessions.detach(session);
    }
    remove(modem, number, extra).await;
}

/// The further sessions up, as the executor reported them (with their
/// current IP settings).
pub(super) fn connections(
    extras: &std::collections::BTreeMap<u32, SessionLink>,
) -> Vec<Connection> {
    extras
        .values()
        .map(|extra| extra.connection.clone())
        .collect()
}

/// Takes every further session's link down (session 0's goes next).
pub(super) async fn take_sessions_down(
    modem: &ModemSpec,
    number: usize,
    sessions: &SessionTable,
    extras: &mut std::collections::BTreeMap<u32, SessionLink>,
) {
    for (session_id, extra) in std::mem::take(extras) {
        if let Ok(session) = u8::try_from(session_id) {
            sessions.detach(session);
        }
        remove(modem, number, extra).await;
    }
}

async fn remove(modem: &ModemSpec, number: usize, extra: SessionLink) {
    let name = extra.name().to_owned();
    drop(extra._reader);
    match extra.netdev.teardown().await {
        Ok(()) => tracing::info!(modem = modem.index, executor = number, "{name} removed"),
        Err(error) => tracing::warn!(
            modem = modem.index,
            executor = number,
            "removing {name}: {}",
            chain(&error)
        ),
    }
}

/// A further session's IPv6 interface identifier: session 0's, with the
/// session id folded into its last byte, so each is stable per SIM and
/// distinct per session.
fn link_interface_id(seed: &[u8; 8], session: u32) -> [u8; 8] {
    let mut id = *seed;
    if let Some(last) = id.last_mut() {
        *last ^= u8::try_from(session & 0xff).unwrap_or(0);
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn further_sessions_are_named_after_session_0_within_ifnamsiz() {
        let table = [
            ("mbim0e0", 1, Ok("mbim0e0s1")),
            ("mbim0e1", 8, Ok("mbim0e1s8")),
            ("wwan-work", 2, Ok("wwan-works2")),
            ("mbim65535e655", 1, Ok("mbim65535e655s1")),
            ("mbim65535e6553", 1, Err("longer than 15 bytes")),
        ];
        for (base, session, expected) in table {
            let base = InterfaceName::new(base).unwrap();
            match (carrier_for(&base, session), expected) {
                (Ok(SessionCarrier::Tun { name }), Ok(want)) => assert_eq!(name.as_str(), want),
                (Err(why), Err(want)) => assert!(why.contains(want), "{why}"),
                (other, want) => panic!("{base:?} {session}: {other:?}, expected {want:?}"),
            }
        }
    }

    #[test]
    fn session_interface_ids_differ_per_session() {
        let seed = [0x02, 1, 2, 3, 4, 5, 6, 7];
        assert_eq!(link_interface_id(&seed, 0), seed);
        assert_ne!(link_interface_id(&seed, 1), seed);
        assert_ne!(link_interface_id(&seed, 1), link_interface_id(&seed, 2));
    }
}
