//! The app's control socket: how `nodepair pair | managers | unpair | status | ask` reach the running app.
//!
//! One JSON object per line on a Unix socket in the data directory, mode
//! 0600. The client sends one request; the app answers with zero or more
//! progress lines and one final line (for `pair`, the client may send
//! [`Request::Confirm`] after a [`Reply::Compare`]; closing the connection
//! cancels). Only the user the app runs as may talk to it: the client
//! refuses a socket another user owns, and the app hangs up on a peer whose
//! user id is not its own ([`crate::listen`]).

use crate::app_error::ErrorKind;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The socket's file name in the data directory.
pub const SOCKET: &str = "control.sock";

/// The socket in `data_dir`.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SOCKET)
}

/// What a client asks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Request {
    /// Offer a pairing code and pair with the manager that answers it.
    Pair {
        /// How long to wait for a first Waku peer.
        network_timeout_secs: u64,
        /// Confirm the verification string without asking (`--yes`).
        yes: bool,
    },
    /// On a new computer: offer an introduction code, and take the
    /// managers the person's other computer hands over.
    Join {
        /// How long to wait for a first Waku peer.
        network_timeout_secs: u64,
        /// Confirm the verification string without asking (`--yes`).
        yes: bool,
    },
    /// On a computer already paired: answer the new computer's code and
    /// introduce it to every manager.
    AddComputer {
        /// The code the new computer shows.
        code: String,
        /// How long to wait for a first Waku peer.
        network_timeout_secs: u64,
        /// Confirm the verification string without asking (`--yes`).
        yes: bool,
    },
    /// The answer to a [`Reply::Compare`] or [`Reply::CompareComputer`], on
    /// the same connection.
    Confirm {
        /// Whether the server shows the same verification string.
        matches: bool,
    },
    /// Cut off a lost computer of the person's on every manager.
    CutOff {
        /// Its name, key or fingerprint.
        who: String,
    },
    /// The paired managers.
    Managers,
    /// Unpair one.
    Unpair {
        /// A name, node id or key (or the start of one).
        who: String,
    },
    /// Begin a key rotation, and report as managers move, for up to
    /// `wait_secs`.
    RotateKey {
        /// How long to report progress before answering.
        wait_secs: u64,
    },
    /// Identity, keystore, network.
    Status,
    /// The alerts seen from the managers.
    Alerts {
        /// Resolved ones too.
        all: bool,
    },
    /// Ask a manager one of its methods.
    Ask {
        /// A name, node id or key (or the start of one).
        manager: String,
        /// The method, e.g. `host.health`.
        method: String,
        /// Its request, as JSON.
        request: serde_json::Value,
        /// How long to wait for the manager to come online.
        timeout_secs: u64,
    },
}

/// What the app answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Reply {
    /// The code to type on the server.
    Code {
        /// As shown.
        code: String,
        /// What its QR code holds.
        qr: String,
        /// The command to run on the server.
        command: String,
    },
    /// Pairing moved on.
    Progress {
        /// What is happening, for people.
        step: String,
    },
    /// A manager answered: does the server show this verification string
    /// too? Answer with [`Request::Confirm`].
    Compare {
        /// The manager, as it introduced itself.
        manager: ComparedManager,
        /// The string both screens show.
        verification: String,
    },
    /// The introduction code to type on the other computer.
    JoinCode {
        /// As shown.
        code: String,
        /// The command to run there.
        command: String,
    },
    /// The other computer answered: does it show this verification string
    /// too? Answer with [`Request::Confirm`].
    CompareComputer {
        /// The other computer, as it introduced itself.
        computer: ComparedManager,
        /// The string both screens show.
        verification: String,
    },
    /// This computer took the managers the other one handed over.
    Joined {
        /// The computer that introduced this one, escaped.
        via: String,
        /// Each (as `managers --json` shows one).
        managers: Vec<serde_json::Value>,
    },
    /// The new computer was introduced: what each manager did.
    Introduced {
        /// Everything.
        report: Box<nodepair_peer::introduction::IntroductionReport>,
    },
    /// Paired and stored.
    Paired {
        /// Who (as `managers --json` shows one).
        manager: serde_json::Value,
        /// The string both sides showed.
        verification: String,
    },
    /// What each manager did with a cut-off.
    CutOff {
        /// Everything.
        report: Box<nodepair_peer::cut_off::CutOffReport>,
    },
    /// The paired managers (as `managers --json` shows them).
    Managers {
        /// By name.
        managers: Vec<serde_json::Value>,
    },
    /// Where a key rotation stands.
    Rotation {
        /// Everything.
        rotation: Box<nodepair_peer::RotationReport>,
    },
    /// Unpaired.
    Unpaired {
        /// Who.
        name: String,
        /// Whether it was told now (else when it next connects).
        told: bool,
    },
    /// Identity, keystore, network.
    Status {
        /// Everything `status` shows.
        status: Box<crate::status::StatusReport>,
    },
    /// The alerts seen, open first and worst first, then the newest.
    Alerts {
        /// Whether they come from the running app (else as it last saw them).
        running: bool,
        /// Each with its manager.
        alerts: Vec<SeenAlert>,
    },
    /// A manager's answer.
    Answer {
        /// The method's answer, as JSON.
        body: serde_json::Value,
    },
    /// Failed.
    Error {
        /// What kind of failure.
        kind: ErrorKind,
        /// The exit code the command ends with.
        exit: u8,
        /// For people.
        message: String,
    },
}

/// An alert and the manager that reported it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeenAlert {
    /// The manager's name.
    pub manager: String,
    /// Its public key in hex.
    pub key: String,
    /// The alert as its last change left it.
    pub alert: nodepair_protocol::api::alerts::Alert,
}

/// The manager (or, adding a computer, the other computer) that answered,
/// before anything is stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComparedManager {
    /// Its name, escaped for a terminal.
    pub name: String,
    /// Its key's fingerprint.
    pub fingerprint: String,
    /// Its node id.
    pub node_id: String,
}

/// Connecting to the running app failed for a reason other than "no app".
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The socket belongs to someone else: never talked to.
    #[error(
        "{path} belongs to user id {owner}, not to you ({me}); refusing to talk to it (remove it if it should not be there)"
    )]
    ForeignSocket {
        /// The socket.
        path: PathBuf,
        /// Its owner.
        owner: u32,
        /// Our user id.
        me: u32,
    },
    /// Anything else.
    #[error("cannot reach the running app's control socket {path}: {source}")]
    Io {
        /// The socket.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

#[cfg(unix)]
mod client {
    use super::{ConnectError, Reply, Request};
    use std::os::unix::fs::MetadataExt;
    use std::path::Path;
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    use tokio::net::UnixStream;

    /// The longest reply line read (a status with many managers fits).
    const MAX_LINE: usize = 4 << 20;

    /// A connection to the running app, or `None` when none runs (no
    /// socket, or one nobody listens on: an app that died).
    pub async fn connect(data_dir: &Path) -> Result<Option<Client>, ConnectError> {
        let path = super::socket_path(data_dir);
        let io = |source| ConnectError::Io {
            path: path.clone(),
            source,
        };
        let meta = match std::fs::symlink_metadata(&path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        let me = rustix::process::geteuid().as_raw();
        if meta.uid() != me {
            return Err(ConnectError::ForeignSocket {
                path: path.clone(),
                owner: meta.uid(),
                me,
            });
        }
        match UnixStream::connect(&path).await {
            Ok(stream) => {
                // Who is at the other end, whatever the path led to (a
                // symlink of ours to someone else's socket).
                let peer = stream.peer_cred().map_err(io)?.uid();
                if peer != me {
                    return Err(ConnectError::ForeignSocket {
                        path: path.clone(),
                        owner: peer,
                        me,
                    });
                }
                Ok(Some(Client {
                    reader: BufReader::new(stream),
                    pending: Vec::new(),
                }))
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(io(e)),
        }
    }

    /// A client of the control socket.
    #[derive(Debug)]
    pub struct Client {
        reader: BufReader<UnixStream>,
        /// The part of a reply line read so far: kept when [`Client::next`]
        /// is cancelled (a `select!` with Ctrl-C), so the line is not torn.
        pending: Vec<u8>,
    }

    impl Client {
        /// Sends `request`.
        pub async fn send(&mut self, request: &Request) -> std::io::Result<()> {
            let mut line = serde_json::to_vec(request).map_err(std::io::Error::other)?;
            line.push(b'\n');
            self.reader.get_mut().write_all(&line).await
        }

        /// Says we are leaving (closes our side): a pairing under way is
        /// cancelled; its last reply still comes.
        pub async fn leave(&mut self) {
            let _ = self.reader.get_mut().shutdown().await;
        }

        /// The next reply; `None` when the app closed the connection.
        /// Cancel-safe: a reply partly read when the future is dropped is
        /// finished by the next call.
        pub async fn next(&mut self) -> std::io::Result<Option<Reply>> {
            let room = MAX_LINE.saturating_sub(self.pending.len()) as u64;
            (&mut self.reader)
                .take(room)
                .read_until(b'\n', &mut self.pending)
                .await?;
            let line = std::mem::take(&mut self.pending);
            if line.is_empty() {
                return Ok(None);
            }
            serde_json::from_slice(&line)
                .map(Some)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use std::time::Duration;

        #[tokio::test]
        async fn a_reply_half_read_when_the_wait_is_cancelled_is_finished_by_the_next() {
            let (ours, mut app) = UnixStream::pair().unwrap();
            let mut client = Client {
                reader: BufReader::new(ours),
                pending: Vec::new(),
            };
            let line = br#"{"type":"error","kind":"failed","exit":1,"message":"split"}"#;
            let (head, tail) = line.split_at(20);
            app.write_all(head).await.unwrap();
            // The wait is given up (as a select! on Ctrl-C would) mid-line.
            let gave_up = tokio::time::timeout(Duration::from_millis(100), client.next()).await;
            assert!(gave_up.is_err(), "no whole line yet");
            app.write_all(tail).await.unwrap();
            app.write_all(b"\n").await.unwrap();
            let reply = client.next().await.unwrap().unwrap();
            assert!(
                matches!(&reply, Reply::Error { message, .. } if message == "split"),
                "{reply:?}"
            );
            drop(app);
            assert!(client.next().await.unwrap().is_none(), "closed");
        }
    }
}

#[cfg(unix)]
pub use client::{Client, connect};

/// No control socket off Unix: every command runs standalone there.
#[cfg(not(unix))]
pub async fn connect(_data_dir: &Path) -> Result<Option<Client>, ConnectError> {
    Ok(None)
}

/// Never made off Unix.
#[cfg(not(unix))]
#[derive(Debug)]
pub enum Client {}

#[cfg(not(unix))]
impl Client {
    /// Never called.
    pub async fn send(&mut self, _request: &Request) -> std::io::Result<()> {
        match *self {}
    }

    /// Never called.
    pub async fn next(&mut self) -> std::io::Result<Option<Reply>> {
        match *self {}
    }

    /// Never called.
    pub async fn leave(&mut self) {
        match *self {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_replies_are_one_json_object_with_a_tag() {
        let ask = Request::Ask {
            manager: "validator-1".into(),
            method: "host.health".into(),
            request: serde_json::json!({}),
            timeout_secs: 20,
        };
        let line = serde_json::to_string(&ask).unwrap();
        assert_eq!(
            line,
            r#"{"cmd":"ask","manager":"validator-1","method":"host.health","request":{},"timeout_secs":20}"#
        );
        assert_eq!(serde_json::from_str::<Request>(&line).unwrap(), ask);
        let error = Reply::Error {
            kind: ErrorKind::NotFound,
            exit: 67,
            message: "no manager called \"x\"".into(),
        };
        let line = serde_json::to_string(&error).unwrap();
        assert!(
            line.starts_with(r#"{"type":"error","kind":"not_found","exit":67"#),
            "{line}"
        );
        assert!(serde_json::from_str::<Request>(r#"{"cmd":"reboot"}"#).is_err());
    }
}
