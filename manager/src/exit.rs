//! Exit codes, so scripts and systemd can tell failures apart (sysexits.h).

use crate::config::ConfigError;
use crate::control::ErrorKind;
use crate::runtime::AlreadyRunning;
use std::process::ExitCode;

use nodepair_peer::exit_code::{
    ALREADY_RUNNING, ANSWERED_TWICE, BAD_CODE, CONFIG, EXPIRED, FAILURE, NO_NETWORK, USAGE,
};

/// A failure the daemon reported, with the kind that picks the exit code.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub(crate) struct Reported {
    pub(crate) kind: ErrorKind,
    pub(crate) message: String,
}

/// The exit code for an error that ended the program.
pub(crate) fn code_for(err: &anyhow::Error) -> ExitCode {
    for cause in err.chain() {
        if cause.is::<ConfigError>() || cause.is::<crate::validators::settings::TokenError>() {
            return ExitCode::from(CONFIG);
        }
        if cause.is::<AlreadyRunning>() {
            return ExitCode::from(ALREADY_RUNNING);
        }
        if let Some(reported) = cause.downcast_ref::<Reported>() {
            return ExitCode::from(match reported.kind {
                ErrorKind::BadCode => BAD_CODE,
                ErrorKind::NoNetwork => NO_NETWORK,
                ErrorKind::Expired => EXPIRED,
                ErrorKind::AnsweredTwice | ErrorKind::Mismatch => ANSWERED_TWICE,
                ErrorKind::Invalid => USAGE,
                ErrorKind::NotFound | ErrorKind::Ambiguous | ErrorKind::Failed => FAILURE,
            });
        }
    }
    ExitCode::from(FAILURE)
}
