//! The calendar property test: three devices make random edits of one recurring event — titles
//! and locations on every span, times on every span, zone moves (across daylight-saving changes,
//! to zones whose changes fall on other dates), all-day toggles, rule changes, truncations,
//! cancels and restores, deletes and restores — and sync in random partial orders. Afterwards
//! every device must show the same thing, and what it shows must keep every intent:
//!
//! - **nothing lost**: every edit is visible in some occurrence or listed in the conflict log,
//!   unless the model explains why it may not be (a later edit that had seen it replaced it, a
//!   narrower edit takes precedence there, a cancel, truncation or delete that had seen it hides
//!   it);
//! - **nothing stale**: every value shown is one that still applies there (no value a wider edit
//!   replaced after seeing it — finding 8 — and no time nobody wrote — finding 5);
//! - the contract's outcomes: truncation keeps the earliest cut, a cancel never restored stays
//!   cancelled, equal values are not conflicts, and the occurrence index and the expansion of
//!   the event agree (finding 6).
//!
//! The series starts on an ordinary day, in a daylight-saving gap or in a fold. The model only
//! knows which edits each device had seen (sync carries everything the sender holds), never
//! the clocks: where the contract lets the greater stamp decide, it accepts either outcome.

use std::collections::{BTreeMap, BTreeSet};

use almanac_core::calendar::api::{EventEdit, NewEvent};
use almanac_core::calendar::event::{End, Span, Timing};
use almanac_core::calendar::recurrence::RecurrenceRule;
use almanac_core::calendar::series::{Occurrence, read_event, read_event_from};
use almanac_core::calendar::time::{Duration, TimeValue, resolve_local, time_zone};
use almanac_core::{Store, Value};
use jiff::civil::{Date, DateTime, date};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use proptest::prelude::*;

const ID: &str = "series";
const CALENDAR: &str = "home";
const DEVICES: usize = 3;
/// Weeks `This` and `Following` edits aim at (week 0 is the series start).
const WEEKS: std::ops::Range<u8> = 1..8;
const ZONES: [&str; 4] = ["Europe/Paris", "Europe/London", "America/New_York", "Asia/Tokyo"];

/// Where the series starts: an ordinary Monday, the Sunday before the EU gap (29 March), the
/// Sunday before the EU fold (25 October), the Sunday before the US gap (8 March).
fn series_start(choice: u8) -> (DateTime, &'static str) {
    match choice % 4 {
        0 => (date(2026, 1, 5).at(9, 0, 0, 0), "Europe/Paris"),
        1 => (date(2026, 3, 15).at(2, 30, 0, 0), "Europe/Paris"),
        2 => (date(2026, 10, 11).at(2, 30, 0, 0), "Europe/Paris"),
        _ => (date(2026, 3, 1).at(2, 30, 0, 0), "America/New_York"),
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Pick {
    All,
    This(u8),
    Following(u8),
}

#[derive(Clone, Debug)]
enum Step {
    Text {
        device: usize,
        span: Pick,
        location: bool,
    },
    /// The same value on purpose (finding 7).
    Same {
        device: usize,
        span: Pick,
    },
    Time {
        device: usize,
        span: Pick,
        hour: i8,
    },
    Zone {
        device: usize,
        zone: usize,
        keep_instant: bool,
    },
    AllDay {
        device: usize,
        on: bool,
    },
    Cancel {
        device: usize,
        week: u8,
    },
    Restore {
        device: usize,
        week: u8,
    },
    Truncate {
        device: usize,
        week: u8,
    },
    Delete {
        device: usize,
    },
    RestoreEvent {
        device: usize,
    },
    Rule {
        device: usize,
        every_other: bool,
    },
    Sync {
        from: usize,
        to: usize,
    },
}

fn pick() -> impl Strategy<Value = Pick> {
    prop_oneof![
        2 => Just(Pick::All),
        2 => WEEKS.prop_map(Pick::This),
        2 => WEEKS.prop_map(Pick::Following),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    let device = 0..DEVICES;
    prop_oneof![
        6 => (device.clone(), pick(), any::<bool>())
            .prop_map(|(device, span, location)| Step::Text { device, span, location }),
        1 => (device.clone(), pick()).prop_map(|(device, span)| Step::Same { device, span }),
        3 => (device.clone(), pick(), 6i8..21).prop_map(|(device, span, hour)| Step::Time { device, span, hour }),
        2 => (device.clone(), 0..ZONES.len(), any::<bool>())
            .prop_map(|(device, zone, keep_instant)| Step::Zone { device, zone, keep_instant }),
        1 => (device.clone(), any::<bool>()).prop_map(|(device, on)| Step::AllDay { device, on }),
        2 => (device.clone(), WEEKS).prop_map(|(device, week)| Step::Cancel { device, week }),
        1 => (device.clone(), WEEKS).prop_map(|(device, week)| Step::Restore { device, week }),
        1 => (device.clone(), WEEKS).prop_map(|(device, week)| Step::Truncate { device, week }),
        1 => device.clone().prop_map(|device| Step::Delete { device }),
        1 => device.clone().prop_map(|device| Step::RestoreEvent { device }),
        1 => (device.clone(), any::<bool>())
            .prop_map(|(device, every_other)| Step::Rule { device, every_other }),
        6 => (0..DEVICES, 0..DEVICES).prop_map(|(from, to)| Step::Sync { from, to }),
    ]
}

/// What a field write set, as the model sees it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Field {
    Title,
    Location,
    Timing,
}

#[derive(Clone, Debug)]
enum Kind {
    /// A value written to `field` on `span`; `token` is how it shows (see [`token_of_time`]).
    Write {
        field: Field,
        span: Pick,
        token: String,
    },
    Cancel(u8),
    Restore(u8),
    Truncate(u8),
    Delete,
    RestoreEvent,
    Rule,
}

/// One accepted write, with the writes its device had seen when making it.
#[derive(Clone, Debug)]
struct Written {
    seen: BTreeSet<usize>,
    kind: Kind,
}

/// A timing as the model names it: zone (or "date" for all-day) and wall time of day.
fn token_of_time(start: &TimeValue) -> String {
    match start {
        TimeValue::Date(_) => "T|date".into(),
        TimeValue::Zoned { local, zone } => format!("T|{zone}|{}", local.strftime("%H:%M")),
        TimeValue::Floating(local) => format!("T|floating|{}", local.strftime("%H:%M")),
        TimeValue::Utc(at) => format!("T|UTC|{}", at.strftime("%H:%M")),
    }
}

fn text_token(value: &Value) -> Option<String> {
    match value {
        Value::Text(text) => Some(text.clone()),
        Value::Structured(_) => value.decode::<Timing>().ok().map(|t| token_of_time(&t.start)),
        _ => None,
    }
}

struct World {
    stores: Vec<Store>,
    start: DateTime,
    zone: &'static str,
    written: Vec<Written>,
    /// The writes each device has seen.
    seen: Vec<BTreeSet<usize>>,
    _dirs: Vec<tempfile::TempDir>,
}

impl World {
    fn new(series: u8) -> World {
        let (start, zone) = series_start(series);
        let dirs: Vec<_> = (0..DEVICES).map(|_| tempfile::tempdir().expect("dir")).collect();
        let stores: Vec<Store> =
            dirs.iter().map(|d| Store::open(d.path().join("s")).expect("open")).collect();
        let event = NewEvent {
            id: ID.into(),
            calendar: CALENDAR.into(),
            uid: None,
            timing: Timing {
                start: TimeValue::Zoned { local: start, zone: zone.into() },
                end: End::After(Duration { seconds: 3600, ..Duration::default() }),
            },
            rule: Some(RecurrenceRule::parse("FREQ=WEEKLY;COUNT=8").expect("rule")),
            rdates: Vec::new(),
            exdates: Vec::new(),
            fields: BTreeMap::from([
                ("title".into(), Value::from("title-0")),
                ("location".into(), Value::from("location-0")),
            ]),
            attendees: Vec::new(),
            alarms: Vec::new(),
            unknown_properties: Vec::new(),
        };
        stores[0].create_event(&event).expect("create");
        for store in &stores[1..] {
            crate::support::sync_spaces(&stores[0], store);
        }
        let start_token = token_of_time(&event.timing.start);
        let create = |field, token: &str| Written {
            seen: BTreeSet::new(),
            kind: Kind::Write { field, span: Pick::All, token: token.to_owned() },
        };
        let written = vec![
            create(Field::Title, "title-0"),
            create(Field::Location, "location-0"),
            create(Field::Timing, &start_token),
        ];
        let everything: BTreeSet<usize> = (0..written.len()).collect();
        World { stores, start, zone, written, seen: vec![everything; DEVICES], _dirs: dirs }
    }

    fn day(&self, week: u8) -> Date {
        self.start.date().checked_add((7 * i64::from(week)).days()).expect("date")
    }

    fn key(&self, week: u8) -> String {
        self.day(week).strftime("%Y%m%d").to_string()
    }

    fn week_of(&self, key: &str) -> u8 {
        let day = Date::strptime("%Y%m%d", &key[..8]).expect("key date");
        let days = (day - self.start.date()).get_days();
        u8::try_from(days / 7).expect("week")
    }

    /// The original start of week `week` as `device` knows the event now (what an app gets
    /// from the occurrence it shows).
    fn original(&self, device: usize, week: u8) -> Option<TimeValue> {
        let event = self.stores[device].event(ID).ok()??;
        event.original(&self.key(week)).ok()
    }

    fn span(&self, device: usize, pick: Pick) -> Option<Span> {
        Some(match pick {
            Pick::All => Span::All,
            Pick::This(week) => Span::This(self.original(device, week)?),
            Pick::Following(week) => Span::ThisAndFollowing(self.original(device, week)?),
        })
    }

    fn record(&mut self, device: usize, kind: Kind) {
        let id = self.written.len();
        self.written.push(Written { seen: self.seen[device].clone(), kind });
        self.seen[device].insert(id);
    }

    fn sync(&mut self, from: usize, to: usize) {
        if from == to {
            return;
        }
        crate::support::sync_spaces(&self.stores[from], &self.stores[to]);
        let known = self.seen[from].clone();
        self.seen[to].extend(known);
    }

    fn one_hour(start: TimeValue) -> Timing {
        Timing { start, end: End::After(Duration { seconds: 3600, ..Duration::default() }) }
    }

    /// Runs one step; refusals (editing a deleted event, restoring what is not cancelled) are
    /// part of the game, only accepted writes enter the model.
    fn run(&mut self, step: &Step) {
        let id = self.written.len();
        let (device, kind, result) = match step {
            Step::Sync { from, to } => return self.sync(*from, *to),
            Step::Text { device, span, location } => {
                let field = if *location { Field::Location } else { Field::Title };
                let name = if *location { "location" } else { "title" };
                let token = format!("{name}-{id}");
                let Some(s) = self.span(*device, *span) else { return };
                let edit = EventEdit {
                    fields: BTreeMap::from([(name.to_owned(), Value::from(token.as_str()))]),
                    ..EventEdit::default()
                };
                let result = self.stores[*device].edit_event(ID, &s, &edit);
                (*device, Kind::Write { field, span: *span, token }, result)
            }
            Step::Same { device, span } => {
                let Some(s) = self.span(*device, *span) else { return };
                let edit = EventEdit {
                    fields: BTreeMap::from([("title".to_owned(), Value::from("same"))]),
                    ..EventEdit::default()
                };
                let result = self.stores[*device].edit_event(ID, &s, &edit);
                let kind = Kind::Write { field: Field::Title, span: *span, token: "same".into() };
                (*device, kind, result)
            }
            Step::Time { device, span, hour } => {
                let Some(event) = self.stores[*device].event(ID).ok().flatten() else { return };
                let zone = match &event.timing.start {
                    TimeValue::Zoned { zone, .. } => zone.clone(),
                    _ => self.zone.into(),
                };
                // The minute names the write, so every timing is one nobody else wrote.
                let minute = i8::try_from(id % 60).expect("minute");
                let day = match span {
                    Pick::All => event.timing.start.local().date(),
                    Pick::This(week) | Pick::Following(week) => self.day(*week),
                };
                let start = TimeValue::Zoned { local: day.at(*hour, minute, 0, 0), zone };
                let token = token_of_time(&start);
                let Some(s) = self.span(*device, *span) else { return };
                let edit =
                    EventEdit { timing: Some(Self::one_hour(start)), ..EventEdit::default() };
                let result = self.stores[*device].edit_event(ID, &s, &edit);
                (*device, Kind::Write { field: Field::Timing, span: *span, token }, result)
            }
            Step::Zone { device, zone, keep_instant } => {
                let Some(event) = self.stores[*device].event(ID).ok().flatten() else { return };
                let TimeValue::Zoned { local, zone: from } = &event.timing.start else { return };
                let to = ZONES[*zone];
                // The same instant in the other zone when it stays on the same day (an edit
                // that moves the series to another day is a start change: case 10).
                let at = time_zone(from).ok().and_then(|z| resolve_local(*local, &z).ok());
                let same_instant = at
                    .and_then(|at| Some(time_zone(to).ok()?.to_datetime(at)))
                    .filter(|moved| moved.date() == local.date());
                let local = match same_instant {
                    Some(moved) if *keep_instant => moved,
                    _ => *local,
                };
                let start = TimeValue::Zoned { local, zone: to.into() };
                let token = token_of_time(&start);
                let edit =
                    EventEdit { timing: Some(Self::one_hour(start)), ..EventEdit::default() };
                let result = self.stores[*device].edit_event(ID, &Span::All, &edit);
                (*device, Kind::Write { field: Field::Timing, span: Pick::All, token }, result)
            }
            Step::AllDay { device, on } => {
                let Some(event) = self.stores[*device].event(ID).ok().flatten() else { return };
                let day = event.timing.start.local().date();
                let minute = i8::try_from(id % 60).expect("minute");
                let timing = if *on {
                    Timing::all_day(day, 1)
                } else {
                    let zone = self.zone.to_owned();
                    Self::one_hour(TimeValue::Zoned {
                        local: day.at(10, minute, 0, 0),
                        zone: zone.into(),
                    })
                };
                let token = token_of_time(&timing.start);
                let edit = EventEdit { timing: Some(timing), ..EventEdit::default() };
                let result = self.stores[*device].edit_event(ID, &Span::All, &edit);
                (*device, Kind::Write { field: Field::Timing, span: Pick::All, token }, result)
            }
            Step::Cancel { device, week } => {
                let Some(s) = self.span(*device, Pick::This(*week)) else { return };
                (*device, Kind::Cancel(*week), self.stores[*device].delete_event(ID, &s))
            }
            Step::Restore { device, week } => {
                let Some(original) = self.original(*device, *week) else { return };
                let result = self.stores[*device].restore_occurrence(ID, &original);
                (*device, Kind::Restore(*week), result)
            }
            Step::Truncate { device, week } => {
                let Some(s) = self.span(*device, Pick::Following(*week)) else { return };
                (*device, Kind::Truncate(*week), self.stores[*device].delete_event(ID, &s))
            }
            Step::Delete { device } => {
                (*device, Kind::Delete, self.stores[*device].delete_event(ID, &Span::All))
            }
            Step::RestoreEvent { device } => {
                (*device, Kind::RestoreEvent, self.stores[*device].restore_event(ID))
            }
            Step::Rule { device, every_other } => {
                let text = if *every_other {
                    "FREQ=WEEKLY;INTERVAL=2;COUNT=8"
                } else {
                    "FREQ=WEEKLY;COUNT=8"
                };
                let rule = RecurrenceRule::parse(text).expect("rule");
                let edit = EventEdit { rule: Some(Some(rule)), ..EventEdit::default() };
                (*device, Kind::Rule, self.stores[*device].edit_event(ID, &Span::All, &edit))
            }
        };
        if result.is_ok() {
            self.record(device, kind);
        }
    }

    fn sync_everything(&mut self) {
        for _ in 0..2 {
            for from in 0..DEVICES {
                for to in 0..DEVICES {
                    self.sync(from, to);
                }
            }
        }
    }
}

/// The precedence of a span at an occurrence (case 7): series < range patches in ascending
/// start < the occurrence's own patch.
fn rank(span: Pick) -> i16 {
    match span {
        Pick::All => -1,
        Pick::Following(week) => i16::from(week),
        Pick::This(_) => i16::MAX,
    }
}

fn covers(span: Pick, week: u8) -> bool {
    match span {
        Pick::All => true,
        Pick::This(at) => at == week,
        Pick::Following(from) => week >= from,
    }
}

/// The final state the checks read (from one device: all agree).
struct Outcome {
    /// Shown occurrences by week.
    shown: BTreeMap<u8, Occurrence>,
    /// The weeks of the final schedule (cancelled and truncated ones included).
    schedule: BTreeSet<u8>,
    deleted: bool,
    /// Every value the conflict log holds.
    logged: BTreeSet<String>,
}

struct Oracle<'w> {
    world: &'w World,
    outcome: Outcome,
}

impl Oracle<'_> {
    fn write(&self, id: usize) -> Option<(Field, Pick, &str)> {
        match &self.world.written[id].kind {
            Kind::Write { field, span, token } => Some((*field, *span, token)),
            _ => None,
        }
    }

    /// Whether write `id` is keyed on an occurrence of the final schedule (else it is an
    /// orphan: applies nowhere, listed in the log).
    fn anchored(&self, span: Pick) -> bool {
        match span {
            Pick::All => true,
            Pick::This(week) | Pick::Following(week) => self.outcome.schedule.contains(&week),
        }
    }

    /// Whether write `later` replaced write `id` wherever it applied: it had seen it, sets the
    /// same field, and overwrote it (same span) or is wider and so marked it inherited
    /// (decision 0016), or it truncated the series at or before it, or deleted the event.
    fn replaced(&self, id: usize, later: usize) -> bool {
        let Some((field, span, _)) = self.write(id) else { return false };
        let w = &self.world.written[later];
        if !w.seen.contains(&id) {
            return false;
        }
        let anchor = match span {
            Pick::All => None,
            Pick::This(week) | Pick::Following(week) => Some(week),
        };
        match &w.kind {
            Kind::Write { field: f, span: s, .. } => {
                *f == field
                    && match (*s, span) {
                        (Pick::All, _) => true,
                        (Pick::Following(x), Pick::This(y)) => y >= x,
                        (Pick::Following(x), Pick::Following(y)) => y >= x,
                        (s, span) => s == span,
                    }
            }
            Kind::Truncate(at) => anchor.is_some_and(|week| *at <= week),
            Kind::Delete => self.outcome.deleted,
            _ => false,
        }
    }

    fn is_replaced(&self, id: usize) -> bool {
        (0..self.world.written.len()).any(|later| self.replaced(id, later))
    }

    /// Whether write `id` is what applies to its field at `week` for its span: it covers the
    /// week, is anchored, is not replaced, and no later write that had seen it applies there
    /// (one that was itself replaced no longer applies anywhere).
    fn effective(&self, id: usize, week: u8) -> bool {
        let Some((field, span, _)) = self.write(id) else { return false };
        covers(span, week)
            && self.anchored(span)
            && !self.is_replaced(id)
            && !self.world.written.iter().enumerate().any(|(later, w)| {
                w.seen.contains(&id)
                    && self
                        .write(later)
                        .is_some_and(|(f, s, _)| f == field && covers(s, week) && self.anchored(s))
                    && !self.is_replaced(later)
            })
    }

    /// Why write `id` may be invisible at `week`: a write that had seen it replaced or hid it
    /// there, or a narrower write takes precedence there (case 7).
    fn explained_at(&self, id: usize, week: u8) -> bool {
        let Some((field, span, _)) = self.write(id) else { return true };
        self.world.written.iter().enumerate().any(|(other, w)| {
            if other == id {
                return false;
            }
            let saw = w.seen.contains(&id);
            match &w.kind {
                Kind::Write { field: f, span: s, .. } => {
                    *f == field && self.effective(other, week) && (saw || rank(*s) > rank(span))
                }
                Kind::Cancel(at) => saw && *at == week && !self.outcome.shown.contains_key(&week),
                Kind::Truncate(at) => saw && *at <= week,
                Kind::Delete => saw && self.outcome.deleted,
                _ => false,
            }
        })
    }

    fn visible(&self, token: &str) -> bool {
        self.outcome.shown.values().any(|o| shown_tokens(o).iter().any(|(_, t)| t == token))
    }

    /// Nothing lost: every write is shown somewhere, listed in the log, or explained at every
    /// occurrence it covers.
    fn check_nothing_lost(&self) -> Result<(), TestCaseError> {
        for id in 0..self.world.written.len() {
            let Some((_, span, token)) = self.write(id) else { continue };
            if token == "same" || self.visible(token) || self.outcome.logged.contains(token) {
                continue;
            }
            let explained = self.is_replaced(id)
                || (self.anchored(span)
                    && self
                        .outcome
                        .schedule
                        .iter()
                        .all(|w| !covers(span, *w) || self.explained_at(id, *w)));
            prop_assert!(
                explained,
                "write {} ({:?}) is neither shown nor in the conflict log",
                id,
                self.world.written[id]
            );
        }
        Ok(())
    }

    /// Nothing stale: each value shown is written by a write that applies there.
    fn check_nothing_stale(&self) -> Result<(), TestCaseError> {
        for (week, occurrence) in &self.outcome.shown {
            for (field, token) in shown_tokens(occurrence) {
                let source = (0..self.world.written.len()).any(|id| {
                    self.write(id).is_some_and(|(f, _, t)| f == field && t == token)
                        && self.effective(id, *week)
                });
                prop_assert!(
                    source,
                    "week {} shows {:?} = {}, which no write that still applies there wrote",
                    week,
                    field,
                    token
                );
            }
        }
        Ok(())
    }

    fn check_outcomes(&self) -> Result<(), TestCaseError> {
        let kinds = self.world.written.iter().map(|w| &w.kind);
        let cut = kinds
            .clone()
            .filter_map(|k| if let Kind::Truncate(w) = k { Some(*w) } else { None })
            .min();
        if let Some(cut) = cut {
            prop_assert!(
                self.outcome.shown.keys().all(|w| *w < cut),
                "truncated from week {cut}, yet shown: {:?}",
                self.outcome.shown.keys()
            );
        }
        for week in WEEKS {
            let cancelled = kinds.clone().any(|k| matches!(k, Kind::Cancel(w) if *w == week));
            let restored = kinds.clone().any(|k| matches!(k, Kind::Restore(w) if *w == week));
            prop_assert!(
                !cancelled || restored || !self.outcome.shown.contains_key(&week),
                "week {week} was cancelled and never restored, yet shown"
            );
        }
        Ok(())
    }
}

/// The title, location and time an occurrence shows, as model tokens.
fn shown_tokens(occurrence: &Occurrence) -> Vec<(Field, String)> {
    let mut out = vec![(Field::Timing, token_of_time(&occurrence.timing.start))];
    for (field, name) in [(Field::Title, "title"), (Field::Location, "location")] {
        if let Some(text) = occurrence.fields.get(name).and_then(Value::as_text) {
            out.push((field, text.to_owned()));
        }
    }
    out
}

fn window(world: &World) -> (Timestamp, Timestamp) {
    let zone = TimeZone::UTC;
    let from = zone.to_timestamp(world.start.checked_sub(2.days()).expect("from")).expect("from");
    let to = zone.to_timestamp(world.start.checked_add(120.days()).expect("to")).expect("to");
    (from, to)
}

fn outcome(world: &World, store: &Store) -> Outcome {
    let (from, to) = window(world);
    let occurrences = store.occurrences(from, to, &[], &TimeZone::UTC).expect("occurrences");
    let shown = occurrences.into_iter().map(|o| (world.week_of(&o.key), o)).collect();
    let deleted = store.event(ID).expect("read").is_none();
    // A deleted event keeps its fields for restore: its schedule is still the one its edits
    // are judged against.
    let record = store.find_any("events", ID).expect("find").into_iter().next().expect("record");
    let event = read_event(ID, &record.state).expect("read");
    // A view reads records it decoded by moving their fields (decision 0040): the same event.
    let moved = read_event_from(ID, record.state.clone()).expect("read");
    assert_eq!(moved, event, "reading by move differs");
    let schedule = match &event {
        Some(event) => {
            let every_other = event.rule.as_ref().is_some_and(|r| r.interval == 2);
            (0..8u8).map(|w| if every_other { 2 * w } else { w }).collect()
        }
        None => BTreeSet::new(),
    };
    let mut logged = BTreeSet::new();
    for entry in store.calendar_conflicts().expect("log") {
        for conflict in &entry.fields {
            for value in std::iter::once(&conflict.shown).chain(&conflict.candidates) {
                logged.extend(text_token(value));
            }
        }
        for edit in &entry.shadowed_by_delete {
            logged.extend(text_token(&edit.entry.value));
        }
        for occurrence in &entry.occurrences {
            logged.extend(occurrence.fields.values().filter_map(text_token));
        }
    }
    Outcome { shown, schedule, deleted, logged }
}

fn run(series: u8, steps: &[Step]) -> Result<(), TestCaseError> {
    let mut world = World::new(series);
    for step in steps {
        world.run(step);
    }
    world.sync_everything();
    let (from, to) = window(&world);
    let view = |s: &Store| s.occurrences(from, to, &[], &TimeZone::UTC).expect("occurrences");
    let log = |s: &Store| s.calendar_conflicts().expect("log");
    for store in &world.stores {
        prop_assert_eq!(view(store), view(&world.stores[0]), "devices disagree on occurrences");
        prop_assert_eq!(log(store), log(&world.stores[0]), "devices disagree on the log");
        // The occurrence index and the event's own expansion give the same occurrences.
        if let Some(event) = store.event(ID).expect("read") {
            prop_assert_eq!(
                view(store),
                event.occurrences(from, to, &TimeZone::UTC).expect("expand")
            );
        }
    }
    for entry in log(&world.stores[0]) {
        for conflict in &entry.fields {
            prop_assert!(
                !conflict.candidates.contains(&conflict.shown),
                "equal values listed as a conflict: {:?}",
                conflict
            );
        }
    }
    let oracle = Oracle { outcome: outcome(&world, &world.stores[0]), world: &world };
    oracle.check_outcomes()?;
    oracle.check_nothing_stale()?;
    oracle.check_nothing_lost()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn every_edit_is_shown_or_logged_and_every_shown_value_still_applies(
        series in 0u8..4,
        steps in prop::collection::vec(step(), 1..40),
    ) {
        run(series, &steps)?;
    }
}
