//! What the window may ask the backend: each command the capability file grants, typed for TypeScript.

use crate::app_error::{AppError, ErrorKind};
use crate::gui::{self, AppState, PairingControl, Phase};
use crate::views::{HostHealth, ManagerRow, ManagersView, PairingView, UnpairView};
use nodepair_keystore::Passphrase;
use nodepair_peer::{PairingPhase, PairingUpdate, Revocation};
use nodepair_protocol::api::{self, Method, host::Health};
use nodepair_protocol::{PublicKey, Role, Status};
use std::sync::PoisonError;
use tauri::{AppHandle, State};
use tauri_specta::Event;
use zeroize::Zeroizing;

pub(crate) fn unix_ms() -> u64 {
    nodepair_peer::Clock::system().unix_millis()
}

fn key(hex: &str) -> Result<PublicKey, AppError> {
    hex.parse().map_err(|_| {
        AppError::new(
            ErrorKind::Invalid,
            format!("{hex:?} is not a manager's key"),
        )
    })
}

/// The paired managers and where each stands.
#[tauri::command]
#[specta::specta]
pub async fn managers(state: State<'_, AppState>) -> Result<ManagersView, AppError> {
    Ok(gui::view(&state).await)
}

/// Opens the vault with a passphrase typed in the window (or creates it
/// with one chosen there) and starts NodePair; the outcome comes as a
/// managers view, `locked` again with a reason if the passphrase is wrong.
#[tauri::command]
#[specta::specta]
pub async fn unlock(
    app: AppHandle,
    state: State<'_, AppState>,
    passphrase: String,
) -> Result<ManagersView, AppError> {
    let passphrase = Zeroizing::new(passphrase);
    if !matches!(state.phase(), Phase::Locked(_)) {
        return Err(AppError::new(
            ErrorKind::Invalid,
            "NodePair's keys are not locked",
        ));
    }
    gui::launch(&app, Some(Passphrase::new(passphrase.as_bytes().to_vec()))).await;
    Ok(gui::view(&state).await)
}

/// Makes a new pairing code and waits for a manager to answer it; progress
/// comes as [`PairingView`] events. When a manager answered, the phase is
/// `compare`: the window asks whether the server shows the same
/// verification string and answers with [`pair_confirm`]; nothing is
/// stored before that. A pairing already under way is cancelled first.
#[tauri::command]
#[specta::specta]
pub async fn pair_start(
    app: AppHandle,
    state: State<'_, AppState>,
) -> Result<PairingView, AppError> {
    let backend = state.running()?;
    if let Some(previous) = state
        .pairing
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()
    {
        let _ = previous.try_send(PairingControl::Cancel);
    }
    let mut handle = backend
        .peer
        .offer_pairing()
        .await
        .map_err(|e| AppError::new(ErrorKind::Failed, e.to_string()))?;
    let ttl = nodepair_protocol::PairingConfig::default().ttl;
    let code = handle.code.to_display_string();
    let qr_svg = qrcode::QrCode::new(handle.code.qr_payload().as_bytes())
        .map(|qr| {
            qr.render::<qrcode::render::svg::Color<'_>>()
                .min_dimensions(200, 200)
                .build()
        })
        .unwrap_or_default();
    let expires_at_ms = unix_ms() + u64::try_from(ttl.as_millis()).unwrap_or(0);
    let mut view = PairingView {
        phase: PairingPhase::Waiting,
        step: PairingPhase::Waiting.describe(Role::App).to_owned(),
        command: format!("nodepair-manager pair {code}"),
        code,
        qr_svg,
        expires_at_ms,
        verification: None,
        manager: None,
        fingerprint: None,
        error: None,
    };
    let (control, mut controls) = tokio::sync::mpsc::channel(4);
    *state.pairing.lock().unwrap_or_else(PoisonError::into_inner) = Some(control);
    let first = view.clone();
    tauri::async_runtime::spawn(async move {
        // Once paired, the runtime still watches the code for a few seconds:
        // a second answer then takes the pairing back, and the person is
        // told. Closing the card (or a new code) stops only this task.
        let mut paired = false;
        loop {
            let update = tokio::select! {
                update = handle.next() => update,
                control = controls.recv() => match control {
                    Some(PairingControl::Confirm(matches)) => {
                        handle.confirm(matches).await;
                        continue;
                    }
                    Some(PairingControl::Cancel) | None if paired => return,
                    Some(PairingControl::Cancel) | None => {
                        handle.cancel().await;
                        view.enter(PairingPhase::Cancelled);
                        let _ = view.emit(&app);
                        return;
                    }
                },
            };
            let Some(update) = update else { return };
            let Some(phase) = update.phase() else {
                continue;
            };
            view.enter(phase);
            match update {
                PairingUpdate::Compare {
                    counterparty,
                    verification,
                } => {
                    view.manager = Some(nodepair_protocol::hello::printable(
                        &counterparty.display_name,
                        64,
                    ));
                    view.fingerprint = Some(counterparty.static_key.fingerprint());
                    view.verification = Some(verification);
                }
                PairingUpdate::Paired {
                    counterparty,
                    verification,
                } => {
                    view.manager = Some(counterparty.display_name);
                    view.verification = Some(verification);
                    paired = true;
                }
                PairingUpdate::Failed(why) => view.error = Some(why.to_string()),
                _ => {}
            }
            let done = matches!(phase, PairingPhase::Failed | PairingPhase::Cancelled);
            let _ = view.emit(&app);
            if done {
                return;
            }
        }
    });
    Ok(first)
}

/// Stops the pairing under way (the manager, if it answered, is told).
#[tauri::command]
#[specta::specta]
pub async fn pair_cancel(state: State<'_, AppState>) -> Result<(), AppError> {
    if let Some(control) = state
        .pairing
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()
    {
        let _ = control.try_send(PairingControl::Cancel);
    }
    Ok(())
}

/// The person's answer to "does the server show the same verification
/// string?": `true` lets the pairing finish (once the server's side
/// confirms too), `false` stops it on both sides.
#[tauri::command]
#[specta::specta]
pub async fn pair_confirm(state: State<'_, AppState>, matches: bool) -> Result<(), AppError> {
    let control = state
        .pairing
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
        .ok_or_else(|| AppError::new(ErrorKind::NotFound, "no pairing is under way"))?;
    control
        .try_send(PairingControl::Confirm(matches))
        .map_err(|_| AppError::new(ErrorKind::NotFound, "the pairing has ended"))
}

/// Names a manager on this side only; `null` or a blank name shows its own
/// name again.
#[tauri::command]
#[specta::specta]
pub async fn rename_manager(
    state: State<'_, AppState>,
    key: String,
    name: Option<String>,
) -> Result<ManagerRow, AppError> {
    let backend = state.running()?;
    let view = backend
        .peer
        .rename(self::key(&key)?, name)
        .await
        .map_err(|e| {
            let kind = match e {
                nodepair_peer::RenameError::Invalid(_) => ErrorKind::Invalid,
                nodepair_peer::RenameError::NotPaired => ErrorKind::NotFound,
                _ => ErrorKind::Failed,
            };
            AppError::new(kind, e.to_string())
        })?;
    Ok(ManagerRow::from_view(&view))
}

/// Unpairs a manager: it is forgotten here at once and told now, or when it
/// next connects.
#[tauri::command]
#[specta::specta]
pub async fn unpair_manager(
    state: State<'_, AppState>,
    key: String,
) -> Result<UnpairView, AppError> {
    let backend = state.running()?;
    let who = self::key(&key)?;
    let name = backend
        .peer
        .counterparties()
        .await
        .into_iter()
        .find(|v| v.public_key == who)
        .map(|v| v.name().to_owned())
        .ok_or_else(|| {
            AppError::new(ErrorKind::NotFound, "that manager is not paired (any more)")
        })?;
    match backend.peer.revoke(who).await {
        Revocation::Told => Ok(UnpairView {
            told: true,
            message: format!("Unpaired {name}; it was told and forgot this app too."),
        }),
        Revocation::WillBeTold => Ok(UnpairView {
            told: false,
            message: format!(
                "Unpaired {name}; it is offline and will be told when it next connects."
            ),
        }),
        Revocation::NotPaired => Err(AppError::new(
            ErrorKind::NotFound,
            format!("{name} is no longer paired"),
        )),
        Revocation::Failed(e) => Err(AppError::new(
            ErrorKind::Failed,
            format!("Could not unpair {name}: {e}"),
        )),
    }
}

/// Which manager to ask for host health, and from when on.
#[derive(Clone, Debug, serde::Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct HealthQuery {
    /// The manager's key.
    pub key: String,
    /// Only samples after this, Unix milliseconds (0: all it keeps).
    #[specta(type = specta_typescript::Number)]
    pub samples_after_ms: u64,
}

/// Asks a manager for its host's health: the state now, and the samples
/// taken after `query.samplesAfterMs`.
#[tauri::command]
#[specta::specta]
pub async fn manager_health(
    state: State<'_, AppState>,
    query: HealthQuery,
) -> Result<HostHealth, AppError> {
    let request = api::host::HealthRequest {
        samples_after_ms: query.samples_after_ms,
    };
    let health = ask::<Health>(&state, &query.key, &request).await?;
    Ok(HostHealth::new(health, unix_ms()))
}

/// Asks a manager to push its host's health about every `interval_ms` (it
/// bounds the rate); each push comes as a
/// [`HostUpdate`](crate::views::HostUpdate) event. Following again changes
/// the rate.
#[tauri::command]
#[specta::specta]
pub async fn manager_host_follow(
    state: State<'_, AppState>,
    key: String,
    interval_ms: u32,
) -> Result<api::host::HostFollowResponse, AppError> {
    use api::host::{HostFollow, HostFollowRequest};
    let request = HostFollowRequest {
        interval_ms: interval_ms.into(),
    };
    ask::<HostFollow>(&state, &key, &request).await
}

/// Stops a manager's pushes of its host's health.
#[tauri::command]
#[specta::specta]
pub async fn manager_host_unfollow(
    state: State<'_, AppState>,
    key: String,
) -> Result<(), AppError> {
    ask::<api::host::HostUnfollow>(&state, &key, &api::Empty {})
        .await
        .map(|_| ())
}

/// Asks a manager for its Ethereum node's state (`eth.status`): each part
/// read, or why it could not be.
#[tauri::command]
#[specta::specta]
pub async fn manager_eth(
    state: State<'_, AppState>,
    key: String,
) -> Result<nodepair_protocol::api::ethereum::EthStatusResponse, AppError> {
    use nodepair_protocol::api::ethereum::EthStatus;
    ask::<EthStatus>(&state, &key, &api::Empty {}).await
}

/// Asks a manager for the state of the services its operator listed.
#[tauri::command]
#[specta::specta]
pub async fn manager_services(
    state: State<'_, AppState>,
    key: String,
) -> Result<nodepair_protocol::api::services::ServicesResponse, AppError> {
    use nodepair_protocol::api::services::ServicesList;
    ask::<ServicesList>(&state, &key, &api::Empty {}).await
}

/// Asks a manager to start, stop or restart one of its services; its
/// refusal (not allowed, failed, timed out) comes back as the error.
#[tauri::command]
#[specta::specta]
pub async fn manager_service_control(
    state: State<'_, AppState>,
    key: String,
    unit: String,
    action: nodepair_protocol::api::services::Action,
) -> Result<nodepair_protocol::api::services::Service, AppError> {
    use nodepair_protocol::api::services::{ControlRequest, ServicesControl};
    ask::<ServicesControl>(&state, &key, &ControlRequest { unit, action }).await
}

/// Sends `M` to the manager `key` and decodes its answer; a non-200 answer's
/// sentence is the error.
async fn ask<M: Method>(
    state: &AppState,
    key: &str,
    request: &M::Request,
) -> Result<M::Response, AppError> {
    let backend = state.running()?;
    let reply = backend
        .peer
        .request(self::key(key)?, M::NAME, api::encode(request))
        .await
        .map_err(|e| AppError::unanswered(&e))?;
    if reply.status != Status::OK {
        return Err(AppError::answered(reply.status, &reply.body));
    }
    api::decode_response::<M>(&reply.body)
        .map_err(|e| AppError::new(ErrorKind::Failed, e.to_string()))
}

/// The logs a manager shares, and its follow budget.
#[tauri::command]
#[specta::specta]
pub async fn manager_logs(
    state: State<'_, AppState>,
    key: String,
) -> Result<nodepair_protocol::api::logs::SourcesResponse, AppError> {
    ask::<nodepair_protocol::api::logs::LogsSources>(&state, &key, &api::Empty {}).await
}

/// The last `lines` lines of one of a manager's logs.
#[tauri::command]
#[specta::specta]
pub async fn manager_log_tail(
    state: State<'_, AppState>,
    key: String,
    source: String,
    lines: u32,
) -> Result<nodepair_protocol::api::logs::Lines, AppError> {
    use nodepair_protocol::api::logs::{LogsTail, TailRequest};
    ask::<LogsTail>(
        &state,
        &key,
        &TailRequest {
            source,
            lines,
            skip: 0,
        },
    )
    .await
}

/// Starts following one of a manager's logs; new lines come as
/// [`LogLines`](crate::views::LogLines) events.
#[tauri::command]
#[specta::specta]
pub async fn manager_log_follow(
    state: State<'_, AppState>,
    key: String,
    source: String,
) -> Result<nodepair_protocol::api::logs::FollowResponse, AppError> {
    use nodepair_protocol::api::logs::{LogsFollow, SourceRequest};
    ask::<LogsFollow>(&state, &key, &SourceRequest { source }).await
}

/// Stops following one of a manager's logs.
#[tauri::command]
#[specta::specta]
pub async fn manager_log_unfollow(
    state: State<'_, AppState>,
    key: String,
    source: String,
) -> Result<(), AppError> {
    use nodepair_protocol::api::logs::{LogsUnfollow, SourceRequest};
    ask::<LogsUnfollow>(&state, &key, &SourceRequest { source })
        .await
        .map(|_| ())
}
