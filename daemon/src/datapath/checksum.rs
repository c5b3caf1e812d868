//! The Internet checksum (RFC 1071) where the data path must finish one: a
//! packet the kernel hands over with `CHECKSUM_PARTIAL` (virtio-net
//! `NEEDS_CSUM`) carries only the pseudo-header sum in its checksum field,
//! and a modem forwards what it gets.

/// The ones' complement sum of `data` (big-endian 16-bit words, an odd last
/// byte padded with zero) added to `initial`, folded to 16 bits.
pub(crate) fn sum(data: &[u8], initial: u32) -> u16 {
    let mut total = u64::from(initial);
    let mut words = data.chunks_exact(8);
    for chunk in &mut words {
        let mut wide = [0u8; 8];
        wide.copy_from_slice(chunk);
        let value = u64::from_be_bytes(wide);
        // Four 16-bit words at once; the carries land in the upper bits
        // and are folded below.
        total +=
            (value >> 48) + ((value >> 32) & 0xffff) + ((value >> 16) & 0xffff) + (value & 0xffff);
    }
    let mut pairs = words.remainder().chunks_exact(2);
    for pair in &mut pairs {
        if let [high, low] = pair {
            total += u64::from(u16::from_be_bytes([*high, *low]));
        }
    }
    if let [last] = pairs.remainder() {
        total += u64::from(*last) << 8;
    }
    while total > 0xffff {
        total = (total & 0xffff) + (total >> 16);
    }
    u16::try_from(total).unwrap_or(u16::MAX)
}

/// Completes a partial checksum: the field at `start + offset` holds the
/// pseudo-header sum; the checksum covers everything from `start` to the
/// end of `packet`. `None` (packet unchanged) if the field lies outside it.
pub(crate) fn complete_partial(packet: &mut [u8], start: u16, offset: u16) -> Option<()> {
    let start = usize::from(start);
    let at = start.checked_add(usize::from(offset))?;
    let field = packet.get_mut(at..at.checked_add(2)?)?;
    let initial = u32::from(u16::from_be_bytes([*field.first()?, *field.get(1)?]));
    field.fill(0);
    let folded = !sum(packet.get(start..)?, initial);
    packet
        .get_mut(at..at + 2)?
        .copy_from_slice(&folded.to_be_bytes());
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_match_rfc_1071_examples() {
        // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2.
        assert_eq!(
            sum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7], 0),
            0xddf2
        );
        // Odd length: the last byte is the high half of a word.
        assert_eq!(sum(&[0x12], 0), 0x1200);
        assert_eq!(sum(&[], 0x1_fffe), 0xffff);
        // 8-byte stride and remainders agree with the plain word sum.
        let data: Vec<u8> = (0..=255u8).cycle().take(1001).collect();
        let mut plain = 0u64;
        for pair in data.chunks(2) {
            plain += (u64::from(pair[0]) << 8) | u64::from(*pair.get(1).unwrap_or(&0));
        }
        while plain > 0xffff {
            plain = (plain & 0xffff) + (plain >> 16);
        }
        assert_eq!(u64::from(sum(&data, 0)), plain);
    }

    #[test]
    fn a_partial_checksum_is_completed_and_a_bad_position_refused() {
        // A UDP header and payload whose checksum field holds 0x1234 (a
        // pseudo-header sum): afterwards the whole sums to 0xffff with it.
        let mut packet = vec![0x10, 0x00, 0x20, 0x00, 0x00, 0x0b, 0x12, 0x34, 1, 2, 3];
        complete_partial(&mut packet, 0, 6).unwrap();
        assert_eq!(sum(&packet, 0x1234), 0xffff);
        let before = packet.clone();
        assert!(complete_partial(&mut packet, 8, 2).is_none());
        assert!(complete_partial(&mut packet, u16::MAX, u16::MAX).is_none());
        assert_eq!(packet, before);
    }
}
