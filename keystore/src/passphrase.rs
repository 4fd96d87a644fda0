//! Where the vault passphrase comes from: a systemd credential, a file, an environment variable or a prompt.
//!
//! Never from the command line: argv is world-readable in `/proc`.

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// The systemd credential read from `$CREDENTIALS_DIRECTORY` when no source
/// is configured (`LoadCredential=vault-passphrase:/path` or
/// `LoadCredentialEncrypted=` in the unit).
pub const CREDENTIAL_NAME: &str = "vault-passphrase";

/// The environment variable read when no source is configured and there is
/// no systemd credential.
pub const ENV_VAR: &str = "NODEPAIR_VAULT_PASSPHRASE";

/// A vault passphrase: wiped from memory when dropped, never shown by `Debug`.
pub struct Passphrase(Zeroizing<Vec<u8>>);

impl Passphrase {
    /// Wraps `bytes`.
    pub fn new(bytes: Vec<u8>) -> Self {
        Passphrase(Zeroizing::new(bytes))
    }

    /// The passphrase itself; keep the borrow short.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passphrase(redacted)")
    }
}

impl Clone for Passphrase {
    fn clone(&self) -> Self {
        Passphrase(self.0.clone())
    }
}

/// Equal when the bytes are (compared in constant time would not matter:
/// this is for tests and configuration comparisons, never a check of a
/// guess).
impl PartialEq for Passphrase {
    fn eq(&self, other: &Self) -> bool {
        *self.0 == *other.0
    }
}

impl Eq for Passphrase {}

/// One place a passphrase can come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PassphraseSource {
    /// A systemd credential: `$CREDENTIALS_DIRECTORY/<name>`.
    Credential(String),
    /// A file holding the passphrase (one trailing newline is dropped); it
    /// must not be readable by group or others.
    File(PathBuf),
    /// An environment variable.
    Env(String),
    /// Asked on the terminal.
    Prompt,
    /// Already in hand: typed into the desktop app's window (which asks
    /// twice itself when it is a new one).
    Given(Passphrase),
}

impl std::fmt::Display for PassphraseSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PassphraseSource::Credential(n) => write!(f, "systemd credential {n}"),
            PassphraseSource::File(p) => write!(f, "file {}", p.display()),
            PassphraseSource::Env(v) => write!(f, "environment variable {v}"),
            PassphraseSource::Prompt => f.write_str("terminal prompt"),
            PassphraseSource::Given(_) => f.write_str("the passphrase typed in the window"),
        }
    }
}

/// No passphrase could be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PassphraseError {
    /// Nothing configured, no credential, no variable, and no terminal to ask on.
    #[error(
        "the vault needs a passphrase and there is none: set passphrase_file in [keystore], load the systemd credential {CREDENTIAL_NAME}, set {ENV_VAR}, or run on a terminal"
    )]
    NoSource,
    /// The source exists but could not be read.
    #[error("cannot read the vault passphrase from {source_name}: {error}")]
    Unreadable {
        /// The source.
        source_name: PassphraseSource,
        /// Why.
        error: std::io::Error,
    },
    /// A passphrase file others can read.
    #[error(
        "the passphrase file {0} is readable by other users; run `chmod 600 {0}` (or 400) first"
    )]
    FileTooOpen(PathBuf),
    /// The source holds an empty passphrase.
    #[error("the vault passphrase from {0} is empty")]
    Empty(PassphraseSource),
    /// The two entries at the "new passphrase" prompt differ.
    #[error("the two passphrases typed differ; nothing was changed")]
    Mismatch,
}

/// What the passphrase is for, which decides how a prompt asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Opening an existing vault.
    Unlock,
    /// Setting the passphrase of a new vault, or a new passphrase: asked twice.
    New,
}

impl PassphraseSource {
    /// The source to use when none is configured: the systemd credential if
    /// one is loaded, else the environment variable if set, else a prompt if
    /// standard input is a terminal. `env` reads the environment (a
    /// parameter so tests need not change the process's own).
    pub fn automatic(
        env: impl Fn(&str) -> Option<OsString>,
    ) -> Result<PassphraseSource, PassphraseError> {
        if let Some(dir) = env("CREDENTIALS_DIRECTORY")
            && Path::new(&dir).join(CREDENTIAL_NAME).exists()
        {
            return Ok(PassphraseSource::Credential(CREDENTIAL_NAME.into()));
        }
        if env(ENV_VAR).is_some() {
            return Ok(PassphraseSource::Env(ENV_VAR.into()));
        }
        if std::io::stdin().is_terminal() {
            return Ok(PassphraseSource::Prompt);
        }
        Err(PassphraseError::NoSource)
    }

    /// Reads the passphrase.
    pub fn read(
        &self,
        purpose: Purpose,
        env: impl Fn(&str) -> Option<OsString>,
    ) -> Result<Passphrase, PassphraseError> {
        let unreadable = |error| PassphraseError::Unreadable {
            source_name: self.clone(),
            error,
        };
        let bytes = match self {
            PassphraseSource::Credential(name) => {
                let dir = env("CREDENTIALS_DIRECTORY").ok_or_else(|| {
                    unreadable(std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        "CREDENTIALS_DIRECTORY is not set (is the unit's LoadCredential= in place?)",
                    ))
                })?;
                // systemd made this directory private to the service.
                read_secret_file(&Path::new(&dir).join(name)).map_err(unreadable)?
            }
            PassphraseSource::File(path) => {
                check_private(path).map_err(|e| match e {
                    Private::Open => PassphraseError::FileTooOpen(path.clone()),
                    Private::Io(e) => unreadable(e),
                })?;
                read_secret_file(path).map_err(unreadable)?
            }
            PassphraseSource::Env(var) => {
                let value = env(var).ok_or_else(|| {
                    unreadable(std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        "the variable is not set",
                    ))
                })?;
                Zeroizing::new(value.into_encoded_bytes())
            }
            PassphraseSource::Prompt => prompt(purpose).map_err(|e| match e {
                PromptError::Mismatch => PassphraseError::Mismatch,
                PromptError::Io(e) => unreadable(e),
            })?,
            PassphraseSource::Given(passphrase) => passphrase.0.clone(),
        };
        if bytes.is_empty() {
            return Err(PassphraseError::Empty(self.clone()));
        }
        Ok(Passphrase(bytes))
    }
}

/// The file's bytes, less one trailing newline (`\n` or `\r\n`).
/// The passphrase [`take_from_environment`] took out of the environment.
static TAKEN: std::sync::Mutex<Option<OsString>> = std::sync::Mutex::new(None);

/// Takes [`ENV_VAR`] out of the process environment, keeping its value for
/// [`process_env`]: no child process (`systemctl`, `journalctl`, a web
/// view) inherits the passphrase, and nothing that reads the environment
/// later sees it.
///
/// # Safety
///
/// Must be called while the process has a single thread — first thing in
/// `main`, before any runtime, logger or library starts one — because
/// changing the environment while another thread reads it is undefined
/// behaviour.
#[allow(unsafe_code)]
pub unsafe fn take_from_environment() {
    if let Some(value) = std::env::var_os(ENV_VAR) {
        *TAKEN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(value);
        // SAFETY: the caller guarantees no other thread exists.
        unsafe { std::env::remove_var(ENV_VAR) };
    }
}

/// The process environment as the keystore reads it: the variable
/// `name`, except that [`ENV_VAR`] is what [`take_from_environment`] took
/// out at start-up (or still in the environment, if it was not taken).
pub fn process_env(name: &str) -> Option<OsString> {
    if name == ENV_VAR
        && let Some(taken) = TAKEN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    {
        return Some(taken);
    }
    std::env::var_os(name)
}

fn read_secret_file(path: &Path) -> std::io::Result<Zeroizing<Vec<u8>>> {
    let mut bytes = Zeroizing::new(std::fs::read(path)?);
    if bytes.ends_with(b"\n") {
        bytes.pop();
        if bytes.ends_with(b"\r") {
            bytes.pop();
        }
    }
    Ok(bytes)
}

#[cfg_attr(not(unix), allow(dead_code))]
enum Private {
    Open,
    Io(std::io::Error),
}

#[cfg(not(unix))]
fn check_private(_path: &Path) -> Result<(), Private> {
    Ok(())
}

#[cfg(unix)]
fn check_private(path: &Path) -> Result<(), Private> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(Private::Io)?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(Private::Open);
    }
    Ok(())
}

enum PromptError {
    Mismatch,
    Io(std::io::Error),
}

fn prompt(purpose: Purpose) -> Result<Zeroizing<Vec<u8>>, PromptError> {
    let ask = |text: &str| {
        rpassword::prompt_password(text)
            .map(|s| Zeroizing::new(s.into_bytes()))
            .map_err(PromptError::Io)
    };
    match purpose {
        Purpose::Unlock => ask("Vault passphrase: "),
        Purpose::New => {
            let first = ask("New vault passphrase: ")?;
            let second = ask("Type it again: ")?;
            if first != second {
                return Err(PromptError::Mismatch);
            }
            Ok(first)
        }
    }
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::os::unix::fs::PermissionsExt;

    fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> + use<> {
        let map: HashMap<String, OsString> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn a_systemd_credential_comes_first() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CREDENTIAL_NAME), "from systemd\n").unwrap();
        let dir_name = dir.path().to_str().unwrap().to_owned();
        let env = env_of(&[
            ("CREDENTIALS_DIRECTORY", dir_name.as_str()),
            (ENV_VAR, "from env"),
        ]);
        let source = PassphraseSource::automatic(&env).unwrap();
        assert_eq!(source, PassphraseSource::Credential(CREDENTIAL_NAME.into()));
        let p = source.read(Purpose::Unlock, &env).unwrap();
        assert_eq!(p.expose(), b"from systemd");
    }

    #[test]
    fn the_environment_comes_next() {
        let env = env_of(&[(ENV_VAR, "from env")]);
        let source = PassphraseSource::automatic(&env).unwrap();
        assert_eq!(source, PassphraseSource::Env(ENV_VAR.into()));
        assert_eq!(
            source.read(Purpose::Unlock, &env).unwrap().expose(),
            b"from env"
        );
    }

    #[test]
    fn a_file_must_be_private_and_loses_one_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pass");
        std::fs::write(&path, "two words\r\n").unwrap();
        let source = PassphraseSource::File(path.clone());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = source.read(Purpose::Unlock, env_of(&[])).unwrap_err();
        assert!(matches!(err, PassphraseError::FileTooOpen(_)));
        assert!(err.to_string().contains("chmod 600"), "{err}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(
            source.read(Purpose::Unlock, env_of(&[])).unwrap().expose(),
            b"two words"
        );
    }

    #[test]
    fn empty_and_missing_sources_are_errors() {
        let env = env_of(&[(ENV_VAR, "")]);
        let err = PassphraseSource::Env(ENV_VAR.into())
            .read(Purpose::Unlock, &env)
            .unwrap_err();
        assert!(matches!(err, PassphraseError::Empty(_)), "{err}");
        let err = PassphraseSource::File("/nonexistent/pass".into())
            .read(Purpose::Unlock, env_of(&[]))
            .unwrap_err();
        assert!(err.to_string().contains("/nonexistent/pass"), "{err}");
        let err = PassphraseSource::Credential(CREDENTIAL_NAME.into())
            .read(Purpose::Unlock, env_of(&[]))
            .unwrap_err();
        assert!(err.to_string().contains("LoadCredential"), "{err}");
    }

    #[test]
    fn debug_never_shows_the_passphrase() {
        let p = Passphrase::new(b"hunter2".to_vec());
        assert_eq!(format!("{p:?}"), "Passphrase(redacted)");
    }

    #[test]
    fn a_passphrase_typed_in_the_window_is_used_as_given_and_never_shown() {
        let given = PassphraseSource::Given(Passphrase::new(b"correct horse".to_vec()));
        let read = given.read(Purpose::Unlock, |_| None).unwrap();
        assert_eq!(read.expose(), b"correct horse");
        assert!(!format!("{given:?} {given}").contains("horse"));
        let empty = PassphraseSource::Given(Passphrase::new(Vec::new()));
        assert!(matches!(
            empty.read(Purpose::New, |_| None),
            Err(PassphraseError::Empty(_))
        ));
    }
}
