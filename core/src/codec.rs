//! The one place Almanac turns values into bytes and back (see `docs/encoding.md`).
//!
//! Every blob is `[format version: u8 = 2][kind: u8][bincode 2 payload][CRC-32C: 4 bytes LE]`.
//! The kind byte stops a record from being read as a delta; the version byte lets a newer format
//! be refused with a clear error instead of being misread; the checksum (over everything before
//! it) turns a flipped bit on disk or on the wire into an error instead of a different, valid
//! looking value. Golden fixtures in `core/tests/fixtures/` pin the bytes.
//!
//! Format 1 had no checksum. Records and structured values of format 1 sit in users' stores, so
//! they stay readable; deltas and version vectors only travel between devices, so format 1 is
//! refused for them and an outdated peer is told to update (`docs/decisions/0012-…`).
//!
//! Formats 3 and 4 exist for records only ([`encode_record`], [`decode_record`]): the envelope
//! of format 2 around a record whose field names are one-byte codes of a built-in table
//! (`docs/decisions/0026-…`); format 4 also writes its stamps compactly (each replica id once,
//! clocks as differences; decision 0031). Deltas keep format 2. Sync frames have an envelope of their own
//! ([`encode_frame`], frame format 3, decision 0027): the same number, a different envelope
//! (no kind byte), never read by the same function.
//!
//! Format 5 ([`encode_record_against`]) is format 4's payload compressed against a record
//! dictionary of the store (`crate::compression`, decision 0032):
//! `[5][kind][dictionary: u32 LE][payload length: LEB128][LZ4 block][CRC-32C]`, the checksum
//! taken over everything before it *followed by the uncompressed payload*, so damage anywhere,
//! or a different dictionary of the same name, is refused.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::compression::{self, RecordDictionary};
use crate::crdt::RecordState;
use crate::crdt::wire::{Name, RecordWire};
use crate::error::{Error, Result};

/// The encoding format this library writes for every kind but records, and the newest it reads
/// for them.
pub const FORMAT_VERSION: u8 = 2;

/// The newest record format read: records compressed against a store dictionary
/// ([`encode_record_against`], decision 0032).
pub const RECORD_FORMAT_VERSION: u8 = 5;

/// The format of records written without a dictionary ([`encode_record`]; decision 0031):
/// field names coded, stamps compact. Format 5 compresses its payload.
pub const PLAIN_RECORD_FORMAT: u8 = 4;

/// A compressed record declaring a longer payload is refused before anything is allocated
/// (records are written uncompressed above it, see [`encode_record_against`]).
const COMPRESSED_PAYLOAD_LIMIT: usize = 1 << 20;

/// The record format with coded field names but stamps listed whole (decision 0026), written
/// until decision 0031 and still read.
const NAMED_RECORD_FORMAT: u8 = 3;

/// The envelope of sync-protocol frames since protocol 2: `[3][bincode 2 payload][CRC-32C]`,
/// the kind implied (a frame is only ever a `sync::Message`), so a frame costs five bytes
/// around its payload instead of six. Readers of formats 1 and 2 refuse it as newer.
pub const FRAME_FORMAT: u8 = 3;

/// The first format, without a checksum: still read for kinds kept on disk.
const UNCHECKED_VERSION: u8 = 1;

/// The length of the CRC-32C that ends every format-2 blob.
const CHECKSUM_BYTES: usize = 4;

/// Decoding refuses payloads whose declared lengths exceed this, so hostile or damaged input
/// cannot make the library allocate without bound.
const DECODE_LIMIT_BYTES: usize = 256 << 20;

/// What a blob holds.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum Kind {
    /// A [`crate::crdt::RecordState`] as stored on disk.
    Record = 1,
    /// A [`crate::crdt::Delta`] on the wire.
    Delta = 2,
    /// A [`crate::crdt::Value::Structured`] payload.
    Structured = 3,
    /// A [`crate::crdt::VersionVector`] on the wire.
    VersionVector = 4,
    /// A frame of the sync protocol (`crate::sync::Message`).
    Message = 5,
    /// A [`crate::crdt::RecordDelta`] staged while a chunked sync is under way.
    RecordDelta = 6,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Record => "a record",
            Kind::Delta => "a delta",
            Kind::Structured => "a structured value",
            Kind::VersionVector => "a version vector",
            Kind::Message => "a sync message",
            Kind::RecordDelta => "a staged record delta",
        }
    }

    /// Whether blobs of this kind are kept in stores, where format-1 copies written by earlier
    /// versions must stay readable. The other kinds only travel between devices running the
    /// same protocol, so accepting them unchecked would only let damage through.
    fn is_persisted(self) -> bool {
        match self {
            Kind::Record | Kind::Structured => true,
            // Staged record deltas were introduced with format 2.
            Kind::Delta | Kind::VersionVector | Kind::Message | Kind::RecordDelta => false,
        }
    }
}

fn config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<DECODE_LIMIT_BYTES>()
}

/// Encodes `value` as a blob of `kind`.
pub fn encode<T: Serialize>(kind: Kind, value: &T) -> Result<Vec<u8>> {
    // A structured value only ever travels inside a record or a delta, whose checksum covers
    // it: it keeps format 1, so it costs no extra bytes and an unchanged value keeps its bytes.
    let version = if kind == Kind::Structured { UNCHECKED_VERSION } else { FORMAT_VERSION };
    enveloped(version, kind, value)
}

fn enveloped<T: Serialize>(version: u8, kind: Kind, value: &T) -> Result<Vec<u8>> {
    let header = [version, kind as u8];
    if version == UNCHECKED_VERSION {
        return headed(&header, kind, value);
    }
    sealed(&header, kind, value)
}

/// `header` followed by `value`'s bincode payload.
fn headed<T: Serialize>(header: &[u8], kind: Kind, value: &T) -> Result<Vec<u8>> {
    let mut bytes = header.to_vec();
    bincode::serde::encode_into_std_write(value, &mut bytes, config())
        .map_err(|e| Error::InvalidInput(format!("cannot encode {}: {e}", kind.name())))?;
    Ok(bytes)
}

/// [`headed`], then the CRC-32C of all of it (blobs of format 2 and 3, frames).
fn sealed<T: Serialize>(header: &[u8], kind: Kind, value: &T) -> Result<Vec<u8>> {
    let mut bytes = headed(header, kind, value)?;
    let checksum = crc32c::crc32c(&bytes);
    bytes.extend_from_slice(&checksum.to_le_bytes());
    Ok(bytes)
}

/// Encodes a record without a dictionary: format 4, field names coded and stamps compact
/// (`docs/encoding.md`).
pub fn encode_record(state: &RecordState) -> Result<Vec<u8>> {
    // `[4][kind][payload][CRC-32C of all of it]`, the payload written in one pass (decision
    // 0040; the same bytes as the serde types write).
    let mut bytes = vec![PLAIN_RECORD_FORMAT, Kind::Record as u8];
    bytes.extend_from_slice(&crate::crdt::payload_writer::write_record(state));
    let checksum = crc32c::crc32c(&bytes);
    bytes.extend_from_slice(&checksum.to_le_bytes());
    Ok(bytes)
}

/// Encodes a record as a store with `dictionary` keeps it: format 5, format 4's payload
/// compressed against the dictionary; format 4 without one, or for a payload too long to be
/// worth it (over `COMPRESSED_PAYLOAD_LIMIT`).
pub fn encode_record_against(
    state: &RecordState,
    dictionary: Option<&RecordDictionary>,
) -> Result<Vec<u8>> {
    let Some(dictionary) = dictionary else { return encode_record(state) };
    let payload = record_payload_for_dictionary(state)?;
    if payload.len() > COMPRESSED_PAYLOAD_LIMIT {
        return encode_record(state);
    }
    let mut bytes = vec![RECORD_FORMAT_VERSION, Kind::Record as u8];
    bytes.extend_from_slice(&dictionary.id().to_le_bytes());
    push_leb128(&mut bytes, payload.len());
    bytes.extend_from_slice(&dictionary.compress(&payload));
    let checksum = crc32c::crc32c_append(crc32c::crc32c(&bytes), &payload);
    bytes.extend_from_slice(&checksum.to_le_bytes());
    Ok(bytes)
}

/// The payload of `state` in format 4, which format 5 compresses: what a store's dictionary
/// is made of.
pub fn record_payload_for_dictionary(state: &RecordState) -> Result<Vec<u8>> {
    Ok(crate::crdt::payload_writer::write_record(state))
}

fn push_leb128(out: &mut Vec<u8>, mut value: usize) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// The LEB128 number at the start of `bytes` and the bytes after it (at most four bytes:
/// larger payloads are never compressed).
fn read_leb128(bytes: &[u8]) -> Option<(usize, &[u8])> {
    let mut value = 0usize;
    for (i, byte) in bytes.iter().enumerate().take(4) {
        value |= usize::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, &bytes[i + 1..]));
        }
    }
    None
}

/// The dictionary a stored record was compressed against (format 5), if any: a store loads
/// it (`crate::compression::register`) before the record is decoded.
pub fn record_dictionary(bytes: &[u8]) -> Option<u32> {
    match bytes {
        [RECORD_FORMAT_VERSION, _, a, b, c, d, ..] => Some(u32::from_le_bytes([*a, *b, *c, *d])),
        _ => None,
    }
}

/// Decodes a stored record of any format: 5 ([`encode_record_against`], its dictionary
/// registered), 4 ([`encode_record`]), or 1, 2 and 3 written by earlier versions (or 2 by
/// [`encode`]).
pub fn decode_record(bytes: &[u8]) -> Result<RecordState> {
    let what = Kind::Record.name();
    // Format-4 payloads (compressed or not) are read by `payload_reader`, which builds the
    // record in one pass (decision 0040); older formats go through their serde types.
    let read = |payload: &[u8]| {
        crate::crdt::payload_reader::read_record(payload)
            .map_err(|detail| Error::Decode { what, detail })
    };
    let wire: RecordWire<Name> = match bytes.first() {
        Some(&RECORD_FORMAT_VERSION) => return read(&decompressed_payload(bytes)?),
        Some(&PLAIN_RECORD_FORMAT) => return read(record_payload(bytes)?),
        Some(&NAMED_RECORD_FORMAT) => decode_payload(what, record_payload(bytes)?)?,
        _ => return decode(Kind::Record, bytes),
    };
    RecordState::try_from(wire).map_err(|detail| Error::Decode { what, detail })
}

/// [`decode_record`], with the registers whose name `take` picks handed over apart, with
/// their names, instead of in the record (decision 0046). The same checks: a damaged record is
/// refused either way.
pub fn decode_record_taking(
    bytes: &[u8],
    take: &dyn Fn(&str) -> bool,
) -> Result<(RecordState, crate::crdt::payload_reader::Taken)> {
    match stored_payload(bytes)? {
        Some(payload) => crate::crdt::payload_reader::read_record_taking(&payload, take)
            .map_err(|detail| Error::Decode { what: Kind::Record.name(), detail }),
        // Older formats are read whole, then the registers taken out.
        None => {
            let mut state = decode_record(bytes)?;
            let taken = state.take_registers(take);
            Ok((state, taken))
        }
    }
}

/// The format-4 payload of a stored record of format 4 or 5 (decompressed, its dictionary
/// registered), checked; `None` for the older formats, which only `decode_record` reads.
pub fn stored_payload(bytes: &[u8]) -> Result<Option<std::borrow::Cow<'_, [u8]>>> {
    use std::borrow::Cow;
    Ok(match bytes.first() {
        Some(&RECORD_FORMAT_VERSION) => Some(Cow::Owned(decompressed_payload(bytes)?)),
        Some(&PLAIN_RECORD_FORMAT) => Some(Cow::Borrowed(record_payload(bytes)?)),
        _ => None,
    })
}

/// The payload of a format-5 record, decompressed with the registered dictionary whose output
/// matches the checksum.
fn decompressed_payload(bytes: &[u8]) -> Result<Vec<u8>> {
    let what = Kind::Record.name();
    let damaged = |detail: String| Error::Decode { what, detail };
    let Some((body @ [_, kind, a, b, c, d, rest @ ..], checksum)) =
        bytes.split_last_chunk::<CHECKSUM_BYTES>()
    else {
        return Err(damaged(format!(
            "only {} bytes, too short for a compressed record",
            bytes.len()
        )));
    };
    if *kind != Kind::Record as u8 {
        return Err(damaged(format!("the data is of kind {kind}, not {}", Kind::Record as u8)));
    }
    let id = u32::from_le_bytes([*a, *b, *c, *d]);
    let Some((length, block)) = read_leb128(rest) else {
        return Err(damaged("the data is damaged (unreadable payload length)".into()));
    };
    if length > COMPRESSED_PAYLOAD_LIMIT {
        return Err(damaged(format!("the data is damaged (a payload of {length} bytes)")));
    }
    // Over the stored bytes, so any change of them is refused, and over the payload, so a
    // different dictionary of the same name is too.
    let stored = crc32c::crc32c(body);
    let expected = u32::from_le_bytes(*checksum);
    let candidates = compression::registered(id);
    if candidates.is_empty() {
        return Err(damaged(format!(
            "it is compressed against record dictionary {id:08x}, which its store does not hold"
        )));
    }
    for dictionary in candidates {
        let Some(payload) = dictionary.decompress(block, length) else { continue };
        if crc32c::crc32c_append(stored, &payload) == expected {
            return Ok(payload);
        }
    }
    Err(damaged(format!(
        "the data is damaged (checksum mismatch: no payload against dictionary {id:08x} \
         matches the stored checksum {expected:08x})"
    )))
}

/// The payload of a checksummed record blob (formats 3 and 4), checksum and kind checked.
fn record_payload(bytes: &[u8]) -> Result<&[u8]> {
    let what = Kind::Record.name();
    checked_payload(what, Kind::Record, verified(what, "a checksummed blob", bytes)?)
}

/// Encodes `value` as a bare bincode payload (no envelope), for parts of a blob that are
/// measured or compressed on their own (sync chunks).
pub(crate) fn encode_payload<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    bincode::serde::encode_to_vec(value, config())
        .map_err(|e| Error::InvalidInput(format!("cannot encode: {e}")))
}

/// Decodes a bare bincode payload written by [`encode_payload`], refusing trailing bytes.
pub(crate) fn decode_payload<T: DeserializeOwned>(what: &'static str, bytes: &[u8]) -> Result<T> {
    let (value, used) = bincode::serde::decode_from_slice(bytes, config())
        .map_err(|e| Error::Decode { what, detail: e.to_string() })?;
    if used != bytes.len() {
        return Err(Error::Decode {
            what,
            detail: format!("{} unexpected trailing bytes", bytes.len() - used),
        });
    }
    Ok(value)
}

/// Decodes a blob of `kind`, refusing other kinds, newer versions, checksum mismatches,
/// trailing bytes and damage.
pub fn decode<T: DeserializeOwned>(kind: Kind, bytes: &[u8]) -> Result<T> {
    let what = kind.name();
    let [version, ..] = bytes else {
        return Err(Error::Decode { what, detail: "the data is empty".into() });
    };
    let body = match *version {
        0 => return Err(Error::Decode { what, detail: "format version 0 does not exist".into() }),
        UNCHECKED_VERSION if kind.is_persisted() => bytes,
        UNCHECKED_VERSION => {
            return Err(Error::Decode {
                what,
                detail: "it is in format version 1, written by an older version of Almanac; \
                         data exchanged between devices must now be format 2, which carries a \
                         checksum, so the other device must update the app before it can sync"
                    .into(),
            });
        }
        FORMAT_VERSION => verified(what, "a checksummed blob", bytes)?,
        NAMED_RECORD_FORMAT | PLAIN_RECORD_FORMAT | RECORD_FORMAT_VERSION
            if kind == Kind::Record =>
        {
            return Err(Error::Decode {
                what,
                detail: format!(
                    "it is in record format {version}, which only codec::decode_record reads"
                ),
            });
        }
        newer => {
            let supported =
                if kind == Kind::Record { RECORD_FORMAT_VERSION } else { FORMAT_VERSION };
            return Err(Error::UnsupportedFormat { what, found: newer, supported });
        }
    };
    decode_payload(what, checked_payload(what, kind, body)?)
}

/// The payload of `body` (a blob without its checksum), once its kind is the one asked for.
fn checked_payload<'a>(what: &'static str, kind: Kind, body: &'a [u8]) -> Result<&'a [u8]> {
    let [_, found_kind, payload @ ..] = body else {
        return Err(Error::Decode { what, detail: format!("only {} bytes", body.len()) });
    };
    if *found_kind != kind as u8 {
        return Err(Error::Decode {
            what,
            detail: format!("the data is of kind {found_kind}, not {}", kind as u8),
        });
    }
    Ok(payload)
}

/// Encodes `value` as a sync frame (format [`FRAME_FORMAT`]).
pub fn encode_frame<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    sealed(&[FRAME_FORMAT], Kind::Message, value)
}

/// Decodes a sync frame written by [`encode_frame`], refusing frames of protocol 1 (blobs of
/// format 1 or 2) with an update message, newer formats, checksum mismatches, trailing bytes
/// and damage.
pub fn decode_frame<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    let what = Kind::Message.name();
    let [format, ..] = bytes else {
        return Err(Error::Decode { what, detail: "the data is empty".into() });
    };
    match *format {
        FRAME_FORMAT => {}
        UNCHECKED_VERSION | FORMAT_VERSION => {
            return Err(Error::Decode {
                what,
                detail: format!(
                    "it is in format {format}, a frame of sync protocol 1 sent by an older \
                     version of Almanac; the other device must update the app before it can sync"
                ),
            });
        }
        newer if newer > FRAME_FORMAT => {
            return Err(Error::UnsupportedFormat { what, found: newer, supported: FRAME_FORMAT });
        }
        other => {
            return Err(Error::Decode { what, detail: format!("format {other} does not exist") });
        }
    }
    let body = verified(what, "a frame", bytes)?;
    decode_payload(what, &body[1..])
}

/// The blob (or frame: `unit` names it in the error) without its checksum, once the checksum
/// matches. Checked before anything else is read, so damage anywhere (the kind byte included)
/// is reported as damage.
fn verified<'a>(what: &'static str, unit: &str, bytes: &'a [u8]) -> Result<&'a [u8]> {
    let Some((body, checksum)) =
        bytes.split_last_chunk::<CHECKSUM_BYTES>().filter(|(body, _)| body.len() >= 2)
    else {
        return Err(Error::Decode {
            what,
            detail: format!("only {} bytes, too short for {unit}", bytes.len()),
        });
    };
    let expected = u32::from_le_bytes(*checksum);
    let actual = crc32c::crc32c(body);
    if actual != expected {
        return Err(Error::Decode {
            what,
            detail: format!(
                "the data is damaged (checksum mismatch: stored {expected:08x}, computed \
                 {actual:08x})"
            ),
        });
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crdt::testing::dot;
    use crate::crdt::{Delta, Hlc, RecordKey, RecordState, Value, VersionVector, Write};

    /// CRC-32C straight from its definition (reflected polynomial 0x82F63B78, initial value and
    /// final xor all ones), to check the crate computes Castagnoli and not another CRC-32.
    fn reference_crc32c(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for byte in bytes {
            crc ^= u32::from(*byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ 0x82F6_3B78 } else { crc >> 1 };
            }
        }
        !crc
    }

    /// Three records written by one replica, each with a register, a keyed-map member and a
    /// max register, as one delta.
    fn sample_delta() -> Delta {
        let mut seen = VersionVector::new();
        let mut records = Vec::new();
        let mut hlc = Hlc::default();
        for (counter, id) in (1..).zip(["breakfast", "lunch", "dinner"]) {
            let written = dot(7, counter);
            seen.advance(written.replica, written.counter);
            hlc = Hlc { millis: 1_764_000_000_000 + counter * 1_000, logical: 0 };
            let mut state = RecordState::default();
            let writes = [
                Write::Set { field: "title".into(), value: Value::from(id) },
                Write::SetMember {
                    field: "attendees".into(),
                    key: "mailto:x@example.com".into(),
                    member_field: "status".into(),
                    value: Value::from("accepted"),
                },
                Write::Max { field: "sequence".into(), value: Value::Int(counter as i64) },
            ];
            for write in &writes {
                assert_eq!(state.apply_local(write, written, hlc, &seen), Ok(()));
            }
            let delta = state.delta(&VersionVector::new()).expect("a new record has a delta");
            records.push((RecordKey::new("events", id), delta));
        }
        records.sort_by(|a, b| a.0.cmp(&b.0));
        let space = crate::crdt::SpaceId::new("golden").expect("space id");
        Delta { space, since: VersionVector::new(), context: seen, hlc, records }
    }

    fn sample_record() -> RecordState {
        let mut seen = VersionVector::new();
        let written = dot(3, 1);
        seen.advance(written.replica, written.counter);
        let mut state = RecordState::default();
        let write = Write::Set { field: "title".into(), value: Value::from("Standup") };
        let hlc = Hlc { millis: 1_764_000_000_000, logical: 2 };
        assert_eq!(state.apply_local(&write, written, hlc, &seen), Ok(()));
        state
    }

    /// `bytes` as format 1 wrote it: version 1, no checksum.
    fn as_format_1(bytes: &[u8]) -> Vec<u8> {
        let mut old = bytes[..bytes.len() - CHECKSUM_BYTES].to_vec();
        old[0] = 1;
        old
    }

    /// Every change of one byte to any other value, and every truncation, is refused.
    fn assert_all_damage_is_refused<T: DeserializeOwned>(kind: Kind, bytes: &[u8]) {
        assert!(decode::<T>(kind, bytes).is_ok(), "the intact blob must decode");
        for position in 0..bytes.len() {
            for value in 0..=u8::MAX {
                if value == bytes[position] {
                    continue;
                }
                let mut damaged = bytes.to_vec();
                damaged[position] = value;
                assert!(
                    decode::<T>(kind, &damaged).is_err(),
                    "byte {position} changed to {value:#04x} was accepted"
                );
            }
        }
        for len in 0..bytes.len() {
            assert!(decode::<T>(kind, &bytes[..len]).is_err(), "a cut at {len} bytes was accepted");
        }
    }

    #[test]
    fn blobs_are_version_kind_payload_then_crc32c_of_the_rest() -> Result<()> {
        assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283, "the CRC-32C check value");
        let bytes = encode(Kind::Message, &("a", 7u64))?;
        assert_eq!(&bytes[..2], &[2, Kind::Message as u8]);
        let (body, checksum) = bytes.split_at(bytes.len() - 4);
        assert_eq!(checksum, reference_crc32c(body).to_le_bytes());
        assert_eq!(decode::<(String, u64)>(Kind::Message, &bytes)?, ("a".into(), 7));
        // Structured values travel inside checksummed records and deltas: no checksum of
        // their own.
        let nested = encode(Kind::Structured, &("a", 7u64))?;
        assert_eq!(&nested[..2], &[1, Kind::Structured as u8]);
        assert_eq!(nested.len(), bytes.len() - 4);
        Ok(())
    }

    #[test]
    fn a_checksum_mismatch_says_the_data_is_damaged() -> Result<()> {
        let mut bytes = encode(Kind::Record, &sample_record())?;
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x01;
        match decode::<RecordState>(Kind::Record, &bytes) {
            Err(Error::Decode { what: "a record", detail }) => {
                assert!(detail.contains("damaged") && detail.contains("checksum"), "{detail}");
            }
            other => panic!("expected a checksum error, got {other:?}"),
        }
        Ok(())
    }

    #[test]
    fn every_single_byte_change_and_truncation_of_a_delta_is_refused() -> Result<()> {
        let delta = sample_delta();
        assert_eq!(delta.records.len(), 3);
        assert_all_damage_is_refused::<Delta>(Kind::Delta, &delta.encode()?);
        Ok(())
    }

    #[test]
    fn every_single_byte_change_and_truncation_of_a_record_is_refused() -> Result<()> {
        assert_all_damage_is_refused::<RecordState>(
            Kind::Record,
            &encode(Kind::Record, &sample_record())?,
        );
        Ok(())
    }

    #[test]
    fn format_1_records_and_structured_values_stay_readable() -> Result<()> {
        let record = sample_record();
        let old = as_format_1(&encode(Kind::Record, &record)?);
        assert_eq!(decode::<RecordState>(Kind::Record, &old)?, record);
        // Structured values are still written in format 1 (they sit inside checksummed blobs).
        let old = encode(Kind::Structured, &("a", 7u64))?;
        assert_eq!(old[0], 1);
        assert_eq!(decode::<(String, u64)>(Kind::Structured, &old)?, ("a".into(), 7));
        // Format 1 never had a checksum: the trailing four bytes of a format-2 blob relabelled
        // as format 1 are trailing garbage, not ignored.
        let mut relabelled = encode(Kind::Record, &record)?;
        relabelled[0] = 1;
        assert!(decode::<RecordState>(Kind::Record, &relabelled).is_err());
        Ok(())
    }

    #[test]
    fn format_1_wire_kinds_are_refused_with_an_update_message() -> Result<()> {
        let delta = as_format_1(&sample_delta().encode()?);
        let vv = as_format_1(&encode(Kind::VersionVector, &sample_delta().context)?);
        let message = as_format_1(&encode(Kind::Message, &("hello", 1u8))?);
        let refusals = [
            decode::<Delta>(Kind::Delta, &delta).map(drop),
            decode::<VersionVector>(Kind::VersionVector, &vv).map(drop),
            decode::<(String, u8)>(Kind::Message, &message).map(drop),
        ];
        for refusal in refusals {
            match refusal {
                Err(Error::Decode { detail, .. }) => {
                    assert!(detail.contains("format version 1"), "{detail}");
                    assert!(detail.contains("must update"), "{detail}");
                }
                other => panic!("a format-1 wire blob must be refused, got {other:?}"),
            }
        }
        Ok(())
    }

    #[test]
    fn refuses_newer_versions_other_kinds_truncation_and_trailing_bytes() -> Result<()> {
        let bytes = encode(Kind::Message, &("a", 7u64))?;
        let mut newer = bytes.clone();
        newer[0] = FORMAT_VERSION + 1;
        assert!(matches!(
            decode::<(String, u64)>(Kind::Message, &newer),
            Err(Error::UnsupportedFormat { found: 3, supported: 2, .. })
        ));
        match decode::<(String, u64)>(Kind::Delta, &bytes) {
            Err(Error::Decode { detail, .. }) => assert!(detail.contains("kind 5"), "{detail}"),
            other => panic!("another kind must be refused, got {other:?}"),
        }
        assert!(matches!(
            decode::<(String, u64)>(Kind::Structured, &bytes),
            Err(Error::Decode { .. })
        ));
        assert!(decode::<(String, u64)>(Kind::Message, &bytes[..bytes.len() - 1]).is_err());
        assert!(decode::<(String, u64)>(Kind::Message, &[]).is_err());
        // Trailing bytes inside a correctly checksummed blob.
        let mut longer = bytes[..bytes.len() - CHECKSUM_BYTES].to_vec();
        longer.push(0);
        longer.extend_from_slice(&crc32c::crc32c(&longer).to_le_bytes());
        match decode::<(String, u64)>(Kind::Message, &longer) {
            Err(Error::Decode { detail, .. }) => assert!(detail.contains("trailing"), "{detail}"),
            other => panic!("trailing bytes must be refused, got {other:?}"),
        }
        Ok(())
    }

    /// Two stores' dictionaries may share a name (a CRC-32C): a record is read with the one it
    /// was written against, whichever was registered first.
    #[test]
    fn a_record_is_read_with_its_own_dictionary_when_another_shares_its_name() -> Result<()> {
        use crate::compression::{self, RecordDictionary};
        use std::sync::Arc;
        let record = sample_record();
        let own = Arc::new(RecordDictionary::new(record_payload_for_dictionary(&record)?));
        // Same length, other bytes: LZ4 against it yields a payload of the right length.
        let twin_bytes: Vec<u8> = own.bytes().iter().map(|b| b.wrapping_add(1)).collect();
        compression::register(&Arc::new(RecordDictionary::named(own.id(), twin_bytes)));
        compression::register(&own);
        let bytes = encode_record_against(&record, Some(&own))?;
        assert_eq!(decode_record(&bytes)?, record);
        Ok(())
    }

    #[test]
    fn a_huge_declared_length_is_an_error_not_an_allocation() {
        // version, kind, then a string whose varint length claims ~2^63 bytes, checksummed so
        // that the length itself is what gets refused.
        let mut bytes = vec![FORMAT_VERSION, Kind::Message as u8, 0xFD];
        bytes.extend_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]);
        bytes.extend_from_slice(&crc32c::crc32c(&bytes).to_le_bytes());
        match decode::<String>(Kind::Message, &bytes) {
            Err(Error::Decode { detail, .. }) => assert!(!detail.contains("checksum"), "{detail}"),
            other => panic!("a huge length must be refused, got {other:?}"),
        }
    }
}
