//! The netdev against the real kernel: TUN device, rtnetlink, sysctls and
//! packets through the device.
//!
//! These tests need root and /dev/net/tun; without them each prints a `SKIP`
//! line and passes. They never touch the machine's own interfaces: each runs
//! in a network namespace of its own (`netdev_support`), and results are
//! checked with `ip -n <ns> -j …`.

// Test packets are a few dozen bytes: their lengths fit any field.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

mod netdev_support;

use mbimd_test_support::tools::IP;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use mbimd::datapath::{PacketDevice, TunDevice};
use mbimd::netdev::{DnsBackend, InterfaceName, Netdev, NetdevOptions, TunOptions};
use mbimd::types::{IpSettings, Ipv4Prefix};
use netdev_support::{
    addresses, can_run, complete, dual_stack, ip, options, sysctl, Monitor, Netns,
};

// ---------------------------------------------------------------- tests

#[test]
fn netdev_apply_update_teardown() {
    if !can_run("netdev_apply_update_teardown") {
        return;
    }
    let netns = Netns::new();
    netns.run(|ns| async move {
        let name = InterfaceName::new("mbimtest0").unwrap();
        // DNS into a file of the test's own, to see it follow the settings.
        let dns_file = std::env::temp_dir().join(format!("{ns}-resolv.conf"));
        let options = NetdevOptions {
            dns: DnsBackend::File(dns_file.clone()),
            ..options(Some(750))
        };
        let mut netdev = Netdev::create(name, options).await.unwrap();

        // Created down, no addresses.
        let link = &ip(&ns, &["-d", "link", "show", "dev", "mbimtest0"])[0];
        assert!(!link["flags"].as_array().unwrap().contains(&"UP".into()));
        let info = &link["linkinfo"]["info_data"];
        assert_eq!(info["type"], "tun", "{link}");
        assert_eq!(info["pi"], false, "IFF_NO_PI: {link}");
        assert_eq!(info["vnet_hdr"], false, "{link}");
        assert_eq!(info["multi_queue"], false, "{link}");
        assert_eq!(sysctl(&ns, "net.ipv6.conf.mbimtest0.addr_gen_mode"), "1");

        let settings = dual_stack();
        complete(netdev.apply(&settings, 1428).await);

        let link = &ip(&ns, &["link", "show", "dev", "mbimtest0"])[0];
        assert_eq!(link["mtu"], 1428);
        assert!(link["flags"].as_array().unwrap().contains(&"UP".into()));
        assert_eq!(
            addresses(&ns, "-4", "mbimtest0"),
            vec![("10.64.0.2".to_owned(), 30)]
        );
        assert_eq!(
            addresses(&ns, "-6", "mbimtest0"),
            vec![
                ("2001:db8:1::1234".to_owned(), 64),
                // The link-local address takes the network's identifier.
                ("fe80::1234".to_owned(), 64),
            ]
        );
        let v4 = ip(&ns, &["-4", "route", "show", "default"]);
        assert_eq!(v4.as_array().unwrap().len(), 1, "{v4}");
        assert_eq!(v4[0]["gateway"], "10.64.0.1");
        assert_eq!(v4[0]["dev"], "mbimtest0");
        assert_eq!(v4[0]["metric"], 750);
        let v6 = ip(&ns, &["-6", "route", "show", "default"]);
        assert_eq!(v6.as_array().unwrap().len(), 1, "{v6}");
        assert_eq!(v6[0]["gateway"], "2001:db8:1::1");
        assert_eq!(v6[0]["metric"], 750);
        assert_eq!(sysctl(&ns, "net.ipv6.conf.mbimtest0.accept_ra"), "0");
        assert_eq!(
            std::fs::read_to_string(&dns_file).unwrap(),
            "# Written by mbimd for mbimtest0; removed when the connection ends.\n\
             nameserver 10.64.0.53\nnameserver 2001:db8:1::53\n"
        );

        // Applying again, or an update that changes only DNS, touches
        // nothing: not one address, route or link event.
        let monitor = Monitor::start(&ns);
        complete(netdev.apply(&settings, 1428).await);
        let mut dns_only = settings.clone();
        dns_only.ipv4_dns = vec!["10.64.0.54".parse().unwrap()];
        dns_only.ipv6_dns.clear();
        complete(netdev.update(&dns_only, 1428).await);
        let events = monitor.finish();
        assert!(events.trim().is_empty(), "unexpected changes:\n{events}");
        assert!(std::fs::read_to_string(&dns_file)
            .unwrap()
            .ends_with("nameserver 10.64.0.54\n"));

        // A new IPv4 address and MTU: the old address goes, the new one and
        // the route are there, IPv6 untouched.
        let mut moved = dns_only.clone();
        moved.ipv4_addresses[0].address = "10.64.0.6".parse().unwrap();
        moved.ipv4_gateway = Some("10.64.0.5".parse().unwrap());
        complete(netdev.update(&moved, 1400).await);
        assert_eq!(
            addresses(&ns, "-4", "mbimtest0"),
            vec![("10.64.0.6".to_owned(), 30)]
        );
        let v4 = ip(&ns, &["-4", "route", "show", "default"]);
        assert_eq!(v4.as_array().unwrap().len(), 1, "{v4}");
        assert_eq!(v4[0]["gateway"], "10.64.0.5");
        assert_eq!(
            ip(&ns, &["link", "show", "dev", "mbimtest0"])[0]["mtu"],
            1400
        );
        assert_eq!(addresses(&ns, "-6", "mbimtest0").len(), 2);

        // IPv6 gone from the settings: its addresses and route go too.
        let mut v4_only = moved.clone();
        v4_only.ipv6_addresses.clear();
        v4_only.ipv6_gateway = None;
        complete(netdev.update(&v4_only, 1400).await);
        assert!(addresses(&ns, "-6", "mbimtest0").is_empty());
        assert!(ip(&ns, &["-6", "route", "show", "default"])
            .as_array()
            .unwrap()
            .is_empty());

        netdev.teardown().await.unwrap();
        assert!(!dns_file.exists(), "DNS file left behind");
        let links = ip(&ns, &["link", "show"]);
        let names: Vec<_> = links
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["ifname"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(names, vec!["lo"], "device left behind");
        assert!(ip(&ns, &["-4", "route", "show", "table", "all"])
            .as_array()
            .unwrap()
            .is_empty());
        assert!(ip(&ns, &["-6", "route", "show", "table", "all"])
            .as_array()
            .unwrap()
            .is_empty());
        assert!(ip(&ns, &["addr", "show"])
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["ifname"] == "lo"));
    });
}

#[test]
fn netdev_default_name_without_default_route() {
    if !can_run("netdev_default_name_without_default_route") {
        return;
    }
    let netns = Netns::new();
    netns.run(|ns| async move {
        let name = InterfaceName::default_for(3, 1);
        assert_eq!(name.as_str(), "mbim3e1");
        let mut netdev = Netdev::create(name, options(None)).await.unwrap();
        complete(netdev.apply(&dual_stack(), 1500).await);
        assert_eq!(
            addresses(&ns, "-4", "mbim3e1"),
            vec![("10.64.0.2".to_owned(), 30)]
        );
        for family in ["-4", "-6"] {
            let routes = ip(&ns, &[family, "route", "show", "default"]);
            assert!(routes.as_array().unwrap().is_empty(), "{routes}");
        }
        netdev.teardown().await.unwrap();
        assert!(ip(&ns, &["link", "show", "dev", "lo"]).is_array());
        let links = ip(&ns, &["link", "show"]);
        assert_eq!(links.as_array().unwrap().len(), 1, "{links}");
    });
}

/// An IPv6 router advertisement from fe80::1 to all nodes with one
/// autonomous /64 prefix.
fn router_advertisement(prefix: Ipv6Addr) -> Vec<u8> {
    let source: Ipv6Addr = "fe80::1".parse().unwrap();
    let destination: Ipv6Addr = "ff02::1".parse().unwrap();
    let mut icmp = vec![
        134, 0, 0, 0, // type RA, code, checksum
        64, 0, 0x07, 0x08, // hop limit, flags, router lifetime 1800 s
        0, 0, 0, 0, // reachable time
        0, 0, 0, 0, // retransmission timer
        3, 4, 64, 0xc0, // prefix information, 32 bytes, /64, on-link + autonomous
        0, 0, 0x0e, 0x10, // valid lifetime 3600 s
        0, 0, 0x0e, 0x10, // preferred lifetime 3600 s
        0, 0, 0, 0, // reserved
    ];
    icmp.extend_from_slice(&prefix.octets());
    let checksum = {
        let mut pseudo = Vec::new();
        pseudo.extend_from_slice(&source.octets());
        pseudo.extend_from_slice(&destination.octets());
        pseudo.extend_from_slice(&(icmp.len() as u32).to_be_bytes());
        pseudo.extend_from_slice(&[0, 0, 0, 58]);
        pseudo.extend_from_slice(&icmp);
        internet_checksum(&pseudo)
    };
    icmp[2..4].copy_from_slice(&checksum.to_be_bytes());
    let mut packet = vec![0x60, 0, 0, 0];
    packet.extend_from_slice(&(icmp.len() as u16).to_be_bytes());
    packet.extend_from_slice(&[58, 255]);
    packet.extend_from_slice(&source.octets());
    packet.extend_from_slice(&destination.octets());
    packet.extend_from_slice(&icmp);
    packet
}

fn internet_checksum(bytes: &[u8]) -> u16 {
    let mut sum = 0u32;
    for chunk in bytes.chunks(2) {
        let word = u16::from_be_bytes([chunk[0], *chunk.get(1).unwrap_or(&0)]);
        sum += u32::from(word);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[test]
fn netdev_slaac_from_router_advertisement() {
    if !can_run("netdev_slaac_from_router_advertisement") {
        return;
    }
    let netns = Netns::new();
    netns.run(|ns| async move {
        let name = InterfaceName::new("mbimra0").unwrap();
        let mut netdev = Netdev::create(name, options(Some(760))).await.unwrap();
        // IPv6 is there (a DNS server) but its prefix comes by RA.
        let settings = IpSettings {
            ipv6_dns: vec!["2001:db8:5::53".parse().unwrap()],
            ..IpSettings::default()
        };
        complete(netdev.apply(&settings, 1500).await);
        assert_eq!(
            addresses(&ns, "-6", "mbimra0"),
            vec![("fe80::200:0:0:abcd".to_owned(), 64)],
            "only our link-local, no kernel-made one"
        );
        assert_eq!(sysctl(&ns, "net.ipv6.conf.mbimra0.accept_ra"), "2");
        assert_eq!(sysctl(&ns, "net.ipv6.conf.mbimra0.addr_gen_mode"), "1");

        // The network's router advertises 2001:db8:5::/64.
        let device = TunDevice::register(netdev.device().unwrap()).unwrap();
        let ra = router_advertisement("2001:db8:5::".parse().unwrap());
        device.send(&ra).await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        // 2001:db8:5::200:0:0:abcd, as ip(8) compresses it.
        let slaac = ("2001:db8:5:0:200::abcd".to_owned(), 64);
        while !addresses(&ns, "-6", "mbimra0").contains(&slaac) {
            assert!(
                Instant::now() < deadline,
                "no SLAAC address: {:?}",
                addresses(&ns, "-6", "mbimra0")
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let routes = ip(&ns, &["-6", "route", "show", "default"]);
        assert_eq!(routes[0]["gateway"], "fe80::1", "{routes}");
        assert_eq!(routes[0]["protocol"], "ra", "{routes}");
        if std::path::Path::new("/proc/sys/net/ipv6/conf/mbimra0/ra_defrtr_metric").exists() {
            assert_eq!(routes[0]["metric"], 760, "{routes}");
        }

        // A DNS-only update keeps the kernel's SLAAC address.
        let mut dns_only = settings.clone();
        dns_only.ipv6_dns = vec!["2001:db8:5::54".parse().unwrap()];
        complete(netdev.update(&dns_only, 1500).await);
        assert!(addresses(&ns, "-6", "mbimra0").contains(&slaac));

        drop(device);
        netdev.teardown().await.unwrap();
        assert!(ip(&ns, &["-6", "route", "show", "table", "all"])
            .as_array()
            .unwrap()
            .is_empty());
    });
}

/// An IPv4 UDP packet (UDP checksum 0: optional in IPv4).
fn udp_packet(source: SocketAddr, destination: SocketAddr, payload: &[u8]) -> Vec<u8> {
    let (SocketAddr::V4(source), SocketAddr::V4(destination)) = (source, destination) else {
        panic!("IPv4 only");
    };
    let total = 20 + 8 + payload.len();
    let mut packet = vec![0x45, 0];
    packet.extend_from_slice(&(total as u16).to_be_bytes());
    packet.extend_from_slice(&[0, 1, 0x40, 0, 64, 17, 0, 0]);
    packet.extend_from_slice(&source.ip().octets());
    packet.extend_from_slice(&destination.ip().octets());
    let checksum = internet_checksum(&packet);
    packet[10..12].copy_from_slice(&checksum.to_be_bytes());
    packet.extend_from_slice(&source.port().to_be_bytes());
    packet.extend_from_slice(&destination.port().to_be_bytes());
    packet.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    packet.extend_from_slice(&[0, 0]);
    packet.extend_from_slice(payload);
    packet
}

#[test]
fn netdev_packets_both_ways() {
    if !can_run("netdev_packets_both_ways") {
        return;
    }
    let netns = Netns::new();
    netns.run(|_ns| async move {
        let name = InterfaceName::new("mbimpkt0").unwrap();
        let mut netdev = Netdev::create(name, options(Some(700))).await.unwrap();
        complete(netdev.apply(&dual_stack(), 1500).await);
        let device = TunDevice::register(netdev.device().unwrap()).unwrap();

        let local: SocketAddr = "10.64.0.2:5555".parse().unwrap();
        let remote: SocketAddr = "198.51.100.7:4444".parse().unwrap();
        let socket = UdpSocket::bind(local).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();

        // Network → host: what the data path writes into the TUN device
        // reaches a socket in the namespace.
        device
            .send(&udp_packet(remote, local, b"from the network"))
            .await
            .unwrap();
        let mut buf = [0u8; 2048];
        let (n, from) = socket.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"from the network");
        assert_eq!(from, remote);

        // Host → network: a datagram routed by the default route comes out of
        // the TUN device for the data path.
        socket.send_to(b"to the network", remote).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let n = tokio::time::timeout(left, device.recv(&mut buf))
                .await
                .expect("no packet from the TUN device")
                .unwrap();
            let packet = &buf[..n];
            // Skip IPv6 neighbour/router solicitations and the like.
            if packet[0] >> 4 != 4 || packet[9] != 17 {
                continue;
            }
            assert_eq!(
                Ipv4Addr::from(<[u8; 4]>::try_from(&packet[12..16]).unwrap()),
                Ipv4Addr::new(10, 64, 0, 2)
            );
            assert_eq!(
                Ipv4Addr::from(<[u8; 4]>::try_from(&packet[16..20]).unwrap()),
                Ipv4Addr::new(198, 51, 100, 7)
            );
            assert_eq!(u16::from_be_bytes([packet[22], packet[23]]), 4444);
            assert_eq!(&packet[28..], b"to the network");
            break;
        }

        // Teardown while the data path still holds the device: it goes anyway.
        netdev.teardown().await.unwrap();
        let output = IP
            .command()
            .args(["link", "show", "dev", "mbimpkt0"])
            .output()
            .unwrap();
        assert!(!output.status.success(), "device still there");
        drop(device);
    });
}

#[test]
fn netdev_host_address_with_gateway_outside_its_prefix() {
    if !can_run("netdev_host_address_with_gateway_outside_its_prefix") {
        return;
    }
    let netns = Netns::new();
    netns.run(|ns| async move {
        let name = InterfaceName::new("mbimhost0").unwrap();
        let mut netdev = Netdev::create(name, options(Some(700))).await.unwrap();
        // A /32 with a gateway it does not contain, as some networks give.
        let settings = IpSettings {
            ipv4_addresses: vec![Ipv4Prefix {
                address: "100.64.7.9".parse().unwrap(),
                prefix: 32,
            }],
            ipv4_gateway: Some("100.64.7.1".parse().unwrap()),
            ..IpSettings::default()
        };
        complete(netdev.apply(&settings, 1500).await);
        let routes = ip(&ns, &["-4", "route", "show", "default"]);
        assert_eq!(routes[0]["gateway"], "100.64.7.1", "{routes}");
        assert!(
            routes[0]["flags"]
                .as_array()
                .unwrap()
                .contains(&"onlink".into()),
            "{routes}"
        );
        // No IPv6 at all: no link-local either.
        assert!(addresses(&ns, "-6", "mbimhost0").is_empty());

        // Link down and up again (a session that drops and comes back).
        netdev.set_up(false).await.unwrap();
        let link = &ip(&ns, &["link", "show", "dev", "mbimhost0"])[0];
        assert!(!link["flags"].as_array().unwrap().contains(&"UP".into()));
        complete(netdev.apply(&settings, 1500).await);
        let routes = ip(&ns, &["-4", "route", "show", "default"]);
        assert_eq!(routes.as_array().unwrap().len(), 1, "{routes}");
        netdev.teardown().await.unwrap();
    });
}

#[test]
fn netdev_multi_queue_device() {
    if !can_run("netdev_multi_queue_device") {
        return;
    }
    let netns = Netns::new();
    netns.run(|ns| async move {
        let name = InterfaceName::new("mbimmq0").unwrap();
        let options = NetdevOptions {
            tun: TunOptions {
                multi_queue: true,
                offload: false,
            },
            ..options(Some(700))
        };
        let netdev = Netdev::create(name, options).await.unwrap();
        let link = &ip(&ns, &["-d", "link", "show", "dev", "mbimmq0"])[0];
        assert_eq!(link["linkinfo"]["info_data"]["multi_queue"], true, "{link}");
        // A second queue for a second data-path worker.
        let second = netdev.device().unwrap().try_clone().unwrap();
        drop(second);
        netdev.teardown().await.unwrap();
    });
}

#[test]
fn netdev_offload_device_and_name_clash() {
    if !can_run("netdev_offload_device_and_name_clash") {
        return;
    }
    let netns = Netns::new();
    netns.run(|ns| async move {
        let name = InterfaceName::new("mbimoff0").unwrap();
        let options = NetdevOptions {
            tun: TunOptions {
                multi_queue: false,
                offload: true,
            },
            ..options(Some(700))
        };
        let netdev = Netdev::create(name.clone(), options).await.unwrap();
        let link = &ip(&ns, &["-d", "link", "show", "dev", "mbimoff0"])[0];
        assert_eq!(link["linkinfo"]["info_data"]["vnet_hdr"], true, "{link}");

        // The name is taken: the error says which device and keeps the cause.
        let error = Netdev::create(name, self::options(Some(700)))
            .await
            .unwrap_err();
        assert!(error.to_string().contains("mbimoff0"), "{error}");
        assert!(std::error::Error::source(&error).is_some(), "{error:?}");

        netdev.teardown().await.unwrap();
        assert_eq!(ip(&ns, &["link", "show"]).as_array().unwrap().len(), 1);
    });
}

fn assert_send<T: Send>(_: &T) {}

/// Compiled, never run: the executor spawns these on a multi-threaded
/// runtime, so they must be `Send`.
fn netdev_futures_are_send(netdev: &mut Netdev, settings: &IpSettings) {
    assert_send(&Netdev::create(
        InterfaceName::default_for(0, 0),
        NetdevOptions::default(),
    ));
    assert_send(&netdev.apply(settings, 1500));
    assert_send(&netdev.update(settings, 1500));
    assert_send(&netdev.set_up(true));
}

#[test]
fn netdev_is_send() {
    let _ = netdev_futures_are_send as fn(&mut Netdev, &IpSettings);
    fn teardown_is_send(netdev: Netdev) {
        assert_send(&netdev.teardown());
    }
    let _ = teardown_is_send as fn(Netdev);
    fn device_is_shareable<T: Send + Sync>(_: &T) {}
    let _ = |netdev: &Netdev| device_is_shareable(&netdev.device().unwrap());
}
