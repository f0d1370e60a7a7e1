//! `add`, `edit`, `delete` and `restore` end to end: every change is checked through what
//! `agenda` then lists, and every refused change through the store's bytes staying the same.

use std::path::Path;

use super::{Fixture, almanac, arg, fails, lines, ok, stderr_of};

/// Runs `almanac add <store> <args>`; the id it printed, checked to be alone on stdout.
fn add(store: &Path, args: &[&str]) -> String {
    let out = ok(&[&["add", arg(store)], args].concat());
    let id = out.strip_suffix('\n').expect("one line");
    assert_eq!(id.len(), 32, "{out:?}");
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()), "{out:?}");
    id.to_owned()
}

/// Runs a change that must succeed silently.
fn change(args: &[&str]) {
    assert_eq!(ok(args), "", "{args:?} printed something");
}

/// The agenda of the inclusive days `from..=to` in `zone`, with the event ids replaced by
/// `names` (id, name) so expectations stay readable.
fn agenda(store: &Path, from: &str, to: &str, zone: &str, names: &[(&str, &str)]) -> Vec<String> {
    let out = ok(&["agenda", arg(store), "--from", from, "--to", to, "--zone", zone]);
    lines(&out)
        .into_iter()
        .map(|line| names.iter().fold(line.to_owned(), |line, (id, name)| line.replace(id, name)))
        .collect()
}

/// What a refused command must leave unchanged: the store file, its write-ahead log (where
/// SQLite keeps recent transactions) and what `agenda` lists.
#[derive(PartialEq)]
struct Snapshot {
    store: Vec<u8>,
    wal: Option<Vec<u8>>,
    agenda: String,
}

fn snapshot(store: &Path) -> Snapshot {
    // A query may extend the store's occurrence index, so the agenda is read before the bytes:
    // the bytes are then those of a store whose index already covers the range.
    let agenda = ok(&["agenda", arg(store), "--from", "2025-01-01", "--to", "2027-12-31"]);
    let mut wal = store.as_os_str().to_owned();
    wal.push("-wal");
    Snapshot {
        store: std::fs::read(store).expect("read store"),
        wal: std::fs::read(wal).ok(),
        agenda,
    }
}

#[test]
fn add_prints_only_a_new_id_creates_store_and_calendar_and_agenda_lists_the_event() {
    let fixture = Fixture::new();
    let store = fixture.path("new.almanac");
    let first = add(
        &store,
        &["--calendar", "work", "--title", "Review", "--start", "2026-03-10T09:00:00Z"],
    );
    let second =
        add(&store, &["--calendar", "work", "--title", "Lunch", "--start", "2026-03-10T12:00:00Z"]);
    assert_ne!(first, second);
    assert_eq!(
        agenda(&store, "2026-03-10", "2026-03-10", "UTC", &[]),
        [
            format!("2026-03-10T09:00:00Z\t2026-03-10T10:00:00Z\t{first}\tReview"),
            format!("2026-03-10T12:00:00Z\t2026-03-10T13:00:00Z\t{second}\tLunch"),
        ]
    );
    let stats = ok(&["stats", arg(&store)]);
    assert!(stats.contains("\ncalendars:              1 live, 0 deleted\n"), "{stats}");
    assert!(stats.contains("\nevents:                 2 live, 0 deleted\n"), "{stats}");
    // The calendar was created once, named after its id.
    assert!(ok(&["export", arg(&store), "--calendar", "work"]).contains("X-WR-CALNAME:work\r\n"));
}

#[test]
fn add_reads_all_day_local_rfc3339_and_zoned_starts() {
    let fixture = Fixture::new();
    let store = fixture.path("kinds.almanac");
    let day = add(&store, &["--calendar", "c", "--title", "Day", "--start", "2026-03-10"]);
    let trip = add(
        &store,
        &["--calendar", "c", "--title", "Trip", "--start", "2026-03-11", "--end", "2026-03-13"],
    );
    let floating = add(
        &store,
        &[
            "--calendar",
            "c",
            "--title",
            "Wake",
            "--start",
            "2026-03-10T07:00",
            "--duration",
            "PT10M",
        ],
    );
    let utc = add(
        &store,
        &[
            &["--calendar", "c", "--title", "Utc", "--start", "2026-03-10T09:00:00Z"][..],
            // Read in UTC, like the start.
            &["--end", "2026-03-10T10:30"],
        ]
        .concat(),
    );
    let offset = add(
        &store,
        &["--calendar", "c", "--title", "Offset", "--start", "2026-03-10T09:00:00+01:00"],
    );
    let zoned = add(
        &store,
        &[
            "--calendar",
            "c",
            "--title",
            "Zoned",
            "--start",
            "2026-03-10T09:00:00",
            "--end",
            "2026-03-10T09:45",
            "--zone",
            "America/New_York",
        ],
    );
    let names = [
        (day.as_str(), "day"),
        (trip.as_str(), "trip"),
        (floating.as_str(), "floating"),
        (utc.as_str(), "utc"),
        (offset.as_str(), "offset"),
        (zoned.as_str(), "zoned"),
    ];
    assert_eq!(
        agenda(&store, "2026-03-10", "2026-03-12", "UTC", &names),
        [
            "2026-03-10\t2026-03-11\tday\tDay",
            "2026-03-10T07:00:00Z\t2026-03-10T07:10:00Z\tfloating\tWake",
            "2026-03-10T08:00:00Z\t2026-03-10T09:00:00Z\toffset\tOffset",
            "2026-03-10T09:00:00Z\t2026-03-10T10:30:00Z\tutc\tUtc",
            // New York is on daylight time (-04:00) from 2026-03-08.
            "2026-03-10T13:00:00Z\t2026-03-10T13:45:00Z\tzoned\tZoned",
            "2026-03-11\t2026-03-13\ttrip\tTrip",
        ]
    );
    // Floating and all-day events follow the viewer; the others are instants.
    assert_eq!(
        agenda(&store, "2026-03-10", "2026-03-10", "Asia/Tokyo", &names),
        [
            "2026-03-10\t2026-03-11\tday\tDay",
            "2026-03-10T07:00:00+09:00\t2026-03-10T07:10:00+09:00\tfloating\tWake",
            "2026-03-10T17:00:00+09:00\t2026-03-10T18:00:00+09:00\toffset\tOffset",
            "2026-03-10T18:00:00+09:00\t2026-03-10T19:30:00+09:00\tutc\tUtc",
            "2026-03-10T22:00:00+09:00\t2026-03-10T22:45:00+09:00\tzoned\tZoned",
        ]
    );
}

#[test]
fn add_with_a_zone_keeps_wall_times_across_daylight_saving_and_without_keeps_the_instant() {
    let fixture = Fixture::new();
    let store = fixture.path("dst.almanac");
    let weekly = ["--rrule", "FREQ=WEEKLY;COUNT=2"];
    // Paris moves to summer time on 2026-03-29, between the two occurrences.
    let zoned = add(
        &store,
        &[
            &["--calendar", "c", "--title", "Zoned", "--start", "2026-03-23T09:00:00+01:00"][..],
            &["--zone", "Europe/Paris"],
            &weekly,
        ]
        .concat(),
    );
    let utc = add(
        &store,
        &[
            &["--calendar", "c", "--title", "Utc", "--start", "2026-03-23T10:00:00+01:00"][..],
            &weekly,
        ]
        .concat(),
    );
    assert_eq!(
        agenda(&store, "2026-03-23", "2026-03-31", "Europe/Paris", &[(&zoned, "z"), (&utc, "u")]),
        [
            "2026-03-23T09:00:00+01:00\t2026-03-23T10:00:00+01:00\tz\tZoned",
            "2026-03-23T10:00:00+01:00\t2026-03-23T11:00:00+01:00\tu\tUtc",
            "2026-03-30T09:00:00+02:00\t2026-03-30T10:00:00+02:00\tz\tZoned",
            "2026-03-30T11:00:00+02:00\t2026-03-30T12:00:00+02:00\tu\tUtc",
        ]
    );
}

/// A store with a weekly Paris standup, Mondays 09:00 from 2026-01-05, six occurrences.
fn standup(fixture: &Fixture) -> (std::path::PathBuf, String) {
    let store = fixture.path("series.almanac");
    let id = add(
        &store,
        &[
            "--calendar",
            "work",
            "--title",
            "Standup",
            "--start",
            "2026-01-05T09:00",
            "--zone",
            "Europe/Paris",
            "--rrule",
            "FREQ=WEEKLY;COUNT=6",
        ],
    );
    (store, id)
}

fn standup_agenda(store: &Path, id: &str) -> Vec<String> {
    agenda(store, "2026-01-01", "2026-02-28", "Europe/Paris", &[(id, "s")])
}

#[test]
fn edit_one_occurrence_this_and_following_and_the_whole_series() {
    let fixture = Fixture::new();
    let (store, id) = standup(&fixture);
    let store_arg = arg(&store);
    // One occurrence, named as `agenda --zone Europe/Paris` prints it: moved and renamed.
    change(&[
        "edit",
        store_arg,
        &id,
        "--occurrence",
        "2026-01-12T09:00:00+01:00",
        "--title",
        "Planning",
        "--start",
        "2026-01-13T14:00",
    ]);
    // One occurrence named by its wall time in the event's zone; only the end changes.
    change(&[
        "edit",
        store_arg,
        &id,
        "--occurrence",
        "2026-01-19T09:00",
        "--end",
        "2026-01-19T09:15",
    ]);
    // This and following, named in UTC: later occurrences move by as much and keep their length.
    change(&[
        "edit",
        store_arg,
        &id,
        "--occurrence",
        "2026-01-26T08:00:00Z",
        "--following",
        "--title",
        "Standup v2",
        "--start",
        "2026-01-26T10:30",
    ]);
    // The whole series: a wider edit replaces the narrower titles this device had seen (the
    // times, which it does not set, stay).
    change(&["edit", store_arg, &id, "--title", "Daily"]);
    assert_eq!(
        standup_agenda(&store, &id),
        [
            "2026-01-05T09:00:00+01:00\t2026-01-05T10:00:00+01:00\ts\tDaily",
            "2026-01-13T14:00:00+01:00\t2026-01-13T15:00:00+01:00\ts\tDaily",
            "2026-01-19T09:00:00+01:00\t2026-01-19T09:15:00+01:00\ts\tDaily",
            "2026-01-26T10:30:00+01:00\t2026-01-26T11:30:00+01:00\ts\tDaily",
            "2026-02-02T10:30:00+01:00\t2026-02-02T11:30:00+01:00\ts\tDaily",
            "2026-02-09T10:30:00+01:00\t2026-02-09T11:30:00+01:00\ts\tDaily",
        ]
    );
}

#[test]
fn delete_one_occurrence_then_following_then_all_and_restore() {
    let fixture = Fixture::new();
    let (store, id) = standup(&fixture);
    let store_arg = arg(&store);
    change(&["delete", store_arg, &id, "--occurrence", "2026-01-12T08:00:00Z"]);
    assert_eq!(
        standup_agenda(&store, &id)
            .iter()
            .map(|line| line.split('\t').next().expect("start"))
            .collect::<Vec<_>>(),
        [
            "2026-01-05T09:00:00+01:00",
            "2026-01-19T09:00:00+01:00",
            "2026-01-26T09:00:00+01:00",
            "2026-02-02T09:00:00+01:00",
            "2026-02-09T09:00:00+01:00",
        ]
    );
    change(&["delete", store_arg, &id, "--occurrence", "2026-01-26T09:00", "--following"]);
    let kept = [
        "2026-01-05T09:00:00+01:00\t2026-01-05T10:00:00+01:00\ts\tStandup",
        "2026-01-19T09:00:00+01:00\t2026-01-19T10:00:00+01:00\ts\tStandup",
    ];
    assert_eq!(standup_agenda(&store, &id), kept);

    change(&["delete", store_arg, &id]);
    assert_eq!(standup_agenda(&store, &id), Vec::<String>::new());
    let stats = ok(&["stats", store_arg]);
    assert!(stats.contains("\nevents:                 0 live, 1 deleted\n"), "{stats}");
    // Restored with the cancelled occurrence and the truncation it had.
    change(&["restore", store_arg, &id]);
    assert_eq!(standup_agenda(&store, &id), kept);
}

#[test]
fn a_deleted_occurrence_is_restored_as_it_was_and_stays_deleted_when_the_series_moves() {
    let fixture = Fixture::new();
    let (store, id) = standup(&fixture);
    let store_arg = arg(&store);
    let line = |store: &Path, start: &str| {
        standup_agenda(store, &id).into_iter().find(|l| l.starts_with(start))
    };
    // Jan 12 moved to Tuesday 15:00 and renamed, deleted, restored: back as it was.
    let occurrence = ["--occurrence", "2026-01-12T09:00"];
    change(&[&["edit", store_arg, &id], &occurrence[..], &["--title", "Moved"]].concat());
    change(
        &[&["edit", store_arg, &id], &occurrence[..], &["--start", "2026-01-13T15:00"]].concat(),
    );
    change(&[&["delete", store_arg, &id], &occurrence[..]].concat());
    assert_eq!(line(&store, "2026-01-13"), None);
    change(&[&["restore", store_arg, &id], &occurrence[..]].concat());
    assert_eq!(
        line(&store, "2026-01-13").as_deref(),
        Some("2026-01-13T15:00:00+01:00\t2026-01-13T16:00:00+01:00\ts\tMoved")
    );
    let not_deleted = fails(&["restore", store_arg, &id, "--occurrence", "2026-01-19T09:00"]);
    assert!(not_deleted.contains("not deleted"), "{not_deleted}");
    // Deleted again, then the whole series moves to 10:00: it stays deleted; restored, it keeps
    // its title, and the time is the series' new one (the later "all events" time replaced the
    // earlier move of that occurrence, decision 0016).
    change(&[&["delete", store_arg, &id], &occurrence[..]].concat());
    change(&["edit", store_arg, &id, "--start", "2026-01-05T10:00"]);
    assert_eq!(line(&store, "2026-01-12"), None);
    assert_eq!(line(&store, "2026-01-13"), None);
    change(&["restore", store_arg, &id, "--occurrence", "2026-01-12T10:00"]);
    assert_eq!(
        line(&store, "2026-01-12").as_deref(),
        Some("2026-01-12T10:00:00+01:00\t2026-01-12T11:00:00+01:00\ts\tMoved")
    );
}

#[test]
fn all_day_and_floating_series_name_occurrences_as_agenda_prints_them() {
    let fixture = Fixture::new();
    let store = fixture.path("series.almanac");
    let trip = add(
        &store,
        &[
            "--calendar",
            "c",
            "--title",
            "Trip",
            "--start",
            "2026-03-02",
            "--rrule",
            "FREQ=DAILY;COUNT=5",
        ],
    );
    change(&["delete", arg(&store), &trip, "--occurrence", "2026-03-03"]);
    change(&["edit", arg(&store), &trip, "--occurrence", "2026-03-05", "--title", "Last day"]);
    change(&["edit", arg(&store), &trip, "--occurrence", "2026-03-06", "--start", "2026-03-07"]);
    // A floating alarm is printed at 07:00 in any viewer zone, and named that way.
    let wake = add(
        &store,
        &[
            "--calendar",
            "c",
            "--title",
            "Wake",
            "--start",
            "2026-03-02T07:00",
            "--duration",
            "PT5M",
            "--rrule",
            "FREQ=DAILY;COUNT=3",
        ],
    );
    change(&["delete", arg(&store), &wake, "--occurrence", "2026-03-03T07:00:00+09:00"]);
    assert_eq!(
        agenda(&store, "2026-03-01", "2026-03-08", "Asia/Tokyo", &[(&trip, "t"), (&wake, "w")]),
        [
            "2026-03-02\t2026-03-03\tt\tTrip",
            "2026-03-02T07:00:00+09:00\t2026-03-02T07:05:00+09:00\tw\tWake",
            "2026-03-04\t2026-03-05\tt\tTrip",
            "2026-03-04T07:00:00+09:00\t2026-03-04T07:05:00+09:00\tw\tWake",
            "2026-03-05\t2026-03-06\tt\tLast day",
            "2026-03-07\t2026-03-08\tt\tTrip",
        ]
    );
}

#[test]
fn edit_with_only_a_start_keeps_the_length() {
    let fixture = Fixture::new();
    let store = fixture.path("length.almanac");
    let s = arg(&store);
    let meeting = add(
        &store,
        &[
            &["--calendar", "c", "--title", "Meeting", "--start", "2026-03-10T09:00"][..],
            &["--end", "2026-03-10T09:45", "--zone", "Europe/Paris"],
        ]
        .concat(),
    );
    let trip = add(
        &store,
        &["--calendar", "c", "--title", "Trip", "--start", "2026-03-10", "--end", "2026-03-12"],
    );
    let call = add(
        &store,
        &[
            "--calendar",
            "c",
            "--title",
            "Call",
            "--start",
            "2026-03-10T09:00",
            "--end",
            "2026-03-10T09:20",
        ],
    );
    change(&["edit", s, &meeting, "--start", "2026-03-11T14:00"]);
    change(&["edit", s, &trip, "--start", "2026-03-20"]);
    // A floating call moved to an instant: it keeps its 20 minutes, now at that instant.
    change(&["edit", s, &call, "--start", "2026-03-12T10:00:00Z"]);
    let names = [(meeting.as_str(), "m"), (trip.as_str(), "t"), (call.as_str(), "c")];
    assert_eq!(
        agenda(&store, "2026-03-01", "2026-03-31", "Asia/Tokyo", &names),
        [
            "2026-03-11T22:00:00+09:00\t2026-03-11T22:45:00+09:00\tm\tMeeting",
            "2026-03-12T19:00:00+09:00\t2026-03-12T19:20:00+09:00\tc\tCall",
            "2026-03-20\t2026-03-22\tt\tTrip",
        ]
    );
}

#[test]
fn an_occurrence_moved_by_an_edit_can_be_named_by_its_new_start() {
    let fixture = Fixture::new();
    let (store, id) = standup(&fixture);
    change(&[
        "edit",
        arg(&store),
        &id,
        "--occurrence",
        "2026-01-26T09:00",
        "--following",
        "--start",
        "2026-01-26T11:00",
    ]);
    change(&["delete", arg(&store), &id, "--occurrence", "2026-02-02T11:00:00+01:00"]);
    let starts: Vec<String> = standup_agenda(&store, &id)
        .iter()
        .map(|line| line.split('\t').next().expect("start").to_owned())
        .collect();
    assert_eq!(
        starts,
        [
            "2026-01-05T09:00:00+01:00",
            "2026-01-12T09:00:00+01:00",
            "2026-01-19T09:00:00+01:00",
            "2026-01-26T11:00:00+01:00",
            "2026-02-09T11:00:00+01:00",
        ]
    );
}

#[test]
fn refused_changes_say_why_and_leave_the_store_byte_identical() {
    let fixture = Fixture::new();
    let (store, series) = standup(&fixture);
    let s = arg(&store);
    let single =
        add(&store, &["--calendar", "work", "--title", "One", "--start", "2026-01-07T10:00:00Z"]);
    let gone = add(&store, &["--calendar", "work", "--title", "Gone", "--start", "2026-01-08"]);
    change(&["delete", s, &gone]);
    change(&["delete", s, &series, "--occurrence", "2026-01-12T09:00"]);
    change(&["delete", s, &series, "--occurrence", "2026-02-02T09:00", "--following"]);
    let missing = fixture.path("missing.almanac");
    let m = arg(&missing);

    let add_args = |extra: &[&'static str]| -> Vec<&'static str> {
        [&["--calendar", "work", "--title", "New"][..], extra].concat()
    };
    let cases: Vec<(Vec<&str>, &str)> = vec![
        // add
        ([&["add", s][..], &add_args(&["--start", "2026-02-30"])].concat(), "--start"),
        ([&["add", s][..], &add_args(&["--start", "next monday"])].concat(), "--start"),
        ([&["add", s][..], &add_args(&["--start", "2026-01-05T25:00"])].concat(), "--start"),
        (
            [
                &["add", s][..],
                &add_args(&["--start", "2026-01-05T09:00", "--zone", "Mars/Olympus"]),
            ]
            .concat(),
            "Mars/Olympus",
        ),
        (
            [
                &["add", s][..],
                &add_args(&["--start", "2026-01-05", "--rrule", "FREQ=DAILY;BYDAY=1MO"]),
            ]
            .concat(),
            "--rrule",
        ),
        (
            [&["add", s][..], &add_args(&["--start", "2026-01-05", "--rrule", "COUNT=3"])].concat(),
            "--rrule",
        ),
        (
            [&["add", s][..], &add_args(&["--start", "2026-01-05", "--end", "2026-01-05T10:00"])]
                .concat(),
            "is a time but the start is a date",
        ),
        (
            [&["add", s][..], &add_args(&["--start", "2026-01-05T10:00", "--end", "2026-01-06"])]
                .concat(),
            "is a date but the start is a time",
        ),
        (
            [
                &["add", s][..],
                &add_args(&["--start", "2026-01-05T10:00", "--end", "2026-01-05T09:00"]),
            ]
            .concat(),
            "before",
        ),
        (
            [&["add", s][..], &add_args(&["--start", "2026-01-05", "--end", "2026-01-04"])]
                .concat(),
            "before",
        ),
        (
            [&["add", s][..], &add_args(&["--start", "2026-01-05T10:00", "--duration", "1 hour"])]
                .concat(),
            "--duration",
        ),
        (
            [&["add", s][..], &add_args(&["--start", "2026-01-05", "--duration", "PT2H"])].concat(),
            "--duration",
        ),
        (
            [&["add", s][..], &add_args(&["--start", "2026-01-05T10:00", "--duration=-PT1H"])]
                .concat(),
            "--duration",
        ),
        (
            [
                &["add", s][..],
                &add_args(&["--start", "2026-01-05T09:00", "--end", "2026-01-05T10:00Z"]),
            ]
            .concat(),
            "floating",
        ),
        // edit
        (vec!["edit", s, "no-such-event", "--title", "X"], "no-such-event"),
        (vec!["edit", s, &series], "nothing to change"),
        (vec!["edit", s, &gone, "--title", "X"], "deleted"),
        (vec!["edit", s, &series, "--start", "soon"], "--start"),
        (vec!["edit", s, &series, "--end", "2026-01-05T08:00"], "before"),
        (vec!["edit", s, &series, "--start", "2026-01-05"], "--end too"),
        (
            vec!["edit", s, &series, "--occurrence", "2026-01-06T09:00", "--title", "X"],
            "no occurrence",
        ),
        (
            vec!["edit", s, &series, "--occurrence", "2027-01-04T09:00", "--title", "X"],
            "no occurrence",
        ),
        (vec!["edit", s, &series, "--occurrence", "2026-01-05", "--title", "X"], "not all-day"),
        (vec!["edit", s, &series, "--occurrence", "whenever", "--title", "X"], "--occurrence"),
        (
            vec!["edit", s, &series, "--occurrence", "2026-01-12T09:00", "--title", "X"],
            "is deleted",
        ),
        (vec!["edit", s, &series, "--occurrence", "2026-02-09T09:00", "--title", "X"], "following"),
        (
            vec!["edit", s, &single, "--occurrence", "2026-01-07T10:00:00Z", "--title", "X"],
            "does not repeat",
        ),
        (vec!["edit", m, &series, "--title", "X"], "does not exist"),
        // delete
        (vec!["delete", s, "no-such-event"], "no-such-event"),
        (vec!["delete", s, &gone], "deleted"),
        (vec!["delete", s, &series, "--occurrence", "2026-01-05T10:00"], "no occurrence"),
        (vec!["delete", s, &series, "--occurrence", "2026-01-12T09:00"], "is deleted"),
        (
            vec!["delete", s, &series, "--occurrence", "2026-02-09T09:00", "--following"],
            "following",
        ),
        (vec!["delete", s, &single, "--occurrence", "2026-01-07T10:00:00Z"], "does not repeat"),
        (vec!["delete", m, &series], "does not exist"),
        // restore
        (vec!["restore", s, "no-such-event"], "no-such-event"),
        (vec!["restore", s, &series], "not deleted"),
        (vec!["restore", m, &gone], "does not exist"),
    ];
    for (command, reason) in cases {
        let before = snapshot(&store);
        let stderr = fails(&command);
        assert!(stderr.contains(reason), "{command:?}: expected {reason:?} in {stderr}");
        assert!(snapshot(&store) == before, "{command:?} changed the store");
    }
    assert!(!missing.exists(), "a command on a missing store created it");

    // `add` creates a missing store, but not for bad input.
    let stderr = fails(&["add", m, "--calendar", "c", "--title", "T", "--start", "2026-01-32"]);
    assert!(stderr.contains("--start"), "{stderr}");
    assert!(!missing.exists(), "a refused add created the store");
}

#[test]
fn usage_errors_of_the_change_commands_exit_with_status_2_and_change_nothing() {
    let fixture = Fixture::new();
    let (store, id) = standup(&fixture);
    let s = arg(&store);
    for command in [
        vec!["edit", s, &id, "--following", "--title", "X"],
        vec!["delete", s, &id, "--following"],
        vec![
            "add",
            s,
            "--calendar",
            "c",
            "--title",
            "T",
            "--start",
            "2026-01-05",
            "--end",
            "2026-01-06",
            "--duration",
            "P1D",
        ],
        vec!["add", s, "--title", "T", "--start", "2026-01-05"],
        vec!["restore", s],
    ] {
        let before = snapshot(&store);
        let output = almanac(&command);
        assert_eq!(output.status.code(), Some(2), "{command:?}: {}", stderr_of(&output));
        assert!(output.stdout.is_empty(), "{command:?}");
        assert!(snapshot(&store) == before, "{command:?} changed the store");
    }
}
