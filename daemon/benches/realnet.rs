//! iperf3, TCP and UDP, through a real network behind the simulated modem,
//! against ceilings measured in the same run, with the CPU time each path
//! costs per gigabyte.
//!
//! Two network namespaces of the benchmark's own (deleted when it ends): a
//! client one, where `mbimd --simulate --sim-forward fwd0@PEER` runs and
//! `mbim0e0` comes up at 10.64.0.2, and a peer one with the persistent TUN
//! device `fwd0` at 192.0.2.1 and an `iperf3 -s` (iperf3 is installed with
//! apt-get if it is missing, as the tests install their tools). iperf3's
//! client in the client namespace runs TCP and UDP (1400-byte IP packets
//! at an unlimited rate, `-b 0`) towards the network (**TX**, host → modem
//! → network) and back (**RX**, `-R`), each for a few seconds, through:
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
//!   super-packets passed through whole: the ceiling with offloads.
//! * **floor+o**, the floor with offloads: the offload relay whose threads
//!   also do, per super-packet, the per-byte work mbimd and its simulated
//!   modem together cannot skip (`common/floor.rs`): cut into datagrams
//!   with their own headers and checksums straight into an NTB, then the
//!   block's datagrams checked and coalesced again and written as gathered
//!   super-packets, one `writev` per run, with the code and system calls
//!   mbimd and the simulator use and nothing else. What mbimd+o spends
//!   beyond it is the daemon's and the modem model's own cost; what it
//!   spends beyond relay+o is the work's.
//! * **veth**: the same over a veth pair, the kernel alone (with its own
//!   GSO/GRO), for scale.
//!
//! Each figure is iperf3's received rate in Mb/s (payload), and the CPU
//! time of the forwarder (the mbimd process, whose simulated modem runs in
//! it; the relay's two threads) while the test ran, per GB received;
//! ratios are over the relay's of the same run, and with offloads also
//! mbimd+o over floor+o (**/fl**: how near mbimd is to the work's floor)
//! and floor+o over relay+o (**fl/r**: what the work itself costs against
//! the ceiling). **cap** is relay+o over the per-packet relay: the offload
//! ceiling's own multiple of the per-packet one, so the most that mbimd+o's
//! (**xpp**) can reach in that run. Nothing here fails on a slow or busy
//! machine.
//!
//! Run as root: `cargo bench -p mbimd --bench realnet`.
//! `REALNET_BENCH_ONLY=TCPRX,mbimd+o,relay+o` measures only what it names:
//! tests (`TCPTX`, `TCPRX`, `UDPTX`, `UDPRX`) and paths (`veth`, `relay`,
//! `mbimd`, `relay+o`, `mbimd+o`, `floor+o`); a kind left unnamed is
//! measured whole, and what is not measured prints as `-`, so one case can
//! be profiled alone. `REALNET_MBIMD=/path/to/mbimd` runs that build of the
//! daemon instead of this tree's, to compare two builds in turn with the
//! same benchmark.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss,
    missing_docs,
    unreachable_pub
)]

#[path = "common/floor.rs"]
mod floor;
#[path = "../tests/netns_support/mod.rs"]
mod netns_support;

use floor::{Floor, Way};
use mbimd_test_support::tools::IPERF3;
use netns_support::{privileged, wait_until, Namespace};
use std::net::Ipv4Addr;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Seconds each iperf3 test runs.
const SECONDS: u32 = 3;
const PEER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const VETH_PEER: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
/// iperf3's UDP payload: 1400-byte IP packets, the tun bench's large size.
const UDP_PAYLOAD: &str = "1372";

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

/// One iperf3 test: TCP or UDP, towards the network (TX) or back (RX).
#[derive(Clone, Copy)]
struct Test {
    udp: bool,
    tx: bool,
}

const TESTS: [Test; 4] = [
    Test {
        udp: false,
        tx: true,
    },
    Test {
        udp: false,
        tx: false,
    },
    Test {
        udp: true,
        tx: true,
    },
    Test {
        udp: true,
        tx: false,
    },
];

impl Test {
    /// Its name in `REALNET_BENCH_ONLY`: `TCPRX`, `UDPTX`, …
    fn key(self) -> String {
        self.name().replace(' ', "")
    }

    fn name(self) -> String {
        format!(
            "{} {}",
            if self.udp { "UDP" } else { "TCP" },
            if self.tx { "TX" } else { "RX" }
        )
    }
}

/// What does the forwarding between the two namespaces, whose CPU time is
/// counted: nothing but the kernel (the veth pair), the mbimd process (its
/// in-process simulated modem included), or the relay's threads in this
/// process.
enum Forwarder {
    Kernel,
    Process(u32),
    Threads(Vec<i32>),
}

impl Forwarder {
    /// Its CPU time so far (the scheduler's nanosecond count of every
    /// thread), `None` for the kernel alone.
    fn cpu(&self) -> Option<Duration> {
        let on_cpu = |path: String| -> u64 {
            std::fs::read_to_string(path)
                .ok()
                .and_then(|text| text.split_whitespace().next()?.parse().ok())
                .unwrap_or(0)
        };
        let nanoseconds = match self {
            Forwarder::Kernel => return None,
            Forwarder::Process(pid) => std::fs::read_dir(format!("/proc/{pid}/task"))
                .unwrap()
                .filter_map(Result::ok)
                .map(|task| on_cpu(format!("{}/schedstat", task.path().display())))
                .sum(),
            Forwarder::Threads(tids) => tids
                .iter()
                .map(|tid| on_cpu(format!("/proc/self/task/{tid}/schedstat")))
                .sum(),
        };
        Some(Duration::from_nanos(nanoseconds))
    }
}

/// One test's outcome: Mb/s received, and the forwarder's CPU seconds per
/// GB received.
#[derive(Clone, Copy)]
struct Figure {
    mbps: f64,
    seconds_per_gb: f64,
}

/// Runs `test` with iperf3 from `client` against the server at `server`,
/// counting `forwarder`'s CPU time while it runs.
fn iperf3(client: &Namespace, server: Ipv4Addr, test: Test, forwarder: &Forwarder) -> Figure {
    let server = server.to_string();
    let seconds = SECONDS.to_string();
    let mut args = vec!["-c", &server, "-t", &seconds, "-J"];
    if test.udp {
        args.extend(["-u", "-b", "0", "-l", UDP_PAYLOAD]);
    }
    if !test.tx {
        args.push("-R");
    }
    let iperf3 = IPERF3.path();
    // The server takes one test at a time and may still be finishing the
    // last one ("busy"): try again shortly.
    for _ in 0..20 {
        let before = forwarder.cpu();
        let output = client
            .exec(iperf3.to_str().unwrap(), &args)
            .output()
            .unwrap();
        let after = forwarder.cpu();
        let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_default();
        let received = &report["end"]["sum_received"];
        let (Some(bytes), Some(elapsed)) =
            (received["bytes"].as_f64(), received["seconds"].as_f64())
        else {
            std::thread::sleep(Duration::from_millis(250));
            continue;
        };
        let cpu = match (before, after) {
            (Some(before), Some(after)) => (after - before).as_secs_f64(),
            _ => f64::NAN,
        };
        return Figure {
            mbps: bytes * 8.0 / elapsed / 1e6,
            seconds_per_gb: cpu / (bytes / 1e9),
        };
    }
    panic!("iperf3 {args:?} kept failing");
}

/// What `REALNET_BENCH_ONLY` names: tests and paths, each `None` when the
/// list names none of its kind (all of that kind are measured).
struct Only {
    tests: Option<Vec<String>>,
    paths: Option<Vec<String>>,
}

/// The names of the paths, as `REALNET_BENCH_ONLY` takes them.
const PATHS: [&str; 6] = ["veth", "relay", "mbimd", "relay+o", "mbimd+o", "floor+o"];

impl Only {
    fn from_env() -> Only {
        let Ok(list) = std::env::var("REALNET_BENCH_ONLY") else {
            return Only {
                tests: None,
                paths: None,
            };
        };
        let names: Vec<String> = list
            .split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(str::to_owned)
            .collect();
        for name in &names {
            assert!(
                PATHS.contains(&name.as_str()) || TESTS.iter().any(|test| test.key() == *name),
                "REALNET_BENCH_ONLY: {name:?} is neither a test ({}) nor a path ({})",
                TESTS.map(Test::key).join(", "),
                PATHS.join(", ")
            );
        }
        let (paths, tests): (Vec<String>, Vec<String>) = names
            .into_iter()
            .partition(|name| PATHS.contains(&name.as_str()));
        Only {
            tests: (!tests.is_empty()).then_some(tests),
            paths: (!paths.is_empty()).then_some(paths),
        }
    }

    fn test(&self, test: Test) -> bool {
        self.tests
            .as_ref()
            .is_none_or(|tests| tests.contains(&test.key()))
    }

    fn path(&self, path: &str) -> bool {
        self.paths
            .as_ref()
            .is_none_or(|paths| paths.iter().any(|name| name == path))
    }
}

/// Every test in [`TESTS`] that `only` selects through `forwarder` to
/// `server`; `None` for the others.
fn measure(
    client: &Namespace,
    server: Ipv4Addr,
    forwarder: &Forwarder,
    only: &Only,
) -> Vec<Option<Figure>> {
    TESTS
        .iter()
        .map(|&test| {
            only.test(test)
                .then(|| iperf3(client, server, test, forwarder))
        })
        .collect()
}

/// `mbimd --simulate` forwarding to the peer, offloads as asked, measured.
fn through_mbimd(
    client: &Namespace,
    peer: &Namespace,
    offload: bool,
    only: &Only,
) -> Vec<Option<Figure>> {
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
    let mut daemon = match std::env::var("REALNET_MBIMD") {
        Ok(binary) => client.simulate_with(&binary, &config),
        Err(_) => client.simulate(&config),
    };
    wait_until("mbim0e0 with its address", || {
        client
            .ip(&["-j", "addr", "show", "dev", "mbim0e0"])
            .contains("\"10.64.0.2\"")
    });
    let figures = measure(client, PEER, &Forwarder::Process(daemon.0.id()), only);
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

/// What the relay's threads do with each read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// **relay**: plain devices, one packet per read, written as it is.
    Packet,
    /// **relay+o**: `IFF_VNET_HDR` devices, each super-packet and its
    /// virtio-net header written as it is.
    Offload,
    /// **floor+o**: `IFF_VNET_HDR` devices, each super-packet put through
    /// the per-byte work mbimd and its modem cannot skip
    /// ([`floor::Floor`]).
    Floor,
}

/// The bare relay between `raw0` in the client namespace and `fwd0`: a
/// thread per direction reading what is there, one packet (or, with
/// offloads, one super-packet and its virtio-net header) per system call,
/// and writing it to the other device, passed on as it is or, for the
/// floor, cut into an NTB and coalesced again.
struct Relay {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
    /// Its threads, whose CPU time is counted.
    forwarder: Forwarder,
}

impl Relay {
    fn start(client: &Namespace, peer: &Namespace, kind: Kind) -> Relay {
        let offload = kind != Kind::Packet;
        let raw = open_tun(client, "raw0", offload);
        let fwd = open_tun(peer, "fwd0", offload);
        ip(client, &["addr", "add", "10.64.0.2/32", "dev", "raw0"]);
        ip(client, &["route", "add", "192.0.2.0/24", "dev", "raw0"]);
        let stop = Arc::new(AtomicBool::new(false));
        let (tid_tx, tid_rx) = std::sync::mpsc::channel();
        let threads = [(raw.clone(), fwd.clone(), Way::Out), (fwd, raw, Way::In)]
            .into_iter()
            .map(|(from, to, way)| {
                let (stop, tid_tx) = (stop.clone(), tid_tx.clone());
                std::thread::spawn(move || {
                    tid_tx
                        .send(rustix::thread::gettid().as_raw_nonzero().get())
                        .unwrap();
                    use rustix::event::{poll, PollFd, PollFlags, Timespec};
                    let mut floor =
                        (kind == Kind::Floor).then(|| Floor::new(to.clone(), way, to.udp_gso()));
                    let mut buffer = vec![0u8; 65_536 + tun_rs::VIRTIO_NET_HDR_LEN];
                    let tick = Timespec {
                        tv_sec: 0,
                        tv_nsec: 100_000_000,
                    };
                    while !stop.load(Ordering::Relaxed) {
                        match from.recv(&mut buffer) {
                            Ok(length) => match &mut floor {
                                Some(floor) => floor.read(&mut buffer[..length]),
                                None => {
                                    let _ = to.send(&buffer[..length]);
                                }
                            },
                            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                                // Dry: the block built so far goes now.
                                if let Some(floor) = &mut floor {
                                    floor.flush();
                                }
                                let mut fds = [PollFd::new(&*from, PollFlags::IN)];
                                let _ = poll(&mut fds, Some(&tick));
                            }
                            Err(_) => break,
                        }
                    }
                })
            })
            .collect::<Vec<_>>();
        let tids = threads.iter().map(|_| tid_rx.recv().unwrap()).collect();
        Relay {
            stop,
            threads,
            forwarder: Forwarder::Threads(tids),
        }
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
    // Before anything is made, so a bad list leaves nothing behind.
    let only = Only::from_env();
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
    let mut server = peer
        .exec(IPERF3.path().to_str().unwrap(), &["-s"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    let skipped = || vec![None; TESTS.len()];
    let veth = if only.path("veth") {
        measure(&client, VETH_PEER, &Forwarder::Kernel, &only)
    } else {
        skipped()
    };
    let plain = if only.path("mbimd") {
        through_mbimd(&client, &peer, false, &only)
    } else {
        skipped()
    };
    let offload = if only.path("mbimd+o") {
        through_mbimd(&client, &peer, true, &only)
    } else {
        skipped()
    };
    let through_relay = |kind: Kind, name: &str| {
        if !only.path(name) {
            return skipped();
        }
        let relay = Relay::start(&client, &peer, kind);
        let figures = measure(&client, PEER, &relay.forwarder, &only);
        relay.stop();
        figures
    };
    let raw = through_relay(Kind::Packet, "relay");
    let raw_offload = through_relay(Kind::Offload, "relay+o");
    let floor = through_relay(Kind::Floor, "floor+o");
    let _ = server.kill();
    let _ = server.wait();

    println!(
        "iperf3 ({SECONDS} s each; UDP: 1400-byte packets, unlimited rate) through a real network \
         behind the simulated modem, Mb/s received;"
    );
    println!(
        "s/GB = CPU seconds per GB received of the forwarder: the mbimd process (its \
         in-process simulated modem included) or the relay's two threads;"
    );
    println!(
        "ratio = mbimd over the bare two-TUN relay of the same run (per packet); +o: with \
         offloads, over the relay with offloads (ratio) and over the per-packet relay (xpp); \
         cap = relay+o over relay, the most xpp any path reaches in this run;"
    );
    println!(
        "floor+o = the offload relay also cutting every super-packet into an NTB and coalescing \
         the block again (the per-byte work mbimd and its modem cannot skip); /fl = mbimd+o over \
         it, fl/r = it over relay+o"
    );
    println!(
        "{:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>7} {:>7} {:>7} {:>7} {:>6} {:>7} {:>7} \
         {:>6} {:>7} {:>6} {:>6}",
        "test",
        "veth",
        "relay",
        "s/GB",
        "mbimd",
        "s/GB",
        "ratio",
        "relay+o",
        "s/GB",
        "mbimd+o",
        "s/GB",
        "ratio",
        "xpp",
        "cap",
        "floor+o",
        "s/GB",
        "/fl",
        "fl/r"
    );
    for (index, test) in TESTS.iter().enumerate() {
        if !only.test(*test) {
            continue;
        }
        let (veth, raw, plain) = (veth[index], raw[index], plain[index]);
        let (raw_offload, offload, floor) = (raw_offload[index], offload[index], floor[index]);
        let rate = |figure: Option<Figure>, width: usize| match figure {
            Some(figure) => format!("{:>width$.0}", figure.mbps),
            None => format!("{:>width$}", "-"),
        };
        let cost = |figure: Option<Figure>, width: usize| match figure {
            Some(figure) => format!("{:>width$.1}", figure.seconds_per_gb),
            None => format!("{:>width$}", "-"),
        };
        // `width` counts the `x` after the figure.
        let ratio = |over: Option<Figure>, under: Option<Figure>, width: usize| match (over, under)
        {
            (Some(over), Some(under)) => {
                format!("{:>digits$.2}x", over.mbps / under.mbps, digits = width - 1)
            }
            _ => format!("{:>width$}", "-"),
        };
        println!(
            "{:>6} {} {} {} {} {} {} {} {} {} {} {} {} {} {} {} {} {}",
            test.name(),
            rate(veth, 6),
            rate(raw, 6),
            cost(raw, 6),
            rate(plain, 6),
            cost(plain, 6),
            ratio(plain, raw, 6),
            rate(raw_offload, 7),
            cost(raw_offload, 7),
            rate(offload, 7),
            cost(offload, 7),
            ratio(offload, raw_offload, 6),
            ratio(offload, raw, 7),
            ratio(raw_offload, raw, 6),
            rate(floor, 7),
            cost(floor, 7),
            ratio(offload, floor, 6),
            ratio(floor, raw_offload, 6),
        );
    }
}
