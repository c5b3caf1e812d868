//! What each object shows, computed from a [`ModemSnapshot`]: the property
//! getters read these views, and the per-modem task compares the views of
//! two snapshots to emit exactly the properties that changed. One
//! computation for both is what keeps a signal and a `Get` from disagreeing.

use super::names;
use crate::modem::{ExecutorSnapshot, ModemSnapshot, SlotSnapshot};
use mbim_protocol::services::basic_connect::RadioSwitchState;
use std::collections::HashMap;
use zbus::zvariant::{ObjectPath, OwnedObjectPath, Value};

/// An object path built from mbimd's own (valid) components.
pub(crate) fn object_path(path: String) -> OwnedObjectPath {
    OwnedObjectPath::from(ObjectPath::from_string_unchecked(path))
}

/// The root path `/`: "no object" for `o` properties.
pub(crate) fn no_object() -> OwnedObjectPath {
    object_path("/".to_owned())
}

fn count(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

/// A property list: name and value, in introspection order.
pub(crate) type Entries = Vec<(&'static str, Value<'static>)>;

/// The properties of `new` that differ from `old` (both from the same view
/// kind, so the same names in the same order).
pub(crate) fn changed(old: &Entries, new: &Entries) -> HashMap<&'static str, Value<'static>> {
    new.iter()
        .filter(|(name, value)| {
            old.iter()
                .find(|(old_name, _)| old_name == name)
                .is_none_or(|(_, old_value)| old_value != value)
        })
        .filter_map(|(name, value)| Some((*name, value.try_clone().ok()?)))
        .collect()
}

/// dev.mbimd.Modem1.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ModemView {
    pub(crate) modem_id: String,
    pub(crate) vid: u16,
    pub(crate) pid: u16,
    pub(crate) serial: String,
    pub(crate) usb_path: String,
    pub(crate) manufacturer: String,
    pub(crate) model: String,
    pub(crate) firmware: String,
    pub(crate) number_of_executors: u32,
    pub(crate) number_of_slots: u32,
    pub(crate) concurrency: u32,
    pub(crate) executors: Vec<OwnedObjectPath>,
    pub(crate) slots: Vec<OwnedObjectPath>,
    pub(crate) slot_mapping: Vec<u32>,
    pub(crate) slot_policy_active: bool,
    pub(crate) on_removal: String,
    pub(crate) auto_switch: bool,
}

impl ModemView {
    /// The view of `snapshot`.
    pub(crate) fn new(snapshot: &ModemSnapshot, index: u32) -> Self {
        ModemView {
            modem_id: snapshot.modem_id.clone(),
            vid: snapshot.vid,
            pid: snapshot.pid,
            serial: snapshot.serial.clone(),
            usb_path: snapshot.usb_path.clone(),
            manufacturer: snapshot.manufacturer.clone(),
            model: snapshot.model.clone(),
            firmware: snapshot.firmware.clone(),
            number_of_executors: count(snapshot.executors.len()),
            number_of_slots: count(snapshot.slots.len()),
            concurrency: snapshot.concurrency,
            executors: (0..count(snapshot.executors.len()))
                .map(|executor| object_path(super::executor_path(index, executor)))
                .collect(),
            slots: (0..count(snapshot.slots.len()))
                .map(|slot| object_path(super::slot_path(index, slot)))
                .collect(),
            slot_mapping: snapshot.mapping.clone(),
            slot_policy_active: snapshot.policy_active,
            on_removal: names::on_removal(snapshot.policy.on_removal).to_owned(),
            auto_switch: snapshot.policy.auto_switch,
        }
    }

    /// Every property.
    pub(crate) fn entries(&self) -> Entries {
        vec![
            ("ModemId", Value::from(self.modem_id.clone())),
            ("UsbVendorId", Value::from(self.vid)),
            ("UsbProductId", Value::from(self.pid)),
            ("UsbSerial", Value::from(self.serial.clone())),
            ("UsbPath", Value::from(self.usb_path.clone())),
            ("Manufacturer", Value::from(self.manufacturer.clone())),
            ("Model", Value::from(self.model.clone())),
            ("Firmware", Value::from(self.firmware.clone())),
            ("NumberOfExecutors", Value::from(self.number_of_executors)),
            ("NumberOfSlots", Value::from(self.number_of_slots)),
            ("Concurrency", Value::from(self.concurrency)),
            ("Executors", Value::from(self.executors.clone())),
            ("Slots", Value::from(self.slots.clone())),
            ("SlotMapping", Value::from(self.slot_mapping.clone())),
            ("SlotPolicyActive", Value::from(self.slot_policy_active)),
            ("OnRemoval", Value::from(self.on_removal.clone())),
            ("AutoSwitch", Value::from(self.auto_switch)),
        ]
    }
}

/// `Signal`: per radio technology its nickname, RSRP in dBm and SNR in dB
/// (NaN when unknown). Compared bit for bit, so that an unknown value
/// equals itself and does not signal a change on every snapshot.
#[derive(Debug, Clone, Default)]
pub(crate) struct SignalList(pub(crate) Vec<(String, f64, f64)>);

impl SignalList {
    fn of(measured: &[mbim_protocol::services::basic_connect::RsrpSnrInfo]) -> Self {
        SignalList(
            measured
                .iter()
                .map(|info| {
                    (
                        info.system_type.names().join(","),
                        info.rsrp_dbm().map_or(f64::NAN, f64::from),
                        info.snr_db().unwrap_or(f64::NAN),
                    )
                })
                .collect(),
        )
    }
}

impl PartialEq for SignalList {
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len()
            && self.0.iter().zip(&other.0).all(|(a, b)| {
                a.0 == b.0 && a.1.to_bits() == b.1.to_bits() && a.2.to_bits() == b.2.to_bits()
            })
    }
}

fn names_of(names: Vec<&'static str>) -> Vec<String> {
    names.into_iter().map(str::to_owned).collect()
}

fn pco_dns(pco: &mbim_protocol::pco::SessionOptions) -> Vec<String> {
    let v4 = pco.dns_ipv4.iter().map(ToString::to_string);
    v4.chain(pco.dns_ipv6.iter().map(ToString::to_string))
        .collect()
}

fn pcscf(pco: &mbim_protocol::pco::SessionOptions) -> Vec<String> {
    let v4 = pco.pcscf_ipv4.iter().map(ToString::to_string);
    v4.chain(pco.pcscf_ipv6.iter().map(ToString::to_string))
        .collect()
}

/// One entry of `Sessions`: a PDN session's id, name (the profile's for
/// session 0), context type, APN, state, why it waits (empty otherwise),
/// network device (empty without) and addresses (`a.b.c.d/n`).
pub(crate) type SessionEntry = (
    u32,
    String,
    String,
    String,
    String,
    String,
    String,
    Vec<String>,
);

/// One entry of `SessionTraffic`: a session's id and the bytes and IP
/// packets it received and sent (rx bytes, rx packets, tx bytes, tx
/// packets).
pub(crate) type TrafficEntry = (u32, u64, u64, u64, u64);

/// `SessionTraffic`: session 0's share of the counters while its link is
/// up, then each further session that had a device.
fn traffic_of(executor: &ExecutorSnapshot) -> Vec<TrafficEntry> {
    if executor.netdev.is_none() {
        return Vec::new();
    }
    let further = executor
        .session_traffic
        .iter()
        .map(|traffic| u32::from(traffic.session));
    std::iter::once(0)
        .chain(further)
        .filter_map(|id| executor.traffic_of(id))
        .map(|t| {
            (
                u32::from(t.session),
                t.rx_bytes,
                t.rx_packets,
                t.tx_bytes,
                t.tx_packets,
            )
        })
        .collect()
}

/// `Sessions`: session 0 (once a profile was tried) and the further
/// sessions of its profile.
fn sessions_of(executor: &ExecutorSnapshot) -> Vec<SessionEntry> {
    use crate::executor::ExecutorState;
    let status = &executor.status;
    let addresses = |ip: Option<&crate::types::IpSettings>| -> Vec<String> {
        ip.iter()
            .flat_map(|ip| {
                let v4 = ip
                    .ipv4_addresses
                    .iter()
                    .map(|a| format!("{}/{}", a.address, a.prefix));
                let v6 = ip
                    .ipv6_addresses
                    .iter()
                    .map(|a| format!("{}/{}", a.address, a.prefix));
                v4.chain(v6).collect::<Vec<_>>()
            })
            .collect()
    };
    let mut entries = Vec::new();
    if let Some(profile) = &status.profile {
        let state = match status.state {
            ExecutorState::Connected => "connected",
            ExecutorState::Connecting => "connecting",
            ExecutorState::WaitingToReconnect => "waiting-to-reconnect",
            ExecutorState::Disconnecting => "disconnecting",
            _ => "disconnected",
        };
        let reason = if status.state == ExecutorState::Connected {
            String::new()
        } else {
            status.reason.clone().unwrap_or_default()
        };
        entries.push((
            0,
            profile.clone(),
            "internet".to_owned(),
            status.apn.clone().unwrap_or_default(),
            state.to_owned(),
            reason,
            executor.netdev.clone().unwrap_or_default(),
            addresses(status.ip.as_ref()),
        ));
    }
    for session in &status.sessions {
        let netdev = executor
            .session_netdevs
            .iter()
            .find(|(id, _)| *id == session.session_id)
            .map(|(_, name)| name.clone())
            .unwrap_or_default();
        // A connected session's device may be partly configured: the
        // reason says which parts are not (session 0's are in NetdevParts).
        let not_applied = executor
            .session_not_applied
            .iter()
            .find(|(id, _)| *id == session.session_id)
            .map(|(_, text)| format!("partly configured: {text}"));
        let reason = match session.state {
            crate::executor::SessionState::Connected => not_applied.unwrap_or_default(),
            _ => session.reason.clone().unwrap_or_default(),
        };
        entries.push((
            session.session_id,
            session.name.clone(),
            session.kind.as_str().to_owned(),
            session.apn.clone(),
            session.state.as_str().to_owned(),
            reason,
            netdev,
            addresses(session.ip.as_ref()),
        ));
    }
    entries
}

/// dev.mbimd.Executor1, without the personal properties (see
/// [`ExecutorView::iccid`]).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ExecutorView {
    pub(crate) index: u32,
    pub(crate) state: String,
    pub(crate) state_reason: String,
    pub(crate) ready_state: String,
    pub(crate) radio_on: bool,
    pub(crate) pin_type: String,
    pub(crate) pin_state: String,
    pub(crate) pin_retries_left: i32,
    pub(crate) registration_state: String,
    pub(crate) provider_id: String,
    pub(crate) provider_name: String,
    pub(crate) roaming: bool,
    pub(crate) packet_service: String,
    pub(crate) rssi: u32,
    pub(crate) error_rate: u32,
    pub(crate) mbimex_version: String,
    pub(crate) data_class: Vec<String>,
    pub(crate) data_subclass: Vec<String>,
    pub(crate) signal: SignalList,
    pub(crate) network_error: String,
    pub(crate) pco_dns: Vec<String>,
    pub(crate) pcscf: Vec<String>,
    pub(crate) slot: i32,
    pub(crate) profile: String,
    pub(crate) apn: String,
    pub(crate) apn_source: String,
    pub(crate) attach_apn: String,
    pub(crate) attach_apn_reason: String,
    pub(crate) sessions: Vec<SessionEntry>,
    pub(crate) netdev: String,
    pub(crate) transport: String,
    pub(crate) fcc_lock: String,
    pub(crate) netdev_state: String,
    pub(crate) netdev_parts: Vec<(String, String, String)>,
    pub(crate) ipv4_addresses: Vec<String>,
    pub(crate) ipv4_gateway: String,
    pub(crate) ipv6_addresses: Vec<String>,
    pub(crate) ipv6_gateway: String,
    pub(crate) dns: Vec<String>,
    pub(crate) mtu: u32,
    pub(crate) rx_packets: u64,
    pub(crate) rx_bytes: u64,
    pub(crate) tx_packets: u64,
    pub(crate) tx_bytes: u64,
    pub(crate) session_traffic: Vec<TrafficEntry>,
    /// Personal: never in [`Self::entries`], sent as invalidated.
    pub(crate) iccid: String,
    /// Personal: never in [`Self::entries`], sent as invalidated.
    pub(crate) imsi: String,
}

impl ExecutorView {
    /// The view of executor `index` in `snapshot` (an executor the snapshot
    /// no longer has shows as gone until its object is removed).
    pub(crate) fn new(snapshot: &ModemSnapshot, index: u32) -> Self {
        let fallback;
        let executor = match usize::try_from(index)
            .ok()
            .and_then(|i| snapshot.executors.get(i))
        {
            Some(executor) => executor,
            None => {
                fallback = ExecutorSnapshot {
                    status: crate::executor::ExecutorStatus {
                        state: crate::executor::ExecutorState::Gone,
                        ..Default::default()
                    },
                    ..Default::default()
                };
                &fallback
            }
        };
        Self::of(executor, index)
    }

    fn of(executor: &ExecutorSnapshot, index: u32) -> Self {
        let status = &executor.status;
        let ip = status.ip.clone().unwrap_or_default();
        let radio_on = status.radio_software == Some(RadioSwitchState::On)
            && status.radio_hardware != Some(RadioSwitchState::Off);
        let mtu = if ip.ipv4_mtu != 0 {
            ip.ipv4_mtu
        } else {
            ip.ipv6_mtu
        };
        ExecutorView {
            index,
            state: names::executor_state(status.state).to_owned(),
            state_reason: status.reason.clone().unwrap_or_default(),
            ready_state: names::ready_state(status.ready_state),
            radio_on,
            pin_type: names::pin_type(status.pin.pin_type),
            pin_state: names::pin_state(status.pin.state),
            pin_retries_left: status
                .pin
                .remaining_attempts
                .and_then(|left| i32::try_from(left).ok())
                .unwrap_or(-1),
            registration_state: names::register_state(status.register_state),
            provider_id: status.provider_id.clone(),
            provider_name: status.provider_name.clone(),
            roaming: status.roaming,
            packet_service: names::packet_service(status.packet_service),
            rssi: status.rssi.unwrap_or(99),
            error_rate: status.error_rate.unwrap_or(99),
            mbimex_version: status.mbimex.to_string(),
            data_class: names_of(status.radio.data_class.names()),
            data_subclass: names_of(status.radio.data_subclass.names()),
            signal: SignalList::of(&status.radio.signal),
            network_error: status
                .network_error
                .map(|error| error.to_string())
                .unwrap_or_default(),
            pco_dns: status.pco.iter().flat_map(pco_dns).collect(),
            pcscf: status.pco.iter().flat_map(pcscf).collect(),
            slot: status
                .slot
                .and_then(|slot| i32::try_from(slot).ok())
                .unwrap_or(-1),
            profile: status.profile.clone().unwrap_or_default(),
            apn: status.apn.clone().unwrap_or_default(),
            apn_source: status
                .apn_source
                .map_or("", |source| source.as_str())
                .to_owned(),
            attach_apn: status
                .attach_apn
                .as_ref()
                .map(|(apn, _)| apn.clone())
                .unwrap_or_default(),
            attach_apn_reason: status
                .attach_apn
                .as_ref()
                .map(|(_, why)| why.clone())
                .unwrap_or_default(),
            sessions: sessions_of(executor),
            netdev: executor.netdev.clone().unwrap_or_default(),
            transport: executor.transport.clone(),
            fcc_lock: status.fcc_lock.clone(),
            netdev_state: names::netdev_state(executor.configuration.as_ref()).to_owned(),
            netdev_parts: executor
                .configuration
                .iter()
                .flat_map(|report| &report.parts)
                .map(names::netdev_part)
                .collect(),
            ipv4_addresses: ip
                .ipv4_addresses
                .iter()
                .map(|a| format!("{}/{}", a.address, a.prefix))
                .collect(),
            ipv4_gateway: ip.ipv4_gateway.map(|g| g.to_string()).unwrap_or_default(),
            ipv6_addresses: ip
                .ipv6_addresses
                .iter()
                .map(|a| format!("{}/{}", a.address, a.prefix))
                .collect(),
            ipv6_gateway: ip.ipv6_gateway.map(|g| g.to_string()).unwrap_or_default(),
            dns: ip
                .ipv4_dns
                .iter()
                .map(ToString::to_string)
                .chain(ip.ipv6_dns.iter().map(ToString::to_string))
                .collect(),
            mtu,
            rx_packets: executor.counters.rx_packets,
            rx_bytes: executor.counters.rx_bytes,
            tx_packets: executor.counters.tx_packets,
            tx_bytes: executor.counters.tx_bytes,
            session_traffic: traffic_of(executor),
            iccid: status.iccid.clone(),
            imsi: status.imsi.clone(),
        }
    }

    /// Every property except `Iccid` and `Imsi`.
    pub(crate) fn entries(&self) -> Entries {
        vec![
            ("Index", Value::from(self.index)),
            ("State", Value::from(self.state.clone())),
            ("StateReason", Value::from(self.state_reason.clone())),
            ("ReadyState", Value::from(self.ready_state.clone())),
            ("RadioOn", Value::from(self.radio_on)),
            ("PinType", Value::from(self.pin_type.clone())),
            ("PinState", Value::from(self.pin_state.clone())),
            ("PinRetriesLeft", Value::from(self.pin_retries_left)),
            (
                "RegistrationState",
                Value::from(self.registration_state.clone()),
            ),
            ("ProviderId", Value::from(self.provider_id.clone())),
            ("ProviderName", Value::from(self.provider_name.clone())),
            ("Roaming", Value::from(self.roaming)),
            ("PacketService", Value::from(self.packet_service.clone())),
            ("Rssi", Value::from(self.rssi)),
            ("ErrorRate", Value::from(self.error_rate)),
            ("MbimexVersion", Value::from(self.mbimex_version.clone())),
            ("DataClass", Value::from(self.data_class.clone())),
            ("DataSubclass", Value::from(self.data_subclass.clone())),
            ("Signal", Value::from(self.signal.0.clone())),
            ("NetworkError", Value::from(self.network_error.clone())),
            ("PcoDns", Value::from(self.pco_dns.clone())),
            ("Pcscf", Value::from(self.pcscf.clone())),
            ("Slot", Value::from(self.slot)),
            ("Profile", Value::from(self.profile.clone())),
            ("Apn", Value::from(self.apn.clone())),
            ("ApnSource", Value::from(self.apn_source.clone())),
            ("AttachApn", Value::from(self.attach_apn.clone())),
            (
                "AttachApnReason",
                Value::from(self.attach_apn_reason.clone()),
            ),
            ("Sessions", Value::from(self.sessions.clone())),
            ("Netdev", Value::from(self.netdev.clone())),
            ("Transport", Value::from(self.transport.clone())),
            ("FccLock", Value::from(self.fcc_lock.clone())),
            ("NetdevState", Value::from(self.netdev_state.clone())),
            ("NetdevParts", Value::from(self.netdev_parts.clone())),
            ("Ipv4Addresses", Value::from(self.ipv4_addresses.clone())),
            ("Ipv4Gateway", Value::from(self.ipv4_gateway.clone())),
            ("Ipv6Addresses", Value::from(self.ipv6_addresses.clone())),
            ("Ipv6Gateway", Value::from(self.ipv6_gateway.clone())),
            ("Dns", Value::from(self.dns.clone())),
            ("Mtu", Value::from(self.mtu)),
            ("RxPackets", Value::from(self.rx_packets)),
            ("RxBytes", Value::from(self.rx_bytes)),
            ("TxPackets", Value::from(self.tx_packets)),
            ("TxBytes", Value::from(self.tx_bytes)),
            ("SessionTraffic", Value::from(self.session_traffic.clone())),
        ]
    }

    /// The personal properties that differ from `old`'s.
    pub(crate) fn invalidated(&self, old: &ExecutorView) -> Vec<&'static str> {
        let mut names = Vec::new();
        if self.iccid != old.iccid {
            names.push("Iccid");
        }
        if self.imsi != old.imsi {
            names.push("Imsi");
        }
        names
    }
}

/// dev.mbimd.Slot1, without the personal `Iccid`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SlotView {
    pub(crate) index: u32,
    pub(crate) kind: String,
    pub(crate) state: String,
    pub(crate) executor: OwnedObjectPath,
    /// Personal: never in [`Self::entries`], sent as invalidated.
    pub(crate) iccid: String,
}

impl SlotView {
    /// The view of slot `index` of modem `modem` in `snapshot`.
    pub(crate) fn new(snapshot: &ModemSnapshot, modem: u32, index: u32) -> Self {
        let slot: Option<&SlotSnapshot> = usize::try_from(index)
            .ok()
            .and_then(|i| snapshot.slots.get(i));
        match slot {
            Some(slot) => SlotView {
                index,
                kind: names::slot_kind(slot.kind).to_owned(),
                state: names::slot_state(slot.state),
                executor: slot.executor.map_or_else(no_object, |executor| {
                    object_path(super::executor_path(modem, executor))
                }),
                iccid: slot.iccid.clone(),
            },
            None => SlotView {
                index,
                kind: names::slot_kind(if index == 0 {
                    crate::policy::SlotKind::Physical
                } else {
                    crate::policy::SlotKind::Embedded
                })
                .to_owned(),
                state: names::slot_state(None),
                executor: no_object(),
                iccid: String::new(),
            },
        }
    }

    /// Every property except `Iccid`.
    pub(crate) fn entries(&self) -> Entries {
        vec![
            ("Index", Value::from(self.index)),
            ("Kind", Value::from(self.kind.clone())),
            ("State", Value::from(self.state.clone())),
            ("Executor", Value::from(self.executor.clone())),
        ]
    }

    /// `["Iccid"]` if it differs from `old`'s.
    pub(crate) fn invalidated(&self, old: &SlotView) -> Vec<&'static str> {
        if self.iccid == old.iccid {
            Vec::new()
        } else {
            vec!["Iccid"]
        }
    }
}
