//! A keystore that lives only in the process, for tests and dry runs.

use crate::{Backend, EntryName, Keystore, KeystoreError, SecretBytes};
use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

/// Entries kept in process memory; dropped with the store.
#[derive(Debug, Default)]
pub struct MemoryStore {
    /// Sorted so [`Keystore::names`] needs no extra work.
    entries: Mutex<BTreeMap<EntryName, SecretBytes>>,
    /// Total bytes of values the store accepts, to act out a full disk in
    /// tests; `None` for no limit.
    capacity: Option<usize>,
}

impl MemoryStore {
    /// An empty store with no size limit.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store that holds at most `bytes` of values in all, and
    /// answers [`KeystoreError::Full`] past that, as a full disk would.
    pub fn with_capacity(bytes: usize) -> Self {
        MemoryStore {
            capacity: Some(bytes),
            ..Self::default()
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, BTreeMap<EntryName, SecretBytes>> {
        // Every mutation below is a single map operation, so a panic in
        // another thread cannot have left the map half-changed.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Keystore for MemoryStore {
    fn backend(&self) -> Backend {
        Backend::Memory
    }

    fn get(&self, name: &EntryName) -> Result<Option<SecretBytes>, KeystoreError> {
        Ok(self.entries().get(name).cloned())
    }

    fn put(&self, name: &EntryName, value: &[u8]) -> Result<(), KeystoreError> {
        let mut entries = self.entries();
        if let Some(capacity) = self.capacity {
            let used: usize = entries
                .iter()
                .filter(|(n, _)| *n != name)
                .map(|(_, v)| v.expose().len())
                .sum();
            let available = capacity.saturating_sub(used);
            if value.len() > available {
                return Err(KeystoreError::Full {
                    name: name.clone(),
                    needed: value.len(),
                    available,
                });
            }
        }
        entries.insert(name.clone(), SecretBytes::new(value.to_vec()));
        Ok(())
    }

    fn delete(&self, name: &EntryName) -> Result<bool, KeystoreError> {
        Ok(self.entries().remove(name).is_some())
    }

    fn names(&self) -> Result<Vec<EntryName>, KeystoreError> {
        Ok(self.entries().keys().cloned().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> EntryName {
        EntryName::new(s).unwrap()
    }

    #[test]
    fn put_get_replace_delete() {
        let store = MemoryStore::new();
        assert_eq!(store.get(&name("identity")).unwrap(), None);
        store.put(&name("identity"), b"one").unwrap();
        store.put(&name("identity"), b"two").unwrap();
        assert_eq!(
            store.get(&name("identity")).unwrap().unwrap().expose(),
            b"two"
        );
        assert!(store.delete(&name("identity")).unwrap());
        assert!(!store.delete(&name("identity")).unwrap());
        assert_eq!(store.get(&name("identity")).unwrap(), None);
    }

    #[test]
    fn a_full_store_refuses_and_keeps_the_old_value() {
        let store = MemoryStore::with_capacity(8);
        store.put(&name("identity"), b"12345").unwrap();
        store.put(&name("peer.a"), b"123").unwrap();
        let err = store.put(&name("identity"), b"123456").unwrap_err();
        assert!(matches!(
            err,
            KeystoreError::Full {
                needed: 6,
                available: 5,
                ..
            }
        ));
        assert_eq!(
            err.to_string(),
            "no room to store entry identity: it needs 6 bytes and 5 are free"
        );
        assert_eq!(
            store.get(&name("identity")).unwrap().unwrap().expose(),
            b"12345"
        );
        // Replacing a value with one of the same size fits.
        store.put(&name("identity"), b"54321").unwrap();
    }

    #[test]
    fn names_are_sorted() {
        let store = MemoryStore::new();
        for n in ["peer.b", "identity", "peer.a"] {
            store.put(&name(n), b"x").unwrap();
        }
        let names: Vec<_> = store
            .names()
            .unwrap()
            .into_iter()
            .map(|n| n.to_string())
            .collect();
        assert_eq!(names, ["identity", "peer.a", "peer.b"]);
    }
}
