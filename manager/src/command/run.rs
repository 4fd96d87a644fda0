//! `nodepair-manager run`: the daemon.

use super::GlobalArgs;
use crate::config::Config;
use crate::runtime::Runtime;
use anyhow::Context;
use clap::Args;
use nodepair_peer::PeerEvent;
use std::io::Write;
use std::sync::Arc;

/// Run the daemon: keep sessions with every paired app, serve the control
/// socket, stop cleanly on SIGINT or SIGTERM.
#[derive(Debug, Args)]
pub(crate) struct RunCmd {
    /// Print the readiness line as JSON.
    #[arg(long)]
    json: bool,
}

impl RunCmd {
    pub(crate) fn run(self, global: &GlobalArgs) -> anyhow::Result<()> {
        let (config, _) = Config::load(global.config.as_deref())?;
        super::runtime()?.block_on(self.serve(config))
    }

    async fn serve(self, config: Config) -> anyhow::Result<()> {
        let stop =
            nodepair_waku::signal::shutdown_signal().context("cannot install signal handlers")?;
        let runtime = Arc::new(Runtime::start(config, true).await?);
        let (listener, socket) = socket::listen(&runtime.state_dir)?;

        let status = runtime.status().await;
        let mut out = std::io::stdout().lock();
        if self.json {
            let line = serde_json::json!({
                "event": "ready",
                "node_id": status.node_id,
                "public_key": status.public_key,
                "waku_peer_id": status.waku_peer_id,
                "listen": status.listen,
                "control_socket": socket,
                "keystore": status.keystore,
                "paired": status.counterparties.len(),
            });
            writeln!(out, "{line}")?;
        } else {
            writeln!(
                out,
                "nodepair-manager running as {} ({}), keys in {}, {} paired app(s), control socket {}",
                status.display_name,
                status.fingerprint,
                status.keystore,
                status.counterparties.len(),
                socket
                    .as_deref()
                    .map_or_else(|| "none on this system".into(), |p| p.display().to_string())
            )?;
        }
        out.flush()?;
        drop(out);

        let events = tokio::spawn(log_events(runtime.peer.events()));
        tokio::select! {
            () = stop => {}
            () = socket::accept(listener, runtime.clone()) => {}
        }
        events.abort();
        socket::close(socket.as_deref());
        match Arc::try_unwrap(runtime) {
            Ok(runtime) => runtime.shutdown().await,
            // A control connection still holds it: say goodbye anyway.
            Err(shared) => shared.shutdown_shared().await,
        }
        tracing::info!("stopped");
        Ok(())
    }
}

async fn log_events(mut events: tokio::sync::broadcast::Receiver<PeerEvent>) {
    loop {
        match events.recv().await {
            Ok(PeerEvent::Changed(view)) => {
                tracing::info!(app = ?view.display_name, state = view.state.as_str(), "counterparty");
            }
            Ok(PeerEvent::Removed {
                display_name,
                by_peer,
                ..
            }) => {
                tracing::info!(app = ?display_name, by_peer, "pairing revoked");
            }
            // The events log says it, with both keys.
            Ok(PeerEvent::Moved { .. } | PeerEvent::Stream { .. }) => {}
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// The control socket `pair`, `peers`, `revoke` and `status` reach the
/// daemon through: a Unix socket in the state directory, mode 0660.
#[cfg(unix)]
mod socket {
    use super::{Arc, Context, Runtime};
    use crate::control::{self, Reply, Request};
    use crate::serve;
    use std::os::unix::fs::PermissionsExt;
    use std::path::{Path, PathBuf};
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use tokio::net::{UnixListener, UnixStream};

    /// Listens on the state directory's control socket.
    pub(super) fn listen(state_dir: &Path) -> anyhow::Result<(UnixListener, Option<PathBuf>)> {
        let socket = control::socket_path(state_dir);
        // A socket left by a daemon that died: the state lock proves it is gone.
        let _ = std::fs::remove_file(&socket);
        let listener = UnixListener::bind(&socket)
            .with_context(|| format!("cannot listen on {}", socket.display()))?;
        std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o660))
            .with_context(|| format!("cannot set the mode of {}", socket.display()))?;
        Ok((listener, Some(socket)))
    }

    /// Removes the socket on the way out.
    pub(super) fn close(socket: Option<&Path>) {
        if let Some(socket) = socket {
            let _ = std::fs::remove_file(socket);
        }
    }

    pub(super) async fn accept(listener: UnixListener, runtime: Arc<Runtime>) {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    tokio::spawn(connection(stream, runtime.clone()));
                }
                Err(e) => {
                    tracing::warn!("control socket: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
        }
    }

    /// One control connection: one request, its replies, then close.
    async fn connection(stream: UnixStream, runtime: Arc<Runtime>) {
        let (read, mut write) = stream.into_split();
        let mut reader = BufReader::new(read);
        let mut line = String::new();
        if reader.read_line(&mut line).await.is_err() {
            return;
        }
        // After its request the client sends only answers to our questions
        // (whether the verification strings match); end of stream means it
        // went away.
        let (left, gone) = tokio::sync::watch::channel(false);
        let (asker, answers) = serve::Asker::new(gone);
        let watcher = tokio::spawn(async move {
            let mut line = String::new();
            loop {
                line.clear();
                match reader.read_line(&mut line).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        if let Ok(Request::Confirm { matches }) = serde_json::from_str(&line) {
                            let _ = answers.send(matches).await;
                        }
                    }
                }
                // A client sends one answer per question; a flood is a
                // broken client, not an answer.
                if line.len() > 4096 {
                    break;
                }
            }
            let _ = left.send(true);
        });
        let request: Request = match serde_json::from_str(&line) {
            Ok(r) => r,
            Err(e) => {
                let reply = Reply::Error {
                    kind: control::ErrorKind::Failed,
                    message: format!("not a control request: {e}"),
                };
                let _ = write_reply(&mut write, &reply).await;
                return;
            }
        };
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let handler = tokio::spawn(async move {
            let mut sink = move |reply: Reply| {
                let _ = tx.send(reply);
            };
            serve::handle(&runtime, request, &mut sink, asker).await;
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
}

/// No control socket off Unix: the daemon serves its apps, and `pair`,
/// `peers`, `revoke` and `status` run by themselves while it is stopped
/// (while it runs they find its state taken and say so).
#[cfg(not(unix))]
mod socket {
    use super::Runtime;
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    pub(super) fn listen(_state_dir: &Path) -> anyhow::Result<((), Option<PathBuf>)> {
        Ok(((), None))
    }

    pub(super) fn close(_socket: Option<&Path>) {}

    pub(super) async fn accept((): (), _runtime: Arc<Runtime>) {
        std::future::pending().await
    }
}
