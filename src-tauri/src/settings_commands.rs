//! What the window's settings page may ask: read the settings, keep running in the tray, start at login, the Waku network and how it is going, this computer's key and its rotation.

use crate::app_error::{AppError, ErrorKind};
use crate::gui::{self, AppState, Phase};
use crate::settings::Settings;
use crate::settings_file::{self, Change};
use crate::status::{self, NetworkStatus};
use serde::{Deserialize, Serialize};
use std::sync::PoisonError;
use tauri::{AppHandle, State};

/// The settings the window can change, and whether it can.
#[derive(Clone, Debug, PartialEq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct SettingsView {
    /// The file they are kept in.
    pub settings_file: String,
    /// Whether there is a tray to keep running in.
    pub tray: bool,
    /// Closing the window keeps NodePair running in the tray.
    pub keep_running_in_tray: bool,
    /// NodePair starts (hidden, in the tray) when the person logs in.
    pub start_at_login: bool,
    /// The network settings as the file has them.
    pub network: NetworkForm,
}

/// The network settings the window edits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct NetworkForm {
    /// `waku-network`, `self-hosted` or `local`.
    pub preset: String,
    /// Waku peers to dial, as multiaddrs.
    pub bootstrap: Vec<String>,
    /// The cluster, if not the preset's.
    pub cluster: Option<u16>,
    /// The shard, if not 0.
    pub shard: Option<u16>,
}

impl NetworkForm {
    fn of(settings: &Settings) -> Self {
        let n = &settings.network;
        NetworkForm {
            preset: n.preset.as_str().to_owned(),
            bootstrap: n.bootstrap.iter().map(ToString::to_string).collect(),
            cluster: n.cluster,
            shard: n.shard,
        }
    }
}

fn settings_path(state: &AppState) -> std::path::PathBuf {
    state
        .settings_path
        .clone()
        .unwrap_or_else(Settings::default_path)
}

fn load(state: &AppState) -> Result<Settings, AppError> {
    Settings::load(state.settings_path.as_deref())
        .map_err(|e| AppError::new(ErrorKind::Failed, e.to_string()))
}

fn view(app: &AppHandle, state: &AppState, settings: &Settings) -> SettingsView {
    SettingsView {
        settings_file: settings_path(state).display().to_string(),
        tray: state.tray,
        keep_running_in_tray: settings.window.keep_running_in_tray,
        start_at_login: starts_at_login(app),
        network: NetworkForm::of(settings),
    }
}

fn write(state: &AppState, change: &Change) -> Result<Settings, AppError> {
    let settings = settings_file::apply(&settings_path(state), change).map_err(|e| {
        let kind = match e {
            settings_file::ChangeError::Invalid(_) => ErrorKind::Invalid,
            _ => ErrorKind::Failed,
        };
        AppError::new(kind, e.to_string())
    })?;
    *state.window.lock().unwrap_or_else(PoisonError::into_inner) =
        Some((settings.window.clone(), settings.data_dir()));
    Ok(settings)
}

/// The settings the window can change.
#[tauri::command]
#[specta::specta]
pub async fn app_settings(
    app: AppHandle,
    state: State<'_, AppState>,
) -> Result<SettingsView, AppError> {
    let settings = load(&state)?;
    Ok(view(&app, &state, &settings))
}

/// Whether closing the window keeps NodePair running in the tray.
#[tauri::command]
#[specta::specta]
pub async fn set_keep_in_tray(
    app: AppHandle,
    state: State<'_, AppState>,
    on: bool,
) -> Result<SettingsView, AppError> {
    let settings = write(&state, &Change::KeepRunningInTray(on))?;
    Ok(view(&app, &state, &settings))
}

/// Starts NodePair at login (hidden, in the tray), or no longer: the
/// platform's own autostart entry is written or removed.
#[tauri::command]
#[specta::specta]
pub async fn set_start_at_login(
    app: AppHandle,
    state: State<'_, AppState>,
    on: bool,
) -> Result<SettingsView, AppError> {
    start_at_login(&app, &state, on).map_err(|e| {
        AppError::new(
            ErrorKind::Failed,
            format!("cannot change starting at login: {e}"),
        )
    })?;
    let settings = load(&state)?;
    Ok(view(&app, &state, &settings))
}

/// Writes the network settings (checked as at start first: nothing is
/// written if they cannot work) and restarts the Waku node on them; the
/// app, its keys and the window stay.
#[tauri::command]
#[specta::specta]
pub async fn set_network(
    app: AppHandle,
    state: State<'_, AppState>,
    network: NetworkForm,
) -> Result<SettingsView, AppError> {
    let change = Change::Network {
        preset: network.preset,
        bootstrap: network
            .bootstrap
            .into_iter()
            .map(|b| b.trim().to_owned())
            .filter(|b| !b.is_empty())
            .collect(),
        cluster: network.cluster,
        shard: network.shard,
    };
    // One change at a time: a second waits until the first has restarted
    // the node, then applies its own.
    let _one = state.network_change.lock().await;
    let running = matches!(state.phase(), Phase::Running(_));
    let settings = write(&state, &change)?;
    if running {
        gui::restart_network(&app, &settings).await?;
    }
    Ok(view(&app, &state, &settings))
}

/// The app's Waku network now: settings, peers, service nodes, whether it
/// is reached.
#[tauri::command]
#[specta::specta]
pub async fn network_status(state: State<'_, AppState>) -> Result<NetworkView, AppError> {
    let backend = state.running()?;
    Ok(NetworkView {
        status: status::network_running(&backend.settings, &backend).await,
        running_for_ms: backend
            .started
            .elapsed()
            .as_millis()
            .try_into()
            .unwrap_or(u32::MAX),
    })
}

/// The network panel's view.
#[derive(Clone, Debug, PartialEq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct NetworkView {
    /// Settings, peers, reach.
    pub status: NetworkStatus,
    /// How long the node has been running, to tell "still looking" from
    /// "nothing found".
    pub running_for_ms: u32,
}

#[cfg(target_os = "linux")]
fn starts_at_login(_app: &AppHandle) -> bool {
    crate::autostart::Autostart::for_user().is_enabled()
}

#[cfg(target_os = "linux")]
fn start_at_login(_app: &AppHandle, state: &AppState, on: bool) -> Result<(), String> {
    let entry = crate::autostart::Autostart::for_user();
    let done = if on {
        let program = std::env::current_exe().map_err(|e| e.to_string())?;
        entry.enable(&program, state.settings_path.as_deref())
    } else {
        entry.disable()
    };
    done.map_err(|e| format!("{}: {e}", entry.file().display()))
}

#[cfg(not(target_os = "linux"))]
fn starts_at_login(app: &AppHandle) -> bool {
    use tauri_plugin_autostart::ManagerExt;
    app.autolaunch().is_enabled().unwrap_or(false)
}

#[cfg(not(target_os = "linux"))]
fn start_at_login(app: &AppHandle, _state: &AppState, on: bool) -> Result<(), String> {
    use tauri_plugin_autostart::ManagerExt;
    let launcher = app.autolaunch();
    let done = if on {
        launcher.enable()
    } else {
        launcher.disable()
    };
    done.map_err(|e| e.to_string())
}

/// This computer's key, and its rotation if one is under way.
#[derive(Clone, Debug, PartialEq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct KeyView {
    /// The key managers know this computer by, as a fingerprint.
    pub fingerprint: String,
    /// A rotation under way (or just finished by the last call).
    pub rotation: Option<RotationPanel>,
}

/// A key rotation as the settings page shows it.
#[derive(Clone, Debug, PartialEq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct RotationPanel {
    /// The key managers move to, as a fingerprint.
    pub new_fingerprint: String,
    /// The managers that moved, by name.
    pub moved: Vec<String>,
    /// Those that have not yet (offline ones are told when they connect).
    pub waiting: Vec<String>,
    /// When the old key is retired even if some have not moved, Unix ms.
    #[specta(type = specta_typescript::Number)]
    pub grace_ends_at_ms: u64,
    /// Whether the old key is retired already.
    pub finished: bool,
}

impl RotationPanel {
    fn of(view: &nodepair_peer::RotationView) -> Self {
        let report = nodepair_peer::RotationReport::from_view(view);
        RotationPanel {
            new_fingerprint: report.new_fingerprint,
            moved: report.moved,
            waiting: report.waiting,
            grace_ends_at_ms: report.grace_ends_at.saturating_mul(1000),
            finished: report.finished,
        }
    }
}

/// This computer's key and where its rotation stands.
#[tauri::command]
#[specta::specta]
pub async fn key_status(state: State<'_, AppState>) -> Result<KeyView, AppError> {
    let backend = state.running()?;
    let rotation = backend.peer.rotation().await;
    Ok(KeyView {
        fingerprint: backend.peer.public_key().fingerprint(),
        rotation: rotation.as_ref().map(RotationPanel::of),
    })
}

/// Begins a key rotation: a new key, and every manager told (offline ones
/// when they next connect). [`key_status`] follows it.
#[tauri::command]
#[specta::specta]
pub async fn rotate_key(state: State<'_, AppState>) -> Result<KeyView, AppError> {
    let backend = state.running()?;
    let started = backend.peer.rotate_key().await.map_err(|e| {
        AppError::new(
            ErrorKind::Failed,
            format!("no key rotation was started: {e}"),
        )
    })?;
    Ok(KeyView {
        fingerprint: backend.peer.public_key().fingerprint(),
        rotation: Some(RotationPanel::of(&started)),
    })
}
