//! A configuration the kernel or the network spoils in part is applied in
//! every other part, and the report says which parts did not make it.
//! Against the real kernel (TUN, rtnetlink, sysctls) in a network namespace
//! of each test's own (`netdev_support`); needs root and /dev/net/tun
//! (skipped, saying so, otherwise).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod netdev_support;

use mbimd::netdev::{DnsBackend, InterfaceName, Netdev, NetdevOptions, PartOutcome};
use mbimd::types::{IpSettings, Ipv4Prefix, Ipv6Prefix};
use netdev_support::{addresses, can_run, complete, dual_stack, ip, options, Netns};

#[test]
fn an_address_no_network_may_assign_is_refused_and_the_rest_applied() {
    if !can_run("an_address_no_network_may_assign_is_refused_and_the_rest_applied") {
        return;
    }
    let netns = Netns::new();
    netns.run(|ns| async move {
        let name = InterfaceName::new("mbimbad0").unwrap();
        let mut netdev = Netdev::create(name, options(Some(700))).await.unwrap();
        // The audit's device: a good IPv4 configuration beside an IPv6
        // address of ff02::1 (all nodes).
        let settings = IpSettings {
            ipv4_addresses: vec![Ipv4Prefix {
                address: "10.64.0.2".parse().unwrap(),
                prefix: 30,
            }],
            ipv4_gateway: Some("10.64.0.1".parse().unwrap()),
            ipv6_addresses: vec![Ipv6Prefix {
                address: "ff02::1".parse().unwrap(),
                prefix: 64,
            }],
            ..IpSettings::default()
        };
        let report = netdev.apply(&settings, 1500).await;

        assert_eq!(
            report.outcome_of("address ff02::1/64"),
            Some(&PartOutcome::Refused {
                reason: "a multicast address".to_owned()
            }),
            "{report:?}"
        );
        assert!(!report.is_complete());
        assert!(!report.worth_retrying(), "a refusal is not retried");
        // Everything else is there: the IPv4 address, the default route.
        assert_eq!(
            report.outcome_of("route 0.0.0.0/0 via 10.64.0.1 metric 700"),
            Some(&PartOutcome::Applied),
            "{report:?}"
        );
        assert_eq!(
            addresses(&ns, "-4", "mbimbad0"),
            vec![("10.64.0.2".to_owned(), 30)]
        );
        let routes = ip(&ns, &["-4", "route", "show", "default"]);
        assert_eq!(routes[0]["gateway"], "10.64.0.1", "{routes}");
        assert_eq!(routes[0]["metric"], 700, "{routes}");
        assert!(addresses(&ns, "-6", "mbimbad0").is_empty());
        let link = &ip(&ns, &["link", "show", "dev", "mbimbad0"])[0];
        assert!(link["flags"].as_array().unwrap().contains(&"UP".into()));
        netdev.teardown().await.unwrap();
    });
}

#[test]
fn a_part_the_kernel_refuses_keeps_none_of_the_others_back_and_is_applied_later() {
    if !can_run("a_part_the_kernel_refuses_keeps_none_of_the_others_back_and_is_applied_later") {
        return;
    }
    let netns = Netns::new();
    netns.run(|ns| async move {
        // DNS goes to a file in a directory that is not there yet.
        let directory = std::env::temp_dir().join(format!("{ns}-dns"));
        let _ = std::fs::remove_dir_all(&directory);
        let dns_file = directory.join("resolv.conf");
        let name = InterfaceName::new("mbimpart0").unwrap();
        let options = NetdevOptions {
            dns: DnsBackend::File(dns_file.clone()),
            ..options(Some(700))
        };
        let mut netdev = Netdev::create(name, options).await.unwrap();
        // IPv6 switched off on the device (by an admin, or a sysctl.d
        // rule): the kernel refuses its IPv6 addresses.
        let disable = "/proc/sys/net/ipv6/conf/mbimpart0/disable_ipv6";
        std::fs::write(disable, "1").unwrap();

        let settings = dual_stack();
        let report = netdev.apply(&settings, 1428).await;
        let failed = |part: &str| match report.outcome_of(part) {
            Some(PartOutcome::Failed { transient, .. }) => *transient,
            other => panic!("{part}: {other:?} in {report}"),
        };
        assert!(failed("address 2001:db8:1::1234/64"), "{report}");
        assert!(failed("dns"), "{report}");
        // The error keeps its cause: what the file system said.
        match report.outcome_of("dns") {
            Some(PartOutcome::Failed { error, .. }) => {
                assert!(error.contains("No such file or directory"), "{error}");
            }
            other => panic!("{other:?}"),
        }
        assert!(report.worth_retrying(), "{report}");
        // Every IPv4 part, and the link itself, went through all the same.
        for part in [
            "mtu 1428",
            "link up",
            "address 10.64.0.2/30",
            "route 0.0.0.0/0 via 10.64.0.1 metric 700",
        ] {
            assert_eq!(
                report.outcome_of(part),
                Some(&PartOutcome::Applied),
                "{part}: {report}"
            );
        }
        assert_eq!(
            addresses(&ns, "-4", "mbimpart0"),
            vec![("10.64.0.2".to_owned(), 30)]
        );
        let routes = ip(&ns, &["-4", "route", "show", "default"]);
        assert_eq!(routes[0]["gateway"], "10.64.0.1", "{routes}");

        // The causes pass: applying again completes the configuration.
        std::fs::write(disable, "0").unwrap();
        std::fs::create_dir_all(&directory).unwrap();
        complete(netdev.apply(&settings, 1428).await);
        assert!(addresses(&ns, "-6", "mbimpart0").contains(&("2001:db8:1::1234".to_owned(), 64)));
        assert!(std::fs::read_to_string(&dns_file)
            .unwrap()
            .contains("nameserver 10.64.0.53"));

        netdev.teardown().await.unwrap();
        assert!(!dns_file.exists());
        let _ = std::fs::remove_dir_all(&directory);
    });
}
