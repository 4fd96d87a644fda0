//! `nodepair-manager config`: check the configuration and show it.

use super::GlobalArgs;
use crate::config::{Config, Source};
use clap::Args;
use std::io::Write;

/// Check the configuration and print it as the manager will use it.
#[derive(Debug, Args)]
pub(crate) struct ConfigCmd {}

impl ConfigCmd {
    pub(crate) fn run(self, global: &GlobalArgs) -> anyhow::Result<()> {
        let (config, source) = Config::load(global.config.as_deref())?;
        // What `run` would refuse, refused here too: a keymanager token
        // file others can read (exit 78). The token itself is dropped.
        if config
            .capabilities
            .iter()
            .any(|c| c == nodepair_protocol::api::validators::CAPABILITY)
            && let Some(file) = &config.validators.token_file
        {
            crate::validators::settings::read_token(file)?;
        }
        let mut out = std::io::stdout().lock();
        match &source {
            Source::File(path) => writeln!(out, "# from {}", path.display())?,
            Source::Defaults { looked_at } => {
                writeln!(out, "# built-in defaults: no configuration file at")?;
                for path in looked_at {
                    writeln!(out, "#   {}", path.display())?;
                }
            }
        }
        write!(out, "{}", config.to_toml())?;
        Ok(())
    }
}
