//! Naming mbimd's objects on the command line: `0` (modem 0), `0/e1` or
//! `0/executor1`, `0/s1` or `0/slot1`, or a full object path.

use super::proxy::MANAGER_PATH;

/// What kind of object a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The manager.
    Manager,
    /// A modem.
    Modem,
    /// An executor of a modem.
    Executor,
    /// A slot of a modem.
    Slot,
}

impl Kind {
    /// The D-Bus interface objects of this kind carry.
    pub(crate) fn interface(self) -> &'static str {
        match self {
            Kind::Manager => "dev.mbimd.Manager1",
            Kind::Modem => "dev.mbimd.Modem1",
            Kind::Executor => "dev.mbimd.Executor1",
            Kind::Slot => "dev.mbimd.Slot1",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Kind::Manager => "the manager",
            Kind::Modem => "a modem (like 0)",
            Kind::Executor => "an executor (like 0/e0)",
            Kind::Slot => "a slot (like 0/s1)",
        }
    }
}

/// An object of mbimd, as named by the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    /// Its kind.
    pub(crate) kind: Kind,
    /// Its object path.
    pub(crate) path: String,
}

/// A name that names nothing mbimd has.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum TargetError {
    /// Not one of the accepted forms.
    #[error("{0:?} is not an object of mbimd: write a modem as 0, an executor as 0/e0, a slot as 0/s1, or a full object path")]
    Unrecognized(String),
    /// Another kind of object than the command works on.
    #[error("{given:?} is not {wanted}")]
    WrongKind {
        /// What the user wrote.
        given: String,
        /// What the command needs.
        wanted: &'static str,
    },
}

/// The path of modem `modem`.
pub(crate) fn modem_path(modem: u32) -> String {
    format!("{MANAGER_PATH}/Modem{modem}")
}

fn number(text: &str) -> Option<u32> {
    // u32's parser takes a leading '+'; an object name never has one.
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Parses a name given on the command line.
pub(crate) fn parse(text: &str) -> Result<Target, TargetError> {
    let unrecognized = || TargetError::Unrecognized(text.to_owned());
    if text.starts_with('/') {
        let kind = classify(text).ok_or_else(unrecognized)?;
        return Ok(Target {
            kind,
            path: text.to_owned(),
        });
    }
    let (modem, rest) = match text.split_once('/') {
        Some((modem, rest)) => (modem, Some(rest)),
        None => (text, None),
    };
    let modem = number(modem).ok_or_else(unrecognized)?;
    let Some(rest) = rest else {
        return Ok(Target {
            kind: Kind::Modem,
            path: modem_path(modem),
        });
    };
    let (kind, index) = [
        ("executor", Kind::Executor),
        ("slot", Kind::Slot),
        ("e", Kind::Executor),
        ("s", Kind::Slot),
    ]
    .iter()
    .find_map(|(prefix, kind)| {
        rest.strip_prefix(prefix)
            .and_then(number)
            .map(|index| (*kind, index))
    })
    .ok_or_else(unrecognized)?;
    let segment = match kind {
        Kind::Executor => "Executor",
        _ => "Slot",
    };
    Ok(Target {
        kind,
        path: format!("{}/{segment}{index}", modem_path(modem)),
    })
}

/// Parses a name that must be of `kind`.
pub(crate) fn parse_kind(text: &str, kind: Kind) -> Result<Target, TargetError> {
    let target = parse(text)?;
    if target.kind != kind {
        return Err(TargetError::WrongKind {
            given: text.to_owned(),
            wanted: kind.noun(),
        });
    }
    Ok(target)
}

/// What kind of object a full path names, from its shape.
pub(crate) fn classify(path: &str) -> Option<Kind> {
    if path == MANAGER_PATH {
        return Some(Kind::Manager);
    }
    let rest = path.strip_prefix(MANAGER_PATH)?.strip_prefix("/Modem")?;
    let (modem, rest) = match rest.split_once('/') {
        Some((modem, rest)) => (modem, Some(rest)),
        None => (rest, None),
    };
    number(modem)?;
    let Some(rest) = rest else {
        return Some(Kind::Modem);
    };
    if rest.strip_prefix("Executor").and_then(number).is_some() {
        Some(Kind::Executor)
    } else if rest.strip_prefix("Slot").and_then(number).is_some() {
        Some(Kind::Slot)
    } else {
        None
    }
}

/// The short name of a path (`0/e1`), or the path itself when it is not
/// one of mbimd's objects.
pub(crate) fn short(path: &str) -> String {
    if path == MANAGER_PATH {
        return "manager".to_owned();
    }
    let Some(rest) = path
        .strip_prefix(MANAGER_PATH)
        .and_then(|rest| rest.strip_prefix("/Modem"))
    else {
        return path.to_owned();
    };
    let short = rest
        .replacen("/Executor", "/e", 1)
        .replacen("/Slot", "/s", 1);
    match classify(path) {
        Some(_) => short,
        None => path.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn short_and_long_forms_name_the_same_objects() {
        let executor = "/dev/mbimd/Mbimd1/Modem0/Executor1";
        assert_eq!(parse("0/e1").unwrap().path, executor);
        assert_eq!(parse("0/executor1").unwrap().path, executor);
        assert_eq!(parse(executor).unwrap().kind, Kind::Executor);
        assert_eq!(
            parse("12/s3").unwrap().path,
            "/dev/mbimd/Mbimd1/Modem12/Slot3"
        );
        assert_eq!(parse("2").unwrap().kind, Kind::Modem);
        assert_eq!(parse(MANAGER_PATH).unwrap().kind, Kind::Manager);
        assert_eq!(short(executor), "0/e1");
        assert_eq!(short("/dev/mbimd/Mbimd1/Modem4/Slot0"), "4/s0");
        assert_eq!(short("/"), "/");
    }

    #[test]
    fn names_that_are_not_objects_are_refused() {
        for bad in [
            "", "x", "+1", "0/", "0/e", "0/x1", "0/e1/2", "/org/x", "0/slot-1",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        assert!(matches!(
            parse_kind("0", Kind::Executor),
            Err(TargetError::WrongKind { .. })
        ));
    }
}
