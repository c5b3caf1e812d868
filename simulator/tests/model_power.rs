//! What the modem does around a host's sleep: the Microsoft Host Shutdown
//! service (listed in DEVICE_SERVICES, MS_HOST_SHUTDOWN answered and counted,
//! absent where the scenario says the modem lacks it), and `reset-device`
//! (sessions, contexts and registration gone, a PIN-enabled card locked
//! again, the cards and the slot mapping kept).

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use mbim_protocol::services::basic_connect::{self as bc, cid as bcc};
use mbim_protocol::services::ms_basic_connect_extensions::{self as ms, cid as msc};
use mbim_protocol::services::ms_host_shutdown::{cid::HostShutdown, SERVICE as HOST_SHUTDOWN};
use mbim_protocol::status::Status;
use mbim_protocol::Empty;
use mbim_sim::control::ControlCommand;
use mbim_sim::model::host::Host;
use mbim_sim::scenario::Scenario;
use std::time::Instant;

fn listed_services(host: &mut Host) -> Vec<mbim_protocol::Uuid> {
    host.query::<bcc::DeviceServices>(0, &Empty)
        .unwrap()
        .decode::<bcc::DeviceServices>()
        .unwrap()
        .device_services
        .iter()
        .map(|service| service.device_service_id)
        .collect()
}

fn host_shutdowns(host: &mut Host) -> u64 {
    let now = host.now;
    let reply = host.modem.control(now, ControlCommand::Status).unwrap();
    let mbim_sim::control::ControlReply::Status { status } = reply else {
        panic!("no status: {reply:?}");
    };
    status["host_shutdowns"].as_u64().unwrap()
}

#[test]
fn a_modem_with_host_shutdown_lists_it_and_counts_each_one() {
    let mut host = Host::new(Scenario::default_dssa(), Instant::now()).unwrap();
    host.open(0);
    assert!(listed_services(&mut host).contains(&HOST_SHUTDOWN.uuid));
    assert_eq!(host_shutdowns(&mut host), 0);
    let done = host.set::<HostShutdown>(0, &Empty).unwrap();
    assert_eq!(done.status, Status::Success);
    assert!(done.buffer.is_empty());
    assert_eq!(host_shutdowns(&mut host), 1);
}

#[test]
fn a_modem_without_host_shutdown_does_not_list_it_and_refuses_it() {
    let mut scenario = Scenario::default_dssa();
    scenario.modem.host_shutdown = false;
    let mut host = Host::new(scenario, Instant::now()).unwrap();
    host.open(0);
    assert!(!listed_services(&mut host).contains(&HOST_SHUTDOWN.uuid));
    let done = host.set::<HostShutdown>(0, &Empty).unwrap();
    assert_eq!(done.status, Status::NoDeviceSupport);
    assert_eq!(host_shutdowns(&mut host), 0);
}

#[test]
fn a_reset_device_forgets_sessions_and_locks_the_card_but_keeps_cards_and_mapping() {
    let mut scenario = Scenario::default_dssa();
    scenario.slots[0].card.as_mut().unwrap().pin_enabled = true;
    let mut host = Host::new(scenario, Instant::now()).unwrap();
    host.open(0);
    // Unlock, switch to the eSIM and back so the mapping is the host's doing.
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
    let done = host
        .set::<msc::DeviceSlotMappings>(0, &ms::DeviceSlotMappingInfo::from_slots(&[1]))
        .unwrap();
    assert_eq!(done.status, Status::Success);

    let now = host.now;
    host.modem
        .control(now, ControlCommand::ResetDevice)
        .unwrap();

    // The session is gone: the next command is refused as NOT_OPENED.
    assert!(host.query::<bcc::DeviceCaps>(0, &Empty).is_none());
    assert_eq!(host.open(0), Some(Status::Success));
    // The mapping survived; so did the card in slot 0, locked again.
    let mapping = host
        .query::<msc::DeviceSlotMappings>(0, &Empty)
        .unwrap()
        .decode::<msc::DeviceSlotMappings>()
        .unwrap();
    assert_eq!(mapping.slots(), [1]);
    host.set::<msc::DeviceSlotMappings>(0, &ms::DeviceSlotMappingInfo::from_slots(&[0]))
        .unwrap();
    let pin = host
        .query::<bcc::Pin>(0, &Empty)
        .unwrap()
        .decode::<bcc::Pin>()
        .unwrap();
    assert_eq!(
        (pin.pin_type, pin.pin_state),
        (bc::PinType::Pin1, bc::PinState::Locked)
    );
    let now = host.now;
    let reply = host.modem.control(now, ControlCommand::Status).unwrap();
    let mbim_sim::control::ControlReply::Status { status } = reply else {
        panic!("no status");
    };
    assert_eq!(status["resets"], 1);
    assert_eq!(
        status["executors"][0]["sessions"].as_array().unwrap().len(),
        0
    );
}
