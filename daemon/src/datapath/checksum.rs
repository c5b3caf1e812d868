//! The Internet checksum (RFC 1071) where the data path must finish one: a
//! packet the kernel hands over with `CHECKSUM_PARTIAL` (virtio-net
//! `NEEDS_CSUM`) carries only the pseudo-header sum in its checksum field,
//! and a modem forwards what it gets.

/// The ones' complement sum of `data` (big-endian 16-bit words, an odd last
/// byte padded with zero) added to `initial`, folded to 16 bits.
///
/// tun-rs's (wireguard-go's algorithm, with AVX2 or SSE4.1 picked at run
/// time): the transmit path sums every byte it sends with offloads, and the
/// receive path's GRO (`gro.rs`) checks every byte it coalesces with
/// the same function.
pub(crate) fn sum(data: &[u8], initial: u32) -> u16 {
    tun_rs::checksum(data, u64::from(initial))
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
        // Every length and start (alignment) against the plain word sum,
        // with an initial value and bytes that carry often.
        let data: Vec<u8> = (0..2100u32)
            .map(|i| i.wrapping_mul(2_654_435_761).to_be_bytes()[1] | 0xc0)
            .collect();
        for start in 0..9 {
            for len in (0..70).chain([1399, 1400, 1401, 2048, 2091]) {
                let slice = &data[start..start + len];
                let mut plain = 0xfedc_u64;
                for pair in slice.chunks(2) {
                    plain += (u64::from(pair[0]) << 8) | u64::from(*pair.get(1).unwrap_or(&0));
                }
                while plain > 0xffff {
                    plain = (plain & 0xffff) + (plain >> 16);
                }
                assert_eq!(u64::from(sum(slice, 0xfedc)), plain, "{start}+{len}");
            }
        }
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
