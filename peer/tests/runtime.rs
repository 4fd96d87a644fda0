//! Two peers in one process, each on its own Waku node, meeting only through
//! a relay: pairing, requests, restarts and revocation, with what each side
//! keeps in its keystore checked after every step.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use bytes::Bytes;
use nodepair_keystore::{Counterparty, Identity, Keystore, MemoryStore};
use nodepair_peer::{
    Caller, NoMethods, PairingFailure, PairingUpdate, Peer, PeerConfig, PeerEvent, Reply,
    ReplyFuture, RequestHandler,
};
use nodepair_protocol::hello::Role;
use nodepair_protocol::{NodeState, PairingError, PublicKey, Status};
use nodepair_waku::{Config, Multiaddr, Shard, WakuNode};
use std::sync::Arc;
use std::time::Duration;

const SHARD: Shard = Shard {
    cluster: 66,
    shard: 0,
};

async fn relay() -> WakuNode {
    let mut config = Config::new(SHARD);
    config.listen = vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
    WakuNode::start(config).await.unwrap()
}

/// Answers `echo` with its body and `fail` with a 502.
struct Echo;

impl RequestHandler for Echo {
    fn handle(&self, caller: Caller, method: String, body: Bytes) -> ReplyFuture {
        Box::pin(async move {
            match method.as_str() {
                "echo" => Reply::ok(body),
                "whoami" => Reply::ok(caller.display_name),
                _ => Reply::error(Status::UPSTREAM_ERROR, "no"),
            }
        })
    }
}

/// One side: its keystore survives restarts of the peer.
struct Side {
    role: Role,
    name: &'static str,
    keystore: Arc<MemoryStore>,
    identity: Identity,
    relay: Multiaddr,
    /// Pings every second and writes last-seen every two.
    brisk: bool,
}

impl Side {
    fn new(role: Role, name: &'static str, relay: &WakuNode) -> Side {
        let keystore = Arc::new(MemoryStore::new());
        let (identity, _) = Identity::load_or_create(&*keystore).unwrap();
        Side {
            role,
            name,
            keystore,
            identity,
            relay: relay.listen_addrs()[0].clone(),
            brisk: false,
        }
    }

    fn config(&self) -> PeerConfig {
        let mut config = PeerConfig::new(self.name, vec!["host".into()]);
        // Quick retries: restarts in these tests should heal in well under a second.
        config.session.retry_initial = Duration::from_millis(100);
        config.session.retry_max = Duration::from_millis(400);
        config.pairing.retry_initial = Duration::from_millis(100);
        config.pairing.retry_max = Duration::from_millis(400);
        config.request_timeout = Duration::from_secs(3);
        if self.brisk {
            for session in [&mut config.session, &mut config.pairing.session] {
                session.ping_interval = Duration::from_secs(1);
            }
            config.persist_last_seen_every = Duration::from_secs(2);
        }
        config
    }

    async fn start(&self) -> Peer {
        self.start_in(nodepair_waku::Mode::Relay).await
    }

    /// Starts with a Waku node in `mode`, bootstrapped to the side's relay.
    async fn start_in(&self, mode: nodepair_waku::Mode) -> Peer {
        let mut config = Config::new(SHARD);
        config.bootstrap = vec![self.relay.clone()];
        config.keypair = Some(nodepair_peer::node_keypair(&self.identity));
        config.mode = mode;
        let waku = WakuNode::start(config).await.unwrap();
        let handler: Arc<dyn RequestHandler> = match self.role {
            Role::Manager => Arc::new(Echo),
            Role::App => Arc::new(NoMethods),
        };
        let peer = Peer::start(
            self.role,
            &self.identity,
            self.config(),
            self.keystore.clone(),
            waku,
            handler,
        )
        .await
        .unwrap();
        assert!(peer.wait_for_network(Duration::from_secs(10)).await);
        peer
    }

    fn stored(&self) -> Vec<Counterparty> {
        Counterparty::load_all(&*self.keystore).unwrap()
    }
}

async fn stop(peer: Peer) {
    peer.shutdown().await;
    peer.waku().shutdown().await;
}

/// Waits until `peer` sees `who` in `state`.
async fn until_state(peer: &Peer, who: PublicKey, state: NodeState) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let views = peer.counterparties().await;
        if views
            .iter()
            .any(|v| v.public_key == who && v.state == state)
        {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{who:?} never became {state:?}: {views:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn pair(app: &Peer, manager: &Peer) -> String {
    let offer = app.offer_pairing().await.unwrap();
    let typed = offer.code.to_display_string();
    let code = nodepair_protocol::PairingCode::parse(&typed).unwrap();
    let (app_result, manager_result) = tokio::join!(offer.finish(|_, _| true), async {
        manager.pair(code).await.unwrap().finish(|_, _| true).await
    });
    let (on_app, app_verification) = app_result.unwrap();
    let (on_manager, manager_verification) = manager_result.unwrap();
    assert_eq!(app_verification, manager_verification);
    assert_eq!(on_app.public_key, manager.public_key());
    assert_eq!(on_manager.public_key, app.public_key());
    app_verification
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pair_request_restart_and_revoke() {
    let relay = relay().await;
    let app_side = Side::new(Role::App, "laptop", &relay);
    let manager_side = Side::new(Role::Manager, "validator-1", &relay);
    let app = app_side.start().await;
    let manager = manager_side.start().await;

    pair(&app, &manager).await;
    // Persisted on both sides, with what the other said about itself.
    let on_app = app_side.stored();
    assert_eq!(on_app.len(), 1);
    assert_eq!(on_app[0].display_name, "validator-1");
    assert_eq!(on_app[0].capabilities, ["host"]);
    assert_eq!(manager_side.stored()[0].display_name, "laptop");
    until_state(&manager, app.public_key(), NodeState::Online).await;
    until_state(&app, manager.public_key(), NodeState::Online).await;

    // Requests, answered by the manager's handler.
    let reply = app
        .request(manager.public_key(), "echo", &b"hello"[..])
        .await
        .unwrap();
    assert_eq!((reply.status, &reply.body[..]), (Status::OK, &b"hello"[..]));
    let reply = app
        .request(manager.public_key(), "whoami", Bytes::new())
        .await
        .unwrap();
    assert_eq!(&reply.body[..], b"laptop");
    let reply = manager
        .request(app.public_key(), "anything", Bytes::new())
        .await
        .unwrap();
    assert_eq!(reply.status, Status::UNKNOWN_METHOD);

    // Both restart: the session comes back with no input.
    let (app_key, manager_key) = (app.public_key(), manager.public_key());
    stop(app).await;
    stop(manager).await;
    let manager = manager_side.start().await;
    let app = app_side.start().await;
    until_state(&app, manager_key, NodeState::Online).await;
    until_state(&manager, app_key, NodeState::Online).await;
    let reply = app
        .request(manager_key, "echo", &b"again"[..])
        .await
        .unwrap();
    assert_eq!(&reply.body[..], b"again");

    // The manager revokes: the app is told and forgets it too.
    let mut app_events = app.events();
    assert_eq!(
        manager.revoke(app_key).await,
        nodepair_peer::Revocation::Told
    );
    assert!(manager_side.stored().is_empty());
    let removed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Ok(PeerEvent::Removed {
                by_peer,
                display_name,
                ..
            }) = app_events.recv().await
            {
                return (by_peer, display_name);
            }
        }
    })
    .await
    .expect("the app is told of the revocation");
    assert_eq!(removed, (true, "validator-1".to_owned()));
    assert!(app_side.stored().is_empty());
    assert!(app.counterparties().await.is_empty());
    assert!(matches!(
        app.request(manager_key, "echo", Bytes::new()).await,
        Err(nodepair_peer::RequestError::NotPaired(_))
    ));
    stop(app).await;
    stop(manager).await;
    relay.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_while_the_other_side_is_away_reaches_it_later() {
    let relay = relay().await;
    let app_side = Side::new(Role::App, "laptop", &relay);
    let manager_side = Side::new(Role::Manager, "validator-2", &relay);
    let app = app_side.start().await;
    let manager = manager_side.start().await;
    pair(&app, &manager).await;
    let app_key = app.public_key();
    stop(app).await;

    // Whether the app's goodbye has arrived yet or not, it cannot answer.
    assert_eq!(
        manager.revoke(app_key).await,
        nodepair_peer::Revocation::WillBeTold
    );
    until_state(&manager, app_key, NodeState::Revoked).await;
    assert_eq!(
        manager_side.stored()[0].state,
        nodepair_keystore::CounterpartyState::Revoked,
        "kept only until the app is told"
    );

    let app = app_side.start().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !(app_side.stored().is_empty() && manager_side.stored().is_empty()) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the revocation never arrived"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(app.counterparties().await.is_empty());
    assert!(manager.counterparties().await.is_empty());
    stop(app).await;
    stop(manager).await;
    relay.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_code_expires_and_persists_nothing() {
    let relay = relay().await;
    let app_side = Side::new(Role::App, "laptop", &relay);
    let manager_side = Side::new(Role::Manager, "validator-3", &relay);
    let app = app_side.start().await;
    let mut config = manager_side.config();
    config.pairing.ttl = Duration::from_millis(800);
    let manager = {
        let mut wconfig = Config::new(SHARD);
        wconfig.bootstrap = vec![manager_side.relay.clone()];
        let waku = WakuNode::start(wconfig).await.unwrap();
        Peer::start(
            Role::Manager,
            &manager_side.identity,
            config,
            manager_side.keystore.clone(),
            waku,
            Arc::new(Echo),
        )
        .await
        .unwrap()
    };
    assert!(manager.wait_for_network(Duration::from_secs(10)).await);
    let offer = app.offer_pairing().await.unwrap();
    // A code that is valid but not the one shown.
    let other = nodepair_protocol::PairingCode::from_u64(offer.code.value() ^ 1);
    let mut handle = manager.pair(other).await.unwrap();
    let mut last = None;
    while let Some(update) = handle.next().await {
        let end = matches!(update, PairingUpdate::Failed(_));
        last = Some(update);
        if end {
            break;
        }
    }
    assert_eq!(
        last,
        Some(PairingUpdate::Failed(PairingFailure::Protocol(
            PairingError::Expired
        )))
    );
    assert!(manager_side.stored().is_empty());
    assert!(app_side.stored().is_empty());
    assert_eq!(
        manager_side.keystore.names().unwrap().len(),
        1,
        "only the identity"
    );
    offer.cancel().await;
    stop(app).await;
    stop(manager).await;
    relay.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_name_is_kept_across_restarts_and_never_sent() {
    let relay = relay().await;
    let app_side = Side::new(Role::App, "laptop", &relay);
    let manager_side = Side::new(Role::Manager, "validator-1", &relay);
    let app = app_side.start().await;
    let manager = manager_side.start().await;
    pair(&app, &manager).await;
    let manager_key = manager.public_key();

    let view = app
        .rename(manager_key, Some("  cellar box ".into()))
        .await
        .unwrap();
    assert_eq!(
        (view.name(), view.display_name.as_str()),
        ("cellar box", "validator-1")
    );
    // A bad name changes nothing.
    let err = app
        .rename(manager_key, Some("x".repeat(65)))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        nodepair_peer::RenameError::Invalid("the display name is over 64 characters")
    );
    assert_eq!(
        app.rename(PublicKey([9; 32]), Some("nobody".into())).await,
        Err(nodepair_peer::RenameError::NotPaired)
    );
    assert_eq!(
        app_side.stored()[0].local_name.as_deref(),
        Some("cellar box")
    );
    // The other side still knows itself by its own name.
    let reply = manager
        .request(app.public_key(), "anything", Bytes::new())
        .await
        .unwrap();
    assert_eq!(reply.status, Status::UNKNOWN_METHOD);
    assert!(manager_side.stored()[0].local_name.is_none());

    // After a restart the name is still there, and find() knows both names.
    stop(app).await;
    let app = app_side.start().await;
    let views = app.counterparties().await;
    assert_eq!(views[0].name(), "cellar box");
    assert_eq!(
        nodepair_peer::find(&views, "Cellar Box")
            .unwrap()
            .public_key,
        manager_key
    );
    assert_eq!(
        nodepair_peer::find(&views, "validator-1")
            .unwrap()
            .public_key,
        manager_key
    );

    // A blank name shows its own again.
    let view = app.rename(manager_key, Some("   ".into())).await.unwrap();
    assert_eq!(view.name(), "validator-1");
    assert!(app_side.stored()[0].local_name.is_none());
    stop(app).await;
    stop(manager).await;
    relay.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_reach_the_counterparty_in_order_and_stop_once_it_is_unpaired() {
    let relay = relay().await;
    let app_side = Side::new(Role::App, "laptop", &relay);
    let manager_side = Side::new(Role::Manager, "validator-1", &relay);
    let app = app_side.start().await;
    let manager = manager_side.start().await;
    pair(&app, &manager).await;
    let app_key = app.public_key();
    until_state(&manager, app_key, NodeState::Online).await;
    let mut events = app.events();

    for line in ["one", "two", "three"] {
        manager
            .send_event(app_key, "logs:geth.service", line)
            .await
            .unwrap();
    }
    let mut got = Vec::new();
    while got.len() < 3 {
        let event = tokio::time::timeout(Duration::from_secs(10), events.recv())
            .await
            .expect("the events arrive")
            .unwrap();
        if let PeerEvent::Stream { from, event } = event {
            assert_eq!(from, manager.public_key());
            got.push((event.stream.to_string(), event.seq, event.body));
        }
    }
    assert_eq!(
        got,
        [
            ("logs:geth.service".to_owned(), 1, Bytes::from("one")),
            ("logs:geth.service".to_owned(), 2, Bytes::from("two")),
            ("logs:geth.service".to_owned(), 3, Bytes::from("three")),
        ]
    );

    // Once the app unpairs, the manager's stream to it stops.
    assert_eq!(
        app.revoke(manager.public_key()).await,
        nodepair_peer::Revocation::Told
    );
    assert_eq!(
        manager
            .send_event(app_key, "logs:geth.service", "four")
            .await,
        Err(nodepair_peer::EventError::NotPaired)
    );
    assert_eq!(
        manager.send_event(PublicKey([3; 32]), "x", "y").await,
        Err(nodepair_peer::EventError::NotPaired)
    );
    stop(app).await;
    stop(manager).await;
    relay.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_light_app_fetches_from_the_store_what_went_out_while_it_was_cut_off() {
    // The manager is on `home`, a relay that keeps messages; the app, a light
    // node, reaches the network only through `edge`, a relay meshed with it.
    let mut config = Config::new(SHARD);
    config.listen = vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
    config.store = Some(nodepair_waku::StoreConfig::default());
    let home = WakuNode::start(config).await.unwrap();
    let mut config = Config::new(SHARD);
    config.listen = vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
    config.bootstrap = home.listen_addrs();
    let edge = WakuNode::start(config).await.unwrap();
    let app_side = Side::new(Role::App, "laptop", &edge);
    let manager_side = Side::new(Role::Manager, "validator-1", &home);
    let app = app_side.start_in(nodepair_waku::Mode::Light).await;
    let manager = manager_side.start().await;
    pair(&app, &manager).await;
    let app_key = app.public_key();
    until_state(&manager, app_key, NodeState::Online).await;
    until_state(&app, manager.public_key(), NodeState::Online).await;
    let mut events = app.events();

    // The edge goes away: the app hears nothing now.
    edge.shutdown().await;
    let cut_off = tokio::time::Instant::now() + Duration::from_secs(10);
    while !app.waku().peers().await.unwrap().is_empty() {
        assert!(tokio::time::Instant::now() < cut_off, "the app kept a peer");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The manager, whose session has not timed out, sends meanwhile; only
    // the store on `home` keeps it.
    manager
        .send_event(app_key, "logs:geth.service", "sent while cut off")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !matches!(events.try_recv(), Ok(PeerEvent::Stream { .. })),
        "the app heard it without any Waku peer"
    );

    // Back on the network through `home`: the app's filter subscription is
    // made again, and what it missed comes from the store.
    app.waku()
        .dial(home.listen_addrs()[0].clone())
        .await
        .unwrap();
    let got = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            if let Ok(PeerEvent::Stream { from, event }) = events.recv().await {
                return (from, event);
            }
        }
    })
    .await
    .expect("the missed event was fetched from the store");
    assert_eq!(got.0, manager.public_key());
    assert_eq!(got.1.body, Bytes::from("sent while cut off"));
    // Delivered once, however it came.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        !matches!(events.try_recv(), Ok(PeerEvent::Stream { .. })),
        "a duplicate was delivered"
    );
    stop(app).await;
    stop(manager).await;
    home.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_seen_is_written_while_the_session_runs_not_only_at_shutdown() {
    // What `peers` shows after a crash: the last time the other side was
    // heard, give or take the write interval.
    let relay = relay().await;
    let mut app_side = Side::new(Role::App, "laptop", &relay);
    let mut manager_side = Side::new(Role::Manager, "validator-1", &relay);
    app_side.brisk = true;
    manager_side.brisk = true;
    let app = app_side.start().await;
    let manager = manager_side.start().await;
    pair(&app, &manager).await;
    let paired_at = manager_side.stored()[0].last_seen.unwrap();

    // The app pings every second; the manager hears it and writes it down.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let seen = manager_side.stored()[0].last_seen.unwrap();
        if seen >= paired_at + 3 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "last seen still {seen}, paired at {paired_at}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(app_side.stored()[0].last_seen.unwrap() >= paired_at);
    stop(app).await;
    stop(manager).await;
}
