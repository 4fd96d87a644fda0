//! The programs the manager runs (`systemctl`, `journalctl`): started the one way that keeps secrets out of them.

use std::path::Path;

/// A command for `program` that inherits no vault passphrase (it was taken
/// out of the environment at start-up; this makes sure), reads nothing from
/// standard input, and is killed if its answer is no longer awaited.
pub(crate) fn command(program: &Path) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(program);
    command
        .env_remove(nodepair_keystore::passphrase::ENV_VAR)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    command
}
