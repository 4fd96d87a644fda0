//! When a condition has held long enough to fire and been clear long enough to resolve: a reading that flaps across its threshold is one alert, not forty.

use nodepair_protocol::api::alerts::Severity;
use std::collections::BTreeMap;

/// How long a condition must hold to fire, and stay clear to resolve.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Timing {
    /// Milliseconds from first seen holding to firing (0: at once).
    pub(crate) fire_after_ms: u64,
    /// Milliseconds a condition must be seen clear without a break before
    /// a pending one is forgotten or a firing one resolves.
    pub(crate) clear_after_ms: u64,
}

/// What an observation did to a condition's alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transition {
    /// Nothing anyone needs to hear of.
    Quiet,
    /// It held long enough: the alert begins, first seen at `since_ms`.
    Fire {
        /// When the condition was first seen holding.
        since_ms: u64,
        /// How bad, the worst seen while pending.
        severity: Severity,
    },
    /// It got worse while firing.
    Worse(Severity),
    /// It has been clear long enough: the alert ends.
    Resolve,
}

#[derive(Clone, Copy, Debug)]
enum State {
    /// Seen holding since `since`, not yet long enough.
    Pending {
        since: u64,
        severity: Severity,
        clear_since: Option<u64>,
    },
    /// Firing; clear since `clear_since` if it has been seen clear.
    Firing {
        severity: Severity,
        clear_since: Option<u64>,
    },
}

/// Every condition's state, by key (a rule and its subject).
#[derive(Debug)]
pub(crate) struct Tracker<K> {
    states: BTreeMap<K, State>,
}

impl<K> Default for Tracker<K> {
    fn default() -> Self {
        Tracker {
            states: BTreeMap::new(),
        }
    }
}

impl<K: Ord + Clone> Tracker<K> {
    /// `key`'s condition was evaluated at `now` (ms): holding with
    /// `severity`, or clear (`None`).
    pub(crate) fn observe(
        &mut self,
        key: &K,
        holds: Option<Severity>,
        now: u64,
        timing: Timing,
    ) -> Transition {
        let state = self.states.get(key).copied();
        let (next, transition) = match (state, holds) {
            (None, None) => (None, Transition::Quiet),
            (None, Some(severity)) => pending(now, severity, None, now, timing),
            (
                Some(State::Pending {
                    since, severity, ..
                }),
                Some(now_severity),
            ) => pending(since, severity.max(now_severity), None, now, timing),
            (
                Some(State::Pending {
                    since,
                    severity,
                    clear_since,
                }),
                None,
            ) => match still_clearing(clear_since, now, timing) {
                None => (None, Transition::Quiet),
                clear_since => (
                    Some(State::Pending {
                        since,
                        severity,
                        clear_since,
                    }),
                    Transition::Quiet,
                ),
            },
            (Some(State::Firing { severity, .. }), Some(now_severity)) => {
                let firing = State::Firing {
                    severity: severity.max(now_severity),
                    clear_since: None,
                };
                let transition = if now_severity > severity {
                    Transition::Worse(now_severity)
                } else {
                    Transition::Quiet
                };
                (Some(firing), transition)
            }
            (
                Some(State::Firing {
                    severity,
                    clear_since,
                }),
                None,
            ) => match still_clearing(clear_since, now, timing) {
                None => (None, Transition::Resolve),
                clear_since => (
                    Some(State::Firing {
                        severity,
                        clear_since,
                    }),
                    Transition::Quiet,
                ),
            },
        };
        match next {
            Some(state) => {
                self.states.insert(key.clone(), state);
            }
            None => {
                self.states.remove(key);
            }
        }
        transition
    }

    /// Whether `key`'s alert is firing.
    #[cfg(test)]
    pub(crate) fn is_firing(&self, key: &K) -> bool {
        matches!(self.states.get(key), Some(State::Firing { .. }))
    }

    /// Starts `key` firing with `severity` (an alert that was open when the
    /// manager stopped): it resolves only once seen clear long enough.
    pub(crate) fn resume(&mut self, key: K, severity: Severity) {
        self.states.insert(
            key,
            State::Firing {
                severity,
                clear_since: None,
            },
        );
    }

    /// The keys it holds a state for.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &K> {
        self.states.keys()
    }
}

/// When a condition seen clear at `now` began to be clear, or `None` once
/// it has been clear long enough.
fn still_clearing(clear_since: Option<u64>, now: u64, timing: Timing) -> Option<u64> {
    let since = clear_since.unwrap_or(now);
    (now.saturating_sub(since) < timing.clear_after_ms).then_some(since)
}

fn pending(
    since: u64,
    severity: Severity,
    clear_since: Option<u64>,
    now: u64,
    timing: Timing,
) -> (Option<State>, Transition) {
    if now.saturating_sub(since) >= timing.fire_after_ms {
        (
            Some(State::Firing {
                severity,
                clear_since: None,
            }),
            Transition::Fire {
                since_ms: since,
                severity,
            },
        )
    } else {
        (
            Some(State::Pending {
                since,
                severity,
                clear_since,
            }),
            Transition::Quiet,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMING: Timing = Timing {
        fire_after_ms: 30_000,
        clear_after_ms: 60_000,
    };
    const W: Option<Severity> = Some(Severity::Warning);
    const C: Option<Severity> = Some(Severity::Critical);

    #[test]
    fn a_condition_fires_once_it_held_long_enough_and_resolves_once_clear_long_enough() {
        let mut t = Tracker::default();
        assert_eq!(t.observe(&"disk", W, 0, TIMING), Transition::Quiet);
        assert_eq!(t.observe(&"disk", W, 29_999, TIMING), Transition::Quiet);
        assert_eq!(
            t.observe(&"disk", W, 30_000, TIMING),
            Transition::Fire {
                since_ms: 0,
                severity: Severity::Warning
            }
        );
        assert!(t.is_firing(&"disk"));
        assert_eq!(t.observe(&"disk", None, 40_000, TIMING), Transition::Quiet);
        assert_eq!(t.observe(&"disk", None, 99_999, TIMING), Transition::Quiet);
        assert_eq!(
            t.observe(&"disk", None, 100_000, TIMING),
            Transition::Resolve
        );
        assert!(!t.is_firing(&"disk"));
        assert_eq!(t.keys().count(), 0, "nothing kept once resolved");
    }

    #[test]
    fn a_reading_flapping_every_second_for_a_minute_is_one_alert() {
        let mut t = Tracker::default();
        let mut fired = 0;
        let mut resolved = 0;
        for second in 0..60u64 {
            let holds = if second % 2 == 0 { W } else { None };
            match t.observe(&"disk", holds, second * 1000, TIMING) {
                Transition::Fire { .. } => fired += 1,
                Transition::Resolve => resolved += 1,
                _ => {}
            }
        }
        // Then steady on the good side: it resolves once.
        for second in 60..200u64 {
            if t.observe(&"disk", None, second * 1000, TIMING) == Transition::Resolve {
                resolved += 1;
            }
        }
        assert_eq!((fired, resolved), (1, 1));
    }

    #[test]
    fn a_blip_shorter_than_the_fire_time_fires_nothing() {
        let mut t = Tracker::default();
        for second in 0..10u64 {
            assert_eq!(
                t.observe(&"load", W, second * 1000, TIMING),
                Transition::Quiet
            );
        }
        for second in 10..200u64 {
            assert_eq!(
                t.observe(&"load", None, second * 1000, TIMING),
                Transition::Quiet
            );
        }
        assert_eq!(t.keys().count(), 0);
    }

    #[test]
    fn severity_only_rises_while_firing_and_fires_at_the_worst_seen() {
        let mut t = Tracker::default();
        t.observe(&"peers", W, 0, TIMING);
        t.observe(&"peers", C, 10_000, TIMING);
        assert_eq!(
            t.observe(&"peers", W, 30_000, TIMING),
            Transition::Fire {
                since_ms: 0,
                severity: Severity::Critical
            }
        );
        assert_eq!(t.observe(&"peers", W, 40_000, TIMING), Transition::Quiet);
        let mut u = Tracker::default();
        u.observe(&"peers", W, 0, TIMING);
        u.observe(&"peers", W, 30_000, TIMING);
        assert_eq!(
            u.observe(&"peers", C, 31_000, TIMING),
            Transition::Worse(Severity::Critical)
        );
        assert_eq!(u.observe(&"peers", C, 32_000, TIMING), Transition::Quiet);
    }

    #[test]
    fn zero_fire_time_fires_at_once_and_a_resumed_alert_resolves_only_when_clear() {
        let now = Timing {
            fire_after_ms: 0,
            clear_after_ms: 5_000,
        };
        let mut t = Tracker::default();
        assert!(matches!(
            t.observe(&"unit", C, 7, now),
            Transition::Fire { since_ms: 7, .. }
        ));
        let mut resumed = Tracker::default();
        resumed.resume("unit", Severity::Critical);
        assert_eq!(resumed.observe(&"unit", C, 0, now), Transition::Quiet);
        assert_eq!(
            resumed.observe(&"unit", None, 1_000, now),
            Transition::Quiet
        );
        assert_eq!(
            resumed.observe(&"unit", None, 6_000, now),
            Transition::Resolve
        );
    }
}
