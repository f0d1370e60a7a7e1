//! The fuzz corpus (`fuzz/corpus/`, grown by `make fuzz`) replayed as regression tests: every
//! input the fuzzer kept is decoded as the fuzz targets decode it, and fed to a live session
//! after a real peer's opening frames. A frame may be refused, never panic, and a refused one
//! leaves the store exactly as it was.

use std::fs;
use std::path::{Path, PathBuf};

use almanac_core::sync::transport::read_frame;
use almanac_core::sync::{Message, Session, SessionConfig};
use almanac_core::{SpaceId, Store, VersionVector};

/// What a session lets a chunk expand to (8 × the 1 MiB frame limit), as in the targets.
const UNPACK_LIMIT: usize = 8 << 20;

fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus").join(target);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("entry").path())
        .collect();
    files.sort();
    files
}

/// The `frame_payload` target's input as a frame: format 3 (sync frames), CRC-32C.
fn sealed(payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![almanac_core::codec::FRAME_FORMAT];
    frame.extend_from_slice(payload);
    let checksum = crc32c::crc32c(&frame);
    frame.extend_from_slice(&checksum.to_le_bytes());
    frame
}

fn decode(frame: &[u8]) {
    if let Ok(Message::Chunk(chunk)) = Message::decode(frame) {
        let _ = chunk.records.unpack(UNPACK_LIMIT);
    }
}

/// Everything `store` holds of the test's space.
fn contents(store: &Store) -> Vec<u8> {
    let delta = store.delta_since("work", &VersionVector::new()).expect("delta");
    format!("{:?} {:?}", delta.context, delta.records).into_bytes()
}

/// Feeds `frame` to a session of `store` that has just received a real peer's opening frames.
fn feed(store: &Store, peer: &Store, frame: &[u8]) {
    let before = contents(store);
    let config = || SessionConfig::new(vec![SpaceId::new("work").expect("space")]);
    let mut ours = Session::new(store, config()).expect("session");
    let mut theirs = Session::new(peer, config()).expect("session");
    while let Some(opening) = theirs.poll_transmit() {
        ours.receive(&opening).expect("a real peer's opening frame");
    }
    if ours.receive(frame).is_err() {
        assert!(ours.is_finished(), "a refused frame ends the session");
        assert_eq!(contents(store), before, "a refused frame changed the store");
    }
}

fn stores() -> (tempfile::TempDir, Store, Store) {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(dir.path().join("ours.almanac")).expect("open");
    let peer = Store::open(dir.path().join("peer.almanac")).expect("open");
    for s in [&store, &peer] {
        s.join_space("work").expect("join");
    }
    store.transaction("work").set("events", "e1", "title", "Standup").commit().expect("commit");
    peer.transaction("work").set("events", "e2", "title", "Review").commit().expect("commit");
    (dir, store, peer)
}

#[test]
fn frame_corpus_is_refused_or_read_without_panic() {
    let files = corpus("frame");
    assert!(files.len() >= 10, "the frame corpus is missing");
    let (_dir, store, peer) = stores();
    for file in files {
        let frame = fs::read(&file).expect("read");
        decode(&frame);
        feed(&store, &peer, &frame);
    }
}

#[test]
fn frame_payload_corpus_is_refused_or_read_without_panic() {
    let files = corpus("frame_payload");
    assert!(files.len() >= 10, "the frame_payload corpus is missing");
    let (_dir, store, peer) = stores();
    for file in files {
        let payload = fs::read(&file).expect("read");
        let frame = sealed(&payload);
        decode(&frame);
        feed(&store, &peer, &frame);
        let mut stream = payload.as_slice();
        while let Ok(Some(_)) = read_frame(&mut stream, 1 << 20) {}
    }
}
