//! A kernel driver's network device as a session's link (`Netdev::adopt`):
//! configured exactly as mbimd's TUN device, and at teardown stripped of
//! what mbimd added and set down, never deleted.
//!
//! A veth device stands in for the driver's `wwan0` (the test machine's
//! kernel need not have cdc_mbim; the VM test `kernel` drives the real one).
//! Needs root; each test runs in a network namespace of its own.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod netdev_support;

use mbimd::netdev::{DnsBackend, InterfaceName, Netdev, NetdevOptions, Origin};
use mbimd_test_support::tools::IP;
use netdev_support::{addresses, can_run, complete, dual_stack, ip, options, sysctl, Netns};

/// `ip -n ns link add NAME type veth peer name PEER`: a device mbimd did not
/// make, as a kernel driver's is.
fn kernel_device(ns: &str, name: &str, peer: &str) {
    let status = IP
        .command()
        .args([
            "-n", ns, "link", "add", name, "type", "veth", "peer", "name", peer,
        ])
        .status()
        .unwrap();
    assert!(status.success(), "ip link add {name} type veth");
}

fn is_up(ns: &str, dev: &str) -> bool {
    let link = &ip(ns, &["link", "show", "dev", dev])[0];
    link["flags"].as_array().unwrap().contains(&"UP".into())
}

#[test]
fn an_adopted_device_is_configured_like_a_tun_and_left_in_place() {
    if !can_run("an_adopted_device_is_configured_like_a_tun_and_left_in_place") {
        return;
    }
    let netns = Netns::new();
    netns.run(|ns| async move {
        kernel_device(&ns, "wwan0", "wwanpeer0");
        let dns_file = std::env::temp_dir().join(format!("{ns}-resolv.conf"));
        let options = NetdevOptions {
            dns: DnsBackend::File(dns_file.clone()),
            ..options(Some(700))
        };
        let keys = ["addr_gen_mode", "accept_ra", "accept_ra_defrtr"];
        let before: Vec<String> = keys
            .iter()
            .map(|key| sysctl(&ns, &format!("net.ipv6.conf.wwan0.{key}")))
            .collect();
        let name = InterfaceName::new("wwan0").unwrap();
        let mut netdev = Netdev::adopt(name, options).await.unwrap();
        assert_eq!(netdev.origin(), Origin::Adopted);
        assert!(
            netdev.device().is_none(),
            "no TUN file: the driver carries data"
        );
        // Taken while down: the link-local address is the session's.
        assert_eq!(sysctl(&ns, "net.ipv6.conf.wwan0.addr_gen_mode"), "1");

        complete(netdev.apply(&dual_stack(), 1428).await);
        assert_eq!(ip(&ns, &["link", "show", "dev", "wwan0"])[0]["mtu"], 1428);
        assert!(is_up(&ns, "wwan0"));
        assert_eq!(
            addresses(&ns, "-4", "wwan0"),
            vec![("10.64.0.2".to_owned(), 30)]
        );
        assert_eq!(
            addresses(&ns, "-6", "wwan0"),
            vec![
                ("2001:db8:1::1234".to_owned(), 64),
                ("fe80::1234".to_owned(), 64),
            ]
        );
        let v4 = ip(&ns, &["-4", "route", "show", "default"]);
        assert_eq!(v4[0]["gateway"], "10.64.0.1", "{v4}");
        assert_eq!(v4[0]["dev"], "wwan0");
        assert_eq!(v4[0]["metric"], 700);
        assert!(std::fs::read_to_string(&dns_file)
            .unwrap()
            .contains("nameserver 10.64.0.53\n"));

        netdev.teardown().await.unwrap();
        // Still there, down, without mbimd's addresses, routes or DNS.
        assert!(!is_up(&ns, "wwan0"), "set down");
        assert_eq!(addresses(&ns, "-4", "wwan0"), vec![]);
        // IPv6: none of mbimd's; with addr_gen_mode as the driver had it,
        // the kernel makes its own link-local from the device's MAC again.
        let v6 = addresses(&ns, "-6", "wwan0");
        assert!(
            v6.iter()
                .all(|(address, _)| address.starts_with("fe80::") && address != "fe80::1234"),
            "{v6:?}"
        );
        let v4 = ip(&ns, &["-4", "route", "show", "default"]);
        assert_eq!(v4.as_array().unwrap().len(), 0, "{v4}");
        assert!(!dns_file.exists(), "the DNS file mbimd wrote is removed");
        // The IPv6 sysctls mbimd wrote are as the driver left them.
        let after: Vec<String> = keys
            .iter()
            .map(|key| sysctl(&ns, &format!("net.ipv6.conf.wwan0.{key}")))
            .collect();
        assert_eq!(after, before);
        assert_ne!(
            before[0], "1",
            "the test would not see addr_gen_mode restored"
        );
    });
}

#[test]
fn a_device_that_is_not_there_cannot_be_adopted() {
    if !can_run("a_device_that_is_not_there_cannot_be_adopted") {
        return;
    }
    let netns = Netns::new();
    netns.run(|_ns| async move {
        let name = InterfaceName::new("wwan9").unwrap();
        let error = Netdev::adopt(name, options(None)).await.unwrap_err();
        assert_eq!(error.to_string(), "network device wwan9 not found");
    });
}

#[test]
fn an_adopted_device_unplugged_before_teardown_is_no_error() {
    if !can_run("an_adopted_device_unplugged_before_teardown_is_no_error") {
        return;
    }
    let netns = Netns::new();
    netns.run(|ns| async move {
        kernel_device(&ns, "wwan0", "wwanpeer0");
        let name = InterfaceName::new("wwan0").unwrap();
        let mut netdev = Netdev::adopt(name, options(Some(700))).await.unwrap();
        complete(netdev.apply(&dual_stack(), 1500).await);
        // The driver's device vanishes with the modem.
        let status = IP
            .command()
            .args(["-n", &ns, "link", "del", "wwan0"])
            .status()
            .unwrap();
        assert!(status.success());
        netdev.teardown().await.unwrap();
    });
}
