//! Light push and filter events, each handed to the side it concerns:
//! serving light nodes (`light_service`) or being one (`light_client`).

use super::*;

impl Driver {
    /// The light push behaviour for `version`.
    pub(super) fn lightpush(
        &mut self,
        version: lightpush::Version,
    ) -> &mut request_response::Behaviour<lightpush::Codec> {
        let behaviour = self.swarm.behaviour_mut();
        match version {
            lightpush::Version::V3 => &mut behaviour.lightpush,
            lightpush::Version::V2 => &mut behaviour.lightpush_v2,
        }
    }

    pub(super) fn handle_lightpush(
        &mut self,
        version: lightpush::Version,
        event: request_response::Event<PushRequest, PushResponse>,
    ) {
        match event {
            request_response::Event::Message {
                peer,
                message:
                    RrMessage::Request {
                        request, channel, ..
                    },
                ..
            } => {
                let response = self.serve_lightpush(peer, request);
                let _ = self.lightpush(version).send_response(channel, response);
            }
            request_response::Event::Message {
                peer,
                message:
                    RrMessage::Response {
                        request_id,
                        response,
                    },
                ..
            } => self.lightpush_answered(peer, version, request_id, response),
            request_response::Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => self.lightpush_failed(peer, version, request_id, &error),
            request_response::Event::InboundFailure { peer, error, .. } => {
                tracing::info!(%peer, %error, "a light push request was not readable");
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }

    pub(super) fn handle_filter_subscribe(
        &mut self,
        event: request_response::Event<SubscribeRequest, SubscribeResponse>,
    ) {
        match event {
            request_response::Event::Message {
                peer,
                message:
                    RrMessage::Request {
                        request, channel, ..
                    },
                ..
            } => self.serve_filter_subscribe(peer, request, channel),
            request_response::Event::Message {
                peer,
                message:
                    RrMessage::Response {
                        request_id,
                        response,
                    },
                ..
            } => self.filter_answered(peer, request_id, response),
            request_response::Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => self.filter_request_failed(peer, request_id, &error),
            request_response::Event::InboundFailure { peer, error, .. } => {
                tracing::info!(%peer, %error, "a filter subscribe request was not readable");
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }

    pub(super) fn handle_filter_push(&mut self, event: request_response::Event<MessagePush, ()>) {
        match event {
            request_response::Event::Message {
                peer,
                message:
                    RrMessage::Request {
                        request, channel, ..
                    },
                ..
            } => {
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .filter_push
                    .send_response(channel, ());
                self.receive_push(peer, request);
            }
            request_response::Event::OutboundFailure { peer, error, .. } => {
                self.filter_push_failed(peer, error);
            }
            request_response::Event::Message {
                peer,
                message: RrMessage::Response { .. },
                ..
            } => self.service.filter.subscribers.push_delivered(&peer),
            request_response::Event::InboundFailure { peer, error, .. } => {
                tracing::info!(%peer, %error, "a filter push was not readable");
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }

    /// Timers of the node's light role: a light node's pings and failover,
    /// a relay node's expiry of subscribers.
    pub(super) fn light_tick(&mut self) {
        match self.mode {
            Mode::Light => self.client_tick(),
            Mode::Relay => self.service_tick(),
        }
    }
}
