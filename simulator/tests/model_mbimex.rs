//! MBIM_CID_VERSION and the layouts agreed with it: a 1.0 modem does not
//! know the CID; a 3.0 modem agrees on the lower of the host's version and
//! its own, per function and until the next OPEN, and then answers and
//! indicates in that version's layouts and reads CONNECT's 3.0 SET; a 4.0
//! modem reads CONNECT's 4.0 SET on the default slice and answers with it.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use mbim_protocol::mbimex::MbimExVersion;
use mbim_protocol::services::basic_connect::{self as bc, cid as bcc};
use mbim_protocol::services::ms_basic_connect_extensions::{self as ms, cid as msc};
use mbim_protocol::services::Cid;
use mbim_protocol::status::Status;
use mbim_protocol::tlv::{Tlv, TlvType};
use mbim_protocol::Empty;
use mbim_sim::model::host::Host;
use mbim_sim::scenario::Scenario;
use std::time::Instant;

fn host(mbimex: u8, data_class: &str) -> Host {
    let mut scenario = Scenario::default_dssa();
    scenario.modem.mbimex = mbimex;
    scenario.modem.data_classes = vec!["lte".to_owned(), "5g-nsa".to_owned()];
    scenario.executors[0].network.data_class = data_class.to_owned();
    scenario.validate().unwrap();
    let mut host = Host::new(scenario, Instant::now()).unwrap();
    assert_eq!(host.open(0), Some(Status::Success));
    host
}

/// MBIM_CID_VERSION with `offered`, to a modem that speaks up to `modem`.
fn agree(host: &mut Host, offered: MbimExVersion, modem: MbimExVersion) -> Status {
    let done = host
        .query::<msc::Version>(0, &ms::VersionInfo::host(offered))
        .unwrap();
    if done.status.is_success() {
        let answer = done.decode::<msc::Version>().unwrap();
        assert_eq!(answer.bcd_mbim_version, ms::MBIM_VERSION_1_0);
        assert_eq!(
            answer.extended_version(),
            MbimExVersion::negotiated(offered, modem)
        );
    }
    done.status
}

#[test]
fn a_1_0_modem_does_not_know_the_version_cid_and_stays_1_0() {
    let mut host = host(1, "lte");
    assert_eq!(
        agree(&mut host, MbimExVersion::V3, MbimExVersion::V1),
        Status::NoDeviceSupport
    );
    let services = host
        .query::<bcc::DeviceServices>(0, &Empty)
        .unwrap()
        .decode::<bcc::DeviceServices>()
        .unwrap();
    assert!(!services.device_services[1].cids.contains(&msc::Version::ID));
    // Still MBIM 1.0's SIGNAL_STATE (20 bytes).
    let signal = host.query::<bcc::SignalState>(0, &Empty).unwrap();
    signal.decode::<bcc::SignalState>().unwrap();
    assert_eq!(signal.buffer.len(), 20);
}

#[test]
fn a_3_0_modem_speaks_the_agreed_layouts_until_the_next_open() {
    let mut host = host(3, "5g-nsa");
    let services = host
        .query::<bcc::DeviceServices>(0, &Empty)
        .unwrap()
        .decode::<bcc::DeviceServices>()
        .unwrap();
    assert!(services.device_services[1].cids.contains(&msc::Version::ID));
    // A 2.0 host: 2.0's layouts.
    assert_eq!(
        agree(&mut host, MbimExVersion::V2, MbimExVersion::V3),
        Status::Success
    );
    let packet = host
        .query::<bcc::PacketServiceV2>(0, &Empty)
        .unwrap()
        .decode::<bcc::PacketServiceV2>()
        .unwrap();
    assert_eq!(packet.frequency_range, bc::FrequencyRange::RANGE_1);
    // A 3.0 host (4.0 offered, 3.0 agreed): 3.0's.
    assert_eq!(
        agree(&mut host, MbimExVersion::V4, MbimExVersion::V3),
        Status::Success
    );
    let signal = host
        .query::<bcc::SignalStateV2>(0, &Empty)
        .unwrap()
        .decode::<bcc::SignalStateV2>()
        .unwrap();
    let measured: Vec<_> = signal
        .rsrp_snr
        .iter()
        .map(|info| (info.system_type, info.rsrp_dbm(), info.snr_db()))
        .collect();
    assert_eq!(
        measured,
        vec![
            (bc::DataClass::LTE, Some(-95), Some(12.0)),
            (bc::DataClass::NR5G_NSA, Some(-95), Some(12.0)),
        ]
    );
    let packet = host
        .query::<bcc::PacketServiceV3>(0, &Empty)
        .unwrap()
        .decode::<bcc::PacketServiceV3>()
        .unwrap();
    assert_eq!(packet.data_subclass, bc::DataSubclass::NR5G_ENDC);
    assert_eq!((packet.tai.plmn_mcc, packet.tai.plmn_mnc), (1, 1));
    let caps = host
        .query::<msc::DeviceCapsV3>(0, &Empty)
        .unwrap()
        .decode::<msc::DeviceCapsV3>()
        .unwrap();
    assert_eq!(caps.data_subclass, bc::WideDataSubclass::NR5G_ENDC);
    assert_eq!(caps.firmware_info, "mbim-sim 0.1");
    let ready = host
        .query::<bcc::SubscriberReadyStatusV3>(0, &Empty)
        .unwrap()
        .decode::<bcc::SubscriberReadyStatusV3>()
        .unwrap();
    assert_eq!(ready.ready_state, bc::SubscriberReadyState::Initialized);
    // CONNECT's 3.0 SET, answered in 3.0's form.
    let set = bc::ConnectSetV3 {
        session_id: 0,
        activation_command: bc::ActivationCommand::Activate,
        compression: bc::Compression::None,
        auth_protocol: bc::AuthProtocol::None,
        ip_type: bc::ContextIpType::Ipv4,
        context_type: bc::ContextType::Internet.uuid(),
        media_preference: bc::AccessMediaType::ThreeGpp,
        access_string: "internet".to_owned(),
        user_name: String::new(),
        password: String::new(),
        unnamed_ies: Vec::new(),
    };
    let done = host.set::<bcc::ConnectV3>(0, &set).unwrap();
    assert_eq!(done.status, Status::Success);
    let info = done.decode::<bcc::ConnectV3>().unwrap();
    assert_eq!(info.activation_state, bc::ActivationState::Activated);
    // A new OPEN forgets the agreement.
    assert_eq!(host.open(0), Some(Status::Success));
    let signal = host.query::<bcc::SignalState>(0, &Empty).unwrap();
    assert_eq!(signal.buffer.len(), 20);
}

#[test]
fn a_4_0_modem_connects_on_the_default_slice_only() {
    let mut host = host(4, "lte");
    assert_eq!(
        agree(&mut host, MbimExVersion::V4, MbimExVersion::V4),
        Status::Success
    );
    let contexts = host
        .query::<msc::ProvisionedContextsV4>(0, &Empty)
        .unwrap()
        .decode::<msc::ProvisionedContextsV4>()
        .unwrap();
    assert!(contexts
        .contexts
        .iter()
        .all(|context| context.snssai == bc::no_slice()));
    let set = |snssai: Vec<u8>| bc::ConnectSetV4 {
        session_id: 0,
        activation_command: bc::ActivationCommand::Activate,
        activation_option: bc::ActivationOption::Default,
        compression: bc::Compression::None,
        auth_protocol: bc::AuthProtocol::None,
        ip_type: bc::ContextIpType::Ipv4,
        context_type: bc::ContextType::Internet.uuid(),
        media_preference: bc::AccessMediaType::ThreeGpp,
        access_string: "internet".to_owned(),
        user_name: String::new(),
        password: String::new(),
        snssai: Tlv::new(TlvType::SingleNssai, snssai),
        unnamed_ies: Vec::new(),
    };
    // A slice the simulated network does not have (SST 1, SD 1) is refused.
    let done = host.set::<bcc::ConnectV4>(0, &set(vec![1, 1])).unwrap();
    assert_eq!(done.status, Status::InvalidParameters);
    let done = host.set::<bcc::ConnectV4>(0, &set(Vec::new())).unwrap();
    assert_eq!(done.status, Status::Success);
    let info = done.decode::<bcc::ConnectV4>().unwrap();
    assert_eq!(info.activation_state, bc::ActivationState::Activated);
    assert_eq!(info.snssai, bc::no_slice());
}
