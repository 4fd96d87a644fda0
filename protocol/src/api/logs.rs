//! `logs.sources`, `logs.tail`, `logs.follow`, `logs.unfollow`: the journals and files the operator listed, their last lines, and a live follow under a byte budget.

use super::{Empty, Method};
use serde::{Deserialize, Serialize};

/// Most follows one app may have at once; one more is refused with
/// [`Status::RATE_LIMITED`](crate::status::Status::RATE_LIMITED).
pub const MAX_FOLLOWS: usize = 4;

/// Most lines one `logs.tail` returns.
pub const MAX_TAIL_LINES: u32 = 1000;

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
}

/// `logs.unfollow`: stops a follow.
#[derive(Debug)]
pub struct LogsUnfollow;

impl Method for LogsUnfollow {
    const NAME: &'static str = "logs.unfollow";
    const CAPABILITY: Option<&'static str> = Some("logs");
    type Request = SourceRequest;
    type Response = Empty;
}

/// Every readable source: systemd units (their journal) and files.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SourcesResponse {
    /// Unit names and file paths, as the configuration lists them.
    pub sources: Vec<String>,
    /// The follow budget, bytes per second.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub bytes_per_sec: u64,
}

/// Which source, and how many lines.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TailRequest {
    /// A unit or file as listed.
    pub source: String,
    /// How many lines, at most [`MAX_TAIL_LINES`].
    pub lines: u32,
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
    /// Bytes left out since the previous event because the source wrote
    /// more than the budget allows (0 in a tail).
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub dropped_bytes: u64,
}
