//! The encrypted file vault: where a headless server keeps its secrets.
//!
//! ```text
//! 0        8    9    10         14         18         22          38         46          70
//! +--------+----+----+----------+----------+----------+-----------+----------+-----------+----------------+
//! |NPVAULT\0|ver|kdf | m (KiB)  | t        | p        | salt (16) | check (8)| nonce (24)| XChaCha20-     |
//! |        | =1 | =1 | u32 be   | u32 be   | u32 be   |           |          |           | Poly1305(body) |
//! +--------+----+----+----------+----------+----------+-----------+----------+-----------+----------------+
//! key   = Argon2id(passphrase, salt, m, t, p) → 32 bytes
//! check = HKDF-SHA256(key, salt = "nodepair/vault/check")[..8]   (wrong passphrase ≠ damaged body)
//! AD    = the 70-byte header; sum = SHA-256(header)[..8] appended to it on disk
//! ```
//!
//! On disk the header is followed by an 8-byte SHA-256 checksum of itself, so
//! a flipped header byte reads as damage, not as a wrong passphrase. Every
//! write goes to a temporary file in the same directory (mode 0600), is
//! synced, renamed over the vault, and the directory synced: a crash leaves
//! the old vault or the new one, never a mix. An exclusive lock on
//! `<vault>.lock`, held while the vault is open, keeps a second process out.

use crate::{Backend, EntryName, Keystore, KeystoreError, SecretBytes};
use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use prost::Message;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use zeroize::{Zeroize, Zeroizing};

const MAGIC: &[u8; 8] = b"NPVAULT\0";
const VERSION: u8 = 1;
const KDF_ARGON2ID: u8 = 1;
const HEADER_LEN: usize = 70;
const SUM_LEN: usize = 8;
const TAG_LEN: usize = 16;

/// Argon2id cost: memory in KiB, passes, lanes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Passes over the memory.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

impl Default for KdfParams {
    /// 64 MiB, 3 passes, 1 lane: about 0.2 s to unlock on a small server.
    fn default() -> Self {
        KdfParams {
            m_kib: 64 * 1024,
            t: 3,
            p: 1,
        }
    }
}

/// Why a vault cannot be opened or written. The vault file is unchanged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VaultError {
    /// The file is not a NodePair vault at all.
    #[error("{0} is not a NodePair vault")]
    NotAVault(PathBuf),
    /// A vault of a format version this program does not read.
    #[error(
        "{path} is a version {version} vault; this program reads version {VERSION}; upgrade NodePair"
    )]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// Its version byte.
        version: u8,
    },
    /// Shorter than its header: cut off.
    #[error("{0} is truncated: it ends inside its header")]
    Truncated(PathBuf),
    /// The header fails its checksum: the file is damaged.
    #[error("{0} is damaged: its header fails its checksum; restore it from a backup")]
    HeaderDamaged(PathBuf),
    /// The passphrase does not open this vault.
    #[error("wrong passphrase for {0}")]
    WrongPassphrase(PathBuf),
    /// The passphrase is right but the contents fail authentication.
    #[error("{0} is damaged: its contents fail authentication; restore it from a backup")]
    BodyDamaged(PathBuf),
    /// Another process holds the vault open.
    #[error("{0} is in use by another process (its lock file is held)")]
    Locked(PathBuf),
    /// The Argon2 parameters are out of range.
    #[error("vault key derivation parameters are invalid: {0}")]
    BadParams(String),
    /// Reading or writing the file failed.
    #[error("cannot access {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

#[derive(Clone, PartialEq, prost::Message)]
struct Body {
    #[prost(message, repeated, tag = "1")]
    entries: Vec<WireEntry>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct WireEntry {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(bytes = "vec", tag = "2")]
    value: Vec<u8>,
}

/// An entry's decoded or encoded copy holds a secret: wiped when dropped.
impl Drop for WireEntry {
    fn drop(&mut self) {
        self.value.zeroize();
    }
}

/// The open vault: the key stays in memory, the entries too, and every
/// change rewrites the file atomically.
pub struct Vault {
    path: PathBuf,
    /// Held for the vault's lifetime; its lock keeps other processes out.
    _lock: File,
    params: KdfParams,
    salt: [u8; 16],
    key: Zeroizing<[u8; 32]>,
    entries: Mutex<BTreeMap<EntryName, SecretBytes>>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("path", &self.path)
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> VaultError + '_ {
    move |source| VaultError::Io {
        path: path.to_owned(),
        source,
    }
}

fn random<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).expect("the OS random number generator works");
    out
}

/// The most memory an Argon2id cost may ask for: 1 GiB, in KiB.
pub const MAX_M_KIB: u32 = 1 << 20;
/// The most passes.
pub const MAX_T: u32 = 16;
/// The most lanes.
pub const MAX_P: u32 = 16;

impl KdfParams {
    /// Refuses costs no vault NodePair makes would have: a vault file that
    /// claims 4 TiB of memory or 2³² passes is damaged or planted, and is
    /// refused before any memory is taken or time spent.
    fn check(&self) -> Result<(), VaultError> {
        let fits = (1..=MAX_M_KIB).contains(&self.m_kib)
            && (1..=MAX_T).contains(&self.t)
            && (1..=MAX_P).contains(&self.p);
        if fits {
            Ok(())
        } else {
            Err(VaultError::BadParams(format!(
                "Argon2id cost m = {} KiB, t = {}, p = {} is outside what a vault may ask (m ≤ {MAX_M_KIB} KiB, t ≤ {MAX_T}, p ≤ {MAX_P})",
                self.m_kib, self.t, self.p
            )))
        }
    }
}

fn derive_key(
    passphrase: &[u8],
    salt: &[u8; 16],
    params: KdfParams,
) -> Result<Zeroizing<[u8; 32]>, VaultError> {
    params.check()?;
    let p = Params::new(params.m_kib, params.t, params.p, Some(32))
        .map_err(|e| VaultError::BadParams(e.to_string()))?;
    let mut key = Zeroizing::new([0u8; 32]);
    // Our own memory for Argon2's blocks, wiped when dropped: its last
    // blocks are enough to recompute the key.
    let mut blocks = Zeroizing::new(vec![argon2::Block::default(); p.block_count()]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, p)
        .hash_password_into_with_memory(passphrase, salt, key.as_mut(), blocks.as_mut_slice())
        .map_err(|e| VaultError::BadParams(e.to_string()))?;
    Ok(key)
}

fn check_value(key: &[u8; 32]) -> [u8; 8] {
    let mut out = [0u8; 8];
    Hkdf::<Sha256>::new(Some(b"nodepair/vault/check"), key)
        .expand(&[], &mut out)
        .expect("8 bytes is within HKDF's limit");
    out
}

fn header(params: KdfParams, salt: &[u8; 16], check: &[u8; 8], nonce: &[u8; 24]) -> Vec<u8> {
    let mut h = Vec::with_capacity(HEADER_LEN + SUM_LEN);
    h.extend_from_slice(MAGIC);
    h.push(VERSION);
    h.push(KDF_ARGON2ID);
    h.extend_from_slice(&params.m_kib.to_be_bytes());
    h.extend_from_slice(&params.t.to_be_bytes());
    h.extend_from_slice(&params.p.to_be_bytes());
    h.extend_from_slice(salt);
    h.extend_from_slice(check);
    h.extend_from_slice(nonce);
    debug_assert_eq!(h.len(), HEADER_LEN);
    h
}

fn lock(path: &Path) -> Result<File, VaultError> {
    let lock_path = path.with_extension("lock");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .private()
        .open(&lock_path)
        .map_err(io_err(&lock_path))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(VaultError::Locked(path.to_owned())),
        Err(std::fs::TryLockError::Error(e)) => Err(io_err(&lock_path)(e)),
    }
}

/// Files only their owner may read: mode 0600 on Unix. (On Windows a file
/// under the user's profile inherits an owner-only ACL.)
trait Private {
    fn private(&mut self) -> &mut Self;
}

impl Private for OpenOptions {
    #[cfg(unix)]
    fn private(&mut self) -> &mut Self {
        std::os::unix::fs::OpenOptionsExt::mode(self, 0o600)
    }

    #[cfg(not(unix))]
    fn private(&mut self) -> &mut Self {
        self
    }
}

/// Removes what writers that died between write and rename left behind.
/// Only called with the lock held, so no live writer owns one of these.
fn remove_stale_temps(path: &Path) {
    let (Some(dir), Some(prefix)) = (
        path.parent(),
        temp_path(path, "").file_name().map(|n| n.to_owned()),
    ) else {
        return;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry
            .file_name()
            .as_encoded_bytes()
            .starts_with(prefix.as_encoded_bytes())
        {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// The temporary file a writer builds the next vault in: `<vault>.tmp-<pid>`.
fn temp_path(path: &Path, pid: &str) -> PathBuf {
    path.with_extension(format!("tmp-{pid}"))
}

impl Vault {
    /// Creates a new, empty vault at `path` (which must not exist).
    pub fn create(path: &Path, passphrase: &[u8], params: KdfParams) -> Result<Vault, VaultError> {
        let lock = lock(path)?;
        if path.exists() {
            return Err(io_err(path)(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "a vault is already there",
            )));
        }
        let salt = random::<16>();
        let key = derive_key(passphrase, &salt, params)?;
        let vault = Vault {
            path: path.to_owned(),
            _lock: lock,
            params,
            salt,
            key,
            entries: Mutex::new(BTreeMap::new()),
        };
        vault.save(&BTreeMap::new())?;
        Ok(vault)
    }

    /// Opens the vault at `path` with `passphrase`.
    pub fn open(path: &Path, passphrase: &[u8]) -> Result<Vault, VaultError> {
        let lock = lock(path)?;
        remove_stale_temps(path);
        let bytes = fs::read(path).map_err(io_err(path))?;
        let p = || path.to_owned();
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err(VaultError::NotAVault(p()));
        }
        if bytes.len() < MAGIC.len() + 1 {
            return Err(VaultError::Truncated(p()));
        }
        if bytes[8] != VERSION {
            return Err(VaultError::UnsupportedVersion {
                path: p(),
                version: bytes[8],
            });
        }
        if bytes.len() < HEADER_LEN + SUM_LEN + TAG_LEN {
            return Err(VaultError::Truncated(p()));
        }
        let (head, rest) = bytes.split_at(HEADER_LEN);
        let (sum, sealed) = rest.split_at(SUM_LEN);
        if Sha256::digest(head)[..SUM_LEN] != *sum || head[9] != KDF_ARGON2ID {
            return Err(VaultError::HeaderDamaged(p()));
        }
        let u32_at = |i: usize| u32::from_be_bytes(head[i..i + 4].try_into().expect("4 bytes"));
        let params = KdfParams {
            m_kib: u32_at(10),
            t: u32_at(14),
            p: u32_at(18),
        };
        let salt: [u8; 16] = head[22..38].try_into().expect("16 bytes");
        let check: [u8; 8] = head[38..46].try_into().expect("8 bytes");
        let nonce: [u8; 24] = head[46..70].try_into().expect("24 bytes");
        let key = derive_key(passphrase, &salt, params)?;
        if check_value(&key) != check {
            return Err(VaultError::WrongPassphrase(p()));
        }
        let plain = Zeroizing::new(
            XChaCha20Poly1305::new(&(*key).into())
                .decrypt(
                    &XNonce::from(nonce),
                    Payload {
                        msg: sealed,
                        aad: head,
                    },
                )
                .map_err(|_| VaultError::BodyDamaged(p()))?,
        );
        let body = Body::decode(plain.as_slice()).map_err(|_| VaultError::BodyDamaged(p()))?;
        let mut entries = BTreeMap::new();
        for mut e in body.entries {
            let name = EntryName::new(std::mem::take(&mut e.name))
                .map_err(|_| VaultError::BodyDamaged(p()))?;
            entries.insert(name, SecretBytes::new(std::mem::take(&mut e.value)));
        }
        Ok(Vault {
            path: path.to_owned(),
            _lock: lock,
            params,
            salt,
            key,
            entries: Mutex::new(entries),
        })
    }

    /// The vault file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Re-encrypts everything under a new passphrase (and a new salt), atomically.
    pub fn change_passphrase(&mut self, new: &[u8]) -> Result<(), VaultError> {
        let salt = random::<16>();
        let key = derive_key(new, &salt, self.params)?;
        let (old_salt, old_key) = (self.salt, self.key.clone());
        self.salt = salt;
        self.key = key;
        let entries = self
            .entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Err(e) = self.save(&entries) {
            self.salt = old_salt;
            self.key = old_key;
            return Err(e);
        }
        Ok(())
    }

    /// Writes `entries` as the new vault: temp file, sync, rename, sync dir.
    fn save(&self, entries: &BTreeMap<EntryName, SecretBytes>) -> Result<(), VaultError> {
        let body = Zeroizing::new(
            Body {
                entries: entries
                    .iter()
                    .map(|(n, v)| WireEntry {
                        name: n.as_str().to_owned(),
                        value: v.expose().to_vec(),
                    })
                    .collect(),
            }
            .encode_to_vec(),
        );
        let nonce = random::<24>();
        let mut out = header(self.params, &self.salt, &check_value(&self.key), &nonce);
        let sealed = XChaCha20Poly1305::new(&(*self.key).into())
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: &body,
                    aad: &out,
                },
            )
            .expect("a vault is far below XChaCha20-Poly1305's length limit");
        let sum = Sha256::digest(&out);
        out.extend_from_slice(&sum[..SUM_LEN]);
        out.extend_from_slice(&sealed);

        let dir = self
            .path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        // A fresh name, created here and nowhere else: `create_new` refuses
        // anything already at that path, a symbolic link planted there
        // included, so the vault is never written through one.
        let tmp = temp_path(
            &self.path,
            &format!(
                "{}-{:016x}",
                std::process::id(),
                u64::from_le_bytes(random::<8>())
            ),
        );
        let written = (|| {
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .private()
                .open(&tmp)?;
            file.write_all(&out)?;
            file.sync_all()?;
            fs::rename(&tmp, &self.path)?;
            File::open(dir)?.sync_all()
        })();
        if written.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        written.map_err(io_err(&self.path))
    }

    fn change(
        &self,
        f: impl FnOnce(&mut BTreeMap<EntryName, SecretBytes>),
    ) -> Result<(), KeystoreError> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let mut next = entries.clone();
        f(&mut next);
        self.save(&next)
            .map_err(|e| KeystoreError::Vault(Box::new(e)))?;
        *entries = next;
        Ok(())
    }
}

impl Keystore for Vault {
    fn backend(&self) -> Backend {
        Backend::Vault
    }

    fn get(&self, name: &EntryName) -> Result<Option<SecretBytes>, KeystoreError> {
        Ok(self
            .entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned())
    }

    fn put(&self, name: &EntryName, value: &[u8]) -> Result<(), KeystoreError> {
        self.change(|e| {
            e.insert(name.clone(), SecretBytes::new(value.to_vec()));
        })
    }

    fn put_many(&self, entries: &[(EntryName, Vec<u8>)]) -> Result<(), KeystoreError> {
        self.change(|e| {
            for (name, value) in entries {
                e.insert(name.clone(), SecretBytes::new(value.clone()));
            }
        })
    }

    fn delete(&self, name: &EntryName) -> Result<bool, KeystoreError> {
        let had = self.get(name)?.is_some();
        if had {
            self.change(|e| {
                e.remove(name);
            })?;
        }
        Ok(had)
    }

    fn names(&self) -> Result<Vec<EntryName>, KeystoreError> {
        Ok(self
            .entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .cloned()
            .collect())
    }
}

#[cfg(test)]
#[cfg(unix)]
mod tests;
