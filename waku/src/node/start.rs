//! Starting a node: the transport, the behaviours, listening, its record, discovery.

use super::*;

impl WakuNode {
    /// Starts a node: builds the transport (TCP and websocket, noise, yamux
    /// and mplex, DNS), listens, dials the bootstrap peers, and returns once
    /// every listen address is bound.
    pub async fn start(config: Config) -> Result<WakuNode, StartError> {
        let first = *config.shards.first().ok_or(StartError::NoShard)?;
        if config.shards.iter().any(|s| s.cluster != first.cluster) {
            return Err(StartError::MixedClusters);
        }
        let keypair = config
            .keypair
            .clone()
            .unwrap_or_else(identity::Keypair::generate_secp256k1);
        let archive = match (&config.store, config.mode) {
            (Some(store), Mode::Relay) => {
                let archive = store.open().map_err(|e| StartError::Store(e.to_string()))?;
                Some(
                    crate::store::service::ArchiveWorker::start(archive)
                        .map_err(|e| StartError::Store(e.to_string()))?,
                )
            }
            _ => None,
        };
        let mut swarm = build_swarm(keypair.clone(), &config).await?;
        // The node's own bootstrap peers never count against its limits.
        for address in &config.bootstrap {
            if let Some(libp2p::multiaddr::Protocol::P2p(peer)) = address.iter().last() {
                swarm.behaviour_mut().limits.bypass_peer_id(&peer);
            }
        }
        // A light node joins no mesh.
        let meshes = if config.mode == Mode::Relay {
            config.shards.as_slice()
        } else {
            &[]
        };
        for shard in meshes {
            let topic = IdentTopic::new(PubsubTopic::static_shard(*shard).as_str());
            swarm
                .behaviour_mut()
                .relay
                .subscribe(&topic)
                .map_err(|e| StartError::Transport(e.to_string()))?;
        }
        let mut pending = Vec::new();
        for address in &config.listen {
            let id = swarm
                .listen_on(address.clone())
                .map_err(|e| StartError::Listen {
                    address: address.clone(),
                    reason: e.to_string(),
                })?;
            pending.push((id, address.clone()));
        }
        let mut listen_addrs = Vec::new();
        // Wait until each listener has an address (port 0 resolved).
        while !pending.is_empty() {
            let event = tokio::time::timeout(Duration::from_secs(10), swarm.select_next_some())
                .await
                .map_err(|_| StartError::Transport("listeners did not come up in 10 s".into()))?;
            match event {
                SwarmEvent::NewListenAddr {
                    listener_id,
                    address,
                } => {
                    pending.retain(|(id, _)| *id != listener_id);
                    listen_addrs.push(address);
                }
                SwarmEvent::ListenerError { listener_id, error }
                | SwarmEvent::ListenerClosed {
                    listener_id,
                    reason: Err(error),
                    ..
                } => {
                    let address = pending
                        .iter()
                        .find(|(id, _)| *id == listener_id)
                        .map(|(_, a)| a.clone())
                        .unwrap_or_else(Multiaddr::empty);
                    return Err(StartError::Listen {
                        address,
                        reason: error.to_string(),
                    });
                }
                _ => {}
            }
        }
        let peer_id = *swarm.local_peer_id();
        let signing_key = crate::enr::signing_key(&keypair);
        let record = match &signing_key {
            Some(key) => Some(
                own_record(&config, &listen_addrs, archive.is_some())
                    .sign(key)
                    .map_err(|e| StartError::Discovery(e.to_string()))?,
            ),
            None => None,
        };
        let (commands, command_rx) = mpsc::channel(COMMAND_BUFFER);
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let (reach_tx, reach) = tokio::sync::watch::channel(Reach::NotYet);
        let mut driver = Driver::new(swarm, &config, events.clone(), archive, reach_tx);
        if let Some(discv5) = &config.discovery.discv5 {
            let (Some(key), Some(record)) = (&signing_key, &record) else {
                return Err(StartError::Discovery(
                    "discv5 needs a secp256k1 node key".into(),
                ));
            };
            let (stop, stopped) = oneshot::channel();
            crate::discovery::discv5::spawn(
                key,
                record.clone(),
                discv5,
                driver.found_tx.clone(),
                stopped,
            )
            .await
            .map_err(|e| StartError::Discovery(e.to_string()))?;
            driver.discovery_stop.push(stop);
        }
        if !config.discovery.dns.is_empty() {
            let (stop, stopped) = oneshot::channel();
            discovery::spawn_dns(&config.discovery, driver.found_tx.clone(), stopped)
                .map_err(StartError::Discovery)?;
            driver.discovery_stop.push(stop);
        }
        for address in &config.bootstrap {
            driver.dial_bootstrap(address.clone());
        }
        tokio::spawn(driver.run(command_rx));
        Ok(WakuNode {
            inner: Arc::new(Inner {
                commands,
                events,
                peer_id,
                listen_addrs,
                shards: config.shards,
                mode: config.mode,
                enr: record.map(|r| r.to_base64()),
                reach,
            }),
        })
    }
}

/// What a node says about itself in its record: where it listens (a fixed
/// advertise address standing in for `0.0.0.0`), what it serves, its shards.
fn own_record(config: &Config, listen: &[Multiaddr], store: bool) -> OwnRecord {
    let mut record = OwnRecord {
        udp: config.discovery.discv5.as_ref().map(|d| d.listen.port()),
        capabilities: match config.mode {
            Mode::Relay => Capabilities {
                relay: true,
                store,
                filter: true,
                lightpush: true,
            },
            Mode::Light => Capabilities::default(),
        },
        shards: config.shards.first().map(|first| RelayShards {
            cluster: first.cluster,
            shards: config.shards.iter().map(|s| s.shard).collect(),
        }),
        ..OwnRecord::default()
    };
    let specified = |ip: std::net::Ipv4Addr| (!ip.is_unspecified()).then_some(ip);
    record.ip = config.discovery.advertise_ip.or_else(|| {
        config
            .discovery
            .discv5
            .as_ref()
            .and_then(|d| match d.listen.ip() {
                std::net::IpAddr::V4(ip) => specified(ip),
                std::net::IpAddr::V6(_) => None,
            })
    });
    for address in listen {
        let parts: Vec<Protocol<'_>> = address.iter().collect();
        match parts.as_slice() {
            [Protocol::Ip4(ip), Protocol::Tcp(port)] if record.tcp.is_none() => {
                record.tcp = Some(*port);
                record.ip = record.ip.or_else(|| specified(*ip));
            }
            [Protocol::Ip4(ip), Protocol::Tcp(_), Protocol::Ws(_)] if !ip.is_unspecified() => {
                record.multiaddrs.push(address.clone());
            }
            _ => {}
        }
    }
    record
}

async fn build_swarm(
    keypair: identity::Keypair,
    config: &Config,
) -> Result<Swarm<Behaviour>, StartError> {
    let err = |e: &dyn std::fmt::Display| StartError::Transport(e.to_string());
    let agent = config.agent.clone();
    let builder = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            (yamux::Config::default, libp2p_mplex::Config::new),
        )
        .map_err(|e| err(&e))?
        .with_dns()
        .map_err(|e| err(&e))?;
    let builder = builder
        .with_websocket(
            noise::Config::new,
            (yamux::Config::default, libp2p_mplex::Config::new),
        )
        .await
        .map_err(|e| err(&e))?;
    let swarm = builder
        .with_behaviour(|key| Behaviour {
            limits: libp2p::connection_limits::Behaviour::new(config.connection_limits.clone()),
            relay: relay::behaviour(),
            metadata: metadata::behaviour(),
            lightpush: lightpush::behaviour(lightpush::Version::V3, config.mode == Mode::Relay),
            lightpush_v2: lightpush::behaviour(lightpush::Version::V2, config.mode == Mode::Relay),
            filter_subscribe: filter::subscribe_behaviour(config.mode == Mode::Relay),
            filter_push: filter::push_behaviour(),
            store: crate::store::behaviour(config.mode == Mode::Relay && config.store.is_some()),
            peer_exchange: peer_exchange::behaviour(config.mode == Mode::Relay),
            identify: identify::Behaviour::new(
                identify::Config::new("ipfs/0.1.0".into(), key.public()).with_agent_version(agent),
            ),
            ping: ping::Behaviour::new(ping::Config::new()),
        })
        .map_err(|e| err(&e))?
        // gossipsub keeps only mesh peers alive; keep the rest a while too.
        .with_swarm_config(|c| {
            c.with_idle_connection_timeout(Duration::from_secs(60))
                // Streams a peer may open before they are negotiated.
                .with_max_negotiating_inbound_streams(32)
                // A stream we open for one protocol (a light push, a filter
                // push, a store query) carries its request right behind
                // the protocol's name instead of a round trip later
                // (multistream-select's "lazy" dialer; listeners see the
                // same bytes). Across a 100 ms path that round trip was
                // half of a request's overhead.
                .with_substream_upgrade_protocol_override(libp2p::core::upgrade::Version::V1Lazy)
        })
        .build();
    Ok(swarm)
}
