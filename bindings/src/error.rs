//! The error apps see, converted from the core's detailed error in exactly one place.

use almanac_core::Error;

/// What went wrong, with a message that says what the app can do about it.
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
    /// An argument was not acceptable.
    #[error("{message}")]
    InvalidInput {
        /// What happened and what to do.
        message: String,
    },
    /// The record is deleted (restore it first) or does not exist.
    #[error("{message}")]
    RecordDeleted {
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
            Error::InvalidInput(_) | Error::DeltaNotApplicable | Error::SpaceNotHeld(_) => {
                AlmanacError::InvalidInput { message }
            }
            Error::RecordDeleted(_) | Error::RecordNotFound(_) => {
                AlmanacError::RecordDeleted { message }
            }
            _ => AlmanacError::Internal { message },
        }
    }
}
