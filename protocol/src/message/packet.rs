//! A checked view over the bytes of one control message.

use super::{field, MessageError, MessageErrorKind, MessageType};
use crate::status::{CommandType, ProtocolError, Status};
use crate::uuid::Uuid;

/// A read (and, over mutable bytes, write) view of one control message.
///
/// [`Packet::new_checked`] validates every length the accessors rely on, so
/// on a checked packet every accessor meaningful for its message type reads
/// real bytes. On an unchecked packet a field that lies outside the buffer
/// reads as zero (or empty) and writing it does nothing: the view never panics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

fn read_u32(bytes: &[u8], range: field::Field) -> u32 {
    bytes
        .get(range)
        .and_then(|slice| <[u8; 4]>::try_from(slice).ok())
        .map_or(0, u32::from_le_bytes)
}

fn to_usize(value: u32) -> usize {
    // u32 always fits in usize on the platforms Linux USB hosts run on; saturate
    // rather than truncate should that ever not hold.
    usize::try_from(value).unwrap_or(usize::MAX)
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps `buffer` without checking anything.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps `buffer` after [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<Packet<T>, MessageError> {
        let packet = Packet::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    fn u32_at(&self, range: field::Field) -> u32 {
        read_u32(self.bytes(), range)
    }

    /// Checks that MessageLength covers the fixed part of the message type
    /// and lies within the buffer, that the fragment header is consistent, and
    /// that InformationBufferLength agrees with MessageLength.
    ///
    /// Bytes after MessageLength are allowed: they belong to whatever follows.
    pub fn check_len(&self) -> Result<(), MessageError> {
        let available = self.bytes().len();
        if available < field::HEADER_END {
            return Err(MessageError::new(
                None,
                0,
                MessageErrorKind::Truncated {
                    needed: field::HEADER_END,
                    available,
                },
            ));
        }
        let message_type = self.message_type();
        let error = |offset: usize, kind| Err(MessageError::new(Some(message_type), offset, kind));
        let message_length = self.message_length();
        let length = to_usize(message_length);
        let minimum = message_type.fixed_len();
        if length < minimum {
            return error(
                field::MESSAGE_LENGTH.start,
                MessageErrorKind::LengthTooShort {
                    message_length,
                    minimum,
                },
            );
        }
        if length > available {
            return error(
                field::MESSAGE_LENGTH.start,
                MessageErrorKind::LengthPastBuffer {
                    message_length,
                    available,
                },
            );
        }
        if !message_type.has_fragment_header() {
            return Ok(());
        }
        let total = self.total_fragments();
        let current = self.current_fragment();
        if total == 0 {
            return error(field::TOTAL_FRAGMENTS.start, MessageErrorKind::NoFragments);
        }
        if current >= total {
            return error(
                field::CURRENT_FRAGMENT.start,
                MessageErrorKind::FragmentBeyondTotal { current, total },
            );
        }
        if current != 0 {
            // Continuation fragments carry only information-buffer bytes.
            return Ok(());
        }
        let Some((length_field, buffer_start)) = message_type.information_buffer_fields() else {
            return Ok(());
        };
        // The first fragment must carry the whole fixed part: MBIM's minimum
        // wMaxControlMessage (64) leaves room for it, and nothing can be
        // interpreted without it.
        if length < buffer_start {
            return error(
                field::MESSAGE_LENGTH.start,
                MessageErrorKind::LengthTooShort {
                    message_length,
                    minimum: buffer_start,
                },
            );
        }
        let information_buffer_length = self.u32_at(length_field.clone());
        let present = length.saturating_sub(buffer_start);
        let declared = to_usize(information_buffer_length);
        if declared > present && total == 1 {
            return error(
                length_field.start,
                MessageErrorKind::BufferPastMessage {
                    information_buffer_length,
                    message_length,
                },
            );
        }
        if declared < present {
            return error(
                length_field.start,
                MessageErrorKind::BufferShort {
                    information_buffer_length,
                    message_length,
                },
            );
        }
        Ok(())
    }

    /// MessageType.
    pub fn message_type(&self) -> MessageType {
        MessageType::from(self.u32_at(field::MESSAGE_TYPE))
    }

    /// MessageLength: the size of this message (or fragment), header included.
    pub fn message_length(&self) -> u32 {
        self.u32_at(field::MESSAGE_LENGTH)
    }

    /// TransactionId.
    pub fn transaction_id(&self) -> u32 {
        self.u32_at(field::TRANSACTION_ID)
    }

    /// The bytes of this message: the first MessageLength bytes of the buffer
    /// (the whole buffer if it is shorter).
    pub fn message(&self) -> &[u8] {
        let bytes = self.bytes();
        let end = to_usize(self.message_length()).min(bytes.len());
        bytes.get(..end).unwrap_or_default()
    }

    /// Whether the message type carries a fragment header (COMMAND,
    /// COMMAND_DONE, INDICATE_STATUS).
    pub fn has_fragment_header(&self) -> bool {
        self.message_type().has_fragment_header()
    }

    /// Whether this is one part of a message split into several fragments.
    pub fn is_fragment(&self) -> bool {
        self.has_fragment_header() && self.total_fragments() > 1
    }

    /// TotalFragments.
    pub fn total_fragments(&self) -> u32 {
        self.u32_at(field::TOTAL_FRAGMENTS)
    }

    /// CurrentFragment (numbered from 0).
    pub fn current_fragment(&self) -> u32 {
        self.u32_at(field::CURRENT_FRAGMENT)
    }

    /// The bytes after the fragment header, up to MessageLength.
    pub fn fragment_payload(&self) -> &[u8] {
        self.message()
            .get(field::FRAGMENT_PAYLOAD..)
            .unwrap_or_default()
    }

    /// DeviceServiceId of COMMAND, COMMAND_DONE and INDICATE_STATUS.
    pub fn device_service_id(&self) -> Uuid {
        self.bytes()
            .get(field::DEVICE_SERVICE_ID)
            .and_then(|slice| <[u8; 16]>::try_from(slice).ok())
            .map_or(Uuid::NIL, Uuid)
    }

    /// CID of COMMAND, COMMAND_DONE and INDICATE_STATUS.
    pub fn cid(&self) -> u32 {
        self.u32_at(field::CID)
    }

    /// CommandType of COMMAND.
    pub fn command_type(&self) -> CommandType {
        CommandType::from(self.u32_at(field::COMMAND_TYPE))
    }

    /// Status of OPEN_DONE, CLOSE_DONE and COMMAND_DONE.
    pub fn status(&self) -> Status {
        match self.message_type() {
            MessageType::CommandDone => Status::from(self.u32_at(field::COMMAND_DONE_STATUS)),
            _ => Status::from(self.u32_at(field::STATUS)),
        }
    }

    /// MaxControlTransfer of OPEN.
    pub fn max_control_transfer(&self) -> u32 {
        self.u32_at(field::MAX_CONTROL_TRANSFER)
    }

    /// ErrorStatusCode of HOST_ERROR and FUNCTION_ERROR.
    pub fn error_status_code(&self) -> ProtocolError {
        ProtocolError::from(self.u32_at(field::ERROR_STATUS_CODE))
    }

    /// InformationBufferLength of COMMAND, COMMAND_DONE and INDICATE_STATUS
    /// (0 for other types). In the first of several fragments it counts the
    /// whole buffer, not just the part this fragment carries.
    pub fn information_buffer_length(&self) -> u32 {
        self.message_type()
            .information_buffer_fields()
            .map_or(0, |(length_field, _)| self.u32_at(length_field))
    }

    /// The information-buffer bytes this message carries: after the fixed part
    /// in a first (or only) fragment, after the fragment header in a
    /// continuation fragment; empty for other types.
    pub fn information_buffer(&self) -> &[u8] {
        let Some((_, start)) = self.message_type().information_buffer_fields() else {
            return &[];
        };
        let start = if self.current_fragment() == 0 {
            start
        } else {
            field::FRAGMENT_PAYLOAD
        };
        self.message().get(start..).unwrap_or_default()
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn set_u32(&mut self, range: field::Field, value: u32) {
        if let Some(slot) = self.buffer.as_mut().get_mut(range) {
            if slot.len() == 4 {
                slot.copy_from_slice(&value.to_le_bytes());
            }
        }
    }

    /// Sets MessageType.
    pub fn set_message_type(&mut self, value: MessageType) {
        self.set_u32(field::MESSAGE_TYPE, value.value());
    }

    /// Sets MessageLength.
    pub fn set_message_length(&mut self, value: u32) {
        self.set_u32(field::MESSAGE_LENGTH, value);
    }

    /// Sets TransactionId.
    pub fn set_transaction_id(&mut self, value: u32) {
        self.set_u32(field::TRANSACTION_ID, value);
    }

    /// Sets TotalFragments.
    pub fn set_total_fragments(&mut self, value: u32) {
        self.set_u32(field::TOTAL_FRAGMENTS, value);
    }

    /// Sets CurrentFragment.
    pub fn set_current_fragment(&mut self, value: u32) {
        self.set_u32(field::CURRENT_FRAGMENT, value);
    }

    /// Sets DeviceServiceId.
    pub fn set_device_service_id(&mut self, value: Uuid) {
        if let Some(slot) = self.buffer.as_mut().get_mut(field::DEVICE_SERVICE_ID) {
            if slot.len() == 16 {
                slot.copy_from_slice(value.as_bytes());
            }
        }
    }

    /// Sets CID.
    pub fn set_cid(&mut self, value: u32) {
        self.set_u32(field::CID, value);
    }

    /// Sets CommandType (COMMAND).
    pub fn set_command_type(&mut self, value: CommandType) {
        self.set_u32(field::COMMAND_TYPE, value.value());
    }

    /// Sets Status (OPEN_DONE, CLOSE_DONE, COMMAND_DONE; by the MessageType already set).
    pub fn set_status(&mut self, value: Status) {
        match self.message_type() {
            MessageType::CommandDone => self.set_u32(field::COMMAND_DONE_STATUS, value.value()),
            _ => self.set_u32(field::STATUS, value.value()),
        }
    }

    /// Sets MaxControlTransfer (OPEN).
    pub fn set_max_control_transfer(&mut self, value: u32) {
        self.set_u32(field::MAX_CONTROL_TRANSFER, value);
    }

    /// Sets ErrorStatusCode (HOST_ERROR, FUNCTION_ERROR).
    pub fn set_error_status_code(&mut self, value: ProtocolError) {
        self.set_u32(field::ERROR_STATUS_CODE, value.value());
    }

    /// Sets InformationBufferLength (by the MessageType already set).
    pub fn set_information_buffer_length(&mut self, value: u32) {
        if let Some((length_field, _)) = self.message_type().information_buffer_fields() {
            self.set_u32(length_field, value);
        }
    }

    /// The information-buffer bytes, writable (bounds as in
    /// [`information_buffer`](Self::information_buffer), by the MessageType,
    /// MessageLength and CurrentFragment already set).
    pub fn information_buffer_mut(&mut self) -> &mut [u8] {
        let Some((_, start)) = self.message_type().information_buffer_fields() else {
            return &mut [];
        };
        let start = if self.current_fragment() == 0 {
            start
        } else {
            field::FRAGMENT_PAYLOAD
        };
        let end = to_usize(self.message_length());
        let bytes = self.buffer.as_mut();
        let end = end.min(bytes.len());
        bytes.get_mut(start..end).unwrap_or_default()
    }
}
