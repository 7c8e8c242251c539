//! Start-up and running of a service, the same for every one of them: connect to the stores,
//! start the background work, bind, serve, and stop in order.

use std::future::Future;

use axum::Router;
use mongodb::Database;
use tokio::net::TcpListener;

use crate::events::{BusError, EventBus, Namespace, Outbox, OutboxRelay};
use crate::http::{Readiness, bind, serve};
use crate::mongo::CollectionSchema;
use crate::settings::EventSettings;
use crate::tasks::BackgroundTasks;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("MONGO_URL is unusable: {0}")]
    Mongo(#[from] mongodb::error::Error),
    #[error("NATS_URL is unusable: {0}")]
    Nats(#[from] BusError),
    #[error("cannot listen on the port: {0}")]
    Bind(#[from] std::io::Error),
    #[error("{0}")]
    Other(String),
}

/// What a service that owns a MongoDB database and talks over the bus starts with.
pub struct EventService {
    pub db: Database,
    pub bus: EventBus,
    /// Wakes the outbox relay after a write.
    pub outbox: Outbox,
    pub background: BackgroundTasks,
}

impl EventService {
    /// Connects to the database and the bus, prepares the collections and indexes of `schema`
    /// (before anything else runs: nothing writes while they are created), and starts the outbox
    /// relay over its collections with an outbox (unless `relay_events` is off, which only tests
    /// do to stand for a crash).
    pub async fn start(
        service: &str,
        mongo_url: &str,
        events: &EventSettings,
        schema: &[CollectionSchema],
        relay_events: bool,
    ) -> Result<Self, StartupError> {
        let db = crate::mongo::connect(mongo_url, service).await?;
        let schema: Vec<CollectionSchema> = schema
            .iter()
            .cloned()
            .map(|collection| match collection.outbox {
                true => collection.index(crate::events::outbox::pending_index()),
                false => collection,
            })
            .collect();
        crate::mongo::prepare_when_reachable(&db, &schema).await?;
        let bus =
            EventBus::connect(&events.nats_url, Namespace::new(events.namespace.clone())).await?;
        let relay = OutboxRelay::new(
            bus.clone(),
            schema
                .iter()
                .filter(|collection| collection.outbox)
                .map(|collection| db.collection(collection.name))
                .collect(),
        );
        let outbox = relay.outbox();
        let mut background = BackgroundTasks::new();
        if relay_events {
            background.add(relay.spawn(background.shutdown_token()));
        }
        Ok(Self {
            db,
            bus,
            outbox,
            background,
        })
    }

    /// `/readyz`: the database answers and NATS is connected.
    pub fn readiness(&self) -> Readiness {
        Readiness::new()
            .mongo(self.db.clone())
            .nats(self.bus.client().clone())
    }
}

/// A bound, ready-to-serve service.
pub struct Server {
    listener: TcpListener,
    port: u16,
    router: Router,
    background: BackgroundTasks,
}

impl Server {
    /// Wraps `api` with the shared HTTP shell and binds `port` (0 picks a free one).
    pub async fn bind(
        service: &str,
        port: u16,
        api: Router,
        readiness: Readiness,
        background: BackgroundTasks,
    ) -> Result<Self, StartupError> {
        let router = crate::http::app(api, readiness);
        let (listener, address) = bind(port).await?;
        tracing::info!(%address, "{service} listening");
        Ok(Self {
            listener,
            port: address.port(),
            router,
            background,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until `shutdown`, then stops the background work after what it holds.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let served = serve(self.listener, self.router, shutdown).await;
        self.background.stop().await;
        served
    }
}
