//! Adding a computer with the real programs: a new app (`nodepair join`)
//! introduced by one already paired (`nodepair add-computer`) reaches the
//! two managers that accept introductions, with at most the introducer's
//! grant, and is refused by the one that does not; hostile and malformed
//! introductions store nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::Bytes;
use nodepair_protocol::introduction::{INTRODUCE_METHOD, Introduce, Introduced};
use nodepair_protocol::{PublicKey, Status};
use nodepair_tests::net::{
    App, AppHome, Daemon, ManagerHome, Relay, eventually, online, pair_with_args,
};
use nodepair_tests::{Sandbox, json_of, stderr, stdout};
use std::io::BufRead;
use std::time::Duration;

const LONG: Duration = Duration::from_secs(120);
fn manager(sandbox: &Sandbox, relay: &Relay, name: &str, accepting: bool) -> ManagerHome {
    ManagerHome::for_introductions(sandbox.path(), relay, name, accepting)
}

/// The apps `home`'s daemon has stored, by name, with their grants.
fn peers(sandbox: &Sandbox, home: &ManagerHome) -> Vec<(String, serde_json::Value)> {
    let out = json_of(&home.cli(sandbox, &["peers", "--json"]));
    out["peers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap().to_owned(), p["grants"].clone()))
        .collect()
}

/// `nodepair-manager pair --yes [args] <code>` against `app`'s `nodepair
/// pair --yes --json`: both from the terminal.
fn pair_cli(sandbox: &Sandbox, app: &AppHome, manager: &ManagerHome, args: &[&str]) {
    let mut pairing = app
        .command(sandbox, &["pair", "--yes", "--json"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(pairing.stdout.take().unwrap());
    let mut line = String::new();
    lines.read_line(&mut line).unwrap();
    let offer: serde_json::Value = serde_json::from_str(&line).unwrap();
    let code = offer["code"].as_str().unwrap();
    let mut all = vec!["pair", "--yes"];
    all.extend_from_slice(args);
    all.push(code);
    let out = manager.cli(sandbox, &all);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(pairing.wait().unwrap().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_computer_reaches_the_managers_that_accept_introductions_and_no_other() {
    let sandbox = Sandbox::new().unwrap();
    let relay = Relay::start(&sandbox, &[]);
    let (a, b, c) = (
        manager(&sandbox, &relay, "alpha", true),
        manager(&sandbox, &relay, "bravo", true),
        manager(&sandbox, &relay, "charlie", false),
    );
    let daemons: Vec<Daemon> = [&a, &b, &c].iter().map(|h| h.run(&sandbox)).collect();
    let laptop = AppHome::new(sandbox.path(), "laptop", &[&relay.addr]);
    let desktop = AppHome::new(sandbox.path(), "desktop", &[&relay.addr]);
    // The laptop is granted only `host` on alpha, everything on the others.
    pair_cli(&sandbox, &laptop, &a, &["--grant", "host"]);
    pair_cli(&sandbox, &laptop, &b, &[]);
    pair_cli(&sandbox, &laptop, &c, &[]);

    // The new computer shows a code; the laptop answers it.
    let mut join = desktop
        .command(&sandbox, &["join", "--yes", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(join.stdout.take().unwrap());
    let mut line = String::new();
    lines.read_line(&mut line).unwrap();
    let offer: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(offer["type"], "join_code", "{offer}");
    let code = offer["code"].as_str().unwrap().to_owned();
    assert_eq!(
        offer["command"], "nodepair add-computer",
        "the code is typed at its prompt"
    );
    let (sandbox_root, laptop_home) = (sandbox.path().to_owned(), laptop.clone());
    let adding = std::thread::spawn(move || {
        let sandbox = Sandbox::at(&sandbox_root);
        // Typed at the prompt (standard input), never in argv.
        let mut adding = laptop_home
            .command(&sandbox, &["add-computer", "--yes", "--json"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        writeln!(adding.stdin.take().unwrap(), "{code}").unwrap();
        adding.wait_with_output().unwrap()
    });
    let mut joined = String::new();
    lines.read_to_string_lossy(&mut joined);
    assert!(join.wait().unwrap().success(), "join: {joined}");
    let added = adding.join().unwrap();
    assert!(
        added.status.success(),
        "{}{}",
        stdout(&added),
        stderr(&added)
    );

    // The laptop says what each manager did.
    let report: serde_json::Value = stdout(&added)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| l["type"] == "introduced")
        .expect("a final report");
    let outcome = |name: &str| {
        report["report"]["managers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {report}"))
            .clone()
    };
    assert_eq!(outcome("alpha")["outcome"], "introduced");
    assert_eq!(
        outcome("alpha")["capabilities"],
        serde_json::json!(["info", "host"]),
        "no more than the laptop's own grant there"
    );
    assert_eq!(outcome("bravo")["outcome"], "introduced");
    assert_eq!(
        outcome("bravo")["capabilities"],
        serde_json::json!(["info", "host", "logs"])
    );
    let refused = outcome("charlie");
    assert_eq!(refused["outcome"], "refused", "{refused}");
    assert_eq!(refused["status"], 403);
    assert!(
        refused["why"]
            .as_str()
            .unwrap()
            .contains("does not accept introductions"),
        "{refused}"
    );

    // The desktop stored alpha and bravo, and charlie never heard of it.
    let last: serde_json::Value = serde_json::from_str(joined.lines().last().unwrap()).unwrap();
    assert_eq!(last["type"], "joined", "{joined}");
    assert_eq!(last["via"], "laptop");
    let managers = json_of(&desktop.cli(&sandbox, &["managers", "--json"]));
    let mut names: Vec<&str> = managers["managers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["alpha", "bravo"]);
    let grants_on = |home: &ManagerHome| {
        peers(&sandbox, home)
            .into_iter()
            .find(|(n, _)| n == "desktop")
            .map(|(_, g)| g)
    };
    assert_eq!(grants_on(&a), Some(serde_json::json!(["host"])));
    assert_eq!(
        grants_on(&b),
        Some(serde_json::Value::Null),
        "everything, as the laptop"
    );
    assert_eq!(
        grants_on(&c),
        None,
        "nothing stored where introductions are refused"
    );

    // It reaches them on its own: host on both, logs only where granted.
    let asked = desktop.cli(&sandbox, &["ask", "alpha", "host.health"]);
    assert!(asked.status.success(), "{}", stderr(&asked));
    let asked = desktop.cli(&sandbox, &["ask", "bravo", "host.health"]);
    assert!(asked.status.success(), "{}", stderr(&asked));
    let refused = desktop.cli(
        &sandbox,
        &[
            "ask",
            "alpha",
            "logs.tail",
            r#"{"source": "x", "lines": 1}"#,
        ],
    );
    assert_eq!(refused.status.code(), Some(77), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("\"logs\""),
        "{}",
        stderr(&refused)
    );
    let unknown = desktop.cli(&sandbox, &["ask", "charlie", "host.health"]);
    assert_eq!(unknown.status.code(), Some(67), "{}", stderr(&unknown));

    // Both keys are in alpha's audit log.
    let laptop_key = json_of(&laptop.cli(&sandbox, &["status", "--json"]))["status"]["fingerprint"]
        .as_str()
        .unwrap()
        .to_owned();
    let desktop_key =
        json_of(&desktop.cli(&sandbox, &["status", "--json"]))["status"]["fingerprint"]
            .as_str()
            .unwrap()
            .to_owned();
    // `peers` shows whose line it is in.
    let listed = json_of(&b.cli(&sandbox, &["peers", "--json"]));
    let row = |name: &str| {
        listed["peers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(row("desktop")["introduced_by"], laptop_key.as_str());
    assert!(
        row("laptop").get("introduced_by").is_none(),
        "the operator paired it"
    );
    let mut daemons = daemons.into_iter();
    let log = daemons.next().unwrap().stop_and_read_log();
    let line = log
        .lines()
        .find(|l| l.contains("introduced the app"))
        .unwrap_or_else(|| panic!("no audit line in {log}"));
    assert!(
        line.contains(&laptop_key) && line.contains(&desktop_key),
        "{line}"
    );
}

/// An app paired with `home` (granted `grant`), and the daemon's key.
async fn introducer(
    sandbox: &Sandbox,
    home: &ManagerHome,
    app: &App,
    grant: &[&str],
) -> (nodepair_peer::Peer, PublicKey) {
    let peer = app.start().await;
    let (out, _) = pair_with_args(sandbox, home, &peer, grant).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let key = peer.counterparties().await[0].public_key;
    online(&peer, key, LONG).await;
    (peer, key)
}

fn introduction(name: &str, key: &PublicKey, grants: Option<&[&str]>) -> Bytes {
    Bytes::from(
        serde_json::to_vec(&Introduce {
            public_key: key.to_string(),
            node_id: "6f1c2a8e-5b0d-4c3e-9a71-2f4d8e6b1c09".into(),
            display_name: name.into(),
            grants: grants.map(|g| g.iter().map(|s| (*s).to_owned()).collect()),
        })
        .unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introductions_beyond_the_introducer_to_a_refusing_manager_or_malformed_store_nothing() {
    let sandbox = Sandbox::new().unwrap();
    let relay = Relay::start(&sandbox, &[]);
    let open = manager(&sandbox, &relay, "open", true);
    let closed = manager(&sandbox, &relay, "closed", false);
    let (_open_daemon, _closed_daemon) = (open.run(&sandbox), closed.run(&sandbox));
    let app = App::new("teammate", &[&relay.addr]);
    let (peer, open_key) = introducer(&sandbox, &open, &app, &["--grant", "host"]).await;
    let other = App::new("owner", &[&relay.addr]);
    let (owner, closed_key) = introducer(&sandbox, &closed, &other, &[]).await;
    let newcomer = App::new("newcomer", &[]).keypair().public();

    // More than the introducer has: refused whole, naming what.
    let reply = peer
        .request_introduction(
            open_key,
            INTRODUCE_METHOD,
            introduction("newcomer", &newcomer, Some(&["host", "logs"])),
        )
        .await
        .unwrap();
    assert_eq!(reply.status, Status::FORBIDDEN);
    let why = String::from_utf8_lossy(&reply.body).into_owned();
    assert!(
        why.contains("\"logs\"") && why.contains("nothing was stored"),
        "{why}"
    );
    // To a manager whose operator does not accept introductions.
    let reply = owner
        .request_introduction(
            closed_key,
            INTRODUCE_METHOD,
            introduction("newcomer", &newcomer, None),
        )
        .await
        .unwrap();
    assert_eq!(reply.status, Status::FORBIDDEN);
    assert!(
        String::from_utf8_lossy(&reply.body).contains("does not accept introductions"),
        "{:?}",
        reply.body
    );
    // Malformed: a key of zeros, a body that is not an introduction.
    let zero = PublicKey([0; 32]);
    let reply = peer
        .request_introduction(
            open_key,
            INTRODUCE_METHOD,
            introduction("newcomer", &zero, None),
        )
        .await
        .unwrap();
    assert_eq!(reply.status, Status::BAD_REQUEST, "{:?}", reply.body);
    let reply = peer
        .request_introduction(
            open_key,
            INTRODUCE_METHOD,
            Bytes::from_static(b"{\"public_key\": 7}"),
        )
        .await
        .unwrap();
    assert_eq!(reply.status, Status::BAD_REQUEST, "{:?}", reply.body);
    // Introducing itself: already paired.
    let reply = peer
        .request_introduction(
            open_key,
            INTRODUCE_METHOD,
            introduction("me again", &app.keypair().public(), None),
        )
        .await
        .unwrap();
    assert_eq!(reply.status, Status::BAD_REQUEST, "{:?}", reply.body);
    for (home, only) in [(&open, "teammate"), (&closed, "owner")] {
        let names: Vec<String> = peers(&sandbox, home).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, [only], "nothing stored on {home:?}");
    }

    // Within its grant it is admitted; asked again (a lost answer), the
    // same answer and still one record.
    let mut answers = Vec::new();
    for _ in 0..2 {
        let reply = peer
            .request_introduction(
                open_key,
                INTRODUCE_METHOD,
                introduction("newcomer", &newcomer, None),
            )
            .await
            .unwrap();
        assert_eq!(reply.status, Status::OK, "{:?}", reply.body);
        let answer: Introduced = serde_json::from_slice(&reply.body).unwrap();
        answers.push(answer);
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0].public_key, open_key.to_string());
    assert_eq!(answers[0].capabilities, ["info", "host"]);
    eventually(LONG, "the newcomer stored once, granted host", || async {
        let all = peers(&sandbox, &open);
        all.len() == 2
            && all
                .iter()
                .any(|(n, g)| n == "newcomer" && *g == serde_json::json!(["host"]))
    })
    .await;

    // One line holds at most 16 introduced computers: a stolen laptop
    // cannot fill the manager.
    for n in 1..16 {
        let key = App::new("more", &[]).keypair().public();
        let reply = peer
            .request_introduction(
                open_key,
                INTRODUCE_METHOD,
                introduction(&format!("computer {n}"), &key, None),
            )
            .await
            .unwrap();
        assert_eq!(reply.status, Status::OK, "{n}: {:?}", reply.body);
    }
    let key = App::new("one too many", &[]).keypair().public();
    let reply = peer
        .request_introduction(
            open_key,
            INTRODUCE_METHOD,
            introduction("seventeenth", &key, None),
        )
        .await
        .unwrap();
    assert_eq!(reply.status, Status::FORBIDDEN, "{:?}", reply.body);
    assert!(
        String::from_utf8_lossy(&reply.body).contains("16 computers"),
        "{:?}",
        reply.body
    );
    assert_eq!(peers(&sandbox, &open).len(), 17, "the teammate and its 16");
}

trait ReadAll {
    fn read_to_string_lossy(&mut self, into: &mut String);
}

impl<R: std::io::Read> ReadAll for std::io::BufReader<R> {
    fn read_to_string_lossy(&mut self, into: &mut String) {
        let mut bytes = Vec::new();
        let _ = std::io::Read::read_to_end(self, &mut bytes);
        into.push_str(&String::from_utf8_lossy(&bytes));
    }
}

/// `desktop` joins through `laptop`, both in this process.
async fn join_through(laptop: &nodepair_peer::Peer, desktop: &nodepair_peer::Peer) {
    use nodepair_peer::PairingUpdate;
    let mut joining = desktop.offer_introduction().await.unwrap();
    let adding = laptop.introduce(joining.code.clone()).await.unwrap();
    let introducer = tokio::spawn(async move {
        let mut adding = adding;
        while let Some(update) = adding.next().await {
            match update {
                PairingUpdate::Compare { .. } => adding.confirm(true).await,
                PairingUpdate::Introduced(report) => return Ok(report),
                PairingUpdate::Failed(why) => return Err(why),
                _ => {}
            }
        }
        Err(nodepair_peer::PairingFailure::Stopped)
    });
    loop {
        match tokio::time::timeout(LONG, joining.next()).await.unwrap() {
            Some(PairingUpdate::Compare { .. }) => joining.confirm(true).await,
            Some(PairingUpdate::Joined { .. }) => break,
            Some(PairingUpdate::Failed(why)) => panic!("joining failed: {why}"),
            Some(_) => {}
            None => panic!("joining ended without a word"),
        }
    }
    let report = introducer.await.unwrap().unwrap();
    assert!(report.handed.is_ok(), "{}", report.describe());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_computer_is_cut_off_at_once_where_reachable_and_on_the_next_connect_elsewhere() {
    let sandbox = Sandbox::new().unwrap();
    let relay = Relay::start(&sandbox, &[]);
    let (a, b) = (
        manager(&sandbox, &relay, "alpha", true),
        manager(&sandbox, &relay, "bravo", true),
    );
    let alpha = a.run(&sandbox);
    let bravo = b.run(&sandbox);
    let (laptop_app, desktop_app, teammate_app) = (
        App::new("laptop", &[&relay.addr]),
        App::new("desktop", &[&relay.addr]),
        App::new("teammate", &[&relay.addr]),
    );
    let laptop = laptop_app.start().await;
    for home in [&a, &b] {
        let (out, _) = pair_with_args(&sandbox, home, &laptop, &[]).await;
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let (alpha_key, bravo_key) = (alpha.public_key(), bravo.public_key());
    online(&laptop, alpha_key, LONG).await;
    online(&laptop, bravo_key, LONG).await;
    let desktop = desktop_app.start().await;
    join_through(&laptop, &desktop).await;
    online(&desktop, alpha_key, LONG).await;
    online(&desktop, bravo_key, LONG).await;
    // A teammate paired by alpha's operator: another line.
    let teammate = teammate_app.start().await;
    let (out, _) = pair_with_args(&sandbox, &a, &teammate, &[]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    online(&teammate, alpha_key, LONG).await;

    // The teammate cannot cut off the person's computers.
    let report = teammate.cut_off("desktop").await;
    assert_eq!(report.cut_off(), 0, "{}", report.describe());
    assert!(
        matches!(
            report.managers[0].outcome,
            nodepair_peer::cut_off::CutOffOutcome::NotThere
        ),
        "{}",
        report.describe()
    );

    // Bravo is down when the laptop is lost.
    let bravo_log = bravo.stop_and_read_log();
    assert!(!bravo_log.is_empty());
    let report = desktop.cut_off("laptop").await;
    assert_eq!(report.cut_off(), 1, "{}", report.describe());
    assert_eq!(report.pending(), 1, "{}", report.describe());
    // The laptop's session with alpha ends within seconds: alpha told it,
    // and it forgot alpha.
    eventually(
        Duration::from_secs(20),
        "the laptop cut off by alpha",
        || async {
            !laptop
                .counterparties()
                .await
                .iter()
                .any(|c| c.public_key == alpha_key)
        },
    )
    .await;
    let on_alpha: Vec<String> = peers(&sandbox, &a).into_iter().map(|(n, _)| n).collect();
    assert!(!on_alpha.contains(&"laptop".to_owned()), "{on_alpha:?}");
    assert!(on_alpha.contains(&"desktop".to_owned()) && on_alpha.contains(&"teammate".to_owned()));
    // Kept for bravo, in the desktop's keystore.
    let kept = desktop_app
        .stored()
        .into_iter()
        .find(|c| c.public_key == *bravo_key.as_bytes())
        .unwrap();
    assert_eq!(kept.cut_offs, ["laptop"]);

    // Bravo back: the desktop tells it at its first session, and the
    // laptop's session there ends.
    let _bravo = b.run(&sandbox);
    eventually(LONG, "bravo cut off the laptop", || async {
        !peers(&sandbox, &b).iter().any(|(n, _)| n == "laptop")
    })
    .await;
    eventually(LONG, "the desktop's cut-off for bravo answered", || async {
        desktop_app
            .stored()
            .iter()
            .find(|c| c.public_key == *bravo_key.as_bytes())
            .is_some_and(|c| c.cut_offs.is_empty())
    })
    .await;
    assert!(peers(&sandbox, &b).iter().any(|(n, _)| n == "desktop"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn neither_computer_takes_a_handoff_it_should_not() {
    use nodepair_peer::PairingUpdate;
    use nodepair_protocol::introduction::{HANDOFF_METHOD, Handoff};
    let sandbox = Sandbox::new().unwrap();
    let relay = Relay::start(&sandbox, &[]);
    let (a, b) = (
        manager(&sandbox, &relay, "alpha", true),
        manager(&sandbox, &relay, "bravo", true),
    );
    let (alpha, bravo) = (a.run(&sandbox), b.run(&sandbox));
    let (laptop_app, desktop_app) = (
        App::new("laptop", &[&relay.addr]),
        App::new("desktop", &[&relay.addr]),
    );
    let laptop = laptop_app.start().await;
    for home in [&a, &b] {
        let (out, _) = pair_with_args(&sandbox, home, &laptop, &[]).await;
        assert!(out.status.success(), "{}", stderr(&out));
    }
    online(&laptop, alpha.public_key(), LONG).await;
    // Bravo is down: the laptop waits for it a while before introducing,
    // which leaves time for what follows.
    let _ = bravo.stop_and_read_log();
    let desktop = desktop_app.start().await;
    let mut joining = desktop.offer_introduction().await.unwrap();
    let mut adding = laptop.introduce(joining.code.clone()).await.unwrap();
    let (mut laptop_key, mut desktop_key) = (None, None);
    while laptop_key.is_none() || desktop_key.is_none() {
        tokio::select! {
            Some(update) = joining.next() => match update {
                PairingUpdate::Compare { .. } => joining.confirm(true).await,
                PairingUpdate::Met { computer, .. } => laptop_key = Some(computer.static_key),
                PairingUpdate::Failed(why) => panic!("{why}"),
                _ => {}
            },
            Some(update) = adding.next() => match update {
                PairingUpdate::Compare { .. } => adding.confirm(true).await,
                PairingUpdate::Met { computer, .. } => desktop_key = Some(computer.static_key),
                PairingUpdate::Failed(why) => panic!("{why}"),
                _ => {}
            },
        }
    }
    let (laptop_key, desktop_key) = (laptop_key.unwrap(), desktop_key.unwrap());
    let fake = Introduced {
        public_key: App::new("mallory", &[]).keypair().public().to_string(),
        node_id: "6f1c2a8e-5b0d-4c3e-9a71-2f4d8e6b1c09".into(),
        display_name: "alpha".into(),
        capabilities: vec!["info".into(), "host".into()],
    };
    let part = |managers: Vec<Introduced>, more: bool| {
        Bytes::from(serde_json::to_vec(&Handoff { managers, more }).unwrap())
    };
    let body = |managers: Vec<Introduced>| part(managers, false);
    // The new computer handing "managers" to the one introducing it.
    let reply = desktop
        .request_introduction(laptop_key, HANDOFF_METHOD, body(vec![fake.clone()]))
        .await
        .unwrap();
    assert_eq!(reply.status, Status::FORBIDDEN, "{:?}", reply.body);
    // The introducing one handing over, in two parts, a manager and then
    // the new computer itself: the first part is held, not stored; the
    // second refuses the whole handoff, and the new computer is told.
    let reply = laptop
        .request_introduction(desktop_key, HANDOFF_METHOD, part(vec![fake.clone()], true))
        .await
        .unwrap();
    assert_eq!(reply.status, Status::OK, "{:?}", reply.body);
    assert_eq!(&reply.body[..], br#"{"held":1}"#);
    let mut own = fake.clone();
    own.public_key = desktop_key.to_string();
    let reply = laptop
        .request_introduction(desktop_key, HANDOFF_METHOD, body(vec![own]))
        .await
        .unwrap();
    assert_eq!(reply.status, Status::BAD_REQUEST, "{:?}", reply.body);
    assert!(
        String::from_utf8_lossy(&reply.body).contains("nothing was stored"),
        "{:?}",
        reply.body
    );
    // Refused for good: no later handoff (here one naming the introducer
    // itself beside a good entry) is taken as if it were the whole.
    let mut theirs = fake.clone();
    theirs.public_key = laptop_key.to_string();
    let reply = laptop
        .request_introduction(
            desktop_key,
            HANDOFF_METHOD,
            body(vec![fake.clone(), theirs]),
        )
        .await
        .unwrap();
    assert_eq!(reply.status, Status::BAD_REQUEST, "{:?}", reply.body);
    assert!(
        desktop_app.stored().is_empty(),
        "the desktop stored nothing"
    );
    let names: Vec<String> = laptop
        .counterparties()
        .await
        .iter()
        .map(|c| c.name().to_owned())
        .collect();
    assert_eq!(names, ["alpha", "bravo"], "the laptop stored nothing");
    // The desktop's person is told why, and the handoff that follows (the
    // laptop's own, alpha only) is refused too: the laptop's report says
    // the new computer did not take it.
    loop {
        match tokio::time::timeout(LONG, joining.next()).await.unwrap() {
            Some(PairingUpdate::Failed(why)) => {
                assert!(why.to_string().contains("refused"), "{why}");
                break;
            }
            Some(PairingUpdate::Joined { managers, .. }) => {
                panic!("joined {} managers after a refused handoff", managers.len())
            }
            Some(_) => {}
            None => panic!("ended without a word"),
        }
    }
    loop {
        match tokio::time::timeout(LONG, adding.next()).await.unwrap() {
            Some(PairingUpdate::Introduced(report)) => {
                assert!(report.handed.is_err(), "{}", report.describe());
                break;
            }
            Some(PairingUpdate::Failed(why)) => panic!("{why}"),
            Some(_) => {}
            None => panic!("ended without a word"),
        }
    }
    assert!(
        desktop_app.stored().is_empty(),
        "the desktop stored nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_after_both_confirmed_nothing_is_introduced() {
    use nodepair_peer::PairingUpdate;
    let sandbox = Sandbox::new().unwrap();
    let relay = Relay::start(&sandbox, &[]);
    let a = manager(&sandbox, &relay, "alpha", true);
    let alpha = a.run(&sandbox);
    let (laptop_app, desktop_app) = (
        App::new("laptop", &[&relay.addr]),
        App::new("desktop", &[&relay.addr]),
    );
    let laptop = laptop_app.start().await;
    let (out, _) = pair_with_args(&sandbox, &a, &laptop, &[]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    online(&laptop, alpha.public_key(), LONG).await;
    let desktop = desktop_app.start().await;
    let mut joining = desktop.offer_introduction().await.unwrap();
    let mut adding = laptop.introduce(joining.code.clone()).await.unwrap();

    // Both people say the strings match.
    let mut confirmed = (false, false);
    while confirmed != (true, true) {
        let update = tokio::time::timeout(LONG, async {
            tokio::select! {
                Some(u) = joining.next() => (true, u),
                Some(u) = adding.next() => (false, u),
            }
        })
        .await
        .expect("both compare");
        match update {
            (true, PairingUpdate::Compare { .. }) => {
                joining.confirm(true).await;
                confirmed.0 = true;
            }
            (false, PairingUpdate::Compare { .. }) => {
                adding.confirm(true).await;
                confirmed.1 = true;
            }
            (_, PairingUpdate::Failed(why)) => panic!("{why}"),
            _ => {}
        }
    }
    // The pairing completes within moments; the code is then watched for
    // a second answer (10 s), and only after that is anyone introduced.
    // The laptop's person cancels in between.
    tokio::time::sleep(Duration::from_secs(3)).await;
    adding.cancel().await;
    loop {
        match tokio::time::timeout(LONG, adding.next()).await.unwrap() {
            Some(PairingUpdate::Failed(why)) => {
                assert!(why.to_string().contains("cancel"), "{why}");
                break;
            }
            Some(PairingUpdate::Met { .. } | PairingUpdate::Introduced(_)) => {
                panic!("the introduction went on after the person cancelled it")
            }
            Some(_) => {}
            None => panic!("the laptop's side ended without a word"),
        }
    }
    // The new computer is told, and takes nothing.
    loop {
        match tokio::time::timeout(LONG, joining.next()).await.unwrap() {
            Some(PairingUpdate::Failed(_)) | None => break,
            Some(PairingUpdate::Joined { managers, .. }) => {
                panic!(
                    "the desktop joined {} managers after the cancel",
                    managers.len()
                )
            }
            Some(_) => {}
        }
    }
    assert!(
        desktop_app.stored().is_empty(),
        "the desktop stored nothing"
    );
    let apps: Vec<String> = peers(&sandbox, &a).into_iter().map(|(n, _)| n).collect();
    assert_eq!(apps, ["laptop"], "alpha admitted nobody");
}
