//! Spaces (each with its own causal context), restored and copied stores, notification order
//! and closing: the engine behaviours a store shows to apps and to sync.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use almanac_core::{
    ChangeEvent, DeviceMarker, Error, Incarnation, Origin, Store, StoreOptions, Value,
    VersionVector,
};

use crate::support::wal_path;

fn store_at(path: &Path) -> Store {
    Store::open(path).expect("open")
}

/// Sends everything of `space` that `to` lacks (joining it).
fn send(from: &Store, to: &Store, space: &str) {
    to.join_space(space).expect("join");
    let delta = from.delta_since(space, &to.version_vector(space).expect("vv")).expect("delta");
    to.apply(&delta).expect("apply");
}

fn sync(a: &Store, b: &Store, space: &str) {
    send(a, b, space);
    send(b, a, space);
}

fn titles(store: &Store, space: &str) -> Vec<(String, String)> {
    store
        .records(space, "notes")
        .expect("records")
        .into_iter()
        .map(|r| {
            let title = r.value("title").and_then(Value::as_text).unwrap_or_default().to_owned();
            (r.key.id, title)
        })
        .collect()
}

fn write(store: &Store, space: &str, id: &str, title: &str) {
    store.transaction(space).set("notes", id, "title", title).commit().expect("write");
}

/// Finding 1: a store restored from an earlier copy writes before its first sync. With the
/// device marker it writes as a new replica, so its writes and the ones the lost copy made
/// under the old id both survive.
#[test]
fn a_store_restored_from_a_backup_never_reuses_a_dot() {
    let dir = tempfile::tempdir().expect("dir");
    let phone_path = dir.path().join("phone.almanac");
    let server = store_at(&dir.path().join("server.almanac"));
    let backup = dir.path().join("backup.almanac");
    {
        let phone = store_at(&phone_path);
        write(&phone, "s", "n1", "before the backup");
        sync(&phone, &server, "s");
        phone.close().expect("close");
        fs::copy(&phone_path, &backup).expect("backup");
        let phone = store_at(&phone_path);
        assert_eq!(phone.incarnation(), Incarnation::Continued);
        write(&phone, "s", "n2", "after the backup, synced, then lost");
        sync(&phone, &server, "s");
    }
    // The phone is restored from the backup (the marker is outside backups and stays).
    fs::copy(&backup, &phone_path).expect("restore");
    let phone = store_at(&phone_path);
    assert!(matches!(phone.incarnation(), Incarnation::Renewed { .. }));
    // Written before any sync: with the old id this would be dot 2 again, which the server
    // already holds for "n2", and nothing would ever be exchanged.
    write(&phone, "s", "n3", "after the restore");
    sync(&phone, &server, "s");
    let expected = vec![
        ("n1".to_owned(), "before the backup".to_owned()),
        ("n2".to_owned(), "after the backup, synced, then lost".to_owned()),
        ("n3".to_owned(), "after the restore".to_owned()),
    ];
    assert_eq!(titles(&phone, "s"), expected);
    assert_eq!(titles(&server, "s"), expected);
    assert_eq!(phone.version_vector("s").expect("vv"), server.version_vector("s").expect("vv"));
}

/// A backup taken while the app runs (no close, no reopen between the backup and later
/// writes) is caught too: the restored file's clock is behind the marker's.
#[test]
fn a_store_restored_from_a_backup_taken_while_it_ran_is_caught() {
    let dir = tempfile::tempdir().expect("dir");
    let phone_path = dir.path().join("phone.almanac");
    let server = store_at(&dir.path().join("server.almanac"));
    let backup = dir.path().join("backup.almanac");
    {
        let phone = store_at(&phone_path);
        write(&phone, "s", "n1", "one");
        phone.checkpoint().expect("checkpoint");
        fs::copy(&phone_path, &backup).expect("backup of the running store");
        write(&phone, "s", "n2", "two");
        sync(&phone, &server, "s");
    }
    fs::copy(&backup, &phone_path).expect("restore");
    let wal_of_phone = wal_path(&phone_path);
    let _ = fs::remove_file(wal_of_phone);
    let phone = store_at(&phone_path);
    assert!(matches!(phone.incarnation(), Incarnation::Renewed { .. }));
    write(&phone, "s", "n3", "three");
    sync(&phone, &server, "s");
    assert_eq!(titles(&phone, "s").len(), 3);
    assert_eq!(titles(&phone, "s"), titles(&server, "s"));
}

/// The same with the marker disabled shows what the marker prevents: the restored store
/// reuses a dot and the two sides stop exchanging while their states differ.
#[test]
fn without_the_marker_a_restored_store_diverges_silently() {
    let dir = tempfile::tempdir().expect("dir");
    let phone_path = dir.path().join("phone.almanac");
    let options = || StoreOptions { device_marker: DeviceMarker::Disabled, ..Default::default() };
    let server = store_at(&dir.path().join("server.almanac"));
    let backup = dir.path().join("backup.almanac");
    {
        let phone = Store::open_with(&phone_path, options()).expect("open");
        write(&phone, "s", "n1", "one");
        sync(&phone, &server, "s");
        phone.close().expect("close");
        fs::copy(&phone_path, &backup).expect("backup");
        let phone = Store::open_with(&phone_path, options()).expect("open");
        write(&phone, "s", "n2", "two");
        sync(&phone, &server, "s");
    }
    fs::copy(&backup, &phone_path).expect("restore");
    let phone = Store::open_with(&phone_path, options()).expect("open");
    write(&phone, "s", "n3", "three");
    sync(&phone, &server, "s");
    assert_eq!(phone.version_vector("s").expect("vv"), server.version_vector("s").expect("vv"));
    assert_ne!(titles(&phone, "s"), titles(&server, "s"));
}

/// A store copied to a second device (without its marker): both copies keep writing and
/// syncing through a third replica, and nothing either wrote is lost.
#[test]
fn a_store_copied_to_a_second_device_keeps_both_copies_writes() {
    let dir = tempfile::tempdir().expect("dir");
    let first_path = dir.path().join("first.almanac");
    let server = store_at(&dir.path().join("server.almanac"));
    let first = store_at(&first_path);
    write(&first, "s", "shared", "written before the copy");
    first.checkpoint().expect("checkpoint");
    let second_path = dir.path().join("second.almanac");
    fs::copy(&first_path, &second_path).expect("copy");
    let second = store_at(&second_path);
    assert!(
        matches!(second.incarnation(), Incarnation::Renewed { previous } if previous == first.replica_id())
    );
    assert_ne!(first.replica_id(), second.replica_id());
    write(&first, "s", "a", "by the first");
    write(&second, "s", "b", "by the second");
    sync(&first, &server, "s");
    sync(&second, &server, "s");
    sync(&first, &server, "s");
    let all = titles(&server, "s");
    assert_eq!(all.len(), 3, "{all:?}");
    assert_eq!(titles(&first, "s"), all);
    assert_eq!(titles(&second, "s"), all);
}

/// Runs the sync protocol between two stores over `space`, as an app would: a session that
/// made a store renew its replica id (`ReplicaRenewed`) is simply run again. Returns how many
/// sessions it took.
fn protocol_sync(a: &Store, b: &Store, space: &str) -> usize {
    use almanac_core::sync::SessionConfig;
    use almanac_core::sync::transport::sync_in_process;
    let config = || SessionConfig::new(vec![almanac_core::SpaceId::new(space).expect("space")]);
    for store in [a, b] {
        store.join_space(space).expect("join");
    }
    for attempt in 1..=3 {
        match sync_in_process(a, config(), b, config()) {
            Ok(_) => return attempt,
            Err(Error::ReplicaRenewed { previous, current }) => assert_ne!(previous, current),
            Err(error) => panic!("sync failed: {error}"),
        }
    }
    panic!("sync kept renewing");
}

/// Copies a store and its device marker block by block, as cloning a whole disk does (a
/// virtual machine cloned, a disk image written to a second computer): the copy cannot tell
/// itself from the original when it opens, and only sync can (decision 0028).
fn copy_with_marker(from: &Store, from_path: &Path, to_path: &Path) -> Store {
    from.checkpoint().expect("checkpoint");
    almanac_core::storage::sqlite::incarnation::copy_like_a_disk_clone(from_path, to_path)
        .expect("clone");
    let copy = store_at(to_path);
    assert_eq!(copy.incarnation(), Incarnation::Continued);
    assert_eq!(copy.replica_id(), from.replica_id());
    copy
}

/// A store copied file by file together with its device marker (`cp -r`, a folder synced
/// between computers, app data restored with a marker that should have stayed out of
/// backups) is a new file: it finds out when it opens, before writing anything, and both
/// copies keep everything (decision 0028). The original carries on as it was.
#[test]
fn a_store_file_copied_with_its_marker_is_caught_when_it_opens() {
    let dir = tempfile::tempdir().expect("dir");
    let first_path = dir.path().join("first.almanac");
    let server = store_at(&dir.path().join("server.almanac"));
    let first = store_at(&first_path);
    write(&first, "s", "n1", "before the copy");
    first.checkpoint().expect("checkpoint");
    let second_path = dir.path().join("second.almanac");
    fs::copy(&first_path, &second_path).expect("copy the store");
    let marker = |p: &Path| PathBuf::from(format!("{}.device", p.display()));
    fs::copy(marker(&first_path), marker(&second_path)).expect("copy the marker");
    let second = store_at(&second_path);
    assert_eq!(second.incarnation(), Incarnation::Renewed { previous: first.replica_id() });
    assert_ne!(second.replica_id(), first.replica_id());
    write(&first, "s", "a", "by the first");
    write(&second, "s", "b", "by the second");
    assert_eq!(protocol_sync(&first, &server, "s"), 1);
    assert_eq!(protocol_sync(&second, &server, "s"), 1, "nothing left for sync to find");
    assert_eq!(protocol_sync(&first, &server, "s"), 1);
    let ids: Vec<String> = titles(&server, "s").into_iter().map(|(id, _)| id).collect();
    assert_eq!(ids, ["a", "b", "n1"]);
    assert_eq!(titles(&first, "s"), titles(&server, "s"));
    assert_eq!(titles(&second, "s"), titles(&server, "s"));
    // The original, opened again, is still the file its marker names; an open that finds
    // the marker as it left it does not rewrite it.
    drop(first);
    let modified = || fs::metadata(marker(&first_path)).and_then(|m| m.modified()).expect("mtime");
    let before = modified();
    let first = store_at(&first_path);
    assert_eq!(first.incarnation(), Incarnation::Continued);
    assert_eq!(modified(), before);
}

/// A store copied together with its marker, after it synced: both copies write (to new records
/// and to one shared record) and sync through a server. The copy that syncs second finds the
/// server holding writes of its id it never sent, moves its own unsent writes to a fresh id and
/// syncs again: everything either copy wrote ends everywhere, the two edits of one field as a
/// conflict.
#[test]
fn a_store_copied_with_its_marker_is_caught_by_sync_and_loses_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let first_path = dir.path().join("first.almanac");
    let server = store_at(&dir.path().join("server.almanac"));
    let first = store_at(&first_path);
    write(&first, "s", "shared", "before the copy");
    assert_eq!(protocol_sync(&first, &server, "s"), 1);
    let second = copy_with_marker(&first, &first_path, &dir.path().join("second.almanac"));
    write(&first, "s", "a", "by the first");
    write(&first, "s", "shared", "edited by the first");
    write(&second, "s", "b", "by the second");
    write(&second, "s", "shared", "edited by the second");
    assert_eq!(protocol_sync(&first, &server, "s"), 1);
    // Same dots, other writes: the server's vector already claims them.
    assert_eq!(protocol_sync(&second, &server, "s"), 2, "the copy renews once, then syncs");
    assert!(
        matches!(second.incarnation(), Incarnation::Renewed { previous } if previous == first.replica_id())
    );
    assert_ne!(second.replica_id(), first.replica_id());
    assert_eq!(protocol_sync(&first, &server, "s"), 1, "the first copy carries on as it was");
    let all = titles(&server, "s");
    let ids: Vec<&str> = all.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "shared"]);
    assert_eq!(titles(&first, "s"), all);
    assert_eq!(titles(&second, "s"), all);
    for store in [&first, &second] {
        assert_eq!(store.version_vector("s").expect("vv"), server.version_vector("s").expect("vv"));
    }
    // Neither edit of the shared title is lost: one is shown, the other is its conflict.
    let shared = server.get("s", "notes", "shared").expect("read").expect("live");
    let mut seen: Vec<String> = shared
        .conflicts("title")
        .into_iter()
        .filter_map(|v| v.as_text().map(str::to_owned))
        .collect();
    seen.push(shared.value("title").and_then(Value::as_text).unwrap_or_default().to_owned());
    seen.sort();
    seen.dedup();
    assert_eq!(seen, ["edited by the first", "edited by the second"]);
}

/// The same when the copy is made before either copy ever synced, and the two copies then
/// meet directly: the first to hear the other's `Hello` (its own id) renews, and the next
/// session brings everything together.
#[test]
fn copies_that_meet_each_other_renew_and_lose_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let first_path = dir.path().join("first.almanac");
    let first = store_at(&first_path);
    write(&first, "s", "n1", "before the copy");
    let second = copy_with_marker(&first, &first_path, &dir.path().join("second.almanac"));
    let id = first.replica_id();
    write(&first, "s", "a", "by the first");
    write(&second, "s", "b", "by the second");
    assert_eq!(protocol_sync(&first, &second, "s"), 2);
    // The side that heard the other's Hello first renewed; the other carries on.
    assert!(first.replica_id() != id || second.replica_id() != id);
    assert_ne!(first.replica_id(), second.replica_id());
    let ids: Vec<String> = titles(&first, "s").into_iter().map(|(id, _)| id).collect();
    assert_eq!(ids, ["a", "b", "n1"]);
    assert_eq!(titles(&first, "s"), titles(&second, "s"));
    assert_eq!(first.version_vector("s").expect("vv"), second.version_vector("s").expect("vv"));
}

/// A device the others stopped waiting for (the server retired it, decision 0025): while it
/// was away they removed an alarm it had, deleted a record it then edited, and purged both
/// once stable without it. It re-joins: fetches the space again and writes its own unsent
/// writes again on top. Everyone ends identical; its edits survive (the one to the deleted
/// record in the trash), and the purged alarm does not come back.
#[test]
fn a_retired_device_rejoins_and_keeps_its_unsent_writes() {
    let dir = tempfile::tempdir().expect("dir");
    let server = store_at(&dir.path().join("server.almanac"));
    let phone = store_at(&dir.path().join("phone.almanac"));
    let laptop = store_at(&dir.path().join("laptop.almanac"));
    let alarm = |store: &Store, key: &str, value: i64| {
        store.transaction("s").set_member("notes", "e", "alarms", key, "minutes", value).commit()
    };
    write(&phone, "s", "e", "event");
    alarm(&phone, "a1", 15).expect("alarm");
    write(&phone, "s", "d", "to be deleted");
    protocol_sync(&phone, &server, "s");
    protocol_sync(&laptop, &server, "s");

    // The laptop, offline for months: edits, a new alarm, a new note, an edit of `d`.
    write(&laptop, "s", "e", "edited on the laptop");
    alarm(&laptop, "a2", 5).expect("alarm");
    write(&laptop, "s", "l1", "new on the laptop");
    write(&laptop, "s", "d", "edited while deleted elsewhere");
    // Meanwhile: a1 removed and d deleted, then purged everywhere the laptop is not waited for.
    phone.transaction("s").remove_member("notes", "e", "alarms", "a1").commit().expect("remove");
    phone.transaction("s").delete("notes", "d").commit().expect("delete");
    protocol_sync(&phone, &server, "s");
    let stable = server.version_vector("s").expect("vv");
    for store in [&phone, &server] {
        let report = store.collect_garbage("s", &stable, Duration::ZERO).expect("collect");
        assert_eq!((report.members_purged, report.records_purged), (1, 1), "{report:?}");
    }

    // The laptop learns it was left out: the stable point claims what it has not seen.
    assert!(!laptop.version_vector("s").expect("vv").dominates(&stable));
    assert!(laptop.rejoin_space("s").expect("rejoin"));
    assert!(laptop.rejoin_pending("s").expect("pending"));
    assert!(!laptop.rejoin_space("s").expect("a second rejoin waits for the first"));
    protocol_sync(&laptop, &server, "s");
    laptop.finish_rejoin("s").expect("finish");
    assert!(!laptop.rejoin_pending("s").expect("pending"));
    protocol_sync(&laptop, &server, "s");
    protocol_sync(&phone, &server, "s");

    for store in [&phone, &laptop] {
        assert_eq!(
            titles(store, "s"),
            [
                ("e".to_owned(), "edited on the laptop".to_owned()),
                ("l1".to_owned(), "new on the laptop".to_owned())
            ]
        );
        let e = store.get("s", "notes", "e").expect("read").expect("live");
        let alarms: Vec<&str> = e.members("alarms").keys().copied().collect();
        assert_eq!(alarms, ["a2"], "the purged removal of a1 holds, a2 is kept");
        let d = store.get_any("s", "notes", "d").expect("read").expect("in the trash");
        assert!(d.state.is_deleted());
        assert_eq!(
            d.value("title").and_then(Value::as_text),
            Some("edited while deleted elsewhere")
        );
        assert_eq!(store.version_vector("s").expect("vv"), server.version_vector("s").expect("vv"));
    }
}

/// Finding 4: each space has its own version vector, so syncing one calendar never claims the
/// others as seen; joining another later brings all of it.
#[test]
fn spaces_sync_independently_and_a_space_joined_later_arrives_whole() {
    let dir = tempfile::tempdir().expect("dir");
    let phone = store_at(&dir.path().join("phone.almanac"));
    let laptop = store_at(&dir.path().join("laptop.almanac"));
    write(&phone, "work", "w1", "standup");
    write(&phone, "home", "h1", "dentist");
    sync(&phone, &laptop, "work");
    let held: Vec<String> =
        laptop.spaces().expect("spaces").into_iter().map(String::from).collect();
    assert_eq!(held, ["work"]);
    assert!(matches!(laptop.version_vector("home"), Err(Error::SpaceNotHeld(_))));
    // A delta of a space the receiver does not hold is refused, not half-claimed.
    let home = phone.delta_since("home", &VersionVector::new()).expect("delta");
    assert!(matches!(laptop.apply(&home), Err(Error::SpaceNotHeld(_))));
    write(&phone, "home", "h2", "groceries");
    sync(&phone, &laptop, "home");
    assert_eq!(titles(&laptop, "home"), titles(&phone, "home"));
    assert_eq!(titles(&laptop, "home").len(), 2);
    // Leaving drops the space's data and its version vector.
    laptop.leave_space("home").expect("leave");
    assert!(!laptop.holds_space("home").expect("holds"));
    assert!(laptop.get("home", "notes", "h1").expect("read").is_none());
    assert_eq!(titles(&laptop, "work").len(), 1);
    // ... and the clock rows of its records (they name no space, decision 0035).
    crate::support::assert_clock_index_matches(&laptop);
    // Joining again starts from nothing and gets everything back.
    sync(&phone, &laptop, "home");
    assert_eq!(titles(&laptop, "home").len(), 2);
    crate::support::assert_clock_index_matches(&laptop);
}

/// The writer remembers each space's row id between commits (decision 0042); a left space's
/// row id is given to the next space created, so leaving, in this store or in another one on
/// the same file, must make it look the space up again. Writes go to the space they name.
#[test]
fn writes_after_a_space_is_left_go_to_the_space_they_name() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("s.almanac");
    let store = store_at(&path);
    write(&store, "work", "w1", "standup");
    store.leave_space("work").expect("leave");
    // "home" now gets the row id "work" had; "work" written again is a new, separate space.
    write(&store, "home", "h1", "dentist");
    write(&store, "work", "w2", "review");
    assert_eq!(titles(&store, "home"), [("h1".to_owned(), "dentist".to_owned())]);
    assert_eq!(titles(&store, "work"), [("w2".to_owned(), "review".to_owned())]);

    // The same through a second store on the file: its leave is another connection's write.
    let other = store_at(&path);
    other.leave_space("work").expect("leave");
    other.leave_space("home").expect("leave");
    write(&other, "school", "s1", "exam");
    write(&store, "work", "w3", "retro");
    assert_eq!(titles(&store, "school"), [("s1".to_owned(), "exam".to_owned())]);
    assert_eq!(titles(&store, "work"), [("w3".to_owned(), "retro".to_owned())]);
    assert!(!store.holds_space("home").expect("holds"));
    crate::support::assert_clock_index_matches(&store);
}

#[test]
fn the_same_record_id_in_two_spaces_is_two_records() {
    let dir = tempfile::tempdir().expect("dir");
    let store = store_at(&dir.path().join("s.almanac"));
    write(&store, "alice", "n", "Alice's");
    write(&store, "bob", "n", "Bob's");
    assert_eq!(titles(&store, "alice"), [("n".to_owned(), "Alice's".to_owned())]);
    assert_eq!(titles(&store, "bob"), [("n".to_owned(), "Bob's".to_owned())]);
    assert!(store.transaction("not a space id").set("notes", "n", "t", 1i64).commit().is_err());
}

/// Finding 7: events reach subscribers in commit order even when several threads commit at
/// once, and never two at a time.
#[test]
fn notifications_arrive_in_commit_order_from_many_threads() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Arc::new(store_at(&dir.path().join("s.almanac")));
    let heard: Arc<Mutex<Vec<i64>>> = Arc::default();
    let busy = Arc::new(Mutex::new(()));
    let _subscription = {
        let heard = Arc::clone(&heard);
        let busy = Arc::clone(&busy);
        store.subscribe(move |_| {
            let _one_at_a_time = busy.try_lock().expect("two callbacks ran at once");
            heard.lock().expect("lock").push(0);
        })
    };
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                for n in 0..50 {
                    store
                        .transaction("s")
                        .set("notes", &format!("t{t}"), "n", n as i64)
                        .commit()
                        .expect("commit");
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("thread");
    }
    assert_eq!(heard.lock().expect("lock").len(), 200);
}

#[test]
fn events_are_delivered_in_the_order_of_their_dots() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Arc::new(store_at(&dir.path().join("s.almanac")));
    let order: Arc<Mutex<Vec<u64>>> = Arc::default();
    let _subscription = {
        let order = Arc::clone(&order);
        let reader = Arc::clone(&store);
        store.subscribe(move |event: &ChangeEvent| {
            // A callback may use the store it listens to.
            let id = &event.records[0].id;
            let n: u64 = id[1..].parse().expect("id");
            order.lock().expect("lock").push(n);
            let _ = reader.replica_id();
        })
    };
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                for n in 0..25u64 {
                    let id = format!("n{}", t * 1000 + n);
                    store.transaction("s").set("notes", &id, "x", 1i64).commit().expect("commit");
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("thread");
    }
    let order = order.lock().expect("lock").clone();
    // Each thread's own commits are in its order; and all 100 arrived exactly once.
    for t in 0..4u64 {
        let mine: Vec<u64> = order.iter().copied().filter(|n| n / 1000 == t).collect();
        assert!(mine.windows(2).all(|w| w[0] < w[1]), "thread {t}: {mine:?}");
    }
    assert_eq!(order.len(), 100);
}

/// Finding 7: a subscriber that panics neither turns a durable commit into an error nor keeps
/// the other subscribers from hearing of it.
#[test]
fn a_panicking_subscriber_is_isolated() {
    let dir = tempfile::tempdir().expect("dir");
    let store = store_at(&dir.path().join("s.almanac"));
    let _bad = store.subscribe(|_| panic!("a bug in the app's subscriber"));
    let heard: Arc<Mutex<Vec<Origin>>> = Arc::default();
    let _good = {
        let heard = Arc::clone(&heard);
        store.subscribe(move |event| heard.lock().expect("lock").push(event.origin))
    };
    store.transaction("s").set("notes", "n", "title", "kept").commit().expect("commit succeeds");
    store.transaction("s").set("notes", "n", "title", "again").commit().expect("commit succeeds");
    assert_eq!(*heard.lock().expect("lock"), [Origin::Local, Origin::Local]);
    assert!(store.get("s", "notes", "n").expect("read").is_some());
}

/// Finding 7: closing (or dropping) a store folds the write-ahead log into the file and
/// removes it, even after reads opened pooled connections.
#[test]
fn closing_or_dropping_a_store_removes_its_write_ahead_log() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("s.almanac");
    let store = store_at(&path);
    write(&store, "s", "n", "one");
    assert!(store.get("s", "notes", "n").expect("read").is_some());
    assert!(wal_path(&path).exists());
    drop(store);
    assert!(!wal_path(&path).exists(), "dropping left the -wal file behind");

    let store = store_at(&path);
    write(&store, "s", "n", "two");
    assert!(store.get("s", "notes", "n").expect("read").is_some());
    store.close().expect("close");
    assert!(!wal_path(&path).exists(), "closing left the -wal file behind");
    let store = store_at(&path);
    assert_eq!(titles(&store, "s"), [("n".to_owned(), "two".to_owned())]);
}
