//! Links on a lossy, duplicating, reordering network, on virtual time:
//! requests and their answers, at-most-once, re-sending after new keys,
//! revocation and its retries, event streams, node states, restarts of
//! either side.

// Virtual time starts at Instant::now; protocol/'s own code takes it as an argument.
#![allow(clippy::disallowed_methods)]
#![allow(clippy::unwrap_used)]

mod sim;

use bytes::Bytes;
use nodepair_protocol::link::{
    EventRefused, Link, LinkConfig, LinkEvent, RequestId, RequestRefused, Revoking, Unanswered,
};
use nodepair_protocol::peer_limits::PeerLimits;
use nodepair_protocol::session::WallClock;
use nodepair_protocol::{NodeState, StaticKeypair, Status};
use sim::{Endpoint, Sim};
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

const SEC: Duration = Duration::from_secs(1);

/// One side as a driver runs it: it publishes what the link sends before
/// acting on its events, serves requests at once (counting how often each
/// was acted on), and forgets the link once revoked.
struct Side {
    keys: StaticKeypair,
    peer: nodepair_protocol::PublicKey,
    config: LinkConfig,
    link: Option<Link>,
    outbox: VecDeque<Vec<u8>>,
    /// Every event, in order.
    events: Vec<LinkEvent>,
    /// How many times each request (by its body) was acted on here.
    acted: HashMap<Bytes, u32>,
    /// Unix seconds this side last heard from its counterparty.
    last_seen: Option<u64>,
    /// Starts, for fresh seeds.
    starts: u8,
    now: Option<Instant>,
}

impl Side {
    fn new(keys: StaticKeypair, peer: &StaticKeypair, config: LinkConfig) -> Self {
        Side {
            keys,
            peer: peer.public(),
            config,
            link: None,
            outbox: VecDeque::new(),
            events: Vec::new(),
            acted: HashMap::new(),
            last_seen: None,
            starts: 0,
            now: None,
        }
    }

    /// Starts (or restarts, after a crash) with the counterparty stored.
    fn start(&mut self, now: Instant, revoking: bool) {
        self.starts += 1;
        let seed = [self.starts ^ self.keys.public().as_bytes()[0]; 32];
        self.outbox.clear();
        self.link = Some(Link::connect(
            self.config.clone(),
            self.keys.clone(),
            self.peer,
            seed,
            now,
            self.last_seen,
            revoking,
        ));
    }

    fn link(&mut self) -> &mut Link {
        self.link.as_mut().expect("the link is there")
    }

    fn request(&mut self, now: Instant, what: &str) -> Result<RequestId, RequestRefused> {
        let id = self
            .link()
            .request(now, "test.act".into(), Bytes::from(what.to_owned()));
        self.settle();
        id
    }

    fn revoke(&mut self, now: Instant) -> Revoking {
        let r = self.link().revoke(now);
        self.settle();
        r
    }

    /// Moves what the link sends to the outbox, then acts on its events.
    fn settle(&mut self) {
        loop {
            let Some(link) = self.link.as_mut() else {
                return;
            };
            while let Some(m) = link.poll_transmit() {
                self.outbox.push_back(m);
            }
            let Some(event) = link.poll_event() else {
                return;
            };
            match &event {
                LinkEvent::Serve(request) => {
                    let n = self.acted.entry(request.body.clone()).or_default();
                    *n += 1;
                    let body = Bytes::from(format!("acted {n}"));
                    link.respond(request.id, Status::OK, body).unwrap();
                }
                LinkEvent::Heard => {
                    self.last_seen = self.now.map(|now| unix_secs(&self.config, now))
                }
                LinkEvent::Revoked { .. } => {
                    // Its last messages are in the outbox already.
                    self.link = None;
                }
                LinkEvent::MoveAnnounced { id, .. } => {
                    // A driver stores the new key first; then answers.
                    link.confirm_move(*id);
                    while let Some(m) = link.poll_transmit() {
                        self.outbox.push_back(m);
                    }
                }
                _ => {}
            }
            self.events.push(event);
        }
    }

    fn state(&self) -> Option<NodeState> {
        self.link.as_ref().map(Link::state)
    }

    fn answers(&self) -> Vec<(RequestId, String)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                LinkEvent::Answered { id, body, .. } => {
                    Some((*id, String::from_utf8_lossy(body).into_owned()))
                }
                _ => None,
            })
            .collect()
    }

    fn unanswered(&self) -> Vec<(RequestId, Unanswered)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                LinkEvent::Unanswered { id, why } => Some((*id, *why)),
                _ => None,
            })
            .collect()
    }

    fn revoked(&self) -> Option<bool> {
        self.events.iter().find_map(|e| match e {
            LinkEvent::Revoked { by_peer } => Some(*by_peer),
            _ => None,
        })
    }

    fn states(&self) -> Vec<NodeState> {
        self.events
            .iter()
            .filter_map(|e| match e {
                LinkEvent::State(s) => Some(*s),
                _ => None,
            })
            .collect()
    }
}

impl Endpoint for Side {
    fn handle_message(&mut self, now: Instant, bytes: &[u8]) {
        self.now = Some(now);
        if let Some(link) = self.link.as_mut() {
            link.handle_message(now, bytes);
        }
        self.settle();
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.now = Some(now);
        if let Some(link) = self.link.as_mut() {
            link.handle_timeout(now);
        }
        self.settle();
    }
    fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.outbox.pop_front()
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.link.as_ref().and_then(Link::poll_timeout)
    }
}

/// Unix seconds at `now` on the shared virtual wall clock.
fn unix_secs(config: &LinkConfig, now: Instant) -> u64 {
    let wall = config.session.wall_clock.expect("a wall clock");
    (wall.unix_nanos + u64::try_from((now - wall.at).as_nanos()).unwrap()) / 1_000_000_000
}

/// Both sides' clocks agree; handshakes carry its time.
fn wall_clock(config: LinkConfig) -> LinkConfig {
    let mut config = config;
    config.session.wall_clock = Some(WallClock {
        at: Instant::now(),
        unix_nanos: 1_800_000_000 * 1_000_000_000,
    });
    config
}

fn config() -> LinkConfig {
    LinkConfig {
        request_timeout: 120 * SEC,
        ..LinkConfig::default()
    }
}

/// An app (`a`) and a manager (`b`), both started, not yet connected.
fn sides(config: LinkConfig) -> Sim<Side, Side> {
    let config = wall_clock(config);
    let a = StaticKeypair::from_secret([0x11; 32]);
    let b = StaticKeypair::from_secret([0x22; 32]);
    let now = Instant::now();
    let mut app = Side::new(a.clone(), &b, config.clone());
    let mut manager = Side::new(b.clone(), &a, config);
    app.start(now, false);
    manager.start(now, false);
    Sim::new(now, app, manager)
}

fn online(sim: &mut Sim<Side, Side>) {
    assert!(
        sim.run_until(120 * SEC, |s| {
            s.a.state() == Some(NodeState::Online) && s.b.state() == Some(NodeState::Online)
        }),
        "both online: {:?} / {:?}",
        sim.a.state(),
        sim.b.state()
    );
}

fn connected(config: LinkConfig) -> Sim<Side, Side> {
    let mut sim = sides(config);
    online(&mut sim);
    sim
}

#[test]
fn a_request_is_answered_once_and_its_answer_matched_to_it() {
    let mut sim = connected(config());
    let now = sim.now;
    let first = sim.a.request(now, "one").unwrap();
    let second = sim.a.request(now, "two").unwrap();
    assert_ne!(first, second);
    sim.run_for(SEC);
    let mut answers = sim.a.answers();
    answers.sort();
    let mut expected = vec![
        (first, "acted 1".to_owned()),
        (second, "acted 1".to_owned()),
    ];
    expected.sort();
    assert_eq!(answers, expected);
    assert_eq!(sim.a.link().outstanding(), 0);
}

#[test]
fn on_a_lossy_duplicating_reordering_network_every_request_ends_once_and_runs_at_most_once() {
    let mut sim = connected(LinkConfig {
        request_timeout: 5 * SEC,
        ..LinkConfig::default()
    });
    for link in [&mut sim.a_to_b, &mut sim.b_to_a] {
        link.loss = 0.2;
        link.duplicate = 0.3;
        link.jitter = Duration::from_millis(300);
    }
    let mut ids = Vec::new();
    for i in 0..60 {
        let now = sim.now;
        // The session queues what it cannot send while it re-handshakes.
        if let Ok(id) = sim.a.request(now, &format!("r{i}")) {
            ids.push(id);
        }
        sim.run_for(SEC / 4);
    }
    sim.run_for(30 * SEC);
    let answered = sim.a.answers();
    let unanswered = sim.a.unanswered();
    for id in &ids {
        let ends = answered.iter().filter(|(a, _)| a == id).count()
            + unanswered.iter().filter(|(u, _)| u == id).count();
        assert_eq!(ends, 1, "request {id:?} ended {ends} times");
    }
    assert!(
        sim.b.acted.values().all(|n| *n == 1),
        "a duplicated request ran twice: {:?}",
        sim.b.acted
    );
    assert!(answered.iter().all(|(_, body)| body == "acted 1"));
    assert!(
        answered.len() >= ids.len() / 3,
        "most got through: {} of {}",
        answered.len(),
        ids.len()
    );
    assert_eq!(sim.a.link().outstanding(), 0);
}

#[test]
fn a_request_in_flight_when_the_manager_restarts_goes_again_under_new_keys() {
    let mut sim = connected(config());
    // The manager dies with the request on its way: it never arrives.
    sim.a_to_b.drop_next = 1;
    let now = sim.now;
    let id = sim.a.request(now, "restart").unwrap();
    sim.run_for(SEC / 10);
    let now = sim.now;
    sim.b.start(now, false);
    assert!(
        sim.run_until(120 * SEC, |s| !s.a.answers().is_empty()),
        "answered once the manager is back"
    );
    assert_eq!(sim.a.answers(), [(id, "acted 1".to_owned())]);
    assert_eq!(sim.b.acted[&Bytes::from("restart")], 1);
    assert!(sim.a.unanswered().is_empty());
}

#[test]
fn a_request_sent_while_offline_goes_out_once_the_session_is_up() {
    let mut sim = sides(config());
    let now = sim.now;
    let id = sim.a.request(now, "early").unwrap();
    online(&mut sim);
    sim.run_for(SEC);
    assert_eq!(sim.a.answers(), [(id, "acted 1".to_owned())]);
    assert_eq!(sim.b.acted[&Bytes::from("early")], 1);
}

#[test]
fn a_request_sent_again_after_a_rekey_runs_once_on_a_manager_that_did_not_restart() {
    let mut sim = connected(LinkConfig {
        session: nodepair_protocol::SessionConfig {
            rekey_after: 20 * SEC,
            ..Default::default()
        },
        request_timeout: 60 * SEC,
        ..LinkConfig::default()
    });
    // The manager acts, its answer is lost, then new keys come.
    sim.b_to_a.drop_next = 1;
    let now = sim.now;
    let id = sim.a.request(now, "once").unwrap();
    sim.run_for(90 * SEC);
    assert_eq!(sim.b.acted[&Bytes::from("once")], 1, "acted on once");
    assert_eq!(sim.a.unanswered(), [(id, Unanswered::TimedOut)]);
    assert!(sim.a.answers().is_empty());
    assert!(
        sim.a.link().stats().handshakes >= 2,
        "a rekey happened meanwhile"
    );
}

#[test]
fn a_revocation_while_online_is_told_and_both_forget() {
    let mut sim = connected(config());
    let now = sim.now;
    assert_eq!(sim.a.revoke(now), Revoking::Sent);
    assert_eq!(sim.a.state(), Some(NodeState::Revoked));
    sim.run_for(SEC);
    assert_eq!(sim.a.revoked(), Some(false), "told: the manager answered");
    assert_eq!(sim.b.revoked(), Some(true), "the manager was revoked");
    assert!(sim.a.link.is_none() && sim.b.link.is_none());
}

#[test]
fn a_revocation_on_a_lossy_network_is_asked_again_until_answered() {
    let mut sim = connected(config());
    let now = sim.now;
    sim.a_to_b.drop_next = 1;
    sim.b_to_a.loss = 0.5;
    assert_eq!(sim.a.revoke(now), Revoking::Sent);
    assert!(
        sim.run_until(30 * 60 * SEC, |s| s.a.revoked().is_some()),
        "told in the end"
    );
    assert_eq!(sim.b.revoked(), Some(true));
    assert!(
        sim.a.events.contains(&LinkEvent::RevocationPending),
        "the first try went unanswered"
    );
}

#[test]
fn a_revocation_while_the_app_is_away_reaches_it_when_it_is_back() {
    let mut sim = connected(config());
    // The app crashes: nothing from it any more.
    sim.a.link = None;
    let now = sim.now;
    sim.b.revoke(now);
    assert_eq!(sim.b.state(), Some(NodeState::Revoked));
    sim.run_for(5 * 60 * SEC);
    assert_eq!(sim.b.revoked(), None, "nobody answered");
    assert!(sim.b.link.is_some(), "kept until the app is told");
    let now = sim.now;
    sim.a.start(now, false);
    assert!(sim.run_until(120 * SEC, |s| s.a.revoked().is_some()
        && s.b.revoked().is_some()));
    assert_eq!(sim.b.revoked(), Some(false));
    assert_eq!(sim.a.revoked(), Some(true));
}

#[test]
fn a_revocation_recorded_while_stopped_is_told_after_the_restart() {
    let mut sim = connected(config());
    // The manager was revoked from its command line while its daemon was
    // down: it starts with the tombstone.
    let now = sim.now;
    sim.b.link = None;
    sim.b.start(now, true);
    assert_eq!(sim.b.state(), Some(NodeState::Revoked));
    assert!(sim.run_until(120 * SEC, |s| s.a.revoked().is_some()
        && s.b.revoked().is_some()));
    assert_eq!(sim.a.revoked(), Some(true));
    assert_eq!(sim.b.revoked(), Some(false));
}

#[test]
fn a_link_being_revoked_sends_and_serves_nothing_else() {
    let mut sim = connected(config());
    sim.b_to_a.loss = 1.0;
    let now = sim.now;
    sim.a.revoke(now);
    assert_eq!(sim.a.request(now, "late"), Err(RequestRefused::NotPaired));
    assert_eq!(
        sim.a.link().send_event("s".into(), Bytes::new()),
        Err(EventRefused::NotPaired)
    );
    // The manager's requests meanwhile are not served.
    sim.b_to_a.loss = 0.0;
    sim.a_to_b.loss = 1.0;
    let now = sim.now;
    sim.b.request(now, "from the manager").unwrap();
    sim.run_for(SEC);
    assert!(sim.a.acted.is_empty());
}

#[test]
fn reserved_methods_are_refused() {
    let mut sim = connected(config());
    let now = sim.now;
    assert_eq!(
        sim.a
            .link()
            .request(now, "nodepair.revoke".into(), Bytes::new()),
        Err(RequestRefused::Reserved("nodepair.revoke".into()))
    );
}

#[test]
fn events_are_numbered_per_stream_and_only_sent_online() {
    let mut sim = sides(config());
    assert_eq!(
        sim.b.link().send_event("logs".into(), Bytes::new()),
        Err(EventRefused::NotOnline)
    );
    online(&mut sim);
    let seqs: Vec<u64> = ["logs", "logs", "host", "logs"]
        .into_iter()
        .map(|s| sim.b.link().send_event(s.into(), Bytes::new()).unwrap())
        .collect();
    assert_eq!(seqs, [1, 2, 1, 3]);
    sim.b.settle();
    sim.run_for(SEC);
    let got: Vec<(String, u64)> = sim
        .a
        .events
        .iter()
        .filter_map(|e| match e {
            LinkEvent::Event(e) => Some((e.stream.to_string(), e.seq)),
            _ => None,
        })
        .collect();
    assert_eq!(got.len(), 4);
    assert!(got.contains(&("host".into(), 1)) && got.contains(&("logs".into(), 3)));
}

#[test]
fn a_burst_of_announcements_is_paced_not_dropped_and_the_last_word_arrives() {
    let mut sim = sides(config());
    online(&mut sim);
    // A grant changed eight times in a row: more than the counterparty
    // takes at once (5, then 6 a minute).
    for n in 0..8 {
        let now = sim.now;
        sim.b
            .link()
            .announce(
                now,
                Some(format!("name-{n}")),
                Some(vec![format!("cap{n}")]),
            )
            .unwrap();
    }
    sim.b.settle();
    sim.run_for(120 * SEC);
    let names: Vec<String> = sim
        .a
        .events
        .iter()
        .filter_map(|e| match e {
            LinkEvent::Updated { display_name, .. } => display_name.clone(),
            _ => None,
        })
        .collect();
    assert!(
        !sim.a
            .events
            .iter()
            .any(|e| matches!(e, LinkEvent::UpdateRefused { .. })),
        "none dropped by the counterparty's limits"
    );
    assert_eq!(
        names.last().map(String::as_str),
        Some("name-7"),
        "{names:?}"
    );
    assert!(names.len() < 8, "the held ones were merged: {names:?}");
    let last_caps = sim.a.events.iter().rev().find_map(|e| match e {
        LinkEvent::Updated { capabilities, .. } => capabilities.clone(),
        _ => None,
    });
    assert_eq!(last_caps, Some(vec!["cap7".to_owned()]));
}

#[test]
fn an_announcement_reaches_the_counterparty_only_while_online() {
    let mut sim = sides(config());
    assert_eq!(
        sim.b
            .link()
            .announce(sim.now, None, Some(vec!["info".into()])),
        Err(EventRefused::NotOnline)
    );
    online(&mut sim);
    let now = sim.now;
    sim.b
        .link()
        .announce(
            now,
            Some("cellar".into()),
            Some(vec!["info".into(), "host".into()]),
        )
        .unwrap();
    sim.b.settle();
    sim.run_for(SEC);
    // An empty list is a list: "nothing but what needs no capability".
    let now = sim.now;
    sim.b.link().announce(now, None, Some(Vec::new())).unwrap();
    sim.b.settle();
    sim.run_for(SEC);
    let updates: Vec<(Option<String>, Option<Vec<String>>)> = sim
        .a
        .events
        .iter()
        .filter_map(|e| match e {
            LinkEvent::Updated {
                display_name,
                capabilities,
            } => Some((display_name.clone(), capabilities.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        updates,
        [
            (
                Some("cellar".into()),
                Some(vec!["info".into(), "host".into()])
            ),
            (None, Some(Vec::new())),
        ]
    );
    assert_eq!(sim.b.revoke(sim.now), Revoking::Sent);
    assert_eq!(
        sim.b.link().announce(sim.now, None, None),
        Err(EventRefused::NotPaired),
        "nothing but the revocation once revoking"
    );
}

#[test]
fn a_key_move_is_proved_answered_once_stored_and_asked_again_until_it_is() {
    let mut sim = connected(config());
    let new = StaticKeypair::from_secret([0x77; 32]);
    // The first announcement and its answer are lost on the way.
    sim.b_to_a.drop_next = 1;
    sim.b.link().move_to(sim.now, &new).unwrap();
    sim.b.settle();
    assert!(sim.b.link().is_moving());
    // Asked again once its request timeout (120 s here) has passed.
    sim.run_for(150 * SEC);
    let announced: Vec<_> = sim
        .a
        .events
        .iter()
        .filter_map(|e| match e {
            LinkEvent::MoveAnnounced { new_key, .. } => Some(*new_key),
            _ => None,
        })
        .collect();
    assert_eq!(
        announced,
        [new.public()],
        "asked again after the timeout, once acted on"
    );
    assert!(sim.b.events.contains(&LinkEvent::Moved));
    assert!(!sim.b.link().is_moving());
    // Requests still flow over the old keys' session meanwhile.
    let id = sim.a.request(sim.now, "after the move").unwrap();
    sim.run_for(SEC);
    assert!(sim.a.answers().iter().any(|(i, _)| *i == id));
}

#[test]
fn a_key_move_announced_while_the_counterparty_is_away_reaches_it_when_it_is_back() {
    let mut sim = connected(config());
    sim.a.link = None;
    sim.run_for(60 * SEC);
    let new = StaticKeypair::from_secret([0x78; 32]);
    sim.b.link().move_to(sim.now, &new).unwrap();
    sim.b.settle();
    sim.run_for(30 * SEC);
    assert!(!sim.b.events.contains(&LinkEvent::Moved));
    let now = sim.now;
    sim.a.start(now, false);
    sim.run_for(60 * SEC);
    assert!(
        sim.b.events.contains(&LinkEvent::Moved),
        "told once it was back"
    );
}

#[test]
fn a_manager_that_shuts_down_ends_waiting_requests_and_comes_back_online() {
    let mut sim = connected(config());
    sim.a_to_b.drop_next = 1;
    let now = sim.now;
    let id = sim.a.request(now, "unanswered").unwrap();
    sim.b.link().shutdown();
    sim.b.settle();
    sim.run_for(SEC);
    assert_eq!(sim.a.state(), Some(NodeState::PairedOffline));
    assert_eq!(sim.a.unanswered(), [(id, Unanswered::SessionClosed)]);
    assert!(matches!(
        sim.a.events.last(),
        Some(LinkEvent::PeerClosed { .. })
    ));
    let now = sim.now;
    sim.b.start(now, false);
    online(&mut sim);
    // Offline → Online shows as passing through Connecting.
    assert_eq!(
        sim.a.states(),
        [
            NodeState::Online,
            NodeState::PairedOffline,
            NodeState::Online
        ]
    );
}

#[test]
fn a_crashed_manager_goes_offline_and_back_online_when_it_restarts() {
    let mut sim = connected(config());
    sim.b.link = None;
    assert!(sim.run_until(120 * SEC, |s| s.a.state() == Some(NodeState::PairedOffline)));
    assert_eq!(sim.a.link().latency(), None);
    let now = sim.now;
    sim.b.start(now, false);
    online(&mut sim);
}

#[test]
fn requests_over_the_limit_are_answered_429_and_not_served() {
    let mut sim = connected(LinkConfig {
        limits: PeerLimits {
            requests_per_sec: 1.0,
            request_burst: 2.0,
            ..PeerLimits::default()
        },
        ..config()
    });
    let now = sim.now;
    let ids: Vec<RequestId> = (0..5)
        .map(|i| sim.a.request(now, &format!("burst{i}")).unwrap())
        .collect();
    sim.run_for(SEC / 2);
    assert_eq!(sim.b.acted.len(), 2, "a burst of two is served");
    let limited = sim
        .a
        .events
        .iter()
        .filter(
            |e| matches!(e, LinkEvent::Answered { status, .. } if *status == Status::RATE_LIMITED),
        )
        .count();
    assert_eq!(limited, 3);
    assert_eq!(sim.b.link().refused(), 3);
    assert_eq!(sim.a.answers().len(), ids.len());
}
