//! Response status codes: 16 bits, as seed 000 carries them, with meanings
//! borrowed from HTTP where one fits.

use std::fmt;

/// A response's status code.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Status(pub u16);

impl Status {
    /// The request was answered.
    pub const OK: Status = Status(200);
    /// The request's arguments are malformed.
    pub const BAD_REQUEST: Status = Status(400);
    /// The request names something the operator did not allow (a service not
    /// in the allow-list, an action not marked controllable).
    pub const FORBIDDEN: Status = Status(403);
    /// No such request method.
    pub const UNKNOWN_METHOD: Status = Status(404);
    /// What the request names is not there (a computer to cut off that is
    /// not paired with this manager); the same number as
    /// [`UNKNOWN_METHOD`](Self::UNKNOWN_METHOD).
    pub const NOT_FOUND: Status = Status(404);
    /// The request is larger than the receiver accepts.
    pub const TOO_LARGE: Status = Status(413);
    /// The capability is not enabled on this manager.
    pub const CAPABILITY_DISABLED: Status = Status(423);
    /// Too many requests; try again later.
    pub const RATE_LIMITED: Status = Status(429);
    /// The receiver failed while answering.
    pub const INTERNAL: Status = Status(500);
    /// The answer does not fit in one frame; ask for less (a shorter log
    /// tail, a page).
    pub const RESPONSE_TOO_LARGE: Status = Status(507);
    /// A service the receiver asked (e.g. the beacon node) answered with an error.
    pub const UPSTREAM_ERROR: Status = Status(502);
    /// A service the receiver asked did not answer in time.
    pub const UPSTREAM_TIMEOUT: Status = Status(504);

    /// Whether the request succeeded (2xx).
    pub fn is_success(self) -> bool {
        (200..300).contains(&self.0)
    }

    /// What the code means, in words; `None` for codes this version does not name.
    pub fn describe(self) -> Option<&'static str> {
        Some(match self {
            Status::OK => "ok",
            Status::BAD_REQUEST => "malformed request",
            Status::FORBIDDEN => "not allowed by the manager's configuration",
            Status::UNKNOWN_METHOD => "unknown request",
            Status::TOO_LARGE => "request too large",
            Status::CAPABILITY_DISABLED => "not enabled on this manager",
            Status::RATE_LIMITED => "too many requests",
            Status::INTERNAL => "internal error",
            Status::RESPONSE_TOO_LARGE => "answer too large for one frame",
            Status::UPSTREAM_ERROR => "the node answered with an error",
            Status::UPSTREAM_TIMEOUT => "the node did not answer in time",
            _ => return None,
        })
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.describe() {
            Some(words) => write!(f, "{} ({words})", self.0),
            None => write!(f, "{}", self.0),
        }
    }
}

impl fmt::Debug for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Status({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_as_words() {
        assert_eq!(
            Status::CAPABILITY_DISABLED.to_string(),
            "423 (not enabled on this manager)"
        );
        assert_eq!(Status(299).to_string(), "299");
        assert!(Status(204).is_success());
        assert!(!Status::FORBIDDEN.is_success());
    }
}
