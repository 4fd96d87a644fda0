//! Light nodes on 127.0.0.1: publishing through light push and receiving
//! through filter on our relay nodes, failing over when a service node goes,
//! and refusing pushes nobody asked for.

#![allow(clippy::unwrap_used)]

use nodepair_waku::filter::{self, MessagePush};
use nodepair_waku::{Config, Mode, Multiaddr, NodeEvent, PeerId, Shard, WakuMessage, WakuNode};
use std::time::Duration;
use tokio::time::timeout;

const SHARD: Shard = Shard {
    cluster: 42,
    shard: 0,
};
const TO_LIGHT: &str = "/nodepair/1/to-light/proto";
const FROM_LIGHT: &str = "/nodepair/1/from-light/proto";
const SOON: Duration = Duration::from_secs(15);

async fn node(mode: Mode, bootstrap: Vec<Multiaddr>) -> WakuNode {
    let mut config = Config::new(SHARD);
    config.listen = vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
    config.bootstrap = bootstrap;
    config.redial_initial = Duration::from_millis(200);
    config.mode = mode;
    config.filter_ping_interval = Duration::from_secs(1);
    WakuNode::start(config).await.unwrap()
}

/// A bare libp2p swarm on TCP with `behaviour`: a peer that is not one of
/// our nodes.
fn bare_swarm<B: libp2p::swarm::NetworkBehaviour>(
    behaviour: impl FnOnce(&libp2p::identity::Keypair) -> B,
) -> libp2p::Swarm<B> {
    libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            libp2p::tcp::Config::default(),
            libp2p::noise::Config::new,
            libp2p::yamux::Config::default,
        )
        .unwrap()
        .with_behaviour(behaviour)
        .unwrap()
        .build()
}

/// Waits until `light`'s filter subscription lives on a service node;
/// returns which.
async fn filter_service(events: &mut tokio::sync::broadcast::Receiver<NodeEvent>) -> PeerId {
    timeout(SOON, async {
        loop {
            if let Ok(NodeEvent::FilterServiceChanged { peer_id }) = events.recv().await {
                return peer_id;
            }
        }
    })
    .await
    .expect("a filter service node within 15 s")
}

/// Publishes from `node` until it reaches someone (meshes take a moment).
async fn publish_until_delivered(
    node: &WakuNode,
    topic: &str,
    payload: &[u8],
    at: &mut nodepair_waku::Subscription,
) -> WakuMessage {
    for i in 0..100u32 {
        let message = WakuMessage::new(topic, [payload, &i.to_be_bytes()].concat());
        if node.publish(message.clone()).await.is_ok()
            && let Ok(Some(got)) = timeout(Duration::from_millis(300), at.next()).await
        {
            return got.message;
        }
    }
    panic!("nothing arrived in 100 tries");
}

#[tokio::test]
async fn a_light_node_publishes_and_receives_through_a_service_node() {
    let service = node(Mode::Relay, vec![]).await;
    let relay_peer = node(Mode::Relay, vec![service.listen_addrs()[0].clone()]).await;
    let light = node(Mode::Light, vec![service.listen_addrs()[0].clone()]).await;
    let mut light_events = light.events();

    let mut at_light = light.subscribe(TO_LIGHT).await.unwrap();
    assert_eq!(filter_service(&mut light_events).await, service.peer_id());

    // A relay peer's message reaches the light node through filter.
    let got = publish_until_delivered(&relay_peer, TO_LIGHT, b"to light", &mut at_light).await;
    assert!(got.payload.starts_with(b"to light"));

    // The light node's message reaches the relay peer through light push.
    let mut at_relay = relay_peer.subscribe(FROM_LIGHT).await.unwrap();
    let got = publish_until_delivered(&light, FROM_LIGHT, b"from light", &mut at_relay).await;
    assert!(got.payload.starts_with(b"from light"));
    let sent = light
        .publish(WakuMessage::new(FROM_LIGHT, b"counted".to_vec()))
        .await
        .unwrap();
    assert!(sent.mesh_peers >= 1, "the service relayed it to the mesh");

    // Its own message on a topic it follows does not come back to it.
    let mut at_relay_too = relay_peer.subscribe(TO_LIGHT).await.unwrap();
    light
        .publish(WakuMessage::new(TO_LIGHT, b"mine".to_vec()))
        .await
        .unwrap();
    let heard = timeout(SOON, at_relay_too.next()).await.unwrap().unwrap();
    assert_eq!(heard.message.payload, b"mine");
    assert!(
        timeout(Duration::from_secs(1), at_light.next())
            .await
            .is_err(),
        "the light node heard its own message"
    );

    // A message the service refuses comes back as an error, not a success.
    let empty = light
        .publish(WakuMessage::new(FROM_LIGHT, Vec::new()))
        .await;
    assert!(empty.is_err(), "{empty:?}");
    for n in [light, relay_peer, service] {
        n.shutdown().await;
    }
}

#[tokio::test]
async fn a_light_node_moves_to_another_service_node_when_its_own_goes() {
    let first = node(Mode::Relay, vec![]).await;
    let second = node(Mode::Relay, vec![first.listen_addrs()[0].clone()]).await;
    let both = vec![
        first.listen_addrs()[0].clone(),
        second.listen_addrs()[0].clone(),
    ];
    let relay_peer = node(Mode::Relay, both.clone()).await;
    let light = node(Mode::Light, both).await;
    let mut light_events = light.events();
    let mut at_light = light.subscribe(TO_LIGHT).await.unwrap();
    let serving = filter_service(&mut light_events).await;
    publish_until_delivered(&relay_peer, TO_LIGHT, b"before", &mut at_light).await;

    let (gone, stays) = if serving == first.peer_id() {
        (first, second)
    } else {
        (second, first)
    };
    gone.shutdown().await;
    assert_eq!(filter_service(&mut light_events).await, stays.peer_id());
    let got = publish_until_delivered(&relay_peer, TO_LIGHT, b"after", &mut at_light).await;
    assert!(got.payload.starts_with(b"after"));
    for n in [light, relay_peer, stays] {
        n.shutdown().await;
    }
}

#[tokio::test]
async fn a_filter_push_nobody_asked_for_is_dropped() {
    use futures::StreamExt;
    use libp2p::swarm::SwarmEvent;
    let light = node(Mode::Light, vec![]).await;
    let mut at_light = light.subscribe(TO_LIGHT).await.unwrap();

    // A peer that is no service of ours pushes a topic the light node never
    // subscribed to, then a push without a message.
    let mut rogue = bare_swarm(|_| filter::push_behaviour());
    let target = light.listen_addrs()[0].clone();
    let light_id = light.peer_id();
    rogue.dial(target).unwrap();
    let push = |topic: &str| MessagePush {
        waku_message: Some(WakuMessage::new(topic, b"unasked".to_vec())),
        pubsub_topic: Some("/waku/2/rs/42/0".into()),
    };
    timeout(SOON, async {
        loop {
            if let SwarmEvent::ConnectionEstablished { .. } = rogue.select_next_some().await {
                break;
            }
        }
    })
    .await
    .unwrap();
    rogue
        .behaviour_mut()
        .send_request(&light_id, push("/nodepair/1/never-asked/proto"));
    rogue.behaviour_mut().send_request(
        &light_id,
        MessagePush {
            waku_message: None,
            pubsub_topic: None,
        },
    );
    // Then one on a topic it did subscribe to: a light node takes pushes of
    // its topics from any peer (the payload is authenticated above Waku).
    rogue
        .behaviour_mut()
        .send_request(&light_id, push(TO_LIGHT));
    let delivered = timeout(SOON, async {
        loop {
            tokio::select! {
                _ = rogue.select_next_some() => {}
                got = at_light.next() => return got.unwrap(),
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(
        delivered.message.content_topic, TO_LIGHT,
        "only the push of a subscribed topic is delivered"
    );
    assert!(
        timeout(Duration::from_millis(500), at_light.next())
            .await
            .is_err(),
        "an unasked push was delivered"
    );
    // The light node is still up and answering.
    assert!(light.peers().await.is_ok());
    light.shutdown().await;
}

/// A service that speaks only light push v2 (nwaku's legacy one): a light
/// node asks it over v2, and its success reads as relayed.
#[tokio::test]
async fn a_light_node_pushes_over_v2_to_a_service_that_has_only_v2() {
    use futures::StreamExt;
    use libp2p::request_response;
    use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
    use nodepair_waku::lightpush::{self, PushResponse, PushStatus};

    #[derive(NetworkBehaviour)]
    struct V2Service {
        identify: libp2p::identify::Behaviour,
        lightpush: request_response::Behaviour<lightpush::Codec>,
    }
    let mut service = bare_swarm(|key| V2Service {
        identify: libp2p::identify::Behaviour::new(libp2p::identify::Config::new(
            "ipfs/0.1.0".into(),
            key.public(),
        )),
        lightpush: lightpush::behaviour(lightpush::Version::V2, true),
    });
    service
        .listen_on("/ip4/127.0.0.1/tcp/0".parse().unwrap())
        .unwrap();
    let address = timeout(SOON, async {
        loop {
            if let SwarmEvent::NewListenAddr { address, .. } = service.select_next_some().await {
                return address;
            }
        }
    })
    .await
    .unwrap();
    let light = node(Mode::Light, vec![address]).await;

    // The service answers every push, in a task of its own.
    let (asked_tx, mut asked_rx) = tokio::sync::mpsc::unbounded_channel();
    let serving = tokio::spawn(async move {
        loop {
            if let SwarmEvent::Behaviour(V2ServiceEvent::Lightpush(
                request_response::Event::Message {
                    message:
                        request_response::Message::Request {
                            request, channel, ..
                        },
                    ..
                },
            )) = service.select_next_some().await
            {
                let answer = PushResponse {
                    request_id: request.request_id.clone(),
                    status: PushStatus::SUCCESS,
                    description: None,
                    relay_peer_count: None,
                };
                let _ = service
                    .behaviour_mut()
                    .lightpush
                    .send_response(channel, answer);
                let _ = asked_tx.send(request);
            }
        }
    });
    // Published once the light node has identified the service.
    let published = timeout(SOON, async {
        loop {
            match light
                .publish(WakuMessage::new(FROM_LIGHT, b"over v2".to_vec()))
                .await
            {
                Ok(published) => return published,
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    })
    .await
    .expect("the v2 service answered within 15 s");
    let asked = asked_rx.recv().await.expect("the service saw the push");
    assert_eq!(asked.message.payload, b"over v2");
    assert_eq!(asked.pubsub_topic.as_deref(), Some("/waku/2/rs/42/0"));
    assert_eq!(published.mesh_peers, 1, "a v2 success says no count");
    serving.abort();
    light.shutdown().await;
}

/// Waits for the node's next `Reachable` or `Cut`.
async fn next_reach(events: &mut tokio::sync::broadcast::Receiver<NodeEvent>) -> NodeEvent {
    timeout(SOON, async {
        loop {
            match events.recv().await {
                Ok(e @ (NodeEvent::Reachable | NodeEvent::Cut { .. })) => return e,
                Ok(_) => {}
                Err(e) => panic!("events ended: {e}"),
            }
        }
    })
    .await
    .expect("a change of reach within 15 s")
}

/// Relay or light, a node says when the network stops reaching it and when
/// it does again, so no caller needs to know which kind it is.
#[tokio::test]
async fn relay_and_light_nodes_report_being_cut_and_reached_again() {
    for mode in [Mode::Relay, Mode::Light] {
        let service = node(Mode::Relay, vec![]).await;
        let address = service.listen_addrs()[0].clone();
        let port = address.iter().find_map(|p| match p {
            nodepair_waku::multiaddr::Protocol::Tcp(port) => Some(port),
            _ => None,
        });
        let watched = node(mode, vec![address.clone()]).await;
        let mut events = watched.events();
        let _topic = watched.subscribe(TO_LIGHT).await.unwrap();
        if mode == Mode::Light {
            filter_service(&mut events).await;
        }
        timeout(SOON, async {
            while watched.reach() != nodepair_waku::Reach::Reachable {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("reached");
        // From here on.
        let mut events = watched.events();

        let before = std::time::SystemTime::now();
        service.shutdown().await;
        let NodeEvent::Cut { since } = next_reach(&mut events).await else {
            panic!("{mode:?}: not cut");
        };
        assert!(since >= before, "{mode:?}: cut when the service went");
        assert!(matches!(watched.reach(), nodepair_waku::Reach::Cut { .. }));

        // The service comes back on the same address: reached again.
        let mut config = Config::new(SHARD);
        config.listen = vec![
            format!("/ip4/127.0.0.1/tcp/{}", port.unwrap())
                .parse()
                .unwrap(),
        ];
        config.keypair = None;
        let back = WakuNode::start(config).await.unwrap();
        watched.dial(back.listen_addrs()[0].clone()).await.unwrap();
        assert_eq!(
            next_reach(&mut events).await,
            NodeEvent::Reachable,
            "{mode:?}"
        );
        assert_eq!(watched.reach(), nodepair_waku::Reach::Reachable);
        watched.shutdown().await;
        back.shutdown().await;
    }
}

/// A light node's only service node restarts (same identity, same address):
/// the light node subscribes and publishes through it again as soon as it is
/// back, instead of passing over it for a while because it went away.
#[tokio::test]
async fn the_only_service_node_is_used_again_as_soon_as_it_restarts() {
    let key = nodepair_waku::identity::Keypair::generate_secp256k1();
    let start_service = |port: u16| {
        let key = key.clone();
        async move {
            let mut config = Config::new(SHARD);
            config.listen = vec![format!("/ip4/127.0.0.1/tcp/{port}").parse().unwrap()];
            config.keypair = Some(key);
            WakuNode::start(config).await.unwrap()
        }
    };
    let service = start_service(0).await;
    let address = service.listen_addrs()[0].clone();
    let port = address
        .iter()
        .find_map(|p| match p {
            nodepair_waku::multiaddr::Protocol::Tcp(port) => Some(port),
            _ => None,
        })
        .unwrap();
    let light = node(Mode::Light, vec![address.clone()]).await;
    let mut events = light.events();
    let mut at_light = light.subscribe(TO_LIGHT).await.unwrap();
    assert_eq!(filter_service(&mut events).await, service.peer_id());

    service.shutdown().await;
    let back = start_service(port).await;
    let relay_peer = node(Mode::Relay, vec![address]).await;
    let mut at_relay = relay_peer.subscribe(FROM_LIGHT).await.unwrap();
    // Within 15 s, where passing over a node that went away for 30 s
    // would leave it deaf and mute for twice as long.
    assert_eq!(filter_service(&mut events).await, back.peer_id());
    publish_until_delivered(&relay_peer, TO_LIGHT, b"to light", &mut at_light).await;
    publish_until_delivered(&light, FROM_LIGHT, b"from light", &mut at_relay).await;
    for n in [light, relay_peer, back] {
        n.shutdown().await;
    }
}
