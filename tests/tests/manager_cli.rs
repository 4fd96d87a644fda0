//! The `nodepair-manager` binary as an operator meets it: version, help and
//! configuration, including the errors a mistyped configuration gets.

use nodepair_tests::{Sandbox, binary, stderr, stdout};
use std::fs;

fn manager() -> std::path::PathBuf {
    binary("nodepair-manager")
}

#[test]
fn version_names_the_program_and_version() {
    let sandbox = Sandbox::new().unwrap();
    let out = sandbox
        .command(&manager())
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        stdout(&out).trim(),
        format!("nodepair-manager {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn without_a_file_the_defaults_are_shown_with_where_we_looked() {
    let sandbox = Sandbox::new().unwrap();
    let out = sandbox.command(&manager()).arg("config").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("# built-in defaults"), "{text}");
    let xdg = sandbox.path().join("config/nodepair/manager.toml");
    assert!(text.contains(&xdg.display().to_string()), "{text}");
    assert!(text.contains("/etc/nodepair/manager.toml"), "{text}");
    assert!(text.contains("backend = \"auto\""), "{text}");
}

#[test]
fn the_xdg_file_is_found_and_used() {
    let sandbox = Sandbox::new().unwrap();
    let dir = sandbox.path().join("config/nodepair");
    fs::create_dir_all(&dir).unwrap();
    fs::write(
        dir.join("manager.toml"),
        "display_name = \"validator-7\"\n[network]\npreset = \"local\"\ncluster = 42\n",
    )
    .unwrap();
    let out = sandbox.command(&manager()).arg("config").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("display_name = \"validator-7\""), "{text}");
    assert!(text.contains("cluster = 42"), "{text}");
}

#[test]
fn a_mistyped_key_is_named_with_its_line_and_exits_78() {
    let sandbox = Sandbox::new().unwrap();
    let file = sandbox.path().join("manager.toml");
    fs::write(
        &file,
        "display_name = \"a\"\n\n[keystore]\nbakend = \"vault\"\n",
    )
    .unwrap();
    let out = sandbox
        .command(&manager())
        .arg("config")
        .arg("--config")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains(&file.display().to_string()), "{err}");
    assert!(err.contains("line 4"), "{err}");
    assert!(err.contains("bakend"), "{err}");
    assert!(stdout(&out).is_empty(), "nothing is printed as if valid");
}

#[test]
fn a_missing_explicit_file_is_an_error_not_the_defaults() {
    let sandbox = Sandbox::new().unwrap();
    let file = sandbox.path().join("nope.toml");
    let out = sandbox
        .command(&manager())
        .args(["config", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    let err = stderr(&out);
    assert!(err.contains("cannot read the configuration file"), "{err}");
    assert!(err.contains("nope.toml"), "{err}");
}

/// `systemd-analyze verify` on the unit at `path`: valid, and no remarks.
fn verify_unit(path: &std::path::Path) {
    let out = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .arg(path)
        .output()
        .expect("systemd-analyze runs (apt install systemd)");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out).trim(), "", "systemd-analyze has remarks");
}

#[test]
fn the_systemd_unit_is_valid_for_systemd() {
    let sandbox = Sandbox::new().unwrap();
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let unit = fs::read_to_string(repo.join("packaging/nodepair-manager.service")).unwrap();
    assert!(
        unit.contains("StateDirectory=")
            && unit.contains("LoadCredentialEncrypted=vault-passphrase:")
    );
    assert!(unit.contains("ProtectSystem=strict") && unit.contains("NoNewPrivileges=yes"));
    let manager = manager();
    let local = unit.replace("/usr/bin/nodepair-manager", manager.to_str().unwrap());
    let path = sandbox.path().join("nodepair-manager.service");
    fs::write(&path, local).unwrap();
    verify_unit(&path);
}

#[test]
fn the_relay_unit_and_the_example_configuration_are_valid() {
    let sandbox = Sandbox::new().unwrap();
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    // The relay's unit, hardened as the manager's.
    let unit = fs::read_to_string(repo.join("packaging/nodepair-relay.service")).unwrap();
    for hardening in [
        "DynamicUser=yes",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "StateDirectory=nodepair-relay",
    ] {
        assert!(unit.contains(hardening), "no {hardening}");
    }
    let relay = nodepair_tests::binary("nodepair-relay");
    let path = sandbox.path().join("nodepair-relay.service");
    fs::write(
        &path,
        unit.replace("/usr/bin/nodepair-relay", relay.to_str().unwrap()),
    )
    .unwrap();
    verify_unit(&path);
    // The conffile the package installs is taken as it is.
    let example = repo.join("packaging/manager.toml");
    let out = sandbox
        .command(&manager())
        .args(["--config", example.to_str().unwrap(), "config"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let shown = stdout(&out);
    assert!(
        shown.contains("/var/lib/nodepair") && shown.contains("vault"),
        "{shown}"
    );
}
