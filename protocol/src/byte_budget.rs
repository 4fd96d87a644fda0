//! A byte budget per second (a token bucket) that decides which pushed lines fit, driven by the caller's clock.

use std::time::Instant;

/// `rate` bytes per second, with bursts of up to one second's worth.
///
/// Time comes in as an argument, so the decision is the same in a test that
/// steps a clock as on a live follow.
#[derive(Clone, Debug)]
pub struct ByteBudget {
    rate: f64,
    tokens: f64,
    at: Instant,
}

impl ByteBudget {
    /// A full budget of `rate` bytes per second at `now`.
    #[allow(clippy::cast_precision_loss)]
    pub fn new(rate: u64, now: Instant) -> Self {
        ByteBudget {
            rate: rate as f64,
            tokens: rate as f64,
            at: now,
        }
    }

    /// Spends `bytes` at `now` if the budget has them; `false` (and nothing
    /// spent) if not. A `now` earlier than the last one counts as no time.
    #[allow(clippy::cast_precision_loss)]
    pub fn take(&mut self, now: Instant, bytes: u64) -> bool {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.rate);
        self.at = self.at.max(now);
        if self.tokens >= bytes as f64 {
            self.tokens -= bytes as f64;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // a test picks the start of its time
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::Duration;

    #[test]
    fn a_second_of_burst_then_the_rate() {
        let t0 = Instant::now();
        let mut b = ByteBudget::new(1000, t0);
        assert!(b.take(t0, 600));
        assert!(b.take(t0, 400));
        assert!(!b.take(t0, 10), "the burst is spent");
        let later = t0 + Duration::from_millis(60);
        assert!(b.take(later, 60), "60 ms bring back 60 bytes");
        assert!(!b.take(later, 1), "and no more");
        // Idle time refills only up to one second's worth.
        let much_later = later + Duration::from_secs(3600);
        assert!(b.take(much_later, 1000));
        assert!(!b.take(much_later, 1));
    }

    #[test]
    fn a_line_larger_than_the_budget_never_fits_and_spends_nothing() {
        let t0 = Instant::now();
        let mut b = ByteBudget::new(100, t0);
        assert!(!b.take(t0, 101));
        assert!(b.take(t0, 100), "the refusal spent nothing");
    }

    #[test]
    fn a_clock_that_steps_back_gives_nothing() {
        let t0 = Instant::now() + Duration::from_secs(10);
        let mut b = ByteBudget::new(100, t0);
        assert!(b.take(t0, 100));
        assert!(!b.take(t0 - Duration::from_secs(5), 1));
        assert!(!b.take(t0, 1), "going back then forward again gave nothing");
    }

    proptest! {
        /// Over any schedule, what is let through never exceeds one second's
        /// burst plus the rate times the time that passed.
        #[test]
        fn never_more_than_burst_plus_rate(
            rate in 1u64..100_000,
            steps in proptest::collection::vec((0u64..500, 0u64..20_000), 1..200),
        ) {
            let t0 = Instant::now();
            let mut b = ByteBudget::new(rate, t0);
            let (mut now, mut passed) = (t0, 0u64);
            for (ms, bytes) in steps {
                now += Duration::from_millis(ms);
                if b.take(now, bytes) {
                    passed += bytes;
                }
            }
            let elapsed = now.duration_since(t0).as_secs_f64();
            #[allow(clippy::cast_precision_loss)]
            let bound = rate as f64 * (1.0 + elapsed) + 1.0;
            #[allow(clippy::cast_precision_loss)]
            let passed = passed as f64;
            prop_assert!(passed <= bound, "{passed} > {bound}");
        }
    }
}
