//! An attacker on the Waku network floods a manager's session topic (replays
//! of real messages, truncated ones, forged handshakes, garbage) and a
//! pairing topic, at scale: the manager gains no stranger, loses no request,
//! pairs as usual, counts what it dropped, and its memory stays bounded.
//! `NODEPAIR_FLOOD` sets how many messages (10 000 by default).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::Bytes;
use nodepair_protocol::{NodeState, PairingKeys, Status};
use nodepair_tests::net::{App, ManagerHome, Relay, SHARD, eventually, pair, stop};
use nodepair_tests::{Sandbox, rss_kib, stderr, stdout};
use nodepair_waku::{WakuMessage, WakuNode};
use std::time::Duration;

const LONG: Duration = Duration::from_secs(120);

fn flood_size() -> usize {
    std::env::var("NODEPAIR_FLOOD")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000)
}

fn status(sandbox: &Sandbox, home: &ManagerHome) -> serde_json::Value {
    let out = home.cli(sandbox, &["status", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let reply: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    reply["status"].clone()
}

/// Cheap, deterministic bytes (xorshift), so the flood costs the attacker
/// nothing to make.
struct Noise(u64);

impl Noise {
    fn fill(&mut self, out: &mut [u8]) {
        for b in out {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            *b = self.0 as u8;
        }
    }

    fn below(&mut self, n: usize) -> usize {
        let mut b = [0u8; 8];
        self.fill(&mut b);
        (u64::from_le_bytes(b) % n as u64) as usize
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_on_session_and_pairing_topics_gains_nothing_and_memory_stays_bounded() {
    let count = flood_size();
    let sandbox = Sandbox::new().unwrap();
    let relay = Relay::start(&sandbox, &[]);
    let home = ManagerHome::new(sandbox.path(), "validator-1", &[&relay.addr], LONG * 5);
    let daemon = home.run(&sandbox);
    let manager = daemon.public_key();
    let app_side = App::new("laptop", &[&relay.addr]);
    let app = app_side.start().await;
    let (out, _) = pair(&sandbox, &home, &app).await;
    assert!(out.status.success(), "{}", stderr(&out));
    eventually(LONG, "online", || async {
        app.counterparties()
            .await
            .iter()
            .any(|v| v.public_key == manager && v.state == NodeState::Online)
    })
    .await;

    // The attacker sits on the relay and records the session's traffic.
    let mut config = nodepair_waku::Config::new(SHARD);
    config.bootstrap = vec![relay.addr.clone()];
    let attacker = WakuNode::start(config).await.unwrap();
    let topic = nodepair_protocol::session_content_topic(&app_side.keypair(), &manager).unwrap();
    let mut recorded = attacker.subscribe(&topic).await.unwrap();
    let mut captured = Vec::new();
    while captured.len() < 10 {
        let reply = app
            .request(manager, "manager.info", Bytes::new())
            .await
            .unwrap();
        assert_eq!(reply.status, Status::OK);
        while let Ok(Some(m)) =
            tokio::time::timeout(Duration::from_millis(200), recorded.next()).await
        {
            captured.push(m.message.payload);
        }
    }
    let warm = rss_kib(daemon.pid());

    // A second app pairs while the flood runs; its pairing topic is flooded
    // too (the attacker read it off the network).
    let second_side = App::new("desktop", &[&relay.addr]);
    let second = second_side.start().await;
    let offer = second.offer_pairing().await.unwrap();
    let pairing_topic = PairingKeys::derive(&offer.code).content_topic();

    let flooder = {
        let (attacker, topic, pairing_topic) =
            (attacker.clone(), topic.clone(), pairing_topic.clone());
        tokio::spawn(async move {
            let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
            let mut published = 0usize;
            for i in 0..count {
                let (to, payload) = match i % 5 {
                    // A real message again: a replay.
                    0 => (&topic, captured[noise.below(captured.len())].clone()),
                    // A real message cut short.
                    1 => {
                        let real = &captured[noise.below(captured.len())];
                        (&topic, real[..noise.below(real.len())].to_vec())
                    }
                    // A HANDSHAKE_1 from no one: right header, random body.
                    2 => {
                        let mut m = vec![0x02, 0x11];
                        m.resize(98, 0);
                        noise.fill(&mut m[2..]);
                        (&topic, m)
                    }
                    // Garbage of any length up to a few KiB.
                    3 => {
                        let mut m = vec![0; noise.below(4096)];
                        noise.fill(&mut m);
                        (&topic, m)
                    }
                    // A HELLO sealed with some other code.
                    _ => {
                        let mut m = vec![0x02, 0x01];
                        m.resize(150, 0);
                        noise.fill(&mut m[2..]);
                        (&pairing_topic, m)
                    }
                };
                if attacker
                    .publish(WakuMessage::new(to.clone(), payload))
                    .await
                    .is_ok()
                {
                    published += 1;
                }
            }
            published
        })
    };

    // Meanwhile the real app keeps asking (a flood at full speed may crowd
    // its messages out: they are counted, not required), and the real
    // pairing goes on.
    let code = offer.code.to_display_string();
    let (root, cli_home) = (sandbox.path().to_owned(), home.clone());
    let cli = tokio::task::spawn_blocking(move || {
        cli_home.cli(&Sandbox::at(&root), &["pair", "--yes", &code])
    });
    let (mut answered, mut unanswered) = (0, 0);
    let mut peak = warm;
    while !flooder.is_finished() {
        match app.request(manager, "manager.info", Bytes::new()).await {
            Ok(reply) if reply.status == Status::OK => answered += 1,
            _ => unanswered += 1,
        }
        peak = peak.max(rss_kib(daemon.pid()));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let published = flooder.await.unwrap();
    eprintln!("flood over: {published} published, {answered} answered, {unanswered} not");
    let Ok(finished) = tokio::time::timeout(LONG, offer.finish(|_, _| true)).await else {
        panic!(
            "the second app did not pair within two minutes of the flood: app {:?}, manager {}",
            second.status().await,
            status(&sandbox, &home)
        );
    };
    let (second_view, _) = finished.expect("the second app pairs");
    assert_eq!(second_view.public_key, manager);
    let out = cli.await.unwrap();
    assert!(out.status.success(), "{}", stderr(&out));

    eprintln!("second app paired");
    // Let the manager drain what it was sent, then read its counters.
    let mut last = serde_json::Value::Null;
    eventually(LONG, "the manager's counters settle", || {
        let now = status(&sandbox, &home)["dropped"].clone();
        let settled = now == last;
        last = now;
        async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            settled
        }
    })
    .await;
    for _ in 0..10 {
        peak = peak.max(rss_kib(daemon.pid()));
    }
    let dropped = &last;
    let settled = rss_kib(daemon.pid());
    eprintln!(
        "{published} of {count} flood messages published; meanwhile {answered} requests answered, {unanswered} not; \
         manager RSS {:.1} MiB before, {:.1} MiB peak, {:.1} MiB after; dropped: {dropped}",
        warm as f64 / 1024.0,
        peak as f64 / 1024.0,
        settled as f64 / 1024.0
    );
    assert!(published * 2 >= count, "the flood went out: {published}");
    assert!(dropped["replays"].as_u64().unwrap() > 0, "{dropped}");
    assert!(dropped["malformed"].as_u64().unwrap() > 0, "{dropped}");
    // The pairing topic's flood reached the second app, which waited there
    // before the manager did, and after the manager left it.
    let refused = second.status().await.unwrap().refused_pairing_messages;
    assert!(
        refused > 0,
        "the second app refused {refused} pairing messages"
    );
    // Bounded: the flood left no more than 64 MiB behind at its peak.
    assert!(
        peak <= warm + 64 * 1024,
        "the manager grew from {warm} KiB to {peak} KiB under the flood"
    );

    // Nobody gained: still exactly the two real apps, and both are answered.
    let kept = status(&sandbox, &home)["counterparties"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(kept, 2);
    // Keepalives lost in the flood took the sessions down; they come back
    // by themselves (handshake retries back off to 30 s at most).
    for (peer, name) in [(&app, "laptop"), (&second, "desktop")] {
        let since = std::time::Instant::now();
        eventually(
            LONG,
            &format!("{name} is answered after the flood"),
            || async {
                peer.request(manager, "manager.info", Bytes::new())
                    .await
                    .is_ok_and(|r| r.status == Status::OK)
            },
        )
        .await;
        eprintln!(
            "{name} answered again {:?} after the flood settled",
            since.elapsed()
        );
    }
    attacker.shutdown().await;
    stop(app).await;
    stop(second).await;
    assert!(daemon.terminate().success());
}
