//! Serving [`ModemRequest`]s without waiting in the loop: a request for an
//! executor becomes a tracked command with a fresh id, sent with
//! `try_send`, and its reply goes out when the executor's matching
//! [`ExecutorEvent::Done`](crate::executor::ExecutorEvent::Done) comes back
//! ([`Supervisor::done`]).
//!
//! Slot, test and power requests are handed to `slots.rs`, `test_slots.rs`
//! and `power.rs`, which send their own tracked commands through
//! [`Supervisor::send_tracked`].

use super::{Pending, PendingKind, Supervisor};
use crate::executor::{CommandFailure, ExecutorCommand};
use crate::modem::{ModemRequest, RequestError};
use mbim_transport::FunctionTransport;
use std::sync::atomic::Ordering;
use tokio::sync::{mpsc, oneshot};

impl<T: FunctionTransport + 'static> Supervisor<T> {
    pub(super) fn request(&mut self, request: ModemRequest) {
        match request {
            ModemRequest::Executor {
                executor,
                command,
                reply,
            } => {
                if let Err(error) = self.executor_request(executor, *command, reply) {
                    // The reply sender went into the error path already.
                    tracing::debug!(modem = self.modem.index, "request refused: {error}");
                }
            }
            ModemRequest::SetSlotMapping { mapping, reply } => {
                self.set_slot_mapping(mapping, reply)
            }
            ModemRequest::SwitchToSlot { slot, reply } => {
                let _ = reply.send(self.switch_to_slot(slot));
            }
            ModemRequest::TestSlots { reply } => self.test_slots(reply),
            ModemRequest::SetPolicy { policy, reply } => {
                self.set_policy(policy, false);
                let _ = reply.send(Ok(()));
            }
            ModemRequest::Suspend { reply } => self.suspend(reply),
            ModemRequest::Resume { reply } => self.resume(reply),
            ModemRequest::Passthrough { executor, reply } => {
                let port = match self.function_of(executor) {
                    Some(function) => self
                        .executors
                        .get(function)
                        .filter(|each| each.running)
                        .map(|each| each.passthrough.clone())
                        .ok_or_else(|| {
                            RequestError::NotPossible(format!("executor {executor} has ended"))
                        }),
                    None => Err(RequestError::InvalidArgument(format!(
                        "no executor {executor} (the modem has {})",
                        self.executors.len()
                    ))),
                };
                let _ = reply.send(port);
            }
            // Needs the network devices: handled by the loop (`reconfigure`).
            ModemRequest::Reconfigure { .. } => {}
        }
    }

    /// `number` is the executor's number (see the module doc), not its
    /// function's position.
    fn executor_request(
        &mut self,
        number: usize,
        command: ExecutorCommand,
        reply: oneshot::Sender<Result<(), RequestError>>,
    ) -> Result<(), RequestError> {
        let function = self.function_of(number);
        let refused = match (&command, function) {
            (_, None) => Some(RequestError::InvalidArgument(format!(
                "no executor {number} (the modem has {})",
                self.executors.len()
            ))),
            // Ending an executor or nesting ids is the supervisor's business.
            (
                ExecutorCommand::Shutdown
                | ExecutorCommand::Suspend { .. }
                | ExecutorCommand::Resume
                | ExecutorCommand::Tracked { .. },
                _,
            ) => Some(RequestError::InvalidArgument(
                "not a command for requests".to_owned(),
            )),
            (ExecutorCommand::SetSlotMapping(_), _) => Some(RequestError::InvalidArgument(
                "slot mappings go through SetSlotMapping".to_owned(),
            )),
            _ => None,
        };
        let executor = match (function, refused) {
            (Some(executor), None) => executor,
            (_, refused) => {
                let error = refused.unwrap_or(RequestError::Gone);
                let _ = reply.send(Err(error.clone()));
                return Err(error);
            }
        };
        match self.send_tracked(executor, command) {
            Ok(id) => {
                self.pending.insert(
                    id,
                    Pending {
                        executor,
                        kind: PendingKind::Reply(reply),
                    },
                );
                Ok(())
            }
            Err(error) => {
                let _ = reply.send(Err(error.clone()));
                Err(error)
            }
        }
    }

    /// Sends `command` to `executor` as a tracked command; its id.
    pub(super) fn send_tracked(
        &mut self,
        executor: usize,
        command: ExecutorCommand,
    ) -> Result<u64, RequestError> {
        let Some(target) = self.executors.get(executor).filter(|target| target.running) else {
            return Err(RequestError::Gone);
        };
        let id = self.ids.fetch_add(1, Ordering::Relaxed);
        let tracked = ExecutorCommand::Tracked {
            id,
            command: Box::new(command),
        };
        match target.commands.try_send(tracked) {
            Ok(()) => Ok(id),
            Err(mpsc::error::TrySendError::Full(_)) => Err(RequestError::NotPossible(format!(
                "executor {executor} has too many commands queued; try again"
            ))),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(RequestError::Gone),
        }
    }

    pub(super) fn done(&mut self, id: u64, result: Result<(), CommandFailure>) {
        let Some(pending) = self.pending.remove(&id) else {
            // A TestSlots command, or one whose asker is gone.
            return;
        };
        // The snapshot first: an asker reads what its command produced
        // (a network scan's answer) as soon as it has the reply.
        self.publish();
        match pending.kind {
            PendingKind::Reply(reply) => {
                let _ = reply.send(result.map_err(device_error));
            }
            PendingKind::UserSet(reply) => self.user_set_done(result, reply),
            PendingKind::PolicySet => self.policy_set_done(result),
            PendingKind::Gather(gather) => self.gather_done(gather, pending.executor, result),
        }
    }
}

pub(super) fn device_error(failure: CommandFailure) -> RequestError {
    if failure.timed_out {
        return RequestError::Timeout(failure.message);
    }
    RequestError::Device {
        status: failure.status,
        message: failure.message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unanswered_command_is_a_timeout_and_a_refusal_a_refusal() {
        let failure = |status, timed_out| CommandFailure {
            status,
            message: "m".to_owned(),
            timed_out,
        };
        assert_eq!(
            device_error(failure(None, true)),
            RequestError::Timeout("m".to_owned())
        );
        assert_eq!(
            device_error(failure(Some(mbim_protocol::status::Status::Failure), false)),
            RequestError::Device {
                status: Some(mbim_protocol::status::Status::Failure),
                message: "m".to_owned()
            }
        );
    }
}
