//! Our content topics: which machine each feeds, and the tasks that bring their messages in.

use nodepair_protocol::PublicKey;
use nodepair_waku::{Received, WakuNode};
use std::collections::HashMap;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Messages received and not yet handled.
const INBOUND_BUFFER: usize = 1024;

/// Where messages of a content topic go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Route {
    /// A pairing under way (its pairing topic, or the session topic it
    /// learned).
    Pairing(u64),
    /// A paired counterparty's link.
    Session(PublicKey),
    /// The session with a computer being added.
    Introduction(PublicKey),
}

/// A message that came in on one of our topics.
pub(crate) type Inbound = (String, Received);

pub(crate) struct Subscriptions {
    waku: WakuNode,
    routes: HashMap<String, Route>,
    forwarders: HashMap<String, JoinHandle<()>>,
    sender: mpsc::Sender<Inbound>,
    /// Every topic's messages, in arrival order.
    pub(crate) inbound: mpsc::Receiver<Inbound>,
}

impl Subscriptions {
    pub(crate) fn new(waku: WakuNode) -> Self {
        let (sender, inbound) = mpsc::channel(INBOUND_BUFFER);
        Subscriptions {
            waku,
            routes: HashMap::new(),
            forwarders: HashMap::new(),
            sender,
            inbound,
        }
    }

    /// Routes `topic` to `route`, subscribing to it if not yet.
    pub(crate) async fn subscribe(&mut self, topic: &str, route: Route) {
        self.routes.insert(topic.to_owned(), route);
        if self.forwarders.contains_key(topic) {
            return;
        }
        let Ok(mut subscription) = self.waku.subscribe(topic).await else {
            return;
        };
        let sender = self.sender.clone();
        let name = topic.to_owned();
        let forwarder = tokio::spawn(async move {
            while let Some(received) = subscription.next().await {
                if sender.send((name.clone(), received)).await.is_err() {
                    break;
                }
            }
        });
        self.forwarders.insert(topic.to_owned(), forwarder);
    }

    pub(crate) fn unsubscribe(&mut self, topic: &str) {
        self.routes.remove(topic);
        if let Some(forwarder) = self.forwarders.remove(topic) {
            forwarder.abort();
        }
    }

    pub(crate) fn route(&self, topic: &str) -> Option<Route> {
        self.routes.get(topic).copied()
    }

    pub(crate) fn topics(&self) -> Vec<String> {
        self.routes.keys().cloned().collect()
    }

    /// Where messages fetched later (from a store) are handed in.
    pub(crate) fn sender(&self) -> mpsc::Sender<Inbound> {
        self.sender.clone()
    }

    pub(crate) fn stop(&mut self) {
        for (_, forwarder) in self.forwarders.drain() {
            forwarder.abort();
        }
    }
}
