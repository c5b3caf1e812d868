//! Network events: signal and packet-service loss in seed 000's order, DNS
//! updates that keep the basic IP information, regain without reconnect.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod data_support;

use mbim_protocol::services::basic_connect::{self as bc, cid as bcc};
use mbim_protocol::Empty;
use mbim_sim::control::ControlCommand;
use mbim_sim::model::host::{Host, Indication};
use mbim_sim::scenario::Scenario;
use std::time::Instant;

/// Function 0 with session 0 up (its data interface off), the
/// indications of getting there taken.
fn connected() -> Host {
    let mut host = Host::new(Scenario::default_dssa(), Instant::now()).unwrap();
    host.open(0);
    data_support::connect(&mut host, 0, bc::ActivationCommand::Activate);
    host.take_indications();
    host
}

/// The indications as (cid name, state) pairs.
fn summary(indications: &[Indication]) -> Vec<(&'static str, String)> {
    indications
        .iter()
        .filter_map(|i| {
            if let Some(info) = i.decode::<bcc::Connect>() {
                return Some(("connect", info.unwrap().activation_state.to_string()));
            }
            if let Some(info) = i.decode::<bcc::PacketService>() {
                return Some((
                    "packet-service",
                    info.unwrap().packet_service_state.to_string(),
                ));
            }
            if let Some(info) = i.decode::<bcc::RegisterState>() {
                return Some(("register-state", info.unwrap().register_state.to_string()));
            }
            None
        })
        .collect()
}

fn pairs(expected: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    expected
        .iter()
        .map(|(cid, state)| (*cid, (*state).to_owned()))
        .collect()
}

#[test]
fn signal_loss_indicates_deactivated_detached_deregistered_in_order() {
    let mut host = connected();
    host.modem
        .control(host.now, ControlCommand::LoseSignal { executor: 0 })
        .unwrap();
    let indications = host.take_indications();
    assert_eq!(
        summary(&indications),
        pairs(&[
            ("connect", "deactivated"),
            ("packet-service", "detached"),
            ("register-state", "deregistered"),
        ])
    );
    // Regain: registered and attached again, the context stays down.
    host.modem
        .control(host.now, ControlCommand::RegainSignal { executor: 0 })
        .unwrap();
    let indications = host.take_indications();
    assert_eq!(
        summary(&indications),
        pairs(&[("register-state", "home"), ("packet-service", "attached")])
    );
    let state = host
        .query::<bcc::Connect>(
            0,
            &bc::ConnectInfo {
                session_id: 0,
                activation_state: bc::ActivationState::Unspecified,
                voice_call_state: bc::VoiceCallState::None,
                ip_type: bc::ContextIpType::Default,
                context_type: mbim_protocol::Uuid::NIL,
                nw_error: bc::NwError::None,
            },
        )
        .unwrap()
        .decode::<bcc::Connect>()
        .unwrap();
    assert_eq!(state.activation_state, bc::ActivationState::Deactivated);
}

#[test]
fn packet_service_loss_indicates_deactivated_then_detached() {
    let mut host = connected();
    host.modem
        .control(host.now, ControlCommand::LosePacketService { executor: 0 })
        .unwrap();
    assert_eq!(
        summary(&host.take_indications()),
        pairs(&[("connect", "deactivated"), ("packet-service", "detached")])
    );
    let register = host
        .query::<bcc::RegisterState>(0, &Empty)
        .unwrap()
        .decode::<bcc::RegisterState>()
        .unwrap();
    assert_eq!(register.register_state, bc::RegisterState::Home);
    host.modem
        .control(
            host.now,
            ControlCommand::RegainPacketService { executor: 0 },
        )
        .unwrap();
    assert_eq!(
        summary(&host.take_indications()),
        pairs(&[("packet-service", "attached")])
    );
}

#[test]
fn dns_update_keeps_the_basic_ip_information() {
    let mut host = connected();
    let before = host
        .query::<bcc::IpConfiguration>(0, &bc::IpConfigurationInfo::default())
        .unwrap()
        .decode::<bcc::IpConfiguration>()
        .unwrap();
    host.modem
        .control(
            host.now,
            ControlCommand::SetDns {
                executor: 0,
                ipv4_dns: vec!["9.9.9.9".parse().unwrap(), "1.1.1.1".parse().unwrap()],
                ipv6_dns: vec!["2620:fe::fe".parse().unwrap()],
            },
        )
        .unwrap();
    let indications = host.take_indications();
    assert_eq!(indications.len(), 1);
    let update = indications[0]
        .decode::<bcc::IpConfiguration>()
        .unwrap()
        .unwrap();
    assert_eq!(update.ipv4_addresses, before.ipv4_addresses);
    assert_eq!(update.ipv6_addresses, before.ipv6_addresses);
    assert_eq!(update.ipv4_gateway, before.ipv4_gateway);
    assert_eq!(update.ipv6_gateway, before.ipv6_gateway);
    assert_eq!(update.ipv4_mtu, before.ipv4_mtu);
    assert_eq!(
        update.ipv4_configuration_available,
        before.ipv4_configuration_available
    );
    assert_eq!(update.ipv4_dns_servers.len(), 2);
    assert_eq!(
        update.ipv6_dns_servers,
        vec!["2620:fe::fe".parse::<std::net::Ipv6Addr>().unwrap()]
    );
    assert_ne!(update.ipv4_dns_servers, before.ipv4_dns_servers);
}

#[test]
fn radio_off_takes_everything_down_in_order() {
    let mut host = connected();
    host.set::<bcc::RadioState>(
        0,
        &bc::RadioStateSet {
            radio_state: bc::RadioSwitchState::Off,
        },
    )
    .unwrap();
    assert_eq!(
        summary(&host.take_indications()),
        pairs(&[
            ("connect", "deactivated"),
            ("packet-service", "detached"),
            ("register-state", "deregistered"),
        ])
    );
}

#[test]
fn without_auto_attach_the_host_attaches() {
    let mut scenario = Scenario::default_dssa();
    scenario.executors[0].network.auto_attach = false;
    let mut host = Host::new(scenario, Instant::now()).unwrap();
    host.open(0);
    let packet = host
        .query::<bcc::PacketService>(0, &Empty)
        .unwrap()
        .decode::<bcc::PacketService>()
        .unwrap();
    assert_eq!(
        packet.packet_service_state,
        bc::PacketServiceState::Detached
    );
    let done = host
        .set::<bcc::PacketService>(
            0,
            &bc::PacketServiceSet {
                packet_service_action: bc::PacketServiceAction::Attach,
            },
        )
        .unwrap();
    assert_eq!(
        done.decode::<bcc::PacketService>()
            .unwrap()
            .packet_service_state,
        bc::PacketServiceState::Attached
    );
}

fn register(
    host: &mut Host,
    action: bc::RegisterAction,
    provider: &str,
) -> (
    mbim_protocol::status::Status,
    Option<bc::RegistrationStateInfo>,
) {
    let done = host
        .set::<bcc::RegisterState>(
            0,
            &bc::RegisterStateSet {
                provider_id: provider.to_owned(),
                register_action: action,
                data_class: bc::DataClass::empty(),
            },
        )
        .unwrap();
    let info = (done.status == mbim_protocol::status::Status::Success)
        .then(|| done.decode::<bcc::RegisterState>().unwrap());
    (done.status, info)
}

#[test]
fn manual_registration_takes_a_visible_network_and_automatic_goes_home() {
    let mut host = connected();
    let (status, info) = register(&mut host, bc::RegisterAction::Manual, "00102");
    assert_eq!(status, mbim_protocol::status::Status::Success);
    let info = info.unwrap();
    assert_eq!(info.register_mode, bc::RegisterMode::Manual);
    assert_eq!(info.register_state, bc::RegisterState::Roaming);
    assert_eq!(info.provider_id, "00102");
    assert_eq!(info.provider_name, "Elsewhere");
    // A network the modem does not see: refused, the choice kept.
    let (status, _) = register(&mut host, bc::RegisterAction::Manual, "00199");
    assert_eq!(status, mbim_protocol::status::Status::ProviderNotVisible);
    let now = host
        .query::<bcc::RegisterState>(0, &Empty)
        .unwrap()
        .decode::<bcc::RegisterState>()
        .unwrap();
    assert_eq!(now.provider_id, "00102");
    let (_, info) = register(&mut host, bc::RegisterAction::Automatic, "");
    let info = info.unwrap();
    assert_eq!(info.register_mode, bc::RegisterMode::Automatic);
    assert_eq!(info.register_state, bc::RegisterState::Home);
    assert_eq!(info.provider_id, "00101");
}

#[test]
fn device_reset_answers_then_leaves_the_bus_and_comes_back() {
    use mbim_protocol::services::ms_basic_connect_extensions::cid as ms;
    let mut host = connected();
    let done = host.set::<ms::DeviceReset>(0, &Empty).unwrap();
    assert_eq!(done.status, mbim_protocol::status::Status::Success);
    assert!(!host.modem.is_unplugged());
    let gone_at = host.modem.poll_timeout().unwrap();
    host.modem.handle_timeout(gone_at);
    assert!(host.modem.is_unplugged());
    let back_at = host.modem.poll_timeout().unwrap();
    assert!(back_at > gone_at);
    host.modem.handle_timeout(back_at);
    assert!(!host.modem.is_unplugged());
    assert_eq!(host.modem.poll_timeout(), None);
}

#[test]
fn preferred_data_classes_pick_the_technology_in_use() {
    let mut host = connected();
    let set = |host: &mut Host, classes: bc::DataClass| {
        host.set::<bcc::RegisterState>(
            0,
            &bc::RegisterStateSet {
                provider_id: String::new(),
                register_action: bc::RegisterAction::Automatic,
                data_class: classes,
            },
        )
        .unwrap()
    };
    // UMTS only (HSPA asked too, which the modem does not have): the
    // network's LTE is left for UMTS.
    let done = set(&mut host, bc::DataClass::UMTS | bc::DataClass::HSDPA);
    assert_eq!(done.status, mbim_protocol::status::Status::Success);
    let info = done.decode::<bcc::RegisterState>().unwrap();
    assert_eq!(info.available_data_classes, bc::DataClass::UMTS);
    assert_eq!(host.modem.preferred_data_classes(0), bc::DataClass::UMTS);
    // None of the modem's: refused, the preference kept.
    let done = set(&mut host, bc::DataClass::GPRS);
    assert_eq!(
        done.status,
        mbim_protocol::status::Status::InvalidParameters
    );
    assert_eq!(host.modem.preferred_data_classes(0), bc::DataClass::UMTS);
    // Empty: left as it is; then LTE again.
    let done = set(&mut host, bc::DataClass::empty());
    assert_eq!(done.status, mbim_protocol::status::Status::Success);
    assert_eq!(host.modem.preferred_data_classes(0), bc::DataClass::UMTS);
    let done = set(&mut host, bc::DataClass::UMTS | bc::DataClass::LTE);
    let info = done.decode::<bcc::RegisterState>().unwrap();
    assert_eq!(info.available_data_classes, bc::DataClass::LTE);
}
