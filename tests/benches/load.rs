//! One manager with many apps: how long until every app sees it online,
//! at first start and after a restart, and what the daemon holds in memory
//! meanwhile. Apps run in this process, sharing Waku light nodes, written
//! into both keystores as if paired (see `nodepair_tests::load`).
//!
//! `cargo bench -p nodepair-tests --bench load`; `NODEPAIR_LOAD_APPS` sets
//! how many apps (1000).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use nodepair_protocol::NodeState;
use nodepair_tests::net::{ManagerHome, Relay};
use nodepair_tests::{Sandbox, load};
use std::time::Duration;

const WITHIN: Duration = Duration::from_secs(600);
/// How long the daemon is watched at rest.
const IDLE: Duration = Duration::from_secs(30);

fn rss_mib(pid: u32) -> f64 {
    nodepair_tests::rss_kib(pid) as f64 / 1024.0
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let count: usize = std::env::var("NODEPAIR_LOAD_APPS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000);
    let sandbox = Sandbox::new().unwrap();
    let relay = Relay::start(&sandbox, &[]);
    let home = ManagerHome::new(sandbox.path(), "load-manager", &[&relay.addr], WITHIN);
    let fleet = load::provision(&sandbox, &home, count, &relay.addr);
    let daemon = home.run(&sandbox);
    // From the first app starting: each start waits for its node's relay,
    // so by the time the last has started most are online already.
    let started = std::time::Instant::now();
    let running = load::start(&fleet, 25).await;
    running
        .until_all(fleet.manager, NodeState::Online, WITHIN)
        .await
        .expect("every app online");
    let first = started.elapsed();
    let rss_first = rss_mib(daemon.pid());
    assert!(daemon.terminate().success());
    running
        .until_none(fleet.manager, NodeState::Online, Duration::from_secs(60))
        .await
        .expect("every app saw it go");
    let daemon = home.run(&sandbox);
    let restart = running
        .until_all(fleet.manager, NodeState::Online, WITHIN)
        .await
        .expect("every app back online");
    tokio::time::sleep(Duration::from_secs(10)).await;
    let rss_after = rss_mib(daemon.pid());
    // At rest: every session online, nothing asked; keepalives only.
    let pid = daemon.pid();
    let (cpu_before, at) = (nodepair_tests::cpu_seconds(pid), std::time::Instant::now());
    tokio::time::sleep(IDLE).await;
    let cpu = (nodepair_tests::cpu_seconds(pid) - cpu_before) / at.elapsed().as_secs_f64();
    let online = running.count(fleet.manager, NodeState::Online).await;

    println!();
    println!(
        "| one manager, {count} apps, through one nodepair-relay on 127.0.0.1 | value | goal | value / goal |"
    );
    println!("|---|---:|---:|---:|");
    println!(
        "| first app started → all see the manager online | {:.1} s | ≤ 30 s | {:.2} |",
        first.as_secs_f64(),
        first.as_secs_f64() / 30.0
    );
    println!(
        "| manager restart → all {count} apps see it online | {:.1} s | ≤ 5 s | {:.2} |",
        restart.as_secs_f64(),
        restart.as_secs_f64() / 5.0
    );
    println!(
        "| manager RSS, {count} sessions (first start) | {rss_first:.1} MiB | ≤ 100 MiB | {:.2} |",
        rss_first / 100.0
    );
    println!(
        "| manager RSS, {count} sessions (10 s after the restart) | {rss_after:.1} MiB | ≤ 100 MiB | {:.2} |",
        rss_after / 100.0
    );
    println!(
        "| manager CPU at rest, {} s, {online} of {count} sessions online | {:.2} % of a core | ≤ 2 % | {:.2} |",
        IDLE.as_secs(),
        cpu * 100.0,
        cpu * 100.0 / 2.0
    );
    running.stop().await;
    assert!(daemon.terminate().success());
}
