//! The running app's end of the control socket: who may connect, and one request per connection handed to [`crate::serve`].

use crate::app_error::ErrorKind;
use crate::backend::Backend;
use crate::control::{Reply, Request};
use crate::serve::{self, Asker};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

/// The longest request line read: a request is small; more is a broken or
/// hostile client.
const MAX_REQUEST: u64 = 64 * 1024;

/// How many commands are answered at once: each holds a task and maybe a
/// pairing or a request to a manager; more are refused, not queued.
pub const MAX_CONNECTIONS: usize = 16;

/// How long a client has to send its request.
const FIRST_LINE: std::time::Duration = std::time::Duration::from_secs(10);

/// The control socket, listening; removed when dropped.
#[derive(Debug)]
pub struct ControlSocket {
    path: PathBuf,
    /// Its inode: only this socket is removed, not one bound there since.
    inode: u64,
    listener: Option<UnixListener>,
}

impl ControlSocket {
    /// Listens on the socket in `data_dir`, mode 0600. Only the app holding
    /// the data directory's lock may call this: a socket already there was
    /// left by one that died, and is replaced.
    pub fn bind(data_dir: &Path) -> std::io::Result<ControlSocket> {
        let path = crate::control::socket_path(data_dir);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let listener = UnixListener::bind(&path)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        let inode = std::os::unix::fs::MetadataExt::ino(&std::fs::symlink_metadata(&path)?);
        Ok(ControlSocket {
            path,
            inode,
            listener: Some(listener),
        })
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Answers connections with the backend `current` gives at the time,
    /// or why there is none.
    pub async fn serve(mut self, current: Current) {
        let Some(listener) = self.listener.take() else {
            return;
        };
        let me = rustix::process::geteuid().as_raw();
        let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    match stream.peer_cred() {
                        Ok(cred) if cred.uid() == me => {}
                        Ok(cred) => {
                            tracing::warn!(
                                uid = cred.uid(),
                                "refused a control connection from another user"
                            );
                            continue;
                        }
                        Err(e) => {
                            tracing::warn!("refused a control connection of unknown user: {e}");
                            continue;
                        }
                    }
                    let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
                        refuse_busy(&stream);
                        continue;
                    };
                    let current = Arc::clone(&current);
                    tokio::spawn(async move {
                        connection(stream, current).await;
                        drop(slot);
                    });
                }
                Err(e) => {
                    tracing::warn!("control socket: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
        }
    }
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        let ours = std::fs::symlink_metadata(&self.path)
            .is_ok_and(|m| std::os::unix::fs::MetadataExt::ino(&m) == self.inode);
        if ours {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The backend running now, or why none is: an exit code for the command
/// and a sentence.
pub type Current = Arc<dyn Fn() -> Result<Arc<Backend>, (u8, String)> + Send + Sync>;

/// Tells a connection beyond [`MAX_CONNECTIONS`] why it is closed, without
/// waiting on it: the reply fits in a fresh socket's buffer, and a client
/// that is not reading loses only its own answer.
fn refuse_busy(stream: &UnixStream) {
    tracing::warn!("refused a control connection: {MAX_CONNECTIONS} are being answered");
    let reply = Reply::Error {
        kind: ErrorKind::Failed,
        exit: crate::serve::exit::TEMPORARY,
        message: format!(
            "the running app is answering {MAX_CONNECTIONS} commands already; try again when one has ended"
        ),
    };
    if let Ok(mut bytes) = serde_json::to_vec(&reply) {
        bytes.push(b'\n');
        let _ = stream.try_write(&bytes);
    }
}

/// One connection: one request, its replies, then close.
async fn connection(stream: UnixStream, current: Current) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read.take(MAX_REQUEST));
    let mut line = String::new();
    // A client says what it wants at once; one that does not is not kept.
    match tokio::time::timeout(FIRST_LINE, reader.read_line(&mut line)).await {
        Ok(Ok(n)) if n > 0 => {}
        _ => return,
    }
    let request: Request = match serde_json::from_str(&line) {
        Ok(r) => r,
        Err(e) => {
            let reply = Reply::Error {
                kind: ErrorKind::Invalid,
                exit: nodepair_peer::exit_code::FAILURE,
                message: format!("not a control request: {e}"),
            };
            let _ = write_reply(&mut write, &reply).await;
            return;
        }
    };
    let backend = match current() {
        Ok(backend) => backend,
        Err((exit, why)) => {
            let reply = Reply::Error {
                kind: ErrorKind::NotRunning,
                exit,
                message: why,
            };
            let _ = write_reply(&mut write, &reply).await;
            return;
        }
    };
    // After its request the client sends only answers to our question
    // (whether the verification strings match); end of stream means it
    // went away.
    let (left, gone) = tokio::sync::watch::channel(false);
    let (answers, answered) = tokio::sync::mpsc::channel(4);
    let watcher = tokio::spawn(async move {
        let mut line = String::new();
        loop {
            line.clear();
            match reader.read_line(&mut line).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if let Ok(Request::Confirm { matches }) = serde_json::from_str(&line) {
                        // One answer per question; more are a broken client
                        // and are dropped, never waited on.
                        let _ = answers.try_send(matches);
                    }
                }
            }
        }
        let _ = left.send(true);
    });
    let asker = Asker {
        gone,
        answers: answered,
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let handler = tokio::spawn(async move {
        let mut sink = move |reply: Reply| {
            let _ = tx.send(reply);
        };
        serve::handle(&backend, request, &mut sink, asker).await;
    });
    while let Some(reply) = rx.recv().await {
        if write_reply(&mut write, &reply).await.is_err() {
            break;
        }
    }
    let _ = handler.await;
    watcher.abort();
}

async fn write_reply(
    write: &mut tokio::net::unix::OwnedWriteHalf,
    reply: &Reply,
) -> std::io::Result<()> {
    let mut bytes = serde_json::to_vec(reply).map_err(std::io::Error::other)?;
    bytes.push(b'\n');
    write.write_all(&bytes).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    async fn first_reply(stream: &mut UnixStream) -> Reply {
        let mut line = String::new();
        let mut reader = BufReader::new(stream);
        tokio::time::timeout(Duration::from_secs(5), reader.read_line(&mut line))
            .await
            .expect("a reply within 5 s")
            .unwrap();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"))
    }

    #[tokio::test]
    async fn connections_beyond_the_cap_are_told_so_and_the_rest_still_answered() {
        let dir = tempfile::tempdir().unwrap();
        let socket = ControlSocket::bind(dir.path()).unwrap();
        let path = socket.path().to_owned();
        let current: Current = Arc::new(|| Err((75, "locked".to_owned())));
        let server = tokio::spawn(socket.serve(current));
        // Clients that connect and say nothing hold every slot.
        let mut silent = Vec::new();
        for _ in 0..MAX_CONNECTIONS {
            silent.push(UnixStream::connect(&path).await.unwrap());
        }
        let mut extra = UnixStream::connect(&path).await.unwrap();
        match first_reply(&mut extra).await {
            Reply::Error { exit, message, .. } => {
                assert_eq!(exit, crate::serve::exit::TEMPORARY);
                assert!(message.contains("answering 16 commands"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        // One leaves: its slot is free again.
        drop(silent.pop());
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let mut next = UnixStream::connect(&path).await.unwrap();
            next.write_all(b"{\"cmd\":\"managers\"}\n").await.unwrap();
            match first_reply(&mut next).await {
                Reply::Error { message, exit, .. } if message == "locked" => {
                    assert_eq!(exit, 75);
                    break;
                }
                Reply::Error { message, .. }
                    if message.contains("answering") && tokio::time::Instant::now() < deadline =>
                {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                other => panic!("{other:?}"),
            }
        }
        server.abort();
    }
}
