//! Expansion of one recurrence rule into wall-clock times, one period of `FREQ` at a time.
//!
//! A rule is first compiled into a [`Plan`]: every `BYxxx` part becomes a bit set, and the
//! information the rule leaves out is taken from DTSTART (RFC 5545 §3.3.10). Periods are numbered
//! (years, months, weeks starting on `WKST`, days, hours, minutes, seconds since the civil epoch)
//! so that the iterator can start at any period aligned to the series start: that is what lets a
//! 2030 window of a 1990 daily rule skip 40 years at once. Each period yields the sorted
//! candidates that pass every filter, then `BYSETPOS` picks among them. Everything here is wall
//! clock; time zones are applied by the caller.

use jiff::civil::DateTime;

use super::rule::{Frequency, RecurrenceRule};
use crate::error::{Error, Result};

/// Periods in a row that may yield nothing before the rule is taken as exhausted. Real rules
/// match far more often (the sparsest, a Monday that is Feb 29, recurs within 40 years); the
/// bound only stops rules that can never match from walking to year 9999.
pub(crate) const MAX_BARREN_PERIODS: u32 = 50_000;

/// Periods plus candidates one query may examine. Reached only by dense rules that must be
/// counted from their start (`COUNT` on a SECONDLY rule queried decades later).
pub(crate) const MAX_STEPS: u64 = 10_000_000;

const MAX_YEAR: i32 = 9999;
const ALL_MONTHS: u16 = 0b1_1111_1111_1110;
const MIN_YEAR: i32 = -9999;

fn is_leap(year: i32) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn days_in_year(year: i32) -> u16 {
    if is_leap(year) { 366 } else { 365 }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (the classic era-based computation).
pub(crate) fn days_from_civil(year: i32, month: u8, day: u8) -> i64 {
    let (month, day) = (i64::from(month), i64::from(day));
    let year = i64::from(year) - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The inverse of [`days_from_civil`].
pub(crate) fn civil_from_days(days: i64) -> (i32, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    // The ranges are guaranteed by the arithmetic; saturating keeps it panic-free regardless.
    (
        i32::try_from(year).unwrap_or(i32::MAX),
        u8::try_from(month).unwrap_or(1),
        u8::try_from(day).unwrap_or(1),
    )
}

/// 0 for Monday … 6 for Sunday (1970-01-01 was a Thursday).
fn weekday_of(days: i64) -> u8 {
    u8::try_from((days + 3).rem_euclid(7)).unwrap_or(0)
}

/// The first day of week 1 of `year`: the week (starting on `wkst`) that holds January 4th,
/// which is the first week with at least four days in the year.
fn week_one_start(year: i32, wkst: u8) -> i64 {
    let jan4 = days_from_civil(year, 1, 4);
    jan4 - i64::from((weekday_of(jan4) + 7 - wkst) % 7)
}

/// A civil day with what the filters need to know about it.
#[derive(Clone, Copy)]
struct Day {
    days: i64,
    year: i32,
    month: u8,
    day: u8,
    weekday: u8,
    year_day: u16,
    year_len: u16,
    month_len: u8,
}

impl Day {
    fn new(days: i64) -> Day {
        let (year, month, day) = civil_from_days(days);
        let first_of_year = days_from_civil(year, 1, 1);
        Day {
            days,
            year,
            month,
            day,
            weekday: weekday_of(days),
            year_day: u16::try_from(days - first_of_year + 1).unwrap_or(1),
            year_len: days_in_year(year),
            month_len: days_in_month(year, month),
        }
    }
}

/// Where the iteration goes after a period.
enum Step {
    /// The period was expanded (possibly to nothing); go to the next aligned period.
    Next,
    /// Nothing can match before this period index; jump to the first aligned period at or
    /// after it.
    SkipTo(i64),
    /// Past the supported calendar range.
    End,
}

/// A rule compiled against its DTSTART.
pub(crate) struct Plan {
    frequency: Frequency,
    interval: i64,
    start: DateTime,
    start_period: i64,
    nanos: i32,
    /// Bit m set for each allowed month (all when `BYMONTH` is absent).
    months: u16,
    /// `BYDAY` ordinals of a YEARLY rule count within the year, unless `BYMONTH` is given.
    nth_in_year: bool,
    /// `BYWEEKNO`: bit n of `[from the start, from the end]`.
    week_nos: Option<[u64; 2]>,
    /// `BYYEARDAY`: bit n of `[from the start, from the end]`, 366 bits each.
    year_days: Option<Box<[[u64; 6]; 2]>>,
    /// `BYMONTHDAY`: bit n of `[from the start, from the end]`.
    month_days: Option<[u32; 2]>,
    /// `BYDAY` (given or implied): bit per weekday without ordinal, plus the ordinal entries.
    by_day: Option<(u8, Vec<(i8, u8)>)>,
    /// Times of day of a DAILY or longer period, sorted.
    times: Vec<(u8, u8, u8)>,
    /// Minutes and seconds expanded within an HOURLY or MINUTELY period.
    minutes: Vec<u8>,
    seconds: Vec<u8>,
    /// `BYHOUR`, `BYMINUTE`, `BYSECOND` as limits of the sub-daily frequencies.
    hour_mask: u32,
    minute_mask: u64,
    second_mask: u64,
    set_pos: Vec<i32>,
    wkst: u8,
    /// Week p starts on day `7 * p + week_offset`, a `WKST` weekday.
    week_offset: i64,
    /// The rule can never produce anything beyond DTSTART (for example February 30th).
    never: bool,
    /// Every period yields exactly one occurrence, so the nth period holds the nth occurrence:
    /// a `COUNT` rule can then skip ahead too.
    uniform: bool,
}

/// Bit n for value n (values outside 0..64 have none; validation keeps them out).
fn bit(n: i64) -> u64 {
    u32::try_from(n).ok().filter(|n| *n < 64).map_or(0, |n| 1 << n)
}

fn bits<T: Copy + Into<i64>>(values: &[T]) -> u64 {
    values.iter().fold(0, |acc, v| acc | bit((*v).into()))
}

/// `[positive values, negated negative values]` as bit sets.
fn signed_bits<T: Copy + Into<i64>>(values: &[T]) -> [u64; 2] {
    values.iter().fold([0, 0], |[positive, negative], v| {
        let v: i64 = (*v).into();
        if v > 0 { [positive | bit(v), negative] } else { [positive, negative | bit(-v)] }
    })
}

impl Plan {
    /// Compiles a validated rule for a series starting at the wall time `start`. An all-day
    /// series ignores BYHOUR, BYMINUTE and BYSECOND, as RFC 5545 §3.3.10 requires.
    pub(crate) fn new(rule: &RecurrenceRule, start: DateTime, all_day: bool) -> Plan {
        use Frequency::*;
        let frequency = rule.frequency;
        let start_day = Day::new(days_from_civil(
            i32::from(start.year()),
            start.month().unsigned_abs(),
            start.day().unsigned_abs(),
        ));
        let (h0, m0, s0) = (
            start.hour().unsigned_abs(),
            start.minute().unsigned_abs(),
            start.second().unsigned_abs(),
        );
        let empty = Vec::new();
        let (by_hour, by_minute, by_second) = if all_day {
            (&empty, &empty, &empty)
        } else {
            (&rule.by_hour, &rule.by_minute, &rule.by_second)
        };

        let has_day_parts = !(rule.by_week_no.is_empty()
            && rule.by_year_day.is_empty()
            && rule.by_month_day.is_empty()
            && rule.by_day.is_empty());
        let mut by_month: Vec<u8> = rule.by_month.clone();
        let mut by_month_day: Vec<i8> = rule.by_month_day.clone();
        let mut weekdays: Vec<u8> = Vec::new();
        // Information the rule leaves out comes from DTSTART (RFC 5545 §3.3.10).
        match frequency {
            Yearly if !has_day_parts => {
                by_month_day.push(i8::try_from(start_day.day).unwrap_or(1));
                if by_month.is_empty() {
                    by_month.push(start_day.month);
                }
            }
            // Decision 0010: a week number without a weekday means DTSTART's weekday.
            Yearly
                if rule.by_day.is_empty()
                    && rule.by_year_day.is_empty()
                    && rule.by_month_day.is_empty() =>
            {
                weekdays.push(start_day.weekday);
            }
            Monthly if rule.by_month_day.is_empty() && rule.by_day.is_empty() => {
                by_month_day.push(i8::try_from(start_day.day).unwrap_or(1));
            }
            Weekly if rule.by_day.is_empty() => weekdays.push(start_day.weekday),
            _ => {}
        }
        let mut nth = Vec::new();
        for day in &rule.by_day {
            match day.ordinal {
                None => weekdays.push(day.weekday.index()),
                Some(n) => nth.push((n, day.weekday.index())),
            }
        }
        let by_day = (!weekdays.is_empty() || !nth.is_empty())
            .then(|| (u8::try_from(bits(&weekdays)).unwrap_or(0), nth));

        let months = if by_month.is_empty() {
            ALL_MONTHS
        } else {
            u16::try_from(bits(&by_month)).unwrap_or(0)
        };
        let year_days = (!rule.by_year_day.is_empty()).then(|| {
            let mut sets = Box::new([[0u64; 6]; 2]);
            for &n in &rule.by_year_day {
                let (side, n) = if n > 0 { (0, n) } else { (1, -n) };
                let n = usize::from(n.unsigned_abs());
                sets[side][n / 64] |= 1 << (n % 64);
            }
            sets
        });
        let month_days = (!by_month_day.is_empty()).then(|| {
            let [positive, negative] = signed_bits(&by_month_day);
            [u32::try_from(positive).unwrap_or(0), u32::try_from(negative).unwrap_or(0)]
        });

        // Leap seconds cannot be represented; BYSECOND=60 never matches.
        let or_default = |list: &[u8], default: u8, limit: u8| -> Vec<u8> {
            if list.is_empty() {
                vec![default]
            } else {
                list.iter().copied().filter(|v| *v <= limit).collect()
            }
        };
        let hours = or_default(by_hour, h0, 23);
        let minutes = or_default(by_minute, m0, 59);
        let seconds = or_default(by_second, s0, 59);
        let mut times = Vec::with_capacity(hours.len() * minutes.len() * seconds.len());
        for &h in &hours {
            for &m in &minutes {
                for &s in &seconds {
                    times.push((h, m, s));
                }
            }
        }
        let all = |list: &[u8], mask: u64| if list.is_empty() { mask } else { bits(list) };
        let hour_mask = u32::try_from(all(by_hour, (1 << 24) - 1)).unwrap_or(0);
        let minute_mask = all(by_minute, (1 << 60) - 1);
        let second_mask = all(by_second, (1 << 60) - 1) & ((1 << 60) - 1);

        let wkst = rule.week_start.index();
        let week_offset = i64::from((wkst + 7 - 3) % 7);
        let never = times.is_empty()
            || seconds.is_empty()
            || (second_mask == 0 && frequency == Secondly)
            || impossible_month_days(months, &by_month_day);
        let uniform = !rule.has_by_parts()
            && rule.by_set_pos.is_empty()
            && !(all_day && frequency < Daily)
            && match frequency {
                Monthly => start_day.day <= 28,
                Yearly => !(start_day.month == 2 && start_day.day == 29),
                _ => true,
            };
        let mut plan = Plan {
            frequency,
            interval: i64::from(rule.interval.max(1)),
            start,
            start_period: 0,
            nanos: start.subsec_nanosecond(),
            months,
            nth_in_year: frequency == Yearly && rule.by_month.is_empty(),
            week_nos: (!rule.by_week_no.is_empty()).then(|| signed_bits(&rule.by_week_no)),
            year_days,
            month_days,
            by_day,
            times,
            minutes,
            seconds,
            hour_mask,
            minute_mask,
            second_mask,
            set_pos: rule.by_set_pos.clone(),
            wkst,
            week_offset,
            never,
            uniform,
        };
        plan.start_period = plan.period_of(start);
        plan
    }

    /// Whether every aligned period yields exactly one occurrence.
    pub(crate) fn is_uniform(&self) -> bool {
        self.uniform
    }

    /// The period of `FREQ` that holds the wall time `at`.
    fn period_of(&self, at: DateTime) -> i64 {
        let year = i64::from(at.year());
        let days = days_from_civil(
            i32::from(at.year()),
            at.month().unsigned_abs(),
            at.day().unsigned_abs(),
        );
        let (h, m, s) = (i64::from(at.hour()), i64::from(at.minute()), i64::from(at.second()));
        match self.frequency {
            Frequency::Yearly => year,
            Frequency::Monthly => year * 12 + i64::from(at.month()) - 1,
            Frequency::Weekly => (days - self.week_offset).div_euclid(7),
            Frequency::Daily => days,
            Frequency::Hourly => days * 24 + h,
            Frequency::Minutely => (days * 24 + h) * 60 + m,
            Frequency::Secondly => ((days * 24 + h) * 60 + m) * 60 + s,
        }
    }

    /// How many aligned periods lie wholly before the period holding `at` (0 if `at` is in the
    /// first period or before it). Starting there skips nothing at or after `at`.
    pub(crate) fn periods_before(&self, at: DateTime) -> i64 {
        let distance = self.period_of(at) - self.start_period;
        if distance <= 0 { 0 } else { (distance + self.interval - 1) / self.interval }
    }

    fn aligned_at_or_after(&self, period: i64) -> i64 {
        let distance = (period - self.start_period).max(0);
        let steps = (distance + self.interval - 1) / self.interval;
        self.start_period.saturating_add(steps.saturating_mul(self.interval))
    }

    fn day_matches(&self, day: &Day, week_starts: Option<&[i64; 4]>) -> bool {
        if self.months & (1 << day.month) == 0 {
            return false;
        }
        if let (Some([positive, negative]), Some(starts)) = (self.week_nos, week_starts) {
            let index = if day.days < starts[1] {
                0
            } else if day.days >= starts[2] {
                2
            } else {
                1
            };
            let week = (day.days - starts[index]) / 7 + 1;
            let weeks = (starts[index + 1] - starts[index]) / 7;
            let from_end = weeks - week + 1;
            if positive & (1 << week) == 0 && negative & (1 << from_end) == 0 {
                return false;
            }
        }
        if let Some(sets) = &self.year_days {
            let n = usize::from(day.year_day);
            let back = usize::from(day.year_len - day.year_day + 1);
            if sets[0][n / 64] & (1 << (n % 64)) == 0
                && sets[1][back / 64] & (1 << (back % 64)) == 0
            {
                return false;
            }
        }
        if let Some([positive, negative]) = self.month_days {
            let back = day.month_len - day.day + 1;
            if positive & (1 << day.day) == 0 && negative & (1 << back) == 0 {
                return false;
            }
        }
        if let Some((weekdays, nth)) = &self.by_day {
            if weekdays & (1 << day.weekday) == 0 {
                let (index, len) = if self.nth_in_year {
                    (day.year_day, day.year_len)
                } else {
                    (u16::from(day.day), u16::from(day.month_len))
                };
                let (forward, backward) = ((index - 1) / 7 + 1, (len - index) / 7 + 1);
                let hit = nth.iter().any(|&(n, weekday)| {
                    weekday == day.weekday
                        && if n > 0 {
                            u16::from(n.unsigned_abs()) == forward
                        } else {
                            u16::from(n.unsigned_abs()) == backward
                        }
                });
                if !hit {
                    return false;
                }
            }
        }
        true
    }

    fn first_day_of_next_month(day: &Day) -> i64 {
        day.days + i64::from(day.month_len - day.day) + 1
    }

    /// The days of a DAILY-or-longer period that pass the filters, in order.
    fn period_days(&self, period: i64, out: &mut Vec<Day>) -> Step {
        let in_range = |year: i32| (MIN_YEAR..=MAX_YEAR).contains(&year);
        match self.frequency {
            Frequency::Yearly => {
                let Ok(year) = i32::try_from(period) else { return Step::End };
                if !in_range(year) {
                    return Step::End;
                }
                let week_starts = self.week_nos.map(|_| {
                    [
                        week_one_start(year - 1, self.wkst),
                        week_one_start(year, self.wkst),
                        week_one_start(year + 1, self.wkst),
                        week_one_start(year + 2, self.wkst),
                    ]
                });
                let year_len = days_in_year(year);
                let mut days = days_from_civil(year, 1, 1);
                let mut year_day = 1u16;
                for month in 1..=12u8 {
                    let month_len = days_in_month(year, month);
                    if self.months & (1 << month) != 0 {
                        let mut weekday = weekday_of(days);
                        for d in 1..=month_len {
                            let day = Day {
                                days: days + i64::from(d - 1),
                                year,
                                month,
                                day: d,
                                weekday,
                                year_day: year_day + u16::from(d - 1),
                                year_len,
                                month_len,
                            };
                            if self.day_matches(&day, week_starts.as_ref()) {
                                out.push(day);
                            }
                            weekday = (weekday + 1) % 7;
                        }
                    }
                    days += i64::from(month_len);
                    year_day += u16::from(month_len);
                }
                Step::Next
            }
            Frequency::Monthly => {
                let Ok(year) = i32::try_from(period.div_euclid(12)) else { return Step::End };
                if !in_range(year) {
                    return Step::End;
                }
                let month = u8::try_from(period.rem_euclid(12) + 1).unwrap_or(1);
                if self.months & (1 << month) == 0 {
                    return Step::Next;
                }
                let first = Day::new(days_from_civil(year, month, 1));
                for d in 0..first.month_len {
                    let day = Day {
                        days: first.days + i64::from(d),
                        day: d + 1,
                        weekday: (first.weekday + d) % 7,
                        year_day: first.year_day + u16::from(d),
                        ..first
                    };
                    if self.day_matches(&day, None) {
                        out.push(day);
                    }
                }
                Step::Next
            }
            Frequency::Weekly => {
                let first = period.saturating_mul(7).saturating_add(self.week_offset);
                for days in first..first.saturating_add(7) {
                    let day = Day::new(days);
                    if !in_range(day.year) {
                        return Step::End;
                    }
                    if self.day_matches(&day, None) {
                        out.push(day);
                    }
                }
                Step::Next
            }
            Frequency::Daily => {
                let day = Day::new(period);
                if !in_range(day.year) {
                    return Step::End;
                }
                if self.months & (1 << day.month) == 0 {
                    return Step::SkipTo(Plan::first_day_of_next_month(&day));
                }
                if self.day_matches(&day, None) {
                    out.push(day);
                }
                Step::Next
            }
            Frequency::Hourly | Frequency::Minutely | Frequency::Secondly => Step::End,
        }
    }

    /// The candidates of a sub-daily period, or where to skip to when a coarser unit (month,
    /// day, hour, minute) cannot match.
    fn sub_daily(&self, period: i64, out: &mut Vec<(Day, u8, u8, u8)>) -> Step {
        let per_day: i64 = match self.frequency {
            Frequency::Hourly => 24,
            Frequency::Minutely => 24 * 60,
            _ => 24 * 60 * 60,
        };
        let days = period.div_euclid(per_day);
        let within = period.rem_euclid(per_day);
        let (hour, minute, second) = match self.frequency {
            Frequency::Hourly => (within, 0, 0),
            Frequency::Minutely => (within / 60, within % 60, 0),
            _ => (within / 3600, within / 60 % 60, within % 60),
        };
        let day = Day::new(days);
        if !(MIN_YEAR..=MAX_YEAR).contains(&day.year) {
            return Step::End;
        }
        let per_hour = per_day / 24;
        let per_minute = per_hour / 60;
        if self.months & (1 << day.month) == 0 {
            return Step::SkipTo(Plan::first_day_of_next_month(&day) * per_day);
        }
        if !self.day_matches(&day, None) {
            return Step::SkipTo((days + 1) * per_day);
        }
        let start_of_hour = days * per_day + hour * per_hour;
        if self.hour_mask & (1 << hour) == 0 {
            return Step::SkipTo(start_of_hour + per_hour);
        }
        let narrow = |n: i64| u8::try_from(n).unwrap_or(0);
        match self.frequency {
            Frequency::Hourly => {
                for &minute in &self.minutes {
                    for &second in &self.seconds {
                        out.push((day, narrow(hour), minute, second));
                    }
                }
            }
            Frequency::Minutely => {
                if self.minute_mask & (1 << minute) == 0 {
                    return Step::SkipTo(period + 1);
                }
                for &second in &self.seconds {
                    out.push((day, narrow(hour), narrow(minute), second));
                }
            }
            _ => {
                if self.minute_mask & (1 << minute) == 0 {
                    return Step::SkipTo(start_of_hour + (minute + 1) * per_minute);
                }
                if self.second_mask & (1 << second) != 0 {
                    out.push((day, narrow(hour), narrow(minute), narrow(second)));
                }
            }
        }
        Step::Next
    }

    fn datetime(&self, day: &Day, hour: u8, minute: u8, second: u8) -> Option<DateTime> {
        let narrow = |n: u8| i8::try_from(n).ok();
        DateTime::new(
            i16::try_from(day.year).ok()?,
            narrow(day.month)?,
            narrow(day.day)?,
            narrow(hour)?,
            narrow(minute)?,
            narrow(second)?,
            self.nanos,
        )
        .ok()
    }
}

/// `BYMONTH` and `BYMONTHDAY` that can never meet (February 30th, April 31st, …).
fn impossible_month_days(months: u16, month_days: &[i8]) -> bool {
    if month_days.is_empty() {
        return false;
    }
    let longest = |month: u8| if month == 2 { 29 } else { days_in_month(2000, month) };
    !(1..=12u8).filter(|m| months & (1 << m) != 0).any(|month| {
        month_days.iter().any(|&d| i16::from(d).unsigned_abs() <= u16::from(longest(month)))
    })
}

/// The wall times a rule generates from an aligned period on, in order, each at or after
/// DTSTART. `COUNT`, `UNTIL` and DTSTART's special place are the caller's business.
pub(crate) struct RuleIter<'p> {
    plan: &'p Plan,
    period: i64,
    ready: Vec<DateTime>,
    next: usize,
    days: Vec<Day>,
    slots: Vec<(Day, u8, u8, u8)>,
    candidates: Vec<DateTime>,
    barren: u32,
    steps: u64,
    done: bool,
}

impl<'p> RuleIter<'p> {
    /// Starts `skip` aligned periods after the one holding DTSTART.
    pub(crate) fn new(plan: &'p Plan, skip: i64) -> RuleIter<'p> {
        let period = skip
            .checked_mul(plan.interval)
            .and_then(|offset| plan.start_period.checked_add(offset));
        RuleIter {
            plan,
            period: period.unwrap_or(i64::MAX),
            ready: Vec::new(),
            next: 0,
            days: Vec::new(),
            slots: Vec::new(),
            candidates: Vec::new(),
            barren: 0,
            steps: 0,
            done: plan.never || period.is_none(),
        }
    }

    /// The next wall time, or `None` when the rule is exhausted.
    pub(crate) fn next_time(&mut self) -> Result<Option<DateTime>> {
        loop {
            if let Some(at) = self.ready.get(self.next) {
                self.next += 1;
                return Ok(Some(*at));
            }
            if self.done || !self.fill()? {
                self.done = true;
                return Ok(None);
            }
        }
    }

    /// Expands periods until one yields something; false when the rule is exhausted.
    fn fill(&mut self) -> Result<bool> {
        self.next = 0;
        loop {
            if self.barren >= MAX_BARREN_PERIODS {
                return Ok(false);
            }
            let period = self.period;
            self.period = match self.expand(period)? {
                Step::End => return Ok(false),
                Step::Next => period.checked_add(self.plan.interval).unwrap_or(i64::MAX),
                Step::SkipTo(target) => self.plan.aligned_at_or_after(target.max(period + 1)),
            };
            if self.ready.is_empty() {
                self.barren += 1;
            } else {
                self.barren = 0;
                return Ok(true);
            }
        }
    }

    /// Puts the wall times of one period that are at or after DTSTART into `ready`.
    fn expand(&mut self, period: i64) -> Result<Step> {
        let plan = self.plan;
        self.ready.clear();
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return Err(Error::InvalidInput(format!(
                "expanding the recurrence rule needs more than {MAX_STEPS} steps for this \
                 query; it is too dense to count from its start (use a rule without COUNT, \
                 or a coarser frequency)"
            )));
        }
        self.candidates.clear();
        let step = if plan.frequency >= Frequency::Daily {
            self.days.clear();
            let step = plan.period_days(period, &mut self.days);
            for day in &self.days {
                for &(h, m, s) in &plan.times {
                    if let Some(at) = plan.datetime(day, h, m, s) {
                        self.candidates.push(at);
                    }
                }
            }
            step
        } else {
            self.slots.clear();
            let step = plan.sub_daily(period, &mut self.slots);
            for (day, h, m, s) in &self.slots {
                if let Some(at) = plan.datetime(day, *h, *m, *s) {
                    self.candidates.push(at);
                }
            }
            step
        };
        self.steps += self.candidates.len() as u64;
        if plan.set_pos.is_empty() {
            self.ready.extend(self.candidates.iter().filter(|at| **at >= plan.start));
        } else {
            let len = i64::try_from(self.candidates.len()).unwrap_or(i64::MAX);
            for &position in &plan.set_pos {
                let index =
                    if position > 0 { i64::from(position) - 1 } else { len + i64::from(position) };
                if let Some(at) = usize::try_from(index).ok().and_then(|i| self.candidates.get(i)) {
                    if *at >= plan.start {
                        self.ready.push(*at);
                    }
                }
            }
            self.ready.sort_unstable();
            self.ready.dedup();
        }
        Ok(step)
    }

    /// How many wall times after DTSTART the `index`th aligned period holds.
    fn count_in(&mut self, index: i64) -> Result<u64> {
        let plan = self.plan;
        let Some(period) = index
            .checked_mul(plan.interval)
            .and_then(|offset| plan.start_period.checked_add(offset))
        else {
            return Ok(0);
        };
        self.expand(period)?;
        Ok(self.ready.iter().filter(|at| **at > plan.start).count() as u64)
    }
}

/// How many of the rule's wall times after DTSTART lie in its first `periods` aligned periods,
/// or `None` if that cannot be had without walking them all.
///
/// A DAILY or WEEKLY rule that filters only on weekdays makes the same thing every seventh
/// period (the weekday is the only calendar fact it looks at), so a few periods stand for all:
/// this is what keeps `COUNT` rules cheap to place decades after their start.
pub(crate) fn count_before(plan: &Plan, periods: i64) -> Result<Option<u64>> {
    const CYCLE: i64 = 7;
    let weekday_only = plan.months == ALL_MONTHS
        && plan.month_days.is_none()
        && plan.year_days.is_none()
        && plan.week_nos.is_none();
    if !(weekday_only && matches!(plan.frequency, Frequency::Daily | Frequency::Weekly)) {
        return Ok(None);
    }
    if periods <= 0 {
        return Ok(Some(0));
    }
    let mut iter = RuleIter::new(plan, 0);
    let first = iter.count_in(0)?;
    let rest = periods - 1;
    let mut per_phase = [0u64; CYCLE as usize];
    for (phase, count) in per_phase.iter_mut().enumerate().take(rest.min(CYCLE) as usize) {
        *count = iter.count_in(1 + phase as i64)?;
    }
    let full_cycles = u64::try_from(rest / CYCLE).unwrap_or(0);
    let partial = (rest % CYCLE) as usize;
    let cycle_total: u64 = per_phase.iter().sum();
    let partial_total: u64 = per_phase[..partial].iter().sum();
    Ok(Some(
        first.saturating_add(full_cycles.saturating_mul(cycle_total)).saturating_add(partial_total),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_day_numbers_round_trip_across_the_supported_range() {
        for days in (-4_000_000..4_000_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(weekday_of(days_from_civil(2026, 11, 26)), 3); // a Thursday
    }

    #[test]
    fn week_one_is_the_week_holding_january_fourth() {
        // ISO: week 1 of 2026 starts Monday 2025-12-29; of 2021, Monday 2021-01-04.
        assert_eq!(week_one_start(2026, 0), days_from_civil(2025, 12, 29));
        assert_eq!(week_one_start(2021, 0), days_from_civil(2021, 1, 4));
        // With Sunday weeks, week 1 of 2026 starts Sunday 2026-01-04.
        assert_eq!(week_one_start(2026, 6), days_from_civil(2026, 1, 4));
    }
}
