//! The sync protocol: versioned messages and a state machine without I/O that two replicas run
//! over any reliable byte channel (`docs/protocol.md`). The network client and the server drive
//! it over WebSocket; `transport` has plain helpers for in-process and stream channels.

pub mod message;
mod replica;
mod session;
pub mod transport;

pub use message::{Access, ErrorCode, MAX_VERSION, MIN_VERSION, Message, SpaceAccess};
pub use replica::{Direction, EncodedDelta, Inbound, SyncStore};
pub use session::{Session, SessionConfig, SyncReport};
