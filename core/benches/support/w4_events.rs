//! The W4 event generator shared by the calendar benchmark (`core/benches/calendar.rs`) and the
//! SDKs' W9 (`bindings/examples/w9.rs`), so both time the very same data: about ten fields,
//! Europe/Paris, one event in ten a weekly series of 52, spread over `days` from `start`, a
//! third of them in the "home" calendar and the rest in "work".

use std::collections::BTreeMap;

use almanac_core::Value;
use almanac_core::calendar::api::NewEvent;
use almanac_core::calendar::event::{End, Timing};
use almanac_core::calendar::recurrence::RecurrenceRule;
use almanac_core::calendar::time::{Duration, TimeValue};
use jiff::ToSpan;
use jiff::civil::Date;

/// Event `i` of the W4 data.
pub fn new_event(i: usize, start: Date, days: i64) -> NewEvent {
    let day = start.checked_add((i as i64 * days / 10_000 % days).days()).expect("day");
    let day = day.checked_add(((i as i64 * 7919) % days).days()).unwrap_or(day);
    let local = day.at(8 + (i % 10) as i8, 0, 0, 0);
    let recurring = i % 10 == 0;
    NewEvent {
        id: format!("event-{i:06}"),
        calendar: if i % 3 == 0 { "home".into() } else { "work".into() },
        uid: None,
        timing: Timing {
            start: TimeValue::Zoned { local, zone: "Europe/Paris".into() },
            end: End::After(Duration { seconds: 3600, ..Duration::default() }),
        },
        rule: recurring.then(|| RecurrenceRule::parse("FREQ=WEEKLY;COUNT=52").expect("rule")),
        rdates: Vec::new(),
        exdates: Vec::new(),
        fields: BTreeMap::from([
            ("title".into(), Value::from(format!("Meeting {i}"))),
            ("location".into(), Value::from("Room 4")),
            ("notes".into(), Value::from("Bring the quarterly numbers.")),
            ("status".into(), Value::from("CONFIRMED")),
            ("availability".into(), Value::from("OPAQUE")),
            ("color".into(), Value::from("blue")),
            ("organizer".into(), Value::from("mailto:me@example.com")),
        ]),
        attendees: Vec::new(),
        alarms: Vec::new(),
        unknown_properties: Vec::new(),
    }
}
