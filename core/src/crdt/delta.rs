//! Deltas: what one replica sends another so the other converges.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{Hlc, RecordDelta, SpaceId, VersionVector};
use crate::codec;
use crate::error::Result;

/// The address of a record: its collection and its id within it.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub struct RecordKey {
    /// The collection (for example `events`).
    pub collection: String,
    /// The record's id within its collection.
    pub id: String,
}

impl RecordKey {
    /// The key of record `id` in `collection`.
    pub fn new(collection: impl Into<String>, id: impl Into<String>) -> Self {
        Self { collection: collection.into(), id: id.into() }
    }
}

impl fmt::Display for RecordKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.collection, self.id)
    }
}

/// Everything a replica that has seen `since` of one space lacks from the sender, which had
/// seen `context` of it.
///
/// Applying it requires the receiver to have seen at least `since` (otherwise the receiver would
/// claim to know writes it never got); deltas can be applied any number of times, in any order.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Delta {
    /// The space the records belong to; a delta never mixes spaces.
    pub space: SpaceId,
    /// The version vector the delta was computed against.
    pub since: VersionVector,
    /// The sender's version vector: what the receiver has seen after applying.
    pub context: VersionVector,
    /// The sender's clock, so the receiver's later writes sort after everything it received.
    pub hlc: Hlc,
    /// The records, each with the parts the receiver lacks, in key order.
    pub records: Vec<(RecordKey, RecordDelta)>,
}

impl Delta {
    /// Whether the delta carries no record (the receiver was already up to date).
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The delta in Almanac's versioned wire encoding.
    pub fn encode(&self) -> Result<Vec<u8>> {
        codec::encode(codec::Kind::Delta, self)
    }

    /// Reads a delta from the wire encoding, with a clear error for damaged or newer data.
    pub fn decode(bytes: &[u8]) -> Result<Delta> {
        codec::decode(codec::Kind::Delta, bytes)
    }
}
