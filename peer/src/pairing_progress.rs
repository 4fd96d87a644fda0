//! A pairing's progress as people read it: one set of phases and words for the window, the app's terminal mode and the manager.

use crate::pairing_handle::{PairingFailure, PairingUpdate};
use nodepair_protocol::PairingError;
use nodepair_protocol::hello::Role;
use nodepair_protocol::pairing::{AbortReason, PairingStep};

/// Where a pairing stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum PairingPhase {
    /// No Waku peer yet: the code is good, but nothing can go out.
    Connecting,
    /// The code is out; nobody answered yet.
    Waiting,
    /// The other side answered; identities are being exchanged.
    Answered,
    /// Ask this side's person whether the other screen shows the same
    /// verification string.
    Compare,
    /// Confirmed here; waiting for the other side's person.
    Confirmed,
    /// Paired, stored, and the first session is up.
    Paired,
    /// Adding a computer: both confirmed; the managers are being asked
    /// (or, on the new computer, waited for).
    Introducing,
    /// Adding a computer: done (see the report for each manager).
    Introduced,
    /// Ended without success; nothing was kept.
    Failed,
    /// Stopped by this side's person.
    Cancelled,
}

impl PairingPhase {
    /// What is happening, as a sentence for the person on the side `us`
    /// (the app says "the server", the manager "the app"); lowercase, no
    /// final stop, so a terminal prints it after "… " and the window as is.
    pub fn describe(self, us: Role) -> &'static str {
        match (self, us) {
            (Self::Connecting, Role::App) => {
                "connecting to the Waku network; the code can be typed on the server already"
            }
            (Self::Connecting, Role::Manager) => "connecting to the Waku network",
            (Self::Waiting, Role::App) => "waiting for the server to answer",
            (Self::Waiting, Role::Manager) => "waiting for the app to answer",
            (Self::Answered, Role::App) => "the server answered; exchanging identities",
            (Self::Answered, Role::Manager) => "the app answered; exchanging identities",
            (Self::Compare, Role::App) => {
                "compare the verification string with the server's screen"
            }
            (Self::Compare, Role::Manager) => {
                "compare the verification string with the app's screen"
            }
            (Self::Confirmed, Role::App) => "confirmed here; waiting for the server to confirm too",
            (Self::Confirmed, Role::Manager) => {
                "confirmed here; waiting for the app to confirm too"
            }
            (Self::Paired, _) => "paired, and the encrypted session is up",
            (Self::Introducing, Role::App) => {
                "the other computer confirmed too; waiting for it to introduce this one to its managers"
            }
            (Self::Introducing, Role::Manager) => {
                "the new computer confirmed too; introducing it to each manager"
            }
            (Self::Introduced, _) => "introduced",
            (Self::Failed, _) => "pairing stopped",
            (Self::Cancelled, _) => "pairing cancelled",
        }
    }
}

impl PairingPhase {
    /// What is happening while adding a computer, as a sentence for the
    /// person on the new computer (`joining`) or on the one introducing it;
    /// lowercase, no final stop, as [`PairingPhase::describe`].
    pub fn describe_adding(self, joining: bool) -> &'static str {
        match (self, joining) {
            (Self::Connecting, true) => {
                "connecting to the Waku network; the code can be typed on the other computer already"
            }
            (Self::Connecting, false) => "connecting to the Waku network",
            (Self::Waiting, true) => "waiting for the other computer to answer",
            (Self::Waiting, false) => "waiting for the new computer to answer",
            (Self::Answered, true) => "the other computer answered; exchanging identities",
            (Self::Answered, false) => "the new computer answered; exchanging identities",
            (Self::Compare, true) => {
                "compare the verification string with the other computer's screen"
            }
            (Self::Compare, false) => {
                "compare the verification string with the new computer's screen"
            }
            (Self::Confirmed, true) => {
                "confirmed here; waiting for the other computer to confirm too"
            }
            (Self::Confirmed, false) => {
                "confirmed here; waiting for the new computer to confirm too"
            }
            (Self::Introducing, true) | (Self::Paired, true) => {
                "both confirmed; waiting for the other computer to introduce this one to its managers"
            }
            (Self::Introducing, false) | (Self::Paired, false) => {
                "both confirmed; introducing the new computer to each manager"
            }
            (Self::Introduced, true) => "this computer was introduced to the managers below",
            (Self::Introduced, false) => "the new computer was introduced to the managers below",
            (Self::Failed, _) => "adding the computer stopped",
            (Self::Cancelled, _) => "adding the computer was cancelled",
        }
    }
}

impl PairingUpdate {
    /// The phase this update moves the pairing to; `None` for steps that
    /// show nothing new (the protocol's own comparing step comes as
    /// [`PairingUpdate::Compare`]).
    pub fn phase(&self) -> Option<PairingPhase> {
        Some(match self {
            PairingUpdate::ConnectingToNetwork => PairingPhase::Connecting,
            PairingUpdate::Step(PairingStep::WaitingForHello) => PairingPhase::Waiting,
            PairingUpdate::Step(PairingStep::Answered) => PairingPhase::Answered,
            PairingUpdate::Step(PairingStep::Verifying) => PairingPhase::Confirmed,
            PairingUpdate::Step(_) => return None,
            PairingUpdate::Compare { .. } => PairingPhase::Compare,
            PairingUpdate::Paired { .. } => PairingPhase::Paired,
            PairingUpdate::Met { .. } => PairingPhase::Introducing,
            PairingUpdate::Introduced(_) | PairingUpdate::Joined { .. } => PairingPhase::Introduced,
            PairingUpdate::Failed(PairingFailure::Protocol(PairingError::Cancelled)) => {
                PairingPhase::Cancelled
            }
            PairingUpdate::Failed(_) => PairingPhase::Failed,
        })
    }
}

/// Kinds of pairing failure scripts tell apart (see [`crate::exit_code`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// Nobody answered before the code expired: try a new code.
    Expired,
    /// Two parties answered the code, so it may have leaked.
    AnsweredTwice,
    /// The verification strings differ: someone may be in the middle.
    Mismatch,
    /// Anything else.
    Failed,
}

impl FailureKind {
    /// The program's exit code for it.
    pub fn exit_code(self) -> u8 {
        match self {
            FailureKind::Expired => crate::exit_code::EXPIRED,
            FailureKind::AnsweredTwice | FailureKind::Mismatch => crate::exit_code::ANSWERED_TWICE,
            FailureKind::Failed => crate::exit_code::FAILURE,
        }
    }
}

impl PairingFailure {
    /// What kind of failure it is.
    pub fn kind(&self) -> FailureKind {
        match self {
            PairingFailure::Protocol(PairingError::Expired) => FailureKind::Expired,
            PairingFailure::Protocol(
                PairingError::AnsweredTwice
                | PairingError::AbortedByPeer(AbortReason::AnsweredTwice),
            ) => FailureKind::AnsweredTwice,
            PairingFailure::Protocol(
                PairingError::Mismatch | PairingError::AbortedByPeer(AbortReason::Mismatch),
            ) => FailureKind::Mismatch,
            _ => FailureKind::Failed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_side_names_the_other() {
        for phase in [
            PairingPhase::Waiting,
            PairingPhase::Answered,
            PairingPhase::Confirmed,
        ] {
            assert!(phase.describe(Role::App).contains("server"), "{phase:?}");
            assert!(phase.describe(Role::Manager).contains("app"), "{phase:?}");
        }
    }

    #[test]
    fn a_cancelled_pairing_reads_as_cancelled_and_a_leak_exits_77() {
        let cancelled = PairingUpdate::Failed(PairingFailure::Protocol(PairingError::Cancelled));
        assert_eq!(cancelled.phase(), Some(PairingPhase::Cancelled));
        let leaked =
            PairingFailure::Protocol(PairingError::AbortedByPeer(AbortReason::AnsweredTwice));
        assert_eq!(leaked.kind().exit_code(), 77);
        assert_eq!(PairingFailure::Stopped.kind().exit_code(), 1);
    }
}
