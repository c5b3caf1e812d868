//! A private dbus-daemon, busctl and dbus-send as the clients, and a test
//! that plays the supervisor (owns the `ModemEndpoint`: publishes snapshots,
//! answers requests) so the D-Bus layer is driven through a real bus.

#![allow(dead_code, unreachable_pub)]

mod simulated;
#[allow(unused_imports)]
pub use simulated::Mbimd;

use mbim_protocol::services::basic_connect::{
    PacketServiceState, PinState, PinType, RadioSwitchState, RegisterState, SubscriberReadyState,
};
use mbim_protocol::services::ms_basic_connect_extensions::UiccSlotState;
use mbimd::config::Config;
use mbimd::datapath::{CounterSnapshot, SessionTraffic};
use mbimd::dbus::{self, AccessPolicy, Bus, DbusService, Reloader};
use mbimd::executor::{ExecutorCommand, ExecutorState, ExecutorStatus, PinStatus};
use mbimd::modem::{
    modem_channel, ExecutorSnapshot, ModemHandle, ModemRequest, ModemSnapshot, Registry,
    RequestError, SlotCheck, SlotSnapshot,
};
use mbimd::netdev::{ConfigPart, ConfigReport, PartOutcome};
use mbimd::policy::{SlotKind, SlotPolicyConfig};
use mbimd::types::{IpSettings, Ipv4Prefix};
use mbimd_test_support::tools::{BUSCTL, DBUS_DAEMON, DBUS_SEND, SETPRIV};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;
use tokio::sync::{mpsc as tmpsc, watch};

/// A hang guard, never an expectation about speed.
pub const HANG_GUARD: Duration = Duration::from_secs(60);

/// The unprivileged caller of the access tests.
pub const NOBODY: u32 = 65534;

/// The ICCID and IMSI of the test SIM.
pub const ICCID: &str = "8949000012345678901";
/// The IMSI of the test SIM.
pub const IMSI: &str = "001010123456789";

/// Whether the test runs as root (needed to run clients as another uid).
pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// A dbus-daemon of our own, with a policy that lets anyone connect, own
/// and send (mbimd's own check is what the tests examine).
pub struct PrivateBus {
    dir: PathBuf,
    daemon: Child,
    /// Its address.
    pub address: String,
}

/// The test bus's own policy: anyone may connect, own and send.
pub const OPEN_POLICY: &str = r#"<policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
  </policy>"#;

impl PrivateBus {
    /// Starts one where anyone may do anything.
    pub fn start() -> Self {
        Self::start_with(OPEN_POLICY)
    }

    /// Starts one with these policy (and include) elements.
    pub fn start_with(policy: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "mbimd-dbus-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // The unprivileged caller must reach the socket.
        std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let socket = dir.join("bus");
        let config = dir.join("bus.conf");
        std::fs::write(
            &config,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  {policy}
</busconfig>
"#,
                socket.display()
            ),
        )
        .unwrap();
        let mut daemon = DBUS_DAEMON
            .command()
            .arg(format!("--config-file={}", config.display()))
            .args(["--print-address", "--nofork"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(daemon.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let address = line.trim().to_owned();
        assert!(address.starts_with("unix:"), "dbus-daemon said {line:?}");
        std::fs::set_permissions(&socket, std::os::unix::fs::PermissionsExt::from_mode(0o777))
            .unwrap();
        PrivateBus {
            dir,
            daemon,
            address,
        }
    }
}

impl PrivateBus {
    /// Its temporary directory (removed with it).
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A finished client command.
#[derive(Debug)]
pub struct Run {
    /// Exit status zero.
    pub ok: bool,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Self {
        Run {
            ok: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Run {
    /// The standard output, asserting success.
    pub fn out(&self) -> &str {
        assert!(self.ok, "failed: {self:?}");
        &self.stdout
    }
}

/// Runs `program args` as `uid` (None: as the test itself), off the async
/// runtime's threads.
pub async fn run_as(uid: Option<u32>, program: impl AsRef<Path>, args: Vec<String>) -> Run {
    let program = program.as_ref().to_owned();
    let output = tokio::task::spawn_blocking(move || {
        let mut command = match uid {
            None => Command::new(&program),
            Some(uid) => {
                let mut command = SETPRIV.command();
                command
                    .arg(format!("--reuid={uid}"))
                    .arg(format!("--regid={uid}"))
                    .arg("--clear-groups")
                    .arg(&program);
                command
            }
        };
        command.args(&args).stdin(Stdio::null()).output()
    });
    tokio::time::timeout(HANG_GUARD, output)
        .await
        .expect("client hung")
        .unwrap()
        .unwrap()
        .into()
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|arg| (*arg).to_owned()).collect()
}

/// `busctl --address=… args…`.
pub async fn busctl(bus: &PrivateBus, uid: Option<u32>, args: &[&str]) -> Run {
    let mut all = vec![format!("--address={}", bus.address)];
    all.extend(strings(args));
    run_as(uid, BUSCTL.path(), all).await
}

/// A property's value as busctl's JSON gives it.
pub async fn get_property(
    bus: &PrivateBus,
    uid: Option<u32>,
    path: &str,
    interface: &str,
    name: &str,
) -> serde_json::Value {
    let run = busctl(
        bus,
        uid,
        &[
            "--json=short",
            "get-property",
            dbus::BUS_NAME,
            path,
            interface,
            name,
        ],
    )
    .await;
    let value: serde_json::Value = serde_json::from_str(run.out()).unwrap();
    value["data"].clone()
}

/// Polls the property `name` of the executor at `path` until `done` holds;
/// a hang guard, not a timing expectation. `log` is mbimd's, shown if not.
pub async fn wait_for_property(
    bus: &PrivateBus,
    log: &Path,
    path: &str,
    name: &str,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = std::time::Instant::now() + HANG_GUARD;
    loop {
        // Until mbimd has its name (and the executor object) the call fails.
        let run = busctl(
            bus,
            None,
            &[
                "--json=short",
                "get-property",
                "dev.mbimd.Mbimd1",
                path,
                "dev.mbimd.Executor1",
                name,
            ],
        )
        .await;
        let parts = serde_json::from_str::<serde_json::Value>(&run.stdout)
            .map_or(serde_json::Value::Null, |value| value["data"].clone());
        if done(&parts) {
            return parts;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{name} stayed {parts}; mbimd said:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `busctl call` of a method on mbimd.
pub async fn call(
    bus: &PrivateBus,
    uid: Option<u32>,
    path: &str,
    interface: &str,
    method: &str,
    signature_and_args: &[&str],
) -> Run {
    let mut args = vec![
        "--json=short",
        "call",
        dbus::BUS_NAME,
        path,
        interface,
        method,
    ];
    args.extend_from_slice(signature_and_args);
    busctl(bus, uid, &args).await
}

/// `dbus-send --print-reply` (it names the D-Bus error, busctl does not).
pub async fn dbus_send(
    bus: &PrivateBus,
    uid: Option<u32>,
    path: &str,
    member: &str,
    args: &[&str],
) -> Run {
    let mut all = vec![
        format!("--bus={}", bus.address),
        "--print-reply".to_owned(),
        format!("--dest={}", dbus::BUS_NAME),
        path.to_owned(),
        member.to_owned(),
    ];
    all.extend(strings(args));
    run_as(uid, DBUS_SEND.path(), all).await
}

/// `busctl monitor` of everything on the bus, one JSON message at a time.
pub struct Monitor {
    child: Child,
    messages: mpsc::Receiver<serde_json::Value>,
}

impl Monitor {
    /// Starts monitoring; returns once busctl is a monitor, so nothing sent
    /// afterwards is missed.
    pub fn start(bus: &PrivateBus) -> Self {
        let mut child = BUSCTL
            .command()
            .arg(format!("--address={}", bus.address))
            .args(["monitor", "--json=short"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        loop {
            line.clear();
            assert_ne!(
                stderr.read_line(&mut line).unwrap(),
                0,
                "busctl monitor ended"
            );
            if line.contains("Monitoring") {
                break;
            }
        }
        std::thread::spawn(move || {
            let mut rest = String::new();
            let _ = stderr.read_to_string(&mut rest);
        });
        let stdout = child.stdout.take().unwrap();
        let (sender, messages) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let Ok(message) = serde_json::from_str(&line) else {
                    continue;
                };
                if sender.send(message).is_err() {
                    break;
                }
            }
        });
        Monitor { child, messages }
    }

    /// The next message (in bus order) for which `wanted` holds.
    pub async fn wait_for(
        &mut self,
        what: &str,
        mut wanted: impl FnMut(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = std::time::Instant::now() + HANG_GUARD;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let message = tokio::task::block_in_place(|| self.messages.recv_timeout(left))
                .unwrap_or_else(|_| panic!("no {what} on the bus"));
            if wanted(&message) {
                return message;
            }
        }
    }

    /// Every message the bus carries from now until `window` has passed:
    /// for checking that something does not happen, never a measure of
    /// speed.
    pub async fn during(&mut self, window: Duration) -> Vec<serde_json::Value> {
        let end = std::time::Instant::now() + window;
        let mut seen = Vec::new();
        loop {
            let left = end.saturating_duration_since(std::time::Instant::now());
            match tokio::task::block_in_place(|| self.messages.recv_timeout(left)) {
                Ok(message) => seen.push(message),
                Err(mpsc::RecvTimeoutError::Timeout) => return seen,
                Err(mpsc::RecvTimeoutError::Disconnected) => panic!("busctl monitor ended"),
            }
        }
    }

    /// The next signal `member` from `path`.
    pub async fn signal(&mut self, path: &str, member: &str) -> serde_json::Value {
        let (path_owned, member_owned) = (path.to_owned(), member.to_owned());
        self.wait_for(&format!("{member} from {path}"), move |message| {
            message["type"] == "signal"
                && message["path"] == path_owned.as_str()
                && message["member"] == member_owned.as_str()
        })
        .await
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the modem's supervisor (here: the test) was asked.
#[derive(Debug, Clone, PartialEq)]
// A test's record of requests: a few per test, size does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Seen {
    /// An executor command.
    Executor(usize, ExecutorCommand),
    /// DEVICE_SLOT_MAPPINGS set.
    SetSlotMapping(Vec<u32>),
    /// SwitchToSlot.
    SwitchToSlot(u32),
    /// TestSlots.
    TestSlots,
    /// SetSlotPolicy.
    SetPolicy(SlotPolicyConfig),
    /// Reload.
    Reconfigure,
}

/// A modem played by the test.
pub struct FakeSupervisor {
    /// Publish snapshots here.
    pub snapshot: watch::Sender<ModemSnapshot>,
    /// Slot signals go out here.
    pub signals: tokio::sync::broadcast::Sender<mbimd::modem::SlotSignal>,
    /// Every request, in order.
    pub seen: tmpsc::UnboundedReceiver<Seen>,
}

/// The answer the test supervisor gives: every request succeeds except
/// `SetRadio(false)`, which the "device" refuses, and `EnterPin("0000")`,
/// which it does not answer in time.
fn answer(request: ModemRequest, seen: &tmpsc::UnboundedSender<Seen>) {
    match request {
        ModemRequest::Executor {
            executor,
            command,
            reply,
        } => {
            let command = *command;
            let result = if command == ExecutorCommand::SetRadio(false) {
                Err(RequestError::Device {
                    status: None,
                    message: "radio off refused by the test".to_owned(),
                })
            } else if command == ExecutorCommand::EnterPin(mbimd::executor::Secret::new("0000")) {
                Err(RequestError::Timeout(
                    "the device did not answer within 20 s".to_owned(),
                ))
            } else {
                Ok(())
            };
            let _ = seen.send(Seen::Executor(executor, command));
            let _ = reply.send(result);
        }
        ModemRequest::SetSlotMapping { mapping, reply } => {
            let _ = seen.send(Seen::SetSlotMapping(mapping.clone()));
            let _ = reply.send(Ok(mapping));
        }
        ModemRequest::SwitchToSlot { slot, reply } => {
            let _ = seen.send(Seen::SwitchToSlot(slot));
            let _ = reply.send(Ok(()));
        }
        ModemRequest::TestSlots { reply } => {
            let _ = seen.send(Seen::TestSlots);
            let _ = reply.send(Ok(vec![
                SlotCheck {
                    name: "QuerySlotMapping".to_owned(),
                    passed: true,
                    details: "slot 0".to_owned(),
                },
                SlotCheck {
                    name: "ValidateSlotInfoState".to_owned(),
                    passed: false,
                    details: "slot 1 undetermined".to_owned(),
                },
            ]));
        }
        ModemRequest::SetPolicy { policy, reply } => {
            let _ = seen.send(Seen::SetPolicy(policy));
            let _ = reply.send(Ok(()));
        }
        ModemRequest::Reconfigure { .. } => {
            let _ = seen.send(Seen::Reconfigure);
        }
        // The D-Bus API never asks for these: the host's sleep does.
        ModemRequest::Suspend { reply } | ModemRequest::Resume { reply } => {
            let _ = reply.send(Err(RequestError::NotPossible(
                "not a D-Bus request".to_owned(),
            )));
        }
        // Nor this: libmbim's clients do, through the proxy.
        ModemRequest::Passthrough { reply, .. } => {
            let _ = reply.send(Err(RequestError::NotPossible(
                "not a D-Bus request".to_owned(),
            )));
        }
    }
}

/// A modem handle whose supervisor is the test.
pub fn fake_modem(initial: ModemSnapshot) -> (ModemHandle, FakeSupervisor) {
    let (handle, endpoint) = modem_channel(initial);
    let mut requests = endpoint.requests;
    let (seen_tx, seen) = tmpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(request) = requests.recv().await {
            answer(request, &seen_tx);
        }
    });
    (
        handle,
        FakeSupervisor {
            snapshot: endpoint.snapshot,
            signals: endpoint.signals,
            seen,
        },
    )
}

impl FakeSupervisor {
    /// The next request (waits for it).
    pub async fn next(&mut self) -> Seen {
        tokio::time::timeout(HANG_GUARD, self.seen.recv())
            .await
            .expect("no request reached the supervisor")
            .expect("the supervisor's request log ended")
    }
}

/// A connected executor with a SIM.
pub fn connected_executor() -> ExecutorSnapshot {
    ExecutorSnapshot {
        status: ExecutorStatus {
            executor: 0,
            state: ExecutorState::Connected,
            ready_state: Some(SubscriberReadyState::Initialized),
            pin: PinStatus {
                pin_type: Some(PinType::None),
                state: Some(PinState::Unlocked),
                remaining_attempts: Some(3),
                configured_pin_refused: false,
            },
            register_state: Some(RegisterState::Home),
            provider_id: "00101".to_owned(),
            provider_name: "Test Network".to_owned(),
            packet_service: Some(PacketServiceState::Attached),
            rssi: Some(20),
            error_rate: Some(0),
            slot: Some(0),
            radio_software: Some(RadioSwitchState::On),
            radio_hardware: Some(RadioSwitchState::On),
            iccid: ICCID.to_owned(),
            imsi: IMSI.to_owned(),
            home_provider: "00101".to_owned(),
            profile: Some("internet".to_owned()),
            ip: Some(IpSettings {
                ipv4_addresses: vec![Ipv4Prefix {
                    address: "10.0.0.2".parse().unwrap(),
                    prefix: 24,
                }],
                ipv4_gateway: Some("10.0.0.1".parse().unwrap()),
                ipv4_dns: vec!["10.0.0.53".parse().unwrap()],
                ipv4_mtu: 1428,
                ..Default::default()
            }),
            ..Default::default()
        },
        netdev: Some("mbim0e0".to_owned()),
        transport: "usbfs".to_owned(),
        kernel_netdev: None,
        session_netdevs: Vec::new(),
        session_not_applied: Vec::new(),
        configuration: Some(ConfigReport {
            parts: ["mtu 1428", "link up", "address 10.0.0.2/24", "dns"]
                .into_iter()
                .map(|part| ConfigPart {
                    part: part.to_owned(),
                    outcome: PartOutcome::Applied,
                })
                .collect(),
        }),
        mtu: 1428,
        counters: CounterSnapshot {
            rx_packets: 5,
            rx_bytes: 500,
            tx_packets: 4,
            tx_bytes: 400,
            ..Default::default()
        },
        // Of which an IMS session's: one packet each way.
        session_traffic: vec![SessionTraffic {
            session: 1,
            rx_packets: 1,
            rx_bytes: 100,
            tx_packets: 1,
            tx_bytes: 40,
        }],
    }
}

/// A dual-SIM single-active modem: one connected executor on slot 0.
pub fn dssa_snapshot(index: u32) -> ModemSnapshot {
    ModemSnapshot {
        index,
        modem_id: "1234".to_owned(),
        vid: 0x1234,
        pid: 0x5678,
        serial: "SIM0001".to_owned(),
        usb_path: "simulated".to_owned(),
        manufacturer: "mbimd".to_owned(),
        model: "Test Modem".to_owned(),
        firmware: "1.0".to_owned(),
        concurrency: 1,
        mapping: vec![0],
        policy: SlotPolicyConfig::default(),
        policy_active: true,
        executors: vec![connected_executor()],
        slots: vec![
            SlotSnapshot {
                index: 0,
                kind: SlotKind::Physical,
                state: Some(UiccSlotState::Active),
                iccid: ICCID.to_owned(),
                executor: Some(0),
            },
            SlotSnapshot {
                index: 1,
                kind: SlotKind::Embedded,
                state: Some(UiccSlotState::ActiveEsimNoProfiles),
                iccid: String::new(),
                executor: None,
            },
        ],
    }
}

/// A reloader that fails with `error` if given, else hands back the default
/// configuration.
pub fn reloader(error: Option<&str>) -> Reloader {
    let error = error.map(str::to_owned);
    Arc::new(move || {
        let error = error.clone();
        Box::pin(async move {
            match error {
                Some(error) => Err(error),
                None => Ok(Arc::new(Config::default())),
            }
        })
    })
}

/// The service on a private bus with one test-played modem (index 0).
pub struct Fixture {
    /// The bus (dropped last).
    pub service: DbusService,
    /// The modems.
    pub registry: Registry,
    /// Modem 0's supervisor.
    pub modem: FakeSupervisor,
    /// The bus.
    pub bus: PrivateBus,
}

impl Fixture {
    /// Starts everything; `reload_error` makes Reload fail with it.
    pub async fn start(reload_error: Option<&str>) -> Self {
        Self::on(PrivateBus::start(), reload_error).await
    }

    /// Starts the service on `bus`.
    pub async fn on(bus: PrivateBus, reload_error: Option<&str>) -> Self {
        let registry = Registry::new();
        let (handle, modem) = fake_modem(dssa_snapshot(0));
        registry.insert(0, handle);
        let service = tokio::time::timeout(
            HANG_GUARD,
            dbus::serve(
                Bus::Address(bus.address.clone()),
                registry.clone(),
                Arc::new(Config::default()),
                AccessPolicy::default(),
                reloader(reload_error),
            ),
        )
        .await
        .expect("serve hung")
        .unwrap();
        Fixture {
            service,
            registry,
            modem,
            bus,
        }
    }
}

/// The repository's systemd/ directory.
pub fn systemd_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../systemd")
}

/// The repository's dbus-interfaces/ directory.
pub fn interfaces_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../dbus-interfaces")
}
