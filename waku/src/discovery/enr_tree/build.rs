//! Building and signing the records of a tree an operator publishes.

use super::*;

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
