//! Garbage collection under causal stability: which metadata a replica may drop once every
//! replica of the space has seen what superseded it.
//!
//! `stable` is a version vector every replica of the space is known to have seen (the
//! component-wise minimum of their version vectors, see [`VersionVector::meet`]). It must be
//! *causally stable*: no replica can still deliver a write made before it saw `stable` that
//! this replica does not hold. A sync server gets that by taking the minimum of the version
//! vectors devices report after pushing their writes, and a device may use it once it has
//! pulled what the server held then (`docs/decisions/0014-causal-stability-and-trash.md`).
//!
//! Two things go:
//!
//! - **Removals in keyed maps** ([`RecordState::purge`]): `false` presence entries whose dots
//!   are in `stable`, and with them members left with no entry at all. Such entries never
//!   decide anything again: presence is "any `true` entry", and the join keeps or drops each
//!   entry on its own, so a `false` entry's presence never changes what happens to any other
//!   entry. Dropping them is therefore invisible (the tests below check it against unpurged
//!   replicas over random scenarios).
//! - **Deleted records past their retention** ([`RecordState::purgeable_tombstone`]): the
//!   storage layer removes the whole row. This one is *not* invisible: it ends the trash
//!   period, after which the record can no longer be restored.
//!
//! Min and max registers are never purged here: they merge without causal context, so a
//! dropped one would come back whole from any replica that still holds it, and a key that is
//! removed and later added again would show the old value on replicas that had not collected
//! it and not on the others.

use super::{Hlc, Lifecycle, RecordState, VersionVector};

impl RecordState {
    /// Drops the removals every replica has seen: `false` presence entries with dots in
    /// `stable`, then members left without any entry, then maps left without members. Returns
    /// whether anything was dropped.
    ///
    /// Why it is safe: every replica's version vector contains `stable`. When a replica that
    /// still holds such an entry sends its member later, the join keeps an entry the receiver
    /// lacks only if the receiver has never seen its dot; the receiver has seen these, so they
    /// do not come back. Entries the sender has on top (an add concurrent with the removal, or
    /// a later one) are unseen and arrive as they would have without the purge, so add-wins
    /// still holds. The only difference from an unpurged replica is the `false` entries
    /// themselves, which decide nothing (a member is present when some entry is `true`, and the
    /// join treats each entry on its own); the unpurged replica drops them at its own next
    /// collection or when a later write to the member replaces them.
    ///
    /// Field entries are never dropped here: a field outlives a removal only when an add
    /// concurrent with it kept the member, and then it is visible data.
    pub fn purge(&mut self, stable: &VersionVector) -> bool {
        let mut purged = false;
        for members in self.maps.values_mut() {
            members.retain(|_, member| {
                purged |= member.drop_stable_removals(stable);
                let gone = member.is_empty();
                purged |= gone;
                !gone
            });
        }
        let before = self.maps.len();
        self.maps.retain(|_, members| !members.is_empty());
        purged | (self.maps.len() != before)
    }

    /// Whether the record is deleted and every replica has seen every entry it holds, so no
    /// edit concurrent with the delete can still be missing anywhere and the row may go once
    /// its retention has passed ([`RecordState::deleted_at`]).
    ///
    /// A record holding an entry outside `stable` (an edit some replica has not seen) is kept:
    /// that replica would otherwise miss it in the conflict log of the tombstone.
    pub fn purgeable_tombstone(&self, stable: &VersionVector) -> bool {
        self.is_deleted() && self.dots().iter().all(|dot| stable.contains(dot))
    }

    /// When the record was last deleted: the greatest clock among its `Deleted` lifecycle
    /// entries (concurrent deletes count from the latest), `None` if it is not deleted.
    pub fn deleted_at(&self) -> Option<Hlc> {
        self.lifecycle
            .entries()
            .iter()
            .filter(|e| matches!(e.value, Lifecycle::Deleted { .. }))
            .map(|e| e.hlc)
            .max()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;
    use crate::crdt::testing::{dot, vv};
    use crate::crdt::{Dot, Entry, FieldName, Member, ReplicaId, ShadowedEdit, Value, Write};

    /// One replica of one record, driven by hand.
    #[derive(Clone, Debug)]
    struct Replica {
        id: ReplicaId,
        seen: VersionVector,
        state: RecordState,
        clock: u64,
    }

    impl Replica {
        fn new(n: u8) -> Self {
            Replica {
                id: ReplicaId::from_bytes([n; 16]),
                seen: VersionVector::new(),
                state: RecordState::default(),
                clock: 0,
            }
        }

        /// A local write; refused writes (to a deleted record) leave everything unchanged.
        fn write(&mut self, write: &Write) {
            let dot = Dot { replica: self.id, counter: self.seen.get(&self.id) + 1 };
            let hlc = Hlc { millis: self.clock + 1, logical: 0 };
            let mut seen = self.seen.clone();
            seen.advance(dot.replica, dot.counter);
            let mut state = self.state.clone();
            if state.apply_local(write, dot, hlc, &seen).is_ok() && state != self.state {
                self.state = state;
                self.seen = seen;
                self.clock = hlc.millis;
            }
        }

        /// Joins what `from` has and this replica lacks, as `ReplicaState::apply` does.
        fn receive(&mut self, from: &Replica) {
            let delta = from.state.delta(&self.seen);
            // The sender's shortcut (moving parts out of a loaded state) gives the same delta.
            assert_eq!(from.state.clone().into_delta(&self.seen), delta, "into_delta differs");
            if let Some(delta) = delta {
                // Storage skips records whose join reports no change, so the report must be
                // exact: true exactly when the state differs afterwards.
                let before = self.state.clone();
                let changed = self.state.join(&delta, &self.seen, &from.seen);
                assert_eq!(changed, self.state != before, "join misreported a change");
            }
            self.seen.join(&from.seen);
            self.clock = self.clock.max(from.clock);
        }
    }

    /// Field name and the entries of its register.
    type Fields = Vec<(FieldName, Vec<Entry<Value>>)>;

    /// What apps can observe of a record: lifecycle, register entries (winners and conflicts),
    /// present members with their field entries, min/max values and the delete's conflict log.
    /// Absent members and their `false` entries are not observable.
    #[derive(PartialEq, Debug)]
    struct Visible {
        exists: bool,
        deleted: bool,
        registers: Fields,
        members: Vec<(FieldName, String, Fields)>,
        extrema: Vec<(FieldName, Option<Entry<Value>>)>,
        shadowed: Vec<ShadowedEdit>,
        has_conflicts: bool,
    }

    fn visible(state: &RecordState) -> Visible {
        let entries = |fields: &BTreeMap<FieldName, crate::crdt::MvRegister<Value>>| {
            fields.iter().map(|(name, r)| (name.clone(), r.entries().to_vec())).collect()
        };
        let mut members = Vec::new();
        for (map, keyed) in state.maps() {
            for (key, member) in keyed.iter().filter(|(_, m)| m.is_present()) {
                members.push((map.clone(), key.clone(), entries(member.fields())));
            }
        }
        let mut shadowed = state.shadowed_edits();
        shadowed.sort_by(|a, b| (&a.path, a.entry.dot).cmp(&(&b.path, b.entry.dot)));
        Visible {
            exists: state.exists(),
            deleted: state.is_deleted(),
            registers: entries(state.registers()),
            members,
            extrema: state
                .minimums()
                .iter()
                .chain(state.maximums())
                .map(|(name, r)| (name.clone(), r.entry().cloned()))
                .collect(),
            shadowed,
            has_conflicts: state.has_conflicts(),
        }
    }

    fn set_member(key: &str, field: &str, value: i64) -> Write {
        Write::SetMember {
            field: "alarms".into(),
            key: key.into(),
            member_field: field.into(),
            value: Value::Int(value),
        }
    }

    fn remove_member(key: &str) -> Write {
        Write::RemoveMember { field: "alarms".into(), key: key.into() }
    }

    fn meet(replicas: &[&Replica]) -> VersionVector {
        let mut stable = replicas[0].seen.clone();
        for replica in &replicas[1..] {
            stable = stable.meet(&replica.seen);
        }
        stable
    }

    #[test]
    fn a_removal_everyone_has_seen_is_purged_with_its_empty_map() {
        let mut a = Replica::new(1);
        let mut b = Replica::new(2);
        a.write(&Write::Set { field: "title".into(), value: Value::from("x") });
        a.write(&set_member("a1", "trigger", 5));
        b.receive(&a);
        b.write(&remove_member("a1"));
        a.receive(&b);
        let stable = meet(&[&a, &b]);
        let before = visible(&a.state);
        assert!(a.state.purge(&stable));
        assert!(a.state.maps().is_empty());
        assert_eq!(visible(&a.state), before);
        // Nothing left to purge: a second pass reports no change.
        assert!(!a.state.purge(&stable));
    }

    #[test]
    fn a_removal_not_everyone_has_seen_is_kept() {
        let mut a = Replica::new(1);
        let mut b = Replica::new(2);
        a.write(&set_member("a1", "trigger", 5));
        b.receive(&a);
        a.write(&remove_member("a1"));
        // B has not seen the removal: purging it at A would mean B never hears of it.
        let stable = meet(&[&a, &b]);
        assert!(!a.state.purge(&stable));
        assert_eq!(a.state.maps()["alarms"].len(), 1);
    }

    #[test]
    fn conflict_case_12_add_concurrent_with_a_purged_removal_still_wins() {
        let mut a = Replica::new(1);
        let mut b = Replica::new(2);
        a.write(&set_member("a1", "trigger", 5));
        b.receive(&a);
        // A removes; B concurrently sets another field of the same alarm.
        a.write(&remove_member("a1"));
        b.write(&set_member("a1", "description", 7));
        let mut unpurged_a = a.clone();
        b.receive(&a);
        // Everyone has seen the removal (B has it; B's add is not in the stable cut).
        let stable = meet(&[&a, &b]);
        assert!(stable.contains(&dot(1, 2)) && !stable.contains(&dot(2, 1)));
        assert!(a.state.purge(&stable));
        a.receive(&b);
        unpurged_a.receive(&b);
        assert_eq!(visible(&a.state), visible(&unpurged_a.state));
        assert_eq!(visible(&a.state), visible(&b.state));
        let alarm = &a.state.maps()["alarms"]["a1"];
        assert!(alarm.is_present());
        // The removal cleared what the remover had seen; the concurrent field survives.
        assert_eq!(alarm.fields().keys().collect::<Vec<_>>(), vec!["description"]);
    }

    #[test]
    fn an_absent_member_with_fields_keeps_its_fields() {
        let mut state = RecordState::default();
        let presence = crate::crdt::MvRegister::from_entries(vec![Entry {
            dot: dot(1, 2),
            hlc: Hlc::default(),
            value: false,
        }]);
        let field = crate::crdt::MvRegister::from_entries(vec![Entry {
            dot: dot(1, 1),
            hlc: Hlc::default(),
            value: Value::Int(1),
        }]);
        let fields = [(FieldName::new("trigger"), field)].into_iter().collect();
        state
            .maps
            .entry("alarms".into())
            .or_default()
            .insert("a1".into(), Member::from_parts(presence, fields));
        assert!(state.purge(&vv(&[(1, 2)])));
        let member = &state.maps()["alarms"]["a1"];
        assert!(member.presence().is_empty());
        assert_eq!(member.fields().len(), 1);
    }

    #[test]
    fn a_present_member_loses_only_its_stable_removals() {
        let mut a = Replica::new(1);
        let mut b = Replica::new(2);
        a.write(&set_member("a1", "trigger", 5));
        b.receive(&a);
        a.write(&remove_member("a1"));
        b.write(&set_member("a1", "description", 7));
        a.receive(&b);
        b.receive(&a);
        let stable = meet(&[&a, &b]);
        let before = visible(&a.state);
        assert!(a.state.purge(&stable));
        let presence = a.state.maps()["alarms"]["a1"].presence();
        assert_eq!(presence.entries().iter().map(|e| e.value).collect::<Vec<_>>(), vec![true]);
        assert_eq!(visible(&a.state), before);
    }

    #[test]
    fn a_tombstone_is_purgeable_once_every_entry_is_stable() {
        let mut a = Replica::new(1);
        let mut b = Replica::new(2);
        a.write(&Write::Set { field: "title".into(), value: Value::from("x") });
        b.receive(&a);
        // B edits concurrently with A's delete: the edit goes to the tombstone's conflict log.
        b.write(&Write::Set { field: "title".into(), value: Value::from("y") });
        a.write(&Write::Delete);
        a.receive(&b);
        assert_eq!(a.state.deleted_at(), Some(Hlc { millis: 2, logical: 0 }));
        assert!(!a.state.purgeable_tombstone(&meet(&[&a, &b])), "B has not seen the delete");
        b.receive(&a);
        assert!(a.state.purgeable_tombstone(&meet(&[&a, &b])));
        // A live record never is.
        b.write(&Write::Restore);
        assert!(!b.state.purgeable_tombstone(&b.seen));
        assert_eq!(b.state.deleted_at(), None);
    }

    /// One step of a random scenario over three replicas of one record.
    #[derive(Clone, Debug)]
    enum Step {
        Write { replica: usize, write: Write },
        Sync { from: usize, to: usize },
        Collect { replica: usize },
    }

    fn step() -> impl Strategy<Value = Step> {
        let key = prop::sample::select(vec!["a1", "a2", "a3"]);
        let field = prop::sample::select(vec!["trigger", "description"]);
        let write = prop_oneof![
            4 => (key.clone(), field, 0..3i64).prop_map(|(k, f, v)| set_member(k, f, v)),
            4 => key.prop_map(remove_member),
            1 => (0..3i64).prop_map(|v| Write::Set { field: "title".into(), value: Value::Int(v) }),
            1 => Just(Write::Delete),
            1 => Just(Write::Restore),
        ];
        prop_oneof![
            4 => (0..3usize, write).prop_map(|(replica, write)| Step::Write { replica, write }),
            4 => (0..3usize, 0..3usize).prop_map(|(from, to)| Step::Sync { from, to }),
            2 => (0..3usize).prop_map(|replica| Step::Collect { replica }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        /// Two worlds run the same steps; in one, replicas purge with the stable cut whenever
        /// told to. Every replica must look the same in both worlds after every step (same
        /// visible state, same conflicts, same conflict log), and after a full sync and a last
        /// collection all replicas must hold identical states.
        #[test]
        fn purging_is_invisible_and_replicas_still_converge(steps in prop::collection::vec(step(), 1..80)) {
            let mut purged: Vec<Replica> = (1..=3).map(Replica::new).collect();
            let mut plain = purged.clone();
            for step in &steps {
                match step {
                    Step::Write { replica, write } => {
                        purged[*replica].write(write);
                        plain[*replica].write(write);
                    }
                    Step::Sync { from, to } => {
                        let sender = purged[*from].clone();
                        purged[*to].receive(&sender);
                        let sender = plain[*from].clone();
                        plain[*to].receive(&sender);
                    }
                    Step::Collect { replica } => {
                        let stable = meet(&purged.iter().collect::<Vec<_>>());
                        purged[*replica].state.purge(&stable);
                    }
                }
                for (p, q) in purged.iter().zip(&plain) {
                    prop_assert_eq!(&p.seen, &q.seen);
                    prop_assert_eq!(visible(&p.state), visible(&q.state));
                }
            }
            for _ in 0..2 {
                for from in 0..3 {
                    for to in 0..3 {
                        let sender = purged[from].clone();
                        purged[to].receive(&sender);
                    }
                }
            }
            let stable = meet(&purged.iter().collect::<Vec<_>>());
            for replica in &mut purged {
                replica.state.purge(&stable);
            }
            for replica in &purged[1..] {
                prop_assert_eq!(&replica.state, &purged[0].state);
            }
        }
    }
}
