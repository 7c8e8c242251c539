//! What the services stand on, measured directly: a bare axum handler, argon2 alone, and a fixed
//! CPU loop to calibrate the machine's noise.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::get;
use common::Sessions;
use serde_json::{Value, json};

/// The argument that makes this binary the floor server (see [`serve_floor`]).
pub const FLOOR_SERVER_ARG: &str = "floor-server";

/// A bare axum server in a process of its own (this binary again, as a service is a process of
/// its own), on a default multi-thread runtime as `#[tokio::main]` makes: one route doing what
/// `GET /api/users/currentuser` does (cookie → base64 → JSON → HS256 JWT → JSON answer), without
/// the services' shell (tracing span, body limit, body reading, error shaping, health routes).
pub struct FloorServer {
    pub url: String,
    pub pid: u32,
    child: Child,
}

async fn current_user(State(sessions): State<Sessions>, headers: HeaderMap) -> Json<Value> {
    Json(json!({ "currentUser": sessions.user_from_headers(&headers) }))
}

impl FloorServer {
    /// `variant`: `bare`; or, for the diagnostics, `shell` (the route inside the services' HTTP
    /// shell, `common::http::app`) or `shell+tracing` (plus the tracing subscriber as it was
    /// before traces: log lines only); or `shell+traces` (plus the services' own subscriber,
    /// `common::telemetry::init`: log lines and OpenTelemetry spans).
    pub fn start(jwt_key: &str, variant: &str) -> anyhow::Result<FloorServer> {
        Self::start_with(jwt_key, variant, &[])
    }

    /// [`FloorServer::start`] with more environment (the OpenTelemetry settings, say).
    pub fn start_with(
        jwt_key: &str,
        variant: &str,
        env: &[(&str, &str)],
    ) -> anyhow::Result<FloorServer> {
        let mut child = Command::new(std::env::current_exe()?)
            .args([FLOOR_SERVER_ARG, variant])
            .env("BENCH_FLOOR_JWT_KEY", jwt_key)
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("starting the floor server")?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().context("its stdout")?).read_line(&mut line)?;
        let address = line
            .trim()
            .strip_prefix("listening ")
            .with_context(|| format!("the floor server said {line:?}"))?;
        Ok(FloorServer {
            url: format!("http://{address}"),
            pid: child.id(),
            child,
        })
    }

    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The floor server's `main`: prints `listening <address>`, serves until stdin closes.
pub fn serve_floor(variant: &str) -> anyhow::Result<()> {
    let jwt_key = std::env::var("BENCH_FLOOR_JWT_KEY").context("BENCH_FLOOR_JWT_KEY")?;
    if variant == "shell+tracing" {
        use tracing_subscriber::layer::SubscriberExt;
        use tracing_subscriber::util::SubscriberInitExt;
        // As common::telemetry::init did before traces: log lines only (going nowhere here).
        tracing_subscriber::registry()
            .with(tracing_subscriber::EnvFilter::new("info"))
            .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
            .try_init()?;
    }
    if variant == "shell+traces" {
        // The services' own set-up: log lines and OpenTelemetry spans, exported when the
        // environment names an OTLP endpoint.
        common::telemetry::init("floor");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        println!("listening {}", listener.local_addr()?);
        let mut app = Router::new()
            .route("/api/users/currentuser", get(current_user))
            .with_state(Sessions::new(&jwt_key, false));
        if variant.starts_with("shell") {
            app = common::http::app(app, common::http::Readiness::new());
        }
        // Ends with the benchmark: its end of the pipe closes.
        let stdin_closed = tokio::task::spawn_blocking(|| {
            let mut sink = String::new();
            while std::io::stdin().read_line(&mut sink).is_ok_and(|n| n > 0) {}
        });
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stdin_closed.await;
            })
            .await?;
        anyhow::Ok(())
    })
}

/// The hash the auth service computes on sign-up (argon2 0.6 defaults: argon2id, m=19 MiB,
/// t=2, p=1, random salt).
pub fn argon2_hash(password: &str) -> Result<(), String> {
    use argon2::Argon2;
    use argon2::password_hash::PasswordHasher;
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| drop(hash.to_string()))
        .map_err(|error| error.to_string())
}

/// Seconds for a fixed single-threaded CPU loop (integer mixing; no memory traffic): on an idle
/// machine its runs agree to a few percent, so its spread is a measure of interference.
pub fn calibration_loop() -> f64 {
    let started = Instant::now();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut acc: u64 = 0;
    for i in 0..150_000_000u64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        acc = acc.wrapping_add(x ^ i);
    }
    std::hint::black_box(acc);
    started.elapsed().as_secs_f64()
}

pub fn calibrate(runs: usize) -> Vec<f64> {
    (0..runs)
        .map(|_| {
            let secs = calibration_loop();
            std::thread::sleep(Duration::from_millis(50));
            secs
        })
        .collect()
}
