//! Where NodePair keeps its secrets.
//!
//! Each side holds an identity (its static X25519 key and its libp2p node
//! key) and the counterparties it paired with. On a desktop those live in the
//! OS keyring; headless servers have no keyring that survives a reboot, so the
//! manager falls back to an encrypted file vault. Every backend stores named
//! entries, one per secret and one per counterparty, behind the same
//! [`Keystore`] trait, so the rest of NodePair never knows which one it has.
//!
//! # Layout
//!
//! - [`entry`]: entry names and the secret bytes stored under them.
//! - [`keyring`]: the OS keyring, one item per entry.
//! - [`vault`]: the encrypted file vault (Argon2id → XChaCha20-Poly1305).
//! - [`memory`]: a store that lives only in the process, for tests.
//! - [`passphrase`]: where the vault passphrase comes from.
//! - [`select`]: which backend to open, and the record of that choice.
//! - [`migrate`]: moving every entry to another backend.
//! - [`identity`], [`counterparty`]: the records NodePair keeps in a store.
//! - [`dir_lock`]: one process at a time per data directory.

#![deny(missing_docs)]

pub mod counterparty;
pub mod dir_lock;
pub mod entry;
pub mod identity;
pub mod keyring;
pub mod memory;
pub mod migrate;
pub mod passphrase;
pub mod select;
pub mod vault;

pub use counterparty::{Counterparty, CounterpartyError, CounterpartyState, Role};
pub use dir_lock::{DirLock, DirLockError};
pub use entry::{EntryName, InvalidEntryName, SecretBytes};
pub use identity::{Identity, IdentityError};
pub use keyring::{KeyringError, KeyringStore};
pub use memory::MemoryStore;
pub use migrate::{MigrateError, MigrationReport};
pub use passphrase::{Passphrase, PassphraseError, PassphraseSource};
pub use select::{Choice, Location, Options, SelectError, Selected};
pub use vault::{KdfParams, Vault, VaultError};

use std::fmt;

/// Which kind of storage a [`Keystore`] writes to, as `status` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Backend {
    /// Process memory only: everything is gone when the process exits.
    Memory,
    /// The OS keyring.
    Keyring,
    /// The encrypted file vault.
    Vault,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Memory => "memory (not persisted)",
            Backend::Keyring => "OS keyring",
            Backend::Vault => "encrypted file vault",
        })
    }
}

/// Why a keystore operation failed. Nothing was changed when one is returned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeystoreError {
    /// The backend has no room left for the entry; the old value, if any,
    /// is still in place.
    #[error("no room to store entry {name}: it needs {needed} bytes and {available} are free")]
    Full {
        /// The entry that was refused.
        name: EntryName,
        /// Bytes the new value needs.
        needed: usize,
        /// Bytes the backend has left, counting the old value's as free.
        available: usize,
    },
    /// The vault could not be written; it holds what it held before.
    #[error(transparent)]
    Vault(Box<crate::vault::VaultError>),
    /// The operating system gave no random bytes for a new key.
    #[error("cannot get random bytes from the operating system: {0}")]
    Random(String),
    /// The OS keyring refused or failed; it holds what it held before.
    #[error(transparent)]
    Keyring(#[from] crate::keyring::KeyringError),
}

/// Named secret entries, persisted by some backend.
///
/// Implementations are atomic per entry: after an error the entry holds its
/// old value or none, never a mix.
pub trait Keystore: Send + Sync {
    /// The kind of storage behind this keystore.
    fn backend(&self) -> Backend;

    /// The value stored under `name`, if any.
    fn get(&self, name: &EntryName) -> Result<Option<SecretBytes>, KeystoreError>;

    /// Stores `value` under `name`, replacing any previous value.
    fn put(&self, name: &EntryName, value: &[u8]) -> Result<(), KeystoreError>;

    /// Stores every `(name, value)`, as `put` would one by one.
    ///
    /// A backend that keeps its entries in one file writes it once (the
    /// vault: all of them or none); the others store them in order and stop
    /// at the first error, which leaves the earlier ones stored.
    fn put_many(&self, entries: &[(EntryName, Vec<u8>)]) -> Result<(), KeystoreError> {
        for (name, value) in entries {
            self.put(name, value)?;
        }
        Ok(())
    }

    /// Removes the entry; returns whether there was one.
    fn delete(&self, name: &EntryName) -> Result<bool, KeystoreError>;

    /// Names of all entries, sorted.
    fn names(&self) -> Result<Vec<EntryName>, KeystoreError>;
}
