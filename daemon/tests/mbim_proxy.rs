//! libmbim's own client reaches a modem mbimd holds: the real `mbimcli -p`
//! against the real `mbimd --simulate`, through mbimd's `mbim-proxy`
//! socket. As root both run in a network namespace of the test's own,
//! which also gives them an abstract socket namespace of their own (the
//! machine's `mbim-proxy`, if any, is never touched).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod netns_support;

use mbimd_test_support::icmp::Echo;
use mbimd_test_support::tools::{MBIMCLI, SETPRIV};
use netns_support::{privileged, wait_until, Daemon, Namespace};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A test directory, removed at the end.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Lab {
    namespace: Option<Namespace>,
    daemon: Daemon,
    log: PathBuf,
    names: PathBuf,
    _scratch: Scratch,
}

impl Lab {
    /// mbimd simulating the built-in modem.
    fn start(name: &str) -> Lab {
        Self::simulating(name, None)
    }

    /// mbimd simulating `scenario` (a scenario's text), or the built-in
    /// modem.
    fn simulating(name: &str, scenario: Option<&str>) -> Lab {
        let dir = std::env::temp_dir().join(format!("mbimd-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let simulate = match scenario {
            Some(text) => {
                let path = dir.join("scenario.toml");
                std::fs::write(&path, text).unwrap();
                format!("--simulate={}", path.display())
            }
            None => "--simulate".to_owned(),
        };
        let names = dir.join("mbim-proxy");
        let config = dir.join("mbimd.toml");
        std::fs::write(
            &config,
            format!(
                "[dns]\nbackend = \"none\"\n[dbus]\nenable = false\n\
                 [modemmanager]\napi = \"off\"\n\
                 [logging]\nlevel = \"debug\"\ntarget = \"stderr\"\n\
                 [slot-policy]\nstate-file = \"{dir}/slots.toml\"\n\
                 [mbim-proxy]\ndirectory = \"{names}\"\n",
                dir = dir.display(),
                names = names.display()
            ),
        )
        .unwrap();
        let log = dir.join("mbimd.log");
        let namespace = privileged().then(|| Namespace::create(name));
        let args = [simulate.as_str(), "--config", config.to_str().unwrap()];
        let mut command = match &namespace {
            Some(namespace) => namespace.exec(env!("CARGO_BIN_EXE_mbimd"), &args),
            None => {
                let mut command = Command::new(env!("CARGO_BIN_EXE_mbimd"));
                command.args(args);
                command
            }
        };
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Lab {
            namespace,
            daemon: Daemon(child),
            log,
            names,
            _scratch: Scratch(dir),
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `mbimcli -p -d PATH ARGS…` as `uid` (None: the test's own), in the
    /// lab's namespace.
    fn mbimcli(&self, uid: Option<u32>, path: &Path, args: &[&str]) -> Output {
        let mbimcli = MBIMCLI.path();
        let mut argv: Vec<String> = Vec::new();
        if let Some(uid) = uid {
            argv.extend([
                SETPRIV.path().display().to_string(),
                format!("--reuid={uid}"),
                format!("--regid={uid}"),
                "--clear-groups".to_owned(),
            ]);
        }
        argv.push(mbimcli.display().to_string());
        argv.extend(["-p".to_owned(), "-d".to_owned(), path.display().to_string()]);
        argv.extend(args.iter().map(|arg| (*arg).to_owned()));
        let (program, rest) = argv.split_first().unwrap();
        let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
        let mut command = match &self.namespace {
            Some(namespace) => namespace.exec(program, &rest),
            None => {
                let mut command = Command::new(program);
                command.args(&rest);
                command
            }
        };
        command.stdin(Stdio::null()).output().unwrap()
    }

    fn connected(&self) -> bool {
        match &self.namespace {
            Some(namespace) => namespace
                .ip(&["-j", "addr", "show", "dev", "mbim0e0"])
                .contains("\"10.64.0.2\""),
            None => self.log().contains("is up"),
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = mbimd_test_support::process::terminate(self.daemon.0.id());
        let _ = self.daemon.0.wait();
        if std::thread::panicking() {
            eprintln!("--- mbimd's log ---\n{}", self.log());
        }
    }
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn mbimcli_queries_and_sets_through_mbimd_which_keeps_its_session() {
    MBIMCLI.ensure().unwrap();
    SETPRIV.ensure().unwrap();
    let lab = Lab::start("mbimd-proxy");
    let executor = lab.names.join("mbim0e0");
    wait_until("mbimd connected", || lab.connected());
    wait_until("the executor's name", || executor.exists());

    // Queries answered by the simulated modem, through mbimd's session.
    let caps = lab.mbimcli(None, &executor, &["--query-device-caps"]);
    assert!(caps.status.success(), "{}", text(&caps));
    assert!(text(&caps).contains("mbim-sim 0.1"), "{}", text(&caps));
    let ready = lab.mbimcli(None, &executor, &["--query-subscriber-ready-status"]);
    assert!(text(&ready).contains("initialized"), "{}", text(&ready));
    let state = lab.mbimcli(None, &executor, &["--query-connection-state"]);
    assert!(text(&state).contains("activated"), "{}", text(&state));
    // A client asking for MBIMEx 2.0 learns the version mbimd agreed
    // instead of changing it under mbimd.
    let v2 = lab.mbimcli(None, &executor, &["--ms-query-version=2.0,1.0"]);
    assert!(text(&v2).contains("1.00"), "{}", text(&v2));

    // mbimd's own session is untouched: still up, traffic flows.
    assert!(lab.connected(), "mbimd lost its session");
    if let Some(namespace) = &lab.namespace {
        namespace.ping("10.64.0.1", &Echo::new(3));
    }

    // A client's SET changes the device; mbimd sees it as if notified
    // (the context deactivated by someone else) and connects again.
    let disconnect = lab.mbimcli(None, &executor, &["--disconnect=0"]);
    assert!(disconnect.status.success(), "{}", text(&disconnect));
    wait_until("mbimd noticing the disconnection", || {
        lab.log().contains("the network deactivated the context")
    });
    wait_until("mbimd connected again", || lab.connected());

    // A path that names no executor is refused; so is anyone but root,
    // mbimd's user and the admin group.
    let elsewhere = lab.mbimcli(None, Path::new("/dev/null"), &["--query-device-caps"]);
    assert!(!elsewhere.status.success(), "{}", text(&elsewhere));
    assert!(lab
        .log()
        .contains("where mbimd names its modems' executors"));
    let nobody = lab.mbimcli(Some(65534), &executor, &["--query-device-caps"]);
    assert!(!nobody.status.success(), "{}", text(&nobody));
    assert!(lab.log().contains("refused: only root"), "{}", lab.log());
}

/// libmbim knows the MBIM extensions' layouts up to 3.0 (1.28 here, and
/// every release since): with a modem that agreed 4.0 with mbimd, libmbim's
/// tools are told 3.0 and read and write CONNECT in 3.0's layout, which
/// mbimd carries to and from 4.0's (a 4.0 CONNECT read as 3.0 would take
/// the network slice for an unnamed element, and a 3.0 SET would reach the
/// modem as garbage).
#[test]
fn mbimcli_is_told_3_0_by_a_4_0_modem_and_reads_and_writes_its_layouts() {
    MBIMCLI.ensure().unwrap();
    let scenario = mbimd_test_support::scenarios::dual_sim(4, false);
    let lab = Lab::simulating("mbimd-proxy-4", Some(&scenario));
    let executor = lab.names.join("mbim0e0");
    wait_until("mbimd connected", || lab.connected());
    wait_until("the executor's name", || executor.exists());
    assert!(
        lab.log().contains("MBIM extensions 4.0 agreed"),
        "{}",
        lab.log()
    );

    // Told at once, as libmbim's proxy tells its clients (mbimcli's debug
    // output says what its library took).
    let state = lab.mbimcli(None, &executor, &["--verbose", "--query-connection-state"]);
    let said = text(&state);
    assert!(state.status.success(), "{said}");
    assert!(said.contains("extended version 3.00"), "{said}");
    assert!(!said.contains("extended version 4.00"), "{said}");
    assert!(said.contains("activated"), "{said}");
    // Asking for 3.0 itself agrees on 3.0, and 2.0 (which every libmbim
    // that asks reads beyond) is told 3.0 as well.
    for flag in ["--device-open-ms-mbimex-v3", "--device-open-ms-mbimex-v2"] {
        let asked = lab.mbimcli(
            None,
            &executor,
            &["--verbose", flag, "--query-connection-state"],
        );
        let said = text(&asked);
        assert!(asked.status.success(), "{said}");
        assert!(
            said.contains("successfully exchanged version information")
                && said.contains("extended version 3.00"),
            "{said}"
        );
    }
    let contexts = lab.mbimcli(
        None,
        &executor,
        &[
            "--device-open-ms-mbimex-v3",
            "--ms-query-provisioned-contexts",
        ],
    );
    assert!(contexts.status.success(), "{}", text(&contexts));

    // A 3.0 SET reaches the 4.0 modem: the session goes down, mbimd sees
    // it and connects again.
    let disconnect = lab.mbimcli(
        None,
        &executor,
        &["--device-open-ms-mbimex-v3", "--disconnect=0"],
    );
    assert!(disconnect.status.success(), "{}", text(&disconnect));
    wait_until("mbimd noticing the disconnection", || {
        lab.log().contains("the network deactivated the context")
    });
    wait_until("mbimd connected again", || lab.connected());
}
