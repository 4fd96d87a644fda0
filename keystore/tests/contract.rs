//! The same contract, run against the in-process store and the vault (the
//! OS keyring runs it in `keyring.rs`, inside its own D-Bus session).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use nodepair_keystore::{KdfParams, MemoryStore, Vault};

#[test]
fn the_memory_store_keeps_the_contract() {
    support::contract(&MemoryStore::new());
}

#[test]
fn the_vault_keeps_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let params = KdfParams {
        m_kib: 64,
        t: 1,
        p: 1,
    };
    let path = dir.path().join("vault");
    support::contract(&Vault::create(&path, b"passphrase", params).unwrap());
    // And the contract holds across reopening: every change reached the disk.
    let vault = Vault::open(&path, b"passphrase").unwrap();
    assert!(
        nodepair_keystore::Keystore::names(&vault)
            .unwrap()
            .is_empty()
    );
}
