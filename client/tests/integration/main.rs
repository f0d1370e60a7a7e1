//! The client against the real sync server (`almanac-server` as a child process; see
//! `server.rs`): devices converge, pushes arrive live, a killed server is survived, a device
//! offline for weeks catches up, read-only shares keep the member's writes local, refused
//! tokens are reported as such.
//!
//! Waiting is always on something observable (a status change, an event) with an upper
//! bound, never a sleep standing in for synchronisation.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::new_without_default,
    missing_docs
)]

mod live;
mod once;
pub mod server;

use std::sync::Arc;
use std::time::Duration;

use almanac_client::{Client, ClientConfig, ConnectionState, LiveEvent, LiveHandle, SyncStatus};
use almanac_core::{SpaceId, Store};
use tokio::sync::broadcast;

/// One device: a store in its own folder.
pub struct Device {
    _dir: tempfile::TempDir,
    pub store: Arc<Store>,
}

impl Device {
    pub fn new() -> Device {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path().join("device.almanac")).expect("open store");
        Device { _dir: dir, store: Arc::new(store) }
    }

    /// A second device whose store is a block-level copy of this one's, device marker
    /// included (a disk image cloned): it opens under the same replica id, and only sync can
    /// tell the two apart. (A file-level copy is caught when it opens, decision 0028.)
    pub fn copy_with_marker(&self) -> Device {
        self.store.checkpoint().expect("checkpoint");
        let dir = tempfile::tempdir().expect("temp dir");
        let to = dir.path().join("device.almanac");
        almanac_core::storage::sqlite::incarnation::copy_like_a_disk_clone(self.store.path(), &to)
            .expect("clone the store");
        let store = Store::open(&to).expect("open the copy");
        assert_eq!(store.replica_id(), self.store.replica_id());
        Device { _dir: dir, store: Arc::new(store) }
    }

    /// A client of this device's store with test timings (fast reconnects).
    pub fn client(&self, url: &str, token: &str, join: &[&str]) -> Client {
        self.client_with(url, token, join, |_| {})
    }

    /// [`Device::client`] with more settings changed by `adjust`.
    pub fn client_with(
        &self,
        url: &str,
        token: &str,
        join: &[&str],
        adjust: impl FnOnce(&mut ClientConfig),
    ) -> Client {
        let mut config = ClientConfig::new(url, token);
        config.spaces_to_join = join.iter().map(|s| SpaceId::new(*s).expect("space id")).collect();
        config.reconnect_initial = Duration::from_millis(50);
        config.reconnect_max = Duration::from_millis(500);
        config.debounce = Duration::from_millis(20);
        adjust(&mut config);
        Client::new(Arc::clone(&self.store), config).expect("client")
    }

    /// Sets a field of an event record in `space`.
    pub fn write(&self, space: &str, id: &str, field: &str, value: &str) {
        self.store.transaction(space).set("events", id, field, value).commit().expect("commit");
    }

    /// `(key, shown values)` of every live event record of `space`, sorted: what must be equal
    /// on converged devices.
    pub fn events(&self, space: &str) -> Vec<(String, String)> {
        if !self.store.holds_space(space).expect("holds") {
            return Vec::new();
        }
        let mut out: Vec<(String, String)> = self
            .store
            .records(space, "events")
            .expect("records")
            .into_iter()
            .map(|record| (format!("{:?}", record.key), format!("{:?}", record.values())))
            .collect();
        out.sort();
        out
    }

    /// The text of one field, if the record exists.
    pub fn field(&self, space: &str, id: &str, field: &str) -> Option<String> {
        let record = self.store.get(space, "events", id).ok()??;
        record.value(field).and_then(|v| v.as_text()).map(str::to_owned)
    }
}

/// How long anything observable may take to happen.
pub const BOUND: Duration = Duration::from_secs(10);

/// Waits until the live sync's status satisfies `condition`; panics after `bound`.
pub async fn status_until(
    live: &LiveHandle,
    bound: Duration,
    what: &str,
    condition: impl Fn(&SyncStatus) -> bool,
) -> SyncStatus {
    let mut status = live.status();
    let waited = tokio::time::timeout(bound, async {
        loop {
            {
                let current = status.borrow_and_update();
                if condition(&current) {
                    return current.clone();
                }
            }
            status.changed().await.expect("the live sync ended");
        }
    })
    .await;
    waited.unwrap_or_else(|_| panic!("not {what} within {bound:?}: {:?}", *status.borrow()))
}

/// Waits until the live sync is connected and up to date.
pub async fn up_to_date(live: &LiveHandle) -> SyncStatus {
    status_until(live, BOUND, "up to date", |s| s.state == ConnectionState::UpToDate).await
}

/// The next event satisfying `condition`; panics after `bound`.
pub async fn event_until(
    events: &mut broadcast::Receiver<LiveEvent>,
    bound: Duration,
    what: &str,
    condition: impl Fn(&LiveEvent) -> bool,
) -> LiveEvent {
    let waited = tokio::time::timeout(bound, async {
        loop {
            match events.recv().await {
                Ok(event) if condition(&event) => return event,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => panic!("the live sync ended"),
            }
        }
    })
    .await;
    waited.unwrap_or_else(|_| panic!("no event {what} within {bound:?}"))
}

/// Forgets the events already received, so the next wait sees only what happens next.
pub fn drain(events: &mut broadcast::Receiver<LiveEvent>) {
    while events.try_recv().is_ok() {}
}

/// Whether an event is a round that changed records of `space` here.
pub fn received_in(event: &LiveEvent, space: &str) -> bool {
    match event {
        LiveEvent::Synced(summary) => {
            summary.spaces.iter().any(|s| s.space.as_str() == space && s.records_received > 0)
        }
        _ => false,
    }
}
