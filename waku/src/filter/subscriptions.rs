//! The filter service's subscriber table: who asked for which topics, within limits, until their pings stop.

use super::{
    FilterStatus, MAX_CONTENT_TOPICS_PER_REQUEST, SubscribeRequest, SubscribeResponse,
    SubscribeType,
};
use libp2p::PeerId;
use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

/// How many subscribers and topics a service keeps, and for how long.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Most peers subscribed at once.
    pub max_peers: usize,
    /// Most (pubsub topic, content topic) pairs one peer may hold.
    pub max_criteria_per_peer: usize,
    /// A subscriber not heard from (subscribe or ping) for this long is
    /// dropped.
    pub timeout: Duration,
}

impl Default for Limits {
    /// nwaku's: 1000 peers, 1000 criteria each, 5 minutes.
    fn default() -> Self {
        Limits {
            max_peers: 1000,
            max_criteria_per_peer: 1000,
            timeout: Duration::from_secs(300),
        }
    }
}

#[derive(Debug)]
struct Subscriber {
    criteria: BTreeSet<(String, String)>,
    last_seen: Instant,
    /// Pushes in a row that timed out or broke.
    failed_pushes: u32,
}

/// Pushes in a row that may time out or break (a subscriber busy with a
/// burst) before it is dropped.
pub const MAX_FAILED_PUSHES: u32 = 3;

/// Every subscriber and its criteria. Time comes in as an argument.
#[derive(Debug, Default)]
pub struct Subscriptions {
    limits: Limits,
    peers: HashMap<PeerId, Subscriber>,
}

impl Subscriptions {
    /// An empty table with `limits`.
    pub fn new(limits: Limits) -> Self {
        Subscriptions {
            limits,
            peers: HashMap::new(),
        }
    }

    /// Applies `request` from `peer` at `now`; `serves` says whether this
    /// node relays a pubsub topic. Returns the answer to send; nothing
    /// changes unless it is 200.
    pub fn apply(
        &mut self,
        peer: PeerId,
        request: &SubscribeRequest,
        serves: impl Fn(&str) -> bool,
        now: Instant,
    ) -> SubscribeResponse {
        let id = request.request_id.as_str();
        let fail = |code, why: String| SubscribeResponse::new(id, code, Some(why));
        let Some(kind) = request.request_type() else {
            return fail(
                FilterStatus::BAD_REQUEST,
                format!("unknown request type {}", request.kind),
            );
        };
        match kind {
            SubscribeType::SubscriberPing => match self.peers.get_mut(&peer) {
                Some(s) => {
                    s.last_seen = now;
                    SubscribeResponse::new(id, FilterStatus::OK, None)
                }
                None => fail(
                    FilterStatus::NOT_FOUND,
                    "no subscription for this peer".into(),
                ),
            },
            SubscribeType::UnsubscribeAll => match self.peers.remove(&peer) {
                Some(_) => SubscribeResponse::new(id, FilterStatus::OK, None),
                None => fail(
                    FilterStatus::NOT_FOUND,
                    "no subscription for this peer".into(),
                ),
            },
            SubscribeType::Subscribe | SubscribeType::Unsubscribe => {
                let criteria = match criteria(request) {
                    Ok(c) => c,
                    Err(why) => return fail(FilterStatus::BAD_REQUEST, why),
                };
                if kind == SubscribeType::Unsubscribe {
                    return match self.peers.get_mut(&peer) {
                        Some(s) => {
                            for c in &criteria {
                                s.criteria.remove(c);
                            }
                            s.last_seen = now;
                            if s.criteria.is_empty() {
                                self.peers.remove(&peer);
                            }
                            SubscribeResponse::new(id, FilterStatus::OK, None)
                        }
                        None => fail(
                            FilterStatus::NOT_FOUND,
                            "no subscription for this peer".into(),
                        ),
                    };
                }
                let (pubsub, _) = &criteria[0];
                if !serves(pubsub) {
                    return fail(
                        FilterStatus::BAD_REQUEST,
                        format!("this node does not relay {pubsub}"),
                    );
                }
                if !self.peers.contains_key(&peer) && self.peers.len() >= self.limits.max_peers {
                    return fail(
                        FilterStatus::SERVICE_UNAVAILABLE,
                        "this node serves as many filter subscribers as it can".into(),
                    );
                }
                let held = self.peers.get(&peer).map_or(0, |s| s.criteria.len());
                let new = criteria
                    .iter()
                    .filter(|c| {
                        !self
                            .peers
                            .get(&peer)
                            .is_some_and(|s| s.criteria.contains(*c))
                    })
                    .count();
                if held + new > self.limits.max_criteria_per_peer {
                    return fail(
                        FilterStatus::TOO_MANY_REQUESTS,
                        format!(
                            "a peer may hold at most {} content topics here",
                            self.limits.max_criteria_per_peer
                        ),
                    );
                }
                let s = self.peers.entry(peer).or_insert_with(|| Subscriber {
                    criteria: BTreeSet::new(),
                    last_seen: now,
                    failed_pushes: 0,
                });
                s.criteria.extend(criteria);
                s.last_seen = now;
                SubscribeResponse::new(id, FilterStatus::OK, None)
            }
        }
    }

    /// The peers to push a message of `content_topic` on `pubsub_topic` to.
    pub fn matching(&self, pubsub_topic: &str, content_topic: &str) -> Vec<PeerId> {
        let key = (pubsub_topic.to_owned(), content_topic.to_owned());
        let mut peers: Vec<PeerId> = self
            .peers
            .iter()
            .filter(|(_, s)| s.criteria.contains(&key))
            .map(|(p, _)| *p)
            .collect();
        peers.sort();
        peers
    }

    /// Drops subscribers not heard from within the timeout; returns them.
    pub fn expire(&mut self, now: Instant) -> Vec<PeerId> {
        let timeout = self.limits.timeout;
        let gone: Vec<PeerId> = self
            .peers
            .iter()
            .filter(|(_, s)| now.saturating_duration_since(s.last_seen) > timeout)
            .map(|(p, _)| *p)
            .collect();
        for p in &gone {
            self.peers.remove(p);
        }
        gone
    }

    /// Forgets `peer` (it disconnected for good, or pushes to it fail).
    pub fn remove(&mut self, peer: &PeerId) {
        self.peers.remove(peer);
    }

    /// A push to `peer` timed out or broke; after [`MAX_FAILED_PUSHES`] in a
    /// row it is dropped. Returns whether it was.
    pub fn push_failed(&mut self, peer: &PeerId) -> bool {
        let Some(subscriber) = self.peers.get_mut(peer) else {
            return false;
        };
        subscriber.failed_pushes += 1;
        if subscriber.failed_pushes >= MAX_FAILED_PUSHES {
            self.peers.remove(peer);
            return true;
        }
        false
    }

    /// A push to `peer` arrived: its count of failures starts again.
    pub fn push_delivered(&mut self, peer: &PeerId) {
        if let Some(subscriber) = self.peers.get_mut(peer) {
            subscriber.failed_pushes = 0;
        }
    }

    /// How many peers are subscribed.
    pub fn len(&self) -> usize {
        self.peers.len()
    }

    /// Whether nobody is subscribed.
    pub fn is_empty(&self) -> bool {
        self.peers.is_empty()
    }
}

/// The (pubsub, content) pairs a subscribe or unsubscribe names.
fn criteria(request: &SubscribeRequest) -> Result<Vec<(String, String)>, String> {
    let pubsub = request
        .pubsub_topic
        .as_deref()
        .filter(|t| !t.is_empty())
        .ok_or("a pubsub topic is required")?;
    if request.content_topics.is_empty() {
        return Err("at least one content topic is required".into());
    }
    if request.content_topics.len() > MAX_CONTENT_TOPICS_PER_REQUEST {
        return Err(format!(
            "at most {MAX_CONTENT_TOPICS_PER_REQUEST} content topics per request"
        ));
    }
    if request.content_topics.iter().any(String::is_empty) {
        return Err("an empty content topic".into());
    }
    Ok(request
        .content_topics
        .iter()
        .map(|c| (pubsub.to_owned(), c.clone()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHARD: &str = "/waku/2/rs/66/0";

    fn ask(kind: SubscribeType, topics: &[&str]) -> SubscribeRequest {
        SubscribeRequest {
            request_id: "r".into(),
            kind: kind as i32,
            pubsub_topic: Some(SHARD.into()),
            content_topics: topics.iter().map(|t| (*t).to_owned()).collect(),
        }
    }

    fn serves(t: &str) -> bool {
        t == SHARD
    }

    #[test]
    fn a_subscriber_is_dropped_only_after_pushes_fail_in_a_row() {
        let (mut s, peer, now) = (Subscriptions::default(), PeerId::random(), Instant::now());
        let subscribe = ask(SubscribeType::Subscribe, &["/a/1/x/p"]);
        assert_eq!(s.apply(peer, &subscribe, serves, now).status_code, 200);
        // A burst: two pushes time out, then one arrives; the count restarts.
        assert!(!s.push_failed(&peer));
        assert!(!s.push_failed(&peer));
        s.push_delivered(&peer);
        assert!(!s.push_failed(&peer));
        assert!(!s.push_failed(&peer));
        assert_eq!(s.matching(SHARD, "/a/1/x/p"), [peer]);
        // A third failure in a row: gone.
        assert!(s.push_failed(&peer));
        assert!(s.matching(SHARD, "/a/1/x/p").is_empty());
        assert!(!s.push_failed(&peer), "already gone");
    }

    #[test]
    fn subscribe_ping_unsubscribe() {
        let (mut s, peer, now) = (Subscriptions::default(), PeerId::random(), Instant::now());
        let ping = ask(SubscribeType::SubscriberPing, &[]);
        assert_eq!(s.apply(peer, &ping, serves, now).status_code, 404);
        assert_eq!(
            s.apply(
                peer,
                &ask(SubscribeType::Subscribe, &["/a/1/x/p", "/a/1/y/p"]),
                serves,
                now
            )
            .status_code,
            200
        );
        assert_eq!(s.matching(SHARD, "/a/1/x/p"), [peer]);
        assert!(s.matching("/waku/2/rs/66/1", "/a/1/x/p").is_empty());
        assert_eq!(s.apply(peer, &ping, serves, now).status_code, 200);
        assert_eq!(
            s.apply(
                peer,
                &ask(SubscribeType::Unsubscribe, &["/a/1/x/p"]),
                serves,
                now
            )
            .status_code,
            200
        );
        assert!(s.matching(SHARD, "/a/1/x/p").is_empty());
        assert_eq!(s.matching(SHARD, "/a/1/y/p"), [peer]);
        assert_eq!(
            s.apply(peer, &ask(SubscribeType::UnsubscribeAll, &[]), serves, now)
                .status_code,
            200
        );
        assert!(s.is_empty());
    }

    #[test]
    fn bad_requests_change_nothing() {
        let (mut s, peer, now) = (Subscriptions::default(), PeerId::random(), Instant::now());
        let mut no_topic = ask(SubscribeType::Subscribe, &["/a/1/x/p"]);
        no_topic.pubsub_topic = None;
        assert_eq!(s.apply(peer, &no_topic, serves, now).status_code, 400);
        assert_eq!(
            s.apply(peer, &ask(SubscribeType::Subscribe, &[]), serves, now)
                .status_code,
            400
        );
        let many: Vec<String> = (0..=MAX_CONTENT_TOPICS_PER_REQUEST)
            .map(|i| format!("/a/1/{i}/p"))
            .collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(
            s.apply(peer, &ask(SubscribeType::Subscribe, &many), serves, now)
                .status_code,
            400
        );
        let mut other = ask(SubscribeType::Subscribe, &["/a/1/x/p"]);
        other.pubsub_topic = Some("/waku/2/rs/1/0".into());
        let refused = s.apply(peer, &other, serves, now);
        assert_eq!(refused.status_code, 400);
        assert!(refused.status_desc.unwrap().contains("does not relay"));
        let mut unknown = ask(SubscribeType::Subscribe, &["/a/1/x/p"]);
        unknown.kind = 7;
        assert_eq!(s.apply(peer, &unknown, serves, now).status_code, 400);
        assert!(s.is_empty());
    }

    #[test]
    fn limits_hold_and_silent_subscribers_expire() {
        let limits = Limits {
            max_peers: 2,
            max_criteria_per_peer: 3,
            timeout: Duration::from_secs(60),
        };
        let (mut s, now) = (Subscriptions::new(limits), Instant::now());
        let (a, b, c) = (PeerId::random(), PeerId::random(), PeerId::random());
        let sub = |t: &[&str]| ask(SubscribeType::Subscribe, t);
        assert_eq!(
            s.apply(a, &sub(&["/a/1/1/p", "/a/1/2/p"]), serves, now)
                .status_code,
            200
        );
        assert_eq!(
            s.apply(a, &sub(&["/a/1/2/p", "/a/1/3/p"]), serves, now)
                .status_code,
            200,
            "a repeat does not count twice"
        );
        assert_eq!(
            s.apply(a, &sub(&["/a/1/4/p"]), serves, now).status_code,
            429
        );
        assert_eq!(
            s.apply(b, &sub(&["/a/1/1/p"]), serves, now).status_code,
            200
        );
        assert_eq!(
            s.apply(c, &sub(&["/a/1/1/p"]), serves, now).status_code,
            503
        );
        assert_eq!(s.matching(SHARD, "/a/1/1/p").len(), 2);

        let later = now + Duration::from_secs(45);
        s.apply(a, &ask(SubscribeType::SubscriberPing, &[]), serves, later);
        assert_eq!(s.expire(now + Duration::from_secs(90)), [b]);
        assert_eq!(s.matching(SHARD, "/a/1/1/p"), [a]);
    }
}
