//! VTIMEZONE generation (RFC 5545 §3.6.5) from the bundled tz database.
//!
//! Exported files carry a VTIMEZONE for every zone they use because Outlook and older clients
//! read the offsets from it rather than from the IANA id. The component describes the zone's
//! transitions over the range asked for, taken from jiff: a transition that recurs yearly
//! (same month, weekday position, wall time and offsets) becomes one observance with an RRULE,
//! open-ended when the rule is still in force after the range; irregular transitions become
//! observances with RDATE lists. The observance in effect at the start of the range is always
//! included (with the STANDARD before it when it is a DAYLIGHT), so a zone without transitions
//! gets a single STANDARD.

use jiff::civil::DateTime;
use jiff::tz::{Offset, TimeZone};
use jiff::{SignedDuration, Timestamp};

use super::component::Component;
use super::content::Property;
use super::values::{format_date_time, format_utc, format_utc_offset};
use crate::calendar::recurrence::Weekday;
use crate::calendar::time::time_zone;
use crate::error::{Error, Result};

/// How far past the range to look for the next occurrence of a yearly transition (a year and
/// a bit: the next one is at most a year after the last one in range).
const LOOKAHEAD_TRANSITIONS: usize = 8;

/// A VTIMEZONE for `zone` (an IANA id) covering `[from, to)`. Its TZID is `zone` exactly as
/// given, so it matches the TZID parameters written for values in that zone.
pub fn vtimezone(zone: &str, from: Timestamp, to: Timestamp) -> Result<Component> {
    if from > to {
        return Err(Error::InvalidInput(format!(
            "cannot describe time zone {zone} from {from} to {to}: the range ends before it starts"
        )));
    }
    let tz = time_zone(zone)?;
    let one_ns = SignedDuration::from_nanos(1);
    let before = |at: Timestamp| at.checked_sub(one_ns).unwrap_or(at);
    let offset_before = |at: Timestamp| tz.to_offset(before(at));

    // The observance in effect at `from` (and, if it is daylight time, the one before it).
    let mut changes = Vec::new();
    let mut preceding = tz.preceding(from.checked_add(one_ns).unwrap_or(from));
    if let Some(first) = preceding.next() {
        let daylight = first.dst().is_dst();
        if daylight {
            if let Some(earlier) = preceding.next() {
                changes.push(Change::new(
                    earlier.timestamp(),
                    offset_before(earlier.timestamp()),
                    &earlier,
                ));
            }
        }
        changes.push(Change::new(first.timestamp(), offset_before(first.timestamp()), &first));
    }
    let in_range = tz.following(from).take_while(|t| t.timestamp() < to);
    changes.extend(in_range.map(|t| Change::new(t.timestamp(), offset_before(t.timestamp()), &t)));

    let mut component = Component::new("VTIMEZONE").with_property(Property::new("TZID", zone));
    if changes.is_empty() {
        component.components.push(fixed_observance(&tz, from)?);
        return Ok(component);
    }

    // Transitions after the range, to tell whether the last yearly rules continue.
    let mut after = Vec::new();
    let mut offset = tz.to_offset(before(to));
    for t in tz.following(before(to)).take(LOOKAHEAD_TRANSITIONS) {
        after.push(Change::new(t.timestamp(), offset, &t));
        offset = t.offset();
    }

    let runs = runs(changes);
    let mut observances: Vec<(Timestamp, Component)> = Vec::new();
    let mut singles: Vec<Vec<Change>> = Vec::new();
    for (index, run) in runs.iter().enumerate() {
        let is_last_of_key =
            !runs[index + 1..].iter().any(|later| later.key_matches(&run.changes[0]));
        let continued = if is_last_of_key {
            after
                .iter()
                .find(|c| c.same_key(&run.changes[0]))
                .and_then(|next| run.extended_by(next))
        } else {
            None
        };
        let first = &run.changes[0];
        if run.changes.len() < 2 && continued.is_none() {
            match singles.iter_mut().find(|group| group[0].same_key(first)) {
                Some(group) => group.push(first.clone()),
                None => singles.push(vec![first.clone()]),
            }
            continue;
        }
        let position = continued.as_ref().unwrap_or(&run.position);
        let mut rule = format!(
            "FREQ=YEARLY;BYMONTH={};BYDAY={}{}",
            first.local.month(),
            position.byday_ordinal(),
            Weekday::from(first.local.weekday()).code()
        );
        if continued.is_none() {
            let last = &run.changes[run.changes.len() - 1];
            rule.push_str(";UNTIL=");
            rule.push_str(&format_utc(last.at)?);
        }
        let observance = first.observance()?.with_property(Property::new("RRULE", rule));
        observances.push((first.at, observance));
    }
    for group in singles {
        let mut observance = group[0].observance()?;
        if group.len() > 1 {
            let dates: Vec<String> =
                group[1..].iter().map(|c| format_date_time(c.local)).collect::<Result<_>>()?;
            observance.push(Property::new("RDATE", dates.join(",")));
        }
        observances.push((group[0].at, observance));
    }
    observances.sort_by_key(|(at, _)| *at);
    component.components.extend(observances.into_iter().map(|(_, observance)| observance));
    Ok(component)
}

/// The single observance of a zone with no transitions at all (UTC, `Etc/GMT-9`).
fn fixed_observance(tz: &TimeZone, from: Timestamp) -> Result<Component> {
    let info = tz.to_offset_info(from);
    let epoch = DateTime::constant(1970, 1, 1, 0, 0, 0, 0);
    let start = epoch.min(info.offset().to_datetime(from));
    let change = Change {
        at: from,
        from: info.offset(),
        to: info.offset(),
        daylight: info.dst().is_dst(),
        name: info.abbreviation().to_owned(),
        local: start,
    };
    change.observance()
}

/// One transition: when, the offsets before and after, and its wall time in the offset before
/// (which is how RFC 5545 writes an observance's DTSTART and RDATEs).
#[derive(Clone, Debug)]
struct Change {
    at: Timestamp,
    from: Offset,
    to: Offset,
    daylight: bool,
    name: String,
    local: DateTime,
}

impl Change {
    fn new(at: Timestamp, from: Offset, transition: &jiff::tz::TimeZoneTransition<'_>) -> Change {
        Change {
            at,
            from,
            to: transition.offset(),
            daylight: transition.dst().is_dst(),
            name: transition.abbreviation().to_owned(),
            local: from.to_datetime(at),
        }
    }

    /// Same kind, offsets and name: could be one observance.
    fn same_key(&self, other: &Change) -> bool {
        self.daylight == other.daylight
            && self.from == other.from
            && self.to == other.to
            && self.name == other.name
    }

    fn observance(&self) -> Result<Component> {
        Ok(Component::new(if self.daylight { "DAYLIGHT" } else { "STANDARD" })
            .with_property(Property::new("DTSTART", format_date_time(self.local)?))
            .with_property(Property::new("TZOFFSETFROM", format_utc_offset(self.from)))
            .with_property(Property::new("TZOFFSETTO", format_utc_offset(self.to)))
            .with_property(Property::from_text("TZNAME", &self.name)))
    }
}

/// Where a date sits in its month, as BYDAY can say it: the nth such weekday, and whether it
/// is the last one. Both may describe a run of dates; the run keeps those that fit them all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Position {
    nth: Option<i8>,
    last: bool,
}

impl Position {
    fn of(local: DateTime) -> Position {
        let day = local.day();
        Position { nth: Some((day - 1) / 7 + 1), last: day + 7 > local.days_in_month() }
    }

    fn and(self, other: Position) -> Option<Position> {
        let both = Position {
            nth: if self.nth == other.nth { self.nth } else { None },
            last: self.last && other.last,
        };
        (both.nth.is_some() || both.last).then_some(both)
    }

    /// `-1` (last) when the day is the last such weekday and would otherwise be the 4th or 5th
    /// (how tz rules are written: "last Sunday"), else the ordinal.
    fn byday_ordinal(self) -> i8 {
        match self.nth {
            Some(n) if n < 4 || !self.last => n,
            _ => -1,
        }
    }
}

/// Consecutive same-key transitions one year apart at the same month, weekday position and
/// wall time: one yearly rule.
#[derive(Debug)]
struct Run {
    changes: Vec<Change>,
    position: Position,
}

impl Run {
    fn key_matches(&self, change: &Change) -> bool {
        self.changes[0].same_key(change)
    }

    /// The narrowed position if `next` continues this run's yearly rule.
    fn extended_by(&self, next: &Change) -> Option<Position> {
        let last = &self.changes[self.changes.len() - 1];
        let fits = last.same_key(next)
            && i32::from(next.local.year()) == i32::from(last.local.year()) + 1
            && next.local.month() == last.local.month()
            && next.local.time() == last.local.time()
            && next.local.weekday() == last.local.weekday();
        if fits { self.position.and(Position::of(next.local)) } else { None }
    }
}

/// Splits transitions (in time order) into yearly runs, per key.
fn runs(changes: Vec<Change>) -> Vec<Run> {
    let mut done: Vec<Run> = Vec::new();
    let mut open: Vec<Run> = Vec::new();
    for change in changes {
        let index = open.iter().position(|run| run.key_matches(&change));
        if let Some(index) = index {
            if let Some(position) = open[index].extended_by(&change) {
                open[index].position = position;
                open[index].changes.push(change);
                continue;
            }
            done.push(open.swap_remove(index));
        }
        let position = Position::of(change.local);
        open.push(Run { changes: vec![change], position });
    }
    done.extend(open);
    done.sort_by_key(|run| run.changes[0].at);
    done
}

#[cfg(test)]
mod tests {
    use super::super::component::parse;
    use super::super::zones::VTimezoneRules;
    use super::*;

    fn ts(text: &str) -> Timestamp {
        text.parse().expect("a timestamp")
    }

    fn value<'a>(component: &'a Component, name: &str) -> Option<&'a str> {
        component.property(name).map(|p| p.value.as_str())
    }

    /// The generated component written out and read back, evaluated by our own VTIMEZONE
    /// reader, must give jiff's offsets around every transition and at regular instants.
    fn assert_agrees_with_tzdb(zone: &str, from: Timestamp, to: Timestamp) {
        let component = vtimezone(zone, from, to).expect("generated");
        let text = component.to_ics().expect("written");
        let (roots, issues) = parse(&text);
        assert!(issues.is_empty(), "{zone}: {issues:?}");
        let rules = VTimezoneRules::from_component(&roots[0]).expect("readable");
        let tz = time_zone(zone).expect("zone");
        let second = SignedDuration::from_secs(1);
        let mut instants = vec![from];
        for t in tz.following(from).take_while(|t| t.timestamp() < to) {
            instants.push(t.timestamp());
            instants.push(t.timestamp().checked_sub(second).expect("in range"));
        }
        let mut at = from;
        while at < to {
            instants.push(at);
            at = at.checked_add(SignedDuration::from_hours(24 * 17)).expect("in range");
        }
        for at in instants.into_iter().filter(|at| *at >= from && *at < to) {
            assert_eq!(rules.offset_at(at), tz.to_offset(at), "{zone} at {at}\n{text}");
        }
    }

    #[test]
    fn new_york_2026_has_yearly_standard_and_daylight_rules() {
        let component =
            vtimezone("America/New_York", ts("2026-01-01T00:00:00Z"), ts("2027-01-01T00:00:00Z"))
                .expect("generated");
        assert_eq!(value(&component, "TZID"), Some("America/New_York"));
        let names: Vec<&str> = component.components.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["STANDARD", "DAYLIGHT"]);
        let daylight = &component.components[1];
        assert_eq!(value(daylight, "DTSTART"), Some("20260308T020000"));
        assert_eq!(value(daylight, "TZOFFSETFROM"), Some("-0500"));
        assert_eq!(value(daylight, "TZOFFSETTO"), Some("-0400"));
        assert_eq!(value(daylight, "TZNAME"), Some("EDT"));
        assert_eq!(value(daylight, "RRULE"), Some("FREQ=YEARLY;BYMONTH=3;BYDAY=2SU"));
        let standard = &component.components[0];
        assert_eq!(value(standard, "DTSTART"), Some("20251102T020000"));
        assert_eq!(value(standard, "TZOFFSETFROM"), Some("-0400"));
        assert_eq!(value(standard, "TZOFFSETTO"), Some("-0500"));
        assert_eq!(value(standard, "TZNAME"), Some("EST"));
        assert_eq!(value(standard, "RRULE"), Some("FREQ=YEARLY;BYMONTH=11;BYDAY=1SU"));

        // The 2026 transitions happen at the right instants when the component is evaluated.
        let rules = VTimezoneRules::from_component(&component).expect("readable");
        let offset = |at: &str| rules.offset_at(ts(at)).seconds() / 3600;
        assert_eq!(offset("2026-03-08T06:59:59Z"), -5);
        assert_eq!(offset("2026-03-08T07:00:00Z"), -4);
        assert_eq!(offset("2026-11-01T05:59:59Z"), -4);
        assert_eq!(offset("2026-11-01T06:00:00Z"), -5);
        assert_agrees_with_tzdb(
            "America/New_York",
            ts("2026-01-01T00:00:00Z"),
            ts("2027-01-01T00:00:00Z"),
        );
    }

    #[test]
    fn a_zone_without_dst_gets_a_single_standard() {
        let component =
            vtimezone("Asia/Tokyo", ts("2026-01-01T00:00:00Z"), ts("2027-01-01T00:00:00Z"))
                .expect("generated");
        assert_eq!(component.components.len(), 1);
        let standard = &component.components[0];
        assert_eq!(standard.name, "STANDARD");
        assert_eq!(value(standard, "TZOFFSETTO"), Some("+0900"));
        assert_eq!(value(standard, "TZNAME"), Some("JST"));
        assert!(standard.property("RRULE").is_none() && standard.property("RDATE").is_none());
        assert_agrees_with_tzdb(
            "Asia/Tokyo",
            ts("2026-01-01T00:00:00Z"),
            ts("2027-01-01T00:00:00Z"),
        );

        let utc = vtimezone("UTC", ts("2026-01-01T00:00:00Z"), ts("2027-01-01T00:00:00Z"))
            .expect("generated");
        assert_eq!(utc.components.len(), 1);
        let standard = &utc.components[0];
        assert_eq!(value(standard, "DTSTART"), Some("19700101T000000"));
        assert_eq!(
            (value(standard, "TZOFFSETFROM"), value(standard, "TZOFFSETTO")),
            (Some("+0000"), Some("+0000"))
        );
    }

    #[test]
    fn a_rule_change_inside_the_range_splits_the_rules() {
        // The US changed its DST dates in 2007: 2005-2006 by one rule (with UNTIL), then another.
        let component =
            vtimezone("America/New_York", ts("2005-01-01T00:00:00Z"), ts("2009-01-01T00:00:00Z"))
                .expect("generated");
        let rules: Vec<&str> =
            component.components.iter().filter_map(|c| value(c, "RRULE")).collect();
        assert!(
            rules.contains(&"FREQ=YEARLY;BYMONTH=4;BYDAY=1SU;UNTIL=20060402T070000Z"),
            "{rules:?}"
        );
        assert!(rules.contains(&"FREQ=YEARLY;BYMONTH=3;BYDAY=2SU"), "{rules:?}");
        assert_agrees_with_tzdb(
            "America/New_York",
            ts("2005-01-01T00:00:00Z"),
            ts("2009-01-01T00:00:00Z"),
        );
    }

    #[test]
    fn a_zone_that_dropped_dst_ends_its_rules() {
        // Brazil abolished DST in 2019: the last onsets are bounded and standard time stays.
        assert_agrees_with_tzdb(
            "America/Sao_Paulo",
            ts("2015-01-01T00:00:00Z"),
            ts("2024-01-01T00:00:00Z"),
        );
        let component =
            vtimezone("America/Sao_Paulo", ts("2015-01-01T00:00:00Z"), ts("2024-01-01T00:00:00Z"))
                .expect("generated");
        assert!(component.to_ics().expect("written").contains("UNTIL="));
    }

    #[test]
    fn generated_vtimezones_agree_with_the_tz_database() {
        let zones = [
            "Europe/London",
            "Europe/Berlin",
            "Europe/Dublin",
            "Europe/Moscow",
            "America/Santiago",
            "America/Havana",
            "America/St_Johns",
            "Australia/Sydney",
            "Australia/Lord_Howe",
            "Pacific/Auckland",
            "Pacific/Chatham",
            "Pacific/Apia",
            "Africa/Casablanca",
            "Africa/Cairo",
            "Asia/Tehran",
            "Asia/Jerusalem",
            "Asia/Gaza",
            "Asia/Kolkata",
            "Asia/Kathmandu",
            "America/Godthab",
            "Antarctica/Troll",
            "Europe/Lisbon",
            "America/Asuncion",
            "Asia/Amman",
        ];
        for zone in zones {
            assert_agrees_with_tzdb(zone, ts("1995-06-15T12:00:00Z"), ts("2031-01-01T00:00:00Z"));
        }
    }

    #[test]
    fn every_zone_over_three_years_agrees_with_the_tz_database() {
        let names: Vec<String> = crate::calendar::time::tz_database()
            .available()
            .map(|name| name.as_str().to_owned())
            .collect();
        for zone in names {
            assert_agrees_with_tzdb(&zone, ts("2024-03-01T00:00:00Z"), ts("2027-03-01T00:00:00Z"));
        }
    }

    #[test]
    fn a_generated_vtimezone_under_another_name_resolves_back() -> Result<()> {
        for zone in ["America/New_York", "Europe/Paris", "Australia/Sydney", "Asia/Tokyo"] {
            let mut component =
                vtimezone(zone, ts("2026-01-01T00:00:00Z"), ts("2027-01-01T00:00:00Z"))?;
            component.properties[0].value = "Exported Zone".into();
            let calendar = Component::new("VCALENDAR").with_component(component);
            let resolver = super::super::zones::ZoneResolver::from_components(&[calendar]);
            let resolved = resolver.resolve("Exported Zone")?;
            assert!(resolved.issues.is_empty(), "{zone}: {:?}", resolved.issues);
            let (ours, theirs) = (time_zone(zone)?, time_zone(&resolved.value)?);
            for month in 1..=12 {
                let at = ts(&format!("2026-{month:02}-15T12:00:00Z"));
                assert_eq!(
                    ours.to_offset(at),
                    theirs.to_offset(at),
                    "{zone} vs {}",
                    resolved.value
                );
            }
        }
        Ok(())
    }

    #[test]
    fn bad_ranges_and_zones_are_errors() {
        let (a, b) = (ts("2026-01-01T00:00:00Z"), ts("2027-01-01T00:00:00Z"));
        assert!(vtimezone("America/New_York", b, a).is_err());
        assert!(vtimezone("Mars/Olympus", a, b).is_err());
        assert!(vtimezone("America/New_York", a, a).is_ok());
    }
}
