//! The fleet's benchmark. Run it through `scripts/bench.sh`, which builds the release binaries,
//! starts a fleet of its own, runs this against it, and stops the fleet.
//!
//! It reads the fleet from the state `scripts/fleet.sh` writes (`$FLEET_DIR/fleet.json`, through
//! `fleet::State`): the gateway, each service's URL and pid, the session key, the infra servers,
//! and measures,
//! each beside its floor (the same work without the service): throughput, median and p99
//! latency, CPU per request, event lag, the purchase flow, memory and start-up time. The table
//! goes to stdout, the JSON to `BENCH_OUT` (default `target/bench/report.json`).

mod burst;
mod cpu;
mod floors;
mod load;
mod procfs;
mod report;
mod scenarios;
mod watcher;

use std::time::{Duration, Instant};

use anyhow::Context;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(floors::FLOOR_SERVER_ARG) {
        return floors::serve_floor(args.get(2).map(String::as_str).unwrap_or("bare"));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .thread_name("bench")
        .enable_all()
        .build()?;
    let started = Instant::now();
    let settings = scenarios::Settings::from_env()?;
    let out = settings.out.clone();
    let mut report = runtime.block_on(scenarios::run_all(settings))?;
    report.total_seconds = started.elapsed().as_secs_f64();
    report.link_floors();
    scenarios::judge(&mut report);
    print!("{}", report.table());
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&out, serde_json::to_string_pretty(&report)?)
        .with_context(|| format!("writing {}", out.display()))?;
    println!("report: {}", out.display());
    runtime.shutdown_timeout(Duration::from_secs(2));
    Ok(())
}
