//! Yrs as a calendar app uses it: one `Doc` per calendar with a root map `events` of nested
//! maps; each transaction's update (`encode_update_v1`) appended to the log; sync as Yjs does it
//! (state vector one way, the other's state vector and the diff back, the last diff out).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use jiff::Timestamp;
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{Any, Doc, In, Map, MapPrelim, MapRef, Out, ReadTxn, StateVector, Transact, Update};

use super::{Calendar, Log, Persist, SyncStats};
use crate::data::{Event, Expander, Field};

/// A client id as `Doc::new` makes one: 53 random bits (see `super::peer_id`).
fn client_id(replica: u64) -> u64 {
    super::peer_id(replica, 0) & ((1 << 53) - 1)
}

pub struct Yrs {
    doc: Doc,
    events: MapRef,
    log: Log,
}

fn text(map: &MapRef, txn: &impl ReadTxn, field: &str) -> Option<String> {
    match map.get(txn, field)? {
        Out::Any(Any::String(s)) => Some(s.to_string()),
        _ => None,
    }
}

impl Yrs {
    fn with_doc(doc: Doc, log: Log) -> Yrs {
        let events = doc.get_or_insert_map("events");
        Yrs { doc, events, log }
    }

    fn apply(&mut self, update: &[u8]) {
        let decoded = Update::decode_v1(update).expect("decode");
        self.doc.transact_mut().apply_update(decoded).expect("apply");
        self.log.append(update);
    }
}

impl Calendar for Yrs {
    const NAME: &'static str = "yrs";

    fn create(dir: &Path, name: &str, replica: u64, persist: Persist) -> Self {
        Yrs::with_doc(Doc::with_client_id(client_id(replica)), Log::new(dir, name, persist))
    }

    fn open(path: &Path) -> Self {
        let bytes = std::fs::read(path).expect("read");
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut calendar = Yrs::with_doc(Doc::new(), Log::new(dir, "opened", Persist::Memory));
        calendar.apply(&bytes);
        calendar
    }

    fn add_events(&mut self, events: &[Event]) {
        let update = {
            let mut txn = self.doc.transact_mut();
            for event in events {
                let fields: MapPrelim = event
                    .fields()
                    .into_iter()
                    .map(|(k, v)| {
                        let value = match v {
                            Field::Text(t) => Any::String(Arc::from(t)),
                            Field::Null => Any::Null,
                        };
                        (k, In::from(value))
                    })
                    .collect();
                self.events.insert(&mut txn, event.id.as_str(), fields);
            }
            txn.encode_update_v1()
        };
        self.log.append(&update);
    }

    fn set_field(&mut self, id: &str, field: &str, value: &str) {
        let update = {
            let mut txn = self.doc.transact_mut();
            let Some(Out::YMap(event)) = self.events.get(&txn, id) else { panic!("no event {id}") };
            event.insert(&mut txn, field, value);
            txn.encode_update_v1()
        };
        self.log.append(&update);
    }

    fn occurrences(&mut self, from: Timestamp, to: Timestamp) -> usize {
        let mut expander = Expander::default();
        let txn = self.doc.transact();
        self.events
            .iter(&txn)
            .map(|(_, value)| match value {
                Out::YMap(event) => {
                    let timing = text(&event, &txn, "timing").unwrap_or_default();
                    let rule = text(&event, &txn, "rule");
                    expander.count(&timing, rule.as_deref(), from, to)
                }
                _ => 0,
            })
            .sum()
    }

    fn full_state(&mut self) -> Vec<u8> {
        self.doc.transact().encode_state_as_update_v1(&StateVector::default())
    }

    fn compact(&mut self) -> PathBuf {
        let full = self.full_state();
        self.log.compact(&full)
    }

    fn disk_bytes(&self) -> u64 {
        self.log.bytes()
    }

    fn sync(a: &mut Self, b: &mut Self) -> SyncStats {
        let mut stats = SyncStats { messages: 3, ..SyncStats::default() };
        // a → b: a's state vector.
        let a_sv = a.doc.transact().state_vector().encode_v1();
        stats.a_to_b += a_sv.len();
        // b → a: b's state vector and what a lacks.
        let (b_sv, for_a) = {
            let txn = b.doc.transact();
            let sv = StateVector::decode_v1(&a_sv).expect("sv");
            (txn.state_vector().encode_v1(), txn.encode_diff_v1(&sv))
        };
        stats.b_to_a += b_sv.len() + for_a.len();
        a.apply(&for_a);
        // a → b: what b lacks.
        let for_b = {
            let sv = StateVector::decode_v1(&b_sv).expect("sv");
            a.doc.transact().encode_diff_v1(&sv)
        };
        stats.a_to_b += for_b.len();
        b.apply(&for_b);
        stats
    }

    fn replicate(&mut self, dir: &Path, name: &str, replica: u64, persist: Persist) -> Self {
        let full = self.full_state();
        let mut other = Yrs::create(dir, name, replica, persist);
        other.apply(&full);
        other
    }

    fn foreign_writers(&mut self, count: usize) {
        for device in 0..count {
            // A Yrs nested map is identified by the item that created it: a writer must hold
            // the event's history before it can edit the event.
            let base = self.full_state();
            let writer = Doc::with_client_id(client_id(1_000_000 + device as u64));
            let events = writer.get_or_insert_map("events");
            let update = {
                let mut txn = writer.transact_mut();
                txn.apply_update(Update::decode_v1(&base).expect("decode")).expect("apply");
                let id = format!("event-{:06}", device % 100);
                let Some(Out::YMap(event)) = events.get(&txn, &id) else { panic!("no {id}") };
                event.insert(&mut txn, "notes", format!("seen by device {device}"));
                txn.encode_update_v1()
            };
            self.apply(&update);
        }
    }

    fn version_bytes(&mut self) -> usize {
        self.doc.transact().state_vector().encode_v1().len()
    }

    fn contents(&mut self) -> BTreeMap<String, BTreeMap<String, String>> {
        let txn = self.doc.transact();
        self.events
            .iter(&txn)
            .map(|(id, value)| {
                let fields = match value {
                    Out::YMap(event) => {
                        event.iter(&txn).map(|(k, v)| (k.to_owned(), format!("{v:?}"))).collect()
                    }
                    _ => BTreeMap::new(),
                };
                (id.to_owned(), fields)
            })
            .collect()
    }
}
