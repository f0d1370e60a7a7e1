//! `make bench`: the first benchmark of the store layer (see `docs/benchmarks.md`).
//!
//! Figures: single-event durable commit latency (median, p99) in both durability modes, batched
//! commit throughput, store size, `delta_since` + `apply` for 10,000 records, overwrite cost and
//! growth (W2). What sync puts on the wire (W5–W7) is measured through the protocol in
//! `benches/sync.rs`.
//! Each throughput figure is the median of several runs. The peer comparison (automerge, yrs,
//! loro) comes with its own benchmark crate, outside the default workspace.

// A benchmark aborts loudly on any failure; that is what expect is for here.
#![allow(clippy::expect_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use almanac_core::{Durability, Store, StoreOptions, Transaction, Value};

const RUNS: usize = 3;

/// The space every benchmark writes in.
const SPACE: &str = "bench";

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    println!("almanac-core store benchmark ({} runs per throughput figure, median shown)\n", RUNS);
    single_commits(dir.path(), Durability::ProcessCrash, "synchronous=NORMAL (default)");
    single_commits(dir.path(), Durability::PowerLoss, "synchronous=FULL");
    batched_commits(dir.path());
    delta_exchange(dir.path());
    overwrites(dir.path());
}

/// About ten fields per event, 10% of them weekly series, as the peer workloads use.
fn add_event(tx: &mut Transaction<'_>, i: usize) {
    let id = format!("event-{i:06}");
    let day = i % 365;
    let timing = Value::structured(&(
        format!("2026-{:02}-{:02}T09:00", day / 31 + 1, day % 28 + 1),
        "Europe/Paris",
        3_600u32,
    ))
    .expect("timing");
    tx.set("events", &id, "title", format!("Meeting {i}"))
        .set("events", &id, "location", "Room 4")
        .set("events", &id, "notes", "Bring the quarterly numbers and the roadmap.")
        .set("events", &id, "timing", timing)
        .set("events", &id, "status", "confirmed")
        .set("events", &id, "availability", "busy")
        .set("events", &id, "color", 3i64)
        .set("events", &id, "calendar", "work")
        .set("events", &id, "organizer", "mailto:me@example.com");
    if i % 10 == 0 {
        tx.set("events", &id, "rule", "FREQ=WEEKLY;BYDAY=MO");
    }
}

fn open(path: &Path, durability: Durability) -> Store {
    let _ = std::fs::remove_file(path);
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    Store::open_with(path, StoreOptions { durability, ..StoreOptions::default() }).expect("open")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn single_commits(dir: &Path, durability: Durability, label: &str) {
    let events = 2_000;
    let store = open(&dir.join("single.almanac"), durability);
    let mut latencies = Vec::with_capacity(events);
    for i in 0..events {
        let mut tx = store.transaction(SPACE);
        add_event(&mut tx, i);
        let start = Instant::now();
        tx.commit().expect("commit");
        latencies.push(start.elapsed());
    }
    latencies.sort();
    println!(
        "single-event durable commit, {label}: median {:.0} µs, p99 {:.0} µs ({events} events)",
        micros(percentile(&latencies, 0.5)),
        micros(percentile(&latencies, 0.99))
    );
}

fn batched_commits(dir: &Path) {
    for batch in [100, 10_000] {
        let events = 10_000;
        let mut per_event = Vec::new();
        let mut bytes = 0;
        for _ in 0..RUNS {
            let path = dir.join("batched.almanac");
            let store = open(&path, Durability::ProcessCrash);
            let start = Instant::now();
            for chunk in (0..events).collect::<Vec<_>>().chunks(batch) {
                let mut tx = store.transaction(SPACE);
                for &i in chunk {
                    add_event(&mut tx, i);
                }
                tx.commit().expect("commit");
            }
            per_event.push(micros(start.elapsed()) / events as f64);
            store.checkpoint().expect("checkpoint");
            bytes = std::fs::metadata(&path).expect("size").len();
        }
        println!(
            "batched commits of {batch} events: {:.1} µs per event; store of {events} events: {:.1} MB on disk",
            median(per_event),
            bytes as f64 / 1e6
        );
    }
}

fn delta_exchange(dir: &Path) {
    let source = open(&dir.join("source.almanac"), Durability::ProcessCrash);
    let mut tx = source.transaction(SPACE);
    for i in 0..10_000 {
        add_event(&mut tx, i);
    }
    tx.commit().expect("populate");
    let (mut compute, mut apply, mut size) = (Vec::new(), Vec::new(), 0);
    for _ in 0..RUNS {
        let target = open(&dir.join("target.almanac"), Durability::ProcessCrash);
        target.join_space(SPACE).expect("join");
        let start = Instant::now();
        let delta =
            source.delta_since(SPACE, &target.version_vector(SPACE).expect("vv")).expect("delta");
        let bytes = delta.encode().expect("encode");
        compute.push(start.elapsed().as_secs_f64() * 1e3);
        size = bytes.len();
        let start = Instant::now();
        target.apply(&almanac_core::Delta::decode(&bytes).expect("decode")).expect("apply");
        apply.push(start.elapsed().as_secs_f64() * 1e3);
    }
    println!(
        "delta_since + encode for 10,000 records: {:.1} ms ({:.1} MB); decode + apply: {:.1} ms",
        median(compute),
        size as f64 / 1e6,
        median(apply)
    );
}

fn overwrites(dir: &Path) {
    let path = dir.join("overwrites.almanac");
    let store = open(&path, Durability::ProcessCrash);
    let mut tx = store.transaction(SPACE);
    for i in 0..10_000 {
        add_event(&mut tx, i);
    }
    tx.commit().expect("populate");
    store.checkpoint().expect("checkpoint");
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    // Two rounds: the first also grows each record by the new transaction's stamp and lets
    // SQLite's pages settle; the second shows whether size keeps growing with edit count.
    for round in 1..=2 {
        store.checkpoint().expect("checkpoint");
        let before = std::fs::metadata(&path).expect("size").len();
        let edits = 100_000;
        let start = Instant::now();
        for n in 0..edits {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let id = format!("event-{:06}", seed % 10_000);
            store
                .transaction(SPACE)
                .set("events", &id, "title", format!("Edit {n}"))
                .commit()
                .expect("edit");
        }
        let elapsed = start.elapsed();
        store.checkpoint().expect("checkpoint");
        let after = std::fs::metadata(&path).expect("size").len();
        println!(
            "W2 round {round}: {edits} single-field overwrites on 10,000 events: {:.1} µs per edit; store {} → {} bytes ({:+.3} bytes per overwrite)",
            micros(elapsed) / edits as f64,
            before,
            after,
            (after as f64 - before as f64) / edits as f64
        );
    }
}
