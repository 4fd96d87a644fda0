//! The `info` capability: who the manager is and how long it has run (`manager.info`, answered to every paired app).

use crate::answer::{Answer, Setup, ok, ready, unknown};
use bytes::Bytes;
use nodepair_peer::{Caller, ReplyFuture};
use nodepair_protocol::api::Method;
use nodepair_protocol::api::info::{Info as InfoMethod, InfoResponse};
use std::sync::Arc;
use std::time::Instant;

/// The manager's name and start.
pub(crate) struct Info {
    display_name: String,
    started: Instant,
}

/// The `info` capability.
pub(crate) fn answerer(setup: &mut Setup<'_>) -> anyhow::Result<Arc<dyn Answer>> {
    Ok(Arc::new(Info {
        display_name: setup.config.display_name.to_string(),
        started: setup.started,
    }))
}

impl Answer for Info {
    fn answer(self: Arc<Self>, _caller: Caller, method: &'static str, _body: Bytes) -> ReplyFuture {
        // The app's first question after (re)connecting, and the
        // benchmark's round trip.
        let reply = match method {
            InfoMethod::NAME => ok(&InfoResponse {
                display_name: self.display_name.clone(),
                version: env!("CARGO_PKG_VERSION").to_owned(),
                uptime_s: self.started.elapsed().as_secs(),
            }),
            other => unknown(other),
        };
        ready(reply)
    }
}
