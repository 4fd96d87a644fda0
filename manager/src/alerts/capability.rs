//! The `alerts` capability as the manager answers it: the watch's rounds in the background, each change kept on disk and pushed to the apps that follow, and the methods.

use super::alert_file::AlertFile;
use super::alert_log::Stored;
use super::host_reading::HostReader;
use super::rules::{Client, Observation, Unit};
use super::settings::AlertsConfig;
use super::watch::{ActError, Watch};
use crate::answer::{Answer, Setup, ok, ready, refuse, request, unknown};
use nodepair_protocol::frame::ByteString;
use crate::ethereum::Ethereum;
use crate::services::Services;
use anyhow::Context;
use bytes::Bytes;
use nodepair_peer::{Caller, Peer, Reply, ReplyFuture};
use nodepair_protocol::api::alerts::{
    AlertsAck, AlertsFollow, AlertsList, AlertsMute, AlertsUnfollow, AlertsFollowResponse, STREAM,
};
use nodepair_protocol::api::ethereum::{EthStatusResponse, ExecutionSyncing};
use nodepair_protocol::api::reading::{ReadErrorKind, Reading};
use nodepair_protocol::api::services::{Service, ServiceKind};
use nodepair_protocol::api::{self, Empty, Method};
use nodepair_protocol::{PublicKey, Status};
use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// The watch, its file, and who follows it.
pub(crate) struct Alerts {
    watch: tokio::sync::Mutex<Watch>,
    file: AlertFile,
    followers: std::sync::Mutex<BTreeSet<PublicKey>>,
    peer: Arc<OnceLock<Peer>>,
}

/// What a round reads: the host always, the Ethereum clients and the units
/// as configured.
struct Readers {
    ethereum: Ethereum,
    services: Option<Services>,
    /// Memory, load, the mounts and `[alerts.disk_free] paths`.
    host: HostReader,
    /// The validators as their capability last read them.
    validators: crate::answer::ValidatorsSeen,
}

fn now_ms() -> u64 {
    nodepair_peer::Clock::system().unix_millis()
}

impl Alerts {
    /// Records what `act` does to the watch, keeps it on disk, and pushes
    /// it to every follower: one at a time, so followers get the changes
    /// in order.
    async fn change<T>(
        &self,
        act: impl FnOnce(&mut Watch) -> Result<Vec<Stored>, T>,
    ) -> Result<Vec<Stored>, T> {
        let mut watch = self.watch.lock().await;
        let stored = act(&mut watch)?;
        // A full disk is one of the things watched: the changes are still
        // pushed and kept in memory when they cannot be written (and the
        // whole log is written again next time).
        if let Err(e) = self.file.keep(&stored, watch.log()) {
            tracing::warn!("{e}");
        }
        for change in &stored {
            self.push(change).await;
        }
        drop(watch);
        Ok(stored)
    }

    async fn push(&self, stored: &Stored) {
        let Some(peer) = self.peer.get() else {
            return;
        };
        let body = api::encode(stored.change());
        let followers: Vec<PublicKey> = self
            .followers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .copied()
            .collect();
        for to in followers {
            if let Err(e) = peer.send_event(to, ByteString::from_static(STREAM), body.clone()).await {
                // Offline, unpaired or revoked: it follows again when it
                // is back, and lists what it missed.
                self.followers
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .remove(&to);
                tracing::info!(target: "audit", caller = %to.fingerprint(), "alerts follow ended: {e}");
            }
        }
    }

    /// One round every `every_secs`, for as long as the manager runs.
    async fn rounds(self: Arc<Self>, readers: Readers, config: AlertsConfig) {
        let mut tick = tokio::time::interval(Duration::from_secs(config.every_secs));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let seen = readers.read().await;
            let now = now_ms();
            let _ = self
                .change(|watch| Ok::<_, ()>(watch.observe(&seen, &config, now)))
                .await;
        }
    }
}

/// How old the validators' reading may be and still be judged.
const VALIDATORS_FRESH_MS: u64 = 120_000;

impl Readers {
    async fn read(&self) -> Observation {
        let (mut seen, ethereum, units) = tokio::join!(self.host.read(), self.ethereum.status(), async {
            match &self.services {
                Some(s) => s.list().await.services,
                None => Vec::new(),
            }
        });
        clients(&ethereum, &mut seen);
        seen.units = units.iter().filter_map(unit).collect();
        // A reading older than a few slots (its rounds stalled) judges
        // nothing: the rules do not go on judging what is no longer so.
        let now_ms = nodepair_peer::Clock::system().unix_millis();
        seen.validators = match &*self
            .validators
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
        {
            Some((at, validators)) if now_ms.saturating_sub(*at) <= VALIDATORS_FRESH_MS => {
                validators.clone()
            }
            _ => Vec::new(),
        };
        seen
    }
}

/// The clients as the rules see them; one without an endpoint is left out.
fn clients(status: &EthStatusResponse, seen: &mut Observation) {
    let c = &status.consensus;
    if let Some(endpoint) = &c.endpoint {
        let syncing = value(&c.syncing);
        seen.consensus = Some(Client {
            endpoint: endpoint.clone(),
            unreachable: unreachable(&[error(&c.version), error(&c.syncing), error(&c.peers)]),
            head: syncing.map(|s| s.head_slot),
            behind: syncing.map(|s| s.sync_distance),
            peers: value(&c.peers).map(|p| p.connected),
        });
    }
    let e = &status.execution;
    if let Some(endpoint) = &e.endpoint {
        let block = e.head.as_ref().and_then(value).copied();
        let (head, behind) = match value(&e.syncing) {
            Some(ExecutionSyncing::Synced) => (block, Some(0)),
            Some(ExecutionSyncing::Syncing {
                current_block,
                highest_block,
                ..
            }) => (
                Some(*current_block),
                Some(highest_block.saturating_sub(*current_block)),
            ),
            None => (None, None),
        };
        seen.execution = Some(Client {
            endpoint: endpoint.clone(),
            unreachable: unreachable(&[error(&e.version), error(&e.syncing), error(&e.peers)]),
            head,
            behind,
            peers: value(&e.peers).copied(),
        });
    }
}

fn value<T>(reading: &Reading<T>) -> Option<&T> {
    match reading {
        Reading::Value(v) => Some(v),
        Reading::Error(_) => None,
    }
}

fn error<T>(reading: &Reading<T>) -> Option<&str> {
    match reading {
        Reading::Value(_) => None,
        Reading::Error(e) if e.kind == ReadErrorKind::NotConfigured => None,
        Reading::Error(e) => Some(&e.message),
    }
}

/// Why a client is unreachable: when every one of its readings failed,
/// the first one's sentence.
fn unreachable(errors: &[Option<&str>]) -> Option<String> {
    if errors.iter().all(Option::is_some) {
        errors.first().copied().flatten().map(str::to_owned)
    } else {
        None
    }
}

fn unit(service: &Service) -> Option<Unit> {
    // A unit systemctl could not tell about says nothing of its state; a
    // container its engine could not tell about is one nobody sees.
    if let Some(why) = &service.error {
        return (service.kind == ServiceKind::Container).then(|| Unit {
            name: service.unit.clone(),
            active_state: String::new(),
            sub_state: String::new(),
            state_since_ms: None,
            health: None,
            unreadable: Some(why.chars().take(120).collect()),
        });
    }
    Some(Unit {
        name: service.unit.clone(),
        active_state: service.active_state.clone(),
        sub_state: service.sub_state.clone(),
        state_since_ms: service.since_ms,
        health: service.container.as_ref().and_then(|c| c.health.clone()),
        unreadable: None,
    })
}

/// The `alerts` capability: its log read back from the state directory,
/// and, when the capability is enabled, its rounds started.
pub(crate) fn answerer(setup: &mut Setup<'_>) -> anyhow::Result<Arc<dyn Answer>> {
    let config = setup.config;
    let file = AlertFile::in_dir(&config.state_dir());
    let enabled = config.capabilities.iter().any(|c| c == "alerts");
    let log = if enabled {
        file.load()?
    } else {
        super::alert_log::AlertLog::default()
    };
    let alerts = Arc::new(Alerts {
        watch: tokio::sync::Mutex::new(Watch::new(log, setup.last_run_crashed.then(now_ms))),
        file,
        followers: std::sync::Mutex::new(BTreeSet::new()),
        peer: Arc::clone(&setup.peer),
    });
    // A one-off command answers what is asked but judges nothing.
    if enabled && setup.watching {
        let url = |text: &str| {
            reqwest::Url::parse(text).with_context(|| format!("{text:?} is not a URL"))
        };
        let e = &config.ethereum;
        let beacon = e.beacon_url.as_deref().map(url).transpose()?;
        let execution = e.execution_url.as_deref().map(url).transpose()?;
        let ethereum = Ethereum::new(
            beacon.as_ref(),
            execution.as_ref(),
            Duration::from_millis(e.timeout_ms),
        )
        .context("cannot set up the Ethereum clients")?;
        let services = Some(Services::from_config(config, false)).filter(|s| !s.is_empty());
        let readers = Readers {
            ethereum,
            services,
            host: HostReader::new(config.alerts.disk_free.paths.clone()),
            validators: Arc::clone(&setup.validators_seen),
        };
        setup.tasks.push(tokio::spawn(
            Arc::clone(&alerts).rounds(readers, config.alerts.clone()),
        ));
    }
    Ok(alerts)
}

impl Answer for Alerts {
    fn answer(self: Arc<Self>, caller: Caller, method: &'static str, body: Bytes) -> ReplyFuture {
        match method {
            AlertsList::NAME => Box::pin(async move {
                match request::<AlertsList>(&body) {
                    Ok(r) => ok(&self.watch.lock().await.log().page(r.after_seq)),
                    Err(reply) => reply,
                }
            }),
            AlertsFollow::NAME => Box::pin(async move {
                if let Err(reply) = request::<AlertsFollow>(&body) {
                    return reply;
                }
                // Under the watch's lock: no change falls between the
                // last number answered and the first one pushed.
                let watch = self.watch.lock().await;
                self.followers
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .insert(caller.public_key);
                tracing::info!(target: "audit", caller = %caller.public_key.fingerprint(), name = ?caller.display_name, "alerts follow started");
                ok(&AlertsFollowResponse {
                    stream: STREAM.to_owned(),
                    last_seq: watch.log().last_seq(),
                })
            }),
            AlertsUnfollow::NAME => ready(match request::<AlertsUnfollow>(&body) {
                Ok(Empty {}) => {
                    self.followers
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .remove(&caller.public_key);
                    ok(&Empty {})
                }
                Err(reply) => reply,
            }),
            AlertsAck::NAME => Box::pin(async move {
                let id = match request::<AlertsAck>(&body) {
                    Ok(r) => r.id,
                    Err(reply) => return reply,
                };
                let by = caller.display_name.clone();
                let done = self
                    .change(|watch| watch.acknowledge(id, &by, now_ms()).map(|s| vec![s]))
                    .await;
                if done.is_ok() {
                    tracing::info!(target: "audit", caller = %caller.public_key.fingerprint(), name = ?caller.display_name, id, "alert acknowledged");
                }
                acted(done)
            }),
            AlertsMute::NAME => Box::pin(async move {
                let r = match request::<AlertsMute>(&body) {
                    Ok(r) => r,
                    Err(reply) => return reply,
                };
                let by = caller.display_name.clone();
                let done = self
                    .change(|watch| watch.mute(r.id, r.for_secs, &by, now_ms()).map(|s| vec![s]))
                    .await;
                if done.is_ok() {
                    tracing::info!(target: "audit", caller = %caller.public_key.fingerprint(), name = ?caller.display_name, id = r.id, for_secs = r.for_secs, "alert muted");
                }
                acted(done)
            }),
            other => ready(unknown(other)),
        }
    }
}

/// The reply to an acknowledgement or a mute: the alert as it is now.
fn acted(result: Result<Vec<Stored>, ActError>) -> Reply {
    match result {
        Ok(stored) => match stored.first() {
            Some(s) => ok(&s.change().alert),
            None => refuse(Status::INTERNAL, "nothing was recorded"),
        },
        Err(e @ ActError::NoSuchAlert(_)) => refuse(Status::UNKNOWN_METHOD, e),
        Err(e @ ActError::MuteTooLong(_)) => refuse(Status::BAD_REQUEST, e),
    }
}
