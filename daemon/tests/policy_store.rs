//! The remembered-slot store: round trips through a file in a fresh
//! directory, and what a crash or a foreign file leaves.
// Helpers outside #[test] functions unwrap too: a panic is a failed test.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

use mbimd::policy::store::{SlotStore, StoreError};
use mbimd::policy::ModemId;

/// A fresh directory for one test, removed by the test when it passes.
fn temp_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("mbimd-policy-store-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn round_trips() {
    let dir = temp_dir("round-trip");
    let store = SlotStore::new(dir.join("slots.toml"));
    let one = ModemId::from_usb(0x2c7c, 0x0125, Some("ABC"), "1-2");
    let two = ModemId::from_usb(0x1199, 0x9091, None, "3-1.4");
    // (modem, slot remembered, every choice in the store afterwards)
    type Case<'a> = (&'a ModemId, u32, &'a [(&'a ModemId, u32)]);
    let cases: &[Case] = &[
        (&one, 1, &[(&one, 1)]),
        (&two, 0, &[(&one, 1), (&two, 0)]),
        (&one, 0, &[(&one, 0), (&two, 0)]),
        (&one, 0, &[(&one, 0), (&two, 0)]),
    ];
    assert_eq!(store.load().unwrap(), BTreeMap::new(), "no file yet");
    assert_eq!(store.get(&one).unwrap(), None);
    for (modem, slot, expected) in cases {
        store.remember(modem, *slot).unwrap();
        let expected: BTreeMap<ModemId, u32> = expected
            .iter()
            .map(|(modem, slot)| ((*modem).clone(), *slot))
            .collect();
        assert_eq!(store.load().unwrap(), expected);
        // A new store on the same file (a restarted daemon) reads the same.
        assert_eq!(SlotStore::new(store.path()).load().unwrap(), expected);
    }
    // Nothing but the store is left in the directory.
    let names: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("slots.toml")]);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_leftover_temporary_file_is_ignored_and_replaced() {
    let dir = temp_dir("leftover");
    let path = dir.join("slots.toml");
    let store = SlotStore::new(&path);
    let modem = ModemId::new("2c7c:0125:ABC");
    store.remember(&modem, 1).unwrap();
    // A crash between writing the temporary file and the rename.
    fs::write(dir.join("slots.toml.tmp"), "[slots]\n\"2c7c:0125:A").unwrap();
    assert_eq!(store.get(&modem).unwrap(), Some(1));
    store.remember(&modem, 0).unwrap();
    assert_eq!(store.get(&modem).unwrap(), Some(0));
    assert!(!dir.join("slots.toml.tmp").exists());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn errors_name_the_file() {
    let dir = temp_dir("errors");
    let path = dir.join("slots.toml");
    let cases = ["[slots]\n\"a\" = \"one\"", "colour = 1", "[slots"];
    for text in cases {
        fs::write(&path, text).unwrap();
        let error = SlotStore::new(&path).load().unwrap_err();
        assert!(matches!(error, StoreError::Parse { .. }), "{text}: {error}");
        assert!(error.to_string().contains("slots.toml"), "{error}");
    }
    let missing_dir = SlotStore::new(dir.join("absent").join("slots.toml"));
    let error = missing_dir.remember(&ModemId::new("m"), 0).unwrap_err();
    assert!(matches!(error, StoreError::Write { .. }), "{error}");
    fs::remove_dir_all(&dir).unwrap();
}
