//! The window's side of the backend: starting the peer at launch, and telling the window what changes.

use crate::alert_inbox::AlertInbox;
use crate::app_error::{AppError, ErrorKind};
use crate::backend::{Ask, Backend, NeedsPassphrase, needs_passphrase};
use crate::follows::Follows;
use crate::notify::{Notice, Notifier};
use crate::settings::{Settings, WindowSettings};
use crate::views::{BackendState, ManagerEvent, ManagerRow, ManagersView, UnlockView};
use nodepair_keystore::DirLock;
use nodepair_keystore::Passphrase;
use nodepair_peer::PeerEvent;
use nodepair_protocol::api;
use nodepair_protocol::frame::Event as Pushed;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use tauri::{AppHandle, Manager};
use tauri_plugin_notification::NotificationExt;
use tauri_specta::Event;
use tokio::sync::broadcast::error::RecvError;

/// What the window tells a pairing under way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PairingControl {
    /// The person answered whether the server shows the same string.
    Confirm(bool),
    /// The person closed the pairing dialog.
    Cancel,
}

/// Sends `control` to the run steered through `slot` (a pairing, or the
/// adding of a computer); `none` says there is no run, `ended` that it
/// ended.
pub(crate) fn steer(
    slot: &Mutex<Option<tokio::sync::mpsc::Sender<PairingControl>>>,
    control: PairingControl,
    (none, ended): (&str, &str),
) -> Result<(), crate::app_error::AppError> {
    use crate::app_error::{AppError, ErrorKind};
    let sender = slot
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
        .ok_or_else(|| AppError::new(ErrorKind::NotFound, none))?;
    sender
        .try_send(control)
        .map_err(|_| AppError::new(ErrorKind::NotFound, ended))
}

/// Where the backend stands, as the window shows it.
#[derive(Clone, Debug, Default)]
pub(crate) enum Phase {
    /// Opening the keystore, starting the Waku node.
    #[default]
    Starting,
    /// The vault needs a passphrase only a person can give.
    Locked(NeedsPassphrase),
    /// Running: sessions are being kept with every paired manager.
    Running(Arc<Backend>),
    /// It could not start; the reason, for people.
    Failed(String),
}

/// What the app shares with its commands.
#[derive(Debug)]
pub struct AppState {
    /// `--config`, if given.
    pub(crate) settings_path: Option<PathBuf>,
    phase: Mutex<Phase>,
    /// Steers the pairing under way, if any: the person's answer to the
    /// comparison, or cancel.
    pub(crate) pairing: Mutex<Option<tokio::sync::mpsc::Sender<PairingControl>>>,
    /// Steers the adding of a computer under way, if any, as `pairing`.
    pub(crate) computer: Mutex<Option<tokio::sync::mpsc::Sender<PairingControl>>>,
    /// Held while a run of adding a computer starts: two at once would
    /// each cancel the other.
    pub(crate) computer_start: tokio::sync::Mutex<()>,
    /// The streams the window follows, asked for again when a session
    /// comes back.
    pub(crate) follows: Mutex<Follows>,
    /// Whether the app has a tray icon (a StatusNotifier host runs).
    pub(crate) tray: bool,
    /// The window's settings, and the data directory, once read.
    pub(crate) window: Mutex<Option<(WindowSettings, PathBuf)>>,
    /// Whether the control socket is being served (there is none off Unix).
    #[cfg_attr(not(unix), allow(dead_code))]
    serving: std::sync::atomic::AtomicBool,
    /// The data directory this app holds, and its lock: taken on the first
    /// start, before the keys are opened.
    held: Mutex<Option<(PathBuf, Arc<DirLock>)>>,
    /// Every manager's alerts as seen, kept in the data directory.
    pub(crate) alerts: Mutex<AlertInbox>,
    /// Each online manager's node health, as last read.
    pub(crate) health: Mutex<
        std::collections::HashMap<nodepair_protocol::PublicKey, crate::health_watch::RowHealth>,
    >,
    /// Wakes the health reading (a manager came online).
    pub(crate) health_kick: tokio::sync::Notify,
    /// Held while the network settings change and the node restarts: one
    /// change at a time.
    pub(crate) network_change: tokio::sync::Mutex<()>,
    /// Held from reading the managers view to handing it over: tasks that
    /// emit at once (the peer's events, the health watch, alerts) then
    /// hand views over in the order they read them, so the window never
    /// ends up with an older view than the newest (seen with 100
    /// managers coming online in one burst: rows left "connecting" until
    /// the next change, 30 s later).
    /// It holds the number of the last view read ([`ManagersView::seq`]).
    pub(crate) emitting: tokio::sync::Mutex<u32>,
}

impl AppState {
    pub(crate) fn phase(&self) -> Phase {
        self.phase
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set(&self, phase: Phase) {
        *self.phase.lock().unwrap_or_else(PoisonError::into_inner) = phase;
    }

    /// The running backend, or why there is none for a command in a
    /// terminal: its exit code and a sentence.
    #[cfg(unix)]
    fn for_terminal(&self) -> Result<Arc<Backend>, (u8, String)> {
        use crate::serve::exit;
        match self.phase() {
            Phase::Running(backend) => Ok(backend),
            Phase::Starting => Err((
                exit::TEMPORARY,
                "NodePair is still starting; try again in a moment".to_owned(),
            )),
            Phase::Locked(_) => Err((
                exit::TEMPORARY,
                "NodePair's keys are locked: enter the vault passphrase in its window first, then try again"
                    .to_owned(),
            )),
            Phase::Failed(e) => Err((
                nodepair_peer::exit_code::FAILURE,
                format!("NodePair could not start: {e}"),
            )),
        }
    }

    /// The running backend, or why there is none, in a sentence.
    pub(crate) fn running(&self) -> Result<Arc<Backend>, AppError> {
        let why = match self.phase() {
            Phase::Running(backend) => return Ok(backend),
            Phase::Starting => "NodePair is still starting; try again in a moment".to_owned(),
            Phase::Locked(_) => {
                "NodePair's keys are locked: enter the vault passphrase first".to_owned()
            }
            Phase::Failed(e) => format!("NodePair could not start: {e}"),
        };
        Err(AppError::new(ErrorKind::NotRunning, why))
    }
}

/// The managers view now.
async fn view(state: &AppState) -> ManagersView {
    let (backend, error, unlock, managers) = match state.phase() {
        Phase::Starting => (BackendState::Starting, None, None, Vec::new()),
        Phase::Locked(need) => (
            BackendState::Locked,
            None,
            Some(UnlockView {
                creating: need.creating,
                why: need.why,
                error: need.error,
            }),
            Vec::new(),
        ),
        Phase::Failed(error) => (BackendState::Failed, Some(error), None, Vec::new()),
        Phase::Running(backend) => (
            BackendState::Running,
            None,
            None,
            backend
                .peer
                .counterparties()
                .await
                .iter()
                .map(ManagerRow::from_view)
                .collect(),
        ),
    };
    let (managers, alerting) = {
        let inbox = state.alerts.lock().unwrap_or_else(PoisonError::into_inner);
        let health = state.health.lock().unwrap_or_else(PoisonError::into_inner);
        let managers = managers
            .into_iter()
            .map(|mut row| {
                if let Ok(key) = row.key.parse::<nodepair_protocol::PublicKey>() {
                    row.alerts = inbox.open(key).into_iter().cloned().collect();
                    row.resolved = inbox
                        .resolved(key, crate::views::RECENTLY_RESOLVED)
                        .into_iter()
                        .cloned()
                        .collect();
                    if row.state == nodepair_protocol::NodeState::Online
                        && let Some(h) = health.get(&key)
                    {
                        row.health = h.node.clone();
                        row.validators = h.validators;
                    }
                }
                row
            })
            .collect();
        (managers, inbox.worst(unix_ms()).is_some())
    };
    ManagersView {
        backend,
        error,
        unlock,
        managers,
        alerting,
        // Numbered by `numbered`.
        seq: 0,
    }
}

pub(crate) fn unix_ms() -> u64 {
    nodepair_peer::Clock::system().unix_millis()
}

/// Starts the backend in the background; `settings_path` is `--config`,
/// `tray` whether there is a tray icon.
pub fn start(app: &AppHandle, settings_path: Option<PathBuf>, tray: bool) {
    app.manage(AppState {
        settings_path,
        phase: Mutex::new(Phase::Starting),
        pairing: Mutex::new(None),
        computer: Mutex::new(None),
        computer_start: tokio::sync::Mutex::new(()),
        follows: Mutex::new(Follows::default()),
        tray,
        window: Mutex::new(None),
        serving: std::sync::atomic::AtomicBool::new(false),
        held: Mutex::new(None),
        alerts: Mutex::new(AlertInbox::default()),
        health: Mutex::new(std::collections::HashMap::new()),
        health_kick: tokio::sync::Notify::new(),
        network_change: tokio::sync::Mutex::new(()),
        emitting: tokio::sync::Mutex::new(0),
    });
    let app = app.clone();
    tauri::async_runtime::spawn(async move { launch(&app, None).await });
}

/// Starts the backend (again, after a passphrase was typed) and, once it
/// runs, forwards its events to the window until it stops.
pub(crate) async fn launch(app: &AppHandle, typed: Option<Passphrase>) {
    let state = app.state::<AppState>();
    let settings = match Settings::load(state.settings_path.as_deref()) {
        Ok(s) => s,
        Err(e) => return settle(app, Phase::Failed(e.to_string())).await,
    };
    *state.window.lock().unwrap_or_else(PoisonError::into_inner) =
        Some((settings.window.clone(), settings.data_dir()));
    // The data directory is ours from here on, also while the window waits
    // for a passphrase: a command then talks to this app (and is told to
    // unlock it) instead of taking the keys for itself.
    let lock = match hold(&state, &settings.data_dir()) {
        Ok(lock) => lock,
        Err(e) => {
            tracing::error!("the backend could not start: {e:#}");
            return settle(app, Phase::Failed(format!("{e:#}"))).await;
        }
    };
    *state.alerts.lock().unwrap_or_else(PoisonError::into_inner) = AlertInbox::from_json(
        &std::fs::read_to_string(crate::alert_delivery::alerts_file(&settings.data_dir()))
            .unwrap_or_default(),
    );
    #[cfg(unix)]
    serve_control(app, &settings);
    let backend = match Backend::start_holding(&settings, Ask::Window(typed), lock).await {
        Ok(b) => Arc::new(b),
        Err(e) => {
            let phase = match needs_passphrase(&e, &settings) {
                Some(need) => Phase::Locked(need),
                None => {
                    tracing::error!("the backend could not start: {e:#}");
                    Phase::Failed(format!("{e:#}"))
                }
            };
            return settle(app, phase).await;
        }
    };
    running(app, backend).await;
}

/// The lock on `data_dir`, taken on the first start and kept across the
/// next ones (after a passphrase was typed).
fn hold(state: &AppState, data_dir: &Path) -> anyhow::Result<Arc<DirLock>> {
    let mut held = state.held.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((dir, lock)) = &*held
        && dir == data_dir
    {
        return Ok(Arc::clone(lock));
    }
    let lock = crate::backend::lock_data_dir(data_dir)?;
    *held = Some((data_dir.to_owned(), Arc::clone(&lock)));
    Ok(lock)
}

/// The control socket, once the data directory is ours; it answers with
/// whichever backend runs at the time (a network restart makes a new one).
#[cfg(unix)]
fn serve_control(app: &AppHandle, settings: &Settings) {
    let state = app.state::<AppState>();
    if state
        .serving
        .swap(true, std::sync::atomic::Ordering::SeqCst)
    {
        return;
    }
    match crate::listen::ControlSocket::bind(&settings.data_dir()) {
        Ok(socket) => {
            tracing::info!(path = %socket.path().display(), "control socket");
            let app = app.clone();
            let current = move || app.state::<AppState>().for_terminal();
            tauri::async_runtime::spawn(socket.serve(std::sync::Arc::new(current)));
        }
        // Commands then run on their own and find the data directory
        // locked: they say NodePair is running.
        Err(e) => {
            tracing::warn!("no control socket, `nodepair` commands cannot reach this app: {e}");
        }
    }
}

/// Shows `backend` running, and forwards its events to the window, the
/// tray and notifications until it stops.
async fn running(app: &AppHandle, backend: Arc<Backend>) {
    let mut events = backend.peer.events();
    // Weak: this task must not keep the backend alive after it stops.
    let weak = Arc::downgrade(&backend);
    // Managers unpaired while the app was not running (or from a
    // terminal) leave no alerts behind.
    let paired: Vec<nodepair_protocol::PublicKey> = backend
        .peer
        .counterparties()
        .await
        .iter()
        .map(|v| v.public_key)
        .collect();
    app.state::<AppState>()
        .alerts
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .retain(&paired);
    settle(app, Phase::Running(backend)).await;
    crate::health_watch::spawn(app.clone(), weak.clone());
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let mut notifier = Notifier::default();
        let mut online = crate::alert_delivery::Online::new();
        loop {
            match events.recv().await {
                Ok(event) => {
                    if matches!(&event, PeerEvent::Changed(v) if v.state == nodepair_protocol::NodeState::Online)
                    {
                        app.state::<AppState>().health_kick.notify_one();
                    }
                    if let Some(notice) = notifier.observe(&event) {
                        show(&app, &notice);
                    }
                    if let Some(backend) = weak.upgrade() {
                        crate::alert_delivery::alerts_event(&app, &backend, &event, &mut online);
                    }
                    let again = follows(&app, |f| f.observe(&event));
                    if let Some(backend) = weak.upgrade() {
                        follow_again(&app, &backend, again);
                    }
                    match &event {
                        PeerEvent::Stream { from, event } => forward(&app, *from, event),
                        _ => emit(&app).await,
                    }
                }
                Err(RecvError::Lagged(_)) => {
                    // Missed events: start the follows over from the
                    // managers as they are now.
                    if let Some(backend) = weak.upgrade() {
                        let views = backend.peer.counterparties().await;
                        let again = follows(&app, |f| f.resync(&views));
                        follow_again(&app, &backend, again);
                        crate::alert_delivery::alerts_resync(&app, &backend, &views, &mut online);
                    }
                    emit(&app).await;
                }
                Err(RecvError::Closed) => return,
            }
        }
    });
}

/// Applies `settings`' network: the node and the peer are stopped and
/// started again on it, with the keys already open; the window and the
/// control socket carry on.
///
/// # Errors
///
/// When NodePair is not running, or the new node cannot start (the old
/// one is stopped by then: the failure shows as the backend's).
pub(crate) async fn restart_network(app: &AppHandle, settings: &Settings) -> Result<(), AppError> {
    let state = app.state::<AppState>();
    let old = state.running()?;
    settle(app, Phase::Starting).await;
    old.stop().await;
    match old.restarted(settings).await {
        Ok(new) => {
            drop(old);
            running(app, Arc::new(new)).await;
            Ok(())
        }
        Err(e) => {
            // Back on the settings it ran with, so the app keeps working
            // and the person can try again.
            let message =
                format!("the Waku node could not start on the new network settings: {e:#}");
            match old.restarted(&old.settings).await {
                Ok(back) => {
                    drop(old);
                    running(app, Arc::new(back)).await;
                    Err(AppError::new(
                        ErrorKind::Failed,
                        format!("{message}; it runs on the previous ones"),
                    ))
                }
                Err(again) => {
                    let message = format!("{message}, nor on the previous ones: {again:#}");
                    settle(app, Phase::Failed(message.clone())).await;
                    Err(AppError::new(ErrorKind::Failed, message))
                }
            }
        }
    }
}

async fn settle(app: &AppHandle, phase: Phase) {
    app.state::<AppState>().set(phase);
    emit(app).await;
}

/// The managers view for an answer, numbered among the events'.
pub(crate) async fn current_view(state: &AppState) -> ManagersView {
    let mut last = state.emitting.lock().await;
    numbered(state, &mut last).await
}

/// Reads the view and gives it the next number; `last` is the lock's.
async fn numbered(state: &AppState, last: &mut u32) -> ManagersView {
    let mut view = view(state).await;
    *last = last.saturating_add(1);
    view.seq = *last;
    view
}

/// Sends the window and the tray the managers view.
pub(crate) async fn emit(app: &AppHandle) {
    let state = app.state::<AppState>();
    let mut last = state.emitting.lock().await;
    let view = numbered(&state, &mut last).await;
    crate::tray::show(app, &view);
    if let Err(e) = view.emit(app) {
        tracing::warn!("cannot tell the window: {e}");
    }
}

/// Hands an event a manager pushed to the window: only an event of a
/// known kind of stream, checked against its type and written in full.
fn forward(app: &AppHandle, from: nodepair_protocol::PublicKey, event: &Pushed) {
    let Some(stream) = api::stream(&event.stream) else {
        return tracing::debug!(
            "an event on {:?}, which is no stream NodePair knows",
            event.stream
        );
    };
    let body = match stream
        .event(&event.body)
        .and_then(|full| serde_json::from_slice(&full))
    {
        Ok(body) => body,
        Err(e) => {
            return tracing::warn!(
                "an event on {:?} that is not what it should be: {e}",
                event.stream
            );
        }
    };
    let event = ManagerEvent {
        key: from.to_string(),
        kind: stream.kind.to_owned(),
        stream: event.stream.to_string(),
        body: crate::views::Json(body),
    };
    if let Err(e) = event.emit(app) {
        tracing::warn!("cannot tell the window: {e}");
    }
}

/// Runs `f` on the window's follows.
fn follows<T>(app: &AppHandle, f: impl FnOnce(&mut Follows) -> T) -> T {
    f(&mut app
        .state::<AppState>()
        .follows
        .lock()
        .unwrap_or_else(PoisonError::into_inner))
}

/// Asks managers that came back for the follows the window had; a follow
/// a manager now refuses for good (not allowed, no such source) is not
/// asked again.
fn follow_again(app: &AppHandle, backend: &Arc<Backend>, again: Vec<crate::follows::Resend>) {
    use nodepair_protocol::Status;
    for (who, method, body) in again {
        let (app, backend) = (app.clone(), Arc::clone(backend));
        tauri::async_runtime::spawn(async move {
            match backend.peer.request(who, method, body.clone()).await {
                Ok(reply) if reply.status == Status::OK => {
                    tracing::debug!("{method} asked again of {}", who.fingerprint());
                }
                Ok(reply) => {
                    tracing::info!("{method} refused after reconnecting: {}", reply.status);
                    let for_good = [
                        Status::BAD_REQUEST,
                        Status::FORBIDDEN,
                        Status::UNKNOWN_METHOD,
                        Status::CAPABILITY_DISABLED,
                    ];
                    if for_good.contains(&reply.status) {
                        follows(&app, |f| f.refused(who, method, &body));
                    }
                }
                Err(e) => tracing::info!("{method} not asked again: {e}"),
            }
        });
    }
}

pub(crate) fn show(app: &AppHandle, notice: &Notice) {
    let shown = app
        .notification()
        .builder()
        .title(&notice.title)
        .body(&notice.body)
        .show();
    if let Err(e) = shown {
        // No notification service (a bare X session, a test): the window
        // shows the state anyway.
        tracing::info!("notification not shown ({e}): {}", notice.title);
    }
}

/// The window is asked to close: with a tray (and the setting on) it is
/// hidden and the app keeps watching; the first time, a notification says
/// so. Otherwise it closes, and the app with it.
pub fn closing(window: &tauri::Window, api: &tauri::CloseRequestApi) {
    let app = window.app_handle();
    let state = app.state::<AppState>();
    let read = state
        .window
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let keep = state.tray && read.as_ref().is_none_or(|(w, _)| w.keep_running_in_tray);
    if !keep {
        return;
    }
    api.prevent_close();
    if let Err(e) = window.hide() {
        tracing::warn!("cannot hide the window: {e}");
    }
    // Said once per data directory.
    if let Some((_, data)) = read {
        let told = data.join("told-about-tray");
        if !told.exists() {
            show(
                app,
                &Notice {
                    title: "NodePair is still running".into(),
                    body: "It keeps watching your managers from the tray and tells you when one goes offline. Quit it from the tray's menu.".into(),
                },
            );
            if let Err(e) = std::fs::write(&told, b"") {
                tracing::info!("cannot note that the tray was explained: {e}");
            }
        }
    }
}
