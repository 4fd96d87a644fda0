//! Our Waku nodes relaying among themselves on 127.0.0.1.

#![allow(clippy::unwrap_used)]

use nodepair_waku::metadata::Mismatch;
use nodepair_waku::{Config, NodeEvent, Shard, WakuMessage, WakuNode};
use std::time::Duration;
use tokio::time::timeout;

const SHARD: Shard = Shard {
    cluster: 42,
    shard: 0,
};
const TOPIC: &str = "/nodepair/1/relay-test/proto";

async fn node(shard: Shard, bootstrap: Vec<nodepair_waku::Multiaddr>) -> WakuNode {
    let mut config = Config::new(shard);
    config.listen = vec![
        "/ip4/127.0.0.1/tcp/0".parse().unwrap(),
        "/ip4/127.0.0.1/tcp/0/ws".parse().unwrap(),
    ];
    config.bootstrap = bootstrap;
    config.redial_initial = Duration::from_millis(200);
    WakuNode::start(config).await.unwrap()
}

/// Publishes until a mesh has formed and the message went to someone.
async fn publish_when_meshed(node: &WakuNode, payload: &[u8]) -> nodepair_waku::Published {
    for _ in 0..100 {
        match node
            .publish(WakuMessage::new(TOPIC, payload.to_vec()))
            .await
        {
            Ok(p) if p.mesh_peers > 0 => return p,
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    panic!("no mesh formed in 10 s");
}

#[tokio::test]
async fn a_message_crosses_a_line_of_three_nodes() {
    let a = node(SHARD, vec![]).await;
    let b = node(SHARD, vec![a.listen_addrs()[0].clone()]).await;
    let c = node(SHARD, vec![b.listen_addrs()[1].clone()]).await; // over websocket
    let mut at_c = c.subscribe(TOPIC).await.unwrap();
    let mut at_a = a.subscribe(TOPIC).await.unwrap();
    // Wait for both links to mesh before sending across them.
    publish_when_meshed(&b, b"warm-up").await;
    let _ = timeout(Duration::from_secs(10), at_c.next()).await.unwrap();
    let _ = timeout(Duration::from_secs(10), at_a.next()).await.unwrap();

    let sent = a
        .publish(WakuMessage::new(TOPIC, b"from a".to_vec()))
        .await
        .unwrap();
    let got = timeout(Duration::from_secs(10), at_c.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.message.payload, b"from a");
    assert_eq!(got.hash, sent.hash);
    assert_eq!(got.pubsub_topic.as_str(), "/waku/2/rs/42/0");
    for n in [a, b, c] {
        n.shutdown().await;
    }
}

#[tokio::test]
async fn the_same_message_is_delivered_once() {
    let a = node(SHARD, vec![]).await;
    let b = node(SHARD, vec![a.listen_addrs()[0].clone()]).await;
    let mut at_b = b.subscribe(TOPIC).await.unwrap();
    publish_when_meshed(&a, b"warm-up").await;
    let _ = timeout(Duration::from_secs(10), at_b.next()).await.unwrap();
    let mut msg = WakuMessage::new(TOPIC, b"once".to_vec());
    msg.timestamp = Some(1);
    a.publish(msg.clone()).await.unwrap();
    a.publish(msg).await.unwrap();
    assert_eq!(
        timeout(Duration::from_secs(5), at_b.next())
            .await
            .unwrap()
            .unwrap()
            .message
            .payload,
        b"once"
    );
    assert!(
        timeout(Duration::from_millis(500), at_b.next())
            .await
            .is_err(),
        "delivered twice"
    );
    a.shutdown().await;
    b.shutdown().await;
}

/// The first event of `events` that `pick` selects, within 10 s.
async fn first<T>(
    events: &mut tokio::sync::broadcast::Receiver<NodeEvent>,
    mut pick: impl FnMut(NodeEvent) -> Option<T>,
) -> T {
    timeout(Duration::from_secs(10), async {
        loop {
            if let Some(t) = pick(events.recv().await.unwrap()) {
                return t;
            }
        }
    })
    .await
    .expect("no such event in 10 s")
}

#[tokio::test]
async fn a_peer_on_another_cluster_is_disconnected() {
    let a = node(SHARD, vec![]).await;
    let mut at_a = a.events();
    let mut config = Config::new(Shard {
        cluster: 7,
        shard: 0,
    });
    config.bootstrap = vec![a.listen_addrs()[0].clone()];
    let mut at_other = {
        // Subscribe to the other node's events before it dials.
        let other = WakuNode::start(config).await.unwrap();
        let events = other.events();
        let id = other.peer_id();
        (other, events, id)
    };
    let other_id = at_other.2;
    // Whichever side hears first rejects the other and hangs up.
    let a_id = a.peer_id();
    let rejected = tokio::select! {
        r = first(&mut at_a, |e| match e {
            NodeEvent::PeerRejected { peer_id, reason } if peer_id == other_id => Some(reason),
            _ => None,
        }) => r,
        r = first(&mut at_other.1, |e| match e {
            NodeEvent::PeerRejected { peer_id, reason } if peer_id == a_id => Some(reason),
            _ => None,
        }) => r,
    };
    assert!(
        rejected
            == Mismatch::OtherCluster {
                ours: 42,
                theirs: 7
            }
            || rejected
                == Mismatch::OtherCluster {
                    ours: 7,
                    theirs: 42
                },
        "{rejected:?}"
    );
    first(&mut at_a, |e| {
        matches!(e, NodeEvent::PeerDisconnected { peer_id } if peer_id == other_id).then_some(())
    })
    .await;
    assert!(a.peers().await.unwrap().is_empty());
    a.shutdown().await;
    at_other.0.shutdown().await;
}

#[tokio::test]
async fn a_bootstrap_peer_that_comes_back_is_redialled() {
    // a listens on a port we then reuse, with the same identity.
    let keypair = nodepair_waku::identity::Keypair::generate_ed25519();
    let mut config = Config::new(SHARD);
    config.keypair = Some(keypair.clone());
    config.listen = vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
    let a = WakuNode::start(config.clone()).await.unwrap();
    let addr = a.listen_addrs()[0].clone();
    let b = node(SHARD, vec![addr.clone()]).await;
    let mut events = b.events();
    let a_id = a.peer_id();
    first(&mut events, |e| {
        matches!(e, NodeEvent::PeerConnected { peer_id, .. } if peer_id == a_id).then_some(())
    })
    .await;

    a.shutdown().await;
    drop(a);
    first(&mut events, |e| {
        matches!(e, NodeEvent::PeerDisconnected { peer_id } if peer_id == a_id).then_some(())
    })
    .await;

    // a comes back on the same address: b dials it again on its own.
    config.listen = vec![
        addr.iter()
            .filter(|p| !matches!(p, nodepair_waku::multiaddr::Protocol::P2p(_)))
            .collect(),
    ];
    let a = WakuNode::start(config).await.unwrap();
    first(&mut events, |e| {
        matches!(e, NodeEvent::PeerConnected { peer_id, .. } if peer_id == a_id).then_some(())
    })
    .await;
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn invalid_messages_are_refused_before_sending() {
    let a = node(SHARD, vec![]).await;
    let err = a
        .publish(WakuMessage::new(TOPIC, Vec::new()))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "message refused: message has an empty payload"
    );
    let err = a
        .publish(WakuMessage::new(TOPIC, b"x".to_vec()))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "no connected Waku peer relays /waku/2/rs/42/0 yet"
    );
    a.shutdown().await;
}

#[tokio::test]
async fn what_is_published_just_before_shutdown_still_goes_out() {
    let a = node(SHARD, vec![]).await;
    let b = node(SHARD, vec![a.listen_addrs()[0].clone()]).await;
    let mut at_b = b.subscribe(TOPIC).await.unwrap();
    publish_when_meshed(&a, b"warm-up").await;
    let _ = timeout(Duration::from_secs(10), at_b.next()).await.unwrap();

    // A goodbye, and the node stops at once (as a peer shutting down does).
    for i in 0..20u8 {
        a.publish(WakuMessage::new(TOPIC, vec![b'g', i]))
            .await
            .unwrap();
    }
    a.shutdown().await;
    for i in 0..20u8 {
        let got = timeout(Duration::from_secs(5), at_b.next())
            .await
            .expect("every message queued before shutdown arrived")
            .unwrap();
        assert_eq!(got.message.payload, [b'g', i]);
    }
    b.shutdown().await;
}
