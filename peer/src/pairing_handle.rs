//! A pairing under way, as the program that started it follows it.

use crate::view::CounterpartyView;
use nodepair_protocol::PairingError;
use nodepair_protocol::pairing::{Counterparty, PairingStep};
use nodepair_protocol::pairing_code::PairingCode;
use tokio::sync::{mpsc, oneshot};

/// How a pairing is getting on.
#[derive(Clone, Debug, PartialEq)]
pub enum PairingUpdate {
    /// No Waku peer is connected yet; messages cannot go out.
    ConnectingToNetwork,
    /// The protocol moved on (waiting for the other side, verifying).
    Step(PairingStep),
    /// Ask the person whether the other screen shows `verification` too,
    /// and answer with [`PairingHandle::confirm`]: nothing is stored, and
    /// no session starts, before that.
    Compare {
        /// Who answered, as it introduced itself.
        counterparty: Counterparty,
        /// The six digits, `"123 456"`.
        verification: String,
    },
    /// Paired and persisted, and the first session is up.
    Paired {
        /// Who.
        counterparty: CounterpartyView,
        /// The string both sides show; people may compare them.
        verification: String,
    },
    /// Adding a computer: both people confirmed, and the session with the
    /// other computer is up (nothing about it is stored). The new computer
    /// now waits for the managers; the one introducing it asks them.
    Met {
        /// The other computer, as it introduced itself.
        computer: Counterparty,
        /// The string both screens showed.
        verification: String,
    },
    /// The introducing side: what each manager did, and whether the new
    /// computer took those that admitted it. The end.
    Introduced(crate::introduction::IntroductionReport),
    /// The new computer: the managers it was handed, stored and being
    /// connected to. The end.
    Joined {
        /// The computer that introduced this one, by name.
        via: String,
        /// Each manager now paired.
        managers: Vec<CounterpartyView>,
    },
    /// Ended without success; nothing was persisted.
    Failed(PairingFailure),
}

/// Why a pairing ended without success.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PairingFailure {
    /// The protocol's reason (expired, answered twice, aborted, cancelled).
    #[error(transparent)]
    Protocol(#[from] PairingError),
    /// The counterparty could not be stored; the pairing was abandoned.
    #[error("the pairing succeeded but could not be stored: {0}")]
    Storage(String),
    /// The counterparty is already paired with us.
    #[error("already paired with {0}; revoke it first to pair again")]
    AlreadyPaired(String),
    /// The pairing had completed, and was taken back at once: someone else
    /// answered the same code (the counterparty is unpaired again).
    #[error("the pairing was taken back: {0}")]
    Withdrawn(PairingError),
    /// The grant asked for names what this side does not offer; nothing
    /// was started.
    #[error(transparent)]
    Grant(nodepair_protocol::grants::GrantError),
    /// Adding a computer: the two computers met, and the introduction
    /// ended before any manager was handed over.
    #[error("{0}")]
    Introduction(String),
    /// The peer runtime stopped.
    #[error("the peer runtime stopped")]
    Stopped,
}

/// Follows one pairing. Dropping it does not cancel the pairing; call
/// [`PairingHandle::cancel`].
#[derive(Debug)]
pub struct PairingHandle {
    /// App side: the code to show. Manager side: the code typed.
    pub code: PairingCode,
    pub(crate) id: u64,
    pub(crate) updates: mpsc::Receiver<PairingUpdate>,
    pub(crate) commands: mpsc::Sender<crate::driver::Command>,
}

impl PairingHandle {
    /// The next update; `None` once the pairing ended and every update was read.
    pub async fn next(&mut self) -> Option<PairingUpdate> {
        self.updates.recv().await
    }

    /// This side's person compared the verification strings (after
    /// [`PairingUpdate::Compare`]): `matches` is their answer. "Doesn't
    /// match" stops the pairing on both sides.
    pub async fn confirm(&self, matches: bool) {
        let command = crate::driver::Command::ConfirmPairing {
            id: self.id,
            matches,
        };
        let _ = self.commands.send(command).await;
    }

    /// Waits for the end, answering the comparison with `compare` (given
    /// the verification string and who answered): the paired counterparty
    /// and the verification string, or why not. Scripts that pair without
    /// a person (`--yes`) pass `|_, _| true`.
    pub async fn finish(
        mut self,
        mut compare: impl FnMut(&str, &Counterparty) -> bool,
    ) -> Result<(CounterpartyView, String), PairingFailure> {
        while let Some(update) = self.next().await {
            match update {
                PairingUpdate::Compare {
                    counterparty,
                    verification,
                } => {
                    let matches = compare(&verification, &counterparty);
                    self.confirm(matches).await;
                }
                PairingUpdate::Paired {
                    counterparty,
                    verification,
                } => return Ok((counterparty, verification)),
                PairingUpdate::Failed(why) => return Err(why),
                _ => {}
            }
        }
        Err(PairingFailure::Stopped)
    }

    /// Stops the pairing (the other side is told) and waits until it has.
    pub async fn cancel(&self) {
        let (done, wait) = oneshot::channel();
        let command = crate::driver::Command::CancelPairing { id: self.id, done };
        if self.commands.send(command).await.is_ok() {
            let _ = wait.await;
        }
    }
}
