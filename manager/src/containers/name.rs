//! A container as the operator lists it: by its name, or as one service of a Compose project.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A listed container: `geth`, or `eth-docker/execution` for the container
/// of Compose project `eth-docker`'s service `execution`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub(crate) enum ContainerRef {
    /// A container by its name.
    Name(String),
    /// The container of a Compose project's service (found by the labels
    /// `com.docker.compose.project` and `com.docker.compose.service`).
    Compose {
        /// The project.
        project: String,
        /// The service.
        service: String,
    },
}

/// Longest name taken.
const MAX_LEN: usize = 128;

/// Docker's rule for a container name, `[a-zA-Z0-9][a-zA-Z0-9_.-]*`, which
/// Compose service names also follow.
fn is_name(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

/// Compose's rule for a project name: lower-case letters, digits, `_`
/// and `-`, starting with a letter or digit.
fn is_project(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_-".contains(c))
}

impl ContainerRef {
    /// `text` as listed, or why it names no container.
    pub(crate) fn parse(text: &str) -> Result<ContainerRef, String> {
        let bad = || {
            format!(
                "{text:?} is not a container name (letters, digits, `_.-`, e.g. \"geth\") \
                 or a Compose project/service (e.g. \"eth-docker/execution\")"
            )
        };
        if text.len() > MAX_LEN {
            return Err(format!(
                "{:?}… is longer than {MAX_LEN} bytes, too long for a container name",
                text.chars().take(24).collect::<String>()
            ));
        }
        match text.split_once('/') {
            None if is_name(text) => Ok(ContainerRef::Name(text.to_owned())),
            Some((project, service)) if is_project(project) && is_name(service) => {
                Ok(ContainerRef::Compose {
                    project: project.to_owned(),
                    service: service.to_owned(),
                })
            }
            _ => Err(bad()),
        }
    }
}

impl TryFrom<String> for ContainerRef {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        ContainerRef::parse(&text)
    }
}

impl From<ContainerRef> for String {
    fn from(name: ContainerRef) -> String {
        name.to_string()
    }
}

impl fmt::Display for ContainerRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContainerRef::Name(name) => f.write_str(name),
            ContainerRef::Compose { project, service } => write!(f, "{project}/{service}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_compose_services_are_taken_and_nothing_else() {
        assert_eq!(
            ContainerRef::parse("geth").unwrap(),
            ContainerRef::Name("geth".into())
        );
        assert_eq!(
            ContainerRef::parse("eth-docker/consensus").unwrap(),
            ContainerRef::Compose {
                project: "eth-docker".into(),
                service: "consensus".into()
            }
        );
        assert_eq!(
            ContainerRef::parse("sedge_1.execution-1")
                .unwrap()
                .to_string(),
            "sedge_1.execution-1"
        );
        for bad in [
            "",
            "-geth",
            ".geth",
            "../etc",
            "geth/",
            "/geth",
            "a/b/c",
            "Eth/geth",
            "geth json",
            "geth?all=1",
            "geth%2F..",
            "gé",
            "geth\n",
        ] {
            let err = ContainerRef::parse(bad).unwrap_err();
            assert!(err.contains("is not a container name"), "{bad:?}: {err}");
        }
        let long = "g".repeat(129);
        assert!(ContainerRef::parse(&long).unwrap_err().contains("too long"));
    }
}
