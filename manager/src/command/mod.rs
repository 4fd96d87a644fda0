//! The command line: one file per subcommand, each with a `run`.

mod config;
mod keystore;

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Pairs with NodePair apps and answers them over Waku.
#[derive(Debug, Parser)]
#[command(name = "nodepair-manager", version, about, long_about = None)]
pub(crate) struct Cli {
    /// Options every subcommand takes.
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    /// More log output on stderr (-v, -vv); RUST_LOG overrides it.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub(crate) verbose: u8,
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options every subcommand takes.
#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// Configuration file [default: $XDG_CONFIG_HOME/nodepair/manager.toml,
    /// then /etc/nodepair/manager.toml, then built-in defaults]
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Check the configuration and print it as the manager will use it.
    Config(config::ConfigCmd),
    /// Where the identity and paired apps are kept: init, status, migrate,
    /// passphrase.
    Keystore(keystore::KeystoreCmd),
}

impl Command {
    /// Runs the subcommand to completion.
    pub(crate) fn run(self, global: &GlobalArgs) -> anyhow::Result<()> {
        match self {
            Command::Config(cmd) => cmd.run(global),
            Command::Keystore(cmd) => cmd.run(global),
        }
    }
}
