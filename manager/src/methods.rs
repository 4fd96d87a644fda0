//! What the manager answers over a session: each method to its capability, if the operator enabled it and granted it to the asking app.

use crate::answer::{Answer, Setup, ready, refuse, unknown};
use bytes::Bytes;
use nodepair_peer::{Caller, ReplyFuture, RequestHandler};
use nodepair_protocol::Status;
use nodepair_protocol::api;
use std::collections::HashMap;
use std::sync::Arc;

/// The manager's request handler: every capability it has, and those the
/// operator enabled.
#[derive(Clone)]
pub(crate) struct Methods(Arc<Inner>);

struct Inner {
    enabled: Vec<String>,
    answering: HashMap<&'static str, Arc<dyn Answer>>,
}

impl Methods {
    /// Builds every capability (`crate::capabilities`) from `setup`; those
    /// not in `[capabilities]` refuse their methods.
    pub(crate) fn new(setup: &mut Setup<'_>) -> anyhow::Result<Self> {
        Ok(Methods(Arc::new(Inner {
            enabled: setup.config.capabilities.clone(),
            answering: crate::capabilities(setup)?.into_iter().collect(),
        })))
    }

    fn answer(&self, caller: Caller, method: &str, body: Bytes) -> ReplyFuture {
        let Some(info) = api::method(method) else {
            return ready(unknown(method));
        };
        // Methods that need no capability (`manager.info`) are the `info`
        // capability's, which every manager has.
        let capability = info.capability.unwrap_or(api::info::CAPABILITY);
        if info.capability.is_some() && !self.0.enabled.iter().any(|c| c == capability) {
            let why = format!(
                "{method} needs the {capability:?} capability, which this manager's operator has not enabled"
            );
            return ready(refuse(Status::CAPABILITY_DISABLED, why));
        }
        if !nodepair_protocol::grants::allows(caller.grants.as_deref(), capability) {
            let why = format!(
                "{method} needs the {capability:?} capability, which this manager's operator has not granted to this app"
            );
            return ready(refuse(Status::FORBIDDEN, why));
        }
        match self.0.answering.get(capability) {
            Some(answering) => Arc::clone(answering).answer(caller, info.name, body),
            None => ready(unknown(method)),
        }
    }
}

impl RequestHandler for Methods {
    fn handle(&self, caller: Caller, method: String, body: Bytes) -> ReplyFuture {
        let (who, answer) = (
            caller.display_name.clone(),
            self.answer(caller, &method, body),
        );
        Box::pin(async move {
            let reply = answer.await;
            if reply.status != Status::OK {
                tracing::debug!(caller = ?who, ?method, status = reply.status.0, "refused");
            }
            reply
        })
    }
}

/// Methods offering `capabilities`, with nothing configured behind them.
#[cfg(test)]
fn methods(capabilities: &[&str]) -> Methods {
    let mut config = crate::config::Config::default();
    config.display_name = crate::config::DisplayName::try_from("validator-1".to_owned()).unwrap();
    config.capabilities = capabilities.iter().map(|c| (*c).to_owned()).collect();
    let mut setup = Setup {
        config: &config,
        peer: Arc::default(),
        started: std::time::Instant::now(),
        tasks: Vec::new(),
        last_run_crashed: false,
        watching: true,
        validators_seen: Arc::default(),
    };
    let methods = Methods::new(&mut setup).expect("nothing configured builds");
    for task in setup.tasks {
        task.abort();
    }
    methods
}

#[cfg(test)]
impl Methods {
    /// The reply to `method` with `body`, from the test caller.
    async fn ask(&self, method: &str, body: &[u8]) -> nodepair_peer::Reply {
        self.answer(caller(), method, Bytes::copy_from_slice(body))
            .await
    }
}

#[cfg(test)]
fn caller() -> Caller {
    Caller {
        public_key: nodepair_protocol::PublicKey([7; 32]),
        display_name: "laptop".into(),
        grants: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nodepair_protocol::api::host::{Health, HostFollow};
    use nodepair_protocol::api::info::Info;

    #[tokio::test]
    async fn host_health_needs_the_host_capability() {
        let refused = methods(&["info"]).ask("host.health", b"").await;
        assert_eq!(refused.status, Status::CAPABILITY_DISABLED);
        assert!(String::from_utf8_lossy(&refused.body).contains("\"host\" capability"));
        let answered = methods(&["info", "host"]).ask("host.health", b"").await;
        assert_eq!(answered.status, Status::OK);
        let health = api::decode_response::<Health>(&answered.body).unwrap();
        assert!(health.memory_total > 0);
    }

    #[tokio::test]
    async fn a_capability_not_granted_to_the_caller_is_403_naming_it() {
        let m = methods(&["info", "host", "logs"]);
        let mut narrow = caller();
        narrow.grants = Some(vec!["host".into()]);
        let refused = m.answer(narrow.clone(), "logs.sources", Bytes::new()).await;
        assert_eq!(refused.status, Status::FORBIDDEN);
        let why = String::from_utf8_lossy(&refused.body).into_owned();
        assert!(
            why.contains("\"logs\" capability") && why.contains("not granted"),
            "{why}"
        );
        let host = m.answer(narrow.clone(), "host.health", Bytes::new()).await;
        assert_eq!(host.status, Status::OK, "what was granted is answered");
        let info = m.answer(narrow, "manager.info", Bytes::new()).await;
        assert_eq!(info.status, Status::OK, "who the manager is needs no grant");
        // Not enabled by the configuration outranks not granted: 423, as
        // for every app.
        let mut all = caller();
        all.grants = Some(vec!["services".into()]);
        let disabled = m.answer(all, "services.list", Bytes::new()).await;
        assert_eq!(disabled.status, Status::CAPABILITY_DISABLED);
    }

    #[tokio::test]
    async fn a_host_follow_is_bounded_and_needs_the_host_capability() {
        let refused = methods(&["info"])
            .ask("host.follow", br#"{"interval_ms":1000}"#)
            .await;
        assert_eq!(refused.status, Status::CAPABILITY_DISABLED);
        let m = methods(&["host"]);
        let fast = m.ask("host.follow", br#"{"interval_ms":10}"#).await;
        assert_eq!(fast.status, Status::OK);
        let started = api::decode_response::<HostFollow>(&fast.body).unwrap();
        assert_eq!(started.interval_ms, 1000, "10 ms is raised to the floor");
        assert_eq!(started.stream, "host");
        let no_rate = m.ask("host.follow", b"").await;
        assert_eq!(no_rate.status, Status::BAD_REQUEST);
        assert_eq!(m.ask("host.unfollow", b"").await.status, Status::OK);
    }

    #[tokio::test]
    async fn bad_bodies_and_unknown_methods_say_what_is_wrong() {
        let m = methods(&["host"]);
        let bad = m.ask("host.health", b"[1,2]").await;
        assert_eq!(bad.status, Status::BAD_REQUEST);
        assert!(String::from_utf8_lossy(&bad.body).contains("host.health"));
        assert_eq!(
            m.ask("host.reboot", b"").await.status,
            Status::UNKNOWN_METHOD
        );
        let info = api::decode_response::<Info>(&m.ask("manager.info", b"").await.body).unwrap();
        assert_eq!(info.display_name, "validator-1");
    }
}

#[cfg(test)]
mod ethereum_tests {
    use super::*;
    use nodepair_protocol::api::ethereum::EthStatus;
    use nodepair_protocol::api::reading::{ReadErrorKind, Reading};

    #[tokio::test]
    async fn eth_status_needs_its_capability_and_says_what_is_not_configured() {
        let refused = methods(&["info"]).ask("eth.status", b"").await;
        assert_eq!(refused.status, Status::CAPABILITY_DISABLED);
        let answered = methods(&["ethereum"]).ask("eth.status", b"").await;
        assert_eq!(answered.status, Status::OK);
        let status = api::decode_response::<EthStatus>(&answered.body).unwrap();
        let Reading::Error(e) = status.consensus.version else {
            panic!("no beacon URL, yet a version")
        };
        assert_eq!(e.kind, ReadErrorKind::NotConfigured);
        assert!(e.message.contains("beacon_url"), "{}", e.message);
    }
}
