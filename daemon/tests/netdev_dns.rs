//! The DNS backends of the netdev: the file backend's atomic write and
//! removal, resolvconf's arguments and input (against a stand-in script),
//! and the systemd-resolved calls against a stand-in resolve1 service on a
//! private dbus-daemon: what reaches the bus, method by method, and that a
//! resolved starting late or restarting gets the link's servers again. The
//! real systemd-resolved is checked in the VM (tests/vm/guest/resolved.sh:
//! it needs a user, /run/systemd/resolve and a system bus of its own, which
//! a build machine's host must not be given). None needs root; dbus-daemon
//! is installed when missing (mbimd_test_support::tools).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::io::{BufRead, BufReader};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use mbimd::netdev::dns::{resolv_conf_text, DnsError, FileDns, Resolvconf, Resolved};
use mbimd::netdev::{DnsBackend, DnsLink};

static DIRS: AtomicUsize = AtomicUsize::new(0);

/// A scratch directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let n = DIRS.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("mbimd-netdev-dns-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    fn entries(&self) -> Vec<String> {
        let mut names: Vec<_> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn servers() -> Vec<IpAddr> {
    vec![
        "192.0.2.53".parse().unwrap(),
        "2001:db8::53".parse().unwrap(),
    ]
}

#[test]
fn netdev_dns_file_is_written_atomically_and_removed() {
    let dir = TempDir::new();
    let path = dir.0.join("resolv.conf.mbim0e0");
    let file = FileDns::new(path.clone(), "mbim0e0");

    file.set(&servers()).unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "# Written by mbimd for mbim0e0; removed when the connection ends.\n\
         nameserver 192.0.2.53\nnameserver 2001:db8::53\n"
    );
    // No temporary file is left beside it.
    assert_eq!(dir.entries(), vec!["resolv.conf.mbim0e0"]);

    // Replaced whole.
    let one: Vec<IpAddr> = vec!["198.51.100.53".parse().unwrap()];
    file.set(&one).unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        resolv_conf_text("mbim0e0", &one)
    );
    assert_eq!(dir.entries(), vec!["resolv.conf.mbim0e0"]);

    // No servers: no file. Removing twice is fine.
    file.set(&[]).unwrap();
    assert!(dir.entries().is_empty());
    file.set(&servers()).unwrap();
    file.remove().unwrap();
    file.remove().unwrap();
    assert!(dir.entries().is_empty());
}

#[test]
fn netdev_dns_file_errors_name_the_file() {
    let dir = TempDir::new();
    let path = dir.0.join("missing-directory").join("resolv.conf");
    let file = FileDns::new(path.clone(), "mbim0e0");
    let error = file.set(&servers()).unwrap_err();
    assert!(
        matches!(
            error,
            DnsError::File {
                action: "write",
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        error.to_string().contains(&path.display().to_string()),
        "{error}"
    );
    assert!(
        std::error::Error::source(&error).is_some(),
        "the cause is kept"
    );
}

#[tokio::test]
async fn netdev_dns_file_backend_from_configuration() {
    let dir = TempDir::new();
    let path = dir.0.join("dns");
    let backend: DnsBackend = format!("file:{}", path.display()).parse().unwrap();
    let link = DnsLink::select(&backend, "mbim1e0", 7).await.unwrap();
    assert!(matches!(link, DnsLink::File(ref f) if f.path() == path));
    link.set(&servers(), true).await.unwrap();
    assert!(path.exists());
    link.revert().await.unwrap();
    assert!(!path.exists());
    // `none` applies nothing.
    let none = DnsLink::select(&DnsBackend::None, "mbim1e0", 7)
        .await
        .unwrap();
    none.set(&servers(), true).await.unwrap();
    none.revert().await.unwrap();
}

#[test]
fn netdev_dns_resolvconf_arguments() {
    let r = Resolvconf::new(PathBuf::from("resolvconf"), "mbim0e1");
    assert_eq!(r.record(), "mbim0e1.mbimd");
    assert_eq!(r.add_args(), vec!["-a", "mbim0e1.mbimd"]);
    assert_eq!(r.delete_args(), vec!["-d", "mbim0e1.mbimd"]);
}

/// A resolvconf stand-in that logs its arguments and standard input.
fn fake_resolvconf(dir: &Path, exit: u8) -> (PathBuf, PathBuf) {
    let log = dir.join("log");
    let script = dir.join("resolvconf");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"ARGS $*\" >> {log}\ncat >> {log}\necho 'refused by policy' >&2\nexit {exit}\n",
            log = log.display()
        ),
    )
    .unwrap();
    let mut permissions = std::fs::metadata(&script).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&script, permissions).unwrap();
    (script, log)
}

#[tokio::test]
async fn netdev_dns_resolvconf_runs_add_and_delete() {
    let dir = TempDir::new();
    let (script, log) = fake_resolvconf(&dir.0, 0);
    let r = Resolvconf::new(script, "mbim0e0");
    r.set(&servers()).await.unwrap();
    r.revert().await.unwrap();
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        format!(
            "ARGS -a mbim0e0.mbimd\n{}ARGS -d mbim0e0.mbimd\n",
            resolv_conf_text("mbim0e0", &servers())
        )
    );
}

#[tokio::test]
async fn netdev_dns_resolvconf_failure_is_reported() {
    let dir = TempDir::new();
    let (script, _) = fake_resolvconf(&dir.0, 3);
    let error = Resolvconf::new(script, "mbim0e0")
        .set(&servers())
        .await
        .unwrap_err();
    assert!(
        matches!(error, DnsError::ResolvconfFailed { .. }),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(
        text.contains("-a mbim0e0.mbimd") && text.contains("refused by policy"),
        "{text}"
    );

    let missing = Resolvconf::new(dir.0.join("no-such-program"), "mbim0e0");
    let error = missing.revert().await.unwrap_err();
    assert!(
        matches!(error, DnsError::ResolvconfSpawn { .. }),
        "{error:?}"
    );
}

// ------------------------------------------------- systemd-resolved on D-Bus

/// A private dbus-daemon, killed on drop.
struct Bus {
    child: Child,
    address: String,
    _dir: TempDir,
}

impl Bus {
    fn start() -> Bus {
        let dir = TempDir::new();
        let socket = dir.0.join("bus");
        let config = dir.0.join("bus.conf");
        std::fs::write(
            &config,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
                socket.display()
            ),
        )
        .unwrap();
        let mut child = mbimd_test_support::tools::DBUS_DAEMON
            .command()
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--print-address"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // The socket file appears at bind(), before listen(): only the
        // printed address says the daemon accepts connections.
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let address = line.trim().to_owned();
        assert!(address.starts_with("unix:"), "dbus-daemon printed {line:?}");
        Bus {
            child,
            address,
            _dir: dir,
        }
    }

    async fn connect(&self) -> zbus::Connection {
        zbus::connection::Builder::address(self.address.as_str())
            .unwrap()
            .build()
            .await
            .unwrap()
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Stands in for systemd-resolved: records each call.
struct FakeResolved {
    calls: Arc<Mutex<Vec<String>>>,
}

#[zbus::interface(name = "org.freedesktop.resolve1.Manager")]
impl FakeResolved {
    #[zbus(name = "SetLinkDNS")]
    fn set_link_dns(&self, ifindex: i32, addresses: Vec<(i32, Vec<u8>)>) {
        self.calls
            .lock()
            .unwrap()
            .push(format!("SetLinkDNS {ifindex} {addresses:?}"));
    }

    #[zbus(name = "SetLinkDomains")]
    fn set_link_domains(&self, ifindex: i32, domains: Vec<(String, bool)>) {
        self.calls
            .lock()
            .unwrap()
            .push(format!("SetLinkDomains {ifindex} {domains:?}"));
    }

    #[zbus(name = "SetLinkDefaultRoute")]
    fn set_link_default_route(&self, ifindex: i32, enable: bool) {
        self.calls
            .lock()
            .unwrap()
            .push(format!("SetLinkDefaultRoute {ifindex} {enable}"));
    }

    #[zbus(name = "RevertLink")]
    fn revert_link(&self, ifindex: i32) {
        self.calls
            .lock()
            .unwrap()
            .push(format!("RevertLink {ifindex}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn netdev_dns_resolved_calls_on_a_private_bus() {
    let bus = Bus::start();
    let client = bus.connect().await;
    assert!(
        !Resolved::is_running(&client).await.unwrap(),
        "nothing owns resolve1 yet"
    );

    let calls = Arc::new(Mutex::new(Vec::new()));
    let _server = zbus::connection::Builder::address(bus.address.as_str())
        .unwrap()
        .name("org.freedesktop.resolve1")
        .unwrap()
        .serve_at(
            "/org/freedesktop/resolve1",
            FakeResolved {
                calls: Arc::clone(&calls),
            },
        )
        .unwrap()
        .build()
        .await
        .unwrap();
    assert!(Resolved::is_running(&client).await.unwrap());

    let resolved = Resolved::new(client, 7).await.unwrap();
    resolved.set(&servers(), true).await.unwrap();
    resolved.revert().await.unwrap();
    assert_eq!(
        *calls.lock().unwrap(),
        vec![
            "SetLinkDNS 7 [(2, [192, 0, 2, 53]), (10, [32, 1, 13, 184, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 83])]".to_owned(),
            "SetLinkDomains 7 []".to_owned(),
            "SetLinkDefaultRoute 7 true".to_owned(),
            "RevertLink 7".to_owned(),
        ]
    );
}

/// Serves a stand-in resolve1 on `bus`, recording into `calls`, until the
/// returned connection is dropped.
async fn serve_resolved(bus: &Bus, calls: &Arc<Mutex<Vec<String>>>) -> zbus::Connection {
    zbus::connection::Builder::address(bus.address.as_str())
        .unwrap()
        .name("org.freedesktop.resolve1")
        .unwrap()
        .serve_at(
            "/org/freedesktop/resolve1",
            FakeResolved {
                calls: Arc::clone(calls),
            },
        )
        .unwrap()
        .build()
        .await
        .unwrap()
}

/// Waits (a hang guard, not a timing assertion) until `calls` holds `n`
/// entries.
async fn wait_for_calls(calls: &Arc<Mutex<Vec<String>>>, n: usize) -> Vec<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let now = calls.lock().unwrap().clone();
        if now.len() >= n || std::time::Instant::now() > deadline {
            return now;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn netdev_dns_resolved_started_later_or_restarted_gets_the_servers_again() {
    let bus = Bus::start();
    let client = bus.connect().await;
    let resolved = Resolved::new(client.clone(), 7).await.unwrap();
    // Nothing owns resolve1: set succeeds and waits for it.
    resolved.set(&servers(), true).await.unwrap();

    let first = Arc::new(Mutex::new(Vec::new()));
    let server = serve_resolved(&bus, &first).await;
    let set_calls = |dns: &str, default_route: bool| {
        vec![
            format!("SetLinkDNS 7 {dns}"),
            "SetLinkDomains 7 []".to_owned(),
            format!("SetLinkDefaultRoute 7 {default_route}"),
        ]
    };
    let both =
        "[(2, [192, 0, 2, 53]), (10, [32, 1, 13, 184, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 83])]";
    assert_eq!(wait_for_calls(&first, 3).await, set_calls(both, true));

    // resolved goes away; the servers change meanwhile; a new resolved gets
    // the new ones, once.
    drop(server);
    let one: Vec<IpAddr> = vec!["198.51.100.53".parse().unwrap()];
    resolved.set(&one, false).await.unwrap();
    let second = Arc::new(Mutex::new(Vec::new()));
    let server = serve_resolved(&bus, &second).await;
    let one_text = "[(2, [198, 51, 100, 53])]";
    assert_eq!(wait_for_calls(&second, 3).await, set_calls(one_text, false));

    // After revert a returning resolved is told nothing about link 7. Link
    // 8 on the same connection sees the same signal and is told: once its
    // calls arrive, link 7's watcher had its chance.
    resolved.revert().await.unwrap();
    let marker = Resolved::new(client.clone(), 8).await.unwrap();
    marker.set(&one, true).await.unwrap();
    drop(server);
    let third = Arc::new(Mutex::new(Vec::new()));
    let _server = serve_resolved(&bus, &third).await;
    let marker_calls = vec![
        format!("SetLinkDNS 8 {one_text}"),
        "SetLinkDomains 8 []".to_owned(),
        "SetLinkDefaultRoute 8 true".to_owned(),
    ];
    assert_eq!(wait_for_calls(&third, 3).await, marker_calls);
    assert_eq!(first.lock().unwrap().len(), 3);
    assert_eq!(
        *second.lock().unwrap(),
        [
            set_calls(one_text, false),
            vec!["RevertLink 7".to_owned()],
            marker_calls
        ]
        .concat()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn netdev_dns_resolved_errors_name_the_method() {
    let bus = Bus::start();
    // resolve1 is owned, but by a service without resolved's object: the
    // call fails, and says which.
    let _impostor = zbus::connection::Builder::address(bus.address.as_str())
        .unwrap()
        .name("org.freedesktop.resolve1")
        .unwrap()
        .serve_at(
            "/elsewhere",
            FakeResolved {
                calls: Arc::default(),
            },
        )
        .unwrap()
        .build()
        .await
        .unwrap();
    let resolved = Resolved::new(bus.connect().await, 9).await.unwrap();
    let error = resolved.set(&servers(), false).await.unwrap_err();
    assert!(
        matches!(
            error,
            DnsError::Resolved {
                method: "SetLinkDNS",
                ifindex: 9,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(std::error::Error::source(&error).is_some());
}

#[tokio::test]
async fn netdev_dns_auto_never_fails_the_connection() {
    // Whatever this machine has (resolved, resolvconf, neither), `auto`
    // picks something and does not fail.
    let link = DnsLink::select(&DnsBackend::Auto, "mbim0e0", 7)
        .await
        .unwrap();
    println!("auto picked {link:?}");
    if !Path::new("/run/dbus/system_bus_socket").exists() {
        assert!(!matches!(link, DnsLink::Resolved(_)));
        // Asked for explicitly, a missing system bus is an error that says so.
        let error = DnsLink::select(&DnsBackend::Resolved, "mbim0e0", 7)
            .await
            .unwrap_err();
        assert!(matches!(error, DnsError::Bus(_)), "{error:?}");
    }
}
