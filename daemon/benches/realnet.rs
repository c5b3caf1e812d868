//! TCP through a real network behind the simulated modem, against ceilings
//! measured in the same run.
//!
//! Two network namespaces of the benchmark's own (deleted when it ends): a
//! client one, where `mbimd --simulate --sim-forward fwd0@PEER` runs and
//! `mbim0e0` comes up at 10.64.0.2, and a peer one with the persistent TUN
//! device `fwd0` at 192.0.2.1 and, on any address, a TCP sink (port 5001:
//! reads and counts) and a TCP source (port 5002: writes). A client thread
//! in the client namespace sends to the sink (**TX**, host → modem → network;
//! counted as the bytes the sink read) or reads from the source (**RX**,
//! network → modem → host; counted as the bytes it read), 256 KiB per system
//! call, through:
//!
//! * **mbimd**: `mbim0e0` → mbimd's pump → NTBs → the in-process simulated
//!   modem → `fwd0` → the peer's kernel, and back; offloads off
//!   (`[datapath] offload = false`: one packet per TUN read and write) and
//!   on (TSO super-packets cut into NTB datagrams, GRO towards the host).
//!   The simulator's NTB parsing and building and its `fwd0` I/O run in
//!   mbimd's process, on the same CPUs, as a real modem's would not.
//! * **relay**, the ceiling: the same two TUN devices (`raw0` at 10.64.0.2 in
//!   the client namespace, the same `fwd0`) joined by a bare loop per
//!   direction reading one packet and writing it to the other device: what
//!   any user-space path between the two costs at least, per packet.
//!   **relay+o** is the same with both devices opened with `IFF_VNET_HDR`,
//!   super-packets passed through whole: the ceiling with offloads, which
//!   mbimd's path cannot reach while the simulator's `fwd0` has none.
//! * **veth**: the same TCP over a veth pair, the kernel alone (with its own
//!   GSO/GRO), for scale.
//!
//! Each figure is the median of 3 windows of 1 s after 0.5 s of warm-up,
//! in Mb/s of TCP payload; ratios are over the relay's of the same run.
//! Nothing here fails on a slow or busy machine.
//!
//! Run as root: `cargo bench -p mbimd --bench realnet`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss,
    missing_docs,
    unreachable_pub
)]

#[path = "../tests/netns_support/mod.rs"]
mod netns_support;

use netns_support::{privileged, wait_until, Namespace};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const WARMUP: Duration = Duration::from_millis(500);
const WINDOW: Duration = Duration::from_secs(1);
const RUNS: usize = 3;
const CHUNK: usize = 256 << 10;
const PEER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const VETH_PEER: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
const SINK_PORT: u16 = 5001;
const SOURCE_PORT: u16 = 5002;

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// `ip -n NAMESPACE ARGS…`, which must succeed.
fn ip(namespace: &Namespace, args: &[&str]) {
    let output = mbimd_test_support::tools::IP
        .command()
        .arg("-n")
        .arg(&namespace.0)
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "ip -n {} {args:?}: {}",
        namespace.0,
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The peer's sink (counting into `sunk`) and source, each connection on a
/// thread of its own.
fn serve(peer: &Namespace, sunk: Arc<AtomicU64>) {
    let (sink, source) = peer.run(|| {
        (
            TcpListener::bind((Ipv4Addr::UNSPECIFIED, SINK_PORT)).unwrap(),
            TcpListener::bind((Ipv4Addr::UNSPECIFIED, SOURCE_PORT)).unwrap(),
        )
    });
    std::thread::spawn(move || {
        for stream in sink.incoming() {
            let Ok(mut stream) = stream else { continue };
            let sunk = sunk.clone();
            std::thread::spawn(move || {
                let mut buffer = vec![0u8; CHUNK];
                while let Ok(length @ 1..) = stream.read(&mut buffer) {
                    sunk.fetch_add(length as u64, Ordering::Relaxed);
                }
            });
        }
    });
    std::thread::spawn(move || {
        for stream in source.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let buffer = vec![0x5Au8; CHUNK];
                while stream.write_all(&buffer).is_ok() {}
            });
        }
    });
}

/// Bytes per second `counter` grows by while a transfer runs: the median of
/// [`RUNS`] windows.
fn rate(counter: &AtomicU64) -> f64 {
    std::thread::sleep(WARMUP);
    let samples = (0..RUNS)
        .map(|_| {
            let (start, at) = (counter.load(Ordering::Relaxed), Instant::now());
            std::thread::sleep(WINDOW);
            let bytes = counter.load(Ordering::Relaxed) - start;
            bytes as f64 / at.elapsed().as_secs_f64()
        })
        .collect();
    median(samples)
}

/// TX and RX in Mb/s from `client` to the peer at `peer`.
fn measure(client: &Namespace, peer: Ipv4Addr, sunk: &Arc<AtomicU64>) -> (f64, f64) {
    let connect = |port| {
        client.run(move || {
            let stream = TcpStream::connect_timeout(
                &SocketAddr::from((peer, port)),
                Duration::from_secs(10),
            )
            .unwrap();
            stream
                .set_write_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            stream
        })
    };
    // TX: the client writes, the peer's sink counts.
    let stream = connect(SINK_PORT);
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (mut stream, stop) = (stream.try_clone().unwrap(), stop.clone());
        std::thread::spawn(move || {
            let buffer = vec![0xA5u8; CHUNK];
            while !stop.load(Ordering::Relaxed) && stream.write_all(&buffer).is_ok() {}
        })
    };
    let tx = rate(sunk);
    stop.store(true, Ordering::Relaxed);
    let _ = stream.shutdown(Shutdown::Both);
    writer.join().unwrap();
    // RX: the peer's source writes, the client counts.
    let stream = connect(SOURCE_PORT);
    let read = Arc::new(AtomicU64::new(0));
    let reader = {
        let (mut stream, read) = (stream.try_clone().unwrap(), read.clone());
        std::thread::spawn(move || {
            let mut buffer = vec![0u8; CHUNK];
            while let Ok(length @ 1..) = stream.read(&mut buffer) {
                read.fetch_add(length as u64, Ordering::Relaxed);
            }
        })
    };
    let rx = rate(&read);
    let _ = stream.shutdown(Shutdown::Both);
    reader.join().unwrap();
    (tx * 8.0 / 1e6, rx * 8.0 / 1e6)
}

/// `mbimd --simulate` forwarding to the peer, offloads as asked, measured.
fn through_mbimd(
    client: &Namespace,
    peer: &Namespace,
    offload: bool,
    sunk: &Arc<AtomicU64>,
) -> (f64, f64) {
    let config = std::env::temp_dir().join(format!(
        "{}-mbimd-realnet-{offload}.toml",
        std::process::id()
    ));
    std::fs::write(
        &config,
        format!(
            "[logging]\nlevel = \"warn\"\n[dbus]\nenable = false\n[modemmanager]\napi = \
             \"off\"\n[dns]\nbackend = \"none\"\n[datapath]\noffload = {offload}\n\
             [simulate]\nforward = \"fwd0@{}\"\n",
            peer.0
        ),
    )
    .unwrap();
    let mut daemon = client.simulate(&config);
    wait_until("mbim0e0 with its address", || {
        client
            .ip(&["-j", "addr", "show", "dev", "mbim0e0"])
            .contains("\"10.64.0.2\"")
    });
    let figures = measure(client, PEER, sunk);
    let exit = daemon.terminate();
    assert!(exit.success(), "{exit:?}");
    let _ = std::fs::remove_file(config);
    figures
}

/// Opens the TUN device `name` in `namespace` (attached if it exists),
/// with or without `IFF_VNET_HDR` offloads, non-blocking.
fn open_tun(namespace: &Namespace, name: &'static str, offload: bool) -> Arc<tun_rs::SyncDevice> {
    let device = namespace.run(move || {
        tun_rs::DeviceBuilder::new()
            .name(name)
            .layer(tun_rs::Layer::L3)
            .packet_information(false)
            .offload(offload)
            .enable(true)
            .build_sync()
            .unwrap()
    });
    device.set_nonblocking(true).unwrap();
    Arc::new(device)
}

/// The bare relay between `raw0` in the client namespace and `fwd0`: a
/// thread per direction reading what is there, one packet (or, with
/// offloads, one super-packet and its virtio-net header, passed on as it
/// is) per system call, and writing it to the other device.
struct Relay {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Relay {
    fn start(client: &Namespace, peer: &Namespace, offload: bool) -> Relay {
        let raw = open_tun(client, "raw0", offload);
        let fwd = open_tun(peer, "fwd0", offload);
        ip(client, &["addr", "add", "10.64.0.2/32", "dev", "raw0"]);
        ip(client, &["route", "add", "192.0.2.0/24", "dev", "raw0"]);
        let stop = Arc::new(AtomicBool::new(false));
        let threads = [(raw.clone(), fwd.clone()), (fwd, raw)]
            .into_iter()
            .map(|(from, to)| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    use rustix::event::{poll, PollFd, PollFlags, Timespec};
                    let mut buffer = vec![0u8; 65_536 + tun_rs::VIRTIO_NET_HDR_LEN];
                    let tick = Timespec {
                        tv_sec: 0,
                        tv_nsec: 100_000_000,
                    };
                    while !stop.load(Ordering::Relaxed) {
                        match from.recv(&mut buffer) {
                            Ok(length) => {
                                let _ = to.send(&buffer[..length]);
                            }
                            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                                let mut fds = [PollFd::new(&*from, PollFlags::IN)];
                                let _ = poll(&mut fds, Some(&tick));
                            }
                            Err(_) => break,
                        }
                    }
                })
            })
            .collect();
        Relay { stop, threads }
    }

    /// Stops both threads; `raw0` goes with its last descriptor, `fwd0`
    /// (persistent) stays.
    fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads {
            thread.join().unwrap();
        }
    }
}

fn main() {
    if std::env::args().any(|argument| argument == "--list") {
        return;
    }
    if !privileged() {
        println!("SKIP: needs root and /dev/net/tun (sudo cargo bench -p mbimd --bench realnet)");
        return;
    }
    let client = Namespace::create("mbimd-rn-c");
    let peer = Namespace::create("mbimd-rn-p");
    ip(&peer, &["tuntap", "add", "dev", "fwd0", "mode", "tun"]);
    ip(&peer, &["addr", "add", "192.0.2.1/32", "dev", "fwd0"]);
    ip(&peer, &["link", "set", "fwd0", "up"]);
    ip(&peer, &["route", "add", "10.64.0.0/16", "dev", "fwd0"]);
    ip(
        &client,
        &[
            "link", "add", "vc", "type", "veth", "peer", "name", "vp", "netns", &peer.0,
        ],
    );
    ip(&client, &["addr", "add", "10.77.0.2/24", "dev", "vc"]);
    ip(&client, &["link", "set", "vc", "up"]);
    ip(&peer, &["addr", "add", "10.77.0.1/24", "dev", "vp"]);
    ip(&peer, &["link", "set", "vp", "up"]);
    let sunk = Arc::new(AtomicU64::new(0));
    serve(&peer, sunk.clone());

    let veth = measure(&client, VETH_PEER, &sunk);
    let plain = through_mbimd(&client, &peer, false, &sunk);
    let offload = through_mbimd(&client, &peer, true, &sunk);
    let relay = Relay::start(&client, &peer, false);
    let raw = measure(&client, PEER, &sunk);
    relay.stop();
    let relay = Relay::start(&client, &peer, true);
    let raw_offload = measure(&client, PEER, &sunk);
    relay.stop();

    println!(
        "TCP through a real network behind the simulated modem, Mb/s (median of {RUNS} x {}s);",
        WINDOW.as_secs()
    );
    println!(
        "ratio = mbimd over the bare two-TUN relay of the same run (per packet); +offload: \
         over the relay per packet (xpp) and over the relay with offloads (ratio)"
    );
    println!(
        "{:>4} {:>9} {:>9} {:>9} {:>7} {:>9} {:>9} {:>7} {:>7}",
        "dir", "veth", "relay", "mbimd", "ratio", "relay+o", "mbimd+o", "ratio", "xpp"
    );
    for (name, pick) in [
        (
            "TX",
            (|figures: (f64, f64)| figures.0) as fn((f64, f64)) -> f64,
        ),
        ("RX", |figures: (f64, f64)| figures.1),
    ] {
        let (veth, raw, plain) = (pick(veth), pick(raw), pick(plain));
        let (raw_offload, offload) = (pick(raw_offload), pick(offload));
        println!(
            "{name:>4} {veth:>9.0} {raw:>9.0} {plain:>9.0} {:>6.2}x {raw_offload:>9.0} \
             {offload:>9.0} {:>6.2}x {:>6.2}x",
            plain / raw,
            offload / raw_offload,
            offload / raw,
        );
    }
}
