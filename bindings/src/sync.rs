//! Sync with the server as the apps see it: configuration, status values, listeners, and the
//! one tokio runtime the sync client runs on.

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use almanac_client::{ConnectionState, SyncStatus, SyncSummary};
use tokio::runtime::Runtime;

use crate::error::AlmanacError;

/// How to reach the sync server.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct SyncConfig {
    /// `wss://sync.example.com` (or `ws://` for loopback and tests); `/v1/sync` is appended
    /// when the URL has no path.
    pub server_url: String,
    /// The bearer token the server issued for this user.
    pub token: String,
}

/// Someone a calendar is shared with (what its owner sees).
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct CalendarShare {
    /// The user's name on the server.
    pub user: String,
    /// Whether the user only reads the calendar.
    pub read_only: bool,
}

/// What `share_calendar` changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum ShareOutcome {
    /// The user had no access before.
    Added,
    /// The user's access changed (read-only to read-write or back).
    Changed,
    /// The user already had exactly this access.
    Unchanged,
}

impl From<almanac_client::ShareChange> for ShareOutcome {
    fn from(change: almanac_client::ShareChange) -> Self {
        match change {
            almanac_client::ShareChange::Added => ShareOutcome::Added,
            almanac_client::ShareChange::Changed => ShareOutcome::Changed,
            almanac_client::ShareChange::Unchanged => ShareOutcome::Unchanged,
        }
    }
}

/// Where sync stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum SyncState {
    /// Not connected (not started, suspended, stopped or waiting to reconnect).
    Offline,
    /// Connecting.
    Connecting,
    /// Exchanging changes.
    Syncing,
    /// Connected and up to date; the server pushes what changes next.
    UpToDate,
}

/// What an app shows about sync (a badge, a "last synced" line).
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct SyncStatusInfo {
    /// The connection.
    pub state: SyncState,
    /// Calendars with local changes the server has not acknowledged.
    pub pending_calendars: Vec<String>,
    /// When the last sync finished (Unix milliseconds).
    pub last_synced_at_epoch_millis: Option<i64>,
    /// The last error, cleared by the next successful sync.
    pub last_error: Option<String>,
}

impl Default for SyncStatusInfo {
    fn default() -> Self {
        SyncStatusInfo {
            state: SyncState::Offline,
            pending_calendars: Vec::new(),
            last_synced_at_epoch_millis: None,
            last_error: None,
        }
    }
}

/// What one `sync_once` did.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct SyncReport {
    /// Records sent to the server.
    pub records_sent: u64,
    /// Records received from it.
    pub records_received: u64,
    /// Calendars joined in this round (shared with this user and asked for).
    pub joined_calendars: Vec<String>,
    /// Calendars the server refused (not this user's, not shared with them).
    pub denied_calendars: Vec<String>,
    /// Calendars with local changes the server did not take (read-only shares).
    pub read_only_with_pending_changes: Vec<String>,
}

pub(crate) fn epoch_millis(at: SystemTime) -> i64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl From<&SyncStatus> for SyncStatusInfo {
    fn from(status: &SyncStatus) -> Self {
        SyncStatusInfo {
            state: match status.state {
                ConnectionState::Offline => SyncState::Offline,
                ConnectionState::Connecting => SyncState::Connecting,
                ConnectionState::Syncing => SyncState::Syncing,
                ConnectionState::UpToDate => SyncState::UpToDate,
            },
            pending_calendars: status.pending_spaces.iter().map(ToString::to_string).collect(),
            last_synced_at_epoch_millis: status.last_synced_at.map(epoch_millis),
            last_error: status
                .last_error
                .as_ref()
                .map(|e| AlmanacError::from_client(e).to_string()),
        }
    }
}

impl From<&SyncSummary> for SyncReport {
    fn from(summary: &SyncSummary) -> Self {
        SyncReport {
            records_sent: summary.records_sent as u64,
            records_received: summary.records_received as u64,
            joined_calendars: summary
                .spaces
                .iter()
                .filter(|s| s.joined)
                .map(|s| s.space.to_string())
                .collect(),
            denied_calendars: summary.denied().into_iter().map(ToString::to_string).collect(),
            read_only_with_pending_changes: summary
                .read_only_with_pending_changes()
                .into_iter()
                .map(ToString::to_string)
                .collect(),
        }
    }
}

/// The runtime every store's sync runs on: one per process, two worker threads (the sync work
/// itself runs on blocking threads; the workers only move frames and timers).
pub(crate) fn runtime() -> Result<&'static Runtime, AlmanacError> {
    static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("almanac-sync")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| AlmanacError::Internal {
            message: format!("cannot start the sync runtime: {e}"),
        })
}

/// Runs `future` on the sync runtime and waits for it from whatever executor polls the
/// caller: a panic inside becomes [`AlmanacError::Internal`] instead of unwinding into the
/// foreign executor.
pub(crate) async fn on_runtime<T: Send + 'static>(
    future: impl Future<Output = Result<T, AlmanacError>> + Send + 'static,
) -> Result<T, AlmanacError> {
    match runtime()?.spawn(future).await {
        Ok(result) => result,
        Err(join) if join.is_panic() => Err(AlmanacError::from_panic(&*join.into_panic())),
        Err(_) => Err(AlmanacError::Internal { message: "the sync task was cancelled".into() }),
    }
}
