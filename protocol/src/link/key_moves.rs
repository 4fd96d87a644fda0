//! A link's side of key moves: announcing our new key and asking until answered, and checking and answering the counterparty's.

use super::events::EventRefused;
use super::outstanding::Asked;
use super::{Link, LinkEvent, Request};
use crate::frame::{Frame, Response};
use crate::identity::StaticKeypair;
use crate::key_move::ROTATE_METHOD;
use crate::status::Status;
use bytes::Bytes;
use std::time::Instant;

impl Link {
    /// Announces our new key `new` (docs/protocol.md §8, key moves): sent
    /// now if online, else once a session is up, and again after each
    /// timeout, until the counterparty answers: [`LinkEvent::Moved`] or
    /// [`LinkEvent::MoveRefused`]. The program has stored `new` first.
    pub fn move_to(&mut self, now: Instant, new: &StaticKeypair) -> Result<(), EventRefused> {
        if self.over || self.revoking {
            return Err(EventRefused::NotPaired);
        }
        let body = crate::key_move::announce(&self.own.public(), new, &self.peer())
            .ok_or(EventRefused::NotPaired)?;
        self.moving = Some(Bytes::from(body));
        if self.session.is_online() && !self.outstanding.key_move_in_flight() {
            self.send_key_move(now);
        }
        self.pump(now);
        Ok(())
    }

    /// Whether our key move waits for the counterparty's answer.
    pub fn is_moving(&self) -> bool {
        self.moving.is_some()
    }

    /// Answers the counterparty's key move ([`LinkEvent::MoveAnnounced`]),
    /// once its new key is stored.
    pub fn confirm_move(&mut self, id: u64) {
        self.answer_move(id, Status::OK, "");
    }

    /// Answers the counterparty's key move with a refusal for now (`why`:
    /// the new key could not be stored); it asks again later.
    pub fn defer_move(&mut self, id: u64, why: &str) {
        self.answer_move(id, Status::INTERNAL, why);
    }

    fn answer_move(&mut self, id: u64, status: Status, body: &str) {
        self.limits.request_done();
        let _ = self.session.send(Frame::Response(Response {
            id,
            status: u32::from(status.0),
            body: Bytes::from(body.to_owned()),
        }));
    }

    /// Sends our key move; whether it went out.
    pub(super) fn send_key_move(&mut self, now: Instant) -> bool {
        match self.moving.clone() {
            Some(body) => self.send_own(now, ROTATE_METHOD, body, Asked::KeyMove),
            None => false,
        }
    }

    /// The counterparty's announcement of its new key, admitted like any
    /// request: checked here, stored by the driver, then answered.
    pub(super) fn on_key_move(&mut self, now: Instant, request: Request) {
        match crate::key_move::check(&self.own, &self.peer(), &request.body) {
            Ok(new_key) => self.events.push_back(LinkEvent::MoveAnnounced {
                id: request.id,
                new_key,
            }),
            Err(why) => {
                self.answer_move(
                    request.id,
                    Status::BAD_REQUEST,
                    &format!("{why}; nothing was stored"),
                );
                if self.refusal_due(now) {
                    self.events.push_back(LinkEvent::MoveRefusedHere { why });
                }
            }
        }
    }
}
