//! How the commands print times and read time arguments, and how free text is kept on one line.

use std::borrow::Cow;

use almanac_core::calendar::ical::{parse_date, parse_date_time};
use almanac_core::calendar::time::{TimeValue, resolve_local, time_zone};
use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Time};
use jiff::fmt::temporal::Pieces;
use jiff::tz::TimeZone;

use crate::fail::Failure;

/// Whether instants in `zone` are printed with `Z`: UTC itself, by any of its usual names.
fn is_utc(zone: &TimeZone) -> bool {
    zone.iana_name().is_some_and(|name| {
        ["UTC", "Etc/UTC", "Etc/UCT", "Etc/Zulu", "Etc/Universal"]
            .iter()
            .any(|utc| name.eq_ignore_ascii_case(utc))
    })
}

/// An instant as RFC 3339 in `zone`: `2026-03-15T09:00:00+01:00`, or `...Z` in UTC.
pub fn instant_in(instant: Timestamp, zone: &TimeZone) -> String {
    if is_utc(zone) {
        instant.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
    } else {
        instant.to_zoned_datetime(zone.clone()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
    }
}

/// A date as `YYYY-MM-DD`.
pub fn date(date: Date) -> String {
    date.strftime("%Y-%m-%d").to_string()
}

/// The first instant of `date` in `zone` (a day that starts in a daylight-saving gap starts
/// when the gap ends).
pub fn start_of_day(date: Date, zone: &TimeZone) -> Result<Timestamp, Failure> {
    Ok(resolve_local(date.to_datetime(Time::midnight()), zone)?)
}

/// Reads a date argument: `2026-01-01` or `20260101`.
pub fn parse_day(option: &str, text: &str) -> Result<Date, Failure> {
    parse_date(text.trim()).map_err(|_| {
        Failure::new(format!("{option}: '{text}' is not a date (expected YYYY-MM-DD or YYYYMMDD)"))
    })
}

/// Reads a point in time: RFC 3339 with `Z` or an offset (an instant), iCalendar basic form
/// (`20260101T090000Z` is an instant; without `Z` it is a wall time in `zone`), an ISO date-time
/// without offset (a wall time in `zone`), or a date (its first instant in `zone`).
pub fn parse_instant(option: &str, text: &str, zone: &TimeZone) -> Result<Timestamp, Failure> {
    let text = text.trim();
    if let Ok(instant) = text.parse::<Timestamp>() {
        return Ok(instant);
    }
    let invalid = || {
        Failure::new(format!(
            "{option}: '{text}' is not a time (expected RFC 3339 such as 2026-01-01T00:00:00Z, \
             a date such as 2026-01-01, or iCalendar basic form such as 20260101T000000Z)"
        ))
    };
    if text.contains(['T', 't']) {
        let (local, utc) = parse_date_time(text).map_err(|_| invalid())?;
        let zone = if utc { &TimeZone::UTC } else { zone };
        return Ok(resolve_local(local, zone)?);
    }
    let day = parse_date(text).map_err(|_| invalid())?;
    start_of_day(day, zone)
}

/// The clock an event time without a date-only form is read on: what a wall time such as
/// `2026-03-10T09:00` means, and how an instant such as `...Z` is kept.
pub enum Clock {
    /// No zone: a wall time stays floating (the same clock time for every viewer), an instant is
    /// kept as UTC.
    Floating,
    /// Wall times are in this zone; an instant becomes its wall time there, so the event follows
    /// the zone's daylight-saving rules.
    Zoned {
        /// The IANA id as stored on the event.
        name: String,
        /// The zone itself.
        zone: TimeZone,
    },
    /// A UTC event: wall times are read as UTC.
    Utc,
}

impl Clock {
    /// The clock of `--zone`: the zone if one is named, floating otherwise.
    pub fn for_zone(option: &str, name: Option<&str>) -> Result<Clock, Failure> {
        let Some(name) = name else { return Ok(Clock::Floating) };
        let zone = time_zone(name).map_err(|_| {
            Failure::new(format!(
                "{option}: unknown time zone '{name}' (expected an IANA id such as Europe/Paris)"
            ))
        })?;
        // The database's own spelling, so `europe/paris` is stored as `Europe/Paris`.
        let name = zone.iana_name().unwrap_or(name).to_owned();
        Ok(Clock::Zoned { name, zone })
    }

    /// The clock an existing event time is on, for new values that keep its kind and zone.
    pub fn of(value: &TimeValue) -> Result<Clock, Failure> {
        match value {
            TimeValue::Date(_) | TimeValue::Floating(_) => Ok(Clock::Floating),
            TimeValue::Zoned { zone, .. } => Clock::for_zone("the event's zone", Some(zone)),
            TimeValue::Utc(_) => Ok(Clock::Utc),
        }
    }

    fn wall(&self, local: DateTime) -> Result<TimeValue, Failure> {
        Ok(match self {
            Clock::Floating => TimeValue::Floating(local),
            Clock::Zoned { name, .. } => TimeValue::Zoned { local, zone: name.as_str().into() },
            Clock::Utc => TimeValue::Utc(resolve_local(local, &TimeZone::UTC)?),
        })
    }

    fn instant(&self, instant: Timestamp) -> TimeValue {
        match self {
            Clock::Floating | Clock::Utc => TimeValue::Utc(instant),
            Clock::Zoned { name, zone } => {
                TimeValue::Zoned { local: zone.to_datetime(instant), zone: name.as_str().into() }
            }
        }
    }
}

/// Reads an event time: a date (`2026-03-10`, all-day), a wall time (`2026-03-10T09:00`,
/// `2026-03-10T09:00:00`, read on `clock`) or an instant (RFC 3339 with `Z` or an offset, or
/// iCalendar basic form ending in `Z`; see [`Clock`] for how it is kept).
pub fn parse_event_time(option: &str, text: &str, clock: &Clock) -> Result<TimeValue, Failure> {
    let text = text.trim();
    if let Ok(instant) = text.parse::<Timestamp>() {
        return Ok(clock.instant(instant));
    }
    let invalid = || {
        Failure::new(format!(
            "{option}: '{text}' is not a date or time (expected a date such as 2026-03-10, a \
             local date-time such as 2026-03-10T09:00, or RFC 3339 such as 2026-03-10T09:00:00Z \
             or 2026-03-10T09:00:00+01:00)"
        ))
    };
    if text.contains(['T', 't']) {
        let (local, utc) = parse_date_time(text).map_err(|_| invalid())?;
        if utc {
            return Ok(clock.instant(resolve_local(local, &TimeZone::UTC)?));
        }
        return clock.wall(local);
    }
    parse_date(text).map(TimeValue::Date).map_err(|_| invalid())
}

/// The wall-clock reading of a date-time as written, whatever its offset says:
/// `2026-01-13T07:00:00+09:00` reads 07:00. This is how a floating time printed in a viewer's
/// zone is read back.
pub fn parse_wall_reading(text: &str) -> Option<DateTime> {
    let text = text.trim();
    if text.parse::<Timestamp>().is_ok() {
        let pieces = Pieces::parse(text).ok()?;
        return Some(pieces.date().to_datetime(pieces.time()?));
    }
    parse_date_time(text).ok().map(|(local, _utc)| local)
}

/// `1 event`, `2 events`.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Free text (an id, a title) on one line: control characters are escaped (`\t`, `\n`,
/// `\u{1b}`) so a line-oriented output stays one record per line.
pub fn one_line(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use almanac_core::calendar::time::time_zone;

    #[test]
    fn instants_print_with_their_zone_offset_or_z() -> Result<(), Failure> {
        let instant: Timestamp = "1997-09-02T13:00:00Z".parse().map_err(|_| Failure::new("ts"))?;
        assert_eq!(instant_in(instant, &TimeZone::UTC), "1997-09-02T13:00:00Z");
        assert_eq!(instant_in(instant, &time_zone("Etc/UTC")?), "1997-09-02T13:00:00Z");
        let ny = time_zone("America/New_York")?;
        assert_eq!(instant_in(instant, &ny), "1997-09-02T09:00:00-04:00");
        Ok(())
    }

    #[test]
    fn time_arguments_in_every_accepted_form() -> Result<(), Failure> {
        let ny = time_zone("America/New_York")?;
        let read = |text: &str| parse_instant("--from", text, &ny).map(|t| t.to_string());
        assert_eq!(read("2026-01-01T00:00:00Z")?, "2026-01-01T00:00:00Z");
        assert_eq!(read("2026-01-01T00:00:00+01:00")?, "2025-12-31T23:00:00Z");
        assert_eq!(read("20260101T000000Z")?, "2026-01-01T00:00:00Z");
        assert_eq!(read("20260101T000000")?, "2026-01-01T05:00:00Z");
        assert_eq!(read("2026-01-01T00:00:00")?, "2026-01-01T05:00:00Z");
        assert_eq!(read("2026-01-01")?, "2026-01-01T05:00:00Z");
        assert_eq!(read("20260101")?, "2026-01-01T05:00:00Z");
        for bad in ["", "tomorrow", "2026-13-01", "2026-01-01T25:00"] {
            assert!(read(bad).is_err(), "{bad}");
        }
        Ok(())
    }

    #[test]
    fn event_times_keep_their_kind_on_each_clock() -> Result<(), Failure> {
        let paris = Clock::for_zone("--zone", Some("europe/paris"))?;
        let read = |text: &str, clock: &Clock| parse_event_time("--start", text, clock);
        let wall = jiff::civil::date(2026, 3, 10).at(9, 0, 0, 0);
        let zoned = TimeValue::Zoned { local: wall, zone: "Europe/Paris".into() };
        let nine_utc: Timestamp = "2026-03-10T09:00:00Z".parse().map_err(|_| Failure::new("ts"))?;
        assert_eq!(read("2026-03-10", &paris)?, TimeValue::Date(jiff::civil::date(2026, 3, 10)));
        assert_eq!(read("2026-03-10T09:00", &paris)?, zoned);
        assert_eq!(read("2026-03-10T08:00:00Z", &paris)?, zoned);
        assert_eq!(read("2026-03-10T09:00:00+01:00", &paris)?, zoned);
        assert_eq!(read("2026-03-10T09:00:00", &Clock::Floating)?, TimeValue::Floating(wall));
        assert_eq!(read("2026-03-10T09:00:00Z", &Clock::Floating)?, TimeValue::Utc(nine_utc));
        assert_eq!(read("20260310T090000Z", &Clock::Floating)?, TimeValue::Utc(nine_utc));
        assert_eq!(read("2026-03-10T09:00", &Clock::Utc)?, TimeValue::Utc(nine_utc));
        for bad in [
            "",
            "soon",
            "2026-02-30",
            "2026-03-10T24:30",
            "2026-03-10T09:00+99:00",
            "2026-03-10T09",
        ] {
            assert!(read(bad, &Clock::Floating).is_err(), "{bad}");
        }
        assert!(Clock::for_zone("--zone", Some("Mars/Olympus")).is_err());
        Ok(())
    }

    #[test]
    fn a_wall_reading_ignores_the_offset() {
        let seven = Some(jiff::civil::date(2026, 1, 13).at(7, 0, 0, 0));
        assert_eq!(parse_wall_reading("2026-01-13T07:00:00+09:00"), seven);
        assert_eq!(parse_wall_reading("2026-01-13T07:00:00Z"), seven);
        assert_eq!(parse_wall_reading("2026-01-13T07:00"), seven);
        assert_eq!(parse_wall_reading("2026-01-13"), None);
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(one_line("Standup"), "Standup");
        assert_eq!(one_line("a\tb\nc"), "a\\tb\\nc");
        assert_eq!(one_line("x\u{1b}y"), "x\\u{1b}y");
    }
}
