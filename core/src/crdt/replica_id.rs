//! Replica ids: the random 128-bit name of one store on one device.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The identity of one replica (one store on one device), created at first open and kept on disk.
///
/// Random rather than assigned so devices never need to coordinate; 128 bits make a collision
/// practically impossible.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ReplicaId([u8; 16]);

impl ReplicaId {
    /// A fresh random id from the operating system's random source.
    pub fn random() -> Result<Self> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|e| Error::Randomness(e.to_string()))?;
        Ok(Self(bytes))
    }

    /// The id with these 16 bytes.
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// The 16 bytes of this id.
    pub const fn to_bytes(self) -> [u8; 16] {
        self.0
    }
}

impl fmt::Display for ReplicaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for ReplicaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Eight hex digits are enough to tell replicas apart in test output.
        let full = self.to_string();
        write!(f, "Replica({})", &full[..8])
    }
}

impl FromStr for ReplicaId {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        let invalid =
            || Error::InvalidInput(format!("'{text}' is not a replica id (32 hex digits)"));
        if text.len() != 32 || !text.is_ascii() {
            return Err(invalid());
        }
        let mut bytes = [0u8; 16];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).map_err(|_| invalid())?;
        }
        Ok(Self(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_parse_round_trip() {
        let id = ReplicaId::from_bytes([0xab; 16]);
        assert_eq!(id.to_string().parse::<ReplicaId>().ok(), Some(id));
    }

    #[test]
    fn parse_rejects_wrong_text() {
        assert!("xyz".parse::<ReplicaId>().is_err());
        assert!("zz".repeat(16).parse::<ReplicaId>().is_err());
    }

    #[test]
    fn random_ids_differ() -> Result<()> {
        assert_ne!(ReplicaId::random()?, ReplicaId::random()?);
        Ok(())
    }
}
