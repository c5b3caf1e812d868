//! MBIM_CID_MS_PCO: protocol configuration options the network sent for a
//! session (3GPP TS 24.008 §10.5.6.3), as the device passes them up.

use crate::{mbim_enum, mbim_struct};

mbim_enum! {
    /// MBIM_MS_PCO_TYPE.
    pub enum PcoType {
        /// The whole PCO structure.
        Complete = 0 => "complete",
        /// Only some containers of it (those the host asked for).
        Partial = 1 => "partial",
    }
}

/// MBIM_MS_PCO_VALUE (also the query's payload, with the session id set).
#[mbim_struct]
#[derive(Clone, PartialEq, Eq)]
pub struct PcoValue {
    /// The IP session.
    pub session_id: u32,
    #[mbim(count_of = pco_data_buffer)]
    pco_data_size: u32,
    /// Complete or partial.
    pub pco_data_type: PcoType,
    /// The PCO bytes, directly after the fixed fields.
    #[mbim(inline_bytes)]
    pub pco_data_buffer: Vec<u8>,
}

impl PcoValue {
    /// The DNS, P-CSCF and MTU the network gave in these options.
    pub fn session_options(&self) -> Result<crate::pco::SessionOptions, crate::pco::PcoError> {
        crate::pco::SessionOptions::from_pco(&self.pco_data_buffer)
    }
}
