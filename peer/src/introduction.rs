//! Adding a computer: the new app joining with a code, and the paired app introducing it to its managers.
//!
//! The new computer ([`Peer::offer_introduction`]) shows a code; the
//! person types it on a computer already paired ([`Peer::introduce`]); both
//! compare the verification string as in pairing. The paired app then asks
//! each of its managers online to admit the new one
//! (`nodepair.introduce`), and hands it those that did
//! (`nodepair.handoff`) over the session the code opened, which neither
//! side keeps. The new app stores them and connects.

use crate::Peer;
use crate::driver::Command;
use crate::pairing_handle::{PairingFailure, PairingHandle, PairingUpdate};
use crate::request::RequestError;
use crate::view::CounterpartyView;
use nodepair_protocol::hello::{Role, printable};
use nodepair_protocol::introduction::{
    HANDOFF_METHOD, Handoff, HandoffAnswer, INTRODUCE_METHOD, Introduce, Introduced, check_handoff,
    handoff_parts,
};
use nodepair_protocol::pairing::Counterparty;
use nodepair_protocol::pairing_code::PairingCode;
use nodepair_protocol::{NodeState, PublicKey, Purpose, Status};
use tokio::sync::mpsc;

/// How long the introducing side waits for its managers to come online
/// before asking those that are.
const ONLINE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// What became of one manager when a computer was introduced to it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// It admitted the new computer, granting it these.
    Introduced {
        /// What the new computer may use there.
        capabilities: Vec<String>,
    },
    /// It refused (it does not accept introductions, or asked for more
    /// than this app has); nothing was stored there.
    Refused {
        /// Its status code.
        status: u16,
        /// What it said.
        why: String,
    },
    /// It is offline or did not answer: introduce the computer again once
    /// it is back.
    Unreachable {
        /// Why.
        why: String,
    },
}

/// One manager's outcome.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ManagerOutcome {
    /// Its name, escaped for a terminal.
    pub name: String,
    /// Its key's fingerprint.
    pub fingerprint: String,
    /// What happened.
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// What an introduction did, as the introducing side shows it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IntroductionReport {
    /// The new computer's name, escaped.
    pub computer: String,
    /// Its key's fingerprint.
    pub fingerprint: String,
    /// Each manager this app is paired with, by name.
    pub managers: Vec<ManagerOutcome>,
    /// Whether the new computer took the managers that admitted it (it
    /// answered the handoff); `false` with why otherwise.
    pub handed: Result<usize, String>,
}

impl IntroductionReport {
    /// How many managers admitted the new computer.
    pub fn introduced(&self) -> usize {
        self.managers
            .iter()
            .filter(|m| matches!(m.outcome, Outcome::Introduced { .. }))
            .count()
    }

    /// In words, a line per manager.
    pub fn describe(&self) -> String {
        let mut out = match &self.handed {
            Ok(_) => format!(
                "{} ({}) now reaches {} of {} managers",
                self.computer,
                self.fingerprint,
                self.introduced(),
                self.managers.len()
            ),
            Err(why) => format!(
                "{} managers admitted {} ({}), but it did not take them: {why}; introduce it again",
                self.introduced(),
                self.computer,
                self.fingerprint
            ),
        };
        for m in &self.managers {
            let what = match &m.outcome {
                Outcome::Introduced { capabilities } => {
                    format!("introduced; may use {}", capabilities.join(", "))
                }
                Outcome::Refused { status, why } => format!("refused ({status}): {why}"),
                Outcome::Unreachable { why } => format!("not reached: {why}"),
            };
            out.push_str(&format!("\n  {} ({}): {what}", m.name, m.fingerprint));
        }
        out
    }
}

impl Peer {
    /// App side, on the new computer: draws an introduction code and waits
    /// for the person's other computer (already paired) to answer it,
    /// compare, and hand over its managers. Show `handle.code`; the handle
    /// ends with [`PairingUpdate::Joined`].
    pub async fn offer_introduction(&self) -> Result<PairingHandle, PairingFailure> {
        let mut random = [0u8; 8];
        getrandom::fill(&mut random).expect("the operating system provides random bytes");
        let code = PairingCode::from_random(random);
        self.start_introduction(code, Role::App).await
    }

    /// App side, on a computer already paired: answers the introduction
    /// `code` the new computer shows. Once both people compared, every
    /// manager online is asked to admit the new computer with at most this
    /// app's grant, and those that did are handed to it. The handle ends
    /// with [`PairingUpdate::Introduced`].
    pub async fn introduce(&self, code: PairingCode) -> Result<PairingHandle, PairingFailure> {
        let mut inner = self.start_introduction(code, Role::Manager).await?;
        let (tx, rx) = mpsc::channel(64);
        let peer = self.clone();
        let handle = self.following(inner.code.clone(), inner.id, rx);
        tokio::spawn(async move {
            while let Some(update) = inner.next().await {
                match update {
                    PairingUpdate::Met {
                        computer,
                        verification,
                    } => {
                        let _ = tx
                            .send(PairingUpdate::Met {
                                computer: computer.clone(),
                                verification,
                            })
                            .await;
                        let report = peer.introduce_to_managers(&computer).await;
                        let _ = peer
                            .send(Command::EndIntroduction {
                                peer: computer.static_key,
                            })
                            .await;
                        let _ = tx.send(PairingUpdate::Introduced(report)).await;
                        return;
                    }
                    other => {
                        let end = matches!(other, PairingUpdate::Failed(_));
                        let _ = tx.send(other).await;
                        if end {
                            return;
                        }
                    }
                }
            }
        });
        Ok(handle)
    }

    async fn start_introduction(
        &self,
        code: PairingCode,
        machine: Role,
    ) -> Result<PairingHandle, PairingFailure> {
        if self.inner.role != Role::App {
            return Err(PairingFailure::Stopped);
        }
        let local = self.keys().pairing;
        let ours = local.keypair.clone();
        let mut config = self.inner.config.pairing.clone();
        config.purpose = Purpose::Introduction;
        let (id, pairing) = self.machine(&code, machine, local, config);
        let (updates, receiver) = mpsc::channel(64);
        self.send(Command::StartIntroduction {
            id,
            pairing,
            ours,
            joining: machine == Role::App,
            updates,
        })
        .await
        .map_err(|_| PairingFailure::Stopped)?;
        Ok(self.following(code, id, receiver))
    }

    /// Asks every manager online to admit `computer`, then hands it those
    /// that did.
    async fn introduce_to_managers(&self, computer: &Counterparty) -> IntroductionReport {
        // Just started (a command run without the app): the managers get a
        // moment to come online.
        let deadline = tokio::time::Instant::now() + ONLINE_WAIT;
        let listed = async || {
            let mut all = self.counterparties().await;
            all.retain(|m| m.role == Role::Manager && m.state != NodeState::Revoked);
            all
        };
        let mut managers: Vec<CounterpartyView> = listed().await;
        while managers.iter().any(|m| m.state != NodeState::Online)
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            managers = listed().await;
        }
        let body = Introduce {
            public_key: computer.static_key.to_string(),
            node_id: computer.node_id.0.to_string(),
            display_name: computer.display_name.clone(),
            grants: None,
        };
        let body = serde_json::to_vec(&body).expect("an introduction serializes");
        // All at once: each waits at most the request timeout.
        let mut asks = tokio::task::JoinSet::new();
        for (n, m) in managers.iter().enumerate() {
            let (peer, body, key, node_id) = (
                self.clone(),
                body.clone(),
                m.public_key,
                m.node_id.0.to_string(),
            );
            let online = m.state == NodeState::Online;
            asks.spawn(async move {
                if !online {
                    return (
                        n,
                        Err(Outcome::Unreachable {
                            why: "offline".into(),
                        }),
                    );
                }
                (n, ask(&peer, (key, &node_id), body).await)
            });
        }
        let mut answers: Vec<Option<Result<Introduced, Outcome>>> = vec![None; managers.len()];
        while let Some(Ok((n, answer))) = asks.join_next().await {
            answers[n] = Some(answer);
        }
        let mut handed_over = Vec::new();
        let mut outcomes = Vec::new();
        for (m, outcome) in managers.iter().zip(answers) {
            let outcome = outcome.unwrap_or_else(|| {
                Err(Outcome::Unreachable {
                    why: "the request was lost".into(),
                })
            });
            let outcome = match outcome {
                Ok(mut introduced) => {
                    // Under the name we know it by (its own, as checked
                    // when we paired), not one it just claimed.
                    introduced.display_name = m.display_name.clone();
                    let capabilities = introduced.capabilities.clone();
                    handed_over.push(introduced);
                    Outcome::Introduced { capabilities }
                }
                Err(outcome) => outcome,
            };
            outcomes.push(ManagerOutcome {
                name: printable(m.name(), 64),
                fingerprint: m.public_key.fingerprint(),
                outcome,
            });
        }
        // Sent even empty: the new computer then knows at once that no
        // manager admitted it. Many managers go in parts, one at a time;
        // the new computer stores nothing before the last.
        let count = handed_over.len();
        let mut handed = Ok(count);
        let parts = handoff_parts(handed_over);
        let (mut sent, last) = (0, parts.len() - 1);
        for (n, part) in parts.into_iter().enumerate() {
            sent += part.managers.len();
            let body = serde_json::to_vec(&part).expect("a handoff serializes");
            let answer = match self
                .request_introduction(computer.static_key, HANDOFF_METHOD, body)
                .await
            {
                Ok(reply) if reply.status == Status::OK => {
                    if HandoffAnswer::answers(&reply.body, n, last + 1, sent) {
                        continue;
                    }
                    format!(
                        "it answered part {} of {} with {}, not as a part of a handoff",
                        n + 1,
                        last + 1,
                        printable(&String::from_utf8_lossy(&reply.body), 100)
                    )
                }
                Ok(reply) => format!(
                    "it answered {}: {}",
                    reply.status.0,
                    printable(&String::from_utf8_lossy(&reply.body), 200)
                ),
                Err(e) => e.to_string(),
            };
            handed = Err(answer);
            break;
        }
        IntroductionReport {
            computer: printable(&computer.display_name, 64),
            fingerprint: computer.static_key.fingerprint(),
            managers: outcomes,
            handed,
        }
    }
}

/// One manager's answer to an introduction, checked: what is handed to
/// the new computer must be that very manager, as we know it.
async fn ask(
    peer: &Peer,
    (manager, node_id): (PublicKey, &str),
    body: Vec<u8>,
) -> Result<Introduced, Outcome> {
    let unusable = |why: String| Outcome::Refused {
        status: 200,
        why: format!("its answer is unusable ({why}); nothing is handed over for it"),
    };
    match peer
        .request_introduction(manager, INTRODUCE_METHOD, body)
        .await
    {
        Ok(reply) if reply.status == Status::OK => {
            let answer: Introduced =
                serde_json::from_slice(&reply.body).map_err(|e| unusable(e.to_string()))?;
            check_handoff(&Handoff {
                managers: vec![answer.clone()],
                more: false,
            })
            .map_err(|e| unusable(e.to_string()))?;
            if answer.public_key.parse::<PublicKey>().ok() != Some(manager)
                || answer.node_id != node_id
            {
                return Err(unusable(
                    "it names another key or node id than its own; introduce again once its key rotation ended".into(),
                ));
            }
            Ok(answer)
        }
        Ok(reply) => Err(Outcome::Refused {
            status: reply.status.0,
            why: printable(&String::from_utf8_lossy(&reply.body), 300),
        }),
        Err(RequestError::NotPaired(_)) => Err(Outcome::Unreachable {
            why: "unpaired meanwhile".into(),
        }),
        Err(e) => Err(Outcome::Unreachable { why: e.to_string() }),
    }
}
