//! The sync protocol between stores: convergence over an in-process channel and a real socket,
//! steady-state cost with many writers, chunked and resumed initial sync, relaying, version
//! negotiation, and refusal of damaged or hostile frames.

use std::path::Path;

use almanac_core::crdt::{RecordDelta, Write};
use almanac_core::storage::memory::MemoryStore;
use almanac_core::sync::message::{Chunk, ChunkStart, Party, Records, Want};
use almanac_core::sync::transport::{sync_in_process, sync_over_stream};
use almanac_core::sync::{ErrorCode, Message, Session, SessionConfig};
use almanac_core::{Error, Operation, RecordKey, ReplicaId, SpaceId, Store, Value, VersionVector};

fn space(id: &str) -> SpaceId {
    SpaceId::new(id).expect("space id")
}

fn open(dir: &Path, name: &str) -> Store {
    Store::open(dir.join(name)).expect("open")
}

fn config(spaces: &[&str]) -> SessionConfig {
    SessionConfig::new(spaces.iter().map(|s| space(s)).collect())
}

fn write(store: &Store, space: &str, id: &str, field: &str, value: &str) {
    store.transaction(space).set("notes", id, field, value).commit().expect("write");
}

/// Everything of `space` as a comparable value: the full delta's records.
fn state(store: &Store, space: &str) -> Vec<(RecordKey, RecordDelta)> {
    store.delta_since(space, &VersionVector::new()).expect("full delta").records
}

fn sync(a: &Store, b: &Store, spaces: &[&str]) {
    sync_in_process(a, config(spaces), b, config(spaces)).expect("sync");
}

#[test]
fn two_stores_converge_over_the_protocol_keeping_conflicts() {
    let dir = tempfile::tempdir().expect("dir");
    let (a, b) = (open(dir.path(), "a"), open(dir.path(), "b"));
    write(&a, "work", "n1", "title", "from A");
    write(&a, "home", "h1", "title", "dentist");
    b.join_space("work").expect("join");
    write(&b, "work", "n1", "title", "from B");
    write(&b, "work", "n2", "title", "only B");
    sync(&a, &b, &["work"]);
    assert_eq!(state(&a, "work"), state(&b, "work"));
    assert_eq!(a.version_vector("work").expect("vv"), b.version_vector("work").expect("vv"));
    let n1 = b.get("work", "notes", "n1").expect("read").expect("n1");
    assert_eq!(n1.conflicts("title").len(), 1, "the losing write is kept as a conflict");
    // Only the named space moved: B still does not hold "home".
    assert!(!b.holds_space("home").expect("holds"));
}

#[test]
fn a_space_only_one_side_holds_is_reported_not_invented() {
    let dir = tempfile::tempdir().expect("dir");
    let (a, b) = (open(dir.path(), "a"), open(dir.path(), "b"));
    write(&a, "work", "n1", "title", "x");
    let (report_a, _) =
        sync_in_process(&a, config(&["work"]), &b, config(&["work"])).expect("sync");
    assert_eq!(report_a.not_held_by_peer, [space("work")]);
    assert!(!b.holds_space("work").expect("holds"));
}

/// W6: one field changed in a space 1,000 devices have written to costs under 512 bytes on
/// the wire, both directions together, in one round trip of data.
#[test]
fn a_one_field_change_costs_under_512_bytes_with_1000_writers() {
    let dir = tempfile::tempdir().expect("dir");
    let (a, b) = (open(dir.path(), "a"), open(dir.path(), "b"));
    a.join_space("team").expect("join");
    b.join_space("team").expect("join");
    let team = space("team");
    for device in 0..1000u32 {
        let mut bytes = [0u8; 16];
        bytes[..4].copy_from_slice(&device.to_be_bytes());
        bytes[15] = 0xD0;
        let mut replica = MemoryStore::new(ReplicaId::from_bytes(bytes));
        let op = Operation {
            key: RecordKey::new("notes", format!("by-{device}")),
            write: Write::Set { field: "title".into(), value: Value::from("hello") },
        };
        replica.commit(&team, &[op], 1_000 + u64::from(device)).expect("commit");
        a.apply(&replica.delta_since(&team, &VersionVector::new()).expect("delta")).expect("apply");
    }
    sync(&a, &b, &["team"]); // the initial sync
    sync(&a, &b, &["team"]); // both now know each other's vectors
    write(&a, "team", "by-7", "title", "changed");
    let mut a_config = config(&["team"]);
    a_config.expected_peer = Some(b.replica_id());
    let mut b_config = config(&["team"]);
    b_config.expected_peer = Some(a.replica_id());
    let (to_b, to_a) = sync_in_process(&a, a_config, &b, b_config).expect("sync");
    let total = to_b.bytes_sent + to_a.bytes_sent;
    assert!(total < 512, "{total} bytes on the wire ({to_b:?} / {to_a:?})");
    // Hello with the Want, and the delta, each way (decision 0027).
    assert_eq!(to_b.frames_sent + to_a.frames_sent, 4, "{to_b:?} / {to_a:?}");
    assert_eq!(
        b.get("team", "notes", "by-7").expect("read").expect("record").value("title"),
        Some(&Value::from("changed"))
    );
    assert_eq!(a.version_vector("team").expect("vv").len(), 1001);
}

/// A delta in one chunk is applied without an answer, unless its sender asked for every delta
/// to be confirmed (a device tracking what the server took); then the sender finishes only once
/// the `Ack` came.
#[test]
fn a_single_chunk_delta_is_acknowledged_only_when_its_sender_asks() {
    let dir = tempfile::tempdir().expect("dir");
    let (a, b) = (open(dir.path(), "a"), open(dir.path(), "b"));
    b.join_space("s").expect("join");
    write(&a, "s", "n1", "title", "first");
    sync(&a, &b, &["s"]);
    for confirm in [false, true] {
        write(&a, "s", "n1", "title", &format!("confirm {confirm}"));
        let mut a_config = config(&["s"]);
        a_config.expected_peer = Some(b.replica_id());
        a_config.confirm_delivery = confirm;
        let mut b_config = config(&["s"]);
        b_config.expected_peer = Some(a.replica_id());
        let mut left = Session::new(&a, a_config).expect("session");
        let mut right = Session::new(&b, b_config).expect("session");
        let hello_a = left.poll_transmit().expect("A's Hello");
        let hello_b = right.poll_transmit().expect("B's Hello");
        right.receive(&hello_a).expect("B hears A");
        let delta_b = right.poll_transmit().expect("B's delta");
        left.receive(&hello_b).expect("A hears B");
        let delta_a = left.poll_transmit().expect("A's delta");
        left.receive(&delta_b).expect("A applies B's delta");
        assert_eq!(left.is_finished(), !confirm, "confirm {confirm}");
        right.receive(&delta_a).expect("B applies A's delta");
        assert!(right.is_finished());
        assert_eq!(state(&a, "s"), state(&b, "s"));
        match right.poll_transmit() {
            Some(ack) if confirm => {
                assert!(matches!(Message::decode(&ack), Ok(Message::Ack { .. })));
                left.receive(&ack).expect("A hears the Ack");
                assert!(left.is_finished());
            }
            Some(frame) => panic!("unasked frame {:?}", Message::decode(&frame)),
            None => assert!(!confirm, "no Ack although A asked for it"),
        }
        assert!(left.poll_transmit().is_none() && right.poll_transmit().is_none());
    }
}

/// A chunked initial sync cut short resumes from what was staged; until it completes, the
/// receiver shows nothing of it.
#[test]
fn an_interrupted_initial_sync_resumes_and_shows_nothing_half_done() {
    let dir = tempfile::tempdir().expect("dir");
    let (a, b) = (open(dir.path(), "a"), open(dir.path(), "b"));
    for i in 0..300 {
        write(&a, "big", &format!("n{i:03}"), "title", &format!("note number {i} with some text"));
    }
    b.join_space("big").expect("join");
    let small = || {
        let mut config = config(&["big"]);
        config.chunk_bytes = 2_000;
        config
    };
    // First session: B receives 6 chunks of a longer delta (`interrupt` insists there are
    // more), then the connection drops.
    interrupt(&a, &b, small(), 6);
    assert!(b.records("big", "notes").expect("read").is_empty(), "nothing shows before the end");
    assert!(b.version_vector("big").expect("vv").is_empty());
    let (to_b, _) = sync_in_process(&a, small(), &b, small()).expect("resumed sync");
    assert_eq!(state(&a, "big"), state(&b, "big"));
    assert_eq!(b.records("big", "notes").expect("read").len(), 300);
    assert!(to_b.records_sent < 300, "the resumed sync sent {} records again", to_b.records_sent);
}

/// Runs a session between `a` and `b` in which `b` receives only the first `chunks` chunks
/// of `a`'s delta, then the connection drops.
fn interrupt(a: &Store, b: &Store, config: SessionConfig, chunks: usize) {
    let mut left = Session::new(a, config.clone()).expect("session");
    let mut right = Session::new(b, config).expect("session");
    let mut delivered = 0;
    for _ in 0..4 {
        while let Some(frame) = right.poll_transmit() {
            left.receive(&frame).expect("left receives");
        }
        while let Some(frame) = left.poll_transmit() {
            if matches!(Message::decode(&frame), Ok(Message::Chunk(_))) {
                if delivered == chunks {
                    return;
                }
                delivered += 1;
            }
            right.receive(&frame).expect("right receives");
        }
    }
    panic!("the delta had fewer than {chunks} chunks");
}

/// A record changed between the interrupted session and the resumed one arrives in its new
/// state even though an older copy was staged.
#[test]
fn a_resumed_sync_brings_records_that_changed_meanwhile() {
    let dir = tempfile::tempdir().expect("dir");
    let (a, b) = (open(dir.path(), "a"), open(dir.path(), "b"));
    for i in 0..200 {
        write(&a, "big", &format!("n{i:03}"), "title", &format!("first version of note {i}"));
    }
    b.join_space("big").expect("join");
    let small = || {
        let mut config = config(&["big"]);
        config.chunk_bytes = 1_500;
        config
    };
    interrupt(&a, &b, small(), 4);
    // n000 was staged in its first version; A changes it before the sync resumes, and adds a
    // record that sorts before everything staged.
    write(&a, "big", "n000", "title", "second version");
    write(&a, "big", "a-new", "title", "written while the sync was cut off");
    assert!(b.records("big", "notes").expect("read").is_empty());
    sync(&a, &b, &["big"]);
    assert_eq!(state(&a, "big"), state(&b, "big"));
    assert!(b.get("big", "notes", "a-new").expect("read").is_some());
    let n0 = b.get("big", "notes", "n000").expect("read").expect("n000");
    assert_eq!(n0.value("title"), Some(&Value::from("second version")));
}

/// Sessions whose frames share reads (decision 0052) run while both apps write and read on
/// other threads: nothing fails or waits forever, and once the writes stop every write of
/// either side is on both, as it was written.
#[test]
fn syncs_run_while_the_apps_write_and_read() {
    let dir = tempfile::tempdir().expect("dir");
    let (a, b) = (open(dir.path(), "a"), open(dir.path(), "b"));
    a.join_space("s").expect("join");
    b.join_space("s").expect("join");
    let ids = |side: &str| -> Vec<String> { (0..120).map(|i| format!("{side}-{i:03}")).collect() };
    let writing = std::sync::atomic::AtomicUsize::new(2);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut syncs = 0;
            while syncs < 5 || writing.load(std::sync::atomic::Ordering::SeqCst) > 0 {
                sync(&a, &b, &["s"]);
                syncs += 1;
            }
        });
        for (store, side) in [(&a, "a"), (&b, "b")] {
            let writing = &writing;
            scope.spawn(move || {
                for id in ids(side) {
                    write(store, "s", &id, "title", &id);
                }
                writing.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
            });
            scope.spawn(move || {
                for id in ids(side).into_iter().step_by(7) {
                    // Written or not yet: either way the read succeeds.
                    let record = store.get("s", "notes", &id).expect("read");
                    if let Some(record) = record {
                        assert_eq!(record.value("title"), Some(&Value::from(id.as_str())));
                    }
                    store.version_vector("s").expect("vector");
                }
            });
        }
    });
    sync(&a, &b, &["s"]);
    assert_eq!(state(&a, "s"), state(&b, "s"));
    for id in [ids("a"), ids("b")].concat() {
        let record = b.get("s", "notes", &id).expect("read").expect("synced");
        assert_eq!(record.value("title"), Some(&Value::from(id.as_str())));
    }
}

#[test]
fn relayed_changes_converge() {
    let dir = tempfile::tempdir().expect("dir");
    let (a, b, c) = (open(dir.path(), "a"), open(dir.path(), "b"), open(dir.path(), "c"));
    b.join_space("s").expect("join");
    c.join_space("s").expect("join");
    write(&a, "s", "x", "title", "from A");
    write(&c, "s", "y", "title", "from C");
    sync(&a, &b, &["s"]);
    sync(&b, &c, &["s"]);
    write(&c, "s", "x", "location", "set on C after relaying");
    sync(&c, &b, &["s"]);
    sync(&b, &a, &["s"]);
    assert_eq!(state(&a, "s"), state(&c, "s"));
    assert_eq!(state(&a, "s"), state(&b, "s"));
}

#[test]
fn two_stores_converge_over_a_real_socket() {
    let dir = tempfile::tempdir().expect("dir");
    let (a, b) = (open(dir.path(), "a"), open(dir.path(), "b"));
    b.join_space("s").expect("join");
    for i in 0..50 {
        write(&a, "s", &format!("a{i}"), "title", "from A");
        write(&b, "s", &format!("b{i}"), "title", "from B");
    }
    let (mut left, mut right) = std::os::unix::net::UnixStream::pair().expect("socket pair");
    std::thread::scope(|scope| {
        let a = &a;
        let b = &b;
        let one = scope.spawn(move || {
            let mut session = Session::new(a, config(&["s"])).expect("session");
            sync_over_stream(&mut session, &mut left).expect("A side");
        });
        let two = scope.spawn(move || {
            let mut session = Session::new(b, config(&["s"])).expect("session");
            sync_over_stream(&mut session, &mut right).expect("B side");
        });
        one.join().expect("A thread");
        two.join().expect("B thread");
    });
    assert_eq!(state(&a, "s"), state(&b, "s"));
    assert_eq!(a.records("s", "notes").expect("read").len(), 100);
}

/// Chunks travel in columns (decision 0047) only to a peer whose `Hello` says it speaks
/// protocol 3; an older peer gets them as protocol 2 sent them. Either way they carry the
/// same records.
#[test]
fn chunks_travel_in_columns_only_to_a_peer_that_speaks_protocol_3() {
    use almanac_core::sync::message::Vector;
    let dir = tempfile::tempdir().expect("dir");
    let a = open(dir.path(), "a");
    for n in 0..100 {
        write(&a, "s", &format!("n{n:03}"), "title", &format!("Planning {n}"));
    }
    for newest in [2, 3] {
        let mut session = Session::new(&a, config(&["s"])).expect("session");
        let hello = Message::Hello {
            min_version: 2,
            max_version: newest,
            replica: ReplicaId::from_bytes([9; 16]),
            wants: 1,
            confirm: false,
            with: vec![Want {
                space: space("s"),
                vector: Vector::Full(VersionVector::new()),
                resume: None,
            }],
        };
        session.receive(&hello.encode().expect("encode")).expect("hello");
        let chunks: Vec<Chunk> = std::iter::from_fn(|| session.poll_transmit())
            .filter_map(|f| match Message::decode(&f).expect("decode") {
                Message::Chunk(chunk) => Some(chunk),
                _ => None,
            })
            .collect();
        assert_eq!(chunks.len(), 1, "protocol {newest}");
        let records = chunks[0].records.clone();
        match newest {
            2 => assert!(matches!(records, Records::Deflated { .. }), "{records:?}"),
            _ => assert!(matches!(records, Records::Columns { .. }), "{records:?}"),
        }
        assert_eq!(records.unpack(1 << 20).expect("unpack"), state(&a, "s"), "protocol {newest}");
    }
}

#[test]
fn no_common_protocol_version_is_a_clear_error_on_both_sides() {
    let dir = tempfile::tempdir().expect("dir");
    let a = open(dir.path(), "a");
    let mut session = Session::new(&a, config(&[])).expect("session");
    let future = Message::Hello {
        min_version: 7,
        max_version: 9,
        replica: ReplicaId::from_bytes([9; 16]),
        wants: 0,
        confirm: false,
        with: Vec::new(),
    };
    let error = session.receive(&future.encode().expect("encode")).expect_err("refused");
    assert!(error.to_string().contains("no common protocol version"), "{error}");
    let told: Vec<Message> = std::iter::from_fn(|| session.poll_transmit())
        .map(|f| Message::decode(&f).expect("decode"))
        .collect();
    assert!(
        told.iter().any(|m| matches!(m, Message::Error { code: ErrorCode::NoCommonVersion, .. })),
        "{told:?}"
    );
    assert!(session.is_finished());
}

/// Every single-byte change of every frame of a real session is refused, and the receiver's
/// state is unchanged by it.
#[test]
fn every_single_byte_change_of_a_frame_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let a = open(dir.path(), "a");
    write(&a, "s", "n1", "title", "Planning");
    write(&a, "s", "n2", "location", "Room 1");
    // Record what A sends in a session with an empty peer.
    let recorded: Vec<Vec<u8>> = {
        let b = open(dir.path(), "recorder");
        b.join_space("s").expect("join");
        let mut left = Session::new(&a, config(&["s"])).expect("session");
        let mut right = Session::new(&b, config(&["s"])).expect("session");
        let mut sent = Vec::new();
        for _ in 0..4 {
            while let Some(frame) = right.poll_transmit() {
                if !left.is_finished() {
                    left.receive(&frame).expect("left");
                }
            }
            while let Some(frame) = left.poll_transmit() {
                sent.push(frame.clone());
                if !right.is_finished() {
                    right.receive(&frame).expect("right");
                }
            }
        }
        sent
    };
    assert!(recorded.iter().any(|f| matches!(Message::decode(f), Ok(Message::Chunk(_)))));
    let mut tried = 0;
    for (n, frame) in recorded.iter().enumerate() {
        // A store that has received the intact frames before this one.
        let target = open(dir.path(), &format!("target{n}"));
        target.join_space("s").expect("join");
        {
            let mut session = Session::new(&target, config(&["s"])).expect("session");
            for earlier in &recorded[..n] {
                session.receive(earlier).expect("intact frame");
            }
        }
        let before = (state(&target, "s"), target.version_vector("s").expect("vv"));
        let flips: Vec<u8> = if n == 0 { (1..=255).collect() } else { vec![0x01, 0x80, 0xFF] };
        for position in 0..frame.len() {
            for &flip in &flips {
                let mut damaged = frame.clone();
                damaged[position] ^= flip;
                let mut session = Session::new(&target, config(&["s"])).expect("session");
                for earlier in &recorded[..n] {
                    session.receive(earlier).expect("intact frame");
                }
                assert!(
                    session.receive(&damaged).is_err(),
                    "frame {n} byte {position} ^ {flip:#x} accepted"
                );
                tried += 1;
            }
        }
        let after = (state(&target, "s"), target.version_vector("s").expect("vv"));
        assert_eq!(before, after, "a damaged frame {n} changed the store");
    }
    assert!(tried > 1000, "{tried}");
}

/// A well-formed chunk whose records claim writes outside the delta's own version vector is
/// refused whole.
#[test]
fn a_hostile_chunk_is_refused_whole() {
    let dir = tempfile::tempdir().expect("dir");
    let (a, target) = (open(dir.path(), "a"), open(dir.path(), "target"));
    write(&a, "s", "n1", "title", "one");
    write(&a, "s", "n2", "title", "two");
    target.join_space("s").expect("join");
    let delta = a.delta_since("s", &VersionVector::new()).expect("delta");
    let mut session = Session::new(&target, config(&["s"])).expect("session");
    session.receive(&crate::support::hello_from(a.replica_id(), 0)).expect("hello accepted");
    // The context says A has written once; the records carry A's second write too.
    let chunk = Message::Chunk(Chunk {
        space: space("s"),
        seq: 0,
        start: Some(ChunkStart {
            context: vec![(Party::Sender, 1)],
            hlc: delta.hlc,
            resumed: false,
        }),
        records: Records::Plain(delta.records.clone()),
        last: true,
    });
    let refused = session.receive(&chunk.encode().expect("chunk"));
    assert!(matches!(refused, Err(Error::Decode { .. })), "{refused:?}");
    assert!(target.records("s", "notes").expect("read").is_empty());
    assert!(target.version_vector("s").expect("vv").is_empty());
}

#[test]
fn a_want_for_a_space_not_shared_gets_not_held_and_no_data() {
    let dir = tempfile::tempdir().expect("dir");
    let a = open(dir.path(), "a");
    write(&a, "private", "n", "title", "secret");
    let mut session = Session::new(&a, config(&[])).expect("session");
    let peer = ReplicaId::from_bytes([3; 16]);
    session.receive(&crate::support::hello_from(peer, 1)).expect("hello");
    let want = Message::Want(Want {
        space: space("private"),
        vector: almanac_core::sync::message::Vector::Full(VersionVector::new()),
        resume: None,
    });
    session.receive(&want.encode().expect("want")).expect("want");
    let replies: Vec<Message> = std::iter::from_fn(|| session.poll_transmit())
        .map(|f| Message::decode(&f).expect("decode"))
        .collect();
    assert!(replies.iter().any(|m| matches!(m, Message::NotHeld { .. })), "{replies:?}");
    assert!(!replies.iter().any(|m| matches!(m, Message::Chunk(_))), "{replies:?}");
}

mod property {
    //! Random writes on three stores holding random subsets of two spaces, syncs that relay
    //! through whoever holds what, sessions cut off after a random number of frames (then
    //! resumed by later sessions), and stores restored from backups. Afterwards everyone holds
    //! every space and a full round of syncs makes all stores identical, and every record that
    //! some store held before the end (as far as completed syncs tell) is everywhere.

    use std::collections::{BTreeMap, BTreeSet};
    use std::path::PathBuf;

    use almanac_core::storage::sqlite::incarnation::copy_like_a_disk_clone;
    use proptest::prelude::*;

    use super::*;

    const STORES: usize = 3;
    const SPACES: [&str; 2] = ["s0", "s1"];

    #[derive(Clone, Debug)]
    enum Step {
        Write {
            store: usize,
            space: usize,
        },
        /// Writes a record written before (by any store), so stores write one record
        /// concurrently: its title then has entries of several ids.
        Edit {
            store: usize,
            space: usize,
            pick: usize,
        },
        Join {
            store: usize,
            space: usize,
        },
        Sync {
            a: usize,
            b: usize,
            cut: Option<usize>,
        },
        Backup {
            store: usize,
        },
        Restore {
            store: usize,
        },
        /// `to` becomes a file copy of `from` made with its device marker (`cp -r`, app data
        /// restored with its marker): a new file, which renews its id when it opens.
        Copy {
            from: usize,
            to: usize,
        },
        /// `to` becomes a block-level clone of `from` (a cloned disk image): both then write
        /// under one replica id until sync notices.
        Clone {
            from: usize,
            to: usize,
        },
    }

    /// Random steps; disk clones only with `clones` (a class with known failing cases,
    /// decisions 0025 and 0028, so `make test` leaves them to the ignored test below).
    fn step(clones: bool) -> impl Strategy<Value = Step> {
        let store = 0..STORES;
        let space = 0..SPACES.len();
        let clone_weight = u32::from(clones);
        prop_oneof![
            5 => (store.clone(), space.clone()).prop_map(|(store, space)| Step::Write { store, space }),
            2 => (store.clone(), space.clone(), 0..30usize)
                .prop_map(|(store, space, pick)| Step::Edit { store, space, pick }),
            1 => (store.clone(), space).prop_map(|(store, space)| Step::Join { store, space }),
            4 => (store.clone(), store.clone(), prop::option::weighted(0.4, 1usize..12))
                .prop_map(|(a, b, cut)| Step::Sync { a, b, cut }),
            1 => store.clone().prop_map(|store| Step::Backup { store }),
            1 => store.clone().prop_map(|store| Step::Restore { store }),
            1 => (store.clone(), store.clone()).prop_map(|(from, to)| Step::Copy { from, to }),
            clone_weight => (store.clone(), store).prop_map(|(from, to)| Step::Clone { from, to }),
        ]
    }

    fn small(spaces: &[&str]) -> SessionConfig {
        let mut config = config(spaces);
        // About one record per chunk, so deltas are chunked and cuts land inside them.
        config.chunk_bytes = 100;
        config
    }

    fn held(store: &Store) -> Vec<String> {
        store.spaces().expect("spaces").into_iter().map(String::from).collect()
    }

    /// Both sessions run; with `cut`, each side receives at most `cut` frames and the session
    /// is abandoned (as a dropped connection would). A session that finds a store sharing its
    /// replica id with a copy ends once that store has renewed its id (`ReplicaRenewed`), and
    /// counts as not completed, as an app would simply sync again.
    fn session(a: &Store, b: &Store, cut: Option<usize>) -> bool {
        let (ha, hb) = (held(a), held(b));
        let shared: Vec<&str> = ha.iter().filter(|s| hb.contains(s)).map(String::as_str).collect();
        let renewed = |result: Result<(), Error>| match result {
            Ok(()) => false,
            Err(Error::ReplicaRenewed { .. }) => true,
            Err(error) => panic!("sync failed: {error}"),
        };
        let Some(cut) = cut else {
            let result = sync_in_process(a, small(&shared), b, small(&shared)).map(drop);
            return !renewed(result);
        };
        let mut left = Session::new(a, small(&shared)).expect("session");
        let mut right = Session::new(b, small(&shared)).expect("session");
        let (mut to_left, mut to_right) = (0, 0);
        for _ in 0..50 {
            while let Some(frame) = left.poll_transmit() {
                if to_right < cut && !right.is_finished() {
                    to_right += 1;
                    if renewed(right.receive(&frame)) {
                        return false;
                    }
                }
            }
            while let Some(frame) = right.poll_transmit() {
                if to_left < cut && !left.is_finished() {
                    to_left += 1;
                    if renewed(left.receive(&frame)) {
                        return false;
                    }
                }
            }
        }
        false
    }

    fn run(steps: &[Step]) -> Result<(), TestCaseError> {
        let dir = tempfile::tempdir().expect("dir");
        let path = |i: usize| -> PathBuf { dir.path().join(format!("store{i}.almanac")) };
        let mut stores: Vec<Option<Store>> =
            (0..STORES).map(|i| Some(open(dir.path(), &format!("store{i}.almanac")))).collect();
        for (i, store) in stores.iter().enumerate() {
            store.as_ref().expect("open").join_space(SPACES[i % 2]).expect("join");
        }
        // Which store holds which record, as far as completed syncs tell (records are never
        // overwritten here, so "held" is simply "present").
        let mut holds: Vec<BTreeSet<(usize, String)>> = vec![BTreeSet::new(); STORES];
        let mut backups: BTreeMap<usize, BTreeSet<(usize, String)>> = BTreeMap::new();
        let mut next = 0;
        for step in steps {
            match step {
                Step::Write { store, space } => {
                    // Ids in scrambled order, so a record written later may sort before records
                    // already staged by an interrupted sync (a resume must still bring it).
                    let id = format!("r{:03}", (next * 37) % 1000);
                    next += 1;
                    let s = stores[*store].as_ref().expect("open");
                    write(s, SPACES[*space], &id, "title", &format!("written on {store}"));
                    holds[*store].insert((*space, id));
                }
                Step::Edit { store, space, pick } => {
                    if next == 0 {
                        continue;
                    }
                    let id = format!("r{:03}", ((pick % next) * 37) % 1000);
                    let s = stores[*store].as_ref().expect("open");
                    write(s, SPACES[*space], &id, "title", &format!("edited on {store}"));
                    holds[*store].insert((*space, id));
                }
                Step::Join { store, space } => {
                    stores[*store]
                        .as_ref()
                        .expect("open")
                        .join_space(SPACES[*space])
                        .expect("join");
                }
                Step::Sync { a, b, cut } => {
                    if a == b {
                        continue;
                    }
                    let (sa, sb) =
                        (stores[*a].as_ref().expect("a"), stores[*b].as_ref().expect("b"));
                    let (ha, hb) = (held(sa), held(sb));
                    if session(sa, sb, *cut) {
                        let shared: Vec<usize> = (0..SPACES.len())
                            .filter(|s| {
                                ha.contains(&SPACES[*s].to_owned())
                                    && hb.contains(&SPACES[*s].to_owned())
                            })
                            .collect();
                        let union: BTreeSet<(usize, String)> = holds[*a]
                            .union(&holds[*b])
                            .filter(|(space, _)| shared.contains(space))
                            .cloned()
                            .collect();
                        holds[*a].extend(union.iter().cloned());
                        holds[*b].extend(union);
                    }
                }
                Step::Backup { store } => {
                    let s = stores[*store].as_ref().expect("open");
                    s.checkpoint().expect("checkpoint");
                    std::fs::copy(path(*store), dir.path().join(format!("backup{store}")))
                        .expect("backup");
                    backups.insert(*store, holds[*store].clone());
                }
                Step::Copy { from, to } | Step::Clone { from, to } => {
                    if from == to {
                        continue;
                    }
                    let cloned = matches!(step, Step::Clone { .. });
                    stores[*from].as_ref().expect("open").checkpoint().expect("checkpoint");
                    stores[*to] = None;
                    if cloned {
                        copy_like_a_disk_clone(&path(*from), &path(*to)).expect("clone");
                    } else {
                        for suffix in ["", ".device"] {
                            let name =
                                |i: usize| dir.path().join(format!("store{i}.almanac{suffix}"));
                            std::fs::copy(name(*from), name(*to)).expect("copy");
                        }
                    }
                    stores[*to] = Some(open(dir.path(), &format!("store{to}.almanac")));
                    let copy = stores[*to].as_ref().expect("open");
                    let original = stores[*from].as_ref().expect("open").replica_id();
                    if cloned {
                        prop_assert_eq!(
                            copy.replica_id(),
                            original,
                            "a disk clone cannot tell itself from the original"
                        );
                    } else {
                        prop_assert_ne!(copy.replica_id(), original, "a file copy is a new file");
                    }
                    holds[*to] = holds[*from].clone();
                }
                Step::Restore { store } => {
                    let Some(saved) = backups.get(store) else { continue };
                    stores[*store] = None; // closes the store (and removes its -wal)
                    std::fs::copy(dir.path().join(format!("backup{store}")), path(*store))
                        .expect("restore");
                    stores[*store] = Some(open(dir.path(), &format!("store{store}.almanac")));
                    holds[*store] = saved.clone();
                }
            }
        }
        let stores: Vec<Store> = stores.into_iter().map(|s| s.expect("open")).collect();
        for store in &stores {
            for space in SPACES {
                store.join_space(space).expect("join");
            }
        }
        for _ in 0..2 {
            for a in 0..STORES {
                for b in 0..STORES {
                    // A session that made a store renew its id runs again, as an app would
                    // (each side may renew once: a copy cannot tell which of two equal
                    // writes under its id were its own).
                    if a != b {
                        let done = (0..3).any(|_| session(&stores[a], &stores[b], None));
                        prop_assert!(done, "sync after renewals");
                    }
                }
            }
        }
        for space in SPACES {
            let first = state(&stores[0], space);
            for store in &stores[1..] {
                prop_assert_eq!(&state(store, space), &first, "stores differ in {}", space);
                prop_assert_eq!(
                    store.version_vector(space).expect("vv"),
                    stores[0].version_vector(space).expect("vv")
                );
            }
        }
        let expected: BTreeSet<(usize, String)> = holds.into_iter().flatten().collect();
        for (space, id) in expected {
            prop_assert!(
                stores[0].get(SPACES[space], "notes", &id).expect("read").is_some(),
                "record {} of {} was held by some store and is lost",
                id,
                SPACES[space]
            );
        }
        Ok(())
    }

    // Cases the property test finds at 200 cases (2026-12-01), failing since decision 0025 at
    // least (also on ea3b355): a copy's write that has the same counter as one the original
    // released is never told apart, so both stores keep their own record under one dot and
    // never exchange them. Found with file copies; since decision 0028 a file copy renews its
    // id when it opens, so they remain only for block-level disk clones. The ones still
    // failing are kept here, ignored, until a fix lands; see "Known failing cases" in
    // docs/decisions/0025-copied-stores-and-retired-devices.md.
    #[test]
    #[ignore = "known failing: disk-cloned stores (decisions 0025 and 0028)"]
    fn known_failing_copy_then_relay() {
        use Step::*;
        let steps = [
            Clone { from: 0, to: 1 },
            Clone { from: 0, to: 2 },
            Write { store: 0, space: 0 },
            Write { store: 1, space: 0 },
            Sync { a: 0, b: 2, cut: None },
            Sync { a: 2, b: 1, cut: Some(2) },
            Sync { a: 2, b: 0, cut: None },
        ];
        run(&steps).expect("copy then relay");
    }

    /// Found by this property test: a restored copy renewed its id at open but kept its
    /// unsent write under the old id, where the original's write with the same counter could
    /// never be told from it.
    #[test]
    fn a_copy_restored_from_a_backup_keeps_its_unsent_write_apart() {
        use Step::*;
        let steps = [
            Clone { from: 0, to: 2 },
            Write { store: 2, space: 0 },
            Write { store: 0, space: 0 },
            Backup { store: 2 },
            Write { store: 2, space: 0 },
            Restore { store: 2 },
        ];
        run(&steps).expect("a copy, then restored");
    }

    /// Found by this property test: kept failing as a copied-store case until it turned out
    /// to be a stale staged record applied by a resumed delta (decision 0028).
    #[test]
    fn a_clone_relayed_then_cut_loses_nothing() {
        use Step::*;
        let steps = [
            Write { store: 1, space: 1 },
            Clone { from: 1, to: 0 },
            Write { store: 0, space: 1 },
            Write { store: 2, space: 1 },
            Write { store: 2, space: 1 },
            Sync { a: 0, b: 2, cut: None },
            Write { store: 2, space: 1 },
            Write { store: 1, space: 0 },
            Write { store: 2, space: 1 },
            Sync { a: 1, b: 2, cut: None },
            Sync { a: 2, b: 1, cut: Some(5) },
        ];
        run(&steps).expect("copy, relay, cut");
    }

    #[test]
    #[ignore = "known failing: disk-cloned stores (decisions 0025 and 0028)"]
    fn known_failing_copy_back() {
        use Step::*;
        let steps = [
            Clone { from: 0, to: 1 },
            Write { store: 0, space: 0 },
            Sync { a: 2, b: 0, cut: None },
            Clone { from: 1, to: 0 },
            Sync { a: 1, b: 0, cut: None },
            Write { store: 1, space: 0 },
        ];
        run(&steps).expect("copy back");
    }

    /// A record staged from a session cut short, then received whole from a third store, is
    /// not applied in its stale form when the delta resumes: the resumed delta's context
    /// claims this store's concurrent write, which the stale copy lacks, so applying it
    /// dropped the store's own write (found by this property test through copied stores,
    /// whose re-stamped records are the only ones it writes twice; stores that write one
    /// record concurrently meet it the same way).
    #[test]
    fn a_resumed_delta_does_not_apply_a_stale_staged_record() {
        let dir = tempfile::tempdir().expect("dir");
        let (s, r, t) = (open(dir.path(), "s"), open(dir.path(), "r"), open(dir.path(), "t"));
        for store in [&s, &r, &t] {
            store.join_space("s0").expect("join");
        }
        write(&s, "s0", "k", "title", "by s");
        // A second record, so the delta from `s` is two chunks and the first one is staged.
        write(&s, "s0", "z", "title", "by s too");
        assert!(session(&t, &s, None));
        write(&r, "s0", "k", "title", "by r");
        // `r` stages `k` as `s` had it; `s` receives `r`'s write whole.
        assert!(!session(&s, &r, Some(3)));
        let k_on_s = s.get("s0", "notes", "k").expect("read").expect("live");
        assert_eq!(k_on_s.conflicts("title").len(), 1, "`s` has both titles of `k`");
        assert_eq!(state(&r, "s0").len(), 1, "nothing of the cut delta is applied yet");
        // `r` gets all of `k` from `t`, then the delta from `s` resumes.
        assert!(session(&t, &r, None));
        assert!(session(&s, &r, None));
        for store in [&s, &r] {
            assert!(session(store, &t, None));
        }
        let k = r.get("s0", "notes", "k").expect("read").expect("live");
        let mut titles: Vec<String> = k
            .conflicts("title")
            .into_iter()
            .chain(k.value("title"))
            .filter_map(|v| v.as_text().map(str::to_owned))
            .collect();
        titles.sort();
        assert_eq!(titles, ["by r", "by s"], "both concurrent titles are kept");
        assert_eq!(state(&r, "s0"), state(&s, "s0"));
        assert_eq!(state(&t, "s0"), state(&s, "s0"));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        #[test]
        fn stores_converge_through_partial_relayed_interrupted_syncs_and_restores(steps in prop::collection::vec(step(false), 1..30)) {
            run(&steps)?;
        }

        /// The same with block-level disk clones among the steps: known to fail now and then
        /// (`known_failing_*` above), run by hand with
        /// `cargo test -p almanac-core --test integration disk_clones -- --ignored`.
        #[test]
        #[ignore = "known failing: disk-cloned stores (decisions 0025 and 0028)"]
        fn disk_clones_converge_too(steps in prop::collection::vec(step(true), 1..30)) {
            run(&steps)?;
        }
    }
}

/// A space left and joined again starts from nothing (leaving also forgets the vectors
/// exchanged for it), and the next sync brings everything back.
#[test]
fn a_space_left_and_joined_again_comes_back_whole() {
    let dir = tempfile::tempdir().expect("dir");
    let (a, b) = (open(dir.path(), "a"), open(dir.path(), "b"));
    b.join_space("s").expect("join");
    for i in 0..5 {
        write(&a, "s", &format!("n{i}"), "title", "kept");
    }
    sync(&a, &b, &["s"]);
    b.leave_space("s").expect("leave");
    b.join_space("s").expect("join again");
    sync(&a, &b, &["s"]);
    assert_eq!(state(&a, "s"), state(&b, "s"));
    assert_eq!(b.records("s", "notes").expect("read").len(), 5);
}

#[test]
fn a_read_only_side_serves_the_space_and_takes_nothing_of_it() {
    let dir = tempfile::tempdir().expect("dir");
    let (server, device) = (open(dir.path(), "server"), open(dir.path(), "device"));
    write(&server, "shared", "n1", "title", "from the owner");
    device.join_space("shared").expect("join");
    write(&device, "shared", "n2", "title", "from a read-only member");
    let mut served = config(&["shared"]);
    served.read_only = vec![space("shared")];
    let (server_report, device_report) =
        sync_in_process(&server, served, &device, config(&["shared"])).expect("sync");
    // The member reads the owner's data; its own write stays on its device, unsent.
    assert!(device.get("shared", "notes", "n1").expect("read").is_some());
    assert!(server.get("shared", "notes", "n2").expect("read").is_none());
    assert_eq!(server_report.records_changed, 0);
    assert_eq!(device_report.records_sent, 0);
    assert!(device.get("shared", "notes", "n2").expect("read").is_some());
    // The same exchange without the restriction carries it.
    sync(&server, &device, &["shared"]);
    assert!(server.get("shared", "notes", "n2").expect("read").is_some());
}

#[test]
fn a_connection_message_inside_a_session_ends_it() {
    let dir = tempfile::tempdir().expect("dir");
    let (a, b) = (open(dir.path(), "a"), open(dir.path(), "b"));
    write(&a, "work", "n1", "title", "x");
    let mut session = Session::new(&a, config(&["work"])).expect("session");
    let hello = Session::new(&b, config(&[])).expect("b").poll_transmit().expect("hello");
    session.receive(&hello).expect("hello");
    let changed = Message::Changed { spaces: vec![space("work")] }.encode().expect("encode");
    assert!(matches!(session.receive(&changed), Err(Error::Protocol(_))));
    assert!(session.is_finished());
}

mod retirement {
    //! Devices retired from the stable point, at random (decision 0025): three devices and a
    //! relay that, like the sync server, never collects. Devices write (titles, alarms added
    //! and removed, deletes), sync with the relay, collect garbage with the relay's stable
    //! point (the meet of what the counted devices last reported), and get retired at random. A device syncing re-joins first when the stable point claims
    //! what it has not seen, as the client does (a device that never reported counts as
    //! retired, as on the server). No sync may ever fail, and at the end every device shows
    //! exactly what the relay shows, with every record nobody deleted and every alarm nobody
    //! removed.
    //!
    //! Deleted records stay in the trash here (an hour's retention): restoring a record another
    //! device has already purged from its trash brings it back there without its fields, a
    //! limit of decision 0014 that retirement neither causes nor fixes, and a re-joining device
    //! restores a record it wrote into when it was deleted meanwhile. Purged records meeting a
    //! re-joined device are covered by `spaces::a_retired_device_rejoins_and_keeps_its_unsent_
    //! writes` and the client's retirement test.

    use std::collections::BTreeSet;
    use std::time::Duration;

    use almanac_core::StoreOptions;
    use proptest::prelude::*;

    use super::*;

    const DEVICES: usize = 3;
    const SPACE: &str = "s";
    /// Longer than a test runs: removals are purged, deleted records are not.
    const TRASH: Duration = Duration::from_secs(3600);

    #[derive(Clone, Debug)]
    enum Op {
        Title(usize),
        AddAlarm(usize, usize),
        RemoveAlarm(usize, usize),
        Delete(usize),
    }

    #[derive(Clone, Debug)]
    enum Step {
        Write { device: usize, op: Op },
        Sync { device: usize },
        Collect { device: usize },
        Retire { device: usize },
    }

    fn op() -> impl Strategy<Value = Op> {
        let record = 0..4usize;
        let alarm = 0..3usize;
        prop_oneof![
            3 => record.clone().prop_map(Op::Title),
            2 => (record.clone(), alarm.clone()).prop_map(|(r, a)| Op::AddAlarm(r, a)),
            2 => (record.clone(), alarm).prop_map(|(r, a)| Op::RemoveAlarm(r, a)),
            1 => record.prop_map(Op::Delete),
        ]
    }

    fn step() -> impl Strategy<Value = Step> {
        let device = 0..DEVICES;
        prop_oneof![
            5 => (device.clone(), op()).prop_map(|(device, op)| Step::Write { device, op }),
            4 => device.clone().prop_map(|device| Step::Sync { device }),
            2 => device.clone().prop_map(|device| Step::Collect { device }),
            1 => device.prop_map(|device| Step::Retire { device }),
        ]
    }

    struct World {
        relay: Store,
        devices: Vec<Store>,
        /// What each device last reported to the relay (its vector when a sync began), and
        /// whether it still counts.
        reported: Vec<Option<VersionVector>>,
        deleted: BTreeSet<usize>,
        removed: BTreeSet<(usize, usize)>,
        added: BTreeSet<(usize, usize)>,
        written: BTreeSet<usize>,
        next: usize,
    }

    impl World {
        fn stable(&self) -> VersionVector {
            let counted = self.reported.iter().flatten();
            counted.fold(self.relay.version_vector(SPACE).expect("vv"), |s, v| s.meet(v))
        }

        fn write(&mut self, device: usize, op: &Op) {
            let store = &self.devices[device];
            let id = |r: usize| format!("r{r}");
            self.next += 1;
            let mut tx = store.transaction(SPACE);
            match op {
                Op::Title(r) => {
                    tx.set("notes", &id(*r), "title", format!("title {}", self.next));
                }
                Op::AddAlarm(r, a) => {
                    tx.set_member(
                        "notes",
                        &id(*r),
                        "alarms",
                        &format!("a{a}"),
                        "at",
                        self.next as i64,
                    );
                }
                Op::RemoveAlarm(r, a) => {
                    tx.remove_member("notes", &id(*r), "alarms", &format!("a{a}"));
                }
                Op::Delete(r) => {
                    tx.delete("notes", &id(*r));
                }
            }
            // Writes to a missing or deleted record are refused; that is the app's business.
            if tx.commit().is_ok() {
                match op {
                    Op::Title(r) => {
                        self.written.insert(*r);
                    }
                    Op::AddAlarm(r, a) => {
                        self.written.insert(*r);
                        self.added.insert((*r, *a));
                    }
                    Op::RemoveAlarm(r, a) => {
                        self.removed.insert((*r, *a));
                    }
                    Op::Delete(r) => {
                        self.deleted.insert(*r);
                    }
                }
            }
        }

        /// One round of a device with the relay, as the client runs it.
        fn sync(&mut self, device: usize) {
            let store = &self.devices[device];
            let stable = self.stable();
            let seen = store.version_vector(SPACE).expect("vv");
            if !seen.is_empty() && !seen.dominates(&stable) {
                store.rejoin_space(SPACE).expect("rejoin");
            }
            self.reported[device] = Some(store.version_vector(SPACE).expect("vv"));
            sync(store, &self.relay, &[SPACE]);
            if store.rejoin_pending(SPACE).expect("pending") {
                store.finish_rejoin(SPACE).expect("finish");
                self.reported[device] = Some(store.version_vector(SPACE).expect("vv"));
                sync(store, &self.relay, &[SPACE]);
            }
        }

        fn collect(&self, device: usize) {
            let store = &self.devices[device];
            let stable = self.stable();
            if store.version_vector(SPACE).expect("vv").dominates(&stable) {
                store.collect_garbage(SPACE, &stable, TRASH).expect("collect");
            }
        }
    }

    fn run(steps: &[Step]) -> Result<(), TestCaseError> {
        let dir = tempfile::tempdir().expect("dir");
        let relay =
            Store::open_with(dir.path().join("relay"), StoreOptions::engine_only()).expect("open");
        relay.join_space(SPACE).expect("join");
        let devices: Vec<Store> =
            (0..DEVICES).map(|i| open(dir.path(), &format!("device{i}"))).collect();
        for device in &devices {
            device.join_space(SPACE).expect("join");
        }
        let mut world = World {
            relay,
            devices,
            reported: vec![None; DEVICES],
            deleted: BTreeSet::new(),
            removed: BTreeSet::new(),
            added: BTreeSet::new(),
            written: BTreeSet::new(),
            next: 0,
        };
        for step in steps {
            match step {
                Step::Write { device, op } => world.write(*device, op),
                Step::Sync { device } => world.sync(*device),
                Step::Collect { device } => world.collect(*device),
                Step::Retire { device } => world.reported[*device] = None,
            }
        }
        for _ in 0..2 {
            for device in 0..DEVICES {
                world.sync(device);
            }
        }
        for device in &world.devices {
            // Purged metadata may differ between devices: compare what apps see.
            prop_assert_eq!(visible(device), visible(&world.relay));
        }
        for r in world.written.difference(&world.deleted) {
            let record = world.relay.get(SPACE, "notes", &format!("r{r}")).expect("read");
            prop_assert!(record.is_some(), "r{} was written, never deleted, and is gone", r);
        }
        for (r, a) in world.added.difference(&world.removed) {
            if world.deleted.contains(r) {
                continue;
            }
            let record = world.relay.get(SPACE, "notes", &format!("r{r}")).expect("read");
            let present = record
                .is_some_and(|rec| rec.members("alarms").contains_key(format!("a{a}").as_str()));
            prop_assert!(present, "alarm a{} of r{} was added, never removed, and is gone", a, r);
        }
        Ok(())
    }

    /// What apps see of the space: each live record's shown values and present alarms (the
    /// trash is not compared: a device that collected has emptied it, the relay never does).
    fn visible(store: &Store) -> Vec<(String, String, Vec<String>)> {
        let mut out = Vec::new();
        for r in 0..4 {
            let id = format!("r{r}");
            if let Some(record) = store.get(SPACE, "notes", &id).expect("read") {
                let alarms = record.members("alarms").keys().map(|k| (*k).to_owned()).collect();
                out.push((id, format!("{:?}", record.values()), alarms));
            }
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        #[test]
        fn retired_devices_rejoin_and_nothing_blocks_or_is_lost(steps in prop::collection::vec(step(), 1..60)) {
            run(&steps)?;
        }
    }
}
