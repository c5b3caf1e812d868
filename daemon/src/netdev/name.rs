//! Interface names: the default scheme and the kernel's rules for a name.

use std::fmt;

/// The longest name the kernel accepts: `IFNAMSIZ` (16) less the NUL.
pub const MAX_NAME_LEN: usize = 15;

/// A network interface name the kernel will accept.
///
/// The default scheme is `mbim<modem>e<executor>`, e.g. `mbim0e0` and
/// `mbim0e1` for the two executors of the first modem: stable across
/// reconnections (so firewall rules and monitoring can name it), distinct per
/// executor, and clear of the kernel's own `wwan<N>` names of cdc_mbim. With
/// both indices below 65536 it is at most 15 bytes, the kernel's limit.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InterfaceName(String);

/// Why a name cannot be an interface name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{name}` is not a valid interface name: {reason}")]
pub struct InvalidName {
    /// The refused name.
    pub name: String,
    /// The rule it breaks.
    pub reason: &'static str,
}

impl InterfaceName {
    /// Checks `name` against the kernel's rules (`dev_valid_name`): 1 to 15
    /// bytes, not `.` or `..`, no `/`, `:` or whitespace.
    pub fn new(name: impl Into<String>) -> Result<Self, InvalidName> {
        let name = name.into();
        let reason = if name.is_empty() {
            Some("it is empty")
        } else if name.len() > MAX_NAME_LEN {
            Some("it is longer than 15 bytes (IFNAMSIZ)")
        } else if name == "." || name == ".." {
            Some("`.` and `..` are reserved")
        } else if name
            .chars()
            .any(|c| c == '/' || c == ':' || c.is_whitespace())
        {
            Some("it contains `/`, `:` or whitespace")
        } else if name.contains('%') {
            // A `%d` template would let the kernel pick the number, and the
            // name would no longer be predictable.
            Some("it contains `%`")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(InvalidName { name, reason }),
            None => Ok(InterfaceName(name)),
        }
    }

    /// The default name of an executor's device: `mbim<modem>e<executor>`.
    pub fn default_for(modem_index: u16, executor_index: u16) -> Self {
        // At most 4 + 5 + 1 + 5 = 15 bytes of ASCII digits and letters: within
        // every rule `new` checks, so this needs no fallible path.
        InterfaceName(format!("mbim{modem_index}e{executor_index}"))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for InterfaceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_names_fit_ifnamsiz() {
        assert_eq!(InterfaceName::default_for(0, 1).as_str(), "mbim0e1");
        let longest = InterfaceName::default_for(u16::MAX, u16::MAX);
        assert_eq!(longest.as_str().len(), MAX_NAME_LEN);
        assert!(InterfaceName::new(longest.as_str()).is_ok());
    }

    #[test]
    fn kernel_rules_are_enforced() {
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "a:b",
            "a b",
            "wwan%d",
            "sixteen-bytes-xx",
        ] {
            assert!(InterfaceName::new(bad).is_err(), "{bad:?}");
        }
        for good in ["wwan0", "mbim0e0", "lte-a.1", "fifteen-bytes-x"] {
            assert!(InterfaceName::new(good).is_ok(), "{good:?}");
        }
    }
}
