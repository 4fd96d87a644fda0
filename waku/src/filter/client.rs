//! The filter client: the content topics a light node wants, the service node holding its subscription, its pings, and what each answer means.
//!
//! It sends nothing itself: each step returns the requests to send (to one
//! peer), and the caller reports their ids back with [`FilterClient::sent`].
//! Time comes in as an argument.

use super::{
    FilterStatus, MAX_CONTENT_TOPICS_PER_REQUEST, SubscribeRequest, SubscribeResponse,
    SubscribeType,
};
use libp2p::PeerId;
use libp2p::request_response::OutboundRequestId;
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;
use tokio::time::Instant;

/// A request to send to the service node `peer`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    /// To whom.
    pub peer: PeerId,
    /// What.
    pub request: SubscribeRequest,
}

/// What an answer means for the subscription.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// The service now holds our subscriptions (the first confirmation
    /// from it).
    Confirmed(PeerId),
    /// The service refused or forgot us for good: use another.
    Failed(PeerId, String),
    /// It forgot our subscription (it restarted): subscribe again.
    Send(Vec<Outgoing>),
    /// Nothing to do.
    Nothing,
}

/// The subscribing side of filter.
#[derive(Debug)]
pub struct FilterClient {
    topics: BTreeSet<String>,
    service: Option<PeerId>,
    confirmed: bool,
    /// Whether a service ever confirmed the subscriptions.
    ever_confirmed: bool,
    subscribing: HashMap<OutboundRequestId, PeerId>,
    pinging: HashMap<OutboundRequestId, PeerId>,
    ping_every: Duration,
    next_ping: Instant,
}

impl FilterClient {
    /// A client that pings its service every `ping_every`.
    pub fn new(ping_every: Duration, now: Instant) -> Self {
        FilterClient {
            topics: BTreeSet::new(),
            service: None,
            confirmed: false,
            ever_confirmed: false,
            subscribing: HashMap::new(),
            pinging: HashMap::new(),
            ping_every,
            next_ping: now + ping_every,
        }
    }

    /// Whether pushes reach us: once a service confirmed the subscriptions,
    /// while one holds them; before that (nothing to miss yet), while the
    /// node has a peer.
    pub fn receiving(&self, has_peer: bool) -> bool {
        if self.ever_confirmed {
            self.service.is_some() && self.confirmed
        } else {
            has_peer
        }
    }

    /// Whether `content_topic` is one we asked for.
    pub fn wants(&self, content_topic: &str) -> bool {
        self.topics.contains(content_topic)
    }

    /// Whether a service node should be chosen now (topics, and none).
    pub fn needs_service(&self) -> bool {
        self.service.is_none() && !self.topics.is_empty()
    }

    /// Wants `content_topic` on `pubsub_topic`: the subscribe to send, if a
    /// service is in use (else see [`FilterClient::needs_service`]).
    pub fn want(&mut self, content_topic: &str, pubsub_topic: &str) -> Vec<Outgoing> {
        if !self.topics.insert(content_topic.to_owned()) {
            return Vec::new();
        }
        match self.service {
            Some(peer) => subscribe(peer, pubsub_topic, &[content_topic.to_owned()]),
            None => Vec::new(),
        }
    }

    /// Moves the subscriptions to `peer`: every topic is subscribed there.
    pub fn use_service(&mut self, peer: PeerId, pubsub_topic: &str, now: Instant) -> Vec<Outgoing> {
        self.service = Some(peer);
        self.confirmed = false;
        self.next_ping = now + self.ping_every;
        let topics: Vec<String> = self.topics.iter().cloned().collect();
        subscribe(peer, pubsub_topic, &topics)
    }

    /// `peer` failed us. When it was our service: it is dropped, and the
    /// answer says whether it had confirmed (pushes were coming from it).
    pub fn fail(&mut self, peer: PeerId) -> Option<bool> {
        if self.service != Some(peer) {
            return None;
        }
        self.service = None;
        Some(std::mem::take(&mut self.confirmed))
    }

    /// The ping due at `now`, if any.
    pub fn tick(&mut self, now: Instant) -> Option<Outgoing> {
        let peer = self
            .service
            .filter(|_| self.confirmed && now >= self.next_ping)?;
        self.next_ping = now + self.ping_every;
        Some(Outgoing {
            peer,
            request: SubscribeRequest {
                request_id: request_id(),
                kind: SubscribeType::SubscriberPing as i32,
                pubsub_topic: None,
                content_topics: Vec::new(),
            },
        })
    }

    /// `request` went out as `id`.
    pub fn sent(&mut self, id: OutboundRequestId, request: &Outgoing) {
        let waiting = if request.request.kind == SubscribeType::SubscriberPing as i32 {
            &mut self.pinging
        } else {
            &mut self.subscribing
        };
        waiting.insert(id, request.peer);
    }

    /// `peer` answered `id`.
    pub fn answered(
        &mut self,
        peer: PeerId,
        id: OutboundRequestId,
        response: &SubscribeResponse,
        pubsub_topic: &str,
    ) -> Answer {
        if self.subscribing.remove(&id).is_some() {
            if response.status_code != FilterStatus::OK {
                let why = format!(
                    "subscribe refused: {} {}",
                    response.status_code,
                    response.status_desc.as_deref().unwrap_or_default()
                );
                return Answer::Failed(peer, why);
            }
            if self.service == Some(peer) && !self.confirmed {
                self.confirmed = true;
                self.ever_confirmed = true;
                return Answer::Confirmed(peer);
            }
        } else if self.pinging.remove(&id).is_some() {
            if response.status_code == FilterStatus::NOT_FOUND && self.service == Some(peer) {
                let topics: Vec<String> = self.topics.iter().cloned().collect();
                return Answer::Send(subscribe(peer, pubsub_topic, &topics));
            }
            if response.status_code != FilterStatus::OK {
                return Answer::Failed(peer, "ping refused".into());
            }
        }
        Answer::Nothing
    }

    /// `id` got no answer: whether it was ours (then its peer failed).
    pub fn unanswered(&mut self, id: OutboundRequestId) -> bool {
        self.subscribing.remove(&id).is_some() || self.pinging.remove(&id).is_some()
    }
}

/// The subscribes for `topics` on `pubsub_topic`, as many as the limit per
/// request makes.
fn subscribe(peer: PeerId, pubsub_topic: &str, topics: &[String]) -> Vec<Outgoing> {
    topics
        .chunks(MAX_CONTENT_TOPICS_PER_REQUEST)
        .map(|chunk| Outgoing {
            peer,
            request: SubscribeRequest {
                request_id: request_id(),
                kind: SubscribeType::Subscribe as i32,
                pubsub_topic: Some(pubsub_topic.to_owned()),
                content_topics: chunk.to_vec(),
            },
        })
        .collect()
}

fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PUBSUB: &str = "/waku/2/rs/1/0";

    #[test]
    fn topics_wait_for_a_service_and_all_move_to_the_next_one() {
        let now = Instant::now();
        let mut client = FilterClient::new(Duration::from_secs(30), now);
        assert!(!client.needs_service(), "nothing wanted yet");
        assert!(
            client.want("/a/1/x/proto", PUBSUB).is_empty(),
            "no service yet"
        );
        assert!(client.want("/a/1/x/proto", PUBSUB).is_empty(), "asked once");
        assert!(client.needs_service());

        let topics: Vec<String> = (0..150).map(|i| format!("/a/1/t{i}/proto")).collect();
        for t in &topics {
            client.want(t, PUBSUB);
        }
        let first = PeerId::random();
        let sent = client.use_service(first, PUBSUB, now);
        // 151 topics: two requests within the limit per request.
        assert_eq!(sent.len(), 2);
        assert!(sent.iter().all(|o| o.peer == first));
        let all: usize = sent.iter().map(|o| o.request.content_topics.len()).sum();
        assert_eq!(all, 151);
        assert!(!client.needs_service());
        // A new topic goes straight to the service in use.
        let more = client.want("/a/1/y/proto", PUBSUB);
        assert_eq!(more.len(), 1);
        assert_eq!(
            more[0].request.content_topics,
            vec!["/a/1/y/proto".to_owned()]
        );

        // Not confirmed yet: no ping, and failing says it had not confirmed.
        assert_eq!(client.tick(now + Duration::from_secs(60)), None);
        assert_eq!(client.fail(PeerId::random()), None, "not our service");
        assert_eq!(client.fail(first), Some(false));
        assert!(client.needs_service());
        assert!(
            client.receiving(true),
            "before any confirmation a peer is enough"
        );
        assert!(!client.receiving(false));
    }
}
