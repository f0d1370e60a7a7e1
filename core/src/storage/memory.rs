//! An in-memory replica: the same engine as the SQLite store, with records in a `BTreeMap`.
//!
//! Nothing survives the process; use it for tests, simulations and tools. Property tests run
//! thousands of multi-replica scenarios against it.

use std::collections::BTreeMap;

use crate::crdt::{Delta, Hlc, RecordKey, RecordState, ReplicaId, SpaceId, VersionVector};
use crate::error::{Error, Result};
use crate::replica::{Changes, Operation, RecordStore, ReplicaState};

/// A replica held entirely in memory: any number of spaces, each with its version vector.
#[derive(Clone, Debug)]
pub struct MemoryStore {
    id: ReplicaId,
    hlc: Hlc,
    spaces: BTreeMap<SpaceId, Space>,
}

/// One space of a memory store.
#[derive(Clone, Debug, Default)]
struct Space {
    seen: VersionVector,
    records: BTreeMap<RecordKey, RecordState>,
}

struct Records<'a>(&'a mut BTreeMap<RecordKey, RecordState>);

impl RecordStore for Records<'_> {
    fn load(&mut self, key: &RecordKey) -> Result<Option<RecordState>> {
        Ok(self.0.get(key).cloned())
    }

    fn save(&mut self, key: &RecordKey, state: &RecordState) -> Result<()> {
        self.0.insert(key.clone(), state.clone());
        Ok(())
    }

    fn records_with_unseen(
        &mut self,
        since: &VersionVector,
        _local: &VersionVector,
    ) -> Result<Vec<(RecordKey, RecordState)>> {
        let unseen = |state: &RecordState| state.dots().iter().any(|dot| !since.contains(dot));
        Ok(self
            .0
            .iter()
            .filter(|(_, state)| unseen(state))
            .map(|(key, state)| (key.clone(), state.clone()))
            .collect())
    }
}

impl MemoryStore {
    /// An empty replica named `id`.
    pub fn new(id: ReplicaId) -> Self {
        Self { id, hlc: Hlc::default(), spaces: BTreeMap::new() }
    }

    /// This replica's id.
    pub fn replica_id(&self) -> ReplicaId {
        self.id
    }

    /// Runs `work` on the bookkeeping and records of `space`, keeping what it changed only
    /// when it succeeds.
    fn with_space(
        &mut self,
        space: &SpaceId,
        work: impl FnOnce(&mut ReplicaState, &mut Records<'_>) -> Result<Changes>,
    ) -> Result<Changes> {
        let mut held = self.spaces.get(space).cloned().unwrap_or_default();
        let mut replica = ReplicaState { id: self.id, hlc: self.hlc, seen: held.seen.clone() };
        let changes = work(&mut replica, &mut Records(&mut held.records))?;
        held.seen = replica.seen;
        self.hlc = replica.hlc;
        self.spaces.insert(space.clone(), held);
        Ok(changes)
    }

    /// Applies a local transaction in `space` (added if new) stamped at `physical_millis` (see
    /// [`ReplicaState::commit`]).
    pub fn commit(
        &mut self,
        space: &SpaceId,
        operations: &[Operation],
        physical_millis: u64,
    ) -> Result<Changes> {
        self.with_space(space, |replica, records| {
            replica.commit(records, operations, physical_millis)
        })
    }

    /// What a replica that has seen `since` of `space` lacks.
    pub fn delta_since(&mut self, space: &SpaceId, since: &VersionVector) -> Result<Delta> {
        let held = self.spaces.get_mut(space).ok_or_else(|| Error::SpaceNotHeld(space.clone()))?;
        let replica = ReplicaState { id: self.id, hlc: self.hlc, seen: held.seen.clone() };
        replica.delta_since(&mut Records(&mut held.records), space, since)
    }

    /// Merges a remote delta of a space this replica holds; `physical_millis` is the device
    /// clock.
    pub fn apply(&mut self, delta: &Delta, physical_millis: u64) -> Result<Changes> {
        if !self.spaces.contains_key(&delta.space) {
            return Err(Error::SpaceNotHeld(delta.space.clone()));
        }
        self.with_space(&delta.space, |replica, records| {
            replica.apply(records, delta, physical_millis)
        })
    }

    /// Starts holding `space` with nothing seen (no change if held).
    pub fn join_space(&mut self, space: &SpaceId) {
        self.spaces.entry(space.clone()).or_default();
    }

    /// Drops `space` and its records.
    pub fn leave_space(&mut self, space: &SpaceId) {
        self.spaces.remove(space);
    }

    /// The spaces held, in id order.
    pub fn spaces(&self) -> impl Iterator<Item = &SpaceId> {
        self.spaces.keys()
    }

    /// Every write of `space` this replica has seen (nothing if it does not hold it).
    pub fn version_vector(&self, space: &SpaceId) -> VersionVector {
        self.spaces.get(space).map(|s| s.seen.clone()).unwrap_or_default()
    }

    /// The record at `key` of `space` (live or deleted).
    pub fn record(&self, space: &SpaceId, key: &RecordKey) -> Option<&RecordState> {
        self.spaces.get(space)?.records.get(key)
    }

    /// Every record of `space`, live or deleted, in key order.
    pub fn records(&self, space: &SpaceId) -> impl Iterator<Item = (&RecordKey, &RecordState)> {
        self.spaces.get(space).into_iter().flat_map(|s| s.records.iter())
    }
}
