//! The metadata protocol `/vac/waku/metadata/1.0.0`: on every connection each
//! side learns the other's cluster and shards, and a peer on another cluster
//! or with no shard in common is disconnected, as nwaku does.
//!
//! One length-prefixed `WakuMetadataRequest` goes each way and one response
//! comes back; both have the same shape. Shards are sent twice: unpacked in
//! field 2, which is all js-waku 0.0.27 reads (it misreads the packed form),
//! and packed in field 3, which nwaku reads first. Both forms are decoded.

use crate::length_prefixed::{read_frame, write_frame};
use crate::topic::Shard;
use futures::{AsyncRead, AsyncWrite};
use libp2p::StreamProtocol;
use libp2p::request_response;
use prost::Message;
use std::io;

/// The protocol id.
pub const PROTOCOL: StreamProtocol = StreamProtocol::new("/vac/waku/metadata/1.0.0");

/// nwaku reads at most this much; so do we.
const MAX_FRAME: usize = 1024;

/// A side's cluster and shards, as exchanged by the protocol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Metadata {
    /// The cluster; `None` when the peer did not say (nwaku drops such peers).
    pub cluster: Option<u32>,
    /// The shards it relays, within its cluster.
    pub shards: Vec<u32>,
}

/// The wire form of requests and responses.
#[derive(Clone, PartialEq, prost::Message)]
struct WireMetadata {
    #[prost(uint32, optional, tag = "1")]
    cluster_id: Option<u32>,
    /// Unpacked: what js-waku reads.
    #[prost(uint32, repeated, packed = "false", tag = "2")]
    shards: Vec<u32>,
    /// Packed: what nwaku reads first.
    #[prost(uint32, repeated, packed = "true", tag = "3")]
    shards_packed: Vec<u32>,
}

impl Metadata {
    /// Ours, for `shards` of one cluster.
    pub fn ours(shards: &[Shard]) -> Self {
        Metadata {
            cluster: shards.first().map(|s| u32::from(s.cluster)),
            shards: shards.iter().map(|s| u32::from(s.shard)).collect(),
        }
    }

    /// Encodes with the shards in both fields.
    pub fn encode(&self) -> Vec<u8> {
        WireMetadata {
            cluster_id: self.cluster,
            shards: self.shards.clone(),
            shards_packed: self.shards.clone(),
        }
        .encode_to_vec()
    }

    /// Decodes either shard field, packed or not; field 3 wins when present.
    pub fn decode(bytes: &[u8]) -> Result<Self, prost::DecodeError> {
        let wire = WireMetadata::decode(bytes)?;
        let shards = if wire.shards_packed.is_empty() {
            wire.shards
        } else {
            wire.shards_packed
        };
        Ok(Metadata {
            cluster: wire.cluster_id,
            shards,
        })
    }
}

/// Why a peer is not one to keep.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Mismatch {
    /// The peer did not say which cluster it is on.
    #[error("the peer did not say which cluster it is on")]
    NoCluster,
    /// The peer is on another cluster.
    #[error("the peer is on cluster {theirs}, we are on cluster {ours}")]
    OtherCluster {
        /// Our cluster.
        ours: u16,
        /// Theirs.
        theirs: u32,
    },
    /// Same cluster, but no shard in common: nothing to relay between us.
    #[error("the peer relays shards {theirs:?}, we relay {ours:?}: none in common")]
    NoCommonShard {
        /// Our shards.
        ours: Vec<u16>,
        /// Theirs.
        theirs: Vec<u32>,
    },
}

/// Whether a peer with `theirs` fits us, on `cluster` relaying `shards`.
/// A peer that lists no shards (a light client) fits if the cluster does.
pub fn check(cluster: u16, shards: &[u16], theirs: &Metadata) -> Result<(), Mismatch> {
    let their_cluster = theirs.cluster.ok_or(Mismatch::NoCluster)?;
    if their_cluster != u32::from(cluster) {
        return Err(Mismatch::OtherCluster {
            ours: cluster,
            theirs: their_cluster,
        });
    }
    let common = theirs.shards.is_empty()
        || theirs
            .shards
            .iter()
            .any(|s| shards.iter().any(|o| u32::from(*o) == *s));
    if common {
        Ok(())
    } else {
        Err(Mismatch::NoCommonShard {
            ours: shards.to_vec(),
            theirs: theirs.shards.clone(),
        })
    }
}

/// The request/response codec: one length-prefixed protobuf each way.
#[derive(Clone, Copy, Debug, Default)]
pub struct Codec;

async fn read_metadata<T: AsyncRead + Unpin + Send>(io: &mut T) -> io::Result<Metadata> {
    let bytes = read_frame(io, MAX_FRAME).await?;
    Metadata::decode(&bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

impl request_response::Codec for Codec {
    type Protocol = StreamProtocol;
    type Request = Metadata;
    type Response = Metadata;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Metadata>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_metadata(io).await
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Metadata>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_metadata(io).await
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: Metadata,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &req.encode()).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: Metadata,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &res.encode()).await
    }
}

/// The protocol's behaviour, to put in the node's composed behaviour.
pub fn behaviour() -> request_response::Behaviour<Codec> {
    request_response::Behaviour::new(
        [(PROTOCOL, request_response::ProtocolSupport::Full)],
        request_response::Config::default()
            .with_request_timeout(std::time::Duration::from_secs(10)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_both_forms_and_js_wakus_bytes_decode() {
        let ours = Metadata {
            cluster: Some(42),
            shards: vec![0, 1],
        };
        // Field 1, unpacked field 2 twice, packed field 3.
        assert_eq!(
            ours.encode(),
            [0x08, 0x2a, 0x10, 0x00, 0x10, 0x01, 0x1a, 0x02, 0x00, 0x01]
        );
        // js-waku sends unpacked field 2 only.
        let js = [0x08, 0x2a, 0x10, 0x00, 0x10, 0x01];
        assert_eq!(Metadata::decode(&js).unwrap(), ours);
        // A packed field 2 (proto3's default form) decodes too.
        let packed2 = [0x08, 0x2a, 0x12, 0x02, 0x00, 0x01];
        assert_eq!(Metadata::decode(&packed2).unwrap(), ours);
    }

    #[test]
    fn cluster_zero_is_sent_explicitly() {
        let m = Metadata {
            cluster: Some(0),
            shards: vec![0],
        };
        assert_eq!(&m.encode()[..2], [0x08, 0x00]);
        assert_eq!(Metadata::decode(&m.encode()).unwrap(), m);
    }

    #[test]
    fn peers_are_checked_as_nwaku_does() {
        let ok = Metadata {
            cluster: Some(42),
            shards: vec![3, 0],
        };
        assert_eq!(check(42, &[0], &ok), Ok(()));
        assert_eq!(
            check(
                42,
                &[0],
                &Metadata {
                    cluster: Some(42),
                    shards: vec![]
                }
            ),
            Ok(())
        );
        assert_eq!(
            check(
                42,
                &[0],
                &Metadata {
                    cluster: None,
                    shards: vec![0]
                }
            ),
            Err(Mismatch::NoCluster)
        );
        assert_eq!(
            check(
                42,
                &[0],
                &Metadata {
                    cluster: Some(1),
                    shards: vec![0]
                }
            ),
            Err(Mismatch::OtherCluster {
                ours: 42,
                theirs: 1
            })
        );
        let err = check(
            42,
            &[0],
            &Metadata {
                cluster: Some(42),
                shards: vec![5],
            },
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the peer relays shards [5], we relay [0]: none in common"
        );
    }

    #[test]
    fn garbage_does_not_decode() {
        assert!(Metadata::decode(&[0x08]).is_err());
        assert!(Metadata::decode(&[0x12, 0x05, 0x01]).is_err());
    }
}
