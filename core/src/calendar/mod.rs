//! The calendar domain on top of the CRDT engine: time values and the bundled tz database
//! (`time`), recurrence rules and their expansion (`recurrence`), events, occurrence queries and
//! iCalendar import/export (issue 3, in progress).

pub mod time;
