//! The CRDT engine: pure values and merge rules, no I/O.
//!
//! - [`ReplicaId`], [`Hlc`], [`Dot`] and [`VersionVector`] name writes and what has been seen.
//! - [`MvRegister`] and [`Extremum`] (in `register.rs`) decide what happens when two writes to one
//!   field meet; [`Member`] builds the add-wins keyed map from them.
//! - [`RecordState`] is one record: its fields and its lifecycle (live / deleted with the edits
//!   the delete shadowed).
//! - `restamp.rs` moves writes to a fresh replica id when a copied store shared its id.
//! - `stability.rs` decides which metadata may be dropped once every replica has seen it.
//! - [`Prior`] and [`Before`] keep what a record was before a change without copying all of it.
//! - [`Delta`] is what one replica sends another: the parts of records the other lacks.
//!
//! Persistence and sync call these functions; they are tested here without a database.

pub(crate) mod columns;
mod delta;
mod field_name;
mod hlc;
mod keyed_map;
pub(crate) mod payload_reader;
pub(crate) mod payload_writer;
mod prior;
mod record;
mod register;
mod replica_id;
mod restamp;
mod space;
mod stability;
pub(crate) mod stored_delta;
mod validate;
mod value;
mod version_vector;
pub(crate) mod wire;

pub use delta::{Delta, RecordKey};
pub use field_name::FieldName;
pub use hlc::{ClockSkew, Hlc, MAX_FORWARD_SKEW_MILLIS, Observed};
pub use keyed_map::Member;
pub use prior::{Before, Prior};
pub use record::{FieldPath, Lifecycle, RecordDelta, RecordState, Refusal, ShadowedEdit, Write};
pub use register::{Direction, Entry, Extremum, MvRegister};
pub use replica_id::ReplicaId;
pub use restamp::Restamp;
pub use space::{MAX_SPACE_ID_BYTES, SpaceId};
pub use validate::validate_delta;
pub use value::Value;
pub use version_vector::{Dot, VersionVector};
pub use wire::NAMES as FIELD_NAMES;

/// Shorthands for unit tests: replica `n` is sixteen bytes of `n`.
#[cfg(test)]
pub(crate) mod testing {
    use super::{Dot, ReplicaId, VersionVector};

    pub fn dot(replica: u8, counter: u64) -> Dot {
        Dot { replica: ReplicaId::from_bytes([replica; 16]), counter }
    }

    pub fn vv(pairs: &[(u8, u64)]) -> VersionVector {
        pairs.iter().map(|(r, c)| (ReplicaId::from_bytes([*r; 16]), *c)).collect()
    }
}
