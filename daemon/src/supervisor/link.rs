//! Session 0's link: the network device a connected executor gets (its
//! name, options, MTU and stable IPv6 interface identifier), bringing it up
//! with its data path, configuring it, and taking it down so that nothing
//! of a session outlives it.
//!
//! Over usbfs the device is a TUN mbimd creates and the pump carries its
//! packets; behind a kernel driver it is the driver's device, adopted, and
//! the driver carries them.

use super::configure::Subject;
use super::data_path::{format_name, start_data_path};
use super::{sessions, Executor, Link, ModemSpec};
use crate::config::{Config, DeviceIdentity, SessionManager};
use crate::datapath::SessionTable;
use crate::executor::Connection;
use crate::logging::chain;
use crate::netdev::{
    Addressing, ConfigPart, ConfigReport, InterfaceName, KernelTraffic, Netdev, NetdevOptions,
    PartOutcome, TunOptions,
};
use crate::types::{link_mtu, IpSettings};
use mbim_transport::FunctionTransport;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

pub(super) fn mtu_for(ip: &IpSettings, max_segment_size: u16) -> u16 {
    let network = if ip.ipv4_mtu != 0 {
        ip.ipv4_mtu
    } else {
        ip.ipv6_mtu
    };
    link_mtu(network, max_segment_size)
}

/// A stable IPv6 interface identifier for a SIM: the same SIM gets the same
/// SLAAC address on every connection; different SIMs get unrelated ones.
fn interface_id(iccid: &str, modem: &ModemSpec, executor: usize) -> [u8; 8] {
    let mut hasher = DefaultHasher::new();
    (iccid, modem.vid, modem.pid, &modem.serial, executor).hash(&mut hasher);
    let mut id = hasher.finish().to_be_bytes();
    // RFC 4291: clear the universal/local bit of a locally made identifier.
    if let Some(first) = id.first_mut() {
        *first &= !0x02;
    }
    id
}

fn interface_name(config: &Config, modem: &ModemSpec, executor: usize) -> Option<InterfaceName> {
    let executor = u32::try_from(executor).ok()?;
    netdev_name(config, &modem.identity(), modem.index, executor)
}

/// The name the network device of executor `executor` of the modem
/// `identity`, numbered `modem`, gets when it connects: its fixed name from
/// `[[interfaces.names]]`, else the name scheme's (`None` if the scheme
/// makes no valid name of these numbers).
pub fn netdev_name(
    config: &Config,
    identity: &DeviceIdentity<'_>,
    modem: u32,
    executor: u32,
) -> Option<InterfaceName> {
    config
        .interfaces
        .fixed_name(identity, executor)
        .cloned()
        .or_else(|| config.interfaces.scheme.expand(modem, executor))
}

/// The name and options the network device of executor `index` gets for
/// `connection` under `config` (`None` without a valid name).
pub(super) fn link_settings<T>(
    config: &Config,
    modem: &ModemSpec,
    index: usize,
    executor: &Executor<T>,
    connection: &Connection,
) -> Option<(InterfaceName, NetdevOptions)> {
    // A kernel driver's device keeps the driver's name.
    let name = match &executor.spec.kernel {
        Some(kernel) => kernel.netdev.clone(),
        None => interface_name(config, modem, index)?,
    };
    let iccid = executor.status.borrow().iccid.clone();
    let options = NetdevOptions {
        default_route_metric: config.routes.default_route.then(|| {
            connection
                .route_metric
                .unwrap_or(config.routes.metric.get())
        }),
        dns: config.dns.backend.clone(),
        interface_id: interface_id(&iccid, modem, index),
        addressing: match config.sessions.get() {
            SessionManager::Mbimd => Addressing::Full,
            SessionManager::Client => Addressing::LinkOnly,
        },
        tun: TunOptions {
            offload: config.datapath.offload,
            ..TunOptions::default()
        },
        ..NetdevOptions::default()
    };
    Some((name, options))
}

pub(super) async fn bring_link_up<T: FunctionTransport>(
    modem: &ModemSpec,
    config: &Config,
    index: usize,
    executor: &mut Executor<T>,
    connection: Connection,
) {
    let Some((name, options)) = link_settings(config, modem, index, executor, &connection) else {
        tracing::error!(
            modem = modem.index,
            executor = index,
            "no valid interface name"
        );
        return;
    };
    let mtu = mtu_for(&connection.ip, executor.spec.max_segment_size);
    let interface_id = options.interface_id;
    let kernel = executor.spec.kernel.is_some();
    let made = if kernel {
        Netdev::adopt(name.clone(), options).await
    } else {
        Netdev::create(name.clone(), options).await
    };
    let netdev = match made {
        Ok(netdev) => netdev,
        Err(error) => {
            tracing::warn!(
                modem = modem.index,
                executor = index,
                "connected (profile {}), but cannot {} network device {}: {}. Without \
                 root or CAP_NET_ADMIN, mbimd skips the device, addresses, routes and DNS",
                connection.profile,
                if kernel {
                    "take the kernel's"
                } else {
                    "create"
                },
                name.as_str(),
                chain(&error)
            );
            let mut report = ConfigReport::default();
            report.parts.push(ConfigPart {
                part: format!("network device {}", name.as_str()),
                outcome: PartOutcome::Failed {
                    error: chain(&error).to_string(),
                    transient: false,
                },
            });
            executor.configuration.without_device(report);
            return;
        }
    };
    let session_table = SessionTable::new();
    let started = if kernel {
        // The driver moves the packets between its device and the modem.
        Ok(None)
    } else {
        start_data_path(
            &executor.spec.transport,
            &netdev,
            &connection,
            session_table.clone(),
        )
        .await
        .map(Some)
    };
    let (pump, format) = match started {
        Ok(Some((pump, format))) => (Some(pump), format_name(format)),
        Ok(None) => (None, "the kernel driver's data path"),
        Err(error) => {
            tracing::warn!(
                modem = modem.index,
                executor = index,
                "data path: {error:#}"
            );
            (None, "no data path")
        }
    };
    let profile = connection.profile.clone();
    // The driver's device outlives sessions: count from here.
    let kernel_traffic = if kernel {
        Some(KernelTraffic::from(
            netdev.kernel_counters().await.unwrap_or_default(),
        ))
    } else {
        None
    };
    executor.link = Some(Link {
        kernel_traffic,
        netdev,
        pump,
        ip: connection.ip.clone(),
        mtu,
        connection,
        sessions: session_table,
        extras: std::collections::BTreeMap::new(),
        interface_id,
    });
    configure(modem, index, executor).await;
    let configured = executor.configuration.summary();
    tracing::info!(
        modem = modem.index,
        executor = index,
        "{} is up (MTU {mtu}, profile {profile}, {format}), {configured}",
        name.as_str(),
    );
}

/// Brings the executor's device to its link's settings (see
/// [`Configuration::apply`]).
///
/// [`Configuration::apply`]: super::configure::Configuration::apply
pub(super) async fn configure<T: FunctionTransport>(
    modem: &ModemSpec,
    number: usize,
    executor: &mut Executor<T>,
) {
    let Some(link) = executor.link.as_mut() else {
        return;
    };
    let who = Subject {
        modem: modem.index,
        executor: number,
    };
    executor
        .configuration
        .apply(who, &mut link.netdev, &link.ip, link.mtu)
        .await;
}

pub(super) async fn take_link_down<T: FunctionTransport>(
    modem: &ModemSpec,
    index: usize,
    executor: &mut Executor<T>,
) {
    executor.configuration.reset();
    let Some(mut link) = executor.link.take() else {
        return;
    };
    sessions::take_sessions_down(modem, index, &link.sessions, &mut link.extras).await;
    if let Some(pump) = link.pump.take() {
        let counters = pump.counters();
        let _ = pump.stop().await;
        tracing::info!(
            modem = modem.index,
            executor = index,
            "data path stopped: {counters:?}"
        );
    }
    // Alternate setting 0 releases the data pipes on the device side; a
    // device already gone cannot answer, which is fine. A kernel driver
    // keeps its own data interface.
    if executor.spec.kernel.is_none() {
        let _ = executor.spec.transport.set_data_alt_setting(0).await;
    }
    let name = link.netdev.name().as_str().to_owned();
    let origin = link.netdev.origin();
    match link.netdev.teardown().await {
        Ok(()) if origin == crate::netdev::Origin::Adopted => tracing::info!(
            modem = modem.index,
            executor = index,
            "{name}: mbimd's addresses, routes and DNS removed, link set down (the kernel's device stays)"
        ),
        Ok(()) => tracing::info!(modem = modem.index, executor = index, "{name} removed"),
        Err(error) => tracing::warn!(
            modem = modem.index,
            executor = index,
            "removing {name}: {}",
            chain(&error)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_ids_are_stable_per_sim_and_locally_administered() {
        let modem = ModemSpec {
            index: 0,
            vid: 1,
            pid: 2,
            usb_path: "1-1".into(),
            serial: None,
            ..ModemSpec::default()
        };
        let a = interface_id("8988200000000000001", &modem, 0);
        assert_eq!(a, interface_id("8988200000000000001", &modem, 0));
        assert_ne!(a, interface_id("8988200000000000002", &modem, 0));
        assert_eq!(a[0] & 0x02, 0);
    }

    #[test]
    fn the_link_mtu_prefers_the_ipv4_mtu_and_respects_the_segment_size() {
        let ip = IpSettings {
            ipv4_mtu: 1400,
            ipv6_mtu: 1280,
            ..IpSettings::default()
        };
        assert_eq!(mtu_for(&ip, 1500), 1400);
        let ip = IpSettings {
            ipv6_mtu: 1300,
            ..IpSettings::default()
        };
        assert_eq!(mtu_for(&ip, 1500), 1300);
        assert_eq!(mtu_for(&IpSettings::default(), 1428), 1428);
    }
}
