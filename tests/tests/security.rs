//! Secrets stay where they belong, checked from outside on the real
//! binaries: a pairing run with every log at trace level leaves no key, code
//! or passphrase in any log or file but the keystores; the manager writes no
//! core dumps; its control socket is closed to other users.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use nodepair_keystore::Identity;
use nodepair_keystore::vault::Vault;
use nodepair_protocol::{PairingCode, PairingKeys};
use nodepair_tests::net::{AppHome, ManagerHome, Relay};
use nodepair_tests::{Sandbox, binary, stderr};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

const LONG: Duration = Duration::from_secs(300);
/// The passphrases `nodepair_tests::net` gives the manager and the app.
const PASSPHRASE: &str = "local test passphrase";
const APP_PASSPHRASE: &str = "local app passphrase";

/// A process whose stderr goes to `log`.
fn logged(mut cmd: std::process::Command, log: &Path) -> std::process::Command {
    cmd.env("RUST_LOG", "trace")
        .stderr(std::fs::File::create(log).unwrap());
    cmd
}

/// Every form a secret could take in text or bytes.
fn forms(name: &str, bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
    let b64url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    vec![
        (format!("{name} (bytes)"), bytes.to_vec()),
        (format!("{name} (hex)"), hex::encode(bytes).into_bytes()),
        (
            format!("{name} (HEX)"),
            hex::encode_upper(bytes).into_bytes(),
        ),
        (
            format!("{name} (base64)"),
            b64.trim_end_matches('=').as_bytes().to_vec(),
        ),
        (format!("{name} (base64url)"), b64url.into_bytes()),
        (format!("{name} (Debug)"), format!("{bytes:?}").into_bytes()),
    ]
}

fn identity_in(vault: &Path, passphrase: &str) -> Identity {
    let vault = Vault::open(vault, passphrase.as_bytes()).unwrap();
    Identity::load(&vault).unwrap().expect("an identity")
}

/// Every file under `dir`, but those `keep` names.
fn files(dir: &Path, keep: &[PathBuf], out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if keep.contains(&path) {
            continue;
        }
        let kind = std::fs::symlink_metadata(&path).unwrap().file_type();
        if kind.is_dir() {
            files(&path, keep, out);
        } else if kind.is_file() {
            out.push(path);
        }
    }
}

fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    for _ in 0..600 {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the process did not end within 60 s");
}

#[test]
fn a_pairing_at_trace_level_leaves_no_secret_in_logs_or_files() {
    let sandbox = Sandbox::new().unwrap();
    let logs = sandbox.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let relay = Relay::start(&sandbox, &[]);
    let manager = ManagerHome::new(sandbox.path(), "validator-1", &[&relay.addr], LONG);
    let app = AppHome::new(sandbox.path(), "laptop", &[&relay.addr]);

    // The daemon, at trace level.
    let mut daemon = logged(
        manager.command(&sandbox, &["run", "--json"]),
        &logs.join("manager-run.log"),
    )
    .stdout(Stdio::piped())
    .spawn()
    .unwrap();
    let mut ready = String::new();
    BufReader::new(daemon.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    assert!(ready.contains("\"ready\""), "the daemon started: {ready}");

    // The app offers a code, at trace level.
    let mut offer = logged(
        app.command(&sandbox, &["pair", "--yes", "--json"]),
        &logs.join("app-pair.log"),
    )
    .stdout(Stdio::piped())
    .spawn()
    .unwrap();
    let mut lines = BufReader::new(offer.stdout.take().unwrap()).lines();
    let first: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    let code = first["code"].as_str().unwrap().to_owned();

    // The operator types it at the prompt: never on the command line.
    let mut typed = logged(
        manager.command(&sandbox, &["pair"]),
        &logs.join("manager-pair.log"),
    )
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .spawn()
    .unwrap();
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", typed.id())).unwrap_or_default();
    // The code, then the answer to "does the app show …?".
    writeln!(typed.stdin.take().unwrap(), "{code}\nyes").unwrap();
    assert!(wait_exit(&mut typed).success(), "the manager paired");
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    assert!(wait_exit(&mut offer).success(), "the app paired: {rest:?}");
    assert!(rest.iter().any(|l| l.contains("\"paired\"")), "{rest:?}");
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status();
    assert!(wait_exit(&mut daemon).success());

    // The secrets of this run.
    let parsed = PairingCode::parse(&code).unwrap();
    let keys = PairingKeys::derive(&parsed);
    let manager_vault = manager.state.join("vault");
    let app_vault = app.data.join("vault");
    let manager_id = identity_in(&manager_vault, PASSPHRASE);
    let app_id = identity_in(&app_vault, APP_PASSPHRASE);
    let mut secrets: Vec<(String, Vec<u8>)> = vec![
        ("the code".into(), code.clone().into_bytes()),
        (
            "the code, ungrouped".into(),
            code.replace('-', "").into_bytes(),
        ),
        (
            "the code in decimal".into(),
            parsed.to_decimal_string().into_bytes(),
        ),
        (
            "the vault passphrase".into(),
            PASSPHRASE.as_bytes().to_vec(),
        ),
    ];
    secrets.extend(forms("the code's value", &parsed.to_be_bytes()));
    secrets.extend(forms("HS", keys.handshake_key.as_ref()));
    secrets.extend(forms(
        "the manager's static secret",
        manager_id.static_secret.as_ref(),
    ));
    secrets.extend(forms(
        "the manager's node key",
        manager_id.node_key.as_ref(),
    ));
    secrets.extend(forms(
        "the app's static secret",
        app_id.static_secret.as_ref(),
    ));
    secrets.extend(forms("the app's node key", app_id.node_key.as_ref()));

    // Everything written, but the keystores and the passphrase files the
    // test itself wrote.
    let keep = vec![
        manager_vault,
        app_vault,
        manager.config.parent().unwrap().join("passphrase"),
        app.config.parent().unwrap().join("passphrase"),
    ];
    let mut written = Vec::new();
    files(sandbox.path(), &keep, &mut written);
    let trace_lines: usize = ["manager-run.log", "app-pair.log", "manager-pair.log"]
        .iter()
        .map(|f| {
            std::fs::read_to_string(logs.join(f))
                .unwrap()
                .lines()
                .count()
        })
        .sum();
    assert!(
        trace_lines > 200,
        "trace logging was on ({trace_lines} lines): the search means something"
    );
    for path in &written {
        let Ok(content) = std::fs::read(path) else {
            continue; // sockets, files gone meanwhile
        };
        for (name, needle) in &secrets {
            assert!(
                !content
                    .windows(needle.len())
                    .any(|w| w == needle.as_slice()),
                "{name} is in {}",
                path.display()
            );
        }
    }
    assert!(
        !String::from_utf8_lossy(&cmdline).contains(&code),
        "the code was never an argument"
    );
    assert!(
        written.len() >= 5,
        "logs and settings were searched: {written:?}"
    );
}

#[test]
fn the_manager_daemon_writes_no_core_dumps() {
    let sandbox = Sandbox::new().unwrap();
    let relay = Relay::start(&sandbox, &[]);
    let manager = ManagerHome::new(sandbox.path(), "validator-1", &[&relay.addr], LONG);
    let daemon = manager.run(&sandbox);
    let pid = daemon.pid();
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap();
    let fields: Vec<&str> = core.split_whitespace().collect();
    assert_eq!(
        &fields[4..6],
        ["0", "0"],
        "soft and hard core limits are zero: {core}"
    );
    assert!(daemon.terminate().success());
}

#[test]
fn the_control_socket_is_closed_to_other_users() {
    let sandbox = Sandbox::new().unwrap();
    let relay = Relay::start(&sandbox, &[]);
    let manager = ManagerHome::new(sandbox.path(), "validator-1", &[&relay.addr], LONG);
    let daemon = manager.run(&sandbox);
    let socket = manager.state.join("control.sock");
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let meta = std::fs::metadata(&socket).unwrap();
    assert_eq!(
        meta.permissions().mode() & 0o777,
        0o660,
        "owner and group only"
    );
    assert_eq!(meta.uid(), std::fs::metadata(sandbox.path()).unwrap().uid());

    // Connecting as another user needs root to become one, and setpriv.
    let root = std::fs::metadata("/proc/self").unwrap().uid() == 0;
    let setpriv = std::process::Command::new("setpriv")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !root || !setpriv {
        eprintln!(
            "skipped connecting as another user: needs root and setpriv (root: {root}, setpriv: {setpriv}); the mode check above still ran"
        );
        assert!(daemon.terminate().success());
        return;
    }
    // Let `nobody` walk to the socket and read the settings, so that only
    // the socket's own mode stands in its way.
    let mut dir = socket.parent().unwrap().to_path_buf();
    while dir.starts_with(sandbox.path()) {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        dir.pop();
    }
    std::fs::set_permissions(&manager.config, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(binary("nodepair-manager"))
        .arg("--config")
        .arg(&manager.config)
        .args(["peers", "--json"])
        .env("HOME", sandbox.path())
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(!out.status.success(), "another user got an answer");
    let err = stderr(&out);
    assert!(
        err.contains("control socket") && err.contains("ermission denied"),
        "{err}"
    );
    assert!(daemon.terminate().success());
}
