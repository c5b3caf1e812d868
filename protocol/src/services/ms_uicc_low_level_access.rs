//! Microsoft UICC low-level access: the applications on the SIM (USIM, ISIM…)
//! and which one is active. Layouts as libmbim's
//! `mbim-service-ms-uicc-low-level-access.json`; the CIDs of this service
//! not declared here (ATR, logical channels, APDU, file access) decode as
//! raw bytes.

use crate::codec::Empty;
use crate::{mbim_enum, mbim_service, mbim_struct};

mbim_service! {
    /// The UICC low-level access CID table.
    service "ms-uicc-low-level-access" = "c2f6588e-f037-4bc9-8665-f4d44bd09367";
    /// MBIM_CID_MS_UICC_APP_LIST: the SIM's applications.
    ApplicationList = 7, "application-list", executor {
        query: Empty, response: UiccApplicationList,
    }
}

mbim_enum! {
    /// MBIM_UICC_APP_TYPE.
    pub enum UiccApplicationType {
        /// Not known.
        Unspecified = 0 => "unknown",
        /// The master file of a legacy SIM.
        Mf = 1 => "mf",
        /// A legacy GSM SIM.
        MfSim = 2 => "mf-sim",
        /// A legacy CDMA R-UIM.
        MfRuim = 3 => "mf-ruim",
        /// A USIM.
        Usim = 4 => "usim",
        /// A CSIM.
        Csim = 5 => "csim",
        /// An ISIM.
        Isim = 6 => "isim",
    }
}

/// MBIM_UICC_APPLICATION.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq)]
pub struct UiccApplication {
    /// Its kind.
    pub application_type: UiccApplicationType,
    /// Its AID.
    pub application_id: Vec<u8>,
    /// Its label, UTF-8.
    #[mbim(utf8)]
    pub application_name: String,
    /// How many PIN key references follow.
    pub pin_key_reference_count: u32,
    /// The key references of the PINs that protect it.
    pub pin_key_references: Vec<u8>,
}

/// MBIM_UICC_APP_LIST.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq)]
pub struct UiccApplicationList {
    /// The structure's version (1).
    pub version: u32,
    #[mbim(count_of = applications)]
    application_count: u32,
    /// The index of the active application.
    pub active_application_index: u32,
    /// The size of the application list, as the device gives it.
    pub application_list_size_bytes: u32,
    /// The applications.
    #[mbim(struct_list)]
    pub applications: Vec<UiccApplication>,
}
