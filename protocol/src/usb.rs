//! The USB side of an MBIM function: setup packets, the CDC/NCM class requests
//! MBIM uses, and the notifications of the interrupt endpoint.
//!
//! MBIM 1.0 §6 carries control messages in CDC's SEND_ENCAPSULATED_COMMAND /
//! GET_ENCAPSULATED_RESPONSE and announces a waiting response with a
//! RESPONSE_AVAILABLE notification; the NTB requests come from CDC NCM 1.0 §6.2.
//! Host, simulator and USB/IP server all speak through these types.

use crate::codec::Cursor;
use crate::mbim_enum;

/// bmRequestType of a class request to an interface, host to device.
pub const REQUEST_TYPE_CLASS_INTERFACE_OUT: u8 = 0x21;
/// bmRequestType of a class request to an interface, device to host.
pub const REQUEST_TYPE_CLASS_INTERFACE_IN: u8 = 0xA1;

mbim_enum! {
    /// bRequest codes of the CDC and NCM class requests an MBIM function answers.
    pub enum ClassRequest {
        /// SEND_ENCAPSULATED_COMMAND: an MBIM control message, host to device.
        SendEncapsulatedCommand = 0x00 => "send-encapsulated-command",
        /// GET_ENCAPSULATED_RESPONSE: the next MBIM control message, device to host.
        GetEncapsulatedResponse = 0x01 => "get-encapsulated-response",
        /// RESET_FUNCTION: back to the state after SET_CONFIGURATION.
        ResetFunction = 0x05 => "reset-function",
        /// GET_NTB_PARAMETERS: the 28-byte NTB parameter block.
        GetNtbParameters = 0x80 => "get-ntb-parameters",
        /// GET_NET_ADDRESS (NCM only).
        GetNetAddress = 0x81 => "get-net-address",
        /// SET_NET_ADDRESS (NCM only).
        SetNetAddress = 0x82 => "set-net-address",
        /// GET_NTB_FORMAT: 0 = NTB16, 1 = NTB32.
        GetNtbFormat = 0x83 => "get-ntb-format",
        /// SET_NTB_FORMAT.
        SetNtbFormat = 0x84 => "set-ntb-format",
        /// GET_NTB_INPUT_SIZE.
        GetNtbInputSize = 0x85 => "get-ntb-input-size",
        /// SET_NTB_INPUT_SIZE: the largest NTB the host accepts on bulk IN.
        SetNtbInputSize = 0x86 => "set-ntb-input-size",
        /// GET_MAX_DATAGRAM_SIZE.
        GetMaxDatagramSize = 0x87 => "get-max-datagram-size",
        /// SET_MAX_DATAGRAM_SIZE.
        SetMaxDatagramSize = 0x88 => "set-max-datagram-size",
        /// GET_CRC_MODE.
        GetCrcMode = 0x89 => "get-crc-mode",
        /// SET_CRC_MODE.
        SetCrcMode = 0x8A => "set-crc-mode",
    }
}

/// The 8-byte setup packet of a control transfer (USB 2.0 §9.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SetupPacket {
    /// Direction, type and recipient.
    pub request_type: u8,
    /// The request.
    pub request: u8,
    /// wValue.
    pub value: u16,
    /// wIndex (the interface number, for class requests to an interface).
    pub index: u16,
    /// wLength: bytes of the data stage.
    pub length: u16,
}

impl SetupPacket {
    /// Its size on the wire.
    pub const LEN: usize = 8;

    /// Parses a setup packet; `None` if fewer than 8 bytes are given.
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        let mut cursor = Cursor::new(bytes);
        let [request_type, request, v0, v1, i0, i1, l0, l1] = cursor.array::<8>().ok()?;
        Some(SetupPacket {
            request_type,
            request,
            value: u16::from_le_bytes([v0, v1]),
            index: u16::from_le_bytes([i0, i1]),
            length: u16::from_le_bytes([l0, l1]),
        })
    }

    /// The wire form.
    pub fn emit(&self) -> [u8; 8] {
        let [v0, v1] = self.value.to_le_bytes();
        let [i0, i1] = self.index.to_le_bytes();
        let [l0, l1] = self.length.to_le_bytes();
        [self.request_type, self.request, v0, v1, i0, i1, l0, l1]
    }

    /// Whether the data stage goes device to host.
    pub const fn is_in(&self) -> bool {
        self.request_type & 0x80 != 0
    }

    /// A class request to `interface`.
    pub fn class(
        request: ClassRequest,
        interface: u8,
        value: u16,
        length: u16,
        device_to_host: bool,
    ) -> Self {
        SetupPacket {
            request_type: if device_to_host {
                REQUEST_TYPE_CLASS_INTERFACE_IN
            } else {
                REQUEST_TYPE_CLASS_INTERFACE_OUT
            },
            request: u8::try_from(request.value()).unwrap_or(u8::MAX),
            value,
            index: u16::from(interface),
            length,
        }
    }

    /// The class request this packet carries, if it is a class request to an interface.
    pub fn class_request(&self) -> Option<ClassRequest> {
        matches!(
            self.request_type,
            REQUEST_TYPE_CLASS_INTERFACE_IN | REQUEST_TYPE_CLASS_INTERFACE_OUT
        )
        .then(|| ClassRequest::from(u32::from(self.request)))
    }
}

mbim_enum! {
    /// bNotification codes of the interrupt endpoint (CDC 1.2 §6.3, NCM 1.0 §7).
    pub enum NotificationCode {
        /// NETWORK_CONNECTION: wValue 1 = connected, 0 = disconnected.
        NetworkConnection = 0x00 => "network-connection",
        /// RESPONSE_AVAILABLE: an MBIM message waits for GET_ENCAPSULATED_RESPONSE.
        ResponseAvailable = 0x01 => "response-available",
        /// CONNECTION_SPEED_CHANGE: 8 bytes of downlink and uplink bit rates follow.
        ConnectionSpeedChange = 0x2A => "connection-speed-change",
    }
}

/// A notification from the interrupt endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notification {
    /// A control message is waiting.
    ResponseAvailable {
        /// The communication interface it comes from.
        interface: u16,
    },
    /// The link went up or down.
    NetworkConnection {
        /// The interface.
        interface: u16,
        /// Connected or not.
        connected: bool,
    },
    /// New link speeds, bits per second.
    ConnectionSpeedChange {
        /// The interface.
        interface: u16,
        /// Downlink speed.
        downlink: u32,
        /// Uplink speed.
        uplink: u32,
    },
    /// Any other notification, kept raw.
    Other {
        /// bNotification.
        code: u8,
        /// wValue.
        value: u16,
        /// wIndex.
        interface: u16,
        /// The data after the 8-byte header.
        data: Vec<u8>,
    },
}

/// A notification that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotificationError {
    /// Fewer than the 8 header bytes.
    #[error("notification of {0} bytes is shorter than its 8-byte header")]
    Truncated(usize),
    /// bmRequestType is not 0xA1.
    #[error("notification bmRequestType 0x{0:02X}, expected 0xA1")]
    RequestType(u8),
    /// wLength runs past the bytes given.
    #[error("notification wLength {declared} runs past the {available} data bytes given")]
    Length {
        /// wLength.
        declared: u16,
        /// Bytes after the header.
        available: usize,
    },
}

impl Notification {
    /// Parses a notification as read from the interrupt endpoint.
    pub fn parse(bytes: &[u8]) -> Result<Self, NotificationError> {
        let setup = SetupPacket::parse(bytes).ok_or(NotificationError::Truncated(bytes.len()))?;
        if setup.request_type != REQUEST_TYPE_CLASS_INTERFACE_IN {
            return Err(NotificationError::RequestType(setup.request_type));
        }
        let rest = bytes.get(SetupPacket::LEN..).unwrap_or_default();
        let data = rest
            .get(..usize::from(setup.length))
            .ok_or(NotificationError::Length {
                declared: setup.length,
                available: rest.len(),
            })?;
        Ok(match NotificationCode::from(u32::from(setup.request)) {
            NotificationCode::ResponseAvailable => Notification::ResponseAvailable {
                interface: setup.index,
            },
            NotificationCode::NetworkConnection => Notification::NetworkConnection {
                interface: setup.index,
                connected: setup.value != 0,
            },
            NotificationCode::ConnectionSpeedChange if data.len() >= 8 => {
                let mut cursor = Cursor::new(data);
                let downlink = cursor.u32().unwrap_or_default();
                let uplink = cursor.u32().unwrap_or_default();
                Notification::ConnectionSpeedChange {
                    interface: setup.index,
                    downlink,
                    uplink,
                }
            }
            _ => Notification::Other {
                code: setup.request,
                value: setup.value,
                interface: setup.index,
                data: data.to_vec(),
            },
        })
    }

    /// The wire form.
    pub fn emit(&self) -> Vec<u8> {
        let (code, value, interface, data): (u8, u16, u16, Vec<u8>) = match self {
            Notification::ResponseAvailable { interface } => (0x01, 0, *interface, Vec::new()),
            Notification::NetworkConnection {
                interface,
                connected,
            } => (0x00, u16::from(*connected), *interface, Vec::new()),
            Notification::ConnectionSpeedChange {
                interface,
                downlink,
                uplink,
            } => {
                let mut data = downlink.to_le_bytes().to_vec();
                data.extend_from_slice(&uplink.to_le_bytes());
                (0x2A, 0, *interface, data)
            }
            Notification::Other {
                code,
                value,
                interface,
                data,
            } => (*code, *value, *interface, data.clone()),
        };
        let setup = SetupPacket {
            request_type: REQUEST_TYPE_CLASS_INTERFACE_IN,
            request: code,
            value,
            index: interface,
            length: u16::try_from(data.len()).unwrap_or(u16::MAX),
        };
        let mut out = setup.emit().to_vec();
        out.extend_from_slice(&data);
        out
    }
}

/// The data of SET_NTB_INPUT_SIZE / GET_NTB_INPUT_SIZE: 4 bytes, or 8 when the
/// function also limits datagrams per NTB (bmNetworkCapabilities bit 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NtbInputSize {
    /// dwNtbInMaxSize.
    pub max_size: u32,
    /// wNtbInMaxDatagrams, when given (0 = no limit).
    pub max_datagrams: Option<u16>,
}

impl NtbInputSize {
    /// Parses 4 or 8 bytes.
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        let mut cursor = Cursor::new(bytes);
        let max_size = cursor.u32().ok()?;
        let max_datagrams = match cursor.array::<4>() {
            Ok([d0, d1, _, _]) => Some(u16::from_le_bytes([d0, d1])),
            Err(_) => None,
        };
        Some(NtbInputSize {
            max_size,
            max_datagrams,
        })
    }

    /// The wire form.
    pub fn emit(&self) -> Vec<u8> {
        let mut out = self.max_size.to_le_bytes().to_vec();
        if let Some(datagrams) = self.max_datagrams {
            out.extend_from_slice(&datagrams.to_le_bytes());
            out.extend_from_slice(&[0, 0]);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_available_is_the_eight_bytes_cdc_wdm_expects() {
        // cdc-wdm checks bmRequestType 0xA1, bNotification 0x01, wIndex = interface.
        let bytes = Notification::ResponseAvailable { interface: 2 }.emit();
        assert_eq!(bytes, [0xA1, 0x01, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00]);
        assert_eq!(
            Notification::parse(&bytes),
            Ok(Notification::ResponseAvailable { interface: 2 })
        );
    }

    #[test]
    fn speed_change_round_trips_and_bad_notifications_are_refused() {
        let speed = Notification::ConnectionSpeedChange {
            interface: 0,
            downlink: 150_000_000,
            uplink: 50_000_000,
        };
        assert_eq!(Notification::parse(&speed.emit()), Ok(speed));
        assert_eq!(
            Notification::parse(&[0xA1, 1]),
            Err(NotificationError::Truncated(2))
        );
        assert_eq!(
            Notification::parse(&[0x21, 1, 0, 0, 0, 0, 0, 0]),
            Err(NotificationError::RequestType(0x21))
        );
        assert_eq!(
            Notification::parse(&[0xA1, 0x2A, 0, 0, 0, 0, 8, 0, 1]),
            Err(NotificationError::Length {
                declared: 8,
                available: 1
            })
        );
    }

    #[test]
    fn setup_packets_and_input_sizes_round_trip() {
        let setup = SetupPacket::class(ClassRequest::GetNtbParameters, 0, 0, 28, true);
        assert_eq!(setup.emit(), [0xA1, 0x80, 0, 0, 0, 0, 28, 0]);
        assert_eq!(SetupPacket::parse(&setup.emit()), Some(setup));
        assert_eq!(setup.class_request(), Some(ClassRequest::GetNtbParameters));
        assert!(setup.is_in());
        let size = NtbInputSize {
            max_size: 16384,
            max_datagrams: Some(32),
        };
        assert_eq!(NtbInputSize::parse(&size.emit()), Some(size));
        assert_eq!(
            NtbInputSize::parse(&16384u32.to_le_bytes()),
            Some(NtbInputSize {
                max_size: 16384,
                max_datagrams: None
            })
        );
    }
}
