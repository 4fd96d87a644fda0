//! Helpers for NodePair's cross-process tests.
//!
//! The tests in this crate's `tests/` folder start NodePair's real binaries
//! (building them first when needed), talk to them the
//! way a user or a script would, and stop them at the end. This library finds
//! those binaries and runs them with a private environment, so a test never
//! reads the developer's own configuration or keyring.

#![deny(missing_docs)]

pub mod delay_proxy;
pub mod desktop;
pub mod fixtures;
pub mod fleet;
pub mod hostile;
pub mod load;
pub mod mainnet_node;
pub mod net;
pub mod netns;
pub mod podman;
pub mod staking_node;
pub mod wan;
pub mod window;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

/// Path of a binary of this workspace, freshly built.
///
/// `cargo test` builds other packages' binaries only when their own
/// integration tests need them, so the first call for each binary runs
/// `cargo build` for it (a no-op when it is up to date, so an edit to the
/// manager is never tested through a stale binary). Binaries are built with
/// the profile the tests were built with. Under cargo-nextest, which runs
/// each test in a process of its own, the build is done once per run: the
/// first process to build a binary leaves a mark named after
/// `NEXTEST_RUN_ID`, and the others of that run trust it.
///
/// # Panics
///
/// When the build fails: the test cannot run without the binary.
pub fn binary(name: &str) -> PathBuf {
    static BUILT: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let mut built = BUILT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // Test executables live in <target>/<profile>/deps/.
    let exe = std::env::current_exe().expect("the test knows its own path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executables live two levels under the target dir");
    let path = profile_dir.join(name);
    let run_mark = built_in_this_run(profile_dir, name);
    if run_mark.as_ref().is_some_and(|mark| mark.exists()) {
        built.push(name.to_owned());
    }
    if !built.iter().any(|b| b == name) {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "--quiet", "--workspace", "--bin", name])
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        // What `cargo test` sets for this test process, not for a build: a
        // build script watching one of them (ring's watches
        // CARGO_MANIFEST_DIR) would see it change, and each build, this one
        // and the next `cargo test`, would rebuild ring and all above it.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            let set_for_tests = [
                "CARGO_PKG_",
                "CARGO_MANIFEST_",
                "CARGO_CRATE_",
                "CARGO_BIN_",
            ]
            .iter()
            .any(|prefix| key.starts_with(prefix))
                || ["CARGO_PRIMARY_PACKAGE", "CARGO_TARGET_TMPDIR", "OUT_DIR"].contains(&&*key);
            if set_for_tests {
                cmd.env_remove(&*key);
            }
        }
        if profile_dir.file_name().is_some_and(|p| p == "release") {
            cmd.arg("--release");
        }
        if let Some(target_dir) = profile_dir.parent() {
            cmd.env("CARGO_TARGET_DIR", target_dir);
        }
        let status = cmd.status().expect("cargo can be started");
        assert!(status.success(), "`cargo build --bin {name}` failed");
        built.push(name.to_owned());
        if let Some(mark) = run_mark {
            // A mark that cannot be written only costs the next test a
            // no-op build.
            if let Some(dir) = mark.parent() {
                let _ = std::fs::create_dir_all(dir).and_then(|()| std::fs::write(&mark, b""));
            }
        }
    }
    assert!(path.is_file(), "{} was not built", path.display());
    path
}

/// Under cargo-nextest: the mark saying `name` was built during this run
/// (`<target>/nodepair-built/<run id>/<name>`). Marks of earlier runs are
/// removed when a run makes its directory.
fn built_in_this_run(profile_dir: &Path, name: &str) -> Option<PathBuf> {
    let run = std::env::var("NEXTEST_RUN_ID").ok()?;
    // The id is a UUID; anything else is not used as a path.
    if run.is_empty() || !run.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        return None;
    }
    let marks = profile_dir.parent()?.join("nodepair-built");
    let this_run = marks.join(&run);
    if !this_run.exists() {
        for old in std::fs::read_dir(&marks).into_iter().flatten().flatten() {
            if old.file_name() != *run {
                let _ = std::fs::remove_dir_all(old.path());
            }
        }
    }
    Some(this_run.join(name))
}

/// A scratch home for one process: its own `HOME` and XDG directories, removed
/// when dropped, so nothing of the developer's machine leaks in or out.
#[derive(Debug)]
pub struct Sandbox {
    /// Deleted on drop; `None` for a view made with [`Sandbox::at`].
    _dir: Option<tempfile::TempDir>,
    root: PathBuf,
}

impl Sandbox {
    /// A new empty sandbox under the system temp dir.
    pub fn new() -> std::io::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("nodepair-test-")
            .tempdir()?;
        // XDG_RUNTIME_DIR must exist and be private, as logind makes it.
        let run = dir.path().join("run");
        std::fs::create_dir(&run)?;
        std::fs::set_permissions(&run, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
        Ok(Sandbox {
            root: dir.path().to_owned(),
            _dir: Some(dir),
        })
    }

    /// Another handle on the sandbox at `root` (for another thread); the
    /// sandbox is removed when its original handle drops, not this one.
    pub fn at(root: &Path) -> Sandbox {
        Sandbox {
            _dir: None,
            root: root.to_owned(),
        }
    }

    /// The sandbox's root directory.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// A command for `binary` that sees only the sandbox: `HOME`,
    /// `XDG_CONFIG_HOME`, `XDG_STATE_HOME` and `XDG_RUNTIME_DIR` point inside
    /// it; `RUST_LOG`, the session bus (so the developer's own keyring is
    /// never touched) and every passphrase source are cleared.
    pub fn command(&self, binary: &Path) -> Command {
        let mut cmd = Command::new(binary);
        let root = self.path();
        cmd.env("HOME", root)
            .env("XDG_CONFIG_HOME", root.join("config"))
            .env("XDG_STATE_HOME", root.join("state"))
            .env("XDG_RUNTIME_DIR", root.join("run"))
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .env_remove("STATE_DIRECTORY")
            .env_remove("CREDENTIALS_DIRECTORY")
            .env_remove("NODEPAIR_VAULT_PASSPHRASE");
        match debug_log() {
            Some(filter) => cmd.env("RUST_LOG", filter),
            None => cmd.env_remove("RUST_LOG"),
        };
        cmd
    }
}

/// The log filter set in `NODEPAIR_TEST_LOG` (e.g. `nodepair=debug`), for
/// debugging a test: the programs a test starts log with it (the daemons'
/// logs are copied to the test's stderr as they come), and so do the peers
/// it runs in-process. Unset, they log nothing here.
pub fn debug_log() -> Option<String> {
    std::env::var("NODEPAIR_TEST_LOG")
        .ok()
        .filter(|f| !f.is_empty())
}

/// Sends this process's own logs to stderr when `NODEPAIR_TEST_LOG` is set
/// (see [`debug_log`]); once per process.
pub fn init_debug_log() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    if let Some(filter) = debug_log() {
        ONCE.call_once(|| {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
                .with_writer(std::io::stderr)
                .try_init();
        });
    }
}

impl Sandbox {
    /// Runs the shell `script` inside a private D-Bus session with
    /// gnome-keyring started and its login keyring unlocked, so the OS
    /// keyring is a real Secret Service; then stops whatever the session
    /// left running (a daemon D-Bus activated can outlive its bus).
    ///
    /// # Panics
    ///
    /// When `dbus-run-session` cannot be started, or the script runs over
    /// two minutes.
    pub fn run_in_keyring_session(&self, script: &str) -> Output {
        const MARKER: &str = "NODEPAIR_TEST_SESSION";
        let marker = format!("{}", self.root.display());
        let (out_path, err_path) = (self.root.join("session.out"), self.root.join("session.err"));
        let mut child = self
            .command(Path::new("dbus-run-session"))
            .args(["--", "sh", "-c"])
            .arg(format!(
                "echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1 || exit 97; {script}"
            ))
            .env(MARKER, &marker)
            .stdin(std::process::Stdio::null())
            .stdout(std::fs::File::create(&out_path).expect("a file for stdout"))
            .stderr(std::fs::File::create(&err_path).expect("a file for stderr"))
            .spawn()
            .expect("dbus-run-session runs (install dbus and gnome-keyring)");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        let status = loop {
            if let Some(status) = child.try_wait().expect("waitable") {
                break status;
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                kill_marked(MARKER, &marker);
                panic!("the keyring session did not end within 120 s");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        kill_marked(MARKER, &marker);
        Output {
            status,
            stdout: std::fs::read(&out_path).unwrap_or_default(),
            stderr: std::fs::read(&err_path).unwrap_or_default(),
        }
    }
}

/// Kills every process whose environment holds `var=value`.
pub(crate) fn kill_marked(var: &str, value: &str) {
    kill_and_wait(marked_pids(var, value));
}

/// Kills `pids` and waits until they have closed their files.
pub(crate) fn kill_and_wait(pids: Vec<u32>) {
    for pid in &pids {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
    // Gone before this returns: what a killed process held (a listening
    // control socket, a lock) is released only once it has exited, and a
    // command run right after must not reach a process that is dying (seen:
    // "connection reset" from a closing app under load). A dying process
    // loses its environment before its files, so it is waited on by pid
    // until it is gone or a zombie (whose files are closed), not until its
    // marker no longer shows.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while pids.iter().any(|&pid| still_holds_files(pid)) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Whether process `pid` exists and has not yet closed its files (is
/// neither gone nor a zombie).
fn still_holds_files(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The state is the first field after the command name in parentheses.
    let state = stat[stat.rfind(')').map_or(0, |i| i + 1)..]
        .split_whitespace()
        .next();
    !matches!(state, Some("Z" | "X"))
}

/// Every process whose environment holds `var=value`.
pub(crate) fn marked_pids(var: &str, value: &str) -> Vec<u32> {
    let needle = format!("{var}={value}");
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut pids = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        if environ.split(|&b| b == 0).any(|v| v == needle.as_bytes()) {
            pids.push(pid);
        }
    }
    pids
}

/// How long ago process `pid` started (to the clock tick, 10 ms).
///
/// # Panics
///
/// When it is not running.
pub fn started_ago(pid: u32) -> std::time::Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("a running process");
    // Fields after the command name, which may hold spaces: start time
    // (in ticks since boot) is the 22nd field, the 20th after the name.
    let rest = &stat[stat.rfind(')').map_or(0, |i| i + 2)..];
    let started: f64 = rest
        .split_whitespace()
        .nth(19)
        .and_then(|f| f.parse().ok())
        .expect("a start time");
    let uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|u| u.split_whitespace().next()?.parse().ok())
        .expect("/proc/uptime");
    std::time::Duration::from_secs_f64((uptime - started / clock_ticks()).max(0.0))
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// Standard output of a finished process, as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The JSON a command that succeeded printed on standard output.
///
/// # Panics
///
/// When it failed (its exit code and standard error say how) or printed
/// something else.
pub fn json_of(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        stderr(out)
    );
    serde_json::from_str(stdout(out).trim()).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

/// Standard error of a finished process, as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// User plus system CPU time process `pid` has used, in seconds
/// (`/proc/<pid>/stat`, in clock ticks of `getconf CLK_TCK`).
///
/// # Panics
///
/// When the process is gone.
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("a running process");
    // Fields after the command name, which may hold spaces: state is 3rd.
    let rest = &stat[stat.rfind(')').map_or(0, |i| i + 2)..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (field(11) + field(12)) as f64 / clock_ticks()
}

/// Resident memory of process `pid` in KiB (`VmRSS` in `/proc/<pid>/status`).
///
/// # Panics
///
/// When the process is gone or the file has no such line.
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("a running process");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("a VmRSS line")
}
