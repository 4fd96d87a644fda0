//! The `validators` capability: which validators the operator runs, read from the beacon node's and the keymanager's standard APIs, and what they have been doing.
//!
//! [`beacon_bodies`] reads the Beacon API's and the keymanager API's
//! answers (every number a decimal string, unknown validators left out);
//! [`history`] keeps what each validator did epoch by epoch and says what
//! the panel and the alert rules need: balance changes, liveness over the
//! last epochs, missed attestations. Both are functions of their input,
//! tested without IO.

pub(crate) mod beacon_bodies;
mod capability;
pub(crate) mod history;
pub(crate) mod reader;
pub(crate) mod settings;
pub(crate) mod watch;

pub(crate) use capability::answerer;
