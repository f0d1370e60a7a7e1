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

const ALL: &[&str] = &[
    "cancelled-event.ics",
    "custom-zones.ics",
    "instance-series.ics",
    "instance-without-series.ics",
    "legacy-recurrence.ics",
    "rdate-forms.ics",
    "recurrence-id-shapes.ics",
    "salvaged-rule.ics",
    "several-masters.ics",
    "this-and-future-until.ics",
    "unclosed-components.ics",
];

const FROM: &str = "2023-12-01T00:00:00Z";
const TO: &str = "2027-01-01T00:00:00Z";

fn rows(lines: &[&str]) -> Vec<String> {
    lines.iter().map(|l| (*l).to_owned()).collect()
}

#[test]
fn the_fixture_list_names_every_file() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ics/lenient");
    let mut on_disk: Vec<String> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".ics"))
        .collect();
    on_disk.sort();
    assert_eq!(on_disk, ALL);
}

const STANDUP: &str = "standup-7c1e@corp.example";

/// The standup after both files: the series' Mondays at 09:00 Berlin, the instance's move of
/// Jan 12 to 10:00 with its title, Jan 19 cancelled by the instance.
const STANDUP_SERIES: &[&str] = &[
    "2026-01-05T08:00:00Z 2026-01-05T08:30:00Z standup-7c1e@corp.example Standup",
    "2026-01-12T09:00:00Z 2026-01-12T09:30:00Z standup-7c1e@corp.example Standup (moved for the offsite)",
    "2026-01-26T08:00:00Z 2026-01-26T08:30:00Z standup-7c1e@corp.example Standup",
];

fn without_series_message(rid: &str) -> String {
    format!(
        "this occurrence (RECURRENCE-ID {rid}) came without its series; it was imported as an \
         event of its own and becomes an override of the series when that is imported or synced"
    )
}

#[test]
fn class_1_an_instance_without_its_series_is_imported_and_adopted_when_the_series_arrives() {
    let db = open();
    let report = import(&db.store, "work", &read("instance-without-series.ics"));
    assert_eq!(report.counts(), counts(2, 2, 0, 0, 0));
    assert_eq!(
        messages(&report),
        vec![
            format!("5: {}", without_series_message("2026-01-12T09:00:00[Europe/Berlin]")),
            format!("16: {}", without_series_message("2026-01-19T09:00:00[Europe/Berlin]")),
        ]
    );
    assert!(
        report.vevents.iter().all(|v| v.fate == VeventFate::Imported { event: STANDUP.into() })
    );
    // Alone, it is exactly its occurrence, at its own time; the cancelled one is kept, not shown.
    assert_eq!(
        view(&db.store, "work", FROM, TO),
        rows(&[
            "2026-01-12T09:00:00Z 2026-01-12T09:30:00Z standup-7c1e@corp.example Standup (moved for the offsite)"
        ])
    );
    let event = db.store.event(STANDUP).expect("read").expect("event");
    assert!(event.instance_only);
    assert_eq!(event.overrides.len(), 2);
    assert!(event.overrides["20260119"].cancelled);

    // The series arrives by a later import: the instances become its overrides.
    let report = import(&db.store, "work", &read("instance-series.ics"));
    assert_eq!(report.counts(), counts(1, 1, 0, 0, 0));
    assert!(report.issues.is_empty(), "{:?}", report.issues);
    assert_eq!(view(&db.store, "work", FROM, TO), rows(STANDUP_SERIES));
    assert!(!db.store.event(STANDUP).expect("read").expect("event").instance_only);
}

#[test]
fn class_1_an_instance_is_adopted_by_a_series_another_device_imported() {
    let (a, b) = (open(), open());
    import(&a.store, "work", &read("instance-without-series.ics"));
    import(&b.store, "work", &read("instance-series.ics"));
    sync_spaces(&a.store, &b.store);
    sync_spaces(&b.store, &a.store);
    for db in [&a, &b] {
        assert_eq!(view(&db.store, "work", FROM, TO), rows(STANDUP_SERIES));
    }
    // The merge needs no conflict: the instance wrote only its override and the stand-in.
    assert!(a.store.conflicts().expect("conflicts").is_empty());
    let log = a.store.calendar_conflicts().expect("log");
    assert!(log.is_empty(), "{log:#?}");
}

#[test]
fn class_1_an_instance_in_a_later_file_becomes_an_override_of_the_stored_series() {
    let db = open();
    import(&db.store, "work", &read("instance-series.ics"));
    let report = import(&db.store, "work", &read("instance-without-series.ics"));
    assert_eq!(report.counts(), counts(2, 0, 2, 0, 0));
    assert!(report.issues.is_empty(), "{:?}", report.issues);
    assert_eq!(view(&db.store, "work", FROM, TO), rows(STANDUP_SERIES));
}

#[test]
fn class_2_the_newest_master_wins_copies_are_superseded_and_different_events_are_kept() {
    let db = open();
    let report = import(&db.store, "c", &read("several-masters.ics"));
    assert_eq!(report.counts(), counts(8, 4, 1, 3, 0));
    assert_eq!(
        messages(&report),
        vec![
            "4: an older copy of this event (SEQUENCE 0, DTSTAMP 20260201T100000Z) is superseded \
             by the one on line 12 (SEQUENCE 2, DTSTAMP 20260203T090000Z)",
            "20: an older copy of this event (SEQUENCE 1, DTSTAMP 20260205T090000Z) is \
             superseded by the one on line 12 (SEQUENCE 2, DTSTAMP 20260203T090000Z)",
            "35: a second copy of this event (same start, rule and version) is superseded by the \
             one on line 28",
            "50: another event with this UID and the same version but a different start or rule \
             was kept as a separate event with UID class@booking.example-8b2a1224",
        ]
    );
    let fates: Vec<(Option<usize>, VeventFate)> =
        report.vevents.iter().map(|v| (v.line, v.fate.clone())).collect();
    let imported = |e: &str| VeventFate::Imported { event: e.into() };
    assert_eq!(
        fates,
        vec![
            (Some(4), VeventFate::Superseded { by_line: Some(12) }),
            (Some(12), imported("review-31@booking.example")),
            (Some(20), VeventFate::Superseded { by_line: Some(12) }),
            (Some(28), imported("dentist-8@booking.example")),
            (Some(35), VeventFate::Superseded { by_line: Some(28) }),
            (Some(42), imported("class@booking.example")),
            (Some(50), imported("class@booking.example-8b2a1224")),
            (Some(58), VeventFate::Override { event: "review-31@booking.example".into() }),
        ]
    );
    assert_eq!(
        view(&db.store, "c", FROM, TO),
        rows(&[
            "2026-03-02T15:00:00Z 2026-03-02T16:00:00Z review-31@booking.example Design review (room 4)",
            "2026-03-03T17:00:00Z 2026-03-03T18:00:00Z class@booking.example Pottery class",
            "2026-03-04T08:00:00Z 2026-03-04T08:30:00Z dentist-8@booking.example Dentist",
            "2026-03-05T18:00:00Z 2026-03-05T19:00:00Z class@booking.example-8b2a1224 Yoga class",
            "2026-03-10T17:00:00Z 2026-03-10T18:00:00Z class@booking.example Pottery class",
            "2026-03-12T18:00:00Z 2026-03-12T19:00:00Z class@booking.example-8b2a1224 Yoga class",
        ])
    );
    // Importing the file again finds the kept copy under the same id.
    let again = import(&db.store, "c", &read("several-masters.ics"));
    assert_eq!(again.events, report.events);
    assert_eq!(view(&db.store, "c", FROM, TO).len(), 6);
}

#[test]
fn class_3_valid_rule_parts_are_kept_and_the_dropped_ones_reported() {
    let db = open();
    let report = import(&db.store, "c", &read("salvaged-rule.ics"));
    assert_eq!(report.counts(), counts(3, 3, 0, 0, 0));
    assert_eq!(
        messages(&report),
        vec![
            "4: RRULE part COUNT=-1: COUNT=-1 is not a whole number; the part was dropped, the \
             rest of the rule is kept",
            "12: RRULE part BYHOUR=25: BYHOUR=25 is out of range 0..=23; the part was dropped, \
             the rest of the rule is kept",
            "20: RRULE ignored: invalid input: recurrence rule 'INTERVAL=2;COUNT=3': FREQ is \
             missing",
        ]
    );
    assert_eq!(
        view(&db.store, "c", FROM, TO),
        rows(&[
            "2024-01-01T18:00:00Z 2024-01-01T19:30:00Z training-4w@club.example Training",
            "2024-01-02T17:30:00Z 2024-01-02T19:00:00Z meetup@club.example Meetup",
            "2024-01-03T11:00:00Z 2024-01-03T12:00:00Z nofreq@club.example Lunch",
            "2024-01-29T18:00:00Z 2024-01-29T19:30:00Z training-4w@club.example Training",
            "2024-02-06T17:30:00Z 2024-02-06T19:00:00Z meetup@club.example Meetup",
            "2024-02-26T18:00:00Z 2024-02-26T19:30:00Z training-4w@club.example Training",
            "2024-03-05T17:30:00Z 2024-03-05T19:00:00Z meetup@club.example Meetup",
            "2024-03-25T18:00:00Z 2024-03-25T19:30:00Z training-4w@club.example Training",
        ])
    );
    // The X- part stays with the rule; the UNTIL DATE is stored as the UTC end of that day.
    let meetup = db.store.event("meetup@club.example").expect("read").expect("event");
    assert_eq!(
        meetup.rule.map(|r| r.to_string()).as_deref(),
        Some("FREQ=MONTHLY;COUNT=3;BYDAY=1TU;X-NAME=club")
    );
    let training = db.store.event("training-4w@club.example").expect("read").expect("event");
    assert_eq!(
        training.rule.map(|r| r.to_string()).as_deref(),
        Some("FREQ=WEEKLY;UNTIL=20240331T215959Z;INTERVAL=4;BYDAY=MO")
    );
}

#[test]
fn class_4_several_rrules_are_a_union_and_exrule_subtracts() {
    let db = open();
    let report = import(&db.store, "c", &read("legacy-recurrence.ics"));
    assert_eq!(report.counts(), counts(1, 1, 0, 0, 0));
    assert_eq!(
        messages(&report),
        vec![
            "4: a further RRULE (FREQ=WEEKLY;COUNT=3;BYDAY=TH) was stored as 2 RDATEs, since an \
             event keeps one rule",
            "4: EXRULE (FREQ=WEEKLY;UNTIL=20260131T000000Z;INTERVAL=2;BYDAY=MO) was stored as 2 \
             EXDATEs, since an event keeps one rule",
        ]
    );
    // Mondays Jan 5, 12, 19, 26 and Thursdays Jan 8, 15, less every other Monday from Jan 5.
    assert_eq!(
        view(&db.store, "c", FROM, TO),
        rows(&[
            "2026-01-08T23:00:00Z 2026-01-09T00:00:00Z lessons@old.example Piano lessons",
            "2026-01-12T23:00:00Z 2026-01-13T00:00:00Z lessons@old.example Piano lessons",
            "2026-01-15T23:00:00Z 2026-01-16T00:00:00Z lessons@old.example Piano lessons",
            "2026-01-26T23:00:00Z 2026-01-27T00:00:00Z lessons@old.example Piano lessons",
        ])
    );
}

#[test]
fn class_4_an_endless_further_rule_is_cut_and_the_cut_reported() {
    let text = read("legacy-recurrence.ics")
        .replace("RRULE:FREQ=WEEKLY;BYDAY=TH;COUNT=3", "RRULE:FREQ=DAILY")
        .replace("EXRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;UNTIL=20260131T000000Z\r\n", "");
    let db = open();
    let report = import(&db.store, "c", &text);
    assert_eq!(
        messages(&report),
        vec![
            "4: a further RRULE (FREQ=DAILY) was stored as 999 RDATEs, since an event keeps one \
             rule; it was cut after 1000 dates, at 2028-09-30T18:00:00[America/New_York]"
        ]
    );
    let event = db.store.event("lessons@old.example").expect("read").expect("event");
    assert_eq!(event.rdates.len(), 999);
}

#[test]
fn class_5_rdate_periods_dates_on_timed_series_and_windows_zones() {
    let db = open();
    let report = import(&db.store, "c", &read("rdate-forms.ics"));
    assert_eq!(report.counts(), counts(3, 3, 0, 0, 0));
    assert!(report.issues.is_empty(), "{:?}", report.issues);
    assert_eq!(
        view(&db.store, "c", FROM, TO),
        rows(&[
            "2026-03-02T00:00:00Z 2026-03-03T00:00:00Z fair@rooms.example Book fair",
            "2026-03-02T08:00:00Z 2026-03-02T09:00:00Z workshop@rooms.example Workshop",
            "2026-03-02T14:00:00Z 2026-03-02T15:00:00Z clinic@rooms.example Clinic",
            "2026-03-04T13:00:00Z 2026-03-04T16:00:00Z workshop@rooms.example Workshop",
            "2026-03-05T14:00:00Z 2026-03-05T15:00:00Z clinic@rooms.example Clinic",
            "2026-03-06T08:00:00Z 2026-03-06T08:30:00Z workshop@rooms.example Workshop",
            "2026-03-06T14:00:00Z 2026-03-06T15:00:00Z clinic@rooms.example Clinic",
            "2026-03-10T00:00:00Z 2026-03-12T00:00:00Z fair@rooms.example Book fair",
            "2026-03-20T00:00:00Z 2026-03-23T00:00:00Z fair@rooms.example Book fair",
        ])
    );
}

#[test]
fn class_6_a_misspelt_end_costs_only_its_component() {
    let db = open();
    let report = import(&db.store, "c", &read("unclosed-components.ics"));
    assert_eq!(report.counts(), counts(5, 5, 0, 0, 0));
    assert_eq!(
        messages(&report),
        vec![
            "7: END:VTOOD does not match the open BEGIN:VTODO; it was read as END:VTODO",
            "14: VEVENT is not closed before BEGIN:VEVENT on line 19; it was closed there",
            "29: END:VALARM has no matching BEGIN:VALARM; it was ignored",
            "36: END:VEVENTS does not match the open BEGIN:VEVENT; it was read as END:VEVENT",
        ]
    );
    assert_eq!(
        view(&db.store, "c", FROM, TO),
        rows(&[
            "2026-03-02T10:00:00Z 2026-03-02T10:00:00Z a@hand.example First",
            "2026-03-03T10:00:00Z 2026-03-03T10:00:00Z b@hand.example Second (its END is missing)",
            "2026-03-04T10:00:00Z 2026-03-04T10:00:00Z c@hand.example Third",
            "2026-03-05T10:00:00Z 2026-03-05T10:00:00Z d@hand.example Fourth",
            "2026-03-06T10:00:00Z 2026-03-06T10:00:00Z e@hand.example Fifth",
        ])
    );
    // The stray END:VALARM did not close the event: its alarm stayed with it.
    let third = db.store.event("c@hand.example").expect("read").expect("event");
    assert_eq!(third.alarms.len(), 1);
}

const SURVEY_ZONE: &str = "<+12>-12<+10>-10,M4.1.0/3,M9.5.0/2";

#[test]
fn class_7_a_vtimezone_no_iana_zone_matches_keeps_its_own_rules_on_every_device() {
    let a = open();
    let report = import(&a.store, "c", &read("custom-zones.ics"));
    assert_eq!(report.counts(), counts(2, 2, 0, 0, 0));
    let own = |p: &str| {
        format!(
            "29: {p}: time zone 'MyTimezone' matches no IANA zone on the dates this file uses \
             it; the file's own VTIMEZONE rules are used, kept as the POSIX rule {SURVEY_ZONE}"
        )
    };
    // The Windows display name with its accent is read by its name: no issue for it.
    assert_eq!(messages(&report), vec![own("DTSTART"), own("DTEND")]);
    // +12:00 from the last Sunday of September to the first of April, +10:00 between.
    let expected = rows(&[
        "2026-01-14T21:00:00Z 2026-01-14T22:00:00Z survey@field.example Survey call",
        "2026-02-14T21:00:00Z 2026-02-14T22:00:00Z survey@field.example Survey call",
        "2026-03-10T13:00:00Z 2026-03-10T14:00:00Z sync@field.example Sync with São Paulo",
        "2026-03-14T21:00:00Z 2026-03-14T22:00:00Z survey@field.example Survey call",
        "2026-04-14T23:00:00Z 2026-04-15T00:00:00Z survey@field.example Survey call",
        "2026-05-14T23:00:00Z 2026-05-15T00:00:00Z survey@field.example Survey call",
        "2026-06-14T23:00:00Z 2026-06-15T00:00:00Z survey@field.example Survey call",
        "2026-07-14T23:00:00Z 2026-07-15T00:00:00Z survey@field.example Survey call",
        "2026-08-14T23:00:00Z 2026-08-15T00:00:00Z survey@field.example Survey call",
        "2026-09-14T23:00:00Z 2026-09-15T00:00:00Z survey@field.example Survey call",
        "2026-10-14T21:00:00Z 2026-10-14T22:00:00Z survey@field.example Survey call",
        "2026-11-14T21:00:00Z 2026-11-14T22:00:00Z survey@field.example Survey call",
        "2026-12-14T21:00:00Z 2026-12-14T22:00:00Z survey@field.example Survey call",
    ]);
    assert_eq!(view(&a.store, "c", FROM, TO), expected);
    let survey = a.store.event("survey@field.example").expect("read").expect("event");
    assert_eq!(survey.timing.start.to_string(), format!("2026-01-15T09:00:00[{SURVEY_ZONE}]"));
    let sync = a.store.event("sync@field.example").expect("read").expect("event");
    assert_eq!(sync.timing.start.to_string(), "2026-03-10T10:00:00[America/Sao_Paulo]");
    // The rule is data in the event: another device computes the same instants from it.
    let b = open();
    sync_spaces(&a.store, &b.store);
    assert_eq!(view(&b.store, "c", FROM, TO), expected);
}

#[test]
fn class_8_this_and_following_never_runs_past_the_series_until() {
    let a = open();
    let report = import(&a.store, "c", &read("this-and-future-until.ics"));
    assert_eq!(report.counts(), counts(4, 2, 2, 0, 0));
    assert!(report.issues.is_empty(), "{:?}", report.issues);
    // Four occurrences each (UNTIL Mar 25 17:00Z, and Apr 1 10:00Z before Apr 1's 18:00),
    // the last two moved: to Thursdays 20:00, to Tuesdays.
    let expected = rows(&[
        "2026-03-04T17:00:00Z 2026-03-04T18:30:00Z choir@home.example Choir",
        "2026-03-04T17:00:00Z 2026-03-04T18:00:00Z reading@home.example Reading group",
        "2026-03-11T17:00:00Z 2026-03-11T18:30:00Z choir@home.example Choir",
        "2026-03-11T17:00:00Z 2026-03-11T18:00:00Z reading@home.example Reading group",
        "2026-03-17T17:00:00Z 2026-03-17T18:00:00Z reading@home.example Reading group (Tuesdays)",
        "2026-03-19T19:00:00Z 2026-03-19T20:30:00Z choir@home.example Choir (new hall)",
        "2026-03-24T17:00:00Z 2026-03-24T18:00:00Z reading@home.example Reading group (Tuesdays)",
        "2026-03-26T19:00:00Z 2026-03-26T20:30:00Z choir@home.example Choir (new hall)",
    ]);
    assert_eq!(view(&a.store, "c", FROM, TO), expected);
    // The export splits each series; the parts together have the same occurrences, no more.
    let exported = a.store.export_ics(Some("c")).expect("export");
    let b = open();
    import(&b.store, "c", &exported);
    let without_ids = |rows: Vec<String>| -> Vec<String> {
        rows.into_iter().map(|r| r.replace("-R20260318", "")).collect()
    };
    assert_eq!(without_ids(view(&b.store, "c", FROM, TO)), expected);
}

/// Shapes from public trackers: two copies of one exception with a UTC RECURRENCE-ID on a zoned
/// series (the newer wins), and an exception that names no occurrence and carries its own
/// RRULE (kept, shown nowhere, and said so).
#[test]
fn recurrence_id_copies_orphans_and_rrules_on_instances_are_reported() {
    let db = open();
    let report = import(&db.store, "c", &read("recurrence-id-shapes.ics"));
    assert_eq!(report.counts(), counts(5, 2, 2, 1, 0));
    assert_eq!(
        messages(&report),
        vec![
            "23: an older or identical copy of this occurrence (SEQUENCE 1, DTSTAMP \
             20250218T180906Z) is superseded by the one on line 14 (SEQUENCE 10, DTSTAMP \
             20250218T180906Z)",
            "41: RECURRENCE-ID 2024-07-29 is not an occurrence of the series; the edit is kept \
             but shown on no occurrence (the series' conflict log lists it as an orphan)",
            "41: an RRULE on an occurrence (RECURRENCE-ID) was ignored: only its series repeats",
        ]
    );
    assert_eq!(
        view(&db.store, "c", FROM, TO),
        rows(&[
            "2024-07-01T00:00:00Z 2024-07-08T00:00:00Z rota@family.example Cleaning rota",
            "2024-07-15T00:00:00Z 2024-07-22T00:00:00Z rota@family.example Cleaning rota",
            "2025-01-01T18:00:00Z 2025-01-01T19:00:00Z call-5e0c@family.example Family call (moved)",
            "2025-01-07T20:00:00Z 2025-01-07T20:30:00Z call-5e0c@family.example Family call",
            "2025-01-14T20:00:00Z 2025-01-14T20:30:00Z call-5e0c@family.example Family call",
        ])
    );
    let log = db.store.calendar_conflicts().expect("log");
    assert_eq!(log.len(), 1, "{log:#?}");
    assert_eq!(log[0].event_id, "rota@family.example");
}

#[test]
fn standalone_cancelled_events_are_kept_and_shown_as_cancelled() {
    let db = open();
    let report = import(&db.store, "c", &read("cancelled-event.ics"));
    assert_eq!(report.counts(), counts(3, 2, 1, 0, 0));
    assert!(report.issues.is_empty(), "{:?}", report.issues);
    assert_eq!(
        view(&db.store, "c", FROM, TO),
        rows(&[
            "2026-03-03T18:00:00Z 2026-03-03T19:00:00Z book-club@home.example Book club",
            "2026-03-07T18:00:00Z 2026-03-07T22:00:00Z party@home.example Garden party [cancelled]",
            "2026-03-17T18:00:00Z 2026-03-17T19:00:00Z book-club@home.example Book club",
        ])
    );
    assert!(db.store.event("party@home.example").expect("read").expect("event").is_cancelled());
    assert!(
        !db.store.event("book-club@home.example").expect("read").expect("event").is_cancelled()
    );
}

/// Every fixture's export passes the strict reader and imports again to the same occurrences
/// (ids of derived "this and following" parts aside).
#[test]
fn exports_are_strict_and_keep_the_occurrences() {
    for file in ALL {
        let a = open();
        import(&a.store, "c", &read(file));
        let exported = a.store.export_ics(Some("c")).expect("export");
        crate::ics::assert_strict(&exported, file);
        let b = open();
        let again = import(&b.store, "c", &exported);
        assert_eq!(again.counts().not_imported, 0, "{file}: {:?}", again.issues);
        let strip = |rows: Vec<String>| -> Vec<String> {
            rows.into_iter().map(|r| r.replace("-R20260318", "")).collect()
        };
        assert_eq!(
            strip(view(&b.store, "c", FROM, TO)),
            strip(view(&a.store, "c", FROM, TO)),
            "{file}: the re-imported export"
        );
    }
}

/// Whole-line mutations of the fixtures (lines dropped, doubled, swapped, END names misspelt,
/// the file cut short): the import never fails or panics, every `BEGIN:VEVENT` line is a
/// VEVENT read, and every VEVENT read is accounted for.
mod mutated {
    use proptest::prelude::*;

    use super::*;

    #[derive(Clone, Debug)]
    enum Mutation {
        Drop(usize),
        Double(usize),
        Swap(usize, usize),
        MisspellEnd(usize),
        Cut(usize),
    }

    fn mutation() -> impl Strategy<Value = Mutation> {
        prop_oneof![
            any::<usize>().prop_map(Mutation::Drop),
            any::<usize>().prop_map(Mutation::Double),
            (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::Swap(a, b)),
            any::<usize>().prop_map(Mutation::MisspellEnd),
            any::<usize>().prop_map(Mutation::Cut),
        ]
    }

    fn apply(text: &str, mutations: &[Mutation]) -> String {
        let mut lines: Vec<String> = text.split("\r\n").map(str::to_owned).collect();
        for m in mutations {
            if lines.is_empty() {
                break;
            }
            let n = lines.len();
            match *m {
                Mutation::Drop(i) => {
                    lines.remove(i % n);
                }
                Mutation::Double(i) => {
                    let line = lines[i % n].clone();
                    lines.insert(i % n, line);
                }
                Mutation::Swap(a, b) => lines.swap(a % n, b % n),
                Mutation::MisspellEnd(i) => {
                    let at =
                        (0..n).map(|k| (i % n + k) % n).find(|&k| lines[k].starts_with("END:"));
                    if let Some(k) = at {
                        lines[k].push('X');
                    }
                }
                Mutation::Cut(i) => lines.truncate(i % n),
            }
        }
        lines.join("\r\n")
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

        #[test]
        fn every_vevent_of_a_mutated_file_is_accounted_for(
            file in 0..ALL.len(),
            mutations in prop::collection::vec(mutation(), 1..6),
        ) {
            let text = apply(&read(ALL[file]), &mutations);
            let db = open();
            let report = db.store.import_ics("c", &text, &mut |_| {}).expect("import");
            let c = report.counts();
            prop_assert_eq!(c.imported + c.overrides + c.superseded + c.not_imported, c.read);
            let begins = text.split("\r\n").filter(|l| l.eq_ignore_ascii_case("BEGIN:VEVENT")).count();
            prop_assert_eq!(c.read, begins, "{}", text);
            // Each not imported VEVENT says why, and the export of what was imported is strict.
            for v in &report.vevents {
                if let VeventFate::NotImported { reason } = &v.fate {
                    prop_assert!(!reason.is_empty());
                }
            }
            let exported = db.store.export_ics(Some("c")).expect("export");
            if !report.vevents.is_empty() && c.imported > 0 {
                crate::ics::assert_strict(&exported, ALL[file]);
            }
        }
    }
}
