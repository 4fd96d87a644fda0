//! Faults an operator's machine meets, on the real binaries: the disk
//! filling up while a pairing is being saved, and the network between the
//! app's side and the manager's side cut and healed. What the user sees, and
//! that no counterparty is lost, doubled or half-written.
//!
//! A small tmpfs and a network namespace need root (CAP_SYS_ADMIN,
//! CAP_NET_ADMIN); elsewhere each test says so and stops.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use nodepair_keystore::{Counterparty, Vault};
use nodepair_protocol::NodeState;
use nodepair_tests::net::{App, MANAGER_PASSPHRASE, ManagerHome, Relay, eventually, pair, stop};
use nodepair_tests::netns::Netns;
use nodepair_tests::{Sandbox, stderr, stdout};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const LONG: Duration = Duration::from_secs(60);

/// A tmpfs of `size` mounted at `at`, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).unwrap();
        let ok = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(at)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(at.to_owned()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Writes `path` until the filesystem has no room left.
fn fill(path: &Path) {
    let mut file = std::fs::File::create(path).unwrap();
    let block = vec![0xa5u8; 4096];
    while file
        .write_all(&block)
        .and_then(|()| file.sync_all())
        .is_ok()
    {}
    // The last partial block may have fit byte by byte.
    while file.write_all(&[0]).and_then(|()| file.sync_all()).is_ok() {}
}

fn stored_apps(home: &ManagerHome) -> Vec<Counterparty> {
    let vault = Vault::open(&home.state.join("vault"), MANAGER_PASSPHRASE.as_bytes())
        .expect("the vault is whole and opens");
    Counterparty::load_all(&vault).expect("every record reads")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_while_saving_a_pairing_keeps_the_vault_whole() {
    let sandbox = Sandbox::new().unwrap();
    let relay = Relay::start(&sandbox, &[]);
    let home = ManagerHome::new(sandbox.path(), "validator-1", &[&relay.addr], LONG);
    let Some(_disk) = Tmpfs::mount(&home.state, "1m") else {
        eprintln!("skipped: mounting a tmpfs needs root (CAP_SYS_ADMIN) on this machine");
        return;
    };

    // One app paired while there is room.
    let daemon = home.run(&sandbox);
    let first_side = App::new("laptop", &[&relay.addr]);
    let first = first_side.start().await;
    let (out, _) = pair(&sandbox, &home, &first).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let before = std::fs::read(home.state.join("vault")).unwrap();

    // The disk fills up; a second app pairs.
    let filler = home.state.join("filler");
    fill(&filler);
    let second_side = App::new("desktop", &[&relay.addr]);
    let second = second_side.start().await;
    let offer = second.offer_pairing().await.unwrap();
    let code = offer.code.to_display_string();
    // The person at the app confirms when asked, while the operator pairs.
    let told =
        tokio::spawn(async move { tokio::time::timeout(LONG, offer.finish(|_, _| true)).await });
    let (root, cli_home) = (sandbox.path().to_owned(), home.clone());
    let out = tokio::task::spawn_blocking(move || {
        cli_home.cli(&Sandbox::at(&root), &["pair", "--yes", &code])
    })
    .await
    .unwrap();
    let operator_done = std::time::Instant::now();
    assert!(!out.status.success(), "{}", stdout(&out));
    let said = stderr(&out);
    assert!(
        said.contains("could not be stored") || said.contains("No space left"),
        "the operator is told the pairing was not saved: {said}"
    );
    // The app is told at once, and kept nothing.
    let told = told
        .await
        .unwrap()
        .expect("the app hears, not only when the code expires");
    assert!(
        operator_done.elapsed() < Duration::from_secs(20),
        "the app heard within 20 s of the operator"
    );
    let err = told.expect_err("the app did not pair").to_string();
    assert!(err.contains("cancel"), "{err}");
    assert!(second_side.stored().is_empty(), "the app kept nothing");

    // The vault is the one from before, byte for byte: no half-written record.
    assert_eq!(std::fs::read(home.state.join("vault")).unwrap(), before);
    let leftovers: Vec<_> = std::fs::read_dir(&home.state)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("tmp"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "no temporary file left: {leftovers:?}"
    );

    // The running daemon still serves the first app.
    let out = home.cli(&sandbox, &["peers", "--json"]);
    assert!(stdout(&out).contains("laptop"), "{}", stdout(&out));
    assert!(!stdout(&out).contains("desktop"), "{}", stdout(&out));

    // Room again: the second app pairs, and both are kept once.
    std::fs::remove_file(&filler).unwrap();
    let (out, _) = pair(&sandbox, &home, &second).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(daemon.terminate().success());
    let mut names: Vec<String> = stored_apps(&home)
        .into_iter()
        .map(|c| c.display_name)
        .collect();
    names.sort();
    assert_eq!(names, ["desktop", "laptop"]);
    stop(first).await;
    stop(second).await;
}

/// The manager and its relay sit in a namespace of their own; the app and its
/// relay in ours, the two relays peered over a veth pair. The link is cut for
/// long enough that both sides notice, then healed: both come back online by
/// themselves, a request goes through, and each side still keeps exactly one
/// counterparty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_between_the_two_sides_heals_by_itself() {
    let Some(net) = Netns::create("10.213", "npv") else {
        eprintln!(
            "skipped: making a network namespace and a veth pair needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN) and iproute2"
        );
        return;
    };
    let sandbox = Sandbox::new().unwrap();
    let far = Relay::start_in(&sandbox, &[], Some(&net.name), &net.theirs);
    let near = Relay::start(&sandbox, &[&far.addr]);
    let home = ManagerHome::new(sandbox.path(), "validator-1", &[&far.addr], LONG * 5);
    let daemon = home.run_in(&sandbox, Some(&net.name));
    let manager = daemon.public_key();
    let app_side = App::new("laptop", &[&near.addr]);
    let app = app_side.start().await;
    let (out, _) = pair(&sandbox, &home, &app).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let state = |app: &nodepair_peer::Peer| {
        let app = app.clone();
        async move {
            app.counterparties()
                .await
                .iter()
                .find(|v| v.public_key == manager)
                .map(|v| v.state)
        }
    };
    eventually(LONG, "online before the cut", || async {
        state(&app).await == Some(NodeState::Online)
    })
    .await;

    // Cut: the app notices the manager is gone (keepalive), and so does the
    // manager about the app.
    net.cut();
    let cut = std::time::Instant::now();
    eventually(
        Duration::from_secs(120),
        "the app sees the manager go",
        || async { state(&app).await != Some(NodeState::Online) },
    )
    .await;
    eprintln!("the app noticed the cut after {:?}", cut.elapsed());
    eventually(
        Duration::from_secs(120),
        "the manager sees the app go",
        || async {
            let out = home.cli(&sandbox, &["peers", "--json"]);
            !stdout(&out).contains("\"online\"")
        },
    )
    .await;

    // Heal: nobody does anything; both come back.
    net.heal();
    let healed = std::time::Instant::now();
    eventually(
        Duration::from_secs(180),
        "the app sees the manager again",
        || async { state(&app).await == Some(NodeState::Online) },
    )
    .await;
    eprintln!("back online {:?} after the heal", healed.elapsed());
    let reply = app
        .request(manager, "manager.info", bytes::Bytes::new())
        .await
        .unwrap();
    assert_eq!(reply.status, nodepair_protocol::Status::OK);
    assert_eq!(app_side.stored().len(), 1, "the app keeps the manager once");
    assert!(daemon.terminate().success());
    let kept = stored_apps(&home);
    assert_eq!(kept.len(), 1, "the manager keeps the app once");
    assert_eq!(kept[0].display_name, "laptop");
    stop(app).await;
    drop(near);
    drop(far);
}

/// The next host sample pushed on the follow stream, decoded.
async fn next_host(
    events: &mut tokio::sync::broadcast::Receiver<nodepair_peer::PeerEvent>,
) -> (u64, nodepair_protocol::api::host::HealthResponse) {
    loop {
        let event = tokio::time::timeout(LONG, events.recv())
            .await
            .expect("a pushed host sample within a minute")
            .expect("the event channel is open");
        if let nodepair_peer::PeerEvent::Stream { event, .. } = event
            && event.stream == nodepair_protocol::api::host::STREAM
        {
            return (event.seq, serde_json::from_slice(&event.body).unwrap());
        }
    }
}

fn unix_ms() -> u64 {
    u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

/// The manager's wall clock five minutes slow, then five minutes fast (the
/// app's is right): pairing, requests, a restart, and catching up from a
/// store node after the app was cut off all work as with clocks that agree.
/// A slow clock stamps its messages in the past, where a catch-up that
/// reached back only a few seconds before the cut would miss them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clocks_minutes_apart_change_nothing() {
    if nodepair_tests::net::libfaketime().is_none() {
        eprintln!("skipped: libfaketime is not installed (apt install faketime)");
        return;
    }
    for (offset, skew_ms) in [("-5m", -300_000i64), ("+5m", 300_000)] {
        skewed(offset, skew_ms).await;
    }
}

async fn skewed(offset: &str, skew_ms: i64) {
    use nodepair_protocol::api::{self, Method, host::HostFollow, host::HostFollowRequest};
    let sandbox = Sandbox::new().unwrap();
    let home_relay = Relay::start(&sandbox, &[]);
    let mut edge = Relay::start(&sandbox, &[&home_relay.addr]);
    let home = ManagerHome::with_config(
        sandbox.path(),
        "validator-1",
        &[&home_relay.addr],
        LONG * 10,
        &["info", "host"],
        "",
    );
    let daemon = home.run_skewed(&sandbox, offset);
    let manager = daemon.public_key();
    let app_side = App::new("laptop", &[&edge.addr]);
    let app = app_side.start().await;
    let (out, _) = pair(&sandbox, &home, &app).await;
    assert!(out.status.success(), "{offset}: {}", stderr(&out));
    eventually(LONG, "the manager is online", || async {
        app.counterparties()
            .await
            .iter()
            .any(|v| v.public_key == manager && v.state == NodeState::Online)
    })
    .await;

    // Its clock really is off: the samples it pushes say so.
    let mut events = app.events();
    let started = app
        .request(
            manager,
            HostFollow::NAME,
            api::encode(&HostFollowRequest { interval_ms: 1000 }),
        )
        .await
        .unwrap();
    assert_eq!(started.status, nodepair_protocol::Status::OK);
    let (_, before) = next_host(&mut events).await;
    let cut_at = before.samples[0].at_ms;
    let off = i64::try_from(cut_at).unwrap() - i64::try_from(unix_ms()).unwrap();
    assert!(
        (off - skew_ms).abs() < 30_000,
        "{offset}: the manager's clock is {off} ms off, not {skew_ms}"
    );

    // The app is cut off for a few seconds while the manager pushes; back
    // through the other relay, it gets what it missed from the store.
    edge.kill();
    eventually(LONG, "the app has no Waku peer", || async {
        app.waku().peers().await.unwrap().is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    while events.try_recv().is_ok() {}
    app.waku().dial(home_relay.addr.clone()).await.unwrap();
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + LONG;
    while got.len() < 4 && tokio::time::Instant::now() < deadline {
        let (seq, sample) = next_host(&mut events).await;
        got.push((seq, sample.samples[0].at_ms));
    }
    assert!(
        got.iter()
            .any(|(_, at)| *at > cut_at + 1500 && *at < cut_at + 4500),
        "{offset}: no push sent while the app was cut off reached it: {got:?} (cut at {cut_at})"
    );
    let seqs: Vec<u64> = got.iter().map(|(s, _)| *s).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "{offset}: each once, in order: {seqs:?}"
    );

    // A restart, still skewed: back online and answering.
    daemon.kill();
    let daemon = home.run_skewed(&sandbox, offset);
    let reply = app
        .request(manager, "manager.info", bytes::Bytes::new())
        .await
        .unwrap_or_else(|e| panic!("{offset}: not answered after a restart: {e}"));
    assert_eq!(reply.status, nodepair_protocol::Status::OK);
    assert_eq!(
        app_side.stored().len(),
        1,
        "{offset}: the app keeps the manager once"
    );
    stop(app).await;
    assert!(daemon.terminate().success());
    let kept = stored_apps(&home);
    assert_eq!(kept.len(), 1, "{offset}: the manager keeps the app once");
}

/// The OS keyring is locked while the manager runs (gnome-keyring in a
/// private D-Bus session; the manager keeps its keys there). A pairing made
/// then cannot be saved: the operator is told the keyring is locked, the app
/// is told at once that the pairing was cancelled, and the running daemon
/// still serves the app it had; no record is half-written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keyring_locked_while_the_manager_runs_keeps_what_it_had() {
    if !Command::new("sh")
        .args(["-c", "command -v dbus-run-session && command -v gnome-keyring-daemon && command -v dbus-send"])
        .output()
        .is_ok_and(|o| o.status.success())
    {
        eprintln!("skipped: needs dbus-run-session, dbus-send and gnome-keyring-daemon (apt install dbus gnome-keyring)");
        return;
    }
    let sandbox = Sandbox::new().unwrap();
    let relay = Relay::start(&sandbox, &[]);
    let home = ManagerHome::with_config(
        sandbox.path(),
        "validator-1",
        &[&relay.addr],
        LONG,
        &["info", "host"],
        "",
    );
    // The same manager, its keys in the OS keyring instead of a vault.
    let text = std::fs::read_to_string(&home.config).unwrap();
    let keyring =
        text[..text.find("[keystore]").unwrap()].to_owned() + "[keystore]\nbackend = \"keyring\"\n";
    std::fs::write(&home.config, keyring).unwrap();
    let apps: Vec<_> = ["laptop", "desktop"]
        .iter()
        .map(|name| nodepair_tests::net::AppHome::new(sandbox.path(), name, &[&relay.addr]))
        .collect();
    let (m, a) = (
        nodepair_tests::binary("nodepair-manager"),
        nodepair_tests::binary("nodepair"),
    );
    let (m, mc, a) = (m.display(), home.config.display(), a.display());
    let dir = sandbox.path().display();
    // `pair_app N`: the app offers a code, the operator types it.
    let script = format!(
        "pair_app() {{ \
           '{a}' --config \"$1\" pair --yes --json > '{dir}'/$2.app.out 2> '{dir}'/$2.app.err & app=$!; \
           while ! grep -q '\"code\"' '{dir}'/$2.app.out 2>/dev/null; do sleep 0.1; done; \
           code=$(sed -n 's/.*\"code\":\"\\([^\"]*\\)\".*/\\1/p' '{dir}'/$2.app.out | head -n1); \
           '{m}' --config '{mc}' pair --yes \"$code\" > '{dir}'/$2.pair.out 2> '{dir}'/$2.pair.err; \
           echo \"$2 pair exit $?\"; wait $app; echo \"$2 app exit $?\"; }}; \
         '{m}' --config '{mc}' run --json > '{dir}'/daemon.out 2> '{dir}'/daemon.err & daemon=$!; \
         while ! grep -q public_key '{dir}'/daemon.out 2>/dev/null; do sleep 0.1; kill -0 $daemon || exit 98; done; \
         pair_app '{}' first; \
         dbus-send --session --print-reply --dest=org.freedesktop.secrets /org/freedesktop/secrets \
           org.freedesktop.Secret.Service.Lock array:objpath:/org/freedesktop/secrets/collection/login \
           > /dev/null && echo locked; \
         pair_app '{}' second; \
         '{m}' --config '{mc}' peers --json; echo; \
         kill $daemon; wait $daemon; echo \"daemon exit $?\"",
        apps[0].config.display(),
        apps[1].config.display(),
    );
    let out = sandbox.run_in_keyring_session(&script);
    let said = stdout(&out);
    let file = |name: &str| std::fs::read_to_string(sandbox.path().join(name)).unwrap_or_default();
    eprintln!(
        "{said}\noperator: {}app: {}",
        file("second.pair.err"),
        file("second.app.out") + &file("second.app.err")
    );
    assert!(
        said.contains("first pair exit 0"),
        "{said}\n{}",
        file("first.pair.err")
    );
    assert!(said.contains("first app exit 0"), "{said}");
    assert!(said.contains("locked"), "the keyring was locked: {said}");
    // The operator is told why, and what to do.
    assert!(!said.contains("second pair exit 0"), "{said}");
    let operator = file("second.pair.err");
    assert!(operator.contains("keyring is locked"), "{operator}");
    // The app is told the pairing was cancelled, and keeps nothing.
    assert!(!said.contains("second app exit 0"), "{said}");
    let app = file("second.app.out") + &file("second.app.err");
    assert!(app.contains("cancel"), "{app}");
    let out = apps[1].cli(&sandbox, &["managers", "--json"]);
    assert!(!stdout(&out).contains("validator-1"), "{}", stdout(&out));
    // The daemon still had, and served, the first app only.
    let peers = said
        .lines()
        .find(|l| l.starts_with('{') && l.contains("peers"))
        .unwrap_or_else(|| panic!("no peers line: {said}"));
    assert!(
        peers.contains("laptop") && !peers.contains("desktop"),
        "{peers}"
    );
    assert!(
        said.contains("daemon exit 0"),
        "it stopped cleanly: {said}\n{}",
        file("daemon.err")
    );
}
