//! A local NodePair network: `nodepair-relay` and `nodepair-manager run`
//! processes on 127.0.0.1, and apps run in the test process through
//! `nodepair-peer`, as the desktop app runs them.

use crate::{Sandbox, binary};
use nodepair_keystore::{Counterparty, Identity, MemoryStore};
use nodepair_peer::{NoMethods, Peer, PeerConfig};
use nodepair_protocol::hello::Role;
use nodepair_waku::{Config, Multiaddr, Shard, WakuNode};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

/// The Waku cluster the local network runs on.
pub const CLUSTER: u16 = 42;
/// Its shard.
pub const SHARD: Shard = Shard {
    cluster: CLUSTER,
    shard: 0,
};

/// Where libfaketime is (its thread-safe build, from Debian's `faketime`
/// package), if installed.
pub fn libfaketime() -> Option<PathBuf> {
    ["x86_64-linux-gnu", "aarch64-linux-gnu", ""]
        .iter()
        .map(|arch| {
            Path::new("/usr/lib")
                .join(arch)
                .join("faketime/libfaketimeMT.so.1")
        })
        .find(|p| p.is_file())
}

/// A `nodepair-relay` process; killed when dropped.
#[derive(Debug)]
pub struct Relay {
    child: Child,
    /// Its TCP address, ending in `/p2p/<peer id>`.
    pub addr: Multiaddr,
}

impl Relay {
    /// Starts a relay on 127.0.0.1 that also dials `peers`.
    ///
    /// # Panics
    ///
    /// When the relay does not start and announce itself.
    pub fn start(sandbox: &Sandbox, peers: &[&Multiaddr]) -> Relay {
        Self::start_in(sandbox, peers, None, "127.0.0.1")
    }

    /// Starts a relay listening on `ip` inside the network namespace
    /// `netns` (run through `ip netns exec`), or in ours when `None`.
    ///
    /// # Panics
    ///
    /// When the relay does not start and announce itself.
    pub fn start_in(
        sandbox: &Sandbox,
        peers: &[&Multiaddr],
        netns: Option<&str>,
        ip: &str,
    ) -> Relay {
        let mut cmd = command_in(sandbox, &binary("nodepair-relay"), netns);
        cmd.args(["--listen", &format!("/ip4/{ip}/tcp/0"), "--json"])
            .args(["--cluster", &CLUSTER.to_string()]);
        for p in peers {
            cmd.arg("--peer").arg(p.to_string());
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("nodepair-relay starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut line)
            .expect("the relay announces itself");
        let status: serde_json::Value = serde_json::from_str(&line).expect("one JSON status line");
        let addr = status["listen"][0]
            .as_str()
            .and_then(|a| a.parse().ok())
            .expect("a listen address");
        Relay { child, addr }
    }

    /// Kills it with SIGKILL, as a crash would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `binary` run as the sandbox runs it, inside the network namespace
/// `netns` when one is given (`ip netns exec`, which execs it: same pid).
fn command_in(sandbox: &Sandbox, binary: &Path, netns: Option<&str>) -> Command {
    match netns {
        None => sandbox.command(binary),
        Some(ns) => {
            let mut cmd = sandbox.command(Path::new("ip"));
            cmd.args(["netns", "exec", ns]).arg(binary);
            cmd
        }
    }
}

/// The vault passphrase of every app [`AppHome`] writes.
pub const APP_PASSPHRASE: &str = "local app passphrase";

/// The vault passphrase of every manager [`ManagerHome`] writes.
pub const MANAGER_PASSPHRASE: &str = "local test passphrase";

/// A manager's files: configuration, state directory, vault passphrase.
#[derive(Debug, Clone)]
pub struct ManagerHome {
    /// The configuration file.
    pub config: PathBuf,
    /// Its state directory.
    pub state: PathBuf,
}

impl ManagerHome {
    /// Writes a configuration for a manager named `name` that dials
    /// `bootstrap`, keeps its keys in a vault, and waits `pairing_timeout`
    /// for codes.
    ///
    /// # Panics
    ///
    /// When the files cannot be written.
    pub fn new(
        dir: &Path,
        name: &str,
        bootstrap: &[&Multiaddr],
        pairing_timeout: Duration,
    ) -> ManagerHome {
        Self::with_config(dir, name, bootstrap, pairing_timeout, &["info", "host"], "")
    }

    /// A manager for adding computers: `name`, dialing `relay`, offering
    /// info, host and logs, and accepting introductions if `accepting`
    /// (`[pairing] accept_introductions`).
    ///
    /// # Panics
    ///
    /// When the files cannot be written.
    pub fn for_introductions(
        dir: &Path,
        relay: &Relay,
        name: &str,
        accepting: bool,
    ) -> ManagerHome {
        Self::with_config(
            dir,
            name,
            &[&relay.addr],
            Duration::from_secs(120),
            &["info", "host", "logs"],
            if accepting {
                "\n[pairing]\naccept_introductions = true\n"
            } else {
                ""
            },
        )
    }

    /// [`ManagerHome::new`] offering `capabilities`, with `extra` (TOML
    /// tables such as `[ethereum]`) appended to the configuration.
    ///
    /// # Panics
    ///
    /// When the files cannot be written.
    pub fn with_config(
        dir: &Path,
        name: &str,
        bootstrap: &[&Multiaddr],
        pairing_timeout: Duration,
        capabilities: &[&str],
        extra: &str,
    ) -> ManagerHome {
        use std::os::unix::fs::PermissionsExt;
        let home = dir.join(name);
        std::fs::create_dir_all(&home).expect("a directory for the manager");
        let passphrase = home.join("passphrase");
        std::fs::write(&passphrase, format!("{MANAGER_PASSPHRASE}\n")).expect("passphrase file");
        std::fs::set_permissions(&passphrase, std::fs::Permissions::from_mode(0o600))
            .expect("chmod 600");
        let state = home.join("state");
        let peers: Vec<String> = bootstrap.iter().map(|a| format!("\"{a}\"")).collect();
        let text = format!(
            "display_name = \"{name}\"\nstate_dir = \"{}\"\npairing_timeout_secs = {}\ncapabilities = [{}]\n\n[network]\npreset = \"local\"\nbootstrap = [{}]\ncluster = {CLUSTER}\nshard = 0\n\n[keystore]\nbackend = \"vault\"\npassphrase_file = \"{}\"\n",
            state.display(),
            pairing_timeout.as_secs().max(1),
            capabilities
                .iter()
                .map(|c| format!("\"{c}\""))
                .collect::<Vec<_>>()
                .join(", "),
            peers.join(", "),
            passphrase.display()
        ) + extra;
        let config = home.join("manager.toml");
        std::fs::write(&config, text).expect("configuration file");
        ManagerHome { config, state }
    }

    /// `nodepair-manager --config <ours> <args>`, run to completion.
    ///
    /// # Panics
    ///
    /// When the binary cannot be started.
    pub fn cli(&self, sandbox: &Sandbox, args: &[&str]) -> Output {
        self.command(sandbox, args)
            .output()
            .expect("nodepair-manager starts")
    }

    /// `nodepair-manager --config <ours> <args>`, to spawn.
    pub fn command(&self, sandbox: &Sandbox, args: &[&str]) -> Command {
        let mut cmd = sandbox.command(&binary("nodepair-manager"));
        cmd.arg("--config").arg(&self.config).args(args);
        cmd
    }

    /// Starts `nodepair-manager run` and waits until it is ready.
    ///
    /// # Panics
    ///
    /// When it does not start and announce itself.
    pub fn run(&self, sandbox: &Sandbox) -> Daemon {
        self.run_in(sandbox, None)
    }

    /// [`ManagerHome::run`] with `env` set for the daemon (e.g.
    /// `NODEPAIR_CRASH_AT`).
    ///
    /// # Panics
    ///
    /// When the daemon does not start and announce itself.
    pub fn run_with_env(&self, sandbox: &Sandbox, env: &[(&str, &str)]) -> Daemon {
        let mut cmd = sandbox.command(&binary("nodepair-manager"));
        cmd.envs(env.iter().copied());
        self.spawn(cmd)
    }

    /// Its identity as its vault holds it now (the daemon may run).
    ///
    /// # Panics
    ///
    /// When the vault cannot be opened or holds no identity.
    pub fn identity(&self) -> Identity {
        let vault = self.vault_now();
        Identity::load(&vault)
            .expect("a readable identity")
            .expect("an identity")
    }

    /// The apps its vault holds now (the daemon may run).
    ///
    /// # Panics
    ///
    /// When the vault cannot be opened or a record is damaged.
    pub fn stored(&self) -> Vec<Counterparty> {
        Counterparty::load_all(&self.vault_now()).expect("readable records")
    }

    /// A copy of its vault as it is now, opened: a running daemon holds the
    /// vault's lock, and its writes replace the file whole, so a copy is
    /// one consistent state.
    fn vault_now(&self) -> nodepair_keystore::Vault {
        let copy = self.state.with_file_name(format!(
            "vault-copy-{}.vault",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        std::fs::copy(self.state.join("vault"), &copy).expect("the vault is there");
        let vault = nodepair_keystore::Vault::open(&copy, MANAGER_PASSPHRASE.as_bytes())
            .expect("the manager's vault opens");
        let _ = std::fs::remove_file(&copy);
        let _ = std::fs::remove_file(copy.with_extension("lock"));
        vault
    }

    /// [`ManagerHome::run`] inside the network namespace `netns`.
    ///
    /// # Panics
    ///
    /// When the daemon does not start and announce itself.
    pub fn run_in(&self, sandbox: &Sandbox, netns: Option<&str>) -> Daemon {
        self.spawn(command_in(sandbox, &binary("nodepair-manager"), netns))
    }

    /// [`ManagerHome::run`] with its wall clock `offset` off (libfaketime
    /// preloaded, `FAKETIME` e.g. `-5m`; its monotonic clock is left alone,
    /// as on a real machine whose clock is set wrong).
    ///
    /// # Panics
    ///
    /// When libfaketime is not installed ([`libfaketime`] says), or the
    /// daemon does not start and announce itself.
    pub fn run_skewed(&self, sandbox: &Sandbox, offset: &str) -> Daemon {
        let lib = libfaketime().expect("libfaketime is installed");
        let mut cmd = sandbox.command(&binary("nodepair-manager"));
        cmd.env("LD_PRELOAD", lib)
            .env("FAKETIME", offset)
            .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
            .env("FAKETIME_DONT_RESET", "1");
        self.spawn(cmd)
    }

    /// [`ManagerHome::run`] in a network namespace of its own with nothing
    /// but a loopback interface (`unshare -n`, as root): no DNS, no route,
    /// so whatever network it is set to, it reaches nobody (and never the
    /// internet).
    ///
    /// # Panics
    ///
    /// When `unshare` cannot make the namespace, or the daemon does not
    /// start and announce itself.
    pub fn run_offline(&self, sandbox: &Sandbox) -> Daemon {
        let mut cmd = sandbox.command(Path::new("unshare"));
        cmd.args(["--net", "--"]).arg(binary("nodepair-manager"));
        self.spawn(cmd)
    }

    /// [`ManagerHome::run`] without root's power over file permissions
    /// (`setpriv` drops `CAP_DAC_OVERRIDE` and `CAP_DAC_READ_SEARCH` from
    /// its bounding set): it opens only what the permission bits let it, as
    /// a service user would.
    ///
    /// # Panics
    ///
    /// When the daemon does not start and announce itself.
    pub fn run_without_file_override(&self, sandbox: &Sandbox) -> Daemon {
        let mut cmd = sandbox.command(Path::new("setpriv"));
        cmd.args(["--bounding-set=-dac_override,-dac_read_search", "--"])
            .arg(binary("nodepair-manager"));
        self.spawn(cmd)
    }

    fn spawn(&self, mut cmd: Command) -> Daemon {
        cmd.arg("--config")
            .arg(&self.config)
            .args(["run", "--json"]);
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("nodepair-manager run starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut line)
            .expect("the daemon announces itself");
        let ready: serde_json::Value = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(_) => {
                let out = child.wait_with_output().expect("it ended");
                panic!(
                    "the daemon did not start: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        };
        // Read its log as it comes: a pipe nobody reads fills up, and the
        // daemon would block on its next line.
        let mut stderr = child.stderr.take().expect("piped stderr");
        let pid = child.id();
        let log = std::thread::spawn(move || {
            let mut log = Vec::new();
            let mut lines = BufReader::new(&mut stderr);
            let mut line = Vec::new();
            while lines.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
                if crate::debug_log().is_some() {
                    eprint!("[manager {pid}] {}", String::from_utf8_lossy(&line));
                }
                log.append(&mut line);
            }
            String::from_utf8_lossy(&log).into_owned()
        });
        Daemon {
            child,
            ready,
            log: Some(log),
        }
    }
}

/// A running `nodepair-manager run`; killed when dropped.
#[derive(Debug)]
pub struct Daemon {
    child: Child,
    /// Its readiness line.
    pub ready: serde_json::Value,
    /// Collects what it logs (stderr) until it exits.
    log: Option<std::thread::JoinHandle<String>>,
}

impl Daemon {
    /// Its static public key when it started, in hex.
    pub fn public_key(&self) -> nodepair_protocol::PublicKey {
        let hex = self.ready["public_key"].as_str().expect("a public key");
        let mut key = [0u8; 32];
        for (i, byte) in key.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex");
        }
        nodepair_protocol::PublicKey(key)
    }

    /// SIGTERM, waits for it to exit, and returns what it logged (stderr).
    ///
    /// # Panics
    ///
    /// When its log cannot be read.
    pub fn stop_and_read_log(mut self) -> String {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let _ = self.child.wait();
        self.log
            .take()
            .map(|log| log.join().expect("the daemon's log reads"))
            .unwrap_or_default()
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, and waits for it to exit.
    ///
    /// # Panics
    ///
    /// When it does not stop within 10 s.
    pub fn terminate(mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        for _ in 0..200 {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the daemon did not stop within 10 s of SIGTERM");
    }

    /// SIGKILL, as a crash would.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An app, run in the test process: its keystore outlives restarts.
#[derive(Debug)]
pub struct App {
    /// Its name.
    pub name: String,
    /// Its keystore.
    pub keystore: Arc<MemoryStore>,
    identity: Identity,
    bootstrap: Vec<Multiaddr>,
    mode: nodepair_waku::Mode,
    /// Session keys are replaced when this old (an hour by default).
    rekey_after: Option<Duration>,
}

impl App {
    /// A new app named `name` that dials `bootstrap`, a light node as the
    /// real app is by default.
    ///
    /// # Panics
    ///
    /// When the in-memory keystore fails, which it does not.
    pub fn new(name: &str, bootstrap: &[&Multiaddr]) -> App {
        let keystore = Arc::new(MemoryStore::new());
        let (identity, _) = Identity::load_or_create(&*keystore).expect("memory store");
        App {
            name: name.into(),
            keystore,
            identity,
            bootstrap: bootstrap.iter().map(|a| (*a).clone()).collect(),
            mode: nodepair_waku::Mode::Light,
            rekey_after: None,
        }
    }

    /// The same app, replacing its session keys every `every`.
    #[must_use]
    pub fn rekeying_every(mut self, every: Duration) -> App {
        self.rekey_after = Some(every);
        self
    }

    /// The same app as a relay node instead of a light node (the app's
    /// default, as in its settings).
    #[must_use]
    pub fn relay_mode(mut self) -> App {
        self.mode = nodepair_waku::Mode::Relay;
        self
    }

    /// Its static key pair, as the protocol uses it (as its keystore has
    /// it now: a rotation changes it).
    ///
    /// # Panics
    ///
    /// When its identity cannot be read, which it can.
    pub fn keypair(&self) -> nodepair_protocol::StaticKeypair {
        nodepair_protocol::StaticKeypair::from_secret(*self.identity().static_secret)
    }

    /// Its identity as its keystore has it now.
    ///
    /// # Panics
    ///
    /// When it cannot be read, which it can.
    pub fn identity(&self) -> Identity {
        Identity::load(&*self.keystore)
            .expect("memory store")
            .expect("made at creation")
    }

    /// Its node id.
    pub fn node_id(&self) -> [u8; 16] {
        self.identity.node_id
    }

    /// A Waku node as this app would run it.
    ///
    /// # Panics
    ///
    /// When the node cannot start.
    pub async fn waku(&self) -> WakuNode {
        let mut config = Config::new(SHARD);
        config.bootstrap = self.bootstrap.clone();
        config.keypair = Some(nodepair_peer::node_keypair(&self.identity));
        config.mode = self.mode;
        WakuNode::start(config).await.expect("a Waku node")
    }

    /// Starts its Waku node and peer, and waits for a Waku peer.
    ///
    /// # Panics
    ///
    /// When the node cannot start or reach a relay in 10 s.
    pub async fn start(&self) -> Peer {
        let waku = self.waku().await;
        self.start_on(waku).await
    }

    /// Starts its peer on `waku` (which other apps may share), and waits for
    /// a Waku peer.
    ///
    /// # Panics
    ///
    /// When the peer cannot start or reach a relay in 10 s.
    pub async fn start_on(&self, waku: WakuNode) -> Peer {
        self.start_as(Role::App, waku).await
    }

    /// Its peer on `waku` in `role`: [`Role::Manager`] for one of the many
    /// managers of an app under load (see [`crate::fleet`]), offering only
    /// `info` and answering nothing else.
    ///
    /// # Panics
    ///
    /// When the peer cannot start or reaches no relay within 10 s.
    pub async fn start_as(&self, role: Role, waku: WakuNode) -> Peer {
        crate::init_debug_log();
        let mut config = PeerConfig::new(self.name.clone(), vec!["info".into()]);
        if let Some(every) = self.rekey_after {
            config.session.rekey_after = every;
        }
        let peer = Peer::start(
            role,
            &self.identity(),
            config,
            self.keystore.clone(),
            waku,
            Arc::new(NoMethods),
        )
        .await
        .unwrap_or_else(|e| panic!("{}'s peer does not start: {e}", self.name));
        assert!(
            peer.wait_for_network(Duration::from_secs(10)).await,
            "{} reached no relay",
            self.name
        );
        peer
    }

    /// What it has stored.
    ///
    /// # Panics
    ///
    /// When a record is damaged.
    pub fn stored(&self) -> Vec<Counterparty> {
        Counterparty::load_all(&*self.keystore).expect("readable records")
    }
}

/// Stops a peer and its Waku node.
pub async fn stop(peer: Peer) {
    peer.shutdown().await;
    peer.waku().shutdown().await;
}

/// Waits until `check` holds, polling every 50 ms, or panics with `what`
/// after `within`.
///
/// # Panics
///
/// When it never holds.
pub async fn eventually<F, Fut>(within: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if check().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {within:?} waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `app` sees `manager` online, or panics after `within`.
///
/// # Panics
///
/// When it does not come online in time.
pub async fn online(app: &Peer, manager: nodepair_protocol::PublicKey, within: Duration) {
    eventually(within, "the manager is online", || async {
        app.counterparties()
            .await
            .iter()
            .any(|v| v.public_key == manager && v.state == nodepair_protocol::NodeState::Online)
    })
    .await;
}

/// The desktop app's files for its headless mode: settings and data dir.
#[derive(Debug, Clone)]
pub struct AppHome {
    /// The settings file.
    pub config: PathBuf,
    /// Its data directory.
    pub data: PathBuf,
}

impl AppHome {
    /// Writes settings for an app named `name` that dials `bootstrap` and
    /// keeps its keys in a vault.
    ///
    /// # Panics
    ///
    /// When the files cannot be written.
    pub fn new(dir: &Path, name: &str, bootstrap: &[&Multiaddr]) -> AppHome {
        use std::os::unix::fs::PermissionsExt;
        let home = dir.join(name);
        std::fs::create_dir_all(&home).expect("a directory for the app");
        let passphrase = home.join("passphrase");
        std::fs::write(&passphrase, format!("{APP_PASSPHRASE}\n")).expect("passphrase file");
        std::fs::set_permissions(&passphrase, std::fs::Permissions::from_mode(0o600))
            .expect("chmod 600");
        let data = home.join("data");
        let peers: Vec<String> = bootstrap.iter().map(|a| format!("\"{a}\"")).collect();
        let text = format!(
            "display_name = \"{name}\"\ndata_dir = \"{}\"\n\n[network]\npreset = \"local\"\nbootstrap = [{}]\ncluster = {CLUSTER}\nshard = 0\n\n[keystore]\nbackend = \"vault\"\npassphrase_file = \"{}\"\n",
            data.display(),
            peers.join(", "),
            passphrase.display()
        );
        let config = home.join("app.toml");
        std::fs::write(&config, text).expect("settings file");
        AppHome { config, data }
    }

    /// `nodepair --config <ours> <args>`, to spawn.
    pub fn command(&self, sandbox: &Sandbox, args: &[&str]) -> Command {
        let mut cmd = sandbox.command(&binary("nodepair"));
        cmd.arg("--config").arg(&self.config).args(args);
        cmd
    }

    /// `nodepair --config <ours> <args>`, run to completion.
    ///
    /// # Panics
    ///
    /// When the binary cannot be started.
    pub fn cli(&self, sandbox: &Sandbox, args: &[&str]) -> Output {
        self.command(sandbox, args)
            .output()
            .expect("nodepair starts")
    }

    /// `nodepair pair --yes --json` here and `nodepair-manager pair <code>`
    /// on `manager`: the two paired from the terminal.
    ///
    /// # Panics
    ///
    /// When either side fails.
    pub fn pair_with(&self, sandbox: &Sandbox, manager: &ManagerHome) {
        use std::io::BufRead;
        let mut pairing = self
            .command(sandbox, &["pair", "--yes", "--json"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("nodepair pair starts");
        let mut lines = std::io::BufReader::new(pairing.stdout.take().expect("its output"));
        let mut line = String::new();
        lines.read_line(&mut line).expect("the code line");
        let offer: serde_json::Value = serde_json::from_str(&line).expect("a JSON line");
        let code = offer["code"].as_str().expect("a code");
        let out = manager.cli(sandbox, &["pair", "--yes", code]);
        assert!(out.status.success(), "{}", crate::stderr(&out));
        assert!(pairing.wait().expect("nodepair pair ends").success());
    }
}

/// Runs `nodepair-manager pair <code>` against `home` while `app` offers the
/// code; returns the CLI's output and the app's verification string.
///
/// # Panics
///
/// When the app side cannot offer or finish the pairing.
pub async fn pair(sandbox: &Sandbox, home: &ManagerHome, app: &Peer) -> (Output, String) {
    pair_with_args(sandbox, home, app, &[]).await
}

/// [`pair`] with `args` (e.g. `--grant host`) before the code.
///
/// # Panics
///
/// When the app side cannot offer or finish the pairing.
pub async fn pair_with_args(
    sandbox: &Sandbox,
    home: &ManagerHome,
    app: &Peer,
    args: &[&str],
) -> (Output, String) {
    let offer = app.offer_pairing().await.expect("the app offers a code");
    let code = offer.code.to_display_string();
    let (sandbox_root, home) = (sandbox.path().to_owned(), home.clone());
    let mut args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    args.extend(["--yes".to_owned(), code]);
    let cli = tokio::task::spawn_blocking(move || {
        let sandbox = Sandbox::at(&sandbox_root);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        home.cli(&sandbox, &[&["pair"], &args[..]].concat())
    });
    let (_, verification) = offer.finish(|_, _| true).await.expect("the app side pairs");
    (cli.await.expect("the pair command ran"), verification)
}

/// A relay, a manager daemon offering some capabilities, and an app in
/// this process paired with it.
#[derive(Debug)]
pub struct Paired {
    /// The relay both use.
    pub relay: Relay,
    /// The manager's home.
    pub home: ManagerHome,
    /// The manager, running.
    pub daemon: Daemon,
    /// Its public key.
    pub manager: nodepair_protocol::PublicKey,
    /// The app.
    pub app: Peer,
}

/// [`Paired`]: the manager offers `capabilities`, with `extra` appended to
/// its configuration.
///
/// # Panics
///
/// When anything of it does not start, or pairing fails.
pub async fn paired(sandbox: &Sandbox, capabilities: &[&str], extra: &str) -> Paired {
    paired_by(sandbox, capabilities, extra, ManagerHome::run).await
}

/// [`paired`], the manager started by `run` (e.g.
/// [`ManagerHome::run_without_file_override`]).
///
/// # Panics
///
/// When anything of it does not start, or pairing fails.
pub async fn paired_by(
    sandbox: &Sandbox,
    capabilities: &[&str],
    extra: &str,
    run: fn(&ManagerHome, &Sandbox) -> Daemon,
) -> Paired {
    let relay = Relay::start(sandbox, &[]);
    let home = ManagerHome::with_config(
        sandbox.path(),
        "validator-1",
        &[&relay.addr],
        Duration::from_secs(120),
        capabilities,
        extra,
    );
    let daemon = run(&home, sandbox);
    let manager = daemon.public_key();
    let app = App::new("laptop", &[&relay.addr]).start().await;
    let (out, _) = pair(sandbox, &home, &app).await;
    assert!(out.status.success(), "{}", crate::stderr(&out));
    Paired {
        relay,
        home,
        daemon,
        manager,
        app,
    }
}

/// The next event, which must be of `stream`, decoded as `T`.
///
/// # Panics
///
/// When none comes within 20 s, another stream's comes, or it does not
/// decode.
pub async fn next_event<T: serde::de::DeserializeOwned>(
    events: &mut tokio::sync::broadcast::Receiver<nodepair_peer::PeerEvent>,
    stream: &str,
) -> T {
    loop {
        let event = tokio::time::timeout(Duration::from_secs(20), events.recv())
            .await
            .expect("an event")
            .expect("the event channel is open");
        if let nodepair_peer::PeerEvent::Stream { event, .. } = event {
            assert_eq!(event.stream, stream);
            return serde_json::from_slice(&event.body).expect("the event decodes");
        }
    }
}
