//! The slot policy's decisions stay pure: its source (tests aside) reads no
//! clock and does no I/O, so every rule is testable with time as an
//! argument. Only `store.rs` touches files, by design.

use std::path::Path;

#[test]
fn the_policy_reads_no_clock_and_does_no_io() {
    let forbidden = [
        "Instant::now",
        "SystemTime",
        "std::fs",
        "std::net",
        "std::io",
        "tokio",
        "thread::sleep",
    ];
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/policy");
    for file in ["mod.rs", "slots.rs", "config.rs"] {
        let source = std::fs::read_to_string(dir.join(file)).unwrap_or_default();
        assert!(!source.is_empty(), "{file} is missing");
        // Unit tests may use the clock to make instants.
        let code = source.split("#[cfg(test)]").next().unwrap_or_default();
        for word in forbidden {
            assert!(!code.contains(word), "{file} uses {word}");
        }
    }
}
