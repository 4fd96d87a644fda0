//! NodePair where users are: pairing, coming back after restarts, requests,
//! and a cut link healing, across three relays in a line with the app and
//! the manager each in a network namespace, per network profile ("good",
//! "far", "bad"; see `tests/src/wan.rs`). One table per profile, with the
//! goals.
//!
//! `cargo bench -p nodepair-tests --bench wan` (as root: namespaces; elsewhere
//! it says why and prints no table); `NODEPAIR_WAN_PROFILES=far` runs only
//! the profiles named.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use bytes::Bytes;
use nodepair_protocol::{NodeState, PublicKey, Status};
use nodepair_tests::Sandbox;
use nodepair_tests::net::{pair, stop};
use nodepair_tests::wan::{BAD, FAR, GOOD, Profile, Wan};
use std::time::{Duration, Instant};

const PAIRINGS: usize = 5;
const RESTARTS: usize = 5;
const REQUESTS: usize = 100;

async fn state(app: &nodepair_peer::Peer, who: PublicKey) -> Option<NodeState> {
    app.counterparties()
        .await
        .iter()
        .find(|v| v.public_key == who)
        .map(|v| v.state)
}

/// Waits until `who`'s state in `app` is (or, with `is` false, is not)
/// `Online`; how long that took, or `None` after `within`.
async fn until(
    app: &nodepair_peer::Peer,
    who: PublicKey,
    is: bool,
    within: Duration,
) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < within {
        if (state(app, who).await == Some(NodeState::Online)) == is {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    None
}

/// Records in `row` how long after `started` the app saw `who` online, or a
/// miss after `patience` (then waits longer, so the next run starts online).
async fn back_online(
    row: &mut Row,
    app: &nodepair_peer::Peer,
    who: PublicKey,
    patience: Duration,
    started: Instant,
) {
    match until(app, who, true, patience).await {
        Some(_) => row.times.push(started.elapsed()),
        None => {
            row.missed += 1;
            until(app, who, true, Duration::from_secs(120)).await;
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn ms(d: Duration) -> String {
    format!("{:.0}", d.as_secs_f64() * 1000.0)
}

/// One row: runs, p50, worst (or p99), the goal and p50 / goal.
struct Row {
    name: String,
    times: Vec<Duration>,
    /// Runs that never finished within their patience.
    missed: usize,
    worst_is_p99: bool,
    goal: Option<(Duration, &'static str)>,
}

impl Row {
    fn print(mut self) {
        self.times.sort();
        let (p50, worst) = if self.times.is_empty() {
            ("–".to_owned(), "–".to_owned())
        } else {
            let worst = if self.worst_is_p99 {
                percentile(&self.times, 0.99)
            } else {
                *self.times.last().unwrap()
            };
            (ms(percentile(&self.times, 0.5)), ms(worst))
        };
        let (goal, ratio) = match self.goal {
            Some((goal, words)) if !self.times.is_empty() => {
                // "every one ≤" holds the worst run to the goal, "≤" the p50.
                let measured = if words.starts_with("every") {
                    *self.times.last().unwrap()
                } else {
                    percentile(&self.times, 0.5)
                };
                (
                    format!("{words} {}", ms(goal)),
                    format!("{:.2}", measured.as_secs_f64() / goal.as_secs_f64()),
                )
            }
            Some((goal, words)) => (format!("{words} {}", ms(goal)), "–".into()),
            None => ("–".into(), "–".into()),
        };
        println!(
            "| {} | {} | {} | {} | {} | {} | {} |",
            self.name,
            self.times.len() + self.missed,
            self.missed,
            p50,
            worst,
            goal,
            ratio
        );
    }
}

/// Everything measured on one profile.
async fn profile(profile: Profile) -> Result<(), String> {
    let sandbox = Sandbox::new().unwrap();
    let wan = Wan::start(&sandbox, profile).await?;
    let far = profile == FAR;
    let patience = Duration::from_secs(if profile == BAD { 10 } else { 30 });

    // Pairing: `nodepair-manager pair` started → both sides done.
    let mut pairing = Row {
        name: "`pair` start → both sides paired".into(),
        times: Vec::new(),
        missed: 0,
        worst_is_p99: false,
        goal: if far {
            Some((Duration::from_secs(1), "≤"))
        } else if profile == BAD {
            Some((Duration::from_secs(10), "every one ≤"))
        } else {
            None
        },
    };
    let mut last = None;
    for i in 0..PAIRINGS {
        let home = wan.manager_home(
            &sandbox,
            &format!("wan-{i}"),
            "[limits]\nrequests_per_sec = 10000\nrequest_burst = 10000\n",
        );
        let daemon = wan.run_manager(&home, &sandbox);
        let app_side = wan.app(&format!("wan-app-{i}"));
        let app = wan.start_app(&app_side).await;
        let started = Instant::now();
        match tokio::time::timeout(patience, pair(&sandbox, &home, &app)).await {
            Ok((out, _)) if out.status.success() => pairing.times.push(started.elapsed()),
            _ => pairing.missed += 1,
        }
        if i + 1 == PAIRINGS {
            last = Some((home, daemon, app_side, app));
        } else {
            stop(app).await;
            drop(daemon);
        }
    }
    let (home, mut daemon, app_side, mut app) = last.unwrap();
    let key = daemon.public_key();
    until(&app, key, true, Duration::from_secs(60))
        .await
        .expect("the last pairing comes online");

    // Manager restart: `nodepair-manager run` started → the app sees it online.
    let mut manager_restart = Row {
        name: "manager restart → app sees it online".into(),
        times: Vec::new(),
        missed: 0,
        worst_is_p99: false,
        goal: far.then_some((Duration::from_secs(1), "≤")),
    };
    for _ in 0..RESTARTS {
        assert!(daemon.terminate().success());
        // As after a real restart, the app has heard the goodbye (or,
        // when it was lost, found out by its keepalive).
        until(&app, key, false, Duration::from_secs(60)).await;
        let started = Instant::now();
        daemon = wan.run_manager(&home, &sandbox);
        back_online(&mut manager_restart, &app, key, patience, started).await;
    }

    // App restart: the app's node and peer started → it sees the manager online.
    let mut app_restart = Row {
        name: "app restart → it sees the manager online".into(),
        times: Vec::new(),
        missed: 0,
        worst_is_p99: false,
        goal: far.then_some((Duration::from_secs(1), "≤")),
    };
    for _ in 0..RESTARTS {
        stop(app).await;
        let started = Instant::now();
        app = wan.start_app(&app_side).await;
        back_online(&mut app_restart, &app, key, patience, started).await;
    }

    // Requests, one at a time.
    let mut requests = Row {
        name: format!("request round trip (`manager.info`, {REQUESTS}); worst is p99"),
        times: Vec::new(),
        missed: 0,
        worst_is_p99: true,
        goal: far.then_some((profile.rtt.mul_f64(1.3), "≤")),
    };
    for _ in 0..REQUESTS {
        let t = Instant::now();
        match app.request(key, "manager.info", Bytes::new()).await {
            Ok(reply) if reply.status == Status::OK => requests.times.push(t.elapsed()),
            _ => requests.missed += 1,
        }
    }

    // The manager's link is cut, then healed.
    let mut noticed = Row {
        name: "manager's link cut → app sees it offline".into(),
        times: Vec::new(),
        missed: 0,
        worst_is_p99: false,
        goal: None,
    };
    let mut healed = Row {
        name: "link back → app sees it online".into(),
        times: Vec::new(),
        missed: 0,
        worst_is_p99: false,
        goal: (profile == BAD).then_some((Duration::from_secs(120), "every one ≤")),
    };
    wan.manager_net.cut();
    match until(&app, key, false, Duration::from_secs(120)).await {
        Some(t) => noticed.times.push(t),
        None => noticed.missed += 1,
    }
    wan.manager_net.heal();
    match until(&app, key, true, Duration::from_secs(120)).await {
        Some(t) => healed.times.push(t),
        None => healed.missed += 1,
    }

    println!();
    println!(
        "| {}: {} ms round trip, {} % loss each way, ±{} ms jitter per link; 3 relays | runs | missed | p50 ms | worst ms | goal ms | measured / goal |",
        profile.name,
        profile.rtt.as_millis(),
        f64::from(profile.loss_per_mille) / 10.0,
        (profile.jitter / 2).as_millis()
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for row in [
        pairing,
        manager_restart,
        app_restart,
        requests,
        noticed,
        healed,
    ] {
        row.print();
    }
    stop(app).await;
    let _ = daemon.terminate();
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `NODEPAIR_WAN_PROFILES=far,bad` runs only those.
    let only = std::env::var("NODEPAIR_WAN_PROFILES").unwrap_or_default();
    for p in [GOOD, FAR, BAD] {
        if !only.is_empty() && !only.split(',').any(|name| name.trim() == p.name) {
            continue;
        }
        if let Err(why) = profile(p).await {
            println!("\n(WAN bench skipped: {why})");
            return;
        }
    }
    println!(
        "\n(measured / goal: the p50 against a \"≤\" goal, the worst run against an \"every one ≤\" goal; missed: runs that did not finish within 30 s (10 s on \"bad\"); a cut is noticed by the keepalive: a ping every 30 s, 10 s for its answer)"
    );
}
