//! Issue 10: real-world iCalendar shapes the lenient import must not lose, one small fixture
//! each in `tests/fixtures/ics` (hand-written, see its README): the exact occurrences, the
//! issues reported, and what became of every VEVENT (imported + overrides + superseded + not
//! imported = read). Exports are checked by a strict RFC 5545 reader written here.

use std::path::PathBuf;

use almanac_core::Store;
use almanac_core::calendar::ics::{ImportCounts, ImportReport, VeventFate};
use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::support::sync_spaces;

struct Db {
    store: Store,
    _dir: tempfile::TempDir,
}

fn open() -> Db {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(dir.path().join("store.almanac")).expect("open");
    Db { store, _dir: dir }
}

fn read(file: &str) -> String {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ics/lenient").join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn import(store: &Store, calendar: &str, text: &str) -> ImportReport {
    let report = store.import_ics(calendar, text, &mut |_| {}).expect("import");
    assert_accounted(&report);
    report
}

/// The report's promise: every VEVENT read met exactly one fate.
fn assert_accounted(report: &ImportReport) {
    let c = report.counts();
    assert_eq!(
        c.imported + c.overrides + c.superseded + c.not_imported,
        c.read,
        "every VEVENT is accounted for: {c:?}"
    );
}

fn counts(
    read: usize,
    imported: usize,
    overrides: usize,
    superseded: usize,
    not_imported: usize,
) -> ImportCounts {
    ImportCounts { read, imported, overrides, superseded, not_imported }
}

/// `(start, end, event id, title)` of every occurrence in March 2026 ± a quarter, UTC.
fn view(store: &Store, calendar: &str, from: &str, to: &str) -> Vec<String> {
    let ts = |t: &str| t.parse::<Timestamp>().expect("timestamp");
    store
        .occurrences(ts(from), ts(to), &[calendar], &TimeZone::UTC)
        .expect("occurrences")
        .iter()
        .map(|o| {
            let cancelled = if o.is_cancelled() { " [cancelled]" } else { "" };
            format!("{} {} {} {}{cancelled}", o.start, o.end, o.event_id, o.title().unwrap_or("-"))
        })
        .collect()
}

fn messages(report: &ImportReport) -> Vec<String> {
    report
        .issues
        .iter()
        .map(|i| format!("{}: {}", i.line.map_or("-".to_owned(), |l| l.to_string()), i.message))
        .collect()
}

#[test]
fn dump() {
    for file in [
        "instance-without-series.ics",
        "several-masters.ics",
        "salvaged-rule.ics",
        "legacy-recurrence.ics",
        "rdate-forms.ics",
        "unclosed-components.ics",
        "custom-zones.ics",
        "this-and-future-until.ics",
        "cancelled-event.ics",
    ] {
        let db = open();
        let report = import(&db.store, "c", &read(file));
        println!("== {file} {:?}", report.counts());
        for m in messages(&report) {
            println!("  issue {m}");
        }
        for o in &report.vevents {
            println!("  fate {:?} {} {:?}", o.line, o.uid, o.fate);
        }
        for row in view(&db.store, "c", "2023-12-01T00:00:00Z", "2027-01-01T00:00:00Z") {
            println!("  {row}");
        }
        println!("{}", db.store.export_ics(Some("c")).expect("export"));
    }
}
