//! `nodepair-manager pair`: pair with the app showing a code.

use super::{GlobalArgs, Output};
use crate::config::Config;
use crate::control::{self, Reply, Request};
use crate::runtime::Runtime;
use crate::serve;
use anyhow::Context;
use clap::Args;
use std::io::IsTerminal;

/// Pair with the NodePair app that shows CODE. Asks a running daemon to do
/// it; without one, pairs by itself and exits once the first session is up.
#[derive(Debug, Args)]
pub(crate) struct PairCmd {
    /// The code the app shows (e.g. `7KQ2-M9XD-4RTA`). Leave it out to type
    /// it at a prompt, which keeps it out of the process list.
    code: Option<String>,
    /// One JSON object per line instead of text.
    #[arg(long)]
    json: bool,
    /// Seconds to wait for a first Waku peer before giving up (exit 69).
    #[arg(long, value_name = "SECONDS", default_value_t = 20)]
    network_timeout: u64,
}

impl PairCmd {
    pub(crate) fn run(self, global: &GlobalArgs) -> anyhow::Result<()> {
        let (config, _) = Config::load(global.config.as_deref())?;
        let code = match self.code {
            Some(code) => code,
            None => read_code()?,
        };
        let out = Output { json: self.json };
        super::runtime()?.block_on(async move {
            let request = Request::Pair {
                code,
                network_timeout_secs: self.network_timeout,
            };
            if let Some(mut client) = control::connect(&config.state_dir()).await? {
                client.send(&request).await?;
                return super::relay_replies(&mut client, &out).await;
            }
            // No daemon: pair by ourselves. A typo is caught before any network.
            if let Request::Pair { code, .. } = &request
                && let Err(e) = nodepair_protocol::PairingCode::parse(code)
            {
                return out.reply(&Reply::Error {
                    kind: control::ErrorKind::BadCode,
                    message: format!(
                        "that is not a valid pairing code: {e}; check it against the app"
                    ),
                });
            }
            if !self.json {
                eprintln!("(no manager daemon is running; pairing without it)");
            }
            let runtime = Runtime::start(config).await?;
            let mut result = Ok(());
            let mut sink = |reply: Reply| {
                if result.is_ok() {
                    result = out.reply(&reply);
                }
            };
            // Ctrl-C cancels the pairing (and tells the app) before exiting.
            let (left, gone) = tokio::sync::watch::channel(false);
            let interrupt = tokio::spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    let _ = left.send(true);
                }
            });
            serve::handle(&runtime, request, &mut sink, gone).await;
            interrupt.abort();
            runtime.shutdown().await;
            result
        })
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
