//! The one error every command returns: a kind the window can branch on, and a sentence for the person.

use nodepair_peer::RequestError;
use nodepair_protocol::Status;
use serde::{Deserialize, Serialize};

/// Why a command failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, specta::Type, thiserror::Error)]
#[error("{message}")]
pub struct AppError {
    /// What kind of failure.
    pub kind: ErrorKind,
    /// What happened, in words the person can act on.
    pub message: String,
}

/// Kinds of failure the window tells apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// NodePair is starting, locked or could not start: nothing can be
    /// asked yet.
    NotRunning,
    /// What was named is not there (a manager no longer paired, no pairing
    /// under way).
    NotFound,
    /// What was given is not valid (a key, a name).
    Invalid,
    /// The manager did not answer in time, or its session closed.
    Unreachable,
    /// The manager refused: not enabled there, not allowed, too many
    /// requests.
    Refused,
    /// Anything else; the message says what.
    Failed,
}

impl AppError {
    /// An error of `kind` saying `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        AppError {
            kind,
            message: message.into(),
        }
    }

    /// A request to a manager got no answer.
    pub fn unanswered(e: &RequestError) -> Self {
        let kind = match e {
            RequestError::NotPaired(_) => ErrorKind::NotFound,
            RequestError::Stopped => ErrorKind::NotRunning,
            _ => ErrorKind::Unreachable,
        };
        AppError::new(kind, e.to_string())
    }

    /// A manager answered `status` with `body` (its sentence) instead of OK.
    pub fn answered(status: Status, body: &[u8]) -> Self {
        let said = String::from_utf8_lossy(body);
        if status == Status::CAPABILITY_DISABLED {
            return AppError::new(
                ErrorKind::Refused,
                format!("Not enabled on this manager: {said}"),
            );
        }
        let kind = if status == Status::FORBIDDEN || status == Status::RATE_LIMITED {
            ErrorKind::Refused
        } else {
            ErrorKind::Failed
        };
        AppError::new(kind, said)
    }
}
