//! The encoded shape of records and record deltas (see `docs/encoding.md`).
//!
//! One transaction stamps all its writes with the same `(dot, hlc)`, so a record's entries share
//! few distinct stamps. Each record therefore lists its stamps once and entries refer to them by
//! index: a typical event written in one transaction spends 27 bytes on stamps instead of 27
//! bytes per field. Decoding checks every index, so damaged data is an error, not a panic.
//!
//! Field names are written as strings in deltas, sync messages and format-1/2 records
//! (`RecordWire<String>`), and as [`Name`]s in format-3 and format-4 records
//! (`RecordWire<Name>`, decision 0026): one byte for a name of the built-in table [`NAMES`],
//! the name itself otherwise.
//!
//! Format-4 records also write their stamps compactly ([`CompactStamps`], decision 0031): each
//! replica id once, and each stamp's clock as the difference from the stamp before, so a stamp
//! added by a later edit of the same device costs about 8 bytes instead of about 28.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, EnumAccess, VariantAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::record::Parts;
use super::{
    Dot, Entry, Extremum, FieldName, Hlc, Lifecycle, Member, MvRegister, RecordDelta, RecordState,
    ReplicaId, Value,
};

type Stamped<T> = Vec<(u32, T)>;

/// The members of one keyed map, by key.
type Members<N, V> = Vec<(String, MemberWire<N, V>)>;

/// The field names format-3 records write as one byte: code `i + 1` is `NAMES[i]`, code 0 a
/// name written out. Field names of the calendar domain (events, their attendees, alarms and
/// patches, calendars), so a record needs no store state to be read.
///
/// Frozen with format 3: a reader of format 3 knows exactly these codes, so a name added here
/// would be unreadable by the versions already shipped. New names are written out until the
/// next record format extends the table.
pub const NAMES: [&str; 33] = [
    "calendar",
    "uid",
    "timing",
    "rule",
    "rdates",
    "exdates",
    "attendees",
    "alarms",
    "overrides",
    "range_patches",
    "truncate_at",
    "detached_timing",
    "unknown_properties",
    "acknowledged",
    "cancelled",
    "value",
    "cancel_seen",
    "title",
    "location",
    "notes",
    "url",
    "status",
    "availability",
    "color",
    "organizer",
    "organizer_name",
    "role",
    "participation",
    "name",
    "params",
    "trigger",
    "description",
    "time_zone",
];

/// A field name in a format-3 record: the code of a built-in name, or the name written out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Name {
    /// `NAMES[code - 1]`.
    Known {
        /// Its code, from 1.
        code: u32,
        /// `NAMES[code - 1]`.
        name: &'static str,
    },
    /// Any other name.
    Written(String),
}

impl From<&FieldName> for Name {
    fn from(name: &FieldName) -> Name {
        match name.code() {
            Some(code) => Name::Known { code, name: NAMES[code as usize - 1] },
            None => Name::Written(name.to_string()),
        }
    }
}

impl From<Name> for FieldName {
    fn from(name: Name) -> FieldName {
        match name {
            Name::Known { name, .. } => FieldName::new(name),
            Name::Written(name) => FieldName::from(name),
        }
    }
}

/// An enum whose variant index is the code: bincode writes it as one varint byte, followed by
/// the string for code 0.
impl Serialize for Name {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Name::Known { code, .. } => serializer.serialize_unit_variant("Name", *code, "known"),
            Name::Written(name) => serializer.serialize_newtype_variant("Name", 0, "written", name),
        }
    }
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Name, D::Error> {
        struct NameVisitor;

        impl<'de> Visitor<'de> for NameVisitor {
            type Value = Name;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name code")
            }

            fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Name, A::Error> {
                let (code, variant) = data.variant::<u32>()?;
                if code == 0 {
                    return Ok(Name::Written(variant.newtype_variant()?));
                }
                let name = usize::try_from(code)
                    .ok()
                    .and_then(|code| code.checked_sub(1))
                    .and_then(|index| NAMES.get(index))
                    .ok_or_else(|| {
                        de::Error::custom(format!(
                            "field name code {code} does not exist (format 3 knows 1 to {})",
                            NAMES.len()
                        ))
                    })?;
                variant.unit_variant()?;
                Ok(Name::Known { code, name })
            }
        }

        deserializer.deserialize_enum("Name", &["written", "known"], NameVisitor)
    }
}

/// A record or record delta as encoded, its field names as `N` (`String`, or [`Name`] in
/// format-3 and format-4 records) and its stamps as `S` (listed whole, or [`CompactStamps`] in
/// format-4 records). `lifecycle` is `None` only in deltas that omit it. Values are `V`: owned
/// when decoded, borrowed from the record when encoded (serde writes `&Value` as `Value`, and
/// cloning every value only to write it was a tenth of encoding a record; decision 0039).
#[derive(Clone, Serialize, Deserialize)]
pub struct RecordWire<N = String, S = Vec<(Dot, Hlc)>, V = Value> {
    stamps: S,
    lifecycle: Option<Stamped<Lifecycle>>,
    registers: Vec<(N, Stamped<V>)>,
    maps: Vec<(N, Members<N, V>)>,
    minimums: Vec<(N, Option<(u32, V)>)>,
    maximums: Vec<(N, Option<(u32, V)>)>,
}

#[derive(Clone, Serialize, Deserialize)]
struct MemberWire<N, V> {
    presence: Stamped<bool>,
    fields: Vec<(N, Stamped<V>)>,
}

/// A record's stamps as format-4 records write them: the distinct replica ids once, in order of
/// first use, and each stamp as (replica index, counter, clock milliseconds minus the previous
/// stamp's, logical clock). The first stamp's difference is from 0. Differences wrap around
/// (`u64` arithmetic modulo 2^64 read as `i64`), so every clock reads back exactly, however
/// far apart; bincode writes small differences in 1 to 5 bytes where a clock takes 9.
#[derive(Clone, Serialize, Deserialize)]
pub struct CompactStamps {
    replicas: Vec<ReplicaId>,
    stamps: Vec<(u32, u64, i64, u32)>,
}

impl From<&[(Dot, Hlc)]> for CompactStamps {
    fn from(stamps: &[(Dot, Hlc)]) -> Self {
        let mut replicas: Vec<ReplicaId> = Vec::new();
        let mut previous = 0u64;
        let stamps = stamps
            .iter()
            .map(|(dot, hlc)| {
                // A record has a handful of writers: a linear search beats a map here.
                let index = match replicas.iter().position(|r| *r == dot.replica) {
                    Some(i) => i,
                    None => {
                        replicas.push(dot.replica);
                        replicas.len() - 1
                    }
                };
                let difference = hlc.millis.wrapping_sub(previous) as i64;
                previous = hlc.millis;
                (index as u32, dot.counter, difference, hlc.logical)
            })
            .collect();
        CompactStamps { replicas, stamps }
    }
}

impl TryFrom<CompactStamps> for Vec<(Dot, Hlc)> {
    type Error = String;

    fn try_from(compact: CompactStamps) -> Result<Self, String> {
        let mut previous = 0u64;
        compact
            .stamps
            .into_iter()
            .map(|(index, counter, difference, logical)| {
                let replica = *compact.replicas.get(index as usize).ok_or_else(|| {
                    format!(
                        "replica {index} does not exist (the record lists {})",
                        compact.replicas.len()
                    )
                })?;
                previous = previous.wrapping_add(difference as u64);
                Ok((Dot { replica, counter }, Hlc { millis: previous, logical }))
            })
            .collect()
    }
}

impl<N, S, V> RecordWire<N, S, V> {
    /// The same record with its stamps written another way (everything else moved as it is).
    fn map_stamps<T, E>(
        self,
        convert: impl FnOnce(S) -> Result<T, E>,
    ) -> Result<RecordWire<N, T, V>, E> {
        Ok(RecordWire {
            stamps: convert(self.stamps)?,
            lifecycle: self.lifecycle,
            registers: self.registers,
            maps: self.maps,
            minimums: self.minimums,
            maximums: self.maximums,
        })
    }
}

/// Format 4 through serde: since decision 0040 records are written by `payload_writer.rs`,
/// and this is the reference its tests compare it with, byte for byte.
#[cfg(test)]
impl<N, V> RecordWire<N, Vec<(Dot, Hlc)>, V> {
    /// The same record with its stamps written compactly (format 4).
    pub(crate) fn with_compact_stamps(self) -> RecordWire<N, CompactStamps, V> {
        let Ok(wire) = self.map_stamps(|stamps| {
            Ok::<_, std::convert::Infallible>(CompactStamps::from(stamps.as_slice()))
        });
        wire
    }
}

impl<N> TryFrom<RecordWire<N, CompactStamps>> for RecordWire<N> {
    type Error = String;

    fn try_from(wire: RecordWire<N, CompactStamps>) -> Result<Self, String> {
        wire.map_stamps(Vec::<(Dot, Hlc)>::try_from)
    }
}

/// Collects the distinct stamps while encoding.
#[derive(Default)]
struct StampTable {
    stamps: Vec<(Dot, Hlc)>,
    index: BTreeMap<Dot, u32>,
}

impl StampTable {
    fn index_of(&mut self, dot: Dot, hlc: Hlc) -> u32 {
        *self.index.entry(dot).or_insert_with(|| {
            self.stamps.push((dot, hlc));
            (self.stamps.len() - 1) as u32
        })
    }

    fn register<T: Clone>(&mut self, register: &MvRegister<T>) -> Stamped<T> {
        register.entries().iter().map(|e| (self.index_of(e.dot, e.hlc), e.value.clone())).collect()
    }

    /// The entries of a register of values, borrowed.
    fn values<'v>(&mut self, register: &'v MvRegister<Value>) -> Stamped<&'v Value> {
        register.entries().iter().map(|e| (self.index_of(e.dot, e.hlc), &e.value)).collect()
    }

    fn extremum<'v>(&mut self, register: &'v Extremum<Value>) -> Option<(u32, &'v Value)> {
        register.entry().map(|e| (self.index_of(e.dot, e.hlc), &e.value))
    }

    fn member<'v, N: for<'a> From<&'a FieldName>>(
        &mut self,
        member: &'v Member,
    ) -> MemberWire<N, &'v Value> {
        MemberWire {
            presence: self.register(member.presence()),
            fields: member
                .fields()
                .iter()
                .map(|(name, r)| (N::from(name), self.values(r)))
                .collect(),
        }
    }
}

fn encode<'p, N: for<'a> From<&'a FieldName>>(
    parts: Parts<'p>,
) -> RecordWire<N, Vec<(Dot, Hlc)>, &'p Value> {
    let mut table = StampTable::default();
    let lifecycle = parts.lifecycle.map(|r| table.register(r));
    let registers =
        parts.registers.iter().map(|(name, r)| (N::from(name), table.values(r))).collect();
    let maps = parts
        .maps
        .iter()
        .map(|(name, members)| {
            (N::from(name), members.iter().map(|(key, m)| (key.clone(), table.member(m))).collect())
        })
        .collect();
    let minimums =
        parts.minimums.iter().map(|(name, r)| (N::from(name), table.extremum(r))).collect();
    let maximums =
        parts.maximums.iter().map(|(name, r)| (N::from(name), table.extremum(r))).collect();
    RecordWire { stamps: table.stamps, lifecycle, registers, maps, minimums, maximums }
}

fn entry<T>(stamps: &[(Dot, Hlc)], (index, value): (u32, T)) -> Result<Entry<T>, String> {
    let (dot, hlc) = stamps.get(index as usize).copied().ok_or_else(|| {
        format!("stamp {index} does not exist (the record lists {})", stamps.len())
    })?;
    Ok(Entry { dot, hlc, value })
}

fn register<T: Clone>(stamps: &[(Dot, Hlc)], entries: Stamped<T>) -> Result<MvRegister<T>, String> {
    let entries = entries.into_iter().map(|e| entry(stamps, e)).collect::<Result<Vec<_>, _>>()?;
    Ok(MvRegister::from_entries(entries))
}

fn registers<N: Into<FieldName>>(
    stamps: &[(Dot, Hlc)],
    named: Vec<(N, Stamped<Value>)>,
) -> Result<BTreeMap<FieldName, MvRegister<Value>>, String> {
    named.into_iter().map(|(name, entries)| Ok((name.into(), register(stamps, entries)?))).collect()
}

fn extrema<N: Into<FieldName>>(
    stamps: &[(Dot, Hlc)],
    named: Vec<(N, Option<(u32, Value)>)>,
) -> Result<BTreeMap<FieldName, Extremum<Value>>, String> {
    named
        .into_iter()
        .map(|(name, e)| {
            Ok((name.into(), Extremum::from_entry(e.map(|e| entry(stamps, e)).transpose()?)))
        })
        .collect()
}

/// The decoded parts, as a delta holds them (a stored record has a lifecycle too).
fn decode<N: Into<FieldName>>(wire: RecordWire<N>) -> Result<RecordDelta, String> {
    let stamps = &wire.stamps;
    let lifecycle = wire.lifecycle.map(|entries| register(stamps, entries)).transpose()?;
    let mut maps = BTreeMap::new();
    for (name, members) in wire.maps {
        let mut decoded = BTreeMap::new();
        for (key, member) in members {
            let presence = register(stamps, member.presence)?;
            decoded.insert(key, Member::from_parts(presence, registers(stamps, member.fields)?));
        }
        maps.insert(name.into(), decoded);
    }
    Ok(RecordDelta {
        lifecycle,
        registers: registers(stamps, wire.registers)?,
        maps,
        minimums: extrema(stamps, wire.minimums)?,
        maximums: extrema(stamps, wire.maximums)?,
    })
}

/// Encoded from a borrow: `#[serde(into = ..)]` would clone the whole record before
/// converting it (a second copy of every value, for every record a sender encodes).
impl Serialize for RecordState {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        encode::<String>(self.parts()).serialize(serializer)
    }
}

#[cfg(test)]
impl RecordState {
    /// The record with its field names coded, as format-3 records store it.
    pub(crate) fn to_named_wire(&self) -> RecordWire<Name, Vec<(Dot, Hlc)>, &Value> {
        encode(self.parts())
    }
}

impl<N: Into<FieldName>> TryFrom<RecordWire<N>> for RecordState {
    type Error = String;

    fn try_from(wire: RecordWire<N>) -> Result<Self, String> {
        let d = decode(wire)?;
        let lifecycle = d.lifecycle.ok_or("a stored record has no lifecycle")?;
        Ok(RecordState {
            lifecycle,
            registers: d.registers,
            maps: d.maps,
            minimums: d.minimums,
            maximums: d.maximums,
        })
    }
}

impl Serialize for RecordDelta {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        encode::<String>(self.parts()).serialize(serializer)
    }
}

impl TryFrom<RecordWire> for RecordDelta {
    type Error = String;

    fn try_from(wire: RecordWire) -> Result<Self, String> {
        decode(wire)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{CompactStamps, Dot, Hlc, ReplicaId};

    fn stamp(replica: u8, counter: u64, millis: u64, logical: u32) -> (Dot, Hlc) {
        (Dot { replica: ReplicaId::from_bytes([replica; 16]), counter }, Hlc { millis, logical })
    }

    proptest! {
        /// Every list of stamps reads back exactly, whatever its clocks: out of order, far
        /// apart, at both ends of `u64` (the differences wrap around).
        #[test]
        fn compact_stamps_read_back_exactly(
            raw in proptest::collection::vec(
                (0u8..4, any::<u64>(), prop_oneof![any::<u64>(), 1_764_000_000_000u64..1_764_100_000_000], any::<u32>()),
                0..12,
            )
        ) {
            let stamps: Vec<(Dot, Hlc)> =
                raw.into_iter().map(|(r, c, m, l)| stamp(r, c, m, l)).collect();
            let compact = CompactStamps::from(stamps.as_slice());
            let distinct: std::collections::BTreeSet<_> = stamps.iter().map(|(d, _)| d.replica).collect();
            prop_assert_eq!(compact.replicas.len(), distinct.len());
            prop_assert_eq!(Vec::<(Dot, Hlc)>::try_from(compact).expect("valid"), stamps);
        }
    }

    /// A later edit of the same device costs a few bytes, not a replica id and a whole clock.
    #[test]
    fn a_stamp_of_a_known_replica_costs_a_few_bytes() {
        let size = |stamps: &[(Dot, Hlc)]| {
            crate::codec::encode_payload(&CompactStamps::from(stamps)).expect("encode").len()
        };
        let one = [stamp(1, 7, 1_764_000_000_000, 0)];
        let two = [stamp(1, 7, 1_764_000_000_000, 0), stamp(1, 9, 1_764_000_060_000, 0)];
        assert!(size(&two) - size(&one) <= 8, "{} then {}", size(&one), size(&two));
    }

    /// A replica index beyond the list (damage the checksum missed, or a hostile blob) is an
    /// error that says so.
    #[test]
    fn a_replica_index_beyond_the_list_is_refused() {
        let compact = CompactStamps {
            replicas: vec![ReplicaId::from_bytes([1; 16])],
            stamps: vec![(1, 1, 5, 0)],
        };
        let refused = Vec::<(Dot, Hlc)>::try_from(compact).expect_err("refused");
        assert!(refused.contains("replica 1 does not exist"), "{refused}");
    }
}
