//! A deterministic mutator: the same seed and corpus give the same inputs on
//! every machine, so a run in CI is repeatable and a failure reproduces.
//!
//! The mutations are libFuzzer's kinds, tuned to MBIM's wire formats: most
//! fields are little-endian `u32`s at 4-byte offsets (lengths, offsets,
//! counts, statuses, CIDs), so whole aligned words get boundary values and
//! small deltas, which is what walks a length or offset past a buffer's end.

/// SplitMix64: small, fast, and the same everywhere.
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator started at `seed`.
    pub fn new(seed: u64) -> Self {
        Rng { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number below `bound` (0 when `bound` is 0).
    pub fn below(&mut self, bound: usize) -> usize {
        if bound == 0 {
            return 0;
        }
        let bound = u64::try_from(bound).unwrap_or(u64::MAX);
        usize::try_from(self.next_u64() % bound).unwrap_or(0)
    }

    /// A random byte.
    pub fn byte(&mut self) -> u8 {
        self.next_u64().to_le_bytes()[0]
    }
}

/// Values that sit on the edges of MBIM's fields.
const INTERESTING_U32: [u32; 12] = [
    0,
    1,
    2,
    3,
    4,
    0x7F,
    0x80,
    0xFF,
    0xFFFF,
    0x8000_0000,
    0xFFFF_FFFE,
    0xFFFF_FFFF,
];

/// Mutates copies of corpus inputs, up to `max_len` bytes long.
#[derive(Debug, Clone)]
pub struct Mutator {
    rng: Rng,
    max_len: usize,
}

impl Mutator {
    /// A mutator seeded with `seed`.
    pub fn new(seed: u64, max_len: usize) -> Self {
        Mutator {
            rng: Rng::new(seed),
            max_len,
        }
    }

    /// The generator, for picking corpus entries.
    pub fn rng(&mut self) -> &mut Rng {
        &mut self.rng
    }

    /// 1 to 8 stacked mutations of `input`; `other` is another corpus entry
    /// for crossover.
    pub fn mutate(&mut self, input: &mut Vec<u8>, other: &[u8]) {
        let rounds = 1 + self.rng.below(8);
        for _ in 0..rounds {
            self.mutate_once(input, other);
        }
        input.truncate(self.max_len);
    }

    fn mutate_once(&mut self, input: &mut Vec<u8>, other: &[u8]) {
        if input.is_empty() {
            input.push(self.rng.byte());
            return;
        }
        let len = input.len();
        match self.rng.below(11) {
            // One bit.
            0 => {
                let at = self.rng.below(len);
                let bit = self.rng.below(8);
                if let Some(byte) = input.get_mut(at) {
                    *byte ^= 1 << bit;
                }
            }
            // One byte, any value.
            1 => {
                let at = self.rng.below(len);
                let value = self.rng.byte();
                if let Some(byte) = input.get_mut(at) {
                    *byte = value;
                }
            }
            // An aligned word set to a boundary value.
            2 => {
                let value = INTERESTING_U32
                    .get(self.rng.below(INTERESTING_U32.len()))
                    .copied()
                    .unwrap_or(0);
                let at = self.aligned(len);
                write_u32(input, at, value);
            }
            // An aligned word moved by a small delta (lengths, offsets, counts).
            3 => {
                let at = self.aligned(len);
                let delta = u32::try_from(self.rng.below(33)).unwrap_or(0);
                let word = read_u32(input, at);
                let value = if self.rng.below(2) == 0 {
                    word.wrapping_add(delta)
                } else {
                    word.wrapping_sub(delta)
                };
                write_u32(input, at, value);
            }
            // Random bytes inserted.
            4 => {
                let at = self.rng.below(len + 1);
                let count = 1 + self.rng.below(16);
                let bytes: Vec<u8> = (0..count).map(|_| self.rng.byte()).collect();
                input.splice(at..at, bytes);
            }
            // A range removed.
            5 => {
                let at = self.rng.below(len);
                let count = 1 + self.rng.below((len - at).min(64));
                input.drain(at..at + count);
            }
            // A range repeated after itself.
            6 => {
                let at = self.rng.below(len);
                let count = 1 + self.rng.below((len - at).min(64));
                let copy = input.get(at..at + count).unwrap_or_default().to_vec();
                input.splice(at + count..at + count, copy);
            }
            // Cut short.
            7 => input.truncate(self.rng.below(len)),
            // Crossover: this input's head, the other's tail.
            8 if !other.is_empty() => {
                let head = self.rng.below(len + 1);
                let tail = self.rng.below(other.len());
                input.truncate(head);
                input.extend_from_slice(other.get(tail..).unwrap_or_default());
            }
            // A piece of the other input written over this one.
            9 if !other.is_empty() => {
                let from = self.rng.below(other.len());
                let count = 1 + self.rng.below((other.len() - from).min(64));
                let at = self.rng.below(len);
                for (offset, byte) in other.iter().skip(from).take(count).enumerate() {
                    if let Some(slot) = input.get_mut(at + offset) {
                        *slot = *byte;
                    }
                }
            }
            // A byte nudged by one (a choice byte moves to its neighbour).
            _ => {
                let at = self.rng.below(len);
                let up = self.rng.below(2) == 0;
                if let Some(byte) = input.get_mut(at) {
                    *byte = if up {
                        byte.wrapping_add(1)
                    } else {
                        byte.wrapping_sub(1)
                    };
                }
            }
        }
    }

    /// A 4-byte-aligned offset mostly, any offset sometimes.
    fn aligned(&mut self, len: usize) -> usize {
        let at = self.rng.below(len);
        if self.rng.below(4) == 0 {
            at
        } else {
            at & !3
        }
    }
}

fn read_u32(input: &[u8], at: usize) -> u32 {
    let mut word = [0u8; 4];
    for (offset, slot) in word.iter_mut().enumerate() {
        *slot = input.get(at + offset).copied().unwrap_or(0);
    }
    u32::from_le_bytes(word)
}

fn write_u32(input: &mut [u8], at: usize, value: u32) {
    for (offset, byte) in value.to_le_bytes().into_iter().enumerate() {
        if let Some(slot) = input.get_mut(at + offset) {
            *slot = byte;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_inputs() {
        let seed_input = b"\x03\x00\x00\x80\x30\x00\x00\x00".to_vec();
        let run = |seed| {
            let mut mutator = Mutator::new(seed, 64);
            (0..100)
                .map(|_| {
                    let mut input = seed_input.clone();
                    mutator.mutate(&mut input, b"other input");
                    input
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }

    #[test]
    fn inputs_stay_within_the_length_limit_and_change() {
        let mut mutator = Mutator::new(1, 32);
        let mut changed = 0;
        for _ in 0..1000 {
            let mut input = vec![0x11; 24];
            mutator.mutate(&mut input, &[0x22; 40]);
            assert!(input.len() <= 32);
            changed += usize::from(input != vec![0x11; 24]);
        }
        assert!(changed > 900, "{changed} of 1000 inputs changed");
    }
}
