//! Garbage collection under causal stability: metadata stays bounded by live data, and
//! collecting never changes what replicas show or whether they converge
//! (`docs/decisions/0014-causal-stability-and-trash.md`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use almanac_core::codec::{self, Kind};
use almanac_core::crdt::Write;
use almanac_core::{DEFAULT_TRASH_RETENTION, GcReport, RecordKey, Value, VersionVector};

use crate::support::{SPACE, SqliteReplica, TestReplica, op, set, sync, sync_one_way};

const EVENT: &str = "e1";

fn set_alarm(alarm: &str, field: &str, value: impl Into<Value>) -> Write {
    Write::SetMember {
        field: "alarms".into(),
        key: alarm.into(),
        member_field: field.into(),
        value: value.into(),
    }
}

fn remove_alarm(alarm: &str) -> Write {
    Write::RemoveMember { field: "alarms".into(), key: alarm.into() }
}

fn write(replica: &mut SqliteReplica, write: Write) {
    replica.commit(&[op("events", EVENT, write)]).expect("commit");
}

/// What every replica has seen. With two replicas that have just synced both ways it is also
/// causally stable: neither holds a write the other lacks.
fn stable(a: &SqliteReplica, b: &SqliteReplica) -> VersionVector {
    a.version_vector().meet(&b.version_vector())
}

fn collect(replica: &SqliteReplica, stable: &VersionVector, retention: Duration) -> GcReport {
    replica.store.collect_garbage(SPACE, stable, retention).expect("collect garbage")
}

fn event(replica: &SqliteReplica) -> Option<almanac_core::Record> {
    replica.record(&RecordKey::new("events", EVENT))
}

fn encoded_size(replica: &SqliteReplica) -> usize {
    let state = event(replica).expect("event").state;
    codec::encode(Kind::Record, &state).expect("encode").len()
}

fn file_size(replica: &SqliteReplica) -> u64 {
    replica.store.checkpoint().expect("checkpoint");
    std::fs::metadata(replica.store.path()).expect("metadata").len()
}

fn alarm_keys(replica: &SqliteReplica) -> Vec<String> {
    let event = event(replica).expect("event");
    let members = event.members("alarms");
    members.iter().filter(|(_, m)| m.is_present()).map(|(k, _)| (*k).to_owned()).collect()
}

fn alarm_fields(replica: &SqliteReplica, alarm: &str) -> Vec<String> {
    let event = event(replica).expect("event");
    let members = event.members("alarms");
    members
        .get(alarm)
        .map(|m| m.fields().keys().map(|name| name.to_string()).collect())
        .unwrap_or_default()
}

fn system_millis() -> u64 {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after 1970");
    u64::try_from(since_epoch.as_millis()).expect("millis fit")
}

/// Issue 6, finding 2: 2,000 add/remove pairs of alarms grew one event from 49 bytes to 99 KB.
/// Each cycle adds a fresh alarm (as apps do, with new ids) on one device and removes it on the
/// other, devices alternating, syncing in between; every 100 cycles both collect with the cut
/// both have seen.
#[test]
fn storage_stays_bounded_by_live_data_over_ten_thousand_alarm_add_remove_cycles() {
    let mut a = SqliteReplica::new();
    let mut b = SqliteReplica::new();
    a.commit(&[set(EVENT, "title", "Standup")]).expect("create");
    sync(&mut a, &mut b);
    let mut at_cycle_1000 = None;
    for cycle in 1..=10_000 {
        let alarm = format!("alarm-{cycle}");
        let (adder, remover) = if cycle % 2 == 0 { (&mut a, &mut b) } else { (&mut b, &mut a) };
        write(adder, set_alarm(&alarm, "trigger", -900));
        sync_one_way(adder, remover);
        write(remover, remove_alarm(&alarm));
        sync_one_way(remover, adder);
        if cycle % 100 == 0 {
            let cut = stable(&a, &b);
            assert_eq!(collect(&a, &cut, DEFAULT_TRASH_RETENTION).members_purged, 100);
            assert_eq!(collect(&b, &cut, DEFAULT_TRASH_RETENTION).members_purged, 100);
        }
        if cycle == 1_000 {
            at_cycle_1000 = Some((file_size(&a), file_size(&b)));
        }
    }
    for replica in [&a, &b] {
        let size = encoded_size(replica);
        assert!(size <= 256, "the event is {size} bytes after 10,000 alarm cycles");
        assert!(alarm_keys(replica).is_empty());
    }
    let (a_then, b_then) = at_cycle_1000.expect("measured at cycle 1,000");
    let page = 4096;
    for (now, then) in [(file_size(&a), a_then), (file_size(&b), b_then)] {
        assert!(now <= then + 4 * page, "the file grew from {then} to {now} bytes");
    }
    assert_eq!(a.snapshot(), b.snapshot());
    assert_eq!(text_title(&a), Some("Standup".to_owned()));
}

fn text_title(replica: &SqliteReplica) -> Option<String> {
    event(replica).and_then(|e| e.value("title").and_then(|v| v.as_text()).map(str::to_owned))
}

/// Contract case 12 after collection: a removal is purged only once every replica has seen it,
/// and an add concurrent with it keeps the member whether or not the removal was purged.
#[test]
fn collecting_keeps_add_wins_and_never_drops_an_unseen_removal() {
    let mut a = SqliteReplica::new();
    let mut b = SqliteReplica::new();
    a.commit(&[
        op("events", EVENT, set_alarm("kept", "trigger", -900)),
        op("events", EVENT, set_alarm("gone", "trigger", -600)),
    ])
    .expect("create");
    sync(&mut a, &mut b);
    // A removes both alarms; B, concurrently, gives "kept" a description.
    a.commit(&[
        op("events", EVENT, remove_alarm("kept")),
        op("events", EVENT, remove_alarm("gone")),
    ])
    .expect("remove");
    write(&mut b, set_alarm("kept", "description", "Leave now"));

    // Neither removal is seen by B yet: nothing may go, or B would never hear of them.
    let cut = stable(&a, &b);
    assert_eq!(collect(&a, &cut, Duration::ZERO), GcReport::default());
    assert_eq!(collect(&b, &cut, Duration::ZERO), GcReport::default());

    sync(&mut a, &mut b);
    for replica in [&a, &b] {
        assert_eq!(alarm_keys(replica), vec!["kept"], "add wins");
        // The removal took the trigger A had seen; B's concurrent description stays.
        assert_eq!(alarm_fields(replica, "kept"), vec!["description"]);
    }
    assert_eq!(a.snapshot(), b.snapshot());

    // Now both have seen everything: the removed alarm goes, the kept one stays as it was.
    let cut = stable(&a, &b);
    assert_eq!(collect(&a, &cut, Duration::ZERO).members_purged, 1);
    assert_eq!(collect(&b, &cut, Duration::ZERO).members_purged, 1);
    sync(&mut a, &mut b);
    for replica in [&a, &b] {
        assert_eq!(alarm_keys(replica), vec!["kept"]);
        assert_eq!(alarm_fields(replica, "kept"), vec!["description"]);
        assert!(!event(replica).expect("event").members("alarms").contains_key("gone"));
    }
    assert_eq!(a.snapshot(), b.snapshot());
}

/// The removal is stable (B has seen it) while B's concurrent add is not: A may purge the
/// removal, and the add still wins when it arrives.
#[test]
fn an_add_concurrent_with_a_purged_removal_still_wins() {
    let mut a = SqliteReplica::new();
    let mut b = SqliteReplica::new();
    write(&mut a, set_alarm("a1", "trigger", -900));
    sync(&mut a, &mut b);
    write(&mut a, remove_alarm("a1"));
    write(&mut b, set_alarm("a1", "description", "Leave now"));
    sync_one_way(&mut a, &mut b);
    let cut = stable(&a, &b);
    assert_eq!(collect(&a, &cut, Duration::ZERO).members_purged, 1);
    sync(&mut a, &mut b);
    for replica in [&a, &b] {
        assert_eq!(alarm_keys(replica), vec!["a1"]);
        assert_eq!(alarm_fields(replica, "a1"), vec!["description"]);
    }
}

/// The trash: a deleted event stays restorable for the retention period, then goes from every
/// table (its clock index and derived rows with it), and sync carries on.
#[test]
fn a_deleted_record_stays_restorable_until_its_retention_has_passed() {
    let mut a = SqliteReplica::new();
    let mut b = SqliteReplica::new();
    for replica in [&a, &b] {
        replica.clock().set(system_millis());
    }
    a.commit(&[set(EVENT, "title", "Standup")]).expect("create");
    sync(&mut a, &mut b);
    a.commit(&[op("events", EVENT, Write::Delete)]).expect("delete");
    sync(&mut a, &mut b);

    let cut = stable(&a, &b);
    assert_eq!(collect(&a, &cut, DEFAULT_TRASH_RETENTION), GcReport::default());
    assert_eq!(collect(&b, &cut, DEFAULT_TRASH_RETENTION), GcReport::default());
    b.commit(&[op("events", EVENT, Write::Restore)]).expect("restore within the retention");
    sync(&mut a, &mut b);
    assert_eq!(
        a.live("events", EVENT).as_ref().and_then(|e| e.value("title").cloned()),
        Some(Value::from("Standup"))
    );

    b.commit(&[op("events", EVENT, Write::Delete)]).expect("delete again");
    sync(&mut a, &mut b);
    let cut = stable(&a, &b);
    for replica in [&a, &b] {
        let report = collect(replica, &cut, Duration::ZERO);
        assert_eq!(report, GcReport { members_purged: 0, records_purged: 1 });
        assert!(event(replica).is_none());
        let conn = rusqlite::Connection::open(replica.store.path()).expect("raw");
        let clock_rows: i64 =
            conn.query_row("SELECT count(*) FROM record_clock", [], |r| r.get(0)).expect("count");
        assert_eq!(clock_rows, 0);
    }
    assert_eq!(a.snapshot(), b.snapshot());
    // Both keep syncing: nothing either sends refers to the purged record.
    a.commit(&[set("e2", "title", "Retro")]).expect("write on");
    sync(&mut a, &mut b);
    assert_eq!(a.snapshot(), b.snapshot());
}

/// A tombstone carrying an edit some replica has not seen is kept, whatever the retention:
/// that replica must still get the edit into the tombstone's conflict log.
#[test]
fn a_deleted_record_with_an_edit_not_everyone_has_seen_is_kept() {
    let mut a = SqliteReplica::new();
    let mut b = SqliteReplica::new();
    a.commit(&[set(EVENT, "title", "Standup")]).expect("create");
    sync(&mut a, &mut b);
    // B edits while A deletes; B then hears of the delete, A not yet of the edit.
    b.commit(&[set(EVENT, "title", "Daily standup")]).expect("edit");
    a.commit(&[op("events", EVENT, Write::Delete)]).expect("delete");
    sync_one_way(&mut a, &mut b);
    // The cut A has seen. Only B may use it: B wrote the edit before seeing the delete and has
    // not delivered it, so for A this cut is not causally stable (see decision 0014).
    let cut = stable(&a, &b);
    assert_eq!(collect(&b, &cut, Duration::ZERO), GcReport::default());
    let tombstone = event(&b).expect("kept");
    assert!(tombstone.is_deleted());
    assert_eq!(tombstone.state.shadowed_edits().len(), 1);

    sync(&mut a, &mut b);
    assert_eq!(event(&a).expect("conflict log reached A").state.shadowed_edits().len(), 1);
    let cut = stable(&a, &b);
    assert_eq!(collect(&a, &cut, Duration::ZERO).records_purged, 1);
    assert_eq!(collect(&b, &cut, Duration::ZERO).records_purged, 1);
    assert_eq!(a.snapshot(), b.snapshot());
}

#[test]
fn a_cut_this_replica_has_not_seen_is_refused() {
    let mut a = SqliteReplica::new();
    let mut b = SqliteReplica::new();
    write(&mut a, set_alarm("a1", "trigger", -900));
    write(&mut b, set_alarm("a1", "trigger", -600));
    let error = a.store.collect_garbage(SPACE, &b.version_vector(), Duration::ZERO);
    assert!(matches!(error, Err(almanac_core::Error::InvalidInput(_))), "{error:?}");
    sync(&mut a, &mut b);
}
