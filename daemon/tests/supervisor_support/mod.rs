//! What the supervisor tests share: running a test body where whatever the
//! supervisor creates (TUN devices, addresses, routes) cannot reach the
//! machine's own network.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use mbimd_test_support::tools::IP;
use std::future::Future;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Whether the test runs as root (and so creates real TUN devices).
pub(crate) fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// A network namespace of the test's own, deleted when dropped.
struct Netns(String);

impl Drop for Netns {
    fn drop(&mut self) {
        // Many tests add and delete namespaces at once, and a delete can
        // meet a busy mount; a namespace left behind would outlive the run.
        for _ in 0..20 {
            let deleted = IP
                .command()
                .args(["netns", "del", &self.0])
                .status()
                .is_ok_and(|status| status.success());
            if deleted || !std::path::Path::new("/run/netns").join(&self.0).exists() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        eprintln!("could not delete network namespace {}", self.0);
    }
}

/// Runs `body` on a thread of its own in a current-thread runtime; as root,
/// inside a fresh network namespace named after `prefix`, removed afterwards
/// (a panic in `body` is re-raised once it is).
pub(crate) fn run<F, Fut>(prefix: &str, body: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let netns = is_root().then(|| {
        let name = format!(
            "{prefix}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let status = IP.command().args(["netns", "add", &name]).status().unwrap();
        assert!(status.success(), "ip netns add {name}");
        Netns(name)
    });
    let name = netns.as_ref().map(|netns| netns.0.clone());
    let thread = std::thread::spawn(move || {
        if let Some(name) = name {
            let file = std::fs::File::open(format!("/run/netns/{name}")).unwrap();
            rustix::thread::move_into_link_name_space(
                file.as_fd(),
                Some(rustix::thread::LinkNameSpaceType::Network),
            )
            .unwrap();
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(body());
    });
    let result = thread.join();
    drop(netns);
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

/// Waits (at most `wait`, a hang guard) until the supervisor behind
/// `handle` publishes a snapshot for which `predicate` holds, and returns it;
/// panics with `what` and the last snapshot otherwise.
pub(crate) async fn wait_for_snapshot(
    handle: &mbimd::modem::ModemHandle,
    wait: std::time::Duration,
    what: &str,
    mut predicate: impl FnMut(&mbimd::modem::ModemSnapshot) -> bool,
) -> mbimd::modem::ModemSnapshot {
    let mut watch = handle.watch();
    let found = tokio::time::timeout(wait, watch.wait_for(|snapshot| predicate(snapshot)))
        .await
        .map(|result| result.map(|snapshot| snapshot.clone()));
    match found {
        Ok(Ok(snapshot)) => snapshot,
        Ok(Err(_)) => panic!("the supervisor ended while waiting for {what}"),
        Err(_) => panic!(
            "timed out waiting for {what}; the modem: {:#?}",
            handle.snapshot()
        ),
    }
}

/// Tells the supervisor task to shut down and waits (at most `wait`) for it
/// to end cleanly.
pub(crate) async fn stop_supervisor(
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: &mut tokio::task::JoinHandle<()>,
    wait: std::time::Duration,
) {
    if let Some(stop) = stop {
        let _ = stop.send(());
    }
    tokio::time::timeout(wait, task)
        .await
        .expect("the supervisor did not stop")
        .unwrap();
}
