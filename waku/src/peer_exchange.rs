//! Peer exchange (`/vac/waku/peer-exchange/2.0.0-alpha1`): asking a node for the records of peers it found, so a node that runs no discovery of its own (a light node) can still find service nodes.
//!
//! One varint-length-prefixed protobuf each way per stream:
//! `PeerExchangeRPC {query = 1 {num_peers = 1 (uint64)}, response = 2
//! {peer_infos = 1 [{enr = 1 (bytes, the record's RLP)}], status_code = 10,
//! status_desc = 11}}`. js-waku 0.0.27 knows `peer_infos` only; the status
//! fields are the newer spec's and are skipped by readers that do not know
//! them.

use crate::enr::{EnrError, WakuEnr};
use crate::length_prefixed::ProtobufCodec;
use libp2p::StreamProtocol;
use libp2p::request_response;
use std::time::Duration;

/// The protocol id.
pub const PROTOCOL: StreamProtocol = StreamProtocol::new("/vac/waku/peer-exchange/2.0.0-alpha1");

/// Most records one response carries, whatever is asked.
pub const MAX_PEERS_PER_RESPONSE: usize = 60;

/// A query is a number.
const MAX_REQUEST_FRAME: usize = 1024;
/// An ENR is at most 300 bytes; a response is at most this many of them.
const MAX_FRAME: usize = MAX_PEERS_PER_RESPONSE * 320 + 1024;

/// Status codes of the newer spec.
#[derive(Clone, Copy, Debug)]
pub struct PeerExchangeStatus;

impl PeerExchangeStatus {
    /// Answered.
    pub const OK: u32 = 200;
    /// The query asked for no peers.
    pub const BAD_REQUEST: u32 = 400;
    /// The node knows no peers to give.
    pub const SERVICE_UNAVAILABLE: u32 = 503;
}

/// The envelope both ways.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct PeerExchangeRpc {
    /// A request.
    #[prost(message, optional, tag = "1")]
    pub query: Option<PeerExchangeQuery>,
    /// An answer.
    #[prost(message, optional, tag = "2")]
    pub response: Option<PeerExchangeResponse>,
}

/// How many peers are wanted.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct PeerExchangeQuery {
    /// Peers wanted.
    #[prost(uint64, tag = "1")]
    pub num_peers: u64,
}

/// The peers given.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct PeerExchangeResponse {
    /// One record each.
    #[prost(message, repeated, tag = "1")]
    pub peer_infos: Vec<PeerExchangePeerInfo>,
    /// 200 when answered (absent from older nodes).
    #[prost(uint32, optional, tag = "10")]
    pub status_code: Option<u32>,
    /// Why not, when not answered.
    #[prost(string, optional, tag = "11")]
    pub status_desc: Option<String>,
}

/// One peer's record.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct PeerExchangePeerInfo {
    /// The record's RLP bytes.
    #[prost(bytes = "vec", optional, tag = "1")]
    pub enr: Option<Vec<u8>>,
}

impl PeerExchangeRpc {
    /// A request for `num_peers` peers.
    pub fn query(num_peers: u64) -> Self {
        PeerExchangeRpc {
            query: Some(PeerExchangeQuery { num_peers }),
            response: None,
        }
    }

    /// An answer carrying these records' RLP bytes.
    pub fn answer(records: Vec<Vec<u8>>) -> Self {
        PeerExchangeRpc {
            query: None,
            response: Some(PeerExchangeResponse {
                peer_infos: records
                    .into_iter()
                    .map(|enr| PeerExchangePeerInfo { enr: Some(enr) })
                    .collect(),
                status_code: Some(PeerExchangeStatus::OK),
                status_desc: None,
            }),
        }
    }

    /// A refusal.
    pub fn refusal(status: u32, why: impl Into<String>) -> Self {
        PeerExchangeRpc {
            query: None,
            response: Some(PeerExchangeResponse {
                peer_infos: Vec::new(),
                status_code: Some(status),
                status_desc: Some(why.into()),
            }),
        }
    }
}

/// Why an answer gave no peers.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum PeerExchangeError {
    /// The answer had no `response`.
    #[error("the peer exchange answer has no response")]
    NoResponse,
    /// The node said no.
    #[error("the node refused peer exchange ({code}): {desc}")]
    Refused {
        /// Its status code.
        code: u32,
        /// Its words.
        desc: String,
    },
}

/// The records an answer carries, each decoded and signature-checked; the
/// malformed ones come back as errors beside the good ones, so one bad record
/// costs only itself.
pub fn records(rpc: &PeerExchangeRpc) -> Result<Vec<Result<WakuEnr, EnrError>>, PeerExchangeError> {
    let response = rpc.response.as_ref().ok_or(PeerExchangeError::NoResponse)?;
    if let Some(code) = response.status_code
        && code != PeerExchangeStatus::OK
    {
        return Err(PeerExchangeError::Refused {
            code,
            desc: response.status_desc.clone().unwrap_or_default(),
        });
    }
    Ok(response
        .peer_infos
        .iter()
        .filter_map(|info| info.enr.as_deref())
        .take(MAX_PEERS_PER_RESPONSE)
        .map(crate::enr::from_rlp)
        .collect())
}

/// The peer exchange codec: the same message type both ways.
pub type Codec = ProtobufCodec<PeerExchangeRpc, PeerExchangeRpc, MAX_REQUEST_FRAME, MAX_FRAME>;

/// The peer exchange behaviour: asked always, answered when `serve` is set.
pub fn behaviour(serve: bool) -> request_response::Behaviour<Codec> {
    let support = if serve {
        request_response::ProtocolSupport::Full
    } else {
        request_response::ProtocolSupport::Outbound
    };
    request_response::Behaviour::new(
        [(PROTOCOL, support)],
        request_response::Config::default().with_request_timeout(Duration::from_secs(10)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enr::{Capabilities, OwnRecord};
    use prost::Message;

    #[test]
    fn field_numbers_are_the_specs() {
        // query = 1 { num_peers = 1: 5 }
        assert_eq!(
            PeerExchangeRpc::query(5).encode_to_vec(),
            [0x0a, 0x02, 0x08, 0x05]
        );
        // response = 2 { peer_infos = 1 { enr = 1: [0xaa] }, status_code = 10: 200 }
        assert_eq!(
            PeerExchangeRpc::answer(vec![vec![0xaa]]).encode_to_vec(),
            [0x12, 0x08, 0x0a, 0x03, 0x0a, 0x01, 0xaa, 0x50, 0xc8, 0x01]
        );
    }

    #[test]
    fn good_records_survive_a_bad_one_and_refusals_say_why() {
        let key = enr::k256::ecdsa::SigningKey::from_slice(&[7; 32]).unwrap();
        let own = OwnRecord {
            ip: Some("127.0.0.1".parse().unwrap()),
            tcp: Some(60_000),
            capabilities: Capabilities {
                relay: true,
                ..Capabilities::default()
            },
            ..OwnRecord::default()
        };
        let good = crate::enr::to_rlp(&own.sign(&key).unwrap());
        let mut tampered = good.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        let rpc = PeerExchangeRpc::answer(vec![good, vec![0xc0], tampered]);
        let out = records(&rpc).unwrap();
        assert_eq!(out.len(), 3);
        let ok = out[0].as_ref().unwrap();
        assert_eq!(
            ok.addresses[0].to_string(),
            format!("/ip4/127.0.0.1/tcp/60000/p2p/{}", ok.peer_id)
        );
        assert!(out[1].is_err(), "an empty list is no record");
        assert!(out[2].is_err(), "a changed byte breaks the signature");

        let refused = PeerExchangeRpc::refusal(PeerExchangeStatus::SERVICE_UNAVAILABLE, "no peers");
        assert_eq!(
            records(&refused).unwrap_err().to_string(),
            "the node refused peer exchange (503): no peers"
        );
        assert_eq!(
            records(&PeerExchangeRpc::query(1)).unwrap_err(),
            PeerExchangeError::NoResponse
        );
    }
}
