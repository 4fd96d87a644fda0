//! The runtime on paused time: its clock is tokio's (and a wall clock that
//! follows it), so minutes of protocol timers pass at once and nothing
//! sleeps. Each peer's Waku node dials nobody and listens nowhere, so no
//! message can arrive: what happens is the timers' doing alone.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use bytes::Bytes;
use nodepair_keystore::{
    Counterparty, CounterpartyState, EntryName, Identity, Keystore, KeystoreError, MemoryStore,
    SecretBytes,
};
use nodepair_peer::{
    Clock, NoMethods, PairingFailure, PairingUpdate, Peer, PeerConfig, RequestError,
};
use nodepair_protocol::hello::Role;
use nodepair_protocol::{NodeState, PairingError, PublicKey, StaticKeypair};
use nodepair_waku::{Config, Shard, WakuNode};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, UNIX_EPOCH};

const SHARD: Shard = Shard {
    cluster: 67,
    shard: 0,
};

/// An app alone: its keystore, and a peer on a node that reaches nobody.
async fn lonely_app(keystore: Arc<dyn Keystore>) -> Peer {
    let (identity, _) = Identity::load_or_create(&*keystore).unwrap();
    let waku = WakuNode::start(Config::new(SHARD)).await.unwrap();
    let mut config = PeerConfig::new("laptop", vec![]);
    config.clock = Clock::following_tokio(UNIX_EPOCH + Duration::from_secs(1_800_000_000));
    Peer::start(
        Role::App,
        &identity,
        config,
        keystore,
        waku,
        Arc::new(NoMethods),
    )
    .await
    .unwrap()
}

/// A manager's record, as pairing wrote it a while ago.
fn paired_manager(key: PublicKey, name: &str) -> Counterparty {
    Counterparty {
        public_key: *key.as_bytes(),
        node_id: [7; 16],
        display_name: name.into(),
        role: nodepair_keystore::Role::NodeManager,
        paired_at: 1_799_000_000,
        last_seen: Some(1_799_990_000),
        state: CounterpartyState::Active,
        capabilities: vec!["host".into()],
        local_name: None,
        grants: None,
        our_key: None,
        moving_to: None,
        introduced_by: None,
        cut_offs: Vec::new(),
    }
}

async fn stop(peer: Peer) {
    peer.shutdown().await;
    peer.waku().shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_code_nobody_answers_expires_after_its_lifetime_and_keeps_nothing() {
    let keystore = Arc::new(MemoryStore::new());
    let app = lonely_app(keystore.clone()).await;
    let ttl = nodepair_protocol::PairingConfig::default().ttl;
    let started = tokio::time::Instant::now();
    let mut offer = app.offer_pairing().await.unwrap();
    let mut updates = Vec::new();
    while let Some(update) = offer.next().await {
        let end = matches!(update, PairingUpdate::Failed(_));
        updates.push(update);
        if end {
            break;
        }
    }
    let waited = started.elapsed();
    assert_eq!(
        updates.first(),
        Some(&PairingUpdate::ConnectingToNetwork),
        "no Waku peer: said at once"
    );
    assert_eq!(
        updates.last(),
        Some(&PairingUpdate::Failed(PairingFailure::Protocol(
            PairingError::Expired
        )))
    );
    assert!(
        waited >= ttl && waited < ttl + Duration::from_secs(2),
        "expired after {waited:?}, its lifetime is {ttl:?}"
    );
    assert_eq!(keystore.names().unwrap().len(), 1, "only the identity");
    stop(app).await;
}

#[tokio::test(start_paused = true)]
async fn a_request_to_a_manager_that_never_answers_ends_at_its_timeout() {
    let keystore = Arc::new(MemoryStore::new());
    let manager = StaticKeypair::from_secret([0x5a; 32]).public();
    paired_manager(manager, "validator-1")
        .save(&*keystore)
        .unwrap();
    let app = lonely_app(keystore.clone()).await;
    let views = app.counterparties().await;
    assert_eq!(views.len(), 1);
    assert_eq!(views[0].state, NodeState::Connecting, "trying at once");

    let timeout = PeerConfig::new("laptop", vec![]).request_timeout;
    let started = tokio::time::Instant::now();
    let answer = app.request(manager, "host.health", Bytes::new()).await;
    let waited = started.elapsed();
    assert_eq!(answer, Err(RequestError::Timeout(timeout)));
    assert!(
        waited >= timeout && waited < timeout + Duration::from_secs(1),
        "ended after {waited:?}, the timeout is {timeout:?}"
    );
    // Still paired, still trying; nothing was written but what was there.
    assert_eq!(app.counterparties().await[0].state, NodeState::Connecting);
    assert_eq!(Counterparty::load_all(&*keystore).unwrap().len(), 1);
    stop(app).await;
}

/// A keystore in memory that counts its writes, as a vault would pay them:
/// each one rewrites the whole file.
#[derive(Default)]
struct Counting {
    inner: MemoryStore,
    writes: AtomicUsize,
}

impl Keystore for Counting {
    fn backend(&self) -> nodepair_keystore::Backend {
        self.inner.backend()
    }
    fn get(&self, name: &EntryName) -> Result<Option<SecretBytes>, KeystoreError> {
        self.inner.get(name)
    }
    fn put(&self, name: &EntryName, value: &[u8]) -> Result<(), KeystoreError> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.inner.put(name, value)
    }
    fn put_many(&self, entries: &[(EntryName, Vec<u8>)]) -> Result<(), KeystoreError> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.inner.put_many(entries)
    }
    fn delete(&self, name: &EntryName) -> Result<bool, KeystoreError> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.inner.delete(name)
    }
    fn names(&self) -> Result<Vec<EntryName>, KeystoreError> {
        self.inner.names()
    }
}

#[tokio::test(start_paused = true)]
async fn stopping_records_every_counterparty_in_one_write() {
    // A manager with 200 apps once wrote its vault 200 times on SIGTERM,
    // and took seconds to stop.
    let keystore = Arc::new(Counting::default());
    for i in 0..200u32 {
        let mut secret = [0x11; 32];
        secret[4..8].copy_from_slice(&i.to_le_bytes());
        let key = StaticKeypair::from_secret(secret).public();
        paired_manager(key, &format!("validator-{i}"))
            .save(&*keystore)
            .unwrap();
    }
    let app = lonely_app(keystore.clone()).await;
    assert_eq!(app.counterparties().await.len(), 200);
    let before = keystore.writes.load(Ordering::SeqCst);
    stop(app).await;
    assert_eq!(keystore.writes.load(Ordering::SeqCst) - before, 1);
    assert_eq!(Counterparty::load_all(&*keystore).unwrap().len(), 200);
}
