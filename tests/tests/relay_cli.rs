//! The `nodepair-relay` binary as an operator runs it: prints where it
//! listens, relays between peers that only know it, keeps its identity in a
//! key file, and stops cleanly on SIGTERM.

#![allow(clippy::unwrap_used)]

use nodepair_tests::{Sandbox, binary};
use nodepair_waku::{Config, Multiaddr, Shard, WakuMessage, WakuNode};
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::Duration;

const SHARD: Shard = Shard {
    cluster: 42,
    shard: 0,
};
const TOPIC: &str = "/nodepair/1/relay-cli/proto";

/// Starts the relay on loopback and returns it with its `--json` status.
fn start_relay(sandbox: &Sandbox, extra: &[&str]) -> (Child, serde_json::Value) {
    let mut child = sandbox
        .command(&binary("nodepair-relay"))
        .args([
            "--listen",
            "/ip4/127.0.0.1/tcp/0",
            "--listen",
            "/ip4/127.0.0.1/tcp/0/ws",
        ])
        .args(["--cluster", "42", "--json"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (
        child,
        serde_json::from_str(&line).expect("one JSON status line"),
    )
}

fn stop(mut child: Child) -> std::process::ExitStatus {
    let pid = child.id().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    for _ in 0..100 {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    panic!("the relay did not stop within 5 s of SIGTERM");
}

async fn client(relay: Multiaddr) -> WakuNode {
    let mut config = Config::new(SHARD);
    config.bootstrap = vec![relay];
    WakuNode::start(config).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_peers_that_only_know_the_relay_exchange_messages() {
    let sandbox = Sandbox::new().unwrap();
    let (relay, status) = start_relay(&sandbox, &[]);
    assert_eq!(status["cluster"], 42);
    assert_eq!(status["shards"], serde_json::json!([0]));
    let listen: Vec<Multiaddr> = status["listen"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(listen.len(), 2);
    let peer_id = status["peer_id"].as_str().unwrap();
    assert!(
        listen
            .iter()
            .all(|a| a.to_string().ends_with(&format!("/p2p/{peer_id}")))
    );

    let a = client(listen[0].clone()).await; // TCP
    let b = client(listen[1].clone()).await; // websocket
    let mut at_b = b.subscribe(TOPIC).await.unwrap();
    let mut delivered = None;
    for _ in 0..100 {
        let _ = a
            .publish(WakuMessage::new(TOPIC, b"via the relay".to_vec()))
            .await;
        if let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(200), at_b.next()).await {
            delivered = Some(m);
            break;
        }
    }
    assert_eq!(
        delivered
            .expect("a message crossed the relay")
            .message
            .payload,
        b"via the relay"
    );
    a.shutdown().await;
    b.shutdown().await;
    assert!(stop(relay).success(), "exit status 0 on SIGTERM");
}

#[test]
fn the_key_file_keeps_the_peer_id_across_restarts() {
    let sandbox = Sandbox::new().unwrap();
    let key = sandbox.path().join("relay.key");
    let key_arg = key.to_str().unwrap();
    let (first, status) = start_relay(&sandbox, &["--key-file", key_arg]);
    assert!(stop(first).success());
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let (second, again) = start_relay(&sandbox, &["--key-file", key_arg]);
    assert!(stop(second).success());
    assert_eq!(status["peer_id"], again["peer_id"]);
}

#[test]
fn a_key_file_that_is_not_a_key_is_refused_clearly() {
    let sandbox = Sandbox::new().unwrap();
    let key = sandbox.path().join("relay.key");
    std::fs::write(&key, b"not a key").unwrap();
    let out = sandbox
        .command(&binary("nodepair-relay"))
        .args(["--listen", "/ip4/127.0.0.1/tcp/0", "--key-file"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("does not hold a libp2p key"), "{err}");
    assert_eq!(
        std::fs::read(&key).unwrap(),
        b"not a key",
        "the file is left as it was"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_store_file_keeps_relayed_messages_across_restarts() {
    let sandbox = Sandbox::new().unwrap();
    let db = sandbox.path().join("store.sqlite");
    let key = sandbox.path().join("relay.key");
    let args = [
        "--store",
        db.to_str().unwrap(),
        "--key-file",
        key.to_str().unwrap(),
    ];
    let (relay, status) = start_relay(&sandbox, &args);
    let tcp: Multiaddr = status["listen"][0].as_str().unwrap().parse().unwrap();
    let sender = client(tcp.clone()).await;
    let mut published = false;
    for _ in 0..100 {
        if sender
            .publish(WakuMessage::new(TOPIC, b"kept on disk".to_vec()))
            .await
            .is_ok_and(|p| p.mesh_peers > 0)
        {
            published = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(published, "the sender never meshed with the relay");
    // A publish only queues the message: asking the store says it arrived.
    let mut found = Vec::new();
    for _ in 0..100 {
        if let Ok(f) = sender.store_history(&[TOPIC.into()], 0).await
            && !f.is_empty()
        {
            found = f;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(found.len(), 1, "the relay stored the message once");
    sender.shutdown().await;
    assert!(stop(relay).success());
    assert!(db.exists(), "the store file was made");

    let (relay, status) = start_relay(&sandbox, &args);
    let tcp: Multiaddr = status["listen"][0].as_str().unwrap().parse().unwrap();
    let mut config = Config::new(SHARD);
    config.bootstrap = vec![tcp];
    config.mode = nodepair_waku::Mode::Light;
    let late = WakuNode::start(config).await.unwrap();
    let mut after = Vec::new();
    for _ in 0..50 {
        match late.store_history(&[TOPIC.into()], 0).await {
            Ok(f) if !f.is_empty() => {
                after = f;
                break;
            }
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    assert_eq!(
        after.iter().map(|r| r.hash).collect::<Vec<_>>(),
        found.iter().map(|r| r.hash).collect::<Vec<_>>(),
        "the restarted relay has exactly what it stored"
    );
    assert_eq!(after[0].message.payload, b"kept on disk");
    late.shutdown().await;
    assert!(stop(relay).success());
}

#[test]
fn a_store_file_and_no_store_together_are_refused() {
    let sandbox = Sandbox::new().unwrap();
    let out = sandbox
        .command(&binary("nodepair-relay"))
        .args([
            "--listen",
            "/ip4/127.0.0.1/tcp/0",
            "--store",
            "x.sqlite",
            "--no-store",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot be used with"), "{err}");
}
