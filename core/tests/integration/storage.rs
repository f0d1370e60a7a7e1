//! Persistence: reopening, refusing foreign or newer files, damage, full disks, migrations,
//! concurrency, and the promise that storage is bounded by live data.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use almanac_core::storage::sqlite::incarnation::Incarnation;
use almanac_core::storage::sqlite::schema;
use almanac_core::{Error, RecordKey, Store, StoreOptions, Value, VersionVector};
use rusqlite::Connection;

use crate::support::wal_path;

fn temp_store() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("calendar.almanac");
    (dir, path)
}

fn full_state(store: &Store) -> almanac_core::Delta {
    store.delta_since("s", &VersionVector::new()).expect("full state")
}

#[test]
fn reopening_yields_identical_state_and_the_clock_keeps_going_forward() {
    let (_dir, path) = temp_store();
    let (other_dir, other_path) = temp_store();
    let _keep = other_dir;
    let (before, replica, last_hlc) = {
        let store = Store::open(&path).expect("open");
        let other = Store::open(&other_path).expect("open other");
        store
            .transaction("s")
            .set("events", "e1", "title", "A")
            .set("events", "e2", "title", "B")
            .commit()
            .expect("tx");
        other.transaction("s").set("events", "e1", "title", "concurrent").commit().expect("other");
        store
            .apply(&other.delta_since("s", &store.version_vector("s").expect("vv")).expect("delta"))
            .expect("apply");
        store
            .transaction("s")
            .set_member("events", "e2", "attendees", "mailto:a@b.c", "status", "accepted")
            .delete("events", "e2")
            .commit()
            .expect("tx2");
        let state = full_state(&store);
        (state.clone(), store.replica_id(), state.hlc)
    };
    let store = Store::open(&path).expect("reopen");
    assert_eq!(store.replica_id(), replica);
    assert_eq!(full_state(&store), before);
    assert_eq!(store.conflicts().expect("conflicts").len(), 1);
    store.transaction("s").set("events", "e3", "title", "after reopen").commit().expect("tx3");
    assert!(full_state(&store).hlc > last_hlc);
}

fn sha(path: &Path) -> Vec<u8> {
    fs::read(path).expect("read file")
}

#[test]
fn a_store_written_by_a_newer_version_is_refused_and_left_untouched() {
    let (_dir, path) = temp_store();
    {
        let store = Store::open(&path).expect("create");
        store.transaction("s").set("events", "e1", "title", "x").commit().expect("tx");
        store.checkpoint().expect("checkpoint");
    }
    {
        let conn = Connection::open(&path).expect("raw");
        conn.pragma_update(None, "user_version", schema::CURRENT_VERSION + 1).expect("bump");
    }
    let before = sha(&path);
    match Store::open(&path) {
        Err(Error::IncompatibleVersion { found, supported, .. }) => {
            assert_eq!(found, schema::CURRENT_VERSION + 1);
            assert_eq!(supported, schema::CURRENT_VERSION);
        }
        other => panic!("expected IncompatibleVersion, got {:?}", other.map(|_| ())),
    }
    assert_eq!(sha(&path), before, "the newer store must not be modified");
}

#[test]
fn another_apps_sqlite_file_is_refused_and_left_untouched() {
    let (_dir, path) = temp_store();
    {
        let conn = Connection::open(&path).expect("raw");
        conn.execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('mine');")
            .expect("foreign");
    }
    let before = sha(&path);
    let error = Store::open(&path).map(|_| ()).expect_err("foreign file");
    assert!(matches!(error, Error::NotAStore { .. }), "{error}");
    assert!(error.to_string().contains("another application"), "{error}");
    assert_eq!(sha(&path), before);
}

#[test]
fn a_file_that_is_not_a_database_is_refused_with_a_clear_error() {
    let (_dir, path) = temp_store();
    fs::write(
        &path,
        "BEGIN:VCALENDAR\nthis is not a database, it is much longer than a header\n".repeat(20),
    )
    .expect("write");
    let before = sha(&path);
    let error = Store::open(&path).map(|_| ()).expect_err("text file");
    assert!(matches!(error, Error::NotAStore { .. }), "{error}");
    assert_eq!(sha(&path), before);
    let dir_error = Store::open(path.parent().expect("dir")).map(|_| ()).expect_err("directory");
    assert!(matches!(dir_error, Error::NotAStore { .. }), "{dir_error}");
}

/// A store with enough records to span many pages, checkpointed into the main file.
fn populated_store(path: &Path, records: usize) {
    let store = Store::open(path).expect("create");
    let mut tx = store.transaction("s");
    for i in 0..records {
        tx.set(
            "events",
            &format!("event-{i:05}"),
            "title",
            format!("Event number {i} with some padding text"),
        );
    }
    tx.commit().expect("populate");
    store.checkpoint().expect("checkpoint");
}

/// Reads everything; damage must surface as an error, never a panic or wrong data.
fn read_everything(path: &Path) -> Result<usize, Error> {
    let store = Store::open(path)?;
    store.check_integrity()?;
    Ok(store.records("s", "events")?.len())
}

#[test]
fn a_truncated_store_gives_a_corruption_error_not_a_crash() {
    let (_dir, path) = temp_store();
    populated_store(&path, 2_000);
    let bytes = fs::read(&path).expect("read");
    fs::write(&path, &bytes[..bytes.len() / 2]).expect("truncate");
    let error = read_everything(&path).expect_err("truncated store");
    assert!(matches!(error, Error::Corrupt(_) | Error::NotAStore { .. }), "{error}");
}

#[test]
fn overwritten_pages_give_a_corruption_error_not_a_crash() {
    let (_dir, path) = temp_store();
    populated_store(&path, 2_000);
    let mut bytes = fs::read(&path).expect("read");
    let middle = bytes.len() / 2;
    for byte in &mut bytes[middle..middle + 8192] {
        *byte = 0xA5;
    }
    fs::write(&path, &bytes).expect("damage");
    let error = read_everything(&path).expect_err("damaged store");
    assert!(matches!(error, Error::Corrupt(_) | Error::Decode { .. }), "{error}");
}

#[test]
fn a_full_disk_fails_the_transaction_cleanly_and_keeps_earlier_data() {
    let (_dir, path) = temp_store();
    let options = StoreOptions { max_size_bytes: Some(256 * 1024), ..StoreOptions::default() };
    let store = Store::open_with(&path, options).expect("open");
    let big = "x".repeat(8 * 1024);
    let mut acknowledged = 0;
    let error = loop {
        let id = format!("e{acknowledged}");
        match store
            .transaction("s")
            .set("events", &id, "notes", big.as_str())
            .set("events", &id, "title", "t")
            .commit()
        {
            Ok(_) => acknowledged += 1,
            Err(error) => break error,
        }
        assert!(acknowledged < 1_000, "the size limit was never reached");
    };
    assert!(matches!(error, Error::DiskFull), "{error}");
    assert!(error.to_string().contains("out of storage space"));
    assert!(acknowledged > 0);
    // Every acknowledged write is there, the failed one left nothing behind.
    assert_eq!(store.records("s", "events").expect("read").len(), acknowledged);
    assert!(store.get("s", "events", &format!("e{acknowledged}")).expect("read").is_none());
    store.check_integrity().expect("intact");
    // Small writes that fit still work, and the store reopens fine.
    drop(store);
    let store = Store::open(&path).expect("reopen");
    store.transaction("s").set("events", "e0", "title", "edited").commit().expect("small write");
    assert_eq!(store.records("s", "events").expect("read").len(), acknowledged);
}

fn copy_fixture(name: &str) -> (tempfile::TempDir, PathBuf) {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    let (dir, path) = temp_store();
    fs::copy(&source, &path).unwrap_or_else(|e| {
        panic!("missing fixture {} ({e}); run `make fixtures`", source.display())
    });
    (dir, path)
}

/// Writes the golden store of the current schema version if it does not exist yet (run by
/// `make fixtures` when a schema version is introduced; existing golden stores are never
/// rewritten: each pins what a released version wrote).
#[test]
#[ignore = "writes core/tests/fixtures/store-v<current>.almanac; run by `make fixtures`"]
fn write_current_store_fixture() {
    let name = format!("store-v{}.almanac", schema::CURRENT_VERSION);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    if path.exists() {
        return;
    }
    // No device marker: it would be written next to the fixture.
    let options = almanac_core::StoreOptions {
        device_marker: almanac_core::DeviceMarker::Disabled,
        ..almanac_core::StoreOptions::default()
    };
    let store = Store::open_with(&path, options).expect("create");
    store
        .transaction("default")
        .set("events", "e1", "title", "Golden")
        .set("events", "e1", "count", 3i64)
        .commit()
        .expect("tx");
    store
        .transaction("default")
        .set_member("events", "e1", "attendees", "mailto:a@example.com", "status", "accepted")
        .commit()
        .expect("tx");
    store.transaction("default").set("events", "e2", "title", "Deleted").commit().expect("tx");
    store.transaction("default").delete("events", "e2").commit().expect("tx");
    if schema::CURRENT_VERSION >= 2 {
        // From version 2 on: calendar events, so the occurrence index is in the file too.
        let ics = include_str!("../fixtures/ics/google-work.ics");
        store.import_ics("work", ics, &mut |_| {}).expect("import");
        let from: jiff::Timestamp = "2026-01-01T00:00:00Z".parse().expect("from");
        let to: jiff::Timestamp = "2026-04-01T00:00:00Z".parse().expect("to");
        store.occurrences(from, to, &[], &jiff::tz::TimeZone::UTC).expect("materialise");
    }
    if schema::CURRENT_VERSION >= 6 {
        // From version 6 on: a record dictionary, and every record compressed against it.
        let mut tx = store.transaction("bulk");
        for i in 0..300 {
            tx.set("events", &format!("b{i}"), "title", format!("Bulk {i}"));
        }
        tx.commit().expect("bulk");
        store.compact().expect("compact");
    }
    store.checkpoint().expect("checkpoint");
    drop(store);
    let conn = Connection::open(&path).expect("raw");
    conn.pragma_update(None, "journal_mode", "DELETE").expect("single file");
}

/// Opens a golden store of an earlier or the current version: it must migrate (if needed), read
/// back what was written, and end with exactly the schema of a fresh store.
fn open_golden_store(name: &str) -> (tempfile::TempDir, PathBuf, Store) {
    let (dir, path) = copy_fixture(name);
    let store = Store::open(&path).expect("open golden store");
    // Records of stores from before spaces, other than calendars and events, went to the
    // default space.
    let e1 = store.get("default", "events", "e1").expect("read").expect("e1");
    assert_eq!(e1.value("title"), Some(&Value::from("Golden")));
    assert_eq!(e1.value("count"), Some(&Value::Int(3)));
    assert_eq!(e1.members("attendees").len(), 1);
    assert!(store.get("default", "events", "e2").expect("read").is_none());
    let e2 = store.get_any("default", "events", "e2").expect("read").expect("tombstone");
    assert!(e2.is_deleted());

    let (_fresh_dir, fresh_path) = temp_store();
    drop(Store::open(&fresh_path).expect("fresh"));
    let migrated = schema::describe(&Connection::open(&path).expect("raw")).expect("schema");
    let fresh = schema::describe(&Connection::open(&fresh_path).expect("raw")).expect("schema");
    assert_eq!(migrated, fresh, "{name}: a migrated store must equal a fresh one");
    (dir, path, store)
}

#[test]
fn a_version_1_store_migrates_reads_and_matches_a_fresh_schema() {
    open_golden_store("store-v1.almanac");
}

/// Version 6: a record dictionary, every record compressed against it (decision 0032). This
/// process has never seen that dictionary: it is loaded from the file.
#[test]
fn a_version_6_store_with_compressed_records_opens_and_reads_them() {
    let (_dir, path, store) = open_golden_store("store-v6.almanac");
    assert!(record_formats(&path).iter().all(|(_, format)| *format == 5));
    let bulk = store.records("bulk", "events").expect("bulk");
    assert_eq!(bulk.len(), 300);
    let b7 = store.get("bulk", "events", "b7").expect("read").expect("b7");
    assert_eq!(b7.value("title"), Some(&Value::from("Bulk 7")));
    let from: jiff::Timestamp = "2026-01-01T00:00:00Z".parse().expect("from");
    let to: jiff::Timestamp = "2026-04-01T00:00:00Z".parse().expect("to");
    assert!(!store.occurrences(from, to, &[], &jiff::tz::TimeZone::UTC).expect("views").is_empty());
}

/// Version 7: collections by number (decision 0034).
#[test]
fn a_version_7_store_opens_and_matches_a_fresh_schema() {
    let (_dir, path, store) = open_golden_store("store-v7.almanac");
    assert_eq!(store.records("bulk", "events").expect("bulk").len(), 300);
    drop(store);
    let conn = Connection::open(&path).expect("raw");
    let names: Vec<String> = conn
        .prepare("SELECT name FROM collections ORDER BY cid")
        .expect("collections")
        .query_map([], |row| row.get(0))
        .expect("query")
        .collect::<rusqlite::Result<_>>()
        .expect("rows");
    assert_eq!(names, ["events", "calendars"]);
}

/// Schema 7 rebuilds `records`; the rows that reference a record (its clock rows) must
/// survive it, attached to the same record.
#[test]
fn upgrading_to_collection_numbers_keeps_every_row_that_references_a_record() {
    let (_dir, path) = copy_fixture("store-v6.almanac");
    let referencing = |conn: &Connection| -> Vec<(String, i64)> {
        // (The calendar's index rows are rebuilt on this upgrade anyway: decision 0033.)
        ["record_clock"]
            .iter()
            .map(|table| {
                let sql = format!("SELECT count(*) FROM {table}");
                (table.to_string(), conn.query_row(&sql, [], |row| row.get(0)).expect("count"))
            })
            .collect()
    };
    let clock = |conn: &Connection, collection: &str| -> Vec<(String, i64)> {
        let sql = format!(
            "SELECT r.id, c.counter FROM record_clock c JOIN records r ON r.rid = c.rid
             WHERE {collection} = 'events' ORDER BY r.id, c.replica"
        );
        conn.prepare(&sql)
            .expect("clock")
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .expect("query")
            .collect::<rusqlite::Result<_>>()
            .expect("rows")
    };
    let (before, clock_before) = {
        let conn = Connection::open(&path).expect("raw");
        (referencing(&conn), clock(&conn, "r.collection"))
    };
    assert!(before.iter().all(|(_, count)| *count > 0), "{before:?}");
    drop(Store::open(&path).expect("upgrade"));
    let conn = Connection::open(&path).expect("raw");
    assert_eq!(referencing(&conn), before);
    let numbered = "(SELECT name FROM collections k WHERE k.cid = r.cid)";
    assert_eq!(clock(&conn, numbered), clock_before);
    let broken: i64 = conn
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |row| row.get(0))
        .expect("check");
    assert_eq!(broken, 0);
}

/// Schema 8 keys the clock index by (replica, counter, rid) (decision 0035): every clock row
/// of a version 7 store is kept, and the upgraded store goes on keeping the index exact as it
/// is written to.
#[test]
fn upgrading_the_clock_index_keeps_every_row_and_keeps_it_exact() {
    let (_dir, path) = copy_fixture("store-v7.almanac");
    let clock = |conn: &Connection| -> Vec<(i64, i64, i64)> {
        conn.prepare("SELECT rid, replica, counter FROM record_clock ORDER BY rid, replica")
            .expect("clock")
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
            .expect("query")
            .collect::<rusqlite::Result<_>>()
            .expect("rows")
    };
    let before = clock(&Connection::open(&path).expect("raw"));
    assert!(before.len() > 300, "{}", before.len());
    let store = Store::open(&path).expect("upgrade");
    assert_eq!(clock(&Connection::open(&path).expect("raw")), before);
    crate::support::assert_clock_index_matches(&store);
    store
        .transaction("bulk")
        .set("events", "b7", "title", "Bulk 7, edited")
        .commit()
        .expect("edit");
    store.transaction("bulk").delete("events", "b8").commit().expect("delete");
    crate::support::assert_clock_index_matches(&store);
}

/// Version 8: the clock index keyed by (replica, counter, rid) (decision 0035).
#[test]
fn a_version_8_store_opens_and_matches_a_fresh_schema() {
    let (_dir, path, store) = open_golden_store("store-v8.almanac");
    assert_eq!(store.records("bulk", "events").expect("bulk").len(), 300);
    crate::support::assert_clock_index_matches(&store);
    // Its clock is in `meta` only (schema 9 keeps it in `space_clock`, decision 0043): a write
    // with the device clock far behind must still stamp after it.
    drop(store);
    let stored: i64 = Connection::open(&path)
        .expect("raw")
        .query_row("SELECT value FROM meta WHERE key = 'hlc_millis'", [], |row| row.get(0))
        .expect("the clock in meta");
    let clock = Arc::new(crate::support::ManualClock::default());
    let after = clock_after_a_write_with_the_device_clock_behind(&path, &clock, "bulk");
    assert!(after.millis >= u64::try_from(stored).expect("millis"), "{after:?} before {stored}");
}

/// Version 9: the clock kept in `space_clock` (decision 0043).
#[test]
fn a_version_9_store_opens_and_matches_a_fresh_schema() {
    let (_dir, _path, store) = open_golden_store("store-v9.almanac");
    assert_eq!(store.records("bulk", "events").expect("bulk").len(), 300);
    crate::support::assert_clock_index_matches(&store);
}

#[test]
fn a_version_3_store_opens_and_matches_a_fresh_schema() {
    open_golden_store("store-v3.almanac");
}

#[test]
fn a_version_5_store_opens_and_matches_a_fresh_schema() {
    open_golden_store("store-v5.almanac");
}

/// The record format of each stored record (its first byte), by record id.
fn record_formats(path: &Path) -> Vec<(String, u8)> {
    let conn = Connection::open(path).expect("raw");
    let mut statement = conn.prepare("SELECT id, state FROM records ORDER BY id").expect("sql");
    let rows = statement
        .query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, Vec<u8>>(1)?[0])))
        .expect("query");
    rows.collect::<Result<_, _>>().expect("rows")
}

/// Opening a store of earlier record formats rewrites nothing; a record that changes is written
/// in the current format (4 since decision 0031; 5 once `compact` made a dictionary, which
/// this store is too small for) and reads back, next to records still in the older formats
/// (decision 0026).
#[test]
fn records_of_older_formats_are_rewritten_in_the_current_format_only_when_they_change() {
    let (_dir, path, store) = open_golden_store("store-v5.almanac");
    drop(store);
    let before = record_formats(&path);
    assert!(before.iter().all(|(_, format)| *format < 3), "{before:?}");
    let store = Store::open(&path).expect("reopen");
    store
        .transaction("default")
        .set("events", "e1", "title", "Golden, again")
        .commit()
        .expect("tx");
    drop(store);
    let after = record_formats(&path);
    for ((id, old), (_, new)) in before.iter().zip(&after) {
        let current = almanac_core::codec::PLAIN_RECORD_FORMAT;
        assert_eq!(*new, if id == "e1" { current } else { *old }, "{id}");
    }
    let store = Store::open(&path).expect("reopen");
    let e1 = store.get("default", "events", "e1").expect("read").expect("e1");
    assert_eq!(e1.value("title"), Some(&Value::from("Golden, again")));
    assert_eq!(e1.value("count"), Some(&Value::Int(3)));
    assert_eq!(e1.members("attendees").len(), 1);
}

#[test]
fn a_version_2_store_with_calendar_events_opens_and_answers_month_views() {
    let (_dir, _path, store) = open_golden_store("store-v2.almanac");
    // Each calendar became its own space; the rest went to the default space.
    let spaces: Vec<String> =
        store.spaces().expect("spaces").into_iter().map(String::from).collect();
    assert_eq!(spaces, ["default", "work"]);
    let default_vv = store.version_vector("default").expect("vv");
    assert_eq!(store.version_vector("work").expect("vv"), default_vv);
    assert!(!default_vv.is_empty());
    let from: jiff::Timestamp = "2026-03-01T00:00:00Z".parse().expect("from");
    let to: jiff::Timestamp = "2026-04-01T00:00:00Z".parse().expect("to");
    let march = store.occurrences(from, to, &[], &jiff::tz::TimeZone::UTC).expect("march");
    assert!(!march.is_empty());
    // The same file, imported fresh, gives the same occurrences: the stored calendar values
    // (timing, rules, patches) decode exactly as they were written.
    let (_fresh_dir, fresh_path) = temp_store();
    let fresh = Store::open(&fresh_path).expect("fresh");
    let ics = include_str!("../fixtures/ics/google-work.ics");
    fresh.import_ics("work", ics, &mut |_| {}).expect("import");
    let expected = fresh.occurrences(from, to, &[], &jiff::tz::TimeZone::UTC).expect("march");
    let shown = |o: &[almanac_core::calendar::series::Occurrence]| -> Vec<(String, String, Option<String>)> {
        o.iter().map(|o| (o.event_id.to_string(), o.start.to_string(), o.title().map(str::to_owned))).collect()
    };
    assert_eq!(shown(&march), shown(&expected));
}

#[test]
fn readers_on_other_threads_see_committed_state_while_a_writer_commits() {
    let (_dir, path) = temp_store();
    let store = Arc::new(Store::open(&path).expect("open"));
    store.transaction("s").set("events", "counter", "n", 0i64).commit().expect("init");
    let writer = {
        let store = Arc::clone(&store);
        std::thread::spawn(move || {
            for n in 1..=300i64 {
                store
                    .transaction("s")
                    .set("events", "counter", "n", n)
                    .set("events", "mirror", "n", n)
                    .commit()
                    .expect("write");
            }
        })
    };
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                let mut last = 0;
                for _ in 0..300 {
                    let n = store
                        .get("s", "events", "counter")
                        .expect("read")
                        .and_then(|r| r.value("n")?.as_int())
                        .expect("n");
                    assert!(n >= last, "a reader went back in time");
                    last = n;
                }
            })
        })
        .collect();
    writer.join().expect("writer");
    for reader in readers {
        reader.join().expect("reader");
    }
    assert_eq!(
        store.get("s", "events", "counter").expect("read").and_then(|r| r.value("n")?.as_int()),
        Some(300)
    );
}

#[test]
fn a_one_field_change_on_a_large_store_sends_only_that_field() {
    let (_dir, path) = temp_store();
    let (_dir2, path2) = temp_store();
    let phone = Store::open(&path).expect("phone");
    let laptop = Store::open(&path2).expect("laptop");
    let mut tx = phone.transaction("s");
    for i in 0..5_000 {
        tx.set("events", &format!("e{i}"), "title", "Meeting").set(
            "events",
            &format!("e{i}"),
            "location",
            "Room",
        );
    }
    tx.commit().expect("populate");
    laptop.join_space("s").expect("join");
    laptop
        .apply(&phone.delta_since("s", &laptop.version_vector("s").expect("vv")).expect("delta"))
        .expect("initial sync");

    phone.transaction("s").set("events", "e4242", "title", "Moved").commit().expect("edit");
    let delta = phone.delta_since("s", &laptop.version_vector("s").expect("vv")).expect("delta");
    assert_eq!(delta.records.len(), 1);
    let (key, record) = &delta.records[0];
    assert_eq!(key, &RecordKey::new("events", "e4242"));
    assert_eq!(record.registers.keys().collect::<Vec<_>>(), ["title"]);
    assert!(record.lifecycle.is_none());
    assert!(delta.encode().expect("encode").len() < 512);
}

#[test]
fn storage_is_bounded_by_live_data_not_by_edit_count() {
    let (_dir, path) = temp_store();
    let store = Store::open(&path).expect("open");
    let overwrite = |n: i64| {
        store
            .transaction("s")
            .set("events", "e1", "title", format!("title {n:06}"))
            .commit()
            .map(|_| ())
    };
    for n in 0..100 {
        overwrite(n).expect("warm up");
    }
    store.checkpoint().expect("checkpoint");
    let after_first = fs::metadata(&path).expect("size").len();
    for n in 100..100_000 {
        overwrite(n).expect("overwrite");
    }
    store.checkpoint().expect("checkpoint");
    let after_all = fs::metadata(&path).expect("size").len();
    // Allow two pages of slack for SQLite's free-list bookkeeping; no growth per overwrite.
    assert!(after_all <= after_first + 8192, "grew from {after_first} to {after_all} bytes");
    let record = store.get("s", "events", "e1").expect("read").expect("e1");
    assert_eq!(record.value("title"), Some(&Value::from("title 099999")));
    assert_eq!(record.state.registers()["title"].entries().len(), 1);
}

#[test]
fn two_handles_on_one_file_never_reuse_a_dot() {
    let (_dir, path) = temp_store();
    let (_other_dir, other_path) = temp_store();
    let first = Store::open(&path).expect("first handle");
    let second = Store::open(&path).expect("second handle (an app extension, say)");
    assert_eq!(first.replica_id(), second.replica_id());
    for n in 0..20 {
        let handle = if n % 2 == 0 { &first } else { &second };
        handle
            .transaction("s")
            .set("events", &format!("e{n}"), "title", "t")
            .commit()
            .expect("write");
    }
    let vv = first.version_vector("s").expect("vv");
    assert_eq!(vv.get(&first.replica_id()), 20, "each transaction took its own dot");
    let peer = Store::open(&other_path).expect("peer");
    peer.join_space("s").expect("join");
    peer.apply(&second.delta_since("s", &VersionVector::new()).expect("delta")).expect("apply");
    assert_eq!(peer.records("s", "events").expect("read").len(), 20);
}

/// Finding 9: the bounded-storage promise with two replicas that overwrite the same field in
/// turn and sync after each write (through the protocol): neither store grows with edit count.
#[test]
fn storage_stays_bounded_with_two_syncing_replicas_overwriting_one_field() {
    use almanac_core::sync::SessionConfig;
    use almanac_core::sync::transport::sync_in_process;

    let (_dir, path) = temp_store();
    let (_other_dir, other_path) = temp_store();
    let a = Store::open(&path).expect("a");
    let b = Store::open(&other_path).expect("b");
    b.join_space("s").expect("join");
    let spaces = || SessionConfig::new(vec![almanac_core::SpaceId::new("s").expect("space")]);
    let round = |n: usize| {
        let writer = if n % 2 == 0 { &a } else { &b };
        writer
            .transaction("s")
            .set("events", "e1", "title", format!("title {n:06}"))
            .commit()
            .expect("write");
        sync_in_process(&a, spaces(), &b, spaces()).expect("sync");
    };
    for n in 0..200 {
        round(n);
    }
    a.checkpoint().expect("checkpoint");
    b.checkpoint().expect("checkpoint");
    let sizes =
        || (fs::metadata(&path).expect("a").len(), fs::metadata(&other_path).expect("b").len());
    let warm = sizes();
    for n in 200..2_000 {
        round(n);
    }
    a.checkpoint().expect("checkpoint");
    b.checkpoint().expect("checkpoint");
    let after = sizes();
    assert!(
        after.0 <= warm.0 + 8192 && after.1 <= warm.1 + 8192,
        "grew from {warm:?} to {after:?}"
    );
    for store in [&a, &b] {
        let record = store.get("s", "events", "e1").expect("read").expect("e1");
        assert_eq!(record.value("title"), Some(&Value::from("title 001999")));
        assert_eq!(record.state.registers()["title"].entries().len(), 1);
    }
}

/// Checkpoints also run on a background connection (during syncs); the log must still not
/// grow without bound while an app writes.
#[test]
fn the_write_ahead_log_stays_short_while_an_app_writes() {
    let (_dir, path) = temp_store();
    let store = Store::open(&path).expect("open");
    let wal = wal_path(&path);
    let mut largest = 0;
    for n in 0..4_000 {
        store
            .transaction("s")
            .set("events", &format!("e{}", n % 500), "title", format!("t{n}"))
            .commit()
            .expect("write");
        if n % 500 == 499 {
            largest = largest.max(fs::metadata(&wal).map_or(0, |m| m.len()));
        }
    }
    // Without any checkpoint these commits append ~30 MB of log.
    assert!(largest < 12 << 20, "the write-ahead log grew to {largest} bytes");
}

/// `compact` gives back the pages that edits and deletes left free, and changes nothing else:
/// the same records, the same replica id, the same file (the device marker still knows it, so
/// the next open does not take it for a copy), and writes keep their clock going forward.
#[test]
fn compacting_gives_back_free_pages_and_keeps_everything_else() {
    let (_dir, path) = temp_store();
    let store = Store::open(&path).expect("open");
    let mut tx = store.transaction("s");
    for i in 0..2_000 {
        tx.set("events", &format!("e{i}"), "notes", "n".repeat(200));
    }
    tx.commit().expect("add");
    let mut tx = store.transaction("s");
    for i in 0..2_000 {
        if i % 4 != 0 {
            tx.set("events", &format!("e{i}"), "notes", "short");
        }
    }
    tx.commit().expect("shorten");
    store.checkpoint().expect("checkpoint");
    let before = fs::metadata(&path).expect("size").len();
    let (state, replica) = (full_state(&store), store.replica_id());

    store.compact().expect("compact");

    let after = fs::metadata(&path).expect("size").len();
    assert!(after * 4 < before * 3, "compacting left {after} of {before} bytes");
    assert_eq!(fs::metadata(wal_path(&path)).map_or(0, |m| m.len()), 0, "the log is folded in");
    assert_eq!(full_state(&store), state);
    store.transaction("s").set("events", "e1", "title", "after").commit().expect("write");
    assert!(full_state(&store).hlc > state.hlc);
    drop(store);
    let reopened = Store::open(&path).expect("reopen");
    assert_eq!(reopened.replica_id(), replica, "a compacted store is not taken for a copy");
    assert_eq!(reopened.incarnation(), Incarnation::Continued);
    assert_eq!(
        reopened.get("s", "events", "e1").expect("read").expect("e1").value("title"),
        Some(&Value::from("after"))
    );
}

/// The first compaction of a store large enough makes its record dictionary and rewrites every
/// record compressed against it (decision 0032): each reads back as it was, a second `Store`
/// on the same file (an app extension) reads them and compresses what it writes next, and the
/// records take a fraction of their former bytes.
#[test]
fn compacting_compresses_every_record_and_every_connection_reads_and_writes_them() {
    let (_dir, path) = temp_store();
    let store = Store::open(&path).expect("open");
    let extension = Store::open(&path).expect("second store on the same file");
    // More records in one transaction than a store compresses by itself when it makes its
    // first dictionary (decision 0037): they wait for the compaction.
    let mut tx = store.transaction("s");
    for i in 0..1_100 {
        let id = format!("e{i}");
        tx.set("events", &id, "title", format!("Meeting {i}"))
            .set("events", &id, "location", "Room 4")
            .set("events", &id, "notes", "Bring the quarterly numbers.")
            .set("events", &id, "status", "CONFIRMED");
    }
    tx.commit().expect("add");
    store.transaction("s").delete("events", "e3").commit().expect("delete");
    assert!(extension.get("s", "events", "e1").expect("read").is_some());
    let state = full_state(&store);
    let stored_bytes = |path: &Path| -> i64 {
        let conn = Connection::open(path).expect("raw");
        conn.query_row("SELECT sum(length(state)) FROM records", [], |row| row.get(0)).expect("sum")
    };
    let before = stored_bytes(&path);
    // The delete after it wrote its record against the dictionary.
    let formats = record_formats(&path);
    assert!(formats.iter().all(|(id, format)| *format == if id == "e3" { 5 } else { 4 }));
    assert!(store.record_dictionary_size().expect("size").is_some(), "made by the commit");

    store.compact().expect("compact");

    assert!(record_formats(&path).iter().all(|(_, format)| *format == 5));
    let after = stored_bytes(&path);
    assert!(after * 3 < before, "records took {before} bytes, compressed {after}");
    assert_eq!(full_state(&store), state);
    assert_eq!(full_state(&extension), state);
    extension
        .transaction("s")
        .set("events", "x", "title", "from the extension")
        .commit()
        .expect("write");
    store.transaction("s").set("events", "e1", "title", "edited").commit().expect("write");
    let formats: std::collections::HashMap<String, u8> =
        record_formats(&path).into_iter().collect();
    assert_eq!((formats["x"], formats["e1"]), (5, 5), "later writes are compressed too");
    drop((store, extension));
    let reopened = Store::open(&path).expect("reopen");
    let title = |id: &str| {
        reopened.get("s", "events", id).expect("read").expect(id).value("title").cloned()
    };
    assert_eq!(title("x"), Some(Value::from("from the extension")));
    assert_eq!(title("e1"), Some(Value::from("edited")));
    assert_eq!(title("e1099"), Some(Value::from("Meeting 1099")));
    assert!(reopened.get("s", "events", "e3").expect("read").is_none_or(|e| e.is_deleted()));
}

/// Records change with edits, so each compaction samples them again: after every event was
/// edited, compacting makes a new dictionary, rewrites every record against it (in a rejoin
/// stash too) and forgets the old one; each record, and the stash, reads back as it was, from
/// this connection and another one. A compaction with nothing changed keeps the dictionary.
#[test]
fn compacting_after_edits_replaces_the_dictionary_and_every_record_follows() {
    let (_dir, path) = temp_store();
    let store = Store::open(&path).expect("open");
    let other = Store::open(&path).expect("second store on the same file");
    let mut tx = store.transaction("s");
    for i in 0..300 {
        let id = format!("e{i}");
        tx.set("events", &id, "title", format!("Meeting {i}")).set(
            "events",
            &id,
            "status",
            "TENTATIVE",
        );
    }
    tx.commit().expect("add");
    store.compact().expect("compact");
    let dictionaries = |path: &Path| -> Vec<u32> {
        let conn = Connection::open(path).expect("raw");
        let mut statement =
            conn.prepare("SELECT id FROM record_dictionaries ORDER BY did").expect("sql");
        let rows = statement.query_map([], |row| row.get(0)).expect("query");
        rows.collect::<Result<_, _>>().expect("rows")
    };
    let first = dictionaries(&path);
    assert_eq!(first.len(), 1);
    store.compact().expect("compact again");
    assert_eq!(dictionaries(&path), first, "nothing changed: the same dictionary");

    // A stash holding a record compressed against the first dictionary.
    let stashed = {
        let conn = Connection::open(&path).expect("raw");
        let blob: Vec<u8> = conn
            .query_row("SELECT state FROM records WHERE id = 'e7'", [], |row| row.get(0))
            .expect("e7");
        conn.execute(
            "INSERT INTO rejoin_spaces (space, replica) VALUES ('gone', zeroblob(16))",
            [],
        )
        .expect("stash");
        conn.execute(
            "INSERT INTO rejoin_records (space, collection, id, state) VALUES ('gone', 'events', 'e7', ?1)",
            [&blob],
        )
        .expect("stash");
        almanac_core::codec::decode_record(&blob).expect("decode")
    };
    let mut tx = store.transaction("s");
    for i in 0..300 {
        let id = format!("e{i}");
        tx.set("events", &id, "status", "CONFIRMED").set(
            "events",
            &id,
            "notes",
            format!("agenda item {i}"),
        );
    }
    tx.commit().expect("edit");
    let state = full_state(&store);

    store.compact().expect("compact after edits");

    let second = dictionaries(&path);
    assert_eq!(second.len(), 1, "the first dictionary is forgotten: {second:?}");
    assert_ne!(second, first, "a new sample of the edited records");
    let conn = Connection::open(&path).expect("raw");
    let names = |sql: &str| -> Vec<Option<u32>> {
        let mut statement = conn.prepare(sql).expect("sql");
        let rows = statement.query_map([], |row| row.get::<_, Vec<u8>>(0)).expect("query");
        rows.map(|blob| almanac_core::codec::record_dictionary(&blob.expect("row"))).collect()
    };
    assert!(names("SELECT state FROM records").iter().all(|name| *name == Some(second[0])));
    let stash = names("SELECT state FROM rejoin_records");
    assert_eq!(stash, vec![Some(second[0])], "the stash follows the new dictionary");
    let blob: Vec<u8> =
        conn.query_row("SELECT state FROM rejoin_records", [], |row| row.get(0)).expect("stash");
    assert_eq!(almanac_core::codec::decode_record(&blob).expect("decode"), stashed);
    assert_eq!(full_state(&store), state);
    assert_eq!(full_state(&other), state);
    other.transaction("s").set("events", "x", "title", "after").commit().expect("write");
    assert_eq!(names("SELECT state FROM records WHERE id = 'x'"), vec![Some(second[0])]);
    drop((store, other));
    let reopened = Store::open(&path).expect("reopen");
    let notes = reopened.get("s", "events", "e299").expect("read").expect("e299");
    assert_eq!(notes.value("notes"), Some(&Value::from("agenda item 299")));
}

/// A store that never compacts compresses its records too (decision 0037): the commit that
/// finds it holding 256 live records makes the dictionary and compresses the records already
/// there, every later write is compressed against it, and everything reads back as written,
/// from another connection and after reopening.
#[test]
fn a_store_makes_its_dictionary_by_itself_once_it_holds_enough_records() {
    let (_dir, path) = temp_store();
    let store = Store::open(&path).expect("open");
    let other = Store::open(&path).expect("second store on the same file");
    let write = |store: &Store, i: usize| {
        let id = format!("e{i}");
        store
            .transaction("s")
            .set("events", &id, "title", format!("Meeting {i}"))
            .set("events", &id, "location", "Room 4")
            .set("events", &id, "status", "CONFIRMED")
            .commit()
            .expect("write");
    };
    for i in 0..255 {
        write(&store, i);
    }
    assert!(record_formats(&path).iter().all(|(_, format)| *format == 4));
    assert_eq!(store.record_dictionary_size().expect("size"), None);
    for i in 255..400 {
        write(if i % 2 == 0 { &store } else { &other }, i);
    }
    assert!(store.record_dictionary_size().expect("size").is_some());
    let formats = record_formats(&path);
    assert_eq!(formats.len(), 400);
    assert!(formats.iter().all(|(_, format)| *format == 5), "{formats:?}");
    let state = full_state(&store);
    assert_eq!(full_state(&other), state);
    drop((store, other));
    let reopened = Store::open(&path).expect("reopen");
    assert_eq!(full_state(&reopened), state);
    let e0 = reopened.get("s", "events", "e0").expect("read").expect("e0");
    assert_eq!(e0.value("title"), Some(&Value::from("Meeting 0")));
}

/// Making the dictionary never fails the app's write: with a damaged record in the store, the
/// commit that would make it succeeds and makes none (the damage is reported where the record
/// is read).
#[test]
fn a_damaged_record_does_not_fail_the_commit_that_would_make_the_dictionary() {
    let (_dir, path) = temp_store();
    let store = Store::open(&path).expect("open");
    let mut tx = store.transaction("s");
    for i in 0..200 {
        tx.set("events", &format!("e{i}"), "title", format!("Meeting {i}"));
    }
    tx.commit().expect("add");
    {
        let conn = Connection::open(&path).expect("raw");
        conn.execute("UPDATE records SET state = x'04010203' WHERE id = 'e7'", []).expect("damage");
    }
    let mut tx = store.transaction("s");
    for i in 200..300 {
        tx.set("events", &format!("e{i}"), "title", format!("Meeting {i}"));
    }
    tx.commit().expect("the app's write succeeds");
    assert_eq!(store.record_dictionary_size().expect("size"), None);
    let e250 = store.get("s", "events", "e250").expect("read").expect("e250");
    assert_eq!(e250.value("title"), Some(&Value::from("Meeting 250")));
    assert!(store.get("s", "events", "e7").is_err(), "the damage is reported");
}

/// The write-ahead log stays small under a long run of one-record commits (decision 0037:
/// checkpoints every 100 pages, the log cut back to 512 KiB when it starts over); SQLite's
/// defaults leave it at 4 MiB.
#[test]
fn the_write_ahead_log_stays_small_under_many_commits() {
    let (_dir, path) = temp_store();
    let store = Store::open(&path).expect("open");
    let wal = path.with_extension("almanac-wal");
    let mut largest = 0;
    for i in 0..3_000 {
        store
            .transaction("s")
            .set("events", &format!("e{i}"), "notes", format!("note {i} ").repeat(20))
            .commit()
            .expect("write");
        largest = largest.max(fs::metadata(&wal).map(|m| m.len()).unwrap_or(0));
    }
    assert!(largest > 0, "no log at {}", wal.display());
    assert!(largest < 1024 * 1024, "the log reached {largest} bytes");
    assert_eq!(store.records("s", "events").expect("read").len(), 3_000);
}

/// A store too small for a dictionary to pay (under 256 live records) is compacted without
/// one: its records stay in format 4.
#[test]
fn compacting_a_small_store_makes_no_dictionary() {
    let (_dir, path) = temp_store();
    let store = Store::open(&path).expect("open");
    let mut tx = store.transaction("s");
    for i in 0..255 {
        tx.set("events", &format!("e{i}"), "title", "Standup");
    }
    tx.commit().expect("add");
    store.compact().expect("compact");
    assert!(record_formats(&path).iter().all(|(_, format)| *format == 4));
}

/// An app compacts on a background task while its UI keeps reading and writing: every read
/// and write succeeds during the compaction, and nothing written before or during it is lost.
#[test]
fn compacting_while_other_threads_read_and_write_loses_nothing() {
    let (_dir, path) = temp_store();
    let store = Arc::new(Store::open(&path).expect("open"));
    let mut tx = store.transaction("s");
    for i in 0..3_000 {
        tx.set("events", &format!("e{i}"), "notes", "n".repeat(100));
    }
    tx.commit().expect("fill");
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let worker = |write: bool| {
        let (store, stop) = (Arc::clone(&store), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut n = 0i64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) || n < 20 {
                if write {
                    store.transaction("s").set("events", "w", "n", n).commit().expect("write");
                } else {
                    let e = store.get("s", "events", "e7").expect("read").expect("e7");
                    assert_eq!(e.value("notes"), Some(&Value::from("n".repeat(100))));
                }
                n += 1;
            }
            n
        })
    };
    let (writer, reader) = (worker(true), worker(false));
    for _ in 0..3 {
        store.compact().expect("compact");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let written = writer.join().expect("writer");
    reader.join().expect("reader");
    let last = store.get("s", "events", "w").expect("read").expect("w");
    assert_eq!(last.value("n"), Some(&Value::Int(written - 1)));
    assert_eq!(store.records("s", "events").expect("records").len(), 3_001);
}

/// A view that fails the first save of a record in collection "flaky", so the transaction
/// that first used that collection rolls back.
#[derive(Default)]
struct FailsOnce(std::sync::atomic::AtomicBool);

impl almanac_core::DerivedView for FailsOnce {
    fn prepare(&self, _conn: &Connection) -> almanac_core::Result<bool> {
        Ok(false)
    }

    fn rebuild(&self, _conn: &Connection) -> almanac_core::Result<()> {
        Ok(())
    }

    fn on_save(
        &self,
        _conn: &Connection,
        saved: &almanac_core::SavedRecord<'_>,
    ) -> almanac_core::Result<()> {
        let flaky = saved.key.collection == "flaky";
        if flaky && !self.0.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return Err(Error::InvalidInput("the view failed".into()));
        }
        Ok(())
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// The writer keeps collection numbers between commits (decision 0042), but not those of a
/// transaction that rolled back: SQLite gives that number to the next collection created, and
/// a kept one would file the rolled-back collection's later records under it.
#[test]
fn a_collection_first_used_by_a_rolled_back_transaction_keeps_its_records_apart() {
    let (_dir, path) = temp_store();
    let options =
        StoreOptions { views: vec![Arc::new(FailsOnce::default())], ..Default::default() };
    let store = Store::open_with(&path, options).expect("open");
    store.transaction("s").set("notes", "n1", "title", "note").commit().expect("notes");
    let failed = store.transaction("s").set("flaky", "f1", "title", "lost").commit();
    assert!(failed.is_err(), "the view refuses the first save");
    store.transaction("s").set("tasks", "t1", "title", "task").commit().expect("tasks");
    store.transaction("s").set("flaky", "f2", "title", "kept").commit().expect("flaky");
    let ids = |collection: &str| -> Vec<String> {
        store.records("s", collection).expect("records").into_iter().map(|r| r.key.id).collect()
    };
    assert_eq!(ids("tasks"), ["t1"]);
    assert_eq!(ids("flaky"), ["f2"]);
    assert_eq!(ids("notes"), ["n1"]);
}

/// A store on `path` whose device clock the test sets.
fn store_with_clock(path: &Path, clock: &Arc<crate::support::ManualClock>) -> Store {
    let clock: Arc<dyn almanac_core::Clock> = clock.clone();
    Store::open_with(path, StoreOptions { clock, ..StoreOptions::default() }).expect("open")
}

/// Opens the store at `path` with the device clock far behind (one second after the epoch),
/// writes once in `space`, and returns the store's clock after that write: it must still be
/// ahead of every clock the store had before.
fn clock_after_a_write_with_the_device_clock_behind(
    path: &Path,
    clock: &Arc<crate::support::ManualClock>,
    space: &str,
) -> almanac_core::crdt::Hlc {
    clock.set(1_000);
    let store = store_with_clock(path, clock);
    store.transaction(space).set("events", "later", "title", "later").commit().expect("write");
    store.delta_since(space, &VersionVector::new()).expect("delta").hlc
}

/// The clock of the latest commit is kept in the `space_clock` row that commit wrote (decision
/// 0043). Leaving that space drops the row: the clock must survive it, so that a write after
/// the device clock went back still stamps after everything written before.
#[test]
fn leaving_the_space_last_written_keeps_the_clock() {
    let (_dir, path) = temp_store();
    let clock = Arc::new(crate::support::ManualClock::default());
    clock.set(5_000_000);
    let store = store_with_clock(&path, &clock);
    store.transaction("early").set("events", "e0", "title", "early").commit().expect("early");
    clock.set(9_000_000);
    store.transaction("late").set("events", "e1", "title", "late").commit().expect("late");
    let latest = store.delta_since("late", &VersionVector::new()).expect("delta").hlc;
    store.leave_space("late").expect("leave");
    drop(store);
    assert!(clock_after_a_write_with_the_device_clock_behind(&path, &clock, "early") > latest);
}

/// The same when the replica id is renewed before anything was sent: its `space_clock` rows
/// move to the new id (decision 0025), and the clock must not go with the old ones.
#[test]
fn renewing_the_replica_id_keeps_the_clock() {
    let (_dir, path) = temp_store();
    let clock = Arc::new(crate::support::ManualClock::default());
    clock.set(9_000_000);
    let store = store_with_clock(&path, &clock);
    store.transaction("s").set("events", "e1", "title", "before").commit().expect("before");
    let latest = full_state(&store).hlc;
    store.renew_replica_id().expect("renew");
    drop(store);
    assert!(clock_after_a_write_with_the_device_clock_behind(&path, &clock, "s") > latest);
}

/// A delta that brings nothing new still moves the receiver's clock to the sender's, and a
/// commit that writes no `space_clock` row keeps that clock in `meta` (decision 0043).
#[test]
fn a_clock_received_without_new_writes_survives_reopening() {
    let (_dir, path) = temp_store();
    let (_sender_dir, sender_path) = temp_store();
    let clock = Arc::new(crate::support::ManualClock::default());
    clock.set(5_000_000);
    let sender = store_with_clock(&sender_path, &clock);
    let receiver = store_with_clock(&path, &clock);
    sender.transaction("s").set("events", "e1", "title", "first").commit().expect("write");
    receiver.join_space("s").expect("join");
    receiver.apply(&sender.delta_since("s", &VersionVector::new()).expect("delta")).expect("apply");
    clock.set(9_000_000);
    sender.transaction("other").set("events", "e2", "title", "later").commit().expect("write");
    let nothing_new =
        sender.delta_since("s", &receiver.version_vector("s").expect("vv")).expect("delta");
    let sent = nothing_new.hlc;
    receiver.apply(&nothing_new).expect("apply");
    drop(receiver);
    assert!(clock_after_a_write_with_the_device_clock_behind(&path, &clock, "s") > sent);
}

/// One transaction's writes to a record land together however they are interleaved with
/// writes to other records, and the changed records are reported once each, in key order.
#[test]
fn a_transactions_interleaved_writes_to_one_record_all_land() {
    let (_dir, path) = temp_store();
    let store = Store::open(&path).expect("open");
    let changes = store
        .transaction("s")
        .set("notes", "b", "title", "B")
        .set("notes", "a", "title", "A")
        .set("notes", "b", "location", "Room 2")
        .set("notes", "c", "title", "C")
        .set("notes", "a", "location", "Room 1")
        .set("notes", "b", "title", "B again")
        .commit()
        .expect("commit");
    let keys: Vec<RecordKey> = ["a", "b", "c"].map(|id| RecordKey::new("notes", id)).into();
    assert_eq!(changes.records, keys);
    let field = |id: &str, name: &str| {
        let record = store.get("s", "notes", id).expect("read").expect("exists");
        record.value(name).cloned()
    };
    assert_eq!(field("a", "title"), Some(Value::from("A")));
    assert_eq!(field("a", "location"), Some(Value::from("Room 1")));
    assert_eq!(field("b", "title"), Some(Value::from("B again")));
    assert_eq!(field("b", "location"), Some(Value::from("Room 2")));
    assert_eq!(field("c", "title"), Some(Value::from("C")));
}
