//! How a node is set up: its shards, addresses, peers, role and limits.

use super::*;

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
            // A bootstrap peer is one of a handful of relays: dialling one
            // every 10 s while it is away costs nothing, and a link that
            // comes back is used within 10 s instead of up to a minute.
            redial_max: Duration::from_secs(10),
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
