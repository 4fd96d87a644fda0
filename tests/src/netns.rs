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

impl Netns {
    /// A namespace and its veth pair on `<prefix>.N.0/30` (`prefix` like
    /// `"10.213"`), or `None` when they cannot be made (not root, no
    /// iproute2). `tag` (at most 3 letters) tells apart several made by one
    /// process.
    pub fn create(prefix: &str, tag: &str) -> Option<Netns> {
        static MADE: AtomicU32 = AtomicU32::new(0);
        let id = std::process::id();
        let n = MADE.fetch_add(1, Ordering::Relaxed);
        // Interface names are at most 15 bytes: tag (≤ 3) + pid (≤ 7) + n + "b".
        let net = (id.wrapping_mul(7).wrapping_add(n)) % 250 + 1;
        let link = format!("{tag}{id}{n}");
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
        let ok = ip(&["netns", "add", &ns.name])
            && ip(&[
                "link", "add", &ns.link, "type", "veth", "peer", "name", peer,
            ])
            && ip(&["link", "set", peer, "netns", &ns.name])
            && ip(&["addr", "add", &format!("{}/30", ns.ours), "dev", &ns.link])
            && ip(&["link", "set", &ns.link, "up"])
            && inside(&["addr", "add", &format!("{}/30", ns.theirs), "dev", peer])
            && inside(&["link", "set", peer, "up"])
            && inside(&["link", "set", "lo", "up"]);
        // Whatever was made is removed by drop, also when a step failed.
        ok.then_some(ns)
    }

    /// Drops `per_mille`/1000 of the packets crossing its end of the veth,
    /// each way, at random (nftables `numgen`, inside the namespace: ours is
    /// left alone). Replaces what an earlier call set; 0 drops nothing.
    ///
    /// # Panics
    ///
    /// When `nft` is missing or refuses the rules.
    pub fn set_loss(&self, per_mille: u32) {
        let peer = &self.peer_link;
        let rules = format!(
            "table inet nodepair_loss {{}}\n\
             delete table inet nodepair_loss\n\
             table inet nodepair_loss {{\n\
               chain input {{ type filter hook input priority 0; policy accept;\n\
                 iifname \"{peer}\" numgen random mod 1000 < {per_mille} drop; }}\n\
               chain output {{ type filter hook output priority 0; policy accept;\n\
                 oifname \"{peer}\" numgen random mod 1000 < {per_mille} drop; }}\n\
             }}\n"
        );
        let mut nft = Command::new("ip")
            .args(["netns", "exec", &self.name, "nft", "-f", "-"])
            .stdin(Stdio::piped())
            .spawn()
            .expect("nft runs (apt nftables)");
        std::io::Write::write_all(
            &mut nft.stdin.take().expect("piped stdin"),
            rules.as_bytes(),
        )
        .expect("nft reads its rules");
        assert!(
            nft.wait().is_ok_and(|s| s.success()),
            "nft took the loss rules"
        );
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

impl Drop for Netns {
    fn drop(&mut self) {
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
