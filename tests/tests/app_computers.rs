//! Adding a computer and cutting it off through two real windows, as a
//! person would (WebDriver on tauri-driver + WebKitWebDriver, each window on
//! its own virtual display): the new computer's window shows a code, the
//! paired one's takes it, both compare the verification string, the new
//! computer reaches the two managers that accept introductions and not the
//! third; then the paired window cuts it off, and its sessions end.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use nodepair_tests::net::{AppHome, ManagerHome, Relay};
use nodepair_tests::window::Window;
use nodepair_tests::{Sandbox, json_of};
use std::time::Duration;

const SOON: Duration = Duration::from_secs(30);
const LONG: Duration = Duration::from_secs(90);
const ONLINE: &str = "[data-testid=manager][data-state=online]";

fn manager(sandbox: &Sandbox, relay: &Relay, name: &str, accepting: bool) -> ManagerHome {
    ManagerHome::for_introductions(sandbox.path(), relay, name, accepting)
}

/// What the report `list` (a test id) says of the manager `name`.
async fn outcome(window: &Window, list: &str, name: &str) -> String {
    let css = format!("[data-testid={list}] li[data-name={name}]");
    window
        .find(&css, SOON)
        .await
        .attr("data-outcome")
        .await
        .unwrap()
        .unwrap()
}

/// Waits until `css` matches `count` elements in `window`.
async fn count(window: &Window, css: &str, want: usize) {
    let deadline = tokio::time::Instant::now() + LONG;
    loop {
        let got = window.count(css).await;
        if got == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{got} of {css}, not {want}; app log: {}",
            window.log().display()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The apps `home`'s daemon has stored, by name.
fn apps(sandbox: &Sandbox, home: &ManagerHome) -> Vec<String> {
    let out = json_of(&home.cli(sandbox, &["peers", "--json"]));
    out["peers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_computer_is_added_and_cut_off_through_both_windows() {
    let sandbox = Sandbox::new().unwrap();
    let relay = Relay::start(&sandbox, &[]);
    let homes = [
        manager(&sandbox, &relay, "alpha", true),
        manager(&sandbox, &relay, "bravo", true),
        manager(&sandbox, &relay, "charlie", false),
    ];
    let daemons: Vec<_> = homes.iter().map(|h| h.run(&sandbox)).collect();
    let laptop = AppHome::new(sandbox.path(), "laptop", &[&relay.addr]);
    let desktop = AppHome::new(sandbox.path(), "desktop", &[&relay.addr]);
    for home in &homes {
        laptop.pair_with(&sandbox, home);
    }
    let (old, new) = tokio::join!(
        Window::open(&sandbox, &laptop.config),
        Window::open(&sandbox, &desktop.config)
    );
    count(&old, ONLINE, 3).await;
    new.find("[data-testid=no-managers]", SOON).await;

    // The new computer shows a code; the person types it on the laptop.
    new.click("[data-testid=settings-button]").await;
    new.click("[data-testid=join-computer]").await;
    let code = new
        .find("[data-testid=join-code]", SOON)
        .await
        .attr("aria-label")
        .await
        .unwrap()
        .unwrap();
    let code = code.strip_prefix("Code ").unwrap().to_owned();
    assert_eq!(
        new.text("[data-testid=join-command]").await,
        "nodepair add-computer"
    );
    old.click("[data-testid=settings-button]").await;
    old.click("[data-testid=add-computer]").await;
    // A code mistyped is refused in the card, and nothing starts.
    let input = old.find("[data-testid=computer-code-input]", SOON).await;
    input.send_keys("7KQ2-M9XD-4RT!").await.unwrap();
    old.click("[data-testid=computer-code-submit]").await;
    let refused = old.text("[data-testid=computer-code-error]").await;
    assert!(
        refused.contains("not the code the new computer shows"),
        "{refused}"
    );
    input.clear().await.unwrap();
    input.send_keys(&code).await.unwrap();
    old.click("[data-testid=computer-code-submit]").await;
    let typed = std::time::Instant::now();

    // Both screens show the same six digits; both people say so.
    old.find("[data-testid=computer-compare]", LONG).await;
    new.find("[data-testid=computer-compare]", LONG).await;
    let (on_old, on_new) = (
        old.text("[data-testid=computer-verification]").await,
        new.text("[data-testid=computer-verification]").await,
    );
    assert_eq!(on_old, on_new, "both windows show the same verification");
    eprintln!(
        "code typed → both compare: {:.1} s",
        typed.elapsed().as_secs_f64()
    );
    assert!(
        old.text("[data-testid=computer-compare]")
            .await
            .contains("desktop"),
        "the laptop names the computer that answered"
    );
    old.click("[data-testid=computer-match]").await;
    new.click("[data-testid=computer-match]").await;
    let matched = std::time::Instant::now();

    // The laptop says what each manager did; the new computer what it got.
    old.find("[data-testid=computer-summary]", LONG).await;
    eprintln!(
        "both match → the laptop's report: {:.1} s",
        matched.elapsed().as_secs_f64()
    );
    let report = "computer-managers";
    assert_eq!(outcome(&old, report, "alpha").await, "introduced");
    assert_eq!(outcome(&old, report, "bravo").await, "introduced");
    assert_eq!(outcome(&old, report, "charlie").await, "refused");
    assert!(
        old.text("[data-testid=computer-summary]")
            .await
            .contains("now reaches 2 of your 3 managers")
    );
    new.find("[data-testid=computer-summary]", LONG).await;
    assert_eq!(
        new.count("[data-testid=computer-managers] li[data-outcome=introduced]")
            .await,
        2
    );

    // The new computer's list: the two managers, online, without a code
    // typed on either server.
    new.click("[data-testid=computer-close]").await;
    new.click("[data-testid=back]").await;
    count(&new, ONLINE, 2).await;
    let mut names = Vec::new();
    for e in new
        .client
        .find_all(fantoccini::Locator::Css(
            "[data-testid=manager] [data-testid=open-manager]",
        ))
        .await
        .unwrap()
    {
        names.push(e.prop("textContent").await.unwrap().unwrap_or_default());
    }
    names.sort();
    assert_eq!(names, ["alpha", "bravo"]);
    assert!(apps(&sandbox, &homes[0]).contains(&"desktop".to_owned()));
    assert!(!apps(&sandbox, &homes[2]).contains(&"desktop".to_owned()));

    // The desktop is lost: the laptop cuts it off, after saying what that
    // does.
    old.click("[data-testid=computer-close]").await;
    let who = old.find("[data-testid=cut-off-who]", SOON).await;
    who.send_keys("desktop").await.unwrap();
    old.click("[data-testid=cut-off-submit]").await;
    old.find("[data-testid=confirm-dialog]", SOON).await;
    old.click("[data-testid=confirm-yes]").await;
    let cutting = std::time::Instant::now();
    old.find("[data-testid=cut-off-summary]", LONG).await;
    eprintln!(
        "cut off asked → its report: {:.1} s",
        cutting.elapsed().as_secs_f64()
    );
    let report = "cut-off-managers";
    assert_eq!(outcome(&old, report, "alpha").await, "cut_off");
    assert_eq!(outcome(&old, report, "bravo").await, "cut_off");
    assert_eq!(outcome(&old, report, "charlie").await, "not_there");
    assert!(
        old.text("[data-testid=cut-off-summary]")
            .await
            .contains("cut off on 2 managers")
    );
    // Its sessions end within seconds; the managers forgot it.
    count(&new, ONLINE, 0).await;
    eprintln!(
        "cut off asked → none online on the desktop: {:.1} s",
        cutting.elapsed().as_secs_f64()
    );
    assert!(!apps(&sandbox, &homes[0]).contains(&"desktop".to_owned()));
    assert!(!apps(&sandbox, &homes[1]).contains(&"desktop".to_owned()));
    // The laptop's own sessions are untouched.
    old.click("[data-testid=back]").await;
    count(&old, ONLINE, 3).await;

    old.close().await;
    new.close().await;
    for d in daemons {
        d.kill();
    }
}
