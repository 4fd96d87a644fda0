//! `manager.info`: who the manager is and how long it has run.

use super::{Empty, Method};
use serde::{Deserialize, Serialize};

/// The capability's name; every manager answers its method.
pub const CAPABILITY: &str = "info";

/// Its methods.
pub const METHODS: &[super::MethodInfo] = &[super::MethodInfo::of::<Info>()];

/// Its methods' bodies, for TypeScript.
#[cfg(feature = "specta")]
#[derive(Debug, Serialize, specta::Type)]
#[specta(inline)]
pub struct Methods {
    #[serde(rename = "manager.info")]
    info: super::Call<Empty, InfoResponse>,
}


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
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct InfoResponse {
    /// The manager's own name.
    pub display_name: String,
    /// Its version (`nodepair-manager --version`).
    pub version: String,
    /// Seconds since the daemon started.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub uptime_s: u64,
}
