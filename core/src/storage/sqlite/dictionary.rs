//! The store's record dictionaries (`record_dictionaries`, decision 0032): made by
//! [`crate::Store::compact`] from a sample of the store's own records, loaded into the
//! process's registry (`crate::compression`) when a record names one, and used by every write
//! that follows.

use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, params};

use crate::codec;
use crate::compression::{self, DICTIONARY_LIMIT, RecordDictionary};
use crate::error::Result;

/// A store makes a dictionary once it holds this many live records: below it, the 4 KiB of
/// the dictionary outweigh what it saves.
pub const MIN_RECORDS: usize = 256;

/// A store's first dictionary is made by the commit that finds it holding [`MIN_RECORDS`] live
/// records (decision 0037); the records already there are compressed with it when they are at
/// most this many. More (a sync that brought a whole calendar in one transaction) wait for
/// `compact`, so one commit never rewrites a large store.
const COMPRESS_AT_ONCE: usize = 4 * MIN_RECORDS;

/// How many records, evenly spread over the store, the dictionary is made from.
const SAMPLES: usize = 16;

/// Records rewritten per statement while compressing a store (bounds the memory held).
const BATCH: i64 = 1000;

/// Registers every dictionary of the store and returns the one new records are compressed
/// against (the last made), if any.
pub fn load(conn: &Connection) -> Result<Option<Arc<RecordDictionary>>> {
    let mut statement =
        conn.prepare_cached("SELECT bytes FROM record_dictionaries ORDER BY did")?;
    let rows = statement.query_map([], |row| row.get::<_, Vec<u8>>(0))?;
    let mut current = None;
    for bytes in rows {
        let dictionary = Arc::new(RecordDictionary::new(bytes?));
        compression::register(&dictionary);
        current = Some(dictionary);
    }
    Ok(current)
}

/// Makes sure the dictionary a stored record names, if any, is registered.
pub fn ensure_loaded(conn: &Connection, record: &[u8]) -> Result<()> {
    if let Some(id) = codec::record_dictionary(record) {
        if !compression::is_registered(id) {
            load(conn)?;
        }
    }
    Ok(())
}

/// Makes the store's dictionary from a sample of its live records as they are now, when it
/// holds at least [`MIN_RECORDS`], and returns the dictionary to compress against (`None`: the
/// store is too small and has none yet).
///
/// Compaction calls it each time: records change with edits (new values, more stamps), and a
/// dictionary sampled from the records as they are compresses them better than one sampled
/// when they were created (W2: 7.9 → 5.7 B of growth per overwrite). A sample equal to the
/// current dictionary keeps it, and so does a small store that already has one.
pub fn make(conn: &Connection) -> Result<Option<Arc<RecordDictionary>>> {
    let current = load(conn)?;
    let rids: Vec<i64> = {
        let mut statement =
            conn.prepare("SELECT rid FROM records WHERE deleted = 0 ORDER BY rid")?;
        let rows = statement.query_map([], |row| row.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    if rids.len() < MIN_RECORDS {
        return Ok(current);
    }
    let mut bytes = Vec::with_capacity(DICTIONARY_LIMIT);
    for i in 0..SAMPLES {
        let rid = rids[i * rids.len() / SAMPLES];
        let blob: Vec<u8> =
            conn.query_row("SELECT state FROM records WHERE rid = ?1", [rid], |row| row.get(0))?;
        // The dictionary holds what compression sees: format 4's payload.
        let payload = codec::record_payload_for_dictionary(&super::decode_record(conn, &blob)?)?;
        let room = DICTIONARY_LIMIT - bytes.len();
        bytes.extend_from_slice(&payload[..payload.len().min(room)]);
        if bytes.len() == DICTIONARY_LIMIT {
            break;
        }
    }
    let dictionary = Arc::new(RecordDictionary::new(bytes));
    let name_taken: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM record_dictionaries WHERE id = ?1)",
        [dictionary.id()],
        |row| row.get(0),
    )?;
    if name_taken {
        // The same sample as before (the usual case when little changed), or, once in four
        // billion, other bytes with the same CRC-32C: records naming the older one could then
        // not tell which one they need once it is forgotten, so the older one stays.
        return Ok(current);
    }
    conn.execute(
        "INSERT INTO record_dictionaries (id, bytes) VALUES (?1, ?2)",
        params![dictionary.id(), dictionary.bytes()],
    )?;
    compression::register(&dictionary);
    Ok(Some(dictionary))
}

/// Makes a store's first dictionary, inside a commit, once the store holds [`MIN_RECORDS`]
/// live records (`None`: not yet), and compresses the records already there when they are few
/// enough (`COMPRESS_AT_ONCE`). Every later write is compressed against it, so a store that
/// never runs `compact` still keeps its records compressed (decision 0037).
///
/// Never fails the commit it runs in: the app's write matters more than its compression. On
/// an error (a record that cannot be read, a full disk) what it did is rolled back to a
/// savepoint and `None` returned; a later commit tries again.
pub fn make_first(conn: &Connection) -> Option<Arc<RecordDictionary>> {
    conn.execute_batch("SAVEPOINT first_dictionary").ok()?;
    match try_make_first(conn) {
        Ok(dictionary) if conn.execute_batch("RELEASE first_dictionary").is_ok() => dictionary,
        _ => {
            let _ = conn.execute_batch("ROLLBACK TO first_dictionary; RELEASE first_dictionary");
            None
        }
    }
}

fn try_make_first(conn: &Connection) -> Result<Option<Arc<RecordDictionary>>> {
    // `make` itself declines below MIN_RECORDS live records.
    let dictionary = make(conn)?;
    if let Some(dictionary) = &dictionary {
        let all: i64 = conn.query_row("SELECT count(*) FROM records", [], |row| row.get(0))?;
        if usize::try_from(all).unwrap_or(usize::MAX) <= COMPRESS_AT_ONCE {
            compress_records(conn, dictionary)?;
        }
    }
    Ok(dictionary)
}

/// Rewrites every stored record not yet compressed against `dictionary` (any other format, or
/// another dictionary), in the store and in rejoin stashes, as format 5 against it; then
/// forgets the dictionaries no record names any more. Returns how many records were
/// rewritten. Only the bytes change: the records' states, row ids and index rows stay as they
/// are.
///
/// Forgetting is safe for other connections: a reader reads a record and the dictionary it
/// names in one transaction (one snapshot), and a writer reloads the dictionary it compresses
/// against when another connection has written (`data_version`).
pub fn compress_records(conn: &Connection, dictionary: &RecordDictionary) -> Result<usize> {
    let mut rewritten = 0;
    let mut after = i64::MIN;
    loop {
        let batch: Vec<(i64, Vec<u8>)> = {
            let mut statement = conn.prepare_cached(
                "SELECT rid, state FROM records WHERE rid > ?1 ORDER BY rid LIMIT ?2",
            )?;
            let rows = statement.query_map([after, BATCH], |row| Ok((row.get(0)?, row.get(1)?)))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let Some(&(last, _)) = batch.last() else { break };
        after = last;
        for (rid, blob) in batch {
            if let Some(bytes) = recompressed(conn, &blob, dictionary)? {
                conn.prepare_cached("UPDATE records SET state = ?2 WHERE rid = ?1")?
                    .execute(params![rid, bytes])?;
                rewritten += 1;
            }
        }
    }
    // Stashes are small and rare: one statement reads them all.
    let stashed: Vec<(String, String, String, Vec<u8>)> = {
        let mut statement =
            conn.prepare("SELECT space, collection, id, state FROM rejoin_records")?;
        let rows = statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for (space, collection, id, blob) in stashed {
        if let Some(bytes) = recompressed(conn, &blob, dictionary)? {
            conn.execute(
                "UPDATE rejoin_records SET state = ?4
                 WHERE space = ?1 AND collection = ?2 AND id = ?3",
                params![space, collection, id, bytes],
            )?;
            rewritten += 1;
        }
    }
    conn.execute("DELETE FROM record_dictionaries WHERE id != ?1", [dictionary.id()])?;
    Ok(rewritten)
}

/// `blob` compressed against `dictionary`, or `None` when it already is.
fn recompressed(
    conn: &Connection,
    blob: &[u8],
    dictionary: &RecordDictionary,
) -> Result<Option<Vec<u8>>> {
    if codec::record_dictionary(blob) == Some(dictionary.id()) {
        return Ok(None);
    }
    let state = super::decode_record(conn, blob)?;
    Ok(Some(codec::encode_record_against(&state, Some(dictionary))?))
}

/// The size of the dictionary new records are compressed against, if any (for
/// `almanac stats`).
pub fn current_size(conn: &Connection) -> Result<Option<usize>> {
    Ok(conn
        .query_row(
            "SELECT length(bytes) FROM record_dictionaries ORDER BY did DESC LIMIT 1",
            [],
            |row| row.get(0),
        )
        .optional()?)
}
