//! `services.list` and `services.control`: the systemd units and containers the operator listed, and start / stop / restart of those marked controllable.

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

/// Every listed unit, then every listed container, in the order the
/// configuration lists them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ServicesResponse {
    /// The units.
    pub services: Vec<Service>,
}

/// One unit's or container's state.
///
/// A container's state is told in systemd's words, so that whoever reads
/// the list needs no second vocabulary: running is `active`/`running`,
/// restarting `activating`/`restarting`, paused `inactive`/`paused`,
/// created `inactive`/`created`, exited with 0 `inactive`/`exited`, exited
/// otherwise or dead `failed`/`exited` or `failed`/`dead`, removing
/// `deactivating`/`removing`; no container of that name is `inactive`/`dead`
/// with `load_state` `not-found`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Service {
    /// The name as listed: a unit (`geth.service`), or a container
    /// (`geth`, or `project/service` for one of a Compose project). Unique
    /// among a manager's services.
    pub unit: String,
    /// A unit or a container. Absent from managers before containers:
    /// a unit.
    #[serde(default)]
    pub kind: ServiceKind,
    /// Its description (a container: its image).
    pub description: String,
    /// `active`, `inactive`, `failed`, `activating`, … as systemd says.
    pub active_state: String,
    /// `running`, `dead`, `exited`, … as systemd says.
    pub sub_state: String,
    /// Whether it exists (`loaded`, `not-found`, …).
    pub load_state: String,
    /// When it entered its current active state, Unix milliseconds, if known.
    #[cfg_attr(feature = "specta", specta(type = Option<specta_typescript::Number>))]
    pub since_ms: Option<u64>,
    /// Whether this manager lets apps start, stop and restart it.
    pub controllable: bool,
    /// Why its state could not be read, if it could not.
    pub error: Option<String>,
    /// What only a container has; null for a unit, and for a container
    /// whose state could not be read or that does not exist.
    #[serde(default)]
    pub container: Option<ContainerDetails>,
}

/// What a service is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum ServiceKind {
    /// A systemd unit.
    #[default]
    Unit,
    /// A Docker or Podman container.
    Container,
}

/// A container's own facts, as its engine tells them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ContainerDetails {
    /// The first 12 hex digits of its id (a container removed and created
    /// again under the same name has a new one).
    pub id: String,
    /// The image it was created from, with its tag, e.g.
    /// `ethereum/client-go:v1.14.12`.
    pub image: String,
    /// `healthy`, `unhealthy` or `starting` when the image has a
    /// healthcheck; null when it has none.
    pub health: Option<String>,
    /// How many times the engine restarted it by its restart policy.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub restart_count: u64,
    /// The exit code of its last run, once it has exited; null while it
    /// runs or before it first ran.
    #[cfg_attr(feature = "specta", specta(type = Option<specta_typescript::Number>))]
    pub exit_code: Option<i64>,
}

/// What to do to which unit or container.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ControlRequest {
    /// The unit or container, as listed (names are unique per manager).
    pub unit: String,
    /// The action.
    pub action: Action,
}

/// The actions an app may ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// `systemctl start`; a container's start.
    Start,
    /// `systemctl stop`; a container's stop (SIGTERM, then SIGKILL after
    /// its stop timeout).
    Stop,
    /// `systemctl restart`; a container's restart.
    Restart,
}

impl Action {
    /// The verb: `systemctl`'s, and the Docker Engine API's.
    pub fn verb(self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Stop => "stop",
            Action::Restart => "restart",
        }
    }
}
