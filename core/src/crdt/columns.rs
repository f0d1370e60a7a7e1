//! The columnar form of a sync chunk's records (protocol 3, decision 0047), and back.
//!
//! A chunk's records are written one after another (`payload_writer::write_delta`): each
//! record's key, its stamps listed whole (a 16-byte replica id, the counter, the milliseconds),
//! then its names as strings and its values. DEFLATE finds repeats only within its 32 KiB
//! window and cannot subtract one clock from the next, so what a joining device downloads was
//! mostly stamps and values DEFLATE could not shrink. This rewrites the same records as
//! streams of like data, which DEFLATE then compresses together:
//! - keys: each collection and id as the length it shares with the previous one, and the rest;
//! - stamps: replica ids as indices into a table filled as they first appear; counters and
//!   milliseconds as differences from the stamp before;
//! - the shape: every count, flag and stamp index, names as indices into a table filled as
//!   they first appear;
//! - one column of values per name: each text or bytes value as the length it shares with
//!   the column's previous value, and the rest.
//!
//! [`from_columns`] writes the records back in the row form `payload_reader::read_deltas`
//! reads, so receiving keeps a single reader and a single set of checks. Both directions read
//! with the row reader's primitives and write with the row writer's, so the two forms cannot
//! disagree on how an integer or a string is written.

use std::collections::HashMap;
use std::hash::Hash;
use std::ops::Range;

use super::ReplicaId;
use super::payload_reader::{Form as ReadForm, Reader, ValueRef};
use super::payload_writer::{Form as WriteForm, Writer};

type Read<T> = Result<T, String>;

/// The layout this version writes: the columnar form's first byte.
const LAYOUT: u8 = 1;

/// The columnar form of `raw`, a chunk's records in row form (a count, then each record as
/// `payload_writer::write_delta` writes it). Refuses what `read_deltas` would refuse for its
/// structure (a damaged varint, an unknown variant, a string that is not UTF-8, trailing bytes);
/// the sender only ever gives it what it wrote itself.
pub(crate) fn to_columns(raw: &[u8]) -> Read<Vec<u8>> {
    let mut rows = Reader::new(raw, ReadForm::Sent);
    let count = rows.length()?;
    let mut split = Split::new(raw.len());
    for _ in 0..count {
        split.record(&mut rows)?;
    }
    rows.finish()?;
    Ok(split.finish(count))
}

/// The row form of `columns`, refusing damage and anything that would come to more than
/// `limit` bytes (a small frame must not expand without bound).
pub(crate) fn from_columns(columns: &[u8], limit: usize) -> Read<Vec<u8>> {
    let mut top = Reader::new(columns, ReadForm::Sent);
    let layout = top.byte()?;
    if layout != LAYOUT {
        return Err(format!("columns of layout {layout}; this version reads layout {LAYOUT}"));
    }
    let count = top.length()?;
    let keys = stream(top.borrowed_bytes()?);
    let stamps = stream(top.borrowed_bytes()?);
    let shape = stream(top.borrowed_bytes()?);
    let mut values = Vec::new();
    for _ in 0..top.length()? {
        values.push(ColumnIn { reader: stream(top.borrowed_bytes()?), previous: 0..0 });
    }
    top.finish()?;
    let mut join = Join {
        keys,
        stamps,
        shape,
        values,
        out: Writer::new(
            Vec::with_capacity(columns.len().saturating_mul(2).min(limit)),
            WriteForm::Sent,
        ),
        limit,
        collection: 0..0,
        id: 0..0,
        replicas: Vec::new(),
        names: Vec::new(),
        counter: 0,
        millis: 0,
    };
    join.out.length(count);
    for _ in 0..count {
        join.record()?;
    }
    for reader in [&join.keys, &join.stamps, &join.shape] {
        reader.finish()?;
    }
    for column in &join.values {
        column.reader.finish()?;
    }
    Ok(join.out.out)
}

fn stream(bytes: &[u8]) -> Reader<'_> {
    Reader::new(bytes, ReadForm::Sent)
}

/// Items given whole the first time and by index after: replica ids, names.
struct Table<K> {
    items: Vec<K>,
    /// Past a few items a linear search costs more than a map (a calendar has a dozen names,
    /// but a joining device may see a thousand writers).
    by_item: Option<HashMap<K, usize>>,
    /// The index after the last one found: records of one collection list the same names in
    /// the same order, so this is usually the next one asked for.
    next: usize,
}

const LINEAR_ITEMS: usize = 16;

impl<K: Copy + Eq + Hash> Table<K> {
    fn new() -> Self {
        Table { items: Vec::new(), by_item: None, next: 0 }
    }

    /// The index of `item`, and whether it is new (then the caller writes it whole).
    fn index(&mut self, item: K) -> (usize, bool) {
        let found = if self.items.get(self.next) == Some(&item) {
            Some(self.next)
        } else {
            match &self.by_item {
                Some(map) => map.get(&item).copied(),
                None => self.items.iter().position(|known| *known == item),
            }
        };
        if let Some(index) = found {
            self.next = index + 1;
            return (index, false);
        }
        let index = self.items.len();
        self.items.push(item);
        self.next = index + 1;
        if let Some(map) = &mut self.by_item {
            map.insert(item, index);
        } else if self.items.len() > LINEAR_ITEMS {
            self.by_item = Some(self.items.iter().enumerate().map(|(i, k)| (*k, i)).collect());
        }
        (index, true)
    }
}

/// Writes a replica id as its index in `table`, followed by the id itself the first time.
fn write_replica(table: &mut Table<ReplicaId>, out: &mut Writer, replica: ReplicaId) {
    let (index, new) = table.index(replica);
    out.length(index);
    if new {
        out.out.extend_from_slice(&replica.to_bytes());
    }
}

/// Writes `bytes` as the length it shares with `previous` and the rest.
fn write_shared<'b>(out: &mut Writer, previous: &mut &'b [u8], bytes: &'b [u8]) {
    let shared = previous.iter().zip(bytes).take_while(|(a, b)| a == b).count();
    out.length(shared);
    out.bytes(&bytes[shared..]);
    *previous = bytes;
}

struct ColumnOut<'b> {
    out: Writer,
    previous: &'b [u8],
}

/// The streams being written, and what each stream's next item is written against.
struct Split<'b> {
    keys: Writer,
    stamps: Writer,
    shape: Writer,
    values: Vec<ColumnOut<'b>>,
    collection: &'b [u8],
    id: &'b [u8],
    replicas: Table<ReplicaId>,
    names: Table<&'b [u8]>,
    counter: u64,
    millis: u64,
}

impl<'b> Split<'b> {
    /// For `raw_len` bytes of rows: the streams' usual shares of them reserved at once.
    fn new(raw_len: usize) -> Self {
        let writer = |share| Writer::new(Vec::with_capacity(raw_len / share), WriteForm::Sent);
        Split {
            keys: writer(32),
            stamps: writer(16),
            shape: writer(8),
            values: Vec::new(),
            collection: &[],
            id: &[],
            replicas: Table::new(),
            names: Table::new(),
            counter: 0,
            millis: 0,
        }
    }

    fn record(&mut self, rows: &mut Reader<'b>) -> Read<()> {
        write_shared(&mut self.keys, &mut self.collection, rows.borrowed_bytes()?);
        write_shared(&mut self.keys, &mut self.id, rows.borrowed_bytes()?);
        let count = rows.length()?;
        self.stamps.length(count);
        for _ in 0..count {
            let (replica, counter, millis, logical) =
                (rows.replica()?, rows.u64()?, rows.u64()?, rows.u32()?);
            write_replica(&mut self.replicas, &mut self.stamps, replica);
            self.stamps.i64(counter.wrapping_sub(self.counter) as i64);
            self.stamps.i64(millis.wrapping_sub(self.millis) as i64);
            self.stamps.varint(u64::from(logical));
            (self.counter, self.millis) = (counter, millis);
        }
        let lifecycle = rows.option()?;
        self.shape.out.push(u8::from(lifecycle));
        if lifecycle {
            for _ in 0..self.count(rows)? {
                self.shape.varint(u64::from(rows.u32()?));
                self.lifecycle(rows)?;
            }
        }
        self.registers(rows)?;
        for _ in 0..self.count(rows)? {
            self.name(rows)?;
            for _ in 0..self.count(rows)? {
                self.shape.bytes(rows.borrowed_bytes()?);
                for _ in 0..self.count(rows)? {
                    self.shape.varint(u64::from(rows.u32()?));
                    self.shape.out.push(u8::from(rows.bool()?));
                }
                self.registers(rows)?;
            }
        }
        for _extrema in 0..2 {
            for _ in 0..self.count(rows)? {
                let column = self.name(rows)?;
                let some = rows.option()?;
                self.shape.out.push(u8::from(some));
                if some {
                    self.shape.varint(u64::from(rows.u32()?));
                    self.value(column, rows.value_ref()?);
                }
            }
        }
        Ok(())
    }

    /// A count, copied to the shape.
    fn count(&mut self, rows: &mut Reader<'b>) -> Read<usize> {
        let count = rows.length()?;
        self.shape.length(count);
        Ok(count)
    }

    /// A name, written to the shape as its index; returns its column.
    fn name(&mut self, rows: &mut Reader<'b>) -> Read<usize> {
        let name = rows.borrowed_bytes()?;
        let (index, new) = self.names.index(name);
        self.shape.length(index);
        if new {
            self.shape.bytes(name);
            self.values
                .push(ColumnOut { out: Writer::new(Vec::new(), WriteForm::Sent), previous: &[] });
        }
        Ok(index)
    }

    fn registers(&mut self, rows: &mut Reader<'b>) -> Read<()> {
        for _ in 0..self.count(rows)? {
            let column = self.name(rows)?;
            for _ in 0..self.count(rows)? {
                self.shape.varint(u64::from(rows.u32()?));
                self.value(column, rows.value_ref()?);
            }
        }
        Ok(())
    }

    fn lifecycle(&mut self, rows: &mut Reader<'b>) -> Read<()> {
        match rows.u32()? {
            0 => self.shape.varint(0),
            1 => {
                self.shape.varint(1);
                for _ in 0..self.count(rows)? {
                    write_replica(&mut self.replicas, &mut self.shape, rows.replica()?);
                    self.shape.varint(rows.u64()?);
                }
            }
            other => return Err(format!("a lifecycle of variant {other}, which does not exist")),
        }
        Ok(())
    }

    /// A value into its column: text and bytes as what they share with the column's previous
    /// one; the rest exactly as the row form writes them.
    fn value(&mut self, column: usize, value: ValueRef<'b>) {
        let ColumnOut { out, previous } = &mut self.values[column];
        let (tag, bytes) = match value {
            ValueRef::Text(text) => (4, text.as_bytes()),
            ValueRef::Bytes(bytes) => (5, bytes),
            ValueRef::Structured(bytes) => (6, bytes),
            scalar => return out.value_ref(scalar),
        };
        out.varint(tag);
        write_shared(out, previous, bytes);
    }

    fn finish(self, count: usize) -> Vec<u8> {
        let streams = [&self.keys, &self.stamps, &self.shape];
        let size = streams.iter().map(|s| s.out.len() + 9).sum::<usize>()
            + self.values.iter().map(|c| c.out.out.len() + 9).sum::<usize>();
        let mut out = Writer::new(Vec::with_capacity(size + 20), WriteForm::Sent);
        out.out.push(LAYOUT);
        out.length(count);
        for stream in streams {
            out.bytes(&stream.out);
        }
        out.length(self.values.len());
        for column in &self.values {
            out.bytes(&column.out.out);
        }
        out.out
    }
}

struct ColumnIn<'b> {
    reader: Reader<'b>,
    /// Where the column's previous text or bytes value was written in the output.
    previous: Range<usize>,
}

/// The streams being read, and the row form being written.
struct Join<'b> {
    keys: Reader<'b>,
    stamps: Reader<'b>,
    shape: Reader<'b>,
    values: Vec<ColumnIn<'b>>,
    out: Writer,
    limit: usize,
    collection: Range<usize>,
    id: Range<usize>,
    replicas: Vec<ReplicaId>,
    names: Vec<&'b str>,
    counter: u64,
    millis: u64,
}

impl<'b> Join<'b> {
    fn record(&mut self) -> Read<()> {
        self.collection = self.shared(Stream::Keys, self.collection.clone())?;
        self.id = self.shared(Stream::Keys, self.id.clone())?;
        let count = self.stamps.length()?;
        self.out.length(count);
        for _ in 0..count {
            let replica = read_replica(&mut self.replicas, &mut self.stamps)?;
            self.counter = self.counter.wrapping_add(self.stamps.i64()? as u64);
            self.millis = self.millis.wrapping_add(self.stamps.i64()? as u64);
            let logical = self.stamps.u32()?;
            self.out.out.extend_from_slice(&replica.to_bytes());
            self.out.varint(self.counter);
            self.out.varint(self.millis);
            self.out.varint(u64::from(logical));
            self.check()?;
        }
        let lifecycle = self.shape.option()?;
        self.out.out.push(u8::from(lifecycle));
        if lifecycle {
            for _ in 0..self.count()? {
                self.stamp()?;
                self.lifecycle()?;
            }
        }
        self.registers()?;
        for _ in 0..self.count()? {
            self.name()?;
            for _ in 0..self.count()? {
                let key = self.shape.str()?;
                self.out.string(key);
                for _ in 0..self.count()? {
                    self.stamp()?;
                    let present = self.shape.bool()?;
                    self.out.out.push(u8::from(present));
                }
                self.registers()?;
            }
        }
        for _extrema in 0..2 {
            for _ in 0..self.count()? {
                let column = self.name()?;
                let some = self.shape.option()?;
                self.out.out.push(u8::from(some));
                if some {
                    self.stamp()?;
                    self.value(column)?;
                }
            }
        }
        self.check()
    }

    fn check(&self) -> Read<()> {
        if self.out.out.len() > self.limit {
            return Err(format!("the records come to more than {} bytes", self.limit));
        }
        Ok(())
    }

    fn count(&mut self) -> Read<usize> {
        let count = self.shape.length()?;
        self.out.length(count);
        Ok(count)
    }

    fn stamp(&mut self) -> Read<()> {
        let index = self.shape.u32()?;
        self.out.varint(u64::from(index));
        Ok(())
    }

    /// A name given by index (or whole, the first time); returns its column.
    fn name(&mut self) -> Read<usize> {
        let index = self.shape.u32()? as usize;
        if index == self.names.len() {
            let name = self.shape.str()?;
            self.names.push(name);
        }
        let name = *self.names.get(index).ok_or_else(|| {
            format!("name {index} does not exist (the chunk named {})", self.names.len())
        })?;
        if index >= self.values.len() {
            return Err(format!("name {index} has no column ({} columns)", self.values.len()));
        }
        self.out.string(name);
        Ok(index)
    }

    fn registers(&mut self) -> Read<()> {
        for _ in 0..self.count()? {
            let column = self.name()?;
            for _ in 0..self.count()? {
                self.stamp()?;
                self.value(column)?;
            }
        }
        Ok(())
    }

    fn lifecycle(&mut self) -> Read<()> {
        match self.shape.u32()? {
            0 => self.out.varint(0),
            1 => {
                self.out.varint(1);
                for _ in 0..self.count()? {
                    let replica = read_replica(&mut self.replicas, &mut self.shape)?;
                    self.out.out.extend_from_slice(&replica.to_bytes());
                    let counter = self.shape.u64()?;
                    self.out.varint(counter);
                }
            }
            other => return Err(format!("a lifecycle of variant {other}, which does not exist")),
        }
        Ok(())
    }

    fn value(&mut self, column: usize) -> Read<()> {
        let reader = &mut self.values[column].reader;
        match reader.u32()? {
            0 => self.out.varint(0),
            1 => {
                let b = reader.bool()?;
                self.out.varint(1);
                self.out.out.push(u8::from(b));
            }
            2 => {
                let n = reader.i64()?;
                self.out.varint(2);
                self.out.i64(n);
            }
            3 => {
                let bits: [u8; 8] = reader.array()?;
                self.out.varint(3);
                self.out.out.extend_from_slice(&bits);
            }
            tag @ 4..=6 => {
                self.out.varint(u64::from(tag));
                let previous = self.values[column].previous.clone();
                self.values[column].previous = self.shared(Stream::Column(column), previous)?;
            }
            other => return Err(format!("a value of variant {other}, which does not exist")),
        }
        self.check()
    }

    /// Writes a length-prefixed item given as the length it shares with the item written at
    /// `previous` and the rest; returns where the new item's bytes were written.
    fn shared(&mut self, stream: Stream, previous: Range<usize>) -> Read<Range<usize>> {
        let reader = match stream {
            Stream::Keys => &mut self.keys,
            Stream::Column(column) => &mut self.values[column].reader,
        };
        let shared = reader.u64()?;
        let rest = reader.borrowed_bytes()?;
        let shared = usize::try_from(shared)
            .ok()
            .filter(|shared| *shared <= previous.len())
            .ok_or_else(|| format!("{shared} bytes shared with an item of {}", previous.len()))?;
        let length = shared + rest.len();
        if self.out.out.len().saturating_add(length) > self.limit {
            return Err(format!("the records come to more than {} bytes", self.limit));
        }
        self.out.length(length);
        let start = self.out.out.len();
        self.out.out.extend_from_within(previous.start..previous.start + shared);
        self.out.out.extend_from_slice(rest);
        Ok(start..start + length)
    }
}

#[derive(Clone, Copy)]
enum Stream {
    Keys,
    Column(usize),
}

fn read_replica(table: &mut Vec<ReplicaId>, reader: &mut Reader<'_>) -> Read<ReplicaId> {
    let index = reader.u32()? as usize;
    if index == table.len() {
        table.push(reader.replica()?);
    }
    table
        .get(index)
        .copied()
        .ok_or_else(|| format!("replica {index} does not exist (the chunk named {})", table.len()))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;
    use crate::crdt::payload_reader::read_deltas;
    use crate::crdt::payload_reader::tests::{damaged, random_deltas};
    use crate::crdt::payload_writer::write_delta;
    use crate::crdt::{
        Dot, Entry, FieldName, Hlc, Lifecycle, MvRegister, RecordDelta, RecordKey, Value,
    };

    /// The row form of a chunk of `records`, as the sender writes it.
    fn rows(records: &[(RecordKey, RecordDelta)]) -> Vec<u8> {
        let mut raw = crate::codec::encode_payload(&(records.len() as u64)).expect("count");
        for (key, delta) in records {
            write_delta(key, delta, &mut raw);
        }
        raw
    }

    fn entry<T>(replica: u8, counter: u64, millis: u64, value: T) -> Entry<T> {
        let dot = Dot { replica: ReplicaId::from_bytes([replica; 16]), counter };
        Entry { dot, hlc: Hlc { millis, logical: 0 }, value }
    }

    /// Calendar-like records: `writers` replicas take turns creating events of ten fields,
    /// with `names` extra fields named apart.
    fn events(count: u64, writers: u64, names: u64) -> Vec<(RecordKey, RecordDelta)> {
        (0..count)
            .map(|i| {
                let (replica, counter) = ((i % writers) as u8, 1 + i / writers);
                let millis = 1_780_000_000_000 + i * 37;
                let stamp =
                    |value| MvRegister::from_entries(vec![entry(replica, counter, millis, value)]);
                let mut registers = BTreeMap::new();
                for (name, value) in [
                    ("title", format!("Meeting {i}")),
                    ("location", "Room 4".to_owned()),
                    ("notes", "Bring the quarterly numbers.".to_owned()),
                    ("status", "CONFIRMED".to_owned()),
                    ("uid", format!("event-{i:06}@example.com")),
                ] {
                    registers.insert(FieldName::from(name), stamp(Value::Text(value)));
                }
                registers.insert(FieldName::from("sequence"), stamp(Value::Int(i as i64 % 3)));
                registers.insert(FieldName::from("busy"), stamp(Value::Bool(i % 2 == 0)));
                registers.insert(FieldName::from("weight"), stamp(Value::Float(i as f64 / 3.0)));
                registers.insert(FieldName::from("cleared"), stamp(Value::Null));
                let timing = vec![1, 3, (i % 251) as u8, (i * 7 % 256) as u8, 0, 0];
                registers.insert(FieldName::from("timing"), stamp(Value::Structured(timing)));
                for n in 0..names.min(i) {
                    registers.insert(
                        FieldName::from(format!("extra-{n}")),
                        stamp(Value::Bytes(vec![n as u8])),
                    );
                }
                let lifecycle = Some(MvRegister::from_entries(vec![entry(
                    replica,
                    counter,
                    millis,
                    Lifecycle::Live,
                )]));
                let delta = RecordDelta { lifecycle, registers, ..RecordDelta::default() };
                (RecordKey::new("events", format!("event-{i:06}")), delta)
            })
            .collect()
    }

    fn deflated(bytes: &[u8]) -> usize {
        miniz_oxide::deflate::compress_to_vec(bytes, 6).len()
    }

    #[test]
    fn a_calendar_chunk_comes_back_byte_for_byte_and_compresses_to_less_than_half() {
        let raw = rows(&events(2_000, 3, 0));
        let columns = to_columns(&raw).expect("columns");
        assert_eq!(from_columns(&columns, usize::MAX).expect("rows"), raw);
        let (rows_deflated, columns_deflated) = (deflated(&raw), deflated(&columns));
        assert!(
            columns_deflated * 2 < rows_deflated,
            "columns {columns_deflated} B deflated against rows {rows_deflated} B"
        );
    }

    #[test]
    fn many_writers_and_names_come_back_byte_for_byte() {
        // More replicas and names than a linear search is used for: the tables' maps.
        let records = events(300, 2 * LINEAR_ITEMS as u64 + 5, 2 * LINEAR_ITEMS as u64);
        let raw = rows(&records);
        let back = from_columns(&to_columns(&raw).expect("columns"), usize::MAX).expect("rows");
        assert_eq!(read_deltas(&back).expect("reads"), records);
        assert_eq!(back, raw);
    }

    #[test]
    fn columns_that_would_expand_past_the_limit_are_refused() {
        // The same long text in every record: a few bytes each in columns.
        let records: Vec<_> = events(200, 1, 0)
            .into_iter()
            .map(|(key, mut delta)| {
                let long =
                    MvRegister::from_entries(vec![entry(1, 1, 1, Value::Text("x".repeat(5_000)))]);
                delta.registers.insert(FieldName::from("notes"), long);
                (key, delta)
            })
            .collect();
        let raw = rows(&records);
        let columns = to_columns(&raw).expect("columns");
        assert!(
            columns.len() < raw.len() / 20,
            "{} B of columns for {} B",
            columns.len(),
            raw.len()
        );
        assert_eq!(from_columns(&columns, raw.len()).expect("within the limit"), raw);
        let refused = from_columns(&columns, raw.len() - 1).expect_err("past the limit");
        assert!(refused.contains("more than"), "{refused}");
    }

    #[test]
    fn an_unknown_layout_is_refused_by_name() {
        let mut columns = to_columns(&rows(&events(3, 1, 0))).expect("columns");
        columns[0] = LAYOUT + 1;
        let refused = from_columns(&columns, usize::MAX).expect_err("unknown layout");
        assert!(refused.contains("layout 2"), "{refused}");
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        /// Random chunks (every kind of value, keyed maps, extrema, deletes with their vectors,
        /// records without a lifecycle) come back byte for byte; damaged columns are refused
        /// or read as some other chunk, never a panic, never past the limit.
        #[test]
        fn random_chunks_come_back_byte_for_byte_and_damage_never_panics(
            numbers in proptest::collection::vec(any::<u64>(), 64..256),
            damage in proptest::collection::vec((any::<usize>(), any::<u8>()), 24),
        ) {
            let records = random_deltas(numbers, 12);
            let raw = rows(&records);
            let columns = to_columns(&raw).expect("columns");
            prop_assert_eq!(&from_columns(&columns, usize::MAX).expect("rows"), &raw);
            let limit = 2 * raw.len();
            for (i, (at, byte)) in damage.into_iter().enumerate() {
                if let Ok(back) = from_columns(&damaged(&columns, i, at, byte), limit) {
                    prop_assert!(back.len() <= limit);
                    let _ = read_deltas(&back);
                }
            }
        }
    }
}
