//! One app with many managers (an operator's fleet): how long after the
//! app starts until it has every manager online, what its backend process
//! holds in memory, and whether its window keeps up with the list
//! (opening a manager from it and going back to it, timed in the page).
//! The managers run in this process as peers sharing Waku light nodes,
//! written into both keystores as if paired (see `nodepair_tests::fleet`);
//! the app is the real one, in its window (Xvfb and WebDriver, as the
//! window tests run it).
//!
//! `cargo bench -p nodepair-tests --bench fleet`; `NODEPAIR_FLEET_MANAGERS`
//! sets how many managers (100).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use nodepair_protocol::NodeState;
use nodepair_tests::net::{AppHome, Relay};
use nodepair_tests::window::Window;
use nodepair_tests::{Sandbox, fleet, rss_kib, started_ago};
use std::time::Duration;

const WITHIN: Duration = Duration::from_secs(120);
const ONLINE: &str = "[data-testid=manager][data-state=online]";
/// Clicks timed each way.
const CLICKS: usize = 10;

/// The `key:` line (in KiB) of `/proc/<pid>/<file>`, in MiB.
fn proc_mib(pid: u32, file: &str, key: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/{file}"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
                .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let count: usize = std::env::var("NODEPAIR_FLEET_MANAGERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100);
    let sandbox = Sandbox::new().unwrap();
    let relay = Relay::start(&sandbox, &[]);
    let home = AppHome::new(sandbox.path(), "laptop", &[&relay.addr]);
    let fleet = fleet::provision(&sandbox, &home, count, &relay.addr);
    let managers = fleet::start(&fleet, 25).await;

    let window = Window::open(&sandbox, &home.config).await;
    let pid = window.app_pid();
    // Both sides' view, each from the app's start.
    let (mut peers_at, mut window_at) = (None, None);
    let deadline = tokio::time::Instant::now() + WITHIN;
    while peers_at.is_none() || window_at.is_none() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not every manager online within {WITHIN:?}: {} in the window, {} managers see the app",
            window.count(ONLINE).await,
            managers.count(fleet.app, NodeState::Online).await
        );
        if peers_at.is_none() && managers.count(fleet.app, NodeState::Online).await == count {
            peers_at = Some(started_ago(pid));
        }
        if window_at.is_none() && window.count(ONLINE).await == count {
            window_at = Some(started_ago(pid));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (peers_at, window_at) = (peers_at.unwrap(), window_at.unwrap());
    tokio::time::sleep(Duration::from_secs(10)).await;
    let rss = rss_kib(pid) as f64 / 1024.0;
    // What VmRSS counts besides its own allocations: the pages of the
    // libraries the window maps (a browser engine and, on Xvfb, a software
    // GL stack), which its web process maps too.
    let anon = proc_mib(pid, "status", "RssAnon");
    let pss = proc_mib(pid, "smaps_rollup", "Pss");

    // A row in the middle of the list, opened and left again.
    let row = format!(
        "li[data-testid=manager]:nth-child({}) [data-testid=open-manager]",
        count / 2
    );
    let (mut open, mut back) = (Vec::new(), Vec::new());
    for _ in 0..CLICKS {
        open.push(
            window
                .time_click(&row, "[data-testid=manager-name]", 1)
                .await,
        );
        back.push(
            window
                .time_click("[data-testid=back]", "[data-testid=manager]", count)
                .await,
        );
    }
    let online = window.count(ONLINE).await;
    let seen_online = managers.count(fleet.app, NodeState::Online).await;
    let (open, back) = (median(open), median(back));

    println!();
    println!(
        "| one app, {count} managers, through one nodepair-relay on 127.0.0.1 | value | goal | value / goal |"
    );
    println!("|---|---:|---:|---:|");
    println!(
        "| app start → all {count} managers see it online | {:.1} s | ≤ 5 s | {:.2} |",
        peers_at.as_secs_f64(),
        peers_at.as_secs_f64() / 5.0
    );
    println!(
        "| app start → its window shows all {count} online | {:.1} s | ≤ 5 s | {:.2} |",
        window_at.as_secs_f64(),
        window_at.as_secs_f64() / 5.0
    );
    println!(
        "| app backend RSS, {count} sessions (10 s after all online) | {rss:.1} MiB | ≤ 150 MiB | {:.2} |",
        rss / 150.0
    );
    println!(
        "| of which anonymous (RssAnon: its own allocations, not the libraries' pages) | {anon:.1} MiB | – | – |"
    );
    println!(
        "| its proportional share (PSS: a page shared with its web and network processes counts divided among them) | {pss:.1} MiB | – | – |"
    );
    println!(
        "| click a manager in the list → its page (median of {CLICKS}, in the page) | {:.0} ms | < 300 ms | {:.2} |",
        ms(open),
        ms(open) / 300.0
    );
    println!(
        "| click back → the list of {count} rendered (median of {CLICKS}, in the page) | {:.0} ms | < 300 ms | {:.2} |",
        ms(back),
        ms(back) / 300.0
    );
    println!(
        "| online at the end: in the window / managers that see the app | {online} / {seen_online} of {count} | all | |"
    );
    window.close().await;
    managers.stop().await;
}
