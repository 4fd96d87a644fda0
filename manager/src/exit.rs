//! Exit codes, so scripts and systemd can tell failures apart.

use crate::config::ConfigError;
use std::process::ExitCode;

/// The configuration file is missing what it needs or holds something wrong
/// (`EX_CONFIG` of sysexits.h; systemd shows it as "CONFIG").
pub(crate) const CONFIG: u8 = 78;

/// Any other failure.
pub(crate) const FAILURE: u8 = 1;

/// The exit code for an error that ended the program.
pub(crate) fn code_for(err: &anyhow::Error) -> ExitCode {
    if err.chain().any(|e| e.is::<ConfigError>()) {
        ExitCode::from(CONFIG)
    } else {
        ExitCode::from(FAILURE)
    }
}
