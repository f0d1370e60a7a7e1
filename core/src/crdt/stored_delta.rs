//! What a peer lacks of a stored record, written as one record of a sync chunk straight from
//! the record's stored payload (decision 0041).
//!
//! A sender used to decode each record with writes the peer lacks (every field name, register
//! and value allocated), keep the parts the peer lacks (`RecordState::into_delta`), and write
//! those ([`super::payload_writer::write_delta`]). This reads the payload twice instead, never
//! building the record: once to find which parts the peer lacks, once to write them, values
//! borrowed from the payload. Its bytes are exactly those of the decoding path (a property test
//! compares both on random records, intact and damaged).
//!
//! It writes only what it can write exactly as that path would. A payload the decoder would
//! normalise (names or keys out of order, a register's entries out of stamp order, a dot given
//! twice: never written by this library, but possible in a hand-made or damaged record) or
//! refuse is left to the decoding path, which then does whatever it does with it.

use super::payload_reader::{Form as ReadForm, Reader};
use super::payload_writer::{Form as WriteForm, Writer, append_delta};
use super::{Dot, FieldName, Hlc, RecordKey, VersionVector};

/// What [`append_stored_delta`] did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Written {
    /// The record's unseen parts were appended.
    Delta,
    /// The peer has seen everything in the record: nothing was appended.
    NothingUnseen,
    /// Nothing was appended: the decoding path must handle this payload.
    Decode,
}

type Read<T> = Result<T, String>;

/// Appends to `out` the sent form of the parts of the record stored as the format-4 `payload`
/// that a replica which has seen `since` lacks, keyed `key`.
pub(crate) fn append_stored_delta(
    key: &RecordKey,
    payload: &[u8],
    since: &VersionVector,
    out: &mut Vec<u8>,
) -> Written {
    let Ok(Some(scanned)) = scan(payload, since) else { return Written::Decode };
    if scanned.unseen.is_empty() {
        return Written::NothingUnseen;
    }
    let mut body = Writer::new(Vec::with_capacity(payload.len() * 2), WriteForm::Sent);
    if write(payload, &scanned, &mut body).is_err() {
        // The scan read every byte the writer reads: only a change between the two could
        // get here. The decoding path decides.
        return Written::Decode;
    }
    append_delta(key, &body, out);
    Written::Delta
}

/// Which parts a replica that has seen `since` lacks: `true` for each part it lacks some of,
/// in the payload's order.
#[derive(Default)]
struct Unseen {
    lifecycle: bool,
    registers: Vec<bool>,
    /// Per keyed map, per member.
    maps: Vec<Vec<bool>>,
    minimums: Vec<bool>,
    maximums: Vec<bool>,
}

impl Unseen {
    fn is_empty(&self) -> bool {
        !self.lifecycle
            && !self.registers.contains(&true)
            && !self.maps.iter().any(|members| members.contains(&true))
            && !self.minimums.contains(&true)
            && !self.maximums.contains(&true)
    }
}

/// What the first pass found: the record's stamps, where its body starts, and what is unseen.
struct Scan {
    stamps: Vec<(Dot, Hlc)>,
    body: usize,
    unseen: Unseen,
}

/// The first pass: every byte read as the decoder reads it, each part marked unseen or not.
/// `None` if the decoder would change something (see the module's comment).
fn scan(payload: &[u8], since: &VersionVector) -> Read<Option<Scan>> {
    let mut reader = Reader::new(payload, ReadForm::Stored);
    let stamps = reader.stamps()?;
    let body = reader.position();
    let mut unseen = Unseen::default();
    if !reader.option()? {
        return Ok(None); // A stored record always has its lifecycle.
    }
    let lifecycle = entries(&mut reader, &stamps, since, &mut |r| r.lifecycle().map(drop))?;
    let mut canonical = lifecycle.canonical;
    unseen.lifecycle = lifecycle.unseen;
    canonical &= registers(&mut reader, &stamps, since, &mut unseen.registers)?;
    let mut names = InOrder::default();
    for _ in 0..reader.length()? {
        canonical &= names.next(reader.name()?);
        let mut keys: Option<&str> = None;
        let mut members = Vec::new();
        for _ in 0..reader.length()? {
            let key = reader.str()?;
            canonical &= keys.is_none_or(|previous| previous < key);
            keys = Some(key);
            let presence = entries(&mut reader, &stamps, since, &mut |r| r.bool().map(drop))?;
            let mut fields = Vec::new();
            canonical &= presence.canonical & registers(&mut reader, &stamps, since, &mut fields)?;
            members.push(presence.unseen || fields.contains(&true));
        }
        unseen.maps.push(members);
    }
    for extrema in [&mut unseen.minimums, &mut unseen.maximums] {
        let mut names = InOrder::default();
        for _ in 0..reader.length()? {
            canonical &= names.next(reader.name()?);
            let mut lacks = false;
            if reader.option()? {
                let (dot, _) = stamp(&mut reader, &stamps)?;
                reader.value_ref()?;
                lacks = !since.contains(&dot);
            }
            extrema.push(lacks);
        }
    }
    reader.finish()?;
    Ok(canonical.then_some(Scan { stamps, body, unseen }))
}

/// Names in strictly ascending order, as a map the decoder builds holds them.
#[derive(Default)]
struct InOrder {
    previous: Option<FieldName>,
}

impl InOrder {
    fn next(&mut self, name: FieldName) -> bool {
        let ascending = self.previous.as_ref().is_none_or(|previous| *previous < name);
        self.previous = Some(name);
        ascending
    }
}

/// What the scan learnt of one register.
struct Scanned {
    /// Some entry was written by a dot the peer has not seen.
    unseen: bool,
    /// Its entries are in stamp order, each dot once: as the decoder would keep them.
    canonical: bool,
}

fn entries(
    reader: &mut Reader<'_>,
    stamps: &[(Dot, Hlc)],
    since: &VersionVector,
    value: &mut impl FnMut(&mut Reader<'_>) -> Read<()>,
) -> Read<Scanned> {
    let mut scanned = Scanned { unseen: false, canonical: true };
    let mut previous: Option<(Hlc, Dot)> = None;
    for _ in 0..reader.length()? {
        let (dot, hlc) = stamp(reader, stamps)?;
        value(reader)?;
        scanned.unseen |= !since.contains(&dot);
        if let Some((previous_hlc, previous_dot)) = previous {
            let order = (previous_hlc, previous_dot.replica).cmp(&(hlc, dot.replica));
            scanned.canonical &= order.is_le() && previous_dot != dot;
        }
        previous = Some((hlc, dot));
    }
    Ok(scanned)
}

/// Named registers of values: pushes whether each is unseen; whether all are canonical.
fn registers(
    reader: &mut Reader<'_>,
    stamps: &[(Dot, Hlc)],
    since: &VersionVector,
    unseen: &mut Vec<bool>,
) -> Read<bool> {
    let mut canonical = true;
    let mut names = InOrder::default();
    for _ in 0..reader.length()? {
        canonical &= names.next(reader.name()?);
        let scanned = entries(reader, stamps, since, &mut |r| r.value_ref().map(drop))?;
        canonical &= scanned.canonical;
        unseen.push(scanned.unseen);
    }
    Ok(canonical)
}

fn stamp(reader: &mut Reader<'_>, stamps: &[(Dot, Hlc)]) -> Read<(Dot, Hlc)> {
    let index = reader.u32()?;
    stamps.get(index as usize).copied().ok_or_else(|| format!("stamp {index} does not exist"))
}

fn count(marks: &[bool]) -> usize {
    marks.iter().filter(|kept| **kept).count()
}

/// The second pass: the parts `unseen` marks, written as `payload_writer` writes a delta's
/// (same order, so the stamps are listed in the same order of first use).
fn write(payload: &[u8], scan: &Scan, body: &mut Writer) -> Read<()> {
    let (stamps, unseen) = (&scan.stamps, &scan.unseen);
    let mut reader = Reader::resume(payload, scan.body, ReadForm::Stored);
    reader.option()?;
    let kept = unseen.lifecycle;
    body.out.push(u8::from(kept));
    let entries = reader.length()?;
    if kept {
        body.length(entries);
    }
    for _ in 0..entries {
        let (dot, hlc) = stamp(&mut reader, stamps)?;
        let lifecycle = reader.lifecycle()?;
        if kept {
            body.stamp(dot, hlc);
            body.lifecycle(&lifecycle);
        }
    }
    write_registers(&mut reader, stamps, &unseen.registers, body)?;
    reader.length()?;
    body.length(unseen.maps.iter().filter(|members| members.contains(&true)).count());
    for members in &unseen.maps {
        let name = reader.name()?;
        let written = members.contains(&true);
        if written {
            body.string(&name);
            body.length(count(members));
        }
        reader.length()?;
        for &member in members {
            let kept = written && member;
            let key = reader.str()?;
            if kept {
                body.string(key);
            }
            let presence = reader.length()?;
            if kept {
                body.length(presence);
            }
            for _ in 0..presence {
                let (dot, hlc) = stamp(&mut reader, stamps)?;
                let present = reader.bool()?;
                if kept {
                    body.stamp(dot, hlc);
                    body.out.push(u8::from(present));
                }
            }
            // A member goes whole: all its fields, seen or not (`RecordState::into_delta`).
            let fields = reader.length()?;
            write_registers_counted(&mut reader, stamps, fields, kept, body)?;
        }
    }
    for extrema in [&unseen.minimums, &unseen.maximums] {
        reader.length()?;
        body.length(count(extrema));
        for &kept in extrema {
            let name = reader.name()?;
            if kept {
                body.string(&name);
            }
            if reader.option()? {
                let (dot, hlc) = stamp(&mut reader, stamps)?;
                let value = reader.value_ref()?;
                if kept {
                    body.out.push(1);
                    body.stamp(dot, hlc);
                    body.value_ref(value);
                }
            }
        }
    }
    reader.finish()
}

/// Named registers, each written if its mark says so.
fn write_registers(
    reader: &mut Reader<'_>,
    stamps: &[(Dot, Hlc)],
    marks: &[bool],
    body: &mut Writer,
) -> Read<()> {
    reader.length()?;
    body.length(count(marks));
    for &kept in marks {
        register(reader, stamps, kept, body)?;
    }
    Ok(())
}

/// `count` named registers, all written or none.
fn write_registers_counted(
    reader: &mut Reader<'_>,
    stamps: &[(Dot, Hlc)],
    count: usize,
    kept: bool,
    body: &mut Writer,
) -> Read<()> {
    if kept {
        body.length(count);
    }
    for _ in 0..count {
        register(reader, stamps, kept, body)?;
    }
    Ok(())
}

fn register(
    reader: &mut Reader<'_>,
    stamps: &[(Dot, Hlc)],
    kept: bool,
    body: &mut Writer,
) -> Read<()> {
    let name = reader.name()?;
    let entries = reader.length()?;
    if kept {
        body.string(&name);
        body.length(entries);
    }
    for _ in 0..entries {
        let (dot, hlc) = stamp(reader, stamps)?;
        let value = reader.value_ref()?;
        if kept {
            body.stamp(dot, hlc);
            body.value_ref(value);
        }
    }
    Ok(())
}
