//! The occurrence index: derived SQLite tables that let a day, week or month view find its
//! events without reading the whole store.
//!
//! - `single_occurrences(start, length, rid)`: the occurrence of each single event, in UTC
//!   seconds, keyed by start and nothing else (decision 0036): a save finds the row to replace
//!   from the event's previous state, and a left space's rows are cleared by `on_drop_space`.
//!   Its key is the event's own start (`Event::key_of`), so it is not stored.
//! - `occurrence_index(rid, key, start, length)`: one row per occurrence of a recurring series,
//!   in UTC seconds, only for the UTC days that have been queried (`indexed_days`), materialised on first use like Android's `Instances` table,
//!   so an endless daily series costs rows only for the days someone looks at. A view
//!   materialises the days its widened window touches: for a month view, the month's days and
//!   one or two on each side, not the three months it touches (decision 0029). An occurrence is written
//!   for every indexed day range it overlaps, so one that starts before a range is found from
//!   inside it (rows are keyed by occurrence, so overlapping ranges do not duplicate it).
//! - `recurring_series(rid, first, last)`: the series to expand when new days are
//!   materialised, with bounds on their occurrences (`Event::span`, UTC seconds; `last` NULL
//!   when the series has no known end), so a view skips the series that cannot reach it.
//! - `occurrence_days(day, rows)`: the rows of both occurrence tables once more, packed one
//!   blob per UTC day they start on (`day_rows`, decision 0049), so a month view reads about 33
//!   SQLite rows instead of thousands. A view packs the days it reads that have no blob yet;
//!   any change to a row forgets the blob of the row's day (`forget_days`).
//!
//! A window longer than ten years (`MATERIALISED_AT_MOST`, decision 0051) indexes no days: its
//! single events come from their rows and its series are expanded.
//!
//! Rows are maintained in the same transaction as the CRDT write (`on_save`), so the index never
//! disagrees with the records. It is derived state: it is rebuilt when the bundled tz database
//! changes or the key form changes (checked when a store opens) or on request (`Store::rebuild_occurrence_index`). All-day and
//! floating events are indexed as if viewed in UTC; queries widen the window by 14 hours (the
//! largest UTC offset) and compute exact times from the record for the viewer's zone.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use rusqlite::{Connection, OptionalExtension, params};
use smallvec::SmallVec;

use super::event::{CALENDARS, EVENTS, fields};
use super::recurrence::{civil_from_days, days_from_civil};
use super::series::{
    Event, date_key_of, instants, is_scalar, parse_basic_date, read_event_from_parts, read_schedule,
};
use super::time::tzdb_version;
use crate::crdt::{Before, MvRegister, RecordKey, RecordState, SpaceId};
use crate::error::{Error, Result};
use crate::storage::sqlite::view::{DerivedView, SavedRecord};
use crate::storage::sqlite::{decode_record, decode_record_taking};
use crate::store::ReaderStamp;
use crate::{Store, Value};

mod day_rows;

/// The index's tables. Most reference the records, so a record's rows go when it does (a space
/// left, a record purged); `single_occurrences` does not (decision 0036): its rows are cleared
/// from the event's previous state on every save, and by space in `on_drop_space` (a purged
/// record is a deleted event, which has no row).
const TABLES: &str = "
    CREATE TABLE IF NOT EXISTS single_occurrences (
        start  INTEGER NOT NULL,  -- UTC seconds
        length INTEGER NOT NULL,  -- seconds: the occurrence ends (exclusive) at start + length
        rid    INTEGER NOT NULL,  -- records (rid)
        PRIMARY KEY (start, length, rid)
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS occurrence_index (
        rid    INTEGER NOT NULL REFERENCES records (rid) ON DELETE CASCADE,
        key    ANY NOT NULL,      -- occurrence key (original start): see `stored_key`
        start  INTEGER NOT NULL,  -- UTC seconds
        length INTEGER NOT NULL,  -- seconds: the occurrence ends (exclusive) at start + length
        PRIMARY KEY (rid, key)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS occurrence_index_by_start ON occurrence_index (start, length);
    -- Replaced by recurring_series (spans); the index version changed with it, so the
    -- index is rebuilt from the records.
    DROP TABLE IF EXISTS recurring_events;
    CREATE TABLE IF NOT EXISTS recurring_series (
        rid   INTEGER PRIMARY KEY REFERENCES records (rid) ON DELETE CASCADE,
        first INTEGER NOT NULL,  -- UTC seconds: no occurrence starts before
        last  INTEGER            -- UTC seconds: no occurrence ends after (NULL: no known end)
    ) STRICT;
    -- Replaced by indexed_days (materialised by day, decision 0029); the index version
    -- changed with it, so the index is rebuilt from the records.
    DROP TABLE IF EXISTS indexed_months;
    CREATE TABLE IF NOT EXISTS indexed_days (
        day INTEGER PRIMARY KEY  -- days since 1970-01-01, UTC
    ) STRICT;
    -- Events with something for the calendar conflict log (cancelled or truncated occurrences
    -- carrying concurrent edits, orphaned overrides).
    CREATE TABLE IF NOT EXISTS calendar_attention (
        rid INTEGER PRIMARY KEY REFERENCES records (rid) ON DELETE CASCADE
    ) STRICT;
    -- The rows of both tables above again, one blob per UTC day they start on (decision 0049,
    -- `day_rows`): packed when a view first reads the day, forgotten when any row of it changes.
    CREATE TABLE IF NOT EXISTS occurrence_days (
        day  INTEGER PRIMARY KEY,  -- days since 1970-01-01, UTC
        rows BLOB NOT NULL
    ) STRICT;
";

/// The calendar's derived view: the occurrence index, kept in step with every event record
/// (registered by `StoreOptions::default`), and the cache of decoded events queries use.
#[derive(Default)]
pub struct CalendarView {
    cache: Mutex<EventCache>,
}

impl DerivedView for CalendarView {
    fn prepare(&self, conn: &Connection) -> Result<bool> {
        drop_rows_of_the_old_form(conn)?;
        conn.execute_batch(TABLES)?;
        Ok(!is_current(conn)?)
    }

    fn rebuild(&self, conn: &Connection) -> Result<()> {
        rebuild(conn)
    }

    fn on_save(&self, conn: &Connection, saved: &SavedRecord<'_>) -> Result<()> {
        if saved.before.is_some_and(|before| same_index_inputs(before, saved.state)) {
            // A title or location edit: the rows would come out the same.
            return Ok(());
        }
        let before = saved.before.map(|before| before.to_state());
        on_save(conn, saved.rid, saved.key, saved.state, before.as_deref(), saved.inserted)
    }

    fn on_drop_space(&self, conn: &Connection, sid: i64) -> Result<()> {
        conn.prepare_cached(
            "DELETE FROM single_occurrences WHERE rid IN (SELECT rid FROM records WHERE sid = ?1)",
        )?
        .execute([sid])?;
        // Rare (a calendar left): every packed day is forgotten rather than searched.
        conn.prepare_cached("DELETE FROM occurrence_days")?.execute([])?;
        Ok(())
    }

    /// Before spaces, every calendar and event lived in one store-wide space; now each
    /// calendar is its own space, named by the calendar's id.
    fn legacy_space(&self, key: &RecordKey, state: &RecordState) -> Option<SpaceId> {
        let calendar = match key.collection.as_str() {
            CALENDARS => Some(key.id.clone()),
            EVENTS => {
                state.registers().get(fields::CALENDAR).and_then(MvRegister::winner).and_then(|e| {
                    match &e.value {
                        Value::Text(text) => Some(text.clone()),
                        _ => None,
                    }
                })
            }
            _ => None,
        };
        calendar.and_then(|id| SpaceId::new(id).ok())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// How far any viewer's wall clock is from UTC, at most (UTC+14 in Kiribati, UTC-12).
const WIDEST_OFFSET: SignedDuration = SignedDuration::from_hours(14);

fn seconds(t: Timestamp) -> i64 {
    t.as_second()
}

const DAY: i64 = 86_400;

/// The UTC day holding `t`, as days since the Unix epoch.
fn day_of(t: Timestamp) -> i64 {
    seconds(t).div_euclid(DAY)
}

/// The instant `day` begins, clamped to the representable range (the first and last days are
/// partial).
fn day_start(day: i64) -> Timestamp {
    let second = day.saturating_mul(DAY).clamp(seconds(Timestamp::MIN), seconds(Timestamp::MAX));
    Timestamp::from_second(second).unwrap_or(Timestamp::MAX)
}

/// The first and last UTC day that `[from, to)` touches (`to` is exclusive: a window ending at
/// midnight does not reach the day that starts there).
fn days_touched(from: Timestamp, to: Timestamp) -> (i64, i64) {
    let last = day_of(to.checked_sub(SignedDuration::from_secs(1)).unwrap_or(to));
    (day_of(from), last.max(day_of(from)))
}

/// Days as half-open `[first, end)` ranges of day numbers.
type Days = Vec<(i64, i64)>;

/// Forgets the packed rows of the UTC days holding the starts `first..=last` (UTC seconds):
/// called for every index row written or removed, in the same transaction.
fn forget_days(conn: &Connection, first: i64, last: i64) -> Result<()> {
    conn.prepare_cached("DELETE FROM occurrence_days WHERE day BETWEEN ?1 AND ?2")?
        .execute([first.div_euclid(DAY), last.div_euclid(DAY)])?;
    Ok(())
}

/// The indexed days, merged into contiguous ranges (read in order, never held one by one).
fn indexed_days(conn: &Connection) -> Result<Days> {
    let mut statement = conn.prepare_cached("SELECT day FROM indexed_days ORDER BY day")?;
    let mut rows = statement.query([])?;
    let mut out: Days = Vec::new();
    while let Some(row) = rows.next()? {
        let day: i64 = row.get(0)?;
        match out.last_mut() {
            Some((_, end)) if *end == day => *end = day + 1,
            _ => out.push((day, day + 1)),
        }
    }
    Ok(out)
}

/// The queries `missing_days` takes: days indexed, days packed.
const MISSING_INDEXED: &str =
    "SELECT day FROM indexed_days WHERE day BETWEEN ?1 AND ?2 ORDER BY day";
const MISSING_PACKED: &str =
    "SELECT day FROM occurrence_days WHERE day BETWEEN ?1 AND ?2 ORDER BY day";

/// Whether every day of `first..=last` is indexed (one range count on the primary key).
fn all_indexed(conn: &Connection, first: i64, last: i64) -> Result<bool> {
    let indexed: i64 = conn
        .prepare_cached("SELECT count(*) FROM indexed_days WHERE day BETWEEN ?1 AND ?2")?
        .query_row([first, last], |row| row.get(0))?;
    Ok(indexed == last - first + 1)
}

/// The days of `first..=last` that `present` (the days of a table between ?1 and ?2, in
/// order) does not list, as ranges.
fn missing_days(conn: &Connection, present: &str, first: i64, last: i64) -> Result<Days> {
    let mut statement = conn.prepare_cached(present)?;
    let mut rows = statement.query([first, last])?;
    let mut out: Days = Vec::new();
    let mut next = first;
    while let Some(row) = rows.next()? {
        let day: i64 = row.get(0)?;
        if day > next {
            out.push((next, day));
        }
        next = day + 1;
    }
    if next <= last {
        out.push((next, last + 1));
    }
    Ok(out)
}

fn write_rows(
    conn: &Connection,
    rid: i64,
    id: &str,
    state: &RecordState,
    days: Option<&[(i64, i64)]>,
) -> Result<()> {
    let Some(event) = read_schedule(id, state)? else { return Ok(()) };
    if !super::conflicts::occurrence_conflicts(&event)?.is_empty() {
        conn.prepare_cached("INSERT OR IGNORE INTO calendar_attention (rid) VALUES (?1)")?
            .execute([rid])?;
    }
    let mut longest: i64 = 0;
    if !event.is_recurring() {
        for (start, length) in single_rows(&event)? {
            longest = longest.max(length);
            conn.prepare_cached(
                "INSERT OR IGNORE INTO single_occurrences (start, length, rid) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![start, length, rid])?;
            forget_days(conn, start, start)?;
        }
    } else {
        let days = match days {
            // Materialising: the series' row and span were written with the record, and
            // computing the span again costs as much as expanding a month of it.
            Some(days) => days.to_vec(),
            None => {
                let (first, last) = event.span(&TimeZone::UTC)?;
                conn.prepare_cached(
                    "INSERT OR REPLACE INTO recurring_series (rid, first, last) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![rid, seconds(first), last.map(seconds)])?;
                indexed_days(conn)?
            }
        };
        let mut starts: Option<(i64, i64)> = None;
        for (first, end) in days {
            for occurrence in event.occurrences(day_start(first), day_start(end), &TimeZone::UTC)? {
                let (start, end) = (seconds(occurrence.start), seconds(occurrence.end));
                longest = longest.max(end - start);
                conn.prepare_cached("INSERT OR IGNORE INTO occurrence_index (rid, key, start, length) VALUES (?1, ?2, ?3, ?4)")?
                    .execute(params![rid, stored_key(&occurrence.key), start, end - start])?;
                starts =
                    Some(starts.map_or((start, start), |(lo, hi)| (lo.min(start), hi.max(start))));
            }
        }
        if let Some((first, last)) = starts {
            // One range for the whole series: it may forget days between its occurrences too,
            // which only costs their packing again.
            forget_days(conn, first, last)?;
        }
    }
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES ('index_longest', ?1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE excluded.value > value",
    )?
    .execute([longest])?;
    Ok(())
}

/// The rows of `single_occurrences` a single event has: its occurrence (none when an override
/// cancelled it), as (start, length) in UTC seconds.
fn single_rows(event: &Event) -> Result<Vec<(i64, i64)>> {
    if event.overrides.is_empty() && event.range_patches.is_empty() && event.truncate_at.is_none() {
        // Nothing moves, cuts or cancels its occurrence: it is the event's own timing, as
        // `occurrences` would resolve it, without building the occurrence (its key, fields and
        // strings; building it was 16% of indexing the events of a join, decision 0040).
        if let Ok((start, end)) = instants(&event.timing, &event.timing.start, &TimeZone::UTC) {
            let (start, end) = (seconds(start), seconds(end));
            if start < seconds(Timestamp::MAX) {
                return Ok(vec![(start, end - start)]);
            }
        }
    }
    let occurrences = event.occurrences(Timestamp::MIN, Timestamp::MAX, &TimeZone::UTC)?;
    Ok(occurrences.iter().map(|o| (seconds(o.start), seconds(o.end) - seconds(o.start))).collect())
}

/// Removes the `single_occurrences` row of record `rid`, found from the state it was indexed
/// with (`before`). The table has no index by record (decision 0036): when that state is not
/// known, or its row is not where it says, the whole table is searched, which is slow but
/// leaves no row behind.
fn delete_single_rows(
    conn: &Connection,
    rid: i64,
    id: &str,
    before: Option<&RecordState>,
) -> Result<()> {
    if let Some(before) = before {
        // What `index_event` wrote for it: nothing for a deleted record, a series, or an event
        // it could not read.
        let rows = match (before.is_deleted(), read_schedule(id, before)) {
            (true, _) | (false, Ok(None)) => Vec::new(),
            (false, Ok(Some(event))) if event.is_recurring() => Vec::new(),
            (false, Ok(Some(event))) => match single_rows(&event) {
                Ok(rows) => rows,
                Err(Error::Corrupt(_) | Error::InvalidInput(_)) => Vec::new(),
                Err(other) => return Err(other),
            },
            (false, Err(Error::Corrupt(_) | Error::InvalidInput(_))) => Vec::new(),
            (false, Err(other)) => return Err(other),
        };
        let mut deleted = 0;
        for (start, length) in &rows {
            deleted += conn
                .prepare_cached(
                    "DELETE FROM single_occurrences WHERE start = ?1 AND length = ?2 AND rid = ?3",
                )?
                .execute(params![start, length, rid])?;
            forget_days(conn, *start, *start)?;
        }
        if deleted == rows.len() {
            return Ok(());
        }
    }
    let mut removed =
        conn.prepare_cached("DELETE FROM single_occurrences WHERE rid = ?1 RETURNING start")?;
    let starts = removed.query_map([rid], |row| row.get::<_, i64>(0))?;
    for start in starts {
        let start = start?;
        forget_days(conn, start, start)?;
    }
    Ok(())
}

/// Whether two states of an event give the same index rows: the same lifecycle, schedule and
/// occurrence patches (the index and the attention list derive from nothing else).
fn same_index_inputs(before: Before<'_>, after: &RecordState) -> bool {
    let registers = [fields::TIMING, fields::RULE];
    let maps = [fields::RDATES, fields::EXDATES, fields::OVERRIDES, fields::RANGE_PATCHES];
    before.is_deleted() == after.is_deleted()
        && before.exists() == after.exists()
        && registers.iter().all(|f| before.register(f) == after.registers().get(*f))
        && maps.iter().all(|f| before.map(f) == after.maps().get(*f))
        && before.minimum(fields::TRUNCATE_AT) == after.minimums().get(fields::TRUNCATE_AT)
}

/// Keeps the index rows of one record in step with its new state (called by the SQLite store
/// inside the write transaction that saves the record). `inserted`: the record's row is new,
/// so it has no rows to clear (`SavedRecord::inserted`); the three deletes cost a joining
/// device about as much as writing the rows.
fn on_save(
    conn: &Connection,
    rid: i64,
    key: &RecordKey,
    state: &RecordState,
    before: Option<&RecordState>,
    inserted: bool,
) -> Result<()> {
    if key.collection != EVENTS {
        return Ok(());
    }
    if !inserted {
        delete_single_rows(conn, rid, &key.id, before)?;
        let series_starts: (Option<i64>, Option<i64>) = conn
            .prepare_cached("SELECT min(start), max(start) FROM occurrence_index WHERE rid = ?1")?
            .query_row([rid], |row| Ok((row.get(0)?, row.get(1)?)))?;
        if let (Some(first), Some(last)) = series_starts {
            conn.prepare_cached("DELETE FROM occurrence_index WHERE rid = ?1")?.execute([rid])?;
            forget_days(conn, first, last)?;
        }
        conn.prepare_cached("DELETE FROM recurring_series WHERE rid = ?1")?.execute([rid])?;
        conn.prepare_cached("DELETE FROM calendar_attention WHERE rid = ?1")?.execute([rid])?;
    }
    if state.is_deleted() {
        return Ok(());
    }
    index_event(conn, rid, &key.id, state, None)
}

/// Writes an event's index rows; a recurring one for the day ranges `days` (`None`: the days
/// indexed so far, read only for a recurring event). An event whose fields cannot be read
/// (written by a newer version, say) is left out of the index rather than failing the write or
/// sync that delivered it; reading the event reports the problem.
fn index_event(
    conn: &Connection,
    rid: i64,
    id: &str,
    state: &RecordState,
    days: Option<&[(i64, i64)]>,
) -> Result<()> {
    match write_rows(conn, rid, id, state, days) {
        Err(Error::Corrupt(_) | Error::InvalidInput(_)) => Ok(()),
        other => other,
    }
}

/// Materialises the recurring series for any UTC day of `[from, to)` not indexed yet.
fn materialise(conn: &Connection, from: Timestamp, to: Timestamp) -> Result<()> {
    let (first, last) = days_touched(from, to);
    let missing = missing_days(conn, MISSING_INDEXED, first, last)?;
    // Only the series whose span reaches the missing days (all of them between the first and
    // the last: a superset when the missing days are not contiguous). None missing: nothing
    // to do.
    let (Some(&(first_day, _)), Some(&(_, end_day))) = (missing.first(), missing.last()) else {
        return Ok(());
    };
    let (from, to) = (seconds(day_start(first_day)), seconds(day_start(end_day)));
    // CROSS JOIN keeps SQLite from planning the records as the outer loop (without statistics
    // it scans every record, 10,000 on the W3 store, and looks each up in `recurring_series`):
    // the series are a tenth of the records and most fail their span test before any record
    // is read.
    let mut statement = conn.prepare_cached(
        "SELECT r.rid, r.id, r.state FROM recurring_series e CROSS JOIN records r ON r.rid = e.rid
         WHERE r.deleted = 0 AND e.first < ?2 AND (e.last IS NULL OR e.last > ?1)",
    )?;
    let rows = statement.query_map(params![from, to], |row| {
        Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?, row.get::<_, Vec<u8>>(2)?))
    })?;
    let series: Vec<_> = rows.collect::<Result<_, _>>()?;
    for (rid, id, bytes) in series {
        index_event(conn, rid, &id, &decode_record(conn, &bytes)?, Some(&missing))?;
    }
    for &(first, end) in &missing {
        conn.prepare_cached(
            "WITH RECURSIVE d (day) AS (SELECT ?1 UNION ALL SELECT day + 1 FROM d WHERE day + 1 < ?2)
             INSERT INTO indexed_days (day) SELECT day FROM d",
        )?
        .execute([first, end])?;
    }
    Ok(())
}

/// Clears and rebuilds the whole index (single events now, series lazily by day).
fn rebuild(conn: &Connection) -> Result<()> {
    conn.execute_batch("DELETE FROM single_occurrences; DELETE FROM occurrence_index; DELETE FROM recurring_series; DELETE FROM indexed_days; DELETE FROM calendar_attention; DELETE FROM occurrence_days; DELETE FROM meta WHERE key = 'index_longest';")?;
    let mut statement =
        conn.prepare("SELECT rid, id, state FROM records WHERE cid = (SELECT cid FROM collections WHERE name = ?1) AND deleted = 0")?;
    let rows = statement.query_map([EVENTS], |row| {
        Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?, row.get::<_, Vec<u8>>(2)?))
    })?;
    let events: Vec<_> = rows.collect::<Result<_, _>>()?;
    for (rid, id, bytes) in events {
        // Every row was just deleted: nothing to clear, as for a new record.
        on_save(conn, rid, &RecordKey::new(EVENTS, id), &decode_record(conn, &bytes)?, None, true)?;
    }
    conn.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('index_tzdb', ?1)",
        [index_version()],
    )?;
    Ok(())
}

/// The store's calendar view, or the error that says it was opened without one.
pub(crate) fn calendar_view(store: &Store) -> Result<&CalendarView> {
    store.view::<CalendarView>().ok_or_else(|| {
        Error::InvalidInput(
            "this store was opened without the calendar view (StoreOptions::views); occurrence \
             queries and the calendar conflict log need it"
                .into(),
        )
    })
}

impl Store {
    /// Rebuilds the occurrence index from the records (it is derived state; normally it is
    /// kept up to date in every write and rebuilt when the bundled tz database changes).
    pub fn rebuild_occurrence_index(&self) -> Result<()> {
        calendar_view(self)?;
        self.write_derived(rebuild)
    }
}

/// What the index rows depend on besides the records: the bundled tz database and the form of
/// occurrence keys (2: decision 0016's keys in the series' own clock).
fn index_version() -> String {
    // `spans-1`: recurring series carry their spans (`recurring_series`); `spans-2`: a COUNT
    // series' span ends at the rule's last instance even when RDATEs come before it (spans-1
    // could end too early); `days-1`: series are materialised by UTC day (`indexed_days`).
    // `rows-2`: date keys as day numbers and lengths instead of ends (`stored_key`).
    // `singles-1`: single events in `single_occurrences` (decision 0036). `packed-1`: days
    // packed in `occurrence_days`, form `day_rows::FORMAT` 1 (decision 0049).
    format!("{}/keys-2/spans-2/days-1/rows-2/singles-1/packed-{}", tzdb_version(), day_rows::FORMAT)
}

/// An instant of the index (UTC seconds).
fn stored_instant(second: i64) -> Result<Timestamp> {
    Timestamp::from_second(second).map_err(|e| {
        Error::Corrupt(format!("an occurrence index time out of range ({e}); rebuild the index"))
    })
}

/// How an occurrence key is stored. Most keys are dates (`YYYYMMDD`: every single event's, and
/// every occurrence at its series' time of day); they are stored as days since 1970-01-01,
/// two or three bytes instead of eight, in both the table and its index by start (decision
/// 0033). Any other key (a date and time) is stored as its text.
fn stored_key(key: &str) -> rusqlite::types::Value {
    use rusqlite::types::Value as Sql;
    // `parse_basic_date` takes exactly eight ASCII digits naming a real date, so the date
    // key written back from the number is this key again (the unit tests below).
    match parse_basic_date(key) {
        Some(date) => Sql::Integer(days_from_civil(
            i32::from(date.year()),
            date.month().unsigned_abs(),
            date.day().unsigned_abs(),
        )),
        None => Sql::Text(key.to_owned()),
    }
}

/// The key `stored_key` stored.
fn key_from_stored(value: rusqlite::types::ValueRef<'_>) -> Result<String> {
    use rusqlite::types::ValueRef as Sql;
    match value {
        Sql::Integer(days) => {
            let (year, month, day) = civil_from_days(days);
            Ok(date_key_of(year, month, day))
        }
        Sql::Text(text) => Ok(String::from_utf8_lossy(text).into_owned()),
        other => Err(Error::Corrupt(format!(
            "an occurrence index key of type {:?}; rebuild the index",
            other.data_type()
        ))),
    }
}

/// The key `stored_key` stored, in the form a view uses.
fn indexed_key(value: rusqlite::types::ValueRef<'_>) -> Result<IndexedKey> {
    use rusqlite::types::ValueRef as Sql;
    match value {
        Sql::Integer(days) => date_of_days(days).map(IndexedKey::Date),
        other => key_from_stored(other).map(IndexedKey::Text),
    }
}

/// The date a stored day number names.
fn date_of_days(days: i64) -> Result<jiff::civil::Date> {
    let (year, month, day) = civil_from_days(days);
    let date = match (i16::try_from(year), i8::try_from(month), i8::try_from(day)) {
        (Ok(year), Ok(month), Ok(day)) => jiff::civil::Date::new(year, month, day).ok(),
        _ => None,
    };
    date.ok_or_else(|| {
        Error::Corrupt(format!("an occurrence index day out of range ({days}); rebuild the index"))
    })
}

/// Index rows of versions before `rows-2` had an `end` column and text keys. The table is
/// derived, so it is dropped; the version check then rebuilds it from the records.
fn drop_rows_of_the_old_form(conn: &Connection) -> Result<()> {
    let old: i64 = conn.query_row(
        "SELECT count(*) FROM pragma_table_info('occurrence_index') WHERE name = 'end'",
        [],
        |row| row.get(0),
    )?;
    if old > 0 {
        conn.execute_batch("DROP TABLE occurrence_index")?;
    }
    Ok(())
}

/// Whether the index was built with the bundled tz database and today's occurrence keys (else
/// it must be rebuilt).
fn is_current(conn: &Connection) -> Result<bool> {
    let built: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key = 'index_tzdb'", [], |row| row.get(0))
        .optional()?;
    Ok(built.as_deref() == Some(index_version().as_str()))
}

/// Events decoded by recent occurrence queries, keyed by record and checked against a hash of
/// the stored bytes, so scrolling back and forth through months does not decode the same records
/// again. Bounded: it is emptied when full, so memory stays flat on large stores.
///
/// Each event also remembers the last read that found its record's bytes unchanged
/// ([`ReaderStamp`]): a read with the same stamp saw the same committed state, so it takes the
/// event without reading the record (decision 0041).
#[derive(Default)]
struct EventCache {
    events: HashMap<i64, CachedEvent, RidHash>,
}

struct CachedEvent {
    hash: u64,
    checked: ReaderStamp,
    event: Arc<Event>,
}

/// Hashes record row ids for the maps a view keeps by record: they are the store's own
/// integers, not input an attacker chooses, so SipHash's protection buys nothing here and cost
/// 4% of a warm month view (decision 0039). Fibonacci hashing spreads consecutive ids.
#[derive(Default, Clone, Copy)]
struct RidHash;

impl std::hash::BuildHasher for RidHash {
    type Hasher = RidHasher;

    fn build_hasher(&self) -> RidHasher {
        RidHasher(0)
    }
}

struct RidHasher(u64);

impl std::hash::Hasher for RidHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*byte)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_i64(&mut self, id: i64) {
        self.0 = (id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// At most this many decoded events are kept (a month view of a busy 10,000-event calendar
/// touches about a thousand).
const CACHE_LIMIT: usize = 4096;

impl EventCache {
    /// The event of record `rid` if it was checked in a read of the same committed state.
    fn trusted(&self, rid: i64, now: ReaderStamp) -> Option<Arc<Event>> {
        self.events.get(&rid).filter(|cached| cached.checked == now).map(|c| Arc::clone(&c.event))
    }

    /// The event of record `rid` if its stored bytes still hash to `hash`; it is then trusted
    /// under `now`.
    fn check(&mut self, rid: i64, hash: u64, now: ReaderStamp) -> Option<Arc<Event>> {
        let cached = self.events.get_mut(&rid).filter(|cached| cached.hash == hash)?;
        cached.checked = now;
        Some(Arc::clone(&cached.event))
    }

    fn insert(&mut self, rid: i64, hash: u64, checked: ReaderStamp, event: Arc<Event>) {
        if self.events.len() >= CACHE_LIMIT {
            self.events.clear();
        }
        self.events.insert(rid, CachedEvent { hash, checked, event });
    }
}

/// A fingerprint of a record's stored bytes, eight at a time: each step `(h ^ word) * K` (K
/// odd) is a bijection of `h`, so two records of the same length that differ in one word
/// always differ here, and any other change does with overwhelming probability (a stale hit
/// would need a 64-bit collision on the same record). The length seeds it. Byte by byte (FNV-1a)
/// this was 4% of a warm month view (decision 0039).
fn fingerprint(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mix = |h: u64, word: u64| (h ^ word).wrapping_mul(K).rotate_left(29);
    let words = bytes.chunks_exact(8);
    let tail = words.remainder();
    let mut h = mix(0xcbf2_9ce4_8422_2325, bytes.len() as u64);
    for word in words {
        h = mix(h, u64::from_le_bytes(word.try_into().unwrap_or_default()));
    }
    let mut last = [0u8; 8];
    last[..tail.len()].copy_from_slice(tail);
    mix(h, u64::from_le_bytes(last))
}

/// The event of record `rid`, read through `record` (`SELECT id, state FROM records WHERE rid
/// = ?1 AND deleted = 0`): the cached event if the stored bytes are the ones it was decoded
/// from, else decoded and cached. `None` for a record that is gone or deleted.
fn read_cached(
    conn: &Connection,
    record: &mut rusqlite::CachedStatement<'_>,
    cache: &mut EventCache,
    rid: i64,
    now: ReaderStamp,
) -> Result<Option<Arc<Event>>> {
    let mut found = record.query([rid])?;
    // A deleted record has no index rows; this only guards the view.
    let Some(stored) = found.next()? else { return Ok(None) };
    let blob = stored.get_ref(1)?.as_blob().map_err(rusqlite::Error::from)?;
    let hash = fingerprint(blob);
    if let Some(event) = cache.check(rid, hash, now) {
        return Ok(Some(event));
    }
    let id = stored.get_ref(0)?.as_str().map_err(rusqlite::Error::from)?;
    // The scalar fields go straight to the event, not through the record's map.
    let (state, scalars) = decode_record_taking(conn, blob, &is_scalar)?;
    let event = read_event_from_parts(id, &state, scalars)?.map(Arc::new);
    if let Some(event) = &event {
        cache.insert(rid, hash, now, Arc::clone(event));
    }
    Ok(event)
}

/// An event the index says may have occurrences in a window, with those occurrences (as
/// indexed for a viewer in UTC).
pub struct Candidate {
    /// The event.
    pub event: Arc<Event>,
    /// Its indexed occurrences near the window: one for most events (a single event, or a
    /// series that falls once in the window), kept inline.
    pub rows: SmallVec<[IndexedOccurrence; 1]>,
    /// The event is a series the index has no rows of for this window (one longer than
    /// `MATERIALISED_AT_MOST` days): its occurrences come from expanding it.
    pub expand: bool,
}

/// One row of the occurrence index: an occurrence's key and its instants for a viewer in UTC.
pub struct IndexedOccurrence {
    /// The occurrence's key, as stored.
    pub key: IndexedKey,
    /// Its start.
    pub start: Timestamp,
    /// Its end (exclusive).
    pub end: Timestamp,
}

/// The key of an indexed occurrence, in the form the index keeps it: a view turns it into
/// the occurrence's original start without writing and parsing key text (decision 0039:
/// writing a date key only to parse it again was 6% of a warm month view).
pub enum IndexedKey {
    /// A single event's row: its one occurrence starts where the event does (decision 0036:
    /// the key is not stored).
    EventStart,
    /// A date key (`YYYYMMDD`): the occurrence on that day at the series' time of day.
    Date(jiff::civil::Date),
    /// Any other key (a date and time), as text.
    Text(String),
}

/// The live events with an occurrence that may overlap `[from, to)` for some viewer.
pub fn candidates(store: &Store, from: Timestamp, to: Timestamp) -> Result<Vec<Candidate>> {
    let view = calendar_view(store)?;
    let wide_from = from.checked_sub(WIDEST_OFFSET).unwrap_or(Timestamp::MIN);
    let wide_to = to.checked_add(WIDEST_OFFSET).unwrap_or(Timestamp::MAX);
    let window = Window { from: seconds(wide_from), to: seconds(wide_to) };
    let (first, last) = days_touched(wide_from, wide_to);
    if last - first >= MATERIALISED_AT_MOST {
        return store.read_stamped(|conn, stamp| {
            long_window_candidates(conn, &view.cache, window, stamp()?)
        });
    }
    // A window longer than `PACKED_AT_MOST` days reads the row tables for the days it finds
    // unpacked, and packs none.
    let packs = |(first, last): (i64, i64)| last - first < PACKED_AT_MOST;
    let ready = store.read(|conn| {
        let packed = window.packed_days(longest(conn)?);
        Ok(all_indexed(conn, first, last)? && (!packs(packed) || all_packed(conn, packed)?))
    })?;
    if !ready {
        store.write_derived_unsynced(|conn| {
            materialise(conn, wide_from, wide_to)?;
            let packed = window.packed_days(longest(conn)?);
            if packs(packed) { pack_days(conn, packed.0, packed.1) } else { Ok(()) }
        })?;
    }
    store.read_stamped(|conn, stamp| read_candidates(conn, &view.cache, window, stamp()?))
}

/// The most days a view materialises series for (ten years, decision 0051). A longer window,
/// an agenda of all time say, would add a row to `indexed_days` for every day it spans (a
/// view of all of jiff's range wrote 86 MB of them into an empty store, in 4.7 s) and every
/// occurrence of every series there: its series are expanded instead
/// (`long_window_candidates`).
const MATERIALISED_AT_MOST: i64 = 3_660;

/// The candidates of a window longer than `MATERIALISED_AT_MOST` days, read without writing:
/// single events from their rows, and every live series whose span reaches the window,
/// without rows, to be expanded (`Candidate::expand`).
fn long_window_candidates(
    conn: &Connection,
    cache: &Mutex<EventCache>,
    window: Window,
    now: ReaderStamp,
) -> Result<Vec<Candidate>> {
    let mut gather = Gather::new(conn, cache, now)?;
    let lowest = window.from.saturating_sub(longest(conn)?);
    // Single events only: the series are expanded, not read from their rows.
    gather.rows_starting(&ROWS[..1], lowest, window.to, window.from)?;
    let mut series = conn.prepare_cached(
        "SELECT e.rid FROM recurring_series e CROSS JOIN records r ON r.rid = e.rid
         WHERE r.deleted = 0 AND e.first < ?2 AND (e.last IS NULL OR e.last > ?1)",
    )?;
    let mut rows = series.query(params![window.from, window.to])?;
    while let Some(row) = rows.next()? {
        gather.series(row.get(0)?)?;
    }
    Ok(gather.out)
}

/// The candidates of `window` as one read finds them: from the packed days, and from the row
/// tables for any day a write forgot since the view packed it.
fn read_candidates(
    conn: &Connection,
    cache: &Mutex<EventCache>,
    window: Window,
    now: ReaderStamp,
) -> Result<Vec<Candidate>> {
    let mut gather = Gather::new(conn, cache, now)?;
    let longest = longest(conn)?;
    let (first, last) = window.packed_days(longest);
    let lowest = window.from.saturating_sub(longest);
    let mut next = first;
    let mut packed = conn.prepare_cached(
        "SELECT day, rows FROM occurrence_days WHERE day BETWEEN ?1 AND ?2 ORDER BY day",
    )?;
    let mut days = packed.query([first, last])?;
    while let Some(day) = days.next()? {
        let number: i64 = day.get(0)?;
        if number > next {
            gather.rows(window, lowest, next, number)?;
        }
        next = number + 1;
        let blob = day.get_ref(1)?.as_blob().map_err(rusqlite::Error::from)?;
        let mut rows = day_rows::Unpacker::new(number, blob)?;
        while let Some(row) = rows.next_row()? {
            if window.holds(lowest, row.start, row.length) {
                gather.row(row.rid, row.start, row.length, || unpacked_key(row.key))?;
            }
        }
    }
    if next <= last {
        gather.rows(window, lowest, next, last + 1)?;
    }
    Ok(gather.out)
}

/// A view's window widened by the largest UTC offset on both sides, in UTC seconds.
#[derive(Clone, Copy)]
struct Window {
    from: i64,
    to: i64,
}

impl Window {
    /// The days whose rows a view reads: from the day of the earliest start an occurrence
    /// overlapping the window can have (`longest` seconds long at most) to the window's last.
    fn packed_days(self, longest: i64) -> (i64, i64) {
        let first = self.from.saturating_sub(longest).div_euclid(DAY);
        (first, self.to.saturating_sub(1).div_euclid(DAY).max(first))
    }

    /// Whether a row (`start`, `length`) may overlap the window: the test the row queries make.
    fn holds(self, lowest: i64, start: i64, length: i64) -> bool {
        start >= lowest && start < self.to && start.saturating_add(length) >= self.from
    }
}

/// The longest occurrence indexed, in seconds (`index_longest`).
fn longest(conn: &Connection) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT value FROM meta WHERE key = 'index_longest'")?
        .query_row([], |row| row.get(0))
        .optional()?
        .unwrap_or(0))
}

/// The most days a view packs: a month view reads about 33 and a few months' view some
/// hundred, while an agenda of years would store the index a second time for one read.
const PACKED_AT_MOST: i64 = 130;

/// Whether every day of `first..=last` has its rows packed.
fn all_packed(conn: &Connection, (first, last): (i64, i64)) -> Result<bool> {
    let packed: i64 = conn
        .prepare_cached("SELECT count(*) FROM occurrence_days WHERE day BETWEEN ?1 AND ?2")?
        .query_row([first, last], |row| row.get(0))?;
    Ok(packed == last - first + 1)
}

/// The two row queries, for the rows starting in `[?1, ?2)` that end at `?3` or later.
const ROWS: [&str; 2] = [
    // A single event's key is its own start's: NULL here (`IndexedOccurrence::key`).
    "SELECT rid, NULL, start, length FROM single_occurrences
     WHERE start >= ?1 AND start < ?2 AND start + length >= ?3",
    "SELECT rid, key, start, length FROM occurrence_index
     WHERE start >= ?1 AND start < ?2 AND start + length >= ?3",
];

/// Packs the rows of every day of `first..=last` that has no packed rows yet (a day without
/// rows gets an empty blob: it is packed too).
fn pack_days(conn: &Connection, first: i64, last: i64) -> Result<()> {
    for (from, end) in missing_days(conn, MISSING_PACKED, first, last)? {
        let mut packers: Vec<day_rows::Packer> = (from..end).map(day_rows::Packer::new).collect();
        for sql in ROWS {
            let mut statement = conn.prepare_cached(sql)?;
            let (lowest, highest) = (from.saturating_mul(DAY), end.saturating_mul(DAY));
            let mut rows = statement.query(params![lowest, highest, i64::MIN])?;
            while let Some(row) = rows.next()? {
                let (rid, start, length): (i64, i64, i64) = (row.get(0)?, row.get(2)?, row.get(3)?);
                let key = match row.get_ref(1)? {
                    rusqlite::types::ValueRef::Null => day_rows::Key::EventStart,
                    rusqlite::types::ValueRef::Integer(days) => day_rows::Key::Day(days),
                    rusqlite::types::ValueRef::Text(text) => day_rows::Key::Text(
                        std::str::from_utf8(text).map_err(|_| bad_key("text that is not UTF-8"))?,
                    ),
                    _ => return Err(bad_key("neither a number nor text")),
                };
                let day = usize::try_from(start.div_euclid(DAY) - from)
                    .map_err(|_| bad_key("a start outside the days read"))?;
                let Some(packer) = packers.get_mut(day) else {
                    return Err(bad_key("a start outside the days read"));
                };
                packer.push(&day_rows::Row { rid, key, start, length })?;
            }
        }
        let mut insert =
            conn.prepare_cached("INSERT INTO occurrence_days (day, rows) VALUES (?1, ?2)")?;
        for (day, packer) in (from..end).zip(packers) {
            insert.execute(params![day, packer.finish()])?;
        }
    }
    Ok(())
}

fn bad_key(what: &str) -> Error {
    Error::Corrupt(format!("an occurrence index row with {what}; rebuild the index"))
}

/// A packed key in the form a view uses.
fn unpacked_key(key: day_rows::Key<'_>) -> Result<IndexedKey> {
    match key {
        day_rows::Key::EventStart => Ok(IndexedKey::EventStart),
        day_rows::Key::Day(days) => date_of_days(days).map(IndexedKey::Date),
        day_rows::Key::Text(text) => Ok(IndexedKey::Text(text.to_owned())),
    }
}

/// What a view collects: each event once, with its rows near the window.
struct Gather<'c, 'v> {
    conn: &'c Connection,
    now: ReaderStamp,
    cache: std::sync::MutexGuard<'v, EventCache>,
    out: Vec<Candidate>,
    /// Each record's place in `out` (`None`: deleted or unreadable): rows come in day order,
    /// several per series, and each record is decoded once. (Grouping here is cheaper than
    /// letting SQLite sort the rows by record.)
    seen: HashMap<i64, Option<usize>, RidHash>,
    record: rusqlite::CachedStatement<'c>,
}

impl<'c, 'v> Gather<'c, 'v> {
    fn new(conn: &'c Connection, cache: &'v Mutex<EventCache>, now: ReaderStamp) -> Result<Self> {
        Ok(Gather {
            now,
            cache: cache.lock().unwrap_or_else(PoisonError::into_inner),
            out: Vec::new(),
            seen: HashMap::default(),
            // Each event's record is read once, not once per row: a month of a weekly series
            // is four or five rows (decision 0039).
            record: conn
                .prepare_cached("SELECT id, state FROM records WHERE rid = ?1 AND deleted = 0")?,
            conn,
        })
    }

    /// The place of record `rid`'s event in `out`, reading it the first time (`None`: the
    /// record is deleted or gone).
    fn slot(&mut self, rid: i64) -> Result<Option<usize>> {
        if let Some(slot) = self.seen.get(&rid) {
            return Ok(*slot);
        }
        let event = match self.cache.trusted(rid, self.now) {
            Some(event) => Some(event),
            None => read_cached(self.conn, &mut self.record, &mut self.cache, rid, self.now)?,
        };
        let slot = event.map(|event| {
            self.out.push(Candidate { event, rows: SmallVec::new(), expand: false });
            self.out.len() - 1
        });
        self.seen.insert(rid, slot);
        Ok(slot)
    }

    /// Adds series `rid` without rows, to be expanded.
    fn series(&mut self, rid: i64) -> Result<()> {
        if let Some(i) = self.slot(rid)? {
            self.out[i].expand = true;
        }
        Ok(())
    }

    /// Adds one index row of record `rid` (its key made only if the event is live).
    fn row(
        &mut self,
        rid: i64,
        start: i64,
        length: i64,
        key: impl FnOnce() -> Result<IndexedKey>,
    ) -> Result<()> {
        let Some(i) = self.slot(rid)? else { return Ok(()) };
        let occurrence = IndexedOccurrence {
            key: key()?,
            start: stored_instant(start)?,
            end: stored_instant(start.saturating_add(length))?,
        };
        let rows = &mut self.out[i].rows;
        if rows.len() == 1 {
            // A series: room for a weekly one's month at once, not grown 2, 4, 8.
            rows.reserve(7);
        }
        rows.push(occurrence);
        Ok(())
    }

    /// Adds the rows of the days `[from, end)` from the row tables (days not packed: a write
    /// forgot them after this view packed them).
    fn rows(&mut self, window: Window, lowest: i64, from: i64, end: i64) -> Result<()> {
        let low = from.saturating_mul(DAY).max(lowest);
        let high = end.saturating_mul(DAY).min(window.to);
        self.rows_starting(&ROWS, low, high, window.from)
    }

    /// Adds the rows `queries` (of `ROWS`) find starting in `[low, high)` and ending at
    /// `ends_after` or later.
    fn rows_starting(
        &mut self,
        queries: &[&str],
        low: i64,
        high: i64,
        ends_after: i64,
    ) -> Result<()> {
        for sql in queries {
            let mut statement = self.conn.prepare_cached(sql)?;
            let mut rows = statement.query(params![low, high, ends_after])?;
            while let Some(row) = rows.next()? {
                let (rid, start, length): (i64, i64, i64) = (row.get(0)?, row.get(2)?, row.get(3)?);
                self.row(rid, start, length, || match row.get_ref(1)? {
                    rusqlite::types::ValueRef::Null => Ok(IndexedKey::EventStart),
                    stored => indexed_key(stored),
                })?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::types::Value as Sql;

    fn round_trip(key: &str) -> Sql {
        let stored = stored_key(key);
        let back = key_from_stored((&stored).into()).expect("read back");
        assert_eq!(back, key, "{key} must come back as it went in");
        stored
    }

    #[test]
    fn date_keys_are_stored_as_day_numbers_and_come_back_as_the_same_text() {
        assert_eq!(round_trip("19700101"), Sql::Integer(0));
        assert_eq!(round_trip("20260101"), Sql::Integer(20_454));
        assert_eq!(round_trip("19691231"), Sql::Integer(-1));
        assert_eq!(round_trip("20240229"), Sql::Integer(19_782));
        assert!(matches!(round_trip("00010101"), Sql::Integer(_)));
        assert!(matches!(round_trip("99991231"), Sql::Integer(_)));
    }

    #[test]
    fn other_keys_are_stored_as_text() {
        for key in [
            "20260101T093000",
            "20260101T093000Z",
            "20260231",
            "20261301",
            "2026010",
            "",
            "２０２６０１０１",
        ] {
            assert_eq!(round_trip(key), Sql::Text(key.to_owned()));
        }
    }

    /// A single event's row is computed from its timing when nothing patches it: the row
    /// `Event::occurrences` gives, for every kind of start and end, across DST changes and a
    /// nominal day that is 23 hours long.
    #[test]
    fn an_unpatched_single_event_row_is_its_resolved_occurrence() {
        use crate::calendar::event::{End, Timing};
        use crate::calendar::time::{Duration, TimeValue};
        let paris = |local| TimeValue::Zoned { local, zone: "Europe/Paris".into() };
        let at = |d, h, m| jiff::civil::date(2026, 3, d).at(h, m, 0, 0);
        let hours = |h: i64| End::After(Duration { seconds: h * 3_600, ..Duration::default() });
        let days = |d| End::After(Duration { days: d, ..Duration::default() });
        let timings = [
            Timing { start: paris(at(29, 1, 30)), end: hours(2) },
            Timing { start: paris(at(29, 2, 30)), end: hours(1) },
            Timing { start: paris(at(28, 12, 0)), end: days(1) },
            Timing { start: paris(at(28, 9, 0)), end: End::At(paris(at(29, 9, 0))) },
            Timing { start: TimeValue::Floating(at(29, 2, 30)), end: hours(1) },
            Timing { start: TimeValue::Date(jiff::civil::date(2026, 3, 29)), end: days(2) },
            Timing {
                start: TimeValue::Utc(Timestamp::from_second(1_774_746_000).expect("t")),
                end: End::At(TimeValue::Utc(Timestamp::from_second(1_774_749_600).expect("t"))),
            },
            Timing { start: paris(at(29, 9, 0)), end: hours(0) },
        ];
        for timing in timings {
            let event = Event {
                id: "e".into(),
                calendar: "c".into(),
                uid: "e".into(),
                timing: timing.clone(),
                rule: None,
                rdates: Vec::new(),
                exdates: Vec::new(),
                fields: Arc::default(),
                attendees: Vec::new(),
                alarms: Vec::new(),
                overrides: std::collections::BTreeMap::new(),
                range_patches: std::collections::BTreeMap::new(),
                truncate_at: None,
                unknown_properties: Vec::new(),
                instance_only: false,
            };
            let walked: Vec<(i64, i64)> = event
                .occurrences(Timestamp::MIN, Timestamp::MAX, &TimeZone::UTC)
                .expect("occurrences")
                .iter()
                .map(|o| (seconds(o.start), seconds(o.end) - seconds(o.start)))
                .collect();
            assert_eq!(single_rows(&event).expect("rows"), walked, "{timing:?}");
        }
    }

    /// The event cache trusts an entry whose fingerprint matches the stored bytes: any one
    /// changed byte, and trailing zeros, must change it.
    #[test]
    fn a_fingerprint_changes_with_any_byte_and_with_the_length() {
        let record: Vec<u8> = (0..301u32).map(|i| (i * 7 % 251) as u8).collect();
        let original = fingerprint(&record);
        for at in 0..record.len() {
            for flip in [1u8, 0x80] {
                let mut changed = record.clone();
                changed[at] ^= flip;
                assert_ne!(fingerprint(&changed), original, "byte {at} ^ {flip}");
            }
        }
        let one = [1, 0, 0, 0, 0, 0, 0, 0, 0];
        let mut fingerprints: Vec<u64> = (1..=one.len()).map(|n| fingerprint(&one[..n])).collect();
        fingerprints.extend((0..=24).map(|n| fingerprint(&vec![0; n])));
        let mut distinct = fingerprints.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), 9 + 25, "{fingerprints:?}");
    }

    /// A Paris event on a day of January 2026, 90 minutes long, optionally recurring.
    fn january_event(
        id: &str,
        day: i8,
        hour: i8,
        rule: Option<&str>,
    ) -> crate::calendar::api::NewEvent {
        use crate::calendar::event::{End, Timing};
        use crate::calendar::recurrence::RecurrenceRule;
        use crate::calendar::time::{Duration, TimeValue};
        crate::calendar::api::NewEvent {
            id: id.into(),
            calendar: "work".into(),
            uid: None,
            timing: Timing {
                start: TimeValue::Zoned {
                    local: jiff::civil::date(2026, 1, day).at(hour, 0, 0, 0),
                    zone: "Europe/Paris".into(),
                },
                end: End::After(Duration { seconds: 5_400, ..Duration::default() }),
            },
            rule: rule.map(|rule| RecurrenceRule::parse(rule).expect("rule")),
            rdates: Vec::new(),
            exdates: Vec::new(),
            fields: std::collections::BTreeMap::new(),
            attendees: Vec::new(),
            alarms: Vec::new(),
            unknown_properties: Vec::new(),
        }
    }

    fn packed_days(store: &Store) -> i64 {
        store
            .read(|conn| {
                Ok(conn.query_row("SELECT count(*) FROM occurrence_days", [], |row| row.get(0))?)
            })
            .expect("count")
    }

    /// A view packs the days it reads; a window longer than `PACKED_AT_MOST` days packs none
    /// and shows the same occurrences.
    #[test]
    fn a_long_window_packs_no_days() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::open(dir.path().join("s.almanac")).expect("open");
        store.create_event(&january_event("weekly", 2, 9, Some("FREQ=WEEKLY"))).expect("e");
        store.create_event(&january_event("single", 20, 9, None)).expect("e");
        let at = |text: &str| text.parse::<Timestamp>().expect("instant");
        let year = candidates(&store, at("2026-01-01T00:00:00Z"), at("2027-01-01T00:00:00Z"));
        let rows: usize = year.expect("year").iter().map(|c| c.rows.len()).sum();
        assert_eq!((rows, packed_days(&store)), (53 + 1, 0));
        let month = candidates(&store, at("2026-01-01T00:00:00Z"), at("2026-02-01T00:00:00Z"));
        let rows: usize = month.expect("month").iter().map(|c| c.rows.len()).sum();
        assert_eq!((rows, packed_days(&store)), (5 + 1, 33));
    }

    /// A day forgotten between a view's packing and its read (a write in between) is read
    /// from the row tables: the view is the same as from packed days only.
    #[test]
    fn a_view_reads_the_rows_of_days_forgotten_after_packing() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::open(dir.path().join("s.almanac")).expect("open");
        let event = january_event;
        for (i, day) in [1, 5, 5, 12, 19, 31].into_iter().enumerate() {
            store.create_event(&event(&format!("single-{i}"), day, 9 + i as i8, None)).expect("e");
        }
        store.create_event(&event("weekly", 2, 0, Some("FREQ=WEEKLY"))).expect("series");
        store.create_event(&event("daily", 3, 23, Some("FREQ=DAILY;COUNT=40"))).expect("series");
        let from: Timestamp = "2026-01-01T00:00:00Z".parse().expect("from");
        let to: Timestamp = "2026-02-01T00:00:00Z".parse().expect("to");
        let window = Window {
            from: seconds(from) - WIDEST_OFFSET.as_secs(),
            to: seconds(to) + WIDEST_OFFSET.as_secs(),
        };
        let shown = |candidates: Vec<Candidate>| {
            let mut rows: Vec<(String, i64, i64)> = candidates
                .iter()
                .flat_map(|c| {
                    c.rows
                        .iter()
                        .map(|r| (c.event.id.to_string(), seconds(r.start), seconds(r.end)))
                })
                .collect();
            rows.sort();
            rows
        };
        let packed = shown(candidates(&store, from, to).expect("view"));
        // Six single events, five Fridays, 29 evenings of the daily series.
        assert_eq!(packed.len(), 6 + 5 + 29, "{packed:?}");
        let view = calendar_view(&store).expect("view");
        let (first, last) = window.packed_days(5_400);
        // Every second day forgotten, then also the first and last ones, then all: each time
        // the same rows.
        for forget in ["day % 2 = 0", "day = ?1 OR day = ?2", "?1 = ?1 OR ?2 = ?2"] {
            Connection::open(store.path())
                .and_then(|raw| {
                    raw.execute(
                        &format!("DELETE FROM occurrence_days WHERE {forget} OR ?1 + ?2 = 0"),
                        [first, last],
                    )
                })
                .expect("forget");
            let read = store
                .read_stamped(|conn, stamp| read_candidates(conn, &view.cache, window, stamp()?))
                .expect("read");
            assert_eq!(shown(read), packed, "forgotten: {forget}");
        }
    }

    /// A view reads a stored day number as the date its key text names, without the text.
    #[test]
    fn a_stored_day_is_read_as_the_date_of_its_key() {
        for days in (-719_162..2_932_897).step_by(997).chain([-719_162, 0, 20_454, 2_932_896]) {
            let text = key_from_stored((&Sql::Integer(days)).into()).expect("text");
            let Ok(IndexedKey::Date(date)) = indexed_key((&Sql::Integer(days)).into()) else {
                panic!("day {days} ({text}) is not read as a date")
            };
            assert_eq!(date.strftime("%Y%m%d").to_string(), text, "day {days}");
        }
        let error = indexed_key((&Sql::Integer(i64::MAX / 2)).into()).err();
        assert!(matches!(error, Some(Error::Corrupt(_))), "{error:?}");
        let Ok(IndexedKey::Text(text)) = indexed_key((&Sql::Text("20260101T093000".into())).into())
        else {
            panic!("a date-time key is read as text")
        };
        assert_eq!(text, "20260101T093000");
    }

    #[test]
    fn a_key_of_another_type_is_a_corruption_error() {
        let error = key_from_stored(rusqlite::types::ValueRef::Real(1.5)).expect_err("real");
        assert!(matches!(error, Error::Corrupt(_)), "{error}");
    }
}
