//! No configuration text can panic the loader, and every error it returns
//! points inside the text.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::Path;

use mbimd::config::{Config, ConfigError, Location};
use proptest::prelude::*;

/// Lines built from the configuration's own keys and values, so the
/// generator reaches validation rather than stopping at syntax.
fn config_line() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("[devices]".to_owned()),
        Just("[interfaces]".to_owned()),
        Just("[[interfaces.names]]".to_owned()),
        Just("[[profiles]]".to_owned()),
        Just("[routes]".to_owned()),
        Just("[dns]".to_owned()),
        Just("[logging]".to_owned()),
        Just("[[sims]]".to_owned()),
        Just("[simulate]".to_owned()),
        (
            prop::sample::select(vec![
                "allow",
                "deny",
                "scheme",
                "device",
                "executor",
                "name",
                "apn",
                "auth",
                "user",
                "password",
                "ip-type",
                "route-metric",
                "match-iccid",
                "match-imsi-prefix",
                "match-provider",
                "default-route",
                "metric",
                "backend",
                "level",
                "target",
                "show-personal-info",
                "iccid",
                "pin",
                "scenario",
                "bogus",
            ]),
            prop_oneof![
                "\"[a-z0-9:.{}%/ -]{0,20}\"",
                "-?[0-9]{1,12}",
                Just("true".to_owned()),
                Just("[\"2c7c:0125\", \"usb:1-1\"]".to_owned()),
                Just("[1, 2]".to_owned()),
                Just("{}".to_owned()),
            ],
        )
            .prop_map(|(key, value)| format!("{key} = {value}")),
    ]
}

fn check(text: &str) {
    let lines = text.lines().count().max(1);
    match Config::parse(text, Path::new("p.toml")) {
        Ok(_) => {}
        Err(ConfigError::Invalid { at, message }) => {
            assert!(at.line >= 1 && at.line <= lines + 1, "{at} {message}");
            assert!(at.column >= 1);
            assert!(!message.is_empty());
        }
        Err(other) => panic!("unexpected error kind: {other:?}"),
    }
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        check(&text);
    }

    #[test]
    fn plausible_configurations_never_panic(lines in prop::collection::vec(config_line(), 0..20)) {
        check(&lines.join("\n"));
    }

    #[test]
    fn any_offset_has_a_location(text in "\\PC{0,50}", offset in 0usize..80) {
        let at = Location::at(Path::new("f"), &text, offset);
        prop_assert!(at.line >= 1 && at.line <= text.lines().count() + 1);
        prop_assert!(at.column >= 1 && at.column <= text.chars().count() + 1);
    }
}
