//! Network namespaces joined to ours by veth pairs, with loss, and a tokio
//! runtime whose sockets live inside one (needs root; elsewhere `create`
//! says no).

use std::fs::File;
use std::os::fd::AsFd;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

/// A network namespace joined to ours by a veth pair, torn down on drop:
/// ours is `<prefix>.N.1`, its `<prefix>.N.2`, on a /30 no one else uses.
#[derive(Debug)]
pub struct Netns {
    /// Its name (`ip netns exec <name>`).
    pub name: String,
    /// Our end's address.
    pub ours: String,
    /// Its end's address.
    pub theirs: String,
    /// Our end of the veth pair.
    pub link: String,
    /// Its end of the veth pair.
    pub peer_link: String,
}

/// Runs `ip args`, quietly; whether it succeeded.
pub fn ip(args: &[&str]) -> bool {
    Command::new("ip")
        .args(args)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether this process runs as root, where a namespace that cannot be made
/// is a failure rather than a reason to skip.
pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Removes namespaces (and their veth pairs) a killed test process left
/// behind: named `nodepair-<tag>-<pid>-<n>` for a pid that is gone.
fn remove_stale() {
    let Ok(entries) = std::fs::read_dir("/run/netns") else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let mut parts = name.split('-');
        let (Some("nodepair"), Some(_tag), Some(pid)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let gone = pid
            .parse::<u32>()
            .is_ok_and(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists());
        if gone {
            // Deleting the namespace deletes the veth end inside it, and
            // with it the pair.
            let _ = ip(&["netns", "del", &name]);
        }
    }
    // Loss tables of our ends whose device is gone.
    let tables = Command::new("nft")
        .args(["list", "tables", "netdev"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    for table in tables
        .lines()
        .filter_map(|l| l.strip_prefix("table netdev "))
    {
        if let Some(link) = table.strip_prefix("nodepair_loss_")
            && !std::path::Path::new("/sys/class/net").join(link).exists()
        {
            let _ = Command::new("nft")
                .args(["delete", "table", "netdev", table])
                .status();
        }
    }
}

impl Netns {
    /// A namespace and its veth pair on a free `<prefix>.N.0/30` (`prefix`
    /// like `"10.213"`). `None` only when this process is not root (no
    /// namespaces to be had: the caller skips); as root, a failure panics
    /// with what failed. `tag` (3 letters) tells apart several made by one
    /// process.
    ///
    /// # Panics
    ///
    /// As root, when the namespace, the pair or their addresses cannot be
    /// made.
    pub fn create(prefix: &str, tag: &str) -> Option<Netns> {
        static MADE: AtomicU32 = AtomicU32::new(0);
        if !is_root() {
            return None;
        }
        // One process at a time picks a subnet and takes it.
        let lock = File::create("/run/lock/nodepair-netns.lock").expect("a lock file in /run/lock");
        rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive)
            .expect("the netns lock");
        remove_stale();
        let id = std::process::id();
        let n = MADE.fetch_add(1, Ordering::Relaxed);
        // A subnet no interface has an address in yet.
        let start = id.wrapping_mul(7).wrapping_add(n) % 250;
        let net = (0..250)
            .map(|i| (start + i) % 250 + 1)
            .find(|net| {
                let out = Command::new("ip")
                    .args([
                        "-4",
                        "-o",
                        "addr",
                        "show",
                        "to",
                        &format!("{prefix}.{net}.0/30"),
                    ])
                    .output()
                    .expect("ip runs (apt iproute2)");
                out.status.success() && out.stdout.is_empty()
            })
            .expect("a free /30 for the namespace");
        // Interface names are at most 15 bytes: tag, pid and count in
        // fixed-width hex (pids fit 6 digits), and "b" for the far end.
        let link = format!("{tag}{id:06x}{n:02x}");
        let ns = Netns {
            name: format!("nodepair-{tag}-{id}-{n}"),
            ours: format!("{prefix}.{net}.1"),
            theirs: format!("{prefix}.{net}.2"),
            peer_link: format!("{link}b"),
            link,
        };
        let peer = ns.peer_link.as_str();
        let inside = |args: &[&str]| {
            let mut all = vec!["netns", "exec", &ns.name, "ip"];
            all.extend_from_slice(args);
            ip(&all)
        };
        // Each step in turn; a failure panics, and drop removes what was made.
        let step = |what: &str, ok: bool| {
            assert!(ok, "as root, `{what}` failed for namespace {}", ns.name);
        };
        step("ip netns add", ip(&["netns", "add", &ns.name]));
        step(
            "ip link add … type veth",
            ip(&[
                "link", "add", &ns.link, "type", "veth", "peer", "name", peer,
            ]),
        );
        step(
            "ip link set … netns",
            ip(&["link", "set", peer, "netns", &ns.name]),
        );
        step(
            "ip addr add (ours)",
            ip(&["addr", "add", &format!("{}/30", ns.ours), "dev", &ns.link]),
        );
        step(
            "ip link set up (ours)",
            ip(&["link", "set", &ns.link, "up"]),
        );
        step(
            "ip addr add (theirs)",
            inside(&["addr", "add", &format!("{}/30", ns.theirs), "dev", peer]),
        );
        step(
            "ip link set up (theirs)",
            inside(&["link", "set", peer, "up"]),
        );
        step("ip link set lo up", inside(&["link", "set", "lo", "up"]));
        Some(ns)
    }

    /// Drops `per_mille`/1000 of the packets crossing the veth pair, each
    /// way, at random, as a lossy wire would: nftables `numgen` on the
    /// ingress of each end (inside the namespace for what comes in, on our
    /// end for what goes out), so neither sender's stack is told. Replaces
    /// what an earlier call set; 0 drops nothing.
    ///
    /// # Panics
    ///
    /// When `nft` is missing or refuses the rules.
    pub fn set_loss(&self, per_mille: u32) {
        let rules = |table: &str, device: &str| {
            format!(
                "table netdev {table} {{}}\n\
                 delete table netdev {table}\n\
                 table netdev {table} {{\n\
                   chain ingress {{ type filter hook ingress device \"{device}\" priority 0; policy accept;\n\
                     numgen random mod 1000 < {per_mille} drop; }}\n\
                 }}\n"
            )
        };
        nft(Some(&self.name), &rules("nodepair_loss", &self.peer_link));
        nft(None, &rules(&self.our_loss_table(), &self.link));
    }

    /// The table of our end's loss rule, in our namespace.
    fn our_loss_table(&self) -> String {
        format!("nodepair_loss_{}", self.link)
    }

    /// Cuts the link (both directions: nothing gets through, nothing is
    /// refused, as a pulled cable).
    ///
    /// # Panics
    ///
    /// When the link cannot be set down.
    pub fn cut(&self) {
        assert!(
            ip(&["link", "set", &self.link, "down"]),
            "the link goes down"
        );
    }

    /// Undoes [`Netns::cut`].
    ///
    /// # Panics
    ///
    /// When the link cannot be set up.
    pub fn heal(&self) {
        assert!(
            ip(&["link", "set", &self.link, "up"]),
            "the link comes back"
        );
    }

    /// A tokio runtime on a thread of its own that moved into this
    /// namespace: whatever it runs opens its sockets here.
    ///
    /// # Panics
    ///
    /// When the thread cannot enter the namespace.
    pub fn runtime(&self) -> NsRuntime {
        let path = format!("/run/netns/{}", self.name);
        let (tx, rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("netns {}", self.name))
            .spawn(move || {
                let ns = File::open(&path).expect("the namespace's file");
                rustix::thread::move_into_link_name_space(
                    ns.as_fd(),
                    Some(rustix::thread::LinkNameSpaceType::Network),
                )
                .expect("the thread enters the namespace");
                // Threads the runtime starts are cloned from this one, so
                // they are in the namespace too.
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .enable_all()
                    .build()
                    .expect("a runtime");
                tx.send(rt.handle().clone()).expect("the creator waits");
                rt.block_on(async {
                    let _ = stopped.await;
                });
                rt.shutdown_timeout(std::time::Duration::from_secs(5));
            })
            .expect("a thread");
        let handle = rx.recv().expect("the runtime starts");
        NsRuntime {
            handle,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

/// Runs `nft -f -` on `rules`, inside namespace `netns` or in ours.
///
/// # Panics
///
/// When `nft` is missing or refuses the rules.
fn nft(netns: Option<&str>, rules: &str) {
    let mut cmd = match netns {
        Some(ns) => {
            let mut inside = Command::new("ip");
            inside.args(["netns", "exec", ns, "nft"]);
            inside
        }
        None => Command::new("nft"),
    };
    let mut child = cmd
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("nft runs (apt nftables)");
    std::io::Write::write_all(
        &mut child.stdin.take().expect("piped stdin"),
        rules.as_bytes(),
    )
    .expect("nft reads its rules");
    assert!(
        child.wait().is_ok_and(|s| s.success()),
        "nft took the rules:\n{rules}"
    );
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Our end's loss table outlives the device; its namespace's goes
        // with it.
        let _ = Command::new("nft")
            .args(["delete", "table", "netdev", &self.our_loss_table()])
            .stderr(Stdio::null())
            .status();
        let _ = ip(&["link", "del", &self.link]);
        let _ = ip(&["netns", "del", &self.name]);
    }
}

/// A runtime inside a network namespace; stopped when dropped.
#[derive(Debug)]
pub struct NsRuntime {
    handle: tokio::runtime::Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl NsRuntime {
    /// Runs `future` there and waits for its output.
    ///
    /// # Panics
    ///
    /// When `future` panics.
    pub async fn run<F>(&self, future: F) -> F::Output
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle
            .spawn(future)
            .await
            .expect("the task in the namespace does not panic")
    }
}

impl Drop for NsRuntime {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
