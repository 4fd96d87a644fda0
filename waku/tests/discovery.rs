//! Discovery on 127.0.0.1: three nodes find each other through discv5 alone,
//! a light node finds a relay through peer exchange, and bad discovery
//! settings are refused at start.

#![allow(clippy::unwrap_used)]

use nodepair_waku::discovery::Discv5Config;
use nodepair_waku::enr::WakuEnr;
use nodepair_waku::{Config, Mode, Multiaddr, PeerId, Shard, WakuMessage, WakuNode, identity};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::time::timeout;

const SHARD: Shard = Shard {
    cluster: 42,
    shard: 0,
};
const TOPIC: &str = "/nodepair/1/discovery-test/proto";

/// A UDP port free on 127.0.0.1 a moment ago (discv5 needs a known port for
/// its record).
fn free_udp() -> SocketAddr {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.local_addr().unwrap()
}

fn config(mode: Mode) -> Config {
    let mut config = Config::new(SHARD);
    config.discovery.dial_private = true; // all on 127.0.0.1
    config.listen = vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
    config.redial_initial = Duration::from_millis(200);
    config.mode = mode;
    config
}

async fn discv5_node(bootstrap: Vec<String>) -> WakuNode {
    let mut config = config(Mode::Relay);
    let mut discv5 = Discv5Config::new(free_udp(), bootstrap);
    discv5.query_interval = Duration::from_secs(1);
    config.discovery.discv5 = Some(discv5);
    WakuNode::start(config).await.unwrap()
}

async fn connected_to(node: &WakuNode, peer: PeerId) -> bool {
    node.peers()
        .await
        .unwrap()
        .iter()
        .any(|p| p.peer_id == peer)
}

async fn wait_connected(node: &WakuNode, peer: PeerId, within: Duration) {
    timeout(within, async {
        while !connected_to(node, peer).await {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "{} not connected to {peer} within {within:?}",
            node.peer_id()
        )
    });
}

#[tokio::test]
async fn three_nodes_find_each_other_through_discv5_alone() {
    let b = discv5_node(Vec::new()).await;
    let b_enr = b.enr().unwrap().to_string();
    // The record says what the node is and where it listens.
    let record = WakuEnr::parse(&b_enr).unwrap();
    assert_eq!(record.peer_id, b.peer_id());
    let caps = record.capabilities.unwrap();
    assert!(caps.relay && caps.filter && caps.lightpush);
    assert_eq!(record.shards.unwrap().cluster, SHARD.cluster);
    let tcp = b.listen_addrs()[0].clone();
    assert_eq!(
        record.addresses,
        vec![tcp],
        "the record's address is the one b listens on"
    );

    // a and c know only b's record, and no libp2p address at all.
    let a = discv5_node(vec![b_enr.clone()]).await;
    let c = discv5_node(vec![b_enr]).await;
    wait_connected(&a, c.peer_id(), Duration::from_secs(60)).await;
    wait_connected(&a, b.peer_id(), Duration::from_secs(30)).await;

    // And they relay to each other over what discovery found.
    let mut at_c = c.subscribe(TOPIC).await.unwrap();
    let mut delivered = false;
    for i in 0..100u32 {
        let message = WakuMessage::new(TOPIC, format!("found {i}").into_bytes());
        if a.publish(message).await.is_ok()
            && let Ok(Some(got)) = timeout(Duration::from_millis(300), at_c.next()).await
        {
            assert!(got.message.payload.starts_with(b"found"));
            delivered = true;
            break;
        }
    }
    assert!(delivered, "a message from a reached c");
    for node in [a, b, c] {
        node.shutdown().await;
    }
}

#[tokio::test]
async fn a_light_node_finds_a_relay_through_peer_exchange() {
    let relay = discv5_node(Vec::new()).await;
    let service = discv5_node(vec![relay.enr().unwrap().to_string()]).await;
    // The light node runs no discovery of its own: it knows the service
    // node's address only, and asks it for more.
    let mut light = config(Mode::Light);
    light.bootstrap = vec![service.listen_addrs()[0].clone()];
    light.discovery.target_peers = 3;
    let light = WakuNode::start(light).await.unwrap();
    assert!(light.enr().is_some(), "its own key is secp256k1 by default");
    wait_connected(&light, service.peer_id(), Duration::from_secs(15)).await;
    wait_connected(&light, relay.peer_id(), Duration::from_secs(90)).await;
    for node in [light, service, relay] {
        node.shutdown().await;
    }
}

#[tokio::test]
async fn bad_discovery_settings_are_refused_at_start() {
    // A bootstrap record that is no ENR.
    let mut bad = config(Mode::Relay);
    bad.discovery.discv5 = Some(Discv5Config::new(
        free_udp(),
        vec!["enr:-not-a-record".into()],
    ));
    let err = WakuNode::start(bad).await.unwrap_err().to_string();
    assert!(
        err.contains("discv5 bootstrap record 0 is not a valid ENR"),
        "{err}"
    );

    // An Ed25519 node key cannot sign a record.
    let mut ed = config(Mode::Relay);
    ed.keypair = Some(identity::Keypair::generate_ed25519());
    ed.discovery.discv5 = Some(Discv5Config::new(free_udp(), Vec::new()));
    let err = WakuNode::start(ed).await.unwrap_err().to_string();
    assert!(err.contains("discv5 needs a secp256k1 node key"), "{err}");

    // The same node without discv5 runs, without a record.
    let mut ed = config(Mode::Relay);
    ed.keypair = Some(identity::Keypair::generate_ed25519());
    let node = WakuNode::start(ed).await.unwrap();
    assert!(node.enr().is_none());
    let _: Vec<Multiaddr> = node.listen_addrs();
    node.shutdown().await;
}
