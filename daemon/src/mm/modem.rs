//! `org.freedesktop.ModemManager1.Modem` at
//! `/org/freedesktop/ModemManager1/Modem/N`: one executor of a modem.
//!
//! Its SIM slots are the modem's (every executor of a dual-SIM
//! dual-active modem lists them all); `PrimarySimSlot` is the one mapped to
//! this executor, counted from 1 as ModemManager does, and
//! `SetPrimarySimSlot` is mbimd's own slot switch (the slot policy's
//! `SwitchToSlot`: the device is not probed again, the choice remembered);
//! on the bus it reads as ModemManager's re-probe (the modem object goes
//! and comes back under a new number, see [`super::model`]). `Enable` and
//! `SetPowerState` switch the radio.

use super::bus::Call;
use super::connect::{self, wait_until, RADIO_WAIT, SWITCH_WAIT};
use super::enums::{capability, ip_family, mode, port_type, ModemState, PowerState};
use super::errors::{Core, MmError};
use super::mapping;
use super::model::bearer_path;
use super::properties;
use super::view::{no_object, object_path, personal_value, ModemView, Props};
use crate::executor::ExecutorCommand;
use crate::modem::RequestError;
use mbim_protocol::status::Status;
use std::collections::HashMap;
use zbus::zvariant::{OwnedObjectPath, Value};
use zbus::Message;

/// What mbimd's modems can do: 3GPP (the GSM class of MBIM, which mbimd
/// drives), as one capability combination.
const CAPABILITIES: u32 = capability::GSM_UMTS | capability::LTE;

/// `MM_MODEM_BAND_ANY`: "whatever the modem uses".
const BAND_ANY: u32 = 256;

/// The modem interface's properties.
pub(crate) fn properties(view: &ModemView<'_>) -> Props {
    let status = view.status();
    let snapshot = view.snapshot;
    // ModemManager lists SIM slots only for modems with more than one.
    let (sim_slots, primary): (Vec<OwnedObjectPath>, u32) = if snapshot.slots.len() > 1 {
        (
            snapshot
                .slots
                .iter()
                .map(|slot| view.sim_of(slot.index).unwrap_or_else(no_object))
                .collect(),
            view.slot().map_or(0, |slot| slot.saturating_add(1)),
        )
    } else {
        (Vec::new(), 0)
    };
    let sim = view
        .slot()
        .and_then(|slot| view.sim_of(slot))
        .unwrap_or_else(no_object);
    let bearers: Vec<OwnedObjectPath> = view
        .entry
        .bearer
        .iter()
        .chain(view.entry.extras.values())
        .map(|bearer| object_path(bearer_path(bearer.number)))
        .collect();
    // One bearer per session the modem carries, all of them active at once.
    let max_bearers = connect::max_bearers(status);
    let device = device_path(&snapshot.usb_path);
    let ports = vec![
        (view.control_port(), port_type::MBIM),
        (view.netdev_name(), port_type::NET),
    ];
    let retries: HashMap<u32, u32> = mapping::unlock_retries(status).into_iter().collect();
    let (quality, recent) = mapping::signal_quality(status.rssi);
    vec![
        ("Sim", Value::from(sim)),
        ("SimSlots", Value::from(sim_slots)),
        ("PrimarySimSlot", Value::from(primary)),
        ("Bearers", Value::from(bearers)),
        ("SupportedCapabilities", Value::from(vec![CAPABILITIES])),
        ("CurrentCapabilities", Value::from(CAPABILITIES)),
        ("MaxBearers", Value::from(max_bearers)),
        ("MaxActiveBearers", Value::from(max_bearers)),
        ("MaxActiveMultiplexedBearers", Value::from(0u32)),
        ("Manufacturer", Value::from(snapshot.manufacturer.clone())),
        ("Model", Value::from(snapshot.model.clone())),
        ("Revision", Value::from(status.device.firmware.clone())),
        ("CarrierConfiguration", Value::from("")),
        ("CarrierConfigurationRevision", Value::from("")),
        (
            "HardwareRevision",
            Value::from(status.device.hardware.clone()),
        ),
        (
            "DeviceIdentifier",
            Value::from(format!("mbimd:{}:e{}", snapshot.modem_id, view.executor)),
        ),
        ("Device", Value::from(device)),
        ("Drivers", Value::from(vec!["mbimd"])),
        ("Plugin", Value::from("mbimd")),
        ("PrimaryPort", Value::from(view.control_port())),
        ("Ports", Value::from(ports)),
        (
            "EquipmentIdentifier",
            Value::from(personal_value(&status.device.device_id, view.personal)),
        ),
        (
            "UnlockRequired",
            Value::from(mapping::unlock_required(status).value()),
        ),
        ("UnlockRetries", Value::from(retries)),
        ("State", Value::from(mapping::modem_state(status).value())),
        (
            "StateFailedReason",
            Value::from(mapping::failed_reason(status).value()),
        ),
        (
            "AccessTechnologies",
            Value::from(mapping::access_technologies(view.status())),
        ),
        ("SignalQuality", Value::from((quality, recent))),
        ("OwnNumbers", Value::from(Vec::<String>::new())),
        (
            "PowerState",
            Value::from(mapping::power_state(status).value()),
        ),
        // mbimd never narrows the modem's technologies: every one it
        // supports is allowed, none preferred.
        (
            "SupportedModes",
            Value::from(mapping::supported_mode_combinations(status)),
        ),
        (
            "CurrentModes",
            Value::from((mapping::current_modes(status), mode::NONE)),
        ),
        ("SupportedBands", Value::from(Vec::<u32>::new())),
        ("CurrentBands", Value::from(Vec::<u32>::new())),
        (
            "SupportedIpFamilies",
            Value::from(ip_family::IPV4 | ip_family::IPV6 | ip_family::IPV4V6),
        ),
    ]
}

/// Answers a method of the modem interface.
pub(crate) async fn call(
    call: &Call<'_>,
    modem: u32,
    executor: u32,
    member: &str,
) -> Result<Message, MmError> {
    match member {
        "ListBearers" => {
            let bearers: Vec<OwnedObjectPath> = call
                .face
                .table()
                .modem(modem, executor)
                .map(|entry| {
                    entry
                        .bearer
                        .iter()
                        .chain(entry.extras.values())
                        .map(|bearer| object_path(bearer_path(bearer.number)))
                        .collect()
                })
                .unwrap_or_default();
            return call.reply(&(bearers,));
        }
        "GetCellInfo" => {
            return Err(MmError::unsupported(
                "GetCellInfo: mbimd does not query cell information",
            ))
        }
        _ => {}
    }
    call.authorize().await?;
    // The arguments are read and checked before a client takes the
    // sessions over: a call refused for them changes nothing at all.
    match member {
        "Enable" => {
            let (enable,): (bool,) = call.args()?;
            connect::take_over(call, modem, executor).await?;
            set_radio(call, modem, executor, enable).await?;
            call.done()
        }
        "SetPowerState" => {
            let (value,): (u32,) = call.args()?;
            let on = match PowerState::from_value(value) {
                Some(PowerState::On) => true,
                Some(PowerState::Low | PowerState::Off) => false,
                _ => {
                    return Err(MmError::invalid(format!(
                        "SetPowerState: {value} is no power state (1 off, 2 low, 3 on)"
                    )))
                }
            };
            connect::take_over(call, modem, executor).await?;
            set_radio(call, modem, executor, on).await?;
            call.done()
        }
        "CreateBearer" => {
            let (properties,): (HashMap<String, zbus::zvariant::OwnedValue>,) = call.args()?;
            let settings = properties::bearer_settings(&properties, "CreateBearer")?;
            connect::take_over(call, modem, executor).await?;
            let number = connect::create_bearer(call, modem, executor, settings).await?;
            call.reply(&(object_path(bearer_path(number)),))
        }
        "DeleteBearer" => {
            let (path,): (OwnedObjectPath,) = call.args()?;
            connect::take_over(call, modem, executor).await?;
            connect::delete_bearer(call, modem, executor, path.as_str()).await?;
            call.done()
        }
        "SetPrimarySimSlot" => {
            let (slot,): (u32,) = call.args()?;
            set_primary_slot(call, modem, executor, slot).await?;
            call.done()
        }
        "SetCurrentCapabilities" => {
            let (capabilities,): (u32,) = call.args()?;
            if capabilities == CAPABILITIES {
                return call.done();
            }
            Err(MmError::unsupported(format!(
                "SetCurrentCapabilities: mbimd's modems have one capability combination, \
                 {CAPABILITIES:#x} (GSM/UMTS and LTE), not {capabilities:#x}"
            )))
        }
        "SetCurrentModes" => {
            let (allowed, preferred): (u32, u32) = call.args::<((u32, u32),)>()?.0;
            set_current_modes(call, modem, executor, allowed, preferred).await?;
            call.done()
        }
        "SetCurrentBands" => {
            let (bands,): (Vec<u32>,) = call.args()?;
            if bands.is_empty() || bands == [BAND_ANY] {
                return call.done();
            }
            Err(MmError::unsupported(
                "SetCurrentBands: mbimd lets the modem choose its bands",
            ))
        }
        "Reset" => {
            reset(call, modem, executor).await?;
            call.done()
        }
        "FactoryReset" => {
            let (_code,): (String,) = call.args()?;
            Err(MmError::unsupported(
                "FactoryReset: MBIM has no factory reset; mbimd does not erase a modem's \
                 settings",
            ))
        }
        _ => Err(MmError::unsupported(
            "Command: MBIM modems take no AT commands",
        )),
    }
}

/// `SetCurrentModes`: REGISTER_STATE set with the data classes of the
/// modes allowed (MBIMEx 2.0 and later, where the modem says which it
/// prefers), answered once the modem prefers them. MBIM has no preferred
/// mode among those allowed; a modem that cannot say what it prefers
/// keeps all it supports (that combination, or any, is accepted).
async fn set_current_modes(
    call: &Call<'_>,
    modem: u32,
    executor: u32,
    allowed: u32,
    preferred: u32,
) -> Result<(), MmError> {
    let handle = connect::handle(call, modem)?;
    let index =
        usize::try_from(executor).map_err(|_| MmError::core(Core::NotFound, "no such executor"))?;
    let status = handle
        .snapshot()
        .executors
        .get(index)
        .map(|executor| executor.status.clone())
        .unwrap_or_default();
    let supported = mapping::supported_modes(&status);
    let allowed = if allowed == mode::ANY {
        supported
    } else {
        allowed
    };
    if preferred != mode::NONE {
        return Err(MmError::unsupported(format!(
            "{}: MBIM has no preferred mode among those allowed (asked: preferred \
             {preferred:#x})",
            call.what
        )));
    }
    if !mapping::modes_switchable(&status) {
        if allowed == supported {
            return Ok(());
        }
        return Err(MmError::unsupported(format!(
            "{}: this modem does not say which technologies it prefers (MBIMEx 2.0), so \
             it uses every one it supports (allowed {supported:#x}); asked: allowed \
             {allowed:#x}",
            call.what
        )));
    }
    if allowed == mode::NONE || allowed & !supported != 0 {
        return Err(MmError::unsupported(format!(
            "{}: the modem supports the modes {supported:#x}; asked: allowed {allowed:#x}",
            call.what
        )));
    }
    handle
        .executor_command(
            index,
            ExecutorCommand::SetDataClasses(mapping::data_classes_of(allowed)),
        )
        .await
        .map_err(|error| MmError::from_request(&call.what, error))?;
    let now = handle
        .snapshot()
        .executors
        .get(index)
        .map(|executor| mapping::current_modes(&executor.status))
        .unwrap_or(mode::NONE);
    call.face.refresh().await;
    if now != allowed {
        return Err(MmError::core(
            Core::Failed,
            format!(
                "{}: asked for the modes {allowed:#x}, the modem prefers {now:#x}",
                call.what
            ),
        ));
    }
    Ok(())
}

/// `Reset`: MBIM's DEVICE_RESET (MS Basic Connect Extensions), answered
/// once the modem accepted it; it restarts, and mbimd finds it anew (its
/// session ends, and comes back as the clients ask). A modem without the
/// command refuses with `Core.Unsupported`, and nothing changes.
async fn reset(call: &Call<'_>, modem: u32, executor: u32) -> Result<(), MmError> {
    let handle = connect::handle(call, modem)?;
    let index =
        usize::try_from(executor).map_err(|_| MmError::core(Core::NotFound, "no such executor"))?;
    match handle
        .executor_command(index, ExecutorCommand::ResetDevice)
        .await
    {
        Ok(()) => Ok(()),
        Err(RequestError::Device {
            status: Some(Status::NoDeviceSupport),
            ..
        }) => Err(MmError::unsupported(format!(
            "{}: this modem does not offer DEVICE_RESET (MS Basic Connect Extensions)",
            call.what
        ))),
        Err(RequestError::Device {
            status: Some(status),
            message,
        }) => Err(MmError::core(
            Core::Failed,
            format!("{}: {message} ({status})", call.what),
        )),
        Err(error) => Err(MmError::from_request(&call.what, error)),
    }
}

/// Switches executor `executor`'s radio and waits until it reports the
/// switch (or says why it cannot).
async fn set_radio(call: &Call<'_>, modem: u32, executor: u32, on: bool) -> Result<(), MmError> {
    let handle = connect::handle(call, modem)?;
    let snapshot = handle.snapshot();
    let status = usize::try_from(executor)
        .ok()
        .and_then(|index| snapshot.executors.get(index))
        .map(|executor| executor.status.clone())
        .unwrap_or_default();
    let state = mapping::modem_state(&status);
    if state == super::enums::ModemState::Locked {
        return Err(MmError::wrong_state(format!(
            "{}: the SIM is locked; send its PIN first (Sim.SendPin)",
            call.what
        )));
    }
    let wanted = if on { PowerState::On } else { PowerState::Low };
    if mapping::power_state(&status) == wanted {
        return Ok(());
    }
    let index =
        usize::try_from(executor).map_err(|_| MmError::core(Core::NotFound, "no such executor"))?;
    handle
        .executor_command(index, ExecutorCommand::SetRadio(on))
        .await
        .map_err(|error| MmError::from_request(&call.what, error))?;
    wait_until(&handle, RADIO_WAIT, |snapshot| {
        usize::try_from(executor)
            .ok()
            .and_then(|index| snapshot.executors.get(index))
            .is_some_and(|executor| mapping::power_state(&executor.status) == wanted)
    })
    .await
    .map_err(|_| MmError::not_in_time(&call.what, "the modem did not switch its radio"))?;
    call.face.refresh().await;
    Ok(())
}

/// The slot switch: mbimd's SwitchToSlot (the slot policy's user choice,
/// remembered), waited for until the modem reports the new mapping. The
/// modem's objects are withdrawn meanwhile and come back renumbered, as
/// after ModemManager's re-probe; a switch refused outright brings the
/// same ones back. As with ModemManager's re-probe, the old modem's bearers
/// end: once the sessions are the clients', the session is taken down
/// before the switch and nothing connects on the new SIM until a client
/// asks (else the executor would reconnect by itself with the old SIM's
/// request, and the client's own Connect would find it up).
async fn set_primary_slot(
    call: &Call<'_>,
    modem: u32,
    executor: u32,
    slot: u32,
) -> Result<(), MmError> {
    let handle = connect::handle(call, modem)?;
    let snapshot = handle.snapshot();
    let slots = u32::try_from(snapshot.slots.len()).unwrap_or(u32::MAX);
    if slots < 2 {
        return Err(MmError::unsupported(
            "SetPrimarySimSlot: this modem has a single SIM slot",
        ));
    }
    if slot == 0 || slot > slots {
        return Err(MmError::invalid(format!(
            "SetPrimarySimSlot: no SIM slot {slot}: this modem's slots are 1 to {slots}"
        )));
    }
    let index = slot - 1;
    if !snapshot.policy_active {
        return Err(MmError::unsupported(
            "SetPrimarySimSlot: this modem maps a slot to each of its executors (dual active); \
             mbimd switches slots only on dual-SIM single-active modems",
        ));
    }
    if snapshot.mapping.first() == Some(&index) {
        return Ok(());
    }
    // Gone from the bus before the session is: a client sees its modem
    // removed, not disabled under it.
    call.face.table().withdraw(modem);
    call.face.refresh().await;
    if call.face.config().sessions.get() == crate::config::SessionManager::Client {
        if let Err(error) = connect::disconnect(call, modem, executor).await {
            call.face.table().restore(modem, false);
            call.face.refresh().await;
            return Err(error);
        }
    }
    if let Err(error) = handle.switch_to_slot(index).await {
        call.face.table().restore(modem, false);
        call.face.refresh().await;
        return Err(MmError::from_request("SetPrimarySimSlot", error));
    }
    // Back once the executor has left the old SIM: a client that saw the
    // new object registered (and connected it) on the old SIM would see it
    // fall back to INITIALIZING when the switch reaches the executor.
    let old_sim = snapshot
        .executors
        .first()
        .map(|executor| executor.status.iccid.clone())
        .unwrap_or_default();
    let switched = wait_until(&handle, SWITCH_WAIT, |snapshot| {
        snapshot.mapping.first() == Some(&index)
            && snapshot.executors.first().is_none_or(|executor| {
                executor.status.iccid != old_sim
                    || mapping::modem_state(&executor.status) < ModemState::Enabled
            })
    })
    .await;
    // Switched or not in time, the modem is not the one it was.
    call.face.table().restore(modem, true);
    call.face.refresh().await;
    switched.map(drop).map_err(|_| {
        MmError::not_in_time(
            "SetPrimarySimSlot",
            &format!("the modem did not switch to slot {slot}"),
        )
    })
}

/// `Device`, the modem's physical device in sysfs as ModemManager gives it:
/// under /sys/bus/pci for a PCIe modem (its kernel name is a PCI address,
/// `0000:01:00.0`, `10000:e1:00.0` behind Intel VMD), under /sys/bus/usb for a USB one (a port path,
/// `1-1.2`), followed to /sys/devices where sysfs has it.
pub(crate) fn device_path(kernel_name: &str) -> String {
    if kernel_name == "simulated" {
        return kernel_name.to_owned();
    }
    let bus = if is_pci_address(kernel_name) {
        "pci"
    } else {
        "usb"
    };
    let link = format!("/sys/bus/{bus}/devices/{kernel_name}");
    std::fs::canonicalize(&link)
        .ok()
        .and_then(|path| path.to_str().map(str::to_owned))
        .unwrap_or(link)
}

/// Whether `name` is a PCI address (`domain:bus:device.function`, hex).
fn is_pci_address(name: &str) -> bool {
    let hex =
        |part: &str, len: usize| part.len() == len && part.chars().all(|c| c.is_ascii_hexdigit());
    // Domains beyond 0xffff exist (Intel VMD: 10000:e1:00.0).
    let domain_ok = |part: &str| part.len() >= 4 && part.chars().all(|c| c.is_ascii_hexdigit());
    let mut parts = name.split(':');
    let (Some(domain), Some(bus), Some(slot), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let Some((device, function)) = slot.split_once('.') else {
        return false;
    };
    domain_ok(domain) && hex(bus, 2) && hex(device, 2) && hex(function, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pcie_modem_is_a_pci_device_and_a_usb_modem_a_usb_one() {
        // (kernel name, bus) — the files need not exist here: the bus
        // path is kept when sysfs has no such device.
        let table = [
            ("0000:01:00.0", "/sys/bus/pci/devices/0000:01:00.0"),
            ("10000:e1:00.0", "/sys/bus/pci/devices/10000:e1:00.0"),
            ("1-1.2", "/sys/bus/usb/devices/1-1.2"),
            ("3-4", "/sys/bus/usb/devices/3-4"),
            ("0000:01:00", "/sys/bus/usb/devices/0000:01:00"),
            ("simulated", "simulated"),
        ];
        for (name, expected) in table {
            if std::path::Path::new(expected).exists() {
                continue;
            }
            assert_eq!(device_path(name), expected, "{name}");
        }
        assert!(is_pci_address("0000:00:1c.0"));
        assert!(!is_pci_address("0000:00:1c.g"));
        assert!(!is_pci_address("1-1.2:1.0"));
    }
}
