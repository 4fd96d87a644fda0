//! The terminal and the running app: with the window open, `nodepair pair |
//! managers | status | ask | unpair` go through the app's control socket (one
//! process holds the keys and the sessions); with it closed, each runs on its
//! own. Bad input gets its own exit code, and a socket another user owns is
//! never talked to.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use nodepair_tests::net::{AppHome, ManagerHome, Relay};
use nodepair_tests::window::Window;
use nodepair_tests::{Sandbox, json_of, stderr, stdout};
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

const SOON: Duration = Duration::from_secs(30);
const ONLINE: &str = "[data-testid=manager][data-state=online]";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_terminal_goes_through_the_running_app_and_stands_alone_without_it() {
    let sandbox = Sandbox::new().unwrap();
    let relay = Relay::start(&sandbox, &[]);
    let manager = ManagerHome::new(
        sandbox.path(),
        "validator-1",
        &[&relay.addr],
        Duration::from_secs(120),
    );
    let daemon = manager.run(&sandbox);
    let app = AppHome::new(sandbox.path(), "laptop", &[&relay.addr]);
    let window = Window::open(&sandbox, &app.config).await;
    window.find("[data-testid=no-managers]", SOON).await;

    // `nodepair pair` while the window runs: the window's app offers the
    // code (no second app is started: its data directory is locked), and
    // the window shows the manager once paired.
    let mut pairing = app
        .command(&sandbox, &["pair", "--yes", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(pairing.stdout.take().unwrap());
    let mut line = String::new();
    lines.read_line(&mut line).unwrap();
    let code: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| {
        panic!(
            "{e}: {line:?}, {}",
            std::io::read_to_string(pairing.stderr.take().unwrap()).unwrap()
        )
    });
    assert_eq!(code["type"], "code", "{line}");
    let code = code["code"].as_str().unwrap().to_owned();
    let out = manager.cli(&sandbox, &["pair", "--yes", &code]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rest = std::io::read_to_string(lines).unwrap();
    let status = pairing.wait().unwrap();
    assert!(status.success(), "{rest}");
    assert!(rest.contains("\"type\":\"paired\""), "{rest}");
    window.find(ONLINE, SOON).await;

    // Live answers, not the keystore's: the manager is online.
    let listed = json_of(&app.cli(&sandbox, &["managers", "--json"]));
    assert_eq!(listed["managers"][0]["name"], "validator-1");
    assert_eq!(listed["managers"][0]["state"], "online", "{listed}");
    let status = json_of(&app.cli(&sandbox, &["status", "--json"]))["status"].clone();
    assert_eq!(status["running"], true, "{status}");
    assert_eq!(status["network"]["settings"]["preset"], "local");
    assert_eq!(status["network"]["settings"]["mode"], "light");
    assert!(
        status["network"]["service_nodes"].as_u64().unwrap() >= 1,
        "{status}"
    );
    assert_eq!(status["network"]["reachable"], true, "{status}");
    let health = json_of(&app.cli(&sandbox, &["ask", "validator-1", "host.health"]));
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(health["hostname"], hostname.trim(), "{health}");

    // Bad input, each with its own code and sentence.
    let refused = |args: &[&str], code: i32, says: &str| {
        let out = app.cli(&sandbox, args);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
        assert!(stdout(&out).is_empty(), "{args:?}: {}", stdout(&out));
    };
    refused(&["ask", "validator-9", "host.health"], 67, "validator-9");
    refused(
        &["ask", "validator-1", "eth.status"],
        77,
        "\"ethereum\" capability",
    );
    refused(&["ask", "validator-1", "eth.status"], 77, "status 423");
    refused(&["ask", "validator-1", "host.reboot"], 64, "host.health");
    refused(
        &["ask", "validator-1", "host.health", "{not json"],
        65,
        "not valid JSON",
    );

    // Another user is hung up on even with the socket's mode opened to
    // everyone: the app checks who connects, not only the mode.
    if another_user_is_hung_up_on(&sandbox, &app.data.join("control.sock")) {
        // ... and the app's log says so, for whoever looks after the machine.
        let logged = [window.log().to_owned(), window.log().with_extension("err")]
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap_or_default())
            .collect::<String>();
        assert!(
            logged.contains("refused a control connection from another user")
                && logged.contains("uid=65534"),
            "the window's log: {logged}"
        );
    }

    // Closed, the window's app is gone and the commands stand alone: the
    // same keys, the managers as stored, the settings' network.
    window.close().await;
    let listed = json_of(&app.cli(&sandbox, &["managers", "--json"]));
    assert_eq!(
        listed["managers"][0]["state"], "offline",
        "at rest: {listed}"
    );
    let status = json_of(&app.cli(&sandbox, &["status", "--json"]))["status"].clone();
    assert_eq!(status["running"], false, "{status}");
    assert_eq!(status["network"]["settings"]["preset"], "local");
    assert_eq!(status["managers"].as_array().unwrap().len(), 1);
    let health = json_of(&app.cli(&sandbox, &["ask", "validator-1", "host.health"]));
    assert_eq!(health["hostname"], hostname.trim(), "standalone: {health}");

    // A control socket someone else owns is never talked to, and the
    // command does not go on as if no app ran.
    let socket = app.data.join("control.sock");
    // (The window's app was killed, so its own socket is still there;
    // the commands above found nobody listening on it and stood alone.)
    let _ = std::fs::remove_file(&socket);
    let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    std::os::unix::fs::chown(&socket, Some(65534), Some(65534)).unwrap();
    let out = app.cli(&sandbox, &["managers", "--json"]);
    assert_ne!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("belongs to user id 65534"),
        "{}",
        stderr(&out)
    );
    listener.set_nonblocking(true).unwrap();
    assert!(listener.accept().is_err(), "the command connected to it");
    drop(listener);
    std::fs::remove_file(&socket).unwrap();

    let out = app.cli(&sandbox, &["unpair", "validator-1", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    daemon.kill();
}

/// A window waiting for the vault's passphrase already holds its data
/// directory and answers on its socket: a command that could open the vault
/// itself (the passphrase in its environment) is told to unlock the window
/// instead of running on its own, and so never holds the lock the window's
/// unlock then needs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_waiting_for_its_passphrase_keeps_its_data_directory() {
    let sandbox = Sandbox::new().unwrap();
    let app = AppHome::new(sandbox.path(), "laptop", &[]);
    // No passphrase file: the window asks for one.
    let text: String = std::fs::read_to_string(&app.config)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("passphrase_file"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&app.config, text).unwrap();
    let window = Window::open(&sandbox, &app.config).await;
    window.find("[data-testid=unlock-form]", SOON).await;

    let out = app
        .command(&sandbox, &["status", "--json"])
        .env("NODEPAIR_VAULT_PASSPHRASE", "a passphrase from elsewhere")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(75),
        "ran on its own: {}",
        stdout(&out)
    );
    let error: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(error["type"], "error", "{error}");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("enter the vault passphrase in its window")),
        "{error}"
    );
    assert!(
        !app.data.join("vault").exists(),
        "the command made a vault the window then cannot open"
    );

    // The window's unlock works, and the commands then go through it.
    let passphrase = "the window's own passphrase";
    for field in ["passphrase", "passphrase-again"] {
        let input = window.find(&format!("[data-testid={field}]"), SOON).await;
        input.send_keys(passphrase).await.unwrap();
    }
    window.click("[data-testid=unlock-submit]").await;
    window.find("[data-testid=no-managers]", SOON).await;
    let status = json_of(&app.cli(&sandbox, &["status", "--json"]))["status"].clone();
    assert_eq!(status["running"], true, "{status}");
    window.close().await;
}

/// Connects to the app's `socket` as `nobody` (uid 65534) with the socket
/// and the directories to it opened up, asks for the managers, and expects
/// the app to hang up without a word. Needs root and `setpriv`; without
/// them it says so, only checks the mode and returns false.
fn another_user_is_hung_up_on(sandbox: &Sandbox, socket: &std::path::Path) -> bool {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let mode = std::fs::metadata(socket).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the control socket is its owner's only");
    let root = std::fs::metadata("/proc/self").unwrap().uid() == 0;
    let tools = ["setpriv", "/usr/bin/python3"].iter().all(|t| {
        std::process::Command::new(t)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if !root || !tools {
        eprintln!(
            "skipped connecting as another user: needs root, setpriv and /usr/bin/python3 (root: {root}, tools: {tools})"
        );
        return false;
    }
    let mut dir = socket.parent().unwrap().to_path_buf();
    while dir.starts_with(sandbox.path()) {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        dir.pop();
    }
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    // A hang-up reads as end of stream or as a reset (our request unread).
    let script = "import socket,sys\ns=socket.socket(socket.AF_UNIX)\ns.connect(sys.argv[1])\ns.settimeout(10)\ntry:\n  s.sendall(b'{\"cmd\":\"managers\"}\\n')\n  print(repr(s.recv(65536)))\nexcept (ConnectionResetError, BrokenPipeError):\n  print(repr(b''))";
    let out = std::process::Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--",
            "/usr/bin/python3",
            "-c",
            script,
        ])
        .arg(socket)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        "b''",
        "another user got an answer: {}",
        stdout(&out)
    );
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600)).unwrap();
    true
}
