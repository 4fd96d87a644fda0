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
//! - [`message`]: the `WakuMessage` envelope (14/WAKU2-MESSAGE) and its
//!   deterministic hash, used for de-duplication and store cursors.

#![deny(missing_docs)]

pub mod message;

pub use message::{MessageHash, WakuMessage};
