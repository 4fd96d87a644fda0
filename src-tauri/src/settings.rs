//! The app's settings file and where its data lives.

use nodepair_peer::network::NetworkConfig;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Tauri's identifier: the app-data directory is named after it.
pub const IDENTIFIER: &str = "org.nodepair.app";

/// What the app reads from `app.toml`. Every key has a default; unknown
/// keys are refused so a typo is never silently ignored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// What managers show for this app.
    pub display_name: String,
    /// How to reach the Waku network.
    pub network: NetworkConfig,
    /// Where the keys are kept.
    pub keystore: KeystoreSettings,
    /// How the window behaves.
    pub window: WindowSettings,
    /// Where the app keeps its data [default: the platform's app-data dir].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
}

/// Where the keys are kept.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeystoreSettings {
    /// `auto` (the OS keyring, else a vault), `keyring` or `vault`.
    pub backend: String,
    /// OS keyring items are stored under this service name.
    pub keyring_service: String,
    /// A file holding the vault passphrase (mode 0600), when a vault is used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passphrase_file: Option<PathBuf>,
}

/// How the window behaves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WindowSettings {
    /// Closing the window keeps NodePair running in the tray, where there
    /// is one (quit it from the tray's menu).
    pub keep_running_in_tray: bool,
}

impl Default for WindowSettings {
    fn default() -> Self {
        WindowSettings {
            keep_running_in_tray: true,
        }
    }
}

impl Default for KeystoreSettings {
    fn default() -> Self {
        KeystoreSettings {
            backend: "auto".into(),
            keyring_service: "nodepair-app".into(),
            passphrase_file: None,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            display_name: default_name(),
            network: NetworkConfig::default(),
            keystore: KeystoreSettings::default(),
            window: WindowSettings::default(),
            data_dir: None,
        }
    }
}

fn default_name() -> String {
    let user = std::env::var("USER").unwrap_or_else(|_| "someone".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default();
    if host.is_empty() {
        format!("NodePair app ({user})")
    } else {
        format!("{user}@{host}")
    }
}

/// The settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The file could not be read.
    #[error("cannot read the settings file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid; the TOML error names the line and key.
    #[error("the settings file {path} is not valid:\n{source}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What and where.
        source: toml::de::Error,
    },
}

fn home() -> PathBuf {
    std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from)
}

fn xdg(var: &str, fallback: &str) -> PathBuf {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map_or_else(|| home().join(fallback), PathBuf::from)
}

impl Settings {
    /// The default settings file: `$XDG_CONFIG_HOME/nodepair/app.toml`.
    pub fn default_path() -> PathBuf {
        xdg("XDG_CONFIG_HOME", ".config").join("nodepair/app.toml")
    }

    /// Reads `explicit`, else the default file if it exists, else defaults.
    pub fn load(explicit: Option<&Path>) -> Result<Settings, SettingsError> {
        let path = match explicit {
            Some(p) => p.to_owned(),
            None => {
                let p = Self::default_path();
                if !p.exists() {
                    return Ok(Settings::default());
                }
                p
            }
        };
        let text = std::fs::read_to_string(&path).map_err(|source| SettingsError::Read {
            path: path.clone(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| SettingsError::Invalid { path, source })
    }

    /// Where the app keeps its data: the configured dir, else the platform's
    /// app-data dir (`$XDG_DATA_HOME/org.nodepair.app`, as Tauri names it).
    pub fn data_dir(&self) -> PathBuf {
        self.data_dir
            .clone()
            .unwrap_or_else(|| xdg("XDG_DATA_HOME", ".local/share").join(IDENTIFIER))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_read_and_typos_are_named() {
        let s: Settings = toml::from_str(
            "display_name = \"laptop\"\n[network]\npreset = \"local\"\nbootstrap = [\"/ip4/127.0.0.1/tcp/60000\"]\ncluster = 42\n",
        )
        .unwrap();
        assert_eq!(s.display_name, "laptop");
        assert_eq!(
            (s.network.cluster, s.network.bootstrap.len()),
            (Some(42), 1)
        );
        assert_eq!(s.keystore.keyring_service, "nodepair-app");
        let err = toml::from_str::<Settings>("[network]\nbootstrapp = []\n").unwrap_err();
        assert!(err.to_string().contains("bootstrapp"), "{err}");
    }

    #[test]
    fn the_app_is_a_light_node_unless_relay_is_asked() {
        let mode = |s: &Settings| {
            s.network
                .waku_config(nodepair_waku::Mode::Light)
                .unwrap()
                .mode
        };
        assert_eq!(mode(&Settings::default()), nodepair_waku::Mode::Light);
        let relay: Settings =
            toml::from_str("[network]\npreset = \"local\"\nmode = \"relay\"\n").unwrap();
        assert_eq!(mode(&relay), nodepair_waku::Mode::Relay);
        let err = toml::from_str::<Settings>("[network]\nmode = \"full\"\n").unwrap_err();
        assert!(err.to_string().contains("light"), "{err}");
    }
}
