//! The in-process simulated modem as the supervisor takes a USB modem: what
//! `mbimd --simulate` runs, and what the supervisor's tests run.

use super::{FunctionSpec, ModemSpec};
use mbim_sim::device::SimModem;
use mbim_sim::inprocess::InProcessFunction;
use std::sync::Arc;

/// The modem spec and the functions of `modem`, numbered `index`, with the
/// identity its scenario's USB section gives (the USB path reads
/// "simulated").
pub fn simulated_modem(
    modem: &SimModem,
    index: u32,
) -> (ModemSpec, Vec<FunctionSpec<InProcessFunction>>) {
    let scenario = modem.scenario();
    let functions = (0..modem.function_count())
        .filter_map(|function| modem.function(function))
        .map(|function| {
            let config = function.config();
            FunctionSpec {
                transport: Arc::new(InProcessFunction::new(function)),
                max_control_message: config.max_control_message,
                max_segment_size: config.max_segment_size,
                kernel: None,
            }
        })
        .collect();
    let spec = ModemSpec {
        index,
        vid: scenario.usb.vid,
        pid: scenario.usb.pid,
        usb_path: "simulated".to_owned(),
        serial: Some(scenario.usb.serial.clone()),
        manufacturer: scenario.usb.manufacturer.clone(),
        model: scenario.usb.product.clone(),
        transport: "simulated",
    };
    (spec, functions)
}
