//! Where the server keeps its state. `--data <dir>` is the embedded backend: one folder holding
//! the engine store (`spaces.almanac`, every space in one `almanac_core::Store` opened as the
//! bare engine), the accounts database (`accounts.sqlite3`) and the token signing key
//! (`token.key`). `--postgres <url>` names the backend for running several server instances
//! on one database; it is not built yet.

use std::fs::DirBuilder;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use almanac_core::{Durability, Store, StoreOptions};

use crate::accounts::{Accounts, SqliteAccounts};
use crate::error::{Error, Result};
use crate::token::{KEY_FILE, TokenKey};

/// The engine store's file in the data folder.
pub const ENGINE_FILE: &str = "spaces.almanac";
/// The accounts database's file in the data folder.
pub const ACCOUNTS_FILE: &str = "accounts.sqlite3";

/// Which backend holds the server's state.
#[derive(Clone, Debug)]
pub enum Location {
    /// The embedded backend in this folder (created if missing).
    Folder(PathBuf),
    /// A PostgreSQL database (not built yet: every use fails with
    /// [`Error::PostgresNotBuilt`]).
    Postgres(String),
}

impl Location {
    fn folder(&self) -> Result<&Path> {
        match self {
            Location::Folder(path) => {
                DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(path)
                    .map_err(|e| Error::io(format!("cannot create {}", path.display()), e))?;
                Ok(path)
            }
            Location::Postgres(_) => Err(Error::PostgresNotBuilt),
        }
    }

    /// The accounts database alone (what the admin commands change).
    pub fn accounts(&self) -> Result<Arc<dyn Accounts>> {
        Ok(Arc::new(SqliteAccounts::open(&self.folder()?.join(ACCOUNTS_FILE))?))
    }

    /// The token signing key, made on first use.
    pub fn token_key(&self) -> Result<TokenKey> {
        TokenKey::load_or_create(&self.folder()?.join(KEY_FILE))
    }

    /// Everything the running server needs.
    pub fn open(&self) -> Result<Backend> {
        let folder = self.folder()?;
        let accounts = self.accounts()?;
        let key = self.token_key()?;
        // A device drops nothing once the server acknowledged it, but a server that loses the
        // last seconds to a power cut would still have acknowledged them: every commit waits
        // for the disk.
        let options =
            StoreOptions { durability: Durability::PowerLoss, ..StoreOptions::engine_only() };
        let engine = Arc::new(Store::open_with(folder.join(ENGINE_FILE), options)?);
        Ok(Backend { engine, accounts, key })
    }
}

/// The server's state, opened.
pub struct Backend {
    /// Every space's records: one replica, the server's.
    pub engine: Arc<Store>,
    /// Users, ownership, shares.
    pub accounts: Arc<dyn Accounts>,
    /// The token signing key.
    pub key: TokenKey,
}
