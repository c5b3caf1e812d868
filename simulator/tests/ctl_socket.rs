//! `mbim-sim ctl` against a running `mbim-sim serve`, both as the built
//! binary: commands from arguments, replies, refusals and exit codes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_mbim-sim");

struct Server {
    child: Child,
    dir: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn start(name: &str) -> (Server, PathBuf) {
    let dir = std::env::temp_dir().join(format!("mbim-sim-ctl-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let socket = dir.join("ctl.sock");
    let child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--control"])
        .arg(&socket)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server { child, dir };
    let deadline = Instant::now() + Duration::from_secs(20);
    // The file exists from bind(), a moment before listen(): wait until a
    // connection is accepted.
    while std::os::unix::net::UnixStream::connect(&socket).is_err() {
        assert!(Instant::now() < deadline, "no control socket after 20 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    (server, socket)
}

fn ctl(socket: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("ctl")
        .arg("--control")
        .arg(socket)
        .args(args)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn ctl_drives_a_running_simulator() {
    let (mut server, socket) = start("drive");

    let status = ctl(&socket, &["status"]);
    assert!(status.status.success(), "{}", text(&status.stderr));
    let reply: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(reply["reply"], "status");

    let removed = ctl(&socket, &["remove-sim", "--slot", "0"]);
    assert!(removed.status.success(), "{}", text(&removed.stderr));
    // The slot is empty now: the simulator refuses, ctl exits 1 with its reason.
    let again = ctl(&socket, &["remove-sim", "--slot", "0"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        text(&again.stderr).contains("slot 0"),
        "{}",
        text(&again.stderr)
    );
    let inserted = ctl(
        &socket,
        &[
            "insert-sim",
            "--slot",
            "0",
            "--iccid",
            "8988200000000000077",
        ],
    );
    assert!(inserted.status.success(), "{}", text(&inserted.stderr));
    let lost = ctl(&socket, &["lose-signal", "--executor", "0"]);
    assert!(lost.status.success(), "{}", text(&lost.stderr));

    // Bad commands never reach the socket: exit 2 with a reason.
    let bad = ctl(&socket, &["faults", "--function", "0", "--kind", "explode"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad.stderr).contains("invalid command"));
    let unknown = ctl(&socket, &["fly"]);
    assert_eq!(unknown.status.code(), Some(2));
    let raw = ctl(&socket, &["send", r#"{"command":"fly"}"#]);
    assert_eq!(raw.status.code(), Some(2));

    // unplug ends the simulator.
    let unplug = ctl(&socket, &["unplug"]);
    assert!(unplug.status.success(), "{}", text(&unplug.stderr));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            assert!(status.success());
            break;
        }
        assert!(
            Instant::now() < deadline,
            "serve still running after unplug"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!socket.exists(), "the control socket was left behind");
}

#[test]
fn an_unreachable_socket_is_a_clear_error() {
    let dir = std::env::temp_dir().join(format!("mbim-sim-ctl-{}-none", std::process::id()));
    let out = ctl(&dir.join("absent.sock"), &["status"]);
    assert_eq!(out.status.code(), Some(1));
    let message = text(&out.stderr);
    assert!(message.contains("cannot reach"), "{message}");
    assert!(message.contains("absent.sock"), "{message}");
}

#[test]
fn a_second_server_on_the_same_socket_is_refused() {
    let (_server, socket) = start("twice");
    let out = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--control"])
        .arg(&socket)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("in use"),
        "{}",
        text(&out.stderr)
    );
}

/// What `--control PATH` (here, and in `mbimd --sim-control`) does with
/// what is already at PATH: a socket nobody accepts on is replaced; a
/// regular file, a directory or a symbolic link is refused and left as it
/// was.
#[test]
fn only_a_stale_socket_is_replaced() {
    let dir = std::env::temp_dir().join(format!("mbim-sim-ctl-{}-stale", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    // A socket whose listener is gone: replaced, and served again.
    let stale = dir.join("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    assert!(stale.exists());
    let listener = runtime.block_on(mbim_sim::ctl::bind(&stale)).unwrap();
    assert!(std::os::unix::net::UnixStream::connect(&stale).is_ok());
    drop(listener);

    // Anything else stays untouched.
    let file = dir.join("notes.txt");
    std::fs::write(&file, "keep me").unwrap();
    let subdirectory = dir.join("directory");
    std::fs::create_dir(&subdirectory).unwrap();
    let link = dir.join("link");
    std::os::unix::fs::symlink(&file, &link).unwrap();
    for path in [&file, &subdirectory, &link] {
        let error = runtime.block_on(mbim_sim::ctl::bind(path)).unwrap_err();
        assert!(
            error.to_string().contains("exists and is not a socket"),
            "{}: {error}",
            path.display()
        );
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
    assert!(subdirectory.is_dir());
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    let _ = std::fs::remove_dir_all(&dir);
}
