//! `nodepair-relay`: a standalone Waku relay node for local and self-hosted
//! networks. NodePair's apps and managers that cannot reach each other
//! directly both connect to relays like this one (or to any nwaku/go-waku
//! node of the same cluster) and their messages meet there. It also serves
//! light nodes (light push, filter) and keeps what it relays for store
//! queries: in memory unless `--store FILE` names an SQLite file. It finds
//! other nodes by discv5 and DNS ENR trees, answers peer exchange, and
//! `nodepair-relay enrtree` signs a tree of relays to publish in DNS.

use anyhow::Context;
use clap::Parser;
use nodepair_waku::store::archive::Retention;
use nodepair_waku::{Config, Multiaddr, NodeEvent, Shard, StoreConfig, WakuNode, identity};
use std::io::Write;
use std::path::{Path, PathBuf};

/// A Waku v2 relay node for NodePair networks.
#[derive(Debug, Parser)]
#[command(
    name = "nodepair-relay",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// Address to listen on; repeat for several.
    #[arg(long = "listen", value_name = "MULTIADDR", default_values_t = [
        "/ip4/0.0.0.0/tcp/60000".parse::<Multiaddr>().expect("valid"),
        "/ip4/0.0.0.0/tcp/8000/ws".parse::<Multiaddr>().expect("valid"),
    ])]
    listen: Vec<Multiaddr>,
    /// Waku cluster id (static sharding).
    #[arg(long, default_value_t = 0)]
    cluster: u16,
    /// Shard to relay within the cluster; repeat for several.
    #[arg(long = "shard", default_values_t = [0u16])]
    shards: Vec<u16>,
    /// Peer to connect to and stay connected with; repeat for several.
    #[arg(long = "peer", value_name = "MULTIADDR")]
    peers: Vec<Multiaddr>,
    /// File holding the node key, so the peer id survives restarts; made
    /// (mode 0600) if missing. Without it, a new identity each start.
    #[arg(long, value_name = "FILE")]
    key_file: Option<PathBuf>,
    /// Print the status line as JSON (peer id, addresses, cluster, shards).
    #[arg(long)]
    json: bool,
    /// SQLite file to keep relayed messages in for store queries (kept in
    /// memory without it).
    #[arg(long, value_name = "FILE", conflicts_with = "no_store")]
    store: Option<PathBuf>,
    /// Keep nothing and answer no store queries.
    #[arg(long)]
    no_store: bool,
    /// Most messages the store keeps; the oldest go first.
    #[arg(long, value_name = "N", default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..))]
    store_max_messages: u64,
    /// Hours a stored message is kept.
    #[arg(long, value_name = "HOURS", default_value_t = 168, value_parser = clap::value_parser!(u64).range(1..))]
    store_max_age_hours: u64,
    /// Most MiB of messages the store keeps; the oldest go first. Kept in
    /// memory, the store takes about three times this.
    #[arg(long, value_name = "MIB", default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..))]
    store_max_mib: u64,
    /// Run discv5 on this UDP port (all interfaces), to find and be found by
    /// other Waku nodes.
    #[arg(long, value_name = "PORT")]
    discv5_port: Option<u16>,
    /// A node record (`enr:…`) discv5 starts from; repeat for several.
    #[arg(
        long = "discv5-bootstrap",
        value_name = "ENR",
        requires = "discv5_port"
    )]
    discv5_bootstrap: Vec<String>,
    /// An `enrtree://<key>@<domain>` list of nodes to dial (EIP-1459 DNS
    /// discovery); repeat for several.
    #[arg(long = "enrtree", value_name = "URL")]
    enrtrees: Vec<String>,
    /// The DNS server to read ENR trees from [default: the system's].
    #[arg(long, value_name = "IP:PORT")]
    dns_server: Option<std::net::SocketAddr>,
    /// The public IPv4 address to put in the node record when listening on
    /// 0.0.0.0.
    #[arg(long, value_name = "IP")]
    advertise_ip: Option<std::net::Ipv4Addr>,
    /// Discovered peers to stay connected with.
    #[arg(long, value_name = "N", default_value_t = 6)]
    target_peers: usize,
    /// Let discovered records make the relay dial loopback, link-local or
    /// private addresses (a network on one machine or LAN).
    #[arg(long)]
    allow_private_peers: bool,
    /// Most connections the relay keeps established, in and out.
    #[arg(long, value_name = "N", default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..))]
    max_connections: u32,
    /// Most connections one peer may hold at once.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..))]
    max_connections_per_peer: u32,
    /// Store queries one peer may make a second (bursts of five times
    /// that).
    #[arg(long, value_name = "N", default_value_t = 5.0)]
    store_queries_per_sec: f64,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Print a signed EIP-1459 ENR tree of relays as DNS zone lines, to
    /// publish under your domain for `enrtree` discovery.
    Enrtree {
        /// The domain the tree is published under.
        #[arg(long)]
        domain: String,
        /// File holding the tree's signing key (secp256k1, made with mode 0600
        /// if missing); keep it: the link names its public key.
        #[arg(long, value_name = "FILE")]
        key_file: PathBuf,
        /// The tree's sequence number; raise it at every change.
        #[arg(long, default_value_t = 1)]
        seq: u64,
        /// Time to live of the TXT records, in seconds.
        #[arg(long, default_value_t = 3600)]
        ttl: u32,
        /// Node records (`enr:…`, as each relay prints) to list.
        #[arg(required = true, value_name = "ENR")]
        records: Vec<String>,
    },
}

/// Prints the zone lines of a signed tree and the link to give apps and
/// managers.
fn print_enrtree(
    domain: &str,
    key_file: &Path,
    seq: u64,
    ttl: u32,
    records: &[String],
) -> anyhow::Result<()> {
    use nodepair_waku::discovery::enr_tree::{Link, TreeBuilder};
    use nodepair_waku::enr::{Record, WakuEnr};
    let domain = domain.trim_end_matches('.');
    anyhow::ensure!(
        !domain.is_empty() && domain.split('.').all(|l| !l.is_empty() && l.len() <= 63),
        "{domain:?} is not a domain name"
    );
    let mut parsed: Vec<Record> = Vec::new();
    for (i, text) in records.iter().enumerate() {
        let enr = WakuEnr::parse(text)
            .with_context(|| format!("record {} is not a usable Waku ENR", i + 1))?;
        anyhow::ensure!(
            enr.capabilities.is_some(),
            "record {} ({}) is no Waku node: it has no waku2 field",
            i + 1,
            enr.peer_id
        );
        parsed.push(enr.record);
    }
    let key = load_or_make_key(key_file)?;
    let signing = nodepair_waku::enr::signing_key(&key).with_context(|| {
        format!(
            "{} holds no secp256k1 key; ENR trees are signed with one",
            key_file.display()
        )
    })?;
    let zone = TreeBuilder::new(seq)
        .enrs(parsed.iter())
        .build(&signing, domain);
    let mut out = std::io::stdout().lock();
    writeln!(out, "; {}", Link::new(*signing.verifying_key(), domain))?;
    for (name, text) in &zone {
        // A TXT character-string holds at most 255 bytes.
        let strings: Vec<String> = text
            .as_bytes()
            .chunks(255)
            .map(|c| format!("\"{}\"", String::from_utf8_lossy(c)))
            .collect();
        writeln!(out, "{name}. {ttl} IN TXT {}", strings.join(" "))?;
    }
    out.flush()?;
    Ok(())
}

fn load_or_make_key(path: &Path) -> anyhow::Result<identity::Keypair> {
    match std::fs::read(path) {
        Ok(bytes) => identity::Keypair::from_protobuf_encoding(&bytes)
            .with_context(|| format!("{} does not hold a libp2p key", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = identity::Keypair::generate_secp256k1();
            let bytes = key
                .to_protobuf_encoding()
                .context("cannot encode the new key")?;
            write_private(path, &bytes)
                .with_context(|| format!("cannot save the node key to {}", path.display()))?;
            Ok(key)
        }
        Err(e) => Err(e).with_context(|| format!("cannot read the node key {}", path.display())),
    }
}

/// Writes `bytes` to a new file only its owner can read.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Colours only on a terminal, not in journald or a file.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let args = Args::parse();
    if let Some(Command::Enrtree {
        domain,
        key_file,
        seq,
        ttl,
        records,
    }) = &args.command
    {
        return print_enrtree(domain, key_file, *seq, *ttl, records);
    }
    let stop =
        nodepair_waku::signal::shutdown_signal().context("cannot install signal handlers")?;
    let cluster = args.cluster;
    let mut config = Config::new(Shard {
        cluster,
        shard: args.shards[0],
    });
    config.shards = args
        .shards
        .iter()
        .map(|&shard| Shard { cluster, shard })
        .collect();
    config.listen = args.listen.clone();
    config.bootstrap = args.peers.clone();
    config.agent = format!("nodepair-relay/{}", env!("CARGO_PKG_VERSION"));
    if let Some(path) = &args.key_file {
        config.keypair = Some(load_or_make_key(path)?);
    }
    if !args.no_store {
        config.store = Some(StoreConfig {
            path: args.store.clone(),
            retention: Retention {
                max_messages: usize::try_from(args.store_max_messages).unwrap_or(usize::MAX),
                max_age: std::time::Duration::from_secs(
                    args.store_max_age_hours.saturating_mul(3600),
                ),
                max_bytes: usize::try_from(args.store_max_mib.saturating_mul(1 << 20))
                    .unwrap_or(usize::MAX),
            },
        });
    }
    config.discovery.discv5 = args.discv5_port.map(|port| {
        nodepair_waku::discovery::Discv5Config::new(
            (std::net::Ipv4Addr::UNSPECIFIED, port).into(),
            args.discv5_bootstrap.clone(),
        )
    });
    config.discovery.dns = args.enrtrees.clone();
    config.discovery.dns_server = args.dns_server;
    config.discovery.advertise_ip = args.advertise_ip;
    config.discovery.target_peers = args.target_peers;
    config.discovery.dial_private = args.allow_private_peers;
    config.connection_limits = nodepair_waku::node::default_connection_limits()
        .with_max_established(Some(args.max_connections))
        .with_max_established_per_peer(Some(args.max_connections_per_peer));
    config.store_query_limits = nodepair_waku::store::service::QueryLimits {
        per_sec: args.store_queries_per_sec.max(0.1),
        burst: (args.store_queries_per_sec * 5.0).max(1.0),
    };
    let node = WakuNode::start(config)
        .await
        .context("cannot start the relay")?;
    let addrs: Vec<String> = node
        .listen_addrs()
        .iter()
        .map(ToString::to_string)
        .collect();
    let mut out = std::io::stdout().lock();
    if args.json {
        let status = serde_json::json!({
            "peer_id": node.peer_id().to_string(),
            "listen": addrs,
            "cluster": cluster,
            "shards": args.shards,
            "enr": node.enr(),
        });
        writeln!(out, "{status}")?;
    } else {
        writeln!(
            out,
            "nodepair-relay {} on cluster {cluster}, shards {:?}",
            node.peer_id(),
            args.shards
        )?;
        for a in &addrs {
            writeln!(out, "listening on {a}")?;
        }
        if let Some(enr) = node.enr() {
            writeln!(out, "node record {enr}")?;
        }
    }
    out.flush()?;
    drop(out);

    let mut events = node.events();
    let logger = tokio::spawn(async move {
        while let Ok(event) = events.recv().await {
            match event {
                NodeEvent::PeerConnected { peer_id, address } => {
                    tracing::info!(%peer_id, %address, "peer connected")
                }
                NodeEvent::PeerDisconnected { peer_id } => {
                    tracing::info!(%peer_id, "peer disconnected")
                }
                NodeEvent::PeerRejected { peer_id, reason } => {
                    tracing::info!(%peer_id, %reason, "peer rejected")
                }
                NodeEvent::FilterServiceChanged { peer_id } => {
                    tracing::info!(%peer_id, "filter service node")
                }
                NodeEvent::FilterServiceLost { peer_id } => {
                    tracing::info!(%peer_id, "filter service node lost")
                }
                NodeEvent::Reachable => tracing::info!("connected to the network"),
                NodeEvent::Cut { .. } => tracing::info!("no peer left"),
            }
        }
    });
    stop.await;
    tracing::info!("shutting down");
    node.shutdown().await;
    logger.abort();
    Ok(())
}

#[cfg(test)]
mod cli_docs {
    /// The man pages and completions in packaging/ are this command line's
    /// (a stale one is rewritten and the test fails: commit the new files).
    #[test]
    fn man_pages_and_completions_are_current() {
        let cmd = <super::Args as clap::CommandFactory>::command();
        nodepair_cli_docs::assert_current(cmd, env!("CARGO_MANIFEST_DIR"));
    }
}
