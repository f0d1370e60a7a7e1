//! Garbage collection of the records of one space: the storage half of the causal-stability
//! rules in `crdt/stability.rs` (see `docs/decisions/0014-causal-stability-and-trash.md`).
//!
//! Work is done in batches of records, each inside the caller's write transaction, so a large
//! space does not hold the writer for one long transaction. Every decision is taken on the
//! record as it is in that transaction, so commits between batches cannot make it unsafe.

use rusqlite::{Connection, params};

use crate::crdt::{RecordKey, RecordState, SpaceId, VersionVector};
use crate::error::{Error, Result};
use crate::replica::RecordStore;

use crate::storage::sqlite::{SqliteRecords, decode_record, load_seen};

/// What one batch collected.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Collected {
    /// Keyed-map members dropped whole (their removal was seen by every replica).
    pub members_purged: usize,
    /// Deleted records whose rows were removed (stable, and past the retention period).
    pub records_purged: usize,
    /// The row id to continue after, or `None` when the space has been gone through.
    pub next: Option<i64>,
}

/// Collects garbage among the records of space `space` (row id `sid`) with row ids above
/// `after`, looking at up to `limit` records.
///
/// Removals inside `stable` are purged from the records (`RecordState::purge`). A deleted
/// record whose entries are all inside `stable` and whose deletion's clock is at or before
/// `expired_at_millis` (now minus the retention period) is removed with its clock rows and
/// derived rows (`SqliteRecords::remove`).
///
/// Refuses a `stable` this replica has not seen itself: it cannot be something every replica
/// has seen, so the caller computed it wrongly and nothing should be dropped on its word.
pub fn collect_batch(
    conn: &Connection,
    space: &SpaceId,
    sid: i64,
    stable: &VersionVector,
    expired_at_millis: u64,
    after: i64,
    limit: usize,
) -> Result<Collected> {
    if !load_seen(conn, sid)?.dominates(stable) {
        return Err(Error::InvalidInput(format!(
            "the stable version vector of space {space} holds writes this replica has not seen; \
             it must be seen by every replica, this one included"
        )));
    }
    let rows = batch(conn, sid, after, limit)?;
    let mut collected = Collected {
        next: (rows.len() == limit).then(|| rows.last().map(|(rid, ..)| *rid)).flatten(),
        ..Collected::default()
    };
    // Purged records are saved without derived views: a purge drops only removals nobody can
    // see, so nothing a view derives changes (and `Store` keeps its views to itself).
    let mut records = SqliteRecords::new(conn, space, sid, &[]);
    for (rid, key, mut state) in rows {
        let expired = state.deleted_at().is_some_and(|at| at.millis <= expired_at_millis);
        if expired && state.purgeable_tombstone(stable) {
            records.remove(rid, &state)?;
            collected.records_purged += 1;
            continue;
        }
        let members_before = member_count(&state);
        if state.purge(stable) {
            collected.members_purged += members_before - member_count(&state);
            records.save(&key, &state)?;
        }
    }
    Ok(collected)
}

/// Up to `limit` records of space `sid` after row id `after`, in row id order, read whole
/// before any is changed (changing rows under an open `SELECT` leaves what it returns next
/// undefined).
fn batch(
    conn: &Connection,
    sid: i64,
    after: i64,
    limit: usize,
) -> Result<Vec<(i64, RecordKey, RecordState)>> {
    let mut statement = conn.prepare_cached(
        "SELECT r.rid, k.name, r.id, r.state FROM records r JOIN collections k ON k.cid = r.cid
         WHERE r.sid = ?1 AND r.rid > ?2 ORDER BY r.rid LIMIT ?3",
    )?;
    let rows = statement.query_map(
        params![sid, after, i64::try_from(limit).unwrap_or(i64::MAX)],
        |row| {
            Ok((
                row.get::<_, i64>(0)?,
                RecordKey::new(row.get::<_, String>(1)?, row.get::<_, String>(2)?),
                row.get::<_, Vec<u8>>(3)?,
            ))
        },
    )?;
    let mut records = Vec::new();
    for row in rows {
        let (rid, key, bytes) = row?;
        records.push((rid, key, decode_record(conn, &bytes)?));
    }
    Ok(records)
}

fn member_count(state: &RecordState) -> usize {
    state.maps().values().map(|members| members.len()).sum()
}
