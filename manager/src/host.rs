//! Host health: CPU (total and per core), memory, disks, network rates and load, sampled in the background for `host.health`.

use nodepair_protocol::api::host::{Disk, HealthRequest, HealthResponse, Network, Sample};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use sysinfo::{CpuRefreshKind, Disks, MemoryRefreshKind, Networks, RefreshKind, System};

/// How often CPU and memory are sampled.
pub(crate) const SAMPLE_INTERVAL: Duration = Duration::from_secs(5);
/// How many samples are kept: 15 minutes at one per 5 s.
pub(crate) const KEPT_SAMPLES: usize = 180;

/// The machine, and the samples taken so far.
pub(crate) struct Host {
    inner: Mutex<Inner>,
}

struct Inner {
    system: System,
    samples: VecDeque<Sample>,
    networks: Networks,
    /// When the networks were last refreshed, and the rates then measured.
    networks_at: Instant,
    rates: Vec<Network>,
}

impl Host {
    /// Starts measuring (CPU use needs a first reading to compare with).
    pub(crate) fn new() -> Arc<Host> {
        let system = System::new_with_specifics(
            RefreshKind::nothing()
                .with_cpu(CpuRefreshKind::nothing().with_cpu_usage())
                .with_memory(MemoryRefreshKind::nothing().with_ram().with_swap()),
        );
        Arc::new(Host {
            inner: Mutex::new(Inner {
                system,
                samples: VecDeque::with_capacity(KEPT_SAMPLES),
                networks: Networks::new_with_refreshed_list(),
                networks_at: Instant::now(),
                rates: Vec::new(),
            }),
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
        inner.system.refresh_cpu_usage();
        inner
            .system
            .refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram().with_swap());
        let sample = Sample {
            at_ms: unix_ms(),
            cpu_percent: inner.system.global_cpu_usage().clamp(0.0, 100.0),
            memory_used: used_memory(&inner.system),
        };
        let elapsed = inner.networks_at.elapsed().as_secs_f64().max(0.001);
        inner.networks.refresh(true);
        inner.networks_at = Instant::now();
        let mut rates: Vec<Network> = inner
            .networks
            .list()
            .iter()
            .filter(|(name, _)| name.as_str() != "lo")
            .map(|(name, data)| Network {
                name: name.clone(),
                rx_per_s: per_second(data.received(), elapsed),
                tx_per_s: per_second(data.transmitted(), elapsed),
                rx_total: data.total_received(),
                tx_total: data.total_transmitted(),
            })
            .collect();
        rates.sort_by(|a, b| a.name.cmp(&b.name));
        inner.rates = rates;
        if inner.samples.len() == KEPT_SAMPLES {
            inner.samples.pop_front();
        }
        inner.samples.push_back(sample);
    }

    /// What `host.health` answers.
    pub(crate) fn health(&self, request: &HealthRequest) -> HealthResponse {
        let mut disks = Vec::new();
        for disk in Disks::new_with_refreshed_list().list() {
            let mount = disk.mount_point().to_string_lossy().into_owned();
            if disk.total_space() == 0 || disks.iter().any(|d: &Disk| d.mount == mount) {
                continue;
            }
            disks.push(Disk {
                mount,
                total: disk.total_space(),
                available: disk.available_space(),
            });
        }
        disks.sort_by(|a, b| a.mount.cmp(&b.mount));
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner
            .system
            .refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram().with_swap());
        let load = System::load_average();
        let system = &inner.system;
        HealthResponse {
            hostname: System::host_name().unwrap_or_default(),
            os: System::long_os_version().unwrap_or_else(|| std::env::consts::OS.to_owned()),
            kernel: System::kernel_version().unwrap_or_default(),
            cpu_per_core: system
                .cpus()
                .iter()
                .map(|c| c.cpu_usage().clamp(0.0, 100.0))
                .collect(),
            networks: inner.rates.clone(),
            uptime_s: System::uptime(),
            cpus: u32::try_from(system.cpus().len()).unwrap_or(u32::MAX),
            load: [load.one, load.five, load.fifteen],
            memory_total: system.total_memory(),
            memory_used: used_memory(system),
            swap_total: system.total_swap(),
            swap_used: system.used_swap(),
            disks,
            sample_interval_ms: u64::try_from(SAMPLE_INTERVAL.as_millis()).unwrap_or(u64::MAX),
            samples: inner
                .samples
                .iter()
                .filter(|s| s.at_ms > request.samples_after_ms)
                .copied()
                .collect(),
        }
    }
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
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_reports_this_machine_and_keeps_a_bounded_history() {
        let host = Host::new();
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
}
