//! The RFC 5545 §3.3.10 `RECUR` value: its data type, a lenient parser, the RFC's validity rules
//! and a canonical text form.
//!
//! Parsing is lenient about spelling (case, spaces, a leading `RRULE:`, a trailing `;`, repeated
//! list entries) because imported files are written by many producers, and strict about meaning:
//! a rule the RFC forbids, or one whose meaning we would have to guess, is refused with a message
//! naming the offending part. `parse` normalises lists (sorted, without duplicates), so two
//! spellings of the same rule compare equal, and `Display` writes the canonical form back.

use std::fmt;

use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use crate::calendar::time::{TimeValue, resolve_local, time_zone};
use crate::error::{Error, Result};

/// How often a rule repeats (`FREQ`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub enum Frequency {
    /// Every second (`SECONDLY`).
    Secondly,
    /// Every minute (`MINUTELY`).
    Minutely,
    /// Every hour (`HOURLY`).
    Hourly,
    /// Every day (`DAILY`).
    Daily,
    /// Every week (`WEEKLY`).
    Weekly,
    /// Every month (`MONTHLY`).
    Monthly,
    /// Every year (`YEARLY`).
    Yearly,
}

impl Frequency {
    /// The iCalendar name, for example `WEEKLY`.
    pub fn as_str(self) -> &'static str {
        match self {
            Frequency::Secondly => "SECONDLY",
            Frequency::Minutely => "MINUTELY",
            Frequency::Hourly => "HOURLY",
            Frequency::Daily => "DAILY",
            Frequency::Weekly => "WEEKLY",
            Frequency::Monthly => "MONTHLY",
            Frequency::Yearly => "YEARLY",
        }
    }

    fn parse(text: &str) -> Option<Frequency> {
        Some(match text {
            "SECONDLY" => Frequency::Secondly,
            "MINUTELY" => Frequency::Minutely,
            "HOURLY" => Frequency::Hourly,
            "DAILY" => Frequency::Daily,
            "WEEKLY" => Frequency::Weekly,
            "MONTHLY" => Frequency::Monthly,
            "YEARLY" => Frequency::Yearly,
            _ => return None,
        })
    }
}

impl fmt::Display for Frequency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A day of the week, as used by `BYDAY` and `WKST`.
///
/// Our own type rather than `jiff::civil::Weekday` because it must serialise, and its order
/// (Monday first) is the order `Display` writes `BYDAY` lists in.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub enum Weekday {
    /// `MO`
    Monday,
    /// `TU`
    Tuesday,
    /// `WE`
    Wednesday,
    /// `TH`
    Thursday,
    /// `FR`
    Friday,
    /// `SA`
    Saturday,
    /// `SU`
    Sunday,
}

impl From<jiff::civil::Weekday> for Weekday {
    fn from(day: jiff::civil::Weekday) -> Weekday {
        match day {
            jiff::civil::Weekday::Monday => Weekday::Monday,
            jiff::civil::Weekday::Tuesday => Weekday::Tuesday,
            jiff::civil::Weekday::Wednesday => Weekday::Wednesday,
            jiff::civil::Weekday::Thursday => Weekday::Thursday,
            jiff::civil::Weekday::Friday => Weekday::Friday,
            jiff::civil::Weekday::Saturday => Weekday::Saturday,
            jiff::civil::Weekday::Sunday => Weekday::Sunday,
        }
    }
}

impl Weekday {
    const ALL: [Weekday; 7] = [
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
        Weekday::Saturday,
        Weekday::Sunday,
    ];

    /// The two-letter iCalendar code, for example `MO`.
    pub fn code(self) -> &'static str {
        match self {
            Weekday::Monday => "MO",
            Weekday::Tuesday => "TU",
            Weekday::Wednesday => "WE",
            Weekday::Thursday => "TH",
            Weekday::Friday => "FR",
            Weekday::Saturday => "SA",
            Weekday::Sunday => "SU",
        }
    }

    /// 0 for Monday … 6 for Sunday.
    pub fn index(self) -> u8 {
        self as u8
    }

    /// The weekday of a civil date.
    pub fn of(date: Date) -> Weekday {
        let index = date.weekday().to_monday_zero_offset().rem_euclid(7);
        Weekday::ALL[usize::from(index.unsigned_abs())]
    }

    fn parse(code: &str) -> Option<Weekday> {
        Weekday::ALL.into_iter().find(|day| day.code() == code)
    }
}

impl fmt::Display for Weekday {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// One `BYDAY` entry: a weekday, optionally the nth (`2TU`) or nth-from-last (`-1FR`) of its
/// month or year.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub struct WeekdayNum {
    /// Which weekday.
    pub weekday: Weekday,
    /// `None` for every such weekday; `Some(n)` with n in 1..=53 or -53..=-1 otherwise.
    pub ordinal: Option<i8>,
}

impl WeekdayNum {
    /// Every `weekday` of the period.
    pub fn every(weekday: Weekday) -> WeekdayNum {
        WeekdayNum { weekday, ordinal: None }
    }

    /// The `ordinal`th `weekday` of the month or year (negative counts from the end).
    pub fn nth(ordinal: i8, weekday: Weekday) -> WeekdayNum {
        WeekdayNum { weekday, ordinal: Some(ordinal) }
    }
}

impl fmt::Display for WeekdayNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(ordinal) = self.ordinal {
            write!(f, "{ordinal}")?;
        }
        f.write_str(self.weekday.code())
    }
}

/// A recurrence rule (`RRULE` value, RFC 5545 §3.3.10).
///
/// Empty lists mean the part is absent. The fields are public so apps can build rules in code;
/// [`RecurrenceRule::validate`] checks such a rule the same way [`RecurrenceRule::parse`] does,
/// and expansion validates before it starts.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct RecurrenceRule {
    /// `FREQ`.
    pub frequency: Frequency,
    /// `INTERVAL`, at least 1.
    pub interval: u32,
    /// `COUNT`: how many occurrences the rule makes, DTSTART included.
    pub count: Option<u32>,
    /// `UNTIL`: the inclusive end of the rule. See `docs/decisions/0010-recurrence-rules.md` for
    /// how a value of another kind than the series start is compared.
    pub until: Option<TimeValue>,
    /// `BYSECOND`, 0..=60 (60, a leap second, is kept but never matches).
    pub by_second: Vec<u8>,
    /// `BYMINUTE`, 0..=59.
    pub by_minute: Vec<u8>,
    /// `BYHOUR`, 0..=23.
    pub by_hour: Vec<u8>,
    /// `BYDAY`.
    pub by_day: Vec<WeekdayNum>,
    /// `BYMONTHDAY`, 1..=31 or -31..=-1.
    pub by_month_day: Vec<i8>,
    /// `BYYEARDAY`, 1..=366 or -366..=-1.
    pub by_year_day: Vec<i16>,
    /// `BYWEEKNO`, 1..=53 or -53..=-1 (weeks start on `week_start`).
    pub by_week_no: Vec<i8>,
    /// `BYMONTH`, 1..=12.
    pub by_month: Vec<u8>,
    /// `BYSETPOS`, 1..=366 or -366..=-1.
    pub by_set_pos: Vec<i32>,
    /// `WKST`, Monday unless given.
    pub week_start: Weekday,
    /// Non-standard `X-NAME=value` parts, kept verbatim (names upper-cased) so an imported rule
    /// is written back unchanged; they never change the expansion.
    pub extensions: Vec<(String, String)>,
}

impl RecurrenceRule {
    /// A rule with only `FREQ` set: every interval of `frequency`, forever.
    pub fn new(frequency: Frequency) -> RecurrenceRule {
        RecurrenceRule {
            frequency,
            interval: 1,
            count: None,
            until: None,
            by_second: Vec::new(),
            by_minute: Vec::new(),
            by_hour: Vec::new(),
            by_day: Vec::new(),
            by_month_day: Vec::new(),
            by_year_day: Vec::new(),
            by_week_no: Vec::new(),
            by_month: Vec::new(),
            by_set_pos: Vec::new(),
            week_start: Weekday::Monday,
            extensions: Vec::new(),
        }
    }

    /// Parses a `RECUR` value such as `FREQ=MONTHLY;BYDAY=-1FR`, with or without a leading
    /// `RRULE:`. Lenient about case, spaces and empty parts; every list comes back sorted and
    /// without duplicates. Fails, naming the part, on anything the RFC forbids.
    pub fn parse(text: &str) -> Result<RecurrenceRule> {
        parse_rule(text)
            .map_err(|why| Error::InvalidInput(format!("recurrence rule '{}': {why}", text.trim())))
    }

    /// Parses a rule as [`RecurrenceRule::parse`] does, but when some parts are invalid keeps
    /// the largest valid rule it can build from the parts in file order and says what it
    /// dropped (`"COUNT=-1: …"`). An imported event keeps its repetition rather than becoming a
    /// single event because of one bad part (issue 10). Fails when nothing can be kept: no
    /// readable `FREQ`, or a calendar scale (`RSCALE`/`SKIP`), which changes every date and
    /// cannot be dropped without inventing dates.
    pub fn parse_salvaged(text: &str) -> Result<(RecurrenceRule, Vec<String>)> {
        let strict = match parse_rule(text) {
            Ok(rule) => return Ok((rule, Vec::new())),
            Err(why) => why,
        };
        let fail =
            |why: &str| Error::InvalidInput(format!("recurrence rule '{}': {why}", text.trim()));
        let mut body = text.trim();
        if let Some(prefix) = body.get(..6).filter(|p| p.eq_ignore_ascii_case("RRULE:")) {
            body = body[prefix.len()..].trim_start();
        }
        let parts: Vec<&str> = body.split(';').map(str::trim).filter(|p| !p.is_empty()).collect();
        let name_of = |part: &str| {
            part.split_once('=').map_or(String::new(), |(n, _)| n.trim().to_ascii_uppercase())
        };
        if parts.iter().any(|p| matches!(name_of(p).as_str(), "RSCALE" | "SKIP")) {
            return Err(fail(&strict));
        }
        let Some(freq) = parts.iter().find(|p| name_of(p) == "FREQ" && parse_rule(p).is_ok())
        else {
            return Err(fail(&strict));
        };
        // BYSETPOS selects among what the other parts produce, so it is tried after them.
        let mut others: Vec<&str> =
            parts.iter().copied().filter(|p| !std::ptr::eq(*p, *freq)).collect();
        others.sort_by_key(|p| name_of(p) == "BYSETPOS");
        let mut kept = vec![*freq];
        let mut dropped = Vec::new();
        for part in others {
            kept.push(part);
            if let Err(why) = parse_rule(&kept.join(";")) {
                kept.pop();
                dropped.push(format!("{part}: {why}"));
            }
        }
        let rule = parse_rule(&kept.join(";")).map_err(|why| fail(&why))?;
        Ok((rule, dropped))
    }

    /// Checks the RFC's rules on a rule built in code: value ranges, `COUNT` with `UNTIL`, parts
    /// that are not allowed with the frequency, `BYSETPOS` alone.
    pub fn validate(&self) -> Result<()> {
        self.check().map_err(|why| Error::InvalidInput(format!("recurrence rule '{self}': {why}")))
    }

    /// Whether any `BYxxx` part other than `BYSETPOS` is present.
    pub(crate) fn has_by_parts(&self) -> bool {
        !(self.by_second.is_empty()
            && self.by_minute.is_empty()
            && self.by_hour.is_empty()
            && self.by_day.is_empty()
            && self.by_month_day.is_empty()
            && self.by_year_day.is_empty()
            && self.by_week_no.is_empty()
            && self.by_month.is_empty())
    }

    fn check(&self) -> std::result::Result<(), String> {
        use Frequency::*;
        if self.interval == 0 {
            return Err("INTERVAL=0 is not allowed; it must be at least 1".into());
        }
        if self.count == Some(0) {
            return Err("COUNT=0 is not allowed; it must be at least 1".into());
        }
        if self.count.is_some() && self.until.is_some() {
            return Err("COUNT and UNTIL cannot both be given; keep one of them".into());
        }
        check_range("BYSECOND", &self.by_second, 0, 60, "0..=60")?;
        check_range("BYMINUTE", &self.by_minute, 0, 59, "0..=59")?;
        check_range("BYHOUR", &self.by_hour, 0, 23, "0..=23")?;
        check_range("BYMONTH", &self.by_month, 1, 12, "1..=12")?;
        check_signed("BYMONTHDAY", &self.by_month_day, 31)?;
        check_signed("BYYEARDAY", &self.by_year_day, 366)?;
        check_signed("BYWEEKNO", &self.by_week_no, 53)?;
        check_signed("BYSETPOS", &self.by_set_pos, 366)?;
        for day in &self.by_day {
            if let Some(n) = day.ordinal {
                if n == 0 || !(-53..=53).contains(&n) {
                    return Err(format!(
                        "BYDAY={day} is out of range: the ordinal must be in 1..=53 or -53..=-1"
                    ));
                }
                if !matches!(self.frequency, Monthly | Yearly) {
                    return Err(format!(
                        "BYDAY={day} has an ordinal, which is only allowed with FREQ=MONTHLY or \
                         FREQ=YEARLY (not {})",
                        self.frequency
                    ));
                }
                if !self.by_week_no.is_empty() {
                    return Err(format!(
                        "BYDAY={day} has an ordinal, which is not allowed together with BYWEEKNO"
                    ));
                }
            }
        }
        if !self.by_week_no.is_empty() && self.frequency != Yearly {
            return Err(format!(
                "BYWEEKNO is only allowed with FREQ=YEARLY (not {})",
                self.frequency
            ));
        }
        if !self.by_year_day.is_empty() && matches!(self.frequency, Daily | Weekly | Monthly) {
            return Err(format!("BYYEARDAY is not allowed with FREQ={}", self.frequency));
        }
        if !self.by_month_day.is_empty() && self.frequency == Weekly {
            return Err("BYMONTHDAY is not allowed with FREQ=WEEKLY".into());
        }
        if !self.by_set_pos.is_empty() && !self.has_by_parts() {
            return Err("BYSETPOS needs another BYxxx part to select from".into());
        }
        for (name, _) in &self.extensions {
            if !is_extension_name(name) {
                return Err(format!("'{name}' is not an extension part name (X-NAME)"));
            }
        }
        Ok(())
    }

    fn normalize(&mut self) {
        for list in
            [&mut self.by_second, &mut self.by_minute, &mut self.by_hour, &mut self.by_month]
        {
            list.sort_unstable();
            list.dedup();
        }
        self.by_day.sort_unstable();
        self.by_day.dedup();
        self.by_month_day.sort_unstable();
        self.by_month_day.dedup();
        self.by_year_day.sort_unstable();
        self.by_year_day.dedup();
        self.by_week_no.sort_unstable();
        self.by_week_no.dedup();
        self.by_set_pos.sort_unstable();
        self.by_set_pos.dedup();
    }
}

fn check_range(name: &str, values: &[u8], min: u8, max: u8, range: &str) -> Result<(), String> {
    match values.iter().find(|v| **v < min || **v > max) {
        Some(v) => Err(format!("{name}={v} is out of range {range}")),
        None => Ok(()),
    }
}

fn check_signed<T>(name: &str, values: &[T], max: i32) -> Result<(), String>
where
    T: Copy + Into<i32> + fmt::Display,
{
    match values.iter().find(|v| {
        let v: i32 = (**v).into();
        v == 0 || v.abs() > max
    }) {
        Some(v) => Err(format!("{name}={v} is out of range 1..={max} or -{max}..=-1")),
        None => Ok(()),
    }
}

fn is_extension_name(name: &str) -> bool {
    name.len() > 2
        && name.starts_with("X-")
        && name.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
}

fn parse_rule(text: &str) -> std::result::Result<RecurrenceRule, String> {
    let mut body = text.trim();
    if let Some(prefix) = body.get(..6).filter(|p| p.eq_ignore_ascii_case("RRULE:")) {
        body = body[prefix.len()..].trim_start();
    }
    let mut frequency = None;
    let mut rule = RecurrenceRule::new(Frequency::Yearly);
    let mut seen: Vec<String> = Vec::new();
    for part in body.split(';').map(str::trim).filter(|part| !part.is_empty()) {
        let (name, value) =
            part.split_once('=').ok_or_else(|| format!("the part '{part}' has no '='"))?;
        let name = name.trim().to_ascii_uppercase();
        let raw_value = value.trim();
        let value = raw_value.to_ascii_uppercase();
        if seen.contains(&name) {
            return Err(format!("{name} is given twice"));
        }
        seen.push(name.clone());
        if value.is_empty() {
            return Err(format!("{name} has no value"));
        }
        match name.as_str() {
            "FREQ" => {
                frequency = Some(Frequency::parse(&value).ok_or_else(|| {
                    format!(
                        "FREQ={value} is not a frequency (SECONDLY, MINUTELY, HOURLY, DAILY, \
                         WEEKLY, MONTHLY or YEARLY)"
                    )
                })?);
            }
            "INTERVAL" => rule.interval = parse_unsigned("INTERVAL", &value)?,
            "COUNT" => rule.count = Some(parse_unsigned("COUNT", &value)?),
            "UNTIL" => rule.until = Some(parse_until(&value)?),
            "BYSECOND" => rule.by_second = parse_list(&name, &value, 0, 60)?,
            "BYMINUTE" => rule.by_minute = parse_list(&name, &value, 0, 59)?,
            "BYHOUR" => rule.by_hour = parse_list(&name, &value, 0, 23)?,
            "BYMONTH" => rule.by_month = parse_list(&name, &value, 1, 12)?,
            "BYMONTHDAY" => rule.by_month_day = parse_list(&name, &value, -31, 31)?,
            "BYYEARDAY" => rule.by_year_day = parse_list(&name, &value, -366, 366)?,
            "BYWEEKNO" => rule.by_week_no = parse_list(&name, &value, -53, 53)?,
            "BYSETPOS" => rule.by_set_pos = parse_list(&name, &value, -366, 366)?,
            "BYDAY" => {
                rule.by_day = items(&name, &value)?
                    .map(parse_weekday_num)
                    .collect::<std::result::Result<_, _>>()?;
            }
            "WKST" => {
                rule.week_start = Weekday::parse(&value).ok_or_else(|| {
                    format!("WKST={value} is not a weekday (MO, TU, WE, TH, FR, SA or SU)")
                })?;
            }
            "RSCALE" | "SKIP" => {
                return Err(format!(
                    "{name} (RFC 7529 calendar scales) is not supported; only the Gregorian \
                     calendar is"
                ));
            }
            other if is_extension_name(other) => {
                rule.extensions.push((name.clone(), raw_value.to_owned()));
            }
            other => return Err(format!("'{other}' is not a recurrence rule part")),
        }
    }
    rule.frequency = frequency.ok_or("FREQ is missing")?;
    rule.normalize();
    rule.check()?;
    Ok(rule)
}

fn items<'a>(
    name: &'a str,
    value: &'a str,
) -> std::result::Result<impl Iterator<Item = &'a str>, String> {
    let mut list = value.split(',').map(str::trim).filter(|item| !item.is_empty()).peekable();
    if list.peek().is_none() {
        return Err(format!("{name}={value} has no values"));
    }
    Ok(list)
}

fn parse_unsigned(name: &str, value: &str) -> std::result::Result<u32, String> {
    if !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{name}={value} is not a whole number"));
    }
    value.parse().map_err(|_| format!("{name}={value} is too large"))
}

fn parse_list<T>(name: &str, value: &str, min: i32, max: i32) -> std::result::Result<Vec<T>, String>
where
    T: TryFrom<i32>,
{
    items(name, value)?
        .map(|item| {
            let n = parse_signed(item).ok_or_else(|| format!("{name}={item} is not a number"))?;
            let in_range =
                if min < 0 { n != 0 && n.abs() <= max } else { (min..=max).contains(&n) };
            let range = if min < 0 {
                format!("1..={max} or -{max}..=-1")
            } else {
                format!("{min}..={max}")
            };
            match T::try_from(n) {
                Ok(v) if in_range => Ok(v),
                _ => Err(format!("{name}={item} is out of range {range}")),
            }
        })
        .collect()
}

fn parse_signed(text: &str) -> Option<i32> {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || digits.len() > 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i32 = digits.parse().ok()?;
    Some(if negative { -n } else { n })
}

fn parse_weekday_num(item: &str) -> std::result::Result<WeekdayNum, String> {
    let split = item.len().saturating_sub(2);
    let (ordinal, code) = (item.get(..split), item.get(split..));
    let weekday = code.and_then(Weekday::parse).ok_or_else(|| {
        format!("BYDAY={item} does not end in a weekday (MO, TU, WE, TH, FR, SA or SU)")
    })?;
    match ordinal {
        None | Some("") => Ok(WeekdayNum::every(weekday)),
        Some(ordinal) => {
            let n = parse_signed(ordinal)
                .ok_or_else(|| format!("BYDAY={item} has an ordinal that is not a number"))?;
            match i8::try_from(n) {
                Ok(n) if n != 0 && (-53..=53).contains(&n) => Ok(WeekdayNum::nth(n, weekday)),
                _ => Err(format!(
                    "BYDAY={item} is out of range: the ordinal must be in 1..=53 or -53..=-1"
                )),
            }
        }
    }
}

/// `YYYYMMDD`, `YYYYMMDDTHHMMSS` or `YYYYMMDDTHHMMSSZ`.
fn parse_until(value: &str) -> std::result::Result<TimeValue, String> {
    let invalid = || {
        format!(
            "UNTIL={value} is not a DATE (YYYYMMDD) or DATE-TIME (YYYYMMDDTHHMMSS, optionally \
             ending in Z)"
        )
    };
    let number = |range: std::ops::Range<usize>| -> std::result::Result<i16, String> {
        let digits = value.get(range).ok_or_else(invalid)?;
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        digits.parse().map_err(|_| invalid())
    };
    let out_of_range = |e: jiff::Error| format!("UNTIL={value} is not a valid date or time: {e}");
    let (year, month, day) = (number(0..4)?, number(4..6)?, number(6..8)?);
    let date = Date::new(
        year,
        month.try_into().map_err(|_| invalid())?,
        day.try_into().map_err(|_| invalid())?,
    )
    .map_err(out_of_range)?;
    match value.len() {
        8 => Ok(TimeValue::Date(date)),
        15 | 16 if value.as_bytes().get(8) == Some(&b'T') => {
            let utc = match value.as_bytes().get(15) {
                None => false,
                Some(b'Z') => true,
                Some(_) => return Err(invalid()),
            };
            let (hour, minute) = (number(9..11)?, number(11..13)?);
            // A leap second (60) is read as the last second of its minute: UNTIL is inclusive,
            // so nothing is lost, and jiff has no second 60.
            let second = number(13..15)?.min(59);
            let time = jiff::civil::Time::new(
                hour.try_into().map_err(|_| invalid())?,
                minute.try_into().map_err(|_| invalid())?,
                second.try_into().map_err(|_| invalid())?,
                0,
            )
            .map_err(out_of_range)?;
            let local = date.to_datetime(time);
            if utc {
                let instant = TimeZone::UTC.to_timestamp(local).map_err(out_of_range)?;
                Ok(TimeValue::Utc(instant))
            } else {
                Ok(TimeValue::Floating(local))
            }
        }
        _ => Err(invalid()),
    }
}

fn write_until(f: &mut fmt::Formatter<'_>, until: &TimeValue) -> fmt::Result {
    let local =
        |f: &mut fmt::Formatter<'_>, dt: DateTime| write!(f, "{}", dt.strftime("%Y%m%dT%H%M%S"));
    match until {
        TimeValue::Date(date) => write!(f, "{}", date.strftime("%Y%m%d")),
        TimeValue::Floating(dt) => local(f, *dt),
        TimeValue::Utc(instant) => write_utc(f, *instant),
        // The RFC has no zoned UNTIL: a zoned value is written as the instant it denotes, which
        // is what the RFC requires for zoned series. An unknown zone falls back to the wall time.
        TimeValue::Zoned { local: dt, zone } => {
            match time_zone(zone).and_then(|tz| resolve_local(*dt, &tz)) {
                Ok(instant) => write_utc(f, instant),
                Err(_) => local(f, *dt),
            }
        }
    }
}

fn write_utc(f: &mut fmt::Formatter<'_>, instant: Timestamp) -> fmt::Result {
    write!(f, "{}", instant.strftime("%Y%m%dT%H%M%SZ"))
}

fn write_list<T: fmt::Display>(f: &mut fmt::Formatter<'_>, name: &str, list: &[T]) -> fmt::Result {
    if list.is_empty() {
        return Ok(());
    }
    write!(f, ";{name}=")?;
    for (i, item) in list.iter().enumerate() {
        if i > 0 {
            f.write_str(",")?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

impl fmt::Display for RecurrenceRule {
    /// The canonical text: `FREQ` first, then `UNTIL`/`COUNT`, `INTERVAL` (unless 1), the `BYxxx`
    /// parts in the RFC's evaluation order with sorted lists, `WKST` (unless Monday), and the
    /// extensions as given. `parse` of this text gives back an equal rule.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rule = self.clone();
        rule.normalize();
        write!(f, "FREQ={}", rule.frequency)?;
        if let Some(until) = &rule.until {
            f.write_str(";UNTIL=")?;
            write_until(f, until)?;
        }
        if let Some(count) = rule.count {
            write!(f, ";COUNT={count}")?;
        }
        if rule.interval != 1 {
            write!(f, ";INTERVAL={}", rule.interval)?;
        }
        write_list(f, "BYMONTH", &rule.by_month)?;
        write_list(f, "BYWEEKNO", &rule.by_week_no)?;
        write_list(f, "BYYEARDAY", &rule.by_year_day)?;
        write_list(f, "BYMONTHDAY", &rule.by_month_day)?;
        write_list(f, "BYDAY", &rule.by_day)?;
        write_list(f, "BYHOUR", &rule.by_hour)?;
        write_list(f, "BYMINUTE", &rule.by_minute)?;
        write_list(f, "BYSECOND", &rule.by_second)?;
        write_list(f, "BYSETPOS", &rule.by_set_pos)?;
        if rule.week_start != Weekday::Monday {
            write!(f, ";WKST={}", rule.week_start)?;
        }
        for (name, value) in &rule.extensions {
            write!(f, ";{name}={value}")?;
        }
        Ok(())
    }
}
