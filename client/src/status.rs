//! What an app shows about sync: the connection state, local changes the server has not
//! acknowledged, when the last sync succeeded and the last error ([`SyncStatus`], observed
//! through a `tokio::sync::watch` channel); and what one round did ([`SyncSummary`]).

use std::sync::Arc;
use std::time::SystemTime;

use almanac_core::SpaceId;
use almanac_core::crdt::ClockSkew;
use almanac_core::sync::Access;

use crate::error::Error;

/// Where the live sync stands.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ConnectionState {
    /// Not connected: not started, suspended, stopped, or waiting to reconnect after an error
    /// (see [`SyncStatus::last_error`]). Local writes are kept and wait.
    Offline,
    /// Opening the connection (TCP, TLS, WebSocket upgrade with the token).
    Connecting,
    /// Connected and exchanging changes.
    Syncing,
    /// Connected, and the last round brought everything both ways; the server pushes what
    /// changes next.
    UpToDate,
}

/// The sync status an app shows (a badge, a "last synced" line).
#[derive(Clone, Debug)]
pub struct SyncStatus {
    /// The connection.
    pub state: ConnectionState,
    /// Spaces with local changes the server has not acknowledged: written offline, written
    /// since the last round, or refused by the server (a read-only share or a denied space,
    /// whose writes stay on this device). Until the first round of this process, every space
    /// with writes of this device counts, since nothing has confirmed the server has them.
    pub pending_spaces: Vec<SpaceId>,
    /// When the last round finished.
    pub last_synced_at: Option<SystemTime>,
    /// The last error, cleared by the next successful round.
    pub last_error: Option<Arc<Error>>,
}

impl Default for SyncStatus {
    fn default() -> Self {
        SyncStatus {
            state: ConnectionState::Offline,
            pending_spaces: Vec::new(),
            last_synced_at: None,
            last_error: None,
        }
    }
}

impl SyncStatus {
    /// Whether this device has changes the server has not acknowledged.
    pub fn has_pending_changes(&self) -> bool {
        !self.pending_spaces.is_empty()
    }

    /// The status after `event`.
    pub(crate) fn apply(&mut self, event: StatusEvent) {
        match event {
            StatusEvent::Connecting => self.state = ConnectionState::Connecting,
            StatusEvent::RoundStarted => self.state = ConnectionState::Syncing,
            StatusEvent::RoundFinished { at, pending } => {
                self.state = ConnectionState::UpToDate;
                self.last_synced_at = Some(at);
                self.pending_spaces = pending;
                self.last_error = None;
            }
            StatusEvent::Pending(pending) => self.pending_spaces = pending,
            StatusEvent::Failed(error) => {
                self.state = ConnectionState::Offline;
                self.last_error = Some(error);
            }
            StatusEvent::Disconnected => self.state = ConnectionState::Offline,
        }
    }
}

/// What changes the status.
#[derive(Clone, Debug)]
pub(crate) enum StatusEvent {
    /// A connection attempt started.
    Connecting,
    /// A round started (right after connecting, after a push or a local commit).
    RoundStarted,
    /// A round finished.
    RoundFinished { at: SystemTime, pending: Vec<SpaceId> },
    /// The set of spaces with unacknowledged local changes changed (a local commit).
    Pending(Vec<SpaceId>),
    /// The connection failed or broke.
    Failed(Arc<Error>),
    /// The connection was closed on purpose (suspend, stop).
    Disconnected,
}

/// What one round did for one space.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SpaceSummary {
    /// The space.
    pub space: SpaceId,
    /// What the server allows this device.
    pub access: Access,
    /// Records received whose state changed here.
    pub records_received: usize,
    /// Whether this device still has changes of the space the server has not acknowledged.
    pub pending_local_changes: bool,
    /// Whether the space was joined by this round (named in `spaces_to_join`, not held before).
    pub joined: bool,
    /// Whether this round fetched the space again from scratch because the server had retired
    /// this device (left it out of the stable point after a long silence); this device's
    /// unsent writes were written again on top and go out in the next round.
    pub rejoined: bool,
}

/// What one round did.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct SyncSummary {
    /// Every space of the round, in the order sent.
    pub spaces: Vec<SpaceSummary>,
    /// Records sent to the server.
    pub records_sent: usize,
    /// Records received whose state changed here.
    pub records_received: usize,
    /// Bytes of frames sent (sync frames and the round's `Open`).
    pub bytes_sent: usize,
    /// Bytes of frames received.
    pub bytes_received: usize,
    /// Set when the server's clock is far ahead of this device's.
    pub clock_skew: Option<ClockSkew>,
}

impl SyncSummary {
    /// Read-only spaces in which this device has changes of its own that the server will not
    /// take: they stay on this device.
    pub fn read_only_with_pending_changes(&self) -> Vec<&SpaceId> {
        self.spaces
            .iter()
            .filter(|s| s.access == Access::ReadOnly && s.pending_local_changes)
            .map(|s| &s.space)
            .collect()
    }

    /// Spaces the server refused (another user's, or an invalid name).
    pub fn denied(&self) -> Vec<&SpaceId> {
        self.spaces.iter().filter(|s| s.access == Access::Denied).map(|s| &s.space).collect()
    }
}

/// What happened in a live sync, in order (for logs and tools such as `almanac watch`; apps
/// usually only need [`SyncStatus`]).
#[derive(Clone, Debug)]
pub enum LiveEvent {
    /// Connected to the server; `reconnected` after an earlier connection of this live sync.
    Connected {
        /// Whether an earlier connection existed.
        reconnected: bool,
    },
    /// A round finished.
    Synced(Arc<SyncSummary>),
    /// The connection failed or broke. `retrying` is false for errors that need someone to
    /// act (a refused token, a bad URL, a certificate problem): the live sync then waits for
    /// `set_token`, `resume` or `stop`.
    Disconnected {
        /// Why.
        error: Arc<Error>,
        /// Whether the live sync will reconnect by itself.
        retrying: bool,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn space(id: &str) -> SpaceId {
        SpaceId::new(id).unwrap_or_else(|_| unreachable!("valid test id"))
    }

    #[test]
    fn a_live_sync_goes_connecting_syncing_up_to_date_and_back() {
        let mut status = SyncStatus::default();
        assert_eq!(status.state, ConnectionState::Offline);
        status.apply(StatusEvent::Pending(vec![space("work")]));
        assert!(status.has_pending_changes());
        assert_eq!(status.state, ConnectionState::Offline, "offline writes do not connect");
        status.apply(StatusEvent::Connecting);
        assert_eq!(status.state, ConnectionState::Connecting);
        status.apply(StatusEvent::RoundStarted);
        assert_eq!(status.state, ConnectionState::Syncing);
        let at = SystemTime::now();
        status.apply(StatusEvent::RoundFinished { at, pending: Vec::new() });
        assert_eq!(status.state, ConnectionState::UpToDate);
        assert_eq!(status.last_synced_at, Some(at));
        assert!(!status.has_pending_changes());
        status.apply(StatusEvent::Pending(vec![space("home")]));
        assert_eq!(status.state, ConnectionState::UpToDate);
        status.apply(StatusEvent::RoundStarted);
        status.apply(StatusEvent::Disconnected);
        assert_eq!(status.state, ConnectionState::Offline);
        assert!(status.last_error.is_none());
        assert_eq!(status.pending_spaces, [space("home")]);
    }

    #[test]
    fn an_error_is_kept_until_the_next_successful_round() {
        let mut status = SyncStatus::default();
        status.apply(StatusEvent::Connecting);
        status.apply(StatusEvent::Failed(Arc::new(Error::TooManyConnections)));
        assert_eq!(status.state, ConnectionState::Offline);
        status.apply(StatusEvent::Connecting);
        status.apply(StatusEvent::RoundStarted);
        assert!(
            matches!(status.last_error.as_deref(), Some(Error::TooManyConnections)),
            "still shown while retrying"
        );
        let first = SystemTime::UNIX_EPOCH;
        status.apply(StatusEvent::RoundFinished { at: first, pending: Vec::new() });
        assert!(status.last_error.is_none());
        status.apply(StatusEvent::Failed(Arc::new(Error::Unauthorized)));
        assert_eq!(status.last_synced_at, Some(first), "the last success stays known");
    }

    #[test]
    fn a_summary_lists_read_only_spaces_with_pending_changes() {
        let entry = |id: &str, access, pending| SpaceSummary {
            space: space(id),
            access,
            records_received: 0,
            pending_local_changes: pending,
            joined: false,
            rejoined: false,
        };
        let summary = SyncSummary {
            spaces: vec![
                entry("mine", Access::ReadWrite, false),
                entry("shared", Access::ReadOnly, true),
                entry("seen", Access::ReadOnly, false),
                entry("theirs", Access::Denied, true),
            ],
            ..SyncSummary::default()
        };
        assert_eq!(summary.read_only_with_pending_changes(), [&space("shared")]);
        assert_eq!(summary.denied(), [&space("theirs")]);
    }
}
