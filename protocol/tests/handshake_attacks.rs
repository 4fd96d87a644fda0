//! Hostile tests of session handshakes: an observer of a pair's session
//! topic records its handshakes (store nodes keep them for a week) and plays
//! them back, as they were or with a fresh sid, while the pair restarts,
//! rekeys and opens at once from both sides.
//!
//! In protocol 1 the sid was not bound into the handshake, so every copy
//! with a fresh sid authenticated: it was answered (Diffie-Hellman and a
//! HANDSHAKE_2 each), replaced the one answer the real initiator waited on,
//! and made the side with the higher key drop its own handshake. At 80 ms
//! of latency and 20 copies a second a tenth of the requests were lost.

// Virtual time starts at Instant::now; protocol/'s own code takes it as an argument.
#![allow(clippy::disallowed_methods)]
#![allow(clippy::unwrap_used)]

mod sim;

use nodepair_protocol::frame::{Frame, Request};
use nodepair_protocol::identity::StaticKeypair;
use nodepair_protocol::session::{Session, SessionConfig, SessionEvent, WallClock};
use sim::{Sim, events};
use std::time::{Duration, Instant};

const SEC: Duration = Duration::from_secs(1);

/// Low and high key of a pair.
fn keys() -> (StaticKeypair, StaticKeypair) {
    let a = StaticKeypair::from_secret([0x11; 32]);
    let b = StaticKeypair::from_secret([0x22; 32]);
    if a.public() < b.public() {
        (a, b)
    } else {
        (b, a)
    }
}

/// Sessions of one program run: one wall clock for all of them.
fn config(start: Instant) -> SessionConfig {
    SessionConfig {
        rekey_after: 20 * SEC,
        wall_clock: Some(WallClock {
            at: start,
            unix_nanos: 1_790_000_000_000_000_000,
        }),
        ..SessionConfig::default()
    }
}

fn request(id: u64) -> Frame {
    Frame::Request(Request {
        id,
        method: "manager.info".into(),
        body: Default::default(),
    })
}

/// Every HANDSHAKE_1 either side published so far.
fn recorded(sim: &Sim<Session, Session>) -> Vec<Vec<u8>> {
    sim.a_to_b
        .sent
        .iter()
        .chain(sim.b_to_a.sent.iter())
        .filter(|m| m[1] == 0x11)
        .cloned()
        .collect()
}

#[test]
fn a_recorded_handshake_with_a_fresh_sid_gets_no_answer() {
    let (lo, hi) = keys();
    let start = Instant::now();
    let mut sim = Sim::new(
        start,
        Session::new(config(start), lo.clone(), hi.public(), [1; 32]),
        Session::new(config(start), hi.clone(), lo.public(), [2; 32]),
    );
    sim.a.connect(start);
    assert!(sim.run_until(5 * SEC, |s| s.a.is_online() && s.b.is_online()));
    let hs1 = recorded(&sim)[0].clone();
    let answered_before = sim.b_to_a.sent.iter().filter(|m| m[1] == 0x12).count();
    let (auth, stale) = (sim.b.stats().auth_failures, sim.b.stats().stale);
    for n in 0..100u64 {
        let mut copy = hs1.clone();
        copy[2..10].copy_from_slice(&n.to_be_bytes());
        let now = sim.now;
        sim.a_to_b.inject(now, copy);
    }
    // And the recording as it was, ten times.
    for _ in 0..10 {
        let now = sim.now;
        sim.a_to_b.inject(now, hs1.clone());
    }
    sim.run_for(SEC);
    let answered = sim.b_to_a.sent.iter().filter(|m| m[1] == 0x12).count();
    assert_eq!(answered, answered_before, "no copy was answered");
    assert_eq!(
        sim.b.stats().auth_failures,
        auth + 100,
        "each refused by its MAC"
    );
    assert_eq!(
        sim.b.stats().stale,
        stale + 10,
        "the original is older than the one answered"
    );
    assert!(sim.a.is_online() && sim.b.is_online());
}

/// Requests from `a` every second for `secs` seconds while 20 recorded
/// handshakes a second, with fresh sids and as they were, reach both sides;
/// `events` runs at given seconds. Returns (asked, served, seconds online
/// on both sides).
fn under_replay(
    latency: Duration,
    secs: u64,
    mut events_at: impl FnMut(u64, &mut Sim<Session, Session>),
) -> (u64, u64, u64) {
    let (lo, hi) = keys();
    let start = Instant::now();
    let mut sim = Sim::new(
        start,
        Session::new(config(start), lo.clone(), hi.public(), [1; 32]),
        Session::new(config(start), hi.clone(), lo.public(), [2; 32]),
    );
    sim.a_to_b.latency = latency;
    sim.b_to_a.latency = latency;
    sim.a.connect(start);
    sim.b.connect(start);
    assert!(sim.run_until(10 * SEC, |s| s.a.is_online() && s.b.is_online()));
    let (mut asked, mut served, mut online) = (0, 0, 0);
    let mut n = 0u64;
    for second in 0..secs {
        events_at(second, &mut sim);
        let mut recording = recorded(&sim);
        recording.reverse();
        recording.truncate(10);
        for slot in 0..20 {
            let now = sim.now;
            for (i, m) in recording.iter().enumerate() {
                if (i + slot) % 10 != 0 {
                    continue;
                }
                let mut copy = m.clone();
                if slot % 2 == 0 {
                    n += 1;
                    copy[2..10].copy_from_slice(&n.to_be_bytes());
                }
                sim.a_to_b.inject(now, copy.clone());
                sim.b_to_a.inject(now, copy);
            }
            if slot == 0 {
                asked += 1;
                let _ = sim.a.send(request(second));
            }
            sim.run_for(SEC / 20);
        }
        served += events(&mut sim.b)
            .iter()
            .filter(|e| matches!(e, SessionEvent::Frame(Frame::Request(_))))
            .count() as u64;
        let _ = events(&mut sim.a);
        online += u64::from(sim.a.is_online() && sim.b.is_online());
    }
    (asked, served, online)
}

#[test]
fn replayed_handshakes_twenty_a_second_stall_no_restart_rekey_or_simultaneous_open() {
    for latency in [Duration::from_millis(20), Duration::from_millis(80)] {
        let (lo, hi) = keys();
        // 90 s: rekeys every 20 s (both sides at once: a simultaneous
        // open each time), and each side restarts once.
        let (asked, served, online) = under_replay(latency, 90, |second, sim| {
            let now = sim.now;
            let config = config(now - Duration::from_secs(second + 10));
            match second {
                30 => {
                    sim.b = Session::new(config, hi.clone(), lo.public(), [7; 32]);
                    sim.b.connect(now);
                }
                60 => {
                    sim.a = Session::new(config, lo.clone(), hi.public(), [8; 32]);
                    sim.a.connect(now);
                }
                _ => {}
            }
        });
        eprintln!("{latency:?}: {served} of {asked} requests served, online {online} of 90 s");
        // Only what was in flight at each restart may be lost.
        assert!(
            served + 2 >= asked,
            "{latency:?}: {served} of {asked} served"
        );
        assert!(online >= 88, "{latency:?}: online {online} of 90 s");
    }
}

#[test]
fn what_a_forged_handshake_costs_is_bounded() {
    // Ten thousand forged HANDSHAKE_1s and HANDSHAKE_2s (fresh sids, or a
    // genuine sid with altered bytes): each costs the victim one HMAC and
    // nothing is sent; a genuine copy played back costs at most one
    // re-sent answer a second.
    let (lo, hi) = keys();
    let start = Instant::now();
    let mut sim = Sim::new(
        start,
        Session::new(config(start), lo.clone(), hi.public(), [1; 32]),
        Session::new(config(start), hi.clone(), lo.public(), [2; 32]),
    );
    sim.a.connect(start);
    // b's answer is lost, so b holds an open answer: the richest target.
    sim.b_to_a.drop_next = 1;
    sim.run_for(Duration::from_millis(500));
    let hs1 = recorded(&sim)[0].clone();
    let sent_before = sim.b_to_a.sent.len();
    let auth = sim.b.stats().auth_failures;
    for n in 0..10_000u64 {
        let mut copy = hs1.clone();
        if n % 2 == 0 {
            copy[2..10].copy_from_slice(&n.to_be_bytes());
        } else {
            let i = 18 + (n as usize % 48);
            copy[i] ^= 1;
        }
        let now = sim.now;
        sim.a_to_b.inject(now, copy);
    }
    sim.b_to_a.loss = 1.0;
    sim.run_for(Duration::from_millis(100));
    assert_eq!(sim.b.stats().auth_failures, auth + 10_000);
    assert_eq!(sim.b_to_a.sent.len(), sent_before, "nothing was sent");
    // The genuine one, 50 times in 5 s: its answer goes again at most once a
    // second.
    for _ in 0..50 {
        let now = sim.now;
        sim.a_to_b.inject(now, hs1.clone());
        sim.run_for(SEC / 10);
    }
    let resent = sim.b_to_a.sent.len() - sent_before;
    assert!(resent <= 6, "{resent} answers re-sent for 50 copies in 5 s");
}
