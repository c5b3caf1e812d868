//! Who manages sessions, mbimd or the ModemManager API's clients, and the
//! one hand-over from the first to the second.

use std::sync::Arc;
use tokio::sync::watch;

/// Who manages sessions: whether a session is brought up by mbimd itself
/// and gets its IP configuration from it, or is brought up when a
/// ModemManager client (NetworkManager, mmcli) asks and configured by that
/// client.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SessionManager {
    /// mbimd connects as soon as it can and applies addresses, routes and
    /// DNS (no ModemManager API, or nobody to use it yet).
    #[default]
    Mbimd,
    /// mbimd connects when a client asks and brings the network device up
    /// (its MTU, link up); addresses, routes and DNS are the client's, from
    /// the bearer's IP configuration.
    Client,
}

/// The [`SessionManager`] in force, shared by every clone (of it and of the
/// configuration that holds it) and watched by every modem.
///
/// It only ever moves from [`SessionManager::Mbimd`] to
/// [`SessionManager::Client`], and at most once while mbimd runs: a client
/// that came and went (NetworkManager restarted) may come back, and a
/// modem handed back and forth would be connected and configured twice.
#[derive(Clone)]
pub struct Sessions(Arc<watch::Sender<SessionManager>>);

impl Sessions {
    /// Sessions managed by `manager` from the start.
    pub fn new(manager: SessionManager) -> Self {
        Sessions(Arc::new(watch::Sender::new(manager)))
    }

    /// Who manages sessions now.
    pub fn get(&self) -> SessionManager {
        *self.0.borrow()
    }

    /// Sets who manages sessions from the start (before any modem runs).
    pub fn start_with(&self, manager: SessionManager) {
        self.0.send_replace(manager);
    }

    /// Hands the sessions to the clients, saying why in the log; `false`
    /// if they were the clients' already.
    pub fn hand_to_clients(&self, why: &str) -> bool {
        let handed = self.0.send_if_modified(|manager| {
            let before = *manager;
            *manager = SessionManager::Client;
            before != SessionManager::Client
        });
        if handed {
            tracing::info!(
                "{why}: from now on modems connect when a ModemManager client asks, and the \
                 client configures addresses, routes and DNS; mbimd's own sessions are taken \
                 down and their configuration removed"
            );
        }
        handed
    }

    /// Follows who manages sessions.
    pub fn watch(&self) -> watch::Receiver<SessionManager> {
        self.0.subscribe()
    }
}

impl Default for Sessions {
    fn default() -> Self {
        Sessions::new(SessionManager::default())
    }
}

impl PartialEq for Sessions {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Sessions").field(&self.get()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_go_to_the_clients_once_and_every_clone_sees_it() {
        let sessions = Sessions::default();
        let clone = sessions.clone();
        let mut watched = sessions.watch();
        assert_eq!(clone.get(), SessionManager::Mbimd);
        assert!(sessions.hand_to_clients("a test"));
        assert_eq!(clone.get(), SessionManager::Client);
        assert!(watched.has_changed().unwrap_or(false));
        watched.borrow_and_update();
        // Again: nothing changes, nobody is woken.
        assert!(!clone.hand_to_clients("a test"));
        assert!(!watched.has_changed().unwrap_or(true));
    }

    #[test]
    fn separate_handles_are_separate() {
        let one = Sessions::default();
        let other = Sessions::new(SessionManager::Client);
        assert_ne!(one, other);
        one.start_with(SessionManager::Client);
        assert_eq!(one, other);
    }
}
