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
//! - [`gui`]: what the window may ask, and the backend started at launch.

#![deny(missing_docs)]

pub mod backend;
pub mod gui;
pub mod headless;
pub mod settings;

/// Builds the app on any Tauri runtime, so tests can run it on the mock one.
pub fn app_builder<R: tauri::Runtime>() -> tauri::Builder<R> {
    tauri::Builder::<R>::new()
        .invoke_handler(tauri::generate_handler![
            gui::managers,
            gui::pair_start,
            gui::pair_cancel
        ])
        .setup(|app| {
            gui::start(app.handle());
            Ok(())
        })
}

/// Starts the desktop app and runs it until its last window closes.
///
/// # Panics
///
/// When the window system cannot be reached (no display): Tauri offers no
/// way to go on without one.
pub fn run() {
    app_builder::<tauri::Wry>()
        .run(tauri::generate_context!())
        .expect("the desktop app could not start its window system");
}
