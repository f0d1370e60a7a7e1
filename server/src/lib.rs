//! # Almanac sync server
//!
//! Another replica of every space its users sync: devices connect over WebSocket
//! (`GET /v1/sync`, bearer token), and each round authorises the spaces a device opens, then
//! runs the core's sans-IO sync session over the connection (`docs/protocol.md`, "Over
//! WebSocket"). Uses the engine, the protocol and storage of `almanac-core`, never the calendar.
//!
//! Layout: [`backend`] opens the data folder (engine store, [`accounts`], token key) or the
//! [`postgres`] database; [`engine`] is what rounds sync against;
//! [`server`] binds and serves `http` routes; `connection` runs one WebSocket (limits, pings,
//! live push through `push`), `round` one sync round on a blocking thread; [`token`] signs and
//! checks bearer tokens; `shares` is the owners' sharing API over HTTP; [`admin`] holds the admin commands; `metrics` the Prometheus counters.

pub mod accounts;
pub mod admin;
pub mod backend;
pub mod config;
mod connection;
pub mod engine;
mod error;
mod http;
mod metrics;
pub mod postgres;
mod push;
mod round;
pub mod server;
mod shares;
pub mod token;

pub use backend::{Backend, Location, Peers};
pub use config::{Limits, ServerConfig, TlsFiles};
pub use engine::Engine;
pub use error::{Error, Result};
pub use http::UNAUTHORIZED_BODY;
pub use server::{RunningServer, start};
