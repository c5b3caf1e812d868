//! The quick join (`join_open_run`) against the full rules
//! (`plan_classified`): whatever the quick path decides, the full rules
//! must decide the same, so that the quick path changes only the speed.

#![allow(clippy::cast_possible_truncation)]

use super::*;

// The ones' complement sum of big-endian words, plainly: not the routine
// the coalescer uses, so a fault there cannot hide here.
use crate::checksum::tests::reference as plain_sum;

/// Makes the IPv4 header checksum and the transport checksum right for
/// what the packet now says (its length fields are left as they are).
fn refresh(packet: &mut [u8]) {
    let v6 = packet[0] >> 4 == 6;
    let ip = if v6 { 40 } else { 20 };
    let protocol = if v6 { packet[6] } else { packet[9] };
    if !v6 {
        packet[10..12].fill(0);
        let sum = !plain_sum(&packet[..20], 0);
        packet[10..12].copy_from_slice(&sum.to_be_bytes());
    }
    let field = ip + if protocol == TCP { 16 } else { 6 };
    packet[field..field + 2].fill(0);
    let addresses = if v6 { &packet[8..40] } else { &packet[12..20] };
    let length = (packet.len() - ip) as u32;
    let pseudo = u32::from(plain_sum(addresses, u32::from(protocol))) + length;
    let sum = match !plain_sum(&packet[ip..], pseudo) {
        0 if protocol == UDP => 0xffff,
        sum => sum,
    };
    packet[field..field + 2].copy_from_slice(&sum.to_be_bytes());
}

/// Datagram `index` of a bulk flow (`port` its source port): IPv4 with DF
/// and IDs counting up, or IPv6; TCP with ACK and sequence numbers
/// following on, or UDP; `payload` bytes that differ per datagram.
fn datagram(v6: bool, tcp: bool, port: u16, index: u32, payload: usize) -> Vec<u8> {
    let transport_len = if tcp { 20 } else { 8 } + payload;
    let mut packet = if v6 {
        let mut header = vec![0x60, 0, 0, 0];
        header.extend_from_slice(&(transport_len as u16).to_be_bytes());
        header.extend_from_slice(&[if tcp { TCP } else { UDP }, 64]);
        header.extend_from_slice(&[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        header.extend_from_slice(&[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        header
    } else {
        let mut header = vec![0x45, 0];
        header.extend_from_slice(&((20 + transport_len) as u16).to_be_bytes());
        header.extend_from_slice(&(0x1000 + index as u16).to_be_bytes());
        header.extend_from_slice(&[IPV4_DF, 0, 64, if tcp { TCP } else { UDP }, 0, 0]);
        header.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
        header
    };
    packet.extend_from_slice(&port.to_be_bytes());
    packet.extend_from_slice(&6000u16.to_be_bytes());
    if tcp {
        let seq = 1000 + index * payload as u32;
        packet.extend_from_slice(&seq.to_be_bytes());
        packet.extend_from_slice(&77u32.to_be_bytes());
        packet.extend_from_slice(&[5 << 4, TCP_ACK, 0xff, 0xff, 0, 0, 0, 0]);
    } else {
        packet.extend_from_slice(&(transport_len as u16).to_be_bytes());
        packet.extend_from_slice(&[0, 0]);
    }
    packet.extend((0..payload).map(|i| (i as u32 * 7 + index) as u8));
    refresh(&mut packet);
    packet
}

/// `parts` laid one after the other in a block, a byte apart, and where
/// each starts.
fn block_of(parts: &[&[u8]]) -> (Vec<u8>, Vec<usize>) {
    let mut block = vec![0xee];
    let mut starts = Vec::new();
    for part in parts {
        starts.push(block.len());
        block.extend_from_slice(part);
        block.push(0xee);
    }
    (block, starts)
}

/// The coalescer after `before` were pushed, then `last` by the quick
/// join alone and by the full rules alone: whether the quick join took it,
/// and the three states (before, quick, full).
fn decide(before: &[&[u8]], last: &[u8]) -> (bool, Coalescer, Coalescer, Coalescer) {
    let mut parts = before.to_vec();
    parts.push(last);
    let (block, starts) = block_of(&parts);
    let mut base = Coalescer::new(true);
    base.clear();
    for (part, &at) in before.iter().zip(&starts) {
        assert!(base.push(&block, &block[at..at + part.len()]));
    }
    let at = *starts.last().unwrap();
    let last = &block[at..at + last.len()];
    let mut quick = base.clone();
    let joined = quick.join_open_run(&block, at, last);
    let mut full = base.clone();
    full.plan_classified(&block, at, last);
    (joined, base, quick, full)
}

#[test]
fn the_quick_join_decides_as_the_full_rules_whatever_header_byte_differs() {
    for (v6, tcp) in [(false, false), (false, true), (true, false), (true, true)] {
        let header_len = if v6 { 40 } else { 20 } + if tcp { 20 } else { 8 };
        let flow: Vec<Vec<u8>> = (0..3).map(|i| datagram(v6, tcp, 5000, i, 100)).collect();
        let other = datagram(v6, tcp, 5001, 0, 100);
        // The run the third joins is the newest open one, or an older one
        // with another flow's run opened after it.
        let befores: [Vec<&[u8]>; 2] = [vec![&flow[0], &flow[1]], vec![&flow[0], &flow[1], &other]];
        let (mut joined, mut refused) = (0, 0);
        for before in &befores {
            for offset in 0..header_len + 2 {
                for flip in [0x01u8, 0x08, 0x80, 0xff] {
                    for sums_made_right in [true, false] {
                        let mut last = flow[2].clone();
                        last[offset] ^= flip;
                        if sums_made_right {
                            refresh(&mut last);
                        }
                        let (quick_joined, base, quick, full) = decide(before, &last);
                        let full_joined = full.runs[0].count == 3;
                        let case = format!(
                            "v6 {v6}, tcp {tcp}, {} before, byte {offset} ^ {flip:#x}, sums right \
                             {sums_made_right}",
                            before.len()
                        );
                        assert_eq!(quick_joined, full_joined, "{case}");
                        if quick_joined {
                            assert_eq!(quick, full, "{case}");
                            joined += 1;
                        } else {
                            assert_eq!(quick, base, "{case}: a refusal changed the plan");
                            refused += 1;
                        }
                    }
                }
            }
        }
        // Both ways were taken: payload bytes and fields left out of the
        // rules join, the rest is refused.
        assert!(
            joined > 20 && refused > 100,
            "v6 {v6}, tcp {tcp}: {joined} / {refused}"
        );
    }
}

#[test]
fn the_quick_join_decides_as_the_full_rules_on_the_run_s_own_limits() {
    // A short datagram, one too long, PSH, a wrong sequence number or ID,
    // lengths that do not match the datagram, UDP's checksum 0.
    for (v6, tcp) in [(false, false), (false, true), (true, false), (true, true)] {
        let ip = if v6 { 40 } else { 20 };
        let flow: Vec<Vec<u8>> = (0..3).map(|i| datagram(v6, tcp, 5000, i, 100)).collect();
        let mut lasts = vec![
            datagram(v6, tcp, 5000, 2, 99),
            datagram(v6, tcp, 5000, 2, 101),
            datagram(v6, tcp, 5000, 2, 1),
            datagram(v6, tcp, 5000, 3, 100),
            flow[2][..flow[2].len() - 1].to_vec(),
        ];
        let mut longer = flow[2].clone();
        longer.push(0);
        lasts.push(longer);
        if tcp {
            let mut psh = flow[2].clone();
            psh[ip + 13] |= TCP_PSH;
            refresh(&mut psh);
            lasts.push(psh);
        } else {
            let mut none = flow[2].clone();
            none[ip + 6..ip + 8].fill(0);
            lasts.push(none);
        }
        for (index, last) in lasts.iter().enumerate() {
            let (quick_joined, base, quick, full) = decide(&[&flow[0], &flow[1]], last);
            let full_joined = full.runs[0].count == 3;
            assert_eq!(
                quick_joined, full_joined,
                "v6 {v6}, tcp {tcp}, case {index}"
            );
            if quick_joined {
                assert_eq!(quick, full, "v6 {v6}, tcp {tcp}, case {index}");
            } else {
                assert_eq!(quick, base, "v6 {v6}, tcp {tcp}, case {index}");
            }
        }
    }
}
