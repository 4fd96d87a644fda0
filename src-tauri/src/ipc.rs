//! The typed IPC: the commands and events the window uses, and the TypeScript bindings generated from them.

use crate::commands;
use crate::views::{HostUpdate, LogLines, ManagersView, PairingView};
use std::path::Path;

/// Where the generated bindings live, from the workspace root.
pub const BINDINGS: &str = "ui/src/bindings.ts";

/// Every command and event the window uses, for Tauri and for the bindings.
pub fn builder() -> tauri_specta::Builder<tauri::Wry> {
    tauri_specta::Builder::<tauri::Wry>::new()
        .commands(tauri_specta::collect_commands![
            commands::managers,
            commands::unlock,
            commands::pair_start,
            commands::pair_cancel,
            commands::pair_confirm,
            commands::rename_manager,
            commands::unpair_manager,
            commands::manager_health,
            commands::manager_eth,
            commands::manager_services,
            commands::manager_service_control,
            commands::manager_logs,
            commands::manager_log_tail,
            commands::manager_log_follow,
            commands::manager_log_unfollow,
            commands::manager_host_follow,
            commands::manager_host_unfollow,
        ])
        .events(tauri_specta::collect_events![
            ManagersView,
            PairingView,
            LogLines,
            HostUpdate
        ])
}

/// Writes the TypeScript bindings to `path`.
///
/// # Errors
///
/// When a type cannot be expressed in TypeScript or the file cannot be written.
pub fn export(path: &Path) -> Result<(), String> {
    builder()
        .export(
            specta_typescript::Typescript::default().header(
                "// Generated from src-tauri by `cargo test -p nodepair-app`; do not edit.\n",
            ),
            path,
        )
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bindings in the tree are the ones the Rust types give. When they
    /// are not, this rewrites them and fails, so the change shows in the
    /// diff and `npm run typecheck` checks the UI against it.
    #[test]
    fn the_typescript_bindings_are_up_to_date() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let committed = root.join(BINDINGS);
        let fresh = tempfile::NamedTempFile::new().unwrap();
        export(fresh.path()).unwrap();
        let fresh = std::fs::read_to_string(fresh.path()).unwrap();
        let before = std::fs::read_to_string(&committed).unwrap_or_default();
        if before != fresh {
            std::fs::write(&committed, &fresh).unwrap();
            panic!(
                "{BINDINGS} was out of date with the Rust types and has been regenerated: \
                 check the UI against it (npm run typecheck) and commit it"
            );
        }
    }
}
