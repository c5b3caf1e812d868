//! Properties every declared payload must have; run by the tests that
//! `mbim_service!` generates for each CID.

use crate::codec::Payload;
use crate::describe::Describe;
use proptest::arbitrary::{any, Arbitrary};
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use std::fmt::Debug;

/// encode→decode gives the value back and re-encodes to the same bytes;
/// arbitrary bytes never panic the decoder, and whatever decodes re-encodes to
/// something that decodes to the same value.
pub(crate) fn check_payload<T>()
where
    T: Payload + Describe + Arbitrary + PartialEq + Debug,
{
    let mut runner = TestRunner::new(Config {
        cases: 128,
        failure_persistence: None,
        ..Config::default()
    });
    let round_trip = runner.run(&any::<T>(), |value| {
        let bytes = value.encode();
        let decoded = T::decode(&bytes)
            .map_err(|error| TestCaseError::fail(format!("{error} decoding {bytes:02x?}")))?;
        proptest::prop_assert_eq!(&decoded, &value);
        proptest::prop_assert_eq!(decoded.encode(), bytes);
        let _ = value.describe().masked();
        Ok(())
    });
    if let Err(error) = round_trip {
        panic!("{}: {error}", T::NAME);
    }
    let arbitrary_bytes = runner.run(&proptest::collection::vec(any::<u8>(), 0..256), |bytes| {
        if let Ok(value) = T::decode(&bytes) {
            let normalized = value.encode();
            let again = T::decode(&normalized).map_err(|error| {
                TestCaseError::fail(format!("{error} re-decoding {normalized:02x?}"))
            })?;
            proptest::prop_assert_eq!(again, value);
        }
        Ok(())
    });
    if let Err(error) = arbitrary_bytes {
        panic!("{} on arbitrary bytes: {error}", T::NAME);
    }
}
