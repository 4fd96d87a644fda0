//! The filter service: the light nodes subscribed to a relay node, when they expire, and which failed pushes drop them.

use super::subscriptions::{Limits, Subscriptions};
use libp2p::PeerId;
use libp2p::request_response::OutboundFailure;
use std::time::{Duration, Instant};

/// How often subscribers that stopped pinging are dropped.
const EXPIRY_EVERY: Duration = Duration::from_secs(10);

/// A relay node's filter service: who is subscribed to what.
#[derive(Debug)]
pub struct FilterService {
    /// The light nodes subscribed, and their topics.
    pub subscribers: Subscriptions,
    next_expiry: Instant,
}

impl FilterService {
    /// A service within `limits`.
    pub fn new(limits: Limits, now: Instant) -> Self {
        FilterService {
            subscribers: Subscriptions::new(limits),
            next_expiry: now,
        }
    }

    /// A push to `peer` failed with `error`: whether `peer` is dropped. One
    /// we cannot reach, or that does not speak the protocol, is dropped at
    /// once; one busy with a burst (timeouts, a stream refused) only after
    /// a few failures in a row.
    pub fn push_failed(&mut self, peer: &PeerId, error: &OutboundFailure) -> bool {
        match error {
            OutboundFailure::DialFailure
            | OutboundFailure::ConnectionClosed
            | OutboundFailure::UnsupportedProtocols => {
                self.subscribers.remove(peer);
                true
            }
            _ => self.subscribers.push_failed(peer),
        }
    }

    /// The subscribers dropped at `now` for no longer pinging.
    pub fn tick(&mut self, now: Instant) -> Vec<PeerId> {
        if now < self.next_expiry {
            return Vec::new();
        }
        self.next_expiry = now + EXPIRY_EVERY;
        self.subscribers.expire(now)
    }
}
