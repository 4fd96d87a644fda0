//! A listed container's standard output and error through its engine: the last lines, and a follow that goes on across restarts and re-creations.

use super::splitter::LineSplitter;
use super::{Chunk, TAIL_TIMEOUT};
use crate::containers::log_resume::{Resume, stamped};
use crate::containers::{ContainerRef, Engine, EngineError};
use bollard::container::LogOutput;
use bollard::query_parameters::LogsOptionsBuilder;
use futures::StreamExt;
use std::collections::VecDeque;
use std::time::Duration;

/// How often a follow looks whether its container runs (again).
const POLL: Duration = Duration::from_millis(500);

/// The engine's frames as lines: one splitter per stream, so a line one
/// stream wrote in pieces is not broken by the other's.
#[derive(Default)]
struct Frames {
    out: LineSplitter,
    err: LineSplitter,
}

impl Frames {
    /// The whole lines `frame` ends, and the bytes cut from long ones.
    fn push(&mut self, frame: &LogOutput) -> (Vec<String>, u64) {
        let splitter = match frame {
            LogOutput::StdErr { .. } => &mut self.err,
            _ => &mut self.out,
        };
        let lines = splitter.push(frame.as_ref());
        (lines, splitter.take_dropped())
    }

    /// What is left once the stream ended.
    fn finish(&mut self) -> (Vec<String>, u64) {
        let lines = [self.out.finish(), self.err.finish()].into_iter().flatten().collect();
        (lines, self.out.take_dropped() + self.err.take_dropped())
    }
}

/// The id of the container `listed` names, if its output can be read:
/// a container with a terminal (`tty: true`) writes no frames, and its
/// output (a progress bar redrawn with `\r`, never a newline) would be
/// held whole by the engine's client, so it is refused. Whether it runs.
async fn readable(engine: &Engine, listed: &ContainerRef) -> Result<(String, bool), EngineError> {
    let inspect = engine
        .find(listed)
        .await?
        .ok_or_else(|| EngineError::NoContainer(listed.to_string()))?;
    if inspect.config.as_ref().and_then(|c| c.tty) == Some(true) {
        return Err(EngineError::Terminal(listed.to_string()));
    }
    let running = inspect.state.as_ref().and_then(|s| s.running) == Some(true);
    let id = inspect
        .id
        .ok_or_else(|| EngineError::NoContainer(listed.to_string()))?;
    Ok((id, running))
}

/// Most lines a reopened follow asks for from before it was cut: more
/// than a budget would send in the time a restart takes.
const REOPEN_TAIL: &str = "1000";

/// How long a follow waits before looking again at an engine it cannot
/// reach.
const UNREACHABLE_POLL: Duration = Duration::from_secs(5);

/// The last `depth` lines of `listed`'s output (each shown with its stamp
/// to the second), at most `window` bytes of them; the bytes left out or
/// cut.
pub(super) async fn tail(
    engine: &Engine,
    listed: &ContainerRef,
    depth: usize,
    window: u64,
) -> Result<(Vec<String>, u64), EngineError> {
    let (id, _) = readable(engine, listed).await?;
    let options = LogsOptionsBuilder::new()
        .stdout(true)
        .stderr(true)
        .timestamps(true)
        .tail(&depth.to_string())
        .build();
    let mut stream = Box::pin(engine.logs(&id, options)?);
    let read = async {
        let mut frames = Frames::default();
        let mut kept: VecDeque<String> = VecDeque::new();
        let (mut bytes, mut dropped) = (0usize, 0u64);
        let mut keep = |lines: Vec<String>, cut: u64, dropped: &mut u64| {
            *dropped += cut;
            for line in lines {
                bytes += line.len() + 1;
                kept.push_back(stamped(&line).1);
                while bytes as u64 > window || kept.len() > depth {
                    let Some(old) = kept.pop_front() else { break };
                    bytes -= old.len() + 1;
                    *dropped += old.len() as u64 + 1;
                }
            }
        };
        while let Some(frame) = stream.next().await {
            let frame = frame.map_err(|e| EngineError::from_bollard(e, &engine.socket(), 1))?;
            let (lines, cut) = frames.push(&frame);
            keep(lines, cut, &mut dropped);
        }
        let (lines, cut) = frames.finish();
        keep(lines, cut, &mut dropped);
        Ok((kept.into(), dropped))
    };
    tokio::time::timeout(TAIL_TIMEOUT, read)
        .await
        .map_err(|_| EngineError::Timeout(TAIL_TIMEOUT.as_secs()))?
}

/// Sends the lines `listed` writes from now on: while it runs, and again
/// each time it runs after a stop, a restart, or a removal and a new
/// container under its name; each line once. Ends when the receiver does.
pub(super) async fn follow(engine: Engine, listed: ContainerRef, tx: tokio::sync::mpsc::Sender<Chunk>) {
    let mut resume = Resume::starting(jiff::Timestamp::now());
    let mut first = true;
    // The container the last stream was of (a new one under the name has
    // a new id).
    let mut followed: Option<String> = None;
    while !tx.is_closed() {
        let (id, running) = match readable(&engine, &listed).await {
            Ok(found) => found,
            Err(e) => {
                tokio::time::sleep(if e.is_unreachable() { UNREACHABLE_POLL } else { POLL }).await;
                continue;
            }
        };
        let stream = running.then(|| {
            match &followed {
                Some(was) if *was != id => resume.another_container(),
                _ => resume.reopened(),
            }
            followed = Some(id.clone());
            // The first stream from now on; a reopened one from the newest
            // line sent, a bounded number back (so the engine reads its
            // log from the end, not from its oldest file).
            let options = LogsOptionsBuilder::new()
                .follow(true)
                .stdout(true)
                .stderr(true)
                .timestamps(true)
                .since(resume.since_secs())
                .tail(if first { "0" } else { REOPEN_TAIL })
                .build();
            engine.logs(&id, options).ok()
        });
        if let Some(Some(stream)) = stream {
            first = false;
            let mut stream = Box::pin(stream);
            let mut frames = Frames::default();
            loop {
                let (lines, dropped, ended) = match stream.next().await {
                    Some(Ok(frame)) => {
                        let (lines, dropped) = frames.push(&frame);
                        (lines, dropped, false)
                    }
                    // The stream ended: what is left of a last line
                    // without its newline (often a crash's message) too.
                    _ => {
                        let (lines, dropped) = frames.finish();
                        (lines, dropped, true)
                    }
                };
                let lines: Vec<String> = lines
                    .iter()
                    .filter_map(|line| match stamped(line) {
                        (Some(at), _) if !resume.admit(at) => None,
                        (_, shown) => Some(shown),
                    })
                    .collect();
                if (!lines.is_empty() || dropped > 0) && tx.send(Chunk { lines, dropped }).await.is_err() {
                    return;
                }
                if ended {
                    break;
                }
            }
        }
        tokio::time::sleep(POLL).await;
    }
}
