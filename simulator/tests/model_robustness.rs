//! Nothing a host sends panics the model, and its queues stay within their
//! documented caps: arbitrary control messages (raw, and well-formed COMMANDs
//! with arbitrary payloads for every CID), class requests, bulk OUT bytes and
//! NTBs, interleaved with time and control commands.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use mbim_protocol::message::Message;
use mbim_protocol::ntb::{BuildLimits, NdpSignature, NtbBuilder, NtbFormat};
use mbim_protocol::services::basic_connect as bc;
use mbim_protocol::services::ms_basic_connect_extensions as ms;
use mbim_protocol::status::CommandType;
use mbim_protocol::usb::SetupPacket;
use mbim_protocol::Uuid;
use mbim_sim::control::{ControlCommand, Fault};
use mbim_sim::model::channel::{
    MAX_COMMAND_SIZE, MAX_DELAYED_RESPONSES, MAX_QUEUED_NOTIFICATIONS, MAX_QUEUED_RESPONSES,
};
use mbim_sim::model::data::MAX_QUEUED_DATAGRAMS;
use mbim_sim::model::host::Host;
use mbim_sim::model::MAX_QUEUED_DEVICE_SETS;
use mbim_sim::scenario::Scenario;
use proptest::prelude::*;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
enum Op {
    Raw(Vec<u8>),
    Command {
        service: u8,
        cid: u32,
        set: bool,
        payload: Vec<u8>,
    },
    Open(u32),
    Class {
        setup: [u8; 8],
        data: Vec<u8>,
    },
    BulkRaw(Vec<u8>),
    BulkNtb {
        ntb32: bool,
        datagrams: Vec<(u8, Vec<u8>)>,
    },
    Advance(u16),
    Alt(u8),
    Control(u8, u8),
    Drain,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..200).prop_map(Op::Raw),
        (
            0u8..3,
            0u32..26,
            any::<bool>(),
            proptest::collection::vec(any::<u8>(), 0..300)
        )
            .prop_map(|(service, cid, set, payload)| Op::Command {
                service,
                cid,
                set,
                payload
            }),
        any::<u32>().prop_map(Op::Open),
        (
            any::<[u8; 8]>(),
            proptest::collection::vec(any::<u8>(), 0..40)
        )
            .prop_map(|(setup, data)| Op::Class { setup, data }),
        proptest::collection::vec(any::<u8>(), 0..300).prop_map(Op::BulkRaw),
        (
            any::<bool>(),
            proptest::collection::vec(
                (0u8..3, proptest::collection::vec(any::<u8>(), 1..120)),
                1..6
            )
        )
            .prop_map(|(ntb32, datagrams)| Op::BulkNtb { ntb32, datagrams }),
        any::<u16>().prop_map(Op::Advance),
        (0u8..3).prop_map(Op::Alt),
        (any::<u8>(), any::<u8>()).prop_map(|(a, b)| Op::Control(a, b)),
        Just(Op::Drain),
    ]
}

fn control(kind: u8, arg: u8) -> ControlCommand {
    let slot = u32::from(arg % 3);
    let executor = usize::from(arg % 2);
    match kind % 12 {
        0 => ControlCommand::RemoveSim { slot },
        1 => ControlCommand::InsertSim {
            slot,
            card: Default::default(),
        },
        2 => ControlCommand::BlockPin { slot },
        3 => ControlCommand::LoseSignal { executor },
        4 => ControlCommand::RegainSignal { executor },
        5 => ControlCommand::LosePacketService { executor },
        6 => ControlCommand::Faults {
            function: executor,
            fault: Fault::DelayNextResponse { ms: u64::from(arg) },
        },
        7 => ControlCommand::Faults {
            function: executor,
            fault: Fault::FragmentNextResponse {
                max_fragment: usize::from(arg),
            },
        },
        8 => ControlCommand::Faults {
            function: executor,
            fault: Fault::SendGarbage {
                hex: None,
                len: Some(usize::from(arg)),
            },
        },
        9 => ControlCommand::Faults {
            function: executor,
            fault: Fault::CorruptNextResponse,
        },
        10 => ControlCommand::SetDns {
            executor,
            ipv4_dns: vec![],
            ipv6_dns: vec![],
        },
        _ => ControlCommand::Status,
    }
}

fn ntb(ntb32: bool, datagrams: &[(u8, Vec<u8>)]) -> Option<Vec<u8>> {
    let format = if ntb32 {
        NtbFormat::Ntb32
    } else {
        NtbFormat::Ntb16
    };
    let limits = BuildLimits {
        max_size: 16384,
        max_datagrams: 0,
        divisor: 4,
        remainder: 0,
        ndp_alignment: 4,
    };
    let mut builder = NtbBuilder::new(format, limits).ok()?;
    for (session, datagram) in datagrams {
        builder.push(NdpSignature::Ips(*session), datagram).ok()?;
    }
    builder.finish().map(<[u8]>::to_vec)
}

fn apply(host: &mut Host, function: usize, op: &Op) {
    match op {
        Op::Raw(bytes) => {
            let _ = host.send_raw(function, bytes);
        }
        Op::Command {
            service,
            cid,
            set,
            payload,
        } => {
            let service = match service {
                0 => bc::SERVICE.uuid,
                1 => ms::SERVICE.uuid,
                _ => Uuid::from_str_const("00000000-1111-2222-3333-444444444444"),
            };
            let command_type = if *set {
                CommandType::Set
            } else {
                CommandType::Query
            };
            let tid = host.tid();
            let _ = host.send(
                function,
                &Message::command(tid, service, *cid, command_type, payload.clone()),
            );
        }
        Op::Open(max) => {
            let _ = host.send(
                function,
                &Message::Open {
                    transaction_id: 1,
                    max_control_transfer: *max,
                },
            );
        }
        Op::Class { setup, data } => {
            if let Some(setup) = SetupPacket::parse(setup) {
                let _ = host
                    .modem
                    .handle_class_request(host.now, function, setup, data);
            }
        }
        Op::BulkRaw(bytes) => {
            let _ = host.modem.handle_bulk_out(host.now, function, bytes);
        }
        Op::BulkNtb { ntb32, datagrams } => {
            if let Some(block) = ntb(*ntb32, datagrams) {
                let _ = host.modem.handle_bulk_out(host.now, function, &block);
            }
        }
        Op::Advance(ms) => host.advance(Duration::from_millis(u64::from(*ms))),
        Op::Alt(alt) => host.modem.set_data_alt_setting(function, *alt),
        Op::Control(kind, arg) => {
            let command = control(*kind, *arg);
            if !matches!(command, ControlCommand::Unplug) {
                let _ = host.modem.control(host.now, command);
            }
        }
        Op::Drain => {
            host.drain(function);
            while let Ok(Some(_)) = host.modem.poll_bulk_in(host.now, function, 65536) {}
        }
    }
}

/// The documented caps, summed: the most the model may hold.
fn bound() -> (usize, usize) {
    let message = MAX_COMMAND_SIZE + 64;
    let entries = 2
        * (MAX_QUEUED_RESPONSES
            + MAX_QUEUED_NOTIFICATIONS
            + MAX_DELAYED_RESPONSES
            + MAX_QUEUED_DATAGRAMS)
        + MAX_QUEUED_DEVICE_SETS
        + 1;
    let bytes = 2
        * (MAX_QUEUED_RESPONSES * message
            + MAX_DELAYED_RESPONSES * message * 2
            + MAX_QUEUED_DATAGRAMS * 65536)
        + (MAX_QUEUED_DEVICE_SETS + 1) * message;
    (bytes, entries)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn host_input_never_panics_or_grows_without_bound(
        ops in proptest::collection::vec((0usize..2, op()), 1..80),
        open_first in any::<bool>(),
    ) {
        let scenario = Scenario::from_toml_str(
            include_str!("../scenarios/two-executors.toml"),
            "two-executors.toml",
        ).unwrap();
        let mut host = Host::new(scenario, Instant::now()).unwrap();
        if open_first {
            host.open(0);
            host.open(1);
        }
        let (max_bytes, max_entries) = bound();
        for (function, op) in &ops {
            apply(&mut host, *function, op);
            let (bytes, entries) = host.modem.queued();
            prop_assert!(bytes <= max_bytes, "{bytes} bytes queued");
            prop_assert!(entries <= max_entries, "{entries} entries queued");
        }
    }
}

#[test]
fn a_host_that_never_reads_does_not_grow_the_queues() {
    let mut host = Host::new(Scenario::default_dssa(), Instant::now()).unwrap();
    host.open(0);
    for tid in 0..5000u32 {
        host.send(
            0,
            &Message::command(tid, bc::SERVICE.uuid, 1, CommandType::Query, vec![]),
        )
        .unwrap();
    }
    let (_, entries) = host.modem.queued();
    assert!(
        entries <= MAX_QUEUED_RESPONSES + MAX_QUEUED_NOTIFICATIONS,
        "{entries}"
    );
}

#[test]
fn pings_nobody_reads_are_capped() {
    let mut host = Host::new(Scenario::default_dssa(), Instant::now()).unwrap();
    host.open(0);
    let connect = bc::ConnectSet {
        session_id: 0,
        activation_command: bc::ActivationCommand::Activate,
        access_string: String::new(),
        user_name: String::new(),
        password: String::new(),
        compression: bc::Compression::None,
        auth_protocol: bc::AuthProtocol::None,
        ip_type: bc::ContextIpType::Ipv4,
        context_type: bc::ContextType::Internet.uuid(),
    };
    host.set::<bc::cid::Connect>(0, &connect).unwrap();
    host.modem.set_data_alt_setting(0, 1);
    let ping = mbim_sim::model::net::icmpv4_echo_request(
        "10.64.0.2".parse().unwrap(),
        "10.64.0.1".parse().unwrap(),
        1,
        1,
        &[0; 64],
    );
    let block = ntb(false, &[(0, ping.clone()), (0, ping.clone()), (0, ping)]).unwrap();
    for _ in 0..1000 {
        host.modem.handle_bulk_out(host.now, 0, &block).unwrap();
    }
    let (_, entries) = host.modem.queued();
    assert!(entries <= MAX_QUEUED_DATAGRAMS + MAX_QUEUED_RESPONSES + MAX_QUEUED_NOTIFICATIONS);
}
