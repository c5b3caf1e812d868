//! dbus-interfaces/*.xml are the API's reference: each must equal what the
//! running service says of that interface (`busctl introspect
//! --xml-interface`). `MBIMD_BLESS=1 cargo test -p mbimd --test
//! dbus_interfaces` writes them from the service instead of comparing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod dbus_common;

use dbus_common::*;
use mbimd::dbus::BUS_NAME;

/// The interface's block of an introspection document, one trimmed line
/// each, so indentation does not matter and nothing else does either.
fn interface_block(xml: &str, interface: &str) -> Option<Vec<String>> {
    let start = xml.find(&format!("<interface name=\"{interface}\">"))?;
    let length = xml[start..].find("</interface>")? + "</interface>".len();
    Some(
        xml[start..start + length]
            .lines()
            .map(|line| line.trim().to_owned())
            .filter(|line| !line.is_empty())
            .collect(),
    )
}

fn document(block: &[String]) -> String {
    let mut text = String::from(
        "<!DOCTYPE node PUBLIC \"-//freedesktop//DTD D-BUS Object Introspection 1.0//EN\"\n \
         \"http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd\">\n<node>\n",
    );
    let mut depth = 1;
    for line in block {
        if line.starts_with("</") {
            depth -= 1;
        }
        text.push_str(&"  ".repeat(depth));
        text.push_str(line);
        text.push('\n');
        let opens = line.starts_with('<')
            && !line.starts_with("</")
            && !line.starts_with("<!--")
            && !line.ends_with("/>")
            && !line.contains("</");
        if opens {
            depth += 1;
        }
    }
    text.push_str("</node>\n");
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_committed_interface_files_match_the_running_service() {
    let fixture = Fixture::start(None).await;
    let bless = std::env::var_os("MBIMD_BLESS").is_some_and(|value| value == "1");
    let objects = [
        ("dev.mbimd.Manager1", "/dev/mbimd/Mbimd1"),
        ("dev.mbimd.Modem1", "/dev/mbimd/Mbimd1/Modem0"),
        ("dev.mbimd.Executor1", "/dev/mbimd/Mbimd1/Modem0/Executor0"),
        ("dev.mbimd.Slot1", "/dev/mbimd/Mbimd1/Modem0/Slot0"),
    ];
    let mut stale = Vec::new();
    for (interface, path) in objects {
        let xml = busctl(
            &fixture.bus,
            None,
            &["introspect", "--xml-interface", BUS_NAME, path],
        )
        .await;
        let live = interface_block(xml.out(), interface)
            .unwrap_or_else(|| panic!("{path} has no {interface}: {}", xml.stdout));
        // Every member is documented (zbus puts doc comments into the XML).
        let members = live
            .iter()
            .filter(|line| {
                ["<method ", "<property ", "<signal "]
                    .iter()
                    .any(|kind| line.starts_with(kind))
            })
            .count();
        let documented = live
            .iter()
            .zip(live.iter().skip(1))
            .filter(|(doc, member)| {
                doc.ends_with("-->")
                    && ["<method ", "<property ", "<signal "]
                        .iter()
                        .any(|kind| member.starts_with(kind))
            })
            .count();
        assert_eq!(documented, members, "{interface}: undocumented members");
        let file = interfaces_dir().join(format!("{interface}.xml"));
        if bless {
            std::fs::write(&file, document(&live)).unwrap();
            continue;
        }
        let committed = std::fs::read_to_string(&file)
            .unwrap_or_else(|error| panic!("{}: {error}", file.display()));
        let committed = interface_block(&committed, interface)
            .unwrap_or_else(|| panic!("{} holds no {interface}", file.display()));
        if committed != live {
            stale.push(interface);
        }
    }
    assert!(
        stale.is_empty(),
        "dbus-interfaces/ differs from the service for {stale:?}; if the change is \
         intended, run MBIMD_BLESS=1 cargo test -p mbimd --test dbus_interfaces and commit"
    );
}
