//! The model stays sans-IO: no clock, no tokio, no files or sockets under
//! `src/model/` (time comes in as an argument; `device.rs` reads the clock).

use std::path::Path;

#[test]
fn model_does_no_io_and_reads_no_clock() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/model");
    let forbidden = [
        "Instant::now",
        "SystemTime",
        "tokio",
        "std::fs",
        "TcpStream",
        "UdpSocket",
        "thread::sleep",
    ];
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|ext| ext == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            for word in forbidden {
                assert!(!text.contains(word), "{} uses {word}", path.display());
            }
            checked += 1;
        }
    }
    assert!(checked >= 6);
}
