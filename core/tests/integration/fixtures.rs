//! Golden fixtures pin the encoding of every persisted and transmitted blob: the current code
//! must decode each file to the expected value and encode that value to the same bytes.
//! Changing a fixture is a format change: it needs a new format version and a decision note.
//! `make fixtures` (ALMANAC_WRITE_FIXTURES=1) writes missing fixtures; it never overwrites one.

use std::path::PathBuf;

use almanac_core::codec::{self, Kind};
use almanac_core::crdt::{Hlc, RecordState, Write};
use almanac_core::storage::memory::MemoryStore;
use almanac_core::{Delta, Operation, RecordKey, ReplicaId, SpaceId, Value, VersionVector};

fn golden_space() -> SpaceId {
    SpaceId::new("golden").expect("space")
}

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn check_fixture(name: &str, encoded: &[u8]) {
    let path = fixture_path(name);
    if !path.exists() && std::env::var_os("ALMANAC_WRITE_FIXTURES").is_some() {
        std::fs::write(&path, encoded).expect("write fixture");
    }
    let golden = std::fs::read(&path).unwrap_or_else(|e| {
        panic!("missing fixture {} ({e}); run `make fixtures`", path.display())
    });
    assert_eq!(golden, encoded, "the encoding of {name} changed: that is a format change");
}

/// A deterministic scenario touching every kind of entry: two replicas, a conflict, a keyed
/// map with a removed member, min and max registers, a deletion with a shadowed edit.
fn scenario() -> (MemoryStore, MemoryStore) {
    let mut a = MemoryStore::new(ReplicaId::from_bytes([0xAA; 16]));
    let mut b = MemoryStore::new(ReplicaId::from_bytes([0xBB; 16]));
    let space = golden_space();
    b.join_space(&space);
    let key = RecordKey::new("events", "golden");
    let op = |write| Operation { key: key.clone(), write };
    let timing =
        Value::structured(&("2026-11-26T09:00", "Europe/Paris", 3_600u32)).expect("structured");
    a.commit(
        &space,
        &[
            op(Write::Set { field: "title".into(), value: Value::from("Planning") }),
            op(Write::Set { field: "timing".into(), value: timing }),
            op(Write::Set { field: "priority".into(), value: Value::Int(-3) }),
            op(Write::Set { field: "weight".into(), value: Value::Float(0.5) }),
            op(Write::Set { field: "private".into(), value: Value::Bool(true) }),
            op(Write::Set { field: "blob".into(), value: Value::Bytes(vec![0, 1, 255]) }),
            op(Write::Set { field: "cleared".into(), value: Value::Null }),
            op(Write::SetMember {
                field: "attendees".into(),
                key: "mailto:x@example.com".into(),
                member_field: "status".into(),
                value: Value::from("accepted"),
            }),
            op(Write::SetMember {
                field: "attendees".into(),
                key: "mailto:y@example.com".into(),
                member_field: "status".into(),
                value: Value::from("declined"),
            }),
            op(Write::Min { field: "truncate_at".into(), value: Value::Int(1_000) }),
            op(Write::Max { field: "acknowledged".into(), value: Value::Int(7) }),
        ],
        1_764_000_000_000,
    )
    .expect("a");
    let to_b = a.delta_since(&space, &b.version_vector(&space)).expect("delta");
    b.apply(&to_b).expect("apply");
    a.commit(
        &space,
        &[op(Write::Set { field: "title".into(), value: Value::from("Planning (A)") })],
        1_764_000_001_000,
    )
    .expect("a2");
    b.commit(
        &space,
        &[
            op(Write::Set { field: "title".into(), value: Value::from("Planning (B)") }),
            op(Write::RemoveMember {
                field: "attendees".into(),
                key: "mailto:y@example.com".into(),
            }),
        ],
        1_764_000_002_000,
    )
    .expect("b2");
    b.commit(&space, &[op(Write::Delete)], 1_764_000_003_000).expect("b3");
    let to_a = b.delta_since(&space, &a.version_vector(&space)).expect("delta");
    a.apply(&to_a).expect("apply");
    (a, b)
}

#[test]
fn golden_record_encoding() {
    let (a, _) = scenario();
    let state =
        a.record(&golden_space(), &RecordKey::new("events", "golden")).expect("record").clone();
    assert!(state.is_deleted() && state.has_conflicts());
    let encoded = codec::encode(Kind::Record, &state).expect("encode");
    check_fixture("record-v1.bin", &encoded);
    let decoded: RecordState =
        codec::decode(Kind::Record, &std::fs::read(fixture_path("record-v1.bin")).expect("read"))
            .expect("decode");
    assert_eq!(decoded, state);
}

#[test]
fn golden_delta_encoding() {
    let (mut a, _) = scenario();
    let delta = a.delta_since(&golden_space(), &VersionVector::new()).expect("delta");
    let encoded = delta.encode().expect("encode");
    check_fixture("delta-v1.bin", &encoded);
    let decoded =
        Delta::decode(&std::fs::read(fixture_path("delta-v1.bin")).expect("read")).expect("decode");
    assert_eq!(decoded, delta);
    assert_eq!(decoded.hlc, Hlc { millis: 1_764_000_003_000, logical: 0 });
}

#[test]
fn golden_version_vector_encoding() {
    let vv: VersionVector =
        [(ReplicaId::from_bytes([0xAA; 16]), 2), (ReplicaId::from_bytes([0xBB; 16]), 300)]
            .into_iter()
            .collect();
    let encoded = codec::encode(Kind::VersionVector, &vv).expect("encode");
    check_fixture("version-vector-v1.bin", &encoded);
    assert_eq!(codec::decode::<VersionVector>(Kind::VersionVector, &encoded).expect("decode"), vv);
}

#[test]
fn damaged_deltas_are_errors_never_panics() {
    let (mut a, _) = scenario();
    let bytes = a
        .delta_since(&golden_space(), &VersionVector::new())
        .expect("delta")
        .encode()
        .expect("encode");
    for cut in 0..bytes.len() {
        assert!(Delta::decode(&bytes[..cut]).is_err(), "a delta cut at {cut} bytes decoded");
    }
    // Flipping any single byte must give an error or a delta, never a panic.
    for i in 0..bytes.len() {
        let mut damaged = bytes.clone();
        damaged[i] ^= 0xFF;
        let _ = Delta::decode(&damaged);
    }
}

/// The calendar values stored as structured registers (timing, rules, dates, roles, unknown
/// properties) are part of the stored format too.
#[test]
fn golden_calendar_values_encoding() {
    use almanac_core::calendar::event::{End, Participation, RawProperty, Role, Timing};
    use almanac_core::calendar::recurrence::RecurrenceRule;
    use almanac_core::calendar::time::{Duration, TimeValue};
    use jiff::civil::date;

    let zoned = |h| TimeValue::Zoned {
        local: date(2026, 3, 8).at(h, 30, 0, 0),
        zone: "America/New_York".into(),
    };
    let timings = vec![
        Timing { start: zoned(9), end: End::At(zoned(10)) },
        Timing::all_day(date(2026, 2, 28), 2),
        Timing {
            start: TimeValue::Floating(date(2026, 1, 1).at(7, 0, 0, 0)),
            end: End::After(Duration { weeks: 1, days: 2, seconds: 5400 }),
        },
        Timing {
            start: TimeValue::Utc("2026-06-01T12:00:00Z".parse().expect("utc")),
            end: End::After(Duration { seconds: -1, ..Duration::default() }),
        },
    ];
    let rules: Vec<RecurrenceRule> = [
        "FREQ=MONTHLY;INTERVAL=2;COUNT=10;BYHOUR=9;BYMINUTE=30;BYSECOND=0;BYDAY=1MO,-1FR;BYMONTHDAY=1,-1;BYMONTH=1,6;BYSETPOS=1,-1;WKST=SU",
        "FREQ=YEARLY;UNTIL=20301231T235959Z;BYWEEKNO=20,-1;BYDAY=TH;X-NAME=value",
        "FREQ=YEARLY;BYYEARDAY=1,-1,100",
        "FREQ=DAILY;UNTIL=20261231",
    ]
    .iter()
    .map(|r| RecurrenceRule::parse(r).expect("rule"))
    .collect();
    let raw = RawProperty {
        name: "X-APPLE-STRUCTURED-LOCATION".into(),
        params: vec![("X-TITLE".into(), vec!["Café; \"Bleu\"".into()])],
        value: "geo:48.85,2.35".into(),
    };
    let roles =
        (Participation::Tentative, Role::Chair, Participation::Delegated, Role::NonParticipant);
    let value = Value::structured(&(timings.clone(), rules.clone(), vec![raw.clone()], roles))
        .expect("encode");
    let Value::Structured(bytes) = &value else { panic!("structured") };
    check_fixture("calendar-values-v1.bin", bytes);
    let golden =
        Value::Structured(std::fs::read(fixture_path("calendar-values-v1.bin")).expect("read"));
    type Golden = (
        Vec<Timing>,
        Vec<RecurrenceRule>,
        Vec<RawProperty>,
        (Participation, Role, Participation, Role),
    );
    let decoded: Golden = golden.decode().expect("decode");
    assert_eq!(decoded, (timings, rules, vec![raw], roles));
}
