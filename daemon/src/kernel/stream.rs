//! Whole MBIM control messages out of the bytes a character device reads.
//!
//! The kernel does not keep a read aligned with a message. cdc-wdm appends
//! every GET_ENCAPSULATED_RESPONSE to one buffer and a read takes what fits,
//! so a read may hold several messages, or end inside one when the reader's
//! buffer is smaller than what is waiting; a WWAN port returns one message
//! per read but leaves the rest of it queued when the buffer was too small.
//! [`MessageStream`] cuts the bytes at the MessageLength of each header,
//! whatever the reads were.
//!
//! Nothing the device sends can make it grow past one message of the
//! negotiated maximum: a header announcing more (or less than a header) is
//! an error, and the bytes buffered are dropped, since the boundary of the
//! next message is lost with them. A message that stays incomplete is
//! dropped by the caller after a while ([`MessageStream::partial_since`]),
//! for the same reason.

use mbim_protocol::message::HEADER_LEN;
use std::time::Instant;

/// Why the bytes read are not a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    /// The header announces less than a header.
    #[error("a message header announces {length} bytes, less than the header's {HEADER_LEN}")]
    TooShort {
        /// The MessageLength read.
        length: u32,
    },
    /// The header announces more than the negotiated maximum.
    #[error("a message header announces {length} bytes, more than the maximum of {max}")]
    TooLong {
        /// The MessageLength read.
        length: u32,
        /// The largest control message agreed for the port.
        max: usize,
    },
}

/// Reassembles control messages from a byte stream (sans-IO: bytes and time in).
#[derive(Debug)]
pub struct MessageStream {
    buffer: Vec<u8>,
    max_message: usize,
    partial_since: Option<Instant>,
    /// When bytes last came, which is when a message that follows another
    /// in the same read began.
    last_push: Option<Instant>,
}

impl MessageStream {
    /// A stream of messages of at most `max_message` bytes each.
    pub fn new(max_message: usize) -> MessageStream {
        MessageStream {
            buffer: Vec::with_capacity(max_message),
            max_message,
            partial_since: None,
            last_push: None,
        }
    }

    /// Bytes read at `now`.
    pub fn push(&mut self, bytes: &[u8], now: Instant) {
        if bytes.is_empty() {
            return;
        }
        self.buffer.extend_from_slice(bytes);
        self.last_push = Some(now);
        if self.partial_since.is_none() {
            self.partial_since = Some(now);
        }
    }

    /// The next whole message, an error (the buffered bytes are dropped
    /// with it), or `None` until more bytes come.
    pub fn next_message(&mut self) -> Option<Result<Vec<u8>, StreamError>> {
        let length_field = self.buffer.get(4..8)?;
        let mut length = [0u8; 4];
        length.copy_from_slice(length_field);
        let announced = u32::from_le_bytes(length);
        let length = usize::try_from(announced).unwrap_or(usize::MAX);
        if length < HEADER_LEN {
            self.discard();
            return Some(Err(StreamError::TooShort { length: announced }));
        }
        if length > self.max_message {
            self.discard();
            return Some(Err(StreamError::TooLong {
                length: announced,
                max: self.max_message,
            }));
        }
        if self.buffer.len() < length {
            return None;
        }
        let rest = self.buffer.split_off(length);
        let message = std::mem::replace(&mut self.buffer, rest);
        // What follows already arrived: if it is a message begun, it began now.
        self.partial_since = if self.buffer.is_empty() {
            None
        } else {
            self.last_push
        };
        Some(Ok(message))
    }

    /// When the incomplete message buffered began to arrive (`None` when
    /// nothing is buffered).
    pub fn partial_since(&self) -> Option<Instant> {
        self.partial_since
    }

    /// Drops whatever is buffered; returns how many bytes that was.
    pub fn discard(&mut self) -> usize {
        let dropped = self.buffer.len();
        self.buffer.clear();
        self.partial_since = None;
        dropped
    }

    /// How many bytes are buffered.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(transaction_id: u32, length: usize) -> Vec<u8> {
        let mut bytes = vec![0u8; length];
        bytes[0..4].copy_from_slice(&0x8000_0003u32.to_le_bytes());
        bytes[4..8].copy_from_slice(&u32::try_from(length).unwrap().to_le_bytes());
        bytes[8..12].copy_from_slice(&transaction_id.to_le_bytes());
        for (index, byte) in bytes.iter_mut().enumerate().skip(12) {
            *byte = u8::try_from(index % 251).unwrap();
        }
        bytes
    }

    #[test]
    fn messages_come_out_whole_however_the_reads_cut_them() {
        let messages = [
            message(1, 48),
            message(2, 12),
            message(3, 4096),
            message(4, 100),
        ];
        let all: Vec<u8> = messages.concat();
        // Every chunk size from one byte to all at once.
        for chunk in [1, 2, 3, 7, 11, 12, 13, 47, 48, 49, 1000, 4096, all.len()] {
            let mut stream = MessageStream::new(4096);
            let mut out = Vec::new();
            for piece in all.chunks(chunk) {
                stream.push(piece, Instant::now());
                while let Some(message) = stream.next_message() {
                    out.push(message.unwrap());
                }
            }
            assert_eq!(out, messages, "chunks of {chunk}");
            assert_eq!(stream.buffered(), 0);
            assert_eq!(stream.partial_since(), None);
        }
    }

    #[test]
    fn a_header_announcing_too_little_or_too_much_drops_the_buffer() {
        let mut stream = MessageStream::new(4096);
        let mut short = message(1, 12);
        short[4..8].copy_from_slice(&11u32.to_le_bytes());
        stream.push(&short, Instant::now());
        assert_eq!(
            stream.next_message(),
            Some(Err(StreamError::TooShort { length: 11 }))
        );
        assert_eq!(stream.buffered(), 0);

        let mut long = message(1, 12);
        long[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        stream.push(&long, Instant::now());
        assert_eq!(
            stream.next_message(),
            Some(Err(StreamError::TooLong {
                length: u32::MAX,
                max: 4096
            }))
        );
        assert_eq!(stream.buffered(), 0);
        // The next message is read again as usual.
        stream.push(&message(2, 20), Instant::now());
        assert_eq!(stream.next_message(), Some(Ok(message(2, 20))));
    }

    #[test]
    fn a_partial_message_says_since_when_it_waits() {
        let mut stream = MessageStream::new(4096);
        let start = Instant::now();
        let whole = message(1, 40);
        stream.push(&whole[..10], start);
        assert_eq!(stream.next_message(), None);
        assert_eq!(stream.partial_since(), Some(start));
        stream.push(&whole[10..30], start + std::time::Duration::from_secs(1));
        assert_eq!(
            stream.partial_since(),
            Some(start),
            "still the same message"
        );
        assert_eq!(stream.discard(), 30);
        assert_eq!(stream.partial_since(), None);
    }
}
