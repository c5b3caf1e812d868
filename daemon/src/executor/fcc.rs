//! FCC unlock: many laptop modules keep their radio off until the host
//! lifts a lock, with a procedure each vendor defines. mbimd runs the
//! procedures that are plain MBIM itself ([`FccProcedure`], for the modems
//! ModemManager names them for) and, for any other, the administrator's
//! hook ([`FccHook`], [`run_hook`]). Nothing runs unless a device rule asks
//! for it (mbimd.toml(5) says why).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

/// A procedure mbimd runs itself over MBIM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FccProcedure {
    /// Quectel's RADIO_STATE set to on (libmbim's `quectel` service), as
    /// ModemManager's `2c7c` unlock does with `mbimcli
    /// --quectel-set-radio-state=on`.
    QuectelRadioState,
    /// Intel's mutual-authentication FCC lock: the challenge, answered with
    /// the SHA-256 response keyed with `key` (libmbim's
    /// `intel-mutual-authentication` service).
    IntelMutualAuthentication {
        /// The vendor key (ModemManager's `3df8c719` unless configured).
        key: [u8; 4],
    },
}

/// The modems ModemManager unlocks with Quectel's RADIO_STATE
/// (`data/dispatcher-fcc-unlock/meson.build`, the links to `2c7c`).
const QUECTEL_RADIO_STATE_DEVICES: &[(u16, u16)] = &[
    (0x2c7c, 0x030a), // EM05-G
    (0x2c7c, 0x0313), // EM05-G (GR)
    (0x2c7c, 0x0314), // EM05-G (RS)
    (0x2c7c, 0x0801), // RM520N
    (0x1eac, 0x1001), // EM120
    (0x1eac, 0x1004), // RM520N (HP)
    (0x1eac, 0x1007), // RM520N (Lenovo)
];

impl FccProcedure {
    /// As the configuration, logs and D-Bus write it.
    pub fn name(self) -> &'static str {
        match self {
            FccProcedure::QuectelRadioState => "quectel-radio-state",
            FccProcedure::IntelMutualAuthentication { .. } => "intel-mutual-authentication",
        }
    }

    /// The plain-MBIM procedure ModemManager ships for `vid:pid`, if any.
    /// Its other procedures (Foxconn's and Sierra's over QMI, Fibocom's
    /// over AT, the XMM7360's over its RPC port) are not MBIM: a hook runs
    /// them.
    pub fn for_device(vid: u16, pid: u16) -> Option<Self> {
        QUECTEL_RADIO_STATE_DEVICES
            .contains(&(vid, pid))
            .then_some(FccProcedure::QuectelRadioState)
    }
}

/// A vendor key as the configuration writes it: eight hex digits, the
/// bytes in order (`3df8c719`).
pub fn parse_key(text: &str) -> Option<[u8; 4]> {
    if text.len() != 8 || !text.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(text, 16).ok().map(u32::to_be_bytes)
}

/// The administrator's program that unlocks a modem, and what it is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FccHook {
    /// The program.
    pub path: PathBuf,
    /// How long it may run before it is killed (and the unlock failed).
    pub timeout: Duration,
    /// Its arguments, as ModemManager gives its unlock programs: the
    /// executor's D-Bus object, then its control port.
    pub args: Vec<String>,
    /// Its environment beside the daemon's: the device's identity
    /// (`MBIMD_FCC_*`).
    pub env: Vec<(String, String)>,
}

/// How an executor unlocks its modem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FccUnlock {
    /// A procedure mbimd runs itself.
    Native(FccProcedure),
    /// The administrator's hook.
    Hook(FccHook),
}

impl FccUnlock {
    /// As logs and D-Bus name it.
    pub fn describe(&self) -> String {
        match self {
            FccUnlock::Native(procedure) => procedure.name().to_owned(),
            FccUnlock::Hook(hook) => format!("hook {}", hook.path.display()),
        }
    }
}

/// The most of a hook's output kept for the log.
const MAX_HOOK_OUTPUT: usize = 4096;

/// Runs `hook` to its end or its timeout, logging its exit status and
/// output; `Err` says why the unlock failed.
pub async fn run_hook(hook: &FccHook, executor: &str) -> Result<(), String> {
    tracing::info!(
        executor,
        hook = %hook.path.display(),
        args = ?hook.args,
        "FCC unlock: running the hook"
    );
    let mut command = tokio::process::Command::new(&hook.path);
    command
        .args(&hook.args)
        .envs(hook.env.iter().map(|(key, value)| (key, value)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // A hook that outlives its timeout is killed with its handle.
        .kill_on_drop(true);
    let child = command
        .spawn()
        .map_err(|error| format!("the hook {} did not start: {error}", hook.path.display()))?;
    let output = match tokio::time::timeout(hook.timeout, child.wait_with_output()).await {
        Ok(Ok(output)) => output,
        Ok(Err(error)) => return Err(format!("waiting for the hook: {error}")),
        Err(_) => {
            return Err(format!(
                "the hook {} did not finish within {} s and was killed",
                hook.path.display(),
                hook.timeout.as_secs()
            ))
        }
    };
    for (stream, bytes) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
        let text = String::from_utf8_lossy(bytes.get(..MAX_HOOK_OUTPUT).unwrap_or(bytes));
        for line in text.lines().filter(|line| !line.trim().is_empty()) {
            tracing::info!(executor, stream, "FCC unlock hook: {line}");
        }
    }
    if output.status.success() {
        tracing::info!(executor, "FCC unlock: the hook succeeded");
        Ok(())
    } else {
        let last = String::from_utf8_lossy(&output.stderr)
            .lines()
            .rev()
            .find(|line| !line.trim().is_empty())
            .map(|line| format!(": {}", line.trim()))
            .unwrap_or_default();
        Err(format!("the hook {}{last}", describe_exit(output.status)))
    }
}

fn describe_exit(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(signal)) => format!("was killed by signal {signal}"),
        (None, None) => "ended".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(script: &str, timeout: Duration) -> FccHook {
        FccHook {
            path: PathBuf::from("/bin/sh"),
            timeout,
            args: vec!["-c".to_owned(), script.to_owned(), "hook".to_owned()],
            env: vec![("MBIMD_FCC_VID_PID".to_owned(), "2c7c:0801".to_owned())],
        }
    }

    #[tokio::test]
    async fn a_hook_is_told_the_device_and_its_exit_status_decides() {
        let ok = hook(
            "test \"$MBIMD_FCC_VID_PID\" = 2c7c:0801",
            Duration::from_secs(5),
        );
        assert_eq!(run_hook(&ok, "test").await, Ok(()));
        let failing = hook("echo refused >&2; exit 3", Duration::from_secs(5));
        assert_eq!(
            run_hook(&failing, "test").await,
            Err("the hook exited with status 3: refused".to_owned())
        );
    }

    #[tokio::test]
    async fn a_hook_that_hangs_is_killed_at_its_timeout() {
        let hanging = hook("sleep 30", Duration::from_millis(200));
        let started = std::time::Instant::now();
        let error = run_hook(&hanging, "test").await.unwrap_err();
        assert!(error.contains("did not finish within"), "{error}");
        assert!(started.elapsed() < Duration::from_secs(10));
        let missing = FccHook {
            path: PathBuf::from("/nonexistent/unlock"),
            ..hanging
        };
        assert!(run_hook(&missing, "test")
            .await
            .unwrap_err()
            .contains("did not start"));
    }

    #[test]
    fn keys_are_eight_hex_digits_in_byte_order() {
        assert_eq!(parse_key("3df8c719"), Some([0x3d, 0xf8, 0xc7, 0x19]));
        assert_eq!(parse_key("BB23BE7F"), Some([0xbb, 0x23, 0xbe, 0x7f]));
        for bad in ["", "3df8c71", "3df8c7190", "+df8c719", "3df8c71g"] {
            assert_eq!(parse_key(bad), None, "{bad}");
        }
    }

    #[test]
    fn modemmanagers_quectel_list_is_native_and_others_are_not() {
        assert_eq!(
            FccProcedure::for_device(0x1eac, 0x1001),
            Some(FccProcedure::QuectelRadioState)
        );
        // Foxconn's unlock is QMI over MBIM; Fibocom's FM350 is AT.
        assert_eq!(FccProcedure::for_device(0x105b, 0xe0ab), None);
        assert_eq!(FccProcedure::for_device(0x14c3, 0x4d75), None);
    }
}
