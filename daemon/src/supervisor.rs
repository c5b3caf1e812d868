//! One modem's supervisor: runs an executor task per MBIM function and turns
//! what the executors report into network devices and data paths.
//!
//! An executor reports *connected* with its IP configuration: the supervisor
//! sets the function's NTB format and input size (allowed only while the data
//! interface is at alternate setting 0), selects alternate setting 1, creates
//! and configures the TUN device, and starts the pump between the bulk pipes
//! and the device. *IP updated* is applied as a difference (a DNS-only update
//! keeps the addresses); *link down*, *gone* and shutdown stop the pump,
//! return the data interface to alternate setting 0 and tear the device down,
//! so nothing of a session outlives it.
//!
//! Without the privileges to create a TUN device (not root, no
//! CAP_NET_ADMIN) the control plane still runs and the supervisor says what it
//! skipped.

use crate::config::{Config, DeviceIdentity};
use crate::datapath::{self, PumpConfig, PumpHandle};
use crate::executor::{
    self, Connection, ExecutorCommand, ExecutorConfig, ExecutorEvent, ExecutorReport,
    ExecutorStatus, Secret,
};
use crate::netdev::{InterfaceName, Netdev, NetdevOptions};
use crate::types::{link_mtu, IpSettings};
use mbim_protocol::ntb::{NtbFormat, NtbParameters};
use mbim_protocol::usb::{ClassRequest, NtbInputSize};
use mbim_transport::FunctionTransport;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch, Mutex};

/// How long shutdown waits for the executors to disconnect and CLOSE.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// One MBIM function of the modem, as the supervisor needs it.
#[derive(Debug)]
pub struct FunctionSpec<T> {
    /// How to reach it.
    pub transport: Arc<T>,
    /// Its wMaxControlMessage.
    pub max_control_message: u16,
    /// Its wMaxSegmentSize (caps the link MTU).
    pub max_segment_size: u16,
}

/// The modem being supervised.
#[derive(Debug, Clone)]
pub struct ModemSpec {
    /// mbimd's number for it (interface names).
    pub index: u32,
    /// idVendor.
    pub vid: u16,
    /// idProduct.
    pub pid: u16,
    /// USB port path.
    pub usb_path: String,
    /// iSerialNumber.
    pub serial: Option<String>,
}

/// The live part of one connected session.
struct Link {
    netdev: Netdev,
    pump: Option<PumpHandle>,
}

struct ExecutorSlot<T> {
    spec: FunctionSpec<T>,
    commands: mpsc::Sender<ExecutorCommand>,
    status: watch::Receiver<ExecutorStatus>,
    link: Option<Link>,
    running: bool,
}

/// Supervises one modem until `shutdown` resolves (then disconnects and
/// cleans up) or every executor is gone.
pub async fn supervise<T>(
    modem: ModemSpec,
    functions: Vec<FunctionSpec<T>>,
    config: Arc<Config>,
    shutdown: impl std::future::Future<Output = ()>,
) where
    T: FunctionTransport + 'static,
{
    let (events_tx, mut events) = mpsc::channel::<ExecutorReport>(64);
    let device_lock = Arc::new(Mutex::new(()));
    let mut slots: Vec<ExecutorSlot<T>> = Vec::new();
    for (index, spec) in functions.into_iter().enumerate() {
        let (commands_tx, commands_rx) = mpsc::channel(16);
        let (status_tx, status_rx) = watch::channel(ExecutorStatus::default());
        let executor_config = ExecutorConfig {
            index,
            profiles: config.profiles.clone(),
            pins: configured_pins(&config),
            show_personal_info: config.logging.show_personal_info,
            max_control_message: spec.max_control_message,
            ..ExecutorConfig::default()
        };
        tokio::spawn(executor::run_executor(
            Arc::clone(&spec.transport),
            executor_config,
            events_tx.clone(),
            commands_rx,
            status_tx,
            Arc::clone(&device_lock),
        ));
        slots.push(ExecutorSlot {
            spec,
            commands: commands_tx,
            status: status_rx,
            link: None,
            running: true,
        });
    }
    drop(events_tx);

    tokio::pin!(shutdown);
    let mut shutting_down = false;
    let mut grace = Box::pin(tokio::time::sleep(Duration::MAX / 4));
    loop {
        tokio::select! {
            report = events.recv() => {
                let Some(report) = report else { break };
                handle_report(&modem, &config, &mut slots, report).await;
                if slots.iter().all(|slot| !slot.running) {
                    break;
                }
            }
            () = &mut shutdown, if !shutting_down => {
                tracing::info!(modem = modem.index, "shutting down: disconnecting");
                shutting_down = true;
                grace.as_mut().reset(tokio::time::Instant::now() + SHUTDOWN_GRACE);
                for slot in &slots {
                    let _ = slot.commands.send(ExecutorCommand::Shutdown).await;
                }
            }
            () = &mut grace, if shutting_down => {
                tracing::warn!(modem = modem.index, "executors did not stop in time");
                break;
            }
        }
    }
    for (index, slot) in slots.iter_mut().enumerate() {
        take_link_down(&modem, index, slot).await;
    }
}

async fn handle_report<T: FunctionTransport>(
    modem: &ModemSpec,
    config: &Config,
    slots: &mut [ExecutorSlot<T>],
    report: ExecutorReport,
) {
    let index = report.executor;
    let Some(slot) = slots.get_mut(index) else {
        return;
    };
    match report.event {
        ExecutorEvent::Connected(connection) => {
            take_link_down(modem, index, slot).await;
            bring_link_up(modem, config, index, slot, connection).await;
        }
        ExecutorEvent::IpUpdated(ip) => {
            if let Some(link) = slot.link.as_mut() {
                let mtu = mtu_for(&ip, slot.spec.max_segment_size);
                if let Err(error) = link.netdev.update(&ip, mtu).await {
                    tracing::warn!(modem = modem.index, executor = index, "IP update: {error}");
                }
            }
        }
        ExecutorEvent::LinkDown { .. } => take_link_down(modem, index, slot).await,
        ExecutorEvent::Gone | ExecutorEvent::Stopped => {
            take_link_down(modem, index, slot).await;
            slot.running = false;
        }
        // The slot policy and D-Bus take these (being wired in).
        ExecutorEvent::SlotInfo { .. }
        | ExecutorEvent::SlotMapping { .. }
        | ExecutorEvent::Notification
        | ExecutorEvent::Done { .. } => {}
    }
}

/// The configuration's PINs by ICCID, as the executors take them.
fn configured_pins(config: &Config) -> Vec<(String, Secret)> {
    config
        .sims
        .iter()
        .filter_map(|sim| {
            let pin = sim.pin.as_ref()?;
            Some((sim.iccid.as_str().to_owned(), pin.secret().clone()))
        })
        .collect()
}

fn mtu_for(ip: &IpSettings, max_segment_size: u16) -> u16 {
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
    let identity = DeviceIdentity {
        vid: modem.vid,
        pid: modem.pid,
        usb_path: &modem.usb_path,
        serial: modem.serial.as_deref(),
    };
    let executor = u32::try_from(executor).ok()?;
    config
        .interfaces
        .fixed_name(&identity, executor)
        .cloned()
        .or_else(|| config.interfaces.scheme.expand(modem.index, executor))
}

async fn bring_link_up<T: FunctionTransport>(
    modem: &ModemSpec,
    config: &Config,
    index: usize,
    slot: &mut ExecutorSlot<T>,
    connection: Connection,
) {
    let Some(name) = interface_name(config, modem, index) else {
        tracing::error!(
            modem = modem.index,
            executor = index,
            "no valid interface name"
        );
        return;
    };
    let mtu = mtu_for(&connection.ip, slot.spec.max_segment_size);
    let iccid = slot.status.borrow().iccid.clone();
    let options = NetdevOptions {
        default_route_metric: config.routes.default_route.then(|| {
            connection
                .route_metric
                .unwrap_or(config.routes.metric.get())
        }),
        dns: config.dns.backend.clone(),
        interface_id: interface_id(&iccid, modem, index),
        ..NetdevOptions::default()
    };
    let mut netdev = match Netdev::create(name.clone(), options).await {
        Ok(netdev) => netdev,
        Err(error) => {
            tracing::warn!(
                modem = modem.index,
                executor = index,
                "connected (profile {}), but cannot create network device {}: {error}. Without \
                 root or CAP_NET_ADMIN, mbimd skips the TUN device, addresses, routes and DNS",
                connection.profile,
                name.as_str()
            );
            return;
        }
    };
    if let Err(error) = netdev.apply(&connection.ip, mtu).await {
        tracing::warn!(
            modem = modem.index,
            executor = index,
            "configuring {}: {error}",
            name.as_str()
        );
    }
    let pump = match start_data_path(&slot.spec.transport, &netdev, &connection).await {
        Ok(pump) => Some(pump),
        Err(error) => {
            tracing::warn!(modem = modem.index, executor = index, "data path: {error}");
            None
        }
    };
    tracing::info!(
        modem = modem.index,
        executor = index,
        "{} is up (MTU {mtu}, profile {})",
        name.as_str(),
        connection.profile
    );
    slot.link = Some(Link { netdev, pump });
}

async fn start_data_path<T: FunctionTransport>(
    transport: &Arc<T>,
    netdev: &Netdev,
    connection: &Connection,
) -> anyhow::Result<PumpHandle> {
    // The executor reads the NTB parameters when it starts; if that failed,
    // ask the function again rather than guess limits it may not accept.
    let parameters = match connection.ntb {
        Some(parameters) => parameters,
        None => {
            let bytes = transport
                .control_in(ClassRequest::GetNtbParameters, 0, 28)
                .await?;
            NtbParameters::parse(&bytes)?
        }
    };
    // NTB16 is what every function supports; format and input size may only
    // change while the data interface is at alternate setting 0 (NCM 1.0 §6.2).
    transport.set_data_alt_setting(0).await?;
    transport
        .control_out(ClassRequest::SetNtbFormat, 0, Vec::new())
        .await?;
    let input = NtbInputSize {
        max_size: parameters.in_max_size,
        max_datagrams: None,
    };
    transport
        .control_out(ClassRequest::SetNtbInputSize, 0, input.emit())
        .await?;
    transport.set_data_alt_setting(1).await?;
    let (bulk_in, bulk_out) = transport.take_data_pipes()?;
    let session = u8::try_from(connection.session_id)?;
    let pump = datapath::Pump::new(
        bulk_in,
        bulk_out,
        PumpConfig::new(session, NtbFormat::Ntb16, parameters),
    )?;
    Ok(datapath::spawn(pump, netdev.device()))
}

async fn take_link_down<T: FunctionTransport>(
    modem: &ModemSpec,
    index: usize,
    slot: &mut ExecutorSlot<T>,
) {
    let Some(mut link) = slot.link.take() else {
        return;
    };
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
    // device already gone cannot answer, which is fine.
    let _ = slot.spec.transport.set_data_alt_setting(0).await;
    let name = link.netdev.name().as_str().to_owned();
    match link.netdev.teardown().await {
        Ok(()) => tracing::info!(modem = modem.index, executor = index, "{name} removed"),
        Err(error) => tracing::warn!(
            modem = modem.index,
            executor = index,
            "removing {name}: {error}"
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
