//! Almanac's UniFFI surface: a thin, thread-safe, panic-free layer over `almanac-core` that the
//! Swift package and the Kotlin library wrap in idiomatic APIs.
//!
//! Each exported object holds an `inner` core value and delegates; no logic a Rust user of the
//! core would also need lives here. This is the walking skeleton: open a store, put and get a
//! record, delete it, and sync two stores in-process. Later issues grow the surface.

mod error;
mod store;
mod value;

pub use error::AlmanacError;
pub use store::AlmanacStore;
pub use value::{Field, FieldValue, RecordSnapshot};

uniffi::setup_scaffolding!();
