//! The server's replica of every space: what rounds sync against. The core's sync session runs
//! over any [`SyncStore`]; [`Engine`] adds the little more the server needs (joining a space a
//! user created, a health probe, closing). The embedded backend is the core's `Store` opened as
//! the bare engine; the PostgreSQL backend is [`crate::postgres::PgEngine`] (decision 0019).

use almanac_core::sync::SyncStore;
use almanac_core::{Result, SpaceId, Store};

/// The engine a server runs on (see the module documentation). Called from blocking threads,
/// never from the async runtime.
pub trait Engine: SyncStore + Send + Sync {
    /// Starts holding `space` with nothing seen (nothing happens if it is held already).
    fn join_space(&self, space: &SpaceId) -> Result<()>;

    /// One small read, answering whether the storage is reachable (for `/healthz`).
    fn check(&self) -> Result<()>;

    /// Called once at shutdown, when no round uses the engine any more.
    fn close(&self) -> Result<()>;
}

impl Engine for Store {
    fn join_space(&self, space: &SpaceId) -> Result<()> {
        Store::join_space(self, space.as_str())
    }

    fn check(&self) -> Result<()> {
        Store::holds_space(self, "healthz").map(drop)
    }

    fn close(&self) -> Result<()> {
        // The log folded into the file: the file alone is the whole store, ready to back up.
        self.checkpoint()
    }
}
