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

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::crdt::RecordState;
use crate::crdt::wire::{CompactStamps, Name, RecordWire};
use crate::error::{Error, Result};

/// The encoding format this library writes for every kind but records, and the newest it reads
/// for them.
pub const FORMAT_VERSION: u8 = 2;

/// The format records are written in ([`encode_record`]) and the newest read for them.
pub const RECORD_FORMAT_VERSION: u8 = 4;

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

/// Encodes a record as stores keep it: format 4, field names coded and stamps compact
/// (`docs/encoding.md`).
pub fn encode_record(state: &RecordState) -> Result<Vec<u8>> {
    enveloped(RECORD_FORMAT_VERSION, Kind::Record, &state.to_named_wire().with_compact_stamps())
}

/// Decodes a stored record of any format: 4 ([`encode_record`]), or 1, 2 and 3 written by
/// earlier versions (or 2 by [`encode`]).
pub fn decode_record(bytes: &[u8]) -> Result<RecordState> {
    let what = Kind::Record.name();
    let wire: RecordWire<Name> = match bytes.first() {
        Some(&RECORD_FORMAT_VERSION) => {
            let wire: RecordWire<Name, CompactStamps> =
                decode_payload(what, record_payload(bytes)?)?;
            RecordWire::try_from(wire).map_err(|detail| Error::Decode { what, detail })?
        }
        Some(&NAMED_RECORD_FORMAT) => decode_payload(what, record_payload(bytes)?)?,
        _ => return decode(Kind::Record, bytes),
    };
    RecordState::try_from(wire).map_err(|detail| Error::Decode { what, detail })
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
        NAMED_RECORD_FORMAT | RECORD_FORMAT_VERSION if kind == Kind::Record => {
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
