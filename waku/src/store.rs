//! Store v3 (`/vac/waku/store-query/3.0.0`): asking a store node for messages it relayed earlier, by content topic and time or by hash, a page at a time.
//!
//! One varint-length-prefixed protobuf each way per stream:
//!
//! - `StoreQueryRequest {request_id = 1, include_data = 2, pubsub_topic =
//!   10, content_topics = 11, time_start = 12 (sint64 ns), time_end = 13,
//!   message_hashes = 20, pagination_cursor = 51, pagination_forward = 52,
//!   pagination_limit = 53}`;
//! - `StoreQueryResponse {request_id = 1, status_code = 10, status_desc = 11,
//!   messages = 20 [WakuMessageKeyValue {message_hash = 1, message = 2,
//!   pubsub_topic = 3}], pagination_cursor = 51}`.
//!
//! [`Query::parse`] turns a request into a query or says why it is invalid;
//! [`archive`] keeps messages (SQLite) and answers queries; [`service`]
//! limits who asks how often and keeps the archive off the network task.

pub mod archive;
pub mod service;

use crate::length_prefixed::ProtobufCodec;
use crate::message::{MAX_MESSAGE_SIZE, MessageHash, WakuMessage};
use libp2p::StreamProtocol;
use libp2p::request_response;

/// The protocol id.
pub const PROTOCOL: StreamProtocol = StreamProtocol::new("/vac/waku/store-query/3.0.0");

/// Page size when the request sets none (js-waku's and nwaku's default).
pub const DEFAULT_PAGE_SIZE: usize = 20;
/// Largest page a store node returns, whatever is asked.
pub const MAX_PAGE_SIZE: usize = 100;
/// Most hashes one lookup may name.
pub const MAX_HASHES_PER_QUERY: usize = 100;
/// Most content topics one query may name.
pub const MAX_CONTENT_TOPICS: usize = 100;

/// A request asks for topics and hashes only.
const MAX_REQUEST_FRAME: usize = 64 * 1024;
/// A response holds up to a page of messages.
const MAX_RESPONSE_FRAME: usize = MAX_PAGE_SIZE * (MAX_MESSAGE_SIZE + 1024);

/// Status codes of store responses.
#[derive(Clone, Copy, Debug)]
pub struct StoreStatus;

impl StoreStatus {
    /// Answered.
    pub const OK: u32 = 200;
    /// The query is not valid (see its description).
    pub const BAD_REQUEST: u32 = 400;
    /// Over the node's request rate.
    pub const TOO_MANY_REQUESTS: u32 = 429;
    /// The node cannot answer now (its archive failed).
    pub const SERVICE_UNAVAILABLE: u32 = 503;
}

/// A store query, as on the wire.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct StoreQueryRequest {
    /// Chosen by the client, echoed in the response.
    #[prost(string, tag = "1")]
    pub request_id: String,
    /// Whether to return messages, or only their hashes.
    #[prost(bool, tag = "2")]
    pub include_data: bool,
    /// With `content_topics`: the pubsub topic to look in.
    #[prost(string, optional, tag = "10")]
    pub pubsub_topic: Option<String>,
    /// With `pubsub_topic`: the content topics wanted.
    #[prost(string, repeated, tag = "11")]
    pub content_topics: Vec<String>,
    /// Messages with a timestamp at or after this, ns.
    #[prost(sint64, optional, tag = "12")]
    pub time_start: Option<i64>,
    /// Messages with a timestamp before this, ns.
    #[prost(sint64, optional, tag = "13")]
    pub time_end: Option<i64>,
    /// A lookup: these hashes (and no content filter).
    #[prost(bytes = "vec", repeated, tag = "20")]
    pub message_hashes: Vec<Vec<u8>>,
    /// The hash where the previous page ended (exclusive).
    #[prost(bytes = "vec", optional, tag = "51")]
    pub pagination_cursor: Option<Vec<u8>>,
    /// Ascending (oldest first) when true; descending from the newest when
    /// false (the default).
    #[prost(bool, tag = "52")]
    pub pagination_forward: bool,
    /// Most entries wanted in this page.
    #[prost(uint64, optional, tag = "53")]
    pub pagination_limit: Option<u64>,
}

/// One entry of a response.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct WakuMessageKeyValue {
    /// The message's deterministic hash.
    #[prost(bytes = "vec", optional, tag = "1")]
    pub message_hash: Option<Vec<u8>>,
    /// The message, when data was asked for.
    #[prost(message, optional, tag = "2")]
    pub message: Option<WakuMessage>,
    /// Its pubsub topic, when data was asked for.
    #[prost(string, optional, tag = "3")]
    pub pubsub_topic: Option<String>,
}

/// A store answer, as on the wire.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct StoreQueryResponse {
    /// The request's id.
    #[prost(string, tag = "1")]
    pub request_id: String,
    /// 200 on success; see [`StoreStatus`].
    #[prost(uint32, optional, tag = "10")]
    pub status_code: Option<u32>,
    /// Why it failed.
    #[prost(string, optional, tag = "11")]
    pub status_desc: Option<String>,
    /// The page, oldest first whatever the direction.
    #[prost(message, repeated, tag = "20")]
    pub messages: Vec<WakuMessageKeyValue>,
    /// Set when more entries match: where the next page starts.
    #[prost(bytes = "vec", optional, tag = "51")]
    pub pagination_cursor: Option<Vec<u8>>,
}

impl StoreQueryResponse {
    /// A refusal of `request_id`.
    pub fn failure(request_id: &str, status: u32, why: impl Into<String>) -> Self {
        StoreQueryResponse {
            request_id: request_id.to_owned(),
            status_code: Some(status),
            status_desc: Some(why.into()),
            messages: Vec::new(),
            pagination_cursor: None,
        }
    }
}

/// What a query selects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selection {
    /// By content: topics (or all), time range.
    Content {
        /// `(pubsub topic, content topics)`, or `None` for every topic.
        topics: Option<(String, Vec<String>)>,
        /// Inclusive start, ns.
        start: Option<i64>,
        /// Exclusive end, ns.
        end: Option<i64>,
    },
    /// By hash.
    Hashes(Vec<MessageHash>),
}

/// A valid query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    /// What it selects.
    pub selection: Selection,
    /// Whether messages (not only hashes) are returned.
    pub include_data: bool,
    /// Where the previous page ended.
    pub cursor: Option<MessageHash>,
    /// Ascending when true.
    pub forward: bool,
    /// Page size, within [`MAX_PAGE_SIZE`].
    pub limit: usize,
}

impl Query {
    /// Checks a request against the rules of the store protocol.
    pub fn parse(request: &StoreQueryRequest) -> Result<Query, String> {
        let content_filter = request.pubsub_topic.is_some()
            || !request.content_topics.is_empty()
            || request.time_start.is_some()
            || request.time_end.is_some();
        let selection = if request.message_hashes.is_empty() {
            let topics = match (&request.pubsub_topic, request.content_topics.is_empty()) {
                (None, true) => None,
                (Some(pubsub), false) if !pubsub.is_empty() => {
                    if request.content_topics.len() > MAX_CONTENT_TOPICS {
                        return Err(format!(
                            "at most {MAX_CONTENT_TOPICS} content topics per query"
                        ));
                    }
                    Some((pubsub.clone(), request.content_topics.clone()))
                }
                _ => {
                    return Err(
                        "a pubsub topic and content topics go together: set both or neither".into(),
                    );
                }
            };
            if let (Some(start), Some(end)) = (request.time_start, request.time_end)
                && start > end
            {
                return Err("time_start is after time_end".into());
            }
            Selection::Content {
                topics,
                start: request.time_start,
                end: request.time_end,
            }
        } else {
            if content_filter {
                return Err("a query looks up hashes or filters by content, not both".into());
            }
            if request.message_hashes.len() > MAX_HASHES_PER_QUERY {
                return Err(format!("at most {MAX_HASHES_PER_QUERY} hashes per lookup"));
            }
            Selection::Hashes(
                request
                    .message_hashes
                    .iter()
                    .map(|h| hash_from(h).ok_or("a message hash is 32 bytes"))
                    .collect::<Result<_, _>>()?,
            )
        };
        let cursor = match &request.pagination_cursor {
            None => None,
            Some(c) => Some(hash_from(c).ok_or("a pagination cursor is a 32-byte message hash")?),
        };
        let limit = match request.pagination_limit {
            None | Some(0) => DEFAULT_PAGE_SIZE,
            Some(n) => usize::try_from(n)
                .unwrap_or(MAX_PAGE_SIZE)
                .min(MAX_PAGE_SIZE),
        };
        Ok(Query {
            selection,
            include_data: request.include_data,
            cursor,
            forward: request.pagination_forward,
            limit,
        })
    }
}

fn hash_from(bytes: &[u8]) -> Option<MessageHash> {
    <[u8; 32]>::try_from(bytes).ok().map(MessageHash)
}

/// The store protocol's codec: one protobuf each way.
pub type Codec =
    ProtobufCodec<StoreQueryRequest, StoreQueryResponse, MAX_REQUEST_FRAME, MAX_RESPONSE_FRAME>;

/// The store behaviour: answered when `serve` is set (a node with an
/// archive), asked always.
pub fn behaviour(serve: bool) -> request_response::Behaviour<Codec> {
    let support = if serve {
        request_response::ProtocolSupport::Full
    } else {
        request_response::ProtocolSupport::Outbound
    };
    request_response::Behaviour::new(
        [(PROTOCOL, support)],
        request_response::Config::default()
            .with_request_timeout(std::time::Duration::from_secs(20)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    fn content(topics: &[&str]) -> StoreQueryRequest {
        StoreQueryRequest {
            request_id: "q".into(),
            include_data: true,
            pubsub_topic: Some("/waku/2/rs/66/0".into()),
            content_topics: topics.iter().map(|t| (*t).to_owned()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn field_numbers_are_the_specs() {
        let mut r = content(&["/a/1/b/p"]);
        r.time_start = Some(-1);
        r.pagination_forward = true;
        let bytes = r.encode_to_vec();
        // include_data (2, varint), pubsub_topic (10), time_start (12,
        // zig-zag: -1 is 1), pagination_forward (52: 0xa0 0x03).
        assert!(bytes.windows(2).any(|w| w == [0x10, 0x01]));
        assert!(bytes.windows(2).any(|w| w == [0x60, 0x01]));
        assert!(bytes.windows(3).any(|w| w == [0xa0, 0x03, 0x01]));
        assert_eq!(StoreQueryRequest::decode(bytes.as_slice()).unwrap(), r);
    }

    #[test]
    fn a_valid_query_gets_bounded_defaults() {
        let q = Query::parse(&content(&["/a/1/b/p"])).unwrap();
        assert_eq!(q.limit, DEFAULT_PAGE_SIZE);
        assert!(!q.forward, "backward unless asked");
        let mut big = content(&["/a/1/b/p"]);
        big.pagination_limit = Some(u64::MAX);
        assert_eq!(Query::parse(&big).unwrap().limit, MAX_PAGE_SIZE);
        let all = StoreQueryRequest::default();
        assert_eq!(
            Query::parse(&all).unwrap().selection,
            Selection::Content {
                topics: None,
                start: None,
                end: None
            }
        );
    }

    #[test]
    fn invalid_queries_say_why() {
        let mut half = content(&[]);
        assert!(Query::parse(&half).unwrap_err().contains("go together"));
        half.pubsub_topic = None;
        half.content_topics = vec!["/a/1/b/p".into()];
        assert!(Query::parse(&half).unwrap_err().contains("go together"));

        let mut both = content(&["/a/1/b/p"]);
        both.message_hashes = vec![vec![0; 32]];
        assert!(Query::parse(&both).unwrap_err().contains("not both"));

        let lookup = StoreQueryRequest {
            message_hashes: vec![vec![0; 31]],
            ..Default::default()
        };
        assert!(Query::parse(&lookup).unwrap_err().contains("32 bytes"));

        let mut cursor = content(&["/a/1/b/p"]);
        cursor.pagination_cursor = Some(vec![1, 2, 3]);
        assert!(Query::parse(&cursor).unwrap_err().contains("cursor"));

        let mut backwards = content(&["/a/1/b/p"]);
        backwards.time_start = Some(10);
        backwards.time_end = Some(5);
        assert!(Query::parse(&backwards).unwrap_err().contains("after"));
    }
}
