//! Waku's use of Ethereum Node Records (EIP-778, WAKU2-ENR): who a node is, where to dial it, what it serves and which shards it relays.
//!
//! A Waku ENR is an EIP-778 record (identity scheme `v4`, secp256k1, checked
//! on decoding) with up to three Waku keys besides `ip`/`tcp`/`udp`:
//!
//! - `waku2`: one byte of capabilities, bit 0 relay, 1 store, 2 filter,
//!   3 light push;
//! - `multiaddrs`: addresses the `ip`/`tcp` keys cannot say (DNS names,
//!   websocket), each as a 2-byte big-endian length then the binary
//!   multiaddr, without `/p2p`;
//! - `rs`: the relayed shards, a 2-byte cluster, a 1-byte count, then one
//!   2-byte shard per count (an `rsv` bit vector form is read too).

use enr::EnrPublicKey as _;
use enr::k256::ecdsa::SigningKey;
use libp2p::{Multiaddr, PeerId, multiaddr::Protocol};
use std::collections::BTreeSet;

/// A decoded, signature-checked record.
pub type Record = enr::Enr<SigningKey>;

/// What a node says it serves (`waku2`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// 11/WAKU2-RELAY.
    pub relay: bool,
    /// Store.
    pub store: bool,
    /// Filter.
    pub filter: bool,
    /// Light push.
    pub lightpush: bool,
}

impl Capabilities {
    /// From the `waku2` byte.
    pub fn from_byte(b: u8) -> Self {
        Capabilities {
            relay: b & 1 != 0,
            store: b & 2 != 0,
            filter: b & 4 != 0,
            lightpush: b & 8 != 0,
        }
    }

    /// The `waku2` byte.
    pub fn to_byte(self) -> u8 {
        u8::from(self.relay)
            | u8::from(self.store) << 1
            | u8::from(self.filter) << 2
            | u8::from(self.lightpush) << 3
    }
}

/// The shards a node relays (`rs` or `rsv`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelayShards {
    /// The cluster.
    pub cluster: u16,
    /// The shards within it.
    pub shards: BTreeSet<u16>,
}

/// Why a record is not a usable Waku ENR.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum EnrError {
    /// Not base64, not RLP, or a signature that does not match its key.
    #[error("not a valid ENR: {0}")]
    Invalid(String),
    /// A Waku key whose value is not what WAKU2-ENR defines.
    #[error("the ENR's {key} field is malformed: {why}")]
    Field {
        /// The key.
        key: &'static str,
        /// What is wrong.
        why: String,
    },
    /// The record's key cannot be a libp2p identity.
    #[error("the ENR's public key is not a usable secp256k1 key")]
    Key,
}

/// A Waku node as its ENR describes it.
#[derive(Clone, Debug)]
pub struct WakuEnr {
    /// The record itself.
    pub record: Record,
    /// The libp2p peer id of its secp256k1 key.
    pub peer_id: PeerId,
    /// What it serves; `None` when it has no `waku2` key (not a Waku node).
    pub capabilities: Option<Capabilities>,
    /// Where to dial it, each ending in `/p2p/<peer id>`: `ip`/`tcp` first,
    /// then the `multiaddrs` field.
    pub addresses: Vec<Multiaddr>,
    /// The shards it relays, when it says.
    pub shards: Option<RelayShards>,
}

impl WakuEnr {
    /// Decodes `enr:…` text (or its base64 alone), checks the signature, and
    /// reads the Waku fields.
    pub fn parse(text: &str) -> Result<WakuEnr, EnrError> {
        let record: Record = text.trim().parse().map_err(EnrError::Invalid)?;
        Self::from_record(record)
    }

    /// Reads the Waku fields of a checked record.
    pub fn from_record(record: Record) -> Result<WakuEnr, EnrError> {
        // The compressed SEC1 form, as libp2p's secp256k1 keys take it.
        let key = record.public_key().encode();
        let peer_id = libp2p::identity::secp256k1::PublicKey::try_from_bytes(key.as_ref())
            .map(|k| libp2p::identity::PublicKey::from(k).to_peer_id())
            .map_err(|_| EnrError::Key)?;
        let capabilities = match raw_bytes(&record, "waku2")? {
            None => None,
            Some(b) if b.len() == 1 => Some(Capabilities::from_byte(b[0])),
            Some(b) => {
                return Err(EnrError::Field {
                    key: "waku2",
                    why: format!("{} bytes, not 1", b.len()),
                });
            }
        };
        let mut addresses = Vec::new();
        if let (Some(ip), Some(tcp)) = (record.ip4(), record.tcp4()) {
            addresses.push(Multiaddr::from(ip).with(Protocol::Tcp(tcp)));
        }
        if let (Some(ip), Some(tcp)) = (record.ip6(), record.tcp6()) {
            addresses.push(Multiaddr::from(ip).with(Protocol::Tcp(tcp)));
        }
        if let Some(field) = raw_bytes(&record, "multiaddrs")? {
            addresses.extend(decode_multiaddrs(&field)?);
        }
        let addresses = addresses
            .into_iter()
            .map(|a| a.with(Protocol::P2p(peer_id)))
            .collect();
        let shards = match raw_bytes(&record, "rs")? {
            Some(rs) => Some(decode_rs(&rs)?),
            None => raw_bytes(&record, "rsv")?
                .map(|rsv| decode_rsv(&rsv))
                .transpose()?,
        };
        Ok(WakuEnr {
            record,
            peer_id,
            capabilities,
            addresses,
            shards,
        })
    }
}

impl RelayShards {
    /// The `rs` field: cluster, count, then each shard.
    pub fn to_rs(&self) -> Vec<u8> {
        let mut out = self.cluster.to_be_bytes().to_vec();
        let shards: Vec<u16> = self.shards.iter().copied().take(255).collect();
        out.push(u8::try_from(shards.len()).unwrap_or(u8::MAX));
        for s in shards {
            out.extend_from_slice(&s.to_be_bytes());
        }
        out
    }
}

/// What a node says about itself in its own record.
#[derive(Clone, Debug, Default)]
pub struct OwnRecord {
    /// The IPv4 address peers reach it on.
    pub ip: Option<std::net::Ipv4Addr>,
    /// Its libp2p TCP port.
    pub tcp: Option<u16>,
    /// Its discv5 UDP port.
    pub udp: Option<u16>,
    /// What it serves.
    pub capabilities: Capabilities,
    /// Addresses `ip`/`tcp` cannot say (websocket, DNS names), without `/p2p`.
    pub multiaddrs: Vec<Multiaddr>,
    /// The shards it relays.
    pub shards: Option<RelayShards>,
}

impl OwnRecord {
    /// Signs the record with the node's key (sequence number 1).
    pub fn sign(&self, key: &SigningKey) -> Result<Record, EnrError> {
        let mut builder = enr::Enr::builder();
        if let Some(ip) = self.ip {
            builder.ip4(ip);
        }
        if let Some(tcp) = self.tcp {
            builder.tcp4(tcp);
        }
        if let Some(udp) = self.udp {
            builder.udp4(udp);
        }
        builder.add_value(
            "waku2",
            &bytes::Bytes::from(vec![self.capabilities.to_byte()]),
        );
        if !self.multiaddrs.is_empty() {
            builder.add_value(
                "multiaddrs",
                &bytes::Bytes::from(encode_multiaddrs(&self.multiaddrs)),
            );
        }
        if let Some(shards) = &self.shards {
            builder.add_value("rs", &bytes::Bytes::from(shards.to_rs()));
        }
        // A record over EIP-778's 300 bytes is refused here.
        builder
            .build(key)
            .map_err(|e| EnrError::Invalid(e.to_string()))
    }
}

/// The secp256k1 key behind a libp2p identity; `None` for other key types,
/// which cannot sign an ENR.
pub fn signing_key(keypair: &libp2p::identity::Keypair) -> Option<SigningKey> {
    let secp = keypair.clone().try_into_secp256k1().ok()?;
    SigningKey::from_slice(&secp.secret().to_bytes()).ok()
}

/// Decodes a record from its RLP bytes (as peer exchange carries it).
pub fn from_rlp(mut bytes: &[u8]) -> Result<WakuEnr, EnrError> {
    let record = <Record as alloy_rlp::Decodable>::decode(&mut bytes)
        .map_err(|e| EnrError::Invalid(e.to_string()))?;
    WakuEnr::from_record(record)
}

/// A record's RLP bytes.
pub fn to_rlp(record: &Record) -> Vec<u8> {
    alloy_rlp::encode(record)
}

/// The bytes of a byte-string field, if present.
fn raw_bytes(record: &Record, key: &'static str) -> Result<Option<Vec<u8>>, EnrError> {
    match record.get_decodable::<bytes::Bytes>(key) {
        None => Ok(None),
        Some(Ok(b)) => Ok(Some(b.to_vec())),
        Some(Err(e)) => Err(EnrError::Field {
            key,
            why: e.to_string(),
        }),
    }
}

/// The `multiaddrs` field: 2-byte big-endian lengths, each then that many
/// bytes of binary multiaddr.
pub fn decode_multiaddrs(mut bytes: &[u8]) -> Result<Vec<Multiaddr>, EnrError> {
    let bad = |why: String| EnrError::Field {
        key: "multiaddrs",
        why,
    };
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let [hi, lo, rest @ ..] = bytes else {
            return Err(bad("a length cut short".into()));
        };
        let len = usize::from(u16::from_be_bytes([*hi, *lo]));
        if rest.len() < len {
            return Err(bad(format!(
                "an entry of {len} bytes with {} left",
                rest.len()
            )));
        }
        let (entry, tail) = rest.split_at(len);
        out.push(Multiaddr::try_from(entry.to_vec()).map_err(|e| bad(e.to_string()))?);
        bytes = tail;
    }
    Ok(out)
}

/// Encodes addresses as the `multiaddrs` field does.
pub fn encode_multiaddrs(addresses: &[Multiaddr]) -> Vec<u8> {
    let mut out = Vec::new();
    for a in addresses {
        let bytes = a.to_vec();
        let len = u16::try_from(bytes.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&bytes[..usize::from(len)]);
    }
    out
}

fn decode_rs(bytes: &[u8]) -> Result<RelayShards, EnrError> {
    let bad = |why: String| EnrError::Field { key: "rs", why };
    let [c0, c1, count, rest @ ..] = bytes else {
        return Err(bad(format!("{} bytes is too short", bytes.len())));
    };
    if rest.len() != 2 * usize::from(*count) {
        return Err(bad(format!(
            "{count} shards announced, {} bytes of them",
            rest.len()
        )));
    }
    Ok(RelayShards {
        cluster: u16::from_be_bytes([*c0, *c1]),
        shards: rest
            .chunks_exact(2)
            .map(|s| u16::from_be_bytes([s[0], s[1]]))
            .collect(),
    })
}

fn decode_rsv(bytes: &[u8]) -> Result<RelayShards, EnrError> {
    // A 2-byte cluster, then 128 bytes: bit i set when shard i is relayed.
    let [c0, c1, bits @ ..] = bytes else {
        return Err(EnrError::Field {
            key: "rsv",
            why: "too short".into(),
        });
    };
    if bits.len() != 128 {
        return Err(EnrError::Field {
            key: "rsv",
            why: format!("{} bytes of shard bits, not 128", bits.len()),
        });
    }
    let shards = (0u16..1024)
        .filter(|i| bits[usize::from(i / 8)] & (1 << (i % 8)) != 0)
        .collect();
    Ok(RelayShards {
        cluster: u16::from_be_bytes([*c0, *c1]),
        shards,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record shared by Waku's implementations as a test vector (nwaku's
    /// `test_waku_enr.nim`, "Decode ENR with multiaddrs field"; also in
    /// js-waku's examples): ip 18.223.219.100, udp 9000, no tcp, and two DNS
    /// websocket addresses in `multiaddrs`.
    const SHARED: &str = "enr:-QEnuEBEAyErHEfhiQxAVQoWowGTCuEF9fKZtXSd7H_PymHFhGJA3rGAYDVSHKCyJDGRLBGsloNbS8AZF33IVuefjOO6BIJpZIJ2NIJpcIQS39tkim11bHRpYWRkcnO4lgAvNihub2RlLTAxLmRvLWFtczMud2FrdXYyLnRlc3Quc3RhdHVzaW0ubmV0BgG73gMAODcxbm9kZS0wMS5hYy1jbi1ob25na29uZy1jLndha3V2Mi50ZXN0LnN0YXR1c2ltLm5ldAYBu94DACm9A62t7AQL4Ef5ZYZosRpQTzFVAB8jGjf1TER2wH-0zBOe1-MDBNLeA4lzZWNwMjU2azGhAzfsxbxyCkgCqq8WwYsVWH7YkpMLnU2Bw5xJSimxKav-g3VkcIIjKA";

    #[test]
    fn the_shared_vector_decodes_as_the_other_implementations_read_it() {
        let enr = WakuEnr::parse(SHARED).unwrap();
        assert_eq!(enr.record.ip4(), Some("18.223.219.100".parse().unwrap()));
        assert_eq!(enr.record.udp4(), Some(9000));
        assert_eq!(enr.record.tcp4(), None);
        let addresses: Vec<String> = enr.addresses.iter().map(ToString::to_string).collect();
        let peer = enr.peer_id.to_string();
        for known in [
            "/dns4/node-01.do-ams3.wakuv2.test.statusim.net/tcp/443/wss",
            "/dns6/node-01.ac-cn-hongkong-c.wakuv2.test.statusim.net/tcp/443/wss",
        ] {
            assert!(
                addresses.contains(&format!("{known}/p2p/{peer}")),
                "{known} in {addresses:?}"
            );
        }
    }

    fn signed(build: impl FnOnce(&mut enr::Builder<SigningKey>)) -> (Record, SigningKey) {
        let key = loop {
            let mut secret = [0u8; 32];
            getrandom::fill(&mut secret).unwrap();
            if let Ok(key) = SigningKey::from_slice(&secret) {
                break key;
            }
        };
        let mut builder = enr::Enr::builder();
        build(&mut builder);
        (builder.build(&key).unwrap(), key)
    }

    #[test]
    fn our_own_records_round_trip_every_waku_field() {
        let ws: Multiaddr = "/dns4/relay.example.org/tcp/8000/ws".parse().unwrap();
        let caps = Capabilities {
            relay: true,
            store: true,
            filter: false,
            lightpush: true,
        };
        let mut rs = vec![0, 1, 2];
        rs.extend_from_slice(&0u16.to_be_bytes());
        rs.extend_from_slice(&7u16.to_be_bytes());
        let (record, _) = signed(|b| {
            b.ip4("127.0.0.1".parse().unwrap())
                .tcp4(60000)
                .add_value("waku2", &bytes::Bytes::from(vec![caps.to_byte()]))
                .add_value(
                    "multiaddrs",
                    &bytes::Bytes::from(encode_multiaddrs(std::slice::from_ref(&ws))),
                )
                .add_value("rs", &bytes::Bytes::from(rs));
        });
        let enr = WakuEnr::parse(&record.to_base64()).unwrap();
        assert_eq!(enr.capabilities, Some(caps));
        assert_eq!(Capabilities::from_byte(0b1011), caps);
        let peer = enr.peer_id;
        assert_eq!(
            enr.addresses,
            [
                format!("/ip4/127.0.0.1/tcp/60000/p2p/{peer}")
                    .parse::<Multiaddr>()
                    .unwrap(),
                ws.with(Protocol::P2p(peer)),
            ]
        );
        assert_eq!(
            enr.shards,
            Some(RelayShards {
                cluster: 1,
                shards: [0, 7].into()
            })
        );
    }

    #[test]
    fn malformed_records_are_refused_with_what_is_wrong() {
        assert!(matches!(
            WakuEnr::parse("enr:not base64!"),
            Err(EnrError::Invalid(_))
        ));
        assert!(matches!(
            WakuEnr::parse("enr:-QEn"),
            Err(EnrError::Invalid(_))
        ));
        // One byte of the signed content changed: the signature no longer fits.
        let (record, _) = signed(|b| {
            b.ip4("10.0.0.1".parse().unwrap()).tcp4(1234);
        });
        let text = record.to_base64();
        assert!(WakuEnr::parse(&text).is_ok());
        // The last characters encode the tcp port, inside what is signed.
        let at = text.len() - 2;
        let flipped = if &text[at..=at] == "A" { "B" } else { "A" };
        let tampered = format!("{}{flipped}{}", &text[..at], &text[at + 1..]);
        let Err(EnrError::Invalid(why)) = WakuEnr::parse(&tampered) else {
            panic!("a tampered record was accepted");
        };
        assert!(why.contains("Signature"), "{why}");

        let (bad_rs, _) = signed(|b| {
            b.add_value("rs", &bytes::Bytes::from(vec![0, 1, 3, 0, 1]));
        });
        assert!(matches!(
            WakuEnr::from_record(bad_rs),
            Err(EnrError::Field { key: "rs", .. })
        ));
        let (bad_addrs, _) = signed(|b| {
            b.add_value("multiaddrs", &bytes::Bytes::from(vec![0, 9, 4, 127]));
        });
        assert!(matches!(
            WakuEnr::from_record(bad_addrs),
            Err(EnrError::Field {
                key: "multiaddrs",
                ..
            })
        ));
        let (bad_caps, _) = signed(|b| {
            b.add_value("waku2", &bytes::Bytes::from(vec![1, 2]));
        });
        assert!(matches!(
            WakuEnr::from_record(bad_caps),
            Err(EnrError::Field { key: "waku2", .. })
        ));
    }

    #[test]
    fn a_record_without_waku_fields_is_no_waku_node() {
        let (record, _) = signed(|b| {
            b.ip4("10.0.0.1".parse().unwrap()).udp4(9000);
        });
        let enr = WakuEnr::from_record(record).unwrap();
        assert_eq!(enr.capabilities, None);
        assert!(enr.addresses.is_empty(), "no tcp, nothing to dial");
    }
}
