//! `mbimd` (being written).
fn main() {}
