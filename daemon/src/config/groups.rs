//! Group names to gids, for `[dbus] admin-group`.
//!
//! Read from `/etc/group` directly: mbimd starts before most name services
//! and must not hang on one, and a group meant to guard a system daemon is a
//! local group.

use std::path::Path;

/// The group database read.
pub(crate) const GROUP_FILE: &str = "/etc/group";

/// The gid of group `name` in `file` (`name:password:gid:members` lines),
/// or `None` when the file has no such group or cannot be read.
pub(crate) fn gid_of(file: &Path, name: &str) -> Option<u32> {
    let text = std::fs::read_to_string(file).ok()?;
    gid_in(&text, name)
}

fn gid_in(text: &str, name: &str) -> Option<u32> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let mut fields = line.split(':');
            let group = fields.next()?;
            let _password = fields.next()?;
            let gid = fields.next()?;
            (group == name).then(|| gid.parse().ok()).flatten()
        })
}

/// The user database read.
pub(crate) const PASSWD_FILE: &str = "/etc/passwd";

/// The groups of the user with `uid`: the primary group from `passwd`
/// (`name:password:uid:gid:…` lines) and every group of `group` that lists
/// the user's name as a member, as `getgrouplist` would say for local users.
pub(crate) fn groups_of_uid(passwd: &str, group: &str, uid: u32) -> Vec<u32> {
    let Some((name, primary)) = passwd
        .lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let mut fields = line.split(':');
            let name = fields.next()?;
            let _password = fields.next()?;
            let each: u32 = fields.next()?.parse().ok()?;
            let gid: u32 = fields.next()?.parse().ok()?;
            (each == uid).then_some((name, gid))
        })
    else {
        return Vec::new();
    };
    let mut groups = vec![primary];
    for line in group.lines().filter(|line| !line.starts_with('#')) {
        let mut fields = line.split(':');
        let (Some(_), Some(_), Some(gid), Some(members)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let Ok(gid) = gid.parse::<u32>() else {
            continue;
        };
        if members.split(',').any(|member| member == name) && !groups.contains(&gid) {
            groups.push(gid);
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_users_groups_are_its_primary_group_and_those_naming_it() {
        let passwd = "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n\
                      bob:x:1001:100::/:/bin/sh\nbroken\n";
        let group = "root:x:0:\nalice:x:1000:\nnetdev:x:108:bob,alice\nmbim:x:990:alicex\n\
                     bad:x:nan:alice\n#c:x:5:alice\nshort:x\n";
        let table: [(u32, &[u32]); 4] = [
            (0, &[0]),
            (1000, &[1000, 108]),
            (1001, &[100, 108]),
            (4242, &[]),
        ];
        for (uid, expected) in table {
            assert_eq!(groups_of_uid(passwd, group, uid), expected, "uid {uid}");
        }
    }

    #[test]
    fn names_are_matched_whole_and_bad_lines_skipped() {
        let text = "root:x:0:\n# comment:x:5:\nbroken\nnetdev:x:108:alice,bob\nnet:x:notanumber:\n";
        assert_eq!(gid_in(text, "root"), Some(0));
        assert_eq!(gid_in(text, "netdev"), Some(108));
        assert_eq!(gid_in(text, "net"), None);
        assert_eq!(gid_in(text, "netde"), None);
        assert_eq!(gid_in(text, "# comment"), None);
    }
}
