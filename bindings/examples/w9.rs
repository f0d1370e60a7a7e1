//! W9, the Rust side: builds the W4 store and times its month view in Rust, for
//! `scripts/bench-sdk.sh` to compare with the same view called from Swift and Kotlin.
//!
//! `w9 populate <store>` writes 10,000 events exactly as `core/benches/calendar.rs` does for W4
//! (about ten fields, Europe/Paris, 10 % weekly series of 52, in calendars "home" and "work",
//! committed 1,000 at a time), so the three languages read the same file.
//!
//! `w9 time <store> <runs>` prints three medians, one line each, in milliseconds:
//! `core <ms> <count>`: `Store::occurrences` with `TimeZone::UTC`, exactly the call W4 times;
//! `core-zone <ms> <count>`: the same with the viewer zone the bindings resolve for "UTC"
//! (`time_zone("UTC")`, the bundled database's zone, as every SDK call passes a zone id): the
//! same Rust call the SDK calls make, which the overhead is measured against;
//! `ffi <ms> <count>`: `AlmanacStore::occurrences`, that query through the bindings' surface
//! called from Rust (records built, no foreign call), which separates the cost of building the
//! FFI records from the cost of crossing into Swift or Kotlin.
//!
//! The window is W4's: June 2026 in UTC, every calendar, viewer zone UTC; the first query
//! (which materialises the month in the index) is not timed.

// A benchmark aborts loudly on any failure; that is what expect is for here.
#![allow(clippy::expect_used)]

// The very generator W4 uses (`core/benches/calendar.rs`).
#[path = "../../core/benches/support/w4_events.rs"]
mod w4_events;

use std::path::Path;
use std::time::Instant;

use almanac_core::Store;
use almanac_core::calendar::api::operations_for;
use almanac_core::calendar::time::time_zone;
use almanac_ffi::{AlmanacStore, OccurrenceQuery};
use jiff::Timestamp;
use jiff::civil::date;
use jiff::tz::TimeZone;
use w4_events::new_event;

/// June 2026 in UTC, W4's month.
const FROM: i64 = 1_780_272_000; // 2026-06-01T00:00:00Z
const TO: i64 = 1_782_864_000; // 2026-07-01T00:00:00Z

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("populate") => populate(Path::new(&args[2])),
        Some("time") => time(Path::new(&args[2]), args[3].parse().expect("runs")),
        _ => {
            eprintln!("usage: w9 populate <store> | w9 time <store> <runs>");
            std::process::exit(2);
        }
    }
}

fn populate(path: &Path) {
    let (count, years) = (10_000, 1);
    let store = Store::open(path).expect("open");
    let start = date(2027 - years, 1, 1);
    let days = i64::from(years) * 365;
    for chunk in (0..count).collect::<Vec<_>>().chunks(1_000) {
        let (mut home, mut work) = (Vec::new(), Vec::new());
        for &i in chunk {
            let operations = operations_for(&new_event(i, start, days)).expect("operations");
            if i % 3 == 0 { home.extend(operations) } else { work.extend(operations) }
        }
        store.commit("home", &home).expect("commit");
        store.commit("work", &work).expect("commit");
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn time(path: &Path, runs: usize) {
    let from = Timestamp::from_second(FROM).expect("from");
    let to = Timestamp::from_second(TO).expect("to");
    let core = Store::open(path).expect("open");
    let ffi = AlmanacStore::open(path.to_string_lossy().into_owned()).expect("open");
    let query = OccurrenceQuery {
        from_epoch_seconds: FROM,
        to_epoch_seconds: TO,
        calendars: Vec::new(),
        viewer_zone: "UTC".into(),
    };
    let viewer = time_zone("UTC").expect("zone");
    let core_count = core.occurrences(from, to, &[], &TimeZone::UTC).expect("warm-up").len();
    let zone_count = core.occurrences(from, to, &[], &viewer).expect("warm-up").len();
    let ffi_count = ffi.occurrences(query.clone()).expect("warm-up").len();
    assert_eq!((core_count, zone_count), (ffi_count, ffi_count), "the calls read the same month");
    // Interleaved, so a burst of load on the shared machine hits all alike.
    let (mut core_times, mut zone_times, mut ffi_times) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let t = Instant::now();
        core.occurrences(from, to, &[], &TimeZone::UTC).expect("query");
        core_times.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        core.occurrences(from, to, &[], &viewer).expect("query");
        zone_times.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        ffi.occurrences(query.clone()).expect("query");
        ffi_times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    println!("core {:.3} {core_count}", median(core_times));
    println!("core-zone {:.3} {zone_count}", median(zone_times));
    println!("ffi {:.3} {ffi_count}", median(ffi_times));
}
