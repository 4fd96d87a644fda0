//! Many managers in one app, as the fleet benchmark runs them: written straight into both sides' keystores (the app's vault, each manager's memory store), the managers run as peers in this process sharing a few Waku light nodes, the app as itself.

use crate::Sandbox;
use crate::load::Running;
use crate::net::{APP_PASSPHRASE, App, AppHome};
use nodepair_keystore::{Counterparty, CounterpartyState, Identity, Role, Vault};
use nodepair_protocol::{PublicKey, StaticKeypair};
use nodepair_waku::Multiaddr;

/// Managers paired with one app, before they run.
#[derive(Debug)]
pub struct Fleet {
    /// The managers (an [`App`] holds a peer's keys and keystore, whichever
    /// its role).
    pub managers: Vec<App>,
    /// The app's static public key.
    pub app: PublicKey,
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Makes `count` managers dialling `bootstrap` and records each pairing on
/// both sides: in the vault of the app at `home` (made by `nodepair status`
/// if needed; the app may not run) and in each manager's keystore.
///
/// # Panics
///
/// When the app's keystore cannot be made or written.
pub fn provision(sandbox: &Sandbox, home: &AppHome, count: usize, bootstrap: &Multiaddr) -> Fleet {
    let vault_path = home.data.join("vault");
    if !vault_path.exists() {
        let out = home.cli(sandbox, &["status"]);
        assert!(out.status.success(), "{}", crate::stderr(&out));
    }
    let vault = Vault::open(&vault_path, APP_PASSPHRASE.as_bytes()).expect("the vault opens");
    let (identity, _) = Identity::load_or_create(&vault).expect("the app's identity");
    let app_key = StaticKeypair::from_secret(*identity.static_secret).public();
    let mut managers = Vec::with_capacity(count);
    for i in 0..count {
        let manager = App::new(&format!("validator-{i:03}"), &[bootstrap]);
        Counterparty {
            public_key: *manager.keypair().public().as_bytes(),
            node_id: manager.node_id(),
            display_name: manager.name.clone(),
            role: Role::NodeManager,
            paired_at: now(),
            last_seen: None,
            state: CounterpartyState::Active,
            capabilities: vec!["info".into()],
            local_name: None,
        }
        .save(&vault)
        .expect("the vault takes the manager");
        Counterparty {
            public_key: *app_key.as_bytes(),
            node_id: identity.node_id,
            display_name: "laptop".into(),
            role: Role::App,
            paired_at: now(),
            last_seen: None,
            state: CounterpartyState::Active,
            capabilities: vec!["info".into()],
            local_name: None,
        }
        .save(&*manager.keystore)
        .expect("the manager's keystore takes the app");
        managers.push(manager);
    }
    Fleet {
        managers,
        app: app_key,
    }
}

/// Starts every manager's peer, `per_node` of them on each Waku light node.
///
/// # Panics
///
/// When a node or peer cannot start.
pub async fn start(fleet: &Fleet, per_node: usize) -> Running {
    let mut peers = Vec::with_capacity(fleet.managers.len());
    let mut nodes = Vec::new();
    for group in fleet.managers.chunks(per_node.max(1)) {
        let node = group[0].waku().await;
        for manager in group {
            peers.push(manager.start_as_manager_on(node.clone()).await);
        }
        nodes.push(node);
    }
    Running { peers, nodes }
}
