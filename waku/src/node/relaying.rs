//! Relaying: publishing to the mesh, taking in what it relays, delivering each message once.

use super::*;

/// Counts messages dropped because a subscriber was behind, and says so in
/// the log at most every [`BehindTally::EVERY`]: a flood must not become a
/// flood of log lines too.
#[derive(Debug, Default)]
pub(super) struct BehindTally {
    dropped: u64,
    told_at: Option<Instant>,
}

impl BehindTally {
    const EVERY: Duration = Duration::from_secs(10);

    pub(super) fn dropped(&mut self, content_topic: &str, now: Instant) {
        self.dropped += 1;
        if self
            .told_at
            .is_none_or(|at| now.duration_since(at) >= Self::EVERY)
        {
            tracing::warn!(
                content_topic,
                dropped = self.dropped,
                "a subscriber is behind; dropped messages (said at most every 10 s)"
            );
            self.dropped = 0;
            self.told_at = Some(now);
        }
    }
}

impl Driver {
    pub(super) fn publish(
        &mut self,
        topic: PubsubTopic,
        message: WakuMessage,
    ) -> Result<Published, PublishError> {
        self.relay_out(topic, &message, false)
            .map(|(published, _)| published)
    }

    /// Sends a message out on a topic this node relays: to the mesh, to the
    /// light nodes subscribed here, and, for a message a light node pushed
    /// (`pushed_by_light`), to this node's own subscribers once. Returns what
    /// the mesh took and how many subscribers here got it.
    pub(super) fn relay_out(
        &mut self,
        topic: PubsubTopic,
        message: &WakuMessage,
        pushed_by_light: bool,
    ) -> Result<(Published, usize), PublishError> {
        let data = message.encode_to_vec();
        relay::validate(&data).map_err(|e| PublishError::Invalid(e.to_string()))?;
        if !self
            .shards
            .iter()
            .any(|s| PubsubTopic::static_shard(*s) == topic)
        {
            return Err(PublishError::NotOurTopic(topic));
        }
        let hash = message.hash(topic.as_str());
        let new = self.remember(hash);
        // Light nodes subscribed here get it whether or not the mesh does;
        // our own subscribers only hear what others sent, once.
        let reached = if pushed_by_light {
            if new {
                self.fan_out(&topic, message, hash, true)
            } else {
                0
            }
        } else {
            self.fan_out(&topic, message, hash, false)
        };
        let ident = IdentTopic::new(topic.as_str());
        let relay = &mut self.swarm.behaviour_mut().relay;
        let published = relay.publish(ident.clone(), data);
        let mesh_peers = relay.mesh_peers(&ident.hash()).count();
        match published {
            // A duplicate: the same bytes went out moments ago.
            Ok(_) | Err(gossipsub::PublishError::Duplicate) => {
                Ok((Published { hash, mesh_peers }, reached))
            }
            Err(gossipsub::PublishError::NoPeersSubscribedToTopic) if reached > 0 => Ok((
                Published {
                    hash,
                    mesh_peers: 0,
                },
                reached,
            )),
            Err(gossipsub::PublishError::NoPeersSubscribedToTopic) => {
                Err(PublishError::NoPeers(topic))
            }
            Err(e) => Err(PublishError::Invalid(e.to_string())),
        }
    }

    /// The pubsub topic a request names, or the node's first shard.
    pub(super) fn topic_or_default(&self, topic: Option<&str>) -> PubsubTopic {
        topic.map_or_else(
            || PubsubTopic::static_shard(self.shards[0]),
            PubsubTopic::named,
        )
    }

    pub(super) fn handle_relay(&mut self, event: gossipsub::Event) {
        let gossipsub::Event::Message {
            propagation_source,
            message_id,
            message,
        } = event
        else {
            return;
        };
        let relay = &mut self.swarm.behaviour_mut().relay;
        let decoded = match relay::validate(&message.data) {
            Ok(m) => {
                relay.report_message_validation_result(
                    &message_id,
                    &propagation_source,
                    MessageAcceptance::Accept,
                );
                m
            }
            Err(error) => {
                tracing::info!(peer = %propagation_source, %error, "dropped a relayed message");
                relay.report_message_validation_result(
                    &message_id,
                    &propagation_source,
                    MessageAcceptance::Reject,
                );
                return;
            }
        };
        let topic = PubsubTopic::named(message.topic.as_str());
        let hash = decoded.hash(topic.as_str());
        if self.remember(hash) {
            self.fan_out(&topic, &decoded, hash, true);
        }
    }

    /// Records a message's hash; `false` if it was delivered before.
    pub(super) fn remember(&mut self, hash: MessageHash) -> bool {
        if !self.seen.insert(hash) {
            return false;
        }
        self.seen_order.push_back(hash);
        if self.seen_order.len() > self.dedup_capacity
            && let Some(old) = self.seen_order.pop_front()
        {
            self.seen.remove(&old);
        }
        true
    }

    /// Hands a message to this node's subscribers (when `local`) and pushes
    /// it to the light nodes subscribed here; returns how many got it.
    pub(super) fn fan_out(
        &mut self,
        topic: &PubsubTopic,
        message: &WakuMessage,
        hash: MessageHash,
        local: bool,
    ) -> usize {
        self.archive(topic, message, hash);
        let mut reached = 0;
        if local && let Some(subscribers) = self.subscriptions.get_mut(&message.content_topic) {
            let received = Received {
                pubsub_topic: topic.clone(),
                message: message.clone(),
                hash,
            };
            let behind = &mut self.behind;
            subscribers.retain(|tx| match tx.try_send(received.clone()) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    behind.dropped(&received.message.content_topic, Instant::now());
                    true
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            });
            reached += subscribers.len();
        }
        if self.mode == Mode::Relay {
            for peer in self
                .service
                .filter
                .subscribers
                .matching(topic.as_str(), &message.content_topic)
            {
                self.swarm.behaviour_mut().filter_push.send_request(
                    &peer,
                    MessagePush {
                        waku_message: Some(message.clone()),
                        pubsub_topic: Some(topic.as_str().to_owned()),
                    },
                );
                reached += 1;
            }
        }
        reached
    }
}
