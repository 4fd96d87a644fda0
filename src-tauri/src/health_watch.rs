//! Asks every online manager that watches an Ethereum node for its status every few seconds, for the health line of its row in the managers list.

use crate::backend::Backend;
use crate::gui::{AppState, Phase, emit};
use crate::node_health::{NodeHealth, node_health};
use nodepair_protocol::api::ethereum::EthStatus;
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
async fn read_all(backend: &Arc<Backend>) -> HashMap<PublicKey, NodeHealth> {
    let mut asking = tokio::task::JoinSet::new();
    for view in backend.peer.counterparties().await {
        let watches = view
            .capabilities
            .iter()
            .any(|c| c == api::ethereum::CAPABILITY);
        if view.state != NodeState::Online || !watches {
            continue;
        }
        let backend = Arc::clone(backend);
        asking.spawn(async move {
            let asked =
                backend
                    .peer
                    .request(view.public_key, EthStatus::NAME, api::encode(&Empty {}));
            let reply = match tokio::time::timeout(PATIENCE, asked).await {
                Ok(Ok(reply)) if reply.status == Status::OK => reply,
                _ => return None,
            };
            let line = api::decode_response::<EthStatus>(&reply.body)
                .ok()
                .as_ref()
                .and_then(node_health)?;
            Some((view.public_key, line))
        });
    }
    let mut lines = HashMap::new();
    while let Some(done) = asking.join_next().await {
        if let Ok(Some((key, line))) = done {
            lines.insert(key, line);
        }
    }
    lines
}
