//! What the data-plane tests of the model share: a host with sessions
//! activated on function 0 and its data interface up, and NTBs built from
//! (session, datagram) pairs and read back.

#![allow(dead_code, clippy::unwrap_used)]

use mbim_protocol::ntb::{BuildLimits, NdpSignature, Ntb, NtbBuilder, NtbFormat};
use mbim_protocol::services::basic_connect::{self as bc, cid as bcc};
use mbim_sim::control::{ControlCommand, TrafficSettings, TrafficSource};
use mbim_sim::model::host::Host;
use mbim_sim::scenario::Scenario;
use std::net::Ipv4Addr;
use std::time::Instant;

/// The default scenario's host address (session 0).
pub(crate) const HOST4: Ipv4Addr = Ipv4Addr::new(10, 64, 0, 2);
/// Its gateway.
pub(crate) const GW4: Ipv4Addr = Ipv4Addr::new(10, 64, 0, 1);

/// The default dual-SIM scenario, function 0 opened, `sessions` activated
/// (APN "internet", IPv4v6) and the data interface at alternate setting 1.
pub(crate) fn connected(sessions: &[u32]) -> Host {
    connected_to(Scenario::default_dssa(), sessions)
}

/// [`connected`] on `scenario`.
pub(crate) fn connected_to(scenario: Scenario, sessions: &[u32]) -> Host {
    let mut host = Host::new(scenario, Instant::now()).unwrap();
    host.open(0);
    for session in sessions {
        connect(&mut host, *session, bc::ActivationCommand::Activate);
    }
    host.modem.set_data_alt_setting(0, 1);
    host
}

/// Activates or deactivates `session` on function 0 (APN "internet",
/// IPv4v6), which must succeed.
pub(crate) fn connect(host: &mut Host, session: u32, command: bc::ActivationCommand) {
    let done = host
        .set::<bcc::Connect>(0, &connect_set(session, command, bc::ContextIpType::Ipv4v6))
        .unwrap();
    assert_eq!(done.status, mbim_protocol::status::Status::Success);
}

/// A CONNECT set of `session` to APN "internet" (no credentials).
pub(crate) fn connect_set(
    session: u32,
    command: bc::ActivationCommand,
    ip_type: bc::ContextIpType,
) -> bc::ConnectSet {
    bc::ConnectSet {
        session_id: session,
        activation_command: command,
        access_string: "internet".to_owned(),
        user_name: String::new(),
        password: String::new(),
        compression: bc::Compression::None,
        auth_protocol: bc::AuthProtocol::None,
        ip_type,
        context_type: bc::ContextType::Internet.uuid(),
    }
}

/// Sets the traffic mode of function 0's `session`: its sink's port on
/// the gateway and its generator.
pub(crate) fn set_traffic(
    host: &mut Host,
    session: u32,
    sink_port: Option<u16>,
    source: Option<TrafficSource>,
) {
    let settings = TrafficSettings {
        session,
        sink_port,
        source,
    };
    host.modem
        .control(
            host.now,
            ControlCommand::Traffic {
                executor: 0,
                settings,
            },
        )
        .unwrap();
}

/// A generator of `rate` UDP datagrams a second with `size` bytes of
/// payload, from the gateway's port 9 to `address`'s port 5002.
pub(crate) fn generator(address: Ipv4Addr, rate: u64, size: usize) -> TrafficSource {
    TrafficSource {
        address: address.into(),
        port: 5002,
        source_port: 9,
        rate,
        size,
    }
}

/// The next NTB function 0 has for bulk IN (up to 16 KiB), if any waits.
pub(crate) fn next_block(host: &mut Host) -> Option<Vec<u8>> {
    host.modem.poll_bulk_in(host.now, 0, 16384).unwrap()
}

/// One NTB of `format` carrying `datagrams`, each on its session's NDP.
pub(crate) fn ntb(format: NtbFormat, datagrams: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let limits = BuildLimits {
        max_size: 16384,
        max_datagrams: 0,
        divisor: 4,
        remainder: 0,
        ndp_alignment: 4,
    };
    let mut builder = NtbBuilder::new(format, limits).unwrap();
    for (session, datagram) in datagrams {
        builder.push(NdpSignature::Ips(*session), datagram).unwrap();
    }
    builder.finish().unwrap().to_vec()
}

/// The datagrams of `block`, with the signature of the NDP each came in.
pub(crate) fn datagrams(block: &[u8]) -> Vec<(NdpSignature, Vec<u8>)> {
    Ntb::new_checked(block)
        .unwrap()
        .datagrams()
        .map(|d| {
            let d = d.unwrap();
            (d.signature, d.data.to_vec())
        })
        .collect()
}
