//! `almanac stats` and `almanac conflicts`: what is in a store, and what its merges kept aside.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;

use almanac_core::calendar::conflicts::{EventConflicts, Shadow};
use almanac_core::calendar::event::{End, Participation, Role, Timing};
use almanac_core::calendar::recurrence::RecurrenceRule;
use almanac_core::calendar::time::{Duration, TimeValue, tzdb_version};
use almanac_core::codec::{PLAIN_RECORD_FORMAT, RECORD_FORMAT_VERSION};
use almanac_core::crdt::{FieldPath, ShadowedEdit};
use almanac_core::storage::sqlite::schema::CURRENT_VERSION;
use almanac_core::{Conflicts, Value, VersionVector};

use crate::fail::Failure;
use crate::store::{bytes_on_disk, open_existing};
use crate::text::{count, one_line};

const EVENTS: &str = "events";
const CALENDARS: &str = "calendars";

/// Runs `almanac stats`.
pub fn stats(path: &Path, out: &mut dyn Write) -> Result<(), Failure> {
    let store = open_existing(path)?;
    // Deleted records are only reachable through a full delta (a peer that has seen nothing
    // receives every record, tombstones included); live ones through `records`.
    let spaces = store.spaces()?;
    let mut existing: BTreeMap<String, usize> = BTreeMap::new();
    let mut live: BTreeMap<String, usize> = BTreeMap::new();
    let mut replicas = BTreeSet::new();
    for space in &spaces {
        let everything = store.delta_since(space.as_str(), &VersionVector::new())?;
        for (key, _) in &everything.records {
            *existing.entry(key.collection.clone()).or_default() += 1;
        }
        for collection in [CALENDARS, EVENTS] {
            *live.entry(collection.to_owned()).or_default() +=
                store.records(space.as_str(), collection)?.len();
        }
        replicas.extend(everything.context.iter().map(|(replica, _)| replica));
    }
    let live_and_deleted = |collection: &str| -> Result<String, Failure> {
        let live = live.get(collection).copied().unwrap_or(0);
        let deleted = existing.get(collection).copied().unwrap_or(0).saturating_sub(live);
        Ok(format!("{live} live, {deleted} deleted"))
    };
    let (file_size, wal_size) = bytes_on_disk(path)?;

    let rows = [
        ("store", path.display().to_string()),
        ("replica id", store.replica_id().to_string()),
        // Opening a store migrates it to the newest schema (or refuses a newer one), so an
        // open store is always at the version this build writes.
        ("schema version", CURRENT_VERSION.to_string()),
        ("record encoding", record_encoding(&store)?),
        ("tz database", tzdb_version().to_owned()),
        ("calendars", live_and_deleted(CALENDARS)?),
        ("events", live_and_deleted(EVENTS)?),
        ("records with conflicts", store.conflicts()?.len().to_string()),
        ("events in conflict log", store.calendar_conflicts()?.len().to_string()),
        ("spaces", count(spaces.len(), "space", "spaces")),
        ("version vectors", count(replicas.len(), "replica", "replicas")),
        ("file size", format!("{file_size} bytes (+ {wal_size} bytes write-ahead log)")),
    ];
    let width = rows.iter().map(|(name, _)| name.len()).max().unwrap_or(0) + 1;
    for (name, value) in rows {
        writeln!(out, "{:<width$} {value}", format!("{name}:"))?;
    }
    Ok(())
}

/// The record format new records are written in, and what it is compressed against.
fn record_encoding(store: &almanac_core::Store) -> Result<String, Failure> {
    Ok(match store.record_dictionary_size()? {
        Some(size) => {
            format!("{RECORD_FORMAT_VERSION} (compressed against a {size}-byte dictionary)")
        }
        None => format!(
            "{PLAIN_RECORD_FORMAT} (not compressed yet: the store makes a dictionary once it \
             holds 256 live records)"
        ),
    })
}

/// Runs `almanac compact`.
pub fn compact(path: &Path, out: &mut dyn Write) -> Result<(), Failure> {
    let store = open_existing(path)?;
    let on_disk = || bytes_on_disk(path).map(|(file, wal)| file + wal);
    let before = on_disk()?;
    store.compact()?;
    writeln!(out, "before: {before} bytes")?;
    writeln!(out, "after:  {} bytes", on_disk()?)?;
    Ok(())
}

/// Runs `almanac conflicts`.
pub fn conflicts(path: &Path, out: &mut dyn Write) -> Result<(), Failure> {
    let store = open_existing(path)?;
    let events = store.calendar_conflicts()?;
    // Event records are covered, in calendar terms, by the calendar log above.
    let others: Vec<Conflicts> =
        store.conflicts()?.into_iter().filter(|c| c.key.collection != EVENTS).collect();
    if events.is_empty() && others.is_empty() {
        writeln!(out, "no conflicts")?;
        return Ok(());
    }
    let mut first = true;
    for event in &events {
        if !std::mem::take(&mut first) {
            writeln!(out)?;
        }
        write_event(event, out)?;
    }
    for record in &others {
        if !std::mem::take(&mut first) {
            writeln!(out)?;
        }
        let deleted = if record.deleted { " (deleted)" } else { "" };
        writeln!(out, "record {}{deleted}", one_line(&record.key.to_string()))?;
        write_fields(&record.fields, &record.shadowed, out)?;
    }
    Ok(())
}

/// One event's entry:
///
/// ```text
/// event standup (deleted)
///   title: shows "Standup B"; also "Standup A"
///   lost to the delete: location = "Room 4" (replica 1a2b3c4d…)
///   occurrence 20260105, cancelled: title = "Moved"
///   occurrence 20260119 and following, cut off by a truncation of the series: title = "Later"
/// ```
fn write_event(event: &EventConflicts, out: &mut dyn Write) -> Result<(), Failure> {
    let deleted = if event.deleted { " (deleted)" } else { "" };
    writeln!(out, "event {}{deleted}", one_line(&event.event_id))?;
    write_fields(&event.fields, &event.shadowed_by_delete, out)?;
    for occurrence in &event.occurrences {
        let reason = match occurrence.reason {
            Shadow::Cancelled => "cancelled",
            Shadow::Truncated => "cut off by a truncation of the series",
            Shadow::Orphaned => "no longer in the schedule",
            Shadow::Hidden => "shown on no occurrence (cancelled, cut off or edited one by one)",
        };
        let mut fields: Vec<String> = occurrence
            .fields
            .iter()
            .map(|(name, value)| format!("{} = {}", one_line(name), describe(name, value)))
            .collect();
        if occurrence.cancelled && occurrence.reason != Shadow::Cancelled {
            fields.insert(0, "cancelled".into());
        }
        let following = if occurrence.following { " and following" } else { "" };
        writeln!(
            out,
            "  occurrence {}{following}, {reason}: {}",
            one_line(&occurrence.key),
            fields.join(", ")
        )?;
    }
    Ok(())
}

fn write_fields(
    fields: &[almanac_core::FieldConflict],
    shadowed: &[ShadowedEdit],
    out: &mut dyn Write,
) -> Result<(), Failure> {
    for field in fields {
        let name = field_name(&field.path);
        let others: Vec<String> =
            field.candidates.iter().map(|value| describe(name, value)).collect();
        writeln!(
            out,
            "  {}: shows {}; also {}",
            path_text(&field.path),
            describe(name, &field.shown),
            others.join(", ")
        )?;
    }
    for edit in shadowed {
        let name = field_name(&edit.path);
        // Eight hex digits tell replicas apart, as in the core's debug output.
        let replica = edit.entry.dot.replica.to_string();
        writeln!(
            out,
            "  lost to the delete: {} = {} (replica {})",
            path_text(&edit.path),
            describe(name, &edit.entry.value),
            replica.get(..8).unwrap_or(&replica)
        )?;
    }
    Ok(())
}

/// The field a path ends in, which says how its value is encoded.
fn field_name(path: &FieldPath) -> &str {
    match path {
        FieldPath::Register(name) | FieldPath::Min(name) | FieldPath::Max(name) => name,
        FieldPath::Member(_, _, field) => field,
    }
}

/// `title`, `attendees[mailto:ann@example.com].participation`, `truncate_at`.
fn path_text(path: &FieldPath) -> String {
    match path {
        FieldPath::Register(name) | FieldPath::Min(name) | FieldPath::Max(name) => {
            one_line(name).into_owned()
        }
        FieldPath::Member(map, key, field) => {
            format!("{}[{}].{}", one_line(map), one_line(key), one_line(field))
        }
    }
}

/// A value for reading: text quoted, structured calendar values decoded by the field they
/// belong to.
fn describe(field: &str, value: &Value) -> String {
    match value {
        Value::Null => "(cleared)".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Text(text) => format!("{text:?}"),
        Value::Bytes(bytes) => format!("<{} bytes>", bytes.len()),
        Value::Structured(bytes) => {
            describe_structured(field, value).unwrap_or_else(|| format!("<{} bytes>", bytes.len()))
        }
    }
}

fn describe_structured(field: &str, value: &Value) -> Option<String> {
    Some(match field {
        "timing" => {
            let timing: Timing = value.decode().ok()?;
            match timing.end {
                End::At(end) => format!("{} to {end}", timing.start),
                End::After(duration) => format!("{} for {duration}", timing.start),
            }
        }
        "rule" => value.decode::<RecurrenceRule>().ok()?.to_string(),
        "value" => value.decode::<TimeValue>().ok()?.to_string(),
        "trigger" => value.decode::<Duration>().ok()?.to_string(),
        "role" => format!("{:?}", value.decode::<Role>().ok()?),
        "participation" => format!("{:?}", value.decode::<Participation>().ok()?),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_described_by_their_field() -> Result<(), Failure> {
        assert_eq!(describe("title", &Value::from("Standup")), "\"Standup\"");
        assert_eq!(describe("title", &Value::Null), "(cleared)");
        let timing = Timing::all_day(jiff::civil::date(2026, 3, 15), 1);
        assert_eq!(describe("timing", &Value::structured(&timing)?), "2026-03-15 for P1D");
        let rule = RecurrenceRule::parse("FREQ=DAILY;COUNT=3")?;
        assert_eq!(describe("rule", &Value::structured(&rule)?), "FREQ=DAILY;COUNT=3");
        assert!(describe("other", &Value::structured(&rule)?).ends_with("bytes>"));
        Ok(())
    }

    #[test]
    fn paths_read_like_fields() {
        let member = FieldPath::Member("attendees".into(), "mailto:a@b".into(), "role".into());
        assert_eq!(path_text(&member), "attendees[mailto:a@b].role");
        assert_eq!(field_name(&member), "role");
    }
}
