//! The walk of a tree: what to look up next, and checking what came back.

use super::*;

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
