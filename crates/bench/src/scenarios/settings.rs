//! What the benchmark reads from its environment: its knobs and the running fleet.

use super::*;
use common::fleet::SERVICES;

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
    /// (name, url, pid) of each running service.
    pub(super) services: Vec<(String, Option<String>, u32)>,
    pub(super) jwt_key: String,
    pub(super) mongo_port: String,
    pub(super) mongo_pid: Option<u32>,
    pub(super) mongo_kind: String,
    pub(super) nats_url: String,
    pub(super) nats_pid: Option<u32>,
    pub(super) redis_url: String,
    pub(super) redis_pid: Option<u32>,
    pub(super) stripe_api_base: String,
    pub(super) stripe_pid: Option<u32>,
}

fn var(name: &str) -> anyhow::Result<String> {
    std::env::var(name).with_context(|| {
        format!("{name} is not set: run scripts/bench.sh (or source the fleet's env.sh)")
    })
}

fn var_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn pid_var(name: &str) -> Option<u32> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

impl Settings {
    pub fn from_env() -> anyhow::Result<Settings> {
        let secs = |name: &str, default: f64| Duration::from_secs_f64(var_or(name, default));
        let warmup = secs("BENCH_WARMUP", 1.0);
        let mut services = Vec::new();
        for name in SERVICES {
            let upper = name.to_uppercase();
            if let Some(pid) = pid_var(&format!("{upper}_PID")) {
                services.push((
                    name.to_owned(),
                    std::env::var(format!("{upper}_URL")).ok(),
                    pid,
                ));
            }
        }
        let fleet = Fleet {
            gateway_url: var("GATEWAY_URL")?,
            gateway_pid: pid_var("GATEWAY_PID").context("GATEWAY_PID")?,
            services,
            jwt_key: var("JWT_KEY")?,
            mongo_port: var("MONGO_PORT")?,
            mongo_pid: pid_var("MONGO_PID"),
            mongo_kind: std::env::var("MONGO_KIND").unwrap_or_else(|_| "unknown".into()),
            nats_url: var("NATS_URL")?,
            nats_pid: pid_var("NATS_PID"),
            redis_url: var("REDIS_URL")?,
            redis_pid: pid_var("REDIS_PID"),
            stripe_api_base: var("STRIPE_API_BASE")?,
            stripe_pid: pid_var("STRIPE_PID"),
        };
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
    /// The database `db` on the server of the service that owns it (`TICKETS_MONGO_PORT`, ...:
    /// one server per service), or on `MONGO_PORT`'s.
    pub(super) fn mongo_url(&self, db: &str) -> String {
        let own = std::env::var(format!("{}_MONGO_PORT", db.to_uppercase()));
        let port = own.as_deref().unwrap_or(&self.mongo_port);
        format!("mongodb://127.0.0.1:{port}/{db}?directConnection=true")
    }

    /// The pid of the server holding `db` (`ORDERS_MONGO_PID`, ...), or `MONGO_PID`.
    pub(super) fn mongo_pid_of(&self, db: &str) -> Option<u32> {
        pid_var(&format!("{}_MONGO_PID", db.to_uppercase())).or(self.mongo_pid)
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
        // One database server per owning service, besides the default one.
        pids.extend(
            ["auth", "tickets", "orders", "payments"]
                .iter()
                .filter_map(|db| pid_var(&format!("{}_MONGO_PID", db.to_uppercase())))
                .filter(|pid| Some(*pid) != self.mongo_pid),
        );
        pids.extend(
            [
                self.mongo_pid,
                self.nats_pid,
                self.redis_pid,
                self.stripe_pid,
            ]
            .into_iter()
            .flatten(),
        );
        pids
    }
}
