//! One process at a time per data directory: an exclusive lock file.

use std::fs::File;
use std::path::{Path, PathBuf};

/// Held while a program uses its data directory; released when dropped
/// (or when the process dies: the kernel drops `flock` locks with it).
#[derive(Debug)]
pub struct DirLock {
    _file: File,
}

/// The directory could not be locked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DirLockError {
    /// Another process holds it.
    #[error("{0} is in use by another process")]
    Held(PathBuf),
    /// The directory or its lock file could not be made.
    #[error("cannot lock {path}: {source}")]
    Io {
        /// The lock file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl DirLock {
    /// Creates `dir` if needed and takes the lock `dir/<name>` without waiting.
    pub fn acquire(dir: &Path, name: &str) -> Result<DirLock, DirLockError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| DirLockError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let path = dir.join(name);
        let file = File::create(&path).map_err(io(&path))?;
        match file.try_lock() {
            Ok(()) => Ok(DirLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(DirLockError::Held(dir.to_owned())),
            Err(std::fs::TryLockError::Error(e)) => Err(io(&path)(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let first = DirLock::acquire(&state, "x.lock").unwrap();
        assert!(matches!(
            DirLock::acquire(&state, "x.lock"),
            Err(DirLockError::Held(p)) if p == state
        ));
        drop(first);
        DirLock::acquire(&state, "x.lock").unwrap();
    }
}
