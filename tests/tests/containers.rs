//! Containers across processes: a real `nodepair-manager run` daemon reads
//! and drives containers in a real engine (Podman's Docker-compatible API,
//! started by each test in a private directory), and an app in this process
//! sees them through `services` and `logs`. What the operator did not allow
//! is refused before the engine is asked: the engine's own events say so.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use nodepair_peer::{Peer, PeerEvent, Reply};
use nodepair_protocol::api::logs::{
    Lines, LogsFollow, LogsSources, LogsTail, SourceKind, SourceRequest, TailRequest,
};
use nodepair_protocol::api::services::{Service, ServiceKind, ServicesControl, ServicesList};
use nodepair_protocol::api::{self, Method};
use nodepair_protocol::{PublicKey, Status};
use nodepair_tests::Sandbox;
use nodepair_tests::net::{ManagerHome, eventually, next_event, paired, paired_by};
use nodepair_tests::podman::Podman;
use std::time::Duration;

const LONG: Duration = Duration::from_secs(30);

/// Prints `line N` on standard output and `warn N` on standard error ten
/// times a second.
const PRINTER: &str =
    "i=0; while :; do echo \"line $i\"; echo \"warn $i\" >&2; i=$((i+1)); usleep 100000; done";

/// The manager's configuration for containers in `podman`'s engine.
fn engine(podman: &Podman, rest: &str) -> String {
    format!(
        "\n[containers]\nsocket = \"{}\"\ntimeout_ms = 3000\naction_timeout_secs = 30\n{rest}",
        podman.socket().display()
    )
}

/// Asks, again while the manager's rate limit says so.
async fn ask(app: &Peer, manager: PublicKey, method: &str, body: Vec<u8>) -> Reply {
    loop {
        let reply = app.request(manager, method, body.clone()).await.unwrap();
        if reply.status != Status::RATE_LIMITED {
            return reply;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn list(app: &Peer, manager: PublicKey) -> Vec<Service> {
    let reply = ask(app, manager, ServicesList::NAME, Vec::new()).await;
    assert_eq!(
        reply.status,
        Status::OK,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    api::decode_response::<ServicesList>(&reply.body)
        .unwrap()
        .services
}

/// `services.control` with a body written by hand (so a bad one can be sent).
async fn control(app: &Peer, manager: PublicKey, name: &str, action: &str) -> Reply {
    let body = serde_json::json!({ "unit": name, "action": action });
    ask(
        app,
        manager,
        ServicesControl::NAME,
        serde_json::to_vec(&body).unwrap(),
    )
    .await
}

fn body(reply: &Reply) -> String {
    String::from_utf8_lossy(&reply.body).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn containers_are_listed_and_controlled_as_allowed_and_nothing_else_reaches_the_engine() {
    let podman = Podman::start();
    podman.run("geth", PRINTER);
    podman.run("lighthouse", PRINTER);
    podman.run("vault", PRINTER);
    let sandbox = Sandbox::new().unwrap();
    let extra = engine(
        &podman,
        "[services]\ncontainers = [\"geth\", \"lighthouse\", \"nethermind\"]\ncontrollable = [\"geth\"]\n",
    );
    let node = paired(&sandbox, &["info", "services"], &extra).await;
    let (app, manager) = (&node.app, node.manager);

    // Listed, in order; the one not listed is not there at all.
    let services = list(app, manager).await;
    let seen: Vec<_> = services
        .iter()
        .map(|s| {
            (
                s.unit.as_str(),
                s.active_state.as_str(),
                s.sub_state.as_str(),
                s.load_state.as_str(),
                s.controllable,
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("geth", "active", "running", "loaded", true),
            ("lighthouse", "active", "running", "loaded", false),
            ("nethermind", "inactive", "dead", "not-found", false),
        ]
    );
    assert!(
        services
            .iter()
            .all(|s| s.kind == ServiceKind::Container && s.error.is_none())
    );
    let geth = services[0]
        .container
        .clone()
        .expect("a container's details");
    assert_eq!(geth.image, nodepair_tests::podman::IMAGE);
    assert_eq!((geth.health, geth.exit_code), (None, None));
    assert_eq!(geth.id.len(), 12);
    let started = services[0].since_ms.expect("since it started");

    // Stop, start, restart: done by the engine, and the state follows.
    let since = jiff::Timestamp::now();
    let stopped = control(app, manager, "geth", "stop").await;
    assert_eq!(stopped.status, Status::OK, "{}", body(&stopped));
    let stopped = api::decode_response::<ServicesControl>(&stopped.body).unwrap();
    assert_eq!(
        (stopped.active_state.as_str(), stopped.sub_state.as_str()),
        ("inactive", "exited")
    );
    assert_eq!(stopped.container.unwrap().exit_code, Some(0));
    assert_eq!(list(app, manager).await[0].active_state, "inactive");
    let again = control(app, manager, "geth", "start").await;
    assert_eq!(again.status, Status::OK, "{}", body(&again));
    let again = api::decode_response::<ServicesControl>(&again.body).unwrap();
    assert_eq!(again.active_state, "active");
    let restarted_from = again.since_ms.unwrap();
    assert!(restarted_from > started);
    let restarted = control(app, manager, "geth", "restart").await;
    assert_eq!(restarted.status, Status::OK, "{}", body(&restarted));
    let restarted = api::decode_response::<ServicesControl>(&restarted.body).unwrap();
    assert_eq!(restarted.active_state, "active");
    assert!(restarted.since_ms.unwrap() > restarted_from, "a new start");
    let events = podman.events("geth", since);
    // Podman tells a stop as the container's death.
    for word in ["died", "start", "restart"] {
        assert!(events.iter().any(|e| e == word), "{word} in {events:?}");
    }

    // Listed but not controllable, not listed, odd names, a verb not in
    // the set: each refused with its own status, and the engine never asked.
    let since = jiff::Timestamp::now();
    let refused = control(app, manager, "lighthouse", "stop").await;
    assert_eq!(refused.status, Status::FORBIDDEN);
    assert!(
        body(&refused).contains("does not allow apps to control lighthouse"),
        "{}",
        body(&refused)
    );
    for name in [
        "vault",
        "../containers/vault",
        "vault?force=1",
        "vault/../../geth",
        "",
        "géth",
        "lighthouse\n",
    ] {
        let refused = control(app, manager, name, "restart").await;
        assert_eq!(refused.status, Status::FORBIDDEN, "{name:?}");
        assert!(
            body(&refused).contains("is not one of the services"),
            "{name:?}: {}",
            body(&refused)
        );
    }
    let bad = control(app, manager, "geth", "kill").await;
    assert_eq!(bad.status, Status::BAD_REQUEST);
    assert!(body(&bad).contains("kill"), "{}", body(&bad));
    let nothing = control(app, manager, "nethermind", "start").await;
    assert_eq!(
        nothing.status,
        Status::FORBIDDEN,
        "listed, not controllable"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    for name in ["lighthouse", "vault", "geth"] {
        assert_eq!(
            podman.events(name, since),
            Vec::<String>::new(),
            "{name} untouched"
        );
    }
    assert_eq!(
        podman
            .ok(&["inspect", "--format", "{{.State.Status}}", "vault"])
            .trim(),
        "running"
    );

    // Who asked is in the operator's audit log.
    let log = node.daemon.stop_and_read_log();
    let who = app.public_key().fingerprint();
    assert!(
        log.lines().any(|l| l.contains("service action done")
            && l.contains(&who)
            && l.contains("restart")),
        "{log}"
    );
    assert!(log.contains("refused: not controllable"), "{log}");
}

/// Lines of `stream` until `enough` holds of all received, with the bytes
/// dropped on the way.
async fn lines_until(
    events: &mut tokio::sync::broadcast::Receiver<PeerEvent>,
    stream: &str,
    mut enough: impl FnMut(&[String]) -> bool,
) -> (Vec<String>, u64) {
    let (mut all, mut dropped) = (Vec::new(), 0);
    while !enough(&all) {
        let lines: Lines = next_event(events, stream).await;
        dropped += lines.dropped_bytes;
        all.extend(lines.lines);
    }
    (all, dropped)
}

/// The numbers of the `word N` lines, in the order received.
fn numbers(lines: &[String], word: &str) -> Vec<u64> {
    lines
        .iter()
        .filter_map(|l| l.split_once(' ').map(|(_, text)| text))
        .filter_map(|t| t.strip_prefix(word)?.strip_prefix(' ')?.parse().ok())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_containers_output_is_tailed_and_followed_across_restarts_within_its_budget() {
    let podman = Podman::start();
    podman.run("geth", PRINTER);
    // About 1 MB/s: a hundred lines of a thousand bytes every tenth of a second.
    podman.run(
        "chatty",
        "s=$(head -c 1000 /dev/zero | tr '\\0' x); while :; do for i in 0 1 2 3 4 5 6 7 8 9; do for j in 0 1 2 3 4 5 6 7 8 9; do echo \"$s\"; done; done; usleep 100000; done",
    );
    podman.run_with(
        "console",
        nodepair_tests::podman::IMAGE,
        &["--tty"],
        "while :; do printf '\\r%s' \"$(date)\"; usleep 100000; done",
    );
    let sandbox = Sandbox::new().unwrap();
    let extra = engine(
        &podman,
        "[logs]\ncontainers = [\"geth\", \"chatty\", \"console\"]\nunits = [\"geth.service\"]\nbytes_per_sec = 16384\n",
    );
    let node = paired(&sandbox, &["info", "logs"], &extra).await;
    let (app, manager) = (&node.app, node.manager);

    let sources = ask(app, manager, LogsSources::NAME, Vec::new()).await;
    let sources = api::decode_response::<LogsSources>(&sources.body).unwrap();
    assert_eq!(
        sources.sources,
        ["geth.service", "geth", "chatty", "console"]
    );
    assert_eq!(
        sources.kinds,
        [
            SourceKind::Unit,
            SourceKind::Container,
            SourceKind::Container,
            SourceKind::Container
        ]
    );
    let tail = |source: &str, lines| {
        api::encode(&TailRequest {
            source: source.into(),
            lines,
            skip: 0,
            pattern: None,
        })
    };

    // A container with a terminal writes no lines the manager can bound (a
    // progress bar never ends one): refused, saying how to share it.
    let reply = ask(app, manager, LogsTail::NAME, tail("console", 5)).await;
    assert_eq!(reply.status, Status::UPSTREAM_ERROR);
    assert!(
        body(&reply).contains("runs with a terminal (tty: true)"),
        "{}",
        body(&reply)
    );

    // The tail: both streams, each line with its time to the second.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let reply = ask(app, manager, LogsTail::NAME, tail("geth", 6)).await;
    assert_eq!(reply.status, Status::OK, "{}", body(&reply));
    let tailed = api::decode_response::<LogsTail>(&reply.body).unwrap();
    assert_eq!(tailed.lines.len(), 6, "{:?}", tailed.lines);
    for line in &tailed.lines {
        let (at, text) = line.split_once(' ').unwrap();
        assert!(
            at.len() == 20 && at.ends_with('Z') && at.parse::<jiff::Timestamp>().is_ok(),
            "{line}"
        );
        assert!(
            text.starts_with("line ") || text.starts_with("warn "),
            "{line}"
        );
    }
    assert!(
        !numbers(&tailed.lines, "warn").is_empty(),
        "standard error too"
    );

    // Follow; the container restarts; the follow goes on, each line once.
    let mut events = app.events();
    let follow = |source: &str| {
        api::encode(&SourceRequest {
            source: source.into(),
        })
    };
    let started = ask(app, manager, LogsFollow::NAME, follow("geth")).await;
    assert_eq!(started.status, Status::OK, "{}", body(&started));
    let stream = api::decode_response::<LogsFollow>(&started.body)
        .unwrap()
        .stream;
    let (before, _) = lines_until(&mut events, &stream, |l| numbers(l, "line").len() >= 10).await;
    podman.ok(&["restart", "--time=1", "geth"]);
    let (after, dropped) = lines_until(&mut events, &stream, |l| {
        let n = numbers(l, "line");
        n.windows(2).filter(|w| w[1] < w[0]).count() == 1 && n.last().is_some_and(|&x| x >= 15)
    })
    .await;
    assert_eq!(dropped, 0);
    let all: Vec<String> = before.into_iter().chain(after).collect();
    let lines = numbers(&all, "line");
    let restart = lines.windows(2).position(|w| w[1] < w[0]).unwrap() + 1;
    let (first, second) = lines.split_at(restart);
    for run in [first, second] {
        assert!(
            run.windows(2).all(|w| w[1] == w[0] + 1),
            "each line once, in order: {run:?}"
        );
    }
    assert_eq!(second[0], 0, "the new run from its first line: {lines:?}");

    // Removed and created again under the same name: followed still.
    podman.ok(&["rm", "--force", "--time=0", "geth"]);
    podman.run(
        "geth",
        "i=0; while :; do echo \"again $i\"; i=$((i+1)); usleep 100000; done",
    );
    let (recreated, _) =
        lines_until(&mut events, &stream, |l| numbers(l, "again").len() >= 3).await;
    assert_eq!(numbers(&recreated, "again")[..3], [0, 1, 2]);

    // A writer at about 1 MB/s: the follow sends its budget, counts the rest.
    let started = ask(app, manager, LogsFollow::NAME, follow("chatty")).await;
    assert_eq!(started.status, Status::OK, "{}", body(&started));
    let chatty = api::decode_response::<LogsFollow>(&started.body)
        .unwrap()
        .stream;
    let begun = tokio::time::Instant::now();
    let (mut sent, mut dropped) = (0u64, 0u64);
    while begun.elapsed() < Duration::from_secs(5) {
        let event = tokio::time::timeout(LONG, events.recv())
            .await
            .unwrap()
            .unwrap();
        if let PeerEvent::Stream { event, .. } = event
            && event.stream == chatty
        {
            let lines: Lines = serde_json::from_slice(&event.body).unwrap();
            sent += lines.lines.iter().map(|l| l.len() as u64 + 1).sum::<u64>();
            dropped += lines.dropped_bytes;
        }
    }
    let secs = begun.elapsed().as_secs_f64();
    // The budget, plus its burst and a batch in flight.
    assert!(
        (sent as f64) <= 16384.0 * (secs + 2.0),
        "sent {sent} bytes in {secs:.1} s at 16 KiB/s"
    );
    assert!(sent >= 16384, "sent {sent}");
    assert!(
        dropped > 5 * sent,
        "the writer's megabytes counted as dropped: {dropped}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_going_away_reads_as_unreachable_and_coming_back_as_before() {
    let mut podman = Podman::start();
    podman.run("geth", PRINTER);
    let sandbox = Sandbox::new().unwrap();
    let extra = engine(
        &podman,
        "[services]\ncontainers = [\"geth\"]\ncontrollable = [\"geth\"]\n",
    );
    let node = paired(&sandbox, &["info", "services"], &extra).await;
    let (app, manager) = (&node.app, node.manager);
    let first = list(app, manager).await;
    assert_eq!(first[0].active_state, "active");
    let first_id = first[0].container.clone().unwrap().id;

    // The engine stops: the container's state is unknown, and says why.
    podman.stop_service();
    let gone = list(app, manager).await;
    let why = gone[0].error.clone().expect("an error, not a state");
    assert!(why.contains("unreachable"), "{why}");
    assert_eq!(
        (gone[0].active_state.as_str(), gone[0].container.is_none()),
        ("", true)
    );
    let refused = control(app, manager, "geth", "restart").await;
    assert_eq!(refused.status, Status::UPSTREAM_ERROR);
    assert!(body(&refused).contains("unreachable"), "{}", body(&refused));

    // Back: read as before, with nothing restarted on the manager's side.
    podman.start_service();
    eventually(LONG, "the container reads as running again", || async {
        list(app, manager).await[0].active_state == "active"
    })
    .await;

    // Removed and created again under its name: the new one is shown.
    podman.ok(&["rm", "--force", "--time=0", "geth"]);
    let removed = list(app, manager).await;
    assert_eq!(removed[0].load_state, "not-found");
    podman.run("geth", PRINTER);
    let back = list(app, manager).await;
    assert_eq!(back[0].active_state, "active");
    assert_ne!(back[0].container.clone().unwrap().id, first_id);

    let log = node.daemon.stop_and_read_log();
    assert!(
        log.contains("the container engine is unreachable at"),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_the_manager_may_not_open_is_read_as_denied_and_its_log_says_what_to_change() {
    let podman = Podman::start();
    podman.run("geth", PRINTER);
    // Another user's socket, closed to others, as Docker's is to a user
    // not in its group.
    let socket = podman.socket();
    let chown = std::process::Command::new("chown")
        .args(["nobody", &socket.display().to_string()])
        .status()
        .unwrap();
    assert!(chown.success());
    std::fs::set_permissions(&socket, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let sandbox = Sandbox::new().unwrap();
    let extra = engine(
        &podman,
        "[services]\ncontainers = [\"geth\"]\ncontrollable = [\"geth\"]\n[logs]\ncontainers = [\"geth\"]\n",
    );
    let node = paired_by(
        &sandbox,
        &["info", "services", "logs"],
        &extra,
        ManagerHome::run_without_file_override,
    )
    .await;
    let (app, manager) = (&node.app, node.manager);
    let services = list(app, manager).await;
    let why = services[0].error.clone().expect("an error");
    assert!(why.contains("permission denied on"), "{why}");
    let refused = control(app, manager, "geth", "stop").await;
    assert_eq!(refused.status, Status::UPSTREAM_ERROR);
    let tail = api::encode(&TailRequest {
        source: "geth".into(),
        lines: 5,
        skip: 0,
        pattern: None,
    });
    let refused = ask(app, manager, LogsTail::NAME, tail).await;
    assert_eq!(refused.status, Status::UPSTREAM_ERROR);
    assert!(
        body(&refused).contains("permission denied"),
        "{}",
        body(&refused)
    );
    assert_eq!(
        podman
            .ok(&["inspect", "--format", "{{.State.Status}}", "geth"])
            .trim(),
        "running"
    );
    let log = node.daemon.stop_and_read_log();
    assert!(
        log.contains("may not open the container engine's socket"),
        "{log}"
    );
    assert!(log.contains("usermod -aG docker"), "{log}");
    assert_eq!(
        log.matches("may not open the container engine's socket")
            .count(),
        1,
        "told once: {log}"
    );
}
