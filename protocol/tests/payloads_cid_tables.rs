//! The service tables declare exactly the payload types the payload tests
//! check: each CID of Basic Connect, the multi-SIM CIDs of MS Basic Connect
//! Extensions and Auth, operation by operation, and each service's UUID and
//! CID numbers.

// A panic here is a failed test, not a crashed daemon.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use mbim_protocol::codec::Empty;
use mbim_protocol::services::auth::{
    AkaAuthInfo, AkaAuthRequest, AkapAuthRequest, SimAuthInfo, SimAuthRequest,
};
use mbim_protocol::services::basic_connect::*;
use mbim_protocol::services::ms_basic_connect_extensions::{
    DeviceCapsInfoV2, DeviceSlotMappingInfo, SlotInfo, SlotInfoRequest, SysCapsInfo,
};
use mbim_protocol::services::{auth, basic_connect as bc, ms_basic_connect_extensions as ms};
use mbim_protocol::Uuid;
use support::*;

#[test]
fn every_cid_uses_the_payload_types_tested_here() {
    use bc::cid as b;
    let empty = ty::<Empty>;
    assert_payloads::<b::DeviceCaps>([empty(), none(), ty::<DeviceCapsInfo>(), none()]);
    assert_payloads::<b::SubscriberReadyStatus>([
        empty(),
        none(),
        ty::<SubscriberReadyInfo>(),
        ty::<SubscriberReadyInfo>(),
    ]);
    assert_payloads::<b::RadioState>([
        empty(),
        ty::<RadioStateSet>(),
        ty::<RadioStateInfo>(),
        ty::<RadioStateInfo>(),
    ]);
    assert_payloads::<b::Pin>([empty(), ty::<PinSet>(), ty::<PinInfo>(), none()]);
    assert_payloads::<b::PinList>([empty(), none(), ty::<PinListInfo>(), none()]);
    assert_payloads::<b::HomeProvider>([empty(), ty::<Provider>(), ty::<Provider>(), none()]);
    assert_payloads::<b::PreferredProviders>([
        empty(),
        ty::<Providers>(),
        ty::<Providers>(),
        ty::<Providers>(),
    ]);
    assert_payloads::<b::VisibleProviders>([
        ty::<VisibleProvidersQuery>(),
        none(),
        ty::<Providers>(),
        none(),
    ]);
    assert_payloads::<b::RegisterState>([
        empty(),
        ty::<RegisterStateSet>(),
        ty::<RegistrationStateInfo>(),
        ty::<RegistrationStateInfo>(),
    ]);
    assert_payloads::<b::PacketService>([
        empty(),
        ty::<PacketServiceSet>(),
        ty::<PacketServiceInfo>(),
        ty::<PacketServiceInfo>(),
    ]);
    assert_payloads::<b::SignalState>([
        empty(),
        ty::<SignalStateSet>(),
        ty::<SignalStateInfo>(),
        ty::<SignalStateInfo>(),
    ]);
    assert_payloads::<b::Connect>([
        ty::<ConnectInfo>(),
        ty::<ConnectSet>(),
        ty::<ConnectInfo>(),
        ty::<ConnectInfo>(),
    ]);
    assert_payloads::<b::ProvisionedContexts>([
        empty(),
        ty::<ProvisionedContextSet>(),
        ty::<ProvisionedContexts>(),
        ty::<ProvisionedContexts>(),
    ]);
    assert_payloads::<b::ServiceActivation>([
        none(),
        ty::<ServiceActivationSet>(),
        ty::<ServiceActivationInfo>(),
        none(),
    ]);
    assert_payloads::<b::IpConfiguration>([
        ty::<IpConfigurationInfo>(),
        none(),
        ty::<IpConfigurationInfo>(),
        ty::<IpConfigurationInfo>(),
    ]);
    assert_payloads::<b::DeviceServices>([empty(), none(), ty::<DeviceServicesInfo>(), none()]);
    assert_payloads::<b::DeviceServiceSubscribeList>([
        none(),
        ty::<EventEntries>(),
        ty::<EventEntries>(),
        none(),
    ]);
    assert_payloads::<b::PacketStatistics>([empty(), none(), ty::<PacketStatisticsInfo>(), none()]);
    assert_payloads::<b::NetworkIdleHint>([
        empty(),
        ty::<NetworkIdleHintInfo>(),
        ty::<NetworkIdleHintInfo>(),
        none(),
    ]);
    assert_payloads::<b::EmergencyMode>([
        empty(),
        ty::<EmergencyModeInfo>(),
        ty::<EmergencyModeInfo>(),
        ty::<EmergencyModeInfo>(),
    ]);
    assert_payloads::<b::IpPacketFilters>([
        ty::<PacketFilters>(),
        ty::<PacketFilters>(),
        ty::<PacketFilters>(),
        none(),
    ]);
    assert_payloads::<b::MulticarrierProviders>([
        empty(),
        ty::<Providers>(),
        ty::<Providers>(),
        ty::<Providers>(),
    ]);

    use ms::cid as m;
    assert_payloads::<m::SysCaps>([empty(), none(), ty::<SysCapsInfo>(), none()]);
    assert_payloads::<m::DeviceCapsV2>([empty(), none(), ty::<DeviceCapsInfoV2>(), none()]);
    assert_payloads::<m::DeviceSlotMappings>([
        empty(),
        ty::<DeviceSlotMappingInfo>(),
        ty::<DeviceSlotMappingInfo>(),
        none(),
    ]);
    assert_payloads::<m::SlotInfoStatus>([
        ty::<SlotInfoRequest>(),
        none(),
        ty::<SlotInfo>(),
        ty::<SlotInfo>(),
    ]);

    use auth::cid as a;
    assert_payloads::<a::Aka>([ty::<AkaAuthRequest>(), none(), ty::<AkaAuthInfo>(), none()]);
    assert_payloads::<a::Akap>([ty::<AkapAuthRequest>(), none(), ty::<AkaAuthInfo>(), none()]);
    assert_payloads::<a::Sim>([ty::<SimAuthRequest>(), none(), ty::<SimAuthInfo>(), none()]);

    // And the CID numbers are the ones of MBIM 1.0 (with the errata's
    // renumbering from 19 on), seed 004 and the Auth service.
    let numbers: Vec<(&str, u32)> = bc::SERVICE
        .cids
        .iter()
        .map(|cid| (cid.name, cid.id))
        .collect();
    assert_eq!(
        numbers,
        [
            ("device-caps", 1),
            ("subscriber-ready-status", 2),
            ("radio-state", 3),
            ("pin", 4),
            ("pin-list", 5),
            ("home-provider", 6),
            ("preferred-providers", 7),
            ("visible-providers", 8),
            ("register-state", 9),
            ("packet-service", 10),
            ("signal-state", 11),
            ("connect", 12),
            ("provisioned-contexts", 13),
            ("service-activation", 14),
            ("ip-configuration", 15),
            ("device-services", 16),
            ("device-service-subscribe-list", 19),
            ("packet-statistics", 20),
            ("network-idle-hint", 21),
            ("emergency-mode", 22),
            ("ip-packet-filters", 23),
            ("multicarrier-providers", 24),
        ]
    );
    // (The CIDs of the MBIM extensions are checked in their own test file.)
    let numbers: Vec<(&str, u32)> = ms::SERVICE
        .cids
        .iter()
        .filter(|cid| (5..=8).contains(&cid.id))
        .map(|cid| (cid.name, cid.id))
        .collect();
    assert_eq!(
        numbers,
        [
            ("sys-caps", 5),
            ("device-caps-v2", 6),
            ("device-slot-mappings", 7),
            ("slot-info-status", 8),
        ]
    );
    let numbers: Vec<(&str, u32)> = auth::SERVICE
        .cids
        .iter()
        .map(|cid| (cid.name, cid.id))
        .collect();
    assert_eq!(numbers, [("aka", 1), ("akap", 2), ("sim", 3)]);
    assert_eq!(
        bc::UUID,
        Uuid::from_str_const("a289cc33-bcbb-8b4f-b6b0-133ec2aae6df")
    );
    assert_eq!(
        ms::UUID,
        Uuid::from_str_const("3d01dcc5-fef5-4d05-0d3a-bef7058e9aaf")
    );
    assert_eq!(
        auth::UUID,
        Uuid::from_str_const("1d2b5ff7-0aa1-48b2-aa52-50f15767174e")
    );
}
