//! The D-Bus client of mbimd: the commands beside `decode`.
//!
//! Every command connects to the system bus (or `--address`), asks mbimd
//! (`dev.mbimd.Mbimd1`, dbus-interfaces/README.md) and prints what it says:
//! text for people, or with `--json` the D-Bus property names as fields.
//! A refusal from the daemon is printed as it came, error name and message,
//! and exits 1.
//!
//! This file holds the commands' arguments, the error type and the command
//! table (`run`); the rest has a file per concern: `bus` (the connection
//! and the objects' proxies), `wait` (`--wait`: acting, then watching the
//! object's properties), `output` (standard output, text and JSON),
//! `objects` (`list` and `show`), `sim` (`pin` and `slot-policy`), and
//! beside them `monitor`, `proxy`, `secret`, `target` and `value`.

mod bus;
mod monitor;
mod objects;
mod output;
mod proxy;
mod secret;
mod sim;
mod target;
mod value;
mod wait;

use bus::{connect, executor_proxy, manager_proxy, modem_proxy};
use clap::{Args, Subcommand, ValueEnum};
use objects::{list, show};
use output::{print, print_json, text_list};
use proxy::BUS_NAME;
use secret::SecretError;
use sim::{pin, slot_policy};
use std::collections::HashMap;
use std::process::ExitCode;
use target::{Kind, TargetError};
use wait::{wait_for_mapping, wait_for_state};
use zbus::zvariant::Value;

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
