//! Our node against js-waku 0.0.27, an implementation we did not write,
//! running as a separate Node.js process (tests/js/waku_peer.mjs) on
//! 127.0.0.1: js-waku dials us over websocket + mplex, we dial js-waku over
//! TCP + yamux, messages flow both ways with the same hashes and ids, a
//! line js → rust → js forwards, and a js-waku light node publishes,
//! receives and reads history through our relay's light push, filter and
//! store services.
//!
//! Needs `node` and the npm packages (`npm install` at the root; the README's
//! test command does it).

#![allow(clippy::unwrap_used)]

use nodepair_waku::{Config, Multiaddr, Shard, WakuMessage, WakuNode};
use prost::Message as _;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::time::{sleep, timeout};

const SHARD: Shard = Shard {
    cluster: 42,
    shard: 0,
};
const TOPIC: &str = "/nodepair/1/interop/proto";

/// A js-waku node in its own process, driven over stdio: a relay node
/// (tests/js/waku_peer.mjs) or a light node (tests/js/waku_light.mjs).
struct JsPeer {
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
    /// Message events that arrived while waiting for a command's answer.
    messages: VecDeque<Value>,
    /// Peers js-waku's discovery reported meanwhile.
    discovered: VecDeque<Value>,
    /// A relay node's TCP address (its websocket one is not dialled by these
    /// tests); a light node listens on none.
    tcp: Option<Multiaddr>,
}

impl JsPeer {
    /// A js-waku relay node.
    async fn start() -> JsPeer {
        Self::run("waku_peer.mjs", &[]).await
    }

    /// A js-waku light node (createLightNode): light push and filter only.
    async fn light() -> JsPeer {
        Self::run("waku_light.mjs", &[]).await
    }

    /// A js-waku light node that also runs js-waku's peer exchange discovery
    /// on the nodes it dials.
    async fn light_with_peer_exchange() -> JsPeer {
        Self::run("waku_light.mjs", &["--peerExchange=1"]).await
    }

    async fn run(script: &str, extra: &[&str]) -> JsPeer {
        let js = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/js");
        let mut child = Command::new("node")
            .arg("--import")
            .arg(js.join("polyfills.mjs"))
            .arg(js.join(script))
            .arg(format!("--clusterId={}", SHARD.cluster))
            .arg(format!("--shard={}", SHARD.shard))
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("`node` runs (install Node.js and run `npm install` at the root)");
        let stdin = child.stdin.take().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let ready: Value = timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("js-waku started within 30 s")
            .unwrap()
            .map(|l| serde_json::from_str(&l).unwrap())
            .expect("js-waku printed its ready line (is `npm install` done?)");
        assert_eq!(ready["event"], "ready", "{ready}");
        let addrs: Vec<Multiaddr> = ready["multiaddrs"]
            .as_array()
            .map(|all| {
                all.iter()
                    .map(|a| a.as_str().unwrap().parse().unwrap())
                    .collect()
            })
            .unwrap_or_default();
        JsPeer {
            tcp: addrs
                .iter()
                .find(|a| !a.to_string().contains("/ws/"))
                .cloned(),
            child,
            stdin,
            lines,
            messages: VecDeque::new(),
            discovered: VecDeque::new(),
        }
    }

    /// Sends one command and returns its answer.
    async fn call(&mut self, command: Value) -> Value {
        let mut line = command.to_string();
        line.push('\n');
        self.stdin.write_all(line.as_bytes()).await.unwrap();
        loop {
            let line = timeout(Duration::from_secs(30), self.lines.next_line())
                .await
                .expect("js-waku answered within 30 s")
                .unwrap()
                .expect("js-waku is still running");
            let value: Value = serde_json::from_str(&line).unwrap();
            if value["event"] == "message" {
                self.messages.push_back(value);
            } else if value["event"] == "discovered" {
                self.discovered.push_back(value);
            } else {
                return value;
            }
        }
    }

    /// Publishes, retrying until js-waku sees a peer for the topic.
    async fn publish(&mut self, payload: &[u8]) -> Value {
        for _ in 0..100 {
            let answer = self
                .call(json!({"op": "publish", "contentTopic": TOPIC, "payload": hex::encode(payload)}))
                .await;
            if answer["ok"] == "publish" && answer["peers"].as_u64() > Some(0) {
                return answer;
            }
            sleep(Duration::from_millis(100)).await;
        }
        panic!("js-waku found no peer to publish to in 10 s");
    }

    /// The next message js-waku received.
    async fn next_message(&mut self) -> Value {
        if let Some(m) = self.messages.pop_front() {
            return m;
        }
        let line = timeout(Duration::from_secs(15), self.lines.next_line())
            .await
            .expect("js-waku received a message within 15 s")
            .unwrap()
            .unwrap();
        let value: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["event"], "message", "{value}");
        value
    }

    async fn stop(mut self) {
        let _ = self.call(json!({"op": "stop"})).await;
        let _ = timeout(Duration::from_secs(5), self.child.wait()).await;
    }
}

async fn rust_node(listen: &[&str]) -> WakuNode {
    let mut config = Config::new(SHARD);
    config.discovery.dial_private = true; // all on 127.0.0.1
    config.listen = listen.iter().map(|a| a.parse().unwrap()).collect();
    WakuNode::start(config).await.unwrap()
}

/// Publishes from our node until a mesh peer took it.
async fn publish_meshed(
    node: &WakuNode,
    payload: &[u8],
) -> (WakuMessage, nodepair_waku::Published) {
    for _ in 0..150 {
        let mut message = WakuMessage::new(TOPIC, payload.to_vec());
        message.timestamp = Some(1_700_000_000_123_456_789);
        match node.publish(message.clone()).await {
            Ok(p) if p.mesh_peers > 0 => return (message, p),
            _ => sleep(Duration::from_millis(100)).await,
        }
    }
    panic!("no mesh with js-waku in 15 s");
}

fn message_id(message: &WakuMessage) -> String {
    hex::encode(Sha256::digest(message.encode_to_vec()))
}

#[tokio::test]
async fn js_waku_dials_us_over_websocket_and_messages_flow_both_ways() {
    let node = rust_node(&["/ip4/127.0.0.1/tcp/0/ws"]).await;
    let mut ours = node.subscribe(TOPIC).await.unwrap();
    let mut js = JsPeer::start().await;
    assert_eq!(
        js.call(json!({"op": "subscribe", "contentTopic": TOPIC}))
            .await["ok"],
        "subscribe"
    );
    let dialled = js
        .call(json!({"op": "dial", "addr": node.listen_addrs()[0].to_string()}))
        .await;
    assert_eq!(dialled["ok"], "dial", "{dialled}");

    // rust → js: the same deterministic hash, and the same gossipsub message
    // id (sha256 of the bytes we sent).
    let (sent, published) = publish_meshed(&node, b"from rust").await;
    let got = js.next_message().await;
    assert_eq!(got["payload"], hex::encode(b"from rust"));
    assert_eq!(got["hash"], published.hash.to_string());
    assert_eq!(got["id"], message_id(&sent));
    assert_eq!(got["timestamp"], "1700000000123456789");

    // js → rust.
    let answer = js.publish(b"from js").await;
    let received = timeout(Duration::from_secs(15), ours.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(received.message.payload, b"from js");
    assert_eq!(received.hash.to_string(), answer["hash"].as_str().unwrap());
    assert_eq!(
        message_id(&received.message),
        answer["id"].as_str().unwrap()
    );

    js.stop().await;
    node.shutdown().await;
}

#[tokio::test]
async fn we_dial_js_waku_over_tcp_and_yamux() {
    let mut js = JsPeer::start().await;
    js.call(json!({"op": "subscribe", "contentTopic": TOPIC}))
        .await;
    let mut config = Config::new(SHARD);
    config.discovery.dial_private = true; // all on 127.0.0.1
    config.bootstrap = vec![js.tcp.clone().expect("a js-waku relay node listens on TCP")];
    let node = WakuNode::start(config).await.unwrap();
    let mut ours = node.subscribe(TOPIC).await.unwrap();

    let answer = js.publish(b"over tcp").await;
    let received = timeout(Duration::from_secs(15), ours.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(received.message.payload, b"over tcp");
    assert_eq!(received.hash.to_string(), answer["hash"].as_str().unwrap());
    let peers = node.peers().await.unwrap();
    assert_eq!(peers.len(), 1);
    assert_eq!(peers[0].agent, "js-waku");
    assert!(
        peers[0]
            .protocols
            .iter()
            .any(|p| p == "/vac/waku/relay/2.0.0"),
        "{peers:?}"
    );

    let (_, published) = publish_meshed(&node, b"back over tcp").await;
    assert_eq!(js.next_message().await["hash"], published.hash.to_string());
    js.stop().await;
    node.shutdown().await;
}

#[tokio::test]
async fn a_line_of_js_rust_js_forwards() {
    let node = rust_node(&["/ip4/127.0.0.1/tcp/0/ws"]).await;
    let mut left = JsPeer::start().await;
    let mut right = JsPeer::start().await;
    right
        .call(json!({"op": "subscribe", "contentTopic": TOPIC}))
        .await;
    left.call(json!({"op": "subscribe", "contentTopic": TOPIC}))
        .await;
    let addr = node.listen_addrs()[0].to_string();
    assert_eq!(
        left.call(json!({"op": "dial", "addr": addr})).await["ok"],
        "dial"
    );
    assert_eq!(
        right.call(json!({"op": "dial", "addr": addr})).await["ok"],
        "dial"
    );
    // Let right's subscription reach our node before left publishes.
    sleep(Duration::from_secs(2)).await;

    let answer = left.publish(b"across the line").await;
    let got = right.next_message().await;
    assert_eq!(got["payload"], hex::encode(b"across the line"));
    assert_eq!(got["hash"], answer["hash"]);
    assert_eq!(got["id"], answer["id"]);
    left.stop().await;
    right.stop().await;
    node.shutdown().await;
}

#[tokio::test]
async fn a_js_waku_light_node_uses_our_relay_for_light_push_filter_and_store() {
    const TO_LIGHT: &str = "/nodepair/1/to-js-light/proto";
    const FROM_LIGHT: &str = "/nodepair/1/from-js-light/proto";
    // Our relay serves (with a store); a second node of ours is the relay
    // peer on the other side of it.
    let mut config = Config::new(SHARD);
    config.discovery.dial_private = true; // all on 127.0.0.1
    config.listen = vec!["/ip4/127.0.0.1/tcp/0/ws".parse().unwrap()];
    config.store = Some(nodepair_waku::StoreConfig::default());
    let service = WakuNode::start(config).await.unwrap();
    let mut config = Config::new(SHARD);
    config.discovery.dial_private = true; // all on 127.0.0.1
    config.bootstrap = service.listen_addrs();
    let relay_peer = WakuNode::start(config).await.unwrap();
    let mut from_light = relay_peer.subscribe(FROM_LIGHT).await.unwrap();

    let mut js = JsPeer::light().await;
    let dialled = js
        .call(json!({"op": "dial", "addr": service.listen_addrs()[0].to_string()}))
        .await;
    assert_eq!(dialled["ok"], "dial", "{dialled}");
    let subscribed = js
        .call(json!({"op": "subscribe", "contentTopic": TO_LIGHT}))
        .await;
    assert_eq!(
        subscribed["successes"],
        json!([service.peer_id().to_string()]),
        "{subscribed}"
    );

    // Relay peer → our service → js-waku's filter subscription.
    let mut delivered = None;
    for i in 0..100u8 {
        let _ = relay_peer
            .publish(WakuMessage::new(TO_LIGHT, vec![b'r', i]))
            .await;
        if let Some(m) = js.messages.pop_front() {
            delivered = Some(m);
            break;
        }
        // Anything js-waku printed meanwhile lands in `messages`.
        let _ = timeout(Duration::from_millis(200), async {
            if let Ok(Some(line)) = js.lines.next_line().await {
                js.messages.push_back(serde_json::from_str(&line).unwrap());
            }
        })
        .await;
        if let Some(m) = js.messages.pop_front() {
            delivered = Some(m);
            break;
        }
    }
    let delivered = delivered.expect("js-waku's filter delivered a message");
    assert_eq!(delivered["event"], "message", "{delivered}");
    assert_eq!(delivered["contentTopic"], TO_LIGHT);

    // js-waku's light push → our service → the relay peer.
    let pushed = js
        .call(json!({"op": "push", "contentTopic": FROM_LIGHT, "payload": hex::encode(b"pushed by js")}))
        .await;
    assert_eq!(
        pushed["successes"],
        json!([service.peer_id().to_string()]),
        "{pushed}"
    );
    let got = timeout(Duration::from_secs(15), from_light.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.message.payload, b"pushed by js");

    // js-waku's store client reads back, in pages of two, what our relay kept.
    for payload in [b"kept 1", b"kept 2", b"kept 3"] {
        let pushed = js
            .call(
                json!({"op": "push", "contentTopic": FROM_LIGHT, "payload": hex::encode(payload)}),
            )
            .await;
        assert_eq!(pushed["failures"], json!([]), "{pushed}");
    }
    let history = js
        .call(json!({"op": "query", "contentTopic": FROM_LIGHT, "pageSize": 2}))
        .await;
    assert_eq!(history["ok"], "query", "{history}");
    assert_eq!(
        history["messages"],
        json!([
            hex::encode(b"pushed by js"),
            hex::encode(b"kept 1"),
            hex::encode(b"kept 2"),
            hex::encode(b"kept 3")
        ]),
        "{history}"
    );

    js.stop().await;
    relay_peer.shutdown().await;
    service.shutdown().await;
}

/// js-waku's peer exchange client asks our relay for peers and decodes the
/// records it gives: the ENR of a relay our relay found through discv5.
#[tokio::test]
async fn js_waku_finds_a_relay_through_our_peer_exchange() {
    use nodepair_waku::discovery::Discv5Config;
    let udp = || {
        std::net::UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
    };
    let mut config = Config::new(SHARD);
    config.discovery.dial_private = true; // all on 127.0.0.1
    config.listen = vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
    config.discovery.discv5 = Some(Discv5Config::new(udp(), Vec::new()));
    let far = WakuNode::start(config).await.unwrap();
    let mut config = Config::new(SHARD);
    config.discovery.dial_private = true; // all on 127.0.0.1
    config.listen = vec!["/ip4/127.0.0.1/tcp/0/ws".parse().unwrap()];
    // The js side waits for a node serving light push, filter and store.
    config.store = Some(nodepair_waku::StoreConfig::default());
    config.discovery.discv5 = Some(Discv5Config::new(
        udp(),
        vec![far.enr().unwrap().to_string()],
    ));
    let service = WakuNode::start(config).await.unwrap();
    // The service node has found `far` before js-waku asks.
    timeout(Duration::from_secs(30), async {
        while !service
            .peers()
            .await
            .unwrap()
            .iter()
            .any(|p| p.peer_id == far.peer_id())
        {
            sleep(Duration::from_millis(200)).await;
        }
    })
    .await
    .expect("the service node found the far relay through discv5");

    let mut js = JsPeer::light_with_peer_exchange().await;
    let dialled = js
        .call(json!({"op": "dial", "addr": service.listen_addrs()[0].to_string()}))
        .await;
    assert_eq!(dialled["ok"], "dial", "{dialled}");
    let far_id = far.peer_id().to_string();
    let far_tcp = far.listen_addrs()[0].to_string();
    let found = timeout(Duration::from_secs(45), async {
        loop {
            if let Some(event) = js.discovered.pop_front() {
                if event["peerId"] == far_id.as_str() {
                    return event;
                }
                continue;
            }
            if let Ok(Some(line)) = js.lines.next_line().await {
                let value: Value = serde_json::from_str(&line).unwrap();
                if value["event"] == "discovered" {
                    js.discovered.push_back(value);
                }
            }
        }
    })
    .await
    .expect("js-waku's peer exchange found the far relay within 45 s");
    let addrs: Vec<String> = found["multiaddrs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    assert!(
        addrs.iter().any(|a| far_tcp.starts_with(a.as_str())),
        "the record's address {addrs:?} is where the far relay listens ({far_tcp})"
    );
    js.stop().await;
    for node in [service, far] {
        node.shutdown().await;
    }
}
