//! Multi-SIM: slot mapping set/query with each error, SIM insertion and
//! removal per seed 004's transition tables, the ready-state passage after a
//! remap, and device-wide SETs serialized across two functions.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use mbim_protocol::message::Message;
use mbim_protocol::services::basic_connect::{self as bc, cid as bcc};
use mbim_protocol::services::ms_basic_connect_extensions::{self as ms, cid as msc, UiccSlotState};
use mbim_protocol::services::Cid;
use mbim_protocol::status::{CommandType, Status};
use mbim_protocol::{Empty, Payload};
use mbim_sim::control::{ControlCommand, SlotMappingFault};
use mbim_sim::model::host::{Host, Indication};
use mbim_sim::scenario::{CardConfig, Scenario};
use std::time::{Duration, Instant};

fn dssa() -> Host {
    let mut host = Host::new(Scenario::default_dssa(), Instant::now()).unwrap();
    host.open(0);
    host
}

fn mapping(slots: &[u32]) -> ms::DeviceSlotMappingInfo {
    ms::DeviceSlotMappingInfo::from_slots(slots)
}

fn slot_events(indications: &[Indication]) -> Vec<(u32, UiccSlotState)> {
    indications
        .iter()
        .filter_map(|i| i.decode::<msc::SlotInfoStatus>())
        .map(|info| {
            let info = info.unwrap();
            (info.slot_index, info.state)
        })
        .collect()
}

fn ready_events(indications: &[Indication]) -> Vec<bc::SubscriberReadyState> {
    indications
        .iter()
        .filter_map(|i| i.decode::<bcc::SubscriberReadyStatus>())
        .map(|info| info.unwrap().ready_state)
        .collect()
}

#[test]
fn slot_mapping_errors_carry_the_current_mapping() {
    let mut host = dssa();
    let cases: Vec<(Vec<u8>, Status)> = vec![
        (mapping(&[2]).encode(), Status::InvalidParameters),
        (mapping(&[0, 1]).encode(), Status::InvalidParameters),
        (mapping(&[]).encode(), Status::InvalidParameters),
        (vec![1, 2, 3], Status::InvalidParameters),
    ];
    for (buffer, status) in cases {
        let done = host
            .command(
                0,
                ms::SERVICE.uuid,
                msc::DeviceSlotMappings::ID,
                CommandType::Set,
                buffer,
            )
            .unwrap();
        assert_eq!(done.status, status);
        assert_eq!(
            done.decode::<msc::DeviceSlotMappings>().unwrap().slots(),
            vec![0]
        );
    }
    for (fault, status) in [
        (SlotMappingFault::Busy, Status::Busy),
        (
            SlotMappingFault::VoiceCallInProgress,
            Status::VoiceCallInProgress,
        ),
    ] {
        host.modem
            .control(
                host.now,
                ControlCommand::NextSlotMappingStatus { status: fault },
            )
            .unwrap();
        let done = host
            .set::<msc::DeviceSlotMappings>(0, &mapping(&[1]))
            .unwrap();
        assert_eq!(done.status, status);
        assert_eq!(
            done.decode::<msc::DeviceSlotMappings>().unwrap().slots(),
            vec![0]
        );
    }
    // The fault was for one SET only.
    let done = host
        .set::<msc::DeviceSlotMappings>(0, &mapping(&[1]))
        .unwrap();
    assert_eq!(done.status, Status::Success);
    assert_eq!(
        done.decode::<msc::DeviceSlotMappings>().unwrap().slots(),
        vec![1]
    );
    assert_eq!(
        host.query::<msc::DeviceSlotMappings>(0, &Empty)
            .unwrap()
            .decode::<msc::DeviceSlotMappings>()
            .unwrap()
            .slots(),
        vec![1]
    );
}

#[test]
fn duplicated_slots_are_invalid() {
    let mut scenario = Scenario::default_dssa();
    scenario.executors.push(scenario.executors[0].clone());
    scenario.executors[1].slot = 1;
    let mut host = Host::new(scenario, Instant::now()).unwrap();
    host.open(0);
    let done = host
        .set::<msc::DeviceSlotMappings>(0, &mapping(&[1, 1]))
        .unwrap();
    assert_eq!(done.status, Status::InvalidParameters);
    assert_eq!(
        done.decode::<msc::DeviceSlotMappings>().unwrap().slots(),
        vec![0, 1]
    );
    let done = host
        .set::<msc::DeviceSlotMappings>(0, &mapping(&[1, 0]))
        .unwrap();
    assert_eq!(done.status, Status::Success);
}

#[test]
fn remap_passes_ready_state_through_off() {
    let mut host = dssa();
    host.take_indications();
    let tid = host.tid();
    host.send(
        0,
        &Message::command(
            tid,
            ms::SERVICE.uuid,
            msc::DeviceSlotMappings::ID,
            CommandType::Set,
            mapping(&[1]).encode(),
        ),
    )
    .unwrap();
    let messages = host.drain(0);
    // Order on the wire: READY off before the mapping response, slot infos
    // and the new card's READY after it.
    let position = |pred: &dyn Fn(&Message) -> bool| messages.iter().position(pred).unwrap();
    let done = position(&|m| matches!(m, Message::CommandDone(d) if d.transaction_id == tid));
    let indications = host.take_indications();
    assert_eq!(
        ready_events(&indications),
        vec![
            bc::SubscriberReadyState::NotInitialized,
            bc::SubscriberReadyState::Initialized
        ]
    );
    let first_ready = position(
        &|m| matches!(m, Message::IndicateStatus(i) if i.head.is_some_and(|h| h.cid == bcc::SubscriberReadyStatus::ID)),
    );
    assert!(first_ready < done);
    assert_eq!(
        slot_events(&indications),
        vec![(0, UiccSlotState::Active), (1, UiccSlotState::ActiveEsim)]
    );
    let ready = host
        .query::<bcc::SubscriberReadyStatus>(0, &Empty)
        .unwrap()
        .decode::<bcc::SubscriberReadyStatus>()
        .unwrap();
    assert_eq!(ready.sim_iccid, "8988200000000000002");
    // Back to slot 0 after removing its SIM: SimNotInserted.
    host.modem
        .control(host.now, ControlCommand::RemoveSim { slot: 0 })
        .unwrap();
    host.take_indications();
    host.set::<msc::DeviceSlotMappings>(0, &mapping(&[0]))
        .unwrap();
    let indications = host.take_indications();
    assert_eq!(
        ready_events(&indications),
        vec![
            bc::SubscriberReadyState::NotInitialized,
            bc::SubscriberReadyState::SimNotInserted
        ]
    );
}

#[test]
fn remap_to_an_esim_without_profile_is_no_esim_profile() {
    let mut scenario = Scenario::default_dssa();
    scenario.slots[1].card.as_mut().unwrap().active_profile = false;
    let mut host = Host::new(scenario, Instant::now()).unwrap();
    host.open(0);
    host.take_indications();
    host.set::<msc::DeviceSlotMappings>(0, &mapping(&[1]))
        .unwrap();
    let indications = host.take_indications();
    assert_eq!(
        ready_events(&indications),
        vec![
            bc::SubscriberReadyState::NotInitialized,
            bc::SubscriberReadyState::NoEsimProfile
        ]
    );
    assert!(slot_events(&indications).contains(&(1, UiccSlotState::ActiveEsimNoProfiles)));
}

#[test]
fn sim_removal_and_insertion_follow_seed_004_tables() {
    // (slot off_when_empty, card is an eSIM with a profile?) → (before, after removal)
    let rows = [
        (false, None, UiccSlotState::Active, UiccSlotState::Empty),
        (
            true,
            Some(true),
            UiccSlotState::ActiveEsim,
            UiccSlotState::OffEmpty,
        ),
        (
            true,
            Some(false),
            UiccSlotState::ActiveEsimNoProfiles,
            UiccSlotState::OffEmpty,
        ),
    ];
    for (off_when_empty, esim_profile, active, empty) in rows {
        let mut scenario = Scenario::default_dssa();
        scenario.slots[0].off_when_empty = off_when_empty;
        let mut card = CardConfig::default();
        if let Some(profile) = esim_profile {
            card.esim = true;
            card.active_profile = profile;
        }
        scenario.slots[0].card = Some(card.clone());
        let mut host = Host::new(scenario, Instant::now()).unwrap();
        host.open(0);
        host.take_indications();
        host.modem
            .control(host.now, ControlCommand::RemoveSim { slot: 0 })
            .unwrap();
        let indications = host.take_indications();
        assert_eq!(slot_events(&indications), vec![(0, empty)]);
        assert_eq!(
            ready_events(&indications),
            vec![bc::SubscriberReadyState::SimNotInserted]
        );
        let queried = host
            .query::<msc::SlotInfoStatus>(0, &ms::SlotInfoRequest { slot_index: 0 })
            .unwrap()
            .decode::<msc::SlotInfoStatus>()
            .unwrap();
        assert_eq!(queried.state, empty);
        host.modem
            .control(host.now, ControlCommand::InsertSim { slot: 0, card })
            .unwrap();
        let indications = host.take_indications();
        assert_eq!(slot_events(&indications), vec![(0, active)]);
    }
}

#[test]
fn removal_of_the_unmapped_slot_leaves_the_executor_alone() {
    let mut host = dssa();
    host.take_indications();
    host.modem
        .control(host.now, ControlCommand::RemoveSim { slot: 1 })
        .unwrap();
    let indications = host.take_indications();
    assert_eq!(
        slot_events(&indications),
        vec![(1, UiccSlotState::OffEmpty)]
    );
    assert!(ready_events(&indications).is_empty());
    assert_eq!(
        host.modem
            .control(host.now, ControlCommand::RemoveSim { slot: 1 }),
        Err(mbim_sim::control::ControlError::SlotEmpty(1))
    );
}

#[test]
fn misreported_slot_state() {
    let mut host = dssa();
    host.modem
        .control(
            host.now,
            ControlCommand::MisreportSlot {
                slot: 0,
                state: Some("empty".to_owned()),
            },
        )
        .unwrap();
    let info = host
        .query::<msc::SlotInfoStatus>(0, &ms::SlotInfoRequest { slot_index: 0 })
        .unwrap()
        .decode::<msc::SlotInfoStatus>()
        .unwrap();
    assert_eq!(info.state, UiccSlotState::Empty);
}

#[test]
fn device_wide_sets_on_two_functions_are_serialized() {
    let scenario = Scenario::from_toml_str(
        include_str!("../scenarios/two-executors.toml"),
        "two-executors.toml",
    )
    .unwrap();
    assert_eq!(scenario.modem.device_set_delay_ms, 50);
    let mut host = Host::new(scenario, Instant::now()).unwrap();
    host.open(0);
    host.open(1);
    // Both swap executors' slots; the second request asks for the original.
    let first = host.tid();
    let second = host.tid();
    let send = |host: &mut Host, function: usize, tid: u32, slots: &[u32]| {
        host.send(
            function,
            &Message::command(
                tid,
                ms::SERVICE.uuid,
                msc::DeviceSlotMappings::ID,
                CommandType::Set,
                mapping(slots).encode(),
            ),
        )
        .unwrap();
    };
    send(&mut host, 0, first, &[1, 0]);
    send(&mut host, 1, second, &[0, 1]);
    assert!(host.done_for(0, first).is_none());
    assert!(host.done_for(1, second).is_none());
    host.advance(Duration::from_millis(50));
    let done = host.done_for(0, first).unwrap();
    assert_eq!(
        done.decode::<msc::DeviceSlotMappings>().unwrap().slots(),
        vec![1, 0]
    );
    assert!(
        host.done_for(1, second).is_none(),
        "the second SET waits until the first is answered"
    );
    host.advance(Duration::from_millis(49));
    assert!(host.done_for(1, second).is_none());
    host.advance(Duration::from_millis(1));
    let done = host.done_for(1, second).unwrap();
    assert_eq!(done.status, Status::Success);
    assert_eq!(
        done.decode::<msc::DeviceSlotMappings>().unwrap().slots(),
        vec![0, 1]
    );
    // Queries are not held up by the queue.
    send(&mut host, 0, 100, &[1, 0]);
    let caps = host.query::<msc::SysCaps>(1, &Empty).unwrap();
    assert_eq!(caps.status, Status::Success);
}
