//! What a pairing does with what it receives: the commitment, HELLOs, aborts, and the first session's messages.

use super::*;

impl Pairing {
    pub(super) fn handle_session(&mut self, now: Instant, bytes: &[u8]) {
        if !self.is_under_way() || self.session.is_none() {
            return;
        }
        if !self.confirmed {
            // Nothing of the session happens before our person confirmed;
            // keep the other side's handshakes (checked, one HMAC) for then.
            if !self
                .session
                .as_ref()
                .is_some_and(|s| s.authentic_handshake(bytes))
            {
                self.stats.refused += 1;
                return;
            }
            if self.held.len() == HELD_MESSAGES {
                self.held.pop_front();
            }
            self.held.push_back(bytes.to_vec());
            return;
        }
        if let Some(session) = self.session.as_mut() {
            session.handle_message(now, bytes);
        }
        self.drive_session(now);
    }

    pub(super) fn handle_commit(&mut self, now: Instant, bytes: &[u8]) {
        let commitment = match Commitment::open(bytes, &self.keys) {
            Ok(c) => c,
            Err(_) => {
                self.stats.refused += 1;
                return;
            }
        };
        if self.role == Role::Manager {
            // Not ours (ours are echoes): another manager holds the code.
            self.leaked();
            return;
        }
        match self.commitment {
            Some(accepted) if accepted == commitment => {
                self.stats.duplicates += 1;
                // The manager has not heard our answer yet.
                if self.is_under_way() && self.peer.is_none() {
                    self.answer_repeat(now);
                }
            }
            Some(_) => self.leaked(),
            None if !self.is_under_way() => {}
            None => {
                let hello = self.make_hello(Some(commitment));
                self.commitment = Some(commitment);
                let sealed = hello.sealed.clone();
                self.hello = Some(hello);
                self.publish(sealed);
                self.retry = Some((now + self.config.retry_initial, self.config.retry_initial));
                self.watch_until = Some(now + self.config.leak_watch);
                self.step = PairingStep::Answered;
                self.events
                    .push_back(PairingEvent::Progress(PairingStep::Answered));
            }
        }
    }

    pub(super) fn handle_hello(&mut self, now: Instant, bytes: &[u8]) {
        let opened = match Hello::open(bytes, &self.keys) {
            Ok(opened) => opened,
            Err(_) => {
                self.stats.refused += 1;
                return;
            }
        };
        if opened.hello.role == self.role {
            // A HELLO of our own kind that we did not send: another app
            // (or manager) holds the code.
            self.leaked();
            return;
        }
        if let Some(peer) = &self.peer {
            if peer.body == opened.body {
                self.stats.duplicates += 1;
                // The app has not heard our HELLO yet.
                if self.role == Role::Manager && self.is_under_way() {
                    self.answer_repeat(now);
                }
            } else {
                self.leaked();
            }
            return;
        }
        match self.role {
            Role::App => {
                // The manager's reveal: it must be what it committed to.
                let Some(accepted) = self.commitment else {
                    self.leaked();
                    return;
                };
                if Commitment::to(&self.keys.topic, &opened.body) != accepted {
                    self.leaked();
                    return;
                }
            }
            Role::Manager => {
                // The app's answer: to our commitment, or someone else's.
                if opened.hello.answers != self.commitment.map(|c| c.0) {
                    self.leaked();
                    return;
                }
            }
        }
        if !self.is_under_way() {
            return;
        }
        self.accept(now, opened);
    }

    /// Both HELLOs are known: make the session (not started), show the
    /// string, and ask.
    pub(super) fn accept(&mut self, now: Instant, opened: OpenedHello) {
        let Some(topic) = session_content_topic(&self.own.keypair, &opened.hello.static_key) else {
            // A low-order key can never hold a session.
            self.stats.refused += 1;
            return;
        };
        let Some(own_body) = self.hello.as_ref().map(|h| h.body.clone()) else {
            return;
        };
        let verification = match self.role {
            Role::Manager => verification_string(&self.keys.topic, &own_body, &opened.body),
            Role::App => verification_string(&self.keys.topic, &opened.body, &own_body),
        };
        let mut seed = [0u8; 32];
        self.rng.fill_bytes(&mut seed);
        let mut session_config = self.config.session.clone();
        session_config.keepalive = Keepalive::for_role(self.role);
        let session = Session::new(
            session_config,
            self.own.keypair.clone(),
            opened.hello.static_key,
            seed,
        );
        let counterparty = Counterparty::from_hello(&opened.hello);
        if self.role == Role::Manager {
            // The reveal: the app checks it against the commitment.
            self.resend_hello();
            self.watch_until = Some(now + self.config.leak_watch);
        }
        self.retry = None;
        self.peer = Some(opened);
        self.session = Some(session);
        self.session_topic = Some(topic);
        self.verification = Some(verification.clone());
        self.step = PairingStep::Comparing;
        self.events
            .push_back(PairingEvent::Compare(Box::new(Comparison {
                counterparty,
                verification,
            })));
    }

    pub(super) fn handle_abort(&mut self, bytes: &[u8]) {
        match sealed::open(bytes, &self.keys) {
            Ok(body) => {
                let reason = AbortBody::decode(body.as_slice())
                    .map(|b| AbortReason::from_wire(b.reason))
                    .unwrap_or(AbortReason::Unknown);
                if self.step == PairingStep::Paired {
                    // The other side took its half back, or someone else
                    // with the code is about: either way, this one goes.
                    self.watch_until = None;
                    self.events
                        .push_back(PairingEvent::Withdrawn(PairingError::AbortedByPeer(reason)));
                } else {
                    self.fail(PairingError::AbortedByPeer(reason), None);
                }
            }
            // Not sealed from this code: anyone may publish on the topic.
            Err(_) => self.stats.refused += 1,
        }
    }

    /// Moves the session's output to ours, and finishes on establishment.
    pub(super) fn drive_session(&mut self, now: Instant) {
        let Some(session) = self.session.as_mut() else {
            return;
        };
        let topic = self.session_topic.clone().unwrap_or_default();
        while let Some(payload) = session.poll_transmit() {
            self.transmit.push_back(Transmit {
                content_topic: topic.clone(),
                payload,
            });
        }
        // Frames before pairing completes cannot be for the application.
        while session.poll_event().is_some() {}
        // The manager pairs first, when its session is established; the
        // app only once it heard from the manager under the new keys,
        // which the manager sends only after it stored the pairing.
        let done = session.is_online()
            && match self.role {
                Role::Manager => true,
                Role::App => session.heard_from_peer(),
            };
        if !done || !self.confirmed {
            return;
        }
        let session = self.session.take().expect("checked above");
        let peer = self.peer.as_ref().expect("a session implies a HELLO");
        let counterparty = Counterparty::from_hello(&peer.hello);
        let verification = self.verification.clone().unwrap_or_default();
        self.step = PairingStep::Paired;
        self.retry = None;
        if self.watch_until.is_some_and(|until| until <= now) {
            self.watch_until = None;
        }
        self.events.push_back(PairingEvent::Paired(Box::new(Paired {
            counterparty,
            verification,
            session,
            session_topic: topic,
        })));
    }
}
