//! Pairing end to end between an app and a manager, in memory, on virtual
//! time: the happy path, loss, and every way a pairing must fail without
//! persisting anything.

// Virtual time starts at Instant::now; protocol/'s own code takes it as an argument.
#![allow(clippy::disallowed_methods)]
#![allow(clippy::unwrap_used)]

mod sim;

use nodepair_protocol::PairingKeys;
use nodepair_protocol::frame::{DisconnectReason, Frame, Request};
use nodepair_protocol::hello::{Hello, Role};
use nodepair_protocol::identity::{NodeId, StaticKeypair};
use nodepair_protocol::pairing::{
    AbortReason, LocalIdentity, Pairing, PairingConfig, PairingError, PairingEvent, PairingStep,
};
use nodepair_protocol::pairing_code::PairingCode;
use nodepair_protocol::session::{Session, SessionConfig, SessionEvent, WallClock};
use sim::{PairingEnd, Sim, events};
use std::time::{Duration, Instant};

const SEC: Duration = Duration::from_secs(1);
const CODE: u64 = 0x0123_4567_89ab_cdef;

fn identity(seed: u8, name: &str, caps: &[&str]) -> LocalIdentity {
    LocalIdentity {
        keypair: StaticKeypair::from_secret([seed; 32]),
        display_name: name.into(),
        node_id: NodeId::from_random([seed; 16]),
        capabilities: caps.iter().map(|c| c.to_string()).collect(),
    }
}

fn app() -> LocalIdentity {
    identity(0xa1, "Alice's laptop", &[])
}

fn manager() -> LocalIdentity {
    identity(0xb2, "validator-1", &["host", "ethereum"])
}

/// Two managers, one whose key is lower than the app's (it starts the
/// handshakes) and one whose key is higher (the app starts them): the
/// manager pairs and stores first either way.
fn managers_on_both_sides() -> [LocalIdentity; 2] {
    let app = app().keypair.public();
    let with = |lower: bool| {
        (1..=u8::MAX)
            .map(|seed| identity(seed, "validator-1", &["host", "ethereum"]))
            .find(|m| (m.keypair.public() < app) == lower)
            .expect("some seed gives such a key")
    };
    [with(true), with(false)]
}

fn start(now: Instant, code: u64) -> Sim<PairingEnd, PairingEnd> {
    let code = PairingCode::from_u64(code);
    let a = Pairing::app(&code, app(), now, PairingConfig::default(), [1; 32]);
    let m = Pairing::manager(&code, manager(), now, PairingConfig::default(), [2; 32]);
    Sim::new(now, PairingEnd::new(a), PairingEnd::new(m))
}

/// Drains a pairing's events, its person confirming when asked.
fn answering(p: &mut Pairing, now: Instant) -> Vec<PairingEvent> {
    let mut out = Vec::new();
    while let Some(e) = p.poll_event() {
        if matches!(e, PairingEvent::Compare(_)) {
            p.confirm(now, true);
        }
        out.push(e);
    }
    out
}

fn is_done(end: &PairingEnd) -> bool {
    matches!(
        end.pairing.step(),
        PairingStep::Paired | PairingStep::Failed
    )
}

fn paired(end: &mut PairingEnd) -> Box<nodepair_protocol::pairing::Paired> {
    end.paired
        .take()
        .unwrap_or_else(|| panic!("not paired: {:?}", end.events))
}

fn failure(end: &PairingEnd) -> PairingError {
    assert!(
        end.paired.is_none(),
        "a failed pairing must not offer anything to persist"
    );
    end.events
        .iter()
        .find_map(|e| match e {
            PairingEvent::Failed(err) => Some(err.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no failure: {:?}", end.events))
}

#[test]
fn pairing_then_a_session_with_loss_reordering_replay_and_rekey() {
    let now = Instant::now();
    let mut sim = start(now, CODE);
    assert!(sim.run_until(30 * SEC, |s| is_done(&s.a) && is_done(&s.b)));
    let on_app = paired(&mut sim.a);
    let on_manager = paired(&mut sim.b);

    // Each side learned the other as it introduced itself.
    assert_eq!(on_app.counterparty.display_name, "validator-1");
    assert_eq!(on_app.counterparty.role, Role::Manager);
    assert_eq!(on_app.counterparty.static_key, manager().keypair.public());
    assert_eq!(on_app.counterparty.capabilities, ["host", "ethereum"]);
    assert_eq!(on_manager.counterparty.static_key, app().keypair.public());
    assert_eq!(on_manager.counterparty.node_id, app().node_id);
    // Both show the same verification string and use the same session topic.
    assert_eq!(on_app.verification, on_manager.verification);
    assert_eq!(on_app.verification.len(), 7); // "123 456"
    assert_eq!(on_app.session_topic, on_manager.session_topic);
    // The HELLOs went to the pairing topic, the handshake to the session topic.
    let pairing_topic = PairingKeys::derive(&PairingCode::from_u64(CODE)).content_topic();
    assert_eq!(
        sim.b.topics,
        [pairing_topic.clone(), on_manager.session_topic.clone()]
    );
    assert_eq!(sim.a.topics, [pairing_topic, on_app.session_topic.clone()]);

    // The sessions carry on, on a network that loses, reorders and repeats.
    let mut s = Sim::new(sim.now, on_app.session, on_manager.session);
    s.a_to_b.jitter = Duration::from_millis(300);
    s.a_to_b.duplicate = 0.3;
    let ask = |id| {
        Frame::Request(Request {
            id,
            method: "host.status".into(),
            body: Default::default(),
        })
    };
    s.a_to_b.drop_next = 1; // the first request is lost
    for id in 1..=20 {
        s.a.send(ask(id)).unwrap();
    }
    s.run_for(2 * SEC);
    let got: Vec<u64> = events(&mut s.b)
        .into_iter()
        .filter_map(|e| match e {
            SessionEvent::Frame(Frame::Request(r)) => Some(r.id),
            _ => None,
        })
        .collect();
    let mut sorted = got.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        (2..=20).collect::<Vec<_>>(),
        "the lost one is gone, no other lost or doubled"
    );
    assert_ne!(got, sorted, "frames arrived out of order");

    // A replay of a frame already delivered is dropped and counted.
    let replays = s.b.stats().replays;
    let old = s.a_to_b.sent[3].clone();
    let now = s.now;
    s.a_to_b.inject(now, old);
    s.run_for(SEC);
    assert!(
        events(&mut s.b)
            .iter()
            .all(|e| !matches!(e, SessionEvent::Frame(_)))
    );
    assert_eq!(s.b.stats().replays, replays + 1);

    // A rekey (here: by age) keeps the session up with new keys.
    s.run_for(3601 * SEC);
    assert!(events(&mut s.b).contains(&SessionEvent::Rekeyed));
    assert!(s.a.is_online() && s.b.is_online());
    assert_eq!(s.a.handshake(), s.b.handshake());
}

/// On a network that loses nothing, a pairing takes a few trips of the
/// network (20 ms each way here), not a retransmission timer, whichever
/// side's key is lower, though each side hears the session topic only a
/// moment after it learns it (a light node subscribes through its service
/// node): a handshake sent before the other side listens is lost, and the
/// other side's wake-up brings it again at once. (Virtual time: nothing
/// here depends on the machine.)
#[test]
fn a_pairing_on_a_clean_network_takes_a_few_round_trips() {
    for manager in managers_on_both_sides() {
        let lower = manager.keypair.public() < app().keypair.public();
        let now = Instant::now();
        let code = PairingCode::from_u64(CODE);
        let a = Pairing::app(&code, app(), now, PairingConfig::default(), [1; 32]);
        let m = Pairing::manager(&code, manager, now, PairingConfig::default(), [2; 32]);
        let (mut a, mut m) = (PairingEnd::new(a), PairingEnd::new(m));
        a.listen_delay = Duration::from_millis(30);
        m.listen_delay = Duration::from_millis(30);
        let mut sim = Sim::new(now, a, m);
        assert!(sim.run_until(30 * SEC, |s| is_done(&s.a) && is_done(&s.b)));
        let took = sim.now - now;
        // HELLO, commitment, reveal, two handshake messages, the first
        // DATA: a dozen trips at most.
        assert!(
            took <= Duration::from_millis(12 * 20),
            "manager key lower: {lower}: paired after {took:?}"
        );
        paired(&mut sim.a);
        paired(&mut sim.b);
    }
}

#[test]
fn progress_is_reported_in_order() {
    let now = Instant::now();
    let mut sim = start(now, CODE);
    assert!(sim.run_until(30 * SEC, |s| is_done(&s.a) && is_done(&s.b)));
    // The app: a manager answered, compare, confirmed; the manager:
    // compare, confirmed.
    assert!(matches!(
        sim.a.events[..],
        [
            PairingEvent::Progress(PairingStep::Answered),
            PairingEvent::Compare(_),
            PairingEvent::Progress(PairingStep::Verifying)
        ]
    ));
    assert!(matches!(
        sim.b.events[..],
        [
            PairingEvent::Compare(_),
            PairingEvent::Progress(PairingStep::Verifying)
        ]
    ));
    for end in [&sim.a, &sim.b] {
        assert!(end.paired.is_some());
    }
    // Both people were shown the same string, and who the other side is.
    let (a, b) = (
        sim.a.compared.as_ref().unwrap(),
        sim.b.compared.as_ref().unwrap(),
    );
    assert_eq!(a.verification, b.verification);
    assert_eq!(a.counterparty.display_name, "validator-1");
    assert_eq!(b.counterparty.display_name, "Alice's laptop");
}

#[test]
fn lost_hellos_and_handshakes_are_sent_again() {
    let now = Instant::now();
    let mut sim = start(now, CODE);
    sim.b_to_a.drop_next = 2; // HELLO_APP and its first repeat
    sim.a_to_b.drop_next = 1; // HELLO_NODE_MANAGER
    assert!(sim.run_until(60 * SEC, |s| is_done(&s.a) && is_done(&s.b)));
    paired(&mut sim.a);
    paired(&mut sim.b);
}

#[test]
fn pairing_survives_a_lossy_network() {
    for seed in 0..20u8 {
        let now = Instant::now();
        let mut sim = start(now, CODE ^ u64::from(seed));
        sim.a_to_b = sim::Link::new(seed.wrapping_mul(7));
        sim.b_to_a = sim::Link::new(seed.wrapping_mul(13) ^ 0x55);
        for l in [&mut sim.a_to_b, &mut sim.b_to_a] {
            l.loss = 0.3;
            l.duplicate = 0.2;
            l.jitter = Duration::from_millis(400);
        }
        assert!(
            sim.run_until(600 * SEC, |s| is_done(&s.a) && is_done(&s.b)),
            "seed {seed}"
        );
        let a = paired(&mut sim.a);
        let m = paired(&mut sim.b);
        assert_eq!(a.verification, m.verification, "seed {seed}");
    }
}

#[test]
fn the_code_expires_without_an_answer() {
    let now = Instant::now();
    let code = PairingCode::from_u64(CODE);
    let mut sim = Sim::new(
        now,
        PairingEnd::new(Pairing::app(
            &code,
            app(),
            now,
            PairingConfig::default(),
            [1; 32],
        )),
        // A manager that typed another code never answers this one.
        PairingEnd::new(Pairing::manager(
            &PairingCode::from_u64(CODE + 1),
            manager(),
            now,
            PairingConfig::default(),
            [2; 32],
        )),
    );
    sim.run_for(601 * SEC);
    assert_eq!(failure(&sim.a), PairingError::Expired);
    assert_eq!(failure(&sim.b), PairingError::Expired);
    // The foreign HELLOs were counted, not accepted.
    assert!(sim.a.pairing.stats().refused > 0);
    assert_eq!(
        failure(&sim.a).to_string(),
        "the pairing code expired before the pairing completed; make a new code"
    );
}

#[test]
fn a_second_manager_answering_aborts_everyone() {
    let now = Instant::now();
    let code = PairingCode::from_u64(CODE);
    let mut sim = start(now, CODE);
    // Another manager typed the same (leaked) code: its HELLO reaches the app
    // before the first manager's handshake does.
    let mut thief = Pairing::manager(
        &code,
        identity(0xc3, "mallory", &[]),
        now,
        PairingConfig::default(),
        [3; 32],
    );
    let thief_hello = thief.poll_transmit().unwrap().payload;
    sim.b_to_a.latency = Duration::from_millis(50);
    sim.run_for(Duration::from_millis(60));
    assert_eq!(sim.a.pairing.step(), PairingStep::Answered);
    let t = sim.now;
    sim.a.handle_message_for_test(t, &thief_hello);
    sim.run_for(5 * SEC);
    assert_eq!(failure(&sim.a), PairingError::AnsweredTwice);
    assert_eq!(
        failure(&sim.b),
        PairingError::AbortedByPeer(AbortReason::AnsweredTwice)
    );
    // The thief hears the abort too.
    let abort = sim.a_to_b.sent.last().unwrap().clone();
    thief.handle_message(sim.now, &abort);
    let ev: Vec<_> = std::iter::from_fn(|| thief.poll_event()).collect();
    assert!(matches!(
        ev.last(),
        Some(PairingEvent::Failed(PairingError::AbortedByPeer(
            AbortReason::AnsweredTwice
        )))
    ));
}

#[test]
fn a_repeated_hello_is_not_a_second_answer() {
    let now = Instant::now();
    let mut sim = start(now, CODE);
    sim.b_to_a.duplicate = 1.0;
    assert!(sim.run_until(30 * SEC, |s| is_done(&s.a) && is_done(&s.b)));
    paired(&mut sim.a);
    assert!(sim.a.pairing.stats().duplicates > 0);
}

#[test]
fn strangers_on_the_pairing_topic_change_nothing() {
    let now = Instant::now();
    let mut sim = start(now, CODE);
    let other = PairingKeys::derive(&PairingCode::from_u64(99));
    let foreign = Hello {
        role: Role::Manager,
        static_key: StaticKeypair::from_secret([0xee; 32]).public(),
        display_name: "eve".into(),
        node_id: NodeId::from_random([0xee; 16]),
        capabilities: vec![],
        nonce: [0xee; 32],
        answers: None,
    }
    .seal(&other, [7; 24]);
    let t = sim.now;
    for junk in [
        foreign,
        vec![],
        vec![2, 0x01, 0, 0],
        vec![0xff; 2000],
        vec![2, 0x03, 1, 2, 3],
    ] {
        sim.b_to_a.inject(t, junk);
    }
    assert!(sim.run_until(30 * SEC, |s| is_done(&s.a) && is_done(&s.b)));
    assert_eq!(paired(&mut sim.a).counterparty.display_name, "validator-1");
    assert_eq!(sim.a.pairing.stats().refused, 5);
}

#[test]
fn our_own_messages_echoed_back_are_ignored() {
    let now = Instant::now();
    let code = PairingCode::from_u64(CODE);
    let mut m = Pairing::manager(&code, manager(), now, PairingConfig::default(), [2; 32]);
    let echo = m.poll_transmit().unwrap().payload;
    m.handle_message(now, &echo);
    assert_eq!(m.stats().echoes, 1);
    assert_eq!(m.step(), PairingStep::WaitingForHello);
    // The app's own HELLO, heard back (a light node hears what it pushed).
    let mut a = Pairing::app(&code, app(), now, PairingConfig::default(), [1; 32]);
    a.handle_message(now, &echo);
    let hello = a.poll_transmit().unwrap().payload;
    a.handle_message(now, &hello);
    assert_eq!(a.stats().echoes, 1);
    assert_eq!(a.step(), PairingStep::Answered);
}

#[test]
fn cancelling_tells_the_other_side() {
    let now = Instant::now();
    let mut sim = start(now, CODE);
    sim.run_for(Duration::from_millis(30));
    assert_eq!(sim.a.pairing.step(), PairingStep::Answered);
    sim.a.pairing.cancel();
    sim.a.collect_for_test();
    sim.run_for(5 * SEC);
    assert_eq!(failure(&sim.a), PairingError::Cancelled);
    assert_eq!(
        failure(&sim.b),
        PairingError::AbortedByPeer(AbortReason::Cancelled)
    );
}

#[test]
fn a_manager_killed_mid_handshake_leaves_nothing_and_a_new_code_works() {
    let now = Instant::now();
    let mut sim = start(now, CODE);
    // The manager dies right after the HELLOs crossed: its handshake never comes.
    sim.run_for(Duration::from_millis(30));
    sim.b_to_a.loss = 1.0;
    sim.a_to_b.loss = 1.0;
    sim.run_for(601 * SEC);
    assert_eq!(failure(&sim.a), PairingError::Expired);
    // A new code pairs at once.
    let mut again = start(sim.now, CODE + 2);
    assert!(again.run_until(30 * SEC, |s| is_done(&s.a) && is_done(&s.b)));
    paired(&mut again.a);
    paired(&mut again.b);
}

#[test]
fn the_session_after_pairing_rejects_a_third_party() {
    let now = Instant::now();
    let mut sim = start(now, CODE);
    assert!(sim.run_until(30 * SEC, |s| is_done(&s.a) && is_done(&s.b)));
    let on_app = paired(&mut sim.a);
    let on_manager = paired(&mut sim.b);
    let mut s = Sim::new(sim.now, on_app.session, on_manager.session);
    let mut eve = Session::new(
        Default::default(),
        StaticKeypair::from_secret([0xee; 32]),
        app().keypair.public(),
        [5; 32],
    );
    eve.connect(s.now);
    let hs1 = eve.poll_transmit().unwrap();
    let t = s.now;
    s.b_to_a.inject(t, hs1);
    s.run_for(SEC);
    assert_eq!(s.a.stats().auth_failures, 1);
    assert!(s.a.is_online());
}

#[test]
fn a_manager_that_cannot_keep_the_pairing_takes_it_back_and_the_app_gives_up() {
    for manager in managers_on_both_sides() {
        a_manager_that_cannot_keep_the_pairing_takes_it_back(manager);
    }
}

fn a_manager_that_cannot_keep_the_pairing_takes_it_back(manager: LocalIdentity) {
    // Driven by hand in the order the peer runtime uses: a side's events
    // first (where it stores a pairing, and here fails to), then what it
    // sends.
    let code = PairingCode::from_u64(CODE);
    let mut now = Instant::now();
    let mut a = Pairing::app(&code, app(), now, PairingConfig::default(), [1; 32]);
    let mut m = Pairing::manager(&code, manager, now, PairingConfig::default(), [2; 32]);
    let mut retracted = false;
    let mut session = None;
    let mut app_events = Vec::new();
    for _ in 0..2000 {
        while let Some(event) = m.poll_event() {
            match event {
                PairingEvent::Paired(mut dropped) => {
                    m.retract(&mut dropped.session);
                    session = Some(dropped.session);
                    retracted = true;
                }
                PairingEvent::Compare(_) => m.confirm(now, true),
                _ => {}
            }
        }
        while let Some(t) = m.poll_transmit() {
            a.handle_message(now, &t.payload);
        }
        while let Some(t) = a.poll_transmit() {
            m.handle_message(now, &t.payload);
        }
        app_events.extend(answering(&mut a, now));
        if a.step() == PairingStep::Failed || a.step() == PairingStep::Paired {
            break;
        }
        now += Duration::from_millis(50);
        a.handle_timeout(now);
        m.handle_timeout(now);
    }
    assert!(retracted, "the manager paired, then took it back");
    assert!(
        app_events
            .iter()
            .all(|e| !matches!(e, PairingEvent::Paired(_))),
        "the app never paired: the manager's first session message was withheld"
    );
    assert!(
        app_events.iter().any(|e| matches!(
            e,
            PairingEvent::Failed(PairingError::AbortedByPeer(AbortReason::Cancelled))
        )),
        "the app gives up at once instead of waiting for the code to expire: {app_events:?}"
    );
    // Retracting again does nothing more.
    m.retract(session.as_mut().expect("paired once"));
    assert!(m.poll_transmit().is_none());
}

/// The app pairs second, once the manager keeps it: an app that cannot
/// store the pairing closes the session as revoked, and the manager, which
/// already stored it, hears so (and forgets it).
#[test]
fn an_app_that_cannot_keep_the_pairing_tells_the_manager_over_the_session() {
    for manager in managers_on_both_sides() {
        let code = PairingCode::from_u64(CODE);
        let mut now = Instant::now();
        let mut a = Pairing::app(&code, app(), now, PairingConfig::default(), [1; 32]);
        let mut m = Pairing::manager(&code, manager, now, PairingConfig::default(), [2; 32]);
        let mut kept_by_manager: Option<Session> = None;
        let mut app_retracted = false;
        let mut heard = Vec::new();
        for _ in 0..2000 {
            while let Some(event) = m.poll_event() {
                match event {
                    PairingEvent::Paired(p) => kept_by_manager = Some(p.session),
                    PairingEvent::Compare(_) => m.confirm(now, true),
                    _ => {}
                }
            }
            while let Some(event) = a.poll_event() {
                match event {
                    PairingEvent::Paired(mut p) => {
                        a.retract(&mut p.session);
                        app_retracted = true;
                    }
                    PairingEvent::Compare(_) => a.confirm(now, true),
                    _ => {}
                }
            }
            let mut to_manager = Vec::new();
            while let Some(t) = m.poll_transmit() {
                a.handle_message(now, &t.payload);
            }
            if let Some(s) = kept_by_manager.as_mut() {
                while let Some(payload) = s.poll_transmit() {
                    a.handle_message(now, &payload);
                }
            }
            while let Some(t) = a.poll_transmit() {
                to_manager.push(t.payload);
            }
            for payload in to_manager {
                m.handle_message(now, &payload);
                if let Some(s) = kept_by_manager.as_mut() {
                    s.handle_message(now, &payload);
                    heard.extend(std::iter::from_fn(|| s.poll_event()));
                }
            }
            if app_retracted {
                break;
            }
            now += Duration::from_millis(50);
            a.handle_timeout(now);
            m.handle_timeout(now);
        }
        assert!(app_retracted, "the app paired, then took it back");
        assert!(
            heard.contains(&SessionEvent::Closed {
                reason: DisconnectReason::Revoked,
                detail: "the other side could not store the pairing".into(),
            }),
            "the manager hears the app gave the pairing up: {heard:?}"
        );
        assert_eq!(a.step(), PairingStep::Failed);
    }
}

#[test]
fn a_manager_killed_after_storing_finishes_the_pairing_when_it_restarts() {
    for manager in managers_on_both_sides() {
        a_manager_killed_after_storing_comes_back(manager);
    }
}

fn a_manager_killed_after_storing_comes_back(manager: LocalIdentity) {
    // The manager stored the app, then died before its first DATA went out:
    // the app is still verifying. Restarted, the manager opens a session
    // with every stored counterparty; the app's pairing takes part in that
    // handshake and pairs, so neither side keeps a half of the pairing.
    let code = PairingCode::from_u64(CODE);
    let mut now = Instant::now();
    let mut a = Pairing::app(&code, app(), now, PairingConfig::default(), [1; 32]);
    let mut m = Pairing::manager(
        &code,
        manager.clone(),
        now,
        PairingConfig::default(),
        [2; 32],
    );
    let mut stored = None;
    let mut app_events = Vec::new();
    for _ in 0..2000 {
        if let Some(PairingEvent::Paired(p)) = answering(&mut m, now)
            .into_iter()
            .find(|e| matches!(e, PairingEvent::Paired(_)))
        {
            stored = Some(p);
            break;
        }
        while let Some(t) = m.poll_transmit() {
            a.handle_message(now, &t.payload);
        }
        while let Some(t) = a.poll_transmit() {
            m.handle_message(now, &t.payload);
        }
        app_events.extend(answering(&mut a, now));
        now += Duration::from_millis(50);
        a.handle_timeout(now);
        m.handle_timeout(now);
    }
    let stored = stored.expect("the manager paired and stored the app");
    assert_eq!(stored.counterparty.static_key, app().keypair.public());
    drop(m); // killed: whatever it had queued is gone.
    app_events.extend(answering(&mut a, now));
    assert!(
        app_events
            .iter()
            .all(|e| !matches!(e, PairingEvent::Paired(_))),
        "the app has not paired yet"
    );
    assert_eq!(a.step(), PairingStep::Verifying);

    // A minute later the manager is back, with the app in its keystore.
    now += 60 * SEC;
    a.handle_timeout(now);
    // Its clock gives its handshake a timestamp newer than any before.
    let config = SessionConfig {
        wall_clock: Some(WallClock {
            at: now,
            unix_nanos: 1_790_000_000_000_000_000,
        }),
        ..SessionConfig::default()
    };
    let mut restarted = Session::new(
        config,
        manager.keypair.clone(),
        stored.counterparty.static_key,
        [9; 32],
    );
    restarted.connect(now);
    let mut app_paired = None;
    for _ in 0..200 {
        while let Some(payload) = restarted.poll_transmit() {
            a.handle_message(now, &payload);
        }
        while let Some(t) = a.poll_transmit() {
            restarted.handle_message(now, &t.payload);
        }
        if let Some(PairingEvent::Paired(p)) =
            std::iter::from_fn(|| a.poll_event()).find(|e| matches!(e, PairingEvent::Paired(_)))
        {
            app_paired = Some(p);
            break;
        }
        now += Duration::from_millis(50);
        a.handle_timeout(now);
        restarted.handle_timeout(now);
    }
    let app_paired = app_paired.expect("the app pairs with the restarted manager");
    assert_eq!(app_paired.counterparty.static_key, manager.keypair.public());
    assert_eq!(app_paired.verification, stored.verification);
    assert!(restarted.is_online());
    assert!(app_paired.session.is_online());
}
