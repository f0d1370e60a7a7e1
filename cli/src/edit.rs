//! `almanac add`, `edit`, `delete` and `restore`: changing events from the command line.
//!
//! Each command is one call of the calendar API (`create_event`, `edit_event`, `delete_event`,
//! `restore_event`), so a store changed here reads exactly as one changed by an app. Every
//! argument is read and checked against the store before anything is written: a command that
//! fails leaves the store as it was.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use almanac_core::calendar::api::{EventEdit, NewEvent};
use almanac_core::calendar::event::{CALENDARS, EVENTS, End, Span, Timing};
use almanac_core::calendar::recurrence::{RecurrenceRule, RecurrenceSet};
use almanac_core::calendar::series::Event;
use almanac_core::calendar::time::{Duration, TimeValue};
use almanac_core::{Store, Value};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use crate::fail::{Context, Failure};
use crate::store;
use crate::text::{self, Clock};

/// Arguments of `almanac add`.
#[derive(clap::Args, Debug)]
pub struct AddArgs {
    /// The store file (created if it does not exist).
    store: PathBuf,

    /// The calendar id (the calendar is created, named after its id, if the store lacks it).
    #[arg(long, value_name = "ID")]
    calendar: String,

    /// The event's title.
    #[arg(long, value_name = "TEXT")]
    title: String,

    /// The start: a date (all-day), a local date-time, or RFC 3339 (see above).
    #[arg(long, value_name = "TIME")]
    start: String,

    /// The end (exclusive), in the same forms and of the same kind as --start.
    #[arg(long, value_name = "TIME", conflicts_with = "duration")]
    end: Option<String>,

    /// The length instead of an end: an ISO 8601 duration such as PT30M, PT2H or P1D.
    #[arg(long, value_name = "DURATION")]
    duration: Option<String>,

    /// The IANA time zone the event keeps its wall-clock times in, e.g. Europe/Paris.
    #[arg(long, value_name = "IANA")]
    zone: Option<String>,

    /// How the event repeats: an RRULE value such as FREQ=WEEKLY;BYDAY=MO or FREQ=DAILY;COUNT=5.
    #[arg(long, value_name = "RULE")]
    rrule: Option<String>,
}

/// Which occurrences an `edit` or `delete` applies to.
#[derive(clap::Args, Debug)]
pub struct SpanArgs {
    /// Only the occurrence with this original start, as `almanac agenda` prints it (RFC 3339, or
    /// a date for an all-day series), or a local date-time in the event's zone.
    #[arg(long, value_name = "START")]
    occurrence: Option<String>,

    /// With --occurrence: that occurrence and every later one.
    #[arg(long, requires = "occurrence")]
    following: bool,
}

/// Arguments of `almanac edit`.
#[derive(clap::Args, Debug)]
pub struct EditArgs {
    /// The store file (it must exist).
    store: PathBuf,

    /// The event's id, as `almanac add` and `almanac agenda` print it.
    event: String,

    #[command(flatten)]
    span: SpanArgs,

    /// The new title (empty clears it).
    #[arg(long, value_name = "TEXT")]
    title: Option<String>,

    /// The new location (empty clears it).
    #[arg(long, value_name = "TEXT")]
    location: Option<String>,

    /// The new start; with no --end the event keeps its length.
    #[arg(long, value_name = "TIME")]
    start: Option<String>,

    /// The new end (exclusive), of the same kind as the start.
    #[arg(long, value_name = "TIME")]
    end: Option<String>,
}

/// Arguments of `almanac delete`.
#[derive(clap::Args, Debug)]
pub struct DeleteArgs {
    /// The store file (it must exist).
    store: PathBuf,

    /// The event's id.
    event: String,

    #[command(flatten)]
    span: SpanArgs,
}

/// Arguments of `almanac restore`.
#[derive(clap::Args, Debug)]
pub struct RestoreArgs {
    /// The store file (it must exist).
    store: PathBuf,

    /// The id of the deleted event (or of the event whose occurrence was deleted).
    event: String,

    /// Bring back this one deleted occurrence instead, named by its original start (as for
    /// `almanac edit`): it comes back as it was before it was deleted.
    #[arg(long, value_name = "TIME")]
    occurrence: Option<String>,
}

/// Runs `almanac add`.
pub fn add(args: &AddArgs, out: &mut dyn Write) -> Result<(), Failure> {
    if args.calendar.is_empty() {
        return Err(Failure::new("--calendar: the calendar id must not be empty"));
    }
    let clock = Clock::for_zone("--zone", args.zone.as_deref())?;
    let start = text::parse_event_time("--start", &args.start, &clock)?;
    let timing = match (&args.end, &args.duration) {
        (Some(end), _) => timing_to(start, end)?,
        (None, Some(duration)) => {
            let duration = Duration::parse(duration).context("--duration")?;
            let timing = Timing { start, end: End::After(duration) };
            timing.validate().context("--duration")?;
            timing
        }
        (None, None) => default_timing(start),
    };
    let rule = match &args.rrule {
        Some(rule) => {
            let rule = RecurrenceRule::parse(rule).context("--rrule")?;
            // Expanding once finds what the rule alone cannot: an UNTIL that does not fit the
            // start, for one.
            RecurrenceSet::new(timing.start.clone(), Some(rule.clone()))
                .first(None, 1, &TimeZone::UTC)
                .context("--rrule")?;
            Some(rule)
        }
        None => None,
    };
    let id = new_event_id()?;
    let event = NewEvent {
        id: id.clone(),
        calendar: args.calendar.clone(),
        uid: None,
        timing,
        rule,
        rdates: Vec::new(),
        exdates: Vec::new(),
        fields: BTreeMap::from([("title".to_owned(), Value::from(args.title.as_str()))]),
        attendees: Vec::new(),
        alarms: Vec::new(),
        unknown_properties: Vec::new(),
    };

    // Each calendar is a space: its id must be one (checked before anything is written).
    almanac_core::SpaceId::new(args.calendar.as_str()).map_err(|e| {
        Failure::new(format!(
            "--calendar '{}' is not a usable calendar id: {e}",
            text::one_line(&args.calendar)
        ))
    })?;
    let store = store::open_or_create(&args.store)?;
    if store.get(&args.calendar, CALENDARS, &args.calendar)?.is_none() {
        if store.get_any(&args.calendar, CALENDARS, &args.calendar)?.is_some() {
            return Err(Failure::new(format!(
                "calendar '{}' is deleted; add the event to another calendar",
                text::one_line(&args.calendar)
            )));
        }
        store.put_calendar(&args.calendar, &args.calendar, None, None)?;
    }
    store.create_event(&event)?;
    writeln!(out, "{id}")?;
    Ok(())
}

/// Runs `almanac edit`.
pub fn edit(args: &EditArgs) -> Result<(), Failure> {
    let mut fields = BTreeMap::new();
    for (name, value) in [("title", &args.title), ("location", &args.location)] {
        if let Some(value) = value {
            let value = if value.is_empty() { Value::Null } else { Value::from(value.as_str()) };
            fields.insert(name.to_owned(), value);
        }
    }
    if fields.is_empty() && args.start.is_none() && args.end.is_none() {
        return Err(Failure::new("nothing to change: give --title, --location, --start or --end"));
    }
    let store = store::open_existing(&args.store)?;
    let event = live_event(&store, &args.store, &args.event)?;
    let target = Target::find(&event, &args.span, Action::Edit)?;
    let timing = new_timing(target.timing(&event), args.start.as_deref(), args.end.as_deref())?;
    let edit = EventEdit { fields, timing, ..EventEdit::default() };
    store.edit_event(&event.id, &target.span, &edit)?;
    Ok(())
}

/// Runs `almanac delete`.
pub fn delete(args: &DeleteArgs) -> Result<(), Failure> {
    let store = store::open_existing(&args.store)?;
    let event = live_event(&store, &args.store, &args.event)?;
    let target = Target::find(&event, &args.span, Action::Delete)?;
    store.delete_event(&event.id, &target.span)?;
    Ok(())
}

/// Runs `almanac restore`.
pub fn restore(args: &RestoreArgs) -> Result<(), Failure> {
    let store = store::open_existing(&args.store)?;
    let id = text::one_line(&args.event);
    if let Some(text) = &args.occurrence {
        let event = live_event(&store, &args.store, &args.event)?;
        let original = find_occurrence(&event, text)?;
        let key = event.key_of(&original)?;
        if !event.overrides.get(&key).is_some_and(|patch| patch.cancelled) {
            return Err(Failure::new(format!(
                "--occurrence: the occurrence of event '{id}' at {} is not deleted; nothing to                  restore",
                text.trim()
            )));
        }
        store.restore_occurrence(&event.id, &original)?;
        return Ok(());
    }
    match store.find_any(EVENTS, &args.event)?.into_iter().next() {
        None => return Err(no_event(&args.store, &args.event)),
        Some(record) if !record.is_deleted() => {
            return Err(Failure::new(format!("event '{id}' is not deleted; nothing to restore")));
        }
        Some(_) => {}
    }
    store.restore_event(&args.event)?;
    Ok(())
}

/// A fresh event id: 128 random bits as 32 hex digits, so ids made on different devices
/// never meet.
fn new_event_id() -> Result<String, Failure> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|error| Failure::new(format!("cannot make an event id: {error}")))?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

/// The timing `base` becomes with the `--start` and `--end` arguments of `edit` (none when
/// neither is given). Values without an offset are read on the clock of the base start.
fn new_timing(
    base: Timing,
    start: Option<&str>,
    end: Option<&str>,
) -> Result<Option<Timing>, Failure> {
    let clock = Clock::of(&base.start)?;
    let start = start.map(|start| text::parse_event_time("--start", start, &clock)).transpose()?;
    Ok(match (start, end) {
        (None, None) => None,
        (Some(start), Some(end)) => Some(timing_to(start, end)?),
        (Some(start), None) => Some(keep_length(&base, start)?),
        (None, Some(end)) => Some(timing_to(base.start, end)?),
    })
}

/// The timing of an event given only its start: one day for a date, one hour for a time.
fn default_timing(start: TimeValue) -> Timing {
    let length = if start.is_date() {
        Duration { days: 1, ..Duration::default() }
    } else {
        Duration { seconds: 3600, ..Duration::default() }
    };
    Timing { start, end: End::After(length) }
}

/// The timing from `start` to the `--end` argument `end`, read on the start's clock (so
/// `--start 2026-03-10T09:00:00Z --end 2026-03-10T10:00` ends at 10:00 UTC).
fn timing_to(start: TimeValue, end: &str) -> Result<Timing, Failure> {
    let end_value = text::parse_event_time("--end", end, &Clock::of(&start)?)?;
    if end_value.is_date() != start.is_date() {
        return Err(Failure::new(format!(
            "--end: '{}' is {} but the start is {}; an all-day event ends on a date, a timed \
             event at a time",
            end.trim(),
            kind(&end_value),
            kind(&start)
        )));
    }
    let floating = |value: &TimeValue| matches!(value, TimeValue::Floating(_));
    if floating(&start) != floating(&end_value) {
        // The length of such an event would depend on where it is viewed.
        return Err(Failure::new(format!(
            "--end: '{}' is an instant but the start is a floating time; give the end without \
             an offset too, or place both in a zone with --zone",
            end.trim()
        )));
    }
    let timing = Timing { start, end: End::At(end_value) };
    // Refuses an end before the start.
    timing.validate().context("--end")?;
    Ok(timing)
}

fn kind(value: &TimeValue) -> &'static str {
    if value.is_date() { "a date" } else { "a time" }
}

/// `base` moved to `start`, keeping its length: a duration as it is, an end moved by as much
/// wall-clock time as the start (or, when the start changes zone, kept at the same exact length).
fn keep_length(base: &Timing, start: TimeValue) -> Result<Timing, Failure> {
    if start.is_date() != base.start.is_date() {
        return Err(Failure::new(format!(
            "--start: {start} is {} but the event starts at {}; give --end too, so the new \
             length is known",
            kind(&start),
            kind(&base.start)
        )));
    }
    let end = match &base.end {
        End::After(duration) => End::After(*duration),
        End::At(end) if same_clock(&start, &base.start) => {
            let moved = start.local().duration_since(base.start.local());
            let local = end.local().checked_add(moved).map_err(|error| {
                Failure::new(format!("--start: the end would be out of range: {error}"))
            })?;
            End::At(end.with_local(local)?)
        }
        End::At(end) => {
            let utc = TimeZone::UTC;
            let length = end.instant(&utc)?.duration_since(base.start.instant(&utc)?);
            End::After(Duration { seconds: length.as_secs(), ..Duration::default() })
        }
    };
    let timing = Timing { start, end };
    timing.validate().context("--start")?;
    Ok(timing)
}

/// Whether two times are read on the same clock (both floating, both UTC, or zoned in one zone).
fn same_clock(a: &TimeValue, b: &TimeValue) -> bool {
    match (a, b) {
        (TimeValue::Zoned { zone: x, .. }, TimeValue::Zoned { zone: y, .. }) => x == y,
        _ => std::mem::discriminant(a) == std::mem::discriminant(b),
    }
}

/// The live event `id`, or why there is none.
fn live_event(store: &Store, path: &Path, id: &str) -> Result<Event, Failure> {
    if let Some(event) = store.event(id)? {
        return Ok(event);
    }
    match store.find_any(EVENTS, id)?.into_iter().next() {
        Some(record) if record.is_deleted() => Err(Failure::new(format!(
            "event '{}' is deleted; `almanac restore` brings it back",
            text::one_line(id)
        ))),
        _ => Err(no_event(path, id)),
    }
}

fn no_event(path: &Path, id: &str) -> Failure {
    Failure::new(format!("no event '{}' in {}", text::one_line(id), path.display()))
}

/// What is being done to the occurrences, for the messages and the cancelled-occurrence rule.
#[derive(Clone, Copy, PartialEq)]
enum Action {
    Edit,
    Delete,
}

/// The occurrences a command applies to, checked against the event's schedule.
struct Target {
    span: Span,
    /// The occurrence named by --occurrence (its key and original start).
    occurrence: Option<(String, TimeValue)>,
}

impl Target {
    fn find(event: &Event, args: &SpanArgs, action: Action) -> Result<Target, Failure> {
        let Some(text) = &args.occurrence else {
            return Ok(Target { span: Span::All, occurrence: None });
        };
        let id = text::one_line(&event.id);
        if !event.is_recurring() {
            let verb = if action == Action::Edit { "edit" } else { "delete" };
            return Err(Failure::new(format!(
                "event '{id}' does not repeat; {verb} it without --occurrence"
            )));
        }
        let original = find_occurrence(event, text)?;
        let key = event.key_of(&original)?;
        let shown = shown(&original, &event.timing.start)?;
        if event.is_truncated(event.position(&key)?)? {
            return Err(Failure::new(format!(
                "--occurrence: the occurrence of event '{id}' at {shown} was deleted with the \
                 ones following it"
            )));
        }
        let cancelled = event.overrides.get(&key).is_some_and(|patch| patch.cancelled);
        if cancelled && !args.following {
            return Err(Failure::new(format!(
                "--occurrence: the occurrence of event '{id}' at {shown} is deleted"
            )));
        }
        let span = if args.following {
            Span::ThisAndFollowing(original.clone())
        } else {
            Span::This(original.clone())
        };
        Ok(Target { span, occurrence: Some((key, original)) })
    }

    /// The timing an edit of these occurrences starts from: the series', or the named
    /// occurrence's as shown now (earlier edits to it applied).
    fn timing(&self, event: &Event) -> Timing {
        let Some((key, original)) = &self.occurrence else { return event.timing.clone() };
        let shown = event
            .occurrences_from_keys([key.as_str()], Timestamp::MIN, Timestamp::MAX, &TimeZone::UTC)
            .ok()
            .and_then(|found| found.into_iter().next());
        match shown {
            Some(occurrence) => occurrence.timing,
            // A cancelled occurrence (named with --following) has no shown timing.
            None => Timing { start: original.clone(), end: event.timing.end.clone() },
        }
    }
}

/// The original start of the occurrence of `event` named by `text`.
fn find_occurrence(event: &Event, text: &str) -> Result<TimeValue, Failure> {
    let series_start = &event.timing.start;
    let id = text::one_line(&event.id);
    let named = match series_start {
        TimeValue::Date(_) => {
            let day = text::parse_day("--occurrence", text).map_err(|_| {
                Failure::new(format!(
                    "--occurrence: event '{id}' is all-day; name the occurrence by its date \
                     (YYYY-MM-DD), not '{}'",
                    text.trim()
                ))
            })?;
            TimeValue::Date(day)
        }
        // A floating occurrence is printed in the viewer's zone, at its own wall time.
        TimeValue::Floating(_) => {
            TimeValue::Floating(text::parse_wall_reading(text).ok_or_else(|| {
                Failure::new(format!(
                    "--occurrence: '{}' is not a start time (expected a date-time such as \
                     2026-01-19T09:00 or 2026-01-19T09:00:00+01:00)",
                    text.trim()
                ))
            })?)
        }
        TimeValue::Zoned { .. } | TimeValue::Utc(_) => {
            let value = text::parse_event_time("--occurrence", text, &Clock::of(series_start)?)?;
            if value.is_date() {
                return Err(Failure::new(format!(
                    "--occurrence: event '{id}' is not all-day; name the occurrence by its start \
                     time (such as 2026-01-19T09:00:00Z), not '{}'",
                    text.trim()
                )));
            }
            value
        }
    };
    // All-day and floating series are expanded for a viewer in UTC: their occurrences are
    // named by wall time, which any viewer zone would match alike.
    let utc = TimeZone::UTC;
    let at = named.instant(&utc)?;
    let after = at
        .checked_add(SignedDuration::from_secs(1))
        .map_err(|_| Failure::new(format!("--occurrence: '{}' is out of range", text.trim())))?;
    let set = RecurrenceSet {
        start: series_start.clone(),
        rule: event.rule.clone(),
        rdates: event.rdates.clone(),
        exdates: event.exdates.clone(),
    };
    if let Some(scheduled) = set.between(at, after, &utc)?.into_iter().find(|o| o.instant == at) {
        return Ok(scheduled.original);
    }
    // An occurrence moved by an earlier edit is listed by `agenda` at its new start; accept
    // that too, as long as it names one occurrence.
    let moved: Vec<TimeValue> = event
        .occurrences(at, after, &utc)?
        .into_iter()
        .filter(|occurrence| occurrence.start == at)
        .map(|occurrence| occurrence.original)
        .collect();
    match <[TimeValue; 1]>::try_from(moved) {
        Ok([original]) => Ok(original),
        Err(moved) if moved.is_empty() => Err(Failure::new(format!(
            "--occurrence: event '{id}' has no occurrence starting at {} (name an occurrence \
             by its original start, as `almanac agenda` prints it)",
            text.trim()
        ))),
        Err(_) => Err(Failure::new(format!(
            "--occurrence: several occurrences of event '{id}' were moved to {}; name one by \
             its original start",
            text.trim()
        ))),
    }
}

/// An original start as `almanac agenda` prints it: a date, or RFC 3339 in the series' zone.
fn shown(original: &TimeValue, series_start: &TimeValue) -> Result<String, Failure> {
    let utc = TimeZone::UTC;
    Ok(match original {
        TimeValue::Date(day) => text::date(*day),
        other => text::instant_in(other.instant(&utc)?, &series_start.zone(&utc)?),
    })
}
