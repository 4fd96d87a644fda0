//! DNS discovery end to end: signed ENR trees served by a tiny authoritative DNS server on 127.0.0.1, read back through a real resolver.

// Helpers outside `#[test]` functions panic on setup failures too.
#![allow(clippy::unwrap_used)]

use enr::k256::ecdsa::SigningKey;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::rdata::TXT;
use hickory_proto::rr::{RData, Record as DnsRecord, RecordType};
use nodepair_waku::discovery::dns::{DnsError, resolve_tree, resolver_at};
use nodepair_waku::discovery::enr_tree::{Limits, Link, TreeBuilder, TreeError};
use nodepair_waku::enr::{Record, WakuEnr, encode_multiaddrs};
use nodepair_waku::{Multiaddr, PeerId, identity};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

/// An authoritative server for a fixed zone: TXT answers from the map,
/// NXDOMAIN for any other name. Dropping it stops it.
struct DnsServer {
    /// Where it listens.
    addr: SocketAddr,
    /// The task answering queries, aborted on drop.
    task: JoinHandle<()>,
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(zone: BTreeMap<String, String>) -> DnsServer {
    let zone: HashMap<String, String> = zone
        .into_iter()
        .map(|(name, txt)| (name.to_ascii_lowercase(), txt))
        .collect();
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        loop {
            let Ok((n, from)) = socket.recv_from(&mut buf).await else {
                return;
            };
            if let Some(reply) = answer(&zone, &buf[..n]) {
                let _ = socket.send_to(&reply, from).await;
            }
        }
    });
    DnsServer { addr, task }
}

/// The reply to one query packet, if it is one.
fn answer(zone: &HashMap<String, String>, packet: &[u8]) -> Option<Vec<u8>> {
    let request = Message::from_vec(packet).ok()?;
    let query = request.queries.first()?.clone();
    let mut response = Message::response(request.metadata.id, request.metadata.op_code);
    response.metadata.authoritative = true;
    response.metadata.recursion_desired = request.metadata.recursion_desired;
    response.add_query(query.clone());
    let name = query.name().to_string().to_ascii_lowercase();
    match zone.get(name.trim_end_matches('.')) {
        Some(text) if query.query_type() == RecordType::TXT => {
            // A TXT character-string holds at most 255 bytes.
            let strings: Vec<&[u8]> = text.as_bytes().chunks(255).collect();
            response.add_answer(DnsRecord::from_rdata(
                query.name().clone(),
                60,
                RData::TXT(TXT::from_bytes(strings)),
            ));
        }
        Some(_) => {}
        None => response.metadata.response_code = ResponseCode::NXDomain,
    }
    response.to_vec().ok()
}

fn random_key() -> SigningKey {
    loop {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).unwrap();
        if let Ok(key) = SigningKey::from_slice(&secret) {
            return key;
        }
    }
}

/// A node as the test knows it, independently of its ENR.
struct Node {
    record: Record,
    peer_id: PeerId,
    addresses: Vec<Multiaddr>,
}

/// A relay node on 127.0.0.1:`port`, also reachable at two websocket DNS
/// addresses (which make its record longer than one TXT string); its peer
/// id comes from its secret through libp2p alone.
fn node(port: u16) -> Node {
    let key = random_key();
    let secret = identity::secp256k1::SecretKey::try_from_bytes(key.to_bytes().to_vec()).unwrap();
    let public = identity::secp256k1::Keypair::from(secret).public().clone();
    let peer_id = identity::PublicKey::from(public).to_peer_id();
    let wss: Vec<Multiaddr> = ["dns4", "dns6"]
        .iter()
        .map(|dns| {
            format!("/{dns}/node-{port}.ac-cn-hongkong-c.waku.example.org/tcp/443/wss")
                .parse()
                .unwrap()
        })
        .collect();
    let record = enr::Enr::builder()
        .ip4("127.0.0.1".parse().unwrap())
        .tcp4(port)
        .add_value("waku2", &bytes::Bytes::from(vec![1u8]))
        .add_value("multiaddrs", &bytes::Bytes::from(encode_multiaddrs(&wss)))
        .build(&key)
        .unwrap();
    let addresses = std::iter::once(format!("/ip4/127.0.0.1/tcp/{port}"))
        .chain(wss.iter().map(ToString::to_string))
        .map(|a| format!("{a}/p2p/{peer_id}").parse().unwrap())
        .collect();
    Node {
        record,
        peer_id,
        addresses,
    }
}

fn nodes(n: u16) -> Vec<Node> {
    (0..n).map(|i| node(60000 + i)).collect()
}

/// Reads a tree through the server, bounded in time.
async fn resolve(server: &DnsServer, link: &str) -> Result<Vec<WakuEnr>, DnsError> {
    // Warnings about skipped entries show with `--nocapture`.
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    let resolver = resolver_at(server.addr).unwrap();
    tokio::time::timeout(
        Duration::from_secs(20),
        resolve_tree(&resolver, link, Limits::default()),
    )
    .await
    .expect("resolving the tree took too long")
}

/// How many branch entries lie on the longest path from the root down.
fn branch_depth(zone: &BTreeMap<String, String>, domain: &str, label: &str) -> usize {
    let text = &zone[&format!("{label}.{domain}")];
    match text.strip_prefix("enrtree-branch:") {
        Some(children) => {
            1 + children
                .split(',')
                .map(|c| branch_depth(zone, domain, c))
                .max()
                .unwrap_or(0)
        }
        None => 0,
    }
}

fn enr_root(zone: &BTreeMap<String, String>, domain: &str) -> String {
    let root = &zone[domain];
    let e = root.split(' ').find_map(|w| w.strip_prefix("e=")).unwrap();
    e.to_owned()
}

#[tokio::test]
async fn every_node_of_a_nested_tree_comes_back_with_its_peer_id_and_addresses() {
    let nodes = nodes(5);
    let key = random_key();
    let records: Vec<&Record> = nodes.iter().map(|n| &n.record).collect();
    let zone = TreeBuilder::new(1)
        .enrs(records)
        .max_children(2)
        .build(&key, "nodes.test");
    assert!(
        branch_depth(&zone, "nodes.test", &enr_root(&zone, "nodes.test")) >= 3,
        "branches under branches under the top branch: {zone:#?}"
    );
    assert!(
        zone.values().any(|txt| txt.len() > 255),
        "some leaves need several TXT strings"
    );
    let server = serve(zone).await;

    let link = Link::new(*key.verifying_key(), "nodes.test").to_string();
    let found = resolve(&server, &link).await.unwrap();

    assert_eq!(found.len(), 5);
    for node in &nodes {
        let enr = found
            .iter()
            .find(|e| e.peer_id == node.peer_id)
            .unwrap_or_else(|| panic!("{} not found", node.peer_id));
        assert_eq!(enr.addresses, node.addresses);
        assert_eq!(enr.record.to_base64(), node.record.to_base64());
        assert!(enr.capabilities.is_some_and(|c| c.relay));
    }
}

#[tokio::test]
async fn a_tree_whose_root_signature_is_bad_is_refused() {
    let key = random_key();
    let nodes = nodes(3);
    let records: Vec<&Record> = nodes.iter().map(|n| &n.record).collect();
    let mut zone = TreeBuilder::new(1)
        .enrs(records.clone())
        .build(&key, "good.test");
    let mut bad = TreeBuilder::new(1).enrs(records).build(&key, "bad.test");
    // One character of the signature changed.
    let root = bad.get_mut("bad.test").unwrap();
    let at = root.find("sig=").unwrap() + 4;
    let flipped = if &root[at..=at] == "A" { "B" } else { "A" };
    root.replace_range(at..=at, flipped);
    zone.extend(bad);
    let server = serve(zone).await;

    let good = Link::new(*key.verifying_key(), "good.test").to_string();
    assert_eq!(resolve(&server, &good).await.unwrap().len(), 3);

    let bad = Link::new(*key.verifying_key(), "bad.test").to_string();
    let err = resolve(&server, &bad).await.unwrap_err();
    assert!(
        matches!(err, DnsError::Tree(TreeError::BadSignature)),
        "{err:?}"
    );
    assert!(err.to_string().contains("signature"), "{err}");

    // Signed well, but by another key than the link names.
    let stranger = Link::new(*random_key().verifying_key(), "good.test").to_string();
    let err = resolve(&server, &stranger).await.unwrap_err();
    assert!(
        matches!(err, DnsError::Tree(TreeError::BadSignature)),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_malformed_leaf_is_skipped_and_the_others_come_back() {
    let key = random_key();
    let nodes = nodes(4);
    let records: Vec<&Record> = nodes.iter().map(|n| &n.record).collect();
    let zone = TreeBuilder::new(1)
        .enrs(records)
        .enr_text("enr:-HW4QOFzoVLaFJnNhbgMoDXPnOvcdVuj7pDpqRvh6BRDO68a")
        .max_children(2)
        .build(&key, "nodes.test");
    let server = serve(zone).await;

    let link = Link::new(*key.verifying_key(), "nodes.test").to_string();
    let found = resolve(&server, &link).await.unwrap();

    let mut found: Vec<PeerId> = found.iter().map(|e| e.peer_id).collect();
    let mut want: Vec<PeerId> = nodes.iter().map(|n| n.peer_id).collect();
    found.sort();
    want.sort();
    assert_eq!(found, want);
}

#[tokio::test]
async fn an_unknown_domain_is_a_clear_error() {
    let key = random_key();
    let zone = TreeBuilder::new(1)
        .enrs([&node(1).record])
        .build(&key, "nodes.test");
    let server = serve(zone).await;

    let link = Link::new(*key.verifying_key(), "nowhere.test").to_string();
    let err = resolve(&server, &link).await.unwrap_err();
    assert!(
        matches!(&err, DnsError::NotFound { name } if name == "nowhere.test"),
        "{err:?}"
    );
    assert!(err.to_string().contains("nowhere.test"), "{err}");

    let err = resolve(&server, "enrtree://nokey@nodes.test")
        .await
        .unwrap_err();
    assert!(
        matches!(err, DnsError::Tree(TreeError::BadLink(_))),
        "{err:?}"
    );
}

/// A node whose only way in is an ENR tree: it reads the tree from the test's
/// DNS server, dials the relays listed there, and uses them as its service
/// nodes.
#[tokio::test]
async fn a_light_node_finds_its_service_nodes_through_an_enr_tree() {
    use nodepair_waku::{Config, Mode, Shard, WakuMessage, WakuNode};
    let shard = Shard {
        cluster: 42,
        shard: 0,
    };
    let relay = |bootstrap: Vec<Multiaddr>| {
        let mut config = Config::new(shard);
        config.discovery.dial_private = true; // all on 127.0.0.1
        config.listen = vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
        config.bootstrap = bootstrap;
        WakuNode::start(config)
    };
    let first = relay(Vec::new()).await.unwrap();
    let second = relay(vec![first.listen_addrs()[0].clone()]).await.unwrap();
    let records: Vec<Record> = [&first, &second]
        .iter()
        .map(|n| n.enr().unwrap().parse().unwrap())
        .collect();
    let key = random_key();
    let zone = TreeBuilder::new(1)
        .enrs(records.iter())
        .build(&key, "relays.test");
    let server = serve(zone).await;

    let mut config = Config::new(shard);
    config.discovery.dial_private = true; // all on 127.0.0.1
    config.mode = Mode::Light;
    config.discovery.dns = vec![Link::new(*key.verifying_key(), "relays.test").to_string()];
    config.discovery.dns_server = Some(server.addr);
    config.discovery.target_peers = 2;
    let light = WakuNode::start(config).await.unwrap();
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let peers: Vec<PeerId> = light
                .peers()
                .await
                .unwrap()
                .iter()
                .map(|p| p.peer_id)
                .collect();
            if peers.contains(&first.peer_id()) && peers.contains(&second.peer_id()) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await
    .expect("the light node dials both relays the tree lists");

    // And publishes through them.
    let topic = "/nodepair/1/dns-test/proto";
    let mut at_second = second.subscribe(topic).await.unwrap();
    let mut delivered = false;
    for i in 0..100u32 {
        if light
            .publish(WakuMessage::new(topic, vec![i as u8; 4]))
            .await
            .is_ok()
            && let Ok(Some(_)) =
                tokio::time::timeout(Duration::from_millis(300), at_second.next()).await
        {
            delivered = true;
            break;
        }
    }
    assert!(
        delivered,
        "a light push through a node found by DNS reached a relay"
    );
    for node in [light, second, first] {
        node.shutdown().await;
    }
}

/// The operator's path: `nodepair-relay enrtree` prints zone lines for a
/// relay's record; served as printed, they resolve back to that relay under
/// the link it printed.
#[tokio::test]
async fn the_zone_lines_nodepair_relay_prints_resolve_to_its_relays() {
    let relay = {
        let mut config = nodepair_waku::Config::new(nodepair_waku::Shard {
            cluster: 42,
            shard: 0,
        });
        config.discovery.dial_private = true; // all on 127.0.0.1
        config.listen = vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
        nodepair_waku::WakuNode::start(config).await.unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let run = |records: Vec<String>| {
        std::process::Command::new(env!("CARGO_BIN_EXE_nodepair-relay"))
            .args(["enrtree", "--domain", "relays.test", "--key-file"])
            .arg(dir.path().join("tree.key"))
            .args(records)
            .output()
            .unwrap()
    };
    let out = run(vec![relay.enr().unwrap().to_string()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let link = text
        .lines()
        .next()
        .unwrap()
        .trim_start_matches("; ")
        .to_string();
    assert!(
        link.starts_with("enrtree://") && link.ends_with("@relays.test"),
        "{link}"
    );
    // `name. ttl IN TXT "part" "part"`: the zone the test's server serves.
    let zone: BTreeMap<String, String> = text
        .lines()
        .skip(1)
        .map(|line| {
            let (name, rest) = line.split_once(' ').unwrap();
            let strings = rest.split_once(" IN TXT ").unwrap().1;
            let joined: String = strings
                .split('"')
                .enumerate()
                .filter(|(i, _)| i % 2 == 1)
                .map(|(_, s)| s)
                .collect();
            (name.trim_end_matches('.').to_string(), joined)
        })
        .collect();
    let server = serve(zone).await;
    let found = resolve(&server, &link).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].peer_id, relay.peer_id());

    // A record that is no ENR is refused, with which one.
    let out = run(vec![
        relay.enr().unwrap().to_string(),
        "enr:-garbage".into(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("record 2 is not a usable Waku ENR"), "{err}");
    relay.shutdown().await;
}
