//! Starting the manager's side of NodePair: state lock, keystore, identity, Waku node and peer.

use crate::config::Config;
use crate::control::{Dropped, PeerRow, StatusReport};
use crate::keys;
use crate::methods::Methods;
use anyhow::Context;
use nodepair_keystore::select::Selected;
use nodepair_keystore::{DirLock, DirLockError, Identity};
use nodepair_peer::{Peer, PeerConfig};
use nodepair_protocol::hello::Role;
use nodepair_waku::WakuNode;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// A running manager: what the daemon and a standalone `pair` share.
pub(crate) struct Runtime {
    pub(crate) peer: Peer,
    pub(crate) waku: WakuNode,
    pub(crate) identity: Identity,
    pub(crate) keystore_location: String,
    pub(crate) keystore_why: String,
    pub(crate) config: Config,
    pub(crate) state_dir: PathBuf,
    /// What the capabilities run in the background (host sampling).
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// Marks this run in the state dir until it ends cleanly (the daemon's
    /// run only).
    marker: Option<crate::run_marker::RunMarker>,
    /// Held while running: a second manager on this state dir is refused.
    _lock: DirLock,
}

/// Another manager holds the state directory.
#[derive(Debug, thiserror::Error)]
#[error(
    "another nodepair-manager is running with the state directory {0} (its lock is held); stop it, or talk to it with `pair`, `peers`, `revoke` and `status`"
)]
pub(crate) struct AlreadyRunning(pub(crate) PathBuf);

fn lock_state_dir(dir: &Path) -> anyhow::Result<DirLock> {
    DirLock::acquire(dir, "manager.lock").map_err(|e| match e {
        DirLockError::Held(dir) => AlreadyRunning(dir).into(),
        other => anyhow::Error::from(other),
    })
}

impl Runtime {
    /// Locks the state dir, opens the keystore and identity, starts the Waku
    /// node and the peer (which reconnects to every paired app). The
    /// `daemon` (`run`) marks its run and watches the node for alerts; a
    /// one-off command (`pair` with no daemon running) does neither, so it
    /// cannot take a crash mark the next daemon should report.
    pub(crate) async fn start(config: Config, daemon: bool) -> anyhow::Result<Runtime> {
        let state_dir = config.state_dir();
        let lock = lock_state_dir(&state_dir)?;
        let (marker, last_run_crashed) = if daemon {
            let (marker, crashed) =
                crate::run_marker::RunMarker::mark(&state_dir).with_context(|| {
                    format!(
                        "cannot write to the state directory {}",
                        state_dir.display()
                    )
                })?;
            (Some(marker), crashed)
        } else {
            (None, false)
        };
        if last_run_crashed {
            tracing::warn!("the last run of this manager stopped without shutting down");
        }
        let opened = {
            let config = config.clone();
            tokio::task::spawn_blocking(move || -> anyhow::Result<(Selected, Identity)> {
                let selected = keys::open(&config)?;
                let (identity, created) = Identity::load_or_create(&*selected.store)?;
                if created {
                    tracing::info!("created this manager's identity");
                }
                Ok((selected, identity))
            })
            .await??
        };
        let (selected, identity) = opened;
        tracing::info!(keystore = %selected.location, why = %selected.why, "keystore opened");

        let mut waku_config = config
            .network
            .waku_config(nodepair_waku::Mode::Relay)
            .context("the [network] section cannot work")?;
        waku_config.keypair = Some(nodepair_peer::node_keypair(&identity));
        waku_config.agent = format!("nodepair-manager/{}", env!("CARGO_PKG_VERSION"));
        let waku = WakuNode::start(waku_config)
            .await
            .context("cannot start the Waku node")?;

        let mut peer_config =
            PeerConfig::new(config.display_name.to_string(), config.capabilities.clone());
        peer_config.pairing.ttl = std::time::Duration::from_secs(config.pairing_timeout_secs);
        peer_config.accept_introductions = config.pairing.accept_introductions;
        peer_config.session.rekey_after =
            std::time::Duration::from_secs(config.session.rekey_after_secs);
        peer_config.limits.concurrent_requests = config.limits.concurrent_requests;
        peer_config.limits.requests_per_sec = config.limits.requests_per_sec;
        peer_config.limits.request_burst = config.limits.request_burst;
        // The host and log follows push events through the peer, which
        // starts after the methods it serves.
        let peer_slot: Arc<std::sync::OnceLock<Peer>> = Arc::default();
        let mut setup = crate::answer::Setup {
            config: &config,
            peer: Arc::clone(&peer_slot),
            started: Instant::now(),
            tasks: Vec::new(),
            last_run_crashed,
            watching: daemon,
            validators_seen: Arc::default(),
        };
        let methods = Arc::new(Methods::new(&mut setup)?);
        let tasks = setup.tasks;
        let store: Arc<dyn nodepair_keystore::Keystore> = Arc::from(selected.store);
        let peer = Peer::start(
            Role::Manager,
            &identity,
            peer_config,
            store,
            waku.clone(),
            methods,
        )
        .await?;
        let _ = peer_slot.set(peer.clone());
        Ok(Runtime {
            peer,
            waku,
            identity,
            keystore_location: selected.location.to_string(),
            keystore_why: selected.why,
            config,
            state_dir,
            tasks,
            marker,
            _lock: lock,
        })
    }

    /// Says goodbye to online apps, then stops the node.
    pub(crate) async fn shutdown(self) {
        for task in &self.tasks {
            task.abort();
        }
        self.peer.shutdown().await;
        self.waku.shutdown().await;
        if let Some(marker) = &self.marker {
            marker.clear();
        }
    }

    /// Says goodbye when something still holds the runtime (a control
    /// connection): the peer and the node stop, and the run ends cleanly.
    pub(crate) async fn shutdown_shared(&self) {
        for task in &self.tasks {
            task.abort();
        }
        self.peer.shutdown().await;
        self.waku.shutdown().await;
        if let Some(marker) = &self.marker {
            marker.clear();
        }
    }

    /// The counterparties as `peers` shows them.
    pub(crate) async fn peer_rows(&self) -> Vec<PeerRow> {
        self.peer
            .counterparties()
            .await
            .iter()
            .map(PeerRow::from_view)
            .collect()
    }

    /// Everything `status` shows.
    pub(crate) async fn status(&self) -> StatusReport {
        let status = self.peer.status().await;
        let peers = self.waku.peers().await.unwrap_or_default();
        let counterparties = self.peer_rows().await;
        let key = self.peer.public_key();
        let mut dropped = Dropped::default();
        let mut topics = Vec::new();
        let mut pairings_under_way = 0;
        if let Some(s) = status {
            pairings_under_way = s.pairings_under_way;
            dropped.auth_failures = s.session_stats.auth_failures;
            dropped.malformed = s.session_stats.malformed + s.session_stats.bad_frames;
            dropped.replays = s.session_stats.replays;
            dropped.refused_pairing_messages = s.refused_pairing_messages;
            topics = s.topics;
            topics.sort();
        }
        StatusReport {
            display_name: self.config.display_name.to_string(),
            node_id: uuid_string(&self.identity.node_id),
            public_key: key.to_string(),
            fingerprint: key.fingerprint(),
            daemon_running: true,
            keystore: self.keystore_location.clone(),
            keystore_why: self.keystore_why.clone(),
            network: self.config.network.summary(nodepair_waku::Mode::Relay).ok(),
            waku_peer_id: Some(self.waku.peer_id().to_string()),
            waku_peers: peers.iter().map(|p| p.address.to_string()).collect(),
            listen: self
                .waku
                .listen_addrs()
                .iter()
                .map(ToString::to_string)
                .collect(),
            topics,
            counterparties,
            pairings_under_way,
            rotation: self
                .peer
                .rotation()
                .await
                .as_ref()
                .map(nodepair_peer::RotationReport::from_view),
            dropped,
        }
    }
}

/// A node id as people read it.
pub(crate) fn uuid_string(bytes: &[u8; 16]) -> String {
    uuid::Uuid::from_bytes(*bytes).to_string()
}
