//! What a paired app may use: what the manager offers, narrowed by what its operator granted that app.
//!
//! A manager's configuration lists the capabilities it offers: the ceiling,
//! and what every app gets unless its operator granted it less. A grant is
//! kept in the app's counterparty record on the manager and set only there:
//! nothing the app sends changes it. `info` (who the manager is) goes with
//! every grant, as `manager.info` needs no capability.

use crate::api;

/// The capabilities an app with `grant` may use, in `offered`'s order:
/// all of `offered` when `grant` is `None`, else those also in `grant`,
/// and `info` whenever offered.
pub fn granted(offered: &[String], grant: Option<&[String]>) -> Vec<String> {
    offered
        .iter()
        .filter(|c| allows(grant, c))
        .cloned()
        .collect()
}

/// Whether `grant` lets its holder use `capability` (if offered at all).
pub fn allows(grant: Option<&[String]>, capability: &str) -> bool {
    capability == api::info::CAPABILITY
        || grant.is_none_or(|names| names.iter().any(|n| n == capability))
}

/// Whether `grant` lets its holder receive events of `stream`: a stream
/// belongs to the capability its kind names (`logs:geth` → `logs`).
pub fn allows_stream(grant: Option<&[String]>, stream: &str) -> bool {
    allows(grant, api::stream_kind(stream))
}

/// Why a grant cannot be given.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GrantError {
    /// A name that is not among what this side offers.
    #[error(
        "{name:?} is not offered here (offered: {offered}); a grant can only narrow what is offered"
    )]
    NotOffered {
        /// The name given.
        name: String,
        /// What is offered, comma-separated.
        offered: String,
    },
}

/// Checks that every name in `grant` is offered; returns the grant with
/// each name once, in `offered`'s order, and without `info` (always given).
pub fn check(offered: &[String], grant: &[String]) -> Result<Vec<String>, GrantError> {
    if let Some(name) = grant.iter().find(|n| !offered.contains(n)) {
        return Err(GrantError::NotOffered {
            name: name.clone(),
            offered: offered.join(", "),
        });
    }
    Ok(offered
        .iter()
        .filter(|c| *c != api::info::CAPABILITY && grant.contains(c))
        .cloned()
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn no_grant_is_everything_offered_and_info_goes_with_any_grant() {
        let offered = names(&["info", "host", "logs", "services"]);
        assert_eq!(granted(&offered, None), offered);
        assert_eq!(
            granted(&offered, Some(&names(&["logs", "host"]))),
            names(&["info", "host", "logs"]),
            "the offered order, info kept"
        );
        assert_eq!(granted(&offered, Some(&[])), names(&["info"]));
        assert!(allows(Some(&[]), "info"));
        assert!(!allows(Some(&names(&["host"])), "logs"));
        assert!(allows(None, "logs"));
        assert!(!allows_stream(Some(&names(&["host"])), "logs:geth.service"));
        assert!(allows_stream(Some(&names(&["host"])), "host"));
    }

    #[test]
    fn a_grant_beyond_what_is_offered_is_refused_naming_it() {
        let offered = names(&["info", "host", "logs"]);
        let err = check(&offered, &names(&["host", "validators"])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "\"validators\" is not offered here (offered: info, host, logs); a grant can only narrow what is offered"
        );
        assert_eq!(
            check(&offered, &names(&["logs", "info", "host", "logs"])).unwrap(),
            names(&["host", "logs"])
        );
    }
}
