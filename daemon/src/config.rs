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

pub(crate) mod groups;
mod locate;
mod sessions;
mod validate;
mod values;

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::logging::chain;

pub use crate::executor::Profile;
pub use crate::policy::{OnRemoval, SlotPolicyConfig};
pub use locate::Location;
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

/// `[datapath]`: how packets move between a modem and its TUN device.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct Datapath {
    /// Open TUN devices with `IFF_VNET_HDR` offloads (TSO/USO and checksum
    /// towards the modem, GRO towards the host): TCP and UDP super-packets
    /// are segmented into NTB datagrams, and an NTB's datagrams of one flow
    /// are written as one. Off: one packet per read and per write.
    pub offload: bool,
}

impl Default for Datapath {
    fn default() -> Self {
        Datapath { offload: true }
    }
}

/// `[modemmanager]`: whether mbimd serves the ModemManager API, through
/// which NetworkManager, GNOME, KDE and mmcli manage its modems.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct ModemManagerSettings {
    /// `auto`, `on` or `off`.
    pub api: ModemManagerApi,
}

/// `[modemmanager] api`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModemManagerApi {
    /// Served when the name `org.freedesktop.ModemManager1` is free at
    /// start-up; if ModemManager itself runs, mbimd leaves the name to it
    /// and drives its modems on its own. While served, mbimd still connects
    /// and configures its modems itself until a client takes over: when
    /// NetworkManager is on the bus, or a client connects or disconnects
    /// through the API (see [`Sessions`]).
    #[default]
    Auto,
    /// Always served: if the name is taken, mbimd waits in the bus's queue
    /// and takes it when its owner leaves. Sessions are the clients'.
    On,
    /// Never served: mbimd connects and configures its modems itself.
    Off,
}

/// `[apn-sources]`: what mbimd tries, in this order, when no `[[profiles]]`
/// entry matches a SIM: the APN that worked last time for it, the modem's
/// provisioned contexts, the provider database, the network's default.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct ApnSourceSettings {
    /// Ask the modem for its provisioned contexts.
    pub provisioned_contexts: bool,
    /// mobile-broadband-provider-info's `serviceproviders.xml`; empty: not
    /// used. A relative path is taken from the configuration file's
    /// directory.
    pub provider_database: PathBuf,
    /// Try the empty APN (the network's default) last.
    pub network_default: bool,
    /// Remember what connected each SIM (in `apns.toml` beside the slot
    /// policy's `state-file`) and try it first next time.
    pub remember: bool,
}

impl Default for ApnSourceSettings {
    fn default() -> Self {
        ApnSourceSettings {
            provisioned_contexts: true,
            provider_database: PathBuf::from(crate::apn::DEFAULT_PROVIDER_DATABASE),
            network_default: true,
            remember: true,
        }
    }
}

/// `[slot-policy]`: the slot policy every dual-SIM single-active modem gets
/// unless a `[[modem]]` entry says otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct SlotPolicySettings {
    /// What a SIM removed from the selected physical slot does.
    pub on_removal: OnRemoval,
    /// Whether a SIM inserted into the physical slot is switched to at once.
    pub auto_switch: bool,
    /// Where the remembered slot of each modem is kept. A relative path is
    /// taken from the configuration file's directory.
    pub state_file: PathBuf,
}

impl Default for SlotPolicySettings {
    fn default() -> Self {
        SlotPolicySettings {
            on_removal: OnRemoval::default(),
            auto_switch: false,
            state_file: PathBuf::from(crate::policy::store::DEFAULT_PATH),
        }
    }
}

/// `[[modem]]`: overrides for the modems `device` names.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ModemSettings {
    /// The modem(s), written as in `[devices]`.
    pub device: DeviceMatch,
    /// Overrides `[slot-policy] on-removal`.
    #[serde(default)]
    pub on_removal: Option<OnRemoval>,
    /// Overrides `[slot-policy] auto-switch`.
    #[serde(default)]
    pub auto_switch: Option<bool>,
}

/// `[dbus]`: the D-Bus service on the system bus.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct Dbus {
    /// Whether mbimd offers its D-Bus API at all.
    pub enable: bool,
    /// Members of this group may change things (connect, PINs, slots);
    /// everyone may read. `None`: root only.
    pub admin_group: Option<String>,
    /// `admin_group` resolved to its gid when the file was loaded.
    #[serde(skip)]
    pub admin_gid: Option<u32>,
}

impl Default for Dbus {
    fn default() -> Self {
        Dbus {
            enable: true,
            admin_group: None,
            admin_gid: None,
        }
    }
}

/// `[power]`: what mbimd does when the host sleeps and wakes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct Power {
    /// Follow logind's PrepareForSleep: before the host sleeps, close every
    /// modem (MS_HOST_SHUTDOWN where it has it) while holding a delay
    /// inhibitor; when it wakes, open and reconnect them.
    pub follow_sleep: bool,
}

impl Default for Power {
    fn default() -> Self {
        Power { follow_sleep: true }
    }
}

/// `[mbim-proxy]`: mbimd plays libmbim's `mbim-proxy`, so `mbimcli -p` and
/// fwupd reach the modems it holds, their transactions kept apart from its.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct MbimProxy {
    /// Serve the abstract socket `mbim-proxy` (root, mbimd's user and the
    /// `[dbus] admin-group` may connect).
    pub enable: bool,
    /// Where the paths that name each executor are made: a FIFO per
    /// executor, named as its network device (`mbimcli -p -d
    /// /run/mbimd/mbim-proxy/mbim0e0`). Only a name: nothing reads it.
    pub directory: PathBuf,
}

impl Default for MbimProxy {
    fn default() -> Self {
        MbimProxy {
            enable: true,
            directory: PathBuf::from("/run/mbimd/mbim-proxy"),
        }
    }
}

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

/// `[routes]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct Routes {
    /// Whether a connected interface gets default routes (IPv4 and IPv6);
    /// `false` leaves only the on-link prefix routes.
    pub default_route: bool,
    /// The metric of routes through mbimd's interfaces, unless a profile's
    /// `route-metric` says otherwise.
    pub metric: RouteMetric,
}

impl Default for Routes {
    fn default() -> Self {
        Routes {
            default_route: true,
            metric: RouteMetric::default(),
        }
    }
}

/// `[dns]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct Dns {
    /// Where the DNS servers of a connection go.
    pub backend: DnsBackend,
}

/// `[logging]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct Logging {
    /// The filter (`RUST_LOG`, when set, takes precedence).
    pub level: LogFilter,
    /// Journal or standard error.
    pub target: LogTarget,
    /// Log IMSI, ICCID, IMEI and telephone numbers in full instead of masked.
    pub show_personal_info: bool,
}

/// `[[sims]]`: settings of the SIM with one ICCID.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Sim {
    /// The SIM's ICCID.
    pub iccid: Iccid,
    /// The PIN to enter when the SIM asks for PIN1.
    #[serde(default)]
    pub pin: Option<Pin>,
}

/// `[simulate]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct Simulate {
    /// The scenario file of `mbimd --simulate` (`None`: the built-in one). A
    /// relative path is taken from the configuration file's directory.
    pub scenario: Option<PathBuf>,
    /// Where `mbimd --simulate` serves the simulator's control socket, for
    /// `mbim-sim ctl --control PATH` (`None`: no socket; `--sim-control`
    /// overrides it). A relative path is taken from the configuration
    /// file's directory.
    pub control: Option<PathBuf>,
    /// The real network behind the (first) simulated modem, `DEVICE[@NETNS]`:
    /// a TUN device in a network namespace (`None`: none, the simulated
    /// network ends at the gateway; `--sim-forward` overrides it), opened
    /// with offloads as `[datapath] offload` says.
    pub forward: Option<mbim_sim::forward::ForwardTarget>,
}

/// Why the configuration was not loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be opened or read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file exists but the user mbimd runs as may not read it.
    #[error(
        "cannot read {}: mbimd runs as uid {daemon_uid}, which may not read it (the packaged \
         unit runs mbimd as the user mbimd: `chgrp mbimd {0} && chmod 0640 {0}`, or, for a \
         file with a PIN, `chown mbimd {0} && chmod 0600 {0}`)",
        path.display()
    )]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The effective uid that was refused.
        daemon_uid: u32,
        /// The refusal.
        source: std::io::Error,
    },
    /// The file is not a regular file or is too large.
    #[error("{}: {reason}", path.display())]
    NotAConfigFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A syntax error, unknown key, wrong type or bad value.
    #[error("{at}: {message}")]
    Invalid {
        /// Where.
        at: Location,
        /// What was wrong and what was expected.
        message: String,
    },
    /// A PIN in a file others could read or change.
    #[error(
        "{at}: a PIN is only accepted from a file owned by root (uid 0) or by the user mbimd \
         runs as (uid {daemon_uid}) that group and others cannot access (mode 0600); {} is \
         owned by uid {uid} with mode {mode:04o}; fix it with `chown {daemon_uid} {0} && \
         chmod 0600 {0}`, or remove the PIN",
        at.path.display()
    )]
    UnprotectedPin {
        /// Where the first PIN is.
        at: Location,
        /// The file's owner.
        uid: u32,
        /// The file's permission bits.
        mode: u32,
        /// The effective uid of the process that read it: the packaged
        /// unit runs mbimd as the system user `mbimd`, which cannot read a
        /// root-owned 0600 file, so that user may own it too.
        daemon_uid: u32,
    },
}

/// How the text was protected, for the PIN rule.
#[derive(Debug, Clone, Copy)]
enum Origin {
    /// Read from a file with this owner and mode.
    File { uid: u32, mode: u32 },
    /// Given as text: no protection to speak of.
    Text,
}

impl Config {
    /// Reads and checks the file at `path`.
    ///
    /// A PIN is accepted only when the file is owned by root or by the user
    /// mbimd runs as, and its mode gives group and others nothing
    /// (`mode & 0o077 == 0`): anyone who can read the PIN can unlock the
    /// SIM, and anyone who can write the file can make mbimd enter wrong
    /// PINs until the SIM locks to its PUK.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let read_error = |source: std::io::Error| {
            if source.kind() == std::io::ErrorKind::PermissionDenied {
                ConfigError::Unreadable {
                    path: path.to_owned(),
                    daemon_uid: rustix::process::geteuid().as_raw(),
                    source,
                }
            } else {
                ConfigError::Read {
                    path: path.to_owned(),
                    source,
                }
            }
        };
        // Owner and mode come from the opened file, not the path, so they
        // describe the bytes read even if the path is replaced meanwhile.
        let file = File::open(path).map_err(read_error)?;
        let metadata = file.metadata().map_err(read_error)?;
        if !metadata.is_file() {
            return Err(ConfigError::NotAConfigFile {
                path: path.to_owned(),
                reason: "not a regular file".to_owned(),
            });
        }
        if metadata.len() > MAX_FILE_SIZE {
            return Err(ConfigError::NotAConfigFile {
                path: path.to_owned(),
                reason: format!("larger than {MAX_FILE_SIZE} bytes"),
            });
        }
        let mut text = String::new();
        file.take(MAX_FILE_SIZE)
            .read_to_string(&mut text)
            .map_err(read_error)?;
        let origin = Origin::File {
            uid: metadata.uid(),
            mode: metadata.mode() & 0o7777,
        };
        let mut config = parse(&text, path, origin)?;
        config.resolve_paths(path);
        Ok(config)
    }

    /// The configuration mbimd runs with: `--config`'s file when given (it
    /// must exist), else [`DEFAULT_PATH`] when it exists, else
    /// [`Config::default`].
    pub fn load_or_default(explicit: Option<&Path>) -> Result<Config, ConfigError> {
        match explicit {
            Some(path) => Config::load(path),
            None => match Config::load(Path::new(DEFAULT_PATH)) {
                Err(ConfigError::Read { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound =>
                {
                    Ok(Config::default())
                }
                other => other,
            },
        }
    }

    /// Checks `text` as if it were the file `origin` (which is only used in
    /// error locations and to resolve relative paths). A PIN is refused: text
    /// that did not come through [`Config::load`] has no owner and mode to
    /// check.
    pub fn parse(text: &str, origin: &Path) -> Result<Config, ConfigError> {
        let mut config = parse(text, origin, Origin::Text)?;
        config.resolve_paths(origin);
        Ok(config)
    }

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

    fn resolve_paths(&mut self, origin: &Path) {
        for path in [
            self.simulate.scenario.as_mut(),
            self.simulate.control.as_mut(),
            Some(&mut self.slot_policy.state_file),
            Some(&mut self.apn_sources.provider_database)
                .filter(|path| !path.as_os_str().is_empty()),
        ]
        .into_iter()
        .flatten()
        {
            *path = relative_to(origin, path);
        }
    }
}

/// `path` as the configuration file `origin` means it: a relative path is
/// taken from the file's directory.
fn relative_to(origin: &Path, path: &Path) -> PathBuf {
    match origin.parent() {
        Some(directory) if path.is_relative() => directory.join(path),
        _ => path.to_owned(),
    }
}

fn parse(text: &str, path: &Path, origin: Origin) -> Result<Config, ConfigError> {
    let invalid = |span: Option<std::ops::Range<usize>>, message: String| ConfigError::Invalid {
        at: Location::at(path, text, span.map_or(0, |span| span.start)),
        message,
    };
    let document = toml::de::DeTable::parse(text)
        .map_err(|error| invalid(error.span(), error.message().to_owned()))?;
    let mut config: Config = toml::from_str(text).map_err(|error| {
        let span = error.span();
        // serde's messages quote the value (``invalid type: integer `1234` ``);
        // for a password or PIN that would print the secret.
        let message = match &span {
            Some(span) if locate::is_secret_at(document.get_ref(), span.start) => {
                "expected a quoted string (the value is a secret and not shown)".to_owned()
            }
            _ => error.message().to_owned(),
        };
        invalid(span, message)
    })?;
    if let Some((span, message)) = validate::first_problem(&config, document.get_ref(), text) {
        return Err(invalid(span, message));
    }
    if let Some(group) = &config.dbus.admin_group {
        match groups::gid_of(Path::new(groups::GROUP_FILE), group) {
            Some(gid) => config.dbus.admin_gid = Some(gid),
            None => {
                let span = locate::span_of(
                    document.get_ref(),
                    &[locate::Step::Key("dbus"), locate::Step::Key("admin-group")],
                );
                return Err(invalid(
                    span,
                    format!(
                        "unknown group {group:?}: admin-group names a group of {} (create it \
                         with `groupadd`, or leave the key out for root only)",
                        groups::GROUP_FILE
                    ),
                ));
            }
        }
    }
    // A scenario that does not load would stop mbimd at its start; say so
    // now, at the key that names it. (Text checked by `Config::parse` comes
    // from no file: its paths may name files of another machine.)
    if let (Origin::File { .. }, Some(scenario)) = (origin, &config.simulate.scenario) {
        let resolved = relative_to(path, scenario);
        if let Err(error) = mbim_sim::scenario::Scenario::load(&resolved) {
            let span = locate::span_of(
                document.get_ref(),
                &[locate::Step::Key("simulate"), locate::Step::Key("scenario")],
            );
            return Err(invalid(
                span,
                format!(
                    "the scenario does not load ({}); expected a simulator scenario file such as \
                     simulator/scenarios/dssa.toml, or leave the key out for the built-in one",
                    chain(&error)
                ),
            ));
        }
    }
    if let Some(first_pin) = validate::first_pin(&config, document.get_ref()) {
        let at = Location::at(path, text, first_pin.map_or(0, |span| span.start));
        match origin {
            Origin::File { uid, mode } => {
                let daemon_uid = rustix::process::geteuid().as_raw();
                if !((uid == 0 || uid == daemon_uid) && mode & 0o077 == 0) {
                    return Err(ConfigError::UnprotectedPin {
                        at,
                        uid,
                        mode,
                        daemon_uid,
                    });
                }
            }
            Origin::Text => {
                return Err(ConfigError::Invalid {
                    at,
                    message: "a PIN is only accepted from a file read by Config::load, whose \
                              owner and mode can be checked"
                        .to_owned(),
                })
            }
        }
    }
    Ok(config)
}
