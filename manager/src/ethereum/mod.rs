//! The Ethereum node beside the manager: its consensus client (Beacon Node REST API) and execution client (JSON-RPC), read for `eth.status`.

mod beacon;
mod execution;

use crate::answer::{Answer, Setup, ok, unknown};
use anyhow::Context;
use bytes::Bytes;
use nodepair_peer::{Caller, ReplyFuture};
use nodepair_protocol::api::Method;
use nodepair_protocol::api::ethereum::{
    ConsensusStatus, EthStatus, EthStatusResponse, ExecutionStatus,
};
use std::sync::Arc;
use nodepair_protocol::api::reading::{ReadErrorKind, Reading};
use std::time::Duration;

pub(crate) use beacon::Beacon;
pub(crate) use execution::Execution;

/// Both clients, as configured.
pub(crate) struct Ethereum {
    beacon: Option<Beacon>,
    execution: Option<Execution>,
}

impl Ethereum {
    /// Clients for the configured URLs, each request bounded by `timeout`.
    pub(crate) fn new(
        beacon_url: Option<&reqwest::Url>,
        execution_url: Option<&reqwest::Url>,
        timeout: Duration,
    ) -> Result<Self, reqwest::Error> {
        install_crypto_provider();
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("nodepair-manager/", env!("CARGO_PKG_VERSION")))
            // A redirect could lead anywhere, and its URL into messages.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Ethereum {
            beacon: beacon_url.map(|u| Beacon::new(client.clone(), u.clone())),
            execution: execution_url.map(|u| Execution::new(client.clone(), u.clone())),
        })
    }

    /// Reads everything both clients report, all at once.
    pub(crate) async fn status(&self) -> EthStatusResponse {
        let consensus = async {
            match &self.beacon {
                Some(b) => b.status().await,
                None => ConsensusStatus {
                    endpoint: None,
                    version: not_configured("beacon_url"),
                    syncing: not_configured("beacon_url"),
                    peers: not_configured("beacon_url"),
                    health: not_configured("beacon_url"),
                },
            }
        };
        let execution = async {
            match &self.execution {
                Some(e) => e.status().await,
                None => ExecutionStatus {
                    endpoint: None,
                    version: not_configured("execution_url"),
                    syncing: not_configured("execution_url"),
                    peers: not_configured("execution_url"),
                    head: Some(not_configured("execution_url")),
                },
            }
        };
        let (consensus, execution) = tokio::join!(consensus, execution);
        EthStatusResponse {
            consensus,
            execution,
            read_at_ms: nodepair_peer::Clock::system().unix_millis(),
        }
    }
}

fn not_configured<T>(key: &str) -> Reading<T> {
    Reading::error(
        ReadErrorKind::NotConfigured,
        format!("[ethereum] {key} is not set in the manager's configuration"),
    )
}

/// A URL as shown to apps: its origin (scheme, host, port) and no more.
/// A path or query often holds an API key (`https://mainnet.infura.io/v3/<key>`,
/// `?apikey=…`), as the user and password do, so any path but `/` shows as
/// `/…`.
pub(crate) fn shown(url: &reqwest::Url) -> String {
    let mut out = url.origin().ascii_serialization();
    if url.path() == "/" && url.query().is_none() && url.fragment().is_none() {
        out.push('/');
    } else {
        out.push_str("/…");
    }
    out
}

/// Longest answer read from a node's API: a page of validators is under
/// a megabyte, and a node that sends more is not believed.
pub(crate) const MAX_BODY_BYTES: usize = 16 << 20;

/// Longest piece of another program's text (an error message, a value it
/// sent) a reading keeps, so an answer to an app stays within a frame.
pub(crate) const MAX_QUOTED_CHARS: usize = 200;

/// `text` cut to [`MAX_QUOTED_CHARS`].
pub(crate) fn quoted(text: &str) -> String {
    let mut out: String = text.chars().take(MAX_QUOTED_CHARS).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

/// The body of `response`, read up to [`MAX_BODY_BYTES`]: a longer one is
/// an invalid reading, not memory taken.
pub(crate) async fn body<T>(
    what: &str,
    url: &reqwest::Url,
    mut response: reqwest::Response,
) -> Result<bytes::Bytes, Reading<T>> {
    let too_long = || {
        Reading::error(
            ReadErrorKind::Invalid,
            format!(
                "{what}: {} answered more than {} MiB",
                shown(url),
                MAX_BODY_BYTES >> 20
            ),
        )
    };
    if response
        .content_length()
        .is_some_and(|n| n > MAX_BODY_BYTES as u64)
    {
        return Err(too_long());
    }
    let mut body = bytes::BytesMut::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_BODY_BYTES {
                    return Err(too_long());
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body.freeze()),
            Err(e) => return Err(request_error(what, url, e)),
        }
    }
}

/// What a failed request means for people. The error's own text is used
/// without its URL, which holds everything [`shown`] leaves out.
pub(crate) fn request_error<T>(
    what: &str,
    url: &reqwest::Url,
    e: reqwest::Error,
) -> Reading<T> {
    let e = e.without_url();
    let at = shown(url);
    if e.is_timeout() {
        Reading::error(
            ReadErrorKind::Timeout,
            format!("{what}: {at} did not answer in time"),
        )
    } else if e.is_connect() {
        Reading::error(
            ReadErrorKind::Unreachable,
            format!("{what}: cannot connect to {at}"),
        )
    } else if e.is_decode() {
        Reading::error(
            ReadErrorKind::Invalid,
            format!("{what}: {at} answered something that is not JSON"),
        )
    } else {
        Reading::error(ReadErrorKind::Unreachable, format!("{what}: {at}: {e}"))
    }
}

/// rustls needs one process-wide crypto provider; ring's, as everywhere in NodePair.
pub(crate) fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}


/// The `ethereum` capability: clients for the URLs in `[ethereum]`.
pub(crate) fn answerer(setup: &mut Setup<'_>) -> anyhow::Result<Arc<dyn Answer>> {
    let config = &setup.config.ethereum;
    let url = |text: &str| {
        reqwest::Url::parse(text).with_context(|| format!("{text:?} is not a URL"))
    };
    let beacon = config.beacon_url.as_deref().map(url).transpose()?;
    let execution = config.execution_url.as_deref().map(url).transpose()?;
    let timeout = Duration::from_millis(config.timeout_ms);
    let ethereum = Ethereum::new(beacon.as_ref(), execution.as_ref(), timeout)
        .context("cannot set up the Ethereum clients")?;
    Ok(Arc::new(ethereum))
}

impl Answer for Ethereum {
    fn answer(self: Arc<Self>, _caller: Caller, method: &'static str, _body: Bytes) -> ReplyFuture {
        Box::pin(async move {
            match method {
                EthStatus::NAME => ok(&self.status().await),
                other => unknown(other),
            }
        })
    }
}

#[cfg(test)]
mod tests;
