//! `mbim-sim`: run the simulated modem as a USB device for a real kernel,
//! and drive it at run time.
//!
//! ```text
//! mbim-sim serve [--scenario FILE | --scenario-name dssa|two-executors]
//!                [--listen 127.0.0.1:3240 | --attach] [--control PATH]
//!                [--forward DEVICE[@NETNS]]
//! mbim-sim ctl [--control PATH] <subcommand> [--flag value]…
//! ```
//!
//! `serve --listen` is a usbipd stand-in (`usbip list -r`, `usbip attach -r
//! HOST -b 1-1`); `serve --attach` puts the device straight onto the local
//! vhci-hcd (root needed). The process ends when the modem is unplugged, the
//! attached session ends, or on SIGINT/SIGTERM. Logs go to stderr, filtered
//! by RUST_LOG (default `info`).

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use mbim_sim::ctl::{self, CtlCommand};
use mbim_sim::device::SimModem;
use mbim_sim::scenario::Scenario;
use mbim_sim::usb::server::{serve_tcp, SimUsbDevice};
use mbim_sim::usb::usbip::USB_SPEED_HIGH;
use mbim_sim::usb::vhci;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use tokio::signal::unix::{signal, SignalKind};
use tracing::info;

/// The dual-active scenario's text, built in like the DSSA one.
const TWO_EXECUTORS_TOML: &str = include_str!("../scenarios/two-executors.toml");

#[derive(Parser)]
#[command(
    name = "mbim-sim",
    version,
    about = "A simulated multi-SIM USB MBIM modem"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the simulated modem as a USB device (USB/IP server or vhci attach).
    Serve(ServeArgs),
    /// Send a control command to a running `mbim-sim serve`.
    Ctl {
        /// The control socket [default: $XDG_RUNTIME_DIR/mbim-sim.sock, else /run/mbim-sim.sock].
        #[arg(long)]
        control: Option<PathBuf>,
        #[command(subcommand)]
        command: CtlCommand,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum BuiltinScenario {
    /// simulator/scenarios/dssa.toml: dual-SIM single-active.
    Dssa,
    /// simulator/scenarios/two-executors.toml: dual-SIM dual-active.
    TwoExecutors,
}

#[derive(clap::Args)]
struct ServeArgs {
    /// A scenario file (TOML).
    #[arg(long, conflicts_with = "scenario_name")]
    scenario: Option<PathBuf>,
    /// A built-in scenario [default: dssa].
    #[arg(long, value_enum)]
    scenario_name: Option<BuiltinScenario>,
    /// Serve USB/IP on this address, like usbipd [default: 127.0.0.1:3240].
    #[arg(long, conflicts_with = "attach")]
    listen: Option<SocketAddr>,
    /// Attach straight to the local vhci-hcd (/sys/devices/platform/vhci_hcd.0).
    #[arg(long)]
    attach: bool,
    /// The control socket [default: $XDG_RUNTIME_DIR/mbim-sim.sock, else /run/mbim-sim.sock].
    #[arg(long)]
    control: Option<PathBuf>,
    /// A real network behind the modem: the TUN device DEVICE in the network
    /// namespace NETNS (a name under /run/netns, or a path; absent: this
    /// process's own) gets the sessions' datagrams that are not for the
    /// simulated gateway, and what it routes into DEVICE for a session's
    /// address goes to the host.
    #[arg(long, value_name = "DEVICE[@NETNS]")]
    forward: Option<mbim_sim::forward::ForwardTarget>,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("mbim-sim: starting the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match cli.command {
        Command::Serve(args) => match runtime.block_on(serve(args)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("mbim-sim: {error:#}");
                ExitCode::FAILURE
            }
        },
        Command::Ctl { control, command } => {
            let path = control.unwrap_or_else(ctl::default_socket_path);
            runtime.block_on(run_ctl(&path, &command))
        }
    }
}

fn load_scenario(args: &ServeArgs) -> anyhow::Result<Scenario> {
    Ok(match (&args.scenario, args.scenario_name) {
        (Some(path), _) => Scenario::load(path)?,
        (None, None | Some(BuiltinScenario::Dssa)) => Scenario::default_dssa(),
        (None, Some(BuiltinScenario::TwoExecutors)) => {
            Scenario::from_toml_str(TWO_EXECUTORS_TOML, "two-executors.toml")?
        }
    })
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let scenario = load_scenario(&args)?;
    info!(scenario = %scenario.name, executors = scenario.executors.len(), "starting");
    let modem = SimModem::new(scenario)?;
    let device = Arc::new(SimUsbDevice::new(modem.clone())?);
    let runner = tokio::spawn({
        let modem = modem.clone();
        async move { modem.run().await }
    });

    // Before the control socket: a network that cannot be reached ends
    // `serve` with nothing left behind.
    let forward = match &args.forward {
        Some(target) => {
            let reader = modem
                .forward(target, true)
                .await
                .with_context(|| format!("forwarding to {target}"))?;
            info!(network = %target, "a real network behind the modem");
            Some(reader)
        }
        None => None,
    };

    let control_path = args
        .control
        .clone()
        .unwrap_or_else(ctl::default_socket_path);
    // Before the socket is announced: a signal's default action kills the
    // process until its listener exists, and whoever waits for the socket
    // may stop the simulator at once.
    let mut terminate = signal(SignalKind::terminate()).context("SIGTERM handler")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("SIGINT handler")?;
    let listener = ctl::bind(&control_path).await?;
    info!(path = %control_path.display(), "control socket ready");
    let control = tokio::spawn(ctl::serve(listener, modem.clone()));

    let transport = run_transport(&args, device);
    let result = tokio::select! {
        result = transport => result,
        _ = interrupt.recv() => { info!("SIGINT"); Ok(()) }
        _ = terminate.recv() => { info!("SIGTERM"); Ok(()) }
    };
    control.abort();
    runner.abort();
    // The reader stops with its handle.
    drop(forward);
    // Best effort: a stale socket is replaced by the next `serve` anyway.
    let _ = std::fs::remove_file(&control_path);
    result
}

async fn run_transport(args: &ServeArgs, device: Arc<SimUsbDevice>) -> anyhow::Result<()> {
    if args.attach {
        let devid = device.usbip_device().devid();
        let attached = vhci::attach(Path::new(vhci::VHCI_SYSFS), devid, USB_SPEED_HIGH)?;
        info!(port = attached.port, "attached to vhci-hcd");
        attached.socket.set_nonblocking(true)?;
        let stream = tokio::net::UnixStream::from_std(attached.socket)?;
        let end = device.serve_urbs(stream).await?;
        info!(?end, "detached from vhci-hcd");
        return Ok(());
    }
    let address = args
        .listen
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 3240)));
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("listening on {address}"))?;
    serve_tcp(listener, device).await?;
    Ok(())
}

async fn run_ctl(path: &Path, command: &CtlCommand) -> ExitCode {
    let command = match command.to_command() {
        Ok(command) => command,
        Err(error) => {
            eprintln!("mbim-sim ctl: {error}");
            return ExitCode::from(2);
        }
    };
    let reply = match ctl::request(path, &command).await {
        Ok(reply) => reply,
        Err(error) => {
            eprintln!("mbim-sim ctl: {error}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(ok) = reply.get("ok") {
        let text = serde_json::to_string_pretty(ok).unwrap_or_else(|_| ok.to_string());
        // `println!` panics when the reader went away (`ctl status | head`);
        // a closed pipe is the reader's choice, not a failure.
        let mut stdout = std::io::stdout().lock();
        return match writeln!(stdout, "{text}") {
            Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => {
                eprintln!("mbim-sim ctl: writing the reply: {error}");
                ExitCode::FAILURE
            }
            _ => ExitCode::SUCCESS,
        };
    }
    let message = reply
        .get("error")
        .and_then(|e| e.as_str())
        .map_or_else(|| reply.to_string(), str::to_owned);
    eprintln!("mbim-sim ctl: {message}");
    if message.starts_with("invalid command") {
        ExitCode::from(2)
    } else {
        ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn builtin_scenarios_parse() {
        let scenario = mbim_sim::scenario::Scenario::from_toml_str(
            super::TWO_EXECUTORS_TOML,
            "two-executors.toml",
        );
        assert!(scenario.is_ok(), "{scenario:?}");
    }
}
