//! MBIM 1.0 §9 control messages: OPEN, CLOSE, COMMAND, HOST_ERROR and the
//! function's answers.
//!
//! Two layers, as in smoltcp: [`Packet`] is a checked view over bytes with the
//! field offsets declared once (in `field`), and [`Message`] is the typed
//! value, with [`Message::parse`] and [`Message::emit`] between them.
//!
//! COMMAND, COMMAND_DONE and INDICATE_STATUS carry a fragment header. A
//! [`Message`] of those kinds is one message on the wire: a whole message
//! (TotalFragments 1) or one fragment of a larger one. Following MBIM 1.0 §9.2
//! (and libmbim), only the first fragment holds the fixed fields (service,
//! CID, status or command type, InformationBufferLength, which counts the whole
//! buffer); later fragments hold just a slice of the information buffer.
//! [`crate::fragment`] splits and reassembles.

mod packet;

pub use packet::Packet;

use crate::status::{CommandType, ProtocolError, Status};
use crate::uuid::Uuid;
use std::fmt;

/// Field offsets of every control message, in one place.
pub(crate) mod field {
    /// A byte range of a field.
    pub(crate) type Field = core::ops::Range<usize>;

    pub(crate) const MESSAGE_TYPE: Field = 0..4;
    pub(crate) const MESSAGE_LENGTH: Field = 4..8;
    pub(crate) const TRANSACTION_ID: Field = 8..12;
    pub(crate) const HEADER_END: usize = 12;

    // OPEN.
    pub(crate) const MAX_CONTROL_TRANSFER: Field = 12..16;
    // OPEN_DONE, CLOSE_DONE.
    pub(crate) const STATUS: Field = 12..16;
    // HOST_ERROR, FUNCTION_ERROR.
    pub(crate) const ERROR_STATUS_CODE: Field = 12..16;
    pub(crate) const SINGLE_FIELD_END: usize = 16;

    // Fragment header of COMMAND, COMMAND_DONE, INDICATE_STATUS.
    pub(crate) const TOTAL_FRAGMENTS: Field = 12..16;
    pub(crate) const CURRENT_FRAGMENT: Field = 16..20;
    pub(crate) const FRAGMENT_PAYLOAD: usize = 20;

    // First fragment of COMMAND, COMMAND_DONE, INDICATE_STATUS.
    pub(crate) const DEVICE_SERVICE_ID: Field = 20..36;
    pub(crate) const CID: Field = 36..40;
    // COMMAND.
    pub(crate) const COMMAND_TYPE: Field = 40..44;
    // COMMAND_DONE.
    pub(crate) const COMMAND_DONE_STATUS: Field = 40..44;
    // COMMAND, COMMAND_DONE.
    pub(crate) const COMMAND_BUFFER_LENGTH: Field = 44..48;
    pub(crate) const COMMAND_BUFFER: usize = 48;
    // INDICATE_STATUS.
    pub(crate) const INDICATE_BUFFER_LENGTH: Field = 40..44;
    pub(crate) const INDICATE_BUFFER: usize = 44;
}

/// Size of the message header (MessageType, MessageLength, TransactionId).
pub const HEADER_LEN: usize = field::HEADER_END;
/// Size of the message header plus the fragment header.
pub const FRAGMENT_HEADER_END: usize = field::FRAGMENT_PAYLOAD;
/// Size of a COMMAND or COMMAND_DONE without information buffer.
pub const COMMAND_FIXED_LEN: usize = field::COMMAND_BUFFER;
/// Size of an INDICATE_STATUS without information buffer.
pub const INDICATE_STATUS_FIXED_LEN: usize = field::INDICATE_BUFFER;

crate::mbim_enum! {
    /// MBIM_MESSAGE_TYPE.
    pub enum MessageType {
        /// Host opens the function.
        Open = 1 => "open",
        /// Host closes the function.
        Close = 2 => "close",
        /// Host sends a command.
        Command = 3 => "command",
        /// Host reports a protocol error.
        HostError = 4 => "host-error",
        /// Function answers OPEN.
        OpenDone = 0x8000_0001 => "open-done",
        /// Function answers CLOSE.
        CloseDone = 0x8000_0002 => "close-done",
        /// Function answers COMMAND.
        CommandDone = 0x8000_0003 => "command-done",
        /// Function reports a protocol error.
        FunctionError = 0x8000_0004 => "function-error",
        /// Function sends an unsolicited indication.
        IndicateStatus = 0x8000_0007 => "indicate-status",
    }
}

impl MessageType {
    /// The specification's name (`COMMAND_DONE`), `None` for unknown types.
    pub const fn spec_name(self) -> Option<&'static str> {
        match self {
            MessageType::Open => Some("OPEN"),
            MessageType::Close => Some("CLOSE"),
            MessageType::Command => Some("COMMAND"),
            MessageType::HostError => Some("HOST_ERROR"),
            MessageType::OpenDone => Some("OPEN_DONE"),
            MessageType::CloseDone => Some("CLOSE_DONE"),
            MessageType::CommandDone => Some("COMMAND_DONE"),
            MessageType::FunctionError => Some("FUNCTION_ERROR"),
            MessageType::IndicateStatus => Some("INDICATE_STATUS"),
            MessageType::Unknown(_) => None,
        }
    }

    /// Whether messages of this type carry a fragment header.
    pub const fn has_fragment_header(self) -> bool {
        matches!(
            self,
            MessageType::Command | MessageType::CommandDone | MessageType::IndicateStatus
        )
    }

    /// The smallest MessageLength this type allows (for fragment-carrying
    /// types: header plus fragment header, what a continuation fragment needs).
    pub const fn fixed_len(self) -> usize {
        match self {
            MessageType::Close | MessageType::Unknown(_) => field::HEADER_END,
            MessageType::Open
            | MessageType::HostError
            | MessageType::OpenDone
            | MessageType::CloseDone
            | MessageType::FunctionError => field::SINGLE_FIELD_END,
            MessageType::Command | MessageType::CommandDone | MessageType::IndicateStatus => {
                field::FRAGMENT_PAYLOAD
            }
        }
    }

    /// Where InformationBufferLength sits and where the buffer starts, for
    /// the types that have one.
    fn information_buffer_fields(self) -> Option<(field::Field, usize)> {
        match self {
            MessageType::Command | MessageType::CommandDone => {
                Some((field::COMMAND_BUFFER_LENGTH, field::COMMAND_BUFFER))
            }
            MessageType::IndicateStatus => {
                Some((field::INDICATE_BUFFER_LENGTH, field::INDICATE_BUFFER))
            }
            _ => None,
        }
    }
}

/// What was wrong with a control message, and at which offset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} at 0x{offset:02X}: {kind}", TypeName(*.message_type))]
pub struct MessageError {
    /// The message type, if the header could be read.
    pub message_type: Option<MessageType>,
    /// Offset of the offending field from the start of the message.
    pub offset: usize,
    /// What was wrong.
    pub kind: MessageErrorKind,
}

impl MessageError {
    /// An error of `kind` at `offset` of a message of `message_type`.
    pub fn new(message_type: Option<MessageType>, offset: usize, kind: MessageErrorKind) -> Self {
        MessageError {
            message_type,
            offset,
            kind,
        }
    }
}

struct TypeName(Option<MessageType>);

impl fmt::Display for TypeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            None => f.write_str("message"),
            Some(message_type) => match message_type.spec_name() {
                Some(name) => f.write_str(name),
                None => write!(f, "message of type 0x{:08X}", message_type.value()),
            },
        }
    }
}

/// The ways a control message can be malformed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageErrorKind {
    /// Fewer bytes than the header needs.
    Truncated {
        /// Bytes needed.
        needed: usize,
        /// Bytes given.
        available: usize,
    },
    /// MessageLength does not cover the fixed part of the message type.
    LengthTooShort {
        /// MessageLength read.
        message_length: u32,
        /// The fixed part's size.
        minimum: usize,
    },
    /// MessageLength is more than the bytes given.
    LengthPastBuffer {
        /// MessageLength read.
        message_length: u32,
        /// Bytes given.
        available: usize,
    },
    /// InformationBufferLength runs past the end of the message.
    BufferPastMessage {
        /// InformationBufferLength read.
        information_buffer_length: u32,
        /// MessageLength read.
        message_length: u32,
    },
    /// InformationBufferLength stops short of MessageLength.
    BufferShort {
        /// InformationBufferLength read.
        information_buffer_length: u32,
        /// MessageLength read.
        message_length: u32,
    },
    /// TotalFragments is 0.
    NoFragments,
    /// CurrentFragment is not below TotalFragments.
    FragmentBeyondTotal {
        /// CurrentFragment read.
        current: u32,
        /// TotalFragments read.
        total: u32,
    },
}

impl fmt::Display for MessageErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MessageErrorKind::Truncated { needed, available } => {
                write!(f, "needs {needed} bytes but only {available} were given")
            }
            MessageErrorKind::LengthTooShort {
                message_length,
                minimum,
            } => write!(
                f,
                "MessageLength 0x{message_length:X} is shorter than the 0x{minimum:X}-byte fixed part"
            ),
            MessageErrorKind::LengthPastBuffer {
                message_length,
                available,
            } => write!(
                f,
                "MessageLength 0x{message_length:X} runs past the 0x{available:X} bytes given"
            ),
            MessageErrorKind::BufferPastMessage {
                information_buffer_length,
                message_length,
            } => write!(
                f,
                "InformationBufferLength 0x{information_buffer_length:X} runs past MessageLength 0x{message_length:X}"
            ),
            MessageErrorKind::BufferShort {
                information_buffer_length,
                message_length,
            } => write!(
                f,
                "InformationBufferLength 0x{information_buffer_length:X} stops short of MessageLength 0x{message_length:X}"
            ),
            MessageErrorKind::NoFragments => f.write_str("TotalFragments is 0"),
            MessageErrorKind::FragmentBeyondTotal { current, total } => write!(
                f,
                "CurrentFragment {current} is not below TotalFragments {total}"
            ),
        }
    }
}

/// Why a message could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmitError {
    /// The output buffer is smaller than [`Message::buffer_len`].
    #[error("message needs {needed} bytes but the buffer holds {available}")]
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// The message (or its information buffer) is longer than a `u32` length field can say.
    #[error("message is longer than a 32-bit MessageLength can express")]
    TooLong,
    /// A fragment header or fixed part that cannot be written consistently
    /// (e.g. fixed fields in a continuation fragment).
    #[error("{0}")]
    Inconsistent(&'static str),
}

/// TotalFragments and CurrentFragment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FragmentHeader {
    /// TotalFragments: how many fragments the message has (at least 1).
    pub total: u32,
    /// CurrentFragment: which one this is, from 0.
    pub current: u32,
}

impl FragmentHeader {
    /// The header of a message sent whole.
    pub const SINGLE: FragmentHeader = FragmentHeader {
        total: 1,
        current: 0,
    };

    /// Whether the message is sent whole (one fragment).
    pub const fn is_single(&self) -> bool {
        self.total == 1 && self.current == 0
    }

    /// Whether this is the first fragment (the one with the fixed fields).
    pub const fn is_first(&self) -> bool {
        self.current == 0
    }
}

impl Default for FragmentHeader {
    fn default() -> Self {
        Self::SINGLE
    }
}

/// The fixed fields the first fragment of a COMMAND, COMMAND_DONE or
/// INDICATE_STATUS carries after the fragment header.
pub trait FragmentHead: Sized + Clone + fmt::Debug + PartialEq + Eq {
    /// The message type these fields belong to.
    const MESSAGE_TYPE: MessageType;
    /// Their size on the wire.
    const LEN: usize;
    /// InformationBufferLength: the size of the whole information buffer.
    fn information_buffer_length(&self) -> u32;
    /// Sets InformationBufferLength.
    fn set_information_buffer_length(&mut self, length: u32);
    /// Reads them from a checked first fragment.
    fn read<T: AsRef<[u8]>>(packet: &Packet<T>) -> Self;
    /// Writes them (MessageType must be set already).
    fn write<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>);
}

/// The fixed fields of COMMAND.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CommandHead {
    /// DeviceServiceId.
    pub service: Uuid,
    /// CID.
    pub cid: u32,
    /// CommandType.
    pub command_type: CommandType,
    /// InformationBufferLength (of the whole buffer).
    pub information_buffer_length: u32,
}

impl FragmentHead for CommandHead {
    const MESSAGE_TYPE: MessageType = MessageType::Command;
    const LEN: usize = field::COMMAND_BUFFER - field::FRAGMENT_PAYLOAD;
    fn information_buffer_length(&self) -> u32 {
        self.information_buffer_length
    }
    fn set_information_buffer_length(&mut self, length: u32) {
        self.information_buffer_length = length;
    }
    fn read<T: AsRef<[u8]>>(packet: &Packet<T>) -> Self {
        CommandHead {
            service: packet.device_service_id(),
            cid: packet.cid(),
            command_type: packet.command_type(),
            information_buffer_length: packet.information_buffer_length(),
        }
    }
    fn write<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_device_service_id(self.service);
        packet.set_cid(self.cid);
        packet.set_command_type(self.command_type);
        packet.set_information_buffer_length(self.information_buffer_length);
    }
}

/// The fixed fields of COMMAND_DONE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CommandDoneHead {
    /// DeviceServiceId.
    pub service: Uuid,
    /// CID.
    pub cid: u32,
    /// Status.
    pub status: Status,
    /// InformationBufferLength (of the whole buffer).
    pub information_buffer_length: u32,
}

impl FragmentHead for CommandDoneHead {
    const MESSAGE_TYPE: MessageType = MessageType::CommandDone;
    const LEN: usize = field::COMMAND_BUFFER - field::FRAGMENT_PAYLOAD;
    fn information_buffer_length(&self) -> u32 {
        self.information_buffer_length
    }
    fn set_information_buffer_length(&mut self, length: u32) {
        self.information_buffer_length = length;
    }
    fn read<T: AsRef<[u8]>>(packet: &Packet<T>) -> Self {
        CommandDoneHead {
            service: packet.device_service_id(),
            cid: packet.cid(),
            status: packet.status(),
            information_buffer_length: packet.information_buffer_length(),
        }
    }
    fn write<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_device_service_id(self.service);
        packet.set_cid(self.cid);
        packet.set_status(self.status);
        packet.set_information_buffer_length(self.information_buffer_length);
    }
}

/// The fixed fields of INDICATE_STATUS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IndicateStatusHead {
    /// DeviceServiceId.
    pub service: Uuid,
    /// CID.
    pub cid: u32,
    /// InformationBufferLength (of the whole buffer).
    pub information_buffer_length: u32,
}

impl FragmentHead for IndicateStatusHead {
    const MESSAGE_TYPE: MessageType = MessageType::IndicateStatus;
    const LEN: usize = field::INDICATE_BUFFER - field::FRAGMENT_PAYLOAD;
    fn information_buffer_length(&self) -> u32 {
        self.information_buffer_length
    }
    fn set_information_buffer_length(&mut self, length: u32) {
        self.information_buffer_length = length;
    }
    fn read<T: AsRef<[u8]>>(packet: &Packet<T>) -> Self {
        IndicateStatusHead {
            service: packet.device_service_id(),
            cid: packet.cid(),
            information_buffer_length: packet.information_buffer_length(),
        }
    }
    fn write<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_device_service_id(self.service);
        packet.set_cid(self.cid);
        packet.set_information_buffer_length(self.information_buffer_length);
    }
}

/// A message of a fragment-carrying type: whole, or one fragment of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fragment<H> {
    /// TransactionId (shared by all fragments of a message).
    pub transaction_id: u32,
    /// TotalFragments and CurrentFragment.
    pub fragment: FragmentHeader,
    /// The fixed fields: present exactly in the first fragment (`current == 0`).
    pub head: Option<H>,
    /// This fragment's part of the information buffer (all of it when whole).
    pub data: Vec<u8>,
}

impl<H: FragmentHead> Fragment<H> {
    /// A whole message with `head`, its InformationBufferLength set from `data`.
    pub fn whole(transaction_id: u32, mut head: H, data: Vec<u8>) -> Self {
        head.set_information_buffer_length(u32::try_from(data.len()).unwrap_or(u32::MAX));
        Fragment {
            transaction_id,
            fragment: FragmentHeader::SINGLE,
            head: Some(head),
            data,
        }
    }

    fn read<T: AsRef<[u8]>>(packet: &Packet<T>) -> Self {
        let fragment = FragmentHeader {
            total: packet.total_fragments(),
            current: packet.current_fragment(),
        };
        Fragment {
            transaction_id: packet.transaction_id(),
            fragment,
            head: fragment.is_first().then(|| H::read(packet)),
            data: packet.information_buffer().to_vec(),
        }
    }

    fn body_len(&self) -> Option<usize> {
        let head = if self.head.is_some() { H::LEN } else { 0 };
        head.checked_add(self.data.len())
    }

    fn write<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) -> Result<(), EmitError> {
        if self.head.is_some() != self.fragment.is_first() {
            return Err(EmitError::Inconsistent(
                "fixed fields must be present in the first fragment and only there",
            ));
        }
        packet.set_total_fragments(self.fragment.total);
        packet.set_current_fragment(self.fragment.current);
        if let Some(head) = &self.head {
            head.write(packet);
        }
        let out = packet.information_buffer_mut();
        match out.get_mut(..self.data.len()) {
            Some(slot) => {
                slot.copy_from_slice(&self.data);
                Ok(())
            }
            None => Err(EmitError::BufferTooSmall {
                needed: self.data.len(),
                available: out.len(),
            }),
        }
    }
}

/// A COMMAND (or one fragment of one).
pub type Command = Fragment<CommandHead>;
/// A COMMAND_DONE (or one fragment of one).
pub type CommandDone = Fragment<CommandDoneHead>;
/// An INDICATE_STATUS (or one fragment of one).
pub type IndicateStatus = Fragment<IndicateStatusHead>;

/// One control message, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// OPEN: the host opens the function.
    Open {
        /// TransactionId.
        transaction_id: u32,
        /// MaxControlTransfer: the largest control message the host accepts.
        max_control_transfer: u32,
    },
    /// CLOSE: the host closes the function.
    Close {
        /// TransactionId.
        transaction_id: u32,
    },
    /// COMMAND: the host queries or sets a CID.
    Command(Command),
    /// HOST_ERROR: the host reports a protocol error.
    HostError {
        /// TransactionId of the message in error.
        transaction_id: u32,
        /// ErrorStatusCode.
        error: ProtocolError,
    },
    /// OPEN_DONE: the function answers OPEN.
    OpenDone {
        /// TransactionId of the OPEN.
        transaction_id: u32,
        /// Status.
        status: Status,
    },
    /// CLOSE_DONE: the function answers CLOSE.
    CloseDone {
        /// TransactionId of the CLOSE.
        transaction_id: u32,
        /// Status.
        status: Status,
    },
    /// COMMAND_DONE: the function answers a COMMAND.
    CommandDone(CommandDone),
    /// FUNCTION_ERROR: the function reports a protocol error.
    FunctionError {
        /// TransactionId of the message in error.
        transaction_id: u32,
        /// ErrorStatusCode.
        error: ProtocolError,
    },
    /// INDICATE_STATUS: an unsolicited notification from the function.
    IndicateStatus(IndicateStatus),
    /// A message type this crate does not know, kept whole.
    Unknown {
        /// MessageType.
        message_type: u32,
        /// TransactionId.
        transaction_id: u32,
        /// The bytes after the header, up to MessageLength.
        body: Vec<u8>,
    },
}

impl Message {
    /// A whole COMMAND.
    pub fn command(
        transaction_id: u32,
        service: Uuid,
        cid: u32,
        command_type: CommandType,
        information_buffer: Vec<u8>,
    ) -> Message {
        let head = CommandHead {
            service,
            cid,
            command_type,
            information_buffer_length: 0,
        };
        Message::Command(Fragment::whole(transaction_id, head, information_buffer))
    }

    /// A whole COMMAND_DONE.
    pub fn command_done(
        transaction_id: u32,
        service: Uuid,
        cid: u32,
        status: Status,
        information_buffer: Vec<u8>,
    ) -> Message {
        let head = CommandDoneHead {
            service,
            cid,
            status,
            information_buffer_length: 0,
        };
        Message::CommandDone(Fragment::whole(transaction_id, head, information_buffer))
    }

    /// A whole INDICATE_STATUS.
    pub fn indicate_status(
        transaction_id: u32,
        service: Uuid,
        cid: u32,
        information_buffer: Vec<u8>,
    ) -> Message {
        let head = IndicateStatusHead {
            service,
            cid,
            information_buffer_length: 0,
        };
        Message::IndicateStatus(Fragment::whole(transaction_id, head, information_buffer))
    }

    /// Parses the message at the start of `bytes`; bytes after its
    /// MessageLength are ignored.
    pub fn parse(bytes: &[u8]) -> Result<Message, MessageError> {
        Self::parse_prefix(bytes).map(|(message, _)| message)
    }

    /// Parses the message at the start of `bytes` and says how many bytes it
    /// took (its MessageLength), so concatenated messages can be read in turn.
    pub fn parse_prefix(bytes: &[u8]) -> Result<(Message, usize), MessageError> {
        let packet = Packet::new_checked(bytes)?;
        let consumed = packet.message().len();
        let transaction_id = packet.transaction_id();
        let message = match packet.message_type() {
            MessageType::Open => Message::Open {
                transaction_id,
                max_control_transfer: packet.max_control_transfer(),
            },
            MessageType::Close => Message::Close { transaction_id },
            MessageType::Command => Message::Command(Fragment::read(&packet)),
            MessageType::HostError => Message::HostError {
                transaction_id,
                error: packet.error_status_code(),
            },
            MessageType::OpenDone => Message::OpenDone {
                transaction_id,
                status: packet.status(),
            },
            MessageType::CloseDone => Message::CloseDone {
                transaction_id,
                status: packet.status(),
            },
            MessageType::CommandDone => Message::CommandDone(Fragment::read(&packet)),
            MessageType::FunctionError => Message::FunctionError {
                transaction_id,
                error: packet.error_status_code(),
            },
            MessageType::IndicateStatus => Message::IndicateStatus(Fragment::read(&packet)),
            MessageType::Unknown(message_type) => Message::Unknown {
                message_type,
                transaction_id,
                body: packet
                    .message()
                    .get(field::HEADER_END..)
                    .unwrap_or_default()
                    .to_vec(),
            },
        };
        Ok((message, consumed))
    }

    /// MessageType.
    pub fn message_type(&self) -> MessageType {
        match self {
            Message::Open { .. } => MessageType::Open,
            Message::Close { .. } => MessageType::Close,
            Message::Command(_) => MessageType::Command,
            Message::HostError { .. } => MessageType::HostError,
            Message::OpenDone { .. } => MessageType::OpenDone,
            Message::CloseDone { .. } => MessageType::CloseDone,
            Message::CommandDone(_) => MessageType::CommandDone,
            Message::FunctionError { .. } => MessageType::FunctionError,
            Message::IndicateStatus(_) => MessageType::IndicateStatus,
            Message::Unknown { message_type, .. } => MessageType::from(*message_type),
        }
    }

    /// TransactionId.
    pub fn transaction_id(&self) -> u32 {
        match self {
            Message::Open { transaction_id, .. }
            | Message::Close { transaction_id }
            | Message::HostError { transaction_id, .. }
            | Message::OpenDone { transaction_id, .. }
            | Message::CloseDone { transaction_id, .. }
            | Message::FunctionError { transaction_id, .. }
            | Message::Unknown { transaction_id, .. } => *transaction_id,
            Message::Command(fragment) => fragment.transaction_id,
            Message::CommandDone(fragment) => fragment.transaction_id,
            Message::IndicateStatus(fragment) => fragment.transaction_id,
        }
    }

    /// The fragment header, for the types that carry one.
    pub fn fragment(&self) -> Option<FragmentHeader> {
        match self {
            Message::Command(fragment) => Some(fragment.fragment),
            Message::CommandDone(fragment) => Some(fragment.fragment),
            Message::IndicateStatus(fragment) => Some(fragment.fragment),
            _ => None,
        }
    }

    /// Whether this is one part of a message split into several fragments.
    pub fn is_fragment(&self) -> bool {
        self.fragment().is_some_and(|header| header.total > 1)
    }

    /// The information-buffer bytes this message carries (empty for types without one).
    pub fn fragment_data(&self) -> &[u8] {
        match self {
            Message::Command(fragment) => &fragment.data,
            Message::CommandDone(fragment) => &fragment.data,
            Message::IndicateStatus(fragment) => &fragment.data,
            _ => &[],
        }
    }

    /// InformationBufferLength of a first (or only) fragment.
    pub fn information_buffer_length(&self) -> Option<u32> {
        match self {
            Message::Command(fragment) => fragment.head.map(|head| head.information_buffer_length),
            Message::CommandDone(fragment) => {
                fragment.head.map(|head| head.information_buffer_length)
            }
            Message::IndicateStatus(fragment) => {
                fragment.head.map(|head| head.information_buffer_length)
            }
            _ => None,
        }
    }

    /// The size of the message on the wire, or `None` if it would not fit a
    /// `u32` MessageLength.
    pub fn wire_len(&self) -> Option<usize> {
        let body = match self {
            Message::Close { .. } => Some(0),
            Message::Open { .. }
            | Message::HostError { .. }
            | Message::OpenDone { .. }
            | Message::CloseDone { .. }
            | Message::FunctionError { .. } => Some(4),
            Message::Command(fragment) => fragment.body_len().and_then(|len| len.checked_add(8)),
            Message::CommandDone(fragment) => {
                fragment.body_len().and_then(|len| len.checked_add(8))
            }
            Message::IndicateStatus(fragment) => {
                fragment.body_len().and_then(|len| len.checked_add(8))
            }
            Message::Unknown { body, .. } => Some(body.len()),
        };
        body.and_then(|len| len.checked_add(HEADER_LEN))
            .filter(|len| u32::try_from(*len).is_ok())
    }

    /// The size of the message on the wire (saturating at `usize::MAX` for a
    /// message too long to emit, which [`emit`](Self::emit) then refuses).
    pub fn buffer_len(&self) -> usize {
        self.wire_len().unwrap_or(usize::MAX)
    }

    /// Writes the message at the start of `buffer`; returns the bytes written.
    pub fn emit(&self, buffer: &mut [u8]) -> Result<usize, EmitError> {
        let length = self.wire_len().ok_or(EmitError::TooLong)?;
        let message_length = u32::try_from(length).map_err(|_| EmitError::TooLong)?;
        let available = buffer.len();
        let out = buffer.get_mut(..length).ok_or(EmitError::BufferTooSmall {
            needed: length,
            available,
        })?;
        out.fill(0);
        let mut packet = Packet::new_unchecked(out);
        packet.set_message_type(self.message_type());
        packet.set_message_length(message_length);
        packet.set_transaction_id(self.transaction_id());
        match self {
            Message::Open {
                max_control_transfer,
                ..
            } => packet.set_max_control_transfer(*max_control_transfer),
            Message::Close { .. } => {}
            Message::HostError { error, .. } | Message::FunctionError { error, .. } => {
                packet.set_error_status_code(*error);
            }
            Message::OpenDone { status, .. } | Message::CloseDone { status, .. } => {
                packet.set_status(*status);
            }
            Message::Command(fragment) => fragment.write(&mut packet)?,
            Message::CommandDone(fragment) => fragment.write(&mut packet)?,
            Message::IndicateStatus(fragment) => fragment.write(&mut packet)?,
            Message::Unknown { body, .. } => {
                let bytes = packet.into_inner();
                if let Some(slot) = bytes.get_mut(field::HEADER_END..) {
                    if slot.len() == body.len() {
                        slot.copy_from_slice(body);
                    }
                }
            }
        }
        Ok(length)
    }

    /// The message's wire bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>, EmitError> {
        let mut out = vec![0; self.wire_len().ok_or(EmitError::TooLong)?];
        self.emit(&mut out)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASIC_CONNECT: Uuid = Uuid::from_str_const("a289cc33-bcbb-8b4f-b6b0-133ec2aae6df");

    #[test]
    fn open_and_close_layout() {
        let open = Message::Open {
            transaction_id: 12345,
            max_control_transfer: 4096,
        };
        let bytes = open.to_bytes().unwrap();
        assert_eq!(
            bytes,
            [1, 0, 0, 0, 16, 0, 0, 0, 0x39, 0x30, 0, 0, 0, 0x10, 0, 0]
        );
        assert_eq!(Message::parse(&bytes).unwrap(), open);
        let close = Message::Close {
            transaction_id: 12345,
        };
        assert_eq!(close.to_bytes().unwrap().len(), 12);
    }

    #[test]
    fn command_layout() {
        let message = Message::command(
            12345,
            BASIC_CONNECT,
            1,
            CommandType::Query,
            vec![0, 1, 2, 3, 4, 5, 6, 7],
        );
        let bytes = message.to_bytes().unwrap();
        assert_eq!(bytes.len(), 56);
        let packet = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(packet.message_type(), MessageType::Command);
        assert_eq!(packet.device_service_id(), BASIC_CONNECT);
        assert_eq!(packet.cid(), 1);
        assert_eq!(packet.command_type(), CommandType::Query);
        assert_eq!(packet.information_buffer_length(), 8);
        assert_eq!(packet.information_buffer(), &[0, 1, 2, 3, 4, 5, 6, 7]);
        assert!(!packet.is_fragment());
        assert_eq!(Message::parse(&bytes).unwrap(), message);
    }

    #[test]
    fn error_names_the_field_and_offset() {
        let mut bytes = Message::command_done(2, BASIC_CONNECT, 8, Status::Success, vec![0; 0x84])
            .to_bytes()
            .unwrap();
        assert_eq!(bytes.len(), 0xB4);
        bytes[0x2C] = 0x90;
        let error = Message::parse(&bytes).unwrap_err();
        assert_eq!(
            error.to_string(),
            "COMMAND_DONE at 0x2C: InformationBufferLength 0x90 runs past MessageLength 0xB4"
        );
        bytes[0x2C] = 0x80;
        assert!(matches!(
            Message::parse(&bytes).unwrap_err().kind,
            MessageErrorKind::BufferShort { .. }
        ));
    }

    #[test]
    fn length_checks() {
        let error = Message::parse(&[1, 0, 0]).unwrap_err();
        assert_eq!(error.message_type, None);
        assert!(matches!(error.kind, MessageErrorKind::Truncated { .. }));

        let error = Message::parse(&[1, 0, 0, 0, 12, 0, 0, 0, 1, 0, 0, 0]).unwrap_err();
        assert_eq!(error.offset, 4);
        assert!(matches!(
            error.kind,
            MessageErrorKind::LengthTooShort { minimum: 16, .. }
        ));

        let error = Message::parse(&[2, 0, 0, 0, 13, 0, 0, 0, 1, 0, 0, 0]).unwrap_err();
        assert!(matches!(
            error.kind,
            MessageErrorKind::LengthPastBuffer { .. }
        ));
        assert_eq!(
            error.to_string(),
            "CLOSE at 0x04: MessageLength 0xD runs past the 0xC bytes given"
        );
    }

    #[test]
    fn fragment_header_checks() {
        let mut bytes = Message::indicate_status(0, BASIC_CONNECT, 1, vec![1, 2])
            .to_bytes()
            .unwrap();
        bytes[12] = 0;
        assert_eq!(
            Message::parse(&bytes).unwrap_err().kind,
            MessageErrorKind::NoFragments
        );
        bytes[12] = 2;
        bytes[16] = 2;
        let error = Message::parse(&bytes).unwrap_err();
        assert_eq!(error.offset, 0x10);
        assert_eq!(
            error.kind,
            MessageErrorKind::FragmentBeyondTotal {
                current: 2,
                total: 2
            }
        );
    }

    #[test]
    fn concatenated_messages_are_consumed_one_by_one() {
        let first = Message::OpenDone {
            transaction_id: 1,
            status: Status::Success,
        };
        let second = Message::indicate_status(0, BASIC_CONNECT, 2, vec![9; 5]);
        let mut bytes = first.to_bytes().unwrap();
        bytes.extend(second.to_bytes().unwrap());
        let (parsed, used) = Message::parse_prefix(&bytes).unwrap();
        assert_eq!((parsed, used), (first, 16));
        let (parsed, used) = Message::parse_prefix(&bytes[used..]).unwrap();
        assert_eq!(parsed, second);
        assert_eq!(used, 44 + 5);
    }

    #[test]
    fn unknown_types_are_kept() {
        let bytes = [5, 0, 0, 0x80, 15, 0, 0, 0, 7, 0, 0, 0, 0xAA, 0xBB, 0xCC];
        let message = Message::parse(&bytes).unwrap();
        assert_eq!(
            message,
            Message::Unknown {
                message_type: 0x8000_0005,
                transaction_id: 7,
                body: vec![0xAA, 0xBB, 0xCC]
            }
        );
        assert_eq!(message.to_bytes().unwrap(), bytes);
    }

    #[test]
    fn inconsistent_fragments_are_refused_on_emit() {
        let message = Message::Command(Fragment {
            transaction_id: 1,
            fragment: FragmentHeader {
                total: 2,
                current: 1,
            },
            head: Some(CommandHead {
                service: BASIC_CONNECT,
                cid: 1,
                command_type: CommandType::Set,
                information_buffer_length: 4,
            }),
            data: vec![1, 2, 3, 4],
        });
        assert!(matches!(
            message.to_bytes(),
            Err(EmitError::Inconsistent(_))
        ));
        let mut small = [0u8; 10];
        assert!(matches!(
            Message::Close { transaction_id: 1 }.emit(&mut small),
            Err(EmitError::BufferTooSmall { needed: 12, .. })
        ));
    }
}
