//! Test vectors: fixed P, keys and nonces in, exact bytes out. The file
//! `tests/vectors.json` is what a second implementation checks itself
//! against (see docs/protocol.md); this test checks ours against it.
//! `NODEPAIR_WRITE_VECTORS=1` rewrites the file after a deliberate change.

// Virtual time starts at Instant::now; protocol/'s own code takes it as an argument.
#![allow(clippy::disallowed_methods)]
#![allow(clippy::unwrap_used)]

use nodepair_protocol::hello::{Hello, Role};
use nodepair_protocol::identity::{NodeId, StaticKeypair};
use nodepair_protocol::pairing_code::PairingCode;
use nodepair_protocol::pairing_commit::Commitment;
use nodepair_protocol::session::{Session, SessionConfig, WallClock};
use nodepair_protocol::verification::verification_string;
use nodepair_protocol::{PairingKeys, session_content_topic};
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use serde_json::{Value, json};
use std::time::Instant;

const P: u64 = 0x0123_4567_89ab_cdef;
/// The initiator's wall clock when it starts the handshake: Unix nanoseconds.
const HANDSHAKE_TIME: u64 = 1_790_000_000_123_456_789;

fn side(
    secret: u8,
    name: &str,
    node: u8,
    caps: &[&str],
    nonce: u8,
    answers: Option<[u8; 32]>,
) -> (StaticKeypair, Hello, Value) {
    let keypair = StaticKeypair::from_secret([secret; 32]);
    let role = if answers.is_some() {
        Role::App
    } else {
        Role::Manager
    };
    let hello = Hello {
        role,
        static_key: keypair.public(),
        display_name: name.into(),
        node_id: NodeId::from_random([node; 16]),
        capabilities: caps.iter().map(|c| c.to_string()).collect(),
        nonce: [nonce; 32],
        answers,
    };
    let json = json!({
        "static_secret": hex::encode(*keypair.secret_bytes()),
        "static_public": hex::encode(keypair.public().as_bytes()),
        "display_name": name,
        "node_id": hello.node_id.to_string(),
        "capabilities": caps,
        "hello_nonce": hex::encode(hello.nonce),
        "hello_body": hex::encode(hello.body()),
    });
    (keypair, hello, json)
}

/// The sid and ephemeral secret a session seeded with `seed` draws first.
fn first_draws(seed: [u8; 32]) -> ([u8; 8], [u8; 32]) {
    let mut rng = ChaCha20Rng::from_seed(seed);
    let mut sid = [0u8; 8];
    rng.fill_bytes(&mut sid);
    let mut eph = [0u8; 32];
    rng.fill_bytes(&mut eph);
    (sid, eph)
}

/// HKDF-SHA256 with an empty info, 32 bytes: the handshake MAC key.
fn mac_key(own: &StaticKeypair, peer: &StaticKeypair) -> [u8; 32] {
    let shared = own.diffie_hellman(&peer.public()).unwrap();
    let mut out = [0u8; 32];
    hkdf::Hkdf::<sha2::Sha256>::new(Some(b"nodepair/2/handshake-mac"), shared.as_ref())
        .expand(&[], &mut out)
        .unwrap();
    out
}

fn compute() -> Value {
    let code = PairingCode::from_u64(P);
    let keys = PairingKeys::derive(&code);
    let (m_keys, m_hello, m_json) =
        side(0xb2, "validator-1", 0x5b, &["host", "ethereum"], 0x6d, None);
    let commitment = Commitment::to(&keys.topic, &m_hello.body());
    let (a_keys, a_hello, a_json) =
        side(0xa1, "Alice's laptop", 0x4a, &[], 0x61, Some(commitment.0));
    let pairing_commit = commitment.seal(&keys, [0x03; 24]);
    let hello_app = m_hello.seal(&keys, [0x01; 24]);
    let hello_nm = a_hello.seal(&keys, [0x02; 24]);

    // The side with the lower static key initiates; the other responds.
    // Seeds fix sid and ephemerals, the wall clock the timestamp.
    let (i_keys, r_keys, initiator) = if m_keys.public() < a_keys.public() {
        (m_keys.clone(), a_keys.clone(), "manager")
    } else {
        (a_keys.clone(), m_keys.clone(), "app")
    };
    let (m_seed, a_seed) = ([0x33; 32], [0x44; 32]);
    let now = Instant::now();
    let m_config = SessionConfig {
        wall_clock: Some(WallClock {
            at: now,
            unix_nanos: HANDSHAKE_TIME,
        }),
        ..SessionConfig::default()
    };
    let mut m = Session::new(m_config, i_keys.clone(), r_keys.public(), m_seed);
    let mut a = Session::new(
        SessionConfig::default(),
        r_keys.clone(),
        i_keys.public(),
        a_seed,
    );
    assert!(m.initiates());
    m.connect(now);
    let hs1 = m.poll_transmit().unwrap();
    a.handle_message(now, &hs1);
    let hs2 = a.poll_transmit().unwrap();
    m.handle_message(now, &hs2);
    assert!(m.is_online());
    // The initiator's first DATA: a ping, sealed with its new sending key.
    let first_data = m.poll_transmit().unwrap();
    let (sid, m_eph) = first_draws(m_seed);
    // The responder draws no sid: its first 32 bytes are its ephemeral.
    let mut a_eph = [0u8; 32];
    ChaCha20Rng::from_seed(a_seed).fill_bytes(&mut a_eph);

    let introduction = PairingKeys::derive_for(&code, nodepair_protocol::Purpose::Introduction);
    json!({
        "p_hex": format!("{P:016x}"),
        "p_decimal": code.to_decimal_string(),
        "code": code.to_display_string(),
        "qr_payload": code.qr_payload(),
        "topic_T": hex::encode(keys.topic),
        "handshake_key_HS": hex::encode(*keys.handshake_key),
        "pairing_content_topic": keys.content_topic(),
        "manager": m_json,
        "app": a_json,
        "session_content_topic": session_content_topic(&m_keys, &a_keys.public()).unwrap(),
        "commitment": hex::encode(commitment.0),
        "verification": verification_string(&keys.topic, &m_hello.body(), &a_hello.body()),
        "pairing_commit": { "nonce": hex::encode([0x03; 24]), "sealed": hex::encode(&pairing_commit) },
        "hello_app": { "nonce": hex::encode([0x01; 24]), "sealed": hex::encode(&hello_app) },
        "hello_node_manager": { "nonce": hex::encode([0x02; 24]), "sealed": hex::encode(&hello_nm) },
        "introduction": {
            "topic_T": hex::encode(introduction.topic),
            "handshake_key_HS": hex::encode(*introduction.handshake_key),
            "content_topic": introduction.content_topic(),
        },
        "key_move": {
            "new_static_secret": hex::encode([0x77; 32]),
            "new_static_public": hex::encode(StaticKeypair::from_secret([0x77; 32]).public().as_bytes()),
            "announcement": hex::encode(
                nodepair_protocol::key_move::announce(
                    &m_keys.public(),
                    &StaticKeypair::from_secret([0x77; 32]),
                    &a_keys.public(),
                )
                .unwrap()
            ),
        },
        "session": {
            "pattern": nodepair_protocol::session::PATTERN,
            "prologue_prefix": String::from_utf8_lossy(nodepair_protocol::session::PROLOGUE),
            "initiator": initiator,
            "sid": hex::encode(sid),
            "timestamp": HANDSHAKE_TIME,
            "handshake_mac_key": hex::encode(mac_key(&i_keys, &r_keys)),
            "initiator_ephemeral_secret": hex::encode(m_eph),
            "responder_ephemeral_secret": hex::encode(a_eph),
            "handshake_1": hex::encode(&hs1),
            "handshake_2": hex::encode(&hs2),
            "handshake_digest": m.handshake().unwrap(),
            "first_data": hex::encode(&first_data),
        },
    })
}

#[test]
fn outputs_match_the_committed_vectors() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors.json");
    let got = compute();
    if std::env::var_os("NODEPAIR_WRITE_VECTORS").is_some() {
        std::fs::write(path, serde_json::to_string_pretty(&got).unwrap() + "\n").unwrap();
    }
    let want: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(got, want, "outputs differ from tests/vectors.json");
}

#[test]
fn the_vectors_open_as_a_receiver_would() {
    let v: Value = serde_json::from_str(include_str!("vectors.json")).unwrap();
    let code = PairingCode::parse(v["code"].as_str().unwrap()).unwrap();
    assert_eq!(
        format!("{:016x}", code.value()),
        v["p_hex"].as_str().unwrap()
    );
    let keys = PairingKeys::derive(&code);
    let commit = hex::decode(v["pairing_commit"]["sealed"].as_str().unwrap()).unwrap();
    let commitment = Commitment::open(&commit, &keys).unwrap();
    let sealed = hex::decode(v["hello_app"]["sealed"].as_str().unwrap()).unwrap();
    let opened = Hello::open(&sealed, &keys).unwrap();
    // The manager's HELLO is what it committed to.
    assert_eq!(Commitment::to(&keys.topic, &opened.body), commitment);
    let hello = opened.hello;
    assert_eq!(
        hello.display_name,
        v["manager"]["display_name"].as_str().unwrap()
    );
    assert_eq!(
        hex::encode(hello.static_key.as_bytes()),
        v["manager"]["static_public"].as_str().unwrap()
    );
    // The manager's move to its new key, as the app checks it.
    let secret = |s: &str| -> [u8; 32] { hex::decode(s).unwrap().try_into().unwrap() };
    let app = StaticKeypair::from_secret(secret(v["app"]["static_secret"].as_str().unwrap()));
    let announcement = hex::decode(v["key_move"]["announcement"].as_str().unwrap()).unwrap();
    let moved = nodepair_protocol::key_move::check(&app, &hello.static_key, &announcement).unwrap();
    assert_eq!(
        hex::encode(moved.as_bytes()),
        v["key_move"]["new_static_public"].as_str().unwrap()
    );
}
