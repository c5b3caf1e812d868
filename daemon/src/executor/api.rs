//! What an executor task exchanges with the supervisor: its configuration,
//! the commands it takes, the events it reports and its status snapshot.

use super::profile::{Profile, Secret};
use crate::apn::{ApnSource, ApnSources};
use crate::types::IpSettings;
use mbim_protocol::ntb::NtbParameters;
use mbim_protocol::services::basic_connect::{
    PacketServiceState, PinState, PinType, RadioSwitchState, RegisterState, SubscriberReadyState,
};
use mbim_protocol::services::ms_basic_connect_extensions::UiccSlotState;
use mbim_protocol::status::Status;
use std::time::Duration;

/// How long a command may take by default: less than a D-Bus client waits
/// for a method's answer (25 s by default in libdbus, sd-bus and zbus), so a
/// method waiting on the device answers with a timeout of its own first.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(20);

/// How one executor runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutorConfig {
    /// The executor's number in the daemon (named in events and logs).
    pub index: usize,
    /// The number of the modem it belongs to (names its watchdog pulse).
    pub modem: u32,
    /// The profiles to choose from ([`select_profile`](super::select_profile)).
    pub profiles: Vec<Profile>,
    /// PIN1 to enter when the SIM asks for it and `pins` has none for its
    /// ICCID; never retried once refused.
    pub pin: Option<Secret>,
    /// PIN1 per SIM, by ICCID (the configuration's `[[sims]]`): the SIM in
    /// the executor's slot may change (slot switch, hot swap), so the PIN is
    /// chosen when the SIM asks for it.
    pub pins: Vec<(String, Secret)>,
    /// Print IMSI and ICCID in logs unmasked.
    pub show_personal_info: bool,
    /// The IP session id used for CONNECT (and the data path's NDP session).
    pub session_id: u32,
    /// The function's wMaxControlMessage.
    pub max_control_message: u16,
    /// How long OPEN may take (seed 000: devices answer once initialized).
    pub open_timeout: Duration,
    /// How long a command may take.
    pub command_timeout: Duration,
    /// First reconnection delay after a loss or failure.
    pub backoff_base: Duration,
    /// Longest reconnection delay.
    pub backoff_cap: Duration,
    /// A command answered BUSY is retried on the device's next notification,
    /// or after this long if none comes.
    pub busy_retry: Duration,
    /// Device misbehaviour counted per window…
    pub anomaly_window: Duration,
    /// …of which this many are logged…
    pub anomaly_log_limit: u32,
    /// …and this many reset the session (CLOSE, OPEN).
    pub anomaly_reset_threshold: u32,
    /// Connect as soon as the executor can (otherwise wait for a Connect command).
    pub autoconnect: bool,
    /// Where an APN comes from when no profile names the SIM.
    pub apn_sources: ApnSources,
    /// How the modem's FCC lock is lifted when its radio stays off (`None`:
    /// it is not, the default).
    pub fcc_unlock: Option<super::FccUnlock>,
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        ExecutorConfig {
            index: 0,
            modem: 0,
            profiles: Vec::new(),
            pin: None,
            pins: Vec::new(),
            show_personal_info: false,
            session_id: 0,
            max_control_message: 4096,
            open_timeout: Duration::from_secs(60),
            command_timeout: COMMAND_TIMEOUT,
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(300),
            busy_retry: Duration::from_secs(10),
            anomaly_window: Duration::from_secs(60),
            anomaly_log_limit: 5,
            fcc_unlock: None,
            anomaly_reset_threshold: 10,
            autoconnect: true,
            apn_sources: ApnSources::default(),
        }
    }
}

/// What the supervisor (and later the D-Bus API) asks of an executor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecutorCommand {
    /// Connect (again), with this profile instead of the selected one if
    /// given. While connected with other settings (APN, credentials, IP
    /// type, route metric), the context is deactivated and activated again
    /// with these.
    Connect(Option<Profile>),
    /// Disconnect and stay disconnected until Connect.
    Disconnect,
    /// Enter PIN1 (once; the outcome shows in the status).
    EnterPin(Secret),
    /// Enter PUK1 with a new PIN1.
    EnterPuk {
        /// The PUK.
        puk: Secret,
        /// The new PIN1.
        new_pin: Secret,
    },
    /// Change PIN1 from `old` to `new`.
    ChangePin {
        /// The PIN now.
        old: Secret,
        /// The PIN wanted.
        new: Secret,
    },
    /// Enable (`true`) or disable the PIN1 check, proving it with `pin`.
    SetPinEnabled {
        /// PIN1.
        pin: Secret,
        /// Whether the SIM asks for PIN1 at power-up.
        enabled: bool,
    },
    /// Switch the (software) radio on or off.
    SetRadio(bool),
    /// Query SLOT_INFO_STATUS of every slot again; each answer is reported
    /// as [`ExecutorEvent::SlotInfo`] and kept in [`ExecutorStatus::slots`].
    QuerySlots,
    /// Scan for the networks in reach (VISIBLE_PROVIDERS, a full scan);
    /// the answer is kept in [`ExecutorStatus::visible_providers`]. Tracked:
    /// done once the answer is there.
    ScanProviders,
    /// Register with this network (MCC+MNC) by hand, or automatically
    /// (`None`): REGISTER_STATE set. The choice holds for every later
    /// registration of this executor (after a radio switch, a new OPEN)
    /// until the next one; a refused choice changes nothing. Tracked: done
    /// once the device accepted it (its answer is in the status).
    Register(Option<String>),
    /// Register preferring these MBIM_DATA_CLASS bits (REGISTER_STATE set's
    /// data class, MBIMEx 2.0 and later; 0: the device's own choice), with
    /// the network chosen as it is. Held like [`Self::Register`]'s choice.
    /// Tracked: done once the device accepted it (the data classes it
    /// prefers then are in the status).
    SetDataClasses(u32),
    /// Reset the device (DEVICE_RESET of the MS Basic Connect Extensions):
    /// it restarts, and the executor finds it anew. Tracked: done once the
    /// device accepted it; a device without the command refuses it
    /// (NO_DEVICE_SUPPORT).
    ResetDevice,
    /// Query DEVICE_SLOT_MAPPINGS; the answer is reported as
    /// [`ExecutorEvent::SlotMapping`].
    QuerySlotMapping,
    /// Replace the profiles and PINs (the configuration was reloaded). A
    /// connected session stays up; the next connection uses them.
    Reconfigure {
        /// The new profiles.
        profiles: Vec<Profile>,
        /// The new PINs by ICCID.
        pins: Vec<(String, Secret)>,
        /// Where an APN comes from when no profile names the SIM.
        apn_sources: ApnSources,
    },
    /// Carry out `command` and report its outcome as [`ExecutorEvent::Done`]
    /// with `id`: success once the device accepted it (for Connect and
    /// Disconnect: once taken on), or the failure.
    Tracked {
        /// Chosen by the caller, echoed in [`ExecutorEvent::Done`].
        id: u64,
        /// The command.
        command: Box<ExecutorCommand>,
    },
    /// Maps the modem's executors to these slots (DEVICE_SLOT_MAPPINGS set,
    /// one slot per executor in executor order). Device-wide: it waits for
    /// the modem's lock, so the SETs of its executors never overlap.
    SetSlotMapping(Vec<u32>),
    /// Disconnect, CLOSE, and end the task.
    Shutdown,
    /// The host is about to sleep: take the context down, tell the device
    /// (MS_HOST_SHUTDOWN, when `device_wide` and the device lists the
    /// service), CLOSE, and stay closed until Resume. Tracked: done once
    /// closed.
    Suspend {
        /// This executor speaks for the whole device (one per modem):
        /// MS_HOST_SHUTDOWN is per-device (seed 004).
        device_wide: bool,
    },
    /// The host woke: OPEN again and find everything out anew (the device
    /// may have been reset, and its SIM locked again, while the host slept);
    /// what was wanted (connected, the profile asked for) still is.
    Resume,
}

/// What the data path and netdev need of a connected session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// The IP session id (the NDP's session).
    pub session_id: u32,
    /// The profile connected with.
    pub profile: String,
    /// Its route metric, if it sets one.
    pub route_metric: Option<u32>,
    /// The IP configuration.
    pub ip: IpSettings,
    /// The function's GET_NTB_PARAMETERS, if it answered.
    pub ntb: Option<NtbParameters>,
    /// Whether the session's device gets default routes (session 0: as
    /// `[routes]` says; a further session: its `default-route`).
    pub default_route: bool,
    /// Whether the session's DNS servers go to the DNS backend.
    pub dns: bool,
}

/// What an executor reports to the supervisor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecutorEvent {
    /// The session is up: bring the link up with these settings.
    Connected(Connection),
    /// The network changed the IP configuration (DNS only, or more); the
    /// settings are complete (merged with what came before).
    IpUpdated(IpSettings),
    /// The session is down (signal or packet service lost, disconnected by
    /// request, SIM gone): take the link down.
    LinkDown {
        /// Why.
        reason: String,
    },
    /// A further session (id 1 and up, `[[profiles.sessions]]`) is up:
    /// bring its own link up. Only while session 0 is up.
    SessionUp(Connection),
    /// The network changed a further session's IP configuration.
    SessionIpUpdated {
        /// The session.
        session_id: u32,
        /// Its complete settings.
        ip: IpSettings,
    },
    /// A further session is down: take its link down. Session 0's
    /// [`LinkDown`](Self::LinkDown) comes after those of the others.
    SessionDown {
        /// The session.
        session_id: u32,
        /// Why.
        reason: String,
    },
    /// A slot's state: SLOT_INFO_STATUS answered or notified.
    SlotInfo {
        /// The slot.
        slot: u32,
        /// Its state.
        state: UiccSlotState,
    },
    /// DEVICE_SLOT_MAPPINGS answered: a query's answer, or a SET's (whose
    /// status may be a failure; its mapping is still the one in force).
    SlotMapping {
        /// The answer to a SET (`true`) or to a query.
        set: bool,
        /// The response status.
        status: Status,
        /// The slot of each executor, if the response carried a mapping.
        mapping: Option<Vec<u32>>,
    },
    /// Any other notification from the device (the slot policy's cue to
    /// retry a mapping SET that was answered BUSY).
    Notification,
    /// The outcome of an [`ExecutorCommand::Tracked`] command.
    Done {
        /// The command's id.
        id: u64,
        /// Success, or why not.
        result: Result<(), CommandFailure>,
    },
    /// The function is gone (unplugged); the task has ended.
    Gone,
    /// The task ended after Shutdown (or its command channel closed).
    Stopped,
}

/// Why a tracked command failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandFailure {
    /// The device's status, when the device refused it.
    pub status: Option<Status>,
    /// What went wrong, in words (never containing a PIN or PUK).
    pub message: String,
    /// The device did not answer within the command timeout (it may still
    /// carry the command out).
    pub timed_out: bool,
}

impl std::fmt::Display for CommandFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// What DEVICE_CAPS (and DEVICE_CAPS_V2) say about the device.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceInfo {
    /// FirmwareInfo.
    pub firmware: String,
    /// HardwareInfo.
    pub hardware: String,
    /// DeviceId: the IMEI on GSM devices (personal).
    pub device_id: String,
    /// DataClass: MBIM_DATA_CLASS bits of every radio technology the
    /// device supports.
    pub data_classes: u32,
}

/// SYS_CAPS: the modem as a whole.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SystemCaps {
    /// NumberOfExecutors.
    pub executors: u32,
    /// NumberOfSlots.
    pub slots: u32,
    /// Concurrency (1 for dual-SIM single-active).
    pub concurrency: u32,
    /// ModemId.
    pub modem_id: u64,
}

/// An event with the executor it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutorReport {
    /// [`ExecutorConfig::index`].
    pub executor: usize,
    /// What happened.
    pub event: ExecutorEvent,
}

/// Where an executor is in its life.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum ExecutorState {
    /// OPEN sent, waiting for the device (which may take long).
    #[default]
    Opening,
    /// Capabilities and subscriptions.
    Initializing,
    /// The radio is off (by request or by its hardware switch).
    RadioOff,
    /// Waiting for a usable SIM (not inserted, not initialized, bad, no eSIM profile).
    WaitingForSim,
    /// The SIM needs a PIN or PUK that the executor does not have (or that failed).
    Locked,
    /// Waiting for registration with a network.
    Registering,
    /// Registered, waiting for packet service.
    Attaching,
    /// Registered and attached, not connected (by request).
    Idle,
    /// CONNECT sent.
    Connecting,
    /// Waiting for the next connection attempt (after a failure or a loss).
    WaitingToReconnect,
    /// Connected: the IP configuration is in [`ExecutorStatus::ip`].
    Connected,
    /// Disconnecting (by request or for shutdown).
    Disconnecting,
    /// Resetting the session after device misbehaviour (CLOSE, then OPEN).
    Resetting,
    /// Stuck until something changes; see [`ExecutorStatus::reason`].
    Failed,
    /// Closed while the host sleeps (Suspend), until Resume.
    Suspended,
    /// The device is gone; the task has ended.
    Gone,
    /// Shut down; the task has ended.
    Stopped,
}

/// PIN1's state as the executor knows it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PinStatus {
    /// The PIN (or PUK) the device waits for (`None` when nothing is pending).
    pub pin_type: Option<PinType>,
    /// Locked or unlocked.
    pub state: Option<PinState>,
    /// Attempts left for `pin_type`, as the device last said.
    pub remaining_attempts: Option<u32>,
    /// The configured PIN was refused; it will not be tried again.
    pub configured_pin_refused: bool,
}

/// What the MBIM extensions' layouts tell of the radio (all empty on an
/// MBIM 1.0 function but the data class).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RadioDetails {
    /// The data class in use (PACKET_SERVICE; 1.0 says the highest
    /// available one).
    pub data_class: mbim_protocol::services::basic_connect::DataClass,
    /// How 5G is reached (PACKET_SERVICE 3.0): E-UTRA-NR dual connectivity
    /// (5G NSA), NR (5G SA)…
    pub data_subclass: mbim_protocol::services::basic_connect::DataSubclass,
    /// How the modem can reach 5G (DEVICE_CAPS 3.0).
    pub device_data_subclass: mbim_protocol::services::basic_connect::DataSubclass,
    /// The 5G NR frequency ranges in use (PACKET_SERVICE 2.0).
    pub frequency_range: mbim_protocol::services::basic_connect::FrequencyRange,
    /// RSRP and SNR per radio technology (SIGNAL_STATE 2.0).
    pub signal: Vec<mbim_protocol::services::basic_connect::RsrpSnrInfo>,
}

/// A snapshot of one executor, published on a watch channel.
///
/// IMSI and ICCID are personal data: whoever publishes this must mask them
/// unless asked not to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecutorStatus {
    /// [`ExecutorConfig::index`].
    pub executor: usize,
    /// Where it is.
    pub state: ExecutorState,
    /// Why it is in a waiting, failed or down state, in words.
    pub reason: Option<String>,
    /// SUBSCRIBER_READY_STATUS's state.
    pub ready_state: Option<SubscriberReadyState>,
    /// PIN1.
    pub pin: PinStatus,
    /// Registration state.
    pub register_state: Option<RegisterState>,
    /// Registered provider's MCC+MNC.
    pub provider_id: String,
    /// Registered provider's name.
    pub provider_name: String,
    /// Registered as roaming (or partner).
    pub roaming: bool,
    /// Packet service state.
    pub packet_service: Option<PacketServiceState>,
    /// The data classes the network offers (REGISTER_STATE's
    /// AvailableDataClasses, MBIM_DATA_CLASS bits; 0 unknown), as last
    /// reported while registered.
    pub available_data_classes: u32,
    /// The best data class available (PACKET_SERVICE's
    /// HighestAvailableDataClass, MBIM_DATA_CLASS bits; 0 unknown), as last
    /// reported.
    pub data_class: u32,
    /// SIGNAL_STATE's RSSI code (0-31, 99 unknown).
    pub rssi: Option<u32>,
    /// The networks the last VISIBLE_PROVIDERS scan found
    /// ([`ExecutorCommand::ScanProviders`]).
    pub visible_providers: Vec<VisibleProvider>,
    /// SIGNAL_STATE's error rate code (0-7, 99 unknown).
    pub error_rate: Option<u32>,
    /// The executor index the device reports (DEVICE_CAPS_V2).
    pub device_executor_index: Option<u32>,
    /// The slot mapped to this executor (DEVICE_SLOT_MAPPINGS).
    pub slot: Option<u32>,
    /// Whether the device has the Microsoft multi-SIM extensions.
    pub multi_sim: bool,
    /// DEVICE_CAPS.
    pub device: DeviceInfo,
    /// SYS_CAPS, when the device has it.
    pub sys_caps: Option<SystemCaps>,
    /// The state of each slot by index (SLOT_INFO_STATUS), as far as known.
    pub slots: Vec<Option<UiccSlotState>>,
    /// The slot of each executor of the modem (DEVICE_SLOT_MAPPINGS).
    pub mapping: Vec<u32>,
    /// The software radio switch.
    pub radio_software: Option<RadioSwitchState>,
    /// The hardware radio switch.
    pub radio_hardware: Option<RadioSwitchState>,
    /// The FCC lock as far as seen: empty (none seen), `locked`,
    /// `unlocked by PROCEDURE`, or `unlock failed: WHY`.
    pub fcc_lock: String,
    /// The SIM's ICCID (personal).
    pub iccid: String,
    /// The SIM's IMSI (personal).
    pub imsi: String,
    /// The home provider's MCC+MNC.
    pub home_provider: String,
    /// The profile of the current (or last attempted) connection.
    pub profile: Option<String>,
    /// That profile's settings (a configured one, Connect's overrides, or
    /// what an APN source gave): what Connect's overrides apply to when no
    /// configured profile names the SIM. The password stays a [`Secret`].
    pub profile_settings: Option<Profile>,
    /// The MBIM extensions version agreed with the function
    /// (MBIM_CID_VERSION; 1.0 for a function that does not know it).
    pub mbimex: mbim_protocol::mbimex::MbimExVersion,
    /// The data classes the device prefers (REGISTER_STATE from MBIMEx
    /// 2.0 on; `None` before, or on an MBIM 1.0 function).
    pub preferred_data_classes: Option<u32>,
    /// What the MBIM extensions' layouts tell of the radio.
    pub radio: RadioDetails,
    /// The network's cause of the last refusal (CONNECT, REGISTER_STATE,
    /// PACKET_SERVICE); `None` since the last success.
    pub network_error: Option<mbim_protocol::services::basic_connect::NwError>,
    /// What the network's PCO gave the session (CONNECT, MBIMEx 3.0): DNS,
    /// P-CSCF, MTU.
    pub pco: Option<mbim_protocol::pco::SessionOptions>,
    /// Where the APN of the current (or last) connection came from.
    pub apn_source: Option<ApnSource>,
    /// The APN of the current (or last) connection.
    pub apn: Option<String>,
    /// The LTE attach APN mbimd set (LTE_ATTACH_CONFIGURATION) and why:
    /// named by the profile, or the network's refusal that asked for it.
    pub attach_apn: Option<(String, String)>,
    /// The IP configuration while connected.
    pub ip: Option<IpSettings>,
    /// Connection attempts failed in a row.
    pub connect_failures: u32,
    /// Sessions reset after device misbehaviour.
    pub resets: u32,
    /// DEVICE_CAPS' MaxSessions: how many IP sessions the function offers
    /// at once (`None` until known).
    pub max_sessions: Option<u32>,
    /// The further sessions the connected profile names, in session id
    /// order (session 0 is the executor's own state above).
    pub sessions: Vec<SessionStatus>,
}

/// Where a further session is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum SessionState {
    /// Not activated (yet): waiting for its turn after session 0.
    #[default]
    Disconnected,
    /// Activated, its IP configuration being asked for.
    Connecting,
    /// Up: its IP configuration is in [`SessionStatus::ip`].
    Connected,
    /// Refused or lost; tried again after the back-off.
    WaitingToReconnect,
    /// Its session id is beyond the device's MaxSessions: never tried.
    Unsupported,
}

impl SessionState {
    /// As D-Bus and mbimctl spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionState::Disconnected => "disconnected",
            SessionState::Connecting => "connecting",
            SessionState::Connected => "connected",
            SessionState::WaitingToReconnect => "waiting-to-reconnect",
            SessionState::Unsupported => "unsupported",
        }
    }
}

/// One further session of the connected profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionStatus {
    /// Its session id (1 and up: its place among `[[profiles.sessions]]`).
    pub session_id: u32,
    /// Its name in the profile.
    pub name: String,
    /// Its context type.
    pub kind: super::session_profile::SessionKind,
    /// Its APN.
    pub apn: String,
    /// Where it is.
    pub state: SessionState,
    /// Why it waits or is unsupported, in words.
    pub reason: Option<String>,
    /// Its IP configuration while connected.
    pub ip: Option<IpSettings>,
    /// Connection attempts failed in a row.
    pub failures: u32,
}

/// One network a VISIBLE_PROVIDERS scan found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VisibleProvider {
    /// MCC+MNC.
    pub id: String,
    /// The operator's name.
    pub name: String,
    /// MBIM_PROVIDER_STATE bits (home, forbidden, preferred, visible,
    /// registered…).
    pub state: u32,
}
