//! Reads the payload of a format-4 record (`RecordWire<Name, CompactStamps>` as bincode writes
//! it, see `docs/encoding.md`) straight into a [`RecordState`] (decision 0040).
//!
//! The serde path decodes a payload into `RecordWire`, its stamps into a second list, and then
//! every register, name and value once more into the record's own maps: about 23,000
//! instructions per stored event, a third of a cold month view and a quarter of a merge. This
//! reader walks the same bytes once, resolving stamp indices and name codes as it goes.
//!
//! It accepts exactly what the serde path accepts and builds the same record (a property test
//! checks both on random records and on damaged copies of them). The serde types remain the
//! only writer, and the decoder of every other format; a change of format 4 must change both
//! (the golden fixtures fail otherwise).
//!
//! Bincode's standard configuration, as `codec` uses it: unsigned integers above `u8` as
//! varints (one byte up to 250; 251, 252, 253 then 2, 4, 8 little-endian bytes), signed ones
//! zigzagged first, `u8` and `bool` as one byte, `f64` as eight, lengths and enum variants as
//! varints, `Option` as a 0/1 byte, structs and tuples as their fields in order.

use std::collections::BTreeMap;

use super::wire::NAMES;
use super::{
    Dot, Entry, Extremum, FieldName, Hlc, Lifecycle, Member, MvRegister, RecordDelta, RecordKey,
    RecordState, ReplicaId, Value, VersionVector,
};

/// Why a payload was refused (the caller wraps it as a decode error of a record).
pub(crate) type Refusal = String;

type Read<T> = Result<T, Refusal>;

/// The record a format-4 payload holds; every byte must belong to it.
pub(crate) fn read_record(bytes: &[u8]) -> Read<RecordState> {
    Ok(read_record_taking(bytes, &|_| false)?.0)
}

/// Registers taken out of a record as it is read, with their names, in name order.
pub(crate) type Taken = Vec<(FieldName, MvRegister<Value>)>;

/// [`read_record`], with the registers whose name `take` picks handed over apart instead of
/// put in the record's map: a reader that moves them elsewhere (a month view's event fields)
/// then neither inserts them into the map nor removes them from it (decision 0046).
pub(crate) fn read_record_taking(
    bytes: &[u8],
    take: &dyn Fn(&str) -> bool,
) -> Read<(RecordState, Taken)> {
    let mut reader = Reader { bytes, at: 0, form: Form::Stored };
    let mut taken = Vec::new();
    let parts = reader.parts_taking(take, &mut taken)?;
    reader.finish()?;
    // A written record lists its names in order, so this only reorders a damaged one that
    // still reads: in the order `RecordState::take_registers` gives, whatever the bytes say.
    taken.sort_by(|a, b| a.0.cmp(&b.0));
    let lifecycle = parts.lifecycle.ok_or("a stored record has no lifecycle")?;
    let state = RecordState {
        lifecycle,
        registers: parts.registers,
        maps: parts.maps,
        minimums: parts.minimums,
        maximums: parts.maximums,
    };
    Ok((state, taken))
}

/// The records of a sync chunk (`count, (collection, id, RecordWire<String>)*`, what
/// `Records::pack` writes); every byte must belong to them.
pub(crate) fn read_deltas(bytes: &[u8]) -> Read<Vec<(RecordKey, RecordDelta)>> {
    let mut reader = Reader { bytes, at: 0, form: Form::Sent };
    let count = reader.length()?;
    let mut records = Vec::with_capacity(count);
    for _ in 0..count {
        let key = RecordKey { collection: reader.string()?, id: reader.string()? };
        records.push((key, reader.parts()?));
    }
    reader.finish()?;
    Ok(records)
}

/// A [`Value`] borrowed from the bytes it was read from, or to be written.
#[derive(Clone, Copy)]
pub(super) enum ValueRef<'b> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(&'b str),
    Bytes(&'b [u8]),
    Structured(&'b [u8]),
}

impl<'b> ValueRef<'b> {
    pub(super) fn of(value: &'b Value) -> ValueRef<'b> {
        match value {
            Value::Null => ValueRef::Null,
            Value::Bool(b) => ValueRef::Bool(*b),
            Value::Int(n) => ValueRef::Int(*n),
            Value::Float(f) => ValueRef::Float(*f),
            Value::Text(text) => ValueRef::Text(text),
            Value::Bytes(bytes) => ValueRef::Bytes(bytes),
            Value::Structured(bytes) => ValueRef::Structured(bytes),
        }
    }

    fn to_value(self) -> Value {
        match self {
            ValueRef::Null => Value::Null,
            ValueRef::Bool(b) => Value::Bool(b),
            ValueRef::Int(n) => Value::Int(n),
            ValueRef::Float(f) => Value::Float(f),
            ValueRef::Text(text) => Value::Text(text.to_owned()),
            ValueRef::Bytes(bytes) => Value::Bytes(bytes.to_vec()),
            ValueRef::Structured(bytes) => Value::Structured(bytes.to_vec()),
        }
    }
}

/// How a record's names and stamps are written.
#[derive(Clone, Copy)]
pub(super) enum Form {
    /// Format-4 records: names as codes of the built-in table, stamps compact.
    Stored,
    /// Deltas in sync chunks: names as strings, stamps listed whole.
    Sent,
}

pub(super) struct Reader<'b> {
    bytes: &'b [u8],
    at: usize,
    form: Form,
}

/// Which width a varint was read for: a marker for a wider one is refused, as bincode does.
#[derive(Clone, Copy, PartialEq, PartialOrd)]
enum Width {
    U16,
    U32,
    U64,
}

impl<'b> Reader<'b> {
    pub(super) fn new(bytes: &'b [u8], form: Form) -> Reader<'b> {
        Reader { bytes, at: 0, form }
    }

    /// A reader of `bytes` from byte `at` on (where another reader stopped).
    pub(super) fn resume(bytes: &'b [u8], at: usize, form: Form) -> Reader<'b> {
        Reader { bytes, at, form }
    }

    /// Where the next read starts.
    pub(super) fn position(&self) -> usize {
        self.at
    }

    pub(super) fn finish(&self) -> Read<()> {
        if self.at != self.bytes.len() {
            return Err(format!("{} unexpected trailing bytes", self.bytes.len() - self.at));
        }
        Ok(())
    }

    fn take(&mut self, n: usize) -> Read<&'b [u8]> {
        let end = self.at.checked_add(n).filter(|end| *end <= self.bytes.len());
        let Some(end) = end else {
            return Err(format!(
                "the payload ends early (at byte {} of {})",
                self.at,
                self.bytes.len()
            ));
        };
        let taken = &self.bytes[self.at..end];
        self.at = end;
        Ok(taken)
    }

    pub(super) fn byte(&mut self) -> Read<u8> {
        Ok(self.take(1)?[0])
    }

    pub(super) fn array<const N: usize>(&mut self) -> Read<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// Most varints are one byte (counts, codes, indices, small numbers): that case is
    /// inlined, the rest is not (this function was the largest single cost of a merge).
    #[inline]
    fn varint(&mut self, width: Width) -> Read<u64> {
        match self.bytes.get(self.at) {
            Some(&byte) if byte <= 250 => {
                self.at += 1;
                Ok(u64::from(byte))
            }
            _ => self.wide_varint(width),
        }
    }

    #[inline(never)]
    fn wide_varint(&mut self, width: Width) -> Read<u64> {
        let marker = self.byte()?;
        let (value, needs) = match marker {
            0..=250 => return Ok(u64::from(marker)),
            251 => (u64::from(u16::from_le_bytes(self.array()?)), Width::U16),
            252 => (u64::from(u32::from_le_bytes(self.array()?)), Width::U32),
            253 => (u64::from_le_bytes(self.array()?), Width::U64),
            other => return Err(format!("an integer with the invalid marker {other}")),
        };
        if needs > width {
            return Err(format!("an integer marked {marker} where a narrower one belongs"));
        }
        Ok(value)
    }

    pub(super) fn u32(&mut self) -> Read<u32> {
        Ok(self.varint(Width::U32)? as u32)
    }

    pub(super) fn u64(&mut self) -> Read<u64> {
        self.varint(Width::U64)
    }

    pub(super) fn i64(&mut self) -> Read<i64> {
        let n = self.u64()?;
        Ok(((n >> 1) as i64) ^ -((n & 1) as i64))
    }

    pub(super) fn bool(&mut self) -> Read<bool> {
        match self.byte()? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(format!("a boolean of value {other}")),
        }
    }

    pub(super) fn option(&mut self) -> Read<bool> {
        match self.byte()? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(format!("an option tag of value {other}")),
        }
    }

    /// A length of items of at least one byte each: longer than what is left is damage (and
    /// never an allocation of that size).
    pub(super) fn length(&mut self) -> Read<usize> {
        let length = self.u64()?;
        let left = self.bytes.len() - self.at;
        usize::try_from(length)
            .ok()
            .filter(|length| *length <= left)
            .ok_or_else(|| format!("a length of {length} with {left} bytes left"))
    }

    pub(super) fn borrowed_bytes(&mut self) -> Read<&'b [u8]> {
        let length = self.length()?;
        self.take(length)
    }

    fn bytes(&mut self) -> Read<Vec<u8>> {
        let length = self.length()?;
        Ok(self.take(length)?.to_vec())
    }

    /// A string, borrowed from the payload.
    pub(super) fn str(&mut self) -> Read<&'b str> {
        let length = self.length()?;
        let bytes = self.take(length)?;
        std::str::from_utf8(bytes).map_err(|e| format!("a string that is not UTF-8 ({e})"))
    }

    pub(super) fn string(&mut self) -> Read<String> {
        let bytes = self.bytes()?;
        String::from_utf8(bytes).map_err(|e| format!("a string that is not UTF-8 ({e})"))
    }

    pub(super) fn replica(&mut self) -> Read<ReplicaId> {
        Ok(ReplicaId::from_bytes(self.array()?))
    }

    /// A field name: in a stored record, a code of the built-in table, or written out (code
    /// 0); in a delta, a string.
    pub(super) fn name(&mut self) -> Read<FieldName> {
        if let Form::Sent = self.form {
            return Ok(FieldName::from(self.str()?));
        }
        match self.u32()? {
            0 => Ok(FieldName::from(self.string()?)),
            code => FieldName::from_code(code).ok_or_else(|| {
                format!(
                    "field name code {code} does not exist (format 3 knows 1 to {})",
                    NAMES.len()
                )
            }),
        }
    }

    fn value(&mut self) -> Read<Value> {
        Ok(self.value_ref()?.to_value())
    }

    /// A value, borrowed from the payload (a delta written from a stored record copies it
    /// without allocating; see `stored_delta.rs`).
    pub(super) fn value_ref(&mut self) -> Read<ValueRef<'b>> {
        Ok(match self.u32()? {
            0 => ValueRef::Null,
            1 => ValueRef::Bool(self.bool()?),
            2 => ValueRef::Int(self.i64()?),
            3 => ValueRef::Float(f64::from_le_bytes(self.array()?)),
            4 => ValueRef::Text(self.str()?),
            5 => ValueRef::Bytes(self.borrowed_bytes()?),
            6 => ValueRef::Structured(self.borrowed_bytes()?),
            other => return Err(format!("a value of variant {other}, which does not exist")),
        })
    }

    pub(super) fn lifecycle(&mut self) -> Read<Lifecycle> {
        Ok(match self.u32()? {
            0 => Lifecycle::Live,
            1 => {
                let mut seen = BTreeMap::new();
                for _ in 0..self.length()? {
                    let replica = self.replica()?;
                    seen.insert(replica, self.u64()?);
                }
                Lifecycle::Deleted { seen: VersionVector::from_map(seen) }
            }
            other => return Err(format!("a lifecycle of variant {other}, which does not exist")),
        })
    }

    /// The record's stamps (`CompactStamps`), resolved: they come first, so every entry after
    /// them is resolved as it is read.
    pub(super) fn stamps(&mut self) -> Read<Vec<(Dot, Hlc)>> {
        if let Form::Sent = self.form {
            // Listed whole: (replica id, counter), (milliseconds, logical).
            let count = self.length()?;
            let mut stamps = Vec::with_capacity(count);
            for _ in 0..count {
                let dot = Dot { replica: self.replica()?, counter: self.u64()? };
                stamps.push((dot, Hlc { millis: self.u64()?, logical: self.u32()? }));
            }
            return Ok(stamps);
        }
        let count = self.length()?;
        let mut replicas = Vec::with_capacity(count);
        for _ in 0..count {
            replicas.push(self.replica()?);
        }
        let count = self.length()?;
        let mut stamps = Vec::with_capacity(count);
        let mut previous = 0u64;
        for _ in 0..count {
            let (index, counter, difference, logical) =
                (self.u32()?, self.u64()?, self.i64()?, self.u32()?);
            let replica = *replicas.get(index as usize).ok_or_else(|| {
                format!("replica {index} does not exist (the record lists {})", replicas.len())
            })?;
            previous = previous.wrapping_add(difference as u64);
            stamps.push((Dot { replica, counter }, Hlc { millis: previous, logical }));
        }
        Ok(stamps)
    }

    /// An entry: its stamp index, resolved, and its value.
    fn entry<T>(
        &mut self,
        stamps: &[(Dot, Hlc)],
        value: &mut impl FnMut(&mut Self) -> Read<T>,
    ) -> Read<Entry<T>> {
        let index = self.u32()?;
        let (dot, hlc) = stamps.get(index as usize).copied().ok_or_else(|| {
            format!("stamp {index} does not exist (the record lists {})", stamps.len())
        })?;
        Ok(Entry { dot, hlc, value: value(self)? })
    }

    fn register<T: Clone>(
        &mut self,
        stamps: &[(Dot, Hlc)],
        mut value: impl FnMut(&mut Self) -> Read<T>,
    ) -> Read<MvRegister<T>> {
        let count = self.length()?;
        let mut entries = smallvec::SmallVec::<[Entry<T>; 1]>::with_capacity(count);
        for _ in 0..count {
            entries.push(self.entry(stamps, &mut value)?);
        }
        Ok(MvRegister::from_entries(entries))
    }

    /// Named registers of values; a name given twice keeps its last register, as collecting
    /// them into a map does on the serde path.
    fn registers(&mut self, stamps: &[(Dot, Hlc)]) -> Read<BTreeMap<FieldName, MvRegister<Value>>> {
        self.registers_taking(stamps, &|_| false, &mut Vec::new())
    }

    /// The registers, except those whose name `take` picks: those go to `taken`.
    fn registers_taking(
        &mut self,
        stamps: &[(Dot, Hlc)],
        take: &dyn Fn(&str) -> bool,
        taken: &mut Taken,
    ) -> Read<BTreeMap<FieldName, MvRegister<Value>>> {
        let mut out = BTreeMap::new();
        for _ in 0..self.length()? {
            let name = self.name()?;
            let register = self.register(stamps, Self::value)?;
            if !take(name.as_str()) {
                out.insert(name, register);
            } else if let Some(earlier) = taken.iter_mut().find(|(taken, _)| *taken == name) {
                // A name given twice: the later register wins, as in the map.
                earlier.1 = register;
            } else {
                taken.push((name, register));
            }
        }
        Ok(out)
    }

    fn extrema(&mut self, stamps: &[(Dot, Hlc)]) -> Read<BTreeMap<FieldName, Extremum<Value>>> {
        let mut out = BTreeMap::new();
        for _ in 0..self.length()? {
            let name = self.name()?;
            let entry =
                if self.option()? { Some(self.entry(stamps, &mut Self::value)?) } else { None };
            out.insert(name, Extremum::from_entry(entry));
        }
        Ok(out)
    }

    /// A record's parts, as a delta holds them (a stored record has a lifecycle too).
    fn parts(&mut self) -> Read<RecordDelta> {
        self.parts_taking(&|_| false, &mut Vec::new())
    }

    /// [`Reader::parts`], the record's own registers that `take` picks going to `taken`.
    fn parts_taking(
        &mut self,
        take: &dyn Fn(&str) -> bool,
        taken: &mut Taken,
    ) -> Read<RecordDelta> {
        let stamps = self.stamps()?;
        let lifecycle =
            if self.option()? { Some(self.register(&stamps, Self::lifecycle)?) } else { None };
        let registers = self.registers_taking(&stamps, take, taken)?;
        let mut maps = BTreeMap::new();
        for _ in 0..self.length()? {
            let name = self.name()?;
            let mut members = BTreeMap::new();
            for _ in 0..self.length()? {
                let key = self.string()?;
                let presence = self.register(&stamps, Self::bool)?;
                members.insert(key, Member::from_parts(presence, self.registers(&stamps)?));
            }
            maps.insert(name, members);
        }
        let minimums = self.extrema(&stamps)?;
        let maximums = self.extrema(&stamps)?;
        Ok(RecordDelta { lifecycle, registers, maps, minimums, maximums })
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::codec::decode_payload;
    use crate::crdt::wire::{CompactStamps, Name, RecordWire};
    use proptest::prelude::*;

    /// The serde path's format-4 payload: the reference the writer must match.
    fn serde_write(state: &RecordState) -> Vec<u8> {
        crate::codec::encode_payload(&state.to_named_wire().with_compact_stamps()).expect("encodes")
    }

    /// A record of more stamps than the writer searches linearly (its map path), and every
    /// counter width, writes the serde path's bytes.
    #[test]
    fn a_record_of_many_stamps_is_written_as_serde_writes_it() {
        let replicas = [ReplicaId::from_bytes([3; 16]), ReplicaId::from_bytes([4; 16])];
        let stamp = |i: u64| {
            let dot = Dot { replica: replicas[(i % 2) as usize], counter: i * 977 + (i << 40) };
            (dot, Hlc { millis: 1_700_000_000_000 + i * 70_000, logical: (i % 5) as u32 })
        };
        let entry = |i: u64, value: Value| {
            let (dot, hlc) = stamp(i);
            Entry { dot, hlc, value }
        };
        let registers = (0..120u64)
            .map(|i| {
                let name =
                    if i % 3 == 0 { NAMES[(i % 33) as usize].to_owned() } else { format!("f{i}") };
                let entries = vec![entry(i, Value::Int(i as i64 - 60)), entry(i / 2, Value::Null)];
                (FieldName::from(name), MvRegister::from_entries(entries))
            })
            .collect();
        let state = RecordState {
            lifecycle: MvRegister::from_entries(vec![{
                let (dot, hlc) = stamp(7);
                Entry { dot, hlc, value: Lifecycle::Live }
            }]),
            registers,
            maps: BTreeMap::new(),
            minimums: BTreeMap::new(),
            maximums: BTreeMap::new(),
        };
        let written = crate::crdt::payload_writer::write_record(&state);
        assert_eq!(written, serde_write(&state));
        assert_eq!(read_record(&written).expect("reads"), state);
        let delta = state.delta(&VersionVector::default()).expect("a delta");
        let key = RecordKey::new("events", "many");
        let mut sent = Vec::new();
        crate::crdt::payload_writer::write_delta(&key, &delta, &mut sent);
        assert_eq!(sent, crate::codec::encode_payload(&(key, delta)).expect("encodes"));
    }

    /// The serde path this reader replaces: the reference it must agree with.
    fn serde_read(payload: &[u8]) -> Result<RecordState, String> {
        let wire: RecordWire<Name, CompactStamps> =
            decode_payload("a record", payload).map_err(|e| e.to_string())?;
        RecordState::try_from(RecordWire::try_from(wire)?)
    }

    /// Draws numbers from a tape of random ones, so one proptest value builds a whole record.
    struct Tape {
        numbers: Vec<u64>,
        at: usize,
        epochs: [u64; 2],
    }

    impl Tape {
        fn next(&mut self) -> u64 {
            self.at += 1;
            self.numbers[self.at % self.numbers.len()]
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }

        fn name(&mut self) -> FieldName {
            match self.below(4) {
                0 => FieldName::from(format!("custom_{}", self.below(3))),
                1 => FieldName::new("é-ß"),
                _ => FieldName::new(NAMES[self.below(NAMES.len() as u64) as usize]),
            }
        }

        fn value(&mut self) -> Value {
            match self.below(8) {
                0 => Value::Null,
                1 => Value::Bool(self.below(2) == 1),
                2 => Value::Int(self.next() as i64),
                3 => Value::Float(f64::from_bits(self.next())),
                4 => Value::Bytes((0..self.below(6)).map(|_| self.next() as u8).collect()),
                5 => Value::Structured(vec![1, 2, self.next() as u8]),
                _ => Value::Text("x".repeat(self.below(300) as usize)),
            }
        }

        /// An entry of one of two replicas. A dot has one clock, as in any real record (the
        /// encoder lists each dot's stamp once): the clock derives from the dot and the
        /// record's `epochs`.
        fn entry<T>(&mut self, value: T) -> Entry<T> {
            let replicas = [ReplicaId::from_bytes([1; 16]), ReplicaId::from_bytes([200; 16])];
            let which = self.below(2) as usize;
            let counter = 1 + self.below(400);
            Entry {
                dot: Dot { replica: replicas[which], counter },
                hlc: Hlc {
                    millis: self.epochs[which].wrapping_add(counter),
                    logical: (counter % 3) as u32,
                },
                value,
            }
        }

        fn register(&mut self) -> MvRegister<Value> {
            let n = self.below(3);
            MvRegister::from_entries(
                (0..n)
                    .map(|_| {
                        let v = self.value();
                        self.entry(v)
                    })
                    .collect::<Vec<_>>(),
            )
        }

        fn record(&mut self) -> RecordState {
            let lifecycle = if self.below(3) == 0 {
                let mut seen = BTreeMap::new();
                for _ in 0..self.below(3) {
                    seen.insert(ReplicaId::from_bytes([self.next() as u8; 16]), self.next());
                }
                Lifecycle::Deleted { seen: VersionVector::from_map(seen) }
            } else {
                Lifecycle::Live
            };
            let lifecycle = MvRegister::from_entries(vec![self.entry(lifecycle)]);
            let registers = (0..self.below(12)).map(|_| (self.name(), self.register())).collect();
            let maps = (0..self.below(3))
                .map(|_| {
                    let members = (0..self.below(4))
                        .map(|_| {
                            let key = format!("key-{}", self.below(5));
                            let adds = self.below(2);
                            let presence = MvRegister::from_entries(
                                (0..adds)
                                    .map(|_| {
                                        let b = self.below(2) == 1;
                                        self.entry(b)
                                    })
                                    .collect::<Vec<_>>(),
                            );
                            let fields = (0..self.below(3))
                                .map(|_| (self.name(), self.register()))
                                .collect();
                            (key, Member::from_parts(presence, fields))
                        })
                        .collect();
                    (self.name(), members)
                })
                .collect();
            let mut extrema = || -> BTreeMap<FieldName, Extremum<Value>> {
                (0..self.below(3))
                    .map(|_| {
                        let entry = (self.below(3) > 0).then(|| {
                            let v = self.value();
                            self.entry(v)
                        });
                        (self.name(), Extremum::from_entry(entry))
                    })
                    .collect()
            };
            let minimums = extrema();
            let maximums = extrema();
            RecordState { lifecycle, registers, maps, minimums, maximums }
        }
    }

    /// Fewer than `most` random deltas keyed `events/event-N`, some without a lifecycle, drawn
    /// from `numbers` (the chunks of the reader's and the columnar form's property tests).
    pub(in crate::crdt) fn random_deltas(
        numbers: Vec<u64>,
        most: u64,
    ) -> Vec<(RecordKey, RecordDelta)> {
        let epochs = [1_700_000_000_000, numbers[0]];
        let mut tape = Tape { numbers, at: 0, epochs };
        (0..tape.below(most))
            .map(|i| {
                let state = tape.record();
                let mut delta = state.delta(&VersionVector::default()).unwrap_or_default();
                if tape.below(3) == 0 {
                    delta.lifecycle = None;
                }
                (RecordKey::new("events", format!("event-{i}")), delta)
            })
            .collect()
    }

    /// The reader and the serde path give the same value, or both refuse.
    fn agree<T: PartialEq + std::fmt::Debug>(
        ours: Result<T, String>,
        reference: Result<T, String>,
        what: &str,
    ) {
        match (ours, reference) {
            (Ok(ours), Ok(reference)) => assert_eq!(ours, reference, "{what}"),
            (Err(_), Err(_)) => {}
            (ours, reference) => panic!(
                "{what}: the reader refuses with {:?}, the serde path with {:?}",
                ours.err(),
                reference.err()
            ),
        }
    }

    /// The serde path for sync chunks.
    fn serde_read_deltas(payload: &[u8]) -> Result<Vec<(RecordKey, RecordDelta)>, String> {
        decode_payload("a sync chunk", payload).map_err(|e| e.to_string())
    }

    /// `payload` truncated, changed or lengthened at `at` (which of the three: `i`).
    pub(in crate::crdt) fn damaged(payload: &[u8], i: usize, at: usize, byte: u8) -> Vec<u8> {
        let at = at % payload.len().max(1);
        let mut damaged = payload.to_vec();
        match i % 3 {
            0 => damaged.truncate(at),
            1 if !damaged.is_empty() => damaged[at] = byte,
            _ => damaged.insert(at.min(damaged.len()), byte),
        }
        damaged
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        /// A sync chunk of random deltas (some without a lifecycle) reads as the serde path
        /// reads it, intact and damaged.
        #[test]
        fn the_reader_reads_chunks_as_the_serde_path_reads_them(
            numbers in proptest::collection::vec(any::<u64>(), 64..256),
            damage in proptest::collection::vec((any::<usize>(), any::<u8>()), 24),
        ) {
            let records = random_deltas(numbers, 4);
            let payload = crate::codec::encode_payload(&records).expect("encodes");
            let mut written = crate::codec::encode_payload(&(records.len() as u64)).expect("count");
            for (key, delta) in &records {
                crate::crdt::payload_writer::write_delta(key, delta, &mut written);
            }
            prop_assert_eq!(&written, &payload);
            prop_assert_eq!(&read_deltas(&payload).expect("reads"), &records);
            agree(read_deltas(&payload), serde_read_deltas(&payload), "intact");
            for (i, (at, byte)) in damage.into_iter().enumerate() {
                let damaged = damaged(&payload, i, at, byte);
                let what = format!("damage {i} at {at}");
                agree(read_deltas(&damaged), serde_read_deltas(&damaged), &what);
            }
        }

        /// Taking registers out while reading (decision 0046) gives the record that reading it
        /// whole and then taking them out gives, and refuses exactly the damaged payloads the
        /// whole read refuses.
        #[test]
        fn taking_registers_while_reading_is_taking_them_from_the_read_record(
            numbers in proptest::collection::vec(any::<u64>(), 64..256),
            damage in proptest::collection::vec((any::<usize>(), any::<u8>()), 24),
        ) {
            let epochs = [1_700_000_000_000, numbers[0]];
            let mut tape = Tape { numbers, at: 0, epochs };
            let state = tape.record();
            let payload = crate::crdt::payload_writer::write_record(&state);
            // Some built-in names and a written-out one.
            let take = |name: &str| matches!(name, "title" | "location" | "notes" | "custom_1");
            let whole = |payload: &[u8]| {
                read_record(payload).map(|mut state| {
                    let taken = state.take_registers(&take);
                    (state, taken)
                })
            };
            let (kept, taken) = read_record_taking(&payload, &take).expect("reads");
            prop_assert!(taken.iter().all(|(name, _)| take(name.as_str())));
            prop_assert!(kept.registers().keys().all(|name| !take(name.as_str())));
            agree(Ok((kept, taken)), whole(&payload), "intact");
            for (i, (at, byte)) in damage.into_iter().enumerate() {
                let damaged = damaged(&payload, i, at, byte);
                let what = format!("damage {i} at {at}");
                agree(read_record_taking(&damaged, &take), whole(&damaged), &what);
            }
        }

        /// The delta of a stored record written from its payload (`stored_delta.rs`) is the
        /// delta of the decoded record, byte for byte, for any record and any vector the peer
        /// has seen; for a damaged payload it is that or it leaves the payload to the decoder.
        /// (Here because this module's tape builds random records.)
        #[test]
        fn a_delta_written_from_a_payload_is_the_delta_of_the_decoded_record(
            numbers in proptest::collection::vec(any::<u64>(), 64..256),
            damage in proptest::collection::vec((any::<usize>(), any::<u8>()), 24),
        ) {
            use crate::crdt::stored_delta::{Written, append_stored_delta};
            let epochs = [1_700_000_000_000, numbers[0]];
            let mut tape = Tape { numbers, at: 0, epochs };
            let replicas = [ReplicaId::from_bytes([1; 16]), ReplicaId::from_bytes([200; 16])];
            let since = if tape.below(4) == 0 {
                VersionVector::default()
            } else {
                VersionVector::from_map(replicas.iter().map(|r| (*r, tape.below(450))).collect())
            };
            let key = RecordKey::new("events", "event-1");
            let reference = |payload: &[u8]| -> Result<Option<Vec<u8>>, String> {
                let delta = read_record(payload)?.into_delta(&since);
                Ok(delta.map(|delta| {
                    let mut out = b"before".to_vec();
                    crate::crdt::payload_writer::write_delta(&key, &delta, &mut out);
                    out
                }))
            };
            let written = |payload: &[u8]| {
                let mut out = b"before".to_vec();
                let what = append_stored_delta(&key, payload, &since, &mut out);
                (what, out)
            };
            let payload = crate::crdt::payload_writer::write_record(&tape.record());
            let (what, out) = written(&payload);
            match reference(&payload).expect("an intact record reads") {
                Some(expected) => {
                    prop_assert_eq!(what, Written::Delta);
                    prop_assert_eq!(out, expected);
                }
                None => prop_assert_eq!((what, out), (Written::NothingUnseen, b"before".to_vec())),
            }
            for (i, (at, byte)) in damage.into_iter().enumerate() {
                let damaged = damaged(&payload, i, at, byte);
                let (what, out) = written(&damaged);
                match what {
                    Written::Delta => prop_assert_eq!(Some(out), reference(&damaged).expect("reads")),
                    Written::NothingUnseen => {
                        prop_assert_eq!(&out, b"before");
                        prop_assert_eq!(reference(&damaged).expect("reads"), None);
                    }
                    Written::Decode => prop_assert_eq!(&out, b"before"),
                }
            }
        }

        /// Joining a delta that is moved in (`join_owned`, as a received delta is applied)
        /// changes a record exactly as joining it borrowed does, into an empty record (a
        /// record new here) and into a random one, whatever each side has seen. (Here because
        /// this module's tape builds random records.)
        #[test]
        fn joining_an_owned_delta_is_joining_a_borrowed_one(
            numbers in proptest::collection::vec(any::<u64>(), 64..256),
        ) {
            let epochs = [1_700_000_000_000, numbers[0]];
            let mut tape = Tape { numbers, at: 0, epochs };
            let replicas = [ReplicaId::from_bytes([1; 16]), ReplicaId::from_bytes([200; 16])];
            let vector = |tape: &mut Tape| {
                VersionVector::from_map(
                    replicas.iter().map(|r| (*r, tape.below(450))).collect(),
                )
            };
            let (local_seen, remote_seen, since) =
                (vector(&mut tape), vector(&mut tape), vector(&mut tape));
            let remote = tape.record();
            let Some(delta) = remote.delta(&since) else { return Ok(()) };
            for local in [RecordState::default(), tape.record()] {
                let (mut borrowed, mut owned) = (local.clone(), local);
                let changed = borrowed.join(&delta, &local_seen, &remote_seen);
                prop_assert_eq!(
                    owned.join_owned(delta.clone(), &local_seen, &remote_seen),
                    changed
                );
                prop_assert_eq!(owned, borrowed);
            }
        }

        /// Any record reads back as the serde path reads it, and so does any damaged copy of
        /// its payload: cut short, a byte changed, or a byte added.
        #[test]
        fn the_reader_reads_what_the_serde_path_reads(
            numbers in proptest::collection::vec(any::<u64>(), 64..256),
            damage in proptest::collection::vec((any::<usize>(), any::<u8>()), 24),
        ) {
            // Clocks near today's and anywhere in the 64-bit range (differences wrap).
            let epochs = [1_700_000_000_000, numbers[0]];
            let record = Tape { numbers, at: 0, epochs }.record();
            let payload = serde_write(&record);
            // The one-pass writer writes the serde path's bytes (decision 0040).
            prop_assert_eq!(&crate::crdt::payload_writer::write_record(&record), &payload);
            prop_assert_eq!(&read_record(&payload).expect("reads"), &record);
            agree(read_record(&payload), serde_read(&payload), "intact");
            for (i, (at, byte)) in damage.into_iter().enumerate() {
                let damaged = damaged(&payload, i, at, byte);
                let what = format!("damage {i} at byte {at}");
                agree(read_record(&damaged), serde_read(&damaged), &what);
            }
        }
    }

    /// A name given twice keeps its last register and a map key its last member, as on the
    /// serde path, and names out of order are taken out in name order, as from the read
    /// record (a damaged or hand-made record; the encoder never writes one).
    #[test]
    fn a_name_given_twice_keeps_the_last_register_and_names_out_of_order_are_taken_in_order() {
        #[derive(serde::Serialize)]
        enum Written {
            Name(&'static str),
        }
        type Registers = Vec<(Written, Vec<(u32, Value)>)>;
        type Members = Vec<(&'static str, Vec<(u32, bool)>, Registers)>;
        #[derive(serde::Serialize)]
        struct Shape {
            replicas: Vec<[u8; 16]>,
            stamps: Vec<(u32, u64, i64, u32)>,
            lifecycle: Option<Vec<(u32, Lifecycle)>>,
            registers: Registers,
            maps: Vec<(Written, Members)>,
            minimums: Vec<(Written, Option<(u32, Value)>)>,
            maximums: Vec<(Written, Option<(u32, Value)>)>,
        }
        let twice = |first: &'static str, second: &'static str| -> Registers {
            vec![
                (Written::Name("t"), vec![(0, Value::from(first))]),
                (Written::Name("t"), vec![(0, Value::from(second))]),
            ]
        };
        let shape = Shape {
            replicas: vec![[9; 16]],
            stamps: vec![(0, 1, 1_700_000_000_000, 0)],
            lifecycle: Some(vec![(0, Lifecycle::Live)]),
            registers: {
                let mut registers = twice("a", "b");
                registers.push((Written::Name("s"), vec![(0, Value::from("z"))]));
                registers
            },
            maps: vec![(
                Written::Name("m"),
                vec![
                    ("k", vec![(0, true)], twice("c", "d")),
                    ("k", vec![(0, true)], twice("e", "f")),
                ],
            )],
            minimums: vec![
                (Written::Name("n"), None),
                (Written::Name("n"), Some((0, Value::Int(3)))),
            ],
            maximums: Vec::new(),
        };
        let payload = crate::codec::encode_payload(&shape).expect("encodes");
        let record = read_record(&payload).expect("reads");
        assert_eq!(record, serde_read(&payload).expect("the serde path reads it too"));
        let winner = |r: &MvRegister<Value>| r.winner().map(|e| e.value.clone());
        assert_eq!(winner(&record.registers["t"]), Some(Value::from("b")));
        let member = &record.maps["m"]["k"];
        assert_eq!(winner(&member.fields()["t"]), Some(Value::from("f")));
        assert!(record.minimums["n"].entry().is_some());
        let take = |name: &str| name == "t" || name == "s";
        let (kept, taken) = read_record_taking(&payload, &take).expect("reads");
        let names: Vec<&str> = taken.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["s", "t"]);
        let mut whole = record;
        let taken_from_whole = whole.take_registers(&take);
        assert_eq!((kept, taken), (whole, taken_from_whole));
    }

    #[test]
    fn wide_integers_where_narrow_ones_belong_are_refused_as_bincode_refuses_them() {
        // A u32 written with the u64 marker (253): bincode refuses it; so must the reader.
        let mut reader =
            Reader { bytes: &[253, 1, 0, 0, 0, 0, 0, 0, 0], at: 0, form: Form::Stored };
        assert!(reader.u32().is_err());
        let mut reader = Reader { bytes: &[252, 7, 0, 0, 0], at: 0, form: Form::Stored };
        assert_eq!(reader.u32(), Ok(7));
        let mut reader = Reader { bytes: &[254; 17], at: 0, form: Form::Stored };
        assert!(reader.u64().is_err());
        let mut reader = Reader { bytes: &[3], at: 0, form: Form::Stored };
        assert_eq!(reader.i64(), Ok(-2));
    }
}
