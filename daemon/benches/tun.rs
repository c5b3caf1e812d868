//! The data path end to end through real TUN devices, against the raw TUN
//! ceiling measured in the same run.
//!
//! The benchmark makes a network namespace of its own (deleted when it
//! ends) and moves into it before any thread starts, so every device,
//! address and socket below lives there and nothing touches the machine's
//! interfaces. In it:
//!
//! * `mbim0`: the TUN device as mbimd opens it (`Netdev::create`), at
//!   10.64.0.2/30, the default scenario's host address, with the pump
//!   between it and a session;
//! * `raw0`: a plain TUN device at 10.99.0.2/30 that a bare loop reads or
//!   writes one packet per system call: the ceiling.
//!
//! For 64- and 1400-byte IP packets:
//!
//! * **TX** (host → modem): a UDP sender using `UDP_SEGMENT` (one system
//!   call per 64 datagrams, so it is never the limit) sends to the gateway's
//!   sink port through `mbim0` (counted: the datagrams that reached the
//!   simulator's sink, or that the pump put into NTBs) or to 10.99.0.1
//!   through `raw0` (counted: the bare reader's reads).
//! * **RX** (modem → host): the simulator's traffic generator (or NTBs
//!   replayed) towards 10.64.0.2, counted as the pump's TUN writes; the
//!   ceiling is a bare loop writing the same datagram into `raw0`. A UDP
//!   socket bound to the destination port (never read) takes both.
//!
//! Two pump rows per case: **sim**, the pump with the in-process simulated
//! modem as `mbimd --simulate` runs it (the simulator's NTB parsing, sink
//! and generator share the pump's task), and **pump**, the pump with pipes
//! that cost nothing (prebuilt NTBs in, OUT blocks discarded), which is
//! what a real modem's DMA costs the host's CPU.
//!
//! Then the same with offloads: `mbim0` and `raw0` opened again with
//! `IFF_VNET_HDR` (TSO/USO), the sender's super-packets reaching the pump
//! whole (it segments them into NTB datagrams), and the pump coalescing an
//! NTB's datagrams into one super-packet write (GRO). The raw ceilings are
//! a bare reader counting the datagrams in each super-packet it reads, and
//! a bare writer of super-packets as large as one NTB's worth of datagrams.
//! The receiving socket has `UDP_GRO`, so the kernel keeps them whole.
//! TX with offloads has two floors: **floor**, the bare blocking reader of
//! `raw0` also cutting each super-packet into an NTB, and **afl**, the
//! per-packet rows' async loop on the pump's own device (woken by
//! readiness, reading until the device runs dry) doing the same cut: what
//! an async path such as the pump cannot do with less.
//!
//! Each figure is the median of 3 windows of 1 s (after 0.2 s of warm-up),
//! in IP packets (datagrams) per second; ratios are over the raw ceiling's.
//! The targets are printed beside them; nothing here fails on a slow or
//! busy machine.
//!
//! Run as root: `cargo bench -p mbimd --bench tun`; `TUN_BENCH_ONLY=64TX,1400RX+o`
//! runs only the rows named (`+o`: with offloads), to profile one case.
//! `TUN_BENCH_PIN=1` pins the TX sender to the first CPU the process may
//! use and every other thread (readers, pumps, floors, the runtime) to the
//! second, so no reader shares a CPU with the sender for a whole run, as
//! the scheduler sometimes leaves them on two CPUs.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss,
    missing_docs,
    unreachable_pub
)]

#[path = "common/pipes.rs"]
mod pipes;
#[path = "../tests/datapath_support.rs"]
mod support;

use mbim_offload::checksum;
use mbim_offload::segment::Segments;
use mbim_protocol::ntb::{BuildLimits, NdpSignature, NtbBuilder, NtbFormat};
use mbim_sim::model::net::udp_packet;
use mbimd::datapath::{self, PumpConfig, PumpHandle};
use mbimd::netdev::{DnsBackend, InterfaceName, Netdev, NetdevOptions, TunOptions};
use mbimd_test_support::tools::IP;
use nix::sys::socket::{
    setsockopt,
    sockopt::{UdpGroSegment, UdpGsoSegment},
};
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const WARMUP: Duration = Duration::from_millis(200);
const WINDOW: Duration = Duration::from_secs(1);
const RUNS: usize = 3;
const TARGET: f64 = 0.95;
/// With offloads: over the per-packet raw ceiling, and over the raw
/// offload ceiling.
const OFFLOAD_TARGET_PER_PACKET: f64 = 3.0;
const OFFLOAD_TARGET: f64 = 0.8;
/// The virtio-net header before every read and write with offloads.
const VNET: usize = tun_rs::VIRTIO_NET_HDR_LEN;

const RAW_HOST: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 2);
const RAW_PEER: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 1);
const SINK_PORT: u16 = 5001;
const HOST_PORT: u16 = 5002;

/// The benchmark's network namespace, deleted when dropped.
struct Namespace(String);

impl Namespace {
    fn create() -> Namespace {
        let name = format!("mbimd-bench-{}", std::process::id());
        let status = IP.command().args(["netns", "add", &name]).status().unwrap();
        assert!(status.success(), "ip netns add {name}");
        Namespace(name)
    }

    /// Moves the calling thread into it; threads it starts later inherit it.
    fn enter(&self) {
        let file = std::fs::File::open(format!("/run/netns/{}", self.0)).unwrap();
        rustix::thread::move_into_link_name_space(
            std::os::fd::AsFd::as_fd(&file),
            Some(rustix::thread::LinkNameSpaceType::Network),
        )
        .unwrap();
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = IP.command().args(["netns", "del", &self.0]).status();
    }
}

/// `ip ARGS…` in the namespace the calling thread is in.
fn ip(args: &[&str]) {
    let status = IP.command().args(args).status().unwrap();
    assert!(status.success(), "ip {args:?}");
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// A thread sending UDP datagrams of `size` bytes in all (IP header
/// included) to `to` as fast as it can, 64 per system call.
struct Sender {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Sender {
    fn start(to: SocketAddr, size: usize) -> Sender {
        let payload = size - 28;
        let segments = (64).min(65_000 / payload);
        let socket = UdpSocket::bind("0.0.0.0:0").unwrap();
        socket.connect(to).unwrap();
        setsockopt(&socket, UdpGsoSegment, &(payload as i32)).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::spawn({
            let stop = stop.clone();
            move || {
                if let Some((sender_cpu, _)) = pinned_cpus() {
                    pin_to(sender_cpu);
                }
                let buffer = vec![0x5a; payload * segments];
                while !stop.load(Ordering::Relaxed) {
                    // A full TUN queue drops; the sender never waits.
                    let _ = socket.send(&buffer);
                }
            }
        });
        Sender {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
    }
}

/// With `TUN_BENCH_PIN=1`, the CPU for the TX sender and the CPU for every
/// other thread: the first two the process may run on (`None` without the
/// variable, or with fewer than two CPUs).
fn pinned_cpus() -> Option<(usize, usize)> {
    if std::env::var_os("TUN_BENCH_PIN").is_none_or(|value| value != "1") {
        return None;
    }
    let allowed = rustix::thread::sched_getaffinity(None).ok()?;
    let mut cpus = (0..rustix::thread::CpuSet::MAX_CPU).filter(|&cpu| allowed.is_set(cpu));
    Some((cpus.next()?, cpus.next()?))
}

/// Pins the calling thread (and the threads it starts after) to `cpu`.
fn pin_to(cpu: usize) {
    let mut set = rustix::thread::CpuSet::new();
    set.set(cpu);
    rustix::thread::sched_setaffinity(None, &set).unwrap();
}

/// Packets per second of `count` over one window after the warm-up.
async fn rate(count: impl Fn() -> u64) -> f64 {
    tokio::time::sleep(WARMUP).await;
    let (start, before) = (Instant::now(), count());
    tokio::time::sleep(WINDOW).await;
    let (elapsed, after) = (start.elapsed(), count());
    (after - before) as f64 / elapsed.as_secs_f64()
}

/// The datagrams in one read of a device with offloads: a super-packet's
/// segments, from its virtio-net header (UDP: `gso_size` payload bytes
/// after `csum_start` + 8; TCP is not sent here).
fn datagrams_in(read: &[u8]) -> u64 {
    let field = |at: usize| usize::from(u16::from_le_bytes([read[at], read[at + 1]]));
    if read.len() <= VNET || read[1] == 0 {
        return 1;
    }
    let (gso_size, csum_start) = (field(4), field(6));
    let payload = read.len().saturating_sub(VNET + csum_start + 8);
    payload.div_ceil(gso_size.max(1)).max(1) as u64
}

/// A bare blocking reader of `raw0` on a thread of its own, while a sender
/// sends `size`-byte datagrams to it: the rate of the datagrams `handle`
/// says each read held.
async fn tx_reader(
    raw: &Arc<tun_rs::SyncDevice>,
    size: usize,
    mut handle: impl FnMut(&mut [u8]) -> u64 + Send + 'static,
) -> f64 {
    let count = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let reader = std::thread::spawn({
        let (raw, count, stop) = (raw.clone(), count.clone(), stop.clone());
        move || {
            let mut buffer = vec![0u8; mbim_offload::segment::READ_BUFFER_LEN];
            while !stop.load(Ordering::Relaxed) {
                if let Ok(len) = raw.recv(&mut buffer) {
                    count.fetch_add(handle(&mut buffer[..len]), Ordering::Relaxed);
                }
            }
        }
    });
    let sender = Sender::start(SocketAddr::new(IpAddr::V4(RAW_PEER), SINK_PORT), size);
    let measured = rate(|| count.load(Ordering::Relaxed)).await;
    // The sender still runs, so the blocked reader wakes and sees `stop`.
    stop.store(true, Ordering::Relaxed);
    reader.join().unwrap();
    drop(sender);
    measured
}

/// The raw ceiling of TX: a bare blocking reader of `raw0` (counting the
/// datagrams of each super-packet with offloads).
async fn tx_raw(raw: &Arc<tun_rs::SyncDevice>, size: usize, offload: bool) -> f64 {
    tx_reader(
        raw,
        size,
        move |read| {
            if offload {
                datagrams_in(read)
            } else {
                1
            }
        },
    )
    .await
}

/// The floor of TX with offloads: the bare reader of `raw0` that also does
/// the work no path handing a modem checksummed datagrams in NTBs can
/// skip: every super-packet it reads cut into segments written straight
/// into an NTB of the default scenario's OUT limits (mbimd's own
/// `Segmenter` and `NtbBuilder`; a full block is finished and dropped).
async fn tx_floor(raw: &Arc<tun_rs::SyncDevice>, size: usize) -> f64 {
    tx_reader(raw, size, cut_into_ntbs()).await
}

/// The per-read work of the TX floors with offloads: each super-packet
/// cut into segments written straight into an NTB of the default
/// scenario's OUT limits (mbimd's own `Segmenter` and `NtbBuilder`; a full
/// block is finished and dropped); the datagrams it held.
fn cut_into_ntbs() -> impl FnMut(&mut [u8]) -> u64 + Send + 'static {
    let mut segmenter = datapath::Segmenter::new(datapath::ReadFraming::VirtioNet);
    let mut builder = NtbBuilder::new(
        NtbFormat::Ntb16,
        BuildLimits::from_parameters(&pipes::parameters()),
    )
    .unwrap();
    let signature = NdpSignature::Ips(0);
    move |read| {
        let Ok(segments) = segmenter.segments(read) else {
            return 0;
        };
        let mut pushed = 0;
        let mut push = |length: usize, fill: &dyn Fn(&mut [u8])| {
            if builder.push_with(signature, length, fill).is_err() {
                black_box(builder.finish());
                builder.push_with(signature, length, fill).unwrap();
            }
            pushed += 1;
        };
        match segments {
            Segments::Whole(packet) => push(packet.len(), &|slot| slot.copy_from_slice(packet)),
            Segments::Split(split) => {
                for index in 0..split.count() {
                    push(split.len(index), &|slot| {
                        split.write(index, slot);
                    });
                }
            }
        }
        pushed
    }
}

/// A UDP super-packet of `segments` datagrams of `size` bytes behind its
/// virtio-net header (USO, checksum partial), as GRO would write it.
fn super_packet(size: usize, segments: usize) -> Vec<u8> {
    let payload = size - 28;
    let udp_len = 8 + payload * segments;
    let mut packet = udp_packet(
        IpAddr::V4(RAW_PEER),
        9,
        IpAddr::V4(RAW_HOST),
        HOST_PORT,
        udp_len - 8,
    )
    .unwrap();
    // The pseudo-header sum in the checksum field: the kernel completes it.
    let mut sum = 17u32 + udp_len as u32;
    for pair in packet[12..20].chunks(2) {
        sum += u32::from(u16::from_be_bytes([pair[0], pair[1]]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    packet[26..28].copy_from_slice(&(sum as u16).to_be_bytes());
    let mut read = vec![1u8, 5];
    for field in [28u16, payload as u16, 20, 6] {
        read.extend_from_slice(&field.to_le_bytes());
    }
    read.extend_from_slice(&packet);
    read
}

/// The raw ceiling of RX: a bare loop writing one datagram into `raw0`, or
/// with offloads one super-packet of `segments` datagrams.
async fn rx_raw(raw: &Arc<tun_rs::SyncDevice>, size: usize, offload: Option<usize>) -> f64 {
    let (packet, datagrams) = match offload {
        None => (
            udp_packet(
                IpAddr::V4(RAW_PEER),
                9,
                IpAddr::V4(RAW_HOST),
                HOST_PORT,
                size - 28,
            )
            .unwrap(),
            1,
        ),
        Some(segments) => (super_packet(size, segments), segments as u64),
    };
    let count = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = std::thread::spawn({
        let (raw, count, stop) = (raw.clone(), count.clone(), stop.clone());
        move || {
            while !stop.load(Ordering::Relaxed) {
                if raw.send(&packet).is_ok() {
                    count.fetch_add(datagrams, Ordering::Relaxed);
                }
            }
        }
    });
    let measured = rate(|| count.load(Ordering::Relaxed)).await;
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    measured
}

/// The floor of RX with offloads: the bare writer of `raw0` that also does
/// the work no path coalescing an NTB's datagrams into a super-packet can
/// skip: each of `segments` datagrams of a real NTB checksummed, its IPv4
/// header and its UDP datagram, with mbimd's own routine (the kernel
/// trusts a coalesced super-packet's checksums, so its parts must be
/// checked), and the super-packet gathered from the NTB in one `writev`
/// (its headers, then each datagram's payload where it lies in the block).
async fn rx_floor(raw: &Arc<tun_rs::SyncDevice>, size: usize, segments: usize) -> f64 {
    let datagram = udp_packet(
        IpAddr::V4(RAW_PEER),
        9,
        IpAddr::V4(RAW_HOST),
        HOST_PORT,
        size - 28,
    )
    .unwrap();
    let block = pipes::full_block(&datagram);
    let headers = super_packet(size, segments)[..VNET + 28].to_vec();
    let count = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = std::thread::spawn({
        let (raw, count, stop) = (raw.clone(), count.clone(), stop.clone());
        move || {
            let ntb = mbim_protocol::ntb::Ntb::new_checked(&block).unwrap();
            while !stop.load(Ordering::Relaxed) {
                let mut parts = [std::io::IoSlice::new(&[]); 65];
                parts[0] = std::io::IoSlice::new(&headers);
                for (part, datagram) in parts[1..].iter_mut().zip(ntb.datagrams().take(segments)) {
                    let datagram = datagram.unwrap().data;
                    black_box(checksum::sum(black_box(&datagram[..20]), 0));
                    black_box(checksum::sum(black_box(&datagram[20..]), 0));
                    *part = std::io::IoSlice::new(&datagram[28..]);
                }
                if raw.send_vectored(&parts[..=segments]).is_ok() {
                    count.fetch_add(segments as u64, Ordering::Relaxed);
                }
            }
        }
    });
    let measured = rate(|| count.load(Ordering::Relaxed)).await;
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    measured
}

/// The floor of the per-packet path as the pump runs: a bare loop on a
/// thread of its own with a current-thread runtime and the same device
/// (`mbim0`, opened as mbimd opens it, registered with that runtime), as
/// `datapath::spawn` runs a pump, making only the system calls the pump
/// makes and counting, with none of the pump's work between them. TX: wait
/// for the device to be readable, then read until it is empty (the pump's
/// drain). RX: write an NTB's worth of datagrams per round and spend one
/// unit of the cooperative budget per round (the pump's per-NTB yield).
/// Where the pump is near this floor and the floor below the raw ceiling,
/// the gap is the cost of an async loop's readiness and wake-ups on this
/// machine, not the pump's.
async fn async_floor(
    device: &Arc<tun_rs::SyncDevice>,
    size: usize,
    tx: bool,
    mut per_read: impl FnMut(&mut [u8]) -> u64 + Send + 'static,
) -> f64 {
    use datapath::PacketDevice;
    let count = Arc::new(AtomicU64::new(0));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let work = {
        let (device, count) = (device.clone(), count.clone());
        async move {
            let device = datapath::TunDevice::register(device).unwrap();
            if tx {
                let mut buffer = vec![0u8; mbim_offload::segment::READ_BUFFER_LEN];
                loop {
                    let Ok(length) = device.recv(&mut buffer).await else {
                        continue;
                    };
                    let mut read = per_read(&mut buffer[..length]);
                    // As the pump: until the device runs dry, 64 reads a
                    // round at most (a device that never runs dry must
                    // still be counted).
                    for _ in 1..64 {
                        let Ok(length) = device.try_recv(&mut buffer) else {
                            break;
                        };
                        read += per_read(&mut buffer[..length]);
                    }
                    count.fetch_add(read, Ordering::Relaxed);
                }
            } else {
                let packet = towards_host(size);
                let per_round = datagrams_per_ntb(size) as u64;
                loop {
                    for _ in 0..per_round {
                        if device.try_send(&packet).is_err() {
                            let _ = device.send(&packet).await;
                        }
                    }
                    count.fetch_add(per_round, Ordering::Relaxed);
                    tokio::task::consume_budget().await;
                }
            }
        }
    };
    let thread = std::thread::Builder::new()
        .name("floor".to_owned())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                tokio::select! {
                    _ = work => {}
                    _ = stopped => {}
                }
            });
        })
        .unwrap();
    let sender = tx.then(|| {
        Sender::start(
            SocketAddr::new(IpAddr::V4(support::GATEWAY), SINK_PORT),
            size,
        )
    });
    let measured = rate(|| count.load(Ordering::Relaxed)).await;
    drop(sender);
    let _ = stop.send(());
    thread.join().unwrap();
    measured
}

/// What the pump talks to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Peer {
    /// The in-process simulated modem.
    Sim,
    /// Pipes that cost nothing: prebuilt NTBs in, OUT blocks discarded.
    Free,
}

fn free_pump(
    device: Arc<tun_rs::SyncDevice>,
    bulk_in: impl mbim_transport::InPipe + 'static,
) -> PumpHandle {
    let out = pipes::NullOut {
        done: Default::default(),
    };
    let mut config = PumpConfig::new(0, NtbFormat::Ntb16, pipes::parameters());
    config.framing = framing(&device);
    datapath::spawn(datapath::Pump::new(bulk_in, out, config).unwrap(), device)
}

/// The framing mbimd uses on `device`.
fn framing(device: &tun_rs::SyncDevice) -> datapath::ReadFraming {
    if device.tcp_gso() {
        datapath::ReadFraming::VirtioNet
    } else {
        datapath::ReadFraming::PlainPacket
    }
}

/// The pump between the simulated modem and `device`.
fn sim_pump(connected: &mut support::Connected, device: &Arc<tun_rs::SyncDevice>) -> PumpHandle {
    let (bulk_in, bulk_out) = connected.take_pipes();
    let mut config = connected.config();
    config.framing = framing(device);
    let pump = datapath::Pump::new(bulk_in, bulk_out, config).unwrap();
    datapath::spawn(pump, device.clone())
}

/// TX through the pump on `mbim0`.
async fn tx_pump(device: &Arc<tun_rs::SyncDevice>, size: usize, peer: Peer) -> f64 {
    let to = SocketAddr::new(IpAddr::V4(support::GATEWAY), SINK_PORT);
    match peer {
        Peer::Sim => {
            let mut connected = support::connect().await;
            connected.start_sink();
            let handle = sim_pump(&mut connected, device);
            let sender = Sender::start(to, size);
            let measured = rate(|| connected.sim_counter("sink_packets")).await;
            drop(sender);
            handle.stop().await.unwrap();
            measured
        }
        Peer::Free => {
            let (idle, _, _) = support::ScriptedIn::new();
            let handle = free_pump(device.clone(), idle);
            let counters = handle.counters();
            let sender = Sender::start(to, size);
            let measured = rate(|| counters.snapshot().tx_packets).await;
            drop(sender);
            handle.stop().await.unwrap();
            measured
        }
    }
}

/// RX through the pump on `mbim0`.
async fn rx_pump(device: &Arc<tun_rs::SyncDevice>, size: usize, peer: Peer) -> f64 {
    match peer {
        Peer::Sim => {
            let mut connected = support::connect().await;
            let handle = sim_pump(&mut connected, device);
            let counters = handle.counters();
            connected.start_traffic(0, size - 28);
            let measured = rate(|| counters.snapshot().rx_packets).await;
            handle.stop().await.unwrap();
            measured
        }
        Peer::Free => {
            let packet = towards_host(size);
            let replay = pipes::ReplayIn {
                block: pipes::full_block(&packet),
                pending: Default::default(),
                filled: Vec::new(),
            };
            let handle = free_pump(device.clone(), replay);
            let counters = handle.counters();
            let measured = rate(|| counters.snapshot().rx_packets).await;
            handle.stop().await.unwrap();
            measured
        }
    }
}

/// `mbim0` as mbimd opens it, addressed and up.
async fn open_mbim0(offload: bool) -> Netdev {
    let options = NetdevOptions {
        dns: DnsBackend::None,
        tun: TunOptions {
            offload,
            ..TunOptions::default()
        },
        ..NetdevOptions::default()
    };
    let netdev = Netdev::create(InterfaceName::new("mbim0").unwrap(), options)
        .await
        .unwrap();
    ip(&["addr", "add", "10.64.0.2/30", "dev", "mbim0"]);
    ip(&["link", "set", "mbim0", "up"]);
    netdev
}

/// `raw0`, addressed and up.
fn open_raw0(offload: bool) -> Arc<tun_rs::SyncDevice> {
    let raw = tun_rs::DeviceBuilder::new()
        .name("raw0")
        .layer(tun_rs::Layer::L3)
        .packet_information(false)
        .offload(offload)
        .enable(false)
        .build_sync()
        .map(Arc::new)
        .unwrap();
    ip(&["addr", "add", "10.99.0.2/30", "dev", "raw0"]);
    ip(&["link", "set", "raw0", "up"]);
    raw
}

/// A UDP datagram of `size` bytes in all from the gateway to the host's
/// sink port: what the RX cases write.
fn towards_host(size: usize) -> Vec<u8> {
    udp_packet(
        IpAddr::V4(support::GATEWAY),
        9,
        IpAddr::V4(support::HOST),
        HOST_PORT,
        size - 28,
    )
    .unwrap()
}

/// Datagrams of `size` bytes in one of the default scenario's IN NTBs.
fn datagrams_per_ntb(size: usize) -> usize {
    let packet = towards_host(size);
    let block = pipes::full_block(&packet);
    mbim_protocol::ntb::Ntb::new_checked(&block)
        .unwrap()
        .datagrams()
        .count()
}

/// One row: the median rates of raw, sim and pump (and with offloads the
/// floor).
struct Row {
    raw: f64,
    sim: f64,
    free: f64,
    floor: f64,
    /// With offloads, TX: the async loop of the per-packet floor on the
    /// pump's device, also doing the floor's cut.
    async_floor: f64,
}

async fn measure(
    device: &Arc<tun_rs::SyncDevice>,
    raw: &Arc<tun_rs::SyncDevice>,
    size: usize,
    tx: bool,
    offload: bool,
) -> Row {
    let (mut raw_rates, mut sim_rates, mut free_rates) = (Vec::new(), Vec::new(), Vec::new());
    let (mut floor_rates, mut async_floor_rates) = (Vec::new(), Vec::new());
    // The kernel refuses a UDP super-packet of more than 64 segments
    // (UDP_MAX_SEGMENTS), and GRO never writes one.
    let segments = offload.then(|| datagrams_per_ntb(size).min(64));
    for _ in 0..RUNS {
        if !offload {
            floor_rates.push(async_floor(device, size, tx, |_| 1).await);
        } else if tx {
            async_floor_rates.push(async_floor(device, size, true, cut_into_ntbs()).await);
        }
        if tx {
            raw_rates.push(tx_raw(raw, size, offload).await);
            if offload {
                floor_rates.push(tx_floor(raw, size).await);
            }
            sim_rates.push(tx_pump(device, size, Peer::Sim).await);
            free_rates.push(tx_pump(device, size, Peer::Free).await);
        } else {
            raw_rates.push(rx_raw(raw, size, segments).await);
            if let Some(segments) = segments {
                floor_rates.push(rx_floor(raw, size, segments).await);
            }
            sim_rates.push(rx_pump(device, size, Peer::Sim).await);
            free_rates.push(rx_pump(device, size, Peer::Free).await);
        }
    }
    Row {
        raw: median(raw_rates),
        sim: median(sim_rates),
        free: median(free_rates),
        floor: if floor_rates.is_empty() {
            f64::NAN
        } else {
            median(floor_rates)
        },
        async_floor: if async_floor_rates.is_empty() {
            f64::NAN
        } else {
            median(async_floor_rates)
        },
    }
}

/// Whether the row of `size`, direction and offloads runs: all of them,
/// unless `TUN_BENCH_ONLY` lists rows as `64TX`, `1400RX+o`, … (comma
/// separated), to profile one case alone.
fn selected(size: usize, tx: bool, offload: bool) -> bool {
    let Ok(only) = std::env::var("TUN_BENCH_ONLY") else {
        return true;
    };
    let name = format!(
        "{size}{}{}",
        if tx { "TX" } else { "RX" },
        if offload { "+o" } else { "" }
    );
    only.split(',').any(|row| row.trim() == name)
}

fn main() {
    if !rustix::process::geteuid().is_root() || !std::path::Path::new("/dev/net/tun").exists() {
        println!("tun bench: needs root and /dev/net/tun (run it as root); nothing measured");
        return;
    }
    let namespace = Namespace::create();
    namespace.enter();
    ip(&["link", "set", "lo", "up"]);
    // Before the runtime starts, so its threads and all they start inherit
    // the CPU; only the sender moves to the other.
    let pinned = pinned_cpus();
    if let Some((_, others)) = pinned {
        pin_to(others);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        // Takes what the RX cases send, so the kernel answers no datagram
        // with ICMP; never read, its queue full drops cheaply. UDP_GRO
        // keeps super-packets whole, as a receiver that wants speed does.
        let sink = UdpSocket::bind(("0.0.0.0", HOST_PORT)).unwrap();
        setsockopt(&sink, UdpGroSegment, &true).unwrap();
        let sizes = [64usize, 1400];
        let mut per_packet = Vec::new();

        println!(
            "tun: datagrams/s through real TUN devices, median of {RUNS} windows of {WINDOW:?}"
        );
        if let Some((sender, others)) = pinned {
            println!("pinned (TUN_BENCH_PIN=1): the TX sender on CPU {sender}, every other thread on CPU {others}");
        }
        println!(
            "per packet; ratio = over the raw TUN ceiling of the same run (target >= {TARGET:.2}x)"
        );
        println!(
            "floor = a bare loop on a thread and runtime of its own (as the pump's) and the \
             pump's device, making only the pump's \
             system calls (TX: readable, then read until empty; RX: an NTB's worth of writes \
             per round): what readiness and wake-ups cost an async path here; /fl = pump over it"
        );
        println!(
            "{:>5} {:>4} {:>11} {:>11} {:>7} {:>11} {:>7} {:>11} {:>7} {:>6}",
            "size", "dir", "raw", "floor", "ratio", "sim", "ratio", "pump", "ratio", "/fl"
        );
        {
            let netdev = open_mbim0(false).await;
            let raw = open_raw0(false);
            let device = netdev.device().unwrap();
            for size in sizes {
                for tx in [true, false] {
                    if !selected(size, tx, false) {
                        per_packet.push(f64::NAN);
                        continue;
                    }
                    let row = measure(&device, &raw, size, tx, false).await;
                    println!(
                        "{size:>5} {:>4} {:>11.0} {:>11.0} {:>6.2}x {:>11.0} {:>6.2}x {:>11.0} \
                         {:>6.2}x {:>5.2}x",
                        if tx { "TX" } else { "RX" },
                        row.raw,
                        row.floor,
                        row.floor / row.raw,
                        row.sim,
                        row.sim / row.raw,
                        row.free,
                        row.free / row.raw,
                        row.free / row.floor,
                    );
                    per_packet.push(row.raw);
                }
            }
        }

        let netdev = open_mbim0(true).await;
        let raw = open_raw0(true);
        let device = netdev.device().unwrap();
        println!(
            "with offloads (UDP: USO {}); ratio = over the raw offload ceiling (target >= \
             {OFFLOAD_TARGET:.2}x), xpp = over the per-packet raw ceiling (target >= \
             {OFFLOAD_TARGET_PER_PACKET:.1}x);\nfloor = the raw loop also cutting each \
             super-packet into an NTB (TX) or checksumming an NTB's datagrams and gathering them \
             into one write (RX): the least any such path does; /fl = pump over it;\nafl (TX) = \
             the per-packet floor's async loop on the pump's device also doing that cut: the least \
             an async path woken by readiness does; /afl = pump over it",
            if netdev.udp_offload() { "on" } else { "not in this kernel" },
        );
        println!(
            "{:>5} {:>4} {:>11} {:>11} {:>11} {:>7} {:>6} {:>11} {:>7} {:>6} {:>6} {:>11} {:>6}",
            "size", "dir", "raw", "floor", "sim", "ratio", "xpp", "pump", "ratio", "xpp", "/fl",
            "afl", "/afl"
        );
        let mut per_packet = per_packet.into_iter();
        for size in sizes {
            for tx in [true, false] {
                let plain = per_packet.next().unwrap_or(f64::NAN);
                if !selected(size, tx, true) {
                    continue;
                }
                let row = measure(&device, &raw, size, tx, true).await;
                println!(
                    "{size:>5} {:>4} {:>11.0} {:>11.0} {:>11.0} {:>6.2}x {:>5.1}x {:>11.0} {:>6.2}x {:>5.1}x {:>5.2}x {:>11.0} {:>5.2}x",
                    if tx { "TX" } else { "RX" },
                    row.raw,
                    row.floor,
                    row.sim,
                    row.sim / row.raw,
                    row.sim / plain,
                    row.free,
                    row.free / row.raw,
                    row.free / plain,
                    row.free / row.floor,
                    row.async_floor,
                    row.free / row.async_floor,
                );
            }
        }
        drop(netdev);
    });
    drop(namespace);
}
