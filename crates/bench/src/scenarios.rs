//! The workloads, in the order they run, and the targets of issue 7.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, pull};
use async_nats::jetstream::stream;
use bytes::Bytes;
use common::Sessions;
use common::bson::{Document, doc, oid::ObjectId};
use common::events::{Event, EventBus, Namespace, TicketCreated};
use futures::{StreamExt, TryStreamExt};
use hdrhistogram::Histogram;
use http_body_util::Full;
use hyper::{Request, StatusCode};
use mongodb::{Collection, Database};
use serde_json::{Value, json};

use crate::burst::{self, SignupBurst};
use crate::cpu::{Meter, Probe};
use crate::floors::{self, FloorServer};
use crate::load::{self, Conn, Ctx, MakeRequest, Op, Recorder, Sample, Timing};
use crate::procfs;
use crate::report::{Machine, Noise, Report, Row, ServiceFootprint};
use crate::watcher::Watcher;

/// Services with an HTTP API (expiration has health endpoints only).
const SERVICES: [&str; 6] = [
    "auth",
    "tickets",
    "orders",
    "payments",
    "expiration",
    "client",
];

pub struct Settings {
    pub out: PathBuf,
    bin_dir: PathBuf,
    timing: Timing,
    lag_timing: Timing,
    flow_timing: Timing,
    conns_fast: usize,
    conns_db: usize,
    conns_write: usize,
    conns_signup: usize,
    flow_concurrency: usize,
    /// Open-loop rates of the event-lag rows (one row each).
    event_rates: Vec<f64>,
    /// Events published at once for the backlog (saturation) row.
    backlog_events: usize,
    /// How often the backlog row asks JetStream for the orders consumer's progress.
    backlog_poll: Duration,
    /// Writers of the raw upsert floor (as many as the listener's lanes).
    upsert_writers: usize,
    poll: Duration,
    ready_runs: usize,
    /// `BENCH_DIAG=1`: extra diagnostic rows.
    diagnostics: bool,
    /// `BENCH_ONLY`: the workloads to run (all when unset; for investigating one).
    only: Option<Vec<String>>,
    fleet: Fleet,
}

struct Fleet {
    gateway_url: String,
    gateway_pid: u32,
    /// (name, url, pid) of each running service.
    services: Vec<(String, Option<String>, u32)>,
    jwt_key: String,
    mongo_port: String,
    mongo_pid: Option<u32>,
    mongo_kind: String,
    nats_url: String,
    nats_pid: Option<u32>,
    redis_url: String,
    redis_pid: Option<u32>,
    stripe_api_base: String,
    stripe_pid: Option<u32>,
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
    fn runs(&self, name: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|only| only.iter().any(|w| w == name))
    }

    fn json(&self) -> Value {
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
    fn mongo_url(&self, db: &str) -> String {
        let own = std::env::var(format!("{}_MONGO_PORT", db.to_uppercase()));
        let port = own.as_deref().unwrap_or(&self.mongo_port);
        format!("mongodb://127.0.0.1:{port}/{db}?directConnection=true")
    }

    /// The pid of the server holding `db` (`ORDERS_MONGO_PID`, ...), or `MONGO_PID`.
    fn mongo_pid_of(&self, db: &str) -> Option<u32> {
        pid_var(&format!("{}_MONGO_PID", db.to_uppercase())).or(self.mongo_pid)
    }

    fn service(&self, name: &str) -> anyhow::Result<(String, u32)> {
        self.services
            .iter()
            .find(|(n, _, _)| n == name)
            .and_then(|(_, url, pid)| url.clone().map(|url| (url, *pid)))
            .with_context(|| format!("the fleet runs no {name} service"))
    }

    fn pid(&self, name: &str) -> Option<u32> {
        self.services
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, _, pid)| *pid)
    }

    /// Every process of the fleet and its infra: their CPU is ours, not noise.
    fn all_pids(&self) -> Vec<u32> {
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

struct Bench {
    s: Settings,
    meter: Meter,
    rows: Vec<Row>,
    seller: String,
    seller_id: String,
    buyer: String,
    tickets_db: Database,
    orders_db: Database,
    payments_db: Database,
    /// Free tickets kept for the purchase flow.
    flow_pool: Vec<String>,
    bus: EventBus,
    signup_burst: Option<SignupBurst>,
}

fn cookie_of(sessions: &Sessions, id: ObjectId, email: &str) -> anyhow::Result<String> {
    let token = sessions
        .issue(id, email)
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let header = sessions.session_cookie(&token);
    Ok(header
        .to_str()?
        .split(';')
        .next()
        .unwrap_or_default()
        .to_owned())
}

pub async fn run_all(s: Settings) -> anyhow::Result<Report> {
    let (cpu_model, nproc, memory_gib) = procfs::machine();
    let machine = Machine {
        cpu_model,
        nproc,
        memory_gib,
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
            .to_owned(),
        mongo: format!("{} (MONGO_KIND)", s.fleet.mongo_kind),
    };
    let mut noise = Noise {
        load_average_before: procfs::load_average(),
        ..Noise::default()
    };
    eprintln!("bench: calibrating the machine (fixed CPU loop, 3 runs)");
    noise.calibration_before_s = tokio::task::spawn_blocking(|| floors::calibrate(3)).await?;

    let meter = Meter {
        probes: Vec::new(),
        ours: s.fleet.all_pids(),
    };
    let whole_run = meter.read();
    let sessions = Sessions::new(&s.fleet.jwt_key, false);
    let seller_oid = ObjectId::new();
    let seller = cookie_of(&sessions, seller_oid, "seller@bench.test")?;
    let buyer = cookie_of(&sessions, ObjectId::new(), "buyer@bench.test")?;
    let tickets_db = common::mongo::connect(&s.fleet.mongo_url("tickets"), "tickets").await?;
    let orders_db = common::mongo::connect(&s.fleet.mongo_url("orders"), "orders").await?;
    let payments_db = common::mongo::connect(&s.fleet.mongo_url("payments"), "payments").await?;
    let settings_json = s.json();
    let fleet_nats = s.fleet.nats_url.clone();
    let mut b = Bench {
        s,
        meter,
        rows: Vec::new(),
        seller,
        seller_id: seller_oid.to_hex(),
        buyer,
        tickets_db,
        orders_db,
        payments_db,
        flow_pool: Vec::new(),
        signup_burst: None,
        bus: EventBus::connect(&fleet_nats, Namespace::default()).await?,
    };
    let existing = b
        .tickets_db
        .collection::<Document>("tickets")
        .count_documents(doc! {})
        .await?;
    if existing > 0 && b.s.only.is_none() {
        bail!(
            "the fleet's tickets database already holds {existing} tickets; the benchmark needs a fresh fleet (scripts/bench.sh starts one)"
        );
    }

    // Idle memory: the fleet is up and nothing has asked it anything yet.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle: HashMap<String, (Option<f64>, Option<f64>)> =
        b.s.fleet
            .services
            .iter()
            .map(|(name, _, pid)| {
                let memory = (procfs::rss_mib(*pid), procfs::status_mib(*pid, "RssAnon:"));
                (name.clone(), memory)
            })
            .collect();
    let sampler = RssSampler::start(b.s.fleet.services.iter().map(|(_, _, pid)| *pid).collect());

    if b.s.runs("currentuser") {
        b.current_user().await?;
    }
    let ids = b.seed_tickets(100).await?;
    if b.s.runs("by_id") {
        b.ticket_by_id(&ids).await?;
    }
    if b.s.runs("list") {
        b.ticket_list().await?;
    }
    if b.s.runs("create_tickets") {
        b.create_tickets().await?;
    }
    if b.s.runs("orders") || b.s.runs("flow") {
        b.create_orders(&ids).await?;
    }
    if b.s.runs("signup") {
        b.signup().await?;
    }
    if b.s.runs("lag") {
        b.event_lag().await?;
    }
    if b.s.runs("flow") {
        b.purchase_flow().await?;
    }

    let load_max = sampler.stop().await;
    let mut services = Vec::new();
    for (name, _, pid) in b.s.fleet.services.clone() {
        services.push(ServiceFootprint {
            service: name.clone(),
            idle_rss_mib: idle.get(&name).and_then(|(rss, _)| *rss),
            idle_anon_mib: idle.get(&name).and_then(|(_, anon)| *anon),
            end_anon_mib: procfs::status_mib(pid, "RssAnon:"),
            load_max_rss_mib: load_max.get(&pid).copied(),
            end_rss_mib: procfs::rss_mib(pid),
            peak_hwm_mib: procfs::status_mib(pid, "VmHWM:"),
            ready_ms: Vec::new(),
            ready_median_ms: None,
            ready_max_ms: None,
            rss_at_ready_mib: None,
            idle_met: None,
            load_met: None,
            ready_met: None,
        });
    }
    let whole_run_end = b.meter.read();
    noise.foreign_cores_whole_run = b.meter.delta(&whole_run, &whole_run_end).foreign_cores;

    for footprint in services.iter_mut().filter(|_| b.s.runs("startup")) {
        match b.startup(&footprint.service).await {
            Ok((times, rss)) => {
                let mut sorted = times.clone();
                sorted.sort_by(f64::total_cmp);
                footprint.ready_median_ms = sorted.get(sorted.len() / 2).copied();
                footprint.ready_max_ms = sorted.last().copied();
                footprint.ready_ms = times;
                footprint.rss_at_ready_mib = rss;
            }
            Err(error) => eprintln!(
                "bench: start-up of {} not measured: {error:#}",
                footprint.service
            ),
        }
    }

    eprintln!("bench: calibrating again");
    noise.calibration_after_s = tokio::task::spawn_blocking(|| floors::calibrate(3)).await?;
    noise.load_average_after = procfs::load_average();
    let all: Vec<f64> = noise
        .calibration_before_s
        .iter()
        .chain(&noise.calibration_after_s)
        .copied()
        .collect();
    let fastest = all.iter().copied().fold(f64::INFINITY, f64::min);
    let slowest = all.iter().copied().fold(0.0, f64::max);
    noise.calibration_spread = if fastest > 0.0 {
        (slowest - fastest) / fastest
    } else {
        0.0
    };
    noise.foreign_cores_max_row = b.rows.iter().map(|r| r.foreign_cores).fold(0.0, f64::max);

    Ok(Report {
        generated_at: chrono::Utc::now().to_rfc3339(),
        machine,
        settings: settings_json,
        rows: b.rows,
        services,
        signup_burst: b.signup_burst,
        noise,
        total_seconds: 0.0,
    })
}

/// Marks the targets of issue 7.
pub fn judge(report: &mut Report) {
    if let Some(row) = report.row_mut("currentuser_direct") {
        let met = row.throughput >= 80_000.0;
        *row = row.clone().target("≥ 80,000 req/s", met);
    }
    let raw = report.row("floor_find_by_id").cloned();
    if let (Some(raw), Some(row)) = (raw, report.row_mut("ticket_by_id")) {
        let met = row.throughput >= 0.9 * raw.throughput && row.p99_ms <= 2.0 * raw.p99_ms;
        *row = row.clone().target("≥ 0.9× raw rate, p99 ≤ 2× raw", met);
    }
    if let Some(row) = report.row_mut("ticket_list_100") {
        let met = row.throughput >= 3_000.0;
        *row = row.clone().target("≥ 3,000 req/s", met);
    }
    // "Replicas keep up": bounded lag at 100 and 200 events/s, and a backlog drained at the rate
    // the database takes the same upsert from the raw driver.
    for (key, p99_ms) in [("event_lag_100", 50.0), ("event_lag_200", 250.0)] {
        if let Some(row) = report.row_mut(key) {
            let met = row.p99_ms <= p99_ms && row.errors == 0;
            *row = row
                .clone()
                .target(format!("p99 ≤ {p99_ms:.0} ms, no errors"), met);
        }
    }
    let upsert = report.row("floor_upsert").map(|r| r.throughput);
    if let (Some(upsert), Some(row)) = (upsert, report.row_mut("event_backlog")) {
        let met = row.throughput >= 0.8 * upsert && row.errors == 0;
        *row = row
            .clone()
            .target("applied ≥ 0.8× raw upsert, no errors", met);
    }
    for s in &mut report.services {
        s.idle_met = s.idle_rss_mib.map(|v| v <= 15.0);
        s.load_met = s.load_max_rss_mib.map(|v| v <= 40.0);
        s.ready_met = s.ready_median_ms.map(|v| v <= 100.0);
    }
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
                    if let Some(rss) = procfs::rss_mib(*pid) {
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

fn get(path: String, cookie: Option<String>) -> MakeRequest {
    Arc::new(move |conn: &Conn, _| Some(conn.get(&path, cookie.as_deref())))
}

fn tree(name: &str, pid: Option<u32>) -> Option<Probe> {
    pid.map(|pid| Probe::tree(name, pid))
}

impl Bench {
    fn probes(&self, services: &[&str], extra: &[&str]) -> Vec<Probe> {
        let f = &self.s.fleet;
        let mut probes: Vec<Probe> = services
            .iter()
            .filter_map(|name| tree(name, f.pid(name)))
            .collect();
        for name in extra {
            let probe = match *name {
                "mongodb" => tree("mongodb", f.mongo_pid),
                // The server of one database (`mongodb:orders`), reported as the database.
                other if other.starts_with("mongodb:") => {
                    tree("mongodb", f.mongo_pid_of(&other["mongodb:".len()..]))
                }
                "nats" => tree("nats", f.nats_pid),
                "redis" => tree("redis", f.redis_pid),
                "stripe-mock" => tree("stripe-mock", f.stripe_pid),
                "gateway" => tree("gateway", Some(f.gateway_pid)),
                "bench" => Some(Probe::own("bench")),
                _ => None,
            };
            probes.extend(probe);
        }
        probes
    }

    fn push(&mut self, row: Row) {
        self.push_at(self.rows.len(), row);
    }

    /// Adds `row` at `index` of the table (a floor measured after the rows compared with it).
    fn push_at(&mut self, index: usize, row: Row) {
        eprintln!(
            "bench: {:<38} {:>9.0} ops/s  p50 {:>7.2} ms  p99 {:>7.2} ms  errors {}{}",
            row.label,
            row.throughput,
            row.p50_ms,
            row.p99_ms,
            row.errors,
            row.first_error
                .as_deref()
                .map(|e| format!(" (first: {})", e.chars().take(200).collect::<String>()))
                .unwrap_or_default()
        );
        self.rows.insert(index, row);
    }

    async fn http(
        &self,
        base: &str,
        concurrency: usize,
        expect: StatusCode,
        probes: Vec<Probe>,
        make: MakeRequest,
    ) -> Sample {
        load::http(
            base,
            concurrency,
            self.s.timing,
            &self.meter.with(probes),
            expect,
            make,
        )
        .await
    }

    // -----------------------------------------------------------------------------------------
    // currentuser: cookie + JWT, no database
    // -----------------------------------------------------------------------------------------

    async fn current_user(&mut self) -> anyhow::Result<()> {
        let conns = self.s.conns_fast;
        let path = "/api/users/currentuser".to_owned();
        let cookie = Some(self.seller.clone());

        let floor = FloorServer::start(&self.s.fleet.jwt_key, "bare")?;
        let check = Conn::new(&floor.url)
            .send(Conn::new(&floor.url).get(&path, cookie.as_deref()))
            .await?;
        anyhow::ensure!(
            String::from_utf8_lossy(&check.1).contains("seller@bench.test"),
            "the floor server does not recognise the cookie"
        );
        let sample = self
            .http(
                &floor.url,
                conns,
                StatusCode::OK,
                vec![Probe::tree("axum-floor", floor.pid)],
                get(path.clone(), cookie.clone()),
            )
            .await;
        floor.stop();
        self.push(
            Row::from_sample(
                "floor_axum_currentuser",
                "bare axum: cookie + JWT handler",
                "req",
                &sample,
            )
            .with_cpu(&sample, "axum-floor")
            .floor()
            .note("this binary again as a separate process, default multi-thread runtime, no tracing subscriber"),
        );

        if self.s.diagnostics {
            self.shell_diagnostics(conns, &path, cookie.clone()).await?;
        }

        let (auth_url, _) = self.s.fleet.service("auth")?;
        let sample = self
            .http(
                &auth_url,
                conns,
                StatusCode::OK,
                self.probes(&["auth"], &[]),
                get(path.clone(), cookie.clone()),
            )
            .await;
        self.push(
            Row::from_sample(
                "currentuser_direct",
                "GET /api/users/currentuser (auth)",
                "req",
                &sample,
            )
            .with_cpu(&sample, "auth")
            .against("floor_axum_currentuser"),
        );

        let gateway = self.s.fleet.gateway_url.clone();
        let sample = self
            .http(
                &gateway,
                conns,
                StatusCode::OK,
                self.probes(&["auth"], &["gateway"]),
                get(path, cookie),
            )
            .await;
        let gateway_note = format!(
            "through nginx: {:.0} µs of nginx CPU per request besides auth's",
            sample.cpu_us_per_op("gateway").unwrap_or(f64::NAN)
        );
        self.push(
            Row::from_sample(
                "currentuser_gateway",
                "GET /api/users/currentuser (gateway)",
                "req",
                &sample,
            )
            .with_cpu(&sample, "auth")
            .against("floor_axum_currentuser")
            .note(gateway_note),
        );
        Ok(())
    }

    /// `BENCH_DIAG=1`: the floor again inside the services' HTTP shell, without and then with
    /// the services' tracing subscriber.
    async fn shell_diagnostics(
        &mut self,
        conns: usize,
        path: &str,
        cookie: Option<String>,
    ) -> anyhow::Result<()> {
        for subscriber in [false, true] {
            let floor = FloorServer::start(
                &self.s.fleet.jwt_key,
                if subscriber { "shell+tracing" } else { "shell" },
            )?;
            let sample = self
                .http(
                    &floor.url,
                    conns,
                    StatusCode::OK,
                    vec![Probe::tree("axum-floor", floor.pid)],
                    get(path.to_owned(), cookie.clone()),
                )
                .await;
            floor.stop();
            let (key, label) = if subscriber {
                (
                    "diag_shell_tracing",
                    "diag: axum + services' shell + tracing",
                )
            } else {
                ("diag_shell", "diag: axum + services' shell, no subscriber")
            };
            self.push(
                Row::from_sample(key, label, "req", &sample)
                    .with_cpu(&sample, "axum-floor")
                    .against("floor_axum_currentuser"),
            );
        }
        Ok(())
    }

    // -----------------------------------------------------------------------------------------
    // tickets
    // -----------------------------------------------------------------------------------------

    /// Lists `n` tickets through the API and waits until the orders replica has them.
    async fn seed_tickets(&mut self, n: usize) -> anyhow::Result<Vec<String>> {
        let (tickets_url, _) = self.s.fleet.service("tickets")?;
        let mut conn = Conn::new(&tickets_url);
        let mut ids = Vec::with_capacity(n);
        for i in 0..n {
            let body = json!({ "title": format!("Concert #{i}"), "price": 20 + (i % 50) });
            let (status, answer) = conn
                .send(conn.post_json("/api/tickets", &body, Some(&self.seller)))
                .await?;
            anyhow::ensure!(status == StatusCode::CREATED, "seeding a ticket: {status}");
            let answer: Value = serde_json::from_slice(&answer)?;
            ids.push(answer["id"].as_str().unwrap_or_default().to_owned());
        }
        self.settle_tickets().await?;
        Ok(ids)
    }

    /// Waits until every ticket's event went out and reached the orders replica.
    async fn settle_tickets(&self) -> anyhow::Result<()> {
        let tickets = self.tickets_db.collection::<Document>("tickets");
        let replica = self.orders_db.collection::<Document>("tickets");
        settle("tickets replicated to orders", || async {
            let source = tickets.count_documents(doc! {}).await?;
            let copies = replica.count_documents(doc! {}).await?;
            let pending = tickets
                .count_documents(doc! { "outbox.id": { "$exists": true } })
                .await?;
            Ok(copies >= source && pending == 0)
        })
        .await?;
        self.settle_consumers().await
    }

    /// Waits until every durable consumer of the fleet has handled everything (nothing pending,
    /// nothing awaiting its acknowledgement), so that one workload's aftermath does not run into
    /// the next one's measurement.
    async fn settle_consumers(&self) -> anyhow::Result<()> {
        let bus = &self.bus;
        settle("every event handled by every consumer", || async {
            for name in ["TICKETS", "ORDERS"] {
                let stream = bus
                    .jetstream()
                    .get_stream(name)
                    .await
                    .map_err(|e| anyhow::anyhow!("stream {name}: {e}"))?;
                let mut consumers = stream.consumers();
                while let Some(info) = consumers.next().await {
                    let info = info.map_err(|e| anyhow::anyhow!("consumers of {name}: {e}"))?;
                    if info.num_pending > 0 || info.num_ack_pending > 0 {
                        return Ok(false);
                    }
                }
            }
            Ok(true)
        })
        .await
    }

    async fn ticket_by_id(&mut self, ids: &[String]) -> anyhow::Result<()> {
        let conns = self.s.conns_db;
        // The raw driver: the same query (find by _id, same projection) on the same database,
        // with the same client options as the service.
        let client_db =
            common::mongo::connect(&self.s.fleet.mongo_url("tickets"), "tickets").await?;
        let collection: Collection<Document> = client_db.collection("tickets");
        let oids: Arc<Vec<ObjectId>> = Arc::new(
            ids.iter()
                .filter_map(|id| ObjectId::parse_str(id).ok())
                .collect(),
        );
        let op: Op = {
            let oids = oids.clone();
            let collection = collection.clone();
            Arc::new(move |seq| {
                let id = oids[seq as usize % oids.len()];
                let collection = collection.clone();
                Box::pin(async move {
                    match collection
                        .find_one(doc! { "_id": id })
                        .projection(doc! { "outbox": 0, "cancelledOrders": 0 })
                        .await
                    {
                        Ok(Some(_)) => Ok(()),
                        Ok(None) => Err("not found".into()),
                        Err(error) => Err(error.to_string()),
                    }
                })
            })
        };
        let sample = load::ops(
            conns,
            self.s.timing,
            &self.meter.with(self.probes(&[], &["bench", "mongodb"])),
            op,
        )
        .await;
        self.push(
            Row::from_sample(
                "floor_find_by_id",
                "raw driver: find_one by _id",
                "req",
                &sample,
            )
            .with_cpu(&sample, "bench")
            .floor(),
        );

        let (tickets_url, _) = self.s.fleet.service("tickets")?;
        let ids: Arc<Vec<String>> = Arc::new(ids.to_vec());
        let make: MakeRequest = Arc::new(move |conn: &Conn, seq| {
            Some(conn.get(
                &format!("/api/tickets/{}", ids[seq as usize % ids.len()]),
                None,
            ))
        });
        let sample = self
            .http(
                &tickets_url,
                conns,
                StatusCode::OK,
                self.probes(&["tickets"], &["mongodb"]),
                make,
            )
            .await;
        self.push(
            Row::from_sample("ticket_by_id", "GET /api/tickets/:id", "req", &sample)
                .with_cpu(&sample, "tickets")
                .against("floor_find_by_id"),
        );
        Ok(())
    }

    async fn ticket_list(&mut self) -> anyhow::Result<()> {
        let conns = self.s.conns_write;
        let client_db =
            common::mongo::connect(&self.s.fleet.mongo_url("tickets"), "tickets").await?;
        let collection: Collection<Document> = client_db.collection("tickets");
        // The cheapest query that gives the listing's answer on SecantusDB: the filter alone, no
        // sort and no projection (each costs the database more than the fetch), sorted here.
        let op: Op = Arc::new(move |_| {
            let collection = collection.clone();
            Box::pin(async move {
                let cursor = collection
                    .find(doc! { "orderId": null })
                    .await
                    .map_err(|e| e.to_string())?;
                let mut all: Vec<Document> =
                    cursor.try_collect().await.map_err(|e| e.to_string())?;
                all.sort_unstable_by_key(|ticket| ticket.get_object_id("_id").ok());
                if all.len() == 100 {
                    Ok(())
                } else {
                    Err(format!("{} tickets, not 100", all.len()))
                }
            })
        });
        let sample = load::ops(
            conns,
            self.s.timing,
            &self.meter.with(self.probes(&[], &["bench", "mongodb"])),
            op,
        )
        .await;
        self.push(
            Row::from_sample(
                "floor_find_100",
                "raw driver: find 100 (cheapest equivalent: filter only, sorted in the client)",
                "req",
                &sample,
            )
            .with_cpu(&sample, "bench")
            .floor(),
        );

        let (tickets_url, _) = self.s.fleet.service("tickets")?;
        let sample = self
            .http(
                &tickets_url,
                conns,
                StatusCode::OK,
                self.probes(&["tickets"], &["mongodb"]),
                get("/api/tickets".into(), None),
            )
            .await;
        self.push(
            Row::from_sample(
                "ticket_list_100",
                "GET /api/tickets (100 tickets)",
                "req",
                &sample,
            )
            .with_cpu(&sample, "tickets")
            .against("floor_find_100"),
        );
        Ok(())
    }

    async fn create_tickets(&mut self) -> anyhow::Result<()> {
        let conns = self.s.conns_write;
        let client_db =
            common::mongo::connect(&self.s.fleet.mongo_url("tickets"), "tickets").await?;
        let scratch: Collection<Document> = client_db.collection("bench_floor_tickets");
        let user_id = self.seller_id.clone();
        let op: Op = Arc::new(move |seq| {
            let scratch = scratch.clone();
            let user_id = user_id.clone();
            Box::pin(async move {
                let id = ObjectId::new();
                let payload = json!({ "id": id.to_hex(), "version": 0, "title": format!("Floor {seq}"), "price": 20.5, "userId": user_id }).to_string();
                let document = doc! {
                    "_id": id, "title": format!("Floor {seq}"), "priceCents": 2050_i64,
                    "userId": &user_id, "version": 0_i64,
                    "outbox": [{ "id": format!("ticket.created:{}", id.to_hex()), "subject": "ticket.created", "payload": payload }],
                };
                scratch
                    .insert_one(document)
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string())
            })
        });
        let sample = load::ops(
            conns,
            self.s.timing,
            &self.meter.with(self.probes(&[], &["bench", "mongodb"])),
            op,
        )
        .await;
        self.push(
            Row::from_sample(
                "floor_insert",
                "raw driver: insert_one (ticket-shaped)",
                "req",
                &sample,
            )
            .with_cpu(&sample, "bench")
            .floor(),
        );

        let (tickets_url, _) = self.s.fleet.service("tickets")?;
        let seller = self.seller.clone();
        let make: MakeRequest = Arc::new(move |conn: &Conn, seq| {
            let body = json!({ "title": format!("Bench ticket {seq}"), "price": "20.50" });
            Some(conn.post_json("/api/tickets", &body, Some(&seller)))
        });
        let sample = self
            .http(
                &tickets_url,
                conns,
                StatusCode::CREATED,
                self.probes(&["tickets"], &["mongodb", "nats"]),
                make,
            )
            .await;
        let row = Row::from_sample("ticket_create", "POST /api/tickets", "req", &sample)
            .with_cpu(&sample, "tickets")
            .against("floor_insert")
            .note("per request: insert with the event in the document; then (async) publish + $pull of the outbox, and the orders replica's upsert");
        self.push(row);
        self.settle_tickets().await
    }

    // -----------------------------------------------------------------------------------------
    // orders
    // -----------------------------------------------------------------------------------------

    /// Unreserved tickets in the orders replica, not among `exclude`.
    async fn free_tickets(&self, exclude: &[String]) -> anyhow::Result<Vec<String>> {
        let replica = self.orders_db.collection::<Document>("tickets");
        let taken: Vec<String> = self
            .orders_db
            .collection::<Document>("orders")
            .find(doc! {})
            .projection(doc! { "ticket.id": 1 })
            .await?
            .try_collect::<Vec<Document>>()
            .await?
            .iter()
            .filter_map(|o| {
                o.get_document("ticket")
                    .ok()?
                    .get_str("id")
                    .ok()
                    .map(str::to_owned)
            })
            .collect();
        let mut skip: std::collections::HashSet<String> = exclude.iter().cloned().collect();
        skip.extend(taken);
        let ids: Vec<String> = replica
            .find(doc! {})
            .projection(doc! { "_id": 1 })
            .await?
            .try_collect::<Vec<Document>>()
            .await?
            .iter()
            .filter_map(|d| d.get_object_id("_id").ok().map(|id| id.to_hex()))
            .filter(|id| !skip.contains(id))
            .collect();
        Ok(ids)
    }

    /// Creates tickets through the API until the replica has `n` free ones.
    async fn ensure_free_tickets(
        &self,
        n: usize,
        exclude: &[String],
    ) -> anyhow::Result<Vec<String>> {
        let mut free = self.free_tickets(exclude).await?;
        if free.len() < n {
            let missing = n - free.len();
            eprintln!("bench: creating {missing} more tickets for the orders");
            let (tickets_url, _) = self.s.fleet.service("tickets")?;
            let per = missing.div_ceil(8);
            let tasks: Vec<_> = (0..8)
                .map(|_| {
                    let url = tickets_url.clone();
                    let seller = self.seller.clone();
                    tokio::spawn(async move {
                        let mut conn = Conn::new(&url);
                        for i in 0..per {
                            let body = json!({ "title": format!("Stock {i}"), "price": 15 });
                            conn.send(conn.post_json("/api/tickets", &body, Some(&seller)))
                                .await?;
                        }
                        anyhow::Ok(())
                    })
                })
                .collect();
            for task in tasks {
                task.await??;
            }
            self.settle_tickets().await?;
            free = self.free_tickets(exclude).await?;
        }
        Ok(free)
    }

    /// Waits until every order's consequences settled: tickets reserved, payments replica.
    async fn settle_orders(&self) -> anyhow::Result<()> {
        let orders = self.orders_db.collection::<Document>("orders");
        let payments_replica = self.payments_db.collection::<Document>("orders");
        let tickets = self.tickets_db.collection::<Document>("tickets");
        settle("orders reached tickets and payments", || async {
            let n = orders.count_documents(doc! {}).await?;
            let replicated = payments_replica.count_documents(doc! {}).await?;
            let reserved = tickets
                .count_documents(doc! { "orderId": { "$exists": true } })
                .await?;
            let pending = orders
                .count_documents(doc! { "outbox.id": { "$exists": true } })
                .await?
                + tickets
                    .count_documents(doc! { "outbox.id": { "$exists": true } })
                    .await?;
            Ok(replicated >= n && reserved >= n && pending == 0)
        })
        .await?;
        self.settle_consumers().await
    }

    async fn create_orders(&mut self, seeded: &[String]) -> anyhow::Result<()> {
        let conns = self.s.conns_write;
        let free = self.ensure_free_tickets(3_000, seeded).await?;
        let flow_share = 800.min(free.len() / 4);
        let (for_orders, for_flows) = free.split_at(free.len() - flow_share);
        self.flow_pool = for_flows.to_vec();

        // Floor: what reserve() asks of the database — find the ticket in the replica, insert
        // the order (with its outbox) into a collection with the same two indexes.
        let client_db = common::mongo::connect(&self.s.fleet.mongo_url("orders"), "orders").await?;
        let replica: Collection<Document> = client_db.collection("tickets");
        let scratch: Collection<Document> = client_db.collection("bench_floor_orders");
        scratch
            .create_indexes([
                mongodb::IndexModel::builder()
                    .keys(doc! { "activeTicket": 1 })
                    .options(
                        mongodb::options::IndexOptions::builder()
                            .unique(true)
                            .sparse(true)
                            .build(),
                    )
                    .build(),
                mongodb::IndexModel::builder()
                    .keys(doc! { "userId": 1, "_id": 1 })
                    .build(),
            ])
            .await?;
        let probe_ids: Arc<Vec<ObjectId>> = Arc::new(
            for_orders
                .iter()
                .take(100)
                .filter_map(|id| ObjectId::parse_str(id).ok())
                .collect(),
        );
        let op: Op = Arc::new(move |seq| {
            let replica = replica.clone();
            let scratch = scratch.clone();
            let ticket = probe_ids[seq as usize % probe_ids.len()];
            Box::pin(async move {
                let found = replica
                    .find_one(doc! { "_id": ticket })
                    .await
                    .map_err(|e| e.to_string())?
                    .ok_or("ticket not in the replica")?;
                let id = ObjectId::new();
                let document = doc! {
                    "_id": id, "userId": "u", "status": "created",
                    "expiresAt": common::bson::DateTime::now(), "version": 0_i64,
                    "ticket": { "id": ticket.to_hex(), "title": found.get_str("title").unwrap_or_default(), "priceCents": 1500_i64, "version": 0_i64 },
                    // unique per insert, as a real order's ticket is
                    "activeTicket": id.to_hex(),
                    "outbox": [{ "id": format!("order.created:{}", id.to_hex()), "subject": "order.created", "payload": "{}" }],
                };
                scratch
                    .insert_one(document)
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string())
            })
        });
        let sample = load::ops(
            conns,
            self.s.timing,
            &self.meter.with(self.probes(&[], &["bench", "mongodb"])),
            op,
        )
        .await;
        self.push(
            Row::from_sample(
                "floor_find_insert",
                "raw driver: find_one + insert_one",
                "req",
                &sample,
            )
            .with_cpu(&sample, "bench")
            .floor(),
        );

        let (orders_url, _) = self.s.fleet.service("orders")?;
        let pool = Arc::new(Mutex::new(for_orders.to_vec()));
        let buyer = self.buyer.clone();
        let make: MakeRequest = Arc::new(move |conn: &Conn, _| {
            let ticket = pool.lock().expect("not poisoned").pop()?;
            Some(conn.post_json("/api/orders", &json!({ "ticketId": ticket }), Some(&buyer)))
        });
        let sample = self
            .http(
                &orders_url,
                conns,
                StatusCode::CREATED,
                self.probes(&["orders"], &["mongodb", "nats"]),
                make,
            )
            .await;
        self.push(
            Row::from_sample("order_create", "POST /api/orders", "req", &sample)
                .with_cpu(&sample, "orders")
                .against("floor_find_insert")
                .note("per request: find the ticket in the replica + insert the order with its event; then (async) publish, tickets' reservation, payments' replica, expiration's job"),
        );
        self.settle_orders().await
    }

    // -----------------------------------------------------------------------------------------
    // signup
    // -----------------------------------------------------------------------------------------

    async fn signup(&mut self) -> anyhow::Result<()> {
        let conns = self.s.conns_signup;
        let op: Op = Arc::new(|seq| {
            Box::pin(async move {
                tokio::task::spawn_blocking(move || {
                    floors::argon2_hash(&format!("password{}", seq % 10))
                })
                .await
                .map_err(|e| e.to_string())?
            })
        });
        let sample = load::ops(
            conns,
            self.s.timing,
            &self.meter.with(self.probes(&[], &["bench"])),
            op,
        )
        .await;
        self.push(
            Row::from_sample(
                "floor_argon2",
                "argon2id hash alone (0.6 defaults)",
                "hash",
                &sample,
            )
            .with_cpu(&sample, "bench")
            .floor()
            .note("in-process, one hash per worker at a time: m=19 MiB, t=2, p=1"),
        );

        let (auth_url, _) = self.s.fleet.service("auth")?;
        let run = ObjectId::new().to_hex();
        let make: MakeRequest = Arc::new(move |conn: &Conn, seq| {
            let body =
                json!({ "email": format!("user{seq}.{run}@bench.test"), "password": "password" });
            Some(conn.post_json("/api/users/signup", &body, None))
        });
        let sample = self
            .http(
                &auth_url,
                conns,
                StatusCode::CREATED,
                self.probes(&["auth"], &["mongodb"]),
                make,
            )
            .await;
        self.push(
            Row::from_sample("signup", "POST /api/users/signup", "req", &sample)
                .with_cpu(&sample, "auth")
                .against("floor_argon2"),
        );
        let (auth_url, pid) = self.s.fleet.service("auth")?;
        self.signup_burst = Some(burst::signups(&auth_url, pid).await?);
        Ok(())
    }

    // -----------------------------------------------------------------------------------------
    // events
    // -----------------------------------------------------------------------------------------

    /// The event rows: the JetStream floor, the lag at each open-loop rate, the backlog
    /// (saturation) run, and the raw upsert floor in two halves around the backlog.
    ///
    /// SecantusDB keeps a record of every retryable write for 30 minutes (up to 10,000) and walks
    /// them all on every write, so its upserts slow down as writes add up over a run: the upsert
    /// floor runs half just before and half just after the backlog, so that on average both see
    /// as many earlier writes; each row's note says how many the orders server had taken.
    async fn event_lag(&mut self) -> anyhow::Result<()> {
        self.settle_consumers().await?;
        let bus = EventBus::connect(&self.s.fleet.nats_url, Namespace::default()).await?;
        let rates = self.s.event_rates.clone();
        let floor_rate = rates.iter().copied().fold(0.0, f64::max);
        if floor_rate > 0.0 {
            self.jetstream_floor(&bus, floor_rate).await?;
        }
        // The upsert floor's row goes before the rows compared with it.
        let floor_at = self.rows.len();
        for rate in rates {
            self.settle_consumers().await?;
            self.lag_at(&bus, rate).await?;
        }
        self.settle_consumers().await?;
        let floor = UpsertFloor::prepare(self).await?;
        let first = floor.run(self).await;
        if self.s.backlog_events > 0 {
            self.settle_consumers().await?;
            self.event_backlog(&bus).await?;
        }
        let second = floor.run(self).await;
        floor.finish(self, first, second, floor_at).await?;
        self.settle_consumers().await
    }

    /// Writes (insert, update, delete commands) the server of `db` took since it started, from
    /// its `serverStatus` opcounters.
    async fn writes_taken(&self, db: &Database) -> Option<u64> {
        let status = db
            .client()
            .database("admin")
            .run_command(doc! { "serverStatus": 1 })
            .await
            .ok()?;
        let counters = status.get_document("opcounters").ok()?;
        let count = |name: &str| match counters.get(name) {
            Some(common::bson::Bson::Int32(n)) => *n as u64,
            Some(common::bson::Bson::Int64(n)) => *n as u64,
            Some(common::bson::Bson::Double(n)) => *n as u64,
            _ => 0,
        };
        Some(count("insert") + count("update") + count("delete"))
    }

    /// "the orders server had taken N writes", for a row's note.
    async fn orders_writes_note(&self) -> String {
        match self.writes_taken(&self.orders_db).await {
            Some(n) => format!("the orders database server had taken {n} writes before it"),
            None => "the orders database server's write count unknown".to_owned(),
        }
    }

    /// Floor: a JetStream publish → pull-consumer delivery on a stream of our own, with the
    /// consumer settings and the pull loop of the services' listeners.
    async fn jetstream_floor(&mut self, bus: &EventBus, rate: f64) -> anyhow::Result<()> {
        let timing = self.s.lag_timing;
        let name = "BENCH_FLOOR";
        let _ = bus.jetstream().delete_stream(name).await;
        let stream = bus
            .jetstream()
            .create_stream(stream::Config {
                name: name.into(),
                subjects: vec!["benchfloor.>".into()],
                storage: stream::StorageType::File,
                duplicate_window: common::events::bus::DUPLICATE_WINDOW,
                ..Default::default()
            })
            .await
            .map_err(|e| anyhow::anyhow!("creating the floor stream: {e}"))?;
        let consumer = stream
            .get_or_create_consumer(
                "bench-floor",
                pull::Config {
                    durable_name: Some("bench-floor".into()),
                    filter_subject: "benchfloor.ping".into(),
                    ack_policy: AckPolicy::Explicit,
                    deliver_policy: DeliverPolicy::All,
                    ack_wait: Duration::from_secs(30),
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| anyhow::anyhow!("creating the floor consumer: {e}"))?;
        let waiters: Arc<Mutex<HashMap<u64, tokio::sync::oneshot::Sender<Instant>>>> =
            Arc::default();
        let consumer_task = {
            let waiters = waiters.clone();
            let mut messages = consumer
                .stream()
                .heartbeat(Duration::from_secs(5))
                .expires(Duration::from_secs(30))
                .messages()
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            tokio::spawn(async move {
                while let Some(Ok(message)) = messages.next().await {
                    let seen = Instant::now();
                    if let Some(seq) = std::str::from_utf8(&message.payload)
                        .ok()
                        .and_then(|s| s.parse::<u64>().ok())
                        && let Some(waiter) = waiters.lock().expect("not poisoned").remove(&seq)
                    {
                        let _ = waiter.send(seen);
                    }
                    let _ = message.ack().await;
                }
            })
        };
        let fire = {
            let bus = bus.clone();
            move |seq: u64| {
                let bus = bus.clone();
                let waiters = waiters.clone();
                async move {
                    let (tx, rx) = tokio::sync::oneshot::channel();
                    waiters.lock().expect("not poisoned").insert(seq, tx);
                    let sent = Instant::now();
                    bus.publish_raw(
                        "benchfloor.ping",
                        &format!("floor:{}:{seq}", ObjectId::new().to_hex()),
                        Bytes::from(seq.to_string()),
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                    let seen = tokio::time::timeout(Duration::from_secs(10), rx)
                        .await
                        .map_err(|_| "not delivered within 10 s".to_owned())?
                        .map_err(|_| "dropped".to_owned())?;
                    Ok(seen - sent)
                }
            }
        };
        let sample = open_loop(
            rate,
            timing,
            &self.meter.with(self.probes(&[], &["nats", "bench"])),
            fire,
        )
        .await;
        consumer_task.abort();
        let _ = bus.jetstream().delete_stream(name).await;
        self.push(
            Row::from_sample("floor_jetstream", "JetStream publish → pull consumer", "event", &sample)
                .with_cpu(&sample, "nats")
                .floor()
                .note(format!("open loop at {rate:.0} events/s for {:.0} s, file storage, the listeners' consumer settings; latency from publish to delivery", timing.duration.as_secs_f64())),
        );
        Ok(())
    }

    /// The fleet at an open-loop `rate`: ticket.created → visible in the orders replica.
    async fn lag_at(&mut self, bus: &EventBus, rate: f64) -> anyhow::Result<()> {
        let timing = self.s.lag_timing;
        let watcher = Watcher::spawn(self.orders_db.collection("tickets"), doc! {}, self.s.poll);
        let seller_id = self.seller_id.clone();
        let fire = {
            let bus = bus.clone();
            let watcher = watcher.clone();
            move |seq: u64| {
                let bus = bus.clone();
                let watcher = watcher.clone();
                let seller_id = seller_id.clone();
                async move {
                    let id = ObjectId::new();
                    let seen = watcher.watch(id);
                    let sent = Instant::now();
                    bus.publish(&TicketCreated {
                        id: id.to_hex(),
                        version: 0,
                        title: format!("Lag probe {seq}"),
                        price: 10.0,
                        user_id: seller_id,
                    })
                    .await
                    .map_err(|e| e.to_string())?;
                    match tokio::time::timeout(Duration::from_secs(10), seen).await {
                        Ok(Ok(at)) => Ok(at.saturating_duration_since(sent)),
                        _ => {
                            watcher.forget(&id);
                            Err("not in the orders replica within 10 s".to_owned())
                        }
                    }
                }
            }
        };
        let writes = self.orders_writes_note().await;
        let mark = watcher.mark();
        let started = Instant::now();
        let sample = open_loop(
            rate,
            timing,
            &self
                .meter
                .with(self.probes(&["orders"], &["mongodb:orders", "nats"])),
            fire,
        )
        .await;
        let polling = watcher.cost(mark, started.elapsed().as_secs_f64());
        watcher.stop();
        let key = format!("event_lag_{rate:.0}");
        let applied = sample.throughput();
        self.push(
            Row::from_sample(
                &key,
                &format!("ticket.created → orders replica, {rate:.0}/s"),
                "event",
                &sample,
            )
            .with_cpu(&sample, "orders")
            .against("floor_jetstream")
            .rate_against("floor_upsert")
            .note(format!(
                "open loop at {rate:.0} events/s for {secs:.0} s after {warm:.0} s warm-up; p50/p99: publish → seen in orders.tickets (an event not there within 10 s is an error); ops/s = applied rate = {count} events seen / {secs:.0} s measured = {applied:.1}/s, ×rate over the raw upsert floor (an open loop applies at most what it offers: event_backlog is the saturation figure); seen by polling the oldest awaited ids every {poll:.0} ms ({polling}), so lag reads up to one interval late; {writes}",
                secs = timing.duration.as_secs_f64(),
                warm = timing.warmup.as_secs_f64(),
                count = sample.count,
                poll = self.s.poll.as_secs_f64() * 1000.0,
            )),
        );
        Ok(())
    }

    /// Saturation: `backlog_events` ticket.created published as fast as they go, then the time
    /// until the orders listener has applied every one. The replica is not polled meanwhile (on
    /// a database that answers one query at a time, polling would compete with the very upserts
    /// measured, and a poll waits behind up to 16 of them): progress is the orders consumer's
    /// state in JetStream (a message is acknowledged once its upsert returned), asked every
    /// `backlog_poll`; afterwards every id is looked up in the replica.
    async fn event_backlog(&mut self, bus: &EventBus) -> anyhow::Result<()> {
        const IN_FLIGHT: usize = 64;
        let n = self.s.backlog_events;
        let poll = self.s.backlog_poll;
        let stream = bus
            .jetstream()
            .get_stream(
                bus.namespace()
                    .stream(TicketCreated::SUBJECT.stream().as_str()),
            )
            .await
            .map_err(|e| anyhow::anyhow!("the ticket.created stream: {e}"))?;
        let durable =
            common::events::listener::durable_name("orders", TicketCreated::SUBJECT.as_str());
        let outstanding = || async {
            let info = stream
                .consumer_info(&durable)
                .await
                .map_err(|e| format!("consumer {durable}: {e}"))?;
            Ok::<u64, String>(info.num_pending + info.num_ack_pending as u64)
        };
        let already = outstanding().await.map_err(anyhow::Error::msg)?;
        anyhow::ensure!(
            already == 0,
            "the orders consumer still has {already} ticket.created to handle"
        );

        let writes = self.orders_writes_note().await;
        let ids: Vec<ObjectId> = (0..n).map(|_| ObjectId::new()).collect();
        let meter = self
            .meter
            .with(self.probes(&["orders"], &["mongodb:orders", "nats"]));
        let before = meter.read();
        let start = Instant::now();
        let seller_id = self.seller_id.clone();
        let sent: Vec<Result<(), String>> = futures::stream::iter(ids.iter().enumerate())
            .map(|(seq, id)| {
                let bus = bus.clone();
                let event = TicketCreated {
                    id: id.to_hex(),
                    version: 0,
                    title: format!("Backlog probe {seq}"),
                    price: 10.0,
                    user_id: seller_id.clone(),
                };
                async move { bus.publish(&event).await.map_err(|e| e.to_string()) }
            })
            .buffered(IN_FLIGHT)
            .collect()
            .await;
        let published = start.elapsed().as_secs_f64();
        let mut recorder = Recorder::default();
        let publish_errors = sent.iter().filter(|s| s.is_err()).count() as u64;
        if let Some(Err(error)) = sent.iter().find(|s| s.is_err()) {
            recorder.first_error = Some(format!("publishing: {error}"));
        }
        let expected = n as u64 - publish_errors;

        // Progress: every event acknowledged since the last look is recorded as done then
        // (≈ its publish → applied time: all were published within `published` seconds).
        let mut done = 0u64;
        let mut polls = 0u64;
        let mut last = start;
        let deadline = start + Duration::from_secs(180);
        while done < expected && Instant::now() < deadline {
            tokio::time::sleep(poll).await;
            polls += 1;
            let remaining = match outstanding().await {
                Ok(remaining) => remaining,
                Err(error) => {
                    recorder.first_error.get_or_insert(error);
                    continue;
                }
            };
            let now = Instant::now();
            let now_done = expected.saturating_sub(remaining);
            if now_done > done {
                let micros = (now - start).as_micros().max(1) as u64;
                let _ = recorder.hist.record_n(micros, now_done - done);
                done = now_done;
                last = now;
            }
        }
        let after = meter.read();
        let seconds = (last - start).as_secs_f64();

        // Every id must be in the replica (looked up after the clock stopped, 10 at a time).
        let replica = self.orders_db.collection::<Document>("tickets");
        let mut present = 0u64;
        for chunk in ids.chunks(10) {
            let filter = doc! { "_id": { "$in": chunk.to_vec() } };
            present += replica.count_documents(filter).await?;
        }
        let missing = n as u64 - present;
        if missing > 0 {
            recorder.first_error.get_or_insert(format!(
                "{missing} of the {n} not in the orders replica after their acknowledgement (or 180 s)"
            ));
        }
        let sample = Sample {
            concurrency: common::events::listener::LANES,
            count: present.min(done),
            errors: missing.max(n as u64 - done.min(n as u64)),
            hist: recorder.hist,
            first_error: recorder.first_error,
            seconds,
            cpu: meter.delta(&before, &after),
        };
        let applied = sample.throughput();
        self.push(
            Row::from_sample(
                "event_backlog",
                &format!("ticket.created backlog of {n} → replica"),
                "event",
                &sample,
            )
            .with_cpu(&sample, "orders")
            .rate_against("floor_upsert")
            .note(format!(
                "saturation: {n} events published at once ({IN_FLIGHT} publishes in flight, all acknowledged by JetStream after {published:.2} s), then the time until the orders listener (conc: its lanes) had applied all: ops/s = applied rate = {count} events / {seconds:.2} s from the first publish to the last acknowledgement = {applied:.1}/s, ×rate over the raw upsert floor; p50/p99: time from the first publish until half / 99% were applied. Progress read from the orders consumer's state in JetStream every {poll_ms:.0} ms ({polls} requests to NATS, none to the database while the clock runs; a message is acknowledged after its upsert returned), and every id found in orders.tickets afterwards ({checks} queries of ≤10 ids); {writes}",
                count = sample.count,
                poll_ms = poll.as_secs_f64() * 1000.0,
                checks = n.div_ceil(10),
            )),
        );
        Ok(())
    }

    // -----------------------------------------------------------------------------------------
    // the purchase flow
    // -----------------------------------------------------------------------------------------

    async fn purchase_flow(&mut self) -> anyhow::Result<()> {
        self.settle_consumers().await?;
        // Floor: the Stripe mock's own charge, straight.
        let stripe = self.s.fleet.stripe_api_base.clone();
        let make: MakeRequest = Arc::new(move |conn: &Conn, seq| {
            let body =
                format!("amount=1500&currency=usd&source=tok_visa&metadata[orderId]=floor{seq}");
            Request::post("/v1/charges")
                .header("host", conn.host())
                .header("authorization", "Bearer sk_test_mock")
                .header("content-type", "application/x-www-form-urlencoded")
                .header(
                    "idempotency-key",
                    format!("floor-{seq}-{}", ObjectId::new().to_hex()),
                )
                .body(Full::new(Bytes::from(body)))
                .ok()
        });
        let conc = self.s.flow_concurrency;
        let sample = load::http(
            &stripe,
            conc,
            self.s.timing,
            &self.meter.with(self.probes(&[], &["stripe-mock"])),
            StatusCode::OK,
            make,
        )
        .await;
        self.push(
            Row::from_sample(
                "floor_stripe",
                "Stripe mock: POST /v1/charges",
                "req",
                &sample,
            )
            .with_cpu(&sample, "stripe-mock")
            .floor()
            .note("the local stripe-stateful-mock (Node.js) every payment waits on"),
        );

        let (orders_url, orders_pid) = self.s.fleet.service("orders")?;
        let (payments_url, payments_pid) = self.s.fleet.service("payments")?;
        let known = Watcher::spawn(self.payments_db.collection("orders"), doc! {}, self.s.poll);
        let complete = Watcher::spawn(
            self.orders_db.collection("orders"),
            doc! { "status": "complete" },
            self.s.poll,
        );
        let pool = Arc::new(Mutex::new(std::mem::take(&mut self.flow_pool)));
        let steps: Arc<Mutex<Vec<Histogram<u64>>>> =
            Arc::new(Mutex::new((0..4).map(|_| load::histogram()).collect()));
        let buyer = self.buyer.clone();
        let mut pids = vec![orders_pid, payments_pid];
        pids.extend(self.s.fleet.pid("tickets"));
        pids.extend(self.s.fleet.pid("expiration"));
        let mut probes = vec![Probe::trees("services", pids)];
        probes.extend(self.probes(
            &["orders", "payments", "tickets", "expiration"],
            &["mongodb", "nats", "stripe-mock", "redis"],
        ));
        let worker_steps = steps.clone();
        let sample = load::run(
            conc,
            self.s.flow_timing,
            &self.meter.with(probes),
            move |_, ctx| {
                let pool = pool.clone();
                let steps = worker_steps.clone();
                let known = known.clone();
                let complete = complete.clone();
                let buyer = buyer.clone();
                let orders_url = orders_url.clone();
                let payments_url = payments_url.clone();
                async move {
                    let mut recorder = Recorder::default();
                    let mut orders = Conn::new(&orders_url);
                    let mut payments = Conn::new(&payments_url);
                    while ctx.running() {
                        let Some(ticket) = pool.lock().expect("not poisoned").pop() else {
                            break;
                        };
                        match one_flow(
                            &ctx,
                            &mut orders,
                            &mut payments,
                            &known,
                            &complete,
                            &buyer,
                            &ticket,
                        )
                        .await
                        {
                            Ok((started, marks)) => {
                                recorder.ok(&ctx, started);
                                if ctx.running() {
                                    let mut steps = steps.lock().expect("not poisoned");
                                    let mut previous = started;
                                    for (hist, mark) in steps.iter_mut().zip(marks) {
                                        hist.saturating_record(
                                            (mark - previous).as_micros().max(1) as u64,
                                        );
                                        previous = mark;
                                    }
                                }
                            }
                            Err(error) => recorder.error(&ctx, error),
                        }
                    }
                    recorder
                }
            },
        )
        .await;
        let steps = steps.lock().expect("not poisoned");
        let names = [
            "POST order",
            "payments sees it",
            "POST payment",
            "order complete",
        ];
        let breakdown = names
            .iter()
            .zip(steps.iter())
            .map(|(name, hist)| {
                format!(
                    "{name} p50 {:.1} / p99 {:.1} ms",
                    load::quantile_ms(hist, 0.5),
                    load::quantile_ms(hist, 0.99)
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        self.push(
            Row::from_sample("purchase_flow", "purchase: order → payment → complete", "flow", &sample)
                .with_cpu(&sample, "services")
                .against("floor_stripe")
                .note(format!(
                    "{conc} buyers in parallel; cpu µs = orders+payments+tickets+expiration per flow; steps: {breakdown}"
                )),
        );
        Ok(())
    }

    // -----------------------------------------------------------------------------------------
    // start-up
    // -----------------------------------------------------------------------------------------

    /// Starts the release binary with the fleet's settings on a free port, `ready_runs` times;
    /// milliseconds from spawn to the first 200 of /readyz (polled every 5 ms), and the RSS then.
    async fn startup(&self, service: &str) -> anyhow::Result<(Vec<f64>, Option<f64>)> {
        let binary = self.s.bin_dir.join(service);
        anyhow::ensure!(binary.exists(), "no binary {}", binary.display());
        let f = &self.s.fleet;
        let mut times = Vec::new();
        let mut rss = None;
        for _ in 0..self.s.ready_runs {
            let port = std::net::TcpListener::bind("127.0.0.1:0")?
                .local_addr()?
                .port();
            let mut command = std::process::Command::new(&binary);
            command
                .env_clear()
                .env("PATH", std::env::var("PATH").unwrap_or_default())
                .env("PORT", port.to_string())
                .env("JWT_KEY", &f.jwt_key)
                .env("NATS_URL", &f.nats_url)
                .env("COOKIE_SECURE", "false")
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
            match service {
                "auth" | "tickets" | "orders" | "payments" => {
                    command.env("MONGO_URL", f.mongo_url(service));
                }
                _ => {}
            }
            match service {
                "payments" => {
                    command
                        .env("STRIPE_KEY", "sk_test_mock")
                        .env("STRIPE_API_BASE", &f.stripe_api_base);
                }
                "expiration" => {
                    command.env("REDIS_URL", &f.redis_url);
                }
                "client" => {
                    command.env("API_URL", &f.gateway_url);
                }
                _ => {}
            }
            let url = format!("http://127.0.0.1:{port}");
            let spawned = Instant::now();
            let mut child = command
                .spawn()
                .with_context(|| format!("starting {}", binary.display()))?;
            let pid = child.id();
            let mut ready = None;
            while spawned.elapsed() < Duration::from_secs(10) {
                let mut conn = Conn::new(&url);
                if let Ok((status, _)) = conn.send(conn.get("/readyz", None)).await
                    && status == StatusCode::OK
                {
                    ready = Some(spawned.elapsed());
                    break;
                }
                if let Ok(Some(status)) = child.try_wait() {
                    bail!("{service} exited during start-up: {status}");
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            rss = procfs::rss_mib(pid).or(rss);
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
            let stopping = Instant::now();
            while child.try_wait()?.is_none() {
                if stopping.elapsed() > Duration::from_secs(10) {
                    let _ = child.kill();
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            match ready {
                Some(ready) => times.push(ready.as_secs_f64() * 1000.0),
                None => bail!("{service} was not ready within 10 s"),
            }
        }
        Ok((times, rss))
    }
}

/// One buyer's purchase: the instants each step ended, after the start.
async fn one_flow(
    ctx: &Ctx,
    orders: &mut Conn,
    payments: &mut Conn,
    known: &Watcher,
    complete: &Watcher,
    buyer: &str,
    ticket: &str,
) -> Result<(Instant, [Instant; 4]), String> {
    let _ = ctx;
    let started = Instant::now();
    let (status, body) = orders
        .send(orders.post_json("/api/orders", &json!({ "ticketId": ticket }), Some(buyer)))
        .await
        .map_err(|e| format!("{e:#}"))?;
    if status != StatusCode::CREATED {
        return Err(format!(
            "order: HTTP {status} {}",
            String::from_utf8_lossy(&body)
        ));
    }
    let ordered = Instant::now();
    let order: Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
    let order_id = order["id"].as_str().unwrap_or_default().to_owned();
    let oid = ObjectId::parse_str(&order_id).map_err(|e| e.to_string())?;
    let wait = |rx: tokio::sync::oneshot::Receiver<Instant>, what: &'static str| async move {
        tokio::time::timeout(Duration::from_secs(30), rx)
            .await
            .map_err(|_| format!("{what}: not within 30 s"))?
            .map_err(|_| format!("{what}: watcher gone"))
    };
    let known_at = wait(known.watch(oid), "payments to know the order").await?;
    let done = complete.watch(oid);
    let (status, body) = payments
        .send(payments.post_json(
            "/api/payments",
            &json!({ "orderId": order_id, "token": "tok_visa" }),
            Some(buyer),
        ))
        .await
        .map_err(|e| format!("{e:#}"))?;
    if status != StatusCode::CREATED {
        complete.forget(&oid);
        return Err(format!(
            "payment: HTTP {status} {}",
            String::from_utf8_lossy(&body)
        ));
    }
    let paid = Instant::now();
    let completed = wait(done, "the order to be complete").await?;
    Ok((
        started,
        [ordered, known_at.max(ordered), paid, completed.max(paid)],
    ))
}

/// The raw-driver floor of the orders replica's `ticket.created` write: `update_one({_id},
/// {$setOnInsert: {title, priceCents, version}}, upsert)` of a new id each time, from the raw
/// driver with the services' client options, on the orders database server, in a scratch
/// collection as large as the replica, by as many closed-loop writers as the listener has lanes,
/// for the lag duration in two halves.
struct UpsertFloor {
    scratch: Collection<Document>,
    replica_size: u64,
    half: Timing,
    writers: usize,
}

impl UpsertFloor {
    const COLLECTION: &str = "bench_floor_upserts";

    async fn prepare(b: &Bench) -> anyhow::Result<UpsertFloor> {
        let db = common::mongo::connect(&b.s.fleet.mongo_url("orders"), "orders").await?;
        let replica_size = db
            .collection::<Document>("tickets")
            .estimated_document_count()
            .await?;
        let scratch: Collection<Document> = db.collection(Self::COLLECTION);
        let _ = scratch.drop().await;
        db.create_collection(Self::COLLECTION).await?;
        let filler: Vec<Document> = (0..replica_size)
            .map(|i| doc! { "_id": ObjectId::new(), "title": format!("Filler {i}"), "priceCents": 1000_i64, "version": 0_i64 })
            .collect();
        for batch in filler.chunks(1_000) {
            scratch.insert_many(batch.to_vec()).await?;
        }
        Ok(UpsertFloor {
            scratch,
            replica_size,
            half: Timing {
                warmup: b.s.lag_timing.warmup,
                duration: b.s.lag_timing.duration / 2,
            },
            writers: b.s.upsert_writers,
        })
    }

    async fn run(&self, b: &Bench) -> (Sample, String) {
        let writes = match b.writes_taken(&b.orders_db).await {
            Some(n) => n.to_string(),
            None => "?".to_owned(),
        };
        let op: Op = {
            let scratch = self.scratch.clone();
            Arc::new(move |seq| {
                let scratch = scratch.clone();
                Box::pin(async move {
                    let outcome = scratch
                        .update_one(
                            doc! { "_id": ObjectId::new() },
                            doc! { "$setOnInsert": {
                                "title": format!("Floor upsert {seq}"),
                                "priceCents": 1000_i64,
                                "version": 0_i64,
                            } },
                        )
                        .upsert(true)
                        .await
                        .map_err(|e| e.to_string())?;
                    match outcome.upserted_id {
                        Some(_) => Ok(()),
                        None => Err("nothing upserted".to_owned()),
                    }
                })
            })
        };
        let sample = load::ops(
            self.writers,
            self.half,
            &b.meter.with(b.probes(&[], &["bench", "mongodb:orders"])),
            op,
        )
        .await;
        eprintln!(
            "bench: (raw upsert floor, one half: {:.0} upserts/s)",
            sample.throughput()
        );
        (sample, writes)
    }

    async fn finish(
        self,
        b: &mut Bench,
        first: (Sample, String),
        second: (Sample, String),
        at: usize,
    ) -> anyhow::Result<()> {
        let halves = format!(
            "{:.0} and {:.0} upserts/s",
            first.0.throughput(),
            second.0.throughput()
        );
        let (w0, w1) = (first.1, second.1);
        let sample = first.0.merge(second.0);
        let upserted = self
            .scratch
            .estimated_document_count()
            .await
            .unwrap_or(0)
            .saturating_sub(self.replica_size);
        let _ = self.scratch.drop().await;
        let row = Row::from_sample(
            "floor_upsert",
            "raw driver: replica upsert ($setOnInsert)",
            "upsert",
            &sample,
        )
        .with_cpu(&sample, "bench")
        .floor()
        .note(format!(
            "closed loop, {writers} writers (the listener's lanes), {secs:.0} s in two halves of {half:.0} s (after {warm:.0} s warm-up each), just before and just after the backlog ({halves}; the orders server had taken {w0} and {w1} writes before them); each a new _id: update_one({{_id}}, {{$setOnInsert: {{title, priceCents, version}}}}, upsert) as the orders replica's ticket.created, same client options, on the orders database server, in a scratch collection pre-filled to the replica's {size} documents ({upserted} upserted in all); upserts/s and each upsert's latency",
            writers = self.writers,
            secs = sample.seconds,
            half = self.half.duration.as_secs_f64(),
            warm = self.half.warmup.as_secs_f64(),
            size = self.replica_size,
        ));
        b.push_at(at, row);
        Ok(())
    }
}

/// Fires `fire(seq)` at a steady `rate` per second (open loop: a slow answer does not slow the
/// next), records the latencies it returns for the events sent inside the measured window.
async fn open_loop<F, Fut>(rate: f64, timing: Timing, meter: &Meter, fire: F) -> Sample
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = Result<Duration, String>> + Send + 'static,
{
    let begin = Instant::now();
    let window_start = begin + timing.warmup;
    let window_end = window_start + timing.duration;
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut handles = Vec::new();
    let mut before = None;
    let mut seq = 0;
    loop {
        ticker.tick().await;
        let now = Instant::now();
        if now >= window_end {
            break;
        }
        let measured = now >= window_start;
        if measured && before.is_none() {
            before = Some(meter.read());
        }
        handles.push((measured, tokio::spawn(fire(seq))));
        seq += 1;
    }
    let mut recorder = Recorder::default();
    let mut count = 0;
    let mut errors = 0;
    for (measured, handle) in handles {
        match handle.await {
            Ok(Ok(lag)) if measured => {
                recorder
                    .hist
                    .saturating_record(lag.as_micros().max(1) as u64);
                count += 1;
            }
            Ok(Ok(_)) => {}
            Ok(Err(error)) => {
                if measured {
                    errors += 1;
                }
                recorder.first_error.get_or_insert(error);
            }
            Err(error) => {
                if measured {
                    errors += 1;
                }
                recorder.first_error.get_or_insert(error.to_string());
            }
        }
    }
    let after = meter.read();
    let before = before.unwrap_or_else(|| after.clone());
    Sample {
        concurrency: 1,
        hist: recorder.hist,
        count,
        errors,
        first_error: recorder.first_error,
        seconds: timing.duration.as_secs_f64(),
        cpu: meter.delta(&before, &after),
    }
}

/// Polls `done` every 100 ms for up to three minutes.
async fn settle<F, Fut>(what: &str, done: F) -> anyhow::Result<()>
where
    F: Fn() -> Fut,
    Fut: Future<Output = anyhow::Result<bool>>,
{
    let started = Instant::now();
    let mut said = false;
    while started.elapsed() < Duration::from_secs(180) {
        if done().await? {
            if said {
                eprintln!(
                    "bench: {what} after {:.1} s",
                    started.elapsed().as_secs_f64()
                );
            }
            return Ok(());
        }
        if !said && started.elapsed() > Duration::from_secs(2) {
            eprintln!("bench: waiting for: {what}");
            said = true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("{what}: not settled after 180 s")
}
