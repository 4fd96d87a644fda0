//! `nodepair-manager pair`: pair with the app showing a code.

use super::{GlobalArgs, Output};
use crate::config::Config;
use crate::control::{self, ErrorKind, Reply, Request};
use crate::exit::Reported;
use crate::runtime::Runtime;
use crate::serve;
use anyhow::Context;
use clap::Args;
use std::io::{BufRead, IsTerminal, Write};

/// Pair with the NodePair app that shows CODE. Asks a running daemon to do
/// it; without one, pairs by itself and exits once the first session is up.
/// Once the app answers, both show a verification string: `pair` asks
/// whether the app shows the same one, and nothing is stored before you
/// say yes.
#[derive(Debug, Args)]
pub(crate) struct PairCmd {
    /// The code the app shows (e.g. `7KQ2-M9XD-4RTA`). Leave it out to type
    /// it at a prompt, which keeps it out of the process list.
    code: Option<String>,
    /// One JSON object per line instead of text.
    #[arg(long)]
    json: bool,
    /// Confirm the verification string without asking (scripts). Without a
    /// terminal and without `--yes`, the answer is read as a line from
    /// standard input: `yes` or `no`.
    #[arg(long, short = 'y')]
    yes: bool,
    /// Seconds to wait for a first Waku peer before giving up (exit 69).
    #[arg(long, value_name = "SECONDS", default_value_t = 20)]
    network_timeout: u64,
    /// Grant the app only these of the configured capabilities (e.g.
    /// `host,logs`; `info` goes with any grant). Without it the app may use
    /// everything `capabilities` in the configuration lists. Change it later
    /// with `nodepair-manager grant`.
    #[arg(long, value_name = "CAPABILITIES", value_delimiter = ',')]
    grant: Option<Vec<String>>,
}

impl PairCmd {
    pub(crate) fn run(self, global: &GlobalArgs) -> anyhow::Result<()> {
        let (config, _) = Config::load(global.config.as_deref())?;
        let out = Output { json: self.json };
        // A grant of what is not offered is refused before the code is
        // asked for, let alone used.
        if let Some(grant) = &self.grant
            && let Err(e) = nodepair_protocol::grants::check(&config.capabilities, grant)
        {
            return out.reply(&Reply::Error {
                kind: ErrorKind::Invalid,
                message: format!("nothing was started: {e}"),
            });
        }
        let code = match self.code {
            Some(code) => code,
            None => read_code()?,
        };
        let request = Request::Pair {
            code,
            network_timeout_secs: self.network_timeout,
            yes: self.yes,
            grants: self.grant,
        };
        super::runtime()?.block_on(async move {
            if let Some(mut client) = control::connect(&config.state_dir()).await? {
                client.send(&request).await?;
                return relay(&mut client, &out, ask).await;
            }
            // No daemon: pair by ourselves. A typo is caught before any network.
            if let Request::Pair { code, .. } = &request
                && let Err(e) = nodepair_protocol::PairingCode::parse(code)
            {
                return out.reply(&Reply::Error {
                    kind: ErrorKind::BadCode,
                    message: format!(
                        "that is not a valid pairing code: {e}; check it against the app"
                    ),
                });
            }
            if !out.json {
                eprintln!("(no manager daemon is running; pairing without it)");
            }
            let runtime = Runtime::start(config, false).await?;
            // Ctrl-C cancels the pairing (and tells the app) before exiting,
            // and so does standard input closing before the question is
            // answered.
            let (left, gone) = tokio::sync::watch::channel(false);
            let (asker, answers) = serve::Asker::new(gone);
            let interrupt = {
                let left = left.clone();
                tokio::spawn(async move {
                    if tokio::signal::ctrl_c().await.is_ok() {
                        let _ = left.send(true);
                    }
                })
            };
            let mut result = Ok(());
            let mut sink = |reply: Reply| {
                if result.is_err() {
                    return;
                }
                result = out.reply(&reply);
                if let Reply::Compare { verification, .. } = &reply {
                    let (answers, left) = (answers.clone(), left.clone());
                    let verification = verification.clone();
                    let json = out.json;
                    tokio::task::spawn_blocking(move || match ask(&verification, json) {
                        Some(matches) => {
                            let _ = answers.blocking_send(matches);
                        }
                        None => {
                            let _ = left.send(true);
                        }
                    });
                }
            };
            serve::handle(&runtime, request, &mut sink, asker).await;
            interrupt.abort();
            runtime.shutdown().await;
            result
        })
    }
}

/// Prints the daemon's replies until its final one, answering its
/// question with `ask`; a daemon that goes away before answering is an
/// error.
async fn relay(
    client: &mut control::Client,
    out: &Output,
    ask: fn(&str, bool) -> Option<bool>,
) -> anyhow::Result<()> {
    while let Some(reply) = client.next().await? {
        out.reply(&reply)?;
        match &reply {
            Reply::Progress { .. } => {}
            Reply::Compare { verification, .. } => {
                let verification = verification.clone();
                let json = out.json;
                let answer = tokio::task::spawn_blocking(move || ask(&verification, json))
                    .await
                    .context("cannot read the answer")?;
                match answer {
                    Some(matches) => {
                        // The pairing may have ended while we asked (the
                        // code leaked, the app said no): the daemon then
                        // sent its last reply and closed, so a failed send
                        // is not the story; that reply, read next, is.
                        if let Err(e) = client.send(&Request::Confirm { matches }).await {
                            return match client.next().await {
                                Ok(Some(last)) => out.reply(&last),
                                _ => Err(e.context(
                                    "the manager daemon stopped before it took the answer",
                                )),
                            };
                        }
                    }
                    // Closing the connection cancels the pairing.
                    None => return Err(no_answer().into()),
                }
            }
            _ => return Ok(()),
        }
    }
    anyhow::bail!("the manager daemon stopped before it answered")
}

fn no_answer() -> Reported {
    Reported {
        kind: ErrorKind::Failed,
        message: "no answer to whether the app shows the same verification string (standard input closed); pairing cancelled, the app was told. Answer `yes` or `no`, or pass --yes to pair without comparing".into(),
    }
}

/// Asks whether the app shows `verification` too: on a terminal a y/n
/// question, else one line of standard input (`yes`/`no`). `None` when
/// standard input closes first.
fn ask(verification: &str, json: bool) -> Option<bool> {
    let stdin = std::io::stdin();
    let terminal = stdin.is_terminal();
    loop {
        if terminal && !json {
            eprint!("Does the app show {verification}? [y/n] ");
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
            // A script that answers something else is not a yes.
            _ => return Some(false),
        }
    }
}

fn read_code() -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("Pairing code shown by the app: ");
    }
    let mut line = String::new();
    stdin.read_line(&mut line).context("cannot read the code")?;
    Ok(line.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::ComparedApp;
    use tokio::io::AsyncWriteExt;

    /// The code leaks while the operator reads the digits: the daemon sends
    /// its last reply and closes before the answer is written. The operator
    /// is told why (exit 77), not "Broken pipe" (exit 1), as CI once saw.
    #[tokio::test]
    async fn a_pairing_that_ends_while_the_operator_answers_reports_why() {
        let (client, mut daemon) = tokio::net::UnixStream::pair().unwrap();
        for reply in [
            Reply::Compare {
                app: Box::new(ComparedApp {
                    name: "laptop".into(),
                    node_id: "node".into(),
                    fingerprint: "19d8-0204-bf85-f3e1".into(),
                }),
                verification: "691 812".into(),
            },
            Reply::Error {
                kind: ErrorKind::AnsweredTwice,
                message: "two apps answered this code".into(),
            },
        ] {
            let mut line = serde_json::to_vec(&reply).unwrap();
            line.push(b'\n');
            daemon.write_all(&line).await.unwrap();
        }
        drop(daemon);
        let mut client = control::Client::from_stream(client);
        let error = relay(&mut client, &Output { json: true }, |_, _| Some(true))
            .await
            .unwrap_err();
        let reported = error
            .downcast_ref::<Reported>()
            .unwrap_or_else(|| panic!("not the daemon's reason: {error:#}"));
        assert_eq!(reported.kind, ErrorKind::AnsweredTwice, "{error:#}");
    }
}
