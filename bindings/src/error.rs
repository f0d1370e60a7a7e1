//! The error apps see, converted from the core's and the sync client's detailed errors in
//! exactly one place (the `From` impls below), plus the guard that keeps panics on this side.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

use almanac_core::Error;

/// What went wrong, with a message that says what the app can do about it.
///
/// Flat (decision 0007): each variant carries only its message, which becomes the exception's
/// message in Kotlin and the error's description in Swift.
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
pub enum AlmanacError {
    /// Storage failed (permissions, locked file, I/O, disk full).
    #[error("{message}")]
    Storage {
        /// What happened and what to do.
        message: String,
    },
    /// The store file is damaged or is not an Almanac store.
    #[error("{message}")]
    Corrupt {
        /// What happened and what to do.
        message: String,
    },
    /// The store or a delta was written by a newer Almanac.
    #[error("{message}")]
    IncompatibleVersion {
        /// What happened and what to do.
        message: String,
    },
    /// An argument was not acceptable (unknown zone, end before start, bad rule, long id...).
    #[error("{message}")]
    InvalidInput {
        /// What happened and what to do.
        message: String,
    },
    /// The record is deleted (restore it first).
    #[error("{message}")]
    RecordDeleted {
        /// What happened and what to do.
        message: String,
    },
    /// No such event, calendar or conflict.
    #[error("{message}")]
    NotFound {
        /// What happened and what to do.
        message: String,
    },
    /// The store was closed; open it again.
    #[error("{message}")]
    Closed {
        /// What happened and what to do.
        message: String,
    },
    /// The server refused the token: sign in again and set a new one.
    #[error("{message}")]
    Unauthorized {
        /// What happened and what to do.
        message: String,
    },
    /// The server refused a sharing change: only a calendar's owner can share it.
    #[error("{message}")]
    Forbidden {
        /// What happened and what to do.
        message: String,
    },
    /// The server could not be reached or the connection broke; retrying later can help.
    #[error("{message}")]
    Network {
        /// What happened and what to do.
        message: String,
    },
    /// Sync is not possible as configured (bad URL, certificate, protocol); retrying with the
    /// same settings cannot help.
    #[error("{message}")]
    Sync {
        /// What happened and what to do.
        message: String,
    },
    /// A bug in Almanac; please report it with the message.
    #[error("{message}")]
    Internal {
        /// What happened.
        message: String,
    },
}

impl From<Error> for AlmanacError {
    fn from(error: Error) -> Self {
        let message = error.to_string();
        match error {
            Error::Storage(_) | Error::DiskFull | Error::Io(_) | Error::Randomness(_) => {
                AlmanacError::Storage { message }
            }
            Error::Corrupt(_)
            | Error::NotAStore { .. }
            | Error::Decode { .. }
            | Error::ReplicaRewound => AlmanacError::Corrupt { message },
            Error::IncompatibleVersion { .. } | Error::UnsupportedFormat { .. } => {
                AlmanacError::IncompatibleVersion { message }
            }
            Error::InvalidInput(_) | Error::DeltaNotApplicable => {
                AlmanacError::InvalidInput { message }
            }
            Error::SpaceNotHeld(_) | Error::RecordNotFound(_) => AlmanacError::NotFound { message },
            Error::RecordDeleted(_) => AlmanacError::RecordDeleted { message },
            // Nothing is lost and the next sync succeeds: as retryable as a dropped connection.
            Error::ReplicaRenewed { .. } => AlmanacError::Network { message },
            _ => AlmanacError::Internal { message },
        }
    }
}

impl From<almanac_client::Error> for AlmanacError {
    fn from(error: almanac_client::Error) -> Self {
        match error {
            // The store's own failure keeps its kind (disk full, damaged file...).
            almanac_client::Error::Storage(core) => core.into(),
            other => AlmanacError::from_client(&other),
        }
    }
}

impl AlmanacError {
    pub(crate) fn closed() -> Self {
        AlmanacError::Closed { message: "the store is closed; open it again to use it".into() }
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        AlmanacError::NotFound { message: message.into() }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        AlmanacError::InvalidInput { message: message.into() }
    }

    pub(crate) fn from_panic(payload: &(dyn Any + Send)) -> Self {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".into());
        AlmanacError::Internal {
            message: format!(
                "Almanac hit a bug and abandoned the call ({what}); the store is unchanged by \
                 it; please report this message"
            ),
        }
    }
}

/// Runs one exported call. UniFFI would also turn a panic into an exception, but as an
/// untyped internal error without our wording; catching here gives apps one error type.
/// Nothing the closure touches stays half-changed after a panic: the core's writes are SQLite
/// transactions that roll back, and its locks recover from poisoning.
pub(crate) fn guard<T>(call: impl FnOnce() -> Result<T, AlmanacError>) -> Result<T, AlmanacError> {
    catch_unwind(AssertUnwindSafe(call))
        .unwrap_or_else(|payload| Err(AlmanacError::from_panic(&*payload)))
}

impl AlmanacError {
    /// The app-facing error for a client error the live sync keeps (shared, not owned).
    pub(crate) fn from_client(error: &almanac_client::Error) -> Self {
        use almanac_client::Error as E;
        let message = error.to_string();
        match error {
            E::Unauthorized => AlmanacError::Unauthorized { message },
            E::NotOwner(_) => AlmanacError::Forbidden { message },
            E::NotFound(_) => AlmanacError::NotFound { message },
            E::InvalidUrl { .. } | E::Rejected(_) => AlmanacError::InvalidInput { message },
            E::Storage(_) => AlmanacError::Storage { message },
            other if other.is_retryable() => AlmanacError::Network { message },
            _ => AlmanacError::Sync { message },
        }
    }
}
