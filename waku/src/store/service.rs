//! The store service's side that is not the archive: who may ask how often,
//! and a worker thread that keeps and answers so the network task never
//! waits on SQLite.
//!
//! Each peer may ask [`QueryLimits::per_sec`] queries a second (bursts of
//! [`QueryLimits::burst`]), and have at most [`WAITING_PER_PEER`] of them
//! not yet answered; beyond either it is answered 429 at once, so one peer
//! cannot fill the queue others wait in. At most [`QUEUED_QUERIES`] queries
//! wait in all, and at most [`QUEUED_INSERTS`] messages to keep; more
//! queries are answered 503, more messages are not kept (counted). A refused
//! peer is logged at most once a minute, with how many were refused
//! meanwhile.

use super::archive::{Archive, now_ns};
use super::{Query, StoreQueryRequest, StoreQueryResponse, StoreStatus};
use crate::message::{MessageHash, WakuMessage};
use libp2p::PeerId;
use libp2p::request_response::ResponseChannel;
use std::collections::HashMap;
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Queries not yet answered, of all peers; more are answered 503.
pub const QUEUED_QUERIES: usize = 16;
/// Queries of one peer not yet answered; more are answered 429. A light
/// node reads pages one after another, so it never has more than one.
pub const WAITING_PER_PEER: usize = QUEUED_QUERIES / 4;
/// Messages waiting to be kept; more are not kept.
pub const QUEUED_INSERTS: usize = 4096;
/// Peers whose query rate is remembered; beyond that the longest idle go.
const REMEMBERED_PEERS: usize = 4096;
/// A refused peer is named in the log at most this often.
pub const LOG_EVERY: Duration = Duration::from_secs(60);

/// How often one peer may ask.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QueryLimits {
    /// Queries a second, sustained.
    pub per_sec: f64,
    /// Queries at once after a quiet while.
    pub burst: f64,
}

impl Default for QueryLimits {
    fn default() -> Self {
        // A light node catching up reads up to 20 pages in a row.
        QueryLimits {
            per_sec: 5.0,
            burst: 25.0,
        }
    }
}

/// Per-peer token buckets, and the log of refusals.
#[derive(Debug, Default)]
pub struct QueryGate {
    limits: QueryLimits,
    buckets: HashMap<PeerId, (f64, Instant)>,
    logged: HashMap<PeerId, (Instant, u64)>,
    /// Refusals of peers not named (too many peers to name each).
    unnamed: Option<(Instant, u64)>,
}

impl QueryGate {
    /// A gate with `limits`.
    pub fn new(limits: QueryLimits) -> Self {
        QueryGate {
            limits,
            ..QueryGate::default()
        }
    }

    /// Whether `peer` may ask now.
    pub fn admit(&mut self, peer: PeerId, now: Instant) -> bool {
        if self.buckets.len() >= REMEMBERED_PEERS && !self.buckets.contains_key(&peer) {
            // Forget the peers idle longest: a full bucket is what a fresh
            // peer gets anyway.
            let idle = now - Duration::from_secs_f64(self.limits.burst / self.limits.per_sec);
            self.buckets.retain(|_, (_, at)| *at > idle);
            if self.buckets.len() >= REMEMBERED_PEERS {
                self.buckets.clear();
            }
        }
        let (tokens, at) = self.buckets.entry(peer).or_insert((self.limits.burst, now));
        let elapsed = now.saturating_duration_since(*at).as_secs_f64();
        *tokens = (*tokens + elapsed * self.limits.per_sec).min(self.limits.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// A query of `peer` was refused for `why`: logged now if `peer` was
    /// not logged in the last [`LOG_EVERY`], with the refusals since.
    pub fn refused(&mut self, peer: PeerId, why: &str, now: Instant) {
        if self.logged.len() >= REMEMBERED_PEERS && !self.logged.contains_key(&peer) {
            self.logged
                .retain(|_, (at, _)| now.duration_since(*at) < LOG_EVERY);
        }
        if self.logged.len() >= REMEMBERED_PEERS && !self.logged.contains_key(&peer) {
            // So many peers refused within a minute (fresh ids cost
            // nothing): one line for all of them, once a minute.
            let (at, count) = self.unnamed.get_or_insert((now - LOG_EVERY, 0));
            *count += 1;
            if now.duration_since(*at) >= LOG_EVERY {
                tracing::info!(
                    refused = *count,
                    why,
                    "refused store queries of many peers (said at most once a minute)"
                );
                *at = now;
                *count = 0;
            }
            return;
        }
        let entry = self.logged.entry(peer).or_insert((now - LOG_EVERY, 0));
        entry.1 += 1;
        if now.duration_since(entry.0) >= LOG_EVERY {
            tracing::info!(%peer, refused = entry.1, why, "refused store queries (said at most once a minute per peer)");
            *entry = (now, 0);
        }
    }
}

/// What the worker is asked to do.
enum Job {
    Keep {
        topic: String,
        message: Box<WakuMessage>,
        hash: MessageHash,
    },
    Answer {
        peer: PeerId,
        request: Box<StoreQueryRequest>,
        channel: ResponseChannel<StoreQueryResponse>,
    },
}

/// An answer the worker made for a peer, for the network task to send and
/// then to give back with [`ArchiveWorker::answered`].
pub type Answered = (
    PeerId,
    ResponseChannel<StoreQueryResponse>,
    StoreQueryResponse,
);

/// Why a query was not handed to the worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Busy {
    /// This peer has [`WAITING_PER_PEER`] queries waiting already (429).
    Peer,
    /// [`QUEUED_QUERIES`] wait already, or the worker is gone (503).
    Store,
}

/// Queries handed to the worker and not yet answered, in all and by peer.
/// Counted on the network task, from hand-over until the answer is back
/// there, so the worker's answer channel (as deep as the queue) never fills.
#[derive(Debug, Default)]
struct Waiting {
    total: usize,
    by_peer: HashMap<PeerId, usize>,
}

impl Waiting {
    /// Counts one more query of `peer`, unless it or the store is full.
    fn take(&mut self, peer: PeerId) -> Result<(), Busy> {
        let mine = self.by_peer.get(&peer).copied().unwrap_or(0);
        if mine >= WAITING_PER_PEER {
            return Err(Busy::Peer);
        }
        if self.total >= QUEUED_QUERIES {
            return Err(Busy::Store);
        }
        self.total += 1;
        self.by_peer.insert(peer, mine + 1);
        Ok(())
    }

    /// One query of `peer` was answered (or never handed over).
    fn release(&mut self, peer: PeerId) {
        if let Some(mine) = self.by_peer.get_mut(&peer) {
            *mine -= 1;
            self.total -= 1;
            if *mine == 0 {
                self.by_peer.remove(&peer);
            }
        }
    }
}

/// The archive on a thread of its own.
#[derive(Debug)]
pub struct ArchiveWorker {
    jobs: SyncSender<Job>,
    /// Queries handed to the worker whose answers are not back yet.
    waiting: Waiting,
    /// Messages not kept because the worker was behind.
    pub dropped_inserts: u64,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Job::Keep { .. } => "Keep",
            Job::Answer { .. } => "Answer",
        })
    }
}

impl ArchiveWorker {
    /// Starts the worker on `archive`; its answers come on the returned
    /// receiver.
    pub fn start(
        mut archive: Archive,
    ) -> std::io::Result<(ArchiveWorker, mpsc::Receiver<Answered>)> {
        let (jobs, queue) = sync_channel::<Job>(QUEUED_INSERTS + QUEUED_QUERIES);
        let (answers, answered) = mpsc::channel(QUEUED_QUERIES);
        std::thread::Builder::new()
            .name("waku-archive".into())
            .spawn(move || {
                while let Ok(job) = queue.recv() {
                    match job {
                        Job::Keep {
                            topic,
                            message,
                            hash,
                        } => {
                            if let Err(e) = archive.insert(&topic, &message, hash, now_ns()) {
                                tracing::warn!(error = %e, "cannot keep a message in the archive");
                            }
                        }
                        Job::Answer {
                            peer,
                            request,
                            channel,
                        } => {
                            let response = answer(&archive, &request);
                            if answers.blocking_send((peer, channel, response)).is_err() {
                                return;
                            }
                        }
                    }
                }
            })?;
        Ok((
            ArchiveWorker {
                jobs,
                waiting: Waiting::default(),
                dropped_inserts: 0,
            },
            answered,
        ))
    }

    /// Keeps `message` (later, on the worker); not kept when the worker is
    /// this far behind.
    pub fn keep(&mut self, topic: &str, message: &WakuMessage, hash: MessageHash) {
        let job = Job::Keep {
            topic: topic.to_owned(),
            message: Box::new(message.clone()),
            hash,
        };
        if self.jobs.try_send(job).is_err() {
            self.dropped_inserts += 1;
        }
    }

    /// Answers `peer`'s `request` on the worker, or gives its channel back
    /// with why not.
    pub fn answer(
        &mut self,
        peer: PeerId,
        request: StoreQueryRequest,
        channel: ResponseChannel<StoreQueryResponse>,
    ) -> Result<(), (Busy, ResponseChannel<StoreQueryResponse>)> {
        if let Err(busy) = self.waiting.take(peer) {
            return Err((busy, channel));
        }
        let job = Job::Answer {
            peer,
            request: Box::new(request),
            channel,
        };
        match self.jobs.try_send(job) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(Job::Answer { channel, .. }))
            | Err(TrySendError::Disconnected(Job::Answer { channel, .. })) => {
                self.waiting.release(peer);
                Err((Busy::Store, channel))
            }
            Err(_) => unreachable!("an answer job comes back as one"),
        }
    }

    /// The worker's answer to a query of `peer` is back on the network task.
    pub fn answered(&mut self, peer: PeerId) {
        self.waiting.release(peer);
    }
}

/// The archive's answer to `request`.
fn answer(archive: &Archive, request: &StoreQueryRequest) -> StoreQueryResponse {
    let query = match Query::parse(request) {
        Ok(q) => q,
        Err(why) => {
            return StoreQueryResponse::failure(&request.request_id, StoreStatus::BAD_REQUEST, why);
        }
    };
    archive
        .answer(&request.request_id, &query)
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "the archive cannot answer");
            StoreQueryResponse::failure(
                &request.request_id,
                StoreStatus::SERVICE_UNAVAILABLE,
                "the archive cannot answer now",
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_peer_gets_its_own_rate() {
        let now = Instant::now();
        let mut gate = QueryGate::new(QueryLimits {
            per_sec: 2.0,
            burst: 3.0,
        });
        let (a, b) = (PeerId::random(), PeerId::random());
        for _ in 0..3 {
            assert!(gate.admit(a, now));
        }
        assert!(!gate.admit(a, now), "a is over its rate");
        assert!(gate.admit(b, now), "b is not");
        assert!(
            gate.admit(a, now + Duration::from_millis(500)),
            "a refilled"
        );
    }

    #[test]
    fn one_peer_cannot_fill_the_queue_others_wait_in() {
        let mut waiting = Waiting::default();
        let greedy = PeerId::random();
        for _ in 0..WAITING_PER_PEER {
            waiting.take(greedy).unwrap();
        }
        assert_eq!(waiting.take(greedy), Err(Busy::Peer));
        // Peers together fill the queue; then everyone hears "busy".
        let others: Vec<_> = (0..QUEUED_QUERIES).map(|_| PeerId::random()).collect();
        let mut taken = WAITING_PER_PEER;
        for p in &others {
            if taken == QUEUED_QUERIES {
                assert_eq!(waiting.take(*p), Err(Busy::Store));
            } else {
                waiting.take(*p).unwrap();
                taken += 1;
            }
        }
        // An answer back frees a place for the peer it was for.
        waiting.release(greedy);
        assert_eq!(waiting.take(others[QUEUED_QUERIES - 1]), Ok(()));
        // Releasing what was never taken changes nothing.
        waiting.release(PeerId::random());
        assert_eq!(waiting.total, QUEUED_QUERIES);
        for p in others.iter().take(QUEUED_QUERIES - WAITING_PER_PEER) {
            waiting.release(*p);
        }
        waiting.release(others[QUEUED_QUERIES - 1]);
        for _ in 1..WAITING_PER_PEER {
            waiting.release(greedy);
        }
        assert_eq!(waiting.total, 0);
        assert!(
            waiting.by_peer.is_empty(),
            "nothing kept for answered peers"
        );
    }

    #[test]
    fn a_flood_of_fresh_peer_ids_stays_bounded() {
        let now = Instant::now();
        let mut gate = QueryGate::new(QueryLimits::default());
        for i in 0..(3 * REMEMBERED_PEERS) {
            let at = now + Duration::from_millis(i as u64);
            assert!(gate.admit(PeerId::random(), at));
            gate.refused(PeerId::random(), "test", at);
        }
        assert!(gate.buckets.len() <= REMEMBERED_PEERS);
        assert!(gate.logged.len() <= REMEMBERED_PEERS + 1);
    }
}
