//! The report: rows beside their floors, targets met or missed, printed as a table and saved as
//! JSON.

use std::fmt::Write as _;

use serde::Serialize;

use crate::load::Sample;

/// One measured workload.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub key: String,
    pub label: String,
    /// What one operation is (`req`, `event`, `flow`, `hash`).
    pub unit: String,
    pub is_floor: bool,
    pub concurrency: usize,
    pub count: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub seconds: f64,
    pub throughput: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// CPU time per operation of the process under test (the service; for an in-process floor,
    /// the code doing the work), microseconds.
    pub cpu_us: Option<f64>,
    /// Which process `cpu_us` is.
    pub cpu_of: Option<String>,
    /// CPU per operation of the database server, microseconds.
    pub db_cpu_us: Option<f64>,
    /// CPU per operation of the gateway (nginx), microseconds.
    pub gateway_cpu_us: Option<f64>,
    /// CPU per operation of every other probed process (name, microseconds).
    pub other_cpu_us: Vec<(String, f64)>,
    /// Average CPUs used by processes outside the benchmark during the window (noise).
    pub foreign_cores: f64,
    /// Average CPUs used by the benchmark's own processes during the window.
    pub our_cores: f64,
    pub floor: Option<String>,
    /// The floor the throughput is compared with, when not `floor` (the event lag rows: latency
    /// beside the JetStream round trip, applied rate beside the raw upsert).
    pub rate_floor: Option<String>,
    /// Throughput over `rate_floor`'s, else over `floor`'s.
    pub x_floor_throughput: Option<f64>,
    pub x_floor_p50: Option<f64>,
    pub x_floor_p99: Option<f64>,
    pub target: Option<String>,
    pub met: Option<bool>,
    pub note: Option<String>,
}

impl Row {
    pub fn from_sample(key: &str, label: &str, unit: &str, sample: &Sample) -> Row {
        let max_ms = if sample.hist.is_empty() {
            f64::NAN
        } else {
            sample.hist.max() as f64 / 1000.0
        };
        Row {
            key: key.to_owned(),
            label: label.to_owned(),
            unit: unit.to_owned(),
            is_floor: false,
            concurrency: sample.concurrency,
            count: sample.count,
            errors: sample.errors,
            first_error: sample.first_error.clone(),
            seconds: sample.seconds,
            throughput: sample.throughput(),
            p50_ms: sample.quantile_ms(0.5),
            p90_ms: sample.quantile_ms(0.9),
            p99_ms: sample.quantile_ms(0.99),
            max_ms,
            cpu_us: None,
            cpu_of: None,
            db_cpu_us: None,
            gateway_cpu_us: None,
            other_cpu_us: Vec::new(),
            foreign_cores: sample.cpu.foreign_cores,
            our_cores: sample.cpu.our_cores,
            floor: None,
            rate_floor: None,
            x_floor_throughput: None,
            x_floor_p50: None,
            x_floor_p99: None,
            target: None,
            met: None,
            note: None,
        }
    }

    /// Fills the CPU columns from the sample's probes: `main` is the process under test.
    pub fn with_cpu(mut self, sample: &Sample, main: &str) -> Row {
        for (name, _) in &sample.cpu.per_probe {
            let Some(us) = sample.cpu_us_per_op(name) else {
                continue;
            };
            match name.as_str() {
                n if n == main => {
                    self.cpu_us = Some(us);
                    self.cpu_of = Some(main.to_owned());
                }
                "mongodb" => self.db_cpu_us = Some(us),
                "gateway" => self.gateway_cpu_us = Some(us),
                other => self.other_cpu_us.push((other.to_owned(), us)),
            }
        }
        self
    }

    pub fn floor(mut self) -> Row {
        self.is_floor = true;
        self
    }

    pub fn against(mut self, floor: &str) -> Row {
        self.floor = Some(floor.to_owned());
        self
    }

    /// Compares the throughput with `floor` instead of the latency floor.
    pub fn rate_against(mut self, floor: &str) -> Row {
        self.rate_floor = Some(floor.to_owned());
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Row {
        self.note = Some(note.into());
        self
    }

    pub fn target(mut self, target: impl Into<String>, met: bool) -> Row {
        self.target = Some(target.into());
        self.met = Some(met);
        self
    }
}

/// Memory and start-up of one service.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceFootprint {
    pub service: String,
    pub idle_rss_mib: Option<f64>,
    /// Highest VmRSS sampled (every 100 ms) during the load.
    pub load_max_rss_mib: Option<f64>,
    pub end_rss_mib: Option<f64>,
    /// VmHWM at the end (the kernel's own peak).
    pub peak_hwm_mib: Option<f64>,
    /// RssAnon (the process's private memory, without the mapped executable) idle and at the end.
    pub idle_anon_mib: Option<f64>,
    pub end_anon_mib: Option<f64>,
    /// Time from spawning the release binary to the first 200 of /readyz, each run.
    pub ready_ms: Vec<f64>,
    pub ready_median_ms: Option<f64>,
    pub ready_max_ms: Option<f64>,
    pub rss_at_ready_mib: Option<f64>,
    pub idle_met: Option<bool>,
    pub load_met: Option<bool>,
    pub ready_met: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Noise {
    /// Seconds of a fixed single-threaded CPU loop, before and after the benchmark.
    pub calibration_before_s: Vec<f64>,
    pub calibration_after_s: Vec<f64>,
    /// (slowest − fastest) / fastest over all calibration runs.
    pub calibration_spread: f64,
    pub load_average_before: String,
    pub load_average_after: String,
    /// Average CPUs used by processes outside the benchmark over the whole run.
    pub foreign_cores_whole_run: f64,
    pub foreign_cores_max_row: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cpu_model: String,
    pub nproc: usize,
    pub memory_gib: f64,
    pub kernel: String,
    pub mongo: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub generated_at: String,
    pub machine: Machine,
    pub settings: serde_json::Value,
    pub rows: Vec<Row>,
    pub services: Vec<ServiceFootprint>,
    /// Auth's memory around a burst of sign-ups, when the sign-up workload ran.
    pub signup_burst: Option<crate::burst::SignupBurst>,
    pub noise: Noise,
    pub total_seconds: f64,
}

impl Report {
    /// Fills the ratio columns from each row's floor.
    pub fn link_floors(&mut self) {
        let floors: Vec<Row> = self.rows.iter().filter(|r| r.is_floor).cloned().collect();
        let find = |key: &Option<String>| {
            key.as_ref()
                .and_then(|key| floors.iter().find(|f| &f.key == key))
        };
        let ratio = |a: f64, b: f64| (b > 0.0 && a.is_finite() && b.is_finite()).then(|| a / b);
        for row in &mut self.rows {
            if let Some(floor) = find(&row.floor) {
                row.x_floor_throughput = ratio(row.throughput, floor.throughput);
                row.x_floor_p50 = ratio(row.p50_ms, floor.p50_ms);
                row.x_floor_p99 = ratio(row.p99_ms, floor.p99_ms);
            }
            if let Some(floor) = find(&row.rate_floor) {
                row.x_floor_throughput = ratio(row.throughput, floor.throughput);
            }
        }
    }

    pub fn row(&self, key: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.key == key)
    }

    pub fn row_mut(&mut self, key: &str) -> Option<&mut Row> {
        self.rows.iter_mut().find(|r| r.key == key)
    }

    pub fn table(&self) -> String {
        let mut out = String::new();
        let m = &self.machine;
        let _ = writeln!(
            out,
            "machine: {} × {}, {:.1} GiB, {}; database: {}",
            m.nproc, m.cpu_model, m.memory_gib, m.kernel, m.mongo
        );
        let n = &self.noise;
        let _ = writeln!(
            out,
            "noise: others used {:.2} CPUs on average over the run (worst row {:.2}); calibration loop {} s before, {} s after (spread {:.0}%); load average {} → {}",
            n.foreign_cores_whole_run,
            n.foreign_cores_max_row,
            join(&n.calibration_before_s, 3),
            join(&n.calibration_after_s, 3),
            n.calibration_spread * 100.0,
            n.load_average_before,
            n.load_average_after,
        );
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:<42} {:>4} {:>8} {:>7} {:>7} {:>7} {:>7} {:>6} {:>6} {:>6} {:>6}  {:<32} target",
            "workload",
            "conc",
            "ops/s",
            "p50 ms",
            "p99 ms",
            "cpu µs",
            "db µs",
            "×rate",
            "×p50",
            "×p99",
            "others",
            "floor",
        );
        let _ = writeln!(out, "{}", "-".repeat(158));
        for row in &self.rows {
            let label = if row.is_floor {
                format!("  floor: {}", row.label)
            } else {
                row.label.clone()
            };
            let mut target = match (&row.target, row.met) {
                (Some(t), Some(true)) => format!("met: {t}"),
                (Some(t), Some(false)) => format!("MISSED: {t}"),
                _ => String::new(),
            };
            if row.errors > 0 {
                target = format!("{} errors; {target}", row.errors);
            }
            let floors = match (&row.floor, &row.rate_floor) {
                (Some(floor), Some(rate)) if floor != rate => format!("{floor}; ×rate: {rate}"),
                (None, Some(rate)) => format!("×rate: {rate}"),
                (floor, _) => floor.clone().unwrap_or_default(),
            };
            let _ = writeln!(
                out,
                "{:<42} {:>4} {:>8} {:>7} {:>7} {:>7} {:>7} {:>6} {:>6} {:>6} {:>6}  {:<32} {}",
                truncate(&label, 42),
                row.concurrency,
                format!("{:.0}", row.throughput),
                ms(row.p50_ms),
                ms(row.p99_ms),
                opt(row.cpu_us, 0),
                opt(row.db_cpu_us, 0),
                opt(row.x_floor_throughput, 2),
                opt(row.x_floor_p50, 2),
                opt(row.x_floor_p99, 2),
                format!("{:.2}", row.foreign_cores),
                floors,
                target,
            );
        }
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:<11} {:>9} {:>9} {:>9} {:>9} {:>10} {:>10} {:>10} {:>10} {:>10}  targets: ≤15 MiB idle, ≤40 MiB under load, ready ≤100 ms",
            "service",
            "idle MiB",
            "load MiB",
            "end MiB",
            "peak MiB",
            "idle anon",
            "end anon",
            "ready p50",
            "ready max",
            "RSS@ready"
        );
        let _ = writeln!(out, "{}", "-".repeat(130));
        for s in &self.services {
            let verdict = |met: Option<bool>| match met {
                Some(true) => "met",
                Some(false) => "MISSED",
                None => "-",
            };
            let _ = writeln!(
                out,
                "{:<11} {:>9} {:>9} {:>9} {:>9} {:>10} {:>10} {:>10} {:>10} {:>10}  idle {}, load {}, ready {}",
                s.service,
                opt(s.idle_rss_mib, 1),
                opt(s.load_max_rss_mib, 1),
                opt(s.end_rss_mib, 1),
                opt(s.peak_hwm_mib, 1),
                opt(s.idle_anon_mib, 1),
                opt(s.end_anon_mib, 1),
                opt(s.ready_median_ms, 1),
                opt(s.ready_max_ms, 1),
                opt(s.rss_at_ready_mib, 1),
                verdict(s.idle_met),
                verdict(s.load_met),
                verdict(s.ready_met),
            );
        }
        if let Some(b) = &self.signup_burst {
            let _ = writeln!(
                out,
                "auth, {} sign-ups {} at a time ({:.1} s, {} failed): resident {} MiB before, {} MiB at the highest, {} MiB one second after  target ≤ 30 MiB after: {}",
                b.signups,
                b.parallel,
                b.seconds,
                b.failures,
                opt(b.rss_before_mib, 1),
                opt(b.rss_peak_mib, 1),
                opt(b.rss_one_second_after_mib, 1),
                match b.met() {
                    Some(true) => "met",
                    Some(false) => "MISSED",
                    None => "-",
                },
            );
        }
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "MiB: VmRSS (idle: before any request; load: highest sampled every 100 ms during the load; end: after it; peak: VmHWM); anon: RssAnon, the private part (the rest is the mapped executable)."
        );
        let _ = writeln!(
            out,
            "cpu µs: CPU time per operation of the process under test (the service; for a floor, the code doing the work); db µs: of the database server;"
        );
        let _ = writeln!(
            out,
            "×rate, ×p50, ×p99: the workload's throughput and latencies over its floor's (×rate over the floor named after it, if one is); others: CPUs busy with processes outside the benchmark during the row."
        );
        for row in &self.rows {
            if let Some(note) = &row.note {
                let _ = writeln!(out, "note [{}]: {note}", row.key);
            }
            if row.errors > 0 {
                let _ = writeln!(
                    out,
                    "errors [{}]: {} (first: {})",
                    row.key,
                    row.errors,
                    row.first_error.as_deref().unwrap_or("?")
                );
            }
        }
        let _ = writeln!(out, "total benchmark time: {:.0} s", self.total_seconds);
        out
    }
}

fn ms(value: f64) -> String {
    if !value.is_finite() {
        "-".into()
    } else if value < 10.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.1}")
    }
}

fn opt(value: Option<f64>, decimals: usize) -> String {
    match value {
        Some(v) if v.is_finite() => format!("{v:.decimals$}"),
        _ => "-".into(),
    }
}

fn join(values: &[f64], decimals: usize) -> String {
    values
        .iter()
        .map(|v| format!("{v:.decimals$}"))
        .collect::<Vec<_>>()
        .join("/")
}

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_owned()
    } else {
        text.chars().take(width - 1).chain(['…']).collect()
    }
}
