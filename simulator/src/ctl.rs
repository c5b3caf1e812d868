//! The control socket: run-time commands for a running simulator.
//!
//! A Unix stream socket carrying JSON lines: each line the client sends is
//! one [`ControlCommand`] (`{"command": "remove-sim", "slot": 0}`), and the
//! server answers each with one line, `{"ok": <ControlReply>}` or
//! `{"error": "<why>"}`. The socket is at `--control PATH`, by default
//! [`default_socket_path`]: `$XDG_RUNTIME_DIR/mbim-sim.sock` when that
//! variable is set, else `/run/mbim-sim.sock` (the VM tests run as root).
//!
//! `mbim-sim ctl <subcommand> [--flag value]…` builds the command from
//! [`CtlCommand`], sends it and prints the reply.

use crate::control::ControlCommand;
use crate::device::SimModem;
use serde_json::{json, Map, Value};
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use thiserror::Error;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tracing::{debug, info, warn};

/// The longest command line the server reads; a control command is a few
/// hundred bytes, so anything longer is refused rather than buffered.
pub const MAX_LINE: usize = 64 * 1024;

/// How long the client waits for the simulator's answer.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// The socket's name in the runtime directory.
pub const SOCKET_NAME: &str = "mbim-sim.sock";

/// Why a control request failed.
#[derive(Debug, Error)]
pub enum CtlError {
    /// The arguments do not make a valid command.
    #[error("invalid command: {0}")]
    BadCommand(String),
    /// Nothing listens on the socket.
    #[error("cannot reach the simulator's control socket {path}: {source} (is `mbim-sim serve --control {path}` running?)")]
    Unreachable {
        /// The socket.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Another simulator already serves this socket.
    #[error("control socket {0} is in use by another running simulator")]
    InUse(PathBuf),
    /// Something other than a socket is at the path: it is not replaced.
    #[error(
        "{0} exists and is not a socket; only a socket left by a simulator that ended is \
         replaced (remove the file, or choose another path)"
    )]
    NotASocket(PathBuf),
    /// The socket could not be created.
    #[error("creating control socket {path}: {source}")]
    Bind {
        /// The socket.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The exchange failed half way.
    #[error("control socket: {0}")]
    Io(#[from] std::io::Error),
    /// No answer within [`REPLY_TIMEOUT`].
    #[error("no answer from the simulator within {0:?}")]
    Timeout(Duration),
    /// The answer is not a reply line.
    #[error("unreadable answer from the simulator: {0}")]
    BadReply(String),
}

/// `$XDG_RUNTIME_DIR/mbim-sim.sock`, or `/run/mbim-sim.sock` without it.
pub fn default_socket_path() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir).join(SOCKET_NAME),
        _ => PathBuf::from("/run").join(SOCKET_NAME),
    }
}

/// Binds the control socket at `path`. A socket file left by a simulator
/// that died (nobody accepts on it) is replaced; one that a live simulator
/// answers on is not, and neither is anything that is not a socket.
pub async fn bind(path: &Path) -> Result<UnixListener, CtlError> {
    let bind_error = |source| CtlError::Bind {
        path: path.to_owned(),
        source,
    };
    match std::fs::symlink_metadata(path) {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(bind_error(error)),
        Ok(metadata) if !metadata.file_type().is_socket() => {
            return Err(CtlError::NotASocket(path.to_owned()));
        }
        Ok(_) => match UnixStream::connect(path).await {
            Ok(_) => return Err(CtlError::InUse(path.to_owned())),
            // Nobody listens: a stale socket.
            Err(error) if error.kind() == std::io::ErrorKind::ConnectionRefused => {
                std::fs::remove_file(path).map_err(bind_error)?;
            }
            // Not ours to judge (no permission…): leave it alone.
            Err(error) => return Err(bind_error(error)),
        },
    }
    UnixListener::bind(path).map_err(bind_error)
}

/// Answers control connections on `listener` until the task is dropped.
pub async fn serve(listener: UnixListener, modem: SimModem) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let modem = modem.clone();
                tokio::spawn(async move {
                    if let Err(error) = serve_connection(stream, &modem).await {
                        debug!(%error, "control connection");
                    }
                });
            }
            Err(error) => {
                warn!(%error, "control socket accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// The reply line to one command line.
pub fn answer(line: &str, modem: &SimModem) -> Value {
    let command: ControlCommand = match serde_json::from_str(line) {
        Ok(command) => command,
        Err(error) => return json!({ "error": format!("invalid command: {error}") }),
    };
    // The variant name only: arguments may carry ICCIDs and IMSIs.
    let name = command_name(line);
    match modem.control(command) {
        Ok(reply) => {
            info!(command = %name, "control command done");
            match serde_json::to_value(reply) {
                Ok(value) => json!({ "ok": value }),
                Err(error) => json!({ "error": format!("reply not encodable: {error}") }),
            }
        }
        Err(error) => {
            info!(command = %name, %error, "control command refused");
            json!({ "error": error.to_string() })
        }
    }
}

fn command_name(line: &str) -> String {
    serde_json::from_str::<Value>(line)
        .ok()
        .and_then(|v| v.get("command").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_default()
}

async fn serve_connection(stream: UnixStream, modem: &SimModem) -> Result<(), CtlError> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    loop {
        let mut line = String::new();
        let limit = u64::try_from(MAX_LINE).unwrap_or(u64::MAX);
        let n = (&mut reader).take(limit).read_line(&mut line).await?;
        if n == 0 {
            return Ok(());
        }
        let reply = if !line.ends_with('\n') && n >= MAX_LINE {
            let reply = json!({ "error": format!("command longer than {MAX_LINE} bytes") });
            write_line(&mut write, &reply).await?;
            return Ok(());
        } else if line.trim().is_empty() {
            continue;
        } else {
            answer(line.trim(), modem)
        };
        write_line(&mut write, &reply).await?;
    }
}

async fn write_line<W: AsyncWriteExt + Unpin>(write: &mut W, value: &Value) -> std::io::Result<()> {
    let mut text = value.to_string();
    text.push('\n');
    write.write_all(text.as_bytes()).await
}

/// Sends one command line and returns the reply line, parsed.
pub async fn request(path: &Path, command: &ControlCommand) -> Result<Value, CtlError> {
    let text = serde_json::to_string(command).map_err(|e| CtlError::BadCommand(e.to_string()))?;
    let exchange = async {
        let stream = UnixStream::connect(path)
            .await
            .map_err(|source| CtlError::Unreachable {
                path: path.to_owned(),
                source,
            })?;
        let (read, mut write) = stream.into_split();
        write.write_all(format!("{text}\n").as_bytes()).await?;
        let mut line = String::new();
        let limit = u64::try_from(MAX_LINE).unwrap_or(u64::MAX);
        BufReader::new(read)
            .take(limit)
            .read_line(&mut line)
            .await?;
        serde_json::from_str::<Value>(&line).map_err(|_| CtlError::BadReply(line.clone()))
    };
    tokio::time::timeout(REPLY_TIMEOUT, exchange)
        .await
        .map_err(|_| CtlError::Timeout(REPLY_TIMEOUT))?
}

/// A control command as `mbim-sim ctl` arguments. Each becomes the JSON of
/// a [`ControlCommand`] and is checked against it before it is sent.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum CtlCommand {
    /// Put a card into an empty slot (fields not given take the defaults of
    /// a scenario card).
    InsertSim {
        /// The slot.
        #[arg(long)]
        slot: u32,
        /// ICCID.
        #[arg(long)]
        iccid: Option<String>,
        /// IMSI.
        #[arg(long)]
        imsi: Option<String>,
        /// PIN1.
        #[arg(long)]
        pin: Option<String>,
        /// PUK1.
        #[arg(long)]
        puk: Option<String>,
        /// Start with PIN1 enabled (locked).
        #[arg(long)]
        pin_enabled: bool,
        /// An eUICC.
        #[arg(long)]
        esim: bool,
        /// A telephone number (repeatable).
        #[arg(long = "telephone-number")]
        telephone_numbers: Vec<String>,
    },
    /// Take the card out of a slot.
    RemoveSim {
        /// The slot.
        #[arg(long)]
        slot: u32,
    },
    /// Block PIN1 of the card in a slot.
    BlockPin {
        /// The slot.
        #[arg(long)]
        slot: u32,
    },
    /// The executor loses the network.
    LoseSignal {
        /// The executor.
        #[arg(long)]
        executor: usize,
    },
    /// The executor finds the network again.
    RegainSignal {
        /// The executor.
        #[arg(long)]
        executor: usize,
    },
    /// The executor loses packet service only.
    LosePacketService {
        /// The executor.
        #[arg(long)]
        executor: usize,
    },
    /// Packet service comes back.
    RegainPacketService {
        /// The executor.
        #[arg(long)]
        executor: usize,
    },
    /// Replace the IP configuration an executor hands out.
    SetIpConfig {
        /// The executor.
        #[arg(long)]
        executor: usize,
        /// IPv4 configuration as JSON (`null`: none).
        #[arg(long)]
        ipv4: Option<String>,
        /// IPv6 configuration as JSON (`null`: none).
        #[arg(long)]
        ipv6: Option<String>,
    },
    /// Change the DNS servers of an executor.
    SetDns {
        /// The executor.
        #[arg(long)]
        executor: usize,
        /// An IPv4 DNS server (repeatable).
        #[arg(long = "ipv4-dns")]
        ipv4_dns: Vec<String>,
        /// An IPv6 DNS server (repeatable).
        #[arg(long = "ipv6-dns")]
        ipv6_dns: Vec<String>,
    },
    /// The status the next DEVICE_SLOT_MAPPINGS set fails with.
    NextSlotMappingStatus {
        /// `busy` or `voice-call-in-progress`.
        #[arg(long)]
        status: String,
    },
    /// Inject a fault on a function.
    Faults {
        /// The function (executor index).
        #[arg(long)]
        function: usize,
        /// drop-next-response, delay-next-response, fragment-next-response,
        /// corrupt-next-response, send-garbage, stall-endpoint, hang-control,
        /// clear-stall, send-garbage-ntbs.
        #[arg(long)]
        kind: String,
        /// Milliseconds (delay-next-response).
        #[arg(long)]
        ms: Option<u64>,
        /// Bytes per fragment (fragment-next-response).
        #[arg(long)]
        max_fragment: Option<usize>,
        /// Bytes as hex (send-garbage).
        #[arg(long)]
        hex: Option<String>,
        /// Pseudo-random byte count (send-garbage).
        #[arg(long)]
        len: Option<usize>,
        /// interrupt, bulk-in or bulk-out (stall-endpoint).
        #[arg(long)]
        endpoint: Option<String>,
        /// How many blocks (send-garbage-ntbs; 4 when not given).
        #[arg(long)]
        count: Option<usize>,
    },
    /// Start, change or stop an executor's traffic generator.
    Traffic {
        /// The executor.
        #[arg(long)]
        executor: usize,
        /// The IP session.
        #[arg(long)]
        session: Option<u32>,
        /// Count and drop UDP datagrams to this port.
        #[arg(long)]
        sink_port: Option<u16>,
        /// Generate UDP datagrams to this address.
        #[arg(long)]
        to: Option<String>,
        /// … and this port.
        #[arg(long)]
        port: Option<u16>,
        /// … from this port.
        #[arg(long)]
        source_port: Option<u16>,
        /// … at this many datagrams per second.
        #[arg(long)]
        rate: Option<u64>,
        /// … of this many payload bytes.
        #[arg(long)]
        size: Option<usize>,
    },
    /// Report a slot in another state (no --state: stop).
    MisreportSlot {
        /// The slot.
        #[arg(long)]
        slot: u32,
        /// The state reported instead.
        #[arg(long)]
        state: Option<String>,
    },
    /// Reset the modem (as a USB reset or a power loss would): sessions,
    /// contexts and registration gone, cards power-cycled.
    ResetDevice,
    /// Unplug the modem.
    Unplug,
    /// Plug the unplugged modem in again (it powers on afresh).
    Replug,
    /// Print the modem's state and counters.
    Status,
    /// Send a control command written as JSON.
    Send {
        /// E.g. '{"command": "remove-sim", "slot": 0}'.
        json: String,
    },
}

fn insert(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(value) = value {
        map.insert(key.to_owned(), value);
    }
}

fn json_arg(what: &str, text: Option<&String>) -> Result<Option<Value>, CtlError> {
    text.map(|t| {
        serde_json::from_str(t).map_err(|e| CtlError::BadCommand(format!("--{what}: {e}")))
    })
    .transpose()
}

impl CtlCommand {
    /// The JSON form of the command, before it is checked.
    pub fn to_json(&self) -> Result<Value, CtlError> {
        let mut map = Map::new();
        let name = match self {
            CtlCommand::Send { json } => {
                return serde_json::from_str(json)
                    .map_err(|e| CtlError::BadCommand(format!("not JSON: {e}")));
            }
            CtlCommand::InsertSim {
                slot,
                iccid,
                imsi,
                pin,
                puk,
                pin_enabled,
                esim,
                telephone_numbers,
            } => {
                let mut card = Map::new();
                insert(&mut card, "iccid", iccid.clone().map(Value::from));
                insert(&mut card, "imsi", imsi.clone().map(Value::from));
                insert(&mut card, "pin", pin.clone().map(Value::from));
                insert(&mut card, "puk", puk.clone().map(Value::from));
                insert(
                    &mut card,
                    "pin_enabled",
                    pin_enabled.then_some(Value::Bool(true)),
                );
                insert(&mut card, "esim", esim.then_some(Value::Bool(true)));
                if !telephone_numbers.is_empty() {
                    card.insert("telephone_numbers".into(), json!(telephone_numbers));
                }
                map.insert("slot".into(), json!(slot));
                map.insert("card".into(), Value::Object(card));
                "insert-sim"
            }
            CtlCommand::RemoveSim { slot } => {
                map.insert("slot".into(), json!(slot));
                "remove-sim"
            }
            CtlCommand::BlockPin { slot } => {
                map.insert("slot".into(), json!(slot));
                "block-pin"
            }
            CtlCommand::LoseSignal { executor } => {
                map.insert("executor".into(), json!(executor));
                "lose-signal"
            }
            CtlCommand::RegainSignal { executor } => {
                map.insert("executor".into(), json!(executor));
                "regain-signal"
            }
            CtlCommand::LosePacketService { executor } => {
                map.insert("executor".into(), json!(executor));
                "lose-packet-service"
            }
            CtlCommand::RegainPacketService { executor } => {
                map.insert("executor".into(), json!(executor));
                "regain-packet-service"
            }
            CtlCommand::SetIpConfig {
                executor,
                ipv4,
                ipv6,
            } => {
                map.insert("executor".into(), json!(executor));
                insert(&mut map, "ipv4", json_arg("ipv4", ipv4.as_ref())?);
                insert(&mut map, "ipv6", json_arg("ipv6", ipv6.as_ref())?);
                "set-ip-config"
            }
            CtlCommand::SetDns {
                executor,
                ipv4_dns,
                ipv6_dns,
            } => {
                map.insert("executor".into(), json!(executor));
                map.insert("ipv4_dns".into(), json!(ipv4_dns));
                map.insert("ipv6_dns".into(), json!(ipv6_dns));
                "set-dns"
            }
            CtlCommand::NextSlotMappingStatus { status } => {
                map.insert("status".into(), json!(status));
                "next-slot-mapping-status"
            }
            CtlCommand::Faults {
                function,
                kind,
                ms,
                max_fragment,
                hex,
                len,
                endpoint,
                count,
            } => {
                let mut fault = Map::new();
                fault.insert("kind".into(), json!(kind));
                insert(&mut fault, "ms", ms.map(Value::from));
                insert(&mut fault, "max_fragment", max_fragment.map(Value::from));
                insert(&mut fault, "hex", hex.clone().map(Value::from));
                insert(&mut fault, "len", len.map(Value::from));
                insert(&mut fault, "endpoint", endpoint.clone().map(Value::from));
                insert(&mut fault, "count", count.map(Value::from));
                map.insert("function".into(), json!(function));
                map.insert("fault".into(), Value::Object(fault));
                "faults"
            }
            CtlCommand::Traffic {
                executor,
                session,
                sink_port,
                to,
                port,
                source_port,
                rate,
                size,
            } => {
                map.insert("executor".into(), json!(executor));
                insert(&mut map, "session", session.map(Value::from));
                insert(&mut map, "sink_port", sink_port.map(Value::from));
                if let Some(address) = to {
                    let mut source = Map::new();
                    source.insert("address".into(), json!(address));
                    insert(&mut source, "port", port.map(Value::from));
                    insert(&mut source, "source_port", source_port.map(Value::from));
                    insert(&mut source, "rate", rate.map(Value::from));
                    insert(&mut source, "size", size.map(Value::from));
                    map.insert("source".into(), Value::Object(source));
                } else if port.is_some()
                    || source_port.is_some()
                    || rate.is_some()
                    || size.is_some()
                {
                    return Err(CtlError::BadCommand(
                        "--port, --source-port, --rate and --size need --to".into(),
                    ));
                }
                "traffic"
            }
            CtlCommand::MisreportSlot { slot, state } => {
                map.insert("slot".into(), json!(slot));
                map.insert("state".into(), json!(state));
                "misreport-slot"
            }
            CtlCommand::ResetDevice => "reset-device",
            CtlCommand::Unplug => "unplug",
            CtlCommand::Replug => "replug",
            CtlCommand::Status => "status",
        };
        map.insert("command".into(), json!(name));
        Ok(Value::Object(map))
    }

    /// The checked [`ControlCommand`].
    pub fn to_command(&self) -> Result<ControlCommand, CtlError> {
        let value = self.to_json()?;
        serde_json::from_value(value).map_err(|e| CtlError::BadCommand(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(subcommand)]
        command: CtlCommand,
    }

    fn command(args: &[&str]) -> Result<ControlCommand, CtlError> {
        let mut all = vec!["ctl"];
        all.extend_from_slice(args);
        Cli::try_parse_from(all).unwrap().command.to_command()
    }

    #[test]
    fn arguments_become_control_commands() {
        assert_eq!(
            command(&["remove-sim", "--slot", "1"]).unwrap(),
            ControlCommand::RemoveSim { slot: 1 }
        );
        assert_eq!(command(&["unplug"]).unwrap(), ControlCommand::Unplug);
        assert_eq!(command(&["replug"]).unwrap(), ControlCommand::Replug);
        assert_eq!(
            command(&[
                "faults",
                "--function",
                "0",
                "--kind",
                "send-garbage-ntbs",
                "--count",
                "2"
            ])
            .unwrap(),
            ControlCommand::Faults {
                function: 0,
                fault: crate::control::Fault::SendGarbageNtbs { count: 2 }
            }
        );
        assert_eq!(
            command(&["reset-device"]).unwrap(),
            ControlCommand::ResetDevice
        );
        assert_eq!(
            command(&["lose-signal", "--executor", "0"]).unwrap(),
            ControlCommand::LoseSignal { executor: 0 }
        );
        let inserted = command(&[
            "insert-sim",
            "--slot",
            "0",
            "--iccid",
            "8988200000000000099",
            "--imsi",
            "001010000000099",
        ])
        .unwrap();
        let ControlCommand::InsertSim { slot: 0, card } = inserted else {
            panic!("{inserted:?}");
        };
        assert_eq!(card.iccid, "8988200000000000099");
        assert_eq!(card.imsi, "001010000000099");
        let fault = command(&[
            "faults",
            "--function",
            "1",
            "--kind",
            "delay-next-response",
            "--ms",
            "20",
        ])
        .unwrap();
        assert_eq!(
            fault,
            serde_json::from_str(
                r#"{"command":"faults","function":1,"fault":{"kind":"delay-next-response","ms":20}}"#
            )
            .unwrap()
        );
        assert!(command(&[
            "traffic",
            "--executor",
            "0",
            "--to",
            "10.0.0.1",
            "--port",
            "9",
            "--rate",
            "10",
            "--size",
            "100"
        ])
        .is_ok());
        assert_eq!(
            command(&["send", r#"{"command":"status"}"#]).unwrap(),
            ControlCommand::Status
        );
    }

    #[test]
    fn bad_arguments_are_refused_before_sending() {
        assert!(matches!(
            command(&["faults", "--function", "0", "--kind", "explode"]),
            Err(CtlError::BadCommand(_))
        ));
        assert!(matches!(
            command(&["send", "{not json"]),
            Err(CtlError::BadCommand(_))
        ));
        assert!(matches!(
            command(&["send", r#"{"command":"fly"}"#]),
            Err(CtlError::BadCommand(_))
        ));
        assert!(matches!(
            command(&["traffic", "--executor", "0", "--rate", "5"]),
            Err(CtlError::BadCommand(_))
        ));
    }

    #[test]
    fn default_path_is_in_the_runtime_directory() {
        let path = default_socket_path();
        assert!(path.ends_with(SOCKET_NAME));
    }
}
