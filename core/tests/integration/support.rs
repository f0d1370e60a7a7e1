//! Test replicas over both storage backends, so every scenario runs against each.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use almanac_core::crdt::{RecordState, Write};
use almanac_core::storage::memory::MemoryStore;
use almanac_core::{
    Changes, Clock, Conflicts, Delta, Operation, Record, RecordKey, ReplicaId, Result, SpaceId,
    Store, StoreOptions, Value, VersionVector,
};

/// The space the single-space scenarios write in.
pub const SPACE: &str = "test";

pub fn space() -> SpaceId {
    SpaceId::new(SPACE).expect("space id")
}
use tempfile::TempDir;

/// A clock the test moves by hand.
#[derive(Default)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    pub fn set(&self, millis: u64) {
        self.0.store(millis, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_millis(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// What every scenario needs from a replica, whatever stores it (all in the space [`SPACE`]).
pub trait TestReplica {
    fn replica_id(&self) -> ReplicaId;
    fn commit(&mut self, operations: &[Operation]) -> Result<Changes>;
    fn version_vector(&self) -> VersionVector;
    fn delta_since(&mut self, since: &VersionVector) -> Result<Delta>;
    fn apply(&mut self, delta: &Delta) -> Result<Changes>;
    /// The record, live or deleted.
    fn record(&self, key: &RecordKey) -> Option<Record>;
    fn clock(&self) -> &ManualClock;

    /// The whole replicated state: the full delta holds every entry and the version vector.
    fn snapshot(&mut self) -> Snapshot {
        let full = self.delta_since(&VersionVector::new()).expect("full delta");
        let records = full
            .records
            .iter()
            .filter_map(|(key, _)| Some((key.clone(), self.record(key)?.state)))
            .collect();
        (full.context, records)
    }

    fn conflicts(&mut self) -> Vec<Conflicts> {
        let (_, records) = self.snapshot();
        records
            .into_iter()
            .filter_map(|(key, state)| Record { space: space(), key, state }.conflict_report())
            .collect()
    }

    fn live(&self, collection: &str, id: &str) -> Option<Record> {
        self.record(&RecordKey::new(collection, id)).filter(|r| !r.is_deleted())
    }
}

pub struct MemoryReplica {
    store: MemoryStore,
    clock: ManualClock,
}

impl MemoryReplica {
    pub fn new(seed: u8) -> Self {
        Self::with_id(ReplicaId::from_bytes([seed; 16]))
    }

    pub fn with_id(id: ReplicaId) -> Self {
        let clock = ManualClock::default();
        clock.set(1_000);
        let mut store = MemoryStore::new(id);
        store.join_space(&space());
        Self { store, clock }
    }
}

impl TestReplica for MemoryReplica {
    fn replica_id(&self) -> ReplicaId {
        self.store.replica_id()
    }
    fn commit(&mut self, operations: &[Operation]) -> Result<Changes> {
        self.store.commit(&space(), operations, self.clock.now_millis())
    }
    fn version_vector(&self) -> VersionVector {
        self.store.version_vector(&space())
    }
    fn delta_since(&mut self, since: &VersionVector) -> Result<Delta> {
        self.store.delta_since(&space(), since)
    }
    fn apply(&mut self, delta: &Delta) -> Result<Changes> {
        self.store.apply(delta, self.clock.now_millis())
    }
    fn record(&self, key: &RecordKey) -> Option<Record> {
        let state = self.store.record(&space(), key)?.clone();
        Some(Record { space: space(), key: key.clone(), state })
    }
    fn clock(&self) -> &ManualClock {
        &self.clock
    }
}

pub struct SqliteReplica {
    pub store: Store,
    clock: Arc<ManualClock>,
    _dir: TempDir,
}

impl SqliteReplica {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let clock = Arc::new(ManualClock::default());
        clock.set(1_000);
        let options = StoreOptions { clock: clock.clone(), ..StoreOptions::default() };
        let store = Store::open_with(dir.path().join("store.almanac"), options).expect("open");
        store.join_space(SPACE).expect("join");
        Self { store, clock, _dir: dir }
    }
}

impl TestReplica for SqliteReplica {
    fn replica_id(&self) -> ReplicaId {
        self.store.replica_id()
    }
    fn commit(&mut self, operations: &[Operation]) -> Result<Changes> {
        let changes = self.store.commit(SPACE, operations);
        assert_clock_index_matches(&self.store);
        changes
    }
    fn version_vector(&self) -> VersionVector {
        self.store.version_vector(SPACE).expect("version vector")
    }
    fn delta_since(&mut self, since: &VersionVector) -> Result<Delta> {
        self.store.delta_since(SPACE, since)
    }
    fn apply(&mut self, delta: &Delta) -> Result<Changes> {
        // Every delta also crosses the wire encoding, as it would between devices.
        let decoded = Delta::decode(&delta.encode()?)?;
        let changes = self.store.apply(&decoded);
        assert_clock_index_matches(&self.store);
        changes
    }
    fn record(&self, key: &RecordKey) -> Option<Record> {
        self.store.get_any(SPACE, &key.collection, &key.id).expect("read")
    }
    /// The store's own conflict log (kept by the `conflicted` flag of each row), not one
    /// rebuilt from a snapshot: a wrong flag must fail the contract tests.
    fn conflicts(&mut self) -> Vec<Conflicts> {
        self.store.conflicts().expect("conflict log")
    }
    fn clock(&self) -> &ManualClock {
        &self.clock
    }
}

/// Checks that the clock index (`record_clock`, which sync uses to find what a peer lacks)
/// holds exactly each record's highest counter per writer. Saves rewrite only the rows that
/// changed, so a wrong shortcut there shows up here before it loses a write in a sync.
pub fn assert_clock_index_matches(store: &Store) {
    let conn = rusqlite::Connection::open_with_flags(
        store.path(),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("open");
    let mut statement = conn.prepare("SELECT rid, state FROM records").expect("records");
    let records: Vec<(i64, Vec<u8>)> = statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .expect("query")
        .collect::<rusqlite::Result<_>>()
        .expect("rows");
    let mut rows = conn
        .prepare(
            "SELECT r.replica, c.counter FROM record_clock c JOIN replicas r ON r.idx = c.replica
             WHERE c.rid = ?1 ORDER BY r.replica",
        )
        .expect("clock rows");
    let mut expected_rows = 0;
    for (rid, bytes) in records {
        let state = almanac_core::storage::sqlite::decode_record(&conn, &bytes).expect("decode");
        let expected: Vec<(Vec<u8>, i64)> = state
            .max_counters()
            .into_iter()
            .map(|(replica, counter)| (replica.to_bytes().to_vec(), counter as i64))
            .collect();
        let stored: Vec<(Vec<u8>, i64)> = rows
            .query_map([rid], |row| Ok((row.get(0)?, row.get(1)?)))
            .expect("query")
            .collect::<rusqlite::Result<_>>()
            .expect("rows");
        assert_eq!(stored, expected, "the clock index of record {rid} is out of step");
        expected_rows += expected.len();
    }
    // Rows of no record (left behind by a save or a removal) would make sync send records
    // nobody needs, and name a record that later takes the same row id.
    let total: i64 =
        conn.query_row("SELECT count(*) FROM record_clock", [], |row| row.get(0)).expect("count");
    assert_eq!(
        usize::try_from(total).ok(),
        Some(expected_rows),
        "the clock index has rows of no record"
    );
}

/// Sends everything `from` has that `to` lacks.
pub fn sync_one_way(from: &mut impl TestReplica, to: &mut impl TestReplica) {
    let delta = from.delta_since(&to.version_vector()).expect("delta");
    to.apply(&delta).expect("apply");
}

/// Syncs both ways, so both end with the same state.
pub fn sync(a: &mut impl TestReplica, b: &mut impl TestReplica) {
    sync_one_way(a, b);
    sync_one_way(b, a);
}

pub fn op(collection: &str, id: &str, write: Write) -> Operation {
    Operation { key: RecordKey::new(collection, id), write }
}

pub fn set(id: &str, field: &str, value: impl Into<Value>) -> Operation {
    op("events", id, Write::Set { field: field.into(), value: value.into() })
}

pub fn text(record: &Record, field: &str) -> Option<String> {
    record.value(field).and_then(|v| v.as_text()).map(str::to_owned)
}

pub fn texts(values: Vec<&Value>) -> Vec<String> {
    values.iter().filter_map(|v| v.as_text()).map(str::to_owned).collect()
}

/// Instantiates a scenario module once per storage backend.
macro_rules! for_each_backend {
    ($($scenario:ident),* $(,)?) => {
        mod memory {
            $(#[test] fn $scenario() { super::$scenario(|seed| $crate::support::MemoryReplica::new(seed)); })*
        }
        mod sqlite {
            $(#[test] fn $scenario() { super::$scenario(|_| $crate::support::SqliteReplica::new()); })*
        }
    };
}
pub(crate) use for_each_backend;

/// A replica's whole state: its version vector and every record.
pub type Snapshot = (VersionVector, Vec<(RecordKey, RecordState)>);

/// Sends every space `from` holds to `to` (joining the ones `to` lacks), as two devices of one
/// user syncing all their calendars would.
pub fn sync_spaces(from: &Store, to: &Store) {
    for space in from.spaces().expect("spaces") {
        to.join_space(space.as_str()).expect("join");
        let since = to.version_vector(space.as_str()).expect("vv");
        to.apply(&from.delta_since(space.as_str(), &since).expect("delta")).expect("apply");
    }
}

/// `local` on the Paris wall clock.
pub fn paris(local: jiff::civil::DateTime) -> almanac_core::calendar::time::TimeValue {
    almanac_core::calendar::time::TimeValue::Zoned { local, zone: "Europe/Paris".into() }
}

/// An event of calendar "work" titled with its id, `seconds` long, repeating by `rule` if
/// given.
pub fn titled_event(
    id: &str,
    start: almanac_core::calendar::time::TimeValue,
    seconds: i64,
    rule: Option<&str>,
) -> almanac_core::calendar::api::NewEvent {
    use almanac_core::calendar::event::{End, Timing};
    use almanac_core::calendar::recurrence::RecurrenceRule;
    use almanac_core::calendar::time::Duration;
    almanac_core::calendar::api::NewEvent {
        id: id.into(),
        calendar: "work".into(),
        uid: None,
        timing: Timing { start, end: End::After(Duration { seconds, ..Duration::default() }) },
        rule: rule.map(|rule| RecurrenceRule::parse(rule).expect("rule")),
        rdates: Vec::new(),
        exdates: Vec::new(),
        fields: std::collections::BTreeMap::from([("title".into(), Value::from(id))]),
        attendees: Vec::new(),
        alarms: Vec::new(),
        unknown_properties: Vec::new(),
    }
}

/// The bytes of a `Hello` from `replica` announcing `wants` `Want`s, none sent with it: what a
/// test feeds a session to stand for a peer.
pub fn hello_from(replica: ReplicaId, wants: u32) -> Vec<u8> {
    use almanac_core::sync::{MAX_VERSION, MIN_VERSION, Message};
    let hello = Message::Hello {
        min_version: MIN_VERSION,
        max_version: MAX_VERSION,
        replica,
        wants,
        confirm: false,
        with: Vec::new(),
    };
    hello.encode().expect("hello")
}

/// The write-ahead log SQLite keeps next to the store file at `path`.
pub fn wal_path(path: &std::path::Path) -> std::path::PathBuf {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    std::path::PathBuf::from(wal)
}
