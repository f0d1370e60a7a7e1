//! Recurring events: RFC 5545 recurrence rules (`RRULE`), recurrence sets (DTSTART, RDATE,
//! EXDATE) and their expansion into occurrences.
//!
//! [`RecurrenceRule`] is the rule as data: parsed leniently from iCalendar text, validated
//! against the RFC, written back in a canonical form. [`RecurrenceSet`] answers the two queries
//! a calendar needs, occurrences in a window ([`RecurrenceSet::between`]) and the next few
//! ([`RecurrenceSet::first`]), skipping straight to the window instead of walking from the
//! series start. Choices where the RFC is silent or implementations disagree are recorded in
//! `docs/decisions/0010-recurrence-rules.md`.

mod expand;
mod rule;
mod set;

#[cfg(test)]
mod tests;

pub(crate) use expand::{civil_from_days, days_from_civil};
pub use rule::{Frequency, RecurrenceRule, Weekday, WeekdayNum};
pub use set::{MAX_OCCURRENCES, Occurrence, RecurrenceSet};
