//! Registers: the multi-value register every scalar field uses, and the min/max registers.
//!
//! This is where "what happens when two writes to one field meet" lives. A register holds
//! entries `(dot, hlc, value)`. A local write replaces every entry its writer has seen. Two
//! writes where neither writer saw the other both survive: the one with the greatest stamp
//! `(hlc, replica)` is shown, the others are conflicts until a later write (which has seen them)
//! replaces them all. Superseded entries are dropped at once, so a register's size is bounded by
//! the number of concurrent writers, never by the number of writes.

use smallvec::SmallVec;

use super::{Dot, Hlc, VersionVector};

/// One value written to a register, with the dot and clock of its write.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Entry<T> {
    /// The write that produced this value.
    pub dot: Dot,
    /// The hybrid clock of that write.
    pub hlc: Hlc,
    /// The value written.
    pub value: T,
}

impl<T> Entry<T> {
    /// The total order that picks winners: clock first, replica id to break ties.
    pub fn stamp(&self) -> (Hlc, super::ReplicaId) {
        (self.hlc, self.dot.replica)
    }
}

/// A multi-value register. Entries are kept sorted by stamp, so the last one is the winner.
///
/// Registers are encoded only as part of a record (see `wire.rs`), never on their own.
///
/// Nearly every register holds one entry (two only while writers disagree), so that entry is
/// kept inline: a decoded record allocates nothing per register (decision 0041).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct MvRegister<T> {
    entries: SmallVec<[Entry<T>; 1]>,
}

impl<T> Default for MvRegister<T> {
    fn default() -> Self {
        Self { entries: SmallVec::new() }
    }
}

impl<T: Clone> MvRegister<T> {
    /// A local write: the new value replaces every entry, since the writer has seen them all.
    pub fn write(&mut self, value: T, dot: Dot, hlc: Hlc) {
        self.entries.clear();
        self.entries.push(Entry { dot, hlc, value });
    }

    /// A register holding `entries` (as decoded from storage): sorted, one entry per dot.
    pub(crate) fn from_entries(entries: impl IntoIterator<Item = Entry<T>>) -> Self {
        let mut entries: SmallVec<[Entry<T>; 1]> = entries.into_iter().collect();
        entries.sort_by_key(Entry::stamp);
        entries.dedup_by_key(|e| e.dot);
        Self { entries }
    }

    /// Removes every entry the writer has seen (used when a keyed-map member is removed).
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// Merges `other` into `self`, where `self` is complete with respect to `local_seen` and
    /// `other` with respect to `remote_seen`.
    ///
    /// An entry survives if both sides have it, or if the side lacking it has never seen its dot
    /// (so the lack is ignorance, not a replacement). This is the dot-kernel join of Almeida,
    /// Shoker and Baquero: commutative, associative and idempotent.
    ///
    /// Returns whether the register changed. Entries are kept sorted by stamp, so keeping every
    /// entry and adding none leaves exactly the same list: storage skips such records.
    pub fn join(
        &mut self,
        other: &MvRegister<T>,
        local_seen: &VersionVector,
        remote_seen: &VersionVector,
    ) -> bool {
        // Most registers a merge meets are unchanged: find that out before cloning anything.
        let keeps_all =
            self.entries.iter().all(|e| other.has_dot(&e.dot) || !remote_seen.contains(&e.dot));
        let adds_none =
            other.entries.iter().all(|e| self.has_dot(&e.dot) || local_seen.contains(&e.dot));
        if keeps_all && adds_none {
            return false;
        }
        let mut merged: SmallVec<[Entry<T>; 1]> = self
            .entries
            .iter()
            .filter(|e| other.has_dot(&e.dot) || !remote_seen.contains(&e.dot))
            .cloned()
            .collect();
        merged.extend(
            other
                .entries
                .iter()
                .filter(|e| !self.has_dot(&e.dot) && !local_seen.contains(&e.dot))
                .cloned(),
        );
        merged.sort_by_key(Entry::stamp);
        self.entries = merged;
        true
    }

    /// [`MvRegister::join`] of a register not needed afterwards (a received delta's): into an
    /// empty register (a field new here) its entries are moved instead of copied.
    pub fn join_owned(
        &mut self,
        other: MvRegister<T>,
        local_seen: &VersionVector,
        remote_seen: &VersionVector,
    ) -> bool {
        if !self.entries.is_empty() {
            return self.join(&other, local_seen, remote_seen);
        }
        // `join` with nothing here: every remote entry this replica has not seen is added, in
        // the remote order (already by stamp).
        self.entries = other.entries;
        self.entries.retain(|e| !local_seen.contains(&e.dot));
        !self.entries.is_empty()
    }

    /// Keeps only the entries `keep` accepts (garbage collection drops entries every replica has
    /// seen superseded, see `stability.rs`). Order is kept, so the winner stays the winner
    /// among what is left.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&Entry<T>) -> bool) {
        self.entries.retain(|entry| keep(entry));
    }

    /// Lets `change` rewrite each entry in place (moving writes to another replica id, see
    /// `restamp.rs`); re-sorts when any changed, since a stamp breaks ties by replica id.
    /// Returns whether any entry changed.
    pub(crate) fn update_entries(&mut self, mut change: impl FnMut(&mut Entry<T>) -> bool) -> bool {
        let mut changed = false;
        for entry in &mut self.entries {
            changed |= change(entry);
        }
        if changed {
            self.entries.sort_by_key(Entry::stamp);
        }
        changed
    }

    /// The winner, taken out of the register.
    pub fn into_winner(mut self) -> Option<Entry<T>> {
        self.entries.pop()
    }

    /// The entry with the greatest stamp: the value apps see.
    pub fn winner(&self) -> Option<&Entry<T>> {
        self.entries.last()
    }

    /// Entries written concurrently with the winner, greatest stamp first.
    pub fn conflicts(&self) -> impl Iterator<Item = &Entry<T>> {
        let shown = self.entries.len().saturating_sub(1);
        self.entries[..shown].iter().rev()
    }

    /// The values written concurrently with the winner that differ from it, each once,
    /// greatest stamp first: what the conflict log shows. Equal concurrent values are
    /// agreement, not a conflict.
    pub fn conflicting_values(&self) -> Vec<&T>
    where
        T: PartialEq,
    {
        let Some(shown) = self.winner() else { return Vec::new() };
        let mut values: Vec<&T> = Vec::new();
        for entry in self.conflicts() {
            if entry.value != shown.value && !values.contains(&&entry.value) {
                values.push(&entry.value);
            }
        }
        values
    }

    /// Every entry, in ascending stamp order.
    pub fn entries(&self) -> &[Entry<T>] {
        &self.entries
    }

    /// Whether the register holds no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether some entry was written by a dot `seen` does not contain.
    pub fn has_unseen(&self, seen: &VersionVector) -> bool {
        self.entries.iter().any(|e| !seen.contains(&e.dot))
    }

    fn has_dot(&self, dot: &Dot) -> bool {
        self.entries.iter().any(|e| e.dot == *dot)
    }
}

/// Which way an [`Extremum`] register merges.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Direction {
    /// Keeps the smallest value written (series truncation).
    Min,
    /// Keeps the largest value written (alarm acknowledgement).
    Max,
}

/// A register that merges by keeping the smallest (or largest) value ever written.
///
/// It needs no causal context: min and max are already commutative, associative and idempotent.
/// The dot is kept only so sync can tell whether a replica has seen the current value; equal
/// values keep the entry with the greater stamp so replicas agree on that dot too.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Extremum<T> {
    entry: Option<Entry<T>>,
}

impl<T> Default for Extremum<T> {
    fn default() -> Self {
        Self { entry: None }
    }
}

impl<T: Clone + Ord> Extremum<T> {
    /// A register holding `entry` (as decoded from storage).
    pub(crate) fn from_entry(entry: Option<Entry<T>>) -> Self {
        Self { entry }
    }

    /// Offers a value; it is kept if it beats the current one in `direction`. Returns whether
    /// it was.
    pub fn offer(&mut self, candidate: &Entry<T>, direction: Direction) -> bool {
        let better = match &self.entry {
            None => true,
            Some(current) => {
                let by_value = match direction {
                    Direction::Min => candidate.value.cmp(&current.value).reverse(),
                    Direction::Max => candidate.value.cmp(&current.value),
                };
                by_value.then_with(|| candidate.stamp().cmp(&current.stamp())).is_gt()
            }
        };
        if better {
            self.entry = Some(candidate.clone());
        }
        better
    }

    /// Lets `change` rewrite the entry in place (see [`MvRegister::update_entries`]).
    pub(crate) fn update_entry(&mut self, change: impl FnOnce(&mut Entry<T>) -> bool) -> bool {
        self.entry.as_mut().is_some_and(change)
    }

    /// The current value's entry.
    pub fn entry(&self) -> Option<&Entry<T>> {
        self.entry.as_ref()
    }

    /// Whether the current value was written by a dot `seen` does not contain.
    pub fn has_unseen(&self, seen: &VersionVector) -> bool {
        self.entry.as_ref().is_some_and(|e| !seen.contains(&e.dot))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crdt::testing::{dot, vv};

    fn hlc(millis: u64) -> Hlc {
        Hlc { millis, logical: 0 }
    }

    #[test]
    fn conflict_case_2_same_field_keeps_both_and_shows_greatest_stamp() {
        let mut a = MvRegister::default();
        a.write("from A", dot(1, 1), hlc(200));
        let mut b = MvRegister::default();
        b.write("from B", dot(2, 1), hlc(100));
        let mut merged_ab = a.clone();
        merged_ab.join(&b, &vv(&[(1, 1)]), &vv(&[(2, 1)]));
        let mut merged_ba = b.clone();
        merged_ba.join(&a, &vv(&[(2, 1)]), &vv(&[(1, 1)]));
        assert_eq!(merged_ab, merged_ba);
        assert_eq!(merged_ab.winner().map(|e| e.value), Some("from A"));
        assert_eq!(merged_ab.conflicts().map(|e| e.value).collect::<Vec<_>>(), vec!["from B"]);
    }

    #[test]
    fn a_write_that_saw_the_conflict_resolves_it() {
        let mut r = MvRegister::default();
        r.write("a", dot(1, 1), hlc(1));
        r.join(
            &{
                let mut b = MvRegister::default();
                b.write("b", dot(2, 1), hlc(2));
                b
            },
            &vv(&[(1, 1)]),
            &vv(&[(2, 1)]),
        );
        assert_eq!(r.entries().len(), 2);
        r.write("chosen", dot(1, 2), hlc(3));
        assert_eq!(r.entries().len(), 1);
        assert_eq!(r.conflicts().count(), 0);
    }

    #[test]
    fn conflict_case_16_a_causally_later_write_wins_even_with_an_older_clock() {
        // B's clock is hours behind, but B wrote after seeing A's write.
        let mut a = MvRegister::default();
        a.write("A", dot(1, 1), hlc(10_000_000));
        let mut b = a.clone();
        b.write("B", dot(2, 1), hlc(5));
        a.join(&b, &vv(&[(1, 1)]), &vv(&[(1, 1), (2, 1)]));
        assert_eq!(a.winner().map(|e| e.value), Some("B"));
        assert_eq!(a.conflicts().count(), 0);
    }

    #[test]
    fn join_is_idempotent() {
        let mut a = MvRegister::default();
        a.write(1, dot(1, 1), hlc(1));
        let before = a.clone();
        a.join(&before, &vv(&[(1, 1)]), &vv(&[(1, 1)]));
        assert_eq!(a, before);
    }

    #[test]
    fn conflict_case_9_min_register_keeps_the_earliest_truncation() {
        let x = Entry { dot: dot(1, 1), hlc: hlc(1), value: 30 };
        let y = Entry { dot: dot(2, 1), hlc: hlc(2), value: 20 };
        let mut a = Extremum::default();
        a.offer(&x, Direction::Min);
        a.offer(&y, Direction::Min);
        let mut b = Extremum::default();
        b.offer(&y, Direction::Min);
        b.offer(&x, Direction::Min);
        assert_eq!(a, b);
        assert_eq!(a.entry().map(|e| e.value), Some(20));
    }
}
