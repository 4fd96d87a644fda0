//! Cutting off a lost computer from another of the person's apps: every manager that has it in this app's line unpairs it, now or when it is next reached.

use crate::Peer;
use crate::driver::Command;
use crate::request::RequestError;
use crate::view::{CounterpartyView, CutOffError};
use nodepair_protocol::cut_off::{CUT_OFF_METHOD, CutOff, CutOffDone};
use nodepair_protocol::hello::{Role, printable};
use nodepair_protocol::{NodeState, Status};
use tokio::sync::oneshot;

/// What became of a cut-off on one manager.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum CutOffOutcome {
    /// It unpaired the computer: its sessions there have ended.
    CutOff {
        /// The computer's name there.
        computer: String,
        /// Its key's fingerprint.
        fingerprint: String,
    },
    /// No computer of this app's line goes by that name there.
    NotThere,
    /// It refused (ambiguous name, malformed).
    Refused {
        /// Its status code.
        status: u16,
        /// What it said.
        why: String,
    },
    /// Not reachable now: it is asked when it next connects.
    Pending {
        /// Why it was not asked now.
        why: String,
    },
    /// Not reachable, and the cut-off could not be kept for later.
    Failed {
        /// Why.
        why: String,
    },
}

/// One manager's outcome.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CutOffLine {
    /// The manager's name, escaped.
    pub name: String,
    /// Its key's fingerprint.
    pub fingerprint: String,
    /// What happened.
    #[serde(flatten)]
    pub outcome: CutOffOutcome,
}

/// What a cut-off did.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CutOffReport {
    /// What the person named.
    pub who: String,
    /// Each manager.
    pub managers: Vec<CutOffLine>,
}

impl CutOffReport {
    /// Managers that cut it off now.
    pub fn cut_off(&self) -> usize {
        self.count(|o| matches!(o, CutOffOutcome::CutOff { .. }))
    }

    /// Managers that are asked when they next connect.
    pub fn pending(&self) -> usize {
        self.count(|o| matches!(o, CutOffOutcome::Pending { .. }))
    }

    fn count(&self, f: impl Fn(&CutOffOutcome) -> bool) -> usize {
        self.managers.iter().filter(|m| f(&m.outcome)).count()
    }

    /// In words, a line per manager.
    pub fn describe(&self) -> String {
        let mut out = format!(
            "{} cut off on {} manager(s) now; {} not reachable will be told when they next connect",
            printable(&self.who, 64),
            self.cut_off(),
            self.pending()
        );
        for m in &self.managers {
            let what = match &m.outcome {
                CutOffOutcome::CutOff {
                    computer,
                    fingerprint,
                } => format!("cut off {computer} ({fingerprint}); its sessions there ended"),
                CutOffOutcome::NotThere => "no such computer of yours there".to_owned(),
                CutOffOutcome::Refused { status, why } => format!("refused ({status}): {why}"),
                CutOffOutcome::Pending { why } => {
                    format!("not reached ({why}); told when it next connects")
                }
                CutOffOutcome::Failed { why } => format!("not reached, and not kept: {why}"),
            };
            out.push_str(&format!("\n  {} ({}): {what}", m.name, m.fingerprint));
        }
        out
    }
}

impl Peer {
    /// App side: cuts off the person's other computer `who` (its name, key
    /// or fingerprint) on every paired manager where it is of this app's
    /// line: managers online unpair it at once, the others are asked each
    /// time their session comes up until they answer.
    pub async fn cut_off(&self, who: &str) -> CutOffReport {
        let who = who.trim().to_owned();
        let mut managers: Vec<CounterpartyView> = self.counterparties().await;
        managers.retain(|m| m.role == Role::Manager && m.state != NodeState::Revoked);
        let body = serde_json::to_vec(&CutOff { who: who.clone() }).expect("serializes");
        let mut asks = tokio::task::JoinSet::new();
        for (n, m) in managers.iter().enumerate() {
            let (peer, body, key) = (self.clone(), body.clone(), m.public_key);
            let online = m.state == NodeState::Online;
            asks.spawn(async move {
                if !online {
                    return (n, Err("offline".to_owned()));
                }
                match peer.request_introduction(key, CUT_OFF_METHOD, body).await {
                    Ok(reply) if reply.status == Status::RATE_LIMITED || reply.status.0 >= 500 => {
                        (n, Err(format!("it answered {}", reply.status.0)))
                    }
                    Ok(reply) => (n, Ok(reply)),
                    Err(RequestError::NotPaired(_)) => (n, Err("unpaired meanwhile".into())),
                    Err(e) => (n, Err(e.to_string())),
                }
            });
        }
        let mut answers = vec![None; managers.len()];
        while let Some(Ok((n, answer))) = asks.join_next().await {
            answers[n] = Some(answer);
        }
        let mut lines = Vec::new();
        for (m, answer) in managers.iter().zip(answers) {
            let answer = answer.unwrap_or_else(|| Err("the request was lost".into()));
            let outcome = match answer {
                Ok(reply) if reply.status == Status::OK => {
                    match serde_json::from_slice::<CutOffDone>(&reply.body) {
                        Ok(done) => CutOffOutcome::CutOff {
                            computer: printable(&done.display_name, 64),
                            fingerprint: done
                                .public_key
                                .parse::<nodepair_protocol::PublicKey>()
                                .map(|k| k.fingerprint())
                                .unwrap_or_default(),
                        },
                        Err(e) => CutOffOutcome::Refused {
                            status: 200,
                            why: format!("its answer is malformed: {e}"),
                        },
                    }
                }
                Ok(reply) if reply.status == Status::NOT_FOUND => CutOffOutcome::NotThere,
                Ok(reply) => CutOffOutcome::Refused {
                    status: reply.status.0,
                    why: printable(&String::from_utf8_lossy(&reply.body), 300),
                },
                Err(why) => match self.queue_cut_off(m.public_key, who.clone()).await {
                    Ok(()) => CutOffOutcome::Pending { why },
                    Err(e) => CutOffOutcome::Failed {
                        why: format!("{why}; {e}"),
                    },
                },
            };
            lines.push(CutOffLine {
                name: printable(m.name(), 64),
                fingerprint: m.public_key.fingerprint(),
                outcome,
            });
        }
        CutOffReport {
            who,
            managers: lines,
        }
    }

    async fn queue_cut_off(
        &self,
        manager: nodepair_protocol::PublicKey,
        who: String,
    ) -> Result<(), CutOffError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::QueueCutOff {
            manager,
            who,
            reply,
        })
        .await
        .map_err(|_| CutOffError::Stopped)?;
        answer.await.map_err(|_| CutOffError::Stopped)?
    }
}
