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
//! `nodepair.handoff`, in parts that each fit one frame); N takes them all
//! or none ([`HandoffIntake`]), stores them and connects to them.

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

/// At most this many managers handed over in all.
pub const MAX_HANDOFF: usize = 256;

/// A handoff's body is kept to this many bytes, well within one frame
/// ([`crate::frame::MAX_FRAME_LEN`]) with the request's envelope; more
/// managers than fit go in further parts.
pub const MAX_HANDOFF_PART: usize = 32 * 1024;

/// The handoff's body: what each manager that admitted N said, or a part
/// of it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handoff {
    /// One per manager.
    pub managers: Vec<Introduced>,
    /// More parts follow: N keeps these and stores nothing before the last.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub more: bool,
}

/// O's side: the managers to hand over, in parts of at most
/// [`MAX_HANDOFF_PART`] bytes each, in order; all but the last say
/// `more`. Always at least one part: an empty handoff tells N at once that
/// no manager admitted it.
pub fn handoff_parts(managers: Vec<Introduced>) -> Vec<Handoff> {
    // The body's frame, `{"managers":[],"more":true}`, and a comma each.
    const FRAME: usize = 32;
    let mut parts = vec![Handoff::default()];
    let mut used = FRAME;
    for entry in managers {
        let size = serde_json::to_vec(&entry).map_or(MAX_HANDOFF_PART, |b| b.len()) + 1;
        let last = parts.last_mut().expect("there is always a part");
        if !last.managers.is_empty() && used + size > MAX_HANDOFF_PART {
            last.more = true;
            parts.push(Handoff::default());
            used = FRAME;
        }
        parts
            .last_mut()
            .expect("there is always a part")
            .managers
            .push(entry);
        used += size;
    }
    parts
}

/// N's answer to one handoff part (200): `{"held": n}` before the last
/// part, n the managers taken so far; `{"stored": n}` at the last, n the
/// managers newly stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HandoffAnswer {
    /// More parts are awaited; this many managers are held.
    Held(usize),
    /// The handoff is taken; this many managers were newly stored.
    Stored(usize),
}

impl HandoffAnswer {
    /// The answer's body.
    pub fn body(self) -> String {
        serde_json::to_string(&self).expect("an answer serializes")
    }

    /// O's check of N's answer `body` to part `part` (from 0) of `parts`,
    /// after `sent` managers in all: held, and all of them, before the
    /// last; stored at the last. Anything else means N did not take the
    /// handoff as sent.
    pub fn answers(body: &[u8], part: usize, parts: usize, sent: usize) -> bool {
        match serde_json::from_slice(body) {
            Ok(HandoffAnswer::Held(held)) => part + 1 < parts && held == sent,
            Ok(HandoffAnswer::Stored(_)) => part + 1 == parts,
            Err(_) => false,
        }
    }
}

/// N's side of a handoff that may come in parts: each part is checked as
/// it comes, and nothing is given out before the last; one bad entry
/// anywhere refuses the whole handoff.
#[derive(Clone, Debug, Default)]
pub struct HandoffIntake {
    taken: Vec<HandedManager>,
    /// Refused once: every later part is refused too, so no part sent
    /// after it can be stored as if it were the whole.
    refused: Option<IntroductionError>,
}

impl HandoffIntake {
    /// Takes one part. `not_managers`: keys no manager may have (N's own,
    /// current and next, and O's). `Ok(None)`: more parts are to come;
    /// `Ok(Some(all))`: that was the last, here is every manager handed
    /// over (each once). An error refuses the handoff whole: what earlier
    /// parts brought is dropped.
    pub fn take(
        &mut self,
        part: &Handoff,
        not_managers: &[PublicKey],
    ) -> Result<Option<Vec<HandedManager>>, IntroductionError> {
        if let Some(why) = &self.refused {
            return Err(why.clone());
        }
        let checked = check_handoff(part).and_then(|managers| {
            match managers
                .iter()
                .find(|m| not_managers.contains(&m.public_key))
            {
                Some(bad) => Err(IntroductionError::NotAManager(bad.public_key.fingerprint())),
                None => Ok(managers),
            }
        });
        let managers = match checked {
            Ok(m) => m,
            Err(e) => {
                self.refuse(e.clone());
                return Err(e);
            }
        };
        for m in managers {
            if !self.taken.iter().any(|t| t.public_key == m.public_key) {
                self.taken.push(m);
            }
        }
        if self.taken.len() > MAX_HANDOFF {
            let e = IntroductionError::Malformed("too many managers");
            self.refuse(e.clone());
            return Err(e);
        }
        if part.more {
            return Ok(None);
        }
        // Given out once: asked again, the caller answers what it did.
        let all = std::mem::take(&mut self.taken);
        self.refuse(IntroductionError::Malformed(
            "the handoff was taken already",
        ));
        Ok(Some(all))
    }

    /// Refuses the handoff for good (`why`), e.g. when what it brought
    /// could not be stored: later parts get the same refusal.
    pub fn refuse(&mut self, why: IntroductionError) {
        self.taken.clear();
        self.refused = Some(why);
    }

    /// How many managers the parts so far brought.
    pub fn held(&self) -> usize {
        self.taken.len()
    }
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
    /// A handoff names as a manager a key that cannot be one (N's own, the
    /// introducer's).
    #[error("the handoff names key {0} as a manager, which cannot be one")]
    NotAManager(String),
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
    // A low-order point makes every Diffie-Hellman with it worthless; a
    // key written two ways would pass as two keys.
    let key = PublicKey(key);
    if key.is_low_order() || !key.is_canonical() {
        return Err(IntroductionError::Malformed("public key"));
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    fn request(grants: Option<&[&str]>) -> Introduce {
        Introduce {
            public_key: "2b".repeat(32),
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
                introduced(&"2b".repeat(32)),
                introduced(&"4d".repeat(32)),
                introduced(&"2b".repeat(32)),
            ],
            more: false,
        };
        let taken = check_handoff(&good).unwrap();
        assert_eq!(taken.len(), 2, "a repeated manager is taken once");
        assert_eq!(taken[1].public_key, PublicKey([0x4d; 32]));
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
            managers: vec![introduced(&"2b".repeat(32)); MAX_HANDOFF + 1],
            more: false,
        };
        assert_eq!(
            check_handoff(&many),
            Err(IntroductionError::Malformed("too many managers"))
        );
    }

    /// The longest entry the rules allow: a 64-character name of 4-byte
    /// characters, 16 capabilities of 32 bytes.
    fn longest(n: usize) -> Introduced {
        Introduced {
            public_key: {
                let mut secret = [7; KEY_LEN];
                secret[1..9].copy_from_slice(&(n as u64).to_le_bytes());
                crate::identity::StaticKeypair::from_secret(secret)
                    .public()
                    .to_string()
            },
            node_id: "6f1c2a8e-5b0d-4c3e-9a71-2f4d8e6b1c09".into(),
            display_name: "𝔑".repeat(64),
            capabilities: (0..16).map(|c| format!("{c:0>32}")).collect(),
        }
    }

    #[test]
    fn a_large_handoff_goes_in_parts_that_each_fit_a_frame_and_arrive_whole() {
        let all: Vec<Introduced> = (0..MAX_HANDOFF).map(longest).collect();
        let parts = handoff_parts(all.clone());
        assert!(parts.len() > 1, "256 of the longest do not fit one part");
        for (n, part) in parts.iter().enumerate() {
            let body = serde_json::to_vec(part).unwrap();
            assert!(
                body.len() <= MAX_HANDOFF_PART,
                "part {n}: {} bytes",
                body.len()
            );
            assert_eq!(part.more, n + 1 < parts.len(), "only the last ends it");
        }
        const { assert!(MAX_HANDOFF_PART + 1024 < crate::frame::MAX_FRAME_LEN) };
        let mut intake = HandoffIntake::default();
        let mut got = None;
        for part in &parts {
            // As N reads it off the wire.
            let part: Handoff = serde_json::from_slice(&serde_json::to_vec(part).unwrap()).unwrap();
            assert!(got.is_none(), "nothing is given out before the last part");
            got = intake.take(&part, &[]).unwrap();
        }
        let got = got.expect("the last part gives out every manager");
        assert_eq!(got.len(), MAX_HANDOFF);
        assert_eq!(got[255].public_key.to_string(), all[255].public_key);

        // None admitted: one empty part, which ends it at once.
        let empty = handoff_parts(Vec::new());
        assert_eq!(empty.len(), 1);
        assert_eq!(
            serde_json::to_string(&empty[0]).unwrap(),
            r#"{"managers":[]}"#
        );
        assert_eq!(
            HandoffIntake::default().take(&empty[0], &[]),
            Ok(Some(Vec::new()))
        );
    }

    #[test]
    fn one_bad_entry_in_any_part_refuses_the_whole_handoff() {
        let ours = PublicKey([0x11; 32]);
        let first = Handoff {
            managers: vec![introduced(&"2b".repeat(32))],
            more: true,
        };
        let naming_us = Handoff {
            managers: vec![introduced(&"11".repeat(32))],
            more: false,
        };
        let mut intake = HandoffIntake::default();
        assert_eq!(intake.take(&first, &[ours]), Ok(None));
        assert_eq!(intake.held(), 1);
        assert_eq!(
            intake.take(&naming_us, &[ours]),
            Err(IntroductionError::NotAManager(ours.fingerprint()))
        );
        assert_eq!(intake.held(), 0, "what the first part brought is dropped");

        // A low-order point other than zero (order 8) is no manager either.
        let low = Handoff {
            managers: vec![introduced(
                "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
            )],
            more: false,
        };
        assert_eq!(
            HandoffIntake::default().take(&low, &[]),
            Err(IntroductionError::Malformed("public key"))
        );

        // Refused once, refused for good: a last part sent after a bad one
        // is not taken as the whole.
        let mut intake = HandoffIntake::default();
        let _ = intake.take(&naming_us, &[ours]);
        let alone = Handoff {
            managers: vec![introduced(&"4d".repeat(32))],
            more: false,
        };
        assert_eq!(
            intake.take(&alone, &[ours]),
            Err(IntroductionError::NotAManager(ours.fingerprint()))
        );
        // What could not be stored is not stored later from a resent part.
        let mut intake = HandoffIntake::default();
        assert_eq!(intake.take(&first, &[]), Ok(None));
        intake.refuse(IntroductionError::Malformed("storage"));
        assert!(intake.take(&alone, &[]).is_err());

        // Our own key with X25519's ignored top bit set is our key still,
        // and refused as not canonical.
        let mut twin = *ours.as_bytes();
        twin[31] |= 0x80;
        let twin = Handoff {
            managers: vec![introduced(&hex::encode(twin))],
            more: false,
        };
        assert_eq!(
            HandoffIntake::default().take(&twin, &[ours]),
            Err(IntroductionError::Malformed("public key"))
        );

        // Parts that repeat a manager (a part sent again) take it once; more
        // than MAX_HANDOFF in all is refused.
        let mut intake = HandoffIntake::default();
        assert_eq!(intake.take(&first, &[]), Ok(None));
        assert_eq!(intake.take(&first, &[]), Ok(None));
        assert_eq!(intake.held(), 1);
        let mut intake = HandoffIntake::default();
        for chunk in (0..=MAX_HANDOFF).collect::<Vec<_>>().chunks(100) {
            let part = Handoff {
                managers: chunk.iter().map(|n| longest(*n)).collect(),
                more: true,
            };
            if let Err(e) = intake.take(&part, &[]) {
                assert_eq!(e, IntroductionError::Malformed("too many managers"));
                assert_eq!(intake.held(), 0);
                return;
            }
        }
        panic!("{} managers were taken", MAX_HANDOFF + 1);
    }

    #[test]
    fn each_part_is_answered_as_what_it_is() {
        assert_eq!(HandoffAnswer::Held(3).body(), r#"{"held":3}"#);
        assert_eq!(HandoffAnswer::Stored(0).body(), r#"{"stored":0}"#);
        assert!(HandoffAnswer::answers(br#"{"held":3}"#, 0, 2, 3));
        assert!(
            !HandoffAnswer::answers(br#"{"held":2}"#, 0, 2, 3),
            "not all held"
        );
        assert!(
            !HandoffAnswer::answers(br#"{"stored":3}"#, 0, 2, 3),
            "stored early"
        );
        assert!(HandoffAnswer::answers(br#"{"stored":1}"#, 1, 2, 3));
        assert!(
            !HandoffAnswer::answers(br#"{"held":3}"#, 1, 2, 3),
            "held at the last"
        );
        assert!(!HandoffAnswer::answers(b"ok", 1, 2, 3));
    }

    #[test]
    fn a_low_order_point_is_told_from_a_real_key() {
        assert!(PublicKey([0; 32]).is_low_order());
        let mut one = [0; 32];
        one[0] = 1;
        assert!(PublicKey(one).is_low_order());
        let real = crate::identity::StaticKeypair::from_secret([7; 32]);
        assert!(!real.public().is_low_order());
        assert!(real.public().is_canonical());
        let mut p = [0xff; 32];
        p[31] = 0x7f;
        p[0] = 0xed;
        assert!(!PublicKey(p).is_canonical(), "2^255 - 19 itself");
        p[0] = 0xec;
        assert!(PublicKey(p).is_canonical(), "2^255 - 20");
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
