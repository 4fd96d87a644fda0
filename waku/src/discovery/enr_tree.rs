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

/// Bounds on one walk, so a hostile or broken tree cannot make it fetch
/// without end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The most names looked up in all (roots, branches, leaves, across
    /// linked trees); beyond it the walk fails with
    /// [`TreeError::TooManyEntries`].
    pub max_entries: usize,
    /// The most entries below a root on one path; beyond it the walk fails
    /// with [`TreeError::TooDeep`]. A tree made by [`TreeBuilder`] is
    /// `log₁₃(nodes) + 1` deep.
    pub max_depth: usize,
    /// Whether to walk the `l=` subtree and then the ENR subtrees of the
    /// trees it links to (one level: a linked tree's own links are not
    /// followed). Problems in a linked tree skip that tree.
    pub follow_links: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entries: 1000,
            max_depth: 8,
            follow_links: false,
        }
    }
}

/// Which subtree a name belongs to: it decides which leaves are allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Subtree {
    /// Under `e=`: branches and `enr:` leaves.
    Enr,
    /// Under `l=`: branches and `enrtree://` leaves.
    Links,
}

/// What a query is for: a tree's root or an entry below one.
#[derive(Clone, Debug)]
enum Target {
    /// The root of the tree `link` names.
    Root { link: Link },
    /// An entry at `<label>.<domain>`.
    Entry {
        /// The expected hash.
        label: String,
        /// The tree's domain, to name the entry's children.
        domain: String,
        /// Which leaves may appear.
        subtree: Subtree,
    },
}

/// One name the walk wants the TXT records of; hand it back with the
/// answer to [`Walk::handle_txt`].
#[derive(Clone, Debug)]
pub struct Query {
    /// The name to look up, without a trailing dot.
    name: String,
    /// What the answer should be.
    target: Target,
    /// Entries between this one and its tree's root.
    depth: usize,
    /// Whether this is in the tree the walk started from, rather than a
    /// linked one: problems there refuse the walk rather than skip.
    top: bool,
}

impl Query {
    /// The name to look up, without a trailing dot.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether this is the root of the tree the walk started from: if it
    /// cannot be looked up there is no tree at all.
    pub fn is_top_root(&self) -> bool {
        self.top && matches!(self.target, Target::Root { .. })
    }
}

/// What one answer did.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    /// A root or branch: this many new names were queued.
    Queued(usize),
    /// A new node record.
    Found,
    /// A record for a node already found (the newer `seq` is kept).
    Duplicate,
    /// The entry was skipped; the rest of the walk goes on.
    Skipped {
        /// Where.
        name: String,
        /// Why.
        why: TreeError,
    },
}

/// A breadth-first walk of a tree, sans IO.
///
/// Call [`Walk::poll_query`] until it returns `None`, look each name up,
/// and hand the TXT strings back with [`Walk::handle_txt`] (several queries
/// may be outstanding at once). A failed lookup of a query for which
/// [`Query::is_top_root`] is true means there is no tree; any other failed
/// lookup may simply be dropped. When `poll_query` returns `None` and no
/// query is outstanding, [`Walk::into_enrs`] gives the records.
///
/// An error from `handle_txt` refuses the whole tree: the top root missing,
/// malformed or not signed by the link's key, an entry that does not hash
/// to its name, or the [`Limits`] exceeded. A malformed leaf or branch
/// whose hash is right is skipped ([`Step::Skipped`]), as is anything
/// wrong in a linked tree.
#[derive(Debug)]
pub struct Walk {
    /// The bounds.
    limits: Limits,
    /// Names to look up, in breadth-first order.
    queue: VecDeque<Query>,
    /// Every name ever queued (lowercase), against cycles and duplicates;
    /// its size is what [`Limits::max_entries`] bounds.
    seen: HashSet<String>,
    /// The records found, in the order found.
    found: Vec<WakuEnr>,
    /// Where each node's record is in `found`, to keep one per node.
    by_node: HashMap<enr::NodeId, usize>,
    /// The top tree's sequence number, once its root verified.
    seq: Option<u64>,
}

impl Walk {
    /// A walk of the tree `link` names.
    pub fn new(link: Link, limits: Limits) -> Walk {
        let mut walk = Walk {
            limits,
            queue: VecDeque::new(),
            seen: HashSet::new(),
            found: Vec::new(),
            by_node: HashMap::new(),
            seq: None,
        };
        walk.seen.insert(link.domain.to_ascii_lowercase());
        walk.queue.push_back(Query {
            name: link.domain.clone(),
            target: Target::Root { link },
            depth: 0,
            top: true,
        });
        walk
    }

    /// The next name to look up, if any.
    pub fn poll_query(&mut self) -> Option<Query> {
        self.queue.pop_front()
    }

    /// The top tree's sequence number, once its root has verified.
    pub fn seq(&self) -> Option<u64> {
        self.seq
    }

    /// The node records found, one per node.
    pub fn into_enrs(self) -> Vec<WakuEnr> {
        self.found
    }

    /// Takes the TXT records found at `query`'s name, each the
    /// concatenation of its strings.
    pub fn handle_txt(&mut self, query: Query, records: &[String]) -> Result<Step, TreeError> {
        let top = query.top;
        let name = query.name.clone();
        match self.handle(query, records) {
            Err(e @ (TreeError::TooManyEntries { .. } | TreeError::TooDeep { .. })) => Err(e),
            Err(why) if !top => Ok(Step::Skipped { name, why }),
            other => other,
        }
    }

    fn handle(&mut self, query: Query, records: &[String]) -> Result<Step, TreeError> {
        match query.target {
            Target::Root { link } => {
                let text = records
                    .iter()
                    .find(|r| r.trim_start().starts_with(ROOT_PREFIX))
                    .ok_or_else(|| {
                        TreeError::BadRoot(format!("no {ROOT_PREFIX} entry at {}", query.name))
                    })?;
                let root = Root::parse(text)?;
                root.verify(&link.public_key)?;
                if query.top {
                    self.seq = Some(root.seq);
                }
                let mut queued = usize::from(self.push(
                    &root.enr_root,
                    &link.domain,
                    Subtree::Enr,
                    1,
                    query.top,
                )?);
                if query.top && self.limits.follow_links {
                    queued += usize::from(self.push(
                        &root.link_root,
                        &link.domain,
                        Subtree::Links,
                        1,
                        true,
                    )?);
                }
                Ok(Step::Queued(queued))
            }
            Target::Entry {
                label,
                domain,
                subtree,
            } => {
                // The entry whose hash matches; other TXT records at the
                // same name (there should be none) are ignored.
                let text = records
                    .iter()
                    .find(|r| check_hash(&label, r, &query.name).is_ok())
                    .ok_or_else(|| TreeError::HashMismatch {
                        name: query.name.clone(),
                    })?;
                let entry = match Entry::parse(text) {
                    Ok(entry) => entry,
                    Err(why) => {
                        return Ok(Step::Skipped {
                            name: query.name,
                            why,
                        });
                    }
                };
                let misplaced = |kind| {
                    Ok(Step::Skipped {
                        name: query.name.clone(),
                        why: TreeError::Misplaced {
                            kind,
                            name: query.name.clone(),
                        },
                    })
                };
                match (entry, subtree) {
                    (Entry::Branch(children), _) => {
                        let mut queued = 0;
                        for child in &children {
                            queued += usize::from(self.push(
                                child,
                                &domain,
                                subtree,
                                query.depth + 1,
                                query.top,
                            )?);
                        }
                        Ok(Step::Queued(queued))
                    }
                    (Entry::Enr(enr), Subtree::Enr) => Ok(self.add(*enr)),
                    (Entry::Link(link), Subtree::Links) => {
                        let key = link.domain.to_ascii_lowercase();
                        if !self.seen.insert(key) {
                            return Ok(Step::Queued(0));
                        }
                        self.check_count()?;
                        self.queue.push_back(Query {
                            name: link.domain.clone(),
                            target: Target::Root { link },
                            depth: 0,
                            top: false,
                        });
                        Ok(Step::Queued(1))
                    }
                    (entry, _) => misplaced(entry.kind()),
                }
            }
        }
    }

    /// Queues `<label>.<domain>` unless already seen; says whether it did.
    fn push(
        &mut self,
        label: &str,
        domain: &str,
        subtree: Subtree,
        depth: usize,
        top: bool,
    ) -> Result<bool, TreeError> {
        if depth > self.limits.max_depth {
            return Err(TreeError::TooDeep {
                limit: self.limits.max_depth,
            });
        }
        let name = format!("{label}.{domain}");
        if !self.seen.insert(name.to_ascii_lowercase()) {
            return Ok(false);
        }
        self.check_count()?;
        self.queue.push_back(Query {
            name,
            target: Target::Entry {
                label: label.to_owned(),
                domain: domain.to_owned(),
                subtree,
            },
            depth,
            top,
        });
        Ok(true)
    }

    fn check_count(&self) -> Result<(), TreeError> {
        if self.seen.len() > self.limits.max_entries {
            return Err(TreeError::TooManyEntries {
                limit: self.limits.max_entries,
            });
        }
        Ok(())
    }

    /// Keeps a record, or the newer of two for the same node.
    fn add(&mut self, enr: WakuEnr) -> Step {
        let id = enr.record.node_id();
        match self.by_node.get(&id) {
            Some(&at) => {
                if let Some(old) = self.found.get_mut(at)
                    && enr.record.seq() > old.record.seq()
                {
                    *old = enr;
                }
                Step::Duplicate
            }
            None => {
                self.by_node.insert(id, self.found.len());
                self.found.push(enr);
                Step::Found
            }
        }
    }
}

/// Makes the TXT records of a signed tree, ready to publish.
///
/// ```
/// # use nodepair_waku::discovery::enr_tree::TreeBuilder;
/// # fn publish(key: &enr::k256::ecdsa::SigningKey, records: &[nodepair_waku::enr::Record]) {
/// let zone = TreeBuilder::new(1).enrs(records).build(key, "nodes.example.org");
/// for (name, txt) in &zone {
///     println!("{name} 300 IN TXT \"{txt}\"");
/// }
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct TreeBuilder {
    /// The sequence number to sign; raise it on every change.
    seq: u64,
    /// The `enr:` leaves, as text, in order, without repeats.
    leaves: Vec<String>,
    /// The link leaves.
    links: Vec<Link>,
    /// The most children per branch.
    max_children: usize,
}

impl TreeBuilder {
    /// An empty tree with this sequence number.
    pub fn new(seq: u64) -> Self {
        TreeBuilder {
            seq,
            leaves: Vec::new(),
            links: Vec::new(),
            max_children: MAX_BRANCH_CHILDREN,
        }
    }

    /// Adds node records.
    pub fn enrs<'a>(mut self, records: impl IntoIterator<Item = &'a Record>) -> Self {
        for record in records {
            self = self.enr_text(record.to_base64());
        }
        self
    }

    /// Adds one leaf as text, published as given (`enr:` is added if
    /// missing) and not checked: check text from elsewhere with
    /// [`WakuEnr::parse`] first. Tests use it to publish a bad leaf.
    pub fn enr_text(mut self, text: impl Into<String>) -> Self {
        let mut text = text.into();
        if !text.starts_with(ENR_PREFIX) {
            text.insert_str(0, ENR_PREFIX);
        }
        if !self.leaves.contains(&text) {
            self.leaves.push(text);
        }
        self
    }

    /// Adds links to other trees.
    pub fn links<'a>(mut self, links: impl IntoIterator<Item = &'a Link>) -> Self {
        for link in links {
            if !self.links.contains(link) {
                self.links.push(link.clone());
            }
        }
        self
    }

    /// Caps children per branch below [`MAX_BRANCH_CHILDREN`] (at least 2),
    /// which makes deeper trees; tests use it to nest branches.
    pub fn max_children(mut self, n: usize) -> Self {
        self.max_children = n.clamp(2, MAX_BRANCH_CHILDREN);
        self
    }

    /// Signs the tree for `domain`: a map from each fully qualified name
    /// (no trailing dot; the root at `domain` itself) to its TXT text.
    pub fn build(&self, key: &SigningKey, domain: &str) -> BTreeMap<String, String> {
        let domain = domain.strip_suffix('.').unwrap_or(domain);
        let mut entries = BTreeMap::new();
        let enr_root = self.subtree(self.leaves.clone(), &mut entries);
        let links = self.links.iter().map(ToString::to_string).collect();
        let link_root = self.subtree(links, &mut entries);
        let signed = format!(
            "{ROOT_PREFIX} e={} l={} seq={}",
            label_of(&enr_root),
            label_of(&link_root),
            self.seq
        );
        let (signature, recovery) = key.sign_prehash_recoverable(&keccak(signed.as_bytes()));
        let mut sig = signature.to_bytes().to_vec();
        sig.push(recovery.to_byte());
        let sig = {
            use base64::Engine as _;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sig)
        };
        let mut zone: BTreeMap<String, String> = entries
            .into_iter()
            .map(|(label, text)| (format!("{label}.{domain}"), text))
            .collect();
        zone.insert(domain.to_owned(), format!("{signed} sig={sig}"));
        zone
    }

    /// Puts the entries of a subtree over `leaves` into `out` (by label)
    /// and returns the text of its top entry.
    fn subtree(&self, mut level: Vec<String>, out: &mut BTreeMap<String, String>) -> String {
        for leaf in &level {
            out.insert(label_of(leaf), leaf.clone());
        }
        loop {
            let top = match level.len() {
                1 => level.pop().unwrap_or_default(),
                n if n <= self.max_children => branch(&level),
                _ => {
                    level = level.chunks(self.max_children).map(branch).collect();
                    for entry in &level {
                        out.insert(label_of(entry), entry.clone());
                    }
                    continue;
                }
            };
            out.insert(label_of(&top), top.clone());
            return top;
        }
    }
}

/// The branch entry over these children.
fn branch(children: &[String]) -> String {
    let labels: Vec<String> = children.iter().map(|c| label_of(c)).collect();
    format!("{BRANCH_PREFIX}{}", labels.join(","))
}

/// Signs a tree of `records` and `links` for `domain`: see [`TreeBuilder`].
pub fn sign_tree(
    key: &SigningKey,
    seq: u64,
    records: &[Record],
    links: &[Link],
    domain: &str,
) -> BTreeMap<String, String> {
    TreeBuilder::new(seq)
        .enrs(records)
        .links(links)
        .build(key, domain)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The EIP's example tree is signed by the key the EIP gives in hex,
    /// `0x049f8822…`, whose base32 form is this one (go-ethereum's client
    /// test reads the tree through this link).
    const LINK: &str =
        "enrtree://AKPYQIUQIL7PSIACI32J7FGZW56E5FKHEFCCOFHILBIMW3M6LWXS2@nodes.example.org";

    /// The link the EIP shows as its example URL, and the tree's own link
    /// entry: a different key (`0x033a5141…`), which did not sign the
    /// example root.
    const OTHER_LINK: &str =
        "enrtree://AM5FCQLWIZX2QFPNJAP7VUERCCRNGRHWZG3YYHIUV7BVDQ5FDPRT2@nodes.example.org";

    /// The example tree of EIP-1459 (and ethereum/devp2p's dnsdisc.md),
    /// name by name.
    fn eip_zone() -> BTreeMap<String, String> {
        [
            ("nodes.example.org", "enrtree-root:v1 e=JWXYDBPXYWG6FX3GMDIBFA6CJ4 l=C7HRFPF3BLGF3YR4DY5KX3SMBE seq=1 sig=o908WmNp7LibOfPsr4btQwatZJ5URBr2ZAuxvK4UWHlsB9sUOTJQaGAlLPVAhM__XJesCHxLISo94z5Z2a463gA"),
            ("C7HRFPF3BLGF3YR4DY5KX3SMBE.nodes.example.org", "enrtree://AM5FCQLWIZX2QFPNJAP7VUERCCRNGRHWZG3YYHIUV7BVDQ5FDPRT2@morenodes.example.org"),
            ("JWXYDBPXYWG6FX3GMDIBFA6CJ4.nodes.example.org", "enrtree-branch:2XS2367YHAXJFGLZHVAWLQD4ZY,H4FHT4B454P6UXFD7JCYQ5PWDY,MHTDO6TMUBRIA2XWG5LUDACK24"),
            ("2XS2367YHAXJFGLZHVAWLQD4ZY.nodes.example.org", "enr:-HW4QOFzoVLaFJnNhbgMoDXPnOvcdVuj7pDpqRvh6BRDO68aVi5ZcjB3vzQRZH2IcLBGHzo8uUN3snqmgTiE56CH3AMBgmlkgnY0iXNlY3AyNTZrMaECC2_24YYkYHEgdzxlSNKQEnHhuNAbNlMlWJxrJxbAFvA"),
            ("H4FHT4B454P6UXFD7JCYQ5PWDY.nodes.example.org", "enr:-HW4QAggRauloj2SDLtIHN1XBkvhFZ1vtf1raYQp9TBW2RD5EEawDzbtSmlXUfnaHcvwOizhVYLtr7e6vw7NAf6mTuoCgmlkgnY0iXNlY3AyNTZrMaECjrXI8TLNXU0f8cthpAMxEshUyQlK-AM0PW2wfrnacNI"),
            ("MHTDO6TMUBRIA2XWG5LUDACK24.nodes.example.org", "enr:-HW4QLAYqmrwllBEnzWWs7I5Ev2IAs7x_dZlbYdRdMUx5EyKHDXp7AV5CkuPGUPdvbv1_Ms1CPfhcGCvSElSosZmyoqAgmlkgnY0iXNlY3AyNTZrMaECriawHKWdDRk2xeZkrOXBQ0dfMFLHY4eENZwdufn1S1o"),
        ]
        .into_iter()
        .map(|(n, t)| (n.to_owned(), t.to_owned()))
        .collect()
    }

    /// Runs a walk against a zone in memory; names not in it are lookups
    /// that failed. Returns the records or the error, and every step.
    fn walk(
        link: &str,
        limits: Limits,
        zone: &BTreeMap<String, String>,
    ) -> (Result<Vec<WakuEnr>, TreeError>, Vec<Step>) {
        let mut walk = Walk::new(Link::parse(link).unwrap(), limits);
        let mut steps = Vec::new();
        while let Some(query) = walk.poll_query() {
            let Some(text) = zone.get(query.name()) else {
                assert!(!query.is_top_root(), "no root at {}", query.name());
                continue;
            };
            match walk.handle_txt(query, std::slice::from_ref(text)) {
                Ok(step) => steps.push(step),
                Err(e) => return (Err(e), steps),
            }
        }
        (Ok(walk.into_enrs()), steps)
    }

    fn random_key() -> SigningKey {
        loop {
            let mut secret = [0u8; 32];
            getrandom::fill(&mut secret).unwrap();
            if let Ok(key) = SigningKey::from_slice(&secret) {
                return key;
            }
        }
    }

    fn record(port: u16) -> Record {
        enr::Enr::builder()
            .ip4("10.0.0.1".parse().unwrap())
            .tcp4(port)
            .add_value("waku2", &bytes::Bytes::from(vec![1u8]))
            .build(&random_key())
            .unwrap()
    }

    #[test]
    fn the_eip_example_link_names_its_key_and_domain() {
        let link = Link::parse(LINK).unwrap();
        assert_eq!(link.domain, "nodes.example.org");
        let uncompressed = link.public_key.to_sec1_point(false);
        assert_eq!(
            hex::encode(uncompressed.as_bytes()),
            "049f88229042fef9200246f49f94d9b77c4e954721442714e85850cb6d9e5daf2d880ea0e53cb3ac1a75f9923c2726a4f941f7d326781baa6380754a360de5c2b6"
        );
        assert_eq!(link.to_string(), LINK);
        let other = Link::parse(OTHER_LINK).unwrap();
        assert_ne!(other.public_key, link.public_key);
        assert_eq!(other.to_string(), OTHER_LINK);
        let lower = OTHER_LINK.replace("AM5F", "am5f").replace(".org", ".org.");
        assert_eq!(Link::parse(&lower).unwrap(), other);
        for bad in [
            "enrtree:/AM5F@nodes.example.org",
            "enrtree://AM5FCQLWIZX2QFPNJAP7VUERCCRNGRHWZG3YYHIUV7BVDQ5FDPRT2",
            "enrtree://AM5FCQLWIZX2QFPNJAP7VUERCCRNGRHWZG3YYHIUV7BVDQ5FDPRT@nodes.example.org",
            "enrtree://AM5FCQLWIZX2QFPNJAP7VUERCCRNGRHWZG3YYHIUV7BVDQ5FDPRT2@",
        ] {
            assert!(
                matches!(Link::parse(bad), Err(TreeError::BadLink(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_eip_example_root_verifies_and_every_entry_hashes_to_its_name() {
        let zone = eip_zone();
        let link = Link::parse(LINK).unwrap();
        let root = Root::parse(&zone["nodes.example.org"]).unwrap();
        assert_eq!(root.enr_root, "JWXYDBPXYWG6FX3GMDIBFA6CJ4");
        assert_eq!(root.link_root, "C7HRFPF3BLGF3YR4DY5KX3SMBE");
        assert_eq!(root.seq, 1);
        root.verify(&link.public_key).unwrap();
        for (name, text) in zone.iter().filter(|(n, _)| *n != "nodes.example.org") {
            let label = name.split('.').next().unwrap();
            assert_eq!(label_of(text), label);
            check_hash(&label.to_ascii_lowercase(), text, name).unwrap();
        }
    }

    #[test]
    fn walking_the_eip_example_finds_its_three_records() {
        let (enrs, steps) = walk(LINK, Limits::default(), &eip_zone());
        let enrs = enrs.unwrap();
        assert_eq!(enrs.len(), 3);
        assert_eq!(steps.iter().filter(|s| **s == Step::Found).count(), 3);
        let zone = eip_zone();
        for enr in &enrs {
            assert!(zone.values().any(|t| *t == enr.record.to_base64()));
        }
    }

    /// The names a walk of the EIP example asks for, and how many records
    /// it finds.
    fn names_asked(limits: Limits) -> (Vec<String>, usize) {
        let mut walk = Walk::new(Link::parse(LINK).unwrap(), limits);
        let zone = eip_zone();
        let mut asked = Vec::new();
        while let Some(query) = walk.poll_query() {
            asked.push(query.name().to_owned());
            if let Some(text) = zone.get(query.name()) {
                walk.handle_txt(query, std::slice::from_ref(text)).unwrap();
            } else {
                assert!(!query.is_top_root());
            }
        }
        (asked, walk.into_enrs().len())
    }

    #[test]
    fn links_are_followed_one_level_only_when_asked() {
        let linked = "morenodes.example.org".to_owned();
        let (asked, found) = names_asked(Limits::default());
        assert!(!asked.contains(&linked), "{asked:?}");
        assert!(
            !asked
                .iter()
                .any(|n| n.starts_with("C7HRFPF3BLGF3YR4DY5KX3SMBE"))
        );
        assert_eq!(found, 3);
        let follow = Limits {
            follow_links: true,
            ..Limits::default()
        };
        let (asked, found) = names_asked(follow);
        assert!(asked.contains(&linked), "{asked:?}");
        assert_eq!(found, 3);
    }

    #[test]
    fn a_flipped_signature_byte_is_refused() {
        let mut zone = eip_zone();
        let root = zone.get_mut("nodes.example.org").unwrap();
        // `o908…` → `p908…`: the first byte of r changes.
        *root = root.replacen("sig=o", "sig=p", 1);
        let (result, _) = walk(LINK, Limits::default(), &zone);
        assert_eq!(result.unwrap_err(), TreeError::BadSignature);
    }

    #[test]
    fn a_root_signed_by_another_key_is_refused() {
        let (result, _) = walk(OTHER_LINK, Limits::default(), &eip_zone());
        assert_eq!(result.unwrap_err(), TreeError::BadSignature);
        let random = Link::new(*random_key().verifying_key(), "nodes.example.org");
        let (result, _) = walk(&random.to_string(), Limits::default(), &eip_zone());
        assert_eq!(result.unwrap_err(), TreeError::BadSignature);
    }

    #[test]
    fn an_entry_that_does_not_hash_to_its_name_is_refused() {
        let mut zone = eip_zone();
        let leaf = zone
            .get_mut("H4FHT4B454P6UXFD7JCYQ5PWDY.nodes.example.org")
            .unwrap();
        // Another valid record in its place: still not what was signed.
        *leaf = record(1).to_base64();
        let (result, _) = walk(LINK, Limits::default(), &zone);
        assert_eq!(
            result.unwrap_err(),
            TreeError::HashMismatch {
                name: "H4FHT4B454P6UXFD7JCYQ5PWDY.nodes.example.org".into()
            }
        );
    }

    #[test]
    fn malformed_roots_say_what_is_wrong() {
        for bad in [
            "enrtree-root:v2 e=JWXYDBPXYWG6FX3GMDIBFA6CJ4 l=C7HRFPF3BLGF3YR4DY5KX3SMBE seq=1 sig=AA",
            "enrtree-root:v1 e=JWXYDBPXYWG6FX3GMDIBFA6CJ4 seq=1 sig=AA",
            "enrtree-root:v1 e=JWXYDBPXYWG6FX3GMDIBFA6CJ4 l=C7HRFPF3BLGF3YR4DY5KX3SMBE seq=x sig=AA",
            "enrtree-root:v1 e=JWXYDBPXYWG6FX3GMDIBFA6CJ4 l=C7HRFPF3BLGF3YR4DY5KX3SMBE seq=1 sig=AA",
            "enrtree-root:v1 e=JWXYDBPXYWG6FX3GMDIBFA6CJ4 l=C7HRFPF3BLGF3YR4DY5KX3SMBE seq=1",
        ] {
            assert!(
                matches!(Root::parse(bad), Err(TreeError::BadRoot(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            Entry::parse("v=spf1 -all"),
            Err(TreeError::UnknownEntry(_))
        ));
        assert!(matches!(
            Entry::parse("enrtree-branch:NOT-BASE32"),
            Err(TreeError::BadBranch(_))
        ));
        assert!(matches!(
            Entry::parse("enr:-HW4QOFz"),
            Err(TreeError::Enr(EnrError::Invalid(_)))
        ));
    }

    #[test]
    fn a_built_tree_walks_back_to_its_records_through_nested_branches() {
        let key = random_key();
        let records: Vec<Record> = (1..=30).map(record).collect();
        let zone = TreeBuilder::new(7)
            .enrs(&records)
            .max_children(3)
            .build(&key, "nodes.test.");
        for (name, text) in &zone {
            assert!(text.len() <= MAX_TXT_LEN, "{name}: {} bytes", text.len());
            if let Some(label) = name.strip_suffix(".nodes.test") {
                check_hash(label, text, name).unwrap();
            }
        }
        let link = Link::new(*key.verifying_key(), "nodes.test");
        let (enrs, steps) = walk(&link.to_string(), Limits::default(), &zone);
        let mut found: Vec<u16> = enrs
            .unwrap()
            .iter()
            .filter_map(|e| e.record.tcp4())
            .collect();
        found.sort_unstable();
        assert_eq!(found, (1..=30).collect::<Vec<_>>());
        // 30 leaves, 3 per branch: 10, 4, 2, then the top: four levels.
        let branches = steps
            .iter()
            .filter(|s| matches!(s, Step::Queued(_)))
            .count();
        assert_eq!(branches, 1 + 10 + 4 + 2 + 1);

        let too_shallow = Limits {
            max_depth: 3,
            ..Limits::default()
        };
        let (result, _) = walk(&link.to_string(), too_shallow, &zone);
        assert_eq!(result.unwrap_err(), TreeError::TooDeep { limit: 3 });
        let too_few = Limits {
            max_entries: 20,
            ..Limits::default()
        };
        let (result, _) = walk(&link.to_string(), too_few, &zone);
        assert_eq!(result.unwrap_err(), TreeError::TooManyEntries { limit: 20 });
    }

    #[test]
    fn full_branches_fit_a_txt_record_and_small_trees_point_at_a_leaf() {
        assert_eq!(MAX_BRANCH_CHILDREN, 13);
        let key = random_key();
        let records: Vec<Record> = (1..=14).map(record).collect();
        let zone = sign_tree(&key, 1, &records, &[], "n.test");
        assert!(zone.values().all(|t| t.len() <= MAX_TXT_LEN));
        assert!(
            zone.values()
                .any(|t| t.starts_with(BRANCH_PREFIX) && t.split(',').count() == 13)
        );
        let one = sign_tree(&key, 1, &records[..1], &[], "n.test");
        let root = Root::parse(&one["n.test"]).unwrap();
        assert_eq!(
            one[&format!("{}.n.test", root.enr_root)],
            records[0].to_base64()
        );
    }

    #[test]
    fn a_bad_leaf_is_skipped_and_the_rest_found() {
        let key = random_key();
        let zone = TreeBuilder::new(1)
            .enrs([&record(1), &record(3)])
            .enr_text("enr:-HW4QOFzoVLa")
            .links([&Link::parse(LINK).unwrap()])
            .build(&key, "n.test");
        let link = Link::new(*key.verifying_key(), "n.test").to_string();
        let (enrs, steps) = walk(&link, Limits::default(), &zone);
        assert_eq!(enrs.unwrap().len(), 2);
        assert!(steps.iter().any(|s| matches!(
            s,
            Step::Skipped {
                why: TreeError::Enr(_),
                ..
            }
        )));
    }

    #[test]
    fn a_linked_tree_adds_its_records_and_a_broken_one_is_skipped() {
        let (key_a, key_b, key_c) = (random_key(), random_key(), random_key());
        let link_b = Link::new(*key_b.verifying_key(), "b.test");
        // c.test's root is signed by another key than its link names.
        let link_c = Link::new(*key_c.verifying_key(), "c.test");
        let mut zone = sign_tree(&key_a, 1, &[record(1)], &[link_b, link_c], "a.test");
        zone.extend(sign_tree(&key_b, 1, &[record(2), record(3)], &[], "b.test"));
        zone.extend(sign_tree(&key_a, 1, &[record(4)], &[], "c.test"));
        let link_a = Link::new(*key_a.verifying_key(), "a.test").to_string();
        let follow = Limits {
            follow_links: true,
            ..Limits::default()
        };
        let (enrs, steps) = walk(&link_a, follow, &zone);
        let mut ports: Vec<u16> = enrs
            .unwrap()
            .iter()
            .filter_map(|e| e.record.tcp4())
            .collect();
        ports.sort_unstable();
        assert_eq!(ports, [1, 2, 3]);
        assert!(steps.contains(&Step::Skipped {
            name: "c.test".into(),
            why: TreeError::BadSignature
        }));
        let (enrs, _) = walk(&link_a, Limits::default(), &zone);
        assert_eq!(enrs.unwrap().len(), 1, "links are not followed by default");
    }

    #[test]
    fn a_record_listed_twice_is_kept_once_at_its_newest() {
        let node = random_key();
        let old = enr::Enr::builder()
            .ip4("10.0.0.1".parse().unwrap())
            .tcp4(1)
            .build(&node)
            .unwrap();
        let mut new = old.clone();
        new.set_tcp4(2, &node).unwrap();
        let key = random_key();
        let zone = TreeBuilder::new(1).enrs([&old, &new]).build(&key, "n.test");
        let link = Link::new(*key.verifying_key(), "n.test").to_string();
        let (enrs, steps) = walk(&link, Limits::default(), &zone);
        let enrs = enrs.unwrap();
        assert_eq!(enrs.len(), 1);
        assert_eq!(enrs[0].record.tcp4(), Some(2));
        assert!(steps.contains(&Step::Duplicate));
    }
}
