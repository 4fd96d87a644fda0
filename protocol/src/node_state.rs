//! The life cycle of a counterparty, and the transitions the protocol allows.

use std::fmt;

/// Where a counterparty stands, as both programs show it to people.
///
/// ```text
///   Unpaired ──► Pairing ──► PairedOffline ◄──► Connecting ──► Online
///      ▲            │              ▲  │                           │
///      └────────────┘              │  └──────────► Revoked ◄──────┤
///   (expired, aborted)             └──────────────────────────────┘
///                                      (ping lost, peer shut down)
/// ```
///
/// `Revoked` is terminal: a revoked counterparty is deleted and can only come
/// back through a new pairing, which starts from `Unpaired` again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum NodeState {
    /// No pairing exists and none is under way.
    Unpaired,
    /// A pairing code is out and the exchange of identities is under way.
    Pairing,
    /// Paired and persisted, but no session is open right now.
    #[serde(rename = "offline")]
    PairedOffline,
    /// A session handshake with a paired counterparty is under way.
    Connecting,
    /// A session is established and answers keepalives.
    Online,
    /// One side revoked the pairing; nothing of it is kept.
    Revoked,
}

impl NodeState {
    /// Every state, in life-cycle order.
    pub const ALL: [NodeState; 6] = [
        NodeState::Unpaired,
        NodeState::Pairing,
        NodeState::PairedOffline,
        NodeState::Connecting,
        NodeState::Online,
        NodeState::Revoked,
    ];

    /// Whether the protocol allows moving from `self` to `next`.
    pub fn can_become(self, next: NodeState) -> bool {
        use NodeState::*;
        matches!(
            (self, next),
            // A code is issued; it expires or is aborted; or the first session
            // is established, which is the moment the pairing is persisted.
            (Unpaired, Pairing)
                | (Pairing, Unpaired)
                | (Pairing, Online)
                // Sessions come and go.
                | (PairedOffline, Connecting)
                | (Connecting, Online)
                | (Connecting, PairedOffline)
                | (Online, PairedOffline)
                // A rekey or a peer restart re-handshakes while paired.
                | (Online, Connecting)
                // Either side may revoke a paired counterparty at any time.
                | (PairedOffline, Revoked)
                | (Connecting, Revoked)
                | (Online, Revoked)
        )
    }

    /// Moves to `next`, or refuses with the transition that was asked for.
    pub fn transition(self, next: NodeState) -> Result<NodeState, TransitionError> {
        if self.can_become(next) {
            Ok(next)
        } else {
            Err(TransitionError {
                from: self,
                to: next,
            })
        }
    }

    /// Where a counterparty in `self` goes when its session says `next`:
    /// `next` if allowed, or `next` by way of `Connecting` (an offline peer
    /// that comes straight back online passes through it); `None` when
    /// nothing changes or the move is not allowed.
    pub fn advance(self, next: NodeState) -> Option<NodeState> {
        let through_connecting =
            self.can_become(NodeState::Connecting) && NodeState::Connecting.can_become(next);
        (self != next && (self.can_become(next) || through_connecting)).then_some(next)
    }

    /// Short lowercase name, as shown in CLIs and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeState::Unpaired => "unpaired",
            NodeState::Pairing => "pairing",
            NodeState::PairedOffline => "offline",
            NodeState::Connecting => "connecting",
            NodeState::Online => "online",
            NodeState::Revoked => "revoked",
        }
    }
}

impl fmt::Display for NodeState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A transition the protocol does not allow was asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a counterparty cannot go from {from} to {to}")]
pub struct TransitionError {
    /// The state the counterparty was in; it stays there.
    pub from: NodeState,
    /// The state that was refused.
    pub to: NodeState,
}

#[cfg(test)]
mod tests {
    use super::NodeState::*;
    use super::*;

    #[test]
    fn a_full_life_is_allowed() {
        let mut s = Unpaired;
        for next in [
            Pairing,
            Online,
            PairedOffline,
            Connecting,
            Online,
            Connecting,
            Online,
            Revoked,
        ] {
            s = s.transition(next).unwrap();
        }
        assert_eq!(s, Revoked);
    }

    #[test]
    fn revoked_is_terminal() {
        for next in NodeState::ALL {
            assert_eq!(
                Revoked.transition(next),
                Err(TransitionError {
                    from: Revoked,
                    to: next
                })
            );
        }
    }

    #[test]
    fn pairing_cannot_skip_the_session() {
        // Persisting without an established session would leave a
        // counterparty nobody ever authenticated.
        assert!(!Pairing.can_become(PairedOffline));
        assert!(!Unpaired.can_become(Online));
        assert!(!Unpaired.can_become(Revoked));
    }

    #[test]
    fn no_state_moves_to_itself() {
        for s in NodeState::ALL {
            assert!(!s.can_become(s), "{s} -> {s} must be refused");
        }
    }

    #[test]
    fn a_session_coming_back_passes_through_connecting() {
        assert_eq!(PairedOffline.advance(Online), Some(Online));
        assert_eq!(Online.advance(PairedOffline), Some(PairedOffline));
        assert_eq!(Online.advance(Online), None, "no change");
        assert_eq!(Revoked.advance(Online), None, "revoked stays revoked");
        assert_eq!(Unpaired.advance(PairedOffline), None);
    }

    #[test]
    fn the_names_on_the_wire_are_those_people_read() {
        for state in NodeState::ALL {
            let json = serde_json::to_string(&state).unwrap();
            assert_eq!(json, format!("\"{}\"", state.as_str()));
        }
    }

    #[test]
    fn refusal_names_both_states() {
        let err = PairedOffline.transition(Pairing).unwrap_err();
        assert_eq!(
            err.to_string(),
            "a counterparty cannot go from offline to pairing"
        );
    }

    #[test]
    fn exactly_the_documented_transitions_are_allowed() {
        let allowed = NodeState::ALL
            .iter()
            .flat_map(|a| NodeState::ALL.iter().map(move |b| (*a, *b)))
            .filter(|(a, b)| a.can_become(*b))
            .count();
        assert_eq!(allowed, 11);
    }
}
