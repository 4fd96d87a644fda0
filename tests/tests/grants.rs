//! Per-app grants with the real manager: two apps on one manager, one
//! granted less; grants changed while online and while the daemon is down;
//! an app that claims more than it was granted.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::Bytes;
use nodepair_peer::Peer;
use nodepair_protocol::api::logs::{Lines, LogsFollow, LogsTail, SourceRequest, TailRequest};
use nodepair_protocol::api::{self, Method};
use nodepair_protocol::{PublicKey, Status};
use nodepair_tests::net::{
    App, ManagerHome, Relay, eventually, next_event, online, pair, pair_with_args,
};
use nodepair_tests::{Sandbox, json_of, stderr, stdout};
use std::path::Path;
use std::time::Duration;

const LONG: Duration = Duration::from_secs(120);

/// What `app`'s record says `manager` lets it use.
async fn granted_to(app: &Peer, manager: PublicKey) -> Vec<String> {
    app.counterparties()
        .await
        .into_iter()
        .find(|c| c.public_key == manager)
        .expect("paired")
        .capabilities
}

/// The status of `app`'s `logs.tail` of `log`, and the refusal's words.
async fn tail(app: &Peer, manager: PublicKey, log: &Path) -> (Status, String) {
    let body = api::encode(&TailRequest {
        source: log.display().to_string(),
        lines: 10,
        skip: 0,
        pattern: None,
    });
    let reply = app
        .request(manager, LogsTail::NAME, Bytes::from(body))
        .await
        .unwrap();
    (
        reply.status,
        String::from_utf8_lossy(&reply.body).into_owned(),
    )
}

/// The grant `peers --json` shows for the app named `name`.
fn grant_shown(sandbox: &Sandbox, home: &ManagerHome, name: &str) -> serde_json::Value {
    let peers = json_of(&home.cli(sandbox, &["peers", "--json"]));
    let row = peers["peers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{name} listed: {peers}"))
        .clone();
    row["grants"].clone()
}

fn append(path: &Path, text: &str) {
    use std::io::Write;
    std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_app_uses_what_it_was_granted_changed_while_online_and_never_widened_by_itself() {
    let sandbox = Sandbox::new().unwrap();
    let relay = Relay::start(&sandbox, &[]);
    let log = sandbox.path().join("geth.log");
    std::fs::write(&log, "imported block 21304211\nimported block 21304212\n").unwrap();
    let home = ManagerHome::with_config(
        sandbox.path(),
        "validator-1",
        &[&relay.addr],
        LONG,
        &["info", "host", "logs"],
        &format!("\n[logs]\nfiles = [\"{}\"]\n", log.display()),
    );
    let daemon = home.run(&sandbox);
    let manager = daemon.public_key();
    let owner = App::new("owner", &[&relay.addr]).start().await;
    let teammate = App::new("teammate", &[&relay.addr]).start().await;

    // A grant of what the manager does not offer stops `pair` before it
    // reads a code, let alone uses one.
    let typo = home.cli(
        &sandbox,
        &[
            "pair",
            "--grant",
            "host,validators",
            "--yes",
            "7KQ2-M9XD-4RTA",
        ],
    );
    assert_eq!(typo.status.code(), Some(64), "{}", stderr(&typo));
    assert!(
        stderr(&typo).contains("\"validators\" is not offered here (offered: info, host, logs)"),
        "{}",
        stderr(&typo)
    );

    let (out, _) = pair(&sandbox, &home, &owner).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let (out, _) = pair_with_args(&sandbox, &home, &teammate, &["--grant", "host"]).await;
    assert!(out.status.success(), "{}", stderr(&out));

    // Each app was told at pairing what it may use, and the manager holds
    // it to that: the teammate's logs.tail is 403 naming the capability.
    assert_eq!(
        granted_to(&owner, manager).await,
        names(&["info", "host", "logs"])
    );
    assert_eq!(
        granted_to(&teammate, manager).await,
        names(&["info", "host"])
    );
    let (status, why) = tail(&teammate, manager, &log).await;
    assert_eq!(status, Status::FORBIDDEN, "{why}");
    assert!(
        why.contains("logs.tail needs the \"logs\" capability")
            && why.contains("not granted to this app"),
        "{why}"
    );
    let (status, lines) = tail(&owner, manager, &log).await;
    assert_eq!(status, Status::OK, "{lines}");
    assert!(lines.contains("21304212"), "{lines}");
    let health = teammate
        .request(manager, "host.health", Bytes::new())
        .await
        .unwrap();
    assert_eq!(health.status, Status::OK, "what was granted is answered");
    assert_eq!(
        grant_shown(&sandbox, &home, "teammate"),
        serde_json::json!(["host"])
    );
    assert_eq!(
        grant_shown(&sandbox, &home, "owner"),
        serde_json::Value::Null
    );

    // A grant changed while both are online applies to the next request,
    // and the app hears what it now has.
    let out = home.cli(&sandbox, &["grant", "teammate", "host,logs"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("teammate may now use: info, host, logs; it was told"),
        "{}",
        stdout(&out)
    );
    assert_eq!(tail(&teammate, manager, &log).await.0, Status::OK);

    // A follow of its logs ends once its grant no longer covers them.
    let mut events = teammate.events();
    let follow = api::encode(&SourceRequest {
        source: log.display().to_string(),
    });
    let started = teammate
        .request(manager, LogsFollow::NAME, Bytes::from(follow))
        .await
        .unwrap();
    assert_eq!(started.status, Status::OK);
    let stream = api::decode_response::<LogsFollow>(&started.body)
        .unwrap()
        .stream;
    tokio::time::sleep(Duration::from_millis(800)).await;
    append(&log, "imported block 21304213\n");
    let lines: Lines = next_event(&mut events, &stream).await;
    assert_eq!(lines.lines, ["imported block 21304213"]);
    let out = home.cli(&sandbox, &["grant", "teammate", "host"]);
    assert!(out.status.success(), "{}", stderr(&out));
    append(&log, "imported block 21304214\n");
    let quiet = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Ok(nodepair_peer::PeerEvent::Stream { event, .. }) = events.recv().await
                && event.stream == stream
            {
                return String::from_utf8_lossy(&event.body).into_owned();
            }
        }
    })
    .await;
    assert!(
        quiet.is_err(),
        "a line came after logs were taken away: {quiet:?}"
    );
    let out = home.cli(&sandbox, &["grant", "teammate", "host,logs"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = home.cli(&sandbox, &["grant", "owner", "host"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(tail(&owner, manager, &log).await.0, Status::FORBIDDEN);
    eventually(
        Duration::from_secs(20),
        "both apps hear their new grants",
        || async {
            granted_to(&owner, manager).await == names(&["info", "host"])
                && granted_to(&teammate, manager).await == names(&["info", "host", "logs"])
        },
    )
    .await;
    let out = home.cli(&sandbox, &["grant", "teammate", "--none"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let health = teammate
        .request(manager, "host.health", Bytes::new())
        .await
        .unwrap();
    assert_eq!(health.status, Status::FORBIDDEN);
    let info = teammate
        .request(manager, "manager.info", Bytes::new())
        .await
        .unwrap();
    assert_eq!(info.status, Status::OK, "who the manager is needs no grant");
    let out = home.cli(&sandbox, &["grant", "teammate", "host"]);
    assert!(out.status.success(), "{}", stderr(&out));

    // The teammate's app turns hostile: it announces every capability and
    // the owner's name. Its grant is the operator's, not its own.
    teammate
        .announce(
            manager,
            Some("owner".into()),
            Some(names(&["info", "host", "logs", "services", "validators"])),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (status, why) = tail(&teammate, manager, &log).await;
    assert_eq!(status, Status::FORBIDDEN, "{why}");
    // Two apps now call themselves "owner": a grant by that name changes
    // neither, and says why.
    let ambiguous = home.cli(&sandbox, &["grant", "owner", "--all"]);
    assert_eq!(ambiguous.status.code(), Some(1), "{}", stdout(&ambiguous));
    assert!(
        stderr(&ambiguous).contains("owner"),
        "{}",
        stderr(&ambiguous)
    );
    assert_eq!(tail(&teammate, manager, &log).await.0, Status::FORBIDDEN);
    let peers = json_of(&home.cli(&sandbox, &["peers", "--json"]));
    let mut grants: Vec<String> = peers["peers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["grants"].to_string())
        .collect();
    grants.sort();
    assert_eq!(grants, ["[\"host\"]", "[\"host\"]"], "{peers}");

    // Bad input changes nothing: a capability not offered, an app nobody
    // paired.
    let teammate_key = teammate.public_key().to_string();
    let prefix = &teammate_key[..16];
    let bad = home.cli(&sandbox, &["grant", prefix, "validators"]);
    assert_eq!(bad.status.code(), Some(64), "{}", stderr(&bad));
    assert!(stderr(&bad).contains("nothing changed"), "{}", stderr(&bad));
    let nobody = home.cli(&sandbox, &["grant", "nobody", "host"]);
    assert_eq!(nobody.status.code(), Some(1), "{}", stderr(&nobody));
    assert_eq!(tail(&teammate, manager, &log).await.0, Status::FORBIDDEN);

    // With the daemon down, a grant is stored for its next start; the app
    // hears it when its session comes up again, and grants survive the
    // restart.
    assert!(daemon.terminate().success());
    let out = home.cli(&sandbox, &["grant", prefix, "host,logs"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("it is told when it next connects"),
        "{}",
        stdout(&out)
    );
    let daemon = home.run(&sandbox);
    online(&teammate, manager, LONG).await;
    online(&owner, manager, LONG).await;
    eventually(
        Duration::from_secs(20),
        "the teammate hears its grant",
        || async { granted_to(&teammate, manager).await == names(&["info", "host", "logs"]) },
    )
    .await;
    assert_eq!(tail(&teammate, manager, &log).await.0, Status::OK);
    assert_eq!(tail(&owner, manager, &log).await.0, Status::FORBIDDEN);
    assert_eq!(granted_to(&owner, manager).await, names(&["info", "host"]));
    drop(daemon);
}
