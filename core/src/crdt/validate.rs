//! Structural checks on a received [`Delta`], before any of it is merged.
//!
//! Decoding proves a delta is well-formed bytes; it does not prove the delta is one that a
//! correct replica could have sent. The merge rules assume more: every entry's dot is covered by
//! the delta's own version vector (otherwise the receiver would learn of a write without
//! recording it as seen), registers hold each dot once, names obey the limits local writes obey.
//! A delta breaking these comes from a bug or a hostile peer, and merging it could corrupt the
//! store in ways later syncs cannot repair, so it is refused whole. Pure: no I/O, no store.

use std::collections::BTreeSet;

use super::{Delta, Dot, MvRegister, RecordDelta, RecordKey};
use crate::error::{Error, Result};
use crate::replica::MAX_NAME_BYTES;

/// Checks that `delta` could have been produced by a correct replica; see the module docs.
///
/// Refuses, as [`Error::Decode`] naming the offending record: an entry whose dot is outside
/// `delta.context` or has counter 0; an empty or over-long ([`MAX_NAME_BYTES`]) collection, id,
/// field, member key or member field name; records not in strictly ascending key order; a record
/// delta with nothing in it; a register holding two entries with the same dot.
pub fn validate_delta(delta: &Delta) -> Result<()> {
    // `since` is deliberately not checked against `context`: in two-way sync the receiver asks
    // with its own version vector, which holds its writes the sender has not seen yet, so a
    // correct delta's `since` is often not below its `context`. `apply` checks `since` against
    // the receiver instead.
    let mut previous: Option<&RecordKey> = None;
    for (key, record) in &delta.records {
        if let Some(previous) = previous.filter(|previous| *previous >= key) {
            // `apply` and the stores rely on one entry per key; sorted order makes that checkable
            // in one pass and keeps deltas canonical.
            return Err(refused(format!(
                "record {key} comes after {previous}: records must be in strictly ascending key \
                 order, without duplicates"
            )));
        }
        previous = Some(key);
        validate_record(delta, key, record)
            .map_err(|problem| refused(format!("record {key}: {problem}")))?;
    }
    Ok(())
}

fn refused(detail: String) -> Error {
    Error::Decode { what: "a delta", detail }
}

/// The first problem with one record of `delta`, in words.
fn validate_record(
    delta: &Delta,
    key: &RecordKey,
    record: &RecordDelta,
) -> std::result::Result<(), String> {
    name("collection name", &key.collection)?;
    name("record id", &key.id)?;
    if *record == RecordDelta::default() {
        // A correct sender only lists records with something the receiver lacks.
        return Err("the record delta is empty".into());
    }
    // The names of registers are written only for an error: formatting one for every register
    // of every record was a tenth of a joining device's validation.
    if let Some(lifecycle) = &record.lifecycle {
        distinct_dots(|| "the lifecycle".into(), lifecycle)?;
    }
    for (field, register) in &record.registers {
        name("field name", field)?;
        distinct_dots(|| format!("field {field:?}"), register)?;
    }
    for (field, members) in &record.maps {
        name("field name", field)?;
        for (member, parts) in members {
            name("member key", member)?;
            distinct_dots(|| format!("member {member:?} of {field:?}"), parts.presence())?;
            for (member_field, register) in parts.fields() {
                name("member field name", member_field)?;
                distinct_dots(
                    || format!("field {member_field:?} of member {member:?} of {field:?}"),
                    register,
                )?;
            }
        }
    }
    for field in record.minimums.keys().chain(record.maximums.keys()) {
        name("field name", field)?;
    }
    for dot in record.dots() {
        // Counters start at 1; a 0 would count as seen by every version vector, so its write
        // could never be told apart from "nothing written".
        if dot.counter == 0 {
            return Err(format!("write {dot:?} has counter 0, which no replica hands out"));
        }
        if !delta.context.contains(&dot) {
            return Err(format!("write {dot:?} is outside the delta's own version vector"));
        }
    }
    Ok(())
}

/// The same rule local writes follow (`replica::validate`), so remote data cannot carry names a
/// local write would be refused.
fn name(what: &str, name: &str) -> std::result::Result<(), String> {
    if name.is_empty() {
        Err(format!("a {what} is empty"))
    } else if name.len() > MAX_NAME_BYTES {
        Err(format!("a {what} is {} bytes long; the limit is {MAX_NAME_BYTES}", name.len()))
    } else {
        Ok(())
    }
}

/// One dot names one write, which has one value: two entries with the same dot would make the
/// shown value depend on which copy a replica happened to keep.
fn distinct_dots<T: Clone>(
    what: impl FnOnce() -> String,
    register: &MvRegister<T>,
) -> std::result::Result<(), String> {
    if register.entries().len() < 2 {
        // Nearly every register: nothing to compare, and no set to allocate.
        return Ok(());
    }
    let mut dots: BTreeSet<Dot> = BTreeSet::new();
    for entry in register.entries() {
        if !dots.insert(entry.dot) {
            return Err(format!("{} holds two entries for write {:?}", what(), entry.dot));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::crdt::testing::{dot, vv};
    use crate::crdt::{Direction, Entry, Extremum, FieldName, Hlc, Lifecycle, Member, Value};

    fn hlc(millis: u64) -> Hlc {
        Hlc { millis, logical: 0 }
    }

    /// A record written by replica 1 with write 1 (creation) and write 2 (an attendee).
    fn record(first: u64) -> RecordDelta {
        let mut lifecycle = MvRegister::default();
        lifecycle.write(Lifecycle::Live, dot(1, first), hlc(first));
        let mut title = MvRegister::default();
        title.write(Value::from("Planning"), dot(1, first), hlc(first));
        let mut member = Member::default();
        member.set("status", Value::from("accepted"), dot(1, first + 1), hlc(first + 1));
        let mut sequence = Extremum::default();
        let entry = Entry { dot: dot(1, first), hlc: hlc(first), value: Value::Int(1) };
        sequence.offer(&entry, Direction::Max);
        RecordDelta {
            lifecycle: Some(lifecycle),
            registers: BTreeMap::from([(FieldName::new("title"), title)]),
            maps: BTreeMap::from([(
                FieldName::new("attendees"),
                BTreeMap::from([("mailto:x@example.com".to_owned(), member)]),
            )]),
            minimums: BTreeMap::new(),
            maximums: BTreeMap::from([(FieldName::new("sequence"), sequence)]),
        }
    }

    /// Two records, replica 1's writes 1 to 4, sent to a replica that had seen nothing.
    fn valid() -> Delta {
        Delta {
            space: crate::crdt::SpaceId::new("s").expect("space id"),
            since: vv(&[]),
            context: vv(&[(1, 4)]),
            hlc: hlc(4),
            records: vec![
                (RecordKey::new("events", "a"), record(1)),
                (RecordKey::new("events", "b"), record(3)),
            ],
        }
    }

    /// `validate_delta` refuses `delta`, and its message names `naming` and says `saying`.
    fn assert_refused(delta: &Delta, naming: &str, saying: &str) {
        match validate_delta(delta) {
            Err(Error::Decode { what: "a delta", detail }) => {
                assert!(detail.contains(naming), "{detail:?} does not name {naming:?}");
                assert!(detail.contains(saying), "{detail:?} does not say {saying:?}");
            }
            other => panic!("expected a refusal saying {saying:?}, got {other:?}"),
        }
    }

    #[test]
    fn a_delta_a_correct_replica_sends_is_accepted() -> Result<()> {
        validate_delta(&valid())?;
        let mut later = valid();
        later.since = vv(&[(1, 2)]);
        later.records.remove(0);
        validate_delta(&later)?;
        validate_delta(&Delta { records: Vec::new(), ..valid() })
    }

    /// Two-way sync: each side asks with its own version vector, which holds writes the other
    /// side has not seen, so `since` is not below `context` in a perfectly correct delta.
    #[test]
    fn a_delta_between_replicas_with_concurrent_writes_is_accepted() -> Result<()> {
        use crate::crdt::{ReplicaId, Write};
        use crate::replica::Operation;
        use crate::storage::memory::MemoryStore;

        let mut a = MemoryStore::new(ReplicaId::from_bytes([1; 16]));
        let mut b = MemoryStore::new(ReplicaId::from_bytes([2; 16]));
        let space = crate::crdt::SpaceId::new("s")?;
        let set = |id: &str, title: &str| Operation {
            key: RecordKey::new("events", id),
            write: Write::Set { field: "title".into(), value: Value::from(title) },
        };
        a.commit(&space, &[set("a", "from A")], 1_000)?;
        b.commit(&space, &[set("b", "from B")], 2_000)?;
        let to_b = a.delta_since(&space, &b.version_vector(&space))?;
        assert!(!to_b.context.dominates(&to_b.since));
        validate_delta(&to_b)?;
        b.apply(&to_b, 3_000)?;
        let to_a = b.delta_since(&space, &a.version_vector(&space))?;
        validate_delta(&to_a)
    }

    #[test]
    fn refuses_an_entry_outside_the_context() {
        let mut delta = valid();
        delta.context = vv(&[(1, 3)]);
        assert_refused(&delta, "events/b", "outside the delta's own version vector");
    }

    #[test]
    fn refuses_empty_and_over_long_names() {
        let long = "x".repeat(MAX_NAME_BYTES + 1);
        let renamed = |rename: &dyn Fn(&mut RecordKey, &mut RecordDelta)| {
            // One record, so a renamed key cannot also break the key order.
            let mut delta = valid();
            delta.records.remove(0);
            let (key, record) = &mut delta.records[0];
            rename(key, record);
            delta
        };
        let cases: Vec<(Delta, &str)> = vec![
            (renamed(&|key, _| key.collection = String::new()), "collection name is empty"),
            (renamed(&|key, _| key.id.clone_from(&long)), "record id is 1025 bytes"),
            (
                renamed(&|_, record| {
                    let title = record.registers.remove("title").expect("title");
                    record.registers.insert(FieldName::new(""), title);
                }),
                "field name is empty",
            ),
            (
                renamed(&|_, record| {
                    let members = record.maps.remove("attendees").expect("attendees");
                    record.maps.insert(FieldName::from(&long), members);
                }),
                "field name is 1025 bytes",
            ),
            (
                renamed(&|_, record| {
                    let members = record.maps.get_mut("attendees").expect("attendees");
                    let member = members.remove("mailto:x@example.com").expect("member");
                    members.insert(String::new(), member);
                }),
                "member key is empty",
            ),
            (
                renamed(&|_, record| {
                    let members = record.maps.get_mut("attendees").expect("attendees");
                    let member = members.get_mut("mailto:x@example.com").expect("member");
                    member.set(&long, Value::Null, dot(1, 4), hlc(4));
                }),
                "member field name is 1025 bytes",
            ),
            (
                renamed(&|_, record| {
                    let sequence = record.maximums.remove("sequence").expect("sequence");
                    record.minimums.insert(FieldName::from(&long), sequence);
                }),
                "field name is 1025 bytes",
            ),
        ];
        for (delta, saying) in cases {
            assert_refused(&delta, &format!("record {}:", delta.records[0].0), saying);
        }
        // Exactly at the limit is fine.
        let at_limit = renamed(&|key, _| key.id = "x".repeat(MAX_NAME_BYTES));
        assert!(validate_delta(&at_limit).is_ok());
    }

    #[test]
    fn refuses_records_out_of_order_or_repeated() {
        let mut swapped = valid();
        swapped.records.swap(0, 1);
        assert_refused(&swapped, "events/a", "strictly ascending");
        let mut repeated = valid();
        repeated.records[1].0 = RecordKey::new("events", "a");
        assert_refused(&repeated, "events/a", "strictly ascending");
    }

    #[test]
    fn refuses_an_empty_record_delta() {
        let mut delta = valid();
        delta.records[1].1 = RecordDelta::default();
        assert_refused(&delta, "events/b", "empty");
    }

    #[test]
    fn refuses_a_register_holding_one_dot_twice() {
        // Sorted by stamp, the two copies of write 3 are not neighbours, so decoding keeps both.
        let entries = vec![
            Entry { dot: dot(1, 3), hlc: hlc(3), value: Value::from("x") },
            Entry { dot: dot(1, 4), hlc: hlc(4), value: Value::from("y") },
            Entry { dot: dot(1, 3), hlc: hlc(5), value: Value::from("z") },
        ];
        let register = MvRegister::from_entries(entries);
        assert_eq!(register.entries().len(), 3);
        let mut delta = valid();
        delta.records[1].1.registers.insert("title".into(), register);
        assert_refused(&delta, "events/b", "two entries for write");
    }

    #[test]
    fn refuses_a_dot_with_counter_zero() {
        let mut delta = valid();
        let mut title = MvRegister::default();
        title.write(Value::from("zero"), dot(1, 0), hlc(3));
        delta.records[1].1.registers.insert("title".into(), title);
        assert_refused(&delta, "events/b", "counter 0");
    }
}
