//! The replica engine: turns transactions and deltas into record changes, over any storage
//! backend that implements [`RecordStore`].
//!
//! It owns the per-replica bookkeeping the CRDT rules need — the next dot, the hybrid clock,
//! the version vector — and leaves keeping records to the backend. The SQLite store and the
//! in-memory store both run exactly this code, so the same rules hold on disk and in tests.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::crdt::{
    Before, ClockSkew, Delta, Dot, Hlc, Prior, RecordDelta, RecordKey, RecordState, Refusal,
    ReplicaId, SpaceId, VersionVector, Write, validate_delta,
};
use crate::error::{Error, Result};

/// What the engine needs from a storage backend.
pub trait RecordStore {
    /// The record at `key`, if this replica has it (live or deleted).
    fn load(&mut self, key: &RecordKey) -> Result<Option<RecordState>>;
    /// Stores `state` at `key`, replacing what was there.
    fn save(&mut self, key: &RecordKey, state: &RecordState) -> Result<()>;
    /// Stores `state` at `key` where `before` is what [`RecordStore::load`] returned for `key`
    /// in this transaction (`None`: the record did not exist), usually as the parts the change
    /// replaced (decision 0053). A backend may use it to write only what changed; the default
    /// ignores it.
    fn save_changed(
        &mut self,
        key: &RecordKey,
        before: Option<Before<'_>>,
        state: &RecordState,
    ) -> Result<()> {
        let _ = before;
        self.save(key, state)
    }
    /// Every record holding an entry whose dot `since` does not contain, with its state, in any
    /// order. `local` is this replica's version vector (a backend may use it to skip replicas
    /// with nothing new). Keys and states come together so a backend reads each record once
    /// (decision 0040).
    fn records_with_unseen(
        &mut self,
        since: &VersionVector,
        local: &VersionVector,
    ) -> Result<Vec<(RecordKey, RecordState)>>;
}

/// One replica's bookkeeping for one space: who it is, its clock, and what it has seen of the
/// space. The clock is the store's (shared by its spaces); the version vector is the space's.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ReplicaState {
    /// This replica's id.
    pub id: ReplicaId,
    /// The clock of the latest write made or seen.
    pub hlc: Hlc,
    /// Every write seen, including this replica's own.
    pub seen: VersionVector,
}

/// One write to one record, as a transaction lists them.
#[derive(Clone, PartialEq, Debug)]
pub struct Operation {
    /// The record written.
    pub key: RecordKey,
    /// What is written.
    pub write: Write,
}

/// What a commit (local or remote) changed.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Changes {
    /// The records whose state changed, in key order.
    pub records: Vec<RecordKey>,
    /// Set when a received delta came from a replica whose clock is far ahead of this
    /// device's (see `Hlc::observe`): worth showing to the user or logging.
    pub clock_skew: Option<ClockSkew>,
}

impl ReplicaState {
    /// A replica that has seen nothing yet.
    pub fn new(id: ReplicaId) -> Self {
        Self { id, hlc: Hlc::default(), seen: VersionVector::new() }
    }

    /// Applies a local transaction atomically: every operation is stamped with one new dot, and
    /// either all are saved or (on a refused write) none is and the state is unchanged.
    pub fn commit(
        &mut self,
        store: &mut impl RecordStore,
        operations: &[Operation],
        physical_millis: u64,
    ) -> Result<Changes> {
        for operation in operations {
            validate(operation)?;
        }
        if operations.is_empty() {
            return Ok(Changes::default());
        }
        let dot = Dot { replica: self.id, counter: self.seen.get(&self.id) + 1 };
        let hlc = self.hlc.tick(physical_millis)?;
        let mut seen = self.seen.clone();
        seen.advance(dot.replica, dot.counter);

        // Load and change everything first, save only once every write was accepted. Writes
        // to one record usually come together (a new event's ten fields), so the record written
        // last is tried before the look-up: an ordered map of the keys cost a fifth of a
        // 2,000-event commit in key comparisons.
        // Each record is kept with what it was (the parts its writes alter, decision 0053).
        let mut touched: Vec<(RecordKey, Option<Prior>, RecordState)> = Vec::new();
        let mut position: HashMap<&RecordKey, usize> = HashMap::new();
        let mut last: Option<usize> = None;
        for operation in operations {
            let i = match last {
                Some(i) if touched[i].0 == operation.key => i,
                _ => match position.get(&operation.key) {
                    Some(&i) => i,
                    None => {
                        let loaded = store.load(&operation.key)?;
                        let prior = loaded.as_ref().map(Prior::new);
                        touched.push((operation.key.clone(), prior, loaded.unwrap_or_default()));
                        position.insert(&operation.key, touched.len() - 1);
                        touched.len() - 1
                    }
                },
            };
            last = Some(i);
            let (_, prior, state) = &mut touched[i];
            if let Some(prior) = prior {
                prior.keep_for_write(state, &operation.write);
            }
            state.apply_local(&operation.write, dot, hlc, &seen).map_err(
                |refusal| match refusal {
                    Refusal::NotFound => Error::RecordNotFound(operation.key.clone()),
                    Refusal::Deleted => Error::RecordDeleted(operation.key.clone()),
                },
            )?;
        }
        // Saved in key order, as before.
        touched.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut changes = Changes::default();
        for (key, prior, after) in touched {
            let changed = match &prior {
                Some(prior) => prior.changed(&after),
                None => after != RecordState::default(),
            };
            if changed {
                store.save_changed(
                    &key,
                    prior.as_ref().map(|p| Before::kept(p, &after)),
                    &after,
                )?;
                changes.records.push(key);
            }
        }
        // A transaction that changed nothing (deleting a deleted record) uses up no dot.
        if !changes.records.is_empty() {
            self.seen = seen;
            self.hlc = hlc;
        }
        Ok(changes)
    }

    /// Everything a replica that has seen `since` of `space` lacks from this one (`store` holds
    /// the records of that space).
    pub fn delta_since(
        &self,
        store: &mut impl RecordStore,
        space: &SpaceId,
        since: &VersionVector,
    ) -> Result<Delta> {
        let mut records: Vec<(RecordKey, RecordDelta)> = store
            .records_with_unseen(since, &self.seen)?
            .into_iter()
            .filter_map(|(key, state)| state.into_delta(since).map(|delta| (key, delta)))
            .collect();
        records.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(Delta {
            space: space.clone(),
            since: since.clone(),
            context: self.seen.clone(),
            hlc: self.hlc,
            records,
        })
    }

    /// Merges a remote delta of the space `store` holds. Idempotent, and independent of the
    /// order deltas arrive in. A delta that is not well-formed, or that this replica cannot
    /// apply without losing writes, is refused whole: nothing of it is saved.
    /// `physical_millis` is the device clock, which bounds how far a remote clock may pull
    /// this replica's clock forward.
    pub fn apply(
        &mut self,
        store: &mut impl RecordStore,
        delta: &Delta,
        physical_millis: u64,
    ) -> Result<Changes> {
        self.apply_given_sent(store, delta, physical_millis, 0)
    }

    /// [`ReplicaState::apply`] for a replica that knows it has sent its own writes up to
    /// `sent` (see [`ReplicaState::check_applicable_given_sent`]).
    pub fn apply_given_sent(
        &mut self,
        store: &mut impl RecordStore,
        delta: &Delta,
        physical_millis: u64,
        sent: u64,
    ) -> Result<Changes> {
        self.check_applicable_given_sent(delta, sent)?;
        let mut changes = self.join_records(store, &delta.records, &delta.context)?;
        changes.clock_skew = self.finish_apply(&delta.context, delta.hlc, physical_millis);
        Ok(changes)
    }

    /// Whether `delta` can be merged here without losing or inventing writes: its base has
    /// been seen, it does not claim more of this replica's writes than the replica has, and it
    /// is well-formed. A delta applied in several transactions is checked once, whole.
    pub fn check_applicable(&self, delta: &Delta) -> Result<()> {
        self.check_applicable_given_sent(delta, 0)
    }

    /// [`ReplicaState::check_applicable`] for a replica that knows it has sent its own writes
    /// up to `sent` (decision 0025): a peer may hold those even when this replica does not
    /// any more (it fetched a space again from scratch and has not received them back yet).
    pub fn check_applicable_given_sent(&self, delta: &Delta, sent: u64) -> Result<()> {
        if !self.seen.dominates(&delta.since) {
            return Err(Error::DeltaNotApplicable);
        }
        if delta.context.get(&self.id) > self.seen.get(&self.id).max(sent) {
            return Err(Error::ReplicaRewound);
        }
        validate_delta(delta)
    }

    /// Joins some records of a delta whose version vector is `context`, without recording
    /// `context` as seen yet ([`ReplicaState::finish_apply`] does, once every record of the
    /// delta is in). Either every record is saved or, on an error, none.
    pub fn join_records<'r>(
        &self,
        store: &mut impl RecordStore,
        records: impl IntoIterator<Item = &'r (RecordKey, RecordDelta)>,
        context: &VersionVector,
    ) -> Result<Changes> {
        let records =
            records.into_iter().map(|(key, delta)| (Cow::Borrowed(key), Cow::Borrowed(delta)));
        self.join_each(store, records, context)
    }

    /// [`ReplicaState::join_records`] of records not needed afterwards: what they bring is
    /// moved into the stored records instead of copied (see [`RecordState::join_owned`]).
    pub fn join_owned_records(
        &self,
        store: &mut impl RecordStore,
        records: impl IntoIterator<Item = (RecordKey, RecordDelta)>,
        context: &VersionVector,
    ) -> Result<Changes> {
        let records = records.into_iter().map(|(key, delta)| (Cow::Owned(key), Cow::Owned(delta)));
        self.join_each(store, records, context)
    }

    fn join_each<'r>(
        &self,
        store: &mut impl RecordStore,
        records: impl Iterator<Item = (Cow<'r, RecordKey>, Cow<'r, RecordDelta>)>,
        context: &VersionVector,
    ) -> Result<Changes> {
        let mut joined = Vec::new();
        for (key, record) in records {
            let loaded = store.load(&key)?;
            if loaded.is_none() && record.lifecycle.is_none() {
                return Err(Error::Decode {
                    what: "a delta",
                    detail: format!(
                        "record {key} is new to this replica but the delta does not say whether \
                         it is live or deleted"
                    ),
                });
            }
            // `join` says whether anything changed, so an unchanged record costs no comparison
            // and no write. What the record was is kept for the store (it rewrites only the
            // clock-index rows that changed, and derived views compare against it): the parts
            // the delta carries, the only ones the join can alter (decision 0053).
            let prior = loaded.as_ref().map(|state| Prior::before_join(state, &record));
            let mut after = loaded.unwrap_or_default();
            let changed = match record {
                Cow::Borrowed(record) => after.join(record, &self.seen, context),
                Cow::Owned(record) => after.join_owned(record, &self.seen, context),
            };
            if changed {
                joined.push((key, prior, after));
            }
        }
        let mut changes = Changes::default();
        for (key, prior, after) in joined {
            store.save_changed(&key, prior.as_ref().map(|p| Before::kept(p, &after)), &after)?;
            changes.records.push(key.into_owned());
        }
        Ok(changes)
    }

    /// Records a delta's version vector as seen and observes the sender's clock, once all its
    /// records are joined. Returns the warning when the sender's clock is far ahead.
    pub fn finish_apply(
        &mut self,
        context: &VersionVector,
        hlc: Hlc,
        physical_millis: u64,
    ) -> Option<ClockSkew> {
        self.seen.join(context);
        let observed = self.hlc.observe(hlc, physical_millis);
        self.hlc = observed.hlc;
        observed.skew
    }
}

/// Upper bound on collection, id, field and key names, in bytes: generous for real ids, small
/// enough that a runaway caller gets an error instead of a bloated store.
pub const MAX_NAME_BYTES: usize = 1024;

fn validate(operation: &Operation) -> Result<()> {
    let check = |what: &str, name: &str| {
        if name.is_empty() {
            Err(Error::InvalidInput(format!("the {what} must not be empty")))
        } else if name.len() > MAX_NAME_BYTES {
            Err(Error::InvalidInput(format!(
                "the {what} is {} bytes long; the limit is {MAX_NAME_BYTES}",
                name.len()
            )))
        } else {
            Ok(())
        }
    };
    check("collection name", &operation.key.collection)?;
    check("record id", &operation.key.id)?;
    match &operation.write {
        Write::Set { field, .. } | Write::Min { field, .. } | Write::Max { field, .. } => {
            check("field name", field)
        }
        Write::SetMember { field, key, member_field, .. } => {
            check("field name", field)?;
            check("member key", key)?;
            check("member field name", member_field)
        }
        Write::RemoveMember { field, key } => {
            check("field name", field)?;
            check("member key", key)
        }
        Write::Delete | Write::Restore => Ok(()),
    }
}
