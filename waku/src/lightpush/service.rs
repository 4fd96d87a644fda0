//! The light push service: what a relay node answers a light node's push, given how relaying it went.

use super::{PushResponse, PushStatus};

/// How relaying a pushed message went, as the service tells it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Relaying {
    /// Relayed, reaching this many peers.
    Done {
        /// Mesh peers (or peers reached).
        peers: usize,
    },
    /// This node does not relay the pubsub topic.
    NotOurTopic(String),
    /// No relay peer for the topic.
    NoPeers(String),
    /// The message breaks relay's rules; `too_large` when that is its size.
    Invalid {
        /// Why.
        why: String,
        /// Whether it is over the size limit.
        too_large: bool,
    },
    /// Anything else.
    Failed(String),
}

/// The answer to the push `request_id`, relayed as `relaying` says.
pub fn answer(request_id: String, relaying: Relaying) -> PushResponse {
    let id = &request_id;
    match relaying {
        Relaying::Done { peers } => PushResponse {
            request_id,
            status: PushStatus::SUCCESS,
            description: None,
            relay_peer_count: Some(u32::try_from(peers).unwrap_or(u32::MAX)),
        },
        Relaying::NotOurTopic(topic) => PushResponse::failure(
            id,
            PushStatus::UNSUPPORTED_PUBSUB_TOPIC,
            format!("this node does not relay {topic}"),
        ),
        Relaying::NoPeers(topic) => PushResponse::failure(
            id,
            PushStatus::NO_PEERS_TO_RELAY,
            format!("no relay peer for {topic}"),
        ),
        Relaying::Invalid { why, too_large } => {
            let status = if too_large {
                PushStatus::PAYLOAD_TOO_LARGE
            } else {
                PushStatus::BAD_REQUEST
            };
            PushResponse::failure(id, status, why)
        }
        Relaying::Failed(why) => PushResponse::failure(id, PushStatus::INTERNAL_SERVER_ERROR, why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_way_relaying_can_go_has_its_status() {
        let ok = answer("a".into(), Relaying::Done { peers: 3 });
        assert_eq!(
            (ok.status, ok.relay_peer_count),
            (PushStatus::SUCCESS, Some(3))
        );
        let cases = [
            (
                Relaying::NotOurTopic("/waku/2/rs/9/0".into()),
                PushStatus::UNSUPPORTED_PUBSUB_TOPIC,
            ),
            (
                Relaying::NoPeers("/waku/2/rs/1/0".into()),
                PushStatus::NO_PEERS_TO_RELAY,
            ),
            (
                Relaying::Invalid {
                    why: "big".into(),
                    too_large: true,
                },
                PushStatus::PAYLOAD_TOO_LARGE,
            ),
            (
                Relaying::Invalid {
                    why: "bad".into(),
                    too_large: false,
                },
                PushStatus::BAD_REQUEST,
            ),
            (
                Relaying::Failed("stopped".into()),
                PushStatus::INTERNAL_SERVER_ERROR,
            ),
        ];
        for (relaying, status) in cases {
            let refused = answer("b".into(), relaying);
            assert_eq!(refused.status, status);
            assert_eq!(refused.request_id, "b");
            assert!(refused.description.is_some());
        }
    }
}
