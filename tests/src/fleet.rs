//! Many managers in one app, as the fleet benchmark runs them: written straight into both sides' keystores (the app's vault, each manager's memory store), the managers run as peers in this process sharing a few Waku light nodes, the app as itself.

use crate::Sandbox;
use crate::load::{Running, paired_record};
use crate::net::{APP_PASSPHRASE, App, AppHome};
use nodepair_keystore::{Identity, Role, Vault};
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
        paired_record(
            &manager.keypair().public(),
            manager.node_id(),
            &manager.name,
            Role::NodeManager,
            &["info"],
        )
        .save(&vault)
        .expect("the vault takes the manager");
        paired_record(&app_key, identity.node_id, "laptop", Role::App, &["info"])
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
    crate::load::start_as(&fleet.managers, nodepair_protocol::Role::Manager, per_node).await
}
