//! Intel's mutual-authentication service: the FCC lock of Intel modems as a
//! challenge and its response. Layout as libmbim's
//! `mbim-service-intel-mutual-authentication.json` (mbimcli
//! `--intel-query-fcc-lock`, `--intel-set-fcc-lock`). The response is
//! computed as ModemManager computes it for the same lock over the
//! XMM7360's RPC port (`mm-broadband-modem-xmm7360.c`): [`fcc_response`].

use crate::codec::Empty;
use crate::{mbim_service, mbim_struct};
use sha2::{Digest, Sha256};

mbim_service! {
    /// The Intel mutual-authentication CID table.
    service "intel-mutual-authentication" = "f85d46ef-ab26-4081-9868-4d183c0a3aec";
    /// MBIM_CID_INTEL_MUTUAL_AUTHENTICATION_FCC_LOCK: the challenge (query,
    /// or set without a response) and the response to it (set).
    FccLock = 1, "fcc-lock", device {
        query: Empty, set: FccLockSet, response: FccLockInfo,
    }
}

/// The host's side: a response, or (`response_present` 0) none, asking for
/// a challenge.
#[mbim_struct]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct FccLockSet {
    /// 1 when `response` is the answer to the last challenge, 0 otherwise.
    pub response_present: u32,
    /// The answer.
    pub response: u32,
}

/// The modem's side: a challenge while it is locked.
#[mbim_struct]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct FccLockInfo {
    /// 1 while the modem is locked and `challenge` is to be answered;
    /// 0 once it is unlocked.
    pub challenge_present: u32,
    /// The challenge.
    pub challenge: u32,
}

impl FccLockInfo {
    /// The challenge to answer, while the modem is locked.
    pub fn challenge(&self) -> Option<u32> {
        (self.challenge_present != 0).then_some(self.challenge)
    }
}

/// The vendor key ModemManager's Intel unlocks use (the first four bytes of
/// the SHA-256 of the platform's model id, `3df8c719` for Lenovo's).
pub const DEFAULT_VENDOR_KEY: [u8; 4] = [0x3d, 0xf8, 0xc7, 0x19];

/// The response to `challenge`: the SHA-256 of the challenge's
/// little-endian bytes followed by `vendor_key`, whose first four bytes
/// read as a little-endian number.
pub fn fcc_response(challenge: u32, vendor_key: [u8; 4]) -> u32 {
    let digest = Sha256::new()
        .chain_update(challenge.to_le_bytes())
        .chain_update(vendor_key)
        .finalize();
    let mut first = [0u8; 4];
    for (to, from) in first.iter_mut().zip(digest.iter()) {
        *to = *from;
    }
    u32::from_le_bytes(first)
}
