//! A value read from somewhere that can fail: the value, or why there is none (never a made-up zero).

use serde::{Deserialize, Serialize};

/// What was read, or why nothing was.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Reading<T> {
    /// The value.
    Value(T),
    /// Why there is none.
    Error(ReadError),
}

/// Why a reading failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ReadError {
    /// What kind of failure.
    pub kind: ReadErrorKind,
    /// A sentence for people (the endpoint, the status, what was wrong).
    pub message: String,
}

/// The kinds of failure a person acts on differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum ReadErrorKind {
    /// Nothing configured to read from.
    NotConfigured,
    /// Nothing listens there (connection refused, no route, DNS).
    Unreachable,
    /// It did not answer within the manager's timeout.
    Timeout,
    /// It answered with an error (HTTP status or JSON-RPC error).
    Failed,
    /// It answered something that is not what the API specifies.
    Invalid,
    /// It does not serve this (an optional endpoint it lacks: 404, 405 or
    /// 501 where the API allows it).
    NotServed,
}

impl<T> Reading<T> {
    /// A failure of `kind`.
    pub fn error(kind: ReadErrorKind, message: impl Into<String>) -> Self {
        Reading::Error(ReadError {
            kind,
            message: message.into(),
        })
    }

    /// A failure of `kind`, as the error half of a `Result`.
    pub fn failure(kind: ReadErrorKind, message: impl Into<String>) -> ReadError {
        ReadError {
            kind,
            message: message.into(),
        }
    }

    /// The value, if there is one.
    pub fn value(&self) -> Option<&T> {
        match self {
            Reading::Value(v) => Some(v),
            Reading::Error(_) => None,
        }
    }
}

impl<T> From<Result<T, ReadError>> for Reading<T> {
    fn from(r: Result<T, ReadError>) -> Self {
        match r {
            Ok(v) => Reading::Value(v),
            Err(e) => Reading::Error(e),
        }
    }
}
