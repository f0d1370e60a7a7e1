//! Almanac through its public API: `Store` with the calendar view (the occurrence index), one
//! space per calendar, events created with `operations_for`, edits as one-field transactions,
//! sync through the protocol's sessions over an in-process channel.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};

use almanac_core::calendar::api::{NewEvent, operations_for};
use almanac_core::calendar::event::{End, Timing};
use almanac_core::calendar::recurrence::RecurrenceRule;
use almanac_core::calendar::time::{Duration, TimeValue};
use almanac_core::codec::{Kind, encode};
use almanac_core::crdt::Write;
use almanac_core::storage::memory::MemoryStore;
use almanac_core::sync::message::{Records, Vector, Want};
use almanac_core::sync::{MAX_VERSION, Message, Session, SessionConfig};
use almanac_core::{
    Durability, Operation, RecordKey, ReplicaId, SpaceId, Store, StoreOptions, Value, VersionVector,
};
use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::{Calendar, Persist, SyncStats};
use crate::data::{CALENDAR, Event};

pub struct Almanac {
    store: Store,
    path: PathBuf,
}

fn options(persist: Persist) -> StoreOptions {
    let durability = match persist {
        Persist::Synced => Durability::PowerLoss,
        Persist::Written | Persist::Memory => Durability::ProcessCrash,
    };
    StoreOptions { durability, ..StoreOptions::default() }
}

pub fn new_event(event: &Event) -> NewEvent {
    NewEvent {
        id: event.id.clone(),
        calendar: CALENDAR.into(),
        uid: None,
        timing: Timing {
            start: TimeValue::Zoned { local: event.local_start, zone: event.zone.into() },
            end: End::After(Duration { seconds: event.duration_secs, ..Duration::default() }),
        },
        rule: event.rule().map(|r| RecurrenceRule::parse(&r).expect("rule")),
        rdates: Vec::new(),
        exdates: Vec::new(),
        fields: BTreeMap::from([
            ("title".into(), Value::from(event.title.as_str())),
            ("location".into(), Value::from("Room 4")),
            ("notes".into(), Value::from("Bring the quarterly numbers.")),
            ("status".into(), Value::from("CONFIRMED")),
            ("availability".into(), Value::from("OPAQUE")),
            ("color".into(), Value::from("blue")),
            ("organizer".into(), Value::from("mailto:me@example.com")),
        ]),
        attendees: Vec::new(),
        alarms: Vec::new(),
        unknown_properties: Vec::new(),
    }
}

fn operations(events: &[Event]) -> Vec<Operation> {
    events.iter().flat_map(|e| operations_for(&new_event(e)).expect("operations")).collect()
}

fn config(peer: &Store) -> SessionConfig {
    let mut config = SessionConfig::new(vec![SpaceId::new(CALENDAR).expect("space")]);
    config.expected_peer = Some(peer.replica_id());
    config
}

/// Runs two sessions to the end over an in-process channel, as `sync_in_process` does, one
/// frame at a time; returns the longest chain of frames in which each was sent after the one
/// before it arrived. A frame's place in a chain is one more than the furthest its sender had
/// received when the frame was written (the frames a session writes before hearing anything,
/// its `Hello`, come first in theirs).
fn exchange(left: &mut Session<'_>, right: &mut Session<'_>) -> usize {
    let (mut to_right, mut to_left) = (VecDeque::new(), VecDeque::new());
    let (mut left_heard, mut right_heard, mut longest) = (0, 0, 0);
    written(left, 0, &mut to_right);
    written(right, 0, &mut to_left);
    while !(left.is_finished() && right.is_finished()) {
        let moved = !to_right.is_empty() || !to_left.is_empty();
        assert!(moved, "the session stalled with nothing left to send");
        longest = longest.max(deliver(&mut to_right, right, &mut right_heard, &mut to_left));
        longest = longest.max(deliver(&mut to_left, left, &mut left_heard, &mut to_right));
    }
    // Frames still in flight once both are finished (none in this protocol) count too.
    longest.max(to_right.iter().chain(&to_left).map(|(_, place)| *place).max().unwrap_or(0))
}

/// Frames in flight, each with its place in its chain.
type InFlight = VecDeque<(Vec<u8>, usize)>;

/// Queues what `session` wrote, each frame one place after the furthest it had `heard`.
fn written(session: &mut Session<'_>, heard: usize, out: &mut InFlight) {
    while let Some(frame) = session.poll_transmit() {
        out.push_back((frame, heard + 1));
    }
}

/// Hands `session` the next frame of `incoming` (unless it is finished) and queues its answers
/// on `outgoing`; returns the frame's place (0 if there was none).
fn deliver(
    incoming: &mut InFlight,
    session: &mut Session<'_>,
    heard: &mut usize,
    outgoing: &mut InFlight,
) -> usize {
    let Some((frame, place)) = incoming.pop_front() else { return 0 };
    if !session.is_finished() {
        session.receive(&frame).expect("sync");
        *heard = (*heard).max(place);
        written(session, *heard, outgoing);
    }
    place
}

fn file_bytes(path: &Path) -> u64 {
    ["", "-wal", "-shm"]
        .iter()
        .map(|s| std::fs::metadata(format!("{}{s}", path.display())).map_or(0, |m| m.len()))
        .sum()
}

impl Calendar for Almanac {
    const NAME: &'static str = "almanac";

    fn create(dir: &Path, name: &str, _replica: u64, persist: Persist) -> Self {
        let path = dir.join(format!("{name}.almanac"));
        let store = Store::open_with(&path, options(persist)).expect("open");
        store.join_space(CALENDAR).expect("join");
        Almanac { store, path }
    }

    fn open(path: &Path) -> Self {
        Almanac { store: Store::open(path).expect("open"), path: path.to_owned() }
    }

    fn add_events(&mut self, events: &[Event]) {
        self.store.commit(CALENDAR, &operations(events)).expect("commit");
    }

    fn set_field(&mut self, id: &str, field: &str, value: &str) {
        self.store.transaction(CALENDAR).set("events", id, field, value).commit().expect("edit");
    }

    fn occurrences(&mut self, from: Timestamp, to: Timestamp) -> usize {
        self.store.occurrences(from, to, &[CALENDAR], &TimeZone::UTC).expect("view").len()
    }

    /// What a device that has nothing receives: the records of every chunk a sync session
    /// sends it, in the form protocol 3 compresses (columns, decision 0047), inflated here so
    /// that the harness compresses every system's bytes alike.
    fn full_state(&mut self) -> Vec<u8> {
        let space = SpaceId::new(CALENDAR).expect("space");
        let config = SessionConfig::new(vec![space.clone()]);
        let mut session = Session::new(&self.store, config).expect("session");
        let nothing = Want { space, vector: Vector::Full(VersionVector::new()), resume: None };
        let hello = Message::Hello {
            min_version: MAX_VERSION,
            max_version: MAX_VERSION,
            replica: ReplicaId::from_bytes([0xEE; 16]),
            wants: 1,
            confirm: false,
            with: vec![nothing],
        };
        session.receive(&hello.encode().expect("hello")).expect("hello");
        let mut records = Vec::new();
        while let Some(frame) = session.poll_transmit() {
            if let Message::Chunk(chunk) = Message::decode(&frame).expect("frame") {
                let Records::Columns { bytes, .. } = chunk.records else {
                    panic!("a joining device's chunks travel in columns")
                };
                records.extend(miniz_oxide::inflate::decompress_to_vec(&bytes).expect("inflate"));
            }
        }
        records
    }

    fn compact(&mut self) -> PathBuf {
        self.store.compact().expect("compact");
        self.path.clone()
    }

    fn disk_bytes(&self) -> u64 {
        file_bytes(&self.path)
    }

    fn sync(a: &mut Self, b: &mut Self) -> SyncStats {
        let mut left = Session::new(&a.store, config(&b.store)).expect("session");
        let mut right = Session::new(&b.store, config(&a.store)).expect("session");
        let chain = exchange(&mut left, &mut right);
        let (from_a, from_b) = (left.report(), right.report());
        SyncStats {
            a_to_b: from_a.bytes_sent,
            b_to_a: from_b.bytes_sent,
            messages: from_a.frames_sent + from_b.frames_sent,
            chain: Some(chain),
        }
    }

    fn replicate(&mut self, dir: &Path, name: &str, replica: u64, persist: Persist) -> Self {
        let mut other = Almanac::create(dir, name, replica, persist);
        Almanac::sync(self, &mut other);
        other
    }

    fn foreign_writers(&mut self, count: usize) {
        // Almanac's records need no history: a writer that never saw the event can still
        // overwrite one of its fields, so each writer is a bare in-memory replica.
        let space = SpaceId::new(CALENDAR).expect("space");
        let mut queue = VecDeque::new();
        for device in 0..count {
            let mut id = [0u8; 16];
            id[..8].copy_from_slice(&(device as u64).to_be_bytes());
            id[15] = 0xD7;
            let mut replica = MemoryStore::new(ReplicaId::from_bytes(id));
            let op = Operation {
                key: RecordKey::new("events", format!("event-{:06}", device % 100)),
                write: Write::Set {
                    field: "notes".into(),
                    value: Value::from(format!("seen by device {device}")),
                },
            };
            replica.commit(&space, &[op], 1_700_000_000_000 + device as u64).expect("commit");
            queue.push_back(replica.delta_since(&space, &VersionVector::new()).expect("delta"));
        }
        for delta in queue {
            self.store.apply(&delta).expect("apply");
        }
    }

    fn version_bytes(&mut self) -> usize {
        let vector = self.store.version_vector(CALENDAR).expect("vv");
        encode(Kind::VersionVector, &vector).expect("encode").len()
    }

    fn size_without_index(dir: &Path, events: &[Event]) -> Option<u64> {
        let path = dir.join("engine-only.almanac");
        let store = Store::open_with(&path, StoreOptions::engine_only()).expect("open");
        store.join_space(CALENDAR).expect("join");
        store.commit(CALENDAR, &operations(events)).expect("commit");
        store.compact().expect("compact");
        Some(file_bytes(&path))
    }

    fn contents(&mut self) -> BTreeMap<String, BTreeMap<String, String>> {
        // The whole replicated state of each record, conflicts included.
        let records = self.store.records(CALENDAR, "events").expect("records");
        records
            .iter()
            .map(|r| {
                let state = BTreeMap::from([("state".to_owned(), format!("{:?}", r.state))]);
                (format!("{:?}", r.key), state)
            })
            .collect()
    }
}
