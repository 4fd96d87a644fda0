//! Answering a command against a running backend: the window's (through the control socket) or one a command started for itself.

use crate::app_error::{AppError, ErrorKind};
use crate::backend::Backend;
use crate::control::{ComparedManager, Reply, Request};
use crate::status::StatusReport;
use nodepair_peer::exit_code;
use nodepair_peer::{CounterpartyView, FindError, PairingPhase, PairingUpdate, Revocation};
use nodepair_protocol::hello::printable;
use nodepair_protocol::{NodeState, PublicKey, Role, Status, api};
use std::time::Duration;

/// Exit codes beyond [`exit_code`]'s, from sysexits.h.
pub mod exit {
    /// A command line that cannot be right (an unknown method).
    pub const USAGE: u8 = 64;
    /// Input that is not valid (a request that is not JSON, or that the
    /// manager found malformed).
    pub const DATA: u8 = 65;
    /// What the request names is not there (an alert no longer in the log).
    pub const NO_INPUT: u8 = 66;
    /// No such manager.
    pub const NO_USER: u8 = 67;
    /// The manager cannot be reached, or what it asked could not answer.
    pub const UNAVAILABLE: u8 = 69;
    /// The manager failed while answering.
    pub const SOFTWARE: u8 = 70;
    /// Try again later (too many requests, no answer in time).
    pub const TEMPORARY: u8 = 75;
    /// An answer that is not what the method returns.
    pub const PROTOCOL: u8 = 76;
    /// Not allowed by the manager's configuration.
    pub const NO_PERMISSION: u8 = 77;
}

/// Whoever asked: whether it went away (closed the connection, pressed
/// Ctrl-C), and its answers to the question whether the verification
/// strings match.
#[derive(Debug)]
pub struct Asker {
    /// Becomes `true` when the asker has gone.
    pub gone: tokio::sync::watch::Receiver<bool>,
    /// One answer per [`Reply::Compare`].
    pub answers: tokio::sync::mpsc::Receiver<bool>,
}

/// Where replies go.
pub type Out<'a> = &'a mut (dyn FnMut(Reply) + Send);

fn error(kind: ErrorKind, exit: u8, message: impl Into<String>) -> Reply {
    Reply::Error {
        kind,
        exit,
        message: message.into(),
    }
}

/// Begins a key rotation and says who moved as they do, until all have or
/// `wait` is over; then where it stands.
async fn rotate(backend: &Backend, wait: Duration, out: Out<'_>) {
    let started = match backend.peer.rotate_key().await {
        Ok(view) => view,
        Err(e) => {
            return out(error(
                ErrorKind::Failed,
                exit_code::FAILURE,
                format!("no key rotation was started: {e}"),
            ));
        }
    };
    out(Reply::Progress {
        step: format!(
            "new key {} stored; telling {} manager(s)",
            started.new_key.fingerprint(),
            started.counterparties.len()
        ),
    });
    let until = tokio::time::Instant::now() + wait;
    let last = backend
        .peer
        .watch_rotation(started, until, |view, moved, total| {
            out(Reply::Progress {
                step: format!(
                    "{} moved to the new key ({moved} of {total})",
                    printable(view.name(), 64)
                ),
            });
        })
        .await;
    out(Reply::Rotation {
        rotation: Box::new(nodepair_peer::RotationReport::from_view(&last)),
    });
}

/// A manager as `managers --json` shows it.
pub fn manager_json(v: &CounterpartyView) -> serde_json::Value {
    serde_json::json!({
        "name": printable(v.name(), 64),
        "node_id": v.node_id.0.to_string(),
        "public_key": v.public_key.to_string(),
        "fingerprint": v.public_key.fingerprint(),
        "state": v.state.as_str(),
        "capabilities": v.capabilities,
        "paired_at": v.paired_at,
        "last_seen": v.last_seen,
        "latency_ms": v.latency.map(|d| d.as_secs_f64() * 1000.0),
    })
}

/// Answers `request` against `backend`, handing each reply to `out` as it
/// comes; the last one is final. A pairing is cancelled (and the manager
/// told) when the asker goes: nobody would be there to compare.
pub async fn handle(backend: &Backend, request: Request, out: Out<'_>, asker: Asker) {
    let mut gone = asker.gone.clone();
    let left = async move {
        let _ = gone.wait_for(|g| *g).await;
    };
    match request {
        Request::Pair {
            network_timeout_secs,
            yes,
        } => pair(backend, capped(network_timeout_secs), yes, out, asker).await,
        Request::Join {
            network_timeout_secs,
            yes,
        } => {
            add_computer(backend, None, capped(network_timeout_secs), yes, out, asker).await;
        }
        Request::AddComputer {
            code,
            network_timeout_secs,
            yes,
        } => match nodepair_protocol::PairingCode::parse(&code) {
            Ok(code) => {
                add_computer(
                    backend,
                    Some(code),
                    capped(network_timeout_secs),
                    yes,
                    out,
                    asker,
                )
                .await;
            }
            Err(e) => out(error(
                ErrorKind::Invalid,
                exit::USAGE,
                format!("{e}; nothing was started"),
            )),
        },
        Request::CutOff { who } => {
            let max = nodepair_protocol::cut_off::MAX_WHO;
            if who.trim().is_empty() || who.trim().len() > max {
                // Never kept for an offline manager: it could not be sent.
                return out(error(
                    ErrorKind::Invalid,
                    exit::USAGE,
                    format!("name the lost computer by its name or key: 1 to {max} bytes"),
                ));
            }
            let report = tokio::select! {
                report = backend.peer.cut_off(&who) => report,
                () = left => return out(cancelled()),
            };
            if report.cut_off() + report.pending() == 0 {
                return out(error(
                    ErrorKind::NotFound,
                    exit::NO_USER,
                    format!(
                        "no manager has a computer of yours called {}\n{}",
                        printable(&who, 64),
                        report.describe()
                    ),
                ));
            }
            out(Reply::CutOff {
                report: Box::new(report),
            });
        }
        Request::Confirm { .. } => out(error(
            ErrorKind::Invalid,
            exit_code::FAILURE,
            "there is no pairing on this connection to confirm",
        )),
        Request::Managers => {
            let mut views = backend.peer.counterparties().await;
            views.sort_by(|a, b| a.name().cmp(b.name()));
            out(Reply::Managers {
                managers: views.iter().map(manager_json).collect(),
            });
        }
        Request::Unpair { who } => {
            // Waiting for the manager to come online ends when the asker
            // leaves; a revocation already under way is not taken back.
            let reply = tokio::select! {
                reply = unpair(backend, &who) => reply,
                () = left => cancelled(),
            };
            out(reply);
        }
        Request::Status => out(Reply::Status {
            status: Box::new(status(backend).await),
        }),
        Request::RotateKey { wait_secs } => {
            let wait = capped(wait_secs);
            tokio::select! {
                () = rotate(backend, wait, out) => {}
                () = left => {}
            }
        }
        Request::Alerts { all } => {
            let paired: Vec<String> = backend
                .peer
                .counterparties()
                .await
                .iter()
                .map(|v| v.public_key.to_string())
                .collect();
            let mut alerts = crate::alert_delivery::seen(&backend.settings.data_dir(), all);
            alerts.retain(|a| paired.contains(&a.key));
            out(Reply::Alerts {
                running: true,
                alerts,
            });
        }
        Request::Ask {
            manager,
            method,
            request,
            timeout_secs,
        } => {
            let reply = tokio::select! {
                answer = ask(backend, &manager, &method, &request, capped(timeout_secs)) => match answer {
                    Ok(body) => Reply::Answer { body },
                    Err(reply) => reply,
                },
                () = left => cancelled(),
            };
            out(reply);
        }
    }
}

/// Cancels the pairing of `handle`, unless it finished just before: then
/// its last word (paired, or why not) is the answer, not `why`.
async fn stop(handle: &mut nodepair_peer::PairingHandle, why: &str) -> Reply {
    handle.cancel().await;
    while let Ok(Some(update)) =
        tokio::time::timeout(Duration::from_millis(500), handle.next()).await
    {
        match update {
            PairingUpdate::Paired {
                counterparty,
                verification,
            } => {
                return Reply::Paired {
                    manager: manager_json(&counterparty),
                    verification,
                };
            }
            PairingUpdate::Failed(_) => break,
            _ => {}
        }
    }
    error(ErrorKind::Failed, exit_code::FAILURE, why)
}

/// The longest wait a command may ask for: a day.
const LONGEST_WAIT: Duration = Duration::from_secs(86_400);

fn capped(secs: u64) -> Duration {
    Duration::from_secs(secs).min(LONGEST_WAIT)
}

fn cancelled() -> Reply {
    error(ErrorKind::Failed, exit_code::FAILURE, "cancelled")
}

/// `status` from the running app.
pub async fn status(backend: &Backend) -> StatusReport {
    let key = backend.peer.public_key();
    let mut views = backend.peer.counterparties().await;
    views.sort_by(|a, b| a.name().cmp(b.name()));
    StatusReport {
        display_name: backend.settings.display_name.clone(),
        node_id: Some(backend.node_id.clone()),
        public_key: Some(key.to_string()),
        fingerprint: Some(key.fingerprint()),
        keystore: backend.keystore.clone(),
        running: true,
        network: crate::status::network_running(&backend.settings, backend).await,
        managers: views.iter().map(manager_json).collect(),
    }
}

fn not_found(e: &FindError) -> Reply {
    let exit = match e {
        FindError::NotFound(_) => exit::NO_USER,
        _ => exit::USAGE,
    };
    error(ErrorKind::NotFound, exit, e.to_string())
}

/// How long `unpair` waits for the manager to come online so it can be told.
const UNPAIR_WAIT: Duration = Duration::from_secs(8);

/// Waits up to `wait` for `who` to be online; whether it is.
async fn online(backend: &Backend, who: PublicKey, wait: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let now_online = backend
            .peer
            .counterparties()
            .await
            .iter()
            .any(|v| v.public_key == who && v.state == NodeState::Online);
        if now_online || tokio::time::Instant::now() >= deadline {
            return now_online;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn unpair(backend: &Backend, who: &str) -> Reply {
    let views = backend.peer.counterparties().await;
    let target = match nodepair_peer::find(&views, who) {
        Ok(t) => t.clone(),
        Err(e) => return not_found(&e),
    };
    let name = printable(target.name(), 64);
    // Give it a moment to connect, so it can be told now.
    online(backend, target.public_key, UNPAIR_WAIT).await;
    match backend.peer.revoke(target.public_key).await {
        Revocation::Told => Reply::Unpaired { name, told: true },
        Revocation::WillBeTold => Reply::Unpaired { name, told: false },
        Revocation::NotPaired => error(
            ErrorKind::NotFound,
            exit::NO_USER,
            format!("{name} is no longer paired"),
        ),
        Revocation::Failed(e) => error(
            ErrorKind::Failed,
            exit_code::FAILURE,
            format!("cannot unpair {name}: {e}"),
        ),
    }
}

/// The manager method called `name` a command may ask, or a refusal
/// naming those there are. A method that starts a stream is not one: the
/// stream would go on into the app after the command has ended.
pub fn method(name: &str) -> Result<&'static api::MethodInfo, Reply> {
    let askable = |m: &api::MethodInfo| {
        !matches!(m.follows, api::Follows::Starts | api::Follows::Stops { .. })
    };
    let known = || {
        api::methods()
            .filter(|m| askable(m))
            .map(|m| m.name)
            .collect::<Vec<_>>()
            .join(", ")
    };
    match api::method(name) {
        Some(info) if askable(info) => Ok(info),
        Some(info) => Err(error(
            ErrorKind::Invalid,
            exit::USAGE,
            format!(
                "{} starts or stops a stream of events, which a command that answers once cannot follow; ask one of: {}",
                info.name,
                known()
            ),
        )),
        None => Err(error(
            ErrorKind::Invalid,
            exit::USAGE,
            format!(
                "NodePair knows no manager method {name:?}; the methods are: {}",
                known()
            ),
        )),
    }
}

/// Asks `manager` its `method` with `request`: the answer as the method's
/// type has it, or the refusal as a reply with its exit code.
async fn ask(
    backend: &Backend,
    manager: &str,
    method_name: &str,
    request: &serde_json::Value,
    wait: Duration,
) -> Result<serde_json::Value, Reply> {
    let info = method(method_name)?;
    let views = backend.peer.counterparties().await;
    let target = nodepair_peer::find(&views, manager)
        .map_err(|e| not_found(&e))?
        .clone();
    let name = printable(target.name(), 64);
    if !online(backend, target.public_key, wait).await {
        return Err(error(
            ErrorKind::Unreachable,
            exit::UNAVAILABLE,
            format!(
                "{name} did not come online within {} s (it is {}); is nodepair-manager running there?",
                wait.as_secs(),
                views
                    .iter()
                    .find(|v| v.public_key == target.public_key)
                    .map_or("unknown", |v| v.state.as_str())
            ),
        ));
    }
    let body = serde_json::to_vec(request).map_err(|e| {
        error(
            ErrorKind::Invalid,
            exit::DATA,
            format!("the request cannot be sent: {e}"),
        )
    })?;
    let reply = backend
        .peer
        .request(target.public_key, info.name, body)
        .await
        .map_err(|e| {
            let app = AppError::unanswered(&e);
            let exit = match app.kind {
                ErrorKind::NotFound => exit::NO_USER,
                _ => exit::TEMPORARY,
            };
            error(app.kind, exit, format!("{name}: {}", app.message))
        })?;
    if reply.status != Status::OK {
        // A manager offering the method's capability knows the method: its
        // 404 is about what the request named.
        let offered = info
            .capability
            .is_none_or(|c| target.capabilities.iter().any(|o| o == c));
        return Err(refused(&name, info, offered, reply.status, &reply.body));
    }
    info.response(&reply.body)
        .and_then(|full| {
            serde_json::from_slice(&full).map_err(|source| api::BodyError {
                method: info.name,
                source,
            })
        })
        .map_err(|e| error(ErrorKind::Failed, exit::PROTOCOL, format!("{name}: {e}")))
}

/// A manager's refusal in words, with the exit code its status means;
/// `offered`: whether it offers the method's capability.
fn refused(
    name: &str,
    info: &api::MethodInfo,
    offered: bool,
    status: Status,
    body: &[u8],
) -> Reply {
    let said = printable(&String::from_utf8_lossy(body), 300);
    let code = status.0;
    let (kind, exit, message) = match status {
        Status::CAPABILITY_DISABLED => (
            ErrorKind::Refused,
            exit::NO_PERMISSION,
            match info.capability {
                Some(capability) => format!(
                    "{name} does not allow {} (status {code}): its operator has not enabled the {capability:?} capability in manager.toml",
                    info.name
                ),
                None => format!(
                    "{name} does not allow {} (status {code}): {said}",
                    info.name
                ),
            },
        ),
        Status::FORBIDDEN => (
            ErrorKind::Refused,
            exit::NO_PERMISSION,
            format!("{name} refused {} (status {code}): {said}", info.name),
        ),
        Status::BAD_REQUEST | Status::TOO_LARGE | Status::RESPONSE_TOO_LARGE => (
            ErrorKind::Invalid,
            exit::DATA,
            format!("{name} refused the request (status {code}): {said}"),
        ),
        Status::UNKNOWN_METHOD if offered && !said.is_empty() && !said.contains("no method") => (
            ErrorKind::NotFound,
            exit::NO_INPUT,
            format!("{name}: {said} (status {code})"),
        ),
        Status::UNKNOWN_METHOD => (
            ErrorKind::Refused,
            exit::PROTOCOL,
            format!(
                "{name} does not know {} (status {code}); its nodepair-manager may be older than this app",
                info.name
            ),
        ),
        Status::RATE_LIMITED => (
            ErrorKind::Refused,
            exit::TEMPORARY,
            format!("{name}: too many requests (status {code}); try again in a moment"),
        ),
        Status::UPSTREAM_ERROR | Status::UPSTREAM_TIMEOUT => (
            ErrorKind::Failed,
            exit::UNAVAILABLE,
            format!(
                "{name} could not answer {} (status {code}): {said}",
                info.name
            ),
        ),
        _ => (
            ErrorKind::Failed,
            exit::SOFTWARE,
            format!(
                "{name} failed to answer {} (status {code}): {said}",
                info.name
            ),
        ),
    };
    error(kind, exit, message)
}

async fn pair(backend: &Backend, network_timeout: Duration, yes: bool, out: Out<'_>, asker: Asker) {
    let Asker {
        mut gone,
        mut answers,
    } = asker;
    let peer = &backend.peer;
    if let Err(reply) = network(peer, network_timeout).await {
        return out(reply);
    }
    let mut handle = match peer.offer_pairing().await {
        Ok(h) => h,
        Err(e) => {
            return out(error(
                ErrorKind::Failed,
                exit_code::FAILURE,
                format!("cannot start pairing: {e}"),
            ));
        }
    };
    let code = handle.code.to_display_string();
    out(Reply::Code {
        command: format!("nodepair-manager pair {code}"),
        qr: handle.code.qr_payload(),
        code,
    });
    let mut waiting_for_answer = false;
    loop {
        let update = tokio::select! {
            u = handle.next() => u,
            answer = answers.recv(), if waiting_for_answer => {
                waiting_for_answer = false;
                match answer {
                    Some(matches) => {
                        handle.confirm(matches).await;
                        continue;
                    }
                    None => {
                        return out(stop(&mut handle, "no answer to whether the server shows the same verification string; pairing cancelled, the manager was told").await);
                    }
                }
            }
            () = async { let _ = gone.wait_for(|g| *g).await; } => {
                return out(stop(&mut handle, "pairing cancelled").await);
            }
        };
        let Some(update) = update else {
            return out(error(
                ErrorKind::NotRunning,
                exit_code::FAILURE,
                "the app stopped during pairing",
            ));
        };
        // Said in the window's words; "answered" comes with the comparison.
        let step = match update.phase() {
            Some(PairingPhase::Confirmed) if yes => {
                Some("confirmed without comparing (--yes); waiting for the server to confirm too")
            }
            Some(
                phase @ (PairingPhase::Connecting
                | PairingPhase::Waiting
                | PairingPhase::Answered
                | PairingPhase::Confirmed),
            ) => Some(phase.describe(Role::App)),
            _ => None,
        };
        if let Some(step) = step {
            out(Reply::Progress { step: step.into() });
            continue;
        }
        match update {
            PairingUpdate::Compare {
                counterparty,
                verification,
            } => {
                out(Reply::Compare {
                    manager: compared(&counterparty),
                    verification,
                });
                if yes {
                    handle.confirm(true).await;
                } else {
                    // Only an answer to this question counts: one sent
                    // before it was asked is dropped.
                    while answers.try_recv().is_ok() {}
                    waiting_for_answer = true;
                }
            }
            PairingUpdate::Paired {
                counterparty,
                verification,
            } => {
                return out(Reply::Paired {
                    manager: manager_json(&counterparty),
                    verification,
                });
            }
            PairingUpdate::Failed(why) => {
                return out(error(
                    ErrorKind::Failed,
                    why.kind().exit_code(),
                    why.to_string(),
                ));
            }
            _ => {}
        }
    }
}

/// Who answered a code, as the person compares it.
fn compared(counterparty: &nodepair_protocol::pairing::Counterparty) -> ComparedManager {
    ComparedManager {
        name: printable(&counterparty.display_name, 64),
        fingerprint: counterparty.static_key.fingerprint(),
        node_id: counterparty.node_id.0.to_string(),
    }
}

/// Waits up to `timeout` for a first Waku peer, else the error to answer.
async fn network(peer: &nodepair_peer::Peer, timeout: Duration) -> Result<(), Reply> {
    if peer.wait_for_network(timeout).await {
        return Ok(());
    }
    Err(error(
        ErrorKind::Unreachable,
        exit_code::NO_NETWORK,
        format!(
            "no Waku peer could be reached in {} s; check [network] in the settings (`nodepair status` shows the network in use)",
            timeout.as_secs()
        ),
    ))
}

/// Adding a computer, on either side: `code` is the new computer's (we
/// introduce it), or `None` (we are the new one and show a code).
async fn add_computer(
    backend: &Backend,
    code: Option<nodepair_protocol::PairingCode>,
    network_timeout: Duration,
    yes: bool,
    out: Out<'_>,
    asker: Asker,
) {
    let Asker {
        mut gone,
        mut answers,
    } = asker;
    let peer = &backend.peer;
    if let Err(reply) = network(peer, network_timeout).await {
        return out(reply);
    }
    let joining = code.is_none();
    let started = match code {
        Some(code) => peer.introduce(code).await,
        None => peer.offer_introduction().await,
    };
    let mut handle = match started {
        Ok(h) => h,
        Err(e) => {
            return out(error(
                ErrorKind::Failed,
                exit_code::FAILURE,
                format!("cannot start: {e}"),
            ));
        }
    };
    if joining {
        let code = handle.code.to_display_string();
        // The code is typed at its prompt, not given on the command line,
        // where other users' `ps` would see it.
        out(Reply::JoinCode {
            command: "nodepair add-computer".to_owned(),
            code,
        });
    }
    // The words of the side we are: the new computer waits for "the other
    // computer"; the introducing one for "the new computer".
    let other = if joining {
        "the other computer"
    } else {
        "the new computer"
    };
    let mut waiting_for_answer = false;
    loop {
        let update = tokio::select! {
            u = handle.next() => u,
            answer = answers.recv(), if waiting_for_answer => {
                waiting_for_answer = false;
                match answer {
                    Some(matches) => {
                        handle.confirm(matches).await;
                        continue;
                    }
                    None => {
                        handle.cancel().await;
                        return out(error(ErrorKind::Failed, exit_code::FAILURE, format!("no answer to whether {other} shows the same verification string; cancelled, it was told")));
                    }
                }
            }
            () = async { let _ = gone.wait_for(|g| *g).await; } => {
                handle.cancel().await;
                return out(error(ErrorKind::Failed, exit_code::FAILURE, "cancelled"));
            }
        };
        let Some(update) = update else {
            return out(error(
                ErrorKind::NotRunning,
                exit_code::FAILURE,
                "the app stopped while adding a computer",
            ));
        };
        let step = match &update {
            PairingUpdate::ConnectingToNetwork => Some("connecting to the Waku network".to_owned()),
            PairingUpdate::Step(nodepair_protocol::pairing::PairingStep::WaitingForHello) => {
                Some(format!("waiting for {other} to answer"))
            }
            PairingUpdate::Step(nodepair_protocol::pairing::PairingStep::Verifying) => Some(
                if yes {
                    format!("confirmed without comparing (--yes); waiting for {other} to confirm too")
                } else {
                    format!("confirmed here; waiting for {other} to confirm too")
                },
            ),
            PairingUpdate::Met { .. } if joining => Some(
                "both confirmed; waiting for the other computer to introduce this one to its managers"
                    .to_owned(),
            ),
            PairingUpdate::Met { .. } => {
                Some("both confirmed; introducing the new computer to each manager".to_owned())
            }
            _ => None,
        };
        if let Some(step) = step {
            out(Reply::Progress { step });
            continue;
        }
        match update {
            PairingUpdate::Compare {
                counterparty,
                verification,
            } => {
                out(Reply::CompareComputer {
                    computer: compared(&counterparty),
                    verification,
                });
                if yes {
                    handle.confirm(true).await;
                } else {
                    while answers.try_recv().is_ok() {}
                    waiting_for_answer = true;
                }
            }
            PairingUpdate::Joined { via, managers } if managers.is_empty() => {
                return out(error(
                    ErrorKind::Refused,
                    exit::NO_PERMISSION,
                    format!(
                        "{via} introduced this computer, but no manager admitted it (their operators may not accept introductions: {via} said which); nothing was stored"
                    ),
                ));
            }
            PairingUpdate::Joined { via, managers } => {
                return out(Reply::Joined {
                    via,
                    managers: managers.iter().map(manager_json).collect(),
                });
            }
            PairingUpdate::Introduced(report) => {
                // Introduced to none of several, or not handed over: the
                // new computer reaches nothing; say so by the exit code.
                if report.handed.is_err() {
                    return out(error(
                        ErrorKind::Failed,
                        exit::UNAVAILABLE,
                        report.describe(),
                    ));
                }
                if report.introduced() == 0 {
                    let unreachable = report.managers.iter().any(|m| {
                        matches!(
                            m.outcome,
                            nodepair_peer::introduction::Outcome::Unreachable { .. }
                        )
                    });
                    let (kind, code) = if unreachable || report.managers.is_empty() {
                        (ErrorKind::Unreachable, exit::UNAVAILABLE)
                    } else {
                        (ErrorKind::Refused, exit::NO_PERMISSION)
                    };
                    return out(error(
                        kind,
                        code,
                        format!(
                            "no manager admitted the new computer\n{}",
                            report.describe()
                        ),
                    ));
                }
                return out(Reply::Introduced {
                    report: Box::new(report),
                });
            }
            PairingUpdate::Failed(why) => {
                return out(error(
                    ErrorKind::Failed,
                    why.kind().exit_code(),
                    why.to_string(),
                ));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(name: &str) -> (u8, String) {
        match method(name) {
            Err(Reply::Error { exit, message, .. }) => (exit, message),
            other => panic!("{name} was not refused: {other:?}"),
        }
    }

    #[test]
    fn a_command_asks_known_one_shot_methods_only_and_hears_which_there_are() {
        assert_eq!(method("host.health").unwrap().name, "host.health");
        let (exit, message) = refusal("host.reboot");
        assert_eq!(exit, exit::USAGE);
        assert!(
            message.contains("\"host.reboot\"") && message.contains("host.health"),
            "{message}"
        );
        assert!(
            !message.contains("host.follow"),
            "streams are not offered: {message}"
        );
        let (exit, message) = refusal("host.follow");
        assert_eq!(exit, exit::USAGE);
        assert!(message.contains("stream"), "{message}");
        refusal("logs.unfollow");
    }

    #[test]
    fn each_refusal_has_its_exit_code_and_names_what_to_do() {
        let health = api::method("host.health").unwrap();
        let said = |status: u16| match refused("validator-1", health, false, Status(status), b"why")
        {
            Reply::Error { exit, message, .. } => (exit, message),
            other => panic!("{other:?}"),
        };
        let (exit, message) = said(423);
        assert_eq!(exit, exit::NO_PERMISSION);
        assert!(
            message.contains("\"host\" capability") && message.contains("status 423"),
            "{message}"
        );
        assert_eq!(said(403).0, exit::NO_PERMISSION);
        assert_eq!(said(400).0, exit::DATA);
        assert_eq!(said(404).0, exit::PROTOCOL);
        assert_eq!(said(429).0, exit::TEMPORARY);
        assert_eq!(said(504).0, exit::UNAVAILABLE);
        assert_eq!(said(500).0, exit::SOFTWARE);
        // A hostile manager's words stay on one line.
        // An alert that is not in the log, from a manager offering alerts.
        let ack = api::method("alerts.ack").unwrap();
        match refused(
            "validator-1",
            ack,
            true,
            Status(404),
            b"no alert 99 on this manager",
        ) {
            Reply::Error { exit, message, .. } => {
                assert_eq!(exit, exit::NO_INPUT);
                assert_eq!(
                    message,
                    "validator-1: no alert 99 on this manager (status 404)"
                );
            }
            other => panic!("{other:?}"),
        }
        match refused(
            "validator-1",
            ack,
            true,
            Status(404),
            b"this manager has no method \"alerts.ack\"",
        ) {
            Reply::Error { exit, .. } => assert_eq!(exit, exit::PROTOCOL),
            other => panic!("{other:?}"),
        }
        match refused(
            "validator-1",
            health,
            false,
            Status(500),
            b"evil\n\x1b[2Jerror: fake",
        ) {
            Reply::Error { message, .. } => assert!(
                !message.contains('\n') && !message.contains('\x1b'),
                "{message:?}"
            ),
            other => panic!("{other:?}"),
        }
    }
}
