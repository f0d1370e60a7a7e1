//! A device the sync server retired fetches its spaces again from scratch and then writes its
//! own unsent writes again on top (`docs/decisions/0025-copied-stores-and-retired-devices.md`).
//!
//! Why not simply sync the old state: while the device was retired, the others' stable point
//! moved past what it had seen, so they may have purged tombstones its old writes are
//! concurrent with (an edit of an event deleted and purged from every trash). Sent with their
//! old dots, such writes would meet records the others no longer have. Written again as new
//! writes on the fresh state, they come after everything the device now knows: causally
//! stable for everyone. The price is that a write that was concurrent with a remote one
//! becomes a later one (it wins instead of being listed as a conflict); a device silent for
//! months accepts that.

use crate::Store;
use crate::crdt::{Dot, Entry, RecordState, SpaceId, Write};
use crate::error::Result;
use crate::replica::{Changes, Operation, RecordStore};
use crate::storage::sqlite;
use crate::store::Origin;

impl Store {
    /// Whether `space` was re-joined ([`Store::rejoin_space`]) and its stash still waits for
    /// [`Store::finish_rejoin`].
    pub fn rejoin_pending(&self, space: &str) -> Result<bool> {
        let space = SpaceId::new(space)?;
        self.read(|conn| sqlite::rejoin::has_stash(conn, &space))
    }

    /// Once the fresh copy of a re-joined space has arrived: writes every record's unsent
    /// writes of this store (those the fresh copy has not seen) again as this store's new
    /// writes, then forgets the stash, all in one transaction. A record deleted meanwhile
    /// keeps its deletion and takes the writes into the trash (restorable with them); a record
    /// the fresh copy no longer has at all (deleted and purged from every trash) comes back
    /// whole as this device saw it, in the trash, unless this device created it and never
    /// sent it. Returns what changed; nothing when no stash waits.
    pub fn finish_rejoin(&self, space: &str) -> Result<Changes> {
        let space_id = SpaceId::new(space)?;
        let Some(stash) = self.read(|conn| sqlite::rejoin::stashed(conn, &space_id))? else {
            return Ok(Changes::default());
        };
        let replica = stash.replica;
        let now = self.now_millis();
        let changes = self.write_space(&space_id, Origin::Local, |state, records| {
            let above = state.seen.get(&replica);
            let unsent = |dot: &Dot| dot.replica == replica && dot.counter > above;
            let mut changes = Changes::default();
            for (key, old) in &stash.records {
                let fresh = records.load(key)?;
                let writes = writes_again(old, fresh.as_ref(), &unsent);
                if writes.is_empty() {
                    continue;
                }
                let operations: Vec<Operation> =
                    writes.into_iter().map(|write| Operation { key: key.clone(), write }).collect();
                let done = state.commit(records, &operations, now)?;
                changes.records.extend(done.records);
            }
            sqlite::rejoin::drop_stash(records.connection(), &space_id)?;
            Ok(changes)
        })?;
        self.deliver();
        Ok(changes)
    }
}

fn has_unsent<T>(entries: &[Entry<T>], unsent: &impl Fn(&Dot) -> bool) -> bool {
    entries.iter().any(|e| unsent(&e.dot))
}

/// The local writes that carry `old`'s unsent writes onto `fresh` (the record as the fresh
/// copy has it, if at all): for each field with an unsent entry, the value this device showed.
fn writes_again(
    old: &RecordState,
    fresh: Option<&RecordState>,
    unsent: &impl Fn(&Dot) -> bool,
) -> Vec<Write> {
    let mut fields = Vec::new();
    for (field, register) in old.registers() {
        if let (true, Some(shown)) = (has_unsent(register.entries(), unsent), register.winner()) {
            fields.push(Write::Set { field: field.to_string(), value: shown.value.clone() });
        }
    }
    for (field, members) in old.maps() {
        for (key, member) in members {
            let touched = has_unsent(member.presence().entries(), unsent)
                || member.fields().values().any(|r| has_unsent(r.entries(), unsent));
            if !touched {
                continue;
            }
            if !member.is_present() {
                fields.push(Write::RemoveMember { field: field.to_string(), key: key.clone() });
                continue;
            }
            for (member_field, register) in member.fields() {
                if let Some(shown) = register.winner() {
                    fields.push(Write::SetMember {
                        field: field.to_string(),
                        key: key.clone(),
                        member_field: member_field.to_string(),
                        value: shown.value.clone(),
                    });
                }
            }
        }
    }
    for (field, extremum) in old.minimums() {
        if let Some(entry) = extremum.entry().filter(|e| unsent(&e.dot)) {
            fields.push(Write::Min { field: field.to_string(), value: entry.value.clone() });
        }
    }
    for (field, extremum) in old.maximums() {
        if let Some(entry) = extremum.entry().filter(|e| unsent(&e.dot)) {
            fields.push(Write::Max { field: field.to_string(), value: entry.value.clone() });
        }
    }
    let deleted_here = old.is_deleted();
    let lifecycle_unsent = has_unsent(old.lifecycle().entries(), unsent);
    if fields.is_empty() && !lifecycle_unsent {
        return Vec::new();
    }
    let mut writes = Vec::new();
    match fresh.filter(|f| f.exists()) {
        None => {
            // Nothing of it arrived (purged everywhere): bring the whole record back as this
            // device showed it, so it is not a few stray fields; into the trash if deleted here.
            for (field, register) in old.registers() {
                if let Some(shown) = register.winner() {
                    writes
                        .push(Write::Set { field: field.to_string(), value: shown.value.clone() });
                }
            }
            writes.extend(fields.into_iter().filter(|w| !matches!(w, Write::Set { .. })));
            // Created here and never sent, it comes back as it was. Created elsewhere (or
            // sent), the others dropped it because it was deleted and its trash time ran out:
            // it stays deleted, and the writes go to the trash with it.
            if !writes.is_empty() && (deleted_here || !lifecycle_unsent) {
                writes.push(Write::Delete);
            }
        }
        Some(fresh) => {
            // This device's own deletion or restore counts if it was not sent; otherwise the
            // record stays as the others left it.
            let wants_deleted = if lifecycle_unsent { deleted_here } else { fresh.is_deleted() };
            let has_fields = !fields.is_empty();
            // Writes into a deleted record go through a restore, and it is deleted again
            // unless this device had restored it: the trash then holds the writes.
            if fresh.is_deleted() && (has_fields || !wants_deleted) {
                writes.push(Write::Restore);
            }
            writes.extend(fields);
            if wants_deleted && (!fresh.is_deleted() || has_fields) {
                writes.push(Write::Delete);
            }
        }
    }
    writes
}
