//! The relay node's side for light nodes: relaying their pushes, holding their filter subscriptions.

use super::*;
use crate::filter::FilterStatus;
use crate::filter::service::FilterService;
use crate::lightpush::service::Relaying;

/// A relay node's service to light nodes: its filter subscribers (light
/// push needs no state).
pub(super) struct LightService {
    pub(super) filter: FilterService,
}

impl LightService {
    pub(super) fn new(limits: crate::filter::subscriptions::Limits) -> Self {
        LightService {
            filter: FilterService::new(limits, std::time::Instant::now()),
        }
    }
}

impl Driver {
    /// Relay mode: relays a light node's message and says how it went.
    pub(super) fn serve_lightpush(&mut self, peer: PeerId, request: PushRequest) -> PushResponse {
        let topic = self.topic_or_default(request.pubsub_topic.as_deref());
        let relaying = match self.relay_out(topic, &request.message, true) {
            Ok((published, reached)) => Relaying::Done {
                peers: published.mesh_peers.max(reached),
            },
            Err(PublishError::NotOurTopic(topic)) => Relaying::NotOurTopic(topic.to_string()),
            Err(PublishError::NoPeers(topic)) => Relaying::NoPeers(topic.to_string()),
            Err(PublishError::Invalid(why)) => {
                tracing::info!(%peer, error = %why, "refused a light push");
                let too_large = request.message.encoded_len() > crate::message::MAX_MESSAGE_SIZE;
                Relaying::Invalid { why, too_large }
            }
            Err(e) => Relaying::Failed(e.to_string()),
        };
        crate::lightpush::service::answer(request.request_id, relaying)
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
                .filter
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
        if self.service.filter.push_failed(&peer, &error) {
            tracing::debug!(%peer, %error, "filter push failed; dropping the subscriber");
        } else {
            tracing::trace!(%peer, %error, "filter push failed; the subscriber stays");
        }
    }

    /// Forgets filter subscribers that stopped pinging.
    pub(super) fn service_tick(&mut self) {
        for peer in self.service.filter.tick(Instant::now().into_std()) {
            tracing::debug!(%peer, "filter subscriber stopped pinging; dropped");
        }
    }
}
