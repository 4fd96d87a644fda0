//! A headless app in a few lines: offers a pairing code, waits for a manager
//! to answer it, then asks the manager who it is. The desktop app does the
//! same behind its screens; `scripts/demo.sh` runs this to pair with a local
//! manager.
//!
//! `cargo run -p nodepair-peer --example app -- <relay multiaddr> [cluster] [shard]`

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use bytes::Bytes;
use nodepair_keystore::{Identity, MemoryStore};
use nodepair_peer::{NoMethods, PairingUpdate, Peer, PeerConfig};
use nodepair_protocol::hello::Role;
use nodepair_waku::{Config, Shard, WakuNode};
use std::sync::Arc;
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let relay = args
        .next()
        .ok_or("usage: app <relay multiaddr> [cluster] [shard]")?;
    let cluster = args.next().map_or(Ok(42), |c| c.parse())?;
    let shard = args.next().map_or(Ok(0), |s| s.parse())?;

    // A real app keeps these in the OS keyring; this one forgets them on exit.
    let keystore = Arc::new(MemoryStore::new());
    let (identity, _) = Identity::load_or_create(&*keystore)?;
    let mut config = Config::new(Shard { cluster, shard });
    config.bootstrap = vec![relay.parse()?];
    config.keypair = Some(nodepair_peer::node_keypair(&identity));
    let waku = WakuNode::start(config).await?;
    let peer = Peer::start(
        Role::App,
        &identity,
        PeerConfig::new("demo app", vec!["info".into()]),
        keystore,
        waku,
        Arc::new(NoMethods),
    )
    .await?;
    if !peer.wait_for_network(Duration::from_secs(10)).await {
        return Err("no Waku relay reachable".into());
    }

    let mut pairing = peer.offer_pairing().await?;
    println!("code {}", pairing.code.to_display_string());
    let manager = loop {
        match pairing.next().await {
            Some(PairingUpdate::Paired {
                counterparty,
                verification,
            }) => {
                println!(
                    "paired with {} (verification {verification})",
                    counterparty.display_name
                );
                break counterparty.public_key;
            }
            Some(PairingUpdate::Failed(why)) => return Err(why.into()),
            Some(_) => {}
            None => return Err("the runtime stopped".into()),
        }
    };
    let reply = peer.request(manager, "manager.info", Bytes::new()).await?;
    println!(
        "manager.info -> {} {}",
        reply.status.0,
        String::from_utf8_lossy(&reply.body)
    );
    peer.shutdown().await;
    peer.waku().shutdown().await;
    Ok(())
}
