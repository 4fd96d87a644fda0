//! Waku v2 in pure Rust, on rust-libp2p.
//!
//! NodePair's two programs reach each other through the Waku v2 network, which
//! relays messages between peers that cannot dial each other. The usual Rust
//! route to Waku (`waku-bindings`) wraps go-waku through cgo and cannot be
//! built in a normal Rust or Tauri build, so this crate speaks the Waku wire
//! protocols itself, interoperable with nwaku, go-waku and js-waku. It moves
//! bytes and keeps timers; it decides nothing about NodePair's own protocol.
//!
//! # Layout
//!
//! - [`node`]: the node (builder, handle, the task that drives the swarm).
//! - [`message`]: the `WakuMessage` envelope (14/WAKU2-MESSAGE) and its
//!   deterministic hash, used for de-duplication and store cursors.
//! - [`topic`]: pubsub topics (static sharding) and content topics
//!   (autosharding).
//! - [`relay`]: 11/WAKU2-RELAY, gossipsub as Waku configures it.
//! - [`metadata`]: `/vac/waku/metadata/1.0.0`, cluster and shard checks.
//! - [`lightpush`]: light push v2 and v3, publishing through a service node.
//! - [`filter`]: filter v2, receiving through a service node, and the
//!   service's subscriber table.
//! - [`store`]: store v3 queries, and the SQLite archive a store node keeps.
//! - [`enr`]: Waku's node records: identity, addresses, capabilities, shards.
//! - [`peer_exchange`]: asking a node for the records of peers it found.
//! - [`discovery`]: finding peers by DNS ENR trees, discv5 and peer exchange.
//! - [`failover`]: which service node a light node asks next after one failed.
//! - `signal`: waiting for SIGINT or SIGTERM (Ctrl+C or the console closing
//!   on Windows), for the daemons.

#![deny(missing_docs)]

pub mod discovery;
pub mod enr;
pub mod failover;
pub mod filter;
pub mod length_prefixed;
pub mod lightpush;
pub mod message;
pub mod metadata;
pub mod node;
pub mod peer_exchange;
pub mod relay;
#[cfg(any(unix, windows))]
pub mod signal;
pub mod store;
pub mod topic;

pub use libp2p::{Multiaddr, PeerId, identity, multiaddr};
pub use message::{MessageHash, WakuMessage};
pub use node::{
    Config, Mode, NodeEvent, PeerInfo, Published, Reach, Received, StoreConfig, StoreError,
    Subscription, WakuNode,
};
pub use topic::{ContentTopic, PubsubTopic, Shard};
