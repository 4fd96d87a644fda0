//! Hostile tests of pairing: someone who saw the code (over a shoulder, on
//! a shared screen, in a photo) tries to sit in the middle, or to pair
//! first. On virtual time, with the attacker's messages scripted.
//!
//! Protocol 1 failed every one of these: its verification string depended
//! only on the two keys, so an attacker who paired with the app first could
//! grind app keys (about 10⁶ tries) until the manager showed the same six
//! digits, and the first HELLO won the race.

// Virtual time starts at Instant::now; protocol/'s own code takes it as an argument.
#![allow(clippy::disallowed_methods)]
#![allow(clippy::unwrap_used)]

mod sim;

use nodepair_protocol::PairingKeys;
use nodepair_protocol::hello::{Hello, Role};
use nodepair_protocol::identity::{NodeId, StaticKeypair};
use nodepair_protocol::pairing::{
    AbortReason, LocalIdentity, Pairing, PairingConfig, PairingError, PairingEvent, PairingStep,
};
use nodepair_protocol::pairing_code::PairingCode;
use nodepair_protocol::pairing_commit::Commitment;
use nodepair_protocol::verification::verification_string;
use sim::{Bus, PairingEnd};
use std::time::{Duration, Instant};

const SEC: Duration = Duration::from_secs(1);
const CODE: u64 = 0x5eed_c0de_0bad_f00d;

fn identity(seed: u8, name: &str, caps: &[&str]) -> LocalIdentity {
    LocalIdentity {
        keypair: StaticKeypair::from_secret([seed; 32]),
        display_name: name.into(),
        node_id: NodeId::from_random([seed; 16]),
        capabilities: caps.iter().map(|c| c.to_string()).collect(),
    }
}

fn code() -> PairingCode {
    PairingCode::from_u64(CODE)
}

fn app(now: Instant) -> Pairing {
    Pairing::app(
        &code(),
        identity(0xa1, "laptop", &[]),
        now,
        PairingConfig::default(),
        [1; 32],
    )
}

fn manager(now: Instant) -> Pairing {
    Pairing::manager(
        &code(),
        identity(0xb2, "validator-1", &["host"]),
        now,
        PairingConfig::default(),
        [2; 32],
    )
}

/// The attacker's two halves: a manager towards the app, an app towards
/// the manager, under the names the victims expect.
fn fake_manager(now: Instant) -> Pairing {
    Pairing::manager(
        &code(),
        identity(0xe1, "validator-1", &["host"]),
        now,
        PairingConfig::default(),
        [3; 32],
    )
}

fn fake_app(now: Instant, seed: u8) -> Pairing {
    Pairing::app(
        &code(),
        identity(0xe2, "laptop", &[]),
        now,
        PairingConfig::default(),
        [seed; 32],
    )
}

fn failure(end: &PairingEnd) -> Option<PairingError> {
    end.events.iter().find_map(|e| match e {
        PairingEvent::Failed(err) => Some(err.clone()),
        _ => None,
    })
}

fn leaked(err: &Option<PairingError>) -> bool {
    matches!(
        err,
        Some(PairingError::AnsweredTwice | PairingError::AbortedByPeer(AbortReason::AnsweredTwice))
    )
}

/// The decrypted body of the last message `who` published of HELLO kind
/// `kind`, as anyone holding the code can read it.
fn last_hello_body(bus: &Bus, who: usize, kind: u8) -> Vec<u8> {
    let keys = PairingKeys::derive(&code());
    bus.log
        .iter()
        .rev()
        .filter(|(from, m)| *from == who && m.get(1) == Some(&kind))
        .find_map(|(_, m)| Hello::open(m, &keys).ok())
        .unwrap()
        .body
}

#[test]
fn a_man_in_the_middle_who_saw_the_code_cannot_make_the_strings_agree() {
    // The attacker controls what each victim hears (it is their Waku
    // service node, say): the app hears only its fake manager, the manager
    // only its fake app.
    let now = Instant::now();
    let mut bus = Bus::new(now);
    let app = bus.join(PairingEnd::asking(app(now)));
    let evil_m = bus.join(PairingEnd::new(fake_manager(now)));
    // 1. The attacker answers the app first: the app shows its string and
    //    its person looks at the server, which shows nothing yet.
    bus.run_for(SEC);
    let shown_on_app = bus.ends[app].compared.clone().unwrap().verification;
    assert_eq!(bus.ends[app].pairing.step(), PairingStep::Comparing);

    // 2. The operator types the code; the attacker answers as an app.
    let mgr = bus.join(PairingEnd::asking(manager(bus.now)));
    let evil_a = bus.join(PairingEnd::new(fake_app(bus.now, 4)));
    for (x, y) in [(app, mgr), (app, evil_a), (evil_m, mgr), (evil_m, evil_a)] {
        bus.cut(x, y);
    }
    bus.run_for(SEC);
    let shown_on_manager = bus.ends[mgr].compared.clone().unwrap().verification;

    // 3. The attacker grinds: now that the manager revealed its HELLO, it
    //    searches app HELLOs (its nonce is free) for one whose string on
    //    the manager equals the app's.
    let keys = PairingKeys::derive(&code());
    let manager_body = last_hello_body(&bus, mgr, 0x01);
    let mut evil_hello = Hello::open(
        &bus.log
            .iter()
            .rev()
            .find(|(from, m)| *from == evil_a && m[1] == 0x02)
            .unwrap()
            .1,
        &keys,
    )
    .unwrap()
    .hello;
    let mut tries = 0u32;
    let ground = loop {
        tries += 1;
        evil_hello.nonce[..4].copy_from_slice(&tries.to_le_bytes());
        let body = evil_hello.body();
        if verification_string(&keys.topic, &manager_body, &body) == shown_on_app {
            break body;
        }
        assert!(tries < 20_000_000, "no match found");
    };
    // Too late: the manager already answered one HELLO from this "app", and
    // a second, different one is a second answer.
    let second = Hello::seal_body(Role::App, &ground, &keys, [9; 24]);
    bus.inject(mgr, second);
    bus.run_for(SEC);

    // The strings the people compare differ (the attacker had to fix its
    // answer to the manager before it saw the manager's nonce), and the
    // grind that would have fixed that was refused as a second answer.
    assert_ne!(shown_on_app, shown_on_manager);
    assert!(
        leaked(&failure(&bus.ends[mgr])),
        "{:?}",
        bus.ends[mgr].events
    );
    // The person at the app compares with the server, which shows another
    // string (or an error): "Doesn't match".
    let t = bus.now;
    bus.ends[app].confirm(t, false);
    bus.run_for(SEC);
    assert_eq!(failure(&bus.ends[app]), Some(PairingError::Mismatch));
    assert_eq!(
        failure(&bus.ends[evil_m]),
        Some(PairingError::AbortedByPeer(AbortReason::Mismatch))
    );
    for end in [app, mgr] {
        assert!(bus.ends[end].paired.is_none(), "nothing is stored");
    }
    eprintln!(
        "app showed {shown_on_app}, manager {shown_on_manager}; the grind took {tries} tries, after the reveal"
    );
}

#[test]
fn whatever_the_attacker_answers_the_managers_string_is_out_of_its_reach() {
    // The attacker fixes one answer to the manager (the best it can do
    // before the reveal), for 300 different pairings: the manager's string
    // matched the one the attacker aimed at in none of them, as 300 draws
    // from 10⁶ would.
    let target = "123 456";
    let mut hits = 0;
    let mut distinct = std::collections::HashSet::new();
    for seed in 0..300u32 {
        let now = Instant::now();
        let mut bus = Bus::new(now);
        let mut seed_bytes = [0u8; 32];
        seed_bytes[..4].copy_from_slice(&seed.to_le_bytes());
        let mgr = bus.join(PairingEnd::asking(Pairing::manager(
            &code(),
            identity(0xb2, "validator-1", &["host"]),
            now,
            PairingConfig::default(),
            seed_bytes,
        )));
        bus.join(PairingEnd::new(fake_app(now, 4)));
        bus.run_for(SEC);
        let v = bus.ends[mgr].compared.clone().unwrap().verification;
        hits += usize::from(v == target);
        distinct.insert(v);
    }
    assert_eq!(hits, 0);
    assert!(distinct.len() > 290, "the manager's nonce moves the string");
}

#[test]
fn a_pre_published_manager_hello_on_the_shared_topic_is_a_second_answer() {
    // The attacker saw the code and answers at once, as a manager, before
    // the operator types it; everyone shares the network.
    let now = Instant::now();
    let mut bus = Bus::new(now);
    let app = bus.join(PairingEnd::asking(app(now)));
    let evil_m = bus.join(PairingEnd::new(fake_manager(now)));
    bus.run_for(SEC);
    assert_eq!(bus.ends[app].pairing.step(), PairingStep::Comparing);
    // The person at the app waits for the server; the operator types the
    // code there, and the manager's commitment is a second answer.
    bus.run_for(5 * SEC);
    let mgr = bus.join(PairingEnd::asking(manager(bus.now)));
    let evil_a = bus.join(PairingEnd::new(fake_app(bus.now, 4)));
    bus.run_for(3 * SEC);
    assert!(
        leaked(&failure(&bus.ends[app])),
        "{:?}",
        bus.ends[app].events
    );
    assert!(
        leaked(&failure(&bus.ends[mgr])),
        "{:?}",
        bus.ends[mgr].events
    );
    for end in [app, mgr, evil_m, evil_a] {
        assert!(bus.ends[end].paired.is_none(), "end {end} paired");
    }
}

#[test]
fn an_app_that_confirmed_at_once_takes_the_pairing_back_when_a_second_answer_follows() {
    // As above, but the app's side confirms without comparing (`--yes`):
    // it pairs with the attacker within milliseconds. The manager's
    // commitment comes 3 s later, inside the watch: the app withdraws the
    // pairing and the manager is told.
    let now = Instant::now();
    let mut bus = Bus::new(now);
    let app = bus.join(PairingEnd::new(app(now)));
    bus.join(PairingEnd::new(fake_manager(now)));
    bus.run_for(3 * SEC);
    assert!(bus.ends[app].paired.is_some(), "paired with the attacker");
    let mgr = bus.join(PairingEnd::asking(manager(bus.now)));
    bus.run_for(3 * SEC);
    assert!(
        bus.ends[app]
            .events
            .iter()
            .any(|e| matches!(e, PairingEvent::Withdrawn(PairingError::AnsweredTwice))),
        "{:?}",
        bus.ends[app].events
    );
    assert!(
        leaked(&failure(&bus.ends[mgr])),
        "{:?}",
        bus.ends[mgr].events
    );
    assert!(bus.ends[mgr].paired.is_none());
}

#[test]
fn a_pre_published_app_hello_aborts_the_app_and_then_the_manager() {
    // The attacker saw the code and publishes an app HELLO before any
    // manager committed (it can only guess the commitment).
    let now = Instant::now();
    let mut bus = Bus::new(now);
    let app = bus.join(PairingEnd::asking(app(now)));
    let keys = PairingKeys::derive(&code());
    let forged = Hello {
        role: Role::App,
        static_key: StaticKeypair::from_secret([0xe2; 32]).public(),
        display_name: "laptop".into(),
        node_id: NodeId::from_random([0xe2; 16]),
        capabilities: vec![],
        nonce: [0xe2; 32],
        answers: Some(Commitment::to(&keys.topic, b"a guess").0),
    }
    .seal(&keys, [5; 24]);
    bus.inject(app, forged.clone());
    bus.run_for(SEC);
    assert!(leaked(&failure(&bus.ends[app])));
    // The operator types the code a minute later: the manager learns the
    // code leaked from the app, which still tells anyone using the code.
    bus.run_for(60 * SEC);
    let mgr = bus.join(PairingEnd::asking(manager(bus.now)));
    bus.run_for(3 * SEC);
    assert_eq!(
        failure(&bus.ends[mgr]),
        Some(PairingError::AbortedByPeer(AbortReason::AnsweredTwice)),
        "{:?}",
        bus.ends[mgr].events
    );
    drop(forged);
    assert!(bus.ends[mgr].paired.is_none() && bus.ends[app].paired.is_none());
}

#[test]
fn a_second_app_answering_the_commitment_aborts_both() {
    // The attacker answers the manager's commitment too (a race with the
    // real app): the manager sees two answers, the app a HELLO of its own
    // kind that it did not send.
    let now = Instant::now();
    let mut bus = Bus::new(now);
    let app = bus.join(PairingEnd::asking(app(now)));
    let mgr = bus.join(PairingEnd::asking(manager(now)));
    let evil_a = bus.join(PairingEnd::new(fake_app(now, 7)));
    bus.run_for(3 * SEC);
    for end in [app, mgr] {
        assert!(
            leaked(&failure(&bus.ends[end])),
            "{:?}",
            bus.ends[end].events
        );
        assert!(bus.ends[end].paired.is_none());
    }
    assert!(bus.ends[evil_a].paired.is_none());
}

#[test]
fn doesnt_match_on_either_side_aborts_both() {
    for refuses in ["app", "manager"] {
        let now = Instant::now();
        let mut bus = Bus::new(now);
        let app = bus.join(PairingEnd::asking(app(now)));
        let mgr = bus.join(PairingEnd::asking(manager(now)));
        bus.run_for(SEC);
        let (a, m) = (
            bus.ends[app].compared.clone().unwrap(),
            bus.ends[mgr].compared.clone().unwrap(),
        );
        assert_eq!(a.verification, m.verification);
        let t = bus.now;
        let (no, yes) = if refuses == "app" {
            (app, mgr)
        } else {
            (mgr, app)
        };
        bus.ends[yes].confirm(t, true);
        bus.run_for(SEC);
        assert!(
            bus.ends[yes].paired.is_none(),
            "{refuses}: nothing before both confirm"
        );
        let t = bus.now;
        bus.ends[no].confirm(t, false);
        bus.run_for(SEC);
        assert_eq!(failure(&bus.ends[no]), Some(PairingError::Mismatch));
        assert_eq!(
            failure(&bus.ends[yes]),
            Some(PairingError::AbortedByPeer(AbortReason::Mismatch)),
            "{refuses}"
        );
        assert!(bus.ends[app].paired.is_none() && bus.ends[mgr].paired.is_none());
    }
}

#[test]
fn both_confirm_and_then_both_pair() {
    let now = Instant::now();
    let mut bus = Bus::new(now);
    let app = bus.join(PairingEnd::asking(app(now)));
    let mgr = bus.join(PairingEnd::asking(manager(now)));
    bus.run_for(SEC);
    // The manager's operator confirms first; its handshake waits for the
    // app's person, whose answer comes 20 s later.
    let t = bus.now;
    bus.ends[mgr].confirm(t, true);
    bus.run_for(20 * SEC);
    assert!(bus.ends[mgr].paired.is_none() && bus.ends[app].paired.is_none());
    let t = bus.now;
    bus.ends[app].confirm(t, true);
    // Held back, not lost: the handshake finishes at once (two trips of
    // 20 ms), not at the manager's next retransmission.
    bus.run_for(Duration::from_millis(100));
    assert!(bus.ends[mgr].paired.is_some() && bus.ends[app].paired.is_some());
    // Past the watch, nothing more happens on the pairing topic.
    bus.run_for(20 * SEC);
    assert!(bus.ends[app].pairing.is_finished() && bus.ends[mgr].pairing.is_finished());
}
