//! The SQLite schema and its migrations, keyed on `PRAGMA user_version`.
//!
//! A fresh store runs every migration in order, so a migrated store and a fresh one are built by
//! the same statements; `tests/integration/storage.rs` checks they end identical, using the
//! golden store files in `core/tests/fixtures/`. Never edit a shipped migration: add one.

use rusqlite::{Connection, Transaction};

use crate::error::Result;

/// `PRAGMA application_id` of every Almanac store ("Alma"), so another app's SQLite file is
/// recognised as foreign instead of being modified.
pub const APPLICATION_ID: i64 = 0x416C_6D61;

/// The schema version this library writes and the newest it opens.
pub const CURRENT_VERSION: i64 = MIGRATIONS.len() as i64;

/// `MIGRATIONS[n]` upgrades a store from version `n` to `n + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: records with their replicated state, the replica table that doubles as the version
    // vector, and the clock index sync uses to find what a peer lacks.
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
    // 2: the occurrence index of the calendar layer (derived; see calendar/index.rs).
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
];

/// Brings the store from `from` up to [`CURRENT_VERSION`] inside `tx`.
pub fn migrate(tx: &Transaction<'_>, from: i64) -> Result<()> {
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(usize::try_from(from).unwrap_or(0)) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
    }
    tx.pragma_update(None, "application_id", APPLICATION_ID)?;
    Ok(())
}

/// The schema as SQLite reports it (tables, indexes, their SQL), for comparing stores.
pub fn describe(conn: &Connection) -> Result<Vec<(String, String, String)>> {
    let mut statement = conn
        .prepare("SELECT type, name, COALESCE(sql, '') FROM sqlite_schema ORDER BY type, name")?;
    let rows = statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}
