//! Expiry jobs, kept in Redis by apalis (the Rust counterpart of the original's Bull queue), so
//! scheduled expirations survive a restart of this service.
//!
//! apalis gives at-least-once execution, but stops retrying a failing job after a fixed number
//! of attempts; so the job itself keeps retrying its publish until NATS takes it, and a job cut
//! short by shutdown stays in Redis and runs after the restart. Duplicates are harmless: the
//! event's message id is the order id, so the stream drops repeats, and orders ignores an
//! expiration of an order that is no longer pending.

use std::time::Duration;

use apalis::prelude::{Data, TaskBuilder, TaskId, TaskSink};
use apalis_redis::{Config, ConnectionManager, RedisStorage};
use chrono::{DateTime, Utc};
use common::events::{EventBus, ExpirationComplete, OrderCreated};
use common::metrics::{self, counter};
use common::telemetry::TraceCarrier;
use serde::{Deserialize, Serialize};
use tracing::Instrument;

/// One order's expiry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExpireOrder {
    pub order_id: String,
    pub expires_at: DateTime<Utc>,
    /// The trace of the `order.created` that scheduled it: the expiry continues it. (Absent in
    /// jobs scheduled before it was kept.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<TraceCarrier>,
}

pub type ExpiryQueue = RedisStorage<ExpireOrder>;

/// The queue, under a name of its own (also its Redis key prefix): never the type's name,
/// which would change if this type moved.
pub fn queue(connection: ConnectionManager, namespace: &str) -> ExpiryQueue {
    let name = if namespace.is_empty() {
        "expiration:orders".to_owned()
    } else {
        format!("{namespace}:expiration:orders")
    };
    RedisStorage::new(connection).with_config(
        Config::default()
            .queue(&name)
            .heartbeat_interval(Duration::from_secs(5))
            .missed_heartbeats(3),
    )
}

/// `order.created`: schedules the order's expiry. The task id is the order id, so a redelivered
/// event does not schedule it twice.
pub async fn schedule(queue: &mut ExpiryQueue, order: &OrderCreated) -> Result<(), String> {
    let job = ExpireOrder {
        order_id: order.id.clone(),
        expires_at: order.expires_at,
        trace: common::telemetry::current_carrier(),
    };
    // apalis schedules in whole seconds: round up so it never fires early.
    let due =
        order.expires_at.timestamp() + i64::from(order.expires_at.timestamp_subsec_nanos() > 0);
    let task = TaskBuilder::new(job)
        .task_id(TaskId::from_string(format!("expire:{}", order.id)))
        .run_at_timestamp(due.max(0) as u64)
        .build();
    queue
        .push_task(task)
        .await
        .map_err(|error| error.to_string())?;
    counter!(metrics::EXPIRATIONS_SCHEDULED).increment(1);
    Ok(())
}

/// The delay before the next try to publish an expiration: 100 ms doubling to 10 s.
///
/// Slower than the listeners' retries on purpose. After a NATS outage, a payment recorded before
/// the expiry waits in the payments service's outbox, whose relay sweeps every second; the orders
/// service sees only what reached the stream, so the expiration must not race ahead of it.
/// (The orders service asking payments before it cancels would close this for good; not done yet.)
fn publish_retry_delay(attempt: i64) -> std::time::Duration {
    let exponent = attempt.clamp(1, 8) as u32 - 1;
    std::time::Duration::from_millis(100 * 2u64.pow(exponent))
        .min(std::time::Duration::from_secs(10))
}

/// Runs when an expiry is due: announces it, retrying until the stream has it.
pub async fn expire(job: ExpireOrder, bus: Data<EventBus>) -> Result<(), String> {
    let span = tracing::info_span!("expire", otel.name = "expire order", order = %job.order_id);
    common::telemetry::continue_from(&span, job.trace.as_ref());
    announce(job, bus).instrument(span).await
}

async fn announce(job: ExpireOrder, bus: Data<EventBus>) -> Result<(), String> {
    let event = ExpirationComplete {
        order_id: job.order_id.clone(),
    };
    let mut attempt = 0;
    loop {
        attempt += 1;
        match bus.publish(&event).await {
            Ok(()) => {
                counter!(metrics::EXPIRATIONS_FIRED).increment(1);
                tracing::info!(order = %job.order_id, late_ms = (Utc::now() - job.expires_at).num_milliseconds(), "order expired");
                return Ok(());
            }
            Err(error) => {
                tracing::warn!(order = %job.order_id, attempt, %error, "expiration not published yet; retrying");
                tokio::time::sleep(publish_retry_delay(attempt)).await;
            }
        }
    }
}
