//! What the soak reads after each fault: the executors as D-Bus shows them,
//! the network devices and routes in the namespace, the DNS file; and the
//! check that they agree.

use crate::env::Namespace;
use anyhow::{ensure, Context as _};
use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::time::Duration;
use zbus::zvariant::{OwnedObjectPath, OwnedValue};

/// mbimd's bus name.
pub(crate) const BUS_NAME: &str = "dev.mbimd.Mbimd1";
/// The object manager's path.
pub(crate) const MANAGER_PATH: &str = "/dev/mbimd/Mbimd1";
/// The executors' interface.
pub(crate) const EXECUTOR1: &str = "dev.mbimd.Executor1";
/// The modems' interface.
pub(crate) const MODEM1: &str = "dev.mbimd.Modem1";

/// How long a D-Bus call may take before mbimd counts as not answering.
pub(crate) const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// One executor as D-Bus shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ExecutorView {
    /// Its object path.
    pub(crate) path: String,
    /// State.
    pub(crate) state: String,
    /// Netdev (empty while not connected).
    pub(crate) netdev: String,
    /// NetdevState.
    pub(crate) netdev_state: String,
    /// Ipv4Addresses (`address/prefix`).
    pub ipv4: Vec<String>,
    /// Ipv4Gateway.
    pub ipv4_gateway: String,
    /// Dns.
    pub(crate) dns: Vec<String>,
    /// Slot.
    pub(crate) slot: i32,
    /// RxPackets.
    pub(crate) rx_packets: u64,
    /// TxPackets.
    pub(crate) tx_packets: u64,
}

impl ExecutorView {
    /// Whether it is connected with its device configured.
    pub(crate) fn is_up(&self) -> bool {
        self.state == "connected" && self.netdev_state == "configured"
    }
}

type Managed = HashMap<OwnedObjectPath, HashMap<String, HashMap<String, OwnedValue>>>;

fn string(properties: &HashMap<String, OwnedValue>, name: &str) -> String {
    properties
        .get(name)
        .and_then(|value| String::try_from(value.try_clone().ok()?).ok())
        .unwrap_or_default()
}

fn strings(properties: &HashMap<String, OwnedValue>, name: &str) -> Vec<String> {
    properties
        .get(name)
        .and_then(|value| Vec::<String>::try_from(value.try_clone().ok()?).ok())
        .unwrap_or_default()
}

fn number<T: TryFrom<OwnedValue> + Default>(
    properties: &HashMap<String, OwnedValue>,
    name: &str,
) -> T {
    properties
        .get(name)
        .and_then(|value| T::try_from(value.try_clone().ok()?).ok())
        .unwrap_or_default()
}

/// Every executor, by GetManagedObjects; an error when mbimd does not answer
/// within [`CALL_TIMEOUT`].
pub(crate) async fn executors(bus: &zbus::Connection) -> anyhow::Result<Vec<ExecutorView>> {
    let call = bus.call_method(
        Some(BUS_NAME),
        MANAGER_PATH,
        Some("org.freedesktop.DBus.ObjectManager"),
        "GetManagedObjects",
        &(),
    );
    let reply = tokio::time::timeout(CALL_TIMEOUT, call)
        .await
        .context("mbimd did not answer GetManagedObjects within 5 s")?
        .context("GetManagedObjects")?;
    let managed: Managed = reply
        .body()
        .deserialize()
        .context("GetManagedObjects' reply")?;
    let mut views: Vec<ExecutorView> = managed
        .iter()
        .filter_map(|(path, interfaces)| {
            let properties = interfaces.get(EXECUTOR1)?;
            Some(ExecutorView {
                path: path.to_string(),
                state: string(properties, "State"),
                netdev: string(properties, "Netdev"),
                netdev_state: string(properties, "NetdevState"),
                ipv4: strings(properties, "Ipv4Addresses"),
                ipv4_gateway: string(properties, "Ipv4Gateway"),
                dns: strings(properties, "Dns"),
                slot: number(properties, "Slot"),
                rx_packets: number(properties, "RxPackets"),
                tx_packets: number(properties, "TxPackets"),
            })
        })
        .collect();
    views.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(views)
}

/// Checks that the namespace's network devices, addresses, default routes
/// and the DNS file are exactly those of the connected executors.
pub(crate) fn check_consistent(
    namespace: &Namespace,
    dns_file: &Path,
    executors: &[ExecutorView],
) -> anyhow::Result<()> {
    let links = namespace.ip_json(&["link", "show"])?;
    let devices: BTreeSet<String> = links
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|link| link.get("ifname")?.as_str().map(str::to_owned))
        .filter(|name| name.starts_with("mbim"))
        .collect();
    let connected: Vec<&ExecutorView> = executors.iter().filter(|e| e.is_up()).collect();
    let expected: BTreeSet<String> = connected.iter().map(|e| e.netdev.clone()).collect();
    ensure!(
        devices == expected,
        "network devices {devices:?}, but the connected executors have {expected:?}"
    );
    let routes = namespace.ip_json(&["route", "show", "default"])?;
    for executor in &connected {
        let addresses = namespace.ip_json(&["addr", "show", "dev", &executor.netdev])?;
        let present: BTreeSet<String> = addresses
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|link| link.get("addr_info")?.as_array())
            .flatten()
            .filter(|info| info.get("family").and_then(|f| f.as_str()) == Some("inet"))
            .filter_map(|info| {
                Some(format!(
                    "{}/{}",
                    info.get("local")?.as_str()?,
                    info.get("prefixlen")?.as_u64()?
                ))
            })
            .collect();
        let shown: BTreeSet<String> = executor.ipv4.iter().cloned().collect();
        ensure!(
            present == shown,
            "{} has IPv4 addresses {present:?}, D-Bus shows {shown:?}",
            executor.netdev
        );
        if !executor.ipv4_gateway.is_empty() {
            let routed = routes.as_array().into_iter().flatten().any(|route| {
                route.get("dev").and_then(|d| d.as_str()) == Some(executor.netdev.as_str())
                    && route.get("gateway").and_then(|g| g.as_str())
                        == Some(executor.ipv4_gateway.as_str())
            });
            ensure!(
                routed,
                "no default route via {} on {}: {routes}",
                executor.ipv4_gateway,
                executor.netdev
            );
        }
    }
    let stray: Vec<String> = routes
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|route| route.get("dev")?.as_str().map(str::to_owned))
        .filter(|dev| dev.starts_with("mbim") && !expected.contains(dev))
        .collect();
    ensure!(
        stray.is_empty(),
        "default routes on {stray:?}, which no connected executor has"
    );
    let written = match std::fs::read_to_string(dns_file) {
        Ok(text) => text
            .lines()
            .filter_map(|line| line.strip_prefix("nameserver "))
            .map(|server| server.trim().to_owned())
            .collect::<BTreeSet<String>>(),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => BTreeSet::new(),
        Err(error) => return Err(error).context("reading the DNS file"),
    };
    let servers: BTreeSet<String> = connected
        .iter()
        .flat_map(|executor| executor.dns.iter().cloned())
        .collect();
    ensure!(
        written == servers,
        "the DNS file names {written:?}, the connected executors {servers:?}"
    );
    Ok(())
}
