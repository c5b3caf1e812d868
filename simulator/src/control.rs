//! Run-time control of a simulated modem: SIM insertion and removal, signal
//! loss, faults, traffic, and a status report.
//!
//! Commands are JSON-friendly (`{"command": "remove-sim", "slot": 0}`) so the
//! control socket carries them as they are and tests can write them inline.

use crate::scenario::CardConfig;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One control command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "kebab-case")]
pub enum ControlCommand {
    /// Puts a card into an empty slot.
    InsertSim {
        /// The slot.
        slot: u32,
        /// The card.
        #[serde(default)]
        card: CardConfig,
    },
    /// Takes the card out of a slot.
    RemoveSim {
        /// The slot.
        slot: u32,
    },
    /// Blocks PIN1 of the card in a slot (as if three wrong PINs were entered).
    BlockPin {
        /// The slot.
        slot: u32,
    },
    /// The executor loses the network: CONNECT Deactivated, PACKET_SERVICE
    /// Detached, REGISTER_STATE Deregistered, in that order (seed 000).
    LoseSignal {
        /// The executor.
        executor: usize,
    },
    /// The executor finds the network again: registered, attached (if
    /// auto-attach or the host attached), contexts stay down.
    RegainSignal {
        /// The executor.
        executor: usize,
    },
    /// The executor loses packet service only: CONNECT Deactivated, then
    /// PACKET_SERVICE Detached.
    LosePacketService {
        /// The executor.
        executor: usize,
    },
    /// Packet service comes back (attached again if it should be).
    RegainPacketService {
        /// The executor.
        executor: usize,
    },
    /// Replaces the IP configuration handed out; active sessions get an
    /// IP_CONFIGURATION notification.
    SetIpConfig {
        /// The executor.
        executor: usize,
        /// New IPv4 configuration (`null`: none).
        #[serde(default)]
        ipv4: Option<crate::scenario::Ipv4Config>,
        /// New IPv6 configuration (`null`: none).
        #[serde(default)]
        ipv6: Option<crate::scenario::Ipv6Config>,
    },
    /// Changes the DNS servers only; active sessions get an IP_CONFIGURATION
    /// notification that still carries the earlier addresses (seed 000).
    SetDns {
        /// The executor.
        executor: usize,
        /// IPv4 DNS servers.
        #[serde(default)]
        ipv4_dns: Vec<Ipv4Addr>,
        /// IPv6 DNS servers.
        #[serde(default)]
        ipv6_dns: Vec<Ipv6Addr>,
    },
    /// The status the next DEVICE_SLOT_MAPPINGS set fails with.
    NextSlotMappingStatus {
        /// The status.
        status: SlotMappingFault,
    },
    /// A fault on one function's channels.
    Faults {
        /// The function (executor index).
        function: usize,
        /// The fault.
        fault: Fault,
    },
    /// Starts, changes or stops the traffic generator of an executor.
    Traffic {
        /// The executor.
        executor: usize,
        /// The traffic settings.
        #[serde(flatten)]
        settings: TrafficSettings,
    },
    /// Reports a slot in a state other than its real one (issue 5's
    /// ValidateSlotInfoState negative test); `null` stops misreporting.
    MisreportSlot {
        /// The slot.
        slot: u32,
        /// The state reported instead (MBIM_MS_UICC_SLOT_STATE nickname,
        /// e.g. `active`, `empty`, `off-empty`).
        state: Option<String>,
    },
    /// Resets the modem as a USB reset or a power loss while the host slept
    /// would: every function loses its session, contexts, subscriptions and
    /// data setting, radios and registration start over, and the cards are
    /// power-cycled (a card with PIN1 enabled asks for it again). What
    /// outlives it: the cards in the slots, PIN1's settings and attempts,
    /// and the slot mapping. The host learns of it when its next command
    /// gets NOT_OPENED.
    ResetDevice,
    /// Unplugs the modem: every endpoint fails from now on.
    Unplug,
    /// Plugs an unplugged modem in again: it comes back in its power-on
    /// state (functions closed, contexts down, the scenario's cards), as a
    /// modem pulled out and pushed back in does.
    Replug,
    /// Reports the modem's state and counters.
    Status,
}

/// What the next DEVICE_SLOT_MAPPINGS set fails with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SlotMappingFault {
    /// MBIM_STATUS_BUSY.
    Busy,
    /// MBIM_STATUS_VOICE_CALL_IN_PROGRESS.
    VoiceCallInProgress,
}

/// A fault on a function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Fault {
    /// The next response (OPEN_DONE, CLOSE_DONE, COMMAND_DONE or
    /// FUNCTION_ERROR) is never sent.
    DropNextResponse,
    /// The next response is held back this long.
    DelayNextResponse {
        /// Milliseconds.
        ms: u64,
    },
    /// The next response is split into fragments of at most this size
    /// (at least 64 bytes, whatever is asked).
    FragmentNextResponse {
        /// Bytes per fragment.
        max_fragment: usize,
    },
    /// The next response goes out with a broken MessageLength.
    CorruptNextResponse,
    /// Queues bytes that are no MBIM message as a response.
    SendGarbage {
        /// The bytes, as hex (whitespace allowed).
        #[serde(default)]
        hex: Option<String>,
        /// Or this many pseudo-random bytes.
        #[serde(default)]
        len: Option<usize>,
    },
    /// An endpoint stalls until `clear-stall`.
    StallEndpoint {
        /// Which.
        endpoint: Endpoint,
    },
    /// The function's control transfers go unanswered (EP0 silent, as a
    /// wedged firmware's) until `clear-stall`: over USB/IP the URB stays
    /// pending until the host unlinks it (its own timeout); in process the
    /// call never returns, as with a transport that has no timeout.
    HangControl,
    /// Every stall of the function clears, and its control transfers are
    /// answered again.
    ClearStall,
    /// Queues NTBs that are no NTB (pseudo-random bytes, some with a valid
    /// signature and broken lengths) on bulk IN, ahead of real traffic.
    SendGarbageNtbs {
        /// How many blocks.
        #[serde(default = "default_garbage_ntbs")]
        count: usize,
    },
}

/// An endpoint of a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Endpoint {
    /// The notification endpoint.
    Interrupt,
    /// Bulk IN (NTBs to the host).
    BulkIn,
    /// Bulk OUT (NTBs from the host).
    BulkOut,
}

/// Traffic generator settings.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrafficSettings {
    /// The IP session whose context carries the traffic.
    #[serde(default)]
    pub session: u32,
    /// UDP datagrams to this port on the gateway are counted and dropped.
    #[serde(default)]
    pub sink_port: Option<u16>,
    /// Where generated datagrams go (`None`: no generation).
    #[serde(default)]
    pub source: Option<TrafficSource>,
}

/// UDP generation towards the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrafficSource {
    /// Destination address (the host's; IPv4 or IPv6).
    pub address: IpAddr,
    /// Destination port.
    pub port: u16,
    /// Source port on the gateway.
    #[serde(default = "default_source_port")]
    pub source_port: u16,
    /// Datagrams per second (0: as fast as the host reads).
    pub rate: u64,
    /// UDP payload bytes per datagram.
    pub size: usize,
}

fn default_garbage_ntbs() -> usize {
    4
}

fn default_source_port() -> u16 {
    9
}

/// The answer to a control command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "kebab-case")]
pub enum ControlReply {
    /// Done.
    Ok,
    /// The `status` report.
    Status {
        /// The modem's state and counters.
        status: serde_json::Value,
    },
}

/// Why a control command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    /// No executor/function with this index.
    #[error("no executor {0}")]
    NoSuchExecutor(usize),
    /// No slot with this index.
    #[error("no slot {0}")]
    NoSuchSlot(u32),
    /// `insert-sim` into a slot that holds a card.
    #[error("slot {0} already holds a card")]
    SlotOccupied(u32),
    /// The slot holds no card.
    #[error("slot {0} holds no card")]
    SlotEmpty(u32),
    /// A card, address or state that cannot be used.
    #[error("invalid argument: {0}")]
    Invalid(String),
    /// The modem is unplugged.
    #[error("the modem is unplugged")]
    Unplugged,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_read_as_json() {
        let command: ControlCommand =
            serde_json::from_str(r#"{"command":"remove-sim","slot":0}"#).unwrap();
        assert_eq!(command, ControlCommand::RemoveSim { slot: 0 });
        let command: ControlCommand = serde_json::from_str(
            r#"{"command":"faults","function":1,"fault":{"kind":"delay-next-response","ms":20}}"#,
        )
        .unwrap();
        assert_eq!(
            command,
            ControlCommand::Faults {
                function: 1,
                fault: Fault::DelayNextResponse { ms: 20 }
            }
        );
        let command: ControlCommand = serde_json::from_str(
            r#"{"command":"traffic","executor":0,"sink_port":5001,"source":{"address":"10.64.0.2","port":5002,"rate":1000,"size":1000}}"#,
        )
        .unwrap();
        assert!(matches!(
            command,
            ControlCommand::Traffic { executor: 0, .. }
        ));
        let command: ControlCommand = serde_json::from_str(
            r#"{"command":"next-slot-mapping-status","status":"voice-call-in-progress"}"#,
        )
        .unwrap();
        assert_eq!(
            command,
            ControlCommand::NextSlotMappingStatus {
                status: SlotMappingFault::VoiceCallInProgress
            }
        );
        let text = serde_json::to_string(&ControlCommand::Unplug).unwrap();
        assert_eq!(text, r#"{"command":"unplug"}"#);
        let text = serde_json::to_string(&ControlCommand::Replug).unwrap();
        assert_eq!(text, r#"{"command":"replug"}"#);
        let command: ControlCommand = serde_json::from_str(
            r#"{"command":"faults","function":0,"fault":{"kind":"send-garbage-ntbs"}}"#,
        )
        .unwrap();
        assert_eq!(
            command,
            ControlCommand::Faults {
                function: 0,
                fault: Fault::SendGarbageNtbs { count: 4 }
            }
        );
    }
}
