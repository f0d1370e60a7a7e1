//! Telling a store restored from a backup (or copied to another device) from the store that
//! kept running, so neither ever reuses a dot the other made.
//!
//! The store file carries an *incarnation* (16 random bytes). A small marker file, kept where
//! backups and device-to-device copies do not reach (iOS: a file with `isExcludedFromBackup`;
//! Android: `Context.getNoBackupFilesDir()`; by default next to the store as `<store>.device`),
//! holds the replica id, the incarnation and the store's clock after its latest commit. A store
//! whose clock is *behind* its marker went back in time (restored from a backup, even one taken
//! while the app ran); a store whose incarnation differs or whose marker is missing was copied
//! or restored elsewhere. A marker also names the store *file* it saw (its inode number and
//! creation time): a store copied together with its marker (a folder copied between
//! computers, a phone's app data restored with the marker) is a new file, so it no longer
//! passes for the original. Either way the store takes a fresh replica id before it writes
//! anything: the old id's writes stay what they were, and new writes can never collide with
//! writes the other copy made under the old id. See
//! `docs/decisions/0013-spaces-and-restored-stores.md` and
//! `docs/decisions/0028-copies-caught-by-their-file.md`.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, Transaction};

use super::view::DerivedView;

use crate::crdt::{Hlc, ReplicaId};
use crate::error::{Error, Result};

/// Where the marker of a store lives.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub enum DeviceMarker {
    /// `<store path>.device`, next to the store (fine for tools and tests; an app should name a
    /// place outside its backups).
    #[default]
    BesideStore,
    /// This file (create its folder first).
    At(PathBuf),
    /// No marker: restores and copies are not detected (for servers, whose data is never
    /// restored behind their back, and for in-process tools).
    Disabled,
}

impl DeviceMarker {
    fn path(&self, store: &Path) -> Option<PathBuf> {
        match self {
            DeviceMarker::BesideStore => {
                let mut path = store.as_os_str().to_owned();
                path.push(".device");
                Some(PathBuf::from(path))
            }
            DeviceMarker::At(path) => Some(path.clone()),
            DeviceMarker::Disabled => None,
        }
    }
}

/// What opening found.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Incarnation {
    /// The store is the one this device has been running.
    Continued,
    /// The store did not match its marker (restored from a backup, copied from another device,
    /// or the marker was lost): it now writes as a new replica, `previous` is the id it had.
    Renewed {
        /// The replica id the file had.
        previous: ReplicaId,
    },
}

/// Markers written before they named the store file (read, never written).
const HEADER_1: &str = "almanac-device-marker 1";
const HEADER: &str = "almanac-device-marker 2";

/// Which file a store is. A copy of a file is a new file, with a new inode number (and, where
/// the file system keeps one, a new creation time), even when its bytes are the same; the
/// file a store keeps writing to never changes (SQLite writes in place, never replaces it).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct FileIdentity {
    inode: u64,
    /// Nanoseconds since 1970; 0 where the file system does not say.
    created: u64,
}

impl FileIdentity {
    /// The identity of the file at `path`, if the platform tells one (an in-memory store or a
    /// platform without inode numbers has none, and is then checked as before markers named
    /// files).
    fn of(path: &Path) -> Option<FileIdentity> {
        let metadata = fs::metadata(path).ok()?;
        let created = metadata
            .created()
            .ok()
            .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok())
            .and_then(|since| u64::try_from(since.as_nanos()).ok())
            .unwrap_or(0);
        Some(FileIdentity { inode: inode(&metadata)?, created })
    }

    /// Whether `self` (what a marker recorded) may be the file `now` is. A creation time that
    /// either side lacks is not compared.
    fn may_be(&self, now: &FileIdentity) -> bool {
        self.inode == now.inode
            && (self.created == 0 || now.created == 0 || self.created == now.created)
    }
}

#[cfg(unix)]
fn inode(metadata: &fs::Metadata) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    Some(metadata.ino())
}

#[cfg(not(unix))]
fn inode(_: &fs::Metadata) -> Option<u64> {
    None
}

/// What a marker says.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Marked {
    replica: ReplicaId,
    incarnation: [u8; 16],
    hlc: Hlc,
    /// The store file the marker saw; `None` in a format-1 marker, or where the platform has
    /// no file identity.
    file: Option<FileIdentity>,
}

/// The marker's text. Fixed width, so later updates overwrite it in place. A missing file
/// identity is written as zeros (no file has inode 0).
fn marker_text(marked: &Marked) -> String {
    let incarnation = ReplicaId::from_bytes(marked.incarnation);
    let file = marked.file.unwrap_or(FileIdentity { inode: 0, created: 0 });
    format!(
        "{HEADER}\n{} {incarnation} {:020} {:010} {:020} {:020}\n",
        marked.replica, marked.hlc.millis, marked.hlc.logical, file.inode, file.created
    )
}

fn read_marker(path: &Path) -> Result<Option<Marked>> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        // A marker that cannot be read as text is as good as none: renewing is always safe.
        Err(e) if e.kind() == ErrorKind::InvalidData => return Ok(None),
        Err(e) => return Err(Error::Io(e)),
    };
    Ok(parse_marker(&text))
}

/// A marker's text read back; `None` when it is not a marker this build understands (renewing
/// is always safe).
fn parse_marker(text: &str) -> Option<Marked> {
    let mut lines = text.lines();
    let names_file = match lines.next()? {
        HEADER => true,
        HEADER_1 => false,
        _ => return None,
    };
    let mut parts = lines.next()?.split(' ');
    let replica = parts.next()?.parse::<ReplicaId>().ok()?;
    let incarnation = parts.next()?.parse::<ReplicaId>().ok()?.to_bytes();
    let millis = parts.next()?.parse::<u64>().ok()?;
    let logical = parts.next()?.parse::<u32>().ok()?;
    let file = if names_file {
        let inode = parts.next()?.parse::<u64>().ok()?;
        let created = parts.next()?.parse::<u64>().ok()?;
        (inode != 0).then_some(FileIdentity { inode, created })
    } else {
        None
    };
    if parts.next().is_some() {
        return None;
    }
    Some(Marked { replica, incarnation, hlc: Hlc { millis, logical }, file })
}

fn write_marker(path: &Path, marked: &Marked) -> Result<()> {
    // Write a temporary file and rename it, so a crash never leaves half a marker.
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    let mut file = File::create(&temporary)?;
    file.write_all(marker_text(marked).as_bytes())?;
    file.sync_all()?;
    fs::rename(&temporary, path)?;
    Ok(())
}

/// An open marker the store brings up to date after its commits.
#[derive(Debug)]
pub struct Marker {
    file: File,
    replica: ReplicaId,
    incarnation: [u8; 16],
    store_file: Option<FileIdentity>,
}

impl Marker {
    /// Records the store's clock after a commit. Not flushed to disk: a marker that lags
    /// behind after a crash only makes detection a little less eager, never wrong (a store is
    /// renewed only when its clock is behind the marker). Failing to write it must not fail
    /// the commit, which is durable already, so errors are ignored.
    ///
    /// Only the clock's digits are written, in place: the rest of the marker is what `check`
    /// or `renew` wrote, and formatting the two ids on every commit cost 7% of a one-field
    /// edit's instructions.
    pub fn record(&mut self, hlc: Hlc) {
        let mut field = [b' '; CLOCK_LEN];
        write_digits(&mut field[..20], hlc.millis);
        write_digits(&mut field[21..], u64::from(hlc.logical));
        let _ = write_at(&mut self.file, &field, CLOCK_AT);
    }
}

/// Writes `bytes` at offset `at`: one `pwrite` on Unix (iOS and Android included), where a
/// seek and a write were two system calls on every commit.
#[cfg(unix)]
fn write_at(file: &mut File, bytes: &[u8], at: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, bytes, at)
}

#[cfg(not(unix))]
fn write_at(file: &mut File, bytes: &[u8], at: u64) -> std::io::Result<()> {
    file.seek(SeekFrom::Start(at)).and_then(|_| file.write_all(bytes))
}

/// Where the clock (`{millis:020} {logical:010}`) is in a marker's text, in both formats: after
/// the header line and the two 32-digit ids. Fixed, because the fields are fixed width.
const CLOCK_AT: u64 = (HEADER.len() + 1 + 32 + 1 + 32 + 1) as u64;
const CLOCK_LEN: usize = 20 + 1 + 10;

/// Writes `n` in decimal right-aligned into `out`, padded with zeros (`out` is wide enough for
/// the numbers the marker holds: 20 digits for a u64, 10 for a u32).
fn write_digits(out: &mut [u8], mut n: u64) {
    for digit in out.iter_mut().rev() {
        *digit = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

impl Marker {
    /// Records the store's new replica id after sync renewed it (the store has committed it
    /// already). A marker left with the old id only makes the next open renew once more, with
    /// an id nobody wrote under, which is safe; so errors are ignored here too.
    pub fn renew(&mut self, replica: ReplicaId, hlc: Hlc) {
        self.replica = replica;
        let text = marker_text(&Marked {
            replica,
            incarnation: self.incarnation,
            hlc,
            file: self.store_file,
        });
        let _ =
            self.file.seek(SeekFrom::Start(0)).and_then(|_| self.file.write_all(text.as_bytes()));
        let _ = self.file.sync_all();
    }
}

fn stored_incarnation(conn: &Connection) -> Result<Option<[u8; 16]>> {
    let bytes: Option<Vec<u8>> = conn
        .query_row("SELECT value FROM meta WHERE key = 'incarnation'", [], |row| row.get(0))
        .optional()?;
    bytes
        .map(|b| b.try_into().map_err(|_| Error::Corrupt("the incarnation is not 16 bytes".into())))
        .transpose()
}

fn random_bytes() -> Result<[u8; 16]> {
    Ok(ReplicaId::random()?.to_bytes())
}

/// Compares the store with its marker inside the writer's transaction `tx` (so two processes
/// opening one restored file agree on one new id) and renews the replica id when the store is
/// not the one the marker last saw. Returns the outcome and the open marker (none when
/// disabled).
pub fn check(
    tx: &Transaction<'_>,
    store: &Path,
    marker: &DeviceMarker,
    views: &[Arc<dyn DerivedView>],
) -> Result<(Incarnation, Option<Marker>)> {
    let Some(marker_path) = marker.path(store) else { return Ok((Incarnation::Continued, None)) };
    let replica = super::replica_id(tx)?;
    let hlc = super::load_hlc(tx)?;
    let stored = stored_incarnation(tx)?;
    let found = read_marker(&marker_path)?;
    let store_file = FileIdentity::of(store);
    let outcome = match (stored, found) {
        // A new store, or one from before markers existed: nothing to compare with yet.
        (None, _) => Incarnation::Continued,
        // The store is the one the marker saw last, at its clock or later, in the same file.
        (Some(stored), Some(found))
            if found.replica == replica
                && found.incarnation == stored
                && hlc >= found.hlc
                && same_file(found.file, store_file) =>
        {
            Incarnation::Continued
        }
        _ => Incarnation::Renewed { previous: replica },
    };
    let replica = match outcome {
        Incarnation::Continued => replica,
        Incarnation::Renewed { .. } => ReplicaId::random()?,
    };
    let incarnation = match (outcome, stored) {
        (Incarnation::Continued, Some(stored)) => stored,
        _ => random_bytes()?,
    };
    let marked = Marked { replica, incarnation, hlc, file: store_file };
    // Marker first: if we crash before the store commits, the two still differ and the next
    // open renews again, with an id nobody ever wrote with. Unchanged, it is not rewritten:
    // an open then costs no file write and no flush.
    if found != Some(marked) {
        write_marker(&marker_path, &marked)?;
    }
    if stored != Some(incarnation) {
        tx.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('incarnation', ?1)",
            [incarnation.to_vec()],
        )?;
    }
    if let Incarnation::Renewed { .. } = outcome {
        // Like a renewal found by sync: the old id's writes this store never sent move to the
        // new id. A restored or copied store may also be a copy whose original used the same
        // counters; left under the old id, such a write could never be told from the
        // original's (decision 0025, "copy, then restore"). For a file copy of a store whose
        // twin is a disk clone this matters too (decision 0028), so copies re-stamp as well.
        super::renew::renew_to(tx, views, replica)?;
    }
    let file = OpenOptions::new().write(true).open(&marker_path)?;
    Ok((outcome, Some(Marker { file, replica, incarnation, store_file })))
}

/// Whether the marker's file may be the store's file. Unknown on either side (a format-1
/// marker, a platform without inode numbers) counts as the same: the other checks still hold.
fn same_file(marked: Option<FileIdentity>, now: Option<FileIdentity>) -> bool {
    match (marked, now) {
        (Some(marked), Some(now)) => marked.may_be(&now),
        _ => true,
    }
}

/// Copies the store file `from` (closed, or checkpointed with nothing written since) to `to`
/// with its marker beside it, as a block-level copy of a whole disk does (a cloned virtual
/// machine, a disk image written to a second machine): the copied marker describes the
/// copy's file just as the original's describes the original, so the copy opens as the
/// original. No file-level copy can do that; tests use this to reach the cases only sync can
/// catch (decision 0028). Markers elsewhere than beside the store are not copied.
#[doc(hidden)]
pub fn copy_like_a_disk_clone(from: &Path, to: &Path) -> Result<()> {
    fs::copy(from, to)?;
    let (Some(from_marker), Some(to_marker)) =
        (DeviceMarker::BesideStore.path(from), DeviceMarker::BesideStore.path(to))
    else {
        return Ok(());
    };
    match read_marker(&from_marker)? {
        Some(marked) => write_marker(&to_marker, &Marked { file: FileIdentity::of(to), ..marked }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1: &str = include_str!("../../../tests/fixtures/device-marker-v1.txt");
    const V2: &str = include_str!("../../../tests/fixtures/device-marker-v2.txt");

    fn fixture_marked(file: Option<FileIdentity>) -> Marked {
        Marked {
            replica: "1fdd05cc00112233445566778899aabb".parse().expect("id"),
            incarnation: "0123456789abcdef0123456789abcdef"
                .parse::<ReplicaId>()
                .expect("incarnation")
                .to_bytes(),
            hlc: Hlc { millis: 1_796_099_237_561, logical: 3 },
            file,
        }
    }

    /// The marker formats are pinned: format 2 is written byte for byte as the golden file,
    /// and format 1 (no file identity) is still read.
    #[test]
    fn marker_formats_are_pinned() {
        let v2 = fixture_marked(Some(FileIdentity {
            inode: 131_075,
            created: 1_796_099_100_123_456_789,
        }));
        assert_eq!(marker_text(&v2), V2);
        assert_eq!(parse_marker(V2), Some(v2));
        assert_eq!(parse_marker(V1), Some(fixture_marked(None)));
        // No identity is written as zeros and read back as none.
        assert_eq!(parse_marker(&marker_text(&fixture_marked(None))), Some(fixture_marked(None)));
    }

    /// A commit rewrites only the clock's digits: the result must be the marker `check` would
    /// write with the new clock, in both formats (a format-1 marker is rewritten as format 2
    /// when a store opens, but the field sits at the same place in both).
    #[test]
    fn a_commit_rewrites_the_clock_in_place() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("marker");
        let hlc = Hlc { millis: 1_896_099_237_561, logical: 4_294_967_295 };
        for (text, file) in [
            (V2, Some(FileIdentity { inode: 131_075, created: 1_796_099_100_123_456_789 })),
            (V1, None),
        ] {
            fs::write(&path, text).expect("write");
            let marked = fixture_marked(file);
            let mut marker = Marker {
                file: OpenOptions::new().write(true).open(&path).expect("open"),
                replica: marked.replica,
                incarnation: marked.incarnation,
                store_file: file,
            };
            marker.record(hlc);
            let written = fs::read_to_string(&path).expect("read");
            assert_eq!(parse_marker(&written), Some(Marked { hlc, ..marked }));
            if file.is_some() {
                assert_eq!(written, marker_text(&Marked { hlc, ..marked }));
            }
        }
    }

    #[test]
    fn a_damaged_or_unknown_marker_is_none() {
        assert_eq!(parse_marker(""), None);
        assert_eq!(parse_marker(&V2.replace("marker 2", "marker 3")), None);
        assert_eq!(parse_marker(&V2.replace(" 01796099100123456789", "")), None);
        assert_eq!(parse_marker(&V2.replace("\n", " 7\n")), None);
        assert_eq!(parse_marker(&V2.replace("00000000000000131075", "-0000000000000131075")), None);
    }

    #[cfg(unix)]
    #[test]
    fn a_copied_file_is_another_file_and_a_written_one_is_the_same() {
        let dir = tempfile::tempdir().expect("dir");
        let (original, copy) = (dir.path().join("a"), dir.path().join("b"));
        fs::write(&original, b"store").expect("write");
        let before = FileIdentity::of(&original).expect("identity");
        fs::copy(&original, &copy).expect("copy");
        let mut file = OpenOptions::new().append(true).open(&original).expect("open");
        file.write_all(b" and more").expect("write");
        file.sync_all().expect("sync");
        assert!(before.may_be(&FileIdentity::of(&original).expect("identity")));
        assert!(!before.may_be(&FileIdentity::of(&copy).expect("identity")));
        assert!(same_file(None, FileIdentity::of(&copy)), "a format-1 marker names no file");
        assert!(FileIdentity::of(&dir.path().join("missing")).is_none());
    }

    #[test]
    fn only_a_creation_time_both_sides_know_is_compared() {
        let at = |inode, created| FileIdentity { inode, created };
        assert!(at(5, 10).may_be(&at(5, 10)));
        assert!(at(5, 0).may_be(&at(5, 10)));
        assert!(at(5, 10).may_be(&at(5, 0)));
        assert!(!at(5, 10).may_be(&at(5, 11)));
        assert!(!at(5, 10).may_be(&at(6, 10)));
    }
}
