//! The `[validators]` section of manager.toml: which validators to watch — listed by index or public key, and/or those the validator client's keymanager API holds — and the keymanager's token file, which never leaves the server.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Most validators one manager watches.
pub(crate) const MAX_VALIDATORS: usize = 100_000;

/// The `[validators]` section.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct ValidatorsConfig {
    /// Validators by index.
    pub(crate) indices: Vec<u64>,
    /// Validators by public key (`0x` and 96 hex digits).
    pub(crate) pubkeys: Vec<String>,
    /// The validator client's keymanager API, whose `GET
    /// /eth/v1/keystores` lists the keys it signs for (e.g.
    /// `http://127.0.0.1:5062` for Lighthouse).
    pub(crate) keymanager_url: Option<String>,
    /// The file holding the keymanager API's bearer token (Lighthouse:
    /// `validators/api-token.txt`); readable by its owner only.
    pub(crate) token_file: Option<PathBuf>,
}

impl ValidatorsConfig {
    /// Checks what can be checked without reading anything: the keys'
    /// form, the URL, a token file named with a keymanager and only then,
    /// and how many are listed.
    pub(crate) fn check(&self) -> Result<(), String> {
        for key in &self.pubkeys {
            super::beacon_bodies::pubkey(key).map_err(|_| {
                format!(
                    "[validators] pubkeys: {:?} is not a validator public key (0x and 96 hex digits)",
                    key.chars().take(100).collect::<String>()
                )
            })?;
        }
        if self.indices.len() + self.pubkeys.len() > MAX_VALIDATORS {
            return Err(format!(
                "[validators] lists more than {MAX_VALIDATORS} validators"
            ));
        }
        match (&self.keymanager_url, &self.token_file) {
            (Some(url), Some(_)) => {
                let parsed = reqwest::Url::parse(url).map_err(|e| {
                    format!("[validators] keymanager_url {url:?} is not a URL: {e}")
                })?;
                if !matches!(parsed.scheme(), "http" | "https") {
                    return Err(format!(
                        "[validators] keymanager_url {url:?} is not http or https"
                    ));
                }
                // The token rides in every request: in clear text only to
                // this machine.
                if parsed.scheme() == "http" && !loopback(&parsed) {
                    return Err(format!(
                        "[validators] keymanager_url {url:?} would send the token unencrypted to another machine; use https, or the keymanager on this machine (127.0.0.1, ::1, localhost)"
                    ));
                }
                Ok(())
            }
            (Some(_), None) => Err(
                "[validators] keymanager_url needs token_file, the file with its bearer token"
                    .into(),
            ),
            (None, Some(_)) => {
                Err("[validators] token_file is only read with a keymanager_url".into())
            }
            (None, None) => Ok(()),
        }
    }
}

fn loopback(url: &reqwest::Url) -> bool {
    let host = url.host_str().unwrap_or_default();
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Longest token file read (the clients' tokens are under 100 bytes).
const MAX_TOKEN_BYTES: u64 = 4096;

/// The keymanager API's bearer token: sent to the keymanager only, never
/// shown (its `Debug` says nothing of it).
pub(crate) struct Token(String);

impl Token {
    /// The value for an `Authorization: Bearer` header.
    pub(crate) fn bearer(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(…)")
    }
}

/// Why the token file cannot be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TokenError {
    /// It cannot be read.
    #[error("cannot read the keymanager token file {path}: {source}")]
    Read {
        /// Which file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Others than its owner may read it.
    #[error(
        "the keymanager token file {path} can be read by its group or others (mode {mode:o}); run `chmod 600 {path}`"
    )]
    #[cfg_attr(not(unix), allow(dead_code))]
    Exposed {
        /// Which file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// It holds no token.
    #[error("the keymanager token file {path} is empty")]
    Empty {
        /// Which file.
        path: PathBuf,
    },
    /// It holds more than a token.
    #[error("the keymanager token file {path} is longer than {MAX_TOKEN_BYTES} bytes: not a token file")]
    TooLong {
        /// Which file.
        path: PathBuf,
    },
}

/// Reads the token in `path`, refusing a file its group or others can read
/// (the token lets whoever holds it import and delete validator keys). Off
/// Unix there are no mode bits: the file's ACL is the operator's to set.
pub(crate) fn read_token(path: &Path) -> Result<Token, TokenError> {
    let read = |source| TokenError::Read {
        path: path.to_owned(),
        source,
    };
    use std::io::Read;
    // The permissions checked are the opened file's own, so nothing can
    // swap the file between the check and the read.
    let file = std::fs::File::open(path).map_err(read)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = file.metadata().map_err(read)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(TokenError::Exposed {
                path: path.to_owned(),
                mode,
            });
        }
    }
    let mut text = String::new();
    file.take(MAX_TOKEN_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(read)?;
    if text.len() as u64 > MAX_TOKEN_BYTES {
        return Err(TokenError::TooLong {
            path: path.to_owned(),
        });
    }
    let token = text.trim();
    if token.is_empty() {
        return Err(TokenError::Empty {
            path: path.to_owned(),
        });
    }
    Ok(Token(token.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0x93247f2209abcacf57b75a51dafae777f9dd38bc7053d1af526f220a7489a6d3a2753e5f3e8b1cfe39b56f43611df74a";

    fn config(text: &str) -> Result<ValidatorsConfig, String> {
        let config: ValidatorsConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        config.check().map(|()| config)
    }

    #[test]
    fn validators_are_listed_by_index_and_key_and_a_bad_entry_is_named() {
        let ok = config(&format!(
            "indices = [1234567, 1234568]\npubkeys = [\"{KEY}\"]\nkeymanager_url = \"http://127.0.0.1:5062\"\ntoken_file = \"/var/lib/lighthouse/validators/api-token.txt\"\n"
        ))
        .unwrap();
        assert_eq!(ok.indices, [1_234_567, 1_234_568]);
        let bad_key = config("pubkeys = [\"0x1234\"]\n").unwrap_err();
        assert!(
            bad_key.contains("\"0x1234\" is not a validator public key"),
            "{bad_key}"
        );
        let typo = config("indexes = [1]\n").unwrap_err();
        assert!(typo.contains("indexes"), "{typo}");
        let no_token = config("keymanager_url = \"http://127.0.0.1:5062\"\n").unwrap_err();
        assert!(no_token.contains("needs token_file"), "{no_token}");
        let ftp = config("keymanager_url = \"ftp://host\"\ntoken_file = \"/t\"\n").unwrap_err();
        assert!(ftp.contains("not http or https"), "{ftp}");
        let clear = config("keymanager_url = \"http://10.0.0.5:5062\"\ntoken_file = \"/t\"\n").unwrap_err();
        assert!(clear.contains("unencrypted to another machine"), "{clear}");
        for ok in ["https://10.0.0.5:5062", "http://localhost:5062", "http://[::1]:5062"] {
            config(&format!("keymanager_url = \"{ok}\"\ntoken_file = \"/t\"\n")).unwrap();
        }
    }

    #[test]
    fn a_token_file_others_can_read_is_refused_and_the_token_never_shows() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("api-token.txt");
        std::fs::write(&path, "api-token-0x5e3c\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let refused = read_token(&path).unwrap_err().to_string();
        assert!(
            refused.contains("mode 644") && refused.contains("chmod 600"),
            "{refused}"
        );
        assert!(!refused.contains("api-token-0x5e3c"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let token = read_token(&path).unwrap();
        assert_eq!(token.bearer(), "api-token-0x5e3c");
        assert_eq!(format!("{token:?}"), "Token(…)");
        std::fs::write(&path, "\n").unwrap();
        assert!(matches!(read_token(&path), Err(TokenError::Empty { .. })));
        std::fs::write(&path, "x".repeat(5000)).unwrap();
        assert!(matches!(read_token(&path), Err(TokenError::TooLong { .. })));
        assert!(matches!(
            read_token(&dir.path().join("missing")),
            Err(TokenError::Read { .. })
        ));
    }
}
