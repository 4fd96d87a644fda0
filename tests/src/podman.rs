//! A real container engine for the tests: Podman with its Docker-compatible API served on a socket in a private directory, images made from a busybox rootfs without a registry, and nothing left running once dropped.
//!
//! Podman runs here with `runc` (crun fails on this kernel's hybrid
//! cgroups), `cgroupfs`, no network for its containers, and low rlimits
//! (it may not raise them); its events go to a file, so a test can read
//! what the engine was asked to do.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The image every test container runs: busybox's shell and tools.
pub const IMAGE: &str = "localhost/nodepair-fixture:latest";

/// Why Podman cannot run here, if it cannot.
pub fn unavailable() -> Option<String> {
    for tool in ["podman", "runc", "busybox"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            return Some(format!(
                "{tool} is not installed (scripts/install.sh installs it)"
            ));
        }
    }
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout)
        .unwrap_or_default();
    if uid.trim_ascii() != b"0" {
        return Some("Podman's tests run as root here".into());
    }
    None
}

/// A Podman of the test's own, and its API service.
#[derive(Debug)]
pub struct Podman {
    dir: tempfile::TempDir,
    service: Option<Child>,
}

impl Podman {
    /// Podman set up in a private directory, the fixture image imported and
    /// the API service started (answering `_ping`).
    ///
    /// # Panics
    ///
    /// When Podman cannot run ([`unavailable`] says why) or its service does
    /// not answer within 20 s.
    pub fn start() -> Podman {
        if let Some(why) = unavailable() {
            panic!("{why}");
        }
        // Short: the engine's own sockets live under it (108 bytes at most).
        let dir = tempfile::Builder::new()
            .prefix("np-pm-")
            .tempdir_in("/tmp")
            .expect("a directory for podman");
        let conf = "[containers]\ndefault_ulimits = [\"nofile=1024:1024\", \"nproc=1024:1024\"]\nnetns = \"none\"\n\
             [engine]\nruntime = \"runc\"\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n";
        std::fs::write(dir.path().join("containers.conf"), conf).expect("containers.conf");
        let mut podman = Podman { dir, service: None };
        let rootfs = podman.dir.path().join("rootfs");
        std::fs::create_dir_all(rootfs.join("bin")).expect("a rootfs");
        std::fs::create_dir_all(rootfs.join("tmp")).expect("a rootfs");
        let busybox = String::from_utf8(
            Command::new("sh")
                .args(["-c", "command -v busybox"])
                .output()
                .expect("sh")
                .stdout,
        )
        .expect("a path");
        std::fs::copy(busybox.trim(), rootfs.join("bin/busybox")).expect("busybox copied");
        for tool in [
            "sh", "echo", "sleep", "usleep", "head", "tr", "cat", "seq", "date",
        ] {
            std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(tool)).expect("a link");
        }
        let import = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "tar -C {} -c . | {} import - {IMAGE}",
                rootfs.display(),
                podman.cli_line()
            ))
            .envs(podman.env())
            .output()
            .expect("tar and podman run");
        assert!(
            import.status.success(),
            "podman import: {}",
            crate::stderr(&import)
        );
        podman.start_service();
        podman
    }

    /// The socket its Docker-compatible API is served on.
    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("api.sock")
    }

    fn env(&self) -> Vec<(&'static str, PathBuf)> {
        vec![("CONTAINERS_CONF", self.dir.path().join("containers.conf"))]
    }

    fn flags(&self) -> Vec<String> {
        let d = self.dir.path();
        vec![
            format!("--root={}", d.join("root").display()),
            format!("--runroot={}", d.join("run").display()),
            format!("--tmpdir={}", d.join("tmp").display()),
        ]
    }

    fn cli_line(&self) -> String {
        format!("podman {}", self.flags().join(" "))
    }

    /// `podman <args>` on this engine.
    pub fn cli(&self, args: &[&str]) -> Output {
        Command::new("podman")
            .args(self.flags())
            .args(args)
            .envs(self.env())
            .stdin(Stdio::null())
            .output()
            .expect("podman runs")
    }

    /// `podman <args>`, which must succeed; its standard output.
    ///
    /// # Panics
    ///
    /// When it fails.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        assert!(
            out.status.success(),
            "podman {args:?}: {}",
            crate::stderr(&out)
        );
        crate::stdout(&out)
    }

    /// Starts a container `name` of the fixture image running `script`
    /// (busybox `sh`; SIGTERM ends it at once).
    pub fn run(&self, name: &str, script: &str) {
        self.run_with(name, IMAGE, &[], script);
    }

    /// [`Podman::run`] from `image` (the fixture image under another name,
    /// see [`Podman::tag`]) with more `podman run` options (`--label …`).
    pub fn run_with(&self, name: &str, image: &str, options: &[&str], script: &str) {
        let script = format!("trap 'exit 0' TERM; {script}");
        let mut args = vec!["run", "-d", "--name", name];
        args.extend_from_slice(options);
        args.extend_from_slice(&[image, "/bin/sh", "-c", &script]);
        self.ok(&args);
    }

    /// The fixture image also named `name` (e.g. `localhost/mev-boost:fixture`).
    pub fn tag(&self, name: &str) {
        self.ok(&["tag", IMAGE, name]);
    }

    /// The engine's events about container `name` since `since` (its
    /// `Status` words: `start`, `stop`, `died`, `restart`, …), oldest first.
    pub fn events(&self, name: &str, since: jiff::Timestamp) -> Vec<String> {
        let since = since.to_string();
        self.ok(&[
            "events",
            "--stream=false",
            "--since",
            &since,
            "--filter",
            &format!("container={name}"),
            "--format",
            "{{.Status}}",
        ])
        .lines()
        .map(str::to_owned)
        .collect()
    }

    /// Starts the API service (again) and waits until it answers.
    ///
    /// # Panics
    ///
    /// When it does not answer within 20 s.
    pub fn start_service(&mut self) {
        let _ = std::fs::remove_file(self.socket());
        let child = Command::new("podman")
            .args(self.flags())
            .args(["system", "service", "--time=0"])
            .arg(format!("unix://{}", self.socket().display()))
            .envs(self.env())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("podman system service starts");
        self.service = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while !ping(&self.socket()) {
            assert!(
                Instant::now() < deadline,
                "podman's API did not answer within 20 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops the API service (the containers go on running, as they do when
    /// Docker's daemon restarts with live-restore); its socket file stays.
    pub fn stop_service(&mut self) {
        if let Some(mut child) = self.service.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Whether the engine at `socket` answers `GET /_ping` with `OK`.
pub fn ping(socket: &Path) -> bool {
    let Ok(mut stream) = UnixStream::connect(socket) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET /_ping HTTP/1.0\r\nHost: d\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.ends_with("OK")
}

impl Drop for Podman {
    fn drop(&mut self) {
        // Containers first (their conmon processes would outlive us), then
        // the service; then the storage (whose layers only podman may unmount).
        let _ = self.cli(&["rm", "--all", "--force", "--time=0"]);
        self.stop_service();
        let _ = self.cli(&["system", "reset", "--force"]);
    }
}
