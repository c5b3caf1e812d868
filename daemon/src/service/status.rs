//! `STATUS=` for `systemctl status mbimd`: how many modems, how many
//! executors connected, kept current by following the registry and every
//! modem's snapshot (no polling: it sleeps until something changes).

use super::Notifier;
use crate::modem::{ModemSnapshot, Registry};
use futures_util::future::select_all;
use futures_util::FutureExt as _;

/// The status line for these modems: "no modem", "1 modem, 1 connected",
/// "2 modems (3 executors), 1 connected".
pub fn summary<'a>(modems: impl IntoIterator<Item = &'a ModemSnapshot>) -> String {
    let (mut count, mut executors, mut connected) = (0usize, 0usize, 0usize);
    for modem in modems {
        count += 1;
        executors += modem.executors.len().max(1);
        connected += modem
            .executors
            .iter()
            .filter(|executor| executor.netdev.is_some())
            .count();
    }
    match count {
        0 => "no modem".to_owned(),
        _ => {
            let modems = if count == 1 {
                "1 modem".to_owned()
            } else {
                format!("{count} modems")
            };
            let executors = if executors == count {
                String::new()
            } else {
                format!(" ({executors} executors)")
            };
            format!("{modems}{executors}, {connected} connected")
        }
    }
}

/// Sends `STATUS=` whenever the summary changes; runs forever.
pub async fn run(notifier: Notifier, registry: Registry) {
    let mut modems_watch = registry.watch();
    let mut last = String::new();
    loop {
        let mut watches: Vec<_> = modems_watch
            .borrow_and_update()
            .values()
            .map(|handle| handle.watch())
            .collect();
        let text = summary(
            watches
                .iter_mut()
                .map(|watch| watch.borrow_and_update().clone())
                .collect::<Vec<_>>()
                .iter(),
        );
        if text != last {
            notifier.status(&text);
            last = text;
        }
        // Whichever comes first: a modem comes or goes, or one changes.
        let modem_changed = async {
            if watches.is_empty() {
                std::future::pending::<()>().await;
            }
            let _ = select_all(watches.iter_mut().map(|watch| watch.changed().boxed())).await;
        };
        tokio::select! {
            changed = modems_watch.changed() => if changed.is_err() { return },
            () = modem_changed => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modem::ExecutorSnapshot;

    fn modem(executors: &[bool]) -> ModemSnapshot {
        ModemSnapshot {
            executors: executors
                .iter()
                .map(|&connected| ExecutorSnapshot {
                    netdev: connected.then(|| "mbim0e0".to_owned()),
                    ..ExecutorSnapshot::default()
                })
                .collect(),
            ..ModemSnapshot::default()
        }
    }

    #[test]
    fn the_status_line_counts_modems_executors_and_connections() {
        let table: &[(&[&[bool]], &str)] = &[
            (&[], "no modem"),
            (&[&[]], "1 modem, 0 connected"),
            (&[&[true]], "1 modem, 1 connected"),
            (&[&[false]], "1 modem, 0 connected"),
            (&[&[true], &[true]], "2 modems, 2 connected"),
            (&[&[true, false]], "1 modem (2 executors), 1 connected"),
            (
                &[&[true, true], &[false]],
                "2 modems (3 executors), 2 connected",
            ),
        ];
        for (modems, expected) in table {
            let snapshots: Vec<ModemSnapshot> = modems.iter().map(|m| modem(m)).collect();
            assert_eq!(summary(&snapshots), *expected, "{modems:?}");
        }
    }
}
