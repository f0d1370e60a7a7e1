//! The messages of the sync protocol and their bytes (`docs/protocol.md`).
//!
//! Every frame is one [`Message`] in Almanac's checksummed envelope (`codec::Kind::Message`), so
//! a damaged frame is refused before anything in it is looked at. Chunks of records are
//! compressed with DEFLATE when that makes them smaller (decision 0015).

use serde::{Deserialize, Serialize};

use crate::codec::{self, Kind};
use crate::crdt::{Hlc, RecordDelta, RecordKey, ReplicaId, SpaceId, VersionVector};
use crate::error::{Error, Result};

/// The oldest protocol version this library speaks.
pub const MIN_VERSION: u16 = 1;
/// The newest protocol version this library speaks.
pub const MAX_VERSION: u16 = 1;

/// One frame of the protocol.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub enum Message {
    /// First frame of each side: the versions it speaks, who it is, and how many `Want`s
    /// follow (so the other side knows when it has heard them all).
    Hello {
        /// The oldest version spoken.
        min_version: u16,
        /// The newest version spoken.
        max_version: u16,
        /// The sender's replica id.
        replica: ReplicaId,
        /// How many `Want` frames the sender sends in this session.
        wants: u32,
    },
    /// "Send me what I lack of this space": the sender's version vector of it.
    Want {
        /// The space.
        space: SpaceId,
        /// What the sender has seen of it.
        vector: Vector,
        /// Set when the sender holds part of an earlier, interrupted delta from the receiver.
        resume: Option<Resume>,
    },
    /// The receiver of a `Want` could not rebuild its vector from the base it names: send it
    /// again in full.
    NeedFullVector {
        /// The space.
        space: SpaceId,
    },
    /// The receiver of a `Want` does not hold (or does not share) this space.
    NotHeld {
        /// The space.
        space: SpaceId,
    },
    /// Part of the delta answering a `Want`.
    Chunk(Chunk),
    /// Chunk `seq` of `space` is staged durably.
    Ack {
        /// The space.
        space: SpaceId,
        /// The chunk.
        seq: u32,
    },
    /// Everything the sender wanted has arrived and everything it sent was acknowledged.
    Done,
    /// The sender gives up the session.
    Error {
        /// What kind of failure.
        code: ErrorCode,
        /// A human-readable reason (never data of a space).
        message: String,
    },
    /// Connection level (outside sessions; `docs/protocol.md`, "Over WebSocket"): a device
    /// names the spaces it is about to sync, so the server can authorise them (and create the
    /// ones nobody has yet) before the session starts.
    Open {
        /// The spaces the device holds or wants to join.
        spaces: Vec<SpaceId>,
    },
    /// Connection level: the server's answer to `Open`, one entry per space named.
    Opened {
        /// What this device may do with each space.
        spaces: Vec<SpaceAccess>,
    },
    /// Connection level: spaces changed on the server since this device last synced them (a
    /// live push); the device answers by syncing them.
    Changed {
        /// The spaces that changed.
        spaces: Vec<SpaceId>,
    },
}

/// What a device may do with one space (the server's answer to `Open`).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct SpaceAccess {
    /// The space.
    pub space: SpaceId,
    /// Whether it may read and write it.
    pub access: Access,
    /// The causal-stability point of the space: what every replica the server knows has seen
    /// (for `Store::collect_garbage`); `None` when the server cannot tell yet.
    pub stable: Option<VersionVector>,
}

/// A device's rights on a space.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum Access {
    /// Not given to this device's user (or unknown to the server and not creatable): the
    /// server does not say which.
    Denied,
    /// Readable; the server takes no changes of it from this device.
    ReadOnly,
    /// Readable and writable.
    ReadWrite,
}

/// A version vector in a `Want`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum Vector {
    /// The whole vector.
    Full(VersionVector),
    /// The entries that changed since the vector the sender last sent this receiver, which the
    /// receiver identifies by its digest ([`digest`]); a [`difference`], rebuilt with
    /// [`rebuild`].
    Changed {
        /// The digest of the base vector.
        base: u64,
        /// The entries that differ from the base (0 for a replica no longer in the vector).
        changes: Vec<(ReplicaId, u64)>,
    },
}

/// Where an interrupted delta stopped.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Resume {
    /// The sender's version vector when the interrupted delta was computed.
    pub context: VersionVector,
    /// The greatest record key received.
    pub after: RecordKey,
    /// The next chunk number expected.
    pub next_seq: u32,
}

/// A piece of a delta.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct Chunk {
    /// The space.
    pub space: SpaceId,
    /// The chunk number, counting on from an interrupted delta when resuming.
    pub seq: u32,
    /// Present in the first chunk of a delta (or of a resumed delta).
    pub start: Option<ChunkStart>,
    /// The records, in ascending key order across the chunks of a delta.
    pub records: Records,
    /// Whether this is the last chunk.
    pub last: bool,
}

/// What the first chunk of a delta says about the whole delta.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ChunkStart {
    /// The sender's version vector, as the entries in which it differs from the vector the
    /// receiver sent in its `Want` (0 for a replica the sender has not seen). It must be the
    /// sender's exact vector: merging treats what the sender has seen but lacks as removed.
    pub context: Vec<(ReplicaId, u64)>,
    /// The sender's clock.
    pub hlc: Hlc,
    /// Whether this continues an interrupted delta (records staged earlier are kept).
    pub resumed: bool,
}

/// The records of a chunk.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub enum Records {
    /// As they are.
    Plain(Vec<(RecordKey, RecordDelta)>),
    /// DEFLATE-compressed bincode of the list.
    Deflated {
        /// Length of the uncompressed bytes.
        raw_len: u32,
        /// The compressed bytes.
        bytes: Vec<u8>,
    },
}

/// Why a session failed.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum ErrorCode {
    /// The two sides share no protocol version.
    NoCommonVersion,
    /// A frame could not be read.
    Malformed,
    /// A frame came that the protocol does not allow at that point.
    Unexpected,
    /// A delta was refused (damaged, hostile, or not applicable here).
    Refused,
    /// The sender's storage failed.
    Storage,
}

/// Chunks smaller than this are sent plain: compressing them saves next to nothing.
const COMPRESS_FROM_BYTES: usize = 512;

impl Records {
    /// `records`, compressed when that is smaller.
    pub fn pack(records: Vec<(RecordKey, RecordDelta)>) -> Result<Records> {
        let raw = codec::encode_payload(&records)?;
        if raw.len() < COMPRESS_FROM_BYTES {
            return Ok(Records::Plain(records));
        }
        let bytes = miniz_oxide::deflate::compress_to_vec(&raw, 6);
        let raw_len = u32::try_from(raw.len())
            .map_err(|_| Error::InvalidInput("a chunk is larger than 4 GiB".into()))?;
        if bytes.len() < raw.len() {
            Ok(Records::Deflated { raw_len, bytes })
        } else {
            Ok(Records::Plain(records))
        }
    }

    /// The records, decompressed, refusing more than `limit` uncompressed bytes (so a small
    /// hostile frame cannot expand without bound).
    pub fn unpack(self, limit: usize) -> Result<Vec<(RecordKey, RecordDelta)>> {
        match self {
            Records::Plain(records) => Ok(records),
            Records::Deflated { raw_len, bytes } => {
                let declared = usize::try_from(raw_len).unwrap_or(usize::MAX);
                if declared > limit {
                    return Err(malformed(format!(
                        "a chunk declares {declared} bytes, more than the limit of {limit}"
                    )));
                }
                let raw = miniz_oxide::inflate::decompress_to_vec_with_limit(&bytes, declared)
                    .map_err(|e| malformed(format!("a compressed chunk is damaged: {e:?}")))?;
                if raw.len() != declared {
                    return Err(malformed("a compressed chunk has the wrong length".into()));
                }
                codec::decode_payload("a sync chunk", &raw)
            }
        }
    }
}

fn malformed(detail: String) -> Error {
    Error::Decode { what: "a sync message", detail }
}

impl Message {
    /// The frame's bytes.
    pub fn encode(&self) -> Result<Vec<u8>> {
        codec::encode(Kind::Message, self)
    }

    /// Reads a frame, refusing damaged, truncated, newer or foreign data.
    pub fn decode(bytes: &[u8]) -> Result<Message> {
        codec::decode(Kind::Message, bytes)
    }
}

/// A digest of a version vector, so a `Want` can name the base of its changes in 8 bytes.
/// FNV-1a over the vector's encoding: stable across platforms and versions of this library.
pub fn digest(vector: &VersionVector) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (replica, counter) in vector.iter() {
        for byte in replica.to_bytes().into_iter().chain(counter.to_le_bytes()) {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

/// The entries in which `vector` differs from `base`, with `vector`'s value (0 where `vector`
/// has none), so [`rebuild`] turns `base` back into `vector`.
pub fn difference(base: &VersionVector, vector: &VersionVector) -> Vec<(ReplicaId, u64)> {
    let mut out: Vec<(ReplicaId, u64)> =
        vector.iter().filter(|(replica, counter)| base.get(replica) != *counter).collect();
    out.extend(base.iter().filter(|(replica, _)| vector.get(replica) == 0).map(|(r, _)| (r, 0)));
    out.sort();
    out
}

/// `base` with the entries of a [`difference`] set.
pub fn rebuild(base: &VersionVector, difference: &[(ReplicaId, u64)]) -> VersionVector {
    let mut out = base.clone();
    for (replica, counter) in difference {
        out.set(*replica, *counter);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vv(pairs: &[(u8, u64)]) -> VersionVector {
        pairs.iter().map(|(r, c)| (ReplicaId::from_bytes([*r; 16]), *c)).collect()
    }

    #[test]
    fn a_difference_rebuilds_the_exact_vector_up_down_and_gone() {
        let base = vv(&[(1, 5), (2, 3), (3, 9)]);
        for target in [vv(&[(1, 6), (2, 3), (3, 9)]), vv(&[(1, 2), (4, 1)]), vv(&[])] {
            let difference = difference(&base, &target);
            assert_eq!(rebuild(&base, &difference), target);
        }
        assert_eq!(difference(&base, &base), []);
        assert_ne!(digest(&base), digest(&vv(&[(1, 5), (2, 3)])));
    }
}
