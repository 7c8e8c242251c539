//! CPU accounting over a measured window: the CPU time of the processes under test, and how much
//! of the machine everything else (other users' builds and tests) took meanwhile.

use crate::procfs;

/// Where a probe's CPU time comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// A process and its live descendants (a service; nginx and its workers; the database).
    Tree(u32),
    /// Several such trees, summed (the services a flow goes through).
    Trees(Vec<u32>),
    /// This whole process (in-process floors: the raw driver, argon2).
    Own,
}

#[derive(Debug, Clone)]
pub struct Probe {
    pub name: String,
    pub source: Source,
}

impl Probe {
    pub fn tree(name: &str, pid: u32) -> Self {
        Probe {
            name: name.to_owned(),
            source: Source::Tree(pid),
        }
    }

    pub fn trees(name: &str, pids: Vec<u32>) -> Self {
        Probe {
            name: name.to_owned(),
            source: Source::Trees(pids),
        }
    }

    pub fn own(name: &str) -> Self {
        Probe {
            name: name.to_owned(),
            source: Source::Own,
        }
    }
}

/// Reads the probes and the machine; `ours` are the roots of every process of the benchmark
/// (fleet, infra, this process), whose CPU is not noise.
#[derive(Debug, Clone, Default)]
pub struct Meter {
    pub probes: Vec<Probe>,
    pub ours: Vec<u32>,
}

#[derive(Debug, Clone)]
pub struct Reading {
    per_probe: Vec<u64>,
    machine_busy: u64,
    machine_total: u64,
    ours: u64,
}

/// CPU over a window.
#[derive(Debug, Clone, Default)]
pub struct CpuDelta {
    /// Seconds of CPU per probe, in probe order.
    pub per_probe: Vec<(String, f64)>,
    /// Average CPUs busy with processes that are not the benchmark's (the noise).
    pub foreign_cores: f64,
    /// Average CPUs busy with the benchmark's processes.
    pub our_cores: f64,
}

impl CpuDelta {
    pub fn secs(&self, name: &str) -> Option<f64> {
        self.per_probe
            .iter()
            .find(|(probe, _)| probe == name)
            .map(|(_, secs)| *secs)
    }
}

impl Meter {
    pub fn with(&self, probes: Vec<Probe>) -> Meter {
        Meter {
            probes,
            ours: self.ours.clone(),
        }
    }

    pub fn read(&self) -> Reading {
        let processes = procfs::all_processes();
        let me = std::process::id();
        let per_probe = self
            .probes
            .iter()
            .map(|probe| match &probe.source {
                Source::Tree(pid) => procfs::tree_ticks(&processes, *pid),
                Source::Trees(pids) => pids
                    .iter()
                    .map(|pid| procfs::tree_ticks(&processes, *pid))
                    .sum(),
                Source::Own => procfs::process_ticks(me).unwrap_or(0),
            })
            .collect();
        let mut roots = self.ours.clone();
        roots.push(me);
        let ours = roots
            .iter()
            .map(|pid| procfs::tree_ticks(&processes, *pid))
            .sum();
        let (machine_busy, machine_total) = procfs::machine_ticks();
        Reading {
            per_probe,
            machine_busy,
            machine_total,
            ours,
        }
    }

    pub fn delta(&self, before: &Reading, after: &Reading) -> CpuDelta {
        let per_probe = self
            .probes
            .iter()
            .zip(before.per_probe.iter().zip(&after.per_probe))
            .map(|(probe, (b, a))| {
                (
                    probe.name.clone(),
                    procfs::ticks_to_secs(a.saturating_sub(*b)),
                )
            })
            .collect();
        let cpus = procfs::machine().1 as f64;
        let wall = after.machine_total.saturating_sub(before.machine_total) as f64 / cpus;
        let busy = after.machine_busy.saturating_sub(before.machine_busy) as f64;
        let ours = after.ours.saturating_sub(before.ours) as f64;
        let (foreign_cores, our_cores) = if wall > 0.0 {
            (((busy - ours) / wall).max(0.0), ours / wall)
        } else {
            (0.0, 0.0)
        };
        CpuDelta {
            per_probe,
            foreign_cores,
            our_cores,
        }
    }
}
