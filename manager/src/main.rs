//! `nodepair-manager`: the headless side of NodePair.
//!
//! It runs on a server beside an Ethereum node. The operator pairs it once
//! with a NodePair app by typing the code the app shows; from then on it keeps
//! an encrypted session with every paired app over Waku and answers for the
//! node it sits beside, within what its configuration allows. This binary is
//! thin: the protocol lives in `nodepair-protocol`, the runtime in
//! `nodepair-peer`; here are the command line, the configuration and the
//! node-status providers.

mod answer;
mod command;
mod config;
mod containers;
mod control;
mod exit;
mod keys;
mod methods;
mod run_marker;
mod runtime;
mod serve;
mod tool;

/// Declares each capability's module (named as in `nodepair_protocol::api`)
/// and builds them all: a new capability is its module and its name here.
macro_rules! capabilities {
    ($($module:ident),* $(,)?) => {
        $(mod $module;)*

        /// Every capability the manager has, built from its configuration
        /// (enabled or not: [`methods::Methods`] refuses what is not).
        fn capabilities(
            setup: &mut answer::Setup<'_>,
        ) -> anyhow::Result<Vec<(&'static str, std::sync::Arc<dyn answer::Answer>)>> {
            Ok(vec![$((nodepair_protocol::api::$module::CAPABILITY, $module::answerer(setup)?)),*])
        }
    };
}

capabilities!(info, host, ethereum, services, logs, alerts, validators);

use clap::Parser;
use std::process::ExitCode;

#[allow(unsafe_code)]
fn main() -> ExitCode {
    // SAFETY: first thing in main, before any thread exists.
    unsafe { nodepair_keystore::passphrase::take_from_environment() };
    let cli = command::Cli::parse();
    init_logging(cli.verbose);
    if let Err(e) = nodepair_peer::hardening::no_core_dumps() {
        tracing::warn!(error = %e, "cannot turn core dumps off; a crash could write keys to disk");
    }
    match cli.command.run(&cli.global) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // `{:#}` prints the whole chain: what we tried, then why it failed.
            eprintln!("error: {err:#}");
            exit::code_for(&err)
        }
    }
}

/// What the container engine's client may log, whatever else is asked.
const QUIET_BOLLARD: &str = "bollard=info";

/// Logs go to stderr; `RUST_LOG` wins over `-v`, but never opens
/// [`QUIET_BOLLARD`].
fn init_logging(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        // `audit`: who asked for what (service actions, log follows), always.
        // `events`: pairings, sessions up and down, revocations, refused
        // traffic (a line a minute at most), for operators reading journald.
        0 => "warn,audit=info,events=info",
        1 => "info,nodepair=debug,audit=info,events=info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(default))
        // The container engine's client logs whole answers at debug level,
        // a container's environment (its secrets) among them: never.
        .add_directive(QUIET_BOLLARD.parse().unwrap_or_default());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only on a terminal, not in journald or a file.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}
