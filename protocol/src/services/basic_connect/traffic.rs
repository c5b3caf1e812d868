//! A session's traffic: its counters (PACKET_STATISTICS), the host's idle
//! hint (NETWORK_IDLE_HINT) and the packet filters that wake the host
//! (IP_PACKET_FILTERS).

use crate::codec::{DecodeBudget, Payload, PayloadError, StructReader, StructWriter};
use crate::describe::{Describe, Value};
use crate::{mbim_enum, mbim_struct};

/// MBIM_PACKET_STATISTICS_INFO.
#[mbim_struct]
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct PacketStatisticsInfo {
    /// Inbound packets discarded.
    pub in_discards: u32,
    /// Inbound packets with errors.
    pub in_errors: u32,
    /// Inbound bytes.
    pub in_octets: u64,
    /// Inbound packets.
    pub in_packets: u64,
    /// Outbound bytes.
    pub out_octets: u64,
    /// Outbound packets.
    pub out_packets: u64,
    /// Outbound packets with errors.
    pub out_errors: u32,
    /// Outbound packets discarded.
    pub out_discards: u32,
}

mbim_enum! {
    /// MBIM_NETWORK_IDLE_HINT_STATE.
    pub enum NetworkIdleHintState {
        /// Disabled.
        Disabled = 0 => "disabled",
        /// Enabled.
        Enabled = 1 => "enabled",
    }
}

/// MBIM_NETWORK_IDLE_HINT.
#[mbim_struct]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct NetworkIdleHintInfo {
    /// The hint.
    pub state: NetworkIdleHintState,
}

/// MBIM_PACKET_FILTER: a filter and a mask of one shared size.
///
/// Written by hand: its one FilterSize gives the length of two byte arrays,
/// a layout no other CID uses, and the invariant (equal lengths) is kept by the
/// constructor rather than checked at every encode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketFilter {
    filter: Vec<u8>,
    mask: Vec<u8>,
}

impl PacketFilter {
    /// A filter; `None` unless the filter and the mask have the same length.
    pub fn new(filter: Vec<u8>, mask: Vec<u8>) -> Option<Self> {
        (filter.len() == mask.len()).then_some(PacketFilter { filter, mask })
    }

    /// The bytes to match.
    pub fn filter(&self) -> &[u8] {
        &self.filter
    }

    /// Which bits of the filter matter.
    pub fn mask(&self) -> &[u8] {
        &self.mask
    }
}

impl Payload for PacketFilter {
    const NAME: &'static str = "PacketFilter";

    fn decode_with(bytes: &[u8], budget: &DecodeBudget) -> Result<Self, PayloadError> {
        let mut reader = StructReader::with_budget(bytes, budget.clone());
        let decode = |reader: &mut StructReader<'_>| {
            let size = reader.count("filter_size")?;
            let filter = reader.bytes_at_offset("packet_filter", size)?;
            let mask = reader.bytes_at_offset("packet_mask", size)?;
            reader.finish()?;
            Ok(PacketFilter { filter, mask })
        };
        decode(&mut reader).map_err(|error: PayloadError| error.within(Self::NAME))
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        let mut writer = StructWriter::new();
        writer.count(self.filter.len());
        writer.bytes_at_offset(&self.filter);
        writer.bytes_at_offset(&self.mask);
        writer.finish(out);
    }
}

impl Describe for PacketFilter {
    fn describe(&self) -> Value {
        Value::Struct(vec![
            ("packet_filter", Value::Bytes(self.filter.clone())),
            ("packet_mask", Value::Bytes(self.mask.clone())),
        ])
    }
}

/// MBIM_PACKET_FILTERS.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq)]
pub struct PacketFilters {
    /// The IP session.
    pub session_id: u32,
    #[mbim(count_of = packet_filters)]
    packet_filters_count: u32,
    /// The filters.
    #[mbim(struct_list)]
    pub packet_filters: Vec<PacketFilter>,
}

#[cfg(test)]
impl proptest::arbitrary::Arbitrary for PacketFilter {
    type Parameters = ();
    type Strategy = proptest::strategy::BoxedStrategy<Self>;
    fn arbitrary_with(_: ()) -> Self::Strategy {
        use proptest::strategy::Strategy as _;
        proptest::collection::vec(proptest::arbitrary::any::<(u8, u8)>(), 0..16)
            .prop_map(|pairs| PacketFilter {
                filter: pairs.iter().map(|(filter, _)| *filter).collect(),
                mask: pairs.iter().map(|(_, mask)| *mask).collect(),
            })
            .boxed()
    }
}
