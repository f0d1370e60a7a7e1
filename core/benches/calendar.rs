//! `make bench`, calendar part: W3 (cold start to the first month view), W4 (warm month and week
//! views on 10,000 and 100,000 events), W8 (peak memory scrolling a year of month views on
//! 100,000 events) and the import of a 10,000-event iCalendar file. See `docs/benchmarks.md`.
//!
//! Data: events of about ten fields spread evenly over the years before 2027; 10% are weekly
//! series of one year (COUNT=52), the rest single events of one hour. Cold start and memory are
//! measured in a fresh child process (this binary re-run with `--child`), peak RSS from
//! `/proc/self/status` (VmHWM).

// A benchmark aborts loudly on any failure; that is what expect is for here.
#![allow(clippy::expect_used)]

#[path = "support/w4_events.rs"]
mod w4_events;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use almanac_core::Store;
use jiff::civil::{Date, date};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use w4_events::new_event;

const RUNS: usize = 5;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        child(&args[i + 1], &args[i + 2]);
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--profile") {
        let events = args.get(i + 2).map_or(100_000, |n| n.parse().expect("event count"));
        profile(Path::new(&args[i + 1]), events);
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    println!("almanac-core calendar benchmark (median of {RUNS} runs where repeated)\n");
    let small = dir.path().join("10k.almanac");
    let large = dir.path().join("100k.almanac");
    populate(&small, 10_000, 1);
    populate(&large, 100_000, 10);
    let cold = spawn(&small, "first-month");
    println!("W3 cold start, 10,000 events: process start to first month view {cold}");
    warm(&small, "10,000");
    warm(&large, "100,000");
    let memory = spawn(&large, "scroll-year");
    println!("W8 100,000 events, 12 month views scrolled in a fresh process: {memory}");
    import(dir.path());
}

/// Creates `count` events spread over `years` years ending 2026-12-31.
fn populate(path: &Path, count: usize, years: i16) {
    let store = Store::open(path).expect("open");
    let start = date(2027 - years, 1, 1);
    let days = i64::from(years) * 365;
    let started = Instant::now();
    for chunk in (0..count).collect::<Vec<_>>().chunks(1_000) {
        // Each calendar is its own space, and a transaction stays in one space.
        let (mut home, mut work) = (Vec::new(), Vec::new());
        for &i in chunk {
            let operations = event_operations(&store, i, start, days);
            if i % 3 == 0 { home.extend(operations) } else { work.extend(operations) }
        }
        store.commit("home", &home).expect("commit");
        store.commit("work", &work).expect("commit");
    }
    println!("  (populated {count} events in {:.1} s)", started.elapsed().as_secs_f64());
}

fn event_operations(
    _store: &Store,
    i: usize,
    start: Date,
    days: i64,
) -> Vec<almanac_core::Operation> {
    almanac_core::calendar::api::operations_for(&new_event(i, start, days)).expect("operations")
}

fn month(year: i16, m: i8) -> (Timestamp, Timestamp) {
    let from = date(year, m, 1).to_zoned_datetime(TimeZone::UTC).expect("from").timestamp();
    let to = date(year, m, 1)
        .checked_add(1.month())
        .expect("next")
        .to_zoned_datetime(TimeZone::UTC)
        .expect("to")
        .timestamp();
    (from, to)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn warm(path: &Path, label: &str) {
    let store = Store::open(path).expect("open");
    let (from, to) = month(2026, 6);
    let week_to = from.checked_add(jiff::SignedDuration::from_hours(24 * 7)).expect("week");
    // First query materialises the month in the index; the figures are for the warm store.
    let count = store.occurrences(from, to, &[], &TimeZone::UTC).expect("month").len();
    let time = |to: Timestamp| {
        median(
            (0..RUNS)
                .map(|_| {
                    let t = Instant::now();
                    store.occurrences(from, to, &[], &TimeZone::UTC).expect("query");
                    t.elapsed().as_secs_f64() * 1e3
                })
                .collect(),
        )
    };
    let week_count = store.occurrences(from, week_to, &[], &TimeZone::UTC).expect("week").len();
    println!(
        "W4 warm, {label} events: month view {:.2} ms ({count} occurrences), week view {:.2} ms ({week_count} occurrences)",
        time(to),
        time(week_to)
    );
}

fn spawn(path: &Path, what: &str) -> String {
    let exe = std::env::current_exe().expect("exe");
    let out =
        Command::new(exe).args(["--child", what, &path.to_string_lossy()]).output().expect("child");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

fn child(what: &str, path: &str) {
    let started = Instant::now();
    let store = Store::open(path).expect("open");
    match what {
        "first-month" => {
            let (from, to) = month(2026, 3);
            let n = store.occurrences(from, to, &[], &TimeZone::UTC).expect("month").len();
            println!(
                "{:.1} ms ({n} occurrences, month not yet indexed), peak RSS {:.1} MB",
                started.elapsed().as_secs_f64() * 1e3,
                peak_rss_mb()
            );
        }
        _ => {
            let mut n = 0;
            for m in 1..=12 {
                let (from, to) = month(2026, m);
                n += store.occurrences(from, to, &[], &TimeZone::UTC).expect("month").len();
            }
            println!(
                "peak RSS {:.1} MB ({n} occurrences in {:.0} ms)",
                peak_rss_mb(),
                started.elapsed().as_secs_f64() * 1e3
            );
        }
    }
}

/// `--profile <store> [events]`: fills `<store>` with the calendar of `events` events (100,000
/// unless given; over ten years, or one year for 10,000 or fewer) if it does not exist,
/// then runs the warm June month view five times inside `profile_month_view`, for callgrind:
/// `valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*profile_month_view*'
/// <bench binary> --profile /tmp/100k.almanac` (fill it first without valgrind; build with
/// `CARGO_PROFILE_BENCH_STRIP=none CARGO_PROFILE_BENCH_DEBUG=line-tables-only`, since the
/// release profile strips symbols).
fn profile(path: &Path, events: usize) {
    if !path.exists() {
        populate(path, events, if events > 10_000 { 10 } else { 1 });
        return;
    }
    let store = Store::open(path).expect("open");
    let (from, to) = month(2026, 6);
    store.occurrences(from, to, &[], &TimeZone::UTC).expect("warm up");
    let n = profile_month_view(&store, from, to);
    println!("{n} occurrences per month view");
}

#[inline(never)]
fn profile_month_view(store: &Store, from: Timestamp, to: Timestamp) -> usize {
    let mut n = 0;
    for _ in 0..5 {
        n = store.occurrences(from, to, &[], &TimeZone::UTC).expect("month").len();
    }
    n
}

fn import(dir: &Path) {
    let mut text = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\n");
    for i in 0..10_000 {
        let day = date(2026, 1, 1).checked_add((i % 365).days()).expect("day");
        text.push_str(&format!(
            "BEGIN:VEVENT\r\nUID:import-{i}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;TZID=Europe/Paris:{}T090000\r\nDTEND;TZID=Europe/Paris:{}T100000\r\n{}SUMMARY:Imported {i}\r\nLOCATION:Room {}\r\nDESCRIPTION:Line one\\nline two\r\nEND:VEVENT\r\n",
            day.strftime("%Y%m%d"), day.strftime("%Y%m%d"), if i % 10 == 0 { "RRULE:FREQ=WEEKLY;COUNT=20\r\n" } else { "" }, i % 20
        ));
    }
    text.push_str("END:VCALENDAR\r\n");
    let times: Vec<f64> = (0..3)
        .map(|run| {
            let store = Store::open(dir.join(format!("import-{run}.almanac"))).expect("open");
            let mut calls = 0;
            let t = Instant::now();
            let report = store.import_ics("work", &text, &mut |_| calls += 1).expect("import");
            assert_eq!(report.events, 10_000);
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    println!(
        "import of a 10,000-event .ics ({:.1} MB): {:.0} ms",
        text.len() as f64 / 1e6,
        median(times)
    );
}
