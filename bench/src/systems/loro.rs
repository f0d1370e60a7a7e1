//! Loro as a calendar app uses it: one `LoroDoc` per calendar with a root map `events` of
//! child maps; after each commit the updates since the last saved version vector appended to
//! the log; sync by version vectors (one way, the other's vector and the updates back, the last
//! updates out).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use loro::{Container, ExportMode, LoroDoc, LoroMap, LoroValue, ValueOrContainer, VersionVector};

use super::{Calendar, Log, Persist, SyncStats};
use crate::data::{Event, Expander, Field};

pub struct Loro {
    doc: LoroDoc,
    events: LoroMap,
    log: Log,
    saved: VersionVector,
}

fn text(map: &LoroMap, field: &str) -> Option<String> {
    match map.get(field)? {
        ValueOrContainer::Value(LoroValue::String(s)) => Some(s.to_string()),
        _ => None,
    }
}

fn child(value: ValueOrContainer) -> Option<LoroMap> {
    match value {
        ValueOrContainer::Container(Container::Map(map)) => Some(map),
        _ => None,
    }
}

impl Loro {
    fn with_doc(doc: LoroDoc, log: Log) -> Loro {
        let events = doc.get_map("events");
        let saved = doc.oplog_vv();
        Loro { doc, events, log, saved }
    }

    fn persist(&mut self) {
        let chunk = self.doc.export(ExportMode::updates(&self.saved)).expect("export");
        self.log.append(&chunk);
        self.saved = self.doc.oplog_vv();
    }

    fn event(&self, id: &str) -> LoroMap {
        self.events.get(id).and_then(child).unwrap_or_else(|| panic!("no event {id}"))
    }
}

impl Calendar for Loro {
    const NAME: &'static str = "loro";

    fn create(dir: &Path, name: &str, replica: u64, persist: Persist) -> Self {
        let doc = LoroDoc::new();
        doc.set_peer_id(super::peer_id(replica, 0)).expect("peer id");
        Loro::with_doc(doc, Log::new(dir, name, persist))
    }

    fn open(path: &Path) -> Self {
        let bytes = std::fs::read(path).expect("read");
        let doc = LoroDoc::from_snapshot(&bytes).expect("load");
        let dir = path.parent().unwrap_or(Path::new("."));
        Loro::with_doc(doc, Log::new(dir, "opened", Persist::Memory))
    }

    fn add_events(&mut self, events: &[Event]) {
        for event in events {
            let map = self.events.insert_container(&event.id, LoroMap::new()).expect("event");
            for (field, value) in event.fields() {
                match value {
                    Field::Text(t) => map.insert(field, t),
                    Field::Null => map.insert(field, LoroValue::Null),
                }
                .expect("insert");
            }
        }
        self.doc.commit();
        self.persist();
    }

    fn set_field(&mut self, id: &str, field: &str, value: &str) {
        self.event(id).insert(field, value).expect("insert");
        self.doc.commit();
        self.persist();
    }

    fn occurrences(&mut self, from: Timestamp, to: Timestamp) -> usize {
        let mut expander = Expander::default();
        let mut n = 0;
        self.events.for_each(|_, value| {
            if let Some(event) = child(value) {
                let timing = text(&event, "timing").unwrap_or_default();
                let rule = text(&event, "rule");
                n += expander.count(&timing, rule.as_deref(), from, to);
            }
        });
        n
    }

    fn full_state(&mut self) -> Vec<u8> {
        self.doc.export(ExportMode::Snapshot).expect("snapshot")
    }

    fn compact(&mut self) -> PathBuf {
        let full = self.full_state();
        self.saved = self.doc.oplog_vv();
        self.log.compact(&full)
    }

    fn disk_bytes(&self) -> u64 {
        self.log.bytes()
    }

    fn sync(a: &mut Self, b: &mut Self) -> SyncStats {
        let mut stats = SyncStats { messages: 3, ..SyncStats::default() };
        let a_vv = a.doc.oplog_vv().encode();
        stats.a_to_b += a_vv.len();
        let b_vv = b.doc.oplog_vv().encode();
        let theirs = VersionVector::decode(&a_vv).expect("vv");
        let for_a = b.doc.export(ExportMode::updates(&theirs)).expect("export");
        stats.b_to_a += b_vv.len() + for_a.len();
        a.doc.import(&for_a).expect("import");
        a.persist();
        let theirs = VersionVector::decode(&b_vv).expect("vv");
        let for_b = a.doc.export(ExportMode::updates(&theirs)).expect("export");
        stats.a_to_b += for_b.len();
        b.doc.import(&for_b).expect("import");
        b.persist();
        stats
    }

    fn replicate(&mut self, dir: &Path, name: &str, replica: u64, persist: Persist) -> Self {
        let full = self.full_state();
        let doc = LoroDoc::from_snapshot(&full).expect("load");
        doc.set_peer_id(super::peer_id(replica, 0)).expect("peer id");
        let mut log = Log::new(dir, name, persist);
        log.append(&full);
        Loro::with_doc(doc, log)
    }

    fn foreign_writers(&mut self, count: usize) {
        for device in 0..count {
            let writer = self.doc.fork();
            writer.set_peer_id(super::peer_id(1_000_000 + device as u64, 0)).expect("peer id");
            let id = format!("event-{:06}", device % 100);
            let event = writer.get_map("events").get(&id).and_then(child).expect("event");
            event.insert("notes", format!("seen by device {device}")).expect("insert");
            writer.commit();
            let change = writer.export(ExportMode::updates(&self.doc.oplog_vv())).expect("export");
            self.doc.import(&change).expect("import");
        }
        self.persist();
    }

    fn version_bytes(&mut self) -> usize {
        self.doc.oplog_vv().encode().len()
    }

    fn contents(&mut self) -> BTreeMap<String, BTreeMap<String, String>> {
        let mut out = BTreeMap::new();
        self.events.for_each(|id, value| {
            let mut fields = BTreeMap::new();
            if let Some(event) = child(value) {
                event.for_each(|k, v| {
                    fields.insert(k.to_owned(), format!("{:?}", v));
                });
            }
            out.insert(id.to_owned(), fields);
        });
        out
    }
}
