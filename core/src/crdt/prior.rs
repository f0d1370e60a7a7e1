//! A record's state before a change, kept as the few parts the change can alter (decision
//! 0053).
//!
//! Saving a changed record needs what it was: the clock-index rows to replace come from its
//! counters, derived views compare what they derive from, and a transaction skips records it
//! did not change. Copying the whole loaded state for that allocated every value again, a
//! twentieth of a merge's instructions. A write or a received delta names the parts it can
//! alter before it runs (a write its field, or the lifecycle; a delta the parts it carries);
//! only those are copied. Every other part of the state before is the same part of the state
//! after, where [`Before`] reads it.

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::{
    Extremum, FieldName, Lifecycle, Member, MvRegister, RecordDelta, RecordState, ReplicaId, Value,
    Write,
};

/// What a record was before a change: its counters, and a copy of each part the change could
/// alter (`None`: the part was absent).
#[derive(Clone, Debug)]
pub struct Prior {
    counters: BTreeMap<ReplicaId, u64>,
    lifecycle: Option<MvRegister<Lifecycle>>,
    registers: Vec<(FieldName, Option<MvRegister<Value>>)>,
    maps: Vec<(FieldName, Option<BTreeMap<String, Member>>)>,
    minimums: Vec<(FieldName, Option<Extremum<Value>>)>,
    maximums: Vec<(FieldName, Option<Extremum<Value>>)>,
}

impl Prior {
    /// The prior of `state` before any part of it changes (nothing kept yet).
    pub fn new(state: &RecordState) -> Prior {
        Prior {
            counters: state.max_counters(),
            lifecycle: None,
            registers: Vec::new(),
            maps: Vec::new(),
            minimums: Vec::new(),
            maximums: Vec::new(),
        }
    }

    /// The prior of `state` before `delta` is joined into it.
    pub fn before_join(state: &RecordState, delta: &RecordDelta) -> Prior {
        let mut prior = Prior::new(state);
        if delta.lifecycle.is_some() {
            prior.lifecycle = Some(state.lifecycle.clone());
        }
        prior.registers = kept(&state.registers, delta.registers.keys());
        prior.maps = kept(&state.maps, delta.maps.keys());
        prior.minimums = kept(&state.minimums, delta.minimums.keys());
        prior.maximums = kept(&state.maximums, delta.maximums.keys());
        prior
    }

    /// Keeps the parts of `state` that `write` can alter, unless an earlier write of the same
    /// change kept them: call before each write is applied to `state`.
    pub fn keep_for_write(&mut self, state: &RecordState, write: &Write) {
        // A field write to a record that does not exist yet also makes it live.
        let lifecycle = matches!(write, Write::Delete | Write::Restore) || !state.exists();
        if lifecycle && self.lifecycle.is_none() {
            self.lifecycle = Some(state.lifecycle.clone());
        }
        match write {
            Write::Set { field, .. } => keep(&mut self.registers, &state.registers, field),
            Write::SetMember { field, .. } | Write::RemoveMember { field, .. } => {
                keep(&mut self.maps, &state.maps, field);
            }
            Write::Min { field, .. } => keep(&mut self.minimums, &state.minimums, field),
            Write::Max { field, .. } => keep(&mut self.maximums, &state.maximums, field),
            Write::Delete | Write::Restore => {}
        }
    }

    /// Whether `after` (the state this prior was kept from, changed since) differs from what
    /// it was: only the kept parts can.
    pub fn changed(&self, after: &RecordState) -> bool {
        self.lifecycle.as_ref().is_some_and(|l| *l != after.lifecycle)
            || differs(&self.registers, &after.registers)
            || differs(&self.maps, &after.maps)
            || differs(&self.minimums, &after.minimums)
            || differs(&self.maximums, &after.maximums)
    }
}

/// The parts of `parts` named `names`, copied.
fn kept<'n, T: Clone + 'n>(
    parts: &BTreeMap<FieldName, T>,
    names: impl Iterator<Item = &'n FieldName>,
) -> Vec<(FieldName, Option<T>)> {
    names.map(|name| (name.clone(), parts.get(name).cloned())).collect()
}

/// Copies the part `name` of `parts` into `kept`, unless it is there already.
fn keep<T: Clone>(
    kept: &mut Vec<(FieldName, Option<T>)>,
    parts: &BTreeMap<FieldName, T>,
    name: &str,
) {
    if !kept.iter().any(|(kept, _)| kept.as_str() == name) {
        kept.push((FieldName::new(name), parts.get(name).cloned()));
    }
}

fn differs<T: PartialEq>(kept: &[(FieldName, Option<T>)], after: &BTreeMap<FieldName, T>) -> bool {
    kept.iter().any(|(name, part)| part.as_ref() != after.get(name))
}

/// A record's state before a save, as storage and derived views read it: either a whole state,
/// or a [`Prior`] with the state after, which holds every part the prior did not keep.
#[derive(Clone, Copy, Debug)]
pub struct Before<'a>(Inner<'a>);

#[derive(Clone, Copy, Debug)]
enum Inner<'a> {
    Whole(&'a RecordState),
    Kept { prior: &'a Prior, after: &'a RecordState },
}

impl<'a> Before<'a> {
    /// A whole state.
    pub fn whole(state: &'a RecordState) -> Before<'a> {
        Before(Inner::Whole(state))
    }

    /// What `prior` says `after` was.
    pub fn kept(prior: &'a Prior, after: &'a RecordState) -> Before<'a> {
        Before(Inner::Kept { prior, after })
    }

    /// The lifecycle register.
    pub fn lifecycle(&self) -> &'a MvRegister<Lifecycle> {
        match self.0 {
            Inner::Whole(state) => &state.lifecycle,
            Inner::Kept { prior, after } => prior.lifecycle.as_ref().unwrap_or(&after.lifecycle),
        }
    }

    /// Whether the record was ever created ([`RecordState::exists`]).
    pub fn exists(&self) -> bool {
        !self.lifecycle().is_empty()
    }

    /// Whether it was deleted ([`RecordState::is_deleted`]).
    pub fn is_deleted(&self) -> bool {
        self.lifecycle().entries().iter().any(|e| matches!(e.value, Lifecycle::Deleted { .. }))
    }

    /// The register field `name`.
    pub fn register(&self, name: &str) -> Option<&'a MvRegister<Value>> {
        self.part(name, |s| &s.registers, |p| &p.registers)
    }

    /// The keyed map `name`.
    pub fn map(&self, name: &str) -> Option<&'a BTreeMap<String, Member>> {
        self.part(name, |s| &s.maps, |p| &p.maps)
    }

    /// The min register `name`.
    pub fn minimum(&self, name: &str) -> Option<&'a Extremum<Value>> {
        self.part(name, |s| &s.minimums, |p| &p.minimums)
    }

    /// The max register `name`.
    pub fn maximum(&self, name: &str) -> Option<&'a Extremum<Value>> {
        self.part(name, |s| &s.maximums, |p| &p.maximums)
    }

    /// For each replica that wrote the record, its highest counter
    /// ([`RecordState::max_counters`]).
    pub fn max_counters(&self) -> Cow<'a, BTreeMap<ReplicaId, u64>> {
        match self.0 {
            Inner::Whole(state) => Cow::Owned(state.max_counters()),
            Inner::Kept { prior, .. } => Cow::Borrowed(&prior.counters),
        }
    }

    /// The whole state (copied from the state after when only parts were kept: for the rare
    /// reader that needs all of it).
    pub fn to_state(&self) -> Cow<'a, RecordState> {
        match self.0 {
            Inner::Whole(state) => Cow::Borrowed(state),
            Inner::Kept { prior, after } => {
                let mut state = after.clone();
                if let Some(lifecycle) = &prior.lifecycle {
                    state.lifecycle = lifecycle.clone();
                }
                restore(&mut state.registers, &prior.registers);
                restore(&mut state.maps, &prior.maps);
                restore(&mut state.minimums, &prior.minimums);
                restore(&mut state.maximums, &prior.maximums);
                Cow::Owned(state)
            }
        }
    }

    fn part<T>(
        &self,
        name: &str,
        of_state: impl Fn(&'a RecordState) -> &'a BTreeMap<FieldName, T>,
        of_prior: impl Fn(&'a Prior) -> &'a Vec<(FieldName, Option<T>)>,
    ) -> Option<&'a T> {
        match self.0 {
            Inner::Whole(state) => of_state(state).get(name),
            Inner::Kept { prior, after } => {
                match of_prior(prior).iter().find(|(kept, _)| kept.as_str() == name) {
                    Some((_, part)) => part.as_ref(),
                    None => of_state(after).get(name),
                }
            }
        }
    }
}

fn restore<T: Clone>(parts: &mut BTreeMap<FieldName, T>, kept: &[(FieldName, Option<T>)]) {
    for (name, part) in kept {
        match part {
            Some(part) => {
                parts.insert(name.clone(), part.clone());
            }
            None => {
                parts.remove(name);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::crdt::{Dot, Hlc, VersionVector};

    /// One replica of one record.
    #[derive(Clone)]
    struct Replica {
        id: ReplicaId,
        seen: VersionVector,
        state: RecordState,
    }

    const NAMES: [&str; 4] = ["title", "alarms", "start", "seq"];

    /// Everything [`Before`] says of `before` is what `original` holds, and `prior.changed`
    /// is exactly whether `after` differs from it.
    fn check(prior: &Prior, original: &RecordState, after: &RecordState) {
        let before = Before::kept(prior, after);
        assert_eq!(prior.changed(after), after != original, "changed misreported");
        assert_eq!(before.to_state().as_ref(), original);
        assert_eq!(before.lifecycle(), original.lifecycle());
        assert_eq!(before.exists(), original.exists());
        assert_eq!(before.is_deleted(), original.is_deleted());
        assert_eq!(before.max_counters().as_ref(), &original.max_counters());
        for name in NAMES {
            assert_eq!(before.register(name), original.registers().get(name), "{name}");
            assert_eq!(before.map(name), original.maps().get(name), "{name}");
            assert_eq!(before.minimum(name), original.minimums().get(name), "{name}");
            assert_eq!(before.maximum(name), original.maximums().get(name), "{name}");
        }
        let whole = Before::whole(original);
        assert_eq!(whole.to_state().as_ref(), original);
        assert_eq!(whole.max_counters().as_ref(), &original.max_counters());
    }

    impl Replica {
        /// A transaction of `writes` with one dot, as `ReplicaState::apply` runs it: the prior
        /// keeps what each write can alter before it is applied.
        fn transact(&mut self, writes: &[Write]) {
            let dot = Dot { replica: self.id, counter: self.seen.get(&self.id) + 1 };
            let hlc = Hlc { millis: dot.counter, logical: 0 };
            let mut seen = self.seen.clone();
            seen.advance(dot.replica, dot.counter);
            let original = self.state.clone();
            let mut prior = Prior::new(&self.state);
            let mut state = self.state.clone();
            for write in writes {
                prior.keep_for_write(&state, write);
                if state.apply_local(write, dot, hlc, &seen).is_err() {
                    return;
                }
            }
            check(&prior, &original, &state);
            if state != original {
                self.state = state;
                self.seen = seen;
            }
        }

        fn receive(&mut self, from: &Replica) {
            if let Some(delta) = from.state.delta(&self.seen) {
                let original = self.state.clone();
                let prior = Prior::before_join(&self.state, &delta);
                self.state.join(&delta, &self.seen, &from.seen);
                check(&prior, &original, &self.state);
            }
            self.seen.join(&from.seen);
        }
    }

    fn write() -> impl Strategy<Value = Write> {
        let value = (0..3i64).prop_map(Value::Int);
        let key = prop::sample::select(vec!["a1", "a2"]);
        prop_oneof![
            4 => value.clone().prop_map(|value| Write::Set { field: "title".into(), value }),
            2 => (key.clone(), value.clone()).prop_map(|(key, value)| Write::SetMember {
                field: "alarms".into(),
                key: key.into(),
                member_field: "trigger".into(),
                value,
            }),
            1 => key.prop_map(|key| Write::RemoveMember { field: "alarms".into(), key: key.into() }),
            1 => value.clone().prop_map(|value| Write::Min { field: "start".into(), value }),
            1 => value.prop_map(|value| Write::Max { field: "seq".into(), value }),
            1 => Just(Write::Delete),
            1 => Just(Write::Restore),
        ]
    }

    #[derive(Clone, Debug)]
    enum Step {
        Transact { replica: usize, writes: Vec<Write> },
        Sync { from: usize, to: usize },
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (0..3usize, prop::collection::vec(write(), 1..4))
                .prop_map(|(replica, writes)| Step::Transact { replica, writes }),
            (0..3usize, 0..3usize).prop_map(|(from, to)| Step::Sync { from, to }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        /// Whatever writes and joins run, a prior and the state after give back exactly the
        /// state before, and say exactly whether it changed.
        #[test]
        fn a_prior_and_the_state_after_are_the_state_before(steps in prop::collection::vec(step(), 1..60)) {
            let mut replicas: Vec<Replica> = (1..=3u8)
                .map(|n| Replica {
                    id: ReplicaId::from_bytes([n; 16]),
                    seen: VersionVector::new(),
                    state: RecordState::default(),
                })
                .collect();
            for step in steps {
                match step {
                    Step::Transact { replica, writes } => replicas[replica].transact(&writes),
                    Step::Sync { from, to } => {
                        let sender = replicas[from].clone();
                        replicas[to].receive(&sender);
                    }
                }
            }
        }
    }

    #[test]
    fn only_the_parts_a_change_can_alter_are_copied() {
        let id = ReplicaId::from_bytes([1; 16]);
        let seen: VersionVector = [(id, 1)].into_iter().collect();
        let mut state = RecordState::default();
        for field in ["title", "notes", "location"] {
            let write = Write::Set { field: field.into(), value: Value::from("x") };
            state
                .apply_local(&write, Dot { replica: id, counter: 1 }, Hlc::default(), &seen)
                .unwrap();
        }
        let mut prior = Prior::new(&state);
        prior.keep_for_write(&state, &Write::Set { field: "title".into(), value: Value::Int(1) });
        prior.keep_for_write(&state, &Write::Set { field: "title".into(), value: Value::Int(2) });
        assert_eq!(prior.registers.len(), 1, "one copy of the one field written");
        assert!(prior.lifecycle.is_none(), "the record exists: its lifecycle is not altered");
        prior.keep_for_write(&state, &Write::Delete);
        assert!(prior.lifecycle.is_some());
    }
}
