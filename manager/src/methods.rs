//! What the manager answers over a session, and which capability each method needs.

use crate::ethereum::Ethereum;
use crate::host::Host;
use crate::logs::{LogError, Logs};
use crate::services::{Refused, Services};
use bytes::Bytes;
use nodepair_peer::{Caller, Reply, ReplyFuture, RequestHandler};
use nodepair_protocol::Status;
use nodepair_protocol::api::ethereum::EthStatus;
use nodepair_protocol::api::host::{Health, HostFollow, HostUnfollow};
use nodepair_protocol::api::info::{Info, InfoResponse};
use nodepair_protocol::api::logs::{
    FollowResponse, LogsFollow, LogsSources, LogsTail, LogsUnfollow, SourcesResponse,
};
use nodepair_protocol::api::services::{ServicesControl, ServicesList};
use nodepair_protocol::api::{self, Method};
use std::sync::Arc;
use std::time::Instant;

/// The manager's request handler.
#[derive(Clone)]
pub(crate) struct Methods(Arc<Inner>);

pub(crate) struct Inner {
    display_name: String,
    started: Instant,
    capabilities: Vec<String>,
    host: Arc<Host>,
    ethereum: Ethereum,
    services: Services,
    logs: Arc<Logs>,
}

impl std::ops::Deref for Methods {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl Methods {
    pub(crate) fn new(
        display_name: String,
        started: Instant,
        capabilities: Vec<String>,
        host: Arc<Host>,
        ethereum: Ethereum,
        services: Services,
        logs: Arc<Logs>,
    ) -> Self {
        Methods(Arc::new(Inner {
            display_name,
            started,
            capabilities,
            host,
            ethereum,
            services,
            logs,
        }))
    }

    /// Refuses `M` when the operator has not enabled its capability.
    fn allowed<M: Method>(&self) -> Result<(), Reply> {
        match M::CAPABILITY {
            Some(c) if !self.capabilities.iter().any(|have| have == c) => Err(Reply {
                status: Status::CAPABILITY_DISABLED,
                body: Bytes::from(format!(
                    "{} needs the {c:?} capability, which this manager's operator has not enabled",
                    M::NAME
                )),
            }),
            _ => Ok(()),
        }
    }

    async fn answer(&self, caller: &Caller, method: &str, body: &[u8]) -> Reply {
        match method {
            // Who this manager is and how long it has run: the app's first
            // question after (re)connecting, and the benchmark's round trip.
            Info::NAME => ok(&InfoResponse {
                display_name: self.display_name.clone(),
                version: env!("CARGO_PKG_VERSION").to_owned(),
                uptime_s: self.started.elapsed().as_secs(),
            }),
            Health::NAME => {
                if let Err(refused) = self.allowed::<Health>() {
                    return refused;
                }
                match api::decode_request::<Health>(body) {
                    Ok(request) => ok(&self.host.health(&request)),
                    Err(e) => bad_request(&e),
                }
            }
            HostFollow::NAME => {
                if let Err(refused) = self.allowed::<HostFollow>() {
                    return refused;
                }
                match api::decode_request::<HostFollow>(body) {
                    Ok(r) => ok(&self.host.follow(caller, r.interval_ms)),
                    Err(e) => bad_request(&e),
                }
            }
            HostUnfollow::NAME => {
                if let Err(refused) = self.allowed::<HostUnfollow>() {
                    return refused;
                }
                self.host.unfollow(caller);
                ok(&api::Empty {})
            }
            EthStatus::NAME => {
                if let Err(refused) = self.allowed::<EthStatus>() {
                    return refused;
                }
                ok(&self.ethereum.status().await)
            }
            ServicesList::NAME => {
                if let Err(refused) = self.allowed::<ServicesList>() {
                    return refused;
                }
                ok(&self.services.list().await)
            }
            ServicesControl::NAME => {
                if let Err(refused) = self.allowed::<ServicesControl>() {
                    return refused;
                }
                let request = match api::decode_request::<ServicesControl>(body) {
                    Ok(r) => r,
                    Err(e) => return bad_request(&e),
                };
                match self.services.control(caller, &request).await {
                    Ok(service) => ok(&service),
                    Err(refused) => Reply {
                        status: match refused {
                            Refused::NotListed(_) | Refused::NotControllable(_) => {
                                Status::FORBIDDEN
                            }
                            Refused::Failed { .. } => Status::UPSTREAM_ERROR,
                            Refused::Timeout { .. } => Status::UPSTREAM_TIMEOUT,
                        },
                        body: Bytes::from(refused.to_string()),
                    },
                }
            }
            LogsSources::NAME => {
                if let Err(refused) = self.allowed::<LogsSources>() {
                    return refused;
                }
                ok(&SourcesResponse {
                    sources: self.logs.sources(),
                    bytes_per_sec: self.logs.bytes_per_sec(),
                })
            }
            LogsTail::NAME => {
                if let Err(refused) = self.allowed::<LogsTail>() {
                    return refused;
                }
                match api::decode_request::<LogsTail>(body) {
                    Ok(r) => self
                        .logs
                        .tail(&r.source, r.lines, r.skip)
                        .await
                        .map_or_else(log_refusal, |l| ok(&l)),
                    Err(e) => bad_request(&e),
                }
            }
            LogsFollow::NAME => {
                if let Err(refused) = self.allowed::<LogsFollow>() {
                    return refused;
                }
                match api::decode_request::<LogsFollow>(body) {
                    Ok(r) => self
                        .logs
                        .follow(caller, &r.source)
                        .map_or_else(log_refusal, |stream| ok(&FollowResponse { stream })),
                    Err(e) => bad_request(&e),
                }
            }
            LogsUnfollow::NAME => {
                if let Err(refused) = self.allowed::<LogsUnfollow>() {
                    return refused;
                }
                match api::decode_request::<LogsUnfollow>(body) {
                    Ok(r) => {
                        self.logs.unfollow(caller, &r.source);
                        ok(&api::Empty {})
                    }
                    Err(e) => bad_request(&e),
                }
            }
            _ => Reply {
                status: Status::UNKNOWN_METHOD,
                body: Bytes::from(format!("this manager has no method {method:?}")),
            },
        }
    }
}

fn ok<T: serde::Serialize>(value: &T) -> Reply {
    Reply {
        status: Status::OK,
        body: Bytes::from(api::encode(value)),
    }
}

fn log_refusal(e: LogError) -> Reply {
    Reply {
        status: match e {
            LogError::NotListed(_) => Status::FORBIDDEN,
            LogError::TooMany => Status::RATE_LIMITED,
            LogError::Read { .. } => Status::UPSTREAM_ERROR,
        },
        body: Bytes::from(e.to_string()),
    }
}

fn bad_request(e: &api::BodyError) -> Reply {
    Reply {
        status: Status::BAD_REQUEST,
        body: Bytes::from(e.to_string()),
    }
}

impl RequestHandler for Methods {
    fn handle(&self, caller: Caller, method: String, body: Bytes) -> ReplyFuture {
        let methods = self.clone();
        Box::pin(async move {
            let reply = methods.answer(&caller, &method, &body).await;
            if reply.status != Status::OK {
                tracing::debug!(caller = ?caller.display_name, ?method, status = reply.status.0, "refused");
            }
            reply
        })
    }
}

/// Methods offering `capabilities`, with nothing configured behind them.
#[cfg(test)]
fn methods(capabilities: &[&str]) -> Methods {
    let second = std::time::Duration::from_secs(1);
    Methods::new(
        "validator-1".into(),
        Instant::now(),
        capabilities.iter().map(|c| (*c).to_owned()).collect(),
        Host::new(Arc::default()),
        Ethereum::new(None, None, second).expect("a client without TLS settings builds"),
        Services::new("systemctl".into(), Vec::new(), Vec::new(), second),
        Arc::new(Logs::new(
            Vec::new(),
            Vec::new(),
            "journalctl".into(),
            1024,
            Arc::default(),
        )),
    )
}

#[cfg(test)]
fn caller() -> Caller {
    Caller {
        public_key: nodepair_protocol::PublicKey([7; 32]),
        display_name: "laptop".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn host_health_needs_the_host_capability() {
        let refused = methods(&["info"])
            .answer(&caller(), "host.health", b"")
            .await;
        assert_eq!(refused.status, Status::CAPABILITY_DISABLED);
        assert!(String::from_utf8_lossy(&refused.body).contains("\"host\" capability"));
        let answered = methods(&["info", "host"])
            .answer(&caller(), "host.health", b"")
            .await;
        assert_eq!(answered.status, Status::OK);
        let health = api::decode_response::<Health>(&answered.body).unwrap();
        assert!(health.memory_total > 0);
    }

    #[tokio::test]
    async fn a_host_follow_is_bounded_and_needs_the_host_capability() {
        let refused = methods(&["info"])
            .answer(&caller(), "host.follow", br#"{"interval_ms":1000}"#)
            .await;
        assert_eq!(refused.status, Status::CAPABILITY_DISABLED);
        let m = methods(&["host"]);
        let fast = m
            .answer(&caller(), "host.follow", br#"{"interval_ms":10}"#)
            .await;
        assert_eq!(fast.status, Status::OK);
        let started = api::decode_response::<HostFollow>(&fast.body).unwrap();
        assert_eq!(started.interval_ms, 1000, "10 ms is raised to the floor");
        assert_eq!(started.stream, "host");
        let no_rate = m.answer(&caller(), "host.follow", b"").await;
        assert_eq!(no_rate.status, Status::BAD_REQUEST);
        assert_eq!(
            m.answer(&caller(), "host.unfollow", b"").await.status,
            Status::OK
        );
    }

    #[tokio::test]
    async fn bad_bodies_and_unknown_methods_say_what_is_wrong() {
        let m = methods(&["host"]);
        let bad = m.answer(&caller(), "host.health", b"[1,2]").await;
        assert_eq!(bad.status, Status::BAD_REQUEST);
        assert!(String::from_utf8_lossy(&bad.body).contains("host.health"));
        assert_eq!(
            m.answer(&caller(), "host.reboot", b"").await.status,
            Status::UNKNOWN_METHOD
        );
        let info =
            api::decode_response::<Info>(&m.answer(&caller(), "manager.info", b"").await.body)
                .unwrap();
        assert_eq!(info.display_name, "validator-1");
    }
}

#[cfg(test)]
mod ethereum_tests {
    use super::*;
    use nodepair_protocol::api::reading::{ReadErrorKind, Reading};

    #[tokio::test]
    async fn eth_status_needs_its_capability_and_says_what_is_not_configured() {
        let refused = methods(&["info"])
            .answer(&caller(), "eth.status", b"")
            .await;
        assert_eq!(refused.status, Status::CAPABILITY_DISABLED);
        let answered = methods(&["ethereum"])
            .answer(&caller(), "eth.status", b"")
            .await;
        assert_eq!(answered.status, Status::OK);
        let status = api::decode_response::<EthStatus>(&answered.body).unwrap();
        let Reading::Error(e) = status.consensus.version else {
            panic!("no beacon URL, yet a version")
        };
        assert_eq!(e.kind, ReadErrorKind::NotConfigured);
        assert!(e.message.contains("beacon_url"), "{}", e.message);
    }
}
