//! What a pairing is set up with, where it stands, what it reports, and why it fails.

use super::*;

/// Who this side is, as it introduces itself in its HELLO.
#[derive(Clone, Debug)]
pub struct LocalIdentity {
    /// The static key pair sessions authenticate with.
    pub keypair: StaticKeypair,
    /// What the other side will show for us.
    pub display_name: String,
    /// Our node id.
    pub node_id: NodeId,
    /// What we offer (manager) or use (app).
    pub capabilities: Vec<String>,
}

/// Timings of a pairing.
#[derive(Clone, Debug)]
pub struct PairingConfig {
    /// How long a code is good for (default 10 minutes).
    pub ttl: Duration,
    /// First delay before the manager sends its commitment (or the app its
    /// HELLO) again.
    pub retry_initial: Duration,
    /// Longest delay between those retransmissions.
    pub retry_max: Duration,
    /// How long after the first answer the pairing topic is still watched
    /// for a second one, even once paired (default 10 s).
    pub leak_watch: Duration,
    /// The first session's timings.
    pub session: SessionConfig,
    /// Whether the code pairs an app with a manager or introduces a
    /// computer (its own topic and key: see [`Purpose`]).
    pub purpose: Purpose,
}

impl Default for PairingConfig {
    fn default() -> Self {
        PairingConfig {
            ttl: Duration::from_secs(10 * 60),
            retry_initial: Duration::from_secs(1),
            retry_max: Duration::from_secs(8),
            leak_watch: Duration::from_secs(10),
            session: SessionConfig::default(),
            purpose: Purpose::Pairing,
        }
    }
}

/// Where a pairing stands, for progress displays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PairingStep {
    /// App: the code is out, no manager answered yet. Manager: the
    /// commitment is out, the app has not answered yet.
    WaitingForHello,
    /// The other side answered; the identities are being exchanged.
    Answered,
    /// The verification string is shown; this side's person has not said
    /// yet whether it matches the other screen.
    Comparing,
    /// This side's person confirmed; waiting for the other side's (and
    /// for the first session's handshake).
    Verifying,
    /// The first session is established; the counterparty may be persisted.
    Paired,
    /// The pairing ended without success; see the error.
    Failed,
}

/// Why a pairing ended without success. Nothing was persisted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PairingError {
    /// The code's time ran out before pairing completed.
    #[error("the pairing code expired before the pairing completed; make a new code")]
    Expired,
    /// Two different parties answered the same code: it leaked.
    #[error(
        "someone else also answered this code, so it may have leaked; pairing stopped, make a new code"
    )]
    AnsweredTwice,
    /// This side's person said the verification strings differ.
    #[error(
        "the verification strings do not match: someone may be in the middle; pairing stopped, make a new code"
    )]
    Mismatch,
    /// The other side stopped the pairing and told us.
    #[error("the other side stopped the pairing: {0}")]
    AbortedByPeer(AbortReason),
    /// Cancelled on this side.
    #[error("pairing cancelled")]
    Cancelled,
}

/// Why a side aborted a pairing, as carried in a PAIRING_ABORT.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AbortReason {
    /// A second party answered the same code.
    #[error("someone else also answered this code, so it may have leaked")]
    AnsweredTwice,
    /// The person cancelled.
    #[error("cancelled")]
    Cancelled,
    /// The person there said the verification strings differ.
    #[error("the verification strings do not match there: someone may be in the middle")]
    Mismatch,
    /// A reason from a newer version.
    #[error("unknown reason")]
    Unknown,
}

impl AbortReason {
    pub(super) fn wire(self) -> u32 {
        match self {
            AbortReason::AnsweredTwice => 1,
            AbortReason::Cancelled => 2,
            AbortReason::Mismatch => 3,
            AbortReason::Unknown => 0,
        }
    }

    pub(super) fn from_wire(v: u32) -> Self {
        match v {
            1 => AbortReason::AnsweredTwice,
            2 => AbortReason::Cancelled,
            3 => AbortReason::Mismatch,
            _ => AbortReason::Unknown,
        }
    }
}

/// PAIRING_ABORT's sealed body.
#[derive(Clone, PartialEq, prost::Message)]
pub(super) struct AbortBody {
    #[prost(uint32, tag = "1")]
    pub(super) reason: u32,
}

/// The counterparty a successful pairing yields: what to persist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counterparty {
    /// Its role (the other one than ours).
    pub role: Role,
    /// Its static key: the only thing sessions trust.
    pub static_key: PublicKey,
    /// What to show for it.
    pub display_name: String,
    /// Its node id.
    pub node_id: NodeId,
    /// What it offers or uses.
    pub capabilities: Vec<String>,
}

impl Counterparty {
    pub(super) fn from_hello(hello: &Hello) -> Self {
        Counterparty {
            role: hello.role,
            static_key: hello.static_key,
            display_name: hello.display_name.clone(),
            node_id: hello.node_id,
            capabilities: hello.capabilities.clone(),
        }
    }
}

/// What this side's person is asked to compare.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comparison {
    /// Who answered, as it introduced itself.
    pub counterparty: Counterparty,
    /// The six digits the other screen must show too.
    pub verification: String,
}

/// A successful pairing.
#[derive(Debug)]
pub struct Paired {
    /// Who was paired with.
    pub counterparty: Counterparty,
    /// The string both sides showed (see [`verification_string`]).
    pub verification: String,
    /// The established session, to keep driving on `session_topic`.
    pub session: Session,
    /// The per-pair session content topic.
    pub session_topic: String,
}

/// What a pairing tells its driver.
#[derive(Debug)]
pub enum PairingEvent {
    /// The pairing moved on.
    Progress(PairingStep),
    /// Show the verification string and ask the person whether the other
    /// screen shows the same; answer with [`Pairing::confirm`].
    Compare(Box<Comparison>),
    /// Done: persist `counterparty` now, atomically, and keep the session.
    Paired(Box<Paired>),
    /// Ended without success; nothing to persist.
    Failed(PairingError),
    /// A pairing that had completed is taken back: within `leak_watch` of
    /// the first answer a second party answered the same code (or the other
    /// side saw one and said so). Forget the counterparty.
    Withdrawn(PairingError),
}

/// A message to publish, with the content topic it goes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// The Waku content topic.
    pub content_topic: String,
    /// The message.
    pub payload: Vec<u8>,
}

/// What a pairing dropped, and why.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PairingStats {
    /// Sealed messages that did not open (wrong key, altered, truncated…).
    pub refused: u64,
    /// Our own messages, heard back from the network.
    pub echoes: u64,
    /// Repeats of the answer we already accepted.
    pub duplicates: u64,
}
