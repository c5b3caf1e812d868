//! The kernel's own traffic counters of a network device whose packets a
//! kernel driver moves (cdc_mbim's `wwan0`, its VLAN links, a WWAN
//! driver's links): mbimd's pump never sees them, so what the executor and
//! its sessions carried is asked of the kernel ([`Netdev::kernel_counters`](super::Netdev::kernel_counters),
//! the link's `IFLA_STATS64` over rtnetlink: right in any network
//! namespace, where sysfs shows the one it was mounted in).

/// Packets and bytes through a device each way: "rx" from the modem to
/// the host, "tx" from the host to the modem.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KernelCounters {
    /// Packets received.
    pub rx_packets: u64,
    /// Bytes of those.
    pub rx_bytes: u64,
    /// Packets sent.
    pub tx_packets: u64,
    /// Bytes of those.
    pub tx_bytes: u64,
}

impl KernelCounters {
    /// What passed since `baseline` was read (nothing where a counter went
    /// back: the device was made again).
    pub fn since(self, baseline: KernelCounters) -> Self {
        KernelCounters {
            rx_packets: self.rx_packets.saturating_sub(baseline.rx_packets),
            rx_bytes: self.rx_bytes.saturating_sub(baseline.rx_bytes),
            tx_packets: self.tx_packets.saturating_sub(baseline.tx_packets),
            tx_bytes: self.tx_bytes.saturating_sub(baseline.tx_bytes),
        }
    }

    /// Both together.
    pub fn plus(self, other: KernelCounters) -> Self {
        KernelCounters {
            rx_packets: self.rx_packets.saturating_add(other.rx_packets),
            rx_bytes: self.rx_bytes.saturating_add(other.rx_bytes),
            tx_packets: self.tx_packets.saturating_add(other.tx_packets),
            tx_bytes: self.tx_bytes.saturating_add(other.tx_bytes),
        }
    }

    /// Packets both ways: whether anything moved between two readings.
    pub fn packets(&self) -> u64 {
        self.rx_packets.wrapping_add(self.tx_packets)
    }
}

/// What a kernel device carried from a moment on: its counters then and
/// as last read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KernelTraffic {
    baseline: KernelCounters,
    latest: KernelCounters,
}

impl KernelTraffic {
    /// Counting from `baseline` (nothing carried yet).
    pub fn from(baseline: KernelCounters) -> Self {
        KernelTraffic {
            baseline,
            latest: baseline,
        }
    }

    /// Takes a new reading.
    pub fn update(&mut self, now: KernelCounters) {
        self.latest = now;
    }

    /// What passed between the baseline and the last reading.
    pub fn carried(&self) -> KernelCounters {
        self.latest.since(self.baseline)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_never_go_below_zero() {
        let before = KernelCounters {
            rx_packets: 10,
            rx_bytes: 1000,
            tx_packets: 5,
            tx_bytes: 500,
        };
        let after = KernelCounters {
            rx_packets: 12,
            rx_bytes: 1300,
            tx_packets: 4,
            tx_bytes: 400,
        };
        let since = after.since(before);
        assert_eq!((since.rx_packets, since.rx_bytes), (2, 300));
        assert_eq!((since.tx_packets, since.tx_bytes), (0, 0));
        assert_eq!(since.plus(since).rx_bytes, 600);
        assert_eq!(after.packets(), 16);
        let mut traffic = KernelTraffic::from(before);
        assert_eq!(traffic.carried(), KernelCounters::default());
        traffic.update(after);
        assert_eq!(traffic.carried(), since);
    }
}
