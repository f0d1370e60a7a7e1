//! The sync server end to end: a real server on a free port, real WebSocket connections, and
//! core sessions as the devices (`support.rs`).

// Tests state their expectations with expect/panic; the library itself may not.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod accounts;
mod admin;
mod auth;
mod bad_input;
mod crash;
mod endpoints;
mod instances;
mod shares;
mod shutdown;
mod support;
mod sync;
mod tls;
