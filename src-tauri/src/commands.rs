//! What the window may ask the backend: each command the capability file grants, typed for TypeScript.

use crate::app_error::{AppError, ErrorKind};
use crate::gui::{self, AppState, PairingControl, Phase};
use crate::views::{Json, ManagerRow, ManagersView, PairingView, UnpairView};
use nodepair_keystore::Passphrase;
use nodepair_peer::{PairingPhase, PairingUpdate, Revocation};
use nodepair_protocol::api;
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
    Ok(gui::current_view(&state).await)
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
    Ok(gui::current_view(&state).await)
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
    gui::steer(
        &state.pairing,
        PairingControl::Confirm(matches),
        ("no pairing is under way", "the pairing has ended"),
    )
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

/// Asks the manager `key` for `method` with the JSON `request` and returns
/// its JSON answer. Every manager method goes through here; the window's
/// TypeScript types each call from the generated `ManagerMethods` map. A
/// follow that succeeded is asked for again whenever the manager's session
/// comes back, until its stop is asked (see [`crate::follows`]).
#[tauri::command]
#[specta::specta]
pub async fn ask_manager(
    state: State<'_, AppState>,
    key: String,
    method: String,
    request: Json,
) -> Result<Json, AppError> {
    let backend = state.running()?;
    let who = self::key(&key)?;
    let info = manager_method(&method)?;
    let body = serde_json::to_vec(&request.0)
        .map_err(|e| AppError::new(ErrorKind::Invalid, e.to_string()))?;
    let ticket = state
        .follows
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .asking(who, info, &body);
    let reply = backend.peer.request(who, info.name, body.clone()).await;
    let answered = matches!(&reply, Ok(r) if r.status == Status::OK);
    state
        .follows
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .answered(ticket, &body, answered);
    let reply = reply.map_err(|e| AppError::unanswered(&e))?;
    if reply.status != Status::OK {
        return Err(AppError::answered(reply.status, &reply.body));
    }
    // Only what the method's type allows reaches the window, in full.
    info.response(&reply.body)
        .and_then(|full| {
            serde_json::from_slice(&full).map_err(|source| api::BodyError {
                method: info.name,
                source,
            })
        })
        .map(Json)
        .map_err(|e| AppError::new(ErrorKind::Failed, e.to_string()))
}

/// The manager method called `name`, or why the window may not ask it.
fn manager_method(name: &str) -> Result<&'static api::MethodInfo, AppError> {
    api::method(name).ok_or_else(|| {
        AppError::new(
            ErrorKind::Invalid,
            format!("NodePair knows no manager method {name:?}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_manager_methods_may_be_asked_and_others_are_named() {
        assert_eq!(manager_method("host.health").unwrap().name, "host.health");
        let refused = manager_method("host.reboot").unwrap_err();
        assert_eq!(refused.kind, ErrorKind::Invalid);
        assert!(
            refused.message.contains("\"host.reboot\""),
            "{}",
            refused.message
        );
    }
}
