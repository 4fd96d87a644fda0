//! What the window receives: every type crossing the IPC, with its TypeScript twin generated from it.

use nodepair_peer::{CounterpartyView, PairingPhase};
use nodepair_protocol::NodeState;
use serde::Serialize;

// Numbers: times (Unix ms), byte counts and latencies are far below 2⁵³,
// so JavaScript's `number` holds them exactly; each such field says so with
// `#[specta(type = Number)]`, as specta asks.
use specta_typescript::Number;

/// How many resolved alerts a row carries.
pub const RECENTLY_RESOLVED: usize = 20;

/// One paired manager, as the list shows it.
#[derive(Clone, Debug, PartialEq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ManagerRow {
    /// Its public key in hex: what commands name it by.
    pub key: String,
    /// The name to show: the local one if given, else its own.
    pub name: String,
    /// The name it gave itself.
    pub own_name: String,
    /// Whether `name` was given on this side.
    pub renamed: bool,
    /// Its node id.
    pub node_id: String,
    /// Its key's short form, for telling two of the same name apart.
    pub fingerprint: String,
    /// Where its session stands.
    pub state: NodeState,
    /// The latest keepalive round trip, in milliseconds.
    #[specta(type = Option<Number>)]
    pub latency_ms: Option<f64>,
    /// When a session last carried a message, Unix seconds.
    #[specta(type = Option<Number>)]
    pub last_seen: Option<u64>,
    /// When it was paired, Unix seconds.
    #[specta(type = Number)]
    pub paired_at: u64,
    /// What it offers (`info`, `host`, …).
    pub capabilities: Vec<String>,
    /// Its open alerts as last reported, worst first (kept while it is
    /// offline).
    pub alerts: Vec<nodepair_protocol::api::alerts::Alert>,
    /// Its newest resolved alerts, newest first (at most [`RECENTLY_RESOLVED`]).
    pub resolved: Vec<nodepair_protocol::api::alerts::Alert>,
    /// Its node's health in one line, while it is online and watches one.
    pub health: Option<crate::node_health::NodeHealth>,
    /// Its validators counted, while it is online and watches them.
    pub validators: Option<nodepair_protocol::api::validators::Summary>,
}

impl ManagerRow {
    /// A row for tests: `name` in `state`, the rest made up.
    #[cfg(test)]
    pub fn example(name: &str, state: NodeState) -> Self {
        ManagerRow {
            key: format!("{:064x}", name.len()),
            name: name.to_owned(),
            own_name: name.to_owned(),
            renamed: false,
            node_id: "00000000-0000-4000-8000-000000000000".into(),
            fingerprint: "ab12-cd34".into(),
            state,
            latency_ms: None,
            last_seen: None,
            paired_at: 0,
            capabilities: vec!["info".into()],
            alerts: Vec::new(),
            resolved: Vec::new(),
            health: None,
            validators: None,
        }
    }

    /// The row of a counterparty the peer reports.
    pub fn from_view(v: &CounterpartyView) -> Self {
        ManagerRow {
            key: v.public_key.to_string(),
            name: v.name().to_owned(),
            own_name: v.display_name.clone(),
            renamed: v.local_name.is_some(),
            node_id: v.node_id.0.to_string(),
            fingerprint: v.public_key.fingerprint(),
            state: v.state,
            latency_ms: v.latency.map(|d| d.as_secs_f64() * 1000.0),
            last_seen: v.last_seen,
            paired_at: v.paired_at,
            capabilities: v.capabilities.clone(),
            alerts: Vec::new(),
            resolved: Vec::new(),
            health: None,
            validators: None,
        }
    }
}

/// Whether the backend is up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum BackendState {
    /// Opening the keystore and joining the network.
    Starting,
    /// The vault needs a passphrase (see [`ManagersView::unlock`]).
    Locked,
    /// Up.
    Running,
    /// It could not start (see [`ManagersView::error`]).
    Failed,
}

/// The managers and whether the backend is up; sent whenever either changes.
#[derive(Clone, Debug, PartialEq, Serialize, specta::Type, tauri_specta::Event)]
#[serde(rename_all = "camelCase")]
pub struct ManagersView {
    /// Whether the backend is up.
    pub backend: BackendState,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// Set when `backend` is `locked`.
    pub unlock: Option<UnlockView>,
    /// Every paired manager, by name.
    pub managers: Vec<ManagerRow>,
    /// Whether any manager has an open alert that is not muted.
    pub alerting: bool,
    /// Numbers the views in the order the backend read them, events and
    /// answers alike: the window keeps a view only if it is not older than
    /// the one it has, so an answer delivered after later events (100
    /// managers coming online in one burst) cannot put old states back.
    /// (32 bits, as the window's numbers are exact: at ten views a second
    /// it would take thirteen years to run out.)
    pub seq: u32,
}

impl ManagersView {
    /// Before the backend said anything.
    pub fn starting() -> Self {
        ManagersView {
            backend: BackendState::Starting,
            error: None,
            unlock: None,
            managers: Vec::new(),
            alerting: false,
            seq: 0,
        }
    }
}

/// What the tray's menu asks the window to show.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, specta::Type, tauri_specta::Event)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum TrayAction {
    /// Start pairing a manager.
    Pair,
    /// Open this manager's page.
    #[serde(rename_all = "camelCase")]
    OpenManager {
        /// Its key.
        key: String,
    },
}

/// The vault needs a passphrase the app has no other way to get.
#[derive(Clone, Debug, PartialEq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct UnlockView {
    /// No vault yet: the person chooses a passphrase (asked twice).
    pub creating: bool,
    /// Why the keys are in a vault rather than the OS keyring.
    pub why: String,
    /// What went wrong with the last passphrase typed, if anything.
    pub error: Option<String>,
}

/// A pairing as the window shows it; sent as it progresses.
#[derive(Clone, Debug, PartialEq, Serialize, specta::Type, tauri_specta::Event)]
#[serde(rename_all = "camelCase")]
pub struct PairingView {
    /// Where it stands; at `compare`, ask the person whether the server
    /// shows `verification` too.
    pub phase: PairingPhase,
    /// The phase in words (the same the terminal mode and the manager
    /// print).
    pub step: String,
    /// The code to type on the server, in groups.
    pub code: String,
    /// The code's QR code, as an SVG document.
    pub qr_svg: String,
    /// The exact command to type on the server.
    pub command: String,
    /// When the code stops working, Unix milliseconds.
    #[specta(type = Number)]
    pub expires_at_ms: u64,
    /// From `compare` on: the string both sides show.
    pub verification: Option<String>,
    /// From `compare` on: the manager's name, as it introduced itself.
    pub manager: Option<String>,
    /// From `compare` on: the manager's key fingerprint.
    pub fingerprint: Option<String>,
    /// Once failed: why, in words a person can act on.
    pub error: Option<String>,
}

impl PairingView {
    /// Moves to `phase`, with its words.
    pub fn enter(&mut self, phase: PairingPhase) {
        self.phase = phase;
        self.step = phase.describe(nodepair_protocol::Role::App).to_owned();
    }
}

/// What unpairing did.
#[derive(Clone, Debug, PartialEq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct UnpairView {
    /// Whether the manager was told now (else: when it next connects).
    pub told: bool,
    /// A sentence for the person.
    pub message: String,
}

/// An event a manager pushed on one of the streams the window follows.
#[derive(Clone, Debug, PartialEq, Serialize, specta::Type, tauri_specta::Event)]
#[serde(rename_all = "camelCase")]
pub struct ManagerEvent {
    /// The manager's key.
    pub key: String,
    /// The stream's kind (`host`, `logs`): which entry of `ManagerStreams`
    /// types the body.
    pub kind: String,
    /// The stream's full name (`logs:geth.service`).
    pub stream: String,
    /// The event's body.
    pub body: Json,
}

/// Any JSON: a manager method's request or answer, or an event's body, as
/// the generic call carries it. TypeScript sees `unknown`; `ui/src/api.ts`
/// types it from `ManagerMethods` and `ManagerStreams`.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Json(pub serde_json::Value);

impl specta::Type for Json {
    fn definition(types: &mut specta::Types) -> specta::datatype::DataType {
        <specta_typescript::Unknown as specta::Type>::definition(types)
    }
}
