//! Node operations across processes: an app in this process asks a real
//! `nodepair-manager run` daemon, over a local relay, about the Ethereum node
//! beside it — here a local HTTP server answering with the specifications'
//! bodies (`tests/fixtures/ethereum/`) — and about the host; and what the
//! manager must refuse is refused with its own status code.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::Bytes;
use nodepair_protocol::api::ethereum::{BeaconHealth, EthStatus, ExecutionSyncing};
use nodepair_protocol::api::host::Health;
use nodepair_protocol::api::reading::{ReadErrorKind, Reading};
use nodepair_protocol::api::{self, Method};
use nodepair_protocol::{NodeState, Status};
use nodepair_tests::fixtures::{fake_systemctl, node};
use nodepair_tests::net::{
    App, ManagerHome, Paired, Relay, eventually, next_event, pair, paired, stop,
};
use nodepair_tests::{Sandbox, stderr};
use std::time::Duration;

const LONG: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_reads_the_node_and_the_host_and_is_refused_what_is_not_enabled() {
    let (beacon, execution) = node().await;
    let sandbox = Sandbox::new().unwrap();
    let extra = format!(
        "\n[ethereum]\nbeacon_url = \"{}\"\nexecution_url = \"{}\"\ntimeout_ms = 800\n",
        beacon.uri(),
        execution.uri()
    );
    // `host` is deliberately not enabled.
    let Paired {
        relay: _relay,
        daemon,
        manager,
        app,
        ..
    } = paired(&sandbox, &["info", "ethereum"], &extra).await;
    eventually(LONG, "the manager is online", || async {
        app.counterparties()
            .await
            .iter()
            .any(|v| v.public_key == manager && v.state == NodeState::Online)
    })
    .await;
    // The app learned what the manager offers from its HELLO.
    assert_eq!(
        app.counterparties().await[0].capabilities,
        ["info", "ethereum"]
    );

    // The node, read for real through the manager.
    let reply = app
        .request(manager, EthStatus::NAME, Bytes::new())
        .await
        .unwrap();
    assert_eq!(
        reply.status,
        Status::OK,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let status = api::decode_response::<EthStatus>(&reply.body).unwrap();
    let c = &status.consensus;
    assert_eq!(
        c.version.value().map(String::as_str),
        Some("Lighthouse/v0.1.5 (Linux x86_64)")
    );
    let syncing = c.syncing.value().expect("beacon syncing");
    assert!(syncing.is_syncing && syncing.sync_distance == 1 && syncing.head_slot == 1);
    assert_eq!(c.peers.value().map(|p| p.connected), Some(56));
    assert_eq!(c.health, Reading::Value(BeaconHealth::Syncing));
    let x = &status.execution;
    assert_eq!(
        x.version.value().map(String::as_str),
        Some("Geth/v1.12.1-stable/linux-amd64/go1.19.1")
    );
    assert_eq!(
        x.syncing,
        Reading::Value(ExecutionSyncing::Syncing {
            starting_block: 0,
            current_block: 0x1518,
            highest_block: 0x9567a3
        })
    );
    // The hanging endpoint is a timeout, not zero peers.
    let Reading::Error(hang) = &x.peers else {
        panic!("a hanging peer count read as {:?}", x.peers)
    };
    assert_eq!(hang.kind, ReadErrorKind::Timeout);
    assert!(
        hang.message.contains("did not answer in time"),
        "{}",
        hang.message
    );

    // What the operator did not enable is refused with 423, and says so.
    let refused = app
        .request(manager, Health::NAME, Bytes::new())
        .await
        .unwrap();
    assert_eq!(refused.status, Status::CAPABILITY_DISABLED);
    assert!(String::from_utf8_lossy(&refused.body).contains("\"host\" capability"));
    // An unknown request type is 404.
    let unknown = app
        .request(manager, "services.restart_everything", Bytes::new())
        .await
        .unwrap();
    assert_eq!(unknown.status, Status::UNKNOWN_METHOD);

    stop(app).await;
    daemon.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_are_shown_and_only_the_allowed_ones_are_controlled() {
    use nodepair_protocol::api::services::{Action, ControlRequest, ServicesControl, ServicesList};
    let sandbox = Sandbox::new().unwrap();
    let tool = fake_systemctl(sandbox.path());
    let extra = format!(
        "\n[services]\nunits = [\"geth.service\", \"lighthouse.service\"]\ncontrollable = [\"geth.service\"]\nsystemctl = \"{}\"\n",
        tool.display()
    );
    let Paired {
        relay: _relay,
        daemon,
        manager,
        app,
        ..
    } = paired(&sandbox, &["info", "services", "host"], &extra).await;
    let ask = |method: &'static str, body: Vec<u8>| {
        let app = &app;
        async move { app.request(manager, method, body).await.unwrap() }
    };

    // The host, as /proc reports it.
    let host = ask(Health::NAME, Vec::new()).await;
    assert_eq!(host.status, Status::OK);
    let host = api::decode_response::<Health>(&host.body).unwrap();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
    let mem_total_kib: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    let diff = host.memory_total.abs_diff(mem_total_kib * 1024);
    assert!(
        diff * 100 <= mem_total_kib * 1024,
        "memory {} vs /proc {}",
        host.memory_total,
        mem_total_kib * 1024
    );
    let cpus = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    assert_eq!(host.cpus as usize, cpus);
    assert_eq!(host.cpu_per_core.len(), cpus);
    let uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (host.uptime_s as f64 - uptime).abs() < 60.0,
        "uptime {} vs /proc {uptime}",
        host.uptime_s
    );

    let listed = ask(ServicesList::NAME, Vec::new()).await;
    assert_eq!(listed.status, Status::OK);
    let listed = api::decode_response::<ServicesList>(&listed.body).unwrap();
    let states: Vec<_> = listed
        .services
        .iter()
        .map(|s| (s.unit.as_str(), s.active_state.as_str(), s.controllable))
        .collect();
    assert_eq!(
        states,
        [
            ("geth.service", "active", true),
            ("lighthouse.service", "active", false)
        ]
    );
    assert!(listed.services[0].since_ms.is_some());

    // Allowed: done, and the new state comes back.
    let control = |unit: &str, action| {
        api::encode(&ControlRequest {
            unit: unit.into(),
            action,
        })
    };
    let stopped = ask(ServicesControl::NAME, control("geth.service", Action::Stop)).await;
    assert_eq!(
        stopped.status,
        Status::OK,
        "{}",
        String::from_utf8_lossy(&stopped.body)
    );
    let stopped = api::decode_response::<ServicesControl>(&stopped.body).unwrap();
    assert_eq!(
        (stopped.active_state.as_str(), stopped.sub_state.as_str()),
        ("inactive", "dead")
    );

    // Listed but not controllable, and not listed at all: 403, nothing run.
    let refused = ask(
        ServicesControl::NAME,
        control("lighthouse.service", Action::Restart),
    )
    .await;
    assert_eq!(refused.status, Status::FORBIDDEN);
    assert!(
        String::from_utf8_lossy(&refused.body)
            .contains("does not allow apps to control lighthouse.service")
    );
    let refused = ask(ServicesControl::NAME, control("sshd.service", Action::Stop)).await;
    assert_eq!(refused.status, Status::FORBIDDEN);
    assert!(String::from_utf8_lossy(&refused.body).contains("not one of the services"));
    // A body that is not a request: 400.
    let bad = ask(
        ServicesControl::NAME,
        br#"{"unit":"geth.service","action":"reboot"}"#.to_vec(),
    )
    .await;
    assert_eq!(bad.status, Status::BAD_REQUEST);

    // The only action that reached the unit manager is the allowed one.
    let calls = std::fs::read_to_string(tool.with_file_name("state").join("calls.log")).unwrap();
    let actions: Vec<_> = calls.lines().filter(|l| !l.starts_with("show")).collect();
    assert_eq!(actions, ["stop --no-block -- geth.service"], "{calls}");
    stop(app).await;
    daemon.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_are_tailed_and_followed_within_their_budget_and_stop_when_unpaired() {
    use nodepair_protocol::api::logs::{
        LogsFollow, LogsSources, LogsTail, SourceRequest, TailRequest,
    };
    use std::io::Write;
    let sandbox = Sandbox::new().unwrap();
    let log_path = sandbox.path().join("node.log");
    std::fs::write(
        &log_path,
        (1..=5).map(|i| format!("line {i}\n")).collect::<String>(),
    )
    .unwrap();
    let append = |text: &str| {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&log_path)
            .unwrap();
        f.write_all(text.as_bytes()).unwrap();
    };
    let extra = format!(
        "\n[logs]\nfiles = [\"{}\"]\nbytes_per_sec = 2000\n",
        log_path.display()
    );
    let Paired {
        relay: _relay,
        daemon,
        manager,
        app,
        ..
    } = paired(&sandbox, &["info", "logs"], &extra).await;
    let source = log_path.display().to_string();

    let sources = app
        .request(manager, LogsSources::NAME, Bytes::new())
        .await
        .unwrap();
    let sources = api::decode_response::<LogsSources>(&sources.body).unwrap();
    assert_eq!(
        (sources.sources.clone(), sources.bytes_per_sec),
        (vec![source.clone()], 2000)
    );

    let tail = |source: &str, lines| {
        api::encode(&TailRequest {
            source: source.into(),
            lines,
            skip: 0,
            pattern: None,
        })
    };
    let got = app
        .request(manager, LogsTail::NAME, tail(&source, 2))
        .await
        .unwrap();
    assert_eq!(got.status, Status::OK);
    assert_eq!(
        api::decode_response::<LogsTail>(&got.body).unwrap().lines,
        ["line 4", "line 5"]
    );
    // A search on the server: the lines holding the text, whatever their
    // case, among all it read (here the whole file), paged as a tail is.
    append("ERROR peer dropped\nline 6 ok\nerror again\n");
    let search = |pattern: &str, lines, skip| {
        api::encode(&TailRequest {
            source: source.clone(),
            lines,
            skip,
            pattern: Some(pattern.into()),
        })
    };
    let found = app
        .request(manager, LogsTail::NAME, search("  Error ", 10, 0))
        .await
        .unwrap();
    assert_eq!(found.status, Status::OK);
    let found = api::decode_response::<LogsTail>(&found.body).unwrap();
    assert_eq!(found.lines, ["ERROR peer dropped", "error again"]);
    assert_eq!(
        found.searched,
        Some(8),
        "it says how many lines it searched"
    );
    let older = app
        .request(manager, LogsTail::NAME, search("error", 1, 1))
        .await
        .unwrap();
    let older = api::decode_response::<LogsTail>(&older.body).unwrap();
    assert_eq!(older.lines, ["ERROR peer dropped"]);
    // A plain tail says nothing of a search; a pattern past its bound is
    // refused with a sentence.
    let got = app
        .request(manager, LogsTail::NAME, tail(&source, 1))
        .await
        .unwrap();
    assert_eq!(
        api::decode_response::<LogsTail>(&got.body)
            .unwrap()
            .searched,
        None
    );
    let long = app
        .request(manager, LogsTail::NAME, search(&"x".repeat(257), 10, 0))
        .await
        .unwrap();
    assert_eq!(long.status, Status::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&long.body).contains("at most 256 bytes"));

    // Anything not listed is refused, and nothing is read.
    let refused = app
        .request(manager, LogsTail::NAME, tail("/etc/shadow", 2))
        .await
        .unwrap();
    assert_eq!(refused.status, Status::FORBIDDEN);
    assert!(String::from_utf8_lossy(&refused.body).contains("not one of the logs"));

    // Following: new lines arrive as events.
    let mut events = app.events();
    let follow = api::encode(&SourceRequest {
        source: source.clone(),
    });
    let started = app
        .request(manager, LogsFollow::NAME, follow)
        .await
        .unwrap();
    assert_eq!(
        started.status,
        Status::OK,
        "{}",
        String::from_utf8_lossy(&started.body)
    );
    let stream = api::decode_response::<LogsFollow>(&started.body)
        .unwrap()
        .stream;
    tokio::time::sleep(Duration::from_millis(600)).await;
    append("line 6\nline 7\n");
    let first = next_lines(&mut events, &stream).await;
    assert_eq!(first.lines, ["line 6", "line 7"]);
    assert_eq!(first.dropped_bytes, 0);

    // A burst over the budget: part arrives, the rest is counted as dropped.
    let burst: String = (0..200)
        .map(|i| format!("burst {i:03} {}\n", "x".repeat(90)))
        .collect();
    append(&burst);
    let (mut delivered, mut dropped) = (0u64, 0u64);
    while delivered + dropped < burst.len() as u64 {
        let lines = next_lines(&mut events, &stream).await;
        delivered += lines.lines.iter().map(|l| l.len() as u64 + 1).sum::<u64>();
        dropped += lines.dropped_bytes;
    }
    assert_eq!(delivered + dropped, burst.len() as u64);
    assert!(
        dropped > 0 && delivered <= 4000,
        "delivered {delivered}, dropped {dropped}"
    );

    // Unpaired: the follow stops on the manager's side.
    assert_eq!(app.revoke(manager).await, nodepair_peer::Revocation::Told);
    append("after unpairing\n");
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop(app).await;
    let log = daemon.stop_and_read_log();
    assert!(log.contains("log follow started"), "{log}");
    assert!(
        log.contains("log follow ended: the counterparty is not paired"),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_is_pushed_at_the_rate_asked_within_its_bounds_until_unfollowed() {
    use nodepair_protocol::api::host::{HostFollow, HostFollowRequest, HostUnfollow};
    let sandbox = Sandbox::new().unwrap();
    let Paired {
        relay: _relay,
        daemon,
        manager,
        app,
        ..
    } = paired(&sandbox, &["info", "host"], "").await;
    let follow = |interval_ms| api::encode(&HostFollowRequest { interval_ms });
    let mut events = app.events();

    // Asked for every 10 ms: the manager pushes every second at most.
    let started = app
        .request(manager, HostFollow::NAME, follow(10))
        .await
        .unwrap();
    assert_eq!(
        started.status,
        Status::OK,
        "{}",
        String::from_utf8_lossy(&started.body)
    );
    let started = api::decode_response::<HostFollow>(&started.body).unwrap();
    assert_eq!(
        (started.stream.as_str(), started.interval_ms),
        ("host", 1000)
    );
    let first = next_host(&mut events).await;
    let second = next_host(&mut events).await;
    for pushed in [&first, &second] {
        assert_eq!(
            pushed.samples.len(),
            1,
            "each push carries the one sample just taken"
        );
        assert_eq!(pushed.sample_interval_ms, 1000);
        assert!(pushed.memory_total > 0 && pushed.memory_used <= pushed.memory_total);
        assert_eq!(pushed.cpu_per_core.len(), pushed.cpus as usize);
    }
    let apart = second.samples[0].at_ms - first.samples[0].at_ms;
    assert!(apart >= 500, "pushes {apart} ms apart, not bounded to 1 s");

    // Following again changes the rate; asking for a day gets a minute.
    let slower = app
        .request(manager, HostFollow::NAME, follow(86_400_000))
        .await
        .unwrap();
    assert_eq!(
        api::decode_response::<HostFollow>(&slower.body)
            .unwrap()
            .interval_ms,
        60_000
    );
    // A follow with no rate is refused, not guessed.
    let bad = app
        .request(manager, HostFollow::NAME, Bytes::new())
        .await
        .unwrap();
    assert_eq!(bad.status, Status::BAD_REQUEST);

    // Unfollowed: no more pushes.
    app.request(manager, HostFollow::NAME, follow(1000))
        .await
        .unwrap();
    next_host(&mut events).await;
    let done = app
        .request(manager, HostUnfollow::NAME, Bytes::new())
        .await
        .unwrap();
    assert_eq!(done.status, Status::OK);
    tokio::time::sleep(Duration::from_millis(500)).await;
    while events.try_recv().is_ok() {}
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let mut late = 0;
    while let Ok(event) = events.try_recv() {
        if matches!(event, nodepair_peer::PeerEvent::Stream { .. }) {
            late += 1;
        }
    }
    assert_eq!(late, 0, "pushes went on after host.unfollow");
    stop(app).await;
    let log = daemon.stop_and_read_log();
    assert!(log.contains("host follow ended: unfollowed"), "{log}");
}

/// The next host push, decoded.
async fn next_host(
    events: &mut tokio::sync::broadcast::Receiver<nodepair_peer::PeerEvent>,
) -> nodepair_protocol::api::host::HealthResponse {
    next_event(events, "host").await
}

/// The next log lines of `stream`, decoded.
async fn next_lines(
    events: &mut tokio::sync::broadcast::Receiver<nodepair_peer::PeerEvent>,
    stream: &str,
) -> nodepair_protocol::api::logs::Lines {
    next_event(events, stream).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_units_journal_is_tailed_and_followed_through_journalctl() {
    use nodepair_protocol::api::logs::{
        LogsFollow, LogsTail, LogsUnfollow, SourceRequest, TailRequest,
    };
    use std::io::Write;
    let sandbox = Sandbox::new().unwrap();
    let journalctl = nodepair_tests::fixtures::fake_journalctl(sandbox.path());
    let journal = journalctl.with_file_name("journal").join("geth.service");
    std::fs::write(
        &journal,
        "Nov 22 geth[1]: one\nNov 22 geth[1]: two\nNov 22 geth[1]: three\n",
    )
    .unwrap();
    let extra = format!(
        "\n[logs]\nunits = [\"geth.service\"]\njournalctl = \"{}\"\n",
        journalctl.display()
    );
    let Paired {
        relay: _relay,
        daemon,
        manager,
        app,
        ..
    } = paired(&sandbox, &["info", "logs"], &extra).await;

    let request = api::encode(&TailRequest {
        source: "geth.service".into(),
        lines: 2,
        skip: 0,
        pattern: None,
    });
    let tail = app.request(manager, LogsTail::NAME, request).await.unwrap();
    assert_eq!(
        tail.status,
        Status::OK,
        "{}",
        String::from_utf8_lossy(&tail.body)
    );
    let tail = api::decode_response::<LogsTail>(&tail.body).unwrap();
    assert_eq!(tail.lines, ["Nov 22 geth[1]: two", "Nov 22 geth[1]: three"]);

    let mut events = app.events();
    let source = api::encode(&SourceRequest {
        source: "geth.service".into(),
    });
    let follow = app
        .request(manager, LogsFollow::NAME, source.clone())
        .await
        .unwrap();
    assert_eq!(follow.status, Status::OK);
    tokio::time::sleep(Duration::from_millis(800)).await;
    std::fs::OpenOptions::new()
        .append(true)
        .open(&journal)
        .unwrap()
        .write_all(b"Nov 22 geth[1]: four\n")
        .unwrap();
    let lines = next_lines(&mut events, "logs:geth.service").await;
    assert_eq!(lines.lines, ["Nov 22 geth[1]: four"]);
    let stopped = app
        .request(manager, LogsUnfollow::NAME, source)
        .await
        .unwrap();
    assert_eq!(stopped.status, Status::OK);

    // The journal was asked only for the listed unit, as the manager asks.
    let calls =
        std::fs::read_to_string(journalctl.with_file_name("journal").join("calls.log")).unwrap();
    assert!(
        calls.lines().all(|l| l.contains("--unit geth.service")),
        "{calls}"
    );
    assert!(calls.lines().any(|l| l.contains("--follow")), "{calls}");
    stop(app).await;
    let log = daemon.stop_and_read_log();
    assert!(log.contains("log follow ended: unfollowed"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_light_app_cut_off_from_its_relay_gets_what_it_missed_from_the_store() {
    cut_off_and_back(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_app_cut_off_from_its_relay_gets_what_it_missed_from_the_store() {
    cut_off_and_back(true).await;
}

/// The manager (a relay node) is on `home`; the app (a light node, as by
/// default, or a relay node) reaches the network only through `edge`, a
/// relay peered with `home`. Both relays are the real binary, keeping
/// messages in memory. The edge dies while the manager pushes; the app comes
/// back through `home` and gets what it missed from its store.
async fn cut_off_and_back(relay_mode: bool) {
    use nodepair_protocol::api::host::{HostFollow, HostFollowRequest, STREAM};
    let sandbox = Sandbox::new().unwrap();
    let home_relay = Relay::start(&sandbox, &[]);
    let mut edge = Relay::start(&sandbox, &[&home_relay.addr]);
    let home = ManagerHome::with_config(
        sandbox.path(),
        "validator-1",
        &[&home_relay.addr],
        LONG * 6,
        &["info", "host"],
        "",
    );
    let daemon = home.run(&sandbox);
    let manager = daemon.public_key();
    let app = App::new("laptop", &[&edge.addr]);
    let app = if relay_mode { app.relay_mode() } else { app }
        .start()
        .await;
    let (out, _) = pair(&sandbox, &home, &app).await;
    assert!(out.status.success(), "{}", stderr(&out));
    eventually(LONG, "the manager is online", || async {
        app.counterparties()
            .await
            .iter()
            .any(|v| v.public_key == manager && v.state == NodeState::Online)
    })
    .await;

    // The host, pushed every second.
    let mut events = app.events();
    let started = app
        .request(
            manager,
            HostFollow::NAME,
            api::encode(&HostFollowRequest { interval_ms: 1000 }),
        )
        .await
        .unwrap();
    assert_eq!(started.status, Status::OK);
    let before = next_host(&mut events).await;

    // The edge relay dies: the app hears nothing for a few seconds, while the
    // manager, whose session has not timed out, goes on pushing.
    edge.kill();
    eventually(LONG, "the app has no Waku peer", || async {
        app.waku().peers().await.unwrap().is_empty()
    })
    .await;
    let cut_at = before.samples[0].at_ms;
    tokio::time::sleep(Duration::from_secs(4)).await;
    while events.try_recv().is_ok() {}

    // Back through `home`: the pushes sent meanwhile come from its store.
    app.waku().dial(home_relay.addr.clone()).await.unwrap();
    let mut missed = Vec::new();
    let deadline = tokio::time::Instant::now() + LONG;
    while missed.len() < 3 && tokio::time::Instant::now() < deadline {
        if let Ok(Ok(nodepair_peer::PeerEvent::Stream { event, .. })) =
            tokio::time::timeout(Duration::from_secs(1), events.recv()).await
            && event.stream == STREAM
        {
            let pushed: nodepair_protocol::api::host::HealthResponse =
                serde_json::from_slice(&event.body).unwrap();
            missed.push((event.seq, pushed.samples[0].at_ms));
        }
    }
    let sent_while_cut_off: Vec<_> = missed
        .iter()
        .filter(|(_, at)| *at > cut_at + 1500 && *at < cut_at + 4500)
        .collect();
    assert!(
        !sent_while_cut_off.is_empty(),
        "no push sent while the app was cut off reached it: {missed:?} (cut at {cut_at})"
    );
    let seqs: Vec<u64> = missed.iter().map(|(s, _)| *s).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "each push once, in order: {seqs:?}"
    );
    stop(app).await;
    daemon.kill();
}
