//! Where the server keeps its state. `--data <dir>` is the embedded backend: one folder holding
//! the engine store (`spaces.almanac`, every space in one `almanac_core::Store` opened as the
//! bare engine), the accounts database (`accounts.sqlite3`) and the token signing key
//! (`token.key`). `--postgres <url>` keeps all of it in one PostgreSQL database instead, so
//! several server instances can share it (`postgres/`, decision 0019).

use std::fs::DirBuilder;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use almanac_core::{Durability, Store, StoreOptions};

use crate::accounts::{Accounts, SqliteAccounts};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::postgres::{Database, PgAccounts, PgEngine, Pool};
use crate::token::{KEY_BYTES, KEY_FILE, TokenKey};

/// The engine store's file in the data folder.
pub const ENGINE_FILE: &str = "spaces.almanac";
/// The accounts database's file in the data folder.
pub const ACCOUNTS_FILE: &str = "accounts.sqlite3";

/// Which backend holds the server's state.
#[derive(Clone, Debug)]
pub enum Location {
    /// The embedded backend in this folder (created if missing).
    Folder(PathBuf),
    /// A PostgreSQL database (its connection URL), shared by any number of instances.
    Postgres(String),
}

impl Location {
    fn folder(path: &Path) -> Result<&Path> {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(path)
            .map_err(|e| Error::io(format!("cannot create {}", path.display()), e))?;
        Ok(path)
    }

    /// The accounts database alone (what the admin commands change).
    pub fn accounts(&self) -> Result<Arc<dyn Accounts>> {
        match self {
            Location::Folder(path) => {
                Ok(Arc::new(SqliteAccounts::open(&Self::folder(path)?.join(ACCOUNTS_FILE))?))
            }
            Location::Postgres(url) => Ok(Arc::new(PgAccounts::new(Database::open(url)?.pool))),
        }
    }

    /// The token signing key, made on first use.
    pub fn token_key(&self) -> Result<TokenKey> {
        match self {
            Location::Folder(path) => TokenKey::load_or_create(&Self::folder(path)?.join(KEY_FILE)),
            Location::Postgres(url) => token_key_in(&Database::open(url)?),
        }
    }

    /// Everything the running server needs.
    pub fn open(&self) -> Result<Backend> {
        match self {
            Location::Folder(path) => {
                let folder = Self::folder(path)?;
                let accounts = self.accounts()?;
                let key = self.token_key()?;
                // A device drops nothing once the server acknowledged it, but a server that
                // loses the last seconds to a power cut would still have acknowledged them:
                // every commit waits for the disk.
                let options = StoreOptions {
                    durability: Durability::PowerLoss,
                    ..StoreOptions::engine_only()
                };
                let engine = Arc::new(Store::open_with(folder.join(ENGINE_FILE), options)?);
                Ok(Backend { engine, accounts, key, peers: None })
            }
            Location::Postgres(url) => {
                let database = Database::open(url)?;
                let engine = PgEngine::open(&database)?;
                let peers = Some(Peers {
                    pool: Arc::clone(&database.pool),
                    instance: engine.instance().to_owned(),
                });
                Ok(Backend {
                    key: token_key_in(&database)?,
                    accounts: Arc::new(PgAccounts::new(Arc::clone(&database.pool))),
                    engine: Arc::new(engine),
                    peers,
                })
            }
        }
    }
}

/// The signing key kept in the database: the first instance (or admin command) makes it, and
/// every instance signs and checks with that one.
fn token_key_in(database: &Database) -> Result<TokenKey> {
    let secret = database.meta_or_insert("token_key", || {
        let mut secret = vec![0u8; KEY_BYTES];
        getrandom::fill(&mut secret).map_err(|e| Error::Signing(e.to_string()))?;
        Ok(secret)
    })?;
    if secret.len() != KEY_BYTES {
        return Err(Error::NotAlmanacDatabase);
    }
    TokenKey::from_secret(&secret)
}

/// The other server instances on the same database, whose changes reach this one's devices.
pub struct Peers {
    pub(crate) pool: Arc<Pool>,
    pub(crate) instance: String,
}

impl std::fmt::Debug for Peers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peers").field("instance", &self.instance).finish_non_exhaustive()
    }
}

/// The server's state, opened.
pub struct Backend {
    /// Every space's records: one replica, the server's.
    pub engine: Arc<dyn Engine>,
    /// Users, ownership, shares.
    pub accounts: Arc<dyn Accounts>,
    /// The token signing key.
    pub key: TokenKey,
    /// Other instances sharing the database (PostgreSQL only): their changes are pushed to
    /// this instance's devices.
    pub peers: Option<Peers>,
}
