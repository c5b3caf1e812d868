//! Auth (MBIM 1.0 §10.5.28-30): SIM, AKA and AKA' challenges for EAP.
//!
//! The Microsoft guidelines (seed 000, "Byte-Ordering Requirements for
//! Authentication CIDs") require RAND, AUTN, RES, IK, CK and AUTS to travel in
//! host byte order. These fields are therefore plain byte arrays here: the
//! codec copies them verbatim in both directions and never reorders them, so
//! what an EAP peer hands the daemon is exactly what reaches the modem.

use crate::{mbim_service, mbim_struct};

mbim_service! {
    /// Auth's CID table.
    service "auth" = "1d2b5ff7-0aa1-48b2-aa52-50f15767174e";
    /// MBIM_CID_AKA_AUTH.
    Aka = 1, "aka", executor { query: AkaAuthRequest, response: AkaAuthInfo, }
    /// MBIM_CID_AKAP_AUTH.
    Akap = 2, "akap", executor { query: AkapAuthRequest, response: AkaAuthInfo, }
    /// MBIM_CID_SIM_AUTH.
    Sim = 3, "sim", executor { query: SimAuthRequest, response: SimAuthInfo, }
}

/// MBIM_AKA_AUTH_REQ.
#[mbim_struct]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AkaAuthRequest {
    /// RAND, host byte order.
    pub rand: [u8; 16],
    /// AUTN, host byte order.
    pub autn: [u8; 16],
}

/// MBIM_AKA_AUTH_INFO (also the AKA' answer).
#[mbim_struct]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AkaAuthInfo {
    /// RES, host byte order.
    #[mbim(secret)]
    pub res: [u8; 16],
    /// Bytes of RES that are used.
    pub res_len: u32,
    /// IK, host byte order.
    #[mbim(secret)]
    pub integrity_key: [u8; 16],
    /// CK, host byte order.
    #[mbim(secret)]
    pub ciphering_key: [u8; 16],
    /// AUTS (on synchronisation failure), host byte order.
    pub auts: [u8; 14],
}

/// MBIM_AKAP_AUTH_REQ.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq)]
pub struct AkapAuthRequest {
    /// RAND, host byte order.
    pub rand: [u8; 16],
    /// AUTN, host byte order.
    pub autn: [u8; 16],
    /// The access network name.
    pub network_name: String,
}

/// MBIM_SIM_AUTH_REQ.
#[mbim_struct]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SimAuthRequest {
    /// First RAND, host byte order.
    pub rand1: [u8; 16],
    /// Second RAND, host byte order.
    pub rand2: [u8; 16],
    /// Third RAND, host byte order.
    pub rand3: [u8; 16],
    /// How many RANDs are used (2 or 3).
    pub n: u32,
}

/// MBIM_SIM_AUTH_INFO.
#[mbim_struct]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SimAuthInfo {
    /// SRES for RAND1.
    pub sres1: u32,
    /// Kc for RAND1.
    #[mbim(secret)]
    pub kc1: u64,
    /// SRES for RAND2.
    pub sres2: u32,
    /// Kc for RAND2.
    #[mbim(secret)]
    pub kc2: u64,
    /// SRES for RAND3.
    pub sres3: u32,
    /// Kc for RAND3.
    #[mbim(secret)]
    pub kc3: u64,
    /// How many results are given.
    pub n: u32,
}
