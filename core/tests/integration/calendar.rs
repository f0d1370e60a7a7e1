//! The calendar cases of the merge contract (5–11, 14) and the occurrence queries, on the
//! SQLite store, with two devices editing offline and syncing.

use std::collections::BTreeMap;

use almanac_core::calendar::api::{EventEdit, NewEvent};
use almanac_core::calendar::conflicts::Shadow;
use almanac_core::calendar::event::{End, Span, Timing};
use almanac_core::calendar::recurrence::RecurrenceRule;
use almanac_core::calendar::series::Occurrence;
use almanac_core::calendar::time::{Duration, TimeValue, time_zone};
use almanac_core::{Store, Value};
use jiff::Timestamp;
use jiff::civil::date;
use jiff::tz::TimeZone;

use crate::support::{paris, titled_event};

struct Devices {
    a: Store,
    b: Store,
    _dir: tempfile::TempDir,
}

fn devices() -> Devices {
    let dir = tempfile::tempdir().expect("dir");
    let a = Store::open(dir.path().join("a.almanac")).expect("a");
    let b = Store::open(dir.path().join("b.almanac")).expect("b");
    Devices { a, b, _dir: dir }
}

fn sync(d: &Devices) {
    crate::support::sync_spaces(&d.a, &d.b);
    crate::support::sync_spaces(&d.b, &d.a);
}

/// A weekly Monday 09:00–10:00 Paris meeting from 2026-01-05, synced to both devices.
fn weekly(d: &Devices, rule: &str) {
    let event = NewEvent {
        id: "standup".into(),
        calendar: "work".into(),
        uid: None,
        timing: Timing {
            start: paris(date(2026, 1, 5).at(9, 0, 0, 0)),
            end: End::After(Duration { seconds: 3600, ..Duration::default() }),
        },
        rule: Some(RecurrenceRule::parse(rule).expect("rule")),
        rdates: Vec::new(),
        exdates: Vec::new(),
        fields: BTreeMap::from([
            ("title".into(), Value::from("Standup")),
            ("location".into(), Value::from("Room 1")),
        ]),
        attendees: Vec::new(),
        alarms: Vec::new(),
        unknown_properties: Vec::new(),
    };
    d.a.create_event(&event).expect("create");
    sync(d);
}

fn january(store: &Store) -> Vec<Occurrence> {
    let from: Timestamp = "2026-01-01T00:00:00Z".parse().expect("from");
    let to: Timestamp = "2026-02-01T00:00:00Z".parse().expect("to");
    store.occurrences(from, to, &[], &TimeZone::UTC).expect("occurrences")
}

fn titles(occurrences: &[Occurrence]) -> Vec<(String, String)> {
    occurrences.iter().map(|o| (o.key.to_string(), o.title().unwrap_or("-").to_owned())).collect()
}

fn field(occurrence: &Occurrence, name: &str) -> String {
    occurrence.fields.get(name).and_then(Value::as_text).unwrap_or("-").to_owned()
}

fn edit(fields: &[(&str, &str)]) -> EventEdit {
    EventEdit {
        fields: fields.iter().map(|(k, v)| ((*k).to_owned(), Value::from(*v))).collect(),
        ..EventEdit::default()
    }
}

fn monday(day: i8) -> TimeValue {
    paris(date(2026, 1, day).at(9, 0, 0, 0))
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect()
}

/// A month materialises only the series that can reach it (their spans), and a span covers
/// every occurrence: one moved by an override far from the rest, and the last ones of COUNT
/// and UNTIL series. A series that started later or ended earlier shows nothing.
#[test]
fn a_month_finds_every_series_that_reaches_it_and_only_those() {
    let d = devices();
    let series = |id: &str, start: TimeValue, rule: &str| titled_event(id, start, 3600, Some(rule));
    // October 2025 (months before the ones January's view indexes): two weeks, the second
    // moved to 2026-01-20.
    let october = paris(date(2025, 10, 6).at(9, 0, 0, 0));
    d.a.create_event(&series("moved", october.clone(), "FREQ=WEEKLY;COUNT=2")).expect("create");
    let moved = Timing {
        start: paris(date(2026, 1, 20).at(15, 0, 0, 0)),
        end: End::After(Duration { seconds: 3600, ..Duration::default() }),
    };
    let second = paris(date(2025, 10, 13).at(9, 0, 0, 0));
    let edit = EventEdit { timing: Some(moved), ..EventEdit::default() };
    d.a.edit_event("moved", &Span::This(second), &edit).expect("move");
    // Daily from October until 2026-01-05 (its last occurrence on that day).
    let until = paris(date(2025, 10, 27).at(8, 0, 0, 0));
    d.a.create_event(&series("until", until, "FREQ=DAILY;UNTIL=20260105T070000Z")).expect("until");
    // Ended in October; starting in February: neither shows in January.
    d.a.create_event(&series("ended", october, "FREQ=DAILY;COUNT=3")).expect("ended");
    let february = paris(date(2026, 2, 2).at(9, 0, 0, 0));
    d.a.create_event(&series("later", february, "FREQ=WEEKLY")).expect("later");
    let shown: Vec<(String, String)> =
        january(&d.a).iter().map(|o| (o.event_id.to_string(), o.start.to_string())).collect();
    let expected = owned(&[
        ("until", "2026-01-01T07:00:00Z"),
        ("until", "2026-01-02T07:00:00Z"),
        ("until", "2026-01-03T07:00:00Z"),
        ("until", "2026-01-04T07:00:00Z"),
        ("until", "2026-01-05T07:00:00Z"),
        ("moved", "2026-01-20T14:00:00Z"),
    ]);
    assert_eq!(shown, expected);
    // The same on a device that receives the events after indexing January.
    assert!(january(&d.b).is_empty());
    sync(&d);
    assert_eq!(january(&d.b).len(), expected.len());
}

/// A series' span reaches its last COUNT instance even when an RDATE comes before it: the
/// first view of the week holding only that last instance shows it.
#[test]
fn a_span_reaches_the_last_counted_instance_past_an_earlier_rdate() {
    let d = devices();
    let mut event = titled_event(
        "weekly",
        paris(date(2026, 1, 5).at(9, 0, 0, 0)),
        3600,
        Some("FREQ=WEEKLY;COUNT=3"),
    );
    event.rdates = vec![paris(date(2026, 1, 6).at(9, 0, 0, 0))];
    d.a.create_event(&event).expect("create");
    let from: Timestamp = "2026-01-18T00:00:00Z".parse().expect("from");
    let to: Timestamp = "2026-01-25T00:00:00Z".parse().expect("to");
    let shown: Vec<String> =
        d.a.occurrences(from, to, &[], &TimeZone::UTC)
            .expect("week")
            .iter()
            .map(|o| o.start.to_string())
            .collect();
    assert_eq!(shown, ["2026-01-19T08:00:00Z"]);
}

/// What a view shows, as (event, key, start, end), found by expanding every event itself
/// (no occurrence index): the reference for the index-backed views.
fn expanded(
    store: &Store,
    ids: &[&str],
    from: Timestamp,
    to: Timestamp,
    viewer: &TimeZone,
) -> Vec<(String, String, Timestamp, Timestamp)> {
    let mut out: Vec<_> = ids
        .iter()
        .filter_map(|id| store.event(id).expect("event"))
        .flat_map(|event| event.occurrences(from, to, viewer).expect("expand"))
        .map(|o| (o.event_id.into(), o.key.into(), o.start, o.end))
        .collect();
    out.sort_by(|a, b| (a.2, &a.0, &a.1).cmp(&(b.2, &b.0, &b.1)));
    out
}

/// The index materialises recurring series by UTC day (decision 0029). Views that index the
/// days piece by piece (a week, the next week, the month holding both, single days, the weeks
/// around the new year, far from the series) answer exactly what expanding every event
/// answers, for viewers from UTC-12 to UTC+14, occurrences crossing midnight or lasting days,
/// floating and all-day ones; so does a series written after those days were indexed, in every
/// one of them, and the same views after the index is rebuilt.
#[test]
fn views_indexed_day_by_day_show_what_expanding_every_event_shows() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(dir.path().join("days.almanac")).expect("open");
    let create = |id: &str, start: TimeValue, end: Duration, rule: &str| {
        let mut event = titled_event(id, start, 0, Some(rule));
        event.timing.end = End::After(end);
        store.create_event(&event).expect("create");
    };
    let utc = |at: &str| TimeValue::Utc(at.parse().expect("utc"));
    let hours = |h: i64| Duration { seconds: h * 3600, ..Duration::default() };
    let day = |days: i32| Duration { days, ..Duration::default() };
    // 22:30 UTC for two hours in winter: every occurrence crosses UTC midnight.
    create("late", paris(date(2026, 2, 20).at(23, 30, 0, 0)), hours(2), "FREQ=DAILY");
    create("early", utc("2026-02-01T01:00:00Z"), hours(1), "FREQ=DAILY;COUNT=120");
    create("evening", utc("2026-02-01T18:00:00Z"), hours(1), "FREQ=DAILY;COUNT=120");
    // Three days from Friday evening: starts in one week, shows in the next.
    create("long", paris(date(2026, 2, 6).at(20, 0, 0, 0)), day(3), "FREQ=WEEKLY");
    create(
        "floating",
        TimeValue::Floating(date(2026, 2, 25).at(0, 30, 0, 0)),
        hours(1),
        "FREQ=DAILY;COUNT=60",
    );
    create("all-day", TimeValue::Date(date(2026, 2, 27)), day(1), "FREQ=DAILY;INTERVAL=3");
    create("yearly", TimeValue::Date(date(1980, 6, 10)), day(1), "FREQ=YEARLY");
    let ids = ["late", "early", "evening", "long", "floating", "all-day", "yearly", "added"];
    let zone = |name: &str| time_zone(name).expect("zone");
    // (viewer, first day, day after the last), local days of the viewer.
    let views = [
        (zone("Asia/Tokyo"), date(2026, 3, 2), date(2026, 3, 9)),
        (zone("America/Anchorage"), date(2026, 3, 9), date(2026, 3, 16)),
        (TimeZone::UTC, date(2026, 3, 1), date(2026, 4, 1)),
        // Days whose window reaches one day past the month's, at its end and at its start.
        (zone("America/Anchorage"), date(2026, 4, 1), date(2026, 4, 2)),
        (zone("Asia/Tokyo"), date(2026, 2, 28), date(2026, 3, 1)),
        (zone("Pacific/Kiritimati"), date(2026, 3, 29), date(2026, 3, 30)),
        (zone("Etc/GMT+12"), date(2026, 4, 20), date(2026, 4, 21)),
        (zone("Europe/Paris"), date(2026, 3, 28), date(2026, 3, 30)),
        (zone("Etc/GMT+12"), date(2026, 12, 28), date(2027, 1, 4)),
        (zone("Pacific/Kiritimati"), date(2026, 12, 28), date(2027, 1, 4)),
        (zone("America/New_York"), date(1990, 6, 1), date(1990, 7, 1)),
        (zone("Asia/Tokyo"), date(2040, 6, 1), date(2040, 7, 1)),
    ];
    let window = |viewer: &TimeZone, first: jiff::civil::Date, after: jiff::civil::Date| {
        let at = |d: jiff::civil::Date| {
            d.to_zoned_datetime(viewer.clone()).expect("midnight").timestamp()
        };
        (at(first), at(after))
    };
    let check = |when: &str| {
        for (viewer, first, after) in &views {
            let (from, to) = window(viewer, *first, *after);
            let shown: Vec<_> = store
                .occurrences(from, to, &[], viewer)
                .expect("view")
                .into_iter()
                .map(|o| (o.event_id.into(), o.key.into(), o.start, o.end))
                .collect();
            let expected = expanded(&store, &ids, from, to, viewer);
            assert_eq!(shown, expected, "{when}: {first}..{after} for {viewer:?}");
        }
    };
    check("indexing the views one by one");
    // Written after the views' days were indexed: it must get rows in each of them.
    create("added", utc("2026-01-01T12:00:00Z"), hours(13), "FREQ=DAILY");
    check("a series added after indexing");
    store.rebuild_occurrence_index().expect("rebuild");
    check("after a rebuild");
}

/// A month view lists occurrences by start; occurrences that start together come in the order
/// of their event's id (then key), whatever order they were created in, so every device
/// lists them alike.
#[test]
fn occurrences_that_start_together_are_ordered_by_event_id() {
    let d = devices();
    weekly(&d, "FREQ=WEEKLY");
    for id in ["zeta", "alpha", "stand", "standup-2"] {
        d.a.create_event(&titled_event(id, monday(12), 1800, None)).expect("create");
    }
    let listed: Vec<(String, String)> =
        january(&d.a).into_iter().map(|o| (o.event_id.into(), o.key.into())).collect();
    let expected = owned(&[
        ("standup", "20260105"),
        ("alpha", "20260112"),
        ("stand", "20260112"),
        ("standup", "20260112"),
        ("standup-2", "20260112"),
        ("zeta", "20260112"),
        ("standup", "20260119"),
        ("standup", "20260126"),
    ]);
    assert_eq!(listed, expected);
}

#[test]
fn a_weekly_series_expands_in_a_month_view() {
    let d = devices();
    weekly(&d, "FREQ=WEEKLY");
    let occurrences = january(&d.a);
    assert_eq!(occurrences.len(), 4);
    assert_eq!(occurrences[0].key, "20260105");
    assert_eq!(occurrences[0].start.to_string(), "2026-01-05T08:00:00Z");
    assert_eq!(occurrences[0].end.to_string(), "2026-01-05T09:00:00Z");
    assert_eq!(january(&d.b), occurrences);
}

#[test]
fn conflict_case_5_occurrence_edit_and_series_edit_of_another_field_both_show() {
    let d = devices();
    weekly(&d, "FREQ=WEEKLY");
    d.a.edit_event("standup", &Span::This(monday(12)), &edit(&[("title", "Standup + demo")]))
        .expect("a");
    d.b.edit_event("standup", &Span::All, &edit(&[("location", "Room 7")])).expect("b");
    sync(&d);
    for store in [&d.a, &d.b] {
        let occ = january(store);
        assert_eq!(field(&occ[1], "title"), "Standup + demo");
        assert_eq!(field(&occ[1], "location"), "Room 7");
        assert_eq!(field(&occ[0], "title"), "Standup");
        assert_eq!(field(&occ[2], "location"), "Room 7");
    }
}

#[test]
fn conflict_case_6_cancel_wins_over_an_occurrence_edit_which_stays_restorable() {
    let d = devices();
    weekly(&d, "FREQ=WEEKLY");
    d.a.delete_event("standup", &Span::This(monday(12))).expect("cancel");
    d.b.edit_event("standup", &Span::This(monday(12)), &edit(&[("title", "Moved agenda")]))
        .expect("edit");
    sync(&d);
    for store in [&d.a, &d.b] {
        let keys: Vec<String> = january(store).into_iter().map(|o| o.key.into()).collect();
        assert_eq!(keys, ["20260105", "20260119", "20260126"]);
        let log = store.calendar_conflicts().expect("log");
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].occurrences[0].reason, Shadow::Cancelled);
        assert_eq!(log[0].occurrences[0].fields.get("title"), Some(&Value::from("Moved agenda")));
    }
    d.a.restore_occurrence("standup", &monday(12)).expect("restore");
    sync(&d);
    assert_eq!(field(&january(&d.b)[1], "title"), "Moved agenda");
}

#[test]
fn conflict_case_7_this_and_following_patch_applies_from_its_start_series_edit_elsewhere() {
    let d = devices();
    weekly(&d, "FREQ=WEEKLY");
    d.a.edit_event("standup", &Span::ThisAndFollowing(monday(19)), &edit(&[("title", "Sync v2")]))
        .expect("a");
    d.b.edit_event("standup", &Span::All, &edit(&[("title", "Daily standup")])).expect("b");
    sync(&d);
    for store in [&d.a, &d.b] {
        let shown: Vec<String> = january(store).iter().map(|o| field(o, "title")).collect();
        assert_eq!(shown, ["Daily standup", "Daily standup", "Sync v2", "Sync v2"]);
    }
    // A single-occurrence patch beats the range patch.
    d.a.edit_event("standup", &Span::This(monday(26)), &edit(&[("title", "Retro")]))
        .expect("override");
    assert_eq!(field(&january(&d.a)[3], "title"), "Retro");
}

#[test]
fn conflict_case_8_identical_concurrent_splits_converge_to_one_result() {
    let d = devices();
    weekly(&d, "FREQ=WEEKLY");
    let split = edit(&[("title", "After the split")]);
    d.a.edit_event("standup", &Span::ThisAndFollowing(monday(19)), &split).expect("a");
    d.b.edit_event("standup", &Span::ThisAndFollowing(monday(19)), &split).expect("b");
    d.a.delete_event("standup", &Span::ThisAndFollowing(monday(26))).expect("a truncates");
    d.b.delete_event("standup", &Span::ThisAndFollowing(monday(26))).expect("b truncates");
    sync(&d);
    assert_eq!(titles(&january(&d.a)), titles(&january(&d.b)));
    assert_eq!(january(&d.a).len(), 3);
    assert_eq!(field(&january(&d.a)[2], "title"), "After the split");
}

#[test]
fn conflict_case_9_two_truncations_keep_the_earlier() {
    let d = devices();
    weekly(&d, "FREQ=WEEKLY");
    d.a.delete_event("standup", &Span::ThisAndFollowing(monday(26))).expect("a");
    d.b.delete_event("standup", &Span::ThisAndFollowing(monday(19))).expect("b");
    sync(&d);
    for store in [&d.a, &d.b] {
        assert_eq!(january(store).len(), 2);
    }
}

#[test]
fn conflict_case_10_an_override_orphaned_by_a_rule_change_is_kept_and_listed() {
    let d = devices();
    weekly(&d, "FREQ=WEEKLY");
    let rule = RecurrenceRule::parse("FREQ=WEEKLY;INTERVAL=2").expect("rule");
    d.a.edit_event(
        "standup",
        &Span::All,
        &EventEdit { rule: Some(Some(rule)), ..EventEdit::default() },
    )
    .expect("a");
    d.b.edit_event("standup", &Span::This(monday(12)), &edit(&[("title", "Only on the 12th")]))
        .expect("b");
    sync(&d);
    for store in [&d.a, &d.b] {
        let keys: Vec<String> = january(store).into_iter().map(|o| o.key.into()).collect();
        assert_eq!(keys, ["20260105", "20260119"]);
        let event = store.event("standup").expect("read").expect("event");
        assert_eq!(event.orphaned_overrides().expect("orphans"), ["20260112"]);
        let log = store.calendar_conflicts().expect("log");
        assert_eq!(log[0].occurrences[0].reason, Shadow::Orphaned);
    }
}

#[test]
fn conflict_case_11_moving_the_series_to_another_zone_keeps_overrides_attached() {
    let d = devices();
    weekly(&d, "FREQ=WEEKLY");
    d.b.edit_event("standup", &Span::This(monday(12)), &edit(&[("title", "Kept")])).expect("b");
    // Same instants, written in London time (08:00 London = 09:00 Paris in winter).
    let london = Timing {
        start: TimeValue::Zoned {
            local: date(2026, 1, 5).at(8, 0, 0, 0),
            zone: "Europe/London".into(),
        },
        end: End::After(Duration { seconds: 3600, ..Duration::default() }),
    };
    d.a.edit_event(
        "standup",
        &Span::All,
        &EventEdit { timing: Some(london), ..EventEdit::default() },
    )
    .expect("a");
    sync(&d);
    for store in [&d.a, &d.b] {
        let occ = january(store);
        assert_eq!(occ[1].key, "20260112");
        assert_eq!(field(&occ[1], "title"), "Kept");
        assert!(
            store
                .event("standup")
                .expect("read")
                .expect("event")
                .orphaned_overrides()
                .expect("orphans")
                .is_empty()
        );
    }
}

#[test]
fn conflict_case_14_truncation_wins_over_a_later_occurrence_edit_which_is_logged() {
    let d = devices();
    weekly(&d, "FREQ=WEEKLY");
    d.a.delete_event("standup", &Span::ThisAndFollowing(monday(19))).expect("a");
    d.b.edit_event("standup", &Span::This(monday(26)), &edit(&[("title", "Lost?")])).expect("b");
    sync(&d);
    for store in [&d.a, &d.b] {
        assert_eq!(january(store).len(), 2);
        let log = store.calendar_conflicts().expect("log");
        assert_eq!(log[0].occurrences[0].reason, Shadow::Truncated);
        assert_eq!(log[0].occurrences[0].fields.get("title"), Some(&Value::from("Lost?")));
    }
}

#[test]
fn conflict_case_4_deleting_a_series_hides_it_and_restore_brings_back_concurrent_edits() {
    let d = devices();
    weekly(&d, "FREQ=WEEKLY");
    d.a.delete_event("standup", &Span::All).expect("delete");
    d.b.edit_event("standup", &Span::All, &edit(&[("notes", "Bring coffee")])).expect("edit");
    sync(&d);
    assert!(january(&d.b).is_empty());
    assert_eq!(d.b.calendar_conflicts().expect("log")[0].shadowed_by_delete.len(), 1);
    d.b.restore_event("standup").expect("restore");
    sync(&d);
    assert_eq!(field(&january(&d.a)[0], "notes"), "Bring coffee");
}

#[test]
fn all_day_and_floating_events_follow_the_viewer_and_multi_day_events_overlap_windows() {
    let d = devices();
    let mut event = NewEvent {
        id: "trip".into(),
        calendar: "home".into(),
        uid: None,
        timing: Timing::all_day(date(2026, 3, 30), 4),
        rule: None,
        rdates: Vec::new(),
        exdates: Vec::new(),
        fields: BTreeMap::from([("title".into(), Value::from("Trip"))]),
        attendees: Vec::new(),
        alarms: Vec::new(),
        unknown_properties: Vec::new(),
    };
    d.a.create_event(&event).expect("trip");
    event.id = "alarm".into();
    event.timing = Timing {
        start: TimeValue::Floating(date(2026, 4, 1).at(7, 0, 0, 0)),
        end: End::After(Duration { seconds: 600, ..Duration::default() }),
    };
    d.a.create_event(&event).expect("floating");
    let tokyo = time_zone("Asia/Tokyo").expect("zone");
    // April in Tokyo: the trip (Mar 30 – Apr 2 inclusive) overlaps; the wake-up is at 07:00 Tokyo.
    let from = tokyo.to_timestamp(date(2026, 4, 1).at(0, 0, 0, 0)).expect("from");
    let to = tokyo.to_timestamp(date(2026, 5, 1).at(0, 0, 0, 0)).expect("to");
    let april = d.a.occurrences(from, to, &["home"], &tokyo).expect("april");
    assert_eq!(april.iter().map(|o| o.event_id.as_str()).collect::<Vec<_>>(), ["trip", "alarm"]);
    assert_eq!(april[1].start.to_string(), "2026-03-31T22:00:00Z");
    assert!(d.a.occurrences(from, to, &["work"], &tokyo).expect("other calendar").is_empty());
}

/// A view takes an occurrence's instants from the index only where they hold for every
/// viewer (decision 0033's addendum): not for an occurrence an override made all-day, and not
/// for times finer than the index's seconds.
#[test]
fn instants_from_the_index_are_used_only_where_they_hold_for_this_viewer() {
    let d = devices();
    weekly(&d, "FREQ=WEEKLY");
    let all_day =
        EventEdit { timing: Some(Timing::all_day(date(2026, 1, 12), 1)), ..EventEdit::default() };
    d.a.edit_event("standup", &Span::This(monday(12)), &all_day).expect("all-day occurrence");
    let half_past = TimeValue::Utc("2026-01-20T10:00:00.5Z".parse().expect("start"));
    let precise = titled_event("precise", half_past, 1800, None);
    d.a.create_event(&precise).expect("precise");
    let tokyo = time_zone("Asia/Tokyo").expect("zone");
    let from: Timestamp = "2026-01-01T00:00:00Z".parse().expect("from");
    let to: Timestamp = "2026-02-01T00:00:00Z".parse().expect("to");
    for _ in 0..2 {
        // The second view reads the events from the cache.
        let view = d.a.occurrences(from, to, &[], &tokyo).expect("view");
        let start = |id: &str, key: &str| {
            let found = view.iter().find(|o| o.event_id == id && o.key == key);
            found.map(|o| (o.start.to_string(), o.end.to_string()))
        };
        // Midnight to midnight in Tokyo, not in UTC.
        assert_eq!(
            start("standup", "20260112"),
            Some(("2026-01-11T15:00:00Z".into(), "2026-01-12T15:00:00Z".into()))
        );
        assert_eq!(
            start("standup", "20260119"),
            Some(("2026-01-19T08:00:00Z".into(), "2026-01-19T09:00:00Z".into()))
        );
        assert_eq!(
            start("precise", "20260120"),
            Some(("2026-01-20T10:00:00.5Z".into(), "2026-01-20T10:30:00.5Z".into()))
        );
    }
}

#[test]
fn a_daily_series_from_1990_answers_a_2030_month_view() {
    let d = devices();
    let event = NewEvent {
        id: "daily".into(),
        calendar: "work".into(),
        uid: None,
        timing: Timing {
            start: paris(date(1990, 1, 1).at(8, 0, 0, 0)),
            end: End::After(Duration { seconds: 1800, ..Duration::default() }),
        },
        rule: Some(RecurrenceRule::parse("FREQ=DAILY").expect("rule")),
        rdates: Vec::new(),
        exdates: Vec::new(),
        fields: BTreeMap::new(),
        attendees: Vec::new(),
        alarms: Vec::new(),
        unknown_properties: Vec::new(),
    };
    d.a.create_event(&event).expect("create");
    let from: Timestamp = "2030-06-01T00:00:00Z".parse().expect("from");
    let to: Timestamp = "2030-07-01T00:00:00Z".parse().expect("to");
    assert_eq!(d.a.occurrences(from, to, &[], &TimeZone::UTC).expect("june").len(), 30);
}

#[test]
fn conflict_case_15_splitting_a_count_series_keeps_the_total_and_derives_a_stable_id() {
    let d = devices();
    weekly(&d, "FREQ=WEEKLY;COUNT=6");
    let split = edit(&[("title", "Second half")]);
    d.a.edit_event("standup", &Span::ThisAndFollowing(monday(19)), &split).expect("a splits");
    d.b.edit_event("standup", &Span::ThisAndFollowing(monday(19)), &split).expect("b splits too");
    sync(&d);
    let exported = d.a.export_ics(None).expect("export");
    assert_eq!(
        exported,
        d.b.export_ics(None).expect("export b"),
        "both devices export the same split"
    );
    assert!(!exported.contains("COUNT="), "COUNT is converted to UNTIL on both parts:\n{exported}");
    assert_eq!(exported.matches("UID:standup-R20260119").count(), 1);
    // Another calendar app sees the same six occurrences in two series.
    let dir = tempfile::tempdir().expect("dir");
    let other = Store::open(dir.path().join("other.almanac")).expect("other");
    let report = other.import_ics("work", &exported, &mut |_| {}).expect("import");
    assert_eq!((report.events, report.issues.len()), (2, 0), "{:?}", report.issues);
    let from: Timestamp = "2026-01-01T00:00:00Z".parse().expect("from");
    let to: Timestamp = "2026-03-01T00:00:00Z".parse().expect("to");
    let seen: Vec<(String, String)> = other
        .occurrences(from, to, &[], &TimeZone::UTC)
        .expect("occurrences")
        .iter()
        .map(|o| (o.start.to_string(), field(o, "title")))
        .collect();
    let original: Vec<(String, String)> =
        d.a.occurrences(from, to, &[], &TimeZone::UTC)
            .expect("occurrences")
            .iter()
            .map(|o| (o.start.to_string(), field(o, "title")))
            .collect();
    assert_eq!(seen.len(), 6);
    assert_eq!(seen, original);
}

#[test]
fn importing_into_a_new_calendar_creates_it_from_the_file_header() {
    let d = devices();
    let ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nX-WR-CALNAME:Team\r\nX-WR-TIMEZONE:Europe/Paris\r\nBEGIN:VEVENT\r\nUID:one\r\nDTSTART;VALUE=DATE:20260105\r\nSUMMARY:Offsite\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let report = d.a.import_ics("team", ics, &mut |_| {}).expect("import");
    assert_eq!((report.events, report.issues.len()), (1, 0));
    let calendar = d.a.get("team", "calendars", "team").expect("read").expect("calendar created");
    assert_eq!(calendar.value("name"), Some(&Value::from("Team")));
    assert_eq!(calendar.value("time_zone"), Some(&Value::from("Europe/Paris")));
    assert_eq!(january(&d.a).len(), 1);
}

#[test]
fn the_occurrence_index_is_rebuilt_when_the_tz_database_changes_and_on_request() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("store.almanac");
    {
        let d = Devices {
            a: Store::open(&path).expect("open"),
            b: Store::open(dir.path().join("b")).expect("b"),
            _dir: tempfile::tempdir().expect("dir"),
        };
        weekly(&d, "FREQ=WEEKLY");
        assert_eq!(january(&d.a).len(), 4);
    }
    {
        // Pretend the index was built with another tz database, and damage it.
        let conn = rusqlite::Connection::open(&path).expect("raw");
        conn.execute_batch("UPDATE meta SET value = '1999z' WHERE key = 'index_tzdb'; DELETE FROM occurrence_index; DELETE FROM recurring_series;").expect("tamper");
    }
    let store = Store::open(&path).expect("reopen rebuilds");
    assert_eq!(january(&store).len(), 4);
    store.rebuild_occurrence_index().expect("rebuild on request");
    assert_eq!(january(&store).len(), 4);
}

/// Every row of the occurrence index, with the id of the record it names (`None`: a row of no
/// record). Single events' rows are keyed by start only and found from the event's previous
/// state when it changes (decision 0036).
fn index_rows(store: &Store) -> Vec<(Option<String>, String, i64, i64)> {
    let conn = rusqlite::Connection::open(store.path()).expect("raw");
    let mut statement = conn
        .prepare(
            "SELECT r.id, 'single', o.start, o.length FROM single_occurrences o
             LEFT JOIN records r ON r.rid = o.rid
             UNION ALL
             SELECT r.id, quote(o.key), o.start, o.length FROM occurrence_index o
             LEFT JOIN records r ON r.rid = o.rid
             ORDER BY 1, 2, 3, 4",
        )
        .expect("rows");
    statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))
        .expect("query")
        .collect::<rusqlite::Result<_>>()
        .expect("rows")
}

/// The index as kept by every save equals the index rebuilt from the records, and so does
/// what a view shows from the days it packed before the save (decision 0049).
fn assert_index_as_rebuilt(store: &Store) {
    // Series have rows for the days viewed: view the same days before and after.
    let shown = january(store);
    let kept = index_rows(store);
    store.rebuild_occurrence_index().expect("rebuild");
    let rebuilt = january(store);
    assert_eq!(kept, index_rows(store), "the index kept by saves differs from a rebuild");
    assert_eq!(shown, rebuilt, "a view of packed days differs from one of a rebuilt index");
}

#[test]
fn single_events_index_rows_follow_every_move_delete_and_change_of_kind() {
    let d = devices();
    let at = |day: i8, hour: i8| paris(date(2026, 1, day).at(hour, 0, 0, 0));
    for (id, day) in [("lunch", 7), ("call", 8), ("review", 9)] {
        d.a.create_event(&titled_event(id, at(day, 12), 3600, None)).expect("create");
    }
    weekly(&d, "FREQ=WEEKLY");
    let timing = |day: i8, hour: i8, seconds: i64| EventEdit {
        timing: Some(Timing {
            start: at(day, hour),
            end: End::After(Duration { seconds, ..Duration::default() }),
        }),
        ..EventEdit::default()
    };
    // Moved, and made longer, on one device; made a series and back, deleted and restored on
    // the other: each save replaces the rows its previous state had.
    d.a.edit_event("lunch", &Span::All, &timing(7, 14, 7200)).expect("move");
    d.a.edit_event("lunch", &Span::All, &timing(14, 9, 1800)).expect("move again");
    let weekly_rule = RecurrenceRule::parse("FREQ=WEEKLY;COUNT=3").expect("rule");
    let rule =
        |rule: Option<RecurrenceRule>| EventEdit { rule: Some(rule), ..EventEdit::default() };
    d.b.edit_event("call", &Span::All, &rule(Some(weekly_rule))).expect("a series");
    d.b.delete_event("review", &Span::All).expect("delete");
    assert_index_as_rebuilt(&d.a);
    assert_index_as_rebuilt(&d.b);
    sync(&d);
    d.b.edit_event("call", &Span::All, &rule(None)).expect("single again");
    d.b.restore_event("review").expect("restore");
    d.b.edit_event("review", &Span::All, &timing(20, 8, 600)).expect("move the restored");
    sync(&d);
    for store in [&d.a, &d.b] {
        assert_index_as_rebuilt(store);
        let mut shown: Vec<(String, Timestamp)> = january(store)
            .into_iter()
            .filter(|o| o.event_id != "standup")
            .map(|o| (o.event_id.into(), o.start))
            .collect();
        shown.sort();
        let utc = |day: i8, hour: i8| -> Timestamp {
            format!("2026-01-{day:02}T{hour:02}:00:00Z").parse().expect("instant")
        };
        // Paris is UTC+1 in January.
        let expected = [("call", utc(8, 11)), ("lunch", utc(14, 8)), ("review", utc(20, 7))];
        let expected: Vec<(String, Timestamp)> =
            expected.into_iter().map(|(id, at)| (id.to_owned(), at)).collect();
        assert_eq!(shown, expected, "each event once, where it was last moved to");
    }
    // Leaving the calendar's space clears its rows too.
    d.b.leave_space("work").expect("leave");
    assert_eq!(index_rows(&d.b), []);
}

mod single_event_rows {
    //! Single events' index rows are replaced from each event's previous state (decision
    //! 0036): whatever two devices do to a few events and however they sync, the index each
    //! keeps equals the index rebuilt from its records, and no row names a record that is gone.

    use super::*;
    use proptest::prelude::*;

    #[derive(Clone, Debug)]
    enum Act {
        Move { day: i8, hour: i8, minutes: i64 },
        Delete,
        Restore,
        Series,
        Single,
    }

    #[derive(Clone, Debug)]
    enum Step {
        Act { device: bool, event: u8, act: Act },
        Sync,
    }

    fn step() -> impl Strategy<Value = Step> {
        let act = prop_oneof![
            4 => (1i8..29, 0i8..24, prop_oneof![Just(30i64), Just(60), Just(1_500)])
                .prop_map(|(day, hour, minutes)| Act::Move { day, hour, minutes }),
            1 => Just(Act::Delete),
            1 => Just(Act::Restore),
            1 => Just(Act::Series),
            1 => Just(Act::Single),
        ];
        prop_oneof![
            6 => (any::<bool>(), 0u8..3, act)
                .prop_map(|(device, event, act)| Step::Act { device, event, act }),
            1 => Just(Step::Sync),
        ]
    }

    fn act(store: &Store, id: &str, act: &Act) {
        // Refused acts (restoring a live event, say) change nothing, as in an app.
        let _ = match act {
            Act::Move { day, hour, minutes } => store.edit_event(
                id,
                &Span::All,
                &EventEdit {
                    timing: Some(Timing {
                        start: paris(date(2026, 1, *day).at(*hour, 0, 0, 0)),
                        end: End::After(Duration { seconds: minutes * 60, ..Duration::default() }),
                    }),
                    ..EventEdit::default()
                },
            ),
            Act::Delete => store.delete_event(id, &Span::All),
            Act::Restore => store.restore_event(id),
            Act::Series => store.edit_event(
                id,
                &Span::All,
                &EventEdit {
                    rule: Some(Some(RecurrenceRule::parse("FREQ=DAILY;COUNT=3").expect("rule"))),
                    ..EventEdit::default()
                },
            ),
            Act::Single => store.edit_event(
                id,
                &Span::All,
                &EventEdit { rule: Some(None), ..EventEdit::default() },
            ),
        };
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]
        #[test]
        fn the_kept_index_is_the_rebuilt_index(steps in proptest::collection::vec(step(), 1..16)) {
            let d = devices();
            for (i, id) in ["e0", "e1", "e2"].iter().enumerate() {
                let start = paris(date(2026, 1, 5 + i as i8).at(9, 0, 0, 0));
                d.a.create_event(&titled_event(id, start, 3600, None)).expect("create");
            }
            sync(&d);
            for step in &steps {
                match step {
                    Step::Act { device, event, act: what } => {
                        let store = if *device { &d.a } else { &d.b };
                        act(store, &format!("e{event}"), what);
                        assert_index_as_rebuilt(store);
                    }
                    Step::Sync => sync(&d),
                }
            }
            sync(&d);
            for store in [&d.a, &d.b] {
                assert_index_as_rebuilt(store);
                prop_assert!(index_rows(store).iter().all(|(id, ..)| id.is_some()));
            }
            prop_assert_eq!(january(&d.a), january(&d.b));
        }
    }
}

mod engine_cases_through_the_calendar_api {
    //! Contract cases 1, 2, 3, 12 and 13 again, written with the calendar API (the engine-level
    //! versions are in `contract.rs`).

    use super::*;
    use almanac_core::calendar::event::{Alarm, Attendee, Participation, Role};
    use almanac_core::crdt::FieldPath;

    #[test]
    fn conflict_case_1_title_and_location_edited_on_two_devices_both_apply() {
        let d = devices();
        weekly(&d, "FREQ=WEEKLY");
        d.a.edit_event("standup", &Span::All, &edit(&[("title", "Sync")])).expect("a");
        d.b.edit_event("standup", &Span::All, &edit(&[("location", "Room 9")])).expect("b");
        sync(&d);
        for store in [&d.a, &d.b] {
            let occ = january(store);
            assert_eq!(
                (field(&occ[0], "title"), field(&occ[0], "location")),
                ("Sync".into(), "Room 9".into())
            );
            let log = store.calendar_conflicts().expect("log");
            assert!(log.is_empty(), "{log:?}");
        }
    }

    #[test]
    fn conflict_case_2_same_field_is_logged_and_resolved_by_choosing_a_value() {
        let d = devices();
        weekly(&d, "FREQ=WEEKLY");
        d.a.edit_event("standup", &Span::All, &edit(&[("title", "From A")])).expect("a");
        d.b.edit_event("standup", &Span::All, &edit(&[("title", "From B")])).expect("b");
        sync(&d);
        let log = d.a.calendar_conflicts().expect("log");
        assert_eq!(log, d.b.calendar_conflicts().expect("log b"));
        let conflict = &log[0].fields[0];
        assert_eq!(conflict.path, FieldPath::Register("title".into()));
        let mut both = vec![conflict.shown.clone(), conflict.candidates[0].clone()];
        both.sort();
        assert_eq!(both, [Value::from("From A"), Value::from("From B")]);
        // The user keeps the value that was not shown.
        let chosen = conflict.candidates[0].clone();
        d.b.resolve_conflict("standup", &conflict.path, chosen.clone()).expect("resolve");
        sync(&d);
        for store in [&d.a, &d.b] {
            let log = store.calendar_conflicts().expect("log");
            assert!(log.is_empty(), "{log:?}");
            assert_eq!(january(store)[0].fields.get("title"), Some(&chosen));
        }
    }

    #[test]
    fn conflict_case_3_move_and_all_day_never_mix() {
        let d = devices();
        weekly(&d, "FREQ=WEEKLY");
        let moved = Timing {
            start: paris(date(2026, 1, 5).at(14, 0, 0, 0)),
            end: End::After(Duration { seconds: 1800, ..Duration::default() }),
        };
        d.a.edit_event(
            "standup",
            &Span::All,
            &EventEdit { timing: Some(moved.clone()), ..EventEdit::default() },
        )
        .expect("a");
        d.b.edit_event(
            "standup",
            &Span::All,
            &EventEdit {
                timing: Some(Timing::all_day(date(2026, 1, 5), 1)),
                ..EventEdit::default()
            },
        )
        .expect("b");
        sync(&d);
        let a = d.a.event("standup").expect("read").expect("event");
        assert_eq!(a.timing, d.b.event("standup").expect("read").expect("event").timing);
        assert!(
            a.timing == moved || a.timing == Timing::all_day(date(2026, 1, 5), 1),
            "one whole value"
        );
        assert_eq!(
            d.a.calendar_conflicts().expect("log")[0].fields[0].path,
            FieldPath::Register("timing".into())
        );
    }

    #[test]
    fn conflict_case_12_and_13_attendees_and_alarms_are_add_wins_maps() {
        let d = devices();
        weekly(&d, "FREQ=WEEKLY");
        let ann = |p| Attendee {
            address: "MAILTO:Ann@Example.com".into(),
            name: Some("Ann".into()),
            role: Role::Required,
            participation: p,
            params: Vec::new(),
        };
        let alarm = |id: &str| Alarm {
            id: id.into(),
            trigger: Duration { seconds: -900, ..Duration::default() },
            description: None,
            acknowledged: None,
        };
        let setup = EventEdit {
            set_attendees: vec![ann(Participation::NeedsAction)],
            set_alarms: vec![alarm("old")],
            ..EventEdit::default()
        };
        d.a.edit_event("standup", &Span::All, &setup).expect("setup");
        sync(&d);
        // A: Ann accepts (re-adds her) and a new alarm; B: removes Ann and the old alarm.
        let a_edit = EventEdit {
            set_attendees: vec![ann(Participation::Accepted)],
            set_alarms: vec![alarm("new")],
            ..EventEdit::default()
        };
        let b_edit = EventEdit {
            remove_attendees: vec!["mailto:ann@example.com".into()],
            remove_alarms: vec!["old".into()],
            ..EventEdit::default()
        };
        d.a.edit_event("standup", &Span::All, &a_edit).expect("a");
        d.b.edit_event("standup", &Span::All, &b_edit).expect("b");
        sync(&d);
        for store in [&d.a, &d.b] {
            let event = store.event("standup").expect("read").expect("event");
            assert_eq!(event.attendees.len(), 1, "the concurrent add wins");
            assert_eq!(event.attendees[0].address, "mailto:ann@example.com");
            assert_eq!(event.attendees[0].participation, Participation::Accepted);
            assert_eq!(event.alarms.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), ["new"]);
        }
    }

    fn dismissed(id: &str, at: &str) -> Alarm {
        Alarm {
            id: id.into(),
            trigger: Duration { seconds: -900, ..Duration::default() },
            description: None,
            acknowledged: Some(at.parse().expect("instant")),
        }
    }

    #[test]
    fn alarm_dismissals_merge_by_maximum_never_go_back_and_leave_with_their_alarm() {
        let d = devices();
        weekly(&d, "FREQ=WEEKLY");
        let set = |alarm: Alarm| EventEdit { set_alarms: vec![alarm], ..EventEdit::default() };
        d.a.edit_event("standup", &Span::All, &set(dismissed("a1", "2026-01-05T08:50:00Z")))
            .expect("a");
        sync(&d);
        // Dismissed on both devices at once: the later dismissal shows, and it is no conflict.
        d.a.edit_event("standup", &Span::All, &set(dismissed("a1", "2026-01-12T08:51:00Z")))
            .expect("a");
        d.b.edit_event("standup", &Span::All, &set(dismissed("a1", "2026-01-12T08:49:00Z")))
            .expect("b");
        sync(&d);
        for store in [&d.a, &d.b] {
            let event = store.event("standup").expect("read").expect("event");
            assert_eq!(
                event.alarms[0].acknowledged,
                Some("2026-01-12T08:51:00Z".parse().expect("instant"))
            );
            let log = store.calendar_conflicts().expect("log");
            assert!(log.is_empty(), "{log:?}");
        }
        // A device writing an older dismissal keeps the later one it knows.
        d.b.edit_event("standup", &Span::All, &set(dismissed("a1", "2026-01-01T00:00:00Z")))
            .expect("older");
        let event = d.b.event("standup").expect("read").expect("event");
        assert_eq!(
            event.alarms[0].acknowledged,
            Some("2026-01-12T08:51:00Z".parse().expect("instant"))
        );
        // Acknowledgements go with their alarm: a thousand alarms added, dismissed and removed
        // leave nothing behind once the removals are stable.
        let size = |store: &Store| {
            let record = store.get("work", "events", "standup").expect("read").expect("event");
            let kind = almanac_core::codec::Kind::Record;
            almanac_core::codec::encode(kind, &record.state).expect("encode").len()
        };
        let before = size(&d.a);
        for i in 0..1_000 {
            let id = format!("alarm-{i}");
            d.a.edit_event("standup", &Span::All, &set(dismissed(&id, "2026-01-05T08:50:00Z")))
                .expect("add");
            let remove = EventEdit { remove_alarms: vec![id], ..EventEdit::default() };
            d.a.edit_event("standup", &Span::All, &remove).expect("remove");
        }
        sync(&d);
        let stable = d.a.version_vector("work").expect("vv");
        for store in [&d.a, &d.b] {
            store
                .collect_garbage("work", &stable, almanac_core::DEFAULT_TRASH_RETENTION)
                .expect("collect");
        }
        for store in [&d.a, &d.b] {
            assert!(size(store) <= before + 64, "{} bytes, {before} before", size(store));
        }
    }
}

mod index_property {
    //! Random recurring series (rules with COUNT, UNTIL or no end, RDATEs and EXDATEs around
    //! them, zoned, floating or all-day) and random first views of a fresh store: the
    //! index-backed view must show exactly what expanding the event shows. The series' spans
    //! and the days materialised so far decide what the index holds, so a bound that ends a
    //! day early shows up here as a missing occurrence.

    use super::*;
    use jiff::ToSpan;
    use proptest::prelude::*;

    #[derive(Clone, Debug)]
    struct Case {
        start: TimeValue,
        rule: String,
        rdates: Vec<i64>,
        exdates: Vec<i64>,
        hours: i64,
        /// (first day, days) of each view, in days from the series start, in UTC.
        views: Vec<(i64, i64)>,
    }

    fn case() -> impl Strategy<Value = Case> {
        let start = prop_oneof![
            (0i64..200, 0i8..24).prop_map(|(d, h)| {
                paris(date(2026, 1, 1).checked_add(d.days()).expect("day").at(h, 30, 0, 0))
            }),
            (0i64..200, 0i8..24).prop_map(|(d, h)| {
                TimeValue::Floating(
                    date(2026, 1, 1).checked_add(d.days()).expect("day").at(h, 0, 0, 0),
                )
            }),
            (0i64..200).prop_map(|d| TimeValue::Date(
                date(2026, 1, 1).checked_add(d.days()).expect("day")
            )),
        ];
        let freq = prop_oneof![Just("DAILY"), Just("WEEKLY"), Just("MONTHLY")];
        let end = prop_oneof![
            (1u32..30).prop_map(|n| format!(";COUNT={n}")),
            (1i64..300).prop_map(|d| {
                let until = date(2026, 1, 1).checked_add(d.days()).expect("until");
                format!(";UNTIL={}T000000Z", until.strftime("%Y%m%d"))
            }),
            Just(String::new()),
        ];
        (
            start,
            freq,
            1u8..4,
            end,
            proptest::collection::vec(-40i64..120, 0..4),
            proptest::collection::vec(0i64..60, 0..3),
            prop_oneof![Just(1i64), Just(30), Just(50)],
            proptest::collection::vec(view(), 1..4),
        )
            .prop_map(|(start, freq, interval, end, rdates, exdates, hours, views)| Case {
                start,
                rule: format!("FREQ={freq};INTERVAL={interval}{end}"),
                rdates,
                exdates,
                hours,
                views,
            })
    }

    /// A view anywhere, or a short one near where a weekly or monthly series' instance falls
    /// (where a span that ends one instance early shows).
    fn view() -> impl Strategy<Value = (i64, i64)> {
        prop_oneof![
            (-30i64..200, 1i64..35),
            (0i64..30, prop_oneof![Just(7i64), Just(14), Just(30), Just(31)], 1i64..4)
                .prop_map(|(n, period, days)| (n * period - 1, days)),
        ]
    }

    fn shifted(start: &TimeValue, days: i64) -> TimeValue {
        start.with_local(start.local().checked_add(days.days()).expect("shift")).expect("kind")
    }

    fn check(case: &Case) {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::open(dir.path().join("p.almanac")).expect("open");
        let mut event =
            titled_event("series", case.start.clone(), case.hours * 3600, Some(&case.rule));
        if let TimeValue::Date(_) = case.start {
            let days = i32::try_from(case.hours / 24 + 1).expect("days");
            event.timing.end = End::After(Duration { days, ..Duration::default() });
        }
        event.rdates = case.rdates.iter().map(|d| shifted(&case.start, *d)).collect();
        event.exdates = case.exdates.iter().map(|d| shifted(&case.start, *d)).collect();
        store.create_event(&event).expect("create");
        let origin = date(2026, 1, 1).to_zoned_datetime(TimeZone::UTC).expect("origin").timestamp();
        let day =
            |d: i64| origin.checked_add(jiff::SignedDuration::from_hours(24 * d)).expect("day");
        for &(first, days) in &case.views {
            let (from, to) = (day(first), day(first + days));
            let shown: Vec<_> = store
                .occurrences(from, to, &[], &TimeZone::UTC)
                .expect("view")
                .into_iter()
                .map(|o| (o.event_id.into(), o.key.into(), o.start, o.end))
                .collect();
            let expected = expanded(&store, &["series"], from, to, &TimeZone::UTC);
            assert_eq!(shown, expected, "{case:?}: view {first}+{days}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 500, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn first_views_of_a_fresh_store_show_what_expansion_shows(case in case()) {
            check(&case);
        }
    }
}

/// A month view reads the records it decodes by moving their fields (decision 0040): a cleared
/// field (`Null`) is absent from the view as from `Store::event`, and the fields kept are the
/// ones a read by copy gives.
#[test]
fn a_cleared_field_is_absent_from_a_month_view_as_from_the_event() {
    let d = devices();
    let start = paris(date(2026, 3, 2).at(9, 0, 0, 0));
    d.a.create_event(&titled_event("cleared", start, 3_600, None)).expect("create");
    let mut clear = edit(&[("location", "Room 9")]);
    clear.fields.insert("title".into(), Value::Null);
    d.a.edit_event("cleared", &Span::All, &clear).expect("clear the title");
    let from = Timestamp::from_second(1_772_323_200).expect("2026-03-01");
    let to = Timestamp::from_second(1_775_001_600).expect("2026-04-01");
    let shown = d.a.occurrences(from, to, &[], &TimeZone::UTC).expect("view");
    let event = d.a.event("cleared").expect("read").expect("the event");
    assert_eq!(shown.len(), 1);
    assert_eq!(shown[0].title(), None);
    assert!(!shown[0].fields.contains_key("title"), "{:?}", shown[0].fields);
    assert_eq!(*shown[0].fields, *event.fields);
    assert_eq!(shown[0].fields.get("location"), Some(&Value::from("Room 9")));
}

/// A month view takes the events it decoded in a read of the same committed state without
/// reading their records again (decision 0041). An edit that leaves the index rows as they
/// were (a title) must still show in the next view, whoever commits it: this store, or a
/// second store on the same file (an app extension), whose commits this store's writer never
/// sees.
#[test]
fn a_view_shows_every_edit_committed_since_the_last_one_from_any_connection() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("phone.almanac");
    let app = Store::open(&path).expect("app");
    let extension = Store::open(&path).expect("extension on the same file");
    app.create_event(&titled_event("standup", monday(5), 1800, Some("FREQ=WEEKLY;COUNT=8")))
        .expect("create");
    app.create_event(&titled_event("review", monday(6), 3600, None)).expect("create");
    let shown = |store: &Store| {
        let mut distinct: Vec<String> = Vec::new();
        for (_, title) in titles(&january(store)) {
            if !distinct.contains(&title) {
                distinct.push(title);
            }
        }
        distinct
    };
    assert_eq!(shown(&app), ["standup", "review"]);
    assert_eq!(shown(&app), ["standup", "review"], "nothing committed: the same view");

    app.edit_event("standup", &Span::All, &edit(&[("title", "Standup (app)")])).expect("app");
    assert_eq!(shown(&app), ["Standup (app)", "review"]);

    extension.edit_event("review", &Span::All, &edit(&[("title", "Review (ext)")])).expect("ext");
    assert_eq!(shown(&app), ["Standup (app)", "Review (ext)"]);
    extension.edit_event("standup", &Span::All, &edit(&[("title", "Standup (ext)")])).expect("ext");
    assert_eq!(shown(&app), ["Standup (ext)", "Review (ext)"]);
    assert_eq!(shown(&extension), ["Standup (ext)", "Review (ext)"]);
}

/// A view longer than ten years (an agenda of all time) indexes no days: it expands the series
/// that reach it and reads single events from their rows, and shows what views of its parts
/// show. An endless daily series over all of time is an error that says so, not a store
/// grown by a row per day.
#[test]
fn a_view_of_decades_indexes_no_days_and_shows_what_its_parts_show() {
    let d = devices();
    let at = |y: i16| paris(date(y, 3, 2).at(9, 0, 0, 0));
    let events = [
        titled_event("yearly", at(2001), 3600, Some("FREQ=YEARLY")),
        titled_event("weekly", at(2010), 1800, Some("FREQ=WEEKLY;COUNT=700")),
        titled_event("once", at(2019), 3600, None),
        titled_event(
            "daily",
            paris(date(2026, 1, 1).at(23, 30, 0, 0)),
            7200,
            Some("FREQ=DAILY;COUNT=400"),
        ),
    ];
    for event in &events {
        d.a.create_event(event).expect("create");
    }
    let year = |y: i16| -> Timestamp {
        date(y, 1, 1).to_zoned_datetime(TimeZone::UTC).expect("instant").timestamp()
    };
    let path = d.a.path().to_owned();
    let indexed_days = || -> i64 {
        let conn = rusqlite::Connection::open(&path).expect("raw");
        conn.query_row("SELECT count(*) FROM indexed_days", [], |row| row.get(0)).expect("days")
    };
    let whole = d.a.occurrences(year(2000), year(2030), &[], &TimeZone::UTC).expect("30 years");
    assert_eq!(indexed_days(), 0, "a 30-year view materialises nothing");
    let mut parts = Vec::new();
    for (from, to) in [(2000, 2010), (2010, 2020), (2020, 2030)] {
        parts.extend(d.a.occurrences(year(from), year(to), &[], &TimeZone::UTC).expect("part"));
    }
    assert!(indexed_days() > 0, "a ten-year view is materialised");
    assert_eq!(whole.len(), 29 + 700 + 1 + 400, "{}", whole.len());
    assert_eq!(whole, parts);
    let all = d.a.occurrences(Timestamp::MIN, Timestamp::MAX, &[], &TimeZone::UTC);
    assert!(all.is_ok(), "finite series over all time: {all:?}");
    d.a.create_event(&titled_event("endless", at(2020), 600, Some("FREQ=DAILY"))).expect("e");
    let all = d.a.occurrences(Timestamp::MIN, Timestamp::MAX, &[], &TimeZone::UTC);
    assert!(matches!(all, Err(almanac_core::Error::InvalidInput(_))), "{all:?}");
    assert!(std::fs::metadata(&path).expect("size").len() < 2 << 20);
}
