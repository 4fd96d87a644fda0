//! The sides this one paired with: one keystore entry each.

use crate::identity::hex;
use crate::{EntryName, Keystore, KeystoreError};
use prost::Message;

/// Entry names of counterparties start with this.
pub const COUNTERPARTY_PREFIX: &str = "peer.";

/// What the counterparty is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A NodePair desktop app.
    App,
    /// A node manager.
    NodeManager,
}

/// Whether sessions with the counterparty are allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CounterpartyState {
    /// Paired: sessions are opened at every start.
    Active,
    /// Unpaired here while it was offline: kept, and refused, only until it
    /// has been told at its next handshake; then deleted.
    Revoked,
}

/// A side this one paired with, as kept in the keystore.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counterparty {
    /// Its static X25519 public key: what sessions authenticate.
    pub public_key: [u8; 32],
    /// Its node id.
    pub node_id: [u8; 16],
    /// The name it gave in its HELLO.
    pub display_name: String,
    /// What it is.
    pub role: Role,
    /// When pairing finished, in Unix seconds.
    pub paired_at: u64,
    /// When a session with it last carried a message, in Unix seconds.
    pub last_seen: Option<u64>,
    /// Whether sessions with it are allowed.
    pub state: CounterpartyState,
    /// What it offers (a manager) or uses (an app), from its HELLO or its
    /// latest state update.
    pub capabilities: Vec<String>,
    /// The name the person gave it on this side, shown instead of
    /// `display_name`; `None` shows its own name. Never sent to it.
    pub local_name: Option<String>,
    /// What this side lets it use, as the person here decided: `None` is
    /// everything this side offers; `Some` narrows that to the names listed.
    /// Only this side's person sets it: nothing the counterparty sends
    /// changes it.
    pub grants: Option<Vec<String>>,
    /// During our rotation: our next public key, once it has stored it
    /// (sessions with it are under that key from then on). `None`: it knows
    /// our current static key.
    pub our_key: Option<[u8; 32]>,
    /// Its own announced new key, stored before we answered, until a session
    /// under that key replaces this record with one under it.
    pub moving_to: Option<[u8; 32]>,
    /// On a manager, for an app another app introduced (not paired by the
    /// operator): the key of the app that started its line of
    /// introductions (the one the operator paired). Apps of one line may
    /// cut each other off; `None` for one paired directly (it starts its
    /// own line).
    pub introduced_by: Option<[u8; 32]>,
    /// On an app, for a manager: the person's computers this app asked to
    /// cut off (by name, key or fingerprint) that the manager has not
    /// answered yet; asked again each time a session with it comes up.
    pub cut_offs: Vec<String>,
}

/// A counterparty entry that cannot be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CounterpartyError {
    /// The keystore failed.
    #[error(transparent)]
    Keystore(#[from] KeystoreError),
    /// The entry is not a counterparty record NodePair wrote; it is left
    /// as it is.
    #[error("the stored counterparty {entry} is damaged ({why}); it was left untouched")]
    Damaged {
        /// The entry.
        entry: EntryName,
        /// What is wrong.
        why: &'static str,
    },
}

#[derive(Clone, PartialEq, prost::Message)]
struct WireCounterparty {
    #[prost(uint32, tag = "1")]
    version: u32,
    #[prost(bytes = "vec", tag = "2")]
    public_key: Vec<u8>,
    #[prost(bytes = "vec", tag = "3")]
    node_id: Vec<u8>,
    #[prost(string, tag = "4")]
    display_name: String,
    /// 1 = app, 2 = node manager (the HELLO type bytes).
    #[prost(uint32, tag = "5")]
    role: u32,
    #[prost(uint64, tag = "6")]
    paired_at: u64,
    #[prost(uint64, optional, tag = "7")]
    last_seen: Option<u64>,
    /// 1 = active, 2 = revoked.
    #[prost(uint32, tag = "8")]
    state: u32,
    #[prost(string, repeated, tag = "9")]
    capabilities: Vec<String>,
    /// Added later in version 1: absent in older records, which read as
    /// "no local name".
    #[prost(string, optional, tag = "10")]
    local_name: Option<String>,
    /// Added later in version 1: absent in older records, which read as
    /// "everything this side offers".
    #[prost(message, optional, tag = "11")]
    grants: Option<WireGrants>,
    /// Added later in version 1, present only during key moves.
    #[prost(bytes = "vec", optional, tag = "12")]
    our_key: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "13")]
    moving_to: Option<Vec<u8>>,
    /// Added later in version 1, only for introduced apps.
    #[prost(bytes = "vec", optional, tag = "14")]
    introduced_by: Option<Vec<u8>>,
    /// Added later in version 1, only while cut-offs wait.
    #[prost(string, repeated, tag = "15")]
    cut_offs: Vec<String>,
}

/// A grant narrower than everything: the capabilities listed, possibly none.
#[derive(Clone, PartialEq, prost::Message)]
struct WireGrants {
    #[prost(string, repeated, tag = "1")]
    capabilities: Vec<String>,
}

impl Counterparty {
    /// The entry this counterparty is stored under: `peer.` and its public
    /// key in hex.
    pub fn entry_name(public_key: &[u8; 32]) -> EntryName {
        EntryName::new(format!("{COUNTERPARTY_PREFIX}{}", hex(public_key)))
            .expect("prefix and hex are valid name characters")
    }

    fn encode(&self) -> Vec<u8> {
        WireCounterparty {
            version: 1,
            public_key: self.public_key.to_vec(),
            node_id: self.node_id.to_vec(),
            display_name: self.display_name.clone(),
            role: match self.role {
                Role::App => 1,
                Role::NodeManager => 2,
            },
            paired_at: self.paired_at,
            last_seen: self.last_seen,
            state: match self.state {
                CounterpartyState::Active => 1,
                CounterpartyState::Revoked => 2,
            },
            capabilities: self.capabilities.clone(),
            local_name: self.local_name.clone(),
            grants: self
                .grants
                .clone()
                .map(|capabilities| WireGrants { capabilities }),
            our_key: self.our_key.map(|k| k.to_vec()),
            moving_to: self.moving_to.map(|k| k.to_vec()),
            introduced_by: self.introduced_by.map(|k| k.to_vec()),
            cut_offs: self.cut_offs.clone(),
        }
        .encode_to_vec()
    }

    fn decode(entry: &EntryName, bytes: &[u8]) -> Result<Counterparty, CounterpartyError> {
        let damaged = |why| CounterpartyError::Damaged {
            entry: entry.clone(),
            why,
        };
        let key_field = |v: Option<Vec<u8>>, why| match v {
            None => Ok(None),
            Some(v) => <[u8; 32]>::try_from(v.as_slice())
                .map(Some)
                .map_err(|_| damaged(why)),
        };
        let w = WireCounterparty::decode(bytes).map_err(|_| damaged("not a record"))?;
        if w.version != 1 {
            return Err(damaged("unknown record version"));
        }
        let public_key: [u8; 32] = w
            .public_key
            .as_slice()
            .try_into()
            .map_err(|_| damaged("public key length"))?;
        if Self::entry_name(&public_key) != *entry {
            return Err(damaged("stored under another key's name"));
        }
        Ok(Counterparty {
            public_key,
            node_id: w
                .node_id
                .as_slice()
                .try_into()
                .map_err(|_| damaged("node id length"))?,
            display_name: w.display_name,
            role: match w.role {
                1 => Role::App,
                2 => Role::NodeManager,
                _ => return Err(damaged("unknown role")),
            },
            paired_at: w.paired_at,
            last_seen: w.last_seen,
            state: match w.state {
                1 => CounterpartyState::Active,
                2 => CounterpartyState::Revoked,
                _ => return Err(damaged("unknown state")),
            },
            capabilities: w.capabilities,
            local_name: w.local_name,
            grants: w.grants.map(|g| g.capabilities),
            our_key: key_field(w.our_key, "our key length")?,
            moving_to: key_field(w.moving_to, "announced key length")?,
            introduced_by: key_field(w.introduced_by, "introducer key length")?,
            cut_offs: w.cut_offs,
        })
    }

    /// Stores (or replaces) this counterparty: one entry, written atomically.
    pub fn save(&self, store: &dyn Keystore) -> Result<(), KeystoreError> {
        store.put(&Self::entry_name(&self.public_key), &self.encode())
    }

    /// Saves them all; the vault writes its file once for the lot.
    pub fn save_all(store: &dyn Keystore, all: &[Counterparty]) -> Result<(), KeystoreError> {
        let entries: Vec<(EntryName, Vec<u8>)> = all
            .iter()
            .map(|c| (Self::entry_name(&c.public_key), c.encode()))
            .collect();
        store.put_many(&entries)
    }

    /// The counterparty with this public key, if paired.
    pub fn load(
        store: &dyn Keystore,
        public_key: &[u8; 32],
    ) -> Result<Option<Counterparty>, CounterpartyError> {
        let name = Self::entry_name(public_key);
        match store.get(&name)? {
            Some(bytes) => Ok(Some(Self::decode(&name, bytes.expose())?)),
            None => Ok(None),
        }
    }

    /// Every stored counterparty, ordered by public key. A damaged entry is
    /// an error, never skipped: a counterparty that silently vanished would
    /// look unpaired.
    pub fn load_all(store: &dyn Keystore) -> Result<Vec<Counterparty>, CounterpartyError> {
        let mut all = Vec::new();
        for name in store.names()? {
            if !name.as_str().starts_with(COUNTERPARTY_PREFIX) {
                continue;
            }
            // Listed a moment ago; deleted since by another handle is fine.
            if let Some(bytes) = store.get(&name)? {
                all.push(Self::decode(&name, bytes.expose())?);
            }
        }
        Ok(all)
    }

    /// Removes the counterparty; returns whether it was there.
    pub fn remove(store: &dyn Keystore, public_key: &[u8; 32]) -> Result<bool, KeystoreError> {
        store.delete(&Self::entry_name(public_key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryStore;

    fn sample(key: u8) -> Counterparty {
        Counterparty {
            public_key: [key; 32],
            node_id: [key ^ 0x55; 16],
            display_name: format!("validator-{key}"),
            role: Role::NodeManager,
            paired_at: 1_790_000_000,
            last_seen: None,
            state: CounterpartyState::Active,
            capabilities: vec!["host".into(), "eth".into()],
            local_name: None,
            grants: None,
            our_key: None,
            moving_to: None,
            introduced_by: None,
            cut_offs: Vec::new(),
        }
    }

    #[test]
    fn counterparties_round_trip_one_entry_each() {
        let store = MemoryStore::new();
        let (a, mut b) = (sample(1), sample(2));
        a.save(&store).unwrap();
        b.save(&store).unwrap();
        b.last_seen = Some(1_790_000_100);
        b.state = CounterpartyState::Revoked;
        b.local_name = Some("the box in the cellar".into());
        b.grants = Some(vec!["host".into()]);
        b.our_key = Some([7; 32]);
        b.moving_to = Some([8; 32]);
        b.introduced_by = Some([9; 32]);
        b.cut_offs = vec!["laptop".into()];
        b.save(&store).unwrap();
        assert_eq!(store.names().unwrap().len(), 2);
        assert_eq!(Counterparty::load_all(&store).unwrap(), [a.clone(), b]);
        assert_eq!(Counterparty::load(&store, &[1; 32]).unwrap(), Some(a));
        assert!(Counterparty::remove(&store, &[1; 32]).unwrap());
        assert_eq!(Counterparty::load(&store, &[1; 32]).unwrap(), None);
    }

    #[test]
    fn a_damaged_record_is_an_error_not_a_missing_counterparty() {
        let store = MemoryStore::new();
        sample(1).save(&store).unwrap();
        // A valid record moved under another key's name.
        let moved = store
            .get(&Counterparty::entry_name(&[1; 32]))
            .unwrap()
            .unwrap();
        store
            .put(&Counterparty::entry_name(&[9; 32]), moved.expose())
            .unwrap();
        let err = Counterparty::load_all(&store).unwrap_err();
        assert!(err.to_string().contains("another key"), "{err}");
        store
            .put(&Counterparty::entry_name(&[9; 32]), b"\x08\x07")
            .unwrap();
        let err = Counterparty::load_all(&store).unwrap_err();
        assert!(err.to_string().contains("unknown record version"), "{err}");
    }

    #[test]
    fn no_grant_and_an_empty_grant_are_kept_apart() {
        let store = MemoryStore::new();
        let mut none = sample(4);
        none.grants = Some(Vec::new());
        none.save(&store).unwrap();
        sample(5).save(&store).unwrap();
        let all = Counterparty::load_all(&store).unwrap();
        assert_eq!(all[0].grants, Some(Vec::new()), "granted nothing");
        assert_eq!(all[1].grants, None, "granted everything offered");
    }

    #[test]
    fn other_entries_are_not_counterparties() {
        let store = MemoryStore::new();
        crate::Identity::load_or_create(&store).unwrap();
        sample(3).save(&store).unwrap();
        assert_eq!(Counterparty::load_all(&store).unwrap(), [sample(3)]);
    }
}
