//! The simulated modem's wake-ups (simulator/src/device.rs): an access of
//! the data pipes alone wakes only the data side's waiters (bulk IN), any
//! other access every waiter, and a waiter on the control side sleeps no
//! later than the model's next timer. Each test parks a waiter first (on a
//! single-threaded runtime a spawned task runs to its first sleep while the
//! test sleeps) and then changes the model from another task; a lost
//! wake-up leaves the waiter asleep past the liveness bound. No test runs
//! `SimModem::run`, which would wake every waiter on every timer.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod data_support;
mod device_support;

use data_support::datagrams;
use device_support::{connect, echo_ntb, open, read_response, send};
use mbim_protocol::message::Message;
use mbim_protocol::services::basic_connect::{self as bc, cid as bcc};
use mbim_protocol::services::Cid;
use mbim_protocol::status::CommandType;
use mbim_protocol::usb::Notification;
use mbim_sim::control::ControlCommand;
use mbim_sim::device::{SimFunction, SimModem};
use mbim_sim::model::net;
use mbim_sim::scenario::Scenario;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// How long a woken waiter may take: a liveness bound, not a speed check.
const BOUND: Duration = Duration::from_secs(10);

/// Long enough for a spawned task to reach its first sleep.
const SETTLE: Duration = Duration::from_millis(50);

/// A modem on the default scenario, function 0 opened and session 0 up.
async fn connected() -> (SimModem, SimFunction) {
    let modem = SimModem::new(Scenario::default_dssa()).unwrap();
    let function = modem.function(0).unwrap();
    open(&function).await;
    connect(&function, 2).await;
    (modem, function)
}

/// Spawns a task awaiting one NTB on bulk IN, and checks it is asleep.
async fn parked_bulk_in(function: &SimFunction) -> JoinHandle<Vec<u8>> {
    let waiter = tokio::spawn({
        let function = function.clone();
        async move { function.next_bulk_in(16384).await.unwrap() }
    });
    tokio::time::sleep(SETTLE).await;
    assert!(!waiter.is_finished(), "bulk IN had something already");
    waiter
}

/// Spawns a task awaiting one notification, and checks it is asleep.
async fn parked_notification(function: &SimFunction) -> JoinHandle<Notification> {
    let waiter = tokio::spawn({
        let function = function.clone();
        async move { function.next_notification().await.unwrap() }
    });
    tokio::time::sleep(SETTLE).await;
    assert!(!waiter.is_finished(), "a notification was queued already");
    waiter
}

/// The first datagram of the NTB the bulk IN waiter got, a well-formed
/// IPv4 one.
async fn woken_datagram(waiter: JoinHandle<Vec<u8>>) -> Vec<u8> {
    let block = tokio::time::timeout(BOUND, waiter)
        .await
        .expect("the bulk IN waiter was not woken")
        .unwrap();
    let (_, datagram) = datagrams(&block).into_iter().next().unwrap();
    assert!(net::ipv4_checksums_ok(&datagram));
    datagram
}

/// Pings the gateway through bulk OUT and bulk IN until `stop`: data
/// accesses only. Returns the number of echoes answered.
fn ping_until(function: &SimFunction, stop: &Arc<AtomicBool>) -> JoinHandle<u32> {
    let function = function.clone();
    let stop = Arc::clone(stop);
    tokio::spawn(async move {
        let mut rounds = 0u32;
        while !stop.load(Ordering::Relaxed) {
            let sequence = u16::try_from(rounds % 0x1_0000).unwrap();
            function.bulk_out(&echo_ntb(sequence)).unwrap();
            function.next_bulk_in(16384).await.unwrap();
            rounds += 1;
            // The reply is there at once, so the loop would never sleep
            // and would hold the single-threaded runtime.
            tokio::task::yield_now().await;
        }
        rounds
    })
}

/// The waiter's notification, which must be RESPONSE_AVAILABLE for
/// `function`.
async fn response_available(function: &SimFunction, waiter: JoinHandle<Notification>) {
    let notification = tokio::time::timeout(BOUND, waiter)
        .await
        .expect("the notification waiter was not woken")
        .unwrap();
    assert_eq!(
        notification,
        Notification::ResponseAvailable {
            interface: u16::from(function.comm_interface())
        }
    );
}

/// A DEVICE_CAPS query on the control channel (transaction `tid`).
fn caps_query(tid: u32) -> Message {
    Message::command(
        tid,
        bc::SERVICE.uuid,
        bcc::DeviceCaps::ID,
        CommandType::Query,
        vec![],
    )
}

/// A bulk IN waiter is woken by another task's bulk OUT whose echo request
/// the model answers on bulk IN: a data access must wake the data side.
#[tokio::test]
async fn bulk_out_wakes_a_bulk_in_waiter() {
    let (_modem, function) = connected().await;
    let waiter = parked_bulk_in(&function).await;
    function.bulk_out(&echo_ntb(1)).unwrap();
    let reply = woken_datagram(waiter).await;
    // ICMP type 0: the gateway's echo reply.
    assert_eq!(reply[20], 0);
}

/// A bulk IN waiter is woken by a control access that gives bulk IN
/// something: the traffic generator switched on. The waiter went to sleep
/// with no generator, so without a timer; only the control side's wake-up
/// reaches it.
#[tokio::test]
async fn switching_traffic_on_wakes_a_bulk_in_waiter() {
    let (modem, function) = connected().await;
    let waiter = parked_bulk_in(&function).await;
    let traffic: ControlCommand = serde_json::from_str(
        r#"{"command":"traffic","executor":0,"source":{"address":"10.64.0.2","port":5000,"rate":200,"size":100}}"#,
    )
    .unwrap();
    modem.control(traffic).unwrap();
    woken_datagram(waiter).await;
}

/// A notification waiter sleeps through a stream of bulk transfers (none
/// wakes it) and is still woken by the command that queues its response.
#[tokio::test]
async fn a_command_reaches_the_notification_waiter_through_data_traffic() {
    let (_modem, function) = connected().await;
    let waiter = parked_notification(&function).await;
    let stop = Arc::new(AtomicBool::new(false));
    let pinger = ping_until(&function, &stop);
    tokio::time::sleep(SETTLE).await;
    assert!(!waiter.is_finished(), "woken by data traffic alone");
    send(&function, &caps_query(3)).await;
    response_available(&function, waiter).await;
    stop.store(true, Ordering::Relaxed);
    let rounds = tokio::time::timeout(BOUND, pinger).await.unwrap().unwrap();
    assert!(rounds > 0, "no data traffic ran while the waiter waited");
    assert!(matches!(
        read_response(&function),
        Message::CommandDone(done) if done.transaction_id == 3
    ));
}

/// A response held back by a timer falls due while only bulk transfers
/// touch the model: the access that releases it wakes only the data side,
/// so the notification waiter must see it by its own deadline, the model's
/// next timer.
#[tokio::test]
async fn a_delayed_response_released_by_data_traffic_reaches_the_waiter() {
    let (modem, function) = connected().await;
    let delay: ControlCommand = serde_json::from_str(
        r#"{"command":"faults","function":0,"fault":{"kind":"delay-next-response","ms":300}}"#,
    )
    .unwrap();
    modem.control(delay).unwrap();
    send(&function, &caps_query(3)).await;
    let waiter = parked_notification(&function).await;
    let stop = Arc::new(AtomicBool::new(false));
    let pinger = ping_until(&function, &stop);
    response_available(&function, waiter).await;
    stop.store(true, Ordering::Relaxed);
    let rounds = tokio::time::timeout(BOUND, pinger).await.unwrap().unwrap();
    assert!(
        rounds > 0,
        "no data traffic ran while the response was held"
    );
    assert!(matches!(
        read_response(&function),
        Message::CommandDone(done) if done.transaction_id == 3
    ));
}
