//! Rules that involve more than one value, or values of types owned
//! elsewhere (the executor's `Profile`): checked after deserialization, with
//! the offending value found again in the document for its location.

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;

use toml::de::DeTable;

use super::locate::{span_of, Location, Step};
use super::Config;
use crate::executor::MAX_EXTRA_SESSIONS;

/// A problem: where (if known) and what.
type Problem = (Option<Range<usize>>, String);

/// The problem earliest in the file, so fixing them top to bottom works.
pub(super) fn first_problem(
    config: &Config,
    document: &DeTable<'_>,
    text: &str,
) -> Option<Problem> {
    let mut problems = Vec::new();
    profiles(config, document, text, &mut problems);
    interface_names(config, document, text, &mut problems);
    sims(config, document, text, &mut problems);
    simulate(config, document, &mut problems);
    slot_policy(config, document, text, &mut problems);
    fcc_unlock(config, document, &mut problems);
    problems
        .into_iter()
        .min_by_key(|(span, _)| span.as_ref().map_or(usize::MAX, |span| span.start))
}

/// Where the first PIN is, if the configuration has one (`Some(None)`: it
/// has one, but its place was not found).
pub(super) fn first_pin(config: &Config, document: &DeTable<'_>) -> Option<Option<Range<usize>>> {
    config
        .sims
        .iter()
        .position(|sim| sim.pin.is_some())
        .map(|index| {
            span_of(
                document,
                &[Step::Key("sims"), Step::Index(index), Step::Key("pin")],
            )
        })
}

fn at(document: &DeTable<'_>, path: &[Step<'_>]) -> Option<Range<usize>> {
    span_of(document, path)
}

/// " (first on line N)" for a duplicate, so the reader finds both without
/// searching the file.
fn first_on(text: &str, first: &Option<Range<usize>>) -> String {
    match first {
        Some(span) => format!(
            " (first on line {})",
            Location::at(Path::new(""), text, span.start).line
        ),
        None => String::new(),
    }
}

fn profiles(config: &Config, document: &DeTable<'_>, text: &str, problems: &mut Vec<Problem>) {
    let mut names = HashMap::new();
    for (index, profile) in config.profiles.iter().enumerate() {
        let field = |key| {
            at(
                document,
                &[Step::Key("profiles"), Step::Index(index), Step::Key(key)],
            )
        };
        if profile.name.is_empty() {
            problems.push((field("name"), "empty profile name".to_owned()));
        } else if let Some(first) = names.get(profile.name.as_str()) {
            problems.push((
                field("name"),
                format!(
                    "duplicate profile name {:?}{}: each profile needs its own name",
                    profile.name,
                    first_on(text, first)
                ),
            ));
        } else {
            names.insert(profile.name.as_str(), field("name"));
        }
        // The rules Connect's overrides follow too.
        for problem in profile.problems() {
            problems.push((field(problem.field), problem.message));
        }
        sessions(profile, index, document, text, problems);
        if let Some(iccid) = &profile.match_iccid {
            if !digits(iccid, 18..=22) {
                problems.push((
                    field("match-iccid"),
                    "bad match-iccid: expected 18 to 22 digits".to_owned(),
                ));
            }
        }
        if let Some(prefix) = &profile.match_imsi_prefix {
            if !digits(prefix, 1..=15) {
                problems.push((
                    field("match-imsi-prefix"),
                    "bad match-imsi-prefix: expected 1 to 15 digits".to_owned(),
                ));
            }
        }
        if let Some(provider) = &profile.match_provider {
            if !digits(provider, 5..=6) {
                problems.push((
                    field("match-provider"),
                    format!(
                        "bad match-provider {provider:?}: expected the MCC and MNC, 5 or 6 \
                         digits such as \"00101\""
                    ),
                ));
            }
        }
    }
}

/// `[[profiles.sessions]]`: at most [`MAX_EXTRA_SESSIONS`], each named
/// once in its profile (and not as the profile itself), each following the
/// profile's rules.
fn sessions(
    profile: &crate::executor::Profile,
    index: usize,
    document: &DeTable<'_>,
    text: &str,
    problems: &mut Vec<Problem>,
) {
    let mut names: HashMap<&str, Option<Range<usize>>> = HashMap::new();
    for (position, session) in profile.sessions.iter().enumerate() {
        let field = |key| {
            at(
                document,
                &[
                    Step::Key("profiles"),
                    Step::Index(index),
                    Step::Key("sessions"),
                    Step::Index(position),
                    Step::Key(key),
                ],
            )
        };
        if position == MAX_EXTRA_SESSIONS {
            problems.push((
                field("name"),
                format!(
                    "profile {:?} names more than {MAX_EXTRA_SESSIONS} further sessions; \
                     expected at most {MAX_EXTRA_SESSIONS} [[profiles.sessions]] (session ids \
                     1 to {MAX_EXTRA_SESSIONS})",
                    profile.name
                ),
            ));
        }
        if session.name.is_empty() {
            problems.push((field("name"), "empty session name".to_owned()));
        } else if session.name == profile.name {
            problems.push((
                field("name"),
                format!(
                    "session name {:?} is the profile's own (session 0); expected another name",
                    session.name
                ),
            ));
        } else if let Some(first) = names.get(session.name.as_str()) {
            problems.push((
                field("name"),
                format!(
                    "duplicate session name {:?}{}: each session of a profile needs its own name",
                    session.name,
                    first_on(text, first)
                ),
            ));
        } else {
            names.insert(session.name.as_str(), field("name"));
        }
        for problem in session.problems() {
            problems.push((field(problem.field), problem.message));
        }
    }
}

fn digits(text: &str, lengths: std::ops::RangeInclusive<usize>) -> bool {
    lengths.contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit())
}

fn interface_names(
    config: &Config,
    document: &DeTable<'_>,
    text: &str,
    problems: &mut Vec<Problem>,
) {
    let mut names = HashMap::new();
    let mut executors = HashMap::new();
    for (index, entry) in config.interfaces.names.iter().enumerate() {
        let field = |key| {
            at(
                document,
                &[
                    Step::Key("interfaces"),
                    Step::Key("names"),
                    Step::Index(index),
                    Step::Key(key),
                ],
            )
        };
        match names.get(&entry.name) {
            Some(first) => problems.push((
                field("name"),
                format!(
                    "duplicate interface name {:?}{}",
                    entry.name.as_str(),
                    first_on(text, first)
                ),
            )),
            None => {
                names.insert(&entry.name, field("name"));
            }
        }
        match executors.get(&(&entry.device, entry.executor)) {
            Some(first) => problems.push((
                field("device"),
                format!(
                    "executor {} of {} is already named{}",
                    entry.executor,
                    entry.device,
                    first_on(text, first)
                ),
            )),
            None => {
                executors.insert((&entry.device, entry.executor), field("device"));
            }
        }
    }
}

fn sims(config: &Config, document: &DeTable<'_>, text: &str, problems: &mut Vec<Problem>) {
    let mut iccids = HashMap::new();
    for (index, sim) in config.sims.iter().enumerate() {
        let span = at(
            document,
            &[Step::Key("sims"), Step::Index(index), Step::Key("iccid")],
        );
        match iccids.get(sim.iccid.as_str()) {
            Some(first) => problems.push((
                span,
                format!(
                    "duplicate ICCID{}: each SIM is listed once",
                    first_on(text, first)
                ),
            )),
            None => {
                iccids.insert(sim.iccid.as_str(), span);
            }
        }
    }
}

fn simulate(config: &Config, document: &DeTable<'_>, problems: &mut Vec<Problem>) {
    if config
        .simulate
        .scenario
        .as_ref()
        .is_some_and(|path| path.as_os_str().is_empty())
    {
        problems.push((
            at(document, &[Step::Key("simulate"), Step::Key("scenario")]),
            "empty scenario path: give a file, or leave the key out for the built-in scenario"
                .to_owned(),
        ));
    }
    if config
        .simulate
        .control
        .as_ref()
        .is_some_and(|path| path.as_os_str().is_empty())
    {
        problems.push((
            at(document, &[Step::Key("simulate"), Step::Key("control")]),
            "empty control socket path: give a path, or leave the key out for no control socket"
                .to_owned(),
        ));
    }
}

fn slot_policy(config: &Config, document: &DeTable<'_>, text: &str, problems: &mut Vec<Problem>) {
    if config.slot_policy.state_file.as_os_str().is_empty() {
        problems.push((
            at(
                document,
                &[Step::Key("slot-policy"), Step::Key("state-file")],
            ),
            "empty state-file: give a file, or leave the key out for /var/lib/mbimd/slots.toml"
                .to_owned(),
        ));
    }
    let mut devices = HashMap::new();
    for (index, entry) in config.modems.iter().enumerate() {
        let span = at(
            document,
            &[Step::Key("modem"), Step::Index(index), Step::Key("device")],
        );
        match devices.get(&entry.device) {
            // The first matching entry wins, so a second one would be dead.
            Some(first) => problems.push((
                span,
                format!(
                    "{} already has a [[modem]] entry{}",
                    entry.device,
                    first_on(text, first)
                ),
            )),
            None => {
                devices.insert(&entry.device, span);
            }
        }
    }
}

/// A device rule's FCC unlock: a hook needs an absolute program path and a
/// timeout; a path or key is given only where it is used.
fn fcc_unlock(config: &Config, document: &DeTable<'_>, problems: &mut Vec<Problem>) {
    use super::FccUnlockChoice;
    for (index, rule) in config.devices.rules.iter().enumerate() {
        let key = |name| {
            at(
                document,
                &[
                    Step::Key("devices"),
                    Step::Key("rules"),
                    Step::Index(index),
                    Step::Key(name),
                ],
            )
        };
        let hook = rule.fcc_unlock == FccUnlockChoice::Hook;
        match &rule.fcc_unlock_hook {
            None if hook => problems.push((
                key("fcc-unlock"),
                "fcc-unlock = \"hook\" needs fcc-unlock-hook, the program to run".to_owned(),
            )),
            Some(path) if !hook => problems.push((
                key("fcc-unlock-hook"),
                format!(
                    "fcc-unlock-hook {} is only run with fcc-unlock = \"hook\"",
                    path.display()
                ),
            )),
            Some(path) if !path.is_absolute() => problems.push((
                key("fcc-unlock-hook"),
                format!(
                    "fcc-unlock-hook must be an absolute path, not {}",
                    path.display()
                ),
            )),
            _ => {}
        }
        if rule.fcc_unlock_timeout == 0 {
            problems.push((
                key("fcc-unlock-timeout"),
                "fcc-unlock-timeout must be at least 1 second".to_owned(),
            ));
        }
        if let Some(text) = &rule.fcc_unlock_key {
            if crate::executor::parse_fcc_key(text).is_none() {
                problems.push((
                    key("fcc-unlock-key"),
                    format!("fcc-unlock-key must be eight hex digits (3df8c719), not {text:?}"),
                ));
            } else if !matches!(rule.fcc_unlock, FccUnlockChoice::IntelMutualAuthentication) {
                problems.push((
                    key("fcc-unlock-key"),
                    "fcc-unlock-key is only used with fcc-unlock = \"intel-mutual-authentication\""
                        .to_owned(),
                ));
            }
        }
    }
}
