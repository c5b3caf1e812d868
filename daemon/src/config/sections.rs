//! The sections of plain settings, each a table with its defaults: the data
//! path, the ModemManager API, APN sources, the slot policy and its
//! per-modem overrides, D-Bus, sleep, the MBIM proxy, routes, DNS, logging,
//! SIM PINs and the simulated modem.

use super::{DeviceMatch, DnsBackend, Iccid, LogFilter, LogTarget, OnRemoval, Pin, RouteMetric};
use serde::Deserialize;
use std::path::PathBuf;

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
    /// through the API (see [`Sessions`](super::Sessions)).
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
