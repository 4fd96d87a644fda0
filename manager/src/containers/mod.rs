//! The containers the operator listed, through the Docker Engine API on a Unix socket (Docker's own, or Podman's compatible service): their state, start / stop / restart, and the raw stream of their logs.
//!
//! Only listed names ever reach the engine: a name is checked against the
//! configuration (and the configuration's names against Docker's rules)
//! before any call, and what the engine answers for a name is checked to
//! be that container (Docker also takes an id's prefix for a name).

mod engine_error;
pub(crate) mod log_resume;
mod name;
mod state;

pub(crate) use engine_error::EngineError;
pub(crate) use name::ContainerRef;

use bollard::Docker;
use bollard::models::ContainerInspectResponse;
use bollard::query_parameters::{ListContainersOptionsBuilder, LogsOptions};
use futures::Stream;
use nodepair_protocol::api::services::{Action, Service};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The Engine API version asked for: served by Docker 20.10 and later and
/// by Podman 3 and later.
const API_VERSION: &bollard::ClientVersion = &bollard::ClientVersion {
    major_version: 1,
    minor_version: 41,
};

/// The sockets looked at, in order, when `[containers] socket` is not set.
fn default_sockets() -> Vec<PathBuf> {
    let mut sockets = vec![PathBuf::from("/var/run/docker.sock")];
    if let Some(runtime) = std::env::var_os("XDG_RUNTIME_DIR") {
        sockets.push(Path::new(&runtime).join("podman/podman.sock"));
    }
    sockets.push(PathBuf::from("/run/podman/podman.sock"));
    sockets
}

/// The `[containers]` section: where the engine is, and how long it may take.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct ContainersConfig {
    /// The engine's Unix socket [default: /var/run/docker.sock if it
    /// exists, else $XDG_RUNTIME_DIR/podman/podman.sock if it exists, else
    /// /run/podman/podman.sock].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) socket: Option<PathBuf>,
    /// How long one read of the engine may take, in milliseconds.
    pub(crate) timeout_ms: u64,
    /// How long a start, stop or restart may take, in seconds (a stop
    /// waits for the container to exit: its own stop timeout, 10 s unless
    /// its image or Compose file says otherwise).
    pub(crate) action_timeout_secs: u64,
}

impl Default for ContainersConfig {
    fn default() -> Self {
        ContainersConfig {
            socket: None,
            timeout_ms: 10_000,
            action_timeout_secs: 180,
        }
    }
}

impl ContainersConfig {
    /// Whether the values can be used.
    pub(crate) fn check(&self) -> Result<(), String> {
        if !(1000..=600_000).contains(&self.timeout_ms) {
            return Err("[containers] timeout_ms must be 1000 to 600000".into());
        }
        if !(1..=3600).contains(&self.action_timeout_secs) {
            return Err("[containers] action_timeout_secs must be 1 to 3600".into());
        }
        if let Some(socket) = &self.socket
            && !socket.is_absolute()
        {
            return Err(format!(
                "[containers] socket is {}, which is not an absolute path",
                socket.display()
            ));
        }
        Ok(())
    }
}

/// The engine, as the manager asks it.
#[derive(Clone, Debug)]
pub(crate) struct Engine {
    socket: PathBuf,
    timeout: Duration,
    action_timeout: Duration,
}

/// What the operator was last told about the engine, process-wide (the
/// services, logs and alerts capabilities each ask it): so one warning is
/// written when it goes away, again every few minutes while it stays
/// away, and one line when it is back.
static TOLD: Mutex<Option<(&'static str, Instant)>> = Mutex::new(None);

/// How often a lasting fault is told again.
const RETELL: Duration = Duration::from_secs(300);

impl Engine {
    /// The engine of `config`: its socket, or the first default that
    /// exists now (chosen once, so containers never move from one engine
    /// to another's while Docker restarts; Docker's if none exists yet).
    pub(crate) fn new(config: &ContainersConfig) -> Self {
        let socket = config.socket.clone().unwrap_or_else(|| {
            let defaults = default_sockets();
            defaults
                .iter()
                .find(|s| s.exists())
                .unwrap_or(&defaults[0])
                .clone()
        });
        Engine {
            socket,
            timeout: Duration::from_millis(config.timeout_ms),
            action_timeout: Duration::from_secs(config.action_timeout_secs),
        }
    }

    /// The engine's socket.
    pub(crate) fn socket(&self) -> PathBuf {
        self.socket.clone()
    }

    fn client(&self, timeout: Duration) -> Result<(Docker, PathBuf), EngineError> {
        let socket = self.socket();
        let secs = timeout.as_secs().max(1);
        // A Unix socket; on Windows, a named pipe (`//./pipe/docker_engine`).
        match Docker::connect_with_socket(&socket.to_string_lossy(), secs, API_VERSION) {
            Ok(docker) => Ok((docker, socket)),
            Err(e) => Err(self.failed(EngineError::from_bollard(e, &socket, secs))),
        }
    }

    /// `e`, told to the operator when it says the engine is out of reach.
    fn failed(&self, e: EngineError) -> EngineError {
        if !e.is_unreachable() {
            return e;
        }
        let (kind, advice) = match &e {
            EngineError::PermissionDenied(socket) => (
                "permission",
                format!(
                    "the manager's user may not open the container engine's socket {}: give it \
                     access (Docker: add it to the socket's group, `usermod -aG docker <user>`, or \
                     SupplementaryGroups=docker in its systemd unit; rootless Podman: run the \
                     manager as the user who owns it) or set [containers] socket to one it may \
                     open; see \"Containers\" in docs/operator.md",
                    socket.display()
                ),
            ),
            EngineError::NoSocket(socket) => (
                "absent",
                format!(
                    "no container engine at {}: start Docker, or Podman's API service \
                     (`systemctl enable --now podman.socket`), or set [containers] socket",
                    socket.display()
                ),
            ),
            other => ("unreachable", other.to_string()),
        };
        let mut told = TOLD.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        let again = match *told {
            Some((was, at)) => was != kind || now.duration_since(at) >= RETELL,
            None => true,
        };
        if again {
            tracing::warn!("{advice}");
            *told = Some((kind, now));
        }
        e
    }

    /// Notes that the engine answered; tells the operator if it had not.
    fn answered(&self, socket: &Path) {
        let mut told = TOLD.lock().unwrap_or_else(PoisonError::into_inner);
        if told.take().is_some() {
            tracing::info!("the container engine at {} answers again", socket.display());
        }
    }

    /// The container `listed` names, if there is one.
    pub(crate) async fn find(
        &self,
        listed: &ContainerRef,
    ) -> Result<Option<ContainerInspectResponse>, EngineError> {
        let (docker, socket) = self.client(self.timeout)?;
        let secs = self.timeout.as_secs().max(1);
        let found = tokio::time::timeout(self.timeout, find(&docker, listed))
            .await
            .map_err(|_| EngineError::Timeout(secs))
            .and_then(|r| r.map_err(|e| EngineError::from_bollard(e, &socket, secs)));
        match found {
            Ok(found) => {
                self.answered(&socket);
                Ok(found)
            }
            Err(e) => Err(self.failed(e)),
        }
    }

    /// `listed`'s state as a service.
    pub(crate) async fn show(&self, listed: &ContainerRef, controllable: bool) -> Service {
        let name = listed.to_string();
        match self.find(listed).await {
            Ok(Some(inspect)) => state::service(&name, controllable, &inspect),
            Ok(None) => state::not_found(&name, controllable),
            Err(e) => state::unreadable(&name, controllable, Some(e.to_string())),
        }
    }

    /// Does `action` to `listed`, waiting for the engine to finish it.
    pub(crate) async fn act(
        &self,
        listed: &ContainerRef,
        action: Action,
    ) -> Result<(), EngineError> {
        let id = self
            .find(listed)
            .await?
            .and_then(|i| i.id)
            .ok_or_else(|| EngineError::NoContainer(listed.to_string()))?;
        let (docker, socket) = self.client(self.action_timeout)?;
        let secs = self.action_timeout.as_secs();
        let call = async {
            match action {
                Action::Start => docker.start_container(&id, None).await,
                Action::Stop => docker.stop_container(&id, None).await,
                Action::Restart => docker.restart_container(&id, None).await,
            }
        };
        tokio::time::timeout(self.action_timeout, call)
            .await
            .map_err(|_| EngineError::Timeout(secs))?
            .map_err(|e| self.failed(EngineError::from_bollard(e, &socket, secs)))
    }

    /// The log stream of container `id` (an id [`Engine::find`] gave).
    pub(crate) fn logs(
        &self,
        id: &str,
        options: LogsOptions,
    ) -> Result<
        impl Stream<Item = Result<bollard::container::LogOutput, bollard::errors::Error>> + use<>,
        EngineError,
    > {
        let (docker, _) = self.client(self.timeout)?;
        Ok(docker.logs(id, Some(options)))
    }
}

/// Docker's answer for `listed`: by name, checked to be that name; or the
/// Compose service's container ([`compose_pick`]).
async fn find(
    docker: &Docker,
    listed: &ContainerRef,
) -> Result<Option<ContainerInspectResponse>, bollard::errors::Error> {
    let id = match listed {
        ContainerRef::Name(name) => name.clone(),
        ContainerRef::Compose { project, service } => {
            let filters = HashMap::from([(
                "label",
                vec![
                    format!("com.docker.compose.project={project}"),
                    format!("com.docker.compose.service={service}"),
                ],
            )]);
            let options = ListContainersOptionsBuilder::new()
                .all(true)
                .filters(&filters)
                .build();
            let found = docker.list_containers(Some(options)).await?;
            let Some(id) = compose_pick(&found) else {
                return Ok(None);
            };
            id
        }
    };
    match docker.inspect_container(&id, None).await {
        Ok(inspect) => {
            // A name the engine resolved to something else (an id's
            // prefix) is not the listed container.
            if let ContainerRef::Name(name) = listed
                && inspect.name.as_deref().map(|n| n.trim_start_matches('/')) != Some(name.as_str())
            {
                return Ok(None);
            }
            Ok(Some(inspect))
        }
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Of the containers labelled with a Compose project and service, the
/// service's own: not a one-off (`docker compose run` labels those too),
/// the lowest-numbered, a running one before a stopped one of the same
/// number; and only by an id that is one (hex), as it goes into a URL.
fn compose_pick(found: &[bollard::models::ContainerSummary]) -> Option<String> {
    let label = |c: &bollard::models::ContainerSummary, key: &str| {
        c.labels.as_ref().and_then(|l| l.get(key)).cloned()
    };
    found
        .iter()
        .filter(|c| {
            label(c, "com.docker.compose.oneoff").is_none_or(|o| !o.eq_ignore_ascii_case("true"))
        })
        .filter_map(|c| {
            let id = c.id.clone()?;
            let hex = !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_hexdigit());
            hex.then_some((c, id))
        })
        .min_by_key(|(c, id)| {
            let number = label(c, "com.docker.compose.container-number")
                .and_then(|n| n.parse::<u32>().ok())
                .unwrap_or(u32::MAX);
            let stopped = c.state != Some(bollard::models::ContainerSummaryStateEnum::RUNNING);
            (number, stopped, id.clone())
        })
        .map(|(_, id)| id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{ContainerSummary, ContainerSummaryStateEnum};

    fn summary(id: &str, number: &str, oneoff: &str, running: bool) -> ContainerSummary {
        ContainerSummary {
            id: Some(id.into()),
            labels: Some(HashMap::from([
                (
                    "com.docker.compose.container-number".to_owned(),
                    number.to_owned(),
                ),
                ("com.docker.compose.oneoff".to_owned(), oneoff.to_owned()),
            ])),
            state: Some(if running {
                ContainerSummaryStateEnum::RUNNING
            } else {
                ContainerSummaryStateEnum::EXITED
            }),
            ..Default::default()
        }
    }

    #[test]
    fn a_compose_service_is_its_own_container_not_a_one_off_or_a_stale_one() {
        let found = [
            summary("aaaa", "1", "True", true),
            summary("bbbb", "2", "False", true),
            summary("cccc", "1", "False", false),
            summary("dddd", "1", "False", true),
        ];
        assert_eq!(compose_pick(&found).as_deref(), Some("dddd"));
        // Only a one-off: the service has no container.
        assert_eq!(compose_pick(&found[..1]), None);
        // An "id" that is not one never reaches a URL.
        assert_eq!(compose_pick(&[summary("../x", "1", "False", true)]), None);
    }
}
