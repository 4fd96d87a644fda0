//! Changing the settings file from the window: only the keys changed, the person's comments and order kept, checked by the same rules as at start before anything is written.

use crate::settings::Settings;
use std::path::Path;
use toml_edit::{Array, DocumentMut, Item, Table, value};

/// A change the window asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// `[window] keep_running_in_tray`.
    KeepRunningInTray(bool),
    /// `[network]` preset, bootstrap peers, cluster and shard (`None`:
    /// the preset's).
    Network {
        /// `local`, `self-hosted` or `waku-network`.
        preset: String,
        /// Multiaddrs, as typed.
        bootstrap: Vec<String>,
        /// The cluster, if not the preset's.
        cluster: Option<u16>,
        /// The shard, if not 0.
        shard: Option<u16>,
    },
}

/// Why a change was not written.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// The file could not be read or written.
    #[error("cannot {action} the settings file {path}: {source}")]
    Io {
        /// Read or write.
        action: &'static str,
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file as it is is not TOML: it is left for the person to fix.
    #[error("the settings file {path} is not valid TOML, so it was not changed: {source}")]
    Unreadable {
        /// The file.
        path: String,
        /// Where and what.
        source: toml_edit::TomlError,
    },
    /// The change would make settings the app refuses at start.
    #[error("{0}")]
    Invalid(String),
}

/// Applies `change` to the settings file at `path` (made if missing) and
/// returns the settings it now holds. Nothing is written unless the result
/// passes every check the app makes at start, network included.
///
/// # Errors
///
/// See [`ChangeError`].
pub fn apply(path: &Path, change: &Change) -> Result<Settings, ChangeError> {
    // One change at a time: two at once would each write what it read.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // A settings file that is a link (a dotfiles repository) is changed
    // where it points, and stays a link.
    let target = match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            std::fs::canonicalize(path).map_err(|source| ChangeError::Io {
                action: "follow",
                path: path.display().to_string(),
                source,
            })?
        }
        _ => path.to_owned(),
    };
    let path = target.as_path();
    let shown = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(source) => {
            return Err(ChangeError::Io {
                action: "read",
                path: shown,
                source,
            });
        }
    };
    let mut doc: DocumentMut = text.parse().map_err(|source| ChangeError::Unreadable {
        path: shown.clone(),
        source,
    })?;
    edit(&mut doc, change);
    let new = doc.to_string();
    let settings: Settings =
        toml::from_str(&new).map_err(|e| ChangeError::Invalid(e.message().to_owned()))?;
    settings
        .network
        .waku_config(nodepair_waku::Mode::Light)
        .map_err(|e| ChangeError::Invalid(e.to_string()))?;
    write(path, &new).map_err(|source| ChangeError::Io {
        action: "write",
        path: shown,
        source,
    })?;
    Ok(settings)
}

/// The table `name`, written either way (`[name]`, or `name = { … }`),
/// made if missing; anything else under that name is replaced.
fn table<'a>(doc: &'a mut DocumentMut, name: &str) -> &'a mut dyn toml_edit::TableLike {
    if doc.get(name).and_then(Item::as_table_like).is_none() {
        doc.insert(name, Item::Table(Table::new()));
    }
    doc[name].as_table_like_mut().expect("made a table above")
}

fn edit(doc: &mut DocumentMut, change: &Change) {
    match change {
        Change::KeepRunningInTray(on) => {
            table(doc, "window").insert("keep_running_in_tray", value(*on));
        }
        Change::Network {
            preset,
            bootstrap,
            cluster,
            shard,
        } => {
            let network = table(doc, "network");
            network.insert("preset", value(preset.as_str()));
            if bootstrap.is_empty() {
                network.remove("bootstrap");
            } else {
                network.insert(
                    "bootstrap",
                    value(bootstrap.iter().map(String::as_str).collect::<Array>()),
                );
            }
            match cluster {
                Some(c) => drop(network.insert("cluster", value(i64::from(*c)))),
                None => drop(network.remove("cluster")),
            }
            match shard {
                Some(s) => drop(network.insert("shard", value(i64::from(*s)))),
                None => drop(network.remove("shard")),
            }
        }
    }
}

/// Writes `text` to `path` whole or not at all (a file beside it, then
/// renamed over it), readable by its owner only.
fn write(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // A name nobody else uses, made here (never a file or link already
    // there).
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let tmp = path.with_extension(format!("toml.{}.{nonce}.new", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp)?;
    let written = file
        .write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written?;
    if let Some(dir) = path.parent().and_then(|d| std::fs::File::open(d).ok()) {
        let _ = dir.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const WRITTEN: &str = "# my laptop\ndisplay_name = \"laptop\"   # shown to managers\n\n[network]\npreset = \"local\"\n# our relay\nbootstrap = [\"/ip4/127.0.0.1/tcp/60000\"]\ncluster = 42\n";

    #[test]
    fn a_change_keeps_the_persons_comments_and_other_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.toml");
        std::fs::write(&path, WRITTEN).unwrap();
        let settings = apply(&path, &Change::KeepRunningInTray(false)).unwrap();
        assert!(!settings.window.keep_running_in_tray);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with(WRITTEN), "{text}");
        assert!(
            text.contains("[window]\nkeep_running_in_tray = false"),
            "{text}"
        );

        let settings = apply(
            &path,
            &Change::Network {
                preset: "waku-network".into(),
                bootstrap: vec![],
                cluster: None,
                shard: Some(3),
            },
        )
        .unwrap();
        let summary = settings
            .network
            .summary(nodepair_waku::Mode::Light)
            .unwrap();
        assert_eq!((summary.cluster, summary.shard), (1, 3));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("# my laptop") && text.contains("# shown to managers"),
            "{text}"
        );
        assert!(
            !text.contains("bootstrap") && !text.contains("cluster"),
            "{text}"
        );
    }

    #[test]
    fn a_change_the_app_would_refuse_writes_nothing_and_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.toml");
        std::fs::write(&path, WRITTEN).unwrap();
        let refused = [
            (
                Change::Network {
                    preset: "waku-network".into(),
                    bootstrap: vec![],
                    cluster: Some(42),
                    shard: None,
                },
                "cluster 1",
            ),
            (
                Change::Network {
                    preset: "local".into(),
                    bootstrap: vec!["relay.example.org:60000".into()],
                    cluster: None,
                    shard: None,
                },
                "multiaddr",
            ),
            (
                Change::Network {
                    preset: "twn".into(),
                    bootstrap: vec![],
                    cluster: None,
                    shard: None,
                },
                "waku-network",
            ),
            (
                Change::Network {
                    preset: "self-hosted".into(),
                    bootstrap: vec![],
                    cluster: None,
                    shard: None,
                },
                "needs your relays",
            ),
        ];
        for (change, says) in refused {
            let err = apply(&path, &change).unwrap_err().to_string();
            assert!(err.contains(says), "{change:?}: {err}");
            assert_eq!(
                std::fs::read_to_string(&path).unwrap(),
                WRITTEN,
                "{change:?}"
            );
        }
        std::fs::write(&path, "display_name = \n").unwrap();
        let err = apply(&path, &Change::KeepRunningInTray(true)).unwrap_err();
        assert!(matches!(err, ChangeError::Unreadable { .. }), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "display_name = \n");
    }

    #[test]
    fn an_inline_network_table_and_a_linked_file_are_changed_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("dotfiles-app.toml");
        std::fs::write(
            &real,
            "network = { preset = \"local\", mode = \"relay\", target_peers = 3 }\n",
        )
        .unwrap();
        let path = dir.path().join("app.toml");
        #[cfg(unix)]
        std::os::unix::fs::symlink(&real, &path).unwrap();
        #[cfg(not(unix))]
        std::fs::copy(&real, &path).unwrap();
        let settings = apply(
            &path,
            &Change::Network {
                preset: "local".into(),
                bootstrap: vec!["/ip4/127.0.0.1/tcp/60001".into()],
                cluster: Some(7),
                shard: None,
            },
        )
        .unwrap();
        assert_eq!(settings.network.target_peers, 3, "the other keys stay");
        assert_eq!(settings.network.cluster, Some(7));
        #[cfg(unix)]
        {
            assert!(
                std::fs::symlink_metadata(&path)
                    .unwrap()
                    .file_type()
                    .is_symlink()
            );
            let text = std::fs::read_to_string(&real).unwrap();
            assert!(
                text.contains("mode = \"relay\"") && text.contains("60001"),
                "{text}"
            );
        }
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left.len(), 2, "no temporary file left: {left:?}");
    }

    #[test]
    fn a_missing_file_is_made_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nodepair/app.toml");
        apply(&path, &Change::KeepRunningInTray(false)).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
