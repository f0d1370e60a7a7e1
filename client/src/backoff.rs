//! How long the live sync waits before reconnecting: exponential backoff with jitter.
//!
//! The n-th failure in a row waits a random time between half and all of
//! `min(initial * 2^n, max)` ("equal jitter"): growing fast so a server that is down is not
//! hammered, random so thousands of devices that lost the same server do not come back in
//! the same second, and never less than half the step, so one device does not spin.

use std::time::Duration;

/// The longest delay: beyond it a device would seem broken, and durations stay far from
/// overflow.
const LONGEST: Duration = Duration::from_secs(24 * 60 * 60);

/// The reconnect delays of one live sync.
#[derive(Clone, Debug)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    failures: u32,
}

impl Backoff {
    /// Delays starting at `initial`, never above `max` (nor above a day, whatever is asked).
    pub fn new(initial: Duration, max: Duration) -> Backoff {
        let initial = initial.min(LONGEST);
        Backoff { initial, max: max.clamp(initial, LONGEST), failures: 0 }
    }

    /// The wait after one more failure, using `random` (uniform in [0, 1]) for the jitter.
    pub fn next_delay_with(&mut self, random: f64) -> Duration {
        let step = self.step();
        self.failures = self.failures.saturating_add(1);
        let half = step / 2;
        half + half.mul_f64(random.clamp(0.0, 1.0))
    }

    /// The wait after one more failure, with jitter from the system's random source.
    pub fn next_delay(&mut self) -> Duration {
        self.next_delay_with(random_unit())
    }

    /// A connection worked: the next failure starts from `initial` again.
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    /// Failures in a row so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    fn step(&self) -> Duration {
        // 2^20 times any sensible initial delay is past any sensible maximum.
        let factor = 1u32 << self.failures.min(20);
        self.initial.saturating_mul(factor).min(self.max)
    }
}

/// A number in [0, 1] from the system's random source (0.5 if it fails: jitter is a nicety).
fn random_unit() -> f64 {
    let mut bytes = [0u8; 4];
    match getrandom::fill(&mut bytes) {
        Ok(()) => f64::from(u32::from_le_bytes(bytes)) / f64::from(u32::MAX),
        Err(_) => 0.5,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn delays_double_up_to_the_cap() {
        let mut backoff = Backoff::new(500 * MS, Duration::from_secs(30));
        let upper: Vec<Duration> = (0..10).map(|_| backoff.next_delay_with(1.0)).collect();
        let secs: Vec<f64> = upper.iter().map(Duration::as_secs_f64).collect();
        assert_eq!(secs, [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0, 30.0]);
    }

    #[test]
    fn jitter_stays_between_half_and_the_whole_step() {
        let mut low = Backoff::new(500 * MS, Duration::from_secs(30));
        let mut high = low.clone();
        for _ in 0..12 {
            let (l, h) = (low.next_delay_with(0.0), high.next_delay_with(1.0));
            assert_eq!(l * 2, h);
        }
        let mut random = Backoff::new(500 * MS, Duration::from_secs(30));
        for n in 0..40 {
            let delay = random.next_delay();
            let step = (500 * MS * (1 << n.min(20))).min(Duration::from_secs(30));
            assert!(delay >= step / 2 && delay <= step, "{delay:?} for step {step:?}");
        }
    }

    #[test]
    fn a_success_starts_over() {
        let mut backoff = Backoff::new(100 * MS, Duration::from_secs(30));
        for _ in 0..50 {
            backoff.next_delay_with(1.0);
        }
        assert_eq!(backoff.failures(), 50);
        assert_eq!(backoff.next_delay_with(1.0), Duration::from_secs(30));
        backoff.reset();
        assert_eq!(backoff.next_delay_with(1.0), 100 * MS);
    }

    #[test]
    fn absurd_settings_stay_at_a_day() {
        let mut backoff = Backoff::new(Duration::MAX, Duration::MAX);
        for _ in 0..30 {
            assert_eq!(backoff.next_delay_with(1.0), Duration::from_secs(24 * 60 * 60));
        }
        let mut zero = Backoff::new(Duration::ZERO, Duration::ZERO);
        assert_eq!(zero.next_delay_with(1.0), Duration::ZERO);
    }

    #[test]
    fn a_cap_below_the_first_delay_is_raised_to_it() {
        let mut backoff = Backoff::new(Duration::from_secs(2), Duration::from_secs(1));
        assert_eq!(backoff.next_delay_with(1.0), Duration::from_secs(2));
        assert_eq!(backoff.next_delay_with(1.0), Duration::from_secs(2));
    }
}
