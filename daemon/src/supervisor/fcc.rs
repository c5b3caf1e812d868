//! Which FCC unlock an executor runs: its modem's first device rule
//! (`fcc-unlock`), resolved into a native procedure, or the hook with the
//! device's identity in its environment and arguments.

use super::{FunctionSpec, ModemSpec};
use crate::config::{Config, FccUnlockChoice};
use crate::executor::{parse_fcc_key, FccHook, FccProcedure, FccUnlock};
use mbim_protocol::services::intel_mutual_authentication::DEFAULT_VENDOR_KEY;
use std::time::Duration;

/// The unlock executor `index` of `modem` runs, if its rule asks for one.
pub(super) fn fcc_unlock_for<T>(
    config: &Config,
    modem: &ModemSpec,
    index: usize,
    spec: &FunctionSpec<T>,
) -> Option<FccUnlock> {
    let rule = config.devices.rule_of(&modem.identity())?;
    let vid_pid = format!("{:04x}:{:04x}", modem.vid, modem.pid);
    match rule.fcc_unlock {
        FccUnlockChoice::Off => None,
        FccUnlockChoice::Native => match FccProcedure::for_device(modem.vid, modem.pid) {
            Some(procedure) => Some(FccUnlock::Native(procedure)),
            None => {
                tracing::warn!(
                    modem = modem.index,
                    "fcc-unlock = \"native\": mbimd has no MBIM unlock procedure for \
                     {vid_pid} (ModemManager's may be QMI or AT: use a hook); not unlocking"
                );
                None
            }
        },
        FccUnlockChoice::QuectelRadioState => {
            Some(FccUnlock::Native(FccProcedure::QuectelRadioState))
        }
        FccUnlockChoice::IntelMutualAuthentication => {
            Some(FccUnlock::Native(FccProcedure::IntelMutualAuthentication {
                key: rule
                    .fcc_unlock_key
                    .as_deref()
                    .and_then(parse_fcc_key)
                    .unwrap_or(DEFAULT_VENDOR_KEY),
            }))
        }
        FccUnlockChoice::Hook => {
            let path = rule.fcc_unlock_hook.clone()?;
            let executor = u32::try_from(index).unwrap_or(u32::MAX);
            let name = super::netdev_name(config, &modem.identity(), modem.index, executor)
                .map(|name| name.as_str().to_owned())
                .unwrap_or_else(|| format!("mbim{}e{executor}", modem.index));
            let port = spec.kernel.as_ref().map(|kernel| kernel.port.clone());
            let proxy = config.mbim_proxy.enable.then(|| {
                config
                    .mbim_proxy
                    .directory
                    .join(&name)
                    .display()
                    .to_string()
            });
            let object = crate::dbus::executor_path(modem.index, executor);
            let env = [
                ("MBIMD_FCC_VID_PID", vid_pid),
                (
                    "MBIMD_FCC_SYSFS_PATH",
                    crate::mm::device_path(&modem.usb_path),
                ),
                (
                    "MBIMD_FCC_CONTROL_PORT",
                    port.as_ref()
                        .map(|port| format!("/dev/{port}"))
                        .unwrap_or_default(),
                ),
                ("MBIMD_FCC_TRANSPORT", modem.transport.to_owned()),
                ("MBIMD_FCC_EXECUTOR", name.clone()),
                ("MBIMD_FCC_DBUS_PATH", object.clone()),
                ("MBIMD_FCC_MBIM_PROXY", proxy.unwrap_or_default()),
            ]
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value))
            .collect();
            Some(FccUnlock::Hook(FccHook {
                path,
                timeout: Duration::from_secs(rule.fcc_unlock_timeout),
                // As ModemManager calls its unlock programs: the modem's
                // object, then its control port's name.
                args: vec![object, port.unwrap_or(name)],
                env,
            }))
        }
    }
}
