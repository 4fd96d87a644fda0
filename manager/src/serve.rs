//! Answering control requests against a running manager (the daemon's, or a standalone `pair`'s).

use crate::control::{ComparedApp, ErrorKind, PeerRow, Reply, Request};
use crate::runtime::Runtime;
use nodepair_peer::{
    CounterpartyView, FailureKind, GrantChangeError, PairingFailure, PairingPhase, PairingUpdate,
    Revocation, RotateError,
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
            grants,
        } => {
            let how = How {
                network_timeout: Duration::from_secs(network_timeout_secs),
                yes,
                grants,
            };
            pair(runtime, &code, how, out, asker).await
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
        Request::Grant { who, grants } => {
            let views = runtime.peer.counterparties().await;
            match find(&views, &who) {
                Err(reply) => out(*reply),
                Ok(target) => {
                    let name = printable(&target.display_name, 64);
                    match runtime.peer.grant(target.public_key, grants).await {
                        Ok(view) => out(granted(&runtime.config.capabilities, &view, name)),
                        Err(GrantChangeError::NotPaired) => out(not_found(&who)),
                        Err(e @ GrantChangeError::Invalid(_)) => out(Reply::Error {
                            kind: ErrorKind::Invalid,
                            message: format!("nothing changed: {e}"),
                        }),
                        Err(e) => out(Reply::Error {
                            kind: ErrorKind::Failed,
                            message: format!("cannot change what {name} may use: {e}"),
                        }),
                    }
                }
            }
        }
        Request::RotateKey { wait_secs } => {
            rotate(runtime, Duration::from_secs(wait_secs), out, asker.gone).await;
        }
        Request::Status => out(Reply::Status {
            status: Box::new(runtime.status().await),
        }),
    }
}

/// Begins a key rotation and says who moved as they do, until all have,
/// `wait` is over or the asker left; then where it stands.
async fn rotate(
    runtime: &Runtime,
    wait: Duration,
    out: &mut (dyn FnMut(Reply) + Send),
    mut gone: Gone,
) {
    let went_away = async move {
        let _ = gone.wait_for(|gone| *gone).await.map(drop);
    };
    tokio::pin!(went_away);
    let started = match runtime.peer.rotate_key().await {
        Ok(view) => view,
        Err(RotateError::UnderWay(view)) => {
            return out(Reply::Error {
                kind: ErrorKind::Failed,
                message: format!(
                    "a key rotation is already under way: {} of {} apps moved to key {}; it ends once the rest have (`nodepair-manager status` shows them)",
                    view.counterparties
                        .iter()
                        .filter(|(_, moved)| *moved)
                        .count(),
                    view.counterparties.len(),
                    view.new_key.fingerprint()
                ),
            });
        }
        Err(e) => {
            return out(Reply::Error {
                kind: ErrorKind::Failed,
                message: format!("no key rotation was started: {e}"),
            });
        }
    };
    out(progress(&format!(
        "new key {} stored; telling {} app(s)",
        started.new_key.fingerprint(),
        started.counterparties.len()
    )));
    let until = tokio::time::Instant::now() + wait.min(Duration::from_secs(86_400));
    let last = tokio::select! {
        last = runtime.peer.watch_rotation(started.clone(), until, |view, moved, total| {
            out(progress(&format!(
                "{} moved to the new key ({moved} of {total})",
                printable(view.name(), 64)
            )));
        }) => last,
        () = &mut went_away => runtime.peer.rotation().await.unwrap_or(started),
    };
    out(Reply::Rotation {
        rotation: Box::new(nodepair_peer::RotationReport::from_view(&last)),
    });
}

/// The reply saying what `view` may use now, of `offered`.
pub(crate) fn granted(offered: &[String], view: &CounterpartyView, name: String) -> Reply {
    Reply::Granted {
        name,
        granted: nodepair_protocol::grants::granted(offered, view.grants.as_deref()),
        grants: view.grants.clone(),
        told: view.state == nodepair_protocol::NodeState::Online,
    }
}

/// How a pairing goes, besides its code.
struct How {
    network_timeout: Duration,
    /// Confirmed without asking.
    yes: bool,
    /// What the app is granted (`None`: everything offered).
    grants: Option<Vec<String>>,
}

async fn pair(
    runtime: &Runtime,
    typed: &str,
    how: How,
    out: &mut (dyn FnMut(Reply) + Send),
    asker: Asker,
) {
    let How {
        network_timeout,
        yes,
        grants,
    } = how;
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
    let started = match &grants {
        Some(grants) => runtime.peer.pair_granting(code, grants).await,
        None => runtime.peer.pair(code).await,
    };
    let mut handle = match started {
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
            // Only apps add computers.
            PairingUpdate::Met { .. }
            | PairingUpdate::Introduced(_)
            | PairingUpdate::Joined { .. } => {}
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
        FailureKind::Failed if matches!(e, PairingFailure::Grant(_)) => ErrorKind::Invalid,
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
