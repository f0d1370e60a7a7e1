//! One adapter per system, each used as a calendar app would use it: one document (Almanac: one
//! space) per calendar, `events: Map<event id, Map<field, value>>`, every commit persisted.

pub mod almanac;
pub mod automerge;
pub mod loro;
pub mod yrs;

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use jiff::Timestamp;

use crate::data::Event;

/// How hard a commit works to survive a crash; the same policy is given to every system.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Persist {
    /// Written to the OS before the commit returns: survives the app being killed (Almanac's
    /// default, SQLite WAL with `synchronous=NORMAL`; a peer's `write` to its log).
    Written,
    /// Also on the disk before the commit returns: survives power loss (Almanac's
    /// `Durability::PowerLoss`; a peer's `write` + `fdatasync`).
    Synced,
    /// Not persisted: throwaway replicas that only produce changes for another one.
    Memory,
}

/// The replica id a peer library's default would give replica number `replica`, made
/// deterministic so runs compare: apps let Yrs (a random 53-bit client id), Loro (a random
/// 64-bit peer id) and Automerge (a random 16-byte actor) choose, and the numbers 1, 2 or
/// 1,000,000 + n that the workloads use would make their variable-length encodings smaller
/// than they are in use (decision 0022). Almanac's ids are always 16 random bytes.
pub fn peer_id(replica: u64, part: u64) -> u64 {
    // SplitMix64 of (replica, part): well spread, never the same for two inputs here.
    let mut z = replica.wrapping_mul(2).wrapping_add(part).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// What one sync between two replicas cost.
#[derive(Clone, Copy, Debug, Default)]
pub struct SyncStats {
    pub a_to_b: usize,
    pub b_to_a: usize,
    pub messages: usize,
    /// The longest chain of messages in which each was sent only after the one before it
    /// arrived; `None` when every message waited for the one before (then it is `messages`).
    pub chain: Option<usize>,
}

impl SyncStats {
    /// Round trips the exchange takes: half its longest chain of messages (a message that
    /// waits for nothing but the one before it is half a round trip).
    pub fn round_trips(&self) -> f64 {
        self.chain.unwrap_or(self.messages) as f64 / 2.0
    }
}

/// The calendar operations every workload is written against.
pub trait Calendar: Sized {
    const NAME: &'static str;

    /// A new, empty calendar whose files live in `dir` under `name`.
    fn create(dir: &Path, name: &str, replica: u64, persist: Persist) -> Self;
    /// Opens the compacted calendar at `path` (as `compact` left it), ready to answer.
    fn open(path: &Path) -> Self;
    /// Adds `events` in one commit.
    fn add_events(&mut self, events: &[Event]);
    /// Overwrites one text field of one event in one commit.
    fn set_field(&mut self, id: &str, field: &str, value: &str);
    /// The number of occurrences overlapping `[from, to)`, recurrences expanded.
    fn occurrences(&mut self, from: Timestamp, to: Timestamp) -> usize;
    /// Everything a device that has nothing downloads, uncompressed by us (a peer's own encoding
    /// may already compress: Automerge's does).
    fn full_state(&mut self) -> Vec<u8>;
    /// Brings the on-disk form to its compact steady state (Almanac: `Store::compact`, the file
    /// rewritten without free pages and the log folded in; a peer: its full save written over
    /// the log) and returns the path `open` takes.
    fn compact(&mut self) -> PathBuf;
    /// Bytes the calendar occupies on disk now (every file of it).
    fn disk_bytes(&self) -> u64;
    /// Syncs `a` and `b` both ways with the system's own protocol.
    fn sync(a: &mut Self, b: &mut Self) -> SyncStats;
    /// A new replica `replica` holding the same state (untimed setup).
    fn replicate(&mut self, dir: &Path, name: &str, replica: u64, persist: Persist) -> Self;
    /// `count` other devices each overwrite one field of one of the first 100 events once.
    fn foreign_writers(&mut self, count: usize);
    /// The summary of what this replica holds, as it sends it to ask for what it lacks.
    fn version_bytes(&mut self) -> usize;
    /// Every event's fields as text, to check that two replicas are equal.
    fn contents(&mut self) -> BTreeMap<String, BTreeMap<String, String>>;
    /// Bytes on disk of the same events without any derived index (Almanac's occurrence index;
    /// the peers keep none, so they have no such figure).
    fn size_without_index(_dir: &Path, _events: &[Event]) -> Option<u64> {
        None
    }
}

/// A peer's persistence: each commit's incremental export appended, length-prefixed.
pub struct Log {
    file: Option<File>,
    path: PathBuf,
    snapshot: Option<PathBuf>,
    persist: Persist,
}

impl Log {
    pub fn new(dir: &Path, name: &str, persist: Persist) -> Log {
        let path = dir.join(format!("{name}.log"));
        let file = (persist != Persist::Memory).then(|| {
            OpenOptions::new()
                .create(true)
                .truncate(true)
                .write(true)
                .open(&path)
                .expect("log file")
        });
        Log { file, path, snapshot: None, persist }
    }

    pub fn append(&mut self, chunk: &[u8]) {
        let Some(file) = &mut self.file else { return };
        if chunk.is_empty() {
            return;
        }
        // One write per commit, as an app would issue it.
        let mut frame = Vec::with_capacity(chunk.len() + 4);
        frame.extend_from_slice(&(chunk.len() as u32).to_le_bytes());
        frame.extend_from_slice(chunk);
        file.write_all(&frame).expect("append");
        if self.persist == Persist::Synced {
            file.sync_data().expect("fsync");
        }
    }

    pub fn bytes(&self) -> u64 {
        let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        size(&self.path) + self.snapshot.as_deref().map_or(0, size)
    }

    /// Replaces the log by one full save (what a peer app does to compact its history).
    pub fn compact(&mut self, full: &[u8]) -> PathBuf {
        let path = self.path.with_extension("snapshot");
        let mut file = File::create(&path).expect("snapshot");
        file.write_all(full).expect("write snapshot");
        file.sync_all().expect("fsync snapshot");
        // Appends continue after the snapshot in a fresh log.
        if let Some(log) = &mut self.file {
            *log = File::create(&self.path).expect("truncate log");
        }
        self.snapshot = Some(path.clone());
        path
    }
}
