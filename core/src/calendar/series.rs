//! Reading an event record back as a typed [`Event`] and computing its occurrences.
//!
//! Resolution order for a field of one occurrence (contract case 7): the series value, then each
//! range patch ("this and following") whose key is at or before the occurrence, in ascending
//! order, then the occurrence's own override. A cancelled override removes the occurrence (case
//! 6); `truncate_at` removes every occurrence at or after it (cases 9, 14).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use smol_str::{SmolStr, SmolStrBuilder};

use super::event::{
    Alarm, Attendee, End, Participation, RawProperty, Role, Timing, fields, is_inherited,
};
use super::index::{IndexedKey, IndexedOccurrence};
use super::recurrence::{RecurrenceRule, RecurrenceSet};
use super::time::{Duration, TimeValue};
use crate::crdt::{FieldName, MvRegister, RecordState, Value};
use crate::error::{Error, Result};

/// The key of an occurrence in the override and range-patch maps and in `truncate_at`: which
/// occurrence of the series it is, independent of its time of day, length, zone or all-day flag
/// (decision 0016), so every edit keyed by it follows the occurrence through those changes.
///
/// It is the occurrence's original start read in the series' own clock (its zone; UTC for a UTC
/// series; the wall clock for floating and all-day series): `YYYYMMDD` when the occurrence is at
/// the series' time of day (every occurrence of a daily, weekly, monthly or yearly rule), else
/// `YYYYMMDDTHHMMSS` (several occurrences a day, an extra date at another time).
pub fn occurrence_key(original: &TimeValue, series_start: &TimeValue) -> Result<String> {
    Ok(key_at(place(original, series_start)?, series_start).into())
}

/// The wall time in the series' clock of the occurrence whose original start is `original`.
fn place(original: &TimeValue, series_start: &TimeValue) -> Result<DateTime> {
    Ok(match (original, series_start) {
        (TimeValue::Date(date), _) => date.to_datetime(series_start.local().time()),
        // A timed original of an all-day series, or any original of a floating series: its
        // wall reading is the occurrence's place in the series' clock.
        (_, TimeValue::Date(_) | TimeValue::Floating(_)) => original.local(),
        // A floating original names a wall time in the series' own zone; a zoned one in the
        // series' zone is read as written, so a time in a daylight-saving gap (02:30 on the
        // night clocks jump to 03:00) stays 02:30 rather than becoming 03:30 and back.
        (TimeValue::Floating(local), _) => *local,
        (TimeValue::Zoned { local, zone }, TimeValue::Zoned { zone: series_zone, .. })
            if zone == series_zone =>
        {
            *local
        }
        (TimeValue::Zoned { .. } | TimeValue::Utc(_), _) => {
            let zone = series_start.zone(&TimeZone::UTC)?;
            zone.to_datetime(original.instant(&TimeZone::UTC)?)
        }
    })
}

/// The key of the occurrence at wall time `local` of the series' clock. Built inline (a key is
/// at most 16 bytes): a month view makes one per occurrence (decision 0045).
fn key_at(local: DateTime, series_start: &TimeValue) -> SmolStr {
    let mut key = SmolStrBuilder::new();
    push_date(&mut key, local.date());
    if local.time() != series_start.local().time() {
        push_time(&mut key, local);
    }
    key.finish()
}

/// The key of a member of the rdate and exdate sets: the date or time value itself (these are
/// sets of values, not references to occurrences).
pub fn date_key(value: &TimeValue) -> Result<String> {
    Ok(match value {
        TimeValue::Date(date) => basic_date(*date),
        TimeValue::Floating(local) => basic_date_time(*local),
        TimeValue::Zoned { .. } | TimeValue::Utc(_) => {
            let instant = value.instant(&TimeZone::UTC)?;
            let mut key = basic_date_time(TimeZone::UTC.to_datetime(instant));
            key.push('Z');
            key
        }
    })
}

/// The same key in today's form: keys written before decision 0016 named a zoned or UTC
/// occurrence by its UTC instant (`YYYYMMDDTHHMMSSZ`) and a floating one by its wall time; both
/// are read as the occurrence they named under the series' current timing.
pub fn normalise_key(key: &str, series_start: &TimeValue) -> Result<String> {
    if key.len() == 8 {
        return Ok(key.to_owned());
    }
    Ok(key_at(occurrence_local(key, series_start)?, series_start).into())
}

// Keys are built for every occurrence of every month view: format the digits directly rather
// than through a format-string interpreter.
fn basic_date(date: jiff::civil::Date) -> String {
    let mut key = String::with_capacity(16);
    push_date(&mut key, date);
    key
}

fn push_date(out: &mut impl fmt::Write, date: jiff::civil::Date) {
    push_date_of(
        out,
        i32::from(date.year()),
        date.month().unsigned_abs(),
        date.day().unsigned_abs(),
    );
}

/// The date key `YYYYMMDD` of a year, month and day (without `format!`: a month view writes
/// thousands of them).
pub(crate) fn date_key_of(year: i32, month: u8, day: u8) -> String {
    let mut key = String::with_capacity(16);
    push_date_of(&mut key, year, month, day);
    key
}

fn push_date_of(out: &mut impl fmt::Write, year: i32, month: u8, day: u8) {
    if let (Ok(year @ 0..=9999), 1..=12, 1..=31) = (u16::try_from(year), month, day) {
        let digit = |value: u16, unit: u16| b'0' + (value / unit % 10) as u8;
        let (month, day) = (u16::from(month), u16::from(day));
        let bytes = [
            digit(year, 1000),
            digit(year, 100),
            digit(year, 10),
            digit(year, 1),
            digit(month, 10),
            digit(month, 1),
            digit(day, 10),
            digit(day, 1),
        ];
        // Always ASCII digits.
        if let Ok(key) = std::str::from_utf8(&bytes) {
            let _ = out.write_str(key);
            return;
        }
    }
    push_digits(out, i64::from(year), 4);
    push_digits(out, i64::from(month), 2);
    push_digits(out, i64::from(day), 2);
}

fn basic_date_time(local: DateTime) -> String {
    let mut key = basic_date(local.date());
    push_time(&mut key, local);
    key
}

/// `THHMMSS`.
fn push_time(out: &mut impl fmt::Write, local: DateTime) {
    let _ = out.write_char('T');
    push_digits(out, i64::from(local.hour()), 2);
    push_digits(out, i64::from(local.minute()), 2);
    push_digits(out, i64::from(local.second()), 2);
}

/// `value` zero-padded to `width` digits. Written by hand: a month view makes a key per
/// occurrence, and the formatting machinery was a tenth of its time. (Writing to a `String` or
/// a key builder cannot fail.)
fn push_digits(out: &mut impl fmt::Write, value: i64, width: usize) {
    if value < 0 {
        // Years before 1 are outside iCalendar; write them as-is rather than fail.
        let _ = write!(out, "{value:0width$}");
        return;
    }
    let mut digits = [b'0'; 20];
    let mut rest = value;
    let mut used = 0;
    while rest > 0 || used == 0 {
        digits[19 - used] = b'0' + (rest % 10) as u8;
        rest /= 10;
        used += 1;
    }
    for _ in used..width {
        let _ = out.write_char('0');
    }
    if let Ok(text) = std::str::from_utf8(&digits[20 - used..]) {
        let _ = out.write_str(text);
    }
}

/// `YYYYMMDD` as a date (the iCalendar DATE reader, given exactly eight bytes).
pub(crate) fn parse_basic_date(text: &str) -> Option<jiff::civil::Date> {
    if text.len() != 8 {
        return None;
    }
    super::ical::parse_date(text).ok()
}

/// `YYYYMMDDTHHMMSS` as a wall time (strictly: keys are only ever written this way).
fn parse_basic_date_time(text: &str) -> Option<DateTime> {
    if text.len() != 15 || text.as_bytes().get(8) != Some(&b'T') {
        return None;
    }
    let date = parse_basic_date(text.get(..8)?)?;
    let part = |at: usize| {
        let n = text.get(at..at + 2).and_then(super::ical::values::digits)?;
        i8::try_from(n).ok()
    };
    let time = jiff::civil::Time::new(part(9)?, part(11)?, part(13)?, 0).ok()?;
    Some(date.to_datetime(time))
}

/// A sparse set of field values for some occurrences.
#[derive(Clone, PartialEq, Debug, Default)]
pub struct Patch {
    /// Patched register values by field name (`timing` holds a structured [`Timing`]).
    pub fields: BTreeMap<String, Value>,
    /// Whether the occurrence is cancelled (overrides only).
    pub cancelled: bool,
    /// Of a cancelled override, the edits made concurrently with the cancel (its writer had not
    /// seen them): what the conflict log lists for it (case 6).
    pub unseen_by_cancel: BTreeMap<String, Value>,
}

impl Patch {
    /// Lays this patch's field values (all but `timing`, which moves the occurrence and is
    /// applied separately) over `fields`.
    pub fn apply_to(&self, fields: &mut BTreeMap<String, Value>) {
        let patched = self.fields.iter().filter(|(name, _)| *name != "timing");
        fields.extend(patched.map(|(name, value)| (name.clone(), value.clone())));
    }
}

/// The largest COUNT whose series [`Event::span`] expands to find its end (about 40 years of a
/// weekly meeting); a series with a larger COUNT is treated as endless, which is only slower.
pub(crate) const SPAN_COUNT_LIMIT: u32 = 2_000;

/// An event as the app sees it: the shown value of every field.
#[derive(Clone, PartialEq, Debug)]
pub struct Event {
    /// The record id (shared by its occurrences without copying: decision 0045).
    pub id: SmolStr,
    /// The calendar it belongs to.
    pub calendar: String,
    /// The iCalendar UID (the record id if none was imported).
    pub uid: String,
    /// When it happens.
    pub timing: Timing,
    /// The recurrence rule, if it repeats.
    pub rule: Option<RecurrenceRule>,
    /// Extra occurrences.
    pub rdates: Vec<TimeValue>,
    /// Excluded occurrences.
    pub exdates: Vec<TimeValue>,
    /// Scalar fields (title, location, notes, url, status, availability, color, organizer),
    /// shared with the occurrences that show them unpatched (a month view makes thousands).
    pub fields: Arc<BTreeMap<String, Value>>,
    /// Attendees by normalised address.
    pub attendees: Vec<Attendee>,
    /// Alarms by id.
    pub alarms: Vec<Alarm>,
    /// Single-occurrence patches by occurrence key.
    pub overrides: BTreeMap<String, Patch>,
    /// "This and following" patches by occurrence key.
    pub range_patches: BTreeMap<String, Patch>,
    /// No occurrence at or after this key.
    pub truncate_at: Option<String>,
    /// iCalendar properties kept verbatim for lossless round trips.
    pub unknown_properties: Vec<RawProperty>,
    /// Occurrences of someone else's series imported without it (decision 0021): `timing` is
    /// the first one's place in that series and `rdates` the others', each shown as its
    /// override says. False once the series itself has been imported or synced.
    pub instance_only: bool,
}

/// One occurrence of an event with every patch applied.
#[derive(Clone, PartialEq, Debug)]
pub struct Occurrence {
    /// The event's record id.
    pub event_id: SmolStr,
    /// The occurrence key (its original start, see [`occurrence_key`]).
    pub key: SmolStr,
    /// The original start (the iCalendar RECURRENCE-ID).
    pub original: TimeValue,
    /// The effective timing of this occurrence.
    pub timing: Timing,
    /// Start instant for the viewer.
    pub start: Timestamp,
    /// End instant for the viewer (exclusive).
    pub end: Timestamp,
    /// Scalar fields after patches (shared with the event when no patch applies).
    pub fields: Arc<BTreeMap<String, Value>>,
}

impl Occurrence {
    /// The occurrence's shown title.
    pub fn title(&self) -> Option<&str> {
        self.fields.get("title").and_then(Value::as_text)
    }

    /// Whether it is shown as cancelled (`STATUS:CANCELLED` on a single event or a whole
    /// series). Cancelled occurrences of a series are not listed at all.
    pub fn is_cancelled(&self) -> bool {
        is_cancelled_status(&self.fields)
    }
}

fn is_cancelled_status(fields: &BTreeMap<String, Value>) -> bool {
    fields
        .get("status")
        .and_then(Value::as_text)
        .is_some_and(|s| s.eq_ignore_ascii_case("CANCELLED"))
}

fn winner(register: &MvRegister<Value>) -> Option<&Value> {
    register.winner().map(|e| &e.value)
}

/// When alarm `id` was last dismissed: the greatest of its `acknowledged` member field's values
/// (concurrent dismissals merge by maximum, and the field goes with the alarm when it is
/// removed) and of the store-wide max register earlier versions wrote (`acknowledged/<id>`).
fn acknowledged(state: &RecordState, id: &str, alarm: &crate::crdt::Member) -> Option<Timestamp> {
    let legacy = state
        .maximums()
        .get(format!("{}{id}", fields::ACKNOWLEDGED_PREFIX).as_str())
        .and_then(|r| r.entry())
        .and_then(|e| e.value.as_int());
    let member = alarm.fields().get(fields::ACKNOWLEDGED).into_iter().flat_map(|r| r.entries());
    let seconds = member.filter_map(|e| e.value.as_int()).chain(legacy).max()?;
    Timestamp::from_second(seconds).ok()
}

/// The edits of a cancelled override that no canceller had seen, by field (greatest stamp).
/// Overrides cancelled before `cancel_seen` existed cleared what their canceller had seen, so
/// everything left in them is unseen.
fn unseen_by_cancel(member: &crate::crdt::Member) -> Result<BTreeMap<String, Value>> {
    let mut seen = crate::crdt::VersionVector::new();
    if let Some(register) = member.fields().get(fields::CANCEL_SEEN) {
        for entry in register.entries() {
            seen.join(&decode_field(&entry.value, "cancelled occurrence")?);
        }
    }
    let mut out = BTreeMap::new();
    for (name, register) in member.fields() {
        if name == fields::CANCELLED || name == fields::CANCEL_SEEN {
            continue;
        }
        let unseen = register.entries().iter().rev().filter(|e| !seen.contains(&e.dot));
        if let Some(entry) = unseen.map(|e| &e.value).find(|v| !is_inherited(v)) {
            out.insert(name.to_string(), entry.clone());
        }
    }
    Ok(out)
}

/// The shown value of a field of an override or range patch. A wider edit marks the narrower
/// values it had seen as inherited (decision 0016); a narrower value written concurrently with
/// it keeps its precedence, so any value that is not the marker beats the marker.
fn patch_value(register: &MvRegister<Value>) -> Option<&Value> {
    let entries = register.entries();
    // Entries are in ascending stamp order: the last real value is the greatest.
    entries.iter().rev().map(|e| &e.value).find(|value| !is_inherited(value))
}

fn decode_field<T: serde::de::DeserializeOwned>(value: &Value, what: &str) -> Result<T> {
    value.decode().map_err(|e| Error::Corrupt(format!("the event's {what} cannot be read: {e}")))
}

/// Reads an event record. `None` if the record is not an event (no timing).
pub fn read_event(id: &str, state: &RecordState) -> Result<Option<Event>> {
    let mut scalar = BTreeMap::new();
    for &name in super::api::SCALARS {
        if let Some(value) = state.registers().get(name).and_then(winner) {
            if *value != Value::Null {
                scalar.insert(name.to_owned(), value.clone());
            }
        }
    }
    read_event_with(id, state, scalar)
}

/// [`read_event`] of a record the caller no longer needs: its scalar fields are moved into the
/// event, names and values, instead of copied (a month view reads each record it decodes
/// this way; copying them was 7% of a cold first view's instructions, decision 0040).
pub fn read_event_from(id: &str, mut state: RecordState) -> Result<Option<Event>> {
    let scalars = state.take_registers(&is_scalar);
    read_event_from_parts(id, &state, scalars)
}

/// Whether `name` is one of an event's scalar fields (title, location, …).
pub(crate) fn is_scalar(name: &str) -> bool {
    super::api::SCALARS.contains(&name)
}

/// [`read_event_from`] of a record whose scalar registers were taken out as it was decoded
/// (`decode_record_taking` with [`is_scalar`], decision 0046): `state` holds the rest.
pub(crate) fn read_event_from_parts(
    id: &str,
    state: &RecordState,
    scalars: Vec<(FieldName, MvRegister<Value>)>,
) -> Result<Option<Event>> {
    let mut scalar = BTreeMap::new();
    for (name, register) in scalars {
        if let Some(entry) = register.into_winner().filter(|e| e.value != Value::Null) {
            scalar.insert(String::from(name), entry.value);
        }
    }
    read_event_with(id, state, scalar)
}

/// An event record's schedule: the event without its scalar fields (title, location, …),
/// which is all the occurrence index derives its rows from. Not copying those fields took a
/// join from 409.2M to 389.1M instructions (decision 0040).
pub(crate) fn read_schedule(id: &str, state: &RecordState) -> Result<Option<Event>> {
    read_event_with(id, state, BTreeMap::new())
}

/// The rest of an event record, given its scalar fields (which it does not read again).
fn read_event_with(
    id: &str,
    state: &RecordState,
    scalar: BTreeMap<String, Value>,
) -> Result<Option<Event>> {
    let registers = state.registers();
    let (timing, instance_only) = match registers.get(fields::TIMING).and_then(winner) {
        Some(timing) => (timing, false),
        None => match registers.get(fields::DETACHED).and_then(winner) {
            Some(timing) => (timing, true),
            None => return Ok(None),
        },
    };
    let timing: Timing = decode_field(timing, "timing")?;
    let rule = match registers.get(fields::RULE).and_then(winner) {
        None | Some(Value::Null) => None,
        Some(value) => Some(decode_field(value, "recurrence rule")?),
    };
    let text = |name: &str| {
        registers.get(name).and_then(winner).and_then(Value::as_text).map(str::to_owned)
    };
    let members = |map: &str| {
        let all = state.maps().get(map).into_iter().flatten();
        all.filter(|(_, m)| m.is_present()).map(|(k, m)| (k.clone(), m)).collect::<Vec<_>>()
    };
    let member_value = |member: &crate::crdt::Member, field: &str| {
        member.fields().get(field).and_then(winner).cloned()
    };
    let dates = |map: &str| -> Result<Vec<TimeValue>> {
        members(map)
            .into_iter()
            .filter_map(|(_, m)| member_value(m, fields::VALUE))
            .map(|v| decode_field(&v, "recurrence date"))
            .collect()
    };
    let patches = |map: &str| -> Result<BTreeMap<String, Patch>> {
        let mut out: BTreeMap<String, Patch> = BTreeMap::new();
        for (key, m) in members(map) {
            // Keys written before decision 0016 are read as the occurrence they named; should
            // two keys name one occurrence, their fields are laid over each other in key order.
            let patch = out.entry(normalise_key(&key, &timing.start)?).or_default();
            for (name, register) in m.fields() {
                match (name.as_str(), patch_value(register)) {
                    (fields::CANCELLED, Some(Value::Bool(cancelled))) => {
                        patch.cancelled = *cancelled
                    }
                    (fields::CANCEL_SEEN, _) | (_, None) => {}
                    (_, Some(value)) => {
                        patch.fields.insert(name.to_string(), value.clone());
                    }
                }
            }
            if patch.cancelled {
                patch.unseen_by_cancel = unseen_by_cancel(m)?;
            }
        }
        Ok(out)
    };
    let attendees = members(fields::ATTENDEES)
        .into_iter()
        .map(|(address, m)| {
            let text = |f: &str| member_value(m, f).and_then(|v| v.as_text().map(str::to_owned));
            Attendee {
                address,
                name: text("name"),
                role: member_value(m, "role")
                    .and_then(|v| v.decode().ok())
                    .unwrap_or(Role::Required),
                participation: member_value(m, "participation")
                    .and_then(|v| v.decode().ok())
                    .unwrap_or(Participation::NeedsAction),
                params: member_value(m, "params").and_then(|v| v.decode().ok()).unwrap_or_default(),
            }
        })
        .collect();
    let alarms = members(fields::ALARMS)
        .into_iter()
        .map(|(id, m)| Alarm {
            trigger: member_value(m, "trigger").and_then(|v| v.decode().ok()).unwrap_or_default(),
            description: member_value(m, "description")
                .and_then(|v| v.as_text().map(str::to_owned)),
            acknowledged: acknowledged(state, &id, m),
            id,
        })
        .collect();
    let unknown_properties = match registers.get(fields::UNKNOWN).and_then(winner) {
        None | Some(Value::Null) => Vec::new(),
        Some(value) => decode_field(value, "unknown properties")?,
    };
    let overrides = patches(fields::OVERRIDES)?;
    let range_patches = patches(fields::RANGE_PATCHES)?;
    let truncate_at = state
        .minimums()
        .get(fields::TRUNCATE_AT)
        .and_then(|m| m.entry())
        .and_then(|e| e.value.as_text())
        .map(|key| normalise_key(key, &timing.start))
        .transpose()?;
    let mut rdates = dates(fields::RDATES)?;
    if instance_only {
        // Without its series, the event is exactly its imported occurrences: each override or
        // range patch names one by its key, the first of them being the stand-in start.
        let start_key = occurrence_key(&timing.start, &timing.start)?;
        for key in overrides.keys().chain(range_patches.keys()) {
            if *key != start_key {
                rdates.push(timing.start.with_local(occurrence_local(key, &timing.start)?)?);
            }
        }
    }
    Ok(Some(Event {
        id: id.into(),
        calendar: text(fields::CALENDAR).unwrap_or_default(),
        uid: text(fields::UID).unwrap_or_else(|| id.to_owned()),
        timing,
        rule,
        rdates,
        exdates: dates(fields::EXDATES)?,
        fields: Arc::new(scalar),
        attendees,
        alarms,
        overrides,
        range_patches,
        truncate_at,
        unknown_properties,
        instance_only,
    }))
}

/// The start and end instants of `timing` when it starts at `start` (a value of the same kind
/// as `timing.start`), for a viewer in `viewer`.
pub(crate) fn instants(
    timing: &Timing,
    start: &TimeValue,
    viewer: &TimeZone,
) -> Result<(Timestamp, Timestamp)> {
    let zone = start.zone(viewer)?;
    let begin = start.instant(viewer)?;
    let end = match &timing.end {
        End::After(duration) => duration.add_to(begin, &zone)?,
        End::At(end) => {
            // Keep the written length: wall-clock length when both ends share a clock, else the
            // exact length between the series' own start and end.
            let written_start = timing.start.instant(viewer)?;
            let written_end = end.instant(viewer)?;
            let exact = written_end.duration_since(written_start);
            match (end, &timing.start) {
                (TimeValue::Utc(_), _) | (_, TimeValue::Utc(_)) => add_exact(begin, exact)?,
                _ => {
                    let wall = end.local().duration_since(timing.start.local());
                    let local = start.local().checked_add(wall).map_err(|e| overflow(&e))?;
                    end.with_local(local)?.instant(viewer)?
                }
            }
        }
    };
    Ok((begin, end.max(begin)))
}

fn add_exact(at: Timestamp, duration: SignedDuration) -> Result<Timestamp> {
    at.checked_add(duration).map_err(|e| overflow(&e))
}

fn overflow(error: &jiff::Error) -> Error {
    Error::InvalidInput(format!("a date is out of range: {error}"))
}

/// Where a "this and following" timing puts a later occurrence: the time the user chose for
/// the occurrence it is keyed on, on the later occurrence's day (decision 0016). It is never a
/// shift from the series' time, which would add up with a concurrent "all events" move.
fn range_start(chosen: &Timing, anchor: DateTime, occurrence: DateTime) -> Result<TimeValue> {
    let day_offset = occurrence.date().since(anchor.date()).map_err(|e| overflow(&e))?;
    // An occurrence at another time of day than the one the edit was made on (several a day)
    // keeps its distance from it.
    let within_day = occurrence.time().duration_since(anchor.time());
    let chosen_local = chosen.start.local();
    let day = chosen_local.date().checked_add(day_offset).map_err(|e| overflow(&e))?;
    let local =
        day.to_datetime(chosen_local.time()).checked_add(within_day).map_err(|e| overflow(&e))?;
    chosen.start.with_local(local)
}

/// A live range patch: keyed on an occurrence of the current schedule.
struct RangePatch<'e> {
    at: DateTime,
    patch: &'e Patch,
    timing: Option<Timing>,
}

impl Event {
    /// Whether the event is cancelled as a whole (`STATUS:CANCELLED`): it is kept and listed,
    /// marked cancelled, as the sending calendar showed it.
    pub fn is_cancelled(&self) -> bool {
        is_cancelled_status(&self.fields)
    }

    /// Whether the event repeats.
    pub fn is_recurring(&self) -> bool {
        self.rule.is_some() || !self.rdates.is_empty()
    }

    /// Bounds on this event's occurrences: none starts before the first, none ends after the
    /// second (`None`: no end is known, a rule without COUNT or UNTIL, or with a COUNT above
    /// [`SPAN_COUNT_LIMIT`]). Widened by the reach [`Event::occurrences`] searches with, so a
    /// window query outside them finds nothing. The occurrence index uses them to skip series
    /// a month cannot show.
    pub(crate) fn span(&self, viewer: &TimeZone) -> Result<(Timestamp, Option<Timestamp>)> {
        let reach = self.reach(viewer)?;
        let start = self.timing.start.instant(viewer)?;
        let (mut first, mut last) = (start, Some(start));
        for rdate in &self.rdates {
            let at = rdate.instant(viewer)?;
            first = first.min(at);
            last = last.map(|last| last.max(at));
        }
        if let Some(rule) = &self.rule {
            // A rule's instances all come at or after the series start (RFC 5545 §3.8.5.3).
            let rule_last = match (&rule.until, rule.count) {
                (Some(until), _) => Some(until.instant(viewer)?),
                // The rule's own last instance, not the COUNT-th of the whole set: RDATEs
                // before it would push it out of the first COUNT (they are bounded above).
                (None, Some(count)) if count <= SPAN_COUNT_LIMIT => {
                    RecurrenceSet::new(self.timing.start.clone(), Some(rule.clone()))
                        .last_rule_instant(viewer)?
                }
                _ => None,
            };
            last = last.zip(rule_last).map(|(a, b)| a.max(b));
        }
        let first = first.checked_sub(reach).unwrap_or(Timestamp::MIN);
        Ok((first, last.map(|last| last.checked_add(reach).unwrap_or(Timestamp::MAX))))
    }

    fn recurrence_set(&self) -> RecurrenceSet {
        RecurrenceSet {
            start: self.timing.start.clone(),
            rule: self.rule.clone(),
            rdates: self.rdates.clone(),
            exdates: self.exdates.clone(),
        }
    }

    /// The key of the occurrence whose original start is `original` (see [`occurrence_key`]).
    pub fn key_of(&self, original: &TimeValue) -> Result<String> {
        occurrence_key(original, &self.timing.start)
    }

    /// The key of the occurrence `original` names, for an edit or delete of it: an error if
    /// the current schedule has no such occurrence (an edit keyed on nothing would be an orphan
    /// from the start) or if it was deleted with the ones following it.
    pub fn occurrence_key_checked(&self, original: &TimeValue) -> Result<String> {
        let key = self.key_of(original)?;
        if !self.is_occurrence(&key)? {
            return Err(Error::InvalidInput(format!(
                "event '{}' has no occurrence starting at {original}",
                self.id
            )));
        }
        if self.is_truncated(self.position(&key)?)? {
            return Err(Error::InvalidInput(format!(
                "the occurrence of event '{}' at {original} was deleted with the ones following it",
                self.id
            )));
        }
        Ok(key)
    }

    /// The wall time, in the series' clock, of the occurrence named `key`: keys of this event
    /// compare by it (never as text).
    pub fn position(&self, key: &str) -> Result<DateTime> {
        occurrence_local(key, &self.timing.start)
    }

    /// The original start of the occurrence named `key`.
    pub fn original(&self, key: &str) -> Result<TimeValue> {
        self.timing.start.with_local(self.position(key)?)
    }

    /// Whether the series' truncation removes the occurrence at `position`.
    pub fn is_truncated(&self, position: DateTime) -> Result<bool> {
        Ok(match &self.truncate_at {
            Some(cut) => position >= self.position(cut)?,
            None => false,
        })
    }

    /// Whether `key` names an occurrence of the current schedule (cancelled and truncated ones
    /// included): an edit keyed on anything else is an orphan (case 10).
    pub fn is_occurrence(&self, key: &str) -> Result<bool> {
        let original = self.original(key)?;
        if !self.is_recurring() {
            return Ok(self.key_of(&self.timing.start)? == key);
        }
        let at = original.instant(&TimeZone::UTC)?;
        let found = self.recurrence_set().between(
            at,
            add_exact(at, SignedDuration::from_secs(1))?,
            &TimeZone::UTC,
        )?;
        Ok(found.iter().any(|o| self.key_of(&o.original).is_ok_and(|k| k == key)))
    }

    /// The range patches that apply, in ascending position (orphans apply nowhere).
    fn live_range_patches(&self) -> Result<Vec<RangePatch<'_>>> {
        let mut out = Vec::new();
        for (key, patch) in &self.range_patches {
            if !self.is_occurrence(key)? {
                continue;
            }
            let timing = match patch.fields.get(fields::TIMING) {
                Some(value) => Some(decode_field(value, "timing")?),
                None => None,
            };
            out.push(RangePatch { at: self.position(key)?, patch, timing });
        }
        out.sort_by_key(|r| r.at);
        Ok(out)
    }

    /// How far an occurrence may lie from its original start: the largest move by an override
    /// or range patch, the longest occurrence, and a day for wall-clock and zone shifts. A
    /// window widened by it finds every occurrence that overlaps the window.
    fn reach(&self, viewer: &TimeZone) -> Result<SignedDuration> {
        Ok(self.max_length(viewer)? + self.max_move(viewer)? + SignedDuration::from_hours(28))
    }

    /// The longest an occurrence lasts, as an upper bound for window queries.
    fn max_length(&self, viewer: &TimeZone) -> Result<SignedDuration> {
        let mut longest = SignedDuration::ZERO;
        let timings = std::iter::once(Ok(self.timing.clone())).chain(
            self.overrides
                .values()
                .chain(self.range_patches.values())
                .filter_map(|p| p.fields.get(fields::TIMING))
                .map(|v| decode_field::<Timing>(v, "timing")),
        );
        for timing in timings {
            let timing = timing?;
            let (begin, end) = instants(&timing, &timing.start, viewer)?;
            longest = longest.max(end.duration_since(begin));
        }
        Ok(longest)
    }

    /// Every occurrence overlapping `[from, to)`, patches applied, cancelled and truncated ones
    /// left out, sorted by start. `viewer` only affects all-day and floating events.
    pub fn occurrences(
        &self,
        from: Timestamp,
        to: Timestamp,
        viewer: &TimeZone,
    ) -> Result<Vec<Occurrence>> {
        // Overrides and range patches may move occurrences; widen the search by the largest
        // move and the longest occurrence, then filter on the real times.
        let reach = self.reach(viewer)?;
        let search_from = from.checked_sub(reach).unwrap_or(Timestamp::MIN);
        let search_to = to.checked_add(reach).unwrap_or(Timestamp::MAX);
        let originals = if self.is_recurring() {
            self.recurrence_set().between(search_from, search_to, viewer)?
        } else {
            let instant = self.timing.start.instant(viewer)?;
            vec![super::recurrence::Occurrence { original: self.timing.start.clone(), instant }]
        };
        self.resolve(originals.into_iter().map(|o| (o.original, None)), from, to, viewer)
    }

    /// Whether this event's occurrences are the same instants for every viewer (zoned and UTC
    /// series), so the occurrence index can name them without expanding the recurrence.
    pub fn viewer_independent(&self) -> bool {
        matches!(self.timing.start, TimeValue::Zoned { .. } | TimeValue::Utc(_))
    }

    /// The occurrences with these keys (keys of the occurrence index) that overlap
    /// `[from, to)`, patches applied; truncated and cancelled ones left out.
    pub fn occurrences_from_keys<'k>(
        &self,
        keys: impl IntoIterator<Item = &'k str>,
        from: Timestamp,
        to: Timestamp,
        viewer: &TimeZone,
    ) -> Result<Vec<Occurrence>> {
        let mut originals = Vec::new();
        for key in keys {
            originals.push((self.original(key)?, None));
        }
        self.resolve(originals.into_iter(), from, to, viewer)
    }

    /// The same for rows of the occurrence index, appended to `out` unsorted (a view sorts all
    /// its occurrences once, decision 0039), with the instants the index holds for each
    /// (computed by this same expansion for a viewer in UTC): an occurrence no patch touches
    /// takes them instead of converting its wall-clock times again, when its times are the same
    /// for every viewer (`times_viewer_independent`). Converting was a fifth of a warm month
    /// view's instructions.
    pub(crate) fn extend_from_index(
        &self,
        rows: &[IndexedOccurrence],
        from: Timestamp,
        to: Timestamp,
        viewer: &TimeZone,
        out: &mut Vec<Occurrence>,
    ) -> Result<()> {
        let reuse = self.times_viewer_independent();
        let mut originals = Vec::with_capacity(rows.len());
        for row in rows {
            let original = match &row.key {
                IndexedKey::EventStart => self.timing.start.clone(),
                // As `occurrence_local` reads a date key.
                IndexedKey::Date(date) => self
                    .timing
                    .start
                    .with_local(date.to_datetime(self.timing.start.local().time()))?,
                IndexedKey::Text(key) => self.original(key)?,
            };
            originals.push((original, reuse.then_some((row.start, row.end))));
        }
        self.resolve_into(originals.into_iter(), from, to, viewer, out)
    }

    /// Whether both ends of the series' occurrences are the same instants for every viewer (a
    /// zoned or UTC start, and a duration or a zoned or UTC end) and whole seconds, as the
    /// index keeps them.
    fn times_viewer_independent(&self) -> bool {
        let whole = |value: &TimeValue| value.local().subsec_nanosecond() == 0;
        self.viewer_independent()
            && whole(&self.timing.start)
            && match &self.timing.end {
                End::After(_) => true,
                End::At(end) => {
                    matches!(end, TimeValue::Zoned { .. } | TimeValue::Utc(_)) && whole(end)
                }
            }
    }

    /// Applies truncation, cancellation and patches to occurrences given by original start.
    fn resolve(
        &self,
        originals: impl Iterator<Item = (TimeValue, Option<(Timestamp, Timestamp)>)>,
        from: Timestamp,
        to: Timestamp,
        viewer: &TimeZone,
    ) -> Result<Vec<Occurrence>> {
        let mut out = Vec::new();
        self.resolve_into(originals, from, to, viewer, &mut out)?;
        out.sort_by(|a, b| (a.start, &a.key).cmp(&(b.start, &b.key)));
        Ok(out)
    }

    /// `resolve` appending to `out`, unsorted.
    fn resolve_into(
        &self,
        originals: impl Iterator<Item = (TimeValue, Option<(Timestamp, Timestamp)>)>,
        from: Timestamp,
        to: Timestamp,
        viewer: &TimeZone,
        out: &mut Vec<Occurrence>,
    ) -> Result<()> {
        let ranges = self.live_range_patches()?;
        let cut = self.truncate_at.as_deref().map(|cut| self.position(cut)).transpose()?;
        // Most occurrences show the series' fields unchanged: they share the event's.
        let shared = &self.fields;
        for (original, indexed) in originals {
            let at = place(&original, &self.timing.start)?;
            let key = key_at(at, &self.timing.start);
            if cut.is_some_and(|cut| at >= cut) {
                continue;
            }
            let occurrence_override = self.overrides.get(key.as_str());
            if occurrence_override.is_some_and(|o| o.cancelled) {
                continue;
            }
            let mut fields = Arc::clone(shared);
            let mut start_value = original.clone();
            // Borrowed unless a patch sets the timing: cloning it for every occurrence was 3%
            // of a warm month view.
            let mut base = Cow::Borrowed(&self.timing);
            let mut patched = occurrence_override.is_some();
            // Series, then range patches in ascending position, then the occurrence's own
            // override (case 7); the last timing set wins whole (case 3).
            for range in ranges.iter().take_while(|r| r.at <= at) {
                patched = true;
                range.patch.apply_to(Arc::make_mut(&mut fields));
                if let Some(chosen) = &range.timing {
                    start_value = range_start(chosen, range.at, at)?;
                    base = Cow::Borrowed(chosen);
                }
            }
            if let Some(patch) = occurrence_override {
                patch.apply_to(Arc::make_mut(&mut fields));
                if let Some(value) = patch.fields.get(fields::TIMING) {
                    base = Cow::Owned(decode_field(value, "timing")?);
                    start_value = base.start.clone();
                }
            }
            let (start, end) = match indexed {
                Some(times) if !patched => times,
                _ => instants(&base, &start_value, viewer)?,
            };
            let timing = Timing { start: start_value, end: base.end.clone() };
            if start < to && (end > from || (start == end && start >= from)) {
                out.push(Occurrence {
                    event_id: self.id.clone(),
                    key,
                    original,
                    timing,
                    start,
                    end,
                    fields,
                });
            }
        }
        Ok(())
    }

    /// What the series and its range patches give the occurrence with original start
    /// `original`, before its own override: the fields, the timing that applies (as written)
    /// and the occurrence's start under it.
    pub(crate) fn inherited_at(
        &self,
        original: &TimeValue,
    ) -> Result<(BTreeMap<String, Value>, Timing, TimeValue)> {
        let at = place(original, &self.timing.start)?;
        let mut fields = BTreeMap::clone(&self.fields);
        let (mut base, mut start) = (self.timing.clone(), original.clone());
        for range in self.live_range_patches()?.iter().take_while(|r| r.at <= at) {
            range.patch.apply_to(&mut fields);
            if let Some(chosen) = &range.timing {
                start = range_start(chosen, range.at, at)?;
                base = chosen.clone();
            }
        }
        Ok((fields, base, start))
    }

    /// The fields of the (live, not truncated) range patch at `key` that no occurrence shows:
    /// every occurrence it applies to is cancelled or cut off, or has its own edit of that
    /// field (an override, a later range patch). The conflict log lists them, so a "this and
    /// following" edit is never silently invisible.
    pub fn range_fields_shown_nowhere(&self, key: &str) -> Result<BTreeMap<String, Value>> {
        let Some(patch) = self.range_patches.get(key) else { return Ok(BTreeMap::new()) };
        let mut remaining = patch.fields.clone();
        if remaining.is_empty() || !self.is_recurring() {
            return Ok(remaining);
        }
        let from = self.position(key)?;
        let later: Vec<RangePatch<'_>> =
            self.live_range_patches()?.into_iter().filter(|r| r.at > from).collect();
        // Past the first later patch that sets every remaining field nothing can show them.
        let horizon = |remaining: &BTreeMap<String, Value>| {
            later
                .iter()
                .find(|r| remaining.keys().all(|f| r.patch.fields.contains_key(f)))
                .map(|r| r.at)
        };
        let cut = self.truncate_at.as_deref().map(|cut| self.position(cut)).transpose()?;
        let mut after = Some(self.original(key)?.instant(&TimeZone::UTC)?);
        // Look in growing batches: usually the patch's own occurrence shows everything.
        for batch in [4, 64, 1024] {
            let Some(start) = after else { break };
            let found = self.recurrence_set().first(Some(start), batch, &TimeZone::UTC)?;
            after = found.last().map(|o| o.instant + SignedDuration::from_secs(1));
            if found.len() < batch {
                after = None;
            }
            for occurrence in found {
                let at = place(&occurrence.original, &self.timing.start)?;
                let beyond = cut.is_some_and(|cut| at >= cut)
                    || horizon(&remaining).is_some_and(|h| at >= h);
                if beyond || remaining.is_empty() {
                    return Ok(remaining);
                }
                let own = self.overrides.get(key_at(at, &self.timing.start).as_str());
                if at < from || own.is_some_and(|o| o.cancelled) {
                    continue;
                }
                remaining.retain(|field, _| {
                    own.is_some_and(|o| o.fields.contains_key(field))
                        || later.iter().any(|r| r.at <= at && r.patch.fields.contains_key(field))
                });
            }
        }
        // Not shown on its first 1,092 occurrences: hidden as far as anyone will scroll.
        Ok(remaining)
    }

    /// The keys of the range patches that apply (orphans left out), in ascending position.
    pub fn live_range_keys(&self) -> Result<Vec<String>> {
        let mut keys = Vec::new();
        for key in self.range_patches.keys() {
            if self.is_occurrence(key)? {
                keys.push((self.position(key)?, key.clone()));
            }
        }
        keys.sort();
        Ok(keys.into_iter().map(|(_, key)| key).collect())
    }

    /// The largest distance an override or range patch moves an occurrence.
    fn max_move(&self, viewer: &TimeZone) -> Result<SignedDuration> {
        let mut largest = SignedDuration::ZERO;
        for (key, patch) in self.overrides.iter().chain(self.range_patches.iter()) {
            if let Some(value) = patch.fields.get(fields::TIMING) {
                let timing: Timing = decode_field(value, "timing")?;
                let moved_to = timing.start.instant(viewer)?;
                let was = self.original(key)?.instant(viewer)?;
                largest = largest.max(moved_to.duration_since(was).abs());
            }
        }
        Ok(largest)
    }

    /// Overrides whose key matches no occurrence of the current schedule (after a rule or start
    /// change, case 10). They are kept, never dropped; the app can show or remove them.
    pub fn orphaned_overrides(&self) -> Result<Vec<String>> {
        self.orphans(&self.overrides)
    }

    /// "This and following" patches keyed on no occurrence of the current schedule: they apply
    /// nowhere and are listed in the conflict log, never dropped.
    pub fn orphaned_range_patches(&self) -> Result<Vec<String>> {
        self.orphans(&self.range_patches)
    }

    fn orphans(&self, patches: &BTreeMap<String, Patch>) -> Result<Vec<String>> {
        let mut orphans = Vec::new();
        for key in patches.keys() {
            if !self.is_occurrence(key)? {
                orphans.push(key.clone());
            }
        }
        Ok(orphans)
    }
}

/// The wall time, in the series' own clock, of the occurrence named `key` (its position: keys
/// of one series compare by it).
pub fn occurrence_local(key: &str, series_start: &TimeValue) -> Result<DateTime> {
    let invalid = || Error::InvalidInput(format!("'{key}' is not an occurrence key"));
    if let Some(utc) = key.strip_suffix('Z') {
        let local = parse_basic_date_time(utc).ok_or_else(invalid)?;
        let instant = TimeZone::UTC.to_timestamp(local).map_err(|_| invalid())?;
        let zone = series_start.zone(&TimeZone::UTC)?;
        return Ok(zone.to_datetime(instant));
    }
    if key.len() == 8 {
        let date = parse_basic_date(key).ok_or_else(invalid)?;
        return Ok(date.to_datetime(series_start.local().time()));
    }
    parse_basic_date_time(key).ok_or_else(invalid)
}

/// The duration type re-exported for callers building timings.
pub type EventDuration = Duration;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_written_and_read_back_digit_by_digit() {
        let zone = TimeValue::Zoned {
            local: jiff::civil::date(2026, 6, 3).at(8, 0, 0, 0),
            zone: "Europe/Paris".into(),
        };
        for local in [
            jiff::civil::date(2026, 6, 3).at(8, 0, 0, 0),
            jiff::civil::date(987, 12, 31).at(23, 59, 58, 0),
            jiff::civil::date(2026, 1, 9).at(0, 5, 0, 0),
        ] {
            let key = key_at(local, &zone);
            assert_eq!(occurrence_local(&key, &zone).ok(), Some(local), "{key}");
        }
        assert_eq!(key_at(jiff::civil::date(2026, 6, 10).at(8, 0, 0, 0), &zone), "20260610");
        assert_eq!(basic_date_time(jiff::civil::date(7, 2, 3).at(4, 5, 6, 0)), "00070203T040506");
    }

    #[test]
    fn malformed_keys_are_errors() {
        let zone = TimeValue::Floating(jiff::civil::date(2026, 6, 3).at(8, 0, 0, 0));
        for key in [
            "",
            "2026061",
            "2026063X",
            "20261301",
            "20260231",
            "20260603T2500000",
            "20260603T250000",
            "20260603X080000",
            "20260603T08000Z",
            "+0260603",
            "２０２６０６０３",
            "2026060:",
            "20260603T0800:0",
        ] {
            assert!(occurrence_local(key, &zone).is_err(), "{key:?} was accepted");
        }
    }
}
