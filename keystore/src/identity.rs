//! This side's own identity: its static X25519 secret, node id and libp2p node key.

use crate::{EntryName, Keystore, KeystoreError};
use prost::Message;
use zeroize::Zeroizing;

/// The entry the identity is stored under.
pub const IDENTITY_ENTRY: &str = "identity";

/// Who this side is, as kept in the keystore: created once, on first start.
/// Its static key changes only by a rotation: a next key is made and stored
/// beside it, each counterparty is told and moves to it, and then it
/// replaces the static key ([`Identity::finish_rotation`]); the node id and
/// node key stay.
#[derive(Clone, PartialEq, Eq)]
pub struct Identity {
    /// The X25519 secret of the static key pair every session uses (with a
    /// counterparty that has not moved yet, during a rotation).
    pub static_secret: Zeroizing<[u8; 32]>,
    /// During a rotation: the secret of the key counterparties move to.
    pub next_static_secret: Option<Zeroizing<[u8; 32]>>,
    /// During a rotation: when it began, in Unix seconds.
    pub rotation_started_at: Option<u64>,
    /// The node id HELLOs carry (a v4 UUID's 16 bytes).
    pub node_id: [u8; 16],
    /// The secret of the libp2p node key, whose public key is the Waku peer
    /// id: secp256k1 (so the node can sign its ENR), Ed25519 in the one
    /// case in about 2^128 where 32 random bytes are no secp256k1 key.
    pub node_key: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("node_id", &hex(&self.node_id))
            .finish_non_exhaustive()
    }
}

/// A stored identity that cannot be read back.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// The keystore failed.
    #[error(transparent)]
    Keystore(#[from] KeystoreError),
    /// The entry is there but is not an identity NodePair wrote; it was left
    /// as it is, since replacing it would unpair every counterparty.
    #[error(
        "the stored identity is damaged ({0}); it was left untouched, restore the keystore from a backup"
    )]
    Damaged(&'static str),
    /// A rotation was asked for while one is under way.
    #[error("a key rotation is already under way; it ends once every counterparty has moved")]
    Rotating,
    /// A rotation was to end, and none is under way.
    #[error("no key rotation is under way")]
    NotRotating,
    /// The identity in the keystore is not the one this program holds (a
    /// rotation by another program on the same keystore); nothing written.
    #[error(
        "the stored identity changed while this program ran; nothing was written, start it again"
    )]
    ChangedMeanwhile,
}

#[derive(Clone, PartialEq, prost::Message)]
struct WireIdentity {
    #[prost(uint32, tag = "1")]
    version: u32,
    #[prost(bytes = "vec", tag = "2")]
    static_secret: Vec<u8>,
    #[prost(bytes = "vec", tag = "3")]
    node_id: Vec<u8>,
    #[prost(bytes = "vec", tag = "4")]
    node_key: Vec<u8>,
    /// Added later in version 1: present only during a rotation.
    #[prost(bytes = "vec", optional, tag = "5")]
    next_static_secret: Option<Vec<u8>>,
    #[prost(uint64, optional, tag = "6")]
    rotation_started_at: Option<u64>,
}

impl Identity {
    /// A new identity from 80 bytes of a CSPRNG.
    pub fn generate() -> Result<Identity, getrandom::Error> {
        let mut static_secret = Zeroizing::new([0u8; 32]);
        let mut node_key = Zeroizing::new([0u8; 32]);
        let mut node_id = [0u8; 16];
        getrandom::fill(static_secret.as_mut())?;
        getrandom::fill(node_key.as_mut())?;
        getrandom::fill(&mut node_id)?;
        // A v4 UUID: version and variant bits.
        node_id[6] = (node_id[6] & 0x0f) | 0x40;
        node_id[8] = (node_id[8] & 0x3f) | 0x80;
        Ok(Identity {
            static_secret,
            next_static_secret: None,
            rotation_started_at: None,
            node_id,
            node_key,
        })
    }

    /// The stored identity, if there is one.
    pub fn load(store: &dyn Keystore) -> Result<Option<Identity>, IdentityError> {
        let Some(bytes) = store.get(&entry())? else {
            return Ok(None);
        };
        let wire = WireIdentity::decode(bytes.expose())
            .map_err(|_| IdentityError::Damaged("not a record"))?;
        if wire.version != 1 {
            return Err(IdentityError::Damaged("unknown record version"));
        }
        fn field<const N: usize>(v: &[u8], what: &'static str) -> Result<[u8; N], IdentityError> {
            v.try_into().map_err(|_| IdentityError::Damaged(what))
        }
        let next_static_secret = match &wire.next_static_secret {
            Some(next) => Some(Zeroizing::new(field(next, "next static key length")?)),
            None => None,
        };
        Ok(Some(Identity {
            static_secret: Zeroizing::new(field(&wire.static_secret, "static key length")?),
            next_static_secret,
            rotation_started_at: wire.rotation_started_at,
            node_id: field(&wire.node_id, "node id length")?,
            node_key: Zeroizing::new(field(&wire.node_key, "node key length")?),
        }))
    }

    /// The stored identity, or a new one, stored before it is returned.
    /// Returns whether it was created.
    pub fn load_or_create(store: &dyn Keystore) -> Result<(Identity, bool), IdentityError> {
        if let Some(identity) = Self::load(store)? {
            return Ok((identity, false));
        }
        let identity = Self::generate().map_err(|e| KeystoreError::Random(e.to_string()))?;
        identity.store(store)?;
        Ok((identity, true))
    }

    fn store(&self, store: &dyn Keystore) -> Result<(), KeystoreError> {
        let wire = Zeroizing::new(
            WireIdentity {
                version: 1,
                static_secret: self.static_secret.to_vec(),
                node_id: self.node_id.to_vec(),
                node_key: self.node_key.to_vec(),
                next_static_secret: self.next_static_secret.as_ref().map(|n| n.to_vec()),
                rotation_started_at: self.rotation_started_at,
            }
            .encode_to_vec(),
        );
        store.put(&entry(), &wire)
    }

    /// Begins a rotation: a next static key from the OS's CSPRNG, stored
    /// beside the current one (one write) before it is returned. The
    /// identity in the keystore must be `self`'s: a rotation under way (or
    /// another program's change) is refused, nothing written.
    pub fn begin_rotation(
        &self,
        store: &dyn Keystore,
        now_unix: u64,
    ) -> Result<Identity, IdentityError> {
        if self.next_static_secret.is_some() {
            return Err(IdentityError::Rotating);
        }
        self.unchanged_in(store)?;
        let mut next = Zeroizing::new([0u8; 32]);
        getrandom::fill(next.as_mut()).map_err(|e| KeystoreError::Random(e.to_string()))?;
        let rotating = Identity {
            next_static_secret: Some(next),
            rotation_started_at: Some(now_unix),
            ..self.clone()
        };
        rotating.store(store)?;
        Ok(rotating)
    }

    /// Ends a rotation: the next key becomes the static key and the old one
    /// is forgotten (one write). Refused unless a rotation is under way and
    /// the keystore holds `self`.
    pub fn finish_rotation(&self, store: &dyn Keystore) -> Result<Identity, IdentityError> {
        let Some(next) = &self.next_static_secret else {
            return Err(IdentityError::NotRotating);
        };
        self.unchanged_in(store)?;
        let done = Identity {
            static_secret: next.clone(),
            next_static_secret: None,
            rotation_started_at: None,
            ..self.clone()
        };
        done.store(store)?;
        Ok(done)
    }

    /// Whether the keystore still holds this very identity.
    fn unchanged_in(&self, store: &dyn Keystore) -> Result<(), IdentityError> {
        match Self::load(store)? {
            Some(stored) if stored == *self => Ok(()),
            _ => Err(IdentityError::ChangedMeanwhile),
        }
    }
}

impl Drop for WireIdentity {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.static_secret.zeroize();
        self.node_key.zeroize();
        if let Some(next) = &mut self.next_static_secret {
            next.zeroize();
        }
    }
}

fn entry() -> EntryName {
    EntryName::new(IDENTITY_ENTRY).expect("a valid constant name")
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryStore;

    #[test]
    fn an_identity_is_created_once_and_then_kept() {
        let store = MemoryStore::new();
        let (first, created) = Identity::load_or_create(&store).unwrap();
        assert!(created);
        let (again, created) = Identity::load_or_create(&store).unwrap();
        assert!(!created);
        assert_eq!(first, again);
        assert_eq!(first.node_id[6] >> 4, 4, "a v4 UUID");
    }

    #[test]
    fn a_damaged_identity_is_reported_and_left_alone() {
        let store = MemoryStore::new();
        store.put(&entry(), b"\xff\xff not protobuf").unwrap();
        assert!(matches!(
            Identity::load_or_create(&store),
            Err(IdentityError::Damaged(_))
        ));
        assert_eq!(
            store.get(&entry()).unwrap().unwrap().expose(),
            b"\xff\xff not protobuf"
        );
    }

    #[test]
    fn a_rotation_keeps_both_keys_until_it_ends_and_then_only_the_new_one() {
        let store = MemoryStore::new();
        let (first, _) = Identity::load_or_create(&store).unwrap();
        let rotating = first.begin_rotation(&store, 1_790_000_000).unwrap();
        assert_eq!(Identity::load(&store).unwrap().unwrap(), rotating);
        assert_eq!(rotating.static_secret, first.static_secret);
        let next = rotating.next_static_secret.clone().unwrap();
        assert_ne!(*next, *first.static_secret);
        assert!(matches!(
            rotating.begin_rotation(&store, 1_790_000_001),
            Err(IdentityError::Rotating)
        ));
        // A program still holding the identity from before is refused.
        assert!(matches!(
            first.begin_rotation(&store, 1_790_000_001),
            Err(IdentityError::ChangedMeanwhile)
        ));
        let done = rotating.finish_rotation(&store).unwrap();
        assert_eq!(*done.static_secret, *next);
        assert_eq!(
            (done.node_id, &done.node_key),
            (first.node_id, &first.node_key)
        );
        assert_eq!(Identity::load(&store).unwrap().unwrap(), done);
        assert!(matches!(
            done.finish_rotation(&store),
            Err(IdentityError::NotRotating)
        ));
    }

    #[test]
    fn debug_shows_no_secret() {
        let id = Identity::generate().unwrap();
        let shown = format!("{id:?}");
        assert!(shown.contains(&hex(&id.node_id)));
        assert!(!shown.contains(&hex(id.static_secret.as_ref())));
        assert!(!shown.contains(&hex(id.node_key.as_ref())));
    }
}
