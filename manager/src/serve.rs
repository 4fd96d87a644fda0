//! Answering control requests against a running manager (the daemon's, or a standalone `pair`'s).

use crate::control::{ComparedApp, ErrorKind, PeerRow, Reply, Request};
use crate::runtime::Runtime;
use nodepair_peer::{
    CounterpartyView, FailureKind, PairingFailure, PairingPhase, PairingUpdate, Revocation,
};
use nodepair_protocol::PairingCode;
use nodepair_protocol::hello::{Role, printable};
use nodepair_protocol::pairing::PairingStep;
use std::time::Duration;

/// Whoever asked has gone (closed the control connection, pressed Ctrl-C):
/// becomes `true` then.
pub(crate) type Gone = tokio::sync::watch::Receiver<bool>;

/// Whoever asked: whether it went away, and its answers to questions
/// (whether the verification strings match).
pub(crate) struct Asker {
    pub(crate) gone: Gone,
    pub(crate) answers: tokio::sync::mpsc::Receiver<bool>,
}

impl Asker {
    /// An asker that never answers (for requests that ask nothing back).
    pub(crate) fn new(gone: Gone) -> (Asker, tokio::sync::mpsc::Sender<bool>) {
        let (tx, answers) = tokio::sync::mpsc::channel(4);
        (Asker { gone, answers }, tx)
    }
}

/// Answers `request`, handing each reply line to `out` as it comes. A
/// pairing is cancelled (and the app told) if the asker goes away: nobody
/// would be there to compare the verification string.
pub(crate) async fn handle(
    runtime: &Runtime,
    request: Request,
    out: &mut (dyn FnMut(Reply) + Send),
    asker: Asker,
) {
    match request {
        Request::Pair {
            code,
            network_timeout_secs,
            yes,
        } => {
            pair(
                runtime,
                &code,
                Duration::from_secs(network_timeout_secs),
                yes,
                out,
                asker,
            )
            .await
        }
        Request::Confirm { .. } => out(Reply::Error {
            kind: ErrorKind::Failed,
            message: "there is no pairing on this connection to confirm".into(),
        }),
        Request::Peers => {
            let peers = runtime.peer_rows().await;
            out(Reply::Peers { peers });
        }
        Request::Revoke { who } => {
            let views = runtime.peer.counterparties().await;
            match find(&views, &who) {
                Err(reply) => out(*reply),
                Ok(target) => {
                    let name = printable(&target.display_name, 64);
                    match runtime.peer.revoke(target.public_key).await {
                        Revocation::Told => out(Reply::Revoked { name, told: true }),
                        Revocation::WillBeTold => out(Reply::Revoked { name, told: false }),
                        Revocation::NotPaired => out(not_found(&who)),
                        Revocation::Failed(e) => out(Reply::Error {
                            kind: ErrorKind::Failed,
                            message: format!("cannot revoke {name}: {e}"),
                        }),
                    }
                }
            }
        }
        Request::Status => out(Reply::Status {
            status: Box::new(runtime.status().await),
        }),
    }
}

async fn pair(
    runtime: &Runtime,
    typed: &str,
    network_timeout: Duration,
    yes: bool,
    out: &mut (dyn FnMut(Reply) + Send),
    asker: Asker,
) {
    let Asker {
        mut gone,
        mut answers,
    } = asker;
    let code = match PairingCode::parse(typed) {
        Ok(code) => code,
        Err(e) => {
            return out(Reply::Error {
                kind: ErrorKind::BadCode,
                message: format!("that is not a valid pairing code: {e}; check it against the app"),
            });
        }
    };
    if !runtime.peer.wait_for_network(Duration::ZERO).await {
        out(progress(PairingPhase::Connecting.describe(Role::Manager)));
        if !runtime.peer.wait_for_network(network_timeout).await {
            return out(Reply::Error {
                kind: ErrorKind::NoNetwork,
                message: format!(
                    "no Waku peer could be reached in {} s; check [network] bootstrap in the configuration and that those peers are up",
                    network_timeout.as_secs()
                ),
            });
        }
    }
    let mut handle = match runtime.peer.pair(code).await {
        Ok(handle) => handle,
        Err(e) => return out(failure(&e)),
    };
    let went_away = async move {
        // The guard `wait_for` returns is not Send: drop it right here.
        let _ = gone.wait_for(|gone| *gone).await.map(drop);
    };
    tokio::pin!(went_away);
    let mut asked = false;
    loop {
        let update = tokio::select! {
            update = handle.next() => update,
            Some(matches) = answers.recv(), if asked => {
                asked = false;
                if matches {
                    out(progress(PairingPhase::Confirmed.describe(Role::Manager)));
                }
                handle.confirm(matches).await;
                continue;
            }
            () = &mut went_away => {
                handle.cancel().await;
                tracing::info!("pairing cancelled: whoever asked for it went away");
                return out(Reply::Error {
                    kind: ErrorKind::Failed,
                    message: "pairing cancelled; the app was told".into(),
                });
            }
        };
        let Some(update) = update else { break };
        match update {
            PairingUpdate::Step(PairingStep::Verifying) if yes => {
                out(progress(
                    "the app answered; confirmed without comparing (--yes)",
                ));
            }
            PairingUpdate::ConnectingToNetwork | PairingUpdate::Step(_) => {
                // "Answered" comes with the comparison, "confirmed" with
                // the answer to it.
                if let Some(phase) = update.phase()
                    && !matches!(phase, PairingPhase::Answered | PairingPhase::Confirmed)
                {
                    out(progress(phase.describe(Role::Manager)));
                }
            }
            PairingUpdate::Compare {
                counterparty,
                verification,
            } => {
                if yes {
                    handle.confirm(true).await;
                } else {
                    asked = true;
                    out(Reply::Compare {
                        app: Box::new(ComparedApp {
                            name: printable(&counterparty.display_name, 64),
                            node_id: counterparty.node_id.0.to_string(),
                            fingerprint: counterparty.static_key.fingerprint(),
                        }),
                        verification,
                    });
                }
            }
            PairingUpdate::Paired {
                counterparty,
                verification,
            } => {
                return out(Reply::Paired {
                    counterparty: Box::new(PeerRow::from_view(&counterparty)),
                    verification,
                });
            }
            PairingUpdate::Failed(e) => return out(failure(&e)),
        }
    }
    out(Reply::Error {
        kind: ErrorKind::Failed,
        message: "the manager stopped during pairing".into(),
    });
}

fn progress(step: &str) -> Reply {
    Reply::Progress { step: step.into() }
}

fn failure(e: &PairingFailure) -> Reply {
    let kind = match e.kind() {
        FailureKind::Expired => ErrorKind::Expired,
        FailureKind::AnsweredTwice => ErrorKind::AnsweredTwice,
        FailureKind::Mismatch => ErrorKind::Mismatch,
        FailureKind::Failed => ErrorKind::Failed,
    };
    Reply::Error {
        kind,
        message: e.to_string(),
    }
}

fn not_found(who: &str) -> Reply {
    Reply::Error {
        kind: ErrorKind::NotFound,
        message: format!("no paired app matches {who:?}; `nodepair-manager peers` lists them"),
    }
}

/// The one counterparty `who` names (see [`nodepair_peer::find`]), or the
/// error reply.
pub(crate) fn find<'a>(
    views: &'a [CounterpartyView],
    who: &str,
) -> Result<&'a CounterpartyView, Box<Reply>> {
    nodepair_peer::find(views, who).map_err(|e| {
        Box::new(match e {
            nodepair_peer::FindError::NotFound(_) => not_found(who),
            ambiguous @ nodepair_peer::FindError::Ambiguous { .. } => Reply::Error {
                kind: ErrorKind::Ambiguous,
                message: ambiguous.to_string(),
            },
        })
    })
}
