//! EIP-1459 ENR trees without IO: links, entries, root signatures, hashed names, the walk, and signing a tree.
//!
//! A tree lives in DNS TXT records. The name an `enrtree://<key>@<domain>`
//! link gives holds the signed root, `enrtree-root:v1 e=<enr-root>
//! l=<link-root> seq=<n> sig=<sig>`; every other entry lives at
//! `<label>.<domain>`, where the label is the base32 of the first 16 bytes
//! of the keccak256 of the entry's text, so one signature covers the whole
//! tree. Entries are `enrtree-branch:<label>,…`, `enr:<record>` leaves (under
//! `e=`) and `enrtree://` links to other trees (under `l=`).
//!
//! [`Walk`] decides what to look up and checks what comes back; the
//! resolver in [`super::dns`] only moves TXT strings. [`TreeBuilder`] makes
//! the records an operator publishes.

mod build;
#[cfg(test)]
mod tests;
mod walk;

pub use build::{TreeBuilder, sign_tree};
pub use walk::{Limits, Query, Step, Walk};

use crate::enr::{EnrError, Record, WakuEnr};
use data_encoding::BASE32_NOPAD;
use enr::k256::ecdsa::signature::hazmat::PrehashVerifier as _;
use enr::k256::ecdsa::{Signature, SigningKey, VerifyingKey};
use sha3::{Digest as _, Keccak256};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt;
use std::str::FromStr;

/// The most text one entry should hold, so that it fits a UDP DNS answer.
pub const MAX_TXT_LEN: usize = 370;

/// How many bytes of an entry's keccak256 its subdomain label encodes.
pub const HASH_LEN: usize = 16;

/// The length of a subdomain label: base32 of [`HASH_LEN`] bytes, unpadded.
const LABEL_LEN: usize = (HASH_LEN * 8).div_ceil(5);

/// The most children one `enrtree-branch:` entry can hold within
/// [`MAX_TXT_LEN`] (each label plus its comma).
pub const MAX_BRANCH_CHILDREN: usize = (MAX_TXT_LEN - BRANCH_PREFIX.len()) / (LABEL_LEN + 1);

const ROOT_PREFIX: &str = "enrtree-root:v1";
const BRANCH_PREFIX: &str = "enrtree-branch:";
const LINK_PREFIX: &str = "enrtree://";
const ENR_PREFIX: &str = "enr:";

/// The shortest label accepted as a hash: 12 bytes, as go-ethereum allows.
const MIN_LABEL_BYTES: usize = 12;

/// Why a tree, or one of its entries, is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum TreeError {
    /// The text is not `enrtree://<base32 compressed secp256k1 key>@<domain>`.
    #[error("not an enrtree:// link: {0}")]
    BadLink(String),
    /// The root entry is missing or is not `enrtree-root:v1 e= l= seq= sig=`.
    #[error("not a valid enrtree-root:v1 entry: {0}")]
    BadRoot(String),
    /// The root's signature was not made by the key the link names.
    #[error("the tree's root signature does not verify against the link's public key")]
    BadSignature,
    /// The text served at a subdomain does not hash to its label: it was
    /// altered on the way, or the tree was published wrongly.
    #[error("the entry at {name} does not hash to its name")]
    HashMismatch {
        /// The name it was served at.
        name: String,
    },
    /// The text is none of the entry kinds EIP-1459 defines.
    #[error("not an ENR tree entry: {0:?}")]
    UnknownEntry(String),
    /// A branch entry whose child labels are not base32 hashes.
    #[error("a malformed enrtree-branch entry: {0}")]
    BadBranch(String),
    /// A kind of entry where the tree does not allow it (a link under
    /// `e=`, a record under `l=`, a root below the top).
    #[error("an {kind} entry at {name}, where the tree does not allow one")]
    Misplaced {
        /// The entry's kind.
        kind: &'static str,
        /// Where it was found.
        name: String,
    },
    /// An `enr:` leaf that is not a usable, correctly signed record.
    #[error("an ENR leaf is not usable: {0}")]
    Enr(#[from] EnrError),
    /// More entries than [`Limits::max_entries`]: refused rather than
    /// fetched without end.
    #[error("the tree has more than {limit} entries")]
    TooManyEntries {
        /// The limit.
        limit: usize,
    },
    /// Branches nested deeper than [`Limits::max_depth`].
    #[error("the tree is nested deeper than {limit} levels")]
    TooDeep {
        /// The limit.
        limit: usize,
    },
}

/// Keccak256 of some text.
fn keccak(text: &[u8]) -> [u8; 32] {
    Keccak256::digest(text).into()
}

/// The subdomain label an entry with this text is published under.
pub fn label_of(text: &str) -> String {
    BASE32_NOPAD.encode(&keccak(text.as_bytes())[..HASH_LEN])
}

/// Checks that `text` hashes to `label` (case-insensitive, as DNS names
/// are). `name` is only used to say where in an error.
pub fn check_hash(label: &str, text: &str, name: &str) -> Result<(), TreeError> {
    let mismatch = || TreeError::HashMismatch { name: name.into() };
    let claimed = decode_label(label).map_err(|_| mismatch())?;
    if keccak(text.as_bytes()).starts_with(&claimed) {
        Ok(())
    } else {
        Err(mismatch())
    }
}

/// The hash bytes a label encodes.
fn decode_label(label: &str) -> Result<Vec<u8>, TreeError> {
    let bytes = BASE32_NOPAD
        .decode(label.to_ascii_uppercase().as_bytes())
        .map_err(|e| TreeError::BadBranch(format!("{label:?} is not base32: {e}")))?;
    if !(MIN_LABEL_BYTES..=32).contains(&bytes.len()) {
        return Err(TreeError::BadBranch(format!(
            "{label:?} is {} bytes, not a hash",
            bytes.len()
        )));
    }
    Ok(bytes)
}

/// An `enrtree://<key>@<domain>` link: where a tree is and who signs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// The key whose signature the tree's root must carry.
    pub public_key: VerifyingKey,
    /// The DNS name holding the root, without a trailing dot.
    pub domain: String,
}

impl Link {
    /// A link to a tree at `domain` signed by `key`.
    pub fn new(public_key: VerifyingKey, domain: impl Into<String>) -> Self {
        let domain = domain.into();
        let domain = domain.strip_suffix('.').unwrap_or(&domain).to_owned();
        Link { public_key, domain }
    }

    /// Parses `enrtree://<base32 compressed key>@<domain>`.
    pub fn parse(text: &str) -> Result<Link, TreeError> {
        let bad = |why: &str| TreeError::BadLink(format!("{text:?}: {why}"));
        let rest = text
            .trim()
            .strip_prefix(LINK_PREFIX)
            .ok_or_else(|| bad("it does not start with enrtree://"))?;
        let (key, domain) = rest
            .split_once('@')
            .ok_or_else(|| bad("there is no @ between key and domain"))?;
        let key = BASE32_NOPAD
            .decode(key.to_ascii_uppercase().as_bytes())
            .map_err(|_| bad("the key is not base32"))?;
        let public_key = VerifyingKey::from_sec1_bytes(&key)
            .map_err(|_| bad("the key is not a compressed secp256k1 key"))?;
        let domain = domain.strip_suffix('.').unwrap_or(domain);
        if domain.is_empty() || domain.contains(|c: char| c.is_whitespace() || c == '@') {
            return Err(bad("the domain is not a DNS name"));
        }
        Ok(Link::new(public_key, domain))
    }
}

impl fmt::Display for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = self.public_key.to_sec1_bytes();
        write!(
            f,
            "{LINK_PREFIX}{}@{}",
            BASE32_NOPAD.encode(&key),
            self.domain
        )
    }
}

impl FromStr for Link {
    type Err = TreeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Link::parse(s)
    }
}

/// A tree's root entry, parsed but not yet trusted: see [`Root::verify`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Root {
    /// The label of the top of the ENR subtree.
    pub enr_root: String,
    /// The label of the top of the link subtree.
    pub link_root: String,
    /// The tree's sequence number; a newer tree has a larger one.
    pub seq: u64,
    /// The signature, `r || s || v` (`v` is not needed to check it).
    pub signature: [u8; 65],
    /// The text the signature covers: everything before ` sig=`.
    signed: String,
}

impl Root {
    /// Parses `enrtree-root:v1 e=<label> l=<label> seq=<n> sig=<base64url>`.
    pub fn parse(text: &str) -> Result<Root, TreeError> {
        let bad = |why: String| TreeError::BadRoot(format!("{text:?}: {why}"));
        let text = text.trim();
        let (signed, sig) = text
            .split_once(" sig=")
            .ok_or_else(|| bad("no sig=".into()))?;
        let mut words = signed.split(' ');
        if words.next() != Some(ROOT_PREFIX) {
            return Err(bad(format!("it does not start with {ROOT_PREFIX}")));
        }
        let mut field = |key: &str| {
            words
                .next()
                .and_then(|w| w.strip_prefix(key))
                .filter(|v| !v.is_empty())
                .ok_or_else(|| bad(format!("no {key}")))
        };
        let enr_root = field("e=")?;
        let link_root = field("l=")?;
        let seq = field("seq=")?;
        if words.next().is_some() {
            return Err(bad("more fields than e=, l=, seq= before sig=".into()));
        }
        for label in [enr_root, link_root] {
            decode_label(label).map_err(|e| bad(e.to_string()))?;
        }
        let seq = seq
            .parse()
            .map_err(|_| bad(format!("seq={seq} is not a number")))?;
        let sig = base64_url(sig).map_err(|why| bad(format!("sig= {why}")))?;
        let signature = <[u8; 65]>::try_from(sig.as_slice())
            .map_err(|_| bad(format!("sig= is {} bytes, not 65", sig.len())))?;
        Ok(Root {
            enr_root: enr_root.to_owned(),
            link_root: link_root.to_owned(),
            seq,
            signature,
            signed: signed.to_owned(),
        })
    }

    /// Checks the signature over keccak256 of the text before ` sig=`.
    pub fn verify(&self, key: &VerifyingKey) -> Result<(), TreeError> {
        let signature =
            Signature::from_slice(&self.signature[..64]).map_err(|_| TreeError::BadSignature)?;
        key.verify_prehash(&keccak(self.signed.as_bytes()), &signature)
            .map_err(|_| TreeError::BadSignature)
    }
}

/// Decodes URL-safe base64, with or without padding.
fn base64_url(text: &str) -> Result<Vec<u8>, String> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|e| format!("is not base64url: {e}"))
}

/// One TXT entry of a tree.
#[derive(Clone, Debug)]
pub enum Entry {
    /// `enrtree-root:v1 …`.
    Root(Root),
    /// `enrtree-branch:<label>,…`: the labels of the children.
    Branch(Vec<String>),
    /// `enr:<record>`, decoded and its signature checked.
    Enr(Box<WakuEnr>),
    /// `enrtree://<key>@<domain>`.
    Link(Link),
}

impl Entry {
    /// Parses one entry's text (after joining its TXT strings).
    pub fn parse(text: &str) -> Result<Entry, TreeError> {
        let text = text.trim();
        if text.starts_with(ROOT_PREFIX) {
            Root::parse(text).map(Entry::Root)
        } else if let Some(children) = text.strip_prefix(BRANCH_PREFIX) {
            let children: Vec<String> = children
                .split(',')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect();
            for child in &children {
                decode_label(child)?;
            }
            Ok(Entry::Branch(children))
        } else if text.starts_with(ENR_PREFIX) {
            Ok(Entry::Enr(Box::new(WakuEnr::parse(text)?)))
        } else if text.starts_with(LINK_PREFIX) {
            Link::parse(text).map(Entry::Link)
        } else {
            let shown: String = text.chars().take(40).collect();
            Err(TreeError::UnknownEntry(shown))
        }
    }

    /// The entry's kind, as a word for messages.
    fn kind(&self) -> &'static str {
        match self {
            Entry::Root(_) => "enrtree-root",
            Entry::Branch(_) => "enrtree-branch",
            Entry::Enr(_) => "enr",
            Entry::Link(_) => "enrtree link",
        }
    }
}
