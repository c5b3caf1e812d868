//! One executor's life: OPEN, capabilities, subscriptions, radio, SIM and
//! PIN, registration, packet service, CONNECT, IP configuration; loss and
//! reconnection; commands from the supervisor and a status snapshot for it.
//!
//! The decisions live in [`ExecutorMachine`] (no I/O, time as an argument,
//! table-tested); [`run_executor`] is the task that owns the protocol session
//! and the transport and feeds the machine. The pure rules (profile choice,
//! back-off, IP merging, masking, anomaly budget) are free functions.

mod api;
mod driver;
mod fcc;
mod machine;
mod passthrough;
mod policy;
mod profile;
mod session_profile;

pub use api::{
    CommandFailure, Connection, DeviceInfo, ExecutorCommand, ExecutorConfig, ExecutorEvent,
    ExecutorReport, ExecutorState, ExecutorStatus, PinStatus, SessionState, SessionStatus,
    SystemCaps, COMMAND_TIMEOUT,
};
pub use driver::{run_executor, run_executor_shared, ExecutorExit};
pub use fcc::{parse_key as parse_fcc_key, run_hook, FccHook, FccProcedure, FccUnlock};
pub use machine::{Action, ExecutorMachine, Input, Request, RequestFailure};
pub use passthrough::{
    passthrough_channel, DeviceIndication, Passthrough, PassthroughAnswer, PassthroughEnd,
    PassthroughPort, INDICATION_BACKLOG, MAX_PASSTHROUGH_IN_FLIGHT,
};
pub use policy::{
    mask_personal, merge_ip_configuration, reconnect_delay, AnomalyBudget, AnomalyVerdict,
};
pub use profile::{
    select_profile, Auth, FieldProblem, IpType, Profile, Secret, MAX_APN_LEN, MAX_CREDENTIAL_LEN,
    ROUTE_METRIC_EXPECTED,
};
pub use session_profile::{SessionKind, SessionProfile, MAX_EXTRA_SESSIONS};
