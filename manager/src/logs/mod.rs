//! The journals, containers and files the operator listed: their last lines, and live follows pushed as events under a byte budget per second.
//!
//! Whatever a source holds (a line of 50 MiB, a million lines of one
//! character), reading it costs time linear in its size and memory bounded
//! by [`TAIL_WINDOW`] and the line limit ([`splitter`]); every answer and
//! event fits in one frame ([`Lines::fit_newest`], [`Lines::split_to_fit`]).

mod container;
mod splitter;

use crate::answer::{Answer, Setup, ok, refuse, request, unknown};
use crate::containers::{ContainerRef, Engine};
use bytes::Bytes;
use nodepair_peer::{Caller, EventError, Peer, Reply, ReplyFuture};
use nodepair_protocol::api::{self, Method};
use nodepair_protocol::{PublicKey, Status};
use nodepair_protocol::api::logs::{
    FollowResponse, Lines, LogsFollow, LogsSources, LogsTail, LogsUnfollow, MAX_FOLLOWS,
    MAX_PATTERN_BYTES, MAX_SEARCH_BYTES, MAX_SEARCH_LINES, MAX_TAIL_DEPTH, MAX_TAIL_LINES,
    SourceKind, SourcesResponse, line_matches, stream_name,
};
use nodepair_protocol::byte_budget::ByteBudget;
use splitter::LineSplitter;
use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;

/// How often new lines are gathered into one event.
const BATCH: Duration = Duration::from_millis(250);
/// Most bytes a tail reads from the end of a file or journal, and a follow
/// reads at a time.
const TAIL_WINDOW: u64 = 1 << 20;
/// Longest a `journalctl` (or a container engine) for a tail may run.
const TAIL_TIMEOUT: Duration = Duration::from_secs(10);
/// Lines a follow's reader may have ready ahead of its sender.
const FOLLOW_QUEUE: usize = 1024;

/// Why a log request was refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LogError {
    /// Not in `[logs] units`, `[logs] containers` or `[logs] files`.
    #[error("{0} is not one of the logs this manager shares")]
    NotListed(String),
    /// Too many follows already.
    #[error("this app already follows {MAX_FOLLOWS} logs; unfollow one first")]
    TooMany,
    /// This app's last search is still running, or the manager is already
    /// running as many as it runs at once.
    #[error("{0}")]
    Searching(&'static str),
    /// A search pattern longer than the protocol allows.
    #[error("a search takes at most {MAX_PATTERN_BYTES} bytes of text")]
    PatternTooLong,
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
    Container(ContainerRef),
    File(PathBuf),
}

/// The listed sources, the follows running, and the peer to push events on.
pub(crate) struct Logs {
    units: Vec<String>,
    containers: Vec<ContainerRef>,
    engine: Engine,
    files: Vec<PathBuf>,
    journalctl: PathBuf,
    bytes_per_sec: u64,
    peer: Arc<OnceLock<Peer>>,
    follows: Mutex<HashMap<(PublicKey, String), tokio::task::JoinHandle<()>>>,
    /// The apps whose search is running: one each, [`MAX_SEARCHES`] in all.
    searching: Arc<Mutex<Vec<PublicKey>>>,
}

/// Searches the manager runs at once, over all apps. Each reads up to
/// [`MAX_SEARCH_BYTES`] and holds up to [`MAX_SEARCH_LINES`] lines, so this
/// bounds what searches cost in memory and keeps a core for the rest.
const MAX_SEARCHES: usize = 2;

/// A running search, counted until dropped.
struct SearchSlot {
    searching: Arc<Mutex<Vec<PublicKey>>>,
    who: PublicKey,
}

impl SearchSlot {
    /// A slot for `who`'s search, unless it has one running or all are taken.
    fn take(searching: &Arc<Mutex<Vec<PublicKey>>>, who: PublicKey) -> Result<Self, LogError> {
        let mut running = searching.lock().unwrap_or_else(PoisonError::into_inner);
        if running.contains(&who) {
            return Err(LogError::Searching(
                "this app's last search is still running; ask again when it has answered",
            ));
        }
        if running.len() >= MAX_SEARCHES {
            return Err(LogError::Searching(
                "the manager is running as many searches as it runs at once; try again in a moment",
            ));
        }
        running.push(who);
        Ok(SearchSlot {
            searching: Arc::clone(searching),
            who,
        })
    }
}

impl Drop for SearchSlot {
    fn drop(&mut self) {
        let mut running = self.searching.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(i) = running.iter().position(|w| *w == self.who) {
            running.swap_remove(i);
        }
    }
}

impl Logs {
    pub(crate) fn new(config: &crate::config::Config, peer: Arc<OnceLock<Peer>>) -> Self {
        let logs = &config.logs;
        Logs {
            units: logs.units.clone(),
            containers: logs.containers.clone(),
            engine: Engine::new(&config.containers),
            files: logs.files.clone(),
            journalctl: logs.journalctl.clone(),
            bytes_per_sec: logs.bytes_per_sec,
            peer,
            follows: Mutex::new(HashMap::new()),
            searching: Arc::default(),
        }
    }

    /// Every source as listed (units, containers, files), and what each is.
    pub(crate) fn sources(&self) -> (Vec<String>, Vec<SourceKind>) {
        self.units
            .iter()
            .map(|u| (u.clone(), SourceKind::Unit))
            .chain(self.containers.iter().map(|c| (c.to_string(), SourceKind::Container)))
            .chain(self.files.iter().map(|f| (f.display().to_string(), SourceKind::File)))
            .unzip()
    }

    /// The follow budget.
    pub(crate) fn bytes_per_sec(&self) -> u64 {
        self.bytes_per_sec
    }

    fn source(&self, name: &str) -> Result<Source, LogError> {
        if self.units.iter().any(|u| u == name) {
            return Ok(Source::Unit(name.to_owned()));
        }
        if let Some(container) = self.containers.iter().find(|c| c.to_string() == name) {
            return Ok(Source::Container(container.clone()));
        }
        self.files
            .iter()
            .find(|f| f.display().to_string() == name)
            .map(|f| Source::File(f.clone()))
            .ok_or_else(|| LogError::NotListed(name.to_owned()))
    }

    /// The last `lines` lines of `name` before its newest `skip`, the
    /// newest of them that fit in one answer (the rest counted as left
    /// out). With a `pattern`, of the lines containing it among the
    /// newest [`MAX_SEARCH_LINES`] (a search; the answer says how many it
    /// read); one search at a time per app (`who`), [`MAX_SEARCHES`] in all.
    pub(crate) async fn tail(
        &self,
        who: PublicKey,
        name: &str,
        lines: u32,
        skip: u32,
        pattern: Option<&str>,
    ) -> Result<Lines, LogError> {
        let lines = lines.clamp(1, MAX_TAIL_LINES);
        let skip = skip.min(MAX_TAIL_DEPTH - lines);
        let pattern = pattern.map(str::trim).filter(|p| !p.is_empty());
        if pattern.is_some_and(|p| p.len() > MAX_PATTERN_BYTES) {
            return Err(LogError::PatternTooLong);
        }
        let Some(pattern) = pattern else {
            let (all, dropped) = self.read_newest(name, (lines + skip) as usize, TAIL_WINDOW).await?;
            return Ok(page(name, all, dropped, lines, skip));
        };
        let _slot = SearchSlot::take(&self.searching, who)?;
        let (mut all, dropped) = self
            .read_newest(name, MAX_SEARCH_LINES as usize, MAX_SEARCH_BYTES as u64)
            .await?;
        let searched = u32::try_from(all.len()).unwrap_or(u32::MAX);
        let lowercase = pattern.to_lowercase();
        all.retain(|line| line_matches(line, &lowercase));
        let mut found = page(name, all, dropped, lines, skip);
        found.searched = Some(searched);
        Ok(found)
    }

    /// The newest `depth` lines of `name` (oldest first), at most `window`
    /// bytes of them, and the bytes left out or cut.
    async fn read_newest(
        &self,
        name: &str,
        depth: usize,
        window: u64,
    ) -> Result<(Vec<String>, u64), LogError> {
        let read_error = |why: String| LogError::Read {
            name: name.to_owned(),
            why,
        };
        let bytes = match self.source(name)? {
            Source::Container(listed) => {
                return container::tail(&self.engine, &listed, depth, window)
                    .await
                    .map_err(|e| read_error(e.to_string()));
            }
            Source::Unit(unit) => {
                let mut child = crate::tool::command(&self.journalctl)
                    .args(["--no-pager", "--quiet", "--output=short-iso", "--lines"])
                    .arg(depth.to_string())
                    .args(["--unit", &unit])
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .map_err(|e| read_error(format!("{}: {e}", self.journalctl.display())))?;
                let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take())
                else {
                    return Err(read_error("journalctl gave no output".into()));
                };
                let read = async {
                    let mut out = Vec::new();
                    stdout.take(window).read_to_end(&mut out).await?;
                    let mut err = Vec::new();
                    stderr.take(4096).read_to_end(&mut err).await?;
                    Ok::<_, std::io::Error>((out, err, child.wait().await?))
                };
                let (out, err, status) = tokio::time::timeout(TAIL_TIMEOUT, read)
                    .await
                    .map_err(|_| read_error("journalctl did not answer in time".into()))?
                    .map_err(|e| read_error(e.to_string()))?;
                if !status.success() && out.is_empty() {
                    return Err(read_error(String::from_utf8_lossy(&err).trim().to_owned()));
                }
                out
            }
            Source::File(path) => tokio::task::spawn_blocking(move || read_end(&path, window))
                .await
                .map_err(|e| read_error(e.to_string()))?
                .map_err(|e| read_error(e.to_string()))?,
        };
        let mut splitter = LineSplitter::default();
        let mut all = splitter.push(&bytes);
        all.extend(splitter.finish());
        let dropped = splitter.take_dropped();
        Ok((all, dropped))
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
        tracing::info!(target: "audit", caller = %caller.public_key.fingerprint(), name = ?caller.display_name, source = name, "log follow started");
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
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Chunk>(FOLLOW_QUEUE);
        let reader = match source {
            Source::Unit(unit) => {
                let child = crate::tool::command(&self.journalctl)
                    .args([
                        "--no-pager",
                        "--quiet",
                        "--output=short-iso",
                        "--follow",
                        "--lines=0",
                        "--unit",
                        &unit,
                    ])
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::null())
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
                    follow_reader(stdout, tx).await;
                })
            }
            Source::Container(listed) => {
                tokio::spawn(container::follow(self.engine.clone(), listed, tx))
            }
            Source::File(path) => tokio::spawn(follow_file(path, tx)),
        };
        let _stop_reader = AbortOnDrop(reader);
        let Some(peer) = self.peer.get() else {
            return "the manager is not running".into();
        };
        let mut budget = ByteBudget::new(self.bytes_per_sec, Instant::now());
        let stream = nodepair_protocol::frame::ByteString::from(stream);
        let mut tick = tokio::time::interval(BATCH);
        let mut pending = Vec::new();
        let mut dropped = 0u64;
        loop {
            tokio::select! {
                chunk = rx.recv() => match chunk {
                    Some(chunk) => {
                        dropped += chunk.dropped;
                        for line in chunk.lines {
                            if budget.take(Instant::now(), line.len() as u64 + 1) {
                                pending.push(line);
                            } else {
                                dropped += line.len() as u64 + 1;
                            }
                        }
                    }
                    None => return "the source closed".into(),
                },
                _ = tick.tick() => {
                    if pending.is_empty() && dropped == 0 {
                        continue;
                    }
                    let events = Lines::split_to_fit(
                        name,
                        std::mem::take(&mut pending),
                        std::mem::take(&mut dropped),
                    );
                    for event in events {
                        match peer.send_event(to, stream.clone(), nodepair_protocol::api::encode(&event)).await {
                            Ok(_) => {}
                            Err(e @ (EventError::NotPaired | EventError::NotOnline | EventError::Stopped)) => return e.to_string(),
                            Err(e) => return e.to_string(),
                        }
                    }
                }
            }
        }
    }
}

/// The `lines` lines of `all` (oldest first) before its newest `skip`,
/// the newest of them that fit in one answer.
fn page(name: &str, mut all: Vec<String>, dropped: u64, lines: u32, skip: u32) -> Lines {
    all.truncate(all.len().saturating_sub(skip as usize));
    let start = all.len().saturating_sub(lines as usize);
    let asked = all.split_off(start);
    Lines::fit_newest(name, asked, dropped)
}

/// Lines a follow's reader found, and the bytes it had to drop.
struct Chunk {
    lines: Vec<String>,
    dropped: u64,
}

/// Reads `source` (journalctl's output) to its end, a bounded chunk at a
/// time, and sends its lines.
async fn follow_reader(
    mut source: impl tokio::io::AsyncRead + Unpin,
    tx: tokio::sync::mpsc::Sender<Chunk>,
) {
    let mut splitter = LineSplitter::default();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match source.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let lines = splitter.push(&buf[..n]);
        let dropped = splitter.take_dropped();
        if (!lines.is_empty() || dropped > 0) && tx.send(Chunk { lines, dropped }).await.is_err() {
            return;
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
/// The path is opened without following a link at its end, and must be a
/// plain file.
fn read_end(path: &Path, window: u64) -> std::io::Result<Vec<u8>> {
    let mut file = open_log(path)?;
    let len = file.metadata()?.len();
    let start = len.saturating_sub(window);
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::new();
    file.take(window).read_to_end(&mut bytes)?;
    if start > 0 {
        let first = bytes
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |i| i + 1);
        bytes.drain(..first);
    }
    Ok(bytes)
}

/// Opens a listed log file: not through a symbolic link at its end (one
/// planted there could point at a secret), and only a plain file.
fn open_log(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
    }
    let file = options.open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other("not a plain file"));
    }
    Ok(file)
}

/// Sends the lines appended to `path` from now on; starts over when the
/// file is truncated or replaced (log rotation). Reads at most
/// [`TAIL_WINDOW`] at a time, and keeps at most one line's worth.
async fn follow_file(path: PathBuf, tx: tokio::sync::mpsc::Sender<Chunk>) {
    let mut position = tokio::fs::metadata(&path).await.map_or(0, |m| m.len());
    let mut splitter = LineSplitter::default();
    loop {
        tokio::time::sleep(BATCH / 2).await;
        let Ok(meta) = tokio::fs::metadata(&path).await else {
            continue;
        };
        if meta.len() < position {
            position = 0;
            splitter = LineSplitter::default();
        }
        if meta.len() == position {
            continue;
        }
        let (path, from) = (path.clone(), position);
        let read = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<u8>> {
            let mut file = open_log(&path)?;
            file.seek(SeekFrom::Start(from))?;
            let mut bytes = Vec::new();
            file.take(TAIL_WINDOW).read_to_end(&mut bytes)?;
            Ok(bytes)
        })
        .await;
        let Ok(Ok(bytes)) = read else { continue };
        position += bytes.len() as u64;
        let lines = splitter.push(&bytes);
        let dropped = splitter.take_dropped();
        if (!lines.is_empty() || dropped > 0) && tx.send(Chunk { lines, dropped }).await.is_err() {
            return;
        }
    }
}


/// The `logs` capability: the journals, containers and files in `[logs]`.
pub(crate) fn answerer(setup: &mut Setup<'_>) -> anyhow::Result<Arc<dyn Answer>> {
    Ok(Arc::new(Logs::new(setup.config, Arc::clone(&setup.peer))))
}

impl Answer for Logs {
    fn answer(self: Arc<Self>, caller: Caller, method: &'static str, body: Bytes) -> ReplyFuture {
        Box::pin(async move {
            let reply = match method {
                LogsSources::NAME => {
                    let (sources, kinds) = self.sources();
                    Ok(ok(&SourcesResponse {
                        sources,
                        bytes_per_sec: self.bytes_per_sec(),
                        kinds,
                    }))
                }
                LogsTail::NAME => match request::<LogsTail>(&body) {
                    Ok(r) => Ok(self
                        .tail(caller.public_key, &r.source, r.lines, r.skip, r.pattern.as_deref())
                        .await
                        .map_or_else(refusal, |l| ok(&l))),
                    Err(refused) => Err(refused),
                },
                LogsFollow::NAME => request::<LogsFollow>(&body).map(|r| {
                    self.follow(&caller, &r.source)
                        .map_or_else(refusal, |stream| ok(&FollowResponse { stream }))
                }),
                LogsUnfollow::NAME => request::<LogsUnfollow>(&body).map(|r| {
                    self.unfollow(&caller, &r.source);
                    ok(&api::Empty {})
                }),
                other => Err(unknown(other)),
            };
            reply.unwrap_or_else(|refused| refused)
        })
    }
}

/// A log request refused, with the status that says why.
fn refusal(e: LogError) -> Reply {
    let status = match e {
        LogError::NotListed(_) => Status::FORBIDDEN,
        LogError::TooMany | LogError::Searching(_) => Status::RATE_LIMITED,
        LogError::PatternTooLong => Status::BAD_REQUEST,
        LogError::Read { .. } => Status::UPSTREAM_ERROR,
    };
    refuse(status, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_search_per_app_and_two_in_all_until_one_ends() {
        let searching = Arc::default();
        let (a, b, c) = (PublicKey([1; 32]), PublicKey([2; 32]), PublicKey([3; 32]));
        let first = SearchSlot::take(&searching, a).unwrap();
        assert!(matches!(
            SearchSlot::take(&searching, a),
            Err(LogError::Searching(why)) if why.contains("still running")
        ));
        let _second = SearchSlot::take(&searching, b).unwrap();
        assert!(matches!(
            SearchSlot::take(&searching, c),
            Err(LogError::Searching(why)) if why.contains("at once")
        ));
        drop(first);
        let _third = SearchSlot::take(&searching, c).expect("a slot once one ended");
        assert!(SearchSlot::take(&searching, a).is_err(), "two again");
    }

    #[test]
    fn a_tail_of_a_long_file_starts_on_a_whole_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        let line = "x".repeat(99);
        let text: String = (0..20_000).map(|i| format!("{i:05} {line}\n")).collect();
        std::fs::write(&path, text).unwrap();
        let end = String::from_utf8(read_end(&path, TAIL_WINDOW).unwrap()).unwrap();
        assert!(end.len() as u64 <= TAIL_WINDOW);
        assert!(end.lines().all(|l| l.len() == 105), "every line whole");
        assert!(end.lines().last().unwrap().starts_with("19999"));
    }

    #[test]
    fn a_link_planted_at_a_listed_path_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "vault passphrase\n").unwrap();
        let listed = dir.path().join("app.log");
        std::os::unix::fs::symlink(&secret, &listed).unwrap();
        assert!(read_end(&listed, TAIL_WINDOW).is_err());
        assert!(
            read_end(dir.path(), TAIL_WINDOW).is_err(),
            "a directory is not a log"
        );
    }
}
