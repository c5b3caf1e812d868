//! The function's USB side: class requests on the communication and data
//! interfaces, the control and interrupt pipes' queues, bulk OUT and IN,
//! the data interface's alternate setting, clear-halt and RESET_FUNCTION.
//!
//! Kept apart from the MBIM messages and the modem's state so that all a
//! USB transport ([`crate::device`], the USB/IP server, the in-process
//! tests) calls is in one place. Transfers check first that the modem is
//! plugged in and the endpoint not halted, then hand on what they carry.

use super::data;
use super::{EndpointError, Modem};
use mbim_protocol::ntb::NtbFormat;
use mbim_protocol::usb::{ClassRequest, Notification, NtbInputSize, SetupPacket};
use std::time::Instant;

impl Modem {
    fn check(&self, function: usize) -> Result<(), EndpointError> {
        if self.unplugged {
            return Err(EndpointError::Unplugged);
        }
        if function >= self.functions.len() {
            return Err(EndpointError::Stall);
        }
        Ok(())
    }

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
}
