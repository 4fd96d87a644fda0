//! What a link is set up with, what it tells its driver, and why it refuses.

use super::RequestId;
use crate::frame::{DisconnectReason, Event, Request};
use crate::node_state::NodeState;
use crate::peer_limits::{PeerLimits, UpdateRefused};
use crate::session::{SendError, SessionConfig};
use crate::status::Status;
use bytes::Bytes;
use std::time::Duration;

/// Timings and limits of a link.
#[derive(Clone, Debug)]
pub struct LinkConfig {
    /// Its session's.
    pub session: SessionConfig,
    /// How long one of our requests waits for its answer.
    pub request_timeout: Duration,
    /// What the counterparty may ask of us.
    pub limits: PeerLimits,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig {
            session: SessionConfig::default(),
            request_timeout: Duration::from_secs(10),
            limits: PeerLimits::default(),
        }
    }
}

/// What a link tells its driver.
#[derive(Clone, Debug, PartialEq)]
pub enum LinkEvent {
    /// The node state people see changed.
    State(NodeState),
    /// Something authentic came from the counterparty (for last-seen); at
    /// most one per call.
    Heard,
    /// A keepalive came back after this long.
    RoundTrip(Duration),
    /// A request of the counterparty's to serve: first seen, within its
    /// limits. Answer it with [`Link::respond`].
    Serve(Request),
    /// The answer to one of our requests.
    Answered {
        /// Which.
        id: RequestId,
        /// How it went.
        status: Status,
        /// Its body.
        body: Bytes,
    },
    /// One of our requests will not be answered.
    Unanswered {
        /// Which.
        id: RequestId,
        /// Why.
        why: Unanswered,
    },
    /// An event the counterparty pushed.
    Event(Event),
    /// The counterparty changed what it advertises (checked and within its
    /// limits).
    Updated {
        /// Its new display name, trimmed.
        display_name: Option<String>,
        /// Its full new list of capabilities.
        capabilities: Option<Vec<String>>,
    },
    /// A state update was refused; reported at most every
    /// [`REFUSAL_REPORT_EVERY`](super::REFUSAL_REPORT_EVERY).
    UpdateRefused {
        /// Why.
        why: UpdateRefused,
        /// Everything refused from it so far (requests and updates).
        refused: u64,
    },
    /// Our revocation is not answered yet; it is sent again once the
    /// counterparty is back.
    RevocationPending,
    /// The counterparty announced a new key of its own, with a proof that
    /// checks ([`crate::key_move`]). Store it as the key it moves to (its
    /// current one still opens sessions until one under the new key does),
    /// then answer with [`Link::confirm_move`](super::Link::confirm_move).
    MoveAnnounced {
        /// The announcement's request id, to answer.
        id: u64,
        /// Its new key.
        new_key: crate::PublicKey,
    },
    /// An announcement of the counterparty's own was refused (answered
    /// 400, nothing stored); reported at most every
    /// [`REFUSAL_REPORT_EVERY`](super::REFUSAL_REPORT_EVERY).
    MoveRefusedHere {
        /// Why.
        why: crate::key_move::MoveError,
    },
    /// The counterparty stored our new key ([`Link::move_to`](super::Link::move_to)):
    /// from now on, sessions with it are under that key.
    Moved,
    /// The counterparty refused our new key; it is not asked again.
    MoveRefused {
        /// Its answer's status.
        status: Status,
        /// Its words.
        why: String,
    },
    /// The pairing is over: forget the counterparty. Nothing more comes
    /// from this link.
    Revoked {
        /// Whether it revoked us (else it acknowledged our revocation).
        by_peer: bool,
    },
    /// The counterparty closed the session (it shut down or restarted); a
    /// fresh session waits for it.
    PeerClosed {
        /// Why it said.
        reason: DisconnectReason,
        /// Its free text.
        detail: String,
    },
}

/// Why one of our requests will not be answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unanswered {
    /// Its time ran out.
    TimedOut,
    /// The session closed before the answer came.
    SessionClosed,
    /// We are shutting down.
    Stopped,
}

/// Why a request of ours could not be sent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestRefused {
    /// The counterparty is being revoked (or is gone).
    #[error("not paired")]
    NotPaired,
    /// Methods under `nodepair.` are the protocol's.
    #[error("{0:?} is reserved for the protocol")]
    Reserved(String),
    /// The session would not take it.
    #[error(transparent)]
    Send(#[from] SendError),
}

/// Why an event could not be pushed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EventRefused {
    /// The counterparty is being revoked (or is gone).
    #[error("not paired")]
    NotPaired,
    /// No session is up: events are not queued.
    #[error("not online")]
    NotOnline,
    /// The session would not take it.
    #[error(transparent)]
    Send(#[from] SendError),
}

/// What [`Link::revoke`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Revoking {
    /// The revocation went out; [`LinkEvent::Revoked`] or
    /// [`LinkEvent::RevocationPending`] follows.
    Sent,
    /// The counterparty is away (or already asked): it is told once back.
    WillBeTold,
}
