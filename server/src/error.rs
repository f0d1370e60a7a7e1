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
    /// Neither `--data` nor `--postgres` was given.
    #[error("name where the server keeps its state: --data <dir> or --postgres <url>")]
    NoBackend,

    /// `--postgres` with something that is not a connection string.
    #[error(
        "the --postgres value is not a PostgreSQL connection URL \
         (postgres://user:password@host:port/database)"
    )]
    PostgresUrl,

    /// The PostgreSQL database failed or cannot be reached.
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] tokio_postgres::Error),

    /// The PostgreSQL backend was used after it was closed.
    #[error("PostgreSQL: the connection pool is closed")]
    PostgresClosed,

    /// The database holds tables of a newer server.
    #[error(
        "the PostgreSQL database uses schema {found}, newer than this server reads \
         ({supported}); update the server"
    )]
    NewerPostgresSchema {
        /// The schema version found.
        found: i64,
        /// The newest version this server reads.
        supported: i64,
    },

    /// The database has an `almanac_meta` table that this server did not make.
    #[error("the PostgreSQL database has an almanac_meta table that is not an Almanac server's")]
    NotAlmanacDatabase,

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

    /// A device's replica id on the command line is not 32 hexadecimal digits.
    #[error(
        "'{0}' is not a device's replica id (32 hexadecimal digits, as `almanac inspect` prints it)"
    )]
    InvalidReplicaId(String),

    /// A limit that would stop the server working (zero, or a duration beyond a year).
    #[error("invalid limit: {0}")]
    InvalidLimit(String),

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
