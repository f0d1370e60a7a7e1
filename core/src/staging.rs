//! Deltas that arrive in chunks: staged as they come, applied once complete in several bounded
//! write transactions, so the app's own writes never wait long behind a large first sync.
//!
//! A delta's version vector is recorded only by the last of those transactions, so until then
//! the space claims nothing it has not fully received. Records that share a write the store has
//! not seen yet go in the same transaction, so the app never sees half of a remote transaction
//! (one remote transaction larger than a batch is applied in one transaction of its own). A
//! staged delta survives a crash: opening the store finishes applying it, and a sync cut short
//! before the last chunk resumes from the records already staged (`docs/protocol.md`).

use std::collections::HashMap;

use crate::Store;
use crate::crdt::{Delta, Dot, Hlc, RecordDelta, RecordKey, ReplicaId, SpaceId, VersionVector};
use crate::error::{Error, Result};
use crate::replica::{Changes, ReplicaState};
use crate::storage::sqlite::sync_state::{self, Direction, Inbound};
use crate::storage::sqlite::{self, SqliteRecords};
use crate::store::Origin;
use crate::sync::{EncodedDelta, SyncStore};

/// How many records one apply transaction joins at most (about 10 ms on a phone-class CPU for
/// calendar events; see `docs/benchmarks.md`, maximum local-write wait).
pub const BATCH_RECORDS: usize = 100;

impl Store {
    /// The highest counter of this store's own writes in `space` that ever left it.
    pub(crate) fn released(&self, space: &SpaceId) -> Result<u64> {
        self.read(|conn| match sqlite::space_sid(conn, space)? {
            Some(sid) => sync_state::released(conn, sid, sqlite::replica_id(conn)?),
            None => Ok(0),
        })
    }

    /// Records that this store's writes in `space` up to `counter` are leaving it.
    pub(crate) fn mark_released(&self, space: &SpaceId, counter: u64) -> Result<()> {
        self.write_derived(|conn| match sqlite::space_sid(conn, space)? {
            Some(sid) => sync_state::mark_released(conn, sid, sqlite::replica_id(conn)?, counter),
            None => Ok(()),
        })
    }

    /// The delta being received from `peer` for `space`, if one is staged.
    pub(crate) fn inbound(&self, space: &SpaceId, peer: ReplicaId) -> Result<Option<Inbound>> {
        self.read(|conn| match sqlite::space_sid(conn, space)? {
            Some(sid) => sync_state::inbound(conn, peer, sid),
            None => Ok(None),
        })
    }

    /// Starts receiving a chunked delta (or resumes one, keeping what was staged).
    pub(crate) fn begin_inbound(
        &self,
        space: &SpaceId,
        peer: ReplicaId,
        since: &VersionVector,
        context: &VersionVector,
        hlc: Hlc,
        resumed: bool,
    ) -> Result<()> {
        self.write_derived(|conn| {
            let sid = sqlite::held_space(conn, space)?;
            sync_state::begin_inbound(conn, peer, sid, since, context, hlc, resumed)
        })
    }

    /// Stages one chunk durably.
    pub(crate) fn stage_chunk(
        &self,
        space: &SpaceId,
        peer: ReplicaId,
        seq: u32,
        records: &[(RecordKey, RecordDelta)],
        last: bool,
    ) -> Result<()> {
        // In short transactions, like applying: the app's writes never wait for a whole chunk.
        for part in records.chunks(BATCH_RECORDS) {
            self.write_derived(|conn| {
                sync_state::stage_records(conn, peer, sqlite::held_space(conn, space)?, part)
            })?;
        }
        let greatest = records.iter().map(|(key, _)| key).max();
        self.write_derived(|conn| {
            sync_state::finish_chunk(
                conn,
                peer,
                sqlite::held_space(conn, space)?,
                seq,
                greatest,
                last,
            )
        })?;
        self.request_checkpoint();
        Ok(())
    }

    /// Drops what was staged from `peer` for `space`.
    pub(crate) fn drop_inbound(&self, space: &SpaceId, peer: ReplicaId) -> Result<()> {
        self.write_derived(|conn| match sqlite::space_sid(conn, space)? {
            Some(sid) => sync_state::drop_inbound(conn, peer, sid),
            None => Ok(()),
        })
    }

    /// The version vector last exchanged with `peer` for `space` in `direction`.
    pub(crate) fn peer_vector(
        &self,
        space: &SpaceId,
        peer: ReplicaId,
        direction: Direction,
    ) -> Result<Option<VersionVector>> {
        self.read(|conn| match sqlite::space_sid(conn, space)? {
            Some(sid) => sync_state::peer_vector(conn, peer, sid, direction),
            None => Ok(None),
        })
    }

    /// Remembers the version vector exchanged with `peer` for `space` in `direction`.
    pub(crate) fn set_peer_vector(
        &self,
        space: &SpaceId,
        peer: ReplicaId,
        direction: Direction,
        vector: &VersionVector,
    ) -> Result<()> {
        self.write_derived(|conn| match sqlite::space_sid(conn, space)? {
            Some(sid) => sync_state::set_peer_vector(conn, peer, sid, direction, vector),
            None => Ok(()),
        })
    }

    /// Applies the complete delta staged from `peer` for `space`, in transactions of at most
    /// [`BATCH_RECORDS`] records. A delta that cannot be applied is dropped and its error
    /// returned; nothing of it is applied.
    pub(crate) fn apply_staged(&self, space: &SpaceId, peer: ReplicaId) -> Result<Changes> {
        self.apply_staged_from(space, peer, None)
    }

    /// [`Store::apply_staged`], with the staged records given (`received`, see
    /// [`SyncStore::apply_received`]) or read back. Given, they are not decoded a second time:
    /// a joining device's staged delta was a tenth of its join.
    fn apply_staged_from(
        &self,
        space: &SpaceId,
        peer: ReplicaId,
        received: Option<Vec<(RecordKey, RecordDelta)>>,
    ) -> Result<Changes> {
        let (inbound, records) = self.read(|conn| {
            let sid = sqlite::held_space(conn, space)?;
            let inbound = sync_state::inbound(conn, peer, sid)?;
            let records = match received {
                Some(records) => records,
                None => sync_state::staged(conn, peer, sid)?,
            };
            Ok((inbound, records))
        })?;
        let Some(inbound) = inbound.filter(|i| i.complete) else {
            return Err(Error::InvalidInput(format!(
                "no complete delta from {peer} is staged for space {space}"
            )));
        };
        let delta = Delta {
            space: space.clone(),
            since: inbound.since,
            context: inbound.context,
            hlc: inbound.hlc,
            records,
        };
        self.apply_in_batches(delta, Some(peer))
    }

    /// Applies a delta in transactions of at most [`BATCH_RECORDS`] records, records that share
    /// a write this store has not seen kept together, the version vector recorded by the last.
    /// The whole delta is checked first and refused whole. `staged_from`: the peer whose staged
    /// copy of this delta is dropped with the last transaction (or at once if refused).
    pub(crate) fn apply_in_batches(
        &self,
        delta: Delta,
        staged_from: Option<ReplicaId>,
    ) -> Result<Changes> {
        let space = &delta.space;
        let seen = match self.check_staged(&delta) {
            Ok(seen) => seen,
            Err(error) => {
                if let Some(peer) = staged_from {
                    self.drop_inbound(space, peer)?;
                }
                return Err(error);
            }
        };
        let batches = batches(&delta.records, &seen, BATCH_RECORDS);
        // Each record is joined once and not needed after: moved, not copied, into the store.
        let Delta { space, context, hlc, records, .. } = delta;
        let space = &space;
        let mut records: Vec<Option<(RecordKey, RecordDelta)>> =
            records.into_iter().map(Some).collect();
        // Keep checkpoints out of the app's commits while the batches run (restored however
        // this function ends).
        let _quiet = (batches.len() > 1).then(|| QuietCheckpoints::start(self)).transpose()?;
        let mut all = Changes::default();
        let count = batches.len();
        for (n, batch) in batches.into_iter().enumerate() {
            let last = n + 1 == count;
            let now = self.now_millis();
            let changes = self.write_space(space, Origin::Remote, |replica, store| {
                let part = batch.iter().filter_map(|&i| records[i].take());
                let mut changes = replica.join_owned_records(store, part, &context)?;
                if last {
                    changes.clock_skew = replica.finish_apply(&context, hlc, now);
                    if let Some(peer) = staged_from {
                        let sid = sqlite::held_space(store.connection(), space)?;
                        sync_state::drop_inbound(store.connection(), peer, sid)?;
                    }
                }
                Ok(changes)
            })?;
            // A batch is many pages of log: have it copied into the file now, off the writer.
            self.request_checkpoint();
            self.deliver();
            all.records.extend(changes.records);
            all.clock_skew = all.clock_skew.or(changes.clock_skew);
        }
        all.records.sort();
        Ok(all)
    }

    /// The checks of a whole staged delta, against the store's current bookkeeping, before
    /// any of it is applied. Read-only, so the app's writes do not wait for it. Returns the
    /// version vector it checked against.
    fn check_staged(&self, delta: &Delta) -> Result<VersionVector> {
        let space = &delta.space;
        let replica = ReplicaState {
            id: self.replica_id(),
            hlc: Hlc::default(),
            seen: self.version_vector(space.as_str())?,
        };
        replica.check_applicable_given_sent(delta, self.released(space)?)?;
        let seen = replica.seen;
        self.read(|conn| {
            let sid = sqlite::held_space(conn, space)?;
            let mut records = SqliteRecords::new(conn, space, sid, &[]);
            for (key, record) in &delta.records {
                if record.lifecycle.is_none() && !records.exists(key)? {
                    return Err(Error::Decode {
                        what: "a delta",
                        detail: format!(
                            "record {key} is new to this replica but the delta does not say \
                             whether it is live or deleted"
                        ),
                    });
                }
            }
            Ok(())
        })?;
        Ok(seen)
    }

    /// Finishes applying every delta that was completely staged when the store was last closed
    /// (a crash between the transactions of `apply_staged`). A delta that cannot be applied is
    /// dropped: a later sync asks for it again.
    pub(crate) fn apply_complete_staged(&self) -> Result<()> {
        let pending = self.read(sync_state::complete_inbound)?;
        for (peer, space) in pending {
            // Refused deltas are dropped by apply_staged; a later sync brings the data again.
            let _ = self.apply_staged(&space, peer);
        }
        Ok(())
    }
}

impl SyncStore for Store {
    fn reading(&self, work: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        Store::reading(self, work)
    }

    fn replica_id(&self) -> ReplicaId {
        Store::replica_id(self)
    }

    fn holds_space(&self, space: &SpaceId) -> Result<bool> {
        Store::holds_space(self, space.as_str())
    }

    fn version_vector(&self, space: &SpaceId) -> Result<VersionVector> {
        Store::version_vector(self, space.as_str())
    }

    fn delta_since(&self, space: &SpaceId, since: &VersionVector) -> Result<Delta> {
        Store::delta_since(self, space.as_str(), since)
    }

    fn encoded_delta_since(&self, space: &SpaceId, since: &VersionVector) -> Result<EncodedDelta> {
        self.read(|conn| {
            let sid = sqlite::held_space(conn, space)?;
            let replica = sqlite::load_replica_state(conn, sid)?;
            let mut records = SqliteRecords::new(conn, space, sid, &[]);
            let records = records.encoded_deltas(since, &replica.seen)?;
            Ok(EncodedDelta { context: replica.seen, hlc: replica.hlc, records })
        })
    }

    fn apply_delta(&self, delta: Delta) -> Result<Changes> {
        // Short transactions either way: the app's own writes never wait behind a large one.
        if delta.records.len() <= BATCH_RECORDS {
            Store::apply(self, &delta)
        } else {
            self.apply_in_batches(delta, None)
        }
    }

    fn peer_vector(
        &self,
        space: &SpaceId,
        peer: ReplicaId,
        direction: Direction,
    ) -> Result<Option<VersionVector>> {
        Store::peer_vector(self, space, peer, direction)
    }

    fn set_peer_vector(
        &self,
        space: &SpaceId,
        peer: ReplicaId,
        direction: Direction,
        vector: &VersionVector,
    ) -> Result<()> {
        Store::set_peer_vector(self, space, peer, direction, vector)
    }

    fn inbound(&self, space: &SpaceId, peer: ReplicaId) -> Result<Option<Inbound>> {
        Store::inbound(self, space, peer)
    }

    fn begin_inbound(
        &self,
        space: &SpaceId,
        peer: ReplicaId,
        since: &VersionVector,
        context: &VersionVector,
        hlc: Hlc,
        resumed: bool,
    ) -> Result<()> {
        Store::begin_inbound(self, space, peer, since, context, hlc, resumed)
    }

    fn stage_chunk(
        &self,
        space: &SpaceId,
        peer: ReplicaId,
        seq: u32,
        records: &[(RecordKey, RecordDelta)],
        last: bool,
    ) -> Result<()> {
        Store::stage_chunk(self, space, peer, seq, records, last)
    }

    fn drop_inbound(&self, space: &SpaceId, peer: ReplicaId) -> Result<()> {
        Store::drop_inbound(self, space, peer)
    }

    fn apply_staged(&self, space: &SpaceId, peer: ReplicaId) -> Result<Changes> {
        Store::apply_staged(self, space, peer)
    }

    fn apply_received(
        &self,
        space: &SpaceId,
        peer: ReplicaId,
        records: Vec<(RecordKey, RecordDelta)>,
    ) -> Result<Changes> {
        self.apply_staged_from(space, peer, Some(records))
    }

    fn released(&self, space: &SpaceId) -> Result<u64> {
        Store::released(self, space)
    }

    fn mark_released(&self, space: &SpaceId, counter: u64) -> Result<()> {
        Store::mark_released(self, space, counter)
    }

    fn renew_replica_id(&self) -> Result<ReplicaId> {
        Store::renew_replica_id(self)
    }

    fn receiving_chunks(&self, receiving: bool) -> Result<()> {
        // Keeps SQLite's checkpoints out of the app's commits while the chunks arrive.
        self.checkpoint_inside_commits(!receiving)?;
        if !receiving {
            self.request_checkpoint();
        }
        Ok(())
    }
}

/// While alive, SQLite's checkpoints inside commits are off (see
/// `Store::checkpoint_inside_commits`); dropping it turns them back on and asks the background
/// thread for a checkpoint.
pub(crate) struct QuietCheckpoints<'s> {
    store: &'s Store,
}

impl<'s> QuietCheckpoints<'s> {
    pub(crate) fn start(store: &'s Store) -> Result<Self> {
        store.checkpoint_inside_commits(false)?;
        Ok(Self { store })
    }
}

impl Drop for QuietCheckpoints<'_> {
    fn drop(&mut self) {
        // If this fails the store keeps working; its log is reset by the next checkpoint that
        // does run (closing the store, for one).
        let _ = self.store.checkpoint_inside_commits(true);
        self.store.request_checkpoint();
    }
}

/// Splits records into batches of about `limit`, never separating two records that share a
/// write `seen` does not contain (union-find over those writes' dots). Indices, in order.
pub(crate) fn batches(
    records: &[(RecordKey, RecordDelta)],
    seen: &VersionVector,
    limit: usize,
) -> Vec<Vec<usize>> {
    let mut parent: Vec<usize> = (0..records.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let mut owner: HashMap<Dot, usize> = HashMap::new();
    for (i, (_, record)) in records.iter().enumerate() {
        for dot in record.dots() {
            if seen.contains(&dot) {
                continue;
            }
            match owner.get(&dot) {
                Some(&other) => {
                    let (a, b) = (root(&mut parent, i), root(&mut parent, other));
                    if a != b {
                        parent[a.max(b)] = a.min(b);
                    }
                }
                None => {
                    owner.insert(dot, i);
                }
            }
        }
    }
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut group_of: HashMap<usize, usize> = HashMap::new();
    for i in 0..records.len() {
        let r = root(&mut parent, i);
        let g = *group_of.entry(r).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[g].push(i);
    }
    let mut out: Vec<Vec<usize>> = Vec::new();
    for group in groups {
        match out.last_mut() {
            Some(batch) if batch.len() + group.len() <= limit => batch.extend(group),
            _ => out.push(group),
        }
    }
    if out.is_empty() {
        out.push(Vec::new());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crdt::{RecordState, Write};

    fn record(dots: &[(u8, u64)]) -> RecordDelta {
        let mut state = RecordState::default();
        for &(replica, counter) in dots {
            let dot = Dot { replica: ReplicaId::from_bytes([replica; 16]), counter };
            let seen: VersionVector = [(dot.replica, counter)].into_iter().collect();
            let field = format!("f{replica}-{counter}");
            let write = Write::Set { field, value: 1i64.into() };
            assert!(state.apply_local(&write, dot, Hlc::default(), &seen).is_ok());
        }
        state.delta(&VersionVector::new()).unwrap_or_default()
    }

    #[test]
    fn records_of_one_unseen_write_stay_in_one_batch() {
        let records: Vec<(RecordKey, RecordDelta)> = [
            ("a", vec![(1, 1)]),
            ("b", vec![(1, 2)]),
            ("c", vec![(1, 1)]), // same write as "a"
            ("d", vec![(1, 3)]),
            ("e", vec![(1, 4)]),
        ]
        .into_iter()
        .map(|(id, dots)| (RecordKey::new("n", id), record(&dots)))
        .collect();
        let out = batches(&records, &VersionVector::new(), 2);
        assert!(out.iter().any(|b| b.contains(&0) && b.contains(&2)), "{out:?}");
        assert!(out.iter().all(|b| b.len() <= 2), "{out:?}");
        assert_eq!(out.iter().map(Vec::len).sum::<usize>(), 5);
        // A write already seen does not tie records together.
        let seen: VersionVector = [(ReplicaId::from_bytes([1; 16]), 1)].into_iter().collect();
        let out = batches(&records, &seen, 1);
        assert_eq!(out.len(), 5, "{out:?}");
    }
}
