//! What mbimd's state means in ModemManager's terms: pure functions from
//! an executor's status (and a slot's) to ModemManager's enumerations,
//! tested on tables. The interfaces' properties are built from these, so a
//! question such as "when is a modem LOCKED" has one answer.

use super::enums::{
    access_technology, esim_status, facility, ip_method, mode, removability, sim_type,
    FailedReason, Lock, ModemState, PacketServiceState, PowerState, RegistrationState,
};
use crate::executor::{ExecutorState, ExecutorStatus};
use crate::policy::SlotKind;
use crate::types::IpSettings;
use mbim_protocol::services::basic_connect::{
    DataClass, PacketServiceState as MbimPacketService, PinState, PinType, ProviderState,
    RadioSwitchState, RegisterState, SubscriberReadyState,
};
use mbim_protocol::services::ms_basic_connect_extensions::UiccSlotState;
use zbus::zvariant::Value;

/// The modem's state.
pub(crate) fn modem_state(status: &ExecutorStatus) -> ModemState {
    match status.state {
        ExecutorState::Opening | ExecutorState::Initializing | ExecutorState::Resetting => {
            ModemState::Initializing
        }
        // Closed while the host sleeps: ModemManager disables its modems
        // for the sleep too.
        ExecutorState::RadioOff | ExecutorState::Suspended => ModemState::Disabled,
        ExecutorState::WaitingForSim => match status.ready_state {
            None
            | Some(SubscriberReadyState::NotInitialized | SubscriberReadyState::Initialized) => {
                ModemState::Initializing
            }
            Some(SubscriberReadyState::DeviceLocked) => ModemState::Locked,
            Some(_) => ModemState::Failed,
        },
        ExecutorState::Locked => ModemState::Locked,
        ExecutorState::Registering => match status.register_state {
            Some(RegisterState::Searching) => ModemState::Searching,
            _ => ModemState::Enabled,
        },
        ExecutorState::Attaching | ExecutorState::Idle | ExecutorState::WaitingToReconnect => {
            ModemState::Registered
        }
        ExecutorState::Connecting => ModemState::Connecting,
        ExecutorState::Connected => ModemState::Connected,
        ExecutorState::Disconnecting => ModemState::Disconnecting,
        // Stuck (no profile for the SIM, OPEN refused): a registered modem
        // still takes a Connect with an APN.
        ExecutorState::Failed if registered(status.register_state) => ModemState::Registered,
        ExecutorState::Failed => ModemState::Failed,
        ExecutorState::Gone | ExecutorState::Stopped => ModemState::Unknown,
    }
}

fn registered(state: Option<RegisterState>) -> bool {
    matches!(
        state,
        Some(RegisterState::Home | RegisterState::Roaming | RegisterState::Partner)
    )
}

/// Why the modem is FAILED (NONE when it is not).
pub(crate) fn failed_reason(status: &ExecutorStatus) -> FailedReason {
    if modem_state(status) != ModemState::Failed {
        return FailedReason::None;
    }
    match status.ready_state {
        Some(SubscriberReadyState::SimNotInserted) => FailedReason::SimMissing,
        Some(SubscriberReadyState::NoEsimProfile) => FailedReason::EsimWithoutProfiles,
        Some(
            SubscriberReadyState::BadSim
            | SubscriberReadyState::Failure
            | SubscriberReadyState::NotActivated,
        ) => FailedReason::SimError,
        _ => FailedReason::Unknown,
    }
}

/// The power state: ON with the radio on, LOW with it off (by request or
/// by its hardware switch).
pub(crate) fn power_state(status: &ExecutorStatus) -> PowerState {
    match (status.radio_software, status.radio_hardware) {
        (_, Some(RadioSwitchState::Off)) | (Some(RadioSwitchState::Off), _) => PowerState::Low,
        (Some(RadioSwitchState::On), _) => PowerState::On,
        _ => PowerState::Unknown,
    }
}

/// The lock of a PIN (or PUK) type.
fn lock_of(pin_type: Option<PinType>) -> Lock {
    match pin_type {
        Some(PinType::Pin1) => Lock::SimPin,
        Some(PinType::Pin2) => Lock::SimPin2,
        Some(PinType::Puk1) => Lock::SimPuk,
        Some(PinType::Puk2) => Lock::SimPuk2,
        Some(PinType::DeviceSimPin) => Lock::PhSimPin,
        Some(PinType::DeviceFirstSimPin) => Lock::PhFsimPin,
        Some(PinType::DeviceFirstSimPuk) => Lock::PhFsimPuk,
        Some(PinType::NetworkPin) => Lock::PhNetPin,
        Some(PinType::NetworkPuk) => Lock::PhNetPuk,
        Some(PinType::NetworkSubsetPin) => Lock::PhNetsubPin,
        Some(PinType::NetworkSubsetPuk) => Lock::PhNetsubPuk,
        Some(PinType::ServiceProviderPin) => Lock::PhSpPin,
        Some(PinType::ServiceProviderPuk) => Lock::PhSpPuk,
        Some(PinType::CorporatePin) => Lock::PhCorpPin,
        Some(PinType::CorporatePuk) => Lock::PhCorpPuk,
        _ => Lock::Unknown,
    }
}

/// What must be entered before the modem can be used (NONE: nothing,
/// UNKNOWN: not known yet).
pub(crate) fn unlock_required(status: &ExecutorStatus) -> Lock {
    match status.pin.state {
        Some(PinState::Locked) => lock_of(status.pin.pin_type),
        Some(PinState::Unlocked) => Lock::None,
        _ => match status.ready_state {
            Some(SubscriberReadyState::Initialized) => Lock::None,
            _ => Lock::Unknown,
        },
    }
}

/// The attempts left, by lock, as far as the device said: MBIM reports
/// those of the PIN or PUK it waits for.
pub(crate) fn unlock_retries(status: &ExecutorStatus) -> Vec<(u32, u32)> {
    let lock = lock_of(status.pin.pin_type);
    match (lock, status.pin.remaining_attempts) {
        (Lock::Unknown, _) | (_, None) => Vec::new(),
        (lock, Some(left)) => vec![(lock.value(), left)],
    }
}

/// The 3GPP facilities locked: the SIM's, while it asks for PIN1 or PUK1
/// (MBIM says nothing of an enabled PIN once it is entered).
pub(crate) fn facility_locks(status: &ExecutorStatus) -> u32 {
    match unlock_required(status) {
        Lock::SimPin | Lock::SimPuk => facility::SIM,
        _ => facility::NONE,
    }
}

/// The 3GPP registration state.
pub(crate) fn registration_state(state: Option<RegisterState>) -> RegistrationState {
    match state {
        Some(RegisterState::Deregistered) => RegistrationState::Idle,
        Some(RegisterState::Searching) => RegistrationState::Searching,
        Some(RegisterState::Home) => RegistrationState::Home,
        Some(RegisterState::Roaming | RegisterState::Partner) => RegistrationState::Roaming,
        Some(RegisterState::Denied) => RegistrationState::Denied,
        _ => RegistrationState::Unknown,
    }
}

/// The packet service state (ModemManager knows attached and detached
/// only: attaching is not attached yet, detaching still is).
pub(crate) fn packet_service(state: Option<MbimPacketService>) -> PacketServiceState {
    match state {
        Some(MbimPacketService::Attached | MbimPacketService::Detaching) => {
            PacketServiceState::Attached
        }
        Some(MbimPacketService::Detached | MbimPacketService::Attaching) => {
            PacketServiceState::Detached
        }
        _ => PacketServiceState::Unknown,
    }
}

/// SignalQuality: the RSSI code (0-31) as a percentage, and whether it is
/// known (99: not).
pub(crate) fn signal_quality(rssi: Option<u32>) -> (u32, bool) {
    match rssi {
        Some(code @ 0..=31) => (code * 100 / 31, true),
        _ => (0, false),
    }
}

/// The access technologies in use, as ModemManager reads them from an MBIM
/// modem: the best data class of the attached packet service, else the
/// classes the network offers while registered; unknown otherwise.
pub(crate) fn access_technologies(status: &ExecutorStatus) -> u32 {
    let registered = matches!(
        status.register_state,
        Some(RegisterState::Home | RegisterState::Roaming | RegisterState::Partner)
    );
    if !registered {
        return access_technology::UNKNOWN;
    }
    let attached = status.packet_service == Some(MbimPacketService::Attached);
    let best = if attached {
        technologies_of(status.data_class)
    } else {
        access_technology::UNKNOWN
    };
    if best != access_technology::UNKNOWN {
        return best;
    }
    technologies_of(status.available_data_classes)
}

/// The `MMModemMode` flags of MBIM_DATA_CLASS bits, as ModemManager's MBIM
/// plugin maps them (GPRS and EDGE 2G, UMTS and HSPA 3G, LTE 4G, 5G NSA and
/// SA 5G; 1xRTT 2G, the EV-DO family and 3xRTT 3G, UMB 4G).
pub(crate) fn modes_of(bits: u32) -> u32 {
    const TABLE: [(DataClass, u32); 15] = [
        (DataClass::GPRS, mode::MODE_2G),
        (DataClass::EDGE, mode::MODE_2G),
        (DataClass::UMTS, mode::MODE_3G),
        (DataClass::HSDPA, mode::MODE_3G),
        (DataClass::HSUPA, mode::MODE_3G),
        (DataClass::LTE, mode::MODE_4G),
        (DataClass::NR5G_NSA, mode::MODE_5G),
        (DataClass::NR5G_SA, mode::MODE_5G),
        (DataClass::CDMA_1XRTT, mode::MODE_2G),
        (DataClass::CDMA_1XEVDO, mode::MODE_3G),
        (DataClass::CDMA_1XEVDO_REVA, mode::MODE_3G),
        (DataClass::CDMA_1XEVDV, mode::MODE_3G),
        (DataClass::CDMA_3XRTT, mode::MODE_3G),
        (DataClass::CDMA_1XEVDO_REVB, mode::MODE_3G),
        (DataClass::UMB, mode::MODE_4G),
    ];
    TABLE
        .iter()
        .filter(|(class, _)| bits & class.bits() != 0)
        .fold(mode::NONE, |all, (_, flag)| all | flag)
}

/// The MBIM_DATA_CLASS bits of `MMModemMode` flags, as ModemManager's MBIM
/// plugin asks a 3GPP modem for them (2G GPRS and EDGE, 3G UMTS and HSPA,
/// 4G LTE, 5G NSA and SA).
pub(crate) fn data_classes_of(modes: u32) -> u32 {
    const TABLE: [(u32, u32); 4] = [
        (
            mode::MODE_2G,
            DataClass::GPRS.bits() | DataClass::EDGE.bits(),
        ),
        (
            mode::MODE_3G,
            DataClass::UMTS.bits() | DataClass::HSDPA.bits() | DataClass::HSUPA.bits(),
        ),
        (mode::MODE_4G, DataClass::LTE.bits()),
        (
            mode::MODE_5G,
            DataClass::NR5G_NSA.bits() | DataClass::NR5G_SA.bits(),
        ),
    ];
    TABLE
        .iter()
        .filter(|(flag, _)| modes & flag != 0)
        .fold(0, |all, (_, classes)| all | classes)
}

/// Whether the modem's mode can be chosen: REGISTER_STATE's preferred data
/// classes come with MBIMEx 2.0, so only there is a choice seen to hold
/// (ModemManager's MBIM plugin offers mode switching on the same terms).
pub(crate) fn modes_switchable(status: &ExecutorStatus) -> bool {
    status.mbimex >= mbim_protocol::mbimex::MbimExVersion::V2
        && status.preferred_data_classes.is_some()
}

/// The mode combinations a modem offers: all it supports first, and where
/// modes can be switched each smaller combination of them, in
/// ModemManager's MBIM plugin's order; none preferred.
pub(crate) fn supported_mode_combinations(status: &ExecutorStatus) -> Vec<(u32, u32)> {
    use mode::{MODE_2G as G2, MODE_3G as G3, MODE_4G as G4, MODE_5G as G5};
    let all = supported_modes(status);
    let mut combinations = vec![(all, mode::NONE)];
    if !modes_switchable(status) || all == mode::ANY {
        return combinations;
    }
    const ORDER: [u32; 15] = [
        G2,
        G3,
        G2 | G3,
        G4,
        G2 | G4,
        G3 | G4,
        G2 | G3 | G4,
        G5,
        G2 | G5,
        G3 | G5,
        G4 | G5,
        G2 | G3 | G5,
        G2 | G4 | G5,
        G3 | G4 | G5,
        G2 | G3 | G4 | G5,
    ];
    combinations.extend(
        ORDER
            .iter()
            .filter(|modes| **modes & !all == 0 && **modes != all)
            .map(|modes| (*modes, mode::NONE)),
    );
    combinations
}

/// The modes in force: those of the data classes the modem prefers where
/// it says (MBIMEx 2.0), else all it supports.
pub(crate) fn current_modes(status: &ExecutorStatus) -> u32 {
    let preferred = status
        .preferred_data_classes
        .filter(|_| modes_switchable(status))
        .map_or(mode::NONE, modes_of);
    match preferred {
        mode::NONE => supported_modes(status),
        modes => modes,
    }
}

/// The modes a modem supports: those of the data classes DEVICE_CAPS
/// lists; any (ModemManager's "whatever the modem does") while it has not
/// said.
pub(crate) fn supported_modes(status: &ExecutorStatus) -> u32 {
    match modes_of(status.device.data_classes) {
        mode::NONE => mode::ANY,
        modes => modes,
    }
}

/// MBIM_DATA_CLASS bits as `MMModemAccessTechnology` flags (5G
/// non-standalone is LTE with NR; classes ModemManager has no flag for,
/// such as 1xEV-DV, 3xRTT, UMB and custom ones, are left out).
fn technologies_of(bits: u32) -> u32 {
    const TABLE: [(DataClass, u32); 12] = [
        (DataClass::GPRS, access_technology::GPRS),
        (DataClass::EDGE, access_technology::EDGE),
        (DataClass::UMTS, access_technology::UMTS),
        (DataClass::HSDPA, access_technology::HSDPA),
        (DataClass::HSUPA, access_technology::HSUPA),
        (DataClass::LTE, access_technology::LTE),
        (
            DataClass::NR5G_NSA,
            access_technology::LTE | access_technology::NR5G,
        ),
        (DataClass::NR5G_SA, access_technology::NR5G),
        (DataClass::CDMA_1XRTT, access_technology::ONE_X_RTT),
        (DataClass::CDMA_1XEVDO, access_technology::EVDO0),
        (DataClass::CDMA_1XEVDO_REVA, access_technology::EVDOA),
        (DataClass::CDMA_1XEVDO_REVB, access_technology::EVDOB),
    ];
    TABLE
        .iter()
        .filter(|(class, _)| bits & class.bits() != 0)
        .fold(access_technology::UNKNOWN, |all, (_, flags)| all | flags)
}

/// `MMModem3gppNetworkAvailability` of a network a scan found, from its
/// MBIM_PROVIDER_STATE bits, as ModemManager reads them: registered is
/// current, else forbidden, else visible is available; unknown otherwise.
pub(crate) fn network_availability(provider_state: u32) -> u32 {
    const UNKNOWN: u32 = 0;
    const AVAILABLE: u32 = 1;
    const CURRENT: u32 = 2;
    const FORBIDDEN: u32 = 3;
    if provider_state & ProviderState::REGISTERED.bits() != 0 {
        CURRENT
    } else if provider_state & ProviderState::FORBIDDEN.bits() != 0 {
        FORBIDDEN
    } else if provider_state & ProviderState::VISIBLE.bits() != 0 {
        AVAILABLE
    } else {
        UNKNOWN
    }
}

/// Whether a slot holds a card: by its state where the device reported
/// one, else by the ICCID an executor read from it.
pub(crate) fn slot_has_card(state: Option<UiccSlotState>, iccid: &str) -> bool {
    match state {
        Some(
            UiccSlotState::Active
            | UiccSlotState::ActiveEsim
            | UiccSlotState::ActiveEsimNoProfiles
            | UiccSlotState::NotReady
            | UiccSlotState::Off
            | UiccSlotState::Error,
        ) => true,
        Some(UiccSlotState::Empty | UiccSlotState::OffEmpty) => false,
        _ => !iccid.is_empty(),
    }
}

/// SimType.
pub(crate) fn sim_type(kind: SlotKind) -> u32 {
    match kind {
        SlotKind::Physical => sim_type::PHYSICAL,
        SlotKind::Embedded => sim_type::ESIM,
    }
}

/// EsimStatus.
pub(crate) fn esim_status(kind: SlotKind, state: Option<UiccSlotState>) -> u32 {
    match (kind, state) {
        (SlotKind::Embedded, Some(UiccSlotState::ActiveEsim)) => esim_status::WITH_PROFILES,
        (SlotKind::Embedded, Some(UiccSlotState::ActiveEsimNoProfiles)) => esim_status::NO_PROFILES,
        _ => esim_status::UNKNOWN,
    }
}

/// Removability.
pub(crate) fn removability(kind: SlotKind) -> u32 {
    match kind {
        SlotKind::Physical => removability::REMOVABLE,
        SlotKind::Embedded => removability::NOT_REMOVABLE,
    }
}

/// Which IP family a bearer configuration is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    V4,
    V6,
}

/// A bearer's Ip4Config or Ip6Config: STATIC with address, prefix,
/// gateway, up to three DNS servers and the link MTU when the network gave
/// an address of that family; method UNKNOWN alone when it gave none (or
/// the bearer is not connected), as ModemManager reports it.
pub(crate) fn ip_config(
    ip: &IpSettings,
    family: Family,
    mtu: u16,
) -> Vec<(&'static str, Value<'static>)> {
    let (address, gateway, dns): (Option<(String, u8)>, Option<String>, Vec<String>) = match family
    {
        Family::V4 => (
            ip.ipv4_addresses
                .first()
                .map(|a| (a.address.to_string(), a.prefix)),
            ip.ipv4_gateway.map(|g| g.to_string()),
            ip.ipv4_dns.iter().map(ToString::to_string).collect(),
        ),
        Family::V6 => (
            ip.ipv6_addresses
                .first()
                .map(|a| (a.address.to_string(), a.prefix)),
            ip.ipv6_gateway.map(|g| g.to_string()),
            ip.ipv6_dns.iter().map(ToString::to_string).collect(),
        ),
    };
    let Some((address, prefix)) = address else {
        return unconfigured();
    };
    let mut config = vec![
        ("method", Value::from(ip_method::STATIC)),
        ("address", Value::from(address)),
        ("prefix", Value::from(u32::from(prefix))),
    ];
    if let Some(gateway) = gateway {
        config.push(("gateway", Value::from(gateway)));
    }
    for (key, server) in ["dns1", "dns2", "dns3"].into_iter().zip(dns) {
        config.push((key, Value::from(server)));
    }
    if mtu != 0 {
        config.push(("mtu", Value::from(u32::from(mtu))));
    }
    config
}

/// The IP configuration of a family the bearer does not have.
pub(crate) fn unconfigured() -> Vec<(&'static str, Value<'static>)> {
    vec![("method", Value::from(ip_method::UNKNOWN))]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executor::PinStatus;
    use crate::types::{Ipv4Prefix, Ipv6Prefix};

    fn status(state: ExecutorState) -> ExecutorStatus {
        ExecutorStatus {
            state,
            ..ExecutorStatus::default()
        }
    }

    #[test]
    fn data_classes_map_to_access_technologies_as_modemmanager_reads_them() {
        use access_technology as T;
        use MbimPacketService::{Attached, Detached};
        let lte = DataClass::LTE.bits();
        let nsa = DataClass::NR5G_NSA.bits();
        let hspa = DataClass::HSDPA.bits() | DataClass::HSUPA.bits();
        // (registration, packet service, best class, offered classes) -> flags
        let table = [
            (None, None, 0, lte, T::UNKNOWN),
            (Some(RegisterState::Searching), None, 0, lte, T::UNKNOWN),
            (
                Some(RegisterState::Home),
                None,
                0,
                lte | hspa,
                T::LTE | T::HSDPA | T::HSUPA,
            ),
            (
                Some(RegisterState::Home),
                Some(Attached),
                lte,
                lte | hspa,
                T::LTE,
            ),
            (
                Some(RegisterState::Roaming),
                Some(Attached),
                nsa,
                lte,
                T::LTE | T::NR5G,
            ),
            (Some(RegisterState::Partner), Some(Attached), 0, lte, T::LTE),
            (Some(RegisterState::Home), Some(Detached), nsa, lte, T::LTE),
            (
                Some(RegisterState::Home),
                Some(Attached),
                DataClass::NR5G_SA.bits(),
                0,
                T::NR5G,
            ),
            (
                Some(RegisterState::Home),
                None,
                0,
                DataClass::CDMA_1XEVDO_REVA.bits(),
                T::EVDOA,
            ),
            (
                Some(RegisterState::Home),
                None,
                0,
                DataClass::CUSTOM.bits(),
                T::UNKNOWN,
            ),
            (Some(RegisterState::Home), None, 0, 0, T::UNKNOWN),
        ];
        for (register_state, packet_service, data_class, available, expected) in table {
            let status = ExecutorStatus {
                register_state,
                packet_service,
                data_class,
                available_data_classes: available,
                ..ExecutorStatus::default()
            };
            assert_eq!(
                access_technologies(&status),
                expected,
                "{register_state:?} {packet_service:?} {data_class:#x} {available:#x}"
            );
        }
    }

    #[test]
    fn data_classes_map_to_modes_as_modemmanagers_mbim_plugin_maps_them() {
        use mode::{ANY, MODE_2G, MODE_3G, MODE_4G, MODE_5G, NONE};
        let d = |class: DataClass| class.bits();
        let table = [
            (0, NONE),
            (d(DataClass::GPRS | DataClass::EDGE), MODE_2G),
            (d(DataClass::UMTS | DataClass::LTE), MODE_3G | MODE_4G),
            (d(DataClass::HSDPA), MODE_3G),
            (d(DataClass::NR5G_NSA), MODE_5G),
            (d(DataClass::NR5G_SA | DataClass::LTE), MODE_4G | MODE_5G),
            (d(DataClass::CDMA_1XRTT), MODE_2G),
            (d(DataClass::CDMA_3XRTT | DataClass::CDMA_1XEVDV), MODE_3G),
            (d(DataClass::UMB), MODE_4G),
            (0x8000_0000, NONE),
        ];
        for (bits, modes) in table {
            assert_eq!(modes_of(bits), modes, "{bits:#x}");
        }
        let mut status = ExecutorStatus::default();
        assert_eq!(supported_modes(&status), ANY);
        status.device.data_classes = d(DataClass::GPRS | DataClass::UMTS | DataClass::LTE);
        assert_eq!(supported_modes(&status), MODE_2G | MODE_3G | MODE_4G);

        // Modes back to data classes, as the plugin asks a 3GPP modem.
        assert_eq!(data_classes_of(MODE_4G), d(DataClass::LTE));
        assert_eq!(
            data_classes_of(MODE_3G | MODE_5G),
            d(DataClass::UMTS
                | DataClass::HSDPA
                | DataClass::HSUPA
                | DataClass::NR5G_NSA
                | DataClass::NR5G_SA)
        );
        assert_eq!(
            modes_of(data_classes_of(MODE_2G | MODE_4G)),
            MODE_2G | MODE_4G
        );

        // MBIM 1.0: one combination, all the modes, and they are current.
        status.device.data_classes = d(DataClass::UMTS | DataClass::LTE);
        assert_eq!(
            supported_mode_combinations(&status),
            [(MODE_3G | MODE_4G, NONE)]
        );
        assert_eq!(current_modes(&status), MODE_3G | MODE_4G);
        // MBIMEx 2.0 with the preferred data classes: each smaller
        // combination too, and the preferred ones current.
        status.mbimex = mbim_protocol::mbimex::MbimExVersion::V2;
        status.preferred_data_classes = Some(d(DataClass::UMTS));
        assert_eq!(
            supported_mode_combinations(&status),
            [(MODE_3G | MODE_4G, NONE), (MODE_3G, NONE), (MODE_4G, NONE)]
        );
        assert_eq!(current_modes(&status), MODE_3G);
        status.preferred_data_classes = Some(0);
        assert_eq!(current_modes(&status), MODE_3G | MODE_4G);
    }

    #[test]
    fn provider_states_map_to_network_availability() {
        use ProviderState as P;
        // (MBIM provider state, MMModem3gppNetworkAvailability)
        let table = [
            (P::empty(), 0),
            (P::VISIBLE, 1),
            (P::VISIBLE | P::HOME | P::PREFERRED, 1),
            (P::VISIBLE | P::REGISTERED, 2),
            (P::HOME | P::REGISTERED | P::FORBIDDEN, 2),
            (P::VISIBLE | P::FORBIDDEN, 3),
            (P::HOME, 0),
        ];
        for (state, expected) in table {
            assert_eq!(network_availability(state.bits()), expected, "{state:?}");
        }
    }

    #[test]
    fn executor_states_map_to_modem_states() {
        use ExecutorState as E;
        use SubscriberReadyState as R;
        // (executor state, ready state, registration, modem state, failed reason)
        let table = [
            (
                E::Opening,
                None,
                None,
                ModemState::Initializing,
                FailedReason::None,
            ),
            (
                E::Initializing,
                None,
                None,
                ModemState::Initializing,
                FailedReason::None,
            ),
            (
                E::Resetting,
                None,
                None,
                ModemState::Initializing,
                FailedReason::None,
            ),
            (
                E::RadioOff,
                None,
                None,
                ModemState::Disabled,
                FailedReason::None,
            ),
            (
                E::WaitingForSim,
                Some(R::NotInitialized),
                None,
                ModemState::Initializing,
                FailedReason::None,
            ),
            (
                E::WaitingForSim,
                Some(R::SimNotInserted),
                None,
                ModemState::Failed,
                FailedReason::SimMissing,
            ),
            (
                E::WaitingForSim,
                Some(R::BadSim),
                None,
                ModemState::Failed,
                FailedReason::SimError,
            ),
            (
                E::WaitingForSim,
                Some(R::NotActivated),
                None,
                ModemState::Failed,
                FailedReason::SimError,
            ),
            (
                E::WaitingForSim,
                Some(R::NoEsimProfile),
                None,
                ModemState::Failed,
                FailedReason::EsimWithoutProfiles,
            ),
            (
                E::Locked,
                Some(R::DeviceLocked),
                None,
                ModemState::Locked,
                FailedReason::None,
            ),
            (
                E::Registering,
                Some(R::Initialized),
                Some(RegisterState::Searching),
                ModemState::Searching,
                FailedReason::None,
            ),
            (
                E::Registering,
                Some(R::Initialized),
                Some(RegisterState::Denied),
                ModemState::Enabled,
                FailedReason::None,
            ),
            (
                E::Registering,
                Some(R::Initialized),
                None,
                ModemState::Enabled,
                FailedReason::None,
            ),
            (
                E::Attaching,
                Some(R::Initialized),
                Some(RegisterState::Home),
                ModemState::Registered,
                FailedReason::None,
            ),
            (
                E::Idle,
                Some(R::Initialized),
                Some(RegisterState::Home),
                ModemState::Registered,
                FailedReason::None,
            ),
            (
                E::WaitingToReconnect,
                Some(R::Initialized),
                Some(RegisterState::Roaming),
                ModemState::Registered,
                FailedReason::None,
            ),
            (
                E::Connecting,
                Some(R::Initialized),
                Some(RegisterState::Home),
                ModemState::Connecting,
                FailedReason::None,
            ),
            (
                E::Connected,
                Some(R::Initialized),
                Some(RegisterState::Home),
                ModemState::Connected,
                FailedReason::None,
            ),
            (
                E::Disconnecting,
                Some(R::Initialized),
                Some(RegisterState::Home),
                ModemState::Disconnecting,
                FailedReason::None,
            ),
            (
                E::Failed,
                Some(R::Initialized),
                Some(RegisterState::Home),
                ModemState::Registered,
                FailedReason::None,
            ),
            (
                E::Failed,
                None,
                None,
                ModemState::Failed,
                FailedReason::Unknown,
            ),
            (E::Gone, None, None, ModemState::Unknown, FailedReason::None),
            (
                E::Stopped,
                None,
                None,
                ModemState::Unknown,
                FailedReason::None,
            ),
        ];
        for (state, ready, register, expected, reason) in table {
            let status = ExecutorStatus {
                ready_state: ready,
                register_state: register,
                ..status(state)
            };
            assert_eq!(
                modem_state(&status),
                expected,
                "{state:?} {ready:?} {register:?}"
            );
            assert_eq!(failed_reason(&status), reason, "{state:?} {ready:?}");
        }
    }

    #[test]
    fn locks_and_retries_follow_the_pin_the_sim_waits_for() {
        // (pin type, pin state, ready state, attempts, lock, retries, facilities)
        let table = [
            (
                Some(PinType::Pin1),
                Some(PinState::Locked),
                None,
                Some(3),
                Lock::SimPin,
                vec![(2, 3)],
                facility::SIM,
            ),
            (
                Some(PinType::Pin1),
                Some(PinState::Locked),
                None,
                Some(2),
                Lock::SimPin,
                vec![(2, 2)],
                facility::SIM,
            ),
            (
                Some(PinType::Puk1),
                Some(PinState::Locked),
                None,
                Some(10),
                Lock::SimPuk,
                vec![(4, 10)],
                facility::SIM,
            ),
            (
                Some(PinType::NetworkPin),
                Some(PinState::Locked),
                None,
                None,
                Lock::PhNetPin,
                vec![],
                facility::NONE,
            ),
            (
                Some(PinType::None),
                Some(PinState::Unlocked),
                None,
                Some(3),
                Lock::None,
                vec![],
                facility::NONE,
            ),
            (
                None,
                None,
                Some(SubscriberReadyState::Initialized),
                None,
                Lock::None,
                vec![],
                facility::NONE,
            ),
            (
                None,
                None,
                None,
                None,
                Lock::Unknown,
                vec![],
                facility::NONE,
            ),
        ];
        for (pin_type, state, ready, left, lock, retries, facilities) in table {
            let status = ExecutorStatus {
                pin: PinStatus {
                    pin_type,
                    state,
                    remaining_attempts: left,
                    configured_pin_refused: false,
                },
                ready_state: ready,
                ..ExecutorStatus::default()
            };
            assert_eq!(unlock_required(&status), lock, "{pin_type:?} {state:?}");
            assert_eq!(unlock_retries(&status), retries, "{pin_type:?} {state:?}");
            assert_eq!(
                facility_locks(&status),
                facilities,
                "{pin_type:?} {state:?}"
            );
        }
    }

    #[test]
    fn radio_switches_give_the_power_state() {
        use RadioSwitchState::{Off, On};
        let table = [
            (Some(On), Some(On), PowerState::On),
            (Some(On), None, PowerState::On),
            (Some(Off), Some(On), PowerState::Low),
            (Some(On), Some(Off), PowerState::Low),
            (None, None, PowerState::Unknown),
        ];
        for (software, hardware, power) in table {
            let status = ExecutorStatus {
                radio_software: software,
                radio_hardware: hardware,
                ..ExecutorStatus::default()
            };
            assert_eq!(power_state(&status), power, "{software:?} {hardware:?}");
        }
    }

    #[test]
    fn registration_packet_service_and_signal() {
        let table = [
            (None, RegistrationState::Unknown),
            (Some(RegisterState::Unspecified), RegistrationState::Unknown),
            (Some(RegisterState::Deregistered), RegistrationState::Idle),
            (Some(RegisterState::Searching), RegistrationState::Searching),
            (Some(RegisterState::Home), RegistrationState::Home),
            (Some(RegisterState::Roaming), RegistrationState::Roaming),
            (Some(RegisterState::Partner), RegistrationState::Roaming),
            (Some(RegisterState::Denied), RegistrationState::Denied),
        ];
        for (state, expected) in table {
            assert_eq!(registration_state(state), expected, "{state:?}");
        }
        let table = [
            (None, PacketServiceState::Unknown),
            (
                Some(MbimPacketService::Attaching),
                PacketServiceState::Detached,
            ),
            (
                Some(MbimPacketService::Attached),
                PacketServiceState::Attached,
            ),
            (
                Some(MbimPacketService::Detaching),
                PacketServiceState::Attached,
            ),
            (
                Some(MbimPacketService::Detached),
                PacketServiceState::Detached,
            ),
        ];
        for (state, expected) in table {
            assert_eq!(packet_service(state), expected, "{state:?}");
        }
        let table = [
            (None, (0, false)),
            (Some(99), (0, false)),
            (Some(0), (0, true)),
            (Some(20), (64, true)),
            (Some(31), (100, true)),
        ];
        for (rssi, expected) in table {
            assert_eq!(signal_quality(rssi), expected, "{rssi:?}");
        }
    }

    #[test]
    fn slots_hold_cards_by_their_state_or_an_iccid() {
        let table = [
            (Some(UiccSlotState::Active), "", true),
            (Some(UiccSlotState::ActiveEsim), "", true),
            (Some(UiccSlotState::Off), "", true),
            (Some(UiccSlotState::NotReady), "", true),
            (Some(UiccSlotState::Empty), "", false),
            (Some(UiccSlotState::OffEmpty), "8988", false),
            (Some(UiccSlotState::Undetermined), "", false),
            (Some(UiccSlotState::Undetermined), "8988", true),
            (None, "8988", true),
            (None, "", false),
        ];
        for (state, iccid, card) in table {
            assert_eq!(slot_has_card(state, iccid), card, "{state:?} {iccid:?}");
        }
        assert_eq!(sim_type(SlotKind::Embedded), sim_type::ESIM);
        assert_eq!(removability(SlotKind::Physical), removability::REMOVABLE);
        assert_eq!(
            esim_status(
                SlotKind::Embedded,
                Some(UiccSlotState::ActiveEsimNoProfiles)
            ),
            esim_status::NO_PROFILES
        );
        assert_eq!(
            esim_status(SlotKind::Physical, Some(UiccSlotState::Active)),
            esim_status::UNKNOWN
        );
    }

    #[test]
    fn ip_configs_are_static_with_what_the_network_gave() {
        let ip = IpSettings {
            ipv4_addresses: vec![Ipv4Prefix {
                address: "10.64.0.2".parse().unwrap(),
                prefix: 30,
            }],
            ipv4_gateway: Some("10.64.0.1".parse().unwrap()),
            ipv4_dns: vec!["10.64.0.53".parse().unwrap(), "10.64.0.54".parse().unwrap()],
            ipv6_addresses: vec![Ipv6Prefix {
                address: "fd00::2".parse().unwrap(),
                prefix: 64,
            }],
            ..IpSettings::default()
        };
        let v4 = ip_config(&ip, Family::V4, 1428);
        assert_eq!(
            v4,
            vec![
                ("method", Value::from(2u32)),
                ("address", Value::from("10.64.0.2")),
                ("prefix", Value::from(30u32)),
                ("gateway", Value::from("10.64.0.1")),
                ("dns1", Value::from("10.64.0.53")),
                ("dns2", Value::from("10.64.0.54")),
                ("mtu", Value::from(1428u32)),
            ]
        );
        let v6 = ip_config(&ip, Family::V6, 0);
        assert_eq!(
            v6,
            vec![
                ("method", Value::from(2u32)),
                ("address", Value::from("fd00::2")),
                ("prefix", Value::from(64u32)),
            ]
        );
        assert_eq!(
            ip_config(&IpSettings::default(), Family::V4, 1500),
            vec![("method", Value::from(0u32))]
        );
    }
}
