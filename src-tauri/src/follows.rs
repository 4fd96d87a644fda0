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

use nodepair_peer::{CounterpartyView, PeerEvent};
use nodepair_protocol::api::{Follows as Kind, MethodInfo};
use nodepair_protocol::{NodeState, PublicKey};
use std::collections::{BTreeMap, HashMap};

/// A request to send again: to whom, which method, which body.
pub type Resend = (PublicKey, &'static str, Vec<u8>);

/// One follow: which manager, which starting method, which subject.
type FollowKey = (PublicKey, &'static str, String);

/// A follow asked for and not yet answered: its number, so that a stop
/// asked meanwhile wins over the late answer.
pub type Ticket = Option<(FollowKey, u64)>;

/// The follows under way, per manager.
#[derive(Debug, Default)]
pub struct Follows {
    /// Each follow that succeeded → the request that started it.
    active: BTreeMap<FollowKey, Vec<u8>>,
    /// Each follow asked for and not answered yet → its ticket number.
    asking: HashMap<FollowKey, u64>,
    next_ticket: u64,
    /// The managers online, and their session's key changes when last seen.
    online: HashMap<PublicKey, u64>,
}

impl Follows {
    /// The window is about to ask `key` for `method` with `body`. A stop
    /// forgets its follow at once (whatever the answer: the window no
    /// longer wants it); a start gets a ticket for [`Follows::answered`].
    pub fn asking(&mut self, key: PublicKey, method: &MethodInfo, body: &[u8]) -> Ticket {
        let subject = method.subject(body)?;
        match method.follows {
            Kind::Starts => {
                let follow = (key, method.name, subject);
                self.next_ticket += 1;
                self.asking.insert(follow.clone(), self.next_ticket);
                Some((follow, self.next_ticket))
            }
            Kind::Stops { starts } => {
                let follow = (key, starts, subject);
                self.asking.remove(&follow);
                self.active.remove(&follow);
                None
            }
            Kind::Nothing => None,
        }
    }

    /// The answer to what `ticket` was given for: an OK starts the follow,
    /// unless it was stopped (or asked again) meanwhile.
    pub fn answered(&mut self, ticket: Ticket, body: &[u8], ok: bool) {
        let Some((follow, number)) = ticket else {
            return;
        };
        if self.asking.get(&follow) != Some(&number) {
            return;
        }
        self.asking.remove(&follow);
        if ok {
            self.active.insert(follow, body.to_vec());
        }
    }

    /// A follow asked for again was refused (the manager no longer allows
    /// it): it is not asked for again.
    pub fn refused(&mut self, key: PublicKey, method: &'static str, body: &[u8]) {
        self.active
            .retain(|(who, m, _), kept| !(*who == key && *m == method && kept == body));
    }

    /// Takes one of the peer's events; returns the follows to ask for again:
    /// those of a manager that came back online, or whose session got new
    /// keys while online (it may have restarted).
    pub fn observe(&mut self, event: &PeerEvent) -> Vec<Resend> {
        match event {
            PeerEvent::Changed(view) => self.changed(view),
            PeerEvent::Removed { public_key, .. } => {
                self.forget(*public_key);
                Vec::new()
            }
            // Its follows were under its old session; the window asks again
            // for what it shows.
            PeerEvent::Moved { from, .. } => {
                self.forget(*from);
                Vec::new()
            }
            PeerEvent::Stream { .. } => Vec::new(),
        }
    }

    /// Events were missed (the window's receiver lagged): starts over from
    /// the managers as they are now, asking every online one for its
    /// follows again (asking twice does no harm; missing a return would).
    pub fn resync(&mut self, views: &[CounterpartyView]) -> Vec<Resend> {
        let paired: Vec<PublicKey> = views.iter().map(|v| v.public_key).collect();
        let gone: Vec<PublicKey> = self
            .active
            .keys()
            .map(|(who, _, _)| *who)
            .filter(|who| !paired.contains(who))
            .collect();
        for who in gone {
            self.forget(who);
        }
        self.online.clear();
        views.iter().flat_map(|v| self.changed(v)).collect()
    }

    fn changed(&mut self, view: &CounterpartyView) -> Vec<Resend> {
        let key = view.public_key;
        if view.state != NodeState::Online {
            self.online.remove(&key);
            if view.state == NodeState::Revoked {
                self.forget(key);
            }
            return Vec::new();
        }
        if self.online.insert(key, view.key_changes) == Some(view.key_changes) {
            return Vec::new();
        }
        self.active
            .iter()
            .filter(|((who, _, _), _)| *who == key)
            .map(|((who, method, _), body)| (*who, *method, body.clone()))
            .collect()
    }

    fn forget(&mut self, key: PublicKey) {
        self.online.remove(&key);
        self.active.retain(|(who, _, _), _| *who != key);
        self.asking.retain(|(who, _, _), _| *who != key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nodepair_protocol::api::{Method, host, logs, method};

    fn manager(byte: u8) -> PublicKey {
        PublicKey([byte; 32])
    }

    fn view(key: PublicKey, state: NodeState, key_changes: u64) -> CounterpartyView {
        let mut view = crate::notify::tests::view(state);
        view.public_key = key;
        view.key_changes = key_changes;
        view
    }

    fn changed(key: PublicKey, state: NodeState) -> PeerEvent {
        PeerEvent::Changed(view(key, state, 1))
    }

    fn info(name: &str) -> &'static MethodInfo {
        method(name).unwrap()
    }

    /// The window asks and the manager answers `ok`.
    fn ask(f: &mut Follows, key: PublicKey, name: &str, body: &[u8], ok: bool) {
        let ticket = f.asking(key, info(name), body);
        f.answered(ticket, body, ok);
    }

    #[test]
    fn follows_are_asked_for_again_when_the_manager_is_back_and_not_before() {
        let (a, b) = (manager(1), manager(2));
        let mut f = Follows::default();
        assert!(f.observe(&changed(a, NodeState::Online)).is_empty());
        let source = br#"{"source":"geth.service"}"#;
        ask(&mut f, a, logs::LogsFollow::NAME, source, true);
        ask(
            &mut f,
            a,
            host::HostFollow::NAME,
            br#"{"interval_ms":1000}"#,
            true,
        );
        // Following again at another rate replaces the first.
        ask(
            &mut f,
            a,
            host::HostFollow::NAME,
            br#"{"interval_ms":5000}"#,
            true,
        );
        ask(
            &mut f,
            b,
            host::HostFollow::NAME,
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
    fn a_manager_that_restarted_and_came_back_with_new_keys_while_online_is_asked_again() {
        let a = manager(1);
        let mut f = Follows::default();
        f.observe(&PeerEvent::Changed(view(a, NodeState::Online, 1)));
        ask(
            &mut f,
            a,
            host::HostFollow::NAME,
            br#"{"interval_ms":2000}"#,
            true,
        );
        // Latency and last-seen changes: the same keys.
        assert!(
            f.observe(&PeerEvent::Changed(view(a, NodeState::Online, 1)))
                .is_empty()
        );
        // Its session renewed without ever going offline.
        assert_eq!(
            f.observe(&PeerEvent::Changed(view(a, NodeState::Online, 2))),
            vec![(a, "host.follow", br#"{"interval_ms":2000}"#.to_vec())]
        );
    }

    #[test]
    fn a_stopped_refused_or_unpaired_follow_is_not_asked_for_again() {
        let (a, b) = (manager(1), manager(2));
        let mut f = Follows::default();
        let geth = br#"{"source":"geth.service"}"#;
        let lighthouse = br#"{"source":"lighthouse.service"}"#;
        ask(&mut f, a, logs::LogsFollow::NAME, geth, true);
        ask(&mut f, a, logs::LogsFollow::NAME, lighthouse, false);
        ask(
            &mut f,
            a,
            host::HostFollow::NAME,
            br#"{"interval_ms":1000}"#,
            true,
        );
        ask(&mut f, a, host::HostUnfollow::NAME, b"{}", false);
        ask(&mut f, b, logs::LogsFollow::NAME, geth, true);
        ask(&mut f, b, logs::LogsUnfollow::NAME, lighthouse, true);
        // Not a follow at all.
        ask(&mut f, b, host::Health::NAME, b"{}", true);

        f.observe(&changed(a, NodeState::PairedOffline));
        assert_eq!(
            f.observe(&changed(a, NodeState::Online)),
            vec![(a, "logs.follow", geth.to_vec())]
        );
        // Refused when asked again (no longer listed): dropped.
        f.refused(a, "logs.follow", geth);
        f.observe(&changed(a, NodeState::Connecting));
        assert!(f.observe(&changed(a, NodeState::Online)).is_empty());

        f.observe(&PeerEvent::Removed {
            public_key: b,
            display_name: "b".into(),
            by_peer: true,
        });
        assert!(f.observe(&changed(b, NodeState::Online)).is_empty());
    }

    #[test]
    fn a_stop_asked_while_the_follow_was_on_its_way_wins() {
        let a = manager(1);
        let mut f = Follows::default();
        f.observe(&changed(a, NodeState::Online));
        let geth = br#"{"source":"geth.service"}"#;
        let follow = f.asking(a, info(logs::LogsFollow::NAME), geth);
        // The stop is asked, and answered, before the follow's answer.
        ask(&mut f, a, logs::LogsUnfollow::NAME, geth, true);
        f.answered(follow, geth, true);
        f.observe(&changed(a, NodeState::Connecting));
        assert!(f.observe(&changed(a, NodeState::Online)).is_empty());
        // A follow asked twice: only the later answer counts.
        let first = f.asking(a, info(host::HostFollow::NAME), br#"{"interval_ms":1000}"#);
        ask(
            &mut f,
            a,
            host::HostFollow::NAME,
            br#"{"interval_ms":5000}"#,
            true,
        );
        f.answered(first, br#"{"interval_ms":1000}"#, true);
        f.observe(&changed(a, NodeState::Connecting));
        assert_eq!(
            f.observe(&changed(a, NodeState::Online)),
            vec![(a, "host.follow", br#"{"interval_ms":5000}"#.to_vec())]
        );
    }

    #[test]
    fn after_missed_events_every_online_manager_is_asked_again_and_the_unpaired_forgotten() {
        let (a, b) = (manager(1), manager(2));
        let mut f = Follows::default();
        for who in [a, b] {
            f.observe(&changed(who, NodeState::Online));
            ask(
                &mut f,
                who,
                host::HostFollow::NAME,
                br#"{"interval_ms":2000}"#,
                true,
            );
        }
        // b was unpaired and a went away and came back, all unseen.
        assert_eq!(
            f.resync(&[view(a, NodeState::Online, 1)]),
            vec![(a, "host.follow", br#"{"interval_ms":2000}"#.to_vec())]
        );
        assert!(f.observe(&changed(b, NodeState::Online)).is_empty());
    }

    #[test]
    fn a_body_that_is_not_the_methods_request_is_not_remembered() {
        let a = manager(1);
        let mut f = Follows::default();
        ask(&mut f, a, logs::LogsFollow::NAME, b"[]", true);
        f.observe(&changed(a, NodeState::Connecting));
        assert!(f.observe(&changed(a, NodeState::Online)).is_empty());
    }
}
