//! The event model: what one calendar event holds, and how it maps onto a CRDT record.
//!
//! Each field is its own register so concurrent edits of different fields both apply (contract
//! case 1). `timing` (start, end or duration, zone, all-day) and `rule` are single registers, so a
//! move and an all-day change can never mix (case 3). Attendees and alarms are add-wins keyed maps
//! (cases 12, 13). Per-occurrence edits live in the `overrides` keyed map and "this and
//! following" edits in `range_patches`, both keyed by the occurrence's original start; series
//! truncation is the `truncate_at` min register (case 9).

use serde::{Deserialize, Serialize};

use super::recurrence::RecurrenceRule;
use super::time::{Duration, TimeValue};
use crate::error::{Error, Result};

/// The collection events live in.
pub const EVENTS: &str = "events";
/// The collection calendars live in.
pub const CALENDARS: &str = "calendars";

/// Register and keyed-map field names of an event record. They are part of the stored format.
pub mod fields {
    /// Which calendar the event belongs to (register, text).
    pub const CALENDAR: &str = "calendar";
    /// The iCalendar UID (register, text).
    pub const UID: &str = "uid";
    /// [`super::Timing`] (register, structured).
    pub const TIMING: &str = "timing";
    /// [`super::super::recurrence::RecurrenceRule`] or null (register, structured).
    pub const RULE: &str = "rule";
    /// Extra occurrences (keyed map by occurrence key; member field `value`).
    pub const RDATES: &str = "rdates";
    /// Excluded occurrences (keyed map by occurrence key; member field `value`).
    pub const EXDATES: &str = "exdates";
    /// Attendees (keyed map by normalised address).
    pub const ATTENDEES: &str = "attendees";
    /// Alarms (keyed map by alarm id).
    pub const ALARMS: &str = "alarms";
    /// Single-occurrence patches (keyed map by occurrence key).
    pub const OVERRIDES: &str = "overrides";
    /// "This and following" patches (keyed map by occurrence key).
    pub const RANGE_PATCHES: &str = "range_patches";
    /// The series has no occurrence at or after this occurrence key (min register, text).
    pub const TRUNCATE_AT: &str = "truncate_at";
    /// Of an occurrence imported without its series (a RECURRENCE-ID instance whose master was
    /// never seen), the start the occurrence has in that series and its length: a stand-in for
    /// `timing` until the series arrives (register, structured [`super::Timing`]). Decision 0021:
    /// the instance itself is stored as an override keyed by that start, so when the series'
    /// `timing` is written (a later import, or synced from another device) it becomes an
    /// ordinary override of that series with no further step.
    pub const DETACHED: &str = "detached_timing";
    /// iCalendar properties Almanac does not model, kept verbatim (register, structured).
    pub const UNKNOWN: &str = "unknown_properties";
    /// Prefix of the per-alarm acknowledgement max registers earlier versions wrote
    /// (`acknowledged/<alarm id>`); still read, never written (decision 0016).
    pub const ACKNOWLEDGED_PREFIX: &str = "acknowledged/";
    /// Member field of an alarm: when it was last dismissed (seconds; concurrent values merge
    /// by maximum when read; removed with the alarm).
    pub const ACKNOWLEDGED: &str = "acknowledged";
    /// Member field of an override marking the occurrence cancelled.
    pub const CANCELLED: &str = "cancelled";
    /// Member field of an rdate/exdate holding its time value.
    pub const VALUE: &str = "value";
    /// Member field of a cancelled override: what its canceller had seen of the override (a
    /// version vector, structured). Edits outside it were made concurrently with the cancel and
    /// are listed in the conflict log (case 6); a restore just clears `cancelled`, so the
    /// occurrence comes back exactly as it was.
    pub const CANCEL_SEEN: &str = "cancel_seen";
}

/// The value a wider edit ("all events", "this and following") writes into the fields of the
/// narrower edits its writer had seen: "no edit here, show the wider value". It is part of the
/// stored format (decision 0016); no user value is ever raw bytes, so it cannot be mistaken.
pub fn inherited() -> crate::Value {
    crate::Value::Bytes(INHERITED.to_vec())
}

const INHERITED: &[u8] = b"almanac:inherited";

/// Whether `value` is the [`inherited`] marker.
pub fn is_inherited(value: &crate::Value) -> bool {
    matches!(value, crate::Value::Bytes(bytes) if bytes == INHERITED)
}

/// When an event happens. One register: start, end or duration, zone and all-day flag change
/// together.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct Timing {
    /// The start: a date for all-day events, else a floating, zoned or UTC time.
    pub start: TimeValue,
    /// The end, exclusive.
    pub end: End,
}

/// How an event's end is given, kept as written.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum End {
    /// An explicit end (`DTEND`), of the same kind as the start.
    At(TimeValue),
    /// A duration (`DURATION`): nominal days follow the wall clock, hours are exact.
    After(Duration),
}

impl Timing {
    /// An all-day event from `start` for `days` days.
    pub fn all_day(start: jiff::civil::Date, days: i32) -> Timing {
        Timing {
            start: TimeValue::Date(start),
            end: End::After(Duration { days, ..Duration::default() }),
        }
    }

    /// Whether the event is all-day.
    pub fn is_all_day(&self) -> bool {
        self.start.is_date()
    }

    /// Checks that start and end agree: a date start needs a date end (or whole days), a timed
    /// start a timed end; the end is not before the start.
    pub fn validate(&self) -> Result<()> {
        let invalid = |why: &str| Err(Error::InvalidInput(format!("invalid event timing: {why}")));
        match &self.end {
            End::At(end) if end.is_date() != self.start.is_date() => {
                invalid("an all-day event needs a date end, a timed event a timed end")
            }
            End::At(end) if end.local() < self.start.local() && same_zone(end, &self.start) => {
                invalid("the end is before the start")
            }
            End::After(duration) if self.start.is_date() && duration.seconds != 0 => {
                invalid("an all-day event lasts whole days")
            }
            End::After(duration)
                if duration.weeks < 0 || duration.days < 0 || duration.seconds < 0 =>
            {
                invalid("the duration is negative")
            }
            _ => Ok(()),
        }
    }
}

fn same_zone(a: &TimeValue, b: &TimeValue) -> bool {
    match (a, b) {
        (TimeValue::Zoned { zone: x, .. }, TimeValue::Zoned { zone: y, .. }) => x == y,
        (TimeValue::Zoned { .. }, _) | (_, TimeValue::Zoned { .. }) => false,
        _ => true,
    }
}

/// An attendee's participation status (iCalendar `PARTSTAT`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum Participation {
    /// No answer yet.
    NeedsAction,
    /// Accepted.
    Accepted,
    /// Declined.
    Declined,
    /// Tentatively accepted.
    Tentative,
    /// Delegated to someone else.
    Delegated,
}

/// An attendee's role (iCalendar `ROLE`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum Role {
    /// Chairs the meeting.
    Chair,
    /// Required participant.
    Required,
    /// Optional participant.
    Optional,
    /// Copied for information only.
    NonParticipant,
}

/// One attendee.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Attendee {
    /// The address, normalised (`mailto:` lower-cased) — the key of the attendee map.
    pub address: String,
    /// Display name.
    pub name: Option<String>,
    /// Role.
    pub role: Role,
    /// Participation status.
    pub participation: Participation,
    /// Other iCalendar parameters of the attendee (`CUTYPE`, `RSVP`, `DELEGATED-TO`, `X-…`),
    /// kept as read so an export writes them back.
    pub params: Vec<(String, Vec<String>)>,
}

/// Normalises an attendee address into its map key: trimmed, `mailto:` scheme and address
/// lower-cased, so `MAILTO:Ann@Example.com` and `mailto:ann@example.com` are one attendee.
pub fn normalise_address(address: &str) -> Result<String> {
    let trimmed = address.trim();
    if trimmed.is_empty() {
        return Err(Error::InvalidInput("an attendee address must not be empty".into()));
    }
    let lower = trimmed.to_lowercase();
    Ok(if lower.starts_with("mailto:") {
        lower
    } else if lower.contains('@') && !lower.contains(':') {
        format!("mailto:{lower}")
    } else {
        trimmed.to_owned()
    })
}

/// One alarm.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Alarm {
    /// Stable id (the key of the alarm map).
    pub id: String,
    /// When it fires, relative to the occurrence start (negative = before).
    pub trigger: Duration,
    /// What it shows.
    pub description: Option<String>,
    /// When the user last dismissed it (iCalendar `ACKNOWLEDGED`); merges by maximum.
    pub acknowledged: Option<jiff::Timestamp>,
}

/// An iCalendar property Almanac does not model, kept as read (name, parameters, raw value) so
/// an export writes it back verbatim.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct RawProperty {
    /// The property name, upper case.
    pub name: String,
    /// The parameters, in file order: name and values.
    pub params: Vec<(String, Vec<String>)>,
    /// The raw (still escaped) value.
    pub value: String,
}

/// Which occurrences an edit or delete applies to.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Span {
    /// The whole series (or the single event).
    All,
    /// Only the occurrence with this original start.
    This(TimeValue),
    /// This occurrence and every later one.
    ThisAndFollowing(TimeValue),
}

/// A rule is needed for a series; `None` makes a single event.
pub type Rule = Option<RecurrenceRule>;
