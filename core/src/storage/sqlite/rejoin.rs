//! The stash of a space a device fetches again from scratch after the server retired it
//! (`docs/decisions/0025-copied-stores-and-retired-devices.md`): the space's records as they
//! were, kept until the fresh copy has arrived and the store's own unsent writes are written
//! again on top of it.

use rusqlite::{Connection, OptionalExtension, params};

use super::decode_record;
use crate::crdt::{RecordKey, RecordState, ReplicaId, SpaceId};
use crate::error::{Error, Result};

/// Moves every record of space `sid` (named `space`) to the stash, remembering `replica` as
/// the id its unsent writes carry. The caller drops the space's rows afterwards.
pub fn stash(conn: &Connection, sid: i64, space: &SpaceId, replica: ReplicaId) -> Result<()> {
    conn.execute(
        "INSERT INTO rejoin_spaces (space, replica) VALUES (?1, ?2)",
        params![space.as_str(), replica.to_bytes().to_vec()],
    )?;
    conn.execute(
        "INSERT INTO rejoin_records (space, collection, id, state)
         SELECT ?1, k.name, r.id, r.state FROM records r JOIN collections k ON k.cid = r.cid
         WHERE r.sid = ?2",
        params![space.as_str(), sid],
    )?;
    Ok(())
}

/// Whether `space` has a stash waiting.
pub fn has_stash(conn: &Connection, space: &SpaceId) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM rejoin_spaces WHERE space = ?1")?
        .query_row([space.as_str()], |_| Ok(()))
        .optional()?
        .is_some())
}

/// What waits for a re-joined space.
pub struct Stash {
    /// The id this store wrote its unsent writes under.
    pub replica: ReplicaId,
    /// The records as they were, in key order.
    pub records: Vec<(RecordKey, RecordState)>,
}

/// The stash of `space`, if one waits.
pub fn stashed(conn: &Connection, space: &SpaceId) -> Result<Option<Stash>> {
    let replica: Option<Vec<u8>> = conn
        .prepare_cached("SELECT replica FROM rejoin_spaces WHERE space = ?1")?
        .query_row([space.as_str()], |row| row.get(0))
        .optional()?;
    let Some(replica) = replica else { return Ok(None) };
    let replica: [u8; 16] = replica
        .try_into()
        .map_err(|_| Error::Corrupt("a stashed replica id is not 16 bytes".into()))?;
    let mut statement = conn.prepare(
        "SELECT collection, id, state FROM rejoin_records WHERE space = ?1 ORDER BY collection, id",
    )?;
    let rows = statement.query_map([space.as_str()], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?, row.get::<_, Vec<u8>>(2)?))
    })?;
    let mut records = Vec::new();
    for row in rows {
        let (collection, id, state) = row?;
        records.push((RecordKey::new(collection, id), decode_record(conn, &state)?));
    }
    Ok(Some(Stash { replica: ReplicaId::from_bytes(replica), records }))
}

/// Forgets the stash of `space` (its writes are in, or the space was left).
pub fn drop_stash(conn: &Connection, space: &SpaceId) -> Result<()> {
    conn.execute("DELETE FROM rejoin_spaces WHERE space = ?1", [space.as_str()])?;
    Ok(())
}
