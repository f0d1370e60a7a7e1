//! The durable store apps use: a replica persisted in one SQLite file.
//!
//! `Store` is `Send + Sync`; share it between threads behind an `Arc`. Writes are serialised
//! through one writer connection, reads use a pool of read-only connections and see the last
//! committed state without waiting for writers. A transaction is acknowledged (its `commit`
//! returns) only once SQLite has committed it, so it survives the process being killed.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, TransactionBehavior};

use crate::crdt::{Delta, RecordKey, ReplicaId, Value, VersionVector, Write};
use crate::error::{Error, Result};
use crate::replica::{Changes, Operation, RecordStore, ReplicaState};
use crate::storage::sqlite::{self, Durability, SqliteRecords};
use crate::view::{Conflicts, Record};

/// The device clock the hybrid logical clock follows, in milliseconds since the Unix epoch.
///
/// Apps use [`SystemClock`]; tests substitute clocks that drift or jump to check that ordering
/// never depends on them alone.
pub trait Clock: Send + Sync {
    /// The current time in milliseconds since the Unix epoch.
    fn now_millis(&self) -> u64;
}

/// The operating system's wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_millis(&self) -> u64 {
        // A clock before 1970 reads as 0; the HLC then keeps counting from its last value.
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

/// Settings of [`Store::open_with`].
#[derive(Clone)]
pub struct StoreOptions {
    /// How hard each commit works to survive crashes (default: the app being killed).
    pub durability: Durability,
    /// Refuse to grow the file beyond this many bytes ([`Error::DiskFull`] when reached).
    pub max_size_bytes: Option<u64>,
    /// The device clock (default: [`SystemClock`]).
    pub clock: Arc<dyn Clock>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            durability: Durability::default(),
            max_size_bytes: None,
            clock: Arc::new(SystemClock),
        }
    }
}

impl std::fmt::Debug for StoreOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreOptions")
            .field("durability", &self.durability)
            .field("max_size_bytes", &self.max_size_bytes)
            .finish_non_exhaustive()
    }
}

/// Where a change came from.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Origin {
    /// A transaction committed on this store.
    Local,
    /// A delta received from another replica.
    Remote,
}

/// What subscribers learn after each commit that changed something.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ChangeEvent {
    /// Local or remote.
    pub origin: Origin,
    /// The records that changed, in key order.
    pub records: Vec<RecordKey>,
}

type Callback = Arc<dyn Fn(&ChangeEvent) + Send + Sync>;

#[derive(Default)]
struct Subscribers {
    next_id: u64,
    callbacks: Vec<(u64, Callback)>,
}

/// Keeps a change subscription alive; dropping it unsubscribes.
#[must_use = "dropping a Subscription unsubscribes at once"]
pub struct Subscription {
    id: u64,
    subscribers: Weak<Mutex<Subscribers>>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(subscribers) = self.subscribers.upgrade() {
            lock(&subscribers).callbacks.retain(|(id, _)| *id != self.id);
        }
    }
}

struct Writer {
    conn: Connection,
    replica: ReplicaState,
    /// SQLite's `data_version` when `replica` was last known to match the file. It changes when
    /// another connection (a second `Store` on the same file, an app extension's process)
    /// commits; `replica` is then reloaded so a dot is never used twice.
    data_version: i64,
}

fn data_version(conn: &Connection) -> Result<i64> {
    Ok(conn.pragma_query_value(None, "data_version", |row| row.get(0))?)
}

/// A replica persisted on disk.
pub struct Store {
    path: PathBuf,
    replica_id: ReplicaId,
    options: StoreOptions,
    writer: Mutex<Writer>,
    readers: Mutex<Vec<Connection>>,
    subscribers: Arc<Mutex<Subscribers>>,
    /// Events decoded by recent occurrence queries (see `calendar::index::EventCache`).
    pub(crate) event_cache: Mutex<crate::calendar::index::EventCache>,
}

/// Locks a mutex even if a thread panicked while holding it: every critical section here either
/// completes or leaves SQLite to roll back, so the guarded state is never half-updated.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Store {
    /// Opens the store at `path`, creating it if missing, with default options.
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        Self::open_with(path, StoreOptions::default())
    }

    /// Opens the store at `path`, creating it if missing.
    pub fn open_with(path: impl AsRef<Path>, options: StoreOptions) -> Result<Store> {
        let path = path.as_ref().to_owned();
        let conn = sqlite::open_writer(&path, options.durability, options.max_size_bytes)?;
        let replica = sqlite::load_replica_state(&conn)?;
        let data_version = data_version(&conn)?;
        let store = Store {
            path,
            options,
            replica_id: replica.id,
            writer: Mutex::new(Writer { conn, replica, data_version }),
            readers: Mutex::new(Vec::new()),
            subscribers: Arc::default(),
            event_cache: Mutex::default(),
        };
        // Opening must not take the write lock unless the index really needs rebuilding.
        let current = crate::calendar::index::is_current(&lock(&store.writer).conn)?;
        if !current {
            store.rebuild_occurrence_index()?;
        }
        Ok(store)
    }

    /// The file this store lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// This replica's id.
    pub fn replica_id(&self) -> ReplicaId {
        self.replica_id
    }

    /// Starts a transaction: writes are collected and applied atomically by
    /// [`Transaction::commit`].
    pub fn transaction(&self) -> Transaction<'_> {
        Transaction { store: self, operations: Vec::new() }
    }

    /// Commits `operations` as one transaction: all are applied or none.
    pub fn commit(&self, operations: &[Operation]) -> Result<Changes> {
        let changes = self.write(|replica, tx| {
            replica.commit(&mut SqliteRecords::new(tx), operations, self.options.clock.now_millis())
        })?;
        self.notify(Origin::Local, &changes);
        Ok(changes)
    }

    /// Merges a delta received from another replica.
    pub fn apply(&self, delta: &Delta) -> Result<Changes> {
        let changes =
            self.write(|replica, tx| replica.apply(&mut SqliteRecords::new(tx), delta))?;
        self.notify(Origin::Remote, &changes);
        Ok(changes)
    }

    /// Everything a replica that has seen `since` lacks from this one.
    pub fn delta_since(&self, since: &VersionVector) -> Result<Delta> {
        self.read(|conn| {
            let replica = sqlite::load_replica_state(conn)?;
            replica.delta_since(&mut SqliteRecords::new(conn), since)
        })
    }

    /// Every write this store has seen: send it to a peer to get back only what is missing.
    pub fn version_vector(&self) -> Result<VersionVector> {
        self.read(|conn| Ok(sqlite::load_replica_state(conn)?.seen))
    }

    /// The live record at `collection`/`id`, or `None` if it does not exist or is deleted.
    pub fn get(&self, collection: &str, id: &str) -> Result<Option<Record>> {
        Ok(self.get_any(collection, id)?.filter(|record| !record.is_deleted()))
    }

    /// The record at `collection`/`id`, deleted or not (for showing and restoring tombstones).
    pub fn get_any(&self, collection: &str, id: &str) -> Result<Option<Record>> {
        let key = RecordKey::new(collection, id);
        let state = self.read(|conn| SqliteRecords::new(conn).load(&key))?;
        Ok(state.map(|state| Record { key, state }))
    }

    /// Every live record of `collection`, in id order.
    pub fn records(&self, collection: &str) -> Result<Vec<Record>> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(
                "SELECT id, state FROM records WHERE collection = ?1 AND deleted = 0 ORDER BY id",
            )?;
            let rows = statement.query_map([collection], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, Vec<u8>>(1)?))
            })?;
            let mut records = Vec::new();
            for row in rows {
                let (id, bytes) = row?;
                let state = sqlite::decode_record(&bytes)?;
                records.push(Record { key: RecordKey::new(collection, id), state });
            }
            Ok(records)
        })
    }

    /// The conflict log: every record with concurrent values or edits shadowed by a delete.
    pub fn conflicts(&self) -> Result<Vec<Conflicts>> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached("SELECT collection, id, state FROM records WHERE conflicted = 1 ORDER BY collection, id")?;
            let rows = statement.query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?, row.get::<_, Vec<u8>>(2)?)))?;
            let mut conflicts = Vec::new();
            for row in rows {
                let (collection, id, bytes) = row?;
                let record = Record { key: RecordKey::new(collection, id), state: sqlite::decode_record(&bytes)? };
                conflicts.extend(record.conflict_report());
            }
            Ok(conflicts)
        })
    }

    /// Calls `callback` after every commit that changed records, local or remote, on the thread
    /// that committed. Keep the returned [`Subscription`] as long as you want the calls.
    pub fn subscribe(
        &self,
        callback: impl Fn(&ChangeEvent) + Send + Sync + 'static,
    ) -> Subscription {
        let mut subscribers = lock(&self.subscribers);
        subscribers.next_id += 1;
        let id = subscribers.next_id;
        subscribers.callbacks.push((id, Arc::new(callback)));
        Subscription { id, subscribers: Arc::downgrade(&self.subscribers) }
    }

    /// Runs SQLite's full integrity check; `Err(Corrupt)` describes what is damaged.
    pub fn check_integrity(&self) -> Result<()> {
        let writer = lock(&self.writer);
        let mut statement = writer.conn.prepare("PRAGMA integrity_check")?;
        let problems: Vec<String> =
            statement.query_map([], |row| row.get(0))?.collect::<Result<_, _>>()?;
        if problems == ["ok"] { Ok(()) } else { Err(Error::Corrupt(problems.join("; "))) }
    }

    /// Moves the write-ahead log into the main file and truncates it (for measuring file size
    /// and before copying the file).
    pub fn checkpoint(&self) -> Result<()> {
        let writer = lock(&self.writer);
        writer.conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// Runs `work` in a write transaction that changes only derived state (indexes), never
    /// records or replica bookkeeping.
    pub(crate) fn write_derived<T>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T>,
    ) -> Result<T> {
        let mut guard = lock(&self.writer);
        let tx = guard.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let result = work(&tx)?;
        tx.commit()?;
        Ok(result)
    }

    /// Rebuilds the occurrence index from the records (it is derived state; normally it is
    /// kept up to date in every write and rebuilt when the bundled tz database changes).
    pub fn rebuild_occurrence_index(&self) -> Result<()> {
        self.write_derived(crate::calendar::index::rebuild)
    }

    fn write(
        &self,
        work: impl FnOnce(&mut ReplicaState, &Connection) -> Result<Changes>,
    ) -> Result<Changes> {
        let mut guard = lock(&self.writer);
        let writer = &mut *guard;
        let tx = writer.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version = data_version(&tx)?;
        if version != writer.data_version {
            writer.replica = sqlite::load_replica_state(&tx)?;
            writer.data_version = version;
        }
        // Work on a copy: if anything fails, the transaction rolls back and the bookkeeping in
        // memory stays equal to what is on disk.
        let mut replica = writer.replica.clone();
        let changes = work(&mut replica, &tx)?;
        sqlite::save_replica_state(&tx, &writer.replica, &replica)?;
        tx.commit()?;
        writer.replica = replica;
        Ok(changes)
    }

    /// Runs `work` in a read transaction on a pooled read-only connection.
    pub(crate) fn read<T>(&self, work: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let pooled = lock(&self.readers).pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => sqlite::open_reader(&self.path, self.options.durability)?,
        };
        // One read transaction, so everything read belongs to the same committed state.
        let result = conn.execute_batch("BEGIN").map_err(Error::from).and_then(|()| work(&conn));
        let ended = conn.execute_batch("COMMIT");
        if ended.is_ok() {
            lock(&self.readers).push(conn);
        }
        result
    }

    fn notify(&self, origin: Origin, changes: &Changes) {
        if changes.records.is_empty() {
            return;
        }
        // Call outside the lock so a callback may subscribe, unsubscribe or read the store.
        let callbacks: Vec<Callback> =
            lock(&self.subscribers).callbacks.iter().map(|(_, c)| Arc::clone(c)).collect();
        let event = ChangeEvent { origin, records: changes.records.clone() };
        for callback in callbacks {
            callback(&event);
        }
    }
}

/// A group of writes applied atomically, locally and on every replica that receives them.
pub struct Transaction<'s> {
    store: &'s Store,
    operations: Vec<Operation>,
}

impl Transaction<'_> {
    fn push(&mut self, collection: &str, id: &str, write: Write) -> &mut Self {
        self.operations.push(Operation { key: RecordKey::new(collection, id), write });
        self
    }

    /// Sets register `field` (creates the record if needed).
    pub fn set(
        &mut self,
        collection: &str,
        id: &str,
        field: &str,
        value: impl Into<Value>,
    ) -> &mut Self {
        self.push(collection, id, Write::Set { field: field.into(), value: value.into() })
    }

    /// Sets `member_field` of member `key` of keyed map `field`, adding the member if needed.
    pub fn set_member(
        &mut self,
        collection: &str,
        id: &str,
        field: &str,
        key: &str,
        member_field: &str,
        value: impl Into<Value>,
    ) -> &mut Self {
        let write = Write::SetMember {
            field: field.into(),
            key: key.into(),
            member_field: member_field.into(),
            value: value.into(),
        };
        self.push(collection, id, write)
    }

    /// Removes member `key` of keyed map `field`.
    pub fn remove_member(
        &mut self,
        collection: &str,
        id: &str,
        field: &str,
        key: &str,
    ) -> &mut Self {
        self.push(collection, id, Write::RemoveMember { field: field.into(), key: key.into() })
    }

    /// Offers `value` to min register `field`.
    pub fn min(
        &mut self,
        collection: &str,
        id: &str,
        field: &str,
        value: impl Into<Value>,
    ) -> &mut Self {
        self.push(collection, id, Write::Min { field: field.into(), value: value.into() })
    }

    /// Offers `value` to max register `field`.
    pub fn max(
        &mut self,
        collection: &str,
        id: &str,
        field: &str,
        value: impl Into<Value>,
    ) -> &mut Self {
        self.push(collection, id, Write::Max { field: field.into(), value: value.into() })
    }

    /// Deletes the record (kept as a tombstone that can be restored).
    pub fn delete(&mut self, collection: &str, id: &str) -> &mut Self {
        self.push(collection, id, Write::Delete)
    }

    /// Restores a deleted record with every field it had.
    pub fn restore(&mut self, collection: &str, id: &str) -> &mut Self {
        self.push(collection, id, Write::Restore)
    }

    /// Applies every write atomically and durably; returns what changed.
    pub fn commit(&mut self) -> Result<Changes> {
        let operations = std::mem::take(&mut self.operations);
        self.store.commit(&operations)
    }
}

/// `Store` must stay shareable across threads (the bindings hand one instance to every thread).
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Store>();
};
