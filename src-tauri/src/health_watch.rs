//! Asks every online manager that watches an Ethereum node or validators for their status every few seconds, for the health line and the validators' count on its row in the managers list.

use crate::backend::Backend;
use crate::gui::{AppState, Phase, emit};
use crate::node_health::{NodeHealth, node_health};
use nodepair_protocol::api::ethereum::EthStatus;
use nodepair_protocol::api::validators::{Summary, ValidatorsStatus, ValidatorsStatusRequest};
use nodepair_protocol::api::{self, Empty, Method};
use nodepair_protocol::{NodeState, PublicKey, Status};
use std::collections::HashMap;
use std::sync::{Arc, PoisonError, Weak};
use std::time::Duration;
use tauri::{AppHandle, Manager};

/// How often each node is asked.
const EVERY: Duration = Duration::from_secs(15);
/// How long one answer is waited for.
const PATIENCE: Duration = Duration::from_secs(10);

/// What a manager's row says of its node and validators.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct RowHealth {
    /// Its node's health line, if it watches one and it answered.
    pub(crate) node: Option<NodeHealth>,
    /// Its validators counted, if it watches them and they were read.
    pub(crate) validators: Option<Summary>,
}

/// Keeps the health lines of `backend`'s managers until it stops: asked
/// every [`EVERY`], and at once when the app's state says a manager came
/// online. A manager offline, not answering or watching no client has no
/// line (an old one would mislead).
pub(crate) fn spawn(app: AppHandle, backend: Weak<Backend>) {
    tauri::async_runtime::spawn(async move {
        loop {
            let Some(running) = backend.upgrade() else {
                return;
            };
            let fresh = read_all(&running).await;
            let state = app.state::<AppState>();
            // A backend replaced meanwhile (a network restart) leaves the
            // lines to the one that replaced it.
            let current = matches!(state.phase(), Phase::Running(b) if Arc::ptr_eq(&b, &running));
            drop(running);
            if !current {
                return;
            }
            let changed = {
                let mut health = state.health.lock().unwrap_or_else(PoisonError::into_inner);
                let changed = *health != fresh;
                *health = fresh;
                changed
            };
            if changed {
                emit(&app).await;
            }
            tokio::select! {
                () = tokio::time::sleep(EVERY) => {}
                () = state.health_kick.notified() => {}
            }
        }
    });
}

/// Every watching manager asked at once, so one slow to answer delays no
/// other's line.
async fn read_all(backend: &Arc<Backend>) -> HashMap<PublicKey, RowHealth> {
    let mut asking = tokio::task::JoinSet::new();
    for view in backend.peer.counterparties().await {
        let offers = |name: &str| view.capabilities.iter().any(|c| c == name);
        let (node, validators) = (
            offers(api::ethereum::CAPABILITY),
            offers(api::validators::CAPABILITY),
        );
        if view.state != NodeState::Online || !(node || validators) {
            continue;
        }
        let backend = Arc::clone(backend);
        asking.spawn(async move {
            let key = view.public_key;
            let (node, validators) = tokio::join!(
                async {
                    if !node {
                        return None;
                    }
                    let body = ask::<EthStatus>(&backend, key, api::encode(&Empty {})).await?;
                    node_health(&body)
                },
                async {
                    if !validators {
                        return None;
                    }
                    // Only the summary: no page of validators.
                    let request = ValidatorsStatusRequest {
                        after_index: None,
                        limit: Some(0),
                    };
                    let status =
                        ask::<ValidatorsStatus>(&backend, key, api::encode(&request)).await?;
                    status.validators.value().map(|_| status.summary)
                },
            );
            let row = RowHealth { node, validators };
            (row != RowHealth::default()).then_some((key, row))
        });
    }
    let mut rows = HashMap::new();
    while let Some(done) = asking.join_next().await {
        if let Ok(Some((key, row))) = done {
            rows.insert(key, row);
        }
    }
    rows
}

/// `M`'s answer from `manager`, or none if it did not come in time or was
/// not one.
async fn ask<M: Method>(
    backend: &Backend,
    manager: PublicKey,
    body: Vec<u8>,
) -> Option<M::Response> {
    let asked = backend.peer.request(manager, M::NAME, body);
    match tokio::time::timeout(PATIENCE, asked).await {
        Ok(Ok(reply)) if reply.status == Status::OK => api::decode_response::<M>(&reply.body).ok(),
        _ => None,
    }
}
