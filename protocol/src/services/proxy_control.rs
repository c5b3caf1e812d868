//! libmbim's Proxy Control service: not a modem's service but the one a
//! libmbim client (`mbimcli -p`, fwupd) speaks to the `mbim-proxy` that
//! shares a modem, and which mbimd speaks when it plays that proxy. Layout as
//! libmbim's `mbim-service-proxy-control.json`: CONFIGURATION names the
//! device the client wants and its timeout; VERSION tells the client the
//! MBIM extensions version the proxy agreed with the device.

use crate::codec::Empty;
use crate::mbim_service;
use crate::mbim_struct;

/// MBIM_CID_PROXY_CONTROL_CONFIGURATION's SET payload.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyConfiguration {
    /// The device's path as the client named it (`mbimcli -d PATH`).
    pub device_path: String,
    /// How long, in seconds, the client waits for the device to open.
    pub timeout: u32,
}

/// MBIM_CID_PROXY_CONTROL_VERSION's notification payload.
#[mbim_struct]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ProxyVersion {
    /// bcdMbimVersion: 0x0100.
    pub mbim_version: u16,
    /// bcdMbimExtendedVersion agreed with the device (0x0100: none).
    pub mbim_extended_version: u16,
}

mbim_service! {
    /// The Proxy Control CID table.
    service "proxy-control" = "838cf7fb-8d0d-4d7f-871e-d71dbefbb39b";
    /// Which device a proxy client wants; answered once the device is open.
    Configuration = 1, "configuration", executor {
        set: ProxyConfiguration, response: Empty,
    }
    /// The MBIM extensions version in force, told to clients unasked.
    Version = 2, "version", executor {
        notification: ProxyVersion,
    }
}
