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

#[cfg(test)]
mod tests {
    use super::*;

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
