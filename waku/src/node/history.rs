//! Store in the node: keeping what a relay node relays and answering queries, and asking a store node as a client.

use super::{Driver, Received, WakuNode};
use crate::message::{MessageHash, WakuMessage};
use crate::store::archive::{Archive, ArchiveError, Retention};
use crate::store::service::Busy;
use crate::store::{self, MAX_PAGE_SIZE, StoreQueryRequest, StoreQueryResponse, StoreStatus};
use crate::topic::PubsubTopic;
use libp2p::request_response::{self, Message as RrMessage};
use std::path::PathBuf;
use tokio::sync::oneshot;

/// Where a store node keeps its archive, and how much.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoreConfig {
    /// The SQLite file; `None` keeps the archive in memory.
    pub path: Option<PathBuf>,
    /// How much is kept.
    pub retention: Retention,
}

impl StoreConfig {
    pub(super) fn open(&self) -> Result<Archive, ArchiveError> {
        match &self.path {
            Some(path) => Archive::open(path, self.retention),
            None => Archive::in_memory(self.retention),
        }
    }
}

/// A store query failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No connected peer serves store.
    #[error("no connected Waku peer serves store queries")]
    NoService,
    /// The store node refused the query.
    #[error("the store node refused the query ({code}): {description}")]
    Refused {
        /// Its status code.
        code: u32,
        /// Its words.
        description: String,
    },
    /// The store node did not answer, or its answer was unreadable.
    #[error("the store query failed: {0}")]
    Failed(String),
    /// The node has stopped.
    #[error("the Waku node has stopped")]
    Stopped,
}

/// Most pages [`WakuNode::store_history`] reads before it stops.
const MAX_HISTORY_PAGES: usize = 20;

impl WakuNode {
    /// Sends one store query to a connected store node and returns its
    /// answer; a non-200 answer is [`StoreError::Refused`].
    pub async fn store_query(
        &self,
        request: StoreQueryRequest,
    ) -> Result<StoreQueryResponse, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.send(super::Command::StoreQuery { request, reply })
            .await
            .map_err(|_| StoreError::Stopped)?;
        answer.await.map_err(|_| StoreError::Stopped)?
    }

    /// Every stored message of `content_topics` on the node's default topic
    /// with a timestamp at or after `since_ns`, oldest first. It pages
    /// backward, newest first (at most 20 pages of 100), so when there is
    /// more than that it is the oldest that are left.
    pub async fn store_history(
        &self,
        content_topics: &[String],
        since_ns: i64,
    ) -> Result<Vec<Received>, StoreError> {
        let pubsub = self.default_topic();
        let mut request = StoreQueryRequest {
            request_id: String::new(),
            include_data: true,
            pubsub_topic: Some(pubsub.as_str().to_owned()),
            content_topics: content_topics.to_vec(),
            time_start: Some(since_ns),
            pagination_forward: false,
            pagination_limit: Some(MAX_PAGE_SIZE as u64),
            ..Default::default()
        };
        // Pages newest first, each oldest first inside.
        let mut pages = Vec::new();
        let mut complete = false;
        for _ in 0..MAX_HISTORY_PAGES {
            request.request_id = uuid::Uuid::new_v4().to_string();
            let page = self.store_query(request.clone()).await?;
            let mut out = Vec::with_capacity(page.messages.len());
            for entry in page.messages {
                let (Some(message), Some(topic)) = (entry.message, entry.pubsub_topic) else {
                    continue;
                };
                let topic = PubsubTopic::named(&topic);
                let hash = message.hash(topic.as_str());
                if entry.message_hash.as_deref() != Some(&hash.0[..]) {
                    tracing::info!("dropped a stored message whose hash does not match it");
                    continue;
                }
                out.push(Received {
                    pubsub_topic: topic,
                    message,
                    hash,
                });
            }
            pages.push(out);
            match page.pagination_cursor {
                Some(cursor) => request.pagination_cursor = Some(cursor),
                None => {
                    complete = true;
                    break;
                }
            }
        }
        if !complete {
            tracing::warn!(
                "store history is longer than {MAX_HISTORY_PAGES} pages; the oldest are left"
            );
        }
        Ok(pages.into_iter().rev().flatten().collect())
    }
}

impl Driver {
    /// Keeps a relayed message, when this node has an archive (on its
    /// worker; when the worker is far behind, the message is not kept).
    pub(super) fn archive(
        &mut self,
        topic: &PubsubTopic,
        message: &WakuMessage,
        hash: MessageHash,
    ) {
        if let Some(archive) = &mut self.archive {
            archive.keep(topic.as_str(), message, hash);
        }
    }

    pub(super) fn store_query(
        &mut self,
        request: StoreQueryRequest,
        reply: oneshot::Sender<Result<StoreQueryResponse, StoreError>>,
    ) {
        let Some(peer) = self
            .service_peers(&[store::PROTOCOL.as_ref()])
            .first()
            .copied()
        else {
            let _ = reply.send(Err(StoreError::NoService));
            return;
        };
        let id = self
            .swarm
            .behaviour_mut()
            .store
            .send_request(&peer, request);
        self.store_queries.insert(id, reply);
    }

    pub(super) fn handle_store(
        &mut self,
        event: request_response::Event<StoreQueryRequest, StoreQueryResponse>,
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
                let now = std::time::Instant::now();
                let request_id = request.request_id.clone();
                let refusal = if self.archive.is_none() {
                    Some((
                        StoreStatus::SERVICE_UNAVAILABLE,
                        "this node keeps no messages",
                    ))
                } else if !self.store_gate.admit(peer, now) {
                    Some((
                        StoreStatus::TOO_MANY_REQUESTS,
                        "too many queries; ask again shortly",
                    ))
                } else {
                    None
                };
                let (code, why, channel) = match (refusal, self.archive.as_mut()) {
                    (None, Some(archive)) => match archive.answer(peer, request, channel) {
                        Ok(()) => return,
                        Err((Busy::Peer, channel)) => (
                            StoreStatus::TOO_MANY_REQUESTS,
                            "too many queries at once; wait for the answers",
                            channel,
                        ),
                        Err((Busy::Store, channel)) => (
                            StoreStatus::SERVICE_UNAVAILABLE,
                            "the store is busy; ask again shortly",
                            channel,
                        ),
                    },
                    (Some((code, why)), _) => (code, why, channel),
                    (None, None) => unreachable!("no archive is a refusal"),
                };
                self.store_gate.refused(peer, why, now);
                let response = StoreQueryResponse::failure(&request_id, code, why);
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .store
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
                if let Some(reply) = self.store_queries.remove(&request_id) {
                    let outcome = match response.status_code {
                        Some(StoreStatus::OK) => Ok(response),
                        code => Err(StoreError::Refused {
                            code: code.unwrap_or(0),
                            description: response.status_desc.unwrap_or_default(),
                        }),
                    };
                    let _ = reply.send(outcome);
                }
            }
            request_response::Event::OutboundFailure {
                request_id, error, ..
            } => {
                if let Some(reply) = self.store_queries.remove(&request_id) {
                    let _ = reply.send(Err(StoreError::Failed(error.to_string())));
                }
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                tracing::debug!(%peer, %error, "a store query was not readable");
                self.store_gate.refused(
                    peer,
                    "unreadable or unanswered query",
                    std::time::Instant::now(),
                );
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }
}
