//! Delivering each manager's alerts to this app: following them when a manager comes online, catching up on what was missed, keeping what was seen, and notifying.

use crate::alert_inbox::{AlertInbox, AlertNotice, PageFacts};
use crate::backend::Backend;
use crate::gui::{AppState, emit, show, unix_ms};
use crate::notify::Notice;
use nodepair_peer::PeerEvent;
use nodepair_protocol::api;
use nodepair_protocol::api::alerts::MAX_PAGE;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError};
use tauri::{AppHandle, Manager};

/// Most pages one catch-up reads: a manager's whole log (5000 changes,
/// [`MAX_PAGE`] a page) twice over, since a log that lost changes is read
/// again from its start.
const MAX_PAGES: usize = 2 * 5000 / MAX_PAGE + 4;

/// Where the alerts seen are kept.
pub(crate) fn alerts_file(data_dir: &Path) -> PathBuf {
    data_dir.join("alerts-seen.json")
}

/// The alerts seen, as kept in `data_dir` (the running app keeps the file
/// up to date): open ones, or `all`, with their managers.
pub fn seen(data_dir: &Path, all: bool) -> Vec<crate::control::SeenAlert> {
    let inbox =
        AlertInbox::from_json(&std::fs::read_to_string(alerts_file(data_dir)).unwrap_or_default());
    inbox
        .all()
        .into_iter()
        .filter(|(_, _, alert)| all || alert.is_open())
        .map(|(key, name, alert)| crate::control::SeenAlert {
            manager: name.to_owned(),
            key,
            alert: alert.clone(),
        })
        .collect()
}

/// What `event` means for the alerts: a manager offering them that came
/// online is followed and caught up on; a change it pushed is taken, in
/// the order pushed (here, not in a task of its own); one unpaired is
/// forgotten. `online` holds the managers online, by their names and how
/// many times their session keys changed: a new session (the manager may
/// have restarted, and forgotten its followers) is followed again.
pub(crate) fn alerts_event(
    app: &AppHandle,
    backend: &Arc<Backend>,
    event: &PeerEvent,
    online: &mut Online,
) {
    use nodepair_protocol::NodeState;
    match event {
        PeerEvent::Changed(view) if view.state == NodeState::Online => {
            let name = view.name().to_owned();
            let offers = view.capabilities.iter().any(|c| c == "alerts");
            let before = online.insert(view.public_key, (name.clone(), view.key_changes));
            if before.map(|(_, keys)| keys) != Some(view.key_changes) && offers {
                // Pushes wait from now on: none can slip in before the
                // list. A catch-up under way is taken over.
                let mut ticket = 0;
                alerts_changed(app, backend, |inbox| {
                    ticket = inbox.catching_up(view.public_key);
                    Vec::new()
                });
                catch_up(
                    app,
                    Arc::clone(backend),
                    view.public_key,
                    name,
                    ticket,
                    true,
                );
            }
        }
        PeerEvent::Changed(view) => {
            online.remove(&view.public_key);
        }
        PeerEvent::Removed { public_key, .. } => {
            online.remove(public_key);
            alerts_changed(app, backend, |inbox| {
                inbox.forget(*public_key);
                Vec::new()
            });
        }
        PeerEvent::Moved { from, to } => {
            online.remove(from);
            alerts_changed(app, backend, |inbox| {
                inbox.moved(*from, to.public_key);
                Vec::new()
            });
        }
        PeerEvent::Stream { from, event }
            if event.stream == nodepair_protocol::api::alerts::STREAM =>
        {
            let Ok(change) = serde_json::from_slice(&event.body) else {
                return tracing::warn!(
                    "an alert change that is not one, from {}",
                    from.fingerprint()
                );
            };
            let name = online
                .get(from)
                .map_or_else(|| from.fingerprint(), |(name, _)| name.clone());
            let mut missed = None;
            alerts_changed(app, backend, |inbox| {
                let (notices, gap) = inbox.pushed(*from, &name, change, unix_ms());
                missed = gap.then(|| inbox.ticket(*from));
                notices
            });
            if let Some(ticket) = missed {
                catch_up(app, Arc::clone(backend), *from, name, ticket, false);
            }
            let app = app.clone();
            tauri::async_runtime::spawn(async move { emit(&app).await });
        }
        PeerEvent::Stream { .. } => {}
    }
}

/// The managers online, by key: their names and how many times their
/// session keys changed.
pub(crate) type Online = std::collections::HashMap<nodepair_protocol::PublicKey, (String, u64)>;

/// Events were missed: `online` is rebuilt from the managers as they are
/// now, and each online one offering alerts is followed and caught up on
/// again (asking twice does no harm; missing a return would).
pub(crate) fn alerts_resync(
    app: &AppHandle,
    backend: &Arc<Backend>,
    views: &[nodepair_peer::CounterpartyView],
    online: &mut Online,
) {
    online.clear();
    // An unpaired event among those missed: its alerts go.
    let paired: Vec<nodepair_protocol::PublicKey> = views.iter().map(|v| v.public_key).collect();
    alerts_changed(app, backend, |inbox| {
        inbox.retain(&paired);
        Vec::new()
    });
    for view in views {
        alerts_event(app, backend, &PeerEvent::Changed(view.clone()), online);
    }
}

/// Applies `change` to the inbox, keeps it, and shows what it says to tell.
fn alerts_changed(
    app: &AppHandle,
    backend: &Backend,
    change: impl FnOnce(&mut AlertInbox) -> Vec<AlertNotice>,
) {
    let state = app.state::<AppState>();
    let (notices, json) = {
        let mut inbox = state.alerts.lock().unwrap_or_else(PoisonError::into_inner);
        let notices = change(&mut inbox);
        (notices, inbox.to_json())
    };
    let path = alerts_file(&backend.settings.data_dir());
    let next = path.with_extension("json.new");
    if let Err(e) = std::fs::write(&next, json).and_then(|()| std::fs::rename(&next, &path)) {
        tracing::warn!("cannot keep the alerts seen in {}: {e}", path.display());
    }
    for notice in notices {
        show(
            app,
            &Notice {
                title: notice.title,
                body: notice.body,
            },
        );
    }
}

/// Follows `who`'s alerts (when `follow`), then takes every change after
/// the last one seen. The inbox is already catching up on `who`, as the
/// catch-up `ticket`; one begun later takes over, and this one stops.
fn catch_up(
    app: &AppHandle,
    backend: Arc<Backend>,
    who: nodepair_protocol::PublicKey,
    name: String,
    ticket: u64,
    follow: bool,
) {
    use nodepair_protocol::Status;
    use nodepair_protocol::api::alerts::{AlertsFollow, AlertsList, AlertsListRequest};
    use nodepair_protocol::api::{Empty, Method};
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        // A follow that fails (no answer in time) is asked again while the
        // manager stays online: 5, 10, 20, 40 s later.
        let mut wait = std::time::Duration::from_secs(5);
        for attempt in 0..5 {
            if !follow {
                break;
            }
            let followed = backend
                .peer
                .request(who, AlertsFollow::NAME, api::encode(&Empty {}))
                .await;
            let again = match &followed {
                Ok(r) if r.status == Status::OK => break,
                // Busy: asked again.
                Ok(r) if r.status == Status::RATE_LIMITED => true,
                // Refused for good (not allowed, not offered): not asked again.
                Ok(r) => {
                    tracing::info!("alerts not followed on {}: {}", who.fingerprint(), r.status);
                    false
                }
                Err(e) => {
                    tracing::info!("alerts not followed on {} yet: {e}", who.fingerprint());
                    true
                }
            };
            if !again || attempt == 4 {
                break;
            }
            tokio::time::sleep(wait).await;
            wait *= 2;
            let still =
                backend.peer.counterparties().await.iter().any(|v| {
                    v.public_key == who && v.state == nodepair_protocol::NodeState::Online
                });
            if !still {
                break;
            }
        }
        let mut pages = 0;
        loop {
            let after_seq = app
                .state::<AppState>()
                .alerts
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .last_seq(who);
            let page = match backend
                .peer
                .request(
                    who,
                    AlertsList::NAME,
                    api::encode(&AlertsListRequest { after_seq }),
                )
                .await
            {
                Ok(reply) if reply.status == Status::OK => {
                    api::decode_response::<AlertsList>(&reply.body).ok()
                }
                _ => None,
            };
            // A page that did not come, or that brings nothing new (a
            // manager that always says there is more), ends the catch-up:
            // what waited is taken, and the next time it is online asks
            // again. A log that began again or lost changes is read anew
            // (the inbox says so), but only so often.
            let (changes, facts) = match page {
                Some(p) => {
                    let advances = p.changes.iter().any(|c| c.seq > after_seq);
                    let facts = PageFacts {
                        last_seq: p.last_seq,
                        gap: p.gap,
                        ended: !(p.more && advances),
                        read: true,
                        ticket,
                    };
                    (p.changes, facts)
                }
                None => (
                    Vec::new(),
                    PageFacts {
                        last_seq: after_seq,
                        gap: false,
                        ended: true,
                        read: false,
                        ticket,
                    },
                ),
            };
            let mut again = false;
            alerts_changed(&app, &backend, |inbox| {
                let after = inbox.caught_up(who, &name, changes, facts, unix_ms());
                again = after.again;
                after.notices
            });
            pages += 1;
            if !again || pages >= MAX_PAGES {
                if again {
                    tracing::warn!(
                        "alerts of {} not caught up: too many pages",
                        who.fingerprint()
                    );
                    alerts_changed(&app, &backend, |inbox| {
                        inbox
                            .caught_up(
                                who,
                                &name,
                                Vec::new(),
                                PageFacts {
                                    last_seq: u64::MAX,
                                    gap: false,
                                    ended: true,
                                    read: false,
                                    ticket,
                                },
                                unix_ms(),
                            )
                            .notices
                    });
                }
                break;
            }
        }
        emit(&app).await;
    });
}
