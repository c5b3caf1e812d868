//! Which USB devices are MBIM modems, and claiming their functions.
//!
//! A device is a candidate when one of its interfaces (as sysfs lists them,
//! without opening it) is a communication interface of subclass MBIM or NCM;
//! the configuration's `[devices]` rules are applied to its identity before
//! it is opened, so a device mbimd does not take is never touched. The
//! opened device's active configuration descriptor then says which MBIM
//! functions it has ([`find_mbim_functions`]).

use super::data::DataHandle;
use super::function::{FunctionEndpoints, NusbFunction};
use super::usbfs::{device_node, DataEndpoints, DataInterface};
use super::UsbError;
use crate::config::{DeviceIdentity, Devices};
use crate::logging::chain;
use crate::supervisor::{FunctionSpec, ModemSpec};
use mbim_protocol::descriptors::{
    find_mbim_functions, MbimFunction, CLASS_COMMUNICATION, SUBCLASS_MBIM, SUBCLASS_NCM,
};
use nusb::DeviceInfo;
use std::sync::Arc;

/// What identifies a USB device to the configuration's rules.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UsbIdentity {
    /// idVendor.
    pub vid: u16,
    /// idProduct.
    pub pid: u16,
    /// The port path, as the kernel names the device in sysfs (`1-1.2`).
    pub usb_path: String,
    /// iSerialNumber, if the device has one.
    pub serial: Option<String>,
}

impl UsbIdentity {
    /// The identity of a listed device.
    pub fn of(info: &DeviceInfo) -> Self {
        UsbIdentity {
            vid: info.vendor_id(),
            pid: info.product_id(),
            usb_path: port_path(info.busnum(), info.port_chain()),
            serial: info.serial_number().map(str::to_owned),
        }
    }

    /// As the configuration's matching rules take it.
    pub fn as_identity(&self) -> DeviceIdentity<'_> {
        DeviceIdentity {
            vid: self.vid,
            pid: self.pid,
            usb_path: &self.usb_path,
            serial: self.serial.as_deref(),
        }
    }
}

/// The kernel's name of a USB device: `<bus>-<port>[.<port>…]`, the form
/// `usb:` rules in the configuration use; `usb<bus>` for a root hub.
pub fn port_path(bus: u8, ports: &[u8]) -> String {
    let mut ports = ports.iter();
    let Some(first) = ports.next() else {
        return format!("usb{bus}");
    };
    let mut path = format!("{bus}-{first}");
    for port in ports {
        path.push('.');
        path.push_str(&port.to_string());
    }
    path
}

/// Whether an interface class/subclass pair can belong to an MBIM function:
/// plain MBIM, or NCM (whose function may offer MBIM as an alternate
/// setting).
pub fn may_be_mbim(class: u8, subclass: u8) -> bool {
    class == CLASS_COMMUNICATION && (subclass == SUBCLASS_MBIM || subclass == SUBCLASS_NCM)
}

/// A USB device mbimd takes, with its MBIM functions.
#[derive(Debug, Clone)]
pub struct MbimDevice {
    /// What nusb listed.
    pub info: DeviceInfo,
    /// Its identity.
    pub identity: UsbIdentity,
}

/// The devices present now that look like MBIM modems and that `devices`
/// takes. Nothing is opened: the candidates are recognised from sysfs.
pub async fn find_mbim_devices(devices: &Devices) -> Result<Vec<MbimDevice>, UsbError> {
    let listed = nusb::list_devices().await.map_err(UsbError::List)?;
    Ok(listed.filter_map(|info| candidate(info, devices)).collect())
}

/// `info` as a device mbimd takes, if it is an MBIM candidate and the rules
/// take it.
pub fn candidate(info: DeviceInfo, devices: &Devices) -> Option<MbimDevice> {
    if !info
        .interfaces()
        .any(|interface| may_be_mbim(interface.class(), interface.subclass()))
    {
        return None;
    }
    let identity = UsbIdentity::of(&info);
    if !devices.takes(&identity.as_identity()) {
        tracing::info!(
            "USB device {} ({:04x}:{:04x}) is not taken (the [devices] rules)",
            identity.usb_path,
            identity.vid,
            identity.pid
        );
        return None;
    }
    if devices.transport_of(&identity.as_identity()) == crate::config::Transport::Kernel {
        tracing::info!(
            "USB device {} ({:04x}:{:04x}) is left to the kernel's cdc_mbim (transport = \"kernel\"): \
             mbimd drives it through its cdc-wdm node",
            identity.usb_path,
            identity.vid,
            identity.pid
        );
        return None;
    }
    Some(MbimDevice { info, identity })
}

/// The usable MBIM functions of a configuration descriptor, in the order of
/// their communication interfaces (the executor order until the device's
/// own executor index is known).
pub fn usable_functions(config: &[u8]) -> Result<Vec<MbimFunction>, String> {
    let functions = find_mbim_functions(config).map_err(|error| chain(&error).to_string())?;
    Ok(functions
        .into_iter()
        .filter(MbimFunction::is_usable)
        .collect())
}

/// What a function's transport needs from its descriptors, if it has it all.
pub fn function_endpoints(function: &MbimFunction) -> Option<FunctionEndpoints> {
    let notification = function.notification.as_ref()?;
    let data = function.mbim_data_setting()?;
    let bulk_in = data.bulk_in.as_ref()?;
    let bulk_out = data.bulk_out.as_ref()?;
    Some(FunctionEndpoints {
        notification: notification.address,
        notification_packet_size: notification.max_packet_size & 0x07FF,
        data_mbim_setting: data.interface.alternate_setting,
        bulk_in: bulk_in.address,
        bulk_out: bulk_out.address,
        bulk_in_packet_size: bulk_in.max_packet_size,
        bulk_out_packet_size: bulk_out.max_packet_size,
    })
}

/// The data interface claimed on a usbfs descriptor of mbimd's own, so its
/// bulk completions are reaped on the pump's thread (the `usbfs` module);
/// `None`, with the reason logged, when that cannot be done: nusb claims
/// it then, as it does the communication interface.
async fn claim_own_data_interface(
    device: &MbimDevice,
    number: u8,
    endpoints: &FunctionEndpoints,
) -> Option<DataHandle> {
    let node = device_node(device.info.busnum(), device.info.device_address());
    let endpoints = DataEndpoints {
        bulk_in: endpoints.bulk_in,
        bulk_in_packet_size: endpoints.bulk_in_packet_size,
        bulk_out: endpoints.bulk_out,
        bulk_out_packet_size: endpoints.bulk_out_packet_size,
    };
    let claim = tokio::task::spawn_blocking(move || DataInterface::claim(&node, number, endpoints));
    match claim.await {
        Ok(Ok(interface)) => Some(DataHandle::Usbfs(Arc::new(interface))),
        Ok(Err(error)) => {
            tracing::warn!(
                "USB device {}: data interface {number} through nusb instead of mbimd's own usbfs descriptor: {}",
                device.identity.usb_path,
                chain(&error)
            );
            None
        }
        Err(error) => {
            tracing::warn!(
                "USB device {}: data interface {number} through nusb: claiming it on mbimd's own descriptor did not finish: {error}",
                device.identity.usb_path
            );
            None
        }
    }
}

/// A modem with its functions claimed, ready for
/// [`crate::supervisor::supervise`].
#[derive(Debug)]
pub struct OpenedModem {
    /// The modem as the supervisor names it.
    pub spec: ModemSpec,
    /// Its functions, in executor order.
    pub functions: Vec<FunctionSpec<NusbFunction>>,
}

/// Opens `device` and claims every usable MBIM function: communication and
/// data interfaces, detaching the kernel's driver (cdc_mbim) from them,
/// with the communication interface at its MBIM setting and the data
/// interface at setting 0 (no data pipes until a session connects).
/// `index` is mbimd's number for the modem (interface names).
pub async fn open_modem(device: &MbimDevice, index: u32) -> Result<OpenedModem, UsbError> {
    let path = device.identity.usb_path.clone();
    let opened = device.info.open().await.map_err(|source| UsbError::Open {
        path: path.clone(),
        source,
    })?;
    let config_error = |reason: String| UsbError::Configuration {
        path: path.clone(),
        reason,
    };
    let functions = {
        let configuration = opened
            .active_configuration()
            .map_err(|error| config_error(chain(&error).to_string()))?;
        usable_functions(configuration.as_bytes()).map_err(config_error)?
    };
    if functions.is_empty() {
        return Err(config_error(
            "no usable MBIM function in the active configuration".to_owned(),
        ));
    }
    let mut specs = Vec::new();
    for function in &functions {
        let (Some(endpoints), Some(data_number), Some(mbim)) = (
            function_endpoints(function),
            function.data_interface,
            function.mbim(),
        ) else {
            continue;
        };
        let comm_number = function.comm_interface();
        let interface_error = |interface: u8, what: &'static str| {
            let path = path.clone();
            move |source| UsbError::Interface {
                path,
                interface,
                what,
                source,
            }
        };
        let comm = opened
            .detach_and_claim_interface(comm_number)
            .await
            .map_err(interface_error(comm_number, "claiming"))?;
        if function.comm.alternate_setting != 0 {
            comm.set_alt_setting(function.comm.alternate_setting)
                .await
                .map_err(interface_error(comm_number, "selecting the MBIM setting"))?;
        }
        let data = match claim_own_data_interface(device, data_number, &endpoints).await {
            Some(data) => data,
            None => DataHandle::Nusb(
                opened
                    .detach_and_claim_interface(data_number)
                    .await
                    .map_err(interface_error(data_number, "claiming"))?,
            ),
        };
        // Setting 0 first: the NTB format and input size may only change
        // there, and a driver that had the device may have left it at 1.
        data.set_alt_setting(0).await.map_err(|error| {
            config_error(format!(
                "interface {data_number}: selecting setting 0: {}",
                chain(&error)
            ))
        })?;
        let transport = NusbFunction::new(comm, data, endpoints).map_err(|error| {
            config_error(format!(
                "interface {comm_number}: opening the notification endpoint: {}",
                chain(&error)
            ))
        })?;
        specs.push(FunctionSpec {
            transport: Arc::new(transport),
            max_control_message: mbim.max_control_message,
            max_segment_size: mbim.max_segment_size,
            kernel: None,
        });
    }
    Ok(OpenedModem {
        spec: ModemSpec {
            index,
            vid: device.identity.vid,
            pid: device.identity.pid,
            usb_path: path,
            serial: device.identity.serial.clone(),
            manufacturer: device
                .info
                .manufacturer_string()
                .unwrap_or_default()
                .to_owned(),
            model: device.info.product_string().unwrap_or_default().to_owned(),
            transport: "usbfs",
        },
        functions: specs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DeviceMatch;

    #[test]
    fn port_paths_are_the_kernel_s() {
        assert_eq!(port_path(1, &[1]), "1-1");
        assert_eq!(port_path(3, &[1, 2, 4]), "3-1.2.4");
        assert_eq!(port_path(2, &[]), "usb2");
    }

    #[test]
    fn mbim_and_ncm_communication_interfaces_are_candidates() {
        assert!(may_be_mbim(0x02, 0x0E));
        assert!(may_be_mbim(0x02, 0x0D));
        assert!(!may_be_mbim(0x02, 0x06));
        assert!(!may_be_mbim(0x0A, 0x00));
        assert!(!may_be_mbim(0xFF, 0x0E));
    }

    fn identity() -> UsbIdentity {
        UsbIdentity {
            vid: 0x1199,
            pid: 0x9091,
            usb_path: port_path(1, &[1, 2]),
            serial: Some("ABC".to_owned()),
        }
    }

    #[test]
    fn the_rules_see_the_identity_with_its_port_path() {
        let identity = identity();
        let by_path = Devices {
            allow: vec![DeviceMatch::UsbPath("1-1.2".to_owned())],
            deny: Vec::new(),
            rules: Vec::new(),
        };
        assert!(by_path.takes(&identity.as_identity()));
        let other_path = Devices {
            allow: vec![DeviceMatch::UsbPath("1-1".to_owned())],
            deny: Vec::new(),
            rules: Vec::new(),
        };
        assert!(!other_path.takes(&identity.as_identity()));
        let denied = Devices {
            allow: Vec::new(),
            deny: vec![DeviceMatch::VidPid {
                vid: 0x1199,
                pid: None,
            }],
            rules: Vec::new(),
        };
        assert!(!denied.takes(&identity.as_identity()));
        let by_serial = Devices {
            allow: vec![DeviceMatch::Serial("ABC".to_owned())],
            deny: Vec::new(),
            rules: Vec::new(),
        };
        assert!(by_serial.takes(&identity.as_identity()));
        assert!(Devices::default().takes(&identity.as_identity()));
    }
}
