//! A network scan a client asked for (VISIBLE_PROVIDERS, full scan): its
//! answer is kept in the status, where the asker reads it once the tracked
//! command is done.

use super::ExecutorMachine;
use crate::executor::api::VisibleProvider;
use mbim_protocol::services::basic_connect as bc;
use mbim_protocol::status::Status;
use std::time::Instant;

impl ExecutorMachine {
    /// VISIBLE_PROVIDERS answered: the networks found replace the last
    /// scan's, and the asker is told; a refusal or an undecodable answer
    /// fails the scan and keeps the last one.
    pub(super) fn scan_answer(
        &mut self,
        now: Instant,
        tracked: Option<u64>,
        status: Status,
        buffer: &[u8],
    ) {
        if !status.is_success() {
            if let Some(id) = tracked {
                self.fail(id, Some(status), "the device refused the network scan");
            }
            return;
        }
        let Some(found) = self.decode::<bc::Providers>(now, "VISIBLE_PROVIDERS", buffer) else {
            if let Some(id) = tracked {
                self.fail(id, None, "the device's scan answer could not be read");
            }
            return;
        };
        self.status.visible_providers = found
            .providers
            .into_iter()
            .map(|provider| VisibleProvider {
                id: provider.provider_id,
                name: provider.provider_name,
                state: provider.provider_state.bits(),
            })
            .collect();
        tracing::info!(
            executor = self.log_number(),
            "network scan: {} network(s)",
            self.status.visible_providers.len()
        );
        self.done(tracked, Ok(()));
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::*;
    use crate::executor::api::ExecutorCommand;

    #[test]
    fn a_scan_keeps_what_it_found_and_a_refused_one_fails_keeping_the_last() {
        let start = std::time::Instant::now();
        let mut machine = ExecutorMachine::new(test_config());
        let mut device = FakeDevice::default();
        run(&mut machine, &mut device, start);

        machine.handle(start, tracked(7, ExecutorCommand::ScanProviders));
        let (sent, events) = run(&mut machine, &mut device, start);
        assert_eq!(sent, [("visible-providers", false)]);
        assert_eq!(events, [done(7, Ok(()))]);
        let found = &machine.status().visible_providers;
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].id, "00101");
        assert_eq!(found[0].name, "Simulated");
        assert_eq!(found[0].state, 0x18);

        device.refuse_scans = true;
        machine.handle(start, tracked(8, ExecutorCommand::ScanProviders));
        let (_, events) = run(&mut machine, &mut device, start);
        assert_eq!(
            events,
            [done(
                8,
                failure(Some(Status::Failure), "the device refused the network scan")
            )]
        );
        assert_eq!(machine.status().visible_providers.len(), 1);
    }
}
