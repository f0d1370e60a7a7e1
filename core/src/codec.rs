//! The one place Almanac turns values into bytes and back (see `docs/encoding.md`).
//!
//! Every blob is `[format version: u8][kind: u8][bincode 2 payload]`. The kind byte stops a
//! record from being read as a delta; the version byte lets a newer format be refused with a
//! clear error instead of being misread. Golden fixtures in `core/tests/fixtures/` pin the bytes.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

/// The encoding format this library writes and the newest it reads.
pub const FORMAT_VERSION: u8 = 1;

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
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Record => "a record",
            Kind::Delta => "a delta",
            Kind::Structured => "a structured value",
            Kind::VersionVector => "a version vector",
        }
    }
}

fn config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<DECODE_LIMIT_BYTES>()
}

/// Encodes `value` as a blob of `kind`.
pub fn encode<T: Serialize>(kind: Kind, value: &T) -> Result<Vec<u8>> {
    let mut bytes = vec![FORMAT_VERSION, kind as u8];
    bincode::serde::encode_into_std_write(value, &mut bytes, config())
        .map_err(|e| Error::InvalidInput(format!("cannot encode {}: {e}", kind.name())))?;
    Ok(bytes)
}

/// Decodes a blob of `kind`, refusing other kinds, newer versions, trailing bytes and damage.
pub fn decode<T: DeserializeOwned>(kind: Kind, bytes: &[u8]) -> Result<T> {
    let what = kind.name();
    let [version, found_kind, payload @ ..] = bytes else {
        return Err(Error::Decode { what, detail: format!("only {} bytes", bytes.len()) });
    };
    if *version > FORMAT_VERSION {
        return Err(Error::UnsupportedFormat { what, found: *version, supported: FORMAT_VERSION });
    }
    if *version == 0 {
        return Err(Error::Decode { what, detail: "format version 0 does not exist".into() });
    }
    if *found_kind != kind as u8 {
        return Err(Error::Decode {
            what,
            detail: format!("the data is of kind {found_kind}, not {}", kind as u8),
        });
    }
    let (value, used) = bincode::serde::decode_from_slice(payload, config())
        .map_err(|e| Error::Decode { what, detail: e.to_string() })?;
    if used != payload.len() {
        return Err(Error::Decode {
            what,
            detail: format!("{} unexpected trailing bytes", payload.len() - used),
        });
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_prefixes_version_and_kind() -> Result<()> {
        let bytes = encode(Kind::Structured, &("a", 7u64))?;
        assert_eq!(&bytes[..2], &[FORMAT_VERSION, Kind::Structured as u8]);
        assert_eq!(decode::<(String, u64)>(Kind::Structured, &bytes)?, ("a".into(), 7));
        Ok(())
    }

    #[test]
    fn refuses_newer_versions_other_kinds_truncation_and_trailing_bytes() -> Result<()> {
        let bytes = encode(Kind::Structured, &("a", 7u64))?;
        let mut newer = bytes.clone();
        newer[0] = FORMAT_VERSION + 1;
        assert!(matches!(
            decode::<(String, u64)>(Kind::Structured, &newer),
            Err(Error::UnsupportedFormat { .. })
        ));
        assert!(matches!(decode::<(String, u64)>(Kind::Delta, &bytes), Err(Error::Decode { .. })));
        assert!(decode::<(String, u64)>(Kind::Structured, &bytes[..bytes.len() - 1]).is_err());
        let mut longer = bytes;
        longer.push(0);
        assert!(decode::<(String, u64)>(Kind::Structured, &longer).is_err());
        assert!(decode::<(String, u64)>(Kind::Structured, &[]).is_err());
        Ok(())
    }

    #[test]
    fn a_huge_declared_length_is_an_error_not_an_allocation() {
        // version, kind, then a string whose varint length claims ~2^63 bytes.
        let bytes = [
            FORMAT_VERSION,
            Kind::Structured as u8,
            0xFF,
            0xFF,
            0xFF,
            0xFF,
            0xFF,
            0xFF,
            0xFF,
            0xFF,
            0x7F,
        ];
        assert!(decode::<String>(Kind::Structured, &bytes).is_err());
    }
}
