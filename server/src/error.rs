//! Errors of the server and its admin commands: what an operator reads on the terminal or in
//! the log. Devices never see these texts; they get a protocol `Error` frame with a fixed,
//! detail-free message (see `round.rs`).

use std::path::PathBuf;

/// The result type of the server.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong running the server or an admin command.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `--postgres` was given: that backend is designed for (see `accounts.rs`) but not built.
    #[error(
        "PostgreSQL support is not built yet; use --data <dir> for the embedded SQLite backend"
    )]
    PostgresNotBuilt,

    /// An admin command named a user the server does not know.
    #[error("there is no user named {0:?} (add one with `user add {0}`)")]
    UnknownUser(String),

    /// `user add` with a name already taken.
    #[error("there is already a user named {0:?}")]
    UserExists(String),

    /// A user name that is empty, too long or has characters other than letters, digits, `.`,
    /// `_`, `-` and `@`.
    #[error("{0:?} is not a valid user name: use 1 to 64 letters, digits, '.', '_', '-' or '@'")]
    InvalidUserName(String),

    /// An admin command named a space nobody has synced yet.
    #[error(
        "there is no space named {0:?} on this server (a space exists once its owner's device \
         has synced it)"
    )]
    UnknownSpace(String),

    /// A space id that is not valid at all.
    #[error("{0:?} is not a valid space id: {1}")]
    InvalidSpace(String, String),

    /// `share` naming the space's owner, whose access cannot be changed.
    #[error("{user:?} owns space {space:?}: an owner always reads and writes it")]
    OwnerShare {
        /// The owner.
        user: String,
        /// The space.
        space: String,
    },

    /// A duration such as `--expires 90d` that cannot be read.
    #[error(
        "{0:?} is not a duration: use a whole number followed by s, m, h, d or w (30s, 12h, 90d)"
    )]
    InvalidDuration(String),

    /// The accounts database failed.
    #[error("accounts database: {0}")]
    Accounts(#[from] rusqlite::Error),

    /// The accounts database was written by a newer server.
    #[error(
        "{path} uses accounts schema {found}, newer than this server reads ({supported}); \
         update the server"
    )]
    NewerAccounts {
        /// The database file.
        path: PathBuf,
        /// The schema version found.
        found: i64,
        /// The newest version this server reads.
        supported: i64,
    },

    /// The engine store failed.
    #[error("engine store: {0}")]
    Engine(#[from] almanac_core::Error),

    /// The token key could not be read or made, or a token could not be signed.
    #[error("token key {path}: {detail}")]
    TokenKey {
        /// The key file.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },

    /// Signing a token failed.
    #[error("cannot sign a token: {0}")]
    Signing(String),

    /// A file or socket operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The operating system's error.
        source: std::io::Error,
    },
}

impl Error {
    /// An I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io { context: context.into(), source }
    }
}
