//! `nodepair-manager alerts`: the alerts in the log, as they are now, read from the state directory (the daemon may be running: the log is only appended to).

use super::GlobalArgs;
use crate::alerts::alert_file::AlertFile;
use crate::config::Config;
use clap::Args;
use nodepair_protocol::api::alerts::Alert;
use std::collections::BTreeMap;
use std::io::Write;

/// List the alerts: those open, or all the log holds.
#[derive(Debug, Args)]
pub(crate) struct AlertsCmd {
    /// Resolved alerts too (all the log holds).
    #[arg(long)]
    all: bool,
    /// JSON instead of text.
    #[arg(long)]
    json: bool,
}

impl AlertsCmd {
    pub(crate) fn run(self, global: &GlobalArgs) -> anyhow::Result<()> {
        let (config, _) = Config::load(global.config.as_deref())?;
        let log = AlertFile::in_dir(&config.state_dir()).load()?;
        // Each alert as its last change leaves it, newest first.
        let mut latest: BTreeMap<u64, &Alert> = BTreeMap::new();
        for change in log.changes() {
            latest.insert(change.alert.id, &change.alert);
        }
        let shown: Vec<&Alert> = latest
            .into_values()
            .rev()
            .filter(|a| self.all || a.is_open())
            .collect();
        let mut out = std::io::stdout().lock();
        if self.json {
            let line = serde_json::json!({ "alerts": shown, "last_seq": log.last_seq() });
            writeln!(out, "{line}")?;
            return Ok(());
        }
        if shown.is_empty() {
            let what = if self.all {
                "no alerts in the log"
            } else {
                "no open alerts"
            };
            writeln!(out, "{what}")?;
            return Ok(());
        }
        let now = nodepair_peer::Clock::system().unix_millis();
        for alert in shown {
            writeln!(out, "{}", line(alert, now))?;
        }
        Ok(())
    }
}

/// One alert on one line (see [`Alert::line`]).
fn line(alert: &Alert, now_ms: u64) -> String {
    alert.line(now_ms, when)
}

/// A time in ms since the epoch as the operator reads it.
fn when(ms: u64) -> String {
    crate::keys::when(ms / 1000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nodepair_protocol::api::alerts::{Acknowledgement, Rule, Severity};

    #[test]
    fn a_line_says_what_since_when_and_who_saw_it_with_controls_and_bidi_escaped() {
        let alert = Alert {
            id: 3,
            rule: Rule::UnitDown,
            subject: "geth.service".into(),
            severity: Severity::Critical,
            summary: "geth.service is failed (failed)".into(),
            first_seen_ms: 1_790_000_000_000,
            last_seen_ms: 1_790_000_060_000,
            resolved_at_ms: None,
            readings: Vec::new(),
            acknowledged: Some(Acknowledgement {
                by: "lap\u{1b}[2J\u{202e}top".into(),
                at_ms: 1_790_000_100_000,
            }),
            muted_until_ms: Some(1_790_003_600_000),
            muted_by: Some("laptop".into()),
        };
        let text = line(&alert, 1_790_000_200_000);
        assert_eq!(
            text,
            "#3 CRITICAL unit_down geth.service is failed (failed) since 2026-09-21 14:13 UTC, acknowledged by lap\\u{1b}[2J\\u{202e}top 2026-09-21 14:15 UTC, muted until 2026-09-21 15:13 UTC by laptop"
        );
    }
}
