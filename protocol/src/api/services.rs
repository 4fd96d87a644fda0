//! `services.list` and `services.control`: the systemd units the operator listed, and start / stop / restart of those marked controllable.

use super::{Empty, Method};
use serde::{Deserialize, Serialize};

/// The capability's name.
pub const CAPABILITY: &str = "services";

/// Its methods.
pub const METHODS: &[super::MethodInfo] = &[
    super::MethodInfo::of::<ServicesList>(),
    super::MethodInfo::of::<ServicesControl>(),
];

/// Its methods' bodies, for TypeScript.
#[cfg(feature = "specta")]
#[derive(Debug, Serialize, specta::Type)]
#[specta(inline)]
pub struct Methods {
    #[serde(rename = "services.list")]
    list: super::Call<Empty, ServicesResponse>,
    #[serde(rename = "services.control")]
    control: super::Call<ControlRequest, Service>,
}


/// `services.list`, answered by managers offering the `services` capability.
#[derive(Debug)]
pub struct ServicesList;

impl Method for ServicesList {
    const NAME: &'static str = "services.list";
    const CAPABILITY: Option<&'static str> = Some("services");
    type Request = Empty;
    type Response = ServicesResponse;
}

/// `services.control`: one action on one controllable unit.
#[derive(Debug)]
pub struct ServicesControl;

impl Method for ServicesControl {
    const NAME: &'static str = "services.control";
    const CAPABILITY: Option<&'static str> = Some("services");
    type Request = ControlRequest;
    type Response = Service;
}

/// Every listed unit, in the order the configuration lists them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ServicesResponse {
    /// The units.
    pub services: Vec<Service>,
}

/// One unit's state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Service {
    /// The unit name, e.g. `geth.service`.
    pub unit: String,
    /// Its description.
    pub description: String,
    /// `active`, `inactive`, `failed`, `activating`, … as systemd says.
    pub active_state: String,
    /// `running`, `dead`, `exited`, … as systemd says.
    pub sub_state: String,
    /// Whether systemd knows the unit (`loaded`, `not-found`, …).
    pub load_state: String,
    /// When it entered its current active state, Unix milliseconds, if known.
    #[cfg_attr(feature = "specta", specta(type = Option<specta_typescript::Number>))]
    pub since_ms: Option<u64>,
    /// Whether this manager lets apps start, stop and restart it.
    pub controllable: bool,
    /// Why its state could not be read, if it could not.
    pub error: Option<String>,
}

/// What to do to which unit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ControlRequest {
    /// The unit, as listed.
    pub unit: String,
    /// The action.
    pub action: Action,
}

/// The actions an app may ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// `systemctl start`.
    Start,
    /// `systemctl stop`.
    Stop,
    /// `systemctl restart`.
    Restart,
}

impl Action {
    /// The `systemctl` verb.
    pub fn verb(self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Stop => "stop",
            Action::Restart => "restart",
        }
    }
}
