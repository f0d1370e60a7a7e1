//! Storage backends for the replica engine: SQLite on disk (what apps use) and memory (for
//! tests and tools). Both implement [`crate::replica::RecordStore`].

pub mod memory;
pub mod sqlite;
