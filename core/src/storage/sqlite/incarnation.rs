//! Telling a store restored from a backup (or copied to another device) from the store that
//! kept running, so neither ever reuses a dot the other made.
//!
//! The store file carries an *incarnation* (16 random bytes). A small marker file, kept where
//! backups and device-to-device copies do not reach (iOS: a file with `isExcludedFromBackup`;
//! Android: `Context.getNoBackupFilesDir()`; by default next to the store as `<store>.device`),
//! holds the replica id, the incarnation and the store's clock after its latest commit. A store
//! whose clock is *behind* its marker went back in time (restored from a backup, even one taken
//! while the app ran); a store whose incarnation differs or whose marker is missing was copied
//! or restored elsewhere. Either way the store takes a fresh replica id before it writes
//! anything: the old id's writes stay what they were, and new writes can never collide with
//! writes the other copy made under the old id. See
//! `docs/decisions/0013-spaces-and-restored-stores.md`.

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

const HEADER: &str = "almanac-device-marker 1";

/// What a marker says.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Marked {
    replica: ReplicaId,
    incarnation: [u8; 16],
    hlc: Hlc,
}

/// The marker's text. Fixed width, so later updates overwrite it in place.
fn marker_text(marked: &Marked) -> String {
    let incarnation = ReplicaId::from_bytes(marked.incarnation);
    format!(
        "{HEADER}\n{} {incarnation} {:020} {:010}\n",
        marked.replica, marked.hlc.millis, marked.hlc.logical
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
    let mut lines = text.lines();
    if lines.next() != Some(HEADER) {
        return Ok(None);
    }
    let mut parts = lines.next().unwrap_or_default().split(' ');
    let replica = parts.next().and_then(|r| r.parse::<ReplicaId>().ok());
    let incarnation = parts.next().and_then(|i| i.parse::<ReplicaId>().ok());
    let millis = parts.next().and_then(|m| m.parse::<u64>().ok());
    let logical = parts.next().and_then(|l| l.parse::<u32>().ok());
    Ok(match (replica, incarnation, millis, logical) {
        (Some(replica), Some(incarnation), Some(millis), Some(logical)) => Some(Marked {
            replica,
            incarnation: incarnation.to_bytes(),
            hlc: Hlc { millis, logical },
        }),
        _ => None,
    })
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
}

impl Marker {
    /// Records the store's clock after a commit. Not flushed to disk: a marker that lags
    /// behind after a crash only makes detection a little less eager, never wrong (a store is
    /// renewed only when its clock is behind the marker). Failing to write it must not fail
    /// the commit, which is durable already, so errors are ignored.
    pub fn record(&mut self, hlc: Hlc) {
        let text =
            marker_text(&Marked { replica: self.replica, incarnation: self.incarnation, hlc });
        let _ =
            self.file.seek(SeekFrom::Start(0)).and_then(|_| self.file.write_all(text.as_bytes()));
    }
}

impl Marker {
    /// Records the store's new replica id after sync renewed it (the store has committed it
    /// already). A marker left with the old id only makes the next open renew once more, with
    /// an id nobody wrote under, which is safe; so errors are ignored here too.
    pub fn renew(&mut self, replica: ReplicaId, hlc: Hlc) {
        self.replica = replica;
        self.record(hlc);
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
    let outcome = match (stored, found) {
        // A new store, or one from before markers existed: nothing to compare with yet.
        (None, _) => Incarnation::Continued,
        // The store is the one the marker saw last, at its clock or later.
        (Some(stored), Some(found))
            if found.replica == replica && found.incarnation == stored && hlc >= found.hlc =>
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
    // Marker first: if we crash before the store commits, the two still differ and the next
    // open renews again, with an id nobody ever wrote with.
    write_marker(&marker_path, &Marked { replica, incarnation, hlc })?;
    if stored != Some(incarnation) {
        tx.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('incarnation', ?1)",
            [incarnation.to_vec()],
        )?;
    }
    if let Incarnation::Renewed { .. } = outcome {
        // Like a renewal found by sync: the old id's writes this store never sent move to the
        // new id. A restored store may also be a copy whose original used the same counters;
        // left under the old id, such a write could never be told from the original's
        // (decision 0025, "copy, then restore").
        super::renew::renew_to(tx, views, replica)?;
    }
    let file = OpenOptions::new().write(true).open(&marker_path)?;
    Ok((outcome, Some(Marker { file, replica, incarnation })))
}
