//! SQLite persistence: one file per store, WAL mode, one writer connection and a pool of
//! readers (see `docs/decisions/0003-sqlite-storage.md`).
//!
//! Each record is one row holding its encoded [`RecordState`]; a small clock index
//! (`record_clock`) lets sync find the records a peer lacks without decoding the others.

pub mod schema;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use rusqlite::{
    Connection, ErrorCode, OpenFlags, OptionalExtension, Transaction, TransactionBehavior, params,
};

use crate::codec;
use crate::crdt::{Hlc, RecordKey, RecordState, ReplicaId, VersionVector};
use crate::error::{Error, Result};
use crate::replica::{RecordStore, ReplicaState};

/// How hard a commit works to survive failures.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum Durability {
    /// Survives the app being killed at any instant (`synchronous=NORMAL` in WAL mode). A power
    /// loss or OS crash may lose the last few transactions, never corrupt the store.
    #[default]
    ProcessCrash,
    /// Also survives power loss: every commit waits for the disk (`synchronous=FULL`).
    PowerLoss,
}

impl From<rusqlite::Error> for Error {
    fn from(error: rusqlite::Error) -> Self {
        match error.sqlite_error_code() {
            Some(ErrorCode::DatabaseCorrupt) => Error::Corrupt(error.to_string()),
            Some(ErrorCode::NotADatabase) => {
                Error::Corrupt(format!("{error} (the file is not a valid SQLite database)"))
            }
            Some(ErrorCode::DiskFull) => Error::DiskFull,
            _ => Error::Storage(error.to_string()),
        }
    }
}

/// Opens (creating if needed) the writer connection of the store at `path`, refusing foreign
/// or newer files before changing a single byte of them.
pub fn open_writer(
    path: &Path,
    durability: Durability,
    max_size_bytes: Option<u64>,
) -> Result<Connection> {
    if path.is_dir() {
        return Err(Error::NotAStore { path: path.to_owned(), detail: "it is a directory".into() });
    }
    let conn = Connection::open(path)
        .map_err(|e| Error::Storage(format!("cannot open {}: {e}", path.display())))?;
    let not_a_store = |detail: String| Error::NotAStore { path: path.to_owned(), detail };
    // Reading the header first: setting WAL mode would already write to a foreign file.
    let (application_id, version, tables) =
        read_header(&conn).map_err(|e| match e.sqlite_error_code() {
            Some(ErrorCode::NotADatabase) => {
                not_a_store("the file is not a SQLite database".into())
            }
            _ => Error::from(e),
        })?;
    if tables > 0 && application_id != schema::APPLICATION_ID {
        return Err(not_a_store(format!(
            "it is a SQLite database of another application (application_id {application_id:#x})"
        )));
    }
    if version > schema::CURRENT_VERSION {
        return Err(Error::IncompatibleVersion {
            path: path.to_owned(),
            found: version,
            supported: schema::CURRENT_VERSION,
        });
    }
    conn.pragma_update(None, "journal_mode", "WAL")?;
    configure(&conn, durability)?;
    if let Some(bytes) = max_size_bytes {
        let page_size: i64 = conn.pragma_query_value(None, "page_size", |row| row.get(0))?;
        let pages = i64::try_from(bytes).unwrap_or(i64::MAX) / page_size.max(1);
        conn.pragma_update(None, "max_page_count", pages.max(1))?;
    }
    let mut conn = conn;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if version < schema::CURRENT_VERSION {
        schema::migrate(&tx, version)?;
    }
    if read_replica_id(&tx)?.is_none() {
        let id = ReplicaId::random()?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('replica_id', ?1)",
            [id.to_bytes().to_vec()],
        )?;
    }
    tx.commit()?;
    Ok(conn)
}

/// Opens a read-only connection to an existing store (after [`open_writer`] created it).
pub fn open_reader(path: &Path, durability: Durability) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags)?;
    configure(&conn, durability)?;
    Ok(conn)
}

fn read_header(conn: &Connection) -> rusqlite::Result<(i64, i64, i64)> {
    let application_id = conn.pragma_query_value(None, "application_id", |row| row.get(0))?;
    let version = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let tables = conn.query_row("SELECT count(*) FROM sqlite_schema", [], |row| row.get(0))?;
    Ok((application_id, version, tables))
}

fn configure(conn: &Connection, durability: Durability) -> Result<()> {
    let synchronous = match durability {
        Durability::ProcessCrash => "NORMAL",
        Durability::PowerLoss => "FULL",
    };
    conn.pragma_update(None, "synchronous", synchronous)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Readers and the writer of one store may be in different threads; wait instead of failing.
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

fn read_replica_id(conn: &Connection) -> Result<Option<ReplicaId>> {
    let bytes: Option<Vec<u8>> = conn
        .query_row("SELECT value FROM meta WHERE key = 'replica_id'", [], |row| row.get(0))
        .optional()?;
    match bytes {
        None => Ok(None),
        Some(bytes) => {
            let bytes: [u8; 16] = bytes
                .try_into()
                .map_err(|_| Error::Corrupt("the stored replica id is not 16 bytes".into()))?;
            Ok(Some(ReplicaId::from_bytes(bytes)))
        }
    }
}

/// Reads the replica's id, clock and version vector.
pub fn load_replica_state(conn: &Connection) -> Result<ReplicaState> {
    let id = read_replica_id(conn)?
        .ok_or_else(|| Error::Corrupt("the store has no replica id".into()))?;
    let read_int = |key: &str| -> Result<i64> {
        Ok(conn
            .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
            .query_row([key], |row| row.get(0))
            .optional()?
            .unwrap_or(0))
    };
    let hlc = Hlc {
        millis: u64::try_from(read_int("hlc_millis")?).unwrap_or(0),
        logical: u32::try_from(read_int("hlc_logical")?).unwrap_or(0),
    };
    let mut statement = conn.prepare_cached("SELECT replica, seen FROM replicas WHERE seen > 0")?;
    let rows =
        statement.query_map([], |row| Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, i64>(1)?)))?;
    let mut seen = VersionVector::new();
    for row in rows {
        let (replica, counter) = row?;
        let replica: [u8; 16] = replica
            .try_into()
            .map_err(|_| Error::Corrupt("a stored replica id is not 16 bytes".into()))?;
        seen.advance(ReplicaId::from_bytes(replica), u64::try_from(counter).unwrap_or(0));
    }
    Ok(ReplicaState { id, hlc, seen })
}

/// Writes what changed between `before` and `after` of the replica's bookkeeping.
pub fn save_replica_state(
    tx: &Transaction<'_>,
    before: &ReplicaState,
    after: &ReplicaState,
) -> Result<()> {
    if before.hlc != after.hlc {
        let mut statement =
            tx.prepare_cached("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)")?;
        statement.execute(params!["hlc_millis", after.hlc.millis as i64])?;
        statement.execute(params!["hlc_logical", after.hlc.logical])?;
    }
    let mut replicas = Replicas::default();
    for (replica, counter) in after.seen.iter() {
        if before.seen.get(&replica) != counter {
            let idx = replicas.index(tx, replica)?;
            tx.prepare_cached("UPDATE replicas SET seen = ?2 WHERE idx = ?1")?
                .execute(params![idx, counter as i64])?;
        }
    }
    Ok(())
}

/// Replica ids are stored once and referred to by a small integer; this caches the lookups of
/// one transaction (never longer: a rolled-back insert must not leave a stale index behind).
#[derive(Default)]
struct Replicas(HashMap<ReplicaId, i64>);

impl Replicas {
    fn index(&mut self, conn: &Connection, replica: ReplicaId) -> Result<i64> {
        if let Some(idx) = self.0.get(&replica) {
            return Ok(*idx);
        }
        let bytes = replica.to_bytes().to_vec();
        conn.prepare_cached("INSERT OR IGNORE INTO replicas (replica) VALUES (?1)")?
            .execute([&bytes])?;
        let idx = conn
            .prepare_cached("SELECT idx FROM replicas WHERE replica = ?1")?
            .query_row([&bytes], |row| row.get(0))?;
        self.0.insert(replica, idx);
        Ok(idx)
    }

    fn lookup(&mut self, conn: &Connection, replica: ReplicaId) -> Result<Option<i64>> {
        if let Some(idx) = self.0.get(&replica) {
            return Ok(Some(*idx));
        }
        let idx = conn
            .prepare_cached("SELECT idx FROM replicas WHERE replica = ?1")?
            .query_row([replica.to_bytes().to_vec()], |row| row.get(0))
            .optional()?;
        if let Some(idx) = idx {
            self.0.insert(replica, idx);
        }
        Ok(idx)
    }
}

/// The records of one store, seen through one connection (inside a transaction for writes).
pub struct SqliteRecords<'c> {
    conn: &'c Connection,
    replicas: Replicas,
}

impl<'c> SqliteRecords<'c> {
    /// Records read and written through `conn`.
    pub fn new(conn: &'c Connection) -> Self {
        Self { conn, replicas: Replicas::default() }
    }
}

/// Decodes a stored record blob.
pub fn decode_record(bytes: &[u8]) -> Result<RecordState> {
    codec::decode(codec::Kind::Record, bytes)
}

impl RecordStore for SqliteRecords<'_> {
    fn load(&mut self, key: &RecordKey) -> Result<Option<RecordState>> {
        let bytes: Option<Vec<u8>> = self
            .conn
            .prepare_cached("SELECT state FROM records WHERE collection = ?1 AND id = ?2")?
            .query_row(params![key.collection, key.id], |row| row.get(0))
            .optional()?;
        bytes.map(|bytes| decode_record(&bytes)).transpose()
    }

    fn save(&mut self, key: &RecordKey, state: &RecordState) -> Result<()> {
        let bytes = codec::encode(codec::Kind::Record, state)?;
        let rid: i64 = self
            .conn
            .prepare_cached(
                "INSERT INTO records (collection, id, state, deleted, conflicted) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (collection, id) DO UPDATE
                 SET state = excluded.state, deleted = excluded.deleted, conflicted = excluded.conflicted
                 RETURNING rid",
            )?
            .query_row(params![key.collection, key.id, bytes, state.is_deleted(), state.has_conflicts()], |row| {
                row.get(0)
            })?;
        self.conn.prepare_cached("DELETE FROM record_clock WHERE rid = ?1")?.execute([rid])?;
        for (replica, counter) in state.max_counters() {
            let idx = self.replicas.index(self.conn, replica)?;
            self.conn
                .prepare_cached(
                    "INSERT INTO record_clock (rid, replica, counter) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![rid, idx, counter as i64])?;
        }
        // Derived indexes change in the same transaction as the record they describe.
        crate::calendar::index::on_save(self.conn, rid, key, state)
    }

    fn keys_with_unseen(
        &mut self,
        since: &VersionVector,
        local: &VersionVector,
    ) -> Result<Vec<RecordKey>> {
        let mut keys = BTreeSet::new();
        for (replica, counter) in local.iter() {
            let known = since.get(&replica);
            if counter <= known {
                continue;
            }
            let Some(idx) = self.replicas.lookup(self.conn, replica)? else {
                continue;
            };
            let mut statement = self.conn.prepare_cached(
                "SELECT r.collection, r.id FROM record_clock c JOIN records r ON r.rid = c.rid
                 WHERE c.replica = ?1 AND c.counter > ?2",
            )?;
            let rows = statement.query_map(params![idx, known as i64], |row| {
                Ok(RecordKey::new(row.get::<_, String>(0)?, row.get::<_, String>(1)?))
            })?;
            for key in rows {
                keys.insert(key?);
            }
        }
        Ok(keys.into_iter().collect())
    }
}
