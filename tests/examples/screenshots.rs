//! Takes the screenshots in `docs/screenshots/`: every screen of the desktop
//! app, light and dark, at 1280×800 and in a narrow window, against real
//! managers on a local relay, and the tray's menu from a tray that draws it.
//! The Ethereum node behind validator-1 is a local server on mainnet's clock
//! (`nodepair_tests::mainnet_node`), its unit manager the fake `systemctl`,
//! and geth's journal the fake `journalctl` reading lines in geth's format
//! with the same block numbers;
//! staking-1 watches eight validators on a beacon node that follows
//! mainnet's clock (`nodepair_tests::staking_node`); everything else is the
//! app and the manager for real.
//! Run by `scripts/screenshots.sh`.

use nodepair_tests::Sandbox;
use nodepair_tests::fixtures::{fake_journalctl, fake_systemctl};
use nodepair_tests::mainnet_node::{mainnet_node, write_geth_journal};
use nodepair_tests::net::{AppHome, CLUSTER, ManagerHome, Relay};
use nodepair_tests::podman::Podman;
use nodepair_tests::staking_node::{VALIDATORS, staking_node};
use nodepair_tests::window::{Theme, Window};
use std::path::{Path, PathBuf};
use std::time::Duration;

const WIDE: (u32, u32) = (1280, 800);
const NARROW: (u32, u32) = (420, 800);
const SOON: Duration = Duration::from_secs(30);

#[tokio::main]
async fn main() {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "docs/screenshots".into()),
    );
    std::fs::create_dir_all(&out).expect("the output directory");
    for theme in [Theme::Light, Theme::Dark] {
        screens(theme, &out).await;
    }
    println!("screenshots in {}", out.display());
}

fn settings(dir: &Path, name: &str, relay: &Relay, keystore: &str) -> PathBuf {
    let home = dir.join(name);
    std::fs::create_dir_all(&home).expect("a directory");
    let text = format!(
        "display_name = \"laptop\"\ndata_dir = \"{}\"\n\n[network]\npreset = \"local\"\nbootstrap = [\"{}\"]\ncluster = {CLUSTER}\nshard = 0\n\n[keystore]\n{keystore}\n",
        home.join("data").display(),
        relay.addr
    );
    let path = home.join("app.toml");
    std::fs::write(&path, text).expect("settings");
    path
}

struct Shooter<'a> {
    window: &'a Window,
    out: &'a Path,
    theme: Theme,
}

impl Shooter<'_> {
    async fn shoot(&self, name: &str, narrow_too: bool) {
        self.shoot_at(name, narrow_too, None).await;
    }

    /// [`Shooter::shoot`], each shot (wide and narrow) scrolled to `at`
    /// first: a narrower page reflows, and what was in view moves.
    async fn shoot_at(&self, name: &str, narrow_too: bool, at: Option<&str>) {
        // No tooltip of something hovered earlier; let transitions and
        // fonts settle.
        self.window.park_pointer();
        if let Some(css) = at {
            self.window.scroll_to(css).await;
        }
        tokio::time::sleep(Duration::from_millis(600)).await;
        let file = |suffix: &str| {
            self.out
                .join(format!("{}-{name}{suffix}.png", self.theme.name()))
        };
        self.window.screenshot(&file("")).await;
        if narrow_too {
            self.window.resize(NARROW.0, NARROW.1).await;
            tokio::time::sleep(Duration::from_millis(600)).await;
            if let Some(css) = at {
                self.window.scroll_to(css).await;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            self.window.screenshot(&file("-narrow")).await;
            self.window.resize(WIDE.0, WIDE.1).await;
        }
        println!("{} {name}", self.theme.name());
    }
}

/// The person's desktop joins from the laptop's window (on the settings
/// page): the desktop's code, the laptop's comparison and report
/// (validator-1 admits it, staking-1 does not accept introductions,
/// archive-node is offline), the desktop's managers; then the laptop cuts
/// the desktop off.
async fn add_a_computer(
    laptop: &Window,
    sandbox: &Sandbox,
    relay: &Relay,
    out: &Path,
    theme: Theme,
) {
    let home = AppHome::new(
        sandbox.path(),
        &format!("desktop-{}", theme.name()),
        &[&relay.addr],
    );
    let desktop = Window::open_with(sandbox, &home.config, theme).await;
    desktop.resize(WIDE.0, WIDE.1).await;
    let on_desktop = Shooter {
        window: &desktop,
        out,
        theme,
    };
    let on_laptop = Shooter {
        window: laptop,
        out,
        theme,
    };
    desktop.click("[data-testid=settings-button]").await;
    desktop.click("[data-testid=join-computer]").await;
    let code = desktop
        .find("[data-testid=join-code]", SOON)
        .await
        .attr("aria-label")
        .await
        .expect("the code's label")
        .expect("a label");
    on_desktop
        .shoot_at("17-join-code", true, Some("[data-testid=computer-card]"))
        .await;
    laptop.click("[data-testid=add-computer]").await;
    let input = laptop.find("[data-testid=computer-code-input]", SOON).await;
    input
        .send_keys(code.trim_start_matches("Code "))
        .await
        .expect("typed");
    laptop.click("[data-testid=computer-code-submit]").await;
    // The two computers meet over the relay (the new one's node has just
    // started): up to a minute and a half, as the tests allow.
    let meet = Duration::from_secs(90);
    laptop.find("[data-testid=computer-match]", meet).await;
    desktop.find("[data-testid=computer-match]", meet).await;
    on_laptop
        .shoot_at("17-add-compare", true, Some("[data-testid=computer-card]"))
        .await;
    laptop.click("[data-testid=computer-match]").await;
    desktop.click("[data-testid=computer-match]").await;
    laptop
        .find("[data-testid=computer-summary]", Duration::from_secs(60))
        .await;
    on_laptop
        .shoot_at("17-add-report", true, Some("[data-testid=computer-card]"))
        .await;
    desktop
        .find("[data-testid=computer-summary]", Duration::from_secs(60))
        .await;
    on_desktop
        .shoot_at("17-joined", false, Some("[data-testid=computer-card]"))
        .await;
    desktop.close().await;
    laptop.click("[data-testid=computer-close]").await;
    // The desktop is lost: cut off where it was admitted.
    let who = laptop.find("[data-testid=cut-off-who]", SOON).await;
    who.send_keys(&format!("desktop-{}", theme.name()))
        .await
        .expect("typed");
    laptop.click("[data-testid=cut-off-submit]").await;
    laptop.find("[data-testid=confirm-yes]", SOON).await;
    on_laptop.shoot("17-cut-off-confirm", false).await;
    laptop.click("[data-testid=confirm-yes]").await;
    laptop
        .find("[data-testid=cut-off-summary]", Duration::from_secs(60))
        .await;
    on_laptop
        .shoot_at("17-cut-off", true, Some("#computers-title"))
        .await;
}

/// Pairs the window with `manager`: the operator types the code (and
/// confirms with `--yes`), the window asks whether the server shows the same
/// string (shot as `3-compare` when `shots` is given) and the person says it
/// matches.
async fn pair(
    window: &Window,
    sandbox: &Sandbox,
    manager: &ManagerHome,
    shots: Option<&Shooter<'_>>,
) {
    window
        .click("[data-testid=pair-button]:not([disabled])")
        .await;
    let command = window.text("[data-testid=pairing-oneline]").await;
    let code = command.rsplit(' ').next().unwrap_or_default().to_owned();
    let (manager, sandbox) = (manager.clone(), Sandbox::at(sandbox.path()));
    let done =
        tokio::task::spawn_blocking(move || manager.cli(&sandbox, &["pair", "--yes", &code]));
    window.find("[data-testid=confirm-match]", SOON).await;
    if let Some(shots) = shots {
        shots.shoot("3-compare", true).await;
    }
    window.click("[data-testid=confirm-match]").await;
    let done = done.await.expect("the pair command ran");
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    window.find(".pairing-card .progress.paired", SOON).await;
}

async fn screens(theme: Theme, out: &Path) {
    let sandbox = Sandbox::new().expect("a scratch directory");
    let relay = Relay::start(&sandbox, &[]);
    let long = Duration::from_secs(120);
    // validator-1 sits beside a synced mainnet node (a local server on
    // mainnet's clock), a unit manager and a journal (the fake ones).
    let (beacon, execution) = mainnet_node().await;
    let systemctl = fake_systemctl(sandbox.path());
    let journalctl = fake_journalctl(sandbox.path());
    let _writer = write_geth_journal(
        journalctl.with_file_name("journal").join("geth.service"),
        150,
    );
    // Its alert rounds come every 5 s and fire and resolve at once, so the
    // alerts below show within seconds; the host's own rules are off (this
    // machine's disks and load are no picture of a node's).
    // Beside its units, two containers in a real engine (Podman, its Docker
    // API): mev-boost, and the validator client of an eth-docker project.
    let podman = Podman::start();
    containers(&podman);
    let extra = format!(
        "\n[ethereum]\nbeacon_url = \"{}\"\nexecution_url = \"{}\"\ntimeout_ms = 800\n\n[services]\nunits = [\"geth.service\", \"lighthouse.service\"]\ncontainers = [\"mev-boost\", \"eth-docker/validator\"]\ncontrollable = [\"geth.service\", \"mev-boost\"]\nsystemctl = \"{}\"\n\n[logs]\nunits = [\"geth.service\"]\njournalctl = \"{}\"\ncontainers = [\"mev-boost\"]\n\n[containers]\nsocket = \"{}\"\n\n[alerts]\nevery_secs = 5\nfire_after_secs = 0\nclear_after_secs = 5\n\n[alerts.disk_free]\nenabled = false\n\n[alerts.memory]\nenabled = false\n\n[alerts.load]\nenabled = false\n\n[pairing]\naccept_introductions = true\n",
        beacon.uri(),
        execution.uri(),
        systemctl.display(),
        journalctl.display(),
        podman.socket().display()
    );
    let validator = ManagerHome::with_config(
        sandbox.path(),
        "validator-1",
        &[&relay.addr],
        long,
        &["info", "host", "ethereum", "services", "logs", "alerts"],
        &extra,
    );
    let archive = ManagerHome::new(sandbox.path(), "archive-node", &[&relay.addr], long);
    // staking-1 watches its operator's validators from the start, so by the
    // time its page is shown it has read ten epochs.
    let staking_beacon = staking_node().await;
    let indices: Vec<String> = VALIDATORS.iter().map(|(i, _)| i.to_string()).collect();
    let staking = ManagerHome::with_config(
        sandbox.path(),
        "staking-1",
        &[&relay.addr],
        long,
        &["info", "validators", "alerts"],
        &format!(
            "\n[ethereum]\nbeacon_url = \"{}\"\ntimeout_ms = 800\n\n[validators]\nindices = [{}]\n\n[alerts]\nevery_secs = 5\nfire_after_secs = 0\nclear_after_secs = 5\n\n[alerts.disk_free]\nenabled = false\n\n[alerts.memory]\nenabled = false\n\n[alerts.load]\nenabled = false\n",
            staking_beacon.uri(),
            indices.join(", ")
        ),
    );
    let _staking_daemon = staking.run(&sandbox);
    let _validator_daemon = validator.run(&sandbox);
    let archive_daemon = archive.run(&sandbox);
    let config = settings(sandbox.path(), "app", &relay, "backend = \"auto\"");
    let window = Window::open_with_tray_bar(&sandbox, &config, theme).await;
    window.resize(WIDE.0, WIDE.1).await;
    let shots = Shooter {
        window: &window,
        out,
        theme,
    };

    window.find("[data-testid=no-managers]", SOON).await;
    shots.shoot("1-no-managers", true).await;

    window
        .click("[data-testid=pair-button]:not([disabled])")
        .await;
    window.find("[data-testid=pairing-code]", SOON).await;
    shots.shoot("2-pairing-code", true).await;
    // Cancel, then close the card: the top bar's button is back.
    window.click(".pairing-card .actions button").await;
    window.click("[data-testid=pairing-close]").await;

    pair(&window, &sandbox, &validator, Some(&shots)).await;
    shots.shoot("3-paired", false).await;
    window.click(".pairing-card .actions button").await;
    pair(&window, &sandbox, &archive, None).await;
    window.click(".pairing-card .actions button").await;
    pair(&window, &sandbox, &staking, None).await;
    window.click(".pairing-card .actions button").await;

    // validator-1's geth stops and starts again (an alert raised and
    // resolved), then its beacon node's unit stops (an alert open).
    window
        .find("[data-testid=manager][data-state=online]", SOON)
        .await;
    // (Rounds every 5 s, resolving after 5 s clear.)
    unit(&systemctl, "stop", "geth.service");
    window.find("[data-testid=worst-alert]", SOON).await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    unit(&systemctl, "start", "geth.service");
    tokio::time::sleep(Duration::from_secs(15)).await;
    unit(&systemctl, "stop", "lighthouse.service");
    tokio::time::sleep(Duration::from_secs(8)).await;
    window.find("[data-testid=node-health]", SOON).await;

    // One manager stops: the list shows one online and one offline.
    assert!(archive_daemon.terminate().success());
    window
        .find("[data-testid=manager][data-state=offline]", SOON)
        .await;
    window.find("[data-testid=validators-line]", SOON).await;
    shots.shoot("4-managers", true).await;

    // The settings: the app's own network (connected through the local
    // relay), the network form, the tray and login toggles.
    window.click("[data-testid=settings-button]").await;
    window
        .find("[data-testid=network-state][data-level=ok]", SOON)
        .await;
    shots.shoot("10-settings", true).await;
    add_a_computer(&window, &sandbox, &relay, out, theme).await;
    window.click("[data-testid=back]").await;

    // The online one's host, once a few samples have come in.
    window
        .click("[data-testid=open-manager][title=\"Open validator-1\"]")
        .await;
    window.find("[data-testid=hostname]", SOON).await;
    window.find("[data-testid=beacon-version]", SOON).await;
    window.find("[data-testid=service]", SOON).await;
    tokio::time::sleep(Duration::from_secs(40)).await;
    shots.shoot("5-manager", true).await;
    window.scroll_to("[data-testid=host]").await;
    shots.shoot("5-manager-host", false).await;

    // The node's log: its last lines, then followed live, then searched.
    window.scroll_to("[data-testid=logs]").await;
    window
        .click("[data-testid=log-source] option[value=\"geth.service\"]")
        .await;
    window
        .find("[data-testid=log-follow]:not([disabled])", SOON)
        .await;
    window.click("[data-testid=log-follow]").await;
    window
        .find("[data-testid=log-follow][aria-pressed=true]", SOON)
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    window.scroll_to("[data-testid=logs]").await;
    shots.shoot("9-logs", false).await;
    let search = window.find("[data-testid=log-search]", SOON).await;
    search.send_keys("Imported").await.expect("typing works");
    window.scroll_to("[data-testid=logs]").await;
    shots.shoot("9-logs-search", false).await;
    window.click("[data-testid=log-follow]").await;

    // Units and containers in one list; a container's output as a log.
    window.scroll_to("[data-testid=services]").await;
    window
        .find("[data-testid=service][data-kind=container]", SOON)
        .await;
    shots
        .shoot_at("15-services", true, Some("[data-testid=services]"))
        .await;
    window.scroll_to("[data-testid=logs]").await;
    // The search of the geth log above, cleared.
    // (Found again if a live update re-drew the field under the keys.)
    for tries in 0.. {
        let search = window.find("[data-testid=log-search]", SOON).await;
        match search.send_keys(&"\u{E003}".repeat("Imported".len())).await {
            Ok(()) => break,
            Err(e) if tries < 5 => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("typing into the log search fails: {e}"),
        }
    }
    window
        .click("[data-testid=log-source] option[value=\"mev-boost\"]")
        .await;
    window
        .find("[data-testid=log-follow]:not([disabled])", SOON)
        .await;
    window.click("[data-testid=log-follow]").await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    window.scroll_to("[data-testid=logs]").await;
    shots.shoot("16-container-log", false).await;
    window.click("[data-testid=log-follow]").await;
    window.scroll_to("[data-testid=manager-name]").await;

    window.click("[data-testid=rename-button]").await;
    let input = window.find("[data-testid=rename-input]", SOON).await;
    input.send_keys("cellar box").await.expect("typing works");
    shots.shoot("6-rename", false).await;
    window
        .click("[data-testid=rename-dialog] button[type=button]")
        .await;

    window.click("[data-testid=unpair-button]").await;
    window.find("[data-testid=unpair-dialog]", SOON).await;
    shots.shoot("7-unpair", false).await;
    window
        .click("[data-testid=unpair-dialog] button[type=button]")
        .await;

    // Its alerts panel, the resolved one unfolded.
    window.scroll_to("[data-testid=alerts-panel]").await;
    window.click("[data-testid=resolved-alerts] summary").await;
    shots.shoot("13-alerts-panel", false).await;

    // Every manager's alerts, open and resolved, one acknowledged.
    window.click("[data-testid=alerts-button]").await;
    window
        .click("[data-testid=filter-state] option[value=all]")
        .await;
    window
        .click("[data-testid=alert][data-state=open] [data-testid=acknowledge]")
        .await;
    window
        .find("[data-testid=alert][data-state=acknowledged]", SOON)
        .await;
    shots.shoot("13-alerts", true).await;
    window.click("[data-testid=back]").await;

    // staking-1's validators, ten epochs read: one flaky, one exiting, one
    // queued, a proposal and a sync-committee duty coming.
    window
        .click("[data-testid=open-manager][title=\"Open staking-1\"]")
        .await;
    window.find("[data-testid=validator]", SOON).await;
    // Its beacon node catches up with the clock an epoch a round (about
    // 3 minutes): once it has, ten epochs are judged and the coming
    // proposal is minutes away.
    let caught_up = tokio::time::Instant::now() + Duration::from_secs(300);
    let duty = "[data-testid=validator][data-index=\"1203413\"] [data-testid=validator-duty]";
    while !(window
        .text("[data-testid=validator-live]")
        .await
        .starts_with("10/")
        && window.text(duty).await.starts_with("proposal in"))
    {
        assert!(
            tokio::time::Instant::now() < caught_up,
            "staking-1's beacon node did not catch up in 5 minutes: live {:?}, duty {:?}",
            window.text("[data-testid=validator-live]").await,
            window.text(duty).await
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    window.scroll_to("[data-testid=validators]").await;
    shots.shoot("14-validators", true).await;
    window.click("[data-testid=back]").await;

    // The window closed, the app in the tray: its icon's dot says one
    // manager is offline, its menu lists both.
    window.request_close().await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    window
        .tray_screenshot(&out.join(format!("{}-12-tray.png", theme.name())))
        .await;
    println!("{} 12-tray", theme.name());
    window.close().await;

    // A machine whose keyring cannot be used: the vault asks for a passphrase.
    let locked = settings(sandbox.path(), "app-vault", &relay, "backend = \"vault\"");
    let window = Window::open_with(&sandbox, &locked, theme).await;
    window.resize(WIDE.0, WIDE.1).await;
    window.find("[data-testid=unlock-form]", SOON).await;
    Shooter {
        window: &window,
        out,
        theme,
    }
    .shoot("8-passphrase", true)
    .await;
    window.close().await;

    // No network settings at all, on a machine without DNS (so nothing
    // leaves it): after 20 s the network panel says no peer is reachable
    // and what to check. Needs root; skipped otherwise.
    let home = sandbox.path().join("app-offline");
    std::fs::create_dir_all(&home).expect("a directory");
    let offline = home.join("app.toml");
    std::fs::write(
        &offline,
        format!(
            "display_name = \"laptop\"\ndata_dir = \"{}\"\n\n[keystore]\nbackend = \"auto\"\nkeyring_service = \"nodepair-offline\"\n",
            home.join("data").display()
        ),
    )
    .expect("settings");
    let Some(window) = Window::open_without_dns(&sandbox, &offline, theme).await else {
        println!("{} 11-no-network skipped: needs root", theme.name());
        return;
    };
    window.resize(WIDE.0, WIDE.1).await;
    window.find("[data-testid=no-managers]", SOON).await;
    window.click("[data-testid=settings-button]").await;
    window
        .find("[data-testid=network-state][data-level=none]", SOON * 2)
        .await;
    Shooter {
        window: &window,
        out,
        theme,
    }
    .shoot("11-no-network", true)
    .await;
    window.close().await;
}

/// validator-1's containers: mev-boost answering the beacon node's status
/// checks and bids every slot, and an eth-docker project's validator client
/// (both the fixture image, tagged as what they stand for).
fn containers(podman: &Podman) {
    podman.tag("localhost/mev-boost:fixture");
    podman.tag("localhost/lighthouse-validator:fixture");
    podman.run_with(
        "mev-boost",
        "localhost/mev-boost:fixture",
        &[],
        "echo 'level=info msg=\"starting mev-boost\" version=fixture module=cli'; \
         echo 'level=info msg=\"using 3 relays\" module=cli'; \
         n=0; while :; do \
           slot=$(( ($(date +%s) - 1606824023) / 12 )); \
           echo \"level=info msg=\\\"http: GET /eth/v1/builder/status 200\\\" duration=0.0004 method=GET module=service path=/eth/v1/builder/status status=200\"; \
           if [ $((n % 6)) -eq 0 ]; then \
             echo \"level=info msg=\\\"getHeader request start\\\" module=service slot=$slot ua=Lighthouse/v7.0.1\"; \
             echo \"level=info msg=\\\"best bid\\\" module=service numRelays=3 slot=$slot value=0.0$((slot % 97 + 10)) ETH\"; \
           fi; \
           n=$((n + 1)); sleep 2; \
         done",
    );
    podman.run_with(
        "eth-docker-validator-1",
        "localhost/lighthouse-validator:fixture",
        &[
            "--label",
            "com.docker.compose.project=eth-docker",
            "--label",
            "com.docker.compose.service=validator",
            "--label",
            "com.docker.compose.container-number=1",
        ],
        "while :; do slot=$(( ($(date +%s) - 1606824023) / 12 )); \
           echo \"INFO All validators active  slot: $slot, epoch: $((slot / 32)), total_validators: 8, active_validators: 7, current_epoch_proposers: 0, service: notifier\"; \
           sleep 12; done",
    );
}

/// Has the fake unit manager `action` (start, stop) `unit`, as the
/// operator would on the server.
fn unit(systemctl: &Path, action: &str, unit: &str) {
    let status = std::process::Command::new(systemctl)
        .args([action, "--", unit])
        .status()
        .expect("the fake systemctl runs");
    assert!(status.success(), "{action} {unit}");
}
