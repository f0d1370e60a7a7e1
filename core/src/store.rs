//! The durable store apps use: a replica of any number of spaces persisted in one SQLite file.
//!
//! `Store` is `Send + Sync`; share it between threads behind an `Arc`. Writes are serialised
//! through one writer connection, reads use a pool of read-only connections and see the last
//! committed state without waiting for writers. A transaction is acknowledged (its `commit`
//! returns) only once SQLite has committed it, so it survives the process being killed.

use std::collections::{HashMap, VecDeque};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, TransactionBehavior};

use crate::compression::RecordDictionary;
use crate::crdt::{Delta, Hlc, RecordKey, ReplicaId, SpaceId, Value, VersionVector, Write};
use crate::error::{Error, Result};
use crate::replica::{Changes, Operation, RecordStore, ReplicaState};
use crate::storage::sqlite::incarnation::{self, DeviceMarker, Incarnation, Marker};
use crate::storage::sqlite::view::DerivedView;
use crate::storage::sqlite::{self, Durability, SqliteRecords};
use crate::view::{Conflicts, Record};

mod shared_read;
use shared_read::{Found, SharedReads};

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
    /// Where the marker that tells a restored or copied store from the running one lives
    /// (default: next to the store; apps should pick a place their backups skip).
    pub device_marker: DeviceMarker,
    /// Derived views kept in step with the records (default: the calendar's occurrence index;
    /// empty for the bare engine, as a sync server uses it).
    pub views: Vec<Arc<dyn DerivedView>>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            durability: Durability::default(),
            max_size_bytes: None,
            clock: Arc::new(SystemClock),
            device_marker: DeviceMarker::default(),
            views: vec![Arc::new(crate::calendar::index::CalendarView::default())],
        }
    }
}

impl StoreOptions {
    /// The bare engine: no derived views, no device marker (what a sync server opens).
    pub fn engine_only() -> Self {
        Self { views: Vec::new(), device_marker: DeviceMarker::Disabled, ..Self::default() }
    }
}

impl std::fmt::Debug for StoreOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreOptions")
            .field("durability", &self.durability)
            .field("max_size_bytes", &self.max_size_bytes)
            .field("device_marker", &self.device_marker)
            .field("views", &self.views.len())
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
    /// The space the records belong to.
    pub space: SpaceId,
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

/// The replica bookkeeping the writer keeps in memory between transactions.
struct Bookkeeping {
    id: ReplicaId,
    hlc: Hlc,
    /// Version vectors of the spaces written or synced recently, by space row id.
    spaces: HashMap<i64, VersionVector>,
    /// Row ids of the spaces written or synced recently, by name (looking one up was 2.5% of
    /// a one-field edit's instructions, decision 0042). A row id is reused once its space is
    /// dropped, so every transaction that drops a space forgets them all.
    sids: HashMap<SpaceId, i64>,
}

impl Bookkeeping {
    /// Read afresh from the store, nothing cached: at open, and after another connection wrote.
    fn load(conn: &Connection) -> Result<Self> {
        Ok(Bookkeeping {
            id: sqlite::replica_id(conn)?,
            hlc: sqlite::load_hlc(conn)?,
            spaces: HashMap::new(),
            sids: HashMap::new(),
        })
    }
}

struct Writer {
    conn: Connection,
    bookkeeping: Bookkeeping,
    /// SQLite's `data_version` when `bookkeeping` was last known to match the file. It changes
    /// when another connection (a second `Store` on the same file, an app extension's process)
    /// commits; `bookkeeping` is then reloaded so a dot is never used twice.
    data_version: i64,
    /// The device marker, told the clock after every commit (see `incarnation.rs`).
    marker: Option<Marker>,
    /// Replica and collection numbers looked up by earlier commits: the own replica's is
    /// needed by every commit, and looking it up each time was 4.6% of a one-field edit's
    /// instructions; the collection's was 3.2% (decision 0042).
    numbers: sqlite::Numbers,
    /// The dictionary records are compressed against (decision 0032), reloaded with
    /// `bookkeeping` when another connection has written (it may have made one).
    dictionary: Option<Arc<RecordDictionary>>,
    /// While the store has no dictionary: commits left before the next one checks whether the
    /// store holds enough records to make one (decision 0037).
    dictionary_due: u32,
}

/// While a store has no record dictionary, every this many commits (and after any commit of
/// at least this many records) one checks whether it holds enough records to make it.
const DICTIONARY_CHECK_EVERY: u32 = 64;

pub(crate) fn data_version(conn: &Connection) -> Result<i64> {
    // Prepared once: `pragma_query_value` prepares the statement on every commit.
    Ok(conn.prepare_cached("PRAGMA data_version")?.query_row([], |row| row.get(0))?)
}

/// A pooled reader connection, with the number it was opened as.
struct Reader {
    number: u64,
    conn: Connection,
}

/// Which reader connection a read ran on, and that connection's `PRAGMA data_version` in it.
/// A reader never commits, so its data version changes exactly when another connection (this
/// store's writer, another store on the file, another process) commits: two reads with equal
/// stamps saw the same committed state. A month view trusts the events it decoded under the
/// same stamp without reading their records again (decision 0041). Reader numbers are never
/// reused, so a stamp of a closed reader matches nothing.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct ReaderStamp {
    reader: u64,
    data_version: i64,
}

/// The writer, held for a write (see `Store::writer`).
struct WriterGuard<'a> {
    guard: MutexGuard<'a, Writer>,
    store: &'a Store,
}

impl std::ops::Deref for WriterGuard<'_> {
    type Target = Writer;
    fn deref(&self) -> &Writer {
        &self.guard
    }
}

impl std::ops::DerefMut for WriterGuard<'_> {
    fn deref_mut(&mut self) -> &mut Writer {
        &mut self.guard
    }
}

impl Drop for WriterGuard<'_> {
    fn drop(&mut self) {
        self.store.end_shared_read();
    }
}

/// A replica persisted on disk: any number of spaces in one SQLite file.
pub struct Store {
    path: PathBuf,
    options: StoreOptions,
    incarnation: Mutex<Incarnation>,
    writer: Mutex<Writer>,
    readers: Mutex<Vec<Reader>>,
    /// The threads whose reads share one read transaction (see `store/shared_read.rs`).
    shared_reads: Mutex<SharedReads>,
    /// The number the next reader connection opened gets (see [`ReaderStamp`]).
    next_reader: AtomicU64,
    subscribers: Arc<Mutex<Subscribers>>,
    /// Change events in commit order, waiting to be delivered (see `deliver`).
    pending: Mutex<VecDeque<ChangeEvent>>,
    /// Held by the one thread delivering events, so subscribers hear them one at a time and in
    /// commit order.
    delivering: Mutex<()>,
    /// The background thread that checkpoints the write-ahead log (see `Checkpointer`).
    checkpointer: Mutex<Option<Checkpointer>>,
    /// How many large syncs currently keep checkpoints out of commits.
    quiet_checkpoints: Mutex<usize>,
}

/// A thread that copies the write-ahead log into the store file when asked, on its own
/// connection: during a large sync, checkpoints inside commits are off
/// (`Store::checkpoint_inside_commits`) and this thread keeps the log copied instead. Asking is
/// cheap and never blocks: requests made while one runs are merged.
struct Checkpointer {
    wake: std::sync::mpsc::SyncSender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Checkpointer {
    fn start(path: PathBuf, durability: Durability) -> Option<Checkpointer> {
        let (wake, requests) = std::sync::mpsc::sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("almanac-checkpoint".into())
            .spawn(move || {
                let Ok(conn) = sqlite::open_checkpointer(&path, durability) else { return };
                while requests.recv().is_ok() {
                    // A failed checkpoint only leaves the log longer; the next one retries.
                    let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                }
            })
            .ok()?;
        Some(Checkpointer { wake, thread })
    }

    fn request(&self) {
        // Full means a checkpoint is already waiting to run: nothing to add.
        let _ = self.wake.try_send(());
    }

    fn stop(self) {
        drop(self.wake);
        let _ = self.thread.join();
    }
}

/// Runs `work` in one write transaction on the writer's connection (see `write_derived`).
fn derived_transaction<T>(
    conn: &Connection,
    work: impl FnOnce(&Connection) -> Result<T>,
) -> Result<T> {
    let tx = sqlite::WriteTransaction::begin(conn)?;
    let result = work(&tx)?;
    tx.commit()?;
    Ok(result)
}

/// Locks a mutex even if a thread panicked while holding it: every critical section here either
/// completes or leaves SQLite to roll back, so the guarded state is never half-updated.
/// How long [`Store::checkpoint`] waits for other connections to let a full checkpoint run.
const CHECKPOINT_PATIENCE: std::time::Duration = std::time::Duration::from_secs(10);

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
        let mut conn =
            sqlite::open_writer(&path, options.durability, options.max_size_bytes, &options.views)?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (incarnation, marker) =
            incarnation::check(&tx, &path, &options.device_marker, &options.views)?;
        let mut stale_views = Vec::new();
        for view in &options.views {
            if view.prepare(&tx)? {
                stale_views.push(Arc::clone(view));
            }
        }
        tx.commit()?;
        let bookkeeping = Bookkeeping::load(&conn)?;
        let data_version = data_version(&conn)?;
        let dictionary = sqlite::dictionary::load(&conn)?;
        let store = Store {
            path,
            options,
            incarnation: Mutex::new(incarnation),
            writer: Mutex::new(Writer {
                conn,
                bookkeeping,
                data_version,
                marker,
                numbers: sqlite::Numbers::default(),
                dictionary,
                dictionary_due: 0,
            }),
            readers: Mutex::new(Vec::new()),
            shared_reads: Mutex::default(),
            next_reader: AtomicU64::new(0),
            subscribers: Arc::default(),
            pending: Mutex::default(),
            delivering: Mutex::default(),
            checkpointer: Mutex::new(None),
            quiet_checkpoints: Mutex::new(0),
        };
        *lock(&store.checkpointer) =
            Checkpointer::start(store.path.clone(), store.options.durability);
        for view in stale_views {
            store.write_derived(|conn| view.rebuild(conn))?;
        }
        // A delta whose last chunk arrived before a crash is finished now, so the app never
        // keeps seeing half of it.
        store.apply_complete_staged()?;
        Ok(store)
    }

    /// The device clock's reading, in milliseconds since the Unix epoch.
    pub(crate) fn now_millis(&self) -> u64 {
        self.options.clock.now_millis()
    }

    /// The file this store lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The id this store writes with now (it changes when a restored or copied store is
    /// detected; see [`Store::incarnation`]).
    pub fn replica_id(&self) -> ReplicaId {
        lock(&self.writer).bookkeeping.id
    }

    /// Whether the store was found restored from a backup or copied from another device, at
    /// open or later by sync (it then writes as a new replica, so nothing either copy writes is
    /// ever confused).
    pub fn incarnation(&self) -> Incarnation {
        *lock(&self.incarnation)
    }

    /// Moves this store to a fresh replica id, keeping every write: the writes of the old id
    /// that never left this store are re-stamped under the new one, so they reach peers on the
    /// next sync, and the old id's writes this store never sent are left to the other copy
    /// that made them (decision 0025). Sync calls this when a peer holds writes of this
    /// store's id that the store never sent, which only a copy of the store (with its device
    /// marker) can have made; apps do not need to. Returns the new id.
    ///
    /// A store opened without a device marker (a sync server's, `StoreOptions::engine_only`)
    /// refuses with [`Error::ReplicaRewound`]: it is never a device's copy, so a peer naming
    /// its id is wrong or hostile and must not make it drop what it staged for everyone.
    pub fn renew_replica_id(&self) -> Result<ReplicaId> {
        if self.options.device_marker == DeviceMarker::Disabled {
            return Err(Error::ReplicaRewound);
        }
        let mut guard = self.writer();
        let writer = &mut *guard;
        let previous = writer.bookkeeping.id;
        let tx = writer.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current = sqlite::renew::renew(&tx, &self.options.views)?;
        tx.commit()?;
        // The store first, the marker after: a crash in between leaves a marker naming the
        // old id, and the next open renews once more, with an id nobody wrote under.
        writer.bookkeeping.id = current;
        writer.bookkeeping.spaces.clear();
        writer.bookkeeping.sids.clear();
        if let Some(marker) = &mut writer.marker {
            marker.renew(current, writer.bookkeeping.hlc);
        }
        *lock(&self.incarnation) = Incarnation::Renewed { previous };
        Ok(current)
    }

    /// The derived view of type `V` registered with this store, if any.
    pub fn view<V: DerivedView>(&self) -> Option<&V> {
        self.options.views.iter().find_map(|view| view.as_any().downcast_ref::<V>())
    }

    /// Starts a transaction in `space`: writes are collected and applied atomically by
    /// [`Transaction::commit`]. A transaction never spans two spaces (each space syncs on its
    /// own, so a transaction across spaces could not arrive anywhere whole).
    pub fn transaction(&self, space: &str) -> Transaction<'_> {
        Transaction { store: self, space: space.to_owned(), operations: Vec::new() }
    }

    /// Commits `operations` as one transaction in `space` (added to the store if new): all are
    /// applied or none.
    pub fn commit(&self, space: &str, operations: &[Operation]) -> Result<Changes> {
        let space = SpaceId::new(space)?;
        let now = self.now_millis();
        let changes = self.write_space(&space, Origin::Local, |replica, records| {
            replica.commit(records, operations, now)
        });
        self.deliver();
        changes
    }

    /// Merges a delta received from another replica. The delta's space must be held (see
    /// [`Store::join_space`]).
    pub fn apply(&self, delta: &Delta) -> Result<Changes> {
        let now = self.now_millis();
        let sent = self.released(&delta.space)?;
        let changes = self.write_space(&delta.space, Origin::Remote, |replica, records| {
            replica.apply_given_sent(records, delta, now, sent)
        });
        self.deliver();
        changes
    }

    /// Everything a replica that has seen `since` of `space` lacks from this one.
    pub fn delta_since(&self, space: &str, since: &VersionVector) -> Result<Delta> {
        let space = SpaceId::new(space)?;
        self.read(|conn| {
            let sid = sqlite::held_space(conn, &space)?;
            let replica = sqlite::load_replica_state(conn, sid)?;
            replica.delta_since(&mut SqliteRecords::new(conn, &space, sid, &[]), &space, since)
        })
    }

    /// Every write of `space` this store has seen: send it to a peer to get back only what is
    /// missing.
    pub fn version_vector(&self, space: &str) -> Result<VersionVector> {
        let space = SpaceId::new(space)?;
        self.read(|conn| sqlite::load_seen(conn, sqlite::held_space(conn, &space)?))
    }

    /// The spaces this store holds, in id order.
    pub fn spaces(&self) -> Result<Vec<SpaceId>> {
        self.read(sqlite::spaces)
    }

    /// Whether this store holds `space`.
    pub fn holds_space(&self, space: &str) -> Result<bool> {
        let space = SpaceId::new(space)?;
        self.read(|conn| Ok(sqlite::space_sid(conn, &space)?.is_some()))
    }

    /// Starts following `space`: it is held with nothing seen, so the next sync brings all of
    /// it. Joining a space already held changes nothing.
    pub fn join_space(&self, space: &str) -> Result<()> {
        let space = SpaceId::new(space)?;
        self.write_derived(|conn| sqlite::create_space(conn, &space).map(drop))
    }

    /// Stops following `space` and drops its data from this store (other replicas keep it).
    /// Writes of this store that no other replica has received yet are lost with it.
    pub fn leave_space(&self, space: &str) -> Result<()> {
        let space = SpaceId::new(space)?;
        let mut guard = self.writer();
        let tx = guard.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let Some(sid) = sqlite::space_sid(&tx, &space)? else {
            return Err(Error::SpaceNotHeld(space));
        };
        sqlite::drop_space(&tx, sid, &self.options.views)?;
        sqlite::rejoin::drop_stash(&tx, &space)?;
        tx.commit()?;
        guard.bookkeeping.spaces.remove(&sid);
        guard.bookkeeping.sids.clear();
        Ok(())
    }

    /// Fetches `space` again from scratch while keeping this store's own writes (what a device
    /// does when the sync server has retired it: others may have purged what it has not
    /// seen, decision 0025). In one transaction the space's records move to a stash and the
    /// space is held again with nothing seen, so the next sync brings the whole of it;
    /// [`Store::finish_rejoin`] then writes this store's unsent writes again on top. Returns
    /// `false`, changing nothing, while an earlier stash of the space still waits (its
    /// writes would be lost under a second one).
    pub fn rejoin_space(&self, space: &str) -> Result<bool> {
        let space = SpaceId::new(space)?;
        let mut guard = self.writer();
        let writer = &mut *guard;
        let tx = writer.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let Some(sid) = sqlite::space_sid(&tx, &space)? else {
            return Err(Error::SpaceNotHeld(space));
        };
        if sqlite::rejoin::has_stash(&tx, &space)? {
            return Ok(false);
        }
        let own = writer.bookkeeping.id;
        sqlite::rejoin::stash(&tx, sid, &space, own)?;
        // What left this store stays known as sent, or the peers holding it would look like a
        // copy of this store having written under its id.
        let released = sqlite::sync_state::released(&tx, sid, own)?;
        sqlite::drop_space(&tx, sid, &self.options.views)?;
        let sid = sqlite::create_space(&tx, &space)?;
        sqlite::sync_state::mark_released(&tx, sid, own, released)?;
        tx.commit()?;
        writer.bookkeeping.spaces.clear();
        writer.bookkeeping.sids.clear();
        Ok(true)
    }

    /// The live record at `collection`/`id` of `space`, or `None` if it does not exist or is
    /// deleted.
    pub fn get(&self, space: &str, collection: &str, id: &str) -> Result<Option<Record>> {
        Ok(self.get_any(space, collection, id)?.filter(|record| !record.is_deleted()))
    }

    /// The record at `collection`/`id` of `space`, deleted or not (for showing and restoring
    /// tombstones).
    pub fn get_any(&self, space: &str, collection: &str, id: &str) -> Result<Option<Record>> {
        let space = SpaceId::new(space)?;
        let key = RecordKey::new(collection, id);
        let state = self.read(|conn| {
            let Some(sid) = sqlite::space_sid(conn, &space)? else { return Ok(None) };
            SqliteRecords::new(conn, &space, sid, &[]).load(&key)
        })?;
        Ok(state.map(|state| Record { space, key, state }))
    }

    /// Every record `collection`/`id` in any space, live first (a record id is normally in one
    /// space; an event moved between calendars leaves a tombstone behind).
    pub fn find_any(&self, collection: &str, id: &str) -> Result<Vec<Record>> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(
                // Spaces first (a store holds few), then the unique (sid, cid, id) index:
                // there is no index on (cid, id) alone.
                "SELECT s.name, r.state FROM spaces s CROSS JOIN records r
                 WHERE r.sid = s.sid AND r.cid = (SELECT cid FROM collections WHERE name = ?1)
                 AND r.id = ?2
                 ORDER BY r.deleted, s.name",
            )?;
            let rows = statement.query_map([collection, id], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, Vec<u8>>(1)?))
            })?;
            let mut records = Vec::new();
            for row in rows {
                let (space, bytes) = row?;
                records.push(Record {
                    space: sqlite::stored_space(space)?,
                    key: RecordKey::new(collection, id),
                    state: sqlite::decode_record(conn, &bytes)?,
                });
            }
            Ok(records)
        })
    }

    /// Every live record of `collection` in `space`, in id order.
    pub fn records(&self, space: &str, collection: &str) -> Result<Vec<Record>> {
        let space = SpaceId::new(space)?;
        self.read(|conn| {
            let mut statement = conn.prepare_cached(
                "SELECT r.id, r.state FROM records r JOIN spaces s ON s.sid = r.sid
                 WHERE s.name = ?1 AND r.cid = (SELECT cid FROM collections WHERE name = ?2)
                 AND r.deleted = 0 ORDER BY r.id",
            )?;
            let rows = statement.query_map([space.as_str(), collection], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, Vec<u8>>(1)?))
            })?;
            let mut records = Vec::new();
            for row in rows {
                let (id, bytes) = row?;
                let state = sqlite::decode_record(conn, &bytes)?;
                let key = RecordKey::new(collection, id);
                records.push(Record { space: space.clone(), key, state });
            }
            Ok(records)
        })
    }

    /// The conflict log: every record with concurrent values or edits shadowed by a delete, in
    /// every space.
    pub fn conflicts(&self) -> Result<Vec<Conflicts>> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(
                "SELECT s.name, k.name, r.id, r.state FROM records r JOIN spaces s ON s.sid = r.sid
                 JOIN collections k ON k.cid = r.cid
                 WHERE r.conflicted = 1 ORDER BY s.name, k.name, r.id",
            )?;
            let rows = statement.query_map([], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, Vec<u8>>(3)?,
                ))
            })?;
            let mut conflicts = Vec::new();
            for row in rows {
                let (space, collection, id, bytes) = row?;
                let record = Record {
                    space: sqlite::stored_space(space)?,
                    key: RecordKey::new(collection, id),
                    state: sqlite::decode_record(conn, &bytes)?,
                };
                conflicts.extend(record.conflict_report());
            }
            Ok(conflicts)
        })
    }

    /// Calls `callback` after every commit that changed records, local or remote.
    ///
    /// Calls come in commit order and never two at once, on a thread that committed (when
    /// several threads commit together, the one already delivering passes the others' events
    /// on). A callback may read the store and commit; a callback that panics is skipped for
    /// that event and never turns the commit, which is already durable, into an error. Keep
    /// the returned [`Subscription`] as long as you want the calls.
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
        let writer = self.writer();
        let mut statement = writer.conn.prepare("PRAGMA integrity_check")?;
        let problems: Vec<String> =
            statement.query_map([], |row| row.get(0))?.collect::<Result<_, _>>()?;
        if problems == ["ok"] { Ok(()) } else { Err(Error::Corrupt(problems.join("; "))) }
    }

    /// Moves the write-ahead log into the main file and truncates it (for measuring file size
    /// and before copying the file).
    ///
    /// Waits for a checkpoint the background thread is running rather than returning before
    /// the file is whole: SQLite answers a second checkpointer "busy" *as a result row*, not as
    /// an error, and a file copied then would miss the latest commits.
    pub fn checkpoint(&self) -> Result<()> {
        let writer = self.writer();
        let mut waited = std::time::Duration::ZERO;
        loop {
            let busy: i64 =
                writer.conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0))?;
            if busy == 0 {
                return Ok(());
            }
            if waited >= CHECKPOINT_PATIENCE {
                return Err(Error::Storage(format!(
                    "the write-ahead log could not be folded into the file within {}s: another \
                     connection keeps reading or checkpointing it",
                    CHECKPOINT_PATIENCE.as_secs()
                )));
            }
            let pause = std::time::Duration::from_millis(5);
            std::thread::sleep(pause);
            waited += pause;
        }
    }

    /// Gives back the space that edits and deletes left free inside the store file, and
    /// compresses the records: in a store of at least 256 live records, a 4 KiB dictionary is
    /// made from a sample of its records as they are now and every record is rewritten
    /// compressed against it, as every later write is (decision 0032: 244 → ~56 bytes for a
    /// benchmark event; the dictionary it replaces is forgotten). Then the file is rewritten without its free pages
    /// (SQLite's `VACUUM`) and the write-ahead log folded in and truncated. Records are
    /// rewritten in place as they change, so a store does not grow with edits, but the pages
    /// they leave partly empty stay in the file until this runs. It takes time in proportion
    /// to the store and writes the whole file once, so an app runs it when idle, not after
    /// every edit (as Couchbase Lite's `performMaintenance(.compact)`). Nothing is lost or
    /// renumbered: the store keeps its replica id and its file (the device marker still
    /// recognises it), and each record reads back as it was.
    pub fn compact(&self) -> Result<()> {
        {
            let mut writer = self.writer();
            let tx = sqlite::WriteTransaction::begin(&writer.conn)?;
            let dictionary = sqlite::dictionary::make(&tx)?;
            if let Some(dictionary) = &dictionary {
                sqlite::dictionary::compress_records(&tx, dictionary)?;
            }
            tx.commit()?;
            writer.dictionary = dictionary;
            writer.conn.execute_batch("VACUUM")?;
        }
        self.checkpoint()
    }

    /// The size in bytes of the dictionary new records are compressed against (decision 0032),
    /// or `None` while the store has none (`compact` makes it).
    pub fn record_dictionary_size(&self) -> Result<Option<usize>> {
        self.read(sqlite::dictionary::current_size)
    }

    /// Closes the store: the write-ahead log is folded into the file and removed, so the file
    /// alone is the whole store (dropping a `Store` does the same, without reporting errors).
    pub fn close(self) -> Result<()> {
        self.stop_background();
        self.checkpoint()
    }

    /// Stops the checkpoint thread and closes the readers, so the writer is the last
    /// connection: SQLite then checkpoints and removes the -wal file when it closes.
    fn stop_background(&self) {
        if let Some(checkpointer) = lock(&self.checkpointer).take() {
            checkpointer.stop();
        }
        lock(&self.readers).clear();
    }

    /// Turns SQLite's own checkpoint inside commits off (`false`) or back on, for the duration
    /// of a large sync: with it on, the commit that reaches the threshold syncs the file while
    /// holding the writer, and during a first sync that is often the app's own write. The
    /// background thread copies the log meanwhile; the log is reset once it is back on.
    /// Nested: checkpoints come back on when every caller that turned them off has turned them
    /// on again.
    pub(crate) fn checkpoint_inside_commits(&self, on: bool) -> Result<()> {
        let mut quiet = lock(&self.quiet_checkpoints);
        let before = *quiet;
        *quiet = if on { before.saturating_sub(1) } else { before + 1 };
        if (before == 0) != (*quiet == 0) {
            let pages = if on { sqlite::WAL_CHECKPOINT_PAGES } else { 0 };
            let writer = self.writer();
            writer.conn.pragma_update(None, "wal_autocheckpoint", pages)?;
        }
        Ok(())
    }

    /// Asks the checkpoint thread to copy the log now (after each large write of a sync).
    pub(crate) fn request_checkpoint(&self) {
        if let Some(checkpointer) = lock(&self.checkpointer).as_ref() {
            checkpointer.request();
        }
    }

    /// [`Store::write_derived`] for rows cheaper to derive again than to make durable (the
    /// occurrence index's packed days, which a view writes): the commit does not wait for the
    /// disk even when the store's durability is `PowerLoss`, so a view never waits for a sync
    /// of the disk. A power cut can lose only this transaction and those after it, never leave
    /// it half written (the log is written in order), and losing it loses only the work.
    pub(crate) fn write_derived_unsynced<T>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T>,
    ) -> Result<T> {
        let guard = self.writer();
        let full = self.options.durability == Durability::PowerLoss;
        if full {
            guard.conn.pragma_update(None, "synchronous", "NORMAL")?;
        }
        let result = derived_transaction(&guard.conn, work);
        if full {
            // The app's own commits must wait for the disk again: a failure here is the error.
            guard.conn.pragma_update(None, "synchronous", "FULL")?;
        }
        result
    }

    /// Runs `work` in a write transaction that never changes the replica bookkeeping (version
    /// vectors, clock): derived state, the list of spaces, sync staging, and garbage collection
    /// of what every replica has seen.
    pub(crate) fn write_derived<T>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T>,
    ) -> Result<T> {
        derived_transaction(&self.writer().conn, work)
    }

    /// Runs `work` on the records and bookkeeping of `space` in one write transaction; a local
    /// commit adds the space if it is new. The change event, if any, is queued in commit order
    /// before the writer is released.
    pub(crate) fn write_space(
        &self,
        space: &SpaceId,
        origin: Origin,
        work: impl FnOnce(&mut ReplicaState, &mut SqliteRecords<'_>) -> Result<Changes>,
    ) -> Result<Changes> {
        let mut guard = self.writer();
        let writer = &mut *guard;
        let tx = sqlite::WriteTransaction::begin(&writer.conn)?;
        let version = data_version(&tx)?;
        if version != writer.data_version {
            writer.bookkeeping = Bookkeeping::load(&tx)?;
            writer.dictionary = sqlite::dictionary::load(&tx)?;
            writer.data_version = version;
        }
        let known = writer.bookkeeping.sids.get(space).copied();
        let found = match known {
            Some(sid) => Some(sid),
            None => sqlite::space_sid(&tx, space)?,
        };
        let sid = match found {
            Some(sid) => sid,
            None if origin == Origin::Local => sqlite::create_space(&tx, space)?,
            None => return Err(Error::SpaceNotHeld(space.clone())),
        };
        let seen = match writer.bookkeeping.spaces.get(&sid) {
            Some(seen) => seen.clone(),
            None => sqlite::load_seen(&tx, sid)?,
        };
        // Work on a copy: if anything fails, the transaction rolls back and the bookkeeping in
        // memory stays equal to what is on disk.
        let before = ReplicaState { id: writer.bookkeeping.id, hlc: writer.bookkeeping.hlc, seen };
        let mut replica = before.clone();
        let mut records = SqliteRecords::new(&tx, space, sid, &self.options.views)
            .with_numbers(std::mem::take(&mut writer.numbers))
            .with_dictionary(writer.dictionary.clone());
        let changes = work(&mut replica, &mut records)?;
        sqlite::save_replica_state(&tx, sid, &before, &replica, records.replicas())?;
        let numbers = records.into_numbers();
        let mut made = None;
        if writer.dictionary.is_none() {
            let written = u32::try_from(changes.records.len()).unwrap_or(u32::MAX);
            if writer.dictionary_due == 0 || written >= DICTIONARY_CHECK_EVERY {
                made = sqlite::dictionary::make_first(&tx);
                writer.dictionary_due = DICTIONARY_CHECK_EVERY;
            } else {
                writer.dictionary_due -= 1;
            }
        }
        tx.commit()?;
        if made.is_some() {
            writer.dictionary = made;
        }
        // Kept only now: a failed transaction drops its look-ups (see `sqlite::Numbers`).
        writer.numbers = numbers;
        if replica.hlc != writer.bookkeeping.hlc {
            if let Some(marker) = &mut writer.marker {
                marker.record(replica.hlc);
            }
        }
        writer.bookkeeping.hlc = replica.hlc;
        writer.bookkeeping.spaces.insert(sid, replica.seen);
        if known.is_none() {
            writer.bookkeeping.sids.insert(space.clone(), sid);
        }
        if !changes.records.is_empty() {
            lock(&self.pending).push_back(ChangeEvent {
                origin,
                space: space.clone(),
                records: changes.records.clone(),
            });
        }
        Ok(changes)
    }

    /// The writer connection, for a write. A read transaction this thread's reads share (see
    /// [`Store::reading`]) is ended before the write and again once the writer is released
    /// (in case a read began one while the write was not yet committed), so the thread's
    /// later reads see the write.
    fn writer(&self) -> WriterGuard<'_> {
        self.end_shared_read();
        WriterGuard { guard: lock(&self.writer), store: self }
    }

    /// Ends the read transaction this thread's reads share, if one is open.
    fn end_shared_read(&self) {
        let open = lock(&self.shared_reads).take_open(std::thread::current().id());
        if let Some(reader) = open {
            self.end_read(reader);
        }
    }

    /// Runs `work` with this thread's reads of the store sharing one read transaction until
    /// the thread writes (`store/shared_read.rs`, decision 0052): a sync session handles each
    /// frame this way.
    pub(crate) fn reading<T>(&self, work: impl FnOnce() -> Result<T>) -> Result<T> {
        /// Leaves on every way out of `work`, a panic included, so no transaction stays open.
        struct Leave<'a>(&'a Store, std::thread::ThreadId);
        impl Drop for Leave<'_> {
            fn drop(&mut self) {
                let open = lock(&self.0.shared_reads).leave(self.1);
                if let Some(reader) = open {
                    self.0.end_read(reader);
                }
            }
        }
        let thread = std::thread::current().id();
        lock(&self.shared_reads).enter(thread);
        let _leave = Leave(self, thread);
        work()
    }

    /// Ends a reader's read transaction and returns it to the pool (one whose transaction will
    /// not end is dropped, which closes it).
    fn end_read(&self, reader: Reader) {
        let ended = reader.conn.prepare_cached("COMMIT").and_then(|mut s| s.execute([]));
        if ended.is_ok() {
            lock(&self.readers).push(reader);
        }
    }

    /// Runs `work` in a read transaction on a pooled read-only connection: its own, or inside
    /// [`Store::reading`] the one this thread's reads share.
    pub(crate) fn read<T>(&self, work: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.read_stamped(|conn, _| work(conn))
    }

    /// [`Store::read`], also telling `work` a [`ReaderStamp`] taken inside the transaction
    /// (`work` reads the data version only if it needs it: it is one more statement).
    pub(crate) fn read_stamped<T>(
        &self,
        work: impl FnOnce(&Connection, &dyn Fn() -> Result<ReaderStamp>) -> Result<T>,
    ) -> Result<T> {
        let thread = std::thread::current().id();
        let found = lock(&self.shared_reads).take(thread);
        let (reader, sharing) = match found {
            Found::Open(reader) => (reader, true),
            Found::NotBegun | Found::Alone => {
                let pooled = lock(&self.readers).pop();
                let reader = match pooled {
                    Some(reader) => reader,
                    None => Reader {
                        number: self.next_reader.fetch_add(1, Ordering::Relaxed),
                        conn: sqlite::open_reader(&self.path, self.options.durability)?,
                    },
                };
                // One read transaction, so everything read belongs to the same committed
                // state. `BEGIN` and `COMMIT` are prepared once per connection.
                let begun = reader.conn.prepare_cached("BEGIN").and_then(|mut s| s.execute([]));
                if let Err(error) = begun {
                    self.end_read(reader);
                    return Err(error.into());
                }
                (reader, matches!(found, Found::NotBegun))
            }
        };
        let conn = &reader.conn;
        let stamp = || Ok(ReaderStamp { reader: reader.number, data_version: data_version(conn)? });
        let result = work(conn, &stamp);
        if sharing {
            // Left open for the thread's next read; ended when it writes or stops sharing.
            let to_end = lock(&self.shared_reads).put(thread, reader);
            if let Some(reader) = to_end {
                self.end_read(reader);
            }
        } else {
            self.end_read(reader);
        }
        result
    }

    /// Delivers queued events in commit order. Only one thread delivers at a time; a thread
    /// that finds another delivering leaves its events to it.
    pub(crate) fn deliver(&self) {
        loop {
            let Ok(_delivering) = self.delivering.try_lock() else { return };
            loop {
                // Popped in its own statement: a guard in the `while let` condition would live
                // through the callbacks, and a callback that reads the store would deadlock
                // with a writer queueing its event.
                let next = lock(&self.pending).pop_front();
                let Some(event) = next else { break };
                // Call outside the subscribers lock so a callback may subscribe, unsubscribe
                // or use the store.
                let callbacks: Vec<Callback> =
                    lock(&self.subscribers).callbacks.iter().map(|(_, c)| Arc::clone(c)).collect();
                for callback in callbacks {
                    // The commit is durable already: a failing subscriber must not undo that
                    // for the app or starve the other subscribers.
                    let _ = std::panic::catch_unwind(AssertUnwindSafe(|| callback(&event)));
                }
            }
            drop(_delivering);
            // An event queued after our last look but before we let go would wait for the next
            // commit; look once more.
            if lock(&self.pending).is_empty() {
                return;
            }
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        // The writer must be the last connection to close: SQLite then checkpoints and removes
        // the -wal file, which a read-only connection closing last cannot do.
        self.stop_background();
    }
}

/// A group of writes applied atomically, locally and on every replica that receives them.
pub struct Transaction<'s> {
    store: &'s Store,
    space: String,
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
        self.store.commit(&self.space, &operations)
    }
}

/// `Store` must stay shareable across threads (the bindings hand one instance to every thread).
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Store>();
};

#[cfg(test)]
mod tests {
    use super::*;

    fn synchronous(store: &Store) -> i64 {
        let writer = lock(&store.writer);
        writer.conn.pragma_query_value(None, "synchronous", |row| row.get(0)).expect("pragma")
    }

    /// A derived write that skips the disk sync leaves the app's commits waiting for the disk
    /// again (2: FULL) under `PowerLoss`, also when the work fails; and runs unsynced (1:
    /// NORMAL) itself.
    #[test]
    fn an_unsynced_derived_write_restores_the_stores_durability() {
        let dir = tempfile::tempdir().expect("dir");
        let options = StoreOptions { durability: Durability::PowerLoss, ..StoreOptions::default() };
        let store = Store::open_with(dir.path().join("s.almanac"), options).expect("open");
        assert_eq!(synchronous(&store), 2);
        let inside = store
            .write_derived_unsynced(|conn| {
                Ok(conn.pragma_query_value(None, "synchronous", |row| row.get::<_, i64>(0))?)
            })
            .expect("write");
        assert_eq!(inside, 1);
        assert_eq!(synchronous(&store), 2);
        let failed: Result<()> =
            store.write_derived_unsynced(|_| Err(Error::InvalidInput("refused".into())));
        assert!(failed.is_err());
        assert_eq!(synchronous(&store), 2);
        // A month view packs its days this way.
        let from: jiff::Timestamp = "2026-01-01T00:00:00Z".parse().expect("from");
        let to: jiff::Timestamp = "2026-02-01T00:00:00Z".parse().expect("to");
        store.occurrences(from, to, &[], &jiff::tz::TimeZone::UTC).expect("view");
        assert_eq!(synchronous(&store), 2);
        let default = Store::open(dir.path().join("d.almanac")).expect("open");
        default.write_derived_unsynced(|_| Ok(())).expect("write");
        assert_eq!(synchronous(&default), 1, "ProcessCrash stays NORMAL");
    }

    fn titled(store: &Store, id: &str) -> Result<Changes> {
        store.transaction("team").set("notes", id, "title", id).commit()
    }

    /// How many of the team space's writes this store has seen.
    fn seen(store: &Store) -> u64 {
        store.version_vector("team").expect("vector").iter().map(|(_, counter)| counter).sum()
    }

    /// Inside `reading`, a thread's reads share one read of the store: a commit made by
    /// another thread meanwhile is not among what they see, until the thread writes itself;
    /// what it reads after its own write includes that write and everything before it.
    #[test]
    fn reads_share_one_read_until_the_thread_writes() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::open(dir.path().join("s.almanac")).expect("open");
        titled(&store, "a").expect("commit");
        store
            .reading(|| {
                assert_eq!(seen(&store), 1);
                std::thread::scope(|s| s.spawn(|| titled(&store, "b")).join().expect("thread"))?;
                assert_eq!(seen(&store), 1, "the shared read began before the other commit");
                assert!(store.get("team", "notes", "b")?.is_none());
                titled(&store, "c")?;
                assert_eq!(seen(&store), 3, "after its own write, the thread sees every commit");
                assert!(store.get("team", "notes", "b")?.is_some());
                // A read made while the thread writes (before the write commits) begins no
                // shared read that outlives the write.
                let space = SpaceId::new("team")?;
                store.write_space(&space, Origin::Local, |replica, records| {
                    assert_eq!(seen(&store), 3);
                    let write = Write::Set { field: "title".into(), value: "d".into() };
                    let operation = Operation { key: RecordKey::new("notes", "d"), write };
                    replica.commit(records, &[operation], 0)
                })?;
                assert_eq!(seen(&store), 4);
                Ok(())
            })
            .expect("reading");
        assert_eq!(seen(&store), 4);
    }

    /// A sync session's reads of each frame share a read: on both sides, reads ran in a
    /// transaction an earlier one began.
    #[test]
    fn a_sync_session_shares_its_reads() {
        use crate::sync::SessionConfig;
        use crate::sync::transport::sync_in_process;
        let dir = tempfile::tempdir().expect("dir");
        let a = Store::open(dir.path().join("a.almanac")).expect("open");
        let b = Store::open(dir.path().join("b.almanac")).expect("open");
        titled(&a, "a").expect("commit");
        b.join_space("team").expect("join");
        let config = |peer: &Store| {
            let mut config = SessionConfig::new(vec![SpaceId::new("team").expect("space")]);
            config.expected_peer = Some(peer.replica_id());
            config
        };
        sync_in_process(&a, config(&b), &b, config(&a)).expect("sync");
        assert!(b.get("team", "notes", "a").expect("get").is_some());
        for store in [&a, &b] {
            assert!(lock(&store.shared_reads).joined > 0);
            assert_eq!(lock(&store.shared_reads).threads_sharing(), 0);
        }
    }

    /// However `reading` ends (its work failing, panicking, or nested in another), it leaves
    /// no read transaction open: the pooled readers go on reading, and see later commits.
    #[test]
    fn reading_leaves_no_read_open() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::open(dir.path().join("s.almanac")).expect("open");
        titled(&store, "a").expect("commit");
        let failed: Result<()> = store.reading(|| {
            seen(&store);
            Err(Error::InvalidInput("refused".into()))
        });
        assert!(failed.is_err());
        let panicked = std::panic::catch_unwind(AssertUnwindSafe(|| {
            store.reading(|| -> Result<()> {
                seen(&store);
                panic!("work panicked")
            })
        }));
        assert!(panicked.is_err());
        store
            .reading(|| {
                store.reading(|| {
                    seen(&store);
                    Ok(())
                })?;
                // Still inside the outer one: the same read.
                std::thread::scope(|s| s.spawn(|| titled(&store, "b")).join().expect("thread"))?;
                assert_eq!(seen(&store), 1);
                Ok(())
            })
            .expect("reading");
        assert_eq!(lock(&store.shared_reads).threads_sharing(), 0);
        titled(&store, "c").expect("commit");
        // Every pooled reader was returned with its read ended: each begins a new one.
        for _ in 0..4 {
            assert_eq!(seen(&store), 3);
        }
    }
}
