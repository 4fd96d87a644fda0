//! The OS keyring (Secret Service on Linux, Keychain on macOS, Credential Manager on Windows).

use crate::{Backend, EntryName, Keystore, KeystoreError, SecretBytes};
use keyring_core::api::CredentialStore;
use keyring_core::{Entry, Error as CoreError};
use std::collections::HashMap;
use std::sync::{Arc, mpsc};
use std::time::Duration;

/// How long one keyring call may take. A Secret Service that wants to show
/// an unlock prompt nobody can answer (a locked keyring on a server) blocks
/// forever; past this the call is given up as [`KeyringError::Locked`].
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the OS keyring could not be used. What it held before is unchanged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyringError {
    /// There is no keyring to use: no session bus, no Secret Service on it,
    /// no default (login) collection, or a platform without a supported store.
    #[error("the OS keyring is not available: {0}")]
    Unavailable(String),
    /// The keyring is there but locked, and unlocking it needs a prompt
    /// nobody can answer here.
    #[error(
        "the OS keyring is locked: {0}; unlock it (log in to the desktop session, or run `gnome-keyring-daemon --unlock`) and try again"
    )]
    Locked(String),
    /// The keyring holds something under NodePair's service name that
    /// NodePair did not write.
    #[error("the OS keyring entry {name:?} is not one NodePair wrote: {detail}")]
    Foreign {
        /// The entry.
        name: String,
        /// What is wrong with it.
        detail: String,
    },
    /// Any other failure reported by the keyring.
    #[error("the OS keyring failed: {0}")]
    Failed(String),
}

impl KeyringError {
    /// Whether this error means "there is no usable keyring here", the case
    /// in which automatic selection falls back to the vault.
    pub fn means_no_keyring(&self) -> bool {
        matches!(self, KeyringError::Unavailable(_) | KeyringError::Locked(_))
    }

    fn from_core(err: CoreError) -> KeyringError {
        match err {
            // Secret Service maps "locked", "no such collection" and
            // "prompt dismissed" to this.
            CoreError::NoStorageAccess(e) => KeyringError::Locked(e.to_string()),
            CoreError::NoDefaultStore => {
                KeyringError::Unavailable("no credential store for this platform".into())
            }
            other => KeyringError::Failed(other.to_string()),
        }
    }
}

/// Entries in the OS keyring, all under one service name so that several
/// NodePair programs (the app, a manager) on one machine never share one.
///
/// Each entry is one keyring item: service = the namespace given to
/// [`KeyringStore::open`], user = the entry name, secret = the bytes.
pub struct KeyringStore {
    store: Arc<CredentialStore>,
    service: String,
    timeout: Duration,
}

impl std::fmt::Debug for KeyringStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyringStore")
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

impl KeyringStore {
    /// Connects to this platform's keyring and checks, without prompting,
    /// that it can be used now. Fails with [`KeyringError::Unavailable`] or
    /// [`KeyringError::Locked`] when it cannot.
    pub fn open(service: &str) -> Result<KeyringStore, KeyringError> {
        Self::open_with_timeout(service, DEFAULT_TIMEOUT)
    }

    /// [`KeyringStore::open`], with `timeout` for each keyring call.
    pub fn open_with_timeout(
        service: &str,
        timeout: Duration,
    ) -> Result<KeyringStore, KeyringError> {
        let store = with_deadline(timeout, || {
            probe_without_prompting()?;
            platform_store()
        })?;
        let keyring = KeyringStore {
            store,
            service: service.to_owned(),
            timeout,
        };
        // A read that touches the entries for real: the fallback rule's probe.
        keyring.list()?;
        Ok(keyring)
    }

    /// The service name the entries are stored under.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// Runs `op` on the entry for `name`, within the deadline.
    fn with_entry<T: Send + 'static>(
        &self,
        name: &EntryName,
        op: impl FnOnce(&Entry) -> Result<T, KeyringError> + Send + 'static,
    ) -> Result<T, KeyringError> {
        let store = self.store.clone();
        let service = self.service.clone();
        let user = name.as_str().to_owned();
        with_deadline(self.timeout, move || {
            let label = format!("NodePair ({service}): {user}");
            let modifiers = HashMap::from([("label", label.as_str())]);
            let entry = store
                .build(&service, &user, Some(&modifiers))
                .map_err(KeyringError::from_core)?;
            op(&entry)
        })
    }

    fn list(&self) -> Result<Vec<EntryName>, KeyringError> {
        let store = self.store.clone();
        let service = self.service.clone();
        with_deadline(self.timeout, move || {
            let spec = HashMap::from([("service", service.as_str())]);
            let found = store.search(&spec).map_err(KeyringError::from_core)?;
            let mut names = Vec::with_capacity(found.len());
            for entry in found {
                let Some((found_service, user)) = entry.get_specifiers() else {
                    continue;
                };
                if found_service != service {
                    continue;
                }
                let name = EntryName::new(user.clone()).map_err(|e| KeyringError::Foreign {
                    name: user,
                    detail: e.to_string(),
                })?;
                names.push(name);
            }
            names.sort();
            names.dedup();
            Ok(names)
        })
    }
}

/// Runs `f` on its own thread and gives up on it after `timeout`: a keyring
/// waiting on a prompt never answers, and must not hang NodePair with it.
fn with_deadline<T: Send + 'static>(
    timeout: Duration,
    f: impl FnOnce() -> Result<T, KeyringError> + Send + 'static,
) -> Result<T, KeyringError> {
    let (tx, rx) = mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("keyring-call".into())
        .spawn(move || {
            let _ = tx.send(f());
        })
        .map_err(|e| KeyringError::Failed(format!("cannot start a thread: {e}")))?;
    match rx.recv_timeout(timeout) {
        Ok(result) => result,
        Err(mpsc::RecvTimeoutError::Timeout) => Err(KeyringError::Locked(format!(
            "it did not answer within {} s (it is probably waiting on an unlock prompt)",
            timeout.as_secs_f32()
        ))),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            Err(KeyringError::Failed("the keyring call panicked".into()))
        }
    }
}

/// Linux: asks the Secret Service whether its default collection exists and
/// is unlocked, which neither creates nor unlocks anything (so never prompts).
#[cfg(target_os = "linux")]
fn probe_without_prompting() -> Result<(), KeyringError> {
    use secret_service::Error as SsError;
    use secret_service::blocking::SecretService;
    let ss = SecretService::connect(secret_service::EncryptionType::Plain)
        .map_err(|e| KeyringError::Unavailable(format!("no Secret Service: {e}")))?;
    let collection = match ss.get_default_collection() {
        Ok(c) => c,
        Err(SsError::NoResult) => {
            return Err(KeyringError::Unavailable(
                "the Secret Service has no default (login) collection".into(),
            ));
        }
        Err(SsError::Zbus(_) | SsError::ZbusFdo(_) | SsError::Unavailable) => {
            return Err(KeyringError::Unavailable(
                "no Secret Service answers on the session bus".into(),
            ));
        }
        Err(e) => return Err(KeyringError::Failed(e.to_string())),
    };
    match collection.is_locked() {
        Ok(false) => Ok(()),
        Ok(true) => Err(KeyringError::Locked(
            "its default (login) collection is locked".into(),
        )),
        Err(e) => Err(KeyringError::Failed(e.to_string())),
    }
}

#[cfg(not(target_os = "linux"))]
fn probe_without_prompting() -> Result<(), KeyringError> {
    Ok(())
}

#[cfg(target_os = "linux")]
fn platform_store() -> Result<Arc<CredentialStore>, KeyringError> {
    let store = zbus_secret_service_keyring_store::Store::new().map_err(|e| match e {
        CoreError::PlatformFailure(e) => KeyringError::Unavailable(e.to_string()),
        other => KeyringError::from_core(other),
    })?;
    Ok(store)
}

#[cfg(target_os = "macos")]
fn platform_store() -> Result<Arc<CredentialStore>, KeyringError> {
    let store =
        apple_native_keyring_store::keychain::Store::new().map_err(KeyringError::from_core)?;
    Ok(store)
}

#[cfg(target_os = "windows")]
fn platform_store() -> Result<Arc<CredentialStore>, KeyringError> {
    let store = windows_native_keyring_store::Store::new().map_err(KeyringError::from_core)?;
    Ok(store)
}

#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
fn platform_store() -> Result<Arc<CredentialStore>, KeyringError> {
    Err(KeyringError::Unavailable(
        "NodePair has no OS keyring support on this platform".into(),
    ))
}

impl Keystore for KeyringStore {
    fn backend(&self) -> Backend {
        Backend::Keyring
    }

    fn get(&self, name: &EntryName) -> Result<Option<SecretBytes>, KeystoreError> {
        let shown = name.to_string();
        Ok(
            self.with_entry(name, move |entry| match entry.get_secret() {
                Ok(bytes) => Ok(Some(SecretBytes::new(bytes))),
                Err(CoreError::NoEntry) => Ok(None),
                Err(CoreError::Ambiguous(_)) => Err(KeyringError::Foreign {
                    name: shown,
                    detail: "several keyring items have this name".into(),
                }),
                Err(e) => Err(KeyringError::from_core(e)),
            })?,
        )
    }

    fn put(&self, name: &EntryName, value: &[u8]) -> Result<(), KeystoreError> {
        let value = zeroize::Zeroizing::new(value.to_vec());
        // One item per name: the Secret Service replaces the secret in place.
        Ok(self.with_entry(name, move |entry| {
            entry.set_secret(&value).map_err(KeyringError::from_core)
        })?)
    }

    fn delete(&self, name: &EntryName) -> Result<bool, KeystoreError> {
        Ok(
            self.with_entry(name, |entry| match entry.delete_credential() {
                Ok(()) => Ok(true),
                Err(CoreError::NoEntry) => Ok(false),
                Err(e) => Err(KeyringError::from_core(e)),
            })?,
        )
    }

    fn names(&self) -> Result<Vec<EntryName>, KeystoreError> {
        Ok(self.list()?)
    }
}
