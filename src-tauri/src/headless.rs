//! `nodepair pair | join | add-computer | cut-off | managers | unpair | status | alerts | ask`: the app from a terminal or a script, through the running app when there is one, else on its own.

use crate::backend::{AlreadyRunning, Ask, Backend, keystore_options};
use crate::control::{self, Reply, Request};
use crate::printer::Printer;
use crate::serve::{self, Asker, exit};
use crate::settings::{Settings, SettingsError};
use crate::status::StatusReport;
use clap::{Parser, Subcommand};
use nodepair_keystore::{Counterparty, Identity};
use nodepair_peer::{CounterpartyView, exit_code};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// NodePair: pair with node managers, then watch and operate their nodes.
/// Without a subcommand it opens the desktop app. While the app runs, the
/// commands go through it (its control socket); otherwise they run on
/// their own.
#[derive(Debug, Parser)]
#[command(name = "nodepair", version, about, long_about = None)]
pub struct Cli {
    /// Settings file [default: $XDG_CONFIG_HOME/nodepair/app.toml, else built-in defaults]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Start in the tray without showing the window (what starting at
    /// login does); shown anyway where there is no tray.
    #[arg(long)]
    pub hidden: bool,
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
        #[arg(long, value_name = "SECONDS", default_value_t = 20, value_parser = clap::value_parser!(u64).range(0..=86_400))]
        network_timeout: u64,
    },
    /// Add this computer to the managers of one already paired: show an
    /// introduction code to type there (`nodepair add-computer`), compare
    /// the verification string, and exit 0 once the managers that allow
    /// it were handed over and stored.
    Join {
        /// One JSON object per line instead of text.
        #[arg(long)]
        json: bool,
        /// Confirm the verification string without asking (scripts).
        #[arg(long, short = 'y')]
        yes: bool,
        /// Seconds to wait for a first Waku peer before giving up (exit 69).
        #[arg(long, value_name = "SECONDS", default_value_t = 20, value_parser = clap::value_parser!(u64).range(0..=86_400))]
        network_timeout: u64,
    },
    /// Add another computer of yours: answer the code `nodepair join`
    /// shows there, compare the verification string, and introduce that
    /// computer to every paired manager whose operator allows
    /// introductions (it gets at most this app's grant). Says, per
    /// manager, whether it was introduced, refused or not reachable.
    AddComputer {
        /// The code the new computer shows. Leave it out to type it at a
        /// prompt, which keeps it out of the process list.
        code: Option<String>,
        /// One JSON object per line instead of text.
        #[arg(long)]
        json: bool,
        /// Confirm the verification string without asking (scripts).
        #[arg(long, short = 'y')]
        yes: bool,
        /// Seconds to wait for a first Waku peer before giving up (exit 69).
        #[arg(long, value_name = "SECONDS", default_value_t = 20, value_parser = clap::value_parser!(u64).range(0..=86_400))]
        network_timeout: u64,
    },
    /// Cut off a lost or stolen computer of yours (its name, key or
    /// fingerprint) from every manager where it was introduced by, or
    /// introduced, one of your computers: each manager online unpairs it at
    /// once and its sessions end; one not reachable now is told the next
    /// time this app connects to it. Exit 67 if no manager knows it.
    CutOff {
        /// The computer.
        who: String,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
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
    /// Make a new static key and move every paired manager to it, without
    /// pairing again: each is told over its session, with proof that this
    /// app holds the new key; one offline now is told when it next
    /// connects. The old key is retired once every manager has moved, or
    /// after 14 days (one not moved by then must be paired again).
    RotateKey {
        /// Seconds to report managers moving before returning (the rotation
        /// goes on while the app runs).
        #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(0..=86_400))]
        wait: u64,
        /// One JSON object per line instead of text.
        #[arg(long)]
        json: bool,
    },
    /// This app's identity, keystore and Waku network (preset, mode, peers,
    /// service nodes), and its managers.
    Status {
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// The alerts the managers reported: those open (worst first), or all
    /// kept. From the running app, else as it last saw them. Acknowledge
    /// one with `nodepair ask <manager> alerts.ack '{"id": N}'`, mute it
    /// with `alerts.mute '{"id": N, "for_secs": 3600}'`.
    Alerts {
        /// Resolved alerts too.
        #[arg(long)]
        all: bool,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Ask a manager one of its methods and print the answer as JSON
    /// (exit 0 when it answered, else a code saying why: 64 unknown method,
    /// 65 bad request, 67 no such manager, 69 unreachable, 75 try again,
    /// 77 not allowed there).
    Ask {
        /// Which manager (by name, or the start of its node id or key).
        manager: String,
        /// The method, e.g. `host.health`, `eth.status`, `services.list`.
        method: String,
        /// Its request as JSON [default: {}].
        request: Option<String>,
        /// Seconds to wait for the manager to come online.
        #[arg(long, value_name = "SECONDS", default_value_t = 20, value_parser = clap::value_parser!(u64).range(0..=86_400))]
        timeout: u64,
    },
}

/// A failure with its exit code.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
struct Fail {
    code: u8,
    message: String,
}

impl Fail {
    fn error(code: u8, message: impl Into<String>) -> anyhow::Error {
        Fail {
            code,
            message: message.into(),
        }
        .into()
    }
}

/// Runs `command` to completion.
pub fn run(config: Option<PathBuf>, command: Command) -> ExitCode {
    let result = (|| -> anyhow::Result<()> {
        // What can be refused before anything else is.
        let request = request(&command)?;
        let settings = Settings::load(config.as_deref())?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let result = runtime.block_on(async {
            let out = printer_for(&command);
            match control::connect(&settings.data_dir()).await? {
                Some(mut client) => {
                    // What only reads may be answered without the app when
                    // it goes away mid-way (it was quitting): nothing was
                    // done, and the stored state answers.
                    let read_only = matches!(
                        request,
                        Request::Managers | Request::Status | Request::Alerts { .. }
                    );
                    let result = match client.send(&request).await {
                        Ok(()) => converse(Conversation::Remote(client), &out).await,
                        Err(e) => Err(anyhow::anyhow!("cannot talk to the running app: {e}")),
                    };
                    match result {
                        Err(e) if read_only && e.downcast_ref::<Fail>().is_none() => {
                            eprintln!(
                                "the running app went away ({e:#}); answering from what is stored"
                            );
                            standalone(&settings, request, &out).await
                        }
                        other => other,
                    }
                }
                None => standalone(&settings, request, &out).await,
            }
        });
        // Not waiting for what cannot end (a prompt still reading input).
        runtime.shutdown_background();
        result
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
            ExitCode::from(code.unwrap_or(exit_code::FAILURE))
        }
    }
}

/// The request `command` makes, checked as far as it can be here: a method
/// NodePair does not know (exit 64) or a request that is not JSON (exit 65)
/// never leaves this process.
fn request(command: &Command) -> anyhow::Result<Request> {
    Ok(match command {
        Command::Pair {
            yes,
            network_timeout,
            ..
        } => Request::Pair {
            network_timeout_secs: *network_timeout,
            yes: *yes,
        },
        Command::Join {
            yes,
            network_timeout,
            ..
        } => Request::Join {
            network_timeout_secs: *network_timeout,
            yes: *yes,
        },
        Command::AddComputer {
            code,
            yes,
            network_timeout,
            ..
        } => {
            let code = match code {
                Some(code) => code.clone(),
                None => read_code()?,
            };
            // Refused here, before anything starts.
            if let Err(e) = nodepair_protocol::PairingCode::parse(&code) {
                return Err(Fail::error(
                    exit::USAGE,
                    format!("{e}; nothing was started"),
                ));
            }
            Request::AddComputer {
                code,
                network_timeout_secs: *network_timeout,
                yes: *yes,
            }
        }
        Command::CutOff { who, .. } => Request::CutOff { who: who.clone() },
        Command::Managers { .. } => Request::Managers,
        Command::Unpair { who, .. } => Request::Unpair { who: who.clone() },
        Command::Status { .. } => Request::Status,
        Command::RotateKey { wait, .. } => Request::RotateKey { wait_secs: *wait },
        Command::Alerts { all, .. } => Request::Alerts { all: *all },
        Command::Ask {
            manager,
            method,
            request,
            timeout,
        } => {
            if let Err(Reply::Error { exit, message, .. }) = serve::method(method) {
                return Err(Fail::error(exit, message));
            }
            let request = match request.as_deref() {
                None => serde_json::json!({}),
                Some(text) => serde_json::from_str(text).map_err(|e| {
                    Fail::error(
                        exit::DATA,
                        format!("the request is not valid JSON ({e}); nothing was sent"),
                    )
                })?,
            };
            Request::Ask {
                manager: manager.clone(),
                method: method.clone(),
                request,
                timeout_secs: *timeout,
            }
        }
    })
}

/// Without a running app: `managers` and `status` read the keystore, the
/// others start the app's peer for as long as they take.
async fn standalone(settings: &Settings, request: Request, out: &Printer) -> anyhow::Result<()> {
    match request {
        Request::Managers => {
            let (_, views, _) = stored(settings)?;
            finish(
                out,
                Reply::Managers {
                    managers: views.iter().map(serve::manager_json).collect(),
                },
            )
        }
        Request::Status => {
            let (identity, views, keystore) = stored(settings)?;
            let key = identity.as_ref().map(|id| {
                nodepair_protocol::StaticKeypair::from_secret(*id.static_secret).public()
            });
            finish(
                out,
                Reply::Status {
                    status: Box::new(StatusReport {
                        display_name: settings.display_name.clone(),
                        node_id: identity
                            .as_ref()
                            .map(|id| uuid::Uuid::from_bytes(id.node_id).to_string()),
                        public_key: key.map(|k| k.to_string()),
                        fingerprint: key.map(|k| k.fingerprint()),
                        keystore,
                        running: false,
                        network: crate::status::network_settings(settings),
                        managers: views.iter().map(serve::manager_json).collect(),
                    }),
                },
            )
        }
        Request::Alerts { all } => finish(
            out,
            Reply::Alerts {
                running: false,
                alerts: crate::alert_delivery::seen(&settings.data_dir(), all),
            },
        ),
        request => {
            let backend = std::sync::Arc::new(Backend::start(settings, Ask::Terminal).await?);
            let (replies_tx, replies) = tokio::sync::mpsc::unbounded_channel();
            let (answers, answers_rx) = tokio::sync::mpsc::channel(4);
            let (gone, gone_rx) = tokio::sync::watch::channel(false);
            let serving = std::sync::Arc::clone(&backend);
            let task = tokio::spawn(async move {
                let mut sink = move |reply: Reply| {
                    let _ = replies_tx.send(reply);
                };
                let asker = Asker {
                    gone: gone_rx,
                    answers: answers_rx,
                };
                serve::handle(&serving, request, &mut sink, asker).await;
            });
            let result = converse(
                Conversation::Local {
                    replies,
                    answers,
                    gone,
                },
                out,
            )
            .await;
            let _ = task.await;
            if let Ok(backend) = std::sync::Arc::try_unwrap(backend) {
                backend.shutdown().await;
            }
            result
        }
    }
}

/// The identity (if one was made), the managers as stored and where the
/// keys are: nothing connected, this opens no session.
fn stored(
    settings: &Settings,
) -> anyhow::Result<(Option<Identity>, Vec<CounterpartyView>, String)> {
    let options = keystore_options(settings, Ask::Terminal)?;
    let selected =
        nodepair_keystore::select::select(&options, nodepair_keystore::passphrase::process_env)?;
    let identity = Identity::load(&*selected.store)?;
    let mut views: Vec<_> = Counterparty::load_all(&*selected.store)?
        .iter()
        .map(CounterpartyView::at_rest)
        .collect();
    views.sort_by(|a, b| a.name().cmp(b.name()));
    Ok((
        identity,
        views,
        format!("{} ({})", selected.location, selected.why),
    ))
}

/// Who answers: the running app over its socket, or this process's own.
enum Conversation {
    Remote(control::Client),
    Local {
        replies: tokio::sync::mpsc::UnboundedReceiver<Reply>,
        answers: tokio::sync::mpsc::Sender<bool>,
        gone: tokio::sync::watch::Sender<bool>,
    },
}

impl Conversation {
    async fn next(&mut self) -> anyhow::Result<Option<Reply>> {
        match self {
            Conversation::Remote(client) => client
                .next()
                .await
                .map_err(|e| anyhow::anyhow!("the running app's answer cannot be read: {e}")),
            Conversation::Local { replies, .. } => Ok(replies.recv().await),
        }
    }

    async fn confirm(&mut self, matches: bool) -> anyhow::Result<()> {
        match self {
            Conversation::Remote(client) => client
                .send(&Request::Confirm { matches })
                .await
                .map_err(|e| anyhow::anyhow!("cannot talk to the running app: {e}")),
            Conversation::Local { answers, .. } => {
                let _ = answers.send(matches).await;
                Ok(())
            }
        }
    }

    /// Says we are leaving: a pairing is cancelled, and its last word
    /// still comes.
    async fn leave(&mut self) {
        match self {
            Conversation::Remote(client) => client.leave().await,
            Conversation::Local { gone, .. } => {
                let _ = gone.send(true);
            }
        }
    }
}

/// Prints what comes back until the final answer, asking the person what
/// the pairing asks.
async fn converse(mut conversation: Conversation, out: &Printer) -> anyhow::Result<()> {
    // Listen for Ctrl-C before the code is shown: someone may press it as
    // soon as they see it.
    let mut interrupt = Interrupt::new()?;
    let mut answer: Option<tokio::sync::oneshot::Receiver<Option<bool>>> = None;
    let mut stdin_closed = false;
    let mut left = false;
    loop {
        let reply = tokio::select! {
            r = conversation.next() => r?,
            got = async { answer.as_mut().expect("guarded").await }, if answer.is_some() => {
                answer = None;
                match got.ok().flatten() {
                    Some(matches) => conversation.confirm(matches).await?,
                    None => {
                        stdin_closed = true;
                        conversation.leave().await;
                        left = true;
                    }
                }
                continue;
            }
            () = interrupt.recv(), if !left => {
                conversation.leave().await;
                left = true;
                continue;
            }
        };
        let Some(reply) = reply else {
            // Not an answer of the app's: a command that only reads falls
            // back to what is stored.
            return Err(anyhow::anyhow!(
                "the running app closed the connection without an answer"
            ));
        };
        if let Reply::Error {
            message,
            exit,
            kind,
        } = &reply
        {
            if out.json {
                let line = serde_json::json!({"type": "error", "kind": kind, "exit": exit, "message": message});
                println!("{line}");
            }
            let message = if stdin_closed {
                "no answer to whether the server shows the same verification string (standard input closed); pairing cancelled, the manager was told. Answer `yes` or `no`, or pass --yes to pair without comparing".to_owned()
            } else {
                message.clone()
            };
            return Err(Fail::error(*exit, message));
        }
        let last = !matches!(
            reply,
            Reply::Code { .. }
                | Reply::JoinCode { .. }
                | Reply::Progress { .. }
                | Reply::Compare { .. }
                | Reply::CompareComputer { .. }
        );
        out.print(&reply)?;
        let other = match &reply {
            Reply::Compare { verification, .. } => Some((verification, "the server")),
            Reply::CompareComputer { verification, .. } => {
                Some((verification, "the other computer"))
            }
            _ => None,
        };
        if let Some((verification, other)) = other
            && !out.yes
        {
            // On a thread of its own, never joined: a read of standard input
            // cannot be cancelled, and the command must be able to end (the
            // server said no, the code expired, Ctrl-C) while it waits.
            let (verification, json) = (verification.clone(), out.json);
            let (tell, told) = tokio::sync::oneshot::channel();
            std::thread::spawn(move || {
                let _ = tell.send(ask(&verification, json, other));
            });
            answer = Some(told);
        }
        if last {
            return Ok(());
        }
    }
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

/// Reads the code from standard input (after a prompt on a terminal).
fn read_code() -> anyhow::Result<String> {
    use std::io::{BufRead, IsTerminal};
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("Code shown by the new computer: ");
        let _ = std::io::stderr().flush();
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .map_err(|e| anyhow::anyhow!("cannot read the code: {e}"))?;
    Ok(line.trim().to_owned())
}

/// Asks whether `other` (the server, the other computer) shows `verification` too: on a terminal a y/n
/// question, else one line of standard input (`yes`/`no`). `None` when
/// standard input closes first.
fn ask(verification: &str, json: bool, other: &str) -> Option<bool> {
    use std::io::{BufRead, IsTerminal};
    let stdin = std::io::stdin();
    let terminal = stdin.is_terminal();
    loop {
        if terminal && !json {
            eprint!("Does {other} show {verification}? [y/n] ");
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

/// How `command` prints its replies.
fn printer_for(command: &Command) -> Printer {
    match command {
        Command::Pair { json, yes, .. }
        | Command::Join { json, yes, .. }
        | Command::AddComputer { json, yes, .. } => Printer {
            json: *json,
            yes: *yes,
        },
        Command::Managers { json }
        | Command::CutOff { json, .. }
        | Command::Unpair { json, .. }
        | Command::RotateKey { json, .. }
        | Command::Status { json }
        | Command::Alerts { json, .. } => Printer {
            json: *json,
            yes: false,
        },
        // The answer is JSON whatever; a failure goes to standard error
        // only, so a script reading the answer never reads one.
        Command::Ask { .. } => Printer {
            json: false,
            yes: false,
        },
    }
}

/// Prints the final `reply`, or fails with its error.
fn finish(out: &Printer, reply: Reply) -> anyhow::Result<()> {
    if let Reply::Error { exit, message, .. } = reply {
        return Err(Fail::error(exit, message));
    }
    out.print(&reply)?;
    Ok(())
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
