//! An attacker's tools: protocol machines driven by hand over a Waku node of
//! the test's own, to say on the network what no NodePair program would.

use nodepair_protocol::frame::Frame;
use nodepair_protocol::pairing::{Pairing, PairingEvent};
use nodepair_protocol::session::{Session, SessionConfig, SessionEvent};
use nodepair_protocol::{PublicKey, StaticKeypair};
use nodepair_waku::{WakuMessage, WakuNode};
use std::time::{Duration, Instant};

/// Publishes `payload` on `topic`, retrying a moment while no peer takes it.
///
/// # Panics
///
/// When no peer takes it within 5 s.
pub async fn publish(node: &WakuNode, topic: &str, payload: Vec<u8>) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match node
            .publish(WakuMessage::new(topic.to_owned(), payload.clone()))
            .await
        {
            Ok(_) => return,
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("the attacker could not publish: {e}"),
        }
    }
}

/// A pairing driven by hand over `node`, as a NodePair side would but
/// under the attacker's identity, for `within` or until `done` holds. Its
/// person answers `answer` when asked to compare. Returns the machine and
/// every event it emitted.
pub async fn run_pairing(
    node: &WakuNode,
    mut pairing: Pairing,
    answer: bool,
    within: Duration,
    mut done: impl FnMut(&[PairingEvent]) -> bool,
) -> (Pairing, Vec<PairingEvent>) {
    let mut pairing_topic = node
        .subscribe(&pairing.pairing_topic())
        .await
        .expect("subscribed");
    let mut session_topic: Option<nodepair_waku::Subscription> = None;
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if session_topic.is_none()
            && let Some(topic) = pairing.session_topic()
        {
            session_topic = Some(node.subscribe(topic).await.expect("subscribed"));
        }
        while let Some(t) = pairing.poll_transmit() {
            publish(node, &t.content_topic, t.payload).await;
        }
        while let Some(event) = pairing.poll_event() {
            if matches!(event, PairingEvent::Compare(_)) {
                pairing.confirm(Instant::now(), answer);
            }
            events.push(event);
        }
        if pairing.poll_transmit().is_none() && done(&events) {
            return (pairing, events);
        }
        let wake = pairing
            .poll_timeout()
            .map(tokio::time::Instant::from_std)
            .unwrap_or(deadline)
            .min(deadline);
        tokio::select! {
            Some(m) = pairing_topic.next() => pairing.handle_message(Instant::now(), &m.message.payload),
            Some(m) = async {
                match session_topic.as_mut() {
                    Some(s) => s.next().await,
                    None => std::future::pending().await,
                }
            } => pairing.handle_message(Instant::now(), &m.message.payload),
            () = tokio::time::sleep_until(wake) => {
                if tokio::time::Instant::now() >= deadline {
                    return (pairing, events);
                }
                pairing.handle_timeout(Instant::now());
            }
        }
    }
}

/// The defaults, with handshakes stamped by this machine's clock.
pub fn session_config() -> SessionConfig {
    SessionConfig {
        wall_clock: Some(nodepair_protocol::session::WallClock {
            at: Instant::now(),
            unix_nanos: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
        }),
        ..SessionConfig::default()
    }
}

/// Publishes a first handshake message from `own` to `to` on `topic`:
/// what someone holding `own` (a retired key, say) would send.
pub async fn handshake_from(node: &WakuNode, own: &StaticKeypair, to: PublicKey, topic: &str) {
    let mut session = Session::new(session_config(), own.clone(), to, [9; 32]);
    session.connect(Instant::now());
    while let Some(payload) = session.poll_transmit() {
        publish(node, topic, payload).await;
    }
}

/// A session held by hand over `node`: a paired side's keys in the hands
/// of a program that sends whatever frames it likes.
#[allow(missing_debug_implementations)]
pub struct RawSession {
    node: WakuNode,
    topic: String,
    /// The protocol machine.
    pub session: Session,
    incoming: nodepair_waku::Subscription,
}

impl RawSession {
    /// Opens a session from `own` to `peer` (which must have `own` stored)
    /// and waits until it is up.
    ///
    /// # Panics
    ///
    /// When it is not up within a minute.
    pub async fn open(node: WakuNode, own: StaticKeypair, peer: PublicKey) -> RawSession {
        Self::try_open(node, own, peer, Duration::from_secs(60))
            .await
            .expect("the raw session did not come up")
    }

    /// [`RawSession::open`], giving up after `within`: `None` when `peer`
    /// never answered.
    pub async fn try_open(
        node: WakuNode,
        own: StaticKeypair,
        peer: PublicKey,
        within: Duration,
    ) -> Option<RawSession> {
        let topic = nodepair_protocol::session_content_topic(&own, &peer).expect("a usable key");
        let incoming = node.subscribe(&topic).await.expect("subscribed");
        // Not secret: the test's own keys.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let mut seed = [0u8; 32];
        seed[..16].copy_from_slice(&nanos.to_le_bytes());
        let mut session = Session::new(session_config(), own, peer, seed);
        session.connect(Instant::now());
        let mut raw = RawSession {
            node,
            topic,
            session,
            incoming,
        };
        let deadline = Instant::now() + within;
        while !raw.session.is_online() {
            if Instant::now() >= deadline {
                return None;
            }
            raw.pump(Duration::from_millis(100)).await;
        }
        Some(raw)
    }

    /// Sends a frame (queued until the keys are up).
    ///
    /// # Panics
    ///
    /// When the session refuses it (too large, closed).
    pub fn send(&mut self, frame: Frame) {
        self.session.send(frame).expect("the frame is sent");
    }

    /// Moves messages both ways and runs timers for `d`; returns what the
    /// session reported meanwhile.
    pub async fn pump(&mut self, d: Duration) -> Vec<SessionEvent> {
        let until = tokio::time::Instant::now() + d;
        let mut out = Vec::new();
        loop {
            while let Some(payload) = self.session.poll_transmit() {
                publish(&self.node, &self.topic, payload).await;
            }
            out.extend(std::iter::from_fn(|| self.session.poll_event()));
            let wake = self
                .session
                .poll_timeout()
                .map(tokio::time::Instant::from_std)
                .unwrap_or(until)
                .min(until);
            tokio::select! {
                Some(m) = self.incoming.next() => self.session.handle_message(Instant::now(), &m.message.payload),
                () = tokio::time::sleep_until(wake) => {
                    if tokio::time::Instant::now() >= until {
                        out.extend(std::iter::from_fn(|| self.session.poll_event()));
                        return out;
                    }
                    self.session.handle_timeout(Instant::now());
                }
            }
        }
    }
}
