//! What the window may ask about the person's other computers: join from one already paired, add a new one, cut off a lost one.

use crate::app_error::{AppError, ErrorKind};
use crate::commands::unix_ms;
use crate::gui::{AppState, PairingControl};
use crate::views::{ComputerManager, ComputerView, CutOffView};
use nodepair_peer::{PairingHandle, PairingPhase, PairingUpdate};
use nodepair_protocol::PairingCode;
use std::sync::PoisonError;
use std::sync::atomic::{AtomicU32, Ordering};
use tauri::{AppHandle, State};
use tauri_specta::Event;
use zeroize::Zeroizing;

/// Numbers each run of adding a computer, so the window tells its events
/// from an earlier run's.
static RUNS: AtomicU32 = AtomicU32::new(1);

/// On the new computer: makes an introduction code and waits for the
/// person's other computer, already paired, to answer it. Progress comes
/// as [`ComputerView`] events; at `compare` the window asks whether the
/// other computer shows the same verification string and answers with
/// [`computer_confirm`]. It ends with the managers this computer was
/// handed, stored and being connected to. A run already under way is
/// cancelled first.
#[tauri::command]
#[specta::specta]
pub async fn join_start(
    app: AppHandle,
    state: State<'_, AppState>,
) -> Result<ComputerView, AppError> {
    let backend = state.running()?;
    let _one = state.computer_start.lock().await;
    cancel_previous(&state);
    let handle = backend
        .peer
        .offer_introduction()
        .await
        .map_err(|e| AppError::new(ErrorKind::Failed, e.to_string()))?;
    let code = Some(handle.code.to_display_string());
    Ok(follow(&app, &state, handle, true, code))
}

/// On a computer already paired: answers the introduction code the new
/// computer shows. Once both people compared, every manager online is
/// asked to admit the new computer with at most this app's grant; the
/// last [`ComputerView`] says what each did.
#[tauri::command]
#[specta::specta]
pub async fn add_computer_start(
    app: AppHandle,
    state: State<'_, AppState>,
    code: String,
) -> Result<ComputerView, AppError> {
    let code = Zeroizing::new(code);
    let backend = state.running()?;
    let code = PairingCode::parse(code.trim()).map_err(|e| {
        AppError::new(
            ErrorKind::Invalid,
            format!("that is not the code the new computer shows: {e}"),
        )
    })?;
    let _one = state.computer_start.lock().await;
    cancel_previous(&state);
    let handle = backend
        .peer
        .introduce(code)
        .await
        .map_err(|e| AppError::new(ErrorKind::Failed, e.to_string()))?;
    Ok(follow(&app, &state, handle, false, None))
}

/// The person's answer to "does the other computer show the same
/// verification string?": `false` stops it on both sides.
#[tauri::command]
#[specta::specta]
pub async fn computer_confirm(state: State<'_, AppState>, matches: bool) -> Result<(), AppError> {
    crate::gui::steer(
        &state.computer,
        PairingControl::Confirm(matches),
        (
            "no computer is being added",
            "adding the computer has ended",
        ),
    )
}

/// Stops adding a computer (the other computer, if it answered, is told);
/// `not_found` when none is under way.
#[tauri::command]
#[specta::specta]
pub async fn computer_cancel(state: State<'_, AppState>) -> Result<(), AppError> {
    if cancel_previous(&state) {
        Ok(())
    } else {
        Err(AppError::new(
            ErrorKind::NotFound,
            "no computer is being added",
        ))
    }
}

/// Cuts off the person's lost computer `who` (its name, key or
/// fingerprint) on every manager where it is of this app's line: those
/// online unpair it now, the others when they next connect.
#[tauri::command]
#[specta::specta]
pub async fn cut_off_computer(
    state: State<'_, AppState>,
    who: String,
) -> Result<CutOffView, AppError> {
    let backend = state.running()?;
    let who = who.trim();
    if who.is_empty() {
        return Err(AppError::new(
            ErrorKind::Invalid,
            "name the lost computer: its name, or its key's fingerprint",
        ));
    }
    if who.len() > nodepair_protocol::cut_off::MAX_WHO {
        return Err(AppError::new(
            ErrorKind::Invalid,
            format!(
                "a computer's name or key is at most {} bytes",
                nodepair_protocol::cut_off::MAX_WHO
            ),
        ));
    }
    let report = backend.peer.cut_off(who).await;
    Ok(CutOffView::of(&report))
}

/// Cancels the run under way, if any, and says whether there was one.
fn cancel_previous(state: &AppState) -> bool {
    let previous = state
        .computer
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    previous.is_some_and(|p| p.try_send(PairingControl::Cancel).is_ok())
}

/// Follows `handle` in the background, sending each step to the window;
/// returns the first view.
fn follow(
    app: &AppHandle,
    state: &AppState,
    mut handle: PairingHandle,
    joining: bool,
    code: Option<String>,
) -> ComputerView {
    let ttl = nodepair_protocol::PairingConfig::default().ttl;
    let mut view = ComputerView {
        id: RUNS.fetch_add(1, Ordering::Relaxed),
        joining,
        phase: PairingPhase::Waiting,
        step: String::new(),
        code,
        expires_at_ms: unix_ms() + u64::try_from(ttl.as_millis()).unwrap_or(0),
        verification: None,
        computer: None,
        fingerprint: None,
        managers: Vec::new(),
        summary: None,
        error: None,
    };
    view.enter(PairingPhase::Waiting);
    let (control, mut controls) = tokio::sync::mpsc::channel(4);
    *state
        .computer
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = Some(control);
    let first = view.clone();
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        // Once both confirmed, the managers are being asked (or waited
        // for): the run goes on to its report whatever the window does.
        let mut met = false;
        loop {
            let update = tokio::select! {
                update = handle.next() => update,
                control = controls.recv(), if !met => match control {
                    Some(PairingControl::Confirm(matches)) => {
                        handle.confirm(matches).await;
                        continue;
                    }
                    Some(PairingControl::Cancel) | None => {
                        handle.cancel().await;
                        view.enter(PairingPhase::Cancelled);
                        let _ = view.emit(&app);
                        return;
                    }
                },
            };
            let Some(update) = update else {
                // Ended without a last word (the app's network restarted,
                // the other computer went away): the window is told, so the
                // card does not wait for ever.
                view.enter(PairingPhase::Failed);
                view.error = Some(if met {
                    "the introduction ended before it was finished; add the computer again".into()
                } else {
                    "adding the computer stopped before both computers confirmed; try again".into()
                });
                let _ = view.emit(&app);
                return;
            };
            let Some(phase) = update.phase() else {
                continue;
            };
            view.enter(phase);
            let mut phase = phase;
            match update {
                PairingUpdate::Compare {
                    counterparty,
                    verification,
                } => {
                    view.computer = Some(nodepair_protocol::hello::printable(
                        &counterparty.display_name,
                        64,
                    ));
                    view.fingerprint = Some(counterparty.static_key.fingerprint());
                    view.verification = Some(verification);
                }
                PairingUpdate::Met { .. } => met = true,
                PairingUpdate::Introduced(report) => {
                    view.managers = report
                        .managers
                        .iter()
                        .map(ComputerManager::of_outcome)
                        .collect();
                    let computer = &report.computer;
                    match &report.handed {
                        Err(why) => {
                            phase = PairingPhase::Failed;
                            view.enter(phase);
                            view.error = Some(format!(
                                "{} of the managers admitted {computer}, but it did not take them: {why}. Add it again.",
                                report.introduced()
                            ));
                        }
                        Ok(_) if report.managers.is_empty() => {
                            view.summary = Some(format!(
                                "This app is paired with no manager, so {computer} was introduced to none."
                            ));
                        }
                        Ok(_) if report.introduced() == 0 => {
                            view.step = "no manager admitted the new computer".into();
                            view.summary = Some(format!(
                                "No manager admitted {computer}: it reaches none of your {} managers. See why below; a manager offline now can be asked by adding the computer again.",
                                report.managers.len()
                            ));
                        }
                        Ok(_) => {
                            view.summary = Some(format!(
                                "{computer} now reaches {} of your {} managers.",
                                report.introduced(),
                                report.managers.len()
                            ));
                        }
                    }
                }
                PairingUpdate::Joined { via, managers } => {
                    view.managers = managers.iter().map(ComputerManager::of_joined).collect();
                    if managers.is_empty() {
                        view.step = "no manager admitted this computer".into();
                    }
                    view.summary = Some(if managers.is_empty() {
                        format!(
                            "{via} introduced this computer, but no manager admitted it (their operators may not accept introductions; {via} shows which). Nothing was stored."
                        )
                    } else {
                        format!(
                            "{via} introduced this computer to {} {}; it is connecting to them.",
                            managers.len(),
                            if managers.len() == 1 {
                                "manager"
                            } else {
                                "managers"
                            }
                        )
                    });
                }
                PairingUpdate::Failed(why) => view.error = Some(why.to_string()),
                _ => {}
            }
            let done = matches!(
                phase,
                PairingPhase::Failed | PairingPhase::Cancelled | PairingPhase::Introduced
            );
            let _ = view.emit(&app);
            if done {
                return;
            }
        }
    });
    first
}
