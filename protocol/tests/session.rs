//! Session scenarios driven with explicit instants, and robustness properties.

// Helpers outside `#[test]` functions are still test code: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use mbim_protocol::fragment::{split_to_bytes, Reassembler, ReassemblerConfig, ReassemblyError};
use mbim_protocol::message::{Message, MessageType};
use mbim_protocol::session::{
    Anomaly, Session, SessionConfig, SessionError, SessionEvent, SessionState,
};
use mbim_protocol::status::{CommandType, ProtocolError, Status};
use mbim_protocol::Uuid;
use proptest::prelude::*;
use std::time::{Duration, Instant};

const BASIC_CONNECT: Uuid = Uuid::from_str_const("a289cc33-bcbb-8b4f-b6b0-133ec2aae6df");
const SMS: Uuid = Uuid::from_str_const("533fbeeb-14fe-4467-9f90-33a223e56c3f");

fn config() -> SessionConfig {
    SessionConfig {
        max_control_transfer: 4096,
        open_timeout: Duration::from_secs(60),
        command_timeout: Duration::from_secs(10),
        fragment_timeout: Duration::from_secs(2),
        max_message_size: 8192,
        max_outstanding_commands: 4,
    }
}

fn bytes(message: &Message) -> Vec<u8> {
    message.to_bytes().unwrap()
}

fn events(session: &mut Session) -> Vec<SessionEvent> {
    std::iter::from_fn(|| session.poll_event()).collect()
}

fn transmitted(session: &mut Session) -> Vec<Message> {
    std::iter::from_fn(|| session.poll_transmit())
        .map(|wire| Message::parse(&wire).unwrap())
        .collect()
}

fn opened(now: Instant, config: SessionConfig) -> Session {
    let mut session = Session::new(config);
    let tid = session.open(now).unwrap();
    transmitted(&mut session);
    session.handle_message(
        now,
        &bytes(&Message::OpenDone {
            transaction_id: tid,
            status: Status::Success,
        }),
    );
    assert_eq!(events(&mut session), vec![SessionEvent::Opened]);
    session
}

fn query(session: &mut Session, now: Instant, cid: u32) -> u32 {
    session
        .command(now, BASIC_CONNECT, cid, CommandType::Query, vec![])
        .unwrap()
}

fn answer(tid: u32, cid: u32, data: Vec<u8>) -> Message {
    Message::command_done(tid, BASIC_CONNECT, cid, Status::Success, data)
}

#[test]
fn patient_open_is_sent_once_and_answered_late() {
    let t0 = Instant::now();
    let mut session = Session::new(config());
    assert_eq!(
        session.command(t0, BASIC_CONNECT, 1, CommandType::Query, vec![]),
        Err(SessionError::NotOpen)
    );
    let tid = session.open(t0).unwrap();
    assert_eq!(tid, 1);
    assert_eq!(
        transmitted(&mut session),
        vec![Message::Open {
            transaction_id: 1,
            max_control_transfer: 4096
        }]
    );
    assert_eq!(
        session.open(t0),
        Err(SessionError::WrongState(SessionState::Opening))
    );
    assert_eq!(session.poll_timeout(), Some(t0 + Duration::from_secs(60)));
    // 45 s of silence: nothing is re-sent, nothing expires.
    session.handle_timeout(t0 + Duration::from_secs(45));
    assert!(session.poll_transmit().is_none());
    assert!(session.poll_event().is_none());
    session.handle_message(
        t0 + Duration::from_secs(50),
        &bytes(&Message::OpenDone {
            transaction_id: tid,
            status: Status::Success,
        }),
    );
    assert_eq!(events(&mut session), vec![SessionEvent::Opened]);
    assert_eq!(session.state(), SessionState::Open);
    assert_eq!(session.poll_timeout(), None);
}

#[test]
fn open_times_out_without_retransmission() {
    let t0 = Instant::now();
    let mut session = Session::new(config());
    let tid = session.open(t0).unwrap();
    transmitted(&mut session);
    session.handle_timeout(t0 + Duration::from_secs(60));
    assert_eq!(events(&mut session), vec![SessionEvent::OpenTimedOut]);
    assert_eq!(session.state(), SessionState::Closed);
    assert!(session.poll_transmit().is_none());
    // An answer after giving up is an anomaly, not an open session.
    session.handle_message(
        t0 + Duration::from_secs(61),
        &bytes(&Message::OpenDone {
            transaction_id: tid,
            status: Status::Success,
        }),
    );
    assert_eq!(
        events(&mut session),
        vec![SessionEvent::Anomaly(Anomaly::UnexpectedMessage {
            message_type: MessageType::OpenDone,
            transaction_id: tid
        })]
    );
    assert_eq!(session.state(), SessionState::Closed);
}

#[test]
fn open_failure_and_not_opened_are_surfaced_for_the_caller() {
    let t0 = Instant::now();
    let mut session = Session::new(config());
    let tid = session.open(t0).unwrap();
    session.handle_message(
        t0,
        &bytes(&Message::OpenDone {
            transaction_id: tid,
            status: Status::Failure,
        }),
    );
    assert_eq!(
        events(&mut session),
        vec![SessionEvent::OpenFailed(Status::Failure)]
    );
    assert_eq!(session.state(), SessionState::Closed);

    // A device that lost its session answers a command with NOT_OPENED.
    let mut session = opened(t0, config());
    let tid = query(&mut session, t0, 1);
    session.handle_message(
        t0,
        &bytes(&Message::FunctionError {
            transaction_id: tid,
            error: ProtocolError::NotOpened,
        }),
    );
    assert_eq!(
        events(&mut session),
        vec![SessionEvent::FunctionError {
            transaction_id: tid,
            error: ProtocolError::NotOpened
        }]
    );
    assert_eq!(session.outstanding_commands(), 0);
    // The caller decides: CLOSE, then OPEN again.
    let close = session.close(t0).unwrap();
    session.handle_message(
        t0,
        &bytes(&Message::FunctionError {
            transaction_id: close,
            error: ProtocolError::NotOpened,
        }),
    );
    assert_eq!(session.state(), SessionState::Closed);
    assert!(session.open(t0).is_ok());
}

#[test]
fn transaction_ids_wrap_skipping_zero() {
    let t0 = Instant::now();
    let mut session = opened(t0, config());
    session.set_next_transaction_id(u32::MAX - 1);
    let tids: Vec<u32> = (0..3).map(|_| query(&mut session, t0, 1)).collect();
    assert_eq!(tids, vec![u32::MAX - 1, u32::MAX, 1]);
    let sent: Vec<u32> = transmitted(&mut session)
        .iter()
        .map(Message::transaction_id)
        .collect();
    assert_eq!(sent, tids);
}

#[test]
fn out_of_order_responses_match_by_transaction_id() {
    let t0 = Instant::now();
    let mut session = opened(t0, config());
    let a = query(&mut session, t0, 1);
    let b = query(&mut session, t0, 2);
    let c = query(&mut session, t0, 3);
    transmitted(&mut session);
    for (tid, cid) in [(c, 3), (a, 1), (b, 2)] {
        session.handle_message(
            t0,
            &bytes(&answer(tid, cid, vec![u8::try_from(cid).unwrap()])),
        );
    }
    let got: Vec<(u32, u32, Vec<u8>)> = events(&mut session)
        .into_iter()
        .map(|event| match event {
            SessionEvent::Response {
                transaction_id,
                cid,
                information_buffer,
                status: Status::Success,
                ..
            } => (transaction_id, cid, information_buffer),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(got, vec![(c, 3, vec![3]), (a, 1, vec![1]), (b, 2, vec![2])]);
}

#[test]
fn indication_interleaved_with_response_fragments() {
    let t0 = Instant::now();
    let mut session = opened(t0, config());
    let tid = query(&mut session, t0, 8);
    transmitted(&mut session);
    let data: Vec<u8> = (0..=255).collect();
    let fragments = split_to_bytes(&answer(tid, 8, data.clone()), 64).unwrap();
    assert!(fragments.len() > 3);
    let indication = Message::indicate_status(0, SMS, 2, vec![1, 2, 3]);
    for (index, fragment) in fragments.iter().enumerate() {
        session.handle_message(t0, fragment);
        if index == 1 {
            session.handle_message(t0, &bytes(&indication));
        }
    }
    assert_eq!(
        events(&mut session),
        vec![
            SessionEvent::Indication {
                service: SMS,
                cid: 2,
                information_buffer: vec![1, 2, 3]
            },
            SessionEvent::Response {
                transaction_id: tid,
                service: BASIC_CONNECT,
                cid: 8,
                status: Status::Success,
                information_buffer: data
            }
        ]
    );
}

#[test]
fn commands_beyond_the_limit_wait_their_turn() {
    let t0 = Instant::now();
    let mut session = opened(
        t0,
        SessionConfig {
            max_outstanding_commands: 2,
            ..config()
        },
    );
    let tids: Vec<u32> = (1..=4).map(|cid| query(&mut session, t0, cid)).collect();
    assert_eq!(transmitted(&mut session).len(), 2);
    assert_eq!(session.outstanding_commands(), 2);
    assert_eq!(session.queued_commands(), 2);
    session.handle_message(t0, &bytes(&answer(tids[1], 2, vec![])));
    let sent = transmitted(&mut session);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].transaction_id(), tids[2]);
    // A timeout frees a slot too.
    let t1 = t0 + Duration::from_secs(10);
    session.handle_timeout(t1);
    let timed_out: Vec<SessionEvent> = events(&mut session)
        .into_iter()
        .filter(|e| matches!(e, SessionEvent::CommandTimedOut { .. }))
        .collect();
    assert_eq!(
        timed_out,
        vec![
            SessionEvent::CommandTimedOut {
                transaction_id: tids[0]
            },
            SessionEvent::CommandTimedOut {
                transaction_id: tids[2]
            }
        ]
    );
    assert_eq!(transmitted(&mut session)[0].transaction_id(), tids[3]);
}

#[test]
fn command_timeout_then_late_answer_is_an_anomaly() {
    let t0 = Instant::now();
    let mut session = opened(t0, config());
    let tid = query(&mut session, t0, 1);
    assert_eq!(session.poll_timeout(), Some(t0 + Duration::from_secs(10)));
    session.handle_timeout(t0 + Duration::from_secs(9));
    assert!(session.poll_event().is_none());
    session.handle_timeout(t0 + Duration::from_secs(10));
    assert_eq!(
        events(&mut session),
        vec![SessionEvent::CommandTimedOut {
            transaction_id: tid
        }]
    );
    session.handle_message(
        t0 + Duration::from_secs(11),
        &bytes(&answer(tid, 1, vec![])),
    );
    assert_eq!(
        events(&mut session),
        vec![SessionEvent::Anomaly(Anomaly::UnsolicitedResponse {
            transaction_id: tid,
            service: BASIC_CONNECT,
            cid: 1,
            status: Status::Success
        })]
    );
}

#[test]
fn mismatched_response_does_not_complete_the_command() {
    let t0 = Instant::now();
    let mut session = opened(t0, config());
    let tid = query(&mut session, t0, 1);
    session.handle_message(t0, &bytes(&answer(tid, 2, vec![])));
    assert!(matches!(
        events(&mut session)[..],
        [SessionEvent::Anomaly(Anomaly::MismatchedResponse { .. })]
    ));
    assert_eq!(session.outstanding_commands(), 1);
}

#[test]
fn large_commands_go_out_fragmented() {
    let t0 = Instant::now();
    let mut session = opened(
        t0,
        SessionConfig {
            max_control_transfer: 64,
            ..config()
        },
    );
    let payload: Vec<u8> = (0..200u8).collect();
    let tid = session
        .command(t0, SMS, 9, CommandType::Set, payload.clone())
        .unwrap();
    let wire: Vec<Vec<u8>> = std::iter::from_fn(|| session.poll_transmit()).collect();
    assert!(wire.len() > 1);
    let mut reassembler = Reassembler::new(ReassemblerConfig::default());
    let mut whole = None;
    for fragment in &wire {
        assert!(fragment.len() <= 64);
        whole = reassembler
            .handle(t0, Message::parse(fragment).unwrap())
            .unwrap();
    }
    assert_eq!(
        whole,
        Some(Message::command(tid, SMS, 9, CommandType::Set, payload))
    );
    assert!(matches!(
        session.command(t0, SMS, 9, CommandType::Set, vec![0; 9000]),
        Err(SessionError::TooLarge { .. })
    ));
}

#[test]
fn fragment_errors_queue_host_errors() {
    let t0 = Instant::now();
    let mut session = opened(t0, config());
    let tid = query(&mut session, t0, 8);
    transmitted(&mut session);
    let fragments = split_to_bytes(&answer(tid, 8, vec![0; 200]), 64).unwrap();
    session.handle_message(t0, &fragments[0]);
    session.handle_message(t0, &fragments[2]);
    assert!(matches!(
        events(&mut session)[..],
        [SessionEvent::FragmentError(
            ReassemblyError::OutOfOrder { .. }
        )]
    ));
    assert_eq!(
        transmitted(&mut session),
        vec![Message::HostError {
            transaction_id: tid,
            error: ProtocolError::FragmentOutOfSequence
        }]
    );
    // A partial abandoned by the device times out and is reported too.
    session.handle_message(t0, &fragments[0]);
    assert_eq!(session.poll_timeout(), Some(t0 + Duration::from_secs(2)));
    session.handle_timeout(t0 + Duration::from_secs(2));
    assert!(matches!(
        events(&mut session)[..],
        [SessionEvent::FragmentError(
            ReassemblyError::TimedOut { .. }
        )]
    ));
    assert_eq!(
        transmitted(&mut session),
        vec![Message::HostError {
            transaction_id: tid,
            error: ProtocolError::TimeoutFragment
        }]
    );
}

#[test]
fn close_cancels_commands_and_waits_for_close_done() {
    let t0 = Instant::now();
    let mut session = opened(
        t0,
        SessionConfig {
            max_outstanding_commands: 1,
            ..config()
        },
    );
    let a = query(&mut session, t0, 1);
    let b = query(&mut session, t0, 2);
    transmitted(&mut session);
    let close = session.close(t0).unwrap();
    assert_eq!(
        transmitted(&mut session),
        vec![Message::Close {
            transaction_id: close
        }]
    );
    assert_eq!(
        events(&mut session),
        vec![
            SessionEvent::CommandCancelled { transaction_id: a },
            SessionEvent::CommandCancelled { transaction_id: b }
        ]
    );
    session.handle_message(
        t0,
        &bytes(&Message::CloseDone {
            transaction_id: close,
            status: Status::Success,
        }),
    );
    assert_eq!(
        events(&mut session),
        vec![SessionEvent::Closed {
            status: Some(Status::Success)
        }]
    );
    assert_eq!(
        session.close(t0),
        Err(SessionError::WrongState(SessionState::Closed))
    );
}

#[test]
fn garbage_is_reported_as_malformed() {
    let t0 = Instant::now();
    let mut session = opened(t0, config());
    session.handle_message(t0, &[3, 0, 0, 0x80, 0xff, 0, 0, 0, 1]);
    assert!(matches!(
        events(&mut session)[..],
        [SessionEvent::Malformed(_)]
    ));
    // Zero padding after a message is not garbage.
    let mut padded = bytes(&Message::indicate_status(0, SMS, 1, vec![]));
    padded.extend_from_slice(&[0; 20]);
    session.handle_message(t0, &padded);
    assert!(matches!(
        events(&mut session)[..],
        [SessionEvent::Indication { .. }]
    ));
}

proptest! {
    #[test]
    fn arbitrary_device_bytes_never_panic_the_session(
        chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..96), 0..60),
        steps in prop::collection::vec(0u64..4000, 0..60),
    ) {
        let t0 = Instant::now();
        let mut session = opened(t0, config());
        for cid in 0..6 {
            let _ = session.command(t0, BASIC_CONNECT, cid, CommandType::Query, vec![]);
        }
        let mut now = t0;
        for (index, chunk) in chunks.iter().enumerate() {
            now += Duration::from_millis(steps.get(index).copied().unwrap_or(0));
            session.handle_message(now, chunk);
            if let Some(at) = session.poll_timeout() {
                if at <= now {
                    session.handle_timeout(now);
                }
            }
        }
        let mut transmits = 0;
        while session.poll_transmit().is_some() {
            transmits += 1;
        }
        // OPEN aside, only commands and a bounded number of HOST_ERRORs go out.
        prop_assert!(transmits <= 6 + 8);
        while session.poll_event().is_some() {}
    }

    #[test]
    fn plausible_device_messages_never_panic_the_session(
        script in prop::collection::vec(
            (0u32..6, 0u32..4, 1u32..4, 0u32..4, prop::collection::vec(any::<u8>(), 0..80)),
            0..40,
        ),
    ) {
        // Messages built from small values hit the interesting paths (known
        // tids, fragment numbers) far more often than random bytes do.
        let t0 = Instant::now();
        let mut session = opened(t0, SessionConfig { max_outstanding_commands: 2, ..config() });
        for cid in 0..4 {
            let _ = session.command(t0, BASIC_CONNECT, cid, CommandType::Query, vec![]);
        }
        for (kind, tid, total, current, data) in script {
            let message = match kind {
                0 => answer(tid, tid, data),
                1 => Message::indicate_status(tid, SMS, 1, data),
                2 => Message::FunctionError { transaction_id: tid, error: ProtocolError::from(current) },
                3 => Message::OpenDone { transaction_id: tid, status: Status::from(current) },
                4 => Message::CloseDone { transaction_id: tid, status: Status::Success },
                _ => {
                    let fragments = split_to_bytes(&answer(tid, tid, data.clone()), 64).unwrap();
                    let pick = usize::try_from(current).unwrap() % fragments.len();
                    let mut raw = fragments[pick].clone();
                    raw[12..16].copy_from_slice(&total.max(current + 1).to_le_bytes());
                    session.handle_message(t0, &raw);
                    continue;
                }
            };
            session.handle_message(t0, &bytes(&message));
        }
        session.handle_timeout(t0 + Duration::from_secs(3600));
        prop_assert!(session.outstanding_commands() <= 2);
        while session.poll_event().is_some() {}
        while session.poll_transmit().is_some() {}
    }
}
