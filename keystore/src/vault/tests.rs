//! The vault's file: round trips, wrong passphrases, damage, and atomic writes.

use super::*;

/// Cheap parameters: the tests are about the format, not the cost.
const FAST: KdfParams = KdfParams {
    m_kib: 64,
    t: 1,
    p: 1,
};

fn name(s: &str) -> EntryName {
    EntryName::new(s).unwrap()
}

fn filled(dir: &Path) -> PathBuf {
    let path = dir.join("vault");
    let v = Vault::create(&path, b"correct horse", FAST).unwrap();
    v.put(&name("identity"), b"secret-1").unwrap();
    v.put(&name("peer.a"), b"secret-2").unwrap();
    path
}

#[test]
fn entries_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = filled(dir.path());
    let v = Vault::open(&path, b"correct horse").unwrap();
    assert_eq!(
        v.get(&name("identity")).unwrap().unwrap().expose(),
        b"secret-1"
    );
    assert_eq!(v.names().unwrap().len(), 2);
    assert!(v.delete(&name("peer.a")).unwrap());
    drop(v);
    let v = Vault::open(&path, b"correct horse").unwrap();
    assert_eq!(v.names().unwrap(), [name("identity")]);
}

#[test]
fn the_file_is_private_and_holds_no_secret_in_clear() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = filled(dir.path());
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let bytes = fs::read(&path).unwrap();
    assert!(!bytes.windows(8).any(|w| w == b"secret-1"));
    assert!(!bytes.windows(8).any(|w| w == b"identity"));
}

#[test]
fn every_kind_of_bad_file_has_its_own_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = filled(dir.path());
    let good = fs::read(&path).unwrap();
    let try_with = |bytes: &[u8]| {
        fs::write(&path, bytes).unwrap();
        Vault::open(&path, b"correct horse").unwrap_err()
    };
    assert!(matches!(
        try_with(b"hello, world"),
        VaultError::NotAVault(_)
    ));
    let mut v2 = good.clone();
    v2[8] = 2;
    assert!(matches!(
        try_with(&v2),
        VaultError::UnsupportedVersion { version: 2, .. }
    ));
    assert!(matches!(try_with(&good[..40]), VaultError::Truncated(_)));
    for i in [10, 25, 40, 60] {
        let mut flipped = good.clone();
        flipped[i] ^= 1;
        assert!(
            matches!(try_with(&flipped), VaultError::HeaderDamaged(_)),
            "header byte {i}"
        );
    }
    let mut flipped = good.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    assert!(matches!(try_with(&flipped), VaultError::BodyDamaged(_)));
    assert!(matches!(
        try_with(&good[..good.len() - 1]),
        VaultError::BodyDamaged(_)
    ));
    fs::write(&path, &good).unwrap();
    assert!(matches!(
        Vault::open(&path, b"wrong horse").unwrap_err(),
        VaultError::WrongPassphrase(_)
    ));
    assert!(
        Vault::open(&path, b"correct horse").is_ok(),
        "nothing was changed by the failures"
    );
}

#[test]
fn a_second_opener_is_refused_while_the_vault_is_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = filled(dir.path());
    let first = Vault::open(&path, b"correct horse").unwrap();
    assert!(matches!(
        Vault::open(&path, b"correct horse").unwrap_err(),
        VaultError::Locked(_)
    ));
    drop(first);
    Vault::open(&path, b"correct horse").unwrap();
}

#[test]
fn changing_the_passphrase_keeps_every_entry() {
    let dir = tempfile::tempdir().unwrap();
    let path = filled(dir.path());
    let mut v = Vault::open(&path, b"correct horse").unwrap();
    v.change_passphrase(b"battery staple").unwrap();
    drop(v);
    assert!(matches!(
        Vault::open(&path, b"correct horse").unwrap_err(),
        VaultError::WrongPassphrase(_)
    ));
    let v = Vault::open(&path, b"battery staple").unwrap();
    assert_eq!(v.names().unwrap().len(), 2);
}

#[test]
fn a_writer_killed_before_the_rename_leaves_the_old_vault() {
    let dir = tempfile::tempdir().unwrap();
    let path = filled(dir.path());
    // What a crash between write and rename leaves: a stray temp file.
    let stray = path.with_extension("tmp-99999");
    fs::write(&stray, b"half a vault").unwrap();
    let v = Vault::open(&path, b"correct horse").unwrap();
    assert_eq!(v.names().unwrap().len(), 2);
    assert!(!stray.exists(), "the next opener cleans it up");
}

#[test]
fn creating_over_an_existing_vault_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = filled(dir.path());
    assert!(matches!(
        Vault::create(&path, b"x", FAST).unwrap_err(),
        VaultError::Io { .. }
    ));
    assert!(Vault::open(&path, b"correct horse").is_ok());
}

#[test]
fn a_planted_header_asking_for_terabytes_is_refused_at_once() {
    // A file with a valid checksum that claims 4 TiB of memory, or 2^32
    // passes: refused before Argon2 takes any memory or time.
    let dir = tempfile::tempdir().unwrap();
    let path = filled(dir.path());
    let good = fs::read(&path).unwrap();
    for (at, value) in [(10, u32::MAX), (14, u32::MAX), (18, 1 << 20), (10, 0)] {
        let mut planted = good.clone();
        planted[at..at + 4].copy_from_slice(&value.to_be_bytes());
        let sum = Sha256::digest(&planted[..HEADER_LEN]);
        planted[HEADER_LEN..HEADER_LEN + SUM_LEN].copy_from_slice(&sum[..SUM_LEN]);
        fs::write(&path, &planted).unwrap();
        let started = std::time::Instant::now();
        let err = Vault::open(&path, b"correct horse").unwrap_err();
        assert!(matches!(err, VaultError::BadParams(_)), "{err}");
        assert!(
            err.to_string().contains("outside what a vault may ask"),
            "{err}"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }
    fs::write(&path, &good).unwrap();
    assert!(Vault::open(&path, b"correct horse").is_ok());
}

#[test]
fn writes_never_go_through_a_link_planted_beside_the_vault() {
    // Every name a writer could use for its temp file that an attacker
    // could plant is refused by `create_new`; what it plants is left
    // alone, and the vault is written all the same.
    let dir = tempfile::tempdir().unwrap();
    let path = filled(dir.path());
    let target = dir.path().join("target");
    fs::write(&target, b"do not touch").unwrap();
    let planted = temp_path(&path, &std::process::id().to_string());
    std::os::unix::fs::symlink(&target, &planted).unwrap();
    let v = Vault::open(&path, b"correct horse").unwrap();
    v.put(&EntryName::new("c").unwrap(), b"3").unwrap();
    assert_eq!(fs::read(&target).unwrap(), b"do not touch");
    drop(v);
    let v = Vault::open(&path, b"correct horse").unwrap();
    assert_eq!(v.names().unwrap().len(), 3);
}

#[test]
fn a_batch_of_entries_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = filled(dir.path());
    let v = Vault::open(&path, b"correct horse").unwrap();
    let batch: Vec<(EntryName, Vec<u8>)> = (0..200)
        .map(|i| {
            (
                name(&format!("peer.{i:03}")),
                format!("value-{i}").into_bytes(),
            )
        })
        .collect();
    v.put_many(&batch).unwrap();
    drop(v);
    let v = Vault::open(&path, b"correct horse").unwrap();
    assert_eq!(v.names().unwrap().len(), 202);
    assert_eq!(
        v.get(&name("peer.199")).unwrap().unwrap().expose(),
        b"value-199"
    );
}

#[test]
fn a_batch_that_cannot_be_written_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = filled(dir.path());
    let v = Vault::open(&path, b"correct horse").unwrap();
    // Its directory gone, the vault cannot write its temp file.
    fs::remove_dir_all(dir.path()).unwrap();
    let batch = [
        (name("peer.a"), b"changed".to_vec()),
        (name("peer.b"), b"new".to_vec()),
    ];
    assert!(v.put_many(&batch).is_err());
    assert_eq!(
        v.get(&name("peer.a")).unwrap().unwrap().expose(),
        b"secret-2"
    );
    assert!(v.get(&name("peer.b")).unwrap().is_none());
}
