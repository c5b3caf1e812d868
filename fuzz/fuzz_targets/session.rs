//! Fuzz target `session`: see `targets::session` in ../targets.rs for what it
//! feeds and which invariants it checks.

#![no_main]

#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::session(data));
