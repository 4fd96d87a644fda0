//! Starting at login on Linux: the XDG autostart entry, `$XDG_CONFIG_HOME/autostart/nodepair.desktop`, which starts `nodepair --hidden`.
//!
//! Written here rather than by `tauri-plugin-autostart` (used on macOS and
//! Windows): on Linux that plugin writes to `~/.config/autostart` whatever
//! `XDG_CONFIG_HOME` says, where a desktop whose config lives elsewhere
//! never looks.

use std::path::{Path, PathBuf};

/// The entry's file name.
pub const ENTRY: &str = "nodepair.desktop";

/// The autostart entry in one config directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Autostart {
    file: PathBuf,
}

impl Autostart {
    /// The user's: `$XDG_CONFIG_HOME/autostart`, else `~/.config/autostart`.
    pub fn for_user() -> Autostart {
        let config = std::env::var_os("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                std::env::var_os("HOME")
                    .map_or_else(|| PathBuf::from("."), PathBuf::from)
                    .join(".config")
            });
        Autostart::in_config(&config)
    }

    /// The entry under the config directory `config`.
    pub fn in_config(config: &Path) -> Autostart {
        Autostart {
            file: config.join("autostart").join(ENTRY),
        }
    }

    /// Where the entry is.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// Whether NodePair starts at login.
    pub fn is_enabled(&self) -> bool {
        self.file.is_file()
    }

    /// Writes the entry: `program --hidden`, with `--config settings` when
    /// the app was started with one, so the app that starts at login is
    /// this one.
    ///
    /// # Errors
    ///
    /// When the directory or the file cannot be written.
    pub fn enable(&self, program: &Path, settings: Option<&Path>) -> std::io::Result<()> {
        // After an upgrade the running program's path reads "… (deleted)";
        // the new one is where the old one was.
        let program = program.to_str().map(|p| p.trim_end_matches(" (deleted)"));
        let mut exec = quote(program.ok_or_else(|| unusable(program.unwrap_or("the program")))?)?;
        if let Some(settings) = settings {
            // The login session starts elsewhere: the file by its full path.
            let settings = std::path::absolute(settings)?;
            exec.push_str(" --config ");
            exec.push_str(&quote(
                settings
                    .to_str()
                    .ok_or_else(|| unusable("the settings file"))?,
            )?);
        }
        exec.push_str(" --hidden");
        let text = format!(
            "[Desktop Entry]\nType=Application\nName=NodePair\nComment=Keeps watch over your node managers from the tray\nExec={exec}\nIcon=nodepair\nTerminal=false\nX-GNOME-Autostart-enabled=true\n"
        );
        if let Some(dir) = self.file.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = self.file.with_extension("desktop.new");
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, &self.file)
    }

    /// Removes the entry (nothing to do if there is none).
    ///
    /// # Errors
    ///
    /// When it is there and cannot be removed.
    pub fn disable(&self) -> std::io::Result<()> {
        match std::fs::remove_file(&self.file) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

fn unusable(what: &str) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!(
            "{what}'s path cannot be written in an autostart entry (not UTF-8, or a line break in it)"
        ),
    )
}

/// An argument of `Exec=`, quoted as the Desktop Entry specification asks:
/// in double quotes, `"`, `` ` ``, `$` and `\` escaped with a backslash,
/// then every backslash doubled (the value is a string, whose own escapes
/// are undone first), and `%` doubled (field codes). A line break cannot
/// be written.
fn quote(arg: &str) -> std::io::Result<String> {
    if arg.contains(['\n', '\r']) {
        return Err(unusable("a path"));
    }
    let mut out = String::with_capacity(arg.len() + 2);
    out.push('"');
    for c in arg.chars() {
        match c {
            '"' | '`' | '$' => {
                out.push_str("\\\\");
                out.push(c);
            }
            '\\' => out.push_str("\\\\\\\\"),
            '%' => out.push_str("%%"),
            _ => out.push(c),
        }
    }
    out.push('"');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_writes_the_entry_in_the_config_dir_and_off_removes_it() {
        let dir = tempfile::tempdir().unwrap();
        let autostart = Autostart::in_config(dir.path());
        assert!(!autostart.is_enabled());
        autostart
            .enable(
                Path::new("/opt/Node Pair/nodepair (deleted)"),
                Some(Path::new("/home/a/100% \"mine\" $x\\y.toml")),
            )
            .unwrap();
        assert!(autostart.is_enabled());
        let text = std::fs::read_to_string(dir.path().join("autostart/nodepair.desktop")).unwrap();
        assert!(
            text.starts_with("[Desktop Entry]\nType=Application\n"),
            "{text}"
        );
        // In the file: \\" for a quote, \\$ for a dollar, four backslashes
        // for one (the specification's own example).
        assert!(
            text.contains(
                r#"Exec="/opt/Node Pair/nodepair" --config "/home/a/100%% \\"mine\\" \\$x\\\\y.toml" --hidden"#
            ),
            "{text}"
        );
        let broken = autostart.enable(Path::new("/opt/a\nExec=evil"), None);
        assert!(broken.is_err(), "a line break would add lines to the entry");
        autostart.disable().unwrap();
        assert!(!autostart.is_enabled());
        autostart.disable().unwrap();
    }
}
