//! The man pages and shell completions of NodePair's programs, generated
//! from their clap definitions and kept in `packaging/` so the packages ship
//! them as files. Each program's crate has a test that calls [`check`]: it
//! rewrites whatever is out of date and fails, so a changed option cannot
//! land with stale pages, and the next run passes with the new files.

use clap::Command;
use clap_complete::Shell;
use std::path::{Path, PathBuf};

/// Where a shell's completion for a program goes, under `packaging/`.
type CompletionPath = fn(&str) -> String;

/// Shells a completion is written for, each with its file's path.
const SHELLS: [(Shell, CompletionPath); 3] = [
    (Shell::Bash, |p| format!("completions/{p}.bash")),
    (Shell::Zsh, |p| format!("completions/_{p}")),
    (Shell::Fish, |p| format!("completions/{p}.fish")),
];

/// Every file for `cmd`, by path under `packaging/`: a man page for the
/// program and one for each subcommand (`man nodepair-manager-pair`), and a
/// completion script per shell.
pub fn files(cmd: Command) -> Vec<(PathBuf, Vec<u8>)> {
    let mut cmd = cmd;
    cmd.build();
    let name = cmd.get_name().to_owned();
    let mut out = Vec::new();
    man_pages(&cmd, &name, &mut out);
    for (shell, path) in SHELLS {
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut cmd.clone(), &name, &mut script);
        out.push((PathBuf::from(path(&name)), script));
    }
    out
}

/// `cmd`'s page as `page`, then its subcommands' as `page-sub`.
fn man_pages(cmd: &Command, page: &str, out: &mut Vec<(PathBuf, Vec<u8>)>) {
    let mut text = Vec::new();
    // Rendering into a Vec cannot fail.
    let _ = clap_mangen::Man::new(cmd.clone().name(page.to_owned())).render(&mut text);
    out.push((PathBuf::from(format!("man/{page}.1")), text));
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        if sub.get_name() == "help" {
            continue;
        }
        man_pages(sub, &format!("{page}-{}", sub.get_name()), out);
    }
}

/// Compares `cmd`'s files with those under `dir`, writes the ones that
/// differ or are missing, and names them in the error.
///
/// # Errors
///
/// A sentence naming the stale files (now rewritten), or saying why one
/// could not be written.
pub fn check(cmd: Command, dir: &Path) -> Result<(), String> {
    let mut stale = Vec::new();
    for (path, bytes) in files(cmd) {
        let full = dir.join(&path);
        if std::fs::read(&full).ok().as_deref() == Some(&bytes[..]) {
            continue;
        }
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot make {}: {e}", parent.display()))?;
        }
        std::fs::write(&full, &bytes)
            .map_err(|e| format!("cannot write {}: {e}", full.display()))?;
        stale.push(path.display().to_string());
    }
    if stale.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "out of date, now rewritten (commit them): {}",
            stale.join(", ")
        ))
    }
}

/// [`check`] of `cmd` against the `packaging/` folder beside the crate at
/// `manifest_dir`, for a program's test: panics naming the stale files.
///
/// # Panics
///
/// When a file was out of date (it is rewritten: commit it) or cannot be
/// written.
pub fn assert_current(cmd: Command, manifest_dir: &str) {
    let packaging = Path::new(manifest_dir).join("../packaging");
    if let Err(stale) = check(cmd, &packaging) {
        panic!("{stale}");
    }
}
