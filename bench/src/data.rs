//! The generated calendar every system stores, and the month-view rule the peers are answered
//! with. One calendar; events of eleven fields; 10% are weekly series of one year (COUNT=52), the
//! rest one-hour single events, spread over the years before 2027 (as in `core/benches`).

use std::collections::HashMap;

use jiff::civil::{Date, DateTime, date};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

/// The calendar (and, for Almanac, the space) every event belongs to.
pub const CALENDAR: &str = "work";

/// A field value as the peers store it.
#[derive(Clone, Debug, PartialEq)]
pub enum Field {
    Text(String),
    Null,
}

/// One generated event, in the shape each adapter turns into its own writes.
#[derive(Clone, Debug)]
pub struct Event {
    pub id: String,
    pub local_start: DateTime,
    pub zone: &'static str,
    pub duration_secs: i64,
    pub weekly_count: Option<u32>,
    pub title: String,
}

impl Event {
    /// The eleven fields of the peers' event map. Almanac stores the same eleven (calendar, uid,
    /// timing, rule and the seven scalars) through its calendar API; the peers get timing and
    /// rule as compact strings so that no system pays for a richer encoding than another.
    pub fn fields(&self) -> Vec<(&'static str, Field)> {
        let t = |s: &str| Field::Text(s.to_owned());
        vec![
            ("calendar", t(CALENDAR)),
            ("uid", t(&self.id)),
            ("timing", Field::Text(self.timing())),
            ("rule", self.rule().map_or(Field::Null, Field::Text)),
            ("title", t(&self.title)),
            ("location", t("Room 4")),
            ("notes", t("Bring the quarterly numbers.")),
            ("status", t("CONFIRMED")),
            ("availability", t("OPAQUE")),
            ("color", t("blue")),
            ("organizer", t("mailto:me@example.com")),
        ]
    }

    pub fn timing(&self) -> String {
        format!(
            "{}|{}|{}",
            self.local_start.strftime("%Y-%m-%dT%H:%M"),
            self.zone,
            self.duration_secs
        )
    }

    pub fn rule(&self) -> Option<String> {
        self.weekly_count.map(|c| format!("FREQ=WEEKLY;COUNT={c}"))
    }
}

/// `count` events spread over `years` years ending 2026-12-31.
pub fn events(count: usize, years: i16) -> Vec<Event> {
    (0..count).map(|i| event(i, count, years)).collect()
}

pub fn event(i: usize, count: usize, years: i16) -> Event {
    let start = date(2027 - years, 1, 1);
    let days = i64::from(years) * 365;
    // A spread position plus a scatter, wrapped into the range. (Until 2026-12-01 the sum was
    // clamped to 2026-12-31 instead, which put about half of all events on that one day: the
    // large calendar's December view then held 55,000 occurrences.)
    let base = i as i64 * days / count as i64;
    let day = add_days(start, (base + i as i64 * 7919) % days);
    Event {
        id: format!("event-{i:06}"),
        local_start: day.at(8 + (i % 10) as i8, 0, 0, 0),
        zone: "Europe/Paris",
        duration_secs: 3600,
        weekly_count: i.is_multiple_of(10).then_some(52),
        title: format!("Meeting {i}"),
    }
}

fn add_days(d: Date, n: i64) -> Date {
    d.checked_add(n.days()).unwrap_or(d)
}

/// `[from, to)` of a calendar month in UTC.
pub fn month(year: i16, m: i8) -> (Timestamp, Timestamp) {
    let first = date(year, m, 1);
    let next = first.checked_add(1.month()).unwrap_or(first);
    (utc(first), utc(next))
}

pub fn week(year: i16, m: i8) -> (Timestamp, Timestamp) {
    let first = date(year, m, 1);
    (utc(first), utc(add_days(first, 7)))
}

fn utc(d: Date) -> Timestamp {
    d.to_zoned_datetime(TimeZone::UTC).map(|z| z.timestamp()).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// What an app built on a peer does to answer a month view: read each event's timing and rule
/// out of the document and expand it. Only the weekly rules this data uses are understood,
/// which makes the peers' expansion cheaper than Almanac's full RFC 5545 expander.
#[derive(Default)]
pub struct Expander {
    zones: HashMap<String, TimeZone>,
}

impl Expander {
    /// Occurrences of one event overlapping `[from, to)`.
    pub fn count(
        &mut self,
        timing: &str,
        rule: Option<&str>,
        from: Timestamp,
        to: Timestamp,
    ) -> usize {
        let mut parts = timing.split('|');
        let (Some(local), Some(zone), Some(secs)) = (parts.next(), parts.next(), parts.next())
        else {
            return 0;
        };
        let Ok(local) = local.parse::<DateTime>() else { return 0 };
        let secs: i64 = secs.parse().unwrap_or(0);
        if !self.zones.contains_key(zone) {
            let Ok(tz) = TimeZone::get(zone) else { return 0 };
            self.zones.insert(zone.to_owned(), tz);
        }
        let Some(tz) = self.zones.get(zone) else { return 0 };
        let count: u32 = rule
            .and_then(|r| r.strip_prefix("FREQ=WEEKLY;COUNT="))
            .and_then(|c| c.parse().ok())
            .unwrap_or(1);
        let mut n = 0;
        for k in 0..count {
            let Ok(at) = local.checked_add((i64::from(k) * 7).days()) else { break };
            let Ok(start) = tz.to_timestamp(at) else { continue };
            if start >= to {
                break;
            }
            if start.as_second() + secs > from.as_second() {
                n += 1;
            }
        }
        n
    }
}
