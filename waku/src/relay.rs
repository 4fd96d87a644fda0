//! Waku relay (11/WAKU2-RELAY): gossipsub under the protocol id
//! `/vac/waku/relay/2.0.0`, with anonymous messages whose id is the SHA-256
//! of their data, configured as js-waku and nwaku configure theirs.

use crate::message::{DecodeError, MAX_MESSAGE_SIZE, WakuMessage};
use libp2p::gossipsub::{self, MessageAuthenticity, MessageId, ValidationMode, Version};
use sha2::{Digest, Sha256};
use std::time::Duration;

/// The protocol id, exactly; no `/meshsub` fallback (js-waku offers none).
pub const PROTOCOL: &str = "/vac/waku/relay/2.0.0";

/// gossipsub frames carry a message plus its envelope; leave room for both.
const MAX_TRANSMIT: usize = MAX_MESSAGE_SIZE + 64 * 1024;

/// The message id every Waku node uses: SHA-256 of the gossipsub data (the
/// encoded WakuMessage), topic not included.
pub fn message_id(message: &gossipsub::Message) -> MessageId {
    MessageId::new(&Sha256::digest(&message.data))
}

/// The gossipsub behaviour of a Waku relay node.
///
/// Messages are validated by the node (see [`validate`]) before they are
/// forwarded, so a malformed one is never passed on.
pub fn behaviour() -> gossipsub::Behaviour {
    let config = gossipsub::ConfigBuilder::default()
        .protocol_id(PROTOCOL, Version::V1_1)
        .validation_mode(ValidationMode::Anonymous)
        .message_id_fn(message_id)
        .max_transmit_size(MAX_TRANSMIT)
        .heartbeat_interval(Duration::from_secs(1))
        .heartbeat_initial_delay(Duration::from_millis(100))
        .validate_messages()
        // nwaku's and js-waku's mesh sizes.
        .mesh_n(6)
        .mesh_n_low(4)
        .mesh_n_high(12)
        .mesh_outbound_min(2)
        .duplicate_cache_time(Duration::from_secs(120))
        .build()
        .expect("a valid gossipsub configuration");
    gossipsub::Behaviour::new(MessageAuthenticity::Anonymous, config)
        .expect("anonymous authenticity fits anonymous validation")
}

/// Decides whether a relayed message is accepted and forwarded: it must be a
/// WakuMessage within the size limit, with a payload and a content topic.
pub fn validate(data: &[u8]) -> Result<WakuMessage, DecodeError> {
    WakuMessage::decode_checked(data)
}
