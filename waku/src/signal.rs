//! Waiting for the signals that stop a daemon, for the programs that run a node.

/// Resolves on SIGINT or SIGTERM. The handlers are installed when this is
/// called, not when it is first polled, so call it before announcing that
/// the program is up: a signal sent right after must not kill it uncleanly.
///
/// # Errors
///
/// When a handler cannot be installed.
pub fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}
