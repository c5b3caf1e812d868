//! What the tests of the ModemManager face share: a lab of their own —
//! a network namespace, a private system bus, `mbimd --simulate` in both,
//! and on demand the distribution's NetworkManager in them too — with the
//! distribution's mmcli, nmcli and busctl as clients. Nothing of the
//! machine's is touched: NetworkManager runs in a mount namespace where
//! its /run, /etc/NetworkManager, /var/lib/NetworkManager and
//! /etc/resolv.conf are the lab's own, /sys is read-only (no udev: links
//! count as initialized, as in a container), and the bus has no service
//! directory, so nothing (ModemManager included) is ever started on it.
//!
//! Needs root and /dev/net/tun (the tests say SKIP otherwise); missing
//! programs are installed through `mbimd_test_support::tools`
//! (network-manager, modemmanager for mmcli only, dbus-daemon,
//! libglib2.0-bin for gdbus), or the test fails naming the package.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use mbimd_test_support::icmp::{ping_in_namespace, Echo};
use mbimd_test_support::tools::Tool;
use mbimd_test_support::tools::{
    BUSCTL, DBUS_DAEMON, DBUS_MONITOR, GDBUS, IP, MMCLI, MOUNT, NETWORK_MANAGER, NMCLI, SETPRIV,
    UNSHARE,
};
use serde_json::Value;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// Root with /dev/net/tun: what the labs need.
pub(crate) fn privileged() -> bool {
    rustix::process::geteuid().is_root() && Path::new("/dev/net/tun").exists()
}

/// A hang guard, never a timing expectation.
pub(crate) const HANG_GUARD: Duration = Duration::from_secs(90);

/// The simulator's scenarios.
pub(crate) fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../simulator/scenarios")
        .join(format!("{name}.toml"))
}

/// The private bus: anyone may connect, own and send (mbimd's own access
/// check is what the tests examine); no service directory.
const BUS_CONFIG: &str = r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=@DIR@/bus.sock</listen>
  <auth>EXTERNAL</auth>
  @POLICY@
  <limit name="reply_timeout">300000</limit>
</busconfig>
"#;

/// The lab bus's usual policy: anyone may do anything.
const OPEN_POLICY: &str = r#"<policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
  </policy>"#;

/// NetworkManager as the lab runs it: keyfiles, no connection made up by
/// itself, DNS into its own resolv.conf, no polkit, no connectivity check.
const NM_CONFIG: &str = "[main]
plugins=keyfile
no-auto-default=*
dns=default
rc-manager=unmanaged
systemd-resolved=false
hostname-mode=none
auth-polkit=false

[logging]
level=DEBUG
domains=ALL,DBUS_PROPS:INFO,PLATFORM:INFO

[keyfile]
path=/etc/NetworkManager/system-connections

[connectivity]
enabled=false
";

/// Inside the namespace and a mount namespace of its own: NetworkManager's
/// paths bound to the lab's directory, then NetworkManager itself.
const NM_START: &str = r#"set -e
mount --make-rprivate /
mount -t tmpfs lab-run /run
mount -o remount,bind,ro /sys
mkdir -p /run/NetworkManager
mount --bind "$LAB/nm/run" /run/NetworkManager
mount --bind "$LAB/nm/lib" /var/lib/NetworkManager
mount --bind "$LAB/nm/etc" /etc/NetworkManager
# rc-manager=unmanaged leaves /etc/resolv.conf alone; bound over all the
# same, where there is one, in case it did not.
if [ -e /etc/resolv.conf ]; then
    : > "$LAB/nm/resolv.conf.host"
    mount --bind "$LAB/nm/resolv.conf.host" /etc/resolv.conf
fi
exec "$NM" --no-daemon --debug --config=/etc/NetworkManager/NetworkManager.conf \
    --pid-file=/run/NetworkManager/NetworkManager.pid
"#;

/// One lab at a time in a test binary: NetworkManager and the simulated
/// modems are heavy for a small CI machine, and each test waits on them.
static ONE_LAB: Mutex<()> = Mutex::new(());

/// A namespace, a bus, and the processes started in them.
pub(crate) struct Lab {
    _turn: MutexGuard<'static, ()>,
    pub(crate) dir: PathBuf,
    pub(crate) namespace: String,
    pub(crate) bus_address: String,
    bus: Child,
    /// `dbus-monitor` writing every message on the bus to `bus.log`.
    recorder: Option<Child>,
    mbimd: Option<Child>,
    network_manager: Option<Child>,
    mbimd_runs: u32,
}

impl Lab {
    /// A fresh lab, or `None` (the test says SKIP) without root and
    /// /dev/net/tun.
    pub(crate) fn new(name: &str) -> Option<Lab> {
        Self::with_policy(name, OPEN_POLICY)
    }

    /// A fresh lab whose bus has these policy (and include) elements
    /// instead.
    pub(crate) fn with_policy(name: &str, policy: &str) -> Option<Lab> {
        if !privileged() {
            println!("SKIP: needs root and /dev/net/tun");
            return None;
        }
        let turn = ONE_LAB.lock().unwrap_or_else(PoisonError::into_inner);
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let id = format!(
            "{name}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let dir = std::env::temp_dir().join(format!("mbimd-lab-{id}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // Network namespace names are short-lived and per test.
        let namespace = format!("mml{}-{}", std::process::id(), NEXT.load(Ordering::Relaxed));
        let status = IP
            .command()
            .args(["netns", "add", &namespace])
            .status()
            .unwrap();
        assert!(status.success(), "ip netns add {namespace}");
        let status = IP
            .command()
            .args(["-n", &namespace, "link", "set", "lo", "up"])
            .status()
            .unwrap();
        assert!(status.success());
        let config = dir.join("bus.conf");
        let text = BUS_CONFIG
            .replace("@DIR@", &dir.display().to_string())
            .replace("@POLICY@", policy);
        std::fs::write(&config, text).unwrap();
        // Clients run as other users reach the socket.
        std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let bus = DBUS_DAEMON
            .command()
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--nopidfile"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let socket = dir.join("bus.sock");
        let mut lab = Lab {
            _turn: turn,
            bus_address: format!("unix:path={}", socket.display()),
            dir,
            namespace,
            bus,
            recorder: None,
            mbimd: None,
            network_manager: None,
            mbimd_runs: 0,
        };
        lab.wait_until("the bus", || {
            std::os::unix::net::UnixStream::connect(&socket).is_ok()
        });
        // Only a bus that lets anyone monitor it is recorded: under a
        // stricter policy (the packaged one) dbus-monitor would fall back
        // to eavesdropping as one more client of the bus under test.
        if policy == OPEN_POLICY {
            lab.record_bus();
        }
        Some(lab)
    }

    /// Records every message on the lab's bus in `bus.log` (a failed wait
    /// prints the errors in it: which connection answered what).
    fn record_bus(&mut self) {
        let log = self.dir.join("bus.log");
        let file = std::fs::File::create(&log).unwrap();
        let recorder = DBUS_MONITOR
            .command()
            .args(["--address", &self.bus_address])
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap();
        self.recorder = Some(recorder);
        // Its own name lost: it is a monitor now, nothing later is missed.
        self.wait_until("dbus-monitor", || {
            std::fs::read_to_string(&log)
                .unwrap_or_default()
                .contains("member=NameLost")
        });
    }

    /// The error replies on the lab's bus so far, each with its first line
    /// of text, and who owned which name when.
    pub(crate) fn bus_errors(&self) -> String {
        let seen = std::fs::read_to_string(self.dir.join("bus.log")).unwrap_or_default();
        let mut lines = seen.lines().peekable();
        let mut found = Vec::new();
        while let Some(line) = lines.next() {
            if line.starts_with("error ") {
                let text = lines.peek().map(|next| next.trim()).unwrap_or_default();
                found.push(format!("{line}\n    {text}"));
            } else if line.contains("member=NameOwnerChanged") {
                let args: Vec<&str> = lines
                    .clone()
                    .take(3)
                    .map(|arg| arg.trim().trim_start_matches("string "))
                    .collect();
                if args.first().is_some_and(|name| !name.starts_with("\":")) {
                    found.push(format!("{line}\n    {}", args.join(" ")));
                }
            }
        }
        found.join("\n")
    }

    /// `program args…` in the namespace, a client of the lab's bus.
    pub(crate) fn in_namespace(&self, program: &Path, args: &[&str]) -> Command {
        let mut command = IP.command();
        command
            .args(["netns", "exec", &self.namespace])
            .arg(program)
            .args(args)
            .env("DBUS_SYSTEM_BUS_ADDRESS", &self.bus_address);
        command
    }

    /// Starts `mbimd --simulate` with the given configuration (DNS and the
    /// slot store stay in the lab) and extra arguments; its log is
    /// `mbimd-N.log` in the lab's directory.
    pub(crate) fn start_mbimd(&mut self, config: &str, args: &[&str]) {
        assert!(self.mbimd.is_none(), "mbimd runs already");
        let path = self.dir.join("mbimd.toml");
        std::fs::write(
            &path,
            format!(
                "[dns]\nbackend = \"none\"\n[logging]\nlevel = \"info,mbimd=debug\"\n\
                 target = \"stderr\"\n[slot-policy]\nstate-file = \"{}/slots.toml\"\n{config}\n",
                self.dir.display()
            ),
        )
        .unwrap();
        self.mbimd_runs += 1;
        let log =
            std::fs::File::create(self.dir.join(format!("mbimd-{}.log", self.mbimd_runs))).unwrap();
        let mut arguments = vec!["--config", path.to_str().unwrap()];
        arguments.extend_from_slice(args);
        let child = self
            .in_namespace(Path::new(env!("CARGO_BIN_EXE_mbimd")), &arguments)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.mbimd = Some(child);
    }

    /// The built-in dual-SIM modem offering up to MBIMEx `mbimex` (its
    /// first card's PIN enabled or not), as a scenario file in the lab's
    /// directory: what `--simulate` is given by the tests run per version.
    pub(crate) fn dual_sim_at(&self, mbimex: u8, pin_enabled: bool) -> String {
        let path = self.dir.join(format!("dssa-{mbimex}-{pin_enabled}.toml"));
        let text = mbimd_test_support::scenarios::dual_sim(mbimex, pin_enabled);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    }

    /// Asserts that mbimd agreed MBIMEx `mbimex` with the modem (a test run
    /// per version checks it ran at that version), by mbimd's own API.
    pub(crate) fn assert_agreed(&self, mbimex: u8) {
        let output = self.busctl(&[
            "get-property",
            "dev.mbimd.Mbimd1",
            "/dev/mbimd/Mbimd1/Modem0/Executor0",
            "dev.mbimd.Executor1",
            "MbimexVersion",
        ]);
        assert_eq!(
            text(&output).trim(),
            format!("s \"{mbimex}.0\""),
            "{}",
            self.mbimd_log()
        );
    }

    /// mbimd's log of its latest run.
    pub(crate) fn mbimd_log(&self) -> String {
        std::fs::read_to_string(self.dir.join(format!("mbimd-{}.log", self.mbimd_runs)))
            .unwrap_or_default()
    }

    /// Stops mbimd with SIGTERM (it disconnects and removes its devices)
    /// and waits for it.
    pub(crate) fn stop_mbimd(&mut self) {
        if let Some(child) = self.mbimd.take() {
            terminate(child, "mbimd");
        }
    }

    /// Starts the distribution's NetworkManager in the lab and waits until
    /// it runs.
    pub(crate) fn start_network_manager(&mut self) {
        assert!(
            self.network_manager.is_none(),
            "NetworkManager runs already"
        );
        let nm = self.dir.join("nm");
        for sub in ["run", "lib", "etc/system-connections"] {
            std::fs::create_dir_all(nm.join(sub)).unwrap();
        }
        std::fs::write(nm.join("etc/NetworkManager.conf"), NM_CONFIG).unwrap();
        // Its mount points must exist on the machine (the package makes them).
        let program = NETWORK_MANAGER.path();
        MOUNT.path();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("nm.log"))
            .unwrap();
        let child = self
            .in_namespace(&UNSHARE.path(), &["--mount", "--uts", "sh", "-c", NM_START])
            .env("LAB", &self.dir)
            .env("NM", program)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.network_manager = Some(child);
        self.wait_until("NetworkManager to run", || {
            self.nmcli(&["-t", "-f", "RUNNING", "general"])
                .status
                .success()
        });
    }

    /// Stops NetworkManager (SIGTERM) and waits for it.
    pub(crate) fn stop_network_manager(&mut self) {
        if let Some(child) = self.network_manager.take() {
            terminate(child, "NetworkManager");
        }
    }

    /// The resolv.conf NetworkManager writes.
    pub(crate) fn resolv_conf(&self) -> String {
        std::fs::read_to_string(self.dir.join("nm/run/resolv.conf")).unwrap_or_default()
    }

    /// NetworkManager's log.
    pub(crate) fn network_manager_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("nm.log")).unwrap_or_default()
    }

    fn client(&self, tool: Tool, args: &[&str]) -> Output {
        tool.command()
            .args(args)
            .env("DBUS_SYSTEM_BUS_ADDRESS", &self.bus_address)
            .output()
            .unwrap()
    }

    /// `mmcli args…` on the lab's bus.
    pub(crate) fn mmcli(&self, args: &[&str]) -> Output {
        self.client(MMCLI, args)
    }

    /// `mmcli -J args…`, which must succeed, as JSON.
    pub(crate) fn mmcli_json(&self, args: &[&str]) -> Value {
        let mut all = vec!["-J"];
        all.extend_from_slice(args);
        let output = self.mmcli(&all);
        assert!(output.status.success(), "mmcli {args:?}: {}", text(&output));
        serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|error| panic!("mmcli {args:?}: {error}: {}", text(&output)))
    }

    /// `mmcli args…` as the user `uid` (a caller who is not root).
    pub(crate) fn mmcli_as(&self, uid: u32, args: &[&str]) -> Output {
        let mut command = as_user(uid, MMCLI.path(), args);
        command.env("DBUS_SYSTEM_BUS_ADDRESS", &self.bus_address);
        command.output().unwrap()
    }

    /// `nmcli args…` on the lab's bus.
    pub(crate) fn nmcli(&self, args: &[&str]) -> Output {
        self.client(NMCLI, args)
    }

    /// `nmcli args…`, which must succeed; its output.
    pub(crate) fn nmcli_ok(&self, args: &[&str]) -> String {
        let output = self.nmcli(args);
        assert!(
            output.status.success(),
            "nmcli {args:?}: {}\n--- NetworkManager's log (end) ---\n{}",
            text(&output),
            tail(&self.network_manager_log(), 60)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// `busctl --address=… args…` on the lab's bus.
    pub(crate) fn busctl(&self, args: &[&str]) -> Output {
        BUSCTL
            .command()
            .arg(format!("--address={}", self.bus_address))
            .args(args)
            .output()
            .unwrap()
    }

    /// `busctl call` of ModemManager's `path`, `interface`, `member` with
    /// the signature and values `args` (busctl sends any types, which GLib's
    /// tools will not), which must fail: the D-Bus error's name and message,
    /// as `dbus-monitor` saw the reply (busctl itself prints only the
    /// message).
    pub(crate) fn busctl_refused(
        &self,
        path: &str,
        interface: &str,
        member: &str,
        args: &[&str],
    ) -> (String, String) {
        let log = self.dir.join("monitor.log");
        let file = std::fs::File::create(&log).unwrap();
        let mut monitor = DBUS_MONITOR
            .command()
            .args(["--address", &self.bus_address, "type='error'"])
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap();
        let read = || std::fs::read_to_string(&log).unwrap_or_default();
        // Its own name lost: it is a monitor now.
        self.wait_until("dbus-monitor", || read().contains("member=NameLost"));
        let mut all = vec![
            "call",
            "org.freedesktop.ModemManager1",
            path,
            interface,
            member,
        ];
        all.extend_from_slice(args);
        let output = self.busctl(&all);
        // Refused by mbimd, not by busctl itself.
        assert!(
            !output.status.success() && text(&output).starts_with("Call failed: "),
            "busctl call {interface}.{member} {args:?}: {}",
            text(&output)
        );
        let error = || {
            let seen = read();
            let mut lines = seen
                .lines()
                .skip_while(|line| !line.contains("error_name="));
            let name = lines
                .next()?
                .split("error_name=")
                .nth(1)?
                .split_whitespace()
                .next()?
                .to_owned();
            let message = lines
                .next()?
                .trim()
                .strip_prefix("string \"")?
                .strip_suffix('"')?
                .to_owned();
            Some((name, message))
        };
        self.wait_until("the error in dbus-monitor", || error().is_some());
        let _ = monitor.kill();
        let _ = monitor.wait();
        error().unwrap_or_default()
    }

    /// `gdbus call` of `method` (interface.member) on `path` of
    /// ModemManager's name with `args` in GVariant text: GLib's own client,
    /// which names the D-Bus error of a failed call.
    pub(crate) fn gdbus_call(&self, path: &str, method: &str, args: &[&str]) -> Output {
        GDBUS
            .command()
            .args([
                "call",
                "--system",
                "--dest",
                "org.freedesktop.ModemManager1",
                "--object-path",
                path,
                "--method",
                method,
            ])
            .args(args)
            .env("DBUS_SYSTEM_BUS_ADDRESS", &self.bus_address)
            .output()
            .unwrap()
    }

    /// `ip -j -n NS args…` as JSON.
    pub(crate) fn ip(&self, args: &[&str]) -> Value {
        let output = IP
            .command()
            .args(["-j", "-n", &self.namespace])
            .args(args)
            .output()
            .unwrap();
        serde_json::from_slice(&output.stdout).unwrap_or(Value::Array(Vec::new()))
    }

    /// The names of the network devices in the namespace.
    pub(crate) fn links(&self) -> Vec<String> {
        self.ip(&["link", "show"])
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|link| link["ifname"].as_str().map(str::to_owned))
            .collect()
    }

    /// The addresses of `device` (`a.b.c.d/n`).
    pub(crate) fn addresses(&self, device: &str) -> Vec<String> {
        self.ip(&["addr", "show", "dev", device])
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|link| link["addr_info"].as_array().cloned().unwrap_or_default())
            .filter(|address| address["scope"] != "link")
            .map(|address| {
                format!(
                    "{}/{}",
                    address["local"].as_str().unwrap_or(""),
                    address["prefixlen"]
                )
            })
            .collect()
    }

    /// Where mbimd's ModemManager API stands, as its own API says
    /// (`dev.mbimd.Manager1.ModemManagerApi`, busctl's text: `s "serving"`).
    pub(crate) fn api_status(&self) -> String {
        let output = self.busctl(&[
            "get-property",
            "dev.mbimd.Mbimd1",
            "/dev/mbimd/Mbimd1",
            "dev.mbimd.Manager1",
            "ModemManagerApi",
        ]);
        text(&output).trim().to_owned()
    }

    /// Waits until mbimd configured `address` (`a.b.c.d/n`) on `device`
    /// itself (no client has taken the sessions over).
    pub(crate) fn wait_for_own_address(&self, device: &str, address: &str) {
        self.wait_until(&format!("mbimd's own address on {device}"), || {
            self.addresses(device).iter().any(|each| each == address)
        });
    }

    /// Waits until NetworkManager lists `device` as a gsm device.
    pub(crate) fn wait_for_gsm_device(&self, device: &str) {
        let wanted = format!("{device}:gsm");
        self.wait_until(&format!("{device} as a gsm device in nmcli"), || {
            self.nmcli_ok(&["-t", "-f", "DEVICE,TYPE", "device"])
                .lines()
                .any(|line| line == wanted)
        });
    }

    /// `nmcli connection add type gsm ifname IFNAME con-name NAME apn
    /// internet EXTRA…` (IFNAME `*`: any modem), which must succeed.
    pub(crate) fn add_gsm_connection(&self, name: &str, ifname: &str, extra: &[&str]) {
        let mut args = vec![
            "connection",
            "add",
            "type",
            "gsm",
            "ifname",
            ifname,
            "con-name",
            name,
            "apn",
            "internet",
        ];
        args.extend_from_slice(extra);
        self.nmcli_ok(&args);
    }

    /// Pings `destination` from inside the namespace and fails the test
    /// unless every request is answered: packets cross the session.
    pub(crate) fn ping(&self, destination: &str) {
        let destination: IpAddr = destination.parse().unwrap();
        let report = ping_in_namespace(&self.namespace, destination, &Echo::new(2))
            .unwrap_or_else(|error| panic!("ping {destination}: {error}"));
        assert!(report.all_answered(), "ping {report}");
    }

    /// Polls `done` until it holds; fails with `what`, mbimd's and
    /// NetworkManager's logs after [`HANG_GUARD`].
    pub(crate) fn wait_until(&self, what: &str, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + HANG_GUARD;
        while !done() {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}\n--- mbimd's log (end) ---\n{}\n\
                 --- NetworkManager's log (end) ---\n{}\n\
                 --- errors and name owners on the bus (end; all in {}) ---\n{}",
                tail(&self.mbimd_log(), 40),
                tail(&self.network_manager_log(), 60),
                self.dir.join("bus.log").display(),
                tail(&self.bus_errors(), 40)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.stop_network_manager();
        self.stop_mbimd();
        if let Some(mut recorder) = self.recorder.take() {
            let _ = recorder.kill();
            let _ = recorder.wait();
        }
        let _ = self.bus.kill();
        let _ = self.bus.wait();
        let _ = IP
            .command()
            .args(["netns", "del", &self.namespace])
            .status();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// `program args…` as the user (and group) `uid`, without supplementary
/// groups.
fn as_user(uid: u32, program: PathBuf, args: &[&str]) -> Command {
    let mut command = SETPRIV.command();
    command
        .args([
            &format!("--reuid={uid}"),
            &format!("--regid={uid}"),
            "--clear-groups",
        ])
        .arg(program)
        .args(args);
    command
}

/// Runs `program args…` as the user `uid`.
pub(crate) fn run_as(uid: u32, program: PathBuf, args: &[&str]) -> Output {
    as_user(uid, program, args).output().unwrap()
}

/// SIGTERM, then SIGKILL if the process is still there after a while.
fn terminate(mut child: Child, name: &str) {
    let _ = mbimd_test_support::process::terminate(child.id());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if child.try_wait().ok().flatten().is_some() {
            return;
        }
        if Instant::now() > deadline {
            eprintln!("{name} did not stop on SIGTERM; killing it");
            let _ = child.kill();
            let _ = child.wait();
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A command's output, both streams.
pub(crate) fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The last `lines` lines of `text`.
pub(crate) fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The first modem object.
pub(crate) const MODEM: &str = "/org/freedesktop/ModemManager1/Modem/0";

/// Sessions are the clients' from the start (with the default, "auto",
/// they become theirs when a client takes over).
pub(crate) const API_ON: &str = "[modemmanager]\napi = \"on\"\n";

/// `mmcli -m INDEX` as JSON: the modem.
pub(crate) fn modem(lab: &Lab, index: &str) -> Value {
    lab.mmcli_json(&["-m", index])["modem"].clone()
}

/// The modem's state as mmcli names it.
pub(crate) fn state(lab: &Lab, index: &str) -> String {
    modem(lab, index)["generic"]["state"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

/// Waits until modem `index` is in state `wanted`.
pub(crate) fn wait_for_state(lab: &Lab, index: &str, wanted: &str) {
    lab.wait_until(&format!("modem {index} {wanted}"), || {
        lab.mmcli(&["-m", index]).status.success() && state(lab, index) == wanted
    });
}

/// A lab with `mbimd --simulate` (`api = "on"`, then `config`) and its
/// modem registered.
pub(crate) fn registered_lab(name: &str, config: &str) -> Option<Lab> {
    registered_lab_at(name, config, 1)
}

/// [`registered_lab`] with the built-in modem offering up to MBIMEx
/// `mbimex`, and checked to have agreed it.
pub(crate) fn registered_lab_at(name: &str, config: &str, mbimex: u8) -> Option<Lab> {
    let mut lab = Lab::new(name)?;
    let scenario = lab.dual_sim_at(mbimex, false);
    lab.start_mbimd(&format!("{API_ON}{config}"), &["--simulate", &scenario]);
    wait_for_state(&lab, "0", "registered");
    lab.assert_agreed(mbimex);
    Some(lab)
}
