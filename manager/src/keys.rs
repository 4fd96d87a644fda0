//! Opening the keystore the configuration names, and reading what it holds.

use crate::config::{Config, KeystoreBackend};
use nodepair_keystore::select::{self, Choice, Options, Selected};
use nodepair_keystore::{KdfParams, PassphraseSource};
use std::ffi::OsString;

/// The keystore options the configuration gives.
pub(crate) fn options(config: &Config) -> Options {
    let state = config.state_dir();
    Options {
        choice: match config.keystore.backend {
            KeystoreBackend::Auto => Choice::Auto,
            KeystoreBackend::Keyring => Choice::Keyring,
            KeystoreBackend::Vault => Choice::Vault,
        },
        keyring_service: config.keystore.keyring_service.clone(),
        vault_path: state.join(&config.keystore.vault),
        passphrase: config
            .keystore
            .passphrase_file
            .clone()
            .map(PassphraseSource::File),
        terminal_prompt: true,
        kdf: KdfParams::default(),
        marker: state.join("keystore"),
    }
}

/// The process environment, as the keystore reads it (the passphrase was
/// taken out of it at start-up).
pub(crate) fn env(name: &str) -> Option<OsString> {
    nodepair_keystore::passphrase::process_env(name)
}

/// Opens (on first use: chooses, records and creates) the keystore.
pub(crate) fn open(config: &Config) -> anyhow::Result<Selected> {
    Ok(select::select(&options(config), env)?)
}

/// A Unix time as the operator reads it.
pub(crate) fn when(unix_seconds: u64) -> String {
    i64::try_from(unix_seconds)
        .ok()
        .and_then(|s| jiff::Timestamp::from_second(s).ok())
        .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| format!("{unix_seconds} (out of range)"))
}
