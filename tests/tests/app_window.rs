//! The desktop app's real window against a real manager over local relays,
//! driven as a person would through WebDriver (tauri-driver + WebKitWebDriver
//! on Xvfb): pair by reading the code off the screen, see the manager online,
//! see it go offline and come back when it restarts, see its host's health,
//! rename it, re-open the app and find it online without any input, unpair.

use nodepair_tests::Sandbox;
use nodepair_tests::net::{CLUSTER, ManagerHome, Relay};
use nodepair_tests::window::Window;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Settings for the app: its own data dir, the relay, the OS keyring (the
/// window's D-Bus session runs an unlocked gnome-keyring).
fn app_settings(dir: &Path, relay: &Relay) -> PathBuf {
    let data = dir.join("app-data");
    let text = format!(
        "display_name = \"laptop\"\ndata_dir = \"{}\"\n\n[network]\npreset = \"local\"\nbootstrap = [\"{}\"]\ncluster = {CLUSTER}\nshard = 0\n\n[keystore]\nbackend = \"auto\"\n",
        data.display(),
        relay.addr
    );
    let path = dir.join("app.toml");
    std::fs::write(&path, text).expect("settings file");
    path
}

const SOON: Duration = Duration::from_secs(30);
const ONLINE: &str = "[data-testid=manager][data-state=online]";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pair_watch_restart_rename_and_unpair_through_the_window() {
    let sandbox = Sandbox::new().unwrap();
    let relay = Relay::start(&sandbox, &[]);
    let manager = ManagerHome::new(
        sandbox.path(),
        "validator-1",
        &[&relay.addr],
        Duration::from_secs(120),
    );
    let mut daemon = manager.run(&sandbox);
    let settings = app_settings(sandbox.path(), &relay);
    let window = Window::open(&sandbox, &settings).await;

    // Nothing paired yet; the button works once the backend runs.
    window.find("[data-testid=no-managers]", SOON).await;
    window
        .click("[data-testid=pair-button]:not([disabled])")
        .await;
    let command = window.text("[data-testid=pairing-oneline]").await;
    let code = command
        .strip_prefix("nodepair-manager pair ")
        .unwrap_or_else(|| panic!("the window shows the command to type, not {command:?}"))
        .to_owned();

    // The operator types it on the server; both screens show the
    // verification string, the two people compare and both say it matches.
    let mut cli = manager
        .command(&sandbox, &["pair", &code])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut answer = cli.stdin.take().unwrap();
    let mut out = std::io::BufReader::new(cli.stdout.take().unwrap());
    let on_server = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        loop {
            line.clear();
            assert!(
                std::io::BufRead::read_line(&mut out, &mut line).unwrap() > 0,
                "pair ended before showing a verification string"
            );
            if let Some(v) = line.strip_prefix("verification: ") {
                return (v.split("  ").next().unwrap().trim().to_owned(), out);
            }
        }
    })
    .await
    .unwrap();
    let (on_server, mut out) = on_server;
    window.find("[data-testid=compare]", SOON).await;
    let shown = window.text("[data-testid=verification]").await;
    assert_eq!(
        shown.trim(),
        on_server,
        "both sides show the same verification"
    );
    std::io::Write::write_all(&mut answer, b"yes\n").unwrap();
    window.click("[data-testid=confirm-match]").await;
    let paired = tokio::task::spawn_blocking(move || {
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut out, &mut rest);
        (cli.wait_with_output().unwrap(), rest)
    })
    .await
    .unwrap();
    assert!(
        paired.0.status.success(),
        "pair failed: {} {}",
        paired.1,
        String::from_utf8_lossy(&paired.0.stderr)
    );
    window.find(".pairing-card .progress.paired", SOON).await;
    window.click(".pairing-card .actions button").await;
    window.find(ONLINE, SOON).await;
    assert_eq!(
        window.text("[data-testid=open-manager]").await,
        "validator-1"
    );

    // The manager restarts: offline (it said goodbye), then online again.
    assert!(daemon.terminate().success());
    window
        .find("[data-testid=manager][data-state=offline]", SOON)
        .await;
    daemon = manager.run(&sandbox);
    window.find(ONLINE, Duration::from_secs(60)).await;

    // Its view shows what its host reported.
    window.click("[data-testid=open-manager]").await;
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    window.find("[data-testid=hostname]", SOON).await;
    assert_eq!(window.text("[data-testid=hostname]").await, hostname.trim());
    let cpu = window.text("[data-testid=cpu-now]").await;
    assert!(cpu.ends_with('%') || cpu == "–", "CPU reads {cpu:?}");
    assert!(window.has("[data-testid=disk]").await);

    // Renamed here, and only here.
    window.click("[data-testid=rename-button]").await;
    let input = window.find("[data-testid=rename-input]", SOON).await;
    input.send_keys("cellar box").await.unwrap();
    window.click("[data-testid=rename-save]").await;
    window.find("[data-testid=manager-name]", SOON).await;
    eventually_text(&window, "[data-testid=manager-name]", "cellar box").await;

    // The app restarts: it opens on the same view, and the manager comes
    // online with no input.
    window.close().await;
    let window = Window::open(&sandbox, &settings).await;
    eventually_text(&window, "[data-testid=manager-name]", "cellar box").await;
    window.find("[data-testid=state]", SOON).await;
    eventually_text(&window, "[data-testid=state]", "Online").await;
    window.click("[data-testid=back]").await;
    window.find(ONLINE, SOON).await;

    // Unpaired after confirming: gone here, and the manager was told.
    window.click("[data-testid=unpair-button]").await;
    window.click("[data-testid=confirm-unpair]").await;
    window.find("[data-testid=no-managers]", SOON).await;
    assert!(
        window
            .text("[data-testid=toast]")
            .await
            .contains("it was told")
    );
    let peers = manager.cli(&sandbox, &["peers", "--json"]);
    let peers: serde_json::Value = serde_json::from_slice(&peers.stdout).unwrap();
    assert_eq!(peers["peers"].as_array().map(Vec::len), Some(0), "{peers}");

    window.close().await;
    daemon.kill();
}

/// Waits until the element `css` reads `want`.
async fn eventually_text(window: &Window, css: &str, want: &str) {
    let deadline = tokio::time::Instant::now() + SOON;
    loop {
        let got = window.text(css).await;
        if got == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{css} reads {got:?}, not {want:?}; app log: {}",
            window.log().display()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
