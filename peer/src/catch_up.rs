//! Whether the Waku network reaches us, and catching up from a store node on what passed us by while it did not (how far back: `nodepair_protocol::catch_up`).

use crate::clock::Clock;
use crate::subscriptions::Inbound;
use nodepair_protocol::catch_up;
use nodepair_waku::{NodeEvent, StoreError, WakuNode};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{broadcast, mpsc};

/// How long a catch-up waits for a store node to be known after a
/// reconnect: this many tries, this far apart.
const STORE_WAIT_TRIES: usize = 20;
const STORE_WAIT_EVERY: Duration = Duration::from_millis(250);

/// What the node's events say about our reach, and since when we may
/// have missed messages.
#[derive(Debug, Default)]
pub(crate) struct CatchUp {
    /// Waku peers connected now.
    pub(crate) waku_peers: usize,
    /// Since when we may have missed messages; cleared once caught up.
    missing_since: Option<SystemTime>,
}

impl CatchUp {
    /// Takes in one of the node's events; returns since when to catch up,
    /// when we are back after a cut.
    pub(crate) async fn on_event(
        &mut self,
        waku: &WakuNode,
        event: Result<NodeEvent, broadcast::error::RecvError>,
    ) -> Option<SystemTime> {
        // A lagged receiver lost count: ask the node.
        if matches!(event, Err(broadcast::error::RecvError::Lagged(_)) | Ok(_)) {
            self.waku_peers = waku.peers().await.map_or(0, |p| p.len());
        }
        let now = match event {
            Ok(NodeEvent::Cut { since }) => nodepair_waku::Reach::Cut { since },
            Ok(NodeEvent::Reachable) => nodepair_waku::Reach::Reachable,
            Err(broadcast::error::RecvError::Lagged(_)) => waku.reach(),
            _ => return None,
        };
        match now {
            // From now on, messages may pass us by.
            nodepair_waku::Reach::Cut { since } => {
                self.missing_since.get_or_insert(since);
                None
            }
            // What went out meanwhile may be in a store.
            nodepair_waku::Reach::Reachable => self.missing_since.take(),
            nodepair_waku::Reach::NotYet => None,
        }
    }
}

/// Fetches from a store node, in the background, `topics`' messages sent
/// since `cut_off_at` (as far back as `nodepair_protocol::catch_up::since`
/// says for `window`), and hands them in as if just received; the protocol
/// drops what it already had.
pub(crate) fn fetch(
    waku: WakuNode,
    inbound: mpsc::Sender<Inbound>,
    topics: Vec<String>,
    cut_off_at: SystemTime,
    window: Duration,
    clock: &Clock,
) {
    let unix = |t: SystemTime| t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let Some(since) = catch_up::since(unix(cut_off_at), unix(clock.wall()), window) else {
        return;
    };
    if topics.is_empty() {
        return;
    }
    tokio::spawn(async move {
        // Just reconnected, the peers may not have said yet what they
        // serve (identify): wait a little for a store node to show up.
        let mut fetched = waku.store_history(&topics, since).await;
        for _ in 0..STORE_WAIT_TRIES {
            if !matches!(fetched, Err(StoreError::NoService)) {
                break;
            }
            tokio::time::sleep(STORE_WAIT_EVERY).await;
            fetched = waku.store_history(&topics, since).await;
        }
        match fetched {
            Ok(found) => {
                tracing::debug!(
                    messages = found.len(),
                    "fetched stored messages of our topics"
                );
                for received in found {
                    let topic = received.message.content_topic.clone();
                    if inbound.send((topic, received)).await.is_err() {
                        return;
                    }
                }
            }
            Err(StoreError::NoService) => tracing::debug!("no store node to catch up from"),
            Err(e) => tracing::info!(error = %e, "cannot catch up from a store node"),
        }
    });
}
