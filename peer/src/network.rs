//! The `[network]` section the manager and the app share: where their Waku node finds the network, by preset or by hand.
//!
//! Three presets:
//!
//! - `local`: a `nodepair-relay` on this machine, as the demo and the tests
//!   start it (`/ip4/127.0.0.1/tcp/60000`, cluster 0) unless `bootstrap`
//!   says otherwise;
//! - `self-hosted`: your own relays, named in `bootstrap` or an `enrtree`
//!   list (at least one is needed);
//! - `waku-network` (the default, as for js-waku): The Waku Network
//!   (cluster 1, shards 0–7), found through its DNS list, as a light node:
//!   relaying there needs RLN proofs. An app and a manager with no
//!   `[network]` section at all find each other there.
//!
//! Every other key overrides what the preset gives.

use nodepair_waku::{Config, Mode, Multiaddr, Shard, discovery::Discv5Config};
use serde::{Deserialize, Serialize};
use std::net::{Ipv4Addr, SocketAddr};

/// Where the `local` preset looks for its relay: `nodepair-relay`'s default.
pub const LOCAL_RELAY: &str = "/ip4/127.0.0.1/tcp/60000";
/// The ENR trees js-waku reads for The Waku Network (Status's "sandbox" and
/// "test" fleets).
pub const WAKU_NETWORK_ENRTREES: [&str; 2] = [
    "enrtree://AIRVQ5DDA4FFWLRBCHJWUWOO6X6S4ZTZ5B667LQ6AJU6PEYDLRD5O@sandbox.waku.nodes.status.im",
    "enrtree://AOGYWMBYOUIMOENHXCHILPKY3ZRFEULMFI4DOM442QSZ73TT2A7VI@test.waku.nodes.status.im",
];
/// The Waku Network's cluster.
pub const WAKU_NETWORK_CLUSTER: u16 = 1;
/// The Waku Network's shards are 0 to this, less one.
pub const WAKU_NETWORK_SHARDS: u16 = 8;

/// Which network the node joins.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// A relay on this machine.
    Local,
    /// Relays of your own.
    SelfHosted,
    /// The Waku Network.
    #[default]
    WakuNetwork,
}

impl Preset {
    /// As the settings file spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Preset::Local => "local",
            Preset::SelfHosted => "self-hosted",
            Preset::WakuNetwork => "waku-network",
        }
    }
}

/// How the node takes part.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "lowercase")]
pub enum NetworkMode {
    /// A member of the relay mesh, serving light nodes.
    Relay,
    /// Through service nodes (light push, filter, store).
    Light,
}

impl NetworkMode {
    /// As the settings file spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            NetworkMode::Relay => "relay",
            NetworkMode::Light => "light",
        }
    }
}

impl From<NetworkMode> for Mode {
    fn from(mode: NetworkMode) -> Self {
        match mode {
            NetworkMode::Relay => Mode::Relay,
            NetworkMode::Light => Mode::Light,
        }
    }
}

/// The `[network]` section. Unknown keys are refused.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkConfig {
    /// `local`, `self-hosted` or `waku-network`.
    pub preset: Preset,
    /// Waku peers dialled at start and re-dialled when they drop.
    pub bootstrap: Vec<Multiaddr>,
    /// Addresses to accept Waku connections on; none means dial out only.
    pub listen: Vec<Multiaddr>,
    /// Waku cluster (static sharding) [default: the preset's].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<u16>,
    /// The shard carrying NodePair's messages [default: 0].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<u16>,
    /// `relay` or `light` [default: the program's, light on The Waku Network].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<NetworkMode>,
    /// `enrtree://<key>@<domain>` lists of nodes (EIP-1459 DNS discovery).
    pub enrtree: Vec<String>,
    /// The DNS server to read them from [default: the system's].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns_server: Option<SocketAddr>,
    /// Run discv5 on this UDP port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discv5_port: Option<u16>,
    /// Node records (`enr:…`) discv5 starts from.
    pub discv5_bootstrap: Vec<String>,
    /// The public IPv4 address put in the node's record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advertise_ip: Option<Ipv4Addr>,
    /// Ask connected nodes for more peers (peer exchange).
    pub peer_exchange: bool,
    /// Discovered peers to stay connected with.
    pub target_peers: usize,
    /// Let discovered records point at loopback, link-local or private
    /// addresses (a self-hosted network on a LAN). Always so on `local`;
    /// off elsewhere, so a published record cannot make this node connect
    /// into its own machine or network.
    pub allow_private_peers: bool,
}

/// What a `[network]` section comes to once its preset is applied, as
/// `status` reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct NetworkSummary {
    /// The preset.
    pub preset: Preset,
    /// Relay or light.
    pub mode: NetworkMode,
    /// The Waku cluster.
    pub cluster: u16,
    /// The shard NodePair's messages travel on.
    pub shard: u16,
    /// Peers dialled at start.
    pub bootstrap: Vec<String>,
    /// ENR trees read for more.
    pub enrtree: Vec<String>,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            preset: Preset::WakuNetwork,
            bootstrap: Vec::new(),
            listen: Vec::new(),
            cluster: None,
            shard: None,
            mode: None,
            enrtree: Vec::new(),
            dns_server: None,
            discv5_port: None,
            discv5_bootstrap: Vec::new(),
            advertise_ip: None,
            peer_exchange: true,
            target_peers: 6,
            allow_private_peers: false,
        }
    }
}

/// A `[network]` section that cannot work, and what to change.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum NetworkError {
    /// Self-hosted, but nothing to find the relays by.
    #[error(
        "[network] preset = \"self-hosted\" needs your relays: set bootstrap = [\"/dns4/relay.example.org/tcp/60000/p2p/…\"] or an enrtree list"
    )]
    SelfHostedWithoutPeers,
    /// The Waku Network with another cluster.
    #[error(
        "The Waku Network is cluster {WAKU_NETWORK_CLUSTER}; [network] cluster = {0} contradicts preset = \"waku-network\", the default: remove the cluster key, or set preset = \"self-hosted\" (your own relays) or \"local\" (a relay on this machine)"
    )]
    WakuNetworkCluster(u16),
    /// The Waku Network with a shard it does not have.
    #[error("The Waku Network has shards 0 to 7; [network] shard = {0} is not one of them")]
    WakuNetworkShard(u16),
    /// Relaying on The Waku Network.
    #[error(
        "relaying on The Waku Network needs RLN proofs, which NodePair does not make; remove mode = \"relay\" (the preset runs as a light node)"
    )]
    WakuNetworkRelay,
    /// A shard outside static sharding's range.
    #[error("[network] shard = {0} is out of range (0 to 1023)")]
    ShardRange(u16),
    /// A malformed ENR tree link.
    #[error("[network] enrtree entry {0:?} is not an enrtree://<key>@<domain> link")]
    EnrTree(String),
}

impl NetworkConfig {
    /// What this section comes to (see [`NetworkConfig::waku_config`]).
    pub fn summary(&self, program_mode: Mode) -> Result<NetworkSummary, NetworkError> {
        let config = self.waku_config(program_mode)?;
        let shard = config.shards.first().copied().unwrap_or(Shard {
            cluster: 0,
            shard: 0,
        });
        Ok(NetworkSummary {
            preset: self.preset,
            mode: match config.mode {
                Mode::Relay => NetworkMode::Relay,
                Mode::Light => NetworkMode::Light,
            },
            cluster: shard.cluster,
            shard: shard.shard,
            bootstrap: config.bootstrap.iter().map(ToString::to_string).collect(),
            enrtree: config.discovery.dns,
        })
    }

    /// The Waku node's configuration: the preset, then each key set here;
    /// `program_mode` is the mode when neither says (relay for the manager,
    /// light for the app).
    pub fn waku_config(&self, program_mode: Mode) -> Result<Config, NetworkError> {
        let shard = self.shard.unwrap_or(0);
        if shard >= 1024 {
            return Err(NetworkError::ShardRange(shard));
        }
        for link in &self.enrtree {
            if !link.starts_with("enrtree://") || !link.contains('@') {
                return Err(NetworkError::EnrTree(link.clone()));
            }
        }
        let mut bootstrap = self.bootstrap.clone();
        let mut enrtree = self.enrtree.clone();
        let (cluster, mode) = match self.preset {
            Preset::Local => {
                if bootstrap.is_empty() && enrtree.is_empty() {
                    bootstrap.push(LOCAL_RELAY.parse().expect("a valid multiaddr"));
                }
                (
                    self.cluster.unwrap_or(0),
                    self.mode.map_or(program_mode, Mode::from),
                )
            }
            Preset::SelfHosted => {
                if bootstrap.is_empty() && enrtree.is_empty() && self.discv5_bootstrap.is_empty() {
                    return Err(NetworkError::SelfHostedWithoutPeers);
                }
                (
                    self.cluster.unwrap_or(0),
                    self.mode.map_or(program_mode, Mode::from),
                )
            }
            Preset::WakuNetwork => {
                if let Some(cluster) = self.cluster.filter(|c| *c != WAKU_NETWORK_CLUSTER) {
                    return Err(NetworkError::WakuNetworkCluster(cluster));
                }
                if shard >= WAKU_NETWORK_SHARDS {
                    return Err(NetworkError::WakuNetworkShard(shard));
                }
                if self.mode == Some(NetworkMode::Relay) {
                    return Err(NetworkError::WakuNetworkRelay);
                }
                if enrtree.is_empty() {
                    enrtree.extend(WAKU_NETWORK_ENRTREES.map(String::from));
                }
                (WAKU_NETWORK_CLUSTER, Mode::Light)
            }
        };
        let mut config = Config::new(Shard { cluster, shard });
        config.listen = self.listen.clone();
        config.bootstrap = bootstrap;
        config.mode = mode;
        config.discovery.dns = enrtree;
        config.discovery.dns_server = self.dns_server;
        config.discovery.discv5 = self.discv5_port.map(|port| {
            Discv5Config::new(
                (Ipv4Addr::UNSPECIFIED, port).into(),
                self.discv5_bootstrap.clone(),
            )
        });
        config.discovery.advertise_ip = self.advertise_ip;
        config.discovery.peer_exchange = self.peer_exchange;
        config.discovery.target_peers = self.target_peers;
        config.discovery.dial_private = self.preset == Preset::Local || self.allow_private_peers;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> NetworkConfig {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn the_waku_network_is_the_default_for_both_programs() {
        for program in [Mode::Relay, Mode::Light] {
            let summary = read("").summary(program).unwrap();
            assert_eq!(
                (summary.preset, summary.mode, summary.cluster, summary.shard),
                (Preset::WakuNetwork, NetworkMode::Light, 1, 0)
            );
            assert_eq!(summary.enrtree, WAKU_NETWORK_ENRTREES);
            assert!(summary.bootstrap.is_empty());
        }
        // A configuration written for the old default (a local relay on
        // cluster 42) is refused with the way back named.
        let err = read("cluster = 42").waku_config(Mode::Relay).unwrap_err();
        assert!(
            err.to_string()
                .contains("\"local\" (a relay on this machine)"),
            "{err}"
        );
        let json = serde_json::to_value(read("").summary(Mode::Relay).unwrap()).unwrap();
        assert_eq!(
            (json["preset"].as_str(), json["mode"].as_str()),
            (Some("waku-network"), Some("light"))
        );
    }

    #[test]
    fn local_finds_the_relay_the_demo_starts() {
        let local = || read("preset = \"local\"\n");
        let config = local().waku_config(Mode::Relay).unwrap();
        assert_eq!(
            config.bootstrap,
            [LOCAL_RELAY.parse::<Multiaddr>().unwrap()]
        );
        assert_eq!(
            config.shards,
            [Shard {
                cluster: 0,
                shard: 0
            }]
        );
        assert_eq!(config.mode, Mode::Relay);
        assert!(config.discovery.dns.is_empty() && config.discovery.discv5.is_none());
        let app = local().waku_config(Mode::Light).unwrap();
        assert_eq!(app.mode, Mode::Light, "the program's mode when none is set");
        // Given peers replace the local relay.
        let given =
            read("preset = \"local\"\nbootstrap = [\"/ip4/10.0.0.2/tcp/60000\"]\ncluster = 42\nmode = \"light\"\n")
                .waku_config(Mode::Relay)
                .unwrap();
        assert_eq!(given.bootstrap.len(), 1);
        assert_eq!(given.shards[0].cluster, 42);
        assert_eq!(given.mode, Mode::Light);
    }

    #[test]
    fn self_hosted_needs_relays_and_takes_discovery_settings() {
        let err = read("preset = \"self-hosted\"")
            .waku_config(Mode::Relay)
            .unwrap_err();
        assert_eq!(err, NetworkError::SelfHostedWithoutPeers);
        assert!(err.to_string().contains("bootstrap = ["), "{err}");
        let config = read(
            "preset = \"self-hosted\"\nenrtree = [\"enrtree://AKEY@nodes.example.org\"]\n\
             dns_server = \"127.0.0.1:5353\"\ndiscv5_port = 9000\nadvertise_ip = \"203.0.113.7\"\n",
        )
        .waku_config(Mode::Relay)
        .unwrap();
        assert!(config.bootstrap.is_empty());
        assert_eq!(config.discovery.dns, ["enrtree://AKEY@nodes.example.org"]);
        assert_eq!(
            config.discovery.dns_server,
            Some("127.0.0.1:5353".parse().unwrap())
        );
        assert_eq!(config.discovery.discv5.unwrap().listen.port(), 9000);
        assert_eq!(
            config.discovery.advertise_ip,
            Some(Ipv4Addr::new(203, 0, 113, 7))
        );
    }

    #[test]
    fn the_waku_network_is_cluster_1_light_found_by_dns() {
        let config = read("preset = \"waku-network\"\nshard = 5\n")
            .waku_config(Mode::Relay)
            .unwrap();
        assert_eq!(
            config.shards,
            [Shard {
                cluster: 1,
                shard: 5
            }]
        );
        assert_eq!(config.mode, Mode::Light, "light even for the manager");
        assert_eq!(config.discovery.dns, WAKU_NETWORK_ENRTREES);
        assert!(config.bootstrap.is_empty());
        for (text, err) in [
            ("cluster = 42", NetworkError::WakuNetworkCluster(42)),
            ("shard = 8", NetworkError::WakuNetworkShard(8)),
            ("mode = \"relay\"", NetworkError::WakuNetworkRelay),
        ] {
            let bad = read(&format!("preset = \"waku-network\"\n{text}\n"));
            assert_eq!(bad.waku_config(Mode::Light).unwrap_err(), err, "{text}");
        }
    }

    #[test]
    fn bad_values_are_refused_with_what_to_change() {
        let err = toml::from_str::<NetworkConfig>("preset = \"twn\"")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("waku-network") && err.contains("self-hosted"),
            "{err}"
        );
        let err = read("enrtree = [\"https://nodes.example.org\"]")
            .waku_config(Mode::Relay)
            .unwrap_err();
        assert!(err.to_string().contains("not an enrtree://"), "{err}");
        assert_eq!(
            read("shard = 1024").waku_config(Mode::Relay).unwrap_err(),
            NetworkError::ShardRange(1024)
        );
    }
}
