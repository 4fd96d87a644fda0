//! `nodepair-manager keystore`: where the keys are, and moving them.

use super::GlobalArgs;
use crate::config::Config;
use crate::keys;
use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use nodepair_keystore::passphrase::Purpose;
use nodepair_keystore::select::{self, Location};
use nodepair_keystore::{
    Counterparty, CounterpartyState, Identity, KeyringStore, PassphraseSource, Role, Vault, migrate,
};
use std::io::Write;
use std::path::PathBuf;

/// Where the manager's identity and paired apps are kept.
#[derive(Debug, Args)]
pub(crate) struct KeystoreCmd {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Create the keystore and this manager's identity, if not there yet,
    /// and say where they are.
    Init,
    /// Show which backend holds the keys and why, and what it holds.
    Status,
    /// Move every key to another backend; nothing is deleted from the old
    /// one until the new one holds it all.
    Migrate {
        /// Where to move the keys to.
        #[arg(long, value_enum)]
        to: Target,
    },
    /// Re-encrypt the vault under a new passphrase.
    Passphrase {
        /// Read the new passphrase from this file (mode 0600) instead of
        /// asking on the terminal.
        #[arg(long, value_name = "FILE")]
        new_passphrase_file: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Target {
    /// The OS keyring (Secret Service).
    Keyring,
    /// The encrypted file vault.
    Vault,
}

impl KeystoreCmd {
    pub(crate) fn run(self, global: &GlobalArgs) -> anyhow::Result<()> {
        let (config, _) = Config::load(global.config.as_deref())?;
        match self.action {
            Action::Init => init(&config),
            Action::Status => status(&config),
            Action::Migrate { to } => migrate_to(&config, to),
            Action::Passphrase {
                new_passphrase_file,
            } => passphrase(&config, new_passphrase_file),
        }
    }
}

fn init(config: &Config) -> anyhow::Result<()> {
    let selected = keys::open(config)?;
    let (identity, created) = Identity::load_or_create(&*selected.store)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "keystore: {} ({})", selected.location, selected.why)?;
    writeln!(
        out,
        "identity: node id {} ({})",
        hex::encode(identity.node_id),
        if created {
            "created now"
        } else {
            "already there"
        }
    )?;
    Ok(())
}

fn status(config: &Config) -> anyhow::Result<()> {
    let opts = keys::options(config);
    let mut out = std::io::stdout().lock();
    if select::recorded(&opts.marker)?.is_none() && !opts.vault_path.exists() {
        // Not set up yet: say what the first start would choose, creating nothing.
        writeln!(
            out,
            "keystore: not set up yet (no {})",
            opts.marker.display()
        )?;
        let would = match opts.choice {
            select::Choice::Vault => format!("the encrypted vault {}", opts.vault_path.display()),
            select::Choice::Keyring => format!("the OS keyring (service {})", opts.keyring_service),
            select::Choice::Auto => match KeyringStore::open(&opts.keyring_service) {
                Ok(_) => format!(
                    "the OS keyring (service {}), which answers",
                    opts.keyring_service
                ),
                Err(e) => format!(
                    "the encrypted vault {}, since {e}",
                    opts.vault_path.display()
                ),
            },
        };
        writeln!(out, "first start will use: {would}")?;
        return Ok(());
    }
    let selected = keys::open(config)?;
    writeln!(out, "keystore: {}", selected.location)?;
    writeln!(out, "  chosen because {}", selected.why)?;
    match Identity::load(&*selected.store)? {
        Some(identity) => writeln!(out, "identity: node id {}", hex::encode(identity.node_id))?,
        None => writeln!(out, "identity: none yet (created at first start)")?,
    }
    let all = Counterparty::load_all(&*selected.store)?;
    writeln!(out, "paired apps: {}", all.len())?;
    for c in all {
        writeln!(
            out,
            "  {:<24} {:<7} paired {}  last seen {}  {}",
            c.display_name,
            match c.role {
                Role::App => "app",
                Role::NodeManager => "manager",
            },
            keys::when(c.paired_at),
            c.last_seen.map_or_else(|| "never".to_owned(), keys::when),
            match c.state {
                CounterpartyState::Active => "active",
                CounterpartyState::Revoked => "revoked",
            }
        )?;
    }
    Ok(())
}

fn migrate_to(config: &Config, to: Target) -> anyhow::Result<()> {
    let opts = keys::options(config);
    let source = keys::open(config)?;
    let target = match to {
        Target::Keyring => Location::Keyring {
            service: opts.keyring_service.clone(),
        },
        Target::Vault => Location::Vault {
            path: opts.vault_path.clone(),
        },
    };
    if source.location == target {
        bail!("the keys are already in {target}; nothing to do");
    }
    let dest = select::open_target(&target, &opts, keys::env)
        .with_context(|| format!("cannot open {target} to move the keys there"))?;
    let report = migrate::copy_all(&*source.store, &*dest).with_context(|| {
        format!(
            "nothing was moved; the keys are still all in {}",
            source.location
        )
    })?;
    select::record(&opts.marker, &target)?;
    let removed = migrate::remove_migrated(&*source.store, &*dest).with_context(|| {
        format!(
            "the keys are now in {target}, but copies are left in {}; run the migration again to remove them",
            source.location
        )
    })?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "moved {} entries ({} copied, {} already there) from {} to {target}; removed {removed} from the old place",
        report.copied + report.already_there,
        report.copied,
        report.already_there,
        source.location
    )?;
    writeln!(
        out,
        "set `backend = \"{}\"` in [keystore] of the configuration (or keep \"auto\")",
        match to {
            Target::Keyring => "keyring",
            Target::Vault => "vault",
        }
    )?;
    Ok(())
}

fn passphrase(config: &Config, new_file: Option<PathBuf>) -> anyhow::Result<()> {
    let opts = keys::options(config);
    let Some(Location::Vault { path }) = select::recorded(&opts.marker)? else {
        bail!("the keys are not in a vault, so there is no vault passphrase to change");
    };
    let current = select::passphrase_source(&opts, keys::env)?.read(Purpose::Unlock, keys::env)?;
    let mut vault = Vault::open(&path, current.expose())?;
    let new_source = new_file.map_or(PassphraseSource::Prompt, PassphraseSource::File);
    let new = new_source.read(Purpose::New, keys::env)?;
    vault
        .change_passphrase(new.expose())
        .context("the passphrase was not changed; the vault still opens with the old one")?;
    writeln!(
        std::io::stdout().lock(),
        "the vault {} now opens with the new passphrase; update wherever the manager reads it from",
        path.display()
    )?;
    Ok(())
}
