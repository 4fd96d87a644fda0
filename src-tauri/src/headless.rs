//! `nodepair pair | managers | unpair`: the app without a window, for terminals and scripts.

use crate::backend::{AlreadyRunning, Ask, Backend, keystore_options};
use crate::settings::{Settings, SettingsError};
use clap::{Parser, Subcommand};
use nodepair_keystore::Counterparty;
use nodepair_peer::exit_code;
use nodepair_peer::{CounterpartyView, PairingPhase, PairingUpdate, Revocation};
use nodepair_protocol::{NodeState, Role};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// NodePair: pair with node managers, then watch and operate their nodes.
/// Without a subcommand it opens the desktop app.
#[derive(Debug, Parser)]
#[command(name = "nodepair", version, about, long_about = None)]
pub struct Cli {
    /// Settings file [default: $XDG_CONFIG_HOME/nodepair/app.toml, else built-in defaults]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Without a window: what to do.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What the app does without a window.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show a pairing code (and its QR code), wait for a manager to answer
    /// it, ask whether the server shows the same verification string, and
    /// exit 0 once paired.
    Pair {
        /// One JSON object per line instead of text.
        #[arg(long)]
        json: bool,
        /// Confirm the verification string without asking (scripts).
        /// Without a terminal and without `--yes`, the answer is read as a
        /// line from standard input: `yes` or `no`.
        #[arg(long, short = 'y')]
        yes: bool,
        /// Seconds to wait for a first Waku peer before giving up (exit 69).
        #[arg(long, value_name = "SECONDS", default_value_t = 20)]
        network_timeout: u64,
    },
    /// List the paired managers.
    Managers {
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Unpair a manager (by name, or the start of its node id or key).
    Unpair {
        /// Which one.
        who: String,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// A failure with its exit code.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
struct Fail {
    code: u8,
    message: String,
}

/// Runs `command` to completion.
pub fn run(config: Option<PathBuf>, command: Command) -> ExitCode {
    let result = (|| -> anyhow::Result<()> {
        let settings = Settings::load(config.as_deref())?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        runtime.block_on(async {
            match command {
                Command::Pair {
                    json,
                    yes,
                    network_timeout,
                } => pair(&settings, json, yes, Duration::from_secs(network_timeout)).await,
                Command::Managers { json } => managers(&settings, json),
                Command::Unpair { who, json } => unpair(&settings, &who, json).await,
            }
        })
    })();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            let code = err.chain().find_map(|e| {
                if let Some(f) = e.downcast_ref::<Fail>() {
                    Some(f.code)
                } else if e.is::<SettingsError>() {
                    Some(exit_code::CONFIG)
                } else if e.is::<AlreadyRunning>() {
                    Some(exit_code::ALREADY_RUNNING)
                } else {
                    None
                }
            });
            ExitCode::from(code.unwrap_or(1))
        }
    }
}

fn print_json(value: &serde_json::Value) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{value}")?;
    out.flush()
}

fn manager_json(v: &CounterpartyView) -> serde_json::Value {
    serde_json::json!({
        "name": v.name(),
        "node_id": v.node_id.0.to_string(),
        "public_key": v.public_key.to_string(),
        "fingerprint": v.public_key.fingerprint(),
        "state": v.state.as_str(),
        "capabilities": v.capabilities,
        "paired_at": v.paired_at,
        "last_seen": v.last_seen,
        "latency_ms": v.latency.map(|d| d.as_secs_f64() * 1000.0),
    })
}

/// The QR code of `payload`, drawn with half blocks for a terminal.
fn qr_for_terminal(payload: &str) -> String {
    match qrcode::QrCode::new(payload.as_bytes()) {
        Ok(code) => code
            .render::<qrcode::render::unicode::Dense1x2>()
            .quiet_zone(true)
            .build(),
        Err(_) => String::new(),
    }
}

async fn pair(
    settings: &Settings,
    json: bool,
    yes: bool,
    network_timeout: Duration,
) -> anyhow::Result<()> {
    let backend = Backend::start(settings, Ask::Terminal).await?;
    let result = pair_with(&backend, json, yes, network_timeout).await;
    backend.shutdown().await;
    result
}

/// Ctrl-C, listened for from the moment this is made (a bare
/// `tokio::signal::ctrl_c()` future only starts listening when first polled,
/// so a Ctrl-C before that would kill the process instead of cancelling).
struct Interrupt {
    #[cfg(unix)]
    signal: tokio::signal::unix::Signal,
    #[cfg(windows)]
    signal: tokio::signal::windows::CtrlC,
}

impl Interrupt {
    fn new() -> std::io::Result<Self> {
        Ok(Interrupt {
            #[cfg(unix)]
            signal: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?,
            #[cfg(windows)]
            signal: tokio::signal::windows::ctrl_c()?,
        })
    }

    async fn recv(&mut self) {
        let _ = self.signal.recv().await;
    }
}

/// Asks whether the server shows `verification` too: on a terminal a y/n
/// question, else one line of standard input (`yes`/`no`). `None` when
/// standard input closes first.
fn ask(verification: &str, json: bool) -> Option<bool> {
    use std::io::{BufRead, IsTerminal};
    let stdin = std::io::stdin();
    let terminal = stdin.is_terminal();
    loop {
        if terminal && !json {
            eprint!("Does the server show {verification}? [y/n] ");
            let _ = std::io::stderr().flush();
        }
        let mut line = String::new();
        match stdin.lock().read_line(&mut line) {
            Ok(0) | Err(_) => return None,
            Ok(_) => {}
        }
        match line.trim().to_ascii_lowercase().as_str() {
            "y" | "yes" => return Some(true),
            "n" | "no" => return Some(false),
            _ if terminal => eprintln!("Please answer y (it shows {verification}) or n."),
            _ => return Some(false),
        }
    }
}

async fn pair_with(
    backend: &Backend,
    json: bool,
    yes: bool,
    network_timeout: Duration,
) -> anyhow::Result<()> {
    let peer = &backend.peer;
    if !peer.wait_for_network(network_timeout).await {
        return Err(Fail {
            code: exit_code::NO_NETWORK,
            message: format!(
                "no Waku peer could be reached in {} s; check [network] bootstrap in the settings",
                network_timeout.as_secs()
            ),
        }
        .into());
    }
    let mut handle = peer
        .offer_pairing()
        .await
        .map_err(|e| anyhow::anyhow!("cannot start pairing: {e}"))?;
    // Listen for Ctrl-C before the code is shown: someone may press it as
    // soon as they see it.
    let mut interrupt = Interrupt::new()?;
    let code = handle.code.to_display_string();
    let command = format!("nodepair-manager pair {code}");
    if json {
        print_json(&serde_json::json!({
            "type": "code",
            "code": code,
            "qr": handle.code.qr_payload(),
            "command": command,
        }))?;
    } else {
        let mut out = std::io::stdout().lock();
        writeln!(out, "Pairing code: {code}")?;
        write!(out, "{}", qr_for_terminal(&handle.code.qr_payload()))?;
        writeln!(out, "\nOn the server, run:\n\n    {command}\n")?;
        out.flush()?;
    }
    let mut answer: Option<tokio::task::JoinHandle<Option<bool>>> = None;
    loop {
        let update = tokio::select! {
            u = handle.next() => u,
            got = async { answer.as_mut().expect("guarded").await }, if answer.is_some() => {
                answer = None;
                match got.ok().flatten() {
                    Some(matches) => {
                        handle.confirm(matches).await;
                        continue;
                    }
                    None => {
                        handle.cancel().await;
                        anyhow::bail!(
                            "no answer to whether the server shows the same verification string (standard input closed); pairing cancelled, the manager was told. Answer `yes` or `no`, or pass --yes to pair without comparing"
                        );
                    }
                }
            }
            () = interrupt.recv() => {
                handle.cancel().await;
                anyhow::bail!("pairing cancelled");
            }
        };
        let Some(update) = update else {
            anyhow::bail!("the app stopped during pairing");
        };
        // Said in the window's words; "answered" comes with the comparison.
        let step = match update.phase() {
            Some(PairingPhase::Confirmed) if yes => {
                Some("confirmed without comparing (--yes); waiting for the server to confirm too")
            }
            Some(
                phase @ (PairingPhase::Connecting
                | PairingPhase::Waiting
                | PairingPhase::Answered
                | PairingPhase::Confirmed),
            ) => Some(phase.describe(Role::App)),
            _ => None,
        };
        if let Some(step) = step {
            if json {
                print_json(&serde_json::json!({"type": "progress", "step": step}))?;
            } else {
                eprintln!("… {step}");
            }
            continue;
        }
        match update {
            PairingUpdate::Compare {
                counterparty,
                verification,
            } => {
                let name = nodepair_protocol::hello::printable(&counterparty.display_name, 64);
                if json {
                    print_json(&serde_json::json!({
                        "type": "compare",
                        "manager": {
                            "name": name,
                            "fingerprint": counterparty.static_key.fingerprint(),
                            "node_id": counterparty.node_id.0.to_string(),
                        },
                        "verification": verification,
                    }))?;
                } else {
                    println!(
                        "the manager {name} (key {}) answered\nverification: {verification}  (compare it with the server's screen)",
                        counterparty.static_key.fingerprint()
                    );
                }
                if yes {
                    handle.confirm(true).await;
                } else {
                    answer = Some(tokio::task::spawn_blocking(move || {
                        ask(&verification, json)
                    }));
                }
            }
            PairingUpdate::Paired {
                counterparty,
                verification,
            } => {
                if json {
                    print_json(&serde_json::json!({
                        "type": "paired",
                        "manager": manager_json(&counterparty),
                        "verification": verification,
                    }))?;
                } else {
                    println!(
                        "paired with {} (key {})\nverification: {verification}",
                        nodepair_protocol::hello::printable(&counterparty.display_name, 64),
                        counterparty.public_key.fingerprint()
                    );
                }
                return Ok(());
            }
            PairingUpdate::Failed(why) => {
                let code = why.kind().exit_code();
                return Err(Fail {
                    code,
                    message: why.to_string(),
                }
                .into());
            }
            _ => {}
        }
    }
}

/// The managers as stored (nothing connected: this command opens no session).
fn stored_views(settings: &Settings) -> anyhow::Result<Vec<CounterpartyView>> {
    let options = keystore_options(settings, Ask::Terminal)?;
    let selected =
        nodepair_keystore::select::select(&options, nodepair_keystore::passphrase::process_env)?;
    let mut views: Vec<_> = Counterparty::load_all(&*selected.store)?
        .iter()
        .map(CounterpartyView::at_rest)
        .collect();
    views.sort_by(|a, b| a.name().cmp(b.name()));
    Ok(views)
}

fn managers(settings: &Settings, json: bool) -> anyhow::Result<()> {
    let views = stored_views(settings)?;
    if json {
        let all: Vec<_> = views.iter().map(manager_json).collect();
        return Ok(print_json(&serde_json::json!({ "managers": all }))?);
    }
    let mut out = std::io::stdout().lock();
    if views.is_empty() {
        writeln!(out, "no paired managers; pair one with `nodepair pair`")?;
        return Ok(());
    }
    writeln!(
        out,
        "{:<24} {:<36} {:<10} {:<22}",
        "NAME", "NODE ID", "STATE", "LAST SEEN"
    )?;
    for v in &views {
        let seen = v.last_seen.map_or_else(|| "never".to_owned(), when);
        writeln!(
            out,
            "{:<24} {:<36} {:<10} {:<22}",
            shown(v),
            v.node_id.0,
            v.state.as_str(),
            seen
        )?;
    }
    Ok(())
}

/// A manager's name as a terminal may show it: control and invisible
/// characters escaped, at most 64 characters.
fn shown(v: &CounterpartyView) -> String {
    nodepair_protocol::hello::printable(v.name(), 64)
}

fn when(unix: u64) -> String {
    i64::try_from(unix)
        .ok()
        .and_then(|s| jiff::Timestamp::from_second(s).ok())
        .map_or_else(
            || unix.to_string(),
            |t| t.strftime("%Y-%m-%d %H:%M UTC").to_string(),
        )
}

/// How long `unpair` waits for the manager to come online so it can be told.
const UNPAIR_WAIT: Duration = Duration::from_secs(8);

async fn unpair(settings: &Settings, who: &str, json: bool) -> anyhow::Result<()> {
    let backend = Backend::start(settings, Ask::Terminal).await?;
    let result = async {
        let views = backend.peer.counterparties().await;
        let target = nodepair_peer::find(&views, who)?.clone();
        // Give it a moment to connect, so it can be told now.
        let deadline = tokio::time::Instant::now() + UNPAIR_WAIT;
        while tokio::time::Instant::now() < deadline {
            let online = backend
                .peer
                .counterparties()
                .await
                .iter()
                .any(|v| v.public_key == target.public_key && v.state == NodeState::Online);
            if online {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let told = match backend.peer.revoke(target.public_key).await {
            Revocation::Told => true,
            Revocation::WillBeTold => false,
            Revocation::NotPaired => anyhow::bail!("{} is no longer paired", shown(&target)),
            Revocation::Failed(e) => anyhow::bail!("cannot unpair {}: {e}", shown(&target)),
        };
        if json {
            print_json(&serde_json::json!({"type": "unpaired", "name": target.name(), "told": told}))?;
        } else if told {
            println!("unpaired {}; it was told and forgot this app too", shown(&target));
        } else {
            println!(
                "unpaired {}; it is not reachable now and will be told the next time this app connects",
                shown(&target)
            );
        }
        Ok(())
    }
    .await;
    backend.shutdown().await;
    result
}
