//! Convergence property tests: random transactions on several replicas, random delta exchange
//! with duplication and reordering; afterwards every replica has identical state and identical
//! conflicts. `PROPTEST_CASES` overrides the number of cases (`make soak` runs tens of thousands).

use almanac_core::crdt::Write;
use almanac_core::{Delta, Error, Operation, RecordKey, Value};
use proptest::prelude::*;

use crate::support::{MemoryReplica, Snapshot, SqliteReplica, TestReplica};

const REPLICAS: usize = 3;

#[derive(Clone, Debug)]
enum Step {
    /// A local transaction on one replica, at the given device clock.
    Transact { replica: usize, clock: u64, writes: Vec<(u8, Write)> },
    /// `from` computes what `to` lacks and puts it on the network.
    Send { from: usize, to: usize },
    /// The network delivers one queued delta (chosen by index) and may keep a duplicate.
    Deliver { pick: usize, duplicate: bool },
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
        3 => (any::<prop::sample::Index>(), any::<bool>())
            .prop_map(|(pick, duplicate)| Step::Deliver { pick: pick.index(usize::MAX), duplicate }),
    ]
}

/// Runs the steps, checks convergence and returns the converged state.
fn run<R: TestReplica>(mut replicas: Vec<R>, steps: &[Step]) -> Result<Snapshot, TestCaseError> {
    let mut network: Vec<(usize, Delta)> = Vec::new();
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
                match r.commit(&operations) {
                    Ok(_) => {}
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
            Step::Deliver { pick, duplicate } => {
                if network.is_empty() {
                    continue;
                }
                let index = pick % network.len();
                let (to, delta) =
                    if *duplicate { network[index].clone() } else { network.remove(index) };
                replicas[to].apply(&delta).map_err(fail)?;
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
