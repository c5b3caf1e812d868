//! Which MBIM ports kernel drivers offer, found in sysfs: cdc-wdm nodes
//! (`usbmisc` class) whose interface cdc_mbim drives, and `wwan` class
//! ports of type MBIM. Each comes with its network device, found through
//! sysfs too (the USB interface's `net/` directory; the WWAN device's), and
//! the identity the configuration's `[devices]` rules match.
//!
//! Nothing is opened here: [`scan`] reads directories and attributes under
//! a sysfs root (a tree of plain files in tests).

use super::PortKind;
use crate::config::DeviceIdentity;
use std::path::{Path, PathBuf};

/// One MBIM port a kernel driver offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelFunction {
    /// The node's name (`cdc-wdm0`, `wwan0mbim0`).
    pub name: String,
    /// Which driver offers it.
    pub kind: PortKind,
    /// The driver's network device carrying its data (`wwan0`), if sysfs
    /// shows one.
    pub netdev: Option<String>,
    /// The modem it belongs to (its ports are one modem's executors).
    pub modem: ModemIdentity,
    /// Orders the ports of one modem: the USB interface number (the
    /// executor order until the device reports its own).
    pub order: u32,
    /// wMaxSegmentSize from the function's MBIM descriptor, where sysfs
    /// has the descriptors (USB).
    pub max_segment_size: Option<u16>,
}

/// What identifies a modem behind a kernel driver.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModemIdentity {
    /// The device's sysfs directory (canonical): the key of the modem.
    pub sysfs: PathBuf,
    /// idVendor (USB) or vendor (PCI).
    pub vid: u16,
    /// idProduct (USB) or device (PCI).
    pub pid: u16,
    /// The kernel's name of the device: the USB port path (`1-1.2`) or the
    /// PCI address (`0000:01:00.0`), matched by `usb:` rules.
    pub path: String,
    /// iSerialNumber (USB), if any.
    pub serial: Option<String>,
    /// iManufacturer (USB), if any.
    pub manufacturer: String,
    /// iProduct (USB), if any.
    pub model: String,
    /// Whether the device is on USB (the `transport` rules apply) or not
    /// (PCIe WWAN: always the kernel's driver).
    pub usb: bool,
}

impl ModemIdentity {
    /// As the configuration's matching rules take it.
    pub fn as_identity(&self) -> DeviceIdentity<'_> {
        DeviceIdentity {
            vid: self.vid,
            pid: self.pid,
            usb_path: &self.path,
            serial: self.serial.as_deref(),
        }
    }
}

/// The MBIM ports kernel drivers offer under the sysfs root `sys`
/// (`/sys`), in a stable order (modem, then port order).
pub fn scan(sys: &Path) -> Vec<KernelFunction> {
    let mut found: Vec<KernelFunction> = entries(&sys.join("class/usbmisc"))
        .into_iter()
        .filter_map(|name| cdc_wdm(sys, &name))
        .chain(
            entries(&sys.join("class/wwan"))
                .into_iter()
                .filter_map(|name| wwan_port(sys, &name)),
        )
        .collect();
    found.sort_by(|a, b| {
        (&a.modem.sysfs, a.order, &a.name).cmp(&(&b.modem.sysfs, b.order, &b.name))
    });
    found
}

/// A cdc-wdm node whose interface cdc_mbim drives.
fn cdc_wdm(sys: &Path, name: &str) -> Option<KernelFunction> {
    if !name.starts_with("cdc-wdm") {
        return None;
    }
    let interface =
        std::fs::canonicalize(sys.join("class/usbmisc").join(name).join("device")).ok()?;
    if driver(&interface)? != "cdc_mbim" {
        return None;
    }
    let device = interface.parent()?.to_path_buf();
    let number = hex_attribute(&interface, "bInterfaceNumber")?;
    let modem = usb_identity(&device)?;
    Some(KernelFunction {
        name: name.to_owned(),
        kind: PortKind::CdcWdm,
        netdev: first_entry(&interface.join("net")),
        max_segment_size: segment_size(&device, u8::try_from(number).ok()?),
        order: number,
        modem,
    })
}

/// A WWAN port of type MBIM; its modem is the nearest USB or PCI device
/// above the WWAN device.
fn wwan_port(sys: &Path, name: &str) -> Option<KernelFunction> {
    let port = std::fs::canonicalize(sys.join("class/wwan").join(name)).ok()?;
    if attribute(&port, "type")? != "MBIM" {
        return None;
    }
    let wwan = port.parent()?.to_path_buf();
    let bus_device = wwan
        .ancestors()
        .skip(1)
        .find(|dir| dir.join("idVendor").exists() || dir.join("vendor").exists())?;
    let modem = if bus_device.join("idVendor").exists() {
        usb_identity(bus_device)?
    } else {
        ModemIdentity {
            sysfs: bus_device.to_path_buf(),
            vid: hex_attribute(bus_device, "vendor").and_then(|v| u16::try_from(v).ok())?,
            pid: hex_attribute(bus_device, "device").and_then(|v| u16::try_from(v).ok())?,
            path: bus_device.file_name()?.to_string_lossy().into_owned(),
            serial: None,
            manufacturer: String::new(),
            model: String::new(),
            usb: false,
        }
    };
    // wwan0mbim0: the port's number within its WWAN device.
    let order = name
        .rsplit(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|digits| digits.parse().ok())
        .unwrap_or(0);
    Some(KernelFunction {
        name: name.to_owned(),
        kind: PortKind::Wwan,
        netdev: first_entry(&wwan.join("net")),
        max_segment_size: None,
        order,
        modem: ModemIdentity {
            // The WWAN device is the modem (a PCI function has one).
            sysfs: wwan.clone(),
            ..modem
        },
    })
}

/// The identity of the USB device in `device` (its sysfs directory).
fn usb_identity(device: &Path) -> Option<ModemIdentity> {
    Some(ModemIdentity {
        sysfs: device.to_path_buf(),
        vid: hex_attribute(device, "idVendor").and_then(|v| u16::try_from(v).ok())?,
        pid: hex_attribute(device, "idProduct").and_then(|v| u16::try_from(v).ok())?,
        path: device.file_name()?.to_string_lossy().into_owned(),
        serial: attribute(device, "serial"),
        manufacturer: attribute(device, "manufacturer").unwrap_or_default(),
        model: attribute(device, "product").unwrap_or_default(),
        usb: true,
    })
}

/// wMaxSegmentSize of the MBIM function whose communication interface is
/// `interface`, from the active configuration in the device's
/// `descriptors` (the device descriptor, then every configuration's).
fn segment_size(device: &Path, interface: u8) -> Option<u16> {
    let bytes = std::fs::read(device.join("descriptors")).ok()?;
    let active = u8::try_from(hex_or_decimal(
        &attribute(device, "bConfigurationValue")?,
        10,
    )?)
    .ok()?;
    let mut offset = 18usize;
    while let Some(header) = bytes.get(offset..offset.checked_add(6)?) {
        let total = usize::from(u16::from_le_bytes([*header.get(2)?, *header.get(3)?]));
        if total < 9 {
            return None;
        }
        let config = bytes.get(offset..offset.checked_add(total)?)?;
        if header.get(5) == Some(&active) {
            let functions = crate::usb::discovery::usable_functions(config).ok()?;
            return functions
                .iter()
                .find(|function| function.comm_interface() == interface)
                .and_then(|function| function.mbim())
                .map(|mbim| mbim.max_segment_size);
        }
        offset = offset.checked_add(total)?;
    }
    None
}

/// The name of the driver bound to the sysfs device `dir`.
fn driver(dir: &Path) -> Option<String> {
    let target = std::fs::read_link(dir.join("driver")).ok()?;
    Some(target.file_name()?.to_string_lossy().into_owned())
}

/// A sysfs attribute, trimmed.
fn attribute(dir: &Path, name: &str) -> Option<String> {
    let text = std::fs::read_to_string(dir.join(name)).ok()?;
    Some(text.trim().to_owned())
}

/// A hexadecimal sysfs attribute (`0bdb`, `0x8086`, `00`).
fn hex_attribute(dir: &Path, name: &str) -> Option<u32> {
    hex_or_decimal(&attribute(dir, name)?, 16)
}

fn hex_or_decimal(text: &str, radix: u32) -> Option<u32> {
    let text = text.trim();
    let text = text.strip_prefix("0x").unwrap_or(text);
    u32::from_str_radix(text, radix).ok()
}

/// The names in a directory, sorted (none if it is not there).
fn entries(dir: &Path) -> Vec<String> {
    let Ok(read) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = read
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The first name in a directory (a `net/` directory holds one device).
fn first_entry(dir: &Path) -> Option<String> {
    entries(dir).into_iter().next()
}

/// The processes other than this one that hold `node` open, as
/// `(pid, command name)`: a port another manager (ModemManager, an
/// mbim-proxy) holds is not opened, since two hosts on one MBIM function
/// confuse both.
pub fn holders(proc: &Path, node: &Path) -> Vec<(u32, String)> {
    let own = std::process::id();
    let mut found = Vec::new();
    for pid in entries(proc) {
        let Ok(number) = pid.parse::<u32>() else {
            continue;
        };
        if number == own {
            continue;
        }
        let fds = proc.join(&pid).join("fd");
        let holds = entries(&fds)
            .iter()
            .any(|fd| std::fs::read_link(fds.join(fd)).is_ok_and(|target| target == node));
        if holds {
            let name = attribute(&proc.join(&pid), "comm").unwrap_or_default();
            found.push((number, name));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysfs_numbers_parse_as_the_kernel_writes_them() {
        assert_eq!(hex_or_decimal("0bdb\n", 16), Some(0x0bdb));
        assert_eq!(hex_or_decimal("0x8086", 16), Some(0x8086));
        assert_eq!(hex_or_decimal("1", 10), Some(1));
        assert_eq!(hex_or_decimal("zz", 16), None);
    }
}
