//! `almanac`: the command-line tool developers use to inspect, debug and edit Almanac stores.
//!
//! Every command is a thin layer over the public API of `almanac-core`, so what it prints is
//! what an app using the library would see. Output goes to stdout in line-oriented formats
//! (documented in each command's `--help`); errors go to stderr with exit status 1, usage
//! errors (from clap) with status 2. A closed stdout (`almanac recur ... | head`) ends the
//! command quietly with status 0.

mod agenda;
mod edit;
mod fail;
mod ics;
mod inspect;
mod network;
mod recur;
mod store;
mod sync;
mod text;

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::fail::Failure;

/// Inspect, debug and edit Almanac stores and recurrence rules.
#[derive(Parser, Debug)]
#[command(name = "almanac", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Expand a recurrence set (DTSTART, RRULE, RDATE, EXDATE) and print its occurrences
    ///
    /// Prints one occurrence start per line, in the kind of the DTSTART:
    ///
    ///   all-day (VALUE=DATE)   1997-09-02
    ///   floating               1997-09-02T09:00:00
    ///   zoned (TZID=...)       1997-09-02T09:00:00-04:00   (RFC 3339, offset of that zone)
    ///   UTC (...Z)             1997-09-02T13:00:00Z
    ///
    /// A zoned occurrence whose wall time falls in a daylight-saving gap is printed at the
    /// instant it resolves to (RFC 5545 §3.3.5). All-day and floating series are expanded for a
    /// viewer in UTC.
    ///
    /// This command is strict where the importer is lenient: an unknown TZID or an unreadable
    /// RDATE/EXDATE item is an error here, not a silent assumption.
    ///
    /// Example:
    ///
    ///   almanac recur --dtstart 'DTSTART;TZID=America/New_York:19970902T090000' \
    ///     --rrule 'FREQ=DAILY;COUNT=10'
    #[command(verbatim_doc_comment)]
    Recur(recur::RecurArgs),

    /// Import an iCalendar (.ics) file into a store
    ///
    /// The store is created if the file does not exist. Events are added to the calendar given
    /// by --calendar (`default` when absent). Progress is shown on stderr when it is a
    /// terminal. At the end two summary lines are printed on stdout: the events written, and
    /// what became of every VEVENT of the file (the last four numbers add up to the first;
    /// a VEVENT is superseded by a newer copy with its UID, RFC 5546):
    ///
    ///   imported 12 events into calendar 'default' (2 issues)
    ///   15 VEVENTs read: 12 imported, 2 merged as overrides, 0 superseded, 1 not imported
    ///
    /// and each issue on stderr, one per line (a VEVENT not imported has one saying why):
    ///
    ///   line 42: UID abc@example.com: <what was wrong and what was done>
    ///
    /// Exit status 0 when the file was read, even if some items had issues; 1 when the file
    /// cannot be read or the store cannot be written.
    #[command(verbatim_doc_comment)]
    Import(ics::ImportArgs),

    /// Export a store (or one calendar) as iCalendar text on stdout.
    Export(ics::ExportArgs),

    /// List the occurrences of a date range, one per line
    ///
    /// Each line has four TAB-separated fields:
    ///
    ///   START <TAB> END <TAB> EVENT-ID <TAB> TITLE
    ///
    /// START and END (exclusive) are RFC 3339 times in --zone (`...Z` in UTC), or dates
    /// (YYYY-MM-DD, END exclusive) for all-day events. Tabs, line breaks and other control
    /// characters in ids and titles are printed escaped (`\t`, `\n`), so every occurrence is
    /// exactly one line. An event without a title has an empty TITLE field. An event cancelled
    /// as a whole (STATUS:CANCELLED, kept as the sender showed it) has a fifth field,
    /// `cancelled`; cancelled occurrences of a series are not listed.
    ///
    /// --from and --to are dates (YYYY-MM-DD or YYYYMMDD) in --zone, both INCLUSIVE: the range
    /// runs from the start of --from to the end of --to. Every occurrence that overlaps the
    /// range is listed, sorted by start. All-day and floating events are read in --zone.
    /// Without --zone, the system's zone is used (TZ, else the system setting; UTC when
    /// neither names a zone).
    #[command(verbatim_doc_comment)]
    Agenda(agenda::AgendaArgs),

    /// Add an event to a store and print its new id
    ///
    /// The store is created if the file does not exist, and the calendar --calendar (named
    /// after its id) if the store lacks it. The new event's id, 32 hex digits, is printed alone
    /// on stdout.
    ///
    /// --start and --end take three forms:
    ///
    ///   2026-03-10                  a date: an all-day event (without --end, one day)
    ///   2026-03-10T09:00[:00]       a local date-time: in --zone when given, else floating
    ///                               (the same clock time wherever the viewer is)
    ///   2026-03-10T09:00:00Z        RFC 3339, an instant (also ...+01:00): with --zone kept
    ///                               as its wall time in that zone, else in UTC
    ///
    /// Without --end or --duration a timed event lasts one hour. --end must be of the same
    /// kind as --start (a date with a date, a time with a time) and not before it; a local
    /// --end is read on the start's clock (in UTC after an RFC 3339 start without --zone), and
    /// a floating start needs a local --end. --duration is an ISO 8601 duration (PT30M, PT2H,
    /// P1D).
    ///
    /// Example:
    ///
    ///   almanac add work.almanac --calendar work --title Standup \
    ///     --start 2026-01-05T09:00 --duration PT30M --zone Europe/Paris --rrule FREQ=WEEKLY
    #[command(verbatim_doc_comment)]
    Add(edit::AddArgs),

    /// Change an event, one of its occurrences, or an occurrence and the ones after it
    ///
    /// Without --occurrence the whole event (every occurrence of a series) is changed. With
    /// --occurrence only the occurrence with that original start; with --following too, that
    /// occurrence and every later one. An occurrence is named by its original start as
    /// `almanac agenda` prints it (2026-01-19T08:00:00Z, 2026-01-19T09:00:00+01:00, or
    /// 2026-01-19 for an all-day series), or as a local date-time in the event's zone
    /// (2026-01-19T09:00). It must be an occurrence of the event's schedule; one that an
    /// earlier edit moved can also be named by the start `agenda` now shows for it.
    ///
    /// --start and --end take the forms of `almanac add`. A --start without an offset is read
    /// in the event's own zone (floating for a floating event, UTC for a UTC one), and an
    /// RFC 3339 one is converted into it; --end is read like that on the new start's clock.
    /// With only --start the event keeps its length. An empty --title or --location clears
    /// the field.
    ///
    /// Prints nothing. At least one change must be given.
    ///
    /// Example:
    ///
    ///   almanac edit work.almanac 3f2a... --occurrence 2026-01-19T08:00:00Z \
    ///     --following --start 2026-01-19T10:00
    #[command(verbatim_doc_comment)]
    Edit(edit::EditArgs),

    /// Delete an event, one of its occurrences, or an occurrence and the ones after it
    ///
    /// --occurrence and --following choose the occurrences as for `almanac edit`. Deleting
    /// the whole event can be undone with `almanac restore`; deleting from an occurrence on
    /// ends the series before it. Prints nothing.
    #[command(verbatim_doc_comment)]
    Delete(edit::DeleteArgs),

    /// Bring back a deleted event, with every edit it had, or one deleted occurrence
    ///
    /// Without --occurrence the event must have been deleted as a whole (`almanac delete`
    /// without --occurrence). With --occurrence (its original start, as for `almanac edit`),
    /// one occurrence deleted with `almanac delete --occurrence` comes back as it was before,
    /// its moves and edits included. Prints nothing.
    #[command(verbatim_doc_comment)]
    Restore(edit::RestoreArgs),

    /// Sync two stores, or a store with the sync server, and print what was sent
    ///
    /// almanac sync <STORE-A> <STORE-B> [--calendar ID]...
    ///
    /// Runs the same protocol two devices run over a network, in this process: each store
    /// sends the other what it lacks, in checksummed, compressed chunks. Without --calendar,
    /// every calendar both stores hold is synced (and both stores must exist). With
    /// --calendar (repeatable), only the named calendars; a named calendar that only one
    /// store holds is joined by the other, which is how a second device starts following a
    /// calendar (a store that does not exist yet is created for it). Output:
    ///
    ///   calendars: work home
    ///   phone.almanac -> laptop.almanac: 5 messages, 1840 bytes, 12 records
    ///   laptop.almanac -> phone.almanac: 5 messages, 310 bytes, 1 records
    ///
    /// A calendar neither store holds, or the same store twice, is an error and changes
    /// nothing.
    ///
    /// almanac sync <STORE> --server <URL> --token <TOKEN> [--calendar ID]...
    ///
    /// Connects to the sync server (ws://host:port, or wss://host:port with TLS checked
    /// against the system's trusted certificates), syncs every calendar the store holds plus
    /// those named with --calendar (a calendar the store does not hold is joined: created in
    /// the store if the server allows it), and disconnects. One line per calendar, then the
    /// totals:
    ///
    ///   server: ws://127.0.0.1:7070/v1/sync
    ///   calendar work: read-write, 3 records received
    ///   calendar family: read-only, 0 records received, local changes stay on this device
    ///   (not shared for writing)
    ///   sent: 1 records, 912 bytes; received: 3 records, 1405 bytes
    ///
    /// A wrong URL, a refused or expired token, a server that cannot be reached, or a
    /// named calendar the server refuses is an error (status 1).
    #[command(
        verbatim_doc_comment,
        override_usage = "almanac sync <STORE-A> <STORE-B> [--calendar <ID>]...\n       \
                          almanac sync <STORE> --server <URL> --token <TOKEN> [--calendar <ID>]..."
    )]
    Sync(sync::SyncArgs),

    /// Stay connected to the sync server and print each change as it arrives
    ///
    /// Syncs the store with the server (as `almanac sync --server`), then stays connected:
    /// changes made on other devices arrive as the server pushes them. Changes another
    /// program makes to the store meanwhile are sent with the next round (after the next
    /// push, or on reconnecting). Runs until Ctrl-C. One line per calendar changed by a
    /// round, and one line when the connection is made or made again, with TAB-separated
    /// fields:
    ///
    ///   2026-03-10T09:00:00Z    connected to ws://127.0.0.1:7070/v1/sync
    ///   2026-03-10T09:00:04Z    work    2 records
    ///   2026-03-10T09:03:12Z    reconnected to ws://127.0.0.1:7070/v1/sync
    ///
    /// A lost connection is reported on stderr and retried with growing delays (up to 30 s).
    /// A wrong URL, a refused or expired token, or a server that cannot be reached at the
    /// start ends the command with status 1.
    #[command(verbatim_doc_comment)]
    Watch(network::WatchArgs),

    /// Share a calendar you own with another user of the sync server
    ///
    /// almanac share <STORE> --server <URL> --token <TOKEN> --calendar <ID> --with <USER>
    ///     [--read-only]
    ///
    /// The token's user must own the calendar (its first device to sync it made them the
    /// owner). The other user's devices get it at their next sync, once they join it
    /// (`almanac sync --server ... --calendar ID`). Run again with or without --read-only to
    /// change their access. Prints one line:
    ///
    ///   shared work with bob (read-only)
    ///
    /// Not the owner, an unknown user, a calendar never synced, a refused token or a server
    /// that cannot be reached is an error (status 1).
    #[command(verbatim_doc_comment)]
    Share(network::ShareArgs),

    /// Stop sharing a calendar you own with a user
    ///
    /// almanac unshare <STORE> --server <URL> --token <TOKEN> --calendar <ID> --with <USER>
    ///
    /// Their devices are refused the calendar from their next sync on (the copy they hold
    /// stays until they leave it). Prints `stopped sharing work with bob`, or that it was not
    /// shared with them.
    #[command(verbatim_doc_comment)]
    Unshare(network::UnshareArgs),

    /// List who a calendar you own is shared with
    ///
    /// almanac shares <STORE> --server <URL> --token <TOKEN> --calendar <ID>
    ///
    /// One line per user, TAB-separated: the name, then read-only or read-write; or
    /// `work is not shared`.
    #[command(verbatim_doc_comment)]
    Shares(network::SharingArgs),

    /// Print the calendar conflict log of a store, event by event
    ///
    /// For each event that has any: fields with concurrent values (the value shown, then the
    /// others), edits made concurrently with the event's deletion (restore the event to get
    /// them back), and occurrence edits hidden by a cancel, a truncation or a schedule change
    /// (by occurrence key, the original start in iCalendar form). Conflicts of other records
    /// (calendars, ...) follow as `record <collection>/<id>`. Entries are separated by a blank
    /// line; `no conflicts` is printed when the log is empty.
    ///
    ///   event standup
    ///     title: shows "Standup B"; also "Standup A"
    ///     occurrence 20260112, cancelled: title = "Moved agenda"
    ///
    ///   event trip (deleted)
    ///     lost to the delete: title = "Trip to Lyon" (replica daf2a5f3)
    #[command(verbatim_doc_comment)]
    Conflicts(StoreArg),

    /// Print facts about a store: replica, versions, counts, size.
    ///
    /// One `name: value` line per fact: store path, replica id, schema version, record
    /// encoding version, bundled tz database version, calendars and events (live and deleted),
    /// records in the conflict log, events in the calendar conflict log, replicas in the
    /// version vector, and the size of the file and its write-ahead log.
    Stats(StoreArg),

    /// Give back the space edits and deletes left free inside a store file
    ///
    /// Rewrites the file without its free pages and folds the write-ahead log into it
    /// (`Store::compact`); records, replica id and sync state are unchanged. Prints the
    /// store's bytes on disk (file and write-ahead log) before and after:
    ///
    ///   before: 5550080 bytes
    ///   after:  4337664 bytes
    #[command(verbatim_doc_comment)]
    Compact(StoreArg),
}

/// A command that takes only a store.
#[derive(clap::Args, Debug)]
struct StoreArg {
    /// The store file (it must exist).
    store: PathBuf,
}

fn run(command: Command, out: &mut dyn Write) -> Result<(), Failure> {
    match command {
        Command::Recur(args) => recur::run(&args, out),
        Command::Import(args) => ics::import(&args, out),
        Command::Export(args) => ics::export(&args, out),
        Command::Agenda(args) => agenda::run(&args, out),
        Command::Add(args) => edit::add(&args, out),
        Command::Edit(args) => edit::edit(&args),
        Command::Delete(args) => edit::delete(&args),
        Command::Restore(args) => edit::restore(&args),
        Command::Sync(args) => sync::run(&args, out),
        Command::Watch(args) => network::watch(&args, out),
        Command::Share(args) => network::share(&args, out),
        Command::Unshare(args) => network::unshare(&args, out),
        Command::Shares(args) => network::shares(&args, out),
        Command::Conflicts(args) => inspect::conflicts(&args.store, out),
        Command::Stats(args) => inspect::stats(&args.store, out),
        Command::Compact(args) => inspect::compact(&args.store, out),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let result = run(cli.command, &mut out).and_then(|()| out.flush().map_err(Failure::from));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`| head`): what it wanted was printed.
        Err(failure) if failure.is_broken_pipe() => ExitCode::SUCCESS,
        Err(failure) => {
            // Whatever was printed before the failure still reaches stdout, then the reason.
            let _ = out.flush();
            // If stderr is gone too there is nobody left to tell.
            let _ = writeln!(io::stderr(), "error: {failure}");
            ExitCode::FAILURE
        }
    }
}
