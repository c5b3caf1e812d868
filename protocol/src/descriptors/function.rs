//! Finding MBIM functions in a configuration descriptor.
//!
//! Two shapes are recognised:
//!
//! - an MBIM function (MBIM 1.0 §6): a communication interface 02h/0Eh/00h
//!   with CDC Header, CDC Union, MBIM (and optionally MBIM Extended)
//!   functional descriptors and an interrupt IN endpoint, and a data
//!   interface whose alternate setting 0 has no endpoints and whose
//!   alternate setting 1 (0Ah/00h/02h) has a bulk IN and a bulk OUT endpoint;
//! - an NCM/MBIM function (MBIM 1.0 §3.2): an NCM communication interface
//!   (02h/0Dh) whose alternate setting 1, if present, is the MBIM one, and
//!   whose data interface offers an MBIM setting (0Ah/00h/02h) next to the
//!   NCM one. Linux's `cdc_ncm.h` names the settings: communication 0 = NCM,
//!   1 = MBIM; data 1 = NCM, 2 = MBIM.

use super::standard::{
    ConfigurationDescriptor, EndpointDescriptor, InterfaceAssociationDescriptor,
    InterfaceDescriptor, TransferType,
};
use super::{
    CdcHeaderDescriptor, CdcUnionDescriptor, DescriptorError, Descriptors, FunctionalDescriptor,
    MbimExtendedFunctionalDescriptor, MbimFunctionalDescriptor, NcmFunctionalDescriptor,
    NetworkCapabilities, CLASS_CDC_DATA, CLASS_COMMUNICATION, DT_CS_INTERFACE, DT_ENDPOINT,
    DT_INTERFACE, DT_INTERFACE_ASSOCIATION, PROTOCOL_DATA_MBIM, PROTOCOL_MBIM_COMM, SUBCLASS_MBIM,
    SUBCLASS_NCM,
};

/// Which of the two shapes an MBIM function has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FunctionKind {
    /// A plain MBIM function: the communication interface is 02h/0Eh/00h.
    Mbim,
    /// An NCM/MBIM dual-mode function: the communication interface is NCM
    /// (02h/0Dh) in alternate setting 0, and MBIM is chosen by selecting the
    /// MBIM alternate settings.
    NcmMbim,
}

/// One alternate setting of a function's data interface.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DataAltSetting {
    /// The interface descriptor of this setting.
    pub interface: InterfaceDescriptor,
    /// The first bulk IN endpoint of this setting.
    pub bulk_in: Option<EndpointDescriptor>,
    /// The first bulk OUT endpoint of this setting.
    pub bulk_out: Option<EndpointDescriptor>,
}

impl DataAltSetting {
    /// Whether this setting carries MBIM NTBs (0Ah/00h/02h) on a bulk IN and
    /// a bulk OUT endpoint.
    pub fn is_mbim(&self) -> bool {
        self.interface.class_triple() == (CLASS_CDC_DATA, 0x00, PROTOCOL_DATA_MBIM)
            && self.bulk_in.is_some()
            && self.bulk_out.is_some()
    }
}

/// An MBIM function found in a configuration.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MbimFunction {
    /// Plain MBIM or NCM/MBIM.
    pub kind: FunctionKind,
    /// The IAD whose interfaces include the communication interface.
    pub association: Option<InterfaceAssociationDescriptor>,
    /// The communication interface setting to use: the MBIM one if the
    /// interface has one, otherwise (NCM/MBIM without an MBIM communication
    /// setting) the NCM one.
    pub comm: InterfaceDescriptor,
    /// The functional descriptors of that setting, in order.
    pub functional: Vec<FunctionalDescriptor>,
    /// The interrupt IN endpoint of that setting, which carries
    /// RESPONSE_AVAILABLE notifications.
    pub notification: Option<EndpointDescriptor>,
    /// The data interface: the Union's first subordinate or, for devices
    /// without a Union, the interface after the communication one when an
    /// IAD groups exactly two interfaces (the fallback of Linux's
    /// `cdc_ncm_bind_common`).
    pub data_interface: Option<u8>,
    /// The data interface's alternate settings, in descriptor order.
    pub data_settings: Vec<DataAltSetting>,
}

impl MbimFunction {
    /// bInterfaceNumber of the communication interface.
    pub fn comm_interface(&self) -> u8 {
        self.comm.interface_number
    }

    /// The CDC Header functional descriptor, if present.
    pub fn header(&self) -> Option<&CdcHeaderDescriptor> {
        self.functional.iter().find_map(|d| match d {
            FunctionalDescriptor::Header(h) => Some(h),
            _ => None,
        })
    }

    /// The CDC Union functional descriptor, if present.
    pub fn union(&self) -> Option<&CdcUnionDescriptor> {
        self.functional.iter().find_map(|d| match d {
            FunctionalDescriptor::Union(u) => Some(u),
            _ => None,
        })
    }

    /// The MBIM functional descriptor, if present.
    pub fn mbim(&self) -> Option<&MbimFunctionalDescriptor> {
        self.functional.iter().find_map(|d| match d {
            FunctionalDescriptor::Mbim(m) => Some(m),
            _ => None,
        })
    }

    /// The MBIM Extended functional descriptor, if present.
    pub fn mbim_extended(&self) -> Option<&MbimExtendedFunctionalDescriptor> {
        self.functional.iter().find_map(|d| match d {
            FunctionalDescriptor::MbimExtended(m) => Some(m),
            _ => None,
        })
    }

    /// The NCM functional descriptor, if present.
    pub fn ncm(&self) -> Option<&NcmFunctionalDescriptor> {
        self.functional.iter().find_map(|d| match d {
            FunctionalDescriptor::Ncm(n) => Some(n),
            _ => None,
        })
    }

    /// The data setting to select for MBIM traffic: the first that is
    /// 0Ah/00h/02h with a bulk IN and a bulk OUT endpoint.
    pub fn mbim_data_setting(&self) -> Option<&DataAltSetting> {
        self.data_settings.iter().find(|s| s.is_mbim())
    }

    /// bmNetworkCapabilities as Linux's `cdc_ncm_flags` picks it: the MBIM
    /// descriptor's if there is one, else the NCM descriptor's, else none.
    pub fn network_capabilities(&self) -> NetworkCapabilities {
        self.mbim()
            .map(|m| m.network_capabilities)
            .or_else(|| self.ncm().map(|n| n.network_capabilities))
            .unwrap_or_default()
    }

    /// The link MTU: [`MbimFunctionalDescriptor::link_mtu`], lowered to the
    /// MBIM Extended descriptor's wMTU when that is set and smaller (as
    /// Linux's `cdc_ncm_set_dgram_size` does: "do not exceed operator
    /// preferred MTU"). `None` without an MBIM functional descriptor.
    pub fn link_mtu(&self) -> Option<u16> {
        let mtu = self.mbim()?.link_mtu();
        Some(match self.mbim_extended().and_then(|e| e.operator_mtu()) {
            Some(operator) => mtu.min(operator),
            None => mtu,
        })
    }

    /// Whether the host has what it needs to run MBIM on this function: an
    /// MBIM functional descriptor, a notification endpoint and an MBIM data
    /// setting.
    pub fn is_usable(&self) -> bool {
        self.mbim().is_some() && self.notification.is_some() && self.mbim_data_setting().is_some()
    }
}

/// One interface setting and what follows it up to the next interface.
struct Setting {
    interface: InterfaceDescriptor,
    class_specific: Vec<usize>,
    endpoints: Vec<EndpointDescriptor>,
}

/// Finds the MBIM functions of a configuration, as returned by
/// GET_DESCRIPTOR(CONFIGURATION), in the order of their communication
/// interfaces.
///
/// The walk covers wTotalLength bytes, or the whole buffer if it is shorter
/// (a host may read only part of a configuration). Any malformed descriptor
/// in that range is an error, as is a malformed functional descriptor of an
/// MBIM or NCM communication interface. Class-specific descriptors of other
/// interfaces and descriptors of unknown types are skipped unread.
///
/// The work is bounded by the input: every descriptor is at least 2 bytes,
/// and each of at most 256 interface numbers is grouped once.
pub fn find_mbim_functions(config: &[u8]) -> Result<Vec<MbimFunction>, DescriptorError> {
    let cfg = ConfigurationDescriptor::parse(config)?;
    let own_length = config.first().copied().unwrap_or(0);
    if cfg.total_length < u16::from(own_length) {
        return Err(DescriptorError::TotalLengthTooShort {
            offset: 0,
            total_length: cfg.total_length,
            length: own_length,
        });
    }
    let end = usize::from(cfg.total_length).min(config.len());
    let buf = config.get(..end).unwrap_or(config);

    let mut associations = Vec::new();
    let mut settings: Vec<Setting> = Vec::new();
    for item in Descriptors::new(buf, usize::from(own_length)) {
        let (offset, bytes) = item?;
        match bytes.get(1).copied() {
            Some(DT_INTERFACE_ASSOCIATION) => {
                associations.push(InterfaceAssociationDescriptor::parse_at(buf, offset)?);
            }
            Some(DT_INTERFACE) => settings.push(Setting {
                interface: InterfaceDescriptor::parse_at(buf, offset)?,
                class_specific: Vec::new(),
                endpoints: Vec::new(),
            }),
            Some(DT_ENDPOINT) => {
                let endpoint = EndpointDescriptor::parse_at(buf, offset)?;
                if let Some(setting) = settings.last_mut() {
                    setting.endpoints.push(endpoint);
                }
            }
            Some(DT_CS_INTERFACE) => {
                if let Some(setting) = settings.last_mut() {
                    setting.class_specific.push(offset);
                }
            }
            _ => {}
        }
    }

    let mut functions = Vec::new();
    let mut seen = Vec::new();
    let mut claimed_data_interfaces = Vec::new();
    for setting in &settings {
        let number = setting.interface.interface_number;
        let (class, subclass, _) = setting.interface.class_triple();
        if class != CLASS_COMMUNICATION
            || !(subclass == SUBCLASS_MBIM || subclass == SUBCLASS_NCM)
            || seen.contains(&number)
        {
            continue;
        }
        seen.push(number);
        if let Some(function) = function_at(
            buf,
            number,
            &settings,
            &associations,
            &mut claimed_data_interfaces,
        )? {
            functions.push(function);
        }
    }
    Ok(functions)
}

/// The MBIM function whose communication interface is `number`, if it is one.
fn function_at(
    buf: &[u8],
    number: u8,
    settings: &[Setting],
    associations: &[InterfaceAssociationDescriptor],
    claimed_data_interfaces: &mut Vec<u8>,
) -> Result<Option<MbimFunction>, DescriptorError> {
    let of_interface = |n: u8| {
        settings
            .iter()
            .filter(move |s| s.interface.interface_number == n)
    };
    let mbim_comm = of_interface(number).find(|s| {
        s.interface.class_triple() == (CLASS_COMMUNICATION, SUBCLASS_MBIM, PROTOCOL_MBIM_COMM)
    });
    let ncm_comm = of_interface(number)
        .find(|s| s.interface.class == CLASS_COMMUNICATION && s.interface.subclass == SUBCLASS_NCM);
    let Some(chosen) = mbim_comm.or(ncm_comm) else {
        return Ok(None);
    };

    let functional = chosen
        .class_specific
        .iter()
        .map(|&offset| FunctionalDescriptor::parse_at(buf, offset))
        .collect::<Result<Vec<_>, _>>()?;
    let association = associations.iter().find(|a| a.contains(number)).copied();
    let union_data = functional.iter().find_map(|d| match d {
        FunctionalDescriptor::Union(u) => Some(u.data_interface()),
        _ => None,
    });
    let data_interface = match union_data {
        Some(data) => data,
        None => association
            .filter(|a| a.interface_count == 2)
            .and_then(|_| number.checked_add(1)),
    };
    // A data interface belongs to one function; a configuration naming it
    // from several would also make every function copy all its settings.
    if let Some(data) = data_interface {
        if claimed_data_interfaces.contains(&data) {
            return Err(DescriptorError::SharedDataInterface {
                data_interface: data,
                communication_interface: number,
            });
        }
        claimed_data_interfaces.push(data);
    }
    let data_settings: Vec<DataAltSetting> = match data_interface {
        Some(data) => of_interface(data)
            .map(|s| DataAltSetting {
                interface: s.interface,
                bulk_in: first_endpoint(&s.endpoints, TransferType::Bulk, true),
                bulk_out: first_endpoint(&s.endpoints, TransferType::Bulk, false),
            })
            .collect(),
        None => Vec::new(),
    };

    let kind = if mbim_comm.is_some() {
        if ncm_comm.is_some() {
            FunctionKind::NcmMbim
        } else {
            FunctionKind::Mbim
        }
    } else if data_settings
        .iter()
        .any(|s| s.interface.class_triple() == (CLASS_CDC_DATA, 0x00, PROTOCOL_DATA_MBIM))
    {
        FunctionKind::NcmMbim
    } else {
        // A plain NCM function: not ours.
        return Ok(None);
    };

    Ok(Some(MbimFunction {
        kind,
        association,
        comm: chosen.interface,
        functional,
        notification: first_endpoint(&chosen.endpoints, TransferType::Interrupt, true),
        data_interface,
        data_settings,
    }))
}

fn first_endpoint(
    endpoints: &[EndpointDescriptor],
    kind: TransferType,
    is_in: bool,
) -> Option<EndpointDescriptor> {
    endpoints
        .iter()
        .find(|e| e.transfer_type() == kind && e.is_in() == is_in)
        .copied()
}
