//! Finding modems behind kernel drivers in sysfs: a tree laid out as the
//! kernel lays it out (class links into the device hierarchy, `driver`
//! links, `net/` directories, the device's raw `descriptors`), built in a
//! temporary directory; which modems the `[devices]` rules give to the
//! kernel manager; and which processes hold a port.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use mbim_sim::usb::descriptors::{DeviceIdentity, MbimFunctionParams, UsbDescriptors};
use mbimd::config::Config;
use mbimd::kernel::discovery::{holders, scan};
use mbimd::kernel::manager::modems_taken;
use mbimd::kernel::PortKind;
use std::collections::HashSet;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

/// A directory of one test, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "mbimd-kernel-discovery-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A USB modem at `1-1` with two MBIM functions: interface 0 bound to
/// cdc_mbim (cdc-wdm0, wwan0), interface 2 bound to cdc_mbim too (cdc-wdm1,
/// wwan1); and a cdc-wdm2 of another driver (qmi_wwan), not MBIM.
/// Returns the sysfs root.
fn usb_tree(root: &Path) -> PathBuf {
    let sys = root.join("sys");
    let device = sys.join("devices/pci0000:00/0000:00:14.0/usb1/1-1");
    write(&device.join("idVendor"), "1d6b\n");
    write(&device.join("idProduct"), "0104\n");
    write(&device.join("serial"), "SIM0001\n");
    write(&device.join("manufacturer"), "mbim-sim\n");
    write(&device.join("product"), "Simulated modem\n");
    write(&device.join("bConfigurationValue"), "1\n");
    let params = MbimFunctionParams {
        max_segment_size: 1428,
        ..MbimFunctionParams::default()
    };
    let descriptors = UsbDescriptors::build(&DeviceIdentity::default(), &[params, params]).unwrap();
    let mut raw = descriptors.device().to_vec();
    raw.extend_from_slice(descriptors.configuration());
    std::fs::write(device.join("descriptors"), raw).unwrap();
    let drivers = sys.join("bus/usb/drivers");
    std::fs::create_dir_all(drivers.join("cdc_mbim")).unwrap();
    std::fs::create_dir_all(drivers.join("qmi_wwan")).unwrap();
    for (interface, node, netdev, driver) in [
        ("1-1:1.0", "cdc-wdm0", "wwan0", "cdc_mbim"),
        ("1-1:1.2", "cdc-wdm1", "wwan1", "cdc_mbim"),
        ("1-1:1.4", "cdc-wdm2", "wwan2", "qmi_wwan"),
    ] {
        let dir = device.join(interface);
        let number = &interface[interface.len() - 1..];
        write(&dir.join("bInterfaceNumber"), &format!("0{number}\n"));
        symlink(drivers.join(driver), dir.join("driver")).unwrap();
        std::fs::create_dir_all(dir.join("net").join(netdev)).unwrap();
        let class_dir = dir.join("usbmisc").join(node);
        std::fs::create_dir_all(&class_dir).unwrap();
        symlink(&dir, class_dir.join("device")).unwrap();
        std::fs::create_dir_all(sys.join("class/usbmisc")).unwrap();
        symlink(&class_dir, sys.join("class/usbmisc").join(node)).unwrap();
    }
    sys
}

/// A PCIe modem at 0000:01:00.0 whose WWAN device wwan0 has an MBIM port
/// (wwan0mbim0), an AT port (wwan0at0) and the netdev wwan0.
fn wwan_tree(sys: &Path) {
    let pci = sys.join("devices/pci0000:00/0000:00:1c.0/0000:01:00.0");
    write(&pci.join("vendor"), "0x1eac\n");
    write(&pci.join("device"), "0x1001\n");
    let wwan = pci.join("mhi0/wwan/wwan0");
    std::fs::create_dir_all(wwan.join("net/wwan0")).unwrap();
    std::fs::create_dir_all(sys.join("class/wwan")).unwrap();
    for (port, kind) in [("wwan0mbim0", "MBIM"), ("wwan0at0", "AT")] {
        write(&wwan.join(port).join("type"), &format!("{kind}\n"));
        symlink(wwan.join(port), sys.join("class/wwan").join(port)).unwrap();
    }
    symlink(&wwan, sys.join("class/wwan/wwan0")).unwrap();
}

/// Name, kind, netdev, order, segment size.
type Summary = (String, PortKind, Option<String>, u32, Option<u16>);

#[test]
fn cdc_mbim_nodes_and_wwan_mbim_ports_are_found_with_their_netdevs() {
    let root = TempDir::new();
    let sys = usb_tree(root.path());
    wwan_tree(&sys);
    let found = scan(&sys);
    let summary: Vec<Summary> = found
        .iter()
        .map(|f| {
            (
                f.name.clone(),
                f.kind,
                f.netdev.clone(),
                f.order,
                f.max_segment_size,
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            // By sysfs path: the USB controller 0000:00:14.0 before the
            // PCIe port 0000:00:1c.0.
            (
                "cdc-wdm0".into(),
                PortKind::CdcWdm,
                Some("wwan0".into()),
                0,
                Some(1428)
            ),
            (
                "cdc-wdm1".into(),
                PortKind::CdcWdm,
                Some("wwan1".into()),
                2,
                Some(1428)
            ),
            (
                "wwan0mbim0".into(),
                PortKind::Wwan,
                Some("wwan0".into()),
                0,
                None
            ),
        ]
    );
    let usb = &found[0].modem;
    assert_eq!((usb.vid, usb.pid), (0x1d6b, 0x0104));
    assert_eq!(usb.path, "1-1");
    assert_eq!(usb.serial.as_deref(), Some("SIM0001"));
    assert_eq!(usb.model, "Simulated modem");
    assert!(usb.usb);
    assert_eq!(found[1].modem, *usb, "one device, one modem");
    let pci = &found[2].modem;
    assert_eq!((pci.vid, pci.pid), (0x1eac, 0x1001));
    assert_eq!(pci.path, "0000:01:00.0");
    assert!(!pci.usb);
}

#[test]
fn a_usb_modem_is_the_kernel_managers_only_with_transport_kernel() {
    let root = TempDir::new();
    let sys = usb_tree(root.path());
    wwan_tree(&sys);
    let taken = |text: &str| -> Vec<Vec<String>> {
        let config = Config::parse(text, Path::new("t.toml")).unwrap();
        modems_taken(scan(&sys), &config, &mut HashSet::new())
            .into_keys()
            .map(|(_, names)| names)
            .collect()
    };
    let usb = vec!["cdc-wdm0".to_owned(), "cdc-wdm1".to_owned()];
    let wwan = vec!["wwan0mbim0".to_owned()];
    // By default the usbfs manager takes the USB modem; WWAN is always here.
    assert_eq!(taken(""), vec![wwan.clone()]);
    assert_eq!(
        taken("[[devices.rules]]\ndevice = \"usb:1-1\"\ntransport = \"kernel\"\n"),
        vec![usb.clone(), wwan.clone()]
    );
    assert_eq!(
        taken("[[devices.rules]]\ndevice = \"1d6b:0104\"\ntransport = \"usbfs\"\n"),
        vec![wwan.clone()]
    );
    // Allow and deny lists apply to both kinds.
    assert_eq!(
        taken(
            "[devices]\ndeny = [\"1eac:1001\"]\n\n[[devices.rules]]\ndevice = \"usb:1-1\"\n\
             transport = \"kernel\"\n"
        ),
        vec![usb.clone()]
    );
    assert_eq!(
        taken("[devices]\nallow = [\"1d6b:0104\"]\n"),
        Vec::<Vec<String>>::new()
    );
}

#[test]
fn a_port_another_process_holds_is_reported_with_its_holder() {
    // This process holds a file open: seen from a "proc" tree in which a
    // second pid links to it, as /proc/PID/fd/N links to what it holds.
    let root = TempDir::new();
    let node = root.path().join("cdc-wdm0");
    std::fs::write(&node, "").unwrap();
    let proc = root.path().join("proc");
    let other = proc.join("4242");
    std::fs::create_dir_all(other.join("fd")).unwrap();
    write(&other.join("comm"), "ModemManager\n");
    symlink(&node, other.join("fd/7")).unwrap();
    let own = proc.join(std::process::id().to_string());
    std::fs::create_dir_all(own.join("fd")).unwrap();
    symlink(&node, own.join("fd/3")).unwrap();
    let idle = proc.join("4343");
    std::fs::create_dir_all(idle.join("fd")).unwrap();
    symlink("/dev/null", idle.join("fd/0")).unwrap();
    assert_eq!(
        holders(&proc, &node),
        vec![(4242, "ModemManager".to_owned())]
    );
    assert_eq!(holders(&proc, &root.path().join("cdc-wdm1")), vec![]);
    // The real /proc: nobody holds a path that does not exist.
    assert_eq!(
        holders(Path::new("/proc"), &root.path().join("none")),
        vec![]
    );
}
