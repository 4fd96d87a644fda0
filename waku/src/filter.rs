//! Filter v2 (`/vac/waku/filter-subscribe/2.0.0-beta1` and `/vac/waku/filter-push/2.0.0-beta1`): a light node subscribes to content topics on a service node, which pushes it each matching message.
//!
//! Subscribe requests go client → service and are answered; pushes go
//! service → client on their own protocol and are not answered (the pushing
//! side writes one frame and closes). Wire forms, each one varint-length-
//! prefixed protobuf per stream:
//!
//! - `FilterSubscribeRequest {request_id = 1, filter_subscribe_type = 2
//!   (SUBSCRIBER_PING 0, SUBSCRIBE 1, UNSUBSCRIBE 2, UNSUBSCRIBE_ALL 3),
//!   pubsub_topic = 10 (optional), content_topics = 11 (repeated)}`;
//! - `FilterSubscribeResponse {request_id = 1, status_code = 10, status_desc
//!   = 11 (optional)}`;
//! - `MessagePush {waku_message = 1, pubsub_topic = 2 (optional)}`.
//!
//! The codecs are here; [`client`] is the subscribing side (topics,
//! service node, pings) and [`service`] the serving side (its subscribers,
//! kept by [`subscriptions`]).

pub mod client;
pub mod service;
pub mod subscriptions;

use crate::length_prefixed::{ProtobufCodec, read_message, write_message};
use crate::message::{MAX_MESSAGE_SIZE, WakuMessage};
use futures::{AsyncRead, AsyncWrite};
use libp2p::StreamProtocol;
use libp2p::request_response;
use std::io;

/// The subscribe protocol id.
pub const SUBSCRIBE_PROTOCOL: StreamProtocol =
    StreamProtocol::new("/vac/waku/filter-subscribe/2.0.0-beta1");
/// The push protocol id.
pub const PUSH_PROTOCOL: StreamProtocol = StreamProtocol::new("/vac/waku/filter-push/2.0.0-beta1");

/// Most content topics one request may name (nwaku's limit).
pub const MAX_CONTENT_TOPICS_PER_REQUEST: usize = 100;
/// Subscribe requests are small: topics only.
const MAX_SUBSCRIBE_FRAME: usize = 64 * 1024;
/// A push carries one message plus its envelope.
const MAX_PUSH_FRAME: usize = MAX_MESSAGE_SIZE + 64 * 1024;

/// What a subscribe request asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, prost::Enumeration)]
#[repr(i32)]
pub enum SubscribeType {
    /// Is my subscription still there? (Also keeps it alive.)
    SubscriberPing = 0,
    /// Push me messages of these content topics on this pubsub topic.
    Subscribe = 1,
    /// Stop pushing these.
    Unsubscribe = 2,
    /// Stop pushing anything.
    UnsubscribeAll = 3,
}

/// A subscribe-protocol request, as on the wire.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct SubscribeRequest {
    /// Chosen by the client, echoed in the response.
    #[prost(string, tag = "1")]
    pub request_id: String,
    /// What is asked.
    #[prost(enumeration = "SubscribeType", tag = "2")]
    pub kind: i32,
    /// The pubsub topic (required for subscribe and unsubscribe).
    #[prost(string, optional, tag = "10")]
    pub pubsub_topic: Option<String>,
    /// The content topics (required for subscribe and unsubscribe).
    #[prost(string, repeated, tag = "11")]
    pub content_topics: Vec<String>,
}

impl SubscribeRequest {
    /// What the request asks; `None` for a type this version does not know.
    pub fn request_type(&self) -> Option<SubscribeType> {
        SubscribeType::try_from(self.kind).ok()
    }
}

/// A subscribe-protocol response, as on the wire.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct SubscribeResponse {
    /// The request's id.
    #[prost(string, tag = "1")]
    pub request_id: String,
    /// 200 on success; see [`FilterStatus`].
    #[prost(uint32, tag = "10")]
    pub status_code: u32,
    /// Why it failed, in the service's words.
    #[prost(string, optional, tag = "11")]
    pub status_desc: Option<String>,
}

/// A pushed message, as on the wire.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct MessagePush {
    /// The message.
    #[prost(message, optional, tag = "1")]
    pub waku_message: Option<WakuMessage>,
    /// The pubsub topic it came on.
    #[prost(string, optional, tag = "2")]
    pub pubsub_topic: Option<String>,
}

/// Status codes of subscribe responses (nwaku's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FilterStatus;

impl FilterStatus {
    /// Done.
    pub const OK: u32 = 200;
    /// The request is not valid (no topic, too many topics, unknown type).
    pub const BAD_REQUEST: u32 = 400;
    /// A ping or unsubscribe for a subscription the service does not have.
    pub const NOT_FOUND: u32 = 404;
    /// Over the service's limits (subscribers, topics).
    pub const TOO_MANY_REQUESTS: u32 = 429;
    /// The service cannot serve now.
    pub const SERVICE_UNAVAILABLE: u32 = 503;
}

impl SubscribeResponse {
    /// An answer to `request_id` with `status_code` and, unless OK, why.
    pub fn new(request_id: &str, status_code: u32, why: Option<String>) -> Self {
        SubscribeResponse {
            request_id: request_id.to_owned(),
            status_code,
            status_desc: why,
        }
    }
}

/// The subscribe protocol's codec: one protobuf each way.
pub type SubscribeCodec =
    ProtobufCodec<SubscribeRequest, SubscribeResponse, MAX_SUBSCRIBE_FRAME, MAX_SUBSCRIBE_FRAME>;

/// The push protocol's codec: one frame out, nothing back. The "response"
/// is empty on both sides, so the pusher does not wait for bytes that a
/// js-waku or nwaku client never sends.
#[derive(Clone, Copy, Debug, Default)]
pub struct PushCodec;

impl request_response::Codec for PushCodec {
    type Protocol = StreamProtocol;
    type Request = MessagePush;
    type Response = ();

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<MessagePush>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_message(io, MAX_PUSH_FRAME).await
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, _: &mut T) -> io::Result<()>
    where
        T: AsyncRead + Unpin + Send,
    {
        Ok(())
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        push: MessagePush,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_message(io, &push).await
    }

    async fn write_response<T>(&mut self, _: &StreamProtocol, _: &mut T, (): ()) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        Ok(())
    }
}

/// The subscribe behaviour: answered when `serve` is set (a service node),
/// asked as a client always.
pub fn subscribe_behaviour(serve: bool) -> request_response::Behaviour<SubscribeCodec> {
    let support = if serve {
        request_response::ProtocolSupport::Full
    } else {
        request_response::ProtocolSupport::Outbound
    };
    request_response::Behaviour::new(
        [(SUBSCRIBE_PROTOCOL, support)],
        request_response::Config::default()
            .with_request_timeout(std::time::Duration::from_secs(15)),
    )
}

/// The push behaviour: a service pushes, a client is pushed to; both sides
/// speak it, since a relay node may be either.
pub fn push_behaviour() -> request_response::Behaviour<PushCodec> {
    request_response::Behaviour::new(
        [(PUSH_PROTOCOL, request_response::ProtocolSupport::Full)],
        request_response::Config::default()
            .with_request_timeout(std::time::Duration::from_secs(15)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn a_subscribe_request_has_js_wakus_field_numbers() {
        let request = SubscribeRequest {
            request_id: "r".into(),
            kind: SubscribeType::Subscribe as i32,
            pubsub_topic: Some("/waku/2/rs/66/0".into()),
            content_topics: vec!["/nodepair/1/a/proto".into(), "/nodepair/1/b/proto".into()],
        };
        let bytes = request.encode_to_vec();
        assert_eq!(
            &bytes[..5],
            &[0x0a, 0x01, b'r', 0x10, 0x01],
            "id, then type 1 as field 2"
        );
        assert_eq!(bytes[5], 0x52, "pubsub topic is field 10, length-delimited");
        assert_eq!(SubscribeRequest::decode(bytes.as_slice()).unwrap(), request);
        assert_eq!(request.request_type(), Some(SubscribeType::Subscribe));
    }

    #[test]
    fn an_unknown_type_is_kept_and_reported_as_unknown() {
        let request = SubscribeRequest {
            kind: 9,
            ..Default::default()
        };
        let back = SubscribeRequest::decode(request.encode_to_vec().as_slice()).unwrap();
        assert_eq!(back.request_type(), None);
    }

    #[test]
    fn a_push_round_trips_and_a_ping_is_just_an_id() {
        let push = MessagePush {
            waku_message: Some(WakuMessage::new("/nodepair/1/a/proto", b"x".to_vec())),
            pubsub_topic: Some("/waku/2/rs/66/0".into()),
        };
        assert_eq!(
            MessagePush::decode(push.encode_to_vec().as_slice()).unwrap(),
            push
        );
        let ping = SubscribeRequest {
            request_id: "p".into(),
            kind: SubscribeType::SubscriberPing as i32,
            ..Default::default()
        };
        // Type 0 is the default and is not written.
        assert_eq!(ping.encode_to_vec(), [0x0a, 0x01, b'p']);
    }
}
