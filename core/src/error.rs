//! Errors of the core: one enum, with messages an app developer can act on.

use std::path::PathBuf;

use crate::crdt::RecordKey;

/// The result type of the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the core.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An argument was not acceptable (empty id, unknown replica id text, ...).
    #[error("invalid input: {0}")]
    InvalidInput(String),

    /// Delete or restore of a record that does not exist.
    #[error("record {0} does not exist")]
    RecordNotFound(RecordKey),

    /// A field write to a deleted record.
    #[error("record {0} is deleted; restore it before editing it")]
    RecordDeleted(RecordKey),

    /// The file is a store written by a newer Almanac, which this version must not touch.
    #[error(
        "the store at {path} uses storage format {found}, newer than this version of Almanac \
         understands ({supported}); update the app (the file was not modified)"
    )]
    IncompatibleVersion {
        /// The store's path.
        path: PathBuf,
        /// The format version found in the file.
        found: i64,
        /// The newest format version this library reads.
        supported: i64,
    },

    /// The file exists but is not an Almanac store (another app's database, a text file, ...).
    #[error("{path} is not an Almanac store: {detail}")]
    NotAStore {
        /// The path that was opened.
        path: PathBuf,
        /// What was found instead.
        detail: String,
    },

    /// The store's file is damaged (truncated, overwritten, failed integrity check).
    #[error("the store is damaged: {0}")]
    Corrupt(String),

    /// The device has no room left; nothing of the failed transaction was written.
    #[error(
        "the device is out of storage space; the transaction was not saved, free some space and retry"
    )]
    DiskFull,

    /// Another storage failure (permissions, locked file, I/O error).
    #[error("storage error: {0}")]
    Storage(String),

    /// Encoded data (a record, a delta) could not be read.
    #[error("cannot decode {what}: {detail}")]
    Decode {
        /// What was being decoded.
        what: &'static str,
        /// Why it failed.
        detail: String,
    },

    /// Data in a format version newer than this library reads.
    #[error(
        "{what} uses format version {found}, newer than this version of Almanac reads ({supported}); update the app"
    )]
    UnsupportedFormat {
        /// What was being decoded.
        what: &'static str,
        /// The version found.
        found: u8,
        /// The newest version supported.
        supported: u8,
    },

    /// A delta computed against writes this store has not seen; applying it could lose them.
    #[error(
        "this delta assumes writes this store has not received yet; ask the sender for a delta \
         computed against this store's version vector"
    )]
    DeltaNotApplicable,

    /// A delta claims this replica made writes it never made: the store was probably restored
    /// from an older copy while a newer copy had already synced.
    #[error(
        "a peer has seen writes from this store that the store itself does not have (was the \
         file restored from an older backup?); this store cannot safely sync"
    )]
    ReplicaRewound,

    /// A peer holds writes made under this store's replica id that this store never sent: a
    /// copy of the store (with its device marker) wrote under the same id. The store has moved
    /// its own unsent writes to a fresh id, so nothing is lost; the sync that found it stopped
    /// and should simply run again.
    #[error(
        "another copy of this store wrote under its replica id {previous}; this store now writes \
         as {current} and kept all of its writes; sync again"
    )]
    ReplicaRenewed {
        /// The id both copies wrote under.
        previous: crate::crdt::ReplicaId,
        /// The fresh id this store writes under from now on.
        current: crate::crdt::ReplicaId,
    },

    /// The sync peer broke the protocol or reported an error; the session is over and nothing
    /// partial was applied (a later sync resumes).
    #[error("sync failed: {0}")]
    Protocol(String),

    /// The store does not hold this space (join it first, or check the id).
    #[error("this store does not hold space '{0}'; join it first")]
    SpaceNotHeld(crate::crdt::SpaceId),

    /// The operating system's random source failed.
    #[error("the operating system's random number source failed: {0}")]
    Randomness(String),

    /// An I/O error outside SQLite.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),

    /// The hybrid logical clock reached the largest stamp it can represent, so no later write can
    /// be stamped after the earlier ones. Only a clock set to the far end of time (or damaged
    /// clock data) gets here.
    #[error(
        "this store's clock has reached the largest time it can record, so no further change can \
         be ordered after the earlier ones; the write was not saved (was the device clock or a \
         synced peer's clock set to the far future?)"
    )]
    ClockExhausted,
}
