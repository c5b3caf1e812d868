//! Logging set-up (the `[logging]` section) and personal-data masking.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::Path;

use mbimd::config::{Config, LogTarget, Logging};
use mbimd::logging::{self, personal, Destination, LoggingError, JOURNAL_SOCKET, MASK};

/// One test, because the subscriber is global to the test binary.
#[test]
fn init_twice_does_not_panic() {
    if !Path::new(JOURNAL_SOCKET).exists() {
        // Asked for explicitly, an absent journal is an error, and nothing
        // is installed.
        let journald = Logging {
            target: LogTarget::Journald,
            ..Logging::default()
        };
        assert!(matches!(
            logging::init(&journald),
            Err(LoggingError::Journal(_))
        ));
    }
    let settings = Config::parse(
        "[logging]\nlevel = \"debug\"\ntarget = \"stderr\"\nshow-personal-info = true\n",
        Path::new("t.toml"),
    )
    .unwrap()
    .logging;
    assert!(!logging::personal_info());
    assert_eq!(logging::init(&settings).unwrap(), Destination::Stderr);
    assert!(logging::personal_info());
    tracing::info!(modem = "1-1.2", executor = 0, slot = 1, "logging works");

    let again = logging::init(&Logging::default());
    assert!(matches!(again, Err(LoggingError::AlreadyInitialized)));
    // The first settings stay.
    assert!(logging::personal_info());
    tracing::info!("still logging");
}

#[test]
fn personal_data_is_masked_but_for_the_operator_prefix() {
    let imsi = "001010123456789";
    assert_eq!(personal(imsi, false).to_string(), "00101**********");
    assert_eq!(personal(imsi, true).to_string(), imsi);
    assert_eq!(
        personal("8988211000000000001", false).to_string(),
        "89882**************"
    );
    assert_eq!(
        personal("+4915112345678", false).to_string(),
        "+4915*********"
    );
    // Exactly ten characters keep their prefix; fewer are hidden entirely.
    assert_eq!(personal("0123456789", false).to_string(), "01234*****");
    assert_eq!(personal("012345678", false).to_string(), MASK);
    assert_eq!(personal("1", false).to_string(), MASK);
    // Empty stays empty: "no value" still reads as such.
    assert_eq!(personal("", false).to_string(), "");
    // Characters, not bytes.
    assert_eq!(personal("ééééééééééé", false).to_string(), "ééééé******");
    // Debug masks as well.
    assert_eq!(
        format!("{:?}", personal(imsi, false)),
        "\"00101**********\""
    );
}
