//! The systemd units and containers the operator listed: their state (`systemctl show`, the container engine), and start / stop / restart of those marked controllable.

use crate::answer::{Answer, Setup, ok, refuse, request, unknown};
use crate::containers::{ContainerRef, Engine, EngineError};
use bytes::Bytes;
use nodepair_peer::{Caller, ReplyFuture};
use nodepair_protocol::Status;
use nodepair_protocol::api::Method;
use nodepair_protocol::api::services::{
    ControlRequest, Service, ServicesControl, ServicesList, ServicesResponse,
};
use std::sync::Arc;
use std::path::PathBuf;
use std::time::Duration;

/// The properties read for each unit.
const PROPERTIES: &str = "Id,Description,LoadState,ActiveState,SubState,StateChangeTimestamp";

/// The units and the tool that reads and drives them; the containers and
/// their engine.
pub(crate) struct Services {
    systemctl: PathBuf,
    units: Vec<String>,
    containers: Vec<ContainerRef>,
    engine: Engine,
    controllable: Vec<String>,
    timeout: Duration,
}

/// Why an action was not done.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Refused {
    /// The name is not in `[services] units` or `[services] containers`.
    #[error("{0} is not one of the services this manager reports")]
    NotListed(String),
    /// It is listed but not in `[services] controllable`.
    #[error("this manager's operator does not allow apps to control {0}")]
    NotControllable(String),
    /// systemctl ran and failed.
    #[error("systemctl {action} {unit} failed: {why}")]
    Failed {
        /// The verb.
        action: &'static str,
        /// The unit.
        unit: String,
        /// What systemctl said.
        why: String,
    },
    /// systemctl did not finish in time.
    #[error("systemctl {action} {unit} did not finish within {secs} s")]
    Timeout {
        /// The verb.
        action: &'static str,
        /// The unit.
        unit: String,
        /// The limit.
        secs: u64,
    },
    /// The container engine could not do it.
    #[error("{action} {name}: {why}")]
    Engine {
        /// The verb.
        action: &'static str,
        /// The container, as listed.
        name: String,
        /// Why.
        why: EngineError,
    },
}

impl Services {
    /// The units of `config`'s `[services]`, or none of them and only its
    /// containers' state when `with_control` is false (what the alert
    /// rules read).
    pub(crate) fn from_config(config: &crate::config::Config, with_control: bool) -> Self {
        let s = &config.services;
        Services {
            systemctl: s.systemctl.clone(),
            units: s.units.clone(),
            containers: s.containers.clone(),
            engine: Engine::new(&config.containers),
            controllable: if with_control {
                s.controllable.clone()
            } else {
                Vec::new()
            },
            timeout: Duration::from_millis(s.timeout_ms),
        }
    }

    /// Whether anything is listed.
    pub(crate) fn is_empty(&self) -> bool {
        self.units.is_empty() && self.containers.is_empty()
    }

    /// Runs `systemctl <args>`; its standard output, or why not.
    async fn systemctl(&self, args: &[&str]) -> Result<String, (bool, String)> {
        let run = crate::tool::command(&self.systemctl)
            .args(args)
            .env("SYSTEMD_PAGER", "")
            .output();
        match tokio::time::timeout(self.timeout, run).await {
            Err(_) => Err((true, String::new())),
            Ok(Err(e)) => Err((
                false,
                format!("cannot run {}: {e}", self.systemctl.display()),
            )),
            Ok(Ok(out)) if out.status.success() => {
                Ok(String::from_utf8_lossy(&out.stdout).into_owned())
            }
            Ok(Ok(out)) => {
                let err = String::from_utf8_lossy(&out.stderr).trim().to_owned();
                Err((
                    false,
                    if err.is_empty() {
                        format!("exit status {}", out.status)
                    } else {
                        err
                    },
                ))
            }
        }
    }

    async fn show(&self, unit: &str) -> Service {
        let mut service = Service {
            unit: unit.to_owned(),
            kind: nodepair_protocol::api::services::ServiceKind::Unit,
            container: None,
            description: String::new(),
            active_state: String::new(),
            sub_state: String::new(),
            load_state: String::new(),
            since_ms: None,
            controllable: self.controllable.iter().any(|c| c == unit),
            error: None,
        };
        let args = [
            "show",
            "--no-pager",
            "--timestamp=unix",
            "--property",
            PROPERTIES,
            "--",
            unit,
        ];
        match self.systemctl(&args).await {
            Ok(text) => {
                for line in text.lines() {
                    let Some((key, value)) = line.split_once('=') else {
                        continue;
                    };
                    match key {
                        "Description" => service.description = value.to_owned(),
                        "LoadState" => service.load_state = value.to_owned(),
                        "ActiveState" => service.active_state = value.to_owned(),
                        "SubState" => service.sub_state = value.to_owned(),
                        "StateChangeTimestamp" => {
                            service.since_ms = value
                                .strip_prefix('@')
                                .and_then(|s| s.parse::<u64>().ok())
                                .map(|s| s * 1000);
                        }
                        _ => {}
                    }
                }
                if service.active_state.is_empty() {
                    service.error = Some("systemctl show gave no ActiveState".into());
                }
            }
            Err((true, _)) => {
                service.error = Some(format!(
                    "systemctl show did not answer within {} s",
                    self.timeout.as_secs()
                ));
            }
            Err((false, why)) => service.error = Some(why),
        }
        service
    }

    /// Every listed unit, then every listed container, read concurrently.
    pub(crate) async fn list(&self) -> ServicesResponse {
        let units = futures::future::join_all(self.units.iter().map(|u| self.show(u)));
        let containers = futures::future::join_all(self.containers.iter().map(|c| {
            let controllable = self.controllable.contains(&c.to_string());
            self.engine.show(c, controllable)
        }));
        let (mut services, containers) = tokio::join!(units, containers);
        services.extend(containers);
        ServicesResponse { services }
    }

    /// Does `request` if the configuration allows it, logging who asked.
    pub(crate) async fn control(
        &self,
        caller: &Caller,
        request: &ControlRequest,
    ) -> Result<Service, Refused> {
        let unit = request.unit.as_str();
        let action = request.action.verb();
        let who = caller.public_key.fingerprint();
        let container = self.containers.iter().find(|c| c.to_string() == unit);
        if !self.units.iter().any(|u| u == unit) && container.is_none() {
            tracing::warn!(target: "audit", caller = %who, name = ?caller.display_name, unit, action, "refused: not a listed service");
            return Err(Refused::NotListed(unit.to_owned()));
        }
        if !self.controllable.iter().any(|u| u == unit) {
            tracing::warn!(target: "audit", caller = %who, name = ?caller.display_name, unit, action, "refused: not controllable");
            return Err(Refused::NotControllable(unit.to_owned()));
        }
        tracing::info!(target: "audit", caller = %who, name = ?caller.display_name, unit, action, "service action asked");
        if let Some(container) = container {
            return match self.engine.act(container, request.action).await {
                Ok(()) => {
                    tracing::info!(target: "audit", caller = %who, unit, action, "service action done");
                    Ok(self.engine.show(container, true).await)
                }
                Err(why) => {
                    tracing::warn!(target: "audit", caller = %who, unit, action, why = ?why.to_string(), "service action failed");
                    Err(Refused::Engine {
                        action,
                        name: unit.to_owned(),
                        why,
                    })
                }
            };
        }
        match self.systemctl(&[action, "--no-block", "--", unit]).await {
            Ok(_) => {
                tracing::info!(target: "audit", caller = %who, unit, action, "service action done");
                Ok(self.show(unit).await)
            }
            Err((true, _)) => {
                tracing::warn!(target: "audit", caller = %who, unit, action, "service action did not finish in time");
                Err(Refused::Timeout {
                    action,
                    unit: unit.to_owned(),
                    secs: self.timeout.as_secs(),
                })
            }
            Err((false, why)) => {
                tracing::warn!(target: "audit", caller = %who, unit, action, why = ?why, "service action failed");
                Err(Refused::Failed {
                    action,
                    unit: unit.to_owned(),
                    why,
                })
            }
        }
    }
}

/// The `services` capability: the units and containers in `[services]`.
pub(crate) fn answerer(setup: &mut Setup<'_>) -> anyhow::Result<Arc<dyn Answer>> {
    Ok(Arc::new(Services::from_config(setup.config, true)))
}

impl Answer for Services {
    fn answer(self: Arc<Self>, caller: Caller, method: &'static str, body: Bytes) -> ReplyFuture {
        Box::pin(async move {
            match method {
                ServicesList::NAME => ok(&self.list().await),
                ServicesControl::NAME => {
                    let request = match request::<ServicesControl>(&body) {
                        Ok(r) => r,
                        Err(refused) => return refused,
                    };
                    match self.control(&caller, &request).await {
                        Ok(service) => ok(&service),
                        Err(why) => refuse(
                            match why {
                                Refused::NotListed(_) | Refused::NotControllable(_) => {
                                    Status::FORBIDDEN
                                }
                                Refused::Failed { .. } => Status::UPSTREAM_ERROR,
                                Refused::Timeout { .. }
                                | Refused::Engine {
                                    why: EngineError::Timeout(_),
                                    ..
                                } => Status::UPSTREAM_TIMEOUT,
                                Refused::Engine { .. } => Status::UPSTREAM_ERROR,
                            },
                            why,
                        ),
                    }
                }
                other => unknown(other),
            }
        })
    }
}
