//! `make bench`, sync part: W5 (offline catch-up), W6 (one field changed, with 1 and with 1,000
//! writers), W7 (1,000 writers, then a new device joins), and the initial sync of a
//! 10,000-event calendar: bytes on the wire, time until the joining device shows its first
//! month view, and the longest a local write waits while that sync runs. Every exchange runs
//! the sync protocol over an in-process channel (every frame encoded, checksummed, decoded).
//! Figures are medians of several runs where repeated; see `docs/benchmarks.md`.

// A benchmark aborts loudly on any failure; that is what expect is for here.
#![allow(clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration as StdDuration, Instant};

use almanac_core::calendar::api::{NewEvent, operations_for};
use almanac_core::calendar::event::{End, Timing};
use almanac_core::calendar::recurrence::RecurrenceRule;
use almanac_core::calendar::time::{Duration, TimeValue};
use almanac_core::crdt::Write;
use almanac_core::storage::memory::MemoryStore;
use almanac_core::sync::SessionConfig;
use almanac_core::sync::transport::sync_in_process;
use almanac_core::{Operation, RecordKey, ReplicaId, SpaceId, Store, Value, VersionVector};
use jiff::ToSpan;
use jiff::civil::date;
use jiff::tz::TimeZone;

const RUNS: usize = 3;
const CALENDAR: &str = "work";

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    println!("almanac-core sync benchmark (median of {RUNS} runs where repeated)\n");
    // `cargo bench --bench sync -- W5 initial` runs only the named parts.
    let only: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let wanted = |name: &str| only.is_empty() || only.iter().any(|o| o == name);
    if wanted("W5") {
        catch_up(dir.path(), 10_000, RUNS);
    }
    // Not part of the default run: W5 at a fifth of the size, once, for a profiler
    // (`valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*w5_merge*'`).
    if only.iter().any(|o| o == "W5-profile") {
        catch_up(dir.path(), 2_000, 1);
    }
    if wanted("W6") {
        one_field(dir.path(), 1);
        one_field(dir.path(), 1_000);
    }
    if wanted("W7") {
        many_devices_then_join(dir.path());
    }
    if wanted("initial") {
        initial_sync(dir.path());
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn millis(d: StdDuration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn config(peer: &Store) -> SessionConfig {
    let mut config = SessionConfig::new(vec![SpaceId::new(CALENDAR).expect("space")]);
    config.expected_peer = Some(peer.replica_id());
    config
}

/// Syncs both ways; (bytes a→b, bytes b→a, frames in all).
fn sync(a: &Store, b: &Store) -> (usize, usize, usize) {
    let (from_a, from_b) = sync_in_process(a, config(b), b, config(a)).expect("sync");
    if std::env::var_os("ALMANAC_BENCH_VERBOSE").is_some() {
        println!("records sent: {} A→B, {} B→A", from_a.records_sent, from_b.records_sent);
    }
    (from_a.bytes_sent, from_b.bytes_sent, from_a.frames_sent + from_b.frames_sent)
}

fn event(i: usize) -> NewEvent {
    let day = date(2026, 1, 1).checked_add((((i * 7919) % 365) as i64).days()).expect("day");
    NewEvent {
        id: format!("event-{i:06}"),
        calendar: CALENDAR.into(),
        uid: None,
        timing: Timing {
            start: TimeValue::Zoned {
                local: day.at(8 + (i % 10) as i8, 0, 0, 0),
                zone: "Europe/Paris".into(),
            },
            end: End::After(Duration { seconds: 3600, ..Duration::default() }),
        },
        rule: (i % 10 == 0).then(|| RecurrenceRule::parse("FREQ=WEEKLY;COUNT=52").expect("rule")),
        rdates: Vec::new(),
        exdates: Vec::new(),
        fields: BTreeMap::from([
            ("title".into(), Value::from(format!("Meeting {i}"))),
            ("location".into(), Value::from("Room 4")),
            ("notes".into(), Value::from("Bring the quarterly numbers.")),
            ("status".into(), Value::from("CONFIRMED")),
            ("availability".into(), Value::from("OPAQUE")),
            ("color".into(), Value::from("blue")),
            ("organizer".into(), Value::from("mailto:me@example.com")),
        ]),
        attendees: Vec::new(),
        alarms: Vec::new(),
        unknown_properties: Vec::new(),
    }
}

/// A calendar of `count` events, one transaction per event (as an app creates them).
fn calendar(path: &Path, count: usize) -> Store {
    let store = Store::open(path).expect("open");
    store.put_calendar(CALENDAR, "Work", None, Some("Europe/Paris")).expect("calendar");
    for i in 0..count {
        store.commit(CALENDAR, &operations_for(&event(i)).expect("ops")).expect("commit");
    }
    store
}

fn edit(store: &Store, i: usize, field: &str, value: String) {
    store
        .transaction(CALENDAR)
        .set("events", &format!("event-{i:06}"), field, value)
        .commit()
        .expect("edit");
}

/// The timed part of W5, a function of its own so a profiler can collect only it.
#[inline(never)]
fn w5_merge(a: &Store, b: &Store) -> (usize, usize, usize) {
    sync(a, b)
}

/// W5: two devices share `events` events (10,000 in the workload), go offline, make half as
/// many edits each (10% on the same fields), then sync.
fn catch_up(dir: &Path, events: usize, runs: usize) {
    let (mut merge, mut bytes, mut frames) = (Vec::new(), (0, 0), 0);
    for run in 0..runs {
        let a = calendar(&dir.join(format!("w5-a-{events}-{run}.almanac")), events);
        let b = Store::open(dir.join(format!("w5-b-{events}-{run}.almanac"))).expect("open");
        b.join_space(CALENDAR).expect("join");
        sync(&a, &b);
        for n in 0..events / 2 {
            // 10% of the edits hit the same field of the same events on both devices.
            let shared = n % 10 == 0;
            let i = if shared { n } else { (n * 2 + 1) % events };
            edit(&a, i, "title", format!("A {n}"));
            let j = if shared { n } else { (n * 2 + 2) % events };
            edit(&b, j, if shared { "title" } else { "location" }, format!("B {n}"));
        }
        let start = Instant::now();
        let (ab, ba, f) = w5_merge(&a, &b);
        merge.push(millis(start.elapsed()));
        bytes = (ab, ba);
        frames = f;
        let full =
            |s: &Store| s.delta_since(CALENDAR, &VersionVector::new()).expect("full").records;
        assert!(full(&a) == full(&b), "W5: the two devices differ after syncing");
    }
    println!(
        "W5 offline catch-up, {} + {} edits on {events} events: merge {:.0} ms; {} bytes A→B, {} bytes B→A, {} frames, 1 round trip of data; states equal",
        events / 2,
        events / 2,
        median(merge),
        bytes.0,
        bytes.1,
        frames
    );
}

/// Puts one write of each of `writers` other devices into `store`'s calendar.
fn foreign_writers(store: &Store, writers: usize) {
    let space = SpaceId::new(CALENDAR).expect("space");
    for device in 0..writers {
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&(device as u64).to_be_bytes());
        id[15] = 0xD7;
        let mut replica = MemoryStore::new(ReplicaId::from_bytes(id));
        let op = Operation {
            key: RecordKey::new("events", format!("event-{device:06}")),
            write: Write::Set {
                field: "notes".into(),
                value: Value::from(format!("seen by device {device}")),
            },
        };
        replica.commit(&space, &[op], 1_700_000_000_000 + device as u64).expect("commit");
        store
            .apply(&replica.delta_since(&space, &VersionVector::new()).expect("delta"))
            .expect("apply");
    }
}

/// W6: one field changes on a 100,000-event calendar that `writers` devices have written to.
fn one_field(dir: &Path, writers: usize) {
    let a = calendar(&dir.join(format!("w6-a-{writers}.almanac")), 100_000);
    if writers > 1 {
        foreign_writers(&a, writers);
    }
    let b = Store::open(dir.join(format!("w6-b-{writers}.almanac"))).expect("open");
    b.join_space(CALENDAR).expect("join");
    sync(&a, &b);
    sync(&a, &b); // both now know the vectors the other has
    let (mut total, mut frames, mut times) = (Vec::new(), 0, Vec::new());
    for n in 0..RUNS {
        edit(&a, 42_424, "title", format!("Moved {n}"));
        let start = Instant::now();
        let (ab, ba, f) = sync(&a, &b);
        times.push(millis(start.elapsed()));
        total.push((ab + ba) as f64);
        frames = f;
    }
    println!(
        "W6 one field changed on 100,000 events, {} writer{} in the vector: {:.0} bytes on the wire (both ways, all {} frames), 1 round trip of data, {:.1} ms",
        a.version_vector(CALENDAR).expect("vv").len(),
        if writers == 1 { "" } else { "s" },
        median(total),
        frames,
        median(times)
    );
}

/// W7: 1,000 devices each edit once, then a new device joins and syncs.
fn many_devices_then_join(dir: &Path) {
    let a = calendar(&dir.join("w7-a.almanac"), 10_000);
    foreign_writers(&a, 1_000);
    let vector = a.version_vector(CALENDAR).expect("vv");
    let vector_bytes =
        almanac_core::codec::encode(almanac_core::codec::Kind::VersionVector, &vector)
            .expect("vv")
            .len();
    let (mut join, mut bytes) = (Vec::new(), 0);
    for run in 0..RUNS {
        let b = Store::open(dir.join(format!("w7-b-{run}.almanac"))).expect("open");
        b.join_space(CALENDAR).expect("join");
        let start = Instant::now();
        let (ab, ba, _) = sync(&a, &b);
        join.push(millis(start.elapsed()));
        bytes = ab + ba;
    }
    println!(
        "W7 1,000 devices edited, a new device joins a 10,000-event calendar: join {:.0} ms, {} bytes on the wire; version metadata: {} replicas, {} bytes (sent once, as the context of the first chunk)",
        median(join),
        bytes,
        vector.len(),
        vector_bytes
    );
}

/// A new device joins a 10,000-event calendar: bytes, time to its first month view, and the
/// longest wait of the device's own writes meanwhile.
fn initial_sync(dir: &Path) {
    let a = calendar(&dir.join("join-a.almanac"), 10_000);
    let (mut first_view, mut bytes, mut worst_wait, mut raw) = (Vec::new(), 0, Vec::new(), 0);
    for run in 0..RUNS {
        let b = Store::open(dir.join(format!("join-b-{run}.almanac"))).expect("open");
        b.join_space(CALENDAR).expect("join");
        let syncing = AtomicBool::new(true);
        let mut waits: Vec<StdDuration> = Vec::new();
        let start = Instant::now();
        std::thread::scope(|scope| {
            let b = &b;
            let syncing = &syncing;
            // The app keeps writing to its own calendar while the sync runs.
            let writer = scope.spawn(move || {
                let mut waits = Vec::new();
                let mut n = 0;
                while syncing.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    b.transaction("device-notes")
                        .set("notes", &format!("n{n}"), "text", "typing")
                        .commit()
                        .expect("local write");
                    waits.push(t.elapsed());
                    n += 1;
                    std::thread::sleep(StdDuration::from_millis(2));
                }
                waits
            });
            let (ab, ba, _) = sync(&a, b);
            bytes = ab + ba;
            syncing.store(false, Ordering::Relaxed);
            waits = writer.join().expect("writer");
        });
        let from = date(2026, 3, 1).to_zoned_datetime(TimeZone::UTC).expect("from").timestamp();
        let to = date(2026, 4, 1).to_zoned_datetime(TimeZone::UTC).expect("to").timestamp();
        let march = b.occurrences(from, to, &[CALENDAR], &TimeZone::UTC).expect("month view");
        assert!(!march.is_empty());
        first_view.push(millis(start.elapsed()));
        worst_wait.push(waits.iter().map(|w| millis(*w)).fold(0.0, f64::max));
        raw = a
            .delta_since(CALENDAR, &VersionVector::new())
            .expect("delta")
            .encode()
            .expect("encode")
            .len();
    }
    println!(
        "Initial sync of a 10,000-event calendar: {} bytes on the wire (compressed; the raw delta is {} bytes), first month view after {:.0} ms; longest local write wait meanwhile {:.1} ms",
        bytes,
        raw,
        median(first_view),
        median(worst_wait)
    );
}
