//! Whether a StatusNotifier host (a panel that shows tray icons) runs on the session bus (Linux).

/// The watcher hosts register with, as libayatana-appindicator looks for it.
const WATCHER: &str = "org.kde.StatusNotifierWatcher";

/// Whether a host is registered with the session bus's StatusNotifier
/// watcher; `false` without a session bus or a watcher.
pub(crate) fn host_registered() -> bool {
    let asked = zbus::blocking::Connection::session().and_then(|bus| {
        zbus::blocking::Proxy::new(&bus, WATCHER, "/StatusNotifierWatcher", WATCHER)?
            .get_property::<bool>("IsStatusNotifierHostRegistered")
    });
    match asked {
        Ok(registered) => registered,
        Err(e) => {
            tracing::info!("no StatusNotifier host ({e}): the window quits the app when closed");
            false
        }
    }
}
