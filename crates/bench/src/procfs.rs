//! What /proc says about processes and the machine: CPU time, resident memory, process trees.

use std::collections::HashMap;
use std::fs;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Clock ticks per second of the `utime`/`stime` fields (`getconf CLK_TCK`, 100 on Linux).
pub fn clock_ticks() -> u64 {
    static TICKS: OnceLock<u64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|out| String::from_utf8(out.stdout).ok())
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(100)
    })
}

/// Ticks to seconds.
pub fn ticks_to_secs(ticks: u64) -> f64 {
    ticks as f64 / clock_ticks() as f64
}

/// `(ppid, utime + stime)` of a process (or thread) from its `stat` file.
fn parse_stat(text: &str) -> Option<(u32, u64)> {
    // The command name is in parentheses and may contain spaces: split after the last ')'.
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); ppid is field 4, utime 14, stime 15.
    let ppid = fields.get(1)?.parse().ok()?;
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((ppid, utime + stime))
}

/// CPU ticks (user + system) a process has used so far, all its threads included.
pub fn process_ticks(pid: u32) -> Option<u64> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text).map(|(_, ticks)| ticks)
}

/// Every live process: pid → (ppid, ticks).
pub fn all_processes() -> HashMap<u32, (u32, u64)> {
    let mut out = HashMap::new();
    let Ok(entries) = fs::read_dir("/proc") else {
        return out;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if let Some(stat) = fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|text| parse_stat(&text))
        {
            out.insert(pid, stat);
        }
    }
    out
}

/// The CPU ticks of `root` and every live descendant.
pub fn tree_ticks(processes: &HashMap<u32, (u32, u64)>, root: u32) -> u64 {
    let mut total = 0;
    let mut stack = vec![root];
    while let Some(pid) = stack.pop() {
        if let Some((_, ticks)) = processes.get(&pid) {
            total += ticks;
        }
        stack.extend(
            processes
                .iter()
                .filter(|(_, (ppid, _))| *ppid == pid)
                .map(|(child, _)| *child),
        );
    }
    total
}

/// `(busy, total)` ticks of the whole machine, all CPUs (first line of /proc/stat).
pub fn machine_ticks() -> (u64, u64) {
    let text = fs::read_to_string("/proc/stat").unwrap_or_default();
    let values: Vec<u64> = text
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal guest guest_nice
    let get = |i: usize| values.get(i).copied().unwrap_or(0);
    let idle = get(3) + get(4);
    let total: u64 = (0..8).map(get).sum();
    (total - idle, total)
}

/// A `kB` field of /proc/<pid>/status (`VmRSS`, `VmHWM`), in MiB.
pub fn status_mib(pid: u32, field: &str) -> Option<f64> {
    let text = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = text.lines().find(|line| line.starts_with(field))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

pub fn rss_mib(pid: u32) -> Option<f64> {
    status_mib(pid, "VmRSS:")
}

pub fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

/// The machine: CPU model, logical CPUs, memory.
pub fn machine() -> (String, usize, f64) {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|line| line.starts_with("model name"))
        .and_then(|line| line.split_once(':'))
        .map(|(_, model)| model.trim().to_owned())
        .unwrap_or_else(|| "unknown".into());
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mem_gib = fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|line| line.starts_with("MemTotal:"))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kib| kib.parse::<f64>().ok())
        })
        .map(|kib| kib / 1024.0 / 1024.0)
        .unwrap_or(0.0);
    (model, cpus, mem_gib)
}

/// Samples the services' VmRSS every 100 ms; keeps each one's highest.
pub(crate) struct RssSampler {
    stop: Arc<AtomicBool>,
    handle: tokio::task::JoinHandle<HashMap<u32, f64>>,
}

impl RssSampler {
    pub(crate) fn start(pids: Vec<u32>) -> RssSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = tokio::spawn(async move {
            let mut max: HashMap<u32, f64> = HashMap::new();
            while !flag.load(Ordering::Relaxed) {
                for pid in &pids {
                    if let Some(rss) = rss_mib(*pid) {
                        let entry = max.entry(*pid).or_insert(0.0);
                        *entry = entry.max(rss);
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            max
        });
        RssSampler { stop, handle }
    }

    pub(crate) async fn stop(self) -> HashMap<u32, f64> {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.await.unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_with_spaces_in_the_name_parse() {
        let line = "42 (tokio rt (1)) S 7 42 42 0 -1 4194560 100 0 0 0 25 5 0 0 20 0 3 0 100 0 0";
        assert_eq!(parse_stat(line), Some((7, 30)));
    }

    #[test]
    fn this_process_is_visible() {
        let me = std::process::id();
        assert!(process_ticks(me).is_some());
        assert!(rss_mib(me).unwrap() > 0.0);
        let (busy, total) = machine_ticks();
        assert!(total >= busy);
    }
}
