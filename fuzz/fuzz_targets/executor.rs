//! Fuzz target `executor`: see `executor` in ../executor_target.rs for what
//! it feeds mbimd's executor state machine and which invariants it checks.

#![no_main]

#[path = "../executor_target.rs"]
mod executor_target;

libfuzzer_sys::fuzz_target!(|data: &[u8]| executor_target::executor(data));
