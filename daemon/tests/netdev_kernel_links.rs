//! The links a kernel driver offers further sessions on, made with
//! rtnetlink: an 802.1Q VLAN link on cdc_mbim's device (VLAN id = session
//! id) and a WWAN link (`type wwan linkid N`) on a WWAN device. Each is
//! configured as mbimd's own devices are, and deleted at teardown while
//! the device under it stays.
//!
//! Needs root; runs in a network namespace of its own, a veth standing in
//! for cdc_mbim's `wwan0`. A kernel without 802.1Q support, or without a
//! WWAN device that accepts links (the kernel's `wwan_hwsim` registers
//! ports but no link operations), makes the test say SKIP and why; the VM
//! test `kernel` makes VLAN links on the real cdc_mbim.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod netdev_support;

use mbimd::netdev::{InterfaceName, Netdev, NetdevError, Origin};
use mbimd_test_support::tools::IP;
use netdev_support::{addresses, can_run, complete, dual_stack, ip, options, Netns};

/// Whether `error` is the kernel saying it has no such link type.
fn unsupported(error: &NetdevError) -> bool {
    let text = format!("{error:?}");
    // EOPNOTSUPP (95) from rtnl_newlink without the kind's module.
    text.contains("95") || text.contains("Operation not supported")
}

#[test]
fn a_vlan_link_carries_a_further_session_and_goes_at_teardown() {
    if !can_run("a_vlan_link_carries_a_further_session_and_goes_at_teardown") {
        return;
    }
    let netns = Netns::new();
    netns.run(|ns| async move {
        let status = IP
            .command()
            .args([
                "-n", &ns, "link", "add", "wwan0", "type", "veth", "peer", "name", "peer0",
            ])
            .status()
            .unwrap();
        assert!(status.success());
        let base = InterfaceName::new("wwan0").unwrap();
        let name = InterfaceName::new("wwan0.1").unwrap();
        let mut netdev = match Netdev::create_vlan(name, &base, 1, options(None)).await {
            Ok(netdev) => netdev,
            Err(error) if unsupported(&error) => {
                println!(
                    "SKIP a_vlan_link_carries_a_further_session_and_goes_at_teardown: this \
                     kernel has no 802.1Q VLAN support (module 8021q): {error:?}"
                );
                return;
            }
            Err(error) => panic!("{error:?}"),
        };
        assert_eq!(netdev.origin(), Origin::Created);
        let link = &ip(&ns, &["-d", "link", "show", "dev", "wwan0.1"])[0];
        let info = &link["linkinfo"]["info_data"];
        assert_eq!(link["linkinfo"]["info_kind"], "vlan", "{link}");
        assert_eq!(info["id"], 1, "VLAN id = session id: {link}");
        assert_eq!(info["protocol"], "802.1Q", "{link}");
        assert_eq!(link["link"], "wwan0", "{link}");
        let flags = link["flags"].as_array().unwrap();
        assert!(flags.contains(&"NOARP".into()), "IP only, no ARP: {link}");

        let mut settings = dual_stack();
        settings.ipv4_addresses[0].address = "10.64.0.6".parse().unwrap();
        settings.ipv4_gateway = Some("10.64.0.5".parse().unwrap());
        complete(netdev.apply(&settings, 1400).await);
        assert_eq!(
            addresses(&ns, "-4", "wwan0.1"),
            vec![("10.64.0.6".to_owned(), 30)]
        );

        // Left behind by a killed mbimd: made again, not refused.
        let again = Netdev::create_vlan(
            InterfaceName::new("wwan0.1").unwrap(),
            &base,
            1,
            options(None),
        )
        .await
        .unwrap();
        assert_eq!(addresses(&ns, "-4", "wwan0.1"), vec![]);
        again.teardown().await.unwrap();
        drop(netdev);

        let vlans = ip(&ns, &["link", "show", "type", "vlan"]);
        assert_eq!(vlans.as_array().unwrap().len(), 0, "{vlans}");
        assert_eq!(
            ip(&ns, &["link", "show", "dev", "wwan0"])
                .as_array()
                .unwrap()
                .len(),
            1
        );
    });
}

#[test]
fn a_wwan_link_is_made_on_a_wwan_device_that_accepts_links() {
    let test = "a_wwan_link_is_made_on_a_wwan_device_that_accepts_links";
    if !can_run(test) {
        return;
    }
    // WWAN devices live in the initial namespace; wwan_hwsim makes
    // wwan0, wwan1… when loaded (`modprobe wwan_hwsim devices=1`).
    let _ = std::process::Command::new("modprobe")
        .args(["wwan_hwsim", "devices=1"])
        .status();
    let Some(device) = std::fs::read_dir("/sys/class/wwan")
        .ok()
        .and_then(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .find(|name| {
                    !name.contains("at") && !name.contains("mbim") && !name.contains("qmi")
                })
        })
    else {
        println!(
            "SKIP {test}: no WWAN device (/sys/class/wwan is empty or missing: the kernel's \
             wwan_hwsim module is not there or cannot be loaded here)"
        );
        return;
    };
    let netns = Netns::new();
    netns.run(move |ns| async move {
        let name = InterfaceName::new("wwantest1").unwrap();
        match Netdev::create_wwan_link(name, &device, 1, options(None)).await {
            Ok(netdev) => {
                let link = &ip(&ns, &["-d", "link", "show", "dev", "wwantest1"])[0];
                assert_eq!(link["linkinfo"]["info_kind"], "wwan", "{link}");
                netdev.teardown().await.unwrap();
                assert_eq!(
                    ip(&ns, &["link", "show", "type", "wwan"])
                        .as_array()
                        .unwrap()
                        .len(),
                    0
                );
            }
            Err(error) if unsupported(&error) => println!(
                "SKIP {test}: the WWAN device {device} accepts no links (wwan_hwsim registers \
                 ports without link operations): {error:?}"
            ),
            Err(error) => panic!("{error:?}"),
        }
    });
}
