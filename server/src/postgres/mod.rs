//! The PostgreSQL backend (`--postgres <url>`): every piece of the server's state in one
//! database, so several server instances can serve the same users (decision 0019).
//!
//! - [`PgEngine`]: the server's replica of every space (the core's sync session runs over it
//!   through `almanac_core::sync::SyncStore`), with each write to a space serialised by a lock
//!   on that space's row, so instances never interleave inside one space's bookkeeping.
//! - [`PgAccounts`]: users, spaces' owners, shares, what devices have seen.
//! - The token signing key, in `almanac_meta`: every instance signs and checks with the same.
//! - Live changes between instances: a write that moves a space's version vector sends a
//!   `NOTIFY` in its transaction; every instance `LISTEN`s ([`listen`]) and pushes `Changed` to
//!   its own connections following that space.

mod accounts;
mod engine;
pub mod listen;
pub mod pool;

use std::sync::Arc;

pub use accounts::PgAccounts;
pub use engine::PgEngine;
pub use pool::Pool;

use crate::error::{Error, Result};
use pool::wait;

/// The schema version this code writes (`almanac_meta.schema_version`).
const SCHEMA_VERSION: i64 = 1;

/// Serialises schema creation between instances starting at once (an arbitrary constant:
/// "almanac" on a phone keypad).
const SCHEMA_LOCK: i64 = 2_562_622;

/// The channel instances announce changed spaces on.
pub(crate) const CHANNEL: &str = "almanac_changes";

const SCHEMA_V1: &str = "
CREATE TABLE almanac_meta (
    key   TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);
CREATE TABLE users (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);
-- Created, owned by its first user, when a device first opens the space.
CREATE TABLE spaces (
    name       TEXT PRIMARY KEY,
    owner      BIGINT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL
);
CREATE TABLE shares (
    space     TEXT NOT NULL REFERENCES spaces (name),
    user_id   BIGINT NOT NULL REFERENCES users (id),
    read_only BOOLEAN NOT NULL,
    PRIMARY KEY (space, user_id)
);
-- The vector each device last sent for a space (for the causal-stability point), keyed by
-- user too: a device cannot overwrite another account's entry by claiming its replica id.
CREATE TABLE seen (
    space      TEXT NOT NULL REFERENCES spaces (name),
    user_id    BIGINT NOT NULL REFERENCES users (id),
    replica    BYTEA NOT NULL,
    vector     BYTEA NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (space, user_id, replica)
);
-- The engine: the server replica's spaces, each with its version vector (an encoded
-- VersionVector) and clock. A write to a space locks this row first.
CREATE TABLE engine_spaces (
    sid         BIGSERIAL PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    seen        BYTEA NOT NULL,
    hlc_millis  BIGINT NOT NULL,
    hlc_logical BIGINT NOT NULL
);
CREATE TABLE engine_records (
    sid        BIGINT NOT NULL REFERENCES engine_spaces (sid),
    collection TEXT NOT NULL,
    id         TEXT NOT NULL,
    state      BYTEA NOT NULL,
    PRIMARY KEY (sid, collection, id)
);
-- Per record, the greatest counter of each replica in it: finds what a peer lacks without
-- decoding every record.
CREATE TABLE engine_record_clock (
    sid        BIGINT NOT NULL,
    collection TEXT NOT NULL,
    id         TEXT NOT NULL,
    replica    BYTEA NOT NULL,
    counter    BIGINT NOT NULL,
    PRIMARY KEY (sid, collection, id, replica),
    FOREIGN KEY (sid, collection, id) REFERENCES engine_records ON DELETE CASCADE
);
CREATE INDEX engine_record_clock_unseen ON engine_record_clock (sid, replica, counter);
CREATE TABLE engine_peers (
    sid      BIGINT NOT NULL REFERENCES engine_spaces (sid),
    peer     BYTEA NOT NULL,
    sent     BYTEA,
    received BYTEA,
    PRIMARY KEY (sid, peer)
);
CREATE TABLE engine_inbound (
    sid             BIGINT NOT NULL REFERENCES engine_spaces (sid),
    peer            BYTEA NOT NULL,
    since           BYTEA NOT NULL,
    context         BYTEA NOT NULL,
    hlc_millis      BIGINT NOT NULL,
    hlc_logical     BIGINT NOT NULL,
    next_seq        BIGINT NOT NULL,
    last_collection TEXT,
    last_id         TEXT,
    complete        BOOLEAN NOT NULL,
    PRIMARY KEY (sid, peer)
);
CREATE TABLE engine_staged (
    sid        BIGINT NOT NULL,
    peer       BYTEA NOT NULL,
    collection TEXT NOT NULL,
    id         TEXT NOT NULL,
    record     BYTEA NOT NULL,
    PRIMARY KEY (sid, peer, collection, id),
    FOREIGN KEY (sid, peer) REFERENCES engine_inbound ON DELETE CASCADE
);
";

/// Everything the PostgreSQL backend holds, opened.
pub struct Database {
    /// The connections, shared by the engine, the accounts and the listener.
    pub pool: Arc<Pool>,
}

impl Database {
    /// Connects to `url` and creates or checks the schema.
    pub fn open(url: &str) -> Result<Self> {
        let pool = Arc::new(Pool::connect(url)?);
        migrate(&pool)?;
        Ok(Self { pool })
    }

    /// The value of `key` in `almanac_meta`, made by `make` if there is none yet. When several
    /// instances start at once, the first insert wins and everyone reads that one.
    pub fn meta_or_insert(
        &self,
        key: &str,
        make: impl FnOnce() -> Result<Vec<u8>>,
    ) -> Result<Vec<u8>> {
        let client = self.pool.get()?;
        let found =
            wait(client.query_opt("SELECT value FROM almanac_meta WHERE key = $1", &[&key]))?;
        if let Some(row) = found {
            return Ok(row.try_get(0)?);
        }
        let value = make()?;
        wait(client.execute(
            "INSERT INTO almanac_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
            &[&key, &value],
        ))?;
        let row = wait(client.query_one("SELECT value FROM almanac_meta WHERE key = $1", &[&key]))?;
        Ok(row.try_get(0)?)
    }
}

fn migrate(pool: &Pool) -> Result<()> {
    let mut client = pool.get()?;
    let tx = wait(client.transaction())?;
    wait(tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK]))?;
    let exists = wait(tx.query_one("SELECT to_regclass('almanac_meta') IS NOT NULL", &[]))?;
    let exists: bool = exists.try_get(0)?;
    if !exists {
        wait(tx.batch_execute(SCHEMA_V1))?;
        wait(tx.execute(
            "INSERT INTO almanac_meta (key, value) VALUES ('schema_version', $1)",
            &[&SCHEMA_VERSION.to_be_bytes().to_vec()],
        ))?;
    } else {
        let row =
            wait(tx.query_opt("SELECT value FROM almanac_meta WHERE key = 'schema_version'", &[]))?;
        let found = row
            .map(|row| row.try_get::<_, Vec<u8>>(0))
            .transpose()?
            .and_then(|bytes| <[u8; 8]>::try_from(bytes).ok())
            .map(i64::from_be_bytes);
        match found {
            Some(SCHEMA_VERSION) => {}
            Some(newer) if newer > SCHEMA_VERSION => {
                return Err(Error::NewerPostgresSchema { found: newer, supported: SCHEMA_VERSION });
            }
            _ => return Err(Error::NotAlmanacDatabase),
        }
    }
    wait(tx.commit())?;
    Ok(())
}
