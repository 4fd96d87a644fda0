//! Exit codes, so scripts and systemd can tell failures apart (sysexits.h).

use crate::config::ConfigError;
use crate::control::ErrorKind;
use crate::runtime::AlreadyRunning;
use std::process::ExitCode;

/// Any other failure.
pub(crate) const FAILURE: u8 = 1;
/// The pairing code is mistyped (`EX_DATAERR`); nothing was sent.
pub(crate) const BAD_CODE: u8 = 65;
/// No Waku peer could be reached (`EX_UNAVAILABLE`).
pub(crate) const NO_NETWORK: u8 = 69;
/// Another manager holds the state directory (`EX_CANTCREAT`).
pub(crate) const ALREADY_RUNNING: u8 = 73;
/// Nobody answered before the code expired (`EX_TEMPFAIL`: try a new code).
pub(crate) const EXPIRED: u8 = 75;
/// Two parties answered the code, so it may have leaked, or the
/// verification strings differ (`EX_NOPERM`): stopped for safety.
pub(crate) const ANSWERED_TWICE: u8 = 77;
/// The configuration file is missing what it needs or holds something wrong
/// (`EX_CONFIG`; systemd shows it as "CONFIG").
pub(crate) const CONFIG: u8 = 78;

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
        if cause.is::<ConfigError>() {
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
                ErrorKind::NotFound | ErrorKind::Ambiguous | ErrorKind::Failed => FAILURE,
            });
        }
    }
    ExitCode::from(FAILURE)
}
