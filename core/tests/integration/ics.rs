//! iCalendar import and export through the store, over the producer-style corpus in
//! `tests/fixtures/ics` (its README describes each file).
//!
//! Every file is imported into store A (expected event count, no issue for a clean file, the
//! specific issues for `messy.ics`), exported, and the export imported into store B: B must
//! show the same occurrences and hold equal events; the export must be strict RFC 5545 (CRLF,
//! ≤ 75 octets per line, a VTIMEZONE for every TZID, one DTSTAMP, UID and DTSTART per VEVENT)
//! and deterministic (a second export of A is byte-identical; B's export differs at most in
//! DTSTAMP/LAST-MODIFIED, which derive from write times). Then each file's own expectations:
//! month views with exact UTC instants, overrides, EXDATE gaps, zone mapping, verbatim X-
//! properties.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use almanac_core::calendar::event::{End, Participation, Role, Timing};
use almanac_core::calendar::recurrence::RecurrenceRule;
use almanac_core::calendar::series::{Event, Patch};
use almanac_core::calendar::time::{Duration, TimeValue, time_zone};
use almanac_core::{Store, Value};
use jiff::Timestamp;
use jiff::civil::{DateTime, date};
use jiff::tz::TimeZone;

/// One corpus file: the calendar it is imported into and how many events it holds (records,
/// one per UID: overrides are part of their series).
struct Fixture {
    file: &'static str,
    calendar: &'static str,
    events: usize,
}

const MESSY: &str = "messy.ics";

const CORPUS: &[Fixture] = &[
    Fixture { file: "apple-home.ics", calendar: "home", events: 5 },
    Fixture { file: "google-holidays.ics", calendar: "holidays", events: 13 },
    Fixture { file: "google-work.ics", calendar: "team", events: 3 },
    Fixture { file: "icloud-family.ics", calendar: "family", events: 2 },
    Fixture { file: MESSY, calendar: "messy", events: 5 },
    Fixture { file: "outlook-invite.ics", calendar: "invites", events: 1 },
    Fixture { file: "outlook-work.ics", calendar: "work", events: 4 },
    Fixture { file: "thunderbird-lightning.ics", calendar: "personal", events: 3 },
];

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ics")
}

fn read(file: &str) -> String {
    let path = corpus_dir().join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn fixture(file: &str) -> &'static Fixture {
    CORPUS.iter().find(|f| f.file == file).unwrap_or_else(|| panic!("{file} is not in CORPUS"))
}

struct Db {
    store: Store,
    _dir: tempfile::TempDir,
}

fn open() -> Db {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(dir.path().join("store.almanac")).expect("open");
    Db { store, _dir: dir }
}

/// An import issue, copied out of the report.
#[derive(Clone, Debug)]
struct Issue {
    line: Option<usize>,
    uid: Option<String>,
    message: String,
}

struct Imported {
    events: usize,
    issues: Vec<Issue>,
    /// Every progress call as (done, total).
    progress: Vec<(usize, usize)>,
}

fn import(store: &Store, calendar: &str, text: &str) -> Imported {
    let mut progress = Vec::new();
    let report = store
        .import_ics(calendar, text, &mut |p| progress.push((p.done, p.total)))
        .expect("import");
    let issues = report
        .issues
        .iter()
        .map(|i| Issue { line: i.line, uid: i.uid.clone(), message: i.message.clone() })
        .collect();
    Imported { events: report.events, issues, progress }
}

/// Imports a corpus file into a fresh store, checking the report of a clean file.
fn imported(file: &str) -> Db {
    let db = open();
    let f = fixture(file);
    let report = import(&db.store, f.calendar, &read(file));
    assert_eq!(report.events, f.events, "{file}: events imported");
    if file != MESSY {
        assert!(report.issues.is_empty(), "{file}: unexpected issues {:#?}", report.issues);
    }
    db
}

/// Every live event of the store by id.
fn events(store: &Store) -> BTreeMap<String, Event> {
    store
        .spaces()
        .expect("spaces")
        .into_iter()
        .flat_map(|space| store.records(space.as_str(), "events").expect("records"))
        .map(|r| {
            let event = store.event(&r.key.id).expect("read").expect("an event");
            (r.key.id, event)
        })
        .collect()
}

fn event(store: &Store, id: &str) -> Event {
    store.event(id).expect("read").unwrap_or_else(|| panic!("no event '{id}'"))
}

fn ts(text: &str) -> Timestamp {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn zone(name: &str) -> TimeZone {
    time_zone(name).expect("zone")
}

/// Occurrences of `calendar` in `[from, to)` for `viewer` as (start, end, title).
fn view(
    store: &Store,
    calendar: &str,
    from: &str,
    to: &str,
    viewer: &TimeZone,
) -> Vec<(String, String, String)> {
    store
        .occurrences(ts(from), ts(to), &[calendar], viewer)
        .expect("occurrences")
        .iter()
        .map(|o| (o.start.to_string(), o.end.to_string(), o.title().unwrap_or("-").to_owned()))
        .collect()
}

fn row(start: &str, end: &str, title: &str) -> (String, String, String) {
    (start.to_owned(), end.to_owned(), title.to_owned())
}

fn starts(rows: &[(String, String, String)]) -> Vec<&str> {
    rows.iter().map(|r| r.0.as_str()).collect()
}

fn zoned(local: DateTime, zone: &str) -> TimeValue {
    TimeValue::Zoned { local, zone: zone.into() }
}

fn text<'a>(event: &'a Event, name: &str) -> Option<&'a str> {
    event.fields.get(name).and_then(Value::as_text)
}

fn seconds(seconds: i64) -> Duration {
    Duration { seconds, ..Duration::default() }
}

fn rule(text: &str) -> RecurrenceRule {
    RecurrenceRule::parse(text).expect("rule")
}

/// Attendees as (address, name, role, participation), in address order.
fn attendees(event: &Event) -> Vec<(String, Option<String>, Role, Participation)> {
    let mut all: Vec<_> = event
        .attendees
        .iter()
        .map(|a| (a.address.clone(), a.name.clone(), a.role, a.participation))
        .collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all
}

fn attendee(
    address: &str,
    name: &str,
    role: Role,
    participation: Participation,
) -> (String, Option<String>, Role, Participation) {
    (address.to_owned(), Some(name.to_owned()), role, participation)
}

/// Content lines with folds undone (CRLF or LF; space or tab continuation).
fn unfold(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for line in text.trim_start_matches('\u{feff}').split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if let Some(rest) = line.strip_prefix([' ', '\t']) {
            if let Some(last) = lines.last_mut() {
                last.push_str(rest);
                continue;
            }
        }
        if !line.is_empty() {
            lines.push(line.to_owned());
        }
    }
    lines
}

/// The name and parameters of a content line (before the first colon outside quotes), split
/// on semicolons outside quotes: `["DTSTART", "TZID=\"X\""]`.
fn head(line: &str) -> Vec<String> {
    let (mut parts, mut current, mut quoted) = (Vec::new(), String::new(), false);
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            ';' if !quoted => parts.push(std::mem::take(&mut current)),
            ':' if !quoted => break,
            _ => current.push(c),
        }
    }
    parts.push(current);
    parts
}

/// The value of a content line (after the first colon outside quotes).
fn value(line: &str) -> &str {
    let mut quoted = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ':' if !quoted => return &line[i + 1..],
            _ => {}
        }
    }
    ""
}

/// The UIDs of the VEVENTs of an iCalendar text (not those of VALARMs).
fn vevent_uids(text: &str) -> BTreeSet<String> {
    let mut stack: Vec<String> = Vec::new();
    let mut uids = BTreeSet::new();
    for line in unfold(text) {
        let name = head(&line)[0].to_ascii_uppercase();
        match name.as_str() {
            "BEGIN" => stack.push(value(&line).to_ascii_uppercase()),
            "END" => {
                stack.pop();
            }
            "UID" if stack.last().is_some_and(|c| c == "VEVENT") => {
                uids.insert(value(&line).to_owned());
            }
            _ => {}
        }
    }
    uids
}

/// Checks that an export is strict RFC 5545: the file's shape (CRLF, folding, balanced
/// components, a VTIMEZONE per TZID, the required properties) and, per VEVENT, the value types
/// strict readers check (see [`assert_strict_vevent`]).
pub(crate) fn assert_strict(export: &str, what: &str) {
    assert!(export.ends_with("\r\n"), "{what}: the export must end with CRLF");
    let bytes = export.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'\n' {
            assert!(i > 0 && bytes[i - 1] == b'\r', "{what}: bare LF at byte {i}");
        }
        if *b == b'\r' {
            assert_eq!(bytes.get(i + 1), Some(&b'\n'), "{what}: bare CR at byte {i}");
        }
    }
    for (n, line) in export.split_terminator("\r\n").enumerate() {
        assert!(line.len() <= 75, "{what}: line {} has {} octets: {line:?}", n + 1, line.len());
        assert!(!line.is_empty(), "{what}: line {} is empty", n + 1);
    }
    let lines = unfold(export);
    assert_eq!(lines.first().map(String::as_str), Some("BEGIN:VCALENDAR"), "{what}");
    assert_eq!(lines.last().map(String::as_str), Some("END:VCALENDAR"), "{what}");
    assert!(lines.iter().any(|l| l == "VERSION:2.0"), "{what}: VERSION:2.0");
    assert!(lines.iter().any(|l| l.starts_with("PRODID:")), "{what}: PRODID");

    let mut stack: Vec<String> = Vec::new();
    let mut defined = BTreeSet::new();
    let mut used = BTreeSet::new();
    let mut vevent: Vec<String> = Vec::new();
    let mut vevent_lines: Vec<&str> = Vec::new();
    for line in &lines {
        let parts = head(line);
        let name = parts[0].as_str();
        assert!(
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
            "{what}: bad property name in {line:?}"
        );
        match name {
            "BEGIN" => {
                stack.push(value(line).to_owned());
                if value(line) == "VEVENT" {
                    vevent.clear();
                    vevent_lines.clear();
                }
            }
            "END" => {
                let open = stack.pop();
                assert_eq!(open.as_deref(), Some(value(line)), "{what}: unbalanced {line:?}");
                if value(line) == "VEVENT" {
                    for required in ["UID", "DTSTAMP", "DTSTART"] {
                        let count = vevent.iter().filter(|n| *n == required).count();
                        assert_eq!(count, 1, "{what}: a VEVENT has {count} {required}");
                    }
                    assert_strict_vevent(&vevent_lines, what);
                }
            }
            "TZID" if stack.last().is_some_and(|c| c == "VTIMEZONE") => {
                assert!(defined.insert(value(line).to_owned()), "{what}: VTIMEZONE twice: {line}");
            }
            _ => {}
        }
        if stack.last().is_some_and(|c| c == "VEVENT") {
            vevent.push(name.to_owned());
            vevent_lines.push(line);
        }
        for param in &parts[1..] {
            if let Some(tzid) = param.strip_prefix("TZID=") {
                used.insert(tzid.trim_matches('"').to_owned());
            }
        }
    }
    assert!(stack.is_empty(), "{what}: components left open: {stack:?}");
    let missing: Vec<_> = used.difference(&defined).collect();
    assert!(missing.is_empty(), "{what}: TZIDs without a VTIMEZONE: {missing:?}");
}

/// The value type of a date or date-time as written: `DATE`, `UTC`, `ZONED` (a TZID) or
/// `FLOATING`.
fn written_type(line: &str) -> &'static str {
    let text = value(line);
    if text.len() == 8 && text.bytes().all(|b| b.is_ascii_digit()) {
        "DATE"
    } else if text.ends_with('Z') {
        "UTC"
    } else if head(line).iter().any(|p| p.starts_with("TZID=")) {
        "ZONED"
    } else {
        "FLOATING"
    }
}

/// The value checks of a strict reader on one exported VEVENT (its own lines, VALARMs
/// excluded): RFC 5545 §3.3.10 (one RRULE with FREQ, not COUNT and UNTIL together, UNTIL of
/// DTSTART's type: a DATE for a DATE, UTC for a zoned or UTC start, local for a floating one),
/// §3.8.2.2 (DTEND a DATE exactly when DTSTART is, not with DURATION), `VALUE=DATE` on every
/// date, `VALUE=PERIOD` on every RDATE period, no EXRULE (removed by RFC 5545), and DATE values
/// that are real dates.
pub(crate) fn assert_strict_vevent(lines: &[&str], what: &str) {
    let named = |name: &str| -> Vec<&str> {
        lines.iter().copied().filter(|l| head(l)[0] == name).collect()
    };
    let uid = named("UID").first().map_or("?", |l| value(l)).to_owned();
    let what = format!("{what}: VEVENT {uid}");
    let start = named("DTSTART");
    let Some(start) = start.first() else { return };
    let start_type = written_type(start);
    for line in lines {
        let name = head(line)[0].clone();
        if !["DTSTART", "DTEND", "RDATE", "EXDATE", "RECURRENCE-ID"].contains(&name.as_str()) {
            continue;
        }
        let params = head(line);
        for item in value(line).split(',') {
            let is_period = item.contains('/');
            let first = item.split('/').next().unwrap_or(item);
            if first.len() == 8 {
                assert!(
                    params.iter().any(|p| p == "VALUE=DATE"),
                    "{what}: a DATE without VALUE=DATE: {line}"
                );
                let parsed = jiff::civil::Date::strptime("%Y%m%d", first);
                assert!(parsed.is_ok(), "{what}: not a date: {line}");
            } else {
                assert!(
                    first.len() >= 15 && first.as_bytes()[8] == b'T',
                    "{what}: not a DATE-TIME: {line}"
                );
            }
            if is_period {
                assert!(
                    params.iter().any(|p| p == "VALUE=PERIOD"),
                    "{what}: a period without VALUE=PERIOD: {line}"
                );
            }
        }
    }
    for line in named("DTEND") {
        let same = (written_type(line) == "DATE") == (start_type == "DATE");
        assert!(same, "{what}: DTEND is not of DTSTART's type ({start_type}): {line}");
    }
    assert!(
        named("DTEND").is_empty() || named("DURATION").is_empty(),
        "{what}: DTEND and DURATION"
    );
    assert!(named("EXRULE").is_empty(), "{what}: EXRULE is not RFC 5545");
    let rules = named("RRULE");
    assert!(rules.len() <= 1, "{what}: {} RRULEs", rules.len());
    for rule in rules {
        let parts: Vec<(&str, &str)> =
            value(rule).split(';').filter_map(|p| p.split_once('=')).collect();
        let part = |n: &str| parts.iter().find(|(k, _)| *k == n).map(|(_, v)| *v);
        assert!(part("FREQ").is_some(), "{what}: RRULE without FREQ: {rule}");
        assert!(
            part("COUNT").is_none() || part("UNTIL").is_none(),
            "{what}: COUNT and UNTIL: {rule}"
        );
        if let Some(until) = part("UNTIL") {
            let until_type = if until.len() == 8 {
                "DATE"
            } else if until.ends_with('Z') {
                "UTC"
            } else {
                "FLOATING"
            };
            let expected = match start_type {
                "DATE" => "DATE",
                "FLOATING" => "FLOATING",
                _ => "UTC",
            };
            assert_eq!(until_type, expected, "{what}: UNTIL of another type than DTSTART: {rule}");
        }
    }
}

/// Fails with the first differing line, not two whole files.
fn assert_same_text(a: &str, b: &str, what: &str) {
    if a == b {
        return;
    }
    let (la, lb): (Vec<_>, Vec<_>) = (a.split("\r\n").collect(), b.split("\r\n").collect());
    let at = la.iter().zip(&lb).position(|(x, y)| x != y).unwrap_or(la.len().min(lb.len()));
    let from = at.saturating_sub(3);
    panic!(
        "{what}: exports differ at line {}:\n--- first\n{}\n--- second\n{}",
        at + 1,
        la[from..la.len().min(at + 3)].join("\n"),
        lb[from..lb.len().min(at + 3)].join("\n"),
    );
}

/// Both stores show the same occurrences (times and fields) from 2024 to 2028, for a viewer in
/// New York (so floating and all-day events are placed too).
fn assert_same_occurrences(a: &Store, b: &Store, calendar: &str, what: &str) {
    let viewer = zone("America/New_York");
    let shown = |store: &Store| {
        let all = store
            .occurrences(
                ts("2024-01-01T00:00:00Z"),
                ts("2029-01-01T00:00:00Z"),
                &[calendar],
                &viewer,
            )
            .expect("occurrences");
        let mut rows: Vec<String> = all
            .iter()
            .map(|o| format!("{} {} {:?} {:?}", o.start, o.end, o.timing, o.fields))
            .collect();
        rows.sort();
        rows
    };
    let (first, second) = (shown(a), shown(b));
    if first != second {
        let only = |x: &[String], y: &[String]| -> Vec<String> {
            x.iter().filter(|r| !y.contains(r)).take(5).cloned().collect()
        };
        panic!(
            "{what}: the re-imported events show other occurrences\nonly before: {:#?}\nonly after: {:#?}",
            only(&first, &second),
            only(&second, &first)
        );
    }
}

/// The export with the values of DTSTAMP and LAST-MODIFIED (derived from the store's write
/// times) blanked.
fn without_stamps(export: &str) -> String {
    export
        .split("\r\n")
        .map(|line| match line.split_once(':') {
            Some((name @ ("DTSTAMP" | "LAST-MODIFIED"), _)) => format!("{name}:*"),
            _ => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\r\n")
}

fn assert_same_events(a: &BTreeMap<String, Event>, b: &BTreeMap<String, Event>, what: &str) {
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>(), "{what}: event ids");
    for (id, first) in a {
        let second = &b[id];
        if first != second {
            panic!(
                "{what}: event '{id}' changed in the round trip:\n{}",
                event_diff(first, second)
            );
        }
    }
}

/// The parts of two events that differ, readably (structured values decoded).
fn event_diff(a: &Event, b: &Event) -> String {
    let mut out = String::new();
    let mut part = |name: &str, x: String, y: String| {
        if x != y {
            out.push_str(&format!("{name}:\n  imported:    {x}\n  re-imported: {y}\n"));
        }
    };
    part("calendar", a.calendar.clone(), b.calendar.clone());
    part("uid", a.uid.clone(), b.uid.clone());
    part("timing", format!("{:?}", a.timing), format!("{:?}", b.timing));
    part(
        "rule",
        format!("{:?}", a.rule.as_ref().map(ToString::to_string)),
        format!("{:?}", b.rule.as_ref().map(ToString::to_string)),
    );
    part("rdates", format!("{:?}", a.rdates), format!("{:?}", b.rdates));
    part("exdates", format!("{:?}", a.exdates), format!("{:?}", b.exdates));
    part("fields", format!("{:?}", a.fields), format!("{:?}", b.fields));
    part("attendees", format!("{:?}", a.attendees), format!("{:?}", b.attendees));
    part("alarms", format!("{:?}", a.alarms), format!("{:?}", b.alarms));
    part("overrides", patches(&a.overrides), patches(&b.overrides));
    part("range_patches", patches(&a.range_patches), patches(&b.range_patches));
    part("truncate_at", format!("{:?}", a.truncate_at), format!("{:?}", b.truncate_at));
    part(
        "unknown_properties",
        format!("{:?}", a.unknown_properties),
        format!("{:?}", b.unknown_properties),
    );
    out
}

fn patches(patches: &BTreeMap<String, Patch>) -> String {
    let shown: Vec<String> = patches
        .iter()
        .map(|(key, patch)| {
            let fields: Vec<String> = patch
                .fields
                .iter()
                .map(|(name, value)| match (name.as_str(), value.decode::<Timing>()) {
                    ("timing", Ok(timing)) => format!("timing={timing:?}"),
                    _ => format!("{name}={value:?}"),
                })
                .collect();
            format!(
                "{key}{}: {}",
                if patch.cancelled { " (cancelled)" } else { "" },
                fields.join(", ")
            )
        })
        .collect();
    format!("{{{}}}", shown.join("; "))
}

/// The messy file must report exactly its broken parts: the garbage line (by line number),
/// the event without DTSTART and the unknown TZID (by UID). The DATE UNTIL on a timed series
/// may be reported (it is tolerated, decision 0010); nothing else may be.
fn assert_messy_issues(text: &str, issues: &[Issue]) {
    let garbage = text
        .split('\n')
        .position(|l| l.starts_with("Forwarded by the mail gateway"))
        .expect("the garbage line")
        + 1;
    let by_uid = |uid: &str| issues.iter().filter(|i| i.uid.as_deref() == Some(uid)).count();
    assert!(
        issues.iter().any(|i| i.line == Some(garbage)),
        "the garbage line {garbage} is not reported: {issues:#?}"
    );
    assert!(
        issues.iter().any(|i| i.uid.as_deref() == Some("messy-no-start@example.net")
            && i.message.to_ascii_uppercase().contains("DTSTART")),
        "the event without DTSTART is not reported (with its UID, naming DTSTART): {issues:#?}"
    );
    assert!(by_uid("messy-atlantis@example.net") >= 1, "unknown TZID not reported: {issues:#?}");
    assert!(
        issues
            .iter()
            .filter(|i| i.uid.as_deref() == Some("messy-atlantis@example.net"))
            .all(|i| i.message.contains("Atlantis/Poseidonia")),
        "the unknown TZID issue should name the TZID: {issues:#?}"
    );
    let expected = |i: &&Issue| {
        i.line == Some(garbage)
            || matches!(
                i.uid.as_deref(),
                Some(
                    "messy-no-start@example.net"
                        | "messy-atlantis@example.net"
                        | "messy-until-date@example.net"
                )
            )
    };
    let unexpected: Vec<_> = issues.iter().filter(|i| !expected(i)).collect();
    assert!(unexpected.is_empty(), "unexpected issues: {unexpected:#?}");
}

/// The round trip every corpus file goes through (see the module doc).
fn round_trip(file: &str) {
    let f = fixture(file);
    let text = read(file);
    let a = open();
    let first = import(&a.store, f.calendar, &text);
    assert_eq!(first.events, f.events, "{file}: events imported");
    if file == MESSY {
        assert_messy_issues(&text, &first.issues);
    } else {
        assert!(first.issues.is_empty(), "{file}: unexpected issues {:#?}", first.issues);
    }
    let stored = events(&a.store);
    let mut uids = vevent_uids(&text);
    uids.remove("messy-no-start@example.net");
    assert_eq!(stored.keys().cloned().collect::<BTreeSet<_>>(), uids, "{file}: events by UID");
    for (id, event) in &stored {
        assert_eq!(&event.uid, id, "{file}: the record id is the UID");
        assert_eq!(event.calendar, f.calendar, "{file}: {id} is in the calendar imported into");
    }

    let exported = a.store.export_ics(Some(f.calendar)).expect("export");
    assert_strict(&exported, file);
    let again = a.store.export_ics(Some(f.calendar)).expect("export again");
    assert_same_text(&exported, &again, &format!("{file}: export is not deterministic"));

    let b = open();
    let second = import(&b.store, f.calendar, &exported);
    assert!(second.issues.is_empty(), "{file}: re-importing the export: {:#?}", second.issues);
    // What the user sees first, then the events themselves.
    assert_same_occurrences(&a.store, &b.store, f.calendar, file);
    // "This and following" patches are exported as physical splits (decision 0009): the
    // series ends before the patch and a derived series `<uid>-R<key>` continues it. After the
    // round trip those are separate events with the same occurrences (checked above).
    let derived: BTreeSet<String> = stored
        .values()
        .flat_map(|e| {
            let cut = e.truncate_at.clone();
            e.range_patches
                .keys()
                .filter(move |k| cut.as_ref().is_none_or(|c| *k < c))
                .map(move |k| format!("{}-R{k}", e.uid))
        })
        .collect();
    let mut exported_uids = uids.clone();
    exported_uids.extend(derived.iter().cloned());
    assert_eq!(vevent_uids(&exported), exported_uids, "{file}: the export has one UID per event");
    assert_eq!(second.events, f.events + derived.len(), "{file}: events re-imported");
    let unsplit = |all: BTreeMap<String, Event>| -> BTreeMap<String, Event> {
        all.into_iter()
            .filter(|(id, e)| {
                e.range_patches.is_empty()
                    && !derived.contains(id)
                    && stored.get(id).is_none_or(|s| s.range_patches.is_empty())
            })
            .collect()
    };
    assert_same_events(&unsplit(stored.clone()), &unsplit(events(&b.store)), file);
    // Store B wrote its events later: only the stamps derived from the write times may differ.
    let from_b = b.store.export_ics(Some(f.calendar)).expect("export b");
    assert_same_text(
        &without_stamps(&exported),
        &without_stamps(&from_b),
        &format!("{file}: the re-imported events export"),
    );
}

#[test]
fn the_corpus_table_lists_every_file() {
    let mut on_disk: Vec<String> = std::fs::read_dir(corpus_dir())
        .expect("corpus dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".ics"))
        .collect();
    on_disk.sort();
    let listed: Vec<_> = CORPUS.iter().map(|f| f.file.to_owned()).collect();
    assert_eq!(on_disk, listed, "CORPUS must list every fixture, in name order");
}

#[test]
fn round_trip_apple_home() {
    round_trip("apple-home.ics");
}

#[test]
fn round_trip_google_holidays() {
    round_trip("google-holidays.ics");
}

#[test]
fn round_trip_google_work() {
    round_trip("google-work.ics");
}

#[test]
fn round_trip_icloud_family() {
    round_trip("icloud-family.ics");
}

#[test]
fn round_trip_messy() {
    round_trip(MESSY);
}

#[test]
fn round_trip_outlook_invite() {
    round_trip("outlook-invite.ics");
}

#[test]
fn round_trip_outlook_work() {
    round_trip("outlook-work.ics");
}

#[test]
fn round_trip_thunderbird_lightning() {
    round_trip("thunderbird-lightning.ics");
}

/// Every `X-` property of the VEVENTs of `file` (unfolded, as written) is in the export.
fn assert_x_properties_verbatim(file: &str, names: &[&str]) {
    let f = fixture(file);
    let db = imported(file);
    let export = db.store.export_ics(Some(f.calendar)).expect("export");
    let exported: BTreeSet<String> = unfold(&export).into_iter().collect();
    let mut stack: Vec<String> = Vec::new();
    let mut checked = 0;
    for line in unfold(&read(file)) {
        let name = head(&line)[0].to_ascii_uppercase();
        match name.as_str() {
            "BEGIN" => stack.push(value(&line).to_ascii_uppercase()),
            "END" => {
                stack.pop();
            }
            _ if stack.last().is_some_and(|c| c == "VEVENT") && names.contains(&name.as_str()) => {
                assert!(exported.contains(&line), "{file}: not exported verbatim: {line}");
                checked += 1;
            }
            _ => {}
        }
    }
    assert!(checked >= names.len(), "{file}: the fixture lacks some of {names:?}");
}

// --- Google Calendar ---------------------------------------------------------------------

const SYNC: &str = "4q9s1v7k2m8d0c3hbn5t6ra1jf@google.com";

#[test]
fn google_weekly_meeting_in_march_crosses_dst_with_override_exdate_and_cancellation() {
    let db = imported("google-work.ics");
    // Mondays 10:00 New York: EST (15:00Z) before 2026-03-08, EDT (14:00Z) after. 03-09 is
    // moved to 14:00 EDT and retitled, 03-16 is an EXDATE, 03-23 is cancelled.
    let march =
        view(&db.store, "team", "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z", &TimeZone::UTC);
    assert_eq!(
        march,
        vec![
            row("2026-03-02T15:00:00Z", "2026-03-02T16:00:00Z", "Platform weekly sync"),
            row("2026-03-09T18:00:00Z", "2026-03-09T19:00:00Z", "Platform weekly sync — Q1 review"),
            row("2026-03-12T17:00:00Z", "2026-03-12T17:30:00Z", "Vendor demo: tracing backend"),
            row("2026-03-16T00:00:00Z", "2026-03-18T00:00:00Z", "Q2 planning offsite"),
            row("2026-03-30T14:00:00Z", "2026-03-30T15:00:00Z", "Platform weekly sync"),
        ]
    );
    let sync = event(&db.store, SYNC);
    let ny = |d: i8, h: i8| zoned(date(2026, 3, d).at(h, 0, 0, 0), "America/New_York");
    assert_eq!(sync.timing.start, zoned(date(2026, 1, 5).at(10, 0, 0, 0), "America/New_York"));
    assert_eq!(
        sync.timing.end,
        End::At(zoned(date(2026, 1, 5).at(11, 0, 0, 0), "America/New_York"))
    );
    assert_eq!(sync.rule, Some(rule("FREQ=WEEKLY;WKST=SU;BYDAY=MO")));
    assert_eq!(sync.exdates, vec![ny(16, 10)]);
    assert_eq!(sync.overrides.keys().collect::<Vec<_>>(), vec!["20260309", "20260323", "20260406"]);
    assert!(sync.overrides["20260323"].cancelled, "03-23 is cancelled");
    let moved = &sync.overrides["20260309"];
    assert!(!moved.cancelled);
    assert_eq!(
        moved.fields.get("title").and_then(Value::as_text),
        Some("Platform weekly sync — Q1 review")
    );
    let occurrences = db
        .store
        .occurrences(
            ts("2026-03-09T00:00:00Z"),
            ts("2026-03-10T00:00:00Z"),
            &["team"],
            &TimeZone::UTC,
        )
        .expect("occurrences");
    assert_eq!(occurrences.len(), 1);
    assert_eq!(occurrences[0].original, ny(9, 10), "RECURRENCE-ID is the original start");
    assert_eq!(occurrences[0].timing.start, ny(9, 14));
    assert_eq!(
        occurrences[0].fields.get("notes").and_then(Value::as_text),
        Some("Moved to the afternoon: Q1 review with the SRE leads.")
    );
    // The weeks around the change: still EST on 03-02, EDT from 03-09.
    let feb =
        view(&db.store, "team", "2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z", &TimeZone::UTC);
    assert_eq!(
        starts(&feb),
        vec![
            "2026-02-02T15:00:00Z",
            "2026-02-09T15:00:00Z",
            "2026-02-16T15:00:00Z",
            "2026-02-23T15:00:00Z"
        ]
    );
}

#[test]
fn an_override_that_keeps_its_time_stores_only_what_changed() {
    // The 2026-04-06 instance only changes SUMMARY; the cancelled 03-23 instance keeps its time.
    // Storing their (unchanged) times would pin them: a later move of the series would leave
    // them behind (module doc of calendar::ics: "only the fields that differ are stored").
    let db = imported("google-work.ics");
    let sync = event(&db.store, SYNC);
    let demo = &sync.overrides["20260406"];
    assert_eq!(
        demo.fields.keys().collect::<Vec<_>>(),
        vec!["title"],
        "override 20260406T140000Z: {}",
        patches(&sync.overrides)
    );
    let cancelled = &sync.overrides["20260323"];
    assert!(cancelled.cancelled);
    assert!(
        cancelled.fields.is_empty(),
        "the cancelled 20260323T140000Z stores {}",
        patches(&sync.overrides)
    );
    let april =
        view(&db.store, "team", "2026-04-06T00:00:00Z", "2026-04-07T00:00:00Z", &TimeZone::UTC);
    assert_eq!(
        april,
        vec![row(
            "2026-04-06T14:00:00Z",
            "2026-04-06T15:00:00Z",
            "Platform weekly sync (demo day)"
        )]
    );
}

#[test]
fn google_attendees_are_normalised_and_alarms_kept() {
    let db = imported("google-work.ics");
    let sync = event(&db.store, SYNC);
    assert_eq!(
        attendees(&sync),
        vec![
            attendee(
                "mailto:dana.whitfield@example.com",
                "Dana Whitfield",
                Role::Required,
                Participation::Accepted
            ),
            attendee(
                "mailto:marco.bianchi@example.org",
                "marco.bianchi@example.org",
                Role::Optional,
                Participation::Tentative
            ),
            attendee(
                "mailto:priya.raman@example.com",
                "Priya Raman",
                Role::Required,
                Participation::NeedsAction
            ),
            attendee(
                "mailto:tom.hale@example.com",
                "Tom Hale",
                Role::Required,
                Participation::Declined
            ),
        ]
    );
    assert_eq!(text(&sync, "title"), Some("Platform weekly sync"));
    assert_eq!(text(&sync, "location"), Some("Conf room 4B (Hudson)"));
    assert_eq!(
        text(&sync, "notes"),
        Some(
            "Agenda and notes: https://docs.example.com/platform-sync\n\nJoin the video call: \
             https://meet.google.com/xqa-ptrv-kmd\nDial in: (US) +1 646-555-0199 PIN: 302 118 774#"
        )
    );
    assert!(text(&sync, "organizer").is_some_and(|o| o.contains("dana.whitfield@example.com")));
    assert_eq!(sync.alarms.len(), 1);
    assert_eq!(sync.alarms[0].trigger, seconds(-600), "TRIGGER:-P0DT0H10M0S");
    assert_eq!(sync.alarms[0].description.as_deref(), Some("This is an event reminder"));

    let demo = event(&db.store, "7hd2k0m4v6s8q1b3n5p7r9t0xa@google.com");
    assert_eq!(demo.timing.start, TimeValue::Utc(ts("2026-03-12T17:00:00Z")));
    let mut triggers: Vec<_> = demo.alarms.iter().map(|a| a.trigger).collect();
    triggers.sort_by_key(|d| (d.weeks, d.days, d.seconds));
    assert_eq!(triggers, vec![Duration { days: -1, ..Duration::default() }, seconds(-1800)]);
    let ids: BTreeSet<_> = demo.alarms.iter().map(|a| a.id.clone()).collect();
    assert_eq!(ids.len(), 2, "two alarms without UID get two ids");

    let offsite = event(&db.store, "0b7fj3kqv2nc1c5e8p4d9rs6hl@google.com");
    assert_eq!(offsite.timing.start, TimeValue::Date(date(2026, 3, 16)));
    assert_eq!(offsite.timing.end, End::At(TimeValue::Date(date(2026, 3, 18))));
    assert_eq!(text(&offsite, "location"), Some("Catskills retreat center, Phoenicia NY"));
    assert_x_properties_verbatim("google-work.ics", &["X-GOOGLE-CONFERENCE"]);
}

#[test]
fn google_holidays_are_all_day_in_the_viewers_zone() {
    let db = imported("google-holidays.ics");
    let all = events(&db.store);
    assert!(all.values().all(|e| e.timing.is_all_day() && e.rule.is_none()));
    let la = zone("America/Los_Angeles");
    let november = view(&db.store, "holidays", "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z", &la);
    assert_eq!(
        november,
        vec![
            row("2026-11-11T08:00:00Z", "2026-11-12T08:00:00Z", "Veterans Day"),
            row("2026-11-26T08:00:00Z", "2026-11-27T08:00:00Z", "Thanksgiving Day"),
        ]
    );
    let valentine =
        all.values().find(|e| text(e, "title") == Some("Valentine's Day")).expect("14 Feb");
    assert_eq!(
        text(valentine, "notes"),
        Some(
            "Observance\nTo hide observances, go to Google Calendar Settings > Holidays in \
             United States"
        )
    );
}

#[test]
fn progress_is_reported_in_order_up_to_the_total() {
    let db = open();
    let report = import(&db.store, "holidays", &read("google-holidays.ics"));
    let progress = report.progress;
    assert!(!progress.is_empty(), "no progress call");
    let total = progress[0].1;
    assert!(total > 0);
    assert!(progress.iter().all(|p| p.1 == total), "the total changed: {progress:?}");
    assert!(progress.windows(2).all(|w| w[0].0 < w[1].0), "done must increase: {progress:?}");
    assert!(progress.iter().all(|p| p.0 <= total), "{progress:?}");
    assert_eq!(progress.last().map(|p| p.0), Some(total), "the last call is done == total");
}

// --- Apple Calendar / iCloud -------------------------------------------------------------

#[test]
fn apple_zoned_event_with_url_structured_location_and_alarm_uid() {
    let db = imported("apple-home.ics");
    let dentist = event(&db.store, "6F1A2C3E-9B7D-4E21-A8C5-3D0F7E6B9A41");
    assert_eq!(dentist.timing.start, zoned(date(2026, 4, 14).at(9, 30, 0, 0), "Europe/London"));
    assert_eq!(text(&dentist, "title"), Some("Dentist – Dr. Okafor"));
    assert_eq!(
        text(&dentist, "location"),
        Some("Smile Dental\n14 Upper Street\nLondon N1 0PQ\nEngland")
    );
    assert_eq!(
        text(&dentist, "url"),
        Some("https://smile-dental.example.co.uk/appointments/88213")
    );
    assert_eq!(dentist.alarms.len(), 1);
    assert_eq!(dentist.alarms[0].id, "0A6C4F1E-3B2D-4F8A-9E71-5C2B8D4A6F03", "X-WR-ALARMUID");
    assert_eq!(dentist.alarms[0].trigger, seconds(-3600));
    let april =
        view(&db.store, "home", "2026-04-14T00:00:00Z", "2026-04-15T00:00:00Z", &TimeZone::UTC);
    assert_eq!(
        april,
        vec![row("2026-04-14T08:30:00Z", "2026-04-14T09:15:00Z", "Dentist – Dr. Okafor")]
    );
    assert_x_properties_verbatim(
        "apple-home.ics",
        &[
            "X-APPLE-STRUCTURED-LOCATION",
            "X-APPLE-TRAVEL-ADVISORY-BEHAVIOR",
            "X-APPLE-EWS-BUSYSTATUS",
        ],
    );
}

#[test]
fn apple_acknowledged_alarm_is_kept_through_the_round_trip() {
    let a = imported("apple-home.ics");
    let id = "6F1A2C3E-9B7D-4E21-A8C5-3D0F7E6B9A41";
    let alarm = "0A6C4F1E-3B2D-4F8A-9E71-5C2B8D4A6F03";
    let acknowledged = |store: &Store| {
        let event = store.event(id).expect("read").expect("event");
        event.alarms.iter().find(|a| a.id == alarm).and_then(|a| a.acknowledged)
    };
    let first = acknowledged(&a.store);
    assert!(first.is_some(), "ACKNOWLEDGED:20260414T083012Z was not imported");
    let export = a.store.export_ics(Some("home")).expect("export");
    assert!(
        unfold(&export).iter().any(|l| l == "ACKNOWLEDGED:20260414T083012Z"),
        "ACKNOWLEDGED is not exported"
    );
    let b = open();
    import(&b.store, "home", &export);
    assert_eq!(acknowledged(&b.store), first);
}

#[test]
fn apple_floating_event_follows_the_viewer() {
    let db = imported("apple-home.ics");
    let call = event(&db.store, "B2E7D9A4-1C3F-4A5B-8E6D-7F0A9C2B4D18");
    assert_eq!(call.timing.start, TimeValue::Floating(date(2026, 4, 19).at(18, 0, 0, 0)));
    assert_eq!(call.timing.end, End::At(TimeValue::Floating(date(2026, 4, 19).at(18, 30, 0, 0))));
    let may = |viewer: &TimeZone| {
        let rows = view(&db.store, "home", "2026-05-01T00:00:00Z", "2026-06-01T00:00:00Z", viewer);
        rows.into_iter().filter(|r| r.2 == "Call Mum").map(|r| r.0).collect::<Vec<_>>()
    };
    assert_eq!(
        may(&zone("Europe/London")),
        vec!["2026-05-03T17:00:00Z", "2026-05-17T17:00:00Z", "2026-05-31T17:00:00Z"]
    );
    assert_eq!(
        may(&zone("America/New_York")),
        vec!["2026-05-03T22:00:00Z", "2026-05-17T22:00:00Z", "2026-05-31T22:00:00Z"]
    );
}

#[test]
fn apple_all_day_and_multi_day_events() {
    let db = imported("apple-home.ics");
    let london = zone("Europe/London");
    let may = view(&db.store, "home", "2026-05-01T00:00:00Z", "2026-06-01T00:00:00Z", &london);
    let all_day: Vec<_> = may.into_iter().filter(|r| r.2 != "Call Mum").collect();
    assert_eq!(
        all_day,
        vec![
            row("2026-05-03T23:00:00Z", "2026-05-04T23:00:00Z", "Early May bank holiday"),
            row("2026-05-21T23:00:00Z", "2026-05-25T23:00:00Z", "Lisbon trip 🇵🇹"),
        ]
    );
    let trip = event(&db.store, "8D4F2B6A-E1C9-47A3-B0D8-5F3E9A1C7B62");
    assert_eq!(trip.timing.start, TimeValue::Date(date(2026, 5, 22)));
    assert_eq!(trip.timing.end, End::At(TimeValue::Date(date(2026, 5, 26))));
    assert_eq!(text(&trip, "url"), Some("https://www.example-air.com/manage-booking?pnr=QX7T2M"));
    assert_eq!(text(&trip, "location"), Some("Lisbon, Portugal"));
    let holiday = event(&db.store, "3C9E5A71-D2B8-4F06-9A14-E8C7B6D5F302");
    assert_eq!(holiday.alarms.len(), 1);
    assert_eq!(holiday.alarms[0].id, "E41B7C2D-9A6F-4E38-B5D0-2C8F1A7E6B93");
    assert_eq!(holiday.alarms[0].trigger, seconds(-15 * 3600));
}

#[test]
fn apple_feb_29_birthday_occurs_only_in_leap_years() {
    // RFC 5545: a yearly rule from February 29th has no occurrence in common years (invalid
    // dates are skipped, not moved to the 28th or March 1st).
    let db = imported("apple-home.ics");
    let birthday = event(&db.store, "F0C1A9E3-6B27-4D58-9E4A-1B7D3C5E8F20");
    assert_eq!(birthday.timing.start, TimeValue::Date(date(2024, 2, 29)));
    assert_eq!(birthday.rule, Some(rule("FREQ=YEARLY")));
    assert_eq!(birthday.alarms.len(), 1);
    assert_eq!(birthday.alarms[0].trigger, seconds(9 * 3600), "TRIGGER:PT9H (positive)");
    let rows =
        view(&db.store, "home", "2024-01-01T00:00:00Z", "2029-01-01T00:00:00Z", &TimeZone::UTC);
    let birthdays: Vec<_> = rows.into_iter().filter(|r| r.2 == "Leo's birthday 🎂").collect();
    assert_eq!(
        birthdays,
        vec![
            row("2024-02-29T00:00:00Z", "2024-03-01T00:00:00Z", "Leo's birthday 🎂"),
            row("2028-02-29T00:00:00Z", "2028-03-01T00:00:00Z", "Leo's birthday 🎂"),
        ]
    );
}

#[test]
fn icloud_attendees_default_to_required_and_monthly_last_day() {
    let db = imported("icloud-family.ics");
    let swim = event(&db.store, "A7C2E9F1-4B3D-4C8E-9A05-6D1F8B2E7C34");
    assert_eq!(
        attendees(&swim),
        vec![
            attendee(
                "mailto:ruth.oneill@me.com",
                "Ruth O'Neill",
                Role::Required,
                Participation::Accepted
            ),
            attendee(
                "mailto:sam.oneill@icloud.com",
                "Sam O'Neill",
                Role::Chair,
                Participation::Accepted
            ),
        ]
    );
    assert_eq!(swim.alarms.len(), 1);
    assert_eq!(swim.alarms[0].id, "2F9D6B4A-8E1C-4735-A0B9-C3E5D7F1A286");
    assert_eq!(swim.alarms[0].description.as_deref(), Some("Pack towels and goggles"));
    let rows =
        view(&db.store, "family", "2026-01-01T00:00:00Z", "2026-05-01T00:00:00Z", &TimeZone::UTC);
    let swims: Vec<_> =
        rows.iter().filter(|r| r.2.starts_with("Swimming")).map(|r| r.0.as_str()).collect();
    assert_eq!(swims.len(), 8, "COUNT=8");
    assert_eq!(swims.first(), Some(&"2026-01-10T09:00:00Z"));
    assert_eq!(swims.last(), Some(&"2026-02-28T09:00:00Z"));
    let rent: Vec<_> = rows.iter().filter(|r| r.2 == "Rent due").map(|r| r.0.as_str()).collect();
    assert_eq!(
        rent,
        vec![
            "2026-01-31T00:00:00Z",
            "2026-02-28T00:00:00Z",
            "2026-03-31T00:00:00Z",
            "2026-04-30T00:00:00Z"
        ]
    );
    let rent = event(&db.store, "C5E8A2D7-3F91-4B6C-8D20-E7A4F1B9C653");
    assert_eq!(
        text(&rent, "notes"),
        Some("Standing order from the joint account; check it went out.")
    );
}

// --- Outlook / Exchange ------------------------------------------------------------------

const STEERING: &str = "040000008200E00074C5B7101A82E00800000000B0F1C4D2A96ADC01000000000000000010000000E3A1F5C9D27B4E4A9F3C8B6D5E2A1F07";
const NY_CALL: &str = "040000008200E00074C5B7101A82E0080000000070A3D9E1B7A8DC010000000000000000100000004C7E2B9A1D3F4E5A8B6C0D2E4F6A8B1C";
const STATUS: &str = "040000008200E00074C5B7101A82E00800000000D4B2A6C8E9A7DC01000000000000000010000000A9B8C7D6E5F4A3B2C1D0E9F8A7B6C5D4";

#[test]
fn outlook_windows_zones_map_to_their_iana_zones() {
    let db = imported("outlook-work.ics");
    // CLDR windowsZones, territory 001: W. Europe → Europe/Berlin, Eastern → America/New_York.
    let steering = event(&db.store, STEERING);
    assert_eq!(steering.timing.start, zoned(date(2026, 1, 13).at(14, 0, 0, 0), "Europe/Berlin"));
    assert_eq!(
        steering.timing.end,
        End::At(zoned(date(2026, 1, 13).at(15, 30, 0, 0), "Europe/Berlin"))
    );
    let call = event(&db.store, NY_CALL);
    assert_eq!(call.timing.start, zoned(date(2026, 3, 10).at(9, 30, 0, 0), "America/New_York"));
    // 2026-03-10: New York is already on EDT (03-08), Berlin still on CET (until 03-29).
    let week =
        view(&db.store, "work", "2026-03-09T00:00:00Z", "2026-03-16T00:00:00Z", &TimeZone::UTC);
    assert_eq!(
        week,
        vec![
            row("2026-03-10T13:00:00Z", "2026-03-10T14:30:00Z", "Lenkungsausschuss"),
            row("2026-03-10T13:30:00Z", "2026-03-10T14:30:00Z", "Call with NY office"),
            row("2026-03-10T14:00:00Z", "2026-03-10T14:30:00Z", "Weekly status (US team)"),
            row("2026-03-12T14:00:00Z", "2026-03-12T14:30:00Z", "Weekly status (US team)"),
        ]
    );
    let export = db.store.export_ics(Some("work")).expect("export");
    let lines = unfold(&export);
    for tzid in ["Europe/Berlin", "America/New_York"] {
        assert!(lines.iter().any(|l| *l == format!("TZID:{tzid}")), "no VTIMEZONE {tzid}");
    }
}

#[test]
fn outlook_date_exdate_removes_the_timed_occurrence_and_lower_case_is_read() {
    let db = imported("outlook-work.ics");
    let steering = event(&db.store, STEERING);
    assert_eq!(
        steering.rule,
        Some(rule("FREQ=MONTHLY;COUNT=10;BYDAY=2TU")),
        "freq=monthly;count=10;byday=2tu;"
    );
    assert_eq!(steering.exdates, vec![TimeValue::Date(date(2026, 4, 14))]);
    let year =
        view(&db.store, "work", "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z", &TimeZone::UTC);
    let meetings: Vec<_> =
        year.iter().filter(|r| r.2 == "Lenkungsausschuss").map(|r| r.0.as_str()).collect();
    // The 2nd Tuesday of ten months; April (the 14th) is excluded by the DATE EXDATE; COUNT
    // counts it, so the series still ends in October. CET until 03-29, CEST until 10-25.
    assert_eq!(
        meetings,
        vec![
            "2026-01-13T13:00:00Z",
            "2026-02-10T13:00:00Z",
            "2026-03-10T13:00:00Z",
            "2026-05-12T12:00:00Z",
            "2026-06-09T12:00:00Z",
            "2026-07-14T12:00:00Z",
            "2026-08-11T12:00:00Z",
            "2026-09-08T12:00:00Z",
            "2026-10-13T12:00:00Z",
        ]
    );
    assert_eq!(
        attendees(&steering),
        vec![
            attendee(
                "mailto:lukas.wagner@contoso.com",
                "Lukas Wagner",
                Role::Optional,
                Participation::Tentative
            ),
            attendee(
                "mailto:miriam.schulz@contoso.com",
                "Schulz, Miriam",
                Role::Required,
                Participation::Accepted
            ),
        ]
    );
    assert_eq!(
        text(&steering, "notes"),
        Some("Monthly steering committee. Minutes go to the shared folder.\n")
    );
    assert_eq!(steering.alarms.len(), 1);
    assert_eq!(steering.alarms[0].trigger, seconds(-900));
}

#[test]
fn outlook_weekly_series_with_utc_until_and_a_moved_exception() {
    let db = imported("outlook-work.ics");
    let status = event(&db.store, STATUS);
    assert_eq!(status.rule, Some(rule("FREQ=WEEKLY;UNTIL=20260630T140000Z;BYDAY=TU,TH;WKST=SU")));
    assert_eq!(status.overrides.keys().collect::<Vec<_>>(), vec!["20260115"]);
    let rows =
        view(&db.store, "work", "2026-01-12T00:00:00Z", "2026-01-19T00:00:00Z", &TimeZone::UTC);
    let rows: Vec<_> = rows.into_iter().filter(|r| r.2.starts_with("Weekly status")).collect();
    assert_eq!(
        rows,
        vec![
            row("2026-01-13T15:00:00Z", "2026-01-13T15:30:00Z", "Weekly status (US team)"),
            row("2026-01-15T16:30:00Z", "2026-01-15T17:00:00Z", "Weekly status (US team)"),
        ]
    );
    // UNTIL is 10:00 EDT on Tuesday 2026-06-30, inclusive.
    let summer =
        view(&db.store, "work", "2026-06-25T00:00:00Z", "2026-07-15T00:00:00Z", &TimeZone::UTC);
    let statuses: Vec<_> =
        summer.iter().filter(|r| r.2.starts_with("Weekly status")).map(|r| r.0.as_str()).collect();
    assert_eq!(statuses, vec!["2026-06-25T14:00:00Z", "2026-06-30T14:00:00Z"]);
    let holiday = events(&db.store)
        .into_values()
        .find(|e| text(e, "title") == Some("Tag der Arbeit"))
        .expect("1 May");
    assert_eq!(holiday.timing.start, TimeValue::Date(date(2026, 5, 1)));
}

#[test]
fn outlook_x_properties_are_exported_verbatim() {
    assert_x_properties_verbatim(
        "outlook-work.ics",
        &[
            "X-ALT-DESC",
            "X-MICROSOFT-CDO-BUSYSTATUS",
            "X-MICROSOFT-CDO-IMPORTANCE",
            "X-MICROSOFT-CDO-ALLDAYEVENT",
            "X-MS-OLK-CONFTYPE",
        ],
    );
    assert_x_properties_verbatim(
        "outlook-invite.ics",
        &["X-MICROSOFT-LOCATIONS", "X-MICROSOFT-CDO-OWNERAPPTID", "X-MICROSOFT-CDO-APPT-SEQUENCE"],
    );
}

#[test]
fn outlook_invite_with_a_windows_display_name_as_tzid() {
    let db = imported("outlook-invite.ics");
    let all = events(&db.store);
    let invite = all.values().next().expect("one event");
    assert_eq!(invite.timing.start, zoned(date(2026, 5, 26).at(15, 0, 0, 0), "Europe/Paris"));
    assert_eq!(text(invite, "title"), Some("Revue de conception : parcours de réservation"));
    assert_eq!(
        text(invite, "notes"),
        Some(
            "Bonjour à tous,\n\nWe walk through the new booking flow (mock-ups in the Teams \
             channel). Please bring your comments.\n\nAnna\n"
        )
    );
    assert_eq!(
        attendees(invite),
        vec![
            attendee(
                "mailto:elodie.fournier@contoso.fr",
                "Élodie Fournier",
                Role::Optional,
                Participation::NeedsAction
            ),
            attendee(
                "mailto:jonas.becker@contoso.com",
                "Jonas Becker",
                Role::Required,
                Participation::NeedsAction
            ),
            attendee(
                "mailto:salle.rivoli@contoso.fr",
                "Salle Rivoli (12)",
                Role::NonParticipant,
                Participation::NeedsAction
            ),
        ]
    );
    let rows =
        view(&db.store, "invites", "2026-05-01T00:00:00Z", "2026-06-01T00:00:00Z", &TimeZone::UTC);
    assert_eq!(
        rows,
        vec![row(
            "2026-05-26T13:00:00Z",
            "2026-05-26T14:00:00Z",
            "Revue de conception : parcours de réservation"
        )]
    );
}

#[test]
fn the_organizer_keeps_its_display_name() {
    // Attendees keep CN; the organizer should too (`CN="Meyer, Anna"`, quoted for its comma).
    let db = imported("outlook-invite.ics");
    let export = db.store.export_ics(Some("invites")).expect("export");
    let organizer: Vec<String> =
        unfold(&export).into_iter().filter(|l| l.starts_with("ORGANIZER")).collect();
    assert_eq!(organizer.len(), 1, "{organizer:?}");
    assert!(
        head(&organizer[0]).iter().any(|p| p == "CN=\"Meyer, Anna\""),
        "the organizer's name is lost: {}",
        organizer[0]
    );
    assert_eq!(value(&organizer[0]), "mailto:anna.meyer@contoso.com");
}

// --- Thunderbird / Lightning -------------------------------------------------------------

#[test]
fn thunderbird_this_and_future_override_applies_from_its_start() {
    let db = imported("thunderbird-lightning.ics");
    let yoga = event(&db.store, "2d6f9c1e-7a4b-4e3f-9c21-8b5a0d7e4f16");
    assert_eq!(yoga.timing.start, zoned(date(2026, 1, 7).at(18, 30, 0, 0), "Europe/Paris"));
    assert_eq!(yoga.timing.end, End::After(seconds(75 * 60)), "DURATION:PT1H15M is kept");
    assert!(
        yoga.overrides.is_empty(),
        "RANGE=THISANDFUTURE is a range patch: {:?}",
        yoga.overrides
    );
    assert_eq!(yoga.range_patches.keys().collect::<Vec<_>>(), vec!["20260304"]);
    let occurrences = db
        .store
        .occurrences(
            ts("2026-02-25T00:00:00Z"),
            ts("2026-04-02T00:00:00Z"),
            &["personal"],
            &TimeZone::UTC,
        )
        .expect("occurrences");
    let seen: Vec<_> = occurrences
        .iter()
        .filter(|o| o.event_id == yoga.id)
        .map(|o| {
            let location = o.fields.get("location").and_then(Value::as_text).unwrap_or("-");
            (
                o.start.to_string(),
                o.end.to_string(),
                o.title().unwrap_or("-").to_owned(),
                location.to_owned(),
            )
        })
        .collect();
    let r = |s: &str, e: &str, t: &str, l: &str| {
        (s.to_owned(), e.to_owned(), t.to_owned(), l.to_owned())
    };
    assert_eq!(
        seen,
        vec![
            r("2026-02-25T17:30:00Z", "2026-02-25T18:45:00Z", "Yoga", "Studio Bastille"),
            r(
                "2026-03-04T18:00:00Z",
                "2026-03-04T19:15:00Z",
                "Yoga (new studio)",
                "Studio Lumière"
            ),
            r(
                "2026-03-11T18:00:00Z",
                "2026-03-11T19:15:00Z",
                "Yoga (new studio)",
                "Studio Lumière"
            ),
            r(
                "2026-03-18T18:00:00Z",
                "2026-03-18T19:15:00Z",
                "Yoga (new studio)",
                "Studio Lumière"
            ),
            r(
                "2026-03-25T18:00:00Z",
                "2026-03-25T19:15:00Z",
                "Yoga (new studio)",
                "Studio Lumière"
            ),
            r(
                "2026-04-01T17:00:00Z",
                "2026-04-01T18:15:00Z",
                "Yoga (new studio)",
                "Studio Lumière"
            ),
        ]
    );
    assert_eq!(yoga.alarms.len(), 1);
    assert_eq!(yoga.alarms[0].trigger, seconds(-1800), "TRIGGER;VALUE=DURATION:-PT30M");
    assert_x_properties_verbatim(
        "thunderbird-lightning.ics",
        &["X-MOZ-LASTACK", "X-MOZ-SEND-INVITATIONS", "X-MOZ-SEND-INVITATIONS-UNDISCLOSED"],
    );
}

#[test]
fn thunderbird_rdate_list_and_mozilla_tzids() {
    let db = imported("thunderbird-lightning.ics");
    let club = event(&db.store, "b81c44a0-3f6e-4d2a-a7e9-15c0f2d3b6a8");
    let berlin = |m: i8, d: i8| zoned(date(2026, m, d).at(19, 30, 0, 0), "Europe/Berlin");
    assert_eq!(club.timing.start, berlin(1, 22));
    assert_eq!(club.rule, None);
    let mut rdates = club.rdates.clone();
    rdates.sort_by_key(|v| v.local());
    assert_eq!(rdates, vec![berlin(2, 19), berlin(3, 26), berlin(4, 23)]);
    assert_eq!(text(&club, "title"), Some("Book club – „Der Zauberberg“"));
    assert_eq!(
        text(&club, "notes"),
        Some("Chapters 1–3 first, then we'll see.\nBring snacks; Jana brings tea.")
    );
    let rows =
        view(&db.store, "personal", "2026-01-01T00:00:00Z", "2026-07-01T00:00:00Z", &TimeZone::UTC);
    let club_rows: Vec<_> = rows
        .iter()
        .filter(|r| r.2.starts_with("Book club"))
        .map(|r| (r.0.as_str(), r.1.as_str()))
        .collect();
    assert_eq!(
        club_rows,
        vec![
            ("2026-01-22T18:30:00Z", "2026-01-22T20:00:00Z"),
            ("2026-02-19T18:30:00Z", "2026-02-19T20:00:00Z"),
            ("2026-03-26T18:30:00Z", "2026-03-26T20:00:00Z"),
            ("2026-04-23T17:30:00Z", "2026-04-23T19:00:00Z"),
        ]
    );
    assert!(rows.iter().any(|r| r.2 == "Car inspection (TÜV)" && r.0 == "2026-06-09T00:00:00Z"));
}

// --- The messy file ----------------------------------------------------------------------

#[test]
fn messy_file_reports_its_broken_parts_and_imports_the_rest() {
    let db = open();
    let text = read(MESSY);
    let report = import(&db.store, "messy", &text);
    assert_eq!(report.events, 5);
    assert_messy_issues(&text, &report.issues);
    assert!(db.store.event("messy-no-start@example.net").expect("read").is_none());
    // The unknown zone is read as floating, as written.
    let atlantis = event(&db.store, "messy-atlantis@example.net");
    assert_eq!(atlantis.timing.start, TimeValue::Floating(date(2026, 3, 10).at(9, 0, 0, 0)));
    assert_eq!(
        atlantis.timing.end,
        End::At(TimeValue::Floating(date(2026, 3, 10).at(10, 0, 0, 0)))
    );
}

#[test]
fn messy_text_is_unfolded_and_unescaped() {
    let db = imported(MESSY);
    let lunch = event(&db.store, "messy-escapes@example.net");
    assert_eq!(lunch.timing.start, zoned(date(2026, 3, 4).at(12, 0, 0, 0), "America/New_York"));
    assert_eq!(text(&lunch, "title"), Some("Lunch, then a walk; weather permitting"));
    assert_eq!(
        text(&lunch, "notes"),
        Some(concat!(
            "Bring: laptop, charger; badge\nParking: level -2\n",
            r"Share: \\fileserver\team\notes",
            "\nCall desk if the gate is shut"
        ))
    );
    assert_eq!(text(&lunch, "location"), Some("Café Zürich, 2nd floor – Raum 🛗 lift"));
    let export = db.store.export_ics(Some("messy")).expect("export");
    assert!(
        unfold(&export)
            .iter()
            .any(|l| l == r#"X-ACME-TRACKING;X-SOURCE=crm;X-REF="a,b;c":ticket-4411"#),
        "the X- property with parameters is not exported verbatim"
    );
}

#[test]
fn messy_recurrences_date_until_dst_gap_and_early_override() {
    let db = imported(MESSY);
    let march =
        view(&db.store, "messy", "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z", &TimeZone::UTC);
    let titled = |prefix: &str| -> Vec<(String, String, String)> {
        march.iter().filter(|r| r.2.starts_with(prefix)).cloned().collect()
    };
    // A DATE UNTIL on a timed series includes that whole local day (decision 0010); it is
    // stored as the UTC instant of that day's last second in the series' zone, the type RFC
    // 5545 §3.3.10 requires, so the export is strict (decision 0021).
    let check_in = event(&db.store, "messy-until-date@example.net");
    assert_eq!(check_in.timing.start, zoned(date(2026, 3, 2).at(8, 30, 0, 0), "America/New_York"));
    assert_eq!(
        check_in.rule.as_ref().and_then(|r| r.until.clone()),
        Some(TimeValue::Utc(ts("2026-03-07T04:59:59Z")))
    );
    assert_eq!(
        starts(&titled("Morning check-in")),
        vec![
            "2026-03-02T13:30:00Z",
            "2026-03-03T13:30:00Z",
            "2026-03-04T13:30:00Z",
            "2026-03-05T13:30:00Z",
            "2026-03-06T13:30:00Z"
        ]
    );
    // 02:30 does not exist in New York on 2026-03-08: the offset before the gap (EST).
    let gap = event(&db.store, "messy-dst-gap@example.net");
    assert_eq!(gap.timing.start, zoned(date(2026, 3, 8).at(2, 30, 0, 0), "America/New_York"));
    assert_eq!(gap.timing.end, End::After(seconds(3600)));
    assert_eq!(
        titled("Night batch"),
        vec![row(
            "2026-03-08T07:30:00Z",
            "2026-03-08T08:30:00Z",
            "Night batch (starts in the DST gap)"
        )]
    );
    // The override comes before its master in the file.
    let standup = event(&db.store, "messy-standup@example.net");
    assert_eq!(standup.overrides.keys().collect::<Vec<_>>(), vec!["20260310"]);
    assert_eq!(
        titled("Standup"),
        vec![
            row("2026-03-03T14:00:00Z", "2026-03-03T14:15:00Z", "Standup"),
            row("2026-03-10T14:00:00Z", "2026-03-10T14:15:00Z", "Standup (late start)"),
            row("2026-03-17T13:00:00Z", "2026-03-17T13:15:00Z", "Standup"),
            row("2026-03-24T13:00:00Z", "2026-03-24T13:15:00Z", "Standup"),
        ]
    );
}

// --- Calendars and re-imports ------------------------------------------------------------

fn calendar_name(store: &Store, id: &str) -> Option<String> {
    let record = store.get(id, "calendars", id).expect("read")?;
    record.value("name").and_then(Value::as_text).map(str::to_owned)
}

#[test]
fn the_calendar_is_created_from_x_wr_calname_and_its_name_survives_the_round_trip() {
    let a = imported("google-work.ics");
    assert_eq!(calendar_name(&a.store, "team").as_deref(), Some("Platform team"));
    let export = a.store.export_ics(Some("team")).expect("export");
    let b = open();
    import(&b.store, "team", &export);
    assert_eq!(
        calendar_name(&b.store, "team").as_deref(),
        Some("Platform team"),
        "the export of one calendar does not carry its name (X-WR-CALNAME)"
    );
}

#[test]
fn importing_a_file_again_changes_nothing() {
    for f in CORPUS {
        let db = open();
        let text = read(f.file);
        import(&db.store, f.calendar, &text);
        let first = events(&db.store);
        let again = import(&db.store, f.calendar, &text);
        assert_eq!(again.events, f.events, "{}: events on the second import", f.file);
        if f.file != MESSY {
            assert!(again.issues.is_empty(), "{}: {:#?}", f.file, again.issues);
        }
        assert_same_events(&first, &events(&db.store), &format!("{} imported twice", f.file));
    }
}

// --- Export ------------------------------------------------------------------------------

#[test]
fn exporting_every_calendar_or_one() {
    let db = open();
    let files = ["google-work.ics", "outlook-work.ics", "thunderbird-lightning.ics"];
    for file in files {
        let f = fixture(file);
        import(&db.store, f.calendar, &read(file));
    }
    let all = db.store.export_ics(None).expect("export all");
    assert_strict(&all, "export of every calendar");
    let mut each = BTreeSet::new();
    for file in files {
        let one = db.store.export_ics(Some(fixture(file).calendar)).expect("export one");
        assert_strict(&one, file);
        let uids = vevent_uids(&one);
        assert!(uids.is_superset(&vevent_uids(&read(file))), "{file}: events missing");
        assert!(uids.is_disjoint(&each), "{file}: events of another calendar exported");
        each.extend(uids);
    }
    assert_eq!(vevent_uids(&all), each, "all calendars = the union of each calendar");
    assert_eq!(db.store.export_ics(None).expect("again"), all, "export is deterministic");
}

#[test]
fn attendee_parameters_the_model_does_not_name_survive_the_round_trip() {
    let db = open();
    import(&db.store, "work", &read("outlook-invite.ics"));
    let exported = db.store.export_ics(None).expect("export");
    let unfolded = exported.replace("\r\n ", "");
    let room = unfolded
        .lines()
        .find(|l| l.starts_with("ATTENDEE") && l.contains("salle.rivoli"))
        .expect("the room is exported");
    assert!(room.contains("CUTYPE=RESOURCE"), "{room}");
    assert!(room.contains("RSVP=TRUE"), "{room}");
    assert!(room.contains("ROLE=NON-PARTICIPANT"), "{room}");
}

#[test]
fn issues_about_one_event_point_at_its_begin_line() {
    let db = open();
    let text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:fine\r\nDTSTART:20260105T090000Z\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:no-start\r\nSUMMARY:Where?\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let report = import(&db.store, "work", text);
    assert_eq!(report.events, 1);
    let issue =
        report.issues.iter().find(|i| i.uid.as_deref() == Some("no-start")).expect("reported");
    assert_eq!(issue.line, Some(8), "{issue:?}");
    assert!(issue.message.contains("DTSTART"), "{issue:?}");
}
