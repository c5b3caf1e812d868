//! The executor task against the in-process simulated modem: the whole life
//! cycle, PIN and PUK, loss and recovery, DNS updates, BUSY, faults, unplug;
//! each against an MBIM 1.0 modem and an MBIMEx 3.0 one.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use mbim_protocol::services::basic_connect::{PacketServiceState, PinType, RegisterState};
use mbim_protocol::usb::{ClassRequest, Notification};
use mbim_sim::device::SimModem;
use mbim_sim::inprocess::InProcessFunction;
use mbim_sim::scenario::Scenario;
use mbim_transport::{FunctionTransport, TransportError};
use mbimd::executor::{
    run_executor, Connection, ExecutorCommand, ExecutorConfig, ExecutorEvent, ExecutorExit,
    ExecutorReport, ExecutorState, ExecutorStatus, Profile, Secret,
};
use mbimd::types::{IpSettings, Ipv4Prefix, Ipv6Prefix};
use mbimd_test_support::scenarios::dual_sim;
use std::future::Future;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch, Mutex};
use tokio::task::JoinHandle;

const WAIT: Duration = Duration::from_secs(10);

fn config() -> ExecutorConfig {
    ExecutorConfig {
        profiles: vec![Profile::new("default", "internet")],
        open_timeout: Duration::from_millis(500),
        command_timeout: Duration::from_millis(400),
        backoff_base: Duration::from_millis(20),
        backoff_cap: Duration::from_millis(200),
        busy_retry: Duration::from_secs(60),
        ..ExecutorConfig::default()
    }
}

fn scenario_with_pin(mbimex: u8) -> Scenario {
    Scenario::from_toml_str(&dual_sim(mbimex, true), "dssa-pin.toml").unwrap()
}

/// The built-in dual-SIM modem offering up to MBIMEx `mbimex`.
fn dssa(mbimex: u8) -> Scenario {
    Scenario::from_toml_str(&dual_sim(mbimex, false), "dssa.toml").unwrap()
}

struct Harness<T: FunctionTransport + 'static> {
    modem: SimModem,
    events: mpsc::Receiver<ExecutorReport>,
    commands: mpsc::Sender<ExecutorCommand>,
    status: watch::Receiver<ExecutorStatus>,
    task: JoinHandle<ExecutorExit>,
    device_lock: Arc<Mutex<()>>,
    _transport: Arc<T>,
}

fn start(scenario: Scenario, config: ExecutorConfig) -> Harness<InProcessFunction> {
    let modem = SimModem::new(scenario).unwrap();
    let transport = InProcessFunction::new(modem.function(0).unwrap());
    start_with(modem, transport, config)
}

fn start_with<T: FunctionTransport + 'static>(
    modem: SimModem,
    transport: T,
    config: ExecutorConfig,
) -> Harness<T> {
    let transport = Arc::new(transport);
    let (events_tx, events) = mpsc::channel(64);
    let (commands, commands_rx) = mpsc::channel(8);
    let (status_tx, status) = watch::channel(ExecutorStatus::default());
    let device_lock = Arc::new(Mutex::new(()));
    let task = tokio::spawn(run_executor(
        Arc::clone(&transport),
        config,
        events_tx,
        commands_rx,
        status_tx,
        Arc::clone(&device_lock),
    ));
    Harness {
        modem,
        events,
        commands,
        status,
        task,
        device_lock,
        _transport: transport,
    }
}

/// Slot states, slot mappings and notifications: the life cycle's tests
/// look past them (executor_slots.rs looks at them).
fn is_noise(event: &ExecutorEvent) -> bool {
    matches!(
        event,
        ExecutorEvent::SlotInfo { .. }
            | ExecutorEvent::SlotMapping { .. }
            | ExecutorEvent::Notification
    )
}

impl<T: FunctionTransport + 'static> Harness<T> {
    /// The next event that is not noise.
    async fn event(&mut self) -> ExecutorEvent {
        loop {
            let report = tokio::time::timeout(WAIT, self.events.recv())
                .await
                .expect("an event in time")
                .expect("the executor reports");
            assert_eq!(report.executor, 0);
            if !is_noise(&report.event) {
                return report.event;
            }
        }
    }

    async fn connected(&mut self) -> Connection {
        match self.event().await {
            ExecutorEvent::Connected(connection) => connection,
            other => panic!("expected Connected, got {other:?}"),
        }
    }

    async fn link_down(&mut self) -> String {
        match self.event().await {
            ExecutorEvent::LinkDown { reason } => reason,
            other => panic!("expected LinkDown, got {other:?}"),
        }
    }

    async fn status_where(&mut self, keep: impl Fn(&ExecutorStatus) -> bool) -> ExecutorStatus {
        let mut status = self.status.clone();
        let found = tokio::time::timeout(WAIT, async {
            status
                .wait_for(|status| keep(status))
                .await
                .map(|s| s.clone())
        })
        .await;
        match found {
            Ok(found) => found.expect("the executor publishes"),
            Err(_) => panic!("status in time; last {:?}", *self.status.borrow()),
        }
    }

    fn control(&self, json: &str) {
        self.modem
            .control(serde_json::from_str(json).unwrap())
            .unwrap();
    }

    async fn command(&self, command: ExecutorCommand) {
        self.commands.send(command).await.unwrap();
    }

    async fn no_event_for(&mut self, duration: Duration) {
        let deadline = tokio::time::Instant::now() + duration;
        while let Ok(event) = tokio::time::timeout_at(deadline, self.events.recv()).await {
            match event {
                Some(report) if is_noise(&report.event) => {}
                other => panic!("unexpected event {other:?}"),
            }
        }
    }
}

fn dssa_settings() -> IpSettings {
    IpSettings {
        ipv4_addresses: vec![Ipv4Prefix {
            address: Ipv4Addr::new(10, 64, 0, 2),
            prefix: 30,
        }],
        ipv4_gateway: Some(Ipv4Addr::new(10, 64, 0, 1)),
        ipv4_dns: vec![Ipv4Addr::new(10, 64, 0, 1)],
        ipv4_mtu: 1500,
        ipv6_addresses: vec![Ipv6Prefix {
            address: "fd00:6d62::2".parse().unwrap(),
            prefix: 64,
        }],
        ipv6_gateway: Some("fd00:6d62::1".parse().unwrap()),
        ipv6_dns: vec!["fd00:6d62::1".parse().unwrap()],
        ipv6_mtu: 1500,
    }
}

async fn an_executor_connects_with_the_scenarios_ip_settings(mbimex: u8) {
    let mut h = start(dssa(mbimex), config());
    let connection = h.connected().await;
    assert_eq!(connection.ip, dssa_settings());
    assert_eq!(connection.session_id, 0);
    assert_eq!(connection.profile, "default");
    let ntb = connection.ntb.expect("NTB parameters read");
    assert_eq!(ntb.in_max_size, 65535);

    let status = h
        .status_where(|s| s.state == ExecutorState::Connected)
        .await;
    assert_eq!(status.ip, Some(dssa_settings()));
    assert_eq!(status.iccid, "8988200000000000001");
    assert_eq!(status.imsi, "001010000000001");
    assert_eq!(status.home_provider, "00101");
    assert_eq!(status.register_state, Some(RegisterState::Home));
    assert_eq!(status.provider_id, "00101");
    assert!(!status.roaming);
    assert_eq!(status.packet_service, Some(PacketServiceState::Attached));
    assert_eq!(status.profile.as_deref(), Some("default"));
    assert!(status.multi_sim);
    assert_eq!(status.device_executor_index, Some(0));
    assert_eq!(status.slot, Some(0));
    assert_eq!(status.resets, 0);
    // The layouts of the version the modem offers (MBIM_CID_VERSION).
    assert_eq!(status.mbimex.major(), mbimex);
}

async fn the_profile_is_chosen_by_the_sims_identity(mbimex: u8) {
    let mut config = config();
    config.profiles = vec![
        Profile::new("fallback", "nowhere"),
        Profile {
            match_imsi_prefix: Some("00101".to_owned()),
            route_metric: Some(700),
            ..Profile::new("by-imsi", "internet")
        },
    ];
    let mut h = start(dssa(mbimex), config);
    let connection = h.connected().await;
    assert_eq!(connection.profile, "by-imsi");
    assert_eq!(connection.route_metric, Some(700));
}

async fn no_matching_profile_and_no_apn_source_is_a_failure_with_a_reason(mbimex: u8) {
    let mut config = config();
    config.profiles = vec![Profile {
        match_iccid: Some("0000".to_owned()),
        ..Profile::new("other-sim", "internet")
    }];
    // Every source of an APN without a profile turned off
    // (tests/executor_apn.rs tries them).
    config.apn_sources = mbimd::apn::ApnSources {
        provisioned_contexts: false,
        provider_database: None,
        network_default: false,
        store: None,
    };
    let mut h = start(dssa(mbimex), config);
    let status = h.status_where(|s| s.state == ExecutorState::Failed).await;
    assert_eq!(
        status.reason.as_deref(),
        Some(
            "no profile matches this SIM, and no APN source gave an APN \
             ([apn-sources] in mbimd.toml)"
        )
    );
    // A profile given with Connect overrides the selection.
    h.command(ExecutorCommand::Connect(Some(Profile::new(
        "manual", "internet",
    ))))
    .await;
    assert_eq!(h.connected().await.profile, "manual");
}

async fn the_configured_pin_unlocks_the_sim(mbimex: u8) {
    let mut config = config();
    config.pin = Some(Secret::new("1234"));
    let mut h = start(scenario_with_pin(mbimex), config);
    let connection = h.connected().await;
    assert_eq!(connection.ip, dssa_settings());
    let status = h.status.borrow().clone();
    assert_eq!(status.pin.pin_type, None);
    assert!(!status.pin.configured_pin_refused);
    assert!(!format!("{status:?}").contains("1234"));
}

async fn the_pin_configured_for_the_sims_iccid_wins_over_the_executor_wide_one(mbimex: u8) {
    let mut config = config();
    // The executor-wide PIN is wrong; the one for this ICCID (dssa's slot 0
    // card) is right, and another SIM's entry does not apply.
    config.pin = Some(Secret::new("9999"));
    config.pins = vec![
        ("8988200000000000002".to_owned(), Secret::new("0000")),
        ("8988200000000000001".to_owned(), Secret::new("1234")),
    ];
    let mut h = start(scenario_with_pin(mbimex), config);
    assert_eq!(h.connected().await.ip, dssa_settings());
    assert!(!h.status.borrow().pin.configured_pin_refused);
}

async fn a_wrong_configured_pin_is_tried_once_and_the_retries_reported(mbimex: u8) {
    let mut config = config();
    config.pin = Some(Secret::new("9999"));
    let mut h = start(scenario_with_pin(mbimex), config);
    let status = h
        .status_where(|s| s.state == ExecutorState::Locked && s.pin.configured_pin_refused)
        .await;
    assert_eq!(status.pin.pin_type, Some(PinType::Pin1));
    assert_eq!(status.pin.remaining_attempts, Some(2));
    // Never retried: the card still has two attempts a while later.
    h.no_event_for(Duration::from_millis(500)).await;
    assert_eq!(h.status.borrow().pin.remaining_attempts, Some(2));
    assert_eq!(h.status.borrow().state, ExecutorState::Locked);

    // A PIN from the user is tried.
    h.command(ExecutorCommand::EnterPin(Secret::new("0000")))
        .await;
    let status = h
        .status_where(|s| s.pin.remaining_attempts == Some(1))
        .await;
    assert_eq!(status.state, ExecutorState::Locked);
    h.command(ExecutorCommand::EnterPin(Secret::new("1234")))
        .await;
    assert_eq!(h.connected().await.ip, dssa_settings());
}

async fn a_blocked_pin_waits_for_the_puk(mbimex: u8) {
    let mut config = config();
    config.pin = Some(Secret::new("1234"));
    let mut h = start(dssa(mbimex), config);
    h.connected().await;

    h.control(r#"{"command":"block-pin","slot":0}"#);
    h.link_down().await;
    let status = h
        .status_where(|s| s.state == ExecutorState::Locked && s.pin.pin_type == Some(PinType::Puk1))
        .await;
    assert_eq!(status.pin.remaining_attempts, Some(10));
    assert_eq!(status.reason.as_deref(), Some("PUK1 required"));

    h.command(ExecutorCommand::EnterPuk {
        puk: Secret::new("00000000"),
        new_pin: Secret::new("4321"),
    })
    .await;
    h.status_where(|s| s.pin.remaining_attempts == Some(9))
        .await;
    h.command(ExecutorCommand::EnterPuk {
        puk: Secret::new("12345678"),
        new_pin: Secret::new("4321"),
    })
    .await;
    assert_eq!(h.connected().await.ip, dssa_settings());
}

async fn signal_loss_takes_the_link_down_and_its_return_reconnects(mbimex: u8) {
    let mut h = start(dssa(mbimex), config());
    h.connected().await;

    h.control(r#"{"command":"lose-signal","executor":0}"#);
    let reason = h.link_down().await;
    assert_eq!(reason, "the network deactivated the context");
    let status = h
        .status_where(|s| s.register_state == Some(RegisterState::Deregistered))
        .await;
    assert_eq!(status.state, ExecutorState::Registering);
    assert_eq!(status.ip, None);
    h.no_event_for(Duration::from_millis(300)).await;

    h.control(r#"{"command":"regain-signal","executor":0}"#);
    assert_eq!(h.connected().await.ip, dssa_settings());
    h.status_where(|s| s.state == ExecutorState::Connected)
        .await;
}

async fn packet_service_loss_takes_the_link_down_and_its_return_reconnects(mbimex: u8) {
    let mut h = start(dssa(mbimex), config());
    h.connected().await;
    h.control(r#"{"command":"lose-packet-service","executor":0}"#);
    h.link_down().await;
    h.status_where(|s| s.packet_service == Some(PacketServiceState::Detached))
        .await;
    h.control(r#"{"command":"regain-packet-service","executor":0}"#);
    assert_eq!(h.connected().await.ip, dssa_settings());
}

async fn a_dns_only_update_keeps_the_addresses(mbimex: u8) {
    let mut h = start(dssa(mbimex), config());
    h.connected().await;
    h.control(
        r#"{"command":"set-dns","executor":0,"ipv4_dns":["9.9.9.9"],"ipv6_dns":["2620:fe::fe"]}"#,
    );
    let ExecutorEvent::IpUpdated(settings) = h.event().await else {
        panic!("expected IpUpdated");
    };
    let expected = IpSettings {
        ipv4_dns: vec![Ipv4Addr::new(9, 9, 9, 9)],
        ipv6_dns: vec!["2620:fe::fe".parse::<Ipv6Addr>().unwrap()],
        ..dssa_settings()
    };
    assert_eq!(settings, expected);
    h.status_where(|s| s.ip.as_ref() == Some(&expected)).await;
}

async fn radio_off_takes_the_link_down_and_on_reconnects(mbimex: u8) {
    let mut h = start(dssa(mbimex), config());
    h.connected().await;
    h.command(ExecutorCommand::SetRadio(false)).await;
    h.link_down().await;
    h.status_where(|s| s.state == ExecutorState::RadioOff).await;
    h.command(ExecutorCommand::SetRadio(true)).await;
    h.connected().await;
}

async fn disconnect_and_connect_by_command(mbimex: u8) {
    let mut h = start(dssa(mbimex), config());
    h.connected().await;
    h.command(ExecutorCommand::Disconnect).await;
    assert_eq!(h.link_down().await, "disconnected by request");
    h.status_where(|s| s.state == ExecutorState::Idle).await;
    h.no_event_for(Duration::from_millis(200)).await;
    h.command(ExecutorCommand::Connect(None)).await;
    h.connected().await;
}

async fn no_autoconnect_waits_for_a_connect_command(mbimex: u8) {
    let mut config = config();
    config.autoconnect = false;
    let mut h = start(dssa(mbimex), config);
    h.status_where(|s| s.state == ExecutorState::Idle).await;
    h.command(ExecutorCommand::Connect(None)).await;
    h.connected().await;
}

async fn shutdown_disconnects_and_closes(mbimex: u8) {
    let mut h = start(dssa(mbimex), config());
    h.connected().await;
    h.command(ExecutorCommand::Shutdown).await;
    assert_eq!(h.link_down().await, "shutting down");
    assert_eq!(h.event().await, ExecutorEvent::Stopped);
    let exit = tokio::time::timeout(WAIT, &mut h.task)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(exit, ExecutorExit::Stopped);
    assert_eq!(h.status.borrow().state, ExecutorState::Stopped);
}

async fn unplug_ends_the_executor_with_gone(mbimex: u8) {
    let mut h = start(dssa(mbimex), config());
    h.connected().await;
    h.control(r#"{"command":"unplug"}"#);
    assert_eq!(h.link_down().await, "the device is gone");
    assert_eq!(h.event().await, ExecutorEvent::Gone);
    let exit = tokio::time::timeout(WAIT, &mut h.task)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(exit, ExecutorExit::Gone);
    assert_eq!(h.status.borrow().state, ExecutorState::Gone);
}

async fn garbage_from_the_device_is_survived(mbimex: u8) {
    let mut h = start(dssa(mbimex), config());
    h.connected().await;
    h.control(r#"{"command":"faults","function":0,"fault":{"kind":"send-garbage","len":40}}"#);
    h.control(
        r#"{"command":"faults","function":0,"fault":{"kind":"send-garbage","hex":"00 11 22"}}"#,
    );
    // Still working: a DNS update goes through, the session was not reset.
    h.control(r#"{"command":"set-dns","executor":0,"ipv4_dns":["9.9.9.9"]}"#);
    assert!(matches!(h.event().await, ExecutorEvent::IpUpdated(_)));
    assert_eq!(h.status.borrow().resets, 0);
    assert_eq!(h.status.borrow().state, ExecutorState::Connected);
}

async fn too_many_anomalies_reset_the_session_which_reconnects(mbimex: u8) {
    let mut config = config();
    config.anomaly_reset_threshold = 3;
    let mut h = start(dssa(mbimex), config);
    h.connected().await;
    for _ in 0..3 {
        h.control(r#"{"command":"faults","function":0,"fault":{"kind":"send-garbage","len":16}}"#);
    }
    assert_eq!(h.link_down().await, "too many device anomalies");
    h.connected().await;
    assert_eq!(h.status.borrow().resets, 1);
}

async fn a_dropped_open_done_is_waited_out_and_opened_again(mbimex: u8) {
    let modem = SimModem::new(dssa(mbimex)).unwrap();
    modem
        .control(
            serde_json::from_str(
                r#"{"command":"faults","function":0,"fault":{"kind":"drop-next-response"}}"#,
            )
            .unwrap(),
        )
        .unwrap();
    let transport = InProcessFunction::new(modem.function(0).unwrap());
    let mut h = start_with(modem, transport, config());
    assert_eq!(h.connected().await.ip, dssa_settings());
}

async fn a_dropped_or_corrupt_response_times_out_and_is_retried(mbimex: u8) {
    for fault in ["drop-next-response", "corrupt-next-response"] {
        let mut h = start(dssa(mbimex), config());
        h.connected().await;
        h.control(&format!(
            r#"{{"command":"faults","function":0,"fault":{{"kind":"{fault}"}}}}"#
        ));
        // The deactivation's answer is lost; the command times out and is sent again.
        h.command(ExecutorCommand::Disconnect).await;
        assert_eq!(h.link_down().await, "disconnected by request", "{fault}");
        h.command(ExecutorCommand::Connect(None)).await;
        h.connected().await;
    }
}

async fn a_command_the_device_does_not_answer_fails_as_a_timeout(mbimex: u8) {
    let mut h = start(dssa(mbimex), config());
    h.connected().await;
    h.control(r#"{"command":"faults","function":0,"fault":{"kind":"drop-next-response"}}"#);
    // The radio SET's answer never comes.
    h.command(ExecutorCommand::Tracked {
        id: 7,
        command: Box::new(ExecutorCommand::SetRadio(false)),
    })
    .await;
    loop {
        match h.event().await {
            ExecutorEvent::Done { id: 7, result } => {
                let failure = result.unwrap_err();
                assert!(failure.timed_out, "{failure:?}");
                assert_eq!(failure.status, None);
                assert_eq!(failure.message, "the device did not answer within 0.4 s");
                break;
            }
            ExecutorEvent::Done { .. } | ExecutorEvent::LinkDown { .. } => {}
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn a_device_command_times_out_before_a_dbus_client_gives_up() {
    // libdbus, sd-bus (busctl) and zbus wait 25 s for a method's answer.
    assert!(mbimd::executor::COMMAND_TIMEOUT < Duration::from_secs(25));
    assert_eq!(
        ExecutorConfig::default().command_timeout,
        mbimd::executor::COMMAND_TIMEOUT
    );
}

async fn a_function_that_lost_its_session_is_opened_again(mbimex: u8) {
    let mut h = start(dssa(mbimex), config());
    h.connected().await;
    // A function reset forgets the session: the next command meets NOT_OPENED.
    h.modem.function(0).unwrap().reset();
    h.command(ExecutorCommand::Disconnect).await;
    h.link_down().await;
    let status = h.status_where(|s| s.state == ExecutorState::Idle).await;
    assert_eq!(status.resets, 1);
    h.command(ExecutorCommand::Connect(None)).await;
    h.connected().await;
}

/// A transport that answers the first `busy` CONNECTs with MBIM_STATUS_BUSY.
struct BusyConnect {
    inner: InProcessFunction,
    busy: Arc<AtomicU32>,
}

const COMMAND_DONE: u32 = 0x8000_0003;
const CID_CONNECT: u32 = 12;

fn le32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
}

impl FunctionTransport for BusyConnect {
    type BulkIn = <InProcessFunction as FunctionTransport>::BulkIn;
    type BulkOut = <InProcessFunction as FunctionTransport>::BulkOut;

    fn control_out(
        &self,
        request: ClassRequest,
        value: u16,
        data: Vec<u8>,
    ) -> impl Future<Output = Result<(), TransportError>> + Send {
        self.inner.control_out(request, value, data)
    }

    fn control_in(
        &self,
        request: ClassRequest,
        value: u16,
        length: u16,
    ) -> impl Future<Output = Result<Vec<u8>, TransportError>> + Send {
        let inner = self.inner.control_in(request, value, length);
        let busy = Arc::clone(&self.busy);
        async move {
            let mut bytes = inner.await?;
            if request == ClassRequest::GetEncapsulatedResponse
                && bytes.len() >= 48
                && le32(&bytes, 0) == COMMAND_DONE
                && le32(&bytes, 36) == CID_CONNECT
                && busy
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok()
            {
                bytes[40..44].copy_from_slice(&1u32.to_le_bytes());
            }
            Ok(bytes)
        }
    }

    fn next_notification(
        &self,
    ) -> impl Future<Output = Result<Notification, TransportError>> + Send {
        self.inner.next_notification()
    }

    fn set_data_alt_setting(
        &self,
        alt: u8,
    ) -> impl Future<Output = Result<(), TransportError>> + Send {
        self.inner.set_data_alt_setting(alt)
    }

    fn take_data_pipes(&self) -> Result<(Self::BulkIn, Self::BulkOut), TransportError> {
        self.inner.take_data_pipes()
    }
}

async fn busy_is_retried_on_the_next_notification(mbimex: u8) {
    let modem = SimModem::new(dssa(mbimex)).unwrap();
    let busy = Arc::new(AtomicU32::new(1));
    let transport = BusyConnect {
        inner: InProcessFunction::new(modem.function(0).unwrap()),
        busy: Arc::clone(&busy),
    };
    let mut h = start_with(modem, transport, config());
    // The CONNECT was answered BUSY; nothing happens until the device notifies.
    h.status_where(|s| s.state == ExecutorState::Connecting)
        .await;
    tokio::time::timeout(WAIT, async {
        while busy.load(Ordering::SeqCst) > 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap();
    h.no_event_for(Duration::from_millis(300)).await;
    // Any notification (here a DNS change on the context the device did
    // activate) wakes it.
    h.control(r#"{"command":"set-dns","executor":0,"ipv4_dns":["9.9.9.9"]}"#);
    assert_eq!(
        h.connected().await.ip.ipv4_addresses,
        dssa_settings().ipv4_addresses
    );
}

async fn a_slot_switch_waits_for_the_modem_lock_then_reconnects_with_the_other_sim(mbimex: u8) {
    let mut config = config();
    config.profiles = vec![
        Profile {
            match_iccid: Some("8988200000000000001".to_owned()),
            ..Profile::new("physical", "internet")
        },
        Profile {
            match_iccid: Some("8988200000000000002".to_owned()),
            ..Profile::new("esim", "internet")
        },
    ];
    let mut h = start(dssa(mbimex), config);
    assert_eq!(h.connected().await.profile, "physical");
    assert!(h.status.borrow().rssi.is_some());

    // Another executor of the modem holds the device-wide lock.
    let lock = Arc::clone(&h.device_lock);
    let guard = lock.lock().await;
    h.command(ExecutorCommand::SetSlotMapping(vec![1])).await;
    h.no_event_for(Duration::from_millis(200)).await;
    assert_eq!(h.status.borrow().slot, Some(0));
    drop(guard);

    h.link_down().await;
    let connection = h.connected().await;
    assert_eq!(connection.profile, "esim");
    let status = h.status.borrow().clone();
    assert_eq!(status.slot, Some(1));
    assert_eq!(status.iccid, "8988200000000000002");
    assert!(h.device_lock.try_lock().is_ok(), "the lock is released");
}

async fn fragmented_and_delayed_responses_are_taken_as_they_come(mbimex: u8) {
    let mut h = start(dssa(mbimex), config());
    h.connected().await;
    h.control(r#"{"command":"faults","function":0,"fault":{"kind":"fragment-next-response","max_fragment":64}}"#);
    h.command(ExecutorCommand::Disconnect).await;
    assert_eq!(h.link_down().await, "disconnected by request");
    h.control(
        r#"{"command":"faults","function":0,"fault":{"kind":"delay-next-response","ms":100}}"#,
    );
    h.command(ExecutorCommand::Connect(None)).await;
    h.connected().await;
    assert_eq!(h.status.borrow().resets, 0);
}

async fn a_modem_unplugged_before_the_start_ends_the_executor_at_once(mbimex: u8) {
    let modem = SimModem::new(dssa(mbimex)).unwrap();
    let transport = InProcessFunction::new(modem.function(0).unwrap());
    modem
        .control(serde_json::from_str(r#"{"command":"unplug"}"#).unwrap())
        .unwrap();
    let mut h = start_with(modem, transport, config());
    assert_eq!(h.event().await, ExecutorEvent::Gone);
    let exit = tokio::time::timeout(WAIT, &mut h.task)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(exit, ExecutorExit::Gone);
}

async fn a_closed_command_channel_stops_the_executor_cleanly(mbimex: u8) {
    let mut h = start(dssa(mbimex), config());
    h.connected().await;
    let (closed, _) = mpsc::channel(1);
    drop(std::mem::replace(&mut h.commands, closed));
    assert_eq!(h.link_down().await, "shutting down");
    assert_eq!(h.event().await, ExecutorEvent::Stopped);
    let exit = tokio::time::timeout(WAIT, &mut h.task)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(exit, ExecutorExit::Stopped);
}

async fn a_removed_sim_takes_the_link_down_and_a_new_one_connects(mbimex: u8) {
    let mut h = start(dssa(mbimex), config());
    h.connected().await;
    h.control(r#"{"command":"remove-sim","slot":0}"#);
    h.link_down().await;
    let status = h
        .status_where(|s| s.state == ExecutorState::WaitingForSim)
        .await;
    assert_eq!(status.reason.as_deref(), Some("SIM sim-not-inserted"));
    h.no_event_for(Duration::from_millis(200)).await;
    h.control(
        r#"{"command":"insert-sim","slot":0,"card":{"iccid":"8988200000000000077","imsi":"001010000000077"}}"#,
    );
    assert_eq!(h.connected().await.ip, dssa_settings());
    assert_eq!(h.status.borrow().iccid, "8988200000000000077");
}

#[tokio::test(start_paused = true)]
async fn reconnection_waits_out_the_back_off_in_virtual_time() {
    let mut config = config();
    config.backoff_base = Duration::from_secs(30);
    config.backoff_cap = Duration::from_secs(600);
    config.command_timeout = Duration::from_secs(30);
    let mut h = start(Scenario::default_dssa(), config);
    h.connected().await;
    let lost = tokio::time::Instant::now();
    h.control(r#"{"command":"lose-signal","executor":0}"#);
    h.link_down().await;
    h.control(r#"{"command":"regain-signal","executor":0}"#);
    // Virtual time runs ahead while everyone waits; the harness's 10 s
    // patience is too short for a 30 s back-off.
    let event = tokio::time::timeout(Duration::from_secs(120), async {
        loop {
            let report = h.events.recv().await.unwrap();
            if !is_noise(&report.event) {
                return report.event;
            }
        }
    })
    .await
    .expect("reconnected within the virtual two minutes");
    assert!(matches!(event, ExecutorEvent::Connected(_)), "{event:?}");
    let waited = lost.elapsed();
    assert!(
        waited >= Duration::from_secs(30) && waited < Duration::from_secs(35),
        "{waited:?}"
    );
}

mbimd_test_support::against_mbim_1_0_and_3_0!(
    async
    an_executor_connects_with_the_scenarios_ip_settings,
    the_profile_is_chosen_by_the_sims_identity,
    no_matching_profile_and_no_apn_source_is_a_failure_with_a_reason,
    the_configured_pin_unlocks_the_sim,
    the_pin_configured_for_the_sims_iccid_wins_over_the_executor_wide_one,
    a_wrong_configured_pin_is_tried_once_and_the_retries_reported,
    a_blocked_pin_waits_for_the_puk,
    signal_loss_takes_the_link_down_and_its_return_reconnects,
    packet_service_loss_takes_the_link_down_and_its_return_reconnects,
    a_dns_only_update_keeps_the_addresses,
    radio_off_takes_the_link_down_and_on_reconnects,
    disconnect_and_connect_by_command,
    no_autoconnect_waits_for_a_connect_command,
    shutdown_disconnects_and_closes,
    unplug_ends_the_executor_with_gone,
    garbage_from_the_device_is_survived,
    too_many_anomalies_reset_the_session_which_reconnects,
    a_dropped_open_done_is_waited_out_and_opened_again,
    a_dropped_or_corrupt_response_times_out_and_is_retried,
    a_command_the_device_does_not_answer_fails_as_a_timeout,
    a_function_that_lost_its_session_is_opened_again,
    busy_is_retried_on_the_next_notification,
    a_slot_switch_waits_for_the_modem_lock_then_reconnects_with_the_other_sim,
    fragmented_and_delayed_responses_are_taken_as_they_come,
    a_modem_unplugged_before_the_start_ends_the_executor_at_once,
    a_closed_command_channel_stops_the_executor_cleanly,
    a_removed_sim_takes_the_link_down_and_a_new_one_connects,
);
