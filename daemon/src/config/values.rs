//! The configuration's value types. Each checks its own syntax while it is
//! deserialized, so toml reports a bad value at the value's own line and
//! column; rules that involve several values live in `validate`.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use crate::executor::{Secret, ROUTE_METRIC_EXPECTED};
use crate::netdev::{InterfaceName, DEFAULT_ROUTE_METRIC, MAX_NAME_LEN};

/// Which USB devices a rule names: an entry of `[devices] allow`/`deny` or
/// the `device` of an `[[interfaces.names]]` entry.
///
/// Written as one string:
/// * `"2c7c:0125"` — vendor and product id, four hex digits each; `"2c7c:*"`
///   names every product of the vendor;
/// * `"usb:1-1.2"` — the USB port path (bus, then the ports from the root
///   hub, as in `/sys/bus/usb/devices/`): stable across re-plugging into the
///   same port, so two identical modems can be told apart;
/// * `"serial:ABC123"` — the device's iSerialNumber string.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DeviceMatch {
    /// Vendor id and product id (`None`: any product of the vendor).
    VidPid {
        /// idVendor.
        vid: u16,
        /// idProduct, or any.
        pid: Option<u16>,
    },
    /// The USB port path, such as `1-1.2`.
    UsbPath(String),
    /// The iSerialNumber string.
    Serial(String),
}

/// What a [`DeviceMatch`] is compared with: one USB device as found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceIdentity<'a> {
    /// idVendor.
    pub vid: u16,
    /// idProduct.
    pub pid: u16,
    /// The USB port path (`1-1.2`).
    pub usb_path: &'a str,
    /// iSerialNumber, when the device has one.
    pub serial: Option<&'a str>,
}

impl DeviceMatch {
    /// Whether this rule names `device`.
    pub fn matches(&self, device: &DeviceIdentity<'_>) -> bool {
        match self {
            DeviceMatch::VidPid { vid, pid } => {
                *vid == device.vid && pid.is_none_or(|pid| pid == device.pid)
            }
            DeviceMatch::UsbPath(path) => path == device.usb_path,
            DeviceMatch::Serial(serial) => device.serial == Some(serial.as_str()),
        }
    }
}

const DEVICE_MATCH_EXPECTED: &str = "expected \"vid:pid\" (four hex digits each, \
     pid may be *), \"usb:<bus>-<port>[.<port>...]\" or \"serial:<serial number>\"";

impl TryFrom<String> for DeviceMatch {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        let bad = |why: &str| format!("bad device match {text:?}: {why}; {DEVICE_MATCH_EXPECTED}");
        if let Some(path) = text.strip_prefix("usb:") {
            return if is_usb_path(path) {
                Ok(DeviceMatch::UsbPath(path.to_owned()))
            } else {
                Err(bad("not a USB port path"))
            };
        }
        if let Some(serial) = text.strip_prefix("serial:") {
            return if serial.is_empty() {
                Err(bad("empty serial number"))
            } else {
                Ok(DeviceMatch::Serial(serial.to_owned()))
            };
        }
        let Some((vid, pid)) = text.split_once(':') else {
            return Err(bad("no ':'"));
        };
        let vid = hex16(vid).ok_or_else(|| bad("the vendor id is not four hex digits"))?;
        let pid = if pid == "*" {
            None
        } else {
            Some(hex16(pid).ok_or_else(|| bad("the product id is not four hex digits or *"))?)
        };
        Ok(DeviceMatch::VidPid { vid, pid })
    }
}

impl fmt::Display for DeviceMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceMatch::VidPid {
                vid,
                pid: Some(pid),
            } => write!(f, "{vid:04x}:{pid:04x}"),
            DeviceMatch::VidPid { vid, pid: None } => write!(f, "{vid:04x}:*"),
            DeviceMatch::UsbPath(path) => write!(f, "usb:{path}"),
            DeviceMatch::Serial(serial) => write!(f, "serial:{serial}"),
        }
    }
}

/// Exactly four hex digits: `lsusb` prints ids that way, and a shorter form
/// is more likely a typo than an intent.
fn hex16(text: &str) -> Option<u16> {
    if text.len() == 4 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        u16::from_str_radix(text, 16).ok()
    } else {
        None
    }
}

/// `<bus>-<port>[.<port>...]`, the kernel's name of a USB device in sysfs.
fn is_usb_path(text: &str) -> bool {
    let numbers = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match text.split_once('-') {
        Some((bus, ports)) => numbers(bus) && ports.split('.').all(numbers),
        None => false,
    }
}

/// A network interface name, by the netdev's rules (the kernel's, and no
/// `%`), refused inside the value's deserializer so toml reports its span.
pub(crate) fn interface_name<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<InterfaceName, D::Error> {
    struct NameVisitor;

    impl Visitor<'_> for NameVisitor {
        type Value = InterfaceName;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an interface name as a string")
        }

        fn visit_str<E: de::Error>(self, value: &str) -> Result<InterfaceName, E> {
            InterfaceName::new(value).map_err(|error| {
                E::custom(format!(
                    "{error} (expected 1 to {MAX_NAME_LEN} bytes without '/', ':', '%' or \
                     whitespace, not \".\" or \"..\")"
                ))
            })
        }
    }

    deserializer.deserialize_str(NameVisitor)
}

/// How interfaces not named in `[[interfaces.names]]` are named: a template
/// with `{modem}` (the modem's index: the lowest not used by another modem
/// mbimd drives) and `{executor}` (the executor's index within its modem).
/// Both are required, so no two executors can get one name.
///
/// The template must leave room for `{modem}` up to 999 and `{executor}` up
/// to 9 within 15 bytes; the default, `mbim{modem}e{executor}`, has room for
/// both up to 65535.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameScheme(String);

/// The default scheme: `mbim0e0`, `mbim0e1`… — stable across reconnections,
/// and clear of `wwan<N>`, which the kernel's own WWAN drivers (cdc_mbim,
/// qmi_wwan) use for modems mbimd does not drive.
pub const DEFAULT_NAME_SCHEME: &str = "mbim{modem}e{executor}";

impl Default for NameScheme {
    fn default() -> Self {
        NameScheme(DEFAULT_NAME_SCHEME.to_owned())
    }
}

impl NameScheme {
    /// The template.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name for executor `executor` of modem `modem`; `None` when the
    /// numbers are too large for 15 bytes.
    pub fn expand(&self, modem: u32, executor: u32) -> Option<InterfaceName> {
        let name = self
            .0
            .replace("{modem}", &modem.to_string())
            .replace("{executor}", &executor.to_string());
        InterfaceName::new(name).ok()
    }
}

impl TryFrom<String> for NameScheme {
    type Error = String;

    fn try_from(template: String) -> Result<Self, String> {
        let bad = |why: &str| {
            format!(
                "bad interface name scheme {template:?}: {why} (expected a name with {{modem}} \
                 and {{executor}}, such as \"mbim{{modem}}e{{executor}}\", at most \
                 {MAX_NAME_LEN} bytes with {{modem}} = 999 and {{executor}} = 9)"
            )
        };
        if !template.contains("{modem}") || !template.contains("{executor}") {
            return Err(bad(
                "{modem} or {executor} missing, so two executors could get the same name",
            ));
        }
        let rest = template.replace("{modem}", "").replace("{executor}", "");
        if rest.contains(['{', '}']) {
            return Err(bad("a placeholder other than {modem} and {executor}"));
        }
        let widest = template
            .replace("{modem}", "999")
            .replace("{executor}", "9");
        if let Err(error) = InterfaceName::new(widest) {
            return Err(bad(error.reason));
        }
        Ok(NameScheme(template))
    }
}

/// A route metric, 1 to 4294967295. Zero is refused: IPv4 takes it as the
/// highest priority while the kernel turns an IPv6 metric of 0 into 1024, so
/// it would order the two families differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(try_from = "i64")]
pub struct RouteMetric(u32);

impl RouteMetric {
    /// The metric.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl Default for RouteMetric {
    fn default() -> Self {
        RouteMetric(DEFAULT_ROUTE_METRIC)
    }
}

impl TryFrom<i64> for RouteMetric {
    type Error = String;

    fn try_from(value: i64) -> Result<Self, String> {
        match u32::try_from(value) {
            Ok(metric) if metric > 0 => Ok(RouteMetric(metric)),
            _ => Err(format!("{value} is out of range: {ROUTE_METRIC_EXPECTED}")),
        }
    }
}

/// A tracing filter: a level (`error`, `warn`, `info`, `debug`, `trace`) or
/// an `EnvFilter` directive list such as `"info,mbimd::executor=debug"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFilter(String);

impl LogFilter {
    /// The directives.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for LogFilter {
    fn default() -> Self {
        LogFilter("info".to_owned())
    }
}

impl TryFrom<String> for LogFilter {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        let bad = |why: String| {
            format!(
                "bad log level {text:?}: {why} (expected error, warn, info, debug, trace, off, \
                 or tracing directives such as \"info,mbimd::executor=debug\")"
            )
        };
        // EnvFilter takes a bare word as a target name enabled at every
        // level, so a misspelt level ("warning") would silently log
        // everything of a target that does not exist; here a bare word must
        // be a level.
        const LEVELS: [&str; 6] = ["error", "warn", "info", "debug", "trace", "off"];
        for directive in text.split(',').map(str::trim) {
            let bare = !directive.contains(['=', '[']);
            if bare
                && !LEVELS
                    .iter()
                    .any(|level| level.eq_ignore_ascii_case(directive))
            {
                return Err(bad(format!("{directive:?} is not a level")));
            }
        }
        match tracing_subscriber::EnvFilter::builder().parse(&text) {
            Ok(_) => Ok(LogFilter(text)),
            Err(error) => Err(bad(error.to_string())),
        }
    }
}

/// Where logs go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogTarget {
    /// The journal when its socket exists and standard error is not a
    /// terminal (run by systemd), else standard error.
    #[default]
    Auto,
    /// The systemd journal, with structured fields.
    Journald,
    /// Standard error, as text.
    Stderr,
}

/// A SIM's ICCID: 18 to 22 digits (ITU-T E.118 allows 19 or 20 plus
/// check digit variants; some modems report the padding as digits too).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Iccid(String);

impl Iccid {
    /// The digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Iccid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Personal data: a config dump in a bug report should not carry it.
        write!(f, "Iccid({})", crate::logging::personal(&self.0, false))
    }
}

impl TryFrom<String> for Iccid {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        // The value is not repeated in the message: it is personal data and
        // the message goes to the journal.
        if (18..=22).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Iccid(text))
        } else {
            Err("bad ICCID: expected 18 to 22 digits, as a quoted string".to_owned())
        }
    }
}

/// A SIM PIN: 4 to 8 digits (3GPP TS 31.101 §9.5.1). Never printed: `Debug`
/// shows `Pin(***)`, there is no `Display`, and a malformed PIN's error does
/// not repeat it.
#[derive(Clone, PartialEq, Eq)]
pub struct Pin(Secret);

impl Pin {
    /// The PIN itself, for the one place that puts it on the wire.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    /// The PIN as the executor takes it ([`ExecutorConfig::pin`](crate::executor::ExecutorConfig::pin)).
    pub fn secret(&self) -> &Secret {
        &self.0
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not even the length: it narrows a guess.
        f.write_str("Pin(***)")
    }
}

const PIN_EXPECTED: &str = "a PIN is 4 to 8 digits in a quoted string (the value is not shown)";

impl<'de> Deserialize<'de> for Pin {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(PinVisitor)
    }
}

/// Accepts only a string, and words every refusal without the value: serde's
/// default messages quote it (``invalid type: integer `1234` ``).
struct PinVisitor;

impl<'de> Visitor<'de> for PinVisitor {
    type Value = Pin;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(PIN_EXPECTED)
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Pin, E> {
        if (4..=8).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Pin(Secret::new(value)))
        } else {
            Err(E::custom(PIN_EXPECTED))
        }
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Pin, E> {
        Err(E::custom(PIN_EXPECTED))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Pin, E> {
        Err(E::custom(PIN_EXPECTED))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Pin, E> {
        Err(E::custom(PIN_EXPECTED))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Pin, E> {
        Err(E::custom(PIN_EXPECTED))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Pin, A::Error> {
        Err(de::Error::custom(PIN_EXPECTED))
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Pin, A::Error> {
        Err(de::Error::custom(PIN_EXPECTED))
    }
}

/// `Deserialize` through `TryFrom<String>`, refusing inside the value's own
/// deserializer: toml then reports the value's span. With
/// `#[serde(try_from)]` the refusal comes after it, and an element of an
/// array would be reported at the array's opening bracket.
macro_rules! deserialize_from_string {
    ($($type:ty: $expecting:literal),* $(,)?) => {$(
        impl<'de> Deserialize<'de> for $type {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct StringVisitor;

                impl Visitor<'_> for StringVisitor {
                    type Value = $type;

                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }

                    fn visit_str<E: de::Error>(self, value: &str) -> Result<$type, E> {
                        <$type>::try_from(value.to_owned()).map_err(E::custom)
                    }
                }

                deserializer.deserialize_str(StringVisitor)
            }
        }
    )*};
}

deserialize_from_string! {
    DeviceMatch: "a device as a string (\"vid:pid\", \"usb:<path>\" or \"serial:<serial>\")",
    NameScheme: "an interface name scheme as a string",
    LogFilter: "a log level as a string",
    Iccid: "an ICCID as a quoted string of digits",
}
