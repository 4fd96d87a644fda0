//! The node's task: its loop, commands, connections and re-dials, metadata checks, reach.

use super::*;

/// How long a relay node's connections outlive its last publish at
/// shutdown: long enough for TCP to resend a lost segment (its shortest
/// retransmission timeout is 200 ms) across a long round trip.
pub(super) const LINGER: Duration = Duration::from_millis(600);
/// How long a shutdown waits for connections to close.
const CLOSE_PATIENCE: Duration = Duration::from_secs(1);

impl Driver {
    /// Says whether the network reaches us, when that changed.
    pub(super) fn update_reach(&mut self) {
        let has_peer = self.swarm.connected_peers().next().is_some();
        let reached = match self.mode {
            Mode::Relay => has_peer,
            Mode::Light => self.light.receiving(has_peer),
        };
        let now = *self.reach.borrow();
        let next = match (now, reached) {
            (Reach::Reachable, true) | (Reach::NotYet | Reach::Cut { .. }, false) => return,
            (_, true) => Reach::Reachable,
            (Reach::Reachable, false) => Reach::Cut {
                since: SystemTime::now(),
            },
        };
        self.reach.send_replace(next);
        self.emit(match next {
            Reach::Cut { since } => NodeEvent::Cut { since },
            _ => NodeEvent::Reachable,
        });
    }

    pub(super) fn ours(&self) -> Metadata {
        Metadata::ours(&self.shards)
    }

    /// Dials a bootstrap address; `after` is the delay that preceded this
    /// attempt, so a failure waits longer next time.
    fn dial_bootstrap_after(&mut self, address: Multiaddr, after: Option<Duration>) {
        let opts = DialOpts::unknown_peer_id().address(address.clone()).build();
        let id = opts.connection_id();
        match self.swarm.dial(opts) {
            Ok(()) => {
                self.dialling.insert(id, (address, after));
            }
            Err(e) => {
                tracing::warn!(%address, error = %e, "cannot dial bootstrap peer");
                self.schedule_redial(address, after);
            }
        }
    }

    pub(super) fn dial_bootstrap(&mut self, address: Multiaddr) {
        self.dial_bootstrap_after(address, None);
    }

    fn schedule_redial(&mut self, address: Multiaddr, previous: Option<Duration>) {
        if self.redials.iter().any(|r| r.address == address) {
            return;
        }
        let delay = previous.map_or(self.redial_initial, |d| (d * 2).min(self.redial_max));
        self.redials.push(Redial {
            address,
            at: Instant::now() + delay,
            delay,
        });
    }

    /// Closes every connection, giving what was just published time to get
    /// out first: gossipsub hands a message to a connection's queue, the
    /// kernel may still be resending a lost segment of it, and closing a
    /// connection drops the queue (and, with unread input, makes the kernel
    /// reset the connection, dropping its send buffer too). A node that
    /// published within the last [`LINGER`] keeps serving until that has
    /// passed; the linger is what lets the message out, not the close. Then
    /// each connection is closed, one that opens meanwhile too, and waited
    /// for, at most [`CLOSE_PATIENCE`]; their events are not acted on (no
    /// re-dial, no new filter service, nobody told).
    async fn close_gracefully(&mut self) {
        if let Some(at) = self.last_publish {
            let until = at + LINGER;
            loop {
                tokio::select! {
                    event = self.swarm.select_next_some() => self.handle_swarm_event(event),
                    () = tokio::time::sleep_until(until) => break,
                }
            }
        }
        let peers: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
        for peer in peers {
            let _ = self.swarm.disconnect_peer_id(peer);
        }
        let deadline = tokio::time::Instant::now() + CLOSE_PATIENCE;
        while self.swarm.connected_peers().next().is_some() {
            tokio::select! {
                event = self.swarm.select_next_some() => {
                    if let SwarmEvent::ConnectionEstablished { peer_id, .. } = event {
                        let _ = self.swarm.disconnect_peer_id(peer_id);
                    }
                }
                () = tokio::time::sleep_until(deadline) => break,
            }
        }
    }

    pub(super) async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        loop {
            tokio::select! {
                event = self.swarm.select_next_some() => {
                    // Messages the mesh relays leave reach as it was; only
                    // connections and filter answers change it.
                    let relayed = matches!(event, SwarmEvent::Behaviour(BehaviourEvent::Relay(_)));
                    self.handle_swarm_event(event);
                    if !relayed {
                        self.update_reach();
                    }
                }
                command = commands.recv() => match command {
                    Some(Command::Shutdown { reply }) => {
                        self.close_gracefully().await;
                        let _ = reply.send(());
                        return;
                    }
                    Some(command) => self.handle_command(command),
                    None => return,
                },
                Some((source, records)) = self.found_rx.recv() => self.discovered(source, records),
                Some((peer, channel, response)) = async {
                    match self.store_answers.as_mut() {
                        Some(answers) => answers.recv().await,
                        None => std::future::pending().await,
                    }
                } => {
                    if let Some(archive) = self.archive.as_mut() {
                        archive.answered(peer);
                    }
                    let _ = self.swarm.behaviour_mut().store.send_response(channel, response);
                }
                _ = tick.tick() => {
                    self.redial_due();
                    self.light_tick();
                    self.discovery_tick();
                    self.update_reach();
                }
            }
        }
    }

    fn redial_due(&mut self) {
        let now = Instant::now();
        let (due, later): (Vec<_>, Vec<_>) = self.redials.drain(..).partition(|r| r.at <= now);
        self.redials = later;
        for r in due {
            tracing::debug!(address = %r.address, "re-dialling bootstrap peer");
            self.dial_bootstrap_after(r.address, Some(r.delay));
        }
    }

    fn handle_command(&mut self, command: Command) {
        match command {
            Command::Subscribe {
                content_topic,
                sender,
            } => {
                if self.mode == Mode::Light {
                    self.light_subscribe(&content_topic);
                }
                self.subscriptions
                    .entry(content_topic)
                    .or_default()
                    .push(sender);
            }
            Command::Publish {
                topic,
                message,
                reply,
            } => match self.mode {
                Mode::Relay => {
                    self.last_publish = Some(Instant::now());
                    let _ = reply.send(self.publish(topic, message));
                }
                Mode::Light => self.light_publish(topic, message, reply),
            },
            Command::Peers { reply } => {
                let _ = reply.send(self.peers());
            }
            Command::StoreQuery { request, reply } => self.store_query(request, reply),
            Command::Dial { address } => {
                if let Err(e) = self.swarm.dial(address.clone()) {
                    tracing::warn!(%address, error = %e, "cannot dial");
                }
            }
            Command::Shutdown { .. } => unreachable!("handled in run"),
        }
    }

    pub(super) fn peers(&self) -> Vec<PeerInfo> {
        let mut out = Vec::new();
        for peer_id in self.swarm.connected_peers() {
            let info = self.identified.get(peer_id);
            out.push(PeerInfo {
                peer_id: *peer_id,
                address: self
                    .addresses
                    .get(peer_id)
                    .cloned()
                    .unwrap_or_else(Multiaddr::empty),
                protocols: info
                    .map(|i| i.protocols.iter().map(StreamProtocol::to_string).collect())
                    .unwrap_or_default(),
                agent: info.map(|i| i.agent_version.clone()).unwrap_or_default(),
            });
        }
        out.sort_by_key(|p| p.peer_id);
        out
    }

    pub(super) fn emit(&self, event: NodeEvent) {
        // No reader is fine: events are offered, not owed.
        let _ = self.events.send(event);
    }

    fn handle_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::ConnectionEstablished {
                peer_id,
                endpoint,
                num_established,
                connection_id,
                ..
            } => {
                if let Some((address, _)) = self.dialling.remove(&connection_id) {
                    self.bootstrap_peers.insert(address, peer_id);
                }
                self.discovery_dial_done(connection_id, true);
                if num_established.get() == 1 {
                    self.addresses
                        .insert(peer_id, endpoint.get_remote_address().clone());
                    let ours = self.ours();
                    self.swarm
                        .behaviour_mut()
                        .metadata
                        .send_request(&peer_id, ours);
                    self.emit(NodeEvent::PeerConnected {
                        peer_id,
                        address: endpoint.get_remote_address().clone(),
                    });
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                ..
            } => {
                self.identified.remove(&peer_id);
                self.addresses.remove(&peer_id);
                let lost: Vec<Multiaddr> = self
                    .bootstrap_peers
                    .iter()
                    .filter(|(_, p)| **p == peer_id)
                    .map(|(a, _)| a.clone())
                    .collect();
                for address in lost {
                    tracing::info!(%address, "bootstrap peer disconnected; will re-dial");
                    self.schedule_redial(address, None);
                }
                if self.mode == Mode::Light {
                    self.light_peer_gone(peer_id);
                }
                self.emit(NodeEvent::PeerDisconnected { peer_id });
            }
            SwarmEvent::IncomingConnectionError {
                send_back_addr,
                error: libp2p::swarm::ListenError::Denied { cause },
                ..
            } => {
                // The connection limits: a line a minute at most, however
                // many knock.
                tracing::debug!(%send_back_addr, %cause, "incoming connection refused");
                self.denied.0 += 1;
                let now = Instant::now();
                if self
                    .denied
                    .1
                    .is_none_or(|at| now.duration_since(at) >= Duration::from_secs(60))
                {
                    tracing::info!(
                        refused = self.denied.0,
                        "refused {} incoming connections: {cause} (--max-connections, --max-connections-per-peer)",
                        self.denied.0
                    );
                    self.denied = (0, Some(now));
                }
            }
            SwarmEvent::OutgoingConnectionError {
                connection_id,
                peer_id,
                error,
            } => {
                tracing::debug!(?peer_id, %error, "dial failed");
                if let Some((address, after)) = self.dialling.remove(&connection_id) {
                    self.schedule_redial(address, after);
                }
                self.discovery_dial_done(connection_id, false);
            }
            SwarmEvent::Behaviour(BehaviourEvent::Relay(event)) => self.handle_relay(event),
            SwarmEvent::Behaviour(BehaviourEvent::Metadata(event)) => self.handle_metadata(event),
            SwarmEvent::Behaviour(BehaviourEvent::Lightpush(event)) => {
                self.handle_lightpush(lightpush::Version::V3, event);
            }
            SwarmEvent::Behaviour(BehaviourEvent::LightpushV2(event)) => {
                self.handle_lightpush(lightpush::Version::V2, event);
            }
            SwarmEvent::Behaviour(BehaviourEvent::FilterSubscribe(event)) => {
                self.handle_filter_subscribe(event);
            }
            SwarmEvent::Behaviour(BehaviourEvent::FilterPush(event)) => {
                self.handle_filter_push(event);
            }
            SwarmEvent::Behaviour(BehaviourEvent::Store(event)) => self.handle_store(event),
            SwarmEvent::Behaviour(BehaviourEvent::PeerExchange(event)) => {
                self.handle_peer_exchange(event);
            }
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
                peer_id,
                info,
                ..
            })) => {
                self.identified.insert(peer_id, info);
                if self.mode == Mode::Light {
                    self.light_ensure_service();
                }
            }
            _ => {}
        }
    }

    fn handle_metadata(&mut self, event: request_response::Event<Metadata, Metadata>) {
        let request_response::Event::Message { peer, message, .. } = event else {
            if let request_response::Event::OutboundFailure { peer, error, .. } = event {
                tracing::debug!(%peer, %error, "metadata request failed");
            }
            return;
        };
        let theirs = match message {
            RrMessage::Request {
                request, channel, ..
            } => {
                let ours = self.ours();
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .metadata
                    .send_response(channel, ours);
                request
            }
            RrMessage::Response { response, .. } => response,
        };
        if let Err(reason) = metadata::check(
            self.shards[0].cluster,
            &self.shards.iter().map(|s| s.shard).collect::<Vec<_>>(),
            &theirs,
        ) {
            tracing::info!(%peer, %reason, "disconnecting a peer that does not fit");
            let _ = self.swarm.disconnect_peer_id(peer);
            self.emit(NodeEvent::PeerRejected {
                peer_id: peer,
                reason,
            });
        }
    }
}
