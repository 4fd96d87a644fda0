//! What the window receives: every type crossing the IPC, with its TypeScript twin generated from it.

use nodepair_peer::{CounterpartyView, PairingPhase};
use nodepair_protocol::NodeState;
use serde::Serialize;

// Numbers: times (Unix ms), byte counts and latencies are far below 2⁵³,
// so JavaScript's `number` holds them exactly; each such field says so with
// `#[specta(type = Number)]`, as specta asks.
use specta_typescript::Number;

/// How many resolved alerts a row carries.
pub const RECENTLY_RESOLVED: usize = 20;

/// One paired manager, as the list shows it.
#[derive(Clone, Debug, PartialEq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ManagerRow {
    /// Its public key in hex: what commands name it by.
    pub key: String,
    /// The name to show: the local one if given, else its own.
    pub name: String,
    /// The name it gave itself.
    pub own_name: String,
    /// Whether `name` was given on this side.
    pub renamed: bool,
    /// Its node id.
    pub node_id: String,
    /// Its key's short form, for telling two of the same name apart.
    pub fingerprint: String,
    /// Where its session stands.
    pub state: NodeState,
    /// The latest keepalive round trip, in milliseconds.
    #[specta(type = Option<Number>)]
    pub latency_ms: Option<f64>,
    /// When a session last carried a message, Unix seconds.
    #[specta(type = Option<Number>)]
    pub last_seen: Option<u64>,
    /// When it was paired, Unix seconds.
    #[specta(type = Number)]
    pub paired_at: u64,
    /// What it offers (`info`, `host`, …).
    pub capabilities: Vec<String>,
    /// Its open alerts as last reported, worst first (kept while it is
    /// offline).
    pub alerts: Vec<nodepair_protocol::api::alerts::Alert>,
    /// Its newest resolved alerts, newest first (at most [`RECENTLY_RESOLVED`]).
    pub resolved: Vec<nodepair_protocol::api::alerts::Alert>,
    /// Its node's health in one line, while it is online and watches one.
    pub health: Option<crate::node_health::NodeHealth>,
    /// Its validators counted, while it is online and watches them.
    pub validators: Option<nodepair_protocol::api::validators::Summary>,
}

impl ManagerRow {
    /// A row for tests: `name` in `state`, the rest made up.
    #[cfg(test)]
    pub fn example(name: &str, state: NodeState) -> Self {
        ManagerRow {
            key: format!("{:064x}", name.len()),
            name: name.to_owned(),
            own_name: name.to_owned(),
            renamed: false,
            node_id: "00000000-0000-4000-8000-000000000000".into(),
            fingerprint: "ab12-cd34".into(),
            state,
            latency_ms: None,
            last_seen: None,
            paired_at: 0,
            capabilities: vec!["info".into()],
            alerts: Vec::new(),
            resolved: Vec::new(),
            health: None,
            validators: None,
        }
    }

    /// The row of a counterparty the peer reports.
    pub fn from_view(v: &CounterpartyView) -> Self {
        ManagerRow {
            key: v.public_key.to_string(),
            name: v.name().to_owned(),
            own_name: v.display_name.clone(),
            renamed: v.local_name.is_some(),
            node_id: v.node_id.0.to_string(),
            fingerprint: v.public_key.fingerprint(),
            state: v.state,
            latency_ms: v.latency.map(|d| d.as_secs_f64() * 1000.0),
            last_seen: v.last_seen,
            paired_at: v.paired_at,
            capabilities: v.capabilities.clone(),
            alerts: Vec::new(),
            resolved: Vec::new(),
            health: None,
            validators: None,
        }
    }
}

/// Whether the backend is up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum BackendState {
    /// Opening the keystore and joining the network.
    Starting,
    /// The vault needs a passphrase (see [`ManagersView::unlock`]).
    Locked,
    /// Up.
    Running,
    /// It could not start (see [`ManagersView::error`]).
    Failed,
}

/// The managers and whether the backend is up; sent whenever either changes.
#[derive(Clone, Debug, PartialEq, Serialize, specta::Type, tauri_specta::Event)]
#[serde(rename_all = "camelCase")]
pub struct ManagersView {
    /// Whether the backend is up.
    pub backend: BackendState,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// Set when `backend` is `locked`.
    pub unlock: Option<UnlockView>,
    /// Every paired manager, by name.
    pub managers: Vec<ManagerRow>,
    /// Whether any manager has an open alert that is not muted.
    pub alerting: bool,
    /// Numbers the views in the order the backend read them, events and
    /// answers alike: the window keeps a view only if it is not older than
    /// the one it has, so an answer delivered after later events (100
    /// managers coming online in one burst) cannot put old states back.
    /// (32 bits, as the window's numbers are exact: at ten views a second
    /// it would take thirteen years to run out.)
    pub seq: u32,
}

impl ManagersView {
    /// Before the backend said anything.
    pub fn starting() -> Self {
        ManagersView {
            backend: BackendState::Starting,
            error: None,
            unlock: None,
            managers: Vec::new(),
            alerting: false,
            seq: 0,
        }
    }
}

/// What the tray's menu asks the window to show.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, specta::Type, tauri_specta::Event)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum TrayAction {
    /// Start pairing a manager.
    Pair,
    /// Open this manager's page.
    #[serde(rename_all = "camelCase")]
    OpenManager {
        /// Its key.
        key: String,
    },
}

/// The vault needs a passphrase the app has no other way to get.
#[derive(Clone, Debug, PartialEq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct UnlockView {
    /// No vault yet: the person chooses a passphrase (asked twice).
    pub creating: bool,
    /// Why the keys are in a vault rather than the OS keyring.
    pub why: String,
    /// What went wrong with the last passphrase typed, if anything.
    pub error: Option<String>,
}

/// A pairing as the window shows it; sent as it progresses.
#[derive(Clone, Debug, PartialEq, Serialize, specta::Type, tauri_specta::Event)]
#[serde(rename_all = "camelCase")]
pub struct PairingView {
    /// Where it stands; at `compare`, ask the person whether the server
    /// shows `verification` too.
    pub phase: PairingPhase,
    /// The phase in words (the same the terminal mode and the manager
    /// print).
    pub step: String,
    /// The code to type on the server, in groups.
    pub code: String,
    /// The code's QR code, as an SVG document.
    pub qr_svg: String,
    /// The exact command to type on the server.
    pub command: String,
    /// When the code stops working, Unix milliseconds.
    #[specta(type = Number)]
    pub expires_at_ms: u64,
    /// From `compare` on: the string both sides show.
    pub verification: Option<String>,
    /// From `compare` on: the manager's name, as it introduced itself.
    pub manager: Option<String>,
    /// From `compare` on: the manager's key fingerprint.
    pub fingerprint: Option<String>,
    /// Once failed: why, in words a person can act on.
    pub error: Option<String>,
}

impl PairingView {
    /// Moves to `phase`, with its words.
    pub fn enter(&mut self, phase: PairingPhase) {
        self.phase = phase;
        self.step = phase.describe(nodepair_protocol::Role::App).to_owned();
    }
}

/// Adding a computer as the window shows it, on the new computer
/// (`joining`) or on the one introducing it; sent as it progresses.
#[derive(Clone, Debug, PartialEq, Serialize, specta::Type, tauri_specta::Event)]
#[serde(rename_all = "camelCase")]
pub struct ComputerView {
    /// Which run of adding a computer this is: events of an earlier one
    /// are not this one's.
    pub id: u32,
    /// This is the new computer, showing a code; otherwise the one
    /// introducing it, where the code was typed.
    pub joining: bool,
    /// Where it stands; at `compare`, ask the person whether the other
    /// computer shows `verification` too.
    pub phase: PairingPhase,
    /// The phase in words.
    pub step: String,
    /// On the new computer: the code to type on the other one, in groups.
    /// Never sent back to the side where it was typed.
    pub code: Option<String>,
    /// When the code stops working, Unix milliseconds.
    #[specta(type = Number)]
    pub expires_at_ms: u64,
    /// From `compare` on: the string both screens show.
    pub verification: Option<String>,
    /// From `compare` on: the other computer's name, as it introduced
    /// itself.
    pub computer: Option<String>,
    /// From `compare` on: the other computer's key fingerprint.
    pub fingerprint: Option<String>,
    /// At the end: each manager and what became of the new computer there.
    pub managers: Vec<ComputerManager>,
    /// At the end: the outcome in a sentence.
    pub summary: Option<String>,
    /// Once failed: why, in words a person can act on.
    pub error: Option<String>,
}

/// What became of the new computer on one manager.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ComputerOutcome {
    /// Admitted: the new computer reaches it.
    Introduced,
    /// It refused; nothing was stored there.
    Refused,
    /// Offline or silent: introduce the computer again once it is back.
    Unreachable,
}

/// One manager in [`ComputerView::managers`].
#[derive(Clone, Debug, PartialEq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ComputerManager {
    /// Its name.
    pub name: String,
    /// Its key's fingerprint.
    pub fingerprint: String,
    /// What happened there.
    pub outcome: ComputerOutcome,
    /// In words: what the new computer may use there, or why not.
    pub detail: String,
}

impl ComputerManager {
    /// The line of a manager the introducing side heard from.
    pub fn of_outcome(m: &nodepair_peer::introduction::ManagerOutcome) -> Self {
        use nodepair_peer::introduction::Outcome;
        let (outcome, detail) = match &m.outcome {
            Outcome::Introduced { capabilities } => (
                ComputerOutcome::Introduced,
                format!("may use {}", capabilities.join(", ")),
            ),
            Outcome::Refused { status, why } => (
                ComputerOutcome::Refused,
                format!("refused ({status}): {why}"),
            ),
            Outcome::Unreachable { why } => (
                ComputerOutcome::Unreachable,
                format!("not reached ({why}); add the computer again once it is online"),
            ),
        };
        ComputerManager {
            name: m.name.clone(),
            fingerprint: m.fingerprint.clone(),
            outcome,
            detail,
        }
    }

    /// The line of a manager the new computer was handed.
    pub fn of_joined(v: &CounterpartyView) -> Self {
        ComputerManager {
            name: v.name().to_owned(),
            fingerprint: v.public_key.fingerprint(),
            outcome: ComputerOutcome::Introduced,
            detail: format!("may use {}", v.capabilities.join(", ")),
        }
    }
}

impl ComputerView {
    /// Moves to `phase`, with its words.
    pub fn enter(&mut self, phase: PairingPhase) {
        self.phase = phase;
        self.step = phase.describe_adding(self.joining).to_owned();
    }
}

/// What cutting off a lost computer did.
#[derive(Clone, Debug, PartialEq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct CutOffView {
    /// Managers where it was cut off now.
    pub cut_off: u32,
    /// Managers that are asked when they next connect.
    pub pending: u32,
    /// The outcome in a sentence.
    pub summary: String,
    /// Each manager.
    pub managers: Vec<CutOffRow>,
}

/// One manager in [`CutOffView::managers`].
#[derive(Clone, Debug, PartialEq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct CutOffRow {
    /// Its name.
    pub name: String,
    /// Its key's fingerprint.
    pub fingerprint: String,
    /// `cut_off`, `not_there`, `refused`, `pending` or `failed`.
    pub outcome: String,
    /// What happened, in words.
    pub detail: String,
}

impl CutOffView {
    /// The view of what [`nodepair_peer::Peer::cut_off`] reported.
    pub fn of(report: &nodepair_peer::cut_off::CutOffReport) -> Self {
        use nodepair_peer::cut_off::CutOffOutcome;
        let managers = report
            .managers
            .iter()
            .map(|m| {
                let (outcome, detail) = match &m.outcome {
                    CutOffOutcome::CutOff {
                        computer,
                        fingerprint,
                    } => (
                        "cut_off",
                        format!("cut off {computer} ({fingerprint}); its sessions there ended"),
                    ),
                    CutOffOutcome::NotThere => (
                        "not_there",
                        "no computer of yours by that name there".to_owned(),
                    ),
                    CutOffOutcome::Refused { status, why } => {
                        ("refused", format!("refused ({status}): {why}"))
                    }
                    CutOffOutcome::Pending { why } => (
                        "pending",
                        format!("not reached ({why}); told when it next connects"),
                    ),
                    CutOffOutcome::Failed { why } => {
                        ("failed", format!("not reached, and not kept: {why}"))
                    }
                };
                CutOffRow {
                    name: m.name.clone(),
                    fingerprint: m.fingerprint.clone(),
                    outcome: outcome.to_owned(),
                    detail,
                }
            })
            .collect();
        let (cut_off, pending) = (report.cut_off(), report.pending());
        let who = nodepair_protocol::hello::printable(&report.who, 64);
        let refusal = report.managers.iter().find_map(|m| match &m.outcome {
            CutOffOutcome::Refused { why, .. } | CutOffOutcome::Failed { why } => {
                Some(format!("{}: {why}", m.name))
            }
            _ => None,
        });
        let summary = match (cut_off, pending) {
            (0, 0) if report.managers.is_empty() => {
                "This app is paired with no manager: there is nothing to cut off.".to_owned()
            }
            (0, 0) => match refusal {
                Some(why) => format!("Nothing was cut off. {why}"),
                None => format!(
                    "No manager knows a computer of yours called {who}: nothing was cut off. Check its name or key fingerprint."
                ),
            },
            (0, p) => format!(
                "No manager could be asked now: {p} will cut off {who}, if it is a computer of yours there, when they next connect."
            ),
            (n, 0) => format!("{who} was cut off on {n} {}.", managers_word(n)),
            (n, p) => format!(
                "{who} was cut off on {n} {}; {p} not reachable now will cut it off when they next connect.",
                managers_word(n)
            ),
        };
        CutOffView {
            cut_off: u32::try_from(cut_off).unwrap_or(u32::MAX),
            pending: u32::try_from(pending).unwrap_or(u32::MAX),
            summary,
            managers,
        }
    }
}

fn managers_word(n: usize) -> &'static str {
    if n == 1 { "manager" } else { "managers" }
}

/// What unpairing did.
#[derive(Clone, Debug, PartialEq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct UnpairView {
    /// Whether the manager was told now (else: when it next connects).
    pub told: bool,
    /// A sentence for the person.
    pub message: String,
}

/// An event a manager pushed on one of the streams the window follows.
#[derive(Clone, Debug, PartialEq, Serialize, specta::Type, tauri_specta::Event)]
#[serde(rename_all = "camelCase")]
pub struct ManagerEvent {
    /// The manager's key.
    pub key: String,
    /// The stream's kind (`host`, `logs`): which entry of `ManagerStreams`
    /// types the body.
    pub kind: String,
    /// The stream's full name (`logs:geth.service`).
    pub stream: String,
    /// The event's body.
    pub body: Json,
}

/// Any JSON: a manager method's request or answer, or an event's body, as
/// the generic call carries it. TypeScript sees `unknown`; `ui/src/api.ts`
/// types it from `ManagerMethods` and `ManagerStreams`.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Json(pub serde_json::Value);

impl specta::Type for Json {
    fn definition(types: &mut specta::Types) -> specta::datatype::DataType {
        <specta_typescript::Unknown as specta::Type>::definition(types)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nodepair_peer::cut_off::{CutOffLine, CutOffOutcome, CutOffReport};
    use nodepair_peer::introduction::{ManagerOutcome, Outcome};

    fn line(name: &str, outcome: CutOffOutcome) -> CutOffLine {
        CutOffLine {
            name: name.into(),
            fingerprint: "ab12-cd34".into(),
            outcome,
        }
    }

    #[test]
    fn a_cut_off_says_where_it_happened_where_it_will_and_when_nowhere() {
        let report = CutOffReport {
            who: "desktop".into(),
            managers: vec![
                line(
                    "alpha",
                    CutOffOutcome::CutOff {
                        computer: "desktop".into(),
                        fingerprint: "5be2".into(),
                    },
                ),
                line(
                    "bravo",
                    CutOffOutcome::Pending {
                        why: "offline".into(),
                    },
                ),
                line("charlie", CutOffOutcome::NotThere),
            ],
        };
        let view = CutOffView::of(&report);
        assert_eq!((view.cut_off, view.pending), (1, 1));
        assert_eq!(
            view.summary,
            "desktop was cut off on 1 manager; 1 not reachable now will cut it off when they next connect."
        );
        let outcomes: Vec<&str> = view.managers.iter().map(|m| m.outcome.as_str()).collect();
        assert_eq!(outcomes, ["cut_off", "pending", "not_there"]);

        // A name no manager knows (a typo) is said to have cut off nothing.
        let typo = CutOffReport {
            who: "dekstop\u{1b}[2J".into(),
            managers: vec![line("alpha", CutOffOutcome::NotThere)],
        };
        let view = CutOffView::of(&typo);
        assert!(
            view.summary.starts_with("No manager knows"),
            "{}",
            view.summary
        );
        assert!(
            !view.summary.contains('\u{1b}'),
            "escaped: {}",
            view.summary
        );

        // Refused everywhere (a name two computers share): the refusal, not
        // "no such computer".
        let ambiguous = CutOffReport {
            who: "laptop".into(),
            managers: vec![line(
                "alpha",
                CutOffOutcome::Refused {
                    status: 400,
                    why: "\"laptop\" names more than one computer of yours; name it by key".into(),
                },
            )],
        };
        let view = CutOffView::of(&ambiguous);
        assert!(
            view.summary.starts_with("Nothing was cut off. alpha:"),
            "{}",
            view.summary
        );
        assert!(view.summary.contains("more than one"), "{}", view.summary);
        // Only offline managers: not "cut off on 0 managers".
        let offline = CutOffReport {
            who: "laptop".into(),
            managers: vec![line(
                "alpha",
                CutOffOutcome::Pending {
                    why: "offline".into(),
                },
            )],
        };
        let view = CutOffView::of(&offline);
        assert!(
            view.summary.starts_with("No manager could be asked now"),
            "{}",
            view.summary
        );
    }

    #[test]
    fn each_manager_of_an_introduction_says_what_the_new_computer_got_or_why_not() {
        let lines: Vec<ComputerManager> = [
            Outcome::Introduced {
                capabilities: vec!["host".into(), "logs".into()],
            },
            Outcome::Refused {
                status: 403,
                why: "this manager does not accept introductions".into(),
            },
            Outcome::Unreachable {
                why: "offline".into(),
            },
        ]
        .into_iter()
        .map(|outcome| {
            ComputerManager::of_outcome(&ManagerOutcome {
                name: "alpha".into(),
                fingerprint: "ab12".into(),
                outcome,
            })
        })
        .collect();
        assert_eq!(lines[0].outcome, ComputerOutcome::Introduced);
        assert_eq!(lines[0].detail, "may use host, logs");
        assert_eq!(lines[1].outcome, ComputerOutcome::Refused);
        assert!(lines[1].detail.contains("403"), "{}", lines[1].detail);
        assert_eq!(lines[2].outcome, ComputerOutcome::Unreachable);
        assert!(lines[2].detail.contains("once it is online"));
    }
}
