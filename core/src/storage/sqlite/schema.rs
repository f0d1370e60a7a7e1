//! The SQLite schema and its migrations, keyed on `PRAGMA user_version`.
//!
//! A fresh store runs every migration in order, so a migrated store and a fresh one are built by
//! the same statements; `tests/integration/storage.rs` checks they end identical, using the
//! golden store files in `core/tests/fixtures/`. Never edit a shipped migration: add one.

use std::collections::{BTreeMap, HashMap};

use rusqlite::{Connection, Transaction, params};

use crate::crdt::{RecordKey, RecordState, SpaceId};
use crate::error::{Error, Result};

/// `PRAGMA application_id` of every Almanac store ("Alma"), so another app's SQLite file is
/// recognised as foreign instead of being modified.
pub const APPLICATION_ID: i64 = 0x416C_6D61;

/// The schema version this library writes and the newest it opens.
pub const CURRENT_VERSION: i64 = MIGRATIONS.len() as i64;

/// The space that records of stores written before spaces existed go to when no view knows
/// better.
pub const LEGACY_SPACE: &str = "default";

/// Decides, for a record of a pre-space store, the space it belongs to.
pub type LegacySpace<'a> = &'a dyn Fn(&RecordKey, &RecordState) -> Option<SpaceId>;

/// One step of the schema.
enum Migration {
    /// Plain SQL.
    Sql(&'static str),
    /// Work SQL alone cannot do (it decodes records).
    Code(fn(&Transaction<'_>, LegacySpace<'_>) -> Result<()>),
}

/// `MIGRATIONS[n]` upgrades a store from version `n` to `n + 1`.
const MIGRATIONS: &[Migration] = &[
    // 1: records with their replicated state, the replica table that doubles as the version
    // vector, and the clock index sync uses to find what a peer lacks.
    Migration::Sql(
        "
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY NOT NULL,
        value ANY NOT NULL
    ) STRICT, WITHOUT ROWID;

    -- One row per replica ever seen; `seen` is this store's version vector.
    CREATE TABLE replicas (
        idx     INTEGER PRIMARY KEY,
        replica BLOB NOT NULL UNIQUE,
        seen    INTEGER NOT NULL DEFAULT 0
    ) STRICT;

    CREATE TABLE records (
        rid        INTEGER PRIMARY KEY,
        collection TEXT NOT NULL,
        id         TEXT NOT NULL,
        state      BLOB NOT NULL,     -- codec blob of RecordState
        deleted    INTEGER NOT NULL,  -- 1 when the record is tombstoned
        conflicted INTEGER NOT NULL,  -- 1 when it has something for the conflict log
        UNIQUE (collection, id)
    ) STRICT;
    CREATE INDEX records_conflicted ON records (rid) WHERE conflicted = 1;

    -- For each record and each replica that wrote it, the highest counter among its entries.
    CREATE TABLE record_clock (
        rid     INTEGER NOT NULL REFERENCES records (rid) ON DELETE CASCADE,
        replica INTEGER NOT NULL REFERENCES replicas (idx),
        counter INTEGER NOT NULL,
        PRIMARY KEY (rid, replica)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX record_clock_by_replica ON record_clock (replica, counter);
    ",
    ),
    // 2: the occurrence index of the calendar layer (derived). Dropped again by 3: derived
    // views now create their own tables.
    Migration::Sql(
        "
    CREATE TABLE occurrence_index (
        rid   INTEGER NOT NULL REFERENCES records (rid) ON DELETE CASCADE,
        key   TEXT NOT NULL,     -- occurrence key (original start)
        start INTEGER NOT NULL,  -- UTC seconds
        end   INTEGER NOT NULL,  -- UTC seconds, exclusive
        PRIMARY KEY (rid, key)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX occurrence_index_by_start ON occurrence_index (start, end);
    CREATE TABLE recurring_events (
        rid INTEGER PRIMARY KEY REFERENCES records (rid) ON DELETE CASCADE
    ) STRICT;
    CREATE TABLE indexed_months (
        month INTEGER PRIMARY KEY  -- year * 12 + month - 1, UTC
    ) STRICT;
    -- Events with something for the calendar conflict log (cancelled or truncated occurrences
    -- carrying concurrent edits, orphaned overrides).
    CREATE TABLE calendar_attention (
        rid INTEGER PRIMARY KEY REFERENCES records (rid) ON DELETE CASCADE
    ) STRICT;
    ",
    ),
    // 3: spaces, each with its own version vector; records belong to one space.
    Migration::Code(add_spaces),
    // 4: per space, the highest counter of this store's own id that ever left it in a delta,
    // so a peer holding more of this id's writes reveals a copy of the store that wrote under
    // the same id (decision 0025). A store that synced before this schema may have sent
    // everything it has: its own seen counter is where it starts. And the stash of a space
    // being joined again from scratch (decision 0025, retired devices).
    Migration::Sql(
        "
    CREATE TABLE space_released (
        sid     INTEGER NOT NULL REFERENCES spaces (sid) ON DELETE CASCADE,
        replica INTEGER NOT NULL REFERENCES replicas (idx),
        counter INTEGER NOT NULL,
        PRIMARY KEY (sid, replica)
    ) STRICT, WITHOUT ROWID;
    INSERT INTO space_released (sid, replica, counter)
        SELECT c.sid, c.replica, c.seen FROM space_clock c
        JOIN replicas r ON r.idx = c.replica
        JOIN meta m ON m.key = 'replica_id' AND m.value = r.replica;

    -- A space being fetched again from scratch (a device the server retired): the old records
    -- wait here, keyed by the space's name (its row is dropped and made anew), until the
    -- fresh copy has arrived and this store's own unsent writes are written again on top.
    CREATE TABLE rejoin_spaces (
        space   TEXT PRIMARY KEY NOT NULL,
        replica BLOB NOT NULL            -- the id this store wrote its unsent writes under
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE rejoin_records (
        space      TEXT NOT NULL REFERENCES rejoin_spaces (space) ON DELETE CASCADE,
        collection TEXT NOT NULL,
        id         TEXT NOT NULL,
        state      BLOB NOT NULL,        -- codec blob of RecordState, as it was
        PRIMARY KEY (space, collection, id)
    ) STRICT, WITHOUT ROWID;
    ",
    ),
    // 5: `records_by_id (collection, id)` duplicated the unique `(sid, collection, id)` index at ~31 bytes per
    // record; finding a record in any space now walks the few spaces and probes the unique
    // index (decision 0024).
    Migration::Sql("DROP INDEX records_by_id;"),
    // 6: record dictionaries (decision 0032): bytes of the store's own records that records
    // of format 5 are compressed against, named by their CRC-32C. The last one made is the
    // one new records are compressed against; compaction forgets the others once it has
    // rewritten every record against a new one.
    Migration::Sql(
        "
    CREATE TABLE record_dictionaries (
        did   INTEGER PRIMARY KEY,  -- order of making
        id    INTEGER NOT NULL,     -- CRC-32C of bytes: the name records give
        bytes BLOB NOT NULL
    ) STRICT;
    ",
    ),
    // 7: collections by number (decision 0034). A record's row and its key index held the
    // collection's name ("events": 6 bytes in each); they now hold its number, one byte or
    // none. `records` is rebuilt (foreign keys are off while a store migrates, see
    // `open_writer`; the tables referencing `records (rid)` keep their rows, the row ids stay).
    Migration::Sql(
        "
    CREATE TABLE collections (
        cid  INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE
    ) STRICT;
    INSERT INTO collections (name) SELECT DISTINCT collection FROM records ORDER BY collection;
    CREATE TABLE records_v7 (
        rid        INTEGER PRIMARY KEY,
        sid        INTEGER NOT NULL REFERENCES spaces (sid),
        cid        INTEGER NOT NULL REFERENCES collections (cid),
        id         TEXT NOT NULL,
        state      BLOB NOT NULL,     -- codec blob of RecordState
        deleted    INTEGER NOT NULL,  -- 1 when the record is tombstoned
        conflicted INTEGER NOT NULL,  -- 1 when it has something for the conflict log
        UNIQUE (sid, cid, id)
    ) STRICT;
    INSERT INTO records_v7 (rid, sid, cid, id, state, deleted, conflicted)
        SELECT r.rid, r.sid, c.cid, r.id, r.state, r.deleted, r.conflicted
        FROM records r JOIN collections c ON c.name = r.collection;
    DROP TABLE records;
    ALTER TABLE records_v7 RENAME TO records;
    CREATE INDEX records_conflicted ON records (rid) WHERE conflicted = 1;
    ",
    ),
    // 8: the clock index keyed the way sync reads it (decision 0035). It was keyed by record
    // with a second index by (replica, counter): two copies of every row. It is now one
    // table keyed by (replica, counter, rid); a save finds the rows to replace from the
    // record's previous state, and the code that removes records removes their rows (no
    // foreign key: a cascade from `records` would scan the whole table for each record).
    Migration::Sql(
        "
    CREATE TABLE record_clock_v8 (
        replica INTEGER NOT NULL REFERENCES replicas (idx),
        counter INTEGER NOT NULL,  -- the highest counter of `replica` among the record's entries
        rid     INTEGER NOT NULL,  -- records (rid)
        PRIMARY KEY (replica, counter, rid)
    ) STRICT, WITHOUT ROWID;
    INSERT INTO record_clock_v8 (replica, counter, rid)
        SELECT replica, counter, rid FROM record_clock;
    DROP TABLE record_clock;
    ALTER TABLE record_clock_v8 RENAME TO record_clock;
    ",
    ),
    // 9: the hybrid logical clock kept in the rows of `space_clock` that commits write anyway,
    // instead of a row of `meta` of its own (decision 0043). The clock in `meta` stays and
    // counts: the store's clock is the latest of them all.
    Migration::Sql(
        "
    ALTER TABLE space_clock ADD COLUMN hlc_millis INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE space_clock ADD COLUMN hlc_logical INTEGER NOT NULL DEFAULT 0;
    ",
    ),
];

/// The tables of schema 3 that replace or join those of schema 2.
const SPACES_SQL: &str = "
    DROP TABLE occurrence_index;
    DROP TABLE recurring_events;
    DROP TABLE indexed_months;
    DROP TABLE calendar_attention;
    DROP TABLE record_clock;
    DELETE FROM meta WHERE key IN ('index_tzdb', 'index_longest');

    CREATE TABLE spaces (
        sid  INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE
    ) STRICT;

    -- The version vector of each space: the highest counter of each replica seen in it.
    CREATE TABLE space_clock (
        sid     INTEGER NOT NULL REFERENCES spaces (sid) ON DELETE CASCADE,
        replica INTEGER NOT NULL REFERENCES replicas (idx),
        seen    INTEGER NOT NULL,
        PRIMARY KEY (sid, replica)
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE records_v3 (
        rid        INTEGER PRIMARY KEY,
        sid        INTEGER NOT NULL REFERENCES spaces (sid),
        collection TEXT NOT NULL,
        id         TEXT NOT NULL,
        state      BLOB NOT NULL,     -- codec blob of RecordState
        deleted    INTEGER NOT NULL,  -- 1 when the record is tombstoned
        conflicted INTEGER NOT NULL,  -- 1 when it has something for the conflict log
        UNIQUE (sid, collection, id)
    ) STRICT;
";

/// What comes after the records are copied into `records_v3`.
const SPACES_SQL_AFTER: &str = "
    DROP TABLE records;
    ALTER TABLE records_v3 RENAME TO records;
    CREATE INDEX records_conflicted ON records (rid) WHERE conflicted = 1;
    CREATE INDEX records_by_id ON records (collection, id);

    -- For each record and each replica that wrote it, the highest counter among its entries.
    CREATE TABLE record_clock (
        rid     INTEGER NOT NULL REFERENCES records (rid) ON DELETE CASCADE,
        replica INTEGER NOT NULL REFERENCES replicas (idx),
        counter INTEGER NOT NULL,
        PRIMARY KEY (rid, replica)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX record_clock_by_replica ON record_clock (replica, counter);

    -- Per peer and space, the version vectors last exchanged, so steady-state sync sends only
    -- the entries that changed (docs/protocol.md).
    CREATE TABLE sync_peers (
        peer     BLOB NOT NULL,     -- the peer's replica id
        sid      INTEGER NOT NULL REFERENCES spaces (sid) ON DELETE CASCADE,
        sent     BLOB,              -- codec blob of the vector last sent to the peer
        received BLOB,              -- codec blob of the vector the peer last sent
        PRIMARY KEY (peer, sid)
    ) STRICT, WITHOUT ROWID;

    -- A delta arriving in chunks: applied once complete, resumable until then.
    CREATE TABLE sync_inbound (
        peer        BLOB NOT NULL,
        sid         INTEGER NOT NULL REFERENCES spaces (sid) ON DELETE CASCADE,
        since       BLOB NOT NULL,     -- codec blob: the vector the delta was asked with
        context     BLOB NOT NULL,     -- codec blob: the sender's vector
        hlc_millis  INTEGER NOT NULL,
        hlc_logical INTEGER NOT NULL,
        next_seq    INTEGER NOT NULL,  -- the next chunk expected
        last_collection TEXT,          -- the greatest record key staged so far
        last_id     TEXT,
        complete    INTEGER NOT NULL,  -- 1 once the last chunk is staged
        PRIMARY KEY (peer, sid)
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE sync_staged (
        peer       BLOB NOT NULL,
        sid        INTEGER NOT NULL,
        collection TEXT NOT NULL,
        id         TEXT NOT NULL,
        record     BLOB NOT NULL,      -- codec blob of a RecordDelta
        PRIMARY KEY (peer, sid, collection, id),
        FOREIGN KEY (peer, sid) REFERENCES sync_inbound (peer, sid) ON DELETE CASCADE
    ) STRICT, WITHOUT ROWID;
";

/// Schema 3: every record of an older store goes to the space `legacy_space` names (the
/// store's default space otherwise). Each space starts with the store's old version vector:
/// counters were store-wide, so no counter of a replica is ever reused within a space, and the
/// counters a space never had are gaps no peer waits for.
fn add_spaces(tx: &Transaction<'_>, legacy_space: LegacySpace<'_>) -> Result<()> {
    tx.execute_batch(SPACES_SQL)?;
    let mut sids: HashMap<SpaceId, i64> = HashMap::new();
    let mut clock: BTreeMap<i64, Vec<(i64, i64)>> = BTreeMap::new();
    let rows: Vec<(i64, String, String, Vec<u8>, i64, i64)> = {
        let mut statement = tx.prepare(
            "SELECT rid, collection, id, state, deleted, conflicted FROM records ORDER BY rid",
        )?;
        let rows = statement.query_map([], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?))
        })?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let default = SpaceId::new(LEGACY_SPACE)?;
    for (rid, collection, id, state, deleted, conflicted) in rows {
        let decoded = super::decode_record(tx, &state)?;
        let key = RecordKey::new(collection, id);
        let space = legacy_space(&key, &decoded).unwrap_or_else(|| default.clone());
        let sid = match sids.get(&space) {
            Some(sid) => *sid,
            None => {
                tx.execute("INSERT INTO spaces (name) VALUES (?1)", [space.as_str()])?;
                let sid = tx.last_insert_rowid();
                sids.insert(space, sid);
                sid
            }
        };
        tx.execute(
            "INSERT INTO records_v3 (rid, sid, collection, id, state, deleted, conflicted)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![rid, sid, key.collection, key.id, state, deleted, conflicted],
        )?;
        let mut counters = Vec::new();
        for (replica, counter) in decoded.max_counters() {
            let idx: i64 = tx.query_row(
                "SELECT idx FROM replicas WHERE replica = ?1",
                [replica.to_bytes().to_vec()],
                |row| row.get(0),
            )?;
            counters.push((idx, super::counter_value(counter)?));
        }
        clock.insert(rid, counters);
    }
    tx.execute_batch(SPACES_SQL_AFTER)?;
    for (rid, counters) in clock {
        for (idx, counter) in counters {
            tx.execute(
                "INSERT INTO record_clock (rid, replica, counter) VALUES (?1, ?2, ?3)",
                params![rid, idx, counter],
            )?;
        }
    }
    for sid in sids.values() {
        tx.execute(
            "INSERT INTO space_clock (sid, replica, seen) SELECT ?1, idx, seen FROM replicas WHERE seen > 0",
            [sid],
        )?;
    }
    // The store-wide vector is now per space; the column stays (migrations are append-only)
    // but is no longer read.
    tx.execute("UPDATE replicas SET seen = 0", [])?;
    Ok(())
}

/// Brings the store from `from` up to [`CURRENT_VERSION`] inside `tx`.
pub fn migrate(tx: &Transaction<'_>, from: i64, legacy_space: LegacySpace<'_>) -> Result<()> {
    let pending = MIGRATIONS.iter().enumerate().skip(usize::try_from(from).unwrap_or(0));
    for (index, migration) in pending {
        match migration {
            Migration::Sql(sql) => tx.execute_batch(sql)?,
            Migration::Code(step) => step(tx, legacy_space)?,
        }
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
    }
    tx.pragma_update(None, "application_id", APPLICATION_ID)?;
    // Foreign keys were off (see `open_writer`): every reference must still hold.
    let broken: i64 =
        tx.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |row| row.get(0))?;
    if broken > 0 {
        return Err(Error::Corrupt(format!(
            "{broken} rows reference rows that do not exist after upgrading the store; it was \
             left as it was"
        )));
    }
    Ok(())
}

/// The schema as SQLite reports it (tables, indexes, their SQL), for comparing stores.
pub fn describe(conn: &Connection) -> Result<Vec<(String, String, String)>> {
    let mut statement = conn
        .prepare("SELECT type, name, COALESCE(sql, '') FROM sqlite_schema ORDER BY type, name")?;
    let rows = statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}
