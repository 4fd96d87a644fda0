//! The manager's configuration: built-in defaults, overridden by a TOML file.

use crate::containers::ContainerRef;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};

/// Everything the manager reads from its configuration file.
///
/// Every field has a default, so an empty file (or none) is a valid
/// configuration; unknown keys are refused so a typo is never silently
/// ignored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Config {
    /// The name paired apps show for this manager.
    pub(crate) display_name: DisplayName,
    /// Where the manager keeps its state (the vault, the keystore marker)
    /// [default: $STATE_DIRECTORY from systemd, else
    /// $XDG_STATE_HOME/nodepair-manager, else ~/.local/state/nodepair-manager].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) state_dir: Option<PathBuf>,
    /// What this manager offers paired apps (advertised in its HELLO);
    /// each one off unless listed.
    #[serde(deserialize_with = "known_capabilities")]
    pub(crate) capabilities: Vec<String>,
    /// How long `pair` waits for the app to answer a code, in seconds.
    pub(crate) pairing_timeout_secs: u64,
    /// Who may be paired besides what the operator pairs.
    pub(crate) pairing: PairingSettings,
    /// How sessions with apps run.
    pub(crate) session: SessionSettings,
    /// What each paired app may ask of this manager.
    pub(crate) limits: LimitSettings,
    /// How to reach the Waku network.
    pub(crate) network: NetworkConfig,
    /// Where identity and counterparties are kept.
    pub(crate) keystore: KeystoreConfig,
    /// The Ethereum node's clients (the `ethereum` capability).
    pub(crate) ethereum: EthereumConfig,
    /// The systemd units and containers apps see and may control (the
    /// `services` capability).
    pub(crate) services: ServicesConfig,
    /// The journals, containers and files apps may read and follow (the
    /// `logs` capability).
    pub(crate) logs: LogsConfig,
    /// The container engine the listed containers run in.
    pub(crate) containers: crate::containers::ContainersConfig,
    /// The rules the manager watches the host and the node with (the
    /// `alerts` capability).
    pub(crate) alerts: crate::alerts::settings::AlertsConfig,
    /// The validators to watch (the `validators` capability).
    pub(crate) validators: crate::validators::settings::ValidatorsConfig,
}

/// The `[pairing]` section.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct PairingSettings {
    /// Whether a paired app may introduce its person's other computer,
    /// which is then paired with at most the introducing app's grant
    /// (off: the operator pairs each computer).
    pub(crate) accept_introductions: bool,
}

/// The `[session]` section: how sessions with apps run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct SessionSettings {
    /// How old a session's keys get before a new handshake replaces them,
    /// in seconds (an hour; at least 5).
    pub(crate) rekey_after_secs: u64,
}

impl Default for SessionSettings {
    fn default() -> Self {
        SessionSettings {
            rekey_after_secs: 3600,
        }
    }
}

/// The `[limits]` section: what each paired app may ask, counted per app.
/// Beyond them a request is answered "too many requests" (429) at once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct LimitSettings {
    /// Requests being answered at once (1 to 1024).
    pub(crate) concurrent_requests: usize,
    /// Requests a second, sustained (above 0, at most 10 000)…
    pub(crate) requests_per_sec: f64,
    /// …with bursts of up to this many (1 to 100 000).
    pub(crate) request_burst: f64,
}

impl Default for LimitSettings {
    fn default() -> Self {
        let d = nodepair_protocol::peer_limits::PeerLimits::default();
        LimitSettings {
            concurrent_requests: d.concurrent_requests,
            requests_per_sec: d.requests_per_sec,
            request_burst: d.request_burst,
        }
    }
}

impl LimitSettings {
    /// The first setting out of its range, as a sentence.
    fn check(&self) -> Result<(), &'static str> {
        if !(1..=1024).contains(&self.concurrent_requests) {
            return Err("[limits] concurrent_requests must be between 1 and 1024");
        }
        if !(self.requests_per_sec > 0.0 && self.requests_per_sec <= 10_000.0) {
            return Err("[limits] requests_per_sec must be above 0 and at most 10000");
        }
        if !(1.0..=100_000.0).contains(&self.request_burst) {
            return Err("[limits] request_burst must be between 1 and 100000");
        }
        Ok(())
    }
}

/// Capabilities, each one NodePair knows (a typo is refused, not ignored).
fn known_capabilities<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    use nodepair_protocol::api::CAPABILITIES;
    let listed = Vec::<String>::deserialize(d)?;
    for c in &listed {
        if !CAPABILITIES.contains(&c.as_str()) {
            return Err(serde::de::Error::custom(format!(
                "unknown capability {c:?}; the capabilities are {}",
                CAPABILITIES.join(", ")
            )));
        }
    }
    Ok(listed)
}

/// The Ethereum node's clients. Unset URLs are reported to apps as "not
/// configured", never as zeros.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct EthereumConfig {
    /// The consensus client's Beacon Node REST API, e.g. `http://127.0.0.1:5052`.
    #[serde(deserialize_with = "http_url", skip_serializing_if = "Option::is_none")]
    pub(crate) beacon_url: Option<String>,
    /// The execution client's JSON-RPC endpoint, e.g. `http://127.0.0.1:8545`.
    #[serde(deserialize_with = "http_url", skip_serializing_if = "Option::is_none")]
    pub(crate) execution_url: Option<String>,
    /// How long one request may take, in milliseconds.
    pub(crate) timeout_ms: u64,
}

impl Default for EthereumConfig {
    fn default() -> Self {
        EthereumConfig {
            beacon_url: None,
            execution_url: None,
            timeout_ms: 3000,
        }
    }
}

/// The systemd units and containers apps see, and those they may start,
/// stop and restart.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct ServicesConfig {
    /// Units whose state apps see, e.g. `["geth.service"]`.
    #[serde(deserialize_with = "unit_names")]
    pub(crate) units: Vec<String>,
    /// Containers whose state apps see, by name (`"geth"`) or Compose
    /// project and service (`"eth-docker/execution"`).
    pub(crate) containers: Vec<ContainerRef>,
    /// Units and containers (also in `units` or `containers`) apps may
    /// start, stop and restart.
    pub(crate) controllable: Vec<String>,
    /// The `systemctl` to run.
    pub(crate) systemctl: PathBuf,
    /// How long one systemctl call may take, in milliseconds.
    pub(crate) timeout_ms: u64,
}

impl Default for ServicesConfig {
    fn default() -> Self {
        ServicesConfig {
            units: Vec::new(),
            containers: Vec::new(),
            controllable: Vec::new(),
            systemctl: PathBuf::from("systemctl"),
            timeout_ms: 10_000,
        }
    }
}

/// The journals, containers and files apps may read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct LogsConfig {
    /// Units whose journal apps may read (`journalctl --unit`).
    #[serde(deserialize_with = "unit_names")]
    pub(crate) units: Vec<String>,
    /// Containers whose standard output and error apps may read, as in
    /// `[services] containers`.
    pub(crate) containers: Vec<ContainerRef>,
    /// Files apps may read, by absolute path.
    pub(crate) files: Vec<PathBuf>,
    /// The `journalctl` to run.
    pub(crate) journalctl: PathBuf,
    /// How many bytes per second one follow may send; more is dropped and
    /// counted, so a chatty log cannot starve the session.
    pub(crate) bytes_per_sec: u64,
}

impl Default for LogsConfig {
    fn default() -> Self {
        LogsConfig {
            units: Vec::new(),
            containers: Vec::new(),
            files: Vec::new(),
            journalctl: PathBuf::from("journalctl"),
            bytes_per_sec: 16 * 1024,
        }
    }
}

/// systemd unit names: letters, digits and `:_.@-\`, a type suffix, and no
/// leading `-` (never read as an option).
fn unit_names<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let names = Vec::<String>::deserialize(d)?;
    for name in &names {
        let ok = !name.starts_with('-')
            && name.len() <= 256
            && name.contains('.')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ":_.@-\\".contains(c));
        if !ok {
            return Err(serde::de::Error::custom(format!(
                "{name:?} is not a systemd unit name (e.g. \"geth.service\")"
            )));
        }
    }
    Ok(names)
}

/// An `http://` or `https://` URL.
fn http_url<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let text = String::deserialize(d)?;
    match reqwest::Url::parse(&text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Ok(Some(text)),
        Ok(_) => Err(serde::de::Error::custom(format!(
            "{text:?} is not an http:// or https:// URL"
        ))),
        Err(e) => Err(serde::de::Error::custom(format!(
            "{text:?} is not a URL: {e}"
        ))),
    }
}

pub(crate) use nodepair_peer::network::NetworkConfig;

/// Where identity and counterparties are kept.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct KeystoreConfig {
    /// Which storage to use.
    pub(crate) backend: KeystoreBackend,
    /// The encrypted vault file, when the vault is used; relative paths are
    /// taken from the state directory.
    pub(crate) vault: PathBuf,
    /// The OS keyring service name the entries are stored under.
    pub(crate) keyring_service: String,
    /// A file holding the vault passphrase (mode 0600 or 0400). Without it:
    /// the systemd credential `vault-passphrase`, else
    /// $NODEPAIR_VAULT_PASSPHRASE, else a prompt on the terminal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) passphrase_file: Option<PathBuf>,
}

/// Which storage to keep secrets in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum KeystoreBackend {
    /// The OS keyring when it answers, else the vault.
    Auto,
    /// The OS keyring only (Secret Service on Linux).
    Keyring,
    /// The encrypted file vault only.
    Vault,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            display_name: DisplayName::from_hostname(),
            capabilities: vec!["info".into()],
            pairing_timeout_secs: 600,
            pairing: PairingSettings::default(),
            session: SessionSettings::default(),
            limits: LimitSettings::default(),
            network: NetworkConfig::default(),
            keystore: KeystoreConfig::default(),
            ethereum: EthereumConfig::default(),
            services: ServicesConfig::default(),
            logs: LogsConfig::default(),
            containers: crate::containers::ContainersConfig::default(),
            alerts: crate::alerts::settings::AlertsConfig::default(),
            validators: crate::validators::settings::ValidatorsConfig::default(),
            state_dir: None,
        }
    }
}

impl Default for KeystoreConfig {
    fn default() -> Self {
        KeystoreConfig {
            backend: KeystoreBackend::Auto,
            vault: PathBuf::from("vault"),
            keyring_service: "nodepair-manager".into(),
            passphrase_file: None,
        }
    }
}

/// A manager's name as apps show it: 1 to 64 printable characters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub(crate) struct DisplayName(String);

/// Longest display name, in characters.
const MAX_DISPLAY_NAME: usize = 64;

impl DisplayName {
    /// The machine's host name, or `nodepair-manager` when it has none usable.
    fn from_hostname() -> Self {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .and_then(|h| DisplayName::try_from(h.trim().to_owned()).ok())
            .unwrap_or_else(|| DisplayName("nodepair-manager".into()))
    }
}

impl TryFrom<String> for DisplayName {
    type Error = String;

    fn try_from(name: String) -> Result<Self, String> {
        let trimmed = name.trim();
        if trimmed.is_empty() {
            return Err("display name cannot be empty".into());
        }
        let len = trimmed.chars().count();
        if len > MAX_DISPLAY_NAME {
            return Err(format!(
                "display name is {len} characters long; the limit is {MAX_DISPLAY_NAME}"
            ));
        }
        if let Some(c) = trimmed.chars().find(|c| c.is_control()) {
            return Err(format!("display name holds the control character {c:?}"));
        }
        Ok(DisplayName(trimmed.to_owned()))
    }
}

impl From<DisplayName> for String {
    fn from(name: DisplayName) -> String {
        name.0
    }
}

impl fmt::Display for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where the configuration came from, for `config` to say.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Source {
    /// This file.
    File(PathBuf),
    /// No file was found at the default places; defaults are in use.
    Defaults {
        /// The places looked at, in order.
        looked_at: Vec<PathBuf>,
    },
}

/// The configuration cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why reading failed.
        source: std::io::Error,
    },
    /// The file is not valid TOML or holds a wrong key or value; the TOML
    /// error names the line, the column and the key.
    #[error("the configuration file {path} is not valid:\n{source}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, and where.
        source: toml::de::Error,
    },
}

impl Config {
    /// Loads the configuration from `explicit`, or else from the first file of
    /// [`default_paths`] that exists, or else the built-in defaults.
    pub(crate) fn load(explicit: Option<&Path>) -> Result<(Config, Source), ConfigError> {
        if let Some(path) = explicit {
            return Ok((Self::from_file(path)?, Source::File(path.to_owned())));
        }
        let candidates = default_paths();
        for path in &candidates {
            if path.exists() {
                return Ok((Self::from_file(path)?, Source::File(path.clone())));
            }
        }
        Ok((
            Config::default(),
            Source::Defaults {
                looked_at: candidates,
            },
        ))
    }

    fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_toml(&text).map_err(|source| ConfigError::Invalid {
            path: path.to_owned(),
            source,
        })
    }

    /// Parses a configuration from TOML text, filling in defaults.
    pub(crate) fn from_toml(text: &str) -> Result<Config, toml::de::Error> {
        let config: Config = toml::from_str(text)?;
        let invalid = <toml::de::Error as serde::de::Error>::custom;
        let services = &config.services;
        if let Some(stray) = services.controllable.iter().find(|c| {
            !services.units.contains(c) && !services.containers.iter().any(|n| n.to_string() == **c)
        }) {
            return Err(invalid(format!(
                "[services] controllable lists {stray:?}, which is not in [services] units or containers"
            )));
        }
        for (section, units, containers) in [
            ("services", &services.units, &services.containers),
            ("logs", &config.logs.units, &config.logs.containers),
        ] {
            if let Some(both) = containers.iter().find(|c| units.contains(&c.to_string())) {
                return Err(invalid(format!(
                    "[{section}] lists {:?} both as a unit and as a container; each name may be one of them",
                    both.to_string()
                )));
            }
        }
        let files: Vec<String> = config
            .logs
            .files
            .iter()
            .map(|f| f.display().to_string())
            .collect();
        for (section, names) in [
            (
                "services",
                services
                    .units
                    .iter()
                    .cloned()
                    .chain(services.containers.iter().map(ToString::to_string))
                    .collect::<Vec<_>>(),
            ),
            (
                "logs",
                config
                    .logs
                    .units
                    .iter()
                    .cloned()
                    .chain(config.logs.containers.iter().map(ToString::to_string))
                    .chain(files)
                    .collect(),
            ),
        ] {
            let mut seen = std::collections::HashSet::new();
            if let Some(twice) = names.iter().find(|n| !seen.insert(n.as_str())) {
                return Err(invalid(format!("[{section}] lists {twice:?} twice")));
            }
        }
        config.containers.check().map_err(invalid)?;
        if let Some(relative) = config.logs.files.iter().find(|f| !f.is_absolute()) {
            return Err(<toml::de::Error as serde::de::Error>::custom(format!(
                "[logs] files lists {}, which is not an absolute path",
                relative.display()
            )));
        }
        if config.logs.bytes_per_sec == 0 {
            return Err(<toml::de::Error as serde::de::Error>::custom(
                "[logs] bytes_per_sec must be at least 1",
            ));
        }
        if config.session.rekey_after_secs < 5 {
            return Err(<toml::de::Error as serde::de::Error>::custom(
                "[session] rekey_after_secs must be at least 5",
            ));
        }
        config
            .limits
            .check()
            .map_err(<toml::de::Error as serde::de::Error>::custom)?;
        config
            .alerts
            .check()
            .map_err(<toml::de::Error as serde::de::Error>::custom)?;
        config
            .validators
            .check()
            .map_err(<toml::de::Error as serde::de::Error>::custom)?;
        if config.capabilities.iter().any(|c| c == "validators")
            && config.ethereum.beacon_url.is_none()
        {
            return Err(<toml::de::Error as serde::de::Error>::custom(
                "the validators capability reads the beacon node: set [ethereum] beacon_url",
            ));
        }
        Ok(config)
    }

    /// The configuration as TOML, in the form `from_toml` reads back.
    pub(crate) fn to_toml(&self) -> String {
        // Every field serializes to a TOML value; this cannot fail.
        toml::to_string(self).unwrap_or_else(|e| format!("# cannot show configuration: {e}\n"))
    }
}

impl Config {
    /// The state directory: the configured one, else systemd's
    /// $STATE_DIRECTORY (its first entry), else the XDG state home.
    pub(crate) fn state_dir(&self) -> PathBuf {
        if let Some(dir) = &self.state_dir {
            return dir.clone();
        }
        if let Some(dirs) = std::env::var_os("STATE_DIRECTORY").filter(|v| !v.is_empty()) {
            let first = dirs
                .to_string_lossy()
                .split(':')
                .next()
                .unwrap_or_default()
                .to_owned();
            return PathBuf::from(first);
        }
        std::env::var_os("XDG_STATE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
            .unwrap_or_else(|| PathBuf::from("."))
            .join("nodepair-manager")
    }
}

/// Where the manager looks for its configuration when `--config` is not
/// given: the user's XDG config dir, then the system-wide file.
pub(crate) fn default_paths() -> Vec<PathBuf> {
    let mut paths = Vec::new();
    let xdg = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")));
    if let Some(dir) = xdg {
        paths.push(dir.join("nodepair/manager.toml"));
    }
    paths.push(PathBuf::from("/etc/nodepair/manager.toml"));
    paths
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_file_is_the_defaults() {
        assert_eq!(Config::from_toml("").unwrap(), Config::default());
    }

    #[test]
    fn a_full_file_is_read() {
        let config = Config::from_toml(
            r#"
            display_name = "  validator-1 "
            [network]
            bootstrap = ["/ip4/127.0.0.1/tcp/60000"]
            cluster = 42
            shard = 3
            [keystore]
            backend = "vault"
            vault = "/var/lib/nodepair/vault"
            "#,
        )
        .unwrap();
        assert_eq!(config.display_name.to_string(), "validator-1");
        assert_eq!(config.network.bootstrap.len(), 1);
        assert_eq!(
            (config.network.cluster, config.network.shard),
            (Some(42), Some(3))
        );
        assert_eq!(config.keystore.backend, KeystoreBackend::Vault);
    }

    #[test]
    fn printed_config_reads_back_the_same() {
        let mut config = Config::default();
        config.network.bootstrap = vec!["/dns4/relay.example/tcp/443/wss".parse().unwrap()];
        let back = Config::from_toml(&config.to_toml()).unwrap();
        assert_eq!(back, config);
    }

    fn error_of(text: &str) -> String {
        Config::from_toml(text).unwrap_err().to_string()
    }

    #[test]
    fn an_unknown_key_is_named_with_its_line() {
        let err = error_of("display_name = \"a\"\n[network]\nbootstrapp = []\n");
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("bootstrapp"), "{err}");
    }

    #[test]
    fn a_bad_multiaddr_is_named_with_its_line() {
        let err =
            error_of("[network]\nbootstrap = [\"/ip4/127.0.0.1/tcp/60000\", \"relay:60000\"]\n");
        assert!(err.contains("line 2"), "{err}");
        assert!(err.contains("bootstrap"), "{err}");
    }

    #[test]
    fn request_limits_are_read_and_kept_in_range() {
        let config = Config::from_toml(
            "[limits]\nconcurrent_requests = 4\nrequests_per_sec = 2.5\nrequest_burst = 10\n",
        )
        .unwrap();
        assert_eq!(config.limits.concurrent_requests, 4);
        assert_eq!(config.limits.requests_per_sec, 2.5);
        assert_eq!(config.limits.request_burst, 10.0);
        let err = error_of("[limits]\nrequests_per_sec = 0\n");
        assert!(err.contains("requests_per_sec must be above 0"), "{err}");
        let err = error_of("[limits]\nrequests_per_sec = nan\n");
        assert!(err.contains("requests_per_sec must be above 0"), "{err}");
        let err = error_of("[limits]\nconcurrent_requests = 0\n");
        assert!(
            err.contains("concurrent_requests must be between 1"),
            "{err}"
        );
        let err = error_of("[limits]\nrequest_burst = 0.5\n");
        assert!(err.contains("request_burst must be between 1"), "{err}");
    }

    #[test]
    fn ethereum_urls_must_be_http() {
        let err = error_of("[ethereum]\nbeacon_url = \"ftp://node:5052\"\n");
        assert!(err.contains("not an http:// or https:// URL"), "{err}");
        let err = error_of("[ethereum]\nexecution_url = \"localhost 8545\"\n");
        assert!(err.contains("is not a URL"), "{err}");
    }

    #[test]
    fn services_must_be_unit_names_and_control_only_listed_ones() {
        let err = error_of("[services]\nunits = [\"--force\"]\n");
        assert!(err.contains("not a systemd unit name"), "{err}");
        let err =
            error_of("[services]\nunits = [\"geth.service\"]\ncontrollable = [\"sshd.service\"]\n");
        assert!(
            err.contains("\"sshd.service\", which is not in [services] units"),
            "{err}"
        );
        let ok = Config::from_toml("[services]\nunits = [\"geth.service\", \"lighthouse@beacon.service\"]\ncontrollable = [\"geth.service\"]\n").unwrap();
        assert_eq!(ok.services.controllable, ["geth.service"]);
    }

    #[test]
    fn containers_are_names_or_compose_services_and_never_also_units() {
        let ok = Config::from_toml(
            "[services]\nunits = [\"geth.service\"]\ncontainers = [\"lighthouse\", \"eth-docker/validator\"]\n\
             controllable = [\"geth.service\", \"lighthouse\"]\n[logs]\ncontainers = [\"lighthouse\"]\n\
             [containers]\nsocket = \"/run/podman/podman.sock\"\n",
        )
        .unwrap();
        assert_eq!(ok.services.containers.len(), 2);
        assert_eq!(
            ok.containers.socket.as_deref(),
            Some(std::path::Path::new("/run/podman/podman.sock"))
        );
        // What it writes back, it reads back.
        assert_eq!(Config::from_toml(&ok.to_toml()).unwrap(), ok);
        let err = error_of("[services]\ncontainers = [\"geth; rm -rf /\"]\n");
        assert!(err.contains("is not a container name"), "{err}");
        let err = error_of("[logs]\ncontainers = [\"../../etc\"]\n");
        assert!(err.contains("is not a container name"), "{err}");
        let err =
            error_of("[services]\ncontainers = [\"geth\"]\ncontrollable = [\"nethermind\"]\n");
        assert!(
            err.contains("\"nethermind\", which is not in [services] units or containers"),
            "{err}"
        );
        let err =
            error_of("[services]\nunits = [\"geth.service\"]\ncontainers = [\"geth.service\"]\n");
        assert!(err.contains("both as a unit and as a container"), "{err}");
        let err = error_of("[services]\ncontainers = [\"geth\", \"geth\"]\n");
        assert!(err.contains("[services] lists \"geth\" twice"), "{err}");
        let err = error_of("[containers]\ntimeout_ms = 10\n");
        assert!(err.contains("timeout_ms must be 1000 to 600000"), "{err}");
        let err = error_of("[containers]\nsocket = \"docker.sock\"\n");
        assert!(err.contains("not an absolute path"), "{err}");
        let err = error_of("[containers]\naction_timeout_secs = 0\n");
        assert!(
            err.contains("action_timeout_secs must be 1 to 3600"),
            "{err}"
        );
    }

    #[test]
    fn an_unknown_capability_is_refused_by_name() {
        let err = error_of("capabilities = [\"info\", \"hosts\"]");
        assert!(err.contains("unknown capability \"hosts\""), "{err}");
        assert!(err.contains("info, host"), "{err}");
    }

    #[test]
    fn a_bad_display_name_says_why() {
        assert!(error_of("display_name = \"  \"").contains("display name cannot be empty"));
        let long = format!("display_name = \"{}\"", "x".repeat(65));
        assert!(error_of(&long).contains("65 characters long; the limit is 64"));
    }

    #[test]
    fn a_bad_backend_lists_the_good_ones() {
        let err = error_of("[keystore]\nbackend = \"file\"\n");
        assert!(err.contains("line 2"), "{err}");
        assert!(err.contains("auto") && err.contains("vault"), "{err}");
    }

    #[test]
    fn the_manager_is_light_on_the_waku_network_and_a_relay_elsewhere_unless_light_is_asked() {
        let mode = |text: &str| {
            toml::from_str::<Config>(text)
                .unwrap()
                .network
                .waku_config(nodepair_waku::Mode::Relay)
                .unwrap()
                .mode
        };
        assert_eq!(mode(""), nodepair_waku::Mode::Light, "the default network");
        assert_eq!(
            mode("[network]\npreset = \"local\"\n"),
            nodepair_waku::Mode::Relay
        );
        assert_eq!(
            mode("[network]\npreset = \"local\"\nmode = \"light\"\n"),
            nodepair_waku::Mode::Light
        );
        let err = error_of("[network]\nmode = \"full\"\n");
        assert!(err.contains("relay") && err.contains("light"), "{err}");
    }

    #[test]
    fn a_shard_out_of_range_is_refused() {
        let err = error_of("[network]\nshard = 70000\n");
        assert!(err.contains("line 2"), "{err}");
    }
}
