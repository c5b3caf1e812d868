//! Every CID handler of the model, driven with host bytes built from the
//! protocol crate's typed payloads; OPEN, its delay, NOT_OPENED, and
//! fragmentation both ways.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod data_support;

use mbim_protocol::fragment;
use mbim_protocol::message::Message;
use mbim_protocol::services::basic_connect::{self as bc, cid as bcc};
use mbim_protocol::services::ms_basic_connect_extensions::{self as ms, cid as msc};
use mbim_protocol::services::Cid;
use mbim_protocol::status::{CommandType, ProtocolError, Status};
use mbim_protocol::{Empty, Uuid};
use mbim_sim::model::host::Host;
use mbim_sim::scenario::Scenario;
use std::time::{Duration, Instant};

fn host() -> Host {
    let mut host = Host::new(Scenario::default_dssa(), Instant::now()).unwrap();
    assert_eq!(host.open(0), Some(Status::Success));
    host
}

/// An activating CONNECT set of `session`.
fn connect(session: u32, ip_type: bc::ContextIpType) -> bc::ConnectSet {
    data_support::connect_set(session, bc::ActivationCommand::Activate, ip_type)
}

#[test]
fn command_before_open_is_not_opened() {
    let mut host = Host::new(Scenario::default_dssa(), Instant::now()).unwrap();
    let message = Message::command(7, bcc::DeviceCaps::SERVICE, 1, CommandType::Query, vec![]);
    host.send(0, &message).unwrap();
    let replies = host.drain(0);
    assert_eq!(
        replies,
        vec![Message::FunctionError {
            transaction_id: 7,
            error: ProtocolError::NotOpened
        }]
    );
}

#[test]
fn open_waits_for_the_configured_delay() {
    let mut scenario = Scenario::default_dssa();
    scenario.modem.open_delay_ms = 300;
    let mut host = Host::new(scenario, Instant::now()).unwrap();
    assert_eq!(host.open(0), None, "no OPEN_DONE before the delay");
    assert_eq!(
        host.modem.poll_timeout().map(|at| at > host.now),
        Some(true)
    );
    host.advance(Duration::from_millis(299));
    assert!(host.drain(0).is_empty());
    host.advance(Duration::from_millis(1));
    let replies = host.drain(0);
    assert!(matches!(
        replies.as_slice(),
        [Message::OpenDone {
            status: Status::Success,
            ..
        }]
    ));
}

#[test]
fn close_then_commands_are_refused() {
    let mut host = host();
    host.send(0, &Message::Close { transaction_id: 99 })
        .unwrap();
    assert!(matches!(
        host.drain(0).as_slice(),
        [Message::CloseDone {
            transaction_id: 99,
            status: Status::Success
        }]
    ));
    let message = Message::command(8, bcc::DeviceCaps::SERVICE, 1, CommandType::Query, vec![]);
    host.send(0, &message).unwrap();
    assert!(matches!(
        host.drain(0).as_slice(),
        [Message::FunctionError {
            error: ProtocolError::NotOpened,
            ..
        }]
    ));
}

#[test]
fn device_caps_and_v2() {
    let mut host = host();
    let done = host.query::<bcc::DeviceCaps>(0, &Empty).unwrap();
    assert_eq!(done.status, Status::Success);
    let caps = done.decode::<bcc::DeviceCaps>().unwrap();
    assert_eq!(caps.device_id, "350000000000001");
    assert!(caps.sim_class.contains(bc::SimClass::REMOVABLE));
    assert!(caps.data_class.contains(bc::DataClass::LTE));
    assert_eq!(caps.max_sessions, 4);
    let v2 = host
        .query::<msc::DeviceCapsV2>(0, &Empty)
        .unwrap()
        .decode::<msc::DeviceCapsV2>()
        .unwrap();
    assert_eq!(v2.executor_index, 0);
    assert_eq!(v2.device_id, caps.device_id);
}

#[test]
fn sys_caps_and_slot_queries() {
    let mut host = host();
    let caps = host
        .query::<msc::SysCaps>(0, &Empty)
        .unwrap()
        .decode::<msc::SysCaps>()
        .unwrap();
    assert_eq!(
        (
            caps.number_of_executors,
            caps.number_of_slots,
            caps.concurrency
        ),
        (1, 2, 1)
    );
    assert_eq!(caps.modem_id, 0x6d62_696d_6400_0001);
    let mapping = host
        .query::<msc::DeviceSlotMappings>(0, &Empty)
        .unwrap()
        .decode::<msc::DeviceSlotMappings>()
        .unwrap();
    assert_eq!(mapping.slots(), vec![0]);
    for (slot, state) in [
        (0, ms::UiccSlotState::Active),
        (1, ms::UiccSlotState::ActiveEsim),
    ] {
        let info = host
            .query::<msc::SlotInfoStatus>(0, &ms::SlotInfoRequest { slot_index: slot })
            .unwrap()
            .decode::<msc::SlotInfoStatus>()
            .unwrap();
        assert_eq!((info.slot_index, info.state), (slot, state));
    }
    let done = host
        .query::<msc::SlotInfoStatus>(0, &ms::SlotInfoRequest { slot_index: 2 })
        .unwrap();
    assert_eq!(done.status, Status::InvalidParameters);
}

#[test]
fn subscriber_ready_radio_register_packet() {
    let mut host = host();
    let ready = host
        .query::<bcc::SubscriberReadyStatus>(0, &Empty)
        .unwrap()
        .decode::<bcc::SubscriberReadyStatus>()
        .unwrap();
    assert_eq!(ready.ready_state, bc::SubscriberReadyState::Initialized);
    assert_eq!(ready.subscriber_id, "001010000000001");
    assert_eq!(ready.sim_iccid, "8988200000000000001");
    let radio = host
        .query::<bcc::RadioState>(0, &Empty)
        .unwrap()
        .decode::<bcc::RadioState>()
        .unwrap();
    assert_eq!(radio.sw_radio_state, bc::RadioSwitchState::On);
    let register = host
        .query::<bcc::RegisterState>(0, &Empty)
        .unwrap()
        .decode::<bcc::RegisterState>()
        .unwrap();
    assert_eq!(register.register_state, bc::RegisterState::Home);
    assert_eq!(register.provider_id, "00101");
    let packet = host
        .query::<bcc::PacketService>(0, &Empty)
        .unwrap()
        .decode::<bcc::PacketService>()
        .unwrap();
    assert_eq!(
        packet.packet_service_state,
        bc::PacketServiceState::Attached
    );

    // Radio off: deregistered, no failure.
    let done = host
        .set::<bcc::RadioState>(
            0,
            &bc::RadioStateSet {
                radio_state: bc::RadioSwitchState::Off,
            },
        )
        .unwrap();
    assert_eq!(done.status, Status::Success);
    let register = host
        .query::<bcc::RegisterState>(0, &Empty)
        .unwrap()
        .decode::<bcc::RegisterState>()
        .unwrap();
    assert_eq!(register.register_state, bc::RegisterState::Deregistered);
    let done = host
        .set::<bcc::Connect>(0, &connect(0, bc::ContextIpType::Ipv4))
        .unwrap();
    assert_eq!(done.status, Status::RadioPowerOff);
    host.set::<bcc::RadioState>(
        0,
        &bc::RadioStateSet {
            radio_state: bc::RadioSwitchState::On,
        },
    )
    .unwrap();
    let indications = host.take_indications();
    assert!(indications.iter().any(|i| i.is::<bcc::RegisterState>()));

    // Detach and attach by the host.
    let done = host
        .set::<bcc::PacketService>(
            0,
            &bc::PacketServiceSet {
                packet_service_action: bc::PacketServiceAction::Detach,
            },
        )
        .unwrap();
    assert_eq!(
        done.decode::<bcc::PacketService>()
            .unwrap()
            .packet_service_state,
        bc::PacketServiceState::Detached
    );
    let done = host
        .set::<bcc::Connect>(0, &connect(0, bc::ContextIpType::Ipv4))
        .unwrap();
    assert_eq!(done.status, Status::PacketServiceDetached);
    let done = host
        .set::<bcc::PacketService>(
            0,
            &bc::PacketServiceSet {
                packet_service_action: bc::PacketServiceAction::Attach,
            },
        )
        .unwrap();
    assert_eq!(done.status, Status::Success);
    // Already attached: attach again succeeds (seed 000 auto-attach rules).
    let done = host
        .set::<bcc::PacketService>(
            0,
            &bc::PacketServiceSet {
                packet_service_action: bc::PacketServiceAction::Attach,
            },
        )
        .unwrap();
    assert_eq!(done.status, Status::Success);
}

#[test]
fn radio_state_never_fails_without_sim() {
    let mut host = host();
    host.modem
        .control(
            host.now,
            mbim_sim::control::ControlCommand::RemoveSim { slot: 0 },
        )
        .unwrap();
    for state in [bc::RadioSwitchState::Off, bc::RadioSwitchState::On] {
        let done = host
            .set::<bcc::RadioState>(0, &bc::RadioStateSet { radio_state: state })
            .unwrap();
        assert_eq!(done.status, Status::Success);
        assert_eq!(
            done.decode::<bcc::RadioState>().unwrap().sw_radio_state,
            state
        );
    }
    assert_eq!(
        host.query::<bcc::RadioState>(0, &Empty).unwrap().status,
        Status::Success
    );
    let ready = host
        .query::<bcc::SubscriberReadyStatus>(0, &Empty)
        .unwrap()
        .decode::<bcc::SubscriberReadyStatus>()
        .unwrap();
    assert_eq!(ready.ready_state, bc::SubscriberReadyState::SimNotInserted);
}

#[test]
fn connect_and_ip_configuration() {
    let mut host = host();
    let done = host
        .set::<bcc::Connect>(0, &connect(0, bc::ContextIpType::Ipv4v6))
        .unwrap();
    assert_eq!(done.status, Status::Success);
    let info = done.decode::<bcc::Connect>().unwrap();
    assert_eq!(info.activation_state, bc::ActivationState::Activated);
    assert_eq!(info.ip_type, bc::ContextIpType::Ipv4v6);
    let query = bc::ConnectInfo {
        session_id: 0,
        activation_state: bc::ActivationState::Unspecified,
        voice_call_state: bc::VoiceCallState::None,
        ip_type: bc::ContextIpType::Default,
        context_type: Uuid::NIL,
        nw_error: bc::NwError::None,
    };
    let state = host
        .query::<bcc::Connect>(0, &query)
        .unwrap()
        .decode::<bcc::Connect>()
        .unwrap();
    assert_eq!(state.activation_state, bc::ActivationState::Activated);
    let ip = host
        .query::<bcc::IpConfiguration>(
            0,
            &bc::IpConfigurationInfo {
                session_id: 0,
                ..Default::default()
            },
        )
        .unwrap()
        .decode::<bcc::IpConfiguration>()
        .unwrap();
    assert_eq!(
        ip.ipv4_addresses[0].ipv4_address,
        "10.64.0.2".parse::<std::net::Ipv4Addr>().unwrap()
    );
    assert_eq!(ip.ipv4_addresses[0].on_link_prefix_length, 30);
    assert_eq!(ip.ipv4_gateway, Some("10.64.0.1".parse().unwrap()));
    assert_eq!(ip.ipv6_gateway, Some("fd00:6d62::1".parse().unwrap()));
    assert_eq!(ip.ipv4_mtu, 1500);
    assert!(ip
        .ipv4_configuration_available
        .contains(bc::IpConfigurationAvailable::DNS));
    // Session 1 is not active.
    let done = host
        .query::<bcc::IpConfiguration>(
            0,
            &bc::IpConfigurationInfo {
                session_id: 1,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(done.status, Status::ContextNotActivated);
    // Out-of-range session.
    let done = host
        .set::<bcc::Connect>(0, &connect(9, bc::ContextIpType::Ipv4))
        .unwrap();
    assert_eq!(done.status, Status::InvalidParameters);
    // Deactivate twice.
    let mut deactivate = connect(0, bc::ContextIpType::Ipv4v6);
    deactivate.activation_command = bc::ActivationCommand::Deactivate;
    let done = host.set::<bcc::Connect>(0, &deactivate).unwrap();
    assert_eq!(done.status, Status::Success);
    assert_eq!(
        done.decode::<bcc::Connect>().unwrap().activation_state,
        bc::ActivationState::Deactivated
    );
    let done = host.set::<bcc::Connect>(0, &deactivate).unwrap();
    assert_eq!(done.status, Status::ContextNotActivated);
}

#[test]
fn pin_and_pin_list() {
    let mut scenario = Scenario::default_dssa();
    scenario.slots[0].card.as_mut().unwrap().pin_enabled = true;
    let mut host = Host::new(scenario, Instant::now()).unwrap();
    host.open(0);
    let ready = host
        .query::<bcc::SubscriberReadyStatus>(0, &Empty)
        .unwrap()
        .decode::<bcc::SubscriberReadyStatus>()
        .unwrap();
    assert_eq!(ready.ready_state, bc::SubscriberReadyState::DeviceLocked);
    let pin = host
        .query::<bcc::Pin>(0, &Empty)
        .unwrap()
        .decode::<bcc::Pin>()
        .unwrap();
    assert_eq!(
        (pin.pin_type, pin.pin_state, pin.remaining_attempts),
        (bc::PinType::Pin1, bc::PinState::Locked, 3)
    );
    let list = host
        .query::<bcc::PinList>(0, &Empty)
        .unwrap()
        .decode::<bcc::PinList>()
        .unwrap();
    assert_eq!(list.pin1.pin_mode, bc::PinMode::Enabled);
    assert_eq!(
        host.set::<bcc::Connect>(0, &connect(0, bc::ContextIpType::Ipv4))
            .unwrap()
            .status,
        Status::PinRequired
    );
    let done = host
        .set::<bcc::Pin>(
            0,
            &bc::PinSet {
                pin_type: bc::PinType::Pin1,
                pin_operation: bc::PinOperation::Enter,
                pin: "1234".to_owned(),
                new_pin: String::new(),
            },
        )
        .unwrap();
    assert_eq!(done.status, Status::Success);
    assert_eq!(
        done.decode::<bcc::Pin>().unwrap().pin_type,
        bc::PinType::None
    );
    let indications = host.take_indications();
    let ready: Vec<_> = indications
        .iter()
        .filter_map(|i| i.decode::<bcc::SubscriberReadyStatus>())
        .map(|r| r.unwrap().ready_state)
        .collect();
    assert_eq!(ready, vec![bc::SubscriberReadyState::Initialized]);
    assert!(indications.iter().any(|i| i.is::<bcc::RegisterState>()));
    assert_eq!(
        host.set::<bcc::Connect>(0, &connect(0, bc::ContextIpType::Ipv4))
            .unwrap()
            .status,
        Status::Success
    );
}

#[test]
fn pin1_blocking_tears_down_the_context_and_locks() {
    let mut host = host();
    host.set::<bcc::Connect>(0, &connect(0, bc::ContextIpType::Ipv4))
        .unwrap();
    host.take_indications();
    // PIN1 is disabled: three wrong enables block it.
    let wrong = bc::PinSet {
        pin_type: bc::PinType::Pin1,
        pin_operation: bc::PinOperation::Enable,
        pin: "0000".to_owned(),
        new_pin: String::new(),
    };
    host.set::<bcc::Pin>(0, &wrong).unwrap();
    host.set::<bcc::Pin>(0, &wrong).unwrap();
    let done = host.set::<bcc::Pin>(0, &wrong).unwrap();
    assert_eq!(done.status, Status::Failure);
    let info = done.decode::<bcc::Pin>().unwrap();
    assert_eq!(
        (info.pin_type, info.pin_state, info.remaining_attempts),
        (bc::PinType::Puk1, bc::PinState::Locked, 10)
    );
    let indications = host.take_indications();
    let connect = indications
        .iter()
        .position(|i| i.is::<bcc::Connect>())
        .unwrap();
    let ready = indications
        .iter()
        .position(|i| i.is::<bcc::SubscriberReadyStatus>())
        .unwrap();
    assert!(connect < ready);
    assert_eq!(
        indications[connect]
            .decode::<bcc::Connect>()
            .unwrap()
            .unwrap()
            .activation_state,
        bc::ActivationState::Deactivated
    );
    assert_eq!(
        indications[ready]
            .decode::<bcc::SubscriberReadyStatus>()
            .unwrap()
            .unwrap()
            .ready_state,
        bc::SubscriberReadyState::DeviceLocked
    );
    // Ten wrong PUKs: BadSim.
    for _ in 0..10 {
        host.set::<bcc::Pin>(
            0,
            &bc::PinSet {
                pin_type: bc::PinType::Puk1,
                pin_operation: bc::PinOperation::Enter,
                pin: "00000000".to_owned(),
                new_pin: "1111".to_owned(),
            },
        )
        .unwrap();
    }
    let ready: Vec<_> = host
        .take_indications()
        .iter()
        .filter_map(|i| i.decode::<bcc::SubscriberReadyStatus>())
        .map(|r| r.unwrap().ready_state)
        .collect();
    assert_eq!(ready, vec![bc::SubscriberReadyState::BadSim]);
}

#[test]
fn providers() {
    let mut host = host();
    let home = host
        .query::<bcc::HomeProvider>(0, &Empty)
        .unwrap()
        .decode::<bcc::HomeProvider>()
        .unwrap();
    assert_eq!(home.provider_id, "00101");
    let visible = host
        .query::<bcc::VisibleProviders>(
            0,
            &bc::VisibleProvidersQuery {
                action: bc::VisibleProvidersAction::FullScan,
            },
        )
        .unwrap()
        .decode::<bcc::VisibleProviders>()
        .unwrap();
    assert_eq!(visible.providers.len(), 2);
    assert!(visible.providers[0]
        .provider_state
        .contains(bc::ProviderState::REGISTERED));
    // Without a SIM: home query fails, home set and restricted scan do not.
    host.modem
        .control(
            host.now,
            mbim_sim::control::ControlCommand::RemoveSim { slot: 0 },
        )
        .unwrap();
    assert_eq!(
        host.query::<bcc::HomeProvider>(0, &Empty).unwrap().status,
        Status::SimNotInserted
    );
    let provider = bc::Provider {
        provider_id: "00109".to_owned(),
        provider_name: "Other".to_owned(),
        ..Default::default()
    };
    assert_eq!(
        host.set::<bcc::HomeProvider>(0, &provider).unwrap().status,
        Status::Success
    );
    assert_eq!(
        host.query::<bcc::VisibleProviders>(
            0,
            &bc::VisibleProvidersQuery {
                action: bc::VisibleProvidersAction::RestrictedScan
            }
        )
        .unwrap()
        .status,
        Status::Success
    );
    assert_eq!(
        host.query::<bcc::VisibleProviders>(
            0,
            &bc::VisibleProvidersQuery {
                action: bc::VisibleProvidersAction::FullScan
            }
        )
        .unwrap()
        .status,
        Status::SimNotInserted
    );
    // PIN-locked: home set still succeeds, restricted scan too.
    let card = mbim_sim::scenario::CardConfig {
        pin_enabled: true,
        ..Default::default()
    };
    host.modem
        .control(
            host.now,
            mbim_sim::control::ControlCommand::InsertSim { slot: 0, card },
        )
        .unwrap();
    assert_eq!(
        host.set::<bcc::HomeProvider>(0, &provider).unwrap().status,
        Status::Success
    );
    assert_eq!(
        host.query::<bcc::VisibleProviders>(
            0,
            &bc::VisibleProvidersQuery {
                action: bc::VisibleProvidersAction::RestrictedScan
            }
        )
        .unwrap()
        .status,
        Status::Success
    );
    let list = bc::Providers {
        providers: vec![provider.clone()],
    };
    assert_eq!(
        host.set::<bcc::PreferredProviders>(0, &list)
            .unwrap()
            .status,
        Status::Success
    );
    let multi = host.set::<bcc::MulticarrierProviders>(0, &list).unwrap();
    assert_eq!(multi.decode::<bcc::MulticarrierProviders>().unwrap(), list);
    assert_eq!(
        host.query::<bcc::MulticarrierProviders>(0, &Empty)
            .unwrap()
            .decode::<bcc::MulticarrierProviders>()
            .unwrap(),
        list
    );
}

#[test]
fn the_remaining_basic_connect_cids() {
    let mut host = host();
    let signal = host
        .query::<bcc::SignalState>(0, &Empty)
        .unwrap()
        .decode::<bcc::SignalState>()
        .unwrap();
    assert_eq!(signal.rssi, 20);
    let set = host
        .set::<bcc::SignalState>(
            0,
            &bc::SignalStateSet {
                signal_strength_interval: 5,
                rssi_threshold: 2,
                error_rate_threshold: 0,
            },
        )
        .unwrap()
        .decode::<bcc::SignalState>()
        .unwrap();
    assert_eq!(set.signal_strength_interval, 5);
    let provisioned = host
        .set::<bcc::ProvisionedContexts>(
            0,
            &bc::ProvisionedContextSet {
                context_id: u32::MAX,
                context_type: bc::ContextType::Internet.uuid(),
                access_string: "internet".to_owned(),
                user_name: String::new(),
                password: String::new(),
                compression: bc::Compression::None,
                auth_protocol: bc::AuthProtocol::None,
                provider_id: "00101".to_owned(),
            },
        )
        .unwrap()
        .decode::<bcc::ProvisionedContexts>()
        .unwrap();
    assert_eq!(provisioned.contexts.len(), 1);
    assert_eq!(
        host.query::<bcc::ProvisionedContexts>(0, &Empty)
            .unwrap()
            .decode::<bcc::ProvisionedContexts>()
            .unwrap(),
        provisioned
    );
    let services = host
        .query::<bcc::DeviceServices>(0, &Empty)
        .unwrap()
        .decode::<bcc::DeviceServices>()
        .unwrap();
    // Basic Connect, the multi-SIM extensions, and MS Host Shutdown.
    assert_eq!(services.device_services.len(), 3);
    assert_eq!(services.device_services[1].cids, vec![1, 3, 5, 6, 7, 8, 10]);
    assert_eq!(services.device_services[2].cids, vec![1]);
    let stats = host.query::<bcc::PacketStatistics>(0, &Empty).unwrap();
    assert_eq!(stats.status, Status::Success);
    stats.decode::<bcc::PacketStatistics>().unwrap();
    let hint = bc::NetworkIdleHintInfo {
        state: bc::NetworkIdleHintState::Enabled,
    };
    host.set::<bcc::NetworkIdleHint>(0, &hint).unwrap();
    assert_eq!(
        host.query::<bcc::NetworkIdleHint>(0, &Empty)
            .unwrap()
            .decode::<bcc::NetworkIdleHint>()
            .unwrap(),
        hint
    );
    let emergency = bc::EmergencyModeInfo {
        state: bc::EmergencyModeState::On,
    };
    assert_eq!(
        host.set::<bcc::EmergencyMode>(0, &emergency)
            .unwrap()
            .status,
        Status::Success
    );
    assert_eq!(
        host.query::<bcc::EmergencyMode>(0, &Empty)
            .unwrap()
            .decode::<bcc::EmergencyMode>()
            .unwrap(),
        emergency
    );
    let filters = bc::PacketFilters {
        session_id: 0,
        packet_filters: vec![bc::PacketFilter::new(vec![0x45], vec![0xF0]).unwrap()],
    };
    host.set::<bcc::IpPacketFilters>(0, &filters).unwrap();
    assert_eq!(
        host.query::<bcc::IpPacketFilters>(
            0,
            &bc::PacketFilters {
                session_id: 0,
                packet_filters: vec![]
            }
        )
        .unwrap()
        .decode::<bcc::IpPacketFilters>()
        .unwrap(),
        filters
    );
    let register = host
        .set::<bcc::RegisterState>(
            0,
            &bc::RegisterStateSet {
                provider_id: String::new(),
                register_action: bc::RegisterAction::Automatic,
                data_class: bc::DataClass::LTE,
            },
        )
        .unwrap();
    assert_eq!(register.status, Status::Success);
}

#[test]
fn unsupported_things_are_no_device_support() {
    let mut host = host();
    let cases = [
        (bc::SERVICE.uuid, bcc::DeviceCaps::ID, CommandType::Set),
        (
            bc::SERVICE.uuid,
            bcc::ServiceActivation::ID,
            CommandType::Set,
        ),
        (bc::SERVICE.uuid, 99, CommandType::Query),
        (ms::SERVICE.uuid, msc::SysCaps::ID, CommandType::Set),
        // NETWORK_DENYLIST: not modelled.
        (ms::SERVICE.uuid, 2, CommandType::Query),
        (
            Uuid::from_str_const("533fbeeb-14fe-4467-9f90-33a223e56c3f"),
            1,
            CommandType::Query,
        ),
        (
            bc::SERVICE.uuid,
            bcc::DeviceCaps::ID,
            CommandType::Unknown(7),
        ),
    ];
    for (service, cid, command_type) in cases {
        let done = host.command(0, service, cid, command_type, vec![]).unwrap();
        assert_eq!(done.status, Status::NoDeviceSupport, "{service} {cid}");
    }
}

#[test]
fn subscriptions_filter_indications() {
    let mut host = host();
    // Only REGISTER_STATE from Basic Connect.
    let list = bc::EventEntries {
        events: vec![bc::EventEntry {
            device_service_id: bc::SERVICE.uuid,
            cids: vec![bcc::RegisterState::ID],
        }],
    };
    let done = host
        .set::<bcc::DeviceServiceSubscribeList>(0, &list)
        .unwrap();
    assert_eq!(
        done.decode::<bcc::DeviceServiceSubscribeList>().unwrap(),
        list
    );
    host.modem
        .control(
            host.now,
            mbim_sim::control::ControlCommand::LoseSignal { executor: 0 },
        )
        .unwrap();
    let indications = host.take_indications();
    assert_eq!(indications.len(), 1);
    assert!(indications[0].is::<bcc::RegisterState>());
}

#[test]
fn responses_are_fragmented_to_max_control_transfer() {
    let mut host = Host::new(Scenario::default_dssa(), Instant::now()).unwrap();
    host.max_transfer = 64;
    host.open(0);
    let tid = host.tid();
    let message = Message::command(
        tid,
        bc::SERVICE.uuid,
        bcc::DeviceCaps::ID,
        CommandType::Query,
        vec![],
    );
    host.send(0, &message).unwrap();
    // Read raw fragments.
    let mut fragments = Vec::new();
    loop {
        let bytes = host.modem.poll_response(0).unwrap();
        if bytes.is_empty() {
            break;
        }
        assert!(bytes.len() <= 64, "fragment of {} bytes", bytes.len());
        fragments.push(Message::parse(&bytes).unwrap());
    }
    assert!(fragments.len() > 2);
    let mut reassembler = fragment::Reassembler::new(fragment::ReassemblerConfig::default());
    let mut whole = None;
    for fragment in fragments {
        whole = reassembler.handle(host.now, fragment).unwrap();
    }
    let Some(Message::CommandDone(done)) = whole else {
        panic!("no COMMAND_DONE")
    };
    let caps = <bcc::DeviceCaps as Cid>::Response::decode_from(&done.data);
    assert_eq!(caps.device_id, "350000000000001");
}

trait DecodeFrom: Sized {
    fn decode_from(bytes: &[u8]) -> Self;
}

impl<T: mbim_protocol::Payload> DecodeFrom for T {
    fn decode_from(bytes: &[u8]) -> Self {
        T::decode(bytes).unwrap()
    }
}

#[test]
fn fragmented_commands_are_reassembled() {
    let mut host = host();
    let provider = bc::Provider {
        provider_id: "00109".to_owned(),
        provider_name: "A provider with a name long enough to need fragments".to_owned(),
        ..Default::default()
    };
    let tid = host.tid();
    let message = Message::command(
        tid,
        bc::SERVICE.uuid,
        bcc::HomeProvider::ID,
        CommandType::Set,
        mbim_protocol::Payload::encode(&provider),
    );
    let fragments = fragment::split_to_bytes(&message, 64).unwrap();
    assert!(fragments.len() > 2);
    for bytes in &fragments {
        host.send_raw(0, bytes).unwrap();
    }
    let done = host.done_for(0, tid).unwrap();
    assert_eq!(done.status, Status::Success);
    assert_eq!(done.decode::<bcc::HomeProvider>().unwrap(), provider);
    // Out of sequence: FUNCTION_ERROR.
    let tid = host.tid();
    let message = Message::command(
        tid,
        bc::SERVICE.uuid,
        bcc::HomeProvider::ID,
        CommandType::Set,
        mbim_protocol::Payload::encode(&provider),
    );
    let fragments = fragment::split_to_bytes(&message, 64).unwrap();
    host.send_raw(0, &fragments[0]).unwrap();
    host.send_raw(0, &fragments[2]).unwrap();
    let replies = host.drain(0);
    assert!(replies.iter().any(|m| matches!(
        m,
        Message::FunctionError {
            error: ProtocolError::FragmentOutOfSequence,
            ..
        }
    )));
}

#[test]
fn faults_shape_the_next_response() {
    use mbim_sim::control::{ControlCommand, Fault};
    let mut host = host();
    let fault = |fault| ControlCommand::Faults { function: 0, fault };
    host.modem
        .control(host.now, fault(Fault::DropNextResponse))
        .unwrap();
    assert!(host.query::<bcc::DeviceCaps>(0, &Empty).is_none());
    assert!(host.query::<bcc::DeviceCaps>(0, &Empty).is_some());
    host.modem
        .control(host.now, fault(Fault::DelayNextResponse { ms: 100 }))
        .unwrap();
    let tid = host.tid();
    host.send(
        0,
        &Message::command(tid, bc::SERVICE.uuid, 1, CommandType::Query, vec![]),
    )
    .unwrap();
    assert!(host.done_for(0, tid).is_none());
    host.advance(Duration::from_millis(100));
    assert!(host.done_for(0, tid).is_some());
    host.modem
        .control(host.now, fault(Fault::CorruptNextResponse))
        .unwrap();
    host.send(
        0,
        &Message::command(5, bc::SERVICE.uuid, 1, CommandType::Query, vec![]),
    )
    .unwrap();
    let bytes = host.modem.poll_response(0).unwrap();
    assert!(Message::parse(&bytes).is_err());
    host.modem
        .control(
            host.now,
            fault(Fault::SendGarbage {
                hex: Some("de ad be ef".to_owned()),
                len: None,
            }),
        )
        .unwrap();
    assert_eq!(
        host.modem.poll_response(0).unwrap(),
        vec![0xde, 0xad, 0xbe, 0xef]
    );
    host.modem
        .control(
            host.now,
            fault(Fault::StallEndpoint {
                endpoint: mbim_sim::control::Endpoint::Interrupt,
            }),
        )
        .unwrap();
    assert_eq!(
        host.modem.poll_notification(0),
        Err(mbim_sim::model::EndpointError::Stall)
    );
    host.modem
        .control(host.now, fault(Fault::ClearStall))
        .unwrap();
    assert!(host.modem.poll_notification(0).is_ok());

    // hang-control: class requests get no answer at all until clear-stall.
    host.modem
        .control(host.now, fault(Fault::HangControl))
        .unwrap();
    assert_eq!(
        host.send(
            0,
            &Message::command(6, bc::SERVICE.uuid, 1, CommandType::Query, vec![]),
        ),
        Err(mbim_sim::model::EndpointError::Unanswered)
    );
    host.modem
        .control(host.now, fault(Fault::ClearStall))
        .unwrap();
    assert!(host.query::<bcc::DeviceCaps>(0, &Empty).is_some());
}
