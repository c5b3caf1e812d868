//! Modem-wide settings and what the USB device announces: its identity,
//! every MBIM function's descriptor values and the NTB parameters.

use serde::{Deserialize, Serialize};

/// Modem-wide settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModemConfig {
    /// MBIM_MS_SYS_CAPS_INFO.ModemId.
    pub modem_id: u64,
    /// Executors that may be active at once (1 for DSSA).
    pub concurrency: u32,
    /// How long OPEN takes before OPEN_DONE (seed 000: wait, never BUSY).
    pub open_delay_ms: u64,
    /// How long a device-wide SET (DEVICE_SLOT_MAPPINGS, EMERGENCY_MODE)
    /// takes; a second one arriving meanwhile on any function waits.
    pub device_set_delay_ms: u64,
    /// DEVICE_CAPS.DeviceId (IMEI).
    pub device_id: String,
    /// DEVICE_CAPS.FirmwareInfo.
    pub firmware_info: String,
    /// DEVICE_CAPS.HardwareInfo.
    pub hardware_info: String,
    /// DEVICE_CAPS.MaxSessions: IP sessions per executor.
    pub max_sessions: u32,
    /// DEVICE_CAPS.DataClass, by libmbim nickname (`lte`, `umts`, …).
    pub data_classes: Vec<String>,
    /// Whether the modem has the Microsoft Host Shutdown service (listed in
    /// DEVICE_SERVICES, MS_HOST_SHUTDOWN answered).
    pub host_shutdown: bool,
    /// Whether the modem takes DEVICE_RESET (MS Basic Connect Extensions):
    /// it answers, leaves the bus and enumerates again; without it the CID
    /// is not listed and answers NO_DEVICE_SUPPORT.
    pub device_reset: bool,
    /// The highest MBIM extensions version the modem offers (1 to 4): with
    /// 1 it does not know MBIM_CID_VERSION and speaks MBIM 1.0; with 2 to 4
    /// each function answers it and then speaks the agreed version's
    /// layouts (REGISTER_STATE, PACKET_SERVICE, SIGNAL_STATE from 2.0;
    /// SUBSCRIBER_READY_STATUS, CONNECT, DEVICE_CAPS_V2 from 3.0; CONNECT
    /// with the network slice, which must be the default one, and
    /// PROVISIONED_CONTEXTS from 4.0).
    pub mbimex: u8,
    /// The FCC lock the modem ships with: its radio stays off (RADIO_STATE
    /// set on fails) until the host lifts it.
    pub fcc_lock: FccLockKind,
    /// The vendor key the `intel` lock's response is keyed with, eight hex
    /// digits (ModemManager's `3df8c719`).
    pub fcc_key: String,
}

/// How a simulated modem's FCC lock is lifted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FccLockKind {
    /// No lock.
    #[default]
    None,
    /// Quectel's RADIO_STATE set on (vendor service `quectel`).
    Quectel,
    /// Intel's mutual-authentication challenge and response.
    Intel,
}

impl Default for ModemConfig {
    fn default() -> Self {
        ModemConfig {
            modem_id: 0x6d62_696d_6400_0001,
            concurrency: 1,
            open_delay_ms: 0,
            device_set_delay_ms: 0,
            device_id: "350000000000001".to_owned(),
            firmware_info: "mbim-sim 0.1".to_owned(),
            hardware_info: "simulated".to_owned(),
            max_sessions: 4,
            data_classes: vec!["umts".to_owned(), "lte".to_owned()],
            host_shutdown: true,
            device_reset: true,
            mbimex: 1,
            fcc_lock: FccLockKind::None,
            fcc_key: "3df8c719".to_owned(),
        }
    }
}

impl ModemConfig {
    /// `fcc_key`'s bytes, in the order written.
    pub fn fcc_key_bytes(&self) -> Option<[u8; 4]> {
        let key = &self.fcc_key;
        if key.len() != 8 || !key.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return None;
        }
        u32::from_str_radix(key, 16).ok().map(u32::to_be_bytes)
    }

    /// The highest MBIM extensions version offered (1.0 for a value the
    /// scenario's check refuses).
    pub fn mbimex_version(&self) -> mbim_protocol::mbimex::MbimExVersion {
        mbim_protocol::mbimex::MbimExVersion::from_major(self.mbimex).unwrap_or_default()
    }
}

/// USB device identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UsbIdentity {
    /// idVendor.
    pub vid: u16,
    /// idProduct.
    pub pid: u16,
    /// iSerialNumber's string.
    pub serial: String,
    /// iManufacturer's string.
    pub manufacturer: String,
    /// iProduct's string.
    pub product: String,
}

impl Default for UsbIdentity {
    fn default() -> Self {
        UsbIdentity {
            vid: 0x1d6b,
            pid: 0x0104,
            serial: "MBIMSIM0001".to_owned(),
            manufacturer: "mbimd".to_owned(),
            product: "Simulated multi-SIM MBIM modem".to_owned(),
        }
    }
}

/// The MBIM functional descriptor values of every function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FunctionSettings {
    /// wMaxControlMessage.
    pub max_control_message: u16,
    /// wMaxSegmentSize.
    pub max_segment_size: u16,
    /// bcdMBIMExtendedVersion (0 = no extended functional descriptor).
    pub extended_version: u16,
    /// bMaxOutstandingCommandMessages.
    pub max_outstanding_commands: u8,
    /// wMTU of the extended functional descriptor.
    pub mtu: u16,
    /// bmNetworkCapabilities.
    pub network_capabilities: u8,
    /// bNumberFilters.
    pub number_filters: u8,
    /// bMaxFilterSize.
    pub max_filter_size: u8,
}

impl Default for FunctionSettings {
    fn default() -> Self {
        FunctionSettings {
            max_control_message: 4096,
            max_segment_size: 1500,
            extended_version: 0x0100,
            max_outstanding_commands: 64,
            mtu: 1500,
            // Bit 3 (SET_MAX_DATAGRAM_SIZE) and bit 5 (8-byte NTB input size).
            network_capabilities: 0x28,
            number_filters: 16,
            max_filter_size: 128,
        }
    }
}

/// NTB parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NtbSettings {
    /// bmNtbFormatsSupported: 1 = NTB16, 3 = NTB16 and NTB32.
    pub formats_supported: u16,
    /// dwNtbInMaxSize.
    pub in_max_size: u32,
    /// wNdpInDivisor.
    pub in_divisor: u16,
    /// wNdpInPayloadRemainder.
    pub in_payload_remainder: u16,
    /// wNdpInAlignment.
    pub in_alignment: u16,
    /// dwNtbOutMaxSize.
    pub out_max_size: u32,
    /// wNdpOutDivisor.
    pub out_divisor: u16,
    /// wNdpOutPayloadRemainder.
    pub out_payload_remainder: u16,
    /// wNdpOutAlignment.
    pub out_alignment: u16,
    /// wNtbOutMaxDatagrams.
    pub out_max_datagrams: u16,
}

impl Default for NtbSettings {
    fn default() -> Self {
        NtbSettings {
            formats_supported: 3,
            in_max_size: 65535,
            in_divisor: 4,
            in_payload_remainder: 0,
            in_alignment: 4,
            out_max_size: 65535,
            out_divisor: 4,
            out_payload_remainder: 0,
            out_alignment: 4,
            out_max_datagrams: 64,
        }
    }
}

impl NtbSettings {
    /// As the protocol crate's parameter block.
    pub fn parameters(&self) -> mbim_protocol::ntb::NtbParameters {
        mbim_protocol::ntb::NtbParameters {
            formats_supported: self.formats_supported,
            in_max_size: self.in_max_size,
            in_divisor: self.in_divisor,
            in_payload_remainder: self.in_payload_remainder,
            in_alignment: self.in_alignment,
            out_max_size: self.out_max_size,
            out_divisor: self.out_divisor,
            out_payload_remainder: self.out_payload_remainder,
            out_alignment: self.out_alignment,
            out_max_datagrams: self.out_max_datagrams,
        }
    }
}
