//! One handler per CID: Basic Connect and the multi-SIM CIDs of Microsoft's
//! Basic Connect Extensions. Anything else answers NO_DEVICE_SUPPORT.
//!
//! This file holds the dispatch (by service, then Basic Connect's CIDs by
//! group) and the helpers every handler uses; each group of CIDs has a file
//! of its own: `device` (the device's capabilities, services, statistics,
//! idle hint and emergency mode), `subscriber` (SIM and PIN), `radio`
//! (radio and registration), `connection` (packet service and sessions),
//! `provisioning` (providers, provisioned contexts, packet filters),
//! `ms_extensions` (Microsoft's Basic Connect Extensions) and `device_wide`
//! (device-wide SETs one at a time, and the slot mapping).

mod connection;
mod device;
mod device_wide;
mod ms_extensions;
mod provisioning;
mod radio;
mod subscriber;

use super::{Modem, Outcome};
use mbim_protocol::mbimex::MbimExVersion;
use mbim_protocol::message::CommandHead;
use mbim_protocol::services::basic_connect as bc;
use mbim_protocol::services::ms_basic_connect_extensions as ms;
use mbim_protocol::services::ms_host_shutdown as host_shutdown;
use mbim_protocol::services::Cid;
use mbim_protocol::status::{CommandType, Status};
use mbim_protocol::Payload;
use std::time::Instant;

/// CIDs of Basic Connect this modem implements (all declared but SERVICE_ACTIVATION).
const BASIC_CONNECT_CIDS: &[u32] = &[
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15, 16, 19, 20, 21, 22, 23, 24,
];

pub(super) fn reply<P: Payload>(status: Status, payload: &P) -> Outcome {
    Outcome::Reply(status, payload.encode())
}

pub(super) fn status_only(status: Status) -> Outcome {
    Outcome::Reply(status, Vec::new())
}

fn first_u32(data: &[u8]) -> u32 {
    data.get(..4)
        .and_then(|bytes| <[u8; 4]>::try_from(bytes).ok())
        .map_or(0, u32::from_le_bytes)
}

impl Modem {
    /// A whole COMMAND from the host.
    pub(crate) fn dispatch(
        &mut self,
        now: Instant,
        function: usize,
        transaction_id: u32,
        head: CommandHead,
        data: Vec<u8>,
    ) {
        if let Some(f) = self.functions.get_mut(function) {
            f.channel.counters.commands = f.channel.counters.commands.saturating_add(1);
        }
        let version = self
            .functions
            .get(function)
            .map_or(MbimExVersion::V1, |f| f.mbimex);
        let data = super::layouts::incoming(version, &head, data);
        let outcome = if head.service == bc::SERVICE.uuid {
            self.basic_connect(now, function, transaction_id, &head, &data)
        } else if head.service == ms::SERVICE.uuid {
            self.ms_extensions(now, function, transaction_id, &head, &data)
        } else if head.service == host_shutdown::SERVICE.uuid && self.scenario.modem.host_shutdown {
            self.host_shutdown(&head)
        } else if let Some(outcome) = self.fcc_service(now, function, &head, &data) {
            outcome
        } else {
            status_only(Status::NoDeviceSupport)
        };
        if let Outcome::Reply(status, buffer) = outcome {
            self.command_done(
                now,
                function,
                transaction_id,
                head.service,
                head.cid,
                status,
                buffer,
            );
        }
    }

    /// Basic Connect: each CID to the handlers of its group.
    fn basic_connect(
        &mut self,
        now: Instant,
        index: usize,
        transaction_id: u32,
        head: &CommandHead,
        data: &[u8],
    ) -> Outcome {
        match head.cid {
            bc::cid::DeviceCaps::ID
            | bc::cid::DeviceServices::ID
            | bc::cid::DeviceServiceSubscribeList::ID
            | bc::cid::PacketStatistics::ID
            | bc::cid::NetworkIdleHint::ID
            | bc::cid::EmergencyMode::ID => {
                self.device_cids(now, index, transaction_id, head, data)
            }
            bc::cid::SubscriberReadyStatus::ID | bc::cid::Pin::ID | bc::cid::PinList::ID => {
                self.subscriber_cids(now, index, transaction_id, head, data)
            }
            bc::cid::RadioState::ID
            | bc::cid::VisibleProviders::ID
            | bc::cid::RegisterState::ID
            | bc::cid::SignalState::ID => self.radio_cids(now, index, head, data),
            bc::cid::PacketService::ID | bc::cid::Connect::ID | bc::cid::IpConfiguration::ID => {
                self.connection_cids(now, index, head, data)
            }
            bc::cid::HomeProvider::ID
            | bc::cid::PreferredProviders::ID
            | bc::cid::MulticarrierProviders::ID
            | bc::cid::ProvisionedContexts::ID
            | bc::cid::IpPacketFilters::ID => self.provisioning_cids(index, head, data),
            _ => status_only(Status::NoDeviceSupport),
        }
    }

    /// MS_HOST_SHUTDOWN: counted (the tests read it in `status`), then
    /// answered; nothing else changes, the host closes the sessions itself.
    fn host_shutdown(&mut self, head: &CommandHead) -> Outcome {
        match (head.cid, head.command_type) {
            (host_shutdown::cid::HostShutdown::ID, CommandType::Set) => {
                self.host_shutdowns = self.host_shutdowns.saturating_add(1);
                status_only(Status::Success)
            }
            _ => status_only(Status::NoDeviceSupport),
        }
    }
}
