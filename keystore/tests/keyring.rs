//! The OS keyring backend against a real Secret Service (gnome-keyring),
//! which each test starts for itself in a private D-Bus session.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use nodepair_keystore::{KeyringError, KeyringStore, Keystore, KeystoreError};
use std::time::Duration;
use support::{Session, in_session, name, unique_service};

#[test]
fn the_secret_service_keeps_the_contract() {
    if !in_session(Session::Unlocked, "the_secret_service_keeps_the_contract") {
        return;
    }
    let store = KeyringStore::open(&unique_service("contract")).unwrap();
    support::contract(&store);
}

#[test]
fn entries_are_kept_apart_by_service_name() {
    if !in_session(Session::Unlocked, "entries_are_kept_apart_by_service_name") {
        return;
    }
    let app = KeyringStore::open(&unique_service("app")).unwrap();
    let manager = KeyringStore::open(&unique_service("manager")).unwrap();
    app.put(&name("identity"), b"app key").unwrap();
    manager.put(&name("identity"), b"manager key").unwrap();
    assert_eq!(
        app.get(&name("identity")).unwrap().unwrap().expose(),
        b"app key"
    );
    assert_eq!(manager.names().unwrap(), [name("identity")]);
    assert!(manager.delete(&name("identity")).unwrap());
    assert_eq!(
        app.get(&name("identity")).unwrap().unwrap().expose(),
        b"app key"
    );
}

#[test]
fn a_locked_keyring_is_refused_at_open_without_a_prompt() {
    if !in_session(
        Session::Unlocked,
        "a_locked_keyring_is_refused_at_open_without_a_prompt",
    ) {
        return;
    }
    support::lock_keyring();
    let err = KeyringStore::open(&unique_service("locked")).unwrap_err();
    assert!(matches!(err, KeyringError::Locked(_)), "{err:?}");
    assert!(err.means_no_keyring());
    assert!(err.to_string().contains("locked"), "{err}");
}

#[test]
fn a_keyring_locked_while_in_use_fails_cleanly_and_loses_nothing() {
    if !in_session(
        Session::Unlocked,
        "a_keyring_locked_while_in_use_fails_cleanly_and_loses_nothing",
    ) {
        return;
    }
    let service = unique_service("relock");
    let store = KeyringStore::open_with_timeout(&service, Duration::from_secs(5)).unwrap();
    store.put(&name("peer.a"), b"paired").unwrap();
    support::lock_keyring();
    let locked = |r: Result<_, KeystoreError>| {
        matches!(r, Err(KeystoreError::Keyring(KeyringError::Locked(_))))
    };
    assert!(locked(store.put(&name("peer.a"), b"overwritten").map(drop)));
    // A locked keyring must never read as "no such entry".
    assert!(locked(store.get(&name("peer.a")).map(drop)));
    assert!(locked(store.names().map(drop)));
    assert!(locked(store.delete(&name("peer.a")).map(drop)));
    drop(store);
    support::unlock_keyring();
    let store = KeyringStore::open(&service).unwrap();
    assert_eq!(
        store.get(&name("peer.a")).unwrap().unwrap().expose(),
        b"paired"
    );
    assert_eq!(store.names().unwrap(), [name("peer.a")]);
}

#[test]
fn a_keyring_without_a_login_collection_is_unavailable() {
    if !in_session(
        Session::NoCollection,
        "a_keyring_without_a_login_collection_is_unavailable",
    ) {
        return;
    }
    let err = KeyringStore::open(&unique_service("nocollection")).unwrap_err();
    assert!(matches!(err, KeyringError::Unavailable(_)), "{err:?}");
}

#[test]
fn no_secret_service_is_unavailable() {
    if !in_session(Session::NoService, "no_secret_service_is_unavailable") {
        return;
    }
    let err = KeyringStore::open(&unique_service("none")).unwrap_err();
    assert!(matches!(err, KeyringError::Unavailable(_)), "{err:?}");
}

#[test]
fn no_session_bus_is_unavailable() {
    if !in_session(Session::NoBus, "no_session_bus_is_unavailable") {
        return;
    }
    let err = KeyringStore::open(&unique_service("nobus")).unwrap_err();
    assert!(matches!(err, KeyringError::Unavailable(_)), "{err:?}");
}
