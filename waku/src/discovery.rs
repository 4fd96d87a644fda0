//! Finding Waku peers: DNS ENR trees (EIP-1459), discv5, and peer exchange.
//!
//! Each source hands the records it finds to the node, which keeps them in a
//! [`peer_book::PeerBook`] and dials from it until it has enough peers; the
//! book is also what a node answers peer exchange queries from.

pub mod address_scope;
pub mod discv5;
pub mod dns;
pub mod enr_tree;
pub mod peer_book;

pub use discv5::Discv5Config;
pub use peer_book::Source;
