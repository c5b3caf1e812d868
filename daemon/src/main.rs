//! `mbimd`: the daemon.
//!
//! `mbimd --simulate [SCENARIO]` runs it against the simulated modem in
//! process (the built-in dual-SIM single-active one by default). As root it
//! creates and configures the real TUN devices; unprivileged it says what it
//! skips and carries on with the control plane. `--sim-control PATH` (or
//! `[simulate] control`) also serves the simulator's control socket there,
//! so `mbim-sim ctl --control PATH` drives that modem (SIM removal and
//! insertion, faults) while mbimd runs; both may be given again for more
//! simulated modems at once, and an unplugged one goes while mbimd runs on.
//! Without `--simulate` it takes the USB MBIM modems present and arriving
//! (the `[devices]` rules).

use anyhow::Context as _;
use clap::Parser;
use mbim_sim::device::SimModem;
use mbim_sim::scenario::Scenario;
use mbimd::config::{self, Config, Sessions};
use mbimd::dbus;
use mbimd::logging::chain;
use mbimd::mm;
use mbimd::modem::{modem_channel, ModemSnapshot, Registry};
use mbimd::service::{self, Notifier};
use mbimd::supervisor;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// Drives USB MBIM modems: one network device per connected executor.
#[derive(Debug, Parser)]
#[command(name = "mbimd", version, about)]
struct Cli {
    /// The configuration file (default /etc/mbimd/mbimd.toml; a missing
    /// default file means the built-in defaults).
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Run against the simulated modem instead of USB devices: the scenario
    /// file given, else `[simulate] scenario`, else the built-in dual-SIM
    /// single-active modem. Given again, another modem beside it.
    #[arg(
        long,
        value_name = "SCENARIO",
        num_args = 0..=1,
        default_missing_value = "",
        action = clap::ArgAction::Append
    )]
    simulate: Vec<String>,
    /// With --simulate: serve the simulated modem's control socket here
    /// (`mbim-sim ctl --control PATH …` drives it); given again, the next
    /// modem's. Overrides `[simulate] control`. A socket left there that
    /// nobody listens on is replaced; anything else at PATH is refused and
    /// left alone.
    #[arg(long, value_name = "PATH", action = clap::ArgAction::Append)]
    sim_control: Vec<PathBuf>,
    /// With --simulate: put a real network behind the simulated modem, the
    /// TUN device DEVICE in the network namespace NETNS (a name under
    /// /run/netns, or a path; absent: mbimd's own). Datagrams of its
    /// sessions that are not for the simulated gateway go there, and what
    /// the namespace routes into DEVICE for a session's address comes back.
    /// Given again, the next modem's. Overrides `[simulate] forward`.
    #[arg(long, value_name = "DEVICE[@NETNS]", action = clap::ArgAction::Append)]
    sim_forward: Vec<mbim_sim::forward::ForwardTarget>,
    /// Only check the configuration file: exit 0 when mbimd would start
    /// with it, 2 with the place of the problem when not.
    #[arg(long)]
    check_config: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load_or_default(cli.config.as_deref()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("mbimd: {}", chain(&error));
            return ExitCode::from(2);
        }
    };
    // Packages and admins check a file before (re)starting the service,
    // which would otherwise only say so in the journal.
    if cli.check_config {
        // The configuration's own scenario was loaded with it; one given on
        // the command line is checked the same way.
        for scenario in cli.simulate.iter().filter(|given| !given.is_empty()) {
            if let Err(error) = Scenario::load(Path::new(scenario)) {
                eprintln!("mbimd: --simulate: {}", chain(&error));
                return ExitCode::from(2);
            }
        }
        let path = cli
            .config
            .as_deref()
            .unwrap_or(Path::new(config::DEFAULT_PATH));
        println!("mbimd: {}: configuration valid", path.display());
        return ExitCode::SUCCESS;
    }
    if let Err(error) = mbimd::logging::init(&config.logging) {
        eprintln!("mbimd: {}", chain(&error));
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("mbimd: cannot start the async runtime: {}", chain(&error));
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            eprintln!("mbimd: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli, config: Config) -> anyhow::Result<()> {
    // First of all: until a listener exists, SIGTERM, SIGINT and SIGHUP
    // kill mbimd outright (their default action), with no clean-up of its
    // devices and routes.
    let shutdown_signals = ShutdownSignals::listen();
    let hangup = listen_for_hangup();
    // Every supervised modem's handle, shared with the D-Bus service.
    let registry = Registry::new();
    let scenarios = scenario_paths(&cli.simulate, config.simulate.scenario.clone());
    let simulating = !scenarios.is_empty();
    if !simulating && !cli.sim_control.is_empty() {
        anyhow::bail!(
            "--sim-control drives the simulated modem: it needs --simulate (or [simulate] scenario)"
        );
    }
    let controls: Vec<PathBuf> = if cli.sim_control.is_empty() {
        config.simulate.control.clone().into_iter().collect()
    } else {
        cli.sim_control.clone()
    };
    if !simulating && !cli.sim_forward.is_empty() {
        anyhow::bail!(
            "--sim-forward puts a network behind the simulated modem: it needs --simulate (or \
             [simulate] scenario)"
        );
    }
    let forwards: Vec<mbim_sim::forward::ForwardTarget> = if cli.sim_forward.is_empty() {
        config.simulate.forward.clone().into_iter().collect()
    } else {
        cli.sim_forward.clone()
    };
    if forwards.len() > scenarios.len() {
        anyhow::bail!(
            "{} real networks for {} simulated modem(s): one --sim-forward per --simulate at most",
            forwards.len(),
            scenarios.len()
        );
    }
    if controls.len() > scenarios.len() {
        anyhow::bail!(
            "{} control sockets for {} simulated modem(s): one --sim-control per --simulate at most",
            controls.len(),
            scenarios.len()
        );
    }
    // Before any modem starts: whether sessions are mbimd's or the
    // ModemManager clients' depends on it. Held until mbimd ends (dropping
    // it gives up the name).
    let (modemmanager, status) = start_modemmanager(&config, &registry).await;
    let config = Arc::new(config);
    let notifier = Notifier::from_env().unwrap_or_else(|error| {
        tracing::warn!("{}; systemd hears nothing from mbimd", chain(&error));
        Notifier::default()
    });
    // Held until mbimd ends: dropping it closes the socket and its names.
    let proxy = mbimd::proxy::start(Arc::clone(&config), registry.clone()).map(Arc::new);
    // The device managers follow reloads: a modem the new [devices] rules
    // no longer give them is released, one they now give them is taken.
    let (devices_tx, devices_rx) = tokio::sync::watch::channel(Arc::clone(&config));
    let reload = reloader(
        &cli,
        &registry,
        &notifier,
        Reloaded {
            sessions: config.sessions.clone(),
            modemmanager: modemmanager.clone(),
            proxy: proxy.clone(),
            devices: Arc::new(devices_tx),
        },
    );
    // Held until mbimd ends: dropping it gives up the bus name.
    let dbus = start_dbus(&config, &registry, reload.clone()).await;
    if let Some(dbus) = &dbus {
        let follow = match &modemmanager {
            Some(service) => service.status(),
            // Settled: the face is not served and will not be.
            None => tokio::sync::watch::channel(status).1,
        };
        dbus.report_modemmanager_api(follow);
    }
    tokio::spawn(reload_on_sighup(hangup, reload));
    // Ready as Type=dbus meant it: the modems' objects are exported and the
    // bus name is owned (or there is no D-Bus service to wait for).
    let dbus_note = match (&dbus, config.dbus.enable) {
        (Some(_), _) | (None, false) => "",
        (None, true) => "; no D-Bus service (see the log)",
    };
    notifier.ready(&format!("starting{dbus_note}"));
    tokio::spawn(service::status::run(notifier.clone(), registry.clone()));
    if let Some(interval) = service::watchdog::interval_from_env() {
        tokio::spawn(service::watchdog::run(notifier.clone(), interval));
    }
    if config.power.follow_sleep {
        tokio::spawn(follow_sleep(registry.clone()));
    }
    let shutdown = shutdown_signals.received(notifier);
    if !simulating {
        // Modems over usbfs and modems behind kernel drivers (cdc_mbim with
        // transport = "kernel", WWAN), side by side, stopped together.
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let stop = move || {
            let mut stop_rx = stop_rx.clone();
            async move {
                let _ = stop_rx.wait_for(|stop| *stop).await;
            }
        };
        let usb = mbimd::usb::manager::run(devices_rx.clone(), registry.clone(), stop());
        let kernel = mbimd::kernel::manager::run(
            devices_rx,
            registry,
            mbimd::kernel::manager::Roots::default(),
            stop(),
        );
        let signal = async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        };
        tokio::join!(usb, kernel, signal);
        if let Some(proxy) = &proxy {
            proxy.stop();
        }
        return Ok(());
    }
    let mut modems = Vec::new();
    let mut controls = controls.into_iter();
    let mut forwards = forwards.into_iter();
    for path in scenarios {
        let scenario = match path {
            None => Scenario::default_dssa(),
            Some(path) => Scenario::load(&path)
                .with_context(|| format!("loading scenario {}", path.display()))?,
        };
        modems.push(Simulated {
            scenario,
            control: controls.next(),
            forward: forwards.next(),
        });
    }
    let outcome = simulate(modems, config, registry, shutdown).await;
    if let Some(proxy) = &proxy {
        proxy.stop();
    }
    outcome
}

/// The scenarios to simulate, one per modem (none: USB): each
/// `--simulate PATH`'s file; for a bare `--simulate`, or without the option,
/// `[simulate] scenario` (a scenario there means simulating); `None` for
/// the built-in one. `options` holds "" for a bare `--simulate`.
fn scenario_paths(options: &[String], configured: Option<PathBuf>) -> Vec<Option<PathBuf>> {
    if options.is_empty() {
        return configured.map(Some).into_iter().collect();
    }
    options
        .iter()
        .map(|given| match given.as_str() {
            "" => configured.clone(),
            path => Some(PathBuf::from(path)),
        })
        .collect()
}

/// Re-reads the configuration file and hands it to every modem: D-Bus
/// `Reload()` (what `systemctl reload` calls) and SIGHUP. systemd hears
/// RELOADING=1 before and READY=1 after, whatever the outcome: a refused
/// file leaves the running configuration in force.
fn reloader(cli: &Cli, registry: &Registry, notifier: &Notifier, kept: Reloaded) -> dbus::Reloader {
    let path = cli.config.clone();
    let registry = registry.clone();
    let notifier = notifier.clone();
    Arc::new(move || {
        let path = path.clone();
        let registry = registry.clone();
        let notifier = notifier.clone();
        let kept = kept.clone();
        Box::pin(async move {
            notifier.reloading();
            let result = async {
                let loaded =
                    tokio::task::spawn_blocking(move || Config::load_or_default(path.as_deref()))
                        .await
                        .map_err(|error| format!("reading the configuration: {}", chain(&error)))?;
                let mut config = loaded.map_err(|error| chain(&error).to_string())?;
                // Decided at start-up, not by the file.
                config.sessions = kept.sessions.clone();
                let config = Arc::new(config);
                if let Some(modemmanager) = &kept.modemmanager {
                    modemmanager.set_config(Arc::clone(&config));
                }
                if let Some(proxy) = &kept.proxy {
                    proxy.set_config(Arc::clone(&config));
                }
                for modem in registry.modems().values() {
                    modem.reconfigure(Arc::clone(&config)).await;
                }
                kept.devices.send_replace(Arc::clone(&config));
                tracing::info!("configuration reloaded");
                Ok(config)
            }
            .await;
            if let Err(error) = &result {
                tracing::warn!("configuration not reloaded, the running one stays: {error}");
            }
            notifier.send_or_log("READY=1");
            result
        })
    })
}

/// What a reload keeps from start-up and hands the new configuration to.
#[derive(Clone)]
struct Reloaded {
    /// Who manages sessions (decided when the ModemManager face started,
    /// handed to its clients when they come).
    sessions: Sessions,
    /// The ModemManager face, which takes the new configuration too.
    modemmanager: Option<Arc<mm::MmService>>,
    /// libmbim's tools' door, whose admin group may change.
    proxy: Option<Arc<mbimd::proxy::ProxyHandle>>,
    /// The device managers' configuration (their `[devices]` rules).
    devices: Arc<tokio::sync::watch::Sender<Arc<Config>>>,
}

/// The ModemManager API, as `[modemmanager] api` says; one log line says
/// how it stands and what that means for the modems.
async fn start_modemmanager(
    config: &Config,
    registry: &Registry,
) -> (Option<Arc<mm::MmService>>, mm::ApiStatus) {
    let access = dbus::AccessPolicy {
        admin_group: config.dbus.admin_gid,
    };
    let api = config.modemmanager.api;
    match mm::serve(
        dbus::Bus::System,
        api,
        registry.clone(),
        Arc::new(config.clone()),
        access,
    )
    .await
    {
        Ok((service, status)) => {
            match status {
                mm::ApiStatus::Serving if api == config::ModemManagerApi::On => tracing::info!(
                    "ModemManager API {} on the system bus: modems connect when its clients \
                     (NetworkManager, mmcli) ask, and they configure addresses, routes and DNS",
                    mm::BUS_NAME
                ),
                mm::ApiStatus::Serving => tracing::info!(
                    "ModemManager API {} on the system bus: mbimd connects and configures its \
                     modems itself until a client takes over ({} on the bus, or a client \
                     connecting through the API); from then on modems connect when the clients \
                     ask, and they configure addresses, routes and DNS",
                    mm::BUS_NAME,
                    mm::NETWORK_MANAGER
                ),
                mm::ApiStatus::Waiting => tracing::warn!(
                    "another process (ModemManager?) owns {}: mbimd takes the name when it is \
                     given up ([modemmanager] api = \"on\"); meanwhile modems connect only when \
                     asked through mbimd's own API",
                    mm::BUS_NAME
                ),
                mm::ApiStatus::NameTaken => tracing::warn!(
                    "another process (ModemManager?) owns {}: mbimd does not serve the \
                     ModemManager API ([modemmanager] api = \"auto\") and connects and \
                     configures its modems itself",
                    mm::BUS_NAME
                ),
                mm::ApiStatus::Off => tracing::info!(
                    "ModemManager API off ([modemmanager] api = \"off\"): mbimd connects and \
                     configures its modems itself"
                ),
                mm::ApiStatus::Unavailable => {}
            }
            (service.map(Arc::new), status)
        }
        Err(error) => {
            tracing::warn!(
                "no ModemManager API: {}; mbimd connects and configures its modems itself",
                chain(&error)
            );
            (None, mm::ApiStatus::Unavailable)
        }
    }
}

/// `[power] follow-sleep`: the modems closed before the host sleeps and
/// opened again when it wakes, as systemd-logind announces it on the system
/// bus. No system bus, or no logind, is a normal state on small systems.
async fn follow_sleep(registry: Registry) {
    let connection = match zbus::Connection::system().await {
        Ok(connection) => connection,
        Err(error) => {
            tracing::info!(
                "the host's sleep is not followed: no system bus ({})",
                chain(&error)
            );
            return;
        }
    };
    if let Err(error) = service::sleep::run(connection, registry).await {
        tracing::warn!("{}", chain(&error));
    }
}

/// The SIGHUP listener, made when called (from then on SIGHUP no longer
/// kills mbimd); `None`, with a warning, if it cannot be.
fn listen_for_hangup() -> Option<tokio::signal::unix::Signal> {
    use tokio::signal::unix::{signal, SignalKind};
    signal(SignalKind::hangup())
        .inspect_err(|error| {
            tracing::warn!("cannot listen for SIGHUP ({error}); reload over D-Bus only");
        })
        .ok()
}

/// SIGHUP reloads the configuration, as it does for most daemons (and for
/// systemd's `Type=notify-reload`).
async fn reload_on_sighup(hangup: Option<tokio::signal::unix::Signal>, reload: dbus::Reloader) {
    let Some(mut hangup) = hangup else {
        return;
    };
    while hangup.recv().await.is_some() {
        tracing::info!("SIGHUP: reloading the configuration");
        // The outcome is logged by the reloader.
        let _ = reload().await;
    }
}

/// The D-Bus service, unless `[dbus] enable = false`. Without it mbimd still
/// drives its modems (a machine without a system bus, or without the bus
/// policy that lets mbimd own its name), so failing to start it is a warning.
async fn start_dbus(
    config: &Arc<Config>,
    registry: &Registry,
    reload: dbus::Reloader,
) -> Option<dbus::DbusService> {
    if !config.dbus.enable {
        tracing::info!("D-Bus service disabled ([dbus] enable = false)");
        return None;
    }
    let access = dbus::AccessPolicy {
        admin_group: config.dbus.admin_gid,
    };
    match dbus::serve(
        dbus::Bus::System,
        registry.clone(),
        Arc::clone(config),
        access,
        reload,
    )
    .await
    {
        Ok(service) => {
            tracing::info!("D-Bus service {} on the system bus", dbus::BUS_NAME);
            Some(service)
        }
        Err(error) => {
            tracing::warn!(
                "no D-Bus service: {}; the modems are driven all the same",
                chain(&error)
            );
            None
        }
    }
}

/// Runs the simulated modems (numbered in order) until `shutdown`: an
/// unplugged one goes away, and mbimd runs on without it, as it does for
/// USB modems.
async fn simulate(
    modems: Vec<Simulated>,
    config: Arc<Config>,
    registry: Registry,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut running = tokio::task::JoinSet::new();
    for (index, simulated) in modems.into_iter().enumerate() {
        let index = u32::try_from(index).context("too many simulated modems")?;
        let modem = SimulatedModem::start(index, simulated, config.datapath.offload).await?;
        running.spawn(modem.supervise(Arc::clone(&config), registry.clone(), stopped.clone()));
    }
    shutdown.await;
    let _ = stop.send(true);
    while running.join_next().await.is_some() {}
    Ok(())
}

/// What one simulated modem is to be: its scenario, control socket and
/// real network.
struct Simulated {
    scenario: Scenario,
    control: Option<PathBuf>,
    forward: Option<mbim_sim::forward::ForwardTarget>,
}

/// One simulated modem, running, with its control socket and real network
/// if asked for.
struct SimulatedModem {
    index: u32,
    modem: SimModem,
    control: Option<(tokio::task::JoinHandle<()>, PathBuf)>,
    /// The real network's reader (on a thread of its own), stopped when
    /// dropped.
    forward: Option<mbim_sim::forward::Forwarder>,
}

impl SimulatedModem {
    /// Starts modem `index`; its real network, if any, has TUN offloads
    /// when `offload` (`[datapath] offload`, as mbimd's own devices).
    async fn start(index: u32, simulated: Simulated, offload: bool) -> anyhow::Result<Self> {
        let Simulated {
            scenario,
            control: control_path,
            forward,
        } = simulated;
        let modem = SimModem::new(scenario).context("building the simulated modem")?;
        let scenario = modem.scenario();
        tracing::info!(
            modem = index,
            "simulated modem {:?}: {} executor(s)",
            scenario.name,
            modem.function_count()
        );
        // Like the control socket: a network that cannot be reached stops
        // mbimd, since whoever named it means to use it. Opened first, so
        // that stop leaves no socket behind.
        let forward = match forward {
            Some(target) => {
                let reader = modem
                    .forward(&target, offload)
                    .await
                    .with_context(|| format!("forwarding the simulated modem to {target}"))?;
                tracing::info!(modem = index, network = %target, "a real network behind the simulated modem");
                Some(reader)
            }
            None => None,
        };
        // Bound before the supervisor starts, so a client that finds the
        // socket can act on the modem from its first appearance on; a path
        // that cannot be bound stops mbimd, since whoever asked for it means
        // to use it.
        let control = match control_path {
            Some(path) => {
                let listener = mbim_sim::ctl::bind(&path).await.with_context(|| {
                    format!("serving the simulator's control socket {}", path.display())
                })?;
                tracing::info!(modem = index, path = %path.display(), "simulator control socket ready");
                Some((
                    tokio::spawn(mbim_sim::ctl::serve(listener, modem.clone())),
                    path,
                ))
            }
            None => None,
        };
        Ok(SimulatedModem {
            index,
            modem,
            control,
            forward,
        })
    }

    /// Supervises it until `stop` says so; an unplugged modem is waited
    /// for, as the USB manager waits for a real one, until `mbim-sim ctl
    /// replug` (then supervised again) or the stop.
    async fn supervise(
        self,
        config: Arc<Config>,
        registry: Registry,
        stop: tokio::sync::watch::Receiver<bool>,
    ) {
        let stopped = |mut stop: tokio::sync::watch::Receiver<bool>| async move {
            // A dropped sender means mbimd ends too: stop either way.
            let _ = stop.wait_for(|stopped| *stopped).await;
        };
        loop {
            let runner = self.modem.clone();
            let timers = tokio::spawn(async move { runner.run().await });
            let (spec, functions) = supervisor::simulated_modem(&self.modem, self.index);
            let (handle, endpoint) = modem_channel(ModemSnapshot {
                index: spec.index,
                vid: spec.vid,
                pid: spec.pid,
                usb_path: spec.usb_path.clone(),
                ..ModemSnapshot::default()
            });
            registry.insert(spec.index, handle);
            supervisor::supervise(
                spec,
                functions,
                Arc::clone(&config),
                endpoint,
                stopped(stop.clone()),
            )
            .await;
            registry.remove(self.index);
            timers.abort();
            if *stop.borrow() {
                break;
            }
            tracing::info!(
                modem = self.index,
                "the simulated modem is gone; mbimd runs on until it is plugged in again \
                 (mbim-sim ctl replug) or stopped"
            );
            tokio::select! {
                () = self.modem.replugged() => {
                    tracing::info!(modem = self.index, "the simulated modem is plugged in again");
                }
                () = stopped(stop.clone()) => break,
            }
        }
        // The reader stops with its handle.
        drop(self.forward);
        if let Some((control, path)) = self.control {
            control.abort();
            // The next mbimd (or mbim-sim serve) would replace a stale
            // socket anyway; removing it tells `mbim-sim ctl` at once that
            // no one serves.
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// The SIGTERM and SIGINT listeners, made in [`listen`](Self::listen) at
/// start-up rather than when a future that waits for them is first polled:
/// tokio replaces a signal's default action only when its listener is made,
/// and mbimd announces itself (systemd's READY=1, the simulator's control
/// socket) before it first waits for a signal.
struct ShutdownSignals(Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>);

impl ShutdownSignals {
    /// Listens from now on; warns (and never resolves later) if it cannot.
    fn listen() -> Self {
        use tokio::signal::unix::{signal, SignalKind};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(terminate), Ok(interrupt)) => ShutdownSignals(Some((terminate, interrupt))),
            (Err(error), _) | (_, Err(error)) => {
                tracing::warn!(
                    "cannot listen for SIGTERM/SIGINT ({error}); stop mbimd with SIGKILL"
                );
                ShutdownSignals(None)
            }
        }
    }

    /// Resolves on SIGTERM or SIGINT, having told systemd that mbimd stops.
    async fn received(self, notifier: Notifier) {
        let Some((mut terminate, mut interrupt)) = self.0 else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = terminate.recv() => tracing::info!("SIGTERM"),
            _ = interrupt.recv() => tracing::info!("SIGINT"),
        }
        notifier.stopping();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_sigterm_before_the_first_wait_for_it_stops_mbimd_cleanly() {
        // Listening starts at start-up; the wait comes later, after mbimd
        // has announced itself. A SIGTERM in between must be kept for the
        // wait, not kill the process (which would end this test binary).
        let signals = ShutdownSignals::listen();
        mbimd_test_support::process::terminate(std::process::id()).unwrap();
        let waited = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            signals.received(Notifier::default()),
        )
        .await;
        assert!(waited.is_ok(), "the SIGTERM sent before the wait was lost");
    }

    #[test]
    fn the_scenario_is_the_options_else_the_configurations_else_the_built_in_one() {
        let given = || Some(PathBuf::from("given.toml"));
        let configured = || Some(PathBuf::from("configured.toml"));
        // (--simulate…, [simulate] scenario) -> what runs, one per modem
        let table: [(&[&str], _, Vec<Option<PathBuf>>); 8] = [
            (&[], None, vec![]),
            (&[""], None, vec![None]),
            (&[""], configured(), vec![configured()]),
            (&["given.toml"], configured(), vec![given()]),
            (&["given.toml"], None, vec![given()]),
            (&[], configured(), vec![configured()]),
            (&["", ""], None, vec![None, None]),
            (
                &["", "given.toml"],
                configured(),
                vec![configured(), given()],
            ),
        ];
        for (options, config, expected) in table {
            let options: Vec<String> = options.iter().map(|s| s.to_string()).collect();
            assert_eq!(
                scenario_paths(&options, config.clone()),
                expected,
                "{options:?} {config:?}"
            );
        }
    }
}
