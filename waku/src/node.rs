//! The Waku node: one task drives a libp2p swarm (relay, metadata, light push, filter, identify,
//! ping); [`WakuNode`] is a cheap handle that talks to it over channels.
//!
//! A node runs in one of two [`Mode`]s. A relay node joins the gossipsub mesh
//! of its shards and serves light push and filter to light nodes. A light
//! node joins no mesh: it publishes through a service node's light push and
//! receives through a filter subscription on one, failing over to another
//! connected service node when that one stops answering. Either way the node
//! says whether the network reaches it ([`Reach`]); callers need not know
//! which kind it is.
//!
//! - `node.rs`: the swarm's behaviours, the task's state.
//! - [`config`](self::config): how a node is set up.
//! - [`events`](self::events): what it hands back (messages, events, errors).
//! - [`handle`](self::handle): [`WakuNode`], the handle.
//! - [`start`](self::start): building the transport and starting the task.
//! - [`driver`](self::driver): the task's loop, connections, re-dials, reach.
//! - [`relaying`](self::relaying): the mesh, and delivering each message once.
//! - [`light`](self::light): light push and filter events, to the side they
//!   concern: [`light_client`](self::light_client) (being a light node, type
//!   `LightClient`) or [`light_service`](self::light_service) (serving
//!   light nodes, type `LightService`). Both only move bytes and timers:
//!   what each protocol's client and service decide is in its own module
//!   ([`crate::lightpush::client`], [`crate::lightpush::service`],
//!   [`crate::filter::client`], [`crate::filter::service`]).
//! - [`history`](self::history): store queries and the archive.
//! - [`discovery`](self::discovery): dialling discovered peers, peer exchange.

mod config;
mod discovery;
mod driver;
mod events;
mod handle;
mod history;
mod light;
mod light_client;
mod light_service;
mod relaying;
mod start;

pub use config::{Config, Mode, default_connection_limits};
pub use discovery::DiscoveryConfig;
pub use events::{
    NodeEvent, PeerInfo, PublishError, Published, Reach, Received, StartError, Stopped,
};
use handle::Inner;
pub use handle::{Subscription, WakuNode};
pub use history::{StoreConfig, StoreError};
use relaying::BehindTally;

use crate::discovery::Source;
use crate::discovery::peer_book::PeerBook;
use crate::enr::{Capabilities, OwnRecord, RelayShards, WakuEnr};
use crate::filter::subscriptions::Limits;
use crate::filter::{self, MessagePush, SubscribeRequest, SubscribeResponse};
use crate::lightpush::{self, PushRequest, PushResponse};
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

#[derive(NetworkBehaviour)]
struct Behaviour {
    /// First, so a connection over the limits is refused before any other
    /// behaviour sets anything up for it.
    limits: libp2p::connection_limits::Behaviour,
    relay: gossipsub::Behaviour,
    metadata: request_response::Behaviour<metadata::Codec>,
    /// Light push v3 and v2, a behaviour each (see
    /// [`lightpush::behaviour`]).
    lightpush: request_response::Behaviour<lightpush::Codec>,
    lightpush_v2: request_response::Behaviour<lightpush::Codec>,
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
    /// When this node last published: its connections outlive that by
    /// [`driver::LINGER`] at shutdown.
    last_publish: Option<Instant>,
    redial_initial: Duration,
    redial_max: Duration,
    mode: Mode,
    /// Relay mode: the light nodes subscribed through filter.
    service: light_service::LightService,
    /// Light mode: the service nodes used and what is asked of them.
    light: light_client::LightClient,
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
    /// Incoming connections refused by the connection limits since the
    /// last line said so, and when that was (a line a minute at most).
    denied: (u64, Option<Instant>),
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
            last_publish: None,
            redial_initial: config.redial_initial,
            redial_max: config.redial_max,
            mode: config.mode,
            service: light_service::LightService::new(config.filter_limits),
            light: light_client::LightClient::new(config.filter_ping_interval),
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
            denied: (0, None),
        }
    }
}
