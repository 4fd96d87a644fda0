//! The light node's side: publishing through light push, receiving through a filter subscription, failing over.

use super::{
    Driver, MessagePush, Mode, NodeEvent, PublishError, Published, PushRequest, PushResponse,
    SubscribeRequest, SubscribeResponse,
};
use crate::filter::{self, FilterStatus, MAX_CONTENT_TOPICS_PER_REQUEST, SubscribeType};
use crate::lightpush;
use crate::message::{MessageHash, WakuMessage};
use crate::relay;
use crate::topic::PubsubTopic;
use libp2p::PeerId;
use libp2p::request_response::{self, OutboundRequestId};
use prost::Message as _;
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::time::Instant;

/// How long a service node that failed is passed over.
const AVOID_FOR: Duration = Duration::from_secs(30);
/// Own pushes remembered, to drop their echo from the filter service.
const SENT_KEPT: usize = 4096;

type PublishReply = oneshot::Sender<Result<Published, PublishError>>;

/// A light node's state: the content topics it wants, the service node its
/// filter subscription lives on, and the requests in flight.
pub(super) struct LightClient {
    topics: BTreeSet<String>,
    service: Option<PeerId>,
    confirmed: bool,
    /// Whether a service ever confirmed the subscriptions.
    ever_confirmed: bool,
    subscribing: HashMap<OutboundRequestId, PeerId>,
    pinging: HashMap<OutboundRequestId, PeerId>,
    pushing: HashMap<OutboundRequestId, (PublishReply, MessageHash, PubsubTopic)>,
    avoid: HashMap<PeerId, Instant>,
    ping_every: Duration,
    next_ping: Instant,
    sent: HashSet<MessageHash>,
    sent_order: VecDeque<MessageHash>,
}

impl LightClient {
    pub(super) fn new(ping_every: Duration) -> Self {
        LightClient {
            topics: BTreeSet::new(),
            service: None,
            confirmed: false,
            ever_confirmed: false,
            subscribing: HashMap::new(),
            pinging: HashMap::new(),
            pushing: HashMap::new(),
            avoid: HashMap::new(),
            ping_every,
            next_ping: Instant::now() + ping_every,
            sent: HashSet::new(),
            sent_order: VecDeque::new(),
        }
    }

    /// Whether pushes reach it: once a filter service confirmed its
    /// subscriptions, while one holds them; before that (nothing to miss
    /// yet), while it has a peer.
    pub(super) fn receiving(&self, has_peer: bool) -> bool {
        if self.ever_confirmed {
            self.service.is_some() && self.confirmed
        } else {
            has_peer
        }
    }

    fn request_id(&self) -> String {
        uuid::Uuid::new_v4().to_string()
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
    /// Connected peers that speak `protocol`, bootstrap peers first, those
    /// that failed lately left out.
    pub(super) fn service_peers(&self, protocols: &[&str]) -> Vec<PeerId> {
        let now = Instant::now();
        let mut peers: Vec<PeerId> = self
            .identified
            .iter()
            .filter(|(peer, info)| {
                self.swarm.is_connected(peer)
                    && info
                        .protocols
                        .iter()
                        .any(|p| protocols.contains(&p.as_ref()))
                    && self
                        .light
                        .avoid
                        .get(*peer)
                        .is_none_or(|until| *until <= now)
            })
            .map(|(peer, _)| *peer)
            .collect();
        let bootstrap: HashSet<PeerId> = self.bootstrap_peers.values().copied().collect();
        peers.sort_by_key(|p| (!bootstrap.contains(p), *p));
        peers
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
        let hash = message.hash(topic.as_str());
        self.light.remember_sent(hash);
        let request = PushRequest {
            request_id: self.light.request_id(),
            pubsub_topic: Some(topic.as_str().to_owned()),
            message,
        };
        let id = self
            .swarm
            .behaviour_mut()
            .lightpush
            .send_request(&peer, request);
        self.light.pushing.insert(id, (reply, hash, topic));
    }

    /// Light mode: wants `content_topic` pushed by the filter service.
    pub(super) fn light_subscribe(&mut self, content_topic: &str) {
        if !self.light.topics.insert(content_topic.to_owned()) {
            return;
        }
        match self.light.service {
            Some(peer) => self.send_subscribe(peer, vec![content_topic.to_owned()]),
            None => self.light_ensure_service(),
        }
    }

    pub(super) fn send_subscribe(&mut self, peer: PeerId, topics: Vec<String>) {
        let pubsub = self.default_pubsub();
        for chunk in topics.chunks(MAX_CONTENT_TOPICS_PER_REQUEST) {
            let request = SubscribeRequest {
                request_id: self.light.request_id(),
                kind: SubscribeType::Subscribe as i32,
                pubsub_topic: Some(pubsub.clone()),
                content_topics: chunk.to_vec(),
            };
            let id = self
                .swarm
                .behaviour_mut()
                .filter_subscribe
                .send_request(&peer, request);
            self.light.subscribing.insert(id, peer);
        }
    }

    fn default_pubsub(&self) -> String {
        self.topic_or_default(None).as_str().to_owned()
    }

    /// Light mode: makes sure the filter subscription lives on some service
    /// node, if there is one to use.
    pub(super) fn light_ensure_service(&mut self) {
        if self.light.service.is_some() || self.light.topics.is_empty() {
            return;
        }
        let Some(peer) = self
            .service_peers(&[filter::SUBSCRIBE_PROTOCOL.as_ref()])
            .first()
            .copied()
        else {
            return;
        };
        tracing::debug!(%peer, "subscribing through this filter service node");
        self.light.service = Some(peer);
        self.light.confirmed = false;
        self.light.next_ping = Instant::now() + self.light.ping_every;
        let topics: Vec<String> = self.light.topics.iter().cloned().collect();
        self.send_subscribe(peer, topics);
    }

    /// Light mode: the service node failed; moves to another.
    pub(super) fn light_fail_service(&mut self, peer: PeerId, why: &str) {
        if self.light.service != Some(peer) {
            return;
        }
        tracing::warn!(%peer, why, "filter service node failed; moving to another");
        self.light.avoid.insert(peer, Instant::now() + AVOID_FOR);
        self.light.service = None;
        if self.light.confirmed {
            self.emit(NodeEvent::FilterServiceLost { peer_id: peer });
        }
        self.light.confirmed = false;
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
        self.light.avoid.retain(|_, until| *until > now);
        if self.light.service.is_none() {
            self.light_ensure_service();
        } else if let Some(peer) = self.light.service
            && self.light.confirmed
            && now >= self.light.next_ping
        {
            self.light.next_ping = now + self.light.ping_every;
            let request = SubscribeRequest {
                request_id: self.light.request_id(),
                kind: SubscribeType::SubscriberPing as i32,
                pubsub_topic: None,
                content_topics: Vec::new(),
            };
            let id = self
                .swarm
                .behaviour_mut()
                .filter_subscribe
                .send_request(&peer, request);
            self.light.pinging.insert(id, peer);
        }
    }

    /// Our light push was answered.
    pub(super) fn lightpush_answered(
        &mut self,
        request_id: OutboundRequestId,
        response: PushResponse,
    ) {
        if let Some((reply, hash, _)) = self.light.pushing.remove(&request_id) {
            let outcome = if response.status.is_success() {
                Ok(Published {
                    hash,
                    mesh_peers: response.relay_peer_count.map_or(1, |n| n as usize),
                })
            } else {
                Err(PublishError::Service(format!(
                    "{} {}",
                    response.status.0,
                    response.description.unwrap_or_default()
                )))
            };
            let _ = reply.send(outcome);
        }
    }

    /// Our light push got no answer.
    pub(super) fn lightpush_failed(
        &mut self,
        peer: PeerId,
        request_id: OutboundRequestId,
        error: &request_response::OutboundFailure,
    ) {
        if let Some((reply, _, _)) = self.light.pushing.remove(&request_id) {
            self.light.avoid.insert(peer, Instant::now() + AVOID_FOR);
            let _ = reply.send(Err(PublishError::Service(format!(
                "{peer} did not answer: {error}"
            ))));
        }
    }

    /// A filter service answered our subscribe or ping.
    pub(super) fn filter_answered(
        &mut self,
        peer: PeerId,
        request_id: OutboundRequestId,
        response: SubscribeResponse,
    ) {
        if self.light.subscribing.remove(&request_id).is_some() {
            if response.status_code == FilterStatus::OK {
                if self.light.service == Some(peer) && !self.light.confirmed {
                    self.light.confirmed = true;
                    self.light.ever_confirmed = true;
                    self.emit(NodeEvent::FilterServiceChanged { peer_id: peer });
                }
            } else {
                let why = format!(
                    "subscribe refused: {} {}",
                    response.status_code,
                    response.status_desc.unwrap_or_default()
                );
                self.light_fail_service(peer, &why);
            }
        } else if self.light.pinging.remove(&request_id).is_some() {
            if response.status_code == FilterStatus::NOT_FOUND && self.light.service == Some(peer) {
                // The service forgot us (it restarted): subscribe again.
                tracing::info!(%peer, "filter service lost our subscription; subscribing again");
                let topics: Vec<String> = self.light.topics.iter().cloned().collect();
                self.send_subscribe(peer, topics);
            } else if response.status_code != FilterStatus::OK {
                self.light_fail_service(peer, "ping refused");
            }
        }
    }

    /// Our subscribe or ping got no answer.
    pub(super) fn filter_request_failed(
        &mut self,
        peer: PeerId,
        request_id: OutboundRequestId,
        error: &request_response::OutboundFailure,
    ) {
        let ours = self.light.subscribing.remove(&request_id).is_some()
            || self.light.pinging.remove(&request_id).is_some();
        if ours {
            self.light_fail_service(peer, &error.to_string());
        }
    }

    /// A filter push arrived: delivered if it is one we asked for.
    pub(super) fn receive_push(&mut self, peer: PeerId, push: MessagePush) {
        let Some(message) = push.waku_message else {
            tracing::info!(%peer, "dropped a filter push without a message");
            return;
        };
        if self.mode != Mode::Light || !self.light.topics.contains(&message.content_topic) {
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
