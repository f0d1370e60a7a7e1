//! Moving a store to a fresh replica id when sync found that a copy of it (copied together
//! with its device marker) wrote under the same id: every write of the old id that never left
//! this store is re-stamped under the new id, counters kept (`crdt/restamp.rs`,
//! `docs/decisions/0025-copied-stores-and-retired-devices.md`).

use std::sync::Arc;

use rusqlite::{OptionalExtension, Transaction, params};

use super::view::DerivedView;
use super::{Replicas, SqliteRecords, stored_space, sync_state};
use crate::crdt::{RecordKey, ReplicaId, Restamp};
use crate::error::Result;
use crate::replica::RecordStore;

/// Gives the store of `tx` a fresh replica id and moves its unsent writes to it, in every
/// space; returns the new id. Also forgets what sync remembered per peer (the vectors last
/// exchanged and deltas half received were about the old id's writes), so the next session
/// starts with full vectors.
pub fn renew(tx: &Transaction<'_>, views: &[Arc<dyn DerivedView>]) -> Result<ReplicaId> {
    let new = ReplicaId::random()?;
    renew_to(tx, views, new)?;
    Ok(new)
}

/// [`renew`] to the id `new` chosen by the caller (opening a restored store names it in the
/// device marker first).
pub fn renew_to(
    tx: &Transaction<'_>,
    views: &[Arc<dyn DerivedView>],
    new: ReplicaId,
) -> Result<()> {
    let old = super::replica_id(tx)?;
    // Rows of `space_clock` may be deleted below, and the latest clock may be in one of them.
    super::keep_hlc_in_meta(tx)?;
    let mut replicas = Replicas::default();
    if let Some(old_idx) = replicas.lookup(tx, old)? {
        let new_idx = replicas.index(tx, new)?;
        let spaces: Vec<(i64, String)> = {
            let mut statement = tx.prepare("SELECT sid, name FROM spaces ORDER BY sid")?;
            let rows = statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        for (sid, name) in spaces {
            let space = stored_space(name)?;
            let above = sync_state::released(tx, sid, old)?;
            let seen: Option<i64> = tx
                .query_row(
                    "SELECT seen FROM space_clock WHERE sid = ?1 AND replica = ?2",
                    params![sid, old_idx],
                    |row| row.get(0),
                )
                .optional()?;
            let seen = seen.map_or(0, |s| u64::try_from(s).unwrap_or(0));
            if seen <= above {
                continue;
            }
            let keys: Vec<RecordKey> = {
                let mut statement = tx.prepare(
                    "SELECT k.name, r.id FROM record_clock c JOIN records r ON r.rid = c.rid
                     JOIN collections k ON k.cid = r.cid WHERE c.replica = ?1 AND c.counter > ?2 AND r.sid = ?3",
                )?;
                let rows = statement.query_map(params![old_idx, above as i64, sid], |row| {
                    Ok(RecordKey::new(row.get::<_, String>(0)?, row.get::<_, String>(1)?))
                })?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            let rule = Restamp { from: old, above, to: new };
            let mut records = SqliteRecords::new(tx, &space, sid, views);
            for key in keys {
                let Some(mut state) = records.load(&key)? else { continue };
                if state.restamp(&rule) {
                    records.save(&key, &state)?;
                }
            }
            // The old id's writes above `above` are the other copy's now: this store has not
            // seen them, so the next sync brings them.
            if above == 0 {
                tx.execute(
                    "DELETE FROM space_clock WHERE sid = ?1 AND replica = ?2",
                    params![sid, old_idx],
                )?;
            } else {
                tx.execute(
                    "UPDATE space_clock SET seen = ?3 WHERE sid = ?1 AND replica = ?2",
                    params![sid, old_idx, above as i64],
                )?;
            }
            tx.execute(
                "INSERT INTO space_clock (sid, replica, seen) VALUES (?1, ?2, ?3)",
                params![sid, new_idx, seen as i64],
            )?;
        }
    }
    tx.execute("DELETE FROM sync_peers", [])?;
    tx.execute("DELETE FROM sync_inbound", [])?;
    tx.execute("UPDATE meta SET value = ?1 WHERE key = 'replica_id'", [new.to_bytes().to_vec()])?;
    Ok(())
}
