//! `eth.status`: the consensus and execution clients next to the manager — versions, sync, peers, health.

use super::reading::Reading;
use super::{Empty, Method};
use serde::{Deserialize, Serialize};

/// The capability's name.
pub const CAPABILITY: &str = "ethereum";

/// Its methods.
pub const METHODS: &[super::MethodInfo] = &[super::MethodInfo::of::<EthStatus>()];

/// Its methods' bodies, for TypeScript.
#[cfg(feature = "specta")]
#[derive(Debug, Serialize, specta::Type)]
#[specta(inline)]
pub struct Methods {
    #[serde(rename = "eth.status")]
    status: super::Call<Empty, EthStatusResponse>,
}


/// `eth.status`, answered by managers offering the `ethereum` capability.
#[derive(Debug)]
pub struct EthStatus;

impl Method for EthStatus {
    const NAME: &'static str = "eth.status";
    const CAPABILITY: Option<&'static str> = Some("ethereum");
    type Request = Empty;
    type Response = EthStatusResponse;
}

/// Both clients, each part read on its own so one failure hides nothing else.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct EthStatusResponse {
    /// The consensus (beacon) client, through the Beacon Node REST API.
    pub consensus: ConsensusStatus,
    /// The execution client, through JSON-RPC.
    pub execution: ExecutionStatus,
    /// When the manager read them, Unix milliseconds.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub read_at_ms: u64,
}

/// What the beacon node says (`/eth/v1/node/*`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ConsensusStatus {
    /// The URL read, as configured (no credentials).
    pub endpoint: Option<String>,
    /// `/eth/v1/node/version`: e.g. `Lighthouse/v4.5.0-441fc16/x86_64-linux`.
    pub version: Reading<String>,
    /// `/eth/v1/node/syncing`.
    pub syncing: Reading<BeaconSyncing>,
    /// `/eth/v1/node/peer_count`.
    pub peers: Reading<BeaconPeers>,
    /// `/eth/v1/node/health`, from its status code.
    pub health: Reading<BeaconHealth>,
}

/// The beacon node's sync state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct BeaconSyncing {
    /// The head slot it has.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub head_slot: u64,
    /// How many slots it is behind.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub sync_distance: u64,
    /// Whether it is syncing.
    pub is_syncing: bool,
    /// Whether its head is optimistic (not yet verified by the execution
    /// client); absent from older nodes.
    pub is_optimistic: Option<bool>,
    /// Whether its execution client is offline; absent from older nodes.
    pub el_offline: Option<bool>,
}

/// The beacon node's peers by state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct BeaconPeers {
    /// Connected.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub connected: u64,
    /// Connecting.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub connecting: u64,
    /// Disconnected (still known).
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub disconnected: u64,
    /// Disconnecting.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub disconnecting: u64,
}

/// `/eth/v1/node/health`'s answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum BeaconHealth {
    /// 200: ready.
    Ready,
    /// 206: syncing, but can serve incomplete data.
    Syncing,
    /// 503: not initialized or having issues.
    NotReady,
}

/// What the execution client says over JSON-RPC.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ExecutionStatus {
    /// The URL read, as configured (no credentials).
    pub endpoint: Option<String>,
    /// `web3_clientVersion`, e.g. `Geth/v1.13.5-stable/linux-amd64/go1.21.4`.
    pub version: Reading<String>,
    /// `eth_syncing`.
    pub syncing: Reading<ExecutionSyncing>,
    /// `net_peerCount`.
    #[cfg_attr(
        feature = "specta",
        specta(type = Reading<specta_typescript::Number>)
    )]
    pub peers: Reading<u64>,
    /// `eth_blockNumber`: its head block. Added later: absent from an
    /// older manager's answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "specta",
        specta(type = Option<Reading<specta_typescript::Number>>)
    )]
    pub head: Option<Reading<u64>>,
}

/// `eth_syncing`: not syncing, or how far along.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum ExecutionSyncing {
    /// `false`: in sync.
    Synced,
    /// The progress object.
    Syncing {
        /// Where this sync started.
        #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
        starting_block: u64,
        /// The block it is at.
        #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
        current_block: u64,
        /// The highest block it knows of.
        #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
        highest_block: u64,
    },
}
