//! A recurrence set (DTSTART, RRULE, RDATE, EXDATE) and its window queries.
//!
//! The rule runs on wall-clock times in the event's zone (the viewer's zone for all-day and
//! floating events); each wall time then becomes an instant through
//! [`resolve_local`](crate::calendar::time::resolve_local), which applies RFC 5545 §3.3.5 to gaps
//! and folds. Because a gap can move a wall time past the next one, instants are not always in
//! wall-clock order: queries therefore widen their wall-clock bounds by a slack of two days in
//! zones with transitions, and collect into a map keyed by instant, which also makes equal
//! instants count once.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::expand::{Plan, RuleIter, count_before};
use super::rule::RecurrenceRule;
use crate::calendar::time::{TimeValue, resolve_local, time_zone};
use crate::error::{Error, Result};

/// The most occurrences one query returns. A window or limit that would need more is refused
/// with an error rather than silently cut, so a view is never quietly incomplete.
pub const MAX_OCCURRENCES: usize = 100_000;

/// How far a wall time can sit from its instant's wall reading: more than any daylight-saving or
/// date-line jump in the tz database (the largest, Samoa's in 2011, is a day).
const SLACK: SignedDuration = SignedDuration::from_hours(48);

/// The complete recurrence of an event: DTSTART, an optional rule, extra dates and exceptions.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct RecurrenceSet {
    /// DTSTART: the first occurrence, whose kind (date, floating, zoned, UTC) every occurrence
    /// takes.
    pub start: TimeValue,
    /// RRULE, if the event repeats by rule.
    pub rule: Option<RecurrenceRule>,
    /// RDATE: extra occurrences (any kind; converted to the start's kind).
    pub rdates: Vec<TimeValue>,
    /// EXDATE: removed occurrences. A DATE removes every occurrence on that local date.
    pub exdates: Vec<TimeValue>,
}

/// One occurrence of a recurrence set.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Occurrence {
    /// The occurrence's recurrence id: the start it has by the rule, as the same kind of value
    /// as the series start (a date, floating, zoned in the same zone, or UTC).
    pub original: TimeValue,
    /// When it starts.
    pub instant: Timestamp,
}

impl RecurrenceSet {
    /// A set of `start` repeated by `rule`, without extra or excluded dates.
    pub fn new(start: TimeValue, rule: Option<RecurrenceRule>) -> RecurrenceSet {
        RecurrenceSet { start, rule, rdates: Vec::new(), exdates: Vec::new() }
    }

    /// Every occurrence whose start instant is in `[from, to)`, sorted by instant, equal instants
    /// once. `floating` is the viewer's zone, used for all-day and floating values. Fails if the
    /// rule is invalid, a zone is unknown, or the window holds more than [`MAX_OCCURRENCES`].
    pub fn between(
        &self,
        from: Timestamp,
        to: Timestamp,
        floating: &TimeZone,
    ) -> Result<Vec<Occurrence>> {
        if from >= to {
            return Ok(Vec::new());
        }
        Series::new(self, floating)?.collect(Some(from), Some(to), usize::MAX)
    }

    /// The first `limit` occurrences starting at or after `from` (`None`: from the beginning of
    /// the series), sorted by instant. Fails like [`RecurrenceSet::between`], and if more than
    /// [`MAX_OCCURRENCES`] would be returned.
    pub fn first(
        &self,
        from: Option<Timestamp>,
        limit: usize,
        floating: &TimeZone,
    ) -> Result<Vec<Occurrence>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        Series::new(self, floating)?.collect(from, None, limit)
    }

    /// The latest start among DTSTART and the rule's instances, COUNT and UNTIL applied; RDATEs
    /// and EXDATEs are not looked at, so this bounds the set's rule part from above. Walks the
    /// whole rule: the caller makes sure it ends (a COUNT, or an UNTIL) and is short. Cheaper
    /// than [`RecurrenceSet::first`]: nothing is kept but the latest instant.
    pub fn last_rule_instant(&self, floating: &TimeZone) -> Result<Option<Timestamp>> {
        let series = Series::new(self, floating)?;
        // Only wall times within the slack of the last one can resolve to the latest instant.
        // When the last is known without expanding the rule, the walk starts there (the
        // periods before are counted, not expanded: decision 0039). Expanding the 52 weeks of
        // a weekly series was 6% of a joining device's instructions.
        if let Some(last_wall) = series.last_uniform_wall() {
            let from = last_wall.saturating_sub(series.slack);
            if let Some(last) = latest(&mut Stream::new(&series, Some(from))?)? {
                return Ok(Some(last));
            }
        }
        latest(&mut Stream::new(&series, None)?)
    }
}

#[cfg(test)]
impl RecurrenceSet {
    /// `Series::last_uniform_wall`, for the tests.
    pub(super) fn last_uniform_wall(&self, floating: &TimeZone) -> Result<Option<DateTime>> {
        Ok(Series::new(self, floating)?.last_uniform_wall())
    }
}

/// The latest instant a stream yields. Wall order is instant order but for the hour a DST change
/// repeats or skips: the max is kept, not the last.
fn latest(stream: &mut Stream<'_>) -> Result<Option<Timestamp>> {
    let mut last = None;
    while let Some((_, instant)) = stream.next()? {
        last = last.max(Some(instant));
    }
    Ok(last)
}

/// How `UNTIL` bounds the rule once converted to the series' terms.
enum Until {
    /// Wall times up to and including this one.
    Wall(DateTime),
    /// Instants up to and including `at`; no wall time after `stop` can reach it.
    Instant { at: Timestamp, stop: DateTime },
}

/// A recurrence set prepared for one query.
struct Series<'a> {
    set: &'a RecurrenceSet,
    zone: TimeZone,
    all_day: bool,
    start_wall: DateTime,
    start_instant: Timestamp,
    slack: SignedDuration,
    plan: Option<Plan>,
    count: Option<u32>,
    until: Option<Until>,
    excluded_days: Vec<Date>,
    excluded_instants: Vec<Timestamp>,
}

impl<'a> Series<'a> {
    fn new(set: &'a RecurrenceSet, floating: &TimeZone) -> Result<Series<'a>> {
        let zone = set.start.zone(floating)?;
        let all_day = set.start.is_date();
        let start_wall = set.start.local();
        let start_instant = set.start.instant(floating)?;
        let slack = if zone.to_fixed_offset().is_ok() { SignedDuration::ZERO } else { SLACK };
        let mut series = Series {
            set,
            zone,
            all_day,
            start_wall,
            start_instant,
            slack,
            plan: None,
            count: None,
            until: None,
            excluded_days: Vec::new(),
            excluded_instants: Vec::new(),
        };
        if let Some(rule) = &set.rule {
            rule.validate()?;
            series.plan = Some(Plan::new(rule, start_wall, all_day));
            series.count = rule.count;
            series.until =
                rule.until.as_ref().map(|until| series.until_bound(until)).transpose()?;
        }
        for exdate in &set.exdates {
            match exdate {
                TimeValue::Date(day) => series.excluded_days.push(*day),
                _ if all_day => series.excluded_days.push(exdate.local().date()),
                _ => {
                    let (wall, exact) = series.wall_of(exdate)?;
                    let instant = match exact {
                        Some(instant) => instant,
                        None => resolve_local(wall, &series.zone)?,
                    };
                    series.excluded_instants.push(instant);
                }
            }
        }
        series.excluded_days.sort_unstable();
        series.excluded_instants.sort_unstable();
        Ok(series)
    }

    /// Decision 0010: a DATE until ends with that day (whatever the series); a UTC or
    /// other-zone until is compared as an instant; a floating or same-zone until as wall time.
    fn until_bound(&self, until: &TimeValue) -> Result<Until> {
        if self.all_day {
            return Ok(Until::Wall(until.local().date().to_datetime(Time::MAX)));
        }
        Ok(match until {
            TimeValue::Date(day) => Until::Wall(day.to_datetime(Time::MAX)),
            TimeValue::Floating(local) => Until::Wall(*local),
            TimeValue::Zoned { local, zone } if self.same_zone(zone) => Until::Wall(*local),
            _ if matches!(self.set.start, TimeValue::Utc(_)) => {
                Until::Wall(TimeZone::UTC.to_datetime(until.instant(&TimeZone::UTC)?))
            }
            TimeValue::Zoned { local, zone } => {
                self.instant_bound(resolve_local(*local, &time_zone(zone)?)?)
            }
            TimeValue::Utc(instant) => self.instant_bound(*instant),
        })
    }

    /// The wall time of the last counted occurrence of a rule with one occurrence per period
    /// (`Plan::is_uniform`, DTSTART the first) and a COUNT but no UNTIL: the one in period
    /// COUNT - 1. `None` when that is not known without walking the rule.
    fn last_uniform_wall(&self) -> Option<DateTime> {
        let plan = self.plan.as_ref().filter(|plan| plan.is_uniform())?;
        let count = self.count.filter(|_| self.until.is_none())?;
        let skip = i64::from(count.checked_sub(1)?);
        if skip == 0 {
            return Some(self.start_wall);
        }
        RuleIter::new(plan, skip).next_time().ok().flatten()
    }

    fn instant_bound(&self, at: Timestamp) -> Until {
        let stop = self.zone.to_datetime(at).saturating_add(self.slack);
        Until::Instant { at, stop }
    }

    fn same_zone(&self, zone: &str) -> bool {
        match &self.set.start {
            TimeValue::Zoned { zone: own, .. } => own.eq_ignore_ascii_case(zone),
            _ => false,
        }
    }

    /// The wall time of a timed RDATE or EXDATE in the series zone, and its exact instant when
    /// the value denotes one (so a UTC value in a fold keeps its own side of the fold).
    fn wall_of(&self, value: &TimeValue) -> Result<(DateTime, Option<Timestamp>)> {
        Ok(match value {
            // Decision 0010: a DATE among timed values means that day at DTSTART's time.
            TimeValue::Date(day) => (day.to_datetime(self.start_wall.time()), None),
            TimeValue::Floating(local) => (*local, None),
            TimeValue::Zoned { local, zone } if self.same_zone(zone) => (*local, None),
            TimeValue::Zoned { local, zone } => {
                let instant = resolve_local(*local, &time_zone(zone)?)?;
                (self.zone.to_datetime(instant), Some(instant))
            }
            TimeValue::Utc(instant) => (self.zone.to_datetime(*instant), Some(*instant)),
        })
    }

    fn is_excluded(&self, wall: DateTime, instant: Timestamp) -> bool {
        (!self.excluded_days.is_empty() && self.excluded_days.binary_search(&wall.date()).is_ok())
            || (!self.excluded_instants.is_empty()
                && self.excluded_instants.binary_search(&instant).is_ok())
    }

    fn occurrence(&self, wall: DateTime, instant: Timestamp) -> Result<Occurrence> {
        Ok(Occurrence { original: self.set.start.with_local(wall)?, instant })
    }

    /// The occurrences with instants in `[from, to)`, at most `limit` (the earliest).
    fn collect(
        &self,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
        limit: usize,
    ) -> Result<Vec<Occurrence>> {
        let in_window = |instant: Timestamp| {
            from.is_none_or(|from| instant >= from) && to.is_none_or(|to| instant < to)
        };
        let too_many = || {
            Error::InvalidInput(format!(
                "the recurrence has more than {MAX_OCCURRENCES} occurrences in the requested \
                 range; ask for a shorter window or a smaller limit"
            ))
        };
        let mut found: BTreeMap<Timestamp, Occurrence> = BTreeMap::new();
        let keep = |found: &mut BTreeMap<Timestamp, Occurrence>,
                    wall: DateTime,
                    instant: Timestamp|
         -> Result<()> {
            // The first value for an instant stays: rule occurrences come before RDATEs, and the
            // earlier wall time of two that a gap merged is the one an override would name.
            if let Entry::Vacant(slot) = found.entry(instant) {
                slot.insert(self.occurrence(wall, instant)?);
            }
            if found.len() > MAX_OCCURRENCES {
                return Err(too_many());
            }
            if found.len() > limit {
                found.pop_last();
            }
            Ok(())
        };

        let from_wall = from.map(|from| self.zone.to_datetime(from).saturating_sub(self.slack));
        let to_wall = to.map(|to| self.zone.to_datetime(to).saturating_add(self.slack));
        // Once `limit` occurrences are held, a wall time past the last one's (plus slack) cannot
        // resolve to an earlier instant.
        let threshold = |found: &BTreeMap<Timestamp, Occurrence>| {
            (found.len() >= limit)
                .then(|| found.last_key_value())
                .flatten()
                .map(|(instant, _)| self.zone.to_datetime(*instant).saturating_add(self.slack))
        };
        let mut stop_after = None;
        let mut stream = Stream::new(self, from_wall)?;
        while let Some((wall, instant)) = stream.next()? {
            if to_wall.is_some_and(|to_wall| wall > to_wall)
                || stop_after.is_some_and(|stop| wall > stop)
            {
                break;
            }
            if in_window(instant) && !self.is_excluded(wall, instant) {
                keep(&mut found, wall, instant)?;
                stop_after = threshold(&found);
            }
        }

        for rdate in &self.set.rdates {
            let (wall, instant) = if self.all_day {
                let wall = rdate.local().date().to_datetime(Time::midnight());
                (wall, resolve_local(wall, &self.zone)?)
            } else {
                let (wall, exact) = self.wall_of(rdate)?;
                let instant = match exact {
                    Some(instant) => instant,
                    None => resolve_local(wall, &self.zone)?,
                };
                (wall, instant)
            };
            if in_window(instant) && !self.is_excluded(wall, instant) {
                keep(&mut found, wall, instant)?;
            }
        }
        Ok(found.into_values().collect())
    }
}

/// DTSTART followed by the rule's occurrences in wall-clock order, with `COUNT` and `UNTIL`
/// applied and instants attached. Exclusions are applied by the caller, after counting, as
/// RFC 5545 requires.
struct Stream<'s> {
    series: &'s Series<'s>,
    rule: Option<RuleIter<'s>>,
    dtstart_pending: bool,
    emitted: u64,
    last_day: Option<Date>,
    /// Wall times before this cannot reach the window (it already includes the slack).
    counted_only_before: Option<DateTime>,
}

impl<'s> Stream<'s> {
    /// Starts at DTSTART, or, when the window starts at `from_wall` and the count of what comes
    /// before it is known without walking there, at the first aligned period that can reach it.
    fn new(series: &'s Series<'s>, from_wall: Option<DateTime>) -> Result<Stream<'s>> {
        let (skip, emitted) = match (&series.plan, from_wall) {
            (Some(plan), Some(from_wall)) => {
                let skip = plan.periods_before(from_wall);
                let counted = u64::try_from(skip).unwrap_or(u64::MAX);
                if skip == 0 || series.count.is_none() {
                    (skip, 0)
                } else if plan.is_uniform() {
                    // Each skipped period held exactly one counted occurrence, DTSTART first.
                    (skip, counted)
                } else if let Some(before) = count_before(plan, skip)? {
                    (skip, before.saturating_add(1))
                } else {
                    (0, 0)
                }
            }
            _ => (0, 0),
        };
        Ok(Stream {
            series,
            rule: series.plan.as_ref().map(|plan| RuleIter::new(plan, skip)),
            dtstart_pending: skip == 0,
            emitted,
            last_day: None,
            counted_only_before: from_wall,
        })
    }

    fn next(&mut self) -> Result<Option<(DateTime, Timestamp)>> {
        let series = self.series;
        if self.dtstart_pending {
            // RFC 5545: DTSTART is always the first occurrence and counts towards COUNT, even
            // when it does not match the rule or lies after UNTIL.
            self.dtstart_pending = false;
            self.emitted = 1;
            self.last_day = Some(series.start_wall.date());
            return Ok(Some((series.start_wall, series.start_instant)));
        }
        let Some(rule) = self.rule.as_mut() else { return Ok(None) };
        loop {
            if series.count.is_some_and(|count| self.emitted >= u64::from(count)) {
                return Ok(None);
            }
            let Some(mut wall) = rule.next_time()? else { return Ok(None) };
            if series.all_day {
                // A sub-daily rule on an all-day series: each date counts once.
                wall = wall.date().to_datetime(Time::midnight());
                if self.last_day.is_some_and(|last| wall.date() <= last) {
                    continue;
                }
            } else if wall <= series.start_wall {
                continue;
            }
            match &series.until {
                Some(Until::Wall(until)) if wall > *until => return Ok(None),
                Some(Until::Instant { stop, .. }) if wall > *stop => return Ok(None),
                _ => {}
            }
            if self.counted_only_before.is_some_and(|before| wall < before) {
                // Before the window: it only matters as one more towards COUNT, so the time-zone
                // work is skipped (this is most of the cost of counting a long series).
                self.emitted += 1;
                self.last_day = Some(wall.date());
                continue;
            }
            let instant = match resolve_local(wall, &series.zone) {
                Ok(instant) => instant,
                // Only at the edge of the supported range (year 9999): the series ends there.
                Err(_) => return Ok(None),
            };
            if let Some(Until::Instant { at, .. }) = &series.until {
                if instant > *at {
                    continue;
                }
            }
            self.emitted += 1;
            self.last_day = Some(wall.date());
            return Ok(Some((wall, instant)));
        }
    }
}
