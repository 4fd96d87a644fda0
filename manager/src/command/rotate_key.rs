//! `nodepair-manager rotate-key`: move every paired app to a new static key, without pairing again.

use super::{GlobalArgs, Output};
use crate::config::Config;
use crate::control::{self, Request};
use crate::runtime::Runtime;
use crate::serve;
use clap::Args;

/// Make a new static key and move every paired app to it, without pairing
/// again. Each app is told over its session, with proof that the manager
/// holds the new key; an app offline now is told when it next connects. The
/// old key is retired once every app has moved, or after 14 days (an app
/// that has not moved by then must be paired again). Asks a running daemon;
/// without one, runs the manager's node until the apps online have moved or
/// --wait is over, and the daemon goes on with the rest at its next start.
#[derive(Debug, Args)]
pub(crate) struct RotateKeyCmd {
    /// Seconds to report apps moving before returning, sooner once all
    /// have (the rotation goes on).
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(0..=86_400))]
    wait: u64,
    /// One JSON object per line instead of text.
    #[arg(long)]
    json: bool,
}

impl RotateKeyCmd {
    pub(crate) fn run(self, global: &GlobalArgs) -> anyhow::Result<()> {
        let (config, _) = Config::load(global.config.as_deref())?;
        let out = Output { json: self.json };
        let request = Request::RotateKey {
            wait_secs: self.wait,
        };
        super::runtime()?.block_on(async move {
            if let Some(mut client) = control::connect(&config.state_dir()).await? {
                client.send(&request).await?;
                return super::relay_replies(&mut client, &out).await;
            }
            if !out.json {
                eprintln!("(no manager daemon is running; rotating without it)");
            }
            let runtime = Runtime::start(config, false).await?;
            let (left, gone) = tokio::sync::watch::channel(false);
            let (asker, _) = serve::Asker::new(gone);
            let interrupt = tokio::spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    let _ = left.send(true);
                }
            });
            let mut result = Ok(());
            let mut sink = |reply| {
                if result.is_ok() {
                    result = out.reply(&reply);
                }
            };
            serve::handle(&runtime, request, &mut sink, asker).await;
            interrupt.abort();
            runtime.shutdown().await;
            result
        })
    }
}
