//! Telling a store restored from a backup (or copied to another device) from the store that
//! kept running, so neither ever reuses a dot the other made.
//!
//! The store file carries an *incarnation* (16 random bytes) and so does a small marker file
//! that the app keeps where backups and device-to-device copies do not reach (iOS: a file with
//! `isExcludedFromBackup`; Android: `Context.getNoBackupFilesDir()`; by default, next to the
//! store as `<store>.device`). When the two disagree — the store came back from a backup, or was
//! copied without its marker — the store takes a fresh replica id before it writes anything:
//! the old id's writes stay what they were, new writes can never collide with writes the other
//! copy made under the old id. See `docs/decisions/0013-spaces-and-restored-stores.md`.

use std::fs;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension};

use crate::crdt::ReplicaId;
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

fn read_marker(path: &Path) -> Result<Option<(ReplicaId, [u8; 16])>> {
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
    Ok(replica.zip(incarnation).map(|(r, i)| (r, i.to_bytes())))
}

fn write_marker(path: &Path, replica: ReplicaId, incarnation: [u8; 16]) -> Result<()> {
    // Write a temporary file and rename it, so a crash never leaves half a marker.
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    let mut file = fs::File::create(&temporary)?;
    let incarnation = ReplicaId::from_bytes(incarnation);
    writeln!(file, "{HEADER}\n{replica} {incarnation}")?;
    file.sync_all()?;
    fs::rename(&temporary, path)?;
    Ok(())
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
/// opening one restored file agree on one new id) and renews the replica id when they differ.
pub fn check(tx: &Connection, store: &Path, marker: &DeviceMarker) -> Result<Incarnation> {
    let Some(marker_path) = marker.path(store) else { return Ok(Incarnation::Continued) };
    let replica = super::replica_id(tx)?;
    let stored = stored_incarnation(tx)?;
    let found = read_marker(&marker_path)?;
    let Some(stored) = stored else {
        // A store from before markers existed, or a new one: nothing to compare with yet.
        let incarnation = random_bytes()?;
        write_marker(&marker_path, replica, incarnation)?;
        tx.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('incarnation', ?1)",
            [incarnation.to_vec()],
        )?;
        return Ok(Incarnation::Continued);
    };
    if found == Some((replica, stored)) {
        return Ok(Incarnation::Continued);
    }
    let renewed = ReplicaId::random()?;
    let incarnation = random_bytes()?;
    // Marker first: if we crash before the store commits, the two still differ and the next
    // open renews again, with an id nobody ever wrote with.
    write_marker(&marker_path, renewed, incarnation)?;
    tx.execute(
        "UPDATE meta SET value = ?1 WHERE key = 'replica_id'",
        [renewed.to_bytes().to_vec()],
    )?;
    tx.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('incarnation', ?1)",
        [incarnation.to_vec()],
    )?;
    Ok(Incarnation::Renewed { previous: replica })
}
