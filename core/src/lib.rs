//! # Almanac core
//!
//! The engine of Almanac, an offline-first store for calendar-style apps: every device can
//! always write, devices that have seen the same changes show the same state, and no user's
//! input is silently lost. The merge rules are the contract in `docs/semantics.md`.
//!
//! ```
//! # fn main() -> almanac_core::Result<()> {
//! use almanac_core::Store;
//! let dir = tempfile::tempdir()?;
//! let phone = Store::open(dir.path().join("phone.almanac"))?;
//! let laptop = Store::open(dir.path().join("laptop.almanac"))?;
//!
//! phone.transaction("team").set("events", "standup", "title", "Standup").commit()?;
//! laptop.join_space("team")?;
//! laptop.apply(&phone.delta_since("team", &laptop.version_vector("team")?)?)?;
//!
//! let event = laptop.get("team", "events", "standup")?.expect("synced");
//! assert_eq!(event.value("title").and_then(|v| v.as_text()), Some("Standup"));
//! # Ok(()) }
//! ```
//!
//! Layout: [`crdt`] holds the pure merge rules; [`replica`] applies transactions and deltas over
//! a storage backend; [`storage`] has the SQLite and in-memory backends; [`Store`] is the durable
//! store apps open; [`codec`] is the one place values become bytes.

pub mod calendar;
pub mod codec;
pub mod compression;
pub mod crdt;
mod error;
mod gc;
mod rejoin;
pub mod replica;
mod staging;
pub mod storage;
mod store;
pub mod sync;
mod view;

pub use crdt::{Delta, RecordKey, ReplicaId, SpaceId, Value, VersionVector};
pub use error::{Error, Result};
pub use gc::{DEFAULT_TRASH_RETENTION, GcReport};
pub use replica::{Changes, Operation};
pub use storage::sqlite::Durability;
pub use storage::sqlite::incarnation::{DeviceMarker, Incarnation};
pub use storage::sqlite::view::{DerivedView, SavedRecord};
pub use store::{
    ChangeEvent, Clock, Origin, Store, StoreOptions, Subscription, SystemClock, Transaction,
};
pub use view::{Conflicts, FieldConflict, Record};
