//! Personal data in payloads (IMSI, ICCID, IMEI, phone numbers) is masked
//! in `Describe` and kept out of `Debug`; secrets (PINs, PUKs, keys) appear
//! in neither.

// A panic here is a failed test, not a crashed daemon.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use mbim_protocol::describe::{Describe, Value, MASK};
use mbim_protocol::services::basic_connect::*;
use std::fmt::Debug;
use support::*;

#[test]
fn personal_data_is_masked_and_kept_out_of_debug() {
    let info = subscriber_ready();
    let debug = format!("{info:?}");
    let masked = info.describe().masked();
    let masked_text = format!("{masked:?}");
    for personal in [
        "310260123456789",
        "8901260123456789012",
        "+15551234567",
        "+15557654321",
    ] {
        assert!(!debug.contains(personal), "{personal} in {debug}");
        assert!(
            !masked_text.contains(personal),
            "{personal} in {masked_text}"
        );
    }
    assert_eq!(
        field(&masked, "subscriber_id"),
        &Value::Text(MASK.to_owned())
    );
    assert_eq!(field(&masked, "sim_iccid"), &Value::Text(MASK.to_owned()));
    assert_eq!(
        field(&masked, "telephone_numbers"),
        &Value::List(vec![
            Value::Text(MASK.to_owned()),
            Value::Text(MASK.to_owned())
        ])
    );
    // What is not personal stays visible.
    assert_eq!(
        field(&masked, "ready_state"),
        &Value::Enum {
            name: Some("initialized"),
            value: 1
        }
    );
    // Revealing on request shows the data, so the masking above is not vacuous.
    let revealed = info.describe().revealed();
    assert_eq!(
        field(&revealed, "sim_iccid"),
        &Value::Text(text("8901260123456789012"))
    );
    assert_eq!(
        field(&revealed, "telephone_numbers"),
        &Value::List(vec![
            Value::Text(text("+15551234567")),
            Value::Text(text("+15557654321"))
        ])
    );

    let caps = em7455_caps();
    let debug = format!("{caps:?}");
    let masked = caps.describe().masked();
    assert!(!debug.contains("359072060123456"), "{debug}");
    assert!(!format!("{masked:?}").contains("359072060123456"));
    assert_eq!(field(&masked, "device_id"), &Value::Text(MASK.to_owned()));
    assert_eq!(
        field(&masked, "firmware_info"),
        &Value::Text(text("SWI9X30C_02.24.05.06"))
    );

    let caps = em120_caps_v2();
    let debug = format!("{caps:?}");
    let masked = caps.describe().masked();
    assert!(!debug.contains("866123040123456"), "{debug}");
    assert!(!format!("{masked:?}").contains("866123040123456"));
    assert_eq!(field(&masked, "device_id"), &Value::Text(MASK.to_owned()));
}

#[test]
fn secrets_never_appear_in_debug_or_describe() {
    fn assert_hidden<T: Debug + Describe>(value: &T, secrets: &[&str], fields: &[&str]) {
        let debug = format!("{value:?}");
        let revealed = value.describe().revealed();
        let described = format!("{revealed:?}");
        let masked = format!("{:?}", value.describe().masked());
        for secret in secrets {
            assert!(!debug.contains(secret), "{secret} in {debug}");
            assert!(!described.contains(secret), "{secret} in {described}");
            assert!(!masked.contains(secret), "{secret} in {masked}");
        }
        for name in fields {
            assert_eq!(field(&revealed, name), &Value::Secret, "{name}");
            assert!(debug.contains(&format!("{name}: <secret>")), "{debug}");
        }
    }

    assert_hidden(&puk_entry(), &["12345678", "4321"], &["pin", "new_pin"]);
    assert_hidden(&internet_connect(), &["hunter2"], &["password"]);
    assert_hidden(&provisioned_context_set(), &["s3cr3t"], &["password"]);
    let contexts = ProvisionedContexts {
        contexts: vec![ProvisionedContextElement {
            context_id: 1,
            context_type: ContextType::Internet.uuid(),
            access_string: text("internet"),
            user_name: text("user"),
            password: text("pa55word"),
            compression: Compression::None,
            auth_protocol: AuthProtocol::Pap,
        }],
    };
    assert_hidden(&contexts, &["pa55word"], &[]);
    assert_hidden(&contexts.contexts[0], &["pa55word"], &["password"]);

    // Authentication keys: shown neither as numbers nor as bytes.
    let aka = aka_info();
    let key_texts = [
        format!("{:?}", aka.res),
        format!("{:?}", aka.integrity_key),
        format!("{:?}", aka.ciphering_key),
        format!("{:?}", aka.res.to_vec()),
        format!("{:?}", aka.integrity_key.to_vec()),
    ];
    let keys: Vec<&str> = key_texts.iter().map(String::as_str).collect();
    assert_hidden(&aka, &keys, &["res", "integrity_key", "ciphering_key"]);
    let sim = sim_info();
    let kc_texts = [
        sim.kc1.to_string(),
        sim.kc2.to_string(),
        sim.kc3.to_string(),
    ];
    let kcs: Vec<&str> = kc_texts.iter().map(String::as_str).collect();
    assert_hidden(&sim, &kcs, &["kc1", "kc2", "kc3"]);
}
