//! `/etc/mbimd/mbimd.toml`: which modems mbimd takes, how their interfaces
//! are named, connection profiles, routes, DNS, logging, SIM PINs, the
//! D-Bus APIs (mbimd's own and ModemManager's) and the simulated modem's
//! scenario and control socket.
//!
//! The file is checked completely before mbimd starts: an unknown key, a
//! value of the wrong type or form, or a rule that spans values (two profiles
//! with one name) stops start-up with `file:line:column: what was expected`.
//! `systemd/mbimd.toml` in the repository is the commented example the
//! packages install.
//!
//! A PIN is accepted only from a file that root or mbimd's own user owns and
//! no one else can read (see [`Config::load`]). PINs never appear in `Debug` output or errors.
//!
//! The module map: this file holds the whole configuration and what the
//! rest of mbimd asks of it; `load.rs` reads, parses and checks the file
//! (the PIN rule included); `error.rs` the errors it returns; `sections.rs`
//! the sections of plain settings with their defaults; `devices.rs` the
//! sections that pick the modems, how they are driven and how their
//! interfaces are named; `values.rs` the checked values the sections hold,
//! `validate.rs` the checks that span values, `locate.rs` where in the
//! file a key is, `sessions.rs` who manages sessions, `groups.rs` the
//! group database.

mod devices;
mod error;
pub(crate) mod groups;
mod load;
mod locate;
mod sections;
mod sessions;
mod validate;
mod values;

use serde::Deserialize;

pub use crate::executor::Profile;
pub use crate::policy::{OnRemoval, SlotPolicyConfig};
pub use devices::{DeviceRule, Devices, FccUnlockChoice, FixedName, Interfaces, Transport};
pub use error::ConfigError;
pub use locate::Location;
pub use sections::{
    ApnSourceSettings, Datapath, Dbus, Dns, Logging, MbimProxy, ModemManagerApi,
    ModemManagerSettings, ModemSettings, Power, Routes, Sim, Simulate, SlotPolicySettings,
};
pub use sessions::{SessionManager, Sessions};
// The netdev's default (NetworkManager's for WWAN: behind Ethernet's 100
// and Wi-Fi's 600), so an absent `[routes]` means what the netdev assumes.
pub use crate::netdev::{DnsBackend, InterfaceName, DEFAULT_ROUTE_METRIC, MAX_NAME_LEN};
pub use values::{
    DeviceIdentity, DeviceMatch, Iccid, LogFilter, LogTarget, NameScheme, Pin, RouteMetric,
    DEFAULT_NAME_SCHEME,
};

/// Where mbimd looks for its configuration when `--config` is not given.
pub const DEFAULT_PATH: &str = "/etc/mbimd/mbimd.toml";

/// A configuration file larger than this is refused rather than read: the
/// example with every option is a few kilobytes, and `--config /dev/zero`
/// must not exhaust memory.
pub const MAX_FILE_SIZE: u64 = 1 << 20;

/// The whole configuration. Every section is optional; [`Config::default`]
/// is what mbimd runs with when there is no file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct Config {
    /// Which USB modems mbimd takes.
    pub devices: Devices,
    /// How the network interfaces are named.
    pub interfaces: Interfaces,
    /// Connection profiles (APN, credentials, which SIMs they are for), in
    /// the file's order.
    pub profiles: Vec<Profile>,
    /// Routes through connected interfaces.
    pub routes: Routes,
    /// Where DNS servers go.
    pub dns: Dns,
    /// Logging.
    pub logging: Logging,
    /// Per-SIM settings (PINs), by ICCID.
    pub sims: Vec<Sim>,
    /// The simulated modem of `mbimd --simulate`.
    pub simulate: Simulate,
    /// The slot policy of dual-SIM single-active modems: the defaults and
    /// where remembered choices are kept.
    pub slot_policy: SlotPolicySettings,
    /// `[[modem]]`: settings of particular modems (the first entry whose
    /// device matches wins).
    #[serde(rename = "modem")]
    pub modems: Vec<ModemSettings>,
    /// The D-Bus service.
    pub dbus: Dbus,
    /// The ModemManager D-Bus API (`org.freedesktop.ModemManager1`).
    pub modemmanager: ModemManagerSettings,
    /// Who brings sessions up and configures their IP: decided at start-up
    /// (mbimd serves the ModemManager API or not) and handed to the clients
    /// once at most; never read from the file. Shared by every clone.
    #[serde(skip)]
    pub sessions: Sessions,
    /// The host's sleep.
    pub power: Power,
    /// Where an APN comes from when no profile matches a SIM.
    pub apn_sources: ApnSourceSettings,
    /// Sharing the modems with libmbim's tools (`mbimcli -p`, fwupd).
    pub mbim_proxy: MbimProxy,
    /// The data path between the modem and the network device.
    pub datapath: Datapath,
}

impl Config {
    /// The PIN configured for the SIM with `iccid`.
    pub fn pin_for(&self, iccid: &str) -> Option<&Pin> {
        self.sims
            .iter()
            .find(|sim| sim.iccid.as_str().eq_ignore_ascii_case(iccid))
            .and_then(|sim| sim.pin.as_ref())
    }

    /// The route metric for a connection using `profile`.
    pub fn route_metric(&self, profile: Option<&Profile>) -> u32 {
        profile
            .and_then(|profile| profile.route_metric)
            .unwrap_or(self.routes.metric.get())
    }

    /// The slot policy of the modem `device`: `[slot-policy]`, with the
    /// first matching `[[modem]]` entry's overrides.
    pub fn slot_policy_for(&self, device: &DeviceIdentity<'_>) -> SlotPolicyConfig {
        let defaults = &self.slot_policy;
        let entry = self
            .modems
            .iter()
            .find(|entry| entry.device.matches(device));
        SlotPolicyConfig {
            on_removal: entry
                .and_then(|entry| entry.on_removal)
                .unwrap_or(defaults.on_removal),
            auto_switch: entry
                .and_then(|entry| entry.auto_switch)
                .unwrap_or(defaults.auto_switch),
        }
    }

    /// The APN sources the executors use (`[apn-sources]`, the store beside
    /// the slot store).
    pub fn apn_sources(&self) -> crate::apn::ApnSources {
        let settings = &self.apn_sources;
        crate::apn::ApnSources {
            provisioned_contexts: settings.provisioned_contexts,
            provider_database: (!settings.provider_database.as_os_str().is_empty())
                .then(|| settings.provider_database.clone()),
            network_default: settings.network_default,
            store: settings.remember.then(|| {
                self.slot_policy
                    .state_file
                    .with_file_name(crate::apn::STORE_FILE_NAME)
            }),
        }
    }
}
