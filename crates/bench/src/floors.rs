//! What the services stand on, measured directly: a bare axum handler, argon2 alone, and a fixed
//! CPU loop to calibrate the machine's noise.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::get;
use common::Sessions;
use serde_json::{Value, json};

/// Thread-name prefix of the floor server's runtime (its CPU is read from these threads).
pub const FLOOR_THREADS: &str = "floor-axum";

/// A bare axum server in this process, on its own 2-thread runtime: one route doing what
/// `GET /api/users/currentuser` does (cookie → base64 → JSON → HS256 JWT → JSON answer), without
/// the services' shell (tracing span, body limit, error shaping, health routes).
pub struct FloorServer {
    pub url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

async fn current_user(State(sessions): State<Sessions>, headers: HeaderMap) -> Json<Value> {
    Json(json!({ "currentUser": sessions.user_from_headers(&headers) }))
}

impl FloorServer {
    pub fn start(jwt_key: &str) -> anyhow::Result<FloorServer> {
        let sessions = Sessions::new(jwt_key, false);
        let (addr_tx, addr_rx) = std::sync::mpsc::channel::<std::io::Result<SocketAddr>>();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(FLOOR_THREADS.into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name(FLOOR_THREADS)
                    .enable_all()
                    .build()
                    .expect("a runtime");
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
                        Ok(listener) => listener,
                        Err(error) => {
                            let _ = addr_tx.send(Err(error));
                            return;
                        }
                    };
                    let _ = addr_tx.send(listener.local_addr());
                    let app = Router::new()
                        .route("/api/users/currentuser", get(current_user))
                        .with_state(sessions);
                    let _ = axum::serve(listener, app)
                        .with_graceful_shutdown(async {
                            let _ = stop_rx.await;
                        })
                        .await;
                });
            })?;
        let addr = addr_rx.recv()??;
        Ok(FloorServer {
            url: format!("http://{addr}"),
            shutdown: Some(stop_tx),
            thread: Some(thread),
        })
    }

    pub fn stop(mut self) {
        if let Some(stop) = self.shutdown.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
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
