//! The merge contract (`docs/semantics.md`), case by case, on every storage backend. The cases
//! about recurrence (5–8, 10, 11, 14, 15) belong to the calendar layer and are tested there.

use almanac_core::crdt::{FieldPath, Write};
use almanac_core::{Error, RecordKey, Value};
use serde::{Deserialize, Serialize};

use crate::support::*;

/// Two replicas that both hold event `e1` with a title and a location.
fn two_replicas_sharing_an_event<R: TestReplica>(new: &impl Fn(u8) -> R) -> (R, R) {
    let mut a = new(1);
    let mut b = new(2);
    a.commit(&[set("e1", "title", "Standup"), set("e1", "location", "Room 1")]).expect("create");
    sync(&mut a, &mut b);
    (a, b)
}

fn conflict_case_1_title_and_location_both_apply<R: TestReplica>(new: impl Fn(u8) -> R) {
    let (mut a, mut b) = two_replicas_sharing_an_event(&new);
    a.commit(&[set("e1", "title", "Retro")]).expect("a");
    b.commit(&[set("e1", "location", "Room 2")]).expect("b");
    sync(&mut a, &mut b);
    for replica in [&a, &b] {
        let event = replica.live("events", "e1").expect("event");
        assert_eq!(text(&event, "title").as_deref(), Some("Retro"));
        assert_eq!(text(&event, "location").as_deref(), Some("Room 2"));
        assert!(event.conflict_report().is_none());
    }
}

fn conflict_case_2_same_field_shows_greatest_stamp_and_keeps_the_other<R: TestReplica>(
    new: impl Fn(u8) -> R,
) {
    let (mut a, mut b) = two_replicas_sharing_an_event(&new);
    a.clock().set(5_000);
    b.clock().set(9_000);
    a.commit(&[set("e1", "title", "From A")]).expect("a");
    b.commit(&[set("e1", "title", "From B")]).expect("b");
    sync(&mut a, &mut b);
    for replica in [&mut a, &mut b] {
        let event = replica.live("events", "e1").expect("event");
        assert_eq!(text(&event, "title").as_deref(), Some("From B"));
        assert_eq!(texts(event.conflicts("title")), ["From A"]);
        let log = replica.conflicts();
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].fields[0].path, FieldPath::Register("title".into()));
    }
    // Restoring the losing candidate is a write that has seen both: it resolves the conflict.
    a.commit(&[set("e1", "title", "From A")]).expect("resolve");
    sync(&mut a, &mut b);
    for replica in [&mut a, &mut b] {
        let event = replica.live("events", "e1").expect("event");
        assert_eq!(text(&event, "title").as_deref(), Some("From A"));
        assert!(event.conflicts("title").is_empty());
        assert!(replica.conflicts().is_empty());
    }
}

/// Decided 2026-11-30: two devices writing the same value concurrently agree; that is no
/// conflict. Different values next to equal ones are listed once each.
fn equal_concurrent_values_are_not_a_conflict<R: TestReplica>(new: impl Fn(u8) -> R) {
    let (mut a, mut b) = two_replicas_sharing_an_event(&new);
    let mut c = new(3);
    sync(&mut a, &mut c);
    a.commit(&[set("e1", "title", "Same")]).expect("a");
    b.commit(&[set("e1", "title", "Same")]).expect("b");
    sync(&mut a, &mut b);
    for replica in [&mut a, &mut b] {
        let event = replica.live("events", "e1").expect("event");
        assert_eq!(text(&event, "title").as_deref(), Some("Same"));
        assert!(replica.conflicts().is_empty(), "{:?}", replica.conflicts());
    }
    c.commit(&[set("e1", "title", "Other")]).expect("c");
    sync(&mut a, &mut c);
    let log = c.conflicts();
    assert_eq!(log.len(), 1);
    let mut values = log[0].fields[0].candidates.clone();
    values.push(log[0].fields[0].shown.clone());
    values.sort_by_key(|v| format!("{v:?}"));
    assert_eq!(values, [Value::from("Other"), Value::from("Same")]);
}

#[derive(Serialize, Deserialize, PartialEq, Debug)]
enum Timing {
    Timed { start: String, end: String, zone: String },
    AllDay { date: String },
}

fn conflict_case_3_timing_is_one_register_never_a_mix<R: TestReplica>(new: impl Fn(u8) -> R) {
    let (mut a, mut b) = two_replicas_sharing_an_event(&new);
    let moved = Timing::Timed {
        start: "2026-12-01T10:00".into(),
        end: "2026-12-01T11:00".into(),
        zone: "Europe/Paris".into(),
    };
    let all_day = Timing::AllDay { date: "2026-12-01".into() };
    a.commit(&[set("e1", "timing", Value::structured(&moved).expect("encode"))]).expect("a");
    b.commit(&[set("e1", "timing", Value::structured(&all_day).expect("encode"))]).expect("b");
    sync(&mut a, &mut b);
    let ea = a.live("events", "e1").expect("event");
    let eb = b.live("events", "e1").expect("event");
    assert_eq!(ea.value("timing"), eb.value("timing"));
    let shown: Timing = ea.value("timing").expect("timing").decode().expect("decode");
    let other: Timing = ea.conflicts("timing")[0].decode().expect("decode");
    assert!(
        (shown == moved && other == all_day) || (shown == all_day && other == moved),
        "one whole value wins, the other is the conflict"
    );
}

fn conflict_case_4_edit_vs_delete_keeps_edit_in_conflict_log<R: TestReplica>(
    new: impl Fn(u8) -> R,
) {
    let (mut a, mut b) = two_replicas_sharing_an_event(&new);
    a.commit(&[set("e1", "title", "Edited offline")]).expect("edit");
    b.commit(&[op("events", "e1", Write::Delete)]).expect("delete");
    sync(&mut a, &mut b);
    for replica in [&mut a, &mut b] {
        assert!(replica.live("events", "e1").is_none(), "delete wins");
        let log = replica.conflicts();
        assert_eq!(log.len(), 1);
        assert!(log[0].deleted);
        let shadowed: Vec<_> = log[0].shadowed.iter().map(|s| (&s.path, &s.entry.value)).collect();
        assert_eq!(
            shadowed,
            [(&FieldPath::Register("title".into()), &Value::from("Edited offline"))]
        );
    }
    // Editing a deleted record is refused with a clear error; restore brings everything back.
    let refused = b.commit(&[set("e1", "notes", "x")]);
    assert!(matches!(refused, Err(Error::RecordDeleted(_))), "{refused:?}");
    b.commit(&[op("events", "e1", Write::Restore)]).expect("restore");
    sync(&mut a, &mut b);
    for replica in [&mut a, &mut b] {
        let event = replica.live("events", "e1").expect("restored");
        assert_eq!(text(&event, "title").as_deref(), Some("Edited offline"));
        assert_eq!(text(&event, "location").as_deref(), Some("Room 1"));
        assert!(replica.conflicts().is_empty());
    }
}

fn delete_that_saw_the_edit_leaves_nothing_in_the_conflict_log<R: TestReplica>(
    new: impl Fn(u8) -> R,
) {
    let (mut a, mut b) = two_replicas_sharing_an_event(&new);
    a.commit(&[set("e1", "title", "Seen")]).expect("edit");
    sync(&mut a, &mut b);
    b.commit(&[op("events", "e1", Write::Delete)]).expect("delete");
    sync(&mut a, &mut b);
    assert!(a.live("events", "e1").is_none());
    assert!(a.conflicts().is_empty());
}

fn conflict_case_9_truncations_take_the_minimum<R: TestReplica>(new: impl Fn(u8) -> R) {
    let (mut a, mut b) = two_replicas_sharing_an_event(&new);
    let truncate = |v: i64| {
        op("events", "e1", Write::Min { field: "truncate_at".into(), value: Value::Int(v) })
    };
    a.commit(&[truncate(300)]).expect("a");
    b.commit(&[truncate(200)]).expect("b");
    a.commit(&[truncate(250)]).expect("a again");
    sync(&mut a, &mut b);
    for replica in [&a, &b] {
        let event = replica.live("events", "e1").expect("event");
        assert_eq!(event.min("truncate_at"), Some(&Value::Int(200)));
    }
}

fn conflict_case_12_concurrent_add_and_remove_of_an_attendee_keeps_it<R: TestReplica>(
    new: impl Fn(u8) -> R,
) {
    let (mut a, mut b) = two_replicas_sharing_an_event(&new);
    let invite = |status: &str| {
        op(
            "events",
            "e1",
            Write::SetMember {
                field: "attendees".into(),
                key: "mailto:x@example.com".into(),
                member_field: "status".into(),
                value: Value::from(status),
            },
        )
    };
    a.commit(&[invite("needs-action")]).expect("invite");
    sync(&mut a, &mut b);
    a.commit(&[invite("accepted")]).expect("a re-adds");
    let remove =
        Write::RemoveMember { field: "attendees".into(), key: "mailto:x@example.com".into() };
    b.commit(&[op("events", "e1", remove)]).expect("b removes");
    sync(&mut a, &mut b);
    for replica in [&a, &b] {
        let event = replica.live("events", "e1").expect("event");
        let attendees = event.members("attendees");
        let x = attendees.get("mailto:x@example.com").expect("X stays");
        let status = x.fields().get("status").and_then(|r| r.winner()).map(|e| &e.value);
        assert_eq!(status, Some(&Value::from("accepted")));
    }
}

fn conflict_case_13_add_one_alarm_remove_another_both_apply<R: TestReplica>(new: impl Fn(u8) -> R) {
    let (mut a, mut b) = two_replicas_sharing_an_event(&new);
    let alarm = |id: &str| {
        op(
            "events",
            "e1",
            Write::SetMember {
                field: "alarms".into(),
                key: id.into(),
                member_field: "trigger".into(),
                value: Value::from("-PT15M"),
            },
        )
    };
    a.commit(&[alarm("old")]).expect("old alarm");
    sync(&mut a, &mut b);
    a.commit(&[alarm("new")]).expect("add");
    let remove = Write::RemoveMember { field: "alarms".into(), key: "old".into() };
    b.commit(&[op("events", "e1", remove)]).expect("remove");
    sync(&mut a, &mut b);
    for replica in [&a, &b] {
        let event = replica.live("events", "e1").expect("event");
        assert_eq!(event.members("alarms").keys().copied().collect::<Vec<_>>(), ["new"]);
    }
    // Acknowledgement merges by maximum.
    let ack = |t: i64| {
        op("events", "e1", Write::Max { field: "acknowledged".into(), value: Value::Int(t) })
    };
    a.commit(&[ack(10)]).expect("ack a");
    b.commit(&[ack(20)]).expect("ack b");
    sync(&mut a, &mut b);
    assert_eq!(a.live("events", "e1").expect("event").max("acknowledged"), Some(&Value::Int(20)));
}

fn conflict_case_16_clock_behind_still_wins_when_it_wrote_after_seeing<R: TestReplica>(
    new: impl Fn(u8) -> R,
) {
    let (mut a, mut b) = two_replicas_sharing_an_event(&new);
    a.clock().set(50_000_000); // A's clock runs hours ahead
    b.clock().set(2_000);
    a.commit(&[set("e1", "title", "A, clock ahead")]).expect("a");
    sync(&mut a, &mut b);
    b.commit(&[set("e1", "title", "B, after seeing A")]).expect("b");
    sync(&mut a, &mut b);
    for replica in [&a, &b] {
        let event = replica.live("events", "e1").expect("event");
        assert_eq!(text(&event, "title").as_deref(), Some("B, after seeing A"));
        assert!(event.conflicts("title").is_empty());
    }
    // B observed A's clock when it received A's write: its own later stamps sort after it even
    // though B's device clock is hours behind.
    let stamp_of = |replica: &R, value: &str| {
        let event = replica.live("events", "e1").expect("event");
        let register = event.state.registers()["title"].clone();
        register.entries().iter().find(|e| e.value == Value::from(value)).map(|e| e.hlc)
    };
    let a_first = stamp_of(&a, "B, after seeing A").expect("B's write");
    assert!(a_first.millis >= 50_000_000, "B's clock did not observe A's: {a_first:?}");
    // Concurrent writes: both kept, the greatest stamp shown, on both replicas.
    a.commit(&[set("e1", "title", "A again")]).expect("a2");
    b.commit(&[set("e1", "title", "B again")]).expect("b2");
    sync(&mut a, &mut b);
    let ea = a.live("events", "e1").expect("event");
    assert_eq!(ea.value("title"), b.live("events", "e1").expect("event").value("title"));
    assert_eq!(ea.conflicts("title").len(), 1);
    let register = &ea.state.registers()["title"];
    let greatest = register.entries().iter().max_by_key(|e| e.stamp()).expect("entries");
    assert_eq!(ea.value("title"), Some(&greatest.value));
    let b_again = stamp_of(&a, "B again").expect("B's concurrent write");
    assert!(b_again.millis >= 50_000_000, "{b_again:?}");
}

/// An edit one of two concurrent deleters had seen is not "shadowed": that deleter removed it
/// knowingly. Only edits no deleter saw go to the conflict log.
fn an_edit_one_deleter_saw_is_not_shadowed_by_concurrent_deletes<R: TestReplica>(
    new: impl Fn(u8) -> R,
) {
    let (mut a, mut b) = two_replicas_sharing_an_event(&new);
    let mut c = new(3);
    sync(&mut a, &mut c);
    a.commit(&[set("e1", "title", "Seen by B only")]).expect("edit");
    sync(&mut a, &mut b);
    b.commit(&[op("events", "e1", Write::Delete)]).expect("B deletes, having seen the edit");
    c.commit(&[op("events", "e1", Write::Delete)]).expect("C deletes, not having seen it");
    sync(&mut b, &mut c);
    sync(&mut a, &mut b);
    sync(&mut b, &mut c);
    for replica in [&mut a, &mut b, &mut c] {
        assert!(replica.live("events", "e1").is_none());
        let log = replica.conflicts();
        assert!(log.iter().all(|c| c.shadowed.is_empty()), "{log:?}");
    }
}

/// A peer that has seen more of this replica's writes than the replica itself (the replica
/// was rewound) is refused: applying would reuse dots.
fn a_delta_from_a_peer_that_knows_more_of_this_replica_is_refused<R: TestReplica>(
    new: impl Fn(u8) -> R,
) {
    let (mut a, mut b) = two_replicas_sharing_an_event(&new);
    a.commit(&[set("e1", "title", "written after the copy")]).expect("a");
    sync(&mut a, &mut b);
    // A fresh replica with A's id: A as restored from before any write.
    let mut rewound = MemoryReplica::with_id(a.replica_id());
    let delta = b.delta_since(&rewound.version_vector()).expect("delta");
    assert!(matches!(rewound.apply(&delta), Err(Error::ReplicaRewound)));
    assert!(rewound.snapshot().1.is_empty());
}

fn a_transaction_is_atomic_locally_and_remotely<R: TestReplica>(new: impl Fn(u8) -> R) {
    let (mut a, mut b) = two_replicas_sharing_an_event(&new);
    b.commit(&[op("events", "e1", Write::Delete)]).expect("delete");
    sync(&mut a, &mut b);
    let before = a.snapshot();
    // The second write is refused (the record is deleted), so the first must not land either.
    let refused = a.commit(&[set("e2", "title", "New"), set("e1", "title", "Nope")]);
    assert!(
        matches!(refused, Err(Error::RecordDeleted(key)) if key == RecordKey::new("events", "e1"))
    );
    assert_eq!(a.snapshot(), before);
    // A successful multi-record transaction arrives whole.
    a.commit(&[set("e2", "title", "Two"), set("e3", "title", "Three")]).expect("tx");
    let delta = a.delta_since(&b.version_vector()).expect("delta");
    assert_eq!(delta.records.len(), 2);
    b.apply(&delta).expect("apply");
    assert!(b.live("events", "e2").is_some() && b.live("events", "e3").is_some());
}

fn deltas_are_idempotent_and_order_independent<R: TestReplica>(new: impl Fn(u8) -> R) {
    let (mut a, mut b) = two_replicas_sharing_an_event(&new);
    let since = b.version_vector();
    a.commit(&[set("e1", "title", "1")]).expect("1");
    let first = a.delta_since(&since).expect("first");
    a.commit(&[set("e1", "notes", "2")]).expect("2");
    let second = a.delta_since(&since).expect("second");
    b.apply(&second).expect("newer first");
    b.apply(&first).expect("older after");
    b.apply(&second).expect("duplicate");
    assert_eq!(b.snapshot(), a.snapshot());
}

fn a_delta_for_a_replica_that_had_seen_more_is_refused<R: TestReplica>(new: impl Fn(u8) -> R) {
    let (mut a, mut b) = two_replicas_sharing_an_event(&new);
    let mut c = new(3);
    a.commit(&[set("e1", "title", "x")]).expect("x");
    let for_b = a.delta_since(&b.version_vector()).expect("delta");
    // c has seen nothing, so applying a delta computed for b would skip writes c lacks.
    assert!(matches!(c.apply(&for_b), Err(Error::DeltaNotApplicable)));
    b.apply(&for_b).expect("b can");
}

fn an_up_to_date_replica_gets_an_empty_delta<R: TestReplica>(new: impl Fn(u8) -> R) {
    let (mut a, b) = two_replicas_sharing_an_event(&new);
    assert!(a.delta_since(&b.version_vector()).expect("delta").is_empty());
}

for_each_backend!(
    conflict_case_1_title_and_location_both_apply,
    conflict_case_2_same_field_shows_greatest_stamp_and_keeps_the_other,
    equal_concurrent_values_are_not_a_conflict,
    conflict_case_3_timing_is_one_register_never_a_mix,
    conflict_case_4_edit_vs_delete_keeps_edit_in_conflict_log,
    delete_that_saw_the_edit_leaves_nothing_in_the_conflict_log,
    conflict_case_9_truncations_take_the_minimum,
    conflict_case_12_concurrent_add_and_remove_of_an_attendee_keeps_it,
    conflict_case_13_add_one_alarm_remove_another_both_apply,
    conflict_case_16_clock_behind_still_wins_when_it_wrote_after_seeing,
    a_transaction_is_atomic_locally_and_remotely,
    deltas_are_idempotent_and_order_independent,
    a_delta_for_a_replica_that_had_seen_more_is_refused,
    an_up_to_date_replica_gets_an_empty_delta,
    an_edit_one_deleter_saw_is_not_shadowed_by_concurrent_deletes,
    a_delta_from_a_peer_that_knows_more_of_this_replica_is_refused,
);
