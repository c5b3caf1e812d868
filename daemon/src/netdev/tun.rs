//! The TUN device itself.

use std::sync::Arc;

use super::{InterfaceName, NetdevError};

/// How to open the TUN device.
///
/// Today one queue without offloads. `IFF_VNET_HDR` (TSO/GRO through
/// `tun_rs::AsyncDevice::recv_multiple`/`send_multiple`) and
/// `IFF_MULTI_QUEUE` (more queues by `AsyncDevice::try_clone`) are builder
/// switches here; the rest of the netdev does not change with them.
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
pub(crate) fn create(
    name: &InterfaceName,
    options: TunOptions,
) -> Result<Arc<tun_rs::AsyncDevice>, NetdevError> {
    tun_rs::DeviceBuilder::new()
        .name(name.as_str())
        .layer(tun_rs::Layer::L3)
        .packet_information(false)
        .offload(options.offload)
        .multi_queue(options.multi_queue)
        .enable(false)
        .build_async()
        .map(Arc::new)
        .map_err(|source| NetdevError::CreateTun {
            name: name.to_string(),
            source,
        })
}
