//! `manager.info`: who the manager is and how long it has run.

use super::{Empty, Method};
use serde::{Deserialize, Serialize};

/// `manager.info`, answered by every manager.
#[derive(Debug)]
pub struct Info;

impl Method for Info {
    const NAME: &'static str = "manager.info";
    const CAPABILITY: Option<&'static str> = None;
    type Request = Empty;
    type Response = InfoResponse;
}

/// What `manager.info` answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InfoResponse {
    /// The manager's own name.
    pub display_name: String,
    /// Its version (`nodepair-manager --version`).
    pub version: String,
    /// Seconds since the daemon started.
    pub uptime_s: u64,
}
