//! What a capability is to the manager: what it is built from, how it answers its methods, and the replies they share.
//!
//! Each capability module (`info.rs`, `host.rs`, `ethereum/`, `services.rs`,
//! `logs/`) has an `answerer(&mut Setup)` that builds it from the
//! configuration and an [`Answer`] impl that answers its methods; naming the
//! module in `capabilities!` (`main.rs`) puts it in the manager.
//! [`Methods`](crate::methods::Methods) checks that a method exists and that
//! its capability is enabled before a capability sees it.

use crate::config::Config;
use bytes::Bytes;
use nodepair_peer::{Caller, Peer, Reply, ReplyFuture};
use nodepair_protocol::Status;
use nodepair_protocol::api::{self, Method};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

/// What a capability is built from.
pub(crate) struct Setup<'a> {
    /// The manager's configuration.
    pub(crate) config: &'a Config,
    /// The peer, once started: what pushes events to apps go through.
    pub(crate) peer: Arc<OnceLock<Peer>>,
    /// When the manager started.
    pub(crate) started: Instant,
    /// Background tasks a capability started; aborted when the manager stops.
    pub(crate) tasks: Vec<tokio::task::JoinHandle<()>>,
    /// Whether the manager's last run stopped without shutting down.
    pub(crate) last_run_crashed: bool,
    /// Whether this run watches the node in the background (the daemon,
    /// not a one-off command).
    pub(crate) watching: bool,
    /// The validators as the `validators` capability last read them, for
    /// the alert rules (none until read).
    pub(crate) validators_seen: ValidatorsSeen,
}

/// The validators' latest reading and when it was read (ms since the Unix
/// epoch), shared by the capability that reads it and the alert rounds
/// that judge it.
pub(crate) type ValidatorsSeen =
    Arc<std::sync::Mutex<Option<(u64, Vec<crate::alerts::rules::ValidatorSeen>)>>>;

/// One capability as the manager answers it.
pub(crate) trait Answer: Send + Sync + 'static {
    /// Answers `method`, one of this capability's (see
    /// `nodepair_protocol::api`), for `caller`, with the request `body`.
    fn answer(self: Arc<Self>, caller: Caller, method: &'static str, body: Bytes) -> ReplyFuture;
}

/// A reply known at once, as the future [`Answer::answer`] returns.
pub(crate) fn ready(reply: Reply) -> ReplyFuture {
    Box::pin(std::future::ready(reply))
}

/// An OK reply carrying `value`.
pub(crate) fn ok<T: serde::Serialize>(value: &T) -> Reply {
    Reply {
        status: Status::OK,
        body: Bytes::from(api::encode(value)),
    }
}

/// A refusal: `status`, and the sentence saying why.
pub(crate) fn refuse(status: Status, why: impl ToString) -> Reply {
    Reply {
        status,
        body: Bytes::from(why.to_string()),
    }
}

/// `M`'s request decoded from `body`, or the 400 that says what is wrong.
pub(crate) fn request<M: Method>(body: &[u8]) -> Result<M::Request, Reply> {
    api::decode_request::<M>(body).map_err(|e| refuse(Status::BAD_REQUEST, e))
}

/// A method this capability does not have (the list in `protocol/api` and
/// the capability's `match` disagree: a bug, said plainly).
pub(crate) fn unknown(method: &str) -> Reply {
    refuse(
        Status::UNKNOWN_METHOD,
        format!("this manager has no method {method:?}"),
    )
}
