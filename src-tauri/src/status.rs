//! What `nodepair status` shows: who this app is, where its keys are, which Waku network it is on and how that is going.

use crate::backend::Backend;
use crate::settings::Settings;
use nodepair_peer::network::NetworkSummary;
use serde::{Deserialize, Serialize};

/// Everything `status` shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatusReport {
    /// What managers show for this app.
    pub display_name: String,
    /// The node id HELLOs carry; `None` before the first start.
    pub node_id: Option<String>,
    /// The static key managers know this app by.
    pub public_key: Option<String>,
    /// Its fingerprint.
    pub fingerprint: Option<String>,
    /// Where the keys are, and why there.
    pub keystore: String,
    /// Whether the app is running (this report came from it).
    pub running: bool,
    /// The Waku network.
    pub network: NetworkStatus,
    /// The paired managers (as `managers --json` shows them).
    pub managers: Vec<serde_json::Value>,
}

/// The app's Waku network: what the settings say, and while it runs, how
/// it is connected.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct NetworkStatus {
    /// Preset, mode, cluster, shard, bootstrap peers and ENR trees in use
    /// (`None` when the `[network]` section cannot work).
    pub settings: Option<NetworkSummary>,
    /// Why the `[network]` section cannot work, if it cannot.
    pub error: Option<String>,
    /// The Waku peer id (while running).
    pub peer_id: Option<String>,
    /// Connected Waku peers (while running).
    pub peers: Vec<WakuPeer>,
    /// How many of them serve light push and filter: what a light node
    /// publishes and receives through.
    pub service_nodes: u32,
    /// Whether the network reaches the app now; `false` also when it does
    /// not run.
    pub reachable: bool,
    /// Since when it has been cut off (Unix seconds), if it is.
    #[specta(type = Option<specta_typescript::Number>)]
    pub cut_since: Option<u64>,
    /// When a manager last sent anything (Unix seconds).
    #[specta(type = Option<specta_typescript::Number>)]
    pub last_message: Option<u64>,
}

/// One connected Waku peer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct WakuPeer {
    /// Its peer id.
    pub peer_id: String,
    /// The address of one connection to it.
    pub address: String,
    /// Whether it serves light push and filter.
    pub service: bool,
    /// Its agent string (empty until it said).
    pub agent: String,
}

/// What the settings say about the network, without running anything.
pub fn network_settings(settings: &Settings) -> NetworkStatus {
    let summary = settings.network.summary(nodepair_waku::Mode::Light);
    NetworkStatus {
        error: summary.as_ref().err().map(ToString::to_string),
        settings: summary.ok(),
        peer_id: None,
        peers: Vec::new(),
        service_nodes: 0,
        reachable: false,
        cut_since: None,
        last_message: None,
    }
}

/// The network as the running `backend` sees it.
pub async fn network_running(settings: &Settings, backend: &Backend) -> NetworkStatus {
    let waku = backend.peer.waku();
    let peers: Vec<WakuPeer> = waku
        .peers()
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|p| {
            let serves = |name: &str| p.protocols.iter().any(|s| s == name);
            WakuPeer {
                service: serves(nodepair_waku::filter::SUBSCRIBE_PROTOCOL.as_ref())
                    && (serves(nodepair_waku::lightpush::PROTOCOL_V3.as_ref())
                        || serves(nodepair_waku::lightpush::PROTOCOL_V2.as_ref())),
                peer_id: p.peer_id.to_string(),
                address: p.address.to_string(),
                agent: p.agent,
            }
        })
        .collect();
    let (reachable, cut_since) = match waku.reach() {
        nodepair_waku::Reach::Reachable => (true, None),
        nodepair_waku::Reach::NotYet => (false, None),
        nodepair_waku::Reach::Cut { since } => (
            false,
            since
                .duration_since(std::time::UNIX_EPOCH)
                .ok()
                .map(|d| d.as_secs()),
        ),
    };
    let last_message = backend
        .peer
        .counterparties()
        .await
        .iter()
        .filter_map(|v| v.last_seen)
        .max();
    NetworkStatus {
        peer_id: Some(waku.peer_id().to_string()),
        service_nodes: u32::try_from(peers.iter().filter(|p| p.service).count())
            .unwrap_or(u32::MAX),
        peers,
        reachable,
        cut_since,
        last_message,
        ..network_settings(settings)
    }
}
