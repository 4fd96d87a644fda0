//! `alerts.list`, `alerts.follow`, `alerts.ack`, `alerts.mute`: what the manager's watch over the host and the node found, every change numbered so an app that was away catches up.
//!
//! The manager keeps a log of changes (an alert fired, got worse, was
//! acknowledged or muted, resolved), each with the next sequence number.
//! Each change carries the whole alert as it is after it, so replaying the
//! log from any point gives every alert's state; the log always keeps the
//! last change of an alert still open. An app follows the stream
//! ([`STREAM`]) for changes as they happen and pages through
//! [`AlertsList`] for those after the last one it saw.

use super::{Empty, Method};
use serde::{Deserialize, Serialize};

/// The capability's name.
pub const CAPABILITY: &str = "alerts";

/// Its methods.
pub const METHODS: &[super::MethodInfo] = &[
    super::MethodInfo::of::<AlertsList>(),
    super::MethodInfo::of::<AlertsFollow>(),
    super::MethodInfo::of::<AlertsUnfollow>(),
    super::MethodInfo::of::<AlertsAck>(),
    super::MethodInfo::of::<AlertsMute>(),
];

/// Its kind of stream, and the body of each event.
pub const STREAMS: &[super::StreamInfo] = &[super::StreamInfo::of::<AlertChange>(STREAM)];

/// Its methods' bodies, for TypeScript.
#[cfg(feature = "specta")]
#[derive(Debug, Serialize, specta::Type)]
#[specta(inline)]
pub struct Methods {
    #[serde(rename = "alerts.list")]
    list: super::Call<AlertsListRequest, ChangesPage>,
    #[serde(rename = "alerts.follow")]
    follow: super::Call<Empty, AlertsFollowResponse>,
    #[serde(rename = "alerts.unfollow")]
    unfollow: super::Call<Empty, Empty>,
    #[serde(rename = "alerts.ack")]
    ack: super::Call<AlertAckRequest, Alert>,
    #[serde(rename = "alerts.mute")]
    mute: super::Call<AlertMuteRequest, Alert>,
}

/// Its stream's events, for TypeScript.
#[cfg(feature = "specta")]
#[derive(Debug, Serialize, specta::Type)]
#[specta(inline)]
pub struct Streams {
    alerts: AlertChange,
}

/// The stream an alerts follow's events come on; each body is a [`AlertChange`].
pub const STREAM: &str = "alerts";

/// Most changes one [`AlertsList`] answer holds; the app asks again after
/// the last one while `more` is set.
pub const MAX_PAGE: usize = 40;

/// Most bytes of changes (as JSON) one [`AlertsList`] answer holds, so a
/// page fits in a frame whatever the alerts say; a page holds at least one
/// change, and every change is far smaller (see [`Alert::bound`]).
pub const MAX_PAGE_BYTES: usize = 40 * 1024;

// A page holds MAX_PAGE_BYTES of changes, or one change (under 8 KiB): either
// fits a frame with room for the reply around it.
const _: () = assert!(MAX_PAGE_BYTES + 8 * 1024 < crate::frame::MAX_FRAME_LEN);

/// Longest mute an app may ask for: a week, in seconds.
pub const MAX_MUTE_SECS: u64 = 7 * 24 * 3600;

/// `alerts.list`: the changes after a sequence number, oldest first.
#[derive(Debug)]
pub struct AlertsList;

impl Method for AlertsList {
    const NAME: &'static str = "alerts.list";
    const CAPABILITY: Option<&'static str> = Some(CAPABILITY);
    type Request = AlertsListRequest;
    type Response = ChangesPage;
}

/// `alerts.follow`: every change from now on, pushed on [`STREAM`] until
/// `alerts.unfollow`, the session ends, or the app is unpaired. Follow
/// first, then list after the last change seen: nothing falls between.
#[derive(Debug)]
pub struct AlertsFollow;

impl Method for AlertsFollow {
    const NAME: &'static str = "alerts.follow";
    const CAPABILITY: Option<&'static str> = Some(CAPABILITY);
    type Request = Empty;
    type Response = AlertsFollowResponse;
    const FOLLOWS: super::Follows = super::Follows::Starts;
}

/// `alerts.unfollow`: stops the app's alerts follow, if any.
#[derive(Debug)]
pub struct AlertsUnfollow;

impl Method for AlertsUnfollow {
    const NAME: &'static str = "alerts.unfollow";
    const CAPABILITY: Option<&'static str> = Some(CAPABILITY);
    type Request = Empty;
    type Response = Empty;
    const FOLLOWS: super::Follows = super::Follows::Stops {
        starts: AlertsFollow::NAME,
    };
}

/// `alerts.ack`: someone has seen an alert; every app shows it
/// acknowledged. An alert no longer in the log is answered
/// [`Status::UNKNOWN_METHOD`](crate::status::Status::UNKNOWN_METHOD)'s
/// code 404 with a body saying which.
#[derive(Debug)]
pub struct AlertsAck;

impl Method for AlertsAck {
    const NAME: &'static str = "alerts.ack";
    const CAPABILITY: Option<&'static str> = Some(CAPABILITY);
    type Request = AlertAckRequest;
    type Response = Alert;
}

/// `alerts.mute`: no notifications for an alert for a while (it stays in
/// the log and the lists, marked muted). `for_secs` 0 unmutes.
#[derive(Debug)]
pub struct AlertsMute;

impl Method for AlertsMute {
    const NAME: &'static str = "alerts.mute";
    const CAPABILITY: Option<&'static str> = Some(CAPABILITY);
    type Request = AlertMuteRequest;
    type Response = Alert;
}

/// Which changes: those numbered after `after_seq` (0: from the start of
/// the log).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AlertsListRequest {
    /// The last sequence number the app has seen.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    #[serde(default)]
    pub after_seq: u64,
}

/// Some of the log's changes, oldest first.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ChangesPage {
    /// At most [`MAX_PAGE`] changes after the one asked for.
    pub changes: Vec<AlertChange>,
    /// The newest sequence number in the log (0 when it is empty).
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub last_seq: u64,
    /// Whether changes after this page's last are left: ask again.
    pub more: bool,
    /// Whether changes after `after_seq` were dropped from the log since
    /// (it is bounded): the page still holds every alert's last state.
    pub gap: bool,
}

/// What `alerts.follow` answers: where the stream's events come.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AlertsFollowResponse {
    /// The stream's name, [`STREAM`].
    pub stream: String,
    /// The newest sequence number in the log when the follow started.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub last_seq: u64,
}

/// Which alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AlertAckRequest {
    /// Its id.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub id: u64,
}

/// Which alert, and for how long.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AlertMuteRequest {
    /// Its id.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub id: u64,
    /// Seconds from now, at most [`MAX_MUTE_SECS`]; 0 unmutes.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub for_secs: u64,
}

/// One change in the log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AlertChange {
    /// Its sequence number: one more than the change before, per manager,
    /// kept across restarts.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub seq: u64,
    /// What happened.
    pub kind: AlertChangeKind,
    /// The alert as it is after this change.
    pub alert: Alert,
}

/// What a change did to its alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum AlertChangeKind {
    /// It began.
    Fired,
    /// Its severity changed while it held.
    Severity,
    /// Someone acknowledged it.
    Acknowledged,
    /// Someone muted (or unmuted) it.
    Muted,
    /// Its condition cleared.
    Resolved,
}

/// An alert: one rule's condition about one subject, from when it fired to
/// when it resolved.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Alert {
    /// Its id: numbered per manager, never reused.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub id: u64,
    /// The rule that fired.
    pub rule: Rule,
    /// What it is about: a mount (`/var`), a client (`consensus`,
    /// `execution`), a unit (`geth.service`); empty for the host as a whole.
    pub subject: String,
    /// How bad.
    pub severity: Severity,
    /// One sentence for people: "Disk /var has 4.1 GiB free (3 %)".
    pub summary: String,
    /// When its condition was first seen holding (ms since the Unix epoch).
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub first_seen_ms: u64,
    /// When it was last seen holding.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub last_seen_ms: u64,
    /// When it resolved, if it has.
    #[cfg_attr(feature = "specta", specta(type = Option<specta_typescript::Number>))]
    pub resolved_at_ms: Option<u64>,
    /// The readings that fired it, by name (`free_percent`: `3.1`).
    pub readings: Vec<Fact>,
    /// Who acknowledged it, and when.
    pub acknowledged: Option<Acknowledgement>,
    /// Until when it is muted (ms since the Unix epoch).
    #[cfg_attr(feature = "specta", specta(type = Option<specta_typescript::Number>))]
    pub muted_until_ms: Option<u64>,
    /// The app that muted it, by its display name, while it is muted.
    /// Added later: absent from an older manager's alerts.
    #[serde(default)]
    pub muted_by: Option<String>,
}

/// One reading behind an alert.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Fact {
    /// What was read: `free_percent`, `sync_distance`, `active_state`.
    pub name: String,
    /// Its value, as text.
    pub value: String,
}

/// An acknowledgement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Acknowledgement {
    /// The app that acknowledged it, by its display name.
    pub by: String,
    /// When (ms since the Unix epoch).
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub at_ms: u64,
}

/// How bad an alert is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth knowing, nothing wrong (a block proposal coming): never turns
    /// the app's tray to alerting.
    Info,
    /// Worth a look soon.
    Warning,
    /// Needs someone now.
    Critical,
}

/// The rules a manager evaluates; each can be turned off and tuned in the
/// `[alerts]` section of manager.toml under its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// A mount's free space below a share or a size.
    DiskFree,
    /// Available memory low.
    Memory,
    /// Load per CPU high for minutes.
    Load,
    /// The consensus client behind the chain's head, or its head not moving.
    ConsensusSync,
    /// The execution client behind, or its head not moving.
    ExecutionSync,
    /// A client with too few peers.
    Peers,
    /// An Ethereum endpoint not answering.
    Endpoint,
    /// A listed unit not active.
    UnitDown,
    /// A listed unit restarting again and again.
    UnitRestarts,
    /// The manager started again after it had not stopped cleanly.
    ManagerRestarted,
    /// A validator not seen live in some of the last epochs: attestations missed.
    ValidatorMissed,
    /// A validator's balance fell over the last epoch.
    ValidatorBalance,
    /// A validator slashed.
    ValidatorSlashed,
    /// A validator that was active exiting or exited.
    ValidatorExited,
    /// A validator proposes a block within minutes (info).
    ValidatorProposal,
    /// A rule this version does not know (a newer manager's): shown by its
    /// summary, never configured.
    #[serde(other)]
    Unknown,
}

impl Rule {
    /// Every rule, in the order the docs list them.
    pub const ALL: &'static [Rule] = &[
        Rule::DiskFree,
        Rule::Memory,
        Rule::Load,
        Rule::ConsensusSync,
        Rule::ExecutionSync,
        Rule::Peers,
        Rule::Endpoint,
        Rule::UnitDown,
        Rule::UnitRestarts,
        Rule::ManagerRestarted,
        Rule::ValidatorMissed,
        Rule::ValidatorBalance,
        Rule::ValidatorSlashed,
        Rule::ValidatorExited,
        Rule::ValidatorProposal,
    ];

    /// Its name in manager.toml and on the wire: `disk_free`.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::DiskFree => "disk_free",
            Rule::Memory => "memory",
            Rule::Load => "load",
            Rule::ConsensusSync => "consensus_sync",
            Rule::ExecutionSync => "execution_sync",
            Rule::Peers => "peers",
            Rule::Endpoint => "endpoint",
            Rule::UnitDown => "unit_down",
            Rule::UnitRestarts => "unit_restarts",
            Rule::ManagerRestarted => "manager_restarted",
            Rule::ValidatorMissed => "validator_missed",
            Rule::ValidatorBalance => "validator_balance",
            Rule::ValidatorSlashed => "validator_slashed",
            Rule::ValidatorExited => "validator_exited",
            Rule::ValidatorProposal => "validator_proposal",
            Rule::Unknown => "unknown",
        }
    }
}

impl Alert {
    /// Whether it still holds.
    pub fn is_open(&self) -> bool {
        self.resolved_at_ms.is_none()
    }

    /// Whether it is muted at `now_ms`.
    pub fn is_muted(&self, now_ms: u64) -> bool {
        self.muted_until_ms.is_some_and(|until| until > now_ms)
    }

    /// Cuts what the alert says to the bounds a manager keeps: the summary
    /// and subject to [`MAX_SUMMARY_CHARS`] and [`MAX_SUBJECT_CHARS`], at
    /// most [`MAX_READINGS`] readings of [`MAX_READING_CHARS`] each, the
    /// names of who acknowledged or muted it to 64. An alert so bounded is
    /// under 8 KiB as JSON, however it is written.
    pub fn bound(&mut self) {
        cut(&mut self.summary, MAX_SUMMARY_CHARS);
        cut(&mut self.subject, MAX_SUBJECT_CHARS);
        self.readings.truncate(MAX_READINGS);
        for fact in &mut self.readings {
            cut(&mut fact.name, MAX_READING_CHARS);
            cut(&mut fact.value, MAX_READING_CHARS);
        }
        if let Some(ack) = &mut self.acknowledged {
            cut(&mut ack.by, MAX_NAME_CHARS);
        }
        if let Some(by) = &mut self.muted_by {
            cut(by, MAX_NAME_CHARS);
        }
    }

    /// The alert on one line for a terminal: id, severity, rule, summary,
    /// since when, and who acknowledged or muted it; `when` writes a time
    /// (ms since the epoch). What another side chose (the summary, an
    /// app's name) has its control and invisible formatting characters
    /// escaped and is cut, so it cannot act on the terminal.
    pub fn line(&self, now_ms: u64, when: impl Fn(u64) -> String) -> String {
        use crate::hello::printable;
        let severity = match self.severity {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "CRITICAL",
        };
        let mut text = format!(
            "#{} {severity} {} {} since {}",
            self.id,
            self.rule.as_str(),
            printable(&self.summary, MAX_SUMMARY_CHARS),
            when(self.first_seen_ms)
        );
        if let Some(at) = self.resolved_at_ms {
            text.push_str(&format!(", resolved {}", when(at)));
        }
        if let Some(ack) = &self.acknowledged {
            text.push_str(&format!(
                ", acknowledged by {} {}",
                printable(&ack.by, MAX_NAME_CHARS),
                when(ack.at_ms)
            ));
        }
        if self.is_muted(now_ms) {
            text.push_str(&format!(", muted until {}", when(self.muted_until_ms.unwrap_or(0))));
            if let Some(by) = &self.muted_by {
                text.push_str(&format!(" by {}", printable(by, MAX_NAME_CHARS)));
            }
        }
        text
    }
}

/// Longest summary a manager writes, and an app shows.
pub const MAX_SUMMARY_CHARS: usize = 200;
/// Longest subject a manager writes.
pub const MAX_SUBJECT_CHARS: usize = 200;
/// Most readings behind one alert.
pub const MAX_READINGS: usize = 6;
/// Longest reading name or value.
pub const MAX_READING_CHARS: usize = 48;
/// `text` cut to `max` characters, with an ellipsis when cut.
fn cut(text: &mut String, max: usize) {
    if let Some((at, _)) = text.char_indices().nth(max) {
        let end = text[..at]
            .char_indices()
            .next_back()
            .map_or(0, |(i, _)| i);
        text.truncate(end);
        text.push('…');
    }
}

/// Longest app name shown with an acknowledgement.
const MAX_NAME_CHARS: usize = 64;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_names_are_their_wire_names() {
        for rule in Rule::ALL {
            let json = serde_json::to_string(rule).unwrap();
            assert_eq!(json, format!("\"{}\"", rule.as_str()));
        }
    }

    #[test]
    fn a_change_reads_back_as_written() {
        let change = AlertChange {
            seq: 7,
            kind: AlertChangeKind::Fired,
            alert: Alert {
                id: 3,
                rule: Rule::DiskFree,
                subject: "/var".into(),
                severity: Severity::Warning,
                summary: "Disk /var has 4.1 GiB free (3 %)".into(),
                first_seen_ms: 1_000,
                last_seen_ms: 2_000,
                resolved_at_ms: None,
                readings: vec![Fact {
                    name: "free_percent".into(),
                    value: "3.0".into(),
                }],
                acknowledged: None,
                muted_until_ms: None,
                muted_by: None,
            },
        };
        let json = serde_json::to_string(&change).unwrap();
        assert!(
            json.starts_with(r#"{"seq":7,"kind":"fired","alert":{"id":3,"rule":"disk_free""#),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<AlertChange>(&json).unwrap(), change);
    }

    #[test]
    fn a_bounded_alert_is_small_whatever_it_says_and_a_short_one_is_untouched() {
        let mut short = Alert {
            id: 1,
            rule: Rule::UnitDown,
            subject: "geth.service".into(),
            severity: Severity::Critical,
            summary: "geth.service is failed (failed)".into(),
            first_seen_ms: 0,
            last_seen_ms: 0,
            resolved_at_ms: None,
            readings: vec![Fact {
                name: "active_state".into(),
                value: "failed".into(),
            }],
            acknowledged: None,
            muted_until_ms: None,
            muted_by: None,
        };
        let before = short.clone();
        short.bound();
        assert_eq!(short, before);
        // Every field at its worst: characters JSON writes as six bytes.
        let worst = "\u{1}".repeat(10_000);
        let mut huge = before.clone();
        huge.summary.clone_from(&worst);
        huge.subject.clone_from(&worst);
        huge.readings = vec![
            Fact {
                name: worst.clone(),
                value: worst.clone(),
            };
            100
        ];
        huge.acknowledged = Some(Acknowledgement {
            by: worst.clone(),
            at_ms: u64::MAX,
        });
        huge.muted_until_ms = Some(u64::MAX);
        huge.muted_by = Some(worst.clone());
        huge.bound();
        assert_eq!(huge.summary.chars().count(), MAX_SUMMARY_CHARS);
        assert!(huge.summary.ends_with('…'));
        assert_eq!(huge.readings.len(), MAX_READINGS);
        let change = AlertChange {
            seq: u64::MAX,
            kind: AlertChangeKind::Fired,
            alert: huge,
        };
        let bytes = serde_json::to_vec(&change).unwrap().len();
        assert!(bytes < 8 * 1024, "{bytes} bytes");
    }

    #[test]
    fn a_rule_from_a_newer_manager_reads_as_unknown_and_the_change_is_kept() {
        let text = r#"{"seq": 3, "kind": "fired", "alert": {"id": 1, "rule": "validator_missed_attestation",
            "subject": "", "severity": "warning", "summary": "Missed 3 attestations",
            "first_seen_ms": 1, "last_seen_ms": 2, "resolved_at_ms": null, "readings": [],
            "acknowledged": null, "muted_until_ms": null}}"#;
        let change: AlertChange = serde_json::from_str(text).unwrap();
        assert_eq!(change.alert.rule, Rule::Unknown);
        assert_eq!(change.alert.summary, "Missed 3 attestations");
        assert!(!Rule::ALL.contains(&Rule::Unknown), "never configured");
    }
}
