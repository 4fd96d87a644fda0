//! One paired app introducing the same person's new computer to a manager: the request, the manager's answer, and what a manager admits.
//!
//! The introducer (an app the manager paired with, O) sends over its
//! session a request `nodepair.introduce` naming the new app (N): its
//! static key, node id, display name, and the capabilities it should be
//! granted. A manager that accepts introductions (its operator's choice)
//! admits N with at most O's own grant: a request for more is refused
//! whole, nothing stored. It answers with what N needs to reach it: its own
//! key, node id, name and what it grants N.
//!
//! O and N first meet as in pairing, with a code N shows and O's person
//! types, under the introduction's own topic and key
//! ([`Purpose::Introduction`](crate::kdf::Purpose)); both people compare the
//! verification string. Over that first session, which neither side
//! stores, O hands N the managers that admitted it ([`Handoff`],
//! `nodepair.handoff`); N stores those and connects to them.

use crate::grants;
use crate::hello::{check_capabilities, check_display_name};
use crate::identity::{KEY_LEN, NodeId, PublicKey};
use serde::{Deserialize, Serialize};

/// The request method that carries an introduction.
pub const INTRODUCE_METHOD: &str = "nodepair.introduce";

/// The introduction's body (JSON, like the manager methods' bodies).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Introduce {
    /// N's static public key, 64 hex digits.
    pub public_key: String,
    /// N's node id (a UUID).
    pub node_id: String,
    /// N's display name, under the HELLO's rules.
    pub display_name: String,
    /// The capabilities N should be granted; `None` asks for the
    /// introducer's whole grant.
    #[serde(default)]
    pub grants: Option<Vec<String>>,
}

/// The request method that hands the introduced managers to N.
pub const HANDOFF_METHOD: &str = "nodepair.handoff";

/// At most this many apps of one line (introduced from one app the
/// operator paired) on a manager: a stolen laptop cannot fill it.
pub const MAX_LINE: usize = 16;

/// At most this many managers in one handoff.
pub const MAX_HANDOFF: usize = 256;

/// The handoff's body: what each manager that admitted N said.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handoff {
    /// One per manager.
    pub managers: Vec<Introduced>,
}

/// A manager N takes from a handoff.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandedManager {
    /// Its key.
    pub public_key: PublicKey,
    /// Its node id.
    pub node_id: NodeId,
    /// Its name, checked.
    pub display_name: String,
    /// What it grants N, checked.
    pub capabilities: Vec<String>,
}

/// Checks every manager of a handoff; one bad entry refuses it whole
/// (nothing is stored), naming the entry. Duplicates keep the first.
pub fn check_handoff(handoff: &Handoff) -> Result<Vec<HandedManager>, IntroductionError> {
    if handoff.managers.len() > MAX_HANDOFF {
        return Err(IntroductionError::Malformed("too many managers"));
    }
    let mut out: Vec<HandedManager> = Vec::with_capacity(handoff.managers.len());
    for entry in &handoff.managers {
        let public_key = parse_key(&entry.public_key)?;
        let node_id = entry
            .node_id
            .parse::<uuid::Uuid>()
            .map(NodeId)
            .map_err(|_| IntroductionError::Malformed("node id"))?;
        let display_name = check_display_name(entry.display_name.trim())
            .map_err(IntroductionError::Malformed)?
            .to_owned();
        check_capabilities(&entry.capabilities).map_err(IntroductionError::Malformed)?;
        if out.iter().any(|m| m.public_key == public_key) {
            continue;
        }
        out.push(HandedManager {
            public_key,
            node_id,
            display_name,
            capabilities: entry.capabilities.clone(),
        });
    }
    Ok(out)
}

/// What the manager tells the introducer to hand to N.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Introduced {
    /// The manager's static public key (the one N opens sessions with), 64
    /// hex digits.
    pub public_key: String,
    /// Its node id.
    pub node_id: String,
    /// Its display name.
    pub display_name: String,
    /// What N may use.
    pub capabilities: Vec<String>,
}

/// An introduction a manager admits: who N is and what it is granted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Admitted {
    /// N's key.
    pub public_key: PublicKey,
    /// N's node id.
    pub node_id: NodeId,
    /// N's name, checked.
    pub display_name: String,
    /// N's grant: `None` when the introducer has everything offered and
    /// asked for all of it.
    pub grants: Option<Vec<String>>,
}

/// Why an introduction is refused; nothing is stored.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IntroductionError {
    /// The manager's operator does not accept introductions.
    #[error(
        "this manager does not accept introductions; its operator pairs each computer (`nodepair-manager pair`)"
    )]
    NotAccepted,
    /// A field breaks its rules.
    #[error("the introduction is malformed: {0}")]
    Malformed(&'static str),
    /// N is the introducer itself, or already paired here.
    #[error("that computer is already paired with this manager")]
    AlreadyPaired,
    /// More was asked for N than the introducer has.
    #[error(
        "the introduction asks for {0:?}, which the introducing app is not granted itself; an app can introduce another with at most its own grant"
    )]
    BeyondIntroducer(String),
}

/// What a manager that accepts introductions (`accepting`) admits of
/// `request` from an introducer granted `introducer` (its record's grant)
/// of what it offers (`offered`); `paired`: whether N's key is paired here
/// already.
pub fn admit(
    accepting: bool,
    offered: &[String],
    introducer: Option<&[String]>,
    request: &Introduce,
    paired: impl Fn(&PublicKey) -> bool,
) -> Result<Admitted, IntroductionError> {
    if !accepting {
        return Err(IntroductionError::NotAccepted);
    }
    let public_key = parse_key(&request.public_key)?;
    let node_id = request
        .node_id
        .parse::<uuid::Uuid>()
        .map(NodeId)
        .map_err(|_| IntroductionError::Malformed("node id"))?;
    let display_name = check_display_name(request.display_name.trim())
        .map_err(IntroductionError::Malformed)?
        .to_owned();
    if paired(&public_key) {
        return Err(IntroductionError::AlreadyPaired);
    }
    let grants = match &request.grants {
        // All the introducer has.
        None => introducer.map(|own| grants::granted(offered, Some(own))),
        Some(asked) => {
            check_capabilities(asked).map_err(IntroductionError::Malformed)?;
            if let Some(beyond) = asked
                .iter()
                .find(|c| !grants::allows(introducer, c) || !offered.contains(c))
            {
                return Err(IntroductionError::BeyondIntroducer(beyond.clone()));
            }
            Some(grants::granted(offered, Some(asked)))
        }
    };
    Ok(Admitted {
        public_key,
        node_id,
        display_name,
        grants: grants.map(|g| {
            g.into_iter()
                .filter(|c| c != crate::api::info::CAPABILITY)
                .collect()
        }),
    })
}

fn parse_key(hex_key: &str) -> Result<PublicKey, IntroductionError> {
    let bytes = hex::decode(hex_key).map_err(|_| IntroductionError::Malformed("public key"))?;
    let key: [u8; KEY_LEN] = bytes
        .try_into()
        .map_err(|_| IntroductionError::Malformed("public key length"))?;
    // A low-order point makes every Diffie-Hellman with it worthless.
    if key == [0; KEY_LEN] {
        return Err(IntroductionError::Malformed("public key"));
    }
    Ok(PublicKey(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    fn request(grants: Option<&[&str]>) -> Introduce {
        Introduce {
            public_key: "ab".repeat(32),
            node_id: "6f1c2a8e-5b0d-4c3e-9a71-2f4d8e6b1c09".into(),
            display_name: "second laptop".into(),
            grants: grants.map(names),
        }
    }

    const OFFERED: &[&str] = &["info", "host", "logs", "services"];

    #[test]
    fn an_introduced_app_gets_at_most_the_introducers_grant() {
        let offered = names(OFFERED);
        let owner = admit(true, &offered, None, &request(None), |_| false).unwrap();
        assert_eq!(owner.grants, None, "everything, as the introducer has");
        assert_eq!(owner.display_name, "second laptop");
        let teammate = names(&["host", "logs"]);
        let narrowed = admit(true, &offered, Some(&teammate), &request(None), |_| false).unwrap();
        assert_eq!(narrowed.grants, Some(names(&["host", "logs"])));
        let less = admit(
            true,
            &offered,
            Some(&teammate),
            &request(Some(&["logs"])),
            |_| false,
        )
        .unwrap();
        assert_eq!(less.grants, Some(names(&["logs"])));
    }

    #[test]
    fn asking_beyond_the_introducer_or_a_manager_that_refuses_stores_nothing() {
        let offered = names(OFFERED);
        let teammate = names(&["host"]);
        assert_eq!(
            admit(
                true,
                &offered,
                Some(&teammate),
                &request(Some(&["host", "services"])),
                |_| false
            ),
            Err(IntroductionError::BeyondIntroducer("services".into()))
        );
        assert_eq!(
            admit(
                true,
                &offered,
                None,
                &request(Some(&["validators"])),
                |_| false
            ),
            Err(IntroductionError::BeyondIntroducer("validators".into())),
            "not offered here at all"
        );
        assert_eq!(
            admit(false, &offered, None, &request(None), |_| false),
            Err(IntroductionError::NotAccepted)
        );
        assert_eq!(
            admit(true, &offered, None, &request(None), |_| true),
            Err(IntroductionError::AlreadyPaired)
        );
    }

    fn introduced(key: &str) -> Introduced {
        Introduced {
            public_key: key.into(),
            node_id: "6f1c2a8e-5b0d-4c3e-9a71-2f4d8e6b1c09".into(),
            display_name: "validator box".into(),
            capabilities: names(&["info", "host"]),
        }
    }

    #[test]
    fn a_handoff_is_taken_whole_or_not_at_all() {
        let good = Handoff {
            managers: vec![
                introduced(&"ab".repeat(32)),
                introduced(&"cd".repeat(32)),
                introduced(&"ab".repeat(32)),
            ],
        };
        let taken = check_handoff(&good).unwrap();
        assert_eq!(taken.len(), 2, "a repeated manager is taken once");
        assert_eq!(taken[1].public_key, PublicKey([0xcd; 32]));
        assert_eq!(taken[0].capabilities, names(&["info", "host"]));
        let mut bad = good.clone();
        bad.managers[1].display_name = "\u{7}bell".into();
        assert!(matches!(
            check_handoff(&bad),
            Err(IntroductionError::Malformed(_))
        ));
        let mut bad = good.clone();
        bad.managers[2].public_key = "00".repeat(32);
        assert_eq!(
            check_handoff(&bad),
            Err(IntroductionError::Malformed("public key"))
        );
        let mut bad = good;
        bad.managers[0].capabilities = vec!["x".repeat(300)];
        assert!(check_handoff(&bad).is_err());
        let many = Handoff {
            managers: vec![introduced(&"ab".repeat(32)); MAX_HANDOFF + 1],
        };
        assert_eq!(
            check_handoff(&many),
            Err(IntroductionError::Malformed("too many managers"))
        );
    }

    #[test]
    fn malformed_introductions_say_which_field() {
        let offered = names(OFFERED);
        let mut bad = request(None);
        bad.public_key = "00".repeat(32);
        assert_eq!(
            admit(true, &offered, None, &bad, |_| false),
            Err(IntroductionError::Malformed("public key"))
        );
        let mut bad = request(None);
        bad.node_id = "not a uuid".into();
        assert_eq!(
            admit(true, &offered, None, &bad, |_| false),
            Err(IntroductionError::Malformed("node id"))
        );
        let mut bad = request(None);
        bad.display_name = "\u{1b}[2Jx".into();
        assert!(matches!(
            admit(true, &offered, None, &bad, |_| false),
            Err(IntroductionError::Malformed(_))
        ));
        let body: Introduce =
            serde_json::from_str(&serde_json::to_string(&request(Some(&["host"]))).unwrap())
                .unwrap();
        assert_eq!(
            body,
            request(Some(&["host"])),
            "the body round-trips as JSON"
        );
    }
}
