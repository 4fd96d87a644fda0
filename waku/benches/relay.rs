//! Relay throughput, latency and memory: our relay node against js-waku's,
//! measured in one run on this machine.
//!
//! A line of three nodes: a publisher and a subscriber (our node, in this
//! process) that know only the relay in the middle, which is either
//! `nodepair-relay` or a js-waku 0.0.27 relay node (tests/js/waku_peer.mjs),
//! each its own process on 127.0.0.1. The publisher sends N messages of 1 KiB
//! as fast as it can; the table gives messages/s through the relay, p50/p99
//! latency publish → delivery, messages lost, and the relay process's peak
//! RSS.
//!
//! `cargo bench -p nodepair-waku --bench relay` (needs `node` and the npm
//! packages, as the tests do). `RELAY_BENCH_MESSAGES` sets N (default 5000).

#![allow(clippy::unwrap_used, missing_docs)]

use nodepair_waku::{Config, Multiaddr, Shard, WakuMessage, WakuNode};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SHARD: Shard = Shard {
    cluster: 42,
    shard: 0,
};
const TOPIC: &str = "/nodepair/1/bench/proto";
const PAYLOAD: usize = 1024;

struct Relay {
    name: &'static str,
    child: Child,
    address: Multiaddr,
}

/// `nodepair-relay`, keeping what it relays for store queries (its default:
/// in memory) or not (`--no-store`, as js-waku's relay node, which keeps
/// nothing).
fn our_relay(store: bool) -> Relay {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_nodepair-relay"));
    cmd.args([
        "--listen",
        "/ip4/127.0.0.1/tcp/0",
        "--cluster",
        "42",
        "--json",
    ]);
    if !store {
        cmd.arg("--no-store");
    }
    let mut child = cmd
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let status: serde_json::Value = serde_json::from_str(&line).unwrap();
    let address = status["listen"][0].as_str().unwrap().parse().unwrap();
    Relay {
        name: if store {
            "nodepair-relay (Rust), store on (in memory)"
        } else {
            "nodepair-relay (Rust), store off"
        },
        child,
        address,
    }
}

fn js_relay() -> Relay {
    let js = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/js");
    let mut child = Command::new("node")
        .arg("--import")
        .arg(js.join("polyfills.mjs"))
        .arg(js.join("waku_peer.mjs"))
        .args(["--clusterId=42", "--shard=0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("node runs (npm install at the root first)");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let ready: serde_json::Value = serde_json::from_str(&line).unwrap();
    let address = ready["multiaddrs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .find(|a| !a.contains("/ws/"))
        .unwrap()
        .parse()
        .unwrap();
    Relay {
        name: "js-waku 0.0.27 relay (Node.js)",
        child,
        address,
    }
}

/// Peak resident memory of a process, from /proc.
fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

struct Row {
    name: &'static str,
    per_second: f64,
    p50: Duration,
    p99: Duration,
    lost: usize,
    rss_mib: f64,
}

async fn end(relay: &Multiaddr) -> WakuNode {
    let mut config = Config::new(SHARD);
    config.bootstrap = vec![relay.clone()];
    WakuNode::start(config).await.unwrap()
}

async fn measure(mut relay: Relay, n: usize) -> Row {
    let publisher = end(&relay.address).await;
    let subscriber = end(&relay.address).await;
    let mut inbox = subscriber.subscribe(TOPIC).await.unwrap();
    // Warm up until the line carries messages end to end.
    let warm = Instant::now();
    loop {
        let _ = publisher
            .publish(WakuMessage::new(TOPIC, vec![0u8; 8]))
            .await;
        if tokio::time::timeout(Duration::from_millis(100), inbox.next())
            .await
            .is_ok()
        {
            break;
        }
        assert!(
            warm.elapsed() < Duration::from_secs(30),
            "{}: no path in 30 s",
            relay.name
        );
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    while let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(50), inbox.next()).await {}

    let sent_at: Vec<Instant> = Vec::with_capacity(n);
    let sent_at = std::sync::Arc::new(std::sync::Mutex::new(sent_at));
    let receiver = {
        let sent_at = sent_at.clone();
        tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(n);
            let mut last = Instant::now();
            while latencies.len() < n {
                match tokio::time::timeout(Duration::from_secs(5), inbox.next()).await {
                    Ok(Some(r)) => {
                        let now = Instant::now();
                        let i =
                            u64::from_be_bytes(r.message.payload[..8].try_into().unwrap()) as usize;
                        if let Some(t) = sent_at.lock().unwrap().get(i) {
                            latencies.push(now - *t);
                            last = now;
                        }
                    }
                    _ => break,
                }
            }
            (latencies, last)
        })
    };
    let start = Instant::now();
    for i in 0..n {
        let mut payload = vec![0x5a; PAYLOAD];
        payload[..8].copy_from_slice(&(i as u64).to_be_bytes());
        sent_at.lock().unwrap().push(Instant::now());
        publisher
            .publish(WakuMessage::new(TOPIC, payload))
            .await
            .unwrap();
    }
    let (mut latencies, last) = receiver.await.unwrap();
    let elapsed = last - start;
    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    let row = Row {
        name: relay.name,
        per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: pct(0.50),
        p99: pct(0.99),
        lost: n - latencies.len(),
        rss_mib: peak_rss_mib(relay.child.id()),
    };
    publisher.shutdown().await;
    subscriber.shutdown().await;
    let _ = relay.child.kill();
    let _ = relay.child.wait();
    row
}

fn main() {
    // `cargo bench` passes --bench; this program has no options of its own.
    let n: usize = std::env::var("RELAY_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let rows = runtime.block_on(async {
        let off = measure(our_relay(false), n).await;
        let on = measure(our_relay(true), n).await;
        let js = measure(js_relay(), n).await;
        [off, on, js]
    });
    let js = &rows[2];
    println!();
    println!("Relay line publisher → relay → subscriber on 127.0.0.1, {n} messages of {PAYLOAD} B");
    println!();
    println!(
        "| relay in the middle | messages/s | p50 latency | p99 latency | lost | relay peak RSS | messages/s / js-waku's (goal ≥ 3) | RSS / js-waku's (goal ≤ 0.25) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
        println!(
            "| {} | {:.0} | {:.2} ms | {:.2} ms | {} | {:.1} MiB | {:.2} | {:.2} |",
            r.name,
            r.per_second,
            r.p50.as_secs_f64() * 1e3,
            r.p99.as_secs_f64() * 1e3,
            r.lost,
            r.rss_mib,
            r.per_second / js.per_second,
            r.rss_mib / js.rss_mib
        );
    }
    let (off, on) = (&rows[0], &rows[1]);
    println!();
    println!(
        "(the store costs {:.1} MiB of peak RSS and {:.0} % of the messages/s; the goals are for the store off, as js-waku's relay keeps nothing)",
        on.rss_mib - off.rss_mib,
        100.0 * (1.0 - on.per_second / off.per_second)
    );
}
