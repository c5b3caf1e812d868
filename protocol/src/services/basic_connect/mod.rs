//! Basic Connect (MBIM 1.0 §10.5): the CIDs every MBIM function implements,
//! with the layouts the MBIM extensions give some of them (`v2.rs`: MBIMEx
//! 2.0, `v3.rs`: MBIMEx 3.0 and 4.0), declared in each CID's one entry
//! below. The MBIM 1.0 payloads are in one file per concern: `device.rs`
//! (capabilities, radio, device services), `sim.rs` (subscriber, PINs),
//! `registration.rs` (providers, registration, packet service, signal),
//! `connect.rs` (contexts, connect, IP configuration) and `traffic.rs`
//! (statistics, idle hint, packet filters).

mod connect;
mod device;
mod registration;
mod sim;
mod traffic;
mod v2;
mod v3;

pub use connect::*;
pub use device::*;
pub use registration::*;
pub use sim::*;
pub use traffic::*;
pub use v2::*;
pub use v3::*;

use crate::codec::Empty;
use crate::mbim_service;

mbim_service! {
    /// Basic Connect's CID table.
    service "basic-connect" = "a289cc33-bcbb-8b4f-b6b0-133ec2aae6df";
    /// MBIM_CID_DEVICE_CAPS (§10.5.1).
    DeviceCaps = 1, "device-caps", executor { query: Empty, response: DeviceCapsInfo, }
    /// MBIM_CID_SUBSCRIBER_READY_STATUS (§10.5.2).
    SubscriberReadyStatus = 2, "subscriber-ready-status", executor {
        query: Empty, response: SubscriberReadyInfo, notification: SubscriberReadyInfo,
        /// MBIMEx 3.0: eSIM and SIM removability flags.
        >= v3 SubscriberReadyStatusV3 {
            query: Empty, response: SubscriberReadyInfoV3, notification: SubscriberReadyInfoV3,
        }
    }
    /// MBIM_CID_RADIO_STATE (§10.5.3).
    RadioState = 3, "radio-state", executor {
        query: Empty, set: RadioStateSet, response: RadioStateInfo, notification: RadioStateInfo,
    }
    /// MBIM_CID_PIN (§10.5.4).
    Pin = 4, "pin", executor { query: Empty, set: PinSet, response: PinInfo, }
    /// MBIM_CID_PIN_LIST (§10.5.5).
    PinList = 5, "pin-list", executor { query: Empty, response: PinListInfo, }
    /// MBIM_CID_HOME_PROVIDER (§10.5.6).
    HomeProvider = 6, "home-provider", executor { query: Empty, set: Provider, response: Provider, }
    /// MBIM_CID_PREFERRED_PROVIDERS (§10.5.7).
    PreferredProviders = 7, "preferred-providers", executor {
        query: Empty, set: Providers, response: Providers, notification: Providers,
    }
    /// MBIM_CID_VISIBLE_PROVIDERS (§10.5.8).
    VisibleProviders = 8, "visible-providers", executor {
        query: VisibleProvidersQuery, response: Providers,
    }
    /// MBIM_CID_REGISTER_STATE (§10.5.9).
    RegisterState = 9, "register-state", executor {
        query: Empty, set: RegisterStateSet, response: RegistrationStateInfo,
        notification: RegistrationStateInfo,
        /// MBIMEx 2.0: the preferred data classes.
        >= v2 RegisterStateV2 {
            query: Empty, set: RegisterStateSet, response: RegistrationStateInfoV2,
            notification: RegistrationStateInfoV2,
        }
    }
    /// MBIM_CID_PACKET_SERVICE (§10.5.10).
    PacketService = 10, "packet-service", executor {
        query: Empty, set: PacketServiceSet, response: PacketServiceInfo,
        notification: PacketServiceInfo,
        /// MBIMEx 2.0: the current data class and the 5G frequency range.
        >= v2 PacketServiceV2 {
            query: Empty, set: PacketServiceSet, response: PacketServiceInfoV2,
            notification: PacketServiceInfoV2,
        }
        /// MBIMEx 3.0: the data subclass and the tracking area.
        >= v3 PacketServiceV3 {
            query: Empty, set: PacketServiceSet, response: PacketServiceInfoV3,
            notification: PacketServiceInfoV3,
        }
    }
    /// MBIM_CID_SIGNAL_STATE (§10.5.11).
    SignalState = 11, "signal-state", executor {
        query: Empty, set: SignalStateSet, response: SignalStateInfo, notification: SignalStateInfo,
        /// MBIMEx 2.0: RSRP and SNR per radio technology (LTE, 5G NR).
        >= v2 SignalStateV2 {
            query: Empty, set: SignalStateSet, response: SignalStateInfoV2,
            notification: SignalStateInfoV2,
        }
    }
    /// MBIM_CID_CONNECT (§10.5.12).
    Connect = 12, "connect", executor {
        query: ConnectInfo, set: ConnectSet, response: ConnectInfo, notification: ConnectInfo,
        /// MBIMEx 3.0: media preference, TLV strings, unnamed IEs (PCO…); the
        /// query carries the session id alone.
        >= v3 ConnectV3 {
            query: ConnectQueryV3, set: ConnectSetV3, response: ConnectInfoV3,
            notification: ConnectInfoV3,
        }
        /// MBIMEx 4.0: the activation option and the network slice (S-NSSAI).
        >= v4 ConnectV4 {
            query: ConnectQueryV3, set: ConnectSetV4, response: ConnectInfoV4,
            notification: ConnectInfoV4,
        }
    }
    /// MBIM_CID_PROVISIONED_CONTEXTS (§10.5.13).
    ProvisionedContexts = 13, "provisioned-contexts", executor {
        query: Empty, set: ProvisionedContextSet, response: ProvisionedContexts,
        notification: ProvisionedContexts,
    }
    /// MBIM_CID_SERVICE_ACTIVATION (§10.5.14).
    ServiceActivation = 14, "service-activation", executor {
        set: ServiceActivationSet, response: ServiceActivationInfo,
    }
    /// MBIM_CID_IP_CONFIGURATION (§10.5.20).
    IpConfiguration = 15, "ip-configuration", executor {
        query: IpConfigurationInfo, response: IpConfigurationInfo,
        notification: IpConfigurationInfo,
    }
    /// MBIM_CID_DEVICE_SERVICES (§10.5.21).
    DeviceServices = 16, "device-services", executor { query: Empty, response: DeviceServicesInfo, }
    /// MBIM_CID_DEVICE_SERVICE_SUBSCRIBE_LIST (§10.5.22; MBIM errata renumbered it 19).
    DeviceServiceSubscribeList = 19, "device-service-subscribe-list", executor {
        set: EventEntries, response: EventEntries,
    }
    /// MBIM_CID_PACKET_STATISTICS (§10.5.23).
    PacketStatistics = 20, "packet-statistics", executor { query: Empty, response: PacketStatisticsInfo, }
    /// MBIM_CID_NETWORK_IDLE_HINT (§10.5.24).
    NetworkIdleHint = 21, "network-idle-hint", executor {
        query: Empty, set: NetworkIdleHintInfo, response: NetworkIdleHintInfo,
    }
    /// MBIM_CID_EMERGENCY_MODE (§10.5.25); device-wide per seed 004's non-NDIS table.
    EmergencyMode = 22, "emergency-mode", device {
        query: Empty, set: EmergencyModeInfo, response: EmergencyModeInfo,
        notification: EmergencyModeInfo,
    }
    /// MBIM_CID_IP_PACKET_FILTERS (§10.5.26).
    IpPacketFilters = 23, "ip-packet-filters", executor {
        query: PacketFilters, set: PacketFilters, response: PacketFilters,
        /// MBIMEx 3.0: each filter with its id.
        >= v3 IpPacketFiltersV3 {
            query: PacketFiltersV3, set: PacketFiltersV3, response: PacketFiltersV3,
        }
    }
    /// MBIM_CID_MULTICARRIER_PROVIDERS (§10.5.27).
    MulticarrierProviders = 24, "multicarrier-providers", executor {
        query: Empty, set: Providers, response: Providers, notification: Providers,
    }
}
