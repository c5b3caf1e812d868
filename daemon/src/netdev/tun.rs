//! The TUN device itself.

use std::sync::Arc;

use super::{InterfaceName, NetdevError};

/// How to open the TUN device.
///
/// With `offload`, the device is opened with `IFF_VNET_HDR` and
/// `TUNSETOFFLOAD` (checksum, TSO4/TSO6, and USO4/USO6 where the kernel has
/// them, Linux 6.2 on): the kernel hands the data path TCP and UDP
/// super-packets and takes coalesced ones. A kernel that refuses the
/// offloads gets a plain device instead (see `create`).
/// `IFF_MULTI_QUEUE` (more queues by `SyncDevice::try_clone`) is a builder
/// switch here too; the rest of the netdev does not change with them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TunOptions {
    /// Open with `IFF_VNET_HDR` and TSO/USO offloads: every packet then
    /// carries a virtio-net header, which the data path must expect.
    pub offload: bool,
    /// Open with `IFF_MULTI_QUEUE`, so the data path can add queues.
    pub multi_queue: bool,
}

/// Creates the TUN device `name` (`IFF_TUN | IFF_NO_PI`), left down: the
/// netdev brings it up once its IPv6 sysctls are set, so the kernel never
/// gives it an address of its own choosing.
///
/// If offloads were asked for and the kernel refuses them, the device is
/// created again without (a warning says so): the data path then carries
/// one packet per read and write, as it does with offloads off.
pub(crate) fn create(
    name: &InterfaceName,
    options: TunOptions,
) -> Result<Arc<tun_rs::SyncDevice>, NetdevError> {
    let open = |offload: bool| {
        tun_rs::DeviceBuilder::new()
            .name(name.as_str())
            .layer(tun_rs::Layer::L3)
            .packet_information(false)
            .offload(offload)
            .multi_queue(options.multi_queue)
            .enable(false)
            // Not registered with any reactor: the pump registers it with
            // its own thread's (datapath::TunDevice).
            .build_sync()
            .map(Arc::new)
            .map_err(|source| NetdevError::CreateTun {
                name: name.to_string(),
                source,
            })
    };
    if options.offload {
        match open(true) {
            Ok(device) => return Ok(device),
            Err(error) => tracing::warn!(
                "{name}: the kernel refused TUN offloads, using one packet per read and \
                 write: {}",
                crate::logging::chain(&error)
            ),
        }
    }
    open(false)
}

/// How the data path must frame reads and writes of `device`: with a
/// virtio-net header exactly when it was opened with offloads.
pub(crate) fn framing(device: &tun_rs::SyncDevice) -> crate::datapath::ReadFraming {
    if device.tcp_gso() {
        crate::datapath::ReadFraming::VirtioNet
    } else {
        crate::datapath::ReadFraming::PlainPacket
    }
}
