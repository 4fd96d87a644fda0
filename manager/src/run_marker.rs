//! A mark in the state directory while the manager runs: found at the next start, the last run stopped without shutting down (killed, crashed, the machine lost power).

use std::path::{Path, PathBuf};

/// Marks a run of the manager in its state directory: made at start,
/// removed when the run ends cleanly. Found at start, the last run did not.
#[derive(Debug)]
pub(crate) struct RunMarker {
    path: PathBuf,
}

impl RunMarker {
    /// Marks this run; returns the marker and whether the last run left
    /// its own (it stopped without shutting down).
    ///
    /// # Errors
    ///
    /// When the marker cannot be written.
    pub(crate) fn mark(state_dir: &Path) -> std::io::Result<(RunMarker, bool)> {
        let path = state_dir.join("running");
        let crashed = path.exists();
        std::fs::write(&path, std::process::id().to_string())?;
        Ok((RunMarker { path }, crashed))
    }

    /// This run ends cleanly (again: harmless).
    pub(crate) fn clear(&self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A start that fails after marking, or a run whose runtime is dropped,
/// ended without crashing: only a killed or crashed process (which drops
/// nothing) leaves its mark.
impl Drop for RunMarker {
    fn drop(&mut self) {
        self.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_that_did_not_clear_its_marker_is_seen_by_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let (marker, crashed) = RunMarker::mark(dir.path()).unwrap();
        assert!(!crashed);
        marker.clear();
        let (left, crashed) = RunMarker::mark(dir.path()).unwrap();
        assert!(!crashed);
        // Killed: nothing is dropped.
        std::mem::forget(left);
        let (again, crashed) = RunMarker::mark(dir.path()).unwrap();
        assert!(crashed, "the last run left its marker");
        // A start that fails drops its marker.
        drop(again);
        let (_next, crashed) = RunMarker::mark(dir.path()).unwrap();
        assert!(!crashed);
    }
}
