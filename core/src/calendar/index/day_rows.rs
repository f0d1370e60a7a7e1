//! One UTC day of the occurrence index packed into a blob (`occurrence_days`, decision 0049).
//!
//! A month view used to step through every index row of the month in SQLite, 2,718 of them on
//! the 10,000-event benchmark calendar: that stepping was most of a warm view. The rows of a
//! day (single events and materialised series alike) are also kept here, packed, so a month is
//! about 33 SQLite rows (the month and its widening). The blob is derived from the row tables
//! and forgotten whenever a row of its day changes; it is never the only copy of anything.
//!
//! Layout: the format byte [`FORMAT`], then one entry per row, in order of record and start:
//! - the record (`rid`) as the difference from the previous entry's (the first's from 0);
//! - the start, after the day's midnight UTC: whole minutes as `minutes << 1`, else
//!   `seconds << 1 | 1` (below a day either way);
//! - the length: whole minutes as `zigzag(minutes) << 1`, else `zigzag(seconds) << 1 | 1`;
//! - the key: `0` for a single event's row (its key is its start, decision 0036); `1` for a
//!   date key naming the row's own UTC day; `2` and the zigzag difference from that day for
//!   another date key (stored as a day number); `3`, a length and UTF-8 for any other key.
//!
//! Numbers are LEB128 varints (7 bits a byte, low bits first). A 10,000-event year packs into
//! about seven bytes a row.

use crate::error::{Error, Result};

/// The form of the blobs this code writes. A blob of another form is refused as damaged; the
/// index version (`index_version`) changes with this, so a store rebuilds before reading one.
pub const FORMAT: u8 = 1;

const DAY: i64 = 86_400;

/// An occurrence key as the index stores it (see `stored_key`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key<'a> {
    /// A single event's row: no key stored.
    EventStart,
    /// A date key, as days since 1970-01-01.
    Day(i64),
    /// Any other key, as its text.
    Text(&'a str),
}

/// One index row of a day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Row<'a> {
    /// The event's record.
    pub rid: i64,
    /// The occurrence's key.
    pub key: Key<'a>,
    /// UTC seconds.
    pub start: i64,
    /// Seconds: the occurrence ends (exclusive) at `start + length`.
    pub length: i64,
}

/// A day's blob being written.
pub struct Packer {
    day: i64,
    rows: Vec<(i64, i64, i64, PackedKey)>,
}

/// A key as a packer keeps it until the blob is written.
enum PackedKey {
    EventStart,
    Day(i64),
    Text(Box<str>),
}

/// Lengths this far from 0 are not occurrences (jiff's instants span about 20,000 years).
const LONGEST: i64 = 1 << 61;

impl Packer {
    /// An empty day (a day with no rows is stored too: it says the day was packed).
    pub fn new(day: i64) -> Packer {
        Packer { day, rows: Vec::new() }
    }

    /// Adds a row, which must start on this packer's day.
    pub fn push(&mut self, row: &Row<'_>) -> Result<()> {
        let offset = row.start.checked_sub(self.day.saturating_mul(DAY));
        if !offset.is_some_and(|offset| (0..DAY).contains(&offset))
            || !(-LONGEST..LONGEST).contains(&row.length)
        {
            return Err(Error::Corrupt(format!(
                "an occurrence index row ({} seconds from {}) that cannot be on day {}",
                row.length, row.start, self.day
            )));
        }
        let key = match row.key {
            Key::EventStart => PackedKey::EventStart,
            Key::Day(days) => PackedKey::Day(days),
            Key::Text(text) => PackedKey::Text(text.into()),
        };
        self.rows.push((row.rid, row.start, row.length, key));
        Ok(())
    }

    /// The blob.
    pub fn finish(mut self) -> Vec<u8> {
        self.rows.sort_unstable_by_key(|&(rid, start, ..)| (rid, start));
        let mut out = Vec::with_capacity(1 + self.rows.len() * 8);
        out.push(FORMAT);
        let midnight = self.day.saturating_mul(DAY);
        let mut previous = 0i64;
        for (rid, start, length, key) in &self.rows {
            varint(&mut out, rid.wrapping_sub(previous) as u64);
            previous = *rid;
            let offset = start - midnight;
            varint(
                &mut out,
                if offset % 60 == 0 { (offset / 60) << 1 } else { offset << 1 | 1 } as u64,
            );
            let length =
                if length % 60 == 0 { zigzag(length / 60) << 1 } else { zigzag(*length) << 1 | 1 };
            varint(&mut out, length);
            match key {
                PackedKey::EventStart => out.push(0),
                PackedKey::Day(days) if *days == self.day => out.push(1),
                PackedKey::Day(days) => {
                    out.push(2);
                    varint(&mut out, zigzag(days.wrapping_sub(self.day)));
                }
                PackedKey::Text(text) => {
                    out.push(3);
                    varint(&mut out, text.len() as u64);
                    out.extend_from_slice(text.as_bytes());
                }
            }
        }
        out
    }
}

/// Reads the rows of a day's blob, in the order they were packed.
pub struct Unpacker<'a> {
    day: i64,
    midnight: i64,
    rid: i64,
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Unpacker<'a> {
    /// Checks the blob's form.
    pub fn new(day: i64, bytes: &'a [u8]) -> Result<Unpacker<'a>> {
        match bytes.first() {
            Some(&FORMAT) => {
                Ok(Unpacker { day, midnight: day.saturating_mul(DAY), rid: 0, bytes, at: 1 })
            }
            Some(other) => Err(damaged(format!("form {other}, this version reads {FORMAT}"))),
            None => Err(damaged("an empty blob".into())),
        }
    }

    /// The next row, `None` after the last; a damaged blob is an error, never a panic.
    pub fn next_row(&mut self) -> Result<Option<Row<'a>>> {
        if self.at == self.bytes.len() {
            return Ok(None);
        }
        self.rid = self.rid.wrapping_add(self.varint()? as i64);
        let start = self.varint()?;
        let offset = if start & 1 == 0 { (start >> 1).saturating_mul(60) } else { start >> 1 };
        if offset >= DAY as u64 {
            return Err(damaged(format!("a start {offset} seconds after midnight")));
        }
        let length = self.varint()?;
        let length = match length & 1 {
            0 => unzigzag(length >> 1).saturating_mul(60),
            _ => unzigzag(length >> 1),
        };
        let kind = *self.bytes.get(self.at).ok_or_else(|| damaged("it ends early".into()))?;
        self.at += 1;
        let key = match kind {
            0 => Key::EventStart,
            1 => Key::Day(self.day),
            2 => Key::Day(self.day.wrapping_add(unzigzag(self.varint()?))),
            3 => {
                let len = usize::try_from(self.varint()?).unwrap_or(usize::MAX);
                let text = self.take(len)?;
                Key::Text(
                    std::str::from_utf8(text)
                        .map_err(|_| damaged("a key that is not UTF-8".into()))?,
                )
            }
            other => return Err(damaged(format!("a key of kind {other}"))),
        };
        Ok(Some(Row { rid: self.rid, key, start: self.midnight + offset as i64, length }))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.at.checked_add(n).filter(|end| *end <= self.bytes.len());
        let Some(end) = end else { return Err(damaged("it ends early".into())) };
        let taken = &self.bytes[self.at..end];
        self.at = end;
        Ok(taken)
    }

    /// Read byte by byte without `take`: three or four varints a row, the largest cost of
    /// reading a packed day through `take`.
    fn varint(&mut self) -> Result<u64> {
        let mut value = 0u64;
        let mut shift = 0;
        while let Some(&byte) = self.bytes.get(self.at) {
            self.at += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
            shift += 7;
            if shift >= 64 {
                return Err(damaged("an integer longer than ten bytes".into()));
            }
        }
        Err(damaged("it ends early".into()))
    }
}

fn damaged(what: String) -> Error {
    Error::Corrupt(format!(
        "a packed day of the occurrence index is damaged ({what}); rebuild the index"
    ))
}

fn varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

fn unzigzag(value: u64) -> i64 {
    ((value >> 1) as i64) ^ -((value & 1) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unpack(day: i64, bytes: &[u8]) -> Result<Vec<Row<'_>>> {
        let mut unpacker = Unpacker::new(day, bytes)?;
        let mut rows = Vec::new();
        while let Some(row) = unpacker.next_row()? {
            rows.push(row);
        }
        Ok(rows)
    }

    /// Rows of every kind, in the order a blob gives them back (by record, then start).
    fn sample(day: i64) -> Vec<Row<'static>> {
        let midnight = day * DAY;
        vec![
            Row { rid: -4, key: Key::Day(day + 1), start: midnight + 59, length: 61 },
            Row { rid: 1, key: Key::EventStart, start: midnight, length: 3_600 },
            Row { rid: 2, key: Key::Text("20260105T093000Z"), start: midnight + 60, length: 1 },
            Row { rid: 3, key: Key::Text(""), start: midnight + 61, length: -(LONGEST - 1) },
            Row { rid: 300, key: Key::Day(day), start: midnight + 86_340, length: 0 },
            Row { rid: 300, key: Key::Day(day - 400), start: midnight + 86_399, length: -120 },
            Row {
                rid: i64::MAX,
                key: Key::Day(-719_468),
                start: midnight + 7,
                length: LONGEST - 60,
            },
        ]
    }

    #[test]
    fn rows_come_back_as_they_were_packed_on_any_day() {
        for day in [20_454, 0, -1, -719_468, 2_932_896] {
            let mut packer = Packer::new(day);
            for row in sample(day).iter().rev() {
                packer.push(row).expect("push");
            }
            let bytes = packer.finish();
            assert_eq!(unpack(day, &bytes).expect("unpack"), sample(day), "day {day}");
        }
        assert_eq!(unpack(7, &Packer::new(7).finish()).expect("empty"), Vec::new());
    }

    /// The bytes of a packed day, pinned: a change here is a new `FORMAT` (and index version).
    #[test]
    fn a_packed_day_has_these_bytes() {
        let day = 20_454; // 2026-01-01
        let mut packer = Packer::new(day);
        let midnight = day * DAY;
        let rows = [
            Row { rid: 200, key: Key::Day(day), start: midnight + 36_000, length: 1_800 },
            Row { rid: 5, key: Key::EventStart, start: midnight + 32_400, length: 3_600 },
            Row { rid: 200, key: Key::Day(day - 1), start: midnight + 1, length: 90 },
            Row { rid: 206, key: Key::Text("A"), start: midnight, length: 0 },
        ];
        for row in &rows {
            packer.push(row).expect("push");
        }
        assert_eq!(
            packer.finish(),
            [
                1, // format
                5, 0xb8, 0x08, 0xf0, 0x01, 0, // rid 5, 540 min, 60 min, a single event
                0xc3, 0x01, 3, 0xe9, 0x02, 2, 1, // rid +195, 1 s, 90 s, the day before
                0, 0xb0, 0x09, 0x78, 1, // rid +0, 600 min, 30 min, this day
                6, 0, 0, 3, 1, b'A', // rid +6, midnight, 0, text "A"
            ]
        );
    }

    #[test]
    fn a_row_of_another_day_is_refused_when_packing() {
        let mut packer = Packer::new(10);
        for (start, length) in [(10 * DAY - 1, 1), (11 * DAY, 1), (10 * DAY, LONGEST)] {
            let row = Row { rid: 1, key: Key::EventStart, start, length };
            assert!(matches!(packer.push(&row), Err(Error::Corrupt(_))), "{start} {length}");
        }
    }

    /// Every damage of a packed day (truncation, any changed byte) is an error or some rows,
    /// never a panic; unknown forms and kinds, long integers and bad text are errors.
    #[test]
    fn damaged_days_are_errors_never_panics() {
        let day = 20_454;
        let mut packer = Packer::new(day);
        for row in &sample(day) {
            packer.push(row).expect("push");
        }
        let bytes = packer.finish();
        for end in 0..bytes.len() {
            let _ = unpack(day, &bytes[..end]);
        }
        for at in 0..bytes.len() {
            for value in [0u8, 1, 2, 3, 0x7f, 0x80, 0xff] {
                let mut changed = bytes.clone();
                changed[at] = value;
                let _ = unpack(day, &changed);
            }
        }
        let refused = |bytes: &[u8]| matches!(unpack(day, bytes), Err(Error::Corrupt(_)));
        assert!(refused(&[]), "empty");
        assert!(refused(&[2]), "another form");
        assert!(refused(&[1, 1, 0, 0, 4]), "a key of an unknown kind");
        assert!(refused(&[1, 1, 0xc0, 0x16, 0, 0]), "a start 1,440 minutes after midnight");
        assert!(refused(&[1, 1, 0x81, 0xc6, 0x0a, 0, 0]), "a start 86,400 s after midnight");
        assert!(refused(&[1, 1, 0, 0, 3, 1, 0xff]), "a key that is not UTF-8");
        assert!(refused(&[1, 1, 0, 0, 3, 5, b'a']), "a key longer than the blob");
        assert!(refused(&[1, 1, 0, 0]), "a row without its key");
        assert!(refused(&[1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0]));
    }
}
