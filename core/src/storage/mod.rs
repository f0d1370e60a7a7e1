//! Storage backends for the replica engine: SQLite on disk (what apps use) and memory (for
//! tests and tools). Both implement [`crate::replica::RecordStore`].

pub mod memory;
pub mod sqlite;

// Garbage collection of SQLite records. It belongs in `sqlite/` as `sqlite::gc`; it is declared
// here only while `sqlite/mod.rs` is being changed on another branch (move this to a
// `pub mod gc;` line there when both have landed).
#[path = "sqlite/gc.rs"]
pub mod sqlite_gc;
