//! Reading the validators from the beacon node and the keymanager over HTTP: each endpoint a reading of its own (unreachable, timeout, an error answer, not what the spec says, not served), ids sent in chunks and never as an empty list (which would ask for the whole registry), and only what was asked kept of each answer.

use super::beacon_bodies::{self, BodyError, Validator};
use super::settings::Token;
use crate::ethereum::{quoted, request_error, shown};
use nodepair_protocol::api::reading::{ReadErrorKind, Reading};
use std::collections::{BTreeMap, HashSet};

/// Most ids one request carries: well under every client's limit.
pub(crate) const CHUNK: usize = 1000;

/// Reads an answer's entries by validator index.
type ByIndex<T> = fn(&[u8]) -> Result<Vec<(u64, T)>, BodyError>;

/// A beacon node's (or keymanager's) REST API.
pub(crate) struct Api {
    client: reqwest::Client,
    base: reqwest::Url,
}

/// The API's error body: `{"code": 404, "message": "…"}`.
#[derive(serde::Deserialize)]
struct ApiError {
    message: String,
}

impl Api {
    pub(crate) fn new(client: reqwest::Client, base: reqwest::Url) -> Self {
        Api { client, base }
    }

    fn url(&self, path: &str) -> reqwest::Url {
        let mut url = self.base.clone();
        let joined = format!("{}{path}", url.path().trim_end_matches('/'));
        url.set_path(&joined);
        url
    }

    /// Sends `request` for `what`: the body of a success, or why there is
    /// none. `optional`: a 404, 405 or 501 means the node does not serve it.
    async fn send(
        &self,
        what: &str,
        url: &reqwest::Url,
        request: reqwest::RequestBuilder,
        optional: bool,
    ) -> Reading<bytes::Bytes> {
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => return request_error(what, url, e),
        };
        let status = response.status();
        let body = match crate::ethereum::body(what, url, response).await {
            Ok(b) => b,
            Err(reading) => return reading,
        };
        if status.is_success() {
            return Reading::Value(body);
        }
        let message = quoted(
            &serde_json::from_slice::<ApiError>(&body)
                .map(|e| e.message)
                .unwrap_or_else(|_| String::from_utf8_lossy(&body).into_owned()),
        );
        let not_served = optional && matches!(status.as_u16(), 404 | 405 | 501);
        let kind = if not_served {
            ReadErrorKind::NotServed
        } else {
            ReadErrorKind::Failed
        };
        Reading::error(
            kind,
            format!("{what}: {} answered {status}: {message}", shown(&self.base)),
        )
    }

    async fn get(
        &self,
        path: &str,
        token: Option<&Token>,
        optional: bool,
    ) -> Reading<bytes::Bytes> {
        let url = self.url(path);
        let mut request = self.client.get(url.clone());
        if let Some(token) = token {
            request = request.bearer_auth(token.bearer());
        }
        self.send(&format!("GET {path}"), &url, request, optional)
            .await
    }

    async fn post(
        &self,
        path: &str,
        body: &serde_json::Value,
        optional: bool,
    ) -> Reading<bytes::Bytes> {
        let url = self.url(path);
        let request = self.client.post(url.clone()).json(body);
        self.send(&format!("POST {path}"), &url, request, optional)
            .await
    }

    /// The validators of the head state among `ids` (indices or keys),
    /// asked [`CHUNK`] at a time, by index: what was not asked is left out
    /// and an index answered twice counts once; none asked, none read.
    pub(crate) async fn validators(&self, ids: &[String]) -> Reading<Vec<Validator>> {
        let path = "/eth/v1/beacon/states/head/validators";
        let mut all = BTreeMap::new();
        for chunk in ids.chunks(CHUNK) {
            let body = serde_json::json!({ "ids": chunk });
            let asked: HashSet<&str> = chunk.iter().map(String::as_str).collect();
            match parsed(
                &format!("POST {path}"),
                self.post(path, &body, false).await,
                beacon_bodies::validators,
            ) {
                Reading::Value(some) => {
                    for v in some {
                        if asked.contains(v.pubkey.as_str())
                            || asked.contains(v.index.to_string().as_str())
                        {
                            all.insert(v.index, v);
                        }
                    }
                }
                Reading::Error(e) => return Reading::Error(e),
            }
        }
        Reading::Value(all.into_values().collect())
    }

    /// Whether each of `indices` was seen live in `epoch`.
    pub(crate) async fn liveness(&self, epoch: u64, indices: &[u64]) -> Reading<Vec<(u64, bool)>> {
        let path = format!("/eth/v1/validator/liveness/{epoch}");
        self.per_chunk(&path, indices, false, beacon_bodies::liveness)
            .await
    }

    /// Each of `indices`' attestation reward in `epoch` (not served by
    /// every beacon node).
    pub(crate) async fn rewards(&self, epoch: u64, indices: &[u64]) -> Reading<Vec<(u64, i64)>> {
        let path = format!("/eth/v1/beacon/rewards/attestations/{epoch}");
        self.per_chunk(&path, indices, true, beacon_bodies::attestation_rewards)
            .await
    }

    /// Which of `indices` are in the sync committee of `epoch`'s period
    /// (this period's or the next's; not served by every beacon node).
    pub(crate) async fn sync_duties(&self, epoch: u64, indices: &[u64]) -> Reading<Vec<(u64, ())>> {
        let path = format!("/eth/v1/validator/duties/sync/{epoch}");
        self.per_chunk(&path, indices, true, beacon_bodies::sync_duties)
            .await
    }

    /// Who proposes at which slot in `epoch`.
    pub(crate) async fn proposers(&self, epoch: u64) -> Reading<Vec<(u64, u64)>> {
        let path = format!("/eth/v1/validator/duties/proposer/{epoch}");
        parsed(
            &format!("GET {path}"),
            self.get(&path, None, false).await,
            beacon_bodies::proposer_duties,
        )
    }

    /// The head's slot.
    pub(crate) async fn head_slot(&self) -> Reading<u64> {
        let path = "/eth/v1/node/syncing";
        parsed(&format!("GET {path}"), self.get(path, None, false).await, beacon_bodies::head_slot)
    }

    /// When the chain began (ms since the Unix epoch).
    pub(crate) async fn genesis_ms(&self) -> Reading<u64> {
        let path = "/eth/v1/beacon/genesis";
        parsed(&format!("GET {path}"), self.get(path, None, false).await, beacon_bodies::genesis_ms)
    }

    /// The keys a keymanager's validator client signs for.
    pub(crate) async fn keystores(&self, token: &Token) -> Reading<Vec<String>> {
        let path = "/eth/v1/keystores";
        parsed(
            &format!("GET {path}"),
            self.get(path, Some(token), false).await,
            beacon_bodies::keystores,
        )
    }

    /// `indices` posted to `path` [`CHUNK`] at a time, each answer's
    /// entries kept by index: only those asked, each once.
    async fn per_chunk<T>(
        &self,
        path: &str,
        indices: &[u64],
        optional: bool,
        parse: ByIndex<T>,
    ) -> Reading<Vec<(u64, T)>> {
        let mut all = BTreeMap::new();
        for chunk in indices.chunks(CHUNK) {
            let body = serde_json::json!(chunk.iter().map(u64::to_string).collect::<Vec<_>>());
            let asked: HashSet<u64> = chunk.iter().copied().collect();
            match parsed(
                &format!("POST {path}"),
                self.post(path, &body, optional).await,
                parse,
            ) {
                Reading::Value(some) => {
                    all.extend(some.into_iter().filter(|(index, _)| asked.contains(index)));
                }
                Reading::Error(e) => return Reading::Error(e),
            }
        }
        Reading::Value(all.into_iter().collect())
    }
}

/// A body read with `parse`, or why not.
fn parsed<T>(
    what: &str,
    body: Reading<bytes::Bytes>,
    parse: fn(&[u8]) -> Result<T, BodyError>,
) -> Reading<T> {
    match body {
        Reading::Value(bytes) => match parse(&bytes) {
            Ok(value) => Reading::Value(value),
            Err(e) => Reading::error(ReadErrorKind::Invalid, format!("{what}: {}", quoted(&e.to_string()))),
        },
        Reading::Error(e) => Reading::Error(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use wiremock::matchers::{body_json, header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const KEY: &str = "0x93247f2209abcacf57b75a51dafae777f9dd38bc7053d1af526f220a7489a6d3a2753e5f3e8b1cfe39b56f43611df74a";

    fn api(server: &MockServer) -> Api {
        crate::ethereum::install_crypto_provider();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(500))
            .build()
            .unwrap();
        Api::new(client, reqwest::Url::parse(&server.uri()).unwrap())
    }

    fn error_of<T: std::fmt::Debug>(reading: Reading<T>) -> (ReadErrorKind, String) {
        match reading {
            Reading::Error(e) => (e.kind, e.message),
            Reading::Value(v) => panic!("a value: {v:?}"),
        }
    }

    fn entry(index: u64) -> serde_json::Value {
        serde_json::json!({"index": index.to_string(), "balance": "32000000000", "status": "active_ongoing",
            "validator": {"pubkey": KEY, "slashed": false}})
    }

    #[tokio::test]
    async fn many_validators_are_asked_in_chunks_and_none_is_never_asked_as_all() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/eth/v1/beacon/states/head/validators"))
            .respond_with(|request: &wiremock::Request| {
                let asked: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
                let ids = asked["ids"].as_array().unwrap();
                assert!(!ids.is_empty() && ids.len() <= CHUNK, "{} ids", ids.len());
                let data: Vec<_> = ids.iter().map(|i| entry(i.as_str().unwrap().parse().unwrap())).collect();
                ResponseTemplate::new(200).set_body_json(serde_json::json!({"execution_optimistic": false, "finalized": false, "data": data}))
            })
            .expect(3)
            .mount(&server)
            .await;
        let ids: Vec<String> = (0..2500u64).map(|i| i.to_string()).collect();
        let Reading::Value(read) = api(&server).validators(&ids).await else {
            panic!("read")
        };
        assert_eq!(read.len(), 2500);
        assert!(matches!(api(&server).validators(&[]).await, Reading::Value(v) if v.is_empty()));
    }

    #[tokio::test]
    async fn a_node_answering_more_than_asked_a_huge_body_or_a_long_message_changes_nothing_it_should_not() {
        let server = MockServer::start().await;
        // Asked for 1 and 2, it answers the registry, 2 twice.
        let everyone: Vec<_> = [1u64, 2, 2, 3, 4].iter().map(|i| entry(*i)).collect();
        Mock::given(method("POST"))
            .and(path("/eth/v1/beacon/states/head/validators"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"data": everyone})))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/eth/v1/validator/liveness/9"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"data": [
                {"index": "1", "is_live": true}, {"index": "5", "is_live": false}, {"index": "1", "is_live": true}]})))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/eth/v1/validator/liveness/10"))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![b' '; crate::ethereum::MAX_BODY_BYTES + 1]))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/eth/v1/validator/duties/proposer/9"))
            .respond_with(ResponseTemplate::new(500).set_body_json(serde_json::json!({"code": 500, "message": "x".repeat(100_000)})))
            .mount(&server)
            .await;
        let api = api(&server);
        let Reading::Value(read) = api.validators(&["1".into(), "2".into()]).await else {
            panic!("read")
        };
        assert_eq!(read.iter().map(|v| v.index).collect::<Vec<_>>(), [1, 2], "only what was asked, each once");
        let Reading::Value(live) = api.liveness(9, &[1, 2]).await else {
            panic!("liveness")
        };
        assert_eq!(live, [(1, true)]);
        let (k, m) = error_of(api.liveness(10, &[1]).await);
        assert_eq!(k, ReadErrorKind::Invalid);
        assert!(m.contains("more than 16 MiB"), "{m}");
        let (k, m) = error_of(api.proposers(9).await);
        assert_eq!(k, ReadErrorKind::Failed);
        assert!(m.len() < 400, "the message is cut: {} bytes", m.len());
    }

    #[tokio::test]
    async fn rewards_not_served_malformed_answers_and_a_hang_are_each_their_own_reading() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/eth/v1/beacon/rewards/attestations/100"))
            .respond_with(ResponseTemplate::new(404).set_body_json(
                serde_json::json!({"code": 404, "message": "Epoch not known or required data not available"}),
            ))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/eth/v1/validator/liveness/100"))
            .and(body_json(serde_json::json!(["1", "2"])))
            .respond_with(ResponseTemplate::new(200).set_body_string("{\"data\": [{\"index\": 1}"))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/eth/v1/validator/duties/proposer/100"))
            .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
            .mount(&server)
            .await;
        let api = api(&server);
        let (k, m) = error_of(api.rewards(100, &[1, 2]).await);
        assert_eq!(k, ReadErrorKind::NotServed, "{m}");
        assert!(m.contains("Epoch not known"), "{m}");
        let (k, _) = error_of(api.liveness(100, &[1, 2]).await);
        assert_eq!(k, ReadErrorKind::Invalid);
        let (k, m) = error_of(api.proposers(100).await);
        assert_eq!(k, ReadErrorKind::Timeout, "{m}");
    }

    #[tokio::test]
    async fn the_keymanager_is_asked_with_its_token_which_no_message_shows() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/eth/v1/keystores"))
            .and(header("authorization", "Bearer api-token-0x5e3c"))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                serde_json::json!({"data": [{"validating_pubkey": KEY, "derivation_path": "m/12381/3600/0/0/0", "readonly": true}]}),
            ))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/eth/v1/keystores"))
            .respond_with(
                ResponseTemplate::new(403)
                    .set_body_json(serde_json::json!({"message": "Invalid token"})),
            )
            .mount(&server)
            .await;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "api-token-0x5e3c").unwrap();
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let token = super::super::settings::read_token(&file).unwrap();
        assert!(matches!(api(&server).keystores(&token).await, Reading::Value(k) if k == [KEY]));
        std::fs::write(&file, "wrong-token").unwrap();
        let wrong = super::super::settings::read_token(&file).unwrap();
        match api(&server).keystores(&wrong).await {
            Reading::Error(e) => {
                assert_eq!(e.kind, ReadErrorKind::Failed);
                assert!(
                    e.message.contains("403") && !e.message.contains("wrong-token"),
                    "{}",
                    e.message
                );
            }
            Reading::Value(_) => panic!("a wrong token is refused"),
        }
    }
}
