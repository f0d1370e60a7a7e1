//! The hybrid logical clock: physical milliseconds plus a logical counter.
//!
//! Phones' clocks drift and jump, so raw device time never orders writes on its own. The HLC
//! follows the device clock while it moves forward and falls back to counting when the clock
//! stalls or goes backwards, or when a remote replica's clock is ahead. It never goes backwards.

use serde::{Deserialize, Serialize};

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

impl Hlc {
    /// The stamp for the next local write: strictly greater than `self`, and at least the
    /// device's `physical_millis`.
    pub fn tick(self, physical_millis: u64) -> Hlc {
        if physical_millis > self.millis {
            Hlc { millis: physical_millis, logical: 0 }
        } else if let Some(logical) = self.logical.checked_add(1) {
            Hlc { millis: self.millis, logical }
        } else {
            // 4 billion writes within one millisecond: borrow the next millisecond.
            Hlc { millis: self.millis.saturating_add(1), logical: 0 }
        }
    }

    /// The clock after seeing a remote stamp: later local ticks sort after everything seen.
    pub fn observe(self, remote: Hlc) -> Hlc {
        self.max(remote)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_follows_the_device_clock_forward() {
        let hlc = Hlc { millis: 10, logical: 3 };
        assert_eq!(hlc.tick(20), Hlc { millis: 20, logical: 0 });
    }

    #[test]
    fn tick_never_goes_backwards_when_the_device_clock_does() {
        let hlc = Hlc { millis: 1_000, logical: 0 };
        let next = hlc.tick(5);
        assert!(next > hlc);
        assert_eq!(next, Hlc { millis: 1_000, logical: 1 });
    }

    #[test]
    fn tick_borrows_a_millisecond_when_the_counter_is_exhausted() {
        let hlc = Hlc { millis: 7, logical: u32::MAX };
        assert_eq!(hlc.tick(7), Hlc { millis: 8, logical: 0 });
    }

    #[test]
    fn observing_a_remote_clock_ahead_moves_later_ticks_past_it() {
        let local = Hlc { millis: 100, logical: 0 };
        let remote = Hlc { millis: 5_000_000, logical: 4 };
        let after = local.observe(remote).tick(101);
        assert!(after > remote);
    }
}
