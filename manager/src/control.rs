//! The control socket: how `pair`, `peers`, `revoke`, `grant`, `rotate-key` and `status` talk to a running daemon.
//!
//! One JSON object per line. The client sends one request; the daemon
//! answers with zero or more `progress` lines and one final line.

use serde::{Deserialize, Serialize};
use std::path::Path;
#[cfg(unix)]
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
#[cfg(unix)]
use tokio::net::UnixStream;

/// The socket in the state directory.
#[cfg(unix)]
pub(crate) fn socket_path(state_dir: &Path) -> std::path::PathBuf {
    state_dir.join("control.sock")
}

/// What a client asks.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub(crate) enum Request {
    /// Pair with the app showing `code`.
    Pair {
        /// As typed; checked by the daemon too.
        code: String,
        /// How long to wait for a first Waku peer.
        network_timeout_secs: u64,
        /// Confirm the verification string without asking (`--yes`).
        #[serde(default)]
        yes: bool,
        /// Grant the app only these capabilities (`--grant`); `None` (or
        /// absent) grants everything the manager offers.
        #[serde(default)]
        grants: Option<Vec<String>>,
    },
    /// The answer to a [`Reply::Compare`], on the same connection.
    Confirm {
        /// Whether the app shows the same verification string.
        matches: bool,
    },
    /// The counterparties.
    Peers,
    /// Unpair one.
    Revoke {
        /// A name, node id, or public key (or a prefix of one).
        who: String,
    },
    /// Change what an app may use.
    Grant {
        /// A name, node id, or public key (or a prefix of one).
        who: String,
        /// The capabilities it may use; `None` is everything offered.
        grants: Option<Vec<String>>,
    },
    /// Begin a key rotation, and report as apps move, for up to
    /// `wait_secs`.
    RotateKey {
        /// How long to report progress before answering.
        wait_secs: u64,
    },
    /// Everything `status` shows.
    Status,
}

/// What the daemon answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum Reply {
    /// Pairing moved on.
    Progress {
        /// What is happening, for people.
        step: String,
    },
    /// An app answered: does it show this verification string too? Answer
    /// with [`Request::Confirm`].
    Compare {
        /// The app, as it introduced itself.
        app: Box<ComparedApp>,
        /// The six digits the app shows too, if nobody is in the middle.
        verification: String,
    },
    /// Paired, stored, and the first session is up.
    Paired {
        /// Who.
        counterparty: Box<PeerRow>,
        /// The string both sides show.
        verification: String,
    },
    /// The counterparties.
    Peers {
        /// By name.
        peers: Vec<PeerRow>,
    },
    /// Unpaired.
    Revoked {
        /// Who.
        name: String,
        /// Whether it answered (else it is told when it next connects).
        told: bool,
    },
    /// What an app may use changed.
    Granted {
        /// Who.
        name: String,
        /// The grant as stored: `None` is everything offered.
        grants: Option<Vec<String>>,
        /// What it may use now, of what the manager offers.
        granted: Vec<String>,
        /// Whether it was online and told at once (else it is told when it
        /// next connects; its requests are judged by the new grant either
        /// way).
        told: bool,
    },
    /// Where a key rotation stands.
    Rotation {
        /// Everything.
        rotation: Box<nodepair_peer::RotationReport>,
    },
    /// The daemon's status.
    Status {
        /// Everything.
        status: Box<StatusReport>,
    },
    /// Failed.
    Error {
        /// Which kind, for exit codes.
        kind: ErrorKind,
        /// For people.
        message: String,
    },
}

/// Kinds of failure a client turns into exit codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ErrorKind {
    /// The code is mistyped.
    BadCode,
    /// No Waku peer could be reached.
    NoNetwork,
    /// Nobody answered before the code expired.
    Expired,
    /// Two parties answered the code: it may have leaked.
    AnsweredTwice,
    /// Someone said the verification strings differ.
    Mismatch,
    /// No counterparty matches.
    NotFound,
    /// Several counterparties match.
    Ambiguous,
    /// What was asked for cannot be (a grant of what is not offered).
    Invalid,
    /// Anything else.
    Failed,
}

/// The app that answered a pairing, before anything is stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct ComparedApp {
    pub(crate) name: String,
    pub(crate) node_id: String,
    pub(crate) fingerprint: String,
}

/// One counterparty, as `peers` shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct PeerRow {
    pub(crate) name: String,
    pub(crate) node_id: String,
    pub(crate) public_key: String,
    pub(crate) fingerprint: String,
    pub(crate) role: String,
    pub(crate) state: String,
    pub(crate) capabilities: Vec<String>,
    /// What this manager grants it: `None` is everything it offers.
    pub(crate) grants: Option<Vec<String>>,
    /// For an app another app introduced: the fingerprint of the first app
    /// of its line (the one the operator paired).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) introduced_by: Option<String>,
    pub(crate) paired_at: u64,
    pub(crate) last_seen: Option<u64>,
    pub(crate) latency_ms: Option<f64>,
}

impl PeerRow {
    pub(crate) fn from_view(v: &nodepair_peer::CounterpartyView) -> Self {
        PeerRow {
            // Checked when it came in; escaped again for a terminal all the same.
            name: nodepair_protocol::hello::printable(&v.display_name, 64),
            node_id: v.node_id.0.to_string(),
            public_key: v.public_key.to_string(),
            fingerprint: v.public_key.fingerprint(),
            role: match v.role {
                nodepair_protocol::hello::Role::App => "app".into(),
                nodepair_protocol::hello::Role::Manager => "manager".into(),
            },
            state: v.state.as_str().into(),
            capabilities: v.capabilities.clone(),
            grants: v.grants.clone(),
            introduced_by: v.introduced_by.map(|k| k.fingerprint()),
            paired_at: v.paired_at,
            last_seen: v.last_seen,
            latency_ms: v.latency.map(|d| d.as_secs_f64() * 1000.0),
        }
    }
}

/// What `status` shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct StatusReport {
    pub(crate) display_name: String,
    pub(crate) node_id: String,
    pub(crate) public_key: String,
    pub(crate) fingerprint: String,
    pub(crate) daemon_running: bool,
    pub(crate) keystore: String,
    pub(crate) keystore_why: String,
    /// Which Waku network, once the preset is applied (`None` when the
    /// `[network]` section cannot work).
    pub(crate) network: Option<nodepair_peer::network::NetworkSummary>,
    pub(crate) waku_peer_id: Option<String>,
    pub(crate) waku_peers: Vec<String>,
    pub(crate) listen: Vec<String>,
    pub(crate) topics: Vec<String>,
    pub(crate) counterparties: Vec<PeerRow>,
    /// Pairings running now.
    pub(crate) pairings_under_way: usize,
    /// A key rotation under way.
    #[serde(default)]
    pub(crate) rotation: Option<nodepair_peer::RotationReport>,
    /// Session messages that failed authentication (e.g. handshakes from
    /// unknown keys), malformed or replayed; pairing messages refused.
    pub(crate) dropped: Dropped,
}

/// What the daemon dropped, and why.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Dropped {
    pub(crate) auth_failures: u64,
    pub(crate) malformed: u64,
    pub(crate) replays: u64,
    pub(crate) refused_pairing_messages: u64,
}

/// A connection to the daemon, or `None` when none is running (no socket,
/// or a socket nobody listens on: a daemon that died).
#[cfg(unix)]
pub(crate) async fn connect(state_dir: &Path) -> anyhow::Result<Option<Client>> {
    let path = socket_path(state_dir);
    match UnixStream::connect(&path).await {
        Ok(stream) => Ok(Some(Client::from_stream(stream))),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(anyhow::anyhow!(
            "cannot reach the daemon's control socket {}: {e}",
            path.display()
        )),
    }
}

/// No control socket off Unix: every command runs by itself there, and one
/// that needs the state a running daemon holds says so.
#[cfg(not(unix))]
pub(crate) async fn connect(_state_dir: &Path) -> anyhow::Result<Option<Client>> {
    Ok(None)
}

/// Never made off Unix.
#[cfg(not(unix))]
pub(crate) enum Client {}

#[cfg(not(unix))]
impl Client {
    /// Never called.
    pub(crate) async fn send(&mut self, _request: &Request) -> anyhow::Result<()> {
        match *self {}
    }

    /// Never called.
    pub(crate) async fn next(&mut self) -> anyhow::Result<Option<Reply>> {
        match *self {}
    }
}

/// A client of the control socket.
#[cfg(unix)]
pub(crate) struct Client {
    reader: BufReader<UnixStream>,
}

#[cfg(unix)]
impl Client {
    /// A client on a connected stream.
    pub(crate) fn from_stream(stream: UnixStream) -> Self {
        Self {
            reader: BufReader::new(stream),
        }
    }

    /// Sends `request`.
    pub(crate) async fn send(&mut self, request: &Request) -> anyhow::Result<()> {
        let mut line = serde_json::to_vec(request)?;
        line.push(b'\n');
        self.reader.get_mut().write_all(&line).await?;
        Ok(())
    }

    /// The next reply; `None` when the daemon closed the connection.
    pub(crate) async fn next(&mut self) -> anyhow::Result<Option<Reply>> {
        let mut line = String::new();
        if self.reader.read_line(&mut line).await? == 0 {
            return Ok(None);
        }
        Ok(Some(serde_json::from_str(&line)?))
    }
}
