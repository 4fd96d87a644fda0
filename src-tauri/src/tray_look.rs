//! What the tray shows: which dot (all online, some offline, an alert), the menu's lines, and the icon with its dot drawn on.

use crate::views::{BackendState, ManagersView};
use nodepair_protocol::NodeState;

/// The dot on the tray icon.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dot {
    /// Nothing paired yet, or still starting: no dot.
    None,
    /// Every manager online.
    AllOnline,
    /// At least one manager not online.
    SomeOffline,
    /// Something needs the person: a manager's alert is open, the keys
    /// are locked, or NodePair could not start.
    Alert,
}

impl Dot {
    /// Its colour (RGB), if it has one.
    pub fn colour(self) -> Option<[u8; 3]> {
        match self {
            Dot::None => None,
            Dot::AllOnline => Some([0x2e, 0x9d, 0x4f]),
            Dot::SomeOffline => Some([0xe8, 0xa3, 0x17]),
            Dot::Alert => Some([0xd3, 0x2f, 0x2f]),
        }
    }

    /// For a test or a log: `none`, `online`, `offline`, `alert`.
    pub fn as_str(self) -> &'static str {
        match self {
            Dot::None => "none",
            Dot::AllOnline => "online",
            Dot::SomeOffline => "offline",
            Dot::Alert => "alert",
        }
    }
}

/// The tray's dot for the managers view.
pub fn dot(view: &ManagersView) -> Dot {
    match view.backend {
        BackendState::Locked | BackendState::Failed => Dot::Alert,
        BackendState::Starting => Dot::None,
        BackendState::Running if view.alerting => Dot::Alert,
        BackendState::Running if view.managers.is_empty() => Dot::None,
        BackendState::Running => {
            if view.managers.iter().all(|m| m.state == NodeState::Online) {
                Dot::AllOnline
            } else {
                Dot::SomeOffline
            }
        }
    }
}

/// The first line of the menu, and the icon's tooltip: how things stand.
pub fn summary(view: &ManagersView) -> String {
    match view.backend {
        BackendState::Starting => "NodePair is starting".into(),
        BackendState::Locked => "NodePair's keys are locked: open it to unlock".into(),
        BackendState::Failed => "NodePair could not start: open it to see why".into(),
        BackendState::Running => {
            let total = view.managers.len();
            let online = view
                .managers
                .iter()
                .filter(|m| m.state == NodeState::Online)
                .count();
            let line: String = match (total, online) {
                (0, _) => "No managers paired".into(),
                (1, 1) => "The manager is online".into(),
                (1, _) => "The manager is not online".into(),
                (t, o) if t == o => format!("All {t} managers online"),
                (t, o) => format!("{o} of {t} managers online"),
            };
            let open: usize = view.managers.iter().map(|m| m.alerts.len()).sum();
            match open {
                0 => line,
                1 => format!("{line} · 1 alert open"),
                n => format!("{line} · {n} alerts open"),
            }
        }
    }
}

/// One manager's line in the menu: its name and state.
pub fn manager_line(name: &str, state: NodeState) -> String {
    let state = match state {
        NodeState::Online => "online",
        NodeState::Connecting => "connecting…",
        NodeState::PairedOffline => "offline",
        NodeState::Revoked | NodeState::Unpaired => "unpaired",
        NodeState::Pairing => "pairing…",
    };
    // `&` marks a menu's keyboard shortcut; `&&` is an `&`.
    let name = nodepair_protocol::hello::printable(name, 40).replace('&', "&&");
    format!("{name} — {state}")
}

/// `base` (RGBA, `size`×`size`) with `dot` drawn in its lower right
/// corner, ringed so it shows on light and dark panels alike.
pub fn with_dot(base: &[u8], size: u32, dot: Dot) -> Vec<u8> {
    let mut pixels = base.to_vec();
    let Some([r, g, b]) = dot.colour() else {
        return pixels;
    };
    let size_f = size as f32;
    let radius = size_f * 0.22;
    let ring = (size_f * 0.06).max(1.0);
    let centre = size_f - radius - ring;
    for y in 0..size {
        for x in 0..size {
            let (dx, dy) = (x as f32 + 0.5 - centre, y as f32 + 0.5 - centre);
            let d = (dx * dx + dy * dy).sqrt();
            let colour = if d <= radius {
                [r, g, b, 255]
            } else if d <= radius + ring {
                [255, 255, 255, 255]
            } else {
                continue;
            };
            let i = ((y * size + x) * 4) as usize;
            if let Some(p) = pixels.get_mut(i..i + 4) {
                p.copy_from_slice(&colour);
            }
        }
    }
    pixels
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::views::ManagerRow;

    fn view(backend: BackendState, states: &[NodeState]) -> ManagersView {
        ManagersView {
            backend,
            error: None,
            unlock: None,
            alerting: false,
            seq: 0,
            managers: states
                .iter()
                .enumerate()
                .map(|(i, s)| ManagerRow::example(&format!("validator-{i}"), *s))
                .collect(),
        }
    }

    #[test]
    fn the_dot_says_all_online_some_offline_or_an_alert() {
        use BackendState::*;
        use NodeState::{Connecting, Online, PairedOffline};
        let cases = [
            (view(Starting, &[]), Dot::None, "NodePair is starting"),
            (view(Running, &[]), Dot::None, "No managers paired"),
            (
                view(Running, &[Online]),
                Dot::AllOnline,
                "The manager is online",
            ),
            (
                view(Running, &[Online, Online]),
                Dot::AllOnline,
                "All 2 managers online",
            ),
            (
                view(Running, &[Online, PairedOffline, Connecting]),
                Dot::SomeOffline,
                "1 of 3 managers online",
            ),
            (
                view(Locked, &[]),
                Dot::Alert,
                "NodePair's keys are locked: open it to unlock",
            ),
            (
                view(Failed, &[]),
                Dot::Alert,
                "NodePair could not start: open it to see why",
            ),
        ];
        for (v, want, words) in cases {
            assert_eq!(dot(&v), want, "{words}");
            assert_eq!(summary(&v), words);
        }
        // An open alert turns the dot, whatever the sessions.
        let mut alerting = view(Running, &[Online, Online]);
        alerting.alerting = true;
        alerting.managers[0]
            .alerts
            .push(crate::alert_inbox::tests::alert(1));
        assert_eq!(dot(&alerting), Dot::Alert);
        assert_eq!(summary(&alerting), "All 2 managers online · 1 alert open");
    }

    #[test]
    fn a_manager_line_is_its_name_and_state_and_a_hostile_name_stays_one_line() {
        assert_eq!(
            manager_line("validator-1", NodeState::Online),
            "validator-1 — online"
        );
        assert_eq!(manager_line("v", NodeState::Connecting), "v — connecting…");
        assert_eq!(
            manager_line("R&D", NodeState::Online),
            "R&&D — online",
            "no shortcut"
        );
        let line = manager_line("evil\nQuit\u{202e}", NodeState::PairedOffline);
        assert!(
            !line.contains('\n') && !line.contains('\u{202e}'),
            "{line:?}"
        );
    }

    #[test]
    fn the_dot_is_drawn_in_the_corner_and_leaves_the_rest() {
        let size = 32;
        let base = vec![10u8; (size * size * 4) as usize];
        let pixel = |p: &[u8], x: u32, y: u32| {
            let i = ((y * size + x) * 4) as usize;
            p[i..i + 4].to_vec()
        };
        for dot in [Dot::AllOnline, Dot::SomeOffline, Dot::Alert] {
            let drawn = with_dot(&base, size, dot);
            let [r, g, b] = dot.colour().unwrap();
            assert_eq!(pixel(&drawn, 24, 24), [r, g, b, 255], "{dot:?}");
            assert_eq!(pixel(&drawn, 4, 4), [10, 10, 10, 10], "{dot:?}");
        }
        assert_eq!(with_dot(&base, size, Dot::None), base);
    }
}
