//! Derived views: tables an upper layer keeps in step with the records, in the same SQLite
//! transaction as every record write.
//!
//! Storage knows nothing of what a view derives (the calendar's occurrence index is one); it
//! only calls the hooks. A store opened without views is the bare engine, which is what a sync
//! server that relays spaces needs.

use std::any::Any;

use rusqlite::Connection;

use crate::crdt::{Before, RecordKey, RecordState, SpaceId};
use crate::error::Result;

/// A record as it was just saved.
pub struct SavedRecord<'a> {
    /// The record's row id (stable for the life of the record; views may reference it with
    /// `REFERENCES records (rid) ON DELETE CASCADE`, or find their rows by other keys and
    /// clear them in [`DerivedView::on_drop_space`]).
    pub rid: i64,
    /// The space the record belongs to.
    pub space: &'a SpaceId,
    /// The record's key within its space.
    pub key: &'a RecordKey,
    /// Its new state.
    pub state: &'a RecordState,
    /// Its state before this save (`None` for a new record): a view may skip work when
    /// nothing it derives from changed, and find the rows it derived from it. Usually held as
    /// the parts the save replaced ([`Before::to_state`] copies the whole of it).
    pub before: Option<Before<'a>>,
    /// The record's row was inserted by this save: no derived row can refer to its row id yet
    /// (the rows of a removed record go with it, `ON DELETE CASCADE`, and a new row id is never
    /// one still in use), so a view has nothing to clear before writing its rows.
    pub inserted: bool,
}

/// A derived view registered with a store (see `StoreOptions::views`).
pub trait DerivedView: Send + Sync + 'static {
    /// Creates the view's tables if they are missing. Returns `true` when the view's content
    /// cannot be trusted (new tables, an older derivation) and must be rebuilt.
    fn prepare(&self, conn: &Connection) -> Result<bool>;

    /// Recomputes the whole view from the records.
    fn rebuild(&self, conn: &Connection) -> Result<()>;

    /// Brings the view up to date with one saved record, inside the transaction that saved it.
    fn on_save(&self, conn: &Connection, saved: &SavedRecord<'_>) -> Result<()>;

    /// Every record of space `sid` is about to be removed (the space is left or fetched
    /// again): rows that do not go with their record by `ON DELETE CASCADE` must go now.
    fn on_drop_space(&self, _conn: &Connection, _sid: i64) -> Result<()> {
        Ok(())
    }

    /// For stores written before spaces existed (schema version 2 and older): the space a
    /// record belongs to, if this view's layer knows (`None`: the store's default space).
    fn legacy_space(&self, _key: &RecordKey, _state: &RecordState) -> Option<SpaceId> {
        None
    }

    /// The view as `Any`, so its layer can find its own view again (`Store::view`).
    fn as_any(&self) -> &dyn Any;
}
