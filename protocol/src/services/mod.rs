//! MBIM services and their CIDs, declared once each.

use crate::uuid::Uuid;

/// The well-known name of a service or context-type UUID.
pub fn uuid_name(_uuid: &Uuid) -> Option<&'static str> {
    None
}
