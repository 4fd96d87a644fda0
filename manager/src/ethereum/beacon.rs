//! The consensus client through the standard Beacon Node REST API (`/eth/v1/node/*`).

use super::{quoted, request_error, shown};
use nodepair_protocol::api::ethereum::{BeaconHealth, BeaconPeers, BeaconSyncing, ConsensusStatus};
use nodepair_protocol::api::reading::{ReadError, ReadErrorKind, Reading};
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// A beacon node's REST API.
pub(crate) struct Beacon {
    client: reqwest::Client,
    base: reqwest::Url,
}

/// Every answer is `{"data": …}`.
#[derive(Deserialize)]
struct Data<T> {
    data: T,
}

#[derive(Deserialize)]
struct Version {
    version: String,
}

/// Numbers come as decimal strings (the API's `Uint64`).
#[derive(Deserialize)]
struct Syncing {
    head_slot: String,
    sync_distance: String,
    is_syncing: bool,
    #[serde(default)]
    is_optimistic: Option<bool>,
    #[serde(default)]
    el_offline: Option<bool>,
}

#[derive(Deserialize)]
struct PeerCount {
    disconnected: String,
    connecting: String,
    connected: String,
    disconnecting: String,
}

/// The API's error body: `{"code": 500, "message": "…"}`.
#[derive(Deserialize)]
struct ApiError {
    message: String,
}

fn uint(what: &str, field: &str, s: &str) -> Result<u64, ReadError> {
    s.parse().map_err(|_| {
        Reading::<()>::failure(
            ReadErrorKind::Invalid,
            format!("{what}: {field} is {s:?}, not a decimal number"),
        )
    })
}

impl Beacon {
    pub(crate) fn new(client: reqwest::Client, base: reqwest::Url) -> Self {
        Beacon { client, base }
    }

    fn url(&self, path: &str) -> reqwest::Url {
        let mut url = self.base.clone();
        let joined = format!("{}{path}", url.path().trim_end_matches('/'));
        url.set_path(&joined);
        url
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Reading<T> {
        let url = self.url(path);
        let what = format!("GET {path}");
        let response = match self.client.get(url.clone()).send().await {
            Ok(r) => r,
            Err(e) => return request_error(&what, &url, e),
        };
        let status = response.status();
        let body = match super::body(&what, &url, response).await {
            Ok(b) => b,
            Err(reading) => return reading,
        };
        if !status.is_success() {
            let message = quoted(
                &serde_json::from_slice::<ApiError>(&body)
                    .map(|e| e.message)
                    .unwrap_or_else(|_| String::from_utf8_lossy(&body).into_owned()),
            );
            return Reading::error(
                ReadErrorKind::Failed,
                format!("{what}: {} answered {status}: {message}", shown(&self.base)),
            );
        }
        match serde_json::from_slice::<Data<T>>(&body) {
            Ok(d) => Reading::Value(d.data),
            Err(e) => Reading::error(
                ReadErrorKind::Invalid,
                format!("{what}: not the Beacon API's answer ({})", quoted(&e.to_string())),
            ),
        }
    }

    async fn version(&self) -> Reading<String> {
        match self.get::<Version>("/eth/v1/node/version").await {
            Reading::Value(v) => Reading::Value(quoted(&v.version)),
            Reading::Error(e) => Reading::Error(e),
        }
    }

    async fn syncing(&self) -> Reading<BeaconSyncing> {
        let what = "GET /eth/v1/node/syncing";
        let s = match self.get::<Syncing>("/eth/v1/node/syncing").await {
            Reading::Value(s) => s,
            Reading::Error(e) => return Reading::Error(e),
        };
        let parsed = (|| {
            Ok(BeaconSyncing {
                head_slot: uint(what, "head_slot", &s.head_slot)?,
                sync_distance: uint(what, "sync_distance", &s.sync_distance)?,
                is_syncing: s.is_syncing,
                is_optimistic: s.is_optimistic,
                el_offline: s.el_offline,
            })
        })();
        parsed.into()
    }

    async fn peers(&self) -> Reading<BeaconPeers> {
        let what = "GET /eth/v1/node/peer_count";
        let p = match self.get::<PeerCount>("/eth/v1/node/peer_count").await {
            Reading::Value(p) => p,
            Reading::Error(e) => return Reading::Error(e),
        };
        let parsed = (|| {
            Ok(BeaconPeers {
                connected: uint(what, "connected", &p.connected)?,
                connecting: uint(what, "connecting", &p.connecting)?,
                disconnected: uint(what, "disconnected", &p.disconnected)?,
                disconnecting: uint(what, "disconnecting", &p.disconnecting)?,
            })
        })();
        parsed.into()
    }

    /// The health endpoint answers with its status code alone.
    async fn health(&self) -> Reading<BeaconHealth> {
        let path = "/eth/v1/node/health";
        let url = self.url(path);
        match self.client.get(url.clone()).send().await {
            Ok(r) => match r.status().as_u16() {
                200 => Reading::Value(BeaconHealth::Ready),
                206 => Reading::Value(BeaconHealth::Syncing),
                503 => Reading::Value(BeaconHealth::NotReady),
                other => Reading::error(
                    ReadErrorKind::Invalid,
                    format!("GET {path}: status {other}, which the Beacon API does not define"),
                ),
            },
            Err(e) => request_error(&format!("GET {path}"), &url, e),
        }
    }

    /// Everything, read concurrently.
    pub(crate) async fn status(&self) -> ConsensusStatus {
        let (version, syncing, peers, health) =
            tokio::join!(self.version(), self.syncing(), self.peers(), self.health());
        ConsensusStatus {
            endpoint: Some(shown(&self.base)),
            version,
            syncing,
            peers,
            health,
        }
    }
}
