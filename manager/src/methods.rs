//! What the manager answers over a session. (Node operations come with their own modules.)

use bytes::Bytes;
use nodepair_peer::{Caller, Reply, ReplyFuture, RequestHandler};
use nodepair_protocol::Status;
use std::time::Instant;

/// The manager's request handler.
pub(crate) struct Methods {
    display_name: String,
    started: Instant,
}

impl Methods {
    pub(crate) fn new(display_name: String, started: Instant) -> Self {
        Methods {
            display_name,
            started,
        }
    }
}

impl RequestHandler for Methods {
    fn handle(&self, caller: Caller, method: String, _body: Bytes) -> ReplyFuture {
        let reply = match method.as_str() {
            // Who this manager is and how long it has run: the app's first
            // question after (re)connecting, and the benchmark's round trip.
            "manager.info" => {
                let info = serde_json::json!({
                    "display_name": self.display_name,
                    "version": env!("CARGO_PKG_VERSION"),
                    "uptime_s": self.started.elapsed().as_secs(),
                });
                Reply::ok(info.to_string())
            }
            _ => {
                tracing::debug!(caller = %caller.display_name, %method, "unknown method");
                Reply::error(
                    Status::UNKNOWN_METHOD,
                    format!("this manager has no method {method:?}"),
                )
            }
        };
        Box::pin(async move { reply })
    }
}
