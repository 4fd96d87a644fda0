//! NodePair's desktop app: the Tauri backend.
//!
//! A person uses the app to pair with node managers and then to watch and
//! operate their nodes. The backend is thin: it gives the TypeScript UI (in
//! `ui/`) what it asks for through Tauri's IPC, and hands pairing and
//! sessions to `nodepair-peer`. The same binary runs without a window
//! (`nodepair pair | managers | unpair`) for terminals and scripts. Data
//! flows one way: UI → this backend → peer → protocol ⇄ Waku.
//!
//! # Layout
//!
//! - [`settings`]: the settings file and the data directory.
//! - [`backend`]: starting the app's peer (keystore, identity, Waku node).
//! - [`headless`]: the command line without a window.
//! - [`gui`]: the backend started at launch, and what it tells the window.
//! - [`commands`]: what the window may ask.
//! - [`follows`]: the streams the window follows, asked for again after a reconnect.
//! - [`views`]: the types crossing the IPC.
//! - [`ipc`]: the typed IPC and its generated TypeScript bindings.
//! - [`notify`]: which changes become desktop notifications.

#![deny(missing_docs)]

pub mod app_error;
pub mod backend;
pub mod commands;
pub mod follows;
pub mod gui;
pub mod headless;
pub mod ipc;
pub mod notify;
pub mod settings;
pub mod views;

/// Starts the desktop app and runs it until its last window closes;
/// `settings` is `--config`, if given.
///
/// # Panics
///
/// When the window system cannot be reached (no display): Tauri offers no
/// way to go on without one.
pub fn run(settings: Option<std::path::PathBuf>) {
    let ipc = ipc::builder();
    tauri::Builder::default()
        .plugin(tauri_plugin_window_state::Builder::default().build())
        .plugin(tauri_plugin_notification::init())
        .invoke_handler(ipc.invoke_handler())
        .setup(move |app| {
            ipc.mount_events(app);
            gui::start(app.handle(), settings);
            Ok(())
        })
        .run(tauri::generate_context!())
        .expect("the desktop app could not start its window system");
}
