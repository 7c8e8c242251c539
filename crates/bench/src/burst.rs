//! Auth's memory around a burst of sign-ups (issue 15: resident one second after 400 sign-ups
//! sent 16 at a time). Each sign-up hashes a password with argon2id in 19 MiB, so what auth keeps
//! afterwards shows whether that memory goes back to the system.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::bson::oid::ObjectId;
use hyper::StatusCode;
use serde::Serialize;
use serde_json::json;

use crate::load::Conn;
use crate::procfs;
use crate::procfs::RssSampler;

pub const BURST_SIGNUPS: usize = 400;
pub const BURST_PARALLEL: usize = 16;

#[derive(Debug, Clone, Serialize)]
pub struct SignupBurst {
    pub signups: usize,
    pub parallel: usize,
    pub failures: usize,
    pub seconds: f64,
    pub rss_before_mib: Option<f64>,
    /// Highest VmRSS sampled every 100 ms during the burst.
    pub rss_peak_mib: Option<f64>,
    pub rss_one_second_after_mib: Option<f64>,
}

impl SignupBurst {
    /// ≤ 30 MiB one second after the burst.
    pub fn met(&self) -> Option<bool> {
        self.rss_one_second_after_mib.map(|rss| rss <= 30.0)
    }
}

/// Sends [`BURST_SIGNUPS`] sign-ups to auth at `auth_url`, [`BURST_PARALLEL`] at a time, and
/// reads the resident memory of its process `pid` around them.
pub async fn signups(auth_url: &str, pid: u32) -> anyhow::Result<SignupBurst> {
    let rss_before_mib = procfs::rss_mib(pid);
    let sampler = RssSampler::start(vec![pid]);
    let run = ObjectId::new().to_hex();
    let sent = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let senders = (0..BURST_PARALLEL).map(|_| {
        let (sent, run, mut conn) = (sent.clone(), run.clone(), Conn::new(auth_url));
        tokio::spawn(async move {
            let mut failures = 0;
            while sent.fetch_add(1, Ordering::Relaxed) < BURST_SIGNUPS {
                let email = format!("burst{}.{run}@bench.test", ObjectId::new().to_hex());
                let body = json!({ "email": email, "password": "password" });
                let answer = conn
                    .send(conn.post_json("/api/users/signup", &body, None))
                    .await;
                if !matches!(answer, Ok((StatusCode::CREATED, _))) {
                    failures += 1;
                }
            }
            failures
        })
    });
    let mut failures = 0;
    for sender in futures::future::join_all(senders).await {
        failures += sender?;
    }
    let seconds = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_one_second_after_mib = procfs::rss_mib(pid);
    let rss_peak_mib = sampler.stop().await.get(&pid).copied();
    Ok(SignupBurst {
        signups: BURST_SIGNUPS,
        parallel: BURST_PARALLEL,
        failures,
        seconds,
        rss_before_mib,
        rss_peak_mib,
        rss_one_second_after_mib,
    })
}
