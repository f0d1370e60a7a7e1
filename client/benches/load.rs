//! `make bench`, server part: W10 of `docs/benchmarks.md`. The real `almanac-server` on
//! loopback and many devices, each its own store with a live client, in this process: every
//! device makes a few edits, and each edit is timed until every other device of its calendar
//! has it (the store's change notification, so no polling). Reports edits per second, p50/p99
//! delivery delay, errors, lost edits, and the server's memory per idle connection.
//!
//! It runs on the SQLite backend and, when `ALMANAC_TEST_POSTGRES` names a PostgreSQL server
//! (`scripts/postgres.sh start` prints it), again on PostgreSQL.
//!
//! Bounded: it gives up waiting after `ALMANAC_W10_TIMEOUT_SECS` (default 300 s) and counts
//! what had not arrived as lost. `ALMANAC_W10_DEVICES` (default 1,000) and
//! `ALMANAC_W10_EDITS` (default 10) make it smaller; the devices are in calendars of 10.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic, missing_docs)]

#[path = "../tests/integration/server.rs"]
mod server;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use almanac_client::{Client, ClientConfig, ConnectionState, GarbageCollection, LiveHandle};
use almanac_core::{Origin, SpaceId, Store, StoreOptions, Subscription};
use tokio::sync::Notify;

/// Devices per calendar (and per user: within the server's 16 connections per user).
const PER_CALENDAR: usize = 10;

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// When each edit was committed, and when each other device of its calendar got it.
#[derive(Default)]
struct Ledger {
    committed: HashMap<String, Instant>,
    /// Edit → devices that have it (besides its author), and when the last one got it.
    arrived: HashMap<String, (usize, Option<Instant>)>,
    early: HashMap<String, Vec<Instant>>,
}

struct Device {
    _store: Arc<Store>,
    handle: LiveHandle,
    _subscription: Subscription,
}

fn main() {
    let mut failed = !run(&server::Backend::Sqlite, "SQLite");
    match std::env::var(server::POSTGRES_VAR) {
        Ok(url) if !url.is_empty() => {
            failed |= !run(&server::Backend::Postgres(url), "PostgreSQL");
        }
        _ => println!(
            "\nW10 on PostgreSQL skipped: {} is not set (export \"$(scripts/postgres.sh start)\")",
            server::POSTGRES_VAR
        ),
    }
    if failed {
        std::process::exit(1);
    }
}

/// One W10 run on `backend`; whether no edit was lost and no device failed.
fn run(backend: &server::Backend, name: &str) -> bool {
    let devices = setting("ALMANAC_W10_DEVICES", 1_000).max(PER_CALENDAR);
    let edits = setting("ALMANAC_W10_EDITS", 10).max(1);
    let timeout = Duration::from_secs(setting("ALMANAC_W10_TIMEOUT_SECS", 300) as u64);
    let calendars = devices / PER_CALENDAR;
    let devices = calendars * PER_CALENDAR;
    check_file_limit(devices);

    let server = server::TestServer::start_on(backend, &["--max-frames-per-second", "1000"]);
    let pid = server.pid().expect("server pid");
    let dir = tempfile::tempdir().expect("dir");
    let tokens: Vec<String> = (0..calendars).map(|c| server.user(&format!("user{c}"))).collect();

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("rt");
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let done = Arc::new(Notify::new());
    let expected_deliveries = PER_CALENDAR - 1;
    let total_edits = devices * edits;

    // Each calendar's first device creates its space on the server; the others join it.
    let rss_before = rss_kib(pid);
    let connect_start = Instant::now();
    let mut all = Vec::with_capacity(devices);
    runtime.block_on(async {
        for d in 0..devices {
            let calendar = format!("cal{:04}", d / PER_CALENDAR);
            let path = dir.path().join(format!("device{d:05}.almanac"));
            let store =
                Arc::new(Store::open_with(&path, StoreOptions::engine_only()).expect("open"));
            let mut config = ClientConfig::new(&server.url, &tokens[d / PER_CALENDAR]);
            config.garbage_collection = GarbageCollection::Off;
            config.debounce = Duration::from_millis(5);
            if d % PER_CALENDAR == 0 {
                store.join_space(&calendar).expect("join");
            } else {
                config.spaces_to_join = vec![SpaceId::new(&calendar).expect("space")];
            }
            let client = Client::new(Arc::clone(&store), config).expect("client");
            if d % PER_CALENDAR == 0 {
                client.sync_once().await.expect("create the calendar's space");
            }
            let subscription = {
                let (ledger, done) = (Arc::clone(&ledger), Arc::clone(&done));
                store.subscribe(move |event| {
                    if event.origin != Origin::Remote {
                        return;
                    }
                    let now = Instant::now();
                    let mut ledger = ledger.lock().unwrap();
                    for key in &event.records {
                        let edit = key.id.clone();
                        if !ledger.committed.contains_key(&edit) {
                            // Arrived before its author's commit time was written down: the
                            // author's thread is a few instructions behind.
                            ledger.early.entry(edit).or_default().push(now);
                            continue;
                        }
                        let entry = ledger.arrived.entry(edit).or_insert((0, None));
                        entry.0 += 1;
                        if entry.0 == expected_deliveries {
                            entry.1 = Some(now);
                        }
                    }
                    let complete =
                        ledger.arrived.values().filter(|(n, _)| *n >= expected_deliveries).count();
                    if complete == total_edits {
                        done.notify_one();
                    }
                })
            };
            let handle = client.start().expect("live");
            all.push(Device { _store: store, handle, _subscription: subscription });
        }
        // Every device connected and up to date before the edits start.
        for device in &all {
            let mut status = device.handle.status();
            tokio::time::timeout(
                timeout,
                status.wait_for(|s| s.state == ConnectionState::UpToDate),
            )
            .await
            .expect("devices connect in time")
            .expect("status");
        }
    });
    let connected_in = connect_start.elapsed();
    // Idle: let the server settle, then weigh it.
    std::thread::sleep(Duration::from_secs(2));
    let rss_idle = rss_kib(pid);
    let per_connection = (rss_idle.saturating_sub(rss_before)) as f64 * 1024.0 / devices as f64;

    // The edits: every device writes `edits` records of its own, one transaction each, all
    // devices at once (one thread per calendar).
    let start = Instant::now();
    std::thread::scope(|scope| {
        for calendar in 0..calendars {
            let (all, ledger) = (&all, &ledger);
            scope.spawn(move || {
                for n in 0..edits {
                    for member in 0..PER_CALENDAR {
                        let d = calendar * PER_CALENDAR + member;
                        let edit = format!("d{d:05}-e{n:02}");
                        let store = &all[d]._store;
                        store
                            .transaction(&format!("cal{calendar:04}"))
                            .set("events", &edit, "title", format!("edit {n} of device {d}"))
                            .commit()
                            .expect("commit");
                        let now = Instant::now();
                        let mut ledger = ledger.lock().unwrap();
                        let early = ledger.early.remove(&edit).unwrap_or_default();
                        ledger.committed.insert(edit.clone(), now);
                        let entry = ledger.arrived.entry(edit).or_insert((0, None));
                        entry.0 += early.len();
                        if entry.0 >= expected_deliveries {
                            entry.1 = Some(now);
                        }
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
            });
        }
    });
    let finished =
        runtime.block_on(async { tokio::time::timeout(timeout, done.notified()).await.is_ok() });
    let elapsed = start.elapsed();

    let ledger = ledger.lock().unwrap();
    let mut delays: Vec<f64> = ledger
        .arrived
        .iter()
        .filter_map(|(edit, (_, last))| {
            let last = (*last)?;
            Some(last.saturating_duration_since(ledger.committed[edit]).as_secs_f64() * 1000.0)
        })
        .collect();
    delays.sort_by(f64::total_cmp);
    let delivered = delays.len();
    let lost = total_edits - delivered;
    let errors: usize =
        all.iter().filter(|device| device.handle.status().borrow().last_error.is_some()).count();
    let percentile = |p: f64| {
        delays
            .get(((delays.len() as f64 * p) as usize).min(delays.len().saturating_sub(1)))
            .copied()
            .unwrap_or(f64::NAN)
    };
    println!("almanac W10 load benchmark ({name} backend)\n");
    println!(
        "W10 {devices} devices in {calendars} calendars of {PER_CALENDAR}, {edits} edits each: {:.0} edits/s; delivery to every other device p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms; {errors} devices with errors, {lost} edits lost{}",
        delivered as f64 / elapsed.as_secs_f64(),
        percentile(0.5),
        percentile(0.99),
        delays.last().copied().unwrap_or(f64::NAN),
        if finished { "" } else { " (gave up waiting)" },
    );
    println!(
        "W10 {devices} idle connections: server memory {:.1} KiB per connection ({} KiB → {} KiB); all connected and up to date in {:.1} s",
        per_connection / 1024.0,
        rss_before,
        rss_idle,
        connected_in.as_secs_f64()
    );
    runtime.block_on(async {
        for device in all {
            device.handle.stop().await;
        }
    });
    lost == 0 && errors == 0
}

/// The resident memory of process `pid`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .unwrap_or(0)
}

/// Each device holds a few SQLite files and a socket, and so does the server's side: more
/// than the usual 1,024 descriptors. `make bench` raises the limit (`ulimit -n`) first.
fn check_file_limit(devices: usize) {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let open_files = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .and_then(|line| line.split_whitespace().nth(3))
        .and_then(|soft| soft.parse::<usize>().ok());
    let wanted = devices * 12 + 256;
    if let Some(soft) = open_files.filter(|soft| *soft < wanted) {
        eprintln!(
            "W10 needs about {wanted} open files for {devices} devices but the limit is {soft}: \
             run `ulimit -n {wanted}` first (make bench does)"
        );
        std::process::exit(2);
    }
}
