//! The real network's datagrams written straight into the NTBs bulk IN
//! sends: blocks laid out byte for byte as an `NtbBuilder` under the
//! function's IN parameters lays them out (filled up to dwNtbInMaxSize, an
//! NDP per session, the divisor, remainder and alignment), numbered in the
//! order they go out, whatever the host's buffers held before; taking turns
//! with the modem's own datagrams; laid out again when a session leaves or
//! the host takes smaller blocks; dropped with the data interface; bounded
//! in blocks as well as datagrams. Blocks built outside the model (as the
//! forwarder's reader builds them, without the model's lock) and handed
//! over whole: taken as built when nothing changed, byte for byte what the
//! model's own blocks would have been; laid out again, never sent as
//! built, when the host's input size changed, a session left, or the bounds
//! on what is pending were reached while the block was being built.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod data_support;

use data_support::{
    connect, connected, connected_to, datagrams, generator, ntb, set_traffic, GW4, HOST4,
};
use mbim_protocol::ntb::{BuildLimits, NdpSignature, NtbBuilder, NtbFormat, PushError};
use mbim_protocol::services::basic_connect as bc;
use mbim_protocol::usb::{ClassRequest, NtbInputSize, SetupPacket};
use mbim_sim::model::data::{MAX_FORWARDED_DATAGRAMS, MAX_READY_BLOCKS};
use mbim_sim::model::host::Host;
use mbim_sim::model::net;
use mbim_sim::model::network_block::{HandedOver, NetworkBlock, Pushed};
use mbim_sim::scenario::Scenario;
use std::net::Ipv4Addr;
use std::time::Duration;

const FAR4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
/// Session 1's address: the /30 after session 0's.
const HOST4_1: Ipv4Addr = Ipv4Addr::new(10, 64, 0, 6);

/// A datagram from the network of `len` bytes for `session` (0 or 1), its
/// payload told apart from every other's by `seq`.
fn from_network(session: u8, seq: usize, len: usize) -> (u8, Vec<u8>) {
    let to = if session == 0 { HOST4 } else { HOST4_1 };
    let mut packet = net::udp_packet(FAR4.into(), 53, to.into(), 4000, len - 28).unwrap();
    for (index, byte) in packet[28..].iter_mut().enumerate() {
        *byte = u8::try_from((seq * 31 + index) % 251).unwrap();
    }
    (session, packet)
}

/// Hands each datagram to the model as the forwarder does; all are taken.
fn forward(host: &mut Host, datagrams: &[(u8, Vec<u8>)]) {
    for (_, packet) in datagrams {
        assert!(host.modem.handle_network_in(packet));
    }
}

/// Function 0's IN limits at `max_size`.
fn in_limits(scenario: &Scenario, max_size: u32) -> BuildLimits {
    BuildLimits {
        max_size,
        max_datagrams: 0,
        divisor: scenario.ntb.in_divisor,
        remainder: scenario.ntb.in_payload_remainder,
        ndp_alignment: scenario.ntb.in_alignment,
    }
}

/// The blocks an `NtbBuilder` under `limits` makes of `datagrams` pushed
/// in order, a block finished whenever the next does not fit, the first
/// numbered `first`.
fn built(limits: BuildLimits, first: u16, datagrams: &[(u8, Vec<u8>)]) -> Vec<Vec<u8>> {
    let mut builder = NtbBuilder::new(NtbFormat::Ntb16, limits).unwrap();
    builder.set_sequence(first);
    let mut blocks = Vec::new();
    for (session, datagram) in datagrams {
        let signature = NdpSignature::Ips(*session);
        if builder.push(signature, datagram) == Err(PushError::Full) {
            blocks.push(builder.finish().unwrap().to_vec());
            builder.push(signature, datagram).unwrap();
        }
    }
    blocks.extend(builder.finish().map(<[u8]>::to_vec));
    blocks
}

/// Cuts `datagrams` into `block` as the reader does (routes asked of the
/// model, a full block handed over and the datagram pushed again);
/// returns what the hand-overs on the way said.
fn cut(host: &mut Host, block: &mut NetworkBlock, datagrams: &[(u8, Vec<u8>)]) -> Vec<HandedOver> {
    let mut handed = Vec::new();
    for (_, packet) in datagrams {
        let destination = net::destination(packet).unwrap();
        let route = host.modem.network_route(packet).unwrap();
        let fill = |slot: &mut [u8]| {
            slot.copy_from_slice(packet);
            true
        };
        if block.push(route, destination, packet.len(), fill) == Pushed::Full {
            handed.push(host.modem.hand_over_network_block(block));
            assert_eq!(
                block.push(route, destination, packet.len(), fill),
                Pushed::Taken
            );
        }
    }
    handed
}

/// Every block function 0 has, taken with transfers of `max_len` bytes.
fn take_all(host: &mut Host, max_len: usize) -> Vec<Vec<u8>> {
    std::iter::from_fn(|| host.modem.poll_bulk_in(host.now, 0, max_len).unwrap()).collect()
}

#[test]
fn blocks_are_filled_to_the_input_size_under_the_functions_parameters() {
    let mut scenario = Scenario::default_dssa();
    scenario.ntb.in_max_size = 16384;
    scenario.ntb.in_divisor = 8;
    scenario.ntb.in_payload_remainder = 2;
    scenario.ntb.in_alignment = 16;
    let limits = in_limits(&scenario, 16384);
    let mut host = connected_to(scenario, &[0, 1]);
    let sizes = [1500, 40, 1280, 576, 999, 1499, 61];
    let sent: Vec<(u8, Vec<u8>)> = (0..60)
        .map(|seq| from_network(u8::from(seq % 3 == 2), seq, sizes[seq % sizes.len()]))
        .collect();
    forward(&mut host, &sent);
    // The host's buffer goes round: each block comes back in one that held
    // an earlier block, scribbled over, as a host's transfer buffers do.
    let mut buffer = vec![0xee; 20000];
    let mut got = Vec::new();
    while host
        .modem
        .poll_bulk_in_into(host.now, 0, 16384, &mut buffer)
        .unwrap()
    {
        got.push(buffer.clone());
        buffer.fill(0xee);
    }
    let expected = built(limits, 0, &sent);
    assert!(expected.len() >= 3, "{} blocks", expected.len());
    assert_eq!(got, expected);
    assert!(got.iter().all(|block| block.len() <= 16384));
    let counters = host.modem.data_counters(0).unwrap();
    assert_eq!(counters.forwarded_in, 60);
    assert_eq!(counters.datagrams_out, 60);
    assert_eq!(
        counters.bytes_out,
        sent.iter().map(|(_, d)| d.len() as u64).sum::<u64>()
    );
    assert_eq!(counters.ntbs_out, got.len() as u64);
    assert_eq!(host.modem.queued(), (0, 0));
}

#[test]
fn a_session_that_leaves_mid_block_takes_its_pending_datagrams_with_it() {
    let scenario = Scenario::default_dssa();
    let max_size = scenario.ntb.in_max_size;
    let limits = in_limits(&scenario, max_size);
    let max_len = usize::try_from(max_size).unwrap();
    let mut host = connected(&[0, 1]);
    let sent: Vec<(u8, Vec<u8>)> = (0..150)
        .map(|seq| from_network(u8::from(seq % 2 == 1), seq, 1400))
        .collect();
    forward(&mut host, &sent);
    let first = host
        .modem
        .poll_bulk_in(host.now, 0, max_len)
        .unwrap()
        .unwrap();
    assert_eq!(first, built(limits, 0, &sent)[0]);
    let in_first = datagrams(&first).len();
    // Blocks are ready behind the first, and one is open, all with
    // datagrams of both sessions.
    assert!(sent.len() - in_first > 2 * in_first);
    connect(&mut host, 1, bc::ActivationCommand::Deactivate);
    let left: Vec<(u8, Vec<u8>)> = sent[in_first..]
        .iter()
        .filter(|(session, _)| *session == 0)
        .cloned()
        .collect();
    assert_eq!(
        host.modem.queued(),
        (left.iter().map(|(_, d)| d.len()).sum(), left.len())
    );
    assert_eq!(take_all(&mut host, max_len), built(limits, 1, &left));
    let counters = host.modem.data_counters(0).unwrap();
    assert_eq!(counters.datagrams_out, (in_first + left.len()) as u64);
    assert_eq!(counters.forward_dropped, 0);
}

#[test]
fn the_modems_own_datagrams_take_turns_with_a_busy_network() {
    let mut host = connected(&[0]);
    set_traffic(&mut host, 0, None, Some(generator(HOST4, 1000, 1000)));
    let sent: Vec<(u8, Vec<u8>)> = (0..MAX_FORWARDED_DATAGRAMS)
        .map(|seq| from_network(0, seq, 1400))
        .collect();
    forward(&mut host, &sent);
    let ping = net::icmpv4_echo_request(HOST4, GW4, 7, 1, b"through the crowd");
    host.modem
        .handle_bulk_out(host.now, 0, &ntb(NtbFormat::Ntb16, &[(0, ping)]))
        .unwrap();
    // 10 ms of the generator: 10 datagrams due.
    host.advance(Duration::from_millis(10));
    let blocks = take_all(&mut host, 16384);
    let from_far = |block: &Vec<u8>| {
        datagrams(block)
            .into_iter()
            .filter(|(_, d)| d[12..16] == FAR4.octets())
            .count()
    };
    // A block of the network's, then one of the modem's own: the echo reply
    // and everything the generator owed, which would otherwise wait behind
    // the whole queue; then the network's again.
    assert!(from_far(&blocks[0]) > 0);
    let own = datagrams(&blocks[1]);
    assert_eq!(own.len(), 11, "the reply and 10 generated datagrams");
    assert!(own
        .iter()
        .any(|(_, d)| d[12..16] == GW4.octets() && d[9] == 1));
    assert!(from_far(&blocks[2]) > 0);
    // The network's datagrams all arrive, in order.
    let network: Vec<(NdpSignature, Vec<u8>)> = blocks
        .iter()
        .flat_map(|block| datagrams(block))
        .filter(|(_, d)| d[12..16] == FAR4.octets())
        .collect();
    let expected: Vec<(NdpSignature, Vec<u8>)> = sent
        .into_iter()
        .map(|(session, d)| (NdpSignature::Ips(session), d))
        .collect();
    assert_eq!(network, expected);
}

#[test]
fn smaller_transfers_than_the_blocks_built_get_them_laid_out_again() {
    let scenario = Scenario::default_dssa();
    let limits = in_limits(&scenario, 4096);
    let mut host = connected(&[0]);
    let mut sent: Vec<(u8, Vec<u8>)> = (0..40)
        .map(|seq| from_network(0, seq, 1400 - seq))
        .collect();
    // Fits the blocks built before the first transfer (dwNtbInMaxSize),
    // not one of 4096 bytes.
    let big = from_network(0, 99, 6000);
    sent.insert(30, big.clone());
    forward(&mut host, &sent);
    let blocks = take_all(&mut host, 4096);
    sent.retain(|datagram| *datagram != big);
    assert_eq!(blocks, built(limits, 0, &sent));
    let counters = host.modem.data_counters(0).unwrap();
    assert_eq!(counters.forwarded_in, 41);
    assert_eq!(counters.forward_dropped, 1);
    assert_eq!(counters.datagrams_out, 40);
}

#[test]
fn the_data_interface_going_off_drops_what_is_pending() {
    let mut host = connected(&[0]);
    let sent: Vec<(u8, Vec<u8>)> = (0..100).map(|seq| from_network(0, seq, 1400)).collect();
    forward(&mut host, &sent);
    assert_eq!(host.modem.queued().1, 100);
    host.modem.set_data_alt_setting(0, 0);
    assert_eq!(host.modem.queued(), (0, 0));
    host.modem.set_data_alt_setting(0, 1);
    assert!(host
        .modem
        .poll_bulk_in(host.now, 0, 16384)
        .unwrap()
        .is_none());
    // What comes after is sent as usual.
    forward(&mut host, &sent[..1]);
    let blocks = take_all(&mut host, 16384);
    assert_eq!(blocks.len(), 1);
    assert_eq!(datagrams(&blocks[0])[0].1, sent[0].1);
}

#[test]
fn one_datagram_per_block_is_bounded_by_the_blocks_waiting() {
    let mut host = connected(&[0]);
    // SET_NTB_INPUT_SIZE with wNtbInMaxDatagrams 1.
    let size = NtbInputSize {
        max_size: 16384,
        max_datagrams: Some(1),
    };
    let setup = SetupPacket::class(ClassRequest::SetNtbInputSize, 1, 0, 8, false);
    host.modem
        .handle_class_request(host.now, 0, setup, &size.emit())
        .unwrap();
    let sent: Vec<(u8, Vec<u8>)> = (0..MAX_FORWARDED_DATAGRAMS)
        .map(|seq| from_network(0, seq, 200))
        .collect();
    let accepted = sent
        .iter()
        .filter(|(_, packet)| host.modem.handle_network_in(packet))
        .count();
    // The ready blocks and the open one, a datagram each.
    assert_eq!(accepted, MAX_READY_BLOCKS + 1);
    assert_eq!(host.modem.network_room(), 0);
    let blocks = take_all(&mut host, 16384);
    assert_eq!(blocks.len(), accepted);
    let got: Vec<Vec<u8>> = blocks
        .iter()
        .flat_map(|block| datagrams(block))
        .map(|(_, datagram)| datagram)
        .collect();
    let expected: Vec<Vec<u8>> = sent[..accepted].iter().map(|(_, d)| d.clone()).collect();
    assert_eq!(got, expected);
    assert_eq!(host.modem.network_room(), MAX_FORWARDED_DATAGRAMS);
}

#[test]
fn blocks_built_outside_go_as_built_and_are_the_models_own_byte_for_byte() {
    let scenario = Scenario::default_dssa();
    let max_size = scenario.ntb.in_max_size;
    let mut host = connected(&[0, 1]);
    let sent: Vec<(u8, Vec<u8>)> = (0..200)
        .map(|seq| from_network(u8::from(seq % 3 == 2), seq, [1400, 40, 999][seq % 3]))
        .collect();
    let mut block = host.modem.network_block(0).unwrap();
    let mut handed = cut(&mut host, &mut block, &sent);
    handed.push(host.modem.hand_over_network_block(&mut block));
    assert!(handed.len() >= 3, "{} blocks", handed.len());
    assert!(handed.iter().all(|h| h.as_built), "{handed:?}");
    assert_eq!(
        handed.last().unwrap().room,
        MAX_FORWARDED_DATAGRAMS - sent.len()
    );
    assert!(block.is_empty());
    let blocks = take_all(&mut host, usize::try_from(max_size).unwrap());
    assert_eq!(blocks, built(in_limits(&scenario, max_size), 0, &sent));
    let counters = host.modem.data_counters(0).unwrap();
    assert_eq!(counters.forwarded_in, 200);
    assert_eq!(counters.datagrams_out, 200);
    assert_eq!(counters.forward_dropped, 0);
    assert_eq!(host.modem.queued(), (0, 0));
}

#[test]
fn a_block_built_under_a_stale_shape_is_laid_out_again_in_the_new_one() {
    let scenario = Scenario::default_dssa();
    let mut host = connected(&[0]);
    let mut sent: Vec<(u8, Vec<u8>)> = (0..20).map(|seq| from_network(0, seq, 1400)).collect();
    // Fits the block's shape (dwNtbInMaxSize), not a transfer of 4096.
    let big = from_network(0, 99, 6000);
    sent.insert(7, big.clone());
    let mut block = host.modem.network_block(0).unwrap();
    assert!(cut(&mut host, &mut block, &sent).is_empty());
    // Meanwhile the host takes an echo reply in a transfer of 4096 bytes:
    // the function's blocks are 4096 bytes from now on.
    let ping = net::icmpv4_echo_request(HOST4, data_support::GW4, 7, 1, b"reshape");
    host.modem
        .handle_bulk_out(host.now, 0, &ntb(NtbFormat::Ntb16, &[(0, ping)]))
        .unwrap();
    let reply = host.modem.poll_bulk_in(host.now, 0, 4096).unwrap().unwrap();
    assert_eq!(datagrams(&reply).len(), 1);
    let handed = host.modem.hand_over_network_block(&mut block);
    assert!(!handed.as_built);
    assert!(handed.routed, "the shape, not a route, refused it");
    sent.retain(|datagram| *datagram != big);
    let limits = in_limits(&scenario, 4096);
    let relaid = take_all(&mut host, 4096);
    assert!(
        relaid == built(limits, 1, &sent),
        "not laid out as a builder of 4096 would"
    );
    let counters = host.modem.data_counters(0).unwrap();
    assert_eq!(counters.forwarded_in, 20);
    assert_eq!(counters.forward_dropped, 1);
    // The block now builds in the new shape, and goes as built again.
    let more: Vec<(u8, Vec<u8>)> = (0..5).map(|seq| from_network(0, 100 + seq, 1400)).collect();
    assert!(cut(&mut host, &mut block, &more).iter().all(|h| h.as_built));
    assert!(host.modem.hand_over_network_block(&mut block).as_built);
    let first = u16::try_from(relaid.len() + 1).unwrap();
    assert!(take_all(&mut host, 4096) == built(limits, first, &more));
}

#[test]
fn a_session_that_leaves_while_a_block_is_built_gets_none_of_it() {
    let scenario = Scenario::default_dssa();
    let max_size = scenario.ntb.in_max_size;
    let mut host = connected(&[0, 1]);
    let sent: Vec<(u8, Vec<u8>)> = (0..30)
        .map(|seq| from_network(u8::from(seq % 2 == 1), seq, 1000))
        .collect();
    let mut block = host.modem.network_block(0).unwrap();
    assert!(cut(&mut host, &mut block, &sent).is_empty());
    connect(&mut host, 1, bc::ActivationCommand::Deactivate);
    let handed = host.modem.hand_over_network_block(&mut block);
    assert!(!handed.as_built);
    assert!(!handed.routed);
    let left: Vec<(u8, Vec<u8>)> = sent.iter().filter(|(s, _)| *s == 0).cloned().collect();
    assert_eq!(
        take_all(&mut host, usize::try_from(max_size).unwrap()),
        built(in_limits(&scenario, max_size), 0, &left)
    );
    let counters = host.modem.data_counters(0).unwrap();
    assert_eq!(counters.forwarded_in, 15);
    assert_eq!(counters.forward_dropped, 15);
}

#[test]
fn a_block_past_the_bound_on_pending_datagrams_is_taken_up_to_it() {
    let mut host = connected(&[0]);
    let queued: Vec<(u8, Vec<u8>)> = (0..MAX_FORWARDED_DATAGRAMS - 10)
        .map(|seq| from_network(0, seq, 200))
        .collect();
    for (_, packet) in &queued {
        assert!(host.modem.handle_network_in(packet));
    }
    let sent: Vec<(u8, Vec<u8>)> = (0..30)
        .map(|seq| from_network(0, 1000 + seq, 200))
        .collect();
    let mut block = host.modem.network_block(0).unwrap();
    assert!(cut(&mut host, &mut block, &sent).is_empty());
    let handed = host.modem.hand_over_network_block(&mut block);
    assert!(!handed.as_built);
    assert!(handed.routed, "the bound, not a route, refused it");
    assert_eq!(handed.room, 0);
    let counters = host.modem.data_counters(0).unwrap();
    assert_eq!(counters.forwarded_in, MAX_FORWARDED_DATAGRAMS as u64);
    assert_eq!(counters.forward_dropped, 20);
    // The first ten, in order, after everything queued before.
    let got: Vec<Vec<u8>> = take_all(&mut host, 16384)
        .iter()
        .flat_map(|block| datagrams(block))
        .map(|(_, datagram)| datagram)
        .collect();
    let expected: Vec<Vec<u8>> = queued
        .iter()
        .chain(&sent[..10])
        .map(|(_, datagram)| datagram.clone())
        .collect();
    assert_eq!(got, expected);
}

#[test]
fn no_block_is_built_for_a_function_whose_data_interface_is_off() {
    let mut host = connected(&[0]);
    host.modem.set_data_alt_setting(0, 0);
    assert!(host.modem.network_block(0).is_none());
    host.modem.set_data_alt_setting(0, 1);
    assert!(host.modem.network_block(0).is_some());
}
