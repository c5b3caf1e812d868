//! Microsoft Host Shutdown: the host tells the modem it is about to shut
//! down or sleep, so the modem can leave the network cleanly (seed 004 lists
//! `CID_MBIM_MSHOSTSHUTDOWN` as per-device). Layout as libmbim's
//! `mbim-service-ms-host-shutdown.json`: a SET with no payload.

use crate::codec::Empty;
use crate::mbim_service;

mbim_service! {
    /// The Host Shutdown CID table.
    service "ms-host-shutdown" = "883b7c26-985f-43fa-9804-27d7fb80959c";
    /// MBIM_CID_MS_HOST_SHUTDOWN: the host is going down; no payload either way.
    HostShutdown = 1, "host-shutdown", device {
        set: Empty, response: Empty,
    }
}
