//! The faults the soak injects, one per cycle, in turn: each says how it is
//! injected, when it counts as over (the moment recovery time is measured
//! from), and what recovered means beyond "every executor connected and
//! everything consistent".

use crate::soak::Soak;
use mbim_sim::control::{ControlCommand, Endpoint, Fault as SimFault, SlotMappingFault};
use std::time::{Duration, Instant};

/// One kind of fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// The modem is pulled out and pushed back in.
    UnplugReplug,
    /// The SIM of the active slot is taken out and put back.
    SimRemoveInsert,
    /// The network goes away and comes back.
    SignalLoseRegain,
    /// Packet service goes away and comes back.
    PacketServiceLoseRegain,
    /// D-Bus SwitchToSlot to the other slot.
    SlotSwitch,
    /// SwitchToSlot whose DEVICE_SLOT_MAPPINGS set is answered BUSY first.
    BusySlotSwitch,
    /// The answer to the next command has a broken MessageLength (it reads
    /// as a truncated message), during a D-Bus Disconnect and Connect.
    CorruptResponse,
    /// Bytes that are no MBIM message arrive as a response, during a
    /// Disconnect and Connect.
    GarbageResponse,
    /// The notification endpoint stalls for a second.
    StallInterrupt,
    /// Bulk IN stalls for a second.
    StallBulkIn,
    /// Bulk OUT stalls for a second.
    StallBulkOut,
    /// Blocks that are no NTB arrive on bulk IN.
    GarbageNtbs,
    /// The device stops answering control transfers for good: only a restart
    /// of mbimd (its watchdog, then systemd) recovers that.
    HangControl,
}

/// Every fault, in the order cycles take them.
pub(crate) const FAULTS: [Fault; 13] = [
    Fault::SignalLoseRegain,
    Fault::CorruptResponse,
    Fault::SimRemoveInsert,
    Fault::StallBulkIn,
    Fault::SlotSwitch,
    Fault::GarbageNtbs,
    Fault::PacketServiceLoseRegain,
    Fault::GarbageResponse,
    Fault::UnplugReplug,
    Fault::StallInterrupt,
    Fault::BusySlotSwitch,
    Fault::StallBulkOut,
    Fault::HangControl,
];

/// What an injected fault asks of the recovery.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Injected {
    /// When the fault was over (its second half, or the single shot).
    pub(crate) cleared: Instant,
    /// The slot the executor must be on afterwards, if it matters.
    pub(crate) slot: Option<i32>,
    /// Whether only a restart can recover it.
    pub(crate) needs_restart: bool,
}

/// How long a fault's first half is waited for to show on D-Bus.
const SHOW_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a stall lasts.
const STALL: Duration = Duration::from_secs(1);

impl Fault {
    /// Its name in the report.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Fault::UnplugReplug => "unplug-replug",
            Fault::SimRemoveInsert => "sim-remove-insert",
            Fault::SignalLoseRegain => "signal-lose-regain",
            Fault::PacketServiceLoseRegain => "packet-service-lose-regain",
            Fault::SlotSwitch => "slot-switch",
            Fault::BusySlotSwitch => "busy-slot-switch",
            Fault::CorruptResponse => "corrupt-response",
            Fault::GarbageResponse => "garbage-response",
            Fault::StallInterrupt => "stall-interrupt",
            Fault::StallBulkIn => "stall-bulk-in",
            Fault::StallBulkOut => "stall-bulk-out",
            Fault::GarbageNtbs => "garbage-ntbs",
            Fault::HangControl => "hang-control",
        }
    }

    /// The fault called `name`.
    pub(crate) fn by_name(name: &str) -> Option<Fault> {
        FAULTS.into_iter().find(|fault| fault.name() == name)
    }

    /// Injects the fault into the running daemon's modem.
    pub(crate) async fn inject(self, soak: &mut Soak) -> anyhow::Result<Injected> {
        let done = |slot| Injected {
            cleared: Instant::now(),
            slot,
            needs_restart: false,
        };
        let function = 0;
        let faults = |fault| ControlCommand::Faults { function, fault };
        match self {
            Fault::UnplugReplug => {
                soak.ctl(ControlCommand::Unplug).await?;
                soak.wait_views("the modem gone from D-Bus", SHOW_TIMEOUT, |views| {
                    views.is_empty()
                })
                .await?;
                soak.ctl(ControlCommand::Replug).await?;
                Ok(done(None))
            }
            Fault::SimRemoveInsert => {
                let slot = soak.active_slot().await?;
                let slot_number = u32::try_from(slot)?;
                soak.ctl(ControlCommand::RemoveSim { slot: slot_number })
                    .await?;
                soak.wait_down("the SIM removal").await?;
                let card = soak.card(slot_number)?;
                soak.ctl(ControlCommand::InsertSim {
                    slot: slot_number,
                    card,
                })
                .await?;
                Ok(done(Some(slot)))
            }
            Fault::SignalLoseRegain => {
                soak.ctl(ControlCommand::LoseSignal { executor: 0 }).await?;
                soak.wait_down("the signal loss").await?;
                soak.ctl(ControlCommand::RegainSignal { executor: 0 })
                    .await?;
                Ok(done(None))
            }
            Fault::PacketServiceLoseRegain => {
                soak.ctl(ControlCommand::LosePacketService { executor: 0 })
                    .await?;
                soak.wait_down("the packet service loss").await?;
                soak.ctl(ControlCommand::RegainPacketService { executor: 0 })
                    .await?;
                Ok(done(None))
            }
            Fault::SlotSwitch | Fault::BusySlotSwitch => {
                let other = 1 - soak.active_slot().await?;
                if self == Fault::BusySlotSwitch {
                    soak.ctl(ControlCommand::NextSlotMappingStatus {
                        status: SlotMappingFault::Busy,
                    })
                    .await?;
                }
                let cleared = Instant::now();
                soak.switch_to_slot(u32::try_from(other)?).await?;
                Ok(Injected {
                    cleared,
                    slot: Some(other),
                    needs_restart: false,
                })
            }
            Fault::CorruptResponse | Fault::GarbageResponse => {
                let fault = if self == Fault::CorruptResponse {
                    SimFault::CorruptNextResponse
                } else {
                    SimFault::SendGarbage {
                        hex: None,
                        len: Some(64),
                    }
                };
                soak.ctl(faults(fault)).await?;
                let cleared = Instant::now();
                // Something must be asked for the answer to be broken.
                soak.disconnect_and_connect().await?;
                Ok(Injected {
                    cleared,
                    slot: None,
                    needs_restart: false,
                })
            }
            Fault::StallInterrupt | Fault::StallBulkIn | Fault::StallBulkOut => {
                let endpoint = match self {
                    Fault::StallInterrupt => Endpoint::Interrupt,
                    Fault::StallBulkIn => Endpoint::BulkIn,
                    _ => Endpoint::BulkOut,
                };
                soak.ctl(faults(SimFault::StallEndpoint { endpoint }))
                    .await?;
                tokio::time::sleep(STALL).await;
                soak.ctl(faults(SimFault::ClearStall)).await?;
                Ok(done(None))
            }
            Fault::GarbageNtbs => {
                soak.ctl(faults(SimFault::SendGarbageNtbs { count: 8 }))
                    .await?;
                Ok(done(None))
            }
            Fault::HangControl => {
                soak.ctl(faults(SimFault::HangControl)).await?;
                // The next control transfer never returns: make one happen.
                soak.ctl(ControlCommand::LoseSignal { executor: 0 }).await?;
                Ok(Injected {
                    cleared: Instant::now(),
                    slot: None,
                    needs_restart: true,
                })
            }
        }
    }
}
