//! MBIM_CID_VERSION, first after OPEN: the host's MBIM and MBIMEx versions
//! out, the function's back. The lower of the two picks every versioned
//! CID's layout on this function until the next OPEN; a function that does
//! not know the CID, refuses it or does not answer speaks MBIM 1.0.

use super::step::Step;
use super::{ExecutorMachine, Next, Request};
use mbim_protocol::mbimex::MbimExVersion;
use mbim_protocol::services::ms_basic_connect_extensions as ms;
use mbim_protocol::status::Status;
use std::ops::ControlFlow::{Break, Continue};
use std::time::Instant;

/// The newest MBIM extensions version whose layouts the executor reads
/// (every CID it uses, in 2.0's, 3.0's and 4.0's forms: 4.0 reshapes
/// CONNECT, with the network slice, and PROVISIONED_CONTEXTS).
pub(super) const HOST_MBIMEX: MbimExVersion = MbimExVersion::V4;

impl ExecutorMachine {
    /// MBIM_CID_VERSION, once per OPEN.
    pub(super) fn next_version_query(&mut self) -> Next {
        if self.version_asked {
            return Continue(());
        }
        Break(Some((
            Step::Version,
            Request::query::<ms::cid::Version>(&ms::VersionInfo::host(HOST_MBIMEX)),
        )))
    }

    /// MBIM_CID_VERSION answered: the agreed version, or 1.0.
    pub(super) fn version_answer(&mut self, now: Instant, status: Status, buffer: &[u8]) {
        self.version_asked = true;
        let device = if status.is_success() {
            self.decode::<ms::VersionInfo>(now, "VERSION", buffer)
                .map(|info| info.extended_version())
        } else {
            None
        };
        match device {
            Some(device) => {
                self.agree(MbimExVersion::negotiated(HOST_MBIMEX, device));
            }
            None => {
                tracing::info!(
                    executor = self.log_number(),
                    "MBIM_CID_VERSION: {status}; the function speaks MBIM 1.0"
                );
                self.agree(MbimExVersion::V1);
            }
        }
    }

    /// MBIM_CID_VERSION not answered at all (timed out, a function error):
    /// the function is spoken to in MBIM 1.0.
    pub(super) fn version_unanswered(&mut self) {
        self.version_asked = true;
        tracing::info!(
            executor = self.log_number(),
            "MBIM_CID_VERSION not answered; the function speaks MBIM 1.0"
        );
        self.agree(MbimExVersion::V1);
    }

    fn agree(&mut self, version: MbimExVersion) {
        if version > MbimExVersion::V1 {
            tracing::info!(
                executor = self.log_number(),
                "MBIM extensions {version} agreed"
            );
        }
        self.mbimex = version;
        self.status.mbimex = version;
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::*;
    use super::HOST_MBIMEX;
    use mbim_protocol::codec::Payload;
    use mbim_protocol::services::ms_basic_connect_extensions as ms;
    use std::time::Instant;

    /// Opens, answers the first command with `answer` and returns it, the
    /// version agreed and the name of the command that follows.
    fn first_command(answer: (Status, Vec<u8>)) -> (Request, MbimExVersion, Option<&'static str>) {
        let now = Instant::now();
        let mut machine = ExecutorMachine::new(test_config());
        assert!(matches!(machine.poll_action(), Some(Action::Open)));
        machine.handle(now, Input::Opened);
        let Some(Action::Send(first)) = machine.poll_action() else {
            panic!("a command after OPEN");
        };
        let (status, information_buffer) = answer;
        machine.handle(
            now,
            Input::Response {
                status,
                information_buffer,
            },
        );
        let next = std::iter::from_fn(|| machine.poll_action()).find_map(|action| match action {
            Action::Send(request) => Some(request.name),
            _ => None,
        });
        (first, machine.status().mbimex, next)
    }

    #[test]
    fn the_version_is_asked_first_and_the_lower_one_agreed() {
        let answer =
            |version: MbimExVersion| (Status::Success, ms::VersionInfo::host(version).encode());
        // the function's answer -> agreed
        let table = [
            ((Status::NoDeviceSupport, Vec::new()), MbimExVersion::V1),
            ((Status::Success, vec![1, 2]), MbimExVersion::V1),
            (answer(MbimExVersion::V1), MbimExVersion::V1),
            (answer(MbimExVersion::V2), MbimExVersion::V2),
            (answer(MbimExVersion::V3), MbimExVersion::V3),
            (answer(MbimExVersion::V4), MbimExVersion::V4),
        ];
        for (answer, agreed) in table {
            let (first, version, next) = first_command(answer.clone());
            assert_eq!(first.name, "version");
            let host = ms::VersionInfo::decode(&first.payload).unwrap();
            assert_eq!(host.extended_version(), HOST_MBIMEX);
            assert_eq!(version, agreed, "{answer:?}");
            assert_eq!(next, Some("device-caps"), "{answer:?}");
        }
    }

    #[test]
    fn a_function_that_does_not_answer_speaks_1_0() {
        let now = Instant::now();
        let mut machine = ExecutorMachine::new(test_config());
        assert!(matches!(machine.poll_action(), Some(Action::Open)));
        machine.handle(now, Input::Opened);
        assert!(matches!(machine.poll_action(), Some(Action::Send(_))));
        machine.handle(now, Input::RequestFailed(RequestFailure::TimedOut));
        assert_eq!(machine.status().mbimex, MbimExVersion::V1);
        let next = std::iter::from_fn(|| machine.poll_action()).find_map(|action| match action {
            Action::Send(request) => Some(request.name),
            _ => None,
        });
        assert_eq!(next, Some("device-caps"));
    }
}
