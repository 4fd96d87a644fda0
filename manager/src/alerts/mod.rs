//! The `alerts` capability: the manager watches the host and the node with rules, and keeps every alert change in a numbered log that apps follow and catch up on.
//!
//! The rules ([`rules`]) judge each round's readings; [`hysteresis`] turns
//! a condition into an alert only once it has held for a while and ends it
//! only once it has been clear for a while; [`alert_log`] numbers and
//! bounds the changes and [`alert_file`] keeps them on disk; [`watch`]
//! puts the three together. All but the file are functions of their input
//! and the time, tested without IO. [`host_reading`] reads the host for a
//! round without letting a hung mount stop the rounds.

pub(crate) mod alert_file;
mod capability;
pub(crate) mod alert_log;
mod host_reading;
pub(crate) mod hysteresis;
pub(crate) mod rules;
pub(crate) mod settings;
pub(crate) mod watch;

pub(crate) use capability::answerer;
