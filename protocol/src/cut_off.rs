//! Cutting off a lost computer: an app asks a manager to unpair another app of its own line of introductions.
//!
//! Apps a manager's operator paired each start a line; an app introduced by
//! another joins the introducer's line (the keystore's `introduced_by`). An
//! app may ask (`nodepair.cut_off`, body [`CutOff`]) that another app of its
//! line be unpaired at once: the person's lost or stolen computer. It names
//! the computer as the person does: its name, its key (64 hex digits), or
//! its key's fingerprint. Apps of other lines, the asker itself and the
//! manager's other counterparties are never found.

use crate::identity::PublicKey;
use serde::{Deserialize, Serialize};

/// The request method.
pub const CUT_OFF_METHOD: &str = "nodepair.cut_off";

/// At most this many bytes name the computer to cut off.
pub const MAX_WHO: usize = 256;

/// The request's body (JSON).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CutOff {
    /// The computer to cut off: a name, a key or a fingerprint.
    pub who: String,
}

/// The answer when it was cut off (JSON).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CutOffDone {
    /// Its key, 64 hex digits.
    pub public_key: String,
    /// Its name.
    pub display_name: String,
}

/// An app of a manager, as [`find`] judges it.
#[derive(Clone, Debug)]
pub struct Member<'a> {
    /// Its key.
    pub public_key: PublicKey,
    /// Its display name.
    pub display_name: &'a str,
    /// The first app of its line: `introduced_by`, else itself.
    pub root: PublicKey,
}

/// Why nobody is cut off.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CutOffError {
    /// No other app of the asker's line goes by that.
    #[error("no other computer of yours named {0:?} is paired with this manager")]
    NotFound(String),
    /// More than one does.
    #[error("{0:?} names more than one of your computers here; give its key or fingerprint")]
    Ambiguous(String),
    /// What was sent is not a cut-off.
    #[error("the cut-off is malformed: {0}")]
    Malformed(&'static str),
}

/// The one app of `asker`'s line, other than the asker, that `who` names
/// among `members`.
pub fn find(
    asker: &Member<'_>,
    members: &[Member<'_>],
    who: &str,
) -> Result<PublicKey, CutOffError> {
    let who = who.trim();
    if who.is_empty() || who.len() > MAX_WHO {
        return Err(CutOffError::Malformed("who"));
    }
    let line: Vec<&Member<'_>> = members
        .iter()
        .filter(|m| m.root == asker.root && m.public_key != asker.public_key)
        .collect();
    let by_key: Vec<PublicKey> = line
        .iter()
        .filter(|m| {
            m.public_key.to_string().eq_ignore_ascii_case(who)
                || m.public_key.fingerprint().eq_ignore_ascii_case(who)
        })
        .map(|m| m.public_key)
        .collect();
    let found = if by_key.is_empty() {
        line.iter()
            .filter(|m| m.display_name == who)
            .map(|m| m.public_key)
            .collect()
    } else {
        by_key
    };
    match found.as_slice() {
        [one] => Ok(*one),
        [] => Err(CutOffError::NotFound(who.to_owned())),
        _ => Err(CutOffError::Ambiguous(who.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(key: u8, name: &'static str, root: u8) -> Member<'static> {
        Member {
            public_key: PublicKey([key; 32]),
            display_name: name,
            root: PublicKey([root; 32]),
        }
    }

    #[test]
    fn only_another_computer_of_the_askers_line_is_found() {
        let laptop = member(1, "laptop", 1);
        let desktop = member(2, "desktop", 1);
        let teammate = member(3, "laptop", 3);
        let all = [laptop.clone(), desktop.clone(), teammate.clone()];
        assert_eq!(find(&desktop, &all, "laptop"), Ok(laptop.public_key));
        assert_eq!(
            find(&laptop, &all, "desktop"),
            Ok(desktop.public_key),
            "the first of a line may be cut off by the one it introduced, and the other way"
        );
        assert_eq!(
            find(&teammate, &all, "desktop"),
            Err(CutOffError::NotFound("desktop".into())),
            "another line's computer is never found"
        );
        assert_eq!(
            find(&desktop, &all, "desktop"),
            Err(CutOffError::NotFound("desktop".into())),
            "not itself"
        );
        assert_eq!(
            find(&desktop, &all, &laptop.public_key.fingerprint()),
            Ok(laptop.public_key)
        );
        assert_eq!(
            find(
                &desktop,
                &all,
                &laptop.public_key.to_string().to_uppercase()
            ),
            Ok(laptop.public_key)
        );
    }

    #[test]
    fn two_of_one_name_or_nothing_are_errors() {
        let desktop = member(2, "desktop", 1);
        let all = [
            member(1, "laptop", 1),
            member(4, "laptop", 1),
            desktop.clone(),
        ];
        assert_eq!(
            find(&desktop, &all, "laptop"),
            Err(CutOffError::Ambiguous("laptop".into()))
        );
        assert_eq!(
            find(&desktop, &all, "  "),
            Err(CutOffError::Malformed("who"))
        );
        assert_eq!(
            find(&desktop, &all, &"x".repeat(300)),
            Err(CutOffError::Malformed("who"))
        );
    }
}
