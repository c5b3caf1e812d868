//! `mbim-sim`: run the simulated modem (being written).
fn main() {}
