//! Dots and version vectors: which writes a replica has seen.
//!
//! Every local transaction gets the next counter of its replica; `(replica, counter)` is its
//! **dot**. Replicas only ever exchange whole deltas computed against the receiver's version
//! vector, so the set of dots a replica has seen is always "every counter up to N" per replica
//! and one number per replica summarises it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ReplicaId;

/// The name of one write: the writer and its per-replica transaction counter (from 1).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub struct Dot {
    /// The replica that made the write.
    pub replica: ReplicaId,
    /// The writer's transaction counter; the first transaction is 1.
    pub counter: u64,
}

/// For each replica, the highest counter seen (every lower counter has been seen too).
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct VersionVector(BTreeMap<ReplicaId, u64>);

impl VersionVector {
    /// The vector holding exactly these entries, as decoded (`payload_reader.rs`).
    pub(super) fn from_map(entries: BTreeMap<ReplicaId, u64>) -> Self {
        Self(entries)
    }

    /// The empty vector: nothing seen.
    pub fn new() -> Self {
        Self::default()
    }

    /// The highest counter of `replica` seen, 0 if none.
    pub fn get(&self, replica: &ReplicaId) -> u64 {
        self.0.get(replica).copied().unwrap_or(0)
    }

    /// Whether the write named `dot` has been seen.
    pub fn contains(&self, dot: &Dot) -> bool {
        dot.counter <= self.get(&dot.replica)
    }

    /// Records that every write of `replica` up to `counter` has been seen.
    pub fn advance(&mut self, replica: ReplicaId, counter: u64) {
        let seen = self.0.entry(replica).or_insert(0);
        *seen = (*seen).max(counter);
    }

    /// Sets the entry of `replica` to exactly `counter` (0 removes it). For rebuilding a vector
    /// from the entries in which it differs from another; merging uses `advance`.
    pub fn set(&mut self, replica: ReplicaId, counter: u64) {
        if counter == 0 {
            self.0.remove(&replica);
        } else {
            self.0.insert(replica, counter);
        }
    }

    /// Everything seen by either vector.
    pub fn join(&mut self, other: &VersionVector) {
        for (replica, counter) in &other.0 {
            self.advance(*replica, *counter);
        }
    }

    /// What both vectors have seen: the component-wise minimum. The meet of every replica's
    /// vector is the part of history every replica has seen (the stable cut garbage collection
    /// needs, see `stability.rs`).
    pub fn meet(&self, other: &VersionVector) -> VersionVector {
        self.iter()
            .map(|(replica, counter)| (replica, counter.min(other.get(&replica))))
            .filter(|(_, counter)| *counter > 0)
            .collect()
    }

    /// Whether `self` has seen everything `other` has.
    pub fn dominates(&self, other: &VersionVector) -> bool {
        other.0.iter().all(|(replica, counter)| self.get(replica) >= *counter)
    }

    /// The replicas this vector knows, with their counters, in replica order.
    pub fn iter(&self) -> impl Iterator<Item = (ReplicaId, u64)> + '_ {
        self.0.iter().map(|(replica, counter)| (*replica, *counter))
    }

    /// The number of replicas this vector knows.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether nothing has been seen.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The entries of `self` for the given replicas only (absent ones stay absent).
    pub fn restricted_to(&self, replicas: impl IntoIterator<Item = ReplicaId>) -> VersionVector {
        let mut out = VersionVector::new();
        for replica in replicas {
            if let Some(counter) = self.0.get(&replica) {
                out.0.insert(replica, *counter);
            }
        }
        out
    }
}

impl FromIterator<(ReplicaId, u64)> for VersionVector {
    fn from_iter<I: IntoIterator<Item = (ReplicaId, u64)>>(iter: I) -> Self {
        let mut vv = VersionVector::new();
        for (replica, counter) in iter {
            vv.advance(replica, counter);
        }
        vv
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(n: u8) -> ReplicaId {
        ReplicaId::from_bytes([n; 16])
    }

    #[test]
    fn contains_every_counter_up_to_the_highest() {
        let vv: VersionVector = [(r(1), 3)].into_iter().collect();
        assert!(vv.contains(&Dot { replica: r(1), counter: 1 }));
        assert!(vv.contains(&Dot { replica: r(1), counter: 3 }));
        assert!(!vv.contains(&Dot { replica: r(1), counter: 4 }));
        assert!(!vv.contains(&Dot { replica: r(2), counter: 1 }));
    }

    #[test]
    fn join_takes_the_maximum_per_replica() {
        let mut a: VersionVector = [(r(1), 3), (r(2), 1)].into_iter().collect();
        let b: VersionVector = [(r(1), 2), (r(3), 5)].into_iter().collect();
        a.join(&b);
        assert_eq!(a, [(r(1), 3), (r(2), 1), (r(3), 5)].into_iter().collect());
        assert!(a.dominates(&b));
        assert!(!b.dominates(&a));
    }

    #[test]
    fn meet_takes_the_minimum_per_replica() {
        let a: VersionVector = [(r(1), 3), (r(2), 1)].into_iter().collect();
        let b: VersionVector = [(r(1), 2), (r(3), 5)].into_iter().collect();
        assert_eq!(a.meet(&b), [(r(1), 2)].into_iter().collect());
        assert_eq!(a.meet(&b), b.meet(&a));
        assert!(a.dominates(&a.meet(&b)) && b.dominates(&a.meet(&b)));
    }
}
