//! The task that publishes what the protocol's machines send, in order.

use nodepair_protocol::pairing::Transmit;
use nodepair_waku::WakuNode;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Messages waiting for the publisher; more are dropped (the protocol
/// retransmits what matters).
const OUTBOUND_BUFFER: usize = 1024;

/// How long the publisher keeps trying a message no Waku peer takes yet
/// (right after start-up, or while the mesh forms), before dropping it.
const NO_PEER_PATIENCE: Duration = Duration::from_secs(1);

/// How long a stopping publisher may take to send what is queued.
const DRAIN_PATIENCE: Duration = Duration::from_secs(2);

/// The queue to the publishing task.
pub(crate) struct Publisher {
    queue: Option<mpsc::Sender<Transmit>>,
    task: Option<JoinHandle<()>>,
}

impl Publisher {
    pub(crate) fn start(waku: WakuNode) -> Self {
        let (queue, receiver) = mpsc::channel(OUTBOUND_BUFFER);
        Publisher {
            queue: Some(queue),
            task: Some(tokio::spawn(publish(waku, receiver))),
        }
    }

    /// Queues `payload` for `content_topic`; dropped when the queue is full.
    pub(crate) fn send(&self, content_topic: &str, payload: Vec<u8>) {
        self.queue_transmit(Transmit {
            content_topic: content_topic.to_owned(),
            payload,
        });
    }

    /// Queues a pairing's message.
    pub(crate) fn queue_transmit(&self, transmit: Transmit) {
        if let Some(queue) = &self.queue {
            let _ = queue.try_send(transmit);
        }
    }

    /// Sends what is queued (for a moment at most) and stops.
    pub(crate) async fn stop(&mut self) {
        self.queue = None;
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(DRAIN_PATIENCE, task).await;
        }
    }
}

/// Sends each message in order. A message no Waku peer can take yet is
/// tried again for a moment (a node that just started has a connection
/// before it knows its peers' topics), then dropped, as on a lossy network:
/// the protocol retransmits what matters.
async fn publish(waku: WakuNode, mut queue: mpsc::Receiver<Transmit>) {
    use nodepair_waku::node::PublishError;
    while let Some(t) = queue.recv().await {
        tracing::trace!(
            topic = %t.content_topic,
            kind = ?nodepair_protocol::wire::kind(&t.payload),
            len = t.payload.len(),
            "publishing"
        );
        let message = nodepair_waku::WakuMessage::new(t.content_topic, t.payload);
        let give_up = tokio::time::Instant::now() + NO_PEER_PATIENCE;
        loop {
            match waku.publish(message.clone()).await {
                Ok(_) => break,
                Err(PublishError::NoPeers(_)) if tokio::time::Instant::now() < give_up => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(PublishError::Stopped) => return,
                Err(e) => {
                    tracing::debug!("message not published: {e}");
                    break;
                }
            }
        }
    }
}
