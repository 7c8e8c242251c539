//! What the benchmark reads: its knobs from the environment, and the running fleet from its state
//! (`$FLEET_DIR/fleet.json`, written by scripts/fleet.sh).

use super::*;
use fleet::NAMES as SERVICES;

pub struct Settings {
    pub out: PathBuf,
    pub(super) bin_dir: PathBuf,
    pub(super) timing: Timing,
    pub(super) lag_timing: Timing,
    pub(super) flow_timing: Timing,
    pub(super) conns_fast: usize,
    pub(super) conns_db: usize,
    pub(super) conns_write: usize,
    pub(super) conns_signup: usize,
    pub(super) flow_concurrency: usize,
    /// Open-loop rates of the event-lag rows (one row each).
    pub(super) event_rates: Vec<f64>,
    /// Events published at once for the backlog (saturation) row.
    pub(super) backlog_events: usize,
    /// How often the backlog row asks JetStream for the orders consumer's progress.
    pub(super) backlog_poll: Duration,
    /// Writers of the raw upsert floor (as many as the listener's lanes).
    pub(super) upsert_writers: usize,
    pub(super) poll: Duration,
    pub(super) ready_runs: usize,
    /// `BENCH_DIAG=1`: extra diagnostic rows.
    pub(super) diagnostics: bool,
    /// `BENCH_ONLY`: the workloads to run (all when unset; for investigating one).
    pub(super) only: Option<Vec<String>>,
    pub(super) fleet: Fleet,
}

pub(super) struct Fleet {
    pub(super) gateway_url: String,
    pub(super) gateway_pid: u32,
    /// (name, url, pid) of the first instance of each running service.
    pub(super) services: Vec<(String, Option<String>, u32)>,
    pub(super) jwt_key: String,
    pub(super) mongo_pid: Option<u32>,
    pub(super) mongo_kind: String,
    pub(super) nats_url: String,
    pub(super) nats_pid: Option<u32>,
    pub(super) redis_url: String,
    pub(super) redis_pid: Option<u32>,
    pub(super) stripe_api_base: String,
    pub(super) stripe_pid: Option<u32>,
    state: fleet::State,
}

fn var_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

impl Settings {
    pub fn from_env() -> anyhow::Result<Settings> {
        let secs = |name: &str, default: f64| Duration::from_secs_f64(var_or(name, default));
        let warmup = secs("BENCH_WARMUP", 1.0);
        let fleet = Fleet::running()?;
        Ok(Settings {
            out: PathBuf::from(
                std::env::var("BENCH_OUT").unwrap_or_else(|_| "target/bench/report.json".into()),
            ),
            bin_dir: PathBuf::from(
                std::env::var("BENCH_BIN_DIR").unwrap_or_else(|_| "target/release".into()),
            ),
            timing: Timing {
                warmup,
                duration: secs("BENCH_SECONDS", 5.0),
            },
            lag_timing: Timing {
                warmup,
                duration: secs("BENCH_LAG_SECONDS", 10.0),
            },
            flow_timing: Timing {
                warmup,
                duration: secs("BENCH_FLOW_SECONDS", 10.0),
            },
            conns_fast: var_or("BENCH_CONNS_FAST", 64),
            conns_db: var_or("BENCH_CONNS_DB", 32),
            conns_write: var_or("BENCH_CONNS_WRITE", 16),
            conns_signup: var_or("BENCH_CONNS_SIGNUP", 2),
            flow_concurrency: var_or("BENCH_FLOW_CONCURRENCY", 8),
            event_rates: std::env::var("BENCH_EVENT_RATES")
                .unwrap_or_else(|_| "100,200".into())
                .split(',')
                .filter_map(|rate| rate.trim().parse::<f64>().ok())
                .filter(|rate| *rate > 0.0)
                .collect(),
            backlog_events: var_or("BENCH_BACKLOG_EVENTS", 2_000),
            backlog_poll: Duration::from_secs_f64(var_or("BENCH_BACKLOG_POLL_MS", 10.0) / 1000.0),
            upsert_writers: var_or("BENCH_UPSERT_WRITERS", common::events::listener::LANES),
            poll: Duration::from_secs_f64(var_or("BENCH_POLL_MS", 5.0) / 1000.0),
            ready_runs: var_or("BENCH_READY_RUNS", 5),
            diagnostics: std::env::var("BENCH_DIAG").is_ok_and(|v| v == "1"),
            only: std::env::var("BENCH_ONLY")
                .ok()
                .filter(|v| !v.trim().is_empty())
                .map(|v| v.split(',').map(|w| w.trim().to_owned()).collect()),
            fleet,
        })
    }

    /// Whether the workload `name` runs (see `BENCH_ONLY`).
    pub(super) fn runs(&self, name: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|only| only.iter().any(|w| w == name))
    }

    pub(super) fn json(&self) -> Value {
        json!({
            "warmup_s": self.timing.warmup.as_secs_f64(),
            "duration_s": self.timing.duration.as_secs_f64(),
            "lag_duration_s": self.lag_timing.duration.as_secs_f64(),
            "flow_duration_s": self.flow_timing.duration.as_secs_f64(),
            "connections": { "cookie_only": self.conns_fast, "db_reads": self.conns_db, "writes": self.conns_write, "signup": self.conns_signup },
            "flow_concurrency": self.flow_concurrency,
            "event_rates_per_s": self.event_rates,
            "backlog_events": self.backlog_events,
            "backlog_poll_interval_ms": self.backlog_poll.as_secs_f64() * 1000.0,
            "upsert_writers": self.upsert_writers,
            "poll_interval_ms": self.poll.as_secs_f64() * 1000.0,
            "ready_runs": self.ready_runs,
        })
    }
}

impl Fleet {
    /// The fleet in `FLEET_DIR` (default `target/fleet`), as its state file says.
    fn running() -> anyhow::Result<Fleet> {
        let state = fleet::State::load(fleet::fleet_dir()).context(
            "the fleet to measure: run scripts/bench.sh, or set FLEET_DIR to a running fleet's",
        )?;
        let server = |name: &str| {
            state
                .server(name)
                .with_context(|| format!("the fleet's infra runs no {name} server"))
        };
        let services = SERVICES
            .iter()
            .filter_map(|name| {
                let instance = state.first(name)?;
                Some((name.to_string(), Some(instance.url.clone()), instance.pid?))
            })
            .collect();
        Ok(Fleet {
            gateway_url: state.gateway.url.clone(),
            gateway_pid: state
                .gateway
                .pid
                .context("the fleet's gateway does not run")?,
            services,
            jwt_key: state.jwt_key.clone(),
            mongo_pid: server(&state.infra.default_mongo)?.pid,
            mongo_kind: state.infra.mongo_kind.clone(),
            nats_url: server("nats")?.url.clone(),
            nats_pid: server("nats")?.pid,
            redis_url: server("redis")?.url.clone(),
            redis_pid: server("redis")?.pid,
            stripe_api_base: server("stripe")?.url.clone(),
            stripe_pid: server("stripe")?.pid,
            state,
        })
    }

    /// The database `db` on the server of the service that owns it (one server per service), or
    /// on the default one.
    pub(super) fn mongo_url(&self, db: &str) -> String {
        let port = self.state.mongo_server(db).map_or(0, |server| server.port);
        format!("mongodb://127.0.0.1:{port}/{db}?directConnection=true")
    }

    /// The pid of the server holding `db`.
    pub(super) fn mongo_pid_of(&self, db: &str) -> Option<u32> {
        self.state.mongo_server(db).and_then(|server| server.pid)
    }

    pub(super) fn service(&self, name: &str) -> anyhow::Result<(String, u32)> {
        self.services
            .iter()
            .find(|(n, _, _)| n == name)
            .and_then(|(_, url, pid)| url.clone().map(|url| (url, *pid)))
            .with_context(|| format!("the fleet runs no {name} service"))
    }

    pub(super) fn pid(&self, name: &str) -> Option<u32> {
        self.services
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, _, pid)| *pid)
    }

    /// Every process of the fleet and its infra: their CPU is ours, not noise.
    pub(super) fn all_pids(&self) -> Vec<u32> {
        let mut pids: Vec<u32> = self.services.iter().map(|(_, _, pid)| *pid).collect();
        pids.push(self.gateway_pid);
        pids.extend(
            self.state
                .infra
                .servers
                .values()
                .filter_map(|server| server.pid),
        );
        pids
    }
}
