//! The load generator: N closed-loop workers (keep-alive HTTP/1.1 connections, or any async
//! operation), a warm-up, then a measured window with a latency histogram and CPU readings.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::future::BoxFuture;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::cpu::{CpuDelta, Meter};

/// Latencies are recorded in microseconds, up to a minute, 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub warmup: Duration,
    pub duration: Duration,
}

/// Shared by the workers of one run.
pub struct Ctx {
    start: Instant,
    end: Instant,
    seq: AtomicU64,
    stop: AtomicBool,
}

impl Ctx {
    /// A fresh number for this request (ids, emails, ...).
    pub fn next(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed)
    }

    pub fn running(&self) -> bool {
        !self.stop.load(Ordering::Relaxed) && Instant::now() < self.end
    }

    fn in_window(&self, at: Instant) -> bool {
        at >= self.start && at <= self.end
    }
}

/// One worker's results: latencies of what completed inside the measured window.
pub struct Recorder {
    pub hist: Histogram<u64>,
    pub count: u64,
    pub errors: u64,
    pub first_error: Option<String>,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder {
            hist: histogram(),
            count: 0,
            errors: 0,
            first_error: None,
        }
    }
}

impl Recorder {
    pub fn ok(&mut self, ctx: &Ctx, started: Instant) {
        let now = Instant::now();
        if ctx.in_window(now) {
            self.hist
                .saturating_record((now - started).as_micros().max(1) as u64);
            self.count += 1;
        }
    }

    pub fn error(&mut self, ctx: &Ctx, error: impl std::fmt::Display) {
        if ctx.in_window(Instant::now()) {
            self.errors += 1;
        }
        if self.first_error.is_none() {
            self.first_error = Some(error.to_string());
        }
    }

    fn merge(&mut self, other: Recorder) {
        self.hist.add(&other.hist).expect("same histogram bounds");
        self.count += other.count;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }
}

/// The outcome of one measured run.
pub struct Sample {
    pub concurrency: usize,
    pub hist: Histogram<u64>,
    pub count: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub seconds: f64,
    pub cpu: CpuDelta,
}

impl Sample {
    pub fn throughput(&self) -> f64 {
        if self.seconds > 0.0 {
            self.count as f64 / self.seconds
        } else {
            0.0
        }
    }

    pub fn quantile_ms(&self, q: f64) -> f64 {
        quantile_ms(&self.hist, q)
    }

    /// CPU seconds of `probe` per completed operation, in microseconds.
    pub fn cpu_us_per_op(&self, probe: &str) -> Option<f64> {
        let secs = self.cpu.secs(probe)?;
        (self.count > 0).then(|| secs * 1e6 / self.count as f64)
    }
}

pub fn quantile_ms(hist: &Histogram<u64>, q: f64) -> f64 {
    if hist.is_empty() {
        return f64::NAN;
    }
    hist.value_at_quantile(q) as f64 / 1000.0
}

/// Runs `concurrency` workers through the warm-up and the measured window. Each worker loops
/// while `ctx.running()` and records into its own [`Recorder`]; a worker may stop early (its
/// source ran dry), and when all have, the window ends there.
pub async fn run<F, Fut>(concurrency: usize, timing: Timing, meter: &Meter, worker: F) -> Sample
where
    F: Fn(usize, Arc<Ctx>) -> Fut,
    Fut: Future<Output = Recorder> + Send + 'static,
{
    let now = Instant::now();
    let ctx = Arc::new(Ctx {
        start: now + timing.warmup,
        end: now + timing.warmup + timing.duration,
        seq: AtomicU64::new(0),
        stop: AtomicBool::new(false),
    });
    let handles: Vec<_> = (0..concurrency)
        .map(|i| tokio::spawn(worker(i, ctx.clone())))
        .collect();
    let (tx, mut rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let recorders = futures::future::join_all(handles).await;
        let _ = tx.send(recorders);
    });
    let mut finished = None;
    tokio::select! {
        _ = tokio::time::sleep_until(ctx.start.into()) => {}
        recorders = &mut rx => finished = Some(recorders),
    }
    let before = meter.read();
    let t0 = Instant::now();
    if finished.is_none() {
        tokio::select! {
            _ = tokio::time::sleep_until(ctx.end.into()) => {}
            recorders = &mut rx => finished = Some(recorders),
        }
    }
    let after = meter.read();
    let t1 = Instant::now();
    ctx.stop.store(true, Ordering::Relaxed);
    let recorders = match finished {
        Some(recorders) => recorders,
        None => rx.await,
    }
    .expect("the collector task finishes");
    let mut total = Recorder::default();
    for recorder in recorders {
        match recorder {
            Ok(recorder) => total.merge(recorder),
            Err(error) => {
                total.errors += 1;
                total
                    .first_error
                    .get_or_insert(format!("worker died: {error}"));
            }
        }
    }
    Sample {
        concurrency,
        hist: total.hist,
        count: total.count,
        errors: total.errors,
        first_error: total.first_error,
        seconds: (t1 - t0).as_secs_f64(),
        cpu: meter.delta(&before, &after),
    }
}

/// A keep-alive HTTP/1.1 connection that reconnects after an error.
pub struct Conn {
    addr: String,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Conn {
    /// `base` is `http://host:port`.
    pub fn new(base: &str) -> Self {
        Conn {
            addr: base
                .trim_start_matches("http://")
                .trim_end_matches('/')
                .to_owned(),
            sender: None,
        }
    }

    pub fn host(&self) -> &str {
        &self.addr
    }

    async fn connect(&mut self) -> anyhow::Result<&mut SendRequest<Full<Bytes>>> {
        if self.sender.is_none() {
            let stream = TcpStream::connect(&self.addr).await?;
            stream.set_nodelay(true)?;
            let (sender, connection) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(async move {
                let _ = connection.await;
            });
            self.sender = Some(sender);
        }
        Ok(self.sender.as_mut().expect("just connected"))
    }

    /// Sends and reads the whole answer.
    pub async fn send(
        &mut self,
        request: Request<Full<Bytes>>,
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        let outcome = async {
            let sender = self.connect().await?;
            sender.ready().await?;
            let response = sender.send_request(request).await?;
            let status = response.status();
            let body = response.into_body().collect().await?.to_bytes();
            anyhow::Ok((status, body))
        }
        .await;
        if outcome.is_err() {
            self.sender = None;
        }
        outcome
    }

    pub fn get(&self, path: &str, cookie: Option<&str>) -> Request<Full<Bytes>> {
        let mut builder = Request::get(path).header("host", &self.addr);
        if let Some(cookie) = cookie {
            builder = builder.header("cookie", cookie);
        }
        builder
            .body(Full::new(Bytes::new()))
            .expect("a valid request")
    }

    pub fn post_json(
        &self,
        path: &str,
        body: &serde_json::Value,
        cookie: Option<&str>,
    ) -> Request<Full<Bytes>> {
        let mut builder = Request::post(path)
            .header("host", &self.addr)
            .header("content-type", "application/json");
        if let Some(cookie) = cookie {
            builder = builder.header("cookie", cookie);
        }
        builder
            .body(Full::new(Bytes::from(body.to_string())))
            .expect("a valid request")
    }
}

/// Builds the `seq`-th request for a connection; `None` when the source ran dry.
pub type MakeRequest = Arc<dyn Fn(&Conn, u64) -> Option<Request<Full<Bytes>>> + Send + Sync>;

/// An HTTP load: every worker holds one keep-alive connection to `base`.
pub async fn http(
    base: &str,
    concurrency: usize,
    timing: Timing,
    meter: &Meter,
    expect: StatusCode,
    make: MakeRequest,
) -> Sample {
    let base = base.to_owned();
    run(concurrency, timing, meter, move |_, ctx| {
        let make = make.clone();
        let mut conn = Conn::new(&base);
        async move {
            let mut recorder = Recorder::default();
            while ctx.running() {
                let Some(request) = make(&conn, ctx.next()) else {
                    break;
                };
                let started = Instant::now();
                match conn.send(request).await {
                    Ok((status, _)) if status == expect => recorder.ok(&ctx, started),
                    Ok((status, body)) => recorder.error(
                        &ctx,
                        format!("HTTP {status}: {}", String::from_utf8_lossy(&body)),
                    ),
                    Err(error) => {
                        recorder.error(&ctx, format!("{error:#}"));
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                }
            }
            recorder
        }
    })
    .await
}

/// An operation run in a closed loop (the raw driver, argon2, ...).
pub type Op = Arc<dyn Fn(u64) -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

pub async fn ops(concurrency: usize, timing: Timing, meter: &Meter, op: Op) -> Sample {
    run(concurrency, timing, meter, move |_, ctx| {
        let op = op.clone();
        async move {
            let mut recorder = Recorder::default();
            while ctx.running() {
                let started = Instant::now();
                match op(ctx.next()).await {
                    Ok(()) => recorder.ok(&ctx, started),
                    Err(error) => recorder.error(&ctx, error),
                }
            }
            recorder
        }
    })
    .await
}

impl Sample {
    /// Two windows of the same workload as one: operations, latencies, seconds and CPU added up.
    pub fn merge(mut self, other: Sample) -> Sample {
        self.hist.add(&other.hist).expect("same histogram bounds");
        let (a, b) = (self.seconds, other.seconds);
        let weighted = |x: f64, y: f64| {
            if a + b > 0.0 {
                (x * a + y * b) / (a + b)
            } else {
                0.0
            }
        };
        self.cpu.foreign_cores = weighted(self.cpu.foreign_cores, other.cpu.foreign_cores);
        self.cpu.our_cores = weighted(self.cpu.our_cores, other.cpu.our_cores);
        for ((_, secs), (_, more)) in self.cpu.per_probe.iter_mut().zip(&other.cpu.per_probe) {
            *secs += more;
        }
        self.count += other.count;
        self.errors += other.errors;
        self.first_error = self.first_error.or(other.first_error);
        self.seconds = a + b;
        self
    }
}
