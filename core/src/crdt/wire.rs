//! The encoded shape of records and record deltas (see `docs/encoding.md`).
//!
//! One transaction stamps all its writes with the same `(dot, hlc)`, so a record's entries share
//! few distinct stamps. Each record therefore lists its stamps once and entries refer to them by
//! index: a typical event written in one transaction spends 27 bytes on stamps instead of 27
//! bytes per field. Decoding checks every index, so damaged data is an error, not a panic.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::record::Parts;
use super::{
    Dot, Entry, Extremum, Hlc, Lifecycle, Member, MvRegister, RecordDelta, RecordState, Value,
};

type Stamped<T> = Vec<(u32, T)>;

/// A record or record delta as encoded. `lifecycle` is `None` only in deltas that omit it.
#[derive(Clone, Serialize, Deserialize)]
pub struct RecordWire {
    stamps: Vec<(Dot, Hlc)>,
    lifecycle: Option<Stamped<Lifecycle>>,
    registers: Vec<(String, Stamped<Value>)>,
    maps: Vec<(String, Vec<(String, MemberWire)>)>,
    minimums: Vec<(String, Option<(u32, Value)>)>,
    maximums: Vec<(String, Option<(u32, Value)>)>,
}

#[derive(Clone, Serialize, Deserialize)]
struct MemberWire {
    presence: Stamped<bool>,
    fields: Vec<(String, Stamped<Value>)>,
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

    fn extremum(&mut self, register: &Extremum<Value>) -> Option<(u32, Value)> {
        register.entry().map(|e| (self.index_of(e.dot, e.hlc), e.value.clone()))
    }

    fn member(&mut self, member: &Member) -> MemberWire {
        MemberWire {
            presence: self.register(member.presence()),
            fields: member
                .fields()
                .iter()
                .map(|(name, r)| (name.clone(), self.register(r)))
                .collect(),
        }
    }
}

fn encode(parts: Parts<'_>) -> RecordWire {
    let mut table = StampTable::default();
    let lifecycle = parts.lifecycle.map(|r| table.register(r));
    let registers =
        parts.registers.iter().map(|(name, r)| (name.clone(), table.register(r))).collect();
    let maps = parts
        .maps
        .iter()
        .map(|(name, members)| {
            (name.clone(), members.iter().map(|(key, m)| (key.clone(), table.member(m))).collect())
        })
        .collect();
    let minimums =
        parts.minimums.iter().map(|(name, r)| (name.clone(), table.extremum(r))).collect();
    let maximums =
        parts.maximums.iter().map(|(name, r)| (name.clone(), table.extremum(r))).collect();
    RecordWire { stamps: table.stamps, lifecycle, registers, maps, minimums, maximums }
}

/// Decoded parts, owned.
struct Decoded {
    lifecycle: Option<MvRegister<Lifecycle>>,
    registers: BTreeMap<String, MvRegister<Value>>,
    maps: BTreeMap<String, BTreeMap<String, Member>>,
    minimums: BTreeMap<String, Extremum<Value>>,
    maximums: BTreeMap<String, Extremum<Value>>,
}

fn entry<T>(stamps: &[(Dot, Hlc)], (index, value): (u32, T)) -> Result<Entry<T>, String> {
    let (dot, hlc) = stamps.get(index as usize).copied().ok_or_else(|| {
        format!("stamp {index} does not exist (the record lists {})", stamps.len())
    })?;
    Ok(Entry { dot, hlc, value })
}

fn register<T: Clone>(stamps: &[(Dot, Hlc)], entries: Stamped<T>) -> Result<MvRegister<T>, String> {
    let entries = entries.into_iter().map(|e| entry(stamps, e)).collect::<Result<_, _>>()?;
    Ok(MvRegister::from_entries(entries))
}

fn registers(
    stamps: &[(Dot, Hlc)],
    named: Vec<(String, Stamped<Value>)>,
) -> Result<BTreeMap<String, MvRegister<Value>>, String> {
    named.into_iter().map(|(name, entries)| Ok((name, register(stamps, entries)?))).collect()
}

fn extrema(
    stamps: &[(Dot, Hlc)],
    named: Vec<(String, Option<(u32, Value)>)>,
) -> Result<BTreeMap<String, Extremum<Value>>, String> {
    named
        .into_iter()
        .map(|(name, e)| Ok((name, Extremum::from_entry(e.map(|e| entry(stamps, e)).transpose()?))))
        .collect()
}

fn decode(wire: RecordWire) -> Result<Decoded, String> {
    let stamps = &wire.stamps;
    let lifecycle = wire.lifecycle.map(|entries| register(stamps, entries)).transpose()?;
    let mut maps = BTreeMap::new();
    for (name, members) in wire.maps {
        let mut decoded = BTreeMap::new();
        for (key, member) in members {
            let presence = register(stamps, member.presence)?;
            decoded.insert(key, Member::from_parts(presence, registers(stamps, member.fields)?));
        }
        maps.insert(name, decoded);
    }
    Ok(Decoded {
        lifecycle,
        registers: registers(stamps, wire.registers)?,
        maps,
        minimums: extrema(stamps, wire.minimums)?,
        maximums: extrema(stamps, wire.maximums)?,
    })
}

impl From<RecordState> for RecordWire {
    fn from(state: RecordState) -> Self {
        encode(state.parts())
    }
}

impl TryFrom<RecordWire> for RecordState {
    type Error = String;

    fn try_from(wire: RecordWire) -> Result<Self, String> {
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

impl From<RecordDelta> for RecordWire {
    fn from(delta: RecordDelta) -> Self {
        encode(delta.parts())
    }
}

impl TryFrom<RecordWire> for RecordDelta {
    type Error = String;

    fn try_from(wire: RecordWire) -> Result<Self, String> {
        let d = decode(wire)?;
        Ok(RecordDelta {
            lifecycle: d.lifecycle,
            registers: d.registers,
            maps: d.maps,
            minimums: d.minimums,
            maximums: d.maximums,
        })
    }
}
