//! A TUN device opened with offloads as mbimd opens it, in a namespace of
//! the test's own, with the pump between it and scripted pipes: shared by
//! the offload tests through real TUN devices (datapath_offload.rs,
//! datapath_offload_rx.rs). The including file declares `mod support`
//! (datapath_support.rs).

#![allow(
    dead_code,
    unreachable_pub,
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use crate::netns_support::Namespace;
use crate::support::{RecordingOut, ScriptedIn, SentBlocks};
use mbim_protocol::ntb::{BuildLimits, NdpSignature, Ntb, NtbBuilder, NtbFormat, NtbParameters};
use mbimd::datapath::{self, Pump, PumpConfig, PumpHandle, ReadFraming};
use mbimd::netdev::{DnsBackend, InterfaceName, Netdev, NetdevOptions, TunOptions};
use mbimd_test_support::tools::IP;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

pub const HOST4: &str = "10.64.0.2";
pub const PEER4: &str = "10.64.0.1";
pub const HOST6: &str = "fd00::2";
pub const PEER6: &str = "fd00::1";

pub fn ip(args: &[&str]) {
    let status = IP.command().args(args).status().unwrap();
    assert!(status.success(), "ip {args:?}");
}

pub fn parameters() -> NtbParameters {
    mbim_sim::scenario::Scenario::default_dssa()
        .ntb
        .parameters()
}

/// Runs `test` on a thread inside a fresh namespace: the TUN device, its
/// addresses and the sockets live there.
pub fn in_namespace(prefix: &str, test: impl FnOnce() + Send + 'static) {
    let namespace = Namespace::create(prefix);
    let path = format!("/run/netns/{}", namespace.0);
    std::thread::spawn(move || {
        let file = std::fs::File::open(path).unwrap();
        rustix::thread::move_into_link_name_space(
            std::os::fd::AsFd::as_fd(&file),
            Some(rustix::thread::LinkNameSpaceType::Network),
        )
        .unwrap();
        test();
    })
    .join()
    .unwrap();
}

/// A runtime whose workers start on the calling thread, so they share its
/// namespace; blocking socket reads on the test's thread leave the pump
/// running.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// `mbim0` opened as mbimd opens it with offloads on, addressed, up.
pub async fn offload_device() -> Netdev {
    let options = NetdevOptions {
        dns: DnsBackend::None,
        tun: TunOptions {
            offload: true,
            ..TunOptions::default()
        },
        ..NetdevOptions::default()
    };
    let netdev = Netdev::create(InterfaceName::new("mbim0").unwrap(), options)
        .await
        .unwrap();
    assert_eq!(
        netdev.framing(),
        ReadFraming::VirtioNet,
        "the kernel took TSO offloads"
    );
    ip(&["addr", "add", &format!("{HOST4}/30"), "dev", "mbim0"]);
    ip(&[
        "addr",
        "add",
        &format!("{HOST6}/64"),
        "dev",
        "mbim0",
        "nodad",
    ]);
    ip(&["link", "set", "mbim0", "up"]);
    netdev
}

/// Packets the kernel received on `mbim0` (one per write, a super-packet
/// counting once), from `ip -s`: /sys shows the host's namespace.
pub fn rx_packets() -> u64 {
    let output = IP
        .command()
        .args(["-j", "-s", "link", "show", "dev", "mbim0"])
        .output()
        .unwrap();
    let links: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    links[0]["stats64"]["rx"]["packets"].as_u64().unwrap()
}

/// One NTB (IPS0) holding `datagrams`.
pub fn ntb(datagrams: &[Vec<u8>]) -> Vec<u8> {
    let mut builder = NtbBuilder::new(
        NtbFormat::Ntb16,
        BuildLimits {
            max_size: 65535,
            max_datagrams: 0,
            divisor: 4,
            remainder: 0,
            ndp_alignment: 4,
        },
    )
    .unwrap();
    for datagram in datagrams {
        builder.push(NdpSignature::Ips(0), datagram).unwrap();
    }
    builder.finish().unwrap().to_vec()
}

/// The pump on a device, fed NTBs by the test, its bulk OUT recorded.
pub struct Running {
    pub handle: PumpHandle,
    script: Arc<Mutex<crate::support::Script>>,
    changed: Arc<Notify>,
    pub sent: SentBlocks,
}

impl Running {
    pub fn start(netdev: &Netdev) -> Running {
        let (bulk_in, script, changed) = ScriptedIn::new();
        let (bulk_out, sent) = RecordingOut::new();
        let mut config = PumpConfig::new(0, NtbFormat::Ntb16, parameters());
        config.framing = netdev.framing();
        let handle = datapath::spawn(
            Pump::new(bulk_in, bulk_out, config).unwrap(),
            netdev.device().unwrap(),
        );
        Running {
            handle,
            script,
            changed,
            sent,
        }
    }

    /// The modem sends one NTB holding `datagrams`.
    pub fn receive(&self, datagrams: &[Vec<u8>]) {
        self.script
            .lock()
            .unwrap()
            .blocks
            .push_back(Ok(ntb(datagrams)));
        self.changed.notify_one();
    }

    /// Every datagram the pump has sent to the modem so far.
    pub fn sent_datagrams(&self) -> Vec<Vec<u8>> {
        self.sent
            .lock()
            .unwrap()
            .iter()
            .flat_map(|(_, block)| {
                Ntb::new_checked(block)
                    .unwrap()
                    .datagrams()
                    .map(|d| d.unwrap().data.to_vec())
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}
