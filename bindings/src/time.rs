//! Time values as they cross the boundary: plain strings and numbers the platform layers turn
//! into `Date`/`TimeZone` (Swift) and `java.time` (Kotlin). Wall times are ISO 8601 text so no
//! platform calendar arithmetic is involved in what is stored; instants are Unix seconds.

use almanac_core::calendar::event::{End, Timing};
use almanac_core::calendar::time::{Duration, TimeValue, time_zone};
use jiff::Timestamp;
use jiff::civil::{Date, DateTime};

use crate::error::AlmanacError;

/// When something happens, as written on the event (the four kinds iCalendar has).
#[derive(Clone, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum EventTime {
    /// An all-day date, `YYYY-MM-DD`.
    Date {
        /// `2026-03-29`.
        date: String,
    },
    /// A wall time in an IANA zone: the same clock time in that zone, whatever its offset.
    Zoned {
        /// `2026-03-29T09:00:00`.
        local: String,
        /// `Europe/Paris`.
        zone: String,
    },
    /// A wall time with no zone: read in the viewer's zone.
    Floating {
        /// `2026-03-29T09:00:00`.
        local: String,
    },
    /// An instant.
    Utc {
        /// Seconds since 1970-01-01T00:00:00Z.
        epoch_seconds: i64,
    },
}

/// How an event's end is given.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum EventEnd {
    /// An explicit end of the same kind as the start (exclusive).
    At {
        /// The end.
        time: EventTime,
    },
    /// A length: days follow the wall clock (23 or 25 hours across a DST change), seconds are
    /// exact. An all-day event lasts whole days (`seconds` = 0).
    After {
        /// Whole days.
        days: i32,
        /// Exact seconds.
        seconds: i64,
    },
}

fn invalid(message: String) -> AlmanacError {
    AlmanacError::InvalidInput { message }
}

fn parse_local(text: &str) -> Result<DateTime, AlmanacError> {
    text.parse::<DateTime>()
        .map_err(|_| invalid(format!("'{text}' is not a wall time; expected YYYY-MM-DDTHH:MM:SS")))
}

impl TryFrom<&EventTime> for TimeValue {
    type Error = AlmanacError;

    fn try_from(time: &EventTime) -> Result<Self, AlmanacError> {
        Ok(match time {
            EventTime::Date { date } => TimeValue::Date(
                date.parse::<Date>()
                    .map_err(|_| invalid(format!("'{date}' is not a date; expected YYYY-MM-DD")))?,
            ),
            EventTime::Floating { local } => TimeValue::Floating(parse_local(local)?),
            EventTime::Zoned { local, zone } => {
                // Checked here so a typo fails the call instead of every later query.
                time_zone(zone)?;
                TimeValue::Zoned { local: parse_local(local)?, zone: zone.as_str().into() }
            }
            EventTime::Utc { epoch_seconds } => {
                TimeValue::Utc(Timestamp::from_second(*epoch_seconds).map_err(|_| {
                    invalid(format!("{epoch_seconds} seconds is outside the supported range"))
                })?)
            }
        })
    }
}

impl From<&TimeValue> for EventTime {
    fn from(value: &TimeValue) -> Self {
        match value {
            TimeValue::Date(date) => EventTime::Date { date: date.to_string() },
            TimeValue::Floating(local) => EventTime::Floating { local: wall_time(local) },
            TimeValue::Zoned { local, zone } => {
                EventTime::Zoned { local: wall_time(local), zone: zone.to_string() }
            }
            TimeValue::Utc(instant) => EventTime::Utc { epoch_seconds: instant.as_second() },
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SS`. Every occurrence of a month view formats two of these, so the
/// common years are written directly: `strftime` parses its pattern on every call, which made
/// it a fifth of the bindings' cost on top of the core's query (W9, decision 0023).
fn wall_time(local: &DateTime) -> String {
    if (0..=9999).contains(&local.year()) {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            local.year(),
            local.month(),
            local.day(),
            local.hour(),
            local.minute(),
            local.second()
        )
    } else {
        local.strftime("%Y-%m-%dT%H:%M:%S").to_string()
    }
}

/// The core timing of `start` + `end`, validated (end not before start, kinds that agree).
pub(crate) fn timing(start: &EventTime, end: &EventEnd) -> Result<Timing, AlmanacError> {
    let end = match end {
        EventEnd::At { time } => End::At(time.try_into()?),
        EventEnd::After { days, seconds } => {
            End::After(Duration { weeks: 0, days: *days, seconds: *seconds })
        }
    };
    let timing = Timing { start: start.try_into()?, end };
    timing.validate()?;
    Ok(timing)
}

pub(crate) fn end_of(timing: &Timing) -> EventEnd {
    match &timing.end {
        End::At(time) => EventEnd::At { time: time.into() },
        End::After(duration) => EventEnd::After {
            days: duration.weeks.saturating_mul(7).saturating_add(duration.days),
            seconds: duration.seconds,
        },
    }
}

pub(crate) fn instant(epoch_seconds: i64) -> Result<Timestamp, AlmanacError> {
    Timestamp::from_second(epoch_seconds)
        .map_err(|_| invalid(format!("{epoch_seconds} seconds is outside the supported range")))
}

pub(crate) fn check_zone(zone: &str) -> Result<(), AlmanacError> {
    time_zone(zone)?;
    Ok(())
}

/// The version of the IANA tz database compiled into the library (e.g. `2026f`). Every
/// device with the same library computes the same instants, whatever the OS's tzdata.
#[uniffi::export]
pub fn tz_database_version() -> String {
    almanac_core::calendar::time::tzdb_version().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_times_are_written_as_strftime_writes_them() {
        use jiff::civil::date;
        for local in [
            date(2026, 3, 29).at(9, 0, 0, 0),
            date(0, 1, 1).at(0, 0, 0, 0),
            date(9999, 12, 31).at(23, 59, 59, 0),
            date(2026, 7, 4).at(5, 6, 7, 891_000_000),
            date(-1, 6, 15).at(12, 0, 0, 0),
        ] {
            let expected = local.strftime("%Y-%m-%dT%H:%M:%S").to_string();
            assert_eq!(wall_time(&local), expected, "{local}");
        }
    }
}
