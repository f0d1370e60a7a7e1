//! The workloads W1–W8, each written once against [`Calendar`] and run for every system.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use crate::data::{self, Event};
use crate::report::{Report, median, percentile};
use crate::systems::almanac::Almanac;
use crate::systems::automerge::Automerge;
use crate::systems::loro::Loro;
use crate::systems::yrs::Yrs;
use crate::systems::{Calendar, Persist};

/// Events of the standard calendar (W1–W3, W5, W7) and of the large one (W4, W6, W8).
const EVENTS: usize = 10_000;
const LARGE: usize = 100_000;
/// Per-event commits that wait for the disk: an fdatasync costs milliseconds on these virtual
/// disks, so this figure is taken over the first 1,000 events of the calendar (200 in quick mode).
const SYNCED_EVENTS: usize = 1_000;
const OVERWRITES: usize = 100_000;
/// Quick mode's counts: its W1 and W2 repeat the same per-commit step fewer times.
const QUICK_SYNCED_EVENTS: usize = 200;
const QUICK_OVERWRITES: usize = 20_000;
const CATCH_UP_EDITS: usize = 5_000;
const WRITERS: usize = 1_000;

pub struct Settings {
    pub runs: usize,
    pub query_runs: usize,
    /// Timed repetitions of a query at the least (a 100,000-event scan takes seconds on some
    /// peers, so quick mode takes one).
    min_query_runs: usize,
    synced_events: usize,
    overwrites: usize,
    only: Vec<String>,
    systems: Vec<String>,
}

impl Settings {
    pub fn new(quick: bool, only: Vec<String>, systems: Vec<String>) -> Settings {
        if quick {
            Settings {
                runs: 1,
                query_runs: 3,
                min_query_runs: 1,
                synced_events: QUICK_SYNCED_EVENTS,
                overwrites: QUICK_OVERWRITES,
                only,
                systems,
            }
        } else {
            Settings {
                runs: 3,
                query_runs: 11,
                min_query_runs: 3,
                synced_events: SYNCED_EVENTS,
                overwrites: OVERWRITES,
                only,
                systems,
            }
        }
    }

    fn wants(&self, workload: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|o| o == workload)
    }

    fn system(&self, name: &str) -> bool {
        self.systems.is_empty() || self.systems.iter().any(|s| s == name)
    }
}

macro_rules! each_system {
    ($settings:expr, $f:ident ( $($arg:expr),* )) => {{
        if $settings.system(Almanac::NAME) { $f::<Almanac>($($arg),*); }
        if $settings.system(Automerge::NAME) { $f::<Automerge>($($arg),*); }
        if $settings.system(Yrs::NAME) { $f::<Yrs>($($arg),*); }
        if $settings.system(Loro::NAME) { $f::<Loro>($($arg),*); }
    }};
}

pub fn all(s: &Settings, r: &mut Report) {
    // ALMANAC_BENCH_KEEP=<folder> keeps the stores for inspection (sqlite3, dbstat, profilers).
    let kept = std::env::var_os("ALMANAC_BENCH_KEEP").map(std::path::PathBuf::from);
    let temp = tempfile::tempdir().expect("temp dir");
    let dir = match &kept {
        Some(path) => {
            std::fs::create_dir_all(path).expect("keep folder");
            path.as_path()
        }
        None => temp.path(),
    };
    let events = data::events(EVENTS, 1);
    let large = data::events(LARGE, 10);
    let step = |name: &str, r: &mut Report, f: &mut dyn FnMut(&mut Report)| {
        if s.wants(name) {
            let t = Instant::now();
            f(r);
            r.print(name);
            println!("  ({name} took {:.0} s)\n", t.elapsed().as_secs_f64());
        }
    };
    step("W1", r, &mut |r| each_system!(s, w1(s, r, dir, &events)));
    step("W2", r, &mut |r| each_system!(s, w2(s, r, dir, &events)));
    step("W3", r, &mut |r| each_system!(s, w3(s, r, dir, &events)));
    step("W4", r, &mut |r| each_system!(s, w4(s, r, dir, &events)));
    step("W5", r, &mut |r| each_system!(s, w5(s, r, dir, &events)));
    step("W7", r, &mut |r| each_system!(s, w7(s, r, dir, &events)));
    // W4 (100,000 events), W6 and W8 share one large calendar per system: building it is the
    // slowest step of the run for some systems.
    if s.wants("W4") || s.wants("W6") || s.wants("W8") {
        let t = Instant::now();
        each_system!(s, large_calendar(s, r, dir, &large));
        for name in ["W4", "W6", "W8"].into_iter().filter(|w| s.wants(w)) {
            r.print(name);
        }
        println!("  (W4 large, W6, W8 took {:.0} s)\n", t.elapsed().as_secs_f64());
    }
}

/// `100000` as "100,000", as the figures' names write counts.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn micros(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e6
}

fn millis(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

fn deflate(bytes: &[u8]) -> usize {
    miniz_oxide::deflate::compress_to_vec(bytes, 6).len()
}

/// Every file of a compacted calendar, concatenated (what compressing the folder would see).
fn file_contents(path: &Path) -> Vec<u8> {
    let mut all = std::fs::read(path).expect("read");
    for suffix in ["-wal", "-shm"] {
        if let Ok(more) = std::fs::read(format!("{}{suffix}", path.display())) {
            all.extend(more);
        }
    }
    all
}

/// A calendar of `events` created in one commit (untimed setup), persisted as apps do.
fn calendar<C: Calendar>(dir: &Path, name: &str, events: &[Event]) -> C {
    let mut c = C::create(dir, name, 1, Persist::Written);
    for chunk in events.chunks(10_000) {
        c.add_events(chunk);
    }
    c
}

/// W1: create the calendar one commit per event (fsync per commit, and written per commit),
/// and as one batch; the sizes of the result.
fn w1<C: Calendar>(s: &Settings, r: &mut Report, dir: &Path, events: &[Event]) {
    let (mut synced, mut synced_p99, mut written, mut written_p99, mut batch) =
        (vec![], vec![], vec![], vec![], vec![]);
    for run in 0..s.runs {
        let mut c = C::create(dir, &format!("w1-synced-{}-{run}", C::NAME), 1, Persist::Synced);
        let lat: Vec<f64> = events[..s.synced_events]
            .iter()
            .map(|e| {
                let t = Instant::now();
                c.add_events(std::slice::from_ref(e));
                micros(t)
            })
            .collect();
        synced.push(median(&lat));
        synced_p99.push(percentile(&lat, 0.99));
        drop(c);

        let mut c = C::create(dir, &format!("w1-written-{}-{run}", C::NAME), 1, Persist::Written);
        let lat: Vec<f64> = events
            .iter()
            .map(|e| {
                let t = Instant::now();
                c.add_events(std::slice::from_ref(e));
                micros(t)
            })
            .collect();
        written.push(median(&lat));
        written_p99.push(percentile(&lat, 0.99));
        if run == 0 {
            sizes::<C>(r, &mut c, dir, events);
        }
        drop(c);

        let mut c = C::create(dir, &format!("w1-batch-{}-{run}", C::NAME), 1, Persist::Synced);
        let t = Instant::now();
        c.add_events(events);
        batch.push(micros(t) / events.len() as f64);
    }
    let n = C::NAME;
    let first = thousands(s.synced_events);
    r.add(
        "W1",
        n,
        &format!("commit per event, fsync each (first {first} events), median"),
        "µs",
        synced,
    );
    r.add(
        "W1",
        n,
        &format!("commit per event, fsync each (first {first} events), p99"),
        "µs",
        synced_p99,
    );
    r.add("W1", n, "commit per event, written (no fsync), median", "µs", written);
    r.add("W1", n, "commit per event, written (no fsync), p99", "µs", written_p99);
    r.add("W1", n, "one batch of 10,000 events, fsync once, per event", "µs", batch);
}

/// Sizes of the 10,000-event calendar created one commit per event.
fn sizes<C: Calendar>(r: &mut Report, c: &mut C, dir: &Path, events: &[Event]) {
    let n = C::NAME;
    let per_event = |bytes: f64| bytes / events.len() as f64;
    r.add(
        "W1",
        n,
        "on disk before compaction, per event",
        "B",
        vec![per_event(c.disk_bytes() as f64)],
    );
    let path = c.compact();
    let on_disk = c.disk_bytes() as f64;
    r.add(
        "W1",
        n,
        "on disk after compaction (Almanac: compact(), index included), per event",
        "B",
        vec![per_event(on_disk)],
    );
    let compressed = deflate(&file_contents(&path)) as f64;
    r.add(
        "W1",
        n,
        "on disk after compaction, deflated, per event",
        "B",
        vec![per_event(compressed)],
    );
    if let Some(bytes) = C::size_without_index(dir, events) {
        r.add(
            "W1",
            n,
            "on disk without the occurrence index, per event",
            "B",
            vec![per_event(bytes as f64)],
        );
    }
    let full = c.full_state();
    r.add("W1", n, "full state a joining device needs, raw", "KB", vec![full.len() as f64 / 1e3]);
    r.add(
        "W1",
        n,
        "full state a joining device needs, deflated",
        "KB",
        vec![deflate(&full) as f64 / 1e3],
    );
}

/// W2: 100,000 one-field overwrites on random events, one commit each; growth of the store.
/// One pass (100,000 edits is the repetition; 20,000 in quick mode): the median and p99 are over
/// the edits.
fn w2<C: Calendar>(s: &Settings, r: &mut Report, dir: &Path, events: &[Event]) {
    let mut c: C = calendar(dir, &format!("w2-{}", C::NAME), events);
    c.compact();
    let before = c.disk_bytes() as f64;
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let fields = ["title", "location", "notes"];
    let overwrites = s.overwrites;
    let mut latencies = Vec::with_capacity(overwrites);
    let t = Instant::now();
    for n in 0..overwrites {
        // xorshift: the same random sequence for every system.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let id = &events[(seed % events.len() as u64) as usize].id;
        let edit = Instant::now();
        c.set_field(id, fields[n % 3], &format!("value {n}"));
        latencies.push(micros(edit));
    }
    let mean = micros(t) / overwrites as f64;
    let growth_log = (c.disk_bytes() as f64 - before) / overwrites as f64;
    c.compact();
    let growth_compact = (c.disk_bytes() as f64 - before) / overwrites as f64;
    let count = thousands(overwrites);
    let n = C::NAME;
    let (median_edit, p99) = (median(&latencies), percentile(&latencies, 0.99));
    r.add(
        "W2",
        n,
        &format!("overwrite, one commit each (written), median of {count} edits"),
        "µs",
        vec![median_edit],
    );
    r.add("W2", n, &format!("overwrite, p99 of {count}"), "µs", vec![p99]);
    r.add("W2", n, &format!("overwrite, mean (total time / {count})"), "µs", vec![mean]);
    r.add(
        "W2",
        n,
        &format!(
            "growth per overwrite before compaction, {count} overwrites (Almanac: file + WAL)"
        ),
        "B",
        vec![growth_log],
    );
    let label = format!("growth per overwrite after compaction, {count} overwrites");
    r.add("W2", n, &label, "B", vec![growth_compact]);
}

/// W3: a fresh process opens the compacted 10,000-event calendar and answers a month view.
fn w3<C: Calendar>(s: &Settings, r: &mut Report, dir: &Path, events: &[Event]) {
    let mut c: C = calendar(dir, &format!("w3-{}", C::NAME), events);
    let path = c.compact();
    drop(c);
    let (mut first, mut rss) = (vec![], vec![]);
    for _ in 0..s.runs.max(3) {
        let (ms, mb) = spawn("w3", C::NAME, &path);
        first.push(ms);
        rss.push(mb);
    }
    r.add("W3", C::NAME, "cold start to first month view (10,000 events)", "ms", first);
    r.add("W3", C::NAME, "cold start, peak RSS", "MB", rss);
}

/// W4: warm month and week views on an open 10,000-event calendar.
fn w4<C: Calendar>(s: &Settings, r: &mut Report, dir: &Path, events: &[Event]) {
    let mut c: C = calendar(dir, &format!("w4-{}", C::NAME), events);
    c.compact();
    views(s, r, &mut c, "10,000");
}

/// The warm month and week views of W4 on an open calendar (the first query untimed).
fn views<C: Calendar>(s: &Settings, r: &mut Report, c: &mut C, label: &str) {
    for (what, (from, to)) in [("month", data::month(2026, 6)), ("week", data::week(2026, 6))] {
        let count = c.occurrences(from, to);
        // A scan of 100,000 events takes seconds for some peers: repeat until the runs are
        // done or 5 s are spent, but at least `min_query_runs` times.
        let started = Instant::now();
        let mut times = Vec::new();
        while times.len() < s.min_query_runs
            || (times.len() < s.query_runs && started.elapsed().as_secs() < 5)
        {
            let t = Instant::now();
            c.occurrences(from, to);
            times.push(millis(t));
        }
        r.add("W4", C::NAME, &format!("warm {what} view, {label} events"), "ms", times);
        r.add(
            "W4",
            C::NAME,
            &format!("check: occurrences in the {what}, {label} events"),
            "count",
            vec![count as f64],
        );
    }
}

/// W4 on 100,000 events, W6 and W8, on one large calendar.
fn large_calendar<C: Calendar>(s: &Settings, r: &mut Report, dir: &Path, large: &[Event]) {
    let mut a: C = calendar(dir, &format!("large-{}", C::NAME), large);
    let path = a.compact();
    if s.wants("W4") {
        views(s, r, &mut a, "100,000");
    }
    if s.wants("W8") {
        w8::<C>(s, r, &path);
    }
    if s.wants("W6") {
        w6(s, r, dir, &mut a, large);
    }
}

/// The round-trip rows' name: how long an exchange waits on the network, which the spec asks
/// of W5 and W6 (a side that sends without waiting for the other saves a half trip, and a
/// message more).
const ROUND_TRIPS: &str =
    "round trips (half the longest chain of messages each sent after the one before arrived)";

/// W5: two replicas of the 10,000-event calendar make 5,000 edits each offline (10% on the
/// same fields of the same events), then sync.
fn w5<C: Calendar>(s: &Settings, r: &mut Report, dir: &Path, events: &[Event]) {
    let (mut merge, mut ab, mut ba, mut messages, mut trips) =
        (vec![], vec![], vec![], vec![], vec![]);
    for run in 0..s.runs {
        let mut a: C = calendar(dir, &format!("w5-a-{}-{run}", C::NAME), events);
        let mut b = a.replicate(dir, &format!("w5-b-{}-{run}", C::NAME), 2, Persist::Written);
        C::sync(&mut a, &mut b);
        for n in 0..CATCH_UP_EDITS {
            let shared = n % 10 == 0;
            let i = if shared { n } else { (n * 2 + 1) % events.len() };
            a.set_field(&events[i].id, "title", &format!("A {n}"));
            let j = if shared { n } else { (n * 2 + 2) % events.len() };
            b.set_field(
                &events[j].id,
                if shared { "title" } else { "location" },
                &format!("B {n}"),
            );
        }
        let t = Instant::now();
        let stats = C::sync(&mut a, &mut b);
        merge.push(millis(t));
        ab.push(stats.a_to_b as f64 / 1e3);
        ba.push(stats.b_to_a as f64 / 1e3);
        messages.push(stats.messages as f64);
        trips.push(stats.round_trips());
        assert!(a.contents() == b.contents(), "W5 {}: replicas differ after syncing", C::NAME);
    }
    let n = C::NAME;
    r.add(
        "W5",
        n,
        "merge of 5,000 + 5,000 edits (sync both ways, applied, persisted)",
        "ms",
        merge,
    );
    r.add("W5", n, "bytes A→B", "KB", ab);
    r.add("W5", n, "bytes B→A", "KB", ba);
    r.add("W5", n, "messages (both ways; replicas equal afterwards)", "count", messages);
    r.add("W5", n, ROUND_TRIPS, "count", trips);
}

/// W6: one field changes on a 100,000-event calendar that the other replica holds.
fn w6<C: Calendar>(s: &Settings, r: &mut Report, dir: &Path, a: &mut C, large: &[Event]) {
    let mut b = a.replicate(dir, &format!("w6-b-{}", C::NAME), 2, Persist::Written);
    C::sync(a, &mut b);
    C::sync(a, &mut b);
    let (mut bytes, mut messages, mut times, mut trips) = (vec![], vec![], vec![], vec![]);
    for n in 0..s.runs.max(3) {
        a.set_field(&large[42_424].id, "title", &format!("Moved {n}"));
        let t = Instant::now();
        let stats = C::sync(a, &mut b);
        times.push(millis(t));
        bytes.push((stats.a_to_b + stats.b_to_a) as f64);
        messages.push(stats.messages as f64);
        trips.push(stats.round_trips());
    }
    let n = C::NAME;
    r.add("W6", n, "one field changed, 100,000 events: bytes on the wire (both ways)", "B", bytes);
    r.add("W6", n, "one field changed, 100,000 events: messages", "count", messages);
    r.add("W6", n, &format!("one field changed, 100,000 events: {ROUND_TRIPS}"), "count", trips);
    r.add("W6", n, "one field changed, 100,000 events: sync time", "ms", times);
}

/// W7: 1,000 devices edit the calendar once each, then a new device joins and syncs; and one
/// more field change synced afterwards (W6 with 1,001 writers).
fn w7<C: Calendar>(s: &Settings, r: &mut Report, dir: &Path, events: &[Event]) {
    let mut a = C::create(dir, &format!("w7-a-{}", C::NAME), 1, Persist::Written);
    // The writers edit the first 100 events; they need only those (a Yrs or Automerge writer
    // must hold an event's history to edit it), so the rest is added after them.
    a.add_events(&events[..100]);
    a.foreign_writers(WRITERS);
    a.add_events(&events[100..]);
    let (mut join, mut wire) = (vec![], vec![]);
    let mut joined = None;
    for run in 0..s.runs {
        let mut b =
            C::create(dir, &format!("w7-b-{}-{run}", C::NAME), 10 + run as u64, Persist::Written);
        let t = Instant::now();
        let stats = C::sync(&mut a, &mut b);
        join.push(millis(t));
        wire.push((stats.a_to_b + stats.b_to_a) as f64 / 1e3);
        joined = Some(b);
    }
    let version = a.version_bytes() as f64;
    let n = C::NAME;
    r.add("W7", n, "1,000 writers, then a new device joins (10,000 events): join time", "ms", join);
    r.add("W7", n, "join: bytes on the wire, as each protocol sends them", "KB", wire);
    r.add("W7", n, "version metadata a replica sends (Automerge: heads)", "B", vec![version]);
    let Some(mut b) = joined else { return };
    let (mut bytes, mut messages, mut trips) = (vec![], vec![], vec![]);
    for n in 0..s.runs.max(3) {
        a.set_field(&events[4_242].id, "title", &format!("Moved {n}"));
        let stats = C::sync(&mut a, &mut b);
        bytes.push((stats.a_to_b + stats.b_to_a) as f64);
        messages.push(stats.messages as f64);
        trips.push(stats.round_trips());
    }
    r.add("W7", n, "then one field changed (W6 with 1,001 writers): bytes on the wire", "B", bytes);
    r.add("W7", n, "then one field changed: messages", "count", messages);
    r.add("W7", n, &format!("then one field changed: {ROUND_TRIPS}"), "count", trips);
}

/// W8: a fresh process opens the 100,000-event calendar and scrolls through twelve month views.
fn w8<C: Calendar>(s: &Settings, r: &mut Report, path: &Path) {
    let (mut rss, mut time) = (vec![], vec![]);
    for _ in 0..s.runs {
        let (ms, mb) = spawn("w8", C::NAME, path);
        time.push(ms);
        rss.push(mb);
    }
    r.add(
        "W8",
        C::NAME,
        "100,000 events, open + 12 month views in a fresh process: peak RSS",
        "MB",
        rss,
    );
    r.add("W8", C::NAME, "open + 12 month views: time", "ms", time);
}

/// Runs this binary as `child <workload> <system> <path>`; (ms to answer, peak RSS in MB).
fn spawn(workload: &str, system: &str, path: &Path) -> (f64, f64) {
    let exe = std::env::current_exe().expect("exe");
    let out = Command::new(exe)
        .args(["child", workload, system, &path.to_string_lossy()])
        .output()
        .expect("child");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut parts = text.split_whitespace().map(|p| p.parse::<f64>().unwrap_or(f64::NAN));
    match (parts.next(), parts.next()) {
        (Some(ms), Some(mb)) if out.status.success() => (ms, mb),
        _ => panic!("child {workload} {system} failed: {}", String::from_utf8_lossy(&out.stderr)),
    }
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(f64::NAN);
    kb / 1024.0
}

/// The child side of W3 and W8: prints "<ms> <peak RSS MB>".
pub fn child(workload: &str, system: &str, path: &str) {
    match system {
        "almanac" => child_run::<Almanac>(workload, Path::new(path)),
        "automerge" => child_run::<Automerge>(workload, Path::new(path)),
        "yrs" => child_run::<Yrs>(workload, Path::new(path)),
        "loro" => child_run::<Loro>(workload, Path::new(path)),
        other => panic!("unknown system {other}"),
    }
}

fn child_run<C: Calendar>(workload: &str, path: &Path) {
    let t = Instant::now();
    let mut c = C::open(path);
    let months: Vec<i8> = if workload == "w3" { vec![3] } else { (1..=12).collect() };
    let mut n = 0;
    for m in months {
        let (from, to) = data::month(2026, m);
        n += c.occurrences(from, to);
    }
    assert!(n > 0, "no occurrences");
    println!("{} {}", millis(t), peak_rss_mb());
}
