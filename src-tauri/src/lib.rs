//! NodePair's desktop app: the Tauri backend.
//!
//! A person uses the app to pair with node managers and then to watch and
//! operate their nodes. The backend is thin: it gives the TypeScript UI (in
//! `ui/`) what it asks for through Tauri's IPC, and will hand pairing and
//! sessions to `nodepair-peer`. Data flows one way: UI → this backend → peer
//! → protocol ⇄ Waku.

#![deny(missing_docs)]

/// Builds the app on any Tauri runtime, so tests can run it on the mock one.
pub fn app_builder<R: tauri::Runtime>() -> tauri::Builder<R> {
    tauri::Builder::<R>::new()
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
