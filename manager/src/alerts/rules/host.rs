//! The host's rules: each mount's free space, available memory, load per CPU.

use super::{Finding, GIB, Observation, fact, finding};
use crate::alerts::settings::AlertsConfig;
use nodepair_protocol::api::alerts::{Rule, Severity};

pub(super) fn disks(seen: &Observation, config: &AlertsConfig, out: &mut Vec<Finding>) {
    let d = &config.disk_free;
    if !d.enabled {
        return;
    }
    for disk in &seen.disks {
        if disk.total == 0 || d.ignore.iter().any(|m| m == &disk.mount) {
            continue;
        }
        let percent = disk.available as f64 * 100.0 / disk.total as f64;
        let gib = disk.available as f64 / GIB;
        let holds = if percent < d.critical_below_percent {
            Some(Severity::Critical)
        } else if percent < d.warn_below_percent || gib < d.warn_below_gib {
            Some(Severity::Warning)
        } else {
            None
        };
        out.push(finding(
            Rule::DiskFree,
            &disk.mount,
            holds,
            format!(
                "Disk {} has {} free ({percent:.1} %)",
                disk.mount,
                size(disk.available)
            ),
            vec![
                fact("free_percent", format!("{percent:.1}")),
                fact("free_bytes", disk.available),
                fact("total_bytes", disk.total),
            ],
        ));
    }
}

/// Available memory below a share of the total.
pub(super) fn memory(seen: &Observation, config: &AlertsConfig, out: &mut Vec<Finding>) {
    if config.memory.enabled
        && let Some((total, available)) = seen.memory
        && total > 0
    {
        let percent = available as f64 * 100.0 / total as f64;
        let m = &config.memory;
        let holds = if percent < m.critical_below_percent {
            Some(Severity::Critical)
        } else if percent < m.warn_below_percent {
            Some(Severity::Warning)
        } else {
            None
        };
        out.push(finding(
            Rule::Memory,
            "",
            holds,
            format!(
                "{:.1} GiB of {:.1} GiB memory available ({percent:.1} %)",
                available as f64 / GIB,
                total as f64 / GIB
            ),
            vec![
                fact("available_percent", format!("{percent:.1}")),
                fact("available_bytes", available),
            ],
        ));
    }
}

/// The one-minute load per CPU above a number (for minutes: the
/// hysteresis's firing time, see `watch.rs`).
pub(super) fn load(seen: &Observation, config: &AlertsConfig, out: &mut Vec<Finding>) {
    if config.load.enabled
        && let Some((load, cpus)) = seen.load
        && cpus > 0
    {
        let per_cpu = load / f64::from(cpus);
        let holds = (per_cpu > config.load.warn_above_per_cpu).then_some(Severity::Warning);
        out.push(finding(
            Rule::Load,
            "",
            holds,
            format!("Load {load:.2} on {cpus} CPUs ({per_cpu:.2} per CPU)"),
            vec![
                fact("load1", format!("{load:.2}")),
                fact("per_cpu", format!("{per_cpu:.2}")),
            ],
        ));
    }
}

/// `bytes` for people: `4.1 GiB`, `512 MiB`.
fn size(bytes: u64) -> String {
    let mib = bytes as f64 / (1u64 << 20) as f64;
    if mib >= 1024.0 {
        format!("{:.1} GiB", mib / 1024.0)
    } else {
        format!("{mib:.0} MiB")
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{config, holds};
    use super::super::*;

    #[test]
    fn disk_free_warns_below_the_share_or_the_size_and_is_critical_below_half() {
        let mut rules = Rules::default();
        let seen = |available: u64| Observation {
            disks: vec![
                DiskSpace {
                    mount: "/var".into(),
                    total: 100 << 30,
                    available,
                },
                DiskSpace {
                    mount: "/boot".into(),
                    total: 1 << 30,
                    available: 0,
                },
            ],
            ..Observation::default()
        };
        let mut c = config();
        c.disk_free.ignore = vec!["/boot".into()];
        let f = rules.evaluate(&seen(50 << 30), &c, 0);
        assert_eq!(holds(&f, Rule::DiskFree, "/var"), None);
        assert!(f.iter().all(|f| f.subject != "/boot"), "ignored");
        let f = rules.evaluate(&seen(9 << 30), &c, 0);
        assert_eq!(holds(&f, Rule::DiskFree, "/var"), Some(Severity::Warning));
        assert!(
            f[0].summary.contains("9.0 GiB free (9.0 %)"),
            "{}",
            f[0].summary
        );
        let f = rules.evaluate(&seen(4 << 30), &c, 0);
        assert_eq!(holds(&f, Rule::DiskFree, "/var"), Some(Severity::Critical));
        c.disk_free.warn_below_gib = 60.0;
        let f = rules.evaluate(&seen(50 << 30), &c, 0);
        assert_eq!(holds(&f, Rule::DiskFree, "/var"), Some(Severity::Warning));
    }

    #[test]
    fn memory_and_load_judge_shares_and_missing_readings_judge_nothing() {
        let mut rules = Rules::default();
        let mut seen = Observation {
            memory: Some((16 << 30, 1 << 30)),
            load: Some((9.0, 4)),
            ..Observation::default()
        };
        let f = rules.evaluate(&seen, &config(), 0);
        assert_eq!(holds(&f, Rule::Memory, ""), Some(Severity::Warning));
        assert_eq!(holds(&f, Rule::Load, ""), Some(Severity::Warning));
        seen.load = Some((7.9, 4));
        seen.memory = Some((16 << 30, 256 << 20));
        let f = rules.evaluate(&seen, &config(), 0);
        assert_eq!(holds(&f, Rule::Load, ""), None);
        assert_eq!(holds(&f, Rule::Memory, ""), Some(Severity::Critical));
        assert!(
            rules
                .evaluate(&Observation::default(), &config(), 0)
                .is_empty()
        );
    }
}
