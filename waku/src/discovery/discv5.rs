//! discv5: finding Waku nodes in the Ethereum node discovery DHT, on a UDP port of our own.
//!
//! The node's record is signed with its libp2p key (which must therefore be
//! secp256k1) and carries its TCP port, its UDP port, `waku2` and `rs`.
//! Lookups of random ids run one after another at start, then every
//! `query_interval`; every Waku record they return goes to the node, which
//! keeps it in its [`PeerBook`](super::peer_book::PeerBook) and dials from
//! there.

use super::peer_book::Source;
use crate::enr::{Record, WakuEnr};
use enr::CombinedKey;
use enr::NodeId;
use enr::k256::ecdsa::SigningKey;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// How discv5 runs.
#[derive(Clone, Debug)]
pub struct Discv5Config {
    /// The UDP address to listen on (a fixed port: it goes in the record).
    pub listen: SocketAddr,
    /// Records (`enr:…`) of nodes to start from.
    pub bootstrap: Vec<String>,
    /// Time between lookups once the first few are done.
    pub query_interval: Duration,
}

impl Discv5Config {
    /// Listening on `listen`, starting from `bootstrap`, looking up every 30 s.
    pub fn new(listen: SocketAddr, bootstrap: Vec<String>) -> Self {
        Discv5Config {
            listen,
            bootstrap,
            query_interval: Duration::from_secs(30),
        }
    }
}

/// Why discv5 did not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Discv5Error {
    /// A bootstrap record is not a valid ENR.
    #[error("discv5 bootstrap record {index} is not a valid ENR: {why}")]
    Bootstrap {
        /// Its position in the list, from 0.
        index: usize,
        /// What is wrong.
        why: String,
    },
    /// The service refused the setup or could not bind its socket.
    #[error("discv5 cannot start on {listen}: {why}")]
    Start {
        /// The UDP address.
        listen: SocketAddr,
        /// What failed.
        why: String,
    },
}

/// Lookups done back to back at start before settling to the interval.
const EAGER_LOOKUPS: u32 = 5;

/// Starts discv5 with our `record` signed by `key`, and spawns the task that
/// looks peers up and sends what it finds to `found`. The task ends when
/// `stop` fires or is dropped, or when `found` closes.
pub(crate) async fn spawn(
    key: &SigningKey,
    record: Record,
    config: &Discv5Config,
    found: mpsc::Sender<(Source, Vec<WakuEnr>)>,
    stop: oneshot::Receiver<()>,
) -> Result<(), Discv5Error> {
    let start_err = |why: String| Discv5Error::Start {
        listen: config.listen,
        why,
    };
    let combined = CombinedKey::Secp256k1(key.clone());
    let local: discv5::Enr = record
        .to_base64()
        .parse()
        .map_err(|e: String| start_err(e))?;
    let mut bootstrap = Vec::new();
    for (index, text) in config.bootstrap.iter().enumerate() {
        let enr: discv5::Enr = text
            .trim()
            .parse()
            .map_err(|why| Discv5Error::Bootstrap { index, why })?;
        bootstrap.push(enr);
    }
    let listen = discv5::ListenConfig::from_ip(config.listen.ip(), config.listen.port());
    let mut service =
        discv5::Discv5::new(local, combined, discv5::ConfigBuilder::new(listen).build())
            .map_err(|e| start_err(e.to_string()))?;
    for enr in bootstrap {
        if let Err(why) = service.add_enr(enr) {
            tracing::warn!(why, "discv5 bootstrap record not added");
        }
    }
    service
        .start()
        .await
        .map_err(|e| start_err(e.to_string()))?;
    tracing::info!(listen = %config.listen, "discv5 started");
    tokio::spawn(run(service, config.query_interval, found, stop));
    Ok(())
}

async fn run(
    mut service: discv5::Discv5,
    interval: Duration,
    found: mpsc::Sender<(Source, Vec<WakuEnr>)>,
    mut stop: oneshot::Receiver<()>,
) {
    let mut lookups = 0u32;
    loop {
        let lookup = service.find_node(NodeId::random());
        let result = tokio::select! {
            _ = &mut stop => break,
            result = lookup => result,
        };
        lookups += 1;
        match result {
            Ok(records) => {
                let waku: Vec<WakuEnr> = records
                    .iter()
                    .filter_map(|r| match WakuEnr::parse(&r.to_base64()) {
                        Ok(enr) if enr.capabilities.is_some() => Some(enr),
                        Ok(_) => None,
                        Err(e) => {
                            tracing::debug!(error = %e, "discv5 record skipped");
                            None
                        }
                    })
                    .collect();
                tracing::debug!(
                    found = records.len(),
                    waku = waku.len(),
                    "discv5 lookup done"
                );
                if !waku.is_empty() && found.send((Source::Discv5, waku)).await.is_err() {
                    break;
                }
            }
            Err(e) => tracing::debug!(error = %e, "discv5 lookup failed"),
        }
        let pause = if lookups < EAGER_LOOKUPS {
            Duration::from_secs(1)
        } else {
            interval
        };
        tokio::select! {
            _ = &mut stop => break,
            () = tokio::time::sleep(pause) => {}
        }
    }
    service.shutdown();
    tracing::debug!("discv5 stopped");
}
