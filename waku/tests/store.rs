//! Store on 127.0.0.1: a relay node keeps what it relays in SQLite; a node
//! that was not there when messages went out fetches them, a page at a time,
//! and the archive outlives a restart.

#![allow(clippy::unwrap_used)]

use nodepair_waku::store::StoreQueryRequest;
use nodepair_waku::{
    Config, Mode, Multiaddr, Shard, StoreConfig, StoreError, WakuMessage, WakuNode,
};
use std::path::Path;
use std::time::Duration;

const SHARD: Shard = Shard {
    cluster: 42,
    shard: 0,
};
const A: &str = "/nodepair/1/stored-a/proto";
const B: &str = "/nodepair/1/stored-b/proto";

async fn node(mode: Mode, bootstrap: Vec<Multiaddr>, store: Option<&Path>) -> WakuNode {
    let mut config = Config::new(SHARD);
    config.listen = vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
    config.bootstrap = bootstrap;
    config.redial_initial = Duration::from_millis(200);
    config.mode = mode;
    config.store = store.map(|p| StoreConfig {
        path: Some(p.to_owned()),
        ..StoreConfig::default()
    });
    WakuNode::start(config).await.unwrap()
}

/// Asks until the store node answers with `n` messages of `topic`.
async fn history(client: &WakuNode, topic: &str, n: usize) -> Vec<nodepair_waku::Received> {
    for _ in 0..100 {
        if let Ok(found) = client.store_history(&[topic.to_owned()], 0).await
            && found.len() >= n
        {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("the store did not hold {n} messages of {topic} in 20 s");
}

fn query(topic: &str, limit: u64, cursor: Option<Vec<u8>>) -> StoreQueryRequest {
    StoreQueryRequest {
        request_id: "page".into(),
        include_data: true,
        pubsub_topic: Some("/waku/2/rs/42/0".into()),
        content_topics: vec![topic.into()],
        pagination_forward: true,
        pagination_limit: Some(limit),
        pagination_cursor: cursor,
        ..Default::default()
    }
}

#[tokio::test]
async fn a_late_node_fetches_what_it_missed_a_page_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.sqlite");
    let store = node(Mode::Relay, vec![], Some(&db)).await;
    let sender = node(Mode::Relay, vec![store.listen_addrs()[0].clone()], None).await;

    // Sent while nobody but the store node listens.
    let mut sent = 0;
    for i in 0..200u32 {
        let mut m = WakuMessage::new(A, format!("missed {sent}").into_bytes());
        m.timestamp = Some(1_790_000_000_000_000_000 + i64::from(i));
        if sender.publish(m).await.is_ok_and(|p| p.mesh_peers > 0) {
            sent += 1;
            if sent == 7 {
                break;
            }
        } else {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    assert_eq!(sent, 7, "the sender never meshed with the store node");
    let mut other = WakuMessage::new(B, b"other topic".to_vec());
    other.timestamp = Some(1_790_000_000_000_000_500);
    sender.publish(other).await.unwrap();

    // A light node that came later asks the store.
    let late = node(Mode::Light, vec![store.listen_addrs()[0].clone()], None).await;
    let found = history(&late, A, 7).await;
    let payloads: Vec<String> = found
        .iter()
        .map(|r| String::from_utf8(r.message.payload.clone()).unwrap())
        .collect();
    assert_eq!(
        payloads,
        (0..7).map(|i| format!("missed {i}")).collect::<Vec<_>>(),
        "all of them, oldest first"
    );

    // Pages of three: 3, 3, 1, each cursor leading to the next.
    let mut cursor = None;
    let mut sizes = Vec::new();
    loop {
        let page = late.store_query(query(A, 3, cursor.clone())).await.unwrap();
        sizes.push(page.messages.len());
        match page.pagination_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(sizes, [3, 3, 1]);

    // A cursor taken from a query of B is refused for a query of A.
    let b_page = late.store_query(query(B, 1, None)).await.unwrap();
    assert_eq!(b_page.messages.len(), 1);
    let b_cursor = b_page.messages[0].message_hash.clone();
    let refused = late.store_query(query(A, 3, b_cursor)).await.unwrap_err();
    assert!(
        matches!(&refused, StoreError::Refused { code: 400, description } if description.contains("cursor")),
        "{refused}"
    );

    // The archive outlives the store node.
    store.shutdown().await;
    late.shutdown().await;
    let store = node(Mode::Relay, vec![], Some(&db)).await;
    let again = node(Mode::Light, vec![store.listen_addrs()[0].clone()], None).await;
    assert_eq!(history(&again, A, 7).await.len(), 7);
    for n in [again, store, sender] {
        n.shutdown().await;
    }
}

#[tokio::test]
async fn without_a_store_node_a_query_says_so() {
    let plain = node(Mode::Relay, vec![], None).await;
    let client = node(Mode::Light, vec![plain.listen_addrs()[0].clone()], None).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        client.store_history(&[A.into()], 0).await.unwrap_err(),
        StoreError::NoService
    );
    client.shutdown().await;
    plain.shutdown().await;
}

#[tokio::test]
async fn a_long_history_comes_back_whole_and_oldest_first_across_pages() {
    // Kept in memory, as `nodepair-relay` keeps it by default.
    let mut config = Config::new(SHARD);
    config.listen = vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
    config.store = Some(StoreConfig::default());
    let store = WakuNode::start(config).await.unwrap();
    let sender = node(Mode::Relay, vec![store.listen_addrs()[0].clone()], None).await;
    let count = 250u32; // three pages of at most 100
    let mut sent = 0u32;
    for _ in 0..600 {
        let mut m = WakuMessage::new(A, format!("{sent}").into_bytes());
        m.timestamp = Some(1_790_000_000_000_000_000 + i64::from(sent));
        if sender.publish(m).await.is_ok_and(|p| p.mesh_peers > 0) {
            sent += 1;
            if sent == count {
                break;
            }
        } else {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    assert_eq!(sent, count, "the sender never meshed with the store node");
    let late = node(Mode::Light, vec![store.listen_addrs()[0].clone()], None).await;
    let found = history(&late, A, count as usize).await;
    let got: Vec<u32> = found
        .iter()
        .map(|r| String::from_utf8_lossy(&r.message.payload).parse().unwrap())
        .collect();
    assert_eq!(
        got,
        (0..count).collect::<Vec<_>>(),
        "each once, oldest first"
    );
    for n in [late, sender, store] {
        n.shutdown().await;
    }
}

#[tokio::test]
async fn a_peer_asking_too_often_is_answered_429_and_others_still_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.sqlite");
    let store = node(Mode::Relay, vec![], Some(&db)).await;
    let greedy = node(Mode::Relay, vec![store.listen_addrs()[0].clone()], None).await;
    let other = node(Mode::Relay, vec![store.listen_addrs()[0].clone()], None).await;
    // Both see the store as a store node before asking.
    for client in [&greedy, &other] {
        for _ in 0..100 {
            if client.store_query(query(A, 1, None)).await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // 60 queries at once: the store's default is 5 a second, bursts of 25,
    // and 4 waiting per peer. The greedy peer hears 429, never the 503 of a
    // queue it filled.
    let mut refused = 0;
    let mut answered = 0;
    let asks: Vec<_> = (0..60)
        .map(|_| greedy.store_query(query(A, 1, None)))
        .collect();
    // Another peer asking meanwhile is neither held to the greedy one's
    // rate nor kept out by its queries.
    let (flood, meanwhile) = tokio::join!(
        futures::future::join_all(asks),
        other.store_query(query(A, 1, None))
    );
    for outcome in flood {
        match outcome {
            Ok(_) => answered += 1,
            Err(StoreError::Refused { code: 429, .. }) => refused += 1,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(refused >= 30, "{answered} answered, {refused} refused");
    meanwhile.unwrap();
    other.store_query(query(A, 1, None)).await.unwrap();
}
