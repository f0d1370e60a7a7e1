//! Edits keep the user's intent when schedules change (the "Decisions added 2026-11-30" of the
//! merge contract): one test per finding of the issue, each concurrent scenario run in both
//! orders (written and delivered A then B, and B then A), checking what every device shows.
//!
//! Occurrences are identified by their start instants and titles, never by the text of their
//! keys.
//!
//! Before the fixes (commit b57d7b4) 20 of these 24 tests failed; these 4 passed, as their
//! findings say those scenarios already worked, and guard the change of occurrence keys:
//! - finding_2_a_cancel_survives_moving_to_london_at_the_same_instants
//! - finding_6_a_range_title_from_the_gap_occurrence_keeps_later_wall_times
//! - finding_6_a_range_edit_racing_a_zone_move_with_the_same_instants
//! - finding_8_a_concurrent_occurrence_edit_keeps_precedence_over_a_series_edit

use std::collections::BTreeMap;

use almanac_core::calendar::api::{EventEdit, NewEvent};
use almanac_core::calendar::conflicts::{Shadow, ShadowedOccurrence};
use almanac_core::calendar::event::{End, Span, Timing};
use almanac_core::calendar::recurrence::RecurrenceRule;
use almanac_core::calendar::series::Occurrence;
use almanac_core::calendar::time::{Duration, TimeValue};
use almanac_core::{FieldConflict, Store, Value};
use jiff::Timestamp;
use jiff::civil::date;
use jiff::tz::TimeZone;

use crate::support::paris;

const ID: &str = "standup";

/// Two devices that edit (a, b) and one that only receives (c).
struct Devices {
    a: Store,
    b: Store,
    c: Store,
    _dir: tempfile::TempDir,
}

/// Devices holding `event`, created on a and synced to b and c.
fn with_event(event: &NewEvent) -> Devices {
    let dir = tempfile::tempdir().expect("dir");
    let open = |name: &str| Store::open(dir.path().join(name)).expect("open");
    let d = Devices { a: open("a"), b: open("b"), c: open("c"), _dir: dir };
    d.a.create_event(event).expect("create");
    sync_all(&d);
    d
}

/// A weekly series (`rule`) from `start`, one hour long, with a title.
fn series(start: TimeValue, rule: &str, title: &str) -> NewEvent {
    NewEvent {
        id: ID.into(),
        calendar: "work".into(),
        uid: None,
        timing: hour_long(start),
        rule: Some(RecurrenceRule::parse(rule).expect("rule")),
        rdates: Vec::new(),
        exdates: Vec::new(),
        fields: BTreeMap::from([("title".into(), Value::from(title))]),
        attendees: Vec::new(),
        alarms: Vec::new(),
        unknown_properties: Vec::new(),
    }
}

/// The Monday 09:00–10:00 Paris "Standup" from 2026-01-05 (Jan 5, 12, 19, 26 in January).
fn standup() -> Devices {
    with_event(&series(monday(5), "FREQ=WEEKLY", "Standup"))
}

fn one_way(from: &Store, to: &Store) {
    crate::support::sync_spaces(from, to);
}

fn sync_all(d: &Devices) {
    for (from, to) in [(&d.a, &d.b), (&d.b, &d.c), (&d.c, &d.a), (&d.a, &d.b)] {
        one_way(from, to);
    }
}

fn check_all(d: &Devices, when: &str, check: &impl Fn(&Store)) {
    for (name, store) in [("a", &d.a), ("b", &d.b), ("c", &d.c)] {
        eprintln!("checking device {name} ({when})");
        check(store);
    }
}

/// Runs `act` on device a, checks it, syncs, and checks every device.
fn on_one_device(d: &Devices, act: impl Fn(&Store), check: impl Fn(&Store)) {
    act(&d.a);
    eprintln!("checking device a before sync (one device)");
    check(&d.a);
    sync_all(d);
    check_all(d, "one device, after sync", &check);
}

/// Runs `a` on device a and `b` on device b concurrently, twice on a fresh standup: once A
/// writes first and its edit is delivered first (to the observer c, which looks at the calendar
/// in between, and a syncs to b before b to a), once the same with B first. Checks every device.
fn concurrently(a: impl Fn(&Store), b: impl Fn(&Store), check: impl Fn(&Store)) {
    for a_first in [true, false] {
        let d = standup();
        let (first, second) = if a_first {
            a(&d.a);
            b(&d.b);
            (&d.a, &d.b)
        } else {
            b(&d.b);
            a(&d.a);
            (&d.b, &d.a)
        };
        one_way(first, &d.c);
        january(&d.c);
        one_way(second, &d.c);
        one_way(first, second);
        one_way(second, first);
        check_all(&d, if a_first { "A then B" } else { "B then A" }, &check);
    }
}

/// `first` then `second` on one device, then the same two concurrently in both orders.
fn on_one_device_and_concurrently(
    first: impl Fn(&Store),
    second: impl Fn(&Store),
    check: impl Fn(&Store),
) {
    on_one_device(
        &standup(),
        |s| {
            first(s);
            second(s);
        },
        &check,
    );
    concurrently(first, second, check);
}

fn monday(day: i8) -> TimeValue {
    paris(date(2026, 1, day).at(9, 0, 0, 0))
}

fn hour_long(start: TimeValue) -> Timing {
    Timing { start, end: End::After(Duration { seconds: 3600, ..Duration::default() }) }
}

/// The series timing starting Jan 5 at `hour` in `zone`, one hour long.
fn series_at(zone: &str, hour: i8) -> Timing {
    hour_long(TimeValue::Zoned { local: date(2026, 1, 5).at(hour, 0, 0, 0), zone: zone.into() })
}

fn all_day() -> Timing {
    Timing::all_day(date(2026, 1, 5), 1)
}

fn title(title: &str) -> EventEdit {
    EventEdit {
        fields: BTreeMap::from([("title".into(), Value::from(title))]),
        ..EventEdit::default()
    }
}

fn retime(timing: Timing) -> EventEdit {
    EventEdit { timing: Some(timing), ..EventEdit::default() }
}

fn edit(store: &Store, span: Span, edit: &EventEdit) {
    store.edit_event(ID, &span, edit).expect("edit");
}

fn edit_all(store: &Store, change: &EventEdit) {
    edit(store, Span::All, change);
}

fn edit_this(store: &Store, day: i8, change: &EventEdit) {
    edit(store, Span::This(monday(day)), change);
}

fn edit_following(store: &Store, day: i8, change: &EventEdit) {
    edit(store, Span::ThisAndFollowing(monday(day)), change);
}

fn cancel(store: &Store, day: i8) {
    store.delete_event(ID, &Span::This(monday(day))).expect("cancel");
}

fn truncate(store: &Store, day: i8) {
    store.delete_event(ID, &Span::ThisAndFollowing(monday(day))).expect("truncate");
}

fn between(store: &Store, from: &str, to: &str) -> Vec<Occurrence> {
    let (from, to): (Timestamp, Timestamp) = (from.parse().expect("from"), to.parse().expect("to"));
    store.occurrences(from, to, &[], &TimeZone::UTC).expect("occurrences")
}

fn january(store: &Store) -> Vec<Occurrence> {
    between(store, "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z")
}

/// "start-instant title" of each occurrence.
fn listed(occurrences: &[Occurrence]) -> Vec<String> {
    occurrences.iter().map(|o| format!("{} {}", o.start, o.title().unwrap_or("-"))).collect()
}

/// What the user sees in January (UTC instants; 09:00 Paris is 08:00Z in winter).
fn shown(store: &Store) -> Vec<String> {
    listed(&january(store))
}

/// The same title on each of these January start instants.
fn each(starts: &[&str], title: &str) -> Vec<String> {
    starts.iter().map(|start| format!("{start} {title}")).collect()
}

fn shadowed(store: &Store) -> Vec<ShadowedOccurrence> {
    store.calendar_conflicts().expect("log").into_iter().flat_map(|e| e.occurrences).collect()
}

fn field_conflicts(store: &Store) -> Vec<FieldConflict> {
    store.calendar_conflicts().expect("log").into_iter().flat_map(|e| e.fields).collect()
}

/// The conflict log lists exactly one hidden occurrence edit, for `reason`, carrying `title`
/// (if any).
fn logged(store: &Store, reason: Shadow, title: Option<&str>) {
    let hidden = shadowed(store);
    assert_eq!(hidden.len(), 1, "one hidden edit is listed: {hidden:?}");
    assert_eq!(hidden[0].reason, reason, "{hidden:?}");
    if let Some(title) = title {
        assert_eq!(hidden[0].fields.get("title"), Some(&Value::from(title)), "{hidden:?}");
    }
}

// Finding 1: a schedule change brings back occurrences deleted with "this and following".

const EIGHT_AM: [&str; 4] = [
    "2026-01-05T07:00:00Z",
    "2026-01-12T07:00:00Z",
    "2026-01-19T07:00:00Z",
    "2026-01-26T07:00:00Z",
];
const NINE_AM: [&str; 4] = [
    "2026-01-05T08:00:00Z",
    "2026-01-12T08:00:00Z",
    "2026-01-19T08:00:00Z",
    "2026-01-26T08:00:00Z",
];
const ALL_DAY: [&str; 4] = [
    "2026-01-05T00:00:00Z",
    "2026-01-12T00:00:00Z",
    "2026-01-19T00:00:00Z",
    "2026-01-26T00:00:00Z",
];

#[test]
fn finding_1_a_truncation_survives_moving_the_series_earlier() {
    on_one_device_and_concurrently(
        |s| truncate(s, 19),
        |s| edit_all(s, &retime(series_at("Europe/Paris", 8))),
        |s| assert_eq!(shown(s), each(&EIGHT_AM[..2], "Standup")),
    );
}

#[test]
fn finding_1_a_truncation_survives_switching_the_series_to_all_day() {
    on_one_device_and_concurrently(
        |s| truncate(s, 19),
        |s| edit_all(s, &retime(all_day())),
        |s| assert_eq!(shown(s), each(&ALL_DAY[..2], "Standup")),
    );
}

// Finding 2: a cancelled occurrence comes back after an "all events" time, all-day or zone
// change; a cancel-only override orphaned by a rule change is not logged.

/// Cancel Jan 12, then (on one device, and concurrently) change the series timing: only the
/// other three Mondays show, at `starts`.
fn cancel_then_retime(timing: Timing, starts: [&str; 3]) {
    on_one_device_and_concurrently(
        |s| cancel(s, 12),
        |s| edit_all(s, &retime(timing.clone())),
        |s| assert_eq!(shown(s), each(&starts, "Standup")),
    );
}

#[test]
fn finding_2_a_cancel_survives_moving_the_series_later() {
    cancel_then_retime(
        series_at("Europe/Paris", 10),
        ["2026-01-05T09:00:00Z", "2026-01-19T09:00:00Z", "2026-01-26T09:00:00Z"],
    );
}

#[test]
fn finding_2_a_cancel_survives_switching_the_series_to_all_day() {
    cancel_then_retime(
        all_day(),
        ["2026-01-05T00:00:00Z", "2026-01-19T00:00:00Z", "2026-01-26T00:00:00Z"],
    );
}

#[test]
fn finding_2_a_cancel_survives_moving_to_london_at_the_same_instants() {
    // 08:00 London is 09:00 Paris in January.
    cancel_then_retime(
        series_at("Europe/London", 8),
        ["2026-01-05T08:00:00Z", "2026-01-19T08:00:00Z", "2026-01-26T08:00:00Z"],
    );
}

#[test]
fn finding_2_a_cancel_survives_moving_to_new_york_on_the_same_date() {
    // 09:00 New York is 14:00Z in January.
    cancel_then_retime(
        series_at("America/New_York", 9),
        ["2026-01-05T14:00:00Z", "2026-01-19T14:00:00Z", "2026-01-26T14:00:00Z"],
    );
}

#[test]
fn finding_2_a_cancel_orphaned_by_a_concurrent_rule_change_is_logged() {
    let every_other = RecurrenceRule::parse("FREQ=WEEKLY;INTERVAL=2").expect("rule");
    let rule = EventEdit { rule: Some(Some(every_other)), ..EventEdit::default() };
    concurrently(
        |a| cancel(a, 12),
        |b| edit_all(b, &rule),
        |s| {
            assert_eq!(shown(s), each(&[NINE_AM[0], NINE_AM[2]], "Standup"));
            logged(s, Shadow::Orphaned, None);
        },
    );
}

// Finding 3: a "this and following" edit that ends up hidden is neither shown nor logged.

#[test]
fn finding_3_a_range_edit_hidden_by_a_concurrent_truncation_is_logged() {
    concurrently(
        |a| truncate(a, 19),
        |b| edit_following(b, 26, &title("Last one")),
        |s| {
            assert_eq!(shown(s), each(&NINE_AM[..2], "Standup"));
            logged(s, Shadow::Truncated, Some("Last one"));
        },
    );
}

#[test]
fn finding_3_a_range_edit_orphaned_by_removing_the_rule_is_logged() {
    concurrently(
        |a| edit_all(a, &EventEdit { rule: Some(None), ..EventEdit::default() }),
        |b| edit_following(b, 19, &title("From the 19th")),
        |s| {
            assert_eq!(shown(s), each(&NINE_AM[..1], "Standup"));
            logged(s, Shadow::Orphaned, Some("From the 19th"));
        },
    );
}

// Finding 4: "this and following" from X skips X when a concurrent edit moves X earlier or
// makes the series all-day.

fn range_title_racing(timing: Timing, starts: [&str; 4]) {
    concurrently(
        |a| edit_following(a, 19, &title("From the 19th")),
        |b| edit_all(b, &retime(timing.clone())),
        |s| {
            let mut expected = each(&starts[..2], "Standup");
            expected.extend(each(&starts[2..], "From the 19th"));
            assert_eq!(shown(s), expected);
        },
    );
}

#[test]
fn finding_4_a_range_edit_covers_its_own_occurrence_after_a_concurrent_move_earlier() {
    range_title_racing(series_at("Europe/Paris", 8), EIGHT_AM);
}

#[test]
fn finding_4_a_range_edit_covers_its_own_occurrence_after_a_concurrent_switch_to_all_day() {
    range_title_racing(all_day(), ALL_DAY);
}

// Finding 5: two timing edits combine into a time nobody wrote.

#[test]
fn finding_5_a_range_time_and_a_concurrent_series_time_never_add_up() {
    concurrently(
        |a| edit_following(a, 19, &retime(hour_long(paris(date(2026, 1, 19).at(10, 0, 0, 0))))),
        |b| edit_all(b, &retime(series_at("Europe/Paris", 14))),
        |s| {
            // 14:00 Paris (13:00Z) until the 12th, the range's 10:00 Paris (09:00Z) after.
            let mut expected = each(&["2026-01-05T13:00:00Z", "2026-01-12T13:00:00Z"], "Standup");
            expected.extend(each(&["2026-01-19T09:00:00Z", "2026-01-26T09:00:00Z"], "Standup"));
            assert_eq!(shown(s), expected);
        },
    );
}

// Finding 6: the daylight-saving gap. A Sunday 02:30 Paris series from March 1: 02:30 on
// March 29 does not exist and resolves to 01:30Z (03:30 CEST); later Sundays are 00:30Z.

fn nightly() -> Devices {
    with_event(&series(paris(date(2026, 3, 1).at(2, 30, 0, 0)), "FREQ=WEEKLY", "Backup"))
}

fn spring(store: &Store) -> Vec<Occurrence> {
    between(store, "2026-03-01T00:00:00Z", "2026-05-01T00:00:00Z")
}

const BEFORE_GAP: [&str; 4] = [
    "2026-03-01T01:30:00Z",
    "2026-03-08T01:30:00Z",
    "2026-03-15T01:30:00Z",
    "2026-03-22T01:30:00Z",
];

/// Edits this and following from the March 29 occurrence, named by the `original` the
/// occurrence query returned.
fn edit_from_the_gap(store: &Store, change: &EventEdit) {
    let gap = spring(store)
        .into_iter()
        .find(|o| o.start.to_string() == "2026-03-29T01:30:00Z")
        .expect("the March 29 occurrence");
    edit(store, Span::ThisAndFollowing(gap.original), change);
}

#[test]
fn finding_6_index_and_expansion_agree_across_the_gap() {
    let d = nightly();
    on_one_device(
        &d,
        |_| {},
        |s| {
            let indexed = spring(s);
            let (from, to) = ("2026-03-01T00:00:00Z", "2026-05-01T00:00:00Z");
            let event = s.event(ID).expect("read").expect("event");
            let expanded = event
                .occurrences(from.parse().expect("from"), to.parse().expect("to"), &TimeZone::UTC)
                .expect("expand");
            let brief = |o: &[Occurrence]| {
                o.iter().map(|o| format!("{} {:?}", o.start, o.original)).collect::<Vec<_>>()
            };
            assert_eq!(brief(&indexed), brief(&expanded), "the index path and the expansion agree");
            assert_eq!(indexed, expanded);
            assert_eq!(indexed.len(), 9);
            assert_eq!(indexed[4].start.to_string(), "2026-03-29T01:30:00Z");
        },
    );
}

#[test]
fn finding_6_a_range_title_from_the_gap_occurrence_keeps_later_wall_times() {
    on_one_device(
        &nightly(),
        |s| edit_from_the_gap(s, &title("Summer backup")),
        |s| {
            let mut expected = each(&BEFORE_GAP, "Backup");
            expected.extend(each(
                &[
                    "2026-03-29T01:30:00Z",
                    "2026-04-05T00:30:00Z",
                    "2026-04-12T00:30:00Z",
                    "2026-04-19T00:30:00Z",
                    "2026-04-26T00:30:00Z",
                ],
                "Summer backup",
            ));
            assert_eq!(listed(&spring(s)), expected);
        },
    );
}

#[test]
fn finding_6_a_range_time_from_the_gap_occurrence_is_the_chosen_wall_time() {
    let three_am = hour_long(paris(date(2026, 3, 29).at(3, 0, 0, 0)));
    on_one_device(
        &nightly(),
        |s| edit_from_the_gap(s, &retime(three_am.clone())),
        |s| {
            // 03:00 Paris is 01:00Z in summer time, March 29 included.
            let mut expected = each(&BEFORE_GAP, "Backup");
            expected.extend(each(
                &[
                    "2026-03-29T01:00:00Z",
                    "2026-04-05T01:00:00Z",
                    "2026-04-12T01:00:00Z",
                    "2026-04-19T01:00:00Z",
                    "2026-04-26T01:00:00Z",
                ],
                "Backup",
            ));
            assert_eq!(listed(&spring(s)), expected);
        },
    );
}

#[test]
fn finding_6_a_range_edit_racing_a_zone_move_with_the_same_instants() {
    concurrently(
        |a| edit_following(a, 19, &title("From the 19th")),
        |b| edit_all(b, &retime(series_at("Europe/London", 8))),
        |s| {
            let mut expected = each(&NINE_AM[..2], "Standup");
            expected.extend(each(&NINE_AM[2..], "From the 19th"));
            assert_eq!(shown(s), expected);
        },
    );
}

// Finding 7: identical concurrent values are not a conflict.

fn no_field_conflict(store: &Store) {
    let fields = field_conflicts(store);
    assert!(fields.is_empty(), "equal values are no conflict: {fields:?}");
}

#[test]
fn finding_7_identical_concurrent_range_edits_are_no_conflict() {
    let split = || title("After the split");
    concurrently(
        |a| edit_following(a, 19, &split()),
        |b| edit_following(b, 19, &split()),
        |s| {
            let mut expected = each(&NINE_AM[..2], "Standup");
            expected.extend(each(&NINE_AM[2..], "After the split"));
            assert_eq!(shown(s), expected);
            no_field_conflict(s);
        },
    );
}

#[test]
fn finding_7_identical_concurrent_series_titles_are_no_conflict() {
    concurrently(
        |a| edit_all(a, &title("Team standup")),
        |b| edit_all(b, &title("Team standup")),
        |s| {
            assert_eq!(shown(s), each(&NINE_AM, "Team standup"));
            no_field_conflict(s);
        },
    );
}

// Finding 8: a later, wider edit replaces an earlier narrower one its writer had seen, even on
// one device; narrower edits made concurrently keep their precedence.

#[test]
fn finding_8_a_series_edit_replaces_a_range_edit_seen_before() {
    on_one_device(
        &standup(),
        |s| {
            edit_following(s, 19, &title("v2"));
            edit_all(s, &title("v3"));
        },
        |s| assert_eq!(shown(s), each(&NINE_AM, "v3")),
    );
}

#[test]
fn finding_8_a_series_edit_replaces_an_occurrence_edit_seen_before() {
    on_one_device(
        &standup(),
        |s| {
            edit_this(s, 12, &title("v2"));
            edit_all(s, &title("v3"));
        },
        |s| assert_eq!(shown(s), each(&NINE_AM, "v3")),
    );
}

#[test]
fn finding_8_a_range_edit_replaces_an_occurrence_edit_seen_before() {
    on_one_device(
        &standup(),
        |s| {
            edit_this(s, 19, &title("v2"));
            edit_following(s, 12, &title("v3"));
        },
        |s| {
            let mut expected = each(&NINE_AM[..1], "Standup");
            expected.extend(each(&NINE_AM[1..], "v3"));
            assert_eq!(shown(s), expected);
        },
    );
}

#[test]
fn finding_8_a_concurrent_occurrence_edit_keeps_precedence_over_a_series_edit() {
    concurrently(
        |a| edit_this(a, 12, &title("X")),
        |b| edit_all(b, &title("Y")),
        |s| {
            let mut expected = each(&NINE_AM, "Y");
            expected[1] = format!("{} X", NINE_AM[1]);
            assert_eq!(shown(s), expected);
        },
    );
}

#[test]
fn finding_8_a_series_edit_on_another_device_replaces_a_synced_occurrence_edit() {
    let d = standup();
    edit_this(&d.a, 12, &title("X"));
    sync_all(&d);
    edit_all(&d.b, &title("Z"));
    sync_all(&d);
    check_all(&d, "B saw A's edit", &|s: &Store| assert_eq!(shown(s), each(&NINE_AM, "Z")));
}

// Finding 9: restoring a cancelled occurrence brings it back as it was before the cancel.

#[test]
fn finding_9_restoring_a_cancelled_occurrence_brings_back_its_move_and_title() {
    let moved = EventEdit {
        timing: Some(hour_long(paris(date(2026, 1, 13).at(15, 0, 0, 0)))),
        ..title("Moved")
    };
    on_one_device(
        &standup(),
        |s| {
            edit_this(s, 12, &moved);
            cancel(s, 12);
            s.restore_occurrence(ID, &monday(12)).expect("restore");
        },
        |s| {
            let mut expected = each(&NINE_AM[..1], "Standup");
            expected.extend(each(&["2026-01-13T14:00:00Z"], "Moved"));
            expected.extend(each(&NINE_AM[2..], "Standup"));
            assert_eq!(shown(s), expected);
        },
    );
}
