//! Rules that involve more than one value, or values of types owned
//! elsewhere (the executor's `Profile`): checked after deserialization, with
//! the offending value found again in the document for its location.

use std::collections::HashSet;
use std::ops::Range;

use toml::de::DeTable;

use super::locate::{span_of, Step};
use super::values::ROUTE_METRIC_EXPECTED;
use super::Config;

/// A problem: where (if known) and what.
type Problem = (Option<Range<usize>>, String);

/// The problem earliest in the file, so fixing them top to bottom works.
pub(super) fn first_problem(config: &Config, document: &DeTable<'_>) -> Option<Problem> {
    let mut problems = Vec::new();
    profiles(config, document, &mut problems);
    interface_names(config, document, &mut problems);
    sims(config, document, &mut problems);
    simulate(config, document, &mut problems);
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

fn profiles(config: &Config, document: &DeTable<'_>, problems: &mut Vec<Problem>) {
    let mut names = HashSet::new();
    for (index, profile) in config.profiles.iter().enumerate() {
        let field = |key| {
            at(
                document,
                &[Step::Key("profiles"), Step::Index(index), Step::Key(key)],
            )
        };
        if profile.name.is_empty() {
            problems.push((field("name"), "empty profile name".to_owned()));
        } else if !names.insert(profile.name.as_str()) {
            problems.push((
                field("name"),
                format!(
                    "duplicate profile name {:?}: each profile needs its own name",
                    profile.name
                ),
            ));
        }
        if profile.route_metric == Some(0) {
            problems.push((field("route-metric"), ROUTE_METRIC_EXPECTED.to_owned()));
        }
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

fn digits(text: &str, lengths: std::ops::RangeInclusive<usize>) -> bool {
    lengths.contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit())
}

fn interface_names(config: &Config, document: &DeTable<'_>, problems: &mut Vec<Problem>) {
    let mut names = HashSet::new();
    let mut executors = HashSet::new();
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
        if !names.insert(&entry.name) {
            problems.push((
                field("name"),
                format!("duplicate interface name {:?}", entry.name.as_str()),
            ));
        }
        if !executors.insert((&entry.device, entry.executor)) {
            problems.push((
                field("device"),
                format!(
                    "executor {} of {} is already named above",
                    entry.executor, entry.device
                ),
            ));
        }
    }
}

fn sims(config: &Config, document: &DeTable<'_>, problems: &mut Vec<Problem>) {
    let mut iccids = HashSet::new();
    for (index, sim) in config.sims.iter().enumerate() {
        if !iccids.insert(sim.iccid.as_str()) {
            problems.push((
                at(
                    document,
                    &[Step::Key("sims"), Step::Index(index), Step::Key("iccid")],
                ),
                "duplicate ICCID: each SIM is listed once".to_owned(),
            ));
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
}
