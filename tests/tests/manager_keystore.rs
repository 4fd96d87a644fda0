//! `nodepair-manager keystore` as an operator meets it: the backend chosen
//! and why, the vault fallback on a server without a keyring, passphrase
//! sources and their errors, and migration both ways against a real
//! Secret Service, without ever losing the identity.

use nodepair_tests::{Sandbox, binary, stderr, stdout};
use std::os::unix::fs::PermissionsExt;
use std::process::Output;

const PASSPHRASE: &str = "correct horse battery staple";

fn manager() -> std::path::PathBuf {
    binary("nodepair-manager")
}

fn run(sandbox: &Sandbox, args: &[&str], passphrase: Option<&str>) -> Output {
    let mut cmd = sandbox.command(&manager());
    cmd.args(args);
    if let Some(p) = passphrase {
        cmd.env("NODEPAIR_VAULT_PASSPHRASE", p);
    }
    cmd.output().expect("the manager can be started")
}

fn node_id(text: &str) -> String {
    let at = text.find("node id ").expect("a node id is shown") + 8;
    text[at..at + 32].to_owned()
}

#[test]
fn a_server_without_a_keyring_falls_back_to_the_vault_and_says_why() {
    let sandbox = Sandbox::new().unwrap();
    let out = run(&sandbox, &["keystore", "status"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("not set up yet"), "{text}");
    assert!(
        text.contains("first start will use: the encrypted vault"),
        "{text}"
    );
    assert!(text.contains("not available"), "{text}");

    let out = run(&sandbox, &["keystore", "init"], Some(PASSPHRASE));
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("the encrypted vault"), "{text}");
    assert!(text.contains("OS keyring cannot be used here"), "{text}");
    assert!(text.contains("created now"), "{text}");
    let id = node_id(&text);

    let vault = sandbox.path().join("state/nodepair-manager/vault");
    let mode = std::fs::metadata(&vault).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    let out = run(&sandbox, &["-vv", "keystore", "status"], Some(PASSPHRASE));
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains(&format!("node id {id}")), "{text}");
    assert!(text.contains("paired apps: 0"), "{text}");
    for shown in [stdout(&out), stderr(&out)] {
        assert!(!shown.contains(PASSPHRASE), "the passphrase was printed");
    }
}

#[test]
fn vault_passphrase_errors_are_specific_and_change_nothing() {
    let sandbox = Sandbox::new().unwrap();
    assert!(
        run(&sandbox, &["keystore", "init"], Some(PASSPHRASE))
            .status
            .success()
    );
    let vault = sandbox.path().join("state/nodepair-manager/vault");
    let before = std::fs::read(&vault).unwrap();

    let out = run(&sandbox, &["keystore", "status"], Some("wrong"));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("wrong passphrase"),
        "{}",
        stderr(&out)
    );

    // No source at all, and no terminal to ask on.
    let out = run(&sandbox, &["keystore", "status"], None);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("NODEPAIR_VAULT_PASSPHRASE") && err.contains("passphrase_file"),
        "{err}"
    );

    // A passphrase file others can read is refused.
    let file = sandbox.path().join("passphrase");
    std::fs::write(&file, format!("{PASSPHRASE}\n")).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let config = sandbox.path().join("manager.toml");
    std::fs::write(
        &config,
        format!("[keystore]\npassphrase_file = \"{}\"\n", file.display()),
    )
    .unwrap();
    let with_config = ["--config", config.to_str().unwrap(), "keystore", "status"];
    let out = run(&sandbox, &with_config, None);
    assert!(stderr(&out).contains("chmod 600"), "{}", stderr(&out));
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = run(&sandbox, &with_config, None);
    assert!(out.status.success(), "{}", stderr(&out));

    assert_eq!(
        std::fs::read(&vault).unwrap(),
        before,
        "the vault was not touched"
    );
}

#[test]
fn changing_the_passphrase_re_encrypts_and_keeps_the_identity() {
    let sandbox = Sandbox::new().unwrap();
    let out = run(&sandbox, &["keystore", "init"], Some(PASSPHRASE));
    let id = node_id(&stdout(&out));
    let new_file = sandbox.path().join("new-passphrase");
    std::fs::write(&new_file, "a brand new passphrase\n").unwrap();
    std::fs::set_permissions(&new_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = run(
        &sandbox,
        &[
            "keystore",
            "passphrase",
            "--new-passphrase-file",
            new_file.to_str().unwrap(),
        ],
        Some(PASSPHRASE),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(&sandbox, &["keystore", "status"], Some(PASSPHRASE));
    assert!(
        stderr(&out).contains("wrong passphrase"),
        "{}",
        stderr(&out)
    );
    let out = run(
        &sandbox,
        &["keystore", "status"],
        Some("a brand new passphrase"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains(&id));
}

#[test]
fn keyring_first_then_migration_to_the_vault_and_back_keeps_the_identity() {
    let sandbox = Sandbox::new().unwrap();
    let m = manager();
    let m = m.display();
    // One D-Bus session for the whole story, as on one desktop.
    let script = format!(
        "set -e; export NODEPAIR_VAULT_PASSPHRASE='{PASSPHRASE}'; \
         echo '== init'; '{m}' keystore init; \
         echo '== to vault'; '{m}' keystore migrate --to vault; \
         echo '== status vault'; '{m}' keystore status; \
         echo '== to keyring'; '{m}' keystore migrate --to keyring; \
         echo '== status keyring'; '{m}' keystore status; \
         echo '== again'; '{m}' keystore migrate --to keyring || echo 'refused: ok'"
    );
    let out = sandbox.run_in_keyring_session(&script);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}\n{}", stderr(&out));
    let section = |name: &str| {
        let start = text
            .find(&format!("== {name}\n"))
            .unwrap_or_else(|| panic!("{name}: {text}"));
        let rest = &text[start + name.len() + 4..];
        rest[..rest.find("\n==").unwrap_or(rest.len())].to_owned()
    };
    let init = section("init");
    assert!(
        init.contains("the OS keyring (service nodepair-manager)"),
        "{init}"
    );
    assert!(init.contains("the OS keyring answers"), "{init}");
    let id = node_id(&init);

    let moved = section("to vault");
    assert!(
        moved.contains("moved 1 entries (1 copied, 0 already there)"),
        "{moved}"
    );
    assert!(moved.contains("removed 1 from the old place"), "{moved}");
    let status = section("status vault");
    assert!(status.contains("keystore: the encrypted vault"), "{status}");
    assert!(status.contains(&format!("node id {id}")), "{status}");

    let status = section("status keyring");
    assert!(status.contains("keystore: the OS keyring"), "{status}");
    assert!(status.contains(&format!("node id {id}")), "{status}");
    assert!(
        stderr(&out).contains("the keys are already in the OS keyring"),
        "{}",
        stderr(&out)
    );
    assert!(section("again").contains("refused: ok"));
}
