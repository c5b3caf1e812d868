//! `org.freedesktop.ModemManager1` at `/org/freedesktop/ModemManager1`
//! (its ObjectManager is answered by [`super::bus`]).
//!
//! The methods that steer ModemManager's own device handling have no
//! counterpart in mbimd, which finds modems by itself (udev events and a
//! periodic rescan, the `[devices]` rules) and logs as `[logging]` says:
//! they are refused with `Core.Unsupported` and a message saying so.

use super::bus::Call;
use super::errors::MmError;
use super::view::Props;
use super::VERSION;
use zbus::zvariant::Value;
use zbus::Message;

/// The manager's properties.
pub(crate) fn properties() -> Props {
    vec![("Version", Value::from(VERSION))]
}

/// Answers a method of the manager.
pub(crate) async fn call(call: &Call<'_>, member: &str) -> Result<Message, MmError> {
    call.authorize().await?;
    Err(MmError::unsupported(match member {
        "ScanDevices" => {
            "ScanDevices: mbimd finds modems by itself, from udev's events and a periodic \
             rescan of the USB devices ([devices] in mbimd.toml says which it takes)"
        }
        "SetLogging" => {
            "SetLogging: mbimd's log level is [logging] level in mbimd.toml (or RUST_LOG)"
        }
        "ReportKernelEvent" => "ReportKernelEvent: mbimd follows the kernel's USB events itself",
        _ => "InhibitDevice: mbimd does not hand its modems to other programs while it runs",
    }))
}
