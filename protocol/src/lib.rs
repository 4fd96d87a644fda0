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
//! - [`node_state`]: the life cycle of a counterparty as both programs show it,
//!   and the transitions the protocol allows.

#![deny(missing_docs)]

pub mod node_state;
pub mod version;

pub use node_state::{NodeState, TransitionError};
