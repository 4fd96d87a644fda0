//! Generates Tauri's context (configuration, capabilities, icons) at build
//! time, and the permissions of the app's own commands, so the capability
//! file can grant the window exactly the commands it uses.

fn main() {
    let manifest = tauri_build::AppManifest::new().commands(&[
        "managers",
        "unlock",
        "pair_start",
        "pair_cancel",
        "pair_confirm",
        "rename_manager",
        "unpair_manager",
        "ask_manager",
        "app_settings",
        "set_keep_in_tray",
        "set_start_at_login",
        "set_network",
        "network_status",
        "key_status",
        "rotate_key",
        "join_start",
        "add_computer_start",
        "computer_confirm",
        "computer_cancel",
        "cut_off_computer",
    ]);
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest))
        .expect("Tauri's build step failed");
}
