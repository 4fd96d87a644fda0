//! The delays between reconnection attempts: exponential, capped, jittered.

use std::time::Duration;

/// Exponential backoff with "equal jitter": each delay is drawn from the upper
/// half of the current step, so retries from many apps restarting at once
/// spread out, yet none retries sooner than half the step.
///
/// Randomness comes in as an argument so tests (and the deterministic
/// simulations of `nodepair-protocol`) choose it.
#[derive(Clone, Debug)]
pub struct Backoff {
    /// Delay of the first retry, before jitter.
    initial: Duration,
    /// No delay exceeds this, however many attempts failed.
    max: Duration,
    /// Failed attempts since the last success; picks the step.
    attempt: u32,
}

impl Backoff {
    /// Backoff starting at `initial` and doubling up to `max`.
    pub fn new(initial: Duration, max: Duration) -> Self {
        Backoff {
            initial,
            max: max.max(initial),
            attempt: 0,
        }
    }

    /// The delay before the next attempt, given a uniformly random `jitter`
    /// word; counts the attempt.
    pub fn next_delay(&mut self, jitter: u32) -> Duration {
        let step = self
            .initial
            .saturating_mul(1u32 << self.attempt.min(31))
            .min(self.max);
        self.attempt = self.attempt.saturating_add(1);
        // step/2 + step/2 * jitter/2^32, in integer nanoseconds.
        let half = step.as_nanos() / 2;
        let extra = (half * u128::from(jitter)) >> 32;
        Duration::from_nanos(u64::try_from(half + extra).unwrap_or(u64::MAX))
    }

    /// Failed attempts since the last [`reset`](Self::reset).
    pub fn attempts(&self) -> u32 {
        self.attempt
    }

    /// Starts over from the initial delay, after a success.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn doubles_then_caps() {
        let mut b = Backoff::new(S, 10 * S);
        // With the largest jitter each delay is (almost) the full step.
        let delays: Vec<u64> = (0..6)
            .map(|_| b.next_delay(u32::MAX).as_millis() as u64)
            .collect();
        assert_eq!(delays, [999, 1999, 3999, 7999, 9999, 9999]);
        assert_eq!(b.attempts(), 6);
    }

    #[test]
    fn no_jitter_waits_half_a_step() {
        let mut b = Backoff::new(S, 10 * S);
        assert_eq!(b.next_delay(0), S / 2);
        assert_eq!(b.next_delay(0), S);
    }

    #[test]
    fn reset_starts_over() {
        let mut b = Backoff::new(S, 60 * S);
        for _ in 0..5 {
            b.next_delay(7);
        }
        b.reset();
        assert_eq!(b.attempts(), 0);
        assert_eq!(b.next_delay(0), S / 2);
    }

    #[test]
    fn many_failures_do_not_overflow() {
        let mut b = Backoff::new(S, 300 * S);
        for _ in 0..10_000 {
            assert!(b.next_delay(u32::MAX) <= 300 * S);
        }
    }

    proptest! {
        #[test]
        fn delay_stays_within_half_and_whole_step(attempts in 0u32..64, jitter: u32) {
            let mut b = Backoff::new(S / 4, 30 * S);
            for _ in 0..attempts { b.next_delay(jitter); }
            let step = (S / 4).saturating_mul(1 << attempts.min(31)).min(30 * S);
            let d = b.next_delay(jitter);
            prop_assert!(d >= step / 2 && d <= step);
        }
    }
}
