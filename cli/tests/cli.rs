//! The `almanac` binary end to end: recurrence expansion against RFC 5545's examples, every
//! command's help, the store commands on stores built through the core API, import and export,
//! the commands that change events (module `edit`), and bad input (which must fail with a
//! reason, never a panic).

// Tests state their expectations with expect/panic; the tool itself may not.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use almanac_core::calendar::api::{EventEdit, NewEvent};
use almanac_core::calendar::event::{End, Span, Timing};
use almanac_core::calendar::recurrence::RecurrenceRule;
use almanac_core::calendar::time::{Duration, TimeValue, tzdb_version};
use almanac_core::{Store, Value};
use jiff::civil::{DateTime, date};

// One test binary for the crate: further modules live under tests/cli/, which cargo does not
// build as binaries of their own.
#[path = "cli/edit.rs"]
mod edit;
#[path = "cli/sync.rs"]
mod sync;
// The real sync server as a child process, shared with the client's tests.
#[path = "../../client/tests/integration/server.rs"]
mod test_server;

fn almanac<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_almanac")).args(args).output().expect("run almanac")
}

fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs a command that must succeed; its stdout.
fn ok<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> String {
    let output = almanac(args);
    assert!(output.status.success(), "failed: {}", stderr_of(&output));
    String::from_utf8(output.stdout).expect("utf-8 output")
}

/// Runs a command that must fail with status 1 and a reason; its stderr.
fn fails<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> String {
    let output = almanac(args);
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    assert!(output.stdout.is_empty(), "stdout: {}", String::from_utf8_lossy(&output.stdout));
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

fn recur(args: &[&str]) -> String {
    ok(&[&["recur"], args].concat())
}

// ---- recur -------------------------------------------------------------------------------

#[test]
fn recur_daily_for_ten_occurrences_in_new_york() {
    // RFC 5545 §3.8.5.3, "Daily for 10 occurrences".
    let out = recur(&[
        "--dtstart",
        "DTSTART;TZID=America/New_York:19970902T090000",
        "--rrule",
        "FREQ=DAILY;COUNT=10",
    ]);
    let expected: Vec<String> =
        (2..=11).map(|day| format!("1997-09-{day:02}T09:00:00-04:00")).collect();
    assert_eq!(lines(&out), expected);
}

#[test]
fn recur_every_other_week_until_crosses_the_end_of_daylight_saving_time() {
    // RFC 5545 §3.8.5.3: "Every other week on Monday, Wednesday, and Friday until December 24,
    // 1997, starting on Monday, September 1, 1997" — 25 occurrences.
    let out = recur(&[
        "--dtstart",
        "DTSTART;TZID=America/New_York:19970901T090000",
        "--rrule",
        "RRULE:FREQ=WEEKLY;INTERVAL=2;UNTIL=19971224T000000Z;WKST=SU;BYDAY=MO,WE,FR",
    ]);
    let out = lines(&out);
    assert_eq!(out.len(), 25);
    assert_eq!(
        out[..3],
        ["1997-09-01T09:00:00-04:00", "1997-09-03T09:00:00-04:00", "1997-09-05T09:00:00-04:00"]
    );
    assert!(out.contains(&"1997-10-15T09:00:00-04:00"));
    assert!(out.contains(&"1997-10-27T09:00:00-05:00"), "{out:?}");
    assert_eq!(out[24], "1997-12-22T09:00:00-05:00");
}

#[test]
fn recur_an_all_day_series_prints_dates_and_date_exdates_remove_days() {
    let out = recur(&[
        "--dtstart",
        "DTSTART;VALUE=DATE:19970902",
        "--rrule",
        "FREQ=YEARLY;COUNT=4",
        "--exdate",
        "EXDATE;VALUE=DATE:19980902,20000902",
    ]);
    assert_eq!(lines(&out), ["1997-09-02", "1999-09-02"]);
}

#[test]
fn recur_a_utc_series_with_rdates_and_exdates() {
    let out = recur(&[
        "--dtstart",
        "DTSTART:19970902T090000Z",
        "--rrule",
        "FREQ=WEEKLY;COUNT=3",
        "--rdate",
        "RDATE;VALUE=PERIOD:19970903T120000Z/PT1H",
        "--rdate",
        "RDATE:19970904T100000Z,19970905T100000Z",
        "--exdate",
        "EXDATE:19970909T090000Z",
    ]);
    assert_eq!(
        lines(&out),
        [
            "1997-09-02T09:00:00Z",
            "1997-09-03T12:00:00Z",
            "1997-09-04T10:00:00Z",
            "1997-09-05T10:00:00Z",
            "1997-09-16T09:00:00Z"
        ]
    );
}

#[test]
fn recur_a_floating_series_from_a_date_with_a_limit() {
    // RFC 5545 §3.8.5.3, "Monthly on the first Friday for 10 occurrences", floating.
    let out = recur(&[
        "--dtstart",
        "DTSTART:19970905T090000",
        "--rrule",
        "FREQ=MONTHLY;COUNT=10;BYDAY=1FR",
        "--from",
        "1998-01-01",
        "--limit",
        "3",
    ]);
    assert_eq!(lines(&out), ["1998-01-02T09:00:00", "1998-02-06T09:00:00", "1998-03-06T09:00:00"]);
    // COUNT still ends the series when --limit asks for more.
    let rest = recur(&[
        "--dtstart",
        "19970905T090000",
        "--rrule",
        "FREQ=MONTHLY;COUNT=10;BYDAY=1FR",
        "--from",
        "19980501T000000",
    ]);
    assert_eq!(lines(&rest), ["1998-05-01T09:00:00", "1998-06-05T09:00:00"]);
}

#[test]
fn recur_from_reads_dates_in_the_series_zone_and_instants_as_given() {
    let series =
        ["--dtstart", "DTSTART;TZID=America/New_York:19970902T210000", "--rrule", "FREQ=DAILY"];
    // Midnight of the 5th in New York: the 4th's 21:00 (01:00Z on the 5th) is before it.
    let by_date = recur(&[&series[..], &["--from", "1997-09-05", "--limit", "1"]].concat());
    assert_eq!(lines(&by_date), ["1997-09-05T21:00:00-04:00"]);
    let by_instant =
        recur(&[&series[..], &["--from", "1997-09-05T01:00:00Z", "--limit", "1"]].concat());
    assert_eq!(lines(&by_instant), ["1997-09-04T21:00:00-04:00"]);
    let by_offset =
        recur(&[&series[..], &["--from", "1997-09-04T21:00:01-04:00", "--limit", "1"]].concat());
    assert_eq!(lines(&by_offset), ["1997-09-05T21:00:00-04:00"]);
    assert_eq!(recur(&[&series[..], &["--limit", "0"]].concat()), "");
}

#[test]
fn recur_the_default_limit_is_100() {
    let out = recur(&["--dtstart", "DTSTART:20260101T090000Z", "--rrule", "FREQ=DAILY"]);
    assert_eq!(lines(&out).len(), 100);
}

#[test]
fn recur_a_wall_time_in_a_daylight_saving_gap_prints_the_instant_it_resolves_to() {
    let out = recur(&[
        "--dtstart",
        "DTSTART;TZID=America/New_York:20260301T023000",
        "--rrule",
        "FREQ=WEEKLY;COUNT=3",
    ]);
    assert_eq!(
        lines(&out),
        ["2026-03-01T02:30:00-05:00", "2026-03-08T03:30:00-04:00", "2026-03-15T02:30:00-04:00"]
    );
}

#[test]
fn recur_invalid_input_fails_with_the_reason() {
    let dtstart = ["--dtstart", "DTSTART:19970902T090000Z"];
    let bad_rule =
        fails(&[&["recur"], &dtstart[..], &["--rrule", "FREQ=DAILY;BYDAY=1MO"]].concat());
    assert!(bad_rule.contains("--rrule") && bad_rule.contains("BYDAY=1MO"), "{bad_rule}");
    let both = fails(
        &[&["recur"], &dtstart[..], &["--rrule", "FREQ=DAILY;COUNT=2;UNTIL=19971224T000000Z"]]
            .concat(),
    );
    assert!(both.contains("COUNT and UNTIL"), "{both}");
    let no_freq = fails(&[&["recur"], &dtstart[..], &["--rrule", "COUNT=2"]].concat());
    assert!(no_freq.contains("--rrule"), "{no_freq}");

    let zone = fails(&["recur", "--dtstart", "DTSTART;TZID=Mars/Olympus:19970902T090000"]);
    assert!(zone.contains("Mars/Olympus"), "{zone}");
    let start = fails(&["recur", "--dtstart", "DTSTART:1997-13-02"]);
    assert!(start.contains("--dtstart"), "{start}");
    let line = fails(&["recur", "--dtstart", "DTSTART;X=\"open:19970902"]);
    assert!(line.contains("--dtstart"), "{line}");
    let smuggled = fails(&["recur", "--dtstart", "DTSTART:19970902\r\nRRULE:FREQ=DAILY"]);
    assert!(smuggled.contains("line breaks"), "{smuggled}");
    let exdate = fails(&[&["recur"], &dtstart[..], &["--exdate", "EXDATE:1997x"]].concat());
    assert!(exdate.contains("--exdate") && exdate.contains("1997x"), "{exdate}");
    let from = fails(&[&["recur"], &dtstart[..], &["--from", "soon"]].concat());
    assert!(from.contains("--from"), "{from}");
    let too_many = fails(
        &[&["recur"], &dtstart[..], &["--rrule", "FREQ=DAILY", "--limit", "1000000"]].concat(),
    );
    assert!(too_many.contains("100000"), "{too_many}");
}

#[test]
fn usage_errors_exit_with_status_2() {
    let output = almanac(&["recur", "--rrule", "FREQ=DAILY"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr_of(&output).contains("--dtstart"));
    assert_eq!(almanac(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(almanac(&["recur", "--dtstart", "x", "--limit", "-1"]).status.code(), Some(2));
}

#[test]
fn help_works_for_the_tool_and_every_command() {
    let top = ok(&["--help"]);
    for command in [
        "recur",
        "import",
        "export",
        "agenda",
        "add",
        "edit",
        "delete",
        "restore",
        "sync",
        "watch",
        "conflicts",
        "stats",
        "compact",
    ] {
        assert!(top.contains(command), "{command} missing from --help");
        let help = ok(&[command, "--help"]);
        assert!(help.contains("Usage: almanac"), "{command}: {help}");
        let short = ok(&["help", command]);
        assert!(short.contains("Usage: almanac"), "help {command}: {short}");
    }
    assert!(ok(&["agenda", "--help"]).contains("INCLUSIVE"));
    assert!(ok(&["recur", "--help"]).contains("1997-09-02T09:00:00-04:00"));
    assert!(ok(&["--version"]).starts_with("almanac "));
}

// ---- stores built through the core API ---------------------------------------------------

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture { dir: tempfile::tempdir().expect("temp dir") }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn store(&self, name: &str) -> Store {
        Store::open(self.path(name)).expect("open store")
    }
}

fn arg(path: &Path) -> &str {
    path.to_str().expect("utf-8 temp path")
}

fn paris(local: DateTime) -> TimeValue {
    TimeValue::Zoned { local, zone: "Europe/Paris".into() }
}

fn event(id: &str, calendar: &str, timing: Timing, title: &str) -> NewEvent {
    NewEvent {
        id: id.into(),
        calendar: calendar.into(),
        uid: None,
        timing,
        rule: None,
        rdates: Vec::new(),
        exdates: Vec::new(),
        fields: BTreeMap::from([("title".into(), Value::from(title))]),
        attendees: Vec::new(),
        alarms: Vec::new(),
        unknown_properties: Vec::new(),
    }
}

/// A weekly Monday 09:00–10:00 Paris standup from 2026-01-05 in calendar `work`.
fn standup() -> NewEvent {
    NewEvent {
        rule: Some(RecurrenceRule::parse("FREQ=WEEKLY").expect("rule")),
        ..event(
            "standup",
            "work",
            Timing {
                start: paris(date(2026, 1, 5).at(9, 0, 0, 0)),
                end: End::After(Duration { seconds: 3600, ..Duration::default() }),
            },
            "Standup",
        )
    }
}

fn sync(a: &Store, b: &Store) {
    for (from, to) in [(a, b), (b, a)] {
        for space in from.spaces().expect("spaces") {
            let space = space.as_str();
            to.join_space(space).expect("join");
            let delta = from.delta_since(space, &to.version_vector(space).expect("vv"));
            to.apply(&delta.expect("delta")).expect("apply");
        }
    }
}

fn title(value: &str) -> EventEdit {
    EventEdit {
        fields: BTreeMap::from([("title".to_owned(), Value::from(value))]),
        ..EventEdit::default()
    }
}

#[test]
fn compact_shrinks_a_store_with_deleted_events_and_keeps_the_rest() {
    let fixture = Fixture::new();
    let path = fixture.path("compact.almanac");
    {
        let store = fixture.store("compact.almanac");
        let mut ids = Vec::new();
        for i in 0..300 {
            let trip = event(
                &format!("trip{i}"),
                "home",
                Timing::all_day(date(2026, 1, 10), 2),
                &"A long trip title ".repeat(8),
            );
            store.create_event(&trip).expect("trip");
            ids.push(trip.id);
        }
        for id in ids.iter().skip(1) {
            store.delete_event(id, &Span::All).expect("delete");
        }
        store.checkpoint().expect("checkpoint");
    }
    let agenda =
        ["agenda", arg(&path), "--from", "2026-01-01", "--to", "2026-01-31", "--zone", "UTC"];
    let listed = ok(&agenda);
    let stats = ok(&["stats", arg(&path)]);
    let out = ok(&["compact", arg(&path)]);
    let bytes = |name: &str| -> u64 {
        let line = out.lines().find(|l| l.starts_with(name)).expect(name);
        line[name.len()..].trim().trim_end_matches(" bytes").parse().expect("bytes")
    };
    assert!(bytes("after:") < bytes("before:"), "{out}");
    assert_eq!(ok(&agenda), listed);
    let replica =
        |stats: &str| stats.lines().find(|l| l.starts_with("replica id")).map(str::to_owned);
    assert_eq!(replica(&ok(&["stats", arg(&path)])), replica(&stats));
}

/// A store compresses its records against a dictionary once it holds 256 live records
/// (decisions 0032, 0037), and `compact` shrinks it further; every later command, each in a
/// process of its own that loads the dictionary from the file, shows the same store.
#[test]
fn compact_compresses_a_large_store_and_every_command_still_reads_it() {
    let fixture = Fixture::new();
    let path = fixture.path("large.almanac");
    let add_meetings = |numbers: std::ops::Range<usize>| {
        let store = fixture.store("large.almanac");
        for i in numbers {
            let at = date(2026, 1, 1 + (i % 28) as i8);
            let meeting =
                event(&format!("m{i}"), "work", Timing::all_day(at, 1), &format!("Review {i}"));
            store.create_event(&meeting).expect("meeting");
        }
        store.checkpoint().expect("checkpoint");
    };
    add_meetings(0..200);
    let agenda =
        ["agenda", arg(&path), "--from", "2026-01-01", "--to", "2026-02-01", "--zone", "UTC"];
    let encoding = |stats: &str| {
        stats.lines().find(|l| l.starts_with("record encoding:")).expect("encoding").to_owned()
    };
    assert!(encoding(&ok(&["stats", arg(&path)])).contains("4 (not compressed yet"));
    // The commit that finds 256 live records makes the dictionary (decision 0037).
    add_meetings(200..300);
    assert!(encoding(&ok(&["stats", arg(&path)])).contains("5 (compressed against a"));
    let (listed, exported) = (ok(&agenda), ok(&["export", arg(&path)]));
    let out = ok(&["compact", arg(&path)]);
    let bytes = |name: &str| -> u64 {
        let line = out.lines().find(|l| l.starts_with(name)).expect(name);
        line[name.len()..].trim().trim_end_matches(" bytes").parse().expect("bytes")
    };
    assert!(bytes("after:") < bytes("before:"), "{out}");
    assert!(encoding(&ok(&["stats", arg(&path)])).contains("5 (compressed against a"));
    assert_eq!(ok(&agenda), listed);
    assert_eq!(ok(&["export", arg(&path)]), exported);
}

#[test]
fn stats_counts_live_and_deleted_records() {
    let fixture = Fixture::new();
    let path = fixture.path("stats.almanac");
    let replica = {
        let store = fixture.store("stats.almanac");
        store.put_calendar("work", "Work", None, Some("Europe/Paris")).expect("calendar");
        store.create_event(&standup()).expect("standup");
        store
            .create_event(&event("trip", "home", Timing::all_day(date(2026, 1, 10), 2), "Trip"))
            .expect("trip");
        store.delete_event("trip", &Span::All).expect("delete");
        store.replica_id()
    };
    let out = ok(&["stats", arg(&path)]);
    let facts: BTreeMap<&str, &str> = out
        .lines()
        .map(|line| {
            let (name, value) = line.split_once(':').expect("name: value");
            (name, value.trim())
        })
        .collect();
    assert_eq!(facts["replica id"], replica.to_string());
    assert_eq!(facts["tz database"], tzdb_version());
    assert_eq!(facts["calendars"], "1 live, 0 deleted");
    assert_eq!(facts["events"], "1 live, 1 deleted");
    assert_eq!(facts["records with conflicts"], "0");
    assert_eq!(facts["version vectors"], "1 replica");
    assert_eq!(facts["spaces"], "2 spaces");
    assert!(facts["file size"].ends_with("write-ahead log)"), "{out}");
    for name in ["store", "schema version", "record encoding", "events in conflict log"] {
        assert!(facts.contains_key(name), "{name} missing: {out}");
    }
}

#[test]
fn agenda_lists_the_inclusive_range_in_the_viewer_zone() {
    let fixture = Fixture::new();
    let path = fixture.path("agenda.almanac");
    {
        let store = fixture.store("agenda.almanac");
        store.create_event(&standup()).expect("standup");
        store
            .create_event(&event("trip", "home", Timing::all_day(date(2026, 1, 10), 2), "Trip"))
            .expect("trip");
        let floating = Timing {
            start: TimeValue::Floating(date(2026, 1, 13).at(7, 0, 0, 0)),
            end: End::After(Duration { seconds: 600, ..Duration::default() }),
        };
        store.create_event(&event("wake", "home", floating, "Wake\tup\n")).expect("wake");
    }
    let agenda = |extra: &[&str]| {
        ok(&[&["agenda", arg(&path), "--from", "2026-01-05", "--to", "2026-01-12"], extra].concat())
    };
    assert_eq!(
        lines(&agenda(&["--zone", "Europe/Paris"])),
        [
            "2026-01-05T09:00:00+01:00\t2026-01-05T10:00:00+01:00\tstandup\tStandup",
            "2026-01-10\t2026-01-12\ttrip\tTrip",
            "2026-01-12T09:00:00+01:00\t2026-01-12T10:00:00+01:00\tstandup\tStandup",
        ]
    );
    // Without --zone, the zone of the person running it: the system's (here TZ); UTC,
    // printed with Z, when the system names no zone the bundled database knows.
    let in_system_zone = |tz: &str| {
        let args = ["agenda", arg(&path), "--from", "2026-01-05", "--to", "2026-01-12"];
        let output = Command::new(env!("CARGO_BIN_EXE_almanac"))
            .args(args)
            .args(["--calendar", "work"])
            .env("TZ", tz)
            .output()
            .expect("run almanac");
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout).expect("utf-8")
    };
    assert_eq!(
        lines(&in_system_zone("America/New_York")),
        [
            "2026-01-05T03:00:00-05:00\t2026-01-05T04:00:00-05:00\tstandup\tStandup",
            "2026-01-12T03:00:00-05:00\t2026-01-12T04:00:00-05:00\tstandup\tStandup",
        ]
    );
    assert_eq!(
        lines(&in_system_zone("UTC")),
        [
            "2026-01-05T08:00:00Z\t2026-01-05T09:00:00Z\tstandup\tStandup",
            "2026-01-12T08:00:00Z\t2026-01-12T09:00:00Z\tstandup\tStandup",
        ]
    );
    // A floating event is read in the viewer's zone; control characters stay on one line.
    let tokyo = ok(&[
        "agenda",
        arg(&path),
        "--from",
        "20260113",
        "--to",
        "20260113",
        "--zone",
        "Asia/Tokyo",
        "--calendar",
        "home",
    ]);
    assert_eq!(
        lines(&tokyo),
        ["2026-01-13T07:00:00+09:00\t2026-01-13T07:10:00+09:00\twake\tWake\\tup\\n"]
    );
    assert_eq!(ok(&["agenda", arg(&path), "--from", "2030-01-01", "--to", "2030-01-01"]), "");

    let reversed = fails(&["agenda", arg(&path), "--from", "2026-01-12", "--to", "2026-01-05"]);
    assert!(reversed.contains("before"), "{reversed}");
    let zone = fails(&[
        "agenda",
        arg(&path),
        "--from",
        "2026-01-05",
        "--to",
        "2026-01-05",
        "--zone",
        "Mars/X",
    ]);
    assert!(zone.contains("Mars/X"), "{zone}");
    let day = fails(&["agenda", arg(&path), "--from", "monday", "--to", "2026-01-05"]);
    assert!(day.contains("--from"), "{day}");
}

#[test]
fn conflicts_shows_concurrent_values_shadowed_edits_and_hidden_occurrence_edits() {
    let fixture = Fixture::new();
    let path = fixture.path("a.almanac");
    {
        let a = fixture.store("a.almanac");
        let b = fixture.store("b.almanac");
        a.create_event(&standup()).expect("standup");
        a.create_event(&event("trip", "home", Timing::all_day(date(2026, 1, 10), 2), "Trip"))
            .expect("trip");
        sync(&a, &b);
        // Concurrent titles on the series.
        a.edit_event("standup", &Span::All, &title("Standup A")).expect("a title");
        b.edit_event("standup", &Span::All, &title("Standup B")).expect("b title");
        // An occurrence cancelled on one device and edited on the other.
        let second = paris(date(2026, 1, 12).at(9, 0, 0, 0));
        a.delete_event("standup", &Span::This(second.clone())).expect("cancel");
        b.edit_event("standup", &Span::This(second), &title("Moved agenda")).expect("edit");
        // An event deleted on one device while edited on the other.
        a.delete_event("trip", &Span::All).expect("delete");
        b.edit_event("trip", &Span::All, &title("Trip to Lyon")).expect("edit trip");
        sync(&a, &b);
    }
    let out = ok(&["conflicts", arg(&path)]);
    let standup = out.find("event standup\n").expect("standup entry");
    let trip = out.find("event trip (deleted)\n").expect("trip entry");
    assert!(standup < trip, "{out}");
    assert!(out.contains("\n  title: shows \"Standup "), "{out}");
    assert!(out.contains("; also \"Standup "), "{out}");
    assert!(
        out.contains("\n  occurrence 20260112, cancelled: title = \"Moved agenda\"\n"),
        "{out}"
    );
    assert!(out.contains("\n  lost to the delete: title = \"Trip to Lyon\" (replica "), "{out}");

    let empty = fixture.path("empty.almanac");
    drop(fixture.store("empty.almanac"));
    assert_eq!(ok(&["conflicts", arg(&empty)]), "no conflicts\n");
}

#[test]
fn store_commands_refuse_what_is_not_a_store_and_create_nothing() {
    let fixture = Fixture::new();
    let missing = fixture.path("missing.almanac");
    let text = fixture.path("notes.txt");
    std::fs::write(&text, "not a database, just some notes\n").expect("write");
    let empty = fixture.path("empty.almanac");
    std::fs::write(&empty, "").expect("write");
    let dir = fixture.path("");
    for (path, reason) in [
        (&missing, "does not exist"),
        (&text, "not an Almanac store"),
        (&empty, "empty file"),
        (&dir, "directory"),
    ] {
        for command in [
            vec!["stats", arg(path)],
            vec!["conflicts", arg(path)],
            vec!["compact", arg(path)],
            vec!["export", arg(path)],
            vec!["agenda", arg(path), "--from", "2026-01-01", "--to", "2026-01-02"],
        ] {
            let stderr = fails(&command);
            assert!(stderr.contains(reason), "{command:?}: {stderr}");
        }
    }
    assert!(!missing.exists(), "an inspection created a store");
    assert_eq!(std::fs::read_to_string(&text).expect("read"), "not a database, just some notes\n");
    assert_eq!(std::fs::metadata(&empty).expect("metadata").len(), 0);
}

// ---- import and export ---------------------------------------------------------------------

const ICS: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n\
BEGIN:VEVENT\r\nUID:standup@example.com\r\nDTSTAMP:20260101T000000Z\r\n\
DTSTART;TZID=Europe/Paris:20260105T090000\r\nDURATION:PT30M\r\nRRULE:FREQ=WEEKLY;COUNT=4\r\n\
SUMMARY:Standup\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:trip@example.com\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;VALUE=DATE:20260110\r\n\
DTEND;VALUE=DATE:20260112\r\nSUMMARY:Trip\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:broken@example.com\r\nDTSTART:2026xx05\r\nSUMMARY:Broken\r\nEND:VEVENT\r\n\
this line is not iCalendar\r\n\
END:VCALENDAR\r\n";

#[test]
fn import_reports_issues_and_export_writes_the_events_back() {
    let fixture = Fixture::new();
    let store = fixture.path("imported.almanac");
    let file = fixture.path("calendar.ics");
    std::fs::write(&file, ICS).expect("write ics");

    let output = almanac(&["import", arg(&store), arg(&file), "--calendar", "work"]);
    let stderr = stderr_of(&output);
    assert!(output.status.success(), "{stderr}");
    let stdout = String::from_utf8(output.stdout).expect("utf-8");
    assert_eq!(
        stdout,
        "imported 2 events into calendar 'work' (2 issues)\n\
         3 VEVENTs read: 2 imported, 0 merged as overrides, 0 superseded, 1 not imported\n"
    );
    assert!(stderr.contains("UID broken@example.com: "), "{stderr}");
    assert!(stderr.contains("line 24: "), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    let agenda = ok(&[
        "agenda",
        arg(&store),
        "--from",
        "2026-01-05",
        "--to",
        "2026-01-11",
        "--zone",
        "Europe/Paris",
        "--calendar",
        "work",
    ]);
    assert_eq!(
        lines(&agenda),
        [
            "2026-01-05T09:00:00+01:00\t2026-01-05T09:30:00+01:00\tstandup@example.com\tStandup",
            "2026-01-10\t2026-01-12\ttrip@example.com\tTrip",
        ]
    );

    let exported = ok(&["export", arg(&store)]);
    assert!(exported.starts_with("BEGIN:VCALENDAR\r\n"), "{exported}");
    assert!(exported.ends_with("END:VCALENDAR\r\n"), "{exported}");
    for expected in ["UID:standup@example.com", "RRULE:FREQ=WEEKLY;COUNT=4", "UID:trip@example.com"]
    {
        assert!(exported.contains(expected), "{expected} missing: {exported}");
    }
    assert!(!exported.contains("broken@example.com"));
    // A one-calendar export also names the calendar (X-WR-CALNAME); otherwise it is the same.
    let work = ok(&["export", arg(&store), "--calendar", "work"]);
    assert!(work.contains("X-WR-CALNAME:work\r\n"), "{work}");
    assert_eq!(work.replace("X-WR-CALNAME:work\r\n", ""), exported);
    assert!(!ok(&["export", arg(&store), "--calendar", "home"]).contains("BEGIN:VEVENT"));

    // The export imports again as the same events (keyed by UID): nothing is duplicated.
    let again = fixture.path("again.ics");
    std::fs::write(&again, &exported).expect("write export");
    assert_eq!(
        ok(&["import", arg(&store), arg(&again), "--calendar", "work"]),
        "imported 2 events into calendar 'work' (0 issues)\n\
         2 VEVENTs read: 2 imported, 0 merged as overrides, 0 superseded, 0 not imported\n"
    );
    let stats = ok(&["stats", arg(&store)]);
    assert!(stats.contains("\nevents:                 2 live, 0 deleted\n"), "{stats}");
}

#[test]
fn import_fails_only_when_the_file_cannot_be_read() {
    let fixture = Fixture::new();
    let store = fixture.path("new.almanac");
    let missing = fixture.path("missing.ics");
    let stderr = fails(&["import", arg(&store), arg(&missing)]);
    assert!(stderr.contains("missing.ics"), "{stderr}");
    assert!(!store.exists(), "a store was created for a file that could not be read");

    // Not iCalendar at all, but readable: nothing imported, the issues listed, status 0.
    let junk = fixture.path("junk.ics");
    std::fs::write(&junk, b"\xff\xfe not a calendar\n").expect("write");
    let output = almanac(&["import", arg(&store), arg(&junk)]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(stderr_of(&output).contains("not valid UTF-8"));
    let stdout = String::from_utf8(output.stdout).expect("utf-8");
    assert!(stdout.starts_with("imported 0 events into calendar 'default'"), "{stdout}");

    let text = fixture.path("notes.txt");
    std::fs::write(&text, "not a database\n").expect("write");
    let foreign = fails(&["import", arg(&text), arg(&junk)]);
    assert!(foreign.contains("not an Almanac store"), "{foreign}");
}

/// Issue 10 through the CLI: what became of each VEVENT is counted, and an event cancelled as a
/// whole is listed by `agenda` marked cancelled (a cancelled occurrence of a series is not).
#[test]
fn import_counts_every_vevent_and_agenda_marks_cancelled_events() {
    let fixture = Fixture::new();
    let store = fixture.path("cancelled.almanac");
    let file = fixture.path("cancelled.ics");
    let ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//EN\r\n\
BEGIN:VEVENT\r\nUID:party@example.com\r\nDTSTAMP:20260101T000000Z\r\n\
DTSTART:20260307T180000Z\r\nDTEND:20260307T220000Z\r\nSTATUS:CANCELLED\r\nSUMMARY:Party\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:club@example.com\r\nDTSTAMP:20260101T000000Z\r\nSEQUENCE:0\r\n\
DTSTART:20260303T180000Z\r\nDTEND:20260303T190000Z\r\nRRULE:FREQ=WEEKLY;COUNT=2\r\nSUMMARY:Old club\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:club@example.com\r\nDTSTAMP:20260102T000000Z\r\nSEQUENCE:1\r\n\
DTSTART:20260303T180000Z\r\nDTEND:20260303T190000Z\r\nRRULE:FREQ=WEEKLY;COUNT=2\r\nSUMMARY:Club\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:club@example.com\r\nDTSTAMP:20260102T000000Z\r\nRECURRENCE-ID:20260310T180000Z\r\n\
DTSTART:20260310T180000Z\r\nDTEND:20260310T190000Z\r\nSTATUS:CANCELLED\r\nSUMMARY:Club\r\nEND:VEVENT\r\n\
END:VCALENDAR\r\n";
    std::fs::write(&file, ics).expect("write ics");
    assert_eq!(
        ok(&["import", arg(&store), arg(&file), "--calendar", "home"]),
        "imported 2 events into calendar 'home' (1 issue)\n\
         4 VEVENTs read: 2 imported, 1 merged as an override, 1 superseded, 0 not imported\n"
    );
    let agenda =
        ok(&["agenda", arg(&store), "--from", "2026-03-01", "--to", "2026-03-31", "--zone", "UTC"]);
    assert_eq!(
        lines(&agenda),
        [
            "2026-03-03T18:00:00Z\t2026-03-03T19:00:00Z\tclub@example.com\tClub",
            "2026-03-07T18:00:00Z\t2026-03-07T22:00:00Z\tparty@example.com\tParty\tcancelled",
        ]
    );
}
