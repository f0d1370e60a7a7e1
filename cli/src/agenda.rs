//! `almanac agenda`: the occurrences of a range of days, as an app's agenda view would list them.

use std::io::Write;
use std::path::PathBuf;

use almanac_core::calendar::series::Occurrence;
use almanac_core::calendar::time::time_zone;
use jiff::tz::TimeZone;

use crate::fail::{Context, Failure};
use crate::{store, text};

/// Arguments of `almanac agenda`.
#[derive(clap::Args, Debug)]
pub struct AgendaArgs {
    /// The store file (it must exist).
    store: PathBuf,

    /// The first day (YYYY-MM-DD or YYYYMMDD), in --zone.
    #[arg(long, value_name = "DATE")]
    from: String,

    /// The last day, INCLUSIVE (YYYY-MM-DD or YYYYMMDD), in --zone.
    #[arg(long, value_name = "DATE")]
    to: String,

    /// The viewer's IANA time zone: the days are read and the times printed in it, and
    /// all-day and floating events are placed in it. Default: the system's zone (`TZ`, else
    /// the system setting), UTC when it cannot be told.
    #[arg(long, value_name = "IANA")]
    zone: Option<String>,

    /// Only events of this calendar id. Repeatable; all calendars when absent.
    #[arg(long = "calendar", value_name = "ID")]
    calendars: Vec<String>,
}

/// The zone of the person running the command: the system's, read in the bundled tz database
/// (the one every device computes with) when it has a name, UTC when nothing can be told.
fn system_zone() -> TimeZone {
    let Ok(system) = TimeZone::try_system() else { return TimeZone::UTC };
    match system.iana_name() {
        Some(name) => time_zone(name).unwrap_or(system),
        None => system,
    }
}

/// Runs `almanac agenda`.
pub fn run(args: &AgendaArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let zone = match &args.zone {
        Some(name) => time_zone(name).context("--zone")?,
        None => system_zone(),
    };
    let first = text::parse_day("--from", &args.from)?;
    let last = text::parse_day("--to", &args.to)?;
    if last < first {
        return Err(Failure::new(format!(
            "--to {} is before --from {}; --to is the last day shown (inclusive)",
            text::date(last),
            text::date(first)
        )));
    }
    let after_last = last
        .tomorrow()
        .map_err(|_| Failure::new(format!("--to: {} is the last representable day", args.to)))?;
    let from = text::start_of_day(first, &zone)?;
    let to = text::start_of_day(after_last, &zone)?;

    let store = store::open_existing(&args.store)?;
    let calendars: Vec<&str> = args.calendars.iter().map(String::as_str).collect();
    for occurrence in store.occurrences(from, to, &calendars, &zone)? {
        writeln!(out, "{}", format_row(&occurrence, &zone))?;
    }
    Ok(())
}

/// `START \t END \t EVENT-ID \t TITLE` (see `almanac agenda --help`).
fn format_row(occurrence: &Occurrence, zone: &TimeZone) -> String {
    let (start, end) = if occurrence.timing.is_all_day() {
        // All-day occurrences were placed at midnight in the viewer's zone, so their instants
        // read back as the event's own dates there.
        (
            text::date(zone.to_datetime(occurrence.start).date()),
            text::date(zone.to_datetime(occurrence.end).date()),
        )
    } else {
        (text::instant_in(occurrence.start, zone), text::instant_in(occurrence.end, zone))
    };
    let mut row = format!(
        "{start}\t{end}\t{}\t{}",
        text::one_line(&occurrence.event_id),
        text::one_line(occurrence.title().unwrap_or_default())
    );
    if occurrence.is_cancelled() {
        row.push_str("\tcancelled");
    }
    row
}
