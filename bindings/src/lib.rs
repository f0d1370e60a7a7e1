//! Almanac's UniFFI surface: a thin, thread-safe, panic-free layer over `almanac-core` and
//! `almanac-client` that the Swift package and the Kotlin library wrap in idiomatic APIs.
//!
//! Each exported object holds its core value and delegates; no logic a Rust user of the core
//! would also need lives here. The surface (decision 0020): [`AlmanacStore`] (calendars,
//! events by span, occurrence windows, the conflict log, iCalendar, changes, sync),
//! [`Subscription`] (cancels on drop), plain records for values and times ([`EventTime`]), and
//! one error enum ([`AlmanacError`]).

#[cfg(target_os = "android")]
mod android;
mod error;
mod model;
mod store;
mod subscription;
mod sync;
mod time;
mod value;

pub use error::AlmanacError;
pub use model::*;
pub use store::{
    AlmanacStore, ChangeListener, ChangeOrigin, ImportProgressListener, StoreChange,
    SyncStatusListener,
};
pub use subscription::Subscription;
pub use sync::{CalendarShare, ShareOutcome, SyncConfig, SyncReport, SyncState, SyncStatusInfo};
pub use time::{EventEnd, EventTime, tz_database_version};
pub use value::{Field, FieldValue, RecordSnapshot};

uniffi::setup_scaffolding!();
