//! Who may use the proxy. A client can send any command to a modem
//! (disconnect it, change its PIN), so only those who may change things
//! over D-Bus may connect: root, mbimd's own user, and members of
//! `[dbus] admin-group`. The abstract socket has no file permissions to
//! lean on; the peer's credentials (SO_PEERCRED) are checked at accept.
//! The groups are the user's as the local user and group files list them
//! (what libmbim's proxy checks too): with `ProtectProc=invisible`, mbimd
//! cannot read another user's /proc entry for its live groups.

use crate::config::groups::{groups_of_uid, GROUP_FILE, PASSWD_FILE};

/// Whether a peer with `uid` (primary group `gid`) may connect, given
/// mbimd's own uid and the admin group's gid.
pub fn may_connect(uid: u32, gid: u32, own_uid: u32, admin_gid: Option<u32>) -> bool {
    if uid == 0 || uid == own_uid {
        return true;
    }
    let Some(admin) = admin_gid else {
        return false;
    };
    if gid == admin {
        return true;
    }
    let passwd = std::fs::read_to_string(PASSWD_FILE).unwrap_or_default();
    let group = std::fs::read_to_string(GROUP_FILE).unwrap_or_default();
    groups_of_uid(&passwd, &group, uid).contains(&admin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_mbimd_and_the_admin_group_may_connect() {
        // (uid, gid, own uid, admin gid, allowed)
        let table = [
            (0, 0, 990, None, true),
            (990, 990, 990, None, true),
            (1000, 1000, 990, None, false),
            (1000, 1000, 990, Some(1000), true),
            (1000, 1000, 990, Some(4_000_000), false),
        ];
        for (uid, gid, own, admin, allowed) in table {
            assert_eq!(
                may_connect(uid, gid, own, admin),
                allowed,
                "uid {uid} gid {gid} own {own} admin {admin:?}"
            );
        }
    }
}
