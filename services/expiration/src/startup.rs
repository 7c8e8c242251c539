use std::time::Duration;

use apalis::prelude::{BackendExt, Monitor, WorkerBuilder};
use axum::Router;
use common::events::{EventBus, HandlerError, OrderCreated};
use common::http::Readiness;
use common::service::{Ports, Server, StartupError};
use common::tasks::BackgroundTasks;
use tokio_util::sync::CancellationToken;

use crate::configuration::Settings;
use crate::jobs::{self, ExpiryQueue};

const SERVICE: &str = "expiration";

/// How often the worker looks for due expiries (apalis otherwise waits for its heartbeat).
const POLL_INTERVAL: Duration = Duration::from_millis(200);

pub struct Application;

impl Application {
    pub async fn build(settings: Settings) -> Result<Server, StartupError> {
        let redis = apalis_redis::connect(settings.redis_url.as_str())
            .await
            .map_err(|error| StartupError::Other(format!("REDIS_URL is unusable: {error}")))?;
        let bus = EventBus::from_settings(&settings.events).await?;
        let queue = jobs::queue(redis.clone(), &settings.events.namespace);
        let mut background = BackgroundTasks::new();
        background.add(spawn_scheduler(
            &bus,
            queue.clone(),
            background.shutdown_token(),
        ));
        background.add(spawn_worker(
            bus.clone(),
            queue,
            background.shutdown_token(),
        ));
        let readiness = Readiness::new()
            .nats(bus.client().clone())
            .check("redis", move || {
                let mut redis = redis.clone();
                async move {
                    redis::cmd("PING")
                        .query_async::<String>(&mut redis)
                        .await
                        .map(drop)
                        .map_err(|error| error.to_string())
                }
            });
        let ports = Ports {
            http: settings.port,
            metrics: settings.metrics_port,
        };
        Server::bind(SERVICE, ports, Router::new(), readiness, background).await
    }
}

/// Schedules an expiry for every new order.
fn spawn_scheduler(
    bus: &EventBus,
    queue: ExpiryQueue,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    bus.listen(
        SERVICE,
        move |order: OrderCreated| {
            let mut queue = queue.clone();
            async move {
                jobs::schedule(&mut queue, &order)
                    .await
                    .map_err(HandlerError::retry)
            }
        },
        shutdown,
    )
}

/// Runs due expiries until shutdown; a worker that fails (Redis restarting) is started again.
fn spawn_worker(
    bus: EventBus,
    queue: ExpiryQueue,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    // apalis refuses a worker name whose registration was seen within its threshold (three
    // heartbeats): unique per process, and per restart — a worker restarted after Redis went
    // away would otherwise be refused as its own predecessor, restarted at once, refused again,
    // spinning until the old registration goes stale (jobs left by it are re-enqueued then).
    let name = format!(
        "{SERVICE}-{}-{}",
        std::process::id(),
        common::bson::oid::ObjectId::new().to_hex()
    );
    tokio::spawn(async move {
        let monitor = Monitor::new()
            .register(move |restarts| {
                WorkerBuilder::new(format!("{name}-{restarts}"))
                    .backend(queue.clone().poll_with_interval(POLL_INTERVAL))
                    .data(bus.clone())
                    .build(jobs::expire)
            })
            .should_restart(|_, error| {
                tracing::warn!(%error, "expiration worker failed; restarting");
                true
            })
            .shutdown_timeout(Duration::from_secs(5));
        let stopped = async move {
            shutdown.cancelled().await;
            Ok(())
        };
        if let Err(error) = monitor.run_with_signal(stopped).await {
            tracing::error!(%error, "expiration worker stopped");
        }
    })
}
