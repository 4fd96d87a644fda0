//! Frames: what travels inside an established session (protobuf, versioned).
//!
//! A frame is one of: a request, its response (with a 16-bit status code), a
//! server-push event, a ping or pong, a disconnect with a reason, or a
//! node-state update. Unknown fields are
//! skipped, so later versions can add to any message; a frame of a type this
//! version does not know is reported as such and ignored by sessions.

mod canonical;

use crate::status::Status;
use bytes::Bytes;
pub use bytestring::ByteString;
use prost::Message;

/// Largest encoded frame accepted or sent; checked before decoding, so a
/// peer cannot make us allocate more. Sealed, it stays far below Waku's
/// 150 KiB message limit.
pub const MAX_FRAME_LEN: usize = 60 * 1024;

/// Version of the frame format, carried in every frame.
pub const FRAME_VERSION: u32 = 1;

/// The request that revokes a pairing: the receiver answers 200, forgets
/// the sender and sends nothing more on the session; the sender forgets the
/// receiver once that 200 arrives (see `docs/protocol.md` §8).
pub const REVOKE_METHOD: &str = "nodepair.revoke";

/// Request methods starting with this are the protocol's own; an
/// application may not send them (docs/protocol.md §8).
pub const RESERVED_METHOD_PREFIX: &str = "nodepair.";

/// Whether `method` is reserved for the protocol.
pub fn is_reserved_method(method: &str) -> bool {
    method.starts_with(RESERVED_METHOD_PREFIX)
}

/// One frame, decoded.
#[derive(Clone, Debug, PartialEq)]
pub enum Frame {
    /// Asks the other side for something; answered by a [`Frame::Response`]
    /// with the same `id`.
    Request(Request),
    /// Answers the request with the same `id`.
    Response(Response),
    /// Data the sender pushes without being asked (e.g. a followed log).
    Event(Event),
    /// Keepalive; the other side answers with a pong of the same `id`.
    Ping {
        /// Echoed in the pong.
        id: u64,
    },
    /// Answers the ping with the same `id`.
    Pong {
        /// The ping's id.
        id: u64,
    },
    /// The sender is closing the session, and says why.
    Disconnect {
        /// Why.
        reason: DisconnectReason,
        /// Free text for logs; may be empty.
        detail: String,
    },
    /// The sender's advertised state changed.
    StateUpdate(StateUpdate),
}

/// A request: what is asked, and its arguments.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Request {
    /// Matches the response to the request; unique per sender and session.
    #[prost(uint64, tag = "1")]
    pub id: u64,
    /// What is asked, e.g. `host.status`.
    #[prost(string, tag = "2")]
    pub method: String,
    /// The arguments, encoded as the method defines.
    #[prost(bytes = "bytes", tag = "3")]
    pub body: Bytes,
}

/// A response: the request's id, a status code and a body.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Response {
    /// The id of the request answered.
    #[prost(uint64, tag = "1")]
    pub id: u64,
    /// How it went; 16 bits on the wire's meaning (see [`Status`]).
    #[prost(uint32, tag = "2")]
    pub status: u32,
    /// The result, encoded as the method defines; a message on errors.
    #[prost(bytes = "bytes", tag = "3")]
    pub body: Bytes,
}

impl Response {
    /// The status code; [`decode`](Frame::decode) guarantees it fits 16 bits.
    pub fn status(&self) -> Status {
        Status(u16::try_from(self.status).unwrap_or(u16::MAX))
    }
}

/// A pushed event of some stream.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Which stream, e.g. `logs:geth`. Shared, not copied, from the
    /// decoded message, and free to clone from a `&'static str`
    /// ([`ByteString::from_static`]): a stream pushes many events.
    pub stream: ByteString,
    /// Position in the stream, so gaps can be seen.
    pub seq: u64,
    /// The event, encoded as the stream defines.
    pub body: Bytes,
}

/// [`Event`] as prost reads and writes it (the frames it does not take
/// from [`canonical`]).
#[derive(Clone, PartialEq, prost::Message)]
struct WireEvent {
    #[prost(string, tag = "1")]
    stream: String,
    #[prost(uint64, tag = "2")]
    seq: u64,
    #[prost(bytes = "bytes", tag = "3")]
    body: Bytes,
}

impl Event {
    fn from_wire(e: WireEvent) -> Event {
        Event {
            stream: ByteString::from(e.stream),
            seq: e.seq,
            body: e.body,
        }
    }

    fn into_wire(self) -> WireEvent {
        WireEvent {
            stream: self.stream.into(),
            seq: self.seq,
            body: self.body,
        }
    }
}

/// A change to what the sender advertises about itself.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StateUpdate {
    /// New display name, if it changed.
    #[prost(string, optional, tag = "1")]
    pub display_name: Option<String>,
    /// The full new list of capabilities, if it changed.
    #[prost(string, repeated, tag = "2")]
    pub capabilities: Vec<String>,
    /// Whether `capabilities` is set (an empty list is a valid update).
    #[prost(bool, tag = "3")]
    pub capabilities_changed: bool,
}

/// Why a session is closed; the table of seed 004, plus `Revoked`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum DisconnectReason {
    /// No reason given.
    Unspecified = 0,
    /// The peer stopped answering requests.
    ResponseStalling = 1,
    /// The peer speaks a protocol version we do not.
    IncompatibleVersion = 2,
    /// The peer is not who the session expected.
    UnexpectedIdentity = 3,
    /// The peer tried to change its identity.
    ForbiddenIdentityUpdate = 4,
    /// The session reached ourselves.
    ConnectedToSelf = 5,
    /// We take no new sessions now.
    NotAcceptingConnections = 6,
    /// The peer is banned.
    Banned = 7,
    /// A session with the peer already exists.
    AlreadyConnected = 8,
    /// The sender is shutting down; it will be back.
    Shutdown = 9,
    /// The peer's version field is malformed.
    MalformedVersion = 10,
    /// Authentication failed: the session was meant for another node.
    AuthInvalidTarget = 11,
    /// Authentication failed: a signature or tag did not verify.
    AuthInvalidSignature = 12,
    /// The peer broke the wire protocol.
    WireProtocolError = 13,
    /// The sender revoked the pairing and deleted the counterparty.
    Revoked = 14,
}

impl DisconnectReason {
    /// The reason in words, for logs and the UI.
    pub fn describe(self) -> &'static str {
        use DisconnectReason::*;
        match self {
            Unspecified => "no reason given",
            ResponseStalling => "response stalling",
            IncompatibleVersion => "incompatible protocol version",
            UnexpectedIdentity => "unexpected identity",
            ForbiddenIdentityUpdate => "forbidden identity update",
            ConnectedToSelf => "connected to self",
            NotAcceptingConnections => "not accepting new connections",
            Banned => "banned",
            AlreadyConnected => "already connected",
            Shutdown => "shutting down",
            MalformedVersion => "malformed version",
            AuthInvalidTarget => "authentication failure: invalid target node",
            AuthInvalidSignature => "authentication failure: invalid signature",
            WireProtocolError => "wire protocol error",
            Revoked => "pairing revoked",
        }
    }
}

/// The frame on the wire.
#[derive(Clone, PartialEq, prost::Message)]
struct WireFrame {
    #[prost(uint32, tag = "1")]
    version: u32,
    #[prost(oneof = "Body", tags = "2, 3, 4, 5, 6, 7, 8")]
    body: Option<Body>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
enum Body {
    #[prost(message, tag = "2")]
    Request(Request),
    #[prost(message, tag = "3")]
    Response(Response),
    #[prost(message, tag = "4")]
    Event(WireEvent),
    #[prost(message, tag = "5")]
    Ping(Keepalive),
    #[prost(message, tag = "6")]
    Pong(Keepalive),
    #[prost(message, tag = "7")]
    Disconnect(WireDisconnect),
    #[prost(message, tag = "8")]
    StateUpdate(StateUpdate),
}

#[derive(Clone, PartialEq, prost::Message)]
struct Keepalive {
    #[prost(uint64, tag = "1")]
    id: u64,
}

#[derive(Clone, PartialEq, prost::Message)]
struct WireDisconnect {
    #[prost(enumeration = "DisconnectReason", tag = "1")]
    reason: i32,
    #[prost(string, tag = "2")]
    detail: String,
}

/// A frame converted for encoding, so its length can be known before the
/// buffer it is encoded into is made.
pub(crate) struct Encodable(Encoding);

enum Encoding {
    /// A request, response or event, written by hand as prost would.
    Data(canonical::Data),
    /// Any other frame, written by prost.
    Other(WireFrame),
}

impl Encodable {
    /// Encoded length in bytes.
    pub(crate) fn len(&self) -> usize {
        match &self.0 {
            Encoding::Data(d) => d.len(),
            Encoding::Other(w) => w.encoded_len(),
        }
    }

    /// Appends the encoded frame to `out`.
    pub(crate) fn encode_into(&self, out: &mut Vec<u8>) {
        match &self.0 {
            Encoding::Data(d) => d.encode(out),
            Encoding::Other(w) => w.encode_raw(out),
        }
    }
}

/// Refuses a frame over [`MAX_FRAME_LEN`] before anything looks at it.
fn refuse_oversized(len: usize) -> Result<(), FrameError> {
    if len > MAX_FRAME_LEN {
        return Err(FrameError::TooLarge { len });
    }
    Ok(())
}

/// Why bytes are not a frame this side can use.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// Over [`MAX_FRAME_LEN`]; refused before decoding.
    #[error("frame of {len} bytes is over the {MAX_FRAME_LEN}-byte limit")]
    TooLarge {
        /// Bytes received.
        len: usize,
    },
    /// Not a protobuf encoding of a frame.
    #[error("frame is not valid protobuf: {0}")]
    Malformed(String),
    /// From a newer frame format this side cannot read.
    #[error("frame version {0} is newer than the {FRAME_VERSION} this side reads")]
    UnsupportedVersion(u32),
    /// A frame type this version does not know (from a newer peer): ignore it.
    #[error("frame of a type this version does not know")]
    UnknownType,
    /// A response whose status code does not fit 16 bits.
    #[error("response status {0} does not fit in 16 bits")]
    StatusOutOfRange(u32),
}

impl Frame {
    /// Encodes the frame.
    pub fn encode(&self) -> Vec<u8> {
        let frame = self.clone().into_encodable();
        let mut out = Vec::with_capacity(frame.len());
        frame.encode_into(&mut out);
        out
    }

    /// Encodes the frame with prost alone: what [`encode`](Self::encode)
    /// must write.
    #[doc(hidden)] // public for the fuzz target that holds the fast path to it
    pub fn encode_with_prost(&self) -> Vec<u8> {
        self.clone().into_wire().encode_to_vec()
    }

    /// The frame ready to encode, without copying its body.
    pub(crate) fn into_encodable(self) -> Encodable {
        Encodable(match canonical::Data::new(self) {
            Ok(data) => Encoding::Data(data),
            Err(other) => Encoding::Other(other.into_wire()),
        })
    }

    fn into_wire(self) -> WireFrame {
        let body = match self {
            Frame::Request(r) => Body::Request(r),
            Frame::Response(r) => Body::Response(r),
            Frame::Event(e) => Body::Event(e.into_wire()),
            Frame::Ping { id } => Body::Ping(Keepalive { id }),
            Frame::Pong { id } => Body::Pong(Keepalive { id }),
            Frame::Disconnect { reason, detail } => Body::Disconnect(WireDisconnect {
                reason: reason as i32,
                detail,
            }),
            Frame::StateUpdate(s) => Body::StateUpdate(s),
        };
        WireFrame {
            version: FRAME_VERSION,
            body: Some(body),
        }
    }

    /// Decodes a frame, refusing oversized input before looking at it.
    pub fn decode(bytes: &[u8]) -> Result<Frame, FrameError> {
        refuse_oversized(bytes.len())?;
        Self::decode_bytes(Bytes::copy_from_slice(bytes))
    }

    /// Like [`decode`](Self::decode); bodies become slices of `bytes`, not copies.
    pub fn decode_bytes(bytes: Bytes) -> Result<Frame, FrameError> {
        refuse_oversized(bytes.len())?;
        let bytes = match canonical::decode(bytes) {
            Ok(frame) => return Ok(frame),
            Err(other) => other,
        };
        Self::decode_with_prost(bytes)
    }

    /// Decodes any encoding of a frame protobuf allows.
    #[doc(hidden)] // public for the fuzz target that holds the fast path to it
    pub fn decode_with_prost(bytes: Bytes) -> Result<Frame, FrameError> {
        refuse_oversized(bytes.len())?;
        let wire = WireFrame::decode(bytes).map_err(|e| FrameError::Malformed(e.to_string()))?;
        if wire.version > FRAME_VERSION {
            return Err(FrameError::UnsupportedVersion(wire.version));
        }
        Ok(match wire.body.ok_or(FrameError::UnknownType)? {
            Body::Request(r) => Frame::Request(r),
            Body::Response(r) => {
                if r.status > u32::from(u16::MAX) {
                    return Err(FrameError::StatusOutOfRange(r.status));
                }
                Frame::Response(r)
            }
            Body::Event(e) => Frame::Event(Event::from_wire(e)),
            Body::Ping(k) => Frame::Ping { id: k.id },
            Body::Pong(k) => Frame::Pong { id: k.id },
            Body::Disconnect(d) => Frame::Disconnect {
                // A reason from a newer version reads as unspecified.
                reason: DisconnectReason::try_from(d.reason)
                    .unwrap_or(DisconnectReason::Unspecified),
                detail: d.detail,
            },
            Body::StateUpdate(s) => Frame::StateUpdate(s),
        })
    }
}

#[cfg(test)]
mod tests;
