//! A month view through the bindings surface, timed: 2,000 events (a quarter weekly series)
//! in one store, then `occurrences` for one month, the median of 30 calls. Used to compare
//! release profiles (decision 0020); `cargo run --release -p almanac-ffi --example month_view`.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::Instant;

use almanac_ffi::*;

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store =
        AlmanacStore::open(dir.path().join("bench").to_string_lossy().into_owned()).expect("open");
    for i in 0..2_000 {
        let day = 1 + i % 28;
        let hour = 7 + i % 12;
        store
            .create_event(NewEventInput {
                id: format!("e{i}"),
                calendar: format!("cal{}", i % 4),
                start: EventTime::Zoned {
                    local: format!("2026-06-{day:02}T{hour:02}:00:00"),
                    zone: "Europe/Paris".into(),
                },
                end: EventEnd::After { days: 0, seconds: 3600 },
                rule: (i % 4 == 0).then(|| "FREQ=WEEKLY".to_owned()),
                rdates: vec![],
                exdates: vec![],
                fields: EventFields { title: Some(format!("event {i}")), ..EventFields::default() },
                attendees: vec![],
                alarms: vec![],
            })
            .expect("create");
    }
    let query = OccurrenceQuery {
        // 2026-07-01T00:00Z .. 2026-08-01T00:00Z
        from_epoch_seconds: 1_782_864_000,
        to_epoch_seconds: 1_785_542_400,
        calendars: vec![],
        viewer_zone: "Europe/Paris".into(),
    };
    let count = store.occurrences(query.clone()).expect("warm-up").len();
    let mut times: Vec<f64> = (0..30)
        .map(|_| {
            let started = Instant::now();
            store.occurrences(query.clone()).expect("query");
            started.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    println!("month view: {count} occurrences, median {:.2} ms", times[times.len() / 2]);
}
