//! The calendar's plain values as they cross the boundary, and their conversion from and to
//! the core's types. Records only: no behaviour beyond field-by-field conversion.

use std::collections::{BTreeMap, HashMap};

use almanac_core::Value;
use almanac_core::calendar::api::{EventEdit, NewEvent};
use almanac_core::calendar::conflicts::{EventConflicts, Shadow, ShadowedOccurrence};
use almanac_core::calendar::event::{Alarm, Attendee, Participation, Role, Span, Timing};
use almanac_core::calendar::ics::{ImportIssue, ImportReport};
use almanac_core::calendar::recurrence::RecurrenceRule;
use almanac_core::calendar::series::{Event, Occurrence};
use almanac_core::calendar::time::{Duration, TimeValue};
use almanac_core::crdt::FieldPath;

use crate::error::AlmanacError;
use crate::time::{EventEnd, EventTime, end_of, timing};

/// A calendar (each is its own space: the unit of sync and sharing).
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct CalendarInfo {
    /// The calendar's id.
    pub id: String,
    /// Its display name.
    pub name: Option<String>,
    /// Its colour (any text the app chooses, e.g. `#3366ff`).
    pub color: Option<String>,
    /// The IANA zone new events default to in the app.
    pub time_zone: Option<String>,
}

/// An attendee's role (iCalendar `ROLE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum AttendeeRole {
    /// Chairs the meeting.
    Chair,
    /// Required participant.
    Required,
    /// Optional participant.
    Optional,
    /// Copied for information only.
    NonParticipant,
}

/// An attendee's answer (iCalendar `PARTSTAT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum AttendeeStatus {
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

/// One attendee.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct EventAttendee {
    /// `mailto:ann@example.com` (a bare e-mail address gets `mailto:`; compared lower-cased).
    pub address: String,
    /// Display name.
    pub name: Option<String>,
    /// Role.
    pub role: AttendeeRole,
    /// Answer.
    pub status: AttendeeStatus,
}

/// One alarm.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct EventAlarm {
    /// Stable id, unique within the event.
    pub id: String,
    /// Seconds relative to the occurrence's start (negative: before).
    pub offset_seconds: i64,
    /// What it shows.
    pub description: Option<String>,
}

/// The text fields of an event. `None` means "not set".
#[derive(Clone, Debug, PartialEq, Default, uniffi::Record)]
pub struct EventFields {
    /// Title.
    pub title: Option<String>,
    /// Location.
    pub location: Option<String>,
    /// Notes.
    pub notes: Option<String>,
    /// A link.
    pub url: Option<String>,
    /// `CONFIRMED`, `TENTATIVE` or `CANCELLED` (iCalendar `STATUS`).
    pub status: Option<String>,
    /// `BUSY` or `FREE` (iCalendar `TRANSP`).
    pub availability: Option<String>,
    /// The event's own colour.
    pub color: Option<String>,
    /// The organiser's address.
    pub organizer: Option<String>,
}

/// A new event.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct NewEventInput {
    /// The event's id (a UUID is a good choice); unique in the store.
    pub id: String,
    /// The calendar it goes into (created if the store does not hold it yet).
    pub calendar: String,
    /// When it starts.
    pub start: EventTime,
    /// When it ends.
    pub end: EventEnd,
    /// An RFC 5545 `RRULE` value such as `FREQ=WEEKLY;BYDAY=MO,WE`, or `None` for a single event.
    pub rule: Option<String>,
    /// Extra occurrences (`RDATE`).
    pub rdates: Vec<EventTime>,
    /// Excluded occurrences (`EXDATE`).
    pub exdates: Vec<EventTime>,
    /// Title, location...
    pub fields: EventFields,
    /// Attendees.
    pub attendees: Vec<EventAttendee>,
    /// Alarms.
    pub alarms: Vec<EventAlarm>,
}

/// A change to one text field.
#[derive(Clone, Debug, PartialEq, uniffi::Enum)]
pub enum FieldChange {
    /// Set the field.
    Set {
        /// The new value.
        value: String,
    },
    /// Clear it.
    Clear,
}

/// A change to the recurrence rule (whole series only).
#[derive(Clone, Debug, PartialEq, uniffi::Enum)]
pub enum RuleChange {
    /// Repeat by this `RRULE` value.
    Set {
        /// `FREQ=...`.
        rule: String,
    },
    /// Stop repeating: a single event.
    Remove,
}

/// An edit: only what is given changes.
#[derive(Clone, Debug, PartialEq, Default, uniffi::Record)]
pub struct EventChanges {
    /// Field changes by name (`title`, `location`, `notes`, `url`, `status`, `availability`,
    /// `color`, `organizer`).
    pub fields: HashMap<String, FieldChange>,
    /// A new start (with `end`; both or neither).
    pub start: Option<EventTime>,
    /// A new end.
    pub end: Option<EventEnd>,
    /// A new rule (whole series only).
    pub rule: Option<RuleChange>,
    /// Attendees to add or update (whole series only).
    pub set_attendees: Vec<EventAttendee>,
    /// Attendee addresses to remove (whole series only).
    pub remove_attendees: Vec<String>,
    /// Alarms to add or update (whole series only).
    pub set_alarms: Vec<EventAlarm>,
    /// Alarm ids to remove (whole series only).
    pub remove_alarms: Vec<String>,
}

/// Which occurrences an edit or delete applies to. An occurrence is named by its original
/// start ([`OccurrenceInfo::original`]).
#[derive(Clone, Debug, PartialEq, uniffi::Enum)]
pub enum EditSpan {
    /// The whole series (or the single event).
    All,
    /// Only this occurrence.
    This {
        /// Its original start.
        occurrence: EventTime,
    },
    /// This occurrence and every later one.
    ThisAndFollowing {
        /// Its original start.
        occurrence: EventTime,
    },
}

/// An event as stored (the series, not its occurrences).
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct EventDetails {
    /// The event's id.
    pub id: String,
    /// Its calendar.
    pub calendar: String,
    /// The iCalendar UID.
    pub uid: String,
    /// The series' first start.
    pub start: EventTime,
    /// Its end.
    pub end: EventEnd,
    /// Whether it is all-day.
    pub all_day: bool,
    /// The `RRULE` value, if it repeats.
    pub rule: Option<String>,
    /// Extra occurrences.
    pub rdates: Vec<EventTime>,
    /// Excluded occurrences.
    pub exdates: Vec<EventTime>,
    /// Title, location...
    pub fields: EventFields,
    /// Attendees.
    pub attendees: Vec<EventAttendee>,
    /// Alarms.
    pub alarms: Vec<EventAlarm>,
}

/// One occurrence in a window, with every edit applied.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct OccurrenceInfo {
    /// The event's id.
    pub event_id: String,
    /// Its original start: what names it in edits and deletes ([`EditSpan`]).
    pub original: EventTime,
    /// Its start as written (after edits).
    pub start: EventTime,
    /// Its end as written.
    pub end: EventEnd,
    /// Whether it is all-day.
    pub all_day: bool,
    /// Its start for the viewer (Unix seconds).
    pub start_epoch_seconds: i64,
    /// Its end for the viewer (Unix seconds, exclusive).
    pub end_epoch_seconds: i64,
    /// Title, location... after edits.
    pub fields: EventFields,
}

/// A window of occurrences to read.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct OccurrenceQuery {
    /// Start of the window (Unix seconds, inclusive).
    pub from_epoch_seconds: i64,
    /// End of the window (Unix seconds, exclusive).
    pub to_epoch_seconds: i64,
    /// Only these calendars (all when empty).
    pub calendars: Vec<String>,
    /// The zone all-day and floating events are read in (the viewer's).
    pub viewer_zone: String,
}

/// Where a conflicting value sits in an event record.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct ConflictPath {
    /// The field (`title`, `timing`...) or, for a member, the map (`overrides`, `attendees`...).
    pub field: String,
    /// The member's key (an occurrence key, an attendee address), for a member field.
    pub key: Option<String>,
    /// The member's field, for a member field.
    pub member_field: Option<String>,
}

/// One value of a conflict, readable.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct ConflictValue {
    /// The value as text (a time as `start – end`, a rule as its `RRULE` text).
    pub text: String,
}

/// A field with concurrent values.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct FieldConflictInfo {
    /// Which field.
    pub path: ConflictPath,
    /// The value shown (every device shows the same one).
    pub shown: ConflictValue,
    /// The values not shown.
    pub candidates: Vec<ConflictValue>,
}

/// Why an occurrence's edits are not shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum ShadowReason {
    /// The occurrence was cancelled concurrently with the edit (restore the occurrence).
    Cancelled,
    /// The series was cut before it concurrently with the edit.
    Truncated,
    /// The schedule changed and no occurrence has that original start any more.
    Orphaned,
    /// A "this and following" edit no occurrence shows.
    Hidden,
}

/// Occurrence edits the app cannot currently see.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct ShadowedOccurrenceInfo {
    /// The occurrence's original start, when the event is live (for `restore_occurrence`).
    pub original: Option<EventTime>,
    /// A "this and following" edit (else one occurrence's).
    pub following: bool,
    /// Why it is hidden.
    pub reason: ShadowReason,
    /// The hidden field values, readable.
    pub fields: HashMap<String, String>,
    /// Whether it cancels its occurrence.
    pub cancelled: bool,
}

/// One event's entry in the conflict log.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct EventConflictInfo {
    /// The event's id.
    pub event_id: String,
    /// Whether the event is deleted (restore it to see the edits its delete hid).
    pub deleted: bool,
    /// Fields with concurrent values.
    pub fields: Vec<FieldConflictInfo>,
    /// How many edits were made concurrently with the delete.
    pub edits_hidden_by_delete: u32,
    /// Occurrence edits hidden by a cancel, a truncation or a schedule change.
    pub occurrences: Vec<ShadowedOccurrenceInfo>,
}

/// How a field conflict is resolved.
#[derive(Clone, Debug, PartialEq, uniffi::Enum)]
pub enum ConflictResolution {
    /// Keep the shown value (the others are dropped from the log).
    KeepShown,
    /// Choose the candidate at this index of [`FieldConflictInfo::candidates`].
    Candidate {
        /// Index into `candidates`.
        index: u32,
    },
    /// Write this text instead (text fields only).
    Text {
        /// The value.
        value: String,
    },
}

/// An override whose occurrence no longer exists (the rule or start changed).
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct OrphanedOverride {
    /// Its occurrence's original start.
    pub original: EventTime,
    /// Its field values, readable.
    pub fields: HashMap<String, String>,
    /// Whether it cancelled its occurrence.
    pub cancelled: bool,
}

/// One problem met while importing; the item was skipped or read with an assumption.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct ImportIssueInfo {
    /// The line in the file, where known.
    pub line: Option<u64>,
    /// The UID of the event concerned, where known.
    pub uid: Option<String>,
    /// What happened.
    pub message: String,
}

/// What an import did.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct ImportReportInfo {
    /// Events (series or single) imported or updated.
    pub events: u64,
    /// Problems, in file order.
    pub issues: Vec<ImportIssueInfo>,
}

// ---- conversions ----

const FIELD_NAMES: [&str; 8] =
    ["title", "location", "notes", "url", "status", "availability", "color", "organizer"];

impl EventFields {
    fn entries(&self) -> [(&'static str, &Option<String>); 8] {
        [
            (FIELD_NAMES[0], &self.title),
            (FIELD_NAMES[1], &self.location),
            (FIELD_NAMES[2], &self.notes),
            (FIELD_NAMES[3], &self.url),
            (FIELD_NAMES[4], &self.status),
            (FIELD_NAMES[5], &self.availability),
            (FIELD_NAMES[6], &self.color),
            (FIELD_NAMES[7], &self.organizer),
        ]
    }

    pub(crate) fn from_values(values: &BTreeMap<String, Value>) -> Self {
        let text = |name: &str| values.get(name).and_then(Value::as_text).map(str::to_owned);
        EventFields {
            title: text("title"),
            location: text("location"),
            notes: text("notes"),
            url: text("url"),
            status: text("status"),
            availability: text("availability"),
            color: text("color"),
            organizer: text("organizer"),
        }
    }
}

fn rule(text: &str) -> Result<RecurrenceRule, AlmanacError> {
    let rule = RecurrenceRule::parse(text)?;
    rule.validate()?;
    Ok(rule)
}

fn time_values(times: &[EventTime]) -> Result<Vec<TimeValue>, AlmanacError> {
    times.iter().map(TimeValue::try_from).collect()
}

impl From<AttendeeRole> for Role {
    fn from(role: AttendeeRole) -> Self {
        match role {
            AttendeeRole::Chair => Role::Chair,
            AttendeeRole::Required => Role::Required,
            AttendeeRole::Optional => Role::Optional,
            AttendeeRole::NonParticipant => Role::NonParticipant,
        }
    }
}

impl From<Role> for AttendeeRole {
    fn from(role: Role) -> Self {
        match role {
            Role::Chair => AttendeeRole::Chair,
            Role::Required => AttendeeRole::Required,
            Role::Optional => AttendeeRole::Optional,
            Role::NonParticipant => AttendeeRole::NonParticipant,
        }
    }
}

impl From<AttendeeStatus> for Participation {
    fn from(status: AttendeeStatus) -> Self {
        match status {
            AttendeeStatus::NeedsAction => Participation::NeedsAction,
            AttendeeStatus::Accepted => Participation::Accepted,
            AttendeeStatus::Declined => Participation::Declined,
            AttendeeStatus::Tentative => Participation::Tentative,
            AttendeeStatus::Delegated => Participation::Delegated,
        }
    }
}

impl From<Participation> for AttendeeStatus {
    fn from(status: Participation) -> Self {
        match status {
            Participation::NeedsAction => AttendeeStatus::NeedsAction,
            Participation::Accepted => AttendeeStatus::Accepted,
            Participation::Declined => AttendeeStatus::Declined,
            Participation::Tentative => AttendeeStatus::Tentative,
            Participation::Delegated => AttendeeStatus::Delegated,
        }
    }
}

impl From<&EventAttendee> for Attendee {
    fn from(a: &EventAttendee) -> Self {
        Attendee {
            address: a.address.clone(),
            name: a.name.clone(),
            role: a.role.into(),
            participation: a.status.into(),
            params: Vec::new(),
        }
    }
}

impl From<&Attendee> for EventAttendee {
    fn from(a: &Attendee) -> Self {
        EventAttendee {
            address: a.address.clone(),
            name: a.name.clone(),
            role: a.role.into(),
            status: a.participation.into(),
        }
    }
}

impl From<&EventAlarm> for Alarm {
    fn from(a: &EventAlarm) -> Self {
        Alarm {
            id: a.id.clone(),
            trigger: Duration { weeks: 0, days: 0, seconds: a.offset_seconds },
            description: a.description.clone(),
            acknowledged: None,
        }
    }
}

impl From<&Alarm> for EventAlarm {
    fn from(a: &Alarm) -> Self {
        let d = &a.trigger;
        let days = i64::from(d.weeks) * 7 + i64::from(d.days);
        EventAlarm {
            id: a.id.clone(),
            offset_seconds: days.saturating_mul(86_400).saturating_add(d.seconds),
            description: a.description.clone(),
        }
    }
}

impl TryFrom<&NewEventInput> for NewEvent {
    type Error = AlmanacError;

    fn try_from(input: &NewEventInput) -> Result<Self, AlmanacError> {
        let fields = input
            .fields
            .entries()
            .into_iter()
            .filter_map(|(name, value)| Some((name.to_owned(), Value::from(value.clone()?))))
            .collect();
        Ok(NewEvent {
            id: input.id.clone(),
            calendar: input.calendar.clone(),
            uid: None,
            timing: timing(&input.start, &input.end)?,
            rule: input.rule.as_deref().map(rule).transpose()?,
            rdates: time_values(&input.rdates)?,
            exdates: time_values(&input.exdates)?,
            fields,
            attendees: input.attendees.iter().map(Attendee::from).collect(),
            alarms: input.alarms.iter().map(Alarm::from).collect(),
            unknown_properties: Vec::new(),
        })
    }
}

impl TryFrom<&EventChanges> for EventEdit {
    type Error = AlmanacError;

    fn try_from(changes: &EventChanges) -> Result<Self, AlmanacError> {
        let timing = match (&changes.start, &changes.end) {
            (Some(start), Some(end)) => Some(timing(start, end)?),
            (None, None) => None,
            _ => {
                return Err(AlmanacError::invalid(
                    "a new start needs a new end and the other way round: give both",
                ));
            }
        };
        let fields = changes
            .fields
            .iter()
            .map(|(name, change)| {
                let value = match change {
                    FieldChange::Set { value } => Value::from(value.clone()),
                    FieldChange::Clear => Value::Null,
                };
                (name.clone(), value)
            })
            .collect();
        let rule = match &changes.rule {
            None => None,
            Some(RuleChange::Remove) => Some(None),
            Some(RuleChange::Set { rule: text }) => Some(Some(rule(text)?)),
        };
        Ok(EventEdit {
            fields,
            timing,
            rule,
            set_attendees: changes.set_attendees.iter().map(Attendee::from).collect(),
            remove_attendees: changes.remove_attendees.clone(),
            set_alarms: changes.set_alarms.iter().map(Alarm::from).collect(),
            remove_alarms: changes.remove_alarms.clone(),
        })
    }
}

impl TryFrom<&EditSpan> for Span {
    type Error = AlmanacError;

    fn try_from(span: &EditSpan) -> Result<Self, AlmanacError> {
        Ok(match span {
            EditSpan::All => Span::All,
            EditSpan::This { occurrence } => Span::This(occurrence.try_into()?),
            EditSpan::ThisAndFollowing { occurrence } => {
                Span::ThisAndFollowing(occurrence.try_into()?)
            }
        })
    }
}

impl From<&Event> for EventDetails {
    fn from(event: &Event) -> Self {
        EventDetails {
            id: event.id.to_string(),
            calendar: event.calendar.clone(),
            uid: event.uid.clone(),
            start: (&event.timing.start).into(),
            end: end_of(&event.timing),
            all_day: event.timing.is_all_day(),
            rule: event.rule.as_ref().map(ToString::to_string),
            rdates: event.rdates.iter().map(EventTime::from).collect(),
            exdates: event.exdates.iter().map(EventTime::from).collect(),
            fields: EventFields::from_values(&event.fields),
            attendees: event.attendees.iter().map(EventAttendee::from).collect(),
            alarms: event.alarms.iter().map(EventAlarm::from).collect(),
        }
    }
}

impl From<&Occurrence> for OccurrenceInfo {
    fn from(o: &Occurrence) -> Self {
        OccurrenceInfo {
            event_id: o.event_id.to_string(),
            original: (&o.original).into(),
            start: (&o.timing.start).into(),
            end: end_of(&o.timing),
            all_day: o.timing.is_all_day(),
            start_epoch_seconds: o.start.as_second(),
            end_epoch_seconds: o.end.as_second(),
            fields: EventFields::from_values(&o.fields),
        }
    }
}

impl From<&FieldPath> for ConflictPath {
    fn from(path: &FieldPath) -> Self {
        match path {
            FieldPath::Register(field) | FieldPath::Min(field) | FieldPath::Max(field) => {
                ConflictPath { field: field.clone(), key: None, member_field: None }
            }
            FieldPath::Member(field, key, member) => ConflictPath {
                field: field.clone(),
                key: Some(key.clone()),
                member_field: Some(member.clone()),
            },
        }
    }
}

/// A stored value as a person would read it. Structured values are the event's timing or
/// rule; anything else structured is named by its kind.
pub(crate) fn describe(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Text(t) => t.clone(),
        Value::Bytes(b) => format!("<{} bytes>", b.len()),
        Value::Structured(_) => {
            if let Ok(timing) = value.decode::<Timing>() {
                let end = match end_of(&timing) {
                    EventEnd::At { time } => display_time(&time),
                    EventEnd::After { days, seconds } => format!("+{days}d {seconds}s"),
                };
                format!("{} – {end}", timing.start)
            } else if let Ok(rule) = value.decode::<RecurrenceRule>() {
                rule.to_string()
            } else {
                format!("<{}>", value.kind_name())
            }
        }
    }
}

fn display_time(time: &EventTime) -> String {
    TimeValue::try_from(time).map(|t| t.to_string()).unwrap_or_default()
}

pub(crate) fn describe_all(values: &BTreeMap<String, Value>) -> HashMap<String, String> {
    values.iter().map(|(k, v)| (k.clone(), describe(v))).collect()
}

pub(crate) fn shadowed(o: &ShadowedOccurrence, event: Option<&Event>) -> ShadowedOccurrenceInfo {
    ShadowedOccurrenceInfo {
        original: event.and_then(|e| e.original(&o.key).ok()).as_ref().map(EventTime::from),
        following: o.following,
        reason: match o.reason {
            Shadow::Cancelled => ShadowReason::Cancelled,
            Shadow::Truncated => ShadowReason::Truncated,
            Shadow::Orphaned => ShadowReason::Orphaned,
            Shadow::Hidden => ShadowReason::Hidden,
        },
        fields: describe_all(&o.fields),
        cancelled: o.cancelled,
    }
}

pub(crate) fn conflict_entry(entry: &EventConflicts, event: Option<&Event>) -> EventConflictInfo {
    EventConflictInfo {
        event_id: entry.event_id.clone(),
        deleted: entry.deleted,
        fields: entry
            .fields
            .iter()
            .map(|f| FieldConflictInfo {
                path: (&f.path).into(),
                shown: ConflictValue { text: describe(&f.shown) },
                candidates: f
                    .candidates
                    .iter()
                    .map(|v| ConflictValue { text: describe(v) })
                    .collect(),
            })
            .collect(),
        edits_hidden_by_delete: u32::try_from(entry.shadowed_by_delete.len()).unwrap_or(u32::MAX),
        occurrences: entry.occurrences.iter().map(|o| shadowed(o, event)).collect(),
    }
}

impl ConflictPath {
    pub(crate) fn to_core(&self) -> Result<FieldPath, AlmanacError> {
        Ok(match (&self.key, &self.member_field) {
            (None, None) => FieldPath::Register(self.field.clone()),
            (Some(key), Some(member)) => {
                FieldPath::Member(self.field.clone(), key.clone(), member.clone())
            }
            _ => {
                return Err(AlmanacError::invalid(
                    "a conflict path names a member with both its key and its member field",
                ));
            }
        })
    }
}

impl From<ImportReport> for ImportReportInfo {
    fn from(report: ImportReport) -> Self {
        ImportReportInfo {
            events: report.events as u64,
            issues: report.issues.iter().map(ImportIssueInfo::from).collect(),
        }
    }
}

impl From<&ImportIssue> for ImportIssueInfo {
    fn from(issue: &ImportIssue) -> Self {
        ImportIssueInfo {
            line: issue.line.map(|l| l as u64),
            uid: issue.uid.clone(),
            message: issue.message.clone(),
        }
    }
}
