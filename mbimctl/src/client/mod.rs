//! The D-Bus client of mbimd: the commands beside `decode`.
//!
//! Every command connects to the system bus (or `--address`), asks mbimd
//! (`dev.mbimd.Mbimd1`, dbus-interfaces/README.md) and prints what it says:
//! text for people, or with `--json` the D-Bus property names as fields.
//! A refusal from the daemon is printed as it came, error name and message,
//! and exits 1.

mod monitor;
mod proxy;
mod secret;
mod target;
mod value;

use clap::{Args, Subcommand, ValueEnum};
use proxy::{Executor1Proxy, Manager1Proxy, Modem1Proxy, BUS_NAME, MANAGER_PATH};
use secret::{SecretError, SecretReader};
use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;
use target::{Kind, Target, TargetError};
use zbus::proxy::CacheProperties;
use zbus::zvariant::{OwnedValue, Value};
use zbus::Connection;

/// Options every client command takes.
#[derive(Debug, Clone, Args)]
pub(crate) struct BusArgs {
    /// The D-Bus address of the bus mbimd is on (default: the system bus,
    /// or $DBUS_SYSTEM_BUS_ADDRESS).
    #[arg(long, value_name = "ADDR", global = true)]
    address: Option<String>,
}

/// The client commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// List the modems, their executors and slots, one line each.
    List {
        /// Print JSON (fields are the D-Bus property names).
        #[arg(long)]
        json: bool,
    },
    /// Show every property of a modem (`0`), executor (`0/e0`) or slot (`0/s1`).
    Show {
        /// The object: `0`, `0/e0` or `0/executor0`, `0/s1` or `0/slot1`, or
        /// a full object path.
        object: String,
        /// Print JSON (fields are the D-Bus property names).
        #[arg(long)]
        json: bool,
    },
    /// Connect an executor, with the configured profile or these overrides.
    Connect {
        /// The executor (`0/e0`).
        executor: String,
        /// The APN.
        #[arg(long)]
        apn: Option<String>,
        /// The authentication protocol.
        #[arg(long)]
        auth: Option<Auth>,
        /// The user name.
        #[arg(long)]
        user: Option<String>,
        /// A file whose first line is the password (never an argument:
        /// every user can read every process's arguments).
        #[arg(long, value_name = "FILE")]
        password_file: Option<std::path::PathBuf>,
        /// The IP types to ask for.
        #[arg(long)]
        ip_type: Option<IpType>,
        /// The metric of the routes through the connection.
        #[arg(long, value_name = "N")]
        route_metric: Option<u32>,
        /// Wait until the executor is connected (or the timeout passes).
        #[arg(long)]
        wait: bool,
        /// How long --wait waits, in seconds.
        #[arg(long, value_name = "SECONDS", default_value_t = 60)]
        timeout: u64,
    },
    /// Disconnect an executor; it stays disconnected until `connect`.
    Disconnect {
        /// The executor (`0/e0`).
        executor: String,
    },
    /// Enter, unblock or change the SIM's PIN, or switch its check on or off.
    ///
    /// PINs are read from the terminal with echo off, or one per line from
    /// standard input with --stdin; never from arguments, which every user
    /// of the machine can read.
    Pin {
        /// What to do.
        #[command(subcommand)]
        action: PinAction,
    },
    /// Switch an executor's radio on or off.
    Radio {
        /// The executor (`0/e0`).
        executor: String,
        /// On or off.
        state: OnOff,
    },
    /// Show the slot of each executor of a modem, or set them.
    SlotMapping {
        /// The modem (`0`).
        modem: String,
        /// The slot for each executor, in executor order (absent: show).
        slots: Vec<u32>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Switch a single-active modem to another slot (through its slot
    /// policy, which remembers the choice).
    SwitchSlot {
        /// The modem (`0`).
        modem: String,
        /// The slot.
        slot: u32,
        /// Wait until the modem uses the slot (or the timeout passes).
        #[arg(long)]
        wait: bool,
        /// How long --wait waits, in seconds.
        #[arg(long, value_name = "SECONDS", default_value_t = 60)]
        timeout: u64,
    },
    /// Show the slot policy of a modem, or change it until the next reload.
    SlotPolicy {
        /// The modem (`0`).
        modem: String,
        /// What to do when the SIM in use goes away.
        #[arg(long)]
        on_removal: Option<OnRemoval>,
        /// Whether the policy switches slots by itself (true or false).
        #[arg(long, value_name = "BOOL", value_parser = clap::builder::BoolishValueParser::new())]
        auto_switch: Option<bool>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run the Windows HLK TestSlot checks on a modem; exits 1 if one fails.
    TestSlots {
        /// The modem (`0`).
        modem: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Make mbimd re-read its configuration file.
    Reload,
    /// Print mbimd's signals and property changes as they happen, one line
    /// each, until interrupted.
    Monitor {
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
}

/// The PIN commands.
#[derive(Debug, Subcommand)]
pub(crate) enum PinAction {
    /// Enter the PIN the SIM asks for.
    Enter(PinArgs),
    /// Unblock the SIM with its PUK and set a new PIN (read in that order).
    Puk(PinArgs),
    /// Change the PIN (the PIN now, then the new one).
    Change(PinArgs),
    /// Make the SIM ask for its PIN at power-up.
    Enable(PinArgs),
    /// Stop the SIM asking for its PIN at power-up.
    Disable(PinArgs),
}

/// What each PIN command takes.
#[derive(Debug, Args)]
pub(crate) struct PinArgs {
    /// The executor (`0/e0`).
    executor: String,
    /// Read the PINs from standard input, one per line, instead of asking on
    /// the terminal.
    #[arg(long)]
    stdin: bool,
}

/// Authentication protocols.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Auth {
    /// PAP.
    Pap,
    /// CHAP.
    Chap,
    /// MS-CHAPv2.
    Mschapv2,
    /// None.
    None,
}

/// IP types.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum IpType {
    /// IPv4 only.
    Ipv4,
    /// IPv6 only.
    Ipv6,
    /// Both.
    Ipv4v6,
}

/// On or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OnOff {
    /// On.
    On,
    /// Off.
    Off,
}

/// The slot policy's reactions to a removed SIM.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum OnRemoval {
    /// Suggest a switch (SlotSwitchSuggested), do nothing.
    Suggest,
    /// Switch to a slot with a SIM.
    Switch,
    /// Stay.
    Stay,
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ClientError {
    /// Nothing owns mbimd's name.
    #[error("mbimd is not running (no owner of {BUS_NAME} on the bus)")]
    NotRunning,
    /// The daemon (or the bus) refused, with this D-Bus error.
    #[error("{name}: {message}")]
    Daemon {
        /// The D-Bus error name.
        name: String,
        /// Its message.
        message: String,
    },
    /// The bus could not be reached.
    #[error("cannot connect to the bus: {0}")]
    Connect(zbus::Error),
    /// Talking to the bus failed otherwise.
    #[error("D-Bus: {0}")]
    Bus(zbus::Error),
    /// A bad object name.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// No PIN could be read.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// Something the user gave is unusable.
    #[error("{0}")]
    Input(String),
    /// `--wait` waited in vain.
    #[error("{0}")]
    Timeout(String),
}

impl From<zbus::Error> for ClientError {
    fn from(error: zbus::Error) -> Self {
        match error {
            zbus::Error::MethodError(name, message, _) => {
                daemon_error(name.as_str(), message.unwrap_or_default())
            }
            zbus::Error::FDO(error) => ClientError::from(*error),
            other => ClientError::Bus(other),
        }
    }
}

impl From<zbus::fdo::Error> for ClientError {
    fn from(error: zbus::fdo::Error) -> Self {
        use zbus::DBusError as _;
        match error {
            zbus::fdo::Error::ZBus(error) => ClientError::from(error),
            other => daemon_error(
                other.name().as_str(),
                other.description().unwrap_or_default().to_owned(),
            ),
        }
    }
}

fn daemon_error(name: &str, message: String) -> ClientError {
    match name {
        // What the bus answers for a call to a name nobody owns.
        "org.freedesktop.DBus.Error.ServiceUnknown"
        | "org.freedesktop.DBus.Error.NameHasNoOwner" => ClientError::NotRunning,
        _ => ClientError::Daemon {
            name: name.to_owned(),
            message,
        },
    }
}

/// Runs a client command; prints its output, returns the exit code.
pub(crate) fn main(bus: &BusArgs, command: Command) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("mbimctl: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(bus, command)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("mbimctl: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn connect(bus: &BusArgs) -> Result<Connection, ClientError> {
    let builder = match &bus.address {
        Some(address) => zbus::connection::Builder::address(address.as_str()),
        None => zbus::connection::Builder::system(),
    }
    .map_err(ClientError::Connect)?;
    builder.build().await.map_err(ClientError::Connect)
}

/// Prints `text` to standard output; a reader that went away (`| head`) is
/// no error.
fn print(text: &str) -> Result<(), ClientError> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(error) => Err(ClientError::Input(format!(
            "cannot write to standard output: {error}"
        ))),
    }
}

fn print_json(value: &serde_json::Value) -> Result<(), ClientError> {
    print(&format!("{value:#}\n"))
}

/// Checks the object names a command was given, so that a typo is told as
/// such whether or not mbimd runs.
fn check_names(command: &Command) -> Result<(), TargetError> {
    let (name, kind) = match command {
        Command::List { .. } | Command::Reload | Command::Monitor { .. } => return Ok(()),
        Command::Show { object, .. } => return target::parse(object).map(drop),
        Command::Connect { executor, .. }
        | Command::Disconnect { executor }
        | Command::Radio { executor, .. } => (executor, Kind::Executor),
        Command::Pin {
            action:
                PinAction::Enter(args)
                | PinAction::Puk(args)
                | PinAction::Change(args)
                | PinAction::Enable(args)
                | PinAction::Disable(args),
        } => (&args.executor, Kind::Executor),
        Command::SlotMapping { modem, .. }
        | Command::SwitchSlot { modem, .. }
        | Command::SlotPolicy { modem, .. }
        | Command::TestSlots { modem, .. } => (modem, Kind::Modem),
    };
    target::parse_kind(name, kind).map(drop)
}

async fn run(bus: &BusArgs, command: Command) -> Result<ExitCode, ClientError> {
    check_names(&command)?;
    let conn = connect(bus).await?;
    match command {
        Command::List { json } => list(&conn, json).await?,
        Command::Show { object, json } => show(&conn, &target::parse(&object)?, json).await?,
        Command::Connect {
            executor,
            apn,
            auth,
            user,
            password_file,
            ip_type,
            route_metric,
            wait,
            timeout,
        } => {
            let target = target::parse_kind(&executor, Kind::Executor)?;
            let mut overrides: HashMap<&str, Value<'_>> = HashMap::new();
            if let Some(apn) = apn {
                overrides.insert("apn", Value::from(apn));
            }
            if let Some(auth) = auth {
                overrides.insert("auth", Value::from(value_name(auth)));
            }
            if let Some(user) = user {
                overrides.insert("user", Value::from(user));
            }
            if let Some(path) = password_file {
                overrides.insert("password", Value::from(read_password(&path)?));
            }
            if let Some(ip_type) = ip_type {
                overrides.insert("ip-type", Value::from(value_name(ip_type)));
            }
            if let Some(metric) = route_metric {
                overrides.insert("route-metric", Value::from(metric));
            }
            let executor = executor_proxy(&conn, &target).await?;
            if wait {
                wait_for_state(&executor, &target, "connected", timeout, async {
                    executor.connect(overrides).await.map_err(ClientError::from)
                })
                .await?;
            } else {
                executor.connect(overrides).await?;
            }
        }
        Command::Disconnect { executor } => {
            let target = target::parse_kind(&executor, Kind::Executor)?;
            executor_proxy(&conn, &target).await?.disconnect().await?;
        }
        Command::Pin { action } => pin(&conn, action).await?,
        Command::Radio { executor, state } => {
            let target = target::parse_kind(&executor, Kind::Executor)?;
            executor_proxy(&conn, &target)
                .await?
                .set_radio(state == OnOff::On)
                .await?;
        }
        Command::SlotMapping { modem, slots, json } => {
            let target = target::parse_kind(&modem, Kind::Modem)?;
            let modem = modem_proxy(&conn, &target).await?;
            let mapping = if slots.is_empty() {
                modem.slot_mapping().await?
            } else {
                modem.set_slot_mapping(&slots).await?
            };
            if json {
                print_json(&serde_json::json!({ "SlotMapping": mapping }))?;
            } else {
                print(&format!("{}\n", text_list(&mapping)))?;
            }
        }
        Command::SwitchSlot {
            modem,
            slot,
            wait,
            timeout,
        } => {
            let target = target::parse_kind(&modem, Kind::Modem)?;
            let modem = modem_proxy(&conn, &target).await?;
            if wait {
                wait_for_mapping(&modem, &target, slot, timeout).await?;
            } else {
                modem.switch_to_slot(slot).await?;
            }
        }
        Command::SlotPolicy {
            modem,
            on_removal,
            auto_switch,
            json,
        } => slot_policy(&conn, &modem, on_removal, auto_switch, json).await?,
        Command::TestSlots { modem, json } => {
            let target = target::parse_kind(&modem, Kind::Modem)?;
            let checks = modem_proxy(&conn, &target).await?.test_slots().await?;
            let passed = checks.iter().all(|(_, passed, _)| *passed);
            if json {
                let checks: Vec<_> = checks
                    .iter()
                    .map(|(name, passed, details)| {
                        serde_json::json!({ "name": name, "passed": passed, "details": details })
                    })
                    .collect();
                print_json(&serde_json::Value::Array(checks))?;
            } else {
                let mut text = String::new();
                for (name, passed, details) in &checks {
                    let verdict = if *passed { "pass" } else { "FAIL" };
                    text.push_str(&format!("{verdict}  {name}: {details}\n"));
                }
                print(&text)?;
            }
            if !passed {
                return Ok(ExitCode::FAILURE);
            }
        }
        Command::Reload => manager_proxy(&conn).await?.reload().await?,
        Command::Monitor { json } => monitor::run(&conn, json).await?,
    }
    Ok(ExitCode::SUCCESS)
}

/// The lower-case name clap knows a value by, which is also the API's.
fn value_name(value: impl ValueEnum) -> String {
    value
        .to_possible_value()
        .map(|value| value.get_name().to_owned())
        .unwrap_or_default()
}

fn read_password(path: &std::path::Path) -> Result<String, ClientError> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| ClientError::Input(format!("cannot read {}: {error}", path.display())))?;
    Ok(text
        .lines()
        .next()
        .unwrap_or_default()
        .trim_end_matches('\r')
        .to_owned())
}

async fn manager_proxy(conn: &Connection) -> Result<Manager1Proxy<'static>, ClientError> {
    Ok(Manager1Proxy::builder(conn)
        .cache_properties(CacheProperties::No)
        .build()
        .await?)
}

async fn modem_proxy(
    conn: &Connection,
    target: &Target,
) -> Result<Modem1Proxy<'static>, ClientError> {
    Ok(Modem1Proxy::builder(conn)
        .path(target.path.clone())?
        .cache_properties(CacheProperties::No)
        .build()
        .await?)
}

async fn executor_proxy(
    conn: &Connection,
    target: &Target,
) -> Result<Executor1Proxy<'static>, ClientError> {
    Ok(Executor1Proxy::builder(conn)
        .path(target.path.clone())?
        .cache_properties(CacheProperties::No)
        .build()
        .await?)
}

/// Waits (at most `timeout` seconds) for the executor's State to become
/// `wanted` after `action`.
async fn wait_for_state(
    executor: &Executor1Proxy<'_>,
    target: &Target,
    wanted: &str,
    timeout: u64,
    action: impl std::future::Future<Output = Result<(), ClientError>>,
) -> Result<(), ClientError> {
    act_and_wait(
        executor.inner().connection(),
        target,
        timeout,
        action,
        async || Ok(executor.state().await? == wanted),
        || format!("{} is not {wanted}", target::short(&target.path)),
    )
    .await
}

/// Asks for `slot` and waits (at most `timeout` seconds) until the modem's
/// mapping has its first executor on it.
async fn wait_for_mapping(
    modem: &Modem1Proxy<'_>,
    target: &Target,
    slot: u32,
    timeout: u64,
) -> Result<(), ClientError> {
    act_and_wait(
        modem.inner().connection(),
        target,
        timeout,
        async { Ok(modem.switch_to_slot(slot).await?) },
        async || Ok(modem.slot_mapping().await?.first() == Some(&slot)),
        || {
            format!(
                "modem {} does not use slot {slot}",
                target::short(&target.path)
            )
        },
    )
    .await
}

/// Runs `action`, then waits (at most `timeout` seconds) until `done` holds,
/// looking again at each change of the target's properties. The changes are
/// watched from before the action, so a quick one is not missed; `what`
/// words the timeout.
async fn act_and_wait(
    conn: &Connection,
    target: &Target,
    timeout: u64,
    action: impl std::future::Future<Output = Result<(), ClientError>>,
    mut done: impl AsyncFnMut() -> Result<bool, ClientError>,
    what: impl FnOnce() -> String,
) -> Result<(), ClientError> {
    use futures_util::StreamExt as _;
    let properties = properties_proxy(conn, &target.path).await?;
    let mut changes = properties.receive_properties_changed().await?;
    action.await?;
    let wait = async {
        loop {
            if done().await? {
                return Ok::<(), ClientError>(());
            }
            if changes.next().await.is_none() {
                return Err(ClientError::NotRunning);
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(timeout), wait)
        .await
        .map_err(|_| ClientError::Timeout(format!("{} after {timeout} s", what())))?
}

async fn properties_proxy(
    conn: &Connection,
    path: &str,
) -> Result<zbus::fdo::PropertiesProxy<'static>, ClientError> {
    Ok(zbus::fdo::PropertiesProxy::builder(conn)
        .destination(BUS_NAME)?
        .path(path.to_owned())?
        .cache_properties(CacheProperties::No)
        .build()
        .await?)
}

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

fn text_list(items: &[u32]) -> String {
    let items: Vec<String> = items.iter().map(u32::to_string).collect();
    format!("[{}]", items.join(", "))
}

async fn show(conn: &Connection, target: &Target, json: bool) -> Result<(), ClientError> {
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

async fn list(conn: &Connection, json: bool) -> Result<(), ClientError> {
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

async fn pin(conn: &Connection, action: PinAction) -> Result<(), ClientError> {
    let (PinAction::Enter(args)
    | PinAction::Puk(args)
    | PinAction::Change(args)
    | PinAction::Enable(args)
    | PinAction::Disable(args)) = &action;
    let target = target::parse_kind(&args.executor, Kind::Executor)?;
    let mut reader = SecretReader::new(args.stdin);
    // Every secret is read before the first call: a half-read command must
    // not leave a PIN entered and the rest of it undone.
    match action {
        PinAction::Enter(_) => {
            let pin = reader.read("PIN")?;
            executor_proxy(conn, &target)
                .await?
                .enter_pin(pin.as_str())
                .await?;
        }
        PinAction::Puk(_) => {
            let puk = reader.read("PUK")?;
            let new_pin = reader.read_new("new PIN")?;
            executor_proxy(conn, &target)
                .await?
                .enter_puk(puk.as_str(), new_pin.as_str())
                .await?;
        }
        PinAction::Change(_) => {
            let old = reader.read("PIN")?;
            let new = reader.read_new("new PIN")?;
            executor_proxy(conn, &target)
                .await?
                .change_pin(old.as_str(), new.as_str())
                .await?;
        }
        PinAction::Enable(_) | PinAction::Disable(_) => {
            let enabled = matches!(action, PinAction::Enable(_));
            let pin = reader.read("PIN")?;
            executor_proxy(conn, &target)
                .await?
                .set_pin_enabled(pin.as_str(), enabled)
                .await?;
        }
    }
    Ok(())
}

async fn slot_policy(
    conn: &Connection,
    modem: &str,
    on_removal: Option<OnRemoval>,
    auto_switch: Option<bool>,
    json: bool,
) -> Result<(), ClientError> {
    let target = target::parse_kind(modem, Kind::Modem)?;
    let proxy = modem_proxy(conn, &target).await?;
    if on_removal.is_some() || auto_switch.is_some() {
        // The method sets both; what was not given stays as it is.
        let on_removal = match on_removal {
            Some(on_removal) => value_name(on_removal),
            None => proxy.on_removal().await?,
        };
        let auto_switch = match auto_switch {
            Some(auto_switch) => auto_switch,
            None => proxy.auto_switch().await?,
        };
        proxy.set_slot_policy(&on_removal, auto_switch).await?;
        return Ok(());
    }
    let active = proxy.slot_policy_active().await?;
    let on_removal = proxy.on_removal().await?;
    let auto_switch = proxy.auto_switch().await?;
    if json {
        print_json(&serde_json::json!({
            "SlotPolicyActive": active,
            "OnRemoval": on_removal,
            "AutoSwitch": auto_switch,
        }))
    } else {
        print(&format!(
            "SlotPolicyActive  {active}\nOnRemoval         {on_removal}\nAutoSwitch        {auto_switch}\n"
        ))
    }
}
