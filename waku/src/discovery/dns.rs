//! DNS discovery: reading an `enrtree://` list of Waku nodes (EIP-1459).
//!
//! [`resolve_tree`] drives an [`enr_tree::Walk`](super::enr_tree::Walk)
//! with TXT lookups: the whole ENR subtree, breadth first, a few lookups at
//! a time. Links to other trees (`l=`) are not followed unless
//! [`Limits::follow_links`] is set, and then one level deep. Build a
//! resolver with [`system_resolver`], or [`resolver_at`] to ask one
//! nameserver (your own, or a test's).

use super::enr_tree::{Limits, Link, Query, Step, TreeError, Walk};
use crate::enr::WakuEnr;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
use hickory_resolver::net::NetError;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RData;
use hickory_resolver::{Resolver, TokioResolver};
use std::net::SocketAddr;

/// How many lookups one walk has in flight at once.
const CONCURRENT_LOOKUPS: usize = 8;

/// Why a tree could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DnsError {
    /// The link's domain has no TXT record: the domain is wrong, or no tree
    /// is published there.
    #[error("there is no TXT record at {name}; is the enrtree link's domain right?")]
    NotFound {
        /// The name looked up.
        name: String,
    },
    /// The lookup of the link's domain failed (no answer, refused, …).
    #[error("looking up the TXT record at {name} failed: {source}")]
    Lookup {
        /// The name looked up.
        name: String,
        /// What the resolver said.
        #[source]
        source: NetError,
    },
    /// The link is malformed, or the tree is refused: its root is malformed
    /// or not signed by the link's key, an entry does not hash to its name,
    /// or it exceeds the [`Limits`].
    #[error("the ENR tree is refused: {0}")]
    Tree(#[from] TreeError),
}

/// Why a resolver could not be made.
#[derive(Debug, thiserror::Error)]
#[error("could not set up a DNS resolver: {0}")]
pub struct ResolverError(#[source] NetError);

/// A resolver using the system's configuration (`/etc/resolv.conf`, or the
/// registry on Windows).
pub fn system_resolver() -> Result<TokioResolver, ResolverError> {
    TokioResolver::builder_tokio()
        .and_then(|b| b.build())
        .map_err(ResolverError)
}

/// A resolver that asks only `nameserver`, over UDP and then TCP on the
/// same port: for operators with their own DNS, and for tests.
pub fn resolver_at(nameserver: SocketAddr) -> Result<TokioResolver, ResolverError> {
    let connections = [ConnectionConfig::udp(), ConnectionConfig::tcp()]
        .into_iter()
        .map(|mut c| {
            c.port = nameserver.port();
            c
        })
        .collect();
    let server = NameServerConfig::new(nameserver.ip(), true, connections);
    let config = ResolverConfig::from_parts(None, Vec::new(), vec![server]);
    Resolver::builder_with_config(config, TokioRuntimeProvider::default())
        .build()
        .map_err(ResolverError)
}

/// Reads every node record of the tree `link` names.
///
/// The root must verify against the link's key, or nothing is returned
/// (and a warning is logged). Leaves that are not usable records, entries
/// that cannot be looked up, and (when followed) broken linked trees are
/// skipped with a warning naming them. Each node appears once, at its
/// highest `seq`.
///
/// Cancel-safe: dropping the future drops the walk and nothing else.
pub async fn resolve_tree(
    resolver: &TokioResolver,
    link: &str,
    limits: Limits,
) -> Result<Vec<WakuEnr>, DnsError> {
    let link = Link::parse(link)?;
    let shown = link.to_string();
    let mut walk = Walk::new(link, limits);
    loop {
        let batch: Vec<Query> = std::iter::from_fn(|| walk.poll_query())
            .take(CONCURRENT_LOOKUPS)
            .collect();
        if batch.is_empty() {
            return Ok(walk.into_enrs());
        }
        let answers = futures::future::join_all(batch.into_iter().map(|query| async {
            let answer = txt_records(resolver, query.name()).await;
            (query, answer)
        }))
        .await;
        for (query, answer) in answers {
            let name = query.name().to_owned();
            let records = match answer {
                Ok(records) => records,
                Err(e) if query.is_top_root() => {
                    tracing::warn!(link = %shown, error = %e, "no ENR tree at the link's domain");
                    return Err(e);
                }
                Err(e) => {
                    tracing::warn!(link = %shown, entry = %name, error = %e, "skipping an ENR tree entry that cannot be looked up");
                    continue;
                }
            };
            match walk.handle_txt(query, &records) {
                Ok(Step::Skipped { name, why }) => {
                    tracing::warn!(link = %shown, entry = %name, error = %why, "skipping an ENR tree entry");
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(link = %shown, entry = %name, error = %e, "refusing the ENR tree");
                    return Err(e.into());
                }
            }
        }
    }
}

/// The TXT records at `name`, each its strings joined.
async fn txt_records(resolver: &TokioResolver, name: &str) -> Result<Vec<String>, DnsError> {
    // Fully qualified, so that no search domain is tried first.
    let fqdn = if name.ends_with('.') {
        name.to_owned()
    } else {
        format!("{name}.")
    };
    let lookup = resolver.txt_lookup(fqdn).await.map_err(|source| {
        if source.is_nx_domain() || source.is_no_records_found() {
            DnsError::NotFound { name: name.into() }
        } else {
            DnsError::Lookup {
                name: name.into(),
                source,
            }
        }
    })?;
    let records: Vec<String> = lookup
        .answers()
        .iter()
        .filter_map(|record| match &record.data {
            RData::TXT(txt) => Some(
                txt.txt_data
                    .iter()
                    .map(|s| String::from_utf8_lossy(s))
                    .collect::<String>(),
            ),
            _ => None,
        })
        .collect();
    if records.is_empty() {
        return Err(DnsError::NotFound { name: name.into() });
    }
    Ok(records)
}
