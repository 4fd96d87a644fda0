//! What a node hands back: messages, publishes, peers, events, and its errors.

use super::*;

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
