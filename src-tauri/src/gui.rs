//! The window's side of the backend: the peer started at launch, and what the UI may ask.

use crate::backend::Backend;
use crate::settings::Settings;
use nodepair_peer::{CounterpartyView, PeerEvent};
use serde::Serialize;
use std::sync::{Arc, Mutex, PoisonError};
use tauri::{AppHandle, Emitter, Manager, Runtime, State};

/// The event the UI listens to; its payload is a [`ManagersView`].
pub const MANAGERS_CHANGED: &str = "managers-changed";

/// The event a pairing under way sends; its payload is a [`PairingView`].
pub const PAIRING_CHANGED: &str = "pairing-changed";

/// Where the backend stands, as the window shows it.
#[derive(Clone, Debug, Default)]
enum Phase {
    /// Opening the keystore, starting the Waku node.
    #[default]
    Starting,
    /// Running: sessions are being kept with every paired manager.
    Running(Arc<Backend>),
    /// It could not start; the reason, for people.
    Failed(String),
}

/// What the app shares with its commands.
#[derive(Debug, Default)]
pub struct AppState {
    phase: Mutex<Phase>,
    /// Stops the pairing under way, if any.
    pairing: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
}

impl AppState {
    fn phase(&self) -> Phase {
        self.phase
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set(&self, phase: Phase) {
        *self.phase.lock().unwrap_or_else(PoisonError::into_inner) = phase;
    }
}

/// One paired manager, as the list shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagerRow {
    /// Its name.
    pub name: String,
    /// Its node id.
    pub node_id: String,
    /// Its key's short form, for telling two of the same name apart.
    pub fingerprint: String,
    /// `online`, `connecting`, `offline` or `revoked`.
    pub state: String,
    /// The latest keepalive round trip, in milliseconds.
    pub latency_ms: Option<f64>,
    /// When a session last carried a message, Unix seconds.
    pub last_seen: Option<u64>,
}

impl ManagerRow {
    fn from_view(v: &CounterpartyView) -> Self {
        ManagerRow {
            name: v.display_name.clone(),
            node_id: v.node_id.0.to_string(),
            fingerprint: v.public_key.fingerprint(),
            state: v.state.as_str().to_owned(),
            latency_ms: v.latency.map(|d| d.as_secs_f64() * 1000.0),
            last_seen: v.last_seen,
        }
    }
}

/// The managers and whether the backend is up.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagersView {
    /// `starting`, `running` or `failed`.
    pub backend: String,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// Every paired manager, by name.
    pub managers: Vec<ManagerRow>,
}

async fn view(state: &AppState) -> ManagersView {
    match state.phase() {
        Phase::Starting => ManagersView {
            backend: "starting".into(),
            error: None,
            managers: Vec::new(),
        },
        Phase::Failed(error) => ManagersView {
            backend: "failed".into(),
            error: Some(error),
            managers: Vec::new(),
        },
        Phase::Running(backend) => ManagersView {
            backend: "running".into(),
            error: None,
            managers: backend
                .peer
                .counterparties()
                .await
                .iter()
                .map(ManagerRow::from_view)
                .collect(),
        },
    }
}

/// The paired managers and where each stands.
#[tauri::command]
pub async fn managers(state: State<'_, AppState>) -> Result<ManagersView, String> {
    Ok(view(&state).await)
}

/// Starts the backend in the background, and tells the window whenever the
/// managers change.
pub fn start<R: Runtime>(app: &AppHandle<R>) {
    app.manage(AppState::default());
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let settings = match Settings::load(None) {
            Ok(s) => s,
            Err(e) => return fail(&app, e.to_string()),
        };
        let backend = match Backend::start(&settings).await {
            Ok(b) => Arc::new(b),
            Err(e) => return fail(&app, format!("{e:#}")),
        };
        let mut events = backend.peer.events();
        app.state::<AppState>().set(Phase::Running(backend));
        emit(&app).await;
        loop {
            match events.recv().await {
                Ok(PeerEvent::Changed(_) | PeerEvent::Removed { .. })
                | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => emit(&app).await,
                Ok(PeerEvent::Stream { .. }) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    });
}

fn fail<R: Runtime>(app: &AppHandle<R>, error: String) {
    tracing::error!("the backend could not start: {error}");
    app.state::<AppState>().set(Phase::Failed(error));
    let app = app.clone();
    tauri::async_runtime::spawn(async move { emit(&app).await });
}

async fn emit<R: Runtime>(app: &AppHandle<R>) {
    let view = view(&app.state::<AppState>()).await;
    if let Err(e) = app.emit(MANAGERS_CHANGED, view) {
        tracing::warn!("cannot tell the window: {e}");
    }
}

/// A pairing as the window shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PairingView {
    /// `waiting`, `verifying`, `paired`, `failed` or `cancelled`.
    pub phase: String,
    /// The code to type on the server, in groups.
    pub code: String,
    /// The code's QR code, as an SVG document.
    pub qr_svg: String,
    /// The exact command to type on the server.
    pub command: String,
    /// When the code stops working, Unix milliseconds.
    pub expires_at_ms: u64,
    /// Once paired: the string both sides show.
    pub verification: Option<String>,
    /// Once paired: the manager's name.
    pub manager: Option<String>,
    /// Once failed: why, in words a person can act on.
    pub error: Option<String>,
}

fn running(state: &AppState) -> Result<Arc<Backend>, String> {
    match state.phase() {
        Phase::Running(backend) => Ok(backend),
        Phase::Starting => Err("NodePair is still starting; try again in a moment".into()),
        Phase::Failed(e) => Err(format!("NodePair could not start: {e}")),
    }
}

/// Makes a new pairing code and waits for a manager to answer it; progress
/// comes as [`PAIRING_CHANGED`] events. A pairing already under way is
/// cancelled first.
#[tauri::command]
pub async fn pair_start<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> Result<PairingView, String> {
    let backend = running(&state)?;
    if let Some(previous) = state
        .pairing
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()
    {
        let _ = previous.send(());
    }
    let mut handle = backend
        .peer
        .offer_pairing()
        .await
        .map_err(|e| e.to_string())?;
    let ttl = nodepair_protocol::PairingConfig::default().ttl;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let code = handle.code.to_display_string();
    let qr_svg = qrcode::QrCode::new(handle.code.qr_payload().as_bytes())
        .map(|qr| {
            qr.render::<qrcode::render::svg::Color<'_>>()
                .min_dimensions(200, 200)
                .build()
        })
        .unwrap_or_default();
    let mut view = PairingView {
        phase: "waiting".into(),
        command: format!("nodepair-manager pair {code}"),
        code,
        qr_svg,
        expires_at_ms: now_ms + u64::try_from(ttl.as_millis()).unwrap_or(0),
        verification: None,
        manager: None,
        error: None,
    };
    let (cancel, mut cancelled) = tokio::sync::oneshot::channel();
    *state.pairing.lock().unwrap_or_else(PoisonError::into_inner) = Some(cancel);
    let first = view.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            let update = tokio::select! {
                update = handle.next() => update,
                _ = &mut cancelled => {
                    handle.cancel().await;
                    view.phase = "cancelled".into();
                    let _ = app.emit(PAIRING_CHANGED, &view);
                    return;
                }
            };
            let Some(update) = update else { return };
            let done = match update {
                nodepair_peer::PairingUpdate::Step(
                    nodepair_protocol::pairing::PairingStep::Verifying,
                ) => {
                    view.phase = "verifying".into();
                    false
                }
                nodepair_peer::PairingUpdate::Paired {
                    counterparty,
                    verification,
                } => {
                    view.phase = "paired".into();
                    view.manager = Some(counterparty.display_name);
                    view.verification = Some(verification);
                    true
                }
                nodepair_peer::PairingUpdate::Failed(why) => {
                    view.phase = "failed".into();
                    view.error = Some(why.to_string());
                    true
                }
                _ => continue,
            };
            let _ = app.emit(PAIRING_CHANGED, &view);
            if done {
                return;
            }
        }
    });
    Ok(first)
}

/// Stops the pairing under way (the manager, if it answered, is told).
#[tauri::command]
pub async fn pair_cancel(state: State<'_, AppState>) -> Result<(), String> {
    if let Some(cancel) = state
        .pairing
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()
    {
        let _ = cancel.send(());
    }
    Ok(())
}
