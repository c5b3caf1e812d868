//! `mbimctl decode` as a user runs it: the real binary, real captures.

// A test binary: a panic here is a failed test, not a crashed daemon.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod decode_support;

use decode_support::*;

#[test]
fn device_caps_capture_decodes_with_the_imei_masked() {
    let output = mbimctl(
        &["decode"],
        &capture("libmbim-basic-connect-device-caps.hex"),
    );
    assert!(output.status.success(), "{output:?}");
    let text = stdout(&output);
    assert!(
        text.contains("message_type: command-done (0x80000003)"),
        "{text}"
    );
    assert!(text.contains("cid: device-caps (1)"), "{text}");
    assert!(text.contains("custom_data_class: 'HSPA+'"), "{text}");
    assert!(text.contains("firmware_info: '11.810.09.00.00'"), "{text}");
    assert!(text.contains("device_id: '<hidden>'"), "{text}");
    assert!(!text.contains("353613048804622"), "{text}");
}

#[test]
fn personal_data_is_shown_only_when_asked() {
    let hex = capture("libmbim-basic-connect-subscriber-ready-status.hex");
    let masked = json(&mbimctl(&["decode", "--json"], &hex));
    assert_eq!(masked["payload"]["sim_iccid"], "<hidden>");
    assert_eq!(masked["payload"]["subscriber_id"], "<hidden>");
    assert_eq!(
        masked["payload"]["telephone_numbers"],
        serde_json::json!(["<hidden>", "<hidden>"])
    );
    let shown = json(&mbimctl(
        &["decode", "--json", "--show-personal-info"],
        &hex,
    ));
    assert_eq!(shown["payload"]["ready_state"], "initialized");
    assert_eq!(shown["payload"]["subscriber_id"], "310410000110761");
    assert_eq!(shown["payload"]["sim_iccid"], "89010104054601100612");
    assert_eq!(
        shown["payload"]["telephone_numbers"],
        serde_json::json!(["11111111111", "00000000000"])
    );
}

#[test]
fn json_has_every_field_with_addresses_as_strings_and_enums_by_name() {
    let output = mbimctl(
        &["decode", "--json"],
        &capture("libmbim-basic-connect-ip-configuration.hex"),
    );
    assert!(output.status.success());
    let value = json(&output);
    assert_eq!(value["message_type"], "command-done");
    assert_eq!(value["service"], "basic-connect");
    assert_eq!(value["cid"], "ip-configuration");
    assert_eq!(value["status"], "success");
    let payload = &value["payload"];
    assert_eq!(
        payload["ipv4_addresses"][0]["ipv4_address"],
        "212.73.34.248"
    );
    assert_eq!(payload["ipv4_addresses"][0]["on_link_prefix_length"], 28);
    assert_eq!(payload["ipv4_gateway"], "212.73.34.241");
    assert_eq!(
        payload["ipv4_dns_servers"],
        serde_json::json!(["212.166.210.80", "212.73.32.67"])
    );
    assert_eq!(payload["ipv4_mtu"], 1500);
    assert_eq!(payload["ipv6_gateway"], serde_json::Value::Null);
    assert_eq!(
        payload["ipv4_configuration_available"],
        serde_json::json!(["address", "gateway", "dns", "mtu"])
    );
}

#[test]
fn hex_may_come_as_an_argument_with_any_separators() {
    let hex = capture("libmbim-basic-connect-register-state.hex").replace(':', " ");
    let output = mbimctl(&["decode", "--json", &hex], "");
    assert!(output.status.success(), "{output:?}");
    let value = json(&output);
    assert_eq!(value["payload"]["register_state"], "home");
    assert_eq!(value["payload"]["provider_id"], "26006");
    assert_eq!(
        value["payload"]["registration_flag"],
        serde_json::json!(["packet-service-automatic-attach"])
    );
}

#[test]
fn every_capture_decodes_or_fails_with_a_located_error() {
    // Captures libmbim itself refuses to parse must fail here too; all others decode.
    let expected_failures = [
        "libmbim-basic-connect-visible-providers-overflow.hex",
        "libmbim-provisioned-contexts.hex",
    ];
    for entry in std::fs::read_dir(captures_dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        // Each capture in the layouts of the MBIMEx version it was made with.
        let version = capture_mbimex_version(&name);
        let output = mbimctl(&["decode", "--mbimex-version", &version], &capture(&name));
        if expected_failures.contains(&name.as_str()) {
            assert_eq!(output.status.code(), Some(1), "{name}");
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(stderr.contains(" at 0x"), "{name}: {stderr}");
            // What decoded before the error is still printed.
            assert!(
                stdout(&output).contains("message_type: command-done"),
                "{name}"
            );
        } else {
            assert!(output.status.success(), "{name}: {output:?}");
        }
    }
}

#[test]
fn a_truncated_message_prints_the_typed_error_and_fails() {
    let hex = capture("libmbim-basic-connect-device-caps.hex");
    let bytes: Vec<&str> = hex.split([':', '\n']).filter(|b| !b.is_empty()).collect();
    let truncated = bytes[..100].join("");
    let output = mbimctl(&["decode"], &truncated);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("COMMAND_DONE"), "{stderr}");
}

#[test]
fn bad_hex_is_refused_with_its_position() {
    let output = mbimctl(&["decode", "01 02 xy"], "");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("'x' at position 6"), "{stderr}");
}

#[test]
fn unknown_services_round_trip_as_raw_bytes() {
    // An INDICATE_STATUS of a vendor service nobody declared.
    let hex = "07000080 34000000 00000000 01000000 00000000 \
               11223344 55667788 99aabbcc ddeeff00 2a000000 08000000 \
               0102030405060708";
    let output = mbimctl(&["decode", "--json", hex], "");
    assert!(output.status.success(), "{output:?}");
    let value = json(&output);
    assert_eq!(value["message_type"], "indicate-status");
    assert_eq!(value["service"], "11223344-5566-7788-99aa-bbccddeeff00");
    assert_eq!(value["cid"], 42);
    assert_eq!(value["payload_bytes"], "01:02:03:04:05:06:07:08");
}

#[test]
fn fragments_are_reassembled_before_decoding() {
    // A query COMMAND for SLOT_INFO_STATUS, split into two fragments by hand:
    // the first carries the fixed fields and no data, the second the slot index.
    let first = "03000000 30000000 05000000 02000000 00000000 \
                 3d01dcc5 fef54d05 0d3abef7 058e9aaf 08000000 00000000 04000000";
    let second = "03000000 18000000 05000000 02000000 01000000 01000000";
    let output = mbimctl(&["decode", "--json"], &format!("{first} {second}"));
    assert!(output.status.success(), "{output:?}");
    let value = json(&output);
    let messages = value.as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[1]["service"], "ms-basic-connect-extensions");
    assert_eq!(messages[1]["cid"], "slot-info-status");
    assert_eq!(messages[1]["payload"]["slot_index"], 1);
}

#[test]
fn ntb16_decodes_to_sessions_and_ip_summaries() {
    // NTH16, one NDP16 for IPS0 with one 20-byte IPv4 header (UDP 10.0.0.2 -> 10.0.0.1).
    let ntb = "4e434d48 0c00 0000 3c00 0c00 \
               49505300 1000 0000 2800 1400 0000 0000 \
               0000 0000 0000 0000 0000 0000 \
               45000014 00000000 40110000 0a000002 0a000001";
    let output = mbimctl(&["decode", "--ntb", "--json", ntb], "");
    assert!(output.status.success(), "{output:?}");
    let value = json(&output);
    assert_eq!(value["format"], "ntb16");
    let datagram = &value["datagrams"][0];
    assert_eq!(datagram["session"], "ips0");
    assert_eq!(datagram["length"], 20);
    assert_eq!(datagram["source"], "10.0.0.2");
    assert_eq!(datagram["destination"], "10.0.0.1");
    assert_eq!(datagram["protocol"], "udp");
}

#[test]
fn a_hostile_ntb_is_refused_with_a_located_error() {
    // The NDP's only datagram claims to run past the block.
    let ntb = "4e434d48 0c00 0000 2000 0c00 \
               49505300 1000 0000 1c00 ff00 0000 0000";
    let output = mbimctl(&["decode", "--ntb", ntb], "");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("0x"), "{stderr}");
}
