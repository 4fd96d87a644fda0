//! [`WakuNode`], the cheap handle the programs hold: it talks to the node's task over channels.

use super::*;

/// A handle on a running Waku node; clones share the node.
#[derive(Clone, Debug)]
pub struct WakuNode {
    pub(super) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(super) struct Inner {
    pub(super) commands: mpsc::Sender<Command>,
    pub(super) events: broadcast::Sender<NodeEvent>,
    pub(super) peer_id: PeerId,
    pub(super) listen_addrs: Vec<Multiaddr>,
    pub(super) shards: Vec<Shard>,
    pub(super) mode: Mode,
    pub(super) enr: Option<String>,
    pub(super) reach: tokio::sync::watch::Receiver<Reach>,
}

/// Messages of one content topic, as they arrive. Dropping it unsubscribes.
#[derive(Debug)]
pub struct Subscription {
    receiver: mpsc::Receiver<Received>,
}

impl Subscription {
    /// The next message; `None` once the node stopped.
    ///
    /// Cancel-safe: yes.
    pub async fn next(&mut self) -> Option<Received> {
        self.receiver.recv().await
    }
}

impl WakuNode {
    /// The node's libp2p peer id.
    pub fn peer_id(&self) -> PeerId {
        self.inner.peer_id
    }

    /// The addresses the node listens on, each ending in `/p2p/<peer id>`.
    pub fn listen_addrs(&self) -> Vec<Multiaddr> {
        self.inner
            .listen_addrs
            .iter()
            .map(|a| a.clone().with_p2p(self.inner.peer_id).unwrap_or_else(|a| a))
            .collect()
    }

    /// The node's signed record (`enr:…`): what discv5 and peer exchange
    /// give out, and what an operator puts in a DNS tree or another node's
    /// discv5 bootstrap list. `None` unless the node key is secp256k1.
    pub fn enr(&self) -> Option<&str> {
        self.inner.enr.as_deref()
    }

    /// Whether the node relays or is a light node.
    pub fn mode(&self) -> Mode {
        self.inner.mode
    }

    /// Whether the network reaches the node now; changes come as
    /// [`NodeEvent::Reachable`] and [`NodeEvent::Cut`].
    pub fn reach(&self) -> Reach {
        *self.inner.reach.borrow()
    }

    /// The pubsub topic NodePair publishes on: the node's first shard.
    pub fn default_topic(&self) -> PubsubTopic {
        PubsubTopic::static_shard(self.inner.shards[0])
    }

    /// Connection events, from now on.
    pub fn events(&self) -> broadcast::Receiver<NodeEvent> {
        self.inner.events.subscribe()
    }

    pub(super) async fn send(&self, command: Command) -> Result<(), Stopped> {
        self.inner.commands.send(command).await.map_err(|_| Stopped)
    }

    /// Delivers every new message with this content topic, on any relayed
    /// shard, once each.
    pub async fn subscribe(&self, content_topic: &str) -> Result<Subscription, Stopped> {
        let (sender, receiver) = mpsc::channel(SUBSCRIPTION_BUFFER);
        self.send(Command::Subscribe {
            content_topic: content_topic.to_owned(),
            sender,
        })
        .await?;
        Ok(Subscription { receiver })
    }

    /// Publishes on the default topic; a missing timestamp is set to now, so
    /// a repeat of the same payload is a new message to the network.
    pub async fn publish(&self, message: WakuMessage) -> Result<Published, PublishError> {
        self.publish_on(self.default_topic(), message).await
    }

    /// Publishes on `topic`, which the node must relay.
    pub async fn publish_on(
        &self,
        topic: PubsubTopic,
        mut message: WakuMessage,
    ) -> Result<Published, PublishError> {
        if message.timestamp.is_none() {
            message.timestamp = Some(now_ns());
        }
        let (reply, answer) = oneshot::channel();
        self.send(Command::Publish {
            topic,
            message,
            reply,
        })
        .await
        .map_err(|_| PublishError::Stopped)?;
        answer.await.map_err(|_| PublishError::Stopped)?
    }

    /// The peers connected now.
    pub async fn peers(&self) -> Result<Vec<PeerInfo>, Stopped> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Peers { reply }).await?;
        answer.await.map_err(|_| Stopped)
    }

    /// Dials a peer once (no redial if it drops).
    pub async fn dial(&self, address: Multiaddr) -> Result<(), Stopped> {
        self.send(Command::Dial { address }).await
    }

    /// Stops the node and waits until its connections are closed.
    pub async fn shutdown(&self) {
        let (reply, done) = oneshot::channel();
        if self.send(Command::Shutdown { reply }).await.is_ok() {
            let _ = done.await;
        }
    }
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
