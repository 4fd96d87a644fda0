//! The Waku node: one task drives a libp2p swarm (relay, metadata, light push, filter, identify,
//! ping); [`WakuNode`] is a cheap handle that talks to it over channels.
//!
//! A node runs in one of two [`Mode`]s. A relay node joins the gossipsub mesh
//! of its shards and serves light push and filter to light nodes. A light
//! node joins no mesh: it publishes through a service node's light push and
//! receives through a filter subscription on one, failing over to another
//! connected service node when that one stops answering.

mod discovery;
mod history;
mod light;

pub use discovery::DiscoveryConfig;
pub use history::{StoreConfig, StoreError};

use crate::discovery::Source;
use crate::discovery::peer_book::PeerBook;
use crate::enr::{Capabilities, OwnRecord, RelayShards, WakuEnr};
use crate::filter::subscriptions::{Limits, Subscriptions};
use crate::filter::{self, MessagePush, SubscribeRequest, SubscribeResponse};
use crate::lightpush::{self, PushRequest, PushResponse, PushStatus};
use crate::message::{MessageHash, WakuMessage};
use crate::metadata::{self, Metadata, Mismatch};
use crate::peer_exchange;
use crate::relay;
use crate::topic::{PubsubTopic, Shard};
use futures::StreamExt;
use libp2p::gossipsub::{self, IdentTopic, MessageAcceptance};
use libp2p::multiaddr::Protocol;
use libp2p::request_response::{self, Message as RrMessage};
use libp2p::swarm::dial_opts::DialOpts;
use libp2p::swarm::{ConnectionId, NetworkBehaviour, SwarmEvent};
use libp2p::{
    Multiaddr, PeerId, StreamProtocol, Swarm, identify, identity, noise, ping, tcp, yamux,
};
use prost::Message as _;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::time::Instant;

/// Messages kept per subscription while its reader is busy; more are dropped
/// with a warning rather than stalling the node.
const SUBSCRIPTION_BUFFER: usize = 1024;
/// Commands waiting for the node task.
const COMMAND_BUFFER: usize = 256;
/// Node events kept for slow readers of [`WakuNode::events`].
const EVENT_BUFFER: usize = 256;

/// How a node is set up. [`Config::new`] gives a node that dials out only.
#[derive(Clone, Debug)]
pub struct Config {
    /// The cluster, and the shards within it this node relays (at least one).
    pub shards: Vec<Shard>,
    /// Addresses to listen on (`/ip4/127.0.0.1/tcp/0`, `…/tcp/0/ws`); none to
    /// dial out only.
    pub listen: Vec<Multiaddr>,
    /// Peers dialled at start and re-dialled with backoff when they drop.
    pub bootstrap: Vec<Multiaddr>,
    /// The node's libp2p identity; a fresh secp256k1 one when `None`. Only a
    /// secp256k1 key can sign the node's ENR (discv5, peer exchange).
    pub keypair: Option<identity::Keypair>,
    /// What identify tells peers we are.
    pub agent: String,
    /// First delay before re-dialling a bootstrap peer.
    pub redial_initial: Duration,
    /// Longest delay between re-dials.
    pub redial_max: Duration,
    /// Message hashes remembered to deliver each message once.
    pub dedup_capacity: usize,
    /// Relay (mesh member, serves light nodes) or light (uses service nodes).
    pub mode: Mode,
    /// What a relay node's filter service keeps.
    pub filter_limits: Limits,
    /// How often a light node pings its filter service node.
    pub filter_ping_interval: Duration,
    /// A relay node with an archive keeps what it relays and answers store
    /// queries; `None` keeps nothing.
    pub store: Option<StoreConfig>,
    /// Finding peers beyond the bootstrap list.
    pub discovery: DiscoveryConfig,
    /// How many connections the node keeps: pending and established, in
    /// and out, per peer. Bootstrap peers do not count against them.
    pub connection_limits: libp2p::connection_limits::ConnectionLimits,
    /// How often one peer may query this node's store.
    pub store_query_limits: crate::store::service::QueryLimits,
}

/// The connection limits of [`Config::new`]: enough for a relay serving a
/// few hundred light nodes, bounded so a flood of connections cannot take
/// the node's memory or file descriptors.
pub fn default_connection_limits() -> libp2p::connection_limits::ConnectionLimits {
    libp2p::connection_limits::ConnectionLimits::default()
        .with_max_pending_incoming(Some(64))
        .with_max_pending_outgoing(Some(64))
        .with_max_established_incoming(Some(400))
        .with_max_established_outgoing(Some(100))
        .with_max_established_per_peer(Some(2))
}

/// How a node takes part in the network.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// Joins the gossipsub mesh of its shards, and serves light push and
    /// filter to light nodes.
    #[default]
    Relay,
    /// Publishes through light push and receives through filter, on the
    /// service nodes it is connected to (its bootstrap peers).
    Light,
}

impl Config {
    /// A node relaying one shard, dialling out only.
    pub fn new(shard: Shard) -> Self {
        Config {
            shards: vec![shard],
            listen: Vec::new(),
            bootstrap: Vec::new(),
            keypair: None,
            agent: format!("nodepair/{}", env!("CARGO_PKG_VERSION")),
            redial_initial: Duration::from_secs(1),
            redial_max: Duration::from_secs(60),
            dedup_capacity: 65_536,
            mode: Mode::Relay,
            filter_limits: Limits::default(),
            filter_ping_interval: Duration::from_secs(60),
            store: None,
            discovery: DiscoveryConfig::default(),
            connection_limits: default_connection_limits(),
            store_query_limits: crate::store::service::QueryLimits::default(),
        }
    }
}

/// A message received on a subscribed content topic.
#[derive(Clone, Debug, PartialEq)]
pub struct Received {
    /// The pubsub topic it came on.
    pub pubsub_topic: PubsubTopic,
    /// The message.
    pub message: WakuMessage,
    /// Its deterministic hash.
    pub hash: MessageHash,
}

/// What a publish did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Published {
    /// The message's deterministic hash.
    pub hash: MessageHash,
    /// Peers in our mesh for the topic when it went out.
    pub mesh_peers: usize,
}

/// A connected peer, as far as we know it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerInfo {
    /// Its id.
    pub peer_id: PeerId,
    /// The address of one connection to it.
    pub address: Multiaddr,
    /// What identify said it speaks (empty until identify answered).
    pub protocols: Vec<String>,
    /// Its agent string (empty until identify answered).
    pub agent: String,
}

/// Something that happened to the node's connections.
#[derive(Clone, Debug, PartialEq)]
pub enum NodeEvent {
    /// A first connection to a peer came up.
    PeerConnected {
        /// The peer.
        peer_id: PeerId,
        /// Its address.
        address: Multiaddr,
    },
    /// The last connection to a peer went down.
    PeerDisconnected {
        /// The peer.
        peer_id: PeerId,
    },
    /// A light node's filter subscriptions now live on this service node
    /// (after the first subscribe, or a failover).
    FilterServiceChanged {
        /// The service node.
        peer_id: PeerId,
    },
    /// A light node's filter subscription stopped working (its service node
    /// went or refused); pushes are missed until `FilterServiceChanged`.
    FilterServiceLost {
        /// The service node that failed.
        peer_id: PeerId,
    },
    /// The network reaches this node again (see [`Reach`]).
    Reachable,
    /// The network stopped reaching this node: messages sent meanwhile may
    /// pass it by (see [`Reach`]).
    Cut {
        /// When.
        since: SystemTime,
    },
    /// A peer was disconnected because its metadata does not fit ours.
    PeerRejected {
        /// The peer.
        peer_id: PeerId,
        /// Why.
        reason: Mismatch,
    },
}

/// Whether messages published on the network reach this node: a relay
/// node while it has a peer, a light node while a filter service holds its
/// subscriptions (or, with nothing subscribed, while it has a peer). Callers
/// need not know which kind of node it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reach {
    /// Not reached yet since the node started.
    NotYet,
    /// Reached now.
    Reachable,
    /// Reached once, not since `since`.
    Cut {
        /// When it stopped.
        since: SystemTime,
    },
}

/// The node could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The configuration names no shard.
    #[error("a Waku node needs at least one shard to relay")]
    NoShard,
    /// Shards of more than one cluster were given.
    #[error("all shards must be in one cluster")]
    MixedClusters,
    /// The transport could not be built.
    #[error("cannot set up the libp2p transport: {0}")]
    Transport(String),
    /// The store's archive could not be opened.
    #[error("cannot open the message archive: {0}")]
    Store(String),
    /// Discovery could not start.
    #[error("cannot start discovery: {0}")]
    Discovery(String),
    /// A listen address could not be used.
    #[error("cannot listen on {address}: {reason}")]
    Listen {
        /// The address.
        address: Multiaddr,
        /// Why.
        reason: String,
    },
}

/// A publish failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// The message breaks Waku's rules (empty payload, no content topic,
    /// too large); nobody would relay it.
    #[error("message refused: {0}")]
    Invalid(String),
    /// No connected peer relays the topic yet.
    #[error("no connected Waku peer relays {0} yet")]
    NoPeers(PubsubTopic),
    /// A light node's service node refused or did not answer the push.
    #[error("the light push service refused the message: {0}")]
    Service(String),
    /// The node is not subscribed to that pubsub topic.
    #[error("this node does not relay {0}")]
    NotOurTopic(PubsubTopic),
    /// The node has stopped.
    #[error("the Waku node has stopped")]
    Stopped,
}

/// The node has stopped; nothing more can be asked of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the Waku node has stopped")]
pub struct Stopped;

#[derive(NetworkBehaviour)]
struct Behaviour {
    /// First, so a connection over the limits is refused before any other
    /// behaviour sets anything up for it.
    limits: libp2p::connection_limits::Behaviour,
    relay: gossipsub::Behaviour,
    metadata: request_response::Behaviour<metadata::Codec>,
    lightpush: request_response::Behaviour<lightpush::Codec>,
    filter_subscribe: request_response::Behaviour<filter::SubscribeCodec>,
    filter_push: request_response::Behaviour<filter::PushCodec>,
    store: request_response::Behaviour<crate::store::Codec>,
    peer_exchange: request_response::Behaviour<peer_exchange::Codec>,
    identify: identify::Behaviour,
    ping: ping::Behaviour,
}

enum Command {
    Subscribe {
        content_topic: String,
        sender: mpsc::Sender<Received>,
    },
    Publish {
        topic: PubsubTopic,
        message: WakuMessage,
        reply: oneshot::Sender<Result<Published, PublishError>>,
    },
    Peers {
        reply: oneshot::Sender<Vec<PeerInfo>>,
    },
    Dial {
        address: Multiaddr,
    },
    StoreQuery {
        request: crate::store::StoreQueryRequest,
        reply: oneshot::Sender<Result<crate::store::StoreQueryResponse, StoreError>>,
    },
    Shutdown {
        reply: oneshot::Sender<()>,
    },
}

/// A handle on a running Waku node; clones share the node.
#[derive(Clone, Debug)]
pub struct WakuNode {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    commands: mpsc::Sender<Command>,
    events: broadcast::Sender<NodeEvent>,
    peer_id: PeerId,
    listen_addrs: Vec<Multiaddr>,
    shards: Vec<Shard>,
    mode: Mode,
    enr: Option<String>,
    reach: tokio::sync::watch::Receiver<Reach>,
}

/// Messages of one content topic, as they arrive. Dropping it unsubscribes.
#[derive(Debug)]
pub struct Subscription {
    receiver: mpsc::Receiver<Received>,
}

impl Subscription {
    /// The next message; `None` once the node stopped.
    ///
    /// Cancel-safe: yes.
    pub async fn next(&mut self) -> Option<Received> {
        self.receiver.recv().await
    }
}

/// Counts messages dropped because a subscriber was behind, and says so in
/// the log at most every [`BehindTally::EVERY`]: a flood must not become a
/// flood of log lines too.
#[derive(Debug, Default)]
struct BehindTally {
    dropped: u64,
    told_at: Option<Instant>,
}

impl BehindTally {
    const EVERY: Duration = Duration::from_secs(10);

    fn dropped(&mut self, content_topic: &str, now: Instant) {
        self.dropped += 1;
        if self
            .told_at
            .is_none_or(|at| now.duration_since(at) >= Self::EVERY)
        {
            tracing::warn!(
                content_topic,
                dropped = self.dropped,
                "a subscriber is behind; dropped messages (said at most every 10 s)"
            );
            self.dropped = 0;
            self.told_at = Some(now);
        }
    }
}

impl WakuNode {
    /// Starts a node: builds the transport (TCP and websocket, noise, yamux
    /// and mplex, DNS), listens, dials the bootstrap peers, and returns once
    /// every listen address is bound.
    pub async fn start(config: Config) -> Result<WakuNode, StartError> {
        let first = *config.shards.first().ok_or(StartError::NoShard)?;
        if config.shards.iter().any(|s| s.cluster != first.cluster) {
            return Err(StartError::MixedClusters);
        }
        let keypair = config
            .keypair
            .clone()
            .unwrap_or_else(identity::Keypair::generate_secp256k1);
        let archive = match (&config.store, config.mode) {
            (Some(store), Mode::Relay) => {
                let archive = store.open().map_err(|e| StartError::Store(e.to_string()))?;
                Some(
                    crate::store::service::ArchiveWorker::start(archive)
                        .map_err(|e| StartError::Store(e.to_string()))?,
                )
            }
            _ => None,
        };
        let mut swarm = build_swarm(keypair.clone(), &config).await?;
        // The node's own bootstrap peers never count against its limits.
        for address in &config.bootstrap {
            if let Some(libp2p::multiaddr::Protocol::P2p(peer)) = address.iter().last() {
                swarm.behaviour_mut().limits.bypass_peer_id(&peer);
            }
        }
        // A light node joins no mesh.
        let meshes = if config.mode == Mode::Relay {
            config.shards.as_slice()
        } else {
            &[]
        };
        for shard in meshes {
            let topic = IdentTopic::new(PubsubTopic::static_shard(*shard).as_str());
            swarm
                .behaviour_mut()
                .relay
                .subscribe(&topic)
                .map_err(|e| StartError::Transport(e.to_string()))?;
        }
        let mut pending = Vec::new();
        for address in &config.listen {
            let id = swarm
                .listen_on(address.clone())
                .map_err(|e| StartError::Listen {
                    address: address.clone(),
                    reason: e.to_string(),
                })?;
            pending.push((id, address.clone()));
        }
        let mut listen_addrs = Vec::new();
        // Wait until each listener has an address (port 0 resolved).
        while !pending.is_empty() {
            let event = tokio::time::timeout(Duration::from_secs(10), swarm.select_next_some())
                .await
                .map_err(|_| StartError::Transport("listeners did not come up in 10 s".into()))?;
            match event {
                SwarmEvent::NewListenAddr {
                    listener_id,
                    address,
                } => {
                    pending.retain(|(id, _)| *id != listener_id);
                    listen_addrs.push(address);
                }
                SwarmEvent::ListenerError { listener_id, error }
                | SwarmEvent::ListenerClosed {
                    listener_id,
                    reason: Err(error),
                    ..
                } => {
                    let address = pending
                        .iter()
                        .find(|(id, _)| *id == listener_id)
                        .map(|(_, a)| a.clone())
                        .unwrap_or_else(Multiaddr::empty);
                    return Err(StartError::Listen {
                        address,
                        reason: error.to_string(),
                    });
                }
                _ => {}
            }
        }
        let peer_id = *swarm.local_peer_id();
        let signing_key = crate::enr::signing_key(&keypair);
        let record = match &signing_key {
            Some(key) => Some(
                own_record(&config, &listen_addrs, archive.is_some())
                    .sign(key)
                    .map_err(|e| StartError::Discovery(e.to_string()))?,
            ),
            None => None,
        };
        let (commands, command_rx) = mpsc::channel(COMMAND_BUFFER);
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let (reach_tx, reach) = tokio::sync::watch::channel(Reach::NotYet);
        let mut driver = Driver::new(swarm, &config, events.clone(), archive, reach_tx);
        if let Some(discv5) = &config.discovery.discv5 {
            let (Some(key), Some(record)) = (&signing_key, &record) else {
                return Err(StartError::Discovery(
                    "discv5 needs a secp256k1 node key".into(),
                ));
            };
            let (stop, stopped) = oneshot::channel();
            crate::discovery::discv5::spawn(
                key,
                record.clone(),
                discv5,
                driver.found_tx.clone(),
                stopped,
            )
            .await
            .map_err(|e| StartError::Discovery(e.to_string()))?;
            driver.discovery_stop.push(stop);
        }
        if !config.discovery.dns.is_empty() {
            let (stop, stopped) = oneshot::channel();
            discovery::spawn_dns(&config.discovery, driver.found_tx.clone(), stopped)
                .map_err(StartError::Discovery)?;
            driver.discovery_stop.push(stop);
        }
        for address in &config.bootstrap {
            driver.dial_bootstrap(address.clone());
        }
        tokio::spawn(driver.run(command_rx));
        Ok(WakuNode {
            inner: Arc::new(Inner {
                commands,
                events,
                peer_id,
                listen_addrs,
                shards: config.shards,
                mode: config.mode,
                enr: record.map(|r| r.to_base64()),
                reach,
            }),
        })
    }

    /// The node's libp2p peer id.
    pub fn peer_id(&self) -> PeerId {
        self.inner.peer_id
    }

    /// The addresses the node listens on, each ending in `/p2p/<peer id>`.
    pub fn listen_addrs(&self) -> Vec<Multiaddr> {
        self.inner
            .listen_addrs
            .iter()
            .map(|a| a.clone().with_p2p(self.inner.peer_id).unwrap_or_else(|a| a))
            .collect()
    }

    /// The node's signed record (`enr:…`): what discv5 and peer exchange
    /// give out, and what an operator puts in a DNS tree or another node's
    /// discv5 bootstrap list. `None` unless the node key is secp256k1.
    pub fn enr(&self) -> Option<&str> {
        self.inner.enr.as_deref()
    }

    /// Whether the node relays or is a light node.
    pub fn mode(&self) -> Mode {
        self.inner.mode
    }

    /// Whether the network reaches the node now; changes come as
    /// [`NodeEvent::Reachable`] and [`NodeEvent::Cut`].
    pub fn reach(&self) -> Reach {
        *self.inner.reach.borrow()
    }

    /// The pubsub topic NodePair publishes on: the node's first shard.
    pub fn default_topic(&self) -> PubsubTopic {
        PubsubTopic::static_shard(self.inner.shards[0])
    }

    /// Connection events, from now on.
    pub fn events(&self) -> broadcast::Receiver<NodeEvent> {
        self.inner.events.subscribe()
    }

    async fn send(&self, command: Command) -> Result<(), Stopped> {
        self.inner.commands.send(command).await.map_err(|_| Stopped)
    }

    /// Delivers every new message with this content topic, on any relayed
    /// shard, once each.
    pub async fn subscribe(&self, content_topic: &str) -> Result<Subscription, Stopped> {
        let (sender, receiver) = mpsc::channel(SUBSCRIPTION_BUFFER);
        self.send(Command::Subscribe {
            content_topic: content_topic.to_owned(),
            sender,
        })
        .await?;
        Ok(Subscription { receiver })
    }

    /// Publishes on the default topic; a missing timestamp is set to now, so
    /// a repeat of the same payload is a new message to the network.
    pub async fn publish(&self, message: WakuMessage) -> Result<Published, PublishError> {
        self.publish_on(self.default_topic(), message).await
    }

    /// Publishes on `topic`, which the node must relay.
    pub async fn publish_on(
        &self,
        topic: PubsubTopic,
        mut message: WakuMessage,
    ) -> Result<Published, PublishError> {
        if message.timestamp.is_none() {
            message.timestamp = Some(now_ns());
        }
        let (reply, answer) = oneshot::channel();
        self.send(Command::Publish {
            topic,
            message,
            reply,
        })
        .await
        .map_err(|_| PublishError::Stopped)?;
        answer.await.map_err(|_| PublishError::Stopped)?
    }

    /// The peers connected now.
    pub async fn peers(&self) -> Result<Vec<PeerInfo>, Stopped> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Peers { reply }).await?;
        answer.await.map_err(|_| Stopped)
    }

    /// Dials a peer once (no redial if it drops).
    pub async fn dial(&self, address: Multiaddr) -> Result<(), Stopped> {
        self.send(Command::Dial { address }).await
    }

    /// Stops the node and waits until its connections are closed.
    pub async fn shutdown(&self) {
        let (reply, done) = oneshot::channel();
        if self.send(Command::Shutdown { reply }).await.is_ok() {
            let _ = done.await;
        }
    }
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// What a node says about itself in its record: where it listens (a fixed
/// advertise address standing in for `0.0.0.0`), what it serves, its shards.
fn own_record(config: &Config, listen: &[Multiaddr], store: bool) -> OwnRecord {
    let mut record = OwnRecord {
        udp: config.discovery.discv5.as_ref().map(|d| d.listen.port()),
        capabilities: match config.mode {
            Mode::Relay => Capabilities {
                relay: true,
                store,
                filter: true,
                lightpush: true,
            },
            Mode::Light => Capabilities::default(),
        },
        shards: config.shards.first().map(|first| RelayShards {
            cluster: first.cluster,
            shards: config.shards.iter().map(|s| s.shard).collect(),
        }),
        ..OwnRecord::default()
    };
    let specified = |ip: std::net::Ipv4Addr| (!ip.is_unspecified()).then_some(ip);
    record.ip = config.discovery.advertise_ip.or_else(|| {
        config
            .discovery
            .discv5
            .as_ref()
            .and_then(|d| match d.listen.ip() {
                std::net::IpAddr::V4(ip) => specified(ip),
                std::net::IpAddr::V6(_) => None,
            })
    });
    for address in listen {
        let parts: Vec<Protocol<'_>> = address.iter().collect();
        match parts.as_slice() {
            [Protocol::Ip4(ip), Protocol::Tcp(port)] if record.tcp.is_none() => {
                record.tcp = Some(*port);
                record.ip = record.ip.or_else(|| specified(*ip));
            }
            [Protocol::Ip4(ip), Protocol::Tcp(_), Protocol::Ws(_)] if !ip.is_unspecified() => {
                record.multiaddrs.push(address.clone());
            }
            _ => {}
        }
    }
    record
}

async fn build_swarm(
    keypair: identity::Keypair,
    config: &Config,
) -> Result<Swarm<Behaviour>, StartError> {
    let err = |e: &dyn std::fmt::Display| StartError::Transport(e.to_string());
    let agent = config.agent.clone();
    let builder = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            (yamux::Config::default, libp2p_mplex::Config::new),
        )
        .map_err(|e| err(&e))?
        .with_dns()
        .map_err(|e| err(&e))?;
    let builder = builder
        .with_websocket(
            noise::Config::new,
            (yamux::Config::default, libp2p_mplex::Config::new),
        )
        .await
        .map_err(|e| err(&e))?;
    let swarm = builder
        .with_behaviour(|key| Behaviour {
            limits: libp2p::connection_limits::Behaviour::new(config.connection_limits.clone()),
            relay: relay::behaviour(),
            metadata: metadata::behaviour(),
            lightpush: lightpush::behaviour(config.mode == Mode::Relay),
            filter_subscribe: filter::subscribe_behaviour(config.mode == Mode::Relay),
            filter_push: filter::push_behaviour(),
            store: crate::store::behaviour(config.mode == Mode::Relay && config.store.is_some()),
            peer_exchange: peer_exchange::behaviour(config.mode == Mode::Relay),
            identify: identify::Behaviour::new(
                identify::Config::new("ipfs/0.1.0".into(), key.public()).with_agent_version(agent),
            ),
            ping: ping::Behaviour::new(ping::Config::new()),
        })
        .map_err(|e| err(&e))?
        // gossipsub keeps only mesh peers alive; keep the rest a while too.
        .with_swarm_config(|c| {
            c.with_idle_connection_timeout(Duration::from_secs(60))
                // Streams a peer may open before they are negotiated.
                .with_max_negotiating_inbound_streams(32)
        })
        .build();
    Ok(swarm)
}

/// A bootstrap address and when to dial it again.
struct Redial {
    address: Multiaddr,
    at: Instant,
    delay: Duration,
}

/// Owns the swarm; runs in its own task until shut down.
struct Driver {
    swarm: Swarm<Behaviour>,
    shards: Vec<Shard>,
    events: broadcast::Sender<NodeEvent>,
    /// Subscribers per content topic.
    subscriptions: HashMap<String, Vec<mpsc::Sender<Received>>>,
    /// Messages a subscriber was too far behind to take.
    behind: BehindTally,
    /// Hashes delivered, oldest first, to deliver each message once.
    seen: HashSet<MessageHash>,
    seen_order: VecDeque<MessageHash>,
    dedup_capacity: usize,
    /// Identify answers, per peer.
    identified: HashMap<PeerId, identify::Info>,
    /// The remote address of the first connection to each peer.
    addresses: HashMap<PeerId, Multiaddr>,
    /// Bootstrap addresses and the peer each reached.
    bootstrap_peers: HashMap<Multiaddr, PeerId>,
    /// Bootstrap dials in flight: the address and the delay that preceded it.
    dialling: HashMap<ConnectionId, (Multiaddr, Option<Duration>)>,
    /// Re-dials due later.
    redials: Vec<Redial>,
    redial_initial: Duration,
    redial_max: Duration,
    mode: Mode,
    /// Relay mode: the light nodes subscribed through filter.
    filter_subscribers: Subscriptions,
    next_expiry: Instant,
    /// Light mode: the service nodes used and what is asked of them.
    light: light::LightClient,
    /// Relay mode with a store: what was relayed, kept and queried on a
    /// thread of its own.
    archive: Option<crate::store::service::ArchiveWorker>,
    /// The archive's answers to store queries, to send.
    store_answers: Option<mpsc::Receiver<crate::store::service::Answered>>,
    /// Who may query the store how often.
    store_gate: crate::store::service::QueryGate,
    /// Store queries in flight, and who waits for each.
    store_queries: HashMap<
        request_response::OutboundRequestId,
        oneshot::Sender<Result<crate::store::StoreQueryResponse, StoreError>>,
    >,
    /// How peers are found.
    discovery: DiscoveryConfig,
    /// Records found by discovery.
    book: PeerBook,
    /// Where discovery sources send what they find (kept open here).
    found_tx: mpsc::Sender<(Source, Vec<WakuEnr>)>,
    found_rx: mpsc::Receiver<(Source, Vec<WakuEnr>)>,
    /// Dropped with the driver, which stops the discovery tasks.
    discovery_stop: Vec<oneshot::Sender<()>>,
    /// Dials of discovered peers in flight.
    discovery_dials: HashMap<ConnectionId, PeerId>,
    /// When each peer was last asked for peers.
    peer_exchange_asked: HashMap<PeerId, Instant>,
    /// Moves where peer exchange answers start in the book.
    peer_exchange_served: usize,
    /// Whether the network reaches us, as last said.
    reach: tokio::sync::watch::Sender<Reach>,
}

impl Driver {
    fn new(
        swarm: Swarm<Behaviour>,
        config: &Config,
        events: broadcast::Sender<NodeEvent>,
        archive: Option<(
            crate::store::service::ArchiveWorker,
            mpsc::Receiver<crate::store::service::Answered>,
        )>,
        reach: tokio::sync::watch::Sender<Reach>,
    ) -> Self {
        let (archive, store_answers) = archive.unzip();
        let own = *swarm.local_peer_id();
        let (found_tx, found_rx) = mpsc::channel(16);
        Driver {
            swarm,
            shards: config.shards.clone(),
            events,
            subscriptions: HashMap::new(),
            behind: BehindTally::default(),
            seen: HashSet::new(),
            seen_order: VecDeque::new(),
            dedup_capacity: config.dedup_capacity.max(1),
            identified: HashMap::new(),
            addresses: HashMap::new(),
            bootstrap_peers: HashMap::new(),
            dialling: HashMap::new(),
            redials: Vec::new(),
            redial_initial: config.redial_initial,
            redial_max: config.redial_max,
            mode: config.mode,
            filter_subscribers: Subscriptions::new(config.filter_limits),
            next_expiry: Instant::now(),
            light: light::LightClient::new(config.filter_ping_interval),
            archive,
            store_answers,
            store_gate: crate::store::service::QueryGate::new(config.store_query_limits),
            store_queries: HashMap::new(),
            discovery: config.discovery.clone(),
            book: PeerBook::new(own, config.shards.first().map_or(0, |s| s.cluster), 1000)
                .dialling_private(config.discovery.dial_private),
            found_tx,
            found_rx,
            discovery_stop: Vec::new(),
            discovery_dials: HashMap::new(),
            peer_exchange_asked: HashMap::new(),
            peer_exchange_served: 0,
            reach,
        }
    }

    /// Says whether the network reaches us, when that changed.
    fn update_reach(&mut self) {
        let has_peer = self.swarm.connected_peers().next().is_some();
        let reached = match self.mode {
            Mode::Relay => has_peer,
            Mode::Light => self.light.receiving(has_peer),
        };
        let now = *self.reach.borrow();
        let next = match (now, reached) {
            (Reach::Reachable, true) | (Reach::NotYet | Reach::Cut { .. }, false) => return,
            (_, true) => Reach::Reachable,
            (Reach::Reachable, false) => Reach::Cut {
                since: SystemTime::now(),
            },
        };
        self.reach.send_replace(next);
        self.emit(match next {
            Reach::Cut { since } => NodeEvent::Cut { since },
            _ => NodeEvent::Reachable,
        });
    }

    fn ours(&self) -> Metadata {
        Metadata::ours(&self.shards)
    }

    /// Dials a bootstrap address; `after` is the delay that preceded this
    /// attempt, so a failure waits longer next time.
    fn dial_bootstrap_after(&mut self, address: Multiaddr, after: Option<Duration>) {
        let opts = DialOpts::unknown_peer_id().address(address.clone()).build();
        let id = opts.connection_id();
        match self.swarm.dial(opts) {
            Ok(()) => {
                self.dialling.insert(id, (address, after));
            }
            Err(e) => {
                tracing::warn!(%address, error = %e, "cannot dial bootstrap peer");
                self.schedule_redial(address, after);
            }
        }
    }

    fn dial_bootstrap(&mut self, address: Multiaddr) {
        self.dial_bootstrap_after(address, None);
    }

    fn schedule_redial(&mut self, address: Multiaddr, previous: Option<Duration>) {
        if self.redials.iter().any(|r| r.address == address) {
            return;
        }
        let delay = previous.map_or(self.redial_initial, |d| (d * 2).min(self.redial_max));
        self.redials.push(Redial {
            address,
            at: Instant::now() + delay,
            delay,
        });
    }

    async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        loop {
            tokio::select! {
                event = self.swarm.select_next_some() => self.handle_swarm_event(event),
                command = commands.recv() => match command {
                    Some(Command::Shutdown { reply }) => {
                        let peers: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
                        for peer in peers {
                            let _ = self.swarm.disconnect_peer_id(peer);
                        }
                        let _ = reply.send(());
                        return;
                    }
                    Some(command) => self.handle_command(command),
                    None => return,
                },
                Some((source, records)) = self.found_rx.recv() => self.discovered(source, records),
                Some((channel, response)) = async {
                    match self.store_answers.as_mut() {
                        Some(answers) => answers.recv().await,
                        None => std::future::pending().await,
                    }
                } => {
                    let _ = self.swarm.behaviour_mut().store.send_response(channel, response);
                }
                _ = tick.tick() => {
                    self.redial_due();
                    self.light_tick();
                    self.discovery_tick();
                }
            }
            self.update_reach();
        }
    }

    fn redial_due(&mut self) {
        let now = Instant::now();
        let (due, later): (Vec<_>, Vec<_>) = self.redials.drain(..).partition(|r| r.at <= now);
        self.redials = later;
        for r in due {
            tracing::debug!(address = %r.address, "re-dialling bootstrap peer");
            self.dial_bootstrap_after(r.address, Some(r.delay));
        }
    }

    fn handle_command(&mut self, command: Command) {
        match command {
            Command::Subscribe {
                content_topic,
                sender,
            } => {
                if self.mode == Mode::Light {
                    self.light_subscribe(&content_topic);
                }
                self.subscriptions
                    .entry(content_topic)
                    .or_default()
                    .push(sender);
            }
            Command::Publish {
                topic,
                message,
                reply,
            } => match self.mode {
                Mode::Relay => {
                    let _ = reply.send(self.publish(topic, message));
                }
                Mode::Light => self.light_publish(topic, message, reply),
            },
            Command::Peers { reply } => {
                let _ = reply.send(self.peers());
            }
            Command::StoreQuery { request, reply } => self.store_query(request, reply),
            Command::Dial { address } => {
                if let Err(e) = self.swarm.dial(address.clone()) {
                    tracing::warn!(%address, error = %e, "cannot dial");
                }
            }
            Command::Shutdown { .. } => unreachable!("handled in run"),
        }
    }

    fn publish(
        &mut self,
        topic: PubsubTopic,
        message: WakuMessage,
    ) -> Result<Published, PublishError> {
        self.relay_out(topic, &message, false)
            .map(|(published, _)| published)
    }

    /// Sends a message out on a topic this node relays: to the mesh, to the
    /// light nodes subscribed here, and, for a message a light node pushed
    /// (`pushed_by_light`), to this node's own subscribers once. Returns what
    /// the mesh took and how many subscribers here got it.
    fn relay_out(
        &mut self,
        topic: PubsubTopic,
        message: &WakuMessage,
        pushed_by_light: bool,
    ) -> Result<(Published, usize), PublishError> {
        let data = message.encode_to_vec();
        relay::validate(&data).map_err(|e| PublishError::Invalid(e.to_string()))?;
        if !self
            .shards
            .iter()
            .any(|s| PubsubTopic::static_shard(*s) == topic)
        {
            return Err(PublishError::NotOurTopic(topic));
        }
        let hash = message.hash(topic.as_str());
        let new = self.remember(hash);
        // Light nodes subscribed here get it whether or not the mesh does;
        // our own subscribers only hear what others sent, once.
        let reached = if pushed_by_light {
            if new {
                self.fan_out(&topic, message, hash, true)
            } else {
                0
            }
        } else {
            self.fan_out(&topic, message, hash, false)
        };
        let ident = IdentTopic::new(topic.as_str());
        let relay = &mut self.swarm.behaviour_mut().relay;
        let published = relay.publish(ident.clone(), data);
        let mesh_peers = relay.mesh_peers(&ident.hash()).count();
        match published {
            // A duplicate: the same bytes went out moments ago.
            Ok(_) | Err(gossipsub::PublishError::Duplicate) => {
                Ok((Published { hash, mesh_peers }, reached))
            }
            Err(gossipsub::PublishError::NoPeersSubscribedToTopic) if reached > 0 => Ok((
                Published {
                    hash,
                    mesh_peers: 0,
                },
                reached,
            )),
            Err(gossipsub::PublishError::NoPeersSubscribedToTopic) => {
                Err(PublishError::NoPeers(topic))
            }
            Err(e) => Err(PublishError::Invalid(e.to_string())),
        }
    }

    /// The pubsub topic a request names, or the node's first shard.
    fn topic_or_default(&self, topic: Option<&str>) -> PubsubTopic {
        topic.map_or_else(
            || PubsubTopic::static_shard(self.shards[0]),
            PubsubTopic::named,
        )
    }

    fn peers(&self) -> Vec<PeerInfo> {
        let mut out = Vec::new();
        for peer_id in self.swarm.connected_peers() {
            let info = self.identified.get(peer_id);
            out.push(PeerInfo {
                peer_id: *peer_id,
                address: self
                    .addresses
                    .get(peer_id)
                    .cloned()
                    .unwrap_or_else(Multiaddr::empty),
                protocols: info
                    .map(|i| i.protocols.iter().map(StreamProtocol::to_string).collect())
                    .unwrap_or_default(),
                agent: info.map(|i| i.agent_version.clone()).unwrap_or_default(),
            });
        }
        out.sort_by_key(|p| p.peer_id);
        out
    }

    fn emit(&self, event: NodeEvent) {
        // No reader is fine: events are offered, not owed.
        let _ = self.events.send(event);
    }

    fn handle_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::ConnectionEstablished {
                peer_id,
                endpoint,
                num_established,
                connection_id,
                ..
            } => {
                if let Some((address, _)) = self.dialling.remove(&connection_id) {
                    self.bootstrap_peers.insert(address, peer_id);
                }
                self.discovery_dial_done(connection_id, true);
                if num_established.get() == 1 {
                    self.addresses
                        .insert(peer_id, endpoint.get_remote_address().clone());
                    let ours = self.ours();
                    self.swarm
                        .behaviour_mut()
                        .metadata
                        .send_request(&peer_id, ours);
                    self.emit(NodeEvent::PeerConnected {
                        peer_id,
                        address: endpoint.get_remote_address().clone(),
                    });
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                ..
            } => {
                self.identified.remove(&peer_id);
                self.addresses.remove(&peer_id);
                let lost: Vec<Multiaddr> = self
                    .bootstrap_peers
                    .iter()
                    .filter(|(_, p)| **p == peer_id)
                    .map(|(a, _)| a.clone())
                    .collect();
                for address in lost {
                    tracing::info!(%address, "bootstrap peer disconnected; will re-dial");
                    self.schedule_redial(address, None);
                }
                if self.mode == Mode::Light {
                    self.light_peer_gone(peer_id);
                }
                self.emit(NodeEvent::PeerDisconnected { peer_id });
            }
            SwarmEvent::OutgoingConnectionError {
                connection_id,
                peer_id,
                error,
            } => {
                tracing::debug!(?peer_id, %error, "dial failed");
                if let Some((address, after)) = self.dialling.remove(&connection_id) {
                    self.schedule_redial(address, after);
                }
                self.discovery_dial_done(connection_id, false);
            }
            SwarmEvent::Behaviour(BehaviourEvent::Relay(event)) => self.handle_relay(event),
            SwarmEvent::Behaviour(BehaviourEvent::Metadata(event)) => self.handle_metadata(event),
            SwarmEvent::Behaviour(BehaviourEvent::Lightpush(event)) => {
                self.handle_lightpush(event);
            }
            SwarmEvent::Behaviour(BehaviourEvent::FilterSubscribe(event)) => {
                self.handle_filter_subscribe(event);
            }
            SwarmEvent::Behaviour(BehaviourEvent::FilterPush(event)) => {
                self.handle_filter_push(event);
            }
            SwarmEvent::Behaviour(BehaviourEvent::Store(event)) => self.handle_store(event),
            SwarmEvent::Behaviour(BehaviourEvent::PeerExchange(event)) => {
                self.handle_peer_exchange(event);
            }
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
                peer_id,
                info,
                ..
            })) => {
                self.identified.insert(peer_id, info);
                if self.mode == Mode::Light {
                    self.light_ensure_service();
                }
            }
            _ => {}
        }
    }

    fn handle_relay(&mut self, event: gossipsub::Event) {
        let gossipsub::Event::Message {
            propagation_source,
            message_id,
            message,
        } = event
        else {
            return;
        };
        let relay = &mut self.swarm.behaviour_mut().relay;
        let decoded = match relay::validate(&message.data) {
            Ok(m) => {
                relay.report_message_validation_result(
                    &message_id,
                    &propagation_source,
                    MessageAcceptance::Accept,
                );
                m
            }
            Err(error) => {
                tracing::info!(peer = %propagation_source, %error, "dropped a relayed message");
                relay.report_message_validation_result(
                    &message_id,
                    &propagation_source,
                    MessageAcceptance::Reject,
                );
                return;
            }
        };
        let topic = PubsubTopic::named(message.topic.as_str());
        let hash = decoded.hash(topic.as_str());
        if self.remember(hash) {
            self.fan_out(&topic, &decoded, hash, true);
        }
    }

    /// Records a message's hash; `false` if it was delivered before.
    fn remember(&mut self, hash: MessageHash) -> bool {
        if !self.seen.insert(hash) {
            return false;
        }
        self.seen_order.push_back(hash);
        if self.seen_order.len() > self.dedup_capacity
            && let Some(old) = self.seen_order.pop_front()
        {
            self.seen.remove(&old);
        }
        true
    }

    /// Hands a message to this node's subscribers (when `local`) and pushes
    /// it to the light nodes subscribed here; returns how many got it.
    fn fan_out(
        &mut self,
        topic: &PubsubTopic,
        message: &WakuMessage,
        hash: MessageHash,
        local: bool,
    ) -> usize {
        self.archive(topic, message, hash);
        let mut reached = 0;
        if local && let Some(subscribers) = self.subscriptions.get_mut(&message.content_topic) {
            let received = Received {
                pubsub_topic: topic.clone(),
                message: message.clone(),
                hash,
            };
            let behind = &mut self.behind;
            subscribers.retain(|tx| match tx.try_send(received.clone()) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    behind.dropped(&received.message.content_topic, Instant::now());
                    true
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            });
            reached += subscribers.len();
        }
        if self.mode == Mode::Relay {
            for peer in self
                .filter_subscribers
                .matching(topic.as_str(), &message.content_topic)
            {
                self.swarm.behaviour_mut().filter_push.send_request(
                    &peer,
                    MessagePush {
                        waku_message: Some(message.clone()),
                        pubsub_topic: Some(topic.as_str().to_owned()),
                    },
                );
                reached += 1;
            }
        }
        reached
    }

    fn handle_metadata(&mut self, event: request_response::Event<Metadata, Metadata>) {
        let request_response::Event::Message { peer, message, .. } = event else {
            if let request_response::Event::OutboundFailure { peer, error, .. } = event {
                tracing::debug!(%peer, %error, "metadata request failed");
            }
            return;
        };
        let theirs = match message {
            RrMessage::Request {
                request, channel, ..
            } => {
                let ours = self.ours();
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .metadata
                    .send_response(channel, ours);
                request
            }
            RrMessage::Response { response, .. } => response,
        };
        if let Err(reason) = metadata::check(
            self.shards[0].cluster,
            &self.shards.iter().map(|s| s.shard).collect::<Vec<_>>(),
            &theirs,
        ) {
            tracing::info!(%peer, %reason, "disconnecting a peer that does not fit");
            let _ = self.swarm.disconnect_peer_id(peer);
            self.emit(NodeEvent::PeerRejected {
                peer_id: peer,
                reason,
            });
        }
    }
}
