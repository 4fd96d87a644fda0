//! The driver's side of discovery: keeping found records, dialling from them, and asking and answering peer exchange.

use super::{Driver, Mode};
use crate::discovery::Discv5Config;
use crate::discovery::peer_book::{Added, Source, Want};
use crate::enr::WakuEnr;
use crate::peer_exchange::{self, PeerExchangeRpc, PeerExchangeStatus};
use libp2p::PeerId;
use libp2p::request_response::{self, Message as RrMessage};
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::time::Instant;

/// How a node finds peers beyond its bootstrap list.
#[derive(Clone, Debug)]
pub struct DiscoveryConfig {
    /// `enrtree://<key>@<domain>` lists to read at start and every
    /// `dns_refresh`.
    pub dns: Vec<String>,
    /// The DNS server to ask; the system's when `None`.
    pub dns_server: Option<SocketAddr>,
    /// How often the ENR trees are read again.
    pub dns_refresh: Duration,
    /// discv5, when set (needs a secp256k1 node key).
    pub discv5: Option<Discv5Config>,
    /// Ask connected peers for more through peer exchange while short of
    /// `target_peers`.
    pub peer_exchange: bool,
    /// Peers wanted; discovered peers are dialled while fewer are connected.
    pub target_peers: usize,
    /// The IPv4 address put in our record when the listen address is
    /// unspecified (`0.0.0.0`).
    pub advertise_ip: Option<std::net::Ipv4Addr>,
    /// Whether discovered records may make the node dial loopback,
    /// link-local or private addresses: only on a network made of them (a
    /// local one, tests). Bootstrap addresses are always dialled.
    pub dial_private: bool,
}

impl Default for DiscoveryConfig {
    fn default() -> Self {
        DiscoveryConfig {
            dns: Vec::new(),
            dns_server: None,
            dns_refresh: Duration::from_secs(30 * 60),
            discv5: None,
            peer_exchange: true,
            target_peers: 6,
            advertise_ip: None,
            dial_private: false,
        }
    }
}

/// How long after asking a peer for peers it is asked again.
const PEER_EXCHANGE_EVERY: Duration = Duration::from_secs(60);
/// Records asked for in one peer exchange query.
const PEER_EXCHANGE_ASK: u64 = 20;

impl Driver {
    /// Keeps records a discovery source found.
    pub(super) fn discovered(&mut self, source: Source, records: Vec<WakuEnr>) {
        let mut new = 0;
        for enr in records {
            let peer = enr.peer_id;
            match self.book.add(enr, source) {
                Added::New => new += 1,
                Added::Ignored(why) => tracing::debug!(%peer, ?source, why, "record not kept"),
                Added::Updated | Added::Known => {}
            }
        }
        if new > 0 {
            tracing::info!(?source, new, known = self.book.len(), "peers discovered");
            self.dial_discovered(Instant::now());
        }
    }

    /// Dials discovered peers while fewer than the target are connected.
    pub(super) fn dial_discovered(&mut self, now: Instant) {
        if self.book.is_empty() {
            return;
        }
        let connected: HashSet<PeerId> = self.swarm.connected_peers().copied().collect();
        let in_flight: HashSet<PeerId> = self.discovery_dials.values().copied().collect();
        let short = self
            .discovery
            .target_peers
            .saturating_sub(connected.len() + in_flight.len());
        if short == 0 {
            return;
        }
        let want = match self.mode {
            Mode::Relay => Want::Relay,
            Mode::Light => Want::Service,
        };
        let busy: HashSet<PeerId> = connected.union(&in_flight).copied().collect();
        for (peer, addresses) in self.book.candidates(now, &busy, short, want) {
            let opts = DialOpts::peer_id(peer)
                .addresses(addresses)
                .condition(PeerCondition::DisconnectedAndNotDialing)
                .build();
            let id = opts.connection_id();
            match self.swarm.dial(opts) {
                Ok(()) => {
                    tracing::debug!(%peer, "dialling a discovered peer");
                    self.discovery_dials.insert(id, peer);
                }
                Err(e) => {
                    tracing::debug!(%peer, error = %e, "cannot dial a discovered peer");
                    self.book.dial_failed(&peer, now);
                }
            }
        }
    }

    /// Every tick: dial while short of peers, and ask a connected peer for
    /// more when the book cannot fill the gap.
    pub(super) fn discovery_tick(&mut self) {
        let now = Instant::now();
        self.dial_discovered(now);
        let connected = self.swarm.connected_peers().count();
        if !self.discovery.peer_exchange
            || connected >= self.discovery.target_peers
            || self.book.len() >= self.discovery.target_peers * 2
        {
            return;
        }
        let asked = &self.peer_exchange_asked;
        let ask = self
            .identified
            .iter()
            .filter(|(_, info)| info.protocols.contains(&peer_exchange::PROTOCOL))
            .map(|(peer, _)| *peer)
            .find(|peer| {
                asked
                    .get(peer)
                    .is_none_or(|at| now >= *at + PEER_EXCHANGE_EVERY)
            });
        if let Some(peer) = ask {
            tracing::debug!(%peer, "asking for peers");
            self.peer_exchange_asked.insert(peer, now);
            self.swarm
                .behaviour_mut()
                .peer_exchange
                .send_request(&peer, PeerExchangeRpc::query(PEER_EXCHANGE_ASK));
        }
    }

    pub(super) fn discovery_dial_done(&mut self, id: libp2p::swarm::ConnectionId, ok: bool) {
        if let Some(peer) = self.discovery_dials.remove(&id) {
            if ok {
                self.book.connected(&peer);
            } else {
                self.book.dial_failed(&peer, Instant::now());
            }
        }
    }

    pub(super) fn handle_peer_exchange(
        &mut self,
        event: request_response::Event<PeerExchangeRpc, PeerExchangeRpc>,
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
                let answer = match request.query {
                    None | Some(peer_exchange::PeerExchangeQuery { num_peers: 0 }) => {
                        PeerExchangeRpc::refusal(
                            PeerExchangeStatus::BAD_REQUEST,
                            "no peers asked for",
                        )
                    }
                    Some(query) => {
                        let count = usize::try_from(query.num_peers)
                            .unwrap_or(usize::MAX)
                            .min(peer_exchange::MAX_PEERS_PER_RESPONSE);
                        self.peer_exchange_served = self.peer_exchange_served.wrapping_add(7);
                        let records: Vec<Vec<u8>> = self
                            .book
                            .sample(count, &peer, self.peer_exchange_served)
                            .into_iter()
                            .map(|e| crate::enr::to_rlp(&e.record))
                            .collect();
                        if records.is_empty() {
                            PeerExchangeRpc::refusal(
                                PeerExchangeStatus::SERVICE_UNAVAILABLE,
                                "no peers known yet",
                            )
                        } else {
                            tracing::debug!(%peer, given = records.len(), "peer exchange answered");
                            PeerExchangeRpc::answer(records)
                        }
                    }
                };
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .peer_exchange
                    .send_response(channel, answer);
            }
            request_response::Event::Message {
                peer,
                message: RrMessage::Response { response, .. },
                ..
            } => match peer_exchange::records(&response) {
                Ok(records) => {
                    let mut good = Vec::new();
                    for record in records {
                        match record {
                            Ok(enr) => good.push(enr),
                            Err(e) => {
                                tracing::warn!(%peer, error = %e, "peer exchange record refused");
                            }
                        }
                    }
                    self.discovered(Source::PeerExchange, good);
                }
                Err(e) => tracing::debug!(%peer, error = %e, "peer exchange gave nothing"),
            },
            request_response::Event::OutboundFailure { peer, error, .. } => {
                tracing::debug!(%peer, %error, "peer exchange query failed");
            }
            _ => {}
        }
    }
}

/// Reads the configured ENR trees at start and every `dns_refresh` (after
/// 30 s when none could be read), sending what they list to `found`.
pub(super) fn spawn_dns(
    config: &DiscoveryConfig,
    found: tokio::sync::mpsc::Sender<(Source, Vec<WakuEnr>)>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) -> Result<(), String> {
    use crate::discovery::dns;
    let resolver = match config.dns_server {
        Some(server) => dns::resolver_at(server),
        None => dns::system_resolver(),
    }
    .map_err(|e| format!("cannot set up DNS: {e}"))?;
    let links = config.dns.clone();
    let refresh = config.dns_refresh;
    tokio::spawn(async move {
        loop {
            let mut any = false;
            for link in &links {
                let read = dns::resolve_tree(&resolver, link, Default::default());
                let result = tokio::select! {
                    _ = &mut stop => return,
                    result = read => result,
                };
                match result {
                    Ok(records) => {
                        any = true;
                        tracing::info!(%link, records = records.len(), "ENR tree read");
                        if found.send((Source::Dns, records)).await.is_err() {
                            return;
                        }
                    }
                    Err(e) => tracing::warn!(%link, error = %e, "cannot read the ENR tree"),
                }
            }
            let pause = if any {
                refresh
            } else {
                Duration::from_secs(30)
            };
            tokio::select! {
                _ = &mut stop => return,
                () = tokio::time::sleep(pause) => {}
            }
        }
    });
    Ok(())
}
