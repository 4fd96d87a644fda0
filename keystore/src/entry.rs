//! Entry names and the secret bytes stored under them.

use std::fmt;
use zeroize::Zeroizing;

/// The name of one keystore entry, e.g. `identity` or `peer.4f1c…`.
///
/// Names are 1 to 128 characters of `a-z`, `0-9`, `.`, `-` and `_`, so every
/// backend (a keyring's attribute, a vault's map key) can hold them as they are.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntryName(String);

/// Longest entry name, in bytes.
pub const MAX_NAME_LEN: usize = 128;

/// A string that cannot name a keystore entry.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidEntryName {
    /// The name is empty.
    #[error("an entry name cannot be empty")]
    Empty,
    /// The name is longer than [`MAX_NAME_LEN`].
    #[error("entry name is {0} bytes long, over the limit of {MAX_NAME_LEN}")]
    TooLong(usize),
    /// The name holds a character outside `a-z 0-9 . - _`.
    #[error("entry name holds {0:?}; only a-z, 0-9, '.', '-' and '_' are allowed")]
    BadChar(char),
}

impl EntryName {
    /// Checks `name` and wraps it.
    pub fn new(name: impl Into<String>) -> Result<Self, InvalidEntryName> {
        let name = name.into();
        if name.is_empty() {
            return Err(InvalidEntryName::Empty);
        }
        if name.len() > MAX_NAME_LEN {
            return Err(InvalidEntryName::TooLong(name.len()));
        }
        if let Some(c) = name
            .chars()
            .find(|c| !matches!(c, 'a'..='z' | '0'..='9' | '.' | '-' | '_'))
        {
            return Err(InvalidEntryName::BadChar(c));
        }
        Ok(EntryName(name))
    }

    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EntryName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for EntryName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EntryName({})", self.0)
    }
}

/// Secret bytes read from a keystore: wiped from memory when dropped and never
/// shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretBytes(Zeroizing<Vec<u8>>);

impl SecretBytes {
    /// Takes ownership of `bytes`; they are wiped when this value drops.
    pub fn new(bytes: Vec<u8>) -> Self {
        SecretBytes(Zeroizing::new(bytes))
    }

    /// The secret itself; keep the borrow short.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes({} bytes, redacted)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_names_are_accepted() {
        for n in ["identity", "peer.4f1c-9a", "node_key", &"a".repeat(128)] {
            assert_eq!(EntryName::new(n).unwrap().as_str(), n);
        }
    }

    #[test]
    fn bad_names_are_refused_with_the_reason() {
        assert_eq!(EntryName::new(""), Err(InvalidEntryName::Empty));
        assert_eq!(
            EntryName::new("a".repeat(129)),
            Err(InvalidEntryName::TooLong(129))
        );
        assert_eq!(
            EntryName::new("../etc/passwd"),
            Err(InvalidEntryName::BadChar('/'))
        );
        assert_eq!(EntryName::new("Peer"), Err(InvalidEntryName::BadChar('P')));
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let s = SecretBytes::new(b"hunter2".to_vec());
        let shown = format!("{s:?}");
        assert_eq!(shown, "SecretBytes(7 bytes, redacted)");
        assert!(!shown.contains("hunter2"));
    }
}
