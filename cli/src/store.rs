//! Opening stores from the command line.
//!
//! `Store::open` creates a store when the file is missing, which is right for an app but wrong
//! for an inspection tool: a mistyped path would silently produce an empty store and report
//! nothing. Commands that read a store therefore insist that it exists; only `import` creates.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use almanac_core::{Error, Incarnation, Store};

use crate::fail::Failure;

/// The write-ahead log SQLite keeps next to the store file.
pub fn wal_path(path: &Path) -> PathBuf {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    PathBuf::from(wal)
}

/// The sizes of the store file at `path` and of its write-ahead log (0 when there is none).
pub fn bytes_on_disk(path: &Path) -> Result<(u64, u64), Failure> {
    let file = fs::metadata(path)
        .map(|m| m.len())
        .map_err(|e| Failure::new(format!("cannot read {}: {e}", path.display())))?;
    Ok((file, fs::metadata(wal_path(path)).map_or(0, |m| m.len())))
}

/// Opens the store at `path`, which must exist.
pub fn open_existing(path: &Path) -> Result<Store, Failure> {
    let shown = path.display();
    match fs::metadata(path) {
        Err(error) if error.kind() == ErrorKind::NotFound => {
            return Err(Failure::new(format!("no store at {shown}: the file does not exist")));
        }
        Err(error) => return Err(Failure::new(format!("cannot read {shown}: {error}"))),
        Ok(metadata) if metadata.is_dir() => {
            return Err(Failure::new(format!("{shown} is a directory, not an Almanac store")));
        }
        // An empty file would be turned into a new store by opening it. A store whose content
        // is still all in its write-ahead log is not empty, hence the second check.
        Ok(metadata) if metadata.len() == 0 && !wal_path(path).exists() => {
            return Err(Failure::new(format!("{shown} is an empty file, not an Almanac store")));
        }
        Ok(_) => {}
    }
    open(path)
}

/// Opens the store at `path`, creating it if the file does not exist.
pub fn open_or_create(path: &Path) -> Result<Store, Failure> {
    open(path)
}

fn open(path: &Path) -> Result<Store, Failure> {
    let store = Store::open(path).map_err(|error| match error {
        // These already name the file.
        Error::NotAStore { .. } | Error::IncompatibleVersion { .. } => Failure::from(error),
        other => Failure::new(format!("cannot open the store {}: {other}", path.display())),
    })?;
    // Said once, when it happens: a developer who copied a store to inspect it should know
    // the copy now writes as another device (decisions 0013 and 0028).
    if let Incarnation::Renewed { previous } = store.incarnation() {
        eprintln!(
            "note: {} is a copy or a restored backup (it does not match its device marker); \
             it now writes as replica {} instead of {previous}, keeping all its writes",
            path.display(),
            store.replica_id()
        );
    }
    Ok(store)
}
