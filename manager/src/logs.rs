//! The journals and files the operator listed: their last lines, and live follows pushed as events under a byte budget per second.

use nodepair_peer::{Caller, EventError, Peer};
use nodepair_protocol::PublicKey;
use nodepair_protocol::api::logs::{Lines, MAX_FOLLOWS, MAX_TAIL_LINES, stream_name};
use nodepair_protocol::byte_budget::ByteBudget;
use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};
use tokio::io::AsyncBufReadExt;

/// How often new lines are gathered into one event.
const BATCH: Duration = Duration::from_millis(250);
/// Most bytes a tail reads from the end of a file.
const TAIL_WINDOW: u64 = 1 << 20;

/// Why a log request was refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LogError {
    /// Not in `[logs] units` or `[logs] files`.
    #[error("{0} is not one of the logs this manager shares")]
    NotListed(String),
    /// Too many follows already.
    #[error("this app already follows {MAX_FOLLOWS} logs; unfollow one first")]
    TooMany,
    /// Reading failed.
    #[error("cannot read {name}: {why}")]
    Read {
        /// The source.
        name: String,
        /// Why.
        why: String,
    },
}

enum Source {
    Unit(String),
    File(PathBuf),
}

/// The listed sources, the follows running, and the peer to push events on.
pub(crate) struct Logs {
    units: Vec<String>,
    files: Vec<PathBuf>,
    journalctl: PathBuf,
    bytes_per_sec: u64,
    peer: Arc<OnceLock<Peer>>,
    follows: Mutex<HashMap<(PublicKey, String), tokio::task::JoinHandle<()>>>,
}

impl Logs {
    pub(crate) fn new(
        units: Vec<String>,
        files: Vec<PathBuf>,
        journalctl: PathBuf,
        bytes_per_sec: u64,
        peer: Arc<OnceLock<Peer>>,
    ) -> Self {
        Logs {
            units,
            files,
            journalctl,
            bytes_per_sec,
            peer,
            follows: Mutex::new(HashMap::new()),
        }
    }

    /// Every source, as listed.
    pub(crate) fn sources(&self) -> Vec<String> {
        self.units
            .iter()
            .cloned()
            .chain(self.files.iter().map(|f| f.display().to_string()))
            .collect()
    }

    /// The follow budget.
    pub(crate) fn bytes_per_sec(&self) -> u64 {
        self.bytes_per_sec
    }

    fn source(&self, name: &str) -> Result<Source, LogError> {
        if self.units.iter().any(|u| u == name) {
            return Ok(Source::Unit(name.to_owned()));
        }
        self.files
            .iter()
            .find(|f| f.display().to_string() == name)
            .map(|f| Source::File(f.clone()))
            .ok_or_else(|| LogError::NotListed(name.to_owned()))
    }

    /// The last `lines` lines of `name`.
    pub(crate) async fn tail(&self, name: &str, lines: u32) -> Result<Lines, LogError> {
        let lines = lines.clamp(1, MAX_TAIL_LINES) as usize;
        let read_error = |why: String| LogError::Read {
            name: name.to_owned(),
            why,
        };
        let text = match self.source(name)? {
            Source::Unit(unit) => {
                let out = tokio::process::Command::new(&self.journalctl)
                    .args(["--no-pager", "--quiet", "--output=short-iso", "--lines"])
                    .arg(lines.to_string())
                    .args(["--unit", &unit])
                    .stdin(std::process::Stdio::null())
                    .kill_on_drop(true)
                    .output()
                    .await
                    .map_err(|e| read_error(format!("{}: {e}", self.journalctl.display())))?;
                if !out.status.success() {
                    return Err(read_error(
                        String::from_utf8_lossy(&out.stderr).trim().to_owned(),
                    ));
                }
                String::from_utf8_lossy(&out.stdout).into_owned()
            }
            Source::File(path) => tokio::task::spawn_blocking(move || read_end(&path))
                .await
                .map_err(|e| read_error(e.to_string()))?
                .map_err(|e| read_error(e.to_string()))?,
        };
        let all: Vec<&str> = text.lines().collect();
        Ok(Lines {
            source: name.to_owned(),
            lines: all[all.len().saturating_sub(lines)..]
                .iter()
                .map(|l| (*l).to_owned())
                .collect(),
            dropped_bytes: 0,
        })
    }

    /// Starts following `name` for `caller`; returns the stream name.
    pub(crate) fn follow(
        self: &Arc<Self>,
        caller: &Caller,
        name: &str,
    ) -> Result<String, LogError> {
        let source = self.source(name)?;
        let key = (caller.public_key, name.to_owned());
        let mut follows = self.follows.lock().unwrap_or_else(PoisonError::into_inner);
        follows.retain(|_, task| !task.is_finished());
        let mine = follows
            .keys()
            .filter(|(who, _)| *who == caller.public_key)
            .count();
        if !follows.contains_key(&key) && mine >= MAX_FOLLOWS {
            return Err(LogError::TooMany);
        }
        if let Some(old) = follows.remove(&key) {
            old.abort();
        }
        let stream = stream_name(name);
        tracing::info!(target: "audit", caller = %caller.public_key.fingerprint(), name = %caller.display_name, source = name, "log follow started");
        let logs = Arc::clone(self);
        let (who, source_name, stream_for_task) =
            (caller.public_key, name.to_owned(), stream.clone());
        let task = tokio::spawn(async move {
            let why = logs
                .run_follow(who, &source_name, &stream_for_task, source)
                .await;
            tracing::info!(target: "audit", caller = %who.fingerprint(), source = %source_name, "log follow ended: {why}");
        });
        follows.insert(key, task);
        Ok(stream)
    }

    /// Stops `caller`'s follow of `name`, if any.
    pub(crate) fn unfollow(&self, caller: &Caller, name: &str) {
        if let Some(task) = self
            .follows
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&(caller.public_key, name.to_owned()))
        {
            task.abort();
            tracing::info!(target: "audit", caller = %caller.public_key.fingerprint(), source = name, "log follow ended: unfollowed");
        }
    }

    /// Follows until pushing fails; returns why it ended.
    async fn run_follow(&self, to: PublicKey, name: &str, stream: &str, source: Source) -> String {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<String>(1024);
        let reader = match source {
            Source::Unit(unit) => {
                let child = tokio::process::Command::new(&self.journalctl)
                    .args([
                        "--no-pager",
                        "--quiet",
                        "--output=short-iso",
                        "--follow",
                        "--lines=0",
                        "--unit",
                        &unit,
                    ])
                    .stdin(std::process::Stdio::null())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::null())
                    .kill_on_drop(true)
                    .spawn();
                let mut child = match child {
                    Ok(c) => c,
                    Err(e) => return format!("cannot run {}: {e}", self.journalctl.display()),
                };
                let Some(stdout) = child.stdout.take() else {
                    return "journalctl gave no output".into();
                };
                tokio::spawn(async move {
                    let _child = child;
                    let mut lines = tokio::io::BufReader::new(stdout).lines();
                    while let Ok(Some(line)) = lines.next_line().await {
                        if tx.send(line).await.is_err() {
                            return;
                        }
                    }
                })
            }
            Source::File(path) => tokio::spawn(follow_file(path, tx)),
        };
        let _stop_reader = AbortOnDrop(reader);
        let Some(peer) = self.peer.get() else {
            return "the manager is not running".into();
        };
        let mut budget = ByteBudget::new(self.bytes_per_sec, Instant::now());
        let mut tick = tokio::time::interval(BATCH);
        let mut pending = Vec::new();
        let mut dropped = 0u64;
        loop {
            tokio::select! {
                line = rx.recv() => match line {
                    Some(line) => {
                        if budget.take(Instant::now(), line.len() as u64 + 1) {
                            pending.push(line);
                        } else {
                            dropped += line.len() as u64 + 1;
                        }
                    }
                    None => return "the source closed".into(),
                },
                _ = tick.tick() => {
                    if pending.is_empty() && dropped == 0 {
                        continue;
                    }
                    let event = Lines {
                        source: name.to_owned(),
                        lines: std::mem::take(&mut pending),
                        dropped_bytes: std::mem::take(&mut dropped),
                    };
                    match peer.send_event(to, stream, nodepair_protocol::api::encode(&event)).await {
                        Ok(_) => {}
                        Err(e @ (EventError::NotPaired | EventError::NotOnline | EventError::Stopped)) => return e.to_string(),
                        Err(e) => return e.to_string(),
                    }
                }
            }
        }
    }
}

/// Aborts a task when dropped.
pub(crate) struct AbortOnDrop(pub(crate) tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The last [`TAIL_WINDOW`] bytes of `path`, from the first whole line.
fn read_end(path: &std::path::Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    let start = len.saturating_sub(TAIL_WINDOW);
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Ok(if start > 0 {
        text.split_once('\n')
            .map_or(String::new(), |(_, rest)| rest.to_owned())
    } else {
        text
    })
}

/// Sends each line appended to `path` from now on; starts over when the
/// file is truncated or replaced (log rotation).
async fn follow_file(path: PathBuf, tx: tokio::sync::mpsc::Sender<String>) {
    let mut position = tokio::fs::metadata(&path).await.map_or(0, |m| m.len());
    let mut partial = String::new();
    loop {
        tokio::time::sleep(BATCH / 2).await;
        let Ok(meta) = tokio::fs::metadata(&path).await else {
            continue;
        };
        if meta.len() < position {
            position = 0;
            partial.clear();
        }
        if meta.len() == position {
            continue;
        }
        let (path, from) = (path.clone(), position);
        let read = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<u8>> {
            let mut file = std::fs::File::open(&path)?;
            file.seek(SeekFrom::Start(from))?;
            let mut bytes = Vec::new();
            file.take(TAIL_WINDOW).read_to_end(&mut bytes)?;
            Ok(bytes)
        })
        .await;
        let Ok(Ok(bytes)) = read else { continue };
        position += bytes.len() as u64;
        partial.push_str(&String::from_utf8_lossy(&bytes));
        while let Some((line, rest)) = partial.split_once('\n') {
            let line = line.trim_end_matches('\r').to_owned();
            partial = rest.to_owned();
            if tx.send(line).await.is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tail_of_a_long_file_starts_on_a_whole_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        let line = "x".repeat(99);
        let text: String = (0..20_000).map(|i| format!("{i:05} {line}\n")).collect();
        std::fs::write(&path, text).unwrap();
        let end = read_end(&path).unwrap();
        assert!(end.len() as u64 <= TAIL_WINDOW);
        assert!(end.lines().all(|l| l.len() == 105), "every line whole");
        assert!(
            end.ends_with("19999 xxx".to_owned().as_str())
                || end.lines().last().unwrap().starts_with("19999")
        );
    }
}
