//! Automerge as a calendar app uses it: one `AutoCommit` document per calendar with
//! `events: Map<id, Map<field, value>>`; each commit's `save_incremental` appended to the log;
//! sync through Automerge's own sync protocol, with one `sync::State` kept per peer (as its docs
//! ask), every message encoded and decoded.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use automerge::sync::{self, SyncDoc};
use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, ValueRef};
use jiff::Timestamp;

use super::{Calendar, Log, Persist, SyncStats};
use crate::data::{Event, Expander, Field};

pub struct Automerge {
    doc: AutoCommit,
    events: ObjId,
    log: Log,
    replica: u64,
    peers: HashMap<u64, sync::State>,
}

/// An actor id as `ActorId::random` makes one: 16 bytes (see `super::peer_id`).
fn actor(replica: u64) -> ActorId {
    let mut bytes = super::peer_id(replica, 0).to_be_bytes().to_vec();
    bytes.extend_from_slice(&super::peer_id(replica, 1).to_be_bytes());
    ActorId::from(bytes)
}

fn events_obj(doc: &AutoCommit) -> ObjId {
    match doc.get(ROOT, "events").expect("read") {
        Some((_, id)) => id,
        None => panic!("no events map"),
    }
}

impl Automerge {
    fn persist(&mut self) {
        let chunk = self.doc.save_incremental();
        self.log.append(&chunk);
    }

    fn text(&self, obj: &ObjId, field: &str) -> Option<String> {
        let (value, _) = self.doc.get(obj, field).ok()??;
        value.as_str().map(str::to_owned)
    }

    fn event(&self, id: &str) -> ObjId {
        match self.doc.get(&self.events, id).expect("read") {
            Some((_, obj)) => obj,
            None => panic!("no event {id}"),
        }
    }
}

impl Calendar for Automerge {
    const NAME: &'static str = "automerge";

    fn create(dir: &Path, name: &str, replica: u64, persist: Persist) -> Self {
        let mut doc = AutoCommit::new().with_actor(actor(replica));
        let events = doc.put_object(ROOT, "events", ObjType::Map).expect("events");
        doc.commit();
        let mut calendar = Automerge {
            doc,
            events,
            log: Log::new(dir, name, persist),
            replica,
            peers: HashMap::new(),
        };
        calendar.persist();
        calendar
    }

    fn open(path: &Path) -> Self {
        let bytes = std::fs::read(path).expect("read");
        let doc = AutoCommit::load(&bytes).expect("load");
        let events = events_obj(&doc);
        let dir = path.parent().unwrap_or(Path::new("."));
        Automerge {
            doc,
            events,
            log: Log::new(dir, "opened", Persist::Memory),
            replica: 0,
            peers: HashMap::new(),
        }
    }

    fn add_events(&mut self, events: &[Event]) {
        for event in events {
            let obj = self.doc.put_object(&self.events, &event.id, ObjType::Map).expect("event");
            for (field, value) in event.fields() {
                match value {
                    Field::Text(text) => self.doc.put(&obj, field, text),
                    Field::Null => self.doc.put(&obj, field, ScalarValue::Null),
                }
                .expect("put");
            }
        }
        self.doc.commit();
        self.persist();
    }

    fn set_field(&mut self, id: &str, field: &str, value: &str) {
        let obj = self.event(id);
        self.doc.put(&obj, field, value).expect("put");
        self.doc.commit();
        self.persist();
    }

    fn occurrences(&mut self, from: Timestamp, to: Timestamp) -> usize {
        let mut expander = Expander::default();
        let objects: Vec<ObjId> = self
            .doc
            .map_range(&self.events, ..)
            .filter(|item| matches!(item.value, ValueRef::Object(ObjType::Map)))
            .map(|item| item.id())
            .collect();
        objects
            .iter()
            .map(|obj| {
                let timing = self.text(obj, "timing").unwrap_or_default();
                let rule = self.text(obj, "rule");
                expander.count(&timing, rule.as_deref(), from, to)
            })
            .sum()
    }

    fn full_state(&mut self) -> Vec<u8> {
        self.doc.save()
    }

    fn compact(&mut self) -> PathBuf {
        let full = self.doc.save();
        self.log.compact(&full)
    }

    fn disk_bytes(&self) -> u64 {
        self.log.bytes()
    }

    fn sync(a: &mut Self, b: &mut Self) -> SyncStats {
        let mut a_state = a.peers.remove(&b.replica).unwrap_or_default();
        let mut b_state = b.peers.remove(&a.replica).unwrap_or_default();
        let mut stats = SyncStats::default();
        loop {
            let a_msg = a.doc.sync().generate_sync_message(&mut a_state).map(|m| m.encode());
            if let Some(bytes) = &a_msg {
                stats.a_to_b += bytes.len();
                stats.messages += 1;
                let message = sync::Message::decode(bytes).expect("decode");
                b.doc.sync().receive_sync_message(&mut b_state, message).expect("receive");
            }
            let b_msg = b.doc.sync().generate_sync_message(&mut b_state).map(|m| m.encode());
            if let Some(bytes) = &b_msg {
                stats.b_to_a += bytes.len();
                stats.messages += 1;
                let message = sync::Message::decode(bytes).expect("decode");
                a.doc.sync().receive_sync_message(&mut a_state, message).expect("receive");
            }
            if a_msg.is_none() && b_msg.is_none() {
                break;
            }
        }
        a.persist();
        b.persist();
        a.peers.insert(b.replica, a_state);
        b.peers.insert(a.replica, b_state);
        stats
    }

    fn replicate(&mut self, dir: &Path, name: &str, replica: u64, persist: Persist) -> Self {
        let full = self.doc.save();
        let mut doc = AutoCommit::load(&full).expect("load").with_actor(actor(replica));
        let mut log = Log::new(dir, name, persist);
        log.append(&full);
        // Everything loaded is in the log already.
        doc.save_incremental();
        let events = events_obj(&doc);
        Automerge { doc, events, log, replica, peers: HashMap::new() }
    }

    fn foreign_writers(&mut self, count: usize) {
        for device in 0..count {
            let mut writer = self.doc.fork().with_actor(actor(1_000_000 + device as u64));
            let obj = self.event(&format!("event-{:06}", device % 100));
            writer.put(&obj, "notes", format!("seen by device {device}")).expect("put");
            writer.commit();
            self.doc.merge(&mut writer).expect("merge");
        }
        self.persist();
    }

    fn version_bytes(&mut self) -> usize {
        // What a replica says it has: its heads (32-byte hashes), as in a sync message.
        self.doc.get_heads().len() * 32
    }

    fn contents(&mut self) -> BTreeMap<String, BTreeMap<String, String>> {
        let ids: Vec<(String, ObjId)> = self
            .doc
            .map_range(&self.events, ..)
            .map(|item| (item.key.to_string(), item.id()))
            .collect();
        ids.into_iter()
            .map(|(id, obj)| {
                let fields = self
                    .doc
                    .map_range(&obj, ..)
                    .map(|item| (item.key.to_string(), format!("{:?}", item.value)))
                    .collect();
                (id, fields)
            })
            .collect()
    }
}
