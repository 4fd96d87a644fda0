//! Backend selection and migration, against a real Secret Service where the
//! case needs one: what is chosen, what is recorded, and that no start-up or
//! migration ever hides or loses a counterparty.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use nodepair_keystore::select::{self, Choice, Location, Options, SelectError};
use nodepair_keystore::{
    Backend, Counterparty, CounterpartyState, Identity, KdfParams, KeyringError, PassphraseSource,
    Role, migrate,
};
use std::ffi::OsString;
use std::path::Path;
use support::{Session, in_session, unique_service};

fn options(dir: &Path, choice: Choice, service: &str) -> Options {
    Options {
        choice,
        keyring_service: service.to_owned(),
        vault_path: dir.join("state/vault"),
        passphrase: Some(PassphraseSource::Env("TEST_PASSPHRASE".into())),
        terminal_prompt: false,
        kdf: KdfParams {
            m_kib: 64,
            t: 1,
            p: 1,
        },
        marker: dir.join("state/keystore"),
    }
}

fn env(var: &str) -> Option<OsString> {
    (var == "TEST_PASSPHRASE").then(|| OsString::from("test passphrase"))
}

fn no_env(_: &str) -> Option<OsString> {
    None
}

fn counterparty(key: u8) -> Counterparty {
    Counterparty {
        public_key: [key; 32],
        node_id: [key; 16],
        display_name: format!("laptop {key}"),
        role: Role::App,
        paired_at: 1_790_000_000 + u64::from(key),
        last_seen: Some(1_790_000_500),
        state: CounterpartyState::Active,
        capabilities: vec!["host".into()],
        local_name: None,
        grants: None,
        our_key: None,
        moving_to: None,
        introduced_by: None,
        cut_offs: Vec::new(),
    }
}

#[test]
fn auto_picks_the_keyring_when_it_answers_and_keeps_to_it() {
    if !in_session(
        Session::Unlocked,
        "auto_picks_the_keyring_when_it_answers_and_keeps_to_it",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let opts = options(dir.path(), Choice::Auto, &unique_service("auto"));
    let selected = select::select(&opts, no_env).unwrap();
    assert_eq!(selected.location.backend(), Backend::Keyring);
    assert_eq!(selected.why, "the OS keyring answers");
    let (identity, _) = Identity::load_or_create(&*selected.store).unwrap();
    counterparty(1).save(&*selected.store).unwrap();
    drop(selected);
    assert!(!opts.vault_path.exists(), "no vault was made");

    // Next start: the record is followed.
    let again = select::select(&opts, no_env).unwrap();
    assert!(again.why.contains("first stored there"), "{}", again.why);
    assert_eq!(Identity::load(&*again.store).unwrap(), Some(identity));
    drop(again);

    // A start with the keyring locked fails; it does not start afresh in a vault.
    support::lock_keyring();
    let err = select::select(&opts, env).unwrap_err();
    assert!(
        matches!(
            err,
            SelectError::Keyring {
                source: KeyringError::Locked(_),
                ..
            }
        ),
        "{err}"
    );
    assert!(
        !opts.vault_path.exists(),
        "no empty vault replaced the keyring"
    );
}

#[test]
fn auto_falls_back_to_the_vault_without_a_secret_service() {
    if !in_session(
        Session::NoService,
        "auto_falls_back_to_the_vault_without_a_secret_service",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let opts = options(dir.path(), Choice::Auto, &unique_service("fallback"));
    let selected = select::select(&opts, env).unwrap();
    assert_eq!(
        selected.location,
        Location::Vault {
            path: opts.vault_path.clone()
        }
    );
    assert!(
        selected.why.contains("OS keyring cannot be used"),
        "{}",
        selected.why
    );
    counterparty(2).save(&*selected.store).unwrap();
    drop(selected);
    let again = select::select(&opts, env).unwrap();
    assert_eq!(
        Counterparty::load_all(&*again.store).unwrap(),
        [counterparty(2)]
    );

    // Without a passphrase the error says both why not the keyring and what the vault needs.
    std::fs::remove_file(&opts.marker).unwrap();
    std::fs::remove_file(&opts.vault_path).unwrap();
    drop(again);
    let err = select::select(&opts, no_env).unwrap_err();
    assert!(matches!(err, SelectError::NeitherBackend { .. }), "{err}");
    assert!(err.to_string().contains("TEST_PASSPHRASE"), "{err}");
    assert!(
        !opts.vault_path.exists() && !opts.marker.exists(),
        "nothing was created"
    );
}

#[test]
fn the_configuration_cannot_silently_switch_backends() {
    if !in_session(
        Session::Unlocked,
        "the_configuration_cannot_silently_switch_backends",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let service = unique_service("switch");
    let keyring_opts = options(dir.path(), Choice::Keyring, &service);
    let selected = select::select(&keyring_opts, no_env).unwrap();
    counterparty(3).save(&*selected.store).unwrap();
    drop(selected);

    let vault_opts = options(dir.path(), Choice::Vault, &service);
    let err = select::select(&vault_opts, env).unwrap_err();
    assert!(matches!(err, SelectError::ConfigDisagrees { .. }), "{err}");
    assert!(err.to_string().contains("keystore migrate"), "{err}");
    assert!(!vault_opts.vault_path.exists());

    // Nor to another keyring service under `auto`.
    let other = options(dir.path(), Choice::Auto, &unique_service("other"));
    assert!(matches!(
        select::select(&other, no_env).unwrap_err(),
        SelectError::ConfigDisagrees { .. }
    ));
}

#[test]
fn migration_keyring_to_vault_and_back_keeps_every_counterparty() {
    if !in_session(
        Session::Unlocked,
        "migration_keyring_to_vault_and_back_keeps_every_counterparty",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let service = unique_service("migrate");
    let opts = options(dir.path(), Choice::Keyring, &service);
    let keyring = select::select(&opts, no_env).unwrap();
    let (identity, _) = Identity::load_or_create(&*keyring.store).unwrap();
    let everyone: Vec<_> = (1..=5).map(counterparty).collect();
    for c in &everyone {
        c.save(&*keyring.store).unwrap();
    }

    // Keyring → vault.
    let vault_location = Location::Vault {
        path: opts.vault_path.clone(),
    };
    let vault = select::open_target(&vault_location, &opts, env).unwrap();
    let report = migrate::copy_all(&*keyring.store, &*vault).unwrap();
    assert_eq!(report.copied, 6);
    select::record(&opts.marker, &vault_location).unwrap();
    assert_eq!(
        migrate::remove_migrated(&*keyring.store, &*vault).unwrap(),
        6
    );
    assert!(keyring.store.names().unwrap().is_empty());
    drop((keyring, vault));

    let vault_opts = options(dir.path(), Choice::Vault, &service);
    let in_vault = select::select(&vault_opts, env).unwrap();
    assert_eq!(Counterparty::load_all(&*in_vault.store).unwrap(), everyone);
    assert_eq!(
        Identity::load(&*in_vault.store).unwrap().as_ref(),
        Some(&identity)
    );

    // And back.
    let keyring_location = Location::Keyring {
        service: service.clone(),
    };
    let keyring = select::open_target(&keyring_location, &opts, no_env).unwrap();
    assert_eq!(
        migrate::copy_all(&*in_vault.store, &*keyring)
            .unwrap()
            .copied,
        6
    );
    select::record(&opts.marker, &keyring_location).unwrap();
    migrate::remove_migrated(&*in_vault.store, &*keyring).unwrap();
    drop((in_vault, keyring));
    let back = select::select(&opts, no_env).unwrap();
    assert_eq!(Counterparty::load_all(&*back.store).unwrap(), everyone);
    assert_eq!(Identity::load(&*back.store).unwrap(), Some(identity));
}

#[test]
fn a_recorded_vault_that_is_missing_is_an_error_not_a_fresh_start() {
    let dir = tempfile::tempdir().unwrap();
    let opts = options(dir.path(), Choice::Vault, "unused");
    let selected = select::select(&opts, env).unwrap();
    counterparty(4).save(&*selected.store).unwrap();
    drop(selected);
    std::fs::rename(&opts.vault_path, dir.path().join("moved")).unwrap();
    let err = select::select(&opts, env).unwrap_err();
    assert!(matches!(err, SelectError::VaultMissing { .. }), "{err}");
    assert!(
        !opts.vault_path.exists(),
        "no empty vault was created in its place"
    );
}

#[test]
fn a_wrong_passphrase_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let opts = options(dir.path(), Choice::Vault, "unused");
    let selected = select::select(&opts, env).unwrap();
    counterparty(5).save(&*selected.store).unwrap();
    drop(selected);
    let before = std::fs::read(&opts.vault_path).unwrap();
    let wrong = |v: &str| (v == "TEST_PASSPHRASE").then(|| OsString::from("wrong"));
    let err = select::select(&opts, wrong).unwrap_err();
    assert!(err.to_string().contains("wrong passphrase"), "{err}");
    assert_eq!(std::fs::read(&opts.vault_path).unwrap(), before);
}
