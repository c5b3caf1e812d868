//! fuzz/README.md describes fuzz/ as it is: its table names exactly the
//! targets that exist (one in `mbim_fuzz::TARGETS`, a `[[bin]]` in
//! fuzz/Cargo.toml, a file in fuzz_targets/, a seed directory), and every
//! file or directory of fuzz/ it names in backquotes is there (but
//! `artifacts/` and `regressions/`, which a crash makes).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use mbim_fuzz::{corpus_dir, fuzz_dir, TARGETS};

#[test]
fn the_fuzz_readme_matches_the_fuzz_directory() {
    let fuzz = fuzz_dir();
    let repository = fuzz.parent().unwrap().to_path_buf();
    let readme = std::fs::read_to_string(fuzz.join("README.md")).unwrap();
    let mut listed: Vec<&str> = readme
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split('`').next())
        .collect();
    listed.sort_unstable();
    let manifest = std::fs::read_to_string(fuzz.join("Cargo.toml")).unwrap();
    let mut bins: Vec<&str> = manifest
        .lines()
        .filter_map(|line| line.strip_prefix("name = \""))
        .filter_map(|rest| rest.strip_suffix('"'))
        .filter(|name| *name != "mbim-protocol-fuzz")
        .collect();
    bins.sort_unstable();
    let mut known: Vec<&str> = TARGETS.iter().map(|target| target.name).collect();
    known.sort_unstable();
    assert_eq!(listed, known, "README table vs mbim_fuzz::TARGETS");
    assert_eq!(bins, known, "fuzz/Cargo.toml's [[bin]]s vs the targets");
    for target in known {
        assert!(
            fuzz.join("fuzz_targets")
                .join(format!("{target}.rs"))
                .is_file(),
            "fuzz_targets/{target}.rs"
        );
        assert!(corpus_dir(target).is_dir(), "corpus/{target}/");
    }
    // Names of fuzz/'s own files and directories in backquotes.
    for quoted in readme.split('`').skip(1).step_by(2) {
        let simple = quoted
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
        let local = !quoted.starts_with('/') && !quoted.contains("..");
        let looks_like_path =
            quoted.ends_with('/') || quoted.ends_with(".rs") || quoted.ends_with(".sh");
        let made_by_a_crash =
            quoted.starts_with("artifacts/") || quoted.starts_with("regressions/");
        if simple && local && looks_like_path && !made_by_a_crash {
            assert!(
                fuzz.join(quoted).exists() || repository.join(quoted).exists(),
                "fuzz/README.md names `{quoted}`, which is neither in fuzz/ nor in the repository"
            );
        }
    }
}
