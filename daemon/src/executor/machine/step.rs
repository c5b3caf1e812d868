//! The command in flight: what it was (so that its answer is understood and
//! its tracked command told) and the state the executor shows meanwhile.

use super::sim::PinChange;
use crate::apn::ApnCandidate;
use crate::executor::api::ExecutorState;
use crate::executor::profile::Profile;

/// The command in flight, so its answer can be understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Step {
    /// MBIM_CID_VERSION, first after OPEN.
    Version,
    DeviceCaps,
    DeviceCapsV2,
    SysCaps,
    SlotMappings,
    Subscribe,
    RadioQuery,
    RadioSet,
    /// Quectel's RADIO_STATE set on: the FCC unlock of Quectel's modules.
    FccQuectel,
    /// Intel's FCC_LOCK query: the challenge.
    FccChallenge,
    /// Intel's FCC_LOCK set: the response.
    FccResponse,
    ReadyQuery,
    PinQuery,
    PinEnter {
        configured: bool,
        tracked: Option<u64>,
    },
    PukEnter {
        tracked: Option<u64>,
    },
    /// ChangePin or SetPinEnabled; the operation is kept so that a BUSY
    /// answer can put an untracked one back in line.
    PinChange {
        op: PinChange,
        tracked: Option<u64>,
    },
    HomeProvider,
    RegisterSet,
    RegisterQuery,
    PacketQuery,
    Attach,
    /// The profile is kept whole: a later Connect compares its own with it.
    /// `candidate`: the automatic APN it came from, when no profile named
    /// the SIM.
    Connect {
        profile: Box<Profile>,
        candidate: Option<Box<ApnCandidate>>,
    },
    /// PROVISIONED_CONTEXTS, in the MBIM extensions' form or MBIM 1.0's.
    ProvisionedQuery {
        extended: bool,
    },
    /// LTE_ATTACH_CONFIGURATION before connecting with this profile.
    LteAttachQuery {
        profile: Box<Profile>,
    },
    /// LTE_ATTACH_CONFIGURATION set naming `attach`, and why.
    LteAttachSet {
        attach: String,
        why: super::attach::AttachReason,
    },
    IpQuery,
    /// MBIM_CID_MS_PCO of session 0 (its DNS when IP_CONFIGURATION has none).
    PcoQuery,
    Deactivate,
    /// CONNECT (activation) of a further session.
    SessionConnect {
        session_id: u32,
    },
    /// IP_CONFIGURATION of a further session.
    SessionIpQuery {
        session_id: u32,
    },
    /// CONNECT (deactivation) of a further session.
    SessionDeactivate {
        session_id: u32,
    },
    SignalQuery,
    SlotInfoQuery(u32),
    SlotMappingSet {
        slots: Vec<u32>,
        tracked: Option<u64>,
    },
    /// DEVICE_SERVICES, asked before the host sleeps: is MS Host Shutdown there?
    DeviceServices,
    /// MS_HOST_SHUTDOWN, before CLOSE when the host sleeps.
    HostShutdown,
    /// VISIBLE_PROVIDERS, a full scan a client asked for.
    ProviderScan {
        tracked: Option<u64>,
    },
    /// REGISTER_STATE set with the network a client chose (`None`:
    /// automatic).
    RegisterChoice {
        provider: Option<String>,
        data_classes: u32,
        tracked: Option<u64>,
    },
    /// DEVICE_RESET, which a client asked for.
    DeviceReset {
        tracked: Option<u64>,
    },
}

impl Step {
    /// The tracked command whose outcome is this step's answer.
    pub(super) fn tracked(&self) -> Option<u64> {
        match self {
            Step::PinEnter { tracked, .. }
            | Step::PukEnter { tracked }
            | Step::PinChange { tracked, .. }
            | Step::SlotMappingSet { tracked, .. }
            | Step::ProviderScan { tracked }
            | Step::RegisterChoice { tracked, .. }
            | Step::DeviceReset { tracked } => *tracked,
            _ => None,
        }
    }
}

/// The state an executor is in while `step` is in flight (or held back).
pub(super) fn state_for(step: &Step, current: ExecutorState) -> ExecutorState {
    match step {
        Step::Version
        | Step::DeviceCaps
        | Step::DeviceCapsV2
        | Step::SysCaps
        | Step::Subscribe
        | Step::RadioQuery
        | Step::RadioSet
        | Step::FccQuectel
        | Step::FccChallenge
        | Step::FccResponse => ExecutorState::Initializing,
        Step::ReadyQuery | Step::PinQuery | Step::PinEnter { .. } | Step::PukEnter { .. } => {
            if current == ExecutorState::Locked {
                ExecutorState::Locked
            } else {
                ExecutorState::WaitingForSim
            }
        }
        Step::HomeProvider
        | Step::RegisterSet
        | Step::RegisterQuery
        | Step::LteAttachSet {
            why: super::attach::AttachReason::Refused(_),
            ..
        } => ExecutorState::Registering,
        Step::PacketQuery | Step::Attach => ExecutorState::Attaching,
        Step::Connect { .. }
        | Step::IpQuery
        | Step::PcoQuery
        | Step::ProvisionedQuery { .. }
        | Step::LteAttachQuery { .. }
        | Step::LteAttachSet { .. } => ExecutorState::Connecting,
        Step::Deactivate | Step::DeviceServices | Step::HostShutdown => {
            ExecutorState::Disconnecting
        }
        Step::SignalQuery => ExecutorState::Registering,
        // Asked for at any time; they say nothing of the life cycle.
        Step::SlotMappings
        | Step::SlotInfoQuery(_)
        | Step::PinChange { .. }
        | Step::SlotMappingSet { .. }
        | Step::ProviderScan { .. }
        | Step::RegisterChoice { .. }
        | Step::DeviceReset { .. } => current,
        // Session 0 is up meanwhile (or being taken down): the executor's
        // state is its.
        Step::SessionConnect { .. } | Step::SessionIpQuery { .. } => current,
        Step::SessionDeactivate { .. } => ExecutorState::Disconnecting,
    }
}
