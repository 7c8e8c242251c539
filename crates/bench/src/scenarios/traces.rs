//! What traces cost a request: the currentuser route inside the services' HTTP shell, served
//! with the subscriber as it was before traces (log lines only), with the services' own
//! (OpenTelemetry spans, nothing exported), and with its spans exported over OTLP/HTTP to a
//! receiver in this process. Same route, same shell, in alternating rounds of the same run.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::routing::post;

use super::*;

/// The OTLP/HTTP receiver: answers every export with 200 and counts them (not decoded: the
/// collector's own cost is not the services').
struct Receiver {
    url: String,
    exports: Arc<AtomicU64>,
    bytes: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    async fn start() -> anyhow::Result<Receiver> {
        let exports = Arc::new(AtomicU64::new(0));
        let bytes = Arc::new(AtomicU64::new(0));
        let app = axum::Router::new().route(
            "/v1/traces",
            post({
                let (exports, bytes) = (exports.clone(), bytes.clone());
                move |body: Bytes| async move {
                    exports.fetch_add(1, Ordering::Relaxed);
                    bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
                    [(axum::http::header::CONTENT_TYPE, "application/x-protobuf")]
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Receiver {
            url,
            exports,
            bytes,
            task,
        })
    }
}

/// A row: its key, its label, the floor server's variant and the environment it runs with.
type Variant<'a> = (&'a str, &'a str, &'a str, &'a [(&'a str, &'a str)]);

/// Rounds per variant. The three variants take turns, round by round, so that a slower spell of
/// the machine (a shared VM's rates drift by 10–20 % over a minute) falls on all of them alike
/// instead of on whichever ran during it; their samples are merged per variant.
const ROUNDS: u32 = 4;

impl Bench {
    pub(super) async fn trace_cost(&mut self) -> anyhow::Result<()> {
        let conns = self.s.conns_fast;
        let path = "/api/users/currentuser".to_owned();
        let cookie = Some(self.seller.clone());
        let receiver = Receiver::start().await?;
        let exporting = [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url.as_str()),
            // The batch exporter's own default (5 s) would send a single batch per run.
            ("OTEL_BSP_SCHEDULE_DELAY", "1000"),
        ];
        let variants: [Variant; 3] = [
            (
                "traces_before",
                "currentuser in the shell, log lines only (before traces)",
                "shell+tracing",
                &[],
            ),
            (
                "traces_on",
                "currentuser in the shell, spans, nothing exported",
                "shell+traces",
                &[],
            ),
            (
                "traces_exported",
                "currentuser in the shell, spans exported (OTLP/HTTP)",
                "shell+traces",
                &exporting,
            ),
        ];
        // All three serve at once; only the one under load uses the CPU.
        let mut floors = Vec::new();
        for (_, _, variant, env) in variants {
            floors.push(FloorServer::start_with(
                &self.s.fleet.jwt_key,
                variant,
                env,
            )?);
        }
        let round = Timing {
            warmup: self.s.timing.warmup,
            duration: self.s.timing.duration * 2 / ROUNDS,
        };
        let mut samples: Vec<Option<Sample>> = vec![None, None, None];
        for _ in 0..ROUNDS {
            for (floor, merged) in floors.iter().zip(samples.iter_mut()) {
                let sample = load::http(
                    &floor.url,
                    conns,
                    round,
                    &self.meter.with(vec![Probe::tree("axum-floor", floor.pid)]),
                    StatusCode::OK,
                    get(path.clone(), cookie.clone()),
                )
                .await;
                *merged = Some(match merged.take() {
                    Some(earlier) => earlier.merge(sample),
                    None => sample,
                });
            }
        }
        for floor in floors {
            floor.stop();
        }
        for ((key, label, _, env), sample) in variants.into_iter().zip(samples) {
            let sample = sample.expect("at least one round");
            let mut row = Row::from_sample(key, label, "req", &sample)
                .with_cpu(&sample, "axum-floor")
                .against("floor_axum_currentuser");
            if !env.is_empty() {
                row = row.note(format!(
                    "{} exports, {:.1} MiB of spans received by the bench's OTLP receiver (same process as the load); {ROUNDS} alternating rounds per variant",
                    receiver.exports.load(Ordering::Relaxed),
                    receiver.bytes.load(Ordering::Relaxed) as f64 / (1024.0 * 1024.0)
                ));
            }
            self.push(row);
        }
        receiver.task.abort();
        Ok(())
    }
}

/// Marks the targets of issue 13: spans without export within 5 % of the rate before traces,
/// exported within 15 %.
pub(super) fn judge(report: &mut Report) {
    let Some(before) = report.row("traces_before").map(|row| row.throughput) else {
        return;
    };
    for (key, allowed) in [("traces_on", 0.05), ("traces_exported", 0.15)] {
        if let Some(row) = report.row_mut(key) {
            let ratio = row.throughput / before;
            let met = ratio >= 1.0 - allowed;
            *row = row.clone().target(
                format!("≥ {:.2}× before traces (is {ratio:.3}×)", 1.0 - allowed),
                met,
            );
        }
    }
}
