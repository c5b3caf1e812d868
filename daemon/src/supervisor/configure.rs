//! Bringing a session's network device to its settings: one apply, each
//! part whose outcome changed logged, and the next attempt scheduled with
//! back-off while a part failed for a reason that may pass (a DNS service
//! not there yet, a busy kernel). Session 0's device and each further
//! session's go through the same [`Configuration::apply`].

use crate::executor::reconnect_delay;
use crate::netdev::{ConfigReport, Netdev};
use crate::types::IpSettings;
use std::time::Duration;

/// The first wait before a partly applied configuration is applied again;
/// it doubles per attempt up to [`RETRY_CAP`].
const RETRY_BASE: Duration = Duration::from_secs(1);

/// The longest wait between two attempts at a configuration.
const RETRY_CAP: Duration = Duration::from_secs(60);

/// The next attempt at a partly applied configuration.
#[derive(Debug, Clone, Copy)]
struct Retry {
    at: tokio::time::Instant,
    /// Attempts so far for the same settings (the back-off's exponent).
    attempts: u32,
}

/// How one device's configuration went, and when to try again.
#[derive(Debug, Clone, Default)]
pub(super) struct Configuration {
    report: Option<ConfigReport>,
    retry: Option<Retry>,
}

/// Who the log lines are about.
#[derive(Debug, Clone, Copy)]
pub(super) struct Subject {
    /// The modem's index.
    pub modem: u32,
    /// The executor's number.
    pub executor: usize,
}

impl Configuration {
    /// The last apply's report (none before the first).
    pub(super) fn report(&self) -> Option<&ConfigReport> {
        self.report.as_ref()
    }

    /// Whether an attempt waits.
    pub(super) fn retry_pending(&self) -> bool {
        self.retry.is_some()
    }

    /// Whether the waiting attempt is due at `now`.
    pub(super) fn retry_due(&self, now: tokio::time::Instant) -> bool {
        self.retry.is_some_and(|retry| retry.at <= now)
    }

    /// No more attempts (the device's configuration was handed to a client).
    pub(super) fn stop_retrying(&mut self) {
        self.retry = None;
    }

    /// Records that the device could not even be made (`report` says why):
    /// nothing to apply again.
    pub(super) fn without_device(&mut self, report: ConfigReport) {
        self.report = Some(report);
        self.retry = None;
    }

    /// Forgets the report and the back-off: the next apply is a first one
    /// (a new device, or new settings).
    pub(super) fn reset(&mut self) {
        *self = Configuration::default();
    }

    /// Applies `ip` and `mtu` to `netdev`, logs each part not applied whose
    /// outcome differs from the last apply's (so a retry that fails the same
    /// way says nothing new), says when every part is in at last, and
    /// schedules the next attempt while a part failed for a reason that may
    /// pass, waiting twice as long each time up to a minute.
    pub(super) async fn apply(
        &mut self,
        who: Subject,
        netdev: &mut Netdev,
        ip: &IpSettings,
        mtu: u16,
    ) {
        let report = netdev.apply(ip, mtu).await;
        let name = netdev.name().as_str();
        let previous = self.report.as_ref();
        for part in report.not_applied() {
            let outcome = previous.and_then(|previous| previous.outcome_of(&part.part));
            if outcome != Some(&part.outcome) {
                tracing::warn!(
                    modem = who.modem,
                    executor = who.executor,
                    "{name}: {} {}",
                    part.part,
                    part.outcome
                );
            }
        }
        if report.is_complete() && previous.is_some_and(|previous| !previous.is_complete()) {
            tracing::info!(
                modem = who.modem,
                executor = who.executor,
                "{name}: every part of its configuration is applied now"
            );
        }
        self.retry = report.worth_retrying().then(|| {
            let attempts = self.retry.map_or(0, |retry| retry.attempts);
            Retry {
                at: tokio::time::Instant::now() + reconnect_delay(attempts, RETRY_BASE, RETRY_CAP),
                attempts: attempts.saturating_add(1),
            }
        });
        self.report = Some(report);
    }

    /// "configured", or how many parts are not: for the line saying the
    /// device is up.
    pub(super) fn summary(&self) -> String {
        match &self.report {
            Some(report) if report.is_complete() => "configured".to_owned(),
            Some(report) => format!(
                "partly configured: {} part(s) not applied",
                report.not_applied().count()
            ),
            None => "not configured".to_owned(),
        }
    }

    /// The parts not applied, in words ("" when every part is): what a
    /// further session's entry on D-Bus says while it is connected.
    pub(super) fn not_applied_text(&self) -> String {
        self.report
            .iter()
            .flat_map(ConfigReport::not_applied)
            .map(|part| format!("{} {}", part.part, part.outcome))
            .collect::<Vec<_>>()
            .join("; ")
    }
}
