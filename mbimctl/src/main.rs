//! `mbimctl`: the command-line client of mbimd, and a decoder of MBIM bytes.
//!
//! The other commands talk to mbimd over D-Bus (`client/`): list and show
//! modems, executors and slots, connect, PINs, slots, monitor.
//! `mbimctl decode` turns hex dumps of control messages (from mbimcli's
//! `--verbose`, a kernel trace, usbmon, a bug report) or of NTBs into readable
//! text or JSON, using the same codec the daemon runs; it needs no daemon.

mod client;
mod decode;
mod hex;
mod render;

use clap::{Parser, Subcommand};
use mbim_protocol::MbimExVersion;
use std::io::Read;
use std::process::ExitCode;

/// Talk to mbimd, or decode MBIM bytes.
#[derive(Debug, Parser)]
#[command(name = "mbimctl", version, about)]
struct Cli {
    #[command(flatten)]
    bus: client::BusArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Decode MBIM control messages (or, with --ntb, an NTB) given as hex.
    ///
    /// Whitespace, colons, commas, `0x` prefixes and `#` comments in the hex are
    /// ignored, so capture files can be piped in as they are.
    /// Several messages may follow one another; fragments are reassembled.
    /// Exits non-zero when something fails to decode, after printing what did.
    Decode {
        /// The hex bytes; read from standard input when absent.
        hex: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Decode an NCM Transfer Block (NTB16 or NTB32) instead of control messages.
        #[arg(long)]
        ntb: bool,
        /// Show personal data (IMSI, ICCID, IMEI, telephone numbers) instead of masking it.
        #[arg(long)]
        show_personal_info: bool,
        /// The MBIM extensions version host and device negotiated (MBIM_CID_VERSION):
        /// 1 (plain MBIM), 2, 3 or 4. It picks the layout of the CIDs that changed
        /// with the extensions (CONNECT, DEVICE_CAPS, PACKET_SERVICE…). Without it,
        /// 1 until an MBIM_CID_VERSION exchange in the input negotiates another.
        #[arg(long, value_name = "1|2|3|4")]
        mbimex_version: Option<MbimExVersion>,
    },
    #[command(flatten)]
    Client(client::Command),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Client(command) => client::main(&cli.bus, command),
        Command::Decode {
            hex,
            json,
            ntb,
            show_personal_info,
            mbimex_version,
        } => {
            let text = match hex {
                Some(text) => text,
                None => {
                    let mut text = String::new();
                    if let Err(error) = std::io::stdin().read_to_string(&mut text) {
                        eprintln!("mbimctl: cannot read standard input: {error}");
                        return ExitCode::from(2);
                    }
                    text
                }
            };
            let bytes = match hex::parse(&text) {
                Ok(bytes) => bytes,
                Err(error) => {
                    eprintln!("mbimctl: {error}");
                    return ExitCode::from(2);
                }
            };
            let options = render::Options {
                json,
                show_personal_info,
            };
            let report = if ntb {
                decode::decode_ntb(&bytes)
            } else {
                let layouts = match mbimex_version {
                    Some(version) => decode::Layouts::Fixed(version),
                    None => decode::Layouts::Negotiated,
                };
                decode::decode_messages(&bytes, layouts)
            };
            print!("{}", render::report(&report, &options));
            match &report.error {
                None => ExitCode::SUCCESS,
                Some(error) => {
                    eprintln!("mbimctl: {error}");
                    ExitCode::from(1)
                }
            }
        }
    }
}
