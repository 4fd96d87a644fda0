//! What a misbehaving peer can do to our node: send garbage instead of a
//! handshake, or relay messages that break Waku's rules. Each is dropped or
//! disconnected, and the node keeps serving everyone else.

#![allow(clippy::unwrap_used)]

use futures::StreamExt;
use libp2p::gossipsub::IdentTopic;
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, noise, tcp, yamux};
use nodepair_waku::message::MAX_MESSAGE_SIZE;
use nodepair_waku::{Config, Shard, WakuMessage, WakuNode, relay};
use prost::Message as _;
use std::io::{Read, Write};
use std::time::Duration;
use tokio::time::timeout;

const SHARD: Shard = Shard {
    cluster: 42,
    shard: 0,
};
const TOPIC: &str = "/nodepair/1/bad-input/proto";

async fn node(bootstrap: Vec<Multiaddr>) -> WakuNode {
    let mut config = Config::new(SHARD);
    config.listen = vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
    config.bootstrap = bootstrap;
    WakuNode::start(config).await.unwrap()
}

/// `a` relays to `b`; waits until a message from `a` reaches `b`.
async fn meshed_pair() -> (WakuNode, WakuNode, nodepair_waku::Subscription) {
    let a = node(vec![]).await;
    let b = node(vec![a.listen_addrs()[0].clone()]).await;
    let mut at_b = b.subscribe(TOPIC).await.unwrap();
    for _ in 0..100 {
        let _ = a
            .publish(WakuMessage::new(TOPIC, b"warm-up".to_vec()))
            .await;
        if timeout(Duration::from_millis(100), at_b.next())
            .await
            .is_ok()
        {
            return (a, b, at_b);
        }
    }
    panic!("no mesh in 10 s");
}

#[tokio::test]
async fn garbage_instead_of_a_handshake_is_hung_up_on() {
    let (a, b, mut at_b) = meshed_pair().await;
    let port = a.listen_addrs()[0]
        .iter()
        .find_map(|p| match p {
            libp2p::multiaddr::Protocol::Tcp(port) => Some(port),
            _ => None,
        })
        .unwrap();
    let closed = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let junk: Vec<u8> = (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect();
        let _ = stream.write_all(&junk);
        // Read until the node hangs up.
        let mut buf = [0u8; 1024];
        loop {
            match stream.read(&mut buf) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return false,
                Err(_) => return true,
            }
        }
    })
    .await
    .unwrap();
    assert!(closed, "the node hung up on garbage");
    still_serves(a, b, &mut at_b).await;
}

/// `a` still relays to its honest peer `b`; then both stop.
async fn still_serves(a: WakuNode, b: WakuNode, at_b: &mut nodepair_waku::Subscription) {
    a.publish(WakuMessage::new(TOPIC, b"still here".to_vec()))
        .await
        .unwrap();
    let got = timeout(Duration::from_secs(5), at_b.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.message.payload, b"still here");
    a.shutdown().await;
    b.shutdown().await;
}

/// A peer that relays whatever bytes it likes.
async fn rogue(target: Multiaddr) -> libp2p::Swarm<libp2p::gossipsub::Behaviour> {
    let mut swarm = libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )
        .unwrap()
        .with_behaviour(|_| relay::behaviour())
        .unwrap()
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
        .build();
    swarm
        .behaviour_mut()
        .subscribe(&IdentTopic::new("/waku/2/rs/42/0"))
        .unwrap();
    swarm.dial(target).unwrap();
    swarm
}

#[tokio::test]
async fn messages_that_break_the_rules_are_not_delivered_or_passed_on() {
    let (a, b, mut at_b) = meshed_pair().await;
    let mut rogue = rogue(a.listen_addrs()[0].clone()).await;
    let topic = IdentTopic::new("/waku/2/rs/42/0");
    let oversized = WakuMessage::new(TOPIC, vec![1u8; MAX_MESSAGE_SIZE]).encode_to_vec();
    let bad: Vec<Vec<u8>> = vec![
        vec![0xff, 0xff, 0xff],                              // not a protobuf
        WakuMessage::new(TOPIC, Vec::new()).encode_to_vec(), // empty payload
        WakuMessage::new("", b"x".to_vec()).encode_to_vec(), // no content topic
        oversized,                                           // over 150 KiB
    ];
    // Publish each as soon as the rogue has a peer for the topic.
    let mut pending = bad.into_iter();
    let mut next = pending.next();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while let Some(data) = next.clone() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the rogue never reached a mesh"
        );
        if rogue.behaviour_mut().publish(topic.clone(), data).is_ok() {
            next = pending.next();
        }
        let _ = timeout(Duration::from_millis(100), rogue.select_next_some()).await;
    }
    // Keep the rogue's connection serviced for a while: nothing reaches b.
    let quiet = async {
        loop {
            if let SwarmEvent::ConnectionClosed { .. } = rogue.select_next_some().await {
                return;
            }
        }
    };
    let _ = timeout(Duration::from_secs(2), quiet).await;
    assert!(
        timeout(Duration::from_millis(500), at_b.next())
            .await
            .is_err(),
        "a rule-breaking message was delivered"
    );
    still_serves(a, b, &mut at_b).await;
}
