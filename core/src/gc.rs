//! Garbage collection for apps and servers: [`Store::collect_garbage`] drops the metadata of
//! removals every replica of a space has seen, and empties the trash of deleted records older
//! than the retention period (`docs/decisions/0014-causal-stability-and-trash.md`).
//!
//! The store cannot know by itself what every replica has seen: the caller supplies the stable
//! version vector (a sync server from the version vectors its devices report; peers that sync
//! directly from the meet of all their vectors, see [`VersionVector::meet`]).

use std::time::Duration;

use crate::crdt::{SpaceId, VersionVector};
use crate::error::Result;
use crate::storage::sqlite;
use crate::storage::sqlite::gc as sqlite_gc;
use crate::store::Store;

/// How long a deleted record stays restorable before garbage collection may remove it, like a
/// trash: 30 days.
pub const DEFAULT_TRASH_RETENTION: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// What [`Store::collect_garbage`] dropped.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct GcReport {
    /// Keyed-map members (alarms, attendees, …) removed for good: their removal had been seen
    /// by every replica.
    pub members_purged: usize,
    /// Deleted records removed for good: stable, and deleted longer ago than the retention.
    pub records_purged: usize,
}

/// Records looked at per write transaction, so commits from other threads are not held up for
/// the whole space.
const BATCH: usize = 500;

impl Store {
    /// Drops from `space` what no replica can need any more: keyed-map members whose removal is
    /// inside `stable`, and deleted records whose entries are all inside `stable` and that
    /// were deleted more than `retention` ago ([`DEFAULT_TRASH_RETENTION`] suits most apps).
    /// What apps see does not change, except that expired records leave the trash and can no
    /// longer be restored.
    ///
    /// `stable` must be causally stable: every replica of the space has seen it, and no replica
    /// can still deliver a write it made before seeing it that this store lacks. Passing a
    /// vector this store has not seen is refused with [`Error::InvalidInput`](crate::Error::InvalidInput). The deletion
    /// time is the deletion's hybrid-clock time, compared with the store's clock
    /// (`StoreOptions::clock`).
    pub fn collect_garbage(
        &self,
        space: &str,
        stable: &VersionVector,
        retention: Duration,
    ) -> Result<GcReport> {
        self.collect_garbage_at(space, stable, retention, self.now_millis())
    }

    /// [`Store::collect_garbage`] with the current time given, in milliseconds since the epoch.
    pub(crate) fn collect_garbage_at(
        &self,
        space: &str,
        stable: &VersionVector,
        retention: Duration,
        now_millis: u64,
    ) -> Result<GcReport> {
        let space = SpaceId::new(space)?;
        let retention_millis = u64::try_from(retention.as_millis()).unwrap_or(u64::MAX);
        let expired_at_millis = now_millis.saturating_sub(retention_millis);
        let mut report = GcReport::default();
        let mut after = 0;
        loop {
            let collected = self.write_derived(|conn| {
                let sid = sqlite::held_space(conn, &space)?;
                sqlite_gc::collect_batch(conn, &space, sid, stable, expired_at_millis, after, BATCH)
            })?;
            report.members_purged += collected.members_purged;
            report.records_purged += collected.records_purged;
            match collected.next {
                Some(next) => after = next,
                None => return Ok(report),
            }
        }
    }
}
