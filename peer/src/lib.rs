//! The runtime NodePair's app and manager share.
//!
//! Both programs run the same loop: own a Waku node and a keystore, pair in
//! either role, re-open a session with every known counterparty at start-up,
//! keep those sessions alive and retry them when they drop. The rules of all
//! that live in `nodepair-protocol`; this crate only moves bytes between the
//! protocol's state machines and the network, and keeps their timers.
//!
//! # Layout
//!
//! - [`backoff`]: the delays between reconnection attempts.

#![deny(missing_docs)]

pub mod backoff;

pub use backoff::Backoff;
