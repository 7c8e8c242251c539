//! The workloads, in the order they run, and the targets of issue 7.

mod events;
mod http;
mod orders;
mod settings;
mod traces;

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
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
use crate::procfs::{self, RssSampler};
use crate::report::{Machine, Noise, Report, Row, ServiceFootprint};
use crate::watcher::Watcher;

pub use settings::Settings;

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
    if b.s.runs("traces") {
        b.trace_cost().await?;
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

/// Marks the targets of issue 7 (and of issue 13: what traces cost).
pub fn judge(report: &mut Report) {
    traces::judge(report);
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

fn get(path: String, cookie: Option<String>) -> MakeRequest {
    Arc::new(move |conn: &Conn, _| Some(conn.get(&path, cookie.as_deref())))
}

fn tree(name: &str, pid: Option<u32>) -> Option<Probe> {
    pid.map(|pid| Probe::tree(name, pid))
}

impl Bench {
    /// A floor the bench measures in itself (a raw driver call, a hash: no service in the way):
    /// `op` from `conns` workers for the run's timing, the CPU of the bench and of `servers`.
    async fn floor_of(
        &self,
        conns: usize,
        servers: &[&str],
        op: Op,
        row: (&str, &str, &str),
    ) -> Row {
        let mut measured = vec!["bench"];
        measured.extend_from_slice(servers);
        let probes = self.probes(&[], &measured);
        let sample = load::ops(conns, self.s.timing, &self.meter.with(probes), op).await;
        let (key, label, unit) = row;
        Row::from_sample(key, label, unit, &sample)
            .with_cpu(&sample, "bench")
            .floor()
    }

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
