//! The relay node's side for light nodes: relaying their pushes, holding their filter subscriptions.

use super::*;
use crate::filter::FilterStatus;
use crate::filter::subscriptions::Subscriptions;

/// How often a relay node drops filter subscribers that stopped pinging.
const EXPIRY_EVERY: Duration = Duration::from_secs(10);

/// A relay node's service to light nodes: who is subscribed to what.
pub(super) struct LightService {
    /// The light nodes subscribed through filter.
    pub(super) subscribers: Subscriptions,
    /// When subscribers that stopped pinging are next dropped.
    pub(super) next_expiry: Instant,
}

impl LightService {
    pub(super) fn new(limits: crate::filter::subscriptions::Limits) -> Self {
        LightService {
            subscribers: Subscriptions::new(limits),
            next_expiry: Instant::now(),
        }
    }
}

impl Driver {
    /// Relay mode: relays a light node's message and says how it went.
    pub(super) fn serve_lightpush(&mut self, peer: PeerId, request: PushRequest) -> PushResponse {
        let id = request.request_id;
        let topic = self.topic_or_default(request.pubsub_topic.as_deref());
        match self.relay_out(topic, &request.message, true) {
            Ok((published, reached)) => PushResponse {
                request_id: id,
                status: PushStatus::SUCCESS,
                description: None,
                relay_peer_count: Some(
                    u32::try_from(published.mesh_peers.max(reached)).unwrap_or(u32::MAX),
                ),
            },
            Err(PublishError::NotOurTopic(topic)) => PushResponse::failure(
                &id,
                PushStatus::UNSUPPORTED_PUBSUB_TOPIC,
                format!("this node does not relay {topic}"),
            ),
            Err(PublishError::NoPeers(topic)) => PushResponse::failure(
                &id,
                PushStatus::NO_PEERS_TO_RELAY,
                format!("no relay peer for {topic}"),
            ),
            Err(PublishError::Invalid(why)) => {
                tracing::info!(%peer, error = %why, "refused a light push");
                let too_large = request.message.encoded_len() > crate::message::MAX_MESSAGE_SIZE;
                let status = if too_large {
                    PushStatus::PAYLOAD_TOO_LARGE
                } else {
                    PushStatus::BAD_REQUEST
                };
                PushResponse::failure(&id, status, why)
            }
            Err(e) => PushResponse::failure(&id, PushStatus::INTERNAL_SERVER_ERROR, e.to_string()),
        }
    }

    /// A light node asks this node's filter service.
    pub(super) fn serve_filter_subscribe(
        &mut self,
        peer: PeerId,
        request: SubscribeRequest,
        channel: request_response::ResponseChannel<SubscribeResponse>,
    ) {
        let shards = self.shards.clone();
        let serves = |t: &str| {
            shards
                .iter()
                .any(|s| PubsubTopic::static_shard(*s).as_str() == t)
        };
        let response = if self.mode == Mode::Relay {
            self.service
                .subscribers
                .apply(peer, &request, serves, Instant::now().into_std())
        } else {
            SubscribeResponse::new(
                &request.request_id,
                FilterStatus::SERVICE_UNAVAILABLE,
                Some("a light node serves no filter".into()),
            )
        };
        if response.status_code != FilterStatus::OK {
            tracing::info!(%peer, code = response.status_code, why = response.status_desc.as_deref().unwrap_or(""), "refused a filter request");
        }
        let _ = self
            .swarm
            .behaviour_mut()
            .filter_subscribe
            .send_response(channel, response);
    }

    /// A push to one of our filter subscribers failed.
    pub(super) fn filter_push_failed(
        &mut self,
        peer: PeerId,
        error: request_response::OutboundFailure,
    ) {
        use request_response::OutboundFailure;
        // A subscriber we cannot reach, or that does not speak the
        // protocol, is one we stop pushing to; one busy with a burst
        // (timeouts, a stream refused) only after a few in a row.
        let gone = match &error {
            OutboundFailure::DialFailure
            | OutboundFailure::ConnectionClosed
            | OutboundFailure::UnsupportedProtocols => {
                self.service.subscribers.remove(&peer);
                true
            }
            _ => self.service.subscribers.push_failed(&peer),
        };
        if gone {
            tracing::debug!(%peer, %error, "filter push failed; dropping the subscriber");
        } else {
            tracing::trace!(%peer, %error, "filter push failed; the subscriber stays");
        }
    }

    /// Forgets filter subscribers that stopped pinging.
    pub(super) fn service_tick(&mut self) {
        let now = Instant::now();
        if now >= self.service.next_expiry {
            self.service.next_expiry = now + EXPIRY_EVERY;
            for peer in self.service.subscribers.expire(now.into_std()) {
                tracing::debug!(%peer, "filter subscriber stopped pinging; dropped");
            }
        }
    }
}
