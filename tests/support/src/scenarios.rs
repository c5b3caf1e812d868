//! Simulated modems for tests and benchmarks that run several at once.

/// The built-in dual-SIM scenario (simulator/scenarios/dssa.toml) for modem
/// `index` of several in one network namespace: its own subnets
/// (10.64.0.0/30 for the first, 10.65.0.0/30 for the second, …; IPv6
/// fd00:6d62::/64, fd00:6d62:1::/64, …), as modems of different operators
/// hand out. At most 190 modems (the IPv4 second octet stays below 255).
pub fn dual_sim_with_own_subnets(index: u8) -> String {
    let text = include_str!("../../../simulator/scenarios/dssa.toml");
    let octet = 64 + u16::from(index.min(190));
    let scenario = text
        .replace("10.64.0.", &format!("10.{octet}.0."))
        .replace("fd00:6d62::", &format!("fd00:6d62:{index:x}::"));
    assert!(
        index == 0 || scenario != text,
        "the dssa scenario's subnets moved: update scenarios.rs"
    );
    scenario
}

/// The built-in dual-SIM scenario (simulator/scenarios/dssa.toml) offering
/// up to MBIMEx `mbimex` (1 to 4), with its first card's PIN1 enabled or
/// not: what the executor's tests run against, once per version.
pub fn dual_sim(mbimex: u8, pin_enabled: bool) -> String {
    let text = include_str!("../../../simulator/scenarios/dssa.toml");
    let mut scenario = text.replacen("\nmbimex = 1\n", &format!("\nmbimex = {mbimex}\n"), 1);
    if pin_enabled {
        scenario = scenario.replacen("pin_enabled = false", "pin_enabled = true", 1);
    }
    assert!(
        (mbimex == 1 || scenario != text)
            && (!pin_enabled || scenario.contains("pin_enabled = true")),
        "the dssa scenario's mbimex or pin_enabled line moved: update scenarios.rs"
    );
    scenario
}
