//! How fast NodePair pairs, comes back after a restart, and answers, over a
//! real `nodepair-relay` on 127.0.0.1 with a real `nodepair-manager run`
//! daemon and an app in this process. One run, one table, with the goals.
//!
//! `cargo bench -p nodepair-tests --bench pairing`

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use bytes::Bytes;
use nodepair_protocol::{NodeState, PublicKey, Status};
use nodepair_tests::Sandbox;
use nodepair_tests::net::{App, ManagerHome, Relay, stop};
use std::time::{Duration, Instant};

const PAIRINGS: usize = 5;
const RESTARTS: usize = 5;
const REQUESTS: usize = 1000;

async fn until_online(app: &nodepair_peer::Peer, who: PublicKey) {
    loop {
        if app
            .counterparties()
            .await
            .iter()
            .any(|v| v.public_key == who && v.state == NodeState::Online)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let sandbox = Sandbox::new().unwrap();
    let relay = Relay::start(&sandbox, &[]);

    // Pairing: from `nodepair-manager pair` starting to both sides online.
    let mut pair_times = Vec::new();
    let mut last = None;
    for i in 0..PAIRINGS {
        // One request at a time, as fast as they come back: more than the
        // 20 a second an app may ask by default, so the limit is raised.
        let home = ManagerHome::with_config(
            sandbox.path(),
            &format!("bench-{i}"),
            &[&relay.addr],
            Duration::from_secs(60),
            &["info", "host"],
            "[limits]\nrequests_per_sec = 10000\nrequest_burst = 10000\n",
        );
        let daemon = home.run(&sandbox);
        let app_side = App::new(&format!("bench-app-{i}"), &[&relay.addr]);
        let app = app_side.start().await;
        let offer = app.offer_pairing().await.unwrap();
        let code = offer.code.to_display_string();
        let root = sandbox.path().to_owned();
        let cli_home = home.clone();
        let started = Instant::now();
        let cli = tokio::task::spawn_blocking(move || {
            let out = cli_home.cli(&Sandbox::at(&root), &["pair", "--yes", &code]);
            (out, Instant::now())
        });
        let (_, app_paired) = offer
            .finish(|_, _| true)
            .await
            .map(|p| (p, Instant::now()))
            .unwrap();
        let (out, cli_done) = cli.await.unwrap();
        assert!(out.status.success());
        pair_times.push(app_paired.max(cli_done) - started);
        if i + 1 == PAIRINGS {
            last = Some((home, daemon, app_side, app));
        } else {
            stop(app).await;
            drop(daemon);
        }
    }
    let (home, mut daemon, _app_side, app) = last.unwrap();
    let key = daemon.public_key();
    until_online(&app, key).await;

    // Restart: from `nodepair-manager run` starting to the app seeing it online.
    let mut restart_times = Vec::new();
    for _ in 0..RESTARTS {
        assert!(daemon.terminate().success());
        // Let the app notice the goodbye first, as after a real restart.
        while app
            .counterparties()
            .await
            .iter()
            .any(|v| v.state == NodeState::Online)
        {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let started = Instant::now();
        daemon = home.run(&sandbox);
        until_online(&app, key).await;
        restart_times.push(started.elapsed());
    }

    // Requests: manager.info round trips over the session, one at a time.
    for _ in 0..50 {
        app.request(key, "manager.info", Bytes::new())
            .await
            .unwrap();
    }
    let mut rtts = Vec::with_capacity(REQUESTS);
    for _ in 0..REQUESTS {
        let t = Instant::now();
        let reply = app
            .request(key, "manager.info", Bytes::new())
            .await
            .unwrap();
        rtts.push(t.elapsed());
        assert_eq!(reply.status, Status::OK);
    }

    for v in [&mut pair_times, &mut restart_times, &mut rtts] {
        v.sort();
    }
    println!();
    println!(
        "| through one nodepair-relay on 127.0.0.1 | runs | p50 ms | worst ms | goal | p50 / goal |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    let row = |name: &str, v: &[Duration], worst: Duration, goal: Duration| {
        let p50 = percentile(v, 0.5);
        println!(
            "| {name} | {} | {} | {} | ≤ {} | {:.2} |",
            v.len(),
            ms(p50),
            ms(worst),
            ms(goal),
            p50.as_secs_f64() / goal.as_secs_f64()
        );
    };
    row(
        "`pair` start → both sides online",
        &pair_times,
        *pair_times.last().unwrap(),
        Duration::from_millis(1500),
    );
    row(
        "manager restart → app sees it online",
        &restart_times,
        *restart_times.last().unwrap(),
        Duration::from_secs(2),
    );
    row(
        "request round trip (`manager.info`, limit raised)",
        &rtts,
        percentile(&rtts, 0.99),
        Duration::from_millis(5),
    );
    println!(
        "\n(request row: worst column is p99 of {REQUESTS}; p99 = {} ms)",
        ms(percentile(&rtts, 0.99))
    );

    // The daemon at rest with one app online: its keepalives only.
    let pid = daemon.pid();
    let (cpu_before, at) = (nodepair_tests::cpu_seconds(pid), Instant::now());
    tokio::time::sleep(IDLE).await;
    let cpu = (nodepair_tests::cpu_seconds(pid) - cpu_before) / at.elapsed().as_secs_f64();
    let rss = nodepair_tests::rss_kib(pid);
    println!();
    println!(
        "| manager daemon, idle {} s, one app online | value | goal | value / goal |",
        IDLE.as_secs()
    );
    println!("|---|---:|---:|---:|");
    println!(
        "| RSS | {:.1} MiB | ≤ 50 MiB | {:.2} |",
        rss as f64 / 1024.0,
        rss as f64 / 1024.0 / 50.0
    );
    println!(
        "| CPU | {:.2} % of a core | ≤ 1 % | {:.2} |",
        cpu * 100.0,
        cpu * 100.0
    );
    stop(app).await;
    drop(daemon);
}

/// How long the daemon is watched at rest.
const IDLE: Duration = Duration::from_secs(30);
