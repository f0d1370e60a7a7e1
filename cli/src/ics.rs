//! `almanac import` and `almanac export`: iCalendar files in and out of a store.

use std::fs;
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;

use almanac_core::calendar::ics::{ImportCounts, ImportIssue, ImportProgress};

use crate::fail::Failure;
use crate::store;
use crate::text::{count, one_line};

/// Arguments of `almanac import`.
#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// The store file (created if it does not exist).
    store: PathBuf,

    /// The iCalendar file to import.
    file: PathBuf,

    /// The calendar id the events are added to.
    #[arg(long, value_name = "ID", default_value = "default")]
    calendar: String,
}

/// Arguments of `almanac export`.
#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// The store file (it must exist).
    store: PathBuf,

    /// Only the events of this calendar id (all calendars when absent).
    #[arg(long, value_name = "ID")]
    calendar: Option<String>,
}

/// Runs `almanac import`.
pub fn import(args: &ImportArgs, out: &mut dyn Write) -> Result<(), Failure> {
    // The file is read before the store is opened, so a mistyped file name does not leave a
    // new empty store behind.
    let bytes = fs::read(&args.file)
        .map_err(|e| Failure::new(format!("cannot read {}: {e}", args.file.display())))?;
    // iCalendar is UTF-8, but some producers write Latin-1 or CP-1252: import what can be read
    // rather than nothing, and say so (once the store is known to be usable).
    let (text, lossy) = match String::from_utf8(bytes) {
        Ok(text) => (text, false),
        Err(error) => (String::from_utf8_lossy(error.as_bytes()).into_owned(), true),
    };
    let store = store::open_or_create(&args.store)?;
    let mut stderr = io::stderr();
    if lossy {
        let _ = writeln!(
            stderr,
            "warning: {} is not valid UTF-8; invalid bytes were replaced by U+FFFD",
            args.file.display()
        );
    }
    let show_progress = stderr.is_terminal();
    let mut progress = |step: ImportProgress| {
        if show_progress {
            // Failing to draw the progress line must not stop the import.
            let _ = write!(stderr, "\rimporting: {}/{} events", step.done, step.total);
            let _ = stderr.flush();
        }
    };
    let report = store.import_ics(&args.calendar, &text, &mut progress);
    if show_progress {
        // End the progress line, also before an error message.
        let _ = writeln!(stderr);
    }
    let report = report?;
    for issue in &report.issues {
        let _ = writeln!(stderr, "{}", format_issue(issue));
    }
    writeln!(
        out,
        "imported {} into calendar '{}' ({})",
        count(report.events, "event", "events"),
        one_line(&args.calendar),
        count(report.issues.len(), "issue", "issues")
    )?;
    writeln!(out, "{}", format_counts(&report.counts()))?;
    Ok(())
}

/// What became of the file's VEVENTs, so a user can check that none was lost: the four
/// numbers always add up to the first (the issues say why any was not imported).
fn format_counts(counts: &ImportCounts) -> String {
    format!(
        "{} read: {} imported, {} merged as {}, {} superseded, {} not imported",
        count(counts.read, "VEVENT", "VEVENTs"),
        counts.imported,
        counts.overrides,
        if counts.overrides == 1 { "an override" } else { "overrides" },
        counts.superseded,
        counts.not_imported
    )
}

/// `line 42: UID abc@example.com: message`, leaving out what is not known.
fn format_issue(issue: &ImportIssue) -> String {
    let mut text = String::new();
    if let Some(line) = issue.line {
        text.push_str(&format!("line {line}: "));
    }
    if let Some(uid) = &issue.uid {
        text.push_str(&format!("UID {}: ", one_line(uid)));
    }
    text.push_str(&one_line(&issue.message));
    text
}

/// Runs `almanac export`.
pub fn export(args: &ExportArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let store = store::open_existing(&args.store)?;
    let text = store.export_ics(args.calendar.as_deref())?;
    out.write_all(text.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issues_show_what_is_known() {
        let issue = |line, uid: Option<&str>| ImportIssue {
            line,
            uid: uid.map(str::to_owned),
            message: "bad\nthing".into(),
        };
        assert_eq!(format_issue(&issue(Some(4), Some("a@b"))), "line 4: UID a@b: bad\\nthing");
        assert_eq!(format_issue(&issue(None, None)), "bad\\nthing");
    }
}
