//! The host's memory, load and mounts, and the listed paths' free space, read off the async threads with a time limit: a hung mount (a dead NFS server) costs one blocked thread and its own reading, never the rounds or the other mounts.

use super::rules::{DiskSpace, Observation};
use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// How long a round waits for a reading before judging without it.
pub(crate) const PATIENCE: Duration = Duration::from_secs(10);

/// Names the reading of memory and load among those blocked.
const MEMORY_AND_LOAD: &str = "memory and load";
/// Names the listing of the mounts among those blocked.
const MOUNTS: &str = "the list of mounts";

type Space = dyn Fn(&str) -> Option<DiskSpace> + Send + Sync;

/// Reads what the host rules judge.
pub(crate) struct HostReader {
    /// `[alerts.disk_free] paths`.
    paths: Vec<String>,
    /// Readings still under way after the round gave up on them: not
    /// started again until they return, so a hung mount blocks one thread.
    blocked: Arc<Mutex<HashSet<String>>>,
    memory_and_load: Arc<dyn Fn() -> Observation + Send + Sync>,
    /// Where storage is mounted (listed without asking any of them).
    mounts: Arc<dyn Fn() -> Vec<String> + Send + Sync>,
    space: Arc<Space>,
    patience: Duration,
}

impl HostReader {
    /// Reads this host, and the space of each of `paths`.
    pub(crate) fn new(paths: Vec<String>) -> HostReader {
        HostReader {
            paths,
            blocked: Arc::default(),
            memory_and_load: Arc::new(crate::host::memory_and_load),
            mounts: Arc::new(crate::host::mount_points),
            space: Arc::new(space_at),
            patience: PATIENCE,
        }
    }

    /// One round's readings of the host: what did not answer within the
    /// patience (or is still blocked from an earlier round) is left out,
    /// and its rules judge nothing this round.
    pub(crate) async fn read(&self) -> Observation {
        let deadline = tokio::time::Instant::now() + self.patience;
        let memory_and_load = Arc::clone(&self.memory_and_load);
        let first = self.start(MEMORY_AND_LOAD, move || memory_and_load());
        let mounts = Arc::clone(&self.mounts);
        let listing = self.start(MOUNTS, move || mounts());
        let mut seen = self
            .finish(MEMORY_AND_LOAD, first, deadline)
            .await
            .unwrap_or_default();
        let mut points = self.finish(MOUNTS, listing, deadline).await.unwrap_or_default();
        // The listed paths after the mounts: a path's own reading is the one kept.
        points.retain(|p| !self.paths.contains(p));
        points.extend(self.paths.iter().cloned());
        // Each mount and path on its own, so one that hangs costs only itself.
        let readings: Vec<_> = points
            .iter()
            .map(|path| {
                let (space, path_owned) = (Arc::clone(&self.space), path.clone());
                self.start(path, move || space(&path_owned))
            })
            .collect();
        for (path, reading) in points.iter().zip(readings) {
            // A path that cannot be read (not mounted yet) judges nothing.
            if let Some(space) = self.finish(path, reading, deadline).await.flatten()
                && space.total > 0
            {
                seen.disks.push(space);
            }
        }
        seen
    }

    /// Starts reading `what` on a blocking thread, unless an earlier
    /// reading of it has not returned yet.
    fn start<T: Send + 'static>(
        &self,
        what: &str,
        read: impl FnOnce() -> T + Send + 'static,
    ) -> Option<tokio::task::JoinHandle<T>> {
        if !self.blocked().insert(what.to_owned()) {
            return None;
        }
        let unblock = Unblock {
            blocked: Arc::clone(&self.blocked),
            what: what.to_owned(),
        };
        Some(tokio::task::spawn_blocking(move || {
            let _unblock = unblock;
            read()
        }))
    }

    /// What `reading` of `what` gave by `deadline`, if it gave anything.
    async fn finish<T>(
        &self,
        what: &str,
        reading: Option<tokio::task::JoinHandle<T>>,
        deadline: tokio::time::Instant,
    ) -> Option<T> {
        let Some(reading) = reading else {
            tracing::debug!("{what}: an earlier reading has not returned; left out");
            return None;
        };
        match tokio::time::timeout_at(deadline, reading).await {
            Ok(Ok(value)) => Some(value),
            Ok(Err(e)) => {
                tracing::warn!("reading {what} failed: {e}");
                None
            }
            Err(_) => {
                tracing::warn!(
                    "reading {what} takes over {} s (a hung mount?); its rules judge nothing until it returns",
                    self.patience.as_secs()
                );
                None
            }
        }
    }

    fn blocked(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.blocked.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Takes a reading off the blocked list when it returns (or panics).
struct Unblock {
    blocked: Arc<Mutex<HashSet<String>>>,
    what: String,
}

impl Drop for Unblock {
    fn drop(&mut self) {
        self.blocked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.what);
    }
}

/// The space of the file system `path` is on, named by `path`.
#[cfg(unix)]
fn space_at(path: &str) -> Option<DiskSpace> {
    let stat = rustix::fs::statvfs(path).ok()?;
    Some(DiskSpace {
        mount: path.to_owned(),
        total: stat.f_blocks.saturating_mul(stat.f_frsize),
        available: stat.f_bavail.saturating_mul(stat.f_frsize),
    })
}

/// The space of the volume `path` is on (the one with the longest mount
/// point it is under), named by `path`: off Unix there is no statvfs.
#[cfg(not(unix))]
fn space_at(path: &str) -> Option<DiskSpace> {
    let disks = sysinfo::Disks::new_with_refreshed_list();
    let disk = disks
        .list()
        .iter()
        .filter(|d| std::path::Path::new(path).starts_with(d.mount_point()))
        .max_by_key(|d| d.mount_point().as_os_str().len())?;
    Some(DiskSpace {
        mount: path.to_owned(),
        total: disk.total_space(),
        available: disk.available_space(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn space(mount: &str) -> DiskSpace {
        DiskSpace {
            mount: mount.into(),
            total: 100,
            available: 50,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_hung_mount_is_left_out_and_not_read_again_until_it_returns_while_the_rest_is_judged() {
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let hold = Arc::new(Mutex::new(hold));
        let asked = Arc::new(AtomicUsize::new(0));
        let (asked_in, hold_in) = (Arc::clone(&asked), Arc::clone(&hold));
        let reader = HostReader {
            paths: vec!["/var".into()],
            blocked: Arc::default(),
            memory_and_load: Arc::new(|| Observation {
                memory: Some((8, 4)),
                ..Observation::default()
            }),
            mounts: Arc::new(|| vec!["/".into(), "/srv/nfs".into()]),
            space: Arc::new(move |path: &str| {
                // The first read hangs like statvfs on a dead NFS server,
                // until released.
                if path == "/srv/nfs" && asked_in.fetch_add(1, Ordering::SeqCst) == 0 {
                    let _ = hold_in.lock().unwrap().recv();
                }
                Some(space(path))
            }),
            patience: Duration::from_millis(300),
        };
        for _ in 0..3 {
            let seen = reader.read().await;
            assert_eq!(seen.memory, Some((8, 4)), "memory is still judged");
            let mounts: Vec<&str> = seen.disks.iter().map(|d| d.mount.as_str()).collect();
            assert_eq!(mounts, ["/", "/var"], "the hung mount is left out, not the others");
        }
        assert_eq!(asked.load(Ordering::SeqCst), 1, "one thread blocked, not one per round");
        release.send(()).unwrap();
        // Once it returned, it is read again.
        let mut again = Vec::new();
        for _ in 0..50 {
            let seen = reader.read().await;
            again = seen.disks.iter().map(|d| d.mount.clone()).collect();
            if again.len() == 3 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        drop(release);
        assert_eq!(again, ["/", "/srv/nfs", "/var"]);
    }
}
