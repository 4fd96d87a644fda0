//! Host health: CPU (total and per core), memory, disks, network rates and load, sampled in the background for `host.health` and pushed to apps that follow it.

use crate::answer::{Answer, Setup, ok, ready, request, unknown};
use crate::logs::AbortOnDrop;
use bytes::Bytes;
use nodepair_peer::{Caller, Peer, ReplyFuture};
use nodepair_protocol::frame::ByteString;
use nodepair_protocol::api::host::{Health, HostFollow, HostUnfollow};
use nodepair_protocol::api::{self, Method};
use nodepair_protocol::PublicKey;
use nodepair_protocol::api::host::{
    Disk, HealthRequest, HealthResponse, HostFollowResponse, Network, STREAM, Sample,
    follow_interval_ms,
};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;
use std::time::Instant;
use sysinfo::{CpuRefreshKind, Disks, MemoryRefreshKind, Networks, RefreshKind, System};

/// How often CPU and memory are sampled.
pub(crate) const SAMPLE_INTERVAL: Duration = Duration::from_secs(5);
/// How many samples are kept: 15 minutes at one per 5 s.
pub(crate) const KEPT_SAMPLES: usize = 180;

/// The machine, the samples taken so far, and the apps following it live.
pub(crate) struct Host {
    inner: Mutex<Inner>,
    peer: Arc<OnceLock<Peer>>,
    follows: Mutex<HashMap<PublicKey, AbortOnDrop>>,
}

struct Inner {
    meter: Meter,
    samples: VecDeque<Sample>,
}

/// CPU, memory and network counters, and the rates between its last two
/// readings. Each reader (the background sampler, each follow) has its own,
/// so each rate is over that reader's own interval.
struct Meter {
    system: System,
    networks: Networks,
    /// When the networks were last refreshed, and the rates then measured.
    networks_at: Instant,
    rates: Vec<Network>,
}

impl Meter {
    /// Starts measuring (CPU use needs a first reading to compare with).
    fn new() -> Self {
        Meter {
            system: System::new_with_specifics(
                RefreshKind::nothing()
                    .with_cpu(CpuRefreshKind::nothing().with_cpu_usage())
                    .with_memory(MemoryRefreshKind::nothing().with_ram().with_swap()),
            ),
            networks: Networks::new_with_refreshed_list(),
            networks_at: Instant::now(),
            rates: Vec::new(),
        }
    }

    /// Reads every counter now; CPU and network rates are since the last read.
    fn read(&mut self) -> Sample {
        self.system.refresh_cpu_usage();
        self.system
            .refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram().with_swap());
        let sample = Sample {
            at_ms: unix_ms(),
            cpu_percent: percent(self.system.global_cpu_usage()),
            memory_used: used_memory(&self.system),
        };
        let elapsed = self.networks_at.elapsed().as_secs_f64().max(0.001);
        self.networks.refresh(true);
        self.networks_at = Instant::now();
        let mut rates: Vec<Network> = self
            .networks
            .list()
            .iter()
            .filter(|(name, data)| {
                shown_interface(
                    name,
                    has_device(name),
                    data.total_received() + data.total_transmitted(),
                )
            })
            .map(|(name, data)| Network {
                name: name.clone(),
                rx_per_s: per_second(data.received(), elapsed),
                tx_per_s: per_second(data.transmitted(), elapsed),
                rx_total: data.total_received(),
                tx_total: data.total_transmitted(),
            })
            .collect();
        rates.sort_by(|a, b| a.name.cmp(&b.name));
        self.rates = rates;
        sample
    }

    /// The host as of the last read, with `samples` and the interval they
    /// were taken at.
    fn report(&mut self, interval: Duration, samples: Vec<Sample>) -> HealthResponse {
        self.system
            .refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram().with_swap());
        let load = System::load_average();
        let system = &self.system;
        HealthResponse {
            hostname: System::host_name().unwrap_or_default(),
            os: System::long_os_version().unwrap_or_else(|| std::env::consts::OS.to_owned()),
            kernel: System::kernel_version().unwrap_or_default(),
            cpu_per_core: system
                .cpus()
                .iter()
                .map(|c| percent(c.cpu_usage()))
                .collect(),
            networks: self.rates.clone(),
            uptime_s: System::uptime(),
            cpus: u32::try_from(system.cpus().len()).unwrap_or(u32::MAX),
            load: [load.one, load.five, load.fifteen].map(|l| if l.is_finite() { l } else { 0.0 }),
            memory_total: system.total_memory(),
            memory_used: used_memory(system),
            swap_total: system.total_swap(),
            swap_used: system.used_swap(),
            disks: disks(),
            sample_interval_ms: u64::try_from(interval.as_millis()).unwrap_or(u64::MAX),
            samples,
        }
    }
}

impl Host {
    /// Starts measuring; follows push their events through `peer` once set.
    pub(crate) fn new(peer: Arc<OnceLock<Peer>>) -> Arc<Host> {
        Arc::new(Host {
            inner: Mutex::new(Inner {
                meter: Meter::new(),
                samples: VecDeque::with_capacity(KEPT_SAMPLES),
            }),
            peer,
            follows: Mutex::new(HashMap::new()),
        })
    }

    /// Samples every [`SAMPLE_INTERVAL`] until the returned task is aborted.
    pub(crate) fn spawn_sampler(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let host = Arc::clone(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(SAMPLE_INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // The first tick is immediate and has nothing to compare with.
            tick.tick().await;
            loop {
                tick.tick().await;
                host.sample();
            }
        })
    }

    /// Takes one sample now.
    pub(crate) fn sample(&self) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let sample = inner.meter.read();
        if inner.samples.len() == KEPT_SAMPLES {
            inner.samples.pop_front();
        }
        inner.samples.push_back(sample);
    }

    /// What `host.health` answers.
    pub(crate) fn health(&self, request: &HealthRequest) -> HealthResponse {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let samples = inner
            .samples
            .iter()
            .filter(|s| s.at_ms > request.samples_after_ms)
            .copied()
            .collect();
        inner.meter.report(SAMPLE_INTERVAL, samples)
    }

    /// Starts pushing the host's state to `caller` about every `asked_ms`
    /// (bounded), replacing its earlier follow.
    pub(crate) fn follow(self: &Arc<Self>, caller: &Caller, asked_ms: u64) -> HostFollowResponse {
        let interval_ms = follow_interval_ms(asked_ms);
        let interval = Duration::from_millis(interval_ms);
        let (who, peer) = (caller.public_key, Arc::clone(&self.peer));
        let task = tokio::spawn(async move {
            let why = push_host(&peer, who, interval).await;
            tracing::info!(target: "audit", caller = %who.fingerprint(), "host follow ended: {why}");
        });
        let mut follows = self.follows.lock().unwrap_or_else(PoisonError::into_inner);
        follows.retain(|_, task| !task.0.is_finished());
        follows.insert(who, AbortOnDrop(task));
        tracing::info!(target: "audit", caller = %who.fingerprint(), name = ?caller.display_name, interval_ms, "host follow started");
        HostFollowResponse {
            stream: STREAM.to_owned(),
            interval_ms,
        }
    }

    /// Stops `caller`'s follow, if any.
    pub(crate) fn unfollow(&self, caller: &Caller) {
        let stopped = self
            .follows
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&caller.public_key);
        if stopped.is_some() {
            tracing::info!(target: "audit", caller = %caller.public_key.fingerprint(), "host follow ended: unfollowed");
        }
    }
}

/// Pushes a reading to `to` every `interval` until a push fails; returns why.
async fn push_host(peer: &OnceLock<Peer>, to: PublicKey, interval: Duration) -> String {
    let Some(peer) = peer.get() else {
        return "the manager is not running".into();
    };
    let mut meter = Meter::new();
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick is immediate: it starts the meter, and the first push
    // comes one interval later with rates over that interval.
    tick.tick().await;
    meter.read();
    loop {
        tick.tick().await;
        // Reading /proc and the mounts may block; keep it off the runtime.
        let read = tokio::task::spawn_blocking(move || {
            let sample = meter.read();
            let report = meter.report(interval, vec![sample]);
            (meter, report)
        })
        .await;
        let report = match read {
            Ok((back, report)) => {
                meter = back;
                report
            }
            Err(e) => return format!("reading the host failed: {e}"),
        };
        if let Err(e) = peer
            .send_event(
                to,
                ByteString::from_static(STREAM),
                nodepair_protocol::api::encode(&report),
            )
            .await
        {
            return e.to_string();
        }
    }
}

/// What the alert rules read of the host besides its mounts: memory, load
/// and CPUs. Blocks (it reads /proc), briefly.
pub(crate) fn memory_and_load() -> crate::alerts::rules::Observation {
    let system = System::new_with_specifics(
        RefreshKind::nothing()
            .with_cpu(CpuRefreshKind::nothing())
            .with_memory(MemoryRefreshKind::nothing().with_ram()),
    );
    let load = System::load_average().one;
    let cpus = u32::try_from(system.cpus().len()).unwrap_or(u32::MAX);
    crate::alerts::rules::Observation {
        memory: Some((system.total_memory(), system.available_memory())),
        load: (load.is_finite() && cpus > 0).then_some((load, cpus)),
        ..crate::alerts::rules::Observation::default()
    }
}

/// Where file systems with storage behind them are mounted (a device, a
/// network or FUSE file system), each once, read from `/proc/self/mounts`
/// without asking any of them: listing does not hang on a dead network
/// mount, as asking its free space may.
pub(crate) fn mount_points() -> Vec<String> {
    // Bytes: a mount point that is no UTF-8 (a label in Latin-1) must not
    // hide the others.
    std::fs::read("/proc/self/mounts").map_or_else(
        |_| Vec::new(),
        |bytes| mount_points_in(&String::from_utf8_lossy(&bytes)),
    )
}

/// Whether an interface is worth a row: a network card always; loopback,
/// traffic shapers (`ifb*`) and the host ends of container links (`veth*`,
/// whose traffic their bridge carries too) never; any other virtual one (a
/// bridge, a VPN) once it has carried traffic.
fn shown_interface(name: &str, physical: bool, total_bytes: u64) -> bool {
    if name == "lo" || ["ifb", "veth"].iter().any(|kind| name.starts_with(kind)) {
        return false;
    }
    physical || total_bytes > 0
}

/// Whether the kernel has a device behind `name` (a network card, not a
/// virtual interface). Off Linux nothing says so: traffic decides alone.
fn has_device(name: &str) -> bool {
    !name.contains('/')
        && std::path::Path::new("/sys/class/net")
            .join(name)
            .join("device")
            .exists()
}

/// [`mount_points`] of a mounts table's text.
fn mount_points_in(table: &str) -> Vec<String> {
    // Kinds with storage whose source is no device path.
    const STORED: &[&str] = &["nfs", "nfs4", "cifs", "smb3", "ceph", "glusterfs", "9p", "zfs"];
    let mut found: Vec<(&str, String)> = Vec::new();
    let mut points: Vec<String> = Vec::new();
    for line in table.lines() {
        let mut fields = line.split(' ');
        let (Some(source), Some(point), Some(kind)) = (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let point = unescape_mount(point);
        let stored = source.starts_with('/')
            || STORED.contains(&kind)
            || kind.starts_with("fuse.")
            // A container's root.
            || (kind == "overlay" && point == "/");
        let hidden = ["/proc", "/sys", "/dev"]
            .iter()
            .any(|p| point == *p || point.starts_with(&format!("{p}/")));
        // Snaps and images are read-only and always full.
        let read_only_image = matches!(kind, "squashfs" | "iso9660");
        if stored && !hidden && !read_only_image {
            found.push((source, point));
        }
    }
    // A device mounted again elsewhere (a bind mount, as container engines
    // make of their storage) is the same space: at its shortest point.
    found.sort_by(|a, b| (a.1.len(), &a.1).cmp(&(b.1.len(), &b.1)));
    let mut devices: Vec<&str> = Vec::new();
    for (source, point) in found {
        let again = source.starts_with("/dev/") && devices.contains(&source);
        if !again && !points.contains(&point) {
            devices.push(source);
            points.push(point);
        }
    }
    points.sort();
    points
}

/// A mount point as the mounts table writes it (`\040` for a space).
fn unescape_mount(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let code = rest.get(at + 1..at + 4).and_then(|o| u8::from_str_radix(o, 8).ok());
        match code {
            Some(byte) => {
                out.push(char::from(byte));
                rest = &rest[at + 4..];
            }
            None => {
                out.push('\\');
                rest = &rest[at + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Mounted file systems with real storage behind them, each once, by mount.
fn disks() -> Vec<Disk> {
    let mounted = Disks::new_with_refreshed_list()
        .list()
        .iter()
        .map(|disk| Mounted {
            mount: disk.mount_point().to_string_lossy().into_owned(),
            device: disk.name().to_string_lossy().into_owned(),
            kind: disk.file_system().to_string_lossy().into_owned(),
            total: disk.total_space(),
            available: disk.available_space(),
        })
        .collect();
    distinct(mounted)
}

/// A mounted file system as the OS lists it.
struct Mounted {
    mount: String,
    device: String,
    kind: String,
    total: u64,
    available: u64,
}

/// Each file system once: a container's root (`overlay`, one per running
/// container on a Docker or Podman host) is its image, not a disk, and a
/// device mounted again elsewhere (a bind mount, as container engines make
/// of their storage) is the same space, shown at its shortest mount point.
fn distinct(mut mounted: Vec<Mounted>) -> Vec<Disk> {
    mounted.sort_by(|a, b| (a.mount.len(), &a.mount).cmp(&(b.mount.len(), &b.mount)));
    let mut devices: Vec<&str> = Vec::new();
    let mut disks: Vec<Disk> = Vec::new();
    for m in &mounted {
        let again = m.device.starts_with("/dev/") && devices.contains(&m.device.as_str());
        if m.total == 0 || m.kind == "overlay" || again || disks.iter().any(|d| d.mount == m.mount) {
            continue;
        }
        devices.push(&m.device);
        disks.push(Disk {
            mount: m.mount.clone(),
            total: m.total,
            available: m.available,
        });
    }
    disks.sort_by(|a, b| a.mount.cmp(&b.mount));
    disks
}

/// `bytes` over `seconds`, rounded.
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss
)]
fn per_second(bytes: u64, seconds: f64) -> u64 {
    (bytes as f64 / seconds).round() as u64
}

/// In use = total minus what can be had without swapping (caches count as free).
fn used_memory(system: &System) -> u64 {
    system
        .total_memory()
        .saturating_sub(system.available_memory())
}

fn unix_ms() -> u64 {
    nodepair_peer::Clock::system().unix_millis()
}

/// A CPU share as sent: within 0–100, and 0 for a reading that is not a
/// number (JSON has no NaN: it would reach the app as `null`).
fn percent(value: f32) -> f32 {
    if value.is_finite() {
        value.clamp(0.0, 100.0)
    } else {
        0.0
    }
}


/// The `host` capability: sampling starts with the manager.
pub(crate) fn answerer(setup: &mut Setup<'_>) -> anyhow::Result<Arc<dyn Answer>> {
    let host = Host::new(Arc::clone(&setup.peer));
    setup.tasks.push(host.spawn_sampler());
    Ok(host)
}

impl Answer for Host {
    fn answer(self: Arc<Self>, caller: Caller, method: &'static str, body: Bytes) -> ReplyFuture {
        let reply = match method {
            Health::NAME => request::<Health>(&body).map(|r| ok(&self.health(&r))),
            HostFollow::NAME => {
                request::<HostFollow>(&body).map(|r| ok(&self.follow(&caller, r.interval_ms)))
            }
            HostUnfollow::NAME => {
                self.unfollow(&caller);
                Ok(ok(&api::Empty {}))
            }
            other => Err(unknown(other)),
        };
        ready(reply.unwrap_or_else(|refused| refused))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_reports_this_machine_and_keeps_a_bounded_history() {
        let host = Host::new(Arc::default());
        for _ in 0..KEPT_SAMPLES + 3 {
            host.sample();
        }
        let all = host.health(&HealthRequest::default());
        assert_eq!(all.samples.len(), KEPT_SAMPLES);
        assert!(all.samples.windows(2).all(|w| w[0].at_ms <= w[1].at_ms));
        assert!(all.memory_total > 0 && all.memory_used <= all.memory_total);
        assert!(all.cpus >= 1);
        assert_eq!(all.cpu_per_core.len(), all.cpus as usize);
        assert!(!all.kernel.is_empty());
        assert!(all.networks.iter().all(|n| n.name != "lo"));
        assert!(
            all.networks
                .iter()
                .all(|n| !n.name.starts_with("ifb") && !n.name.starts_with("veth")),
            "{:?}",
            all.networks
        );
        assert!(all.disks.iter().any(|d| d.mount == "/"), "{:?}", all.disks);
        assert!(
            all.samples
                .iter()
                .all(|s| (0.0..=100.0).contains(&s.cpu_percent))
        );

        // Asking for what is newer than the last sample gives none.
        let newest = all.samples.last().unwrap().at_ms;
        let none = host.health(&HealthRequest {
            samples_after_ms: newest,
        });
        assert!(none.samples.is_empty());
    }

    #[test]
    fn a_cpu_reading_that_is_not_a_number_is_sent_as_zero() {
        assert_eq!(percent(f32::NAN), 0.0);
        assert_eq!(percent(f32::INFINITY), 0.0);
        assert_eq!(percent(130.0), 100.0);
        assert_eq!(percent(-1.0), 0.0);
        assert_eq!(percent(42.5), 42.5);
    }

    #[test]
    fn a_container_hosts_overlays_and_bind_mounts_are_not_more_disks() {
        let m = |mount: &str, device: &str, kind: &str| Mounted {
            mount: mount.into(),
            device: device.into(),
            kind: kind.into(),
            total: 100,
            available: 40,
        };
        let shown: Vec<String> = distinct(vec![
            m("/var/lib/docker/overlay2/3f94/merged", "overlay", "overlay"),
            m("/var/lib/containers/storage/overlay", "/dev/vda1", "ext4"),
            m("/", "/dev/vda1", "ext4"),
            m("/var/lib/geth", "/dev/nvme0n1p1", "xfs"),
            m("/boot/efi", "/dev/vda15", "vfat"),
        ])
        .into_iter()
        .map(|d| d.mount)
        .collect();
        assert_eq!(shown, ["/", "/boot/efi", "/var/lib/geth"]);
    }

    #[test]
    fn the_mounts_with_storage_are_listed_once_without_pseudo_file_systems() {
        let table = "\
sysfs /sys sysfs rw,nosuid 0 0
proc /proc proc rw 0 0
/dev/vda1 / ext4 rw,relatime 0 0
tmpfs /run tmpfs rw 0 0
/dev/vdb1 /var/lib/my\\040node ext4 rw 0 0
server:/export /srv/nfs nfs4 rw 0 0
sshfs#me@host: /mnt/remote fuse.sshfs rw 0 0
tank/data /tank/data zfs rw 0 0
/dev/loop3 /snap/core/1 squashfs ro 0 0
/dev/vda1 / ext4 rw,relatime 0 0
/dev/vda1 /var/lib/containers/storage/overlay ext4 rw,relatime 0 0
overlay /var/lib/containers/storage/overlay/3f94/merged overlay rw 0 0
";
        assert_eq!(
            mount_points_in(table),
            ["/", "/mnt/remote", "/srv/nfs", "/tank/data", "/var/lib/my node"]
        );
        assert!(
            mount_points().contains(&"/".to_owned()),
            "this machine's root: {:?}",
            mount_points()
        );
    }

    #[test]
    fn only_interfaces_a_reader_cares_about_are_listed() {
        // A card, even idle; a bridge or VPN once it carried traffic.
        assert!(shown_interface("eth0", true, 0));
        assert!(shown_interface("enp3s0", true, 1 << 30));
        assert!(shown_interface("docker0", false, 4096));
        assert!(shown_interface("wg0", false, 1));
        // Never: loopback, shapers, container ends; nor an unused virtual one.
        assert!(!shown_interface("lo", false, 1 << 30));
        assert!(!shown_interface("ifb0", false, 0));
        assert!(!shown_interface("ifb1", false, 10));
        assert!(!shown_interface("veth3f2a1c", false, 1 << 20));
        assert!(!shown_interface("br-5e1d", false, 0));
        // The path is only ever a name under /sys/class/net.
        assert!(!has_device("../../etc"));
    }
}
