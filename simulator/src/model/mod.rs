//! The modem's behaviour without I/O.
//!
//! [`Modem`] is driven like quinn-proto: the caller hands in what the host
//! did (`handle_*(now, …)`) and takes out what the modem has to say
//! (`poll_*`), and passes the current time in; nothing here reads a clock,
//! sleeps or touches a socket. [`crate::device`] wraps it for async callers.
//!
//! Functions and executors share an index: function *i* is executor *i*
//! (only what the device reports as ExecutorIndex, in DEVICE_CAPS_V2 and
//! the order of DEVICE_SLOT_MAPPINGS, may differ: `executors[].executor_index`).
//! Function *i*'s communication interface is `2*i`, its data interface
//! `2*i + 1` (the layout of [`crate::usb`]'s descriptors); notifications
//! carry the communication interface number.
//!
//! Memory is bounded whatever the host sends: see
//! [`channel::MAX_QUEUED_RESPONSES`], [`channel::MAX_QUEUED_NOTIFICATIONS`],
//! [`channel::MAX_COMMAND_SIZE`], [`data::MAX_QUEUED_DATAGRAMS`],
//! [`data::MAX_FORWARDED_DATAGRAMS`], [`data::MAX_READY_BLOCKS`],
//! [`MAX_QUEUED_DEVICE_SETS`], [`MAX_PROVISIONED_CONTEXTS`] and
//! [`MAX_PROVIDERS`].
//!
//! This file holds the types and the constructor; each concern's
//! `impl Modem` block has a file of its own: `endpoints` (what a USB
//! transport calls), `control_messages` (OPEN/CLOSE, COMMAND dispatch, what
//! goes back), `cids` and the modules beside it (the CID handlers),
//! `executor_state` and `executor_info` (an executor's state and the
//! payloads reporting it), `sessions` (a session's addressing),
//! `forwarding` (the real network's datagrams), `timers`,
//! `scenario_control` (run-time control) and `status` (counters and the
//! status report).

pub mod channel;
mod cids;
mod control_messages;
pub mod data;
mod endpoints;
mod executor_info;
mod executor_state;
mod fcc;
mod forwarding;
pub mod host;
mod layouts;
pub mod net;
pub mod network_block;
mod network_in;
pub mod pin;
mod scenario_control;
mod sessions;
mod status;
mod timers;

use crate::control::SlotMappingFault;
use crate::scenario::{
    CardConfig, ExecutorConfig, Ipv4Config, Ipv6Config, Scenario, ScenarioError,
};
use channel::Channel;
use data::DataPlane;
use mbim_protocol::mbimex::MbimExVersion;
use mbim_protocol::message::CommandHead;
use mbim_protocol::ntb::NtbParameters;
use mbim_protocol::services::basic_connect::{
    self as bc, ContextIpType, PacketServiceState, RegisterState, SubscriberReadyState,
};
use mbim_protocol::services::ms_basic_connect_extensions::{self as ms, UiccSlotState};
use mbim_protocol::status::Status;
use mbim_protocol::Uuid;
use pin::{LockState, PinLock};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

/// Most device-wide SETs waiting behind the one in progress; more are
/// answered BUSY at once.
pub const MAX_QUEUED_DEVICE_SETS: usize = 32;
/// Most provisioned contexts stored per executor.
pub const MAX_PROVISIONED_CONTEXTS: usize = 16;
/// Most providers stored in a preferred or multicarrier list.
pub const MAX_PROVIDERS: usize = 64;
/// Most packet filters stored per session.
pub const MAX_PACKET_FILTERS: usize = 16;

/// Why an endpoint refused a transfer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    /// The endpoint is halted (a `stall-endpoint` fault or an unsupported request).
    #[error("stalled")]
    Stall,
    /// The modem is unplugged.
    #[error("unplugged")]
    Unplugged,
    /// The request gets no answer at all (a `hang-control` fault): the
    /// transfer never completes.
    #[error("unanswered")]
    Unanswered,
}

/// The function and session a datagram from the real network is for
/// ([`Modem::network_route`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetworkRoute {
    function: usize,
    session: u8,
}

impl NetworkRoute {
    /// The function (executor index) it goes to.
    pub fn function(&self) -> usize {
        self.function
    }
}

/// What a function's descriptors must announce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FunctionConfig {
    /// wMaxControlMessage.
    pub max_control_message: u16,
    /// wMaxSegmentSize.
    pub max_segment_size: u16,
    /// bcdMBIMVersion (0x0100).
    pub mbim_version: u16,
    /// bcdMBIMExtendedVersion.
    pub extended_version: u16,
    /// bMaxOutstandingCommandMessages.
    pub max_outstanding_commands: u8,
    /// wMTU of the extended functional descriptor.
    pub mtu: u16,
    /// bmNetworkCapabilities.
    pub network_capabilities: u8,
    /// GET_NTB_PARAMETERS.
    pub ntb_parameters: NtbParameters,
    /// bNumberFilters.
    pub number_filters: u8,
    /// bMaxFilterSize.
    pub max_filter_size: u8,
}

/// A card in a slot.
#[derive(Debug, Clone)]
pub(crate) struct Card {
    pub(crate) config: CardConfig,
    pub(crate) lock: PinLock,
}

impl Card {
    fn new(config: CardConfig) -> Self {
        let lock = PinLock::new(
            &config.pin,
            &config.puk,
            config.pin_enabled,
            config.pin_attempts,
            config.puk_attempts,
        );
        Card { config, lock }
    }

    /// SUBSCRIBER_READY_STATUS of an executor using this card.
    fn ready_state(&self) -> SubscriberReadyState {
        match self.lock.state() {
            LockState::PukBlocked => SubscriberReadyState::BadSim,
            LockState::PinRequired | LockState::PukRequired => SubscriberReadyState::DeviceLocked,
            LockState::Unlocked if self.config.esim && !self.config.active_profile => {
                SubscriberReadyState::NoEsimProfile
            }
            LockState::Unlocked => SubscriberReadyState::Initialized,
        }
    }
}

/// A UICC slot.
#[derive(Debug, Clone)]
pub(crate) struct Slot {
    pub(crate) off_when_empty: bool,
    pub(crate) card: Option<Card>,
    pub(crate) misreport: Option<UiccSlotState>,
}

impl Slot {
    /// The state reported in SLOT_INFO_STATUS: seed 004's tables (Empty ↔
    /// Active; OffEmpty ↔ ActiveEsim/ActiveEsimNoProfiles).
    pub(crate) fn state(&self) -> UiccSlotState {
        if let Some(state) = self.misreport {
            return state;
        }
        match &self.card {
            None if self.off_when_empty => UiccSlotState::OffEmpty,
            None => UiccSlotState::Empty,
            Some(card) if card.lock.state() == LockState::PukBlocked => UiccSlotState::Error,
            Some(card) if card.config.esim && card.config.active_profile => {
                UiccSlotState::ActiveEsim
            }
            Some(card) if card.config.esim => UiccSlotState::ActiveEsimNoProfiles,
            Some(_) => UiccSlotState::Active,
        }
    }
}

/// An active IP context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Context {
    pub(crate) ip_type: ContextIpType,
    pub(crate) context_type: Uuid,
}

/// One executor's state.
#[derive(Debug, Clone)]
pub(crate) struct Executor {
    pub(crate) config: ExecutorConfig,
    pub(crate) slot: u32,
    pub(crate) radio_on: bool,
    pub(crate) signal: bool,
    pub(crate) packet_available: bool,
    /// The host detached packet service; auto-attach waits for its attach.
    pub(crate) host_detached: bool,
    /// The host attached (so attach comes back after signal loss even without auto-attach).
    pub(crate) host_attached: bool,
    pub(crate) register_state: RegisterState,
    /// The network a manual REGISTER_STATE set chose (MCC+MNC: the home
    /// network or one of `network.visible`); `None`: automatic.
    pub(crate) manual_provider: Option<String>,
    /// The data classes a REGISTER_STATE set asked to prefer (those of the
    /// modem's it has); `None`: all the modem has.
    pub(crate) preferred_data_classes: Option<bc::DataClass>,
    pub(crate) packet_state: PacketServiceState,
    pub(crate) ready: SubscriberReadyState,
    pub(crate) contexts: BTreeMap<u32, Context>,
    pub(crate) ipv4: Option<Ipv4Config>,
    pub(crate) ipv6: Option<Ipv6Config>,
    pub(crate) home_override: Option<bc::Provider>,
    pub(crate) preferred: Vec<bc::Provider>,
    pub(crate) multicarrier: Vec<bc::Provider>,
    /// In the MBIMEx 2.0 form, the richer one; MBIM 1.0's is cut from it.
    pub(crate) provisioned: Vec<ms::ProvisionedContextElementV2>,
    /// LTE_ATTACH_CONFIGURATION: the attach APN per roaming condition.
    pub(crate) lte_attach: Vec<ms::LteAttachConfiguration>,
    pub(crate) signal_settings: (u32, u32, u32),
    pub(crate) idle_hint: bc::NetworkIdleHintState,
    pub(crate) filters: BTreeMap<u32, bc::PacketFilters>,
}

impl Executor {
    /// Whether the network takes the modem's attach with its home LTE
    /// attach APN (scenario `network.attach_apn`).
    pub(crate) fn attach_taken(&self) -> bool {
        let home = self
            .lte_attach
            .iter()
            .find(|entry| entry.roaming == ms::LteAttachContextRoamingControl::Home)
            .map(|entry| entry.access_string.as_str());
        self.config.network.takes_attach(home)
    }
}

/// One function: control channel and data plane.
#[derive(Debug)]
pub(crate) struct Function {
    pub(crate) channel: Channel,
    pub(crate) data: DataPlane,
    /// The MBIM extensions version agreed with MBIM_CID_VERSION since the
    /// last OPEN (1.0 until then): the layouts on this function.
    pub(crate) mbimex: MbimExVersion,
}

/// A device-wide SET waiting its turn.
#[derive(Debug, Clone)]
pub(crate) struct DeviceSet {
    pub(crate) function: usize,
    pub(crate) transaction_id: u32,
    pub(crate) head: CommandHead,
    pub(crate) data: Vec<u8>,
}

/// What a CID handler produced.
pub(crate) enum Outcome {
    /// Answer with this status and information buffer.
    Reply(Status, Vec<u8>),
    /// The handler sent its COMMAND_DONE itself (to order indications around it).
    Sent,
    /// Queued behind a device-wide SET in progress; answered later.
    Deferred,
}

/// The whole simulated modem.
#[derive(Debug)]
pub struct Modem {
    pub(crate) scenario: Arc<Scenario>,
    pub(crate) slots: Vec<Slot>,
    pub(crate) executors: Vec<Executor>,
    pub(crate) functions: Vec<Function>,
    pub(crate) device_set_running: Option<(Instant, DeviceSet)>,
    pub(crate) device_set_queue: VecDeque<DeviceSet>,
    pub(crate) next_slot_mapping_fault: Option<SlotMappingFault>,
    pub(crate) emergency: bc::EmergencyModeState,
    unplugged: bool,
    /// When a DEVICE_RESET the host asked for takes effect (its answer is
    /// delivered first): the modem leaves the bus, as a USB device that
    /// resets does.
    pub(crate) device_reset_at: Option<Instant>,
    /// When the modem that left the bus for a reset enumerates again.
    replug_at: Option<Instant>,
    /// MS_HOST_SHUTDOWN sets received.
    pub(crate) host_shutdowns: u64,
    /// `reset-device` commands carried out.
    resets: u64,
    /// The FCC lock, while it holds.
    pub(crate) fcc: fcc::FccLock,
}

fn comm_interface(index: usize) -> u16 {
    u16::try_from(index.saturating_mul(2)).unwrap_or(u16::MAX)
}

impl Modem {
    /// A modem in its power-on state at `now`.
    pub fn new(scenario: Arc<Scenario>, now: Instant) -> Result<Modem, ScenarioError> {
        scenario
            .validate()
            .map_err(|message| ScenarioError::Invalid {
                path: scenario.name.clone(),
                message,
            })?;
        let slots = scenario
            .slots
            .iter()
            .map(|slot| Slot {
                off_when_empty: slot.off_when_empty,
                card: slot.card.clone().map(Card::new),
                misreport: None,
            })
            .collect();
        let executors = scenario
            .executors
            .iter()
            .map(|config| Executor {
                config: config.clone(),
                slot: config.slot,
                radio_on: true,
                signal: true,
                packet_available: true,
                host_detached: false,
                host_attached: false,
                register_state: RegisterState::Deregistered,
                manual_provider: None,
                preferred_data_classes: None,
                packet_state: PacketServiceState::Detached,
                ready: SubscriberReadyState::NotInitialized,
                contexts: BTreeMap::new(),
                ipv4: config.ipv4.clone(),
                ipv6: config.ipv6.clone(),
                home_override: None,
                preferred: Vec::new(),
                multicarrier: Vec::new(),
                provisioned: config
                    .provisioned
                    .iter()
                    .zip(1..)
                    .filter_map(|(context, id)| context.element(id))
                    .collect(),
                lte_attach: Vec::new(),
                signal_settings: (0, 0, 0),
                idle_hint: bc::NetworkIdleHintState::Disabled,
                filters: BTreeMap::new(),
            })
            .collect();
        let functions = (0..scenario.executors.len())
            .map(|index| Function {
                channel: Channel::new(comm_interface(index)),
                data: DataPlane::new(
                    scenario.ntb.parameters(),
                    scenario.function.max_segment_size,
                ),
                mbimex: MbimExVersion::V1,
            })
            .collect();
        let mut modem = Modem {
            scenario,
            slots,
            executors,
            functions,
            device_set_running: None,
            device_set_queue: VecDeque::new(),
            next_slot_mapping_fault: None,
            emergency: bc::EmergencyModeState::Off,
            unplugged: false,
            device_reset_at: None,
            replug_at: None,
            host_shutdowns: 0,
            resets: 0,
            fcc: fcc::FccLock::default(),
        };
        modem.fcc_power_on();
        // Power-on: every executor settles silently (no function is open yet).
        for index in 0..modem.executors.len() {
            modem.refresh_executor(now, index);
        }
        Ok(modem)
    }

    /// The scenario it was built from.
    pub fn scenario(&self) -> &Arc<Scenario> {
        &self.scenario
    }

    /// Number of functions (executors).
    pub fn function_count(&self) -> usize {
        self.functions.len()
    }

    /// Whether `unplug` was commanded.
    pub fn is_unplugged(&self) -> bool {
        self.unplugged
    }

    /// What function `index`'s descriptors announce.
    pub fn function_config(&self) -> FunctionConfig {
        let settings = &self.scenario.function;
        FunctionConfig {
            max_control_message: settings.max_control_message,
            max_segment_size: settings.max_segment_size,
            mbim_version: 0x0100,
            extended_version: settings.extended_version,
            max_outstanding_commands: settings.max_outstanding_commands,
            mtu: settings.mtu,
            network_capabilities: settings.network_capabilities,
            ntb_parameters: self.scenario.ntb.parameters(),
            number_filters: settings.number_filters,
            max_filter_size: settings.max_filter_size,
        }
    }
}

/// Which families a context of `ip_type` carries.
pub(crate) fn ip_families(ip_type: ContextIpType) -> (bool, bool) {
    match ip_type {
        ContextIpType::Ipv4 => (true, false),
        ContextIpType::Ipv6 => (false, true),
        _ => (true, true),
    }
}

/// A register state by scenario name.
pub(crate) fn register_state_from_name(name: &str) -> RegisterState {
    RegisterState::from_name(name).unwrap_or(RegisterState::Deregistered)
}
