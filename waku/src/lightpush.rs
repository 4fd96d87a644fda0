//! Light push (`/vac/waku/lightpush/2.0.0-beta1` and `/vac/waku/lightpush/3.0.0`): a light node hands one message to a service node, which relays it and says whether it could.
//!
//! One varint-length-prefixed protobuf goes each way on a fresh stream. The
//! two versions carry the same thing in different envelopes:
//!
//! - v2 (19/WAKU2-LIGHTPUSH, what js-waku 0.0.27 speaks): `PushRpc
//!   {request_id = 1, request = 2 {pubsub_topic = 1, message = 2}, response
//!   = 3 {is_success = 1, info = 2}}`;
//! - v3 (WAKU-LIGHTPUSH): `LightPushRequest {request_id = 1, request_type =
//!   10, pubsub_topic = 20 (optional), message = 21}` and `LightPushResponse
//!   {request_id = 1, status_code = 10, status_desc = 11, relay_peer_count =
//!   12}`.
//!
//! Both decode to [`PushRequest`] and [`PushResponse`]; a v2 answer has no
//! status code, so success reads as [`PushStatus::SUCCESS`] and failure as
//! [`PushStatus::INTERNAL_SERVER_ERROR`] with the service's words.
//!
//! The codec is here; [`client`] matches our pushes to their answers and
//! [`service`] says what a relay node answers one.

pub mod client;
pub mod service;

use crate::length_prefixed::{read_frame, write_frame};
use crate::message::{MAX_MESSAGE_SIZE, WakuMessage};
use futures::{AsyncRead, AsyncWrite};
use libp2p::StreamProtocol;
use libp2p::request_response;
use prost::Message;
use std::io;

/// The v2 protocol id (js-waku 0.0.27, nwaku's legacy light push).
pub const PROTOCOL_V2: StreamProtocol = StreamProtocol::new("/vac/waku/lightpush/2.0.0-beta1");
/// The v3 protocol id.
pub const PROTOCOL_V3: StreamProtocol = StreamProtocol::new("/vac/waku/lightpush/3.0.0");

/// A request carries one message plus its envelope.
const MAX_FRAME: usize = MAX_MESSAGE_SIZE + 64 * 1024;

/// A v3 status code; v2 answers are mapped onto these.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PushStatus(pub u32);

impl PushStatus {
    /// Relayed; `relay_peer_count` says to how many peers.
    pub const SUCCESS: PushStatus = PushStatus(200);
    /// The request was not a valid push (no message, an invalid one).
    pub const BAD_REQUEST: PushStatus = PushStatus(400);
    /// The message is over the size limit.
    pub const PAYLOAD_TOO_LARGE: PushStatus = PushStatus(413);
    /// The service does not relay that pubsub topic.
    pub const UNSUPPORTED_PUBSUB_TOPIC: PushStatus = PushStatus(421);
    /// Over the service's request rate.
    pub const TOO_MANY_REQUESTS: PushStatus = PushStatus(429);
    /// Anything else; the description says what.
    pub const INTERNAL_SERVER_ERROR: PushStatus = PushStatus(500);
    /// The service has no relay peer to pass the message to.
    pub const NO_PEERS_TO_RELAY: PushStatus = PushStatus(503);

    /// Whether the push succeeded.
    pub fn is_success(self) -> bool {
        self == PushStatus::SUCCESS
    }
}

/// A push, whichever version carried it.
#[derive(Clone, Debug, PartialEq)]
pub struct PushRequest {
    /// Chosen by the client, echoed in the response.
    pub request_id: String,
    /// Where to relay; `None` (v3 only) lets the service pick by the
    /// content topic (autosharding).
    pub pubsub_topic: Option<String>,
    /// The message.
    pub message: WakuMessage,
}

/// What the service did with a push.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushResponse {
    /// The request's id.
    pub request_id: String,
    /// The outcome.
    pub status: PushStatus,
    /// Why it failed, in the service's words.
    pub description: Option<String>,
    /// How many relay peers the message went to (v3; `None` from v2).
    pub relay_peer_count: Option<u32>,
}

impl PushResponse {
    /// A failure answer to `request_id`.
    pub fn failure(request_id: &str, status: PushStatus, description: impl Into<String>) -> Self {
        PushResponse {
            request_id: request_id.to_owned(),
            status,
            description: Some(description.into()),
            relay_peer_count: None,
        }
    }
}

#[derive(Clone, PartialEq, prost::Message)]
struct WireRpcV2 {
    #[prost(string, tag = "1")]
    request_id: String,
    #[prost(message, optional, tag = "2")]
    request: Option<WireRequestV2>,
    #[prost(message, optional, tag = "3")]
    response: Option<WireResponseV2>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct WireRequestV2 {
    #[prost(string, tag = "1")]
    pubsub_topic: String,
    #[prost(message, optional, tag = "2")]
    message: Option<WakuMessage>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct WireResponseV2 {
    #[prost(bool, tag = "1")]
    is_success: bool,
    #[prost(string, optional, tag = "2")]
    info: Option<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct WireRequestV3 {
    #[prost(string, tag = "1")]
    request_id: String,
    /// Reserved; 0 (relay) is the only type.
    #[prost(uint32, tag = "10")]
    request_type: u32,
    #[prost(string, optional, tag = "20")]
    pubsub_topic: Option<String>,
    #[prost(message, optional, tag = "21")]
    message: Option<WakuMessage>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct WireResponseV3 {
    #[prost(string, tag = "1")]
    request_id: String,
    #[prost(uint32, tag = "10")]
    status_code: u32,
    #[prost(string, optional, tag = "11")]
    status_desc: Option<String>,
    #[prost(uint32, optional, tag = "12")]
    relay_peer_count: Option<u32>,
}

/// Why bytes are not a light push request or response.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LightPushError {
    /// Not the protobuf the version defines.
    #[error("not a light push protobuf: {0}")]
    Malformed(#[from] prost::DecodeError),
    /// A request without a message, or a v2 RPC without the part expected.
    #[error("light push {0} is missing")]
    Missing(&'static str),
    /// A protocol id this module does not speak.
    #[error("{0} is not a light push protocol")]
    Protocol(String),
}

impl From<LightPushError> for io::Error {
    fn from(e: LightPushError) -> Self {
        io::Error::new(io::ErrorKind::InvalidData, e)
    }
}

/// Encodes a request as `protocol` carries it.
pub fn encode_request(
    protocol: &StreamProtocol,
    request: &PushRequest,
) -> Result<Vec<u8>, LightPushError> {
    if *protocol == PROTOCOL_V3 {
        Ok(WireRequestV3 {
            request_id: request.request_id.clone(),
            request_type: 0,
            pubsub_topic: request.pubsub_topic.clone(),
            message: Some(request.message.clone()),
        }
        .encode_to_vec())
    } else if *protocol == PROTOCOL_V2 {
        Ok(WireRpcV2 {
            request_id: request.request_id.clone(),
            request: Some(WireRequestV2 {
                pubsub_topic: request.pubsub_topic.clone().unwrap_or_default(),
                message: Some(request.message.clone()),
            }),
            response: None,
        }
        .encode_to_vec())
    } else {
        Err(LightPushError::Protocol(protocol.to_string()))
    }
}

/// Decodes a request that came on `protocol`.
pub fn decode_request(
    protocol: &StreamProtocol,
    bytes: &[u8],
) -> Result<PushRequest, LightPushError> {
    if *protocol == PROTOCOL_V3 {
        let wire = WireRequestV3::decode(bytes)?;
        Ok(PushRequest {
            request_id: wire.request_id,
            pubsub_topic: wire.pubsub_topic.filter(|t| !t.is_empty()),
            message: wire.message.ok_or(LightPushError::Missing("message"))?,
        })
    } else if *protocol == PROTOCOL_V2 {
        let wire = WireRpcV2::decode(bytes)?;
        let request = wire.request.ok_or(LightPushError::Missing("request"))?;
        Ok(PushRequest {
            request_id: wire.request_id,
            pubsub_topic: Some(request.pubsub_topic).filter(|t| !t.is_empty()),
            message: request.message.ok_or(LightPushError::Missing("message"))?,
        })
    } else {
        Err(LightPushError::Protocol(protocol.to_string()))
    }
}

/// Encodes a response as `protocol` carries it.
pub fn encode_response(
    protocol: &StreamProtocol,
    response: &PushResponse,
) -> Result<Vec<u8>, LightPushError> {
    if *protocol == PROTOCOL_V3 {
        Ok(WireResponseV3 {
            request_id: response.request_id.clone(),
            status_code: response.status.0,
            status_desc: response.description.clone(),
            relay_peer_count: response.relay_peer_count,
        }
        .encode_to_vec())
    } else if *protocol == PROTOCOL_V2 {
        Ok(WireRpcV2 {
            request_id: response.request_id.clone(),
            request: None,
            response: Some(WireResponseV2 {
                is_success: response.status.is_success(),
                info: response.description.clone(),
            }),
        }
        .encode_to_vec())
    } else {
        Err(LightPushError::Protocol(protocol.to_string()))
    }
}

/// Decodes a response that came on `protocol`.
pub fn decode_response(
    protocol: &StreamProtocol,
    bytes: &[u8],
) -> Result<PushResponse, LightPushError> {
    if *protocol == PROTOCOL_V3 {
        let wire = WireResponseV3::decode(bytes)?;
        Ok(PushResponse {
            request_id: wire.request_id,
            status: PushStatus(wire.status_code),
            description: wire.status_desc,
            relay_peer_count: wire.relay_peer_count,
        })
    } else if *protocol == PROTOCOL_V2 {
        let wire = WireRpcV2::decode(bytes)?;
        let response = wire.response.ok_or(LightPushError::Missing("response"))?;
        Ok(PushResponse {
            request_id: wire.request_id,
            status: if response.is_success {
                PushStatus::SUCCESS
            } else {
                PushStatus::INTERNAL_SERVER_ERROR
            },
            description: response.info.filter(|i| !i.is_empty()),
            relay_peer_count: None,
        })
    } else {
        Err(LightPushError::Protocol(protocol.to_string()))
    }
}

/// The request/response codec for both versions.
#[derive(Clone, Copy, Debug, Default)]
pub struct Codec;

impl request_response::Codec for Codec {
    type Protocol = StreamProtocol;
    type Request = PushRequest;
    type Response = PushResponse;

    async fn read_request<T>(
        &mut self,
        protocol: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<PushRequest>
    where
        T: AsyncRead + Unpin + Send,
    {
        let bytes = read_frame(io, MAX_FRAME).await?;
        Ok(decode_request(protocol, &bytes)?)
    }

    async fn read_response<T>(
        &mut self,
        protocol: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<PushResponse>
    where
        T: AsyncRead + Unpin + Send,
    {
        let bytes = read_frame(io, MAX_FRAME).await?;
        Ok(decode_response(protocol, &bytes)?)
    }

    async fn write_request<T>(
        &mut self,
        protocol: &StreamProtocol,
        io: &mut T,
        request: PushRequest,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &encode_request(protocol, &request)?).await
    }

    async fn write_response<T>(
        &mut self,
        protocol: &StreamProtocol,
        io: &mut T,
        response: PushResponse,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &encode_response(protocol, &response)?).await
    }
}

/// A light push version, each with a behaviour of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Version {
    /// `/vac/waku/lightpush/2.0.0-beta1`.
    V2,
    /// `/vac/waku/lightpush/3.0.0`.
    V3,
}

impl Version {
    /// Its protocol id.
    pub fn protocol(self) -> StreamProtocol {
        match self {
            Version::V2 => PROTOCOL_V2,
            Version::V3 => PROTOCOL_V3,
        }
    }

    /// The version to ask a service that announces `protocols` over: v3
    /// where it speaks v3, else v2 where it speaks that.
    pub fn for_service<'a>(protocols: impl IntoIterator<Item = &'a str>) -> Option<Version> {
        let mut found = None;
        for protocol in protocols {
            if protocol == PROTOCOL_V3.as_ref() {
                return Some(Version::V3);
            }
            if protocol == PROTOCOL_V2.as_ref() {
                found = Some(Version::V2);
            }
        }
        found
    }
}

/// The light push behaviour for one version: served when `serve` is set
/// (a relay node), asked over as a client.
///
/// One protocol per behaviour, so that a client's stream names a single
/// protocol and negotiates lazily: the push goes out with the protocol's
/// name instead of a round trip later, which is a whole round trip per
/// push on a long link. The client picks the version by what the service
/// announced (see [`Version::for_service`]).
pub fn behaviour(version: Version, serve: bool) -> request_response::Behaviour<Codec> {
    let support = if serve {
        request_response::ProtocolSupport::Full
    } else {
        request_response::ProtocolSupport::Outbound
    };
    request_response::Behaviour::new(
        [(version.protocol(), support)],
        request_response::Config::default()
            .with_request_timeout(std::time::Duration::from_secs(20)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> PushRequest {
        PushRequest {
            request_id: "8d5e4f3a".into(),
            pubsub_topic: Some("/waku/2/rs/66/0".into()),
            message: WakuMessage {
                timestamp: Some(1_790_000_000_000_000_000),
                ..WakuMessage::new("/nodepair/1/session-ab/proto", b"sealed".to_vec())
            },
        }
    }

    #[test]
    fn a_service_is_asked_over_the_newest_version_it_announces() {
        let v2 = "/vac/waku/lightpush/2.0.0-beta1";
        let v3 = "/vac/waku/lightpush/3.0.0";
        let relay = "/vac/waku/relay/2.0.0";
        assert_eq!(Version::for_service([relay, v2, v3]), Some(Version::V3));
        assert_eq!(Version::for_service([v3, v2]), Some(Version::V3));
        assert_eq!(Version::for_service([relay, v2]), Some(Version::V2));
        assert_eq!(Version::for_service([relay]), None);
        assert_eq!(
            Version::for_service(["/vac/waku/lightpush/3.0.0/extra"]),
            None
        );
    }

    #[test]
    fn requests_round_trip_in_both_versions() {
        for protocol in [PROTOCOL_V2, PROTOCOL_V3] {
            let bytes = encode_request(&protocol, &request()).unwrap();
            assert_eq!(decode_request(&protocol, &bytes).unwrap(), request());
        }
    }

    #[test]
    fn a_v3_request_without_a_topic_leaves_it_to_the_service() {
        let mut r = request();
        r.pubsub_topic = None;
        let bytes = encode_request(&PROTOCOL_V3, &r).unwrap();
        assert_eq!(
            decode_request(&PROTOCOL_V3, &bytes).unwrap().pubsub_topic,
            None
        );
    }

    #[test]
    fn the_v2_wire_form_is_the_push_rpc_js_waku_sends() {
        // PushRpc { request_id: "r", request: { pubsub_topic: "t",
        //   message: { payload: "p", content_topic: "c" } } }, by hand.
        let bytes = [
            0x0a, 0x01, b'r', // request_id
            0x12, 0x0b, // request, 11 bytes
            0x0a, 0x01, b't', // pubsub_topic
            0x12, 0x06, 0x0a, 0x01, b'p', 0x12, 0x01, b'c', // message
        ];
        let got = decode_request(&PROTOCOL_V2, &bytes).unwrap();
        assert_eq!(got.request_id, "r");
        assert_eq!(got.pubsub_topic.as_deref(), Some("t"));
        assert_eq!(got.message, WakuMessage::new("c", b"p".to_vec()));
    }

    #[test]
    fn the_v3_wire_form_uses_the_spec_field_numbers() {
        let bytes = encode_request(&PROTOCOL_V3, &request()).unwrap();
        // request_id (1, len) first, then pubsub_topic as field 20 (tag
        // 0xa2 0x01) and message as field 21 (0xaa 0x01); request_type 0 is
        // not written.
        assert_eq!(bytes[0], 0x0a);
        let topic_at = bytes.windows(2).position(|w| w == [0xa2, 0x01]).unwrap();
        let message_at = bytes.windows(2).position(|w| w == [0xaa, 0x01]).unwrap();
        assert!(topic_at < message_at);
    }

    #[test]
    fn responses_keep_what_each_version_can_say() {
        let ok = PushResponse {
            request_id: "8d5e4f3a".into(),
            status: PushStatus::SUCCESS,
            description: None,
            relay_peer_count: Some(3),
        };
        let v3 = encode_response(&PROTOCOL_V3, &ok).unwrap();
        assert_eq!(decode_response(&PROTOCOL_V3, &v3).unwrap(), ok);
        let v2 = encode_response(&PROTOCOL_V2, &ok).unwrap();
        let back = decode_response(&PROTOCOL_V2, &v2).unwrap();
        assert!(back.status.is_success());
        assert_eq!(back.relay_peer_count, None, "v2 has no peer count");

        let refused = PushResponse::failure("x", PushStatus::NO_PEERS_TO_RELAY, "no relay peers");
        let v2 = encode_response(&PROTOCOL_V2, &refused).unwrap();
        let back = decode_response(&PROTOCOL_V2, &v2).unwrap();
        assert_eq!(back.status, PushStatus::INTERNAL_SERVER_ERROR);
        assert_eq!(back.description.as_deref(), Some("no relay peers"));
        let v3 = encode_response(&PROTOCOL_V3, &refused).unwrap();
        assert_eq!(decode_response(&PROTOCOL_V3, &v3).unwrap(), refused);
    }

    #[test]
    fn bad_input_is_refused_with_what_is_wrong() {
        assert!(matches!(
            decode_request(&PROTOCOL_V3, &[0xff, 0xff]),
            Err(LightPushError::Malformed(_))
        ));
        // A v2 RPC that carries a response where a request belongs.
        let answer = encode_response(
            &PROTOCOL_V2,
            &PushResponse::failure("x", PushStatus::BAD_REQUEST, "no"),
        )
        .unwrap();
        assert!(matches!(
            decode_request(&PROTOCOL_V2, &answer),
            Err(LightPushError::Missing("request"))
        ));
        // A v3 request without a message.
        let empty = WireRequestV3 {
            request_id: "x".into(),
            ..Default::default()
        }
        .encode_to_vec();
        assert!(matches!(
            decode_request(&PROTOCOL_V3, &empty),
            Err(LightPushError::Missing("message"))
        ));
        assert!(matches!(
            decode_request(&StreamProtocol::new("/vac/waku/lightpush/9"), &[]),
            Err(LightPushError::Protocol(_))
        ));
    }
}
