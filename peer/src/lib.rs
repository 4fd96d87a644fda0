//! The runtime NodePair's app and manager share.
//!
//! Both programs run the same loop: own a Waku node and a keystore, pair in
//! either role, re-open a session with every known counterparty at start-up,
//! keep those sessions alive and retry them when they drop, carry requests,
//! responses and pushed events over them, and revoke. The rules of all that
//! live in `nodepair-protocol`; this crate only moves bytes between the
//! protocol's state machines and the network, keeps their timers, and
//! persists what they decide through `nodepair-keystore`.
//!
//! # Layout
//!
//! - [`driver`](crate::driver) (private): the task that owns every machine
//!   and carries out what they decide.
//! - [`counterparty`](crate::counterparty) (private): one paired
//!   counterparty at run time: record, link, who waits on it.
//! - [`subscriptions`](crate::subscriptions) (private): our content topics
//!   and which machine each feeds.
//! - [`publisher`](crate::publisher) (private): the task that publishes.
//! - [`catch_up`](crate::catch_up) (private): whether the network reaches us, and
//!   catching up from a store after a cut.
//! - [`storage`](crate::storage) (private): keystore writes, in order, on
//!   one writer task, last-seen times in batches.
//! - [`clock`]: the clocks, injected so tests run on paused time.
//! - [`config`]: names and timings.
//! - [`hardening`]: no core dumps, for both programs.
//! - [`network`]: the `[network]` section both programs read, and its presets.
//! - [`view`]: what the programs are told about counterparties.
//! - [`request`]: serving requests and waiting for replies.
//! - [`pairing_handle`]: following a pairing under way.
//! - [`introduction`]: adding a computer from one already paired.
//! - [`cut_off`]: cutting off a lost computer from another.
//! - [`pairing_progress`]: its phases and their words, for every program.
//! - [`exit_code`]: the exit codes both programs use.
//!
//! Retransmission delays are the protocol's (the session's handshake
//! backoff); re-dialling Waku peers is the Waku node's.

#![deny(missing_docs)]

mod catch_up;
pub mod clock;
pub mod config;
mod counterparty;
mod crash_point;
pub mod cut_off;
mod driver;
pub mod event_log;
pub mod exit_code;
pub mod hardening;
pub mod introduction;
pub mod network;
pub mod pairing_handle;
pub mod pairing_progress;
mod publisher;
pub mod request;
mod storage;
mod subscriptions;
pub mod view;

pub use clock::Clock;
pub use config::PeerConfig;
pub use pairing_handle::{PairingFailure, PairingHandle, PairingUpdate};
pub use pairing_progress::{FailureKind, PairingPhase};
pub use request::{Caller, NoMethods, Reply, ReplyFuture, RequestError, RequestHandler};
pub use view::{
    CounterpartyView, CutOffError, EventError, FindError, GrantChangeError, PeerEvent, RenameError,
    RotateError, RotationReport, RotationView, find,
};

use bytes::Bytes;
use driver::{Command, Driver};
use nodepair_keystore::{Counterparty as Stored, CounterpartyError, Identity, Keystore};
use nodepair_protocol::frame::ByteString;
use nodepair_protocol::hello::Role;
use nodepair_protocol::pairing::LocalIdentity;
use nodepair_protocol::pairing_code::PairingCode;
use nodepair_protocol::session::SessionStats;
use nodepair_protocol::{NodeId, Pairing, PublicKey, StaticKeypair};
use nodepair_waku::WakuNode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;

/// Events kept for slow readers of [`Peer::events`].
const EVENT_BUFFER: usize = 1024;

/// What `status` shows about the runtime.
#[derive(Clone, Debug, PartialEq)]
pub struct PeerStatus {
    /// Our static key.
    pub public_key: PublicKey,
    /// Waku peers connected now.
    pub waku_peers: usize,
    /// Content topics subscribed to.
    pub topics: Vec<String>,
    /// Summed over every session so far: what was dropped, and why. A
    /// handshake from a key that is not the counterparty's counts as an
    /// authentication failure.
    pub session_stats: SessionStats,
    /// Messages on pairing topics that did not open with the code (third
    /// parties, stale codes).
    pub refused_pairing_messages: u64,
    /// Pairings running now.
    pub pairings_under_way: usize,
}

/// What became of a revocation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Revocation {
    /// The other side answered: both sides forgot each other.
    Told,
    /// Recorded here; the other side is told when it next connects.
    WillBeTold,
    /// We were not paired with that key.
    NotPaired,
    /// The revocation could not be recorded; nothing changed.
    Failed(String),
}

/// The peer could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// A stored counterparty cannot be read; nothing was changed.
    #[error("cannot read the paired counterparties: {0}")]
    Counterparties(#[from] CounterpartyError),
}

/// A handle on a running peer; clones share it. The runtime stops on
/// [`Peer::shutdown`] or when the last handle is dropped.
#[derive(Clone, Debug)]
pub struct Peer {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    commands: mpsc::Sender<Command>,
    events: broadcast::Sender<PeerEvent>,
    role: Role,
    /// Our keys; the driver changes them during a rotation.
    keys: Arc<std::sync::RwLock<OwnKeys>>,
    config: PeerConfig,
    waku: WakuNode,
    next_pairing: AtomicU64,
    task: std::sync::Mutex<Option<JoinHandle<()>>>,
}

/// Our keys as the handles read them.
#[derive(Clone, Debug)]
pub(crate) struct OwnKeys {
    /// Our current static key.
    pub(crate) public: PublicKey,
    /// Who new pairings introduce us as: during a rotation, under the key
    /// counterparties move to.
    pub(crate) pairing: LocalIdentity,
}

/// The program's own identity, as the protocol uses it.
pub fn local_identity(identity: &Identity, config: &PeerConfig) -> LocalIdentity {
    LocalIdentity {
        keypair: StaticKeypair::from_secret(*identity.static_secret),
        // Whatever the settings say, what goes out follows the rules the
        // other side checks.
        display_name: nodepair_protocol::hello::fit_display_name(&config.display_name),
        node_id: NodeId(uuid::Uuid::from_bytes(identity.node_id)),
        capabilities: config.capabilities.clone(),
    }
}

/// The libp2p key the Waku node runs with: the identity's node key, as a
/// secp256k1 key so the node can sign its ENR (discv5, peer exchange).
pub fn node_keypair(identity: &Identity) -> nodepair_waku::identity::Keypair {
    use nodepair_waku::identity::{Keypair, secp256k1};
    let mut secret = *identity.node_key;
    match secp256k1::SecretKey::try_from_bytes(&mut secret) {
        Ok(key) => Keypair::from(secp256k1::Keypair::from(key)),
        // 32 random bytes are a valid secp256k1 key but for about one in
        // 2^128; such a node runs with Ed25519 and without an ENR.
        Err(_) => {
            let mut secret = *identity.node_key;
            Keypair::ed25519_from_bytes(&mut secret)
                .expect("any 32 bytes are an Ed25519 secret key")
        }
    }
}

impl Peer {
    /// Starts the runtime in `role` over `waku`, and opens a session with
    /// every counterparty in `keystore`.
    pub async fn start(
        role: Role,
        identity: &Identity,
        config: PeerConfig,
        keystore: Arc<dyn Keystore>,
        waku: WakuNode,
        handler: Arc<dyn RequestHandler>,
    ) -> Result<Peer, StartError> {
        let store = keystore.clone();
        let stored = tokio::task::spawn_blocking(move || Stored::load_all(&*store))
            .await
            .expect("loading counterparties does not panic")?;
        let local = local_identity(identity, &config);
        let own = local.keypair.clone();
        let mut pairing = local.clone();
        if let Some(next) = &identity.next_static_secret {
            pairing.keypair = StaticKeypair::from_secret(**next);
        }
        let keys = Arc::new(std::sync::RwLock::new(OwnKeys {
            public: own.public(),
            pairing,
        }));
        // Handshake timestamps come from the wall clock, read once here.
        let mut config = config;
        let wall = config.clock.wall_clock();
        config.session.wall_clock = Some(wall);
        config.pairing.session.wall_clock = Some(wall);
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let mut driver = Driver::new(
            identity.clone(),
            keys.clone(),
            config.clone(),
            keystore,
            waku.clone(),
            handler,
            events.clone(),
        );
        driver.load(stored).await;
        let (commands, receiver) = mpsc::channel(256);
        let task = tokio::spawn(driver.run(receiver));
        Ok(Peer {
            inner: Arc::new(Inner {
                commands,
                events,
                role,
                keys,
                config,
                waku,
                next_pairing: AtomicU64::new(1),
                task: std::sync::Mutex::new(Some(task)),
            }),
        })
    }

    fn keys(&self) -> OwnKeys {
        self.inner
            .keys
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Our role.
    pub fn role(&self) -> Role {
        self.inner.role
    }

    /// Our static key.
    pub fn public_key(&self) -> PublicKey {
        self.keys().public
    }

    /// The Waku node underneath.
    pub fn waku(&self) -> &WakuNode {
        &self.inner.waku
    }

    /// State changes, pairings, removals and pushed events, as they happen.
    pub fn events(&self) -> broadcast::Receiver<PeerEvent> {
        self.inner.events.subscribe()
    }

    /// Waits until at least one Waku peer is connected, or `timeout`;
    /// returns whether one is.
    pub async fn wait_for_network(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if self.inner.waku.peers().await.is_ok_and(|p| !p.is_empty()) {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// App side: draws a new code and waits for a manager to answer it.
    /// Show `handle.code` to the person.
    pub async fn offer_pairing(&self) -> Result<PairingHandle, PairingFailure> {
        let mut random = [0u8; 8];
        getrandom::fill(&mut random).expect("the operating system provides random bytes");
        let code = PairingCode::from_random(random);
        self.start_pairing(code, Role::App, None).await
    }

    /// Manager side: pairs with the app showing `code`, granting it
    /// everything this side offers.
    pub async fn pair(&self, code: PairingCode) -> Result<PairingHandle, PairingFailure> {
        self.start_pairing(code, Role::Manager, None).await
    }

    /// Manager side: pairs with the app showing `code`, granting it only
    /// `grants` of what this side offers (its HELLO lists just those, and
    /// its record keeps the grant).
    pub async fn pair_granting(
        &self,
        code: PairingCode,
        grants: &[String],
    ) -> Result<PairingHandle, PairingFailure> {
        let grants = nodepair_protocol::grants::check(&self.inner.config.capabilities, grants)
            .map_err(PairingFailure::Grant)?;
        self.start_pairing(code, Role::Manager, Some(grants)).await
    }

    async fn start_pairing(
        &self,
        code: PairingCode,
        role: Role,
        grants: Option<Vec<String>>,
    ) -> Result<PairingHandle, PairingFailure> {
        assert_eq!(role, self.inner.role, "pairing in the other role");
        let mut local = self.keys().pairing;
        let ours = local.keypair.clone();
        local.capabilities =
            nodepair_protocol::grants::granted(&local.capabilities, grants.as_deref());
        let config = self.inner.config.pairing.clone();
        let (id, pairing) = self.machine(&code, role, local, config);
        let (updates, receiver) = mpsc::channel(64);
        self.send(Command::StartPairing {
            id,
            pairing,
            grants,
            ours,
            updates,
        })
        .await
        .map_err(|_| PairingFailure::Stopped)?;
        Ok(self.following(code, id, receiver))
    }

    /// A pairing machine for `code` in `role` (`App`: it shows the code),
    /// and its id.
    fn machine(
        &self,
        code: &PairingCode,
        role: Role,
        local: LocalIdentity,
        config: nodepair_protocol::PairingConfig,
    ) -> (u64, Box<Pairing>) {
        let id = self.inner.next_pairing.fetch_add(1, Ordering::Relaxed);
        let now = self.inner.config.clock.now();
        let seed = driver::random_seed();
        let pairing = match role {
            Role::App => Pairing::app(code, local, now, config, seed),
            Role::Manager => Pairing::manager(code, local, now, config, seed),
        };
        (id, Box::new(pairing))
    }

    /// The handle that follows pairing `id` through `updates`.
    fn following(
        &self,
        code: PairingCode,
        id: u64,
        updates: mpsc::Receiver<PairingUpdate>,
    ) -> PairingHandle {
        PairingHandle {
            code,
            id,
            updates,
            commands: self.inner.commands.clone(),
        }
    }

    /// Sends a request to `to` and waits for its reply (or the configured
    /// timeout).
    pub async fn request(
        &self,
        to: PublicKey,
        method: &str,
        body: impl Into<Bytes>,
    ) -> Result<Reply, RequestError> {
        self.ask(to, method, body.into(), false).await
    }

    /// Sends one of the requests of adding a computer
    /// (`nodepair.introduce` to a manager, `nodepair.handoff` to the new
    /// computer) with `body` as is, and waits for the reply. What
    /// [`Peer::introduce`] sends; tests use it to send what it never would.
    pub async fn request_introduction(
        &self,
        to: PublicKey,
        method: &str,
        body: impl Into<Bytes>,
    ) -> Result<Reply, RequestError> {
        self.ask(to, method, body.into(), true).await
    }

    /// A request (`protocol`: one of the protocol's own a program drives)
    /// and its reply.
    async fn ask(
        &self,
        to: PublicKey,
        method: &str,
        body: Bytes,
        protocol: bool,
    ) -> Result<Reply, RequestError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Request {
            to,
            method: method.to_owned(),
            body,
            protocol,
            reply,
        })
        .await
        .map_err(|_| RequestError::Stopped)?;
        answer.await.map_err(|_| RequestError::Stopped)?
    }

    /// Every counterparty and where it stands, by name.
    pub async fn counterparties(&self) -> Vec<CounterpartyView> {
        let (reply, answer) = oneshot::channel();
        if self.send(Command::List { reply }).await.is_err() {
            return Vec::new();
        }
        answer.await.unwrap_or_default()
    }

    /// What the runtime sees: Waku peers, topics, what it dropped.
    pub async fn status(&self) -> Option<PeerStatus> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Status { reply }).await.ok()?;
        answer.await.ok()
    }

    /// Unpairs `who`. It is marked revoked here at once (no more requests
    /// either way); it is told now if online, else at its next handshake;
    /// both sides forget each other when it answers.
    pub async fn revoke(&self, who: PublicKey) -> Revocation {
        let (reply, answer) = oneshot::channel();
        if self.send(Command::Revoke { who, reply }).await.is_err() {
            return Revocation::Failed("the peer runtime has stopped".into());
        }
        answer
            .await
            .unwrap_or_else(|_| Revocation::Failed("the peer runtime has stopped".into()))
    }

    /// Pushes one event of `stream` (e.g. a followed log) to `to`; returns
    /// its sequence number in that stream. Fails once `to` is offline,
    /// unpaired or revoked, which is when a stream must stop.
    pub async fn send_event(
        &self,
        to: PublicKey,
        stream: impl Into<ByteString>,
        body: impl Into<Bytes>,
    ) -> Result<u64, EventError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::SendEvent {
            to,
            stream: stream.into(),
            body: body.into(),
            reply,
        })
        .await
        .map_err(|()| EventError::Stopped)?;
        answer.await.map_err(|_| EventError::Stopped)?
    }

    /// Gives `who` a name shown on this side only (`None` or a blank name
    /// shows its own again). The name is stored before the view changes.
    pub async fn rename(
        &self,
        who: PublicKey,
        name: Option<String>,
    ) -> Result<CounterpartyView, RenameError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Rename { who, name, reply })
            .await
            .map_err(|()| RenameError::Stopped)?;
        answer.await.map_err(|_| RenameError::Stopped)?
    }

    /// Begins a key rotation: a new static key is made and stored, and
    /// every counterparty is told (now if online, else when it next
    /// connects) with proof that we hold it. Each that stores it is moved:
    /// sessions with it are under the new key from then on. Once all have
    /// moved, or [`PeerConfig::rotation_grace`] has passed, the old key is
    /// retired. [`Peer::rotation`] says how far it got.
    pub async fn rotate_key(&self) -> Result<RotationView, RotateError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Rotate { reply })
            .await
            .map_err(|()| RotateError::Stopped)?;
        answer.await.map_err(|_| RotateError::Stopped)?
    }

    /// Follows our rotation until it is over or `until`: `moved` hears of
    /// each counterparty as it moves (with how many have, of how many).
    /// Returns where it stands then (`finished` once the old key is
    /// retired).
    pub async fn watch_rotation(
        &self,
        mut last: RotationView,
        until: tokio::time::Instant,
        mut moved: impl FnMut(&CounterpartyView, usize, usize),
    ) -> RotationView {
        while !last.finished && tokio::time::Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let now = match self.rotation().await {
                Some(now) => now,
                // Retired: everyone left moved (or was left behind).
                None => RotationView {
                    finished: true,
                    ..last.clone()
                },
            };
            let total = now.counterparties.len();
            let count = now.counterparties.iter().filter(|(_, m)| *m).count();
            for (view, _) in now.counterparties.iter().filter(|(view, m)| {
                *m && !last
                    .counterparties
                    .iter()
                    .any(|(before, was)| *was && before.public_key == view.public_key)
            }) {
                moved(view, count, total);
            }
            last = now;
        }
        last
    }

    /// Where our key rotation stands; `None` when none is under way.
    pub async fn rotation(&self) -> Option<RotationView> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Rotation { reply }).await.ok()?;
        answer.await.ok().flatten()
    }

    /// Tells `to`, now, a name and list of capabilities for this side (a
    /// state update). A manager announces by itself what each app may use
    /// whenever a session comes up or a grant changes; whatever an app
    /// announces never changes what it is granted.
    pub async fn announce(
        &self,
        to: PublicKey,
        display_name: Option<String>,
        capabilities: Option<Vec<String>>,
    ) -> Result<(), EventError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Announce {
            to,
            display_name,
            capabilities,
            reply,
        })
        .await
        .map_err(|()| EventError::Stopped)?;
        answer.await.map_err(|_| EventError::Stopped)?
    }

    /// Changes what `who` may use of what this side offers (`None`:
    /// everything). The record is stored first; an online counterparty is
    /// told at once what it now has, and its next request is judged by the
    /// new grant.
    pub async fn grant(
        &self,
        who: PublicKey,
        grants: Option<Vec<String>>,
    ) -> Result<CounterpartyView, GrantChangeError> {
        let grants = match grants {
            Some(names) => Some(nodepair_protocol::grants::check(
                &self.inner.config.capabilities,
                &names,
            )?),
            None => None,
        };
        let (reply, answer) = oneshot::channel();
        self.send(Command::Grant { who, grants, reply })
            .await
            .map_err(|()| GrantChangeError::Stopped)?;
        answer.await.map_err(|_| GrantChangeError::Stopped)?
    }

    /// Tells online counterparties we are going, records last-seen, and
    /// stops the runtime (not the Waku node).
    pub async fn shutdown(&self) {
        let (done, wait) = oneshot::channel();
        if self.send(Command::Shutdown { done }).await.is_ok() {
            let _ = wait.await;
        }
        let task = self
            .inner
            .task
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }

    async fn send(&self, command: Command) -> Result<(), ()> {
        self.inner.commands.send(command).await.map_err(drop)
    }
}
