//! Starting a function's data path: the NTB format and input size chosen
//! from its NTB parameters and set at alternate setting 0, then alternate
//! setting 1, the bulk pipes, and the pump between them and the TUN device.

use crate::datapath::{self, PumpConfig, PumpHandle, SessionTable};
use crate::executor::Connection;
use crate::netdev::Netdev;
use mbim_protocol::ntb::{NtbFormat, NtbParameters};
use mbim_protocol::usb::{ClassRequest, NtbInputSize};
use mbim_transport::FunctionTransport;
use std::sync::Arc;

pub(super) async fn start_data_path<T: FunctionTransport>(
    transport: &Arc<T>,
    netdev: &Netdev,
    connection: &Connection,
    sessions: SessionTable,
) -> anyhow::Result<(PumpHandle, NtbFormat)> {
    // The executor reads the NTB parameters when it starts; if that failed,
    // ask the function again rather than guess limits it may not accept.
    let parameters = match connection.ntb {
        Some(parameters) => parameters,
        None => {
            let bytes = transport
                .control_in(ClassRequest::GetNtbParameters, 0, 28)
                .await?;
            NtbParameters::parse(&bytes)?
        }
    };
    let format = choose_ntb_format(&parameters);
    let in_size = ntb_input_size(&parameters, format);
    // Format and input size may only change while the data interface is at
    // alternate setting 0 (NCM 1.0 §6.2).
    transport.set_data_alt_setting(0).await?;
    transport
        .control_out(
            ClassRequest::SetNtbFormat,
            ntb_format_value(format),
            Vec::new(),
        )
        .await?;
    let input = NtbInputSize {
        max_size: in_size,
        max_datagrams: None,
    };
    transport
        .control_out(ClassRequest::SetNtbInputSize, 0, input.emit())
        .await?;
    transport.set_data_alt_setting(1).await?;
    let (bulk_in, bulk_out) = transport.take_data_pipes()?;
    let session = u8::try_from(connection.session_id)?;
    let mut config = PumpConfig::new(session, format, parameters);
    config.in_transfer_size = usize::try_from(in_size)?;
    config.framing = netdev.framing();
    let pump = datapath::Pump::new(bulk_in, bulk_out, config)?.with_sessions(sessions);
    let device = netdev
        .device()
        .ok_or_else(|| anyhow::anyhow!("{} is not a TUN device", netdev.name().as_str()))?;
    // An in-process modem's data thread takes the pump, so blocks cross
    // without a thread between them (`datapath::thread`).
    let handle = match transport.data_thread() {
        Some(thread) => datapath::spawn_on(&*thread, pump, device),
        None => datapath::spawn(pump, device),
    };
    Ok((handle, format))
}

/// The NTB format for a function with these parameters: NTB32 only when
/// the function offers it and needs it — a block larger than NTB16's 16-bit
/// lengths can address (dwNtbInMaxSize or dwNtbOutMaxSize above 65535).
/// Otherwise NTB16, which every function supports and every host uses (the
/// kernel's cdc_ncm and cdc_mbim never select NTB32), so it is the format
/// firmware is tested with.
pub fn choose_ntb_format(parameters: &NtbParameters) -> NtbFormat {
    let ntb16_limit = NtbFormat::Ntb16.max_block_len();
    let exceeds = |size: u32| usize::try_from(size).map_or(true, |size| size > ntb16_limit);
    if parameters.supports(NtbFormat::Ntb32)
        && (exceeds(parameters.in_max_size) || exceeds(parameters.out_max_size))
    {
        NtbFormat::Ntb32
    } else {
        NtbFormat::Ntb16
    }
}

pub(super) fn format_name(format: NtbFormat) -> &'static str {
    match format {
        NtbFormat::Ntb16 => "NTB16",
        NtbFormat::Ntb32 => "NTB32",
    }
}

/// SET_NTB_FORMAT's wValue (NCM 1.0 §6.2.5).
fn ntb_format_value(format: NtbFormat) -> u16 {
    match format {
        NtbFormat::Ntb16 => 0,
        NtbFormat::Ntb32 => 1,
    }
}

/// The NTB input size to set: dwNtbInMaxSize, but no more than the format
/// can address (a function offering 128 KiB blocks without NTB32 gets
/// NTB16's 65535, as cdc_ncm does).
fn ntb_input_size(parameters: &NtbParameters, format: NtbFormat) -> u32 {
    let limit = u32::try_from(format.max_block_len()).unwrap_or(u32::MAX);
    parameters.in_max_size.min(limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parameters(formats_supported: u16, in_max_size: u32, out_max_size: u32) -> NtbParameters {
        NtbParameters {
            formats_supported,
            in_max_size,
            in_divisor: 4,
            in_payload_remainder: 0,
            in_alignment: 4,
            out_max_size,
            out_divisor: 4,
            out_payload_remainder: 0,
            out_alignment: 4,
            out_max_datagrams: 0,
        }
    }

    #[test]
    fn ntb32_only_when_offered_and_needed() {
        use NtbFormat::{Ntb16, Ntb32};
        // (bmNtbFormatsSupported, dwNtbInMaxSize, dwNtbOutMaxSize, chosen, input size)
        let table = [
            (1, 16384, 16384, Ntb16, 16384),
            (3, 16384, 16384, Ntb16, 16384),
            (3, 65535, 65535, Ntb16, 65535),
            (3, 65536, 16384, Ntb32, 65536),
            (3, 16384, 65536, Ntb32, 16384),
            (3, 131_072, 131_072, Ntb32, 131_072),
            (3, u32::MAX, 16384, Ntb32, u32::MAX),
            // Large blocks without NTB32: NTB16, its input size clamped.
            (1, 131_072, 131_072, Ntb16, 65535),
            // NTB32 alone is not a valid function (NTB16 is mandatory); the
            // need still decides.
            (2, 16384, 16384, Ntb16, 16384),
            (2, 131_072, 16384, Ntb32, 131_072),
        ];
        for (formats, in_max, out_max, format, input) in table {
            let parameters = parameters(formats, in_max, out_max);
            assert_eq!(
                choose_ntb_format(&parameters),
                format,
                "formats {formats:#x}, in {in_max}, out {out_max}"
            );
            assert_eq!(ntb_input_size(&parameters, format), input, "{parameters:?}");
        }
        assert_eq!(ntb_format_value(Ntb16), 0);
        assert_eq!(ntb_format_value(Ntb32), 1);
    }
}
