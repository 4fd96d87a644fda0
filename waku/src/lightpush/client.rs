//! The light push client: the pushes in flight, matched to their answers, and what each answer means.

use super::{PushRequest, PushResponse, Version};
use crate::message::{MessageHash, WakuMessage};
use crate::topic::PubsubTopic;
use libp2p::PeerId;
use libp2p::request_response::{OutboundFailure, OutboundRequestId};
use std::collections::HashMap;

/// How a push went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PushOutcome {
    /// The service node relayed it to this many relay peers.
    Relayed {
        /// Its relay peers (1 when a v2 service did not say).
        mesh_peers: usize,
    },
    /// It refused, or never answered: its words.
    Failed(String),
}

/// The pushes in flight; `W` is whoever waits for each (a reply channel).
#[derive(Debug)]
pub struct PushClient<W> {
    /// By version and id: each version's behaviour numbers its own
    /// requests, so an id alone may stand for two pushes.
    pushing: HashMap<(Version, OutboundRequestId), (W, MessageHash)>,
}

impl<W> Default for PushClient<W> {
    fn default() -> Self {
        PushClient {
            pushing: HashMap::new(),
        }
    }
}

impl<W> PushClient<W> {
    /// The request that pushes `message` on `topic`, with a fresh id.
    pub fn request(topic: &PubsubTopic, message: WakuMessage) -> PushRequest {
        PushRequest {
            request_id: uuid::Uuid::new_v4().to_string(),
            pubsub_topic: Some(topic.as_str().to_owned()),
            message,
        }
    }

    /// A push went out over `version` as `id`; `waiter` waits for its
    /// outcome.
    pub fn sent(&mut self, version: Version, id: OutboundRequestId, waiter: W, hash: MessageHash) {
        self.pushing.insert((version, id), (waiter, hash));
    }

    /// The answer to `id` over `version`: who waited, the message's hash
    /// and the outcome; `None` for no push of ours.
    pub fn answered(
        &mut self,
        version: Version,
        id: OutboundRequestId,
        response: PushResponse,
    ) -> Option<(W, MessageHash, PushOutcome)> {
        let (waiter, hash) = self.pushing.remove(&(version, id))?;
        let outcome = if response.status.is_success() {
            PushOutcome::Relayed {
                mesh_peers: response.relay_peer_count.map_or(1, |n| n as usize),
            }
        } else {
            PushOutcome::Failed(format!(
                "{} {}",
                response.status.0,
                response.description.unwrap_or_default()
            ))
        };
        Some((waiter, hash, outcome))
    }

    /// `id` over `version` got no answer from `peer`: who waited and why;
    /// `None` for no push of ours.
    pub fn failed(
        &mut self,
        version: Version,
        id: OutboundRequestId,
        peer: PeerId,
        error: &OutboundFailure,
    ) -> Option<(W, PushOutcome)> {
        let (waiter, _) = self.pushing.remove(&(version, id))?;
        Some((
            waiter,
            PushOutcome::Failed(format!("{peer} did not answer: {error}")),
        ))
    }
}
