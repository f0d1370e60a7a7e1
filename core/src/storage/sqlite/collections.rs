//! Collections by number (schema 7, decision 0034): a record's row and its key index hold the
//! number of its collection, named once in `collections`.

use rusqlite::{Connection, OptionalExtension};

use crate::error::Result;

/// The number of collection `name`, if any record was ever written to it.
pub fn find(conn: &Connection, name: &str) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT cid FROM collections WHERE name = ?1")?
        .query_row([name], |row| row.get(0))
        .optional()?)
}

/// Numbers collection `name`, which [`find`] did not find (inside the caller's write
/// transaction), and returns its number.
pub fn add(conn: &Connection, name: &str) -> Result<i64> {
    conn.prepare_cached("INSERT INTO collections (name) VALUES (?1)")?.execute([name])?;
    Ok(conn.last_insert_rowid())
}
