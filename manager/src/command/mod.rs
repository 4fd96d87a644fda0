//! The command line: one file per subcommand (or family), each with a `run`.

mod alerts;
mod config;
mod keystore;
mod pair;
mod peers;
mod rotate_key;
mod run;

use crate::control::{PeerRow, Reply, StatusReport};
use crate::exit::Reported;
use crate::keys::when;
use clap::{Args, Parser, Subcommand};
use nodepair_peer::RotationReport;
use std::io::Write;
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
    /// Run the daemon: stay connected to every paired app.
    Run(run::RunCmd),
    /// Pair with the app showing a code.
    Pair(pair::PairCmd),
    /// List the paired apps.
    Peers(peers::PeersCmd),
    /// Unpair an app.
    Revoke(peers::RevokeCmd),
    /// Change what a paired app may use.
    Grant(peers::GrantCmd),
    /// Move every paired app to a new static key, without pairing again.
    RotateKey(rotate_key::RotateKeyCmd),
    /// Identity, keystore, network and paired apps.
    Status(peers::StatusCmd),
    /// Check the configuration and print it as the manager will use it.
    Config(config::ConfigCmd),
    /// The alerts the manager's rules raised: open ones, or all (--all).
    Alerts(alerts::AlertsCmd),
    /// Where the identity and paired apps are kept: init, status, migrate,
    /// passphrase.
    Keystore(keystore::KeystoreCmd),
}

impl Command {
    /// Runs the subcommand to completion.
    pub(crate) fn run(self, global: &GlobalArgs) -> anyhow::Result<()> {
        match self {
            Command::Run(cmd) => cmd.run(global),
            Command::Pair(cmd) => cmd.run(global),
            Command::Peers(cmd) => cmd.run(global),
            Command::Revoke(cmd) => cmd.run(global),
            Command::Grant(cmd) => cmd.run(global),
            Command::RotateKey(cmd) => cmd.run(global),
            Command::Status(cmd) => cmd.run(global),
            Command::Config(cmd) => cmd.run(global),
            Command::Alerts(cmd) => cmd.run(global),
            Command::Keystore(cmd) => cmd.run(global),
        }
    }
}

/// A tokio runtime for the commands that talk to the network or the daemon.
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

/// Prints the daemon's replies until its final one; a daemon that goes
/// away before answering is an error.
pub(crate) async fn relay_replies(
    client: &mut crate::control::Client,
    out: &Output,
) -> anyhow::Result<()> {
    while let Some(reply) = client.next().await? {
        out.reply(&reply)?;
        if !matches!(reply, Reply::Progress { .. }) {
            return Ok(());
        }
    }
    anyhow::bail!("the manager daemon stopped before it answered")
}

/// How replies are printed: JSON lines, or text for people.
pub(crate) struct Output {
    pub(crate) json: bool,
}

impl Output {
    /// Prints `reply`; an error reply becomes the command's error.
    pub(crate) fn reply(&self, reply: &Reply) -> anyhow::Result<()> {
        let mut out = std::io::stdout().lock();
        if self.json {
            writeln!(out, "{}", serde_json::to_string(reply)?)?;
        } else {
            match reply {
                Reply::Progress { step } => eprintln!("… {step}"),
                Reply::Compare { app, verification } => {
                    writeln!(
                        out,
                        "the app {} (key {}) answered\nverification: {verification}  (compare it with the app's screen)",
                        app.name, app.fingerprint
                    )?;
                }
                Reply::Paired {
                    counterparty,
                    verification,
                } => {
                    writeln!(
                        out,
                        "paired with {} ({}, key {})",
                        counterparty.name, counterparty.role, counterparty.fingerprint
                    )?;
                    writeln!(out, "verification: {verification}")?;
                }
                Reply::Peers { peers } => print_peers(&mut out, peers)?,
                Reply::Revoked { name, told: true } => {
                    writeln!(
                        out,
                        "revoked {name}; it was told and forgot this manager too"
                    )?;
                }
                Reply::Revoked { name, told: false } => writeln!(
                    out,
                    "revoked {name}; it is not connected, and will be told when it next connects"
                )?,
                Reply::Granted {
                    name,
                    granted,
                    told,
                    ..
                } => {
                    let when = if *told {
                        "it was told, and its next request is judged by it"
                    } else {
                        "it is told when it next connects"
                    };
                    writeln!(out, "{name} may now use: {}; {when}", granted.join(", "))?;
                }
                Reply::Rotation { rotation } => print_rotation(&mut out, rotation)?,
                Reply::Status { status } => print_status(&mut out, status)?,
                Reply::Error { .. } => {}
            }
        }
        if let Reply::Error { kind, message } = reply {
            return Err(Reported {
                kind: *kind,
                message: message.clone(),
            }
            .into());
        }
        Ok(())
    }
}

fn print_peers(out: &mut impl Write, peers: &[PeerRow]) -> std::io::Result<()> {
    if peers.is_empty() {
        return writeln!(out, "no paired apps; pair one with `nodepair-manager pair`");
    }
    writeln!(
        out,
        "{:<24} {:<36} {:<12} {:<22} {:>9}  GRANTED",
        "NAME", "NODE ID", "STATE", "LAST SEEN", "LATENCY"
    )?;
    for p in peers {
        let mut granted = match &p.grants {
            None => "all".to_owned(),
            Some(names) if names.is_empty() => "info only".to_owned(),
            Some(names) => names.join(","),
        };
        // Its line: who the operator paired that it descends from.
        if let Some(root) = &p.introduced_by {
            granted.push_str(&format!("  (introduced; line of {root})"));
        }
        writeln!(
            out,
            "{:<24} {:<36} {:<12} {:<22} {:>9}  {granted}",
            p.name,
            p.node_id,
            p.state,
            p.last_seen.map_or_else(|| "never".into(), when),
            p.latency_ms
                .map_or_else(|| "-".into(), |ms| format!("{ms:.1} ms"))
        )?;
    }
    Ok(())
}

fn print_rotation(out: &mut impl Write, r: &RotationReport) -> std::io::Result<()> {
    writeln!(out, "{}", r.describe("app(s)", &when(r.grace_ends_at)))
}

fn print_status(out: &mut impl Write, s: &StatusReport) -> std::io::Result<()> {
    writeln!(out, "manager:   {} (node id {})", s.display_name, s.node_id)?;
    writeln!(out, "identity:  key {} ({})", s.fingerprint, s.public_key)?;
    writeln!(out, "keystore:  {} ({})", s.keystore, s.keystore_why)?;
    if let Some(n) = &s.network {
        writeln!(
            out,
            "network:   {} ({} node, cluster {}, shard {})",
            n.preset.as_str(),
            n.mode.as_str(),
            n.cluster,
            n.shard
        )?;
    }
    if s.daemon_running {
        writeln!(
            out,
            "waku:      peer id {}, {} peer(s) connected",
            s.waku_peer_id.as_deref().unwrap_or("-"),
            s.waku_peers.len()
        )?;
        for p in &s.waku_peers {
            writeln!(out, "             {p}")?;
        }
        if s.pairings_under_way > 0 {
            writeln!(out, "pairing:   {} under way", s.pairings_under_way)?;
        }
        writeln!(out, "topics:    {}", s.topics.len())?;
        for t in &s.topics {
            writeln!(out, "             {t}")?;
        }
        writeln!(
            out,
            "dropped:   {} failed authentication (e.g. unknown keys), {} malformed, {} replayed, {} refused on pairing topics",
            s.dropped.auth_failures,
            s.dropped.malformed,
            s.dropped.replays,
            s.dropped.refused_pairing_messages
        )?;
    } else {
        writeln!(
            out,
            "daemon:    not running (start it with `nodepair-manager run`)"
        )?;
    }
    if let Some(r) = &s.rotation {
        write!(out, "rotation:  ")?;
        print_rotation(out, r)?;
    }
    writeln!(out, "paired:    {}", s.counterparties.len())?;
    print_peers(out, &s.counterparties)
}

#[cfg(test)]
mod cli_docs {
    /// The man pages and completions in packaging/ are this command line's
    /// (a stale one is rewritten and the test fails: commit the new files).
    #[test]
    fn man_pages_and_completions_are_current() {
        let cmd = <super::Cli as clap::CommandFactory>::command();
        nodepair_cli_docs::assert_current(cmd, env!("CARGO_MANIFEST_DIR"));
    }
}
