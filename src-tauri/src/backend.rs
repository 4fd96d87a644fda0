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
use nodepair_waku::WakuNode;
use std::path::Path;
use std::sync::Arc;

/// Another NodePair app holds the data directory.
#[derive(Debug, thiserror::Error)]
#[error(
    "NodePair is already running with the data directory {0}; use that window (or stop it) and try again"
)]
pub struct AlreadyRunning(pub std::path::PathBuf);

/// A running app peer.
pub struct Backend {
    /// The peer runtime.
    pub peer: Peer,
    /// Where the keys are, and why.
    pub keystore: String,
    /// The settings it started with.
    pub settings: Settings,
    /// This app's node id, as people read it.
    pub node_id: String,
    /// When its Waku node started.
    pub started: std::time::Instant,
    /// The open keystore and the identity in it, for a restart of the
    /// network ([`Backend::restarted`]).
    store: Arc<dyn nodepair_keystore::Keystore>,
    identity: Identity,
    /// Held while running: one app per data directory (shared with the
    /// backend a network restart makes).
    _lock: Arc<DirLock>,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backend")
            .field("keystore", &self.keystore)
            .field("node_id", &self.node_id)
            .finish_non_exhaustive()
    }
}

/// How a vault passphrase is asked for when the settings name no file.
#[derive(Debug)]
pub enum Ask {
    /// Terminal mode: the systemd credential, the environment, else a
    /// prompt on the terminal.
    Terminal,
    /// The window: the systemd credential, the environment, else the
    /// passphrase typed in the window (`None`: not yet, so starting stops
    /// with [`needs_passphrase`]). Never the terminal the app was started
    /// from.
    Window(Option<Passphrase>),
}

/// The keystore options the settings give.
pub fn keystore_options(settings: &Settings, ask: Ask) -> anyhow::Result<Options> {
    let data = settings.data_dir();
    let (typed, terminal_prompt) = match ask {
        Ask::Terminal => (None, true),
        Ask::Window(typed) => (typed, false),
    };
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
        terminal_prompt,
        kdf: KdfParams::default(),
        marker: data.join("keystore"),
    })
}

/// Takes the data directory `dir` for this process: one app per data
/// directory, held until the last clone is dropped.
///
/// # Errors
///
/// [`AlreadyRunning`] when another app (a window, or a command running on
/// its own) holds it.
pub fn lock_data_dir(dir: &Path) -> anyhow::Result<Arc<DirLock>> {
    DirLock::acquire(dir, "app.lock")
        .map(Arc::new)
        .map_err(|e| match e {
            DirLockError::Held(dir) => AlreadyRunning(dir).into(),
            other => anyhow::Error::from(other),
        })
}

impl Backend {
    /// Locks the data dir, opens keystore and identity, starts the Waku node
    /// and the peer, which reconnects to every paired manager.
    pub async fn start(settings: &Settings, ask: Ask) -> anyhow::Result<Backend> {
        let lock = lock_data_dir(&settings.data_dir())?;
        Self::start_holding(settings, ask, lock).await
    }

    /// [`Backend::start`] with the data directory already locked
    /// ([`lock_data_dir`]): the window holds it from the start, across a
    /// passphrase prompt.
    pub async fn start_holding(
        settings: &Settings,
        ask: Ask,
        lock: Arc<DirLock>,
    ) -> anyhow::Result<Backend> {
        let options = keystore_options(settings, ask)?;
        let (selected, identity) = tokio::task::spawn_blocking(move || {
            let selected = select::select(&options, nodepair_keystore::passphrase::process_env)?;
            let (identity, _) = Identity::load_or_create(&*selected.store)?;
            anyhow::Ok((selected, identity))
        })
        .await??;
        let keystore = format!("{} ({})", selected.location, selected.why);
        let store: Arc<dyn nodepair_keystore::Keystore> = Arc::from(selected.store);
        Self::join(settings, keystore, store, identity, lock).await
    }

    /// A new Waku node and peer on `settings`' network, with the keys this
    /// one opened and its lock: the network settings applied without
    /// restarting the app (or asking for the passphrase again). Stop this
    /// one first ([`Backend::stop`]).
    pub async fn restarted(&self, settings: &Settings) -> anyhow::Result<Backend> {
        Self::join(
            settings,
            self.keystore.clone(),
            Arc::clone(&self.store),
            self.identity.clone(),
            Arc::clone(&self._lock),
        )
        .await
    }

    async fn join(
        settings: &Settings,
        keystore: String,
        store: Arc<dyn nodepair_keystore::Keystore>,
        identity: Identity,
        lock: Arc<DirLock>,
    ) -> anyhow::Result<Backend> {
        let mut config = settings
            .network
            .waku_config(nodepair_waku::Mode::Light)
            .context("the [network] section of the settings cannot work")?;
        config.keypair = Some(nodepair_peer::node_keypair(&identity));
        config.agent = format!("nodepair/{}", env!("CARGO_PKG_VERSION"));
        let waku = WakuNode::start(config)
            .await
            .context("cannot start the Waku node")?;
        let node_id = uuid::Uuid::from_bytes(identity.node_id).to_string();
        let peer = Peer::start(
            Role::App,
            &identity,
            PeerConfig::new(settings.display_name.clone(), vec!["info".into()]),
            Arc::clone(&store),
            waku,
            Arc::new(NoMethods),
        )
        .await?;
        Ok(Backend {
            peer,
            keystore,
            settings: settings.clone(),
            node_id,
            started: std::time::Instant::now(),
            store,
            identity,
            _lock: lock,
        })
    }

    /// Says goodbye to online managers and stops the node.
    pub async fn shutdown(self) {
        self.stop().await;
    }

    /// [`Backend::shutdown`] of a backend others may still hold.
    pub async fn stop(&self) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(dir: &Path) -> Settings {
        toml::from_str(&format!(
            "display_name = \"laptop\"\ndata_dir = \"{}\"\n[network]\npreset = \"local\"\ncluster = 42\n[keystore]\nbackend = \"vault\"\n",
            dir.display()
        ))
        .unwrap()
    }

    fn typed(p: &str) -> Ask {
        Ask::Window(Some(Passphrase::new(p.as_bytes().to_vec())))
    }

    /// The window's passphrase flow: asked for (new vault), created with
    /// what was typed, then refused when wrong, opened when right.
    #[tokio::test]
    async fn the_window_asks_for_the_vault_passphrase_and_says_when_it_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let settings = settings(dir.path());
        if nodepair_keystore::passphrase::process_env(nodepair_keystore::passphrase::ENV_VAR)
            .is_some()
        {
            panic!("unset NODEPAIR_VAULT_PASSPHRASE to run this test");
        }
        let err = Backend::start(&settings, Ask::Window(None))
            .await
            .unwrap_err();
        let need = needs_passphrase(&err, &settings).expect("a passphrase is asked for");
        assert!(need.creating && need.error.is_none(), "{need:?}");
        assert!(
            !dir.path().join("vault").exists(),
            "nothing is created before"
        );

        let backend = Backend::start(&settings, typed("correct horse"))
            .await
            .unwrap();
        backend.shutdown().await;

        let err = Backend::start(&settings, typed("wrong horse"))
            .await
            .unwrap_err();
        let need = needs_passphrase(&err, &settings).expect("asked again");
        assert!(!need.creating);
        assert_eq!(
            need.error.as_deref(),
            Some("That passphrase does not open the vault. Try again.")
        );
        let backend = Backend::start(&settings, typed("correct horse"))
            .await
            .unwrap();
        backend.shutdown().await;
    }
}
