//! What the phases' tests share: a scripted device answering the machine's
//! requests from a few facts, encoders of what a device indicates, and
//! drivers running the machine against the device.

use super::{Action, ExecutorMachine, Input, Request};
use crate::executor::api::{CommandFailure, ExecutorCommand, ExecutorConfig, ExecutorEvent};
use crate::executor::profile::{Profile, Secret};
use mbim_protocol::codec::Payload;
use mbim_protocol::services::basic_connect::{
    self as bc, ActivationCommand, ActivationState, ContextIpType, ContextType, PacketServiceState,
    PinOperation, PinState, PinType, RadioSwitchState, RegisterState, SubscriberReadyState,
};
use mbim_protocol::services::ms_basic_connect_extensions as ms;
use mbim_protocol::status::{CommandType, Status};
use std::time::{Duration, Instant};

/// A scripted device answering the machine's requests from a few facts.
pub(super) struct FakeDevice {
    pub(super) multi_sim: bool,
    pub(super) radio_on: bool,
    pub(super) pin_locked: bool,
    pub(super) attached: bool,
    pub(super) attaching: bool,
    pub(super) busy_connects: u32,
    /// The slot of each executor.
    pub(super) mapping: Vec<u32>,
    /// Mapping SETs answered BUSY before one is taken.
    pub(super) busy_mappings: u32,
    /// Mapping SETs refused with FAILURE (the mapping kept).
    pub(super) refuse_mappings: bool,
    pub(super) slots: Vec<ms::UiccSlotState>,
    /// PIN1 (for PIN sets other than entering it, whose PIN is 1234).
    pub(super) pin: String,
    /// The APN of each activation asked for, in order.
    pub(super) activated: Vec<String>,
    /// Whether DEVICE_SERVICES lists MS Host Shutdown.
    pub(super) host_shutdown: bool,
    /// MS_HOST_SHUTDOWN sets received.
    pub(super) host_shutdowns: u32,
    /// APNs the network refuses (missing or unknown APN).
    pub(super) refused_apns: Vec<String>,
    /// The modem's provisioned contexts (MBIM 1.0 form).
    pub(super) provisioned: Vec<bc::ProvisionedContextElement>,
    /// What the driver's lookup finds (remembered and database APNs).
    pub(super) found: crate::apn::ApnsFound,
    /// What was remembered, in order.
    pub(super) remembered: Vec<crate::apn::ApnCandidate>,
    /// The LTE attach APN set in the modem (None: none; the CID is there).
    pub(super) attach_apn: Option<String>,
    /// DEVICE_CAPS' MaxSessions.
    pub(super) max_sessions: u32,
    /// Each activation's session id and context type, in order.
    pub(super) sessions: Vec<(u32, Option<bc::ContextType>)>,
    /// VISIBLE_PROVIDERS refused with FAILURE.
    pub(super) refuse_scans: bool,
}

impl Default for FakeDevice {
    fn default() -> Self {
        FakeDevice {
            multi_sim: true,
            radio_on: true,
            pin_locked: false,
            attached: true,
            attaching: false,
            busy_connects: 0,
            mapping: vec![1],
            busy_mappings: 0,
            refuse_mappings: false,
            slots: vec![ms::UiccSlotState::Active, ms::UiccSlotState::ActiveEsim],
            pin: "1234".to_owned(),
            activated: Vec::new(),
            host_shutdown: true,
            host_shutdowns: 0,
            refused_apns: Vec::new(),
            provisioned: Vec::new(),
            found: crate::apn::ApnsFound::default(),
            remembered: Vec::new(),
            attach_apn: None,
            max_sessions: 4,
            sessions: Vec::new(),
            refuse_scans: false,
        }
    }
}

pub(super) fn ready(state: SubscriberReadyState) -> Vec<u8> {
    bc::SubscriberReadyInfo {
        ready_state: state,
        subscriber_id: "001010000000001".to_owned(),
        sim_iccid: "8988200000000000001".to_owned(),
        ready_info: bc::ReadyInfoFlags::empty(),
        telephone_numbers: Vec::new(),
    }
    .encode()
}

pub(super) fn registration(state: RegisterState) -> Vec<u8> {
    bc::RegistrationStateInfo {
        nw_error: bc::NwError::None,
        register_state: state,
        register_mode: bc::RegisterMode::Automatic,
        available_data_classes: bc::DataClass::empty(),
        current_cellular_class: bc::CellularClass::GSM,
        provider_id: "00101".to_owned(),
        provider_name: "Simulated".to_owned(),
        roaming_text: String::new(),
        registration_flag: bc::RegistrationFlags::empty(),
    }
    .encode()
}

pub(super) fn packet(state: PacketServiceState) -> Vec<u8> {
    bc::PacketServiceInfo {
        nw_error: bc::NwError::None,
        packet_service_state: state,
        highest_available_data_class: bc::DataClass::empty(),
        uplink_speed: 0,
        downlink_speed: 0,
    }
    .encode()
}

pub(super) fn connect_info(state: ActivationState) -> Vec<u8> {
    connect_info_for(0, state)
}

/// CONNECT's answer or indication for `session_id`.
pub(super) fn connect_info_for(session_id: u32, state: ActivationState) -> Vec<u8> {
    bc::ConnectInfo {
        session_id,
        activation_state: state,
        voice_call_state: bc::VoiceCallState::None,
        ip_type: ContextIpType::Ipv4,
        context_type: ContextType::Internet.uuid(),
        nw_error: bc::NwError::None,
    }
    .encode()
}

pub(super) fn ip_info(dns: std::net::Ipv4Addr, flags: bc::IpConfigurationAvailable) -> Vec<u8> {
    bc::IpConfigurationInfo {
        session_id: 0,
        ipv4_configuration_available: flags,
        ipv6_configuration_available: bc::IpConfigurationAvailable::empty(),
        ipv4_addresses: vec![bc::Ipv4Element {
            on_link_prefix_length: 30,
            ipv4_address: std::net::Ipv4Addr::new(10, 64, 0, 2),
        }],
        ipv6_addresses: Vec::new(),
        ipv4_gateway: Some(std::net::Ipv4Addr::new(10, 64, 0, 1)),
        ipv6_gateway: None,
        ipv4_dns_servers: vec![dns],
        ipv6_dns_servers: Vec::new(),
        ipv4_mtu: 1500,
        ipv6_mtu: 0,
    }
    .encode()
}

pub(super) fn full_ip() -> bc::IpConfigurationAvailable {
    bc::IpConfigurationAvailable::ADDRESS
        | bc::IpConfigurationAvailable::GATEWAY
        | bc::IpConfigurationAvailable::DNS
}

impl FakeDevice {
    pub(super) fn answer(&mut self, request: &Request) -> (Status, Vec<u8>) {
        let set = request.command_type == CommandType::Set;
        match (request.name, set) {
            ("device-caps", _) => (
                Status::Success,
                bc::DeviceCapsInfo {
                    firmware_info: "fw 1.0".to_owned(),
                    hardware_info: "hw A".to_owned(),
                    device_id: "350000000000009".to_owned(),
                    max_sessions: self.max_sessions,
                    data_class: bc::DataClass::UMTS | bc::DataClass::LTE,
                    ..bc::DeviceCapsInfo::default()
                }
                .encode(),
            ),
            ("device-caps-v2", _) if self.multi_sim => {
                (Status::Success, ms::DeviceCapsInfoV2::default().encode())
            }
            ("sys-caps", _) => (
                Status::Success,
                ms::SysCapsInfo {
                    number_of_executors: 1,
                    number_of_slots: 2,
                    concurrency: 1,
                    modem_id: 1,
                }
                .encode(),
            ),
            ("device-slot-mappings", set) => {
                let status = if !set {
                    Status::Success
                } else if self.busy_mappings > 0 {
                    self.busy_mappings -= 1;
                    Status::Busy
                } else if self.refuse_mappings {
                    Status::Failure
                } else {
                    let wanted = ms::DeviceSlotMappingInfo::decode(&request.payload).unwrap();
                    self.mapping = wanted.slots();
                    Status::Success
                };
                // Seed 004: the answer is the mapping in force, whatever the status.
                let info = ms::DeviceSlotMappingInfo::from_slots(&self.mapping);
                (status, info.encode())
            }
            ("slot-info-status", _) => {
                let query = ms::SlotInfoRequest::decode(&request.payload).unwrap();
                match self.slots.get(query.slot_index as usize) {
                    Some(&state) => (
                        Status::Success,
                        ms::SlotInfo {
                            slot_index: query.slot_index,
                            state,
                        }
                        .encode(),
                    ),
                    None => (Status::InvalidParameters, Vec::new()),
                }
            }
            ("device-service-subscribe-list", _) => (Status::Success, request.payload.clone()),
            ("radio-state", set) => {
                if set {
                    self.radio_on = true;
                }
                let state = if self.radio_on {
                    RadioSwitchState::On
                } else {
                    RadioSwitchState::Off
                };
                let info = bc::RadioStateInfo {
                    hw_radio_state: RadioSwitchState::On,
                    sw_radio_state: state,
                };
                (Status::Success, info.encode())
            }
            ("subscriber-ready-status", _) => {
                let state = if self.pin_locked {
                    SubscriberReadyState::DeviceLocked
                } else {
                    SubscriberReadyState::Initialized
                };
                (Status::Success, ready(state))
            }
            ("pin", false) => {
                let info = bc::PinInfo {
                    pin_type: if self.pin_locked {
                        PinType::Pin1
                    } else {
                        PinType::None
                    },
                    pin_state: PinState::Locked,
                    remaining_attempts: 3,
                };
                (Status::Success, info.encode())
            }
            ("pin", true)
                if bc::PinSet::decode(&request.payload).unwrap().pin_operation
                    != PinOperation::Enter =>
            {
                let request = bc::PinSet::decode(&request.payload).unwrap();
                if request.pin == self.pin {
                    if request.pin_operation == PinOperation::Change {
                        self.pin = request.new_pin;
                    }
                    let info = bc::PinInfo {
                        pin_type: PinType::None,
                        pin_state: PinState::Unlocked,
                        remaining_attempts: 0,
                    };
                    (Status::Success, info.encode())
                } else {
                    let info = bc::PinInfo {
                        pin_type: PinType::Pin1,
                        pin_state: PinState::Unlocked,
                        remaining_attempts: 2,
                    };
                    (Status::Failure, info.encode())
                }
            }
            ("pin", true) => {
                let request = bc::PinSet::decode(&request.payload).unwrap();
                if request.pin == "1234" {
                    self.pin_locked = false;
                    let info = bc::PinInfo {
                        pin_type: PinType::None,
                        pin_state: PinState::Unlocked,
                        remaining_attempts: 0,
                    };
                    (Status::Success, info.encode())
                } else {
                    let info = bc::PinInfo {
                        pin_type: PinType::Pin1,
                        pin_state: PinState::Locked,
                        remaining_attempts: 2,
                    };
                    (Status::Failure, info.encode())
                }
            }
            ("home-provider", _) => (
                Status::Success,
                bc::Provider {
                    provider_id: "00101".to_owned(),
                    ..bc::Provider::default()
                }
                .encode(),
            ),
            ("register-state", _) => (Status::Success, registration(RegisterState::Home)),
            ("packet-service", set) => {
                if set {
                    self.attached = true;
                    self.attaching = false;
                }
                let state = if self.attaching {
                    PacketServiceState::Attaching
                } else if self.attached {
                    PacketServiceState::Attached
                } else {
                    PacketServiceState::Detached
                };
                (Status::Success, packet(state))
            }
            ("connect", _) => {
                if self.busy_connects > 0 {
                    self.busy_connects -= 1;
                    return (Status::Busy, Vec::new());
                }
                let request = bc::ConnectSet::decode(&request.payload).unwrap();
                let session = request.session_id;
                let state = if request.activation_command == ActivationCommand::Activate {
                    let refused = self.refused_apns.contains(&request.access_string);
                    self.activated.push(request.access_string);
                    self.sessions
                        .push((session, bc::ContextType::from_uuid(&request.context_type)));
                    if refused {
                        let mut info = bc::ConnectInfo::decode(&connect_info_for(
                            session,
                            ActivationState::Deactivated,
                        ))
                        .unwrap();
                        info.nw_error = bc::NwError::MissingOrUnknownApn;
                        return (Status::Failure, info.encode());
                    }
                    ActivationState::Activated
                } else {
                    ActivationState::Deactivated
                };
                (Status::Success, connect_info_for(session, state))
            }
            ("provisioned-contexts", false) if request.service == bc::SERVICE.uuid => (
                Status::Success,
                bc::ProvisionedContexts {
                    contexts: self.provisioned.clone(),
                }
                .encode(),
            ),
            ("lte-attach-configuration", set) => {
                if set {
                    let request = ms::LteAttachConfigurationSet::decode(&request.payload).unwrap();
                    self.attach_apn = request
                        .configurations
                        .first()
                        .map(|configuration| configuration.access_string.clone());
                }
                let configurations = self
                    .attach_apn
                    .iter()
                    .map(|apn| ms::LteAttachConfiguration {
                        ip_type: ContextIpType::Ipv4v6,
                        roaming: ms::LteAttachContextRoamingControl::Home,
                        source: ms::ContextSource::User,
                        access_string: apn.clone(),
                        user_name: String::new(),
                        password: String::new(),
                        compression: bc::Compression::None,
                        auth_protocol: bc::AuthProtocol::None,
                    })
                    .collect();
                (
                    Status::Success,
                    ms::LteAttachConfigurations { configurations }.encode(),
                )
            }
            ("ip-configuration", _) => {
                let query = bc::IpConfigurationInfo::decode(&request.payload).unwrap();
                let mut info = bc::IpConfigurationInfo::decode(&ip_info(
                    std::net::Ipv4Addr::new(10, 64, 0, 1),
                    full_ip(),
                ))
                .unwrap();
                // Each session its own subnet: 10.64.<session>.2/30.
                let third = u8::try_from(query.session_id).unwrap();
                info.session_id = query.session_id;
                for address in &mut info.ipv4_addresses {
                    address.ipv4_address = std::net::Ipv4Addr::new(10, 64, third, 2);
                }
                info.ipv4_gateway = Some(std::net::Ipv4Addr::new(10, 64, third, 1));
                (Status::Success, info.encode())
            }
            ("device-services", false) => {
                let element = |uuid| bc::DeviceServiceElement {
                    device_service_id: uuid,
                    dss_payload: 0,
                    max_dss_instances: 0,
                    cids: vec![1],
                };
                let mut services = vec![element(bc::SERVICE.uuid)];
                if self.host_shutdown {
                    services.push(element(
                        mbim_protocol::services::ms_host_shutdown::SERVICE.uuid,
                    ));
                }
                let info = bc::DeviceServicesInfo {
                    max_dss_sessions: 0,
                    device_services: services,
                };
                (Status::Success, info.encode())
            }
            ("visible-providers", false) if self.refuse_scans => (Status::Failure, Vec::new()),
            ("visible-providers", false) => (
                Status::Success,
                bc::Providers {
                    providers: vec![bc::Provider {
                        provider_id: "00101".to_owned(),
                        provider_state: bc::ProviderState::VISIBLE | bc::ProviderState::REGISTERED,
                        provider_name: "Simulated".to_owned(),
                        cellular_class: bc::CellularClass::GSM,
                        rssi: 20,
                        error_rate: 99,
                    }],
                }
                .encode(),
            ),
            ("host-shutdown", true) if self.host_shutdown => {
                self.host_shutdowns += 1;
                (Status::Success, Vec::new())
            }
            _ => (Status::NoDeviceSupport, Vec::new()),
        }
    }
}

pub(super) fn test_config() -> ExecutorConfig {
    ExecutorConfig {
        profiles: vec![Profile::new("default", "internet")],
        pin: Some(Secret::new("1234")),
        backoff_base: Duration::from_secs(1),
        backoff_cap: Duration::from_secs(8),
        busy_retry: Duration::from_secs(10),
        ..ExecutorConfig::default()
    }
}

/// Events of the slot and notification kind, which most tests ignore.
pub(super) fn is_noise(event: &ExecutorEvent) -> bool {
    matches!(
        event,
        ExecutorEvent::SlotInfo { .. }
            | ExecutorEvent::SlotMapping { .. }
            | ExecutorEvent::Notification
    )
}

/// Runs the machine against `device` until it has nothing more to do;
/// returns the commands sent (name, set?) and the events reported, but
/// for slot states, slot mappings and notifications.
pub(super) fn run(
    machine: &mut ExecutorMachine,
    device: &mut FakeDevice,
    now: Instant,
) -> (Vec<(&'static str, bool)>, Vec<ExecutorEvent>) {
    let (sent, mut events) = run_all(machine, device, now);
    events.retain(|event| !is_noise(event));
    (sent, events)
}

/// [`run`] with every event.
pub(super) fn run_all(
    machine: &mut ExecutorMachine,
    device: &mut FakeDevice,
    now: Instant,
) -> (Vec<(&'static str, bool)>, Vec<ExecutorEvent>) {
    let mut sent = Vec::new();
    let mut events = Vec::new();
    for _ in 0..100 {
        let Some(action) = machine.poll_action() else {
            break;
        };
        match action {
            Action::Open => machine.handle(now, Input::Opened),
            Action::Close => machine.handle(now, Input::Closed),
            Action::Send(request) => {
                sent.push((request.name, request.command_type == CommandType::Set));
                let (status, information_buffer) = device.answer(&request);
                machine.handle(
                    now,
                    Input::Response {
                        status,
                        information_buffer,
                    },
                );
            }
            Action::Report(event) => events.push(event),
            Action::LookupApns(lookup) => {
                let found = crate::apn::ApnsFound {
                    iccid: lookup.iccid,
                    ..device.found.clone()
                };
                machine.handle(now, Input::ApnsFound(found));
            }
            Action::RememberApn { candidate, .. } => device.remembered.push(candidate),
            // The tests' device has no FCC lock.
            Action::RunFccHook(_) => sent.push(("fcc-hook", false)),
            Action::Finish => break,
        }
    }
    (sent, events)
}

pub(super) fn indicate(machine: &mut ExecutorMachine, now: Instant, cid: u32, buffer: Vec<u8>) {
    machine.handle(
        now,
        Input::Indication {
            service: bc::SERVICE.uuid,
            cid,
            information_buffer: buffer,
        },
    );
}

pub(super) fn tracked(id: u64, command: ExecutorCommand) -> Input {
    Input::Command(ExecutorCommand::Tracked {
        id,
        command: Box::new(command),
    })
}

pub(super) fn failure(status: Option<Status>, message: &str) -> Result<(), CommandFailure> {
    Err(CommandFailure {
        status,
        message: message.to_owned(),
        timed_out: false,
    })
}

pub(super) fn done(id: u64, result: Result<(), CommandFailure>) -> ExecutorEvent {
    ExecutorEvent::Done { id, result }
}

pub(super) fn indicate_ms(machine: &mut ExecutorMachine, now: Instant, cid: u32, buffer: Vec<u8>) {
    machine.handle(
        now,
        Input::Indication {
            service: ms::SERVICE.uuid,
            cid,
            information_buffer: buffer,
        },
    );
}
