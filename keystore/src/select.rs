//! Which backend holds the keys: the configured one, or the OS keyring when it answers and the vault otherwise.
//!
//! The first choice is recorded in a small marker file (no secret in it), and
//! every later start follows the record: a keyring that is locked one
//! morning must not make a program start afresh in an empty vault, and a
//! configuration edited without migrating must not hide every counterparty.

use crate::keyring::{KeyringError, KeyringStore};
use crate::passphrase::{PassphraseError, PassphraseSource, Purpose};
use crate::vault::{KdfParams, Vault, VaultError};
use crate::{Backend, Keystore};
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

/// Which backend the configuration asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Choice {
    /// The OS keyring when it can be used here, else the vault (DESIGN §6).
    Auto,
    /// The OS keyring only.
    Keyring,
    /// The vault only.
    Vault,
}

/// Where the keys are: what the marker records and `status` shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// OS keyring items under this service name.
    Keyring {
        /// The service name.
        service: String,
    },
    /// The vault file at this path.
    Vault {
        /// The file.
        path: PathBuf,
    },
}

impl Location {
    /// The kind of backend.
    pub fn backend(&self) -> Backend {
        match self {
            Location::Keyring { .. } => Backend::Keyring,
            Location::Vault { .. } => Backend::Vault,
        }
    }

    fn to_marker(&self) -> String {
        match self {
            Location::Keyring { service } => format!("keyring {service}\n"),
            Location::Vault { path } => format!("vault {}\n", path.display()),
        }
    }

    fn from_marker(text: &str) -> Option<Location> {
        let line = text.strip_suffix('\n').unwrap_or(text);
        match line.split_once(' ')? {
            ("keyring", service) if !service.is_empty() => Some(Location::Keyring {
                service: service.to_owned(),
            }),
            ("vault", path) if !path.is_empty() => Some(Location::Vault {
                path: PathBuf::from(path),
            }),
            _ => None,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Keyring { service } => write!(f, "the OS keyring (service {service})"),
            Location::Vault { path } => write!(f, "the encrypted vault {}", path.display()),
        }
    }
}

/// What [`select`] needs to know.
#[derive(Clone, Debug)]
pub struct Options {
    /// What the configuration asks for.
    pub choice: Choice,
    /// The keyring service name (one per program: the app and a manager on
    /// one desktop keep separate items).
    pub keyring_service: String,
    /// The vault file.
    pub vault_path: PathBuf,
    /// Where the vault passphrase comes from; `None` for the automatic order
    /// of [`PassphraseSource::automatic`].
    pub passphrase: Option<PassphraseSource>,
    /// Whether that automatic order may end in asking on the terminal;
    /// false for a program with a window, which asks there instead (then
    /// no source is [`PassphraseError::NoSource`]).
    pub terminal_prompt: bool,
    /// Argon2id cost for a new vault.
    pub kdf: KdfParams,
    /// The marker file recording where the keys are.
    pub marker: PathBuf,
}

impl Options {
    fn keyring(&self) -> Location {
        Location::Keyring {
            service: self.keyring_service.clone(),
        }
    }

    fn vault(&self) -> Location {
        Location::Vault {
            path: self.vault_path.clone(),
        }
    }
}

/// The store in use, where it is, and why it was chosen.
pub struct Selected {
    /// The store.
    pub store: Box<dyn Keystore>,
    /// Where its entries are.
    pub location: Location,
    /// Why this backend, in a sentence for `status`.
    pub why: String,
}

impl fmt::Debug for Selected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Selected")
            .field("location", &self.location)
            .field("why", &self.why)
            .finish_non_exhaustive()
    }
}

/// No store could be opened. Nothing was created or changed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SelectError {
    /// The OS keyring cannot be used.
    #[error("cannot use {location}: {source}")]
    Keyring {
        /// The keyring asked for.
        location: Location,
        /// Why.
        source: KeyringError,
    },
    /// The vault cannot be opened or created.
    #[error(transparent)]
    Vault(#[from] Box<VaultError>),
    /// No passphrase for the vault.
    #[error(transparent)]
    Passphrase(#[from] PassphraseError),
    /// The marker says the keys are in a vault that is not there.
    #[error(
        "the keys are kept in {location} (recorded in {}), but that file is missing; restore it from a backup",
        marker.display()
    )]
    VaultMissing {
        /// The missing vault.
        location: Location,
        /// The marker that records it.
        marker: PathBuf,
    },
    /// The configuration names another backend than the one holding the keys.
    #[error(
        "the configuration asks for {configured}, but the keys are in {recorded} (recorded in {}); move them with `keystore migrate`, or change the configuration back",
        marker.display()
    )]
    ConfigDisagrees {
        /// What the configuration asks for.
        configured: Location,
        /// Where the keys are.
        recorded: Location,
        /// The marker.
        marker: PathBuf,
    },
    /// Automatic selection found no usable keyring, and the vault fallback
    /// failed too.
    #[error(
        "the OS keyring cannot be used here ({keyring}), and the vault fallback failed: {vault}"
    )]
    NeitherBackend {
        /// Why the keyring cannot be used.
        keyring: String,
        /// Why the vault failed.
        vault: Box<SelectError>,
    },
    /// The marker file cannot be read or written, or is not one we wrote.
    #[error("the keystore marker {}: {why}", path.display())]
    Marker {
        /// The marker.
        path: PathBuf,
        /// What went wrong.
        why: String,
    },
}

/// Reads the marker: where the keys were last recorded to be.
pub fn recorded(marker: &Path) -> Result<Option<Location>, SelectError> {
    match std::fs::read_to_string(marker) {
        Ok(text) => Location::from_marker(&text)
            .map(Some)
            .ok_or_else(|| SelectError::Marker {
                path: marker.to_owned(),
                why: "it is not a keystore marker NodePair wrote".into(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(SelectError::Marker {
            path: marker.to_owned(),
            why: e.to_string(),
        }),
    }
}

/// Records `location` in the marker, atomically (temp file, sync, rename).
pub fn record(marker: &Path, location: &Location) -> Result<(), SelectError> {
    let err = |e: std::io::Error| SelectError::Marker {
        path: marker.to_owned(),
        why: e.to_string(),
    };
    if let Some(dir) = marker.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let tmp = marker.with_extension(format!("tmp-{}", std::process::id()));
    let written = (|| {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(location.to_marker().as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, marker)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.map_err(err)
}

/// Opens the store the options and the marker call for, creating an empty
/// vault or recording the choice only on first use.
pub fn select(
    opts: &Options,
    env: impl Fn(&str) -> Option<OsString>,
) -> Result<Selected, SelectError> {
    if let Some(location) = recorded(&opts.marker)? {
        let configured = match opts.choice {
            Choice::Auto => None,
            Choice::Keyring => Some(opts.keyring()),
            Choice::Vault => Some(opts.vault()),
        };
        let same_kind_elsewhere = match (&location, opts.choice) {
            // Auto follows the record, but not to another vault file or
            // keyring service than the configuration names.
            (Location::Keyring { .. }, Choice::Auto) => Some(opts.keyring()),
            (Location::Vault { .. }, Choice::Auto) => Some(opts.vault()),
            _ => None,
        };
        if let Some(configured) = configured.or(same_kind_elsewhere)
            && configured != location
        {
            return Err(SelectError::ConfigDisagrees {
                configured,
                recorded: location,
                marker: opts.marker.clone(),
            });
        }
        let store = open_existing(&location, opts, &env)?;
        return Ok(Selected {
            store,
            why: format!(
                "the keys were first stored there ({})",
                opts.marker.display()
            ),
            location,
        });
    }

    let (store, location, why): (Box<dyn Keystore>, _, _) = match opts.choice {
        Choice::Keyring => {
            let location = opts.keyring();
            let store = open_keyring(&location)?;
            (
                Box::new(store),
                location,
                "the configuration asks for it".to_owned(),
            )
        }
        Choice::Vault => {
            let location = opts.vault();
            let store = open_or_create_vault(opts, &env)?;
            (store, location, "the configuration asks for it".to_owned())
        }
        Choice::Auto if opts.vault_path.exists() => {
            let store = open_or_create_vault(opts, &env)?;
            (store, opts.vault(), "a vault is already there".to_owned())
        }
        Choice::Auto => match KeyringStore::open(&opts.keyring_service) {
            Ok(store) => (
                Box::new(store),
                opts.keyring(),
                "the OS keyring answers".to_owned(),
            ),
            Err(keyring_error) => {
                let store = open_or_create_vault(opts, &env).map_err(|vault| {
                    SelectError::NeitherBackend {
                        keyring: keyring_error.to_string(),
                        vault: Box::new(vault),
                    }
                })?;
                (
                    store,
                    opts.vault(),
                    format!("the OS keyring cannot be used here ({keyring_error})"),
                )
            }
        },
    };
    record(&opts.marker, &location)?;
    Ok(Selected {
        store,
        location,
        why,
    })
}

/// Opens the store at `location`, which must already hold the keys (a
/// missing vault is an error, never replaced by an empty one).
pub fn open_existing(
    location: &Location,
    opts: &Options,
    env: impl Fn(&str) -> Option<OsString>,
) -> Result<Box<dyn Keystore>, SelectError> {
    match location {
        Location::Keyring { .. } => Ok(Box::new(open_keyring(location)?)),
        Location::Vault { path } => {
            if !path.exists() {
                return Err(SelectError::VaultMissing {
                    location: location.clone(),
                    marker: opts.marker.clone(),
                });
            }
            let passphrase = passphrase_source(opts, &env)?.read(Purpose::Unlock, &env)?;
            Ok(Box::new(
                Vault::open(path, passphrase.expose()).map_err(Box::new)?,
            ))
        }
    }
}

/// Opens `location` as a migration target: the keyring as it is, the vault
/// opened or created.
pub fn open_target(
    location: &Location,
    opts: &Options,
    env: impl Fn(&str) -> Option<OsString>,
) -> Result<Box<dyn Keystore>, SelectError> {
    match location {
        Location::Keyring { .. } => Ok(Box::new(open_keyring(location)?)),
        Location::Vault { path } => {
            let opts = Options {
                vault_path: path.clone(),
                ..opts.clone()
            };
            open_or_create_vault(&opts, env)
        }
    }
}

fn open_keyring(location: &Location) -> Result<KeyringStore, SelectError> {
    let Location::Keyring { service } = location else {
        unreachable!("called with a keyring location")
    };
    KeyringStore::open(service).map_err(|source| SelectError::Keyring {
        location: location.clone(),
        source,
    })
}

/// Where the vault passphrase comes from under these options.
pub fn passphrase_source(
    opts: &Options,
    env: impl Fn(&str) -> Option<OsString>,
) -> Result<PassphraseSource, PassphraseError> {
    match &opts.passphrase {
        Some(source) => Ok(source.clone()),
        None => match PassphraseSource::automatic(env)? {
            PassphraseSource::Prompt if !opts.terminal_prompt => Err(PassphraseError::NoSource),
            source => Ok(source),
        },
    }
}

fn open_or_create_vault(
    opts: &Options,
    env: impl Fn(&str) -> Option<OsString>,
) -> Result<Box<dyn Keystore>, SelectError> {
    let source = passphrase_source(opts, &env)?;
    let path = &opts.vault_path;
    let vault = if path.exists() {
        let passphrase = source.read(Purpose::Unlock, &env)?;
        Vault::open(path, passphrase.expose())
    } else {
        let passphrase = source.read(Purpose::New, &env)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                Box::new(VaultError::Io {
                    path: dir.to_owned(),
                    source: e,
                })
            })?;
        }
        Vault::create(path, passphrase.expose(), opts.kdf)
    };
    Ok(Box::new(vault.map_err(Box::new)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_round_trip_and_strangers_are_refused() {
        for loc in [
            Location::Keyring {
                service: "nodepair-manager".into(),
            },
            Location::Vault {
                path: "/var/lib/nodepair manager/vault".into(),
            },
        ] {
            assert_eq!(Location::from_marker(&loc.to_marker()), Some(loc));
        }
        for bad in ["", "keyring", "vault ", "file /x", "\n"] {
            assert_eq!(Location::from_marker(bad), None, "{bad:?}");
        }
    }
}
