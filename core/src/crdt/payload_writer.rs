//! Writes records and deltas in the forms `payload_reader.rs` reads, straight from their parts
//! (decision 0040): a format-4 record payload (names as codes, stamps compact), and one record
//! of a sync chunk (its key, then names as strings and stamps listed whole).
//!
//! The serde path built a `RecordWire` first: a vector per register, each name looked up or
//! copied, every stamp put in a map. This writer walks the record once, writing its body into a
//! buffer of its own while it lists the distinct stamps in order of first use, then writes the
//! stamps (they come first in the payload) and the body after them. Its bytes are the serde
//! path's, byte for byte: the golden fixtures pin them, and a property test compares both on
//! random records and deltas.

use std::collections::BTreeMap;

use super::payload_reader::ValueRef;
use super::record::Parts;
use super::{
    Dot, Extremum, FieldName, Hlc, Lifecycle, Member, MvRegister, RecordDelta, RecordKey,
    RecordState, Value,
};

/// The payload of `state` in format 4 (what format 5 compresses).
pub(crate) fn write_record(state: &RecordState) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    write_parts(&state.parts(), Form::Stored, &mut out);
    out
}

/// Appends one record of a sync chunk, `(key, delta)`, to `out`.
pub(crate) fn write_delta(key: &RecordKey, delta: &RecordDelta, out: &mut Vec<u8>) {
    let mut body = Writer::new(Vec::with_capacity(256), Form::Sent);
    body.parts(&delta.parts());
    append_delta(key, &body, out);
}

/// Appends one record of a sync chunk whose body (sent form) `body` has written: the key, the
/// stamps the body listed, then the body.
pub(super) fn append_delta(key: &RecordKey, body: &Writer, out: &mut Vec<u8>) {
    let mut head = Writer::new(std::mem::take(out), Form::Sent);
    head.out.reserve(key.collection.len() + key.id.len() + 32 * body.stamps.listed.len());
    head.string(&key.collection);
    head.string(&key.id);
    head.stamps(&body.stamps.listed);
    head.out.extend_from_slice(&body.out);
    *out = head.out;
}

/// Appends a record's stamps, then its body (the body is written first, listing the stamps).
fn write_parts(parts: &Parts<'_>, form: Form, out: &mut Vec<u8>) {
    let mut body = Writer::new(Vec::with_capacity(256), form);
    body.parts(parts);
    let mut head = Writer::new(std::mem::take(out), form);
    head.stamps(&body.stamps.listed);
    head.out.extend_from_slice(&body.out);
    *out = head.out;
}

#[derive(Clone, Copy)]
pub(super) enum Form {
    Stored,
    Sent,
}

/// A record's distinct stamps in order of first use.
#[derive(Default)]
struct Stamps {
    listed: Vec<(Dot, Hlc)>,
    /// Past a few dozen stamps a linear search would cost more than a map.
    by_dot: Option<BTreeMap<Dot, u32>>,
}

/// Stamps searched linearly up to this many.
const LINEAR_STAMPS: usize = 32;

impl Stamps {
    /// The index of `dot`, listed on first use (the first clock seen for a dot is the one
    /// written, as the serde path's table keeps it).
    fn index(&mut self, dot: Dot, hlc: Hlc) -> u32 {
        let found = match &self.by_dot {
            Some(map) => map.get(&dot).copied(),
            None => self.listed.iter().position(|(d, _)| *d == dot).map(|i| i as u32),
        };
        if let Some(index) = found {
            return index;
        }
        let index = self.listed.len() as u32;
        self.listed.push((dot, hlc));
        if let Some(map) = &mut self.by_dot {
            map.insert(dot, index);
        } else if self.listed.len() > LINEAR_STAMPS {
            let map = self.listed.iter().enumerate().map(|(i, (d, _))| (*d, i as u32));
            self.by_dot = Some(map.collect());
        }
        index
    }
}

pub(super) struct Writer {
    pub(super) out: Vec<u8>,
    form: Form,
    stamps: Stamps,
}

impl Writer {
    pub(super) fn new(out: Vec<u8>, form: Form) -> Writer {
        Writer { out, form, stamps: Stamps::default() }
    }

    /// An entry's stamp, as its index among the record's stamps.
    pub(super) fn stamp(&mut self, dot: Dot, hlc: Hlc) {
        let index = self.stamps.index(dot, hlc);
        self.varint(u64::from(index));
    }

    #[inline]
    pub(super) fn varint(&mut self, value: u64) {
        if value <= 250 {
            self.out.push(value as u8);
        } else {
            self.wide_varint(value);
        }
    }

    #[inline(never)]
    fn wide_varint(&mut self, value: u64) {
        if let Ok(value) = u16::try_from(value) {
            self.out.push(251);
            self.out.extend_from_slice(&value.to_le_bytes());
        } else if let Ok(value) = u32::try_from(value) {
            self.out.push(252);
            self.out.extend_from_slice(&value.to_le_bytes());
        } else {
            self.out.push(253);
            self.out.extend_from_slice(&value.to_le_bytes());
        }
    }

    pub(super) fn i64(&mut self, value: i64) {
        self.varint(((value << 1) ^ (value >> 63)) as u64);
    }

    pub(super) fn length(&mut self, length: usize) {
        self.varint(length as u64);
    }

    pub(super) fn bytes(&mut self, bytes: &[u8]) {
        self.length(bytes.len());
        self.out.extend_from_slice(bytes);
    }

    pub(super) fn string(&mut self, text: &str) {
        self.bytes(text.as_bytes());
    }

    fn name(&mut self, name: &FieldName) {
        match (&self.form, name.code()) {
            (Form::Stored, Some(code)) => self.varint(u64::from(code)),
            (Form::Stored, None) => {
                self.varint(0);
                self.string(name);
            }
            (Form::Sent, _) => self.string(name),
        }
    }

    fn value(&mut self, value: &Value) {
        self.value_ref(ValueRef::of(value));
    }

    pub(super) fn value_ref(&mut self, value: ValueRef<'_>) {
        match value {
            ValueRef::Null => self.varint(0),
            ValueRef::Bool(b) => {
                self.varint(1);
                self.out.push(u8::from(b));
            }
            ValueRef::Int(n) => {
                self.varint(2);
                self.i64(n);
            }
            ValueRef::Float(f) => {
                self.varint(3);
                self.out.extend_from_slice(&f.to_le_bytes());
            }
            ValueRef::Text(text) => {
                self.varint(4);
                self.string(text);
            }
            ValueRef::Bytes(bytes) => {
                self.varint(5);
                self.bytes(bytes);
            }
            ValueRef::Structured(bytes) => {
                self.varint(6);
                self.bytes(bytes);
            }
        }
    }

    pub(super) fn lifecycle(&mut self, lifecycle: &Lifecycle) {
        match lifecycle {
            Lifecycle::Live => self.varint(0),
            Lifecycle::Deleted { seen } => {
                self.varint(1);
                self.length(seen.len());
                for (replica, counter) in seen.iter() {
                    self.out.extend_from_slice(&replica.to_bytes());
                    self.varint(counter);
                }
            }
        }
    }

    pub(super) fn stamps(&mut self, stamps: &[(Dot, Hlc)]) {
        match self.form {
            Form::Stored => {
                // Each replica once, in order of first use; clocks as differences.
                let mut replicas: Vec<_> = Vec::new();
                let mut indices = Vec::with_capacity(stamps.len());
                for (dot, _) in stamps {
                    let index = match replicas.iter().position(|r| *r == dot.replica) {
                        Some(i) => i,
                        None => {
                            replicas.push(dot.replica);
                            replicas.len() - 1
                        }
                    };
                    indices.push(index);
                }
                self.length(replicas.len());
                for replica in &replicas {
                    self.out.extend_from_slice(&replica.to_bytes());
                }
                self.length(stamps.len());
                let mut previous = 0u64;
                for ((dot, hlc), index) in stamps.iter().zip(indices) {
                    self.varint(index as u64);
                    self.varint(dot.counter);
                    self.i64(hlc.millis.wrapping_sub(previous) as i64);
                    previous = hlc.millis;
                    self.varint(u64::from(hlc.logical));
                }
            }
            Form::Sent => {
                self.length(stamps.len());
                for (dot, hlc) in stamps {
                    self.out.extend_from_slice(&dot.replica.to_bytes());
                    self.varint(dot.counter);
                    self.varint(hlc.millis);
                    self.varint(u64::from(hlc.logical));
                }
            }
        }
    }

    fn register<T: Clone>(
        &mut self,
        register: &MvRegister<T>,
        mut value: impl FnMut(&mut Self, &T),
    ) {
        self.length(register.entries().len());
        for entry in register.entries() {
            self.stamp(entry.dot, entry.hlc);
            value(self, &entry.value);
        }
    }

    fn registers(&mut self, registers: &BTreeMap<FieldName, MvRegister<Value>>) {
        self.length(registers.len());
        for (name, register) in registers {
            self.name(name);
            self.register(register, Self::value);
        }
    }

    fn extrema(&mut self, extrema: &BTreeMap<FieldName, Extremum<Value>>) {
        self.length(extrema.len());
        for (name, extremum) in extrema {
            self.name(name);
            match extremum.entry() {
                None => self.out.push(0),
                Some(entry) => {
                    self.out.push(1);
                    self.stamp(entry.dot, entry.hlc);
                    self.value(&entry.value);
                }
            }
        }
    }

    fn members(&mut self, members: &BTreeMap<String, Member>) {
        self.length(members.len());
        for (key, member) in members {
            self.string(key);
            self.register(member.presence(), |w, present| w.out.push(u8::from(*present)));
            self.registers(member.fields());
        }
    }

    /// A record's body: everything after its stamps, which it lists in `self.stamps`.
    fn parts(&mut self, parts: &Parts<'_>) {
        match parts.lifecycle {
            None => self.out.push(0),
            Some(lifecycle) => {
                self.out.push(1);
                self.register(lifecycle, Self::lifecycle);
            }
        }
        self.registers(parts.registers);
        self.length(parts.maps.len());
        for (name, members) in parts.maps {
            self.name(name);
            self.members(members);
        }
        self.extrema(parts.minimums);
        self.extrema(parts.maximums);
    }
}
