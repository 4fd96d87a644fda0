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
        "manager_health",
        "manager_eth",
        "manager_services",
        "manager_service_control",
        "manager_logs",
        "manager_log_tail",
        "manager_log_follow",
        "manager_log_unfollow",
        "manager_host_follow",
        "manager_host_unfollow",
    ]);
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest))
        .expect("Tauri's build step failed");
}
