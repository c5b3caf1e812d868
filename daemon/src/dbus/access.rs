//! Who may change things and see personal data: root, mbimd's own user, or a
//! member of the configured group, as the bus daemon vouches (`GetConnectionCredentials`
//! of the message's sender). The bus policy (systemd/dev.mbimd.Mbimd1.conf)
//! is a first fence; this check is the one that counts, since the group is
//! configurable and a bus policy cannot know it.

use super::errors::MethodError;
use super::Shared;
use crate::logging::chain;
use zbus::fdo::DBusProxy;
use zbus::message::Header;
use zbus::names::BusName;
use zbus::Connection;

/// Who besides root is privileged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AccessPolicy {
    /// Members of this group (by gid, supplementary groups included) may
    /// call changing methods and see ICCID and IMSI in full.
    pub admin_group: Option<u32>,
}

impl AccessPolicy {
    /// Whether a caller with this uid and these groups is privileged.
    pub fn allows(&self, uid: u32, groups: &[u32]) -> bool {
        uid == 0
            || self
                .admin_group
                .is_some_and(|group| groups.contains(&group))
    }
}

/// Whether the sender of `header` is privileged; errors when the bus
/// cannot say who it is (then nobody is trusted).
pub(crate) async fn privileged(
    connection: &Connection,
    policy: &AccessPolicy,
    header: &Header<'_>,
) -> Result<bool, MethodError> {
    let Some(sender) = header.sender() else {
        return Err(MethodError::AccessDenied(
            "the call has no sender; mbimd cannot check who asks".to_owned(),
        ));
    };
    let proxy = DBusProxy::new(connection).await.map_err(|error| {
        MethodError::Failed(format!("cannot ask the bus who calls: {}", chain(&error)))
    })?;
    let credentials = proxy
        .get_connection_credentials(BusName::from(sender.to_owned()))
        .await
        .map_err(|error| {
            MethodError::Failed(format!("cannot ask the bus who calls: {}", chain(&error)))
        })?;
    let Some(uid) = credentials.unix_user_id() else {
        return Ok(false);
    };
    let groups = credentials.unix_group_ids().map_or(&[][..], Vec::as_slice);
    // mbimd's own user too: the packaged unit runs mbimd as the user mbimd
    // and its ExecReload= (`busctl call … Reload`) in the same sandbox, as
    // that user; a process with mbimd's uid could take over mbimd anyway.
    Ok(uid == rustix::process::geteuid().as_raw() || policy.allows(uid, groups))
}

/// Fails with AccessDenied unless the sender of `header` is privileged.
pub(crate) async fn authorize(
    connection: &Connection,
    shared: &Shared,
    header: &Header<'_>,
    what: &str,
) -> Result<(), MethodError> {
    if privileged(connection, &shared.access(), header).await? {
        return Ok(());
    }
    Err(MethodError::AccessDenied(format!(
        "{what} needs root or membership of mbimd's configured group"
    )))
}

/// Whether the caller of a property `Get` may see personal data in full:
/// no header (ObjectManager's listings, InterfacesAdded: sent to everyone)
/// or any doubt means no.
pub(crate) async fn may_see_personal(
    connection: &Connection,
    shared: &Shared,
    header: Option<&Header<'_>>,
) -> bool {
    let Some(header) = header else {
        return false;
    };
    privileged(connection, &shared.access(), header)
        .await
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_and_the_admin_group_are_privileged() {
        let none = AccessPolicy { admin_group: None };
        let group = AccessPolicy {
            admin_group: Some(990),
        };
        assert!(none.allows(0, &[]));
        assert!(!none.allows(1000, &[990]));
        assert!(group.allows(1000, &[100, 990]));
        assert!(!group.allows(1000, &[100]));
        assert!(!group.allows(65534, &[]));
    }
}
