//! The host's sleep, for one modem: Suspend asks every executor to close
//! (the first one running also tells the device, MS_HOST_SHUTDOWN being
//! per-device) and answers once all are closed; Resume asks every executor
//! to open again. The executors' LinkDown and Connected take the network
//! devices down and up as for any loss and reconnection.

use super::{Pending, PendingKind, Supervisor};
use crate::executor::{CommandFailure, ExecutorCommand};
use crate::modem::RequestError;
use mbim_transport::FunctionTransport;
use tokio::sync::oneshot;

/// A Suspend or Resume waiting for its executors.
pub(super) struct Gather {
    /// What it is, for the log.
    what: &'static str,
    /// Executors not done yet.
    remaining: usize,
    /// What failed, by executor number.
    failures: Vec<String>,
    reply: oneshot::Sender<Result<(), RequestError>>,
}

impl<T: FunctionTransport + 'static> Supervisor<T> {
    pub(super) fn suspend(&mut self, reply: oneshot::Sender<Result<(), RequestError>>) {
        tracing::info!(modem = self.modem.index, "the host goes to sleep");
        let first = self.executors.iter().position(|executor| executor.running);
        self.gather("suspend", reply, |function| ExecutorCommand::Suspend {
            device_wide: Some(function) == first,
        });
    }

    pub(super) fn resume(&mut self, reply: oneshot::Sender<Result<(), RequestError>>) {
        tracing::info!(modem = self.modem.index, "the host woke");
        self.gather("resume", reply, |_| ExecutorCommand::Resume);
    }

    /// Sends `command(function)` to every running executor, answering
    /// `reply` once each is done.
    fn gather(
        &mut self,
        what: &'static str,
        reply: oneshot::Sender<Result<(), RequestError>>,
        command: impl Fn(usize) -> ExecutorCommand,
    ) {
        let gather = self.ids.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut remaining = 0;
        let mut failures = Vec::new();
        for function in 0..self.executors.len() {
            if !self.executors.get(function).is_some_and(|e| e.running) {
                continue;
            }
            match self.send_tracked(function, command(function)) {
                Ok(id) => {
                    remaining += 1;
                    self.pending.insert(
                        id,
                        Pending {
                            executor: function,
                            kind: PendingKind::Gather(gather),
                        },
                    );
                }
                Err(error) => {
                    failures.push(format!("executor {}: {error}", self.number_of(function)));
                }
            }
        }
        let entry = Gather {
            what,
            remaining,
            failures,
            reply,
        };
        if remaining == 0 {
            self.gathered(entry);
        } else {
            self.gathers.insert(gather, entry);
        }
    }

    /// One executor's part of gather `gather` is done.
    pub(super) fn gather_done(
        &mut self,
        gather: u64,
        function: usize,
        result: Result<(), CommandFailure>,
    ) {
        let number = self.number_of(function);
        let Some(entry) = self.gathers.get_mut(&gather) else {
            return;
        };
        if let Err(failure) = result {
            entry
                .failures
                .push(format!("executor {number}: {}", failure.message));
        }
        entry.remaining = entry.remaining.saturating_sub(1);
        if entry.remaining == 0 {
            if let Some(entry) = self.gathers.remove(&gather) {
                self.gathered(entry);
            }
        }
    }

    fn gathered(&mut self, entry: Gather) {
        let result = if entry.failures.is_empty() {
            tracing::info!(modem = self.modem.index, "{} done", entry.what);
            Ok(())
        } else {
            let failures = entry.failures.join("; ");
            tracing::warn!(
                modem = self.modem.index,
                "{} incomplete: {failures}",
                entry.what
            );
            Err(RequestError::NotPossible(failures))
        };
        let _ = entry.reply.send(result);
    }
}
