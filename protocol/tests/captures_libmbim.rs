//! libmbim's parser-test captures decoded through the control-message
//! parser and the service tables, and libmbim's builder-test messages: the
//! encoder gives libmbim's bytes.

// A panic here is a failed test, not a crashed daemon.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use mbim_protocol::codec::{Payload, PayloadErrorKind};
use mbim_protocol::message::MessageType;
use mbim_protocol::services::auth::{AkaAuthInfo, AkapAuthRequest};
use mbim_protocol::services::basic_connect::*;
use mbim_protocol::services::{self, auth, basic_connect as bc};
use mbim_protocol::services::{Cid, Operation};
use mbim_protocol::status::{CommandType, Status};
use mbim_protocol::Uuid;
use std::net::Ipv4Addr;
use support::*;

#[test]
fn capture_device_caps() {
    type C = bc::cid::DeviceCaps;
    let capture = response_of::<C>("libmbim-basic-connect-device-caps");
    let caps = <C as Cid>::Response::decode(&capture.info).unwrap();
    assert_eq!(
        caps,
        DeviceCapsInfo {
            device_type: DeviceType::Removable,
            cellular_class: CellularClass::GSM,
            voice_class: VoiceClass::NoVoice,
            sim_class: SimClass::REMOVABLE,
            data_class: DataClass::GPRS
                | DataClass::EDGE
                | DataClass::UMTS
                | DataClass::HSDPA
                | DataClass::HSUPA
                | DataClass::CUSTOM,
            sms_caps: SmsCaps::PDU_RECEIVE | SmsCaps::PDU_SEND,
            control_caps: ControlCaps::REG_MANUAL,
            max_sessions: 1,
            custom_data_class: text("HSPA+"),
            device_id: text("353613048804622"),
            firmware_info: text("11.810.09.00.00"),
            hardware_info: text("CP1E367UM"),
        }
    );
    // libmbim's buffer is in canonical order: re-encoding gives it back.
    assert_eq!(dump(&caps.encode()), dump(&capture.info));
}

#[test]
fn capture_subscriber_ready_status() {
    type C = bc::cid::SubscriberReadyStatus;
    let capture = response_of::<C>("libmbim-basic-connect-subscriber-ready-status");
    let info = <C as Cid>::Response::decode(&capture.info).unwrap();
    assert_eq!(
        info,
        SubscriberReadyInfo {
            ready_state: SubscriberReadyState::Initialized,
            subscriber_id: text("310410000110761"),
            sim_iccid: text("89010104054601100612"),
            ready_info: ReadyInfoFlags::empty(),
            telephone_numbers: vec![text("11111111111"), text("00000000000")],
        }
    );
    // This capture puts the telephone numbers' data first, so it is not in
    // canonical order: the encoder moves them after the ICCID, in the same
    // number of bytes, and the result decodes to the same value.
    let encoded = info.encode();
    assert_ne!(encoded, capture.info);
    assert_eq!(encoded.len(), capture.info.len());
    assert_eq!(SubscriberReadyInfo::decode(&encoded).unwrap(), info);
    // The notification has the same payload.
    assert_eq!(
        <C as Cid>::Notification::decode(&capture.info).unwrap(),
        info
    );
}

#[test]
fn capture_ip_configuration() {
    type C = bc::cid::IpConfiguration;
    let capture = response_of::<C>("libmbim-basic-connect-ip-configuration");
    let config = <C as Cid>::Response::decode(&capture.info).unwrap();
    assert_eq!(
        config,
        IpConfigurationInfo {
            session_id: 0,
            ipv4_configuration_available: IpConfigurationAvailable::ADDRESS
                | IpConfigurationAvailable::GATEWAY
                | IpConfigurationAvailable::DNS
                | IpConfigurationAvailable::MTU,
            ipv6_configuration_available: IpConfigurationAvailable::empty(),
            ipv4_addresses: vec![Ipv4Element {
                on_link_prefix_length: 28,
                ipv4_address: Ipv4Addr::new(0xd4, 0x49, 0x22, 0xf8),
            }],
            ipv6_addresses: Vec::new(),
            ipv4_gateway: Some(Ipv4Addr::new(0xd4, 0x49, 0x22, 0xf1)),
            ipv6_gateway: None,
            ipv4_dns_servers: vec![
                Ipv4Addr::new(0xd4, 0xa6, 0xd2, 0x50),
                Ipv4Addr::new(0xd4, 0x49, 0x20, 0x43),
            ],
            ipv6_dns_servers: Vec::new(),
            ipv4_mtu: 1500,
            ipv6_mtu: 0,
        }
    );
    assert_eq!(dump(&config.encode()), dump(&capture.info));
    // The notification has the same payload.
    assert_eq!(
        <C as Cid>::Notification::decode(&capture.info).unwrap(),
        config
    );
}

#[test]
fn capture_visible_providers() {
    type C = bc::cid::VisibleProviders;
    let capture = response_of::<C>("libmbim-basic-connect-visible-providers");
    let providers = <C as Cid>::Response::decode(&capture.info).unwrap();
    let orange = |provider_state| Provider {
        provider_id: text("21403"),
        provider_state,
        provider_name: text("Orange"),
        cellular_class: CellularClass::GSM,
        rssi: 11,
        error_rate: 0,
    };
    assert_eq!(
        providers,
        Providers {
            providers: vec![
                orange(ProviderState::VISIBLE),
                orange(ProviderState::HOME | ProviderState::VISIBLE | ProviderState::REGISTERED),
            ],
        }
    );
    assert_eq!(dump(&providers.encode()), dump(&capture.info));
}

#[test]
fn capture_visible_providers_overflow() {
    type C = bc::cid::VisibleProviders;
    let capture = response_of::<C>("libmbim-basic-connect-visible-providers-overflow");
    // Provider 0's id offset and length are 0x80000020 and 0x8000000a.
    let error = <C as Cid>::Response::decode(&capture.info).unwrap_err();
    assert!(error.path.contains("provider_id"), "{error}");
    assert_eq!(
        error.kind,
        PayloadErrorKind::OutOfBounds {
            data_offset: 0x8000_0020,
            length: 0x8000_000a,
            buffer_length: capture.info.len() - 0x14,
        },
        "{error}"
    );
}

#[test]
fn capture_register_state() {
    type C = bc::cid::RegisterState;
    let capture = response_of::<C>("libmbim-basic-connect-register-state");
    let state = <C as Cid>::Response::decode(&capture.info).unwrap();
    assert_eq!(
        state,
        RegistrationStateInfo {
            nw_error: NwError::None,
            register_state: RegisterState::Home,
            register_mode: RegisterMode::Automatic,
            available_data_classes: DataClass::UMTS | DataClass::HSDPA | DataClass::HSUPA,
            current_cellular_class: CellularClass::GSM,
            provider_id: text("26006"),
            provider_name: String::new(),
            roaming_text: String::new(),
            registration_flag: RegistrationFlags::PACKET_SERVICE_AUTOMATIC_ATTACH,
        }
    );
    assert_eq!(dump(&state.encode()), dump(&capture.info));
}

#[test]
fn capture_service_activation() {
    type C = bc::cid::ServiceActivation;
    let capture = response_of::<C>("libmbim-basic-connect-service-activation");
    let info = <C as Cid>::Response::decode(&capture.info).unwrap();
    assert_eq!(
        info,
        ServiceActivationInfo {
            nw_error: NwError::IllegalMe,
            buffer: vec![0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08],
        }
    );
    assert_eq!(dump(&info.encode()), dump(&capture.info));
}

#[test]
fn capture_ip_packet_filters() {
    type C = bc::cid::IpPacketFilters;
    let filter1 = PacketFilter::new(
        vec![0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08],
        vec![0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8],
    )
    .unwrap();
    let filter2 = PacketFilter::new(
        vec![
            0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x05, 0x06, 0x07, 0x08,
        ],
        vec![
            0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf5, 0xf6, 0xf7, 0xf8,
        ],
    )
    .unwrap();
    for (name, expected) in [
        ("libmbim-basic-connect-ip-packet-filters-none", vec![]),
        (
            "libmbim-basic-connect-ip-packet-filters-one",
            vec![filter1.clone()],
        ),
        (
            "libmbim-basic-connect-ip-packet-filters-two",
            vec![filter1, filter2],
        ),
    ] {
        let capture = response_of::<C>(name);
        let filters = <C as Cid>::Response::decode(&capture.info).unwrap();
        assert_eq!(
            filters,
            PacketFilters {
                session_id: 1,
                packet_filters: expected,
            },
            "{name}"
        );
        assert_eq!(dump(&filters.encode()), dump(&capture.info), "{name}");
    }
}

#[test]
fn capture_provisioned_contexts_without_payload_is_refused() {
    // libmbim refuses this response (INVALID_MESSAGE): its buffer is empty.
    type C = bc::cid::ProvisionedContexts;
    let capture = response_of::<C>("libmbim-provisioned-contexts");
    assert!(capture.info.is_empty());
    let error = <C as Cid>::Response::decode(&capture.info).unwrap_err();
    assert_eq!(error.offset, 0, "{error}");
    assert!(
        matches!(
            error.kind,
            PayloadErrorKind::Truncated {
                needed: 4,
                available: 0
            }
        ),
        "{error}"
    );
}

#[test]
fn capture_connect_short_names_field_and_offset() {
    type C = bc::cid::Connect;
    let capture = capture("libmbim-basic-connect-connect-short");
    assert_eq!(capture.service, bc::UUID);
    assert_eq!(capture.cid, C::ID);
    assert_eq!(capture.status, Some(Status::Failure));
    let error = ConnectInfo::decode(&capture.info).unwrap_err();
    assert_eq!(error.path, "ConnectInfo.session_id");
    assert_eq!(error.offset, 0);
    assert_eq!(
        error.kind,
        PayloadErrorKind::Truncated {
            needed: 4,
            available: 0
        }
    );
    let message = error.to_string();
    assert!(message.contains("ConnectInfo.session_id"), "{message}");
    assert!(message.contains("0x00"), "{message}");
}

#[test]
fn connect_info_truncated_inside_the_static_part() {
    // The same failure when the information buffer stops inside the static
    // part: the error names the first field that does not fit, at its offset.
    let wire = labelled(
        "
        00 00 00 00   # 0x00 session_id: 0
        01 00 00 00   # 0x04 activation_state: activated
        00 00 00 00   # 0x08 voice_call_state: none
        01 00 00 00   # 0x0c ip_type: ipv4
        7e 5e 2a 7e   # 0x10 context_type (first 4 of 16 bytes)
        ",
    );
    let error = ConnectInfo::decode(&wire).unwrap_err();
    assert_eq!(error.path, "ConnectInfo.context_type");
    assert_eq!(error.offset, 0x10);
    assert_eq!(
        error.to_string(),
        "ConnectInfo.context_type at 0x10: needs 16 bytes but only 4 remain"
    );
}

#[test]
fn capture_auth_akap() {
    type C = auth::cid::Akap;
    let capture = response_of::<C>("libmbim-auth-akap");
    let info = <C as Cid>::Response::decode(&capture.info).unwrap();
    assert_eq!(
        info,
        AkaAuthInfo {
            res: counting(0x00),
            res_len: 5,
            integrity_key: descending(0xff),
            ciphering_key: descending(0xaf),
            auts: descending(0x7f),
        }
    );
    // The structure is 66 bytes; the function pads the buffer to 68.
    let encoded = info.encode();
    assert_eq!(encoded.len(), 66);
    assert_eq!(dump(&encoded), dump(&capture.info[..66]));
    assert_eq!(capture.info[66..], [0, 0]);
}

#[test]
fn captures_of_declared_services_decode_through_the_service_tables() {
    // The captures libmbim's own tests expect to fail.
    let refused = [
        "libmbim-basic-connect-visible-providers-overflow",
        "libmbim-provisioned-contexts",
        "libmbim-basic-connect-connect-short",
    ];
    let mut declared = 0;
    for name in capture_names() {
        let capture = capture(&name);
        let Some(service) = services::service(&capture.service) else {
            continue;
        };
        declared += 1;
        let cid = service.cid(capture.cid).unwrap_or_else(|| panic!("{name}"));
        let operation = match (capture.message_type, capture.command_type) {
            (MessageType::Command, Some(CommandType::Query)) => Operation::Query,
            (MessageType::Command, _) => Operation::Set,
            (MessageType::IndicateStatus, _) => Operation::Notification,
            _ => Operation::Response,
        };
        let decoder = cid
            .decoder_at(operation, capture_mbimex_version(&name))
            .unwrap_or_else(|| panic!("{name}"));
        let result = decoder(&capture.info);
        assert_eq!(
            result.is_err(),
            refused.contains(&name.as_str()),
            "{name}: {result:?}"
        );
        if let Ok(value) = result {
            // Personal data in the captures never reaches a masked rendering.
            let masked = format!("{:?}", value.masked());
            for personal in [
                "353613048804622",
                "310410000110761",
                "89010104054601100612",
                "11111111111",
            ] {
                assert!(!masked.contains(personal), "{name}: {masked}");
            }
        }
    }
    assert!(
        declared >= 22,
        "only {declared} captures of declared services"
    );
}

#[test]
fn captures_of_other_services_parse_but_are_not_declared() {
    let mut others = 0;
    for name in capture_names() {
        let capture = capture(&name);
        if services::service(&capture.service).is_some() {
            continue;
        }
        others += 1;
        // Named, so logs say what they are, but decoded as raw bytes.
        let service = services::uuid_name(&capture.service).unwrap_or_else(|| panic!("{name}"));
        assert!(
            ["ms-firmware-id", "sms", "stk", "ussd"].contains(&service),
            "{name}: {service}"
        );
        assert!(name.contains(service), "{name}: {service}");
    }
    assert!(others > 0);
    let pac = capture("libmbim-stk-pac-notification");
    assert_eq!(pac.message_type, MessageType::IndicateStatus);
}

// ---------------------------------------------------------------------------
// libmbim's builder-test messages: the encoder gives libmbim's bytes
// ---------------------------------------------------------------------------

#[test]
fn builder_pin_set() {
    built_by_libmbim::<bc::cid::Pin, <bc::cid::Pin as Cid>::Set>(
        "libmbim-builder-basic-connect-pin-set",
        CommandType::Set,
        &PinSet {
            pin_type: PinType::Pin1,
            pin_operation: PinOperation::Enter,
            pin: text("1111"),
            new_pin: String::new(),
        },
    );
}

#[test]
fn builder_connect_set() {
    built_by_libmbim::<bc::cid::Connect, <bc::cid::Connect as Cid>::Set>(
        "libmbim-builder-basic-connect-connect-set",
        CommandType::Set,
        &ConnectSet {
            session_id: 1,
            activation_command: ActivationCommand::Activate,
            access_string: text("internet"),
            user_name: String::new(),
            password: String::new(),
            compression: Compression::None,
            auth_protocol: AuthProtocol::Pap,
            ip_type: ContextIpType::Ipv4,
            context_type: ContextType::Internet.uuid(),
        },
    );
}

#[test]
fn builder_service_activation_set() {
    built_by_libmbim::<bc::cid::ServiceActivation, <bc::cid::ServiceActivation as Cid>::Set>(
        "libmbim-builder-basic-connect-service-activation-set",
        CommandType::Set,
        &ServiceActivationSet {
            buffer: vec![0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08],
        },
    );
}

#[test]
fn builder_device_service_subscribe_list_set() {
    type C = bc::cid::DeviceServiceSubscribeList;
    built_by_libmbim::<C, <C as Cid>::Set>(
        "libmbim-builder-basic-connect-device-service-subscribe-list-set",
        CommandType::Set,
        &EventEntries {
            events: vec![
                EventEntry {
                    device_service_id: bc::UUID,
                    cids: vec![
                        <bc::cid::SignalState as Cid>::ID,
                        <bc::cid::RegisterState as Cid>::ID,
                    ],
                },
                EventEntry {
                    // SMS, MBIM_CID_SMS_READ.
                    device_service_id: Uuid::from_str_const("533fbeeb-14fe-4467-9f90-33a223e56c3f"),
                    cids: vec![2],
                },
            ],
        },
    );
}

#[test]
fn builder_auth_akap_query() {
    built_by_libmbim::<auth::cid::Akap, <auth::cid::Akap as Cid>::Query>(
        "libmbim-builder-auth-akap-query",
        CommandType::Query,
        &AkapAuthRequest {
            rand: counting(0x00),
            autn: descending(0xff),
            network_name: text("1111"),
        },
    );
}

#[test]
fn builder_ip_packet_filters_set() {
    type C = bc::cid::IpPacketFilters;
    let filter =
        |bytes: &[u8], mask: &[u8]| PacketFilter::new(bytes.to_vec(), mask.to_vec()).unwrap();
    let eight = filter(
        &[0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08],
        &[0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8],
    );
    for (name, packet_filters) in [
        (
            "libmbim-builder-basic-connect-ip-packet-filters-set-none",
            vec![],
        ),
        (
            // Seven bytes: filter and mask each padded with one zero byte.
            "libmbim-builder-basic-connect-ip-packet-filters-set-one",
            vec![filter(
                &[0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07],
                &[0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7],
            )],
        ),
        (
            "libmbim-builder-basic-connect-ip-packet-filters-set-two",
            vec![
                eight.clone(),
                filter(
                    &[
                        0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x05, 0x06, 0x07, 0x08,
                    ],
                    &[
                        0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf5, 0xf6, 0xf7, 0xf8,
                    ],
                ),
            ],
        ),
    ] {
        built_by_libmbim::<C, <C as Cid>::Set>(
            name,
            CommandType::Set,
            &PacketFilters {
                session_id: 1,
                packet_filters,
            },
        );
    }
}

#[test]
fn builder_multicarrier_providers_set() {
    type C = bc::cid::MulticarrierProviders;
    let orange = |provider_state| Provider {
        provider_id: text("21403"),
        provider_state,
        provider_name: text("Orange"),
        cellular_class: CellularClass::GSM,
        rssi: 11,
        error_rate: 0,
    };
    built_by_libmbim::<C, <C as Cid>::Set>(
        "libmbim-builder-basic-connect-multicarrier-providers-set",
        CommandType::Set,
        &Providers {
            providers: vec![
                orange(ProviderState::VISIBLE),
                orange(ProviderState::HOME | ProviderState::VISIBLE | ProviderState::REGISTERED),
            ],
        },
    );
}
