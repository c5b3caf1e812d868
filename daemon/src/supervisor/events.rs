//! What the executors report, turned into links: a connection brings
//! session 0's network device and pump up, an IP update reconfigures it,
//! further sessions come and go on it, and an executor that ends takes its
//! link down and fails what was waiting on it.
//!
//! The loop in `supervise` hands every [`ExecutorReport`] here; slot and
//! notification events go on to `slots.rs`, command completions to
//! `requests.rs`.

use super::link::{bring_link_up, configure, mtu_for, take_link_down};
use super::{sessions, PendingKind, Supervisor};
use crate::executor::{CommandFailure, ExecutorEvent, ExecutorReport};
use mbim_transport::FunctionTransport;

impl<T: FunctionTransport + 'static> Supervisor<T> {
    pub(super) async fn report(&mut self, report: ExecutorReport) {
        let index = report.executor;
        let number = self.number_of(index);
        if let Some(test) = &self.test {
            test.forward(&ExecutorReport {
                executor: number,
                event: report.event.clone(),
            });
        }
        let Some(executor) = self.executors.get_mut(index) else {
            return;
        };
        match report.event {
            ExecutorEvent::Connected(connection) => {
                take_link_down(&self.modem, number, executor).await;
                bring_link_up(&self.modem, &self.config, number, executor, connection).await;
            }
            ExecutorEvent::IpUpdated(ip) => {
                let mtu = mtu_for(&ip, executor.spec.max_segment_size);
                if let Some(link) = executor.link.as_mut() {
                    link.ip = ip;
                    link.mtu = mtu;
                    // New settings: a back-off for the old ones means nothing.
                    executor.configuration.stop_retrying();
                    configure(&self.modem, number, executor).await;
                }
            }
            ExecutorEvent::LinkDown { .. } => take_link_down(&self.modem, number, executor).await,
            ExecutorEvent::SessionUp(connection) => {
                sessions::bring_session_up(&self.modem, &self.config, number, executor, connection)
                    .await;
            }
            ExecutorEvent::SessionIpUpdated { session_id, ip } => {
                sessions::update_session(&self.modem, number, executor, session_id, ip).await;
            }
            ExecutorEvent::SessionDown { session_id, .. } => {
                sessions::take_session_down(&self.modem, number, executor, session_id).await;
            }
            ExecutorEvent::Gone | ExecutorEvent::Stopped => {
                take_link_down(&self.modem, number, executor).await;
                executor.running = false;
                // Dropping the reply senders tells their askers the modem is
                // gone; a Suspend or Resume counts the executor as done.
                let mut gathers = Vec::new();
                self.pending.retain(|_, pending| {
                    if pending.executor != index {
                        return true;
                    }
                    if let PendingKind::Gather(gather) = pending.kind {
                        gathers.push(gather);
                    }
                    false
                });
                for gather in gathers {
                    self.gather_done(
                        gather,
                        index,
                        Err(CommandFailure {
                            status: None,
                            message: "the executor ended".to_owned(),
                            timed_out: false,
                        }),
                    );
                }
            }
            ExecutorEvent::SlotInfo { slot, state } => self.slot_info(slot, state),
            ExecutorEvent::SlotMapping {
                set,
                status,
                mapping,
            } => self.slot_mapping(set, status, mapping),
            ExecutorEvent::Notification => self.notification(),
            ExecutorEvent::Done { id, result } => self.done(id, result),
        }
        self.statuses_changed();
    }
}
