//! The real network's reader when a host stops reading
//! (simulator/src/forward/reader.rs): it waits a short while for room in
//! the queues towards the host, then reads on, and what finds a queue full
//! is dropped and counted; the other function's host, which reads, keeps
//! getting its datagrams all the while. A real TUN device in a network
//! namespace of the test's own, the peer's kernel sending UDP through it;
//! no time is measured (a hang guard bounds each wait).
//!
//! Needs root and /dev/net/tun (skipped, saying so, otherwise).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod data_support;
mod device_support;

use data_support::datagrams;
use device_support::{connect, open};
use mbim_sim::device::{SimFunction, SimModem};
use mbim_sim::model::data::{DataCounters, MAX_FORWARDED_DATAGRAMS};
use mbim_sim::scenario::Scenario;
use mbimd_test_support::netns::{privileged, Namespace};
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

/// The peer's address on its TUN device.
const PEER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
/// The two functions' session addresses (two-executors.toml).
const HOST0: Ipv4Addr = Ipv4Addr::new(10, 64, 0, 2);
const HOST1: Ipv4Addr = Ipv4Addr::new(10, 65, 0, 2);
/// Datagrams sent at a time: fewer than the TUN device's own queue holds
/// (txqueuelen 500), so the kernel never drops one and every datagram
/// sent is one the reader reads.
const BURST: usize = 200;
/// A hang guard, not a speed expectation.
const GUARD: Duration = Duration::from_secs(30);

fn counters(modem: &SimModem, function: usize) -> DataCounters {
    modem
        .with_model(|model, _| model.data_counters(function))
        .unwrap()
}

/// Waits until the reader has taken `total` datagrams for `function`
/// from the device, queued or dropped.
async fn taken(modem: &SimModem, function: usize, total: u64) -> DataCounters {
    let deadline = Instant::now() + GUARD;
    loop {
        let counters = counters(modem, function);
        if counters.forwarded_in + counters.forward_dropped >= total {
            return counters;
        }
        assert!(
            Instant::now() < deadline,
            "the reader stalled: {} of {total} datagrams taken ({counters:?})",
            counters.forwarded_in + counters.forward_dropped
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Reads `function`'s bulk IN until every payload of `expected` came.
async fn receive(function: &SimFunction, mut expected: Vec<Vec<u8>>) {
    let deadline = tokio::time::Instant::now() + GUARD;
    while !expected.is_empty() {
        let block = tokio::time::timeout_at(deadline, function.next_bulk_in(65536))
            .await
            .expect("the other function's datagrams within the guard")
            .unwrap();
        for (_, datagram) in datagrams(&block) {
            // IPv4 (20 bytes) and UDP (8) headers, then the payload.
            let payload = datagram.get(28..).unwrap_or_default();
            expected.retain(|wanted| wanted.as_slice() != payload);
        }
    }
}

#[tokio::test]
async fn a_host_that_stops_reading_costs_drops_not_a_stalled_reader() {
    if !privileged() {
        println!("SKIP: needs root and /dev/net/tun");
        return;
    }
    let namespace = Namespace::create("mbimsim-room");
    namespace.ip(&["tuntap", "add", "dev", "fwd0", "mode", "tun"]);
    namespace.ip(&["addr", "add", "192.0.2.1/32", "dev", "fwd0"]);
    namespace.ip(&["link", "set", "fwd0", "up"]);
    namespace.ip(&["route", "add", "10.64.0.0/15", "dev", "fwd0"]);

    let scenario = Scenario::from_toml_str(
        include_str!("../scenarios/two-executors.toml"),
        "two-executors.toml",
    )
    .unwrap();
    let modem = SimModem::new(scenario).unwrap();
    let stalled = modem.function(0).unwrap();
    let reading = modem.function(1).unwrap();
    for function in [&stalled, &reading] {
        open(function).await;
        connect(function, 2).await;
    }
    let target = format!("fwd0@{}", namespace.name()).parse().unwrap();
    let _forwarder = modem.forward(&target, false).await.unwrap();
    // Bound to the peer's address inside the namespace.
    let socket = namespace.run(|| UdpSocket::bind(SocketAddr::from((PEER, 0))).unwrap());

    // Function 0's host never reads: its queue fills, and what comes after
    // is dropped, counted, while the reader keeps draining the device.
    let total = MAX_FORWARDED_DATAGRAMS + 2 * BURST;
    let mut sent = 0usize;
    while sent < total {
        for _ in 0..BURST.min(total - sent) {
            socket
                .send_to(&sent.to_be_bytes(), SocketAddr::from((HOST0, 9)))
                .unwrap();
            sent += 1;
        }
        taken(&modem, 0, u64::try_from(sent).unwrap()).await;
    }
    let full = taken(&modem, 0, u64::try_from(total).unwrap()).await;
    assert_eq!(
        full.forwarded_in,
        u64::try_from(MAX_FORWARDED_DATAGRAMS).unwrap(),
        "{full:?}"
    );
    assert_eq!(
        full.forward_dropped,
        u64::try_from(total - MAX_FORWARDED_DATAGRAMS).unwrap(),
        "{full:?}"
    );

    // With function 0 still full, function 1's host gets every datagram
    // sent to it.
    let payloads: Vec<Vec<u8>> = (0..20u32)
        .map(|n| format!("to function 1, {n}").into_bytes())
        .collect();
    for payload in &payloads {
        socket
            .send_to(payload, SocketAddr::from((HOST1, 9)))
            .unwrap();
    }
    receive(&reading, payloads).await;
    assert_eq!(counters(&modem, 1).forward_dropped, 0);
}
