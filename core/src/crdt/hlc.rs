//! The hybrid logical clock: physical milliseconds plus a logical counter.
//!
//! Phones' clocks drift and jump, so raw device time never orders writes on its own. The HLC
//! follows the device clock while it moves forward and falls back to counting when the clock
//! stalls or goes backwards, or when a remote replica's clock is ahead. It never goes backwards.
//!
//! A remote clock is followed only up to [`MAX_FORWARD_SKEW_MILLIS`] past the device clock (see
//! [`Hlc::observe`] and `docs/decisions/0006-hybrid-logical-clock.md`): one sync with a device
//! set to the year 2255 must not drag every later stamp of this store there.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How far ahead of this device's clock a remote stamp may pull the local clock: one day.
///
/// Honest devices disagree by seconds, sometimes by minutes after a manual change or a missed
/// time-zone update; a day covers all of that (and a wrong AM/PM or date by one) with room to
/// spare, so ordinary skew is adopted exactly as before. Anything further ahead is a broken or
/// hostile clock, and following it would stamp every later write of this store with that
/// future time, where no honestly clocked replica could ever out-stamp it.
pub const MAX_FORWARD_SKEW_MILLIS: u64 = 24 * 60 * 60 * 1000;

/// One reading of the hybrid logical clock. Ordered by milliseconds, then the logical counter.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default, Serialize, Deserialize,
)]
pub struct Hlc {
    /// Milliseconds since the Unix epoch, as far as this clock knows.
    pub millis: u64,
    /// Counts writes within one millisecond or while the device clock lags.
    pub logical: u32,
}

/// The clock after [`Hlc::observe`], and whether the remote clock was too far ahead to follow.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Observed {
    /// The local clock to keep.
    pub hlc: Hlc,
    /// Set when the remote stamp was more than [`MAX_FORWARD_SKEW_MILLIS`] ahead of this
    /// device's clock and was therefore followed only up to that limit.
    pub skew: Option<ClockSkew>,
}

/// A warning for the app: a peer's clock is far ahead of this device's (or this device's clock
/// is far behind). Nothing was lost; later local stamps just do not follow that peer's clock.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ClockSkew {
    /// How far the remote stamp's milliseconds were ahead of this device's clock.
    pub ahead_by_millis: u64,
}

impl Hlc {
    /// The stamp for the next local write: strictly greater than `self`, and at least the
    /// device's `physical_millis`.
    ///
    /// Fails with [`Error::ClockExhausted`] only when `self` is the largest stamp there is:
    /// handing out a smaller stamp instead would break the rule that stamps never go backwards.
    pub fn tick(self, physical_millis: u64) -> Result<Hlc> {
        if physical_millis > self.millis {
            Ok(Hlc { millis: physical_millis, logical: 0 })
        } else if let Some(logical) = self.logical.checked_add(1) {
            Ok(Hlc { millis: self.millis, logical })
        } else if let Some(millis) = self.millis.checked_add(1) {
            // 4 billion writes within one millisecond: borrow the next millisecond.
            Ok(Hlc { millis, logical: 0 })
        } else {
            Err(Error::ClockExhausted)
        }
    }

    /// The clock after seeing a remote stamp, given this device's clock `physical_millis`.
    ///
    /// The clock moves to `max(self, min(remote, physical_millis + MAX_FORWARD_SKEW_MILLIS))`:
    /// a remote clock within the limit is adopted exactly, so a write made after a sync sorts
    /// after what was received; one further ahead is followed only up to the limit and reported
    /// as [`ClockSkew`]. The clock never goes backwards.
    ///
    /// Capping does not affect convergence. Which of two concurrent values wins is decided by the
    /// `(hlc, replica)` stamps carried in the data, which every replica sees alike; whether a
    /// write replaces another is decided by dots and version vectors, not clocks. So a write made
    /// here after receiving a far-future value still replaces it everywhere (contract case 16),
    /// even though its stamp is smaller; only a write *concurrent* with the far-future one loses
    /// to it, as it would anyway.
    pub fn observe(self, remote: Hlc, physical_millis: u64) -> Observed {
        let limit = physical_millis.saturating_add(MAX_FORWARD_SKEW_MILLIS);
        let (followed, skew) = if remote.millis > limit {
            let skew = ClockSkew { ahead_by_millis: remote.millis - physical_millis };
            (Hlc { millis: limit, logical: 0 }, Some(skew))
        } else {
            (remote, None)
        };
        Observed { hlc: self.max(followed), skew }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: u64 = 60 * 60 * 1000;
    /// 2026-01-01 and a clock set to 2255-01-01, in milliseconds since the epoch.
    const NOW: u64 = 1_767_225_600_000;
    const YEAR_2255: u64 = 8_993_721_600_000;

    #[test]
    fn tick_follows_the_device_clock_forward() -> Result<()> {
        let hlc = Hlc { millis: 10, logical: 3 };
        assert_eq!(hlc.tick(20)?, Hlc { millis: 20, logical: 0 });
        Ok(())
    }

    #[test]
    fn tick_never_goes_backwards_when_the_device_clock_does() -> Result<()> {
        let hlc = Hlc { millis: 1_000, logical: 0 };
        let next = hlc.tick(5)?;
        assert!(next > hlc);
        assert_eq!(next, Hlc { millis: 1_000, logical: 1 });
        Ok(())
    }

    #[test]
    fn tick_borrows_a_millisecond_when_the_counter_is_exhausted() -> Result<()> {
        let hlc = Hlc { millis: 7, logical: u32::MAX };
        assert_eq!(hlc.tick(7)?, Hlc { millis: 8, logical: 0 });
        Ok(())
    }

    #[test]
    fn tick_at_the_largest_stamp_is_an_error_not_a_smaller_stamp() {
        let last = Hlc { millis: u64::MAX, logical: u32::MAX };
        assert!(matches!(last.tick(u64::MAX), Err(Error::ClockExhausted)));
        assert!(matches!(last.tick(0), Err(Error::ClockExhausted)));
        // One below the end still ticks, to the very last stamp.
        let almost = Hlc { millis: u64::MAX, logical: u32::MAX - 1 };
        assert!(matches!(almost.tick(0), Ok(next) if next == last));
    }

    #[test]
    fn a_far_future_remote_does_not_pin_the_clock() -> Result<()> {
        let local = Hlc { millis: NOW, logical: 2 };
        let remote = Hlc { millis: YEAR_2255, logical: 9 };
        let observed = local.observe(remote, NOW);
        assert_eq!(observed.hlc, Hlc { millis: NOW + MAX_FORWARD_SKEW_MILLIS, logical: 0 });
        assert_eq!(observed.skew, Some(ClockSkew { ahead_by_millis: YEAR_2255 - NOW }));
        // Once the device clock passes the cap, stamps follow the device clock again.
        let later = NOW + MAX_FORWARD_SKEW_MILLIS + HOUR;
        assert_eq!(observed.hlc.tick(later)?, Hlc { millis: later, logical: 0 });
        Ok(())
    }

    #[test]
    fn a_remote_just_past_the_limit_is_capped_and_reported() {
        let local = Hlc { millis: NOW, logical: 0 };
        let remote = Hlc { millis: NOW + MAX_FORWARD_SKEW_MILLIS + 1, logical: 0 };
        let observed = local.observe(remote, NOW);
        assert!(observed.hlc < remote);
        assert_eq!(observed.skew, Some(ClockSkew { ahead_by_millis: MAX_FORWARD_SKEW_MILLIS + 1 }));
    }

    #[test]
    fn a_remote_within_the_limit_is_adopted_exactly() {
        let local = Hlc { millis: NOW, logical: 0 };
        for remote in [
            Hlc { millis: NOW + 3 * HOUR, logical: 4 },
            Hlc { millis: NOW + MAX_FORWARD_SKEW_MILLIS, logical: 7 },
        ] {
            assert_eq!(local.observe(remote, NOW), Observed { hlc: remote, skew: None });
        }
    }

    #[test]
    fn observe_never_goes_backwards() {
        let ahead = Hlc { millis: YEAR_2255, logical: 1 };
        let cases = [
            // A remote behind the local clock.
            (Hlc { millis: NOW, logical: 5 }, Hlc { millis: NOW - HOUR, logical: 0 }, NOW),
            // A local clock already far ahead (pinned before the limit existed), a remote
            // further still: the cap must not pull it back.
            (ahead, Hlc { millis: YEAR_2255 + 1, logical: 0 }, NOW),
            // The device clock near the end of time: the limit saturates instead of wrapping.
            (
                Hlc { millis: u64::MAX - 1, logical: 0 },
                Hlc { millis: u64::MAX, logical: 3 },
                u64::MAX - 5,
            ),
        ];
        for (local, remote, physical) in cases {
            assert!(local.observe(remote, physical).hlc >= local, "{local:?} after {remote:?}");
        }
        assert_eq!(ahead.observe(Hlc::default(), NOW).hlc, ahead);
        // Near the end of time the limit saturates rather than wrapping to a tiny cap.
        let end = Hlc { millis: u64::MAX, logical: 3 };
        assert_eq!(Hlc::default().observe(end, u64::MAX - 5), Observed { hlc: end, skew: None });
    }

    #[test]
    fn a_tick_after_observing_sorts_after_every_adopted_stamp() -> Result<()> {
        let mut clock = Hlc { millis: NOW, logical: 0 };
        let remotes = [
            Hlc { millis: NOW + HOUR, logical: 3 },
            Hlc { millis: YEAR_2255, logical: 0 },
            Hlc { millis: NOW + 2 * HOUR, logical: u32::MAX },
        ];
        for remote in remotes {
            let observed = clock.observe(remote, NOW);
            let next = observed.hlc.tick(NOW)?;
            assert!(next > observed.hlc);
            if observed.skew.is_none() {
                assert!(next > remote, "{next:?} does not sort after {remote:?}");
            }
            clock = next;
        }
        Ok(())
    }

    #[test]
    fn observing_a_remote_clock_ahead_moves_later_ticks_past_it() -> Result<()> {
        let local = Hlc { millis: 100, logical: 0 };
        let remote = Hlc { millis: 5_000_000, logical: 4 };
        let after = local.observe(remote, 100).hlc.tick(101)?;
        assert!(after > remote);
        Ok(())
    }
}
