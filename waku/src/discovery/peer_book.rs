//! The peers discovery found, and which of them to dial next (sans-IO: time comes in as an argument).

use crate::enr::WakuEnr;
use libp2p::{Multiaddr, PeerId};
use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Duration;
use tokio::time::Instant;

/// Where a record came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// An `enrtree://` list.
    Dns,
    /// A discv5 lookup.
    Discv5,
    /// A peer's peer exchange answer.
    PeerExchange,
}

/// What [`PeerBook::add`] did with a record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Added {
    /// A peer not known before.
    New,
    /// A newer record of a known peer.
    Updated,
    /// Known already, nothing newer.
    Known,
    /// Not kept, and why.
    Ignored(&'static str),
}

/// What the node wants from the peers it dials.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Want {
    /// Relay peers (a relay node's mesh).
    Relay,
    /// Filter and light push service nodes (a light node).
    Service,
}

/// Waiting after the first failed dial; doubled per failure.
const FIRST_BACKOFF: Duration = Duration::from_secs(30);
/// Longest wait between dials of one peer.
const MAX_BACKOFF: Duration = Duration::from_secs(600);
/// A peer that failed this many dials in a row is forgotten.
const MAX_FAILURES: u32 = 5;

#[derive(Debug)]
struct Entry {
    enr: WakuEnr,
    source: Source,
    failures: u32,
    retry_at: Option<Instant>,
}

/// Records of discovered peers, bounded, oldest forgotten first.
#[derive(Debug)]
pub struct PeerBook {
    own: PeerId,
    cluster: u16,
    capacity: usize,
    entries: HashMap<PeerId, Entry>,
    order: VecDeque<PeerId>,
    /// Whether loopback, link-local and private addresses may be dialled.
    dial_private: bool,
}

impl PeerBook {
    /// An empty book for a node `own` on `cluster`, keeping at most `capacity` peers.
    pub fn new(own: PeerId, cluster: u16, capacity: usize) -> Self {
        PeerBook {
            own,
            cluster,
            capacity: capacity.max(1),
            entries: HashMap::new(),
            order: VecDeque::new(),
            dial_private: false,
        }
    }

    /// Whether records may make the node dial loopback, link-local or
    /// private addresses (a local network, tests); off by default, so a
    /// record found on a public network cannot point the node into its own
    /// machine or LAN ([`address_scope`](super::address_scope)).
    #[must_use]
    pub fn dialling_private(mut self, allowed: bool) -> Self {
        self.dial_private = allowed;
        self
    }

    /// Peers known.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no peer is known.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Keeps a record unless it is ours, no Waku node, on another cluster, or
    /// has nowhere to dial; a known peer's record is replaced by a newer one.
    pub fn add(&mut self, enr: WakuEnr, source: Source) -> Added {
        if enr.peer_id == self.own {
            return Added::Ignored("our own record");
        }
        if enr.capabilities.is_none() {
            return Added::Ignored("not a Waku node (no waku2 field)");
        }
        if let Some(shards) = &enr.shards
            && shards.cluster != self.cluster
        {
            return Added::Ignored("another cluster");
        }
        if enr.addresses.is_empty() {
            return Added::Ignored("no address to dial");
        }
        let mut enr = enr;
        if !self.dial_private {
            enr.addresses.retain(super::address_scope::is_public);
            if enr.addresses.is_empty() {
                return Added::Ignored("only loopback, link-local or private addresses");
            }
        }
        if let Some(entry) = self.entries.get_mut(&enr.peer_id) {
            if enr.record.seq() > entry.enr.record.seq() {
                entry.enr = enr;
                return Added::Updated;
            }
            return Added::Known;
        }
        if self.entries.len() >= self.capacity
            && let Some(oldest) = self.order.pop_front()
        {
            self.entries.remove(&oldest);
        }
        self.order.push_back(enr.peer_id);
        self.entries.insert(
            enr.peer_id,
            Entry {
                enr,
                source,
                failures: 0,
                retry_at: None,
            },
        );
        Added::New
    }

    /// Where a record came from, if known.
    pub fn source(&self, peer: &PeerId) -> Option<Source> {
        self.entries.get(peer).map(|e| e.source)
    }

    /// Up to `count` peers to dial now, with their addresses: not connected,
    /// not waiting after a failure, those serving what is wanted first, then
    /// oldest known first.
    pub fn candidates(
        &self,
        now: Instant,
        connected: &HashSet<PeerId>,
        count: usize,
        want: Want,
    ) -> Vec<(PeerId, Vec<Multiaddr>)> {
        let serves = |e: &Entry| {
            let caps = e.enr.capabilities.unwrap_or_default();
            match want {
                Want::Relay => caps.relay,
                Want::Service => caps.filter && caps.lightpush,
            }
        };
        let ready: Vec<&Entry> = self
            .order
            .iter()
            .filter_map(|p| self.entries.get(p))
            .filter(|e| !connected.contains(&e.enr.peer_id))
            .filter(|e| e.retry_at.is_none_or(|at| at <= now))
            .collect();
        let (first, rest): (Vec<&Entry>, Vec<&Entry>) = ready.into_iter().partition(|e| serves(e));
        first
            .into_iter()
            .chain(rest)
            .take(count)
            .map(|e| (e.enr.peer_id, e.enr.addresses.clone()))
            .collect()
    }

    /// A dial failed: wait before the next, longer each time, and forget the
    /// peer after [`MAX_FAILURES`] in a row.
    pub fn dial_failed(&mut self, peer: &PeerId, now: Instant) {
        let Some(entry) = self.entries.get_mut(peer) else {
            return;
        };
        entry.failures += 1;
        if entry.failures >= MAX_FAILURES {
            self.entries.remove(peer);
            self.order.retain(|p| p != peer);
            return;
        }
        let backoff = FIRST_BACKOFF
            .saturating_mul(1 << (entry.failures - 1))
            .min(MAX_BACKOFF);
        entry.retry_at = Some(now + backoff);
    }

    /// A peer is connected: its failures are forgiven.
    pub fn connected(&mut self, peer: &PeerId) {
        if let Some(entry) = self.entries.get_mut(peer) {
            entry.failures = 0;
            entry.retry_at = None;
        }
    }

    /// Up to `count` records to give a peer that asked, not its own, starting
    /// at a position chosen by `start` so different askers get different peers.
    pub fn sample(&self, count: usize, asker: &PeerId, start: usize) -> Vec<&WakuEnr> {
        let n = self.order.len();
        if n == 0 {
            return Vec::new();
        }
        (0..n)
            .map(|i| &self.order[(start + i) % n])
            .filter(|p| *p != asker)
            .filter_map(|p| self.entries.get(p))
            .filter(|e| e.failures == 0)
            .take(count)
            .map(|e| &e.enr)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enr::{Capabilities, OwnRecord, RelayShards};

    fn record(seed: u8, caps: Capabilities, cluster: u16, seq_bump: bool) -> WakuEnr {
        let key = enr::k256::ecdsa::SigningKey::from_slice(&[seed; 32]).unwrap();
        let own = OwnRecord {
            ip: Some("127.0.0.1".parse().unwrap()),
            tcp: Some(60_000 + u16::from(seed)),
            capabilities: caps,
            shards: Some(RelayShards {
                cluster,
                shards: [0].into(),
            }),
            ..OwnRecord::default()
        };
        let mut record = own.sign(&key).unwrap();
        if seq_bump {
            record.set_seq(2, &key).unwrap();
        }
        WakuEnr::from_record(record).unwrap()
    }

    const RELAY: Capabilities = Capabilities {
        relay: true,
        store: false,
        filter: false,
        lightpush: false,
    };
    const SERVICE: Capabilities = Capabilities {
        relay: true,
        store: true,
        filter: true,
        lightpush: true,
    };

    #[test]
    fn on_a_public_network_a_record_cannot_point_into_the_machine() {
        // A record of 127.0.0.1 found by discovery: on a public network it
        // is not kept, so nothing dials into this machine or its LAN.
        let mut book = PeerBook::new(PeerId::random(), 1, 10);
        assert_eq!(
            book.add(record(3, RELAY, 1, false), Source::PeerExchange),
            Added::Ignored("only loopback, link-local or private addresses")
        );
        assert!(book.is_empty());
    }

    #[test]
    fn keeps_only_dialable_waku_peers_of_our_cluster() {
        let own = record(1, RELAY, 1, false);
        let mut book = PeerBook::new(own.peer_id, 1, 10).dialling_private(true);
        assert_eq!(book.add(own, Source::Dns), Added::Ignored("our own record"));
        assert_eq!(
            book.add(record(2, RELAY, 2, false), Source::Dns),
            Added::Ignored("another cluster")
        );
        assert_eq!(
            book.add(record(3, RELAY, 1, false), Source::Dns),
            Added::New
        );
        assert_eq!(
            book.add(record(3, RELAY, 1, false), Source::Discv5),
            Added::Known
        );
        assert_eq!(
            book.add(record(3, RELAY, 1, true), Source::Discv5),
            Added::Updated
        );
        assert_eq!(book.len(), 1);
    }

    #[test]
    fn service_nodes_come_first_for_a_light_node_and_failures_back_off() {
        let mut book = PeerBook::new(PeerId::random(), 1, 10).dialling_private(true);
        let relay = record(2, RELAY, 1, false);
        let service = record(3, SERVICE, 1, false);
        book.add(relay.clone(), Source::Dns);
        book.add(service.clone(), Source::PeerExchange);
        let now = Instant::now();
        let none = HashSet::new();
        let ids =
            |c: Vec<(PeerId, Vec<Multiaddr>)>| c.into_iter().map(|(p, _)| p).collect::<Vec<_>>();
        assert_eq!(
            ids(book.candidates(now, &none, 2, Want::Service)),
            [service.peer_id, relay.peer_id]
        );
        assert_eq!(
            ids(book.candidates(now, &none, 2, Want::Relay)),
            [relay.peer_id, service.peer_id]
        );
        // Connected peers are not dialled again.
        let connected: HashSet<PeerId> = [service.peer_id].into();
        assert_eq!(
            ids(book.candidates(now, &connected, 2, Want::Service)),
            [relay.peer_id]
        );

        book.dial_failed(&relay.peer_id, now);
        assert!(
            book.candidates(now + Duration::from_secs(29), &connected, 2, Want::Service)
                .is_empty()
        );
        assert_eq!(
            book.candidates(now + FIRST_BACKOFF, &connected, 2, Want::Service)
                .len(),
            1
        );
        book.dial_failed(&relay.peer_id, now);
        assert!(
            book.candidates(now + FIRST_BACKOFF, &connected, 2, Want::Service)
                .is_empty()
        );
        // A connection forgives; enough failures in a row forget.
        book.connected(&relay.peer_id);
        assert_eq!(book.candidates(now, &connected, 2, Want::Service).len(), 1);
        for _ in 0..MAX_FAILURES {
            book.dial_failed(&relay.peer_id, now);
        }
        assert_eq!(book.len(), 1);
    }

    #[test]
    fn bounded_oldest_forgotten_and_askers_do_not_get_themselves() {
        let mut book = PeerBook::new(PeerId::random(), 1, 2).dialling_private(true);
        let a = record(2, RELAY, 1, false);
        let b = record(3, RELAY, 1, false);
        let c = record(4, RELAY, 1, false);
        for r in [&a, &b, &c] {
            book.add(r.clone(), Source::Discv5);
        }
        assert_eq!(book.len(), 2);
        assert_eq!(book.source(&a.peer_id), None);
        let given: Vec<PeerId> = book
            .sample(5, &b.peer_id, 0)
            .iter()
            .map(|e| e.peer_id)
            .collect();
        assert_eq!(given, [c.peer_id]);
        let from_one: Vec<PeerId> = book
            .sample(1, &a.peer_id, 1)
            .iter()
            .map(|e| e.peer_id)
            .collect();
        assert_eq!(from_one, [c.peer_id]);
    }
}
