//! A WAN on one machine: three `nodepair-relay`s in a line, the app in a
//! network namespace at one end and the manager in another at the other,
//! every link delayed by a [`DelayProxy`] and the two ends losing packets
//! (nftables in their namespaces). Needs root; [`Wan::start`] says no
//! elsewhere.
//!
//! ```text
//!  app ns ──veth── proxy → relay 1 → proxy → relay 2 → proxy → relay 3 ← proxy ──veth── manager ns
//! ```
//!
//! The profile's round trip is the app↔manager path's, spread evenly over
//! the four links; its loss is each way's along the path, half at each end.

use crate::Sandbox;
use crate::delay_proxy::{Delay, DelayProxy};
use crate::net::{App, Daemon, ManagerHome, Relay};
use crate::netns::{Netns, NsRuntime};
use nodepair_peer::Peer;
use nodepair_waku::Multiaddr;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// A network's round trip, loss and jitter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Profile {
    /// Its name in tables.
    pub name: &'static str,
    /// Round trip between the app and the manager (relays and links, no
    /// processing).
    pub rtt: Duration,
    /// Packets lost each way along the path, per thousand.
    pub loss_per_mille: u32,
    /// Each link's delay varies by up to this much, each way.
    pub jitter: Duration,
}

/// A city's broadband to a nearby datacenter.
pub const GOOD: Profile = Profile {
    name: "good",
    rtt: Duration::from_millis(20),
    loss_per_mille: 0,
    jitter: Duration::ZERO,
};

/// Another continent: 100 ms round trip, 1 % loss.
pub const FAR: Profile = Profile {
    name: "far",
    rtt: Duration::from_millis(100),
    loss_per_mille: 10,
    jitter: Duration::ZERO,
};

/// A poor mobile link: 250 ms round trip, 5 % loss, 20 ms jitter.
pub const BAD: Profile = Profile {
    name: "bad",
    rtt: Duration::from_millis(250),
    loss_per_mille: 50,
    jitter: Duration::from_millis(20),
};

/// Links between the app and the manager.
const LINKS: u32 = 4;

/// The network, up; torn down when dropped (the app's runtime first, the
/// namespaces last).
#[derive(Debug)]
pub struct Wan {
    /// Where apps run: inside the app's namespace.
    pub app_runtime: NsRuntime,
    /// How it behaves.
    pub profile: Profile,
    /// Relay 1 as the app dials it (through its link).
    pub app_bootstrap: Multiaddr,
    /// Relay 3 as the manager dials it (through its link).
    pub manager_bootstrap: Multiaddr,
    _proxies: Vec<DelayProxy>,
    _relays: Vec<Relay>,
    /// The app's namespace.
    pub app_net: Netns,
    /// The manager's namespace.
    pub manager_net: Netns,
}

/// The TCP address of `addr` (`/ip4/…/tcp/…/p2p/…`).
fn socket(addr: &Multiaddr) -> SocketAddr {
    use nodepair_waku::multiaddr::Protocol;
    let mut ip = None;
    let mut port = None;
    for p in addr.iter() {
        match p {
            Protocol::Ip4(a) => ip = Some(a),
            Protocol::Tcp(p) => port = Some(p),
            _ => {}
        }
    }
    SocketAddr::from((ip.expect("an ip4 address"), port.expect("a tcp port")))
}

/// `addr`'s peer reached at `via` instead.
fn through(addr: &Multiaddr, via: SocketAddr) -> Multiaddr {
    let id = addr
        .to_string()
        .rsplit_once("/p2p/")
        .map(|(_, id)| id.to_owned())
        .expect("a /p2p/ address");
    format!("/ip4/{}/tcp/{}/p2p/{id}", via.ip(), via.port())
        .parse()
        .expect("a multiaddr")
}

impl Wan {
    /// Builds the network for `profile`, or says why it cannot (not root).
    ///
    /// # Panics
    ///
    /// As root, when a namespace, its loss rules (nftables), a relay or a
    /// proxy cannot be made.
    pub async fn start(sandbox: &Sandbox, profile: Profile) -> Result<Wan, String> {
        let why =
            "making network namespaces and veth pairs needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN)";
        // As root these panic with what failed: a WAN test never passes
        // without having run.
        let app_net = Netns::create("10.214", "nwa").ok_or(why)?;
        let manager_net = Netns::create("10.215", "nwm").ok_or(why)?;
        // Half the path's loss at each end.
        app_net.set_loss(profile.loss_per_mille / 2);
        manager_net.set_loss(profile.loss_per_mille - profile.loss_per_mille / 2);
        let delay = Delay {
            one_way: profile.rtt / (2 * LINKS),
            jitter: profile.jitter / 2,
        };
        let any = |ip: &str| -> SocketAddr { format!("{ip}:0").parse().expect("an address") };
        let relay3 = Relay::start(sandbox, &[]);
        let p23 = DelayProxy::start(any("127.0.0.1"), socket(&relay3.addr), delay).await;
        let relay2 = Relay::start(sandbox, &[&through(&relay3.addr, p23.addr)]);
        let p12 = DelayProxy::start(any("127.0.0.1"), socket(&relay2.addr), delay).await;
        let relay1 = Relay::start(sandbox, &[&through(&relay2.addr, p12.addr)]);
        let app_link = DelayProxy::start(any(&app_net.ours), socket(&relay1.addr), delay).await;
        let manager_link =
            DelayProxy::start(any(&manager_net.ours), socket(&relay3.addr), delay).await;
        let app_bootstrap = through(&relay1.addr, app_link.addr);
        let manager_bootstrap = through(&relay3.addr, manager_link.addr);
        let app_runtime = app_net.runtime();
        Ok(Wan {
            app_runtime,
            profile,
            app_bootstrap,
            manager_bootstrap,
            _proxies: vec![p23, p12, app_link, manager_link],
            _relays: vec![relay1, relay2, relay3],
            app_net,
            manager_net,
        })
    }

    /// An app that dials relay 1, to start with [`Wan::start_app`].
    pub fn app(&self, name: &str) -> Arc<App> {
        Arc::new(App::new(name, &[&self.app_bootstrap]))
    }

    /// Starts `app` inside the app's namespace, and waits for it to reach
    /// relay 1.
    ///
    /// # Panics
    ///
    /// When it does not start or reach a relay in 10 s.
    pub async fn start_app(&self, app: &Arc<App>) -> Peer {
        let app = Arc::clone(app);
        self.app_runtime.run(async move { app.start().await }).await
    }

    /// A manager's files, dialling relay 3, with `extra` configuration.
    pub fn manager_home(&self, sandbox: &Sandbox, name: &str, extra: &str) -> ManagerHome {
        ManagerHome::with_config(
            sandbox.path(),
            name,
            &[&self.manager_bootstrap],
            Duration::from_secs(120),
            &["info", "host"],
            extra,
        )
    }

    /// Runs the manager of `home` inside the manager's namespace.
    ///
    /// # Panics
    ///
    /// When it does not start and announce itself.
    pub fn run_manager(&self, home: &ManagerHome, sandbox: &Sandbox) -> Daemon {
        home.run_in(sandbox, Some(&self.manager_net.name))
    }
}
