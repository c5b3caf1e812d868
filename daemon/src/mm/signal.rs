//! `org.freedesktop.ModemManager1.Modem.Signal`: the signal strength the
//! modem reports (MBIM SIGNAL_STATE), under the access technology it is
//! on, as ModemManager shows an MBIM modem's.
//!
//! mbimd follows the modem's SIGNAL_STATE indications whatever a client
//! asks, so the values are always current: `Setup` and `SetupThresholds`
//! record what the client asked (their properties show it) and change
//! nothing on the modem.

use super::bus::Call;
use super::enums::access_technology as tech;
use super::errors::MmError;
use super::mapping;
use super::model::SignalSetup;
use super::view::{ModemView, Props};
use std::collections::HashMap;
use zbus::zvariant::{OwnedValue, Value};
use zbus::Message;

/// The technology dictionaries, each with the access technology flags it
/// stands for, in the order of preference for a modem on several (5G
/// non-standalone is reported under LTE, its anchor).
const TECHNOLOGIES: [(&str, u32); 6] = [
    ("Lte", tech::LTE),
    ("Nr5g", tech::NR5G),
    ("Umts", tech::UMTS | tech::HSDPA | tech::HSUPA),
    ("Gsm", tech::GPRS | tech::EDGE),
    ("Evdo", tech::EVDO0 | tech::EVDOA | tech::EVDOB),
    ("Cdma", tech::ONE_X_RTT),
];

/// RSSI in dBm from SIGNAL_STATE's code (3GPP TS 27.007 `+CSQ`: 0 is
/// -113 dBm or less, 31 is -51 dBm or more, 2 dB a step); `None` for 99
/// (unknown) or a code out of range.
pub(crate) fn rssi_dbm(code: Option<u32>) -> Option<f64> {
    match code {
        Some(code @ 0..=31) => Some(-113.0 + 2.0 * f64::from(code)),
        _ => None,
    }
}

/// The name of the dictionary that carries the signal of a modem on
/// `technologies` (`MMModemAccessTechnology` flags), if any.
pub(crate) fn dictionary_for(technologies: u32) -> Option<&'static str> {
    TECHNOLOGIES
        .iter()
        .find(|(_, flags)| technologies & flags != 0)
        .map(|(name, _)| *name)
}

/// The Signal interface's properties.
pub(crate) fn properties(view: &ModemView<'_>) -> Props {
    let status = view.status();
    let setup = view.entry.signal;
    let carrying = dictionary_for(mapping::access_technologies(status));
    let rssi = rssi_dbm(status.rssi);
    let mut props = vec![
        ("Rate", Value::from(setup.rate)),
        ("RssiThreshold", Value::from(setup.rssi_threshold)),
        (
            "ErrorRateThreshold",
            Value::from(setup.error_rate_threshold),
        ),
    ];
    for (name, _) in TECHNOLOGIES.iter().rev() {
        let mut values: HashMap<&str, Value<'static>> = HashMap::new();
        if let (Some(rssi), true) = (rssi, carrying == Some(*name)) {
            values.insert("rssi", Value::from(rssi));
        }
        props.push((name, Value::from(values)));
    }
    props
}

/// Answers a method of the Signal interface.
pub(crate) async fn call(
    call: &Call<'_>,
    modem: u32,
    executor: u32,
    member: &str,
) -> Result<Message, MmError> {
    call.authorize().await?;
    let mut setup = call
        .face
        .table()
        .modem(modem, executor)
        .map(|entry| entry.signal)
        .unwrap_or_default();
    match member {
        "Setup" => {
            let (rate,): (u32,) = call.args()?;
            setup.rate = rate;
        }
        _ => {
            let (settings,): (HashMap<String, OwnedValue>,) = call.args()?;
            setup = thresholds(&call.what, setup, &settings)?;
        }
    }
    if let Some(entry) = call.face.table().modem_mut(modem, executor) {
        entry.signal = setup;
    }
    call.face.refresh().await;
    call.done()
}

/// `SetupThresholds`' settings applied to `setup`: `rssi-threshold` (u,
/// dBm) and `error-rate-threshold` (b); any other key, or a wrong type, is
/// refused and nothing changes.
fn thresholds(
    what: &str,
    mut setup: SignalSetup,
    settings: &HashMap<String, OwnedValue>,
) -> Result<SignalSetup, MmError> {
    for (key, value) in settings {
        match key.as_str() {
            "rssi-threshold" => {
                setup.rssi_threshold = u32::try_from(value).map_err(|_| {
                    MmError::invalid(format!("{what}: rssi-threshold takes a uint32 (u)"))
                })?;
            }
            "error-rate-threshold" => {
                setup.error_rate_threshold = bool::try_from(value).map_err(|_| {
                    MmError::invalid(format!("{what}: error-rate-threshold takes a boolean (b)"))
                })?;
            }
            other => {
                return Err(MmError::invalid(format!(
                    "{what}: unexpected key '{other}'; the keys are rssi-threshold (u) and \
                     error-rate-threshold (b)"
                )))
            }
        }
    }
    Ok(setup)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rssi_codes_are_dbm_and_99_is_unknown() {
        let table = [
            (Some(0), Some(-113.0)),
            (Some(1), Some(-111.0)),
            (Some(20), Some(-73.0)),
            (Some(31), Some(-51.0)),
            (Some(32), None),
            (Some(99), None),
            (None, None),
        ];
        for (code, dbm) in table {
            assert_eq!(rssi_dbm(code), dbm, "{code:?}");
        }
    }

    #[test]
    fn the_signal_goes_under_the_technology_in_use() {
        let table = [
            (tech::UNKNOWN, None),
            (tech::LTE, Some("Lte")),
            (tech::LTE | tech::NR5G, Some("Lte")),
            (tech::NR5G, Some("Nr5g")),
            (tech::HSDPA | tech::HSUPA, Some("Umts")),
            (tech::EDGE, Some("Gsm")),
            (tech::EVDOA, Some("Evdo")),
            (tech::ONE_X_RTT, Some("Cdma")),
        ];
        for (technologies, expected) in table {
            assert_eq!(dictionary_for(technologies), expected, "{technologies:#x}");
        }
    }

    #[test]
    fn thresholds_take_their_two_keys_and_refuse_others_changing_nothing() {
        let settings = |pairs: &[(&str, Value<'_>)]| -> HashMap<String, OwnedValue> {
            pairs
                .iter()
                .map(|(key, value)| {
                    (
                        (*key).to_owned(),
                        OwnedValue::try_from(value.try_clone().unwrap()).unwrap(),
                    )
                })
                .collect()
        };
        let start = SignalSetup::default();
        let set = thresholds(
            "Signal.SetupThresholds",
            start,
            &settings(&[
                ("rssi-threshold", Value::from(5u32)),
                ("error-rate-threshold", Value::from(true)),
            ]),
        )
        .unwrap();
        assert_eq!(set.rssi_threshold, 5);
        assert!(set.error_rate_threshold);
        for bad in [
            settings(&[("rssi-treshold", Value::from(5u32))]),
            settings(&[("rssi-threshold", Value::from("5"))]),
            settings(&[("error-rate-threshold", Value::from(1u32))]),
        ] {
            let error = thresholds("Signal.SetupThresholds", start, &bad).unwrap_err();
            assert!(
                error.to_string().contains("Signal.SetupThresholds"),
                "{error}"
            );
        }
    }
}
