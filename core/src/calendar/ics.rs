//! iCalendar import and export: VEVENTs to and from the event model.
//!
//! Import is lenient: every problem is reported per item (with its line where known) and the
//! rest is imported. A VEVENT with a RECURRENCE-ID becomes an override (only the fields that
//! differ from the series are stored, so later series edits still reach it); with
//! `RANGE=THISANDFUTURE` it becomes a range patch; `STATUS:CANCELLED` cancels the occurrence.
//! Events are stored under their UID, so importing a file again updates instead of duplicating.
//!
//! Export is strict RFC 5545: a VTIMEZONE for every zone used, derived `DTSTAMP`,
//! `LAST-MODIFIED` and `SEQUENCE`, unknown properties written back verbatim. Range patches and
//! truncation are written as physical splits: the series ends with UNTIL before the split and a
//! derived series `<uid>-R<key>` starts there (deterministic, so identical splits never
//! duplicate); a COUNT is converted to UNTIL on both parts so the total does not double.

use std::collections::BTreeMap;

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use super::api::{NewEvent, new_event_operations, patch_operations, people_operations};
use super::event::{
    Alarm, Attendee, EVENTS, End, Participation, RawProperty, Role, Timing, fields,
    normalise_address,
};
use super::ical::{
    self, Component, Param, Property, RDate, ZoneResolver, duration, duration_property, format_utc,
    recurrence_id, recurrence_id_property, time_list, time_list_properties, time_property,
    time_value,
};
use super::recurrence::{RecurrenceRule, RecurrenceSet};
use super::series::{Event, Patch, read_event};
use super::time::{Duration, TimeValue};
use crate::crdt::{MvRegister, RecordKey, RecordState, Write};
use crate::error::{Error, Result};
use crate::replica::Operation;
use crate::{Store, Value};

/// Import progress, reported after each batch of events.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ImportProgress {
    /// Events (series with their overrides) processed so far.
    pub done: usize,
    /// Events in the file.
    pub total: usize,
}

/// One problem met while importing; the item was skipped or read with an assumption.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ImportIssue {
    /// The line in the file, where known.
    pub line: Option<usize>,
    /// The UID of the event concerned, where known.
    pub uid: Option<String>,
    /// What happened.
    pub message: String,
}

/// What became of one VEVENT of an imported file.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum VeventFate {
    /// It is the event `event` (a single event, a series, or an occurrence imported without
    /// its series, which becomes an override of the series when that arrives).
    Imported {
        /// The record id.
        event: String,
    },
    /// It was merged into the series `event` as an override or a "this and following" edit.
    Override {
        /// The series' record id.
        event: String,
    },
    /// Another VEVENT of the file with its UID replaces it (RFC 5546: a higher SEQUENCE, then a
    /// later DTSTAMP; or an identical copy).
    Superseded {
        /// The line of the VEVENT that replaces it, where known.
        by_line: Option<usize>,
    },
    /// It was not imported; the reason is also in the report's issues.
    NotImported {
        /// Why.
        reason: String,
    },
}

/// One VEVENT of the file and what became of it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct VeventOutcome {
    /// The line of its `BEGIN:VEVENT`, where known.
    pub line: Option<usize>,
    /// Its UID (or the one derived for it when it had none).
    pub uid: String,
    /// What became of it.
    pub fate: VeventFate,
}

/// How many VEVENTs of a file met each fate. `imported + overrides + superseded + not_imported
/// == read` always holds: nothing in a file is lost without the caller being told.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct ImportCounts {
    /// VEVENTs in the file.
    pub read: usize,
    /// Became an event of their own.
    pub imported: usize,
    /// Merged into their series as an override or "this and following" edit.
    pub overrides: usize,
    /// Replaced by a newer or identical copy in the same file.
    pub superseded: usize,
    /// Not imported (each with an issue saying why).
    pub not_imported: usize,
}

/// What an import did.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct ImportReport {
    /// Events (series or single) imported or updated.
    pub events: usize,
    /// Every VEVENT of the file in file order, with what became of it.
    pub vevents: Vec<VeventOutcome>,
    /// Problems, in file order.
    pub issues: Vec<ImportIssue>,
}

impl ImportReport {
    /// The VEVENTs read and what became of them, counted.
    pub fn counts(&self) -> ImportCounts {
        let mut counts = ImportCounts { read: self.vevents.len(), ..ImportCounts::default() };
        for outcome in &self.vevents {
            match outcome.fate {
                VeventFate::Imported { .. } => counts.imported += 1,
                VeventFate::Override { .. } => counts.overrides += 1,
                VeventFate::Superseded { .. } => counts.superseded += 1,
                VeventFate::NotImported { .. } => counts.not_imported += 1,
            }
        }
        counts
    }
}

/// The most dates a second RRULE or an EXRULE is turned into: the model has one rule per event
/// (decision 0021), so further rules become RDATEs and EXDATEs, and an endless one is cut here
/// (reported) rather than stored as an unbounded list.
const MATERIALISED: usize = 1000;

/// Events written per transaction: large enough to amortise the commit, small enough to report
/// progress often and keep the transaction's memory small.
const BATCH: usize = 500;

/// Properties the event model reads; everything else on a VEVENT is kept verbatim.
const MODELLED: &[&str] = &[
    "UID",
    "DTSTART",
    "DTEND",
    "DURATION",
    "RRULE",
    "EXRULE",
    "RDATE",
    "EXDATE",
    "RECURRENCE-ID",
    "SUMMARY",
    "LOCATION",
    "DESCRIPTION",
    "URL",
    "STATUS",
    "TRANSP",
    "COLOR",
    "ORGANIZER",
    "ATTENDEE",
    // Derived on export, never stored.
    "DTSTAMP",
    "LAST-MODIFIED",
    "SEQUENCE",
];

const TEXT_FIELDS: &[(&str, &str)] = &[
    ("SUMMARY", "title"),
    ("LOCATION", "location"),
    ("DESCRIPTION", "notes"),
    ("URL", "url"),
    ("STATUS", "status"),
    ("TRANSP", "availability"),
    ("COLOR", "color"),
    ("ORGANIZER", "organizer"),
];

struct Reader<'a> {
    zones: &'a ZoneResolver,
    issues: &'a mut Vec<ImportIssue>,
    uid: Option<String>,
    /// The line of the VEVENT being read, for messages.
    line: Option<usize>,
}

impl Reader<'_> {
    fn issue(&mut self, message: impl Into<String>) {
        self.issues.push(ImportIssue {
            line: self.line,
            uid: self.uid.clone(),
            message: message.into(),
        });
    }

    fn lenient<T>(&mut self, what: &str, value: ical::Lenient<T>) -> T {
        for issue in value.issues {
            // The value layer's messages usually name the property already.
            if issue.starts_with(what) {
                self.issue(issue);
            } else {
                self.issue(format!("{what}: {issue}"));
            }
        }
        value.value
    }

    fn time(&mut self, property: &Property) -> Result<TimeValue> {
        let value = time_value(property, self.zones)?;
        Ok(self.lenient(&property.name, value))
    }

    /// The text fields of a VEVENT (as stored: SUMMARY under `title`, ...).
    fn texts(&mut self, vevent: &Component) -> BTreeMap<String, Value> {
        let mut out = BTreeMap::new();
        for (property, field) in TEXT_FIELDS {
            if let Some(p) = vevent.property(property) {
                let text = match *property {
                    // Values that are not TEXT keep their raw form.
                    "URL" | "ORGANIZER" => p.value.clone(),
                    // Enumerated values: one spelling, whatever the producer's case.
                    "STATUS" | "TRANSP" => p.text().to_ascii_uppercase(),
                    _ => p.text(),
                };
                out.insert((*field).to_owned(), Value::Text(text));
                if *property == "ORGANIZER" {
                    if let Some(name) = p.param_value("CN") {
                        out.insert("organizer_name".to_owned(), Value::from(name));
                    }
                }
            }
        }
        out
    }

    fn timing(&mut self, vevent: &Component) -> Result<Timing> {
        let start_property = vevent
            .property("DTSTART")
            .ok_or_else(|| Error::InvalidInput("the event has no DTSTART".into()))?;
        let start = self.time(start_property)?;
        let end = if let Some(end) = vevent.property("DTEND") {
            let mut end = self.time(end)?;
            if end.is_date() != start.is_date() {
                self.issue("DTEND and DTSTART differ in type; DTEND taken as the same type");
                end = start.with_local(end.local())?;
            }
            End::At(end)
        } else if let Some(length) = vevent.property("DURATION") {
            End::After(duration(length)?)
        } else if start.is_date() {
            End::After(Duration { days: 1, ..Duration::default() })
        } else {
            End::After(Duration::default())
        };
        let timing = Timing { start, end };
        if timing.validate().is_err() {
            self.issue("the event ends before it starts; its end was set to its start");
            return Ok(Timing { start: timing.start, end: End::After(Duration::default()) });
        }
        Ok(timing)
    }

    fn attendees(&mut self, vevent: &Component) -> Vec<Attendee> {
        let mut out = Vec::new();
        for p in vevent.properties_named("ATTENDEE") {
            let Ok(address) = normalise_address(&p.value) else {
                self.issue("an ATTENDEE without an address was skipped");
                continue;
            };
            let role = match p.param_value("ROLE").map(str::to_ascii_uppercase).as_deref() {
                Some("CHAIR") => Role::Chair,
                Some("OPT-PARTICIPANT") => Role::Optional,
                Some("NON-PARTICIPANT") => Role::NonParticipant,
                _ => Role::Required,
            };
            let participation =
                match p.param_value("PARTSTAT").map(str::to_ascii_uppercase).as_deref() {
                    Some("ACCEPTED") => Participation::Accepted,
                    Some("DECLINED") => Participation::Declined,
                    Some("TENTATIVE") => Participation::Tentative,
                    Some("DELEGATED") => Participation::Delegated,
                    _ => Participation::NeedsAction,
                };
            let modelled = ["CN", "ROLE", "PARTSTAT"];
            let params = p
                .params
                .iter()
                .filter(|param| !modelled.contains(&param.name.as_str()))
                .map(|param| (param.name.clone(), param.values.clone()))
                .collect();
            out.push(Attendee {
                address,
                name: p.param_value("CN").map(str::to_owned),
                role,
                participation,
                params,
            });
        }
        out
    }

    fn alarms(&mut self, vevent: &Component) -> Vec<Alarm> {
        let mut out = Vec::new();
        for (index, valarm) in vevent.components_named("VALARM").enumerate() {
            let Some(trigger) = valarm.property("TRIGGER") else {
                self.issue("a VALARM without TRIGGER was skipped");
                continue;
            };
            if trigger.param_value("VALUE").is_some_and(|v| v.eq_ignore_ascii_case("DATE-TIME")) {
                self.issue("a VALARM with an absolute trigger was skipped (only relative triggers are supported)");
                continue;
            }
            let Ok(trigger) = duration(trigger) else {
                self.issue(format!(
                    "a VALARM trigger '{}' is not a duration; skipped",
                    trigger.value
                ));
                continue;
            };
            let id = valarm
                .property("UID")
                .or_else(|| valarm.property("X-WR-ALARMUID"))
                .map(|p| p.value.clone())
                .unwrap_or_else(|| format!("alarm-{}", index + 1));
            let description = valarm.property("DESCRIPTION").map(Property::text);
            let acknowledged = valarm.property("ACKNOWLEDGED").and_then(|p| {
                let read = ical::parse_date_time(&p.value).ok().filter(|(_, utc)| *utc);
                let at = read.and_then(|(local, _)| TimeZone::UTC.to_timestamp(local).ok());
                if at.is_none() {
                    self.issue(format!(
                        "ACKNOWLEDGED '{}' is not a UTC date-time; ignored",
                        p.value
                    ));
                }
                at
            });
            out.push(Alarm { id, trigger, description, acknowledged });
        }
        out
    }
}

fn raw(property: &Property) -> RawProperty {
    RawProperty {
        name: property.name.clone(),
        params: property.params.iter().map(|p| (p.name.clone(), p.values.clone())).collect(),
        value: property.value.clone(),
    }
}

fn unraw(property: &RawProperty) -> Property {
    Property {
        name: property.name.clone(),
        params: property
            .params
            .iter()
            .map(|(name, values)| Param { name: name.clone(), values: values.clone() })
            .collect(),
        value: property.value.clone(),
    }
}

/// A VEVENT's series part, read into a new event, with the RDATE periods whose length differs
/// from the series' (each becomes an override giving that occurrence its own end).
fn read_master(
    reader: &mut Reader<'_>,
    calendar: &str,
    id: &str,
    vevent: &Component,
) -> Result<(NewEvent, Vec<(TimeValue, Timing)>)> {
    let timing = reader.timing(vevent)?;
    let mut rules = Vec::new();
    for p in vevent.properties_named("RRULE") {
        if let Some(rule) = salvage_rule(reader, "RRULE", &p.value) {
            rules.push(rule);
        }
    }
    let mut rules = rules.into_iter();
    // Stored with UNTIL of DTSTART's type where that is the same bound (decision 0010 reads a
    // DATE UNTIL on a timed series as its whole local day), so what is exported is what was
    // imported. An instant on a floating series names a different wall time for each viewer
    // and is kept as written.
    let rule = match rules.next() {
        Some(rule)
            if matches!(timing.start, TimeValue::Floating(_))
                && matches!(rule.until, Some(TimeValue::Utc(_) | TimeValue::Zoned { .. })) =>
        {
            Some(rule)
        }
        // A bound that cannot be converted (out of range) is kept as written.
        Some(rule) => Some(until_like_start(rule.clone(), &timing.start).unwrap_or(rule)),
        None => None,
    };
    let mut rdates = Vec::new();
    let mut periods = Vec::new();
    for p in vevent.properties_named("RDATE") {
        let list = super::ical::rdate_list(p, reader.zones);
        for rdate in reader.lenient("RDATE", list) {
            match rdate {
                RDate::Time(value) => rdates.push(value),
                RDate::Period(period) => {
                    let end = match period.end {
                        ical::PeriodEnd::End(end) => End::At(end),
                        ical::PeriodEnd::Duration(length) => End::After(length),
                    };
                    let own = Timing { start: period.start.clone(), end };
                    if period.start.is_date() != timing.start.is_date() {
                        // An all-day period on a timed series (or the reverse) cannot give one
                        // occurrence its own end without changing its kind.
                        reader.issue(format!(
                            "an RDATE period of another kind than DTSTART keeps its start only: \
                             the occurrence at {} has the series' length",
                            period.start
                        ));
                    } else if own.validate().is_err() {
                        reader.issue(format!(
                            "an RDATE period ends before it starts; the occurrence at {} keeps \
                             the series' length",
                            period.start
                        ));
                    } else {
                        periods.push((period.start.clone(), own));
                    }
                    rdates.push(period.start);
                }
            }
        }
    }
    // RFC 2445 allowed several RRULEs (the union) and EXRULE (subtracted); one rule is kept
    // as the rule and the others become dates, so every device expands the same set.
    for extra in rules {
        let set = RecurrenceSet::new(timing.start.clone(), Some(extra.clone()));
        let dates = set.first(None, MATERIALISED, &TimeZone::UTC)?;
        let cut = dates.len() == MATERIALISED
            && set.first(dates.last().map(|o| o.instant), 2, &TimeZone::UTC)?.len() > 1;
        // The further rule's own first occurrence is DTSTART, already the series' first.
        let extra_dates: Vec<TimeValue> =
            dates.iter().map(|o| o.original.clone()).filter(|d| *d != timing.start).collect();
        reader.issue(materialised_message(
            "a further RRULE",
            &extra,
            extra_dates.len(),
            "RDATEs",
            cut,
            dates.last(),
        ));
        rdates.extend(extra_dates);
    }
    let mut exdates = Vec::new();
    for p in vevent.properties_named("EXDATE") {
        let list = time_list(p, reader.zones);
        exdates.extend(reader.lenient("EXDATE", list));
    }
    for p in vevent.properties_named("EXRULE") {
        let Some(exrule) = salvage_rule(reader, "EXRULE", &p.value) else { continue };
        let series = RecurrenceSet {
            start: timing.start.clone(),
            rule: rule.clone(),
            rdates: rdates.clone(),
            exdates: Vec::new(),
        };
        let set = RecurrenceSet::new(timing.start.clone(), Some(exrule.clone()));
        let candidates = set.first(None, MATERIALISED, &TimeZone::UTC)?;
        let cut = candidates.len() == MATERIALISED
            && set.first(candidates.last().map(|o| o.instant), 2, &TimeZone::UTC)?.len() > 1;
        // The series' occurrences over the EXRULE's span, once; should there be too many to
        // list, every EXRULE date is kept (an EXDATE naming no occurrence changes nothing).
        let span = match (candidates.first(), candidates.last()) {
            (Some(first), Some(last)) => {
                let end = last.instant.checked_add(SignedDuration::from_secs(1)).ok();
                end.and_then(|end| series.between(first.instant, end, &TimeZone::UTC).ok())
            }
            _ => Some(Vec::new()),
        };
        let removed: Vec<TimeValue> = match span {
            Some(occurrences) => {
                let instants: std::collections::BTreeSet<Timestamp> =
                    occurrences.iter().map(|o| o.instant).collect();
                candidates
                    .iter()
                    .filter(|c| instants.contains(&c.instant))
                    .map(|c| c.original.clone())
                    .collect()
            }
            None => candidates.iter().map(|c| c.original.clone()).collect(),
        };
        reader.issue(materialised_message(
            "EXRULE",
            &exrule,
            removed.len(),
            "EXDATEs",
            cut,
            candidates.last(),
        ));
        exdates.extend(removed);
    }
    let unknown_properties = vevent
        .properties
        .iter()
        .filter(|p| !MODELLED.contains(&p.name.as_str()))
        .map(raw)
        .collect();
    let event = NewEvent {
        id: id.to_owned(),
        calendar: calendar.to_owned(),
        uid: Some(id.to_owned()),
        timing,
        rule,
        rdates,
        exdates,
        fields: reader.texts(vevent),
        attendees: reader.attendees(vevent),
        alarms: reader.alarms(vevent),
        unknown_properties,
    };
    Ok((event, periods))
}

/// A rule read leniently: valid parts kept, the others reported; `None` (reported) when
/// nothing can be kept.
fn salvage_rule(reader: &mut Reader<'_>, what: &str, text: &str) -> Option<RecurrenceRule> {
    match RecurrenceRule::parse_salvaged(text) {
        Ok((rule, dropped)) => {
            for part in dropped {
                reader.issue(format!(
                    "{what} part {part}; the part was dropped, the rest of the rule is kept"
                ));
            }
            Some(rule)
        }
        Err(e) => {
            reader.issue(format!("{what} ignored: {e}"));
            None
        }
    }
}

fn materialised_message(
    what: &str,
    rule: &RecurrenceRule,
    dates: usize,
    kind: &str,
    cut: bool,
    last: Option<&super::recurrence::Occurrence>,
) -> String {
    let mut message =
        format!("{what} ({rule}) was stored as {dates} {kind}, since an event keeps one rule");
    if cut {
        if let Some(last) = last {
            message.push_str(&format!(
                "; it was cut after {MATERIALISED} dates, at {}",
                last.original
            ));
        }
    }
    message
}

/// The series an override is read against: a master of the same file or one already stored.
struct Master {
    id: String,
    timing: Timing,
    fields: BTreeMap<String, Value>,
    /// Its occurrences, to tell an instance that names none of them.
    set: RecurrenceSet,
}

/// The writes for an override VEVENT: only what differs from the series at that occurrence.
fn read_override(
    reader: &mut Reader<'_>,
    master: &Master,
    vevent: &Component,
    property: &Property,
) -> Result<Vec<Operation>> {
    let rid = recurrence_id(property, reader.zones)?;
    let rid = reader.lenient("RECURRENCE-ID", rid);
    // RECURRENCE-ID is written in the master's zone; read it as the master's kind of value.
    let original = match (&rid.value, &master.timing.start) {
        (TimeValue::Utc(instant), TimeValue::Zoned { zone, .. }) => {
            let tz = super::time::time_zone(zone)?;
            master.timing.start.with_local(tz.to_datetime(*instant))?
        }
        (value, start) if value.is_date() != start.is_date() => start.with_local(value.local())?,
        (value, _) => value.clone(),
    };
    let texts = reader.texts(vevent);
    let changed: BTreeMap<String, Value> =
        texts.into_iter().filter(|(k, v)| master.fields.get(k) != Some(v)).collect();
    let cancelled = changed
        .get("status")
        .and_then(Value::as_text)
        .is_some_and(|s| s.eq_ignore_ascii_case("CANCELLED"));
    let timing = match vevent.property("DTSTART") {
        Some(_) => Some(reader.timing(vevent)?),
        None => None,
    };
    // Keep the timing only if it moves or resizes the occurrence (a cancelled one keeps none).
    let utc = TimeZone::UTC;
    let natural = super::series::instants(&master.timing, &original, &utc)?;
    let timing = timing.filter(|t| {
        !cancelled
            && (t.start.is_date() != original.is_date()
                || super::series::instants(t, &t.start, &utc).ok() != Some(natural))
    });
    let changed: BTreeMap<String, Value> =
        changed.into_iter().filter(|(k, _)| k != "status" || !cancelled).collect();
    // An instance naming no occurrence of its series (a schedule changed after the exception
    // was made, or an exception whose series ends before it) is kept but shown nowhere: the
    // conflict log lists it as an orphan (decision 0016). Said here, so it is not silent.
    let key = super::series::occurrence_key(&original, &master.timing.start)?;
    let at = original.instant(&utc)?;
    let next = at.checked_add(SignedDuration::from_secs(1)).unwrap_or(at);
    let named = master.set.between(at, next, &utc)?.iter().any(|o| {
        super::series::occurrence_key(&o.original, &master.timing.start).is_ok_and(|k| k == key)
    });
    if !named && !cancelled {
        reader.issue(format!(
            "RECURRENCE-ID {original} is not an occurrence of the series; the edit is kept but \
             shown on no occurrence (the series' conflict log lists it as an orphan)"
        ));
    }
    if vevent.property("RRULE").is_some() {
        reader.issue(
            "an RRULE on an occurrence (RECURRENCE-ID) was ignored: only its series repeats",
        );
    }
    let map = if rid.this_and_future { fields::RANGE_PATCHES } else { fields::OVERRIDES };
    patch_operations(
        &master.id,
        map,
        &master.timing.start,
        &original,
        &changed,
        timing.as_ref(),
        cancelled && !rid.this_and_future,
    )
}

/// Every VEVENT, at any depth: a file with a repeated `BEGIN:VCALENDAR` or a VEVENT inside an
/// unknown component still has its events read. Inside a VEVENT too: a stray
/// `BEGIN:VCALENDAR` there opens a calendar the following VEVENTs are read into.
fn collect_vevents<'a>(components: &'a [Component], out: &mut Vec<&'a Component>) {
    for component in components {
        if component.is("VEVENT") {
            out.push(component);
        }
        collect_vevents(&component.components, out);
    }
}

/// A deterministic UID for a VEVENT that has none, so re-importing the file matches it again.
fn synthetic_uid(vevent: &Component) -> String {
    // FNV-1a over the properties that identify an event.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for name in ["DTSTART", "SUMMARY", "RRULE", "DTEND"] {
        for byte in vevent.property(name).map_or("", |p| p.value.as_str()).bytes().chain([0]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("almanac-import-{hash:016x}")
}

impl Store {
    /// Imports an iCalendar file into `calendar`, calling `progress` after each batch.
    ///
    /// Problems are reported per item and the rest is imported; only a store failure is an
    /// error. Events are keyed by UID: importing a file again updates its events. An event that
    /// was deleted on this device is not resurrected: it is reported, restore it first.
    pub fn import_ics(
        &self,
        calendar: &str,
        text: &str,
        progress: &mut dyn FnMut(ImportProgress),
    ) -> Result<ImportReport> {
        let (components, parse_issues) = ical::parse(text);
        let mut report = ImportReport::default();
        report.issues.extend(parse_issues.into_iter().map(|i| ImportIssue {
            line: Some(i.line),
            uid: None,
            message: i.message,
        }));
        let zones = ZoneResolver::from_components(&components);
        // Group VEVENTs by UID, keeping file order; VEVENTs may sit in a VCALENDAR or, leniently,
        // at the top level.
        let mut groups: Vec<(String, Vec<&Component>)> = Vec::new();
        let mut index: BTreeMap<String, usize> = BTreeMap::new();
        let mut vevents = Vec::new();
        collect_vevents(&components, &mut vevents);
        for vevent in vevents {
            let uid = vevent
                .property("UID")
                .map(|p| p.text())
                .filter(|u| !u.trim().is_empty())
                .unwrap_or_else(|| synthetic_uid(vevent));
            match index.get(&uid) {
                Some(&i) => groups[i].1.push(vevent),
                None => {
                    index.insert(uid.clone(), groups.len());
                    groups.push((uid, vec![vevent]));
                }
            }
        }
        self.ensure_calendar(calendar, &components, &mut report)?;
        let total = groups.len();
        let mut batch: Vec<Operation> = Vec::new();
        let mut in_batch = 0;
        for (done, (uid, vevents)) in groups.iter().enumerate() {
            let mut reader = Reader {
                zones: &zones,
                issues: &mut report.issues,
                uid: Some(uid.clone()),
                line: vevents.first().and_then(|v| v.line),
            };
            for (_, ops) in
                import_group(&mut reader, self, calendar, uid, vevents, &mut report.vevents)?
            {
                batch.extend(ops);
                in_batch += 1;
                report.events += 1;
            }
            if in_batch >= BATCH || done + 1 == total {
                self.commit(calendar, &batch)?;
                batch.clear();
                in_batch = 0;
                progress(ImportProgress { done: done + 1, total });
            }
        }
        // Fates were found per UID; the report lists them in file order.
        report.vevents.sort_by_key(|o| o.line.unwrap_or(usize::MAX));
        if total == 0 {
            progress(ImportProgress { done: 0, total: 0 });
        }
        Ok(report)
    }

    /// Creates the calendar record an import targets if it does not exist yet, named after the
    /// file's `X-WR-CALNAME` (else its id) with the file's `X-WR-TIMEZONE` as default zone.
    fn ensure_calendar(
        &self,
        calendar: &str,
        components: &[Component],
        report: &mut ImportReport,
    ) -> Result<()> {
        if self.get(calendar, super::event::CALENDARS, calendar)?.is_some() {
            return Ok(());
        }
        let property =
            |name: &str| components.iter().find_map(|c| c.property(name)).map(Property::text);
        let name = property("X-WR-CALNAME").unwrap_or_else(|| calendar.to_owned());
        let zone = property("X-WR-TIMEZONE").filter(|zone| {
            let known = super::time::time_zone(zone).is_ok();
            if !known {
                let message = format!(
                    "X-WR-TIMEZONE '{zone}' is not a known time zone; the calendar has none"
                );
                report.issues.push(ImportIssue { line: None, uid: None, message });
            }
            known
        });
        self.put_calendar(calendar, &name, None, zone.as_deref())
    }

    /// Exports the live events of `calendar` (all calendars if `None`) as an iCalendar file.
    pub fn export_ics(&self, calendar: Option<&str>) -> Result<String> {
        let mut vevents: Vec<Component> = Vec::new();
        let mut zones: BTreeMap<String, (Timestamp, Timestamp)> = BTreeMap::new();
        let spaces = match calendar {
            Some(id) => vec![id.to_owned()],
            None => self.spaces()?.into_iter().map(String::from).collect(),
        };
        let mut records = Vec::new();
        for space in &spaces {
            if self.holds_space(space)? {
                records.extend(self.records(space, EVENTS)?);
            }
        }
        for record in records {
            let Some(event) = read_event(&record.key.id, &record.state)? else { continue };
            if calendar.is_some_and(|c| c != event.calendar) {
                continue;
            }
            for vevent in export_event(&event, &record.state)? {
                note_zones(&vevent, &mut zones)?;
                vevents.push(vevent);
            }
        }
        let mut vcalendar = Component::new("VCALENDAR")
            .with_property(Property::new("VERSION", "2.0"))
            .with_property(Property::new("PRODID", "-//Almanac//Almanac 0.1//EN"))
            .with_property(Property::new("CALSCALE", "GREGORIAN"));
        if let Some(record) =
            calendar.map(|id| self.get(id, super::event::CALENDARS, id)).transpose()?.flatten()
        {
            if let Some(name) = record.value("name").and_then(Value::as_text) {
                vcalendar.push(Property::from_text("X-WR-CALNAME", name));
            }
            if let Some(zone) = record.value("time_zone").and_then(Value::as_text) {
                vcalendar.push(Property::from_text("X-WR-TIMEZONE", zone));
            }
        }
        for (zone, (from, to)) in zones {
            vcalendar = vcalendar.with_component(ical::vtimezone(&zone, from, to)?);
        }
        for vevent in vevents {
            vcalendar = vcalendar.with_component(vevent);
        }
        ical::write(&[vcalendar])
    }
}

/// A VEVENT's version in iTIP terms (RFC 5546 §2.1.5): a higher SEQUENCE supersedes, then a
/// later DTSTAMP. A missing or unreadable value counts as the lowest.
fn version(vevent: &Component) -> (i64, Option<jiff::civil::DateTime>) {
    let sequence =
        vevent.property("SEQUENCE").and_then(|p| p.value.trim().parse().ok()).unwrap_or(0);
    let stamp = vevent
        .property("DTSTAMP")
        .and_then(|p| ical::parse_date_time(p.value.trim()).ok())
        .map(|(local, _)| local);
    (sequence, stamp)
}

/// What makes two masters with one UID the same event: their start and rules. Copies with
/// equal versions that differ here are different events from a broken generator.
fn identity(vevent: &Component) -> Vec<String> {
    let mut out = Vec::new();
    for name in ["DTSTART", "RRULE", "RDATE"] {
        for p in vevent.properties_named(name) {
            out.push(format!("{name};{}:{}", p.param_value("TZID").unwrap_or(""), p.value.trim()));
        }
    }
    out
}

fn describe_version(vevent: &Component) -> String {
    let value =
        |name: &str| vevent.property(name).map_or("none".to_owned(), |p| p.value.trim().to_owned());
    format!("SEQUENCE {}, DTSTAMP {}", value("SEQUENCE"), value("DTSTAMP"))
}

/// The id of a further master kept under an already used UID: derived from its identity, so
/// importing the file again finds it again.
fn derived_id(uid: &str, vevent: &Component) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in identity(vevent).join("\n").bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{uid}-{:08x}", hash >> 32)
}

/// Picks, among VEVENTs that claim one place (masters of a UID, or instances of one
/// RECURRENCE-ID), the newest by [`version`], the first in file order among equals.
fn newest<'a>(vevents: &[&'a Component]) -> Option<&'a Component> {
    let mut best: Option<&'a Component> = None;
    for vevent in vevents {
        if best.is_none_or(|b| version(vevent) > version(b)) {
            best = Some(vevent);
        }
    }
    best
}

/// Imports the VEVENTs of one UID, recording the fate of each in `fates`. Only a store failure
/// is an error: every problem with the content ends as an issue and a fate.
fn import_group(
    reader: &mut Reader<'_>,
    store: &Store,
    calendar: &str,
    uid: &str,
    vevents: &[&Component],
    fates: &mut Vec<VeventOutcome>,
) -> Result<Vec<(String, Vec<Operation>)>> {
    let fate = |vevent: &Component, fate: VeventFate| VeventOutcome {
        line: vevent.line,
        uid: uid.to_owned(),
        fate,
    };
    let (masters, instances): (Vec<&Component>, Vec<&Component>) =
        vevents.iter().partition(|v| v.property("RECURRENCE-ID").is_none());
    let mut written: Vec<(String, Vec<Operation>)> = Vec::new();

    // Masters: the newest version wins; older ones and identical copies are superseded; equal
    // versions of a different event are kept apart (RFC 5546 cannot order them).
    let mut kept: Vec<(String, &Component)> = Vec::new();
    if let Some(winner) = newest(&masters) {
        kept.push((uid.to_owned(), winner));
        for master in masters.iter().filter(|m| !std::ptr::eq(**m, winner)) {
            reader.line = master.line;
            if version(master) < version(winner) {
                reader.issue(format!(
                    "an older copy of this event ({}) is superseded by the one on line {} ({})",
                    describe_version(master),
                    winner.line.map_or("?".to_owned(), |l| l.to_string()),
                    describe_version(winner)
                ));
                fates.push(fate(master, VeventFate::Superseded { by_line: winner.line }));
            } else if let Some((_, same)) =
                kept.iter().find(|(_, k)| identity(k) == identity(master))
            {
                reader.issue(format!(
                    "a second copy of this event (same start, rule and version) is superseded by \
                     the one on line {}",
                    same.line.map_or("?".to_owned(), |l| l.to_string())
                ));
                fates.push(fate(master, VeventFate::Superseded { by_line: same.line }));
            } else {
                let id = derived_id(uid, master);
                reader.issue(format!(
                    "another event with this UID and the same version but a different start or \
                     rule was kept as a separate event with UID {id}"
                ));
                kept.push((id, master));
            }
        }
    }

    let mut series: Vec<Master> = Vec::new();
    for (id, vevent) in &kept {
        reader.line = vevent.line;
        let existing = store.find_any(EVENTS, id)?.into_iter().next();
        if existing.is_some_and(|r| r.is_deleted()) {
            let reason =
                "this event was deleted on this device; restore it before importing it again";
            reader.issue(reason);
            fates.push(fate(vevent, VeventFate::NotImported { reason: reason.to_owned() }));
            continue;
        }
        let read = read_master(reader, calendar, id, vevent).and_then(|(event, periods)| {
            let mut ops = new_event_operations(&event)?;
            for (original, timing) in periods {
                // An RDATE period with the series' own length needs no override.
                let natural = natural_timing(&event.timing, &original)?;
                if natural != timing {
                    ops.extend(patch_operations(
                        id,
                        fields::OVERRIDES,
                        &event.timing.start,
                        &original,
                        &BTreeMap::new(),
                        Some(&timing),
                        false,
                    )?);
                }
            }
            Ok((event, ops))
        });
        match read {
            Ok((event, ops)) => {
                written.push((id.clone(), ops));
                fates.push(fate(vevent, VeventFate::Imported { event: id.clone() }));
                let set = RecurrenceSet {
                    start: event.timing.start.clone(),
                    rule: event.rule,
                    rdates: event.rdates,
                    exdates: event.exdates,
                };
                series.push(Master {
                    id: id.clone(),
                    timing: event.timing,
                    fields: event.fields,
                    set,
                });
            }
            Err(e) => {
                let reason = format!("event skipped: {e}");
                reader.issue(reason.clone());
                fates.push(fate(vevent, VeventFate::NotImported { reason }));
            }
        }
    }

    // Instances: per RECURRENCE-ID the newest wins. They attach to the file's master, else to
    // the series already stored, else they are kept as occurrences of a series not seen yet.
    let mut by_rid: Vec<(String, Vec<&Component>)> = Vec::new();
    for instance in &instances {
        let Some(p) = instance.property("RECURRENCE-ID") else { continue };
        let key = format!(
            "{};{}:{}",
            p.param_value("TZID").unwrap_or(""),
            p.param_value("RANGE").unwrap_or(""),
            p.value.trim()
        );
        match by_rid.iter_mut().find(|(k, _)| *k == key) {
            Some((_, list)) => list.push(instance),
            None => by_rid.push((key, vec![instance])),
        }
    }
    let stored = if series.is_empty() && !by_rid.is_empty() {
        match store.find_any(EVENTS, uid)?.into_iter().next() {
            Some(record) if record.is_deleted() => Err(()),
            Some(record) => Ok(read_event(uid, &record.state)?),
            None => Ok(None),
        }
    } else {
        Ok(None)
    };
    let mut detached: Option<TimeValue> = None;
    let stored_master = match &stored {
        Ok(Some(event)) if event.instance_only => {
            detached = Some(event.timing.start.clone());
            None
        }
        Ok(Some(event)) => Some(Master {
            id: event.id.to_string(),
            timing: event.timing.clone(),
            fields: BTreeMap::clone(&event.fields),
            set: RecurrenceSet {
                start: event.timing.start.clone(),
                rule: event.rule.clone(),
                rdates: event.rdates.clone(),
                exdates: event.exdates.clone(),
            },
        }),
        _ => None,
    };
    let master = series.first().or(stored_master.as_ref());
    for (_, copies) in &by_rid {
        let Some(winner) = newest(copies) else { continue };
        for copy in copies.iter().filter(|c| !std::ptr::eq(**c, winner)) {
            reader.line = copy.line;
            reader.issue(format!(
                "an older or identical copy of this occurrence ({}) is superseded by the one on \
                 line {} ({})",
                describe_version(copy),
                winner.line.map_or("?".to_owned(), |l| l.to_string()),
                describe_version(winner)
            ));
            fates.push(fate(copy, VeventFate::Superseded { by_line: winner.line }));
        }
        reader.line = winner.line;
        let Some(rid) = winner.property("RECURRENCE-ID") else { continue };
        if stored.is_err() {
            let reason =
                "this event was deleted on this device; restore it before importing it again";
            reader.issue(reason);
            fates.push(fate(winner, VeventFate::NotImported { reason: reason.to_owned() }));
            continue;
        }
        let read = match master {
            Some(master) => read_override(reader, master, winner, rid).map(|ops| {
                (master.id.clone(), ops, VeventFate::Override { event: master.id.clone() })
            }),
            None => read_detached(reader, calendar, uid, winner, rid, &mut detached)
                .map(|ops| (uid.to_owned(), ops, VeventFate::Imported { event: uid.to_owned() })),
        };
        match read {
            Ok((id, ops, outcome)) => {
                match written.iter_mut().find(|(w, _)| *w == id) {
                    Some((_, list)) => list.extend(ops),
                    None => written.push((id, ops)),
                }
                fates.push(fate(winner, outcome));
            }
            Err(e) => {
                let reason = format!("an override was skipped: {e}");
                reader.issue(reason.clone());
                fates.push(fate(winner, VeventFate::NotImported { reason }));
            }
        }
    }
    Ok(written)
}

/// An occurrence of a series the file does not hold (an invitation to one occurrence, or an
/// instance a CalDAV server sent alone): stored as an override of that series, keyed by its
/// RECURRENCE-ID, in the record the series will have (its UID), with the stand-in start
/// `fields::DETACHED`. Decision 0021.
fn read_detached(
    reader: &mut Reader<'_>,
    calendar: &str,
    uid: &str,
    vevent: &Component,
    property: &Property,
    detached: &mut Option<TimeValue>,
) -> Result<Vec<Operation>> {
    let rid = recurrence_id(property, reader.zones)?;
    let rid = reader.lenient("RECURRENCE-ID", rid);
    let original = rid.value;
    let timing = match vevent.property("DTSTART") {
        Some(_) => reader.timing(vevent)?,
        None => Timing { start: original.clone(), end: End::After(Duration::default()) },
    };
    let set = |field: &str, value: Value| Operation {
        key: RecordKey::new(EVENTS, uid.to_owned()),
        write: Write::Set { field: field.into(), value },
    };
    let mut ops =
        vec![set(fields::CALENDAR, Value::from(calendar)), set(fields::UID, Value::from(uid))];
    let start = match detached {
        Some(start) => start.clone(),
        None => {
            let stand_in = natural_timing(&timing, &original)?;
            ops.push(set(fields::DETACHED, Value::structured(&stand_in)?));
            *detached = Some(original.clone());
            original.clone()
        }
    };
    let mut texts = reader.texts(vevent);
    let cancelled = texts
        .get("status")
        .and_then(Value::as_text)
        .is_some_and(|s| s.eq_ignore_ascii_case("CANCELLED"));
    if cancelled {
        // A cancel with edits beside it would list them as made concurrently with the cancel
        // (decision 0016); a cancelled occurrence needs none, as in `read_override`.
        texts.clear();
    }
    reader.issue(format!(
        "this occurrence (RECURRENCE-ID {original}) came without its series; it was imported as \
         an event of its own and becomes an override of the series when that is imported or \
         synced"
    ));
    let map = if rid.this_and_future { fields::RANGE_PATCHES } else { fields::OVERRIDES };
    ops.extend(patch_operations(
        uid,
        map,
        &start,
        &original,
        &texts,
        Some(&timing).filter(|_| !cancelled),
        cancelled && !rid.this_and_future,
    )?);
    ops.extend(people_operations(uid, &reader.attendees(vevent), &reader.alarms(vevent))?);
    Ok(ops)
}

/// Records the time range each zone is used over, for its VTIMEZONE: a year before the earliest
/// use to two years after the latest, so recurring events keep correct offsets for a while.
fn note_zones(
    vevent: &Component,
    zones: &mut BTreeMap<String, (Timestamp, Timestamp)>,
) -> Result<()> {
    for property in &vevent.properties {
        let Some(zone) = property.param_value("TZID") else { continue };
        let tz = super::time::time_zone(zone)?;
        for item in property.value.split(',') {
            let Ok((local, _)) = ical::parse_date_time(item) else { continue };
            let at = super::time::resolve_local(local, &tz)?;
            let from = at.checked_sub(SignedDuration::from_hours(24 * 366)).unwrap_or(at);
            let to = at.checked_add(SignedDuration::from_hours(24 * 366 * 2)).unwrap_or(at);
            let entry = zones.entry(zone.to_owned()).or_insert((from, to));
            entry.0 = entry.0.min(from);
            entry.1 = entry.1.max(to);
        }
    }
    Ok(())
}

fn latest_write(state: &RecordState) -> Timestamp {
    let millis = state.clocks().into_iter().map(|hlc| hlc.millis).max().unwrap_or(0);
    Timestamp::from_millisecond(i64::try_from(millis).unwrap_or(0)).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// `SEQUENCE`, derived: whole seconds between the event's creation and the latest write of its
/// timing or rule. It grows with every reschedule and is the same on every device.
fn sequence(state: &RecordState) -> i64 {
    let clock =
        |r: Option<&MvRegister<Value>>| r.and_then(|r| r.winner()).map_or(0, |e| e.hlc.millis);
    let created = state.clocks().into_iter().map(|hlc| hlc.millis).min().unwrap_or(0);
    let changed = clock(state.registers().get(fields::TIMING))
        .max(clock(state.registers().get(fields::RULE)));
    i64::try_from(changed.saturating_sub(created) / 1000).unwrap_or(i64::MAX)
}

fn text_properties(out: &mut Component, values: &BTreeMap<String, Value>) {
    for (property, field) in TEXT_FIELDS {
        if let Some(Value::Text(text)) = values.get(*field) {
            out.push(match *property {
                "ORGANIZER" => match values.get("organizer_name").and_then(Value::as_text) {
                    Some(name) => Property::new(property, text.clone()).with_param("CN", name),
                    None => Property::new(property, text.clone()),
                },
                "URL" => Property::new(property, text.clone()),
                _ => Property::from_text(property, text),
            });
        }
    }
}

fn timing_properties(out: &mut Component, timing: &Timing) -> Result<()> {
    out.push(time_property("DTSTART", &timing.start)?);
    match &timing.end {
        End::At(end) => out.push(time_property("DTEND", end)?),
        End::After(length) => out.push(duration_property("DURATION", length)),
    }
    Ok(())
}

/// The rule of one exported part: ends before `stop` (exclusive), COUNT turned into UNTIL when
/// the part is cut.
fn cut_rule(
    event: &Event,
    rule: &RecurrenceRule,
    start: &TimeValue,
    stop: Option<&str>,
) -> Result<RecurrenceRule> {
    let Some(stop) = stop else { return Ok(rule.clone()) };
    let mut rule = count_to_until(rule, start)?;
    let set = RecurrenceSet {
        start: start.clone(),
        rule: Some(rule.clone()),
        rdates: Vec::new(),
        exdates: Vec::new(),
    };
    let stop_at = start.with_local(event.position(stop)?)?.instant(&TimeZone::UTC)?;
    let begin = start.instant(&TimeZone::UTC)?;
    let before = set.between(begin, stop_at, &TimeZone::UTC)?;
    rule.count = None;
    rule.until = Some(match before.last() {
        Some(last) => match &last.original {
            TimeValue::Date(date) => TimeValue::Date(*date),
            TimeValue::Floating(local) => TimeValue::Floating(*local),
            other => TimeValue::Utc(other.instant(&TimeZone::UTC)?),
        },
        // Nothing before the cut: an UNTIL before the start leaves only DTSTART, which the cut
        // also removes, so the part is dropped by the caller.
        None => TimeValue::Utc(begin),
    });
    Ok(rule)
}

/// The rule of the derived part starting at occurrence `from_key` and ending before `to_key`:
/// unchanged when the series is endless and uncut, else ending (UNTIL) at the start its last
/// occurrence has in this part.
fn derived_rule(
    event: &Event,
    rule: &RecurrenceRule,
    from_key: &str,
    to_key: Option<&str>,
) -> Result<RecurrenceRule> {
    if to_key.is_none() && rule.count.is_none() && rule.until.is_none() {
        return Ok(rule.clone());
    }
    let whole = count_to_until(rule, &event.timing.start)?;
    let set = RecurrenceSet::new(event.timing.start.clone(), Some(whole.clone()));
    let from = event.original(from_key)?.instant(&TimeZone::UTC)?;
    let stop = match to_key {
        Some(key) => Some(event.original(key)?.instant(&TimeZone::UTC)?),
        None => None,
    };
    // The part's last original occurrence: the series' last before the cut (or its UNTIL).
    let mut last = None;
    let mut cursor = Some(from);
    // Bounded walk: past about 100,000 occurrences (a dense rule decades long) the part keeps
    // the series' bound, as before this rule.
    let mut batches = 0;
    while let Some(at) = cursor {
        batches += 1;
        if batches > 100 {
            return Ok(whole);
        }
        let batch = set.first(Some(at), 1024, &TimeZone::UTC)?;
        cursor = None;
        for occurrence in &batch {
            if stop.is_some_and(|stop| occurrence.instant >= stop) {
                break;
            }
            last = Some(occurrence.original.clone());
        }
        if batch.len() == 1024 && batch.last().is_some_and(|o| stop.is_none_or(|s| o.instant < s)) {
            cursor =
                batch.last().and_then(|o| o.instant.checked_add(SignedDuration::from_secs(1)).ok());
        }
        if stop.is_none() && whole.until.is_none() {
            break;
        }
    }
    let Some(last) = last else { return Ok(whole) };
    let (_, _, moved) = event.inherited_at(&last)?;
    let mut out = whole;
    out.count = None;
    out.until = Some(match moved {
        TimeValue::Date(date) => TimeValue::Date(date),
        TimeValue::Floating(local) => TimeValue::Floating(local),
        other => TimeValue::Utc(other.instant(&TimeZone::UTC)?),
    });
    Ok(out)
}

/// RFC 5545 §3.3.10: UNTIL has DTSTART's value type — a DATE for an all-day series, a local
/// time for a floating one, UTC for a zoned or UTC one. Imported rules may carry another type
/// (Almanac reads it leniently, decision 0010); strict readers reject it, so it is converted to
/// the same bound: a DATE on a timed series becomes the last second of that day in the series'
/// clock, a time on an all-day series its written date.
fn until_like_start(mut rule: RecurrenceRule, start: &TimeValue) -> Result<RecurrenceRule> {
    let Some(until) = rule.until.take() else { return Ok(rule) };
    let end_of_day = |date: jiff::civil::Date| -> Result<jiff::civil::DateTime> {
        Ok(date.to_datetime(jiff::civil::Time::constant(23, 59, 59, 0)))
    };
    rule.until = Some(match (start, until) {
        (TimeValue::Date(_), until) => match until {
            TimeValue::Utc(at) => TimeValue::Date(TimeZone::UTC.to_datetime(at).date()),
            other => TimeValue::Date(other.local().date()),
        },
        (TimeValue::Floating(_), TimeValue::Date(date)) => TimeValue::Floating(end_of_day(date)?),
        (TimeValue::Floating(_), other) => TimeValue::Floating(other.local()),
        (_, TimeValue::Date(date)) => {
            let zone = start.zone(&TimeZone::UTC)?;
            TimeValue::Utc(super::time::resolve_local(end_of_day(date)?, &zone)?)
        }
        (_, TimeValue::Floating(local)) => {
            let zone = start.zone(&TimeZone::UTC)?;
            TimeValue::Utc(super::time::resolve_local(local, &zone)?)
        }
        (_, other) => TimeValue::Utc(other.instant(&TimeZone::UTC)?),
    });
    Ok(rule)
}

/// The same rule with its COUNT replaced by the UNTIL of its last occurrence.
fn count_to_until(rule: &RecurrenceRule, start: &TimeValue) -> Result<RecurrenceRule> {
    let Some(count) = rule.count else { return Ok(rule.clone()) };
    let set = RecurrenceSet::new(start.clone(), Some(rule.clone()));
    let all = set.first(None, usize::try_from(count).unwrap_or(usize::MAX), &TimeZone::UTC)?;
    let mut rule = rule.clone();
    rule.count = None;
    rule.until = match all.last().map(|o| &o.original) {
        Some(TimeValue::Zoned { .. } | TimeValue::Utc(_)) | None => {
            Some(TimeValue::Utc(all.last().map_or(start.instant(&TimeZone::UTC)?, |o| o.instant)))
        }
        Some(other) => Some(other.clone()),
    };
    Ok(rule)
}

fn export_event(event: &Event, state: &RecordState) -> Result<Vec<Component>> {
    let stamp = format_utc(latest_write(state))?;
    let base = |uid: &str| -> Component {
        Component::new("VEVENT")
            .with_property(Property::from_text("UID", uid))
            .with_property(Property::new("DTSTAMP", stamp.clone()))
            .with_property(Property::new("LAST-MODIFIED", stamp.clone()))
            .with_property(Property::new("SEQUENCE", sequence(state).to_string()))
    };
    // The parts of the series: the master from its start, then one derived series per range
    // patch (orphans apply nowhere: they are in the conflict log), each ending where the next
    // begins or at the truncation. Keys compare by their place in the series, never as text.
    let cut = event.truncate_at.as_ref();
    let before_cut =
        |key: &String| -> Result<bool> { Ok(!event.is_truncated(event.position(key)?)?) };
    let mut cuts: Vec<String> = Vec::new();
    for key in event.live_range_keys()? {
        if before_cut(&key)? {
            cuts.push(key);
        }
    }
    // Overrides keyed on an occurrence of the schedule, with their places (orphans are in the
    // conflict log, not exported); found once for every part.
    let mut overrides = Vec::new();
    for (key, patch) in &event.overrides {
        if event.is_occurrence(key)? {
            overrides.push((event.position(key)?, key, patch));
        }
    }
    let mut parts: Vec<(String, Option<&String>, Option<&String>)> = Vec::new(); // (uid, from key, to key)
    parts.push((event.uid.clone(), None, cuts.first().or(cut)));
    for (i, key) in cuts.iter().enumerate() {
        let end = cuts.get(i + 1).or(cut);
        parts.push((format!("{}-R{key}", event.uid), Some(key), end));
    }
    let mut out = Vec::new();
    for (uid, from_key, to_key) in parts {
        let (fields, timing) = match from_key {
            None => (BTreeMap::clone(&event.fields), event.timing.clone()),
            Some(from_key) => {
                let (fields, base, start) = event.inherited_at(&event.original(from_key)?)?;
                (fields, natural_timing(&base, &start)?)
            }
        };
        let mut vevent = base(&uid);
        timing_properties(&mut vevent, &timing)?;
        if let Some(rule) = &event.rule {
            let rule = match from_key {
                // A derived part continues the series' rule from its own start, which a "this
                // and following" edit may have moved: its end is where its last occurrence
                // moved to, never the series' UNTIL read against moved times (which gains or
                // loses an occurrence at the end).
                Some(from_key) => derived_rule(event, rule, from_key, to_key.map(String::as_str))?,
                None => cut_rule(event, rule, &timing.start, to_key.map(String::as_str))?,
            };
            // One event's unconvertible bound must not fail the whole export.
            let rule = until_like_start(rule.clone(), &timing.start).unwrap_or(rule);
            vevent.push(Property::new("RRULE", rule.to_string()));
        }
        if from_key.is_none() && !event.rdates.is_empty() {
            vevent.properties.extend(time_list_properties("RDATE", &event.rdates)?);
        }
        let from_at = from_key.map(|k| event.position(k)).transpose()?;
        let to_at = to_key.map(|k| event.position(k)).transpose()?;
        let in_part = |at: jiff::civil::DateTime| {
            from_at.is_none_or(|f| at >= f) && to_at.is_none_or(|t| at < t)
        };
        let mut exdates: Vec<TimeValue> = Vec::new();
        for exdate in &event.exdates {
            if event.key_of(exdate).and_then(|k| event.position(&k)).is_ok_and(in_part) {
                exdates.push(exdate.clone());
            }
        }
        if !exdates.is_empty() {
            vevent.properties.extend(time_list_properties("EXDATE", &exdates)?);
        }
        text_properties(&mut vevent, &fields);
        attendee_properties(&mut vevent, event);
        for property in &event.unknown_properties {
            vevent.push(unraw(property));
        }
        alarm_components(&mut vevent, event);
        // Occurrences imported without their series are written back the same way: as the
        // instances they were, with no invented master.
        if !event.instance_only {
            out.push(vevent);
        }
        // Single-occurrence overrides of this part, as RECURRENCE-ID instances; cancelled ones
        // as STATUS:CANCELLED instances (not EXDATE), so they stay restorable after a round trip
        // and keep any edit made concurrently with the cancel.
        for (_, key, patch) in overrides.iter().filter(|(at, _, _)| in_part(*at)) {
            out.push(export_override(event, key, patch, &base(&uid))?);
        }
    }
    Ok(out)
}

/// The timing `series` gives the occurrence that starts at `original`: same length, and an
/// explicit end moved by the same wall-clock amount as the start.
fn natural_timing(series: &Timing, original: &TimeValue) -> Result<Timing> {
    let end = match &series.end {
        End::After(length) => End::After(*length),
        End::At(end) => {
            let length = end.local().duration_since(series.start.local());
            let local = original
                .local()
                .checked_add(length)
                .map_err(|e| Error::InvalidInput(e.to_string()))?;
            End::At(end.with_local(local)?)
        }
    };
    Ok(Timing { start: original.clone(), end })
}

fn export_override(event: &Event, key: &str, patch: &Patch, base: &Component) -> Result<Component> {
    let original = event.original(key)?;
    let (part_fields, part_timing, start) = event.inherited_at(&original)?;
    let mut vevent = base.clone();
    vevent.push(recurrence_id_property(&ical::RecurrenceId {
        value: original.clone(),
        this_and_future: false,
    })?);
    let timing = match patch.fields.get("timing") {
        Some(value) => value.decode()?,
        None => natural_timing(&part_timing, &start)?,
    };
    timing_properties(&mut vevent, &timing)?;
    let mut fields = part_fields;
    patch.apply_to(&mut fields);
    if patch.cancelled {
        fields.insert("status".to_owned(), Value::from("CANCELLED"));
    }
    text_properties(&mut vevent, &fields);
    attendee_properties(&mut vevent, event);
    Ok(vevent)
}

fn attendee_properties(out: &mut Component, event: &Event) {
    for attendee in &event.attendees {
        let role = match attendee.role {
            Role::Chair => "CHAIR",
            Role::Required => "REQ-PARTICIPANT",
            Role::Optional => "OPT-PARTICIPANT",
            Role::NonParticipant => "NON-PARTICIPANT",
        };
        let partstat = match attendee.participation {
            Participation::NeedsAction => "NEEDS-ACTION",
            Participation::Accepted => "ACCEPTED",
            Participation::Declined => "DECLINED",
            Participation::Tentative => "TENTATIVE",
            Participation::Delegated => "DELEGATED",
        };
        let mut p = Property::new("ATTENDEE", attendee.address.clone())
            .with_param("ROLE", role)
            .with_param("PARTSTAT", partstat);
        if let Some(name) = &attendee.name {
            p = p.with_param("CN", name.clone());
        }
        p.params.extend(
            attendee
                .params
                .iter()
                .map(|(name, values)| Param { name: name.clone(), values: values.clone() }),
        );
        out.push(p);
    }
}

fn alarm_components(out: &mut Component, event: &Event) {
    for alarm in &event.alarms {
        let mut valarm = Component::new("VALARM")
            .with_property(Property::new("UID", alarm.id.clone()))
            .with_property(Property::new("ACTION", "DISPLAY"))
            .with_property(duration_property("TRIGGER", &alarm.trigger));
        valarm.push(Property::from_text(
            "DESCRIPTION",
            alarm.description.as_deref().unwrap_or("Reminder"),
        ));
        if let Some(at) = alarm.acknowledged {
            if let Ok(text) = format_utc(at) {
                valarm.push(Property::new("ACKNOWLEDGED", text));
            }
        }
        out.components.push(valarm);
    }
}
