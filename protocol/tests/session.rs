//! Sessions on a lossy, reordering, duplicating network, on virtual time.

// Virtual time starts at Instant::now; protocol/'s own code takes it as an argument.
#![allow(clippy::disallowed_methods)]
#![allow(clippy::unwrap_used)]

mod sim;

use nodepair_protocol::frame::{DisconnectReason, Frame, Request};
use nodepair_protocol::identity::StaticKeypair;
use nodepair_protocol::session::{Keepalive, Session, SessionConfig, SessionEvent};
use sim::{Sim, events};
use std::time::{Duration, Instant};

const SEC: Duration = Duration::from_secs(1);

fn keys() -> (StaticKeypair, StaticKeypair) {
    let a = StaticKeypair::from_secret([0x11; 32]);
    let b = StaticKeypair::from_secret([0x22; 32]);
    // Tests below rely on `a` having the lower public key.
    if a.public() < b.public() {
        (a, b)
    } else {
        (b, a)
    }
}

fn pair(config: SessionConfig) -> Sim<Session, Session> {
    let (a, b) = keys();
    let sa = Session::new(config.clone(), a.clone(), b.public(), [1; 32]);
    let sb = Session::new(config, b, a.public(), [2; 32]);
    Sim::new(Instant::now(), sa, sb)
}

fn request(id: u64) -> Frame {
    Frame::Request(Request {
        id,
        method: "host.status".into(),
        body: id.to_be_bytes().to_vec().into(),
    })
}

fn frames(events: &[SessionEvent]) -> Vec<Frame> {
    events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::Frame(f) => Some(f.clone()),
            _ => None,
        })
        .collect()
}

fn established(sim: &mut Sim<Session, Session>) -> (Vec<SessionEvent>, Vec<SessionEvent>) {
    sim.a.connect(sim.now);
    assert!(sim.run_until(60 * SEC, |s| s.a.is_online() && s.b.is_online()));
    (events(&mut sim.a), events(&mut sim.b))
}

#[test]
fn both_sides_establish_the_same_handshake() {
    let mut sim = pair(SessionConfig::default());
    let (ea, eb) = established(&mut sim);
    let v = |e: &[SessionEvent]| match &e[0] {
        SessionEvent::Established { handshake } => handshake.clone(),
        other => panic!("expected Established, got {other:?}"),
    };
    assert_eq!(v(&ea), v(&eb));
    assert_eq!(v(&ea).len(), 16);
    assert_eq!(sim.a.handshake(), sim.b.handshake());
}

#[test]
fn frames_flow_both_ways() {
    let mut sim = pair(SessionConfig::default());
    established(&mut sim);
    sim.a.send(request(1)).unwrap();
    sim.b.send(request(2)).unwrap();
    sim.run_for(SEC);
    assert_eq!(frames(&events(&mut sim.b)), [request(1)]);
    assert_eq!(frames(&events(&mut sim.a)), [request(2)]);
}

#[test]
fn a_lost_handshake_is_sent_again() {
    let mut sim = pair(SessionConfig::default());
    sim.a_to_b.drop_next = 2; // HANDSHAKE_1 and its first retransmission
    sim.b_to_a.drop_next = 1; // HANDSHAKE_2
    established(&mut sim);
}

#[test]
fn a_dropped_frame_does_not_stop_the_next_ones() {
    let mut sim = pair(SessionConfig::default());
    established(&mut sim);
    sim.a_to_b.drop_next = 1;
    for id in 1..=3 {
        sim.a.send(request(id)).unwrap();
    }
    sim.run_for(SEC);
    assert_eq!(frames(&events(&mut sim.b)), [request(2), request(3)]);
}

#[test]
fn reordered_frames_are_all_delivered_once() {
    let mut sim = pair(SessionConfig::default());
    established(&mut sim);
    sim.a_to_b.jitter = Duration::from_millis(500);
    sim.a_to_b.duplicate = 0.5;
    for id in 1..=50 {
        sim.a.send(request(id)).unwrap();
    }
    sim.run_for(2 * SEC);
    let mut got: Vec<u64> = frames(&events(&mut sim.b))
        .into_iter()
        .map(|f| match f {
            Frame::Request(r) => r.id,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    let arrival = got.clone();
    got.sort();
    assert_eq!(got, (1..=50).collect::<Vec<_>>(), "each frame exactly once");
    assert_ne!(arrival, got, "the jitter did reorder them");
    assert!(
        sim.b.stats().replays > 0,
        "duplicates were dropped and counted"
    );
}

#[test]
fn a_replayed_frame_is_rejected_and_counted() {
    let mut sim = pair(SessionConfig::default());
    established(&mut sim);
    sim.a.send(request(7)).unwrap();
    sim.run_for(SEC);
    assert_eq!(frames(&events(&mut sim.b)), [request(7)]);
    let captured = sim.a_to_b.sent.last().unwrap().clone();
    let before = sim.b.stats().replays;
    let now = sim.now;
    sim.a_to_b.inject(now, captured);
    sim.run_for(SEC);
    assert!(frames(&events(&mut sim.b)).is_empty());
    assert_eq!(sim.b.stats().replays, before + 1);
}

#[test]
fn a_tampered_frame_is_an_authentication_failure() {
    let mut sim = pair(SessionConfig::default());
    established(&mut sim);
    sim.a.send(request(7)).unwrap();
    sim.a_to_b.drop_next = 1;
    sim.run_for(SEC);
    let mut forged = sim.a_to_b.sent.last().unwrap().clone();
    let last = forged.len() - 1;
    forged[last] ^= 0x80;
    let now = sim.now;
    sim.a_to_b.inject(now, forged);
    sim.run_for(SEC);
    assert!(frames(&events(&mut sim.b)).is_empty());
    assert_eq!(sim.b.stats().auth_failures, 1);
}

#[test]
fn simultaneous_open_settles_on_one_handshake() {
    let mut sim = pair(SessionConfig::default());
    let now = sim.now;
    sim.a.connect(now);
    sim.b.connect(now);
    assert!(sim.run_until(10 * SEC, |s| s.a.is_online() && s.b.is_online()));
    // `a` has the lower key: it starts the handshakes; b's only woke it.
    assert_eq!(sim.a.stats().wake_ups, 1);
    assert_eq!(sim.b.stats().wake_ups, 0);
    assert_eq!(sim.a.stats().handshakes, 1);
    assert_eq!(sim.b.stats().handshakes, 1);
    assert_eq!(sim.a.handshake(), sim.b.handshake());
}

#[test]
fn a_peer_back_after_a_long_outage_is_met_at_once_whichever_key_is_lower() {
    // `a` (the lower key) has been trying to reach `b` for three minutes:
    // its handshake's re-sends have backed off to 30 s apart.
    let mut sim = pair(SessionConfig::default());
    let (_, b_keys) = keys();
    let now = sim.now;
    sim.a_to_b.loss = 1.0;
    sim.a.connect(now);
    sim.run_for(180 * SEC);
    sim.a_to_b.loss = 0.0;
    // `b` starts again, knowing `a`, and wakes it up at once: `a` sends its
    // handshake again now instead of when its backed-off timer says, and
    // `b` answers it.
    sim.b = Session::new(SessionConfig::default(), b_keys, keys().0.public(), [3; 32]);
    let back = sim.now;
    sim.b.connect(back);
    assert!(sim.run_until(60 * SEC, |s| s.a.is_online() && s.b.is_online()));
    assert!(
        sim.now - back < SEC,
        "online {:?} after the peer came back, not when the backed-off re-send was due",
        sim.now - back
    );
    assert_eq!(sim.a.stats().wake_ups, 1);
    assert_eq!(sim.a.handshake(), sim.b.handshake());
}

#[test]
fn rekeys_after_the_configured_number_of_messages() {
    let config = SessionConfig {
        rekey_after_messages: 10,
        ..SessionConfig::default()
    };
    let mut sim = pair(config);
    established(&mut sim);
    let first = sim.a.handshake().unwrap().to_owned();
    for id in 1..=30 {
        sim.a.send(request(id)).unwrap();
        sim.run_for(SEC / 10);
        // Timers run only when due; let the rekey check see the count.
        let now = sim.now;
        sim.a.handle_timeout(now);
    }
    sim.run_for(SEC);
    let eb = events(&mut sim.b);
    assert_eq!(frames(&eb).len(), 30, "nothing lost across rekeys");
    assert!(eb.contains(&SessionEvent::Rekeyed));
    assert!(events(&mut sim.a).contains(&SessionEvent::Rekeyed));
    assert_ne!(sim.a.handshake().unwrap(), first);
    assert_eq!(sim.a.handshake(), sim.b.handshake());
}

#[test]
fn rekeys_when_the_keys_are_old() {
    let config = SessionConfig {
        rekey_after: 300 * SEC,
        ..SessionConfig::default()
    };
    let mut sim = pair(config);
    established(&mut sim);
    sim.run_for(301 * SEC);
    assert!(events(&mut sim.a).contains(&SessionEvent::Rekeyed));
    assert!(sim.a.is_online() && sim.b.is_online());
    assert_eq!(sim.a.stats().handshakes, 2);
}

#[test]
fn a_late_frame_under_replaced_keys_still_opens() {
    let config = SessionConfig {
        rekey_after_messages: 5,
        ..SessionConfig::default()
    };
    let mut sim = pair(config);
    established(&mut sim);
    for id in 1..=4 {
        sim.a.send(request(id)).unwrap();
    }
    // The 4th frame is held back until after the rekey.
    sim.a_to_b.drop_next = 0;
    sim.flush();
    sim.run_for(SEC);
    let held = sim.a_to_b.sent.last().unwrap().clone();
    let delivered = frames(&events(&mut sim.b)).len();
    assert_eq!(delivered, 4);
    let now = sim.now;
    sim.a.handle_timeout(now);
    sim.run_for(SEC);
    assert!(events(&mut sim.b).contains(&SessionEvent::Rekeyed));
    // A copy of an old frame is a replay, not a new frame.
    let now = sim.now;
    sim.a_to_b.inject(now, held);
    sim.run_for(SEC);
    assert!(frames(&events(&mut sim.b)).is_empty());
}

#[test]
fn keepalive_measures_round_trips_and_notices_silence() {
    let mut sim = pair(SessionConfig::default());
    established(&mut sim);
    sim.run_for(31 * SEC);
    let ea = events(&mut sim.a);
    assert!(
        ea.iter()
            .any(|e| matches!(e, SessionEvent::RoundTrip(d) if *d == Duration::from_millis(40)))
    );
    // b falls silent: a's next ping goes unanswered for 10 s.
    sim.b_to_a.loss = 1.0;
    sim.run_for(41 * SEC);
    assert!(events(&mut sim.a).contains(&SessionEvent::Offline));
    assert!(!sim.a.is_online());
    // b comes back: a re-handshakes on its own.
    sim.b_to_a.loss = 0.0;
    assert!(sim.run_until(60 * SEC, |s| s.a.is_online()));
    assert!(events(&mut sim.a).contains(&SessionEvent::Rekeyed));
}

#[test]
fn both_sides_know_the_round_trip_as_soon_as_keys_are_up() {
    // Whoever answered the handshake (here `b`, the higher key) measures
    // from its answer to the initiator's first DATA; before, it knew
    // nothing until its first keepalive ping, 30 s later.
    for b_follows in [false, true] {
        let mut sim = if b_follows {
            lead_and_follow()
        } else {
            pair(SessionConfig::default())
        };
        let (mut ea, mut eb) = established(&mut sim);
        // The initiator's own ping is answered a moment later.
        sim.run_for(SEC);
        ea.extend(events(&mut sim.a));
        eb.extend(events(&mut sim.b));
        let measured = |events: &[SessionEvent]| {
            events.iter().find_map(|e| match e {
                SessionEvent::RoundTrip(d) => Some(*d),
                _ => None,
            })
        };
        assert_eq!(measured(&ea), Some(Duration::from_millis(40)));
        assert_eq!(measured(&eb), Some(Duration::from_millis(40)), "{eb:?}");
    }
}

/// `a` leads the keepalive (an app), `b` follows (a manager).
fn lead_and_follow() -> Sim<Session, Session> {
    let (a, b) = keys();
    let follow = SessionConfig {
        keepalive: Keepalive::Follow,
        ..SessionConfig::default()
    };
    let sa = Session::new(SessionConfig::default(), a.clone(), b.public(), [1; 32]);
    let sb = Session::new(follow, b, a.public(), [2; 32]);
    Sim::new(Instant::now(), sa, sb)
}

fn round_trips(events: &[SessionEvent]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, SessionEvent::RoundTrip(_)))
        .count()
}

#[test]
fn a_following_side_only_answers_while_the_leader_pings() {
    for follower_starts in [false, true] {
        let mut sim = lead_and_follow();
        if follower_starts {
            sim.b.connect(sim.now);
        } else {
            sim.a.connect(sim.now);
        }
        assert!(sim.run_until(60 * SEC, |s| s.a.is_online() && s.b.is_online()));
        events(&mut sim.a);
        events(&mut sim.b);
        let (a_sent, b_sent) = (sim.a_to_b.sent.len(), sim.b_to_a.sent.len());
        sim.run_for(600 * SEC);
        // What is in flight lands.
        sim.run_for(SEC);
        // The follower's own pings: one every 5 minutes, whatever it hears.
        let own = round_trips(&events(&mut sim.b));
        assert!((1..=2).contains(&own), "{own} pings from the follower");
        let (a_sent, b_sent) = (
            sim.a_to_b.sent.len() - a_sent,
            sim.b_to_a.sent.len() - b_sent,
        );
        assert!(
            (20..=21).contains(&(a_sent - own)),
            "the leader pings every 30 s: {a_sent} sent"
        );
        assert_eq!(
            b_sent, a_sent,
            "the follower sends its pongs, its own few pings and nothing else"
        );
        assert!((20..=21).contains(&round_trips(&events(&mut sim.a))));
        assert!(sim.a.is_online() && sim.b.is_online());
    }
}

#[test]
fn a_following_side_notices_a_silent_leader() {
    let mut sim = lead_and_follow();
    sim.a.connect(sim.now);
    assert!(sim.run_until(60 * SEC, |s| s.a.is_online() && s.b.is_online()));
    // Just after the leader's ping at 30 s, its messages stop arriving:
    // the follower pings 40 s after it last heard one (at 70 s) and gives
    // up 10 s later, 49 s after the cut.
    sim.run_for(31 * SEC);
    events(&mut sim.b);
    sim.a_to_b.loss = 1.0;
    sim.run_for(45 * SEC);
    assert!(sim.b.is_online(), "not before its own ping went unanswered");
    sim.run_for(5 * SEC);
    assert!(events(&mut sim.b).contains(&SessionEvent::Offline));
    assert!(!sim.b.is_online());
    // The link comes back: both are online again.
    sim.a_to_b.loss = 0.0;
    assert!(sim.run_until(60 * SEC, |s| s.a.is_online() && s.b.is_online()));
}

/// Someone on the path holds back the leader's requests (sizes tell them
/// from pings) and, once the leader is gone, lets one through every 30 s:
/// only pings put a follower's own ping off, so it still notices within
/// 50 s. (Taking any DATA as a sign of life, it stayed online as long as
/// the held-back requests lasted: 150 s here.)
#[test]
fn held_back_requests_do_not_keep_a_follower_waiting_for_a_silent_leader() {
    let mut sim = lead_and_follow();
    sim.a.connect(sim.now);
    assert!(sim.run_until(60 * SEC, |s| s.a.is_online() && s.b.is_online()));
    let from = sim.a_to_b.sent.len();
    sim.a_to_b.drop_next = 5;
    for id in 0..5 {
        sim.a.send(request(id)).unwrap();
    }
    sim.run_for(SEC);
    let held: Vec<Vec<u8>> = sim.a_to_b.sent[from..].to_vec();
    assert_eq!(held.len(), 5);
    // The leader falls silent for good.
    sim.a_to_b.loss = 1.0;
    let silent_at = sim.now;
    let mut offline_at = None;
    for message in held {
        let now = sim.now;
        sim.a_to_b.inject(now, message);
        for _ in 0..30 {
            sim.run_for(SEC);
            if offline_at.is_none() && !sim.b.is_online() {
                offline_at = Some(sim.now - silent_at);
            }
        }
    }
    let offline_at = offline_at.expect("the follower noticed the silent leader");
    assert!(offline_at <= 51 * SEC, "noticed only after {offline_at:?}");
    // The held-back requests were real: those let through while the keys
    // were up (and for the 30 s old keys are kept) were delivered.
    assert_eq!(frames(&events(&mut sim.b)).len(), 3);
}

/// A follower's session tells its link each time the leader pings, so the
/// manager's "last seen" stays fresh without round trips of its own.
#[test]
fn a_follower_reports_each_ping_it_answers() {
    let mut sim = lead_and_follow();
    sim.a.connect(sim.now);
    assert!(sim.run_until(60 * SEC, |s| s.a.is_online() && s.b.is_online()));
    events(&mut sim.b);
    sim.run_for(300 * SEC);
    let pinged = events(&mut sim.b)
        .iter()
        .filter(|e| **e == SessionEvent::Pinged)
        .count();
    assert_eq!(pinged, 10, "one for each of the leader's pings");
}

#[test]
fn two_leaders_both_ping_as_before() {
    let mut sim = pair(SessionConfig::default());
    established(&mut sim);
    let (a_sent, b_sent) = (sim.a_to_b.sent.len(), sim.b_to_a.sent.len());
    sim.run_for(600 * SEC);
    // Each side's 20 pings and its 20 pongs to the other's (one may fall
    // just past the end).
    assert!((39..=40).contains(&(sim.a_to_b.sent.len() - a_sent)));
    assert!((39..=40).contains(&(sim.b_to_a.sent.len() - b_sent)));
}

#[test]
fn a_handshake_from_an_unknown_key_is_dropped_and_counted() {
    let mut sim = pair(SessionConfig::default());
    let (a, _) = keys();
    let stranger = StaticKeypair::from_secret([0x33; 32]);
    // The stranger knows a's public key and the topic, but is not b.
    let mut intruder = Session::new(SessionConfig::default(), stranger, a.public(), [3; 32]);
    intruder.connect(sim.now);
    let hs1 = intruder.poll_transmit().unwrap();
    let now = sim.now;
    sim.b_to_a.inject(now, hs1);
    sim.run_for(SEC);
    assert_eq!(sim.a.stats().auth_failures, 1);
    assert!(!sim.a.is_online());
    assert!(events(&mut sim.a).is_empty());
}

#[test]
fn garbage_on_the_topic_is_counted_as_malformed() {
    let mut sim = pair(SessionConfig::default());
    established(&mut sim);
    let now = sim.now;
    for junk in [
        vec![],
        vec![1],
        vec![9, 0x13, 1, 2],
        vec![1, 0x13, 0, 0, 0, 0, 0, 0, 0, 0, 1],
    ] {
        sim.a_to_b.inject(now, junk);
    }
    sim.run_for(SEC);
    assert_eq!(sim.b.stats().malformed, 4);
    assert!(sim.b.is_online());
}

#[test]
fn disconnect_reaches_the_peer_with_its_reason() {
    let mut sim = pair(SessionConfig::default());
    established(&mut sim);
    sim.a
        .close(DisconnectReason::Revoked, "unpaired by the operator");
    sim.run_for(SEC);
    assert!(events(&mut sim.b).contains(&SessionEvent::Closed {
        reason: DisconnectReason::Revoked,
        detail: "unpaired by the operator".into(),
    }));
    assert!(sim.b.is_closed() && sim.a.is_closed());
    assert_eq!(
        sim.a.send(request(1)),
        Err(nodepair_protocol::session::SendError::Closed)
    );
}

#[test]
fn frames_sent_before_the_handshake_wait_for_it() {
    let mut sim = pair(SessionConfig::default());
    sim.a.send(request(1)).unwrap();
    let (_, eb) = established(&mut sim);
    assert_eq!(frames(&eb), [request(1)]);
}

#[test]
fn a_restarted_peer_is_taken_back_without_input() {
    let mut sim = pair(SessionConfig::default());
    established(&mut sim);
    // b restarts: a new session object with fresh randomness, and connects.
    let (a, b) = keys();
    sim.b = Session::new(SessionConfig::default(), b, a.public(), [9; 32]);
    let now = sim.now;
    sim.b.connect(now);
    assert!(sim.run_until(60 * SEC, |s| s.b.is_online()));
    // a takes the new keys when b's first frame under them arrives.
    sim.run_for(SEC);
    assert!(events(&mut sim.a).contains(&SessionEvent::Rekeyed));
    sim.a.send(request(5)).unwrap();
    sim.run_for(SEC);
    assert_eq!(frames(&events(&mut sim.b)), [request(5)]);
    assert_eq!(sim.a.handshake(), sim.b.handshake());
}

#[test]
fn a_replayed_old_handshake_is_not_answered_again() {
    let config = SessionConfig {
        rekey_after_messages: 3,
        ..SessionConfig::default()
    };
    let mut sim = pair(config);
    established(&mut sim);
    let first_hs1 = sim.a_to_b.sent[0].clone();
    // Two rekeys later, the first handshake is replayed.
    for id in 1..=8 {
        sim.a.send(request(id)).unwrap();
        let now = sim.now;
        sim.a.handle_timeout(now);
        sim.run_for(SEC);
    }
    assert!(sim.b.stats().handshakes >= 3);
    let handshake = sim.b.handshake().unwrap().to_owned();
    let stale = sim.b.stats().stale;
    let sent = sim.b_to_a.sent.len();
    let now = sim.now;
    sim.a_to_b.inject(now, first_hs1);
    sim.run_for(SEC);
    assert_eq!(sim.b.stats().stale, stale + 1);
    assert_eq!(sim.b_to_a.sent.len(), sent, "nothing was sent in answer");
    assert_eq!(sim.b.handshake().unwrap(), handshake);
    assert!(sim.b.is_online());
}

#[test]
fn the_higher_keys_handshake_only_wakes_the_lower_side() {
    // b (the higher key) restarts and sends a HANDSHAKE_1: a does not
    // answer it, but starts its own at once, which b answers.
    let mut sim = pair(SessionConfig::default());
    established(&mut sim);
    let (a, b) = keys();
    sim.b = Session::new(SessionConfig::default(), b, a.public(), [9; 32]);
    let now = sim.now;
    sim.b.connect(now);
    assert!(sim.run_until(5 * SEC, |s| s.b.is_online()));
    assert_eq!(sim.a.stats().wake_ups, 1);
    assert!(
        sim.b_to_a.sent.iter().any(|m| m[1] == 0x12),
        "b answered a's handshake"
    );
    assert!(
        sim.a_to_b.sent.iter().all(|m| m[1] != 0x12),
        "a, the lower key, never answered a handshake"
    );
    assert_eq!(sim.a.handshake(), sim.b.handshake());
}

/// Runs a pair for `secs` on a network of `seed`'s making (loss,
/// duplication, reordering), with rekeys every 20 s and restarts of either
/// side at random; then the network heals and both must agree on their keys
/// and carry a frame each way.
fn chaos(seed: u8, secs: u64) {
    let (a_keys, b_keys) = keys();
    let start = Instant::now();
    let config = |at: Instant| SessionConfig {
        rekey_after: 20 * SEC,
        wall_clock: Some(nodepair_protocol::session::WallClock {
            at,
            unix_nanos: 1_790_000_000_000_000_000,
        }),
        ..SessionConfig::default()
    };
    let mut sim = Sim::new(
        start,
        Session::new(config(start), a_keys.clone(), b_keys.public(), [seed; 32]),
        Session::new(
            config(start),
            b_keys.clone(),
            a_keys.public(),
            [seed ^ 0xff; 32],
        ),
    );
    sim.a_to_b = sim::Link::new(seed.wrapping_mul(3));
    sim.b_to_a = sim::Link::new(seed.wrapping_mul(5) ^ 0x33);
    for l in [&mut sim.a_to_b, &mut sim.b_to_a] {
        l.loss = 0.2;
        l.duplicate = 0.2;
        l.jitter = Duration::from_millis(300);
    }
    let now = sim.now;
    sim.a.connect(now);
    sim.b.connect(now);
    let mut dice = u64::from(seed) * 0x9e37_79b9 + 1;
    let mut roll = |n: u64| {
        dice ^= dice << 13;
        dice ^= dice >> 7;
        dice ^= dice << 17;
        dice % n
    };
    for second in 0..secs {
        let now = sim.now;
        match roll(40) {
            0 => {
                // a restarts: a new process, its clock read again.
                sim.a = Session::new(
                    config(start),
                    a_keys.clone(),
                    b_keys.public(),
                    [second as u8; 32],
                );
                sim.a.connect(now);
            }
            1 => {
                sim.b = Session::new(
                    config(start),
                    b_keys.clone(),
                    a_keys.public(),
                    [second as u8 ^ 0x55; 32],
                );
                sim.b.connect(now);
            }
            _ => {}
        }
        if roll(3) == 0 {
            let _ = sim.a.send(request(second));
        }
        sim.run_for(SEC);
    }
    // The network heals: within two minutes both agree and talk.
    for l in [&mut sim.a_to_b, &mut sim.b_to_a] {
        l.loss = 0.0;
        l.duplicate = 0.0;
        l.jitter = Duration::ZERO;
    }
    assert!(
        sim.run_until(120 * SEC, |s| s.a.is_online()
            && s.b.is_online()
            && s.a.handshake() == s.b.handshake()),
        "seed {seed}: a {:?} b {:?}",
        sim.a,
        sim.b
    );
    events(&mut sim.a);
    events(&mut sim.b);
    sim.a.send(request(9_001)).unwrap();
    sim.b.send(request(9_002)).unwrap();
    sim.run_for(2 * SEC);
    assert!(
        frames(&events(&mut sim.b)).contains(&request(9_001)),
        "seed {seed}"
    );
    assert!(
        frames(&events(&mut sim.a)).contains(&request(9_002)),
        "seed {seed}"
    );
    // And they stay agreed: a minute more, across the next rekeys.
    sim.run_for(60 * SEC);
    assert!(sim.a.is_online() && sim.b.is_online(), "seed {seed}");
    assert_eq!(sim.a.handshake(), sim.b.handshake(), "seed {seed}");
}

#[test]
fn loss_reordering_restarts_and_rekeys_never_leave_the_two_sides_on_different_keys() {
    for seed in 0..24 {
        chaos(seed, 150);
    }
}

#[test]
fn crossed_handshakes_with_a_lost_first_message_still_settle_on_the_same_keys() {
    // The sequence a review found against the first version of protocol 2:
    // both sides start a handshake 20 ms apart on a 50 ms network, the
    // lower side's first DATA (its ping) is lost, and the higher side's
    // handshake is sent again a second later. Both must end on the same
    // keys, and stay there past the 30 s the replaced keys remain readable.
    let (a_keys, b_keys) = keys();
    let start = Instant::now();
    let config = SessionConfig::default();
    let mut sim = Sim::new(
        start,
        Session::new(config.clone(), a_keys.clone(), b_keys.public(), [1; 32]),
        Session::new(config, b_keys, a_keys.public(), [2; 32]),
    );
    sim.a_to_b.latency = Duration::from_millis(50);
    sim.b_to_a.latency = Duration::from_millis(50);
    sim.a.connect(start);
    sim.run_for(Duration::from_millis(20));
    let now = sim.now;
    sim.b.connect(now);
    // a's HANDSHAKE_1 went out already; its next message (the ping after
    // HANDSHAKE_2) is lost.
    sim.run_for(Duration::from_millis(60));
    sim.a_to_b.drop_next = 1;
    // a frame from a a second later, just as b's handshake comes again.
    sim.run_for(Duration::from_millis(1020));
    sim.a.send(request(1)).unwrap();
    sim.run_for(5 * SEC);
    assert!(frames(&events(&mut sim.b)).contains(&request(1)));
    assert_eq!(
        sim.a.handshake(),
        sim.b.handshake(),
        "both sides send with the same keys"
    );
    sim.run_for(45 * SEC);
    assert!(sim.a.is_online() && sim.b.is_online());
    assert_eq!(sim.a.handshake(), sim.b.handshake());
    events(&mut sim.a);
    sim.b.send(request(2)).unwrap();
    sim.a.send(request(3)).unwrap();
    sim.run_for(SEC);
    assert!(frames(&events(&mut sim.a)).contains(&request(2)));
    assert!(frames(&events(&mut sim.b)).contains(&request(3)));
}
