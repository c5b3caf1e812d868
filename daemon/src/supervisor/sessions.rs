//! Further PDN sessions' network devices: each session the executor reports
//! up ([`ExecutorEvent::SessionUp`](crate::executor::ExecutorEvent)) gets a
//! link of its own beside session 0's, with its own addresses and routes,
//! carried by session 0's pump (its NDPs signed with the session id).
//!
//! Which link carries session N is decided in one place, [`carrier_for`]:
//! over usbfs a TUN device named after session 0's (`mbim0e0` →
//! `mbim0e0s1`) attached to the pump's [`SessionTable`]; behind a kernel
//! driver the driver's own kind of link (a VLAN of cdc_mbim's device, a
//! wwan link), which the driver carries.

use super::configure::{Configuration, Subject};
use super::{chain, mtu_for, Executor, ModemSpec, SessionLinks};
use crate::config::{Config, SessionManager};
use crate::datapath::{SessionReader, SessionTable, TunDevice};
use crate::executor::Connection;
use crate::netdev::{
    Addressing, DnsBackend, InterfaceName, KernelCounters, KernelTraffic, Netdev, NetdevOptions,
    TunOptions, MAX_NAME_LEN,
};
use crate::types::IpSettings;
use mbim_transport::FunctionTransport;
use std::sync::Arc;

/// The live part of one further session: its device and what feeds it.
pub(super) struct SessionLink {
    netdev: Netdev,
    /// Reads the device for the pump; stops when dropped (none for a
    /// kernel link: the driver carries it).
    _reader: Option<SessionReader>,
    /// The session as the executor reported it, its IP settings current:
    /// to make its device again when session 0's is replaced (a reload).
    connection: Connection,
    mtu: u16,
    /// How its device's configuration went, and when to apply it again.
    configuration: Configuration,
    /// What a kernel link carried since it was made, as last read (`None`
    /// for a TUN, whose packets the pump's [`SessionTable`] counts).
    kernel_traffic: Option<KernelTraffic>,
    /// Whether the driver's device of session 0 counts this link's packets
    /// too (a VLAN of cdc_mbim's device does; a WWAN link is a device of
    /// its own).
    counted_by_base: bool,
}

impl SessionLink {
    /// The device's name.
    pub(super) fn name(&self) -> &str {
        self.netdev.name().as_str()
    }

    /// What a kernel link carried since it was made (`None` for a TUN, or
    /// when its counters cannot be read), and whether session 0's device
    /// counted it too.
    pub(super) fn kernel_traffic(&self) -> Option<(KernelCounters, bool)> {
        Some((self.kernel_traffic?.carried(), self.counted_by_base))
    }

    /// Reads a kernel link's counters (a failed reading keeps the last).
    pub(super) async fn read_kernel_counters(&mut self) {
        if let Some(traffic) = self.kernel_traffic.as_mut() {
            if let Ok(now) = self.netdev.kernel_counters().await {
                traffic.update(now);
            }
        }
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
    /// An 802.1Q VLAN link on cdc_mbim's device, VLAN id = session id.
    Vlan {
        /// Its name (`wwan0.1`).
        name: InterfaceName,
        /// cdc_mbim's device.
        base: InterfaceName,
        /// The VLAN id.
        id: u16,
    },
    /// A WWAN link of a WWAN driver, link id = session id.
    Wwan {
        /// Its name (`wwan0s1`).
        name: InterfaceName,
        /// The WWAN device it is made on.
        device: String,
        /// The link id.
        linkid: u32,
    },
}

impl SessionCarrier {
    /// The link's name.
    pub(super) fn name(&self) -> &InterfaceName {
        match self {
            SessionCarrier::Tun { name }
            | SessionCarrier::Vlan { name, .. }
            | SessionCarrier::Wwan { name, .. } => name,
        }
    }
}

/// The one place that decides how session `session` (1 and up) of the
/// executor whose session 0 is `base` reaches the host: over usbfs a TUN
/// device `<base>s<session>` (`mbim0e0s1`); behind cdc_mbim the VLAN link
/// `<base>.<session>` with VLAN id `session` (cdc_mbim maps VLAN 1-255 to
/// IP sessions 1-255); behind a WWAN driver the wwan link
/// `<base>s<session>` with link id `session`. Or why not (a name beyond
/// the kernel's 15 bytes, a session cdc_mbim cannot carry).
pub(super) fn carrier_for(
    base: &InterfaceName,
    session: u32,
    kernel: Option<&SessionLinks>,
) -> Result<SessionCarrier, String> {
    let name = match kernel {
        Some(SessionLinks::Vlan) => format!("{}.{session}", base.as_str()),
        None | Some(SessionLinks::Wwan { .. }) => format!("{}s{session}", base.as_str()),
    };
    if name.len() > MAX_NAME_LEN {
        return Err(format!(
            "no interface name for session {session}: {name} is longer than {MAX_NAME_LEN} \
             bytes (IFNAMSIZ); name session 0's device shorter ([[interfaces.names]])"
        ));
    }
    let name = InterfaceName::new(name)
        .map_err(|error| format!("no interface name for session {session}: {error}"))?;
    Ok(match kernel {
        None => SessionCarrier::Tun { name },
        Some(SessionLinks::Vlan) => {
            let id = u16::try_from(session)
                .ok()
                .filter(|id| (1..=255).contains(id))
                .ok_or_else(|| {
                    format!(
                        "session {session}: cdc_mbim carries IP sessions 1 to 255 only (on VLANs \
                         of the same ids)"
                    )
                })?;
            SessionCarrier::Vlan {
                name,
                base: base.clone(),
                id,
            }
        }
        Some(SessionLinks::Wwan { device }) => SessionCarrier::Wwan {
            name,
            device: device.clone(),
            linkid: session,
        },
    })
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
    let kernel = executor.spec.kernel.as_ref().map(|kernel| &kernel.links);
    let carrier = match carrier_for(link.netdev.name(), session_id, kernel) {
        Ok(carrier) => carrier,
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
    let name = carrier.name().clone();
    let made = match &carrier {
        SessionCarrier::Tun { name } => Netdev::create(name.clone(), options).await,
        SessionCarrier::Vlan { name, base, id } => {
            Netdev::create_vlan(name.clone(), base, *id, options).await
        }
        SessionCarrier::Wwan {
            name,
            device,
            linkid,
        } => Netdev::create_wwan_link(name.clone(), device, *linkid, options).await,
    };
    let netdev = match made {
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
    // A kernel link's packets are the driver's; a TUN's are the pump's.
    // The session's reader runs on this runtime, so its device is
    // registered with this runtime's reactor (the pump writes to it with
    // plain system calls from its own thread).
    let reader = match netdev.device().map(TunDevice::register) {
        None => None,
        Some(Ok(device)) => Some(link.sessions.attach(session, Arc::new(device))),
        Some(Err(error)) => {
            tracing::warn!(
                modem = modem.index,
                executor = number,
                session = session_id,
                "{}: cannot wait on the TUN device, its packets to the modem are lost: {}",
                name.as_str(),
                chain(&error)
            );
            None
        }
    };
    let kernel_traffic = if netdev.device().is_none() {
        Some(KernelTraffic::from(
            netdev.kernel_counters().await.unwrap_or_default(),
        ))
    } else {
        None
    };
    let mut extra = SessionLink {
        netdev,
        _reader: reader,
        connection,
        mtu,
        configuration: Configuration::default(),
        kernel_traffic,
        counted_by_base: matches!(carrier, SessionCarrier::Vlan { .. }),
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
            match (carrier_for(&base, session, None), expected) {
                (Ok(SessionCarrier::Tun { name }), Ok(want)) => assert_eq!(name.as_str(), want),
                (Err(why), Err(want)) => assert!(why.contains(want), "{why}"),
                (other, want) => panic!("{base:?} {session}: {other:?}, expected {want:?}"),
            }
        }
    }

    #[test]
    fn kernel_drivers_carry_further_sessions_on_their_own_links() {
        let wwan0 = InterfaceName::new("wwan0").unwrap();
        let vlan = carrier_for(&wwan0, 1, Some(&SessionLinks::Vlan)).unwrap();
        assert_eq!(
            vlan,
            SessionCarrier::Vlan {
                name: InterfaceName::new("wwan0.1").unwrap(),
                base: wwan0.clone(),
                id: 1,
            }
        );
        // cdc_mbim: VLAN 1-255 are IP sessions 1-255; 256 on are not IP.
        assert!(carrier_for(&wwan0, 255, Some(&SessionLinks::Vlan)).is_ok());
        let why = carrier_for(&wwan0, 256, Some(&SessionLinks::Vlan)).unwrap_err();
        assert!(why.contains("1 to 255"), "{why}");
        let links = SessionLinks::Wwan {
            device: "wwan0".to_owned(),
        };
        assert_eq!(
            carrier_for(&wwan0, 2, Some(&links)).unwrap(),
            SessionCarrier::Wwan {
                name: InterfaceName::new("wwan0s2").unwrap(),
                device: "wwan0".to_owned(),
                linkid: 2,
            }
        );
        let long = InterfaceName::new("wwan-0123456789").unwrap();
        assert!(carrier_for(&long, 1, Some(&SessionLinks::Vlan))
            .unwrap_err()
            .contains("IFNAMSIZ"));
    }

    #[test]
    fn session_interface_ids_differ_per_session() {
        let seed = [0x02, 1, 2, 3, 4, 5, 6, 7];
        assert_eq!(link_interface_id(&seed, 0), seed);
        assert_ne!(link_interface_id(&seed, 1), seed);
        assert_ne!(link_interface_id(&seed, 1), link_interface_id(&seed, 2));
    }
}
