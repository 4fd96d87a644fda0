//! The alert log on disk: one change per line in the state directory, appended and flushed as each is recorded, written anew when the bound drops old ones.

use super::alert_log::{AlertLog, Stored};
use nodepair_protocol::api::alerts::AlertChange;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The log's file name in the state directory.
pub(crate) const FILE: &str = "alerts.jsonl";

/// Why the log could not be read or written.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AlertFileError {
    /// The file could not be read or written.
    #[error("cannot use the alert log {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line that is not a change, or changes out of order.
    #[error(
        "the alert log {path} is damaged at line {line}: {why}; move it away to start a new one"
    )]
    Damaged {
        /// The file.
        path: PathBuf,
        /// Which line (from 1).
        line: usize,
        /// What is wrong.
        why: String,
    },
}

/// The alert log's file.
#[derive(Debug)]
pub(crate) struct AlertFile {
    path: PathBuf,
    /// Set when an append may have left part of a line behind (a full
    /// disk): the next keep writes the whole log again.
    dirty: std::sync::atomic::AtomicBool,
}

impl AlertFile {
    /// The file in `state_dir`.
    pub(crate) fn in_dir(state_dir: &Path) -> AlertFile {
        AlertFile {
            path: state_dir.join(FILE),
            dirty: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Where it is.
    #[cfg(test)]
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    fn io(&self, source: std::io::Error) -> AlertFileError {
        AlertFileError::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// The log as the file holds it (empty when there is no file). A last
    /// line cut short (the machine lost power while it was written) is
    /// dropped, and cut from the file so the next change starts a line of
    /// its own; any other bad line is an error.
    ///
    /// # Errors
    ///
    /// [`AlertFileError`].
    pub(crate) fn load(&self) -> Result<AlertLog, AlertFileError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(self.io(e)),
        };
        let whole = text.rfind('\n').map_or(0, |end| end + 1);
        let lines: Vec<&str> = text[..whole].lines().collect();
        let mut changes = Vec::with_capacity(lines.len());
        for (n, line) in lines.iter().enumerate() {
            match serde_json::from_str::<AlertChange>(line) {
                Ok(change) => changes.push(change),
                Err(e) => {
                    return Err(AlertFileError::Damaged {
                        path: self.path.clone(),
                        line: n + 1,
                        why: e.to_string(),
                    });
                }
            }
        }
        if whole < text.len() {
            tracing::warn!(path = %self.path.display(), "the alert log's last line was cut short; dropped");
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(&self.path)
                .map_err(|e| self.io(e))?;
            file.set_len(whole as u64).map_err(|e| self.io(e))?;
            file.sync_data().map_err(|e| self.io(e))?;
        }
        AlertLog::from_changes(changes).map_err(|why| AlertFileError::Damaged {
            path: self.path.clone(),
            line: 0,
            why,
        })
    }

    /// Keeps the changes of one round, `stored`, already recorded in
    /// `log`: appended one line each, or, when one of them compacted the
    /// log (or an earlier append failed), the whole log written anew once
    /// (to a new file, then renamed over the old one).
    ///
    /// # Errors
    ///
    /// [`AlertFileError::Io`].
    pub(crate) fn keep(&self, stored: &[Stored], log: &AlertLog) -> Result<(), AlertFileError> {
        use std::sync::atomic::Ordering;
        let compacted = stored.iter().any(|s| matches!(s, Stored::Compacted(_)));
        let result = if compacted || self.dirty.load(Ordering::SeqCst) {
            self.rewrite(log)
        } else {
            self.append(stored)
        };
        self.dirty.store(result.is_err(), Ordering::SeqCst);
        result
    }

    fn append(&self, stored: &[Stored]) -> Result<(), AlertFileError> {
        if stored.is_empty() {
            return Ok(());
        }
        let mut lines = Vec::new();
        for change in stored {
            serde_json::to_writer(&mut lines, change.change()).map_err(|e| self.io(e.into()))?;
            lines.push(b'\n');
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| self.io(e))?;
        file.write_all(&lines).map_err(|e| self.io(e))?;
        file.sync_data().map_err(|e| self.io(e))
    }

    fn rewrite(&self, log: &AlertLog) -> Result<(), AlertFileError> {
        // The state directory is this manager's alone (its lock): the new
        // file's name is free.
        let next = self.path.with_extension("jsonl.new");
        let mut file = std::fs::File::create(&next).map_err(|e| self.io(e))?;
        for change in log.changes() {
            let mut line = serde_json::to_vec(change).map_err(|e| self.io(e.into()))?;
            line.push(b'\n');
            file.write_all(&line).map_err(|e| self.io(e))?;
        }
        file.sync_data().map_err(|e| self.io(e))?;
        std::fs::rename(&next, &self.path).map_err(|e| self.io(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::alert_log::Stored;
    use nodepair_protocol::api::alerts::{Alert, AlertChangeKind, Rule, Severity};

    fn alert(id: u64) -> Alert {
        Alert {
            id,
            rule: Rule::UnitDown,
            subject: "geth.service".into(),
            severity: Severity::Critical,
            summary: "geth.service is failed (failed)".into(),
            first_seen_ms: 1,
            last_seen_ms: 2,
            resolved_at_ms: None,
            readings: Vec::new(),
            acknowledged: None,
            muted_until_ms: None,
            muted_by: None,
        }
    }

    #[test]
    fn the_log_survives_a_restart_and_a_torn_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let file = AlertFile::in_dir(dir.path());
        assert_eq!(file.load().unwrap().last_seq(), 0, "no file: an empty log");
        let mut log = file.load().unwrap();
        for _ in 0..3 {
            let id = log.take_id();
            let stored = log.record(AlertChangeKind::Fired, alert(id));
            file.keep(&[stored], &log).unwrap();
        }
        let again = file.load().unwrap();
        assert_eq!(again.last_seq(), 3);
        assert_eq!(again.changes().count(), 3);
        // Power lost while a fourth line was written.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(file.path())
            .unwrap();
        f.write_all(br#"{"seq":4,"kind":"fir"#).unwrap();
        let mut log = file.load().unwrap();
        assert_eq!(log.last_seq(), 3);
        // The next change starts a line of its own: the log reads back.
        let id = log.take_id();
        let stored = log.record(AlertChangeKind::Fired, alert(id));
        file.keep(&[stored], &log).unwrap();
        assert_eq!(file.load().unwrap().last_seq(), 4);
    }

    #[test]
    fn a_round_that_compacts_the_log_writes_each_change_once() {
        let dir = tempfile::tempdir().unwrap();
        let file = AlertFile::in_dir(dir.path());
        let mut log = file.load().unwrap();
        let mut round = Vec::new();
        // Enough changes for the bound to drop old ones within the round,
        // followed by more appended in the same round.
        for _ in 0..(crate::alerts::alert_log::MAX_CHANGES + 3) {
            let id = log.take_id();
            let mut closed = alert(id);
            closed.resolved_at_ms = Some(3);
            round.push(log.record(AlertChangeKind::Resolved, closed));
        }
        assert!(round.iter().any(|s| matches!(s, Stored::Compacted(_))));
        assert!(matches!(round.last(), Some(Stored::Appended(_))), "appended after the compaction");
        file.keep(&round, &log).unwrap();
        let again = file.load().expect("every change once, in order");
        assert_eq!(again.last_seq(), log.last_seq());
        assert_eq!(again.changes().count(), log.changes().count());
    }

    #[test]
    fn a_damaged_line_is_named_and_nothing_is_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let file = AlertFile::in_dir(dir.path());
        std::fs::write(file.path(), "not json\n{}\n").unwrap();
        let e = file.load().unwrap_err().to_string();
        assert!(
            e.contains("damaged at line 1") && e.contains("move it away"),
            "{e}"
        );
        assert_eq!(
            std::fs::read_to_string(file.path()).unwrap(),
            "not json\n{}\n"
        );
    }
}
