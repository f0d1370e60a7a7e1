//! The calendar conflict log: everything the merge kept that the app should be able to show and
//! restore — concurrent values of a field, edits shadowed by a delete (case 4), by a cancelled
//! occurrence (case 6) or by a truncation (case 14), and overrides orphaned by a schedule change
//! (case 10).

use std::collections::BTreeMap;

use rusqlite::params;

use super::event::{EVENTS, fields, is_inherited};
use super::series::{Event, read_event};
use crate::Store;
use crate::crdt::{FieldPath, RecordKey, ShadowedEdit, Value};
use crate::error::Result;
use crate::storage::sqlite::decode_record;
use crate::view::{FieldConflict, Record};

/// Why an occurrence's edits are not shown.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Shadow {
    /// The occurrence was cancelled concurrently with the edit (cancel wins).
    Cancelled,
    /// The series was truncated before the occurrence concurrently with the edit.
    Truncated,
    /// The occurrence no longer exists in the schedule (rule or start changed).
    Orphaned,
    /// A "this and following" edit no occurrence shows: those it applies to are cancelled, cut
    /// off, or have their own edit of those fields.
    Hidden,
}

/// An occurrence patch the app cannot currently see.
#[derive(Clone, PartialEq, Debug)]
pub struct ShadowedOccurrence {
    /// The occurrence key (see `series::occurrence_key`).
    pub key: String,
    /// Whether it is a "this and following" patch (else a single-occurrence one).
    pub following: bool,
    /// Why it is hidden.
    pub reason: Shadow,
    /// The patched fields it carries.
    pub fields: BTreeMap<String, Value>,
    /// Whether it cancels its occurrence (an orphaned cancel is listed even without fields).
    pub cancelled: bool,
}

/// One event's entry in the calendar conflict log.
#[derive(Clone, PartialEq, Debug)]
pub struct EventConflicts {
    /// The event id.
    pub event_id: String,
    /// Whether the event is deleted.
    pub deleted: bool,
    /// Fields (of the series, of overrides, of attendees…) with concurrent values.
    pub fields: Vec<FieldConflict>,
    /// Edits made concurrently with the event's deletion (restore the event to get them back).
    pub shadowed_by_delete: Vec<ShadowedEdit>,
    /// Occurrence patches hidden by a cancel, a truncation or a schedule change.
    pub occurrences: Vec<ShadowedOccurrence>,
}

/// Occurrence and range patches of `event` that are hidden: those at or after the truncation,
/// orphans (keyed on no occurrence of the current schedule; orphaned cancels included) and
/// cancelled occurrences that still carry edits (the canceller cleared what it had seen, so
/// what remains was concurrent).
pub fn occurrence_conflicts(event: &Event) -> Result<Vec<ShadowedOccurrence>> {
    let mut out = Vec::new();
    for (following, patches) in [(false, &event.overrides), (true, &event.range_patches)] {
        for (key, patch) in patches {
            let reason = if event.is_truncated(event.position(key)?)? {
                Shadow::Truncated
            } else if !event.is_occurrence(key)? {
                Shadow::Orphaned
            } else if patch.cancelled {
                Shadow::Cancelled
            } else if following {
                Shadow::Hidden
            } else {
                continue;
            };
            let hidden;
            let fields = match reason {
                // A cancelled occurrence lists only the edits its canceller had not seen.
                Shadow::Cancelled => &patch.unseen_by_cancel,
                Shadow::Hidden => {
                    hidden = event.range_fields_shown_nowhere(key)?;
                    &hidden
                }
                _ => &patch.fields,
            };
            let orphaned_cancel = reason == Shadow::Orphaned && patch.cancelled;
            if !fields.is_empty() || orphaned_cancel {
                out.push(ShadowedOccurrence {
                    key: key.clone(),
                    following,
                    reason,
                    fields: fields.clone(),
                    cancelled: patch.cancelled,
                });
            }
        }
    }
    Ok(out)
}

/// A register conflict as the calendar shows it: the bookkeeping of cancels (what a canceller
/// had seen) is not the user's edit, alarm dismissals merge by maximum, and the
/// "inherited" mark a wider edit leaves is not a value; what remains conflicts only if two
/// different values do.
fn calendar_field_conflict(conflict: FieldConflict) -> Option<FieldConflict> {
    if let FieldPath::Member(map, _, member_field) = &conflict.path {
        // Concurrent dismissals of an alarm merge by maximum: no conflict to show.
        let dismissal = map == fields::ALARMS && member_field == fields::ACKNOWLEDGED;
        if member_field == fields::CANCEL_SEEN || dismissal {
            return None;
        }
    }
    let mut values: Vec<Value> = Vec::new();
    for value in std::iter::once(conflict.shown).chain(conflict.candidates) {
        if !is_inherited(&value) && !values.contains(&value) {
            values.push(value);
        }
    }
    if values.len() < 2 {
        return None;
    }
    let shown = values.remove(0);
    Some(FieldConflict { path: conflict.path, shown, candidates: values })
}

impl Store {
    /// The calendar conflict log, event by event.
    pub fn calendar_conflicts(&self) -> Result<Vec<EventConflicts>> {
        let mut by_event: BTreeMap<String, EventConflicts> = BTreeMap::new();
        let entry = |map: &mut BTreeMap<String, EventConflicts>, id: &str, deleted: bool| {
            map.entry(id.to_owned())
                .or_insert_with(|| EventConflicts {
                    event_id: id.to_owned(),
                    deleted,
                    fields: Vec::new(),
                    shadowed_by_delete: Vec::new(),
                    occurrences: Vec::new(),
                })
                .deleted = deleted;
        };
        super::index::calendar_view(self)?;
        for report in self.conflicts()?.into_iter().filter(|c| c.key.collection == EVENTS) {
            entry(&mut by_event, &report.key.id, report.deleted);
            if let Some(e) = by_event.get_mut(&report.key.id) {
                e.fields = report.fields.into_iter().filter_map(calendar_field_conflict).collect();
                e.shadowed_by_delete = report.shadowed;
            }
        }
        let attention = self.read(|conn| {
            let mut statement = conn.prepare_cached(
                "SELECT s.name, r.id, r.state FROM calendar_attention a JOIN records r ON r.rid = a.rid
                 JOIN spaces s ON s.sid = r.sid
                 WHERE r.cid = (SELECT cid FROM collections WHERE name = ?1)",
            )?;
            let rows = statement.query_map(params![EVENTS], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?, row.get::<_, Vec<u8>>(2)?))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (space, id, bytes) = row?;
                let space = crate::storage::sqlite::stored_space(space)?;
                out.push(Record { space, key: RecordKey::new(EVENTS, id), state: decode_record(conn, &bytes)? });
            }
            Ok(out)
        })?;
        for record in attention {
            let Some(event) = read_event(&record.key.id, &record.state)? else { continue };
            let occurrences = occurrence_conflicts(&event)?;
            if !occurrences.is_empty() {
                entry(&mut by_event, &record.key.id, record.is_deleted());
                if let Some(e) = by_event.get_mut(&record.key.id) {
                    e.occurrences = occurrences;
                }
            }
        }
        // An entry whose every engine-level conflict was bookkeeping or agreement is no entry.
        let listed = |e: &EventConflicts| {
            !e.fields.is_empty() || !e.shadowed_by_delete.is_empty() || !e.occurrences.is_empty()
        };
        Ok(by_event.into_values().filter(listed).collect())
    }
}
