//! `nodepair`: the desktop app's entry point; everything else is in the library.

// No console window next to the app on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use clap::Parser;
use std::process::ExitCode;

#[allow(unsafe_code)]
fn main() -> ExitCode {
    // The vault passphrase, if given in the environment, leaves it at once:
    // the web view's processes would inherit it.
    // SAFETY: first thing in main, before any thread exists.
    unsafe { nodepair_keystore::passphrase::take_from_environment() };
    let cli = nodepair_app::headless::Cli::parse();
    // Keys are in this process's memory: no core file may hold them.
    if let Err(e) = nodepair_peer::hardening::no_core_dumps() {
        eprintln!("warning: cannot turn core dumps off ({e}); a crash could write keys to disk");
    }
    // The window logs too (to standard error: the session's journal or
    // ~/.xsession-errors when started from a menu).
    init_logging();
    match cli.command {
        Some(command) => nodepair_app::headless::run(cli.config, command),
        None => {
            nodepair_app::run(cli.config, cli.hidden);
            ExitCode::SUCCESS
        }
    }
}

/// Logs go to stderr, `RUST_LOG` sets how much (warnings by default).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only on a terminal, not in journald or a file.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}
