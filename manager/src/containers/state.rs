//! A container's state, as its engine tells it, in the words the services list uses (systemd's).

use bollard::models::{ContainerInspectResponse, ContainerStateStatusEnum, HealthStatusEnum};
use nodepair_protocol::api::services::{ContainerDetails, Service, ServiceKind};

/// `listed` as a service, from its engine's inspection.
pub(crate) fn service(
    listed: &str,
    controllable: bool,
    inspect: &ContainerInspectResponse,
) -> Service {
    let state = inspect.state.clone().unwrap_or_default();
    let status = state.status.unwrap_or(ContainerStateStatusEnum::EMPTY);
    let exit_code = state.exit_code.unwrap_or(0);
    let (active, sub) = match status {
        ContainerStateStatusEnum::RUNNING => ("active", "running"),
        ContainerStateStatusEnum::RESTARTING => ("activating", "restarting"),
        ContainerStateStatusEnum::PAUSED => ("inactive", "paused"),
        ContainerStateStatusEnum::CREATED => ("inactive", "created"),
        ContainerStateStatusEnum::REMOVING => ("deactivating", "removing"),
        ContainerStateStatusEnum::STOPPING => ("deactivating", "stopping"),
        ContainerStateStatusEnum::EXITED if exit_code == 0 => ("inactive", "exited"),
        ContainerStateStatusEnum::EXITED => ("failed", "exited"),
        ContainerStateStatusEnum::DEAD => ("failed", "dead"),
        ContainerStateStatusEnum::EMPTY => ("", ""),
    };
    let running = matches!(
        status,
        ContainerStateStatusEnum::RUNNING | ContainerStateStatusEnum::PAUSED
    );
    // Since it started while it runs, since it stopped once it has.
    let since_ms = if running {
        unix_ms(state.started_at.as_deref())
    } else {
        unix_ms(state.finished_at.as_deref()).or(unix_ms(state.started_at.as_deref()))
    };
    let ran = unix_ms(state.started_at.as_deref()).is_some();
    let health = state
        .health
        .and_then(|h| h.status)
        .and_then(|status| match status {
            HealthStatusEnum::STARTING => Some("starting"),
            HealthStatusEnum::HEALTHY => Some("healthy"),
            HealthStatusEnum::UNHEALTHY => Some("unhealthy"),
            HealthStatusEnum::EMPTY | HealthStatusEnum::NONE => None,
        })
        .map(str::to_owned);
    let image = inspect
        .config
        .as_ref()
        .and_then(|c| c.image.clone())
        .unwrap_or_default();
    let id: String = inspect
        .id
        .as_deref()
        .unwrap_or_default()
        .chars()
        .take(12)
        .collect();
    Service {
        unit: listed.to_owned(),
        kind: ServiceKind::Container,
        description: image.clone(),
        active_state: active.to_owned(),
        sub_state: sub.to_owned(),
        load_state: "loaded".to_owned(),
        since_ms,
        controllable,
        error: status_unknown(status),
        container: Some(ContainerDetails {
            id,
            image,
            health,
            restart_count: u64::try_from(inspect.restart_count.unwrap_or(0)).unwrap_or(0),
            exit_code: (!running && ran && !matches!(status, ContainerStateStatusEnum::RESTARTING))
                .then_some(exit_code),
        }),
    }
}

/// An engine that names no state says nothing of it.
fn status_unknown(status: ContainerStateStatusEnum) -> Option<String> {
    (status == ContainerStateStatusEnum::EMPTY)
        .then(|| "the container engine gave no state for it".to_owned())
}

/// No container has that name: as systemd tells of a unit it does not know.
pub(crate) fn not_found(listed: &str, controllable: bool) -> Service {
    Service {
        active_state: "inactive".to_owned(),
        sub_state: "dead".to_owned(),
        load_state: "not-found".to_owned(),
        ..unreadable(listed, controllable, None)
    }
}

/// Its state could not be read, and why (none: nothing to tell yet).
pub(crate) fn unreadable(listed: &str, controllable: bool, why: Option<String>) -> Service {
    Service {
        unit: listed.to_owned(),
        kind: ServiceKind::Container,
        description: String::new(),
        active_state: String::new(),
        sub_state: String::new(),
        load_state: String::new(),
        since_ms: None,
        controllable,
        error: why,
        container: None,
    }
}

/// An engine's RFC 3339 time as Unix milliseconds; none for its zero time
/// (`0001-01-01T00:00:00Z`, never) or what does not parse.
pub(crate) fn unix_ms(text: Option<&str>) -> Option<u64> {
    let at: jiff::Timestamp = text?.parse().ok()?;
    u64::try_from(at.as_millisecond()).ok().filter(|&ms| ms > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{ContainerConfig, ContainerState, Health};

    fn inspect(
        status: ContainerStateStatusEnum,
        exit: i64,
        health: Option<HealthStatusEnum>,
    ) -> ContainerInspectResponse {
        ContainerInspectResponse {
            id: Some("54d9eb08850e7c1f".into()),
            name: Some("/geth".into()),
            restart_count: Some(2),
            config: Some(ContainerConfig {
                image: Some("ethereum/client-go:v1.14.12".into()),
                ..Default::default()
            }),
            state: Some(ContainerState {
                status: Some(status),
                exit_code: Some(exit),
                started_at: Some("2026-12-06T15:17:17.027140374Z".into()),
                finished_at: Some("0001-01-01T00:00:00Z".into()),
                health: health.map(|status| Health {
                    status: Some(status),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn a_running_container_is_active_since_it_started() {
        let s = service(
            "geth",
            true,
            &inspect(ContainerStateStatusEnum::RUNNING, 0, None),
        );
        assert_eq!(
            (s.active_state.as_str(), s.sub_state.as_str()),
            ("active", "running")
        );
        assert_eq!(s.kind, ServiceKind::Container);
        assert_eq!(s.since_ms, Some(1_796_570_237_027));
        let c = s.container.unwrap();
        assert_eq!(c.id, "54d9eb08850e");
        assert_eq!(c.image, "ethereum/client-go:v1.14.12");
        assert_eq!((c.health, c.restart_count, c.exit_code), (None, 2, None));
        assert_eq!(s.description, "ethereum/client-go:v1.14.12");
    }

    #[test]
    fn an_exit_is_failed_unless_it_was_clean_and_says_its_code() {
        let failed = service(
            "geth",
            false,
            &inspect(ContainerStateStatusEnum::EXITED, 137, None),
        );
        assert_eq!(
            (failed.active_state.as_str(), failed.sub_state.as_str()),
            ("failed", "exited")
        );
        assert_eq!(failed.container.unwrap().exit_code, Some(137));
        let clean = service(
            "geth",
            false,
            &inspect(ContainerStateStatusEnum::EXITED, 0, None),
        );
        assert_eq!(clean.active_state, "inactive");
        assert_eq!(clean.container.unwrap().exit_code, Some(0));
        let dead = service(
            "geth",
            false,
            &inspect(ContainerStateStatusEnum::DEAD, 0, None),
        );
        assert_eq!(dead.active_state, "failed");
    }

    #[test]
    fn health_is_told_only_when_the_image_has_a_check() {
        let unhealthy = service(
            "geth",
            false,
            &inspect(
                ContainerStateStatusEnum::RUNNING,
                0,
                Some(HealthStatusEnum::UNHEALTHY),
            ),
        );
        assert_eq!(
            unhealthy.container.unwrap().health.as_deref(),
            Some("unhealthy")
        );
        // Podman says "" where it has no check.
        let none = service(
            "geth",
            false,
            &inspect(
                ContainerStateStatusEnum::RUNNING,
                0,
                Some(HealthStatusEnum::EMPTY),
            ),
        );
        assert_eq!(none.container.unwrap().health, None);
    }

    #[test]
    fn the_zero_time_is_never() {
        assert_eq!(unix_ms(Some("0001-01-01T00:00:00Z")), None);
        assert_eq!(unix_ms(Some("soon")), None);
        assert_eq!(
            unix_ms(Some("2026-12-06T15:17:07Z")),
            Some(1_796_570_227_000)
        );
    }
}
