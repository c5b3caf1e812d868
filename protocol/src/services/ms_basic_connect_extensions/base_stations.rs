//! MBIM_CID_MS_BASE_STATIONS_INFO (the serving and neighbouring cells of
//! every radio technology, with 5G NR from MBIMEx 3.0) and
//! MBIM_CID_MS_LOCATION_INFO_STATUS (location area, tracking area, cell).
//!
//! Serving cells are optional structures (offset 0 when there is none);
//! neighbour lists are Microsoft struct arrays: a count and the cells back to
//! back, each followed by its provider id.

use crate::mbim_struct;
use crate::services::basic_connect::{DataClass, DataClassV3, DataSubclass};

/// MBIM_MS_BASE_STATIONS_INFO_REQ: how many cells of each technology to report.
#[mbim_struct]
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct BaseStationsInfoQuery {
    /// GSM neighbours wanted at most.
    pub max_gsm_count: u32,
    /// UMTS neighbours wanted at most.
    pub max_umts_count: u32,
    /// TD-SCDMA neighbours wanted at most.
    pub max_tdscdma_count: u32,
    /// LTE neighbours wanted at most.
    pub max_lte_count: u32,
    /// CDMA cells wanted at most.
    pub max_cdma_count: u32,
}

/// MBIM_MS_BASE_STATIONS_INFO_REQ of MBIMEx 3.0: with 5G NR.
#[mbim_struct]
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct BaseStationsInfoQueryV3 {
    /// GSM neighbours wanted at most.
    pub max_gsm_count: u32,
    /// UMTS neighbours wanted at most.
    pub max_umts_count: u32,
    /// TD-SCDMA neighbours wanted at most.
    pub max_tdscdma_count: u32,
    /// LTE neighbours wanted at most.
    pub max_lte_count: u32,
    /// CDMA cells wanted at most.
    pub max_cdma_count: u32,
    /// NR cells wanted at most.
    pub max_nr_count: u32,
}

/// MBIM_MS_GSM_SERVING_CELL_INFO.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq)]
pub struct CellInfoServingGsm {
    /// MCC+MNC.
    pub provider_id: String,
    /// Location area code.
    pub location_area_code: u32,
    /// Cell id.
    pub cell_id: u32,
    /// Timing advance.
    pub timing_advance: u32,
    /// ARFCN.
    pub arfcn: u32,
    /// Base station identity code.
    pub base_station_id: u32,
    /// Received signal level.
    pub rx_level: u32,
}

/// MBIM_MS_UMTS_SERVING_CELL_INFO.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq)]
pub struct CellInfoServingUmts {
    /// MCC+MNC.
    pub provider_id: String,
    /// Location area code.
    pub location_area_code: u32,
    /// Cell id.
    pub cell_id: u32,
    /// Uplink frequency.
    pub frequency_info_ul: u32,
    /// Downlink frequency.
    pub frequency_info_dl: u32,
    /// TDD frequency.
    pub frequency_info_nt: u32,
    /// UARFCN.
    pub uarfcn: u32,
    /// Primary scrambling code.
    pub primary_scrambling_code: u32,
    /// RSCP, dBm.
    pub rscp: i32,
    /// Ec/No, dB.
    pub ecno: i32,
    /// Path loss.
    pub path_loss: u32,
}

/// MBIM_MS_TDSCDMA_SERVING_CELL_INFO.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq)]
pub struct CellInfoServingTdscdma {
    /// MCC+MNC.
    pub provider_id: String,
    /// Location area code.
    pub location_area_code: u32,
    /// Cell id.
    pub cell_id: u32,
    /// UARFCN.
    pub uarfcn: u32,
    /// Cell parameter id.
    pub cell_parameter_id: u32,
    /// Timing advance.
    pub timing_advance: u32,
    /// RSCP, dBm.
    pub rscp: i32,
    /// Path loss.
    pub path_loss: u32,
}

/// MBIM_MS_LTE_SERVING_CELL_INFO.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq)]
pub struct CellInfoServingLte {
    /// MCC+MNC.
    pub provider_id: String,
    /// Cell id.
    pub cell_id: u32,
    /// EARFCN.
    pub earfcn: u32,
    /// Physical cell id.
    pub physical_cell_id: u32,
    /// Tracking area code.
    pub tac: u32,
    /// RSRP, dBm.
    pub rsrp: i32,
    /// RSRQ, dB.
    pub rsrq: i32,
    /// Timing advance.
    pub timing_advance: u32,
}

/// MBIM_MS_GSM_NMR_INFO: a neighbouring GSM cell.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq)]
pub struct CellInfoNeighboringGsm {
    /// MCC+MNC.
    pub provider_id: String,
    /// Location area code.
    pub location_area_code: u32,
    /// Cell id.
    pub cell_id: u32,
    /// ARFCN.
    pub arfcn: u32,
    /// Base station identity code.
    pub base_station_id: u32,
    /// Received signal level.
    pub rx_level: u32,
}

/// MBIM_MS_UMTS_MRL_INFO: a neighbouring UMTS cell.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq)]
pub struct CellInfoNeighboringUmts {
    /// MCC+MNC.
    pub provider_id: String,
    /// Location area code.
    pub location_area_code: u32,
    /// Cell id.
    pub cell_id: u32,
    /// UARFCN.
    pub uarfcn: u32,
    /// Primary scrambling code.
    pub primary_scrambling_code: u32,
    /// RSCP, dBm.
    pub rscp: i32,
    /// Ec/No, dB.
    pub ecno: i32,
    /// Path loss.
    pub path_loss: u32,
}

/// MBIM_MS_TDSCDMA_MRL_INFO: a neighbouring TD-SCDMA cell.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq)]
pub struct CellInfoNeighboringTdscdma {
    /// MCC+MNC.
    pub provider_id: String,
    /// Location area code.
    pub location_area_code: u32,
    /// Cell id.
    pub cell_id: u32,
    /// UARFCN.
    pub uarfcn: u32,
    /// Cell parameter id.
    pub cell_parameter_id: u32,
    /// Timing advance.
    pub timing_advance: u32,
    /// RSCP, dBm.
    pub rscp: i32,
    /// Path loss.
    pub path_loss: u32,
}

/// MBIM_MS_LTE_MRL_INFO: a neighbouring LTE cell.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq)]
pub struct CellInfoNeighboringLte {
    /// MCC+MNC.
    pub provider_id: String,
    /// Cell id.
    pub cell_id: u32,
    /// EARFCN.
    pub earfcn: u32,
    /// Physical cell id.
    pub physical_cell_id: u32,
    /// Tracking area code.
    pub tac: u32,
    /// RSRP, dBm.
    pub rsrp: i32,
    /// RSRQ, dB.
    pub rsrq: i32,
}

/// MBIM_MS_CDMA_MRL_INFO: a CDMA cell, serving or not.
#[mbim_struct]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct CellInfoCdma {
    /// 1 for the serving cell.
    pub serving_cell_flag: u32,
    /// Network id.
    pub nid: u32,
    /// System id.
    pub sid: u32,
    /// Base station id.
    pub base_station_id: u32,
    /// Base station latitude.
    pub base_latitude: u32,
    /// Base station longitude.
    pub base_longitude: u32,
    /// Reference PN.
    pub ref_pn: u32,
    /// GPS seconds.
    pub gps_seconds: u32,
    /// Pilot strength.
    pub pilot_strength: u32,
}

/// MBIM_MS_NR_SERVING_CELL_INFO (MBIMEx 3.0).
#[mbim_struct]
#[derive(Clone, PartialEq, Eq)]
pub struct CellInfoServingNr {
    /// MCC+MNC.
    pub provider_id: String,
    /// NR cell identity.
    pub nci: u64,
    /// Physical cell id.
    pub physical_cell_id: u32,
    /// NR-ARFCN.
    pub nrarfcn: u32,
    /// Tracking area code.
    pub tac: u32,
    /// SS-RSRP, coded as 3GPP TS 38.133 (0-126 is -156 to -31 dBm).
    pub rsrp: u32,
    /// SS-RSRQ, coded as 3GPP TS 38.133 (0-126 is -43 to 20 dB).
    pub rsrq: u32,
    /// SS-SINR, coded as 3GPP TS 38.133 (0-127 is -23 to 40 dB).
    pub sinr: u32,
    /// Timing advance.
    pub timing_advance: u64,
}

/// MBIM_MS_NR_NEIGHBOR_CELL_INFO (MBIMEx 3.0).
#[mbim_struct]
#[derive(Clone, PartialEq, Eq)]
pub struct CellInfoNeighboringNr {
    /// How the cell is reached (NSA, SA…).
    pub system_subtype: DataSubclass,
    /// MCC+MNC.
    pub provider_id: String,
    /// Cell id.
    pub cell_id: String,
    /// Physical cell id.
    pub physical_cell_id: u32,
    /// Tracking area code.
    pub tac: u32,
    /// SS-RSRP, coded as for the serving cell.
    pub rsrp: u32,
    /// SS-RSRQ, coded as for the serving cell.
    pub rsrq: u32,
    /// SS-SINR, coded as for the serving cell.
    pub sinr: u32,
}

/// MBIM_MS_BASE_STATIONS_INFO.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq, Default)]
pub struct BaseStationsInfo {
    /// The technologies of the serving system.
    pub system_type: DataClass,
    /// The GSM serving cell, if any.
    #[mbim(nested)]
    pub gsm_serving_cell: Option<CellInfoServingGsm>,
    /// The UMTS serving cell, if any.
    #[mbim(nested)]
    pub umts_serving_cell: Option<CellInfoServingUmts>,
    /// The TD-SCDMA serving cell, if any.
    #[mbim(nested)]
    pub tdscdma_serving_cell: Option<CellInfoServingTdscdma>,
    /// The LTE serving cell, if any.
    #[mbim(nested)]
    pub lte_serving_cell: Option<CellInfoServingLte>,
    /// Neighbouring GSM cells.
    #[mbim(nested_list)]
    pub gsm_neighboring_cells: Vec<CellInfoNeighboringGsm>,
    /// Neighbouring UMTS cells.
    #[mbim(nested_list)]
    pub umts_neighboring_cells: Vec<CellInfoNeighboringUmts>,
    /// Neighbouring TD-SCDMA cells.
    #[mbim(nested_list)]
    pub tdscdma_neighboring_cells: Vec<CellInfoNeighboringTdscdma>,
    /// Neighbouring LTE cells.
    #[mbim(nested_list)]
    pub lte_neighboring_cells: Vec<CellInfoNeighboringLte>,
    /// CDMA cells.
    #[mbim(nested_list)]
    pub cdma_cells: Vec<CellInfoCdma>,
}

/// MBIM_MS_BASE_STATIONS_INFO_V2 (MBIMEx 3.0): with the data subclass and
/// 5G NR cells.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq, Default)]
pub struct BaseStationsInfoV3 {
    /// The technologies of the serving system.
    pub system_type: DataClassV3,
    /// How 5G is reached (NSA, SA…).
    pub system_subtype: DataSubclass,
    /// The GSM serving cell, if any.
    #[mbim(nested)]
    pub gsm_serving_cell: Option<CellInfoServingGsm>,
    /// The UMTS serving cell, if any.
    #[mbim(nested)]
    pub umts_serving_cell: Option<CellInfoServingUmts>,
    /// The TD-SCDMA serving cell, if any.
    #[mbim(nested)]
    pub tdscdma_serving_cell: Option<CellInfoServingTdscdma>,
    /// The LTE serving cell, if any.
    #[mbim(nested)]
    pub lte_serving_cell: Option<CellInfoServingLte>,
    /// Neighbouring GSM cells.
    #[mbim(nested_list)]
    pub gsm_neighboring_cells: Vec<CellInfoNeighboringGsm>,
    /// Neighbouring UMTS cells.
    #[mbim(nested_list)]
    pub umts_neighboring_cells: Vec<CellInfoNeighboringUmts>,
    /// Neighbouring TD-SCDMA cells.
    #[mbim(nested_list)]
    pub tdscdma_neighboring_cells: Vec<CellInfoNeighboringTdscdma>,
    /// Neighbouring LTE cells.
    #[mbim(nested_list)]
    pub lte_neighboring_cells: Vec<CellInfoNeighboringLte>,
    /// CDMA cells.
    #[mbim(nested_list)]
    pub cdma_cells: Vec<CellInfoCdma>,
    /// The NR serving cells (several with carrier aggregation).
    #[mbim(nested_list)]
    pub nr_serving_cells: Vec<CellInfoServingNr>,
    /// Neighbouring NR cells.
    #[mbim(nested_list)]
    pub nr_neighbor_cells: Vec<CellInfoNeighboringNr>,
}

/// MBIM_MS_LOCATION_INFO: where the device is registered.
#[mbim_struct]
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct LocationInfo {
    /// Location area code.
    pub location_area_code: u32,
    /// Tracking area code.
    pub tracking_area_code: u32,
    /// Cell id.
    pub cell_id: u32,
}
