//! An in-memory replica: the same engine as the SQLite store, with records in a `BTreeMap`.
//!
//! Nothing survives the process; use it for tests, simulations and tools. Property tests run
//! thousands of multi-replica scenarios against it.

use std::collections::BTreeMap;

use crate::crdt::{Delta, RecordKey, RecordState, ReplicaId, VersionVector};
use crate::error::Result;
use crate::replica::{Changes, Operation, RecordStore, ReplicaState};

/// A replica held entirely in memory.
#[derive(Clone, Debug)]
pub struct MemoryStore {
    replica: ReplicaState,
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

    fn keys_with_unseen(
        &mut self,
        since: &VersionVector,
        _local: &VersionVector,
    ) -> Result<Vec<RecordKey>> {
        let unseen = |state: &RecordState| state.dots().iter().any(|dot| !since.contains(dot));
        Ok(self.0.iter().filter(|(_, state)| unseen(state)).map(|(key, _)| key.clone()).collect())
    }
}

impl MemoryStore {
    /// An empty replica named `id`.
    pub fn new(id: ReplicaId) -> Self {
        Self { replica: ReplicaState::new(id), records: BTreeMap::new() }
    }

    /// This replica's id.
    pub fn replica_id(&self) -> ReplicaId {
        self.replica.id
    }

    /// Applies a local transaction stamped at `physical_millis` (see [`ReplicaState::commit`]).
    pub fn commit(&mut self, operations: &[Operation], physical_millis: u64) -> Result<Changes> {
        self.replica.commit(&mut Records(&mut self.records), operations, physical_millis)
    }

    /// What a replica that has seen `since` lacks.
    pub fn delta_since(&mut self, since: &VersionVector) -> Result<Delta> {
        self.replica.delta_since(&mut Records(&mut self.records), since)
    }

    /// Merges a remote delta.
    pub fn apply(&mut self, delta: &Delta) -> Result<Changes> {
        self.replica.apply(&mut Records(&mut self.records), delta)
    }

    /// Every write this replica has seen.
    pub fn version_vector(&self) -> &VersionVector {
        &self.replica.seen
    }

    /// The record at `key` (live or deleted).
    pub fn record(&self, key: &RecordKey) -> Option<&RecordState> {
        self.records.get(key)
    }

    /// Every record this replica holds, live or deleted, in key order.
    pub fn records(&self) -> &BTreeMap<RecordKey, RecordState> {
        &self.records
    }
}
