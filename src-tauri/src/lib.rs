//! NodePair's desktop app: the Tauri backend.
//!
//! A person uses the app to pair with node managers and then to watch and
//! operate their nodes. The backend is thin: it gives the TypeScript UI (in
//! `ui/`) what it asks for through Tauri's IPC, and hands pairing and
//! sessions to `nodepair-peer`. The same binary runs without a window
//! (`nodepair pair | managers | unpair | status | ask`) for terminals and
//! scripts, through the running app's control socket when it runs. Data
//! flows one way: UI or terminal → this backend → peer → protocol ⇄ Waku.
//!
//! # Layout
//!
//! - [`settings`]: the settings file and the data directory;
//!   [`settings_file`]: the window's changes to it;
//!   [`settings_commands`]: the settings page's commands.
//! - [`backend`]: starting the app's peer (keystore, identity, Waku node).
//! - [`headless`]: the command line without a window.
//! - [`control`]: the control socket's messages, and its client.
//! - `listen` (Unix): the running app's end of the control socket.
//! - [`serve`]: answering a command against a running backend.
//! - [`status`]: what `nodepair status` shows.
//! - [`gui`]: the backend started at launch, and what it tells the window.
//! - [`commands`]: what the window may ask.
//! - [`follows`]: the streams the window follows, asked for again after a reconnect.
//! - [`views`]: the types crossing the IPC.
//! - [`ipc`]: the typed IPC and its generated TypeScript bindings.
//! - [`notify`]: which changes become desktop notifications.
//! - [`alert_inbox`]: the alerts seen, and which to tell;
//!   [`alert_delivery`]: following and catching up on them.
//! - [`node_health`]: a node's health in one line; `health_watch`: asking for it.
//! - [`tray`]: the tray icon and its menu; [`tray_look`]: what they show.
//! - `autostart` (Linux): the XDG autostart entry that starts it at login.

#![deny(missing_docs)]

pub mod alert_delivery;
pub mod alert_inbox;
pub mod app_error;
#[cfg(target_os = "linux")]
pub mod autostart;
pub mod backend;
pub mod commands;
pub mod computer_commands;
pub mod control;
pub mod follows;
pub mod gui;
pub mod headless;
mod health_watch;
pub mod ipc;
#[cfg(unix)]
pub mod listen;
pub mod node_health;
pub mod notify;
pub mod printer;
pub mod serve;
pub mod settings;
pub mod settings_commands;
pub mod settings_file;
pub mod status;
#[cfg(target_os = "linux")]
mod status_notifier;
pub mod tray;
pub mod tray_look;
pub mod views;

/// Starts the desktop app and runs it until it is quit (from the tray) or,
/// without a tray, until its window closes; `settings` is `--config`, if
/// given, and `hidden` starts it in the tray. A second launch shows and
/// focuses the first one's window instead.
///
/// # Panics
///
/// When the window system cannot be reached (no display): Tauri offers no
/// way to go on without one.
pub fn run(settings: Option<std::path::PathBuf>, hidden: bool) {
    use tauri::Manager;
    use tauri_plugin_window_state::StateFlags;
    let ipc = ipc::builder();
    let builder = tauri::Builder::default()
        // First: a second launch goes no further than this.
        .plugin(tauri_plugin_single_instance::init(|app, _, _| {
            tray::reveal(app, None);
        }))
        .plugin(
            tauri_plugin_window_state::Builder::default()
                // Whether it shows is for `--hidden` and the tray to say.
                .with_state_flags(StateFlags::all() & !StateFlags::VISIBLE)
                .build(),
        )
        .plugin(tauri_plugin_notification::init());
    // Linux: the XDG entry of `autostart.rs`.
    #[cfg(not(target_os = "linux"))]
    let builder = builder.plugin(tauri_plugin_autostart::init(
        tauri_plugin_autostart::MacosLauncher::LaunchAgent,
        Some(vec!["--hidden"]),
    ));
    builder
        .invoke_handler(ipc.invoke_handler())
        .setup(move |app| {
            ipc.mount_events(app);
            let tray = tray::available()
                && tray::create(app.handle())
                    .map_err(|e| tracing::warn!("no tray icon: {e}"))
                    .is_ok();
            if let Some(window) = app.get_webview_window("main")
                && !(hidden && tray)
            {
                window.show()?;
            }
            gui::start(app.handle(), settings, tray);
            Ok(())
        })
        .on_window_event(|window, event| {
            if let tauri::WindowEvent::CloseRequested { api, .. } = event {
                gui::closing(window, api);
            }
        })
        .run(tauri::generate_context!())
        .expect("the desktop app could not start its window system");
}
