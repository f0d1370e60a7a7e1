//! # Almanac's network sync client
//!
//! Syncs an Almanac [`Store`] with the Almanac server over one WebSocket
//! (`docs/protocol.md`, "Over WebSocket"): once ([`Client::sync_once`], for a "sync now"
//! button, a background task or the CLI), or live ([`Client::start`]: connected, pushing local
//! commits and receiving the server's pushes as they happen, reconnecting by itself).
//!
//! ```no_run
//! # async fn demo(store: std::sync::Arc<almanac_core::Store>) -> almanac_client::Result<()> {
//! use almanac_client::{Client, ClientConfig, ConnectionState};
//!
//! let client = Client::new(store, ClientConfig::new("wss://sync.example.com", "token"))?;
//! let summary = client.sync_once().await?; // connect, one round, close
//! println!("{} records received", summary.records_received);
//!
//! let live = client.start()?; // stays connected until stopped
//! let mut status = live.status();
//! while status.changed().await.is_ok() {
//!     if status.borrow().state == ConnectionState::UpToDate {
//!         break;
//!     }
//! }
//! live.suspend().await; // before the OS suspends the app
//! live.resume();
//! live.stop().await;
//! # Ok(()) }
//! ```
//!
//! The core stays free of sockets and runtimes: this crate drives its sans-IO
//! [`almanac_core::sync::Session`] on a blocking thread (SQLite work never runs on the async
//! runtime) and moves frames over tokio-tungstenite, with TLS by rustls and the platform's
//! certificate verifier (`README.md` has Android's one-time initialisation). Decisions:
//! `docs/decisions/0018-sync-client.md`.

mod backoff;
mod connection;
mod endpoint;
mod error;
mod live;
mod round;
mod sharing;
mod status;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use almanac_core::{SpaceId, Store};

pub use backoff::Backoff;
pub use endpoint::{Endpoint, SYNC_PATH};
pub use error::{Error, Result};
pub use live::LiveHandle;
pub use sharing::{Share, ShareChange};
pub use status::{ConnectionState, LiveEvent, SpaceSummary, SyncStatus, SyncSummary};

use crate::round::{Memory, Shared};

/// Android only: the one-time initialisation of the platform certificate verifier, to call
/// from the app's JNI entry point before the first `wss://` connection (`README.md`).
#[cfg(target_os = "android")]
pub use rustls_platform_verifier::android as android_tls;

/// Whether the client drops metadata that every replica has seen (`Store::collect_garbage`
/// with the server's causal-stability point, [`almanac_core::sync::SpaceAccess::stable`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum GarbageCollection {
    /// Never: the store keeps every removal's metadata and its whole trash. Choose this when
    /// the store also syncs with peers the server does not know (another device directly,
    /// `almanac sync a b`), since the server's stable point does not cover their writes.
    Off,
    /// After a round, for each space whose stable point the server sent, at most once per
    /// `every`.
    ServerStable {
        /// The least time between two collections of one space.
        every: Duration,
        /// How long a deleted record stays in the trash, restorable, before it is purged
        /// (`almanac_core::DEFAULT_TRASH_RETENTION`, 30 days, by default).
        trash_retention: Duration,
    },
}

/// How to reach the server, and the client's timings.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// `ws://host:port` or `wss://host:port`; `/v1/sync` is appended when there is no path.
    pub url: String,
    /// The bearer token issued for this user.
    pub token: String,
    /// Spaces to follow that the store does not hold yet: each round names them, and the ones
    /// the server allows are joined (created in the store) and synced whole.
    pub spaces_to_join: Vec<SpaceId>,
    /// How long a local commit waits for more before the live sync sends it (default 50 ms).
    pub debounce: Duration,
    /// The first reconnect delay of the live sync (default 500 ms).
    pub reconnect_initial: Duration,
    /// The longest reconnect delay (default 30 s).
    pub reconnect_max: Duration,
    /// How long connecting may take (default 10 s).
    pub connect_timeout: Duration,
    /// A round in which the server sends nothing for this long is abandoned (default 60 s).
    pub stall_timeout: Duration,
    /// A connected live sync that hears nothing from the server for this long (the server
    /// pings every 30 s) reconnects (default 90 s).
    pub idle_timeout: Duration,
    /// Frames larger than this are refused (default 8 MiB, the server's limit).
    pub max_frame_bytes: usize,
    /// Garbage collection after rounds (default: from the server's stable point, hourly).
    pub garbage_collection: GarbageCollection,
}

impl ClientConfig {
    /// A configuration with default timings.
    pub fn new(url: impl Into<String>, token: impl Into<String>) -> ClientConfig {
        ClientConfig {
            url: url.into(),
            token: token.into(),
            spaces_to_join: Vec::new(),
            debounce: Duration::from_millis(50),
            reconnect_initial: Duration::from_millis(500),
            reconnect_max: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            stall_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(90),
            max_frame_bytes: 8 << 20,
            garbage_collection: GarbageCollection::ServerStable {
                every: Duration::from_secs(60 * 60),
                trash_retention: almanac_core::DEFAULT_TRASH_RETENTION,
            },
        }
    }
}

/// A store's connection to the sync server.
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
}

impl Client {
    /// A client for `store`; fails only for a URL that cannot work ([`Error::InvalidUrl`]).
    /// Nothing is connected yet.
    pub fn new(store: Arc<Store>, config: ClientConfig) -> Result<Client> {
        let endpoint = Endpoint::parse(&config.url)?;
        Ok(Client {
            shared: Arc::new(Shared {
                store,
                config,
                endpoint,
                memory: Mutex::new(Memory::default()),
                session_thread: Mutex::new(None),
            }),
        })
    }

    /// The URL connected to (with its path).
    pub fn endpoint(&self) -> &Endpoint {
        &self.shared.endpoint
    }

    /// Connects, runs one round for every space the store holds plus those to join, and
    /// closes the connection. Joined spaces are created in the store only when the server
    /// allows them.
    ///
    /// A round that finds this store sharing its replica id with a copy of it (copied with its
    /// device marker) ends once the store has moved to a fresh id keeping its writes
    /// (`almanac_core::Error::ReplicaRenewed`); the round then runs once more under the new id.
    ///
    /// A round that fetched a space again from scratch (the server had retired this device,
    /// see [`SpaceSummary::rejoined`]) is followed by one more, which
    /// sends the device's unsent writes written again on top.
    pub async fn sync_once(&self) -> Result<SyncSummary> {
        let summary = match self.round_once().await {
            Err(Error::Storage(almanac_core::Error::ReplicaRenewed { .. })) => {
                self.round_once().await?
            }
            other => other?,
        };
        if !summary.spaces.iter().any(|s| s.rejoined) {
            return Ok(summary);
        }
        let mut next = self.round_once().await?;
        for space in &mut next.spaces {
            space.rejoined |= summary.spaces.iter().any(|s| s.space == space.space && s.rejoined);
        }
        next.records_received += summary.records_received;
        next.bytes_received += summary.bytes_received;
        next.bytes_sent += summary.bytes_sent;
        next.records_sent += summary.records_sent;
        Ok(next)
    }

    async fn round_once(&self) -> Result<SyncSummary> {
        let config = &self.shared.config;
        let mut ws = connection::connect(
            &self.shared.endpoint,
            &config.token,
            config.max_frame_bytes,
            config.connect_timeout,
        )
        .await?;
        let mut worker = None;
        let result = round::run_round(&self.shared, &mut ws, &mut worker).await;
        connection::close(&mut ws).await;
        if let Some(worker) = worker {
            // The round failed with the thread still running: wait until it lets go of the
            // store (the closed channels end it at its next frame).
            let _ = worker.await;
        }
        Ok(result?.summary)
    }

    /// Starts the live sync on the current tokio runtime; it runs until the handle is stopped
    /// or dropped. Fails outside a tokio runtime.
    pub fn start(&self) -> Result<LiveHandle> {
        live::start(Arc::clone(&self.shared))
    }

    /// Who `space` is shared with (its owner only: others get [`Error::NotOwner`]), sorted by
    /// name. One HTTP request with this client's URL and token (`docs/protocol.md`, "Sharing").
    pub async fn shares(&self, space: &SpaceId) -> Result<Vec<Share>> {
        let config = &self.shared.config;
        sharing::shares(&self.shared.endpoint, &config.token, config.connect_timeout, space).await
    }

    /// Shares `space`, which this client's user owns, with `user` (read-only or read-write),
    /// or changes that user's access. Their devices get it at their next round.
    pub async fn share(&self, space: &SpaceId, user: &str, read_only: bool) -> Result<ShareChange> {
        let config = &self.shared.config;
        let (endpoint, token, timeout) =
            (&self.shared.endpoint, &config.token, config.connect_timeout);
        sharing::share(endpoint, token, timeout, space, user, read_only).await
    }

    /// Stops sharing `space` with `user`; `false` if it was not shared with them. Their
    /// devices are denied it from their next round on (their copy stays until they leave it).
    pub async fn unshare(&self, space: &SpaceId, user: &str) -> Result<bool> {
        let config = &self.shared.config;
        sharing::unshare(&self.shared.endpoint, &config.token, config.connect_timeout, space, user)
            .await
    }

    /// Spaces with local changes the server is not known to have (reads the store:
    /// blocking). Before this client's first round every space with writes of this device
    /// counts.
    pub fn pending_spaces(&self) -> Result<Vec<SpaceId>> {
        self.shared.pending_spaces()
    }
}
