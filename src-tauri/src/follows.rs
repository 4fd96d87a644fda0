//! Which streams the window follows, so that they are asked for again when a manager's session comes back.
//!
//! A follow (`host.follow`, `logs.follow`: any method whose
//! [`Follows`](nodepair_protocol::api::Follows) is `Starts`) lasts as long as
//! the session that asked for it. The window should not have to notice a
//! session dropping and re-opening: this remembers each follow that
//! succeeded, forgets it when its stop is asked or the manager is unpaired,
//! and when a manager comes back online hands back every follow to send
//! again. It takes the peer's events and returns requests; the caller sends
//! them.

use nodepair_peer::PeerEvent;
use nodepair_protocol::api::{Follows as Kind, MethodInfo};
use nodepair_protocol::{NodeState, PublicKey};
use std::collections::{BTreeMap, HashSet};

/// A request to send again: to whom, which method, which body.
pub type Resend = (PublicKey, &'static str, Vec<u8>);

/// The follows under way, per manager.
#[derive(Debug, Default)]
pub struct Follows {
    /// (manager, starting method, subject) → the request that started it.
    active: BTreeMap<(PublicKey, &'static str, String), Vec<u8>>,
    online: HashSet<PublicKey>,
}

impl Follows {
    /// The window asked `key` for `method` with `body`; `answered` is
    /// whether the manager said OK.
    pub fn asked(&mut self, key: PublicKey, method: &MethodInfo, body: &[u8], answered: bool) {
        let Some(subject) = method.subject(body) else {
            return;
        };
        match method.follows {
            Kind::Starts if answered => {
                self.active
                    .insert((key, method.name, subject), body.to_vec());
            }
            // Asked to stop: whatever the answer, the window no longer
            // wants it, so it is not asked for again.
            Kind::Stops { starts } => {
                self.active.remove(&(key, starts, subject));
            }
            Kind::Starts | Kind::Nothing => {}
        }
    }

    /// Takes one of the peer's events; returns the follows to ask for again
    /// (a manager that came back online).
    pub fn observe(&mut self, event: &PeerEvent) -> Vec<Resend> {
        match event {
            PeerEvent::Changed(view) => {
                let key = view.public_key;
                if view.state != NodeState::Online {
                    self.online.remove(&key);
                    if view.state == NodeState::Revoked {
                        self.forget(key);
                    }
                    return Vec::new();
                }
                if !self.online.insert(key) {
                    return Vec::new();
                }
                self.active
                    .iter()
                    .filter(|((who, _, _), _)| *who == key)
                    .map(|((who, method, _), body)| (*who, *method, body.clone()))
                    .collect()
            }
            PeerEvent::Removed { public_key, .. } => {
                self.online.remove(public_key);
                self.forget(*public_key);
                Vec::new()
            }
            PeerEvent::Stream { .. } => Vec::new(),
        }
    }

    fn forget(&mut self, key: PublicKey) {
        self.active.retain(|(who, _, _), _| *who != key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nodepair_protocol::api::{Method, host, logs, method};

    fn manager(byte: u8) -> PublicKey {
        PublicKey([byte; 32])
    }

    fn changed(key: PublicKey, state: NodeState) -> PeerEvent {
        let mut view = crate::notify::tests::view(state);
        view.public_key = key;
        PeerEvent::Changed(view)
    }

    fn info(name: &str) -> &'static MethodInfo {
        method(name).unwrap()
    }

    #[test]
    fn follows_are_asked_for_again_when_the_manager_is_back_and_not_before() {
        let (a, b) = (manager(1), manager(2));
        let mut f = Follows::default();
        assert!(f.observe(&changed(a, NodeState::Online)).is_empty());
        let source = br#"{"source":"geth.service"}"#;
        f.asked(a, info(logs::LogsFollow::NAME), source, true);
        f.asked(
            a,
            info(host::HostFollow::NAME),
            br#"{"interval_ms":1000}"#,
            true,
        );
        // Following again at another rate replaces the first.
        f.asked(
            a,
            info(host::HostFollow::NAME),
            br#"{"interval_ms":5000}"#,
            true,
        );
        f.asked(
            b,
            info(host::HostFollow::NAME),
            br#"{"interval_ms":2000}"#,
            true,
        );
        // Still online: nothing to do.
        assert!(f.observe(&changed(a, NodeState::Online)).is_empty());

        assert!(f.observe(&changed(a, NodeState::Connecting)).is_empty());
        let mut again = f.observe(&changed(a, NodeState::Online));
        again.sort();
        assert_eq!(
            again,
            vec![
                (a, "host.follow", br#"{"interval_ms":5000}"#.to_vec()),
                (a, "logs.follow", source.to_vec()),
            ]
        );
        // Once per return, not on every change while online.
        assert!(f.observe(&changed(a, NodeState::Online)).is_empty());
    }

    #[test]
    fn a_stopped_refused_or_unpaired_follow_is_not_asked_for_again() {
        let (a, b) = (manager(1), manager(2));
        let mut f = Follows::default();
        let geth = br#"{"source":"geth.service"}"#;
        let lighthouse = br#"{"source":"lighthouse.service"}"#;
        f.asked(a, info(logs::LogsFollow::NAME), geth, true);
        f.asked(a, info(logs::LogsFollow::NAME), lighthouse, false);
        f.asked(
            a,
            info(host::HostFollow::NAME),
            br#"{"interval_ms":1000}"#,
            true,
        );
        f.asked(a, info(host::HostUnfollow::NAME), b"{}", false);
        f.asked(b, info(logs::LogsFollow::NAME), geth, true);
        f.asked(b, info(logs::LogsUnfollow::NAME), lighthouse, true);
        // Not a follow at all.
        f.asked(b, info(host::Health::NAME), b"{}", true);

        f.observe(&changed(a, NodeState::PairedOffline));
        assert_eq!(
            f.observe(&changed(a, NodeState::Online)),
            vec![(a, "logs.follow", geth.to_vec())]
        );
        f.observe(&PeerEvent::Removed {
            public_key: b,
            display_name: "b".into(),
            by_peer: true,
        });
        assert!(f.observe(&changed(b, NodeState::Online)).is_empty());
        f.observe(&changed(a, NodeState::Revoked));
        assert!(f.observe(&changed(a, NodeState::Online)).is_empty());
    }

    #[test]
    fn a_body_that_is_not_the_methods_request_is_not_remembered() {
        let a = manager(1);
        let mut f = Follows::default();
        f.asked(a, info(logs::LogsFollow::NAME), b"[]", true);
        f.observe(&changed(a, NodeState::Connecting));
        assert!(f.observe(&changed(a, NodeState::Online)).is_empty());
    }
}
