//! The layering `ARCHITECTURE.md` promises: the engine knows nothing of the calendar, and runs
//! without it (what a sync server does).

use std::path::Path;

use almanac_core::{Store, StoreOptions};

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn crdt_storage_and_replica_never_name_the_calendar_module() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![src.join("replica.rs")];
    sources(&src.join("crdt"), &mut files);
    sources(&src.join("storage"), &mut files);
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read");
        for needle in ["crate::calendar", "calendar::", "super::calendar"] {
            assert!(
                !text.contains(needle),
                "{} names the calendar module ({needle})",
                file.display()
            );
        }
    }
}

#[test]
fn the_engine_runs_without_the_calendar_view() {
    let dir = tempfile::tempdir().expect("dir");
    let a = Store::open_with(dir.path().join("server.almanac"), StoreOptions::engine_only())
        .expect("open");
    let b = Store::open(dir.path().join("device.almanac")).expect("open");
    let ics = include_str!("../fixtures/ics/google-work.ics");
    b.import_ics("work", ics, &mut |_| {}).expect("import");
    a.join_space("work").expect("join");
    let delta = b.delta_since("work", &a.version_vector("work").expect("vv")).expect("delta");
    a.apply(&delta).expect("the bare engine stores calendar records as records");
    assert!(!a.records("work", "events").expect("read").is_empty());
    let conn = rusqlite::Connection::open(dir.path().join("server.almanac")).expect("raw");
    let tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_schema WHERE name = 'occurrence_index'", [], |r| {
            r.get(0)
        })
        .expect("query");
    assert_eq!(tables, 0, "the bare engine must not keep an occurrence index");
    // Calendar queries say clearly that the view is missing.
    let from = "2026-01-01T00:00:00Z".parse().expect("from");
    let to = "2026-02-01T00:00:00Z".parse().expect("to");
    let error = a.occurrences(from, to, &[], &jiff::tz::TimeZone::UTC).expect_err("no view");
    assert!(error.to_string().contains("calendar view"), "{error}");
}
