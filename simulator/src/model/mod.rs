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

pub mod channel;
mod cids;
pub mod data;
mod fcc;
pub mod host;
mod layouts;
pub mod net;
mod network_in;
pub mod pin;

use crate::control::{ControlCommand, ControlError, ControlReply, Fault, SlotMappingFault};
use crate::scenario::{
    CardConfig, ExecutorConfig, Ipv4Config, Ipv6Config, Scenario, ScenarioError,
};
use channel::{Channel, Kind, OpenState};
use data::{DataPlane, Traffic};
use mbim_protocol::mbimex::MbimExVersion;
use mbim_protocol::message::{CommandHead, Message};
use mbim_protocol::ntb::{NtbFormat, NtbParameters};
use mbim_protocol::services::basic_connect::{
    self as bc, ActivationState, ContextIpType, PacketServiceState, RegisterState,
    SubscriberReadyState,
};
use mbim_protocol::services::ms_basic_connect_extensions::{self as ms, UiccSlotState};
use mbim_protocol::services::Cid;
use mbim_protocol::status::{ProtocolError, Status};
use mbim_protocol::usb::{ClassRequest, Notification, NtbInputSize, SetupPacket};
use mbim_protocol::{Payload, Uuid};
use pin::{LockState, PinLock};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

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

/// How long a modem that resets (DEVICE_RESET) stays off the bus before it
/// enumerates again.
const RESET_ABSENCE: Duration = Duration::from_millis(500);

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

    fn check(&self, function: usize) -> Result<(), EndpointError> {
        if self.unplugged {
            return Err(EndpointError::Unplugged);
        }
        if function >= self.functions.len() {
            return Err(EndpointError::Stall);
        }
        Ok(())
    }

    // ----- host input -----

    /// A class request to function `function`'s communication or data
    /// interface. `data` is the OUT data stage; the result the IN data stage
    /// (already truncated to `setup.length`).
    pub fn handle_class_request(
        &mut self,
        now: Instant,
        function: usize,
        setup: SetupPacket,
        data: &[u8],
    ) -> Result<Vec<u8>, EndpointError> {
        self.check(function)?;
        if self
            .functions
            .get(function)
            .is_some_and(|f| f.channel.control_hangs())
        {
            return Err(EndpointError::Unanswered);
        }
        self.handle_timeout(now);
        let Some(request) = setup.class_request() else {
            return Err(EndpointError::Stall);
        };
        let max_segment = self.scenario.function.max_segment_size;
        let parameters = self.scenario.ntb.parameters();
        let reply = match request {
            ClassRequest::SendEncapsulatedCommand => {
                self.handle_control_message(now, function, data);
                Vec::new()
            }
            ClassRequest::GetEncapsulatedResponse => self
                .functions
                .get_mut(function)
                .map(|f| f.channel.poll_response())
                .unwrap_or_default(),
            ClassRequest::ResetFunction => {
                self.reset_function(function);
                Vec::new()
            }
            ClassRequest::GetNtbParameters => parameters.emit().to_vec(),
            ClassRequest::GetNtbFormat => {
                let format = self
                    .functions
                    .get(function)
                    .map_or(NtbFormat::Ntb16, |f| f.data.format);
                u16::from(format == NtbFormat::Ntb32).to_le_bytes().to_vec()
            }
            ClassRequest::SetNtbFormat => {
                let format = match setup.value {
                    0 => NtbFormat::Ntb16,
                    1 if parameters.supports(NtbFormat::Ntb32) => NtbFormat::Ntb32,
                    _ => return Err(EndpointError::Stall),
                };
                let Some(f) = self.functions.get_mut(function) else {
                    return Err(EndpointError::Stall);
                };
                // NCM 1.0 §6.2.5: only while the data interface is off.
                if f.data.alt_setting != 0 {
                    return Err(EndpointError::Stall);
                }
                f.data.format = format;
                Vec::new()
            }
            ClassRequest::GetNtbInputSize => self
                .functions
                .get(function)
                .map(|f| f.data.input_size.emit())
                .unwrap_or_default(),
            ClassRequest::SetNtbInputSize => {
                let Some(size) = NtbInputSize::parse(data) else {
                    return Err(EndpointError::Stall);
                };
                if size.max_size < mbim_protocol::ntb::params::MIN_MAX_SIZE
                    || size.max_size > parameters.in_max_size
                {
                    return Err(EndpointError::Stall);
                }
                if let Some(f) = self.functions.get_mut(function) {
                    f.data.input_size = size;
                }
                Vec::new()
            }
            ClassRequest::GetMaxDatagramSize => self
                .functions
                .get(function)
                .map(|f| f.data.max_datagram_size.to_le_bytes().to_vec())
                .unwrap_or_default(),
            ClassRequest::SetMaxDatagramSize => {
                let size = match data {
                    [low, high, ..] => u16::from_le_bytes([*low, *high]),
                    _ => return Err(EndpointError::Stall),
                };
                if size > max_segment || size < 68 {
                    return Err(EndpointError::Stall);
                }
                if let Some(f) = self.functions.get_mut(function) {
                    f.data.max_datagram_size = size;
                }
                Vec::new()
            }
            ClassRequest::GetCrcMode => vec![0, 0],
            ClassRequest::SetCrcMode if setup.value == 0 => Vec::new(),
            _ => return Err(EndpointError::Stall),
        };
        let mut reply = reply;
        reply.truncate(usize::from(setup.length));
        Ok(reply)
    }

    /// GET_ENCAPSULATED_RESPONSE shortcut: the next queued message, or empty.
    pub fn poll_response(&mut self, function: usize) -> Result<Vec<u8>, EndpointError> {
        self.check(function)?;
        Ok(self
            .functions
            .get_mut(function)
            .map(|f| f.channel.poll_response())
            .unwrap_or_default())
    }

    /// The next interrupt notification, if one waits.
    pub fn poll_notification(
        &mut self,
        function: usize,
    ) -> Result<Option<Notification>, EndpointError> {
        self.check(function)?;
        let Some(f) = self.functions.get_mut(function) else {
            return Err(EndpointError::Stall);
        };
        if f.channel.interrupt_stalled() {
            return Err(EndpointError::Stall);
        }
        Ok(f.channel.poll_notification())
    }

    /// An NTB the host wrote on bulk OUT.
    pub fn handle_bulk_out(
        &mut self,
        now: Instant,
        function: usize,
        ntb: &[u8],
    ) -> Result<(), EndpointError> {
        self.handle_bulk_out_to(now, function, ntb, None)
    }

    /// An NTB the host wrote on bulk OUT, with a real network behind the
    /// modem: datagrams of active sessions that are not for the gateway
    /// itself go to `uplink` (which says whether it took each one).
    pub fn handle_bulk_out_to(
        &mut self,
        now: Instant,
        function: usize,
        ntb: &[u8],
        uplink: Option<data::Uplink<'_>>,
    ) -> Result<(), EndpointError> {
        self.check(function)?;
        self.handle_timeout(now);
        let gateways = self.gateways(function);
        let Some(f) = self.functions.get_mut(function) else {
            return Err(EndpointError::Stall);
        };
        if f.channel.stall_bulk_out {
            return Err(EndpointError::Stall);
        }
        f.data
            .bulk_out(ntb, &|session| gateways.get(&session).copied(), uplink);
        Ok(())
    }

    /// A datagram from the real network behind the modem: queued for bulk
    /// IN on the function and session whose address it is for. `false`
    /// when no active session has that address (or its queue is full).
    pub fn handle_network_in(&mut self, packet: &[u8]) -> bool {
        self.network_route(packet).is_some_and(|route| {
            self.push_network_in(route, packet.len(), |buffer| {
                buffer.copy_from_slice(packet);
                true
            })
        })
    }

    /// Where datagrams from the real network with `packet`'s IP header go:
    /// the active session whose address is its destination, if any. Asked
    /// once for all the segments of a super-packet, which share it.
    pub fn network_route(&self, packet: &[u8]) -> Option<NetworkRoute> {
        let (function, session) = self.session_with_address(net::destination(packet)?)?;
        Some(NetworkRoute { function, session })
    }

    /// A datagram of `len` bytes from the real network queued for bulk IN
    /// on `route`, written by `fill` straight into its place in the NTB the
    /// function will send (`len` bytes; `fill` says whether it wrote them,
    /// and is called at most once). `false` when the route's queue is full
    /// or gone (counted as dropped).
    pub fn push_network_in(
        &mut self,
        route: NetworkRoute,
        len: usize,
        fill: impl FnMut(&mut [u8]) -> bool,
    ) -> bool {
        self.functions
            .get_mut(route.function)
            .is_some_and(|f| f.data.push_network(route.session, len, fill))
    }

    /// Room left in the fullest queue of datagrams from the real network
    /// (functions with their data interface off take none and do not count).
    pub fn network_room(&self) -> usize {
        self.functions
            .iter()
            .filter_map(|f| f.data.network_room())
            .min()
            .unwrap_or(data::MAX_FORWARDED_DATAGRAMS)
    }

    /// The function and session id of the active session whose host
    /// address is `address` (IPv6: within its prefix; the first, should two
    /// executors share it).
    fn session_with_address(&self, address: std::net::IpAddr) -> Option<(usize, u8)> {
        if self.unplugged {
            return None;
        }
        self.executors
            .iter()
            .enumerate()
            .find_map(|(function, executor)| {
                executor.contexts.iter().find_map(|(session, context)| {
                    let (v4, v6) = ip_families(context.ip_type);
                    let mine = match address {
                        std::net::IpAddr::V4(address) => executor
                            .ipv4
                            .as_ref()
                            .filter(|_| v4)
                            .is_some_and(|c| c.session_addresses(*session).0 == address),
                        // The whole prefix is the session's, as a network
                        // routes a UE's /64 to it whatever interface id
                        // the host picks.
                        std::net::IpAddr::V6(address) => {
                            executor.ipv6.as_ref().filter(|_| v6).is_some_and(|c| {
                                let bits = c.prefix.min(128);
                                let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
                                let mine = u128::from(c.session_addresses(*session).0);
                                mine & mask == u128::from(address) & mask
                            })
                        }
                    };
                    mine.then(|| Some((function, u8::try_from(*session).ok()?)))
                        .flatten()
                })
            })
    }

    /// The next NTB for bulk IN (at most `max_len` bytes), if anything waits.
    pub fn poll_bulk_in(
        &mut self,
        now: Instant,
        function: usize,
        max_len: usize,
    ) -> Result<Option<Vec<u8>>, EndpointError> {
        let mut block = Vec::new();
        Ok(self
            .poll_bulk_in_into(now, function, max_len, &mut block)?
            .then_some(block))
    }

    /// The next NTB for bulk IN (at most `max_len` bytes) into `out`, the
    /// host's transfer buffer, whose allocation the modem keeps for a later
    /// block: a block built ahead (the real network's datagrams) trades
    /// places with it instead of being copied. `Ok(false)`, `out`
    /// untouched, when nothing waits.
    pub fn poll_bulk_in_into(
        &mut self,
        now: Instant,
        function: usize,
        max_len: usize,
        out: &mut Vec<u8>,
    ) -> Result<bool, EndpointError> {
        self.check(function)?;
        let gateways = self.gateways(function);
        let Some(f) = self.functions.get_mut(function) else {
            return Err(EndpointError::Stall);
        };
        if f.channel.stall_bulk_in {
            return Err(EndpointError::Stall);
        }
        Ok(f.data.bulk_in_into(
            now,
            max_len,
            &|session| gateways.contains_key(&session),
            out,
        ))
    }

    /// SET_INTERFACE on the data interface.
    pub fn set_data_alt_setting(&mut self, function: usize, alt: u8) {
        if let Some(f) = self.functions.get_mut(function) {
            f.data.set_alt_setting(alt);
        }
    }

    /// The host cleared a halt of one of `function`'s endpoints.
    pub fn clear_halt(&mut self, function: usize, endpoint: crate::control::Endpoint) {
        if let Some(f) = self.functions.get_mut(function) {
            f.channel.clear_halt(endpoint);
        }
    }

    /// USB reset or RESET_FUNCTION: back to the state after SET_CONFIGURATION.
    /// The function is closed, so its contexts go down (no host to tell).
    pub fn reset_function(&mut self, function: usize) {
        if let Some(f) = self.functions.get_mut(function) {
            f.channel.reset();
            f.data.reset();
        }
        if let Some(executor) = self.executors.get_mut(function) {
            executor.contexts.clear();
        }
        self.device_set_queue.retain(|set| set.function != function);
    }

    /// The gateway of each active session of `function`'s executor.
    fn gateways(&self, function: usize) -> BTreeMap<u8, net::Gateway> {
        let Some(executor) = self.executors.get(function) else {
            return BTreeMap::new();
        };
        executor
            .contexts
            .iter()
            .filter_map(|(session, context)| {
                let session = u8::try_from(*session).ok()?;
                let (v4, v6) = ip_families(context.ip_type);
                let id = u32::from(session);
                Some((
                    session,
                    net::Gateway {
                        ipv4: executor
                            .ipv4
                            .as_ref()
                            .filter(|_| v4)
                            .map(|c| c.session_addresses(id).1),
                        ipv6: executor
                            .ipv6
                            .as_ref()
                            .filter(|_| v6)
                            .map(|c| c.session_addresses(id).1),
                        sink_port: None,
                    },
                ))
            })
            .collect()
    }

    /// Bytes and entries the modem holds in its queues on the host's behalf
    /// (responses, notifications, delayed responses, datagrams, waiting
    /// device-wide SETs). Bounded by the caps in the module documentation,
    /// whatever the host sends; the robustness tests check it.
    pub fn queued(&self) -> (usize, usize) {
        let mut bytes = 0usize;
        let mut entries = 0usize;
        for f in &self.functions {
            let (b, e) = f.channel.queued();
            let (db, de) = f.data.queued();
            bytes = bytes.saturating_add(b).saturating_add(db);
            entries = entries.saturating_add(e).saturating_add(de);
        }
        for set in self
            .device_set_queue
            .iter()
            .chain(self.device_set_running.iter().map(|(_, set)| set))
        {
            bytes = bytes.saturating_add(set.data.len());
            entries = entries.saturating_add(1);
        }
        (bytes, entries)
    }

    /// Whether anything waits on `function`'s interrupt or control pipe.
    pub fn has_notification(&self, function: usize) -> bool {
        self.functions
            .get(function)
            .is_some_and(|f| f.channel.has_queued())
    }

    /// Whether bulk IN of `function` has something at `now`.
    pub fn has_bulk_in(&mut self, now: Instant, function: usize) -> bool {
        let gateways = self.gateways(function);
        self.functions.get_mut(function).is_some_and(|f| {
            f.data
                .has_pending(now, &|session| gateways.contains_key(&session))
        })
    }

    // ----- timers -----

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

    // ----- control messages -----

    fn handle_control_message(&mut self, now: Instant, function: usize, bytes: &[u8]) {
        if let Some(f) = self.functions.get_mut(function) {
            f.channel.counters.messages_in = f.channel.counters.messages_in.saturating_add(1);
        }
        let message = match Message::parse(bytes) {
            Ok(message) => message,
            Err(_) => {
                // A TransactionId can still be read from a broken message's
                // header; answer it so the host's transaction ends.
                let transaction_id = bytes
                    .get(8..12)
                    .and_then(|tid| <[u8; 4]>::try_from(tid).ok())
                    .map_or(0, u32::from_le_bytes);
                self.function_error(now, function, transaction_id, ProtocolError::LengthMismatch);
                return;
            }
        };
        match message {
            Message::Open {
                transaction_id,
                max_control_transfer,
            } => self.handle_open(now, function, transaction_id, max_control_transfer),
            Message::Close { transaction_id } => {
                let was_open = self
                    .functions
                    .get(function)
                    .is_some_and(|f| f.channel.state != OpenState::Closed);
                self.send(
                    now,
                    function,
                    &Message::CloseDone {
                        transaction_id,
                        status: Status::Success,
                    },
                    Kind::Response,
                );
                if let Some(f) = self.functions.get_mut(function) {
                    f.channel.state = OpenState::Closed;
                    f.channel.restart_session();
                    f.mbimex = MbimExVersion::V1;
                }
                if was_open {
                    self.close_contexts(function);
                }
            }
            Message::Command(_) => {
                let open = self
                    .functions
                    .get(function)
                    .is_some_and(|f| f.channel.is_open());
                if !open {
                    self.function_error(
                        now,
                        function,
                        message.transaction_id(),
                        ProtocolError::NotOpened,
                    );
                    return;
                }
                let result = match self.functions.get_mut(function) {
                    Some(f) => f.channel.reassemble(now, message),
                    None => return,
                };
                match result {
                    Ok(Some(Message::Command(whole))) => {
                        if let Some(head) = whole.head {
                            self.dispatch(now, function, whole.transaction_id, head, whole.data);
                        }
                    }
                    Ok(_) => {}
                    Err(error) => self.function_error(
                        now,
                        function,
                        error.transaction_id(),
                        error.protocol_error(),
                    ),
                }
            }
            // The host reports an error in something the function sent; a
            // device has nothing to undo.
            Message::HostError { .. } => {}
            other => self.function_error(
                now,
                function,
                other.transaction_id(),
                ProtocolError::Unspecified,
            ),
        }
    }

    fn handle_open(&mut self, now: Instant, function: usize, transaction_id: u32, mct: u32) {
        let max_transfer = usize::try_from(mct).unwrap_or(usize::MAX);
        if max_transfer < mbim_protocol::fragment::MIN_CONTROL_TRANSFER {
            self.function_error(now, function, transaction_id, ProtocolError::MaxTransfer);
            return;
        }
        let was_open = self
            .functions
            .get(function)
            .is_some_and(|f| f.channel.state != OpenState::Closed);
        if was_open {
            self.close_contexts(function);
        }
        let delay = Duration::from_millis(self.scenario.modem.open_delay_ms);
        let Some(f) = self.functions.get_mut(function) else {
            return;
        };
        f.channel.restart_session();
        // A new session speaks MBIM 1.0 until MBIM_CID_VERSION again.
        f.mbimex = MbimExVersion::V1;
        // Seed 000: answer OPEN only once initialized, never with BUSY.
        f.channel.state = OpenState::Opening {
            transaction_id,
            deadline: now.checked_add(delay).unwrap_or(now),
            max_transfer,
        };
        self.handle_timeout(now);
    }

    /// Contexts die with the host's session.
    fn close_contexts(&mut self, function: usize) {
        if let Some(executor) = self.executors.get_mut(function) {
            executor.contexts.clear();
        }
        if let Some(f) = self.functions.get_mut(function) {
            f.data.set_alt_setting(f.data.alt_setting);
        }
    }

    pub(crate) fn function_error(
        &mut self,
        now: Instant,
        function: usize,
        transaction_id: u32,
        error: ProtocolError,
    ) {
        if let Some(f) = self.functions.get_mut(function) {
            f.channel.counters.function_errors =
                f.channel.counters.function_errors.saturating_add(1);
        }
        self.send(
            now,
            function,
            &Message::FunctionError {
                transaction_id,
                error,
            },
            Kind::Response,
        );
    }

    pub(crate) fn send(&mut self, now: Instant, function: usize, message: &Message, kind: Kind) {
        if let Some(f) = self.functions.get_mut(function) {
            f.channel.send(now, message, kind);
        }
    }

    /// Sends a COMMAND_DONE.
    #[allow(clippy::too_many_arguments)] // The message's fields plus where and when.
    pub(crate) fn command_done(
        &mut self,
        now: Instant,
        function: usize,
        transaction_id: u32,
        service: Uuid,
        cid: u32,
        status: Status,
        buffer: Vec<u8>,
    ) {
        let buffer = self.in_layout(function, service, cid, buffer);
        let message = Message::command_done(transaction_id, service, cid, status, buffer);
        self.send(now, function, &message, Kind::Response);
    }

    /// Sends an indication of `C` on `function` if the host subscribed to it.
    pub(crate) fn indicate<C: Cid>(
        &mut self,
        now: Instant,
        function: usize,
        payload: &C::Notification,
    ) {
        let Some(f) = self.functions.get_mut(function) else {
            return;
        };
        if !f.channel.is_open() {
            return;
        }
        if !f.channel.subscribed(C::SERVICE, C::ID) {
            f.channel.counters.indications_filtered =
                f.channel.counters.indications_filtered.saturating_add(1);
            return;
        }
        let buffer = self.in_layout(function, C::SERVICE, C::ID, payload.encode());
        let Some(f) = self.functions.get_mut(function) else {
            return;
        };
        let message = Message::indicate_status(0, C::SERVICE, C::ID, buffer);
        f.channel.send(now, &message, Kind::Indication);
    }

    /// `buffer` (MBIM 1.0's form) in the layout agreed on `function`.
    fn in_layout(&self, function: usize, service: Uuid, cid: u32, buffer: Vec<u8>) -> Vec<u8> {
        let version = self
            .functions
            .get(function)
            .map_or(MbimExVersion::V1, |f| f.mbimex);
        if version == MbimExVersion::V1 {
            return buffer;
        }
        layouts::outgoing(version, service, cid, &self.layout_extras(function), buffer)
    }

    /// The data classes the modem has (DEVICE_CAPS).
    pub(crate) fn device_data_classes(&self) -> bc::DataClass {
        self.scenario
            .modem
            .data_classes
            .iter()
            .filter_map(|name| crate::scenario::data_class_from_name(name))
            .fold(bc::DataClass::empty(), |all, class| all | class)
    }

    /// The data classes executor `index` prefers: those the host asked for
    /// (REGISTER_STATE set), else all the modem has.
    pub fn preferred_data_classes(&self, index: usize) -> bc::DataClass {
        self.executors
            .get(index)
            .and_then(|executor| executor.preferred_data_classes)
            .unwrap_or_else(|| self.device_data_classes())
    }

    /// The data class executor `index` uses while registered: the
    /// network's, unless the host's preference leaves it out; then the
    /// best one preferred.
    pub(crate) fn class_in_use(&self, index: usize) -> bc::DataClass {
        let network = self
            .executors
            .get(index)
            .and_then(|executor| {
                crate::scenario::data_class_from_name(&executor.config.network.data_class)
            })
            .unwrap_or(bc::DataClass::LTE);
        let preferred = self.preferred_data_classes(index);
        if preferred.is_empty() || preferred.contains(network) {
            return network;
        }
        // The highest bit preferred is the newest technology.
        let best = 1u32 << (31 - preferred.bits().leading_zeros());
        bc::DataClass::from_bits(best)
    }

    /// What the MBIMEx layouts carry for executor `index` beyond 1.0's.
    fn layout_extras(&self, index: usize) -> layouts::Extras {
        let device_data_classes = self.device_data_classes();
        let preferred_data_classes = self.preferred_data_classes(index);
        let Some(executor) = self.executors.get(index) else {
            return layouts::Extras::default();
        };
        let network = &executor.config.network;
        let registered = matches!(
            executor.register_state,
            RegisterState::Home | RegisterState::Roaming | RegisterState::Partner
        );
        let digits = |range: std::ops::Range<usize>| {
            network
                .provider_id
                .get(range)
                .and_then(|text| text.parse::<u16>().ok())
                .unwrap_or(0)
        };
        layouts::Extras {
            data_class: if registered {
                self.class_in_use(index)
            } else {
                bc::DataClass::empty()
            },
            device_data_classes,
            preferred_data_classes,
            rsrp: registered.then(|| layouts::rsrp_code(network.rsrp_dbm)),
            snr: layouts::snr_code(network.snr_db),
            plmn: (digits(0..3), digits(3..network.provider_id.len())),
            session_pco: executor
                .contexts
                .keys()
                .filter_map(|&session| Some((session, self.session_pco(index, session)?)))
                .collect(),
        }
    }

    // ----- executor state -----

    /// The card in the slot mapped to `executor`.
    pub(crate) fn card(&self, executor: usize) -> Option<&Card> {
        let slot = self.executors.get(executor)?.slot;
        self.slots.get(usize::try_from(slot).ok()?)?.card.as_ref()
    }

    pub(crate) fn card_mut(&mut self, executor: usize) -> Option<&mut Card> {
        let slot = self.executors.get(executor)?.slot;
        self.slots
            .get_mut(usize::try_from(slot).ok()?)?
            .card
            .as_mut()
    }

    /// The ready state `executor` should report now.
    pub(crate) fn ready_state(&self, executor: usize) -> SubscriberReadyState {
        self.card(executor)
            .map_or(SubscriberReadyState::SimNotInserted, Card::ready_state)
    }

    /// Brings `executor`'s reported states in line with its SIM, radio and
    /// network, sending indications for each change in the order seed 000
    /// asks: CONNECT Deactivated, PACKET_SERVICE Detached, REGISTER_STATE
    /// Deregistered when going down; ready state, registered, attached when
    /// coming up.
    pub(crate) fn refresh_executor(&mut self, now: Instant, index: usize) {
        let ready = self.ready_state(index);
        let Some(executor) = self.executors.get(index) else {
            return;
        };
        let register_target =
            if executor.radio_on && executor.signal && ready == SubscriberReadyState::Initialized {
                match executor.manual_provider.as_deref() {
                    // Another network chosen by hand: a visiting one.
                    Some(id) if id != executor.config.network.provider_id => RegisterState::Roaming,
                    _ if !executor.attach_taken() => RegisterState::Denied,
                    _ => register_state_from_name(&executor.config.network.register_state),
                }
            } else {
                RegisterState::Deregistered
            };
        let registered = matches!(
            register_target,
            RegisterState::Home | RegisterState::Roaming | RegisterState::Partner
        );
        let attach_target = registered
            && executor.packet_available
            && !executor.host_detached
            && (executor.config.network.auto_attach || executor.host_attached);
        let ready_changed = executor.ready != ready;
        // Down: contexts first, then packet service, then registration.
        if !attach_target {
            self.deactivate_all(now, index);
            self.set_packet_state(now, index, PacketServiceState::Detached);
        }
        if !registered {
            self.set_register_state(now, index, register_target);
        }
        if ready_changed {
            if let Some(executor) = self.executors.get_mut(index) {
                executor.ready = ready;
            }
            let info = self.subscriber_ready_info(index);
            self.indicate::<bc::cid::SubscriberReadyStatus>(now, index, &info);
        }
        // Up: registration, then packet service.
        if registered {
            self.set_register_state(now, index, register_target);
        }
        if attach_target {
            self.set_packet_state(now, index, PacketServiceState::Attached);
        }
    }

    pub(crate) fn set_register_state(&mut self, now: Instant, index: usize, state: RegisterState) {
        let Some(executor) = self.executors.get_mut(index) else {
            return;
        };
        if executor.register_state == state {
            return;
        }
        executor.register_state = state;
        let info = self.registration_info(index);
        self.indicate::<bc::cid::RegisterState>(now, index, &info);
    }

    pub(crate) fn set_packet_state(
        &mut self,
        now: Instant,
        index: usize,
        state: PacketServiceState,
    ) {
        let Some(executor) = self.executors.get_mut(index) else {
            return;
        };
        if executor.packet_state == state {
            return;
        }
        executor.packet_state = state;
        let info = self.packet_service_info(index);
        self.indicate::<bc::cid::PacketService>(now, index, &info);
    }

    /// Tears down every context of `index` with a CONNECT indication each.
    pub(crate) fn deactivate_all(&mut self, now: Instant, index: usize) {
        let Some(executor) = self.executors.get_mut(index) else {
            return;
        };
        let contexts = std::mem::take(&mut executor.contexts);
        let had_any = !contexts.is_empty();
        for (session, context) in contexts {
            if let (Some(f), Ok(session)) = (self.functions.get_mut(index), u8::try_from(session)) {
                f.data.drop_session(session);
            }
            let info = bc::ConnectInfo {
                session_id: session,
                activation_state: ActivationState::Deactivated,
                voice_call_state: bc::VoiceCallState::None,
                ip_type: context.ip_type,
                context_type: context.context_type,
                nw_error: bc::NwError::None,
            };
            self.indicate::<bc::cid::Connect>(now, index, &info);
        }
        if had_any {
            self.link_notification(index, false);
        }
    }

    /// NETWORK_CONNECTION on the interrupt pipe when the first context comes
    /// up or the last goes down.
    /// CDC NCM's CONNECTION_SPEED_CHANGE follows a connect with the link's
    /// speeds (saturated to the notification's 32-bit fields).
    pub(crate) fn link_notification(&mut self, index: usize, connected: bool) {
        let speeds = self.executors.get(index).map_or((0, 0), |executor| {
            let network = &executor.config.network;
            (
                u32::try_from(network.downlink_speed).unwrap_or(u32::MAX),
                u32::try_from(network.uplink_speed).unwrap_or(u32::MAX),
            )
        });
        if let Some(f) = self.functions.get_mut(index) {
            if f.channel.is_open() {
                let interface = f.channel.comm_interface();
                f.channel.notify(Notification::NetworkConnection {
                    interface,
                    connected,
                });
                if connected {
                    f.channel.notify(Notification::ConnectionSpeedChange {
                        interface,
                        downlink: speeds.0,
                        uplink: speeds.1,
                    });
                }
            }
        }
    }

    pub(crate) fn home_provider(&self, index: usize) -> bc::Provider {
        let Some(executor) = self.executors.get(index) else {
            return bc::Provider::default();
        };
        if let Some(provider) = &executor.home_override {
            return provider.clone();
        }
        bc::Provider {
            provider_id: executor.config.network.provider_id.clone(),
            provider_state: bc::ProviderState::HOME,
            provider_name: executor.config.network.provider_name.clone(),
            cellular_class: bc::CellularClass::GSM,
            rssi: 99,
            error_rate: 99,
        }
    }

    pub(crate) fn subscriber_ready_info(&self, index: usize) -> bc::SubscriberReadyInfo {
        let ready = self.ready_state(index);
        let card = self.card(index);
        let (subscriber_id, sim_iccid, telephone_numbers) = match (ready, card) {
            (SubscriberReadyState::Initialized, Some(card)) => (
                card.config.imsi.clone(),
                card.config.iccid.clone(),
                card.config.telephone_numbers.clone(),
            ),
            (SubscriberReadyState::SimNotInserted, _) | (_, None) => {
                (String::new(), String::new(), Vec::new())
            }
            (_, Some(card)) => (String::new(), card.config.iccid.clone(), Vec::new()),
        };
        bc::SubscriberReadyInfo {
            ready_state: ready,
            subscriber_id,
            sim_iccid,
            ready_info: bc::ReadyInfoFlags::empty(),
            telephone_numbers,
        }
    }

    pub(crate) fn registration_info(&self, index: usize) -> bc::RegistrationStateInfo {
        let Some(executor) = self.executors.get(index) else {
            return bc::RegistrationStateInfo::default();
        };
        let registered = matches!(
            executor.register_state,
            RegisterState::Home | RegisterState::Roaming | RegisterState::Partner
        );
        let network = &executor.config.network;
        // Manual selection is offered: REGISTER_STATE set takes the home
        // network and the visible ones.
        let mut flags = bc::RegistrationFlags::empty();
        if network.auto_attach {
            flags |= bc::RegistrationFlags::PACKET_SERVICE_AUTOMATIC_ATTACH;
        }
        let (provider_id, provider_name) = match executor.manual_provider.as_deref() {
            Some(id) if id != network.provider_id => network
                .visible
                .iter()
                .find(|(visible, _)| visible == id)
                .map_or((id.to_owned(), String::new()), |(id, name)| {
                    (id.clone(), name.clone())
                }),
            _ => (network.provider_id.clone(), network.provider_name.clone()),
        };
        // An attach refused for its APN says why (3GPP TS 24.301: ESM
        // cause 27 in the attach reject).
        let attach_refused =
            executor.register_state == RegisterState::Denied && !executor.attach_taken();
        bc::RegistrationStateInfo {
            nw_error: if attach_refused {
                bc::NwError::MissingOrUnknownApn
            } else {
                bc::NwError::None
            },
            register_state: executor.register_state,
            register_mode: if executor.manual_provider.is_some() {
                bc::RegisterMode::Manual
            } else {
                bc::RegisterMode::Automatic
            },
            available_data_classes: if registered {
                self.class_in_use(index)
            } else {
                bc::DataClass::empty()
            },
            current_cellular_class: bc::CellularClass::GSM,
            provider_id: if registered {
                provider_id
            } else {
                String::new()
            },
            provider_name: if registered {
                provider_name
            } else {
                String::new()
            },
            roaming_text: String::new(),
            registration_flag: flags,
        }
    }

    pub(crate) fn packet_service_info(&self, index: usize) -> bc::PacketServiceInfo {
        let Some(executor) = self.executors.get(index) else {
            return bc::PacketServiceInfo::default();
        };
        let attached = executor.packet_state == PacketServiceState::Attached;
        let network = &executor.config.network;
        bc::PacketServiceInfo {
            nw_error: bc::NwError::None,
            packet_service_state: executor.packet_state,
            highest_available_data_class: if attached {
                self.class_in_use(index)
            } else {
                bc::DataClass::empty()
            },
            uplink_speed: if attached { network.uplink_speed } else { 0 },
            downlink_speed: if attached { network.downlink_speed } else { 0 },
        }
    }

    /// The network's protocol configuration options for an active session
    /// of `index`: its DNS servers when the scenario gives them there.
    pub(crate) fn session_pco(&self, index: usize, session: u32) -> Option<Vec<u8>> {
        let executor = self.executors.get(index)?;
        let context = executor.contexts.get(&session)?;
        if !executor.config.network.dns_in_pco {
            return None;
        }
        let (v4, v6) = ip_families(context.ip_type);
        let options = mbim_protocol::pco::SessionOptions {
            dns_ipv4: executor
                .ipv4
                .as_ref()
                .filter(|_| v4)
                .map(|c| c.dns.clone())
                .unwrap_or_default(),
            dns_ipv6: executor
                .ipv6
                .as_ref()
                .filter(|_| v6)
                .map(|c| c.dns.clone())
                .unwrap_or_default(),
            ..mbim_protocol::pco::SessionOptions::default()
        };
        Some(options.to_pco())
    }

    /// The IP configuration of an active session.
    pub(crate) fn ip_configuration(
        &self,
        index: usize,
        session: u32,
    ) -> Option<bc::IpConfigurationInfo> {
        let executor = self.executors.get(index)?;
        let context = executor.contexts.get(&session)?;
        let (v4, v6) = ip_families(context.ip_type);
        let mut info = bc::IpConfigurationInfo {
            session_id: session,
            ..bc::IpConfigurationInfo::default()
        };
        // Each session its own addresses and gateway (scenario.rs); DNS
        // here unless the network gives it in the PCO only.
        let dns_here = !executor.config.network.dns_in_pco;
        let ipv4 = executor.ipv4.as_ref().map(|c| c.for_session(session));
        let ipv6 = executor.ipv6.as_ref().map(|c| c.for_session(session));
        if let Some(config) = ipv4.as_ref().filter(|_| v4) {
            info.ipv4_configuration_available =
                bc::IpConfigurationAvailable::ADDRESS | bc::IpConfigurationAvailable::GATEWAY;
            info.ipv4_addresses = vec![bc::Ipv4Element {
                on_link_prefix_length: config.prefix,
                ipv4_address: config.address,
            }];
            info.ipv4_gateway = Some(config.gateway);
            if dns_here && !config.dns.is_empty() {
                info.ipv4_configuration_available |= bc::IpConfigurationAvailable::DNS;
                info.ipv4_dns_servers.clone_from(&config.dns);
            }
            if config.mtu != 0 {
                info.ipv4_configuration_available |= bc::IpConfigurationAvailable::MTU;
                info.ipv4_mtu = config.mtu;
            }
        }
        if let Some(config) = ipv6.as_ref().filter(|_| v6) {
            info.ipv6_configuration_available =
                bc::IpConfigurationAvailable::ADDRESS | bc::IpConfigurationAvailable::GATEWAY;
            info.ipv6_addresses = vec![bc::Ipv6Element {
                on_link_prefix_length: config.prefix,
                ipv6_address: config.address,
            }];
            info.ipv6_gateway = Some(config.gateway);
            if dns_here && !config.dns.is_empty() {
                info.ipv6_configuration_available |= bc::IpConfigurationAvailable::DNS;
                info.ipv6_dns_servers.clone_from(&config.dns);
            }
            if config.mtu != 0 {
                info.ipv6_configuration_available |= bc::IpConfigurationAvailable::MTU;
                info.ipv6_mtu = config.mtu;
            }
        }
        Some(info)
    }

    pub(crate) fn notify_ip_configuration(&mut self, now: Instant, index: usize) {
        let sessions: Vec<u32> = self
            .executors
            .get(index)
            .map(|executor| executor.contexts.keys().copied().collect())
            .unwrap_or_default();
        for session in sessions {
            if let Some(info) = self.ip_configuration(index, session) {
                self.indicate::<bc::cid::IpConfiguration>(now, index, &info);
            }
        }
    }

    pub(crate) fn notify_slot(&mut self, now: Instant, slot: u32) {
        let Some(state) = usize::try_from(slot)
            .ok()
            .and_then(|index| self.slots.get(index))
            .map(Slot::state)
        else {
            return;
        };
        let info = ms::SlotInfo {
            slot_index: slot,
            state,
        };
        // A slot's state is modem-wide (seed 004 lets modem-level
        // notifications come from any function): every open function hears it.
        for index in 0..self.functions.len() {
            self.indicate::<ms::cid::SlotInfoStatus>(now, index, &info);
        }
    }

    /// The executors mapped to `slot`.
    fn executors_on(&self, slot: u32) -> Vec<usize> {
        self.executors
            .iter()
            .enumerate()
            .filter(|(_, executor)| executor.slot == slot)
            .map(|(index, _)| index)
            .collect()
    }

    // ----- control -----

    /// Applies a control command.
    pub fn control(
        &mut self,
        now: Instant,
        command: ControlCommand,
    ) -> Result<ControlReply, ControlError> {
        if let ControlCommand::Replug = command {
            if !self.unplugged {
                return Err(ControlError::Invalid(
                    "the modem is plugged in; unplug it first".to_owned(),
                ));
            }
            // A modem pushed back in powers on afresh.
            *self = Modem::new(Arc::clone(&self.scenario), now)
                .map_err(|error| ControlError::Invalid(error.to_string()))?;
            return Ok(ControlReply::Ok);
        }
        if self.unplugged && !matches!(command, ControlCommand::Status) {
            return Err(ControlError::Unplugged);
        }
        self.handle_timeout(now);
        match command {
            ControlCommand::InsertSim { slot, card } => {
                card.validate().map_err(ControlError::Invalid)?;
                let entry = self.slot_mut(slot)?;
                if entry.card.is_some() {
                    return Err(ControlError::SlotOccupied(slot));
                }
                entry.card = Some(Card::new(card));
                self.notify_slot(now, slot);
                for index in self.executors_on(slot) {
                    self.refresh_executor(now, index);
                }
            }
            ControlCommand::RemoveSim { slot } => {
                let entry = self.slot_mut(slot)?;
                if entry.card.take().is_none() {
                    return Err(ControlError::SlotEmpty(slot));
                }
                self.notify_slot(now, slot);
                for index in self.executors_on(slot) {
                    self.refresh_executor(now, index);
                }
            }
            ControlCommand::BlockPin { slot } => {
                let entry = self.slot_mut(slot)?;
                let Some(card) = entry.card.as_mut() else {
                    return Err(ControlError::SlotEmpty(slot));
                };
                card.lock.block_pin();
                for index in self.executors_on(slot) {
                    self.refresh_executor(now, index);
                }
            }
            ControlCommand::LoseSignal { executor } => {
                self.executor_mut(executor)?.signal = false;
                self.refresh_executor(now, executor);
            }
            ControlCommand::RegainSignal { executor } => {
                let entry = self.executor_mut(executor)?;
                entry.signal = true;
                entry.packet_available = true;
                self.refresh_executor(now, executor);
            }
            ControlCommand::LosePacketService { executor } => {
                self.executor_mut(executor)?.packet_available = false;
                self.refresh_executor(now, executor);
            }
            ControlCommand::RegainPacketService { executor } => {
                self.executor_mut(executor)?.packet_available = true;
                self.refresh_executor(now, executor);
            }
            ControlCommand::SetIpConfig {
                executor,
                ipv4,
                ipv6,
            } => {
                let entry = self.executor_mut(executor)?;
                entry.ipv4 = ipv4;
                entry.ipv6 = ipv6;
                self.notify_ip_configuration(now, executor);
            }
            ControlCommand::SetDns {
                executor,
                ipv4_dns,
                ipv6_dns,
            } => {
                let entry = self.executor_mut(executor)?;
                if let Some(config) = &mut entry.ipv4 {
                    config.dns = ipv4_dns;
                }
                if let Some(config) = &mut entry.ipv6 {
                    config.dns = ipv6_dns;
                }
                self.notify_ip_configuration(now, executor);
            }
            ControlCommand::NextSlotMappingStatus { status } => {
                self.next_slot_mapping_fault = Some(status);
            }
            ControlCommand::Faults { function, fault } => {
                let f = self
                    .functions
                    .get_mut(function)
                    .ok_or(ControlError::NoSuchExecutor(function))?;
                match fault {
                    Fault::SendGarbageNtbs { count } => f.data.queue_garbage(count),
                    fault => f.channel.fault(&fault),
                }
                .map_err(ControlError::Invalid)?;
            }
            ControlCommand::Traffic { executor, settings } => {
                let gateways = self.gateways(executor);
                let session = u8::try_from(settings.session)
                    .map_err(|_| ControlError::Invalid("session must be below 256".to_owned()))?;
                let base = self
                    .executors
                    .get(executor)
                    .ok_or(ControlError::NoSuchExecutor(executor))?;
                // The generator may be set up before CONNECT: take the
                // configured gateways then.
                let gateway = gateways.get(&session).copied().unwrap_or(net::Gateway {
                    ipv4: base
                        .ipv4
                        .as_ref()
                        .map(|c| c.for_session(u32::from(session)).gateway),
                    ipv6: base
                        .ipv6
                        .as_ref()
                        .map(|c| c.for_session(u32::from(session)).gateway),
                    sink_port: None,
                });
                let traffic = if settings.sink_port.is_none() && settings.source.is_none() {
                    None
                } else {
                    Some(
                        Traffic::new(now, session, settings.sink_port, settings.source, &gateway)
                            .map_err(ControlError::Invalid)?,
                    )
                };
                let f = self
                    .functions
                    .get_mut(executor)
                    .ok_or(ControlError::NoSuchExecutor(executor))?;
                // Each session its own; the others' stay as they are.
                match traffic {
                    Some(traffic) => {
                        f.data.traffic.insert(session, traffic);
                    }
                    None => {
                        f.data.traffic.remove(&session);
                    }
                }
            }
            ControlCommand::MisreportSlot { slot, state } => {
                let state = match state {
                    None => None,
                    Some(name) => Some(UiccSlotState::from_name(&name).ok_or_else(|| {
                        ControlError::Invalid(format!("{name:?} is not a slot state"))
                    })?),
                };
                self.slot_mut(slot)?.misreport = state;
                self.notify_slot(now, slot);
            }
            ControlCommand::ResetDevice => self.reset_device(now)?,
            ControlCommand::Unplug => {
                self.unplugged = true;
            }
            // Handled above: it is the one command an unplugged modem takes.
            ControlCommand::Replug => {}
            ControlCommand::Status => {
                return Ok(ControlReply::Status {
                    status: self.status_report(),
                });
            }
        }
        Ok(ControlReply::Ok)
    }

    /// `reset-device`: the power-on state again, with what a reset leaves
    /// alone (the cards, PIN1's settings and attempts, the slot mapping).
    fn reset_device(&mut self, now: Instant) -> Result<(), ControlError> {
        let mut fresh = Modem::new(Arc::clone(&self.scenario), now)
            .map_err(|error| ControlError::Invalid(error.to_string()))?;
        for (slot, old) in fresh.slots.iter_mut().zip(std::mem::take(&mut self.slots)) {
            slot.card = old.card.map(|mut card| {
                card.lock.power_cycle();
                card
            });
        }
        for (executor, old) in fresh.executors.iter_mut().zip(&self.executors) {
            executor.slot = old.slot;
        }
        fresh.host_shutdowns = self.host_shutdowns;
        fresh.resets = self.resets.saturating_add(1);
        *self = fresh;
        // Settled on the cards and mapping it kept, silently: no function is open.
        for index in 0..self.executors.len() {
            self.refresh_executor(now, index);
        }
        Ok(())
    }

    fn slot_mut(&mut self, slot: u32) -> Result<&mut Slot, ControlError> {
        usize::try_from(slot)
            .ok()
            .and_then(|index| self.slots.get_mut(index))
            .ok_or(ControlError::NoSuchSlot(slot))
    }

    fn executor_mut(&mut self, executor: usize) -> Result<&mut Executor, ControlError> {
        self.executors
            .get_mut(executor)
            .ok_or(ControlError::NoSuchExecutor(executor))
    }

    /// The data-plane counters of `function`.
    pub fn data_counters(&self, function: usize) -> Option<data::DataCounters> {
        self.functions.get(function).map(|f| f.data.counters)
    }

    /// What the UDP sink of `session` on `function` counted (zero before
    /// its first datagram).
    pub fn sink_counters(&self, function: usize, session: u8) -> Option<data::SinkCounters> {
        let f = self.functions.get(function)?;
        Some(f.data.sinks.get(&session).copied().unwrap_or_default())
    }

    /// The `status` report: slots, executors, functions and their counters.
    pub fn status_report(&self) -> serde_json::Value {
        let slots: Vec<serde_json::Value> = self
            .slots
            .iter()
            .enumerate()
            .map(|(index, slot)| {
                serde_json::json!({
                    "slot": index,
                    "state": slot.state().name().unwrap_or("unknown"),
                    "card": slot.card.as_ref().map(|card| serde_json::json!({
                        "esim": card.config.esim,
                        "active_profile": card.config.active_profile,
                        "pin": card.lock.state(),
                        "pin_enabled": card.lock.enabled(),
                        "pin_attempts": card.lock.pin_attempts(),
                        "puk_attempts": card.lock.puk_attempts(),
                    })),
                })
            })
            .collect();
        let executors: Vec<serde_json::Value> = self
            .executors
            .iter()
            .enumerate()
            .map(|(index, executor)| {
                let function = self.functions.get(index);
                serde_json::json!({
                    "executor": index,
                    "slot": executor.slot,
                    "ready_state": executor.ready.name().unwrap_or("unknown"),
                    "radio_on": executor.radio_on,
                    "signal": executor.signal,
                    "register_state": executor.register_state.name().unwrap_or("unknown"),
                    "packet_service": executor.packet_state.name().unwrap_or("unknown"),
                    "sessions": executor.contexts.keys().collect::<Vec<_>>(),
                    "open": function.is_some_and(|f| f.channel.is_open()),
                    "control": function.map(|f| f.channel.counters),
                    "data": function.map(|f| f.data.counters),
                    "sinks": function.map(|f| &f.data.sinks),
                    "data_alt_setting": function.map(|f| f.data.alt_setting),
                    "ntb_format": function.map(|f| if f.data.format == NtbFormat::Ntb32 { "ntb32" } else { "ntb16" }),
                })
            })
            .collect();
        serde_json::json!({
            "name": self.scenario.name,
            "unplugged": self.unplugged,
            "host_shutdowns": self.host_shutdowns,
            "resets": self.resets,
            "slot_mapping": self.executors.iter().map(|executor| executor.slot).collect::<Vec<_>>(),
            "device_sets_queued": self.device_set_queue.len() + usize::from(self.device_set_running.is_some()),
            "slots": slots,
            "executors": executors,
        })
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
