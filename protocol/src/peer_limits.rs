//! What one paired counterparty may ask of this side: requests at once and
//! per second, and how often it may change what it says about itself.
//!
//! A paired counterparty is trusted with a session, not with this side's
//! memory, CPU or keystore. Every limit here is per counterparty, decided
//! with the time passed in: a request over them is answered
//! [`429`](crate::Status::RATE_LIMITED) at once, a state update over them is
//! dropped and counted, and one that breaks the naming rules is refused.

use crate::frame::StateUpdate;
use crate::hello::{check_capabilities, check_display_name};
use std::time::{Duration, Instant};

/// The limits, per counterparty.
#[derive(Clone, Debug, PartialEq)]
pub struct PeerLimits {
    /// Requests being answered at once; more are answered 429.
    pub concurrent_requests: usize,
    /// Requests per second, sustained…
    pub requests_per_sec: f64,
    /// …with bursts of up to this many.
    pub request_burst: f64,
    /// State updates taken per minute, sustained…
    pub state_updates_per_min: f64,
    /// …with bursts of up to this many.
    pub state_update_burst: f64,
}

impl Default for PeerLimits {
    fn default() -> Self {
        PeerLimits {
            concurrent_requests: 16,
            requests_per_sec: 20.0,
            request_burst: 40.0,
            state_updates_per_min: 6.0,
            state_update_burst: 5.0,
        }
    }
}

/// A token bucket: `rate` tokens a second, at most `burst` saved up.
#[derive(Clone, Debug)]
struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    at: Option<Instant>,
}

impl Bucket {
    fn new(rate: f64, burst: f64) -> Self {
        Bucket {
            rate,
            burst,
            tokens: burst,
            at: None,
        }
    }

    fn take(&mut self, now: Instant) -> bool {
        if let Some(at) = self.at {
            let elapsed = now.saturating_duration_since(at).as_secs_f64();
            self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        }
        self.at = Some(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Our own state updates to one counterparty, paced so that its limits
/// (ours by default: [`PeerLimits`]) take every one: one that would be
/// dropped there waits here instead. One token of the burst is kept spare,
/// and the rate is a tenth lower, for what the network adds to the gaps.
#[derive(Clone, Debug)]
pub struct UpdatePacer {
    bucket: Bucket,
}

impl UpdatePacer {
    /// Paced to what `limits` admit.
    pub fn new(limits: &PeerLimits) -> Self {
        UpdatePacer {
            bucket: Bucket::new(
                limits.state_updates_per_min / 60.0 * 0.9,
                (limits.state_update_burst - 1.0).max(1.0),
            ),
        }
    }

    /// Whether an update may go at `now` (it is counted if so).
    pub fn admit(&mut self, now: Instant) -> bool {
        self.bucket.take(now)
    }

    /// When the next may go, after one was held back at `now`.
    pub fn next_at(&self, now: Instant) -> Instant {
        let missing = (1.0 - self.bucket.tokens).max(0.0);
        now + Duration::from_secs_f64(missing / self.bucket.rate) + Duration::from_millis(1)
    }
}

/// Why a request is not served.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestRefused {
    /// Too many of its requests are being answered already.
    #[error("too many requests at once: at most {0} are answered at a time")]
    Concurrent(usize),
    /// It asked too often lately.
    #[error("too many requests: at most {0} a second")]
    Rate(u32),
}

/// Why a state update is not taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UpdateRefused {
    /// It breaks the rules names and capabilities follow.
    #[error("state update refused: {0}")]
    Invalid(&'static str),
    /// It came too soon after the last ones.
    #[error("state update dropped: more than {0} a minute")]
    Rate(u32),
}

/// The limits' state for one counterparty.
#[derive(Clone, Debug)]
pub struct CounterpartyLimits {
    limits: PeerLimits,
    requests: Bucket,
    in_flight: usize,
    updates: Bucket,
    /// Requests answered 429, and state updates refused or dropped.
    refused: u64,
}

impl CounterpartyLimits {
    /// Fresh limits: a full burst allowance.
    pub fn new(limits: PeerLimits) -> Self {
        CounterpartyLimits {
            requests: Bucket::new(limits.requests_per_sec, limits.request_burst),
            updates: Bucket::new(
                limits.state_updates_per_min / 60.0,
                limits.state_update_burst,
            ),
            limits,
            in_flight: 0,
            refused: 0,
        }
    }

    /// A request arrived at `now`: serve it (and call
    /// [`request_done`](Self::request_done) once answered), or answer 429
    /// with the reason.
    pub fn admit_request(&mut self, now: Instant) -> Result<(), RequestRefused> {
        if self.in_flight >= self.limits.concurrent_requests {
            self.refused += 1;
            return Err(RequestRefused::Concurrent(self.limits.concurrent_requests));
        }
        if !self.requests.take(now) {
            self.refused += 1;
            return Err(RequestRefused::Rate(self.limits.requests_per_sec as u32));
        }
        self.in_flight += 1;
        Ok(())
    }

    /// A request admitted earlier was answered.
    pub fn request_done(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    /// Requests being answered now.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// A state update arrived at `now`: take it (trimmed name) or not.
    pub fn admit_state_update(
        &mut self,
        now: Instant,
        update: &StateUpdate,
    ) -> Result<(), UpdateRefused> {
        let checked = update
            .display_name
            .as_deref()
            .map(check_display_name)
            .transpose()
            .and_then(|_| {
                if update.capabilities_changed {
                    check_capabilities(&update.capabilities)
                } else {
                    Ok(())
                }
            });
        if let Err(why) = checked {
            self.refused += 1;
            return Err(UpdateRefused::Invalid(why));
        }
        if !self.updates.take(now) {
            self.refused += 1;
            return Err(UpdateRefused::Rate(
                self.limits.state_updates_per_min as u32,
            ));
        }
        Ok(())
    }

    /// Requests answered 429 and state updates refused, so far.
    pub fn refused(&self) -> u64 {
        self.refused
    }
}

/// How long until a refused side may try again, for messages: a second.
pub const RETRY_AFTER: Duration = Duration::from_secs(1);

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // a test picks the start of its time
mod tests {
    use super::*;

    #[test]
    fn requests_beyond_the_concurrency_or_the_rate_are_refused() {
        let now = Instant::now();
        let mut l = CounterpartyLimits::new(PeerLimits::default());
        for _ in 0..16 {
            assert_eq!(l.admit_request(now), Ok(()));
        }
        assert_eq!(l.admit_request(now), Err(RequestRefused::Concurrent(16)));
        for _ in 0..16 {
            l.request_done();
        }
        // 40 in the burst, 16 used: 24 more now, then 20 a second.
        for _ in 0..24 {
            assert_eq!(l.admit_request(now), Ok(()));
            l.request_done();
        }
        assert_eq!(l.admit_request(now), Err(RequestRefused::Rate(20)));
        let later = now + Duration::from_millis(500);
        for _ in 0..10 {
            assert_eq!(l.admit_request(later), Ok(()));
            l.request_done();
        }
        assert!(l.admit_request(later).is_err());
        assert_eq!(l.refused(), 3);
    }

    #[test]
    fn paced_updates_are_all_taken_by_the_default_limits() {
        let limits = PeerLimits::default();
        let mut pacer = UpdatePacer::new(&limits);
        let mut receiver = CounterpartyLimits::new(limits);
        let mut now = Instant::now();
        let update = StateUpdate {
            display_name: None,
            capabilities: vec!["host".into()],
            capabilities_changed: true,
        };
        // Forty updates wanted as fast as possible: each goes when the
        // pacer says, and none is refused on the other side.
        let mut sent = 0;
        let start = now;
        while sent < 40 {
            if pacer.admit(now) {
                assert_eq!(
                    receiver.admit_state_update(now, &update),
                    Ok(()),
                    "update {sent}"
                );
                sent += 1;
            } else {
                now = pacer.next_at(now);
            }
        }
        // And not much slower than the limit: 6 a minute, 4 at once.
        let took = now.duration_since(start).as_secs_f64();
        assert!((300.0..420.0).contains(&took), "{took} s");
    }

    #[test]
    fn state_updates_follow_the_naming_rules_and_a_rate() {
        let now = Instant::now();
        let mut l = CounterpartyLimits::new(PeerLimits::default());
        let named = |n: &str| StateUpdate {
            display_name: Some(n.into()),
            capabilities: vec![],
            capabilities_changed: false,
        };
        assert_eq!(
            l.admit_state_update(now, &named("a\u{1b}[31mred")),
            Err(UpdateRefused::Invalid(
                "the display name holds control characters"
            ))
        );
        let many = StateUpdate {
            display_name: None,
            capabilities: vec!["host".into(); 20_000],
            capabilities_changed: true,
        };
        assert_eq!(
            l.admit_state_update(now, &many),
            Err(UpdateRefused::Invalid("more than 16 capabilities"))
        );
        for _ in 0..5 {
            assert_eq!(l.admit_state_update(now, &named("node")), Ok(()));
        }
        assert_eq!(
            l.admit_state_update(now, &named("node")),
            Err(UpdateRefused::Rate(6))
        );
        assert_eq!(
            l.admit_state_update(now + Duration::from_secs(10), &named("node")),
            Ok(())
        );
    }
}
