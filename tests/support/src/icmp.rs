//! ICMP echo, what `ping` does, from inside a test's network namespace:
//! a thread enters the namespace (`setns`), opens a raw ICMP or ICMPv6
//! socket there (root's CAP_NET_RAW; the tests that ping run as root), sends
//! the requests and waits for each reply. No iputils needed.
//!
//! A reply counts only when it comes from the address pinged, is an echo
//! reply (ICMP type 0, ICMPv6 type 129) with this run's identifier and a
//! sequence number sent, carries the payload sent byte for byte, and, over
//! IPv4, has a correct checksum (over IPv6 the kernel checks it).

use rustix::net::{
    ipproto, recvfrom, sendto, sockopt, AddressFamily, RecvFlags, SendFlags, SocketType,
};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

/// The ICMP message type of an IPv4 echo request.
const ECHO_REQUEST_V4: u8 = 8;
/// … and of its reply.
const ECHO_REPLY_V4: u8 = 0;
/// The ICMPv6 message type of an echo request.
const ECHO_REQUEST_V6: u8 = 128;
/// … and of its reply.
const ECHO_REPLY_V6: u8 = 129;
/// The largest payload sent: an echo request still fits one IP datagram.
const MAX_PAYLOAD: usize = 65_000;

/// How many echo requests to send, how large, how often, and how long to
/// wait for the last reply (a hang guard, not a speed expectation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Echo {
    /// Requests sent.
    pub count: u16,
    /// Payload bytes in each (`ping -s`).
    pub payload: usize,
    /// Time between two requests (`ping -i`).
    pub interval: Duration,
    /// How long after the last request its replies may take (`ping -W`).
    pub timeout: Duration,
}

impl Echo {
    /// `count` requests of ping's default 56 payload bytes, 200 ms apart,
    /// replies awaited up to 5 s.
    pub fn new(count: u16) -> Echo {
        Echo {
            count,
            payload: 56,
            interval: Duration::from_millis(200),
            timeout: Duration::from_secs(5),
        }
    }
}

/// What came back for the requests sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EchoReport {
    /// The address pinged.
    pub destination: IpAddr,
    /// Requests sent.
    pub sent: u16,
    /// Sequence numbers of the requests answered, in the order answered.
    pub answered: Vec<u16>,
}

impl EchoReport {
    /// Whether every request sent was answered.
    pub fn all_answered(&self) -> bool {
        (0..self.sent).all(|sequence| self.answered.contains(&sequence))
    }
}

impl std::fmt::Display for EchoReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} requests sent, {} answered ({:?})",
            self.destination,
            self.sent,
            self.answered.len(),
            self.answered
        )
    }
}

/// Why an echo run could not be made (no reply is not an error: see
/// [`EchoReport`]).
#[derive(Debug, thiserror::Error)]
pub enum EchoError {
    /// The namespace's file could not be opened.
    #[error("opening the network namespace {path}")]
    OpenNamespace {
        /// `/run/netns/NAME`.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// setns into the namespace failed.
    #[error("entering the network namespace {path}")]
    EnterNamespace {
        /// `/run/netns/NAME`.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// No raw socket (not root?).
    #[error("opening a raw ICMP socket (needs root or CAP_NET_RAW)")]
    Socket(#[source] io::Error),
    /// sendto failed.
    #[error("sending echo request {sequence} to {destination}")]
    Send {
        /// The address pinged.
        destination: IpAddr,
        /// The request's sequence number.
        sequence: u16,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// recvfrom failed for another reason than its timeout.
    #[error("receiving echo replies from {destination}")]
    Receive {
        /// The address pinged.
        destination: IpAddr,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// More payload than one datagram carries.
    #[error("a payload of {0} bytes does not fit one echo request")]
    PayloadTooLarge(usize),
    /// The thread that entered the namespace panicked.
    #[error("the thread pinging from the namespace panicked")]
    Thread,
}

/// Pings `destination` from inside the network namespace `netns` (its
/// name under /run/netns, as `ip netns add` makes it), as `echo` says.
pub fn ping_in_namespace(
    netns: &str,
    destination: IpAddr,
    echo: &Echo,
) -> Result<EchoReport, EchoError> {
    let path = PathBuf::from("/run/netns").join(netns);
    let echo = echo.clone();
    // A thread of its own: setns moves only the calling thread, and the
    // test harness's threads stay where they are.
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).map_err(|source| EchoError::OpenNamespace {
            path: path.clone(),
            source,
        })?;
        rustix::thread::move_into_link_name_space(
            file.as_fd(),
            Some(rustix::thread::LinkNameSpaceType::Network),
        )
        .map_err(|source| EchoError::EnterNamespace {
            path: path.clone(),
            source: source.into(),
        })?;
        ping(destination, &echo)
    })
    .join()
    .map_err(|_| EchoError::Thread)?
}

/// Pings `destination` from the calling thread's network namespace.
pub fn ping(destination: IpAddr, echo: &Echo) -> Result<EchoReport, EchoError> {
    if echo.payload > MAX_PAYLOAD {
        return Err(EchoError::PayloadTooLarge(echo.payload));
    }
    let socket = match destination {
        IpAddr::V4(_) => {
            rustix::net::socket(AddressFamily::INET, SocketType::RAW, Some(ipproto::ICMP))
        }
        IpAddr::V6(_) => {
            rustix::net::socket(AddressFamily::INET6, SocketType::RAW, Some(ipproto::ICMPV6))
        }
    }
    .map_err(|source| EchoError::Socket(source.into()))?;
    let identifier = next_identifier();
    let mut report = EchoReport {
        destination,
        sent: 0,
        answered: Vec::new(),
    };
    let mut buffer = vec![0u8; MAX_PAYLOAD + 128];
    let mut next_send = Instant::now();
    let mut last_sent = next_send;
    loop {
        let now = Instant::now();
        if report.sent < echo.count && now >= next_send {
            send(&socket, destination, identifier, report.sent, echo.payload)?;
            report.sent += 1;
            last_sent = now;
            next_send = now + echo.interval;
        }
        let all_sent = report.sent == echo.count;
        let give_up = last_sent + echo.timeout;
        if all_sent && (report.all_answered() || now >= give_up) {
            return Ok(report);
        }
        let until = if all_sent { give_up } else { next_send };
        let wait = until
            .saturating_duration_since(now)
            .max(Duration::from_millis(1));
        if let Some(sequence) = receive(&socket, destination, identifier, echo, wait, &mut buffer)?
        {
            if sequence < report.sent && !report.answered.contains(&sequence) {
                report.answered.push(sequence);
            }
        }
    }
}

/// An identifier of this run's own, so that two runs at once (from one
/// test binary, or from several) never take each other's replies.
fn next_identifier() -> u16 {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let pid = std::process::id().to_le_bytes();
    u16::from_le_bytes([pid[0], pid[1]]).wrapping_add(NEXT.fetch_add(0x0101, Ordering::Relaxed))
}

/// The payload of request `sequence`: a pattern that differs per request,
/// so that a reply carrying another request's bytes does not count.
fn payload(sequence: u16, length: usize) -> Vec<u8> {
    let [low, high] = sequence.to_le_bytes();
    (0..length)
        .map(|index| index.to_le_bytes()[0].wrapping_add(low).wrapping_add(high))
        .collect()
}

fn send(
    socket: &OwnedFd,
    destination: IpAddr,
    identifier: u16,
    sequence: u16,
    length: usize,
) -> Result<(), EchoError> {
    let kind = match destination {
        IpAddr::V4(_) => ECHO_REQUEST_V4,
        IpAddr::V6(_) => ECHO_REQUEST_V6,
    };
    let mut message = vec![kind, 0, 0, 0];
    message.extend_from_slice(&identifier.to_be_bytes());
    message.extend_from_slice(&sequence.to_be_bytes());
    message.extend_from_slice(&payload(sequence, length));
    // ICMPv6's checksum covers a pseudo-header the kernel knows and fills
    // it in on raw ICMPv6 sockets; ICMP's is the sender's to compute.
    if destination.is_ipv4() {
        let checksum = internet_checksum(&message).to_be_bytes();
        if let Some(field) = message.get_mut(2..4) {
            field.copy_from_slice(&checksum);
        }
    }
    sendto(
        socket,
        &message,
        SendFlags::empty(),
        &SocketAddr::new(destination, 0),
    )
    .map(drop)
    .map_err(|source| EchoError::Send {
        destination,
        sequence,
        source: source.into(),
    })
}

/// Waits up to `wait` for one datagram; the sequence number it answers if
/// it is a valid reply of this run, None if it is not or none came.
fn receive(
    socket: &OwnedFd,
    destination: IpAddr,
    identifier: u16,
    echo: &Echo,
    wait: Duration,
    buffer: &mut [u8],
) -> Result<Option<u16>, EchoError> {
    let receive_error = |source: rustix::io::Errno| EchoError::Receive {
        destination,
        source: source.into(),
    };
    sockopt::set_socket_timeout(socket, sockopt::Timeout::Recv, Some(wait))
        .map_err(receive_error)?;
    let (length, from) = match recvfrom(socket, &mut *buffer, RecvFlags::empty()) {
        Ok((length, _, from)) => (length, from),
        Err(rustix::io::Errno::AGAIN | rustix::io::Errno::INTR) => return Ok(None),
        Err(error) => return Err(receive_error(error)),
    };
    let from = from.and_then(|from| SocketAddr::try_from(from).ok());
    if from.map(|from| from.ip()) != Some(destination) {
        return Ok(None);
    }
    let Some(datagram) = buffer.get(..length) else {
        return Ok(None);
    };
    Ok(echo_reply(destination, datagram, identifier, echo.payload))
}

/// The sequence number of `datagram` if it is a valid echo reply of this
/// run: over IPv4 the raw socket hands over the IP header too, over IPv6
/// the ICMPv6 message alone.
fn echo_reply(
    destination: IpAddr,
    datagram: &[u8],
    identifier: u16,
    payload_length: usize,
) -> Option<u16> {
    let (message, reply_type) = match destination {
        IpAddr::V4(_) => {
            let header_length = usize::from(datagram.first()? & 0x0f) * 4;
            let message = datagram.get(header_length..)?;
            if internet_checksum(message) != 0 {
                return None;
            }
            (message, ECHO_REPLY_V4)
        }
        IpAddr::V6(_) => (datagram, ECHO_REPLY_V6),
    };
    let [kind, 0, _, _, id_high, id_low, sequence_high, sequence_low, data @ ..] = message else {
        return None;
    };
    let sequence = u16::from_be_bytes([*sequence_high, *sequence_low]);
    (*kind == reply_type
        && u16::from_be_bytes([*id_high, *id_low]) == identifier
        && data == payload(sequence, payload_length).as_slice())
    .then_some(sequence)
}

/// RFC 1071's checksum: zero over a message whose checksum is right.
fn internet_checksum(bytes: &[u8]) -> u16 {
    let mut chunks = bytes.chunks_exact(2);
    let mut sum: u32 = chunks
        .by_ref()
        .map(|pair| match pair {
            [high, low] => u32::from(u16::from_be_bytes([*high, *low])),
            _ => 0,
        })
        .sum();
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !u16::try_from(sum).unwrap_or(u16::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    /// An IPv4 echo reply to request `sequence`, as the simulated gateway
    /// sends it: IP header, then the request's message with type 0.
    fn reply_v4(identifier: u16, sequence: u16, length: usize) -> Vec<u8> {
        let mut message = vec![ECHO_REPLY_V4, 0, 0, 0];
        message.extend_from_slice(&identifier.to_be_bytes());
        message.extend_from_slice(&sequence.to_be_bytes());
        message.extend_from_slice(&payload(sequence, length));
        let checksum = internet_checksum(&message).to_be_bytes();
        message[2..4].copy_from_slice(&checksum);
        let mut datagram = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 64, 1, 0, 0];
        datagram.extend_from_slice(&[10, 64, 0, 1, 10, 64, 0, 2]);
        datagram.extend_from_slice(&message);
        datagram
    }

    const GATEWAY4: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 64, 0, 1));

    #[test]
    fn the_checksum_is_rfc_1071s() {
        // RFC 1071's example words 0001 f203 f4f5 f6f7 sum to ddf2.
        assert_eq!(
            internet_checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            !0xddf2
        );
        // An odd byte counts as the high half of a last word.
        assert_eq!(internet_checksum(&[0x01]), !0x0100);
    }

    #[test]
    fn a_reply_of_this_run_is_accepted() {
        assert_eq!(echo_reply(GATEWAY4, &reply_v4(7, 3, 56), 7, 56), Some(3));
        let mut v6 = vec![ECHO_REPLY_V6, 0, 0, 0, 0, 7, 0, 4];
        v6.extend_from_slice(&payload(4, 1400));
        assert_eq!(
            echo_reply(IpAddr::V6(Ipv6Addr::LOCALHOST), &v6, 7, 1400),
            Some(4)
        );
    }

    #[test]
    fn anything_else_is_not_a_reply() {
        let good = reply_v4(7, 3, 56);
        // Another run's identifier.
        assert_eq!(echo_reply(GATEWAY4, &good, 8, 56), None);
        // A corrupted payload (the checksum catches it, and the pattern).
        let mut bad = good.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert_eq!(echo_reply(GATEWAY4, &bad, 7, 56), None);
        // The request itself, as a raw socket on loopback would see it.
        let mut request = good.clone();
        request[20] = ECHO_REQUEST_V4;
        assert_eq!(echo_reply(GATEWAY4, &request, 7, 56), None);
        // Another request's payload under this sequence number.
        assert_eq!(echo_reply(GATEWAY4, &reply_v4(7, 3, 55), 7, 56), None);
        // Truncated anywhere.
        for length in 0..28 {
            assert_eq!(echo_reply(GATEWAY4, &good[..length], 7, 56), None);
        }
    }

    #[test]
    fn payloads_differ_per_request() {
        assert_ne!(payload(0, 56), payload(1, 56));
        assert_eq!(payload(9, 1400).len(), 1400);
    }

    #[test]
    fn a_report_is_complete_only_with_every_reply() {
        let mut report = EchoReport {
            destination: GATEWAY4,
            sent: 3,
            answered: vec![2, 0],
        };
        assert!(!report.all_answered());
        report.answered.push(1);
        assert!(report.all_answered());
    }

    #[test]
    fn loopback_answers_as_root() {
        if !rustix::process::geteuid().is_root() {
            println!("SKIP: raw ICMP sockets need root");
            return;
        }
        for destination in [
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
        ] {
            let report = ping(destination, &Echo::new(3)).unwrap();
            assert!(report.all_answered(), "{report}");
        }
    }
}
