//! The typed IPC: the commands and events the window uses, and the TypeScript bindings generated from them.

use crate::views::{ComputerView, ManagerEvent, ManagersView, PairingView, TrayAction};
use crate::{commands, computer_commands, settings_commands};
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
            commands::ask_manager,
            settings_commands::app_settings,
            settings_commands::set_keep_in_tray,
            settings_commands::set_start_at_login,
            settings_commands::set_network,
            settings_commands::network_status,
            settings_commands::key_status,
            settings_commands::rotate_key,
            computer_commands::join_start,
            computer_commands::add_computer_start,
            computer_commands::computer_confirm,
            computer_commands::computer_cancel,
            computer_commands::cut_off_computer,
        ])
        .events(tauri_specta::collect_events![
            ManagersView,
            PairingView,
            ComputerView,
            ManagerEvent,
            TrayAction
        ])
        // What each manager method and stream carries, for `ask_manager`
        // and `ManagerEvent` (ui/src/api.ts types both from these).
        .typ::<nodepair_protocol::api::ManagerMethods>()
        .typ::<nodepair_protocol::api::ManagerStreams>()
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

    /// Each method a manager may answer is typed in the window's map (the
    /// map's keys are written by hand beside each method's type).
    #[test]
    fn every_manager_method_is_in_the_typescript_map() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let bindings = std::fs::read_to_string(root.join(BINDINGS)).unwrap();
        for method in nodepair_protocol::api::methods() {
            let entry = format!("\"{}\": Call<", method.name);
            assert!(
                bindings.contains(&entry),
                "{} is not in ManagerMethods",
                method.name
            );
        }
        let entries = bindings.matches(": Call<").count();
        assert_eq!(
            entries,
            2 * nodepair_protocol::api::methods().count(),
            "one entry per method and phase"
        );
    }
}
