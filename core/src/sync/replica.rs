//! What a sync [`Session`](super::Session) needs from the replica it syncs: the version
//! vectors and deltas of its spaces, a way to merge what arrives, and a place to keep what it
//! remembers between sessions (the vectors last exchanged with each peer, and deltas arriving
//! in chunks). The core's [`Store`](crate::Store) implements it over its SQLite file; a server
//! may implement it over another database (the sync server does, over PostgreSQL) and run the
//! very same protocol code.
//!
//! Every method is one atomic step: a crash (or a failed call) between two calls must leave a
//! state that a later session can resume from, never half of one step. In particular
//! [`SyncStore::apply_delta`] and [`SyncStore::apply_staged`] record a delta's version vector
//! only together with (or after) every record of it, and [`SyncStore::stage_chunk`] records a
//! chunk as received only together with its records.

use crate::crdt::{Delta, Hlc, RecordDelta, RecordKey, ReplicaId, SpaceId, VersionVector};
use crate::error::Result;
use crate::replica::Changes;

/// Which of the two vectors remembered per peer and space.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Direction {
    /// The vector this replica last sent the peer.
    Sent,
    /// The vector the peer last sent this replica.
    Received,
}

/// The header of a delta being received in chunks.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Inbound {
    /// The vector the delta was asked with.
    pub since: VersionVector,
    /// The sender's vector.
    pub context: VersionVector,
    /// The sender's clock.
    pub hlc: Hlc,
    /// The next chunk expected.
    pub next_seq: u32,
    /// The greatest record key staged so far.
    pub last_key: Option<RecordKey>,
    /// Whether the last chunk has been staged.
    pub complete: bool,
}

/// A [`Delta`] as a sender sends it: each record as one record of a sync chunk (its key, then
/// its parts, see `docs/encoding.md`), in key order.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct EncodedDelta {
    /// The sender's version vector.
    pub context: VersionVector,
    /// The sender's clock.
    pub hlc: Hlc,
    /// The records, each encoded, in key order.
    pub records: Vec<(RecordKey, Vec<u8>)>,
}

/// The replica a sync session runs against (see the module documentation).
pub trait SyncStore {
    /// The id this replica writes (and introduces itself) with.
    fn replica_id(&self) -> ReplicaId;

    /// Whether this replica holds `space`.
    fn holds_space(&self, space: &SpaceId) -> Result<bool>;

    /// Runs `work`, whose reads may share one consistent read of the replica: a store that
    /// begins a transaction for each read may begin one for all of them (the SQLite store
    /// does, decision 0052). Whatever `work` reads after writing includes what it wrote. A
    /// session handles each frame this way. By default `work` just runs.
    fn reading(&self, work: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        work()
    }

    /// Every write of `space` this replica has seen.
    fn version_vector(&self, space: &SpaceId) -> Result<VersionVector>;

    /// Everything a replica that has seen `since` of `space` lacks from this one, read from
    /// one consistent state (the records and the context vector belong together).
    fn delta_since(&self, space: &SpaceId, since: &VersionVector) -> Result<Delta>;

    /// [`SyncStore::delta_since`] with each record already in its sync-chunk encoding, which
    /// is what a sender needs. A store may write them without decoding its records (the SQLite
    /// store does, decision 0041); by default they are encoded from `delta_since`.
    fn encoded_delta_since(&self, space: &SpaceId, since: &VersionVector) -> Result<EncodedDelta> {
        let delta = self.delta_since(space, since)?;
        let records = delta
            .records
            .iter()
            .map(|(key, record)| {
                let mut bytes = Vec::new();
                crate::crdt::payload_writer::write_delta(key, record, &mut bytes);
                (key.clone(), bytes)
            })
            .collect();
        Ok(EncodedDelta { context: delta.context, hlc: delta.hlc, records })
    }

    /// Merges a whole delta that arrived in one frame (nothing of it was staged). Refused
    /// whole if it cannot be applied.
    fn apply_delta(&self, delta: Delta) -> Result<Changes>;

    /// The vector last exchanged with `peer` for `space` in `direction`.
    fn peer_vector(
        &self,
        space: &SpaceId,
        peer: ReplicaId,
        direction: Direction,
    ) -> Result<Option<VersionVector>>;

    /// Remembers the vector exchanged with `peer` for `space` in `direction`.
    fn set_peer_vector(
        &self,
        space: &SpaceId,
        peer: ReplicaId,
        direction: Direction,
        vector: &VersionVector,
    ) -> Result<()>;

    /// The delta being received from `peer` for `space`, if one is staged.
    fn inbound(&self, space: &SpaceId, peer: ReplicaId) -> Result<Option<Inbound>>;

    /// Starts receiving a chunked delta: a fresh one drops whatever was staged from `peer`
    /// for `space`; a `resumed` one keeps it and moves the header to `context` and `hlc`.
    fn begin_inbound(
        &self,
        space: &SpaceId,
        peer: ReplicaId,
        since: &VersionVector,
        context: &VersionVector,
        hlc: Hlc,
        resumed: bool,
    ) -> Result<()>;

    /// Stages chunk `seq` durably (records replace staged copies of the same key) and records
    /// it as received; after the `last` one the delta is complete.
    fn stage_chunk(
        &self,
        space: &SpaceId,
        peer: ReplicaId,
        seq: u32,
        records: &[(RecordKey, RecordDelta)],
        last: bool,
    ) -> Result<()>;

    /// Forgets what was staged from `peer` for `space`.
    fn drop_inbound(&self, space: &SpaceId, peer: ReplicaId) -> Result<()>;

    /// Applies the complete delta staged from `peer` for `space` and forgets it. A delta that
    /// cannot be applied is dropped and its error returned; nothing of it is applied.
    fn apply_staged(&self, space: &SpaceId, peer: ReplicaId) -> Result<Changes>;

    /// [`SyncStore::apply_staged`] for a caller that still holds what was staged: `records`
    /// are exactly the records staged for this delta, every chunk from the first, in key
    /// order. A store may apply them instead of reading them back; by default they are read
    /// back.
    fn apply_received(
        &self,
        space: &SpaceId,
        peer: ReplicaId,
        records: Vec<(RecordKey, RecordDelta)>,
    ) -> Result<Changes> {
        let _ = records;
        self.apply_staged(space, peer)
    }

    /// The highest counter of this replica's own writes in `space` that ever left it in a
    /// delta ([`SyncStore::mark_released`]): a peer can hold more of them only if a copy of
    /// this replica wrote under the same id. By default everything the replica has seen of its
    /// own writes counts as sent, which leaves only the weaker "rewound" check (a peer holds
    /// more than the replica has); right for a replica that never writes, such as a server.
    fn released(&self, space: &SpaceId) -> Result<u64> {
        Ok(self.version_vector(space)?.get(&self.replica_id()))
    }

    /// Records, before the frame leaves, that this replica's writes in `space` up to
    /// `counter` are being sent. Nothing by default (see [`SyncStore::released`]).
    fn mark_released(&self, space: &SpaceId, counter: u64) -> Result<()> {
        let _ = (space, counter);
        Ok(())
    }

    /// Called when a peer holds writes of this replica's id that it never sent: moves the
    /// replica to a fresh id, re-stamping its unsent writes (decision 0025), and returns the
    /// new id. A replica that cannot refuses with [`Error::ReplicaRewound`](crate::Error).
    fn renew_replica_id(&self) -> Result<ReplicaId> {
        Err(crate::Error::ReplicaRewound)
    }

    /// Brackets a delta that arrives in several chunks (`true` when the first is staged,
    /// `false` once none is arriving, however the session ends): a hint a storage may use to
    /// keep housekeeping out of the way meanwhile. Nothing by default.
    fn receiving_chunks(&self, receiving: bool) -> Result<()> {
        let _ = receiving;
        Ok(())
    }
}
