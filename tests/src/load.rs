//! Many apps on one manager, as the load test and the load benchmark run them: written straight into both sides' keystores (pairing has tests of its own), run as peers sharing a few Waku light nodes.

use crate::Sandbox;
use crate::net::{App, MANAGER_PASSPHRASE, ManagerHome};
use nodepair_keystore::{Counterparty, CounterpartyState, Identity, Role, Vault};
use nodepair_peer::Peer;
use nodepair_protocol::{NodeState, PublicKey, StaticKeypair};
use nodepair_waku::{Multiaddr, WakuNode};
use std::time::{Duration, Instant};

/// Apps paired with one manager, before they run.
#[derive(Debug)]
pub struct Fleet {
    /// The apps.
    pub apps: Vec<App>,
    /// The manager's static public key.
    pub manager: PublicKey,
}

/// The apps (or, for [`crate::fleet`], the managers) running.
#[derive(Debug)]
pub struct Running {
    /// One peer each.
    pub peers: Vec<Peer>,
    /// The Waku nodes they share.
    pub nodes: Vec<WakuNode>,
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Makes `count` apps dialling `bootstrap` and records each pairing on both
/// sides: in `manager`'s vault (made by `nodepair-manager keystore init` if
/// needed; no daemon may run) and in each app's keystore.
///
/// # Panics
///
/// When the manager's keystore cannot be made or written.
pub fn provision(
    sandbox: &Sandbox,
    manager: &ManagerHome,
    count: usize,
    bootstrap: &Multiaddr,
) -> Fleet {
    let vault_path = manager.state.join("vault");
    if !vault_path.exists() {
        let out = manager.cli(sandbox, &["keystore", "init"]);
        assert!(out.status.success(), "{}", crate::stderr(&out));
    }
    let vault = Vault::open(&vault_path, MANAGER_PASSPHRASE.as_bytes()).expect("the vault opens");
    let identity = Identity::load(&vault)
        .expect("a readable identity")
        .expect("an identity");
    let manager_key = StaticKeypair::from_secret(*identity.static_secret).public();
    let mut apps = Vec::with_capacity(count);
    for i in 0..count {
        let app = App::new(&format!("load-app-{i}"), &[bootstrap]);
        paired_record(
            &app.keypair().public(),
            app.node_id(),
            &app.name,
            Role::App,
            &["info"],
        )
        .save(&vault)
        .expect("the vault takes the app");
        paired_record(
            &manager_key,
            identity.node_id,
            "load-manager",
            Role::NodeManager,
            &["info", "host"],
        )
        .save(&*app.keystore)
        .expect("the app's keystore takes the manager");
        apps.push(app);
    }
    Fleet {
        apps,
        manager: manager_key,
    }
}

/// Starts every app's peer, `per_node` of them on each Waku light node.
///
/// # Panics
///
/// When a node or peer cannot start.
pub async fn start(fleet: &Fleet, per_node: usize) -> Running {
    start_as(&fleet.apps, nodepair_protocol::Role::App, per_node).await
}

/// Starts a peer in `role` for each of `peers`, `per_node` of them on each
/// Waku light node.
pub(crate) async fn start_as(
    peers: &[App],
    role: nodepair_protocol::Role,
    per_node: usize,
) -> Running {
    let mut running = Vec::with_capacity(peers.len());
    let mut nodes = Vec::new();
    for group in peers.chunks(per_node.max(1)) {
        let node = group[0].waku().await;
        for peer in group {
            running.push(peer.start_as(role, node.clone()).await);
        }
        nodes.push(node);
    }
    Running {
        peers: running,
        nodes,
    }
}

/// A counterparty record as pairing would have written it, just now.
pub(crate) fn paired_record(
    key: &PublicKey,
    node_id: [u8; 16],
    name: &str,
    role: nodepair_keystore::Role,
    capabilities: &[&str],
) -> Counterparty {
    Counterparty {
        public_key: *key.as_bytes(),
        node_id,
        display_name: name.into(),
        role,
        paired_at: now(),
        last_seen: None,
        state: CounterpartyState::Active,
        capabilities: capabilities.iter().map(|c| (*c).to_owned()).collect(),
        local_name: None,
        grants: None,
        our_key: None,
        moving_to: None,
        introduced_by: None,
        cut_offs: Vec::new(),
    }
}

impl Running {
    /// How many of them see `manager` (or, for a fleet, the app) in
    /// `state`.
    pub async fn count(&self, manager: PublicKey, state: NodeState) -> usize {
        let mut n = 0;
        for peer in &self.peers {
            if peer
                .counterparties()
                .await
                .iter()
                .any(|v| v.public_key == manager && v.state == state)
            {
                n += 1;
            }
        }
        n
    }

    /// Waits until every app sees `manager` in `state`; how long it took,
    /// or how many did after `within`.
    pub async fn until_all(
        &self,
        manager: PublicKey,
        state: NodeState,
        within: Duration,
    ) -> Result<Duration, usize> {
        let all = self.peers.len();
        self.until(manager, state, |n| n == all, within).await
    }

    /// Waits until no app sees `manager` in `state`; how long it took, or
    /// how many still did after `within`.
    pub async fn until_none(
        &self,
        manager: PublicKey,
        state: NodeState,
        within: Duration,
    ) -> Result<Duration, usize> {
        self.until(manager, state, |n| n == 0, within).await
    }

    async fn until(
        &self,
        manager: PublicKey,
        state: NodeState,
        done: impl Fn(usize) -> bool,
        within: Duration,
    ) -> Result<Duration, usize> {
        let started = Instant::now();
        loop {
            let n = self.count(manager, state).await;
            if done(n) {
                return Ok(started.elapsed());
            }
            if started.elapsed() > within {
                return Err(n);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Stops every peer, then the nodes.
    pub async fn stop(self) {
        for peer in self.peers {
            peer.shutdown().await;
        }
        for node in self.nodes {
            node.shutdown().await;
        }
    }
}
