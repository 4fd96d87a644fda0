//! `logs.sources`, `logs.tail`, `logs.follow`, `logs.unfollow`: the journals, containers and files the operator listed, their last lines, and a live follow under a byte budget.

use super::{Empty, Method};
use serde::{Deserialize, Serialize};

/// The capability's name.
pub const CAPABILITY: &str = "logs";

/// Its methods.
pub const METHODS: &[super::MethodInfo] = &[
    super::MethodInfo::of::<LogsSources>(),
    super::MethodInfo::of::<LogsTail>(),
    super::MethodInfo::of::<LogsFollow>(),
    super::MethodInfo::of::<LogsUnfollow>(),
];

/// Its kind of stream, and the body of each event.
pub const STREAMS: &[super::StreamInfo] = &[super::StreamInfo::of::<Lines>("logs")];

/// Its methods' bodies, for TypeScript.
#[cfg(feature = "specta")]
#[derive(Debug, Serialize, specta::Type)]
#[specta(inline)]
pub struct Methods {
    #[serde(rename = "logs.sources")]
    sources: super::Call<Empty, SourcesResponse>,
    #[serde(rename = "logs.tail")]
    tail: super::Call<TailRequest, Lines>,
    #[serde(rename = "logs.follow")]
    follow: super::Call<SourceRequest, FollowResponse>,
    #[serde(rename = "logs.unfollow")]
    unfollow: super::Call<SourceRequest, Empty>,
}

/// Its streams' events (`logs:<source>`), for TypeScript.
#[cfg(feature = "specta")]
#[derive(Debug, Serialize, specta::Type)]
#[specta(inline)]
pub struct Streams {
    logs: Lines,
}

/// Most follows one app may have at once; one more is refused with
/// [`Status::RATE_LIMITED`](crate::status::Status::RATE_LIMITED).
pub const MAX_FOLLOWS: usize = 4;

/// Most lines one `logs.tail` returns.
pub const MAX_TAIL_LINES: u32 = 1000;

/// How far back `logs.tail` pages: `skip` + `lines` at most this.
pub const MAX_TAIL_DEPTH: u32 = 10_000;

/// How many of a source's newest lines a search (`logs.tail` with a
/// `pattern`) reads, at most; fewer when they take more than
/// [`MAX_SEARCH_BYTES`].
pub const MAX_SEARCH_LINES: u32 = 50_000;

/// How many bytes of a source's end a search reads, at most.
pub const MAX_SEARCH_BYTES: usize = 8 << 20;

/// Longest `pattern` a search takes, in bytes.
pub const MAX_PATTERN_BYTES: usize = 256;

/// Whether `line` contains `pattern`, ignoring case (Unicode's simple
/// lowercase, as the window's own filter).
pub fn line_matches(line: &str, pattern_lowercase: &str) -> bool {
    line.to_lowercase().contains(pattern_lowercase)
}

/// Longest line sent; a longer one is cut here (at a character boundary)
/// and ends with `…`, the rest counted as dropped.
pub const MAX_LINE_BYTES: usize = 8 * 1024;

/// Most bytes a [`Lines`] body takes as JSON: one tail answer or one
/// follow event always fits in a frame (60 KiB) with room to spare.
pub const MAX_LINES_BODY: usize = 48 * 1024;

/// The stream name of a follow of `source`.
pub fn stream_name(source: &str) -> String {
    format!("logs:{source}")
}

/// `logs.sources`: what may be read.
#[derive(Debug)]
pub struct LogsSources;

impl Method for LogsSources {
    const NAME: &'static str = "logs.sources";
    const CAPABILITY: Option<&'static str> = Some("logs");
    type Request = Empty;
    type Response = SourcesResponse;
}

/// `logs.tail`: the last lines of one source.
#[derive(Debug)]
pub struct LogsTail;

impl Method for LogsTail {
    const NAME: &'static str = "logs.tail";
    const CAPABILITY: Option<&'static str> = Some("logs");
    type Request = TailRequest;
    type Response = Lines;
}

/// `logs.follow`: new lines of one source pushed as events of the stream
/// [`stream_name`]`(source)`, each body a [`Lines`], until `logs.unfollow`,
/// the session ends, or the app is unpaired.
#[derive(Debug)]
pub struct LogsFollow;

impl Method for LogsFollow {
    const NAME: &'static str = "logs.follow";
    const CAPABILITY: Option<&'static str> = Some("logs");
    type Request = SourceRequest;
    type Response = FollowResponse;
    const FOLLOWS: super::Follows = super::Follows::Starts;
    fn subject(request: &SourceRequest) -> String {
        request.source.clone()
    }
}

/// `logs.unfollow`: stops a follow.
#[derive(Debug)]
pub struct LogsUnfollow;

impl Method for LogsUnfollow {
    const NAME: &'static str = "logs.unfollow";
    const CAPABILITY: Option<&'static str> = Some("logs");
    type Request = SourceRequest;
    type Response = Empty;
    const FOLLOWS: super::Follows = super::Follows::Stops {
        starts: LogsFollow::NAME,
    };
    fn subject(request: &SourceRequest) -> String {
        request.source.clone()
    }
}

/// Every readable source: systemd units (their journal), containers
/// (their standard output and error) and files.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SourcesResponse {
    /// Unit names, container names and file paths, as the configuration
    /// lists them; unique.
    pub sources: Vec<String>,
    /// The follow budget, bytes per second.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub bytes_per_sec: u64,
    /// What each of `sources` is, in the same order. Empty from managers
    /// before containers: there a path (starting with `/`) is a file and
    /// any other name a unit.
    #[serde(default)]
    pub kinds: Vec<SourceKind>,
}

/// What a log source is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// A systemd unit's journal.
    Unit,
    /// A container's standard output and error.
    Container,
    /// A file.
    File,
}

/// Which source, and how many lines.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TailRequest {
    /// A unit or file as listed.
    pub source: String,
    /// How many lines, at most [`MAX_TAIL_LINES`].
    pub lines: u32,
    /// How many of the newest lines to leave out: the next older page is
    /// asked with `skip` grown by the lines received. `skip + lines` is at
    /// most [`MAX_TAIL_DEPTH`].
    #[serde(default)]
    pub skip: u32,
    /// Only the lines containing this text, ignoring case: the manager
    /// searches its source's newest [`MAX_SEARCH_LINES`] lines (at most
    /// [`MAX_SEARCH_BYTES`]) and pages through the matches as `lines` and
    /// `skip` say. At most [`MAX_PATTERN_BYTES`]; blank is no search.
    /// Managers before searches ignore it (their answer has no `searched`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
}

/// Which source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SourceRequest {
    /// A unit or file as listed.
    pub source: String,
}

/// A follow started.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FollowResponse {
    /// The stream its events come on.
    pub stream: String,
}

/// Lines of a source, oldest first: a tail's answer, or one follow event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Lines {
    /// The source.
    pub source: String,
    /// The lines, without their line ends.
    pub lines: Vec<String>,
    /// Bytes left out. In a follow: since the previous event, because the
    /// source wrote more than the budget allows. In a tail: the older lines
    /// asked for that did not fit in one answer (ask for them with a larger
    /// `skip`). Either way also what long lines lost past
    /// [`MAX_LINE_BYTES`].
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub dropped_bytes: u64,
    /// In a tail: how many of the lines asked for were left out to fit in
    /// one answer (the oldest ones).
    #[serde(default)]
    pub left_out: u32,
    /// In a search (a tail with a `pattern`): how many of the source's
    /// newest lines were searched; absent otherwise, and from managers
    /// that cannot search.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub searched: Option<u32>,
}

/// `line` cut to [`MAX_LINE_BYTES`] at a character boundary, ending with
/// `…` when cut; the bytes it lost.
pub fn cut_line(line: &str) -> (String, u64) {
    if line.len() <= MAX_LINE_BYTES {
        return (line.to_owned(), 0);
    }
    let mut end = MAX_LINE_BYTES - '…'.len_utf8();
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    let mut cut = line[..end].to_owned();
    cut.push('…');
    (cut, (line.len() - end) as u64)
}

/// Bytes a line takes in a [`Lines`] body: its JSON string and a comma.
fn encoded_len(line: &str) -> usize {
    serde_json::to_string(line).map_or(line.len() * 6 + 2, |s| s.len()) + 1
}

impl Lines {
    /// The newest of `lines` (oldest first, each already cut to
    /// [`MAX_LINE_BYTES`]) that fit in [`MAX_LINES_BODY`] bytes of JSON;
    /// the older ones left out are counted in `left_out` and
    /// `dropped_bytes`, on top of `dropped` already counted.
    pub fn fit_newest(source: &str, mut lines: Vec<String>, dropped: u64) -> Lines {
        let mut room = MAX_LINES_BODY.saturating_sub(encoded_len(source) + 96);
        let mut keep = 0;
        for line in lines.iter().rev() {
            let len = encoded_len(line);
            if len > room {
                break;
            }
            room -= len;
            keep += 1;
        }
        let first = lines.len() - keep;
        let lost: u64 = lines[..first].iter().map(|l| l.len() as u64 + 1).sum();
        let kept = lines.split_off(first);
        Lines {
            source: source.to_owned(),
            lines: kept,
            dropped_bytes: dropped + lost,
            left_out: u32::try_from(first).unwrap_or(u32::MAX),
            searched: None,
        }
    }

    /// `lines` (oldest first, each cut to [`MAX_LINE_BYTES`]) in as few
    /// bodies as keep each under [`MAX_LINES_BODY`] bytes of JSON, oldest
    /// first: the events of one follow batch. `dropped` goes with the first.
    pub fn split_to_fit(source: &str, lines: Vec<String>, dropped: u64) -> Vec<Lines> {
        let budget = MAX_LINES_BODY.saturating_sub(encoded_len(source) + 96);
        let mut out = Vec::new();
        let mut batch = Vec::new();
        let mut used = 0;
        for line in lines {
            let len = encoded_len(&line);
            if used + len > budget && !batch.is_empty() {
                out.push(std::mem::take(&mut batch));
                used = 0;
            }
            used += len;
            batch.push(line);
        }
        if !batch.is_empty() || dropped > 0 {
            out.push(batch);
        }
        out.into_iter()
            .enumerate()
            .map(|(i, lines)| Lines {
                source: source.to_owned(),
                lines,
                dropped_bytes: if i == 0 { dropped } else { 0 },
                left_out: 0,
                searched: None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thousand_long_lines_are_cut_by_bytes_and_say_so() {
        let lines: Vec<String> = (0..1000)
            .map(|i| format!("{i:04} {}", "x".repeat(195)))
            .collect();
        let fit = Lines::fit_newest("geth.log", lines, 0);
        let body = crate::api::encode(&fit);
        assert!(body.len() <= MAX_LINES_BODY, "{}", body.len());
        assert!(fit.lines.len() > 200 && fit.lines.len() < 1000);
        assert_eq!(fit.lines.last().unwrap()[..4], *"0999", "the newest kept");
        assert_eq!(fit.left_out as usize, 1000 - fit.lines.len());
        assert_eq!(fit.dropped_bytes, u64::from(fit.left_out) * 201);
    }

    #[test]
    fn escapes_count_as_what_they_cost() {
        // A control character is 6 bytes of JSON: the fit counts that.
        let lines = vec!["\u{1b}".repeat(2000); 20];
        let fit = Lines::fit_newest("s", lines, 0);
        assert!(crate::api::encode(&fit).len() <= MAX_LINES_BODY);
        assert!(fit.left_out > 0);
    }

    #[test]
    fn long_lines_are_cut_at_a_character_boundary() {
        let (cut, lost) = cut_line(&"é".repeat(10_000));
        assert!(cut.len() <= MAX_LINE_BYTES && cut.ends_with('…'));
        assert_eq!(cut.len() - '…'.len_utf8() + lost as usize, 20_000);
        assert_eq!(cut_line("short"), ("short".to_owned(), 0));
    }

    #[test]
    fn a_large_batch_becomes_several_events_that_each_fit() {
        let lines: Vec<String> = (0..2000)
            .map(|i| format!("{i} {}", "y".repeat(100)))
            .collect();
        let events = Lines::split_to_fit("s", lines, 7);
        assert!(events.len() >= 4);
        assert_eq!(events[0].dropped_bytes, 7);
        assert_eq!(events.iter().map(|e| e.lines.len()).sum::<usize>(), 2000);
        for e in &events {
            assert!(crate::api::encode(e).len() <= MAX_LINES_BODY);
        }
    }
}
