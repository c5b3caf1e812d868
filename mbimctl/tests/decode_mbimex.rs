//! `mbimctl decode --mbimex-version` on libmbim's messages of the MBIM
//! extensions: the real binary prints, as JSON, the values libmbim's own
//! tests assert, with personal data masked.

// A test binary: a panic here is a failed test, not a crashed daemon.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod decode_support;

use decode_support::*;
use serde_json::json;

/// The payload `mbimctl decode --json --mbimex-version 3` prints for a capture.
fn decoded_v3(name: &str) -> serde_json::Value {
    let output = mbimctl(
        &["decode", "--json", "--mbimex-version", "3"],
        &capture(&format!("{name}.hex")),
    );
    assert!(output.status.success(), "{name}: {output:?}");
    let value = json(&output);
    assert_eq!(value["layout"], "MBIMEx 3.0", "{name}");
    value
}

fn assert_internet_session(payload: &serde_json::Value, access_string: &str) {
    assert_eq!(payload["session_id"], 1);
    assert_eq!(payload["activation_state"], "activated");
    assert_eq!(payload["voice_call_state"], "none");
    assert_eq!(payload["ip_type"], "ipv4");
    assert_eq!(payload["context_type"], "internet");
    assert_eq!(payload["media_preference"], "3gpp");
    assert_eq!(payload["access_string"], access_string);
}

#[test]
fn connect_v3_with_0_1_and_3_unnamed_ies() {
    let none = decoded_v3("libmbim-mbimex3-basic-connect-connect-0-unnamed-tlvs");
    assert_eq!(none["cid"], "connect");
    assert_internet_session(&none["payload"], "internet");
    assert_eq!(none["payload"]["unnamed_ies"], json!([]));

    let empty =
        decoded_v3("libmbim-mbimex3-basic-connect-connect-0-unnamed-tlvs-empty-access-string");
    assert_internet_session(&empty["payload"], "");

    let one = decoded_v3("libmbim-mbimex3-basic-connect-connect-1-unnamed-tlv");
    assert_internet_session(&one["payload"], "internet");
    assert_eq!(
        one["payload"]["unnamed_ies"],
        json!([{"type": "wchar-str", "string": "Orange"}])
    );

    let three = decoded_v3("libmbim-mbimex3-basic-connect-connect-3-unnamed-tlvs");
    assert_internet_session(&three["payload"], "internet");
    assert_eq!(
        three["payload"]["unnamed_ies"],
        json!([
            {"type": "wchar-str", "string": "abcde"},
            {"type": "wchar-str", "string": "Orange"},
            {"type": "pco", "data": "01:02:03:04:05:06:07:08:09:0a:0b"},
        ])
    );
}

#[test]
fn connect_v3_needs_the_version_to_be_read_whole() {
    // At the default (MBIM 1.0) the same message shows only the 1.0 fields.
    let output = mbimctl(
        &["decode", "--json"],
        &capture("libmbim-mbimex3-basic-connect-connect-3-unnamed-tlvs.hex"),
    );
    assert!(output.status.success(), "{output:?}");
    let value = json(&output);
    assert_eq!(value["layout"], serde_json::Value::Null);
    assert_eq!(value["payload"]["access_string"], serde_json::Value::Null);
    assert_eq!(value["payload"]["session_id"], 1);
}

#[test]
fn device_caps_v3_with_the_imei_masked() {
    let value = decoded_v3("libmbim-mbimex3-ms-basic-connect-extensions-device-caps");
    let caps = &value["payload"];
    assert_eq!(value["cid"], "device-caps-v2");
    assert_eq!(caps["device_type"], "embedded");
    assert_eq!(caps["cellular_class"], json!(["gsm"]));
    assert_eq!(caps["voice_class"], "no-voice");
    assert_eq!(caps["sim_class"], json!(["removable"]));
    assert_eq!(
        caps["data_class"],
        json!(["umts", "hsdpa", "hsupa", "lte", "5g", "custom"])
    );
    assert_eq!(caps["sms_caps"], json!(["pdu-receive", "pdu-send"]));
    assert_eq!(
        caps["control_caps"],
        json!([
            "reg-manual",
            "hw-radio-switch",
            "esim",
            "sim-hot-swap-capable"
        ])
    );
    assert_eq!(caps["data_subclass"], json!(["5g-endc", "5g-nr"]));
    assert_eq!(caps["max_sessions"], 2);
    assert_eq!(caps["executor_index"], 0);
    assert_eq!(caps["wcdma_band_class"], 0x9b);
    assert_eq!(
        caps["lte_band_class"],
        json!([
            1, 2, 3, 4, 5, 7, 8, 12, 13, 14, 17, 18, 19, 20, 25, 26, 28, 29, 30, 32, 34, 38, 39,
            40, 41, 42, 43, 46, 48
        ])
    );
    assert_eq!(
        caps["nr_band_class"],
        json!([1, 2, 3, 5, 7, 8, 20, 25, 28, 30, 38, 40, 41, 48, 66, 71, 77, 78, 79])
    );
    assert_eq!(caps["custom_data_class"], "HSPA+");
    assert_eq!(caps["device_id"], "<hidden>");
    assert_eq!(caps["firmware_info"], "81600.0000.99.29.17.19_GC\r\nB90");
    assert_eq!(caps["hardware_info"], "V1.0.6");
    let shown = mbimctl(
        &[
            "decode",
            "--json",
            "--mbimex-version",
            "3",
            "--show-personal-info",
        ],
        &capture("libmbim-mbimex3-ms-basic-connect-extensions-device-caps.hex"),
    );
    assert_eq!(json(&shown)["payload"]["device_id"], "862146050084555");
}

#[test]
fn registration_parameters_with_0_1_and_3_unnamed_ies() {
    let prefix = "libmbim-mbimex3-ms-basic-connect-extensions-registration-parameters";
    for (suffix, ies) in [
        ("0-unnamed-tlvs", json!([])),
        (
            "1-unnamed-tlv",
            json!([{"type": "wchar-str", "string": "Orange"}]),
        ),
        (
            "3-unnamed-tlvs",
            json!([
                {"type": "wchar-str", "string": "abcde"},
                {"type": "wchar-str", "string": "Orange"},
                {"type": "pco", "data": "01:02:03:04:05:06:07:08:09:0a:0b"},
            ]),
        ),
    ] {
        let output = mbimctl(
            &["decode", "--json", "--mbimex-version", "3"],
            &capture(&format!("{prefix}-{suffix}.hex")),
        );
        assert!(output.status.success(), "{suffix}: {output:?}");
        let payload = &json(&output)["payload"];
        assert_eq!(payload["mico_mode"], "disabled", "{suffix}");
        assert_eq!(payload["drx_cycle"], "not-specified");
        assert_eq!(payload["ladn_info"], "not-needed");
        assert_eq!(payload["default_pdu_activation_hint"], "likely");
        assert_eq!(payload["re_register_if_needed"], "true");
        assert_eq!(payload["unnamed_ies"], ies, "{suffix}");
    }
}

#[test]
fn wake_reasons() {
    let prefix = "libmbim-mbimex3-ms-basic-connect-extensions-wake-reason";
    let decode = |suffix: &str| {
        let output = mbimctl(
            &["decode", "--json", "--mbimex-version", "3"],
            &capture(&format!("{prefix}-{suffix}.hex")),
        );
        assert!(output.status.success(), "{suffix}: {output:?}");
        json(&output)["payload"].clone()
    };
    assert_eq!(
        decode("command"),
        json!({
            "wake_type": "cid-indication",
            "session_id": 2,
            "wake_tlv": {
                "type": "wake-command",
                "wake_command": {"service": "basic-connect", "cid": "signal-state", "payload": ""},
            },
        })
    );
    assert_eq!(
        decode("command-payload"),
        json!({
            "wake_type": "cid-response",
            "session_id": 2,
            "wake_tlv": {
                "type": "wake-command",
                "wake_command": {"service": "basic-connect", "cid": "connect", "payload": "01:00:00:00"},
            },
        })
    );
    assert_eq!(
        decode("packet"),
        json!({
            "wake_type": "packet",
            "session_id": 2,
            "wake_tlv": {
                "type": "wake-packet",
                "wake_packet": {
                    "filter_id": 11,
                    "original_packet_size": 12,
                    "packet": "01:02:03:04:05:06:07:08:09:0a",
                },
            },
        })
    );
}

#[test]
fn base_stations_info_in_the_layout_libmbim_reads_it_with() {
    // libmbim reads this one with MBIM 1.0 layouts (and 2.0 has no other).
    for version in ["1", "2"] {
        let output = mbimctl(
            &["decode", "--json", "--mbimex-version", version],
            &capture("libmbim-ms-basic-connect-extensions-base-stations.hex"),
        );
        assert!(output.status.success(), "{output:?}");
        let payload = &json(&output)["payload"];
        assert_eq!(payload["system_type"], json!(["lte", "5g-nsa"]));
        for absent in [
            "gsm_serving_cell",
            "umts_serving_cell",
            "tdscdma_serving_cell",
        ] {
            assert_eq!(payload[absent], serde_json::Value::Null, "{absent}");
        }
        assert_eq!(payload["lte_serving_cell"]["provider_id"], "21407");
        assert_eq!(payload["lte_serving_cell"]["rsrp"], -103);
        assert_eq!(payload["lte_serving_cell"]["rsrq"], -12);
        assert_eq!(payload["gsm_neighboring_cells"], json!([]));
        assert_eq!(payload["umts_neighboring_cells"], json!([]));
        assert_eq!(payload["tdscdma_neighboring_cells"], json!([]));
        assert_eq!(
            payload["lte_neighboring_cells"].as_array().unwrap().len(),
            1
        );
        assert_eq!(payload["cdma_cells"], json!([]));
    }
}

#[test]
fn uicc_application_list() {
    let output = mbimctl(
        &["decode", "--json"],
        &capture("libmbim-ms-uicc-low-level-access-application-list.hex"),
    );
    assert!(output.status.success(), "{output:?}");
    let value = json(&output);
    assert_eq!(value["service"], "ms-uicc-low-level-access");
    assert_eq!(value["cid"], "application-list");
    let payload = &value["payload"];
    assert_eq!(payload["version"], 1);
    assert_eq!(payload["active_application_index"], 0);
    assert_eq!(payload["application_list_size_bytes"], 60);
    assert_eq!(
        payload["applications"],
        json!([{
            "application_type": "usim",
            "application_id": "a0:00:00:00:87:10:02:ff:34:ff:07:89:31:2e:30:ff",
            "application_name": "Movistar",
            "pin_key_reference_count": 2,
            "pin_key_references": "01:81",
        }])
    );
}

#[test]
fn text_output_shows_the_layout_and_the_elements() {
    let output = mbimctl(
        &["decode", "--mbimex-version", "3"],
        &capture("libmbim-mbimex3-basic-connect-connect-1-unnamed-tlv.hex"),
    );
    assert!(output.status.success(), "{output:?}");
    let text = stdout(&output);
    assert!(text.contains("layout: 'MBIMEx 3.0'"), "{text}");
    assert!(text.contains("access_string: 'internet'"), "{text}");
    assert!(text.contains("type: wchar-str (10)"), "{text}");
    assert!(text.contains("string: 'Orange'"), "{text}");
}

#[test]
fn an_unknown_version_is_refused() {
    let output = mbimctl(&["decode", "--mbimex-version", "5", "00"], "");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("expected 1, 2, 3 or 4"), "{stderr}");
}

/// A VERSION query of a host that speaks up to MBIMEx `host`.
fn version_query(host: u8) -> String {
    format!(
        "03000000 34000000 03000000 01000000 00000000 \
         3d01dcc5 fef54d05 0d3abef7 058e9aaf 0f000000 00000000 04000000 \
         0001 00{host:02x}"
    )
}

/// The device's VERSION response: it speaks MBIMEx `device`.
fn version_response(device: u8) -> String {
    format!(
        "03000080 34000000 03000000 01000000 00000000 \
         3d01dcc5 fef54d05 0d3abef7 058e9aaf 0f000000 00000000 04000000 \
         0001 00{device:02x}"
    )
}

#[test]
fn without_a_version_the_version_exchange_in_the_trace_picks_the_layouts() {
    let connect = capture("libmbim-mbimex3-basic-connect-connect-1-unnamed-tlv.hex");
    let trace = format!("{}\n{}\n{connect}", version_query(3), version_response(3));
    let output = mbimctl(&["decode", "--json"], &trace);
    assert!(output.status.success(), "{output:?}");
    let messages = json(&output);
    assert_eq!(messages[0]["cid"], "version");
    assert_eq!(messages[1]["payload"]["bcd_mbim_extended_version"], 0x0300);
    assert_eq!(
        messages[1]["negotiated"],
        "MBIMEx 3.0: the messages after this one are read in its layouts"
    );
    assert_eq!(messages[2]["layout"], "MBIMEx 3.0");
    assert_eq!(messages[2]["payload"]["unnamed_ies"][0]["string"], "Orange");

    // The lower of the two versions applies: a 2.0 host reads CONNECT as 1.0.
    let trace = format!("{}\n{}\n{connect}", version_query(2), version_response(3));
    let messages = json(&mbimctl(&["decode", "--json"], &trace));
    assert!(messages[1]["negotiated"]
        .as_str()
        .unwrap()
        .starts_with("MBIMEx 2.0"));
    assert_eq!(messages[2]["layout"], serde_json::Value::Null);

    // A version given on the command line is what applies, whatever the trace says.
    let trace = format!("{}\n{}\n{connect}", version_query(3), version_response(3));
    let messages = json(&mbimctl(
        &["decode", "--json", "--mbimex-version", "1"],
        &trace,
    ));
    assert_eq!(messages[1]["negotiated"], serde_json::Value::Null);
    assert_eq!(messages[2]["layout"], serde_json::Value::Null);
}

/// An MBIMEx 4.0 CONNECT response (protocol/tests/payloads_basic_connect_mbimex.rs
/// labels its payload): an IMS session on the default slice, with a PCO.
const CONNECT_V4: &str = "
    03000080 7c000000 04000000 01000000 00000000 # COMMAND_DONE, 0x7c bytes, tid 4
    a289cc33 bcbb8b4f b6b0133e c2aae6df 0c000000 # Basic Connect, CONNECT
    00000000 4c000000                            # success, 0x4c bytes
    02000000 01000000 00000000 02000000          # session 2, activated, no call, ipv6
    21610d01 30744bce 9425b53a 07d697d6          # ims
    00000000 01000000                            # no error, 3gpp
    0a000002 06000000 69006d00 73000000          # access string 'ims'
    02000000 00000000                            # S-NSSAI: none
    0d000002 02000000 80210000                   # PCO: 80 21
";

#[test]
fn connect_v4_with_the_slice_and_the_pco() {
    let read = |args: &[&str], input: &str| {
        let output = mbimctl(args, input);
        assert!(output.status.success(), "{args:?}: {output:?}");
        json(&output)
    };
    let by_flag = read(&["decode", "--json", "--mbimex-version", "4"], CONNECT_V4);
    // The version exchange in a trace picks the same layouts.
    let trace = format!(
        "{}\n{}\n{CONNECT_V4}",
        version_query(4),
        version_response(4)
    );
    let by_trace = read(&["decode", "--json"], &trace)[2].clone();
    for value in [by_flag, by_trace] {
        assert_eq!(value["layout"], "MBIMEx 4.0");
        let payload = &value["payload"];
        assert_eq!(payload["session_id"], 2);
        assert_eq!(payload["context_type"], "ims");
        assert_eq!(payload["access_string"], "ims");
        assert_eq!(payload["snssai"]["type"], "single-nssai", "{payload}");
        assert_eq!(
            payload["unnamed_ies"],
            json!([{"type": "pco", "data": "80:21"}])
        );
    }
    // Read as 3.0, the slice is taken for the first unnamed IE.
    let v3 = read(&["decode", "--json", "--mbimex-version", "3"], CONNECT_V4);
    assert_eq!(v3["payload"]["unnamed_ies"][0]["type"], "single-nssai");
}
