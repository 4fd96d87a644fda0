//! How a peer runs: who it says it is, and its timings.

use crate::clock::Clock;
use nodepair_protocol::peer_limits::PeerLimits;
use nodepair_protocol::{LinkConfig, PairingConfig, SessionConfig};
use std::time::Duration;

/// A peer's settings. [`PeerConfig::new`] gives the protocol's defaults.
#[derive(Clone, Debug)]
pub struct PeerConfig {
    /// The name counterparties show for us.
    pub display_name: String,
    /// What we offer (a manager) or use (an app).
    pub capabilities: Vec<String>,
    /// Session timings (keepalive, retries, rekeying).
    pub session: SessionConfig,
    /// Pairing timings (code lifetime, HELLO retries).
    pub pairing: PairingConfig,
    /// How long a request waits for its response.
    pub request_timeout: Duration,
    /// `last_seen` is written to the keystore at most this often per
    /// counterparty (and at shutdown): the keystore is not a hot path.
    pub persist_last_seen_every: Duration,
    /// After being cut off from the network (or, as a light node, from our
    /// filter subscription), the messages of our topics sent meanwhile are
    /// fetched from a store node on our return, going back at most this
    /// far; zero fetches nothing.
    pub store_catch_up: Duration,
    /// What each counterparty may ask of us (requests at once and per
    /// second, state updates).
    pub limits: PeerLimits,
    /// Where the time comes from: the system's, or a test's paused time.
    pub clock: Clock,
    /// How long a key rotation waits for counterparties that have not
    /// moved (offline ones) before the old key is retired anyway; those
    /// must then be paired again.
    pub rotation_grace: Duration,
    /// A manager: whether a paired app may introduce the same person's
    /// other computer (stored as a new app with at most the introducer's
    /// grant). Off unless the operator turned it on.
    pub accept_introductions: bool,
}

impl PeerConfig {
    /// The defaults, with this name and these capabilities.
    pub fn new(display_name: impl Into<String>, capabilities: Vec<String>) -> Self {
        PeerConfig {
            display_name: display_name.into(),
            capabilities,
            session: SessionConfig::default(),
            pairing: PairingConfig::default(),
            request_timeout: Duration::from_secs(10),
            persist_last_seen_every: Duration::from_secs(60),
            store_catch_up: Duration::from_secs(600),
            limits: PeerLimits::default(),
            clock: Clock::system(),
            rotation_grace: Duration::from_secs(14 * 24 * 3600),
            accept_introductions: false,
        }
    }

    /// What each counterparty's link runs with.
    pub fn link(&self) -> LinkConfig {
        LinkConfig {
            session: self.session.clone(),
            request_timeout: self.request_timeout,
            limits: self.limits.clone(),
        }
    }
}
