//! Hostile calls on every method of mbimd's D-Bus interfaces, through a real
//! dbus-daemon with busctl as the caller: wrong argument types, missing and
//! extra arguments, out-of-range indexes and objects that do not exist, huge
//! strings and arrays, deeply nested variants. Each must be answered with a
//! D-Bus error of the expected name (read off the bus with `busctl monitor`)
//! and a message, reach nothing behind the D-Bus layer, and leave the
//! published state as it was.
//!
//! The methods are read from the committed interface files, so a method
//! added later is attacked too without anyone listing it here.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod dbus_common;

use dbus_common::*;
use mbimd::dbus::BUS_NAME;
use mbimd::executor::ExecutorCommand;

const INVALID_ARGS: &str = "org.freedesktop.DBus.Error.InvalidArgs";
const UNKNOWN_OBJECT: &str = "org.freedesktop.DBus.Error.UnknownObject";

/// Longer than anything mbimd takes (an APN is at most 100 characters, a PIN
/// 8 digits), and within what one command-line argument may be (128 KiB).
const HUGE_STRING_LEN: usize = 100_000;
/// Elements of the huge arrays and dictionaries.
const HUGE_ARRAY_LEN: usize = 10_000;
/// Variants inside variants, short of the D-Bus limit of 64 nested containers.
const NESTED_VARIANTS: usize = 30;

/// One method of an interface file: its name and its in-arguments' types.
#[derive(Debug, Clone)]
struct Method {
    interface: String,
    name: String,
    inputs: Vec<String>,
}

/// The value of `attribute="…"` in an XML tag.
fn attribute<'a>(tag: &'a str, attribute: &str) -> Option<&'a str> {
    let start = tag.find(&format!("{attribute}=\""))? + attribute.len() + 2;
    let rest = tag.get(start..)?;
    rest.get(..rest.find('"')?)
}

/// Every method of every `dev.mbimd.*.xml`, with its in-arguments.
fn methods() -> Vec<Method> {
    let mut files: Vec<_> = std::fs::read_dir(interfaces_dir())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "xml"))
        .collect();
    files.sort();
    let mut methods = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let mut interface = String::new();
        let mut current: Option<Method> = None;
        for tag in text.split('<').map(str::trim) {
            if tag.starts_with("interface ") {
                interface = attribute(tag, "name").unwrap().to_owned();
            } else if tag.starts_with("method ") {
                methods.extend(current.take());
                current = Some(Method {
                    interface: interface.clone(),
                    name: attribute(tag, "name").unwrap().to_owned(),
                    inputs: Vec::new(),
                });
            } else if tag.starts_with("/method") {
                methods.extend(current.take());
            } else if tag.starts_with("arg ") && attribute(tag, "direction") == Some("in") {
                if let Some(method) = current.as_mut() {
                    method
                        .inputs
                        .push(attribute(tag, "type").unwrap().to_owned());
                }
            }
        }
    }
    methods
}

/// The object that carries `interface` in the test's modem.
fn object_of(interface: &str) -> &'static str {
    match interface {
        "dev.mbimd.Manager1" => "/dev/mbimd/Mbimd1",
        "dev.mbimd.Modem1" => "/dev/mbimd/Mbimd1/Modem0",
        "dev.mbimd.Executor1" => "/dev/mbimd/Mbimd1/Modem0/Executor0",
        "dev.mbimd.Slot1" => "/dev/mbimd/Mbimd1/Modem0/Slot0",
        other => panic!("no object of the test modem has {other}"),
    }
}

/// busctl's arguments for a valid-looking value of `signature`: the
/// signature's part, then the values.
fn ordinary(signature: &str) -> Vec<String> {
    let values: &[&str] = match signature {
        // 8 digits: a valid PIN and a valid PUK.
        "s" => &["12345678"],
        "u" => &["0"],
        "b" => &["true"],
        "au" => &["1", "0"],
        "a{sv}" => &["0"],
        other => panic!("no ordinary value for {other}: add one"),
    };
    values.iter().map(|value| (*value).to_owned()).collect()
}

/// A value of the same type that no method may accept, if the type has one.
fn hostile(signature: &str) -> Vec<(String, Vec<String>)> {
    let huge_string = "7".repeat(HUGE_STRING_LEN);
    match signature {
        "s" => vec![
            ("a 100,000-character string".to_owned(), vec![huge_string]),
            (
                "control characters".to_owned(),
                vec!["12\u{1b}[2J\n34".to_owned()],
            ),
        ],
        "u" => vec![("the largest index".to_owned(), vec![u32::MAX.to_string()])],
        "au" => {
            let mut values = vec![HUGE_ARRAY_LEN.to_string()];
            values.extend(std::iter::repeat_n(u32::MAX.to_string(), HUGE_ARRAY_LEN));
            vec![("a 10,000-element array".to_owned(), values)]
        }
        "a{sv}" => {
            let mut many = vec![HUGE_ARRAY_LEN.to_string()];
            for index in 0..HUGE_ARRAY_LEN {
                many.extend([format!("key{index}"), "s".to_owned(), "x".to_owned()]);
            }
            let mut nested = vec!["1".to_owned(), "apn".to_owned()];
            nested.extend(std::iter::repeat_n("v".to_owned(), NESTED_VARIANTS));
            nested.extend(["s".to_owned(), "internet".to_owned()]);
            vec![
                ("a 10,000-entry dictionary".to_owned(), many),
                ("variants 30 deep".to_owned(), nested),
                (
                    "a 100,000-character key".to_owned(),
                    vec![
                        "1".to_owned(),
                        huge_string.clone(),
                        "s".to_owned(),
                        "x".to_owned(),
                    ],
                ),
                (
                    "an auth of 100,000 characters".to_owned(),
                    vec![
                        "1".to_owned(),
                        "auth".to_owned(),
                        "s".to_owned(),
                        huge_string.clone(),
                    ],
                ),
                (
                    "an APN of 100,000 characters".to_owned(),
                    vec![
                        "1".to_owned(),
                        "apn".to_owned(),
                        "s".to_owned(),
                        huge_string,
                    ],
                ),
            ]
        }
        // A boolean has no value out of range.
        _ => Vec::new(),
    }
}

/// A type other than `signature`, with a value.
fn wrong_type(signature: &str) -> (String, Vec<String>) {
    match signature {
        "s" => ("u".to_owned(), vec!["7".to_owned()]),
        "u" => ("s".to_owned(), vec!["7".to_owned()]),
        "b" => ("s".to_owned(), vec!["true".to_owned()]),
        "au" => ("as".to_owned(), vec!["1".to_owned(), "0".to_owned()]),
        "a{sv}" => (
            "a{ss}".to_owned(),
            vec!["1".to_owned(), "apn".to_owned(), "internet".to_owned()],
        ),
        other => panic!("no wrong type for {other}: add one"),
    }
}

/// One hostile call: where, what, and the error it must get.
#[derive(Debug)]
struct Case {
    what: String,
    path: String,
    method: Method,
    /// busctl's signature-and-values arguments.
    arguments: Vec<String>,
    error: &'static str,
}

/// busctl's arguments for `inputs`, with input `replaced` (its index) given
/// as `signature` and `values` instead.
fn arguments(inputs: &[String], replaced: Option<(usize, &str, &[String])>) -> Vec<String> {
    let mut signature = String::new();
    let mut values = Vec::new();
    for (index, input) in inputs.iter().enumerate() {
        match replaced {
            Some((at, new_signature, new_values)) if at == index => {
                signature.push_str(new_signature);
                values.extend_from_slice(new_values);
            }
            _ => {
                signature.push_str(input);
                values.extend(ordinary(input));
            }
        }
    }
    if signature.is_empty() {
        return Vec::new();
    }
    let mut all = vec![signature];
    all.extend(values);
    all
}

/// Every hostile call on every method.
fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for method in methods() {
        let path = object_of(&method.interface).to_owned();
        let case = |what: String, path: &str, arguments: Vec<String>, error| Case {
            what,
            path: path.to_owned(),
            method: method.clone(),
            arguments,
            error,
        };
        let inputs = &method.inputs;
        // One argument too many.
        let mut extra = arguments(inputs, None);
        match extra.first_mut() {
            Some(signature) => signature.push('s'),
            None => extra.push("s".to_owned()),
        }
        extra.push("surplus".to_owned());
        cases.push(case(
            "an extra argument".to_owned(),
            &path,
            extra,
            INVALID_ARGS,
        ));
        if !inputs.is_empty() {
            cases.push(case(
                "no arguments".to_owned(),
                &path,
                Vec::new(),
                INVALID_ARGS,
            ));
        }
        for (index, input) in inputs.iter().enumerate() {
            let (signature, values) = wrong_type(input);
            cases.push(case(
                format!("argument {index} as {signature}, not {input}"),
                &path,
                arguments(inputs, Some((index, &signature, &values))),
                INVALID_ARGS,
            ));
            for (what, values) in hostile(input) {
                cases.push(case(
                    format!("argument {index}: {what}"),
                    &path,
                    arguments(inputs, Some((index, input, &values))),
                    INVALID_ARGS,
                ));
            }
        }
        // The method on objects that do not exist: an index past the last
        // modem, executor or slot.
        let missing = match path.rsplit_once('/') {
            Some((parent, _)) if path != "/dev/mbimd/Mbimd1" => {
                let kind = path.rsplit('/').next().unwrap().trim_end_matches('0');
                format!("{parent}/{kind}4294967295")
            }
            _ => "/dev/mbimd/Mbimd1/Modem0/Executor9".to_owned(),
        };
        cases.push(case(
            format!("on {missing}, which does not exist"),
            &missing,
            arguments(inputs, None),
            UNKNOWN_OBJECT,
        ));
    }
    cases
}

/// Every object's properties, as busctl shows them: the published state.
async fn state(bus: &PrivateBus) -> serde_json::Value {
    let run = busctl(
        bus,
        None,
        &[
            "--json=short",
            "call",
            BUS_NAME,
            "/dev/mbimd/Mbimd1",
            "org.freedesktop.DBus.ObjectManager",
            "GetManagedObjects",
        ],
    )
    .await;
    serde_json::from_str(run.out()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_method_refuses_hostile_arguments_by_name_and_changes_nothing() {
    let mut fixture = Fixture::start(None).await;
    let bus = &fixture.bus;
    let before = state(bus).await;
    let mut monitor = Monitor::start(bus);
    let cases = cases();
    let methods = methods();
    assert!(
        methods.len() >= 12,
        "only {} methods read from the interface files",
        methods.len()
    );
    let mut failures = Vec::new();
    for case in &cases {
        let mut args = vec![
            "call".to_owned(),
            BUS_NAME.to_owned(),
            case.path.clone(),
            case.method.interface.clone(),
            case.method.name.clone(),
        ];
        args.extend(case.arguments.iter().cloned());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = busctl(bus, None, &args).await;
        let label = format!(
            "{}.{} with {}",
            case.method.interface, case.method.name, case.what
        );
        if run.ok {
            failures.push(format!("{label}: succeeded: {}", run.stdout.trim()));
            continue;
        }
        // The error reply, as the bus carried it to busctl.
        let reply = monitor
            .wait_for(&format!("the error answering {label}"), |message| {
                message["type"] == "error"
            })
            .await;
        let name = reply["error_name"].as_str().unwrap_or_default();
        let message = reply["payload"]["data"][0].as_str().unwrap_or_default();
        if name != case.error {
            failures.push(format!("{label}: {name} ({message}), not {}", case.error));
        } else if message.trim().is_empty() {
            failures.push(format!("{label}: {name} without a message"));
        } else if message.len() > 1024 {
            failures.push(format!(
                "{label}: a {}-byte message echoes the input",
                message.len()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} hostile calls were not refused as they should be:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    // Nothing reached the modem: the next request its supervisor sees is
    // this ordinary one, and what D-Bus publishes is as it was.
    call(
        bus,
        None,
        "/dev/mbimd/Mbimd1/Modem0/Executor0",
        "dev.mbimd.Executor1",
        "SetRadio",
        &["b", "true"],
    )
    .await
    .out();
    assert_eq!(
        fixture.modem.next().await,
        Seen::Executor(0, ExecutorCommand::SetRadio(true))
    );
    assert_eq!(state(bus).await, before, "the published state changed");
    eprintln!(
        "{} hostile calls on {} methods, each refused by name",
        cases.len(),
        methods.len()
    );
}
