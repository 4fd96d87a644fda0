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
                    tokio::spawn(connection(stream, Arc::clone(&current)));
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

/// The backend running now, or why none is, in a sentence.
pub type Current = Arc<dyn Fn() -> Result<Arc<Backend>, String> + Send + Sync>;

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
        Err(why) => {
            let reply = Reply::Error {
                kind: ErrorKind::NotRunning,
                exit: nodepair_peer::exit_code::FAILURE,
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
