//! `list` and `show`: mbimd's objects with their properties in the order
//! dbus-interfaces/README.md lists them (newer ones after, by name), one
//! line per object or one per property, or as JSON.

use super::bus::properties_proxy;
use super::output::{print, print_json};
use super::proxy::MANAGER_PATH;
use super::target::{self, Kind, Target};
use super::{value, ClientError};
use zbus::zvariant::{OwnedValue, Value};
use zbus::Connection;

/// One object's properties, in the order dbus-interfaces/README.md lists them.
struct Object {
    path: String,
    properties: Vec<(String, OwnedValue)>,
}

const MANAGER_ORDER: &[&str] = &["Version", "Modems", "ModemManagerApi"];
const MODEM_ORDER: &[&str] = &[
    "ModemId",
    "UsbVendorId",
    "UsbProductId",
    "UsbSerial",
    "UsbPath",
    "Manufacturer",
    "Model",
    "Firmware",
    "NumberOfExecutors",
    "NumberOfSlots",
    "Concurrency",
    "Executors",
    "Slots",
    "SlotMapping",
    "SlotPolicyActive",
    "OnRemoval",
    "AutoSwitch",
];
const EXECUTOR_ORDER: &[&str] = &[
    "Index",
    "State",
    "StateReason",
    "ReadyState",
    "RadioOn",
    "PinType",
    "PinState",
    "PinRetriesLeft",
    "RegistrationState",
    "ProviderId",
    "ProviderName",
    "Roaming",
    "PacketService",
    "Rssi",
    "ErrorRate",
    "MbimexVersion",
    "DataClass",
    "DataSubclass",
    "Signal",
    "NetworkError",
    "PcoDns",
    "Pcscf",
    "Slot",
    "Profile",
    "Apn",
    "ApnSource",
    "AttachApn",
    "AttachApnReason",
    "Sessions",
    "Netdev",
    "Transport",
    "NetdevState",
    "NetdevParts",
    "Ipv4Addresses",
    "Ipv4Gateway",
    "Ipv6Addresses",
    "Ipv6Gateway",
    "Dns",
    "Mtu",
    "RxPackets",
    "RxBytes",
    "TxPackets",
    "TxBytes",
    "SessionTraffic",
    "Iccid",
    "Imsi",
];
const SLOT_ORDER: &[&str] = &["Index", "Kind", "State", "Iccid", "Executor"];

impl Object {
    async fn load(conn: &Connection, path: &str, kind: Kind) -> Result<Object, ClientError> {
        let interface = zbus::names::InterfaceName::try_from(kind.interface())
            .map_err(|error| ClientError::Bus(error.into()))?;
        let all = properties_proxy(conn, path)
            .await?
            .get_all(interface)
            .await?;
        let order = match kind {
            Kind::Manager => MANAGER_ORDER,
            Kind::Modem => MODEM_ORDER,
            Kind::Executor => EXECUTOR_ORDER,
            Kind::Slot => SLOT_ORDER,
        };
        let mut properties: Vec<(String, OwnedValue)> = all.into_iter().collect();
        // Known properties in the API's order, then any newer ones by name.
        properties.sort_by(|(a, _), (b, _)| {
            let rank = |name: &str| {
                order
                    .iter()
                    .position(|known| *known == name)
                    .unwrap_or(order.len())
            };
            rank(a).cmp(&rank(b)).then_with(|| a.cmp(b))
        });
        Ok(Object {
            path: path.to_owned(),
            properties,
        })
    }

    fn get(&self, name: &str) -> Option<&Value<'static>> {
        self.properties
            .iter()
            .find(|(known, _)| known == name)
            .map(|(_, value)| &**value)
    }

    fn text(&self, name: &str) -> String {
        match self.get(name) {
            Some(value) => value::to_text(name, value),
            None => "-".to_owned(),
        }
    }

    fn str(&self, name: &str) -> &str {
        match self.get(name) {
            Some(Value::Str(text)) => text.as_str(),
            _ => "",
        }
    }

    fn paths(&self, name: &str) -> Vec<String> {
        match self.get(name) {
            Some(Value::Array(array)) => array
                .inner()
                .iter()
                .filter_map(|item| match item {
                    Value::ObjectPath(path) => Some(path.to_string()),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    fn strings(&self, name: &str) -> Vec<String> {
        match self.get(name) {
            Some(Value::Array(array)) => array
                .inner()
                .iter()
                .filter_map(|item| match item {
                    Value::Str(text) => Some(text.to_string()),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    fn json(&self) -> serde_json::Map<String, serde_json::Value> {
        self.properties
            .iter()
            .map(|(name, value)| (name.clone(), value::to_json(value)))
            .collect()
    }
}

pub(super) async fn show(
    conn: &Connection,
    target: &Target,
    json: bool,
) -> Result<(), ClientError> {
    let object = Object::load(conn, &target.path, target.kind).await?;
    if json {
        return print_json(&serde_json::Value::Object(object.json()));
    }
    let width = object
        .properties
        .iter()
        .map(|(name, _)| name.len())
        .max()
        .unwrap_or(0);
    let mut text = String::new();
    for (name, value) in &object.properties {
        text.push_str(&format!("{name:width$}  {}\n", value::to_text(name, value)));
    }
    print(&text)
}

pub(super) async fn list(conn: &Connection, json: bool) -> Result<(), ClientError> {
    let manager = Object::load(conn, MANAGER_PATH, Kind::Manager).await?;
    let mut modems = Vec::new();
    for path in manager.paths("Modems") {
        let modem = Object::load(conn, &path, Kind::Modem).await?;
        let mut executors = Vec::new();
        for path in modem.paths("Executors") {
            executors.push(Object::load(conn, &path, Kind::Executor).await?);
        }
        let mut slots = Vec::new();
        for path in modem.paths("Slots") {
            slots.push(Object::load(conn, &path, Kind::Slot).await?);
        }
        modems.push((modem, executors, slots));
    }
    if json {
        let with_path = |object: &Object| {
            let mut fields = serde_json::Map::new();
            fields.insert("Path".to_owned(), object.path.clone().into());
            fields.extend(object.json());
            fields
        };
        let modems: Vec<serde_json::Value> = modems
            .iter()
            .map(|(modem, executors, slots)| {
                let mut fields = with_path(modem);
                // The objects themselves where the property has their paths.
                fields.insert(
                    "Executors".to_owned(),
                    executors.iter().map(&with_path).collect(),
                );
                fields.insert("Slots".to_owned(), slots.iter().map(&with_path).collect());
                serde_json::Value::Object(fields)
            })
            .collect();
        let mut fields = manager.json();
        fields.insert("Modems".to_owned(), modems.into());
        return print_json(&serde_json::Value::Object(fields));
    }
    // Whether ModemManager's clients (NetworkManager) manage the sessions.
    let api = manager.str("ModemManagerApi");
    let api = if api.is_empty() {
        String::new()
    } else {
        format!("ModemManager API: {api}\n")
    };
    if modems.is_empty() {
        return print(&format!("no modems\n{api}"));
    }
    let mut text = String::new();
    for (modem, executors, slots) in &modems {
        text.push_str(&modem_line(modem));
        for executor in executors {
            text.push_str(&executor_line(executor));
        }
        for slot in slots {
            text.push_str(&slot_line(slot));
        }
    }
    text.push_str(&api);
    print(&text)
}

fn modem_line(modem: &Object) -> String {
    let name = [modem.str("Manufacturer"), modem.str("Model")]
        .iter()
        .filter(|part| !part.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    let mut line = format!(
        "{}  {}  usb {}:{} {}  mapping {}",
        target::short(&modem.path),
        if name.is_empty() { "-" } else { &name },
        modem.text("UsbVendorId"),
        modem.text("UsbProductId"),
        modem.text("UsbPath"),
        modem.text("SlotMapping"),
    );
    if matches!(modem.get("SlotPolicyActive"), Some(Value::Bool(true))) {
        line.push_str(&format!(
            "  slot policy: on-removal {}, auto-switch {}",
            modem.text("OnRemoval"),
            modem.text("AutoSwitch"),
        ));
    }
    line.push('\n');
    line
}

fn executor_line(executor: &Object) -> String {
    let mut state = executor.text("State");
    let reason = executor.str("StateReason");
    if !reason.is_empty() {
        state.push_str(&format!(" ({reason})"));
    }
    let slot = match executor.get("Slot") {
        Some(Value::I32(slot)) if *slot >= 0 => format!("slot {slot}"),
        _ => "slot ?".to_owned(),
    };
    let mut operator = match (executor.str("ProviderName"), executor.str("ProviderId")) {
        ("", "") => "-".to_owned(),
        (name, "") => name.to_owned(),
        ("", id) => id.to_owned(),
        (name, id) => format!("{name} ({id})"),
    };
    if matches!(executor.get("Roaming"), Some(Value::Bool(true))) {
        operator.push_str(" roaming");
    }
    let mut network = vec![executor.text("Netdev")];
    network.extend(executor.strings("Ipv4Addresses"));
    network.extend(executor.strings("Ipv6Addresses"));
    format!(
        "  {}  {state}  {slot}  {operator}  {}\n",
        target::short(&executor.path),
        network.join(" ")
    )
}

fn slot_line(slot: &Object) -> String {
    format!(
        "  {}  {}  {}  {}\n",
        target::short(&slot.path),
        slot.text("State"),
        slot.text("Kind"),
        match slot.text("Executor").as_str() {
            "-" => "no executor".to_owned(),
            executor => format!("used by {executor}"),
        }
    )
}
