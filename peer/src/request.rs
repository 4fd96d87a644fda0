//! Requests over a session: serving them, and waiting for answers.

use bytes::Bytes;
use nodepair_protocol::{PublicKey, Status};
use std::future::Future;
use std::pin::Pin;

/// An answer to a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// How it went.
    pub status: Status,
    /// The result, or a message on errors.
    pub body: Bytes,
}

impl Reply {
    /// A 200 with `body`.
    pub fn ok(body: impl Into<Bytes>) -> Self {
        Reply {
            status: Status::OK,
            body: body.into(),
        }
    }

    /// An error status with a message for people.
    pub fn error(status: Status, message: impl Into<String>) -> Self {
        Reply {
            status,
            body: Bytes::from(message.into()),
        }
    }
}

/// Who asked, as a handler sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// Its static key.
    pub public_key: PublicKey,
    /// Its name.
    pub display_name: String,
    /// What this side granted it, as its record says at the time of the
    /// request: `None` is everything offered
    /// ([`nodepair_protocol::grants::allows`] decides).
    pub grants: Option<Vec<String>>,
}

/// A boxed future of a reply.
pub type ReplyFuture = Pin<Box<dyn Future<Output = Reply> + Send>>;

/// Serves the requests counterparties send. Each request runs in its own
/// task, so a slow one never holds up the sessions.
pub trait RequestHandler: Send + Sync + 'static {
    /// Answers `method` with `body` for `caller`.
    fn handle(&self, caller: Caller, method: String, body: Bytes) -> ReplyFuture;
}

/// Answers every request with 404: for a side that serves nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoMethods;

impl RequestHandler for NoMethods {
    fn handle(&self, _caller: Caller, method: String, _body: Bytes) -> ReplyFuture {
        Box::pin(async move {
            Reply::error(Status::UNKNOWN_METHOD, format!("no method {method:?} here"))
        })
    }
}

/// A request that got no reply.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// We are not paired with that key.
    #[error("not paired with {0:?}")]
    NotPaired(PublicKey),
    /// No response came in time.
    #[error("no response within {0:?}")]
    Timeout(std::time::Duration),
    /// The frame could not be sent (too large, queue full, session closed).
    #[error("cannot send the request: {0}")]
    Send(String),
    /// The peer runtime has stopped.
    #[error("the peer runtime has stopped")]
    Stopped,
}
