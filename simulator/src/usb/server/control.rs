//! Endpoint 0: the standard requests (USB 2.0 chapter 9) the device
//! answers itself, and the class requests it hands to the MBIM function
//! the request's interface belongs to.

use super::{Session, SessionEnd, SimUsbDevice};
use crate::control::Endpoint;
use crate::device::EndpointError;
use crate::usb::descriptors::{CONFIGURATION_VALUE, DT_CONFIGURATION, DT_DEVICE, DT_STRING};
use crate::usb::usbip::{errno, CmdSubmit, Direction};
use mbim_protocol::usb::SetupPacket;
use tracing::{debug, info};

/// Standard request codes (USB 2.0 Table 9-4).
mod request {
    pub(super) const GET_STATUS: u8 = 0x00;
    pub(super) const CLEAR_FEATURE: u8 = 0x01;
    pub(super) const SET_FEATURE: u8 = 0x03;
    pub(super) const SET_ADDRESS: u8 = 0x05;
    pub(super) const GET_DESCRIPTOR: u8 = 0x06;
    pub(super) const GET_CONFIGURATION: u8 = 0x08;
    pub(super) const SET_CONFIGURATION: u8 = 0x09;
    pub(super) const GET_INTERFACE: u8 = 0x0A;
    pub(super) const SET_INTERFACE: u8 = 0x0B;
}

/// Feature selector ENDPOINT_HALT.
const ENDPOINT_HALT: u16 = 0;

impl SimUsbDevice {
    /// A control transfer on endpoint 0.
    pub(super) fn control(&self, session: &Session, cmd: &CmdSubmit, data: &[u8]) {
        let Some(setup) = SetupPacket::parse(&cmd.setup) else {
            session.complete(cmd.seqnum, -errno::EPIPE, &[]);
            return;
        };
        let result = match (setup.request_type >> 5) & 0x03 {
            0 => self.standard_request(session, &setup),
            1 => self.class_request(session, &setup, data),
            _ => Err(Refusal::Stall),
        };
        match result {
            Ok(reply) => {
                debug!(
                    seqnum = cmd.seqnum,
                    request_type = setup.request_type,
                    request = setup.request,
                    value = setup.value,
                    index = setup.index,
                    reply_len = reply.len(),
                    "control"
                );
                if cmd.direction == Direction::In {
                    let limit = usize::from(setup.length).min(cmd.in_len());
                    session.complete(cmd.seqnum, 0, reply.get(..limit).unwrap_or(&reply));
                } else {
                    session.complete_out(cmd.seqnum, 0, data.len());
                }
            }
            Err(Refusal::Stall) => {
                debug!(
                    seqnum = cmd.seqnum,
                    request_type = setup.request_type,
                    request = setup.request,
                    value = setup.value,
                    index = setup.index,
                    "control request stalled"
                );
                session.complete(cmd.seqnum, -errno::EPIPE, &[]);
            }
            Err(Refusal::Unanswered) => {
                debug!(seqnum = cmd.seqnum, "control request left unanswered");
                session.hold_unanswered(cmd.seqnum);
            }
        }
    }

    /// A real device's halted endpoint works again once the host clears it;
    /// so does the simulated function's (its `stall-endpoint` fault).
    fn clear_function_halt(&self, address: u8) {
        let Some(layout) = self.descriptors.function_of_endpoint(address) else {
            return;
        };
        let endpoint = if address == layout.bulk_in_endpoint {
            Endpoint::BulkIn
        } else if address == layout.bulk_out_endpoint {
            Endpoint::BulkOut
        } else {
            Endpoint::Interrupt
        };
        if let Some(function) = self.functions.get(layout.index) {
            function.clear_halt(endpoint);
        }
    }

    fn standard_request(&self, session: &Session, setup: &SetupPacket) -> Result<Vec<u8>, Refusal> {
        let recipient = setup.request_type & 0x1F;
        let [index_low, _] = setup.index.to_le_bytes();
        let [descriptor_index, descriptor_type] = setup.value.to_le_bytes();
        match setup.request {
            request::GET_STATUS => match recipient {
                // Endpoint: bit 0 is Halt.
                2 => Ok(vec![u8::from(session.is_halted(index_low)), 0]),
                // Device (bus-powered, no remote wakeup) and interfaces: all zero.
                _ => Ok(vec![0, 0]),
            },
            request::CLEAR_FEATURE | request::SET_FEATURE => {
                if recipient == 2 && setup.value == ENDPOINT_HALT {
                    if setup.request == request::SET_FEATURE {
                        session.halt(index_low);
                    } else {
                        session.clear_halt(index_low);
                        self.clear_function_halt(index_low);
                    }
                }
                Ok(Vec::new())
            }
            // vhci-hcd assigns addresses itself; accept one if it is forwarded.
            request::SET_ADDRESS => Ok(Vec::new()),
            request::GET_DESCRIPTOR => match descriptor_type {
                DT_DEVICE => Ok(self.descriptors.device().to_vec()),
                DT_CONFIGURATION if descriptor_index == 0 => {
                    Ok(self.descriptors.configuration().to_vec())
                }
                DT_STRING => self
                    .descriptors
                    .string(descriptor_index)
                    .ok_or(Refusal::Stall),
                // Device qualifier, BOS, …: a high-speed-only USB 2.0 device has none.
                _ => Err(Refusal::Stall),
            },
            request::GET_CONFIGURATION => Ok(vec![session.configuration()]),
            request::SET_CONFIGURATION => {
                let value = u8::try_from(setup.value).map_err(|_| Refusal::Stall)?;
                if value != 0 && value != CONFIGURATION_VALUE {
                    return Err(Refusal::Stall);
                }
                info!(configuration = value, "SET_CONFIGURATION");
                session.set_configuration(value);
                // MBIM's RESET_FUNCTION is defined as "back to the state after
                // SET_CONFIGURATION", so a (re)configuration resets every function.
                for function in &self.functions {
                    function.set_data_alt_setting(0);
                    function.reset();
                }
                Ok(Vec::new())
            }
            request::GET_INTERFACE => {
                let layout = self
                    .descriptors
                    .function_of_interface(index_low)
                    .ok_or(Refusal::Stall)?;
                if index_low == layout.data_interface {
                    Ok(vec![session.data_alt(layout.index)])
                } else {
                    Ok(vec![0])
                }
            }
            request::SET_INTERFACE => {
                let layout = *self
                    .descriptors
                    .function_of_interface(index_low)
                    .ok_or(Refusal::Stall)?;
                let alt = u8::try_from(setup.value).map_err(|_| Refusal::Stall)?;
                if index_low == layout.comm_interface {
                    return if alt == 0 {
                        Ok(Vec::new())
                    } else {
                        Err(Refusal::Stall)
                    };
                }
                if alt > 1 {
                    return Err(Refusal::Stall);
                }
                info!(
                    function = layout.index,
                    interface = index_low,
                    alt,
                    "SET_INTERFACE"
                );
                session.set_data_alt(&layout, alt);
                if let Some(function) = self.functions.get(layout.index) {
                    function.set_data_alt_setting(alt);
                }
                Ok(Vec::new())
            }
            _ => Err(Refusal::Stall),
        }
    }

    fn class_request(
        &self,
        session: &Session,
        setup: &SetupPacket,
        data: &[u8],
    ) -> Result<Vec<u8>, Refusal> {
        // Class requests of an MBIM function go to an interface (recipient 1).
        if setup.request_type & 0x1F != 1 {
            return Err(Refusal::Stall);
        }
        let [interface, _] = setup.index.to_le_bytes();
        let layout = self
            .descriptors
            .function_of_interface(interface)
            .ok_or(Refusal::Stall)?;
        let function = self.functions.get(layout.index).ok_or(Refusal::Stall)?;
        match function.class_request(*setup, data) {
            Ok(reply) => Ok(reply),
            Err(EndpointError::Stall) => Err(Refusal::Stall),
            Err(EndpointError::Unanswered) => Err(Refusal::Unanswered),
            Err(EndpointError::Unplugged) => {
                session.end(SessionEnd::Unplugged);
                Err(Refusal::Stall)
            }
        }
    }
}
/// A control request the device does not complete normally.
enum Refusal {
    /// Answered with STALL (`-EPIPE`).
    Stall,
    /// Not answered at all (`hang-control`): the URB stays pending until the
    /// host unlinks it.
    Unanswered,
}
