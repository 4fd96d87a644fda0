//! Runs one test inside a private D-Bus session with a real gnome-keyring.
//!
//! The test binary re-executes itself under `dbus-run-session`, with a fresh
//! `$HOME`, after starting the Secret Service the way the case needs (or not
//! at all). The session and its daemons end when the test does.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use nodepair_keystore::{EntryName, Keystore};
use std::fs::File;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Set in the re-executed child, which then runs the test body.
const CHILD: &str = "NODEPAIR_KEYSTORE_TEST_SESSION";

/// The Secret Service a test runs against.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Session {
    /// gnome-keyring with its login collection unlocked.
    Unlocked,
    /// A session bus that starts gnome-keyring on demand (D-Bus
    /// activation), which then has no login collection: a server with
    /// gnome-keyring installed but nobody ever logged in.
    NoCollection,
    /// A session bus with no Secret Service on it, nor any to start.
    NoService,
    /// No session bus at all.
    NoBus,
}

impl Session {
    fn setup(self) -> &'static str {
        match self {
            Session::Unlocked => UNLOCK,
            Session::NoCollection | Session::NoService | Session::NoBus => "true",
        }
    }
}

const UNLOCK: &str =
    "echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null || exit 97";

/// A session bus with no service directories: nothing can be activated.
const BARE_BUS: &str = r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:tmpdir=/tmp</listen>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#;

/// Locks the login collection of the session's gnome-keyring.
pub(crate) fn lock_keyring() {
    // (`secret-tool lock` crashes on Debian 12, so over D-Bus directly.)
    let ss =
        secret_service::blocking::SecretService::connect(secret_service::EncryptionType::Plain)
            .unwrap();
    let login = ss.get_default_collection().unwrap();
    login.lock().unwrap();
    assert!(login.is_locked().unwrap());
}

/// Unlocks the login collection again, as logging in would: a new
/// gnome-keyring replaces the session's one and opens the keyring files.
pub(crate) fn unlock_keyring() {
    // Its daemon outlives the command: no pipes for it to hold open.
    let status = Command::new("sh")
        .arg("-c")
        .arg("echo -n pw | gnome-keyring-daemon --replace --unlock --components=secrets")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "gnome-keyring-daemon --replace: {status}");
}

/// Whether this process is the re-executed child that should run the body.
/// In the parent, runs `test` in the child and asserts that it passed.
pub(crate) fn in_session(session: Session, test: &str) -> bool {
    if std::env::var_os(CHILD).is_some() {
        return true;
    }
    let exe = std::env::current_exe().unwrap();
    let home = tempfile::tempdir().unwrap();
    let runtime = tempfile::tempdir().unwrap();
    let script = format!(
        "{}; exec \"$0\" --exact \"$1\" --nocapture --test-threads=1",
        session.setup()
    );
    let mut cmd = match session {
        Session::NoBus => {
            let mut c = Command::new("sh");
            c.arg("-c").arg(&script);
            c
        }
        Session::NoService => {
            let config = runtime.path().join("bus.conf");
            std::fs::write(&config, BARE_BUS).unwrap();
            let mut c = Command::new("dbus-run-session");
            c.arg(format!("--config-file={}", config.display()));
            c.arg("--").arg("sh").arg("-c").arg(&script);
            c
        }
        _ => {
            let mut c = Command::new("dbus-run-session");
            c.arg("--").arg("sh").arg("-c").arg(&script);
            c
        }
    };
    cmd.arg(&exe)
        .arg(test)
        .env("HOME", home.path())
        .env("XDG_DATA_HOME", home.path().join(".local/share"))
        .env("XDG_CONFIG_HOME", home.path().join(".config"))
        .env("XDG_RUNTIME_DIR", runtime.path())
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove("GNOME_KEYRING_CONTROL");
    let marker = format!("{}-{test}", std::process::id());
    let (status, stdout, stderr) = run_and_reap(cmd, runtime.path(), &marker);
    assert!(
        status.success() && stdout.contains("test result: ok. 1 passed"),
        "{test} in a {session:?} session failed ({status}):\n{stdout}\n{stderr}"
    );
    false
}

/// Runs `cmd` (output to files, not pipes a stray daemon could hold open),
/// waits for it, then kills whatever it left running: every process whose
/// environment carries this run's marker, such as a gnome-keyring that D-Bus
/// activation started and that outlived its bus.
fn run_and_reap(mut cmd: Command, dir: &Path, marker: &str) -> (ExitStatus, String, String) {
    let (out_path, err_path) = (dir.join("stdout"), dir.join("stderr"));
    let mut child = cmd
        .env(CHILD, marker)
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).unwrap())
        .stderr(File::create(&err_path).unwrap())
        .spawn()
        .expect("dbus-run-session runs (install dbus, gnome-keyring, libsecret-tools)");
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            reap(marker);
            panic!("the test session did not end within 120 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    reap(marker);
    let read =
        |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned();
    (status, read(&out_path), read(&err_path))
}

fn reap(marker: &str) {
    let needle = format!("{CHILD}={marker}");
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        if environ
            .split(|&b| b == 0)
            .any(|var| var == needle.as_bytes())
        {
            let _ = Command::new("kill").args(["-KILL", pid]).status();
        }
    }
}

/// A namespace no other test run uses, so runs never see each other's items.
pub(crate) fn unique_service(tag: &str) -> String {
    format!("nodepair-test-{tag}-{}", std::process::id())
}

pub(crate) fn name(s: &str) -> EntryName {
    EntryName::new(s).unwrap()
}

/// What every backend must do, run the same way against each.
pub(crate) fn contract(store: &dyn Keystore) {
    assert!(store.names().unwrap().is_empty(), "starts empty");
    assert_eq!(store.get(&name("identity")).unwrap(), None);

    // Binary secrets of the sizes NodePair stores, and a large one.
    let key: Vec<u8> = (0..32u8).collect();
    let big: Vec<u8> = (0..16 * 1024).map(|i| (i * 7 % 251) as u8).collect();
    store.put(&name("identity"), &key).unwrap();
    store.put(&name("peer.a1b2"), &big).unwrap();
    store.put(&name("peer.zero"), &[0u8; 3]).unwrap();
    assert_eq!(store.get(&name("identity")).unwrap().unwrap().expose(), key);
    assert_eq!(
        store.get(&name("peer.a1b2")).unwrap().unwrap().expose(),
        big
    );
    assert_eq!(
        store.get(&name("peer.zero")).unwrap().unwrap().expose(),
        [0, 0, 0]
    );

    // Replacing keeps one entry with the new value.
    store.put(&name("identity"), b"second").unwrap();
    assert_eq!(
        store.get(&name("identity")).unwrap().unwrap().expose(),
        b"second"
    );
    assert_eq!(
        store.names().unwrap(),
        [name("identity"), name("peer.a1b2"), name("peer.zero")]
    );

    // Delete says whether there was something to delete.
    assert!(store.delete(&name("peer.zero")).unwrap());
    assert!(!store.delete(&name("peer.zero")).unwrap());
    assert_eq!(store.get(&name("peer.zero")).unwrap(), None);
    assert_eq!(
        store.names().unwrap(),
        [name("identity"), name("peer.a1b2")]
    );

    for n in store.names().unwrap() {
        store.delete(&n).unwrap();
    }
    assert!(store.names().unwrap().is_empty(), "ends empty");
}
