//! A real network behind the simulated modem, end to end: `mbimd
//! --simulate` in a client namespace with `[simulate] forward` naming a
//! persistent TUN device in a peer namespace, whose kernel routes and
//! answers as any Linux host. Real TCP (both directions, several MB, content
//! verified), DNS over UDP (IPv4 and IPv6), ICMP echo to the peer with
//! fragments, and path MTU (refused locally, fragmented and reassembled,
//! and learnt from an ICMP "fragmentation needed" the peer, as a router in
//! front of a smaller link, sends back through the modem) run through
//! `mbim0e0` → mbimd → NTBs → simulator → TUN → peer and back: the client
//! namespace has no other way to the peer. The gateway's own echo keeps
//! answering. Once with offloads (mbimd's TSO/GRO, super-packets from the
//! peer cut into datagrams by the simulator) and once without.
//!
//! Needs root and /dev/net/tun (skipped, saying so, otherwise); the three
//! namespaces are the test's own and removed after it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod netns_support;

use mbimd_test_support::icmp::Echo;
use netns_support::{privileged, wait_until, Namespace};
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The peer's addresses, on its TUN device (TEST-NET-1, documentation v6).
const PEER_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const PEER_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
/// A host behind the peer, over a link of [`FAR_MTU`] (TEST-NET-2).
const FAR_V4: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 2);
const FAR_MTU: u32 = 1400;
/// What the DNS responder answers for A and AAAA.
const ANSWER_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 80);
const ANSWER_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x80);
/// Bytes sent each way over each TCP connection.
const TCP_BYTES: usize = 6 << 20;
/// A hang guard for every socket operation, not a speed expectation.
const IO_TIMEOUT: Duration = Duration::from_secs(30);

#[test]
fn tcp_dns_and_path_mtu_run_through_mbimd_to_a_real_network() {
    end_to_end(true, "o");
}

/// As above with `[datapath] offload = false`: mbimd's TUN device and the
/// simulator's `fwd0` carry one packet per read and write.
#[test]
fn the_same_without_offloads() {
    end_to_end(false, "p");
}

/// The whole exchange, offloads as `offload` says; `tag` keeps the
/// namespaces apart from the other test's.
fn end_to_end(offload: bool, tag: &str) {
    if !privileged() {
        println!("SKIP: needs root and /dev/net/tun");
        return;
    }
    let client = Namespace::create(&format!("mbimd-fwd{tag}-c"));
    let peer = Namespace::create(&format!("mbimd-fwd{tag}-p"));
    let far = Namespace::create(&format!("mbimd-fwd{tag}-f"));
    build_peer(&peer, &far);

    // Bound inside the peer (a socket stays in the namespace it was made
    // in), served from plain threads.
    let (tcp4, tcp6, dns4, dns6, echo) = peer.run(|| {
        let tcp = |ip: IpAddr| TcpListener::bind(SocketAddr::new(ip, 5001)).unwrap();
        let udp = |ip: IpAddr, port| UdpSocket::bind(SocketAddr::new(ip, port)).unwrap();
        (
            tcp(PEER_V4.into()),
            tcp(PEER_V6.into()),
            udp(PEER_V4.into(), 53),
            udp(PEER_V6.into(), 53),
            udp(PEER_V4.into(), 7),
        )
    });
    let stop = Arc::new(AtomicBool::new(false));
    let servers = [
        std::thread::spawn(move || tcp_server(tcp4)),
        std::thread::spawn(move || tcp_server(tcp6)),
        udp_server(dns4, stop.clone(), dns_answer),
        udp_server(dns6, stop.clone(), dns_answer),
        udp_server(echo, stop.clone(), |query| Some(query.to_vec())),
    ];

    let config = std::env::temp_dir().join(format!("{}-mbimd-fwd{tag}.toml", std::process::id()));
    std::fs::write(
        &config,
        format!(
            "[dns]\nbackend = \"none\"\n[datapath]\noffload = {offload}\n[simulate]\n\
             forward = \"fwd0@{}\"\n",
            peer.0
        ),
    )
    .unwrap();
    let mut daemon = client.simulate(&config);
    wait_until("mbim0e0 with its addresses", || {
        client
            .ip(&["-j", "addr", "show", "dev", "mbim0e0"])
            .contains("\"fd00:6d62::2\"")
            && client
                .ip(&["-j", "addr", "show", "dev", "mbim0e0"])
                .contains("\"10.64.0.2\"")
    });

    // The gateway's own services still answer; the peer's kernel answers
    // echo too, a 3000-byte one in fragments both ways.
    client.ping("10.64.0.1", &Echo::new(2));
    client.ping("fd00:6d62::1", &Echo::new(2));
    client.ping(&PEER_V4.to_string(), &Echo::new(2));
    client.ping(&PEER_V6.to_string(), &Echo::new(2));
    client.ping(
        &PEER_V4.to_string(),
        &Echo {
            payload: 3000,
            ..Echo::new(2)
        },
    );

    // Traffic flowed, so the pump runs: as a task on the simulated modem's
    // reader thread (`datapath::spawn_on`), not on a thread of its own.
    let threads = thread_names(daemon.0.id());
    assert!(
        threads.iter().any(|name| name == "fwd-fwd0")
            && !threads.iter().any(|name| name.starts_with("pump")),
        "{threads:?}"
    );

    client.run(|| {
        tcp_client(SocketAddr::new(PEER_V4.into(), 5001));
        tcp_client(SocketAddr::new(PEER_V6.into(), 5001));
        dns_query(
            SocketAddr::new(PEER_V4.into(), 53),
            1,
            IpAddr::V4(ANSWER_V4),
        );
        dns_query(
            SocketAddr::new(PEER_V6.into(), 53),
            28,
            IpAddr::V6(ANSWER_V6),
        );
        path_mtu();
    });

    stop.store(true, Ordering::Relaxed);
    for server in servers {
        server.join().unwrap();
    }
    let exit = daemon.terminate();
    assert!(exit.success(), "{exit:?}");
    let _ = std::fs::remove_file(config);
}

/// The names of process `pid`'s threads.
fn thread_names(pid: u32) -> Vec<String> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .map(|name| name.trim_end().to_owned())
        .collect()
}

/// The peer: a persistent TUN device `fwd0` (what mbimd forwards to) with
/// the peer's addresses and routes to the sessions' subnets, and a veth
/// link of a smaller MTU to `far`, the peer routing between them.
fn build_peer(peer: &Namespace, far: &Namespace) {
    let run = |namespace: &Namespace, args: &[&str]| {
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
    };
    run(peer, &["tuntap", "add", "dev", "fwd0", "mode", "tun"]);
    run(peer, &["addr", "add", "192.0.2.1/32", "dev", "fwd0"]);
    run(
        peer,
        &[
            "-6",
            "addr",
            "add",
            "2001:db8::1/128",
            "dev",
            "fwd0",
            "nodad",
        ],
    );
    run(peer, &["link", "set", "fwd0", "up"]);
    run(peer, &["route", "add", "10.64.0.0/16", "dev", "fwd0"]);
    run(
        peer,
        &["-6", "route", "add", "fd00:6d62::/32", "dev", "fwd0"],
    );
    let mtu = FAR_MTU.to_string();
    run(
        peer,
        &[
            "link", "add", "vpf", "mtu", &mtu, "type", "veth", "peer", "name", "vfp", "mtu", &mtu,
            "netns", &far.0,
        ],
    );
    run(peer, &["addr", "add", "198.51.100.1/24", "dev", "vpf"]);
    run(peer, &["link", "set", "vpf", "up"]);
    run(far, &["addr", "add", "198.51.100.2/24", "dev", "vfp"]);
    run(far, &["link", "set", "vfp", "up"]);
    run(far, &["route", "add", "default", "via", "198.51.100.1"]);
    peer.run(|| std::fs::write("/proc/sys/net/ipv4/ip_forward", "1\n").unwrap());
}

/// The bytes of a transfer: a xorshift stream, so a byte lost, repeated or
/// moved is seen.
struct Pattern(u64);

impl Pattern {
    fn fill(&mut self, buffer: &mut [u8]) {
        for byte in buffer {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            *byte = self.0.to_le_bytes()[0];
        }
    }
}

/// Reads exactly `TCP_BYTES` of `Pattern(seed)` from `stream`.
fn receive_pattern(stream: &mut TcpStream, seed: u64) {
    let mut expected = Pattern(seed);
    let mut buffer = vec![0u8; 64 << 10];
    let mut want = vec![0u8; 64 << 10];
    let mut received = 0usize;
    while received < TCP_BYTES {
        let room = (TCP_BYTES - received).min(buffer.len());
        let length = stream.read(&mut buffer[..room]).unwrap();
        assert!(length > 0, "the stream ended after {received} bytes");
        expected.fill(&mut want[..length]);
        assert!(
            buffer[..length] == want[..length],
            "the stream differs within bytes {received}..{}",
            received + length
        );
        received += length;
    }
}

/// Writes `TCP_BYTES` of `Pattern(seed)` to `stream`.
fn send_pattern(stream: &mut TcpStream, seed: u64) {
    let mut pattern = Pattern(seed);
    let mut buffer = vec![0u8; 64 << 10];
    let mut sent = 0usize;
    while sent < TCP_BYTES {
        let length = (TCP_BYTES - sent).min(buffer.len());
        pattern.fill(&mut buffer[..length]);
        stream.write_all(&buffer[..length]).unwrap();
        sent += length;
    }
    stream.flush().unwrap();
}

/// Accepts one connection, takes the client's stream and sends its own.
fn tcp_server(listener: TcpListener) {
    {
        let (mut stream, from) = listener.accept().unwrap();
        assert!(
            matches!(from.ip(), IpAddr::V4(a) if a == Ipv4Addr::new(10, 64, 0, 2))
                || matches!(from.ip(), IpAddr::V6(a) if a == "fd00:6d62::2".parse::<Ipv6Addr>().unwrap()),
            "the connection comes from the session's address, not {from}"
        );
        stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
        receive_pattern(&mut stream, 0x5EED_0001);
        send_pattern(&mut stream, 0x5EED_0002);
    }
}

/// Sends its stream, then takes the server's.
fn tcp_client(address: SocketAddr) {
    let mut stream = TcpStream::connect_timeout(&address, IO_TIMEOUT).unwrap();
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    send_pattern(&mut stream, 0x5EED_0001);
    receive_pattern(&mut stream, 0x5EED_0002);
}

/// Answers each datagram on `socket` with what `answer` makes of it, on a
/// thread of its own, until `stop`.
fn udp_server(
    socket: UdpSocket,
    stop: Arc<AtomicBool>,
    answer: fn(&[u8]) -> Option<Vec<u8>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let mut buffer = vec![0u8; 65536];
        while !stop.load(Ordering::Relaxed) {
            let Ok((length, from)) = socket.recv_from(&mut buffer) else {
                continue;
            };
            if let Some(reply) = answer(&buffer[..length]) {
                socket.send_to(&reply, from).unwrap();
            }
        }
    })
}

/// A DNS query (RFC 1035) for `www.example.test` of `qtype`.
fn dns_query_message(id: u16, qtype: u16) -> Vec<u8> {
    let mut message = Vec::new();
    message.extend_from_slice(&id.to_be_bytes());
    message.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in ["www", "example", "test"] {
        message.push(u8::try_from(label.len()).unwrap());
        message.extend_from_slice(label.as_bytes());
    }
    message.push(0);
    message.extend_from_slice(&qtype.to_be_bytes());
    message.extend_from_slice(&1u16.to_be_bytes());
    message
}

/// The responder: one answer record (A or AAAA) for a well-formed query.
fn dns_answer(query: &[u8]) -> Option<Vec<u8>> {
    let name_end = 12 + query.get(12..)?.iter().position(|&byte| byte == 0)? + 1;
    let question = query.get(12..name_end + 4)?;
    let qtype = u16::from_be_bytes([question[question.len() - 4], question[question.len() - 3]]);
    let data: Vec<u8> = match qtype {
        1 => ANSWER_V4.octets().to_vec(),
        28 => ANSWER_V6.octets().to_vec(),
        _ => return None,
    };
    let mut reply = Vec::new();
    reply.extend_from_slice(query.get(..2)?);
    reply.extend_from_slice(&[0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0]);
    reply.extend_from_slice(question);
    reply.extend_from_slice(&[0xC0, 12]);
    reply.extend_from_slice(&qtype.to_be_bytes());
    reply.extend_from_slice(&1u16.to_be_bytes());
    reply.extend_from_slice(&60u32.to_be_bytes());
    reply.extend_from_slice(&u16::try_from(data.len()).unwrap().to_be_bytes());
    reply.extend_from_slice(&data);
    Some(reply)
}

/// Asks the responder at `server` and checks the answer.
fn dns_query(server: SocketAddr, qtype: u16, expected: IpAddr) {
    let any: SocketAddr = match server {
        SocketAddr::V4(_) => "0.0.0.0:0".parse().unwrap(),
        SocketAddr::V6(_) => "[::]:0".parse().unwrap(),
    };
    let socket = UdpSocket::bind(any).unwrap();
    socket.connect(server).unwrap();
    socket.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    let id = 0x4D42 ^ qtype;
    let query = dns_query_message(id, qtype);
    socket.send(&query).unwrap();
    let mut reply = [0u8; 512];
    let length = socket.recv(&mut reply).unwrap();
    let reply = &reply[..length];
    assert_eq!(&reply[..2], &id.to_be_bytes(), "the answer's id");
    assert_eq!(reply[3] & 0x0F, 0, "rcode");
    assert_eq!(&reply[6..8], &[0, 1], "one answer");
    let data = &reply[query.len() + 12..];
    let answer = match expected {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(data).unwrap())),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(data).unwrap())),
    };
    assert_eq!(answer, expected);
}

/// Path MTU as Linux does it, over the session (MTU 1500) and beyond.
fn path_mtu() {
    use rustix::net::sockopt::{ip_mtu, set_ip_mtu_discover, Ipv4PathMtuDiscovery};

    // Larger than the session: fragmented by the client's kernel, carried
    // as fragments through the modem, reassembled by the peer, echoed in
    // fragments and reassembled here.
    let socket = UdpSocket::bind("0.0.0.0:0").unwrap();
    socket.connect((PEER_V4, 7)).unwrap();
    socket.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    let mut big = vec![0u8; 4000];
    Pattern(0x5EED_0003).fill(&mut big);
    socket.send(&big).unwrap();
    let mut echoed = vec![0u8; 8000];
    let length = socket.recv(&mut echoed).unwrap();
    assert!(
        echoed[..length] == big[..],
        "the fragmented datagram came back whole"
    );

    // With "don't fragment", larger than the session's MTU is refused here.
    set_ip_mtu_discover(&socket, Ipv4PathMtuDiscovery::DO).unwrap();
    assert_eq!(ip_mtu(&socket).unwrap(), 1500);
    let refused = socket.send(&big[..1600]).unwrap_err();
    assert_eq!(
        refused.raw_os_error(),
        Some(rustix::io::Errno::MSGSIZE.raw_os_error())
    );

    // Beyond the peer the link is smaller: the peer, routing, answers a
    // DF datagram that fits the session but not that link with ICMP
    // "fragmentation needed", which comes back through the modem and
    // lowers this path's MTU.
    let far = UdpSocket::bind("0.0.0.0:0").unwrap();
    far.connect((FAR_V4, 9)).unwrap();
    set_ip_mtu_discover(&far, Ipv4PathMtuDiscovery::DO).unwrap();
    assert_eq!(ip_mtu(&far).unwrap(), 1500);
    let deadline = Instant::now() + IO_TIMEOUT;
    loop {
        // The error the ICMP leaves on the socket comes out of a send.
        let _ = far.send(&big[..1450]);
        if ip_mtu(&far).unwrap() == FAR_MTU {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no path MTU learnt from the peer"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let refused = far.send(&big[..1450]).unwrap_err();
    assert_eq!(
        refused.raw_os_error(),
        Some(rustix::io::Errno::MSGSIZE.raw_os_error())
    );
    // The ICMP's own report may still wait on the socket (SO_ERROR); with
    // it taken, what fits the learnt MTU goes.
    let _ = far.take_error().unwrap();
    far.send(&big[..1300]).unwrap();
}
