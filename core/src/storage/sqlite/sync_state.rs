//! What sync keeps between sessions: the version vectors last exchanged with each peer, and
//! deltas received in chunks that are not applied yet (see `docs/protocol.md`).

use rusqlite::{Connection, OptionalExtension, params};

use crate::codec::{self, Kind};
use crate::crdt::{Hlc, RecordDelta, RecordKey, ReplicaId, SpaceId, VersionVector};
use crate::error::Result;
// The types are the sync protocol's; this module keeps them in SQLite.
pub use crate::sync::{Direction, Inbound};

/// The vector last exchanged with `peer` for space `sid` in `direction`.
pub fn peer_vector(
    conn: &Connection,
    peer: ReplicaId,
    sid: i64,
    direction: Direction,
) -> Result<Option<VersionVector>> {
    let sql = match direction {
        Direction::Sent => "SELECT sent FROM sync_peers WHERE peer = ?1 AND sid = ?2",
        Direction::Received => "SELECT received FROM sync_peers WHERE peer = ?1 AND sid = ?2",
    };
    let blob: Option<Option<Vec<u8>>> = conn
        .prepare_cached(sql)?
        .query_row(params![peer.to_bytes().to_vec(), sid], |row| row.get(0))
        .optional()?;
    blob.flatten().map(|b| codec::decode(Kind::VersionVector, &b)).transpose()
}

/// Remembers the vector exchanged with `peer` for space `sid` in `direction`.
pub fn set_peer_vector(
    conn: &Connection,
    peer: ReplicaId,
    sid: i64,
    direction: Direction,
    vector: &VersionVector,
) -> Result<()> {
    let blob = codec::encode(Kind::VersionVector, vector)?;
    let sql = match direction {
        Direction::Sent => {
            "INSERT INTO sync_peers (peer, sid, sent) VALUES (?1, ?2, ?3)
             ON CONFLICT (peer, sid) DO UPDATE SET sent = excluded.sent"
        }
        Direction::Received => {
            "INSERT INTO sync_peers (peer, sid, received) VALUES (?1, ?2, ?3)
             ON CONFLICT (peer, sid) DO UPDATE SET received = excluded.received"
        }
    };
    conn.prepare_cached(sql)?.execute(params![peer.to_bytes().to_vec(), sid, blob])?;
    Ok(())
}

/// The highest counter of `replica` (this store's own id) in space `sid` that ever left this
/// store in a delta; 0 if none did.
pub fn released(conn: &Connection, sid: i64, replica: ReplicaId) -> Result<u64> {
    let counter: Option<i64> = conn
        .prepare_cached(
            "SELECT s.counter FROM space_released s JOIN replicas r ON r.idx = s.replica
             WHERE s.sid = ?1 AND r.replica = ?2",
        )?
        .query_row(params![sid, replica.to_bytes().to_vec()], |row| row.get(0))
        .optional()?;
    Ok(counter.map_or(0, |c| u64::try_from(c).unwrap_or(0)))
}

/// Records that `replica`'s writes in space `sid` up to `counter` are leaving this store
/// (never lowers it). A replica that never wrote has nothing to release.
pub fn mark_released(conn: &Connection, sid: i64, replica: ReplicaId, counter: u64) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO space_released (sid, replica, counter)
         SELECT ?1, idx, ?3 FROM replicas WHERE replica = ?2
         ON CONFLICT (sid, replica) DO UPDATE SET counter = max(counter, excluded.counter)",
    )?
    .execute(params![
        sid,
        replica.to_bytes().to_vec(),
        i64::try_from(counter).unwrap_or(i64::MAX)
    ])?;
    Ok(())
}

/// The delta being received from `peer` for space `sid`, if any.
pub fn inbound(conn: &Connection, peer: ReplicaId, sid: i64) -> Result<Option<Inbound>> {
    type Row = (Vec<u8>, Vec<u8>, i64, i64, i64, Option<String>, Option<String>, bool);
    let row: Option<Row> = conn
        .prepare_cached(
            "SELECT since, context, hlc_millis, hlc_logical, next_seq, last_collection, last_id,
                    complete
             FROM sync_inbound WHERE peer = ?1 AND sid = ?2",
        )?
        .query_row(params![peer.to_bytes().to_vec(), sid], |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
                row.get(5)?,
                row.get(6)?,
                row.get(7)?,
            ))
        })
        .optional()?;
    let Some((since, context, millis, logical, next_seq, collection, id, complete)) = row else {
        return Ok(None);
    };
    Ok(Some(Inbound {
        since: codec::decode(Kind::VersionVector, &since)?,
        context: codec::decode(Kind::VersionVector, &context)?,
        hlc: Hlc {
            millis: u64::try_from(millis).unwrap_or(0),
            logical: u32::try_from(logical).unwrap_or(0),
        },
        next_seq: u32::try_from(next_seq).unwrap_or(0),
        last_key: collection.zip(id).map(|(c, i)| RecordKey::new(c, i)),
        complete,
    }))
}

/// Every (peer, space) with a complete delta staged but not applied yet.
pub fn complete_inbound(conn: &Connection) -> Result<Vec<(ReplicaId, SpaceId)>> {
    let mut statement = conn.prepare_cached(
        "SELECT i.peer, s.name FROM sync_inbound i JOIN spaces s ON s.sid = i.sid
         WHERE i.complete = 1",
    )?;
    let rows = statement.query_map([], |row| Ok((row.get::<_, Vec<u8>>(0)?, row.get(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (peer, space) = row?;
        if let Ok(bytes) = <[u8; 16]>::try_from(peer) {
            out.push((ReplicaId::from_bytes(bytes), super::stored_space(space)?));
        }
    }
    Ok(out)
}

/// Starts (or restarts) receiving a delta: a fresh stream drops whatever was staged before; a
/// resumed one keeps it and moves the header to the sender's newer vector and clock.
pub fn begin_inbound(
    conn: &Connection,
    peer: ReplicaId,
    sid: i64,
    since: &VersionVector,
    context: &VersionVector,
    hlc: Hlc,
    resumed: bool,
) -> Result<()> {
    let peer_bytes = peer.to_bytes().to_vec();
    let since = codec::encode(Kind::VersionVector, since)?;
    let context = codec::encode(Kind::VersionVector, context)?;
    let millis = i64::try_from(hlc.millis).unwrap_or(i64::MAX);
    if resumed {
        let updated = conn
            .prepare_cached(
                "UPDATE sync_inbound SET since = ?3, context = ?4, hlc_millis = ?5,
                 hlc_logical = ?6 WHERE peer = ?1 AND sid = ?2",
            )?
            .execute(params![peer_bytes, sid, since, context, millis, hlc.logical])?;
        if updated == 1 {
            return Ok(());
        }
    }
    conn.prepare_cached("DELETE FROM sync_inbound WHERE peer = ?1 AND sid = ?2")?
        .execute(params![peer_bytes, sid])?;
    conn.prepare_cached(
        "INSERT INTO sync_inbound (peer, sid, since, context, hlc_millis, hlc_logical, next_seq,
                                   complete)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, 0)",
    )?
    .execute(params![peer_bytes, sid, since, context, millis, hlc.logical])?;
    Ok(())
}

/// Stages some records of a chunk (records replace earlier copies of the same key: a resumed
/// stream resends the records that changed meanwhile). A chunk may be staged in several
/// transactions; [`finish_chunk`] then records it as received.
pub fn stage_records(
    conn: &Connection,
    peer: ReplicaId,
    sid: i64,
    records: &[(RecordKey, RecordDelta)],
) -> Result<()> {
    let peer_bytes = peer.to_bytes().to_vec();
    let mut insert = conn.prepare_cached(
        "INSERT OR REPLACE INTO sync_staged (peer, sid, collection, id, record)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for (key, record) in records {
        let blob = codec::encode(Kind::RecordDelta, record)?;
        insert.execute(params![peer_bytes, sid, key.collection, key.id, blob])?;
    }
    Ok(())
}

/// Records chunk `seq`, whose greatest key is `greatest`, as received (and the delta as
/// complete after its `last` chunk).
pub fn finish_chunk(
    conn: &Connection,
    peer: ReplicaId,
    sid: i64,
    seq: u32,
    greatest: Option<&RecordKey>,
    last: bool,
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE sync_inbound SET next_seq = ?3, complete = ?4,
             last_collection = CASE WHEN ?5 IS NULL THEN last_collection ELSE ?5 END,
             last_id = CASE WHEN ?5 IS NULL THEN last_id ELSE ?6 END
         WHERE peer = ?1 AND sid = ?2",
    )?
    .execute(params![
        peer.to_bytes().to_vec(),
        sid,
        i64::from(seq) + 1,
        last,
        greatest.map(|k| k.collection.as_str()),
        greatest.map(|k| k.id.as_str()),
    ])?;
    Ok(())
}

/// Every record staged from `peer` for space `sid`, in key order.
pub fn staged(
    conn: &Connection,
    peer: ReplicaId,
    sid: i64,
) -> Result<Vec<(RecordKey, RecordDelta)>> {
    let mut statement = conn.prepare_cached(
        "SELECT collection, id, record FROM sync_staged WHERE peer = ?1 AND sid = ?2
         ORDER BY collection, id",
    )?;
    let rows = statement.query_map(params![peer.to_bytes().to_vec(), sid], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?, row.get::<_, Vec<u8>>(2)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (collection, id, blob) = row?;
        out.push((RecordKey::new(collection, id), codec::decode(Kind::RecordDelta, &blob)?));
    }
    Ok(out)
}

/// Forgets the delta received from `peer` for space `sid` (applied, or refused).
pub fn drop_inbound(conn: &Connection, peer: ReplicaId, sid: i64) -> Result<()> {
    conn.prepare_cached("DELETE FROM sync_inbound WHERE peer = ?1 AND sid = ?2")?
        .execute(params![peer.to_bytes().to_vec(), sid])?;
    Ok(())
}
