//! The data-path pump end to end: the in-memory packet device on one side,
//! the simulated modem (through the in-process transport) or scripted pipes
//! on the other.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "datapath_support.rs"]
mod support;

use mbim_protocol::ntb::{BuildLimits, NdpSignature, Ntb, NtbBuilder, NtbFormat, NtbParameters};
use mbim_transport::TransportError;
use mbimd::datapath::{self, MemoryDevice, Pump, PumpConfig, StopReason};
use std::time::{Duration, Instant};
use support::{
    connect, connect_with, is_reply, ping, udp_to_sink, Corrupting, RecordingOut, ScriptedIn,
};

const WAIT: Duration = Duration::from_secs(5);

async fn receive(peer: &datapath::MemoryPeer) -> Vec<u8> {
    tokio::time::timeout(WAIT, peer.receive())
        .await
        .expect("a packet arrives in time")
        .unwrap()
}

#[tokio::test]
async fn a_ping_written_to_the_device_comes_back_as_the_echo_reply() {
    let mut sim = connect().await;
    let (bulk_in, bulk_out) = sim.take_pipes();
    let pump = Pump::new(bulk_in, bulk_out, sim.config()).unwrap();
    let (device, peer) = MemoryDevice::new(64);
    let handle = datapath::spawn(pump, device);

    peer.inject(&ping(1, 32)).await.unwrap();
    let reply = receive(&peer).await;
    assert!(is_reply(&reply, 1), "{reply:02x?}");

    // The pump runs on a thread of its own and counts an NTB's datagrams
    // once they are written: the counts are final once it has stopped.
    let counters = handle.counters();
    assert_eq!(
        tokio::time::timeout(WAIT, handle.stop())
            .await
            .unwrap()
            .unwrap(),
        StopReason::Stopped
    );
    let counters = counters.snapshot();
    assert_eq!(
        (counters.tx_packets, counters.tx_ntbs),
        (1, 1),
        "{counters:?}"
    );
    assert_eq!(counters.tx_bytes, 60);
    assert_eq!(
        (counters.rx_packets, counters.rx_ntbs),
        (1, 1),
        "{counters:?}"
    );
    assert_eq!(counters.rx_bytes, 60);
    assert_eq!(
        counters.rx_malformed_ntbs + counters.rx_errors + counters.tx_errors,
        0
    );
}

#[tokio::test]
async fn ntb32_carries_the_ping_too() {
    let mut sim = connect_with(NtbFormat::Ntb32).await;
    let (bulk_in, bulk_out) = sim.take_pipes();
    let pump = Pump::new(bulk_in, bulk_out, sim.config()).unwrap();
    let (device, peer) = MemoryDevice::new(64);
    let handle = datapath::spawn(pump, device);
    for seq in 1..=3 {
        peer.inject(&ping(seq, 1000)).await.unwrap();
        assert!(is_reply(&receive(&peer).await, seq));
    }
    assert_eq!(sim.sim_counter("ntbs_bad"), 0);
    let counters = handle.counters();
    handle.stop().await.unwrap();
    assert_eq!(counters.snapshot().rx_packets, 3);
}

#[tokio::test]
async fn many_packets_travel_in_few_ntbs_both_ways() {
    let mut sim = connect().await;
    let (bulk_in, bulk_out) = sim.take_pipes();
    let config = sim.config();
    let (device, peer) = MemoryDevice::new(1024);
    // Queued before the pump starts, so it finds them all waiting.
    const COUNT: u16 = 300;
    for seq in 0..COUNT {
        peer.inject(&ping(seq, 100)).await.unwrap();
    }
    let pump = Pump::new(bulk_in, bulk_out, config).unwrap();
    let handle = datapath::spawn(pump, device);
    for seq in 0..COUNT {
        let reply = receive(&peer).await;
        assert!(is_reply(&reply, seq), "reply {seq}: {reply:02x?}");
    }
    let counters = handle.counters();
    handle.stop().await.unwrap();
    let counters = counters.snapshot();
    assert_eq!(counters.tx_packets, u64::from(COUNT));
    assert_eq!(counters.rx_packets, u64::from(COUNT));
    // 64 datagrams per OUT NTB at most (the scenario's wNtbOutMaxDatagrams).
    assert!(counters.tx_ntbs <= 8, "{counters:?}");
    assert!(counters.rx_ntbs <= 30, "{counters:?}");
    assert_eq!(sim.sim_counter("ntbs_in"), counters.tx_ntbs);
    assert_eq!(sim.sim_counter("ntbs_bad"), 0);
}

#[tokio::test]
async fn a_malformed_ntb_is_counted_and_the_pump_goes_on() {
    let mut sim = connect().await;
    let (bulk_in, bulk_out) = sim.take_pipes();
    let bulk_in = Corrupting {
        inner: bulk_in,
        corrupt: std::sync::Arc::new(std::sync::Mutex::new(1)),
    };
    let pump = Pump::new(bulk_in, bulk_out, sim.config()).unwrap();
    let (device, peer) = MemoryDevice::new(64);
    let handle = datapath::spawn(pump, device);

    peer.inject(&ping(1, 8)).await.unwrap();
    let deadline = Instant::now() + WAIT;
    while handle.counters().snapshot().rx_malformed_ntbs == 0 {
        assert!(Instant::now() < deadline, "the corrupted NTB is counted");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(peer.try_receive().unwrap().is_none(), "nothing delivered");

    peer.inject(&ping(2, 8)).await.unwrap();
    assert!(is_reply(&receive(&peer).await, 2));
    assert!(!handle.is_finished());
    let counters = handle.counters();
    handle.stop().await.unwrap();
    let counters = counters.snapshot();
    assert_eq!(counters.rx_malformed_ntbs, 1, "{counters:?}");
    assert_eq!((counters.rx_ntbs, counters.rx_packets), (2, 1));
}

#[tokio::test]
async fn unplugging_mid_transfer_stops_the_pump_cleanly() {
    let mut sim = connect().await;
    let (bulk_in, bulk_out) = sim.take_pipes();
    let pump = Pump::new(bulk_in, bulk_out, sim.config()).unwrap();
    let (device, peer) = MemoryDevice::new(4096);
    let handle = datapath::spawn(pump, device);
    sim.start_traffic(20_000, 500);
    let first = receive(&peer).await;
    assert_eq!(first[9], 17, "UDP from the generator");

    sim.modem
        .control(mbim_sim::control::ControlCommand::Unplug)
        .unwrap();
    let exit = tokio::time::timeout(WAIT, handle.join())
        .await
        .expect("the pump notices the unplug");
    assert_eq!(exit.unwrap(), StopReason::Disconnected);
}

#[tokio::test]
async fn dropping_the_handle_stops_the_pump_and_cancels_its_transfers() {
    let (bulk_in, script, _) = ScriptedIn::new();
    let (bulk_out, _) = RecordingOut::new();
    let mut config = PumpConfig::new(0, NtbFormat::Ntb16, parameters());
    config.in_transfers = 3;
    let pump = Pump::new(bulk_in, bulk_out, config).unwrap();
    let (device, _peer) = MemoryDevice::new(8);
    let handle = datapath::spawn(pump, device);
    let deadline = Instant::now() + WAIT;
    while script.lock().unwrap().submitted < 3 {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    drop(handle);
    while script.lock().unwrap().cancelled < 3 {
        assert!(Instant::now() < deadline, "every transfer is cancelled");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let script = script.lock().unwrap();
    assert_eq!((script.submitted, script.max_pending), (3, 3));
}

fn parameters() -> NtbParameters {
    NtbParameters {
        formats_supported: 1,
        in_max_size: 16384,
        in_divisor: 4,
        in_payload_remainder: 0,
        in_alignment: 4,
        out_max_size: 16384,
        out_divisor: 4,
        out_payload_remainder: 0,
        out_alignment: 4,
        out_max_datagrams: 32,
    }
}

fn block(datagrams: &[(NdpSignature, &[u8])]) -> Vec<u8> {
    let mut builder = NtbBuilder::new(
        NtbFormat::Ntb16,
        BuildLimits::from_parameters(&parameters()),
    )
    .unwrap();
    for (signature, data) in datagrams {
        builder.push(*signature, data).unwrap();
    }
    builder.finish().unwrap().to_vec()
}

#[tokio::test]
async fn only_our_sessions_datagrams_reach_the_device_and_bad_blocks_are_survived() {
    let (bulk_in, script, changed) = ScriptedIn::new();
    let (bulk_out, _) = RecordingOut::new();
    let pump = Pump::new(
        bulk_in,
        bulk_out,
        PumpConfig::new(2, NtbFormat::Ntb16, parameters()),
    )
    .unwrap();
    let counters = pump.counters();
    let (device, peer) = MemoryDevice::new(64);
    let handle = datapath::spawn(pump, device);

    let mut truncated = block(&[(NdpSignature::Ips(2), b"lost")]);
    truncated.truncate(truncated.len() - 4);
    {
        let mut script = script.lock().unwrap();
        script.blocks.push_back(Ok(block(&[
            (NdpSignature::Ips(2), b"one"),
            (NdpSignature::Ips(0), b"session 0"),
            (NdpSignature::Dss(2), b"a device service"),
            (NdpSignature::Ips(2), b"two"),
        ])));
        script
            .blocks
            .push_back(Ok(b"garbage, no NTB at all".to_vec()));
        script.blocks.push_back(Ok(truncated));
        script.blocks.push_back(Err(TransportError::Stall));
        script
            .blocks
            .push_back(Ok(block(&[(NdpSignature::Ips(2), b"three")])));
    }
    changed.notify_waiters();
    assert_eq!(receive(&peer).await, b"one");
    assert_eq!(receive(&peer).await, b"two");
    assert_eq!(receive(&peer).await, b"three");
    script
        .lock()
        .unwrap()
        .blocks
        .push_back(Err(TransportError::Disconnected));
    changed.notify_waiters();
    assert_eq!(
        tokio::time::timeout(WAIT, handle.join())
            .await
            .unwrap()
            .unwrap(),
        StopReason::Disconnected
    );
    // Final once the pump (on its own thread) has returned; the disconnect
    // itself is not counted.
    let snapshot = counters.snapshot();
    assert_eq!(snapshot.rx_packets, 3, "{snapshot:?}");
    assert_eq!(snapshot.rx_bytes, 11);
    assert_eq!(snapshot.rx_dropped, 2);
    assert_eq!(snapshot.rx_malformed_ntbs, 2);
    assert_eq!(snapshot.rx_errors, 1, "the stalled transfer");
    assert_eq!(snapshot.rx_ntbs, 4);
}

#[tokio::test]
async fn blocks_wait_for_the_flush_delay_unless_the_device_runs_dry() {
    for flush_when_idle in [true, false] {
        let (bulk_in, _, _) = ScriptedIn::new();
        let (bulk_out, sent) = RecordingOut::new();
        let mut config = PumpConfig::new(0, NtbFormat::Ntb16, parameters());
        config.flush_when_idle = flush_when_idle;
        config.flush_delay = Duration::from_millis(150);
        let pump = Pump::new(bulk_in, bulk_out, config).unwrap();
        let (device, peer) = MemoryDevice::new(64);
        let handle = datapath::spawn(pump, device);
        let injected = Instant::now();
        peer.inject(b"\x45 a lone packet").await.unwrap();
        let deadline = injected + WAIT;
        while sent.lock().unwrap().is_empty() {
            assert!(Instant::now() < deadline);
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let (at, ntb) = sent.lock().unwrap()[0].clone();
        let waited = at - injected;
        if flush_when_idle {
            assert!(waited < Duration::from_millis(100), "{waited:?}");
        } else {
            assert!(waited >= Duration::from_millis(150), "{waited:?}");
        }
        let ntb = Ntb::new_checked(&ntb).unwrap();
        let datagrams: Vec<_> = ntb.datagrams().map(Result::unwrap).collect();
        assert_eq!(datagrams.len(), 1);
        assert_eq!(datagrams[0].signature, NdpSignature::Ips(0));
        assert_eq!(datagrams[0].data, b"\x45 a lone packet");
        handle.stop().await.unwrap();
    }
}

#[tokio::test]
async fn a_full_block_goes_out_and_oversized_packets_are_dropped() {
    let (bulk_in, _, _) = ScriptedIn::new();
    let (bulk_out, sent) = RecordingOut::new();
    let mut config = PumpConfig::new(0, NtbFormat::Ntb16, parameters());
    config.flush_when_idle = false;
    config.flush_delay = Duration::from_secs(3600);
    let pump = Pump::new(bulk_in, bulk_out, config).unwrap();
    let (device, peer) = MemoryDevice::new(64);
    let handle = datapath::spawn(pump, device);
    peer.inject(&[0x45; 20_000]).await.unwrap();
    // 32 datagrams fill a block; the 33rd makes it go out.
    for _ in 0..33 {
        peer.inject(&[0x45; 100]).await.unwrap();
    }
    let deadline = Instant::now() + WAIT;
    while sent.lock().unwrap().is_empty() {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let blocks = sent.lock().unwrap().clone();
    assert_eq!(blocks.len(), 1);
    assert_eq!(
        Ntb::new_checked(&blocks[0].1).unwrap().datagrams().count(),
        32
    );
    let counters = handle.counters();
    handle.stop().await.unwrap();
    let counters = counters.snapshot();
    assert_eq!((counters.tx_dropped, counters.tx_packets), (1, 33));
}

#[tokio::test]
async fn a_device_that_keeps_failing_ends_the_pump_with_an_error() {
    let (bulk_in, _, _) = ScriptedIn::new();
    let (bulk_out, _) = RecordingOut::new();
    let pump = Pump::new(
        bulk_in,
        bulk_out,
        PumpConfig::new(0, NtbFormat::Ntb16, parameters()),
    )
    .unwrap();
    let (device, peer) = MemoryDevice::new(8);
    let handle = datapath::spawn(pump, device);
    peer.close();
    let exit = tokio::time::timeout(WAIT, handle.join()).await.unwrap();
    assert!(
        matches!(
            exit,
            Err(datapath::DatapathError::Device {
                operation: "read",
                ..
            })
        ),
        "{exit:?}"
    );
}

#[tokio::test]
async fn traffic_mode_throughput_smoke() {
    let mut sim = connect().await;
    let (bulk_in, bulk_out) = sim.take_pipes();
    let pump = Pump::new(bulk_in, bulk_out, sim.config()).unwrap();
    let (device, peer) = MemoryDevice::new(4096);
    let handle = datapath::spawn(pump, device);

    // Modem → host: the generator as fast as the host reads.
    sim.start_traffic(0, 1400);
    let started = Instant::now();
    let mut received = 0u64;
    while started.elapsed() < Duration::from_millis(300) {
        let packet = receive(&peer).await;
        assert_eq!(packet.len(), 1428);
        received += 1;
        peer.recycle(packet);
    }
    let elapsed = started.elapsed().as_secs_f64();
    sim.start_sink();
    let down = received as f64 / elapsed;
    while peer.try_receive().unwrap().is_some() {}

    // Host → modem: UDP to the simulator's sink.
    const UP: u64 = 20_000;
    let packet = udp_to_sink(1400);
    let started = Instant::now();
    for _ in 0..UP {
        peer.inject(&packet).await.unwrap();
    }
    let deadline = Instant::now() + WAIT;
    while sim.sim_counter("sink_packets") < UP {
        assert!(
            Instant::now() < deadline,
            "{}",
            sim.sim_counter("sink_packets")
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let up = UP as f64 / started.elapsed().as_secs_f64();
    let counters = handle.counters().snapshot();
    println!(
        "traffic smoke (debug build): down {down:.0} pkt/s ({:.0} Mbit/s), up {up:.0} pkt/s ({:.0} Mbit/s); {counters:?}",
        down * 1428.0 * 8.0 / 1e6,
        up * 1428.0 * 8.0 / 1e6
    );
    assert!(received > 100, "{received}");
    assert_eq!(counters.tx_packets, UP);
    assert!(counters.tx_ntbs < UP / 4, "{counters:?}");
    assert_eq!(
        counters.rx_malformed_ntbs + counters.rx_errors + counters.tx_errors,
        0
    );
    handle.stop().await.unwrap();
}

/// The simulated function halts an endpoint (as firmware does on an error);
/// the pump clears the halt (CLEAR_FEATURE ENDPOINT_HALT) and goes on,
/// rather than resubmitting into a halted endpoint until it gives up.
#[tokio::test]
async fn a_stalled_endpoint_is_cleared_and_traffic_resumes() {
    use mbim_sim::control::{ControlCommand, Endpoint, Fault};
    for endpoint in [Endpoint::BulkIn, Endpoint::BulkOut] {
        let mut sim = connect().await;
        let (bulk_in, bulk_out) = sim.take_pipes();
        let pump = Pump::new(bulk_in, bulk_out, sim.config()).unwrap();
        let (device, peer) = MemoryDevice::new(64);
        let handle = datapath::spawn(pump, device);
        peer.inject(&ping(1, 32)).await.unwrap();
        assert!(is_reply(&receive(&peer).await, 1));

        sim.modem
            .control(ControlCommand::Faults {
                function: 0,
                fault: Fault::StallEndpoint { endpoint },
            })
            .unwrap();
        // The ping that meets the halt is lost (the stall fails its
        // transfer); one of the next ones gets through once the pump has
        // cleared the halt.
        let mut answered = false;
        for seq in 2..20 {
            peer.inject(&ping(seq, 32)).await.unwrap();
            let reply = tokio::time::timeout(Duration::from_millis(200), peer.receive()).await;
            if let Ok(Ok(reply)) = reply {
                assert!(is_reply(&reply, seq) || reply[9] == 1, "{reply:02x?}");
                answered = true;
                break;
            }
        }
        assert!(answered, "{endpoint:?}: traffic resumes after the stall");
        assert!(!handle.is_finished(), "{endpoint:?}: the pump runs on");
        let counters = handle.counters().snapshot();
        assert!(
            counters.rx_errors + counters.tx_errors >= 1,
            "{endpoint:?}: the stall is counted: {counters:?}"
        );
        handle.stop().await.unwrap();
    }
}

/// The halt is cleared with nothing pending (nusb and the USB spec ask for
/// that), and the transfers cancelled for it are submitted again, so the
/// pump keeps its depth of transfers in flight.
#[tokio::test]
async fn a_stall_is_cleared_with_nothing_pending_and_the_queue_refilled() {
    let (bulk_in, script, changed) = ScriptedIn::new();
    let (bulk_out, _) = RecordingOut::new();
    let mut config = PumpConfig::new(0, NtbFormat::Ntb16, parameters());
    config.in_transfers = 4;
    let pump = Pump::new(bulk_in, bulk_out, config).unwrap();
    let (device, peer) = MemoryDevice::new(8);
    let handle = datapath::spawn(pump, device);
    script
        .lock()
        .unwrap()
        .blocks
        .push_back(Err(TransportError::Stall));
    changed.notify_waiters();
    let deadline = Instant::now() + WAIT;
    while script.lock().unwrap().halts_cleared == 0 {
        assert!(Instant::now() < deadline, "the halt is cleared");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    {
        let script = script.lock().unwrap();
        assert_eq!(script.pending_at_clear, 0, "nothing pending at the clear");
        assert_eq!(script.cancelled, 3, "the other transfers were cancelled");
    }
    let ping_block = block(&[(NdpSignature::Ips(0), &ping(7, 8))]);
    script.lock().unwrap().blocks.push_back(Ok(ping_block));
    changed.notify_waiters();
    let packet = receive(&peer).await;
    assert_eq!(packet, ping(7, 8));
    assert_eq!(script.lock().unwrap().max_pending, 4);
    assert!(!handle.is_finished());
    handle.stop().await.unwrap();
}
