//! A device joining a space receives records it does not have yet. The store saves those
//! without clearing clock-index and occurrence-index rows that cannot exist for a row it has
//! just inserted (decision 0024, "Addendum: the join path"). These tests check that a store
//! filled that way holds exactly what the general path gives: the same record bytes, clock rows
//! and index rows as the store the records came from (written by local commits, edits
//! included) and as a rebuild of the index from scratch.

use std::collections::{BTreeMap, BTreeSet};

use almanac_core::calendar::api::{EventEdit, NewEvent};
use almanac_core::calendar::event::{Attendee, End, Participation, Role, Span, Timing};
use almanac_core::calendar::time::Duration;
use almanac_core::sync::message::{Chunk, ChunkStart, Party, Records};
use almanac_core::sync::transport::sync_in_process;
use almanac_core::sync::{Message, Session, SessionConfig};
use almanac_core::{SpaceId, Store, Value, VersionVector};
use jiff::Timestamp;
use jiff::civil::{DateTime, date};
use jiff::tz::TimeZone;

use crate::support::{assert_clock_index_matches, hello_from, paris, titled_event};

const CALENDAR: &str = "work";

/// Every row a record owns, by record key instead of row id (row ids differ between stores).
#[derive(PartialEq, Debug)]
struct Rows {
    /// `(collection, id)` → (encoded state, deleted, conflicted).
    records: BTreeMap<(String, String), (Vec<u8>, bool, bool)>,
    /// `(collection, id, replica, counter)`.
    clock: BTreeSet<(String, String, Vec<u8>, i64)>,
    /// `(collection, id, occurrence key as stored (quoted; `single` for a single event's row),
    /// start, length)`.
    occurrences: BTreeSet<(String, String, String, i64, i64)>,
    recurring: BTreeSet<(String, String)>,
    attention: BTreeSet<(String, String)>,
    longest: Option<i64>,
}

fn rows(store: &Store) -> Rows {
    let conn = rusqlite::Connection::open_with_flags(
        store.path(),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("open");
    let keys = |sql: &str| -> BTreeSet<(String, String)> {
        let mut statement = conn.prepare(sql).expect("prepare");
        let rows = statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?))).expect("query");
        rows.collect::<rusqlite::Result<_>>().expect("rows")
    };
    let mut statement = conn
        .prepare("SELECT k.name, r.id, r.state, r.deleted, r.conflicted FROM records r JOIN collections k ON k.cid = r.cid")
        .expect("records");
    let records = statement
        .query_map([], |row| {
            Ok(((row.get(0)?, row.get(1)?), (row.get(2)?, row.get(3)?, row.get(4)?)))
        })
        .expect("query")
        .collect::<rusqlite::Result<_>>()
        .expect("rows");
    let mut statement = conn
        .prepare(
            "SELECT k.name, r.id, p.replica, c.counter FROM record_clock c
             JOIN records r ON r.rid = c.rid JOIN replicas p ON p.idx = c.replica
             JOIN collections k ON k.cid = r.cid",
        )
        .expect("clock");
    let clock = statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))
        .expect("query")
        .collect::<rusqlite::Result<_>>()
        .expect("rows");
    let mut statement = conn
        .prepare(
            "SELECT k.name, r.id, quote(o.key), o.start, o.length FROM occurrence_index o
             JOIN records r ON r.rid = o.rid
             JOIN collections k ON k.cid = r.cid
             UNION ALL
             SELECT k.name, r.id, 'single', o.start, o.length FROM single_occurrences o
             JOIN records r ON r.rid = o.rid
             JOIN collections k ON k.cid = r.cid",
        )
        .expect("occurrences");
    let occurrences = statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?)))
        .expect("query")
        .collect::<rusqlite::Result<_>>()
        .expect("rows");
    let longest = conn
        .query_row("SELECT value FROM meta WHERE key = 'index_longest'", [], |row| row.get(0))
        .ok();
    Rows {
        records,
        clock,
        occurrences,
        recurring: keys(
            "SELECT k.name, r.id FROM recurring_series e JOIN records r ON r.rid = e.rid JOIN collections k ON k.cid = r.cid",
        ),
        attention: keys(
            "SELECT k.name, r.id FROM calendar_attention a JOIN records r ON r.rid = a.rid JOIN collections k ON k.cid = r.cid",
        ),
        longest,
    }
}

fn event(id: &str, start: DateTime, rule: Option<&str>) -> NewEvent {
    titled_event(id, paris(start), 3600, rule)
}

fn edit(field: &str, value: &str) -> EventEdit {
    EventEdit {
        fields: BTreeMap::from([(field.to_owned(), Value::from(value))]),
        ..EventEdit::default()
    }
}

fn config(chunk_bytes: usize) -> SessionConfig {
    let mut config = SessionConfig::new(vec![SpaceId::new(CALENDAR).expect("space")]);
    config.chunk_bytes = chunk_bytes;
    config
}

/// A calendar with what an index row can come from: single, recurring, moved, deleted and
/// cancelled events, an occurrence edit, an attendee, a conflict, and an occurrence edit that
/// a concurrent cancel shadows (the calendar's attention list).
fn source(dir: &std::path::Path) -> Store {
    let source = Store::open(dir.join("source.almanac")).expect("source");
    let other = Store::open(dir.join("other.almanac")).expect("other");
    let mut lunch = event("lunch", date(2026, 1, 7).at(12, 0, 0, 0), None);
    lunch.attendees.push(Attendee {
        address: "mailto:ann@example.com".into(),
        name: Some("Ann".into()),
        role: Role::Required,
        participation: Participation::Accepted,
        params: Vec::new(),
    });
    source.create_event(&lunch).expect("lunch");
    source
        .create_event(&event("standup", date(2026, 1, 5).at(9, 0, 0, 0), Some("FREQ=WEEKLY")))
        .expect("standup");
    source.create_event(&event("review", date(2026, 1, 9).at(15, 0, 0, 0), None)).expect("review");
    source.create_event(&event("gone", date(2026, 1, 8).at(8, 0, 0, 0), None)).expect("gone");
    for n in 0..40 {
        let day = date(2026, 2, 1 + (n % 28) as i8).at(10, 0, 0, 0);
        source.create_event(&event(&format!("event-{n:02}"), day, None)).expect("event");
    }
    // Saved again by the general path in the source: a move (new index rows), a delete.
    let moved = EventEdit {
        timing: Some(Timing {
            start: paris(date(2026, 1, 16).at(15, 0, 0, 0)),
            end: End::After(Duration { seconds: 7200, ..Duration::default() }),
        }),
        ..EventEdit::default()
    };
    source.edit_event("review", &Span::All, &moved).expect("move");
    source.delete_event("gone", &Span::All).expect("delete");
    // Concurrent edits from another device: a conflict, and an occurrence edit shadowed by a
    // cancel.
    crate::support::sync_spaces(&source, &other);
    let monday = paris(date(2026, 1, 12).at(9, 0, 0, 0));
    source.edit_event("lunch", &Span::All, &edit("title", "Lunch")).expect("title here");
    other.edit_event("lunch", &Span::All, &edit("title", "Team lunch")).expect("title there");
    source.delete_event("standup", &Span::This(monday.clone())).expect("cancel");
    other.edit_event("standup", &Span::This(monday), &edit("title", "Demo")).expect("edit");
    crate::support::sync_spaces(&other, &source);
    source
}

#[test]
fn a_joining_device_stores_exactly_the_rows_the_general_path_gives() {
    let dir = tempfile::tempdir().expect("dir");
    let source = source(dir.path());
    let expected = rows(&source);
    assert!(expected.records.values().any(|(_, deleted, _)| *deleted), "a deleted event");
    assert!(expected.records.values().any(|(_, _, conflicted)| *conflicted), "a conflict");
    assert!(!expected.attention.is_empty() && !expected.recurring.is_empty());
    assert!(!expected.occurrences.is_empty());

    // Once in one chunk (applied at once), once in many (staged, then applied in batches).
    for chunk_bytes in [1 << 20, 600] {
        let joined =
            Store::open(dir.path().join(format!("joined-{chunk_bytes}.almanac"))).expect("joined");
        joined.join_space(CALENDAR).expect("join");
        sync_in_process(&source, config(chunk_bytes), &joined, config(chunk_bytes)).expect("sync");
        assert_eq!(rows(&joined), expected, "joined in chunks of {chunk_bytes} bytes");
        assert_clock_index_matches(&joined);

        // The index rebuilt from scratch (every row deleted first) is the one the join wrote.
        joined.rebuild_occurrence_index().expect("rebuild");
        assert_eq!(rows(&joined), expected, "rebuilt after joining in chunks of {chunk_bytes}");

        // Months of the series materialised later agree too.
        let from: Timestamp = "2026-01-01T00:00:00Z".parse().expect("from");
        let to: Timestamp = "2026-03-01T00:00:00Z".parse().expect("to");
        let shown = |store: &Store| store.occurrences(from, to, &[], &TimeZone::UTC).expect("view");
        assert_eq!(shown(&joined), shown(&source));
    }
    source.rebuild_occurrence_index().expect("rebuild the source");
    assert_eq!(rows(&source), expected, "the source's own index, rebuilt");
}

/// A receiver applies a delta it staged in this session from the records it still holds. The
/// staged copy replaces keys and is read back in key order, so chunks whose keys go back are
/// applied as staged (as before the shortcut), not refused as an unordered delta.
#[test]
fn chunks_whose_keys_go_back_are_applied_as_staged() {
    let dir = tempfile::tempdir().expect("dir");
    let (a, target) = (
        Store::open(dir.path().join("a.almanac")).expect("a"),
        Store::open(dir.path().join("target.almanac")).expect("target"),
    );
    for id in ["n1", "n2"] {
        a.transaction("s").set("notes", id, "title", id).commit().expect("write");
    }
    target.join_space("s").expect("join");
    let delta = a.delta_since("s", &VersionVector::new()).expect("delta");
    let mut session = Session::new(&target, SessionConfig::new(vec![space("s")])).expect("session");
    session.receive(&hello_from(a.replica_id(), 0)).expect("hello");
    let (first, second) = (delta.records[1].clone(), delta.records[0].clone());
    for (seq, record) in [(0, first), (1, second)] {
        let chunk = Message::Chunk(Chunk {
            space: space("s"),
            seq,
            start: (seq == 0).then(|| ChunkStart {
                context: vec![(Party::Sender, 2)],
                hlc: delta.hlc,
                resumed: false,
            }),
            records: Records::Plain(vec![record]),
            last: seq == 1,
        });
        session.receive(&chunk.encode().expect("chunk")).expect("chunk");
    }
    assert_eq!(
        target.delta_since("s", &VersionVector::new()).expect("delta").records,
        delta.records
    );
    assert_eq!(target.version_vector("s").expect("vv"), a.version_vector("s").expect("vv"));
}

fn space(id: &str) -> SpaceId {
    SpaceId::new(id).expect("space")
}
