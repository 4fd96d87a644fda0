//! The execution client through JSON-RPC: `web3_clientVersion`, `eth_syncing`, `net_peerCount`, `eth_blockNumber`.

use super::{quoted, request_error, shown};
use nodepair_protocol::api::ethereum::{ExecutionStatus, ExecutionSyncing};
use nodepair_protocol::api::reading::{ReadError, ReadErrorKind, Reading};
use serde::Deserialize;
use std::sync::atomic::{AtomicU64, Ordering};

/// An execution client's JSON-RPC endpoint.
pub(crate) struct Execution {
    client: reqwest::Client,
    url: reqwest::Url,
    next_id: AtomicU64,
}

#[derive(Deserialize)]
struct RpcResponse {
    #[serde(default)]
    result: Option<serde_json::Value>,
    #[serde(default)]
    error: Option<RpcError>,
}

#[derive(Deserialize)]
struct RpcError {
    code: i64,
    message: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SyncProgress {
    starting_block: String,
    current_block: String,
    highest_block: String,
}

/// A JSON-RPC quantity: `0x`-prefixed hex.
fn quantity(method: &str, field: &str, s: &str) -> Result<u64, ReadError> {
    s.strip_prefix("0x")
        .and_then(|h| u64::from_str_radix(h, 16).ok())
        .ok_or_else(|| {
            Reading::<()>::failure(
                ReadErrorKind::Invalid,
                format!("{method}: {field} is {s:?}, not a hex quantity"),
            )
        })
}

impl Execution {
    pub(crate) fn new(client: reqwest::Client, url: reqwest::Url) -> Self {
        Execution {
            client,
            url,
            next_id: AtomicU64::new(1),
        }
    }

    async fn call(&self, method: &str) -> Reading<serde_json::Value> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let request =
            serde_json::json!({"jsonrpc": "2.0", "id": id, "method": method, "params": []});
        let response = match self
            .client
            .post(self.url.clone())
            .json(&request)
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) => return request_error(method, &self.url, e),
        };
        let status = response.status();
        let body = match super::body(method, &self.url, response).await {
            Ok(b) => b,
            Err(reading) => return reading,
        };
        match serde_json::from_slice::<RpcResponse>(&body) {
            Ok(RpcResponse {
                error: Some(RpcError { code, message }),
                ..
            }) => Reading::error(
                ReadErrorKind::Failed,
                format!("{method}: JSON-RPC error {code}: {}", quoted(&message)),
            ),
            Ok(RpcResponse {
                result: Some(result),
                ..
            }) if status.is_success() => Reading::Value(result),
            _ if !status.is_success() => Reading::error(
                ReadErrorKind::Failed,
                format!("{method}: {} answered {status}", shown(&self.url)),
            ),
            _ => Reading::error(
                ReadErrorKind::Invalid,
                format!("{method}: not a JSON-RPC response"),
            ),
        }
    }

    async fn version(&self) -> Reading<String> {
        match self.call("web3_clientVersion").await {
            Reading::Value(serde_json::Value::String(v)) => Reading::Value(quoted(&v)),
            Reading::Value(other) => Reading::error(
                ReadErrorKind::Invalid,
                format!("web3_clientVersion: {} is not a string", quoted(&other.to_string())),
            ),
            Reading::Error(e) => Reading::Error(e),
        }
    }

    async fn syncing(&self) -> Reading<ExecutionSyncing> {
        let m = "eth_syncing";
        match self.call(m).await {
            Reading::Value(serde_json::Value::Bool(false)) => {
                Reading::Value(ExecutionSyncing::Synced)
            }
            Reading::Value(value) => {
                let Ok(p) = serde_json::from_value::<SyncProgress>(value.clone()) else {
                    return Reading::error(
                        ReadErrorKind::Invalid,
                        format!("{m}: {value} is neither false nor a sync progress object"),
                    );
                };
                let parsed = (|| {
                    Ok(ExecutionSyncing::Syncing {
                        starting_block: quantity(m, "startingBlock", &p.starting_block)?,
                        current_block: quantity(m, "currentBlock", &p.current_block)?,
                        highest_block: quantity(m, "highestBlock", &p.highest_block)?,
                    })
                })();
                parsed.into()
            }
            Reading::Error(e) => Reading::Error(e),
        }
    }

    /// A method whose result is one hex quantity.
    async fn quantity_of(&self, m: &str) -> Reading<u64> {
        match self.call(m).await {
            Reading::Value(serde_json::Value::String(q)) => quantity(m, "result", &q).into(),
            Reading::Value(other) => Reading::error(
                ReadErrorKind::Invalid,
                format!("{m}: {other} is not a hex quantity"),
            ),
            Reading::Error(e) => Reading::Error(e),
        }
    }

    /// Everything, read concurrently.
    pub(crate) async fn status(&self) -> ExecutionStatus {
        let (version, syncing, peers, head) =
            tokio::join!(
            self.version(),
            self.syncing(),
            self.quantity_of("net_peerCount"),
            self.quantity_of("eth_blockNumber")
        );
        ExecutionStatus {
            endpoint: Some(shown(&self.url)),
            version,
            syncing,
            peers,
            head: Some(head),
        }
    }
}
