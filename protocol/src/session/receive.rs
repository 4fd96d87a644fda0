//! What a session does with what it receives: the peer's handshakes, their answers, DATA and its frames.

use super::*;

impl Session {
    pub(super) fn handle_handshake_1(&mut self, now: Instant, bytes: &[u8]) {
        let Some(hs1) = handshake::parse_hs1(bytes) else {
            self.stats.malformed += 1;
            return;
        };
        if self.outgoing.as_ref().is_some_and(|o| o.sid == hs1.sid) {
            self.stats.echoes += 1;
            return;
        }
        let Some(macs) = self.macs.as_ref() else {
            self.stats.auth_failures += 1;
            return;
        };
        if !macs.made_by_peer(bytes) {
            // Forged, altered (a new sid on a recording), a stranger's, or
            // one of ours sent back: one HMAC, nothing more.
            self.stats.auth_failures += 1;
            return;
        }
        let (sid, timestamp) = (hs1.sid, hs1.timestamp);
        if self.initiates() {
            // The higher side never has its handshakes answered: this one
            // says it is up and wants keys (it restarted, lost ours, or
            // wants new ones). A new one starts ours; a repeat, or one
            // played back, at most sends ours again.
            if timestamp <= self.peer_floor {
                self.stats.stale += 1;
                self.send_ours_early(now, false);
                return;
            }
            if self.current.as_ref().is_some_and(|c| {
                now.saturating_duration_since(c.transport.established_at) < WAKE_UP_QUIET
            }) {
                // Keys came up a moment ago: this crossed them (both rekey
                // timers fired together). Not taken; if it was meant, its
                // next copy comes after the quiet and still counts.
                self.stats.replays += 1;
                return;
            }
            self.peer_floor = timestamp;
            self.stats.wake_ups += 1;
            if self.outgoing.is_some() {
                // A new wake-up, made by the peer: it listens now and had
                // not heard ours when it wrote this. Ours may have gone out
                // before it listened (right after pairing, a light node
                // subscribes a round trip after it learns the topic), so
                // send it again even if it just went.
                self.send_ours_early(now, true);
            } else {
                self.connect(now);
            }
            return;
        }
        if let Some(answer) = self.answers.iter_mut().find(|a| a.transport.sid == sid) {
            // The initiator did not get our answer, or a copy came late:
            // send the same answer again, at most once a second.
            if now.saturating_duration_since(answer.sent_at) >= RESEND_AT_MOST_EVERY {
                answer.sent_at = now;
                self.transmit.push_back(answer.message.clone());
            } else {
                self.stats.replays += 1;
            }
            return;
        }
        if timestamp <= self.peer_floor {
            // Not newer than one already answered: played back, or the
            // peer restarted with its clock set back. With keys up it is
            // refused; with none, it is answered (at most once a second),
            // so a peer whose clock went back still gets through.
            let recently = self
                .stale_answered_at
                .is_some_and(|at| now.saturating_duration_since(at) < RESEND_AT_MOST_EVERY);
            if self.current.is_some() || recently {
                self.stats.stale += 1;
                return;
            }
            self.stale_answered_at = Some(now);
        }
        let mut ephemeral = [0u8; 32];
        self.rng.fill_bytes(&mut ephemeral);
        let prologue = noise::prologue(&sid, timestamp);
        let Ok(mut noise) = noise::handshake(&self.own, &self.peer, ephemeral, false, &prologue)
        else {
            self.stats.auth_failures += 1;
            return;
        };
        let mut payload = [0u8; 64];
        if noise.read_message(hs1.noise, &mut payload).is_err() {
            self.stats.auth_failures += 1;
            return;
        }
        let mut buf = [0u8; 128];
        let Ok(n) = noise.write_message(&[], &mut buf) else {
            self.stats.auth_failures += 1;
            return;
        };
        let Some(macs) = self.macs.as_ref() else {
            return;
        };
        let message = handshake::hs2(macs, &sid, &buf[..n]);
        self.peer_floor = self.peer_floor.max(timestamp);
        let digest = handshake_digest(noise.get_handshake_hash());
        if self.answers.len() == MAX_ANSWERS {
            self.answers.remove(0);
        }
        self.transmit.push_back(message.clone());
        self.answers.push(Answered {
            message,
            // Its age counts from the initiator's first DATA, set then.
            transport: Transport::from_handshake(sid, noise, digest, now),
            timestamp,
            sent_at: now,
            expires_at: now + self.config.answer_lifetime,
        });
    }

    /// Sends our handshake again now, outside its schedule, if it was not
    /// sent early within the last second and (unless `even_if_just_sent`)
    /// has been out a while: the peer is there, and ours may have gone out
    /// while it was not.
    pub(super) fn send_ours_early(&mut self, now: Instant, even_if_just_sent: bool) {
        let Some(o) = self.outgoing.as_mut() else {
            return;
        };
        let recent = o
            .sent_early_at
            .is_some_and(|at| now.saturating_duration_since(at) < RESEND_AT_MOST_EVERY);
        let just_sent = now.saturating_duration_since(o.sent_at) < EARLY_RESEND_AFTER;
        if recent || (just_sent && !even_if_just_sent) {
            return;
        }
        // An extra copy: the schedule of re-sends (and its back-off) stays.
        self.transmit.push_back(o.message.clone());
        o.sent_at = now;
        o.sent_early_at = Some(now);
    }

    pub(super) fn handle_handshake_2(&mut self, now: Instant, bytes: &[u8]) {
        let Some(hs2) = handshake::parse_hs2(bytes) else {
            self.stats.malformed += 1;
            return;
        };
        if self.answers.iter().any(|a| a.transport.sid == hs2.sid) {
            self.stats.echoes += 1;
            return;
        }
        // Only the lower side's handshakes are answered; the higher side's
        // outgoing is a wake-up.
        if !self.initiates() || self.outgoing.as_ref().is_none_or(|o| o.sid != hs2.sid) {
            // An answer to no handshake of ours (late, duplicated or forged).
            self.stats.replays += 1;
            return;
        }
        if !self.macs.as_ref().is_some_and(|m| m.made_by_peer(bytes)) {
            self.stats.auth_failures += 1;
            return;
        }
        let mut payload = [0u8; 64];
        let outgoing = self.outgoing.as_mut().expect("checked above");
        if outgoing
            .noise
            .read_message(hs2.noise, &mut payload)
            .is_err()
        {
            self.stats.auth_failures += 1;
            return;
        }
        let outgoing = self.outgoing.take().expect("checked above");
        let digest = handshake_digest(outgoing.noise.get_handshake_hash());
        let transport = Transport::from_handshake(hs2.sid, outgoing.noise, digest, now);
        if self.confirm(now, transport, outgoing.timestamp) {
            // The first DATA confirms the keys to the responder, and
            // measures the round trip.
            self.send_ping(now);
        }
    }

    pub(super) fn handle_data(&mut self, now: Instant, sid: [u8; SID_LEN], body: &[u8]) {
        if body.len() < 8 + TAG_LEN {
            self.stats.malformed += 1;
            return;
        }
        let nonce = u64::from_be_bytes(body[..8].try_into().expect("8 bytes"));
        let sealed = &body[8..];
        let mut answered = None;
        let transport = if let Some(c) = self.current.as_mut().filter(|c| c.transport.sid == sid) {
            &mut c.transport
        } else if let Some(i) = self.answers.iter().position(|a| a.transport.sid == sid) {
            answered = Some(i);
            &mut self.answers[i].transport
        } else if let Some((t, _)) = self.receive_only.iter_mut().find(|(t, _)| t.sid == sid) {
            t
        } else {
            self.stats.unknown_keys += 1;
            return;
        };
        let plain = match transport.open(nonce, sealed, &mut self.recv_buf) {
            Ok(plain) => plain,
            Err(OpenFailure::Replay) => {
                self.stats.replays += 1;
                return;
            }
            Err(OpenFailure::Auth) => {
                self.stats.auth_failures += 1;
                return;
            }
        };
        self.heard_from_peer = true;
        if let Some(i) = answered {
            // The initiator uses the keys we answered with: confirmed. It
            // sends its first DATA (a ping) as soon as our answer arrives,
            // so the time since we last sent that answer is a round trip:
            // the responder knows it at once, not a keepalive later.
            let answer = self.answers.remove(i);
            let round_trip = now.saturating_duration_since(answer.sent_at);
            if self.confirm(now, answer.transport, answer.timestamp) {
                self.events.push_back(SessionEvent::RoundTrip(round_trip));
            }
        }
        let under_current = self
            .current
            .as_ref()
            .is_some_and(|c| c.transport.sid == sid);
        match Frame::decode_bytes(plain) {
            Ok(frame) => self.handle_frame(now, frame, under_current),
            Err(_) => self.stats.bad_frames += 1,
        }
    }

    /// A handshake was confirmed: its keys are installed if it is newer (by
    /// its timestamp, the lower side's clock, which both sides read the
    /// same) than the one in use, else kept to read late messages. Returns
    /// whether they were installed.
    pub(super) fn confirm(
        &mut self,
        now: Instant,
        mut transport: Transport,
        timestamp: u64,
    ) -> bool {
        transport.established_at = now;
        let newer = self
            .current
            .as_ref()
            .is_none_or(|c| timestamp > c.timestamp);
        if !newer {
            self.keep_receive_only(transport, now);
            return false;
        }
        self.stats.handshakes += 1;
        let handshake = transport.handshake.clone();
        if let Some(old) = self.current.replace(Current {
            transport,
            timestamp,
        }) {
            self.keep_receive_only(old.transport, now);
        }
        // Keys are up: the handshake (or wake-up) we had out is done.
        self.outgoing = None;
        self.awaiting_pong = None;
        self.schedule_ping(now);
        if self.ever_established {
            self.events.push_back(SessionEvent::Rekeyed);
        } else {
            self.ever_established = true;
            self.events
                .push_back(SessionEvent::Established { handshake });
        }
        while let Some(frame) = self.queued.pop_front() {
            let len = frame.len();
            self.seal_encodable(&frame, len);
        }
        true
    }

    pub(super) fn keep_receive_only(&mut self, transport: Transport, now: Instant) {
        if self.receive_only.len() == MAX_RECEIVE_ONLY {
            self.receive_only.remove(0);
        }
        self.receive_only
            .push((transport, now + self.config.old_keys_grace));
    }

    /// Acts on a frame that authenticated; `under_current`: with the keys
    /// in use (not old ones kept for late messages).
    pub(super) fn handle_frame(&mut self, now: Instant, frame: Frame, under_current: bool) {
        match frame {
            Frame::Ping { id } => {
                self.seal(Frame::Pong { id });
                self.events.push_back(SessionEvent::Pinged);
                if under_current {
                    self.heard(now);
                }
            }
            Frame::Pong { id } => {
                if let Some((want, sent_at)) = self.awaiting_pong
                    && want == id
                {
                    self.awaiting_pong = None;
                    self.events.push_back(SessionEvent::RoundTrip(
                        now.saturating_duration_since(sent_at),
                    ));
                }
            }
            Frame::Disconnect { reason, detail } => {
                self.shut();
                self.events
                    .push_back(SessionEvent::Closed { reason, detail });
            }
            other => self.events.push_back(SessionEvent::Frame(other)),
        }
    }
}
