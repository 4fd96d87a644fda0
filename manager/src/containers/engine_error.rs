//! Why the container engine could not do what was asked, in words an operator can act on.

use std::path::{Path, PathBuf};

/// Why the engine could not be asked, or what it refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum EngineError {
    /// Nothing at the socket's path.
    #[error(
        "the container engine is unreachable: {0} does not exist (is Docker, or Podman's service, running?)"
    )]
    NoSocket(PathBuf),
    /// The socket is there, but the manager's user may not open it.
    #[error(
        "the container engine is unreachable: permission denied on {0} (the manager's log says what to change)"
    )]
    PermissionDenied(PathBuf),
    /// The socket is there, but nothing answers on it, or the connection
    /// broke.
    #[error("the container engine is unreachable at {socket}: {why}")]
    Unreachable {
        /// The socket.
        socket: PathBuf,
        /// What the connection said.
        why: String,
    },
    /// It did not answer in time.
    #[error("the container engine did not answer within {0} s")]
    Timeout(u64),
    /// It answered with an error.
    #[error("the container engine refused: {message} (HTTP {status})")]
    Refused {
        /// Its HTTP status.
        status: u16,
        /// What it said.
        message: String,
    },
    /// No container has the listed name.
    #[error("there is no container {0}")]
    NoContainer(String),
    /// It runs with a terminal: its output is not in lines the manager can
    /// bound.
    #[error(
        "{0} runs with a terminal (tty: true), whose output NodePair does not read; run it without one to share its log"
    )]
    Terminal(String),
    /// Its answer could not be read.
    #[error("the container engine's answer could not be read: {0}")]
    BadAnswer(String),
}

impl EngineError {
    /// `e`, from talking to the engine at `socket` with `timeout_secs`.
    pub(crate) fn from_bollard(
        e: bollard::errors::Error,
        socket: &Path,
        timeout_secs: u64,
    ) -> Self {
        use bollard::errors::Error as B;
        match e {
            B::SocketNotFoundError(_) => EngineError::NoSocket(socket.to_owned()),
            B::RequestTimeoutError => EngineError::Timeout(timeout_secs),
            B::DockerResponseServerError {
                status_code,
                message,
            } => EngineError::Refused {
                status: status_code,
                message: message.chars().take(300).collect(),
            },
            B::JsonDataError { message, .. } => {
                EngineError::BadAnswer(message.chars().take(300).collect())
            }
            B::JsonSerdeError { err } => EngineError::BadAnswer(err.to_string()),
            other => {
                let io = io_kind(&other);
                match io {
                    Some(std::io::ErrorKind::PermissionDenied) => {
                        EngineError::PermissionDenied(socket.to_owned())
                    }
                    Some(std::io::ErrorKind::NotFound) => EngineError::NoSocket(socket.to_owned()),
                    _ => EngineError::Unreachable {
                        socket: socket.to_owned(),
                        why: innermost(&other),
                    },
                }
            }
        }
    }

    /// Whether the engine itself could not be reached (rather than
    /// refusing or not knowing a container).
    pub(crate) fn is_unreachable(&self) -> bool {
        matches!(
            self,
            EngineError::NoSocket(_)
                | EngineError::PermissionDenied(_)
                | EngineError::Unreachable { .. }
                | EngineError::Timeout(_)
        )
    }
}

/// The kind of the first I/O error in `e`'s chain of causes.
fn io_kind(e: &(dyn std::error::Error + 'static)) -> Option<std::io::ErrorKind> {
    let mut cause = Some(e);
    while let Some(c) = cause {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        cause = c.source();
    }
    None
}

/// The deepest cause's message: the one that says what happened.
fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last = e;
    while let Some(next) = last.source() {
        last = next;
    }
    last.to_string().chars().take(300).collect()
}
