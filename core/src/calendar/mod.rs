//! The calendar domain on top of the CRDT engine: time values and the bundled tz database
//! (`time`), recurrence rules and their expansion (`recurrence`), the event model (`event`) and
//! how an event record reads back with its occurrences (`series`), the calendar operations on
//! the store (`api`), the occurrence index (`index`) and the calendar conflict log
//! (`conflicts`). iCalendar import/export is in progress (issue 3).

pub mod api;
pub mod conflicts;
pub mod event;
pub mod ical;
pub mod ics;
pub mod index;
pub mod recurrence;
pub mod series;
pub mod time;
