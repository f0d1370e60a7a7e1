//! The messages of the sync protocol and their bytes (`docs/protocol.md`).
//!
//! Every frame is one [`Message`] in the sync-frame envelope (`codec::encode_frame`: a format
//! byte, the payload, a CRC-32C), so a damaged frame is refused before anything in it is looked
//! at. Chunks of records are compressed with DEFLATE when that makes them smaller (decision
//! 0015). Protocol 2 (decision 0027) folds the `Want`s into `Hello` and ends a session without
//! `Ack`/`Done` frames where nothing was staged; protocol 1 peers are refused.

use serde::{Deserialize, Serialize};

use crate::codec::{self, Kind};
use crate::crdt::{Hlc, RecordDelta, RecordKey, ReplicaId, SpaceId, VersionVector};
use crate::error::{Error, Result};

/// The oldest protocol version this library speaks.
pub const MIN_VERSION: u16 = 2;
/// The newest protocol version this library speaks.
pub const MAX_VERSION: u16 = 3;

/// One frame of the protocol.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub enum Message {
    /// First frame of each side: the versions it speaks, who it is, how many `Want`s it sends
    /// in all (so the other side knows when it has heard them all), and those it sends at once
    /// (all of them when it knows its peer in advance, else none: they follow as `Want`
    /// frames once the peer's `Hello` arrived). Every later protocol version keeps `Hello` the
    /// first variant, starting with the two versions.
    Hello {
        /// The oldest version spoken.
        min_version: u16,
        /// The newest version spoken.
        max_version: u16,
        /// The sender's replica id.
        replica: ReplicaId,
        /// How many `Want`s the sender sends in this session, those in `with` included.
        wants: u32,
        /// Whether the sender wants every delta it sends acknowledged, also one in a single
        /// chunk (`SessionConfig::confirm_delivery`).
        confirm: bool,
        /// The `Want`s sent with this `Hello`.
        with: Vec<Want>,
    },
    /// A `Want` on its own (after the peer's `Hello`, or repeated in full on `NeedFullVector`).
    Want(Want),
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
    /// Chunk `seq` of `space` is staged durably, or applied when it was the whole delta. Only
    /// chunks of a staged delta ([`Chunk::staged`]) are acknowledged, and a delta in one chunk
    /// when the sender's `Hello` asked for it (`confirm`).
    Ack {
        /// The space.
        space: SpaceId,
        /// The chunk.
        seq: u32,
    },
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

/// "Send me what I lack of this space": the sender's version vector of it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Want {
    /// The space.
    pub space: SpaceId,
    /// What the sender has seen of it.
    pub vector: Vector,
    /// Set when the sender holds part of an earlier, interrupted delta from the receiver.
    pub resume: Option<Resume>,
}

/// A replica named in the entries of a `Want` or a chunk's context. Most entries of a steady
/// session are the two ends' own counters, so those take one byte instead of seventeen.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Serialize, Deserialize)]
pub enum Party {
    /// The replica that sent the frame (named in its `Hello`).
    Sender,
    /// The replica the frame is for. Only a side that has heard the receiver's `Hello` uses
    /// it: `Want`s sent early to an expected peer name every replica in full, since the peer
    /// may turn out to be another.
    Receiver,
    /// Any other replica.
    Other(ReplicaId),
}

/// Version-vector entries as a frame carries them.
pub type Entries = Vec<(Party, u64)>;

/// `entries` for a frame from `sender` to `receiver` (`None`: not known for sure yet).
pub fn to_parties(
    entries: Vec<(ReplicaId, u64)>,
    sender: ReplicaId,
    receiver: Option<ReplicaId>,
) -> Entries {
    entries
        .into_iter()
        .map(|(replica, counter)| {
            let party = if replica == sender {
                Party::Sender
            } else if Some(replica) == receiver {
                Party::Receiver
            } else {
                Party::Other(replica)
            };
            (party, counter)
        })
        .collect()
}

/// The replicas of `entries`, from a frame `sender` sent to `receiver`.
pub fn from_parties(
    entries: &[(Party, u64)],
    sender: ReplicaId,
    receiver: ReplicaId,
) -> Vec<(ReplicaId, u64)> {
    entries
        .iter()
        .map(|(party, counter)| {
            let replica = match party {
                Party::Sender => sender,
                Party::Receiver => receiver,
                Party::Other(replica) => *replica,
            };
            (replica, *counter)
        })
        .collect()
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
        changes: Entries,
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

impl Chunk {
    /// Whether the receiver stages this chunk's delta (and acknowledges each chunk): a delta
    /// in several chunks, or a resumed one. A delta in one chunk is applied at once and not
    /// acknowledged: a session cut off before it arrived simply asks again.
    pub fn staged(&self) -> bool {
        !(self.last && self.start.as_ref().is_some_and(|start| !start.resumed))
    }
}

/// What the first chunk of a delta says about the whole delta.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ChunkStart {
    /// The sender's version vector, as the entries in which it differs from the vector the
    /// receiver sent in its `Want` (0 for a replica the sender has not seen). It must be the
    /// sender's exact vector: merging treats what the sender has seen but lacks as removed.
    pub context: Entries,
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
    /// DEFLATE-compressed columnar form of the list (protocol 3 on, decision 0047): keys,
    /// stamps, shape and one column of values per name, each item written against the one
    /// before it (`crdt/columns.rs`).
    Columns {
        /// Length of the columnar form before compression.
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
    /// `records` as protocol `version` sends them: compressed when that is smaller.
    pub fn pack(records: Vec<(RecordKey, RecordDelta)>, version: u16) -> Result<Records> {
        let raw = codec::encode_payload(&records)?;
        Ok(Self::compressed(&raw, version)?.unwrap_or(Records::Plain(records)))
    }

    /// [`Records::pack`] for `count` records already encoded one by one: `encoded` holds
    /// each record's encoding, one after the other (as the sender wrote them, see
    /// [`crate::sync::EncodedDelta`]), so no record is decoded or encoded again. The bytes are
    /// the same: bincode writes a list as its length followed by its items. The rare chunk
    /// that travels plain (small, or not shrunk by DEFLATE) is read back into records.
    pub fn pack_encoded(count: usize, encoded: &[u8], version: u16) -> Result<Records> {
        let mut raw = codec::encode_payload(&(count as u64))?;
        raw.extend_from_slice(encoded);
        match Self::compressed(&raw, version)? {
            Some(compressed) => Ok(compressed),
            None => {
                let records = crate::crdt::payload_reader::read_deltas(&raw)
                    .map_err(|detail| Error::Decode { what: "a sync chunk", detail })?;
                Ok(Records::Plain(records))
            }
        }
    }

    /// `raw` (the row form) compressed as protocol `version` does, if it is worth it (large
    /// enough, and smaller compressed): in columns from protocol 3 on, as it is before.
    fn compressed(raw: &[u8], version: u16) -> Result<Option<Records>> {
        if raw.len() < COMPRESS_FROM_BYTES {
            return Ok(None);
        }
        let columns = (version >= COLUMNS_FROM_VERSION)
            .then(|| crate::crdt::columns::to_columns(raw))
            .transpose()
            .map_err(|detail| Error::Decode { what: "a sync chunk", detail })?;
        let input = columns.as_deref().unwrap_or(raw);
        let bytes = miniz_oxide::deflate::compress_to_vec(input, 6);
        let raw_len = u32::try_from(input.len())
            .map_err(|_| Error::InvalidInput("a chunk is larger than 4 GiB".into()))?;
        if bytes.len() >= raw.len() {
            return Ok(None);
        }
        Ok(Some(match columns {
            Some(_) => Records::Columns { raw_len, bytes },
            None => Records::Deflated { raw_len, bytes },
        }))
    }

    /// The records, decompressed, refusing more than `limit` uncompressed bytes (so a small
    /// hostile frame cannot expand without bound).
    pub fn unpack(self, limit: usize) -> Result<Vec<(RecordKey, RecordDelta)>> {
        let read = |raw: &[u8]| {
            // Read in one pass, as stored records are (decision 0040).
            crate::crdt::payload_reader::read_deltas(raw)
                .map_err(|detail| Error::Decode { what: "a sync chunk", detail })
        };
        match self {
            Records::Plain(records) => Ok(records),
            Records::Deflated { raw_len, bytes } => read(&inflate(raw_len, &bytes, limit)?),
            Records::Columns { raw_len, bytes } => {
                let columns = inflate(raw_len, &bytes, limit)?;
                let raw = crate::crdt::columns::from_columns(&columns, limit)
                    .map_err(|detail| malformed(format!("a chunk's columns: {detail}")))?;
                read(&raw)
            }
        }
    }
}

/// The protocol version from which chunks travel in columns.
pub const COLUMNS_FROM_VERSION: u16 = 3;

/// `bytes` inflated to the `raw_len` bytes they declare, refusing more than `limit`.
fn inflate(raw_len: u32, bytes: &[u8], limit: usize) -> Result<Vec<u8>> {
    let declared = usize::try_from(raw_len).unwrap_or(usize::MAX);
    if declared > limit {
        return Err(malformed(format!(
            "a chunk declares {declared} bytes, more than the limit of {limit}"
        )));
    }
    let raw = miniz_oxide::inflate::decompress_to_vec_with_limit(bytes, declared)
        .map_err(|e| malformed(format!("a compressed chunk is damaged: {e:?}")))?;
    if raw.len() != declared {
        return Err(malformed("a compressed chunk has the wrong length".into()));
    }
    Ok(raw)
}

fn malformed(detail: String) -> Error {
    Error::Decode { what: "a sync message", detail }
}

impl Message {
    /// The frame's bytes.
    pub fn encode(&self) -> Result<Vec<u8>> {
        codec::encode_frame(self)
    }

    /// Reads a frame, refusing damaged, truncated, newer, older or foreign data.
    pub fn decode(bytes: &[u8]) -> Result<Message> {
        codec::decode_frame(bytes)
    }
}

/// The versions a protocol-1 `Hello` names, when `frame` is one (a checksummed blob of kind
/// "sync message" whose payload is `Hello`), so a peer still on protocol 1 is told there is no
/// common version rather than that its frame is malformed.
pub fn version_1_hello(frame: &[u8]) -> Option<(u16, u16)> {
    // Protocol 1's Hello: variant 0, min_version, max_version, replica, wants.
    let (variant, min, max, _, _): (u32, u16, u16, ReplicaId, u32) =
        codec::decode(Kind::Message, frame).ok()?;
    (variant == 0).then_some((min, max))
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
