//! The protocol targets' seed corpus (`fuzz/corpus/<target>/*`): the
//! `payloads` seeds still select decoders, and the seeds themselves are
//! written by the ignored test
//! [`write_seed_corpus`] (run by `fuzz/make-corpus.sh`), from the libmbim
//! captures in `tests/captures/`, the configuration descriptors of
//! `protocol/tests/descriptors.rs`, and blocks and messages built with this
//! crate's own builders. The corpus is replayed through every target, with
//! the README held to the targets, by the stable fuzz driver's tests
//! (`fuzz/driver/tests/`, `cargo test -p mbim-fuzz`).

// Test code: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "../../fuzz/targets.rs"]
mod targets;

use mbim_protocol::fragment::split;
use mbim_protocol::message::Message;
use mbim_protocol::ntb::{BuildLimits, NdpSignature, NtbBuilder, NtbFormat, NtbParameters};
use mbim_protocol::services::SERVICES;
use mbim_protocol::status::{CommandType, ProtocolError, Status};
use std::path::{Path, PathBuf};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn corpus_dir(target: &str) -> PathBuf {
    repository().join("fuzz").join("corpus").join(target)
}

/// The files of a corpus directory, sorted.
fn corpus_files(target: &str) -> Vec<PathBuf> {
    let dir = corpus_dir(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn payload_seeds_select_a_decoder_and_mostly_decode() {
    let files = corpus_files("payloads");
    let mut decoded = 0;
    for file in &files {
        let data = std::fs::read(file).unwrap();
        let (_, _, _, decoder, payload) = targets::select_payload(&data)
            .unwrap_or_else(|| panic!("{} selects no decoder", file.display()));
        // Some captures are malformed on purpose (libmbim's "overflow" and
        // "short" tests); most must decode, or the selector bytes have rotted.
        decoded += usize::from(decoder(payload).is_ok());
    }
    assert!(
        decoded * 4 >= files.len() * 3,
        "{decoded} of {} decode",
        files.len()
    );
}

// ---------------------------------------------------------------------------
// Seed corpus generation
// ---------------------------------------------------------------------------

/// A capture file of `tests/captures/`: `#` comment lines, then colon-separated hex.
fn read_capture(path: &Path) -> Vec<u8> {
    let text = std::fs::read_to_string(path).unwrap();
    let digits: String = text
        .lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .flat_map(|line| line.chars())
        .filter(char::is_ascii_hexdigit)
        .collect();
    (0..digits.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&digits[at..at + 2], 16).unwrap())
        .collect()
}

/// The MBIMEx major version a capture is marked with (`# mbimex-version: N`), 1 if none.
fn mbimex_major(stem: &str) -> u8 {
    let path = repository()
        .join("tests")
        .join("captures")
        .join(format!("{stem}.hex"));
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .find_map(|line| line.strip_prefix("# mbimex-version:"))
        .map_or(1, |version| version.trim().parse().unwrap())
}

/// Every capture, by file stem, sorted.
fn captures() -> Vec<(String, Vec<u8>)> {
    let dir = repository().join("tests").join("captures");
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "hex"))
        .map(|path| {
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            (stem, read_capture(&path))
        })
        .collect();
    out.sort();
    out
}

fn capture(name: &str) -> Vec<u8> {
    captures()
        .into_iter()
        .find(|(stem, _)| stem == name)
        .unwrap_or_else(|| panic!("no capture {name}"))
        .1
}

/// The byte array of `const NAME: &[u8] = &[ … ];` in a Rust source file,
/// comments stripped.
fn const_bytes(source: &str, name: &str) -> Vec<u8> {
    let start = source
        .find(&format!("const {name}: &[u8] = &["))
        .unwrap_or_else(|| panic!("no const {name}"));
    let body = &source[start..];
    let body = &body[body.find("= &[").unwrap() + 4..body.find("\n];").unwrap()];
    body.lines()
        .map(|line| line.split("//").next().unwrap())
        .flat_map(|line| line.split(','))
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .map(|token| u8::from_str_radix(token.trim_start_matches("0x"), 16).unwrap())
        .collect()
}

/// `[step] [length u16 LE] [bytes]`, a transfer of the `session` target.
fn transfer(step: u8, bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![step];
    out.extend_from_slice(&u16::try_from(bytes.len()).unwrap().to_le_bytes());
    out.extend_from_slice(bytes);
    out
}

/// A whole message's fragments at `max` bytes each, as wire bytes.
fn fragments(message: &[u8], max: usize) -> Vec<Vec<u8>> {
    let message = Message::parse(message).unwrap();
    split(&message, max)
        .unwrap()
        .iter()
        .map(|fragment| fragment.to_bytes().unwrap())
        .collect()
}

/// A capture's COMMAND_DONE with another TransactionId.
fn with_transaction_id(message: &[u8], transaction_id: u32) -> Vec<u8> {
    let mut out = message.to_vec();
    out[8..12].copy_from_slice(&transaction_id.to_le_bytes());
    out
}

/// A COMMAND_DONE answering one of the `session` target's commands.
fn done(transaction_id: u32, cid: u32, information_buffer: &[u8]) -> Vec<u8> {
    Message::command_done(
        transaction_id,
        targets::BASIC_CONNECT,
        cid,
        Status::Success,
        information_buffer.to_vec(),
    )
    .to_bytes()
    .unwrap()
}

/// The information buffer of a whole COMMAND_DONE or INDICATE_STATUS.
fn information_buffer(message: &[u8]) -> Vec<u8> {
    Message::parse(message).unwrap().fragment_data().to_vec()
}

fn ntb_block(
    format: NtbFormat,
    limits: BuildLimits,
    datagrams: &[(NdpSignature, &[u8])],
) -> Vec<u8> {
    let mut builder = NtbBuilder::new(format, limits).unwrap();
    for (signature, datagram) in datagrams {
        builder.push(*signature, datagram).unwrap();
    }
    builder.finish().unwrap().to_vec()
}

/// Writes `fuzz/corpus/<target>/<name>`.
fn write_seed(target: &str, name: &str, bytes: &[u8]) {
    let dir = corpus_dir(target);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), bytes).unwrap();
}

/// Regenerates the seed corpus (existing seeds of the same name are
/// overwritten; other files are left alone). Run through `fuzz/make-corpus.sh`.
#[test]
#[ignore = "writes fuzz/corpus; run by fuzz/make-corpus.sh"]
fn write_seed_corpus() {
    let captures = captures();

    // control_message: every capture as is, and two transfers of several messages.
    for (stem, bytes) in &captures {
        write_seed("control_message", &format!("{stem}.bin"), bytes);
    }
    let mut several = Vec::new();
    for message in [
        Message::Open {
            transaction_id: 1,
            max_control_transfer: 4096,
        },
        Message::Close { transaction_id: 2 },
        Message::HostError {
            transaction_id: 3,
            error: ProtocolError::FragmentOutOfSequence,
        },
        Message::OpenDone {
            transaction_id: 1,
            status: Status::Success,
        },
        Message::FunctionError {
            transaction_id: 4,
            error: ProtocolError::NotOpened,
        },
    ] {
        several.extend(message.to_bytes().unwrap());
    }
    write_seed("control_message", "concatenated-control.bin", &several);
    let mut fragmented = Vec::new();
    for fragment in fragments(&capture("libmbim-basic-connect-visible-providers"), 64) {
        fragmented.extend(fragment);
    }
    write_seed("control_message", "concatenated-fragments.bin", &fragmented);

    // reassembly: `[config] ([step] [message])*`. Config 0x02: 1 KiB limit,
    // 100 ms fragment timeout, whole messages re-split at 64 bytes.
    let reassembly = |messages: &[(u8, Vec<u8>)]| {
        let mut out = vec![0x02];
        for (step, message) in messages {
            out.push(*step);
            out.extend_from_slice(message);
        }
        out
    };
    for stem in [
        "libmbim-basic-connect-device-caps",
        "libmbim-basic-connect-visible-providers",
        "libmbim-basic-connect-ip-configuration",
        "libmbim-basic-connect-subscriber-ready-status",
        "libmbim-provisioned-contexts",
        "libmbim-stk-pac-response",
        "libmbim-stk-pac-notification",
        "libmbim-auth-akap",
    ] {
        let parts: Vec<(u8, Vec<u8>)> = fragments(&capture(stem), 64)
            .into_iter()
            .map(|fragment| (0, fragment))
            .collect();
        write_seed(
            "reassembly",
            &format!("{stem}-fragments.bin"),
            &reassembly(&parts),
        );
    }
    let caps = fragments(&capture("libmbim-basic-connect-device-caps"), 64);
    let indication = capture("libmbim-stk-pac-notification");
    // An indication between two fragments passes through.
    let mut interleaved = vec![(0, caps[0].clone()), (0, indication.clone())];
    interleaved.extend(caps[1..].iter().cloned().map(|f| (0, f)));
    write_seed(
        "reassembly",
        "interleaved-indication.bin",
        &reassembly(&interleaved),
    );
    // The last fragment comes after the 100 ms timeout.
    let mut late: Vec<(u8, Vec<u8>)> = caps.iter().cloned().map(|f| (0, f)).collect();
    late.last_mut().unwrap().0 = 4;
    write_seed("reassembly", "late-last-fragment.bin", &reassembly(&late));
    // Fragments out of order, then a whole message.
    let mut shuffled: Vec<(u8, Vec<u8>)> = caps.iter().rev().cloned().map(|f| (1, f)).collect();
    shuffled.push((0, capture("libmbim-ussd")));
    write_seed("reassembly", "out-of-order.bin", &reassembly(&shuffled));

    // payloads: `[service index] [cid] [operation]` and the information buffer.
    let mut payload_seeds = 0;
    for (stem, bytes) in &captures {
        let message = Message::parse(bytes).unwrap();
        let (service, cid, operation) = match &message {
            Message::CommandDone(done) => {
                let head = done.head.unwrap();
                (head.service, head.cid, 2u8)
            }
            Message::IndicateStatus(indication) => {
                let head = indication.head.unwrap();
                (head.service, head.cid, 3u8)
            }
            Message::Command(command) => {
                let head = command.head.unwrap();
                let operation = u8::from(head.command_type == CommandType::Set);
                (head.service, head.cid, operation)
            }
            _ => continue,
        };
        let Some(index) = SERVICES.iter().position(|s| s.uuid == service) else {
            continue;
        };
        // The operation byte's next two bits pick the MBIMEx layout (see
        // `select_payload`): the version the capture is marked with.
        let layout = (mbimex_major(stem) - 1) << 2;
        let mut seed = vec![
            u8::try_from(index).unwrap(),
            u8::try_from(cid).unwrap(),
            operation | layout,
        ];
        seed.extend_from_slice(message.fragment_data());
        if targets::select_payload(&seed).is_some() {
            write_seed("payloads", &format!("{stem}.bin"), &seed);
            payload_seeds += 1;
        }
    }
    assert!(payload_seeds > 5);

    // ntb: blocks built by the crate's builder, and NTB parameters followed by
    // `[session] [length/8] datagram…` records.
    let plain = BuildLimits {
        max_size: 16384,
        max_datagrams: 0,
        divisor: 4,
        remainder: 0,
        ndp_alignment: 4,
    };
    let ipv4 = capture("libmbim-basic-connect-ip-configuration"); // any bytes will do
    let small: &[u8] = &[
        0x45, 0, 0, 20, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ];
    write_seed(
        "ntb",
        "ntb16-one-session.bin",
        &ntb_block(
            NtbFormat::Ntb16,
            plain,
            &[
                (NdpSignature::Ips(0), small),
                (NdpSignature::Ips(0), &ipv4[..60]),
            ],
        ),
    );
    write_seed(
        "ntb",
        "ntb16-three-sessions.bin",
        &ntb_block(
            NtbFormat::Ntb16,
            BuildLimits {
                divisor: 32,
                remainder: 2,
                ndp_alignment: 16,
                ..plain
            },
            &[
                (NdpSignature::Ips(0), small),
                (NdpSignature::Ips(1), &ipv4[..33]),
                (NdpSignature::Dss(0), &ipv4[40..48]),
                (NdpSignature::Ips(0), small),
            ],
        ),
    );
    write_seed(
        "ntb",
        "ntb32-two-datagrams.bin",
        &ntb_block(
            NtbFormat::Ntb32,
            plain,
            &[(NdpSignature::Ips(0), small), (NdpSignature::Ips(2), &ipv4)],
        ),
    );
    let parameters = NtbParameters {
        formats_supported: 3,
        in_max_size: 32768,
        in_divisor: 4,
        in_payload_remainder: 0,
        in_alignment: 4,
        out_max_size: 16384,
        out_divisor: 4,
        out_payload_remainder: 0,
        out_alignment: 4,
        out_max_datagrams: 16,
    };
    let mut with_datagrams = parameters.emit().to_vec();
    for (session, records) in [(0x00u8, 2u8), (0x01, 0), (0x80, 5), (0x00, 1)] {
        with_datagrams.extend_from_slice(&[session, records]);
        with_datagrams.extend(std::iter::repeat_n(0x5A, usize::from(records) * 8 + 1));
    }
    write_seed("ntb", "parameters-and-datagrams.bin", &with_datagrams);
    let odd = NtbParameters {
        formats_supported: 1,
        out_max_size: 2048,
        out_divisor: 64,
        out_payload_remainder: 62,
        out_alignment: 64,
        out_max_datagrams: 3,
        ..parameters
    };
    let mut odd_bytes = odd.emit().to_vec();
    odd_bytes.extend_from_slice(&[0x00, 0x10]);
    odd_bytes.extend(std::iter::repeat_n(0xC3, 0x10 * 8 + 1));
    odd_bytes.extend_from_slice(&[0x02, 0x00, 0x7E]);
    write_seed("ntb", "parameters-divisor-64.bin", &odd_bytes);

    // descriptors: the real configurations of protocol/tests/descriptors.rs.
    let source =
        std::fs::read_to_string(repository().join("protocol/tests/descriptors.rs")).unwrap();
    let fibocom = const_bytes(&source, "FIBOCOM_L850");
    write_seed("descriptors", "fibocom-l850-gl.bin", &fibocom);
    write_seed(
        "descriptors",
        "ncm-mbim.bin",
        &const_bytes(&source, "NCM_MBIM"),
    );
    // The MBIM functional descriptor alone (FunctionalDescriptor::parse's input).
    let mbim_at = fibocom
        .windows(3)
        .position(|w| w == [0x0C, 0x24, 0x1B])
        .unwrap();
    write_seed(
        "descriptors",
        "mbim-functional.bin",
        &fibocom[mbim_at..mbim_at + 12],
    );

    // session: `[config] ([step] [length u16 LE] [transfer])*`. OPEN is
    // TransactionId 1, the four commands 2..=5 (see SESSION_COMMANDS).
    let caps = information_buffer(&capture("libmbim-basic-connect-device-caps"));
    let register = information_buffer(&capture("libmbim-basic-connect-register-state"));
    let providers = information_buffer(&capture("libmbim-basic-connect-visible-providers"));
    let contexts = information_buffer(&capture("libmbim-provisioned-contexts"));
    // Config 0x00: 64-byte transfers, 1 KiB messages, one command at a time.
    let mut answered = vec![0x00];
    answered.extend(transfer(1, &done(2, 1, &caps)));
    answered.extend(transfer(1, &done(3, 9, &register)));
    for fragment in fragments(&done(4, 8, &providers), 64) {
        answered.extend(transfer(0, &fragment));
    }
    answered.extend(transfer(1, &done(5, 13, &contexts)));
    write_seed("session", "all-answered.bin", &answered);
    // Config 0x30: four in flight; an indication, a FUNCTION_ERROR, answers
    // out of order in one transfer, a mismatched CID, then timeouts.
    let mut mixed = vec![0x30];
    mixed.extend(transfer(1, &indication));
    let error = Message::FunctionError {
        transaction_id: 3,
        error: ProtocolError::TimeoutFragment,
    };
    mixed.extend(transfer(1, &error.to_bytes().unwrap()));
    let mut two = done(5, 13, &contexts);
    two.extend(done(2, 1, &caps));
    mixed.extend(transfer(2, &two));
    mixed.extend(transfer(3, &done(4, 9, &register)));
    mixed.extend(transfer(200, &[]));
    mixed.extend(transfer(
        1,
        &with_transaction_id(&done(4, 8, &providers), 4),
    ));
    write_seed("session", "mixed-and-timeouts.bin", &mixed);
    // Config 0xC0: OPEN is answered by the input; then a close on step 0xFF
    // (TransactionId 2, no command was sent) and its CLOSE_DONE.
    let mut open_close = vec![0xC0];
    let open_done = Message::OpenDone {
        transaction_id: 1,
        status: Status::Success,
    };
    open_close.extend(transfer(1, &open_done.to_bytes().unwrap()));
    let close_done = Message::CloseDone {
        transaction_id: 2,
        status: Status::Success,
    };
    open_close.extend(transfer(0xFF, &close_done.to_bytes().unwrap()));
    write_seed("session", "open-then-close.bin", &open_close);
    // Config 0x04: 2 KiB messages; fragments with a gap past the 1 s fragment
    // timeout, garbage, and trailing zero padding.
    let mut broken = vec![0x04];
    let parts = fragments(&done(2, 1, &caps), 64);
    broken.extend(transfer(0, &parts[0]));
    broken.extend(transfer(30, &parts[1]));
    broken.extend(transfer(1, &[0xDE, 0xAD, 0xBE, 0xEF, 0x00, 0x01]));
    let mut padded = done(3, 9, &register);
    padded.extend([0u8; 16]);
    broken.extend(transfer(1, &padded));
    write_seed("session", "fragment-timeout-and-garbage.bin", &broken);
}
