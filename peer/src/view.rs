//! What a peer tells its program about each counterparty.

use nodepair_keystore::Counterparty as Stored;
use nodepair_protocol::hello::Role;
use nodepair_protocol::{NodeId, NodeState, PublicKey};
use std::time::Duration;

/// One counterparty as the programs show it.
#[derive(Clone, Debug, PartialEq)]
pub struct CounterpartyView {
    /// Its static key: who it is.
    pub public_key: PublicKey,
    /// Its node id.
    pub node_id: NodeId,
    /// The name it gave itself.
    pub display_name: String,
    /// The name the person gave it on this side, if any.
    pub local_name: Option<String>,
    /// What it is.
    pub role: Role,
    /// What it offers or uses.
    pub capabilities: Vec<String>,
    /// What this side lets it use: `None` is everything this side offers
    /// (see [`nodepair_protocol::grants`]).
    pub grants: Option<Vec<String>>,
    /// Where it stands.
    pub state: NodeState,
    /// When pairing finished, Unix seconds.
    pub paired_at: u64,
    /// When a session with it last carried a message, Unix seconds.
    pub last_seen: Option<u64>,
    /// The latest keepalive round trip.
    pub latency: Option<Duration>,
    /// How many times its session got new keys since start-up. It changes
    /// while online when the counterparty restarted (or keys were renewed):
    /// what it was asked to keep doing (a follow) may be gone.
    pub key_changes: u64,
    /// On a manager, for an app another app introduced: the first app of
    /// its line (which the operator paired).
    pub introduced_by: Option<PublicKey>,
}

impl CounterpartyView {
    /// A stored counterparty, shown in `state` (a program without a running
    /// peer shows paired ones as offline).
    pub fn from_stored(stored: &Stored, state: NodeState) -> Self {
        CounterpartyView {
            public_key: PublicKey(stored.public_key),
            node_id: NodeId(uuid::Uuid::from_bytes(stored.node_id)),
            display_name: stored.display_name.clone(),
            local_name: stored.local_name.clone(),
            role: match stored.role {
                nodepair_keystore::Role::App => Role::App,
                nodepair_keystore::Role::NodeManager => Role::Manager,
            },
            capabilities: stored.capabilities.clone(),
            grants: stored.grants.clone(),
            state,
            paired_at: stored.paired_at,
            last_seen: stored.last_seen,
            latency: None,
            key_changes: 0,
            introduced_by: stored.introduced_by.map(PublicKey),
        }
    }
}

impl CounterpartyView {
    /// A stored counterparty as a program shows it when nothing is
    /// connected (no running peer): paired ones offline, revoked ones
    /// revoked.
    pub fn at_rest(stored: &Stored) -> Self {
        let state = match stored.state {
            nodepair_keystore::CounterpartyState::Active => NodeState::PairedOffline,
            nodepair_keystore::CounterpartyState::Revoked => NodeState::Revoked,
        };
        CounterpartyView::from_stored(stored, state)
    }

    /// The name to show: the local one if the person gave one, else its own.
    pub fn name(&self) -> &str {
        self.local_name.as_deref().unwrap_or(&self.display_name)
    }
}

/// Something a program may want to show or act on.
#[derive(Clone, Debug, PartialEq)]
pub enum PeerEvent {
    /// A counterparty was paired, or its state, latency or last-seen changed.
    Changed(CounterpartyView),
    /// A counterparty is gone: revoked here or by itself.
    Removed {
        /// Who.
        public_key: PublicKey,
        /// Its name, for the message.
        display_name: String,
        /// Whether the other side revoked (else: this side did).
        by_peer: bool,
    },
    /// A counterparty moved to a new key (it rotated its key): the same
    /// counterparty, known by `to.public_key` from now on; `from` is no
    /// longer paired.
    Moved {
        /// Its old key.
        from: PublicKey,
        /// It, under its new key.
        to: CounterpartyView,
    },
    /// A pushed event of some stream (e.g. followed logs).
    Stream {
        /// From whom.
        from: PublicKey,
        /// The event.
        event: nodepair_protocol::frame::Event,
    },
}

/// An event could not be pushed; the stream should stop.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// Not paired (any more), or being unpaired.
    #[error("the counterparty is not paired (any more)")]
    NotPaired,
    /// Paired, but no session is up right now.
    #[error("the counterparty is not online")]
    NotOnline,
    /// The counterparty's grant no longer covers the stream's capability:
    /// the stream must stop.
    #[error("the counterparty is no longer granted this stream's capability")]
    NotGranted,
    /// The session refused the frame.
    #[error("cannot send the event: {0}")]
    Send(String),
    /// The runtime has stopped.
    #[error("the peer runtime has stopped")]
    Stopped,
}

/// A local name could not be given.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RenameError {
    /// Nobody paired has that key (or it is being unpaired).
    #[error("that manager is not paired (any more)")]
    NotPaired,
    /// The name breaks the rules names follow.
    #[error("{0}")]
    Invalid(&'static str),
    /// The keystore refused the new record; nothing changed.
    #[error("the name could not be stored, nothing changed: {0}")]
    Storage(String),
    /// The runtime has stopped.
    #[error("the peer runtime has stopped")]
    Stopped,
}

/// Where our key rotation stands.
#[derive(Clone, Debug, PartialEq)]
pub struct RotationView {
    /// Our key until every counterparty has moved.
    pub old_key: PublicKey,
    /// The key they move to.
    pub new_key: PublicKey,
    /// When it began, Unix seconds.
    pub started_at: u64,
    /// When the old key is retired even if some have not moved, Unix
    /// seconds.
    pub grace_ends_at: u64,
    /// Each counterparty (not being unpaired), by name: whether it moved.
    pub counterparties: Vec<(CounterpartyView, bool)>,
    /// Whether it is over: the old key is retired (every counterparty
    /// moved, or the grace period ended).
    pub finished: bool,
}

/// Where a key rotation stands, as the programs' `rotate-key` and `status`
/// show it (names escaped for a terminal).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RotationReport {
    /// The key counterparties knew.
    pub old_key: String,
    /// Its fingerprint.
    pub old_fingerprint: String,
    /// The key they move to.
    pub new_key: String,
    /// Its fingerprint.
    pub new_fingerprint: String,
    /// The counterparties that stored the new key, by name.
    pub moved: Vec<String>,
    /// Those that have not yet (offline ones are told when they connect).
    pub waiting: Vec<String>,
    /// When the old key is retired even if some have not moved, Unix
    /// seconds.
    pub grace_ends_at: u64,
    /// Whether the old key is retired already.
    pub finished: bool,
}

impl RotationReport {
    /// `v`, as shown.
    pub fn from_view(v: &RotationView) -> Self {
        let names = |moved: bool| {
            v.counterparties
                .iter()
                .filter(|(_, m)| *m == moved)
                .map(|(c, _)| nodepair_protocol::hello::printable(c.name(), 64))
                .collect()
        };
        RotationReport {
            old_key: v.old_key.to_string(),
            old_fingerprint: v.old_key.fingerprint(),
            new_key: v.new_key.to_string(),
            new_fingerprint: v.new_key.fingerprint(),
            moved: names(true),
            waiting: names(false),
            grace_ends_at: v.grace_ends_at,
            finished: v.finished,
        }
    }
}

impl RotationReport {
    /// In words: whether it is over, who moved and who not yet (`they`
    /// names the counterparties: "app(s)", "manager(s)"), and when the old
    /// key goes (`grace_ends`, as the program writes dates).
    pub fn describe(&self, they: &str, grace_ends: &str) -> String {
        if self.finished {
            return format!(
                "key rotation finished: every {they} moved to key {}; the old key {} is retired",
                self.new_fingerprint, self.old_fingerprint
            );
        }
        let total = self.moved.len() + self.waiting.len();
        format!(
            "{} of {total} {they} moved to key {}; not yet: {} (told when they next connect)\nthe old key {} is retired once they have, or on {grace_ends} (one not moved by then must pair again)",
            self.moved.len(),
            self.new_fingerprint,
            self.waiting.join(", "),
            self.old_fingerprint
        )
    }
}

/// Why no rotation was started.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RotateError {
    /// One is under way; it is as shown.
    #[error("a key rotation is already under way ({} of {} moved); it ends once every counterparty has moved", .0.counterparties.iter().filter(|(_, moved)| *moved).count(), .0.counterparties.len())]
    UnderWay(Box<RotationView>),
    /// The new key could not be stored; nothing changed.
    #[error("the new key could not be stored, nothing changed: {0}")]
    Storage(String),
    /// The runtime has stopped.
    #[error("the peer runtime has stopped")]
    Stopped,
}

/// Why a grant was not changed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GrantChangeError {
    /// Nobody paired has that key (or it is being unpaired).
    #[error("that app is not paired (any more)")]
    NotPaired,
    /// The grant names what this side does not offer.
    #[error(transparent)]
    Invalid(#[from] nodepair_protocol::grants::GrantError),
    /// The keystore refused the new record; nothing changed.
    #[error("the grant could not be stored, nothing changed: {0}")]
    Storage(String),
    /// The runtime has stopped.
    #[error("the peer runtime has stopped")]
    Stopped,
}

/// Why a cut-off could not be kept for a manager that was away.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CutOffError {
    /// That manager is not paired (any more).
    #[error("that manager is not paired (any more)")]
    NotPaired,
    /// The keystore refused the record; nothing changed.
    #[error("the cut-off could not be stored for later: {0}")]
    Storage(String),
    /// The runtime has stopped.
    #[error("the peer runtime has stopped")]
    Stopped,
}

/// No single counterparty matches what a person typed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FindError {
    /// Nothing matches.
    #[error("nothing paired matches {0:?}")]
    NotFound(String),
    /// Several match; their names and node ids.
    #[error("{who:?} matches {} counterparties ({}); give a node id or key instead", .candidates.len(), .candidates.join(", "))]
    Ambiguous {
        /// What was typed.
        who: String,
        /// `name node-id` of each match.
        candidates: Vec<String>,
    },
}

/// The one counterparty `who` names: its name (any case), or else a prefix
/// (at least 4 characters) of its node id, public key or key fingerprint.
pub fn find<'a>(
    views: &'a [CounterpartyView],
    who: &str,
) -> Result<&'a CounterpartyView, FindError> {
    let needle = who.trim().to_lowercase();
    let by_name: Vec<_> = views
        .iter()
        .filter(|v| v.name().to_lowercase() == needle || v.display_name.to_lowercase() == needle)
        .collect();
    let matches = if by_name.is_empty() && needle.len() >= 4 {
        views
            .iter()
            .filter(|v| {
                v.node_id.0.to_string().starts_with(&needle)
                    || v.public_key.to_string().starts_with(&needle)
                    || v.public_key.fingerprint().starts_with(&needle)
            })
            .collect()
    } else {
        by_name
    };
    match matches.as_slice() {
        [one] => Ok(one),
        [] => Err(FindError::NotFound(who.to_owned())),
        many => Err(FindError::Ambiguous {
            who: who.to_owned(),
            candidates: many
                .iter()
                .map(|v| {
                    format!(
                        "{} {}",
                        nodepair_protocol::hello::printable(v.name(), 64),
                        v.node_id.0
                    )
                })
                .collect(),
        }),
    }
}
