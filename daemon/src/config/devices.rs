//! The sections that pick the modems: which ones mbimd takes
//! (`[devices]`), how each is driven (`[[devices.rules]]`: the transport and
//! the FCC unlock) and how its network interfaces are named
//! (`[interfaces]`).

use super::{values, DeviceIdentity, DeviceMatch, InterfaceName, NameScheme};
use serde::Deserialize;
use std::path::PathBuf;

/// `[devices]`: which modems mbimd takes. A device not taken is left alone:
/// not claimed, not reset, its kernel driver untouched.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct Devices {
    /// Devices to take; empty takes every MBIM device.
    pub allow: Vec<DeviceMatch>,
    /// Devices never to take; wins over `allow`.
    pub deny: Vec<DeviceMatch>,
    /// `[[devices.rules]]`: how the modems a rule names are driven (the
    /// first matching rule wins).
    pub rules: Vec<DeviceRule>,
}

/// `[[devices.rules]]`: how the modems `device` names are driven.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DeviceRule {
    /// The modem(s), written as in `allow`.
    pub device: DeviceMatch,
    /// Through usbfs (mbimd's own USB driver) or the kernel's driver.
    #[serde(default)]
    pub transport: Transport,
    /// How the modems' FCC lock is lifted when their radio stays off
    /// (`off` unless set).
    #[serde(default)]
    pub fcc_unlock: FccUnlockChoice,
    /// The program `fcc-unlock = "hook"` runs.
    #[serde(default)]
    pub fcc_unlock_hook: Option<PathBuf>,
    /// How long the hook may run, in seconds.
    #[serde(default = "default_fcc_unlock_timeout")]
    pub fcc_unlock_timeout: u64,
    /// The vendor key of `intel-mutual-authentication`, eight hex digits
    /// (ModemManager's `3df8c719` unless set).
    #[serde(default)]
    pub fcc_unlock_key: Option<String>,
}

fn default_fcc_unlock_timeout() -> u64 {
    30
}

/// `fcc-unlock` of a device rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FccUnlockChoice {
    /// Never unlock (the default: see mbimd.toml(5) on who may).
    #[default]
    Off,
    /// The plain-MBIM procedure ModemManager ships for the modem's
    /// vendor:product, if it has one.
    Native,
    /// Quectel's RADIO_STATE set on, whatever the modem.
    QuectelRadioState,
    /// Intel's mutual-authentication challenge and response.
    IntelMutualAuthentication,
    /// The program `fcc-unlock-hook` names.
    Hook,
}

/// How mbimd reaches a USB modem.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Transport {
    /// mbimd claims the USB function itself (the kernel's cdc_mbim is
    /// detached) and moves the packets through its own TUN device.
    #[default]
    Usbfs,
    /// The kernel's cdc_mbim keeps the function: mbimd speaks MBIM over its
    /// `/dev/cdc-wdmN` and configures its network device (`wwan0`). WWAN
    /// devices (PCIe) are always driven this way.
    Kernel,
}

impl Transport {
    /// As the configuration, logs and D-Bus write it.
    pub fn name(self) -> &'static str {
        match self {
            Transport::Usbfs => "usbfs",
            Transport::Kernel => "kernel",
        }
    }
}

impl Devices {
    /// How a USB modem is driven: the first matching rule's transport,
    /// else usbfs.
    pub fn transport_of(&self, device: &DeviceIdentity<'_>) -> Transport {
        self.rule_of(device)
            .map_or(Transport::Usbfs, |rule| rule.transport)
    }

    /// The first rule naming `device`, whose settings drive it.
    pub fn rule_of(&self, device: &DeviceIdentity<'_>) -> Option<&DeviceRule> {
        self.rules.iter().find(|rule| rule.device.matches(device))
    }

    /// Whether mbimd takes `device`: not denied, and allowed (or no allow
    /// list).
    pub fn takes(&self, device: &DeviceIdentity<'_>) -> bool {
        let denied = self.deny.iter().any(|rule| rule.matches(device));
        let allowed = self.allow.is_empty() || self.allow.iter().any(|rule| rule.matches(device));
        allowed && !denied
    }
}

/// `[interfaces]`: names of the network interfaces, one per executor.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct Interfaces {
    /// The template for executors without a fixed name.
    pub scheme: NameScheme,
    /// Fixed names for executors of particular modems.
    pub names: Vec<FixedName>,
}

impl Interfaces {
    /// The fixed name of executor `executor` of `device`, if one is
    /// configured (the first matching entry wins).
    pub fn fixed_name(&self, device: &DeviceIdentity<'_>, executor: u32) -> Option<&InterfaceName> {
        self.names
            .iter()
            .find(|entry| entry.executor == executor && entry.device.matches(device))
            .map(|entry| &entry.name)
    }
}

/// `[[interfaces.names]]`: the name of one executor of the modems `device`
/// names.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FixedName {
    /// The modem(s): use `usb:` or `serial:` when two identical modems are
    /// plugged in, since a vid:pid names both.
    pub device: DeviceMatch,
    /// The executor's index within the modem (0 for single-executor modems).
    #[serde(default)]
    pub executor: u32,
    /// The interface name.
    #[serde(deserialize_with = "values::interface_name")]
    pub name: InterfaceName,
}
