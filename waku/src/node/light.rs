//! Light push and filter in the node: serving light nodes (relay mode) and being one (light mode).

use super::{
    Driver, MessagePush, Mode, NodeEvent, PublishError, Published, PushRequest, PushResponse,
    PushStatus, SubscribeRequest, SubscribeResponse,
};
use crate::filter::{self, FilterStatus, MAX_CONTENT_TOPICS_PER_REQUEST, SubscribeType};
use crate::lightpush;
use crate::message::{MessageHash, WakuMessage};
use crate::relay;
use crate::topic::PubsubTopic;
use libp2p::PeerId;
use libp2p::request_response::{self, Message as RrMessage, OutboundRequestId};
use prost::Message as _;
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::time::Instant;

/// How long a service node that failed is passed over.
const AVOID_FOR: Duration = Duration::from_secs(30);
/// How often a relay node drops filter subscribers that stopped pinging.
const EXPIRY_EVERY: Duration = Duration::from_secs(10);
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

    fn send_subscribe(&mut self, peer: PeerId, topics: Vec<String>) {
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
    fn light_fail_service(&mut self, peer: PeerId, why: &str) {
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

    /// Timers: a light node pings its service node and looks for one when it
    /// has none; a relay node forgets subscribers that stopped pinging.
    pub(super) fn light_tick(&mut self) {
        let now = Instant::now();
        match self.mode {
            Mode::Light => {
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
            Mode::Relay => {
                if now >= self.next_expiry {
                    self.next_expiry = now + EXPIRY_EVERY;
                    for peer in self.filter_subscribers.expire(now.into_std()) {
                        tracing::debug!(%peer, "filter subscriber stopped pinging; dropped");
                    }
                }
            }
        }
    }

    pub(super) fn handle_lightpush(
        &mut self,
        event: request_response::Event<PushRequest, PushResponse>,
    ) {
        match event {
            request_response::Event::Message {
                peer,
                message:
                    RrMessage::Request {
                        request, channel, ..
                    },
                ..
            } => {
                let response = self.serve_lightpush(peer, request);
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .lightpush
                    .send_response(channel, response);
            }
            request_response::Event::Message {
                message:
                    RrMessage::Response {
                        request_id,
                        response,
                    },
                ..
            } => {
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
            request_response::Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                if let Some((reply, _, _)) = self.light.pushing.remove(&request_id) {
                    self.light.avoid.insert(peer, Instant::now() + AVOID_FOR);
                    let _ = reply.send(Err(PublishError::Service(format!(
                        "{peer} did not answer: {error}"
                    ))));
                }
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                tracing::info!(%peer, %error, "a light push request was not readable");
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }

    /// Relay mode: relays a light node's message and says how it went.
    fn serve_lightpush(&mut self, peer: PeerId, request: PushRequest) -> PushResponse {
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

    pub(super) fn handle_filter_subscribe(
        &mut self,
        event: request_response::Event<SubscribeRequest, SubscribeResponse>,
    ) {
        match event {
            request_response::Event::Message {
                peer,
                message:
                    RrMessage::Request {
                        request, channel, ..
                    },
                ..
            } => {
                let shards = self.shards.clone();
                let serves = |t: &str| {
                    shards
                        .iter()
                        .any(|s| PubsubTopic::static_shard(*s).as_str() == t)
                };
                let response = if self.mode == Mode::Relay {
                    self.filter_subscribers
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
            request_response::Event::Message {
                peer,
                message:
                    RrMessage::Response {
                        request_id,
                        response,
                    },
                ..
            } => {
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
                    if response.status_code == FilterStatus::NOT_FOUND
                        && self.light.service == Some(peer)
                    {
                        // The service forgot us (it restarted): subscribe again.
                        tracing::info!(%peer, "filter service lost our subscription; subscribing again");
                        let topics: Vec<String> = self.light.topics.iter().cloned().collect();
                        self.send_subscribe(peer, topics);
                    } else if response.status_code != FilterStatus::OK {
                        self.light_fail_service(peer, "ping refused");
                    }
                }
            }
            request_response::Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                let ours = self.light.subscribing.remove(&request_id).is_some()
                    || self.light.pinging.remove(&request_id).is_some();
                if ours {
                    self.light_fail_service(peer, &error.to_string());
                }
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                tracing::info!(%peer, %error, "a filter subscribe request was not readable");
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }

    pub(super) fn handle_filter_push(&mut self, event: request_response::Event<MessagePush, ()>) {
        match event {
            request_response::Event::Message {
                peer,
                message:
                    RrMessage::Request {
                        request, channel, ..
                    },
                ..
            } => {
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .filter_push
                    .send_response(channel, ());
                self.receive_push(peer, request);
            }
            request_response::Event::OutboundFailure { peer, error, .. } => {
                use request_response::OutboundFailure;
                // A subscriber we cannot reach, or that does not speak the
                // protocol, is one we stop pushing to; one busy with a burst
                // (timeouts, a stream refused) only after a few in a row.
                let gone = match error {
                    OutboundFailure::DialFailure
                    | OutboundFailure::ConnectionClosed
                    | OutboundFailure::UnsupportedProtocols => {
                        self.filter_subscribers.remove(&peer);
                        true
                    }
                    _ => self.filter_subscribers.push_failed(&peer),
                };
                if gone {
                    tracing::debug!(%peer, %error, "filter push failed; dropping the subscriber");
                } else {
                    tracing::trace!(%peer, %error, "filter push failed; the subscriber stays");
                }
            }
            request_response::Event::Message {
                peer,
                message: RrMessage::Response { .. },
                ..
            } => self.filter_subscribers.push_delivered(&peer),
            request_response::Event::InboundFailure { peer, error, .. } => {
                tracing::info!(%peer, %error, "a filter push was not readable");
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }

    /// A filter push arrived: delivered if it is one we asked for.
    fn receive_push(&mut self, peer: PeerId, push: MessagePush) {
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
