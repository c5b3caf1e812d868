//! The modem's timers: delayed OPEN_DONEs and responses, partial COMMANDs,
//! the device-wide SET in progress, a DEVICE_RESET's absence from the bus,
//! and the traffic generators' next datagram.
//!
//! Time only comes in as `now` (the model reads no clock), so the caller
//! asks [`Modem::poll_timeout`] when to call [`Modem::handle_timeout`].

use super::channel::Kind;
use super::Modem;
use mbim_protocol::message::Message;
use mbim_protocol::status::Status;
use std::time::{Duration, Instant};

/// How long a modem that resets (DEVICE_RESET) stays off the bus before it
/// enumerates again.
const RESET_ABSENCE: Duration = Duration::from_millis(500);

impl Modem {
    /// The earliest instant [`Self::handle_timeout`] has work (delayed
    /// OPEN_DONEs and responses, partial COMMANDs, device-wide SETs).
    pub fn poll_timeout(&self) -> Option<Instant> {
        let functions = self
            .functions
            .iter()
            .filter_map(|f| f.channel.poll_timeout());
        let device_set = self.device_set_running.as_ref().map(|(at, _)| *at);
        functions
            .chain(device_set)
            .chain(self.device_reset_at)
            .chain(self.replug_at)
            .min()
    }

    /// When a traffic generator of `function` next has a datagram for
    /// bulk IN (`None` when none has one coming, or their sessions are
    /// down).
    pub fn poll_bulk_timeout(&self, function: usize) -> Option<Instant> {
        let f = self.functions.get(function)?;
        let contexts = &self.executors.get(function)?.contexts;
        f.data
            .poll_timeout(&|session| contexts.contains_key(&u32::from(session)))
    }

    /// Runs what is due at `now`: delayed OPEN_DONEs and responses, expired
    /// partial COMMANDs, the device-wide SET in progress.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.device_reset_at.is_some_and(|at| at <= now) {
            tracing::info!("DEVICE_RESET: the modem leaves the bus and restarts");
            self.device_reset_at = None;
            self.unplugged = true;
            self.replug_at = Some(now.checked_add(RESET_ABSENCE).unwrap_or(now));
            return;
        }
        if self.replug_at.is_some_and(|at| at <= now) {
            tracing::info!("DEVICE_RESET: the modem is back");
            // Cannot fail: the scenario was accepted when the modem was
            // made. The fresh modem is plugged in, without a replug_at.
            let _ = self.reset_device(now);
            return;
        }
        for index in 0..self.functions.len() {
            let opened = self
                .functions
                .get_mut(index)
                .and_then(|f| f.channel.handle_timeout(now));
            if let Some(transaction_id) = opened {
                self.send(
                    now,
                    index,
                    &Message::OpenDone {
                        transaction_id,
                        status: Status::Success,
                    },
                    Kind::Response,
                );
            }
        }
        // Device-wide SETs: finish the one in progress, start the next.
        while let Some((deadline, _)) = &self.device_set_running {
            if *deadline > now {
                break;
            }
            if let Some((_, set)) = self.device_set_running.take() {
                self.execute_device_set(now, &set);
            }
            if let Some(next) = self.device_set_queue.pop_front() {
                let deadline = now.checked_add(self.device_set_delay()).unwrap_or(now);
                self.device_set_running = Some((deadline, next));
            }
        }
    }

    pub(crate) fn device_set_delay(&self) -> Duration {
        Duration::from_millis(self.scenario.modem.device_set_delay_ms)
    }
}
