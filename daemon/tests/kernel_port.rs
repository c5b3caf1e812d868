//! The character-device transport ([`KernelPort`]) against a simulated
//! device behind a descriptor pair: a Unix stream socket pair, whose reads,
//! like cdc-wdm's, keep no message boundaries (several messages in one
//! read, a message over several).
//!
//! The device end is either written by hand (messages split and merged,
//! a device that vanishes mid-message, a message that never ends) or is a
//! cdc-wdm emulation in front of the simulated modem: it does what the
//! kernel does on the function's behalf (each write a
//! SEND_ENCAPSULATED_COMMAND, a GET_ENCAPSULATED_RESPONSE on every
//! RESPONSE_AVAILABLE, the answers appended to what the reader gets), and
//! the executor connects through it.
//!
//! As root, the supervisor also runs a modem through the emulation with a
//! veth standing in for cdc_mbim's `wwan0`, in a network namespace: it
//! configures the driver's device, starts no pump, and at shutdown leaves
//! it in place, down and stripped.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod netdev_support;

use mbim_protocol::usb::{ClassRequest, Notification};
use mbim_sim::device::{SimFunction, SimModem};
use mbim_sim::inprocess::InProcessFunction;
use mbim_sim::scenario::Scenario;
use mbim_transport::{FunctionTransport, TransportError};
use mbimd::executor::{
    run_executor, ExecutorConfig, ExecutorEvent, ExecutorExit, ExecutorStatus, Profile,
};
use mbimd::kernel::{KernelPort, MessageStream, PortError, PortKind, PARTIAL_MESSAGE_TIMEOUT};
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::sync::{mpsc, watch, Mutex};

const MAX: u16 = 4096;

/// The port on one end of a stream socket pair, the device's end as a tokio stream.
fn pair(kind: PortKind) -> (KernelPort, UnixStream) {
    use rustix::net::{socketpair, AddressFamily, SocketFlags, SocketType};
    let (host, device) = socketpair(
        AddressFamily::UNIX,
        SocketType::STREAM,
        SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
        None,
    )
    .unwrap();
    let port = KernelPort::from_fd(host, kind, MAX).unwrap();
    let device = std::os::unix::net::UnixStream::from(device);
    (port, UnixStream::from_std(device).unwrap())
}

/// An INDICATE_STATUS_MSG-shaped message of `length` bytes (the port
/// reads headers only).
fn message(transaction_id: u32, length: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; length];
    bytes[0..4].copy_from_slice(&0x8000_0007u32.to_le_bytes());
    bytes[4..8].copy_from_slice(&u32::try_from(length).unwrap().to_le_bytes());
    bytes[8..12].copy_from_slice(&transaction_id.to_le_bytes());
    for (index, byte) in bytes.iter_mut().enumerate().skip(12) {
        *byte = u8::try_from(index % 253).unwrap();
    }
    bytes
}

/// The next message the port announces, as the executor's driver takes it.
async fn receive(port: &KernelPort) -> Result<Vec<u8>, TransportError> {
    let notification = tokio::time::timeout(Duration::from_secs(5), port.next_notification())
        .await
        .expect("the port answers in time")?;
    assert!(matches!(
        notification,
        Notification::ResponseAvailable { .. }
    ));
    port.control_in(ClassRequest::GetEncapsulatedResponse, 0, MAX)
        .await
}

#[tokio::test]
async fn messages_merged_in_one_read_and_split_over_several_come_out_whole() {
    let (port, mut device) = pair(PortKind::CdcWdm);
    let (a, b, c) = (message(1, 48), message(2, 12), message(3, 3000));
    // Two messages in one read.
    device
        .write_all(&[a.clone(), b.clone()].concat())
        .await
        .unwrap();
    assert_eq!(receive(&port).await.unwrap(), a);
    assert_eq!(receive(&port).await.unwrap(), b);
    // One message over four reads, the header itself cut.
    let writer = {
        let c = c.clone();
        tokio::spawn(async move {
            for piece in [&c[..5], &c[5..12], &c[12..1000], &c[1000..]] {
                device.write_all(piece).await.unwrap();
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            device
        })
    };
    assert_eq!(receive(&port).await.unwrap(), c);
    let mut device = writer.await.unwrap();
    // The end of one message and the next in the same read.
    let (d, e) = (message(4, 100), message(5, 60));
    device.write_all(&d[..30]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    device
        .write_all(&[&d[30..], &e[..]].concat())
        .await
        .unwrap();
    assert_eq!(receive(&port).await.unwrap(), d);
    assert_eq!(receive(&port).await.unwrap(), e);
}

#[tokio::test]
async fn a_write_is_one_whole_message_on_the_device() {
    let (port, mut device) = pair(PortKind::CdcWdm);
    let command = message(9, 2048);
    port.control_out(ClassRequest::SendEncapsulatedCommand, 0, command.clone())
        .await
        .unwrap();
    let mut read = vec![0u8; command.len()];
    device.read_exact(&mut read).await.unwrap();
    assert_eq!(read, command);
    // Nothing but control messages: the kernel driver owns the function.
    for request in [ClassRequest::GetNtbParameters, ClassRequest::SetNtbFormat] {
        let error = port.control_in(request, 0, 28).await.unwrap_err();
        assert!(
            matches!(&error, TransportError::Other(text) if text.contains("control messages only")),
            "{error:?}"
        );
    }
    assert!(port.take_data_pipes().is_err());
    assert!(!port.carries_ncm_data());
}

#[tokio::test]
async fn a_device_that_vanishes_mid_message_is_disconnected() {
    let (port, mut device) = pair(PortKind::Wwan);
    let whole = message(1, 200);
    device.write_all(&whole[..90]).await.unwrap();
    drop(device);
    let error = receive(&port).await.unwrap_err();
    assert_eq!(error, TransportError::Disconnected);
    // Writing to it says the same.
    let error = port
        .control_out(ClassRequest::SendEncapsulatedCommand, 0, message(2, 12))
        .await
        .unwrap_err();
    assert_eq!(error, TransportError::Disconnected);
}

#[tokio::test]
async fn a_message_that_never_ends_times_out_and_reading_starts_afresh() {
    let (port, mut device) = pair(PortKind::CdcWdm);
    // The header announces 500 bytes; 100 come.
    let never = message(1, 500);
    device.write_all(&never[..100]).await.unwrap();
    let started = std::time::Instant::now();
    let error = receive(&port).await.unwrap_err();
    assert_eq!(error, TransportError::Timeout);
    assert!(started.elapsed() >= PARTIAL_MESSAGE_TIMEOUT - Duration::from_millis(100));
    // The bytes were dropped: the next message is read from its header.
    let next = message(2, 64);
    device.write_all(&next).await.unwrap();
    assert_eq!(receive(&port).await.unwrap(), next);
}

#[tokio::test]
async fn a_header_announcing_more_than_the_maximum_is_refused_and_reading_goes_on() {
    let (port, mut device) = pair(PortKind::CdcWdm);
    let mut huge = message(1, 64);
    huge[4..8].copy_from_slice(&(u32::from(MAX) + 1).to_le_bytes());
    device.write_all(&huge).await.unwrap();
    let error = receive(&port).await.unwrap_err();
    assert!(
        matches!(&error, TransportError::Other(text) if text.contains("more than the maximum of 4096")),
        "{error:?}"
    );
    let next = message(2, 64);
    device.write_all(&next).await.unwrap();
    assert_eq!(receive(&port).await.unwrap(), next);
}

#[tokio::test]
async fn opening_follows_the_kernels_rules() {
    // A FIFO answers no IOCTL_WDM_MAX_COMMAND (ENOTTY): not cdc-wdm.
    let directory = std::env::temp_dir().join(format!("mbimd-kernel-port-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let fifo = directory.join("node");
    let _ = std::fs::remove_file(&fifo);
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    let error = KernelPort::open(&fifo, PortKind::CdcWdm).unwrap_err();
    assert!(matches!(error, PortError::MaxCommand { .. }), "{error:?}");
    let text = mbimd::logging::chain(&error).to_string();
    assert!(
        text.contains("answers no IOCTL_WDM_MAX_COMMAND: not a cdc-wdm device"),
        "{text}"
    );
    // A WWAN port has no such call: libmbim's 4096.
    let port = KernelPort::open(&fifo, PortKind::Wwan).unwrap();
    assert_eq!(port.max_message(), 4096);
    drop(port);
    std::fs::remove_dir_all(&directory).unwrap();
    let error =
        KernelPort::open(std::path::Path::new("/dev/cdc-wdm-none"), PortKind::CdcWdm).unwrap_err();
    assert!(matches!(error, PortError::Open { .. }), "{error:?}");
}

/// How the emulated kernel hands the device's answers to the reader.
#[derive(Debug, Clone, Copy)]
enum Delivery {
    /// Answers that come close together in one read (cdc-wdm's buffer).
    Merged,
    /// Each answer in pieces of a few bytes.
    Split,
}

/// The kernel's side of cdc-wdm in front of the simulated function, until
/// the function is unplugged (then the device end closes, as the node
/// vanishes) or the host end closes. Returns how many writes to the reader
/// carried more than one message.
async fn cdc_wdm(mut device: UnixStream, function: SimFunction, delivery: Delivery) -> usize {
    let transport = InProcessFunction::new(function.clone());
    let max = function.config().max_control_message;
    let mut commands = MessageStream::new(usize::from(max));
    let mut buffer = vec![0u8; 8192];
    let mut merged_writes = 0;
    loop {
        tokio::select! {
            read = device.read(&mut buffer) => {
                let Ok(length) = read else { return merged_writes };
                if length == 0 {
                    return merged_writes;
                }
                commands.push(&buffer[..length], std::time::Instant::now());
                while let Some(command) = commands.next_message() {
                    let command = command.expect("the host writes whole messages");
                    if transport
                        .control_out(ClassRequest::SendEncapsulatedCommand, 0, command)
                        .await
                        .is_err()
                    {
                        return merged_writes;
                    }
                }
            }
            notification = transport.next_notification() => {
                let Ok(notification) = notification else { return merged_writes };
                if !matches!(notification, Notification::ResponseAvailable { .. }) {
                    continue;
                }
                let mut answers = Vec::new();
                let mut count = 0;
                loop {
                    let Ok(answer) = transport
                        .control_in(ClassRequest::GetEncapsulatedResponse, 0, max)
                        .await
                    else {
                        return merged_writes;
                    };
                    answers.extend_from_slice(&answer);
                    count += 1;
                    if !matches!(delivery, Delivery::Merged) {
                        break;
                    }
                    // What comes meanwhile is appended to the same buffer.
                    let next = tokio::time::timeout(
                        Duration::from_millis(50),
                        transport.next_notification(),
                    );
                    match next.await {
                        Ok(Ok(Notification::ResponseAvailable { .. })) => {}
                        _ => break,
                    }
                }
                if count > 1 {
                    merged_writes += 1;
                }
                let pieces: Vec<&[u8]> = match delivery {
                    Delivery::Merged => vec![&answers[..]],
                    Delivery::Split => answers.chunks(7).collect(),
                };
                for piece in pieces {
                    if device.write_all(piece).await.is_err() {
                        return merged_writes;
                    }
                    if matches!(delivery, Delivery::Split) {
                        tokio::task::yield_now().await;
                    }
                }
            }
        }
    }
}

/// Waits for the executor's next event that `wanted` accepts.
async fn next_event(
    events: &mut mpsc::Receiver<mbimd::executor::ExecutorReport>,
    wanted: impl Fn(&ExecutorEvent) -> bool,
) -> ExecutorEvent {
    loop {
        let report = tokio::time::timeout(Duration::from_secs(20), events.recv())
            .await
            .expect("the event in time")
            .expect("the executor reports");
        if wanted(&report.event) {
            return report.event;
        }
    }
}

async fn executor_over_cdc_wdm(delivery: Delivery) {
    let text = include_str!("../../simulator/scenarios/two-executors.toml");
    let modem =
        SimModem::new(Scenario::from_toml_str(text, "two-executors.toml").unwrap()).unwrap();
    let function = modem.function(0).unwrap();
    let (port, device) = pair(PortKind::CdcWdm);
    let emulation = tokio::spawn(cdc_wdm(device, function, delivery));
    let (events_tx, mut events) = mpsc::channel(64);
    let (_commands, commands_rx) = mpsc::channel(4);
    let (status_tx, status) = watch::channel(ExecutorStatus::default());
    let config = ExecutorConfig {
        index: 0,
        profiles: vec![Profile::new("one", "internet")],
        max_control_message: port.max_message(),
        command_timeout: Duration::from_secs(2),
        backoff_base: Duration::from_millis(20),
        backoff_cap: Duration::from_millis(200),
        ..ExecutorConfig::default()
    };
    let executor = tokio::spawn(run_executor(
        Arc::new(port),
        config,
        events_tx,
        commands_rx,
        status_tx,
        Arc::new(Mutex::new(())),
    ));
    let ExecutorEvent::Connected(connection) = next_event(&mut events, |event| {
        matches!(event, ExecutorEvent::Connected(_))
    })
    .await
    else {
        unreachable!("only Connected is accepted")
    };
    assert_eq!(
        connection.ip.ipv4_addresses[0].address,
        Ipv4Addr::new(10, 64, 0, 2)
    );
    // No NTB parameters: the kernel driver runs the data path.
    assert!(connection.ntb.is_none());
    assert!(!status.borrow().imsi.is_empty());
    // The network goes and comes back: indications in bursts, answered
    // by a reconnection.
    modem
        .control(serde_json::from_str(r#"{"command":"lose-signal","executor":0}"#).unwrap())
        .unwrap();
    next_event(&mut events, |event| {
        matches!(event, ExecutorEvent::LinkDown { .. })
    })
    .await;
    modem
        .control(serde_json::from_str(r#"{"command":"regain-signal","executor":0}"#).unwrap())
        .unwrap();
    next_event(&mut events, |event| {
        matches!(event, ExecutorEvent::Connected(_))
    })
    .await;
    // Unplugged: the node vanishes, the executor ends as gone.
    modem
        .control(serde_json::from_str(r#"{"command":"unplug"}"#).unwrap())
        .unwrap();
    let exit = tokio::time::timeout(Duration::from_secs(10), executor)
        .await
        .expect("the executor ends")
        .unwrap();
    assert_eq!(exit, ExecutorExit::Gone);
    let merged = emulation.await.unwrap();
    if matches!(delivery, Delivery::Merged) {
        assert!(merged > 0, "no two answers were ever merged into one read");
    }
}

#[tokio::test]
async fn the_executor_connects_through_cdc_wdm_whose_reads_merge_answers() {
    executor_over_cdc_wdm(Delivery::Merged).await;
}

#[tokio::test]
async fn the_executor_connects_through_cdc_wdm_whose_reads_split_answers() {
    executor_over_cdc_wdm(Delivery::Split).await;
}

#[test]
fn the_supervisor_configures_the_drivers_netdev_and_leaves_it_at_shutdown() {
    use mbimd::config::Config;
    use mbimd::modem::{modem_channel, ModemSnapshot};
    use mbimd::netdev::InterfaceName;
    use mbimd::supervisor::{supervise, FunctionSpec, KernelData, ModemSpec, SessionLinks};
    use mbimd_test_support::tools::IP;
    use netdev_support::{addresses, ip, Netns};

    let test = "the_supervisor_configures_the_drivers_netdev_and_leaves_it_at_shutdown";
    if !netdev_support::can_run(test) {
        return;
    }
    let netns = Netns::new();
    // The far end of the veth standing in for the modem's network.
    let network = Netns::new();
    let network_name = network.name().to_owned();
    netns.run(|ns| async move {
        let status = IP
            .command()
            .args([
                "-n", &ns, "link", "add", "wwan0", "type", "veth", "peer", "name", "peer0",
            ])
            .status()
            .unwrap();
        assert!(status.success());
        let dir = std::env::temp_dir().join(format!("{ns}-kernel"));
        std::fs::create_dir_all(&dir).unwrap();
        let config = Config::parse(
            &format!(
                "[dns]\nbackend = \"none\"\n[modemmanager]\napi = \"off\"\n\
                 [slot-policy]\nstate-file = \"{}/slots.toml\"\n\
                 [[profiles]]\nname = \"one\"\napn = \"internet\"\n",
                dir.display()
            ),
            std::path::Path::new("test.toml"),
        )
        .unwrap();
        let text = include_str!("../../simulator/scenarios/two-executors.toml");
        let modem =
            SimModem::new(Scenario::from_toml_str(text, "two-executors.toml").unwrap()).unwrap();
        let (port, device) = pair(PortKind::CdcWdm);
        let emulation = tokio::spawn(cdc_wdm(
            device,
            modem.function(0).unwrap(),
            Delivery::Merged,
        ));
        let spec = ModemSpec {
            transport: "kernel",
            ..ModemSpec::default()
        };
        let functions = vec![FunctionSpec {
            transport: Arc::new(port),
            max_control_message: MAX,
            max_segment_size: 1500,
            kernel: Some(KernelData {
                port: "cdc-wdm0".to_owned(),
                netdev: InterfaceName::new("wwan0").unwrap(),
                links: SessionLinks::Vlan,
            }),
        }];
        let (handle, endpoint) = modem_channel(ModemSnapshot::default());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let supervisor = tokio::spawn(supervise(
            spec,
            functions,
            Arc::new(config),
            endpoint,
            async {
                let _ = stopped.await;
            },
        ));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while addresses(&ns, "-4", "wwan0") != vec![("10.64.0.2".to_owned(), 30)] {
            assert!(
                tokio::time::Instant::now() < deadline,
                "wwan0 never got 10.64.0.2/30"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let link = &ip(&ns, &["link", "show", "dev", "wwan0"])[0];
        assert!(
            link["flags"].as_array().unwrap().contains(&"UP".into()),
            "{link}"
        );
        let routes = ip(&ns, &["-4", "route", "show", "default"]);
        assert_eq!(routes[0]["dev"], "wwan0", "{routes}");
        let snapshot = handle.snapshot();
        assert_eq!(snapshot.executors[0].netdev.as_deref(), Some("wwan0"));
        assert_eq!(snapshot.executors[0].transport, "kernel");
        assert_eq!(
            snapshot.executors[0].kernel_netdev.as_deref(),
            Some("wwan0")
        );
        // No pump: the driver moves the packets and counts them; mbimd
        // reports the kernel's counts from when the session came up.
        let far = network_name.as_str();
        for args in [
            &["-n", &ns, "link", "set", "peer0", "netns", far][..],
            &["-n", far, "address", "add", "10.64.0.1/30", "dev", "peer0"][..],
            &["-n", far, "link", "set", "peer0", "up"][..],
        ] {
            assert!(IP.command().args(args).status().unwrap().success());
        }
        let echo = mbimd_test_support::icmp::Echo::new(3);
        let report =
            mbimd_test_support::icmp::ping_in_namespace(&ns, "10.64.0.1".parse().unwrap(), &echo)
                .unwrap();
        assert!(report.all_answered(), "{report}");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let counters = handle.snapshot().executors[0].counters;
            if counters.tx_packets >= 3 && counters.rx_packets >= 3 {
                assert!(counters.tx_bytes >= 3 * 84, "{counters:?}");
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the echoes never showed in the counters: {counters:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }

        stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(20), supervisor)
            .await
            .expect("the supervisor stops")
            .unwrap();
        let link = &ip(&ns, &["link", "show", "dev", "wwan0"])[0];
        assert!(
            !link["flags"].as_array().unwrap().contains(&"UP".into()),
            "set down: {link}"
        );
        assert_eq!(addresses(&ns, "-4", "wwan0"), vec![]);
        let routes = ip(&ns, &["-4", "route", "show", "default"]);
        assert_eq!(routes.as_array().unwrap().len(), 0, "{routes}");
        emulation.abort();
        let _ = std::fs::remove_dir_all(&dir);
    });
}
