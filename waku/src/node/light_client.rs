//! The light node's side: publishing through light push, receiving through a filter subscription, failing over.

use super::{
    Driver, MessagePush, Mode, NodeEvent, PublishError, Published, PushResponse, SubscribeResponse,
};
use crate::failover::Failover;
use crate::filter;
use crate::filter::client::{Answer, FilterClient, Outgoing};
use crate::lightpush;
use crate::lightpush::client::{PushClient, PushOutcome};
use crate::message::{MessageHash, WakuMessage};
use crate::relay;
use crate::topic::PubsubTopic;
use libp2p::PeerId;
use libp2p::request_response::{self, OutboundRequestId};
use prost::Message as _;
use std::collections::{HashSet, VecDeque};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::time::Instant;

/// Own pushes remembered, to drop their echo from the filter service.
const SENT_KEPT: usize = 4096;

type PublishReply = oneshot::Sender<Result<Published, PublishError>>;

/// A light node's state: its filter subscription, its pushes in flight,
/// and the service nodes that failed lately.
pub(super) struct LightClient {
    filter: FilterClient,
    push: PushClient<PublishReply>,
    failover: Failover,
    sent: HashSet<MessageHash>,
    sent_order: VecDeque<MessageHash>,
}

impl LightClient {
    pub(super) fn new(ping_every: Duration) -> Self {
        LightClient {
            filter: FilterClient::new(ping_every, Instant::now()),
            push: PushClient::default(),
            failover: Failover::default(),
            sent: HashSet::new(),
            sent_order: VecDeque::new(),
        }
    }

    /// Whether pushes reach it (see [`FilterClient::receiving`]).
    pub(super) fn receiving(&self, has_peer: bool) -> bool {
        self.filter.receiving(has_peer)
    }

    fn remember_sent(&mut self, hash: MessageHash) {
        if self.sent.insert(hash) {
            self.sent_order.push_back(hash);
            if self.sent_order.len() > SENT_KEPT
                && let Some(old) = self.sent_order.pop_front()
            {
                self.sent.remove(&old);
            }
        }
    }
}

impl Driver {
    /// Connected peers that speak one of `protocols`, bootstrap peers
    /// first, those that failed lately last (see [`Failover::order`]).
    pub(super) fn service_peers(&self, protocols: &[&str]) -> Vec<PeerId> {
        let mut peers: Vec<PeerId> = self
            .identified
            .iter()
            .filter(|(peer, info)| {
                self.swarm.is_connected(peer)
                    && info
                        .protocols
                        .iter()
                        .any(|p| protocols.contains(&p.as_ref()))
            })
            .map(|(peer, _)| *peer)
            .collect();
        let bootstrap: HashSet<PeerId> = self.bootstrap_peers.values().copied().collect();
        peers.sort_by_key(|p| (!bootstrap.contains(p), *p));
        self.light.failover.order(peers, Instant::now())
    }

    /// A service node answered a request of ours.
    pub(super) fn service_answered(&mut self, peer: &PeerId) {
        self.light.failover.answered(peer);
    }

    /// A service node did not answer a request of ours.
    pub(super) fn service_failed(&mut self, peer: PeerId) {
        self.light.failover.failed(peer, Instant::now());
    }

    /// Light mode: publishes through a service node's light push; the reply
    /// comes when it answers.
    pub(super) fn light_publish(
        &mut self,
        topic: PubsubTopic,
        message: WakuMessage,
        reply: PublishReply,
    ) {
        let data = message.encode_to_vec();
        if let Err(e) = relay::validate(&data) {
            let _ = reply.send(Err(PublishError::Invalid(e.to_string())));
            return;
        }
        let services = self.service_peers(&[
            lightpush::PROTOCOL_V3.as_ref(),
            lightpush::PROTOCOL_V2.as_ref(),
        ]);
        let Some(peer) = services.first().copied() else {
            let _ = reply.send(Err(PublishError::NoPeers(topic)));
            return;
        };
        let version = self
            .identified
            .get(&peer)
            .and_then(|info| {
                lightpush::Version::for_service(info.protocols.iter().map(AsRef::as_ref))
            })
            .unwrap_or(lightpush::Version::V3);
        let hash = message.hash(topic.as_str());
        self.light.remember_sent(hash);
        let request = PushClient::<PublishReply>::request(&topic, message);
        let id = self.lightpush(version).send_request(&peer, request);
        self.light.push.sent(version, id, reply, hash);
    }

    /// Light mode: wants `content_topic` pushed by the filter service.
    pub(super) fn light_subscribe(&mut self, content_topic: &str) {
        let pubsub = self.default_pubsub();
        let requests = self.light.filter.want(content_topic, &pubsub);
        self.send_filter(requests);
        self.light_ensure_service();
    }

    /// Sends the filter client's requests.
    fn send_filter(&mut self, requests: Vec<Outgoing>) {
        for outgoing in requests {
            let id = self
                .swarm
                .behaviour_mut()
                .filter_subscribe
                .send_request(&outgoing.peer, outgoing.request.clone());
            self.light.filter.sent(id, &outgoing);
        }
    }

    fn default_pubsub(&self) -> String {
        self.topic_or_default(None).as_str().to_owned()
    }

    /// Light mode: makes sure the filter subscription lives on some service
    /// node, if there is one to use: not one waiting after a failure (the
    /// tick comes back when its wait is over, so a service that keeps
    /// refusing is asked again ever more slowly, never in a loop).
    pub(super) fn light_ensure_service(&mut self) {
        if !self.light.filter.needs_service() {
            return;
        }
        let now = Instant::now();
        let Some(peer) = self
            .service_peers(&[filter::SUBSCRIBE_PROTOCOL.as_ref()])
            .into_iter()
            .find(|peer| !self.light.failover.waiting(peer, now))
        else {
            return;
        };
        tracing::debug!(%peer, "subscribing through this filter service node");
        let pubsub = self.default_pubsub();
        let requests = self.light.filter.use_service(peer, &pubsub, Instant::now());
        self.send_filter(requests);
    }

    /// Light mode: the service node failed; moves to another.
    pub(super) fn light_fail_service(&mut self, peer: PeerId, why: &str) {
        let Some(was_confirmed) = self.light.filter.fail(peer) else {
            return;
        };
        tracing::warn!(%peer, why, "filter service node failed; moving to another");
        self.service_failed(peer);
        if was_confirmed {
            self.emit(NodeEvent::FilterServiceLost { peer_id: peer });
        }
        self.light_ensure_service();
    }

    /// Light mode: a peer's last connection closed.
    pub(super) fn light_peer_gone(&mut self, peer: PeerId) {
        self.light_fail_service(peer, "disconnected");
    }

    /// A light node pings its service node, and looks for one when it has
    /// none.
    pub(super) fn client_tick(&mut self) {
        let now = Instant::now();
        self.light.failover.expire(now);
        self.light_ensure_service();
        if let Some(ping) = self.light.filter.tick(now) {
            self.send_filter(vec![ping]);
        }
    }

    /// Our light push was answered.
    pub(super) fn lightpush_answered(
        &mut self,
        peer: PeerId,
        version: lightpush::Version,
        request_id: OutboundRequestId,
        response: PushResponse,
    ) {
        if let Some((reply, hash, outcome)) =
            self.light.push.answered(version, request_id, response)
        {
            // Whatever it said, it answered: it is there.
            self.service_answered(&peer);
            let _ = reply.send(match outcome {
                PushOutcome::Relayed { mesh_peers } => Ok(Published { hash, mesh_peers }),
                PushOutcome::Failed(why) => Err(PublishError::Service(why)),
            });
        }
    }

    /// Our light push got no answer.
    pub(super) fn lightpush_failed(
        &mut self,
        peer: PeerId,
        version: lightpush::Version,
        request_id: OutboundRequestId,
        error: &request_response::OutboundFailure,
    ) {
        if let Some((reply, outcome)) = self.light.push.failed(version, request_id, peer, error) {
            self.service_failed(peer);
            if let PushOutcome::Failed(why) = outcome {
                let _ = reply.send(Err(PublishError::Service(why)));
            }
        }
    }

    /// A filter service answered our subscribe or ping.
    pub(super) fn filter_answered(
        &mut self,
        peer: PeerId,
        request_id: OutboundRequestId,
        response: SubscribeResponse,
    ) {
        let pubsub = self.default_pubsub();
        match self
            .light
            .filter
            .answered(peer, request_id, &response, &pubsub)
        {
            Answer::Confirmed(peer) => {
                self.service_answered(&peer);
                self.emit(NodeEvent::FilterServiceChanged { peer_id: peer });
            }
            Answer::Failed(peer, why) => self.light_fail_service(peer, &why),
            Answer::Send(requests) => {
                tracing::info!(%peer, "filter service lost our subscription; subscribing again");
                self.send_filter(requests);
            }
            Answer::Nothing => {}
        }
    }

    /// Our subscribe or ping got no answer.
    pub(super) fn filter_request_failed(
        &mut self,
        peer: PeerId,
        request_id: OutboundRequestId,
        error: &request_response::OutboundFailure,
    ) {
        if self.light.filter.unanswered(request_id) {
            self.light_fail_service(peer, &error.to_string());
        }
    }

    /// A filter push arrived: delivered if it is one we asked for.
    pub(super) fn receive_push(&mut self, peer: PeerId, push: MessagePush) {
        let Some(message) = push.waku_message else {
            tracing::info!(%peer, "dropped a filter push without a message");
            return;
        };
        if self.mode != Mode::Light || !self.light.filter.wants(&message.content_topic) {
            tracing::info!(%peer, content_topic = %message.content_topic, "dropped a filter push for a topic we never subscribed to");
            return;
        }
        if let Err(e) = relay::validate(&message.encode_to_vec()) {
            tracing::info!(%peer, error = %e, "dropped an invalid filter push");
            return;
        }
        let topic = self.topic_or_default(push.pubsub_topic.as_deref());
        let hash = message.hash(topic.as_str());
        if self.light.sent.contains(&hash) || !self.remember(hash) {
            return;
        }
        self.fan_out(&topic, &message, hash, true);
    }
}
