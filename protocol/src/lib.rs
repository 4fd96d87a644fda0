//! The rules of NodePair's protocol, decided without IO.
//!
//! A desktop app and a node manager pair once through a short code and then
//! talk through Noise sessions carried over Waku. This crate holds every rule
//! of that exchange as plain functions and state machines: they take the
//! current time, randomness and received bytes as arguments and return what to
//! send and what to persist. Nothing here opens a socket, reads a clock or
//! draws random numbers, so tests drive it deterministically and a second
//! implementation can be written from it (see `docs/protocol.md`).
//!
//! # Layout
//!
//! - [`version`]: the protocol's name and version, bound into every exchange.
//! - [`pairing_code`]: the 64-bit code P, as people read, type and scan it.
//! - [`identity`]: static X25519 key pairs, public keys and node ids.
//! - [`kdf`]: HKDF of the pairing topic and handshake key, and of the
//!   per-pair session topic.
//! - [`sealed`]: the envelope of messages sealed with the handshake key HS.
//! - [`hello`]: HELLO_APP / HELLO_NODE_MANAGER, identities sealed with HS,
//!   and the rules names and capabilities follow.
//! - [`pairing_commit`]: the manager's commitment to its HELLO, sent before
//!   it sees the app's.
//! - [`verification`]: the six digits both people compare.
//! - [`peer_limits`]: what one paired counterparty may ask: requests at
//!   once and per second, state updates.
//! - [`frame`]: what travels inside a session: requests, responses, events,
//!   keepalives, disconnects, state updates.
//! - [`status`]: the 16-bit status codes of responses.
//! - [`wire`]: the version and type bytes every message starts with.
//! - [`session`]: Noise KK sessions over a lossy topic: handshake,
//!   tie-break, transport, keepalive, rekey.
//! - [`replay_window`]: the anti-replay window of a session's receive side.
//! - [`recent_requests`]: the request ids answered lately, so a request
//!   re-sent under new keys runs once.
//! - [`link`]: one paired counterparty at run time: its session, our
//!   requests and their answers, its requests served once, event streams,
//!   revocation, the node state people see.
//! - [`pairing`]: the pairing state machines of both roles, from a code to
//!   the first established session.
//! - [`api`]: the methods a manager answers, with their JSON bodies.
//! - [`node_state`]: the life cycle of a counterparty as both programs show it,
//!   and the transitions the protocol allows.

#![deny(missing_docs)]

pub mod api;
pub mod byte_budget;
pub mod catch_up;
pub mod cut_off;
pub mod frame;
pub mod grants;
pub mod hello;
pub mod identity;
pub mod introduction;
pub mod kdf;
pub mod key_move;
pub mod link;
pub mod node_state;
pub mod pairing;
pub mod pairing_code;
pub mod pairing_commit;
pub mod peer_limits;
pub mod recent_requests;
pub mod replay_window;
pub mod sealed;
pub mod session;
pub mod status;
pub mod verification;
pub mod version;
pub mod wire;

pub use frame::{DisconnectReason, Frame, FrameError};
pub use hello::{Hello, HelloError, Role};
pub use identity::{NodeId, PublicKey, StaticKeypair};
pub use kdf::{PairingKeys, Purpose, session_content_topic};
pub use link::{Link, LinkConfig, LinkEvent};
pub use node_state::{NodeState, TransitionError};
pub use pairing::{LocalIdentity, Pairing, PairingConfig, PairingError, PairingEvent};
pub use pairing_code::{CodeError, PairingCode};
pub use session::{Keepalive, Session, SessionConfig, SessionEvent};
pub use status::Status;
