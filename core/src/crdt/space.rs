//! Space ids: the name of one unit of sharing, sync and authorisation.
//!
//! A store holds any subset of spaces; each has its own causal context (version vector and
//! per-replica counters), so a device can follow one shared calendar without claiming to have
//! seen anything of the others. The calendar layer maps each calendar to the space of the same
//! id.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The longest space id, in bytes: room for a UUID with a prefix, small enough for every
/// message that names one.
pub const MAX_SPACE_ID_BYTES: usize = 128;

/// The id of a space: 1 to 128 bytes of UTF-8 with no control characters or white space, so it
/// prints on one line and can be typed on a command line.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SpaceId(String);

impl SpaceId {
    /// Checks `id` and makes it a space id.
    pub fn new(id: impl Into<String>) -> Result<Self> {
        let id = id.into();
        if id.is_empty() {
            return Err(Error::InvalidInput("a space id must not be empty".into()));
        }
        if id.len() > MAX_SPACE_ID_BYTES {
            return Err(Error::InvalidInput(format!(
                "the space id is {} bytes long; the limit is {MAX_SPACE_ID_BYTES}",
                id.len()
            )));
        }
        if id.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(Error::InvalidInput(format!(
                "the space id {id:?} contains white space or control characters"
            )));
        }
        Ok(Self(id))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SpaceId {
    type Error = Error;

    fn try_from(id: String) -> Result<Self> {
        Self::new(id)
    }
}

impl TryFrom<&str> for SpaceId {
    type Error = Error;

    fn try_from(id: &str) -> Result<Self> {
        Self::new(id)
    }
}

impl From<SpaceId> for String {
    fn from(id: SpaceId) -> String {
        id.0
    }
}

impl fmt::Display for SpaceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for SpaceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Space({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_ids_and_refuses_empty_long_or_blank_ones() {
        assert!(SpaceId::new("work").is_ok());
        assert!(SpaceId::new("cal-3f2a9c1e-0b7d-4e55-9a0c-6a1f7e2d9b10").is_ok());
        assert!(SpaceId::new("").is_err());
        assert!(SpaceId::new("a b").is_err());
        assert!(SpaceId::new("a\nb").is_err());
        assert!(SpaceId::new("x".repeat(MAX_SPACE_ID_BYTES + 1)).is_err());
    }

    #[test]
    fn decoding_checks_the_id_too() {
        let bytes = crate::codec::encode(crate::codec::Kind::Structured, &"a b").expect("encode");
        assert!(crate::codec::decode::<SpaceId>(crate::codec::Kind::Structured, &bytes).is_err());
    }
}
