//! A deterministic network for protocol tests: two endpoints, a lossy link
//! each way with latency, jitter (reordering), loss and duplication knobs,
//! and virtual time. Nothing sleeps; everything is seeded.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use nodepair_protocol::pairing::{Comparison, Paired, Pairing, PairingEvent};
use nodepair_protocol::session::{Session, SessionEvent};
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use std::time::{Duration, Instant};

/// One direction of the network.
pub struct Link {
    /// In flight: when it arrives, a sequence number for stable order, bytes.
    queue: Vec<(Instant, u64, Vec<u8>)>,
    seq: u64,
    /// Base delay of every message.
    pub latency: Duration,
    /// Extra random delay up to this, so messages overtake each other.
    pub jitter: Duration,
    /// Share of messages lost, 0.0..=1.0.
    pub loss: f64,
    /// Share of messages delivered twice.
    pub duplicate: f64,
    /// The next this-many messages are lost, whatever `loss` says.
    pub drop_next: usize,
    /// Every message ever sent, in order, for replay attacks.
    pub sent: Vec<Vec<u8>>,
    rng: ChaCha20Rng,
}

impl Link {
    pub fn new(seed: u8) -> Self {
        Link {
            queue: Vec::new(),
            seq: 0,
            latency: Duration::from_millis(20),
            jitter: Duration::ZERO,
            loss: 0.0,
            duplicate: 0.0,
            drop_next: 0,
            sent: Vec::new(),
            rng: ChaCha20Rng::from_seed([seed; 32]),
        }
    }

    fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && (self.rng.next_u32() as f64 / u32::MAX as f64) < p
    }

    pub fn send(&mut self, now: Instant, bytes: Vec<u8>) {
        self.sent.push(bytes.clone());
        if self.drop_next > 0 {
            self.drop_next -= 1;
            return;
        }
        if self.chance(self.loss) {
            return;
        }
        let copies = if self.chance(self.duplicate) { 2 } else { 1 };
        for _ in 0..copies {
            let jitter = if self.jitter.is_zero() {
                Duration::ZERO
            } else {
                self.jitter
                    .mul_f64(self.rng.next_u32() as f64 / u32::MAX as f64)
            };
            self.seq += 1;
            self.queue
                .push((now + self.latency + jitter, self.seq, bytes.clone()));
        }
    }

    /// Puts bytes on the wire as an attacker would: no loss, no log.
    pub fn inject(&mut self, now: Instant, bytes: Vec<u8>) {
        self.seq += 1;
        self.queue.push((now + self.latency, self.seq, bytes));
    }

    fn due(&mut self, now: Instant) -> Vec<Vec<u8>> {
        self.queue.sort_by_key(|(at, seq, _)| (*at, *seq));
        let n = self
            .queue
            .iter()
            .take_while(|(at, _, _)| *at <= now)
            .count();
        self.queue.drain(..n).map(|(_, _, b)| b).collect()
    }

    fn next_at(&self) -> Option<Instant> {
        self.queue.iter().map(|(at, _, _)| *at).min()
    }
}

/// What the simulation needs of a protocol machine.
pub trait Endpoint {
    fn handle_message(&mut self, now: Instant, bytes: &[u8]);
    fn handle_timeout(&mut self, now: Instant);
    fn poll_transmit(&mut self) -> Option<Vec<u8>>;
    fn poll_timeout(&self) -> Option<Instant>;
}

impl Endpoint for Session {
    fn handle_message(&mut self, now: Instant, bytes: &[u8]) {
        Session::handle_message(self, now, bytes)
    }
    fn handle_timeout(&mut self, now: Instant) {
        Session::handle_timeout(self, now)
    }
    fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        Session::poll_transmit(self)
    }
    fn poll_timeout(&self) -> Option<Instant> {
        Session::poll_timeout(self)
    }
}

/// A pairing plus the events it emitted, so tests can look at them after.
/// Once paired, it keeps driving the session, as a real driver does.
pub struct PairingEnd {
    pub pairing: Pairing,
    /// Every event but `Paired`, in order.
    pub events: Vec<PairingEvent>,
    /// What this side's person was asked to compare.
    pub compared: Option<Comparison>,
    /// How this side's person answers, as soon as asked; `None`: the test
    /// answers by calling `pairing.confirm`.
    pub answer: Option<bool>,
    /// The outcome, once paired; its session keeps running here.
    pub paired: Option<Box<Paired>>,
    /// Topics the pairing published to, in order (pairing topic, session topic).
    pub topics: Vec<String>,
    /// How long after learning the session topic this side starts hearing
    /// it (a light node's filter subscription takes a round trip to its
    /// service node); what comes on it before is lost. Zero by default.
    pub listen_delay: Duration,
    /// When this side learned the session topic.
    topic_known_at: Option<Instant>,
    /// The time of the latest call, for answering when asked.
    now: Option<Instant>,
}

impl PairingEnd {
    /// A side whose person confirms at once (as `--yes` does).
    pub fn new(pairing: Pairing) -> Self {
        PairingEnd {
            pairing,
            events: Vec::new(),
            compared: None,
            answer: Some(true),
            paired: None,
            topics: Vec::new(),
            listen_delay: Duration::ZERO,
            topic_known_at: None,
            now: None,
        }
    }

    /// A side whose person has not answered yet; the test answers.
    pub fn asking(pairing: Pairing) -> Self {
        PairingEnd {
            answer: None,
            ..PairingEnd::new(pairing)
        }
    }

    /// Feeds one message straight in, as if it arrived now.
    pub fn handle_message_for_test(&mut self, now: Instant, bytes: &[u8]) {
        Endpoint::handle_message(self, now, bytes);
    }

    /// This side's person answers the comparison now.
    pub fn confirm(&mut self, now: Instant, matches: bool) {
        self.now = Some(now);
        self.pairing.confirm(now, matches);
        self.collect();
    }

    /// Picks up events after calling the pairing directly.
    pub fn collect_for_test(&mut self) {
        self.collect();
    }

    fn collect(&mut self) {
        while let Some(e) = self.pairing.poll_event() {
            match e {
                PairingEvent::Paired(p) => self.paired = Some(p),
                PairingEvent::Compare(c) => {
                    self.compared = Some((*c).clone());
                    self.events.push(PairingEvent::Compare(c));
                    if let (Some(answer), Some(now)) = (self.answer, self.now) {
                        self.pairing.confirm(now, answer);
                    }
                }
                other => self.events.push(other),
            }
        }
    }

    fn note_topic(&mut self, topic: &str) {
        if self.topics.last().map(String::as_str) != Some(topic) {
            self.topics.push(topic.to_owned());
        }
    }
}

impl Endpoint for PairingEnd {
    fn handle_message(&mut self, now: Instant, bytes: &[u8]) {
        self.now = Some(now);
        // Once paired the session has its topic; the pairing still watches
        // the pairing topic for a while.
        let for_session = matches!(
            nodepair_protocol::wire::kind(bytes),
            Ok(nodepair_protocol::wire::Kind::Session(_))
        );
        let listening = self
            .topic_known_at
            .is_some_and(|at| now >= at + self.listen_delay);
        if for_session && !listening {
            return;
        }
        match self.paired.as_mut() {
            Some(p) if for_session => p.session.handle_message(now, bytes),
            _ => self.pairing.handle_message(now, bytes),
        }
        self.collect();
        if self.topic_known_at.is_none() && self.pairing.session_topic().is_some() {
            self.topic_known_at = Some(now);
        }
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.now = Some(now);
        if let Some(p) = self.paired.as_mut()
            && p.session.poll_timeout().is_some_and(|t| t <= now)
        {
            p.session.handle_timeout(now);
        }
        if self.pairing.poll_timeout().is_some_and(|t| t <= now) {
            self.pairing.handle_timeout(now);
        }
        self.collect();
    }
    fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        if let Some(t) = self.pairing.poll_transmit() {
            self.note_topic(&t.content_topic);
            return Some(t.payload);
        }
        let p = self.paired.as_mut()?;
        let payload = p.session.poll_transmit()?;
        let topic = p.session_topic.clone();
        self.note_topic(&topic);
        Some(payload)
    }
    fn poll_timeout(&self) -> Option<Instant> {
        let session = self.paired.as_ref().and_then(|p| p.session.poll_timeout());
        [session, self.pairing.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
    }
}

/// Two endpoints joined by two links, on virtual time.
pub struct Sim<A, B> {
    pub now: Instant,
    pub a: A,
    pub b: B,
    pub a_to_b: Link,
    pub b_to_a: Link,
}

impl<A: Endpoint, B: Endpoint> Sim<A, B> {
    pub fn new(now: Instant, a: A, b: B) -> Self {
        Sim {
            now,
            a,
            b,
            a_to_b: Link::new(1),
            b_to_a: Link::new(2),
        }
    }

    /// Moves what both sides want to send onto the links.
    pub fn flush(&mut self) {
        while let Some(m) = self.a.poll_transmit() {
            self.a_to_b.send(self.now, m);
        }
        while let Some(m) = self.b.poll_transmit() {
            self.b_to_a.send(self.now, m);
        }
    }

    /// Advances to the next thing that happens, no further than `limit`.
    /// Returns false when nothing is left before `limit`.
    pub fn step(&mut self, limit: Instant) -> bool {
        self.flush();
        let next = [
            self.a.poll_timeout(),
            self.b.poll_timeout(),
            self.a_to_b.next_at(),
            self.b_to_a.next_at(),
        ]
        .into_iter()
        .flatten()
        .min();
        let Some(next) = next.filter(|t| *t <= limit) else {
            self.now = self.now.max(limit);
            return false;
        };
        self.now = self.now.max(next);
        for m in self.a_to_b.due(self.now) {
            self.b.handle_message(self.now, &m);
        }
        for m in self.b_to_a.due(self.now) {
            self.a.handle_message(self.now, &m);
        }
        if self.a.poll_timeout().is_some_and(|t| t <= self.now) {
            self.a.handle_timeout(self.now);
        }
        if self.b.poll_timeout().is_some_and(|t| t <= self.now) {
            self.b.handle_timeout(self.now);
        }
        self.flush();
        true
    }

    /// Runs for `d` of virtual time.
    pub fn run_for(&mut self, d: Duration) {
        let limit = self.now + d;
        while self.step(limit) {}
    }

    /// Runs until `done` holds, at most `max` of virtual time; says whether it held.
    pub fn run_until(&mut self, max: Duration, mut done: impl FnMut(&mut Self) -> bool) -> bool {
        let limit = self.now + max;
        loop {
            if done(self) {
                return true;
            }
            if !self.step(limit) {
                return done(self);
            }
        }
    }
}

/// Drains a session's events.
pub fn events(s: &mut Session) -> Vec<SessionEvent> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

/// A shared topic: every end hears what the others publish (unless the
/// test cuts a pair apart), after `latency`, on virtual time. For scenes
/// with more than two parties: a leaked code, a man in the middle.
pub struct Bus {
    pub now: Instant,
    pub ends: Vec<PairingEnd>,
    /// `hears[from][to]`: whether `to` hears what `from` publishes.
    pub hears: Vec<Vec<bool>>,
    pub latency: Duration,
    /// In flight: arrival, order, recipient, bytes.
    queue: Vec<(Instant, u64, usize, Vec<u8>)>,
    seq: u64,
    /// Every message published, with its sender, for recordings.
    pub log: Vec<(usize, Vec<u8>)>,
}

impl Bus {
    pub fn new(now: Instant) -> Self {
        Bus {
            now,
            ends: Vec::new(),
            hears: Vec::new(),
            latency: Duration::from_millis(20),
            queue: Vec::new(),
            seq: 0,
            log: Vec::new(),
        }
    }

    /// Adds an end that hears everyone and is heard by everyone; returns
    /// its index.
    pub fn join(&mut self, end: PairingEnd) -> usize {
        let n = self.ends.len();
        for row in &mut self.hears {
            row.push(true);
        }
        self.hears.push(vec![true; n + 1]);
        self.ends.push(end);
        n
    }

    /// From now on `a` and `b` do not hear each other.
    pub fn cut(&mut self, a: usize, b: usize) {
        self.hears[a][b] = false;
        self.hears[b][a] = false;
    }

    /// Delivers `bytes` to `to` as if just published by someone.
    pub fn inject(&mut self, to: usize, bytes: Vec<u8>) {
        self.seq += 1;
        self.queue
            .push((self.now + self.latency, self.seq, to, bytes));
    }

    fn flush(&mut self) {
        for from in 0..self.ends.len() {
            while let Some(m) = self.ends[from].poll_transmit() {
                self.log.push((from, m.clone()));
                for to in 0..self.ends.len() {
                    if to != from && self.hears[from][to] {
                        self.seq += 1;
                        self.queue
                            .push((self.now + self.latency, self.seq, to, m.clone()));
                    }
                }
            }
        }
    }

    fn step(&mut self, limit: Instant) -> bool {
        self.flush();
        let next = self
            .ends
            .iter()
            .filter_map(|e| e.poll_timeout())
            .chain(self.queue.iter().map(|(at, _, _, _)| *at))
            .min();
        let Some(next) = next.filter(|t| *t <= limit) else {
            self.now = self.now.max(limit);
            return false;
        };
        self.now = self.now.max(next);
        self.queue.sort_by_key(|(at, seq, _, _)| (*at, *seq));
        let due = self
            .queue
            .iter()
            .take_while(|(at, _, _, _)| *at <= self.now)
            .count();
        for (_, _, to, m) in self.queue.drain(..due).collect::<Vec<_>>() {
            self.ends[to].handle_message(self.now, &m);
        }
        for end in &mut self.ends {
            if end.poll_timeout().is_some_and(|t| t <= self.now) {
                end.handle_timeout(self.now);
            }
        }
        self.flush();
        true
    }

    /// Runs for `d` of virtual time.
    pub fn run_for(&mut self, d: Duration) {
        let limit = self.now + d;
        while self.step(limit) {}
    }
}
