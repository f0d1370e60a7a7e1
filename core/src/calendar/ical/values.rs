//! Property values ↔ the calendar's time types: DATE, DATE-TIME (UTC, with TZID, floating),
//! lists of them (EXDATE, RDATE), PERIOD, DURATION, RECURRENCE-ID and UTC-OFFSET.
//!
//! Readers take the shape of the value over its `VALUE` parameter (an 8-digit value is a date
//! whatever the parameter says) and accept common deviations: lower case, missing seconds,
//! ISO separators, fractional seconds. A TZID is resolved to an IANA zone by the
//! [`ZoneResolver`]; when that fails the time is read as floating and the issue is returned with
//! the value. Writers produce strict RFC 5545 forms.

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::{Offset, TimeZone};

use super::content::Property;
use super::zones::ZoneResolver;
use crate::calendar::time::{Duration, TimeValue};
use crate::error::{Error, Result};

/// A value read leniently, with what had to be assumed to read it (for example an unknown
/// TZID read as floating, or a bad item dropped from a list).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Lenient<T> {
    /// The value.
    pub value: T,
    /// What was assumed or dropped, as messages for the user; empty when the value was clean.
    pub issues: Vec<String>,
}

impl<T> Lenient<T> {
    pub(crate) fn clean(value: T) -> Lenient<T> {
        Lenient { value, issues: Vec::new() }
    }
}

/// A PERIOD value (RFC 5545 §3.3.9): a start and either an end or a duration.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Period {
    /// The start (a date-time: floating, zoned or UTC; a date, leniently, for all-day periods).
    pub start: TimeValue,
    /// How the period ends.
    pub end: PeriodEnd,
}

/// The end of a [`Period`].
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum PeriodEnd {
    /// An explicit end (`start/end`).
    End(TimeValue),
    /// A duration from the start (`start/duration`).
    Duration(Duration),
}

/// One RDATE value: a date, a date-time or a period.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum RDate {
    /// A date or date-time.
    Time(TimeValue),
    /// A period (`VALUE=PERIOD`).
    Period(Period),
}

/// A RECURRENCE-ID: the original start of the instance an override replaces.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct RecurrenceId {
    /// The original start, in the master's value type and zone.
    pub value: TimeValue,
    /// `RANGE=THISANDFUTURE`: the override applies to this and all later instances.
    pub this_and_future: bool,
}

/// Whether the value has a local date-time, the only kind a TZID applies to (so an unknown
/// TZID on dates or UTC times is not worth an issue).
fn has_local_time(raw: &str) -> bool {
    raw.split([',', '/']).map(str::trim).any(|part| {
        part.contains(['T', 't'])
            && !part.ends_with(['Z', 'z'])
            && !part.starts_with(['P', 'p', '+', '-'])
    })
}

/// The IANA zone of the property's TZID, resolved once per property; `None` (floating) when
/// there is no TZID or it cannot be resolved, which is recorded in `issues`.
fn zone_of(property: &Property, zones: &ZoneResolver, issues: &mut Vec<String>) -> Option<String> {
    let tzid = property.param_value("TZID")?;
    if !has_local_time(&property.value) {
        return None;
    }
    match zones.lookup(tzid) {
        Ok(resolved) => {
            issues.extend(resolved.issues);
            Some(resolved.value)
        }
        Err(why) => {
            issues.push(format!(
                "{}: {why}; its time is read as floating (the same wall-clock time in every \
                 zone)",
                property.name
            ));
            None
        }
    }
}

/// Reads a single DATE or DATE-TIME property (DTSTART, DTEND, DUE, ...).
pub fn time_value(property: &Property, zones: &ZoneResolver) -> Result<Lenient<TimeValue>> {
    let mut issues = Vec::new();
    let zone = zone_of(property, zones, &mut issues);
    let raw = property.value.trim();
    if raw.contains(',') {
        return Err(Error::InvalidInput(format!(
            "{} has several values ('{raw}'); it takes one date or date-time",
            property.name
        )));
    }
    let value = read_time(raw, &zone)
        .map_err(|why| Error::InvalidInput(format!("{}: {why}", property.name)))?;
    Ok(Lenient { value, issues })
}

/// Reads a list property of dates or date-times (EXDATE, or RDATE without periods). A bad item
/// is dropped and reported; the others are kept.
pub fn time_list(property: &Property, zones: &ZoneResolver) -> Lenient<Vec<TimeValue>> {
    let mut issues = Vec::new();
    let zone = zone_of(property, zones, &mut issues);
    let mut values = Vec::new();
    for item in list_items(&property.value) {
        match read_time(item, &zone) {
            Ok(value) => values.push(value),
            Err(why) => issues.push(format!("{}: {why}; the value was dropped", property.name)),
        }
    }
    Lenient { value: values, issues }
}

/// Reads an RDATE property: dates, date-times or periods (a period is recognised by its `/`,
/// with or without `VALUE=PERIOD`). A bad item is dropped and reported.
pub fn rdate_list(property: &Property, zones: &ZoneResolver) -> Lenient<Vec<RDate>> {
    let mut issues = Vec::new();
    let zone = zone_of(property, zones, &mut issues);
    let mut values = Vec::new();
    for item in list_items(&property.value) {
        let read = if item.contains('/') {
            read_period(item, &zone).map(RDate::Period)
        } else {
            read_time(item, &zone).map(RDate::Time)
        };
        match read {
            Ok(value) => values.push(value),
            Err(why) => issues.push(format!("{}: {why}; the value was dropped", property.name)),
        }
    }
    Lenient { value: values, issues }
}

/// Reads a PERIOD value (`start/end` or `start/duration`) of a property with this property's
/// TZID, for example one item of FREEBUSY.
pub fn period(property: &Property, zones: &ZoneResolver) -> Result<Lenient<Period>> {
    let mut issues = Vec::new();
    let zone = zone_of(property, zones, &mut issues);
    let value = read_period(property.value.trim(), &zone)
        .map_err(|why| Error::InvalidInput(format!("{}: {why}", property.name)))?;
    Ok(Lenient { value, issues })
}

/// Reads a RECURRENCE-ID with its RANGE parameter.
pub fn recurrence_id(property: &Property, zones: &ZoneResolver) -> Result<Lenient<RecurrenceId>> {
    let Lenient { value, mut issues } = time_value(property, zones)?;
    let this_and_future = match property.param_value("RANGE") {
        None => false,
        Some(range) if range.trim().eq_ignore_ascii_case("THISANDFUTURE") => true,
        Some(other) => {
            // THISANDPRIOR was removed by RFC 5545; reading it as "this instance only" keeps the
            // override without guessing which earlier instances it meant.
            issues.push(format!(
                "RECURRENCE-ID has RANGE={other}, which is not supported; it applies to this \
                 instance only"
            ));
            false
        }
    };
    Ok(Lenient { value: RecurrenceId { value, this_and_future }, issues })
}

/// Reads a DURATION property (DURATION, a relative TRIGGER, ...).
pub fn duration(property: &Property) -> Result<Duration> {
    Duration::parse(&property.value)
        .map_err(|error| Error::InvalidInput(format!("{}: {error}", property.name)))
}

fn list_items(raw: &str) -> impl Iterator<Item = &str> {
    // Empty items come from trailing or doubled commas, which some producers write.
    raw.split(',').map(str::trim).filter(|item| !item.is_empty())
}

fn read_time(item: &str, zone: &Option<String>) -> std::result::Result<TimeValue, String> {
    if !item.contains(['T', 't']) {
        return parse_date(item).map(TimeValue::Date).map_err(|e| e.to_string());
    }
    let (local, utc) = parse_date_time(item).map_err(|e| e.to_string())?;
    if utc {
        // `Z` wins over a TZID: RFC 5545 forbids the combination and the Z is explicit.
        return TimeZone::UTC
            .to_timestamp(local)
            .map(TimeValue::Utc)
            .map_err(|e| format!("'{item}' is out of range: {e}"));
    }
    Ok(match zone {
        Some(zone) => TimeValue::Zoned { local, zone: zone.as_str().into() },
        None => TimeValue::Floating(local),
    })
}

fn read_period(item: &str, zone: &Option<String>) -> std::result::Result<Period, String> {
    let Some((start, end)) = item.split_once('/') else {
        return Err(format!("'{item}' is not a period (start/end or start/duration)"));
    };
    // RFC 5545 periods are date-times, but producers write all-day periods as dates
    // (`20260310/20260312`, `20260320/P3D`); they mean those days, so they are read.
    let start = read_time(start.trim(), zone)?;
    let end = end.trim();
    let end = if end.trim_start_matches(['+', '-']).starts_with(['P', 'p']) {
        PeriodEnd::Duration(Duration::parse(end).map_err(|e| e.to_string())?)
    } else {
        PeriodEnd::End(read_time(end, zone)?)
    };
    Ok(Period { start, end })
}

/// The number written by `text`, if it is ASCII digits only.
pub(crate) fn digits(text: &str) -> Option<i64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn small(n: i64) -> Option<i8> {
    i8::try_from(n).ok()
}

/// Parses a DATE (`20260315`; `2026-03-15` is accepted too).
pub fn parse_date(text: &str) -> Result<Date> {
    let invalid = |why: &str| Error::InvalidInput(format!("'{text}' is not a DATE: {why}"));
    let compact: String;
    let text_digits = if text.len() == 10 && text.as_bytes().get(4) == Some(&b'-') {
        compact = text.replace('-', "");
        compact.as_str()
    } else {
        text
    };
    if text_digits.len() != 8 {
        return Err(invalid("expected YYYYMMDD"));
    }
    let (Some(year), Some(month), Some(day)) = (
        text_digits.get(..4).and_then(digits),
        text_digits.get(4..6).and_then(digits),
        text_digits.get(6..).and_then(digits),
    ) else {
        return Err(invalid("expected YYYYMMDD"));
    };
    let year = i16::try_from(year).map_err(|_| invalid("the year is out of range"))?;
    let (Some(month), Some(day)) = (small(month), small(day)) else {
        return Err(invalid("expected YYYYMMDD"));
    };
    Date::new(year, month, day).map_err(|e| invalid(&e.to_string()))
}

/// Parses a DATE-TIME (`20260315T090000`, optionally ending in `Z`) into the wall-clock reading
/// and whether it is UTC. Lower case, missing seconds, ISO separators (`2026-03-15T09:00:00`)
/// and fractional seconds are accepted; a leap second reads as :59.
pub fn parse_date_time(text: &str) -> Result<(DateTime, bool)> {
    let invalid = |why: &str| {
        Error::InvalidInput(format!(
            "'{text}' is not a DATE-TIME (expected YYYYMMDDTHHMMSS, optionally ending in Z): \
             {why}"
        ))
    };
    let trimmed = text.trim();
    let (body, utc) = match trimmed.strip_suffix(['Z', 'z']) {
        Some(body) => (body, true),
        None => (trimmed, false),
    };
    let Some((date, time)) = body.split_once(['T', 't']) else {
        return Err(invalid("there is no T between date and time"));
    };
    let date = parse_date(date).map_err(|e| invalid(&e.to_string()))?;
    let time = time.split_once(['.', ',']).map_or(time, |(whole, _fraction)| whole);
    let time: String = time.chars().filter(|&c| c != ':').collect();
    let (hour, minute, second) = match time.len() {
        4 => (time.get(..2).and_then(digits), time.get(2..).and_then(digits), Some(0)),
        6 => (
            time.get(..2).and_then(digits),
            time.get(2..4).and_then(digits),
            time.get(4..).and_then(digits),
        ),
        _ => return Err(invalid("the time must be HHMMSS")),
    };
    let (Some(hour), Some(minute), Some(second)) =
        (hour.and_then(small), minute.and_then(small), second.and_then(small))
    else {
        return Err(invalid("the time must be HHMMSS"));
    };
    let time = Time::new(hour, minute, second.min(59), 0).map_err(|e| invalid(&e.to_string()))?;
    Ok((date.to_datetime(time), utc))
}

fn check_year(year: i16) -> Result<()> {
    if (0..=9999).contains(&year) {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "the year {year} cannot be written in iCalendar (years 0000 to 9999)"
        )))
    }
}

/// Formats a DATE: `20260315`.
pub fn format_date(date: Date) -> Result<String> {
    check_year(date.year())?;
    Ok(format!("{:04}{:02}{:02}", date.year(), date.month(), date.day()))
}

/// Formats a local (floating or zoned) DATE-TIME: `20260315T090000`. Sub-seconds are dropped.
pub fn format_date_time(local: DateTime) -> Result<String> {
    check_year(local.year())?;
    Ok(format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}",
        local.year(),
        local.month(),
        local.day(),
        local.hour(),
        local.minute(),
        local.second()
    ))
}

/// Formats a UTC DATE-TIME: `20260315T080000Z`.
pub fn format_utc(instant: Timestamp) -> Result<String> {
    let mut text = format_date_time(TimeZone::UTC.to_datetime(instant))?;
    text.push('Z');
    Ok(text)
}

/// Formats a UTC-OFFSET (§3.3.14): `+0100`, `-0430`, `+053028` (seconds only when not zero).
pub fn format_utc_offset(offset: Offset) -> String {
    let seconds = offset.seconds();
    let sign = if seconds < 0 { '-' } else { '+' };
    let abs = seconds.unsigned_abs();
    let (h, m, s) = (abs / 3600, abs % 3600 / 60, abs % 60);
    if s == 0 { format!("{sign}{h:02}{m:02}") } else { format!("{sign}{h:02}{m:02}{s:02}") }
}

/// Parses a UTC-OFFSET: `+0100`, `-0430`, `+053028`; `+01:00` and `+1` are accepted too.
pub fn parse_utc_offset(text: &str) -> Result<Offset> {
    let invalid = || Error::InvalidInput(format!("'{text}' is not a UTC offset like +0100"));
    let trimmed = text.trim();
    let (negative, rest) = match trimmed.as_bytes().first() {
        Some(b'-') => (true, &trimmed[1..]),
        Some(b'+') => (false, &trimmed[1..]),
        _ => (false, trimmed),
    };
    let rest: String = rest.chars().filter(|&c| c != ':').collect();
    let (h, m, s) = match rest.len() {
        1 | 2 => (digits(&rest), Some(0), Some(0)),
        4 => (rest.get(..2).and_then(digits), rest.get(2..).and_then(digits), Some(0)),
        6 => (
            rest.get(..2).and_then(digits),
            rest.get(2..4).and_then(digits),
            rest.get(4..).and_then(digits),
        ),
        _ => return Err(invalid()),
    };
    let (Some(h), Some(m), Some(s)) = (h, m, s) else {
        return Err(invalid());
    };
    if m >= 60 || s >= 60 {
        return Err(invalid());
    }
    let seconds = i32::try_from(h * 3600 + m * 60 + s).map_err(|_| invalid())?;
    Offset::from_seconds(if negative { -seconds } else { seconds }).map_err(|_| invalid())
}

fn write_time(value: &TimeValue) -> Result<String> {
    match value {
        TimeValue::Date(date) => format_date(*date),
        TimeValue::Floating(local) | TimeValue::Zoned { local, .. } => format_date_time(*local),
        TimeValue::Utc(instant) => format_utc(*instant),
    }
}

/// What values must share to be written in one list property, whose VALUE and TZID
/// parameters apply to all of them.
#[derive(Clone, Copy, PartialEq, Eq)]
struct ListKey<'a> {
    date: bool,
    zone: Option<&'a str>,
    period: bool,
}

fn list_key(value: &TimeValue) -> ListKey<'_> {
    let (date, zone) = match value {
        TimeValue::Date(_) => (true, None),
        TimeValue::Zoned { zone, .. } => (false, Some(&**zone)),
        TimeValue::Floating(_) | TimeValue::Utc(_) => (false, None),
    };
    ListKey { date, zone, period: false }
}

fn with_key_params(mut property: Property, key: ListKey<'_>) -> Property {
    if key.date {
        property = property.with_param("VALUE", "DATE");
    } else if key.period {
        property = property.with_param("VALUE", "PERIOD");
    }
    if let Some(zone) = key.zone {
        property = property.with_param("TZID", zone);
    }
    property
}

/// A DATE or DATE-TIME property: `VALUE=DATE` for a date, `TZID=` for a zoned time, `Z` for
/// UTC, neither for floating.
pub fn time_property(name: &str, value: &TimeValue) -> Result<Property> {
    Ok(with_key_params(Property::new(name, write_time(value)?), list_key(value)))
}

/// List properties (EXDATE, RDATE) for `values`: one property per kind and zone, because a
/// property's VALUE and TZID apply to all its values. Groups keep the order of first use.
pub fn time_list_properties(name: &str, values: &[TimeValue]) -> Result<Vec<Property>> {
    let mut groups: Vec<(ListKey<'_>, String)> = Vec::new();
    for value in values {
        let key = list_key(value);
        let text = write_time(value)?;
        push_grouped(&mut groups, key, &text);
    }
    Ok(groups
        .into_iter()
        .map(|(key, list)| with_key_params(Property::new(name, list), key))
        .collect())
}

fn push_grouped<K: PartialEq>(groups: &mut Vec<(K, String)>, key: K, text: &str) {
    match groups.iter_mut().find(|(k, _)| *k == key) {
        Some((_, list)) => {
            list.push(',');
            list.push_str(text);
        }
        None => groups.push((key, text.to_owned())),
    }
}

/// Formats a PERIOD value; the end must be UTC or in the start's zone, since one TZID covers both.
pub fn format_period(period: &Period) -> Result<String> {
    if period.start.is_date() {
        return Err(Error::InvalidInput(format!(
            "the period starting {} cannot be written: a period starts at a date-time",
            period.start
        )));
    }
    let mut text = write_time(&period.start)?;
    text.push('/');
    match &period.end {
        PeriodEnd::Duration(duration) => text.push_str(&duration.to_string()),
        PeriodEnd::End(end) => {
            let compatible = matches!(end, TimeValue::Utc(_))
                || (!end.is_date() && list_key(end) == list_key(&period.start));
            if !compatible {
                return Err(Error::InvalidInput(format!(
                    "the period {} to {end} cannot be written: its end must be UTC or in the \
                     start's zone",
                    period.start
                )));
            }
            text.push_str(&write_time(end)?);
        }
    }
    Ok(text)
}

/// RDATE properties for `values`, grouped by kind (date, date-time, period) and zone.
pub fn rdate_properties(values: &[RDate]) -> Result<Vec<Property>> {
    let mut groups: Vec<(ListKey<'_>, String)> = Vec::new();
    for value in values {
        let (key, text) = match value {
            RDate::Time(time) => (list_key(time), write_time(time)?),
            RDate::Period(period) => {
                (ListKey { period: true, ..list_key(&period.start) }, format_period(period)?)
            }
        };
        push_grouped(&mut groups, key, &text);
    }
    Ok(groups
        .into_iter()
        .map(|(key, list)| with_key_params(Property::new("RDATE", list), key))
        .collect())
}

/// A RECURRENCE-ID property, with `RANGE=THISANDFUTURE` when set.
pub fn recurrence_id_property(id: &RecurrenceId) -> Result<Property> {
    let property = time_property("RECURRENCE-ID", &id.value)?;
    Ok(if id.this_and_future { property.with_param("RANGE", "THISANDFUTURE") } else { property })
}

/// A DURATION-valued property (`DURATION:PT1H`, `TRIGGER:-PT15M`).
pub fn duration_property(name: &str, duration: &Duration) -> Property {
    Property::new(name, duration.to_string())
}

#[cfg(test)]
mod tests {
    use super::super::component::parse;
    use super::*;
    use jiff::civil::date;

    fn prop(line: &str) -> Property {
        let text = format!("BEGIN:X\r\n{line}\r\nEND:X\r\n");
        let (mut roots, issues) = parse(&text);
        assert!(issues.is_empty(), "{issues:?}");
        roots.remove(0).properties.remove(0)
    }

    fn zones() -> ZoneResolver {
        ZoneResolver::default()
    }

    fn one(line: &str) -> Result<TimeValue> {
        let read = time_value(&prop(line), &zones())?;
        assert!(read.issues.is_empty(), "{:?}", read.issues);
        Ok(read.value)
    }

    fn zoned(local: DateTime, zone: &str) -> TimeValue {
        TimeValue::Zoned { local, zone: zone.into() }
    }

    #[test]
    fn the_four_kinds_of_time_are_read() -> Result<()> {
        assert_eq!(one("DTSTART;VALUE=DATE:20260315")?, TimeValue::Date(date(2026, 3, 15)));
        assert_eq!(one("DTSTART:20260315")?, TimeValue::Date(date(2026, 3, 15)));
        assert_eq!(
            one("DTSTART:20260315T090000Z")?.to_string(),
            "2026-03-15T09:00:00Z".to_string()
        );
        assert_eq!(
            one("DTSTART;TZID=europe/paris:20260315T090000")?,
            zoned(date(2026, 3, 15).at(9, 0, 0, 0), "Europe/Paris")
        );
        assert_eq!(
            one("DTSTART:20260315T090000")?,
            TimeValue::Floating(date(2026, 3, 15).at(9, 0, 0, 0))
        );
        Ok(())
    }

    #[test]
    fn common_deviations_are_accepted_and_nonsense_is_not() -> Result<()> {
        let nine = date(2026, 3, 15).at(9, 0, 0, 0);
        assert_eq!(one("DTSTART:20260315t0900")?, TimeValue::Floating(nine));
        assert_eq!(one("DTSTART:2026-03-15T09:00:00")?, TimeValue::Floating(nine));
        assert_eq!(one("DTSTART:20260315T090000.000")?, TimeValue::Floating(nine));
        assert_eq!(one("DTSTART:20261231T235960Z")?.to_string(), "2026-12-31T23:59:59Z");
        assert_eq!(one("DTSTART;VALUE=DATE: 20260315 ")?, TimeValue::Date(date(2026, 3, 15)));
        for bad in ["2026031", "20261315", "20260230", "20260315T9", "20260315T250000", "x"] {
            let result = time_value(&prop(&format!("DTSTART:{bad}")), &zones());
            assert!(result.is_err(), "{bad}");
        }
        assert!(time_value(&prop("DTSTART:20260101,20260102"), &zones()).is_err());
        Ok(())
    }

    #[test]
    fn date_exdate_lists_and_bad_items() {
        let read =
            time_list(&prop("EXDATE;VALUE=DATE:20260101,20260108,,2026011x,20260115,"), &zones());
        assert_eq!(
            read.value,
            vec![
                TimeValue::Date(date(2026, 1, 1)),
                TimeValue::Date(date(2026, 1, 8)),
                TimeValue::Date(date(2026, 1, 15))
            ]
        );
        assert_eq!(read.issues.len(), 1);
        assert!(read.issues[0].contains("2026011x"), "{}", read.issues[0]);
        let zoned_list = time_list(
            &prop("EXDATE;TZID=America/New_York:20260105T090000,20260112T090000"),
            &zones(),
        );
        assert_eq!(
            zoned_list.value[1],
            zoned(date(2026, 1, 12).at(9, 0, 0, 0), "America/New_York")
        );
    }

    #[test]
    fn an_unknown_tzid_reads_as_floating_with_an_issue() {
        let read = time_list(&prop("EXDATE;TZID=Mars/Olympus:20260105T090000"), &zones());
        assert_eq!(read.value, vec![TimeValue::Floating(date(2026, 1, 5).at(9, 0, 0, 0))]);
        assert_eq!(read.issues.len(), 1);
        assert!(read.issues[0].contains("Mars/Olympus") && read.issues[0].contains("floating"));
        let utc = time_list(&prop("EXDATE;TZID=Mars/Olympus:20260105T090000Z,20260106"), &zones());
        assert!(utc.issues.is_empty() && utc.value.len() == 2, "{:?}", utc.issues);
    }

    #[test]
    fn non_ascii_input_is_an_error_not_a_panic() {
        for bad in ["20€315", "2026€5T090000", "20260315T09€0", "20260315T€€"] {
            assert!(parse_date(bad).is_err() && parse_date_time(bad).is_err(), "{bad}");
        }
        for bad in ["+€1", "+0€0", "+01€"] {
            assert!(parse_utc_offset(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tzids_are_resolved_with_the_files_vtimezones() -> Result<()> {
        let text = "BEGIN:VCALENDAR\r\nBEGIN:VTIMEZONE\r\nTZID:My Zone\r\nBEGIN:STANDARD\r\n\
                    DTSTART:19700101T000000\r\nTZOFFSETFROM:+0530\r\nTZOFFSETTO:+0530\r\n\
                    TZNAME:IST\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\nBEGIN:VEVENT\r\n\
                    DTSTART;TZID=\"W. Europe Standard Time\":20260105T090000\r\n\
                    DTEND;TZID=/mozilla.org/20050126_1/Europe/Berlin:20260105T100000\r\n\
                    EXDATE;TZID=My Zone:20260112T090000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let (roots, issues) = parse(text);
        assert!(issues.is_empty(), "{issues:?}");
        let zones = ZoneResolver::from_components(&roots);
        let event = &roots[0].components[1];
        let property = |name: &str| event.property(name).cloned().unwrap_or_else(|| prop("X:1"));
        let nine = date(2026, 1, 5).at(9, 0, 0, 0);
        assert_eq!(time_value(&property("DTSTART"), &zones)?.value, zoned(nine, "Europe/Berlin"));
        assert_eq!(
            time_value(&property("DTEND"), &zones)?.value,
            zoned(date(2026, 1, 5).at(10, 0, 0, 0), "Europe/Berlin")
        );
        let exdates = time_list(&property("EXDATE"), &zones);
        assert_eq!(exdates.value, vec![zoned(date(2026, 1, 12).at(9, 0, 0, 0), "Asia/Kolkata")]);
        assert!(exdates.issues.is_empty(), "{:?}", exdates.issues);
        Ok(())
    }

    #[test]
    fn rdate_periods_with_end_or_duration() -> Result<()> {
        let read = rdate_list(
            &prop(
                "RDATE;VALUE=PERIOD;TZID=Europe/Berlin:20260105T090000/20260105T100000,\
                 20260106T090000/PT90M,20260107T090000Z/20260107T100000Z",
            ),
            &zones(),
        );
        assert!(read.issues.is_empty(), "{:?}", read.issues);
        let berlin = |d: i8, h: i8| zoned(date(2026, 1, d).at(h, 0, 0, 0), "Europe/Berlin");
        assert_eq!(
            read.value[0],
            RDate::Period(Period { start: berlin(5, 9), end: PeriodEnd::End(berlin(5, 10)) })
        );
        assert_eq!(
            read.value[1],
            RDate::Period(Period {
                start: berlin(6, 9),
                end: PeriodEnd::Duration(Duration { seconds: 5400, ..Duration::default() })
            })
        );
        let RDate::Period(utc) = &read.value[2] else { panic!("not a period") };
        assert!(matches!(utc.start, TimeValue::Utc(_)));
        // All-day periods are written as dates by some producers; they are read (issue 10).
        let mixed = rdate_list(&prop("RDATE:20260105,20260106T090000,20260105/20260107"), &zones());
        assert!(mixed.issues.is_empty(), "{:?}", mixed.issues);
        assert_eq!(
            mixed.value[2],
            RDate::Period(Period {
                start: TimeValue::Date(date(2026, 1, 5)),
                end: PeriodEnd::End(TimeValue::Date(date(2026, 1, 7)))
            })
        );
        let broken = rdate_list(&prop("RDATE;VALUE=PERIOD:20260105/soon"), &zones());
        assert!(broken.value.is_empty() && broken.issues.len() == 1, "{:?}", broken.issues);
        let written = rdate_properties(&read.value)?;
        assert_eq!(written.len(), 2);
        assert_eq!(written[0].param_value("VALUE"), Some("PERIOD"));
        assert_eq!(written[0].value, "20260105T090000/20260105T100000,20260106T090000/PT1H30M");
        let again: Vec<RDate> =
            written.iter().flat_map(|p| rdate_list(p, &zones()).value).collect();
        assert_eq!(again, read.value);
        Ok(())
    }

    #[test]
    fn recurrence_id_with_this_and_future() -> Result<()> {
        let id = recurrence_id(
            &prop("RECURRENCE-ID;range=thisandfuture;TZID=Europe/Paris:20260112T090000"),
            &zones(),
        )?;
        assert!(id.value.this_and_future);
        assert_eq!(id.value.value, zoned(date(2026, 1, 12).at(9, 0, 0, 0), "Europe/Paris"));
        let plain = recurrence_id(&prop("RECURRENCE-ID;VALUE=DATE:20260112"), &zones())?;
        assert!(!plain.value.this_and_future);
        let prior = recurrence_id(&prop("RECURRENCE-ID;RANGE=THISANDPRIOR:20260112"), &zones())?;
        assert!(!prior.value.this_and_future && prior.issues.len() == 1);
        let written = recurrence_id_property(&id.value)?;
        assert_eq!(recurrence_id(&written, &zones())?.value, id.value);
        assert_eq!(written.param_value("RANGE"), Some("THISANDFUTURE"));
        Ok(())
    }

    #[test]
    fn durations_and_text_lists() -> Result<()> {
        let d = duration(&prop("DURATION:P1DT2H"))?;
        assert_eq!(d, Duration { days: 1, seconds: 7200, ..Duration::default() });
        assert_eq!(duration_property("DURATION", &d).value, "P1DT2H");
        assert!(duration(&prop("DURATION:1H")).is_err());
        let categories = prop("CATEGORIES:Work,Project\\, secret,Über");
        assert_eq!(categories.text_list(), vec!["Work", "Project, secret", "Über"]);
        Ok(())
    }

    #[test]
    fn writers_produce_strict_forms_that_read_back() -> Result<()> {
        let values = [
            TimeValue::Date(date(2026, 3, 15)),
            TimeValue::Floating(date(2026, 3, 15).at(9, 5, 7, 0)),
            zoned(date(2026, 3, 15).at(9, 0, 0, 0), "America/New_York"),
            TimeValue::Utc(
                "2026-03-15T08:00:00.5Z".parse().map_err(|_| Error::InvalidInput("ts".into()))?,
            ),
        ];
        let expected = [
            "DTSTART;VALUE=DATE:20260315",
            "DTSTART:20260315T090507",
            "DTSTART;TZID=America/New_York:20260315T090000",
            "DTSTART:20260315T080000Z",
        ];
        for (value, line) in values.iter().zip(expected) {
            let property = time_property("DTSTART", value)?;
            let mut text = Component::new("X").with_property(property.clone()).to_ics()?;
            text = text.replace("BEGIN:X\r\n", "").replace("\r\nEND:X\r\n", "");
            assert_eq!(text, line);
            let back = time_value(&property, &zones())?.value;
            if let TimeValue::Utc(_) = value {
                assert_eq!(back.to_string(), "2026-03-15T08:00:00Z");
            } else {
                assert_eq!(&back, value);
            }
        }
        assert!(format_date(date(-5, 1, 1)).is_err());
        Ok(())
    }

    #[test]
    fn list_writers_group_by_kind_and_zone() -> Result<()> {
        let ny = |d: i8| zoned(date(2026, 1, d).at(9, 0, 0, 0), "America/New_York");
        let values =
            [ny(5), TimeValue::Date(date(2026, 1, 6)), ny(12), TimeValue::Date(date(2026, 1, 13))];
        let properties = time_list_properties("EXDATE", &values)?;
        assert_eq!(properties.len(), 2);
        assert_eq!(properties[0].value, "20260105T090000,20260112T090000");
        assert_eq!(properties[0].param_value("TZID"), Some("America/New_York"));
        assert_eq!(properties[1].value, "20260106,20260113");
        assert_eq!(properties[1].param_value("VALUE"), Some("DATE"));
        Ok(())
    }

    #[test]
    fn utc_offsets_parse_and_format() -> Result<()> {
        for (text, seconds, canonical) in [
            ("+0100", 3600, "+0100"),
            ("-0430", -16200, "-0430"),
            ("+053028", 19828, "+053028"),
            ("+01:00", 3600, "+0100"),
            ("-0000", 0, "+0000"),
        ] {
            let offset = parse_utc_offset(text)?;
            assert_eq!(offset.seconds(), seconds, "{text}");
            assert_eq!(format_utc_offset(offset), canonical);
        }
        for bad in ["", "+01000", "+0160", "abc"] {
            assert!(parse_utc_offset(bad).is_err(), "{bad}");
        }
        Ok(())
    }

    use super::super::component::Component;
}
