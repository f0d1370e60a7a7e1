//! Convergence property tests: random transactions on several replicas, random delta exchange
//! with duplication, reordering and deltas delivered to a replica they were not computed for;
//! afterwards every replica has identical state and identical conflicts, **and nothing anyone
//! wrote is lost**: every field or member value whose write was not replaced by a later write
//! that had seen it is still there (shown, a conflict candidate, or kept by a tombstone for
//! restore). `PROPTEST_CASES` overrides the number of cases (`make soak` runs tens of thousands).

use almanac_core::crdt::{Dot, FieldPath, Write};
use almanac_core::{Delta, Error, Operation, RecordKey, Value, VersionVector};
use proptest::prelude::*;

use crate::support::{MemoryReplica, Snapshot, SqliteReplica, TestReplica};

const REPLICAS: usize = 3;

#[derive(Clone, Debug)]
enum Step {
    /// A local transaction on one replica, at the given device clock.
    Transact { replica: usize, clock: u64, writes: Vec<(u8, Write)> },
    /// `from` computes what `to` lacks and puts it on the network.
    Send { from: usize, to: usize },
    /// The network delivers one queued delta (chosen by index) and may keep a duplicate; it
    /// may also hand it to another replica than the one it was computed for.
    Deliver { pick: usize, duplicate: bool, misdirect: Option<usize> },
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        (0i64..4).prop_map(Value::Int),
        "[ab]{1,2}".prop_map(Value::Text),
        Just(Value::Null),
    ]
}

fn write() -> impl Strategy<Value = Write> {
    let field = prop_oneof![Just("title"), Just("location"), Just("notes")].prop_map(String::from);
    let key = prop_oneof![Just("x"), Just("y")].prop_map(String::from);
    let member_field = prop_oneof![Just("status"), Just("role")].prop_map(String::from);
    prop_oneof![
        6 => (field.clone(), value()).prop_map(|(field, value)| Write::Set { field, value }),
        3 => (key.clone(), member_field, value()).prop_map(|(key, member_field, value)| Write::SetMember {
            field: "attendees".into(), key, member_field, value
        }),
        2 => key.prop_map(|key| Write::RemoveMember { field: "attendees".into(), key }),
        1 => (0i64..10).prop_map(|v| Write::Min { field: "truncate_at".into(), value: Value::Int(v) }),
        1 => (0i64..10).prop_map(|v| Write::Max { field: "acknowledged".into(), value: Value::Int(v) }),
        2 => Just(Write::Delete),
        2 => Just(Write::Restore),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..REPLICAS, 0u64..3_000, prop::collection::vec((0u8..3, write()), 1..4))
            .prop_map(|(replica, clock, writes)| Step::Transact { replica, clock, writes }),
        3 => (0..REPLICAS, 0..REPLICAS).prop_map(|(from, to)| Step::Send { from, to }),
        3 => (any::<prop::sample::Index>(), any::<bool>(), prop::option::weighted(0.2, 0..REPLICAS))
            .prop_map(|(pick, duplicate, misdirect)| Step::Deliver { pick: pick.index(usize::MAX), duplicate, misdirect }),
    ]
}

/// A value some user wrote, and whether a later write that had seen it replaced it.
struct Written {
    dot: Dot,
    record: String,
    path: FieldPath,
    replaced: bool,
}

/// What the writes of a transaction replace: earlier writes of the same register (or, for a
/// member removal, of that member) that the writer had seen.
fn note_writes(log: &mut Vec<Written>, dot: Dot, seen: &VersionVector, operations: &[Operation]) {
    for operation in operations {
        let record = operation.key.id.clone();
        let (path, removes_member) = match &operation.write {
            Write::Set { field, .. } => (Some(FieldPath::Register(field.clone())), None),
            Write::SetMember { field, key, member_field, .. } => {
                (Some(FieldPath::Member(field.clone(), key.clone(), member_field.clone())), None)
            }
            Write::RemoveMember { field, key } => (None, Some((field.clone(), key.clone()))),
            _ => (None, None),
        };
        for earlier in log.iter_mut().filter(|w| w.record == record && seen.contains(&w.dot)) {
            let same_register = path.as_ref() == Some(&earlier.path);
            let same_member = match (&removes_member, &earlier.path) {
                (Some((field, key)), FieldPath::Member(f, k, _)) => field == f && key == k,
                _ => false,
            };
            earlier.replaced |= same_register || same_member;
        }
        if let Some(path) = path {
            log.push(Written { dot, record, path, replaced: false });
        }
    }
}

/// Every write not replaced must still be in its register on every replica.
fn check_nothing_lost<R: TestReplica>(
    replicas: &[R],
    log: &[Written],
) -> Result<(), TestCaseError> {
    for replica in replicas {
        for written in log.iter().filter(|w| !w.replaced) {
            let record = replica.record(&RecordKey::new("events", written.record.clone()));
            let Some(record) = record else {
                return Err(TestCaseError::fail(format!("record {} is gone", written.record)));
            };
            let entries: Vec<Dot> = match &written.path {
                FieldPath::Register(field) => record
                    .state
                    .registers()
                    .get(field.as_str())
                    .map(|r| r.entries().iter().map(|e| e.dot).collect())
                    .unwrap_or_default(),
                FieldPath::Member(field, key, member_field) => record
                    .state
                    .maps()
                    .get(field.as_str())
                    .and_then(|m| m.get(key))
                    .and_then(|m| m.fields().get(member_field.as_str()))
                    .map(|r| r.entries().iter().map(|e| e.dot).collect())
                    .unwrap_or_default(),
                _ => Vec::new(),
            };
            prop_assert!(
                entries.contains(&written.dot),
                "the write {:?} to {}/{:?} was lost (nobody replaced it)",
                written.dot,
                written.record,
                written.path
            );
        }
    }
    Ok(())
}

/// Runs the steps, checks convergence and that nothing was lost; returns the converged state.
fn run<R: TestReplica>(mut replicas: Vec<R>, steps: &[Step]) -> Result<Snapshot, TestCaseError> {
    let mut network: Vec<(usize, Delta)> = Vec::new();
    let mut log: Vec<Written> = Vec::new();
    for step in steps {
        match step {
            Step::Transact { replica, clock, writes } => {
                let r = &mut replicas[*replica];
                r.clock().set(*clock);
                let operations: Vec<Operation> = writes
                    .iter()
                    .map(|(record, write)| Operation {
                        key: RecordKey::new("events", format!("e{record}")),
                        write: write.clone(),
                    })
                    .collect();
                let before = r.snapshot();
                let seen = r.version_vector();
                let dot = Dot { replica: r.replica_id(), counter: seen.get(&r.replica_id()) + 1 };
                match r.commit(&operations) {
                    Ok(changes) => {
                        if !changes.records.is_empty() {
                            let mut seen = seen;
                            seen.advance(dot.replica, dot.counter);
                            note_writes(&mut log, dot, &seen, &operations);
                        }
                    }
                    Err(Error::RecordDeleted(_) | Error::RecordNotFound(_)) => {
                        prop_assert_eq!(
                            r.snapshot(),
                            before,
                            "a refused transaction changed state"
                        );
                    }
                    Err(other) => {
                        return Err(TestCaseError::fail(format!("commit failed: {other}")));
                    }
                }
            }
            Step::Send { from, to } => {
                let since = replicas[*to].version_vector();
                let delta = replicas[*from].delta_since(&since).map_err(fail)?;
                network.push((*to, delta));
            }
            Step::Deliver { pick, duplicate, misdirect } => {
                if network.is_empty() {
                    continue;
                }
                let index = pick % network.len();
                let (to, delta) =
                    if *duplicate { network[index].clone() } else { network.remove(index) };
                let to = misdirect.unwrap_or(to);
                let before = replicas[to].snapshot();
                match replicas[to].apply(&delta) {
                    Ok(_) => {}
                    // A delta computed for another replica may assume writes this one lacks:
                    // refused whole, nothing changed.
                    Err(Error::DeltaNotApplicable) if misdirect.is_some() => {
                        prop_assert_eq!(
                            replicas[to].snapshot(),
                            before,
                            "a refused delta changed state"
                        );
                    }
                    Err(other) => return Err(fail(other)),
                }
            }
        }
    }
    // Deliver what is left in reverse order (late, reordered), then sync everyone to quiescence.
    while let Some((to, delta)) = network.pop() {
        replicas[to].apply(&delta).map_err(fail)?;
    }
    for _ in 0..2 {
        for from in 0..REPLICAS {
            for to in 0..REPLICAS {
                if from != to {
                    let since = replicas[to].version_vector();
                    let delta = replicas[from].delta_since(&since).map_err(fail)?;
                    replicas[to].apply(&delta).map_err(fail)?;
                }
            }
        }
    }
    check_nothing_lost(&replicas, &log)?;
    let first = replicas[0].snapshot();
    let first_conflicts = replicas[0].conflicts();
    for replica in &mut replicas[1..] {
        prop_assert_eq!(&replica.snapshot(), &first);
        prop_assert_eq!(&replica.conflicts(), &first_conflicts);
        // Once converged, nobody has anything for anybody.
        prop_assert!(replica.delta_since(&first.0).map_err(fail)?.is_empty());
    }
    Ok(first)
}

fn fail(error: Error) -> TestCaseError {
    TestCaseError::fail(error.to_string())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn replicas_converge_after_random_transactions_and_delivery(steps in prop::collection::vec(step(), 1..60)) {
        run((1..=REPLICAS as u8).map(MemoryReplica::new).collect(), &steps)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn sqlite_replicas_converge_to_what_the_memory_engine_computes(steps in prop::collection::vec(step(), 1..40)) {
        let on_disk: Vec<SqliteReplica> = (0..REPLICAS).map(|_| SqliteReplica::new()).collect();
        let in_memory = on_disk.iter().map(|r| MemoryReplica::with_id(r.store.replica_id())).collect();
        prop_assert_eq!(run(on_disk, &steps)?, run(in_memory, &steps)?);
    }
}
