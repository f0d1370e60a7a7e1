//! SQLite persistence: one file per store, WAL mode, one writer connection and a pool of
//! readers (see `docs/decisions/0003-sqlite-storage.md`).
//!
//! A store holds any number of spaces (`spaces`, each with its version vector in
//! `space_clock`). Each record is one row of one space holding its encoded [`RecordState`]; a
//! small clock index (`record_clock`) lets sync find the records a peer lacks without decoding
//! the others. Derived views registered by upper layers are kept in step in the same
//! transaction as every record write (`view.rs`).

pub mod collections;
pub mod dictionary;
pub mod gc;
pub mod incarnation;
pub mod rejoin;
pub mod renew;
pub mod schema;
pub mod sync_state;
pub mod view;

use std::cell::OnceCell;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior, params};

use crate::codec;
use crate::compression::RecordDictionary;
use crate::crdt::{
    Before, Hlc, RecordKey, RecordState, ReplicaId, SpaceId, VersionVector, stored_delta,
};
use crate::error::{Error, Result};
use crate::replica::{RecordStore, ReplicaState};
use view::{DerivedView, SavedRecord};

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

/// The writer's commits copy the write-ahead log into the file once it holds this many pages,
/// and the log is cut back to `WAL_SIZE_LIMIT` when it starts over: Android's own defaults
/// for its databases (decision 0037). SQLite's (1,000 pages, never cut back) leave a 4 MiB log
/// on disk for good, more than a 10,000-event calendar's records.
pub const WAL_CHECKPOINT_PAGES: i64 = 100;

/// See [`WAL_CHECKPOINT_PAGES`].
const WAL_SIZE_LIMIT: i64 = 512 * 1024;

/// Opens (creating if needed) the writer connection of the store at `path`, refusing foreign
/// or newer files before changing a single byte of them. `views` may say which space the
/// records of a pre-space store belong to.
pub fn open_writer(
    path: &Path,
    durability: Durability,
    max_size_bytes: Option<u64>,
    views: &[Arc<dyn DerivedView>],
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
    conn.pragma_update(None, "wal_autocheckpoint", WAL_CHECKPOINT_PAGES)?;
    conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)?;
    if let Some(bytes) = max_size_bytes {
        let page_size: i64 = conn.pragma_query_value(None, "page_size", |row| row.get(0))?;
        let pages = i64::try_from(bytes).unwrap_or(i64::MAX) / page_size.max(1);
        conn.pragma_update(None, "max_page_count", pages.max(1))?;
    }
    let mut conn = conn;
    // A migration may rebuild a table others reference (schema 7 rebuilds `records`): SQLite's
    // way is to do it with foreign keys off, checked before committing. Off only while the
    // schema is older than this library's; the pragma cannot change inside a transaction.
    let migrating = version < schema::CURRENT_VERSION;
    if migrating {
        conn.pragma_update(None, "foreign_keys", "OFF")?;
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if version < schema::CURRENT_VERSION {
        let legacy_space = |key: &RecordKey, state: &RecordState| {
            views.iter().find_map(|view| view.legacy_space(key, state))
        };
        schema::migrate(&tx, version, &legacy_space)?;
    }
    if read_replica_id(&tx)?.is_none() {
        let id = ReplicaId::random()?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('replica_id', ?1)",
            [id.to_bytes().to_vec()],
        )?;
    }
    tx.commit()?;
    if migrating {
        conn.pragma_update(None, "foreign_keys", "ON")?;
    }
    Ok(conn)
}

/// Opens the connection that copies the write-ahead log into the file in the background
/// (passive checkpoints, which run alongside readers and the writer). The writer keeps SQLite's
/// own checkpoint at [`WAL_CHECKPOINT_PAGES`], which alone can reset the log; after a
/// background checkpoint it finds little left to copy, so the commit that triggers it stays
/// short.
pub fn open_checkpointer(path: &Path, durability: Durability) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    configure(&conn, durability)?;
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
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
    // Prepared once per connection: a sync reads it a few dozen times.
    let bytes: Option<Vec<u8>> = conn
        .prepare_cached("SELECT value FROM meta WHERE key = 'replica_id'")?
        .query_row([], |row| row.get(0))
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

/// Reads this store's replica id.
pub fn replica_id(conn: &Connection) -> Result<ReplicaId> {
    read_replica_id(conn)?.ok_or_else(|| Error::Corrupt("the store has no replica id".into()))
}

/// Reads the store's hybrid logical clock: the latest of the one in `meta` and those in the
/// rows of `space_clock`, where commits keep it (see [`save_replica_state`]).
pub fn load_hlc(conn: &Connection) -> Result<Hlc> {
    let read_int = |key: &str| -> Result<i64> {
        Ok(conn
            .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
            .query_row([key], |row| row.get(0))
            .optional()?
            .unwrap_or(0))
    };
    let hlc = |millis: i64, logical: i64| Hlc {
        millis: u64::try_from(millis).unwrap_or(0),
        logical: u32::try_from(logical).unwrap_or(0),
    };
    let in_meta = hlc(read_int("hlc_millis")?, read_int("hlc_logical")?);
    let in_spaces = conn
        .prepare_cached(
            "SELECT hlc_millis, hlc_logical FROM space_clock
             ORDER BY hlc_millis DESC, hlc_logical DESC LIMIT 1",
        )?
        .query_row([], |row| Ok(hlc(row.get(0)?, row.get(1)?)))
        .optional()?
        .unwrap_or_default();
    Ok(in_meta.max(in_spaces))
}

/// Saves the store's hybrid logical clock in `meta`.
pub fn save_hlc(conn: &Connection, hlc: Hlc) -> Result<()> {
    let mut statement =
        conn.prepare_cached("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)")?;
    statement.execute(params!["hlc_millis", i64::try_from(hlc.millis).unwrap_or(i64::MAX)])?;
    statement.execute(params!["hlc_logical", hlc.logical])?;
    Ok(())
}

/// Moves the clock into `meta` before rows of `space_clock` are deleted: the latest clock may
/// be in one of them.
pub fn keep_hlc_in_meta(conn: &Connection) -> Result<()> {
    save_hlc(conn, load_hlc(conn)?)
}

/// The row id of `space`, if this store holds it.
pub fn space_sid(conn: &Connection, space: &SpaceId) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT sid FROM spaces WHERE name = ?1")?
        .query_row([space.as_str()], |row| row.get(0))
        .optional()?)
}

/// The row id of `space`, or the error that says the store does not hold it.
pub fn held_space(conn: &Connection, space: &SpaceId) -> Result<i64> {
    space_sid(conn, space)?.ok_or_else(|| Error::SpaceNotHeld(space.clone()))
}

/// A space id read back from the store (a stored id that is not one means damage).
pub fn stored_space(name: String) -> Result<SpaceId> {
    SpaceId::new(name).map_err(|e| Error::Corrupt(e.to_string()))
}

/// Adds `space` (with nothing seen) if the store does not hold it; returns its row id.
pub fn create_space(conn: &Connection, space: &SpaceId) -> Result<i64> {
    conn.prepare_cached("INSERT OR IGNORE INTO spaces (name) VALUES (?1)")?
        .execute([space.as_str()])?;
    space_sid(conn, space)?.ok_or_else(|| Error::Storage("a new space was not saved".into()))
}

/// Every space this store holds, in id order.
pub fn spaces(conn: &Connection) -> Result<Vec<SpaceId>> {
    let mut statement = conn.prepare_cached("SELECT name FROM spaces ORDER BY name")?;
    let names = statement.query_map([], |row| row.get::<_, String>(0))?;
    let mut spaces = Vec::new();
    for name in names {
        spaces.push(stored_space(name?)?);
    }
    Ok(spaces)
}

/// Removes a space and every record of it with their clock rows and the rows `views` derived
/// from them.
pub fn drop_space(conn: &Connection, sid: i64, views: &[Arc<dyn DerivedView>]) -> Result<()> {
    // Its `space_clock` rows go with the space (`ON DELETE CASCADE`).
    keep_hlc_in_meta(conn)?;
    for view in views {
        view.on_drop_space(conn, sid)?;
    }
    // One pass over the clock index for the whole space (its rows name no space).
    conn.prepare_cached(
        "DELETE FROM record_clock WHERE rid IN (SELECT rid FROM records WHERE sid = ?1)",
    )?
    .execute([sid])?;
    conn.prepare_cached("DELETE FROM records WHERE sid = ?1")?.execute([sid])?;
    conn.prepare_cached("DELETE FROM spaces WHERE sid = ?1")?.execute([sid])?;
    Ok(())
}

/// Reads the replica's id, the store's clock and the version vector of space `sid`.
pub fn load_replica_state(conn: &Connection, sid: i64) -> Result<ReplicaState> {
    let id = replica_id(conn)?;
    let hlc = load_hlc(conn)?;
    Ok(ReplicaState { id, hlc, seen: load_seen(conn, sid)? })
}

/// Reads the version vector of space `sid` alone: the clock is read from every row of
/// `space_clock` (decision 0043), a pass over the whole table that callers needing only the
/// vector should not pay for.
pub fn load_seen(conn: &Connection, sid: i64) -> Result<VersionVector> {
    let mut statement = conn.prepare_cached(
        "SELECT r.replica, c.seen FROM space_clock c JOIN replicas r ON r.idx = c.replica
         WHERE c.sid = ?1",
    )?;
    let rows =
        statement.query_map([sid], |row| Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, i64>(1)?)))?;
    let mut seen = VersionVector::new();
    for row in rows {
        let (replica, counter) = row?;
        let replica: [u8; 16] = replica
            .try_into()
            .map_err(|_| Error::Corrupt("a stored replica id is not 16 bytes".into()))?;
        seen.advance(ReplicaId::from_bytes(replica), u64::try_from(counter).unwrap_or(0));
    }
    Ok(seen)
}

/// A write transaction begun and ended with cached statements. `Connection::transaction`
/// parses the text of `BEGIN IMMEDIATE` and `COMMIT` on every call, a tenth of the work of a
/// one-field edit (`docs/decisions/0024-engine-performance.md`). Dropped without
/// [`WriteTransaction::commit`] (an error, a panic), it rolls back.
pub struct WriteTransaction<'c> {
    conn: &'c Connection,
    open: bool,
}

impl<'c> WriteTransaction<'c> {
    /// Begins an immediate transaction (the writer's lock is taken now, not at the first write).
    pub fn begin(conn: &'c Connection) -> Result<Self> {
        conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
        Ok(Self { conn, open: true })
    }

    /// Commits; on an error the transaction is rolled back when `self` is dropped.
    pub fn commit(mut self) -> Result<()> {
        self.conn.prepare_cached("COMMIT")?.execute([])?;
        self.open = false;
        Ok(())
    }
}

impl std::ops::Deref for WriteTransaction<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl Drop for WriteTransaction<'_> {
    fn drop(&mut self) {
        // SQLite may have rolled back already (a full disk, say); then there is nothing to do
        // and the error is expected.
        if self.open && !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

/// Writes what changed between `before` and `after` of the bookkeeping of space `sid`.
///
/// The clock goes into the rows of `space_clock` this commit writes anyway (a local commit
/// advances its own replica's row), not into `meta`: that spared every commit a statement and
/// a page of the write-ahead log (decision 0043). Only a commit that writes no such row
/// writes the clock to `meta`. [`load_hlc`] reads the latest of them all.
pub fn save_replica_state(
    tx: &Connection,
    sid: i64,
    before: &ReplicaState,
    after: &ReplicaState,
    replicas: &mut Replicas,
) -> Result<()> {
    let (millis, logical) =
        (i64::try_from(after.hlc.millis).unwrap_or(i64::MAX), after.hlc.logical);
    let mut clock_unsaved = before.hlc != after.hlc;
    for (replica, counter) in after.seen.iter() {
        if before.seen.get(&replica) != counter {
            let idx = replicas.index(tx, replica)?;
            tx.prepare_cached(
                "INSERT INTO space_clock (sid, replica, seen, hlc_millis, hlc_logical)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (sid, replica) DO UPDATE SET seen = excluded.seen,
                     hlc_millis = excluded.hlc_millis, hlc_logical = excluded.hlc_logical",
            )?
            .execute(params![
                sid,
                idx,
                i64::try_from(counter).unwrap_or(i64::MAX),
                millis,
                logical
            ])?;
            clock_unsaved = false;
        }
    }
    if clock_unsaved {
        save_hlc(tx, after.hlc)?;
    }
    Ok(())
}

/// Replica ids and collection names are stored once and referred to by a small integer; this
/// caches the look-ups. Rows of `replicas` and `collections` are never changed or deleted, so
/// the look-ups of a transaction that committed stay true for as long as the file lives, and
/// the writer keeps them for the next transactions (`Store::write_space`). Those of a
/// transaction that rolled back are dropped with it: a number it inserted would name no row,
/// or another one.
#[derive(Default)]
pub struct Numbers {
    replicas: Replicas,
    collections: HashMap<String, i64>,
}

/// The replica half of [`Numbers`].
#[derive(Default)]
pub struct Replicas(HashMap<ReplicaId, i64>);

impl Replicas {
    fn index(&mut self, conn: &Connection, replica: ReplicaId) -> Result<i64> {
        // Looked up first: the replica is nearly always known, and a lookup is cheaper than an
        // `INSERT OR IGNORE` followed by the same lookup.
        if let Some(idx) = self.lookup(conn, replica)? {
            return Ok(idx);
        }
        conn.prepare_cached("INSERT INTO replicas (replica) VALUES (?1)")?
            .execute([replica.to_bytes().to_vec()])?;
        let idx = conn.last_insert_rowid();
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

/// The records of one space of a store, seen through one connection (inside a transaction for
/// writes), with the derived views to keep in step.
pub struct SqliteRecords<'c> {
    conn: &'c Connection,
    space: &'c SpaceId,
    sid: i64,
    views: &'c [Arc<dyn DerivedView>],
    /// Replica and collection numbers, kept by the writer between transactions.
    numbers: Numbers,
    /// Row ids of the records read in this transaction, so saving one of them is an update
    /// by row id.
    rids: HashMap<RecordKey, i64>,
    /// Collections found to have no number in this transaction: a first import loads every
    /// new record before saving any, and each load would look the collection up again. Only
    /// for this transaction (another one may number it); once this one numbers a collection,
    /// `numbers` answers first.
    unnumbered: Vec<String>,
    /// The dictionary records are compressed against (decision 0032): given by the store's
    /// writer, which keeps it between transactions, or read from the store at the first save.
    dictionary: OnceCell<Option<Arc<RecordDictionary>>>,
    /// The statements run once per record, each taken from the connection's cache once for the
    /// whole transaction (decision 0050).
    statements: Statements<'c>,
}

/// Prepared statements an [`SqliteRecords`] holds while it lives, so that a transaction of a
/// hundred records does not look each one up in rusqlite's statement cache (the SQL hashed,
/// the cache's order updated) and return it there a hundred times: that was 6% of applying a
/// received delta. Dropped with the records, they go back to the cache.
#[derive(Default)]
struct Statements<'c> {
    exists: Option<rusqlite::CachedStatement<'c>>,
    load: Option<rusqlite::CachedStatement<'c>>,
    update: Option<rusqlite::CachedStatement<'c>>,
    insert: Option<rusqlite::CachedStatement<'c>>,
    insert_clock: Option<rusqlite::CachedStatement<'c>>,
    delete_clock: Option<rusqlite::CachedStatement<'c>>,
}

/// The statement in `slot`, prepared (through the cache) the first time.
fn held<'s, 'c>(
    slot: &'s mut Option<rusqlite::CachedStatement<'c>>,
    conn: &'c Connection,
    sql: &str,
) -> Result<&'s mut rusqlite::CachedStatement<'c>> {
    if slot.is_none() {
        *slot = Some(conn.prepare_cached(sql)?);
    }
    slot.as_mut().ok_or_else(|| Error::Corrupt("a statement went missing".into()))
}

impl<'c> SqliteRecords<'c> {
    /// The records of `space` (row id `sid`) read and written through `conn`; `views` hear of
    /// every save.
    pub fn new(
        conn: &'c Connection,
        space: &'c SpaceId,
        sid: i64,
        views: &'c [Arc<dyn DerivedView>],
    ) -> Self {
        Self {
            conn,
            space,
            sid,
            views,
            numbers: Numbers::default(),
            rids: HashMap::new(),
            unnumbered: Vec::new(),
            dictionary: OnceCell::new(),
            statements: Statements::default(),
        }
    }

    /// Compresses saved records against `dictionary` (the store's current one, known to the
    /// caller) instead of reading it from the store.
    pub fn with_dictionary(self, dictionary: Option<Arc<RecordDictionary>>) -> Self {
        let _ = self.dictionary.set(dictionary);
        self
    }

    /// A record as this store keeps it: compressed against its dictionary, if it has one.
    fn encode(&self, state: &RecordState) -> Result<Vec<u8>> {
        let dictionary = match self.dictionary.get() {
            Some(dictionary) => dictionary,
            None => {
                let loaded = dictionary::load(self.conn)?;
                self.dictionary.get_or_init(|| loaded)
            }
        };
        codec::encode_record_against(state, dictionary.as_deref())
    }

    /// Starts from the look-ups of earlier transactions (see [`Numbers`]).
    pub fn with_numbers(mut self, numbers: Numbers) -> Self {
        self.numbers = numbers;
        self
    }

    /// The replica look-ups made so far, for the rest of the transaction.
    pub fn replicas(&mut self) -> &mut Replicas {
        &mut self.numbers.replicas
    }

    /// Ends the records' use, handing back the look-ups (to keep only once the transaction
    /// has committed, see [`Numbers`]).
    pub fn into_numbers(self) -> Numbers {
        self.numbers
    }

    /// Whether a record exists at `key` (live or deleted), without decoding it.
    pub fn exists(&mut self, key: &RecordKey) -> Result<bool> {
        let Some(cid) = self.cid(&key.collection)? else { return Ok(false) };
        let sql = "SELECT 1 FROM records WHERE sid = ?1 AND cid = ?2 AND id = ?3";
        Ok(held(&mut self.statements.exists, self.conn, sql)?
            .query_row(params![self.sid, cid, key.id], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// The number of `collection`, if it has one yet.
    fn cid(&mut self, collection: &str) -> Result<Option<i64>> {
        if let Some(cid) = self.numbers.collections.get(collection) {
            return Ok(Some(*cid));
        }
        if self.unnumbered.iter().any(|name| name == collection) {
            return Ok(None);
        }
        let cid = collections::find(self.conn, collection)?;
        match cid {
            Some(cid) => {
                self.numbers.collections.insert(collection.to_owned(), cid);
            }
            None => self.unnumbered.push(collection.to_owned()),
        }
        Ok(cid)
    }

    /// The number of `collection`, numbered now if it is new.
    fn cid_or_add(&mut self, collection: &str) -> Result<i64> {
        match self.cid(collection)? {
            Some(cid) => Ok(cid),
            None => {
                let cid = collections::add(self.conn, collection)?;
                self.numbers.collections.insert(collection.to_owned(), cid);
                Ok(cid)
            }
        }
    }

    /// The connection (inside the write transaction) these records are read through.
    pub fn connection(&self) -> &'c Connection {
        self.conn
    }
}

/// Decodes a record blob stored in the store `conn` is open on (any record format; a
/// compressed one's dictionary is loaded from the store the first time one names it).
pub fn decode_record(conn: &Connection, bytes: &[u8]) -> Result<RecordState> {
    dictionary::ensure_loaded(conn, bytes)?;
    codec::decode_record(bytes)
}

/// [`decode_record`] with the registers `take` picks handed over apart (see
/// [`codec::decode_record_taking`]).
pub fn decode_record_taking(
    conn: &Connection,
    bytes: &[u8],
    take: &dyn Fn(&str) -> bool,
) -> Result<(RecordState, crate::crdt::payload_reader::Taken)> {
    dictionary::ensure_loaded(conn, bytes)?;
    codec::decode_record_taking(bytes, take)
}

impl SqliteRecords<'_> {
    /// Writes the record row of `key` and returns its row id and whether the row was inserted:
    /// an update by row id when the record was loaded in this transaction, an insert when
    /// `before` says it does not exist.
    fn write_row(
        &mut self,
        key: &RecordKey,
        before: Option<Before<'_>>,
        state: &RecordState,
        bytes: &[u8],
    ) -> Result<(i64, bool)> {
        let (deleted, conflicted) = (state.is_deleted(), state.has_conflicts());
        match (before, self.rids.get(key)) {
            (Some(_), Some(&rid)) => {
                let sql =
                    "UPDATE records SET state = ?2, deleted = ?3, conflicted = ?4 WHERE rid = ?1";
                held(&mut self.statements.update, self.conn, sql)?
                    .execute(params![rid, bytes, deleted, conflicted])?;
                Ok((rid, false))
            }
            (None, _) => {
                // Not `INSERT .. RETURNING`: SQLite collects returned rows in a temporary
                // table, which cost more than the insert itself.
                let cid = self.cid_or_add(&key.collection)?;
                let sql = "INSERT INTO records (sid, cid, id, state, deleted, conflicted)
                           VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
                held(&mut self.statements.insert, self.conn, sql)?
                    .execute(params![self.sid, cid, key.id, bytes, deleted, conflicted])?;
                let rid = self.conn.last_insert_rowid();
                self.rids.insert(key.clone(), rid);
                Ok((rid, true))
            }
            (Some(_), None) => Ok((self.upsert_row(key, state, bytes)?, false)),
        }
    }

    /// Inserts or replaces the record row of `key` whatever was there; returns its row id.
    fn upsert_row(&mut self, key: &RecordKey, state: &RecordState, bytes: &[u8]) -> Result<i64> {
        let cid = self.cid_or_add(&key.collection)?;
        let rid: i64 = self
            .conn
            .prepare_cached(
                "INSERT INTO records (sid, cid, id, state, deleted, conflicted)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (sid, cid, id) DO UPDATE
                 SET state = excluded.state, deleted = excluded.deleted, conflicted = excluded.conflicted
                 RETURNING rid",
            )?
            .query_row(
                params![self.sid, cid, key.id, bytes, state.is_deleted(), state.has_conflicts()],
                |row| row.get(0),
            )?;
        Ok(rid)
    }

    /// Writes the clock-index rows of record `rid`, just inserted (no rows of it yet).
    fn write_all_clock_rows(&mut self, rid: i64, state: &RecordState) -> Result<()> {
        for (replica, counter) in state.max_counters() {
            self.insert_clock_row(rid, replica, counter)?;
        }
        Ok(())
    }

    /// Writes only the clock-index rows of record `rid` that differ between `before` and
    /// `after` (a merged edit usually changes one writer's counter, or adds one writer). The
    /// index is keyed by (replica, counter, rid), so the rows to replace are found from
    /// `before` (decision 0035).
    fn write_changed_clock_rows(
        &mut self,
        rid: i64,
        before: Before<'_>,
        after: &RecordState,
    ) -> Result<()> {
        let (old, new) = (before.max_counters(), after.max_counters());
        for (replica, counter) in &new {
            match old.get(replica) {
                Some(previous) if previous == counter => {}
                Some(previous) => {
                    self.delete_clock_row(rid, *replica, *previous)?;
                    self.insert_clock_row(rid, *replica, *counter)?;
                }
                None => self.insert_clock_row(rid, *replica, *counter)?,
            }
        }
        for (replica, previous) in old.iter().filter(|(replica, _)| !new.contains_key(replica)) {
            self.delete_clock_row(rid, *replica, *previous)?;
        }
        Ok(())
    }

    fn insert_clock_row(&mut self, rid: i64, replica: ReplicaId, counter: u64) -> Result<()> {
        let idx = self.numbers.replicas.index(self.conn, replica)?;
        let sql = "INSERT OR IGNORE INTO record_clock (replica, counter, rid) VALUES (?1, ?2, ?3)";
        held(&mut self.statements.insert_clock, self.conn, sql)?.execute(params![
            idx,
            counter_value(counter)?,
            rid
        ])?;
        Ok(())
    }

    fn delete_clock_row(&mut self, rid: i64, replica: ReplicaId, counter: u64) -> Result<()> {
        if let Some(idx) = self.numbers.replicas.lookup(self.conn, replica)? {
            let sql = "DELETE FROM record_clock WHERE replica = ?1 AND counter = ?2 AND rid = ?3";
            held(&mut self.statements.delete_clock, self.conn, sql)?.execute(params![
                idx,
                counter_value(counter)?,
                rid
            ])?;
        }
        Ok(())
    }

    /// Removes record `rid`, whose stored state is `state`, with its clock rows (the rows of
    /// derived views go with it, `ON DELETE CASCADE`).
    pub fn remove(&mut self, rid: i64, state: &RecordState) -> Result<()> {
        for (replica, counter) in state.max_counters() {
            self.delete_clock_row(rid, replica, counter)?;
        }
        self.conn.prepare_cached("DELETE FROM records WHERE rid = ?1")?.execute([rid])?;
        self.rids.retain(|_, known| *known != rid);
        Ok(())
    }

    fn notify_views(
        &self,
        (rid, inserted): (i64, bool),
        key: &RecordKey,
        before: Option<Before<'_>>,
        state: &RecordState,
    ) -> Result<()> {
        // Derived views change in the same transaction as the record they describe.
        let saved = SavedRecord { rid, space: self.space, key, state, before, inserted };
        for view in self.views {
            view.on_save(self.conn, &saved)?;
        }
        Ok(())
    }
}

impl RecordStore for SqliteRecords<'_> {
    fn load(&mut self, key: &RecordKey) -> Result<Option<RecordState>> {
        let Some(cid) = self.cid(&key.collection)? else { return Ok(None) };
        let sql = "SELECT rid, state FROM records WHERE sid = ?1 AND cid = ?2 AND id = ?3";
        let conn = self.conn;
        let mut rows =
            held(&mut self.statements.load, conn, sql)?.query(params![self.sid, cid, key.id])?;
        let Some(row) = rows.next()? else { return Ok(None) };
        let rid: i64 = row.get(0)?;
        // Decoded where SQLite holds the bytes, not from a copy of them.
        let state = decode_record(conn, row.get_ref(1)?.as_blob().map_err(rusqlite::Error::from)?)?;
        drop(rows);
        self.rids.insert(key.clone(), rid);
        Ok(Some(state))
    }

    /// A save without the previous state reads it first: the clock rows and derived rows to
    /// replace are found from it (decision 0035).
    fn save(&mut self, key: &RecordKey, state: &RecordState) -> Result<()> {
        let before = self.load(key)?;
        self.save_changed(key, before.as_ref().map(Before::whole), state)
    }

    fn save_changed(
        &mut self,
        key: &RecordKey,
        before: Option<Before<'_>>,
        state: &RecordState,
    ) -> Result<()> {
        let bytes = self.encode(state)?;
        let (rid, inserted) = self.write_row(key, before, state, &bytes)?;
        match before {
            Some(before) => self.write_changed_clock_rows(rid, before, state)?,
            None => self.write_all_clock_rows(rid, state)?,
        }
        self.notify_views((rid, inserted), key, before, state)
    }

    /// One query per replica with unseen writes gives each record's key and state together;
    /// a record found again (for another replica, or another clock row) is not decoded twice.
    fn records_with_unseen(
        &mut self,
        since: &VersionVector,
        local: &VersionVector,
    ) -> Result<Vec<(RecordKey, RecordState)>> {
        let mut records = Vec::new();
        let conn = self.conn;
        self.each_with_unseen(since, local, |key, blob| {
            records.push((key, decode_record(conn, blob)?));
            Ok(())
        })?;
        Ok(records)
    }
}

impl SqliteRecords<'_> {
    /// What a replica that has seen `since` lacks of each record with writes it has not
    /// seen, each record in its sync-chunk encoding, in key order (`local`: this replica's
    /// vector, as for [`RecordStore::records_with_unseen`]). A record of format 4 or 5 is
    /// written from its payload without being decoded (`stored_delta.rs`, decision 0041); any
    /// other is decoded and its delta written.
    pub fn encoded_deltas(
        &mut self,
        since: &VersionVector,
        local: &VersionVector,
    ) -> Result<Vec<(RecordKey, Vec<u8>)>> {
        let mut records = Vec::new();
        let conn = self.conn;
        self.each_with_unseen(since, local, |key, blob| {
            let mut bytes = Vec::new();
            if encoded_delta(conn, &key, blob, since, &mut bytes)? {
                records.push((key, bytes));
            }
            Ok(())
        })?;
        records.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(records)
    }
}

impl SqliteRecords<'_> {
    /// Calls `each` with the key and stored bytes of every record with writes `since` lacks,
    /// once each: one query per replica with unseen writes (`local`: this replica's vector).
    fn each_with_unseen(
        &mut self,
        since: &VersionVector,
        local: &VersionVector,
        mut each: impl FnMut(RecordKey, &[u8]) -> Result<()>,
    ) -> Result<()> {
        let mut queries = Vec::new();
        for (replica, counter) in local.iter() {
            let known = since.get(&replica);
            if counter <= known {
                continue;
            }
            if let Some(idx) = self.numbers.replicas.lookup(self.conn, replica)? {
                queries.push((idx, known));
            }
        }
        // A record has one clock row per writer, so one query finds it once; only a record
        // found by an earlier query can come again (usually there is one query: a peer lacks
        // only what this replica wrote since they last met).
        let mut found = HashSet::new();
        let last = queries.len().saturating_sub(1);
        for (n, (idx, known)) in queries.into_iter().enumerate() {
            let mut statement = self.conn.prepare_cached(
                "SELECT r.rid, k.name, r.id, r.state FROM record_clock c
                 JOIN records r ON r.rid = c.rid JOIN collections k ON k.cid = r.cid
                 WHERE c.replica = ?1 AND c.counter > ?2 AND r.sid = ?3",
            )?;
            let mut rows = statement.query(params![idx, known as i64, self.sid])?;
            while let Some(row) = rows.next()? {
                let rid: i64 = row.get(0)?;
                let again = if n < last { !found.insert(rid) } else { found.contains(&rid) };
                if again {
                    continue;
                }
                let key = RecordKey::new(row.get::<_, String>(1)?, row.get::<_, String>(2)?);
                each(key, row.get_ref(3)?.as_blob().map_err(rusqlite::Error::from)?)?;
            }
        }
        Ok(())
    }
}

/// Appends the sync-chunk encoding of what a replica that has seen `since` lacks of the record
/// stored as `blob` (any format), keyed `key`; whether it had anything that replica lacks.
/// Formats 4 and 5 are written from their payload without decoding the record
/// (`crdt/stored_delta.rs`); the bytes are the same either way.
pub fn encoded_delta(
    conn: &Connection,
    key: &RecordKey,
    blob: &[u8],
    since: &VersionVector,
    out: &mut Vec<u8>,
) -> Result<bool> {
    dictionary::ensure_loaded(conn, blob)?;
    if let Some(payload) = codec::stored_payload(blob)? {
        match stored_delta::append_stored_delta(key, &payload, since, out) {
            stored_delta::Written::Delta => return Ok(true),
            stored_delta::Written::NothingUnseen => return Ok(false),
            stored_delta::Written::Decode => {}
        }
    }
    let Some(delta) = codec::decode_record(blob)?.into_delta(since) else { return Ok(false) };
    crate::crdt::payload_writer::write_delta(key, &delta, out);
    Ok(true)
}

/// A counter as SQLite stores it (63 bits).
fn counter_value(counter: u64) -> Result<i64> {
    i64::try_from(counter)
        .map_err(|_| Error::Corrupt("a stored counter does not fit in 63 bits".into()))
}
