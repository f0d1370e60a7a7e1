//! The bindings surface as Swift and Kotlin call it: every call with good and bad input, the
//! error each failure maps to, listeners, and many threads at once.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use almanac_ffi::*;

fn open(dir: &tempfile::TempDir, name: &str) -> Arc<AlmanacStore> {
    AlmanacStore::open(dir.path().join(name).to_string_lossy().into_owned()).expect("open")
}

fn zoned(local: &str) -> EventTime {
    EventTime::Zoned { local: local.into(), zone: "Europe/Paris".into() }
}

fn one_hour() -> EventEnd {
    EventEnd::After { days: 0, seconds: 3600 }
}

fn event(id: &str, start: EventTime, rule: Option<&str>) -> NewEventInput {
    NewEventInput {
        id: id.into(),
        calendar: "work".into(),
        start,
        end: one_hour(),
        rule: rule.map(str::to_owned),
        rdates: vec![],
        exdates: vec![],
        fields: EventFields { title: Some(format!("{id} title")), ..EventFields::default() },
        attendees: vec![],
        alarms: vec![],
    }
}

fn title(value: &str) -> EventChanges {
    EventChanges {
        fields: HashMap::from([("title".into(), FieldChange::Set { value: value.into() })]),
        ..EventChanges::default()
    }
}

/// 2026-03-23T00:00Z .. 2026-04-06T00:00Z: two Mondays on each side of the EU change to
/// summer time (2026-03-29).
fn around_dst() -> OccurrenceQuery {
    OccurrenceQuery {
        from_epoch_seconds: 1_774_224_000,
        to_epoch_seconds: 1_775_433_600,
        calendars: vec![],
        viewer_zone: "Europe/Paris".into(),
    }
}

#[test]
fn calendars_are_created_renamed_coloured_and_zoned() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, "a");
    store.create_calendar("work".into(), "Work".into(), None, Some("Europe/Paris".into())).unwrap();
    store.rename_calendar("work".into(), "Office".into()).unwrap();
    store.set_calendar_color("work".into(), Some("#3366ff".into())).unwrap();
    store.set_calendar_time_zone("work".into(), Some("America/New_York".into())).unwrap();
    let work = store.calendar("work".into()).unwrap().unwrap();
    assert_eq!(work.name.as_deref(), Some("Office"));
    assert_eq!(work.color.as_deref(), Some("#3366ff"));
    assert_eq!(work.time_zone.as_deref(), Some("America/New_York"));
    assert_eq!(store.calendars().unwrap(), vec![work]);

    let bad = store.set_calendar_time_zone("work".into(), Some("Mars/Olympus".into()));
    assert!(
        matches!(bad, Err(AlmanacError::InvalidInput { ref message }) if message.contains("Mars/Olympus")),
        "{bad:?}"
    );
    let missing = store.rename_calendar("home".into(), "Home".into());
    assert!(matches!(missing, Err(AlmanacError::NotFound { .. })), "{missing:?}");
    assert!(!tz_database_version().is_empty());
}

#[test]
fn every_span_edits_and_deletes_and_occurrences_follow_the_dst_change() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, "a");
    store
        .create_event(event("standup", zoned("2026-03-23T09:00:00"), Some("FREQ=WEEKLY;BYDAY=MO")))
        .unwrap();

    let week = store.occurrences(around_dst()).unwrap();
    assert_eq!(week.len(), 2);
    // 09:00 in Paris: 08:00Z in winter, 07:00Z in summer.
    assert_eq!(week[0].start_epoch_seconds, 1_774_252_800);
    assert_eq!(week[1].start_epoch_seconds, 1_774_854_000);
    assert_eq!(week[1].original, zoned("2026-03-30T09:00:00"));

    let second = EditSpan::This { occurrence: week[1].original.clone() };
    store.edit_event("standup".into(), second.clone(), title("Moved")).unwrap();
    store
        .edit_event(
            "standup".into(),
            EditSpan::ThisAndFollowing { occurrence: zoned("2026-04-06T09:00:00") },
            EventChanges {
                fields: HashMap::from([(
                    "location".into(),
                    FieldChange::Set { value: "Room 2".into() },
                )]),
                ..EventChanges::default()
            },
        )
        .unwrap();
    store
        .edit_event(
            "standup".into(),
            EditSpan::All,
            EventChanges {
                fields: HashMap::from([(
                    "notes".into(),
                    FieldChange::Set { value: "bring coffee".into() },
                )]),
                ..EventChanges::default()
            },
        )
        .unwrap();
    let mut wide = around_dst();
    wide.to_epoch_seconds += 7 * 86_400;
    let view = store.occurrences(wide.clone()).unwrap();
    let titles: Vec<_> = view.iter().map(|o| o.fields.title.clone().unwrap()).collect();
    assert_eq!(titles, ["standup title", "Moved", "standup title"]);
    assert_eq!(view[2].fields.location.as_deref(), Some("Room 2"));
    assert_eq!(view[1].fields.location, None);
    assert!(view.iter().all(|o| o.fields.notes.as_deref() == Some("bring coffee")));

    store.delete_event("standup".into(), second).unwrap();
    assert_eq!(store.occurrences(wide.clone()).unwrap().len(), 2);
    store.restore_occurrence("standup".into(), zoned("2026-03-30T09:00:00")).unwrap();
    assert_eq!(store.occurrences(wide.clone()).unwrap()[1].fields.title.as_deref(), Some("Moved"));

    store
        .delete_event(
            "standup".into(),
            EditSpan::ThisAndFollowing { occurrence: zoned("2026-03-30T09:00:00") },
        )
        .unwrap();
    assert_eq!(store.occurrences(wide.clone()).unwrap().len(), 1);

    store.delete_event("standup".into(), EditSpan::All).unwrap();
    assert!(store.occurrences(wide.clone()).unwrap().is_empty());
    assert_eq!(store.event("standup".into()).unwrap(), None);
    store.restore_event("standup".into()).unwrap();
    let details = store.event("standup".into()).unwrap().unwrap();
    assert_eq!(details.rule.as_deref(), Some("FREQ=WEEKLY;BYDAY=MO"));
    assert_eq!(details.start, zoned("2026-03-23T09:00:00"));
}

#[test]
fn every_error_case_is_its_own_variant_with_a_readable_message() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, "a");
    let invalid = |result: Result<(), AlmanacError>, needle: &str| match result {
        Err(AlmanacError::InvalidInput { message }) => {
            assert!(message.contains(needle), "'{message}' lacks '{needle}'")
        }
        other => panic!("expected InvalidInput containing '{needle}', got {other:?}"),
    };

    let bad_zone =
        EventTime::Zoned { local: "2026-03-23T09:00:00".into(), zone: "Europe/Pariss".into() };
    invalid(store.create_event(event("a", bad_zone, None)), "unknown time zone 'Europe/Pariss'");

    let mut backwards = event("b", zoned("2026-03-23T09:00:00"), None);
    backwards.end = EventEnd::At { time: zoned("2026-03-23T08:00:00") };
    invalid(store.create_event(backwards), "the end is before the start");

    invalid(
        store.create_event(event("c", zoned("2026-03-23T09:00:00"), Some("FREQ=SOMETIMES"))),
        "FREQ=SOMETIMES",
    );
    invalid(
        store.create_event(event("d", EventTime::Date { date: "2026-02-30".into() }, None)),
        "2026-02-30",
    );
    invalid(
        store.create_event(event("e", EventTime::Floating { local: "9am".into() }, None)),
        "'9am' is not a wall time",
    );

    let mut wrong_view = around_dst();
    wrong_view.viewer_zone = "Nowhere".into();
    invalid(store.occurrences(wrong_view).map(drop), "Nowhere");
    let mut reversed = around_dst();
    reversed.to_epoch_seconds = reversed.from_epoch_seconds - 1;
    invalid(store.occurrences(reversed).map(drop), "ends before it starts");

    let missing = store.edit_event("ghost".into(), EditSpan::All, title("x"));
    assert!(matches!(missing, Err(AlmanacError::NotFound { .. })), "{missing:?}");
    store.create_event(event("single", zoned("2026-03-23T09:00:00"), None)).unwrap();
    invalid(
        store.edit_event(
            "single".into(),
            EditSpan::This { occurrence: zoned("2026-03-23T09:00:00") },
            title("x"),
        ),
        "does not repeat",
    );
    invalid(
        store.create_event(event("single", zoned("2026-03-23T09:00:00"), None)),
        "already exists",
    );
    invalid(
        store.edit_event(
            "single".into(),
            EditSpan::All,
            EventChanges { start: Some(zoned("2026-03-23T10:00:00")), ..EventChanges::default() },
        ),
        "give both",
    );

    // Huge strings: ids are limited (an error, not a crash); text values are stored whole.
    invalid(
        store.create_event(event(&"x".repeat(5000), zoned("2026-03-23T09:00:00"), None)),
        "limit is 1024",
    );
    let long_title = "é".repeat(1 << 20);
    store.edit_event("single".into(), EditSpan::All, title(&long_title)).unwrap();
    assert_eq!(store.event("single".into()).unwrap().unwrap().fields.title, Some(long_title));
    let garbage = store.import_ics("work".into(), "\u{0}".repeat(1 << 20), None).unwrap();
    assert_eq!(garbage.events, 0);

    store.close_store().unwrap();
    store.close_store().unwrap();
    assert!(store.is_closed());
    for result in [
        store.occurrences(around_dst()).map(drop),
        store.create_event(event("z", zoned("2026-03-23T09:00:00"), None)),
    ] {
        assert!(
            matches!(result, Err(AlmanacError::Closed { ref message }) if message.contains("closed")),
            "{result:?}"
        );
    }
}

#[test]
fn conflicts_are_listed_resolved_and_restored() {
    let dir = tempfile::tempdir().unwrap();
    let (phone, laptop) = (open(&dir, "phone"), open(&dir, "laptop"));
    phone.create_event(event("review", zoned("2026-03-24T14:00:00"), None)).unwrap();
    phone.sync_with(Arc::clone(&laptop)).unwrap();
    phone.edit_event("review".into(), EditSpan::All, title("Phone")).unwrap();
    laptop.edit_event("review".into(), EditSpan::All, title("Laptop")).unwrap();
    phone.sync_with(Arc::clone(&laptop)).unwrap();

    let log = phone.conflicts().unwrap();
    assert_eq!(log, laptop.conflicts().unwrap());
    assert_eq!(log.len(), 1);
    let field = &log[0].fields[0];
    assert_eq!(field.path, ConflictPath { field: "title".into(), key: None, member_field: None });
    let loser = field.candidates[0].text.clone();
    assert_ne!(loser, field.shown.text);
    phone
        .resolve_conflict(
            "review".into(),
            field.path.clone(),
            ConflictResolution::Candidate { index: 0 },
        )
        .unwrap();
    phone.sync_with(Arc::clone(&laptop)).unwrap();
    assert!(phone.conflicts().unwrap().is_empty() && laptop.conflicts().unwrap().is_empty());
    assert_eq!(laptop.event("review".into()).unwrap().unwrap().fields.title, Some(loser));
    let again =
        phone.resolve_conflict("review".into(), field.path.clone(), ConflictResolution::KeepShown);
    assert!(matches!(again, Err(AlmanacError::NotFound { .. })), "{again:?}");

    // An edit racing a delete: the delete wins, the edit waits in the log until a restore.
    laptop.delete_event("review".into(), EditSpan::All).unwrap();
    phone.edit_event("review".into(), EditSpan::All, title("Edited while deleted")).unwrap();
    phone.sync_with(Arc::clone(&laptop)).unwrap();
    let log = phone.conflicts().unwrap();
    assert!(log[0].deleted && log[0].edits_hidden_by_delete == 1, "{log:?}");
    phone.restore_event("review".into()).unwrap();
    assert_eq!(
        phone.event("review".into()).unwrap().unwrap().fields.title.as_deref(),
        Some("Edited while deleted")
    );
}

#[test]
fn an_override_orphaned_by_a_schedule_change_is_listed() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, "a");
    store
        .create_event(event("gym", zoned("2026-03-23T18:00:00"), Some("FREQ=WEEKLY;BYDAY=MO")))
        .unwrap();
    store
        .edit_event(
            "gym".into(),
            EditSpan::This { occurrence: zoned("2026-03-30T18:00:00") },
            title("Leg day"),
        )
        .unwrap();
    store
        .edit_event(
            "gym".into(),
            EditSpan::All,
            EventChanges {
                rule: Some(RuleChange::Set { rule: "FREQ=WEEKLY;BYDAY=TU".into() }),
                ..EventChanges::default()
            },
        )
        .unwrap();
    let orphans = store.orphaned_overrides("gym".into()).unwrap();
    assert_eq!(orphans.len(), 1);
    assert_eq!(orphans[0].original, zoned("2026-03-30T18:00:00"));
    assert_eq!(orphans[0].fields.get("title").map(String::as_str), Some("Leg day"));
    let log = store.conflicts().unwrap();
    assert_eq!(log[0].occurrences[0].reason, ShadowReason::Orphaned);
}

struct Progress(Mutex<Vec<(u64, u64)>>);
impl ImportProgressListener for Progress {
    fn on_progress(&self, done: u64, total: u64) {
        self.0.lock().unwrap().push((done, total));
    }
}

#[test]
fn icalendar_round_trip_reports_progress_and_issues() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (open(&dir, "a"), open(&dir, "b"));
    a.create_event(event("standup", zoned("2026-03-23T09:00:00"), Some("FREQ=WEEKLY;COUNT=3")))
        .unwrap();
    a.create_event(event("holiday", EventTime::Date { date: "2026-03-25".into() }, None))
        .unwrap_err();
    let mut holiday = event("holiday", EventTime::Date { date: "2026-03-25".into() }, None);
    holiday.end = EventEnd::After { days: 1, seconds: 0 };
    a.create_event(holiday).unwrap();
    let text = a.export_ics(Some("work".into())).unwrap();
    assert!(text.contains("RRULE:FREQ=WEEKLY;COUNT=3"), "{text}");

    let seen = Arc::new(Progress(Mutex::new(Vec::new())));
    struct Shared(Arc<Progress>);
    impl ImportProgressListener for Shared {
        fn on_progress(&self, done: u64, total: u64) {
            self.0.on_progress(done, total);
        }
    }
    let with_junk = text.replace(
        "END:VCALENDAR",
        "BEGIN:VEVENT\r\nUID:broken\r\nDTSTART:nonsense\r\nEND:VEVENT\r\nEND:VCALENDAR",
    );
    let report =
        b.import_ics("work".into(), with_junk, Some(Box::new(Shared(Arc::clone(&seen))))).unwrap();
    assert_eq!(report.events, 2);
    assert!(
        !report.issues.is_empty()
            && report
                .issues
                .iter()
                .any(|i| i.uid.as_deref() == Some("broken") || i.message.contains("DTSTART")),
        "{report:?}"
    );
    assert_eq!(seen.0.lock().unwrap().last().map(|p| p.0 == p.1), Some(true));
    let strip = |v: Vec<OccurrenceInfo>| {
        v.into_iter().map(|o| (o.start_epoch_seconds, o.fields.title)).collect::<Vec<_>>()
    };
    assert_eq!(
        strip(a.occurrences(around_dst()).unwrap()),
        strip(b.occurrences(around_dst()).unwrap())
    );
}

struct Changes(Mutex<Vec<StoreChange>>);
struct Listener(Arc<Changes>);
impl ChangeListener for Listener {
    fn on_change(&self, change: StoreChange) {
        self.0.0.lock().unwrap().push(change);
    }
}

#[test]
fn the_change_stream_names_what_changed_until_the_subscription_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (open(&dir, "a"), open(&dir, "b"));
    let heard = Arc::new(Changes(Mutex::new(Vec::new())));
    let subscription = b.subscribe(Box::new(Listener(Arc::clone(&heard)))).unwrap();
    b.create_calendar("work".into(), "Work".into(), None, None).unwrap();
    a.create_event(event("e1", zoned("2026-03-23T09:00:00"), None)).unwrap();
    a.sync_with(Arc::clone(&b)).unwrap();
    {
        let heard = heard.0.lock().unwrap();
        assert_eq!(heard[0].origin, ChangeOrigin::Local);
        assert!(heard[0].calendar_changed);
        assert!(
            heard.iter().any(|c| c.origin == ChangeOrigin::Remote && c.event_ids == ["e1"]),
            "{heard:?}"
        );
    }
    let count = heard.0.lock().unwrap().len();
    subscription.cancel();
    assert!(subscription.is_cancelled());
    b.create_event(event("e2", zoned("2026-03-23T09:00:00"), None)).unwrap();
    assert_eq!(heard.0.lock().unwrap().len(), count);

    let dropped = b.subscribe(Box::new(Listener(Arc::clone(&heard)))).unwrap();
    drop(dropped);
    b.create_event(event("e3", zoned("2026-03-23T09:00:00"), None)).unwrap();
    assert_eq!(heard.0.lock().unwrap().len(), count);
}

#[test]
fn many_threads_write_and_read_one_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, "a");
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                for i in 0..25 {
                    let start = zoned(&format!("2026-03-{:02}T{:02}:00:00", 23 + i % 7, 8 + t));
                    store.create_event(event(&format!("t{t}-{i}"), start, None)).unwrap();
                    store.occurrences(around_dst()).unwrap();
                    store.edit_event(format!("t{t}-{i}"), EditSpan::All, title("done")).unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("no thread panicked");
    }
    let all = store.occurrences(around_dst()).unwrap();
    assert_eq!(all.len(), 200);
    assert!(all.iter().all(|o| o.fields.title.as_deref() == Some("done")));
}

#[test]
fn sync_errors_are_named_before_and_after_connecting() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, "a");
    let unconfigured = tokio_free_block_on(store.sync_once());
    assert!(
        matches!(unconfigured, Err(AlmanacError::InvalidInput { ref message }) if message.contains("configure sync")),
        "{unconfigured:?}"
    );
    let bad_url = store
        .configure_sync(SyncConfig { server_url: "http://example.com".into(), token: "t".into() });
    assert!(
        matches!(bad_url, Err(AlmanacError::InvalidInput { ref message }) if message.contains("ws")),
        "{bad_url:?}"
    );
    // Port 9 on loopback: nothing listens there.
    store
        .configure_sync(SyncConfig { server_url: "ws://127.0.0.1:9".into(), token: "t".into() })
        .unwrap();
    let down = tokio_free_block_on(store.sync_once());
    assert!(
        matches!(down, Err(AlmanacError::Network { ref message }) if message.contains("cannot reach")),
        "{down:?}"
    );
    assert!(store.sync_status().last_error.is_some());
    assert!(store.join_calendar("team".into()).is_ok());
    store.start_live_sync().unwrap();
    tokio_free_block_on(store.suspend()).unwrap();
    store.resume();
    tokio_free_block_on(store.stop_live_sync()).unwrap();
    assert_eq!(store.sync_status().state, SyncState::Offline);
}

/// Polls a future to completion on this thread, as a foreign executor would (the bindings
/// run their network work on their own runtime, so no tokio context is needed here).
fn tokio_free_block_on<F: std::future::Future>(future: F) -> F::Output {
    use std::task::{Context, Poll, Wake, Waker};
    struct Thread(std::thread::Thread);
    impl Wake for Thread {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Thread(std::thread::current())));
    let mut context = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        match future.as_mut().poll(&mut context) {
            Poll::Ready(output) => return output,
            Poll::Pending => std::thread::park(),
        }
    }
}

fn text(value: &str) -> FieldValue {
    FieldValue::Text { value: value.into() }
}

#[test]
fn two_stores_converge_through_the_generic_record_calls() {
    let dir = tempfile::tempdir().unwrap();
    let (phone, laptop) = (open(&dir, "phone"), open(&dir, "laptop"));
    phone.put("notes".into(), "n1".into(), HashMap::from([("title".into(), text("A"))])).unwrap();
    laptop.put("notes".into(), "n1".into(), HashMap::from([("title".into(), text("B"))])).unwrap();
    phone.sync_with(Arc::clone(&laptop)).unwrap();
    let on_phone = phone.get("notes".into(), "n1".into()).unwrap();
    assert_eq!(on_phone, laptop.get("notes".into(), "n1".into()).unwrap());
    assert_eq!(on_phone.unwrap().fields[0].conflicts.len(), 1);

    phone.delete("notes".into(), "n1".into()).unwrap();
    assert_eq!(phone.get("notes".into(), "n1".into()).unwrap(), None);
    let refused =
        phone.put("notes".into(), "n1".into(), HashMap::from([("title".into(), text("C"))]));
    assert!(matches!(refused, Err(AlmanacError::RecordDeleted { .. })), "{refused:?}");
    let bad = phone.put(String::new(), "n2".into(), HashMap::from([("title".into(), text("C"))]));
    assert!(matches!(bad, Err(AlmanacError::InvalidInput { .. })), "{bad:?}");
}

#[test]
fn opening_a_non_store_is_an_error_with_a_readable_message() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, "not a database at all, but long enough to have a header".repeat(10))
        .unwrap();
    match AlmanacStore::open(file.to_string_lossy().into_owned()) {
        Err(AlmanacError::Corrupt { message }) => {
            assert!(message.contains("not an Almanac store"), "{message}")
        }
        other => panic!("expected Corrupt, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn the_device_marker_lives_where_the_app_says_and_a_store_without_it_renews_its_id() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("calendar.almanac").to_string_lossy().into_owned();
    let no_backup = dir.path().join("no-backup");
    std::fs::create_dir(&no_backup).unwrap();
    let marker = no_backup.join("almanac.device").to_string_lossy().into_owned();
    let first = AlmanacStore::open_with_device_marker(path.clone(), marker.clone()).unwrap();
    let id = first.replica_id();
    first.close_store().unwrap();
    assert!(std::path::Path::new(&marker).exists(), "the marker is written where asked");
    assert!(!dir.path().join("calendar.almanac.device").exists(), "and not beside the store");
    let again = AlmanacStore::open_with_device_marker(path.clone(), marker).unwrap();
    assert_eq!(again.replica_id(), id, "same marker: the same replica");
    again.close_store().unwrap();
    // A restored store comes back without its (not backed up) marker: a fresh replica id.
    let elsewhere = no_backup.join("other.device").to_string_lossy().into_owned();
    let restored = AlmanacStore::open_with_device_marker(path.clone(), elsewhere).unwrap();
    assert_ne!(restored.replica_id(), id);
    restored.close_store().unwrap();
    match AlmanacStore::open_with_device_marker(path, String::new()) {
        Err(AlmanacError::InvalidInput { message }) => assert!(message.contains("device marker")),
        other => panic!("expected InvalidInput, got {:?}", other.map(|_| ())),
    }
}

struct Panics;
impl ChangeListener for Panics {
    fn on_change(&self, _: StoreChange) {
        panic!("listener bug");
    }
}
impl ImportProgressListener for Panics {
    fn on_progress(&self, _: u64, _: u64) {
        panic!("listener bug");
    }
}

#[test]
fn a_panic_inside_a_call_is_an_internal_error_and_the_store_stays_usable() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, "a");
    // A foreign callback that fails shows up on the Rust side as a panic in the callback.
    let failed = store.import_ics("work".into(), "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:20260323T090000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n".into(), Some(Box::new(Panics)));
    assert!(
        matches!(failed, Err(AlmanacError::Internal { ref message }) if message.contains("listener bug")),
        "{failed:?}"
    );
    // A panicking change listener is skipped by the core; the commit stands.
    let _subscription = store.subscribe(Box::new(Panics)).unwrap();
    store.create_event(event("e", zoned("2026-03-23T09:00:00"), None)).unwrap();
    assert!(store.event("e".into()).unwrap().is_some());
}

/// `compact` shrinks a store whose events were deleted and changes nothing anyone sees; on a
/// closed store it is the `Closed` error like every other call.
#[test]
fn compacting_shrinks_the_file_and_keeps_what_is_seen() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, "a");
    let path = dir.path().join("a");
    store.create_calendar("work".into(), "Work".into(), None, Some("Europe/Paris".into())).unwrap();
    for i in 0..200 {
        let mut e = event(&format!("e{i}"), zoned("2026-03-23T09:00:00"), Some("FREQ=WEEKLY"));
        e.fields.notes = Some("n".repeat(500));
        store.create_event(e).unwrap();
    }
    for i in 1..200 {
        store.edit_event(format!("e{i}"), EditSpan::All, title("short")).unwrap();
        store.delete_event(format!("e{i}"), EditSpan::All).unwrap();
    }
    let seen = store.occurrences(around_dst()).unwrap();
    let replica = store.replica_id();
    let on_disk = || {
        let wal = std::fs::metadata(dir.path().join("a-wal")).map_or(0, |m| m.len());
        std::fs::metadata(&path).unwrap().len() + wal
    };
    let before = on_disk();
    store.compact().unwrap();
    assert!(on_disk() < before, "{} of {before} bytes", on_disk());
    assert_eq!(store.occurrences(around_dst()).unwrap(), seen);
    store.close_store().unwrap();
    assert!(matches!(store.compact(), Err(AlmanacError::Closed { .. })));
    assert_eq!(open(&dir, "a").replica_id(), replica);
}
