//! `host.health`, `host.follow`, `host.unfollow`: the machine's CPU, memory, disks and load, now, over the last minutes, and pushed live at a rate the app asks.

use super::{Empty, Method};
use serde::{Deserialize, Serialize};

/// The capability's name.
pub const CAPABILITY: &str = "host";

/// Its methods.
pub const METHODS: &[super::MethodInfo] = &[
    super::MethodInfo::of::<Health>(),
    super::MethodInfo::of::<HostFollow>(),
    super::MethodInfo::of::<HostUnfollow>(),
];

/// Its kind of stream, and the body of each event.
pub const STREAMS: &[super::StreamInfo] = &[super::StreamInfo::of::<HealthResponse>(STREAM)];

/// Its methods' bodies, for TypeScript.
#[cfg(feature = "specta")]
#[derive(Debug, Serialize, specta::Type)]
#[specta(inline)]
pub struct Methods {
    #[serde(rename = "host.health")]
    health: super::Call<HealthRequest, HealthResponse>,
    #[serde(rename = "host.follow")]
    follow: super::Call<HostFollowRequest, HostFollowResponse>,
    #[serde(rename = "host.unfollow")]
    unfollow: super::Call<Empty, Empty>,
}

/// Its stream's events, for TypeScript.
#[cfg(feature = "specta")]
#[derive(Debug, Serialize, specta::Type)]
#[specta(inline)]
pub struct Streams {
    host: HealthResponse,
}

/// The stream a host follow's events come on; each body is a
/// [`HealthResponse`] whose `samples` hold the one sample just taken.
pub const STREAM: &str = "host";
/// The fastest rate an app may ask for, milliseconds between events.
pub const MIN_FOLLOW_INTERVAL_MS: u64 = 1000;
/// The slowest.
pub const MAX_FOLLOW_INTERVAL_MS: u64 = 60_000;

/// The interval a manager uses when an app asks for `asked_ms`: the nearest
/// within [`MIN_FOLLOW_INTERVAL_MS`]..=[`MAX_FOLLOW_INTERVAL_MS`].
pub fn follow_interval_ms(asked_ms: u64) -> u64 {
    asked_ms.clamp(MIN_FOLLOW_INTERVAL_MS, MAX_FOLLOW_INTERVAL_MS)
}

/// `host.follow`: the host's state pushed as events of the stream
/// [`STREAM`] every `interval_ms` until `host.unfollow`, the session ends,
/// or the app is unpaired. One follow per app: following again replaces it
/// (and its rate).
#[derive(Debug)]
pub struct HostFollow;

impl Method for HostFollow {
    const NAME: &'static str = "host.follow";
    const CAPABILITY: Option<&'static str> = Some("host");
    type Request = HostFollowRequest;
    type Response = HostFollowResponse;
    const FOLLOWS: super::Follows = super::Follows::Starts;
}

/// `host.unfollow`: stops the app's host follow, if any.
#[derive(Debug)]
pub struct HostUnfollow;

impl Method for HostUnfollow {
    const NAME: &'static str = "host.unfollow";
    const CAPABILITY: Option<&'static str> = Some("host");
    type Request = Empty;
    type Response = Empty;
    const FOLLOWS: super::Follows = super::Follows::Stops {
        starts: HostFollow::NAME,
    };
}

/// How often the app wants the host's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct HostFollowRequest {
    /// Milliseconds between events; the manager keeps it within
    /// [`MIN_FOLLOW_INTERVAL_MS`]..=[`MAX_FOLLOW_INTERVAL_MS`].
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub interval_ms: u64,
}

/// The follow the manager started.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct HostFollowResponse {
    /// The stream its events come on ([`STREAM`]).
    pub stream: String,
    /// The interval the manager uses, after bounding the one asked.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub interval_ms: u64,
}

/// `host.health`, answered by managers offering the `host` capability.
#[derive(Debug)]
pub struct Health;

impl Method for Health {
    const NAME: &'static str = "host.health";
    const CAPABILITY: Option<&'static str> = Some("host");
    type Request = HealthRequest;
    type Response = HealthResponse;
}

/// What the app asks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct HealthRequest {
    /// Only samples taken after this (Unix milliseconds) are returned; 0 or
    /// absent: all the manager keeps.
    #[serde(default)]
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub samples_after_ms: u64,
}

/// The host now, and the samples the manager took in the background.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct HealthResponse {
    /// The machine's host name.
    pub hostname: String,
    /// Operating system and version, e.g. "Debian GNU/Linux 12".
    pub os: String,
    /// Kernel version, e.g. "6.1.0-13-amd64" (absent from older managers).
    #[serde(default)]
    pub kernel: String,
    /// Seconds since the machine booted.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub uptime_s: u64,
    /// Logical CPUs.
    pub cpus: u32,
    /// Each logical CPU's use over the last sampling interval, 0–100.
    #[serde(default)]
    #[cfg_attr(feature = "specta", specta(type = Vec<specta_typescript::Number>))]
    pub cpu_per_core: Vec<f32>,
    /// Load average over 1, 5 and 15 minutes (zeros where the OS has none).
    #[cfg_attr(feature = "specta", specta(type = [specta_typescript::Number; 3]))]
    pub load: [f64; 3],
    /// Physical memory, bytes.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub memory_total: u64,
    /// Memory in use (total minus available), bytes.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub memory_used: u64,
    /// Swap, bytes.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub swap_total: u64,
    /// Swap in use, bytes.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub swap_used: u64,
    /// Mounted file systems with real storage behind them.
    pub disks: Vec<Disk>,
    /// Network interfaces (loopback left out) and their rates over the last
    /// sampling interval.
    #[serde(default)]
    pub networks: Vec<Network>,
    /// How often the manager samples, milliseconds.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub sample_interval_ms: u64,
    /// Samples, oldest first; the newest is the current state.
    pub samples: Vec<Sample>,
}

/// One mounted file system.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Disk {
    /// Where it is mounted.
    pub mount: String,
    /// Its size, bytes.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub total: u64,
    /// Space available to unprivileged users, bytes.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub available: u64,
}

/// One network interface.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Network {
    /// Its name, e.g. `eth0`.
    pub name: String,
    /// Received over the last interval, bytes per second.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub rx_per_s: u64,
    /// Sent over the last interval, bytes per second.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub tx_per_s: u64,
    /// Received since boot, bytes.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub rx_total: u64,
    /// Sent since boot, bytes.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub tx_total: u64,
}

/// CPU and memory at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Sample {
    /// When, Unix milliseconds.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub at_ms: u64,
    /// CPU busy over the interval before, 0–100 (all CPUs together).
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub cpu_percent: f32,
    /// Memory in use, bytes.
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub memory_used: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{decode_request, decode_response, encode};

    #[test]
    fn a_follow_rate_is_kept_within_its_bounds() {
        assert_eq!(follow_interval_ms(0), MIN_FOLLOW_INTERVAL_MS);
        assert_eq!(follow_interval_ms(10), 1000);
        assert_eq!(follow_interval_ms(2500), 2500);
        assert_eq!(follow_interval_ms(u64::MAX), MAX_FOLLOW_INTERVAL_MS);
        // A follow without a rate is refused rather than guessed.
        assert!(decode_request::<HostFollow>(b"").is_err());
        let asked = decode_request::<HostFollow>(br#"{"interval_ms":2000}"#).unwrap();
        assert_eq!(asked.interval_ms, 2000);
    }

    #[test]
    fn an_empty_request_asks_for_every_sample() {
        let request = decode_request::<Health>(b"").unwrap();
        assert_eq!(request.samples_after_ms, 0);
        let request = decode_request::<Health>(br#"{"samples_after_ms":5}"#).unwrap();
        assert_eq!(request.samples_after_ms, 5);
    }

    #[test]
    fn a_response_round_trips_and_a_wrong_one_names_the_method() {
        let response = HealthResponse {
            hostname: "validator-1".into(),
            os: "Debian GNU/Linux 12".into(),
            kernel: "6.1.0-13-amd64".into(),
            cpu_per_core: vec![10.0; 8],
            networks: vec![Network {
                name: "eth0".into(),
                rx_per_s: 1000,
                tx_per_s: 2000,
                rx_total: 1 << 30,
                tx_total: 1 << 31,
            }],
            uptime_s: 86_400,
            cpus: 8,
            load: [0.5, 0.75, 1.0],
            memory_total: 32 << 30,
            memory_used: 12 << 30,
            swap_total: 0,
            swap_used: 0,
            disks: vec![Disk {
                mount: "/".into(),
                total: 2 << 40,
                available: 1 << 40,
            }],
            sample_interval_ms: 5000,
            samples: vec![Sample {
                at_ms: 1_790_000_000_000,
                cpu_percent: 12.5,
                memory_used: 12 << 30,
            }],
        };
        let body = encode(&response);
        assert_eq!(decode_response::<Health>(&body).unwrap(), response);
        // A manager from before `kernel`, `cpu_per_core` and `networks` is read.
        let mut old: serde_json::Value = serde_json::from_slice(&body).unwrap();
        for field in ["kernel", "cpu_per_core", "networks"] {
            old.as_object_mut().unwrap().remove(field);
        }
        let read = decode_response::<Health>(&serde_json::to_vec(&old).unwrap()).unwrap();
        assert!(read.kernel.is_empty() && read.cpu_per_core.is_empty() && read.networks.is_empty());
        let err = decode_response::<Health>(b"{\"hostname\":1}").unwrap_err();
        assert!(
            err.to_string().starts_with("the host.health body is not"),
            "{err}"
        );
    }
}
