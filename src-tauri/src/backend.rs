//! The app's side of NodePair: data-dir lock, keystore, identity, Waku node and peer.

use crate::settings::Settings;
use anyhow::Context;
use nodepair_keystore::select::SelectError;
use nodepair_keystore::select::{self, Choice, Options};
use nodepair_keystore::{
    DirLock, DirLockError, Identity, KdfParams, Passphrase, PassphraseError, PassphraseSource,
    VaultError,
};
use nodepair_peer::{NoMethods, Peer, PeerConfig};
use nodepair_protocol::hello::Role;
use nodepair_waku::{Shard, WakuNode};
use std::path::Path;
use std::sync::Arc;

/// Another NodePair app holds the data directory.
#[derive(Debug, thiserror::Error)]
#[error(
    "NodePair is already running with the data directory {0}; use that window (or stop it) and try again"
)]
pub struct AlreadyRunning(pub std::path::PathBuf);

/// A running app peer.
#[derive(Debug)]
pub struct Backend {
    /// The peer runtime.
    pub peer: Peer,
    /// Where the keys are, and why.
    pub keystore: String,
    /// Held while running: one app per data directory.
    _lock: DirLock,
}

/// The keystore options the settings give; `typed` is a vault passphrase
/// typed in the window, used when the settings name no passphrase file.
pub fn keystore_options(settings: &Settings, typed: Option<Passphrase>) -> anyhow::Result<Options> {
    let data = settings.data_dir();
    Ok(Options {
        choice: match settings.keystore.backend.as_str() {
            "auto" => Choice::Auto,
            "keyring" => Choice::Keyring,
            "vault" => Choice::Vault,
            other => anyhow::bail!(
                "[keystore] backend = {other:?} is not one of \"auto\", \"keyring\", \"vault\""
            ),
        },
        keyring_service: settings.keystore.keyring_service.clone(),
        vault_path: data.join("vault"),
        passphrase: settings
            .keystore
            .passphrase_file
            .clone()
            .map(PassphraseSource::File)
            .or(typed.map(PassphraseSource::Given)),
        kdf: KdfParams::default(),
        marker: data.join("keystore"),
    })
}

fn lock(dir: &Path) -> anyhow::Result<DirLock> {
    DirLock::acquire(dir, "app.lock").map_err(|e| match e {
        DirLockError::Held(dir) => AlreadyRunning(dir).into(),
        other => anyhow::Error::from(other),
    })
}

impl Backend {
    /// Locks the data dir, opens keystore and identity, starts the Waku node
    /// and the peer, which reconnects to every paired manager. `typed` is a
    /// vault passphrase typed in the window (see [`needs_passphrase`]).
    pub async fn start(settings: &Settings, typed: Option<Passphrase>) -> anyhow::Result<Backend> {
        let lock = lock(&settings.data_dir())?;
        let options = keystore_options(settings, typed)?;
        let (selected, identity) = tokio::task::spawn_blocking(move || {
            let selected = select::select(&options, |v| std::env::var_os(v))?;
            let (identity, _) = Identity::load_or_create(&*selected.store)?;
            anyhow::Ok((selected, identity))
        })
        .await??;
        let mut config = nodepair_waku::Config::new(Shard {
            cluster: settings.network.cluster,
            shard: settings.network.shard,
        });
        config.bootstrap = settings.network.bootstrap.clone();
        config.keypair = Some(nodepair_peer::node_keypair(&identity));
        config.agent = format!("nodepair/{}", env!("CARGO_PKG_VERSION"));
        let waku = WakuNode::start(config)
            .await
            .context("cannot start the Waku node")?;
        let keystore = format!("{} ({})", selected.location, selected.why);
        let store: Arc<dyn nodepair_keystore::Keystore> = Arc::from(selected.store);
        let peer = Peer::start(
            Role::App,
            &identity,
            PeerConfig::new(settings.display_name.clone(), vec!["info".into()]),
            store,
            waku,
            Arc::new(NoMethods),
        )
        .await?;
        Ok(Backend {
            peer,
            keystore,
            _lock: lock,
        })
    }

    /// Says goodbye to online managers and stops the node.
    pub async fn shutdown(self) {
        self.peer.shutdown().await;
        self.peer.waku().shutdown().await;
    }
}

/// The keys are in a vault (or must go in a new one) and the only thing
/// missing is a passphrase a person can type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NeedsPassphrase {
    /// No vault yet: a new passphrase is chosen.
    pub creating: bool,
    /// Why the keys are in a vault, for the dialog.
    pub why: String,
    /// What was wrong with the passphrase just typed, if one was.
    pub error: Option<String>,
}

/// Whether `error`, from [`Backend::start`], asks for a passphrase rather
/// than reporting a failure.
pub fn needs_passphrase(error: &anyhow::Error, settings: &Settings) -> Option<NeedsPassphrase> {
    let select = error
        .chain()
        .find_map(|e| e.downcast_ref::<SelectError>())?;
    let vault = settings.data_dir().join("vault");
    let (why, inner) = match select {
        SelectError::NeitherBackend { keyring, vault } => (
            format!(
                "The OS keyring cannot be used here ({keyring}), so NodePair keeps its keys in an encrypted file."
            ),
            &**vault,
        ),
        other => (
            format!(
                "NodePair keeps its keys in an encrypted file, {}.",
                vault.display()
            ),
            other,
        ),
    };
    let error = match inner {
        SelectError::Passphrase(PassphraseError::NoSource) => None,
        SelectError::Passphrase(PassphraseError::Empty(_)) => {
            Some("The passphrase cannot be empty.".to_owned())
        }
        SelectError::Vault(e) if matches!(**e, VaultError::WrongPassphrase(_)) => {
            Some("That passphrase does not open the vault. Try again.".to_owned())
        }
        _ => return None,
    };
    Some(NeedsPassphrase {
        creating: !vault.exists(),
        why,
        error,
    })
}
