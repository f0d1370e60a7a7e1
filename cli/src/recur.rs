//! `almanac recur`: expands a recurrence set given as iCalendar content lines.
//!
//! The lines are read by the same iCalendar reader the importer uses, so a rule that prints
//! here is read the same way from a file. Unlike the importer, anything the reader would
//! assume (an unknown TZID read as floating) or drop (a bad list item) is an error: a debugging
//! tool that silently changes its input would hide the very problem being debugged.

use std::io::Write;

use almanac_core::calendar::ical::{
    Property, RDate, ZoneResolver, parse, rdate_list, time_list, time_value,
};
use almanac_core::calendar::recurrence::{Occurrence, RecurrenceRule, RecurrenceSet};
use almanac_core::calendar::time::TimeValue;
use jiff::tz::TimeZone;

use crate::fail::{Context, Failure};
use crate::text;

/// Arguments of `almanac recur`.
#[derive(clap::Args, Debug)]
pub struct RecurArgs {
    /// The DTSTART content line, e.g. `DTSTART;TZID=America/New_York:19970902T090000`,
    /// `DTSTART;VALUE=DATE:19970902`, `DTSTART:19970902T090000Z` (UTC) or
    /// `DTSTART:19970902T090000` (floating). A bare value (`19970902T090000Z`) is accepted too.
    #[arg(long, value_name = "LINE")]
    dtstart: String,

    /// The RRULE value, e.g. `FREQ=MONTHLY;BYDAY=-1FR` (a leading `RRULE:` is accepted). Without
    /// it the set is DTSTART and the RDATEs.
    #[arg(long, value_name = "RULE")]
    rrule: Option<String>,

    /// An RDATE content line: a comma list of dates, date-times or periods (only a period's
    /// start matters here), with VALUE and TZID parameters as in a file. Repeatable.
    #[arg(long, value_name = "LINE")]
    rdate: Vec<String>,

    /// An EXDATE content line: a comma list of dates or date-times. Repeatable. A date excludes
    /// every occurrence on that day.
    #[arg(long, value_name = "LINE")]
    exdate: Vec<String>,

    /// Print occurrences starting at or after this time: RFC 3339 (`2026-01-01T00:00:00Z`,
    /// `2026-01-01T09:00:00+01:00`), iCalendar basic form (`20260101T090000Z`), a wall time
    /// without offset (`20260101T090000`, `2026-01-01T09:00:00`) or a date (`2026-01-01`). Wall
    /// times and dates are read in the series' zone: the TZID's zone for a zoned DTSTART, UTC
    /// otherwise (so a date means midnight there).
    #[arg(long, value_name = "TIME")]
    from: Option<String>,

    /// Print at most this many occurrences.
    #[arg(long, value_name = "N", default_value_t = 100)]
    limit: usize,
}

/// Runs `almanac recur`.
pub fn run(args: &RecurArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let zones = ZoneResolver::default();
    let read = time_value(&content_line("--dtstart", "DTSTART", &args.dtstart)?, &zones)
        .context("--dtstart")?;
    if !read.issues.is_empty() {
        return Err(inexact("--dtstart", &read.issues));
    }
    let start = read.value;
    let rule = args
        .rrule
        .as_deref()
        .map(|rule| RecurrenceRule::parse(rule).context("--rrule"))
        .transpose()?;
    let mut rdates = Vec::new();
    for line in &args.rdate {
        let read = rdate_list(&content_line("--rdate", "RDATE", line)?, &zones);
        if !read.issues.is_empty() {
            return Err(inexact("--rdate", &read.issues));
        }
        // A period's end is the occurrence's length, which this command does not print.
        rdates.extend(read.value.into_iter().map(|rdate| match rdate {
            RDate::Time(time) => time,
            RDate::Period(period) => period.start,
        }));
    }
    let mut exdates = Vec::new();
    for line in &args.exdate {
        let read = time_list(&content_line("--exdate", "EXDATE", line)?, &zones);
        if !read.issues.is_empty() {
            return Err(inexact("--exdate", &read.issues));
        }
        exdates.extend(read.value);
    }

    // All-day and floating series are expanded for a viewer in UTC, as documented in --help.
    let viewer = TimeZone::UTC;
    let series_zone = start.zone(&viewer).context("--dtstart")?;
    let from = args
        .from
        .as_deref()
        .map(|from| text::parse_instant("--from", from, &series_zone))
        .transpose()?;
    let set = RecurrenceSet { start, rule, rdates, exdates };
    for occurrence in set.first(from, args.limit, &viewer)? {
        writeln!(out, "{}", format_occurrence(&occurrence, &series_zone))?;
    }
    Ok(())
}

/// An occurrence in the kind of its series (see `almanac recur --help`).
fn format_occurrence(occurrence: &Occurrence, series_zone: &TimeZone) -> String {
    match &occurrence.original {
        TimeValue::Date(day) => text::date(*day),
        TimeValue::Floating(local) => local.strftime("%Y-%m-%dT%H:%M:%S").to_string(),
        // The instant, not the rule's wall time: they differ in a daylight-saving gap, and the
        // instant is when the occurrence really starts.
        TimeValue::Zoned { .. } | TimeValue::Utc(_) => {
            text::instant_in(occurrence.instant, series_zone)
        }
    }
}

/// The failure for a value the importer would read only by assuming or dropping something.
fn inexact(option: &str, issues: &[String]) -> Failure {
    Failure::new(format!(
        "{option}: {} (an import would accept this with that assumption; `almanac recur` does not)",
        issues.join("; ")
    ))
}

/// Reads one content line given on the command line into a property named `name`.
///
/// The line is wrapped in a minimal VCALENDAR and read by the file reader, so parameters,
/// quoting and escapes behave exactly as in an imported file.
fn content_line(option: &str, name: &str, arg: &str) -> Result<Property, Failure> {
    if arg.contains(['\r', '\n']) {
        // A line break would let the argument smuggle further lines into the wrapper.
        return Err(Failure::new(format!("{option}: give one content line, without line breaks")));
    }
    let trimmed = arg.trim();
    let has_name = match (trimmed.get(..name.len()), trimmed.get(name.len()..)) {
        (Some(head), Some(rest)) => head.eq_ignore_ascii_case(name) && rest.starts_with([';', ':']),
        _ => false,
    };
    let line = if has_name { trimmed.to_owned() } else { format!("{name}:{trimmed}") };
    let text =
        format!("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n{line}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
    let (roots, issues) = parse(&text);
    if !issues.is_empty() {
        let messages: Vec<String> = issues.into_iter().map(|issue| issue.message).collect();
        return Err(Failure::new(format!("{option}: {}", messages.join("; "))));
    }
    roots
        .first()
        .and_then(|calendar| calendar.components.first())
        .and_then(|event| event.properties.first())
        .cloned()
        .ok_or_else(|| Failure::new(format!("{option}: '{arg}' is not a {name} content line")))
}
