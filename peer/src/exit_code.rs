//! The exit codes both programs use, so scripts and systemd can tell failures apart (sysexits.h).

/// Any other failure.
pub const FAILURE: u8 = 1;
/// What was asked for cannot be, as typed (`EX_USAGE`): a grant of a
/// capability not offered; nothing changed.
pub const USAGE: u8 = 64;
/// The pairing code is mistyped (`EX_DATAERR`); nothing was sent.
pub const BAD_CODE: u8 = 65;
/// No Waku peer could be reached (`EX_UNAVAILABLE`).
pub const NO_NETWORK: u8 = 69;
/// Another instance holds the state directory (`EX_CANTCREAT`).
pub const ALREADY_RUNNING: u8 = 73;
/// Nobody answered before the code expired (`EX_TEMPFAIL`: try a new code).
pub const EXPIRED: u8 = 75;
/// Two parties answered the code, so it may have leaked, or the
/// verification strings differ (`EX_NOPERM`): stopped for safety.
pub const ANSWERED_TWICE: u8 = 77;
/// The configuration file is missing what it needs or holds something wrong
/// (`EX_CONFIG`; systemd shows it as "CONFIG").
pub const CONFIG: u8 = 78;
