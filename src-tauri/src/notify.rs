//! When to tell the person that a manager went offline, came back, or unpaired this app.

use nodepair_peer::{CounterpartyView, PeerEvent};
use nodepair_protocol::{NodeState, PublicKey};
use std::collections::{HashMap, HashSet};

/// A desktop notification to show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// Its title.
    pub title: String,
    /// Its text.
    pub body: String,
}

/// Watches the peer's events and says which deserve a notification: a
/// manager that was online going offline, the same one coming back, and a
/// manager unpairing this app. Start-up reconnections and the short
/// `connecting` spells of a rekey or restart are not news.
#[derive(Debug, Default)]
pub struct Notifier {
    online: HashSet<PublicKey>,
    away: HashSet<PublicKey>,
    names: HashMap<PublicKey, String>,
}

impl Notifier {
    /// What `event` means for the person, if anything.
    pub fn observe(&mut self, event: &PeerEvent) -> Option<Notice> {
        match event {
            PeerEvent::Changed(view) => self.changed(view),
            PeerEvent::Removed {
                public_key,
                display_name,
                by_peer,
            } => {
                self.online.remove(public_key);
                self.away.remove(public_key);
                self.names.remove(public_key);
                by_peer.then(|| Notice {
                    title: format!("{display_name} unpaired this app"),
                    body: format!(
                        "{display_name}'s operator unpaired it; pair again to see it here."
                    ),
                })
            }
            PeerEvent::Moved { from, to } => {
                self.online.remove(from);
                self.away.remove(from);
                self.names.remove(from);
                self.changed(to)
            }
            PeerEvent::Stream { .. } => None,
        }
    }

    fn changed(&mut self, view: &CounterpartyView) -> Option<Notice> {
        let key = view.public_key;
        let name = view.name().to_owned();
        self.names.insert(key, name.clone());
        match view.state {
            NodeState::Online => {
                self.online.insert(key);
                self.away.remove(&key).then(|| Notice {
                    title: format!("{name} is back online"),
                    body: format!("The session with {name} is up again."),
                })
            }
            NodeState::PairedOffline if self.online.remove(&key) => {
                self.away.insert(key);
                Some(Notice {
                    title: format!("{name} went offline"),
                    body: format!(
                        "NodePair lost its session with {name}; it keeps trying and will tell you when it is back."
                    ),
                })
            }
            _ => None,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use nodepair_keystore::{Counterparty, CounterpartyState, Role};

    pub(crate) fn view(state: NodeState) -> CounterpartyView {
        let stored = Counterparty {
            public_key: [1; 32],
            node_id: [2; 16],
            display_name: "validator-1".into(),
            role: Role::NodeManager,
            paired_at: 0,
            last_seen: None,
            state: CounterpartyState::Active,
            capabilities: Vec::new(),
            local_name: Some("cellar".into()),
            grants: None,
            our_key: None,
            moving_to: None,
            introduced_by: None,
            cut_offs: Vec::new(),
        };
        CounterpartyView::from_stored(&stored, state)
    }

    fn titles(n: &mut Notifier, states: &[NodeState]) -> Vec<String> {
        states
            .iter()
            .filter_map(|s| n.observe(&PeerEvent::Changed(view(*s))))
            .map(|notice| notice.title)
            .collect()
    }

    #[test]
    fn start_up_and_rekeys_are_quiet_and_an_outage_is_told_twice() {
        use NodeState::{Connecting, Online, PairedOffline as Offline};
        let mut n = Notifier::default();
        // Start-up: offline, connecting, online; then a rekey.
        assert!(titles(&mut n, &[Offline, Connecting, Online, Connecting, Online]).is_empty());
        // An outage and its end, with reconnection attempts in between.
        assert_eq!(
            titles(&mut n, &[Offline, Connecting, Offline, Connecting, Online]),
            ["cellar went offline", "cellar is back online"]
        );
    }

    #[test]
    fn being_unpaired_by_the_manager_is_told_but_unpairing_here_is_not() {
        let mut n = Notifier::default();
        let removed = |by_peer| PeerEvent::Removed {
            public_key: PublicKey([1; 32]),
            display_name: "cellar".into(),
            by_peer,
        };
        assert_eq!(n.observe(&removed(false)), None);
        assert_eq!(
            n.observe(&removed(true)).map(|x| x.title),
            Some("cellar unpaired this app".into())
        );
    }
}
